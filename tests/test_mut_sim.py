"""The simulator's behaviours that its mutation run (`make mutate GROUP=sim`)
found unpinned: each test pins one value by a closed form or a hand-computed
case (docs/mutation.md lists the survivors that cannot change an output)."""
import math

import numpy as np
import pytest

from host_tools.sim import scenario
from host_tools.sim.link import Channel, deliver
from host_tools.sim.physics import G0, Dynamics, EngineController
from host_tools.sim.sensors import BenchLink, Sensors
from host_tools.sim.terrain import Terrain


def _vehicle(**kw):
    v = scenario.validate({"name": "t"})["vehicle"]
    v.update(kw)
    return v


# ---------------------------------------------------------------- engine electronics

def test_a_new_engine_controller_applies_no_thrust():
    e = EngineController(0.2)
    assert e.applied == 0.0 and e.tick(0.0) == 0.0


def test_a_command_without_the_arm_flag_is_armed():
    assert EngineController(0.2).command(0.5) == 0.5


def test_every_hold_expiry_counts_one_more_cut():
    e = EngineController(0.2, initial=0.5)
    e.on_reset(1.0, 0.5)
    e.tick(1.5)                      # first hold expires: cut 1
    e.resume()
    e.command(0.5)
    e.on_reset(2.0, 0.5)
    e.tick(2.5)                      # second hold expires: cut 2
    assert e.cuts == 2 and e.applied == 0.0


# ---------------------------------------------------------------- thrust and mass

def test_initial_throttle_sets_the_initial_thrust_state():
    d = Dynamics(_vehicle(), 1.62, 0.0, 100.0, 0.0, 0.0, throttle=0.5)
    assert d.thrust == 0.5 * 3000.0
    assert d.specific_force_body() == (0.0, 0.0, 1500.0 / 420.0)


def test_specific_force_with_under_a_kilogram_of_propellant_left():
    d = Dynamics(_vehicle(propellant_kg=0.5), 1.62, 0.0, 100.0, 0.0, 0.0, throttle=0.5)
    assert d.specific_force_body() == (0.0, 0.0, 1500.0 / 340.5)


def test_the_last_kilogram_of_propellant_still_counts_in_the_mass():
    # Lag 0, constant thrust T over dt: dvz = c ln(M0 / M1) - g dt (rocket
    # equation, c = Isp g0), RK4 to ~1e-12 over 0.1 s; M1 = M0 - T dt / c.
    v = _vehicle(propellant_kg=0.5, engine_lag_s=0.0)
    d = Dynamics(v, 1.62, 0.0, 100.0, 0.0, 0.0)
    c = 315.0 * G0
    dt, T = 0.1, 3000.0
    d.step(dt, 1.0, 0.0)
    m0, m1 = 340.5, 340.5 - T * dt / c
    assert d.prop == pytest.approx(m1 - 340.0, abs=1e-12)
    assert d.vz == pytest.approx(c * math.log(m0 / m1) - 1.62 * dt, abs=1e-9)


def test_the_thrust_state_holds_in_a_stage_that_has_no_propellant():
    # Lagged engine at its commanded thrust (T' = 0) with just under one
    # step of propellant: RK4's fourth stage starts at m + dt f3 <= 0, where
    # the engine gives nothing and the thrust state does not move; the step
    # ends with m - 5/6 dt |f| > 0 left and the thrust state unchanged.
    c = 315.0 * G0
    dt, T = 0.1, 3000.0
    burn = T * dt / c                   # what one full step would burn
    v = _vehicle(propellant_kg=0.9 * burn, engine_lag_s=0.15)
    d = Dynamics(v, 1.62, 0.0, 100.0, 0.0, 0.0, throttle=1.0)
    d.step(dt, 1.0, 0.0)
    assert d.prop == pytest.approx(0.9 * burn - 5.0 / 6.0 * burn, abs=1e-12)
    assert d.thrust == T


