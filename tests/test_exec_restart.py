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
    """No reset let the engine controller's hold expire, and every reboot was
    back (commanding) inside the hold, resuming warm."""
    s = r.summary
    hold = r.scenario["reset"]["engine_hold_s"]
    assert s["engine_cuts_by_reset"] == 0
    for rs in s["restarts"]:
        assert rs["back_s"] is not None and rs["back_s"] <= hold, rs
        assert rs["warm"] is True, rs
    return True


def _continuity(r, sc, seed=None):
    """The restart's own effect on the estimate: at the first cycle back, the
    estimate of this flight against the same flight (same seed, same
    instants) flown without the reset. (altitude m, vertical speed m/s)"""
    (rs,) = r.summary["restarts"]
    tr, t = r.trace, r.trace["t_s"]
    fired = int(np.argmax(t >= rs["t_s"] - 1e-9))
    after = fired + int(np.argmax(~np.isnan(tr["est_alt_m"][fired:])))
    ref_sc = dict(sc, faults=[], commands=[])
    ref = runner.fly(ref_sc, seed=seed, controller="firmware", max_time_s=t[after] + 0.05)
    j = int(np.argmax(ref.trace["t_s"] >= t[after] - 1e-9))
    assert abs(ref.trace["t_s"][j] - t[after]) < 1e-9
    return (abs(tr["est_alt_m"][after] - ref.trace["est_alt_m"][j]),
            abs(tr["est_vz_mps"][after] - ref.trace["est_vz_mps"][j]))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_watchdog_reset_at_a_random_instant_resumes_and_lands(seed):
    t_reset = random.Random(seed).uniform(20.0, 120.0)   # the nominal lands at ~135 s
    sc = scenario.load(NOMINAL)
    sc["faults"] = [{"kind": "watchdog_reset", "t_s": t_reset}]
    r = _fly(sc)
    ev = r.summary["events"]
    assert ev["reboot"] == 1
    assert ev.get("EV_WARM_RESTART") == 1
    assert r.summary["outcome"] == "landed"
    assert _engine_never_cut(r)
    d_alt, d_vz = _continuity(r, sc)
    # a cold start would be kilometres off; the bound leaves room for the
    # guidance's attitude moving in braking (the gap is dead-reckoned on one
    # gyro sample, and the slant range turns an attitude error dp into a
    # height error h tan(p) dp)
    assert d_alt < 10.0 and d_vz < 2.0


@pytest.mark.parametrize("seed", [1, 2])
def test_power_loss_resumes_from_the_flash_checkpoint(seed):
    # museum 12 with other seeds: RTC memory is gone, the flash record is found
    sc = scenario.load(os.path.join(MUSEUM, "12_power_loss_blackbox.toml"))
    r = _fly(sc, seed=seed)
    ev = r.summary["events"]
    assert ev["power_loss"] == 1 and ev.get("EV_WARM_RESTART") == 1
    (rs,) = r.summary["restarts"]
    # the flash cadence (ckpt_flash_ms = 250) bounds the age: one record may be
    # the one the cut tore, so two periods plus the reboot
    assert rs["resume_age_s"] <= 0.5 + sc["reset"]["reboot_s"] + 0.03
    assert _engine_never_cut(r)
    d_alt, d_vz = _continuity(r, sc, seed)
    assert d_alt < 5.0 and d_vz < 2.0
    assert r.summary["outcome"] == "landed"


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
    d_alt, d_vz = _continuity(r, sc)
    assert d_alt < 5.0 and d_vz < 1.0


def test_without_a_checkpoint_store_the_reset_would_cut_the_engine():
    # the test can fail: a reboot that does not resume lets the hold expire
    sc = scenario.load(NOMINAL)
    sc["faults"] = [{"kind": "watchdog_reset", "t_s": 30.0}]
    sc["reset"]["engine_hold_s"] = 0.1          # shorter than the reboot
    r = _fly(sc, max_time_s=32.0)
    t, thr = r.trace["t_s"], r.trace["throttle"]
    assert np.any(thr[(t > 30.1) & (t < 30.3)] == 0.0)
