"""Guidance's slow work spread over the re-plan period (lander perf's
maximum): the plan's propellant margin is computed two cycles after the
re-plan and published, unchanged, on the period's last cycle, where it was
computed before."""
import pytest

from host_tools.sim import gncref
from tests.app_fakes import fresh_event_ring  # noqa: F401
from lander import guidance as G
from lander.config import Config
from lander.control import Control
from lander.guidance import Guidance

pytestmark = pytest.mark.usefixtures("fresh_event_ring")


def _braking():
    cfg = Config(max_pitch_bau=10923)
    g = Guidance(cfg)
    c = Control(cfg)
    g.attach_control(c)
    nav = gncref.NavInput()
    nav.site_alt_mm = 2_000_000
    nav.vz_mm_s = -40_000
    nav.vx_mm_s = 80_000
    nav.x_mm = 0
    g.phase = G.PH_BRAKING
    g.engine_on = True
    return cfg, g, c, nav


def _mag(x, z):
    # alpha-max-beta-min |(x, z)|: 0.97 max + 0.375 min (the plan margin's)
    x, z = abs(x), abs(z)
    if x > z:
        return x - (x >> 5) + (z >> 1) - (z >> 3)
    return z - (z >> 5) + (x >> 1) - (x >> 3)


def _margin_now(g):
    # the margin as computed at the publishing cycle (the former schedule):
    # the plan's delta-v against the control stage's mass of now
    a = g._a
    s = _mag(a[0], a[1]) + _mag(a[2], a[3])
    dv = (((s * g.tgo_ms) >> 11) * 1049) >> 10
    dv += (g._g * g._term_ms) // 1000
    prop_g = (g._ctrl.mass_mg - g._ctrl.dry_mass_mg) // 1000
    frac = (min(max(dv, 0), 0x3FFFFF) << 15) // g._c_mm_s
    return prop_g - (((g._ctrl.mass_mg // 1000) * frac) >> 15)


def test_the_margin_is_published_on_the_last_cycle_of_the_period_only():
    cfg, g, c, nav = _braking()
    assert cfg.replan_cycles == 5
    g.propellant_margin_g = -123                  # a value from before
    g.update(nav, False)                          # k = 0: the re-plan
    assert g.replans == 1
    for k in (1, 2, 3):
        g.update(nav, False)
        assert g.propellant_margin_g == -123, k   # computed at k = 2, not shown yet
    g.update(nav, False)                          # k = 4
    assert g.propellant_margin_g == _margin_now(g) != -123


def test_a_mass_change_between_computing_and_publishing_is_taken_into_the_margin():
    cfg, g, c, nav = _braking()
    for _ in range(4):
        g.update(nav, False)                      # re-plan, then k = 1..3
    c.mass_mg -= 7_000_000                        # 7 kg burnt after k = 2
    g.update(nav, False)
    assert g.propellant_margin_g == _margin_now(g)


def test_a_plan_restored_mid_period_is_margined_again_before_publishing():
    cfg, g, c, nav = _braking()
    for _ in range(3):
        g.update(nav, False)                      # re-plan, k = 1, 2 (computed)
    g.tgo_ms += 20_000                            # as a re-plan out of period would
    g._pm[1] = 0                                  # not valid for this plan
    g.update(nav, False)
    g.update(nav, False)                          # k = 4
    assert g.propellant_margin_g == _margin_now(g)


# ------------------------------------------- the margin's arithmetic, inline

from hypothesis import given, strategies as st  # noqa: E402

from lander import fixed  # noqa: E402


def _margin_by_fixed(g, dv):
    c = g._ctrl
    frac = fixed.div_shift(fixed.clamp(dv, 0, 0x3FFFFF), g._c_mm_s, 15)
    return (c.mass_mg - c.dry_mass_mg) // 1000 - fixed.mul_shift(c.mass_mg // 1000, frac, 15)


@given(dv=st.integers(-2 ** 29, 2 ** 29), mass_kg=st.integers(1, 1073), isp=st.integers(50, 500))
def test_the_margin_is_fixed_div_shift_and_mul_shift_bit_for_bit(dv, mass_kg, isp):
    cfg = Config(isp_s=isp, dry_mass_g=1000, propellant_g=0)
    g = Guidance(cfg)
    c = Control(cfg)
    g.attach_control(c)
    c.mass_mg = mass_kg * 1_000_000 - 1 if mass_kg < 1073 else 0x3FFFFFFF
    g._margin(dv)
    assert g.propellant_margin_g == _margin_by_fixed(g, dv)


@given(a=st.lists(st.integers(-100_000, 100_000), min_size=4, max_size=4),
       t=st.integers(0, 2 ** 21))
def test_the_plan_delta_v_is_fixed_mul_shift_bit_for_bit(a, t):
    cfg, g, c, nav = _braking()
    for i in range(4):
        g._a[i] = a[i]
    g.tgo_ms = t
    g._plan_margin()
    s = _mag(a[0], a[1]) + _mag(a[2], a[3])
    want = fixed.add_sat(fixed.mul_shift(fixed.mul_shift(s, t, 11), 1049, 10), (g._g * g._term_ms) // 1000)
    assert g._pm[3] == want                       # the delta-v kept
    g.propellant_margin_g = 0
    g._margin(want)
    assert g._pm[2] == g.propellant_margin_g       # the margin kept
