"""Guidance's terminal descent, hover and safe descent, one cycle at a time,
bit for bit against a reference written here from their definitions in
plain Python integers (floors of the stated gains, the clamps, the 10 Hz
slow terms, the propellant margin of the rest of the descent and the phase
decisions): Kv 1.5 /s and Ki 655 / 2^16 a cycle on the vertical rate error
clamped to +/-32767 mm/s, integrating only within +/-1 m/s of the ramp and
not into a saturated throttle; horizontal nulling 19661 / 2^15 (0.6 /s, 1/2
beyond +/-32767 mm/s) plus 41 / 2^10 of the site error (clamped to 200 m)
above 5 m in the terminal descent; the attitude limit tapering to 1/4 of the
terminal limit at the ground; the margin g h / |vz_ref| through the rocket
equation to first order. The climb-out (terminal far above the gate) is
pinned in tests/test_mut_gnc.py."""
import pytest
from hypothesis import example, given, settings, strategies as st

from host_tools.sim.gncref import NavInput
from tests.app_fakes import fresh_event_ring  # noqa: F401
from lander import guidance as G
from lander.config import Config
from lander.control import Control
from lander.events import events
from tests.app_fakes import drain_events

pytestmark = pytest.mark.usefixtures("fresh_event_ring")

VEL = 0xFFFFF
INT_MAX = 0x3FFFFFFF


def _clamp(x, lo, hi):
    return lo if x < lo else (hi if x > hi else x)


def _sat(x):
    return _clamp(x, -INT_MAX, INT_MAX)


# the configurations: the nominal vehicle; a steep ramp (1 m gate at 5 m/s
# down to 0.1 m/s: the ramp's slope above 1 / mm); an Earth hopper
CONFIGS = (
    dict(max_pitch_bau=10923),
    dict(max_pitch_bau=10923, terminal_alt_mm=1000, terminal_vz_mm_s=5000, touchdown_vz_mm_s=100,
         safe_vz_mm_s=300, terminal_pitch_bau=2731),
    dict(max_pitch_bau=10923, gravity_mm_s2=9807, isp_s=220, dry_mass_g=60000, propellant_g=20000,
         max_thrust_mn=1500000, reserve_g=500),
)


def _ramp(cfg, hp):
    gate_h, gate_v, td_v = cfg.terminal_alt_mm, cfg.terminal_vz_mm_s, cfg.touchdown_vz_mm_s
    q20 = ((gate_v - td_v) << 20) // gate_h if gate_v > td_v else 0
    return td_v + ((hp * q20) >> 20)


