"""The simulator's behaviours that its mutation run (`make mutate GROUP=sim`)
found unpinned: each test pins one value by a closed form or a hand-computed
case (docs/mutation.md lists the survivors that cannot change an output)."""
import math

import numpy as np
import pytest

from host_tools.sim import scenario
from host_tools.sim.link import Channel, deliver
from host_tools.sim.physics import G0, Dynamics, EngineController
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
