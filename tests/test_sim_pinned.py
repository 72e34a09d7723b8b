"""The simulator pinned by closed forms and hand-computed values: the attitude
actuator's lagged response, thrust and mass flow, terrain heights around every
feature edge, ray casts on slopes, sensor noise and bias statistics, the
channel model, outcome classification at each boundary, the result metrics on
constructed trajectories."""
import math

import numpy as np
import pytest

from host_tools.sim import runner, scenario
from host_tools.sim.link import Channel, air_times, deliver
from host_tools.sim.physics import G0, Dynamics, classify
from host_tools.sim.sensors import Sensors
from host_tools.sim.terrain import CLIFF_M, Terrain

ASM = runner.ASM


def _vehicle(**kw):
    v = scenario.validate({"name": "t"})["vehicle"]
    v.update(kw)
    return v


def _fly(dyn, seconds, dt, throttle, pitch=0.0):
    for _ in range(int(round(seconds / dt))):
        dyn.step(dt, throttle, pitch)


# ---------------------------------------------------------------- attitude actuator

def test_attitude_without_rate_lag_is_first_order_in_pitch_tau():
    # p' = (pc - p) / tau (not rate limited: 2 deg over 0.5 s stays under 20 deg/s)
    v = _vehicle(pitch_tau_s=0.5, pitch_rate_lag_s=0.0)
    dyn = Dynamics(v, 1.62, 0.0, 5000.0, 0.0, 0.0)
    pc = math.radians(2.0)
    for t in (0.1, 0.5, 1.5):
        d = Dynamics(v, 1.62, 0.0, 5000.0, 0.0, 0.0)
        _fly(d, t, 0.001, 0.0, pc)
        assert d.pitch == pytest.approx(pc * (1.0 - math.exp(-t / 0.5)), rel=1e-9)
    assert dyn.q == 0.0


def test_attitude_with_rate_lag_is_the_second_order_closed_form():
    # qlag p'' + p' + p / tau = pc / tau; roots l1, l2 of qlag l^2 + l + 1/tau = 0
    tau, lag = 0.5, 0.1
    v = _vehicle(pitch_tau_s=tau, pitch_rate_lag_s=lag)
    pc = math.radians(2.0)
    disc = math.sqrt(1.0 - 4.0 * lag / tau)
    l1, l2 = (-1.0 + disc) / (2.0 * lag), (-1.0 - disc) / (2.0 * lag)
    for t in (0.05, 0.3, 1.0, 3.0):
        d = Dynamics(v, 1.62, 0.0, 5000.0, 0.0, 0.0)
        _fly(d, t, 0.001, 0.0, pc)
        p = pc * (1.0 + (l2 * math.exp(l1 * t) - l1 * math.exp(l2 * t)) / (l1 - l2))
        q = pc * l1 * l2 * (math.exp(l1 * t) - math.exp(l2 * t)) / (l1 - l2)
        assert d.pitch == pytest.approx(p, rel=1e-7)
        assert d.q == pytest.approx(q, rel=1e-6)


def test_rate_limited_slew_then_lagged_settle():
    # a 40 deg step at 20 deg/s max, rate lag 0.1 s: the rate approaches 20 deg/s
    # as 1 - exp(-t/lag), so p(t) = qmax (t - lag (1 - exp(-t/lag))) while saturated
    v = _vehicle(pitch_tau_s=0.5, pitch_rate_lag_s=0.1, max_pitch_rate_dps=20.0)
    d = Dynamics(v, 1.62, 0.0, 5000.0, 0.0, 0.0)
    _fly(d, 0.5, 0.001, 0.0, math.radians(40.0))
    qmax = math.radians(20.0)
    assert d.pitch == pytest.approx(qmax * (0.5 - 0.1 * (1 - math.exp(-5.0))), rel=1e-7)
    assert d.q == pytest.approx(qmax * (1 - math.exp(-5.0)), rel=1e-7)


# ---------------------------------------------------------------- thrust and mass flow

def test_lagged_thrust_burns_its_integral_over_isp_g0():
    # T(t) = Tc (1 - exp(-t/lag)); propellant used = Tc (t - lag (1 - exp(-t/lag))) / (Isp g0)
    v = _vehicle(engine_lag_s=0.4, isp_s=300.0, propellant_kg=80.0)
    d = Dynamics(v, 1.62, 0.0, 5000.0, 0.0, 0.0)
    _fly(d, 2.0, 0.001, 0.5)
    tc = 1500.0
    assert d.thrust == pytest.approx(tc * (1 - math.exp(-5.0)), rel=1e-9)
    used = tc * (2.0 - 0.4 * (1 - math.exp(-5.0))) / (300.0 * G0)
    assert 80.0 - d.prop == pytest.approx(used, rel=1e-9)


def test_thrust_scale_scales_thrust_and_mass_flow_together():
    v = _vehicle(engine_lag_s=0.0, isp_s=1e12)
    d = Dynamics(v, 1.62, 0.0, 5000.0, 0.0, 0.0)
    d.thrust_scale = 1.15
    _fly(d, 1.0, 0.001, 0.8)
    assert d.thrust == pytest.approx(0.8 * 3000.0 * 1.15, rel=1e-12)
    assert d.vz == pytest.approx(2760.0 / 420.0 - 1.62, rel=1e-9)
    v = _vehicle(engine_lag_s=0.0, isp_s=315.0)
    d = Dynamics(v, 1.62, 0.0, 5000.0, 0.0, 0.0)
    d.thrust_scale = 0.5
    _fly(d, 4.0, 0.001, 1.0)
    assert 80.0 - d.prop == pytest.approx(1500.0 * 4.0 / (315.0 * G0), rel=1e-9)


