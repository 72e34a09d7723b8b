"""One cycle of the estimator (Nav.update) on constructed states (the fw-nav
mutation group, docs/mutation.md): the IMU's plausibility, jump and stuck
tests, the two IMUs' disagreement and vote, which IMU is used, free fall and
the calibration removed, the propagation (pitch, the rotation into the world
frame, velocity and height with their clamps, late cycles), the uncertainty
growth, the altimeter's status and the fault flags. Values worked by hand at
50 Hz from the definitions in the comments of lander/estimator.py:

    KA = 13422, NA = 9   (mm/s^2 -> mm/cycle^2 * 2^16: a * 13422 >> 9 = a * 26.21)
    g  = 42468           (1620 mm/s^2 in those units)
    KG = 1750, NG = 13   (urad/s -> bau * 1024 per cycle, rounded by 2^12)

At pitch 0 the rotation is (s, c) = (0, 32767), and a vertical specific force
of 1620 mm/s^2 gives ((1620 * 32767 + 16384) >> 15) = 1620: hovering, the
velocity does not change."""
import math
from array import array

import pytest

from lander import estimator as E
from lander.config import Config
from lander.drivers import DISABLED, INVALID, NOT_READY, OK, REINIT
from tests.app_fakes import drain_events, fresh_event_ring  # noqa: F401
from tests.test_estimator_sincos import sincos

pytestmark = pytest.mark.usefixtures("fresh_event_ring")

G = 1620
DT = 20971                      # one period at 50 Hz, Q20 s


class Imu:
    def __init__(self, fz=G, fx=0, gy=0):
        self.accel_mm_s2 = array("i", (fx, 0, fz))
        self.gyro_urad_s = array("i", (0, gy, 0))


class Ctrl:
    def __init__(self, throttle=0, model=0, thrust_mn=0, mass_q10=0):
        self.throttle_q15 = throttle
        self.thrust_model_q15 = model
        self.thrust_cmd_mn = thrust_mn
        self.mass_kg_q10 = mass_q10


class Alt:
    def __init__(self, r):
        self.range_mm = r


def _nav(cfg=None):
    nav = E.Nav(cfg or Config())
    nav.init_from(1000000, 0, 0, 0)
    nav.accel_thrust_mm_s2 = G
    drain_events()
    return nav


def _cycle(nav, imu1=None, imu2=None, alt=None, st_alt=NOT_READY, ctrl=None, touchdown=False, dt=DT):
    nav.update(dt, imu1, OK if imu1 is not None else NOT_READY, imu2, OK if imu2 is not None else NOT_READY,
               alt, st_alt, ctrl, touchdown)


def test_the_rates_constants_are_the_ones_worked_with_below():
    nav = _nav()
    assert (nav._ka, nav._na, nav._g, nav._kg, nav._ng, nav._rg) == (13422, 9, 42468, 1750, 13, 4096)
    assert nav._period_ms == 20


def test_each_update_counts_a_cycle():
    nav = _nav()
    _cycle(nav, Imu())
    _cycle(nav)
    assert nav._cycles == 2


# --- one IMU: plausibility, jump, stuck -------------------------------------------

@pytest.mark.parametrize("fz, fx, gy, ok", [
    (32766, 0, 0, True), (32767, 0, 0, False), (-32766, 0, 0, True), (-32767, 0, 0, False),
    (G, 32766, 0, True), (G, 32767, 0, False), (G, -32766, 0, True), (G, -32767, 0, False),
    (G, 0, 524286, True), (G, 0, 524287, False), (G, 0, -524286, True), (G, 0, -524287, False)])
def test_a_primary_sample_is_plausible_strictly_within_the_parts_limits(fz, fx, gy, ok):
    nav = _nav()
    nav.accel_thrust_mm_s2 = fz                  # no jump from the last sample
    nav.imu_rejects = 5
    _cycle(nav, Imu(fz, fx, gy))
    assert nav.imu_rejects == (5 if ok else 6)
    assert nav._demoted is (not ok)
    assert nav.imu_used == (1 if ok else 0)
    assert nav.fault_flags & (E.F_IMU1 | E.F_NO_IMU) == (0 if ok else E.F_IMU1 | E.F_NO_IMU)
    assert nav.pitch_rate_urad_s == (gy if ok else 0)


@pytest.mark.parametrize("fz, fx, gy, ok", [
    (32766, 0, 0, True), (32767, 0, 0, False), (-32766, 0, 0, True), (-32767, 0, 0, False),
    (G, 32766, 0, True), (G, 32767, 0, False), (G, -32766, 0, True), (G, -32767, 0, False),
    (G, 0, 524286, True), (G, 0, 524287, False), (G, 0, -524286, True), (G, 0, -524287, False)])
def test_a_secondary_sample_is_plausible_strictly_within_the_parts_limits(fz, fx, gy, ok):
    nav = _nav()
    nav.imu_used = 2
    nav.accel_thrust_mm_s2 = fz
    _cycle(nav, None, Imu(fz, fx, gy))
    assert nav.imu_used == (2 if ok else 0)
    assert nav.fault_flags & (E.F_IMU2 | E.F_NO_IMU) == (0 if ok else E.F_IMU2 | E.F_NO_IMU)
    assert nav.imu_rejects == 0                 # counted for the primary only
    assert nav.pitch_rate_urad_s == (gy if ok else 0)


@pytest.mark.parametrize("jump, ok", [(6000, True), (6001, False), (-6000, True), (-6001, False)])
def test_a_primary_jump_beyond_6_m_s2_in_a_cycle_is_refused_while_it_is_used(jump, ok):
    nav = _nav()
    _cycle(nav, Imu(G + jump))
    assert nav.imu_rejects == (0 if ok else 1)
    assert nav.imu_used == (1 if ok else 0)


@pytest.mark.parametrize("jump", [6001, -6001])
def test_a_primary_jump_is_no_reason_to_refuse_it_while_the_secondary_is_used(jump):
    nav = _nav()
    nav.imu_used = 2
    _cycle(nav, Imu(G + jump), None)
    assert nav.imu_rejects == 0
    assert nav.imu_used == 1 and nav.accel_thrust_mm_s2 == G + jump


@pytest.mark.parametrize("jump, ok", [(6000, True), (6001, False), (-6000, True), (-6001, False)])
def test_a_secondary_jump_beyond_6_m_s2_in_a_cycle_is_refused_while_it_is_used(jump, ok):
    nav = _nav()
    nav.imu_used = 2
    _cycle(nav, None, Imu(G + jump))
    assert nav.imu_used == (2 if ok else 0)
    assert bool(nav.fault_flags & E.F_IMU2) is (not ok)


def test_a_secondary_jump_is_no_reason_to_refuse_it_while_the_primary_is_used():
    nav = _nav()
    nav._demoted = True                          # the primary must wait: the secondary is used
    nav._run1 = 0
    _cycle(nav, Imu(G), Imu(G + 1400))
    assert nav.imu_used == 2
    nav = _nav()
    nav._demoted, nav._run1 = True, 0
    _cycle(nav, Imu(G + 6001 - 1400), Imu(G + 6001))     # the primary jumped: refused
    assert nav.imu_used == 2 and nav.accel_thrust_mm_s2 == G + 6001


@pytest.mark.parametrize("same0, same1, event", [(0, 1, False), (23, 24, False), (24, 25, True),
                                                 (25, 26, False)])
def test_a_primary_repeating_its_sample_counts_up_and_is_stuck_at_25(same0, same1, event):
    # the sample's fingerprint is fz + fx + gy
    nav = _nav()
    nav._prev1, nav._same1 = G + 7 + 300, same0
    _cycle(nav, Imu(G, 7, 300))
    assert nav._same1 == same1
    assert drain_events() == ([(E.EV_NAV_IMU_STUCK, 1)] if event else [])


@pytest.mark.parametrize("prev", [G + 7 - 300, G - 7 + 300, G + 7 + 301])
def test_a_primary_sample_that_changed_restarts_the_stuck_count(prev):
    nav = _nav()
    nav._prev1, nav._same1 = prev, 20
    _cycle(nav, Imu(G, 7, 300))
    assert nav._same1 == 0
    assert nav._prev1 == G + 7 + 300


