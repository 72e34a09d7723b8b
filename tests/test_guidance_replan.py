"""Guidance's re-plan (braking and approach), pinned on hand-computed cases.

`_plan` is the ZEM/ZEV polynomial guidance law to the low gate: with
T the time-to-go, the start and end accelerations are
    a0x = 6 dx/T^2 - 4 vx/T              aex = -6 dx/T^2 + 2 vx/T
    a0z = -6 dh/T^2 - 4 vz/T - 2 vf/T + g aez = 6 dh/T^2 + 2 vz/T + 4 vf/T + g
(vf = -terminal_vz, the speed wanted at the gate), computed as floors of
Q16 products with 1/T and clamped to +/-100 m/s^2.

`_replan` turns a plan into decisions; here `_plan` is replaced by a stub
that returns chosen accelerations, so each decision is pinned at its
boundary: the plan's inputs and their clamps, feasibility (the band of the
available acceleration, in (8 mm/s^2)^2 units), the time-to-go walk,
ignition, the high gate, the published commands and the low gate.

The nominal configuration with an available acceleration of 4,000 mm/s^2
gives (floors, checked in test_band_figures_for_4000_mm_s2):
    lim = 4000 x 29491 / 2^15 = 3599    lim2 = (3599 >> 3)^2 = 449^2 = 201,601
    app = 4000 x 26214 / 2^15 = 3199    app2 = 399^2 = 159,201
    full2 = 500^2 = 250,000             ign = 3599 x 9830 / 2^15 = 1079, 134^2 = 17,956
    lo2 = lim2 - lim2/4 = 151,201 = 215^2 + 324^2
"""
import pytest

from host_tools.sim.gncref import NavInput
from lander import guidance as G
from lander.config import Config
from lander.control import Control
from tests.app_fakes import drain_events, fresh_event_ring  # noqa: F401

pytestmark = pytest.mark.usefixtures("fresh_event_ring")

POS = 0x3FFFFFF
VEL = 0xFFFFF


class _Ctrl:
    def __init__(self, a_full):
        self.a_full_mm_s2 = a_full


def _guid(phase=G.PH_BRAKING, tgo_ms=20000, a=(0, 0, 0, 0), a_full=4000, look=False, **cfg):
    """A guidance whose plan returns `a` (a0x, a0z, aex, aez) and records its inputs."""
    g = G.Guidance(Config(**cfg))
    if a_full is not None:
        g.attach_control(_Ctrl(a_full))
    g.phase = phase
    g.tgo_ms = tgo_ms
    g.plans = []

    def plan(dx, dh, vx, vz, t_ms):
        g.plans.append((dx, dh, vx, vz, t_ms))
        g._a[0], g._a[1], g._a[2], g._a[3] = a

    g._plan = plan
    g._look = lambda nav, vx: look
    g.looking = look          # _replan asks _look only with a shadow named or the beam down
    drain_events()
    return g


def _nav(x_mm=0, vx=0, vz=0):
    nav = NavInput()
    nav.x_mm, nav.vx_mm_s, nav.vz_mm_s = x_mm, vx, vz
    return nav


H = 525000          # 500 m above the low gate (25 m)


# --- the plan itself ------------------------------------------------------------

def _plan(dx, dh, vx, vz, t_ms, **cfg):
    g = G.Guidance(Config(**cfg))
    g._plan(dx, dh, vx, vz, t_ms)
    return list(g._a)


def test_plan_is_the_zem_zev_law_exactly_when_one_over_t_is_exact():
    # T = 8 s: 1/T = 8192 / 2^16 exactly. 6 dx/T^2 = 75,000, 4 vx/T = -10,000;
    # 6 dh/T^2 = 30,000, 4 vz/T = -20,000, 2 vf/T = -500, g = 1,620
    assert _plan(800000, 320000, -20000, -40000, 8000) == [85000, -7880, -80000, 20620]