def test_a_tank_dry_at_the_midpoint_stage_leaves_the_thrust_state_for_the_third():
    # Lagged engine at its commanded thrust (T' = 0), 0.4 of a step's burn:
    # stage 2 starts at m - burn/2 < 0 (no thrust, T' = 0, m' = 0), so stage
    # 3 starts at m with the thrust state T, not moved, and stage 4 at m -
    # burn < 0. vz = dt/6 (b1 + 2 b2 + 2 b3 + b4) with b1 = b3 = T/(dry + m)
    # - g, b2 = b4 = -g; the step ends with the tank empty (m - burn/2).
    c = 315.0 * G0
    dt, T, dry, g = 0.1, 3000.0, 340.0, 1.62
    m = 0.4 * T * dt / c
    d = Dynamics(_vehicle(propellant_kg=m, engine_lag_s=0.15), g, 0.0, 100.0, 0.0, 0.0, throttle=1.0)
    d.step(dt, 1.0, 0.0)
    b13 = T / (dry + m) - g
    assert d.vz == pytest.approx(dt / 6.0 * (3 * b13 - 3 * g), abs=1e-13)
    assert (d.prop, d.thrust, d.fuel_out_t) == (0.0, 0.0, dt)


def test_a_stage_without_propellant_leaves_the_thrust_state_for_the_fourth():
    # Engine spooling up (T = 1500 N toward 3000 N, lag 0.15 s: T' = 10,000
    # N/s), 90 N s / c of propellant: stage 2 (2000 N) starts at m - 75/c > 0,
    # stage 3 at m - 100/c < 0 (no thrust, T' = 0, m' = 0), so stage 4 starts
    # at m with the thrust state 1500 N + dt x 0. b1 = b4 = 1500/(dry + m) - g,
    # b2 = 2000/(dry + m - 75/c) - g, b3 = -g.
    c = 315.0 * G0
    dt, dry, g = 0.1, 340.0, 1.62
    m = 90.0 / c
    d = Dynamics(_vehicle(propellant_kg=m, engine_lag_s=0.15), g, 0.0, 100.0, 0.0, 0.0, throttle=0.5)
    d.step(dt, 1.0, 0.0)
    b14 = 1500.0 / (dry + m) - g
    b2 = 2000.0 / (dry + m - 75.0 / c) - g
    assert d.vz == pytest.approx(dt / 6.0 * (2 * b14 + 2 * b2 - 2 * g), abs=1e-13)
    assert (d.prop, d.thrust, d.fuel_out_t) == (0.0, 0.0, dt)


# ---------------------------------------------------------------- attitude

def test_without_rate_lag_the_pitch_rate_is_the_commanded_slew():
    # pitch_rate_lag_s = 0: the rate is the rate-limited command itself; a
    # 40 deg command wants (40 deg) / 0.5 s, far over the 10 deg/s limit.
    v = _vehicle(pitch_rate_lag_s=0.0, pitch_tau_s=0.5, max_pitch_rate_dps=10.0)
    d = Dynamics(v, 1.62, 0.0, 100.0, 0.0, 0.0)
    d.step(0.02, 0.0, math.radians(40.0))
    assert d.q == math.radians(10.0)
    assert d.pitch == pytest.approx(math.radians(10.0) * 0.02, abs=1e-15)


# ---------------------------------------------------------------- channel

def test_delivery_defaults_to_2000_bit_s_and_no_latency():
    _, times, _ = deliver(b"\x00\x00", [0.0, 0.0])
    assert list(times) == [0.004, 0.008]            # 8 bits / 2000 bit/s per octet


def test_every_outage_drops_its_own_bytes():
    # octets at 2000 bit/s arrive at 4, 8, ..., 40 ms; two windows drop two each
    data = bytes(range(10))
    got, times, idx = deliver(data, [0.0] * 10, outages=[[0.0035, 0.0085], [0.0275, 0.0325]])
    assert list(idx) == [2, 3, 4, 5, 8, 9] and got == bytes([2, 3, 4, 5, 8, 9])


def _flips(seed, n, ber):
    rng = np.random.default_rng(seed)
    return np.packbits(rng.random((n, 8)) < ber, axis=1).reshape(-1)


