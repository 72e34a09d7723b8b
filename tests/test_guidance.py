"""Guidance: the ZEM/ZEV plan against its float reference, the phases of a
descent, touchdown, abort and safe states, checkpoints."""
import math
from array import array

import pytest
from hypothesis import given, strategies as st

from host_tools.sim import gncref
from tests.app_fakes import fresh_event_ring  # noqa: F401
from lander import guidance as G
from lander.config import Config
from lander.control import Control
from lander.events import events
from lander.guidance import Guidance

CFG60 = dict(max_pitch_bau=10923)     # the nominal vehicle's 60 deg

# every test starts and ends with an empty event ring (guidance posts events)
pytestmark = pytest.mark.usefixtures("fresh_event_ring")


def _pair(**over):
    cfg = Config(**dict(CFG60, **over))
    g = Guidance(cfg)
    c = Control(cfg)
    g.attach_control(c)
    return cfg, g, c


def _within(fw, ref, tol):
    absolute, rel = tol
    return abs(fw - ref) <= absolute + rel * abs(ref)


@given(dx=st.integers(-20_000_000, 20_000_000), dh=st.integers(0, 15_000_000),
       vx=st.integers(-300_000, 300_000), vz=st.integers(-300_000, 100_000),
       t_ms=st.integers(2100, 600_000))
def test_plan_matches_the_float_zem_zev_reference(dx, dh, vx, vz, t_ms):
    cfg, g, _ = _pair()
    g._plan(dx, dh, vx, vz, t_ms)
    # the firmware's 1/T is floor(65536000 / T) / 65536: the reference uses
    # the same T (the quantisation of 1/T is part of the stated tolerance)
    ref = gncref.plan(dx, dh, vx, vz, -cfg.terminal_vz_mm_s, cfg.gravity_mm_s2, t_ms / 1000.0)
    for fw, r in zip(g._a, ref):
        if abs(r) < 100_000:          # the firmware clamps at 100 m/s^2
            assert _within(fw, r, gncref.TOLERANCES["plan_mm_s2"]), (list(g._a), ref)


def test_plan_pinned_hand_case():
    # 1-D: 1000 m above the gate, falling at 20 m/s, T = 20 s, to -2 m/s:
    # a0z = -6 h/T^2 - (4 vz + 2 vzf)/T + g = -15 + 4.2 + 1.62 = -9.18 m/s^2
    cfg, g, _ = _pair()
    g._plan(0, 1_000_000, 0, -20_000, 20_000)
    h, vz, vzf, T, gr = 1000.0, -20.0, -2.0, 20.0, 1.62
    a0z = -6 * h / T ** 2 - (4 * vz + 2 * vzf) / T + gr
    aez = 6 * h / T ** 2 + (2 * vz + 4 * vzf) / T + gr
    # within 8 mm/s^2: 1/T is floor(65536000 / T) in Q16 (0.03 % here)
    assert abs(g._a[1] - a0z * 1000) <= 8 and abs(g._a[3] - aez * 1000) <= 8
    assert g._a[0] == 0 and g._a[2] == 0


def test_point_mass_descent_goes_through_the_phases_in_order_and_lands_on_the_site():
    cfg = Config(**CFG60)
    r = gncref.fly_point_mass(cfg, 8000.0, -40.0, 80.0, 3000.0)
    assert r["phases"] == [G.PH_COAST, G.PH_BRAKING, G.PH_APPROACH, G.PH_TERMINAL, G.PH_LANDED]
    assert r["landed"]
    assert abs(r["vz"]) <= 1.0 and abs(r["vx"]) <= 0.3 and abs(r["miss_m"]) <= 5.0
    assert abs(r["pitch_deg"]) <= 3.0


def test_every_phase_change_is_an_event():
    cfg = Config(**CFG60)
    out = array("i", (0, 0, 0))
    while events.pop_into(out):          # what earlier tests left in the (never drained) ring
        pass
    before = events.posted
    r = gncref.fly_point_mass(cfg, 2000.0, -20.0, 10.0, 200.0)
    assert r["landed"]
    # drain the ring and count EV_PHASE
    phases = []
    while events.pop_into(out):
        if out[1] == G.EV_PHASE:
            phases.append(out[2])
    assert events.posted > before
    assert phases[-4:] == [G.PH_BRAKING, G.PH_APPROACH, G.PH_TERMINAL, G.PH_LANDED][-len(phases[-4:]):]