def test_specific_force_is_thrust_over_current_mass():
    v = _vehicle(engine_lag_s=0.0)
    d = Dynamics(v, 1.62, 0.0, 5000.0, 0.0, 0.0)
    _fly(d, 3.0, 0.001, 1.0)
    assert d.specific_force_body() == (0.0, 0.0, pytest.approx(3000.0 / d.mass, rel=1e-12))
    d.prop = 0.0
    assert d.specific_force_body() == (0.0, 0.0, 0.0)


def test_feet_are_at_plus_minus_leg_span_along_body_x():
    v = _vehicle(leg_span_m=2.0)
    d = Dynamics(v, 1.62, 10.0, 5.0, 0.0, 0.0, pitch_rad=math.radians(30.0))
    (xl, zl), (xr, zr) = d.feet()
    c, s = math.cos(math.radians(30.0)), math.sin(math.radians(30.0))
    assert (xl, zl) == (pytest.approx(10.0 - 2.0 * c), pytest.approx(5.0 + 2.0 * s))
    assert (xr, zr) == (pytest.approx(10.0 + 2.0 * c), pytest.approx(5.0 - 2.0 * s))


# ---------------------------------------------------------------- terrain edges

def test_step_ramp_heights_at_and_around_its_edges():
    t = Terrain([{"kind": "step", "x_m": 100.0, "height_m": 30.0, "width_m": 20.0}], base_m=5.0)
    assert t.height(99.999) == 5.0
    assert t.height(100.0) == 5.0
    assert t.height(105.0) == pytest.approx(5.0 + 7.5)
    assert t.height(110.0) == pytest.approx(20.0)
    assert t.height(120.0) == pytest.approx(35.0)
    assert t.height(120.001) == pytest.approx(35.0)
    assert t.height(1e4) == pytest.approx(35.0)


def test_cliff_rises_over_one_millimetre():
    t = Terrain([{"kind": "step", "x_m": 50.0, "height_m": -3000.0, "width_m": 0.0}])
    assert t.height(50.0) == 0.0
    assert t.height(50.0 + CLIFF_M / 2) == pytest.approx(-1500.0)
    assert t.height(50.0 + CLIFF_M) == pytest.approx(-3000.0)


def test_slope_is_flat_before_x0_and_after_x1():
    g = math.tan(math.radians(10.0))
    t = Terrain([{"kind": "slope", "angle_deg": 10.0, "x0_m": -50.0, "x1_m": 150.0}])
    assert t.height(-60.0) == 0.0 and t.height(-50.0) == 0.0
    assert t.height(0.0) == pytest.approx(50.0 * g)
    assert t.height(150.0) == pytest.approx(200.0 * g)
    assert t.height(400.0) == pytest.approx(200.0 * g)
    open_end = Terrain([{"kind": "slope", "angle_deg": -10.0, "x0_m": 0.0, "x1_m": None}])
    assert open_end.height(10_000.0) == pytest.approx(-10_000.0 * g)


def test_crater_profile_at_every_edge():
    R, D, hr, wr, ww, c = 1000.0, 300.0, 40.0, 200.0, 150.0, 5000.0
    t = Terrain([{"kind": "crater", "x_m": c, "radius_m": R, "depth_m": D, "rim_height_m": hr,
                  "rim_width_m": wr, "wall_width_m": ww}])
    for sgn in (1.0, -1.0):
        at = lambda r: t.height(c + sgn * r)  # noqa: E731
        assert at(0.0) == -D
        assert at(R - ww) == pytest.approx(-D)                      # floor edge
        assert at(R - ww / 2) == pytest.approx((-D + hr) / 2)       # straight wall
        assert at(R) == pytest.approx(hr)                           # rim crest
        assert at(R + wr) == pytest.approx(hr / math.e, rel=2e-3)   # rim decays over rim_width
        assert at(R + 2 * wr) == pytest.approx(hr / math.e ** 2, rel=5e-3)
        assert at(R + 5 * wr) == 0.0 and at(R + 6 * wr) == 0.0       # outside the rim: the plain


def test_crater_without_rim_meets_the_plain_at_its_radius():
    t = Terrain([{"kind": "crater", "x_m": 0.0, "radius_m": 100.0, "depth_m": 20.0,
                  "rim_height_m": 0.0, "rim_width_m": None, "wall_width_m": None}])
    assert t.height(90.0) == pytest.approx(-20.0)                 # wall 0.1 R by default
    assert t.height(100.0) == pytest.approx(0.0)
    assert t.height(-95.0) == pytest.approx(-10.0)
    assert t.height(100.002) == 0.0