def test_plan_uses_the_floor_of_each_q16_product():
    # T = 10 s: 1/T = 6553 / 2^16 (floored); dx/T = floor(99.99) = 99, a0x =
    # floor(594 x 6553 / 2^16) = 59 (the exact law says 60); negative: -100, -60
    a = _plan(1000, 0, 0, 0, 10000, terminal_vz_mm_s=0)
    assert (a[0], a[2]) == (59, -60)
    a = _plan(-1000, 0, 0, 0, 10000, terminal_vz_mm_s=0)
    assert (a[0], a[2]) == (-60, 59)
    # vertical: 6 dh/T^2 with dh = 1000: -59 at the start, +59 at the end, plus g
    a = _plan(0, 1000, 0, 0, 10000, terminal_vz_mm_s=0)
    assert (a[1], a[3]) == (-60 + 1620, 59 + 1620)


def test_plan_accelerations_clamp_at_100_m_s2_both_ways():
    # 6 x 1,000,000 / 64 + 4 x 40,000 / 8 = 113,750 -> 100,000
    assert _plan(1000000, 0, -40000, 0, 8000)[0] == 100000
    assert _plan(-1000000, 0, 40000, 0, 8000)[0] == -100000
    # end: -6 dx/T^2 + 2 vx/T = -93,750 - 10,000
    assert _plan(1000000, 0, -40000, 0, 8000)[2] == -100000
    assert _plan(-1000000, 0, 40000, 0, 8000)[2] == 100000
    # vertical, dh = 2 km at T = 8 s: -187,500 + 500 + g / 187,500 - 1,000 + g
    a = _plan(0, 2000000, 0, 0, 8000)
    assert (a[1], a[3]) == (-100000, 100000)
    a = _plan(0, -2000000, 0, 0, 8000)
    assert (a[1], a[3]) == (100000, -100000)
    # just inside: 6 x 1,066,664 / 64 = 99,999.75 -> 99,999 (not clamped)
    assert _plan(1066664, 0, 0, 0, 8000)[0] == 99999


# --- the re-plan's inputs -----------------------------------------------------------

def test_band_figures_for_4000_mm_s2():
    cfg = Config()
    assert (4000 * cfg.accel_band_q15) >> 15 == 3599
    assert (4000 * cfg.approach_band_q15) >> 15 == 3199
    assert (3599 * cfg.ignite_q15) >> 15 == 1079
    assert 201601 - (201601 >> 2) == 151201 == 215 ** 2 + 324 ** 2


def test_replan_plans_from_the_site_error_the_height_above_the_gate_and_time_to_go_less_a_period():
    g = _guid(tgo_ms=20000)
    g.site_x_mm = 3000000
    g._replan(_nav(x_mm=1000000, vx=30000, vz=-20000), H)
    assert g.plans == [(2000000, 500000, 30000, -20000, 19900)]   # 5 cycles at 50 Hz = 100 ms


def test_replan_clamps_its_inputs_to_67_km_and_1_km_s():
    g = _guid()
    g.site_x_mm = 60000000
    g._replan(_nav(x_mm=-60000000, vx=VEL + 1, vz=-VEL - 1), POS + 25000 + 5)
    assert g.plans[-1][:4] == (POS, POS, VEL, -VEL)
    g.site_x_mm = -60000000
    g._replan(_nav(x_mm=60000000, vx=-VEL - 1, vz=VEL + 1), H)
    assert g.plans[-1][:4] == (-POS, 500000, -VEL, VEL)
    g._replan(_nav(x_mm=0, vx=VEL, vz=-VEL), POS + 25000)
    assert g.plans[-1][1:4] == (POS, VEL, -VEL)


def test_replan_time_to_go_is_at_least_2_1_s():
    g = _guid(tgo_ms=2150, a=(0, 1620, 0, 1620))
    g._replan(_nav(), H)
    assert g.plans[-1][4] == 2100


def test_replan_at_or_below_the_low_gate_enters_the_terminal_descent_without_a_plan():
    g = _guid(tgo_ms=20000)
    g._iz, g.keep_horizontal, g.engine_on = 55, True, False
    g._margin_due = False
    g._replan(_nav(), 25000)                      # exactly at the gate: dh = 0
    assert g.plans == [] and g.phase == G.PH_TERMINAL
    assert (g._iz, g.keep_horizontal, g.engine_on, g.pitch_limit_bau) == (0, False, True, 1820)
    assert g.replans == 0 and g.tgo_ms == 20000 and g._margin_due
    assert drain_events() == [(G.EV_PHASE, G.PH_TERMINAL)]
    g = _guid()
    g._replan(_nav(), 25001)                      # 1 mm above: a plan
    assert g.plans[-1][1] == 1 and g.phase == G.PH_BRAKING