class _Nav(gncref.NavInput):
    pass


def test_touchdown_is_landed_in_the_same_cycle_with_the_engine_off():
    cfg, g, c = _pair()
    g.phase = G.PH_TERMINAL
    nav = _Nav()
    nav.site_alt_mm = 300
    nav.vz_mm_s = -700
    g.update(nav, False)
    assert g.engine_on
    g.update(nav, True)
    assert g.phase == G.PH_LANDED and not g.engine_on
    c.update(g, nav)
    assert c.throttle_q15 == 0


def test_app_cuts_the_engine_in_the_cycle_the_legs_touch():
    from lander.app import App

    class Legs:
        any_contact = False
        contact_mask = 0

        def update(self):
            pass

    class Engine:
        def __init__(self):
            self.throttle = None
            self.armed = True

        def arm(self):
            self.armed = True

        def disarm(self):
            self.armed = False

        def set_throttle(self, q):
            self.throttle = q

        def set_pitch(self, a):
            pass

    class Board:
        imu = None
        altimeter = None
        wdt = None

    b = Board()
    b.legs = Legs()
    b.engine = Engine()
    app = App(b, Config(**dict(CFG60, site_x_mm=0)))
    app.handover(20000, -1500, 0, 0)
    for i in range(5):
        app.step(i * 20000)
    assert b.engine.throttle > 0
    b.legs.any_contact = True
    b.legs.contact_mask = 1
    app.step(5 * 20000)
    assert app.guid.phase == G.PH_LANDED
    assert b.engine.throttle == 0 and not b.engine.armed and app.engine_cut


def test_abort_hovers_then_descends_at_a_constant_rate():
    cfg, g, c = _pair(hover_max_ms=2000)
    g.phase = G.PH_TERMINAL
    g.abort()
    assert g.phase == G.PH_HOVER
    nav = _Nav()
    nav.site_alt_mm = 100_000
    for _ in range(10):
        g.update(nav, False)
    assert g.vz_ref_mm_s == 0
    for _ in range(2 * cfg.rate_hz):
        g.update(nav, False)
    assert g.phase == G.PH_SAFE
    assert g.vz_ref_mm_s == -cfg.safe_vz_mm_s


def test_no_propellant_margin_in_the_terminal_descent_means_safe_descent_not_hover():
    cfg, g, c = _pair()
    g.phase = G.PH_TERMINAL
    c.mass_mg = c.dry_mass_mg + 100_000          # 100 g left
    nav = _Nav()
    nav.site_alt_mm = 20_000
    for _ in range(cfg.replan_cycles):
        g.update(nav, False)
    assert g.propellant_margin_g < 0
    assert g.phase == G.PH_SAFE
    assert g.vz_ref_mm_s < 0


def test_terminal_rate_hold_matches_the_float_reference():
    cfg, g, c = _pair()
    g.phase = G.PH_TERMINAL
    nav = _Nav()
    for h, vz in ((20_000, -3000), (10_000, -500), (2000, -1500), (0, 0)):
        nav.site_alt_mm = h
        nav.vz_mm_s = vz
        g._iz = 0
        g.update(nav, False)
        ramp = cfg.touchdown_vz_mm_s + h * (cfg.terminal_vz_mm_s - cfg.touchdown_vz_mm_s) / cfg.terminal_alt_mm
        vz_ref = -min(cfg.terminal_vz_mm_s, ramp)
        assert abs(g.vz_ref_mm_s - vz_ref) <= 2
        ref = gncref.terminal_az(cfg.gravity_mm_s2, g.vz_ref_mm_s, vz, g._iz)
        assert abs(g.accel_z_cmd_mm_s2 - ref) <= gncref.TOLERANCES["terminal_az_mm_s2"]


