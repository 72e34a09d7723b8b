"""`lander plot FILE [--seed N] [--out OUT.png]`: fly one scenario and plot it."""
from __future__ import annotations

import os

from host_tools import cliargs


def add_arguments(parser):
    parser.add_argument("file", metavar="FILE", help="scenario file (TOML)")
    parser.add_argument("--seed", type=cliargs.seed, default=None, metavar="N",
                        help="simulator seed (default: the scenario's; 0 .. 2^63-1)")
    parser.add_argument("--out", default=None, metavar="OUT.png",
                        help="output PNG (default: <scenario name>.png here, the name sanitised)")
    parser.add_argument("--controller", choices=("firmware", "reference"), default="firmware",
                        help="who flies: the firmware in-process, or the host truth-fed reference")
    parser.add_argument("--max-time", type=cliargs.sim_time, default=None, metavar="S",
                        help="stop after S simulated seconds (> 0, <= 3600)")


def run(args) -> int:
    from host_tools.sim import plots, runner, scenario

    sc = scenario.load(args.file)
    out = args.out or "%s.png" % scenario.safe_name(sc["name"])
    cliargs.check_out_file(out, "--out")
    result = runner.fly(sc, seed=args.seed, controller=args.controller, record=True,
                        max_time_s=args.max_time)
    plots.plot_run(result, out)
    s = result.summary
    print("%s: %s%s" % (s["name"], s["outcome"], "" if s["passed"] else "  [FAIL] " + "; ".join(s["fail_reasons"])))
    print("wrote plot %s" % os.path.abspath(out))
    return 0 if s["passed"] else 1
