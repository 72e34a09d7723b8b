"""Navigation (issue 8): the accelerometer biases measured in free fall.

With the engine out, a lunar coast has no force but gravity: the specific force
is zero, so what each accelerometer axis reads is its bias plus noise. The
estimator averages it (both axes, each IMU) and removes it once the engine is
lit: the body x bias, which no other sensor sees (museum 02), stops the
horizontal velocity drifting. Estimator-only harness: no bench, no physics."""
from array import array

import pytest

from lander import estimator as E
from lander.config import Config
from lander.drivers import NOT_READY, OK

from tests.app_fakes import fresh_event_ring  # noqa: F401

# each Nav posts events into the one global ring: leave it empty for the
# executive's tests that count what they post
pytestmark = pytest.mark.usefixtures("fresh_event_ring")

G = 1620            # mm/s^2 (the default configuration's gravity)
DT = 20971          # one 50 Hz period, Q20 s


class Imu:
    def __init__(self):
        self.accel_mm_s2 = array("i", (0, 0, 0))
        self.gyro_urad_s = array("i", (0, 0, 0))
        self.n = 0

    def set(self, fz, fx):
        # z alternates by 1 mm/s^2 so that the sample never looks frozen
        self.n += 1
        self.accel_mm_s2[0] = fx
        self.accel_mm_s2[2] = fz + (self.n & 1)


class Ctrl:
    def __init__(self, throttle_q15=0, thrust_model_q15=0):
        self.throttle_q15 = throttle_q15
        self.thrust_model_q15 = thrust_model_q15
        self.mass_kg_q10 = 400 * 1024
        self.thrust_cmd_mn = 0


def _nav(vz=-40000, vx=80000):
    nav = E.Nav(Config())
    nav.init_from(5000000, vz, vx, 0)
    return nav


def _fly(nav, imu, n, fz, fx, ctrl):
    for _ in range(n):
        imu.set(fz, fx)
        nav.update(DT, imu, OK, None, NOT_READY, None, NOT_READY, ctrl, False)


def test_free_fall_samples_are_averaged_into_each_axis_bias():
    # 100 samples: x reads 30, z reads 30 and 31 alternately (mean 30.5)
    nav, imu = _nav(), Imu()
    _fly(nav, imu, 100, 30, 30, Ctrl())
    assert nav.free_fall_cycles == 100
    assert nav.free_fall_n[0] == 100
    assert nav.accel_cal_q4[0] == 30 * 16                 # 480
    assert nav.accel_cal_q4[1] == 3050 * 16 // 100        # 30.5 * 16 = 488


def test_in_free_fall_only_gravity_moves_the_velocity():
    # biased readings (+30 mm/s^2 on both axes) for 1 s: the horizontal
    # velocity stays exactly, the vertical one falls by g (1 s * 1620 mm/s^2)
    nav, imu = _nav(vz=-40000, vx=80000), Imu()
    _fly(nav, imu, 50, 30, 30, Ctrl())
    assert nav.vx_mm_s == 80000
    assert abs(nav.vz_mm_s - (-40000 - G)) <= 1


def test_once_lit_the_measured_biases_are_removed():
    # 2 s of coast calibrate (x 30, z 30.5); then hovering (thrust = g) for
    # 10 s, the IMU reading the hover force plus the same biases: neither
    # velocity moves (uncorrected, vx would gain 300 mm/s)
    nav, imu = _nav(vz=0, vx=0), Imu()
    _fly(nav, imu, 100, 30, 30, Ctrl())
    vz0 = nav.vz_mm_s                          # -2 s * g
    _fly(nav, imu, 500, G + 30, 30, Ctrl(throttle_q15=8000, thrust_model_q15=8000))
    assert nav.free_fall_cycles == 100
    assert abs(nav.vx_mm_s) <= 2
    # z: 30.5 removed as 31 (whole mm/s^2), the reading 30 / 31: -0.5 mm/s^2 for 10 s
    assert abs(nav.vz_mm_s - vz0 + 5) <= 2


def test_with_the_engine_commanded_on_nothing_is_calibrated():
    nav, imu = _nav(vz=0, vx=0), Imu()
    _fly(nav, imu, 100, 30, 30, Ctrl(throttle_q15=100, thrust_model_q15=0))
    assert nav.free_fall_cycles == 0
    assert nav.free_fall_n[0] == 0
    assert nav.accel_cal_q4[0] == 0
    # ...and the engine's tail (modelled thrust still above FF_THRUST_OFF) neither
    _fly(nav, imu, 100, 30, 30, Ctrl(throttle_q15=0, thrust_model_q15=E.FF_THRUST_OFF))
    assert nav.free_fall_n[0] == 0