# --- feasibility ------------------------------------------------------------------

@pytest.mark.parametrize("a, feasible", [
    ((0, 3592, 0, 3192), 1),       # p0 = lim2, pe = app2: on both edges
    ((0, 3600, 0, 3192), 0),       # p0 = 450^2 > lim2
    ((0, 3592, 0, 3200), 0),       # pe = 400^2 > app2 (the gate within the approach band)
    ((3592, 0, 3192, 0), 1),       # the same sizes horizontally, thrust up at zero
    ((0, -1, 0, 100), 0),          # thrust down at the start
    ((0, 100, 0, -1), 0),          # thrust down at the gate
    ((0, 100, 3200, 8), 0),        # pe = 400^2 + 1^2 from both end components
    ((0, 100, 3192, 8), 0),        # pe = 399^2 + 1^2 = app2 + 1
    ((0, 100, 3192, 7), 1),        # pe = 399^2 + 0^2 = app2
])
def test_braking_plan_is_feasible_inside_the_band_with_the_gate_inside_the_approach_band(a, feasible):
    g = _guid(phase=G.PH_BRAKING, a=a)
    g._replan(_nav(), H)
    assert g.plan_feasible == feasible


@pytest.mark.parametrize("a, feasible", [
    ((0, 3592, 0, 3200), 1),       # pe above app2 but within lim2: the approach's peak
    ((0, 3192, 0, 3592), 1),
    ((0, 3192, 0, 3600), 0),       # the peak is the end's
    ((0, 3600, 0, 3192), 0),
    ((0, -1, 0, 3192), 0),
])
def test_approach_plan_is_feasible_when_its_peak_is_inside_the_band(a, feasible):
    g = _guid(phase=G.PH_APPROACH, tgo_ms=8000, a=a)
    g._replan(_nav(), H)
    assert g.plan_feasible == feasible


def test_without_a_control_stage_the_band_is_that_of_twice_gravity():
    # 3,240 x 29491 / 2^15 = 2915, (2915 >> 3)^2 = 364^2
    g = _guid(phase=G.PH_APPROACH, tgo_ms=8000, a=(0, 364 * 8, 0, 0), a_full=None)
    g._replan(_nav(), H)
    assert g.plan_feasible == 1
    g = _guid(phase=G.PH_APPROACH, tgo_ms=8000, a=(0, 365 * 8, 0, 0), a_full=None)
    g._replan(_nav(), H)
    assert g.plan_feasible == 0


def test_an_available_acceleration_above_32767_counts_as_32767():
    # lim = 32767 x 29491 >> 15 = 29490, (29490 >> 3)^2 = 3686^2
    g = _guid(phase=G.PH_APPROACH, tgo_ms=8000, a=(0, 3686 * 8, 0, 0), a_full=50000)
    g._replan(_nav(), H)
    assert g.plan_feasible == 1
    g = _guid(phase=G.PH_APPROACH, tgo_ms=8000, a=(0, 3687 * 8, 0, 0), a_full=50000)
    g._replan(_nav(), H)
    assert g.plan_feasible == 0


def test_an_available_acceleration_of_32768_counts_as_32767():
    # with a band of 32760 / 2^15: lim = 32767 x 32760 >> 15 = 32759 (>> 3: 4094);
    # 32768 would give 32760 (>> 3: 4095)
    for a_full in (32768, 40000):
        g = _guid(phase=G.PH_APPROACH, tgo_ms=8000, a=(0, 4094 * 8, 0, 0), a_full=a_full,
                  accel_band_q15=32760)
        g._replan(_nav(), H)
        assert g.plan_feasible == 1
        g = _guid(phase=G.PH_APPROACH, tgo_ms=8000, a=(0, 4095 * 8, 0, 0), a_full=a_full,
                  accel_band_q15=32760)
        g._replan(_nav(), H)
        assert g.plan_feasible == 0