def test_boulder_is_a_half_ellipse_of_its_drawn_size():
    f = {"kind": "boulders", "x0_m": 0.0, "x1_m": 100.0, "count": 1, "max_height_m": 2.0,
         "max_width_m": 4.0, "seed": 9}
    t = Terrain([f])
    rng = np.random.default_rng(9)           # the draw order of terrain.py: centres, heights, widths
    c = rng.uniform(0.0, 100.0, 1)[0]
    h = rng.uniform(0.2, 1.0, 1)[0] * 2.0
    w = rng.uniform(0.3, 1.0, 1)[0] * 4.0
    assert t.height(c) == pytest.approx(h)
    assert t.height(c - w / 2) == pytest.approx(0.0, abs=1e-12)
    assert t.height(c + w / 2 + 1e-6) == 0.0
    u = 0.75                                  # a sample point of the 9-point outline
    assert t.height(c + u * w / 2) == pytest.approx(h * math.sqrt(1 - u * u))


def test_features_add_up():
    t = Terrain([{"kind": "slope", "angle_deg": 45.0, "x0_m": 0.0, "x1_m": 100.0},
                 {"kind": "step", "x_m": 50.0, "height_m": 10.0, "width_m": 0.0}], base_m=-3.0)
    assert t.height(25.0) == pytest.approx(-3.0 + 25.0)
    assert t.height(75.0) == pytest.approx(-3.0 + 75.0 + 10.0)


# ---------------------------------------------------------------- ray casts on slopes

def _plane_hit(x0, z0, dx, dz, g, xs):
    # ground z = g (x - xs) for x >= xs: solve z0 + s dz = g (x0 + s dx - xs)
    return (z0 - g * (x0 - xs)) / (g * dx - dz)


@pytest.mark.parametrize("angle, beam", [(20.0, 0.0), (20.0, 25.0), (20.0, -25.0),
                                         (-15.0, 30.0), (-15.0, -30.0), (35.0, 50.0)])
def test_ray_on_a_slope_meets_the_plane_at_the_closed_form(angle, beam):
    g = math.tan(math.radians(angle))
    t = Terrain([{"kind": "slope", "angle_deg": angle, "x0_m": -5000.0, "x1_m": 5000.0}])
    x0, z0 = 200.0, 800.0 + g * 5200.0
    b = math.radians(beam)
    dx, dz = math.sin(b), -math.cos(b)
    r = t.raycast(x0, z0, dx, dz, 1e4)
    assert r == pytest.approx(_plane_hit(x0, z0, dx, dz, g, -5000.0), rel=1e-12)


def test_ray_on_a_slope_through_many_breakpoints_uses_the_same_geometry():
    # a boulder-free slope crossed by many breakpoints (a rimmed crater far below
    # the ray's end adds 80): the numpy path must give the plane's answer too
    g = math.tan(math.radians(10.0))
    feats = [{"kind": "slope", "angle_deg": 10.0, "x0_m": -5000.0, "x1_m": 5000.0},
             {"kind": "boulders", "x0_m": 100.0, "x1_m": 900.0, "count": 50, "max_height_m": 1e-9,
              "max_width_m": 1.0, "seed": 1}]
    t = Terrain(feats)
    x0, z0 = 0.0, 3000.0
    b = math.radians(40.0)
    dx, dz = math.sin(b), -math.cos(b)
    r = t.raycast(x0, z0, dx, dz, 1e4)
    assert r == pytest.approx(_plane_hit(x0, z0, dx, dz, g, -5000.0), rel=1e-9)


# ---------------------------------------------------------------- sensor statistics

QUIET = {"imu": {"accel_noise_mps2": 0.0, "gyro_noise_dps": 0.0},
         "imu2": {"accel_noise_mps2": 0.0, "gyro_noise_dps": 0.0},
         "altimeter": {"noise": 0.0}, "rangefinder": {"noise": 0.0}, "baro": {"noise": 0.0},
         "power": {"noise": 0.0}}


def _sensors(sensors, z=1000.0, seed=3, gravity=1.62):
    sens = {k: dict(v) for k, v in QUIET.items()}
    for part, cfg in sensors.items():
        sens.setdefault(part, {}).update(cfg)
    sc = scenario.validate({"name": "t", "gravity_mps2": gravity, "sensors": sens})
    dyn = Dynamics(sc["vehicle"], gravity, 0.0, z, 0.0, 0.0)
    return Sensors(sc, Terrain([{"kind": "flat"}]), np.random.default_rng(seed)), dyn


def _series(sens, dyn, key, n=6000):
    return np.array([sens.sample(0.0, dyn, False, [False] * 4)[key] for _ in range(n)], dtype=float)


@pytest.mark.parametrize("z", [500.0, 4000.0])
def test_range_proportional_noise_scales_with_the_range(z):
    # sigma = noise_frac * range; mean = range + bias
    sens, dyn = _sensors({"altimeter": {"noise_frac": 0.01, "bias": 3.0}}, z=z)
    r = _series(sens, dyn, "altimeter")
    n = r.size
    assert abs(r.mean() - (z + 3.0)) < 4.0 * 0.01 * z / math.sqrt(n)
    assert r.std() == pytest.approx(0.01 * z, rel=4.0 / math.sqrt(2 * n))


def test_absolute_and_proportional_noise_add_in_quadrature():
    sens, dyn = _sensors({"altimeter": {"noise": 3.0, "noise_frac": 0.002}}, z=2000.0)
    r = _series(sens, dyn, "altimeter")
    assert r.std() == pytest.approx(math.hypot(3.0, 4.0), rel=4.0 / math.sqrt(2 * r.size))