@pytest.mark.parametrize("same0, same1, event", [(0, 1, False), (23, 24, False), (24, 25, True),
                                                 (25, 26, False)])
def test_a_secondary_repeating_its_sample_counts_up_and_is_stuck_at_25(same0, same1, event):
    nav = _nav()
    nav.imu_used = 2
    nav._prev2, nav._same2 = G + 7 + 300, same0
    _cycle(nav, None, Imu(G, 7, 300))
    assert nav._same2 == same1
    assert drain_events() == ([(E.EV_NAV_IMU_STUCK, 2)] if event else [])


@pytest.mark.parametrize("prev", [G + 7 - 300, G - 7 + 300, G + 7 + 301])
def test_a_secondary_sample_that_changed_restarts_the_stuck_count(prev):
    nav = _nav()
    nav._prev2, nav._same2 = prev, 20
    _cycle(nav, None, Imu(G, 7, 300))
    assert nav._same2 == 0
    assert nav._prev2 == G + 7 + 300


def test_an_implausible_primary_sample_is_not_fingerprinted():
    nav = _nav()
    nav._prev1, nav._same1 = 5, 3
    _cycle(nav, Imu(40000))
    assert (nav._prev1, nav._same1) == (5, 3)


def test_a_primary_refused_for_a_jump_is_still_fingerprinted():
    nav = _nav()
    nav._prev1, nav._same1 = G + 7000, 3
    _cycle(nav, Imu(G + 7000))
    assert nav.imu_rejects == 1 and nav._same1 == 4


@pytest.mark.parametrize("st", [INVALID, NOT_READY, REINIT])
def test_a_secondary_sample_not_fresh_is_not_used(st):
    nav = _nav()
    nav.imu_used = 2
    nav.update(DT, None, NOT_READY, Imu(G), st, None, NOT_READY, None, False)
    assert nav.imu_used == 0 and nav.fault_flags & E.F_IMU2


def test_a_lone_frozen_imu_is_still_used():
    nav = _nav()
    nav._prev1, nav._same1 = G, 40
    _cycle(nav, Imu(G))
    assert nav.imu_used == 1 and nav.fault_flags & E.F_IMU1 == 0
    nav = _nav()
    nav.imu_used, nav._prev2, nav._same2 = 2, G, 40
    _cycle(nav, None, Imu(G))
    assert nav.imu_used == 2 and nav.fault_flags & E.F_IMU2 == 0


@pytest.mark.parametrize("imu, st, demoted", [(None, REINIT, True), (Imu(), REINIT, True),
                                              (None, NOT_READY, False), (None, INVALID, False)])
def test_a_primary_found_reset_must_be_readmitted(imu, st, demoted):
    nav = _nav()
    nav.update(DT, imu, st, Imu(), OK, None, NOT_READY, None, False)
    assert nav._demoted is demoted
    assert nav.imu_used == (2 if demoted or imu is None else 1)
    assert nav.imu_rejects == 0


# --- two IMUs: stuck, disagreement, the vote ----------------------------------------

@pytest.mark.parametrize("same1, same2, used", [
    (24, 0, 2), (23, 0, 1),           # the primary frozen 25 cycles, the secondary live: the secondary
    (0, 24, 1), (0, 23, 1),
    (24, 24, 1)])                     # both frozen: neither yields
def test_a_frozen_imu_yields_to_a_live_one(same1, same2, used):
    # (the one that yields is not compared with the other: the disagreement
    # count stays; two compared agree: it restarts)
    nav = _nav()
    nav._prev1, nav._same1 = G, same1
    nav._prev2, nav._same2 = G, same2
    nav._dis_n = 5
    _cycle(nav, Imu(), Imu())
    yielded = {(24, 0): E.F_IMU1, (0, 24): E.F_IMU2}.get((same1, same2), 0)
    assert nav.imu_used == used
    assert nav.fault_flags & (E.F_IMU1 | E.F_IMU2) == yielded
    assert nav._dis_n == (5 if yielded else 0)


@pytest.mark.parametrize("dz, dx, dg, dis", [
    (1500, 0, 0, False), (1501, 0, 0, True), (-1500, 0, 0, False), (-1501, 0, 0, True),
    (0, 1500, 0, False), (0, 1501, 0, True), (0, -1500, 0, False), (0, -1501, 0, True),
    (0, 0, 26180, False), (0, 0, 26181, True), (0, 0, -26180, False), (0, 0, -26181, True)])
def test_the_imus_disagree_beyond_1_5_m_s2_or_1_5_deg_s_on_any_axis(dz, dx, dg, dis):
    # the differences of the two samples (both reading 2 m/s^2 along x and 3 deg/s)
    nav = _nav()
    nav._dis_n, nav._bad = 3, 0
    _cycle(nav, Imu(G + dz, 2000 + dx, 52360 + dg), Imu(G, 2000, 52360))
    assert nav._dis_n == (4 if dis else 0)


def test_imus_that_agree_again_clear_the_vote():
    nav = _nav()
    nav._dis_n, nav._bad = 12, 2
    _cycle(nav, Imu(), Imu())
    assert (nav._dis_n, nav._bad) == (0, 0)
    assert nav.fault_flags & E.F_IMU2 == 0


@pytest.mark.parametrize("dis0, voted", [(8, False), (9, True), (10, False)])
def test_the_tenth_disagreeing_cycle_votes(dis0, voted):
    # no commanded thrust (no ctrl): the model is 0, the secondary's 3500 is
    # further from it than the primary's 1620: the secondary is wrong
    nav = _nav()
    nav._dis_n = dis0
    _cycle(nav, Imu(G), Imu(3500))
    assert nav._dis_n == dis0 + 1
    assert nav._bad == (2 if voted else 0)
    assert drain_events() == ([(E.EV_NAV_IMU_DISAGREE, 2)] if voted else [])
    assert bool(nav.fault_flags & E.F_IMU2) is voted


@pytest.mark.parametrize("cmd, wrong", [(3500, 1), (1620, 2)])
def test_the_vote_judges_against_the_commanded_thrust(cmd, wrong):
    # the engine commanded to give 3.5 m/s^2 (3500 N on 1000 kg): the primary's
    # 1620 is further from it than the secondary's 3500
    nav = _nav()
    nav._dis_n = 9
    _cycle(nav, Imu(G), Imu(3500), ctrl=Ctrl(16000, 16000, cmd * 1000, 1000 << 10))
    assert nav._bad == wrong
    assert drain_events() == [(E.EV_NAV_IMU_DISAGREE, wrong)] + (
        [(E.EV_NAV_IMU_SWITCH, 2)] if wrong == 1 else [])


def test_the_vote_s_verdict_holds_while_the_imus_disagree():
    nav = _nav()
    nav._dis_n, nav._bad = 20, 1
    _cycle(nav, Imu(G), Imu(G + 1501))
    assert nav._dis_n == 21 and nav._bad == 1
    assert nav.imu_used == 2 and nav._demoted is True
    assert nav.fault_flags & (E.F_IMU1 | E.F_IMU2) == E.F_IMU1
    assert nav._run1 == 0


def test_a_secondary_judged_wrong_is_not_used():
    nav = _nav()
    nav._dis_n, nav._bad = 20, 2
    _cycle(nav, Imu(G), Imu(G + 1501))
    assert nav.imu_used == 1
    assert nav.fault_flags & (E.F_IMU1 | E.F_IMU2) == E.F_IMU2
    assert nav._demoted is False


def test_a_primary_judged_wrong_alone_leaves_no_imu():
    nav = _nav()
    nav._bad = 1
    _cycle(nav, Imu(G))
    assert nav.imu_used == 0
    assert nav.fault_flags & (E.F_IMU1 | E.F_NO_IMU) == E.F_IMU1 | E.F_NO_IMU


# --- which IMU is used --------------------------------------------------------------

@pytest.mark.parametrize("run0, used", [(23, 2), (24, 1)])
def test_a_demoted_primary_is_used_again_after_25_good_cycles(run0, used):
    nav = _nav()
    nav.imu_used, nav._demoted, nav._run1 = 2, True, run0
    _cycle(nav, Imu(G, 0, 1000), Imu(G, 0, 2000))
    assert nav._run1 == run0 + 1
    assert nav.imu_used == used
    assert nav._demoted is (used == 2)
    assert nav.pitch_rate_urad_s == (1000 if used == 1 else 2000)


