"""Fly one scenario: physics + terrain + sensors + faults + a controller.

    result = fly(scenario, seed=None, controller="firmware" | "reference",
                 record=True, max_time_s=None)
    result.summary    the result JSON dict of DESIGN.md (see below)
    result.trace      dict of numpy arrays at the control rate (+ the touchdown sample)
    result.downlink   bytes the radio sent; result.received: after the channel model
    result.bench      the emulated bench after a firmware flight (its flash holds the
                      black box), None for the reference controller

Controllers
    "firmware"   the on-board App in-process, on the sim board over a bench of
                 register-level emulators: each control tick the sim sets the
                 emulators' physical values, calls app.step(now_us), then reads
                 the engine/gimbal emulators and integrates the physics substeps.
    "reference"  a truth-fed host controller (reference.py); no bench, no bytes.

Resets (watchdog_reset, power_loss faults): the computer is down for
[reset] reboot_s; the engine electronics hold the last command for
engine_hold_s from the reset and then cut, unless the computer is back and
commanding (the first step after the reboot). Under "firmware" the `lander`
modules are re-imported (RAM is gone) and a new board + App are built on the same
bench (the emulated parts, flash and scratch memory survive).

Summary (DESIGN.md result JSON):
    name, seed, controller, outcome, touchdown {vz_mps (signed, <0 down),
    vx_mps (signed), tilt_deg (|pitch|), miss_m, slope_deg, t_s} (None values if
    no touchdown), propellant_used_kg, estimate {max_error_last_1000m_m,
    max_error_below_100m_m, longest_divergence_s} (None when no estimate was
    available; the truth-fed reference has zero error), max_alt_error_m,
    telemetry {frames_sent, frames_received (counted by the CCSDS attached sync
    marker in the sent / received byte streams), critical_delivered_ratio,
    max_latency_s (None until the ground decoder measures them: a later issue),
    bytes_sent, bytes_received}, events (count by kind: sim events and firmware
    event codes by their firmware names, e.g. "EV_PHASE", or "fw_0xNNNN" when
    undeclared), time_s, passed, fail_reasons.
"""
from __future__ import annotations

from host_tools.ground.events import name as event_name
import collections
import copy
import math
import random
import sys
from dataclasses import dataclass, field

import numpy as np

from host_tools.sim import link as link_mod
from host_tools.sim import scenario as scenario_mod
from host_tools.sim import terrain as terrain_mod
from host_tools.sim.physics import Dynamics, EngineController, classify
from host_tools.sim.reference import ReferenceController
from host_tools.sim.sensors import BenchLink, Sensors

ASM = bytes.fromhex("1ACFFC1D")
TRACE_KEYS = ("t_s", "x_m", "alt_m", "z_m", "terrain_m", "vx_mps", "vz_mps", "pitch_deg",
              "pitch_cmd_deg", "throttle", "thrust_n", "mass_kg", "propellant_kg", "est_alt_m",
              "est_vz_mps", "est_vx_mps", "raw_alt_m", "phase", "fault_flags")


@dataclass
class FlightResult:
    summary: dict
    trace: dict = field(default_factory=dict)
    downlink: bytes = b""
    received: bytes = b""
    downlink_times: np.ndarray = field(default_factory=lambda: np.zeros(0))
    received_times: np.ndarray = field(default_factory=lambda: np.zeros(0))
    scenario: dict = field(default_factory=dict)
    bench: object = None      # the emulated bench after the flight (firmware runs): flash, RTC memory...


# ------------------------------------------------------------------ firmware glue

def _purge_firmware_modules():
    for name in list(sys.modules):
        if name == "lander" or name.startswith("lander."):
            del sys.modules[name]


def _reset_event_ring():
    try:
        from lander.events import events
    except ImportError:
        return None
    for arr in (events.codes, events.args, events.times_ms):
        for i in range(len(arr)):
            arr[i] = 0
    events.head = events.count = events.dropped = events.posted = 0
    events.now_ms = 0
    return events


