"""Warm restart in powered descent, flown with the firmware in the loop: a reset
at any instant resumes from the checkpoint inside the engine hold, the engine is
never cut by it, the navigation state is continuous, and the vehicle lands."""
import math
import os
import random

import numpy as np
import pytest

import host_tools
from host_tools.sim import runner, scenario

ROOT = os.path.dirname(host_tools.FIRMWARE_DIR)
NOMINAL = os.path.join(ROOT, "scenarios", "nominal.toml")
MUSEUM = os.path.join(ROOT, "scenarios", "museum")


def _fly(sc, **kw):
    return runner.fly(sc, controller="firmware", **kw)


def _engine_never_cut(r):
    """Throttle applied to the engine stays lit from start to touchdown."""
    t, thr = r.trace["t_s"], r.trace["throttle"]
    td = r.summary["touchdown"]["t_s"]
    assert td is not None, "no touchdown"
    airborne = t < td - 0.05
    return bool(np.all(thr[airborne] > 0.0))


def _continuity(r, t_reset, back_s):
    """How much the estimate's error changed across the reset: last sample
    before it, first after the resume (altitude m, vertical speed m/s)."""
    t = r.trace["t_s"]
    tr = r.trace
    fired = int(np.argmax(t >= t_reset - 1e-9))
    before = fired - 1
    after = fired + int(np.argmax(~np.isnan(tr["est_alt_m"][fired:])))
    # back at the first cycle after the reboot time
    assert t[after] - t[fired] <= back_s + 1.5 / 50, (t[fired], t[after])
    e_alt = [tr["est_alt_m"][i] - tr["alt_m"][i] for i in (before, after)]
    e_vz = [tr["est_vz_mps"][i] - tr["vz_mps"][i] for i in (before, after)]
    return abs(e_alt[1] - e_alt[0]), abs(e_vz[1] - e_vz[0])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_watchdog_reset_at_a_random_instant_resumes_and_lands(seed):
    t_reset = random.Random(seed).uniform(20.0, 140.0)
    sc = scenario.load(NOMINAL)
    sc["faults"] = [{"kind": "watchdog_reset", "t_s": t_reset}]
    r = _fly(sc)
    ev = r.summary["events"]
    assert ev["reboot"] == 1
    assert ev.get("EV_WARM_RESTART") == 1
    assert r.summary["outcome"] == "landed"
    assert _engine_never_cut(r)
    d_alt, d_vz = _continuity(r, t_reset, sc["reset"]["reboot_s"])
    assert d_alt < 3.0 and d_vz < 1.0   # a cold start would be kilometres off


def test_power_loss_resumes_from_the_flash_checkpoint():
    sc = scenario.load(os.path.join(MUSEUM, "12_power_loss_blackbox.toml"))
    r = _fly(sc)
    ev = r.summary["events"]
    assert ev["power_loss"] == 1 and ev.get("EV_WARM_RESTART") == 1
    assert r.bench.rtc_memory == bytearray() or len(r.bench.rtc_memory) > 0
    assert r.summary["outcome"] == "landed"
    assert _engine_never_cut(r)


def test_museum_11_watchdog_reset_lands_with_the_engine_lit():
    sc = scenario.load(os.path.join(MUSEUM, "11_watchdog_reset.toml"))
    r = _fly(sc)
    assert r.summary["events"].get("EV_WARM_RESTART") == 1
    assert r.summary["outcome"] == "landed"
    assert _engine_never_cut(r)
    # what the executive guarantees of museum 11's pass table (the miss is guidance's)
    assert r.summary["estimate"]["longest_divergence_s"] <= 3.0


def test_museum_07_refuses_the_unconfirmed_reset_and_lands():
    sc = scenario.load(os.path.join(MUSEUM, "07_imu_reset_then_command.toml"))
    r = _fly(sc)
    ev = r.summary["events"]
    assert ev.get("EV_TC_ACCEPT") == 1          # reset_imu
    assert ev.get("EV_TC_REJECT") == 1          # reset: no confirmation in powered descent
    assert ev.get("reboot", 0) == 0
    assert r.summary["outcome"] == "landed"
    assert _engine_never_cut(r)


def test_a_confirmed_reset_telecommand_warm_restarts_and_lands():
    sc = scenario.load(NOMINAL)
    sc["commands"] = [{"t_s": 30.0, "command": "confirm", "args": {"opcode": 2}},
                      {"t_s": 31.0, "command": "reset", "args": {}}]
    r = _fly(sc)
    ev = r.summary["events"]
    assert ev.get("EV_TC_ACCEPT") == 1          # confirm (the reset never reports: it resets)
    assert ev.get("reboot") == 1 and ev.get("EV_WARM_RESTART") == 1
    assert r.summary["outcome"] == "landed"
    assert _engine_never_cut(r)
    d_alt, d_vz = _continuity(r, 31.0, sc["reset"]["reboot_s"])
    assert d_alt < 3.0 and d_vz < 1.0   # a cold start would be kilometres off


def test_without_a_checkpoint_store_the_reset_would_cut_the_engine():
    # the test can fail: a reboot that does not resume lets the hold expire
    sc = scenario.load(NOMINAL)
    sc["faults"] = [{"kind": "watchdog_reset", "t_s": 30.0}]
    sc["reset"]["engine_hold_s"] = 0.1          # shorter than the reboot
    r = _fly(sc, max_time_s=32.0)
    t, thr = r.trace["t_s"], r.trace["throttle"]
    assert np.any(thr[(t > 30.1) & (t < 30.3)] == 0.0)
