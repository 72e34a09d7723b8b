"""Navigation (issue 8): the estimator's decisions on synthetic measurements
(an estimator-only harness: no bench, no physics), bad input, the built-in
test, and the museum flights' estimate numbers with the firmware in the loop."""
import os
from array import array

import pytest

import host_tools
from host_tools.sim import runner, scenario as scenario_mod
from lander import estimator as E
from lander.config import Config
from lander.drivers import DISABLED, NOT_READY, OK

RATE = 50
G = 1620


class Imu:
    def __init__(self):
        self.accel_mm_s2 = array("i", (0, 0, G))
        self.gyro_urad_s = array("i", (0, 0, 0))
        self.status = OK
        self.n = 0

    def set(self, fz, fx=0, gy=0):
        self.n += 1
        # a little deterministic "noise" so the sample never looks frozen
        self.accel_mm_s2[2] = fz + (self.n & 1)
        self.accel_mm_s2[0] = fx
        self.gyro_urad_s[1] = gy

    def read(self):
        return self.status


class Alt:
    def __init__(self):
        self.range_mm = 0
        self.enabled = True
        self.status = OK

    def read(self):
        return self.status


class Flight:
    """Vehicle at constant velocity (the IMU reads gravity: zero net
    acceleration), pitch 0, beam straight down; terrain(x_mm) -> mm."""

    def __init__(self, alt_mm, vz_mm_s, vx_mm_s, terrain=lambda x: 0, cfg=None):
        self.nav = E.Nav(cfg or Config())
        self.nav.init_from(alt_mm, vz_mm_s, vx_mm_s, 0)
        self.imu = Imu()
        self.alt = Alt()
        self.z = alt_mm + terrain(0)     # above the datum (terrain at x = 0)
        self.x = 0
        self.vz = vz_mm_s
        self.vx = vx_mm_s
        self.terrain = terrain
        self.k = 0
        self.range_bias = 0

    def true_alt(self):
        return self.z - self.terrain(self.x)

    def step(self, n=1, alt_status=None, range_mm=None):
        for _ in range(n):
            self.k += 1
            self.z += self.vz // RATE
            self.x += self.vx // RATE
            self.imu.set(G)
            st = NOT_READY
            if self.k % 2 == 0:          # a fresh range every other cycle (25 Hz)
                st = OK
                self.alt.range_mm = self.true_alt() + self.range_bias if range_mm is None else range_mm
            if alt_status is not None:
                st = alt_status
            self.nav.update(20971, self.imu, OK, None, NOT_READY, self.alt, st, None, False)

    def error_mm(self):
        return abs(self.nav.altitude_mm - self.true_alt())


def test_an_accelerometer_bias_is_estimated_from_the_altimeter():
    f = Flight(1000000, -5000, 0)
    for _ in range(3000):                # 60 s with the accelerometer reading 30 mm/s^2 high
        f.k += 1
        f.z += f.vz // RATE
        f.imu.set(G + 30)
        st = NOT_READY
        if f.k % 2 == 0:
            st = OK
            f.alt.range_mm = f.true_alt()
        f.nav.update(20971, f.imu, OK, None, NOT_READY, f.alt, st, None, False)
    assert 15 <= f.nav.accel_bias_mm_s2 <= 45
    assert f.error_mm() < 1000


def test_flat_descent_tracks_the_altitude_within_a_metre():
    f = Flight(2000000, -20000, 0)
    f.step(1500)                         # 30 s
    assert f.error_mm() < 1000
    assert abs(f.nav.vz_mm_s + 20000) < 200
    assert f.nav.alt_reject_counts[E.G_OUTLIER] == 0


def test_a_3_km_drop_under_the_beam_is_a_terrain_step_not_a_fault():
    # Hakuto-R M1: the range jumps by 3 km at a crater rim. The datum height
    # stays smooth, the terrain under the beam takes the step within
    # N_CONFIRM samples, and the altimeter is never declared failed.
    def terrain(x):
        return 0 if x < 400000 else -3000000
    f = Flight(5000000, -40000, 80000, terrain)
    f.step(240)                          # x = 384 m: before the rim
    h_before = f.nav.height_mm
    f.step(40)                           # cross the rim (0.8 s)
    assert f.nav.terrain_steps == 1
    assert abs(f.nav.terrain_mm + 3000000) < 20000
    assert abs(f.nav.height_mm - (h_before - 40 * 800)) < 2000   # inertial, smooth
    assert f.error_mm() < 50000
    assert f.nav.fault_flags & (E.F_ALT_OFFSET | E.F_ALT_STUCK) == 0


