"""Control: geometry against the float reference, thrust-to-mass estimation,
throttle band, pitch rate limit, saturation order, bad input."""
import math
from array import array

from hypothesis import given, settings, strategies as st

from host_tools.sim import gncref
from lander import control as C
from lander import guidance as G
from lander.config import Config
from lander.control import Control
from lander.guidance import Guidance
from tests.app_fakes import set_guidance_command as _command

BAU = 65536 / 360.0
LIMIT = 0x3FFFFFFF


def _pair(**over):
    cfg = Config(**dict(dict(max_pitch_bau=10923), **over))
    g = Guidance(cfg)
    c = Control(cfg)
    g.attach_control(c)
    return cfg, g, c


@given(ax=st.integers(-12000, 12000), az=st.integers(1, 12000), lim_deg=st.integers(1, 60))
def test_geometry_matches_the_float_reference(ax, az, lim_deg):
    cfg, g, c = _pair()
    lim = int(lim_deg * BAU)
    _command(g, ax, az, lim)
    c._geometry(g)
    p_ref, m_ref = gncref.geometry(ax, az, lim / BAU * math.pi / 180.0, c.a_full_mm_s2)
    assert abs(c.pitch_ref_bau / BAU - math.degrees(p_ref)) <= gncref.TOLERANCES["pitch_deg"]
    assert abs(c._mag_geo - m_ref) <= gncref.TOLERANCES["mag_abs_mm_s2"] + gncref.TOLERANCES["mag_rel"] * m_ref


def test_saturation_gives_up_the_horizontal_channel_first():
    cfg, g, c = _pair()
    a = c.a_full_mm_s2
    _command(g, 5000, a - 1000, 10923)            # |a| well above the available
    c._geometry(g)
    assert c._mag_geo == a
    # the vertical component kept: |a| cos(pitch) = az
    vz = c._mag_geo * math.cos(c.pitch_ref_bau / BAU * math.pi / 180.0)
    assert abs(vz - (a - 1000)) <= 0.01 * a
    _command(g, 5000, a + 500, 10923)             # even vertical alone saturates
    c._geometry(g)
    assert c.pitch_ref_bau == 0 and c._mag_geo == a


def test_pitch_limit_keeps_the_vertical_in_the_terminal_descent():
    cfg, g, c = _pair()
    _command(g, 3000, 1600, int(10 * BAU))
    c._geometry(g)
    assert c.pitch_ref_bau == int(10 * BAU)
    assert abs(c._mag_geo * math.cos(math.radians(10)) - 1600) <= 5


def test_throttle_is_zero_or_at_least_the_minimum():
    cfg, g, c = _pair()
    seen = set()
    for az in range(0, 9000, 37):
        _command(g, 0, az, 0)
        c.update(g, None)
        u = c.throttle_q15
        assert u == 0 or cfg.min_throttle_q15 <= u <= 32768
        seen.add(u == 0)
    assert seen == {True, False}
    _command(g, 0, 5000, 0, engine_on=False)
    c.update(g, None)
    assert c.throttle_q15 == 0


def test_throttle_meets_the_command_over_the_available_acceleration():
    cfg, g, c = _pair(engine_lag_ms=0)
    _command(g, 0, 3571, 0)                        # half of 3000 N / 420 kg
    for _ in range(20):
        c.update(g, None)
    assert abs(c.throttle_q15 - 16384) <= 40


def test_engine_lag_lead_overdrives_a_step_then_settles():
    cfg, g, c = _pair()
    _command(g, 0, 3571, 0)
    c.update(g, None)
    first = c.throttle_q15
    for _ in range(100):
        c.update(g, None)
    assert first > c.throttle_q15 + 2000          # the lead term
    assert abs(c.throttle_q15 - 16384) <= 60