def test_a_push_beyond_the_free_fall_limit_is_believed_not_calibrated():
    # engine out but 400 mm/s^2 along x (> FF_LIMIT): a force, not a bias;
    # 1 s of it moves vx by 400 mm/s
    nav, imu = _nav(vz=0, vx=0), Imu()
    _fly(nav, imu, 50, 0, 400, Ctrl())
    assert nav.free_fall_cycles == 0
    assert nav.free_fall_n[0] == 0
    assert abs(nav.vx_mm_s - 400) <= 2


def test_a_calibration_is_bounded_by_the_parts_offset_spec():
    # 250 mm/s^2 (inside FF_LIMIT, beyond ACC_BIAS_MAX = 200): bounded
    nav, imu = _nav(), Imu()
    _fly(nav, imu, 60, 250, -250, Ctrl())
    assert nav.accel_cal_q4[0] == -E.ACC_BIAS_MAX * 16
    assert nav.accel_cal_q4[1] == E.ACC_BIAS_MAX * 16


def test_a_calibration_is_used_only_after_ff_min_samples():
    # FF_MIN - 1 samples of x = 30, then lit for 1 s with the bias: not yet
    # removed (vx gains 30 mm/s); one more free-fall sample makes it used
    nav, imu = _nav(vz=0, vx=0), Imu()
    _fly(nav, imu, E.FF_MIN - 1, 0, 30, Ctrl())
    _fly(nav, imu, 50, G, 30, Ctrl(throttle_q15=8000, thrust_model_q15=8000))
    assert abs(nav.vx_mm_s - 30) <= 2


def test_a_mean_within_its_own_noise_is_not_removed():
    # x alternates -40 / +44 (mean 2, sample sigma 42): the mean's own sigma
    # is 42 / sqrt(100) = 4.2, 2 < 3 sigma: published, not removed (lit 5 s,
    # vx moves by the true mean: 2 mm/s^2 * 5 s = 10 mm/s); z reads 30 +- 0.5,
    # far beyond its sigma (0.05): removed
    nav, imu = _nav(vz=0, vx=0), Imu()
    for k in range(100):
        _fly(nav, imu, 1, 30, -40 if k & 1 else 44, Ctrl())
    assert nav.accel_cal_q4[0] == 2 * 16
    vx0 = nav.vx_mm_s
    vz0 = nav.vz_mm_s
    for k in range(250):
        _fly(nav, imu, 1, G + 30, -40 if k & 1 else 44, Ctrl(throttle_q15=8000, thrust_model_q15=8000))
    assert abs(nav.vx_mm_s - vx0 - 10) <= 2
    assert abs(nav.vz_mm_s - vz0) <= 5


_PUBLISHED = ("altitude_mm", "height_mm", "terrain_mm", "site_alt_mm", "vz_mm_s", "vx_mm_s", "x_mm",
              "pitch_bau", "accel_thrust_mm_s2", "accel_bias_mm_s2", "fault_flags", "imu_used")


def test_a_restore_mid_flight_gives_the_uninterrupted_run_s_next_estimates():
    # 2 s of coast calibrate (x -20, z 30.5, removed as 31), 1 s lit; the
    # state checkpointed and restored on another Nav: fed the same samples,
    # the two publish the same estimates, cycle after cycle. Without the
    # calibration in the checkpoint the restored one would gain 20 mm/s of
    # vx a second (a warm restart on museum 02's bias)
    nav, imu = _nav(vz=0, vx=0), Imu()
    lit = Ctrl(throttle_q15=8000, thrust_model_q15=8000)
    _fly(nav, imu, 100, 30, -20, Ctrl())
    _fly(nav, imu, 50, G + 30, -20, lit)
    words = array("i", bytes(4 * E.CHECKPOINT_WORDS))
    nav.checkpoint_into(words, 0)
    nav2 = E.Nav(Config())
    nav2.restore_from(words, 0)
    assert list(nav2._cal) == list(nav._cal) == [-20, 31, 0, 0]
    imu2 = Imu()
    imu2.n = imu.n
    for _ in range(250):
        _fly(nav, imu, 1, G + 30, -20, lit)
        _fly(nav2, imu2, 1, G + 30, -20, lit)
        for name in _PUBLISHED:
            assert getattr(nav2, name) == getattr(nav, name), name
    assert abs(nav2.vx_mm_s) <= 2


def test_a_restored_calibration_is_not_averaged_further_one_not_in_use_starts_over():
    # IMU 1 calibrated (frozen after a restore: its sums are not kept); a
    # second coast after the restore does not move it
    nav, imu = _nav(vz=0, vx=0), Imu()
    _fly(nav, imu, 100, 30, -20, Ctrl())
    words = array("i", bytes(4 * E.CHECKPOINT_WORDS))
    nav.checkpoint_into(words, 0)
    nav2 = E.Nav(Config())
    nav2.restore_from(words, 0)
    assert nav2.free_fall_n[0] == E.FF_MAX and nav2.free_fall_n[1] == 0
    _fly(nav2, imu, 100, 0, 0, Ctrl())
    assert list(nav2._cal) == [-20, 31, 0, 0]
    assert nav2.accel_cal_q4[0] == -20 * 16