def firmware_config(sc):
    """The on-board Config for a scenario's vehicle (only the keys the firmware
    knows; the rest keep their on-board defaults)."""
    from lander import config as config_mod

    v = sc["vehicle"]
    want = {
        "rate_hz": int(round(sc["rate_hz"])),
        "gravity_mm_s2": int(round(sc["gravity_mps2"] * 1000)),
        "dry_mass_g": int(round(v["dry_mass_kg"] * 1000)),
        "propellant_g": int(round(v["propellant_kg"] * 1000)),
        "max_thrust_mn": int(round(v["max_thrust_n"] * 1000)),
        "min_throttle_q15": int(round(v["min_throttle"] * 32768)),
        "isp_s": int(round(v["isp_s"])),
        "max_pitch_bau": int(round(v["max_pitch_deg"] / 360.0 * 65536)),
        "altimeter_beam_bau": int(round(sc["sensors"]["altimeter"]["beam_deg"] / 360.0 * 65536)),
        # the site relative to the powered-descent start (nav.x_mm = 0 there)
        "site_x_mm": int(round((sc["target"]["x_m"] - sc["initial"]["x_m"]) * 1000)),
    }
    known = {name for name, _ in getattr(config_mod, "FIELDS", ())}
    return config_mod.Config(**{k: val for k, val in want.items() if k in known})


class _Firmware:
    """The App on a sim board over the bench; rebuilt after a reboot."""

    def __init__(self, bench, sc):
        self.bench = bench
        self.sc = sc
        self.app = None
        self.events = None
        self.last_posted = 0
        self.counts = collections.Counter()

    def boot(self, fresh_modules, handover=None):
        """Build board + App. fresh_modules: re-import the firmware (a reboot:
        RAM is gone). handover: (alt_m, vz, vx, pitch_rad) for the initial
        state from the previous navigation (the first boot only)."""
        if fresh_modules:
            _purge_firmware_modules()
        from host_tools.emu import bench as bench_mod
        try:
            from lander import compat
            if hasattr(compat, "set_clock_us"):
                bench = self.bench
                compat.set_clock_us(lambda: int(round(bench.now_s * 1e6)))
        except ImportError:
            pass
        self.events = _reset_event_ring() if fresh_modules or self.events is None else self.events
        self.last_posted = self.events.posted
        board = bench_mod.load_board("sim", self.bench, rate_hz=int(round(self.sc["rate_hz"])))
        from lander.app import App
        try:
            cfg = firmware_config(self.sc)
        except ImportError:
            cfg = None
        self.app = App(board, cfg) if cfg is not None else App(board)
        if handover is not None and hasattr(self.app, "handover"):
            alt, vz, vx, pitch = handover
            self.app.handover(int(round(alt * 1000)), int(round(vz * 1000)), int(round(vx * 1000)),
                              int(round(pitch / (2 * math.pi) * 65536)))

    def step(self, now_us):
        self.app.step(now_us)
        ev = self.events
        d = ev.posted - self.last_posted
        if d > 0:
            cap = ev.capacity
            for j in range(min(d, cap)):
                self.counts[event_name(ev.codes[(ev.head - 1 - j) % cap])] += 1
            self.last_posted = ev.posted

    def estimates(self):
        nav = getattr(self.app, "nav", None)
        if nav is None:
            return math.nan, math.nan, math.nan

        def get(name):
            v = getattr(nav, name, None)
            return math.nan if v is None else v / 1000.0
        return get("altitude_mm"), get("vz_mm_s"), get("vx_mm_s")

    def phase_flags(self):
        app = self.app
        phase = getattr(app, "phase", None)
        if phase is None:
            gd = getattr(app, "guid", None) or getattr(app, "guidance", None)
            phase = getattr(gd, "phase", 0) if gd is not None else 0
        nav = getattr(app, "nav", None)
        flags = getattr(nav, "fault_flags", 0) if nav is not None else 0
        try:
            return int(phase), int(flags)
        except (TypeError, ValueError):
            return 0, 0