def test_bit_errors_flip_the_sent_bits():
    # the received octet is the sent one XOR the drawn error pattern (seed 0 by default)
    data = bytes([0xFF, 0x0F, 0xA5, 0x3C] * 64)
    got, _, _ = deliver(data, [0.0] * len(data), ber=0.05)
    want = np.frombuffer(data, dtype=np.uint8) ^ _flips(0, len(data), 0.05)
    assert got == want.tobytes() and got != data


def _link(**kw):
    link = {"bitrate_bps": 2000.0, "ber": 0.0, "latency_s": 0.0, "outages": []}
    link.update(kw)
    return link


def test_a_channel_without_a_seed_draws_as_seed_zero():
    data = bytes(range(200))
    ch = Channel(_link(ber=0.05))
    assert ch.deliver(data, [0.0] * 200)[0] == deliver(data, [0.0] * 200, ber=0.05, seed=0)[0]


def test_uplink_errors_come_from_their_own_stream_seeded_by_seed_and_one():
    data = bytes([0xFF, 0x00, 0x5A] * 40)
    ch = Channel(_link(ber=0.05), seed=7)
    want = np.frombuffer(data, dtype=np.uint8) ^ _flips([7, 1], len(data), 0.05)
    assert ch.uplink(data) == want.tobytes()


# ---------------------------------------------------------------- terrain

def _crater(R, D, hr, wr=None, ww=None, c=0.0):
    return {"kind": "crater", "x_m": c, "radius_m": R, "depth_m": D, "rim_height_m": hr,
            "rim_width_m": wr, "wall_width_m": ww}


def test_an_open_ended_slope_starting_past_the_world_rises_over_one_metre():
    # x1 absent: to the end of the world, or 1 m past x0 where x0 lies beyond it
    t = Terrain([{"kind": "slope", "angle_deg": 45.0, "x0_m": 100.0, "x1_m": None}],
                x_lo=-10.0, x_hi=50.0)
    assert t.height(100.5) == pytest.approx(0.5)
    assert t.height(101.0) == pytest.approx(1.0) and t.height(102.0) == pytest.approx(1.0)


def test_a_rim_without_a_width_decays_over_three_tenths_of_the_radius():
    t = Terrain([_crater(1000.0, 100.0, 30.0, wr=None, ww=50.0)])
    wr = 300.0
    assert t.height(1000.0 + wr / 8) == pytest.approx(30.0 * math.exp(-1 / 8), rel=1e-12)
    assert t.height(-(1000.0 + wr)) == pytest.approx(30.0 * math.exp(-1), rel=5e-3)


def test_the_rim_is_sampled_every_eighth_of_its_width_out_to_five_widths():
    # the outline's breakpoints lie on the exponential: R + wr k / 8, k = 1..39, then 0
    hr, wr, R = 0.5, 40.0, 200.0                     # a rim lower than a metre decays too
    t = Terrain([_crater(R, 20.0, hr, wr=wr, ww=20.0)])
    for k in (1, 2, 13, 39):
        assert t.height(R + wr * k / 8) == pytest.approx(hr * math.exp(-k / 8), rel=1e-12)
    assert t.height(R + 5 * wr) == 0.0


def test_a_one_metre_crater_has_its_floor_at_the_centre():
    t = Terrain([_crater(1.0, 0.5, 0.2, wr=0.5, ww=0.1)])
    assert t.height(0.0) == -0.5 and t.height(0.85) == pytest.approx(-0.5)
    assert t.height(1.0) == pytest.approx(0.2) and t.height(-1.0) == pytest.approx(0.2)
    assert t.height(-0.95) == pytest.approx(-0.15)              # half way up the wall


def test_a_rimless_crater_wall_rises_to_the_plain_at_its_radius():
    # wall 10 m wide from -20 m to 0 at r = 100 m: 1 mm inside it is 2 mm down
    t = Terrain([_crater(100.0, 20.0, 0.0, wr=None, ww=10.0)])
    assert t.height(99.999) == pytest.approx(-0.002, abs=1e-9)
    assert t.height(-99.999) == pytest.approx(-0.002, abs=1e-9)


def test_an_unknown_terrain_feature_is_refused_by_its_name():
    with pytest.raises(ValueError) as e:
        Terrain([{"kind": "volcano"}])
    assert str(e.value) == "unknown terrain feature 'volcano'"