def test_a_negative_available_acceleration_makes_every_thrusting_plan_infeasible():
    g = _guid(phase=G.PH_APPROACH, tgo_ms=8000, a=(0, 8, 0, 0), a_full=-5)
    g._replan(_nav(), H)
    assert g.plan_feasible == 0
    g = _guid(phase=G.PH_APPROACH, tgo_ms=8000, a=(0, 7, 0, 0), a_full=-5)
    g._replan(_nav(), H)
    assert g.plan_feasible == 1                   # 7 >> 3 = 0: zero demand fits a zero band


# --- the time-to-go walk ------------------------------------------------------------

def test_infeasible_plan_lengthens_time_to_go_by_a_32nd():
    g = _guid(tgo_ms=20000, a=(0, 3600, 0, 0))
    g._replan(_nav(), H)
    assert g.tgo_ms == 19900 + 621                # 19,900 >> 5
    g = _guid(tgo_ms=7100, a=(0, 3600, 0, 0))
    g._replan(_nav(), H)
    assert g.tgo_ms == 7000 + 250                 # 7000 >> 5 = 218: at least 250 ms


def test_time_to_go_stops_growing_at_600_s():
    g = _guid(tgo_ms=600100, a=(0, 3600, 0, 0))
    g._replan(_nav(), H)
    assert g.tgo_ms == 600000
    g = _guid(tgo_ms=600099, a=(0, 3600, 0, 0))
    g._replan(_nav(), H)
    assert g.tgo_ms == 599999 + (599999 >> 5)


def test_feasible_plan_below_the_band_floor_shortens_time_to_go():
    g = _guid(tgo_ms=20000, a=(1720, 2591, 0, 201))     # p0 = 215^2 + 323^2 < lo2
    g._replan(_nav(), H)
    assert g.tgo_ms == 19900 - 621
    for a in ((1720, 2592, 0, 201),                     # p0 = lo2: inside the band
              (0, 200, 0, 201),                         # start thrust not above 200
              (0, 201, 0, 200)):                        # gate thrust not above 200
        g = _guid(tgo_ms=20000, a=a)
        g._replan(_nav(), H)
        assert g.tgo_ms == 19900, a
    g = _guid(tgo_ms=20000, a=(0, 201, 0, 201))             # both just above 200
    g._replan(_nav(), H)
    assert g.tgo_ms == 19900 - 621


def test_shortened_time_to_go_stops_at_2_1_s_and_enters_the_terminal_descent():
    g = _guid(tgo_ms=2400, a=(0, 1000, 0, 1000))
    g._replan(_nav(), H)
    assert g.tgo_ms == 2100 and g.phase == G.PH_TERMINAL
    assert g.replans == 1 and g.cmd_seq == 1
    assert drain_events() == [(G.EV_PHASE, G.PH_APPROACH), (G.EV_PHASE, G.PH_TERMINAL)]


def test_approach_lengthens_time_to_go_by_250_ms_when_a_peak_leaves_its_band():
    for a in ((0, 3192, 0, 3200),       # the gate above the approach band
              (0, 4008, 0, 0)):         # the start above full thrust: 501^2 > 500^2
        g = _guid(phase=G.PH_APPROACH, tgo_ms=8000, a=a)
        g._replan(_nav(), H)
        assert g.tgo_ms == 7900 + 250, a
    for a in ((0, 3192, 0, 3192), (0, 4000, 0, 0), (0, 8, 0, 8)):
        g = _guid(phase=G.PH_APPROACH, tgo_ms=8000, a=a)    # never shortened in approach
        g._replan(_nav(), H)
        assert g.tgo_ms == 7900, a
    g = _guid(phase=G.PH_APPROACH, tgo_ms=600100, a=(0, 4008, 0, 0))
    g._replan(_nav(), H)
    assert g.tgo_ms == 600000


# --- phases and ignition ----------------------------------------------------------------

