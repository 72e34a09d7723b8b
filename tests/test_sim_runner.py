"""Closed-loop runs: every museum scenario flies to a result, runs repeat bit
for bit, faults fire once at their trigger, resets hold then cut the engine."""
import copy
import glob
import json
import math
import os

import numpy as np
import pytest

from host_tools import SCENARIOS_DIR
from host_tools.sim import runner, scenario
from host_tools.sim.cmd_sim import _clean

MUSEUM = sorted(glob.glob(os.path.join(SCENARIOS_DIR, "museum", "*.toml")))
HOPPER = os.path.join(SCENARIOS_DIR, "hopper.toml")
NOMINAL = os.path.join(SCENARIOS_DIR, "nominal.toml")
SUMMARY_KEYS = {"name", "outcome", "touchdown", "propellant_used_kg", "estimate", "max_alt_error_m",
                "telemetry", "events", "passed"}


def _hopper(**top):
    sc = scenario.load(HOPPER)
    sc.update(top)
    return sc


@pytest.mark.parametrize("path", MUSEUM, ids=os.path.basename)
def test_museum_scenario_flies_to_a_result_json(path):
    sc = scenario.load(path)
    r = runner.fly(sc, controller="reference")
    s = r.summary
    assert SUMMARY_KEYS <= set(s)
    json.dumps(_clean(s), allow_nan=False)
    # the truth-fed reference lands every museum scenario: each is flyable
    assert s["outcome"] == "landed", s
    assert set(s["touchdown"]) >= {"vz_mps", "vx_mps", "tilt_deg", "miss_m"}
    assert len(r.trace["t_s"]) == len(r.trace["alt_m"]) > 100


def test_nominal_reference_run_lands_on_the_site():
    s = runner.fly(scenario.load(NOMINAL), controller="reference").summary
    assert s["passed"] and s["touchdown"]["miss_m"] < 5.0
    assert 36.0 < s["propellant_used_kg"] < 60.0


def test_same_seed_repeats_bit_for_bit():
    sc = scenario.load(os.path.join(SCENARIOS_DIR, "museum", "04_noisy_altimeter.toml"))
    a = runner.fly(sc, controller="reference", max_time_s=40.0)
    b = runner.fly(sc, controller="reference", max_time_s=40.0)
    assert a.summary == b.summary
    for key in runner.TRACE_KEYS:
        assert np.array_equal(a.trace[key], b.trace[key], equal_nan=True), key


def test_other_seed_changes_the_noise():
    sc = scenario.load(os.path.join(SCENARIOS_DIR, "museum", "04_noisy_altimeter.toml"))
    a = runner.fly(sc, seed=1, controller="reference", max_time_s=5.0)
    b = runner.fly(sc, seed=2, controller="reference", max_time_s=5.0)
    assert not np.array_equal(a.trace["raw_alt_m"], b.trace["raw_alt_m"], equal_nan=True)


def test_trace_has_the_contract_keys_at_the_control_rate():
    r = runner.fly(_hopper(), controller="reference", max_time_s=2.0)
    assert set(runner.TRACE_KEYS) <= set(r.trace)
    assert np.allclose(np.diff(r.trace["t_s"]), 0.02)


def test_time_cap_gives_timeout():
    s = runner.fly(scenario.load(NOMINAL), controller="reference", max_time_s=3.0).summary
    assert s["outcome"] == "timeout" and s["touchdown"]["vz_mps"] is None and not s["passed"]


def test_fuel_out_is_reported():
    sc = scenario.load(NOMINAL)
    sc["vehicle"]["propellant_kg"] = 5.0
    s = runner.fly(sc, controller="reference").summary
    assert s["outcome"] == "fuel_out" and s["events"]["fuel_out"] == 1


def test_time_trigger_fires_once():
    sc = _hopper()
    sc["faults"] = [{"kind": "sensor_bias", "part": "altimeter", "value": 50.0, "t_s": 2.0}]
    r = runner.fly(sc, controller="reference")
    assert r.summary["events"]["sensor_bias"] == 1
    tr = r.trace
    before = (tr["t_s"] < 2.0) & ~np.isnan(tr["raw_alt_m"])
    after = (tr["t_s"] >= 2.0) & ~np.isnan(tr["raw_alt_m"])
    err = tr["raw_alt_m"] - tr["alt_m"]
    assert abs(np.median(err[before])) < 1.0
    assert abs(np.median(err[after]) - 50.0) < 1.0