def test_a_flat_feature_adds_nothing_to_the_base():
    t = Terrain([{"kind": "flat"}], base_m=2.0)
    assert t.X.tolist() == [-50_000.0, 50_000.0] and t.Z.tolist() == [2.0, 2.0]
    assert t.height(0.0) == 2.0 and t.z_max == 2.0


def test_integer_world_ends_still_give_the_base_height():
    assert Terrain(base_m=0.5, x_lo=-100, x_hi=100).height(0.0) == 0.5


_BOULDERS = {"kind": "boulders", "x0_m": -20.0, "x1_m": 20.0, "count": 3,
             "max_height_m": 2.0, "max_width_m": 4.0, "seed": None}


def test_unseeded_boulders_are_drawn_from_the_terrain_seed_and_their_index():
    # feature i without its own seed: seed * 1009 + 17 i (mod 2^32); the default seed is 0
    a = Terrain([{"kind": "flat"}, _BOULDERS], seed=3)
    b = Terrain([dict(_BOULDERS, seed=3 * 1009 + 17)])
    assert a.X.tolist() == b.X.tolist() and a.Z.tolist() == b.Z.tolist()
    a = Terrain([_BOULDERS])
    b = Terrain([dict(_BOULDERS, seed=0)])
    assert a.X.tolist() == b.X.tolist() and a.Z.tolist() == b.Z.tolist()


def test_a_slope_from_the_world_start_rises_from_it_and_is_level_before_it():
    # 45 deg from x = -100 (the world's start) to +100: the first segment is the slope
    t = Terrain([{"kind": "slope", "angle_deg": 45.0, "x0_m": -100.0, "x1_m": 100.0}],
                x_lo=-100.0, x_hi=100.0)
    g = math.tan(math.radians(45.0))
    assert t.height(-50.0) == pytest.approx(50.0 * g, abs=1e-12)
    assert t.height(-150.0) == 0.0 and t.height(150.0) == 200.0 * g


# ---------------------------------------------------------------- ray casts

_S45 = math.sqrt(0.5)


def test_an_upward_ray_from_the_ground_has_zero_range():
    t = Terrain()
    assert t.raycast(0.0, 0.0, _S45, _S45, 100.0) == 0.0


def test_a_ray_from_half_a_metre_up_meets_the_ground_half_a_metre_down():
    assert Terrain().raycast(0.0, 0.5, 0.0, -1.0, 100.0) == 0.5


def test_ground_exactly_at_max_range_is_hit():
    t = Terrain()
    assert t.raycast(0.0, 100.0, 0.0, -1.0, 100.0) == 100.0
    dx = math.sqrt(0.75)                                  # 30 deg below the horizontal
    assert t.raycast(0.0, 50.0, dx, -0.5, 100.0) == 100.0


def test_a_rising_ray_hits_a_wall_ahead():
    # 10 m over the plain, 30 deg up, a 1 km cliff (1 mm wide) 100 m ahead:
    # 10 + x tan 30 = 1000 (x - 100) / 0.001
    t = Terrain([{"kind": "step", "x_m": 100.0, "height_m": 1000.0, "width_m": 0.0}])
    dx, dz = math.sqrt(0.75), 0.5
    x = (10.0 + 1e6 * 100.0) / (1e6 - dz / dx)
    assert t.raycast(0.0, 10.0, dx, dz, 2500.0) == pytest.approx(x / dx, rel=1e-9)


def test_a_cliff_behind_the_vehicle_is_not_hit():
    # the ground drops 500 m at x = 0; 10 m past it, 50 m up, 45 deg forward-down
    t = Terrain([{"kind": "step", "x_m": 0.0, "height_m": -500.0, "width_m": 0.0}])
    assert t.raycast(10.0, -450.0, _S45, -_S45, 1000.0) == pytest.approx(50.0 / _S45, rel=1e-9)