def test_a_bias_fault_adds_to_the_configured_bias_and_ends():
    sens, dyn = _sensors({"altimeter": {"bias": 2.0}})
    f = {"kind": "sensor_bias", "part": "altimeter", "value": 7.0}
    sens.apply_fault(f, 1.0)
    assert sens.sample(1.0, dyn, False, [False] * 4)["altimeter"] == pytest.approx(1009.0)
    sens.end_fault(f, 2.0)
    assert sens.sample(2.0, dyn, False, [False] * 4)["altimeter"] == pytest.approx(1002.0)


def test_imu_noise_and_bias_statistics_per_axis():
    sens, dyn = _sensors({"imu": {"accel_noise_mps2": 0.05, "accel_bias_mps2": 0.2,
                                  "gyro_noise_dps": 0.5, "gyro_bias_dps": -1.0}})
    acc, gyr = [], []
    for _ in range(4000):
        a, g = sens.sample(0.0, dyn, False, [False] * 4)["imu"]
        acc.append(a)
        gyr.append(g)
    acc, gyr = np.array(acc), np.array(gyr)
    n = len(acc)
    for axis in range(3):        # free fall: zero specific force + bias
        assert abs(acc[:, axis].mean() - 0.2) < 4 * 0.05 / math.sqrt(n)
        assert acc[:, axis].std() == pytest.approx(0.05, rel=4 / math.sqrt(2 * n))
        assert abs(gyr[:, axis].mean() - math.radians(-1.0)) < 4 * math.radians(0.5) / math.sqrt(n)
        assert gyr[:, axis].std() == pytest.approx(math.radians(0.5), rel=4 / math.sqrt(2 * n))


def test_baro_noise_and_bias_statistics():
    sens, dyn = _sensors({"baro": {"noise": 4.0, "bias": 10.0}}, gravity=9.81, z=0.0)
    p = _series(sens, dyn, "baro")
    assert abs(p.mean() - 101335.0) < 4 * 4.0 / math.sqrt(p.size)
    assert p.std() == pytest.approx(4.0, rel=4 / math.sqrt(2 * p.size))


# ---------------------------------------------------------------- channel model

def test_bit_errors_are_binomial_in_the_bits_sent():
    data = bytes(20000)
    got, _, _ = deliver(data, np.zeros(len(data)), bitrate_bps=1e9, ber=1e-3, seed=5)
    flips = int(np.unpackbits(np.frombuffer(got, np.uint8)).sum())
    n, p = 8 * len(data), 1e-3
    assert abs(flips - n * p) < 4.0 * math.sqrt(n * p * (1 - p))
    again, _, _ = deliver(data, np.zeros(len(data)), bitrate_bps=1e9, ber=1e-3, seed=5)
    assert again == got


def test_zero_ber_flips_nothing_and_half_ber_flips_half():
    data = bytes(range(256)) * 20
    clean, _, _ = deliver(data, np.zeros(len(data)), ber=0.0)
    assert clean == data
    noisy, _, _ = deliver(data, np.zeros(len(data)), bitrate_bps=1e9, ber=0.5, seed=2)
    diff = np.unpackbits(np.frombuffer(data, np.uint8) ^ np.frombuffer(noisy, np.uint8)).sum()
    n = 8 * len(data)
    assert abs(diff - n / 2) < 4 * math.sqrt(n / 4)


def test_an_outage_drops_exactly_the_bytes_delivered_inside_it():
    # 1000 bytes queued at t = 0 at 800 bit/s: byte i arrives at (i + 1) * 0.01 s
    data = bytes(range(256)) * 4
    data = data[:1000]
    d = air_times(np.zeros(1000), 800.0)
    assert d[0] == pytest.approx(0.01) and d[-1] == pytest.approx(10.0)
    got, times, idx = deliver(data, np.zeros(1000), bitrate_bps=800.0, outages=[[2.0, 3.0]])
    lost = [i for i in range(1000) if 2.0 <= (i + 1) * 0.01 < 3.0]
    assert len(got) == 1000 - len(lost) == 900
    assert set(range(1000)) - set(idx.tolist()) == set(lost)
    assert got == bytes(data[i] for i in idx)
    assert np.all((times < 2.0) | (times >= 3.0))


def test_latency_shifts_delivery_and_the_outage_applies_to_arrival():
    data = b"\x55" * 10
    got, times, _ = deliver(data, np.zeros(10), bitrate_bps=8000.0, latency_s=1.3,
                            outages=[[0.0, 1.3015]])
    assert len(got) == 9 and times[0] == pytest.approx(1.302)


def test_uplink_flips_are_binomial_and_seeded():
    ch = Channel({"bitrate_bps": 2000.0, "ber": 0.01, "latency_s": 0.0, "outages": []}, seed=4)
    data = bytes(5000)
    out = ch.uplink(data)
    flips = int(np.unpackbits(np.frombuffer(out, np.uint8)).sum())
    n = 8 * len(data)
    assert abs(flips - n * 0.01) < 4 * math.sqrt(n * 0.01 * 0.99)


# ---------------------------------------------------------------- outcome at each boundary

