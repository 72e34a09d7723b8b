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
    telemetry {frames_sent, frames_received (frames that decode: RS + CRC, by
    the ground decoder on the sent / received byte streams),
    critical_delivered_ratio (critical samples sent that the ground got, live
    or through the black box: host_tools/ground/decode.critical_delivery),
    max_latency_s (live critical packets), bytes_sent, bytes_received,
    critical_sent/_live/_from_blackbox, frames_corrected, frames_bad}, events (count by kind: sim events and firmware
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
    markers: list = field(default_factory=list)   # [(t_s, what, label)]: faults, commands, reboots, touchdown


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
        "max_pitch_rate_bau_s": int(round(v["max_pitch_rate_dps"] / 360.0 * 65536)),
        "engine_lag_ms": int(round(v["engine_lag_s"] * 1000)),
        # the attitude unit's closed-loop response (warm-restart pitch prediction)
        "att_tau_ms": max(1, int(round(v["pitch_tau_s"] * 1000))),
        "att_lag_ms": int(round(v["pitch_rate_lag_s"] * 1000)),
        "altimeter_beam_bau": int(round(sc["sensors"]["altimeter"]["beam_deg"] / 360.0 * 65536)),
        # the site relative to the powered-descent start (nav.x_mm = 0 there)
        "site_x_mm": int(round((sc["target"]["x_m"] - sc["initial"]["x_m"]) * 1000)),
        # the downlink: the air bit rate the scheduler paces to, the frame and its code
        "tlm_bitrate_bps": int(round(sc["link"]["bitrate_bps"])),
        "tlm_frame_len": sc["link"].get("frame_len", 128),
        "tlm_rs_e": sc["link"].get("rs_e", 8),
    }
    known = {name for name, *_ in getattr(config_mod, "FIELDS", ())}
    cfg = config_mod.Config(**{k: val for k, val in want.items() if k in known})
    # the downlink keys come straight from [link]: a value the firmware refuses
    # is a bad scenario (named), not a flight with a refused configuration
    bad = cfg.check() if hasattr(cfg, "check") else -1
    if bad >= 0:
        name = config_mod.FIELDS[bad][0]
        key = {"tlm_bitrate_bps": "link.bitrate_bps", "tlm_frame_len": "link.frame_len",
               "tlm_rs_e": "link.rs_e"}.get(name)
        if key is not None:
            raise scenario_mod.ScenarioError(sc.get("_source", "<scenario>"), key,
                                             "the firmware refuses it: " + config_mod.describe(
                                                 config_mod.CFG_OUT_OF_RANGE, bad))
    return cfg


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
        # (the firmware's clock is the bench's: load_board installs the host
        # machine module, which drives lander.compat's ticks)
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
    return Flight(scenario, seed, controller, record, max_time_s).run()