def test_altitude_trigger_fires_once_on_first_crossing():
    # start below the trigger, climb above it, come back down: one firing (at t = 0)
    sc = _hopper()
    sc["initial"]["altitude_m"] = 57.0
    sc["initial"]["vz_mps"] = 6.0
    sc["faults"] = [{"kind": "sensor_bias", "part": "altimeter", "value": 10.0, "alt_m": 58.0}]
    r = runner.fly(sc, controller="reference")
    assert r.trace["alt_m"].max() > 58.0
    assert r.summary["events"]["sensor_bias"] == 1
    err = r.trace["raw_alt_m"] - r.trace["alt_m"]
    assert abs(np.nanmedian(err) - 10.0) < 1.0  # bias added once, not twice


def test_position_trigger_fires_when_the_vehicle_passes_x():
    sc = _hopper()
    sc["faults"] = [{"kind": "sensor_dropout", "part": "altimeter", "x_m": 10.0, "duration_s": 1.0}]
    r = runner.fly(sc, controller="reference")
    tr = r.trace
    i = int(np.argmax(tr["x_m"] >= 10.0))
    assert np.isnan(tr["raw_alt_m"][i:i + 50]).all()
    assert not np.isnan(tr["raw_alt_m"][:i]).any() and not np.isnan(tr["raw_alt_m"][i + 50:]).any()
    assert r.summary["events"]["sensor_dropout"] == 1


def test_altitude_window_fault_ends_below_until_alt():
    sc = scenario.load(os.path.join(SCENARIOS_DIR, "museum", "03_late_altimeter.toml"))
    tr = runner.fly(sc, controller="reference").trace
    alt, raw = tr["alt_m"], tr["raw_alt_m"]
    i0 = int(np.argmax(alt <= 3000.0))
    i1 = int(np.argmax(alt <= 900.0))
    # (before the window, slant ranges beyond 10 km at high pitch are None too)
    assert not np.isnan(raw[i0 - 50:i0]).any()
    assert np.isnan(raw[i0:i1]).all()
    assert not np.isnan(raw[i1:-1]).any()


def test_reset_holds_the_last_command_then_cuts():
    sc = _hopper()
    sc["reset"] = {"reboot_s": 3.0, "engine_hold_s": 1.0}
    sc["faults"] = [{"kind": "watchdog_reset", "t_s": 4.0}]
    r = runner.fly(sc, controller="reference", max_time_s=8.0)
    t, thr = r.trace["t_s"], r.trace["throttle"]
    held = thr[np.argmax(t >= 4.0) - 1]
    assert held > 0.0
    assert np.all(thr[(t >= 4.0) & (t < 4.98)] == held)
    assert np.all(thr[(t >= 5.0) & (t < 6.98)] == 0.0)
    assert np.all(thr[t >= 7.0] > 0.0)  # the computer is back and commanding
    assert r.summary["events"]["reboot"] == 1


def test_reset_inside_the_hold_never_cuts_the_engine():
    sc = _hopper()
    sc["reset"] = {"reboot_s": 0.3, "engine_hold_s": 1.0}
    sc["faults"] = [{"kind": "power_loss", "t_s": 4.0}]
    r = runner.fly(sc, controller="reference", max_time_s=8.0)
    t, thr = r.trace["t_s"], r.trace["throttle"]
    assert np.all(thr[(t > 1.0)] > 0.0)
    assert r.summary["events"]["power_loss"] == 1


def test_thrust_scale_multiplies_thrust():
    sc = _hopper()
    sc["faults"] = [{"kind": "thrust_scale", "value": 0.5, "t_s": 1.0}]
    tr = runner.fly(sc, controller="reference", max_time_s=4.0).trace
    late = tr["t_s"] > 2.0
    ratio = tr["thrust_n"][late] / (tr["throttle"][late] * 400.0)
    assert np.allclose(ratio, 0.5, atol=0.05)


def test_link_outage_fault_drops_bytes():
    # the channel is exercised through link.py directly; here: the fault is logged
    sc = _hopper()
    sc["faults"] = [{"kind": "link_outage", "t_s": 1.0, "duration_s": 2.0}]
    s = runner.fly(sc, controller="reference", max_time_s=3.0).summary
    assert s["events"]["link_outage"] == 1