P = scenario.validate({"name": "t"})["pass"]   # max_vz 2, max_vx 1, max_tilt 10, max_slope 15,
UP = math.inf                                  # crash 6, tip_tilt 30, tip_vx 3


def _above(x):
    return math.nextafter(x, UP)


@pytest.mark.parametrize("args, at, above", [
    # (vz, vx, tilt, slope, rel_tilt) with the value under test at the boundary / just above
    (lambda v: (-v, 0.0, 0.0, 0.0, 0.0), (P["max_vz_mps"], "landed"), "hard_landing"),
    (lambda v: (-0.5, v, 0.0, 0.0, 0.0), (P["max_vx_mps"], "landed"), "hard_landing"),
    (lambda v: (-0.5, 0.0, v, 0.0, v), (P["max_tilt_deg"], "landed"), "hard_landing"),
    (lambda v: (-0.5, 0.0, 0.0, v, v), (P["max_slope_deg"], "landed"), "hard_landing"),
    (lambda v: (-0.5, v, 0.0, 0.0, 0.0), (P["tip_vx_mps"], "hard_landing"), "tipped"),
    (lambda v: (-0.5, 0.0, 0.0, v, 0.0), (P["tip_tilt_deg"], "hard_landing"), "tipped"),
    (lambda v: (-0.5, 0.0, 5.0, 0.0, v), (P["tip_tilt_deg"], "landed"), "tipped"),
    (lambda v: (-v, 0.0, 0.0, 0.0, 0.0), (P["crash_vz_mps"], "hard_landing"), "crashed"),
])
def test_outcome_changes_exactly_at_each_boundary(args, at, above):
    value, outcome = at
    assert classify(*args(value), P) == outcome
    assert classify(*args(_above(value)), P) == above
    assert classify(*args(-value), P) == outcome          # |.|: the sign does not matter


def test_crash_is_judged_on_the_impact_speed():
    # |(vz, vx)| = 6 exactly (3.6, 4.8 would tip on vx, so tip_vx is raised here)
    p = dict(P, tip_vx_mps=10.0, max_vx_mps=10.0)
    assert classify(-3.6, 4.8, 0.0, 0.0, 0.0, p) != "crashed"
    assert classify(-3.6, _above(4.8), 0.0, 0.0, 0.0, p) == "crashed"


# ---------------------------------------------------------------- the verdict and metrics

def _flight(**sc):
    base = {"name": "t", "initial": {"altitude_m": 100.0, "vx_mps": 0.0, "vz_mps": -2.0},
            "target": {"x_m": 0.0}}
    base.update(sc)
    return runner.Flight(base, None, "reference", False, None)


def test_estimate_metrics_on_a_constructed_trajectory():
    f = _flight()
    # (true altitude, estimate): hand-computed metrics below
    samples = [(2000.0, 2100.0),   # above 1000 m: counts for divergence only (100 > 100? no: max(50, 100))
               (1500.0, 1580.0),   # e 80 > max(50, 75): diverged, run 1
               (900.0, 960.0),     # e 60 > 50: run 2; err_1000 60
               (600.0, 640.0),     # e 40 < 50: run ends
               (400.0, 470.0),     # e 70: run 1
               (99.0, 29.0),       # e 70: run 2; err_100 70
               (50.0, 51.0),       # e 1: run ends
               (10.0, math.nan)]   # no estimate: skipped
    for alt, est in samples:
        f.estimate_metrics(alt, (est, 0.0, 0.0))
    s = f.estimate_summary()
    assert s["max_error_last_1000m_m"] == 70.0
    assert s["max_error_below_100m_m"] == 70.0
    assert s["longest_divergence_s"] == pytest.approx(2 * f.dt)


def test_estimate_metrics_skip_the_ground_and_missing_estimates():
    f = _flight()
    f.estimate_metrics(500.0, (math.nan, 0.0, 0.0))
    assert f.estimate_summary() == {"max_error_last_1000m_m": None, "max_error_below_100m_m": None,
                                    "longest_divergence_s": None}
    f.on_ground = True
    f.estimate_metrics(0.0, (900.0, 0.0, 0.0))
    assert f.have_est is False


def test_divergence_bound_is_five_percent_above_one_kilometre():
    f = _flight()
    f.estimate_metrics(4000.0, (4199.0, 0.0, 0.0))     # 199 < 200: not diverged
    assert f.div_max == 0.0
    f.estimate_metrics(4000.0, (4201.0, 0.0, 0.0))
    assert f.div_max == pytest.approx(f.dt)
    assert f.err_1000 is None                           # above 1000 m


def test_touchdown_metrics_from_the_state_at_contact():
    d = Dynamics(_vehicle(), 1.62, 130.0, 0.0, 0.4, -1.5, pitch_rad=math.radians(-3.0))
    d.t = 42.5
    td = runner._touchdown(d, 2.0, 100.0)
    assert td == {"t_s": 42.5, "vz_mps": -1.5, "vx_mps": 0.4, "tilt_deg": pytest.approx(3.0),
                  "miss_m": 30.0, "slope_deg": 2.0, "rel_tilt_deg": pytest.approx(-1.0)}


