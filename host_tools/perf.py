"""`lander perf`: figures, not tests.

Fuel: wasmtime fuel (deterministic instruction count) of firmware code under
the 32-bit MicroPython WASI interpreter. A call's cost is measured as the fuel
of N calls in a loop minus the fuel of the same loop with the call removed,
both in fresh instances, so start-up and import costs cancel. DESIGN.md's
calibration: 1 fuel ~ 1.35 RP2040 cycles; a 50 Hz frame is ~1.85 M fuel.

`lander perf` (no target): the performance budget over a whole replayed
nominal descent (host_tools/perf_budget.py); `--json` prints it as one object.
`lander perf --functions`: the standing table of unit costs.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile

import host_tools
from host_tools import wasm_guest

FRAME_FUEL_50HZ = 1_850_000

_TLM_FRAMER = (
    "from lander.telemetry.encoder import PacketEncoder\n"
    "from lander.telemetry.frames import Framer\n"
    "from lander.telemetry import packets as P\n"
    "class S:\n    def next_packet(self, buf, room):\n        return enc.idle(buf, 100)\n"
    "enc = PacketEncoder([None] * P.N_SOURCES)\nfr = Framer(S(), 128, %d)\nout = bytearray(64)")

# name -> (setup code, expression): the standing fixed.py figures
STANDARD = {
    "fixed.mul_shift (15-bit fast path)": ("import lander.fixed as fx", "fx.mul_shift(12345, -23456, 15)"),
    "fixed.mul_shift (one wide operand)": ("import lander.fixed as fx", "fx.mul_shift(123456789, 23456, 15)"),
    "fixed.mul_shift (both wide)": ("import lander.fixed as fx", "fx.mul_shift(123456789, -98765432, 30)"),
    "fixed.div_shift (fast)": ("import lander.fixed as fx", "fx.div_shift(12345, 678, 15)"),
    "fixed.div_shift (wide)": ("import lander.fixed as fx", "fx.div_shift(123456789, 98765, 16)"),
    "fixed.isqrt": ("import lander.fixed as fx", "fx.isqrt(987654321)"),
    "fixed.sin_q15": ("import lander.fixed as fx", "fx.sin_q15(12345)"),
    "fixed.atan2": ("import lander.fixed as fx", "fx.atan2(-1234567, 7654321)"),
    "inline (a * b) >> 15": ("a = 12345\nb = 23456", "(a * b) >> 15"),
    # one loop cycle of the skeleton stages (estimate, guide, control) on a
    # board without parts; driver reads are measured by their own entries
    "app.step (stages only, no parts)": (
        "from lander.app import App\nfrom lander.config import Config\n"
        "class B:\n    imu = None\n    altimeter = None\n    legs = None\n    engine = None\n    wdt = None\n"
        "app = App(B(), Config())\napp.handover(500000, -20000, 3000, 0)\nt = [0]",
        "app.step(t[0]); t[0] += 20000"),
    # telemetry (issue 10): FEC is its largest part; 5 octets = one 50 Hz cycle at 2000 bit/s
    "telemetry: framer 5 octets (ASM, CRC, RS E=8)": (_TLM_FRAMER % 8, "fr.pump(out, 5)"),
    "telemetry: framer 5 octets (ASM, CRC, RS E=16)": (_TLM_FRAMER % 16, "fr.pump(out, 5)"),
    "telemetry: RS symbol, E=8 (RsEncoder.feed)": (
        "from lander.telemetry.rs import RsEncoder\ne = RsEncoder(8)", "e.feed(90)"),
    "telemetry: RS symbol, E=16 (RsEncoder.feed)": (
        "from lander.telemetry.rs import RsEncoder\ne = RsEncoder(16)", "e.feed(90)"),
    "telemetry: critical packet (30 fields)": (
        "from lander.app import App\nfrom lander.config import Config\n"
        "class B:\n    imu = None\n    altimeter = None\n    legs = None\n    engine = None\n    wdt = None\n"
        "app = App(B(), Config())\nbuf = bytearray(256)\nenc = app.tlm.enc", "enc.build(0, buf, 1, 2)"),
}


def mpy_sizes(board: str = "pico", opt: int | None = None) -> dict:
    """Bytes of each module `lander deploy --board BOARD [--opt N]` puts on the
    board: deploy's own build (the board's import closure, its architecture,
    its default -O level unless opt is given, minified as deploy does it:
    on the flight boards unless opt is 0), sized."""
    from host_tools.board import deploy

    with tempfile.TemporaryDirectory() as tmp:
        files = deploy.build(board, tmp, deploy.ARCH[board], opt=opt)
        return {remote[len("lib/lander/"):]: os.path.getsize(local)
                for remote, local in files.items() if remote.startswith("lib/lander/")}


def _guest(setup: str, expr: str | None, repeat: int) -> str:
    body = expr if expr is not None else "pass"
    setup_lines = "\n".join("    " + line for line in setup.splitlines())
    return (
        "import sys\nsys.path.insert(0, '/input')\n"
        "def _main():\n%s\n"
        "    for _i in range(%d):\n        %s\n"
        "try:\n    _main()\nexcept BaseException as e:\n    print('__ERR__')\n    sys.print_exception(e, sys.stdout)\n"
        % (setup_lines or "    pass", repeat, body)
    )


def _run_wasm(program: str) -> int:
    stdout, used = wasm_guest.run(program)
    if "__ERR__" in stdout:
        raise RuntimeError("guest error:\n" + stdout)
    return used


def fuel_per_call(setup: str, expr: str, repeat: int = 200) -> float:
    """Fuel of one evaluation of `expr` (setup runs once, inside a function)."""
    with_call = _run_wasm(_guest(setup, expr, repeat))
    without = _run_wasm(_guest(setup, None, repeat))
    return (with_call - without) / repeat


def named_function_expr(target: str, args: list[str]) -> tuple[str, str]:
    """'lander.fixed:mul_shift' + ['1', '2', '15'] -> (setup, expression)."""
    module, _, func = target.partition(":")
    if not module.startswith("lander") or not func:
        raise SystemExit("target must look like lander.module:function (got %r)" % target)
    return "import %s as _m\n_f = _m.%s" % (module, func), "_f(%s)" % ", ".join(args)


def add_arguments(parser):
    parser.add_argument("target", nargs="?", help="lander.module:function to measure (default: standard table)")
    parser.add_argument("args", nargs="*", help="literal arguments for the call")
    parser.add_argument("--setup", default=None, help="guest setup code (instead of a target)")
    parser.add_argument("--expr", default=None, help="guest expression to measure (with --setup)")
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--no-speed", action="store_true", help="skip the simulator speed figure")
    parser.add_argument("--functions", action="store_true",
                        help="the standing table of fixed.py and unit costs instead of the budget")
    parser.add_argument("--scenario", default=None,
                        help="scenario flown and replayed for the budget (default scenarios/nominal.toml)")


def _budget_text(b: dict) -> str:
    bud = b["budget"]
    lines = [
        "performance budget: %s" % b["machine"],
        "  flight             %s, %d cycles replayed (%s on the host bench)"
        % (b["flight"]["scenario"], b["cycles_measured"], b["flight"]["outcome"]),
        "  whole cycle        median %d  max %d fuel   (budget median <= %d, max <= %d)"
        % (b["fuel_per_cycle"]["median"], b["fuel_per_cycle"]["max"], bud["total_median"], bud["total_max"]),
        "  control path       median %d  max %d fuel   (budget median <= %d, max <= %d)"
        % (b["fuel_control_per_cycle"]["median"], b["fuel_control_per_cycle"]["max"],
           bud["control_median"], bud["control_max"]),
        "  minified           control path median %d  max %d, whole cycle median %d  max %d fuel"
        % (b["fuel_control_per_cycle_minified"]["median"], b["fuel_control_per_cycle_minified"]["max"],
           b["fuel_per_cycle_minified"]["median"], b["fuel_per_cycle_minified"]["max"]),
        "                     (the same replay, the firmware as %s gets it: bundled, renamed, engine commands equal)"
        % b["minified"]["board"],
        "  guidance + control median %d  max %d fuel   (budget median <= %d; command outputs in \"control\")"
        % (b["fuel_guide_control_per_cycle"]["median"], b["fuel_guide_control_per_cycle"]["max"],
           bud["guide_control_median"]),
        "  per stage (median / max fuel, replay buses taken out):",
    ]
    for name, med in sorted(b["fuel_per_stage"].items(), key=lambda kv: -kv[1]):
        lines.append("    %-14s %8d / %8d" % (name, med, b["fuel_per_stage_max"][name]))
    lines += [
        "  replay buses       median %d  max %d fuel per cycle (measured, not counted above)"
        % (b["replay_bus_overhead_per_cycle"]["median"], b["replay_bus_overhead_per_cycle"]["max"]),
        "  cycle median by quarter of the flight: %s" % ", ".join(str(v) for v in b["fuel_per_cycle_by_quarter"]),
        "  heap               %d bytes after start-up, peak %d (budget <= %d); %.3f bytes allocated per cycle"
        % (b["heap_startup_bytes"], b["heap_peak_bytes"], bud["heap_bytes"], b["alloc_bytes_per_cycle"]),
        "                     firmware from %s (image %d bytes of flash): imports %d, start-up objects %d"
        % (b["heap_firmware_from"], b["romfs_image_bytes"], b["heap_code_bytes"], b["heap_data_bytes"]),
        "                     the imports in a guest without the harness: %d (%d qstrs); with the start-up"
        " objects above %d" % (b["heap_firmware_only"]["code_bytes"], b["heap_firmware_only"]["qstrs"],
                                b["heap_firmware_only"]["startup_bytes"]),
        "                     compiled from source at import instead: %d after start-up (imports %d)"
        % (b["heap_from_source"]["startup_bytes"], b["heap_from_source"]["code_bytes"]),
        "  stage faults       %d in the heap-locked fuel run, %d in the heap run (must be 0: a faulted"
        " stage's cost is missing)" % (b["stage_faults"]["heap_locked_fuel_run"], b["stage_faults"]["heap_run"]),
        "  .mpy bytes         %s (budget <= %d each; as deployed: mpy-cross -O3, no line numbers, bundled, minified)"
        % (", ".join("%s %d" % kv for kv in b["mpy_bytes"].items()), bud["mpy_bytes"]),
        "                     one .mpy per module, with the line numbers and every name (deploy --opt 0): %s"
        % ", ".join("%s %d" % kv for kv in b["mpy_bytes_O0"].items()),
    ]
    if "sim_speed_x_realtime" in b:
        lines.append("  simulator speed    %.1fx real time by the wall clock, %.1fx by this process's CPU time"
                     " (closed loop, CPython, best of %d; budget >= %d)"
                     % (b["sim_speed_x_realtime"], b.get("sim_speed_x_realtime_cpu") or 0.0,
                        len(b.get("sim_speed_runs") or [0]), bud["sim_speed_x_realtime"]))
    return "\n".join(lines)


def run(args) -> int:
    if args.setup is None and args.expr is None and not args.target and not args.functions:
        from host_tools import perf_budget

        if args.scenario is not None and not os.path.isfile(args.scenario):
            print("lander perf: --scenario %s: no such file" % args.scenario, file=sys.stderr)
            return 2
        result = perf_budget.budget(args.scenario, speed=not args.no_speed)
        if args.json:
            print(json.dumps(result, indent=2))
        else:
            print(_budget_text(result))
        return 0
    rows = []
    if args.setup is not None or args.expr is not None:
        rows.append(("custom", fuel_per_call(args.setup or "", args.expr or "pass", args.repeat)))
    elif args.target:
        setup, expr = named_function_expr(args.target, args.args)
        rows.append((args.target, fuel_per_call(setup, expr, args.repeat)))
    else:
        for name, (setup, expr) in STANDARD.items():
            rows.append((name, fuel_per_call(setup, expr, args.repeat)))
    result = {"fuel_per_call": {name: round(f) for name, f in rows}, "frame_fuel_50hz": FRAME_FUEL_50HZ}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(title="fuel under 32-bit MicroPython (WASI); 50 Hz frame ~ %d fuel" % FRAME_FUEL_50HZ)
        table.add_column("measured")
        table.add_column("fuel / call", justify="right")
        table.add_column("% of frame", justify="right")
        for name, f in rows:
            table.add_row(name, "%.0f" % f, "%.3f" % (100.0 * f / FRAME_FUEL_50HZ))
        Console().print(table)
    return 0
