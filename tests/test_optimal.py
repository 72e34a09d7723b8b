"""Fuel-optimal reference (lossless convexification) against closed-form cases."""
import json
import math
import os

import numpy as np
import pytest
from scipy.optimize import brentq

from host_tools import SCENARIOS_DIR
from host_tools.sim import optimal

G0 = 9.80665


def suicide_burn(h0, v0, m0, thrust, isp, g):
    """Exact 1-D minimum-propellant vertical landing without a minimum throttle.

    Pontryagin gives bang-bang: free fall, then full thrust to arrive at z = 0
    with v = 0. During the burn the mass falls linearly (m = m0 - b s,
    b = T / (Isp g0)), so by the rocket equation
        v(s) = v1 + c ln(m0 / m(s)) - g s
        z(s) = z1 + v1 s + c [s ln m0 - ((m ln m - m) - (m0 ln m0 - m0)) / b] - g s^2 / 2
    Picking the burn length tau fixes v1 (so v(tau) = 0), hence the coast time
    and z1; tau is the root of z(tau) = 0. Returns (propellant_kg, time_of_flight_s).
    """
    c = isp * G0
    b = thrust / c

    def end_altitude(tau):
        m = m0 - b * tau
        v1 = g * tau - c * math.log(m0 / m)
        t_coast = (v0 - v1) / g
        z1 = h0 + v0 * t_coast - 0.5 * g * t_coast ** 2
        integral = c * (tau * math.log(m0) + ((m * math.log(m) - m) - (m0 * math.log(m0) - m0)) / b)
        return z1 + v1 * tau + integral - 0.5 * g * tau ** 2, t_coast

    tau = brentq(lambda s: end_altitude(s)[0], 1e-6, 0.999 * (m0 - 1.0) / b)
    return b * tau, end_altitude(tau)[1] + tau


def vertical_scenario(h0, v0, g, thrust):
    return {
        "name": "vertical",
        "gravity_mps2": g,
        "vehicle": {"dry_mass_kg": 340.0, "propellant_kg": 80.0, "max_thrust_n": thrust,
                    "min_throttle": 0.0, "isp_s": 315.0, "engine_lag_s": 0.0,
                    "max_pitch_rate_dps": 10.0, "max_pitch_deg": 20.0},
        "initial": {"altitude_m": h0, "x_m": 0.0, "vx_mps": 0.0, "vz_mps": v0, "pitch_deg": 0.0},
        "target": {"x_m": 0.0},
        "terrain": {"base_m": 0.0, "features": []},
    }


@pytest.mark.parametrize("h0, v0, g, thrust", [
    (2000.0, -30.0, 1.62, 3000.0),     # lunar
    (500.0, -10.0, 9.81, 8000.0),      # Earth hopper
])
def test_vertical_landing_matches_closed_form_bang_bang(h0, v0, g, thrust):
    exact_kg, exact_tf = suicide_burn(h0, v0, 420.0, thrust, 315.0, g)
    got = optimal.solve(vertical_scenario(h0, v0, g, thrust))
    assert got["propellant_kg"] == pytest.approx(exact_kg, rel=0.01)
    # The discrete problem is a restriction of the continuous one: never better than exact.
    assert got["propellant_kg"] >= exact_kg * (1.0 - 1e-4)
    assert got["time_of_flight_s"] == pytest.approx(exact_tf, rel=0.02)


def test_vertical_optimum_is_free_fall_then_full_thrust():
    sc = vertical_scenario(2000.0, -30.0, 1.62, 3000.0)
    p = optimal.problem_from_scenario(sc)
    traj = optimal.optimise(p)
    thrust = traj.thrust_n / 3000.0
    off = np.flatnonzero(thrust < 0.05)
    full = np.flatnonzero(thrust > 0.95)
    # One switch, smeared over at most two intervals of the time grid.
    assert off.size > 0.3 * thrust.size and full.size > 0.3 * thrust.size
    assert off[-1] < full[0]
    assert thrust.size - off.size - full.size <= 2
    assert full[-1] == thrust.size - 1 and off[0] == 0
    assert np.all(np.abs(traj.x_m) < 1e-3)


def test_gate_costs_less_than_landing():
    sc = vertical_scenario(2000.0, -30.0, 1.62, 3000.0)
    land = optimal.solve(sc)
    gate = optimal.solve(sc, gate=(100.0, -2.0))
    assert gate["propellant_kg"] < land["propellant_kg"]
    assert gate["time_of_flight_s"] < land["time_of_flight_s"]


def test_nominal_scenario_optimum_is_plausible(capsys):
    from host_tools.cli import main
    path = os.path.join(SCENARIOS_DIR, "nominal.toml")
    assert main(["optimal", path, "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert set(got) == {"name", "propellant_kg", "time_of_flight_s"}
    # DESIGN.md quotes ~36 kg in ~85 s; the load is 80 kg.
    assert 25.0 < got["propellant_kg"] < 45.0
    assert 60.0 < got["time_of_flight_s"] < 150.0


def test_cli_rejects_malformed_gate(capsys):
    from host_tools.cli import main
    with pytest.raises(SystemExit):
        main(["optimal", "whatever.toml", "--gate", "30"])
    assert "ALT_M,VZ_MPS" in capsys.readouterr().err