def _board_reset_exc():
    try:
        from host_tools.emu.machine import BoardReset
    except ImportError:  # pragma: no cover
        return ()
    return BoardReset


def _set_bench_time(bench, t):
    advance = getattr(bench, "advance", None)
    if callable(advance):
        if t > bench.now_s:
            advance(t - bench.now_s)
        return
    bench.now_s = t


def _inject_uplink(bench, data):
    radio = bench.parts.get("radio") if bench is not None else None
    if radio is None:
        return False
    for name in ("send_uplink", "inject_uplink", "uplink"):
        fn = getattr(radio, name, None)
        if callable(fn):
            fn(bytes(data))
            return True
    return False


def _leg_contacts(n, left, right):
    half = n // 2
    return [left] * half + [right] * (n - half)


# ------------------------------------------------------------------ the run

def fly(scenario, seed=None, controller="firmware", record=True, max_time_s=None):
    """Fly one scenario; see the module docstring. The firmware's modules and
    its clock hook are restored afterwards, so a reboot inside the flight
    (which re-imports `lander`) leaves nothing behind in the process."""
    if controller not in ("firmware", "reference"):
        raise ValueError("controller must be 'firmware' or 'reference'")
    if controller == "reference":
        return _fly(scenario, seed, controller, record, max_time_s)
    saved = {k: m for k, m in sys.modules.items() if k == "lander" or k.startswith("lander.")}
    hc = sys.modules.get("lander._hostcompat")
    saved_clock = getattr(hc, "_clock_us", None) if hc is not None else None
    try:
        return _fly(scenario, seed, controller, record, max_time_s)
    finally:
        _purge_firmware_modules()
        sys.modules.update(saved)
        if hc is not None:
            hc._clock_us = saved_clock


