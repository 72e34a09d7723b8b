"""The engine driver (firmware/lander/drivers/engine.py) pinned on pulse widths
and events written by hand from the servo-PWM protocol (docs/protocols.md,
"Engine, gimbal and arm line": 50 Hz frame, throttle 1000 us = zero thrust ..
2000 us = full, gimbal 1500 us centre +/- 500 us over +/- 20 deg, command limit
+/- 15 deg, arm line high = armed). No emulator: small fakes record what the
driver writes. In the fw-drivers mutation group (docs/mutation.md).

Hand figures (defaults): throttle q (0..32768) -> 1,000,000 + floor(q * 10^6 /
32768) ns; the gimbal's ns per binary-angle unit in Q8 is floor(500,000 * 256 /
3640) = 35,164 (20 deg = floor(20 * 18204 / 100) = 3640 bau), and the 15 deg
command limit is floor(15 * 18204 / 100) = 2730 bau."""
import pytest

from lander.drivers.engine import Engine
from tests.app_fakes import drain_events, fresh_event_ring  # noqa: F401

pytestmark = pytest.mark.usefixtures("fresh_event_ring")

# event codes from the actuators' documented range (engine.py, 0x0150-0x015F)
EV_ENG_ARMED = 0x0150
EV_ENG_DISARMED = 0x0151
EV_ENG_THROTTLE_CLAMP = 0x0152
EV_ENG_PITCH_CLAMP = 0x0153
EV_ENG_PWM_ERROR = 0x0154


class Pwm:
    """A PWM channel recording its frequency and every pulse width written;
    with `fail` set, duty_ns raises that exception (after recording)."""

    def __init__(self, fail=None):
        self.freqs = []
        self.pulses = []
        self.fail = fail

    def freq(self, hz):
        self.freqs.append(hz)

    def duty_ns(self, ns):
        self.pulses.append(ns)
        if self.fail is not None:
            raise self.fail


class Pin:
    """A digital output recording every level written."""

    def __init__(self):
        self.levels = []

    def value(self, v):
        self.levels.append(v)


def rig(**kw):
    thr, arm, gim = Pwm(), Pin(), Pwm()
    return Engine(thr, arm, gim, **kw), thr, arm, gim


def armed_rig(**kw):
    eng, thr, arm, gim = rig(**kw)
    eng.arm()
    drain_events()
    return eng, thr, arm, gim


# --- start-up: the part limits ------------------------------------------------

def test_default_throttle_pulse_limits_are_1000_and_2000_us():
    eng, _, _, _ = rig()
    assert (eng.throttle_min_ns, eng.throttle_max_ns) == (1000000, 2000000)


def test_default_gimbal_is_centred_at_1500_us_with_500_us_half_span():
    eng, _, _, _ = rig()
    assert (eng.gimbal_centre_ns, eng.gimbal_half_span_ns) == (1500000, 500000)


def test_throttle_min_pulse_of_500_us_is_accepted():
    eng, _, _, _ = rig(throttle_min_ns=500000)
    assert eng.throttle_min_ns == 500000


def test_throttle_min_pulse_below_500_us_is_refused_naming_the_throttle_limits():
    with pytest.raises(ValueError, match="^throttle pulse limits$"):
        rig(throttle_min_ns=499999)


def test_throttle_min_equal_to_max_is_refused():
    with pytest.raises(ValueError, match="^throttle pulse limits$"):
        rig(throttle_min_ns=1500000, throttle_max_ns=1500000)


def test_throttle_max_pulse_of_2500_us_is_accepted():
    eng, _, _, _ = rig(throttle_max_ns=2500000)
    assert eng.throttle_max_ns == 2500000


def test_throttle_max_pulse_above_2500_us_is_refused():
    with pytest.raises(ValueError, match="^throttle pulse limits$"):
        rig(throttle_max_ns=2500001)


def test_zero_gimbal_half_span_is_refused_naming_the_gimbal_limits():
    with pytest.raises(ValueError, match="^gimbal limits$"):
        rig(gimbal_half_span_ns=0)


def test_gimbal_half_span_of_1_ns_is_accepted():
    eng, _, _, _ = rig(gimbal_half_span_ns=1)
    assert eng.gimbal_half_span_ns == 1