def test_a_backward_ray_sees_the_nearest_breakpoint_first():
    # ground 0 for x > 10.001, -1 below x = 10; looking back (-x) 45 deg down
    # from (10.5, 0.3) the ray meets the top at x = 10.2, before the edge
    t = Terrain([{"kind": "step", "x_m": 10.0, "height_m": 1.0, "width_m": 0.0}], base_m=-1.0)
    assert t.raycast(10.5, 0.3, -_S45, -_S45, 100.0) == pytest.approx(0.3 / _S45, rel=1e-9)


def test_a_backward_ray_that_misses_within_max_range_is_none():
    # ground 0 for x < -20, -1 beyond; from (0, 15) 45 deg back-down the ray
    # reaches z = -1 at x = -16 (range 16 sqrt 2 = 22.6 m)
    t = Terrain([{"kind": "step", "x_m": -20.0, "height_m": -1.0, "width_m": 0.0}])
    assert t.raycast(0.0, 15.0, -_S45, -_S45, 22.0) is None              # 0.6 m short
    assert t.raycast(0.0, 15.0, -_S45, -_S45, 30.0) == pytest.approx(16.0 / _S45, rel=1e-9)


def test_a_horizontal_ray_at_the_rim_height_grazes_the_crest():
    # from the crater's centre, level with the rim: the crest at r = R is hit
    hr = 20.0
    t = Terrain([_crater(100.0, 50.0, hr, wr=20.0, ww=10.0)])
    assert t.raycast(0.0, hr, 1.0, 0.0, 105.0) == 100.0      # few breakpoints crossed
    assert t.raycast(0.0, hr, 1.0, 0.0, 1000.0) == 100.0     # every rim breakpoint crossed


def test_a_long_ray_over_a_crater_meets_the_plain_beyond_its_last_breakpoint():
    # base 100 m; from x = -300, 150 m over the plain, descending 150 m over 550 m:
    # clears both rims (40 breakpoints each) and meets the plain at x = 250
    t = Terrain([_crater(100.0, 50.0, 20.0, wr=20.0, ww=10.0)], base_m=100.0)
    n = math.hypot(550.0, 150.0)
    r = t.raycast(-300.0, 250.0, 550.0 / n, -150.0 / n, 1000.0)
    assert r == pytest.approx(n, rel=1e-9)


# ---------------------------------------------------------------- sensor values

class _Fixed:
    """A generator whose every normal draw is `normal` and every uniform draw
    `uniform`: each noise term then shows as its sigma times that number."""

    def __init__(self, normal=1.0, uniform=0.9):
        self.n, self.u = normal, uniform

    def standard_normal(self, n):
        return np.full(n, self.n)

    def random(self, n):
        return np.full(n, self.u)


def _sensors(sensors=None, gravity=1.62, z=1000.0, pitch_deg=0.0, rng=None, **top):
    quiet = {p: {"noise": 0.0} for p in ("altimeter", "rangefinder", "baro", "power")}
    for p in ("imu", "imu2"):
        quiet[p] = {"accel_noise_mps2": 0.0, "gyro_noise_dps": 0.0}
    for part, cfg in (sensors or {}).items():
        quiet.setdefault(part, {}).update(cfg)
    sc = scenario.validate(dict({"name": "t", "gravity_mps2": gravity, "sensors": quiet}, **top))
    dyn = Dynamics(sc["vehicle"], gravity, 0.0, z, 0.0, 0.0, math.radians(pitch_deg))
    return Sensors(sc, Terrain(), rng or _Fixed()), dyn


def _sample(s, dyn, t=0.0):
    return s.sample(t, dyn, False, [False, False])


def _fault(kind, part, value=None):
    f = {"kind": kind, "part": part}
    if value is not None:
        f["value"] = value
    return f


def test_a_range_is_truth_plus_each_bias_plus_each_sigma_times_its_draw():
    # 1000 m + bias 1 + faults 0.5 + (0.3 + 0.2) n1 + 0.01 * 1000 n2, n1 = n2 = 1
    s, dyn = _sensors({"altimeter": {"noise": 0.3, "bias": 1.0, "noise_frac": 0.01}})
    s.apply_fault(_fault("sensor_bias", "altimeter", 0.5), 0.0)
    s.apply_fault(_fault("sensor_noise", "altimeter", 0.2), 0.0)
    v = _sample(s, dyn)
    assert v["altimeter"] == pytest.approx(1012.0, abs=1e-9)
    assert v["altimeter_true"] == 1000.0