def _fly(scenario, seed, controller, record, max_time_s):
    sc = scenario_mod.validate(copy.deepcopy(scenario), source=scenario.get("_source", "<dict>"))
    seed = sc["seed"] if seed is None else int(seed)
    ss = np.random.SeedSequence(seed)
    rng_sens, rng_link, rng_fault, rng_misc = (np.random.default_rng(s) for s in ss.spawn(4))
    bench_seed = int(rng_misc.integers(0, 2**31 - 1))

    v = sc["vehicle"]
    ini = sc["initial"]
    rate = sc["rate_hz"]
    dt = 1.0 / rate
    nsub = sc["substeps"]
    h = dt / nsub
    t_max = sc["max_time_s"] if max_time_s is None else float(max_time_s)
    pass_cfg = sc["pass"]

    terr = terrain_mod.from_scenario(sc, seed)
    z0 = terr.height(ini["x_m"]) + ini["altitude_m"]
    dyn = Dynamics(v, sc["gravity_mps2"], ini["x_m"], z0, ini["vx_mps"], ini["vz_mps"],
                   math.radians(ini["pitch_deg"]), ini["throttle"])
    engine = EngineController(v["min_throttle"], ini["throttle"])
    sens = Sensors(sc, terr, rng_sens)
    chan = link_mod.Channel(sc["link"], seed=int(rng_link.integers(0, 2**31 - 1)))
    events = collections.Counter()

    # faults: resolve random trigger times once, from the seed
    faults = []
    for f in sc["faults"]:
        f = dict(f)
        if isinstance(f["t_s"], list):
            f["t_s"] = float(rng_fault.uniform(f["t_s"][0], f["t_s"][1]))
        f["fired_t"] = None
        f["ended_t"] = None
        faults.append(f)

    # commands: signed bytes built up front (monotonic counter)
    from host_tools.ground.command import CommandBuilder
    builder = CommandBuilder(bytes.fromhex(sc["link"]["command_key_hex"]), sc["link"]["tc_apid"])
    commands = [[c["t_s"], builder.build(c["command"], c["args"]), c["command"], False]
                for c in sorted(sc["commands"], key=lambda c: c["t_s"])]

    bench = fw = blink = None
    ref = None
    if controller == "firmware":
        from host_tools.emu import bench as bench_mod
        bench = bench_mod.sim_bench(bench_seed, air_bps=sc["link"]["bitrate_bps"])
        blink = BenchLink(bench, sc)
        eng_emu = bench.parts.get("engine")
        if eng_emu is not None and hasattr(eng_emu, "hold_s"):
            eng_emu.hold_s = sc["reset"]["engine_hold_s"]   # one hold time, emulator and sim
        _set_bench_time(bench, 0.0)
        blink.push(sens.sample(0.0, dyn, False, [False] * 4), 0.0)
        fw = _Firmware(bench, sc)
        _reset_event_ring()
        fw.boot(fresh_modules=False, handover=(ini["altitude_m"], ini["vz_mps"], ini["vx_mps"],
                                               math.radians(ini["pitch_deg"])))
    else:
        ref = ReferenceController(sc, terr)

    legs_emu = bench.parts.get("legs") if bench is not None else None
    n_legs = len(getattr(legs_emu, "contacts", None) or [0, 0]) if legs_emu is not None else 2
    radio = bench.parts.get("radio") if bench is not None else None
    reset_cfg = sc["reset"]
    down_until = -1.0       # computer down (rebooting) until this time
    resume_pending = False
    pitch_cmd = dyn.pitch
    tr = {k: [] for k in TRACE_KEYS} if record else None
    xt = sc["target"]["x_m"]

    # estimate metrics (online)
    err_1000 = err_100 = None
    div_run = div_max = 0.0
    have_est = False

    def reboot(t_now, kind):
        """The computer goes down (a fault, a requested reset or a watchdog
        expiry): returns the time it is back."""
        engine.on_reset(t_now, reset_cfg["engine_hold_s"])
        events["reboot"] += 1
        if kind not in ("watchdog_reset", "power_loss"):
            events[kind] += 1
        if fw is not None:
            fw.app = None
        if bench is not None:
            from host_tools.emu import machine as host_machine

            cause = host_machine.PWRON_RESET if kind == "power_loss" else host_machine.WDT_RESET
            if kind.startswith("board_reset_"):
                cause = int(kind.rsplit("_", 1)[1])
            if kind == "watchdog_expired":
                bench.wdt.reset()     # the bench already recorded the WDT reset
            elif not kind.startswith("board_reset_"):
                bench.request_reset(cause)
        if kind == "power_loss":
            sens.power_off = True
            if bench is not None:
                bench.rtc_memory = bytearray()   # scratch memory does not survive power loss
                prng = random.Random(int(rng_misc.integers(0, 2**31 - 1)))
                for name in sorted(bench.parts):
                    cut = getattr(bench.parts[name], "power_cut", None)
                    if callable(cut):
                        cut(rng=prng)
        return t_now + reset_cfg["reboot_s"]

    touch = None            # touchdown record
    on_ground = False
    t_end = t_max
    n_steps = int(math.floor(t_max * rate + 1e-9)) + 1
    t = 0.0
    prev_alt = dyn.z - terr.height(dyn.x)
    prev_x = dyn.x
    for k in range(n_steps):
        t = k * dt
        if t > t_end + 1e-9:
            break
        ground_z = terr.height(dyn.x)
        alt = dyn.z - ground_z
        if bench is not None:
            _set_bench_time(bench, t)

        # -- faults (fire once: time reached, or first crossing below an altitude)
        for f in faults:
            if f["fired_t"] is not None:
                if f["ended_t"] is None and (
                        (f["duration_s"] is not None and t >= f["fired_t"] + f["duration_s"])
                        or (f["until_alt_m"] is not None and alt <= f["until_alt_m"])):
                    f["ended_t"] = t
                    _end_fault(f, t, dyn, sens)
                continue
            if f["t_s"] is not None:
                due = t >= f["t_s"]
            elif f["alt_m"] is not None:
                due = alt <= f["alt_m"] and (prev_alt > f["alt_m"] or k == 0)
            else:
                due = (dyn.x - f["x_m"]) * (prev_x - f["x_m"]) <= 0.0 and (k == 0 or dyn.x != prev_x)
            if not due or on_ground and f["kind"] != "link_outage":
                continue
            f["fired_t"] = t
            kind = f["kind"]
            events[kind] += 1
            if kind == "thrust_scale":
                f["_prev"] = dyn.thrust_scale
                dyn.thrust_scale = f["value"]
            elif kind == "imu_reset":
                if bench is not None:
                    for name in ("imu", "imu2_acc", "imu2_gyro") if f["part"] == "imu2" else (f["part"],):
                        part = bench.parts.get(name)
                        if part is not None and hasattr(part, "reset"):
                            part.reset()
            elif kind in ("watchdog_reset", "power_loss"):
                down_until = reboot(t, kind)
            elif kind == "link_outage":
                f["_window"] = [t, math.inf]
                chan.add_outage(f["_window"])
            else:
                eff = sens.apply_fault(f, t)
                if blink is not None:
                    blink.fault_effect(eff)
        prev_alt = alt
        prev_x = dyn.x

        # -- telecommands on the uplink
        # (the same channel as the downlink: lost in an outage, bit errors at the BER)
        for c in commands:
            if not c[3] and t >= c[0]:
                c[3] = True
                if any(w[0] <= t < w[1] for w in chan.outages):
                    events["command_lost_" + c[2]] += 1
                    continue
                events["command_" + c[2]] += 1
                data = chan.uplink(c[1])
                if bench is not None:
                    _inject_uplink(bench, data)

        # -- computer back after a reboot
        if down_until >= 0 and t >= down_until:
            down_until = -1.0
            sens.power_off = False
            resume_pending = True
            if fw is not None:
                fw.boot(fresh_modules=True)
            else:
                ref = ReferenceController(sc, terr)   # its memory is gone too

        # -- sensors
        if on_ground:
            lc = rc = True
        else:
            (xl, zl), (xr, zr) = dyn.feet()
            lc = zl <= terr.height(xl) + 0.01
            rc = zr <= terr.height(xr) + 0.01
        values = sens.sample(t, dyn, on_ground, _leg_contacts(n_legs, lc, rc))
        if blink is not None:
            blink.push(values, t)

        # -- control
        computer_up = down_until < 0
        est = (math.nan, math.nan, math.nan)
        phase, flags = 0, 0
        if computer_up:
            if fw is not None:
                try:
                    fw.step(int(round(t * 1e6)) & 0x3FFFFFFF)
                    reset_cause = None
                    wdt = getattr(bench, "wdt", None)
                    if wdt is not None and wdt.started and wdt.expired:
                        reset_cause = "watchdog_expired"
                except _board_reset_exc() as exc:
                    reset_cause = "board_reset_%d" % getattr(exc, "cause", 0)
                if reset_cause is not None:
                    # the firmware asked for a reset, or stopped feeding its watchdog
                    down_until = reboot(t, reset_cause)
                    computer_up = False
                eng = bench.parts.get("engine")
                gim = bench.parts.get("gimbal") or eng
                thr_cmd = eng.throttle_cmd if eng is not None else 0.0
                armed = eng.armed if eng is not None else False
                pitch_cmd = gim.pitch_cmd_rad if gim is not None else 0.0
                if fw.app is not None:
                    est = fw.estimates()
                    phase, flags = fw.phase_flags()
            else:
                ref.update(dyn)
                thr_cmd, armed, pitch_cmd = ref.throttle, ref.armed, ref.pitch_cmd
                est = (alt, dyn.vz, dyn.vx)
                phase = ref.phase_out
            if computer_up:
                if resume_pending:
                    engine.resume()
                    resume_pending = False
                engine.command(thr_cmd, armed)
        throttle = engine.tick(t)

        # -- estimate metrics (airborne)
        if not on_ground and not math.isnan(est[0]):
            have_est = True
            e = abs(est[0] - alt)
            if alt <= 1000.0:
                err_1000 = e if err_1000 is None else max(err_1000, e)
            if alt <= 100.0:
                err_100 = e if err_100 is None else max(err_100, e)
            if e > max(50.0, 0.05 * alt):
                div_run += dt
                div_max = max(div_max, div_run)
            else:
                div_run = 0.0

        if record:
            _record(tr, t, dyn, alt, ground_z, throttle, pitch_cmd, est, values, phase, flags)

        if on_ground:
            continue

        # -- physics substeps; touchdown when a foot (or the base) meets the ground
        for _ in range(nsub):
            dyn.step(h, throttle, pitch_cmd)
            (xl, zl), (xr, zr) = dyn.feet()
            gl, gr = terr.height(xl), terr.height(xr)
            if zl <= gl or zr <= gr or dyn.z <= terr.height(dyn.x):
                slope = terr.slope_deg(xl, xr)
                tilt = math.degrees(dyn.pitch)
                touch = {
                    "t_s": dyn.t, "vz_mps": dyn.vz, "vx_mps": dyn.vx, "tilt_deg": abs(tilt),
                    "miss_m": abs(dyn.x - xt), "slope_deg": slope,
                    "rel_tilt_deg": tilt + slope,
                }
                break
        if dyn.fuel_out_t is not None and events["fuel_out"] == 0:
            events["fuel_out"] += 1
        if touch is not None:
            on_ground = True
            events["touchdown"] += 1
            if record:
                a = dyn.z - terr.height(dyn.x)
                _record(tr, dyn.t, dyn, a, terr.height(dyn.x), throttle, pitch_cmd, est, values,
                        phase, flags)
            dyn.vx = dyn.vz = dyn.q = 0.0
            dyn.thrust = 0.0
            t_end = min(t_max, touch["t_s"] + sc["post_touchdown_s"])
            if sc["post_touchdown_s"] <= 0.0:
                break

    # ---------------------------------------------------------------- outcome
    if touch is not None:
        outcome = classify(touch["vz_mps"], touch["vx_mps"], touch["tilt_deg"], touch["slope_deg"],
                           touch["rel_tilt_deg"], pass_cfg)
        if dyn.fuel_out_t is not None and dyn.fuel_out_t < touch["t_s"] \
                and outcome not in ("landed", "hard_landing"):
            outcome = "fuel_out"
    else:
        outcome = "fuel_out" if dyn.fuel_out_t is not None else "timeout"

    # ---------------------------------------------------------------- telemetry
    downlink = b""
    send_times = np.zeros(0)
    serialized = False
    if radio is not None:
        downlink = bytes(getattr(radio, "downlink", b""))
        times = getattr(radio, "downlink_times", None)
        if times is not None and len(times) == len(downlink):
            send_times = np.asarray(times, float)   # already at the air rate
            serialized = True
        else:
            send_times = np.full(len(downlink), t)
    received, recv_times, _ = chan.deliver(downlink, send_times, serialized=serialized)
    telemetry = {
        "frames_sent": downlink.count(ASM),
        "frames_received": received.count(ASM),
        "critical_delivered_ratio": None,
        "max_latency_s": None,
        "bytes_sent": len(downlink),
        "bytes_received": len(received),
    }

    if fw is not None:
        events.update(fw.counts)
    estimate = {
        "max_error_last_1000m_m": err_1000 if have_est else None,
        "max_error_below_100m_m": err_100 if have_est else None,
        "longest_divergence_s": div_max if have_est else None,
    }
    td = {k: (touch[k] if touch else None) for k in ("vz_mps", "vx_mps", "tilt_deg", "miss_m",
                                                      "slope_deg", "t_s")}
    summary = {
        "name": sc["name"],
        "seed": seed,
        "controller": controller,
        "outcome": outcome,
        "touchdown": td,
        "propellant_used_kg": dyn.prop0 - dyn.prop,
        "propellant_left_kg": dyn.prop,
        "estimate": estimate,
        "max_alt_error_m": estimate["max_error_last_1000m_m"],
        "telemetry": telemetry,
        "events": dict(sorted(events.items())),
        "time_s": dyn.t,
    }
    reasons = _judge(summary, pass_cfg)
    summary["passed"] = not reasons
    summary["fail_reasons"] = reasons

    trace = {}
    if record:
        for key in TRACE_KEYS:
            dtype = np.int64 if key in ("phase", "fault_flags") else float
            trace[key] = np.asarray(tr[key], dtype=dtype)
    return FlightResult(summary, trace, downlink, received, send_times, recv_times, sc, bench)


