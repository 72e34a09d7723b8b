"""`lander montecarlo FILE --runs N [--seed S] [--jobs J] [--dask ADDRESS] [--out DIR]`."""
from __future__ import annotations

import json
import os
import sys


def add_arguments(parser):
    parser.add_argument("file", metavar="FILE", help="scenario file (TOML) with a [dispersions] table")
    parser.add_argument("--runs", type=int, required=True, metavar="N", help="number of runs")
    parser.add_argument("--seed", type=int, default=None, metavar="S",
                        help="campaign seed (default: the scenario's seed); run i is the same "
                             "flight for a given seed whatever the pool")
    parser.add_argument("--jobs", type=int, default=None, metavar="J",
                        help="local worker processes (default: all cores; 1 = in-process)")
    parser.add_argument("--dask", default=None, metavar="ADDRESS",
                        help="run on a Dask cluster (scheduler address, e.g. tcp://host:8786)")
    parser.add_argument("--out", default=None, metavar="DIR",
                        help="output directory (default: montecarlo-<scenario name>)")
    parser.add_argument("--controller", choices=("firmware", "reference"), default="firmware",
                        help="who flies: the firmware in-process, or the host truth-fed reference")
    parser.add_argument("--max-time", type=float, default=None, metavar="S",
                        help="cut each run after S simulated seconds")
    parser.add_argument("--optimal", action="store_true",
                        help="also solve each run's fuel optimum and report propellant / optimum")
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")


def run(args) -> int:
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)

    from host_tools.sim import montecarlo, scenario

    if args.runs < 1:
        print("lander montecarlo: --runs must be >= 1", file=sys.stderr)
        return 2
    try:
        sc = scenario.load(args.file)
    except scenario.ScenarioError as exc:
        print("lander montecarlo: %s" % exc, file=sys.stderr)
        return 2
    out_dir = args.out or "montecarlo-%s" % sc["name"]
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
        console.print("wrote " + ", ".join(paths[k] for k in sorted(paths)))
    if rows and all(r.get("error") for r in rows):
        print("lander montecarlo: every run failed to fly (%s)" % rows[0]["error"], file=sys.stderr)
        return 1
    return 0