class Flight:
    """One flight: the state the cycle steps share, and the steps themselves.

    A control cycle at time t runs, in order (see `cycle`):
        faults_due       fire faults whose trigger is reached, end those that are over
        commands_due     uplink the telecommands whose time has come
        reboot_done      bring the computer back after a reset
        sense            sample the sensors (and push them into the bench)
        control          the controller: firmware App.step or the reference
        estimate_metrics fold the estimate's error into the online metrics
        record           one trace sample
        dynamics         physics substeps, touchdown detection
    and after the last cycle: `link` (channel model over the downlink),
    `verdict` (outcome) and `summary` (the result JSON, pass/fail).
    A new scenario feature belongs to the step that acts on it."""

    def __init__(self, scenario, seed, controller, record, max_time_s):
        sc = scenario_mod.validate(copy.deepcopy(scenario), source=scenario.get("_source", "<dict>"))
        self.sc = sc
        self.controller = controller
        self.record = record
        self.seed = seed = sc["seed"] if seed is None else int(seed)
        ss = np.random.SeedSequence(seed)
        rng_sens, rng_link, self.rng_fault, self.rng_misc = (np.random.default_rng(s) for s in ss.spawn(4))
        bench_seed = int(self.rng_misc.integers(0, 2**31 - 1))

        v = sc["vehicle"]
        ini = sc["initial"]
        self.rate = rate = sc["rate_hz"]
        self.dt = 1.0 / rate
        self.nsub = sc["substeps"]
        self.h = self.dt / self.nsub
        self.t_max = sc["max_time_s"] if max_time_s is None else float(max_time_s)
        self.pass_cfg = sc["pass"]

        self.terr = terr = terrain_mod.from_scenario(sc, seed)
        z0 = terr.height(ini["x_m"]) + ini["altitude_m"]
        self.dyn = dyn = Dynamics(v, sc["gravity_mps2"], ini["x_m"], z0, ini["vx_mps"], ini["vz_mps"],
                                  math.radians(ini["pitch_deg"]), ini["throttle"])
        self.engine = EngineController(v["min_throttle"], ini["throttle"])
        self.restarts = []
        self.sens = sens = Sensors(sc, terr, rng_sens)
        self.chan = link_mod.Channel(sc["link"], seed=int(rng_link.integers(0, 2**31 - 1)))
        self.events = collections.Counter()
        self.markers = []            # (t_s, what, label) for the plots
        self.faults = self._resolve_faults()
        self.commands = self._build_commands()

        self.bench = self.fw = self.blink = None
        self.ref = None
        if controller == "firmware":
            from host_tools.emu import bench as bench_mod
            self.bench = bench = bench_mod.sim_bench(bench_seed, air_bps=sc["link"]["bitrate_bps"])
            self.blink = BenchLink(bench, sc)
            eng_emu = bench.parts.get("engine")
            if eng_emu is not None and hasattr(eng_emu, "hold_s"):
                eng_emu.hold_s = sc["reset"]["engine_hold_s"]   # one hold time, emulator and sim
            _set_bench_time(bench, 0.0)
            # the telecommand key, provisioned in its own file on the board's flash
            bench.flash.files["/tc.key"] = bytearray.fromhex(sc["link"]["command_key_hex"])
            self.blink.push(sens.sample(0.0, dyn, False, [False] * 4), 0.0)
            self.fw = _Firmware(bench, sc)
            _reset_event_ring()
            self.fw.boot(fresh_modules=False, handover=(ini["altitude_m"], ini["vz_mps"], ini["vx_mps"],
                                                        math.radians(ini["pitch_deg"])))
        else:
            self.ref = ReferenceController(sc, terr)

        bench = self.bench
        legs_emu = bench.parts.get("legs") if bench is not None else None
        self.n_legs = len(getattr(legs_emu, "contacts", None) or [0, 0]) if legs_emu is not None else 2
        self.radio = bench.parts.get("radio") if bench is not None else None
        self.reset_cfg = sc["reset"]
        self.down_until = -1.0       # computer down (rebooting) until this time
        self.resume_pending = False
        self.pitch_cmd = dyn.pitch
        self.tr = {k: [] for k in TRACE_KEYS} if record else None
        self.xt = sc["target"]["x_m"]

        # estimate metrics (online)
        self.err_1000 = self.err_100 = None
        self.div_run = self.div_max = 0.0
        self.have_est = False

        self.touch = None            # touchdown record
        self.on_ground = False
        self.t_end = self.t_max
        self.n_steps = int(math.floor(self.t_max * rate + 1e-9)) + 1
        self.t = 0.0
        self.prev_alt = dyn.z - terr.height(dyn.x)
        self.prev_x = dyn.x

    # ------------------------------------------------------------ set-up

    def _resolve_faults(self):
        """Faults with their random trigger times resolved once, from the seed."""
        faults = []
        for f in self.sc["faults"]:
            f = dict(f)
            if isinstance(f["t_s"], list):
                f["t_s"] = float(self.rng_fault.uniform(f["t_s"][0], f["t_s"][1]))
            f["fired_t"] = None
            f["ended_t"] = None
            faults.append(f)
        return faults

    def _build_commands(self):
        """Signed telecommand bytes built up front (monotonic counter):
        [t_s, bytes, name, sent]."""
        from host_tools.ground.command import CommandBuilder
        sc = self.sc
        builder = CommandBuilder(bytes.fromhex(sc["link"]["command_key_hex"]), sc["link"]["tc_apid"])
        return [[c["t_s"], builder.build(c["command"], c["args"]), c["command"], False]
                for c in sorted(sc["commands"], key=lambda c: c["t_s"])]

    # ------------------------------------------------------------ the loop

    def run(self):
        for k in range(self.n_steps):
            t = k * self.dt
            self.t = t
            if t > self.t_end + 1e-9:
                break
            if self.cycle(k, t):
                break
        return self.result()

    def cycle(self, k, t):
        """One control cycle at t (the k-th); True when the flight is over."""
        dyn, terr = self.dyn, self.terr
        ground_z = terr.height(dyn.x)
        alt = dyn.z - ground_z
        if self.bench is not None:
            _set_bench_time(self.bench, t)
        self.faults_due(k, t, alt)
        self.commands_due(t)
        self.reboot_done(t)
        values = self.sense(t)
        throttle, est, phase, flags = self.control(t, alt)
        self.estimate_metrics(alt, est)
        if self.record:
            _record(self.tr, t, dyn, alt, ground_z, throttle, self.pitch_cmd, est, values, phase, flags)
        if self.on_ground:
            return False
        return self.dynamics(throttle, est, values, phase, flags)

    # ------------------------------------------------------------ cycle steps

    def faults_due(self, k, t, alt):
        """Fire each fault once (time reached, first crossing below an altitude,
        or first pass of a downrange position); end those whose duration or
        end altitude is reached."""
        dyn = self.dyn
        prev_alt, prev_x = self.prev_alt, self.prev_x
        for f in self.faults:
            if f["fired_t"] is not None:
                if f["ended_t"] is None and (
                        (f["duration_s"] is not None and t >= f["fired_t"] + f["duration_s"])
                        or (f["until_alt_m"] is not None and alt <= f["until_alt_m"])):
                    f["ended_t"] = t
                    self.markers.append((t, "fault_end", f["kind"]))
                    _end_fault(f, t, dyn, self.sens)
                continue
            if f["t_s"] is not None:
                due = t >= f["t_s"]
            elif f["alt_m"] is not None:
                due = alt <= f["alt_m"] and (prev_alt > f["alt_m"] or k == 0)
            else:
                due = (dyn.x - f["x_m"]) * (prev_x - f["x_m"]) <= 0.0 and (k == 0 or dyn.x != prev_x)
            if not due or self.on_ground and f["kind"] != "link_outage":
                continue
            f["fired_t"] = t
            self.fire_fault(f, t)
        self.prev_alt = alt
        self.prev_x = dyn.x

    def fire_fault(self, f, t):
        """The effect of one fault at the moment it fires."""
        kind = f["kind"]
        dyn, bench = self.dyn, self.bench
        self.events[kind] += 1
        self.markers.append((t, "fault", kind))
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
            self.down_until = self.reboot(t, kind)
        elif kind == "link_outage":
            f["_window"] = [t, math.inf]
            self.chan.add_outage(f["_window"])
        else:
            eff = self.sens.apply_fault(f, t)
            if self.blink is not None:
                self.blink.fault_effect(eff)

    def commands_due(self, t):
        """Telecommands on the uplink (the same channel as the downlink: lost
        in an outage, bit errors at the BER)."""
        for c in self.commands:
            if not c[3] and t >= c[0]:
                c[3] = True
                if any(w[0] <= t < w[1] for w in self.chan.outages):
                    self.events["command_lost_" + c[2]] += 1
                    self.markers.append((t, "command", c[2] + " (lost)"))
                    continue
                self.events["command_" + c[2]] += 1
                self.markers.append((t, "command", c[2]))
                data = self.chan.uplink(c[1])
                if self.bench is not None:
                    _inject_uplink(self.bench, data)

    def reboot(self, t_now, kind):
        """The computer goes down (a fault, a requested reset or a watchdog
        expiry): returns the time it is back."""
        reset_cfg, bench, fw = self.reset_cfg, self.bench, self.fw
        self.engine.on_reset(t_now, reset_cfg["engine_hold_s"])
        self.events["reboot"] += 1
        self.restarts.append({"t_s": t_now, "kind": kind, "back_s": None, "warm": None,
                              "resume_age_s": None, "boot_to_command_us": None})
        self.markers.append((t_now, "reboot", kind))
        if kind not in ("watchdog_reset", "power_loss"):
            self.events[kind] += 1
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
            self.sens.power_off = True
            if bench is not None:
                bench.rtc_memory = bytearray()   # scratch memory does not survive power loss
                prng = random.Random(int(self.rng_misc.integers(0, 2**31 - 1)))
                for name in sorted(bench.parts):
                    cut = getattr(bench.parts[name], "power_cut", None)
                    if callable(cut):
                        cut(rng=prng)
        return t_now + reset_cfg["reboot_s"]

    def reboot_done(self, t):
        """The computer back after a reboot: firmware re-imported and rebuilt
        (RAM is gone), or a fresh reference controller."""
        if self.down_until >= 0 and t >= self.down_until:
            self.down_until = -1.0
            self.sens.power_off = False
            self.resume_pending = True
            if self.fw is not None:
                self.fw.boot(fresh_modules=True)
            else:
                self.ref = ReferenceController(self.sc, self.terr)   # its memory is gone too

    def sense(self, t):
        """Leg contacts from the feet's heights, then every sensor's value;
        pushed into the bench's emulated parts."""
        dyn, terr = self.dyn, self.terr
        if self.on_ground:
            lc = rc = True
        else:
            (xl, zl), (xr, zr) = dyn.feet()
            lc = zl <= terr.height(xl) + 0.01
            rc = zr <= terr.height(xr) + 0.01
        values = self.sens.sample(t, dyn, self.on_ground, _leg_contacts(self.n_legs, lc, rc))
        if self.blink is not None:
            self.blink.push(values, t)
        return values

    def control(self, t, alt):
        """Run the controller when the computer is up, feed its command to the
        engine electronics; returns (throttle, est (alt, vz, vx), phase, flags)."""
        computer_up = self.down_until < 0
        est = (math.nan, math.nan, math.nan)
        phase, flags = 0, 0
        if computer_up:
            fw, dyn = self.fw, self.dyn
            if fw is not None:
                bench = self.bench
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
                    self.down_until = self.reboot(t, reset_cause)
                    computer_up = False
                eng = bench.parts.get("engine")
                # the attitude set-point: the attitude-control unit where the
                # board has one, else the gimbal (the skeleton's path)
                gim = bench.parts.get("attitude") or bench.parts.get("gimbal") or eng
                thr_cmd = eng.throttle_cmd if eng is not None else 0.0
                armed = eng.armed if eng is not None else False
                self.pitch_cmd = gim.pitch_cmd_rad if gim is not None else 0.0
                if fw.app is not None:
                    est = fw.estimates()
                    phase, flags = fw.phase_flags()
            else:
                ref = self.ref
                ref.update(dyn)
                thr_cmd, armed, self.pitch_cmd = ref.throttle, ref.armed, ref.pitch_cmd
                est = (alt, dyn.vz, dyn.vx)
                phase = ref.phase_out
            if computer_up:
                if self.resume_pending:
                    self.engine.resume()
                    self.resume_pending = False
                    self._note_resume(t)
                self.engine.command(thr_cmd, armed)
        throttle = self.engine.tick(t)
        return throttle, est, phase, flags

    def _note_resume(self, t):
        """The first command after a reboot: when, and what the firmware says
        about its restart (warm or cold, checkpoint age, boot to command)."""
        if not self.restarts:
            return
        r = self.restarts[-1]
        r["back_s"] = t - r["t_s"]
        app = self.fw.app if self.fw is not None else None
        if app is not None:
            r["warm"] = bool(getattr(app, "warm", False))
            age = getattr(app, "resume_age_us", 0)
            r["resume_age_s"] = age / 1e6 if age else None
            fc = getattr(app, "first_command_us", -1)
            r["boot_to_command_us"] = fc if fc is not None and fc >= 0 else None

    def estimate_metrics(self, alt, est):
        """Online estimate metrics while airborne: max |error| below 1000 m and
        below 100 m, the longest run with error > max(50 m, 5% of altitude)."""
        if self.on_ground or math.isnan(est[0]):
            return
        self.have_est = True
        e = abs(est[0] - alt)
        if alt <= 1000.0:
            self.err_1000 = e if self.err_1000 is None else max(self.err_1000, e)
        if alt <= 100.0:
            self.err_100 = e if self.err_100 is None else max(self.err_100, e)
        if e > max(50.0, 0.05 * alt):
            self.div_run += self.dt
            self.div_max = max(self.div_max, self.div_run)
        else:
            self.div_run = 0.0

    def dynamics(self, throttle, est, values, phase, flags):
        """Physics substeps; touchdown when a foot (or the base) meets the
        ground. True when the flight is over."""
        dyn, terr = self.dyn, self.terr
        # above the highest terrain by more than a leg (+1 m for rounding) no
        # foot can touch: the ground checks are skipped (the same outcome,
        # fewer terrain look-ups in the simulator's hottest loop)
        clear = terr.z_max + dyn.leg + 1.0
        for _ in range(self.nsub):
            dyn.step(self.h, throttle, self.pitch_cmd)
            if dyn.z > clear:
                continue
            (xl, zl), (xr, zr) = dyn.feet()
            gl, gr = terr.height(xl), terr.height(xr)
            if zl <= gl or zr <= gr or dyn.z <= terr.height(dyn.x):
                self.touch = _touchdown(dyn, terr.slope_deg(xl, xr), self.xt)
                break
        if dyn.fuel_out_t is not None and self.events["fuel_out"] == 0:
            self.events["fuel_out"] += 1
        if self.touch is None:
            return False
        self.on_ground = True
        self.events["touchdown"] += 1
        self.markers.append((self.touch["t_s"], "touchdown", self.verdict()))
        if self.record:
            a = dyn.z - terr.height(dyn.x)
            _record(self.tr, dyn.t, dyn, a, terr.height(dyn.x), throttle, self.pitch_cmd, est, values,
                    phase, flags)
        dyn.vx = dyn.vz = dyn.q = 0.0
        dyn.thrust = 0.0
        post = self.sc["post_touchdown_s"]
        self.t_end = min(self.t_max, self.touch["t_s"] + post)
        return post <= 0.0

    # ------------------------------------------------------------ after the loop

    def verdict(self):
        """The outcome (DESIGN.md): classified at touchdown, or fuel_out / timeout."""
        touch, dyn = self.touch, self.dyn
        if touch is not None:
            outcome = classify(touch["vz_mps"], touch["vx_mps"], touch["tilt_deg"], touch["slope_deg"],
                               touch["rel_tilt_deg"], self.pass_cfg)
            if dyn.fuel_out_t is not None and dyn.fuel_out_t < touch["t_s"] \
                    and outcome not in ("landed", "hard_landing"):
                outcome = "fuel_out"
            return outcome
        return "fuel_out" if dyn.fuel_out_t is not None else "timeout"

    def link(self):
        """The downlink through the channel model: (downlink, send_times,
        received, recv_times, telemetry summary)."""
        downlink = b""
        send_times = np.zeros(0)
        serialized = False
        radio = self.radio
        if radio is not None:
            downlink = bytes(getattr(radio, "downlink", b""))
            times = getattr(radio, "downlink_times", None)
            if times is not None and len(times) == len(downlink):
                send_times = np.asarray(times, float)   # already at the air rate
                serialized = True
            else:
                send_times = np.full(len(downlink), self.t)
        received, recv_times, _ = self.chan.deliver(downlink, send_times, serialized=serialized)
        lk = self.sc["link"]
        telemetry = _telemetry_summary(downlink, received, recv_times,
                                       lk.get("frame_len", 128), lk.get("rs_e", 8))
        return downlink, send_times, received, recv_times, telemetry

    def estimate_summary(self):
        have = self.have_est
        return {
            "max_error_last_1000m_m": self.err_1000 if have else None,
            "max_error_below_100m_m": self.err_100 if have else None,
            "longest_divergence_s": self.div_max if have else None,
        }

    def summary(self, outcome, telemetry):
        """The result JSON (DESIGN.md), judged against the [pass] table."""
        if self.fw is not None:
            self.events.update(self.fw.counts)
        estimate = self.estimate_summary()
        touch, dyn = self.touch, self.dyn
        td = {k: (touch[k] if touch else None) for k in ("vz_mps", "vx_mps", "tilt_deg", "miss_m",
                                                          "slope_deg", "t_s")}
        summary = {
            "name": self.sc["name"],
            "seed": self.seed,
            "controller": self.controller,
            "outcome": outcome,
            "touchdown": td,
            "propellant_used_kg": dyn.prop0 - dyn.prop,
            "propellant_left_kg": dyn.prop,
            "estimate": estimate,
            "max_alt_error_m": estimate["max_error_last_1000m_m"],
            "telemetry": telemetry,
            "events": dict(sorted(self.events.items())),
            "time_s": dyn.t,
            # resets in flight, and engine cuts caused by a hold that expired
            "restarts": self.restarts,
            "engine_cuts_by_reset": self.engine.cuts,
        }
        reasons = _judge(summary, self.pass_cfg)
        summary["passed"] = not reasons
        summary["fail_reasons"] = reasons
        return summary

    def trace(self):
        trace = {}
        if self.record:
            for key in TRACE_KEYS:
                dtype = np.int64 if key in ("phase", "fault_flags") else float
                trace[key] = np.asarray(self.tr[key], dtype=dtype)
        return trace

    def result(self):
        outcome = self.verdict()
        downlink, send_times, received, recv_times, telemetry = self.link()
        summary = self.summary(outcome, telemetry)
        return FlightResult(summary, self.trace(), downlink, received, send_times, recv_times,
                            self.sc, self.bench, list(self.markers))