def test_commands_are_logged_at_their_time():
    sc = _hopper()
    sc["commands"] = [{"t_s": 1.0, "command": "abort"}, {"t_s": 2.0, "command": "reset"}]
    s = runner.fly(sc, controller="reference", max_time_s=1.5).summary
    assert s["events"].get("command_abort") == 1 and "command_reset" not in s["events"]


def test_command_during_a_link_outage_is_lost():
    sc = _hopper()
    sc["link"]["outages"] = [[0.5, 1.5]]
    sc["commands"] = [{"t_s": 1.0, "command": "abort"}, {"t_s": 2.0, "command": "reset"}]
    s = runner.fly(sc, controller="reference", max_time_s=3.0).summary
    assert s["events"].get("command_lost_abort") == 1 and s["events"].get("command_reset") == 1


def test_uplink_injection_reaches_the_radio():
    class Radio:
        def __init__(self):
            self.got = b""

        def send_uplink(self, data):
            self.got += data

    class Bench:
        parts = {"radio": Radio()}

    assert runner._inject_uplink(Bench, b"\x01\x02")
    assert Bench.parts["radio"].got == b"\x01\x02"


def test_pass_table_judges_the_run():
    sc = _hopper()
    sc["pass"]["max_miss_m"] = 0.01
    s = runner.fly(sc, controller="reference").summary
    assert s["outcome"] == "landed" and not s["passed"]
    assert any("miss" in reason for reason in s["fail_reasons"])


def test_boulder_landing_reports_local_slope():
    sc = _hopper()
    sc["terrain"]["features"] = [{"kind": "slope", "angle_deg": 20.0, "x0_m": -100.0, "x1_m": 200.0}]
    s = runner.fly(sc, controller="reference").summary
    assert s["touchdown"]["slope_deg"] == pytest.approx(20.0, abs=0.1)
    assert s["outcome"] in ("hard_landing", "tipped")


def test_firmware_in_the_loop_runs_and_reports_estimates():
    sc = scenario.load(NOMINAL)
    r = runner.fly(sc, controller="firmware", max_time_s=2.0)
    est = r.trace["est_alt_m"]
    assert not np.isnan(est).all()
    assert abs(est[-1] - r.trace["alt_m"][-1]) < 100.0
    assert r.summary["outcome"] == "timeout"
    assert r.summary["estimate"]["longest_divergence_s"] is not None


def test_firmware_runs_repeat_bit_for_bit():
    sc = scenario.load(NOMINAL)
    a = runner.fly(sc, controller="firmware", max_time_s=1.0)
    b = runner.fly(copy.deepcopy(sc), controller="firmware", max_time_s=1.0)
    assert a.summary == b.summary
    for key in ("throttle", "pitch_cmd_deg", "est_alt_m", "raw_alt_m"):
        assert np.array_equal(a.trace[key], b.trace[key], equal_nan=True), key
    assert a.downlink == b.downlink


def test_firmware_reboots_after_a_watchdog_reset():
    sc = scenario.load(NOMINAL)
    sc["faults"] = [{"kind": "watchdog_reset", "t_s": 0.5}]
    r = runner.fly(sc, controller="firmware", max_time_s=1.5)
    t, thr = r.trace["t_s"], r.trace["throttle"]
    assert r.summary["events"]["reboot"] == 1
    held = thr[np.argmax(t >= 0.5) - 1]
    assert np.all(thr[(t >= 0.5) & (t < 0.8)] == held)
    assert not math.isnan(r.trace["est_alt_m"][-1])


def test_power_loss_cuts_the_flash_write_and_clears_rtc_memory():
    sc = scenario.load(NOMINAL)
    sc["faults"] = [{"kind": "power_loss", "t_s": 0.5}]
    r = runner.fly(sc, controller="firmware", max_time_s=1.5)
    from host_tools.emu import machine as host_machine

    assert r.bench is not None
    assert (0.5, host_machine.PWRON_RESET) in [(round(t, 6), c) for t, c in r.bench.resets]
    assert r.summary["events"]["power_loss"] == 1 and r.summary["events"]["reboot"] == 1