def test_a_sudden_100_m_range_offset_at_a_place_just_measured_is_removed_not_believed():
    f = Flight(500000, -5000, 0)
    f.step(200)
    f.range_bias = 100000
    f.step(200)
    assert f.nav.fault_flags & E.F_ALT_OFFSET
    assert abs(f.nav.alt_offset_mm - 100000) < 5000
    assert f.error_mm() < 5000
    assert f.nav.terrain_steps == 0


def test_single_wild_outliers_are_rejected_and_counted():
    f = Flight(1000000, -10000, 0)
    f.step(100)
    for _ in range(5):
        f.step(2, range_mm=9000000)       # one wild sample...
        f.step(20)                        # ...then good ones
    assert f.nav.alt_reject_counts[E.G_OUTLIER] == 5
    assert f.error_mm() < 1000
    assert f.nav.terrain_steps == 0


@pytest.mark.parametrize("bad", [0, -5, E.MAX_RANGE_MM, 0x3FFFFFFF])
def test_sentinel_and_absurd_ranges_never_reach_the_state(bad):
    f = Flight(1000000, -10000, 0)
    f.step(50)
    h = f.nav.height_mm
    f.step(2, range_mm=bad)
    assert f.nav.alt_reject_counts[E.G_RANGE] == 1
    assert abs(f.nav.height_mm - (h - 400)) < 50


def test_invalid_driver_status_is_counted_not_used():
    f = Flight(1000000, -10000, 0)
    f.step(10, alt_status=3)              # INVALID
    assert f.nav.alt_reject_counts[E.G_STATUS] == 10
    assert f.nav.alt_updates == 0


def test_a_stuck_altimeter_is_declared_and_rejected():
    f = Flight(1000000, -10000, 0)
    f.step(20)
    f.step(2 * (E.N_STUCK + 5), range_mm=990000)
    assert f.nav.fault_flags & E.F_ALT_STUCK
    assert f.nav.alt_reject_counts[E.G_STUCK] >= 5


def test_a_saturated_imu_sample_is_rejected_and_the_secondary_is_used():
    nav = E.Nav(Config())
    nav.init_from(1000000, 0, 0, 0)
    imu1, imu2 = Imu(), Imu()
    for i in range(10):
        imu1.set(G)
        imu2.set(G)
        nav.update(20971, imu1, OK, imu2, OK, None, NOT_READY, None, False)
    imu1.accel_mm_s2[2] = 32767 * 5 // 4        # a +16 g spike (beyond ACC_LIMIT)
    imu2.set(G)
    nav.update(20971, imu1, OK, imu2, OK, None, NOT_READY, None, False)
    assert nav.imu_rejects == 1
    assert nav.imu_used == 2
    assert abs(nav.vz_mm_s) < 10


def test_no_imu_coasts_on_the_commanded_thrust():
    class Ctrl:
        mass_kg_q10 = 400 * 1024
        thrust_cmd_mn = 400 * G             # hover: thrust / mass = g
    nav = E.Nav(Config())
    nav.init_from(1000000, 0, 0, 0)
    for _ in range(50):
        nav.update(20971, None, NOT_READY, None, NOT_READY, None, NOT_READY, Ctrl(), False)
    assert nav.fault_flags & E.F_NO_IMU
    assert nav.imu_used == 0
    assert abs(nav.vz_mm_s) < 20


def test_never_valid_altimeter_is_reported_and_navigation_goes_on():
    f = Flight(1000000, -10000, 0)
    f.step(E.NEVER_VALID_CYCLES + 10, alt_status=DISABLED)
    assert f.nav.fault_flags & E.F_ALT_NEVER
    assert f.error_mm() < 100


def test_checkpoint_round_trip_restores_the_navigation_state():
    f = Flight(2000000, -20000, 30000)
    f.step(300)
    words = array("i", bytes(4 * E.CHECKPOINT_WORDS))
    f.nav.checkpoint_into(words, 0)
    nav2 = E.Nav(Config())
    nav2.restore_from(words, 0)
    for name in ("altitude_mm", "height_mm", "vz_mm_s", "vx_mm_s", "x_mm", "pitch_bau",
                 "terrain_mm", "fault_flags"):
        assert getattr(nav2, name) == getattr(f.nav, name), name