def test_a_demoted_primary_is_used_when_the_secondary_is_not_good():
    nav = _nav()
    nav.imu_used, nav._demoted, nav._run1 = 0, True, 0
    _cycle(nav, Imu(G, 0, 1000), None)
    assert nav.imu_used == 1 and nav._demoted is False
    assert nav.fault_flags & E.F_IMU2


def test_a_refused_primary_sample_restarts_its_good_run():
    nav = _nav()
    nav._run1 = 40
    _cycle(nav, Imu(40000), Imu(G))
    assert nav._run1 == 0
    assert nav.fault_flags & (E.F_IMU1 | E.F_IMU2) == E.F_IMU1
    _cycle(nav, Imu(G), Imu(G))                  # demoted: counts again from 0
    assert nav._run1 == 1 and nav.imu_used == 2


def test_switching_imus_is_counted_and_an_event():
    nav = _nav()
    _cycle(nav, Imu(), Imu())
    assert nav.imu_switches == 0 and drain_events() == []
    _cycle(nav, None, Imu())
    assert (nav.imu_used, nav.imu_switches) == (2, 1)
    assert drain_events() == [(E.EV_NAV_IMU_SWITCH, 2)]
    _cycle(nav)
    assert (nav.imu_used, nav.imu_switches) == (0, 2)
    assert drain_events() == [(E.EV_NAV_IMU_SWITCH, 0)]


@pytest.mark.parametrize("thrust_mn, mass_q10, want", [
    (1620 * 1000, 1000 << 10, 1620),      # 1620 N on 1000 kg
    (4000000, 3 << 10, 32767),            # beyond the accelerometer's limit: clamped
    (1620 * 1000, 0, 0)])                 # no mass: nothing commanded
def test_with_no_imu_the_commanded_specific_force_is_propagated(thrust_mn, mass_q10, want):
    nav = _nav()
    ctrl = Ctrl(throttle=1000, model=1000, thrust_mn=thrust_mn, mass_q10=mass_q10)
    _cycle(nav, ctrl=ctrl)
    assert nav.accel_thrust_mm_s2 == want
    assert nav.fault_flags & E.F_NO_IMU
    # vz = (want * 13422 >> 9) - 42468 per cycle (pitch 0, no bias)
    assert nav._vz == (((want * 32767 + 16384) >> 15) * 13422 >> 9) - 42468


# --- free fall: the engine out, the samples calibrate the accelerometers ----------

@pytest.mark.parametrize("ctrl, touchdown, ff", [
    (Ctrl(0, 63), False, True), (Ctrl(0, 64), False, False), (Ctrl(1, 0), False, False),
    (Ctrl(0, 0), True, False), (None, False, False)])
def test_a_coast_is_free_fall_with_the_engine_out_and_off_the_ground(ctrl, touchdown, ff):
    nav = _nav()
    nav.accel_thrust_mm_s2 = 0
    _cycle(nav, Imu(100, -50), ctrl=ctrl, touchdown=touchdown)
    assert nav.free_fall_cycles == (1 if ff else 0)
    assert nav.free_fall_n[0] == (1 if ff else 0)
    # free fall: no force but gravity (the sample is bias and noise)
    assert nav.accel_thrust_mm_s2 == (0 if ff else 100)


@pytest.mark.parametrize("fz1, fz2, n1, n2", [(100, 400, 1, 0), (400, 100, 0, 1), (100, 100, 1, 1)])
def test_either_imu_s_sample_within_the_free_fall_limit_is_free_fall(fz1, fz2, n1, n2):
    nav = _nav()
    nav.accel_thrust_mm_s2 = 0
    _cycle(nav, Imu(fz1), Imu(fz2), ctrl=Ctrl(0, 0))
    assert (nav.free_fall_n[0], nav.free_fall_n[1]) == (n1, n2)
    assert nav.free_fall_cycles == 1 and nav.accel_thrust_mm_s2 == 0


def test_the_secondary_alone_can_be_in_free_fall():
    nav = _nav()
    nav.accel_thrust_mm_s2 = 0
    _cycle(nav, None, Imu(100), ctrl=Ctrl(0, 0))
    assert nav.free_fall_n[1] == 1 and nav.free_fall_cycles == 1


def test_no_usable_imu_is_no_free_fall():
    nav = _nav()
    _cycle(nav, Imu(40000), None, ctrl=Ctrl(0, 0))
    assert nav.free_fall_cycles == 0 and tuple(nav.free_fall_n) == (0, 0)


@pytest.mark.parametrize("fz, used", [(400, 1), (400, 2)])
def test_a_sample_beyond_the_free_fall_limit_is_propagated(fz, used):
    nav = _nav()
    nav.accel_thrust_mm_s2 = fz
    if used == 1:
        _cycle(nav, Imu(fz), ctrl=Ctrl(0, 0))
    else:
        nav.imu_used = 2
        _cycle(nav, None, Imu(fz), ctrl=Ctrl(0, 0))
    assert nav.free_fall_cycles == 0 and nav.accel_thrust_mm_s2 == fz


# --- the calibration removed in flight ---------------------------------------------

def _calibrated():
    nav = _nav()
    nav._cal_on = True
    nav._cal[0], nav._cal[1], nav._cal[2], nav._cal[3] = 11, 22, 33, 44
    return nav


def test_the_primary_s_biases_are_removed_from_its_sample():
    nav = _calibrated()
    nav.accel_thrust_mm_s2 = G - 22
    _cycle(nav, Imu(G, 1000))
    assert nav.accel_thrust_mm_s2 == G - 22
    # pitch 0: ax = (989 * 32767 + 16384) >> 15 = 989 -> vx = 989 * 13422 >> 9 = 25926
    assert nav._vx == (989 * 13422) >> 9


def test_the_secondary_s_biases_are_removed_from_its_sample():
    nav = _calibrated()
    nav.imu_used, nav.accel_thrust_mm_s2 = 2, G - 44
    _cycle(nav, None, Imu(G, 1000))
    assert nav.accel_thrust_mm_s2 == G - 44
    assert nav._vx == (967 * 13422) >> 9


def test_no_calibration_is_removed_from_the_commanded_force_or_in_free_fall():
    nav = _calibrated()
    _cycle(nav, ctrl=Ctrl(1000, 1000, 1620 * 1000, 1000 << 10))
    assert nav.accel_thrust_mm_s2 == G and nav._vx == 0
    nav = _calibrated()
    nav.accel_thrust_mm_s2 = 0
    _cycle(nav, Imu(100, 50), ctrl=Ctrl(0, 0))
    assert nav.accel_thrust_mm_s2 == 0 and nav._vx == 0


def test_no_calibration_is_removed_until_one_is_significant():
    nav = _calibrated()
    nav._cal_on = False
    _cycle(nav, Imu(G, 1000))
    assert nav.accel_thrust_mm_s2 == G and nav._vx == (1000 * 32767 + 16384 >> 15) * 13422 >> 9


# --- propagation --------------------------------------------------------------------

@pytest.mark.parametrize("gy, inc", [(10000, 2136), (-10000, -2136), (0, 0), (2, 0), (3, 1)])
def test_the_pitch_moves_by_the_gyro_rate_over_a_period_rounded(gy, inc):
    # 10000 urad/s x 0.02 s = 200 urad = 2.086 bau: x 1024 = 2136.2; the
    # product 10000 x 1750 = 17500000, (17500000 + 4096) >> 13 = 2136;
    # (-17500000 + 4096) >> 13 = -2135.7 floored = -2136; (3 x 1750 + 4096) >> 13 = 1
    nav = _nav()
    _cycle(nav, Imu(G, 0, gy))
    assert nav._pitch == inc
    assert nav.pitch_rate_urad_s == gy


@pytest.mark.parametrize("dt, n", [(DT, 1), (31457, 1), (31458, 2), (3 * DT, 3),
                                   (149 * DT, 149), (150 * DT, 150), (151 * DT, 150), (10 << 20, 150)])
def test_a_late_cycle_propagates_whole_periods_up_to_150(dt, n):
    # n = (dt x 50 + 2^19) >> 20: a rate of 10000 urad/s turns the pitch 2136 a period
    nav = _nav()
    _cycle(nav, Imu(G, 0, 10000), dt=dt)
    assert nav._pitch == 2136 * n


