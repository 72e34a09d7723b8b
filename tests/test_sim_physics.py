"""The descent integrator against closed forms, the engine controller, touchdown
classification."""
import math

import pytest

from host_tools.sim import scenario
from host_tools.sim.physics import G0, Dynamics, EngineController, classify


def _vehicle(**kw):
    v = scenario.validate({"name": "t"})["vehicle"]
    v.update(kw)
    return v


def _fly(dyn, seconds, dt, throttle, pitch=0.0):
    for _ in range(int(round(seconds / dt))):
        dyn.step(dt, throttle, pitch)


def test_free_fall_matches_closed_form():
    dyn = Dynamics(_vehicle(), 1.62, 0.0, 1000.0, 10.0, -5.0)
    _fly(dyn, 20.0, 0.005, 0.0)
    assert dyn.z == pytest.approx(1000.0 - 5.0 * 20 - 0.5 * 1.62 * 400, abs=1e-9)
    assert dyn.vz == pytest.approx(-5.0 - 1.62 * 20, abs=1e-9)
    assert dyn.x == pytest.approx(200.0, abs=1e-9)
    assert dyn.prop == 80.0


def test_constant_thrust_without_depletion_matches_closed_form():
    # huge Isp: no mass change, constant acceleration T/m - g
    v = _vehicle(isp_s=1e12, engine_lag_s=0.0)
    dyn = Dynamics(v, 1.62, 0.0, 100.0, 0.0, 0.0)
    _fly(dyn, 10.0, 0.005, 0.5)
    a = 1500.0 / 420.0 - 1.62
    assert dyn.vz == pytest.approx(a * 10.0, rel=1e-9)
    assert dyn.z == pytest.approx(100.0 + 0.5 * a * 100.0, rel=1e-9)


def test_mass_depletion_follows_the_rocket_equation():
    v = _vehicle(engine_lag_s=0.0)
    dyn = Dynamics(v, 1.62, 0.0, 5000.0, 0.0, 0.0)
    t = 30.0
    _fly(dyn, t, 0.005, 1.0)
    mdot = 3000.0 / (315.0 * G0)
    m1 = 420.0 - mdot * t
    assert dyn.mass == pytest.approx(m1, rel=1e-9)
    dv = 315.0 * G0 * math.log(420.0 / m1) - 1.62 * t
    assert dyn.vz == pytest.approx(dv, rel=1e-8)
    # altitude: integral of the rocket-equation velocity
    c = 315.0 * G0
    z = c * ((m1 / mdot) * math.log(m1 / 420.0) + t) - 0.5 * 1.62 * t * t
    assert dyn.z - 5000.0 == pytest.approx(z, rel=1e-7)


def test_engine_lag_is_first_order():
    v = _vehicle(engine_lag_s=0.15, isp_s=1e12)
    dyn = Dynamics(v, 1.62, 0.0, 100.0, 0.0, 0.0)
    _fly(dyn, 0.15, 0.001, 1.0)
    assert dyn.thrust == pytest.approx(3000.0 * (1 - math.exp(-1.0)), rel=1e-6)


def test_fuel_runs_out_and_thrust_stops():
    v = _vehicle(propellant_kg=1.0, engine_lag_s=0.0)
    dyn = Dynamics(v, 1.62, 0.0, 5000.0, 0.0, 0.0)
    _fly(dyn, 5.0, 0.005, 1.0)
    assert dyn.prop == 0.0 and dyn.thrust == 0.0
    assert dyn.fuel_out_t == pytest.approx(1.0 / (3000.0 / (315.0 * G0)), abs=0.01)


def test_pitch_rate_is_limited():
    v = _vehicle(max_pitch_rate_dps=10.0, pitch_rate_lag_s=0.0, pitch_tau_s=0.01)
    dyn = Dynamics(v, 1.62, 0.0, 5000.0, 0.0, 0.0)
    _fly(dyn, 1.0, 0.005, 0.0, math.radians(40.0))
    assert math.degrees(dyn.pitch) == pytest.approx(10.0, abs=0.05)


def test_pitch_command_is_limited_to_max_pitch():
    v = _vehicle(max_pitch_deg=15.0)
    dyn = Dynamics(v, 1.62, 0.0, 5000.0, 0.0, 0.0)
    _fly(dyn, 20.0, 0.005, 0.0, math.radians(60.0))
    assert math.degrees(dyn.pitch) == pytest.approx(15.0, abs=0.01)


def test_thrust_is_along_the_tilted_body_axis():
    v = _vehicle(isp_s=1e12, engine_lag_s=0.0, max_pitch_deg=45.0)
    dyn = Dynamics(v, 1.62, 0.0, 5000.0, 0.0, 0.0, pitch_rad=math.radians(30.0))
    _fly(dyn, 1.0, 0.005, 0.0, math.radians(30.0))  # hold the attitude
    dyn.vx = dyn.vz = 0.0
    _fly(dyn, 1.0, 0.005, 1.0, math.radians(30.0))
    a = 3000.0 / 420.0
    assert dyn.vx == pytest.approx(a * 0.5, rel=1e-3)
    assert dyn.vz == pytest.approx(a * math.cos(math.radians(30)) - 1.62, rel=1e-3)


def test_engine_controller_floors_at_min_throttle_while_firing():
    e = EngineController(0.2)
    assert e.command(0.05, True) == 0.2
    assert e.command(0.0, True) == 0.0
    assert e.command(0.7, False) == 0.0
    assert e.command(1.5, True) == 1.0


def test_engine_controller_holds_then_cuts_across_a_reset():
    e = EngineController(0.2)
    e.command(0.6, True)
    e.on_reset(10.0, 1.0)
    assert e.command(0.0, False) == 0.6  # the rebooting computer is ignored
    assert e.tick(10.9) == 0.6
    assert e.tick(11.0) == 0.0 and e.mode == e.CUT


def test_engine_controller_resumes_inside_the_hold():
    e = EngineController(0.2)
    e.command(0.6, True)
    e.on_reset(10.0, 1.0)
    e.tick(10.3)
    e.resume()
    assert e.command(0.4, True) == 0.4
    assert e.tick(12.0) == 0.4 and e.cuts == 0


PASS = scenario.validate({"name": "t"})["pass"]


@pytest.mark.parametrize("vz, vx, tilt, slope, rel, outcome", [
    (-1.0, 0.2, 2.0, 0.0, 2.0, "landed"),
    (-2.5, 0.2, 2.0, 0.0, 2.0, "hard_landing"),
    (-1.0, 1.5, 2.0, 0.0, 2.0, "hard_landing"),
    (-1.0, 0.2, 12.0, 0.0, 12.0, "hard_landing"),
    (-1.0, 0.2, 0.0, 20.0, 20.0, "hard_landing"),
    (-1.0, 4.0, 0.0, 0.0, 0.0, "tipped"),
    (-1.0, 0.2, 0.0, 35.0, 35.0, "tipped"),
    (-9.0, 0.0, 0.0, 0.0, 0.0, "crashed"),
    (-1.0, 30.0, 0.0, 0.0, 0.0, "crashed"),
])
def test_touchdown_classification(vz, vx, tilt, slope, rel, outcome):
    assert classify(vz, vx, tilt, slope, rel, PASS) == outcome