def test_verdict_fuel_out_only_overrides_a_bad_touchdown():
    f = _flight()
    f.touch = {"vz_mps": -1.0, "vx_mps": 0.0, "tilt_deg": 0.0, "slope_deg": 0.0, "rel_tilt_deg": 0.0,
               "t_s": 50.0}
    f.dyn.fuel_out_t = 40.0
    assert f.verdict() == "landed"
    f.touch["vz_mps"] = -9.0
    assert f.verdict() == "fuel_out"
    f.dyn.fuel_out_t = 60.0                 # ran out after the crash: a crash
    assert f.verdict() == "crashed"
    f.touch = None
    assert f.verdict() == "fuel_out"
    f.dyn.fuel_out_t = None
    assert f.verdict() == "timeout"


class _Radio:
    def __init__(self, data, times):
        self.downlink = data
        self.downlink_times = times


def test_telemetry_metrics_count_frames_and_bytes_through_the_channel():
    # 3 CCSDS CADUs (ASM + 128-octet frame + 16 RS parity = 148 bytes) from the
    # firmware's framer, sent at 2000 bit/s from t = 0 (4 ms a byte); an outage
    # over the second. Frames are counted by decoding them (RS + CRC).
    from lander.telemetry import packets as P
    from lander.telemetry.encoder import PacketEncoder
    from lander.telemetry.frames import Framer

    enc = PacketEncoder([None] * P.N_SOURCES)

    class Idle:
        def next_packet(self, buf, room):
            return enc.idle(buf, 16)

    fr = Framer(Idle(), 128, 8)
    out = bytearray(148)
    data = b""
    for _ in range(3):
        fr.pump(out, 148)
        data += bytes(out)
    frame = data[:148]
    times = [(i + 1) * 0.004 for i in range(3 * 148)]
    f = _flight(link={"outages": [[148.5 * 0.004, 296.5 * 0.004]]})
    f.radio = _Radio(data, times)
    downlink, _, received, recv_times, tm = f.link()
    assert downlink == data
    assert tm["frames_sent"] == 3 and tm["bytes_sent"] == 3 * 148
    assert tm["frames_received"] == 2 and tm["bytes_received"] == 2 * 148
    assert received == frame + data[296:] and len(recv_times) == 2 * 148


def test_summary_judges_against_the_pass_table():
    f = _flight(**{"pass": {"max_miss_m": 10.0, "max_divergence_s": 1.0}})
    f.touch = runner._touchdown(f.dyn, 0.0, 20.0)
    f.touch.update(vz_mps=-1.0, vx_mps=0.1, tilt_deg=0.0, rel_tilt_deg=0.0)
    tm = {"frames_sent": 0, "frames_received": 0, "critical_delivered_ratio": None,
          "max_latency_s": None, "bytes_sent": 0, "bytes_received": 0}
    s = f.summary("landed", tm)
    assert s["touchdown"]["miss_m"] == 20.0 and s["passed"] is False
    assert s["fail_reasons"] == ["miss 20.0 m > 10.0 m"]
    f.touch["miss_m"] = 10.0
    assert f.summary("landed", tm)["passed"] is True


# ---------------------------------------------------------------- sensor faults, part by part

def test_a_fault_without_a_part_is_the_altimeter_s():
    sens, dyn = _sensors({})
    f = {"kind": "sensor_bias", "value": 5.0}
    sens.apply_fault(f, 0.0)
    v = sens.sample(0.0, dyn, False, [False] * 4)
    assert v["altimeter"] == pytest.approx(1005.0) and v["rangefinder"] is None
    assert v["imu"][0] == pytest.approx([0.0, 0.0, 0.0])


@pytest.mark.parametrize("part", ["imu2_acc", "imu2_gyro", "imu2"])
def test_second_imu_faults_act_on_the_second_imu_only(part):
    sens, dyn = _sensors({})
    f = {"kind": "sensor_bias", "part": part, "value": 0.7}
    sens.apply_fault(f, 0.0)
    v = sens.sample(0.0, dyn, False, [False] * 4)
    assert v["imu2"][0] == pytest.approx([0.7, 0.7, 0.7]) and v["imu"][0] == pytest.approx([0.0] * 3)
    sens.end_fault(f, 1.0)
    assert sens.sample(1.0, dyn, False, [False] * 4)["imu2"][0] == pytest.approx([0.0] * 3)


def test_noise_fault_adds_sigma_and_ends():
    sens, dyn = _sensors({}, gravity=9.81, z=0.0)     # 1 atm: no clipping at 0 Pa
    f = {"kind": "sensor_noise", "part": "baro", "value": 50.0}
    sens.apply_fault(f, 0.0)
    p = _series(sens, dyn, "baro", n=3000)
    assert p.std() == pytest.approx(50.0, rel=4 / math.sqrt(6000))
    sens.end_fault(f, 1.0)
    assert _series(sens, dyn, "baro", n=10).std() == 0.0


def test_outlier_fault_sets_the_rate_and_restores_the_configured_one():
    sens, dyn = _sensors({"altimeter": {"outlier_rate": 0.01}})
    f = {"kind": "sensor_outliers", "part": "altimeter", "value": 0.5}
    sens.apply_fault(f, 0.0)
    r = _series(sens, dyn, "altimeter", n=4000)
    frac = np.mean(np.abs(r - 1000.0) > 1e-6)
    assert abs(frac - 0.5) < 4 * math.sqrt(0.25 / 4000)
    sens.end_fault(f, 1.0)
    assert sens.parts["altimeter"].outlier_rate == 0.01


