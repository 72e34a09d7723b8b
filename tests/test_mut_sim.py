"""The simulator's behaviours that its mutation run (`make mutate GROUP=sim`)
found unpinned: each test pins one value by a closed form or a hand-computed
case (docs/mutation.md lists the survivors that cannot change an output)."""
import math

import numpy as np
import pytest

from host_tools.sim import scenario
from host_tools.sim.link import Channel, deliver
from host_tools.sim.physics import G0, Dynamics, EngineController


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
