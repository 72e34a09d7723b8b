"""`lander`: the one host command. Each subcommand lives in its own module
with `add_arguments(parser)` and `run(args) -> int`; they are imported lazily
so `lander --help` stays fast and one broken tool cannot hide the others."""
from __future__ import annotations

import argparse
import importlib
import sys

# name -> (module, one-line help)
SUBCOMMANDS = {
    "demo": ("host_tools.demo", "fly the demo descent and print a touchdown report"),
    "sim": ("host_tools.sim.cmd_sim", "fly one scenario with the firmware in the loop"),
    "montecarlo": ("host_tools.sim.cmd_montecarlo", "dispersed campaign of one scenario"),
    "plot": ("host_tools.sim.cmd_plot", "plot one run (truth vs estimate vs raw)"),
    "optimal": ("host_tools.sim.cmd_optimal", "fuel-optimal reference trajectory (cvxpy)"),
    "perf": ("host_tools.perf", "fuel (32-bit MicroPython) and speed figures"),
}


def _load(name):
    module_name, _ = SUBCOMMANDS[name]
    return importlib.import_module(module_name)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lander",
        description="Descent computer tools: simulate, test, flash and read telemetry.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        try:
            _load(name).add_arguments(p)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            p.set_defaults(_missing=module_name)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    if getattr(args, "_missing", None):
        print("lander %s: not available in this build (%s missing)" % (args.command, args._missing),
              file=sys.stderr)
        return 2
    return int(_load(args.command).run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
