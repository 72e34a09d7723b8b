"""Firmware behaviours pinned for `make mutate GROUP=firmware`."""
import math

import pytest

import lander.fixed as fx

LIM = (1 << 30) - 1
# the edges of every branch of fixed.py: zero, one, the 15-bit limb, the
# 2^15 fast-path bound, the divisor classes of div_shift, the 2^30 range
EDGES = sorted({s * v for s in (1, -1) for v in (
    0, 1, 2, 3, 0x7FFE, 0x7FFF, 0x8000, 0x8001, 0xFFFF, 0x10000, 0x3FFFFF, 0x400000,
    0x1FFFFFF, 0x2000000, 0x1FFFFFFF, 0x20000000, 0x2AAAAAAA, LIM - 1, LIM)})


def sat(v):
    return max(-LIM, min(LIM, v))


def floor_div(n, d):
    return n // d                                         # Python's // is the exact floor


def test_int_range_is_plus_minus_2_30_minus_1():
    assert (fx.INT_MIN, fx.INT_MAX) == (-LIM, LIM)


def test_add_and_sub_saturate_at_every_edge():
    for a in EDGES:
        for b in EDGES:
            assert fx.add_sat(a, b) == sat(a + b), (a, b)
            assert fx.sub_sat(a, b) == sat(a - b), (a, b)


def test_clamp_keeps_inside_and_pins_outside():
    assert [fx.clamp(x, -5, 7) for x in (-6, -5, 0, 7, 8)] == [-5, -5, 0, 7, 7]


@pytest.mark.parametrize("s", range(0, 46))
def test_mul_shift_is_the_saturated_floor_at_every_edge(s):
    for a in EDGES:
        for b in EDGES:
            assert fx.mul_shift(a, b, s) == sat(floor_div(a * b, 1 << s)), (a, b, s)


@pytest.mark.parametrize("s", [0, 1, 5, 8, 14, 15, 16, 20, 29, 30, 31, 40])
def test_div_shift_is_the_saturated_floor_at_every_edge(s):
    for a in EDGES:
        for b in EDGES:
            if b == 0:
                assert fx.div_shift(a, b, s) == (-LIM if a < 0 else LIM)
                continue
            assert fx.div_shift(a, b, s) == sat(floor_div(a << s, b)), (a, b, s)


def test_isqrt_at_squares_and_powers_of_four():
    ns = {0, 1, 2, 3, LIM}
    for k in range(16):
        ns |= {4 ** k - 1, 4 ** k, 4 ** k + 1}
    for m in (2, 3, 100, 1000, 23170, 32767, 32768):
        ns |= {m * m - 1, m * m, m * m + 1}
    for n in sorted(x for x in ns if 0 <= x <= LIM):
        assert fx.isqrt(n) == math.isqrt(n), n
    assert fx.isqrt(-5) == 0


@pytest.mark.parametrize("a,b,r", [
    (3, 4, 5), (-3, -4, 5), (0, 0, 0), (0x5A81, 0, 0x5A81), (0, -0x5A81, 0x5A81),
    (0x5A82, 0, 0x5A82),          # scaled by 2: the low bit of an even input is kept
    (0x5A83, 0, 0x5A82),          # ... and dropped from an odd one
    (LIM, LIM, LIM),              # sqrt(2) * (2^30 - 1) saturates
    (LIM, 0, (LIM >> 16) << 16),  # scaled by 2^16 (16383 < 0x5A82)
    (30000, 40000, 50000),
    # 0x5A82 on either side scales both by 2: (11585^2 + 11584^2) -> 16382, << 1
    (0x5A82, 0x5A81, 32764), (0x5A81, 0x5A82, 32764),
])
def test_hypot_pinned_cases(a, b, r):
    assert fx.hypot(a, b) == r


def test_sin_table_is_its_generating_formula():
    assert len(fx._SIN_Q17) == 257
    for i, v in enumerate(fx._SIN_Q17):
        assert v == round(131072 * math.sin(i * math.pi / 512)), i


def test_atan_table_is_its_generating_formula():
    assert len(fx._ATAN_X16) == 257
    for i, v in enumerate(fx._ATAN_X16):
        assert v == round(16 * 65536 / (2 * math.pi) * math.atan(i / 256)), i


# The tables' builder, called here at test time: the two tables above are
# built at import, before a mutant of _table is switched on, so the formula
# checks cannot see a wrong builder. Each case worked by hand (digit - 6 is
# the change of the step; ord("6") = 54).
def test_the_table_builder_starts_at_zero_then_the_first_step():
    assert fx._table(804, b"") == (0, 804)