def test_checkpoint_keeps_the_map_window_around_the_vehicle():
    # CK_MAP bins from CK_BEHIND behind the vehicle (along the beam's look),
    # one word each: level to 32 mm (+/-8.4 km, clamped), samples, steep,
    # confirmed, sigma rounded up (512 mm steps to 7.68 m, 8.192 m steps to
    # 131 m); bins outside the window and unseen ones are not restored
    f = Flight(2000000, -20000, 30000)
    f.step(100)
    nav = f.nav
    bv = (nav.x_mm - E.MAP_X0_MM) >> E.MAP_SHIFT
    b0 = bv - E.CK_BEHIND
    cases = {b0: (-3000017, 12, 0, 1, 300, 512), b0 + 1: (123456, 1, 0, 0, 7680, 7680),
             b0 + 2: (-16, 3, 1, 0, 7681, 8192), b0 + 3: (9000000, 2, 0, 1, 200000, 131072)}
    for j, (lv, c, st, cf, ms, _) in cases.items():
        nav._map[j], nav._cnt[j], nav._steep[j], nav._conf[j], nav._msig[j] = lv, c, st, cf, ms
    nav._map[b0 + 4], nav._cnt[b0 + 4] = 777000, 0                 # unseen: not kept
    nav._map[b0 - 1], nav._cnt[b0 - 1] = 555000, E.N_MAP           # outside the window
    words = array("i", bytes(4 * E.CHECKPOINT_WORDS))
    nav.checkpoint_into(words, 0)
    assert words[20] == b0
    nav2 = E.Nav(Config())
    nav2.restore_from(words, 0)
    for j, (lv, c, st, cf, ms, ms2) in cases.items():
        want = max(-0x3FFFF * 32, min(0x3FFFF * 32, lv))
        assert abs(nav2._map[j] - want) <= 16, j
        assert (nav2._cnt[j], nav2._steep[j], nav2._conf[j], nav2._msig[j]) == (c, st, cf, ms2), j
    assert nav2._cnt[b0 + 4] == 0 and nav2._map[b0 + 4] == 0
    assert nav2._cnt[b0 - 1] == 0 and nav2._map[b0 - 1] == 0
    assert nav2._map[b0 + 3] == 0x3FFFF * 32                         # 8,388,576 mm: clamped


def test_cold_start_initialises_from_agreeing_altimeter_samples():
    nav = E.Nav(Config())
    imu, alt = Imu(), Alt()
    alt.range_mm = 800000
    for i in range(2 * E.N_CONFIRM):
        imu.set(G)
        nav.update(20971, imu, OK, None, NOT_READY, alt, OK, None, False)
    assert nav.initialised
    assert abs(nav.altitude_mm - 800000) < 1000


# --- pre-descent built-in test -------------------------------------------

class Board:
    def __init__(self):
        self.imu = Imu()
        self.imu2 = Imu()
        self.altimeter = Alt()
        self.altimeter.range_mm = 8000000


def test_built_in_test_passes_a_healthy_vehicle():
    assert E.built_in_test(Board()) == E.BIT_OK


def test_built_in_test_names_an_altimeter_that_never_acknowledged_its_enable():
    # IM-1: the rangefinder's enable was never switched.
    b = Board()
    b.altimeter.enabled = False
    b.altimeter.status = DISABLED
    code = E.built_in_test(b)
    assert code == E.BIT_ALT_NOT_ENABLED


def test_built_in_test_names_a_secondary_imu_that_failed_at_start_up():
    b = Board()
    b.imu2 = None
    b.failed = [("imu2", "BMI088 gyro on I2C addr 0x68: no answer")]
    assert E.built_in_test(b) == E.BIT_NO_IMU2


def test_built_in_test_does_not_ask_for_a_part_the_board_is_not_wired_for():
    b = Board()
    b.imu2 = None
    b.failed = []
    assert E.built_in_test(b) == E.BIT_OK


# --- museum flights (firmware in the loop): the estimate numbers ------------

