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


def burn(z, v, m, thrust, s, isp, g):
    """State after s seconds of constant vertical thrust, exactly (rocket equation).

    m(u) = m - b u with b = T / c, c = Isp g0;
    v(s) = v + c ln(m / m(s)) - g s;
    z(s) = z + v s + c [s ln m + ((M ln M - M) - (m ln m - m)) / b] - g s^2 / 2, M = m(s).
    """
    if thrust == 0.0:
        return z + v * s - 0.5 * g * s * s, v - g * s, m
    c = isp * G0
    b = thrust / c
    big_m = m - b * s
    v_end = v + c * math.log(m / big_m) - g * s
    z_end = (z + v * s - 0.5 * g * s * s
             + c * (s * math.log(m) + ((big_m * math.log(big_m) - big_m) - (m * math.log(m) - m)) / b))
    return z_end, v_end, big_m


def vertical_optimum(h0, v0, m0, m_dry, t_low, t_high, isp, g):
    """Exact 1-D minimum-propellant vertical landing: (propellant_kg, time_of_flight_s).

    Pontryagin gives bang-bang thrust: the lowest thrust (t_low: 0 = free fall,
    or the minimum of an engine lit throughout), then full thrust to arrive at
    z = 0 with v = 0. For a low phase of t1 s the full-thrust phase length is
    the root of v = 0; t1 is the root of z = 0 at that moment.
    """
    c = isp * G0

    def land(t1):
        z1, v1, m1 = burn(h0, v0, m0, t_low, t1, isp, g)
        tau = brentq(lambda s: burn(z1, v1, m1, t_high, s, isp, g)[1], 0.0,
                     (m1 - m_dry) * c / t_high)
        return burn(z1, v1, m1, t_high, tau, isp, g), t1 + tau

    t1_hi = 0.0
    while land(t1_hi)[0][0] > 0.0:
        t1_hi += 1.0
    t1 = brentq(lambda t: land(t)[0][0], 0.0, t1_hi, xtol=1e-9)
    (_, _, m_end), tf = land(t1)
    return m0 - m_end, tf


def vertical_scenario(h0, v0, g, thrust, min_throttle=0.0, max_pitch_deg=20.0):
    return {
        "name": "vertical",
        "gravity_mps2": g,
        "vehicle": {"dry_mass_kg": 340.0, "propellant_kg": 80.0, "max_thrust_n": thrust,
                    "min_throttle": min_throttle, "isp_s": 315.0, "engine_lag_s": 0.0,
                    "max_pitch_rate_dps": 10.0, "max_pitch_deg": max_pitch_deg},
        "initial": {"altitude_m": h0, "x_m": 0.0, "vx_mps": 0.0, "vz_mps": v0, "pitch_deg": 0.0},
        "target": {"x_m": 0.0},
        "terrain": {"base_m": 0.0, "features": []},
    }


@pytest.mark.parametrize("h0, v0, g, thrust", [
    (2000.0, -30.0, 1.62, 3000.0),     # lunar
    (500.0, -10.0, 9.81, 8000.0),      # Earth hopper
])
def test_vertical_landing_matches_closed_form_bang_bang(h0, v0, g, thrust):
    exact_kg, exact_tf = vertical_optimum(h0, v0, 420.0, 340.0, 0.0, thrust, 315.0, g)
    got = optimal.solve(vertical_scenario(h0, v0, g, thrust))
    assert got["propellant_kg"] == pytest.approx(exact_kg, rel=0.01)
    # The discrete problem is a restriction of the continuous one: never better than exact.
    assert got["propellant_kg"] >= exact_kg * (1.0 - 1e-4)
    assert got["time_of_flight_s"] == pytest.approx(exact_tf, rel=0.02)


def test_engine_lit_throughout_matches_closed_form_min_then_max_thrust():
    # The paper's model: thrust in [0.2, 1] x 3000 N all the way; the lower bound is the
    # lossless-convexification relaxation. max_pitch 0 keeps it 1-D (a tilted thrust
    # would lower the effective minimum vertical thrust).
    exact_kg, exact_tf = vertical_optimum(2000.0, -30.0, 420.0, 340.0, 600.0, 3000.0, 315.0, 1.62)
    sc = vertical_scenario(2000.0, -30.0, 1.62, 3000.0, min_throttle=0.2, max_pitch_deg=0.0)
    got = optimal.solve(sc, engine_off=False)
    assert got["propellant_kg"] == pytest.approx(exact_kg, rel=0.01)
    assert got["propellant_kg"] >= exact_kg * (1.0 - 1e-4)
    assert got["time_of_flight_s"] == pytest.approx(exact_tf, rel=0.02)
    # Shutting the engine down is allowed by default, and saves propellant here.
    assert optimal.solve(sc)["propellant_kg"] < exact_kg


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
    # DESIGN.md and scenarios/nominal.toml: 31.5 kg in ~105 s (engine may shut down)
    assert got["propellant_kg"] == pytest.approx(31.5, abs=0.1)
    assert got["time_of_flight_s"] == pytest.approx(104.6, abs=2.0)