def _touchdown(dyn, slope, xt):
    """The touchdown record at the substep a foot (or the base) met the ground."""
    tilt = math.degrees(dyn.pitch)
    return {
        "t_s": dyn.t, "vz_mps": dyn.vz, "vx_mps": dyn.vx, "tilt_deg": abs(tilt),
        "miss_m": abs(dyn.x - xt), "slope_deg": slope,
        "rel_tilt_deg": tilt + slope,
    }


def _telemetry_summary(downlink, received, recv_times, frame_len=128, rs_e=8):
    """Measured by decoding both byte streams with the ground decoder (the
    frame length and Reed-Solomon E of the scenario's [link]): frames that
    decode (RS + CRC), and the critical state the ground got (live or through
    the black box) with its latency."""
    from host_tools.ground import decode as ground

    sent = ground.decode(downlink, frame_len=frame_len, rs_e=rs_e)
    got = ground.decode(received, times=recv_times, frame_len=frame_len, rs_e=rs_e)
    crit = ground.critical_delivery(sent, got)
    return {
        "frames_sent": sent.stats["frames_ok"],
        "frames_received": got.stats["frames_ok"],
        "critical_delivered_ratio": crit["critical_delivered_ratio"],
        "max_latency_s": crit["max_latency_s"],
        "bytes_sent": len(downlink),
        "bytes_received": len(received),
        "critical_sent": crit["critical_sent"],
        "critical_live": crit["critical_live"],
        "critical_from_blackbox": crit["critical_from_blackbox"],
        "frames_corrected": got.stats["frames_corrected"],
        "frames_bad": got.stats["frames_bad_rs"] + got.stats["frames_bad_crc"],
    }


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
