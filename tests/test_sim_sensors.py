"""Truth -> physical sensor values, and the mapping of scenario faults onto the
emulators."""
import math

import numpy as np
import pytest

from host_tools.emu.bench import sim_bench
from host_tools.sim import scenario
from host_tools.sim.physics import Dynamics
from host_tools.sim.sensors import BenchLink, Sensors
from host_tools.sim.terrain import Terrain

QUIET = {
    "imu": {"accel_noise_mps2": 0.0, "gyro_noise_dps": 0.0},
    "imu2": {"accel_noise_mps2": 0.0, "gyro_noise_dps": 0.0},
    "altimeter": {"noise": 0.0},
    "rangefinder": {"noise": 0.0},
    "baro": {"noise": 0.0},
    "power": {"noise": 0.0},
}


def _setup(sensors=None, gravity=1.62, z=1000.0, pitch_deg=0.0, seed=0, **top):
    sens = {k: dict(v) for k, v in QUIET.items()}
    for part, cfg in (sensors or {}).items():
        sens.setdefault(part, {}).update(cfg)
    sc = scenario.validate(dict({"name": "t", "gravity_mps2": gravity, "sensors": sens}, **top))
    terr = Terrain([{"kind": "flat"}])
    dyn = Dynamics(sc["vehicle"], gravity, 0.0, z, 0.0, 0.0, math.radians(pitch_deg))
    return sc, Sensors(sc, terr, np.random.default_rng(seed)), dyn


def test_free_fall_reads_zero_specific_force():
    _, s, dyn = _setup()
    acc, gyr = s.sample(0.0, dyn, False, [False] * 4)["imu"]
    assert acc == [0.0, 0.0, 0.0] and gyr == [0.0, 0.0, 0.0]


def test_thrust_reads_along_body_z():
    _, s, dyn = _setup(pitch_deg=20.0)
    dyn.thrust = 2100.0
    acc, _ = s.sample(0.0, dyn, False, [False] * 4)["imu"]
    assert acc == pytest.approx([0.0, 0.0, 2100.0 / 420.0])


def test_resting_on_the_ground_reads_the_reaction_in_body_axes():
    _, s, dyn = _setup(pitch_deg=10.0)
    acc, gyr = s.sample(0.0, dyn, True, [True] * 4)["imu"]
    p = math.radians(10.0)
    assert acc == pytest.approx([-1.62 * math.sin(p), 0.0, 1.62 * math.cos(p)])
    assert gyr == [0.0, 0.0, 0.0]


def test_gyro_y_is_the_pitch_rate():
    _, s, dyn = _setup()
    dyn.q = 0.25
    _, gyr = s.sample(0.0, dyn, False, [False] * 4)["imu2"]
    assert gyr == pytest.approx([0.0, 0.25, 0.0])


def test_altimeter_reads_slant_range_along_the_beam():
    # thrust axis pitched back (-20 deg, braking): the bottom faces forward, so a
    # beam mounted 20 deg toward body -x points straight down
    _, s, dyn = _setup(sensors={"altimeter": {"beam_deg": -20.0}}, pitch_deg=-20.0)
    assert s.sample(0.0, dyn, False, [False] * 4)["altimeter"] == pytest.approx(1000.0)
    _, s, dyn = _setup(sensors={"altimeter": {"beam_deg": 0.0}}, pitch_deg=-20.0)
    assert s.sample(0.0, dyn, False, [False] * 4)["altimeter"] == pytest.approx(
        1000.0 / math.cos(math.radians(20.0)))


def test_altimeter_beyond_max_range_is_none():
    _, s, dyn = _setup(sensors={"altimeter": {"max_range_m": 500.0}})
    assert s.sample(0.0, dyn, False, [False] * 4)["altimeter"] is None


def test_rangefinder_only_near_the_ground():
    _, s, dyn = _setup(z=5.0)
    assert s.sample(0.0, dyn, False, [False] * 4)["rangefinder"] == pytest.approx(5.0)
    _, s, dyn = _setup(z=50.0)
    assert s.sample(0.0, dyn, False, [False] * 4)["rangefinder"] is None


def test_barometer_follows_an_exponential_atmosphere_on_earth_only():
    _, s, dyn = _setup(gravity=9.81, z=843.4)
    assert s.sample(0.0, dyn, False, [False] * 4)["baro"] == pytest.approx(101325.0 * math.exp(-0.1))
    _, s, dyn = _setup(gravity=1.62)
    assert s.sample(0.0, dyn, False, [False] * 4)["baro"] == 0.0


def test_noise_and_bias_have_their_statistics():
    _, s, dyn = _setup(sensors={"altimeter": {"noise": 2.0, "bias": 5.0}}, seed=4)
    r = np.array([s.sample(0.0, dyn, False, [False] * 4)["altimeter"] for _ in range(4000)])
    assert r.mean() == pytest.approx(1005.0, abs=0.2)
    assert r.std() == pytest.approx(2.0, rel=0.05)


