"""Guidance's and control's start-up state and control's 10 Hz terms, pinned
on hand-computed values from the configuration.

The nominal vehicle: 340 kg dry + 80 kg propellant, 3,000 N, Isp 315 s
(c = 315 x 9807 = 3,089,205 mm/s), 50 Hz, re-plan every 5 cycles, engine lag
150 ms, lunar gravity 1,620 mm/s^2, low gate 25 m at 2 m/s, touchdown 0.7 m/s.
"""
import pytest

from lander import guidance as G
from lander.config import Config
from lander.control import EV_THRUST_RATIO, Control, _mg
from tests.app_fakes import drain_events, fresh_event_ring  # noqa: F401

pytestmark = pytest.mark.usefixtures("fresh_event_ring")

DRY_MG = 340000000
FULL_MG = 420000000


def _q10(mass_mg):
    """kg x 1024 as the firmware defines it: mass_mg x 1074 / 2^20, floored."""
    return (mass_mg * 1074) >> 20


# --- guidance at start-up -------------------------------------------------------------

def test_new_guidance_coasts_with_nothing_commanded():
    g = G.Guidance(Config())
    assert (g.phase, g.vz_ref_mm_s, g.accel_z_cmd_mm_s2, g.accel_x_cmd_mm_s2) == (G.PH_COAST, 0, 0, 0)
    assert (g.site_x_mm, g.propellant_margin_g, g.engine_on, g.aborted) == (3000000, 0, False, False)
    assert (g.looking, g.looks, g.cmd_seq, g.keep_horizontal) == (False, 0, 0, False)
    assert (g.replans, g.plan_feasible, g.hover_ms, g.h_jumps) == (0, 0, 0, 0)
    assert (g._ctrl, g._iz, list(g._a)) == (None, 0, [0, 0, 0, 0])
    assert (g._h_mm, g._h_valid, g._jump_ms) == (0, False, 0)


def test_new_guidance_first_plan_assumes_150_s_to_go_and_replans_on_its_first_cycle():
    g = G.Guidance(Config())
    assert g.tgo_ms == 150000                     # a quarter of the 600 s cap
    # replan_cycles + 2 - 1: the next cycle is the 2nd past due, a re-plan
    # with or without an altimeter frame
    assert g._k == 6 and not g._margin_due