def test_overlapping_bias_and_noise_faults_add_up():
    s, dyn = _sensors({"altimeter": {"noise": 0.0}})
    for value in (0.5, 0.25):
        s.apply_fault(_fault("sensor_bias", "altimeter", value), 0.0)
        s.apply_fault(_fault("sensor_noise", "altimeter", value), 0.0)
    assert _sample(s, dyn)["altimeter"] == pytest.approx(1000.0 + 0.75 + 0.75, abs=1e-9)


def test_a_range_outlier_is_the_uniform_draw_times_the_outlier_ceiling():
    s, dyn = _sensors({"altimeter": {"outlier_rate": 0.5, "outlier_max_m": 100.0}},
                      rng=_Fixed(uniform=0.25))
    assert _sample(s, dyn)["altimeter"] == 25.0


def test_a_range_below_zero_reads_zero_and_under_a_metre_reads_itself():
    s, dyn = _sensors({"rangefinder": {"bias": -0.5}}, z=0.2)
    assert _sample(s, dyn)["rangefinder"] == 0.0
    s, dyn = _sensors(z=0.5)
    assert _sample(s, dyn)["rangefinder"] == 0.5


def test_a_range_exactly_at_max_range_is_read():
    s, dyn = _sensors({"rangefinder": {"max_range_m": 8.0}}, z=8.0)
    assert _sample(s, dyn)["rangefinder"] == 8.0


def test_the_rangefinder_beam_is_tilted_by_the_pitch():
    # beam 10 deg toward body +x, vehicle pitched 20 deg: 10 deg the other way
    s, dyn = _sensors({"rangefinder": {"beam_deg": 10.0}}, z=5.0, pitch_deg=20.0)
    assert _sample(s, dyn)["rangefinder"] == pytest.approx(5.0 / math.cos(math.radians(10.0)))


def test_a_dropout_starts_at_its_first_instant():
    s, dyn = _sensors({"altimeter": {"dropouts": [[1.0, 2.0]]}})
    assert _sample(s, dyn, 1.0)["altimeter"] is None


def test_a_stuck_window_holds_from_its_first_instant_to_before_its_last():
    s, dyn = _sensors()
    f = _fault("sensor_stuck", "altimeter")
    s.apply_fault(f, 1.0)
    s.end_fault(f, 2.0)
    _sample(s, dyn, 0.5)
    dyn.z = 500.0
    assert _sample(s, dyn, 1.0)["altimeter"] == 1000.0
    assert _sample(s, dyn, 2.0)["altimeter"] == 500.0


def test_a_part_stuck_from_the_start_reads_its_first_value():
    s, dyn = _sensors({"altimeter": {"stuck_at_s": 0.0, "noise_frac": 0.0}})
    assert _sample(s, dyn, 0.0)["altimeter"] == 1000.0
    dyn.z = 500.0
    assert _sample(s, dyn, 0.5)["altimeter"] == 1000.0


def test_a_dropout_fault_drops_the_readings_after_it():
    s, dyn = _sensors()
    s.apply_fault(_fault("sensor_dropout", "rangefinder"), 1.0)
    s.apply_fault(_fault("sensor_dropout", "altimeter"), 1.0)
    v = _sample(s, dyn, 1.5)
    assert v["altimeter"] is None and v["rangefinder"] is None


def test_imu_axes_are_truth_plus_bias_plus_sigma_times_the_draw():
    # accel sigma 0.1 + 0.2 + fault 0.4, bias 0.01 + 0.02 + fault 0.04; gyro 1 dps / 2 dps
    s, dyn = _sensors({"imu": {"accel_noise_mps2": 0.1, "noise": 0.2, "accel_bias_mps2": 0.01,
                               "bias": 0.02, "gyro_noise_dps": 1.0, "gyro_bias_dps": 2.0}})
    s.apply_fault(_fault("sensor_noise", "imu", 0.4), 0.0)
    s.apply_fault(_fault("sensor_bias", "imu", 0.04), 0.0)
    dyn.q = 0.5
    acc, gyr = _sample(s, dyn)["imu"]
    assert acc == pytest.approx([0.77, 0.77, 0.77], abs=1e-12)
    g = math.radians(3.0)
    assert gyr == pytest.approx([g, 0.5 + g, g], abs=1e-12)