@pytest.mark.parametrize("rate, dt, n", [
    # 100 Hz: one period is 10486 / 2^20 s; a 20 ms cycle (20972) is two
    # periods (it was propagated as one while the bound was a fixed 30 ms)
    (100, 10486, 1), (100, 15728, 1), (100, 15729, 2), (100, 20972, 2), (100, 31457, 3),
    # 16 Hz: 1.5 periods is exactly 98304 / 2^20 s (16 x 98304 = 3 x 2^19):
    # one period at the bound, two beyond it
    (16, 98304, 1), (16, 98305, 2),
    # 35 Hz: 35 x 44939 = 1572865, one past 1.5 periods in Q20
    (35, 44938, 1), (35, 44939, 2),
    # 10 Hz: 1.5 periods is 157286.4 / 2^20 s; an early cycle (0.04 s, 0.4
    # periods) is one period as at 50 Hz (under the fixed bound it was late
    # and rounded to none)
    (10, 41943, 1), (10, 104858, 1), (10, 157286, 1), (10, 157287, 2),
])
def test_a_cycle_is_late_beyond_one_and_a_half_periods_at_any_rate(rate, dt, n):
    cfg = Config()
    cfg.rate_hz = rate
    nav = _nav(cfg)
    inc = (10000 * nav._kg + nav._rg) >> nav._ng
    assert inc != 0
    _cycle(nav, Imu(G, 0, 10000), dt=dt)
    assert nav._pitch == n * inc


def test_a_late_cycle_s_periods_are_rounded_to_nearest():
    # at 25 Hz, 566231 / 2^20 s is 13.4999995 periods: 13 (566231 x 25 + 2^19 = 14 x 2^20 - 1)
    cfg = Config()
    cfg.rate_hz = 25
    nav = _nav(cfg)
    inc = (10000 * nav._kg + nav._rg) >> nav._ng
    _cycle(nav, Imu(G, 0, 10000), dt=566231)
    assert nav._pitch == 13 * inc
    nav = _nav(cfg)
    _cycle(nav, Imu(G, 0, 10000), dt=566232)      # 13.5000: 14
    assert nav._pitch == 14 * inc


def test_a_warm_restart_s_gap_ramps_the_pitch_to_the_restart_pitch_once():
    # pitch 100 bau, the restart's 400: over the gap's 3 periods the pitch
    # steps (409600 - 102400) // 3 = 102400 a period whatever the gyro says;
    # the next late cycle integrates the gyro again
    nav = _nav()
    nav._pitch = 100 << 10
    nav.restart_pitch(400)
    _cycle(nav, Imu(G, 0, 10000), dt=3 * DT)
    assert nav._pitch == 400 << 10 and nav._p_end_set is False
    _cycle(nav, Imu(G, 0, 10000), dt=3 * DT)
    assert nav._pitch == (400 << 10) + 3 * 2136


def test_the_restart_pitch_waits_for_the_gap():
    nav = _nav()
    nav.restart_pitch(400)
    _cycle(nav, Imu(G, 0, 10000))
    assert nav._pitch == 2136 and nav._p_end_set is True


def test_the_velocity_integrates_the_vertical_specific_force_less_gravity_and_bias():
    # fz = 2620: (2620 * 32767 + 16384) >> 15 = 2620 (2620.4): 2620 * 13422 >> 9 = 68682 (68682.9)
    nav = _nav()
    nav._bz = 100
    _cycle(nav, Imu(2620))
    assert nav._vz == 68682 - 42468 - 100
    # h += (vz + 2048) >> 12 = 26115 + 2048 >> 12 = 6 (Q4)
    assert nav._h == (1000000 << 4) + 6


def test_three_late_periods_integrate_three_times():
    nav = _nav()
    _cycle(nav, Imu(2620), dt=3 * DT)
    v = 68682 - 42468
    assert nav._vz == 3 * v
    assert nav._h == (1000000 << 4) + ((v + 2048) >> 12) + ((2 * v + 2048) >> 12) + ((3 * v + 2048) >> 12)


@pytest.mark.parametrize("vz, dh", [(2047, 0), (2048, 1), (-2048, 0), (-2049, -1), (6143, 1), (6144, 2)])
def test_the_height_takes_the_velocity_rounded_to_nearest(vz, dh):
    nav = _nav()
    nav._vz = vz
    _cycle(nav, Imu(G))
    assert nav._vz == vz
    assert nav._h == (1000000 << 4) + dh


@pytest.mark.parametrize("vx, dx", [(2047, 0), (2048, 1), (-2048, 0), (-2049, -1), (6144, 2)])
def test_the_downrange_position_takes_the_velocity_rounded_to_nearest(vx, dx):
    nav = _nav()
    nav._vx = vx
    _cycle(nav, Imu(G))
    assert nav._vx == vx
    assert nav._x == dx


def test_the_horizontal_specific_force_rotates_into_the_world_frame_at_pitch_30_deg():
    # pitch 30 deg (5461 bau, (s, c) = (16384, 28378) from the table): a body
    # force (fx, fz) = (1000, 2000) is world az = (2000 c + 2^14 >> 15) - (1000 s
    # + 2^14 >> 15) = 1732 - 500 = 1232, ax = (2000 s ...) + (1000 c ...) = 1000 + 866 = 1866
    nav = _nav()
    nav._pitch = 5461 << 10
    sc = array("i", (0, 0))
    sincos(5461, sc)
    s, c = sc[0], sc[1]
    assert abs(s - 16384) <= 2 and abs(c - 28378) <= 2
    nav.accel_thrust_mm_s2 = 2000
    _cycle(nav, Imu(2000, 1000))
    az = ((2000 * c + 16384) >> 15) - ((1000 * s + 16384) >> 15)
    ax = ((2000 * s + 16384) >> 15) + ((1000 * c + 16384) >> 15)
    assert (az, ax) == (1232, 1866)
    assert nav._vz == ((az * 13422) >> 9) - 42468
    assert nav._vx == (ax * 13422) >> 9


@pytest.mark.parametrize("p, vz, vx", [(0, 429504 - 42468, 429504), (0x4000, -429504 - 42468, 429504)])
def test_the_rotated_specific_force_is_rounded_to_nearest(p, vz, vx):
    # 16385 x 32767 / 32768 = 16384.49997: 16384 (a floor of the sum with
    # 16385 would give 16385); at pitch 0 (s, c) = (0, 32767): az = ax = 16384;
    # at 90 deg (32767, 0): az = -16384 (fx along -z), ax = 16384;
    # 16384 x 13422 >> 9 = 429504
    nav = _nav()
    nav._pitch = p << 10
    nav.accel_thrust_mm_s2 = 16385
    _cycle(nav, Imu(16385, 16385))
    assert (nav._vz, nav._vx) == (vz, vx)


@pytest.mark.parametrize("v0, fz, want", [
    (E.V_MAX - 10, 2620, E.V_MAX), (-E.V_MAX + 10, 620, -E.V_MAX),
    (E.V_MAX - 30000, 2620, E.V_MAX - 30000 + 26214), (-E.V_MAX + 30000, 620, -E.V_MAX + 30000 - 26215)])
def test_the_vertical_velocity_is_clamped_at_its_bound(v0, fz, want):
    # 1000 mm/s^2 more than gravity: (2620 * 13422 >> 9) - 42468 = 26214; less:
    # (620 * 13422 >> 9) - 42468 = 16253 - 42468 = -26215
    nav = _nav()
    nav._vz = v0
    nav.accel_thrust_mm_s2 = fz
    _cycle(nav, Imu(fz))
    assert nav._vz == want


@pytest.mark.parametrize("v0, fx, want", [(E.V_MAX - 10, 1000, E.V_MAX), (-E.V_MAX + 10, -1000, -E.V_MAX),
                                          (E.V_MAX - 30000, 1000, E.V_MAX - 30000 + 26214)])
def test_the_horizontal_velocity_is_clamped_at_its_bound(v0, fx, want):
    # ax = (1000 * 32767 + 16384) >> 15 = 1000: 1000 * 13422 >> 9 = 26214
    nav = _nav()
    nav._vx = v0
    _cycle(nav, Imu(G, fx))
    assert nav._vx == want


