"""The plan margin's arithmetic (guidance `_plan_margin` and `_margin`), bit
for bit against the fixed.* forms the inline limbs replace. These were in
tests/test_guidance_schedule.py before f7dbb69 rewrote it for the
frame-following schedule (the margin is now handed to `_margin` at once,
not cached in `_pm`): `_plan_margin`'s delta-v is read here by catching the
value it hands to `_margin`."""
import pytest
from hypothesis import given, strategies as st

from lander import fixed
from lander.config import Config
from lander.control import Control
from lander.guidance import Guidance


def _guidance(**kw):
    cfg = Config(**kw)
    g = Guidance(cfg)
    c = Control(cfg)
    g.attach_control(c)
    return g, c


def _mag(x, z):
    # alpha-max-beta-min |(x, z)|: max - max/32 + min/2 - min/8
    x, z = abs(x), abs(z)
    if x > z:
        return x - (x >> 5) + (z >> 1) - (z >> 3)
    return z - (z >> 5) + (x >> 1) - (x >> 3)


def _plan_dv(g, a, t):
    # the delta-v _plan_margin hands to _margin
    for i in range(4):
        g._a[i] = a[i]
    g.tgo_ms = t
    got = []
    g._margin = got.append
    g._plan_margin()
    del g._margin
    return got[0]


def _dv_by_fixed(g, a, t):
    s = _mag(a[0], a[1]) + _mag(a[2], a[3])
    return fixed.add_sat(fixed.mul_shift(fixed.mul_shift(s, t, 11), 1049, 10),
                         (g._g * g._term_ms) // 1000)


@given(a=st.lists(st.integers(-100_000, 100_000), min_size=4, max_size=4),
       t=st.integers(0, 2 ** 21))
def test_the_plan_delta_v_is_fixed_mul_shift_bit_for_bit(a, t):
    g, _ = _guidance()
    assert _plan_dv(g, a, t) == _dv_by_fixed(g, a, t)


@pytest.mark.parametrize("a, t, want", [
    # s = |(3000, -4000)| + |(-100000, 0)| = (4000 - 125 + 1500 - 375) + (100000 - 3125)
    #   = 5000 + 96875 = 101875; T = 30 s: 101875 x 30000 / 2^11 = 1,492,309 (floor),
    #   x 1049 / 2^10 = 1,528,742 (floor); + g x term_ms / 1000
    ((3000, -4000, -100000, 0), 30000, 1_528_742),
    # x == z: the same sum either branch: 8000 - 250 + 4000 - 1000 = 10750, twice;
    # T = 2^20 - 1 ms (the limbs' last): 21500 x 1048575 >> 11 = 11,007,989, x 1049 >> 10
    ((8000, 8000, -8000, -8000), 0xFFFFF, 11_276_738),
    # T = 2^20: the wide path (fixed.mul_shift), the same floors: 11,008,000 x 1049 >> 10
    ((8000, 8000, -8000, -8000), 0x100000, 11_276_750),
    # s = 1, T = 2047 ms: 1 x 2047 >> 11 = 0
    ((1, 0, 0, 0), 2047, 0),
])
def test_the_plan_delta_v_pinned(a, t, want):
    g, _ = _guidance()
    term = (g._g * g._term_ms) // 1000
    assert _plan_dv(g, a, t) == want + term
    assert _dv_by_fixed(g, a, t) == want + term


def test_the_plan_margin_clears_the_due_flag_and_publishes():
    g, c = _guidance()
    g._margin_due = True
    g.propellant_margin_g = -999_999
    dv = _dv_by_fixed(g, (3000, -4000, -100000, 0), 30000)
    g._a[0], g._a[1], g._a[2], g._a[3] = 3000, -4000, -100000, 0
    g.tgo_ms = 30000
    g._plan_margin()
    want_g = g.propellant_margin_g
    assert g._margin_due is False
    g.propellant_margin_g = 0
    g._margin(dv)
    assert want_g == g.propellant_margin_g != -999_999


def _margin_by_fixed(g, dv):
    c = g._ctrl
    frac = fixed.div_shift(fixed.clamp(dv, 0, 0x3FFFFF), g._c_mm_s, 15)
    return (c.mass_mg - c.dry_mass_mg) // 1000 - fixed.mul_shift(c.mass_mg // 1000, frac, 15)


@given(dv=st.integers(-2 ** 29, 2 ** 29), mass_kg=st.integers(1, 1073), isp=st.integers(50, 500))
def test_the_margin_is_fixed_div_shift_and_mul_shift_bit_for_bit(dv, mass_kg, isp):
    g, c = _guidance(isp_s=isp, dry_mass_g=1000, propellant_g=0)
    c.mass_mg = mass_kg * 1_000_000 - 1 if mass_kg < 1073 else 0x3FFFFFFF
    g._margin(dv)
    assert g.propellant_margin_g == _margin_by_fixed(g, dv)