def test_gimbal_half_span_of_1000_us_is_accepted():
    eng, _, _, _ = rig(gimbal_half_span_ns=1000000)
    assert eng.gimbal_half_span_ns == 1000000


def test_gimbal_half_span_above_1000_us_is_refused():
    with pytest.raises(ValueError, match="^gimbal limits$"):
        rig(gimbal_half_span_ns=1000001)


def test_pitch_limit_equal_to_the_gimbal_travel_is_accepted():
    eng, _, _, _ = rig(max_pitch_deg=20, gimbal_travel_deg=20)
    assert eng.max_pitch == 3640


def test_pitch_limit_beyond_the_gimbal_travel_is_refused():
    with pytest.raises(ValueError, match="^gimbal limits$"):
        rig(max_pitch_deg=21, gimbal_travel_deg=20)


def test_a_pitch_limit_of_zero_is_accepted():
    eng, _, _, _ = rig(max_pitch_deg=0, gimbal_travel_deg=1)
    assert eng.max_pitch == 0


@pytest.mark.parametrize("travel,limit", [(20, -1), (-20, -20), (0, 0), (-1, -5)])
def test_a_negative_or_zero_gimbal_travel_or_a_negative_pitch_limit_is_refused(travel, limit):
    with pytest.raises(ValueError, match="^gimbal limits$"):
        rig(max_pitch_deg=limit, gimbal_travel_deg=travel)


def test_construction_sets_both_frames_to_50_hz_and_drives_no_output():
    _, thr, arm, gim = rig()
    assert (thr.freqs, gim.freqs, thr.pulses, gim.pulses, arm.levels) == ([50], [50], [], [], [])


def test_a_new_engine_is_disarmed():
    eng, _, _, _ = rig()
    assert eng.armed is False


def test_a_new_engine_reports_zero_throttle_and_pitch():
    eng, _, _, _ = rig()
    assert (eng.throttle, eng.pitch) == (0, 0)


def test_a_new_engine_reports_the_zero_thrust_and_centre_pulses():
    eng, _, _, _ = rig()
    assert (eng.throttle_ns, eng.gimbal_ns) == (1000000, 1500000)


def test_a_new_engine_has_no_errors_or_clamps():
    eng, _, _, _ = rig()
    assert (eng.errors, eng.throttle_clamps, eng.pitch_clamps) == (0, 0, 0)


# --- arm line -------------------------------------------------------------------

def test_arm_drives_the_arm_line_high():
    eng, _, arm, _ = rig()
    eng.arm()
    assert arm.levels == [1]


def test_arm_posts_one_armed_event_with_argument_zero():
    eng, _, _, _ = rig()
    eng.arm()
    eng.arm()
    assert drain_events() == [(EV_ENG_ARMED, 0)]


def test_disarm_writes_the_zero_thrust_pulse_then_drives_the_arm_line_low():
    eng, thr, arm, _ = armed_rig()
    eng.set_throttle(16384)
    eng.disarm()
    assert (thr.pulses[-1], eng.throttle_ns, arm.levels[-1]) == (1000000, 1000000, 0)


def test_disarm_reports_zero_throttle():
    eng, _, _, _ = armed_rig()
    eng.set_throttle(16384)
    eng.disarm()
    assert eng.throttle == 0


def test_disarm_clears_armed_and_posts_one_disarmed_event():
    eng, _, _, _ = armed_rig()
    eng.disarm()
    eng.disarm()
    assert (eng.armed, drain_events()) == (False, [(EV_ENG_DISARMED, 0)])


def test_disarm_counts_a_refused_pulse_and_posts_a_pwm_error():
    thr, gim = Pwm(fail=OSError(5)), Pwm()
    eng = Engine(thr, Pin(), gim)
    eng.disarm()
    eng.disarm()
    assert (eng.errors, drain_events()) == (2, [(EV_ENG_PWM_ERROR, 0)] * 2)


# --- throttle pulse --------------------------------------------------------------

