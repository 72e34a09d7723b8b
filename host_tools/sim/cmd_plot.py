"""`lander plot FILE [--seed N] [--out OUT.png]`: fly one scenario and plot it."""
from __future__ import annotations

import os
import sys


def add_arguments(parser):
    parser.add_argument("file", metavar="FILE", help="scenario file (TOML)")
    parser.add_argument("--seed", type=int, default=None, metavar="N",
                        help="simulator seed (default: the scenario's)")
    parser.add_argument("--out", default=None, metavar="OUT.png",
                        help="output PNG (default: <scenario name>.png)")
    parser.add_argument("--controller", choices=("firmware", "reference"), default="firmware",
                        help="who flies: the firmware in-process, or the host truth-fed reference")
    parser.add_argument("--max-time", type=float, default=None, metavar="S",
                        help="stop after S simulated seconds")


def run(args) -> int:
    from host_tools.sim import plots, runner, scenario

    try:
        sc = scenario.load(args.file)
    except scenario.ScenarioError as exc:
        print("lander plot: %s" % exc, file=sys.stderr)
        return 2
    result = runner.fly(sc, seed=args.seed, controller=args.controller, record=True,
                        max_time_s=args.max_time)
    out = args.out or "%s.png" % sc["name"]
    plots.plot_run(result, out)
    s = result.summary
    print("%s: %s -> %s" % (s.get("name", sc["name"]), s.get("outcome", "?"), os.path.abspath(out)))
    return 0