def test_new_guidance_derives_its_periods_and_terminal_constants_from_the_configuration():
    g = G.Guidance(Config())
    assert (g._g, g._period_ms, g._replan_ms, g._replan_q10) == (1620, 20, 100, 102)
    assert g._safe_v == 1500
    # ramp slope (2000 - 700) / 25000 per s in Q20: floor(1300 x 2^20 / 25000)
    assert g._ramp_q20 == 54525
    # terminal time ~ gate height / mean speed: 2000 x 25000 // 2700
    assert g._term_ms == 18518
    assert g._c_mm_s == 3089205
    assert g._hover_ms == (3089205 // 1620) * 1000 == 1906000


def test_guidance_ramp_is_flat_when_the_gate_is_not_faster_than_touchdown():
    g = G.Guidance(Config(terminal_vz_mm_s=700, touchdown_vz_mm_s=700))
    assert g._ramp_q20 == 0 and g._term_ms == 2000 * 25000 // 1400
    g = G.Guidance(Config(terminal_vz_mm_s=701, touchdown_vz_mm_s=700))
    assert g._ramp_q20 == (1 << 20) // 25000


def test_guidance_periods_are_whole_milliseconds_floored():
    g = G.Guidance(Config(rate_hz=11))            # 1000 / 11 = 90.9
    assert (g._period_ms, g._replan_ms, g._replan_q10) == (90, 450, 460)


def test_guidance_ramp_never_climbs_when_touchdown_is_faster_than_the_gate():
    g = G.Guidance(Config(terminal_vz_mm_s=700, touchdown_vz_mm_s=701))
    assert g._ramp_q20 == 0


def test_guidance_terminal_time_guard_against_a_zero_mean_speed():
    # config bounds touchdown_vz_mm_s to >= 100; guidance still guards a sum of 0
    g = G.Guidance(Config(terminal_vz_mm_s=2000, touchdown_vz_mm_s=-2000))
    assert g._term_ms == 0
    g = G.Guidance(Config(terminal_vz_mm_s=2000, touchdown_vz_mm_s=-1999))
    assert g._term_ms == 2000 * 25000


@pytest.mark.parametrize("braking, limit", [
    (8192, 7282),          # above the vehicle's limit: the vehicle's
    (7282, 7282),          # equal: the vehicle's
    (7281, 7281),          # below: the braking limit
    (1, 1),
    (0, 7282),             # none set: the vehicle's
])
def test_braking_attitude_limit_is_the_smaller_of_the_braking_and_vehicle_limits(braking, limit):
    g = G.Guidance(Config(braking_pitch_bau=braking))
    assert (g.pitch_limit_bau, g._brake_lim) == (limit, limit)


def test_set_phase_posts_an_event_only_on_a_change():
    g = G.Guidance(Config())
    drain_events()
    g._set_phase(G.PH_COAST)
    assert g.phase == G.PH_COAST and drain_events() == []
    g._set_phase(G.PH_BRAKING)
    assert g.phase == G.PH_BRAKING and drain_events() == [(G.EV_PHASE, G.PH_BRAKING)]


def test_attach_control_gives_guidance_the_control_stage():
    g = G.Guidance(Config())
    c = Control(Config())
    g.attach_control(c)
    assert g._ctrl is c


# --- control at start-up -------------------------------------------------------------

def test_new_control_holds_the_full_vehicle_mass_and_commands_nothing():
    c = Control(Config())
    assert (c.mass_mg, c.dry_mass_mg, c.mass_kg_q10) == (FULL_MG, DRY_MG, _q10(FULL_MG))
    assert _q10(FULL_MG) == 430183                # 420 kg x 1024 = 430,080 (+0.02 %)
    assert (c.throttle_q15, c.pitch_cmd_bau, c.pitch_ref_bau, c.thrust_cmd_mn) == (0, 0, 0, 0)
    assert (c.accel_cmd_mm_s2, c.thrust_model_q15, c.thrust_ratio_q15) == (0, 0, 32768)
    assert (c.saturated, c.sat_high, c.sat_low) == (0, False, False)
    assert (c._seq, c._k, c._s_meas, c._s_exp, c._n) == (-1, 0, 0, 0, 0)
    assert (c._az_geo, c._mag_geo, c._sec_q14, c._ysum) == (0, 0, 16384, 0)


def test_new_control_propellant_flow_lag_rate_step_and_thrust_split():
    c = Control(Config())
    # mg per mN per 20 ms cycle in Q24: 20000 us x 2^24 / 3,089,205 (3 kN for
    # 0.1 s burns 97.1 g)
    assert c._flow_q24 == 108618 == c._flow_eff_q24
    assert c._lag_q15 == 20000 * 32768 // 150000 == 4369
    assert c._rate_step == 3641 // 50 == 72
    assert (c._tmax_hi, c._tmax_lo) == (91, 3000000 - 91 * 32768)


def test_an_engine_faster_than_a_cycle_follows_at_once_and_a_tiny_rate_limit_still_moves():
    c = Control(Config(engine_lag_ms=20))         # lag == one period
    assert c._lag_q15 == 32767
    c = Control(Config(engine_lag_ms=21))
    assert c._lag_q15 == 20000 * 32768 // 21000
    c = Control(Config(max_pitch_rate_bau_s=49))  # 49 // 50 == 0
    assert c._rate_step == 1


def test_new_control_available_acceleration_is_max_thrust_over_the_full_mass():
    c = Control(Config())
    # T/m = 3e6 x 1024 // 420000 = 7314 (m/s^2 x 1024), x 1000 >> 10 = 7142 mm/s^2
    assert (c._afull_nom, c.a_full_mm_s2) == (7142, 7142)
    assert c._inv_afull == (1 << 29) // 7142 == 75170
    assert (c._inv_hi, c._inv_lo) == (75170 >> 14, 75170 & 0x3FFF) == (4, 9634)


def test_mass_in_milligrams_saturates_at_the_top_of_the_int_range():
    assert _mg(1073740) == 1073740000
    assert _mg(1073741) == 0x3FFFFFFF
    c = Control(Config(dry_mass_g=1000000, propellant_g=73741))
    assert c.mass_mg == 0x3FFFFFFF and c.dry_mass_mg == 1000000000


# --- the mass ------------------------------------------------------------------------

@pytest.mark.parametrize("mass_mg", [0, 1, 1023, 1024, 420000000, 400002454, 0x3D000000 - 1, 0x3D000000,
                                     0x3FFFFFFF, -1, -5000000])
def test_mass_in_kg_q10_is_the_floor_of_mass_times_1074_over_2_20(mass_mg):
    # 400,002,454 mg: the low limb's floor carries into the result (1075 there gives one more)
    c = Control(Config())
    c.mass_mg = mass_mg
    c._update_mass_q()
    assert c.mass_kg_q10 == _q10(mass_mg)


def test_a_window_at_full_throttle_burns_thrust_times_time_over_exhaust_speed():
    c = Control(Config())
    c._burn(5 * 32768)                            # 5 cycles at full throttle: 3 kN for 0.1 s
    used = (15000000 * 108618) >> 24               # 97,112 mg (300 N s / 3089.2 m/s)
    assert used == 97112
    assert c.mass_mg == FULL_MG - used and c.mass_kg_q10 == _q10(FULL_MG - used)


def test_burn_scales_with_the_measured_thrust_ratio():
    c = Control(Config())
    c.thrust_ratio_q15 = 16384
    c._n, c._s_meas, c._s_exp = 0, 0, 0
    c._slow(5)
    assert c._flow_eff_q24 == 108618 >> 1
    c._burn(5 * 32768)
    assert c.mass_mg == FULL_MG - ((15000000 * 54309) >> 24)


def test_burn_of_nothing_changes_nothing_and_the_mass_stops_at_dry():
    c = Control(Config())
    c.mass_kg_q10 = -7                            # not recomputed without a burn
    c._burn(0)
    c._burn(-5)
    assert (c.mass_mg, c.mass_kg_q10) == (FULL_MG, -7)
    c.mass_mg = DRY_MG + 10
    c._burn(5 * 32768)
    assert c.mass_mg == DRY_MG and c.mass_kg_q10 == _q10(DRY_MG)
    c.mass_mg = DRY_MG + 97113                    # one milligram more than the burn
    c._burn(5 * 32768)
    assert c.mass_mg == DRY_MG + 1


# --- the thrust ratio (10 Hz) -----------------------------------------------------------

def _window(c, meas, exp, n=5, cycles=5):
    c._n, c._s_meas, c._s_exp = n, meas, exp
    drain_events()
    c._slow(cycles)
    return drain_events()


def test_thrust_ratio_moves_half_way_to_the_measured_over_modelled_force():
    c = Control(Config())
    assert _window(c, 115000, 100000) == []        # +15 %: r = 37683, half of +4915
    assert c.thrust_ratio_q15 == 32768 + 2457
    assert c.a_full_mm_s2 == (7142 * 35225) >> 15 == 7677
    assert c._flow_eff_q24 == (108618 * 35225) >> 15
    assert c._inv_afull == (1 << 29) // 7677
    assert (c._s_meas, c._s_exp, c._n) == (0, 0, 0)


def test_thrust_ratio_is_clamped_to_0_3_and_2():
    c = Control(Config())
    assert _window(c, 0, 100000) == [(EV_THRUST_RATIO, 32768 + ((9830 - 32768) >> 1))]
    c = Control(Config())
    assert _window(c, 300000, 100000) == [(EV_THRUST_RATIO, 32768 + ((65536 - 32768) >> 1))]
    assert c.a_full_mm_s2 == (7142 * 49152) >> 15


@pytest.mark.parametrize("meas, event", [
    (125000, False),       # r = 40960: a step of exactly 1/8 of the ratio
    (125007, True),        # r = 40962: a step of 4097
    (75000, False),        # r = 24576: -4096
    (74999, True),         # r = 24575: -4097
    (50000, True),         # half thrust (a lost nozzle): -8192
])
def test_thrust_ratio_event_on_a_step_of_more_than_an_eighth(meas, event):
    c = Control(Config())
    r = (meas << 15) // 100000
    new = 32768 + ((r - 32768) >> 1)
    assert _window(c, meas, 100000) == ([(EV_THRUST_RATIO, new)] if event else [])
    assert c.thrust_ratio_q15 == new


def test_thrust_ratio_waits_for_a_full_window_with_a_modelled_force():
    c = Control(Config())
    assert _window(c, 300000, 100000, n=4) == []
    assert c.thrust_ratio_q15 == 32768 and (c._s_meas, c._n) == (0, 0)
    assert _window(c, 300000, 0, n=5) == []
    assert c.thrust_ratio_q15 == 32768
    assert _window(c, 300000, 100000, n=6) != []   # more samples than cycles still count


def test_thrust_ratio_takes_the_actual_window_length():
    # a window of 6 cycles (the re-plan waited a cycle for a frame): 5 burning
    # cycles of 6 do not count, 6 do; a window of 4 counts with 4
    c = Control(Config())
    assert _window(c, 300000, 100000, n=5, cycles=6) == []
    assert c.thrust_ratio_q15 == 32768
    assert _window(c, 300000, 100000, n=6, cycles=6) == [(EV_THRUST_RATIO, 32768 + ((65536 - 32768) >> 1))]
    c = Control(Config())
    assert _window(c, 115000, 100000, n=4, cycles=4) == []
    assert c.thrust_ratio_q15 == 32768 + 2457


def test_thrust_ratio_counts_a_modelled_force_of_one():
    c = Control(Config())
    _window(c, 0, 1)                              # r = 0: clamped to 0.3, half-way there
    assert c.thrust_ratio_q15 == 32768 + ((9830 - 32768) >> 1)


def test_available_acceleration_is_clamped_to_256_and_32767_mm_s2():
    c = Control(Config(max_thrust_mn=1000, dry_mass_g=1000000))    # 1 N on 1,080 kg
    assert (c._afull_nom, c.a_full_mm_s2) == (256, 256)
    assert c._inv_afull == 1 << 21 and (c._inv_hi, c._inv_lo) == (128, 0)
    c = Control(Config(dry_mass_g=1000, propellant_g=0))             # 3 kN on 1 kg
    assert (c._afull_nom, c.a_full_mm_s2) == (32767, 32767)
    c.thrust_ratio_q15 = 65536
    c._slow(5)
    assert c.a_full_mm_s2 == 32767


def test_available_acceleration_uses_a_mass_of_at_least_one_gram():
    c = Control(Config(max_thrust_mn=1000, dry_mass_g=1000, propellant_g=0))
    c.mass_mg = 999                               # 0 g: taken as 1 g (1 N / 1 g, clamped)
    c._slow(5)
    assert c.a_full_mm_s2 == 32767
    c.mass_mg = 0
    c._slow(5)
    assert c.a_full_mm_s2 == 32767