MUSEUM = os.path.join(host_tools.SCENARIOS_DIR, "museum")
# Below 100 m: the goal is < 1 m except the bias case (its own table).
# Measured: 02 0.46 m, 03 0.17 m, 04 0.97 m, 07 0.42 m, 05 1.83 m (IMU only, no
# altimeter), 06 1.10 m. 04 was 4.89 m: a lone wild range (2 % outliers) as a
# bin's first sample made the bin a noisy average instead of the plain's level
# (40.7 m in the last 1000 m, now 7.8 m); the noise estimate started at the
# spec (17 times too small at 8 km) and the first seconds bent the velocity
# for the rest of the descent (it starts at 8 times the spec now); and the
# floored bias update drifted the bias ~0.4 mm/s^2 a second. 02 was 1.22 m:
# the same bias drift, and the velocity following the far-mapped floor's
# +/-7 m bins too slowly (navgains Q_ACC 1e-3, was 1e-4).
# 04 on seeds 0-40: 0.45 to 4.88 m, mean 2.06 m (33 over 1 m). Not reachable on
# every seed by any estimator: even one that knows the true velocity and
# weights every range ever by its true noise (0.5 m + 5 % of the range) errs
# 0.69 m (1 sigma) at 100 m, 1.44 m on seed 1 (measured on the recorded
# ranges); the pinned seed measures 0.97 m (0.91 before the young-noise
# tolerance, _YOUNG_N).
BELOW_100M = {"02_hover_false_zero.toml": 1.0, "03_late_altimeter.toml": 1.0,
              "04_noisy_altimeter.toml": 1.0, "05_altimeter_never_enabled.toml": 3.0,
              "06_altimeter_bias.toml": 60.0, "07_imu_reset_then_command.toml": 1.0}


def _fly(name):
    sc = scenario_mod.load(os.path.join(MUSEUM, name))
    return sc, runner.fly(sc, record=False).summary


@pytest.mark.parametrize("name", sorted(BELOW_100M))
def test_museum_estimate_meets_its_pass_table(name):
    sc, summary = _fly(name)
    est = summary["estimate"]
    p = sc["pass"]
    assert est["longest_divergence_s"] <= p["max_divergence_s"]
    if p["max_alt_error_m"] is not None:
        assert est["max_error_last_1000m_m"] <= p["max_alt_error_m"]
    assert est["max_error_below_100m_m"] < BELOW_100M[name]


def test_museum_crater_rim_estimate_never_diverges_over_5_s():
    # the crater's near wall, unseen by the beam 45 deg ahead, is crossed with
    # the beam turned down (guidance over nav's shadow) and mapped as steep ground
    sc, summary = _fly("01_crater_rim.toml")
    assert summary["estimate"]["longest_divergence_s"] <= 5.0


def test_museum_never_enabled_altimeter_is_named_by_the_bit_and_the_flight_goes_on():
    sc, summary = _fly("05_altimeter_never_enabled.toml")
    assert summary["events"].get("EV_NAV_ALT_NEVER_VALID") == 1
    assert summary["outcome"] in sc["pass"]["outcomes"]
    assert summary["estimate"]["longest_divergence_s"] == 0.0


@pytest.mark.parametrize("beam_deg", [-20.0, 20.0])
def test_the_beam_mounting_sign_agrees_end_to_end(beam_deg):
    # docs/scenarios.md: beam_deg from the body -z axis toward body +x, the
    # simulator's ray cast and the firmware's slant geometry (cos/sin of beam -
    # pitch) use the same convention. Braking at -45 deg pitch the beam is 25 or
    # 65 deg from the vertical: a sign flipped on either side scales the
    # measured height by cos 65 / cos 25 (or back) and the estimate runs away.
    # Measured: 1.8 m (-20) and 0.9 m (+20) in the last 1000 m, no divergence.
    sc = scenario_mod.load(os.path.join(host_tools.SCENARIOS_DIR, "nominal.toml"))
    sc["sensors"]["altimeter"]["beam_deg"] = beam_deg
    s = runner.fly(sc, record=False).summary
    assert s["outcome"] == "landed"
    assert s["estimate"]["max_error_last_1000m_m"] < 3.0
    assert s["estimate"]["longest_divergence_s"] == 0.0


