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


def _margin_now(g):
    # the margin as computed at the publishing cycle (the former schedule):
    # the plan's delta-v against the control stage's mass of now
    a = g._a
    s = g._mag(a[0], a[1]) + g._mag(a[2], a[3])
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
    g._margin_ok = False
    g.update(nav, False)
    g.update(nav, False)                          # k = 4
    assert g.propellant_margin_g == _margin_now(g)