def test_pitch_set_point_moves_at_most_the_rate_limit_per_cycle():
    cfg, g, c = _pair()
    _command(g, -6000, 3000, 10923, keep_horizontal=True)
    prev = c.pitch_cmd_bau
    steps = []
    for _ in range(30):
        c.update(g, None)
        steps.append(c.pitch_cmd_bau - prev)
        prev = c.pitch_cmd_bau
    assert min(steps) == -(cfg.max_pitch_rate_bau_s // cfg.rate_hz)
    assert all(-(cfg.max_pitch_rate_bau_s // cfg.rate_hz) <= s <= 0 for s in steps)


class _Nav(gncref.NavInput):
    pass


def test_thrust_to_mass_ratio_follows_the_measured_acceleration():
    cfg, g, c = _pair(engine_lag_ms=0)
    nav = _Nav()
    _command(g, 0, 4000, 0)
    for _ in range(200):
        c.update(g, nav)
        # the engine makes 15 % more than modelled
        nav.accel_thrust_mm_s2 = int(1.15 * c.thrust_model_q15 * c._afull_nom / 32768)
    assert abs(c.thrust_ratio_q15 - int(1.15 * 32768)) <= 100
    # and the throttle for the same command drops by 1/1.15
    assert abs(c.throttle_q15 - 4000 / (1.15 * c._afull_nom) * 32768) <= 80


def test_mass_falls_with_the_modelled_thrust():
    cfg, g, c = _pair(engine_lag_ms=0)
    _command(g, 0, 7142, 0)                       # full throttle
    m0 = c.mass_mg
    for i in range(50):                           # 1 s
        g._k = i % 5                              # guidance's cycle (no frames: slow terms at 4)
        c.update(g, None)
    # 3000 N / (315 s * 9.807) = 0.9711 kg/s, burnt from the second cycle on
    # (the flow follows the modelled thrust, one cycle behind the command) and
    # taken from the mass at the start of each re-plan window: after 50 cycles
    # the windows closed at cycles 5, 10, .. 50 hold cycles 2 .. 49
    assert abs((m0 - c.mass_mg) / 1e6 - 0.9711 * 48 / 50) <= 0.002
    # the cycles inside a window burn nothing from the mass; its close does
    g._k = 0
    c.update(g, None)
    m50 = c.mass_mg
    for k in (1, 2, 3):
        g._k = k
        c.update(g, None)
    assert c.mass_mg == m50
    g._k = 4
    c.update(g, None)
    assert abs((m50 - c.mass_mg) / 1e6 - 0.9711 * 5 / 50) <= 0.0005


_big = st.integers(-LIMIT, LIMIT)


@settings(max_examples=150)
@given(alt=_big, x=_big, vz=_big, vx=_big, acc=_big, pitch=_big, mass=st.integers(0, 2_000_000_000),
       phase=st.sampled_from([G.PH_COAST, G.PH_BRAKING, G.PH_APPROACH, G.PH_TERMINAL, G.PH_HOVER,
                              G.PH_SAFE]))
def test_extreme_or_inconsistent_estimates_keep_the_commands_in_limits(alt, x, vz, vx, acc, pitch, mass,
                                                                         phase):
    cfg, g, c = _pair()
    g.phase = phase
    c.mass_mg = min(mass, LIMIT)                  # may be below dry
    nav = _Nav()
    nav.site_alt_mm, nav.x_mm, nav.vz_mm_s, nav.vx_mm_s = alt, x, vz, vx
    nav.accel_thrust_mm_s2, nav.pitch_bau = acc, pitch
    for _ in range(2 * cfg.replan_cycles):
        g.update(nav, False)
        c.update(g, nav)
        u = c.throttle_q15
        assert u == 0 or cfg.min_throttle_q15 <= u <= 32768
        assert abs(c.pitch_cmd_bau) <= cfg.max_pitch_bau
    for obj in (g, c):
        for k, v in vars(obj).items():
            if isinstance(v, int) and not isinstance(v, bool):
                assert -LIMIT <= v <= LIMIT, k
    for v in g._a:
        assert -LIMIT <= v <= LIMIT


def test_checkpoint_restores_the_control_state():
    cfg, g, c = _pair()
    nav = _Nav()
    _command(g, -2000, 3000, 10923)
    for _ in range(40):
        c.update(g, nav)
        nav.accel_thrust_mm_s2 = 3500
    words = array("i", bytes(4 * C.CHECKPOINT_WORDS))
    c.checkpoint_into(words, 0)
    c2 = Control(cfg)
    c2.restore_from(words, 0)
    for name in ("mass_mg", "throttle_q15", "pitch_cmd_bau", "thrust_ratio_q15", "thrust_model_q15",
                 "pitch_ref_bau", "a_full_mm_s2", "mass_kg_q10", "thrust_cmd_mn"):
        assert getattr(c2, name) == getattr(c, name), name