@pytest.mark.parametrize("h0, vz, want", [(E.H_MAX - 1, 8192, E.H_MAX), (-E.H_MAX + 1, -8192, -E.H_MAX),
                                          (E.H_MAX - 3, 8192, E.H_MAX - 1)])
def test_the_height_is_clamped_at_its_bound(h0, vz, want):
    nav = _nav()
    nav._h, nav._vz = h0, vz
    _cycle(nav, Imu(G))
    assert nav._h == want


@pytest.mark.parametrize("x0, vx, want", [(E.H_MAX - 1, 8192, E.H_MAX), (-E.H_MAX + 1, -8192, -E.H_MAX),
                                          (E.H_MAX - 3, 8192, E.H_MAX - 1)])
def test_the_downrange_position_is_clamped_at_its_bound(x0, vx, want):
    nav = _nav()
    nav._x, nav._vx = x0, vx
    _cycle(nav, Imu(G))
    assert nav._x == want


# --- the rotation handed to the altimeter: the inline table walk ---------------------

def _sc_seen(monkeypatch, nav, **kw):
    seen = []
    monkeypatch.setattr(E, "_correct", lambda nav, r, td, flags, s, c: seen.append((s, c)))
    _cycle(nav, alt=Alt(1000000), st_alt=OK, **kw)
    return seen


@pytest.mark.parametrize("p", [0, 1, 63, 64, 65, 1000, 5461, 0x3FFF, 0x4000, 0x4001, 0x4000 + 1000,
                               0x7FFF, 0x8000, 0x8000 + 37, 0xBFFF, 0xC000, 0xC000 + 5000, 0xFFFF,
                               0x10000 + 100, -1000, -0x4000 - 7])
def test_the_propagation_s_sin_and_cos_are_the_table_s(monkeypatch, p):
    nav = _nav()
    nav._pitch = p << 10
    seen = _sc_seen(monkeypatch, nav, imu1=Imu(G))
    sc = array("i", (0, 0))
    sincos(p, sc)
    assert seen == [(sc[0], sc[1])]


def test_the_propagation_s_sin_and_cos_are_the_table_s_at_every_table_point_and_between(monkeypatch):
    # every angle on a table entry (f = 0 in both walks) and a stride of 61
    # between them, each quadrant
    nav = _nav()
    seen = []
    monkeypatch.setattr(E, "_correct", lambda nav, r, td, flags, s, c: seen.append((s, c)))
    imu, alt = Imu(G), Alt(1000000)
    sc = array("i", (0, 0))
    want = []
    for p in list(range(0, 0x10000, 64)) + list(range(5, 0x10000, 61)):
        nav._pitch = p << 10
        nav.update(DT, imu, OK, None, NOT_READY, alt, OK, None, False)
        sincos(p, sc)
        want.append((sc[0], sc[1]))
        x = 2 * math.pi * p / 65536          # and within 1 of 32768 sin, cos (Q15)
        assert abs(seen[-1][0] - 32768 * math.sin(x)) <= 1 and abs(seen[-1][1] - 32768 * math.cos(x)) <= 1
    assert seen == want


@pytest.mark.parametrize("p, s, c", [(0, 0, 32767), (0x4000, 32767, 0), (0x8000, 0, -32767),
                                     (0xC000, -32767, 0), (0x2000, 23170, 23170)])
def test_the_propagation_s_sin_and_cos_at_the_quadrants_and_45_deg(monkeypatch, p, s, c):
    # 32768 sin 45 deg = 23170.5: the table's Q17 entry 92682 quartered
    nav = _nav()
    nav._pitch = p << 10
    seen = _sc_seen(monkeypatch, nav, imu1=Imu(G))
    assert abs(seen[0][0] - s) <= 1 and abs(seen[0][1] - c) <= 1
    if p % 0x4000 == 0:
        assert seen == [(s, c)]


@pytest.mark.parametrize("frac, p", [(511, 100), (512, 101), (-512, 100), (-513, 99)])
def test_the_pitch_is_rounded_to_a_binary_angle_for_the_rotation(monkeypatch, frac, p):
    nav = _nav()
    nav._pitch = (100 << 10) + frac
    seen = _sc_seen(monkeypatch, nav, imu1=Imu(G))
    sc = array("i", (0, 0))
    sincos(p, sc)
    assert seen == [(sc[0], sc[1])]


# --- uncertainty growth without an altimeter update ------------------------------------

@pytest.mark.parametrize("age0, sv0, sh0, sv1, sh1", [
    (0, 46, 58, 46, 58),              # first cycle after an update: no growth
    (1, 46, 58, 47, 59),              # 47 x 20 ms = 0.94 mm -> 1
    (1, 23, 58, 24, 58),              # 24 x 20 + 500 = 980 < 1000: 0
    (1, 24, 58, 25, 59),              # 25 x 20 + 500 = 1000: 1
    (1, E.SIG_MAX, 5, E.SIG_MAX, 5 + 336),    # the velocity's sigma saturated: 16777215 x 0.02 = 335544
    (1, 100, E.SIG_MAX - 1, 101, E.SIG_MAX)])