@pytest.mark.parametrize("kind, what", [("sensor_dropout", "dropouts"), ("sensor_stuck", "stuck")])
def test_window_faults_open_at_the_fault_and_close_at_its_end(kind, what):
    sens, dyn = _sensors({})
    f = {"kind": kind, "part": "rangefinder", "value": None}
    eff = sens.apply_fault(f, 3.0)
    assert eff == (what, "rangefinder", [3.0, math.inf])
    sens.end_fault(f, 4.5)
    assert eff[2] == [3.0, 4.5] and f["_window"] is eff[2]


def test_a_dropout_fault_reaches_the_emulator_and_a_stuck_one_the_push():
    from host_tools.emu.bench import sim_bench
    from host_tools.sim.sensors import BenchLink
    sens, dyn = _sensors({})
    bench = sim_bench(1)
    link = BenchLink(bench, sens.sc)
    link.fault_effect(sens.apply_fault({"kind": "sensor_dropout", "part": "imu2", "value": None}, 2.0))
    for name in ("imu2_acc", "imu2_gyro"):
        assert bench.parts[name].faults.in_dropout(2.5)
    assert not bench.parts["imu"].faults.in_dropout(2.5)
    stuck = {"kind": "sensor_stuck", "part": "baro", "value": None}
    link.fault_effect(sens.apply_fault(stuck, 1.0))
    v = sens.sample(0.5, dyn, False, [False] * 4)
    link.push(v, 0.5)
    assert not bench.parts["baro"].faults.stuck
    link.push(v, 1.0)                             # [t0, t1): stuck from t0 ...
    assert bench.parts["baro"].faults.stuck
    sens.end_fault(stuck, 2.0)
    link.push(v, 2.0)                             # ... and free again at t1
    assert not bench.parts["baro"].faults.stuck
    link.fault_effect(None)                       # no effect: nothing changes


def test_push_sets_every_emulated_part():
    from host_tools.emu.bench import sim_bench
    from host_tools.sim.sensors import BenchLink
    sens, dyn = _sensors({"baro": {"temperature_c": -12.5}}, gravity=9.81, z=100.0)
    sens.sc["vehicle"]["battery_v"] = 26.5       # not the emulator's default
    dyn.q = 0.25
    bench = sim_bench(1)
    link = BenchLink(bench, sens.sc)
    v = sens.sample(0.0, dyn, False, [True, False])
    link.push(v, 0.0)
    P = bench.parts
    assert P["imu"].gyro_rad_s == pytest.approx([0.0, 0.25, 0.0])
    assert P["imu2_gyro"].gyro_rad_s == pytest.approx([0.0, 0.25, 0.0])
    assert P["baro"].pressure_pa == pytest.approx(101325.0 * math.exp(-100.0 / 8434.0))
    assert P["baro"].temperature_c == -12.5
    assert P["legs"].contacts == [True, False]
    assert P["power"].voltage_v == pytest.approx(26.5)


def test_bench_link_applies_scenario_part_settings_to_both_halves_of_imu2():
    from host_tools.emu.bench import sim_bench
    from host_tools.sim.sensors import BenchLink
    sc = scenario.validate({"name": "t", "sensors": {
        "imu2": {"enabled": False, "valid_flag_never_set": True, "stuck_at_s": 4.0,
                 "bus_faults": {"bitflip_rate": 0.1, "dropouts": [[1.0, 2.0]]}}}})
    bench = sim_bench(1)
    link = BenchLink(bench, sc)
    for name in ("imu2_acc", "imu2_gyro"):
        f = bench.parts[name].faults
        assert f.ignore_enable and f.valid_never_set and f.bitflip_rate == 0.1
        assert f.dropouts == [(1.0, 2.0)]
    assert not bench.parts["imu"].faults.ignore_enable
    assert link._stuck == {"imu2_acc": [(4.0, math.inf)], "imu2_gyro": [(4.0, math.inf)]}


# ---------------------------------------------------------------- channel edges

def test_one_byte_and_no_byte_deliveries():
    got, times, idx = deliver(b"\x42", [0.0], bitrate_bps=800.0)
    assert got == b"\x42" and times.tolist() == [0.01] and idx.tolist() == [0]
    got, times, idx = deliver(b"", [], bitrate_bps=800.0)
    assert got == b"" and times.size == 0 and idx.dtype == np.int64 and idx.size == 0


def test_channel_bit_errors_are_seeded_by_the_channel_seed():
    link = {"bitrate_bps": 2000.0, "ber": 0.05, "latency_s": 0.0, "outages": []}
    data = bytes(400)
    a = Channel(link, seed=7).deliver(data, np.zeros(400))[0]
    b = Channel(link, seed=7).deliver(data, np.zeros(400))[0]
    c = Channel(link, seed=8).deliver(data, np.zeros(400))[0]
    assert a == b != c
    assert Channel(link, seed=7).uplink(data) == Channel(link, seed=7).uplink(data) != \
        Channel(link, seed=8).uplink(data)
    clean = dict(link, ber=0.0)
    assert Channel(clean, seed=7).uplink(data) == data


