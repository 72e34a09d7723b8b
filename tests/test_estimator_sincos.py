"""The reference sin/cos table walk (sincos) that Nav.update's inline walk is
pinned against (test_estimator_update_pinned.py: the rotation handed to the
altimeter), itself pinned at hand-worked angles and against math.sin at every
5th binary angle."""
import math
from array import array

import pytest

from lander import fixed

SIN = fixed._SIN_Q17


def sincos(angle, out):
    """out[0] = sin, out[1] = cos (Q15, |.| <= 32768) of a binary angle: one
    table walk for both, as Nav.update's inline one (estimator._sincos until
    only the tests used it). Within 63 bau of an axis (504 angles) the
    interpolation between table points 255 and 256 rounds to 32768 = 2^15,
    not 32767; a Q15 product with it stays below 2^30 (32767 x 32768 + 2^14)."""
    a = angle & 0xFFFF
    q = a >> 14
    u = a & 0x3FFF
    w = 0x4000 - u
    i = u >> 6
    f = u & 63
    b0 = SIN[i]
    su = ((b0 << 6) + (SIN[i + 1] - b0) * f + 128) >> 8 if f else (b0 >> 2) - (b0 >> 17)
    i = w >> 6
    f = w & 63
    b0 = SIN[i]
    sw = ((b0 << 6) + (SIN[i + 1] - b0) * f + 128) >> 8 if f else (b0 >> 2) - (b0 >> 17)
    if q == 0:
        out[0] = su
        out[1] = sw
    elif q == 1:
        out[0] = sw
        out[1] = -su
    elif q == 2:
        out[0] = -su
        out[1] = -sw
    else:
        out[0] = -sw
        out[1] = su


# --- sincos: one table walk for both ------------------------------------------

# the quarter-wave table, Q17, from math.sin: round(2^17 sin(i pi / 512))
TABLE = [round(131072 * math.sin(i * math.pi / 512)) for i in range(257)]


def test_the_sine_table_is_math_sin_rounded_to_q17():
    assert list(fixed._SIN_Q17) == TABLE


def _walk(t, u):
    # sin of u (0 <= u <= 0x4000, a quarter turn) as sincos gives it:
    # between table points the interpolation rounded half up (Q23 -> Q15),
    # on a table point the entry floored to Q15, 1.0 as 32767
    i, f = u >> 6, u & 63
    if f:
        return (t[i] * (64 - f) + t[i + 1] * f + 128) // 256
    return min(t[i] // 4, 32767)


def _want(a):
    t = TABLE
    a &= 0xFFFF
    q, u = a >> 14, a & 0x3FFF
    su, sw = _walk(t, u), _walk(t, 0x4000 - u)
    return [(su, sw), (sw, -su), (-su, -sw), (-sw, su)][q]


@pytest.mark.parametrize("a, want", [
    (0, (0, 32767)), (0x4000, (32767, 0)), (0x8000, (0, -32767)), (0xC000, (-32767, 0)),
    # 1 bau: sin (804 + 128) >> 8 = 3 (3.14); cos (131070 * 64 + 2 * 63 + 128) >> 8
    # = 8388734 / 256 = 32768.5 -> 32768 (2^15: the interpolation reaches it)
    (1, (3, 32768)),
    # 64 bau, table point 1: 804 // 4 = 201 (201.0); cos at point 255: 131070 // 4 = 32767
    (64, (201, 32767)),
    # 96 bau: between points 1 and 2: (804 * 32 + 1608 * 32 + 128) >> 8 = 302 (301.5 -> 302)
    # cos: between points 254 and 255: (131062 * 32 + 131070 * 32 + 128) >> 8 = 32767
    (96, (302, 32767)),
    (0x4000 + 64, (32767, -201)), (0x8000 + 64, (-201, -32767)), (0xC000 + 64, (-32767, 201)),
    (0x10000 + 96, (302, 32767)), (-64, (-201, 32767))])
def test_sincos_at_hand_worked_angles(a, want):
    out = array("i", (7, 7))
    sincos(a, out)
    assert tuple(out) == want


def test_sincos_is_the_table_walk_at_every_angle_and_within_one_unit_of_math_sin():
    out = array("i", (0, 0))
    for a in range(0, 65536, 5):
        sincos(a, out)
        assert (out[0], out[1]) == _want(a), a
        x = a * math.pi / 32768
        assert abs(out[0] - 32768 * math.sin(x)) <= 1 and abs(out[1] - 32768 * math.cos(x)) <= 1, a