def test_the_table_builder_adds_each_digit_minus_six_to_the_step():
    # step 804; "6": +0, 804 + 804 = 1608; "7": +1 -> 805, 1608 + 805 = 2413
    assert fx._table(804, b"67") == (0, 804, 1608, 2413)


def test_the_table_builder_takes_digit_0_as_a_step_down_by_six():
    # step 10; "0": -6 -> 4, 10 + 4 = 14; "5": -1 -> 3, 14 + 3 = 17
    assert fx._table(10, b"05") == (0, 10, 14, 17)


def test_the_table_builder_returns_a_tuple():
    assert type(fx._table(804, b"6")) is tuple


@pytest.mark.parametrize("angle,s", [(0, 0), (0x4000, 32768), (0x8000, 0), (0xC000, -32768),
                                     (0x10000, 0), (-0x4000, -32768),
                                     (0x2000, 23171),  # table point 128: (92682 + 2) >> 2
                                     (32, 101), (0x3FFF, 32768), (0x4001, 32768)])
def test_sin_pinned_angles(angle, s):
    assert fx.sin_q15(angle) == s


def test_sin_is_the_rounded_interpolation_of_its_table():
    # between table points: (T[i] * 64 + (T[i+1] - T[i]) * f + 128) >> 8, by hand at i = 0, f = 32:
    # (0 + 804 * 32 + 128) >> 8 = 101; at a table point: (T[i] + 2) >> 2
    assert fx.sin_q15(32) == (804 * 32 + 128) >> 8 == 101
    assert fx.sin_q15(64 * 100) == (fx._SIN_Q17[100] + 2) >> 2
    worst = max(abs(fx.sin_q15(a) - math.sin(2 * math.pi * a / 65536) * 32768) for a in range(0, 65536, 7))
    assert worst < 0.8                                    # the documented bound


def test_sin_is_odd_and_cos_is_sin_a_quarter_later():
    for a in range(0, 65536, 331):
        assert fx.sin_q15(-a) == -fx.sin_q15(a) or fx.sin_q15(a) == 0
        assert fx.cos_q15(a) == fx.sin_q15(a + 0x4000)
        assert fx.cos_q15(a + 0x10000) == fx.cos_q15(a)


@pytest.mark.parametrize("y,x,a", [(0, 0, 0), (0, 1, 0), (1, 0, 0x4000), (0, -1, 0x8000),
                                   (-1, 0, -0x4000), (1, 1, 0x2000), (-1, -1, -0x6000),
                                   (1, -1, 0x6000), (-5, 5, -0x2000), (LIM, LIM, 0x2000),
                                   (1, 2, 4836), (2, 1, 0x4000 - 4836), (-2, -1, -(0x8000 - 0x4000 + 4836))])
def test_atan2_pinned_angles(y, x, a):
    assert fx.atan2(y, x) == a


def test_atan2_within_0_7_lsb_of_exact():
    worst = 0.0
    for y in range(-300, 301, 13):
        for x in range(-300, 301, 17):
            if x or y:
                worst = max(worst, abs(fx.atan2(y, x) - math.atan2(y, x) * 32768 / math.pi))
    assert worst < 0.7                                    # measured 0.65: rounding + table


def test_sin_rounds_half_up_where_the_interpolation_sum_ends_in_0x7f():
    # angle 373: i = 5, f = 53: (T5 * 64 + (T6 - T5) * 53 + 128) = 1171 * 256 + 255
    t5, t6 = fx._SIN_Q17[5], fx._SIN_Q17[6]
    assert (t5 << 6) + (t6 - t5) * 53 + 128 == 1171 * 256 + 255
    assert fx.sin_q15(373) == 1171


def test_atan_rounds_half_up_between_and_at_table_points():
    # ratio 18187 / 65536: i = 71, f = 11: the sum + 2048 is 2823 * 4096 + 4095
    assert fx.atan2(18187, 65536) == 2823
    # ratio 1536 / 65536 = table point 6: (T6 + 8) >> 4 with T6 = 3911: 3919 >> 4
    assert fx._ATAN_X16[6] == 3911 and fx.atan2(1536, 65536) == 244


def test_mul_shift_negative_just_beyond_the_range_saturates_to_int_min():
    # 1114129 * 3855 = 2^32 - 1: / 4 = 2^30 - 0.25, floor of the negative is -2^30
    assert 1114129 * 3855 == (1 << 32) - 1
    assert fx.mul_shift(-1114129, 3855, 2) == fx.INT_MIN
    assert fx.mul_shift(1114129, -3855, 2) == fx.INT_MIN
    assert fx.mul_shift(1114129, 3855, 2) == fx.INT_MAX
