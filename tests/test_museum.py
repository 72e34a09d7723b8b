"""The failure museum and the nominal descent flown by the firmware in the loop
(sim board, register-level emulators, the attitude-control unit): each
scenario's [pass] table (`passed: true`), and the nominal figures of issue 9.

Every museum scenario passes: crater rim since the beam looks down over the
shadow of its rim, false zero since the navigation measures the accelerometer
biases in the unpowered coast (tests/test_estimator_bias.py)."""
import os

import pytest

from host_tools import SCENARIOS_DIR
from host_tools.sim import runner, scenario

MUSEUM = os.path.join(SCENARIOS_DIR, "museum")


def _fly(path):
    return runner.fly(scenario.load(path), controller="firmware", record=True)


@pytest.fixture(scope="module")
def nominal():
    return _fly(os.path.join(SCENARIOS_DIR, "nominal.toml"))


def test_nominal_touches_down_soft_upright_and_on_the_site(nominal):
    s = nominal.summary
    td = s["touchdown"]
    assert s["outcome"] == "landed" and s["passed"] is True
    assert abs(td["vz_mps"]) <= 1.0
    assert td["tilt_deg"] <= 3.0
    assert td["miss_m"] <= 50.0


def test_nominal_touchdown_horizontal_speed_within_0_3(nominal):
    assert abs(nominal.summary["touchdown"]["vx_mps"]) <= 0.3


def test_nominal_flies_the_phases_in_order(nominal):
    phases = [int(p) for p in nominal.trace["phase"]]
    order = [p for i, p in enumerate(phases) if i == 0 or p != phases[i - 1]]
    assert order == [0, 1, 4, 2]         # coast, braking, approach, terminal (then landed)
    # the engine is off in the coast and lit from ignition on (the terminal
    # rate loop may shut it down for a few cycles when the floor is above hover)
    thr = nominal.trace["throttle"]
    ign = phases.index(1)
    assert max(thr[:ign]) == 0.0
    assert (thr[ign + 5:-1] > 0.0).mean() >= 0.9


def test_nominal_propellant_within_10_percent_of_the_fair_optimum(nominal):
    from host_tools.sim import optimal
    from host_tools.sim.cmd_sim import fair_optimum

    sc = scenario.load(os.path.join(SCENARIOS_DIR, "nominal.toml"))
    fair = fair_optimum(sc, nominal, optimal)
    assert fair["propellant_fair_ratio"] <= 1.10


@pytest.mark.parametrize("name", ["01_crater_rim.toml", "08_overthrust.toml", "09_half_thrust_50m.toml",
                                  "03_late_altimeter.toml", "05_altimeter_never_enabled.toml",
                                  "07_imu_reset_then_command.toml", "04_noisy_altimeter.toml",
                                  "06_altimeter_bias.toml", "10_link_outage_final_30s.toml",
                                  "11_watchdog_reset.toml", "12_power_loss_blackbox.toml",
                                  "02_hover_false_zero.toml"])
def test_museum_scenario_passes_with_the_firmware(name):
    s = _fly(os.path.join(MUSEUM, name)).summary
    assert s["passed"] is True, s["fail_reasons"]


def test_crater_rim_lands_on_the_site_across_the_3_km_drop():
    # Hakuto-R M1's trap: the 3 km drop is terrain, never an altimeter fault.
    # The beam (45 deg ahead while braking) jumps from the rim to the floor far
    # ahead: navigation knows a shadow (unseen ground behind an edge, 3 km
    # lower beyond); guidance turns the beam down before the edge and holds it
    # there while the vehicle crosses the 350 m wall (mapped as steep ground,
    # sample by sample) until the ground under it is the floor's level.
    # Measured (seed 101, main 3c84145): landed, miss 7.5 m, 41.3 kg, estimate
    # divergence 0.0 s (7.8 s before the shadow), error 0.35 m below 100 m
    # (issue 8: under 1 m below 100 m).
    s = _fly(os.path.join(MUSEUM, "01_crater_rim.toml")).summary
    assert s["outcome"] == "landed" and s["passed"] is True
    assert s["touchdown"]["miss_m"] <= 20.0
    assert s["propellant_used_kg"] <= 43.0
    est = s["estimate"]
    assert est["max_error_below_100m_m"] < 1.0
    assert est["longest_divergence_s"] <= 1.0        # the goal: well under 2 s
    ev = s["events"]
    assert ev.get("EV_NAV_SHADOW") == 1 and ev.get("EV_NAV_SHADOW_END") == 1
    assert ev.get("EV_SHADOW_LOOK") == 2              # turned down once, back once


def test_museum_02_false_zero_lands_with_half_the_propellant():
    # museum 02 (seed 102, measured): no hover until empty (fuel_out at 80 kg
    # before); landed: the 0.03 m/s^2 accelerometer bias on each axis is
    # measured in the coast (was hard at vx -2.33 m/s)
    s = _fly(os.path.join(MUSEUM, "02_hover_false_zero.toml")).summary
    assert s["outcome"] == "landed", s["outcome"]
    assert abs(s["touchdown"]["vx_mps"]) <= 0.5
    assert s["propellant_used_kg"] <= 42.5
    assert abs(s["touchdown"]["vz_mps"]) <= 1.0
    assert s["touchdown"]["miss_m"] <= 200.0
    assert s["estimate"]["longest_divergence_s"] <= 3.0


def test_small_monte_carlo_of_the_nominal_descent_lands():
    from host_tools.sim import montecarlo

    sc = scenario.load(os.path.join(SCENARIOS_DIR, "nominal.toml"))
    rows = montecarlo.run_campaign(sc, 3, seed=9, jobs=1, controller="firmware")
    summary = montecarlo.summarise(rows)
    assert summary["passed"] == 3, [(r.get("outcome"), r.get("fail_reasons")) for r in rows]
