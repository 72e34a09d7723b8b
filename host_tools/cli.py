"""`lander`: the one host command. Each subcommand lives in its own module
with `add_arguments(parser)` and `run(args) -> int`; they are imported lazily
so `lander --help` stays fast and one broken tool cannot hide the others."""
from __future__ import annotations

import argparse
import importlib
import sys
import traceback

EXIT_CODES = """exit codes:
  0  success (and the flight or campaign passed its pass criteria)
  1  the flight or campaign failed its pass criteria (montecarlo: success rate
     below --min-success, by default any run not passed)
  2  bad input or usage: one line naming the file, key or flag; nothing run,
     nothing written
  3  internal error: one line (the traceback with --debug)"""
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3


class Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors (exit 2) naming the flag."""

    def error(self, message):
        self.exit(EXIT_USAGE, "%s: %s (see %s --help)\n" % (self.prog, message, self.prog))

# name -> (module, one-line help)
SUBCOMMANDS = {
    "demo": ("host_tools.demo", "fly the demo descent and print a touchdown report"),
    "sim": ("host_tools.sim.cmd_sim", "fly one scenario with the firmware in the loop"),
    "montecarlo": ("host_tools.sim.cmd_montecarlo", "dispersed campaign of one scenario"),
    "plot": ("host_tools.sim.cmd_plot", "plot one run (truth vs estimate vs raw)"),
    "optimal": ("host_tools.sim.cmd_optimal", "fuel-optimal reference trajectory (cvxpy)"),
    "perf": ("host_tools.perf", "fuel (32-bit MicroPython) and speed figures"),
    "deploy": ("host_tools.board.deploy", "cross-compile the firmware and copy what changed to a board"),
    "flash": ("host_tools.board.flash", "write a MicroPython image to a board (esptool / UF2)"),
    "board": ("host_tools.board.virtual", "serve a virtual board (MicroPython unix port) on a pty"),
    "hil": ("host_tools.board.hil", "fly a scenario with the firmware on a board, simulator on the host"),
    "bench": ("host_tools.board.bench", "live sensors, plausibility checks and IMU calibration on a board"),
    "command": ("host_tools.ground.cmd_command", "build, sign and send one telecommand"),
    "decode": ("host_tools.ground.cmd_decode", "decode a recorded downlink (CCSDS frames and packets)"),
    "xtce": ("host_tools.ground.xtce", "export the telemetry packet table as XTCE"),
    "ground": ("host_tools.ground.display", "live telemetry display (file, serial port or TCP)"),
}


def _load(name):
    module_name, _ = SUBCOMMANDS[name]
    return importlib.import_module(module_name)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="lander",
        description="Descent computer tools: simulate, test, flash and read telemetry.",
        epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--debug", action="store_true",
                        help="show the traceback of an internal error")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text, epilog=EXIT_CODES,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show the traceback of an internal error")
        try:
            _load(name).add_arguments(p)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            p.set_defaults(_missing=module_name)
    return parser


def main(argv=None) -> int:
    """Run one subcommand; returns its exit code (see EXIT_CODES)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:      # --help (0) or a usage error (2), already printed
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if not args.command:
        parser.print_help()
        return EXIT_USAGE
    if getattr(args, "_missing", None):
        print("lander %s: not available in this build (%s missing)" % (args.command, args._missing),
              file=sys.stderr)
        return EXIT_USAGE
    prog = "lander " + args.command
    from host_tools.cliargs import UsageError
    from host_tools.sim.scenario import ScenarioError
    try:
        return int(_load(args.command).run(args) or 0)
    except (UsageError, ScenarioError) as exc:
        print("%s: %s" % (prog, exc), file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("%s: interrupted" % prog, file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - one line, not a traceback, unless --debug
        if getattr(args, "debug", False):
            traceback.print_exc()
        line = ("%s" % exc).splitlines()[0] if str(exc) else ""
        print("%s: internal error: %s%s%s" % (prog, type(exc).__name__, ": " if line else "", line)
              + ("" if getattr(args, "debug", False) else " (--debug for the traceback)"),
              file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