def test_serialized_send_times_are_delivery_times_plus_latency():
    got, times, _ = deliver(b"abc", [1.0, 1.0, 1.0], bitrate_bps=10.0, latency_s=0.5, serialized=True)
    assert got == b"abc" and times.tolist() == [1.5, 1.5, 1.5]


# ---------------------------------------------------------------- terrain from a scenario

def _terrain_sc(**kw):
    from host_tools.sim import terrain as terrain_mod
    sc = scenario.validate(dict({"name": "t", "seed": 5, "initial": {"x_m": -2000.0},
                                 "target": {"x_m": 3000.0}}, **kw))
    return sc, terrain_mod


def test_terrain_from_a_scenario_has_its_base_and_spans_the_world_margin():
    sc, tm = _terrain_sc(terrain={"base_m": 12.5, "features": [
        {"kind": "slope", "angle_deg": 45.0, "x0_m": 0.0}]})
    t = tm.from_scenario(sc)
    assert t.X[0] == -2000.0 - tm.WORLD_MARGIN_M and t.X[-1] == 3000.0 + tm.WORLD_MARGIN_M
    assert t.height(-1e9) == 12.5
    # an open-ended slope rises to the end of the world, then stays level
    assert t.height(3000.0 + tm.WORLD_MARGIN_M) == pytest.approx(12.5 + 3000.0 + tm.WORLD_MARGIN_M)


def test_boulders_follow_the_run_seed_unless_given_one():
    feat = {"kind": "boulders", "x0_m": 0.0, "x1_m": 50.0, "count": 10}
    sc, tm = _terrain_sc(terrain={"features": [feat]})
    xs = np.linspace(0.0, 50.0, 501)
    by_sc = tm.from_scenario(sc).heights(xs)
    assert np.array_equal(by_sc, tm.from_scenario(sc, seed=5).heights(xs))
    assert not np.array_equal(by_sc, tm.from_scenario(sc, seed=6).heights(xs))
    assert np.array_equal(by_sc, Terrain(sc["terrain"]["features"], 0.0, 5).heights(xs))
    fixed, _ = _terrain_sc(terrain={"features": [dict(feat, seed=99)]})
    assert np.array_equal(tm.from_scenario(fixed, seed=1).heights(xs),
                          tm.from_scenario(fixed, seed=2).heights(xs))


def test_slope_between_one_point_is_zero():
    t = Terrain([{"kind": "slope", "angle_deg": 30.0, "x0_m": -10.0, "x1_m": 10.0}])
    assert t.slope_deg(1.0, 1.0) == 0.0
    assert t.slope_deg(-1.0, 1.0) == pytest.approx(30.0)


# ---------------------------------------------------------------- more closed forms

def test_tilted_constant_thrust_moves_x_and_z_quadratically():
    # no mass change (huge Isp), no lag, pitch held at 20 deg: RK4 is exact for a quadratic
    v = _vehicle(isp_s=1e12, engine_lag_s=0.0, pitch_rate_lag_s=0.0, max_pitch_deg=45.0)
    p = math.radians(20.0)
    d = Dynamics(v, 1.62, 5.0, 1000.0, 3.0, -2.0, pitch_rad=p)
    _fly(d, 4.0, 0.01, 0.5, p)
    a = 1500.0 / 420.0
    ax, az = a * math.sin(p), a * math.cos(p) - 1.62
    assert d.x == pytest.approx(5.0 + 3.0 * 4.0 + 0.5 * ax * 16.0, rel=1e-12)
    assert d.z == pytest.approx(1000.0 - 2.0 * 4.0 + 0.5 * az * 16.0, rel=1e-12)
    assert d.vx == pytest.approx(3.0 + ax * 4.0, rel=1e-12)


def test_rate_limited_slew_downward_is_symmetric():
    v = _vehicle(pitch_tau_s=0.5, pitch_rate_lag_s=0.0, max_pitch_rate_dps=20.0)
    d = Dynamics(v, 1.62, 0.0, 5000.0, 0.0, 0.0)
    _fly(d, 1.0, 0.001, 0.0, math.radians(-50.0))
    assert math.degrees(d.pitch) == pytest.approx(-20.0, rel=1e-9)


def test_after_fuel_out_the_vehicle_falls_ballistically():
    v = _vehicle(propellant_kg=0.5, engine_lag_s=0.0)
    d = Dynamics(v, 1.62, 0.0, 5000.0, 0.0, 0.0)
    _fly(d, 2.0, 0.001, 1.0)
    assert d.prop == 0.0 and d.fuel_out_t is not None
    z, vz, t = d.z, d.vz, 3.0
    _fly(d, t, 0.001, 1.0)                      # throttle still commanded: nothing burns
    assert d.vz == pytest.approx(vz - 1.62 * t, abs=1e-9)
    assert d.z == pytest.approx(z + vz * t - 0.5 * 1.62 * t * t, abs=1e-7)
    assert d.thrust == 0.0 and d.prop == 0.0


def test_engine_controller_counts_one_cut_per_hold_expiry():
    from host_tools.sim.physics import EngineController
    e = EngineController(0.2, initial=0.5)
    assert e.tick(0.0) == 0.5 and e.cuts == 0
    e.on_reset(1.0, 0.5)
    e.tick(1.6)
    e.tick(1.7)
    assert e.cuts == 1 and e.applied == 0.0