def test_a_coast_error_far_beyond_the_noise_is_taken_at_once_when_the_altimeter_returns():
    # museum 03's shape: 4 s of ranges (the noise estimate comes down from its
    # start at 8 times the spec to the spec), then the estimate's vertical
    # velocity 2 m/s slow (the vehicle 2 m/s faster than it believes) and the
    # altimeter silent for 20 s (1000 cycles): the height is 40 m high when
    # ranges return. The first range (2.3 m sigma at 1 km, 40 m > 4 sigma)
    # resets the height and takes the coast's mean rate off the velocity
    # (40 m / 20 s = 2 m/s), instead of spreading it through the filter
    f = Flight(2000000, -20000, 0)
    f.step(200)
    assert f.nav.alt_sigma_meas_mm == E.SIGMA_M0_MM + (f.nav.meas_alt_mm >> 9)
    f.vz = -22000
    f.step(1000, alt_status=NOT_READY)
    assert 39000 <= f.nav.altitude_mm - f.true_alt() <= 41000
    f.step(2)                            # one fresh range
    assert f.error_mm() <= 150           # the slant quantisation at pitch 0: r / 32768 = 61 mm
    assert abs(f.nav.vz_mm_s + 22000) <= 20


def test_a_coast_error_within_the_noise_goes_through_the_filter():
    # the same coast with the velocity 0.2 m/s slow: 4 m at the return, under
    # 4 sigma (16.8 m): the steady-state gains take a share of it, no reset
    f = Flight(2000000, -20000, 0)
    f.nav.init_from(2000000, -19800, 0, 0)
    f.step(1000, alt_status=NOT_READY)
    before = f.nav.altitude_mm - f.true_alt()
    f.step(2)
    after = f.nav.altitude_mm - f.true_alt()
    assert 3900 <= before <= 4100
    assert 0.5 * before < after < before


def test_ranges_at_a_height_where_returns_are_being_lost_are_rejected():
    # a part at the end of its reach returns only the short half of its
    # noise: after a lost return (a status other than NOT_READY) ranges near
    # that height are rejected for CEN_HOLD cycles (G_RANGE), then used again
    f = Flight(2000000, -10000, 0)
    f.step(100)
    f.step(1, alt_status=DISABLED)
    f.range_bias = -30000                # the short ones
    f.step(2)
    assert f.nav.alt_gate == E.G_RANGE
    f.range_bias = 0
    f.step(E.CEN_HOLD + 2)
    assert f.nav.alt_gate == E.G_ACCEPT


def test_a_lone_wild_range_as_a_new_bin_s_first_sample_does_not_make_it_new_ground():
    # museum 04's 2 % outliers: a wild range (31 m short: beyond the 20 m
    # tolerance) lands first in the bin the beam enters (bin 36 from x =
    # 262.1 m): mapped as a first sample of new ground; the next range
    # disagrees with it and is level with the plain: the bin is the plain's
    # level at once and that range measures the height (it used to restart
    # the bin from it: an average of the next 12 samples, never the plain's)
    f = Flight(1000000, -2000, 50000)              # 1 m a cycle, a range every other one
    f.step(263)                                    # 131 ranges: the noise estimate is down to the spec
    assert f.nav._cnt[36] == 0
    f.step(1, range_mm=f.true_alt() - 31000)       # k = 264: x = 264 m
    assert f.nav.alt_gate == E.G_MAPPED and f.nav._cnt[36] == 1
    f.step(2)
    assert f.nav.alt_gate == E.G_ACCEPT
    assert f.nav._map[36] == 0 and f.nav._cnt[36] == E.N_MAP


def test_the_noise_estimate_starts_at_8_times_the_spec_and_comes_down_to_what_ranges_show():
    # handover at 8 km: the spec is 0.3 m + 8000 m / 512 = 15.9 m; the first
    # range is judged at 8 times that (127.4 m: mean |innovation| 101.9 m x
    # 5/4), not trusted at the spec before the part's noise has been seen
    f = Flight(8000000, -40000, 0)
    f.step(1)
    assert f.nav._mad == ((300 + (8000000 >> 9)) * 32) // 5 == 101920
    f.step(1)                            # the first range
    assert f.nav.alt_sigma_meas_mm == 101920 + (101920 >> 2) == 127400
    f.step(600)                          # 300 exact ranges: down to the spec
    assert f.nav.alt_sigma_meas_mm == E.SIGMA_M0_MM + (f.nav.meas_alt_mm >> 9)