def test_the_sigmas_grow_each_cycle_the_altimeter_does_not_correct(age0, sv0, sh0, sv1, sh1):
    nav = _nav()
    nav._age, nav.vz_sigma_mm_s, nav.alt_sigma_mm = age0, sv0, sh0
    _cycle(nav, Imu(G))
    assert nav._age == age0 + 1
    assert nav.vz_sigma_mm_s == sv1
    assert nav.alt_sigma_mm == (sh1 if sh0 != 5 else 5 + (E.SIG_MAX * 20 + 500) // 1000)


def test_the_height_s_sigma_grows_by_the_velocity_s_over_a_period_rounded_to_nearest():
    # at 30 Hz (a period of 1000 // 30 = 33 ms): 803 mm/s x 33 ms = 26.499 mm: 26
    cfg = Config()
    cfg.rate_hz = 30
    nav = _nav(cfg)
    assert nav._period_ms == 33
    nav._age, nav.vz_sigma_mm_s, nav.alt_sigma_mm = 1, 802, 1000
    _cycle(nav, Imu(G))
    assert (nav.vz_sigma_mm_s, nav.alt_sigma_mm) == (803, 1026)
    nav._age, nav.vz_sigma_mm_s, nav.alt_sigma_mm = 1, 803, 1000     # 804 x 33 = 26.532: 27
    _cycle(nav, Imu(G))
    assert nav.alt_sigma_mm == 1027


def test_without_an_imu_the_velocity_sigma_grows_ten_times_faster():
    nav = _nav()
    nav._age, nav.vz_sigma_mm_s, nav.alt_sigma_mm, nav.vx_sigma_mm_s = 1, 40, 58, 100
    _cycle(nav)
    assert (nav.vz_sigma_mm_s, nav.alt_sigma_mm, nav.vx_sigma_mm_s) == (50, 59, 110)


@pytest.mark.parametrize("sx0, pick, sx1", [(100, True, 101), (E.SIG_MAX - 1, True, E.SIG_MAX),
                                            (E.SIG_MAX, True, E.SIG_MAX), (E.SIG_MAX, False, E.SIG_MAX)])
def test_the_horizontal_velocity_sigma_grows_up_to_its_bound(sx0, pick, sx1):
    nav = _nav()
    nav.vx_sigma_mm_s = sx0
    _cycle(nav, Imu(G) if pick else None)
    assert nav.vx_sigma_mm_s == sx1


def test_the_velocity_sigma_saturates():
    nav = _nav()
    nav._age, nav.vz_sigma_mm_s = 1, E.SIG_MAX - 5
    _cycle(nav)
    assert nav.vz_sigma_mm_s == E.SIG_MAX


# --- the altimeter's status ----------------------------------------------------------

def test_a_fresh_range_goes_to_the_correction_with_the_cycle_s_flags(monkeypatch):
    nav = _nav()
    got = []
    nav.fault_flags = E.F_ALT_OFFSET | E.F_IMU2
    monkeypatch.setattr(E, "_correct", lambda nav, r, td, flags, s, c: got.append((r, td, flags)))
    _cycle(nav, Imu(G), Imu(G), alt=Alt(123456), st_alt=OK, touchdown=True)
    assert got == [(123456, True, E.F_ALT_OFFSET)]
    assert nav._ever_alt is True


def test_the_flags_the_correction_sets_are_kept():
    # a range repeated N_STUCK times: _correct sets F_ALT_STUCK
    nav = _nav()
    nav._last_r, nav._stuck_n = 1000000, E.N_STUCK - 1
    _cycle(nav, Imu(G), alt=Alt(1000000), st_alt=OK)
    assert nav.fault_flags & E.F_ALT_STUCK
    assert nav.alt_gate == E.G_STUCK


@pytest.mark.parametrize("st", [DISABLED, INVALID])
def test_an_altimeter_status_other_than_ok_or_not_ready_is_a_rejection_that_censors(st):
    nav = _nav()
    nav.meas_alt_mm = 9876543
    nav._cycles = 40
    nav.alt_rejects, nav.alt_reject_counts[E.G_STATUS] = 5, 3
    _cycle(nav, Imu(G), alt=Alt(1000000), st_alt=st)
    assert nav.alt_gate == E.G_STATUS
    assert nav.alt_reject_counts[E.G_STATUS] == 4 and nav.alt_rejects == 6
    assert (nav._cen_until, nav._cen_h) == (41 + E.CEN_HOLD, 9876543)
    assert nav._ever_alt is False and nav.raw_range_mm == 0


@pytest.mark.parametrize("alt, st", [(Alt(1000000), NOT_READY), (None, OK), (None, INVALID)])
def test_no_range_this_cycle_changes_nothing_on_the_range_path(alt, st):
    nav = _nav()
    _cycle(nav, Imu(G), alt=alt, st_alt=st)
    assert nav.alt_rejects == 0 and nav._cen_until == 0 and nav._ever_alt is False
    assert nav.raw_range_mm == 0


# --- fault flags ------------------------------------------------------------------------

@pytest.mark.parametrize("cyc0, ever, flagged", [(498, False, False), (499, False, True),
                                                 (500, False, False), (499, True, False)])
def test_no_valid_range_in_the_first_500_cycles_is_a_fault(cyc0, ever, flagged):
    nav = _nav()
    nav._cycles, nav._ever_alt = cyc0, ever
    _cycle(nav, Imu(G))
    assert bool(nav.fault_flags & E.F_ALT_NEVER) is flagged
    assert drain_events() == ([(E.EV_NAV_ALT_NEVER_VALID, 500)] if flagged else [])


def test_the_never_valid_fault_adds_to_the_others():
    nav = _nav()
    nav._cycles, nav.fault_flags = 499, E.F_ALT_OFFSET
    _cycle(nav, Imu(G), Imu(G))
    assert nav.fault_flags == E.F_ALT_OFFSET | E.F_ALT_NEVER


def test_the_never_valid_fault_stays():
    nav = _nav()
    nav._cycles = 499
    _cycle(nav, Imu(G))
    _cycle(nav, Imu(G), alt=Alt(1000000), st_alt=OK)
    assert nav.fault_flags & E.F_ALT_NEVER


@pytest.mark.parametrize("age0, stale", [(98, False), (99, True), (150, True)])
def test_no_accepted_range_for_100_cycles_is_stale(age0, stale):
    nav = _nav()
    nav._age = age0
    _cycle(nav, Imu(G))
    assert bool(nav.fault_flags & E.F_ALT_STALE) is stale


def test_the_stale_flag_clears_when_a_range_is_accepted_again():
    nav = _nav()
    nav.fault_flags = E.F_ALT_STALE
    nav._age = 5
    _cycle(nav, Imu(G), Imu(G))
    assert nav.fault_flags == 0


@pytest.mark.parametrize("imu1, imu2, imu_flags", [(Imu(40000), Imu(G), E.F_IMU1), (Imu(G), None, E.F_IMU2),
                                                   (None, None, E.F_IMU1 | E.F_IMU2 | E.F_NO_IMU)])
def test_the_imu_flags_add_to_the_other_faults(imu1, imu2, imu_flags):
    nav = _nav()
    nav.fault_flags = E.F_ALT_OFFSET | E.F_ALT_STUCK
    _cycle(nav, imu1, imu2)
    assert nav.fault_flags == E.F_ALT_OFFSET | E.F_ALT_STUCK | imu_flags


def test_the_imu_flags_are_the_cycle_s_and_the_others_stay():
    nav = _nav()
    nav.fault_flags = E.F_IMU1 | E.F_IMU2 | E.F_NO_IMU | E.F_ALT_OFFSET
    _cycle(nav, Imu(G), Imu(G))
    assert nav.fault_flags == E.F_ALT_OFFSET


def test_the_cycle_ends_publishing_the_state():
    nav = _nav()
    nav._vz = 64 * 1000              # 1000 mm per cycle * 2^6 >> 6 = 1000 mm/cycle... (v >> 6) * 50 >> 10
    _cycle(nav, Imu(G))
    assert nav.vz_mm_s == ((64 * 1000 >> 6) * 50) >> 10
    assert nav.height_mm == nav._h >> 4
    assert nav.alt_age_ms == 20


# --- the published fields (Nav._publish) ------------------------------------------------
# The map: bin b covers x in [MAP_X0_MM + b 2^16, + 2^16); init_from made bin 32
# (x = 0) the datum (level 0, N_MAP samples). Here the map is cleared and set
# by hand; the vehicle at 1 km over the datum, x in bin 40 unless said.

def _map_nav(bv=40, dx=0, tu=-7000):
    nav = _nav()
    for i in range(E.MAP_N):
        nav._cnt[i] = 0
    nav._x = (E.MAP_X0_MM + (bv << E.MAP_SHIFT) + 100) << 4
    nav.beam_dx_mm = dx
    nav.terrain_under_mm = tu
    nav._tv_bin = -1
    return nav


def _seen(nav, b, level, cnt=E.N_SEEN, conf=0, msig=0, steep=0):
    nav._cnt[b], nav._map[b], nav._conf[b], nav._msig[b], nav._steep[b] = cnt, level, conf, msig, steep


def test_the_published_state_is_the_internal_state_in_its_units():
    nav = _nav()
    nav._h, nav._x = (123456 << 4) + 15, (7000 << 4) + 15
    nav._vz, nav._vx = -65, 64 * 2048 + 63
    nav._pitch, nav._age, nav._t = (300 << 10) + 1023, 7, 4321
    nav._publish()
    assert (nav.height_mm, nav.x_mm, nav.pitch_bau) == (123456, 7000, 300)
    # mm per cycle * 2^16 -> mm/s: ((v >> 6) * 50) >> 10: -65 -> -2 * 50 >> 10 = -1; 2048 * 50 >> 10 = 100
    assert (nav.vz_mm_s, nav.vx_mm_s) == (-1, 100)
    assert nav.alt_age_ms == 140
    assert nav.terrain_mm == 4321
    # the datum bin under the vehicle (x = 7 m, bin 32, level 0)
    assert (nav.terrain_under_mm, nav.altitude_mm) == (0, 123456)


@pytest.mark.parametrize("cnt, tu", [(E.N_SEEN, 5000), (E.N_SEEN - 1, -7000)])
def test_the_terrain_under_the_vehicle_is_its_bin_s_once_seen_n_seen_times(cnt, tu):
    nav = _map_nav()
    nav._tv_bin = 40                             # no search (already in the bin)
    _seen(nav, 40, 5000, cnt=cnt)
    nav._publish()
    assert nav.terrain_under_mm == tu
    assert nav.altitude_mm == 1000000 - tu


@pytest.mark.parametrize("x, bv", [(E.MAP_X0_MM - 1, 0), (E.MAP_X0_MM - (3 << E.MAP_SHIFT), 0),
                                   (E.MAP_X0_MM, 0), (E.MAP_X0_MM + (E.MAP_N << E.MAP_SHIFT) - 1, E.MAP_N - 1),
                                   (E.MAP_X0_MM + (E.MAP_N << E.MAP_SHIFT), E.MAP_N - 1),
                                   (E.MAP_X0_MM + ((E.MAP_N + 9) << E.MAP_SHIFT), E.MAP_N - 1)])
def test_the_vehicle_beyond_the_map_s_ends_is_in_its_end_bins(x, bv):
    nav = _map_nav()
    nav._x = x << 4
    _seen(nav, bv, 4444)
    nav._publish()
    assert nav._tv_bin == bv and nav.terrain_under_mm == 4444


@pytest.mark.parametrize("bv, dx, found, tu", [(40, 0, 45, 5000), (40, 10, 45, 5000), (40, -1, 35, 5000),
                                               (40, 0, 20, -7000), (40, 0, 40 + 63, 5000), (40, 0, 40 + 64, -7000),
                                               (100, -5, 100 - 63, 5000), (100, -5, 100 - 64, -7000),
                                               (64, -5, 1, 5000), (64, -5, 0, -7000),
                                               (192, 5, 255, 5000), (191, 5, 255, -7000)])
def test_entering_unseen_ground_takes_the_nearest_seen_ground_ahead_of_the_beam(bv, dx, found, tu):
    # ahead: along the beam's side (dx >= 0: +x), from the vehicle's bin over
    # MAP_AHEAD = 64 bins (the vehicle's and 63 more)
    nav = _map_nav(bv=bv, dx=dx)
    _seen(nav, found, 5000)
    nav._publish()
    assert nav.terrain_under_mm == tu
    assert nav._tv_bin == bv


@pytest.mark.parametrize("dx, found, tu", [(0, 40 - 15, 5000), (0, 40 - 16, -7000), (-1, 40 + 15, 5000),
                                           (-1, 40 + 16, -7000)])
def test_with_nothing_seen_ahead_the_nearest_seen_ground_behind_within_15_bins(dx, found, tu):
    # behind: from the bin behind the vehicle's to MAP_BEHIND = 16 bins back, that one excluded
    nav = _map_nav(dx=dx)
    _seen(nav, found, 5000)
    nav._publish()
    assert nav.terrain_under_mm == tu


@pytest.mark.parametrize("bv, dx, found", [(250, 0, 255), (5, -1, 0), (3, 0, 0), (252, -1, 255), (16, 0, 1),
                                           (239, -1, 254)])
def test_the_searches_stop_at_the_map_s_ends(bv, dx, found):
    nav = _map_nav(bv=bv, dx=dx)
    _seen(nav, found, 5000)
    nav._publish()
    assert nav.terrain_under_mm == 5000


@pytest.mark.parametrize("bv, dx, found", [(62, -1, 255), (5, -1, 255), (61, -1, 255), (250, 0, 0),
                                           (193, 0, 0), (3, 0, 255), (252, -1, 0), (241, -1, 0),
                                           (16, 0, 0), (239, -1, 255)])
def test_the_searches_do_not_wrap_around_the_map(bv, dx, found):
    nav = _map_nav(bv=bv, dx=dx)
    _seen(nav, found, 5000)
    nav._publish()
    assert nav.terrain_under_mm == -7000


def test_a_search_that_finds_nothing_keeps_the_last_terrain_under_the_vehicle():
    for bv, dx in ((250, 0), (5, -1), (3, 0), (252, -1), (40, 0)):
        nav = _map_nav(bv=bv, dx=dx)
        nav._publish()
        assert nav.terrain_under_mm == -7000 and nav._tv_bin == bv


def test_no_search_while_still_in_the_same_unseen_bin():
    nav = _map_nav()
    nav._tv_bin = 40
    _seen(nav, 41, 5000)
    nav._publish()
    assert nav.terrain_under_mm == -7000


@pytest.mark.parametrize("b", [41, 39])
def test_a_bin_never_seen_is_not_searched_into_whatever_its_other_words_say(b):
    nav = _map_nav()
    _seen(nav, b, 5000, cnt=0, conf=1, msig=0)
    nav._publish()
    assert nav.terrain_under_mm == -7000


@pytest.mark.parametrize("h, msig, used", [
    (993000 - 7000, 31031, True), (993000 - 7000, 31032, False),       # 993000 >> 5 = 31031
    (64000 - 7000, 2000, True), (64000 - 7000, 2001, False),            # 64000: not beyond 2000 << 5
    (64001 - 7000, 2000, True), (64032 - 7000, 2001, True),             # 64032 >> 5 = 2001
    (32000 - 7000, 2000, True), (32000 - 7000, 2001, False)])           # low: 2 m, not 1/32
def test_ground_seen_once_and_confirmed_is_used_within_1_32_of_the_height_at_least_2_m(h, msig, used):
    # the height above the terrain under the vehicle (-7 m): h + 7000
    nav = _map_nav()
    nav._h = h << 4
    _seen(nav, 42, 5000, cnt=1, conf=1, msig=msig)
    nav._publish()
    assert nav.terrain_under_mm == (5000 if used else -7000)


@pytest.mark.parametrize("behind, ahead, lb, la, steep, tu", [
    (38, 43, 0, -20000, 0, 0),          # behind nearer, ahead not more than 20 m lower: behind
    (38, 43, 0, -20001, 0, -20001),     # ahead lower beyond 20 m (a shadow's far side): ahead
    (38, 43, -100, 0, 0, -100),         # ahead higher: behind
    (38, 42, 0, -100, 0, -100),         # equally near: ahead (2 vs 2 bins)
    (37, 42, 0, -100, 0, -100),
    (39, 43, 0, -90000, 1, 0),          # just behind and steep: behind, however low ahead
    (38, 43, 0, -90000, 1, -90000),     # steep but two bins behind: ahead
    (39, 41, 0, -100, 0, -100),
    (39, 41, 0, -50000, 1, -50000)])    # one bin behind, one ahead: not nearer
def test_seen_ground_on_both_sides_takes_the_nearer_unless_ahead_drops_away(behind, ahead, lb, la, steep, tu):
    nav = _map_nav()
    _seen(nav, behind, lb, steep=steep)
    _seen(nav, ahead, la)
    nav._publish()
    assert nav.terrain_under_mm == tu


@pytest.mark.parametrize("dx, behind, ahead", [(0, 0, 3), (-1, 4, 0)])
def test_seen_ground_on_both_sides_at_the_map_s_first_bin(dx, behind, ahead):
    # the vehicle in bin 2: behind 2 bins (or 2), ahead 1 (or 2): not nearer
    # behind, ahead taken (level -100), bin 0 on either side
    nav = _map_nav(bv=2, dx=dx)
    _seen(nav, behind, 0)
    _seen(nav, ahead, -100)
    nav._publish()
    assert nav.terrain_under_mm == -100


def test_both_sides_with_the_beam_looking_back():
    # dx < 0: ahead is -x; behind 2 bins at +x, ahead 3 bins at -x 20 m lower: behind
    nav = _map_nav(dx=-1)
    _seen(nav, 42, 0)
    _seen(nav, 37, -20000)
    nav._publish()
    assert nav.terrain_under_mm == 0
    nav = _map_nav(dx=-1)
    _seen(nav, 42, 0)
    _seen(nav, 37, -20001)
    nav._publish()
    assert nav.terrain_under_mm == -20001


def test_a_shadow_is_looked_at_with_the_height_above_the_terrain_under_the_vehicle(monkeypatch):
    nav = _map_nav()
    nav._sh[E.SH_DIR] = 1
    _seen(nav, 40, 5000)
    got = []
    monkeypatch.setattr(E, "_shadow", lambda nav, x, bv, alt: got.append((x, bv, alt)))
    nav._publish()
    assert got == [(E.MAP_X0_MM + (40 << E.MAP_SHIFT) + 100, 40, 1000000 - 5000)]
    nav._sh[E.SH_DIR] = 0
    nav._publish()
    assert len(got) == 1


@pytest.mark.parametrize("cnt, st", [(E.N_SEEN, 33000), (E.N_SEEN - 1, -7000)])
def test_the_site_s_terrain_is_its_bin_s_once_seen_else_the_terrain_under_the_vehicle(cnt, st):
    nav = _map_nav()
    sb = (3000000 - E.MAP_X0_MM) >> E.MAP_SHIFT
    assert nav._site_bin == sb == 77
    _seen(nav, sb, 33000, cnt=cnt)
    nav._tv_bin = 40
    nav._publish()
    assert nav.site_terrain_mm == st
    assert nav.site_alt_mm == 1000000 - st


# --- the published fields on a cycle without a range (update's own, not _publish) --------

def test_without_a_range_over_the_same_bin_the_terrain_under_the_vehicle_stands():
    # only a range changes the map: over the bin the last publication found
    # (_tv_bin), a cycle without one keeps the terrain under the vehicle, the
    # beam's and the site's (here a map changed behind its back: not looked at)
    nav = _map_nav(tu=-7000)
    nav._tv_bin = 40
    _seen(nav, 40, 5000)
    nav.site_terrain_mm, nav._t = 123, 4321
    _cycle(nav, Imu())
    assert (nav._tv_bin, nav.terrain_under_mm, nav.terrain_mm, nav.site_terrain_mm) == (40, -7000, 0, 123)
    assert (nav.height_mm, nav.altitude_mm, nav.site_alt_mm) == (1000000, 1007000, 999877)


def test_without_a_range_a_new_bin_under_the_vehicle_finds_its_terrain():
    nav = _map_nav(tu=-7000)
    nav._tv_bin = 39
    _seen(nav, 40, 5000)
    _cycle(nav, Imu())
    assert (nav._tv_bin, nav.terrain_under_mm, nav.altitude_mm) == (40, 5000, 995000)


@pytest.mark.parametrize("last_bin, tu", [(40, 5000), (41, -7000), (-1, -7000)])
def test_a_range_that_wrote_the_vehicle_s_bin_publishes_its_terrain_again(last_bin, tu):
    # a range writes one map bin at most (_last_bin; one rejected at once, as
    # here, leaves it as it was): the vehicle's, its terrain is read again
    nav = _map_nav(tu=-7000)
    nav._tv_bin, nav._last_bin = 40, last_bin
    _seen(nav, 40, 5000)
    _cycle(nav, Imu(), alt=Alt(0), st_alt=OK)
    assert nav.alt_gate == E.G_RANGE
    assert (nav.terrain_under_mm, nav.altitude_mm) == (tu, 1000000 - tu)


@pytest.mark.parametrize("last_bin, st", [(77, 33000), (41, 123)])
def test_a_range_that_wrote_the_site_s_bin_publishes_its_terrain_again(last_bin, st):
    nav = _map_nav(tu=-7000)
    nav._tv_bin, nav._last_bin = 40, last_bin
    nav.site_terrain_mm = 123
    _seen(nav, 77, 33000)                               # the site's bin (3 km)
    _cycle(nav, Imu(), alt=Alt(0), st_alt=OK)
    assert (nav.site_terrain_mm, nav.site_alt_mm) == (st, 1000000 - st)


def test_a_range_s_cycle_publishes_the_beam_s_terrain_and_the_range_s_state():
    nav = _map_nav(tu=-7000)
    nav._tv_bin = 40
    nav._t, nav._h, nav._vz, nav._age = 4321, 999000 << 4, 2048 << 6, 150
    _cycle(nav, Imu(), alt=Alt(0), st_alt=OK)           # (hovering: h moves (131072 + 2048) >> 12 = 32 / 16 = 2 mm)
    assert (nav.terrain_mm, nav.height_mm, nav.altitude_mm, nav.vz_mm_s) == (4321, 999002, 1006002, 100)
    assert nav.alt_age_ms == 151 * 20 and nav.fault_flags & E.F_ALT_STALE


_PUB = ("altitude_mm", "height_mm", "terrain_mm", "terrain_under_mm", "site_terrain_mm", "site_alt_mm",
        "vz_mm_s", "vx_mm_s", "x_mm", "pitch_bau", "alt_age_ms", "shadow_dir", "shadow_mm", "_tv_bin")


def test_a_cycle_without_a_range_publishes_what_publish_does():
    # 40 m/s downrange (a bin every ~82 cycles) over seen and unseen bins, a
    # range every 5th cycle (mapping bins ahead, under the vehicle, level with
    # it and not): after each cycle, _publish changes nothing
    nav = _nav()
    nav._vx = 800 << 16
    for b in range(32, 40, 2):
        _seen(nav, b, 1000 * b)
    alt = Alt(1000000)
    for i in range(500):
        _cycle(nav, Imu(G, 30, 1000), alt=alt if i % 5 == 0 else None, st_alt=OK if i % 5 == 0 else NOT_READY)
        got = [getattr(nav, f) for f in _PUB]
        nav._publish()
        assert got == [getattr(nav, f) for f in _PUB]
    assert nav._tv_bin == 38


# --- a range's cycle: the stale flag and the shadow (mutation survivors, docs/mutation.md) -----
# A range refused at once (0 mm: G_RANGE) leaves the age as it was; both IMUs
# give samples, so the cycle's IMU flags are 0 (see the xfail below).

@pytest.mark.parametrize("age0, stale", [(98, False), (99, True)])
def test_a_refused_range_at_100_cycles_without_an_accepted_one_is_stale(age0, stale):
    nav = _nav()
    nav._age = age0                                     # this cycle: age0 + 1
    _cycle(nav, Imu(G), Imu(G), alt=Alt(0), st_alt=OK)
    assert nav.alt_gate == E.G_RANGE
    assert bool(nav.fault_flags & E.F_ALT_STALE) is stale


def test_a_refused_range_s_stale_flag_adds_to_the_other_faults():
    nav = _nav()
    nav.fault_flags, nav._age = E.F_ALT_OFFSET, 150
    _cycle(nav, Imu(G), Imu(G), alt=Alt(0), st_alt=OK)
    assert nav.fault_flags == E.F_ALT_OFFSET | E.F_ALT_STALE


def test_a_range_s_cycle_over_the_same_bin_looks_at_the_shadow_with_the_height_above_the_terrain(monkeypatch):
    # the range's own publication (no bin written: the refused range leaves
    # _last_bin at -1): hovering at 1,000,000 mm over terrain -7000 mm
    nav = _map_nav(tu=-7000)
    nav._tv_bin = 40
    nav._sh[E.SH_DIR] = 1
    got = []
    monkeypatch.setattr(E, "_shadow", lambda nav, x, bv, alt: got.append((x, bv, alt)))
    _cycle(nav, Imu(), alt=Alt(0), st_alt=OK)
    assert got == [(E.MAP_X0_MM + (40 << E.MAP_SHIFT) + 100, 40, 1000000 + 7000)]


def test_a_cycle_without_a_range_over_the_same_bin_looks_at_the_shadow_with_the_height_above_the_terrain(
        monkeypatch):
    nav = _map_nav(tu=-7000)
    nav._tv_bin = 40
    nav._sh[E.SH_DIR] = 1
    got = []
    monkeypatch.setattr(E, "_shadow", lambda nav, x, bv, alt: got.append((x, bv, alt)))
    _cycle(nav, Imu())
    assert got == [(E.MAP_X0_MM + (40 << E.MAP_SHIFT) + 100, 40, 1000000 + 7000)]


# A range _correct refuses before its stuck test (r <= 0 or r >= MAX_RANGE_MM:
# G_RANGE), or a repeat of the last range not yet counted stuck, leaves the
# flags as update stored them before the call: the cycle's IMU flags (F_IMU1,
# F_IMU2, F_NO_IMU), not the previous cycle's (found by mutation testing,
# 2026-11-30; the laser altimeter's driver says OK for a 0 mm range: exponent
# 117, mantissa below ~0x8300, floor(0.98 mm) = 0).
@pytest.mark.parametrize("r", [0, E.MAX_RANGE_MM])
def test_a_range_refused_at_once_keeps_the_cycle_s_imu_flags(r):
    nav = _nav()
    _cycle(nav, None, None, alt=Alt(r), st_alt=OK)      # no IMU gave a sample this cycle
    assert nav.alt_gate == E.G_RANGE
    assert nav.fault_flags == E.F_IMU1 | E.F_IMU2 | E.F_NO_IMU


def test_a_repeated_range_not_yet_stuck_keeps_the_cycle_s_imu_flags():
    nav = _nav()
    _cycle(nav, Imu(), alt=Alt(1000000), st_alt=OK)
    assert nav.fault_flags & (E.F_IMU1 | E.F_NO_IMU) == 0
    _cycle(nav, None, None, alt=Alt(1000000), st_alt=OK)  # the same millimetres, no IMU
    assert nav._stuck_n == 1
    assert nav.fault_flags & (E.F_IMU1 | E.F_IMU2 | E.F_NO_IMU | E.F_ALT_STUCK) == E.F_IMU1 | E.F_IMU2 | E.F_NO_IMU