def test_outlier_rate_is_respected():
    _, s, dyn = _setup(sensors={"altimeter": {"outlier_rate": 0.1}}, seed=5)
    r = np.array([s.sample(0.0, dyn, False, [False] * 4)["altimeter"] for _ in range(5000)])
    frac = np.mean(np.abs(r - 1000.0) > 1.0)
    assert 0.08 < frac < 0.12


def test_dropouts_disabled_and_invalid_altimeter_read_none():
    for cfg in ({"dropouts": [[0.0, 1.0]]}, {"enabled": False}, {"valid_flag_never_set": True}):
        _, s, dyn = _setup(sensors={"altimeter": cfg})
        assert s.sample(0.5, dyn, False, [False] * 4)["altimeter"] is None, cfg
    _, s, dyn = _setup(sensors={"altimeter": {"dropouts": [[0.0, 1.0]]}})
    assert s.sample(1.0, dyn, False, [False] * 4)["altimeter"] == pytest.approx(1000.0)


def test_stuck_sensor_repeats_its_last_value():
    _, s, dyn = _setup(sensors={"altimeter": {"stuck_at_s": 1.0}})
    s.sample(0.9, dyn, False, [False] * 4)
    dyn.z = 700.0
    assert s.sample(1.5, dyn, False, [False] * 4)["altimeter"] == pytest.approx(1000.0)


def test_power_loss_reads_zero_volts():
    _, s, dyn = _setup()
    assert s.sample(0.0, dyn, False, [False] * 4)["power"] == pytest.approx(28.0)
    s.power_off = True
    assert s.sample(0.0, dyn, False, [False] * 4)["power"] == 0.0


def test_bench_link_maps_part_faults_onto_the_emulators():
    sc, s, dyn = _setup(sensors={
        "altimeter": {"enabled": False, "dropouts": [[2.0, 3.0]]},
        "rangefinder": {"valid_flag_never_set": True},
        "imu": {"bus_faults": {"nack_rate": 0.25}},
    })
    bench = sim_bench(1)
    BenchLink(bench, sc)
    alt = bench.parts["altimeter"].faults
    assert alt.ignore_enable and alt.in_dropout(2.5) and not alt.in_dropout(3.5)
    assert bench.parts["rangefinder"].faults.valid_never_set
    assert bench.parts["imu"].faults.nack_rate == 0.25


def test_bench_link_sets_the_physical_values():
    sc, s, dyn = _setup(z=5.0)
    dyn.thrust = 840.0
    bench = sim_bench(1)
    link = BenchLink(bench, sc)
    link.push(s.sample(0.0, dyn, False, [True, False, True, False]), 0.0)
    P = bench.parts
    assert P["imu"].accel_m_s2 == pytest.approx([0.0, 0.0, 2.0])
    assert P["imu2_acc"].accel_m_s2 == pytest.approx([0.0, 0.0, 2.0])
    assert P["altimeter"].range_m == pytest.approx(5.0)
    assert P["rangefinder"].distance_m == pytest.approx(5.0)
    assert P["legs"].contacts == [True, False, True, False]
    assert P["power"].voltage_v == pytest.approx(28.0)


def test_fault_window_stuck_toggles_the_emulator():
    sc, s, dyn = _setup()
    bench = sim_bench(1)
    link = BenchLink(bench, sc)
    f = {"kind": "sensor_stuck", "part": "altimeter", "value": None}
    link.fault_effect(s.apply_fault(f, 1.0))
    v = s.sample(1.0, dyn, False, [False] * 4)
    link.push(v, 1.5)
    assert bench.parts["altimeter"].faults.stuck
    s.end_fault(f, 2.0)
    link.push(v, 2.5)
    assert not bench.parts["altimeter"].faults.stuck


def test_imu_generic_bias_is_the_accelerometer_bias():
    _, s, dyn = _setup(sensors={"imu": {"bias": 0.5}})
    acc, gyr = s.sample(0.0, dyn, False, [False] * 4)["imu"]
    assert acc == pytest.approx([0.5, 0.5, 0.5]) and gyr == [0.0, 0.0, 0.0]


def test_imu_outliers_are_full_scale_spikes():
    _, s, dyn = _setup(sensors={"imu": {"outlier_rate": 0.2}}, seed=2)
    az = np.array([s.sample(0.0, dyn, False, [False] * 4)["imu"][0][2] for _ in range(2000)])
    frac = np.mean(np.abs(az) > 100.0)
    assert 0.16 < frac < 0.24


def test_leg_chatter_flips_contacts():
    _, s, dyn = _setup(sensors={"legs": {"outlier_rate": 0.5}}, seed=3)
    flips = sum(sum(s.sample(0.0, dyn, False, [False] * 4)["legs"]) for _ in range(500))
    assert 800 < flips < 1200
