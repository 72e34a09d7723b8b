"""`lander montecarlo FILE --runs N [--seed S] [--jobs J] [--dask ADDRESS] [--out DIR]`."""
from __future__ import annotations

import json
import os
import sys

from host_tools import cliargs


def add_arguments(parser):
    parser.add_argument("file", metavar="FILE", help="scenario file (TOML) with a [dispersions] table")
    parser.add_argument("--runs", type=cliargs.runs, required=True, metavar="N",
                        help="number of runs (1 .. %d)" % cliargs.MAX_RUNS)
    parser.add_argument("--seed", type=cliargs.seed, default=None, metavar="S",
                        help="campaign seed (default: the scenario's; 0 .. 2^63-1); run i is the same "
                             "flight for a given seed whatever the pool")
    parser.add_argument("--jobs", type=cliargs.jobs, default=None, metavar="J",
                        help="local worker processes (>= 1; default: all cores; 1 = in-process)")
    parser.add_argument("--dask", type=cliargs.dask_address, default=None, metavar="ADDRESS",
                        help="run on a Dask cluster (scheduler address tcp://HOST:PORT; refused "
                             "when it does not answer within %g s)" % cliargs.DASK_WAIT_S)
    parser.add_argument("--out", default=None, metavar="DIR",
                        help="output folder (default: montecarlo-<scenario name> here, the name "
                             "sanitised; only the folder itself is created); the campaign's files "
                             "from an earlier run there are replaced")
    parser.add_argument("--controller", choices=("firmware", "reference"), default="firmware",
                        help="who flies: the firmware in-process, or the host truth-fed reference")
    parser.add_argument("--max-time", type=cliargs.sim_time, default=None, metavar="S",
                        help="cut each run after S simulated seconds (> 0, <= 3600)")
    parser.add_argument("--optimal", action="store_true",
                        help="also solve each run's fuel optimum and report propellant / optimum")
    parser.add_argument("--min-success", type=cliargs.fraction, default=1.0, metavar="FRACTION",
                        help="exit 1 when the fraction of runs that passed is below this "
                             "(default 1: any run not passed fails the campaign)")
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")


def run(args) -> int:
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)

    from host_tools.sim import montecarlo, scenario

    sc = scenario.load(args.file)
    out_dir = args.out or "montecarlo-%s" % scenario.safe_name(sc["name"])
    cliargs.check_out_dir(out_dir, "--out")
    if args.dask:
        cliargs.check_dask_reachable(args.dask)
    console = Console(stderr=args.json)
    where = ("Dask %s" % args.dask) if args.dask else (
        "%s local process(es)" % (args.jobs or os.cpu_count()))
    console.print("[bold]%s[/]: %d runs, %d dispersed values, controller %s, on %s"
                  % (sc["name"], args.runs, len(sc["dispersions"]), args.controller, where))
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[failed]} not passed"), TimeElapsedColumn(),
                  TimeRemainingColumn(), console=console) as bar:
        task = bar.add_task("flying", total=args.runs, failed=0)
        failed = [0]

        def advance(row):
            if not row.get("passed"):
                failed[0] += 1
            bar.update(task, advance=1, failed=failed[0])

        rows = montecarlo.run_campaign(sc, args.runs, seed=args.seed, jobs=args.jobs,
                                       dask=args.dask, controller=args.controller,
                                       max_time_s=args.max_time, progress=advance,
                                       with_optimal=args.optimal)
    summary = montecarlo.summarise(rows)
    summary["min_success"] = args.min_success
    montecarlo.clear_outputs(out_dir)
    paths = montecarlo.save(rows, out_dir)
    if not args.no_plots:
        paths.update(montecarlo.plot_campaign(rows, out_dir, title=sc["name"],
                                               limits=sc["pass"]))
    with open(os.path.join(out_dir, "summary.json"), "w") as fh:
        json.dump(summary, fh, indent=2)
    paths["summary"] = os.path.join(out_dir, "summary.json")
    if args.json:
        print(json.dumps(dict(summary, files=paths)))
    else:
        console.print(montecarlo.summary_table(summary, title="%s: %d runs" % (sc["name"], len(rows))))
        for err in summary["errors"]:
            console.print("[red]error:[/] %s" % err)
    for key in sorted(paths):
        print("wrote %s %s" % (key, os.path.abspath(paths[key])),
              file=sys.stderr if args.json else sys.stdout)
    if rows and all(r.get("error") for r in rows):
        print("lander montecarlo: every run failed to fly (%s)" % rows[0]["error"], file=sys.stderr)
        return 1
    if summary["success_rate"] < args.min_success:
        print("lander montecarlo: %d of %d runs passed (%.1f%%), below --min-success %.1f%%"
              % (summary["passed"], summary["runs"], 100.0 * summary["success_rate"],
                 100.0 * args.min_success), file=sys.stderr)
        return 1
    return 0