def test_terminal_integrator_holds_while_the_error_is_beyond_its_band():
    # braking from the low gate at -10 m/s toward the ramp (-2 m/s at 20 m:
    # an error of 8 m/s, the throttle below full): the integrator does not
    # move (wound up there it held the vehicle at the engine's floor, 1 m/s
    # slower than the ramp, for ~20 s of the nominal descent); within
    # _IZ_BAND of the ramp it integrates, Ki = 0.5 /s^2: (err * 655) >> 16 a cycle
    cfg, g, c = _pair()
    g.phase = G.PH_TERMINAL
    nav = _Nav()
    nav.site_alt_mm = 30_000
    nav.vz_mm_s = -10_000
    for _ in range(50):
        g.update(nav, False)
    assert g.vz_ref_mm_s == -cfg.terminal_vz_mm_s == -2000
    assert g._iz == 0
    nav.vz_mm_s = -2000 - G._IZ_BAND
    g.update(nav, False)
    assert g._iz == (G._IZ_BAND * 655) >> 16 == 9
    nav.vz_mm_s = -2000 - G._IZ_BAND - 1
    g.update(nav, False)
    assert g._iz == 9


def test_checkpoint_restores_the_guidance_state():
    cfg, g, c = _pair()
    r = gncref.fly_point_mass(cfg, 3000.0, -30.0, 20.0, 500.0, max_s=20.0, guidance=g, control=c)
    words = array("i", bytes(4 * G.CHECKPOINT_WORDS))
    g.checkpoint_into(words, 0)
    g2 = Guidance(cfg)
    g2.restore_from(words, 0)
    for name in ("phase", "site_x_mm", "vz_ref_mm_s", "propellant_margin_g", "tgo_ms", "_iz",
                 "hover_ms", "engine_on", "aborted", "pitch_limit_bau"):
        assert getattr(g2, name) == getattr(g, name), name
    assert r["t_s"] >= 20.0


def test_divert_moves_the_site_during_braking_only():
    cfg, g, c = _pair()
    g.phase = G.PH_BRAKING
    g.divert(3_500_000)
    assert g.site_x_mm == 3_500_000
    g.phase = G.PH_TERMINAL
    g.divert(0)
    assert g.site_x_mm == 3_500_000


def test_overthrust_and_half_thrust_are_absorbed_on_the_point_mass():
    cfg = Config(**CFG60)
    over = gncref.fly_point_mass(cfg, 8000.0, -40.0, 80.0, 3000.0, thrust_scale=1.15)
    half = gncref.fly_point_mass(cfg, 8000.0, -40.0, 80.0, 3000.0, thrust_scale=0.5, scale_at_alt_m=50.0)
    for r in (over, half):
        assert r["landed"] and abs(r["vz"]) <= 1.0 and abs(r["miss_m"]) <= 20.0
    assert math.isclose(over["control"].thrust_ratio_q15 / 32768.0, 1.15, abs_tol=0.01)
    assert math.isclose(half["control"].thrust_ratio_q15 / 32768.0, 0.5, abs_tol=0.01)


def _braking_at(g, nav, h, vz):
    """Braking, re-planned once at height h (the height gate's reference)."""
    g.phase = G.PH_BRAKING
    g.engine_on = True
    g.tgo_ms = 40_000
    nav.site_alt_mm = h
    nav.vz_mm_s = vz
    g._k = g.cfg.replan_cycles - 1
    g.update(nav, False)


def test_a_height_drop_below_the_prediction_is_held_for_3_s_then_believed():
    # museum 02: nav's site height fell 3 km in one cycle (2.1 km -> -0.9 km)
    # at 91 m/s down; the old guidance started the terminal descent there
    cfg, g, c = _pair()
    nav = _Nav()
    _braking_at(g, nav, 2_000_000, -90_000)
    assert g._h_mm == 2_000_000 and g.h_jumps == 0
    nav.site_alt_mm = -900_000
    held = 0
    while g.phase == G.PH_BRAKING and held < 100:
        for _ in range(cfg.replan_cycles):
            g.update(nav, False)
        held += 1
        if held == 1:
            # the prediction: h + vz * 0.1 s, 0.1 s = 102 / 1024 s:
            # 2,000,000 + floor(-90,000 * 102 / 1024) = 2,000,000 - 8,965
            assert g._h_mm == 1_991_035
            assert g.h_jumps == 1
    # 3 s at 10 Hz held (30 re-plans), believed at the 31st: terminal descent
    assert held == 31
    assert g.phase == G.PH_TERMINAL