def test_coast_ignites_when_the_plan_needs_the_ignition_fraction_of_the_band():
    g = _guid(phase=G.PH_COAST, tgo_ms=20000, a=(0, 1072, 0, 3600))    # p0 = 134^2 = ign^2
    g._replan(_nav(vz=-30000), H)
    assert g.phase == G.PH_BRAKING and g.engine_on is True and g.replans == 1
    assert drain_events() == [(G.EV_IGNITION, 20521), (G.EV_PHASE, G.PH_BRAKING)]
    assert (g.accel_x_cmd_mm_s2, g.accel_z_cmd_mm_s2) == (0, 1072)


def test_coast_below_the_ignition_demand_keeps_the_engine_off_with_zero_commands():
    g = _guid(phase=G.PH_COAST, tgo_ms=20000, a=(1064, 0, 0, 3600))    # 133^2 < 134^2
    g.accel_x_cmd_mm_s2, g.accel_z_cmd_mm_s2, g.engine_on = 5, 6, True
    g._replan(_nav(), H)
    assert g.phase == G.PH_COAST and g.engine_on is False
    assert (g.accel_x_cmd_mm_s2, g.accel_z_cmd_mm_s2, g.cmd_seq) == (0, 0, 0)
    assert g.tgo_ms == 20521 and g.replans == 1 and drain_events() == []


def test_coast_ignites_at_the_approach_time_to_go_and_passes_the_high_gate_at_once():
    g = _guid(phase=G.PH_COAST, tgo_ms=10100, a=(0, 8, 0, 200))     # feasible, no walk
    g._replan(_nav(), H)
    assert g.phase == G.PH_APPROACH and g.engine_on is True
    assert drain_events() == [(G.EV_IGNITION, 10000), (G.EV_PHASE, G.PH_BRAKING),
                              (G.EV_PHASE, G.PH_APPROACH)]
    g = _guid(phase=G.PH_COAST, tgo_ms=10101, a=(0, 8, 0, 200))
    g._replan(_nav(), H)
    assert g.phase == G.PH_COAST and g.engine_on is False


def test_braking_passes_the_high_gate_at_the_approach_time_to_go():
    g = _guid(phase=G.PH_BRAKING, tgo_ms=10100, a=(0, 3200, 0, 3000))   # in the band: no walk
    g._replan(_nav(), H)
    assert g.phase == G.PH_APPROACH and drain_events() == [(G.EV_PHASE, G.PH_APPROACH)]
    g = _guid(phase=G.PH_BRAKING, tgo_ms=10101, a=(0, 3200, 0, 3000))
    g._replan(_nav(), H)
    assert g.phase == G.PH_BRAKING and drain_events() == []


# --- the commands it publishes ------------------------------------------------------------

def test_powered_replan_publishes_the_plan_start_and_the_rate_it_leads_to():
    g = _guid(phase=G.PH_BRAKING, a=(-2500, 1000, 0, 3000))
    g._margin_due = False
    g._replan(_nav(vz=-20000), H)
    assert (g.accel_x_cmd_mm_s2, g.accel_z_cmd_mm_s2) == (-2500, 1000)
    assert g.vz_ref_mm_s == -20000 + (1000 - 1620) * 100 // 1000 == -20062
    assert (g.engine_on, g.keep_horizontal, g.pitch_limit_bau) == (True, True, 7282)
    assert (g.cmd_seq, g.replans, g._margin_due) == (1, 1, True)   # the new plan's margin due


def test_replan_counts_every_plan_and_steps_the_rate_by_the_plan_over_a_period():
    g = _guid(phase=G.PH_BRAKING, a=(0, 11620, 0, 3000))
    g.replans, g.cmd_seq = 41, 9
    g._replan(_nav(vz=-5000), H)
    assert (g.replans, g.cmd_seq) == (42, 10)
    assert g.vz_ref_mm_s == -5000 + 1000          # (11,620 - 1,620) mm/s^2 for 0.1 s
    g = _guid(phase=G.PH_BRAKING, a=(0, 1, 0, 3000))
    g._replan(_nav(), H)
    assert g.accel_z_cmd_mm_s2 == 1               # the smallest upward command is kept