@pytest.mark.parametrize("u, rate, sign", [(0.25, 0.5, 1.0), (0.6, 0.9, -1.0)])
def test_an_imu_spike_is_full_scale_with_the_sign_of_its_draw(u, rate, sign):
    s, dyn = _sensors({"imu": {"outlier_rate": rate}}, rng=_Fixed(normal=0.0, uniform=u))
    acc, gyr = _sample(s, dyn)["imu"]
    assert acc == [0.0, 0.0, sign * 16.0 * G0]
    assert gyr == [0.0, sign * (2000.0 * math.pi / 180.0), 0.0]


def test_a_stuck_imu_repeats_its_last_sample():
    s, dyn = _sensors({"imu": {"stuck_at_s": 1.0}, "imu2": {"stuck_at_s": 1.0}})
    dyn.q = 0.25
    first = _sample(s, dyn, 0.5)
    dyn.q = 0.75
    later = _sample(s, dyn, 1.5)
    assert later["imu"] == first["imu"] and later["imu2"] == first["imu2"]
    assert first["imu"][1][1] == 0.25


def test_baro_is_the_atmosphere_plus_biases_plus_each_sigma_times_its_draw():
    s, dyn = _sensors({"baro": {"noise": 2.0, "bias": 3.0, "noise_frac": 0.001}}, gravity=9.81)
    s.apply_fault(_fault("sensor_bias", "baro", 5.0), 0.0)
    s.apply_fault(_fault("sensor_noise", "baro", 7.0), 0.0)
    p = 101325.0 * math.exp(-1000.0 / 8434.0)
    assert _sample(s, dyn)["baro"] == pytest.approx(p + 3.0 + 5.0 + 9.0 + 0.001 * p, rel=1e-12)


def test_the_atmosphere_is_there_only_above_5_mps2_of_gravity():
    quiet = {"baro": {"noise_frac": 0.0}}
    s, dyn = _sensors(quiet, gravity=5.0)
    assert _sample(s, dyn)["baro"] == 0.0
    s, dyn = _sensors(quiet, gravity=5.5)
    assert _sample(s, dyn)["baro"] == 101325.0 * math.exp(-1000.0 / 8434.0)


def test_a_baro_outlier_is_the_uniform_draw_times_two_atmospheres():
    s, dyn = _sensors({"baro": {"outlier_rate": 0.5}}, gravity=9.81, rng=_Fixed(uniform=0.25))
    assert _sample(s, dyn)["baro"] == 0.25 * 2.0 * 101325.0


def test_a_stuck_baro_repeats_its_last_pressure_and_a_dropout_reads_none():
    s, dyn = _sensors({"baro": {"stuck_at_s": 1.0, "dropouts": [[3.0, 4.0]]}}, gravity=9.81)
    first = _sample(s, dyn, 0.5)["baro"]
    dyn.z = 500.0
    assert _sample(s, dyn, 1.5)["baro"] == first
    assert _sample(s, dyn, 3.5)["baro"] is None


def test_bus_voltage_is_the_battery_plus_biases_plus_sigma_times_the_draw():
    s, dyn = _sensors({"power": {"noise": 0.1, "bias": 0.2}})
    s.apply_fault(_fault("sensor_bias", "power", 0.4), 0.0)
    s.apply_fault(_fault("sensor_noise", "power", 0.8), 0.0)
    assert _sample(s, dyn)["power"] == pytest.approx(28.0 + 0.2 + 0.4 + 0.9, abs=1e-12)


@pytest.mark.parametrize("bias, want", [(0.0, 0.25 * 28.0), (-27.5, 0.25 * 0.5)])
def test_a_brown_out_dip_is_the_uniform_draw_times_the_voltage(bias, want):
    s, dyn = _sensors({"power": {"outlier_rate": 0.5, "bias": bias}}, rng=_Fixed(uniform=0.25))
    assert _sample(s, dyn)["power"] == pytest.approx(want, abs=1e-12)