@pytest.mark.parametrize("q, ns", [
    (0, 1000000),
    (1, 1000030),            # 10^6 / 32768 = 30.5
    (16384, 1500000),
    (32767, 1999969),        # 32767 * 10^6 / 32768 = 999,969.48
    (32768, 2000000),
])
def test_throttle_pulse_is_min_plus_floor_of_q_times_span_over_32768(q, ns):
    eng, thr, _, _ = armed_rig()
    eng.set_throttle(q)
    assert (thr.pulses, eng.throttle_ns, eng.throttle) == ([ns], ns, q)


@pytest.mark.parametrize("lo, hi, q, ns", [
    # span 2,000,000 ns = 61 * 32768 + 1,152: both parts of the product count
    (500000, 2500000, 32767, 2499938),       # 2e6 - 2e6 / 32768 = 1,999,938.96
    (500000, 2500000, 12345, 1253479),       # 12345 * 61.03515625 = 753,479.004
    # a limit off the whole us: the span is whole us (999 us)
    (1000000, 1999999, 32767, 1998969),      # 999,000 - 30.49
    (1000000, 1999999, 1, 1000030),          # 999,000 / 32768 = 30.49
])
def test_throttle_pulse_is_exact_for_wide_and_odd_spans(lo, hi, q, ns):
    eng, thr, _, _ = armed_rig(throttle_min_ns=lo, throttle_max_ns=hi)
    eng.set_throttle(q)
    assert thr.pulses == [ns]


def test_throttle_pulse_scales_to_configured_limits():
    # 1100..1900 us: span 800 us; 8192 / 32768 of it = 200 us
    eng, thr, _, _ = armed_rig(throttle_min_ns=1100000, throttle_max_ns=1900000)
    eng.set_throttle(8192)
    assert thr.pulses == [1300000]


def test_disarmed_throttle_command_writes_the_zero_thrust_pulse():
    eng, thr, _, _ = rig()
    eng.set_throttle(20000)
    assert (thr.pulses, eng.throttle) == ([1000000], 0)


def test_negative_throttle_is_clamped_to_zero_thrust_and_counted():
    eng, thr, _, _ = armed_rig()
    eng.set_throttle(-5)
    assert (thr.pulses, eng.throttle, eng.throttle_clamps) == ([1000000], 0, 1)


def test_throttle_above_full_is_clamped_to_full_and_counted():
    eng, thr, _, _ = armed_rig()
    eng.set_throttle(32769)
    assert (thr.pulses, eng.throttle, eng.throttle_clamps) == ([2000000], 32768, 1)


def test_throttle_between_zero_and_the_minimum_is_raised_to_the_minimum():
    eng, _, _, _ = armed_rig(min_throttle=100)
    eng.set_throttle(1)
    assert (eng.throttle, eng.throttle_clamps) == (100, 1)


def test_negative_throttle_is_clamped_to_zero_thrust_not_raised_to_the_minimum():
    eng, thr, _, _ = armed_rig(min_throttle=100)
    eng.set_throttle(-5)
    assert (thr.pulses, eng.throttle, eng.throttle_clamps) == ([1000000], 0, 1)


def test_throttle_at_the_minimum_is_not_a_clamp():
    eng, _, _, _ = armed_rig(min_throttle=100)
    eng.set_throttle(100)
    assert (eng.throttle, eng.throttle_clamps, drain_events()) == (100, 0, [])


def test_zero_throttle_is_not_raised_to_the_minimum():
    eng, _, _, _ = armed_rig(min_throttle=100)
    eng.set_throttle(0)
    assert (eng.throttle, eng.throttle_clamps) == (0, 0)


@pytest.mark.parametrize("cmd, arg", [
    (40000, 40000),
    (-5, -5),
    (0x3FFFFFFE, 0x3FFFFFFE),      # the largest argument posted as is
    (0x3FFFFFFF, 0),               # beyond: 0 (keeps the event word small)
    (-0x3FFFFFFE, -0x3FFFFFFE),
    (-0x3FFFFFFF, 0),
])
def test_throttle_clamp_event_carries_the_command_within_2_to_30(cmd, arg):
    eng, _, _, _ = armed_rig()
    eng.set_throttle(cmd)
    assert drain_events() == [(EV_ENG_THROTTLE_CLAMP, arg)]