def test_powered_replan_never_commands_thrust_down_and_floors_the_rate_step():
    g = _guid(phase=G.PH_BRAKING, a=(0, -1005, 0, 3000))
    g._replan(_nav(vz=-20000), H)
    assert g.accel_z_cmd_mm_s2 == 0
    assert g.vz_ref_mm_s == -20000 - 263              # floor(-262.5)
    g = _guid(phase=G.PH_BRAKING, a=(0, 0, 0, 3000))
    g._replan(_nav(vz=0), H)
    assert (g.accel_z_cmd_mm_s2, g.vz_ref_mm_s) == (0, -162)


@pytest.mark.parametrize("beam, a0z, ax, limit", [
    (2000, 1500, 1500, 2000),     # beam forward: the horizontal command equals the vertical (45 deg)
    (-2000, 1500, -1500, 2000),   # beam aft: the other way
    (2000, 0, 1, 2000),           # no vertical thrust: the smallest step
    (2000, -7, 1, 2000),
    (0, 1500, 0, 0),              # beam along the thrust axis: no pitch
    (1, 1500, 1500, 1),           # the smallest forward beam angle is still forward
])
def test_looking_at_unseen_ground_points_the_beam_down_and_gives_up_the_horizontal_channel(
        beam, a0z, ax, limit):
    g = _guid(phase=G.PH_BRAKING, a=(-2500, a0z, 0, 3000), look=True, altimeter_beam_bau=beam)
    g._replan(_nav(), H)
    assert (g.accel_x_cmd_mm_s2, g.pitch_limit_bau, g.keep_horizontal) == (ax, limit, False)
    assert g.accel_z_cmd_mm_s2 == (a0z if a0z > 0 else 0)


def test_not_looking_restores_the_braking_attitude_limit():
    g = _guid(phase=G.PH_APPROACH, tgo_ms=8000, a=(-2500, 1500, 0, 3000), braking_pitch_bau=5000)
    g.pitch_limit_bau = 123
    g._replan(_nav(), H)
    assert (g.pitch_limit_bau, g.keep_horizontal, g.accel_x_cmd_mm_s2) == (5000, True, -2500)


# --- the cycle around the re-plan -----------------------------------------------------

def test_touchdown_lands_with_the_engine_off_and_zero_commands_every_cycle_after():
    g = G.Guidance(Config())
    g.phase, g.engine_on, g.accel_x_cmd_mm_s2, g.accel_z_cmd_mm_s2 = G.PH_TERMINAL, True, -300, 1700
    drain_events()
    g.update(_nav(), True)
    assert (g.phase, g.engine_on, g.accel_x_cmd_mm_s2, g.accel_z_cmd_mm_s2) == (G.PH_LANDED, False, 0, 0)
    assert drain_events() == [(G.EV_PHASE, G.PH_LANDED)]
    g.engine_on, g.accel_x_cmd_mm_s2, g.accel_z_cmd_mm_s2 = True, 5, 5
    g.update(_nav(), False)                       # landed stays landed
    assert (g.engine_on, g.accel_x_cmd_mm_s2, g.accel_z_cmd_mm_s2) == (False, 0, 0)
    assert drain_events() == []


def test_a_site_height_far_below_the_ground_stays_in_the_terminal_descent():
    # clamped to -67 km: below the gate, so no climb-out (which a height of
    # +67 km would start)
    cfg = Config()
    g = G.Guidance(cfg)
    g.attach_control(Control(cfg))
    g.phase, g._k = G.PH_TERMINAL, 0
    nav = _nav()
    nav.site_alt_mm = -(1 << 28)
    drain_events()
    g.update(nav, False)
    assert g.phase == G.PH_TERMINAL and g.replans == 0
    assert g.vz_ref_mm_s == -700                  # the ramp at the ground: touchdown speed


def test_no_shadow_and_the_beam_not_down_does_not_ask_look():
    g = _guid(phase=G.PH_BRAKING, a=(-2500, 1500, 0, 3000))
    asked = []
    g._look = lambda nav, vx: asked.append(vx) or True
    g._replan(_nav(vx=700), H)
    assert (asked, g.keep_horizontal, g.accel_x_cmd_mm_s2) == ([], True, -2500)
    nav = _nav(vx=700)
    nav.shadow_dir = 1
    g._replan(nav, H)
    assert asked == [700] and not g.keep_horizontal
