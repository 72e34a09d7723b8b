"""Guidance's shadow look (the beam turned down over unseen ground ahead),
bit for bit against its definition: only for a shadow along the direction
of flight; the lead is the slew from the attitude of now (the control
stage's set-point, else the attitude limit) to the beam's mounting angle at
the pitch rate (a rate of 0 taken as 1 bau/s) plus 2 s of settling, capped
at 8191 ms, at the speed of now, as (|vx| >> 4) t >> 6 plus 1/16; once
down it stays down while the shadow lasts; each change is an event (1 down,
0 back) and each look is counted. Also the entry to the terminal descent."""
import pytest
from hypothesis import example, given, strategies as st

from host_tools.sim.gncref import NavInput
from tests.app_fakes import fresh_event_ring  # noqa: F401
from lander import guidance as G
from lander.config import Config
from lander.control import Control
from tests.app_fakes import drain_events

pytestmark = pytest.mark.usefixtures("fresh_event_ring")


def _lead(p_now, beam, rate, vx):
    p = abs(p_now - beam)
    t = min(p * 1000 // (rate if rate > 0 else 1) + 2000, 8191)
    lead = ((abs(vx) >> 4) * t) >> 6
    return lead + (lead >> 4)


def _look_case(looking, sd, vx, p_now, beam, rate, off, ctrl=True):
    """One _look call with the shadow `off` mm beyond the lead; returns the
    guidance and whether the reference looks."""
    cfg = Config(max_pitch_bau=10923, altimeter_beam_bau=beam, max_pitch_rate_bau_s=rate)
    g = G.Guidance(cfg)
    if ctrl:
        c = Control(cfg)
        c.pitch_cmd_bau = p_now
        g.attach_control(c)
    else:
        g.pitch_limit_bau = p_now
    g.looking = looking
    g.looks = 3
    nav = NavInput()
    nav.shadow_dir = sd
    nav.shadow_mm = max(0, _lead(p_now, beam, rate, vx) + off)
    ahead = sd != 0 and (vx > 0 if sd > 0 else vx < 0)
    want = ahead and (looking or nav.shadow_mm <= _lead(p_now, beam, rate, vx))
    drain_events()
    got = g._look(nav, vx)
    return g, got, want


@given(looking=st.booleans(), sd=st.sampled_from([-1, 0, 1]), vx=st.integers(-200_000, 200_000),
       p_now=st.integers(-10923, 10923), beam=st.integers(-4000, 4000),
       rate=st.sampled_from([3641, 1000, 100, 1, 0]), off=st.integers(-3, 3), ctrl=st.booleans())
# a slow vehicle at 0 / +-1 mm/s, a set-point off the limit, the 8191 ms cap
# at and around its edge, flight toward -x
@example(looking=False, sd=1, vx=0, p_now=0, beam=0, rate=3641, off=0, ctrl=True)
@example(looking=False, sd=1, vx=1, p_now=0, beam=0, rate=3641, off=0, ctrl=True)
@example(looking=False, sd=-1, vx=0, p_now=0, beam=0, rate=3641, off=0, ctrl=True)
@example(looking=False, sd=-1, vx=-1, p_now=0, beam=0, rate=3641, off=0, ctrl=True)
@example(looking=False, sd=1, vx=50_000, p_now=0, beam=0, rate=3641, off=1, ctrl=True)
@example(looking=False, sd=1, vx=50_000, p_now=2000, beam=-2000, rate=3641, off=1, ctrl=True)
@example(looking=False, sd=1, vx=50_000, p_now=5, beam=0, rate=0, off=1, ctrl=True)
@example(looking=False, sd=1, vx=50_000, p_now=5, beam=0, rate=0, off=0, ctrl=True)
@example(looking=False, sd=1, vx=80_000, p_now=6191, beam=0, rate=1000, off=1, ctrl=True)
@example(looking=False, sd=1, vx=80_000, p_now=6192, beam=0, rate=1000, off=1, ctrl=True)
@example(looking=False, sd=1, vx=80_000, p_now=9000, beam=0, rate=1000, off=1, ctrl=True)
@example(looking=False, sd=-1, vx=-50_000, p_now=8192, beam=0, rate=3641, off=1, ctrl=True)
@example(looking=False, sd=-1, vx=-50_000, p_now=8192, beam=0, rate=3641, off=0, ctrl=True)
def test_look_is_the_reference(looking, sd, vx, p_now, beam, rate, off, ctrl):
    g, got, want = _look_case(looking, sd, vx, p_now, beam, rate, off, ctrl)
    assert got is want and g.looking is want
    if want != looking:
        assert drain_events() == [(G.EV_SHADOW_LOOK, 1 if want else 0)]
        assert g.looks == (4 if want else 3)
    else:
        assert drain_events() == [] and g.looks == 3


def test_a_re_plan_without_a_shadow_posts_nothing_and_does_not_look():
    cfg = Config(max_pitch_bau=10923)
    g = G.Guidance(cfg)
    g.attach_control(Control(cfg))
    nav = NavInput()
    nav.site_alt_mm, nav.vz_mm_s, nav.vx_mm_s = 1_500_000, -50_000, 50_000
    g.phase, g.engine_on, g.tgo_ms = G.PH_BRAKING, True, 40_000
    g._k = cfg.replan_cycles - 1
    drain_events()
    for _ in range(2 * cfg.replan_cycles):
        g.update(nav, False)
    assert g.looking is False and g.looks == 0
    assert [e for e in drain_events() if e[0] == G.EV_SHADOW_LOOK] == []


@pytest.mark.parametrize("phase", [G.PH_COAST, G.PH_BRAKING, G.PH_APPROACH])
def test_a_re_plan_at_the_low_gate_enters_the_terminal_descent_in_that_cycle(phase):
    # 20 m above the site (the gate is 25 m): the integrator starts from 0,
    # the horizontal demand is no longer kept, the engine is lit, the
    # attitude limit is the terminal one, one phase event
    cfg = Config(max_pitch_bau=10923)
    g = G.Guidance(cfg)
    g.attach_control(Control(cfg))
    g.phase, g._iz, g.keep_horizontal, g.engine_on = phase, 700, True, False
    g.pitch_limit_bau = 8192
    g._k = cfg.replan_cycles - 1
    nav = NavInput()
    nav.site_alt_mm, nav.vz_mm_s = 20_000, -2000
    drain_events()
    g.update(nav, False)
    assert g.phase == G.PH_TERMINAL and drain_events() == [(G.EV_PHASE, G.PH_TERMINAL)]
    assert g._iz == 0 and g.keep_horizontal is False and g.engine_on is True
    assert g.pitch_limit_bau == cfg.terminal_pitch_bau