def _end_fault(f, t, dyn, sens):
    kind = f["kind"]
    if kind == "thrust_scale":
        dyn.thrust_scale = f["_prev"]
    elif kind == "link_outage":
        f["_window"][1] = t
    elif kind.startswith("sensor_"):
        sens.end_fault(f, t)


def _record(tr, t, dyn, alt, ground_z, throttle, pitch_cmd, est, values, phase, flags):
    tr["t_s"].append(t)
    tr["x_m"].append(dyn.x)
    tr["alt_m"].append(alt)
    tr["z_m"].append(dyn.z)
    tr["terrain_m"].append(ground_z)
    tr["vx_mps"].append(dyn.vx)
    tr["vz_mps"].append(dyn.vz)
    tr["pitch_deg"].append(math.degrees(dyn.pitch))
    tr["pitch_cmd_deg"].append(math.degrees(pitch_cmd))
    tr["throttle"].append(throttle)
    tr["thrust_n"].append(dyn.thrust)
    tr["mass_kg"].append(dyn.mass)
    tr["propellant_kg"].append(dyn.prop)
    tr["est_alt_m"].append(est[0])
    tr["est_vz_mps"].append(est[1])
    tr["est_vx_mps"].append(est[2])
    r = values.get("altimeter")
    tr["raw_alt_m"].append(math.nan if r is None else r)
    tr["phase"].append(phase)
    tr["fault_flags"].append(flags)