def test_cli_rejects_malformed_gate(capsys):
    from host_tools.cli import main
    assert main(["optimal", "whatever.toml", "--gate", "30"]) == 2
    assert "ALT_M,VZ_MPS" in capsys.readouterr().err


def test_relaxation_is_lossless_on_the_nominal_descent():
    from host_tools.sim import scenario
    sc = scenario.load(os.path.join(SCENARIOS_DIR, "nominal.toml"))
    for engine_off in (True, False):
        traj = optimal.optimise(optimal.problem_from_scenario(sc, engine_off=engine_off))
        lit = traj.thrust_n > 30.0
        # The slack Gamma equals |T| wherever the engine burns (Acikmese & Ploen, lemma 2) ...
        assert np.allclose(traj.thrust_norm_n[lit], traj.thrust_n[lit], rtol=1e-3, atol=1.0)
        # ... and the thrust stays within the engine's limits and the tilt limit.
        assert traj.thrust_n.max() <= 3000.0 * (1 + 1e-4)
        assert np.all(np.abs(traj.pitch_deg[lit]) <= 60.0 + 0.1)
        if not engine_off:
            assert traj.thrust_n.min() >= 600.0 * (1 - 1e-3)
        assert traj.below_min_s == 0.0
        assert traj.z_m.min() >= -1e-3 and abs(traj.x_m[-1]) < 1e-3 and abs(traj.z_m[-1]) < 1e-3


# ---------------------------------------------------------------- each constraint active

def _lateral(h0=800.0, vz0=-20.0, x0=-600.0, vx0=20.0, max_pitch_deg=60.0):
    sc = vertical_scenario(h0, vz0, 1.62, 3000.0, max_pitch_deg=max_pitch_deg)
    sc["initial"]["x_m"] = x0
    sc["initial"]["vx_mps"] = vx0
    return sc


def _opt(sc, **kw):
    return optimal.optimise(optimal.problem_from_scenario(sc, **kw), nodes=30, final_nodes=40)


def test_tilt_limit_is_active_and_costs_propellant():
    free = _opt(_lateral(max_pitch_deg=60.0))
    assert np.max(np.abs(free.pitch_deg[free.thrust_n > 30.0])) > 30.0
    tight = _opt(_lateral(max_pitch_deg=15.0))
    lit = tight.thrust_n > 30.0
    assert np.max(np.abs(tight.pitch_deg[lit])) == pytest.approx(15.0, abs=0.05)   # on the limit
    assert tight.propellant_kg > free.propellant_kg


def test_glide_slope_is_active_and_never_crossed():
    # 500 m up, 1500 m short of the site, diving at 30 m/s: the free optimum dips
    # below an 18 deg cone; with the cone it rides on it and pays for it
    sc = _lateral(h0=500.0, vz0=-30.0, x0=-1500.0, vx0=40.0)
    g = math.tan(math.radians(18.0))
    free = _opt(sc)
    assert np.min(free.z_m - g * np.abs(free.x_m)) < -5.0
    cone = _opt(sc, glide_slope_deg=18.0)
    margin = cone.z_m - g * np.abs(cone.x_m)
    assert margin.min() >= -1e-3
    assert np.min(margin[1:-1]) < 1e-3                            # touches the cone on the way
    assert cone.propellant_kg > free.propellant_kg


def test_propellant_load_is_a_hard_limit():
    sc = vertical_scenario(2000.0, -30.0, 1.62, 3000.0)
    need = _opt(sc).propellant_kg                                  # about 13 kg of the 80 kg load
    sc["vehicle"]["propellant_kg"] = need * 0.5
    with pytest.raises(optimal.OptimalError):
        _opt(sc)


def test_gate_end_state_is_met():
    sc = vertical_scenario(2000.0, -30.0, 1.62, 3000.0)
    traj = _opt(sc, gate=(100.0, -2.0))
    assert traj.z_m[-1] == pytest.approx(100.0, abs=1e-2)
    assert traj.vz_mps[-1] == pytest.approx(-2.0, abs=1e-3) and abs(traj.vx_mps[-1]) < 1e-3