def test_throttle_clamp_event_is_posted_once_per_episode_and_each_clamp_counted():
    eng, _, _, _ = armed_rig()
    for q in (40000, 40001, 100, 40002):
        eng.set_throttle(q)
    assert (eng.throttle_clamps, drain_events()) == (
        3, [(EV_ENG_THROTTLE_CLAMP, 40000), (EV_ENG_THROTTLE_CLAMP, 40002)])


@pytest.mark.parametrize("exc", [OSError(5), ValueError("duty")])
def test_refused_throttle_pulse_is_counted_and_posts_a_pwm_error(exc):
    eng = Engine(Pwm(fail=exc), Pin(), Pwm())
    eng.arm()
    drain_events()
    eng.set_throttle(100)
    eng.set_throttle(200)
    assert (eng.errors, drain_events()) == (2, [(EV_ENG_PWM_ERROR, 0)] * 2)


# --- gimbal pulse ----------------------------------------------------------------

@pytest.mark.parametrize("angle, ns", [
    (0, 1500000),
    (1, 1500137),            # 35164 / 256 = 137.36
    (-1, 1499862),           # floor(-137.36)
    (2730, 1874991),         # 2730 * 35164 / 256 = 374,991.1
    (-2730, 1125008),        # floor(-374,991.1) = -374,992
])
def test_gimbal_pulse_is_centre_plus_angle_times_ns_per_bau(angle, ns):
    eng, _, _, gim = rig()
    eng.set_pitch(angle)
    assert (gim.pulses, eng.gimbal_ns, eng.pitch) == ([ns], ns, angle)


def test_pitch_at_the_limit_is_not_a_clamp():
    eng, _, _, _ = rig()
    eng.set_pitch(2730)
    eng.set_pitch(-2730)
    assert (eng.pitch_clamps, drain_events()) == (0, [])


def test_pitch_beyond_the_limit_is_clamped_to_it_and_counted():
    eng, _, _, gim = rig()
    eng.set_pitch(2731)
    assert (eng.pitch, gim.pulses, eng.pitch_clamps) == (2730, [1874991], 1)


def test_pitch_below_minus_the_limit_is_clamped_to_it_and_counted():
    eng, _, _, gim = rig()
    eng.set_pitch(-2731)
    assert (eng.pitch, gim.pulses, eng.pitch_clamps) == (-2730, [1125008], 1)


def test_pitch_clamp_event_is_plus_one_above_and_minus_one_below():
    eng, _, _, _ = rig()
    eng.set_pitch(5000)
    eng.set_pitch(0)
    eng.set_pitch(-5000)
    assert drain_events() == [(EV_ENG_PITCH_CLAMP, 1), (EV_ENG_PITCH_CLAMP, -1)]


def test_pitch_clamp_of_one_unit_with_a_locked_gimbal_posts_plus_one():
    eng, _, _, _ = rig(max_pitch_deg=0)
    eng.set_pitch(1)
    assert (eng.pitch, drain_events()) == (0, [(EV_ENG_PITCH_CLAMP, 1)])


def test_pitch_clamp_event_is_posted_once_per_episode_and_each_clamp_counted():
    eng, _, _, _ = rig()
    for a in (3000, 3001, 0, 3002):
        eng.set_pitch(a)
    assert (eng.pitch_clamps, drain_events()) == (
        3, [(EV_ENG_PITCH_CLAMP, 1), (EV_ENG_PITCH_CLAMP, 1)])


def test_pitch_without_a_gimbal_channel_reports_the_pulse_it_would_write():
    eng = Engine(Pwm(), Pin())
    eng.set_pitch(1)
    assert (eng.gimbal_ns, eng.errors) == (1500137, 0)


@pytest.mark.parametrize("exc", [OSError(5), ValueError("duty")])
def test_refused_gimbal_pulse_is_counted_and_posts_a_pwm_error_with_argument_one(exc):
    eng = Engine(Pwm(), Pin(), Pwm(fail=exc))
    eng.set_pitch(10)
    eng.set_pitch(20)
    assert (eng.errors, drain_events()) == (2, [(EV_ENG_PWM_ERROR, 1)] * 2)