def _margin(cfg, mass_mg, dry_mg, dv):
    """Propellant left beyond what dv needs: m (1 - exp(-dv/c)) ~ m dv / c."""
    c = cfg.isp_s * 9807
    dv = _clamp(dv, 0, 0x3FFFFF)
    frac = min((dv << 15) // c, INT_MAX)
    return (mass_mg - dry_mg) // 1000 - (((mass_mg // 1000) * frac) >> 15)


def _safe_rate(cfg, mass_mg, dry_mg, hp):
    """safe_vz, or 5/4 h over the hover time the propellant above the reserve
    buys, whichever is faster (the touchdown ramp alone below the reserve)."""
    v = cfg.safe_vz_mm_s
    m_g = mass_mg // 1000
    p_g = (mass_mg - dry_mg) // 1000 - cfg.reserve_g
    if p_g > 0 and m_g > 0:
        hover_ms = (cfg.isp_s * 9807 // cfg.gravity_mm_s2) * 1000
        frac = _sat((p_g << 15) // m_g)
        t_ms = _sat((frac * hover_ms) >> 15)
        vp = _sat(((hp + (hp >> 2)) << 10) // max(t_ms, 1))
        vp = _sat((vp * 1000) >> 10)
        v = max(v, vp)
    else:
        v = VEL
    return _clamp(v, 0, VEL)


class _State:
    def __init__(self, g, c):
        self.phase, self.iz, self.hover_ms, self.safe_v = g.phase, g._iz, g.hover_ms, g._safe_v
        self.cmd_seq, self.margin = g.cmd_seq, g.propellant_margin_g
        self.ax, self.lim = g.accel_x_cmd_mm_s2, g.pitch_limit_bau
        self.vz_ref = self.az = None
        self.events = []


def _reference(cfg, g, c, nav, k):
    """What one guidance cycle in terminal / hover / safe must do (k: the
    cycle within the re-plan period; 0 runs the 10 Hz terms)."""
    s = _State(g, c)
    h = _clamp(nav.site_alt_mm, -0x3FFFFFF, 0x3FFFFFF)
    hp = max(h, 0)
    ramp = _ramp(cfg, hp)
    if s.phase == G.PH_HOVER:
        s.vz_ref = 0
        s.hover_ms += 1000 // cfg.rate_hz
    elif s.phase == G.PH_SAFE:
        s.vz_ref = -min(s.safe_v, ramp)
    else:
        s.vz_ref = -min(cfg.terminal_vz_mm_s, ramp)
    err = _clamp(s.vz_ref - _clamp(nav.vz_mm_s, -VEL, VEL), -0x7FFF, 0x7FFF)
    frozen = (err > 0 and c.sat_high) or (err < 0 and c.sat_low)
    if -1000 <= err <= 1000 and not frozen:
        s.iz = _clamp(s.iz + ((err * 655) >> 16), -2000, 2000)
    s.az = _clamp(cfg.gravity_mm_s2 + err + (err >> 1) + s.iz, 0, 100000)
    if k != 0:
        return s
    assert not (s.phase == G.PH_TERMINAL and h > 2 * cfg.terminal_alt_mm)   # the climb-out
    if s.phase == G.PH_SAFE:
        s.safe_v = _safe_rate(cfg, c.mass_mg, c.dry_mass_mg, hp)
    vx = _clamp(nav.vx_mm_s, -VEL, VEL)
    ax = -((vx * 19661) >> 15) if abs(vx) < 0x7FFF else -(vx >> 1)
    if h > 5000 and s.phase == G.PH_TERMINAL:
        ax += (_clamp(_sat(g.site_x_mm - nav.x_mm), -200000, 200000) * 41) >> 10
    s.ax = _clamp(ax, -100000, 100000)
    tp = cfg.terminal_pitch_bau
    s.lim = tp if h >= 5000 else (tp >> 2) + ((tp - (tp >> 2)) * hp) // 5000
    s.cmd_seq += 1
    sp = -s.vz_ref if s.vz_ref < -100 else cfg.safe_vz_mm_s
    t_q10 = _clamp(_sat((hp << 10) // sp), 0, 0xFFFFFF)
    s.margin = _margin(cfg, c.mass_mg, c.dry_mass_mg, (cfg.gravity_mm_s2 * t_q10) >> 10)
    if s.phase == G.PH_HOVER:
        if s.hover_ms >= cfg.hover_max_ms or s.margin < cfg.reserve_g:
            s.phase = G.PH_SAFE
            s.events.append((G.EV_PHASE, G.PH_SAFE))
    elif s.phase == G.PH_TERMINAL and s.margin < 0:
        s.phase = G.PH_SAFE
        s.events += [(G.EV_NO_MARGIN, s.margin), (G.EV_PHASE, G.PH_SAFE)]
    return s


def _stage(conf, phase, k, iz=0, hover_ms=0, safe_v=1500, prop_g=40000, sat_high=False,
           sat_low=False, site_x_mm=0):
    cfg = Config(**CONFIGS[conf])
    g = G.Guidance(cfg)
    c = Control(cfg)
    g.attach_control(c)
    g.phase, g._iz, g.hover_ms, g._safe_v, g.site_x_mm = phase, iz, hover_ms, safe_v, site_x_mm
    g._k = (k - 1) % cfg.replan_cycles           # update() advances it to k
    g.cmd_seq, g.propellant_margin_g, g.accel_x_cmd_mm_s2, g.pitch_limit_bau = 40, 77, -5, 999
    c.mass_mg = c.dry_mass_mg + prop_g * 1000
    c.sat_high, c.sat_low = sat_high, sat_low
    return cfg, g, c


def _nav(h, vz, vx=0, x=0):
    nav = NavInput()
    nav.site_alt_mm, nav.vz_mm_s, nav.vx_mm_s, nav.x_mm = h, vz, vx, x
    return nav


def _check(cfg, g, c, nav, k):
    want = _reference(cfg, g, c, nav, k)
    drain_events()
    g.update(nav, False)
    got = (g.phase, g.vz_ref_mm_s, g.accel_z_cmd_mm_s2, g._iz, g.hover_ms, g._safe_v,
           g.accel_x_cmd_mm_s2, g.pitch_limit_bau, g.cmd_seq, g.propellant_margin_g, g.engine_on)
    assert got == (want.phase, want.vz_ref, want.az, want.iz, want.hover_ms, want.safe_v,
                   want.ax, want.lim, want.cmd_seq, want.margin, True)
    assert drain_events() == want.events


_phase = st.sampled_from([G.PH_TERMINAL, G.PH_HOVER, G.PH_SAFE])


@settings(max_examples=150)
@given(conf=st.integers(0, 2), phase=_phase, k=st.integers(0, 4),
       h=st.integers(-100_000, 3_000_000), vz=st.integers(-1_200_000, 1_200_000),
       iz=st.integers(-2000, 2000), sat_high=st.booleans(), sat_low=st.booleans(),
       safe_v=st.integers(0, 20_000))
# boundaries: the rate error at the integrator band's edges (+/-1 m/s of the
# ramp: -2 m/s at 20 m, nominal) and at the clamp (+/-32767, 32768), the
# integrator at its clamp, the speed beyond the 1 km/s clamp, a steep ramp 1 mm up,
# a safe descent at the 1 km/s clamp 30 km up
@example(conf=0, phase=G.PH_TERMINAL, k=1, h=30_000, vz=-3000, iz=0, sat_high=False, sat_low=False,
         safe_v=1500)
@example(conf=0, phase=G.PH_TERMINAL, k=1, h=30_000, vz=-1000, iz=0, sat_high=False, sat_low=False,
         safe_v=1500)
@example(conf=0, phase=G.PH_TERMINAL, k=1, h=30_000, vz=-1500, iz=0, sat_high=False, sat_low=False,
         safe_v=1500)
@example(conf=0, phase=G.PH_TERMINAL, k=1, h=30_000, vz=-34768, iz=0, sat_high=False, sat_low=False,
         safe_v=1500)
@example(conf=0, phase=G.PH_TERMINAL, k=1, h=30_000, vz=-34767, iz=0, sat_high=False, sat_low=False,
         safe_v=1500)
@example(conf=0, phase=G.PH_TERMINAL, k=1, h=30_000, vz=30767, iz=0, sat_high=False, sat_low=False,
         safe_v=1500)
@example(conf=0, phase=G.PH_TERMINAL, k=1, h=30_000, vz=-1500, iz=-2000, sat_high=False,
         sat_low=False, safe_v=1500)
@example(conf=0, phase=G.PH_TERMINAL, k=1, h=30_000, vz=-2500, iz=2000, sat_high=False,
         sat_low=False, safe_v=1500)
@example(conf=0, phase=G.PH_TERMINAL, k=1, h=30_000, vz=-2_000_000, iz=0, sat_high=False,
         sat_low=False, safe_v=1500)
@example(conf=0, phase=G.PH_TERMINAL, k=1, h=30_000, vz=2_000_000, iz=0, sat_high=False,
         sat_low=False, safe_v=1500)
@example(conf=1, phase=G.PH_TERMINAL, k=1, h=1, vz=0, iz=0, sat_high=False, sat_low=False,
         safe_v=300)
@example(conf=1, phase=G.PH_TERMINAL, k=1, h=-5, vz=0, iz=0, sat_high=False, sat_low=False,
         safe_v=300)
@example(conf=0, phase=G.PH_SAFE, k=1, h=0, vz=0, iz=0, sat_high=False, sat_low=False, safe_v=1500)
@example(conf=0, phase=G.PH_SAFE, k=1, h=30_000_000, vz=-VEL - 1, iz=0, sat_high=False, sat_low=False,
         safe_v=VEL)
def test_vertical_rate_hold_is_the_reference_each_cycle(conf, phase, k, h, vz, iz, sat_high, sat_low,
                                                        safe_v):
    cfg, g, c = _stage(conf, phase, k, iz=iz, safe_v=safe_v, sat_high=sat_high, sat_low=sat_low)
    if phase == G.PH_TERMINAL:
        h = min(h, 2 * cfg.terminal_alt_mm)
    _check(cfg, g, c, _nav(h, vz), k)


@pytest.mark.parametrize("err,sat_high,sat_low,moves", [
    (500, True, False, False), (500, False, True, True),
    (-500, False, True, False), (-500, True, False, True),
    (500, True, True, False), (-500, False, False, True)])
def test_integrator_freezes_only_into_a_saturated_throttle(err, sat_high, sat_low, moves):
    # -2 m/s at 30 m (the ramp's ceiling): err = vz_ref - vz
    cfg, g, c = _stage(0, G.PH_TERMINAL, 1, iz=100, sat_high=sat_high, sat_low=sat_low)
    _check(cfg, g, c, _nav(30_000, -2000 - err), 1)
    assert (g._iz != 100) is moves


@settings(max_examples=120)
@given(conf=st.integers(0, 2), phase=_phase, h=st.integers(-100_000, 3_000_000),
       vz=st.integers(-30_000, 30_000), vx=st.integers(-1_200_000, 1_200_000),
       x=st.integers(-1_000_000, 1_000_000), site=st.integers(-1_000_000, 1_000_000))
# boundaries: the small-speed path's edges, the 5 m position / taper height,
# the site error's 200 m clamp
@example(conf=0, phase=G.PH_TERMINAL, h=20_000, vz=0, vx=0x7FFF, x=0, site=0)
@example(conf=0, phase=G.PH_TERMINAL, h=20_000, vz=0, vx=0x7FFE, x=0, site=0)
@example(conf=0, phase=G.PH_TERMINAL, h=20_000, vz=0, vx=-0x7FFF, x=0, site=0)
@example(conf=0, phase=G.PH_TERMINAL, h=20_000, vz=0, vx=-0x7FFE, x=0, site=0)
@example(conf=0, phase=G.PH_TERMINAL, h=20_000, vz=0, vx=-60_000, x=0, site=0)
@example(conf=0, phase=G.PH_TERMINAL, h=5000, vz=0, vx=1000, x=0, site=100_000)
@example(conf=0, phase=G.PH_TERMINAL, h=5001, vz=0, vx=1000, x=0, site=100_000)
@example(conf=0, phase=G.PH_TERMINAL, h=4999, vz=0, vx=1000, x=0, site=100_000)
@example(conf=0, phase=G.PH_HOVER, h=20_000, vz=0, vx=1000, x=0, site=100_000)
@example(conf=0, phase=G.PH_TERMINAL, h=20_000, vz=0, vx=0, x=0, site=300_000)
@example(conf=0, phase=G.PH_TERMINAL, h=20_000, vz=0, vx=0, x=300_000, site=0)
def test_ten_hz_horizontal_command_and_attitude_limit_are_the_reference(conf, phase, h, vz, vx, x, site):
    cfg, g, c = _stage(conf, phase, 0, site_x_mm=site)
    if phase == G.PH_TERMINAL:
        h = min(h, 2 * cfg.terminal_alt_mm)
    _check(cfg, g, c, _nav(h, vz, vx, x), 0)


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_the_slow_terms_wait_for_the_re_plan_cycle(k):
    # off the re-plan cycle: the horizontal command, the attitude limit,
    # cmd_seq and the margin are those of the last re-plan cycle
    cfg, g, c = _stage(0, G.PH_TERMINAL, k, site_x_mm=100_000)
    _check(cfg, g, c, _nav(20_000, -1500, vx=3000), k)
    assert (g.accel_x_cmd_mm_s2, g.pitch_limit_bau, g.cmd_seq, g.propellant_margin_g) == (-5, 999, 40, 77)


def _mass_for_margin(cfg, c, h, vz_ref, want):
    """The propellant (g) that leaves exactly `want` g of margin at height h."""
    sp = -vz_ref if vz_ref < -100 else cfg.safe_vz_mm_s
    dv = (cfg.gravity_mm_s2 * _clamp((h << 10) // sp, 0, 0xFFFFFF)) >> 10
    for p in range(0, 200_000):
        if _margin(cfg, c.dry_mass_mg + p * 1000, c.dry_mass_mg, dv) == want:
            return p
    raise AssertionError("no propellant gives that margin")


@pytest.mark.parametrize("want,safe", [(0, False), (-1, True)])
def test_terminal_goes_to_the_safe_descent_when_the_margin_is_negative(want, safe):
    cfg, g, c = _stage(0, G.PH_TERMINAL, 0)
    p = _mass_for_margin(cfg, c, 40_000, -2000, want)
    cfg, g, c = _stage(0, G.PH_TERMINAL, 0, prop_g=p)
    _check(cfg, g, c, _nav(40_000, -2000), 0)
    assert g.propellant_margin_g == want and (g.phase == G.PH_SAFE) is safe


@pytest.mark.parametrize("hover_ms,want,safe", [
    (9980, 2000, True), (9960, 2000, False), (0, 1999, True), (0, 2000, False)])
def test_hover_ends_at_its_time_limit_or_below_the_reserve(hover_ms, want, safe):
    # hover_max 10 s: the cycle that reaches it ends the hover; reserve 2 kg
    cfg, g, c = _stage(0, G.PH_HOVER, 0)
    p = _mass_for_margin(cfg, c, 40_000, 0, want)
    cfg, g, c = _stage(0, G.PH_HOVER, 0, hover_ms=hover_ms, prop_g=p)
    _check(cfg, g, c, _nav(40_000, 0), 0)
    assert (g.phase == G.PH_SAFE) is safe


def test_the_margin_uses_the_ramp_speed_above_0_1_m_s_else_the_safe_rate():
    # 1 cm up, touchdown at 0.100 / 0.101 / 0.102 m/s (the ramp adds nothing
    # there): |vz_ref| 100 is not above 100, so the margin takes the time to
    # the ground at the safe rate (1.5 m/s); 101 and 102 at their own speed
    for td in (100, 101, 102):
        cfg = Config(max_pitch_bau=10923, touchdown_vz_mm_s=td)
        g = G.Guidance(cfg)
        c = Control(cfg)
        g.attach_control(c)
        g.phase = G.PH_TERMINAL
        g._k = cfg.replan_cycles - 1
        _check(cfg, g, c, _nav(10, 0), 0)
        assert g.vz_ref_mm_s == -td