def _judge(s, p):
    """Reasons the run fails its [pass] table (empty = passed)."""
    out = []
    if s["outcome"] not in p["outcomes"]:
        out.append("outcome %s not in %s" % (s["outcome"], "/".join(p["outcomes"])))
    td = s["touchdown"]
    if td["miss_m"] is not None and td["miss_m"] > p["max_miss_m"]:
        out.append("miss %.1f m > %.1f m" % (td["miss_m"], p["max_miss_m"]))
    div = s["estimate"]["longest_divergence_s"]
    if div is not None and div > p["max_divergence_s"]:
        out.append("estimate diverged %.1f s > %.1f s" % (div, p["max_divergence_s"]))
    if p["max_alt_error_m"] is not None:
        e = s["max_alt_error_m"]
        if e is None or e > p["max_alt_error_m"]:
            out.append("altitude error %s > %.1f m" % (e, p["max_alt_error_m"]))
    if p["max_propellant_kg"] is not None and s["propellant_used_kg"] > p["max_propellant_kg"]:
        out.append("propellant %.1f kg > %.1f kg" % (s["propellant_used_kg"], p["max_propellant_kg"]))
    if p["min_critical_delivered"] is not None:
        r = s["telemetry"]["critical_delivered_ratio"]
        if r is None or r < p["min_critical_delivered"]:
            out.append("critical telemetry delivered %s < %.2f" % (r, p["min_critical_delivered"]))
    return out