def test_a_height_drop_within_the_tolerance_is_believed_at_once():
    cfg, g, c = _pair()
    nav = _Nav()
    _braking_at(g, nav, 2_000_000, 0)
    # tolerance at 2 km: 150 m + 2,000 m / 4 = 650 m
    nav.site_alt_mm = 2_000_000 - 650_000
    for _ in range(cfg.replan_cycles):
        g.update(nav, False)
    assert g._h_mm == 1_350_000 and g.h_jumps == 0
    nav.site_alt_mm = 1_350_000 - 150_000 - 337_501      # 1 mm beyond 150 m + 1,350 m / 4
    for _ in range(cfg.replan_cycles):
        g.update(nav, False)
    assert g._h_mm == 1_350_000 and g.h_jumps == 1


def test_a_height_rise_is_believed_at_once():
    cfg, g, c = _pair()
    nav = _Nav()
    _braking_at(g, nav, 4_000_000, -50_000)
    nav.site_alt_mm = 6_900_000          # nav learns the site is 3 km lower (museum 02's cliff)
    for _ in range(cfg.replan_cycles):
        g.update(nav, False)
    assert g._h_mm == 6_900_000 and g.h_jumps == 0


def test_terminal_descent_more_than_twice_the_gate_high_returns_to_braking():
    cfg, g, c = _pair()
    nav = _Nav()
    nav.vz_mm_s = -80_000
    for h in (2 * cfg.terminal_alt_mm, 2 * cfg.terminal_alt_mm + 1, 1_800_000):
        g.phase = G.PH_TERMINAL
        g.pitch_limit_bau = cfg.terminal_pitch_bau
        nav.site_alt_mm = h
        for _ in range(cfg.replan_cycles):
            g.update(nav, False)
        if h == 2 * cfg.terminal_alt_mm:
            assert g.phase == G.PH_TERMINAL
        elif h == 2 * cfg.terminal_alt_mm + 1:
            # re-planned: 25 m to the gate at 80 m/s is inside the high gate
            assert g.phase == G.PH_APPROACH
    # 1.8 km up: braking again, with the braking attitude limit, re-planned
    # with T from a constant deceleration to the gate (2 x 1,775 m / 80 m/s =
    # 44.4 s; 1.024 x that in the firmware's Q11 division), less one period
    assert g.phase == G.PH_BRAKING
    assert g.pitch_limit_bau == cfg.braking_pitch_bau
    assert g.engine_on
    assert abs(g.tgo_ms - 45_340) <= 45_340 // 32


def test_safe_descent_is_fast_enough_for_the_propellant_left():
    # 1,370 m above the site with 40 kg left (38 kg above the 2 kg reserve):
    # hover costs m g / c per second, so the propellant buys
    # t = 38/380 * c/g = 190.6 s of it; the safe rate is 5/4 h / t = 8.98 m/s
    # (the old 1.5 m/s took 913 s: museum 02 hovered 250 s until empty)
    cfg, g, c = _pair()
    g.phase = G.PH_SAFE
    c.mass_mg = c.dry_mass_mg + 40_000_000
    nav = _Nav()
    nav.site_alt_mm = 1_370_000
    for _ in range(2 * cfg.replan_cycles):
        g.update(nav, False)
    cmm = cfg.isp_s * 9.807
    t = 38.0 / 380.0 * cmm / (cfg.gravity_mm_s2 / 1000.0)
    v = 1.25 * 1370.0 / t
    assert abs(-g.vz_ref_mm_s - v * 1000) <= 0.005 * v * 1000, (g.vz_ref_mm_s, v)
    # the descent at that rate uses 4/5 of the usable propellant
    assert 1370.0 / (-g.vz_ref_mm_s / 1000.0) <= 0.81 * t