def test_the_last_sample_is_kept():
    s, dyn = _sensors()
    v = _sample(s, dyn)
    assert s.values is v



def _uniforms_after_the_normal_block(seed):
    """The uniform draws the sensors take, in the order they pop them: the
    seeded generator's stream after the block of 4096 normals drawn first."""
    rng = np.random.default_rng(seed)
    rng.standard_normal(4096)
    return rng.random(4096).tolist()


def test_only_parts_with_outliers_draw_from_the_uniform_stream():
    # Per step the uniform stream gives: the altimeter's outlier test, its
    # outlier value when it is one, the rangefinder's test; no other part
    # draws while its outlier rate is 0 (normal draws come from their own block).
    s, dyn = _sensors({"altimeter": {"outlier_rate": 0.5, "outlier_max_m": 100.0}},
                      rng=np.random.default_rng(5))
    u = _uniforms_after_the_normal_block(5)
    want = []
    for _ in range(50):
        a = u.pop()
        want.append(u.pop() * 100.0 if a < 0.5 else 1000.0)
        u.pop()
    got = [_sample(s, dyn, 0.02 * k)["altimeter"] for k in range(50)]
    assert got == want


def test_a_lost_power_reads_zero_volts_and_draws_no_brown_out_dip():
    # power off: 0 V, and the power's outlier test is not drawn, so the
    # uniform stream gives the range sensors exactly what it gives without it
    s, dyn = _sensors({"altimeter": {"outlier_rate": 0.5, "outlier_max_m": 100.0},
                       "power": {"outlier_rate": 0.5}}, rng=np.random.default_rng(5))
    s.power_off = True
    u = _uniforms_after_the_normal_block(5)
    want = []
    for _ in range(50):
        a = u.pop()
        want.append((u.pop() * 100.0 if a < 0.5 else 1000.0, 0.0))
        u.pop()
    got = []
    for k in range(50):
        v = _sample(s, dyn, 0.02 * k)
        got.append((v["altimeter"], v["power"]))
    assert got == want


# ---------------------------------------------------------------- bench link

class _Part:
    def __init__(self):
        from host_tools.emu.bus import Faults
        self.faults = Faults()


class _Bench:
    def __init__(self, **parts):
        self.parts = parts


def test_a_bench_without_parts_links_nothing():
    sc = scenario.validate({"name": "t"})
    assert BenchLink(object(), sc).parts == {}


def test_part_faults_reach_an_emulator_beside_one_without_faults():
    sc = scenario.validate({"name": "t", "sensors": {"imu2": {"valid_flag_never_set": True}}})
    gyro = _Part()
    BenchLink(_Bench(imu2_acc=object(), imu2_gyro=gyro), sc)
    assert gyro.faults.valid_never_set is True


def test_a_stuck_window_skips_an_emulator_without_faults():
    sc = scenario.validate({"name": "t", "sensors": {"altimeter": {"stuck_at_s": 1.0}}})
    s, dyn = _sensors()
    alt = type("Alt", (), {})()
    link = BenchLink(_Bench(altimeter=alt), sc)
    link.push(_sample(s, dyn), 2.0)
    assert alt.range_m == 1000.0


def test_a_missing_baro_reading_leaves_the_emulator_s_pressure():
    sc = scenario.validate({"name": "t"})
    s, dyn = _sensors({"baro": {"dropouts": [[0.0, 1.0]]}})
    baro = type("Baro", (), {"pressure_pa": 1234.0, "temperature_c": 5.0})()
    BenchLink(_Bench(baro=baro), sc).push(_sample(s, dyn, 0.5), 0.5)
    assert baro.pressure_pa == 1234.0


def test_trace_raw_altitude_is_the_altimeter_value_or_nan():
    from host_tools.sim.sensors import trace_raw_alt
    assert trace_raw_alt({"altimeter": 12.5}) == 12.5
    assert trace_raw_alt({"altimeter": 0.0}) == 0.0
    assert math.isnan(trace_raw_alt({"altimeter": None})) and math.isnan(trace_raw_alt({}))