def test_safe_descent_near_the_ground_keeps_the_constant_rate():
    cfg, g, c = _pair()
    g.phase = G.PH_SAFE
    nav = _Nav()
    nav.site_alt_mm = 100_000            # full tanks: 1.25 * 100 m / 1520 s << 1.5 m/s
    for _ in range(2 * cfg.replan_cycles):
        g.update(nav, False)
    assert g.vz_ref_mm_s == -cfg.safe_vz_mm_s


# --- shadow: the beam turned down over unseen ground (museum 01) ---------------
# lead = v * (|pitch - beam| / rate + 2 s), v * t / 1024 in the firmware: at
# 50 m/s from the 45 deg braking pitch (8192 bau) at 20 deg/s (3641 bau/s):
# t = 8192 * 1000 // 3641 + 2000 = 4249 ms, lead = (50000 >> 4) * 4249 >> 6
# = 207,470 mm, plus 1/16: 220,436 mm.
_LEAD_45 = 207470 + (207470 >> 4)


def _braking_toward_a_shadow(shadow_mm, beam_bau=0):
    cfg, g, c = _pair(altimeter_beam_bau=beam_bau)
    nav = _Nav()
    nav.vx_mm_s = 50000
    nav.shadow_dir = 1
    nav.shadow_mm = shadow_mm
    c.pitch_cmd_bau = -8192
    _braking_at(g, nav, 1_500_000, -100_000)
    assert g._a[1] > 0                               # the plan brakes the descent too
    return cfg, g, c, nav


def test_braking_turns_the_beam_down_when_a_shadow_is_within_the_slew_lead():
    assert 8192 * 1000 // 3641 + 2000 == 4249
    cfg, g, c, nav = _braking_toward_a_shadow(_LEAD_45)
    assert g.looking and g.looks == 1
    assert g.pitch_limit_bau == 0 and not g.keep_horizontal
    assert g.accel_x_cmd_mm_s2 == 0
    c._geometry(g)
    assert c.pitch_ref_bau == 0                      # beam (mounted along -z) at the nadir


def test_a_shadow_beyond_the_slew_lead_leaves_the_braking_attitude():
    cfg, g, c, nav = _braking_toward_a_shadow(_LEAD_45 + 1)
    assert not g.looking
    assert g.pitch_limit_bau == cfg.braking_pitch_bau and g.keep_horizontal
    assert g.accel_x_cmd_mm_s2 == g._a[0] != 0       # the plan's horizontal command


def test_once_turned_down_the_beam_stays_down_until_the_shadow_ends():
    cfg, g, c, nav = _braking_toward_a_shadow(100000)
    c.pitch_cmd_bau = 0                              # the lead shrinks to v * 2 s
    nav.shadow_mm = 150000                           # beyond 100 m: still down
    for _ in range(cfg.replan_cycles):
        g.update(nav, False)
    assert g.looking and g.pitch_limit_bau == 0
    nav.shadow_dir = 0                               # nav: seen level with the far side
    nav.shadow_mm = 0x3FFFFFFF
    for _ in range(cfg.replan_cycles):
        g.update(nav, False)
    assert not g.looking and g.looks == 1
    assert g.pitch_limit_bau == cfg.braking_pitch_bau and g.keep_horizontal


def test_a_shadow_behind_the_direction_of_flight_is_ignored():
    cfg, g, c = _pair()
    nav = _Nav()
    nav.vx_mm_s = 50000
    nav.shadow_dir = -1
    nav.shadow_mm = 0
    _braking_at(g, nav, 3_000_000, -50_000)
    assert not g.looking and g.pitch_limit_bau == cfg.braking_pitch_bau


def test_a_beam_mounted_off_the_thrust_axis_is_turned_down_by_its_mounting_angle():
    # beam 2000 bau (11 deg) toward body +x: the nadir at pitch +2000 bau
    cfg, g, c, nav = _braking_toward_a_shadow(0, beam_bau=2000)
    assert g.looking and g.pitch_limit_bau == 2000
    assert g.accel_x_cmd_mm_s2 == g.accel_z_cmd_mm_s2 > 0
    c._geometry(g)
    assert c.pitch_ref_bau == 2000
