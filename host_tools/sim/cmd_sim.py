"""`lander sim FILE`: fly one scenario (firmware in the loop by default) and
print the result JSON (--json) or a short touchdown report."""
from __future__ import annotations

import json
import math
import os
import sys

from host_tools import cliargs


def add_arguments(parser):
    parser.add_argument("scenario", metavar="FILE", help="scenario TOML file")
    parser.add_argument("--json", action="store_true", help="print the result JSON")
    parser.add_argument("--plot", metavar="OUT.png", help="plot the run to a PNG")
    parser.add_argument("--seed", type=cliargs.seed, default=None,
                        help="override the scenario seed (0 .. 2^63-1)")
    parser.add_argument("--controller", choices=("firmware", "reference"), default="firmware",
                        help="firmware in the loop (default) or the truth-fed reference")
    parser.add_argument("--downlink", metavar="OUT", help="write the bytes the radio sent")
    parser.add_argument("--received", metavar="OUT", help="write the bytes after the channel model")
    parser.add_argument("--optimal", action="store_true",
                        help="also solve the fuel-optimal reference and report the ratio")
    parser.add_argument("--max-time", type=cliargs.sim_time, default=None, metavar="S",
                        help="cap on simulated seconds (> 0, <= 3600)")


def _clean(obj):
    """JSON-safe: NaN/inf -> None, numpy scalars -> Python."""
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def wrote(paths, to_stderr=False):
    """Say where each file went (stderr when stdout carries JSON)."""
    for what, path in paths:
        print("wrote %s %s" % (what, os.path.abspath(path)), file=sys.stderr if to_stderr else sys.stdout)


def fair_optimum(sc, result, optimal) -> dict:
    """The fair comparison for a guidance that ends in a vertical terminal
    descent: the optimum to the same low gate (the firmware's terminal_alt_mm /
    terminal_vz_mm_s) plus the propellant the flight burned in its terminal
    descent (phase 2 to touchdown, from the trace)."""
    from host_tools.sim import runner

    out = {"propellant_gate_optimal_kg": None, "propellant_terminal_kg": None,
           "propellant_fair_ratio": None, "gate": None}
    try:
        cfg = runner.firmware_config(sc)
        gate = (cfg.terminal_alt_mm / 1000.0, -cfg.terminal_vz_mm_s / 1000.0)
    except (ImportError, AttributeError):
        return out
    tr = result.trace
    phase, prop = tr.get("phase"), tr.get("propellant_kg")
    if phase is None or not len(phase):
        return out
    idx = [i for i, p in enumerate(phase) if p == 2]
    if not idx:
        return out
    term = float(prop[idx[0]] - prop[-1])
    g_opt = optimal.solve(sc, gate=gate).get("propellant_kg")
    out["gate"] = {"alt_m": gate[0], "vz_mps": gate[1]}
    out["propellant_gate_optimal_kg"] = g_opt
    out["propellant_terminal_kg"] = term
    if g_opt:
        out["propellant_fair_ratio"] = result.summary["propellant_used_kg"] / (g_opt + term)
    return out


def run(args) -> int:
    from host_tools.sim import runner, scenario

    sc = scenario.load(args.scenario)
    outs = [("plot", cliargs.check_out_file(args.plot, "--plot")),
            ("downlink", cliargs.check_out_file(args.downlink, "--downlink")),
            ("received", cliargs.check_out_file(args.received, "--received"))]
    outs = [(what, path) for what, path in outs if path is not None]
    if len({os.path.abspath(p) for _, p in outs}) < len(outs):
        raise cliargs.UsageError("--plot, --downlink and --received must name different files")
    result = runner.fly(sc, seed=args.seed, controller=args.controller, record=True,
                        max_time_s=args.max_time)
    summary = dict(result.summary)
    if args.optimal:
        from host_tools.sim import optimal

        try:
            p_opt = optimal.solve(sc).get("propellant_kg")
        except optimal.OptimalError as exc:
            print("lander sim: no fuel optimum: %s" % exc, file=sys.stderr)
            p_opt = None
        summary["propellant_optimal_kg"] = p_opt
        summary["propellant_ratio"] = (summary["propellant_used_kg"] / p_opt) if p_opt else None
        summary.update(fair_optimum(sc, result, optimal))
    if args.downlink:
        with open(args.downlink, "wb") as fh:
            fh.write(result.downlink)
    if args.received:
        with open(args.received, "wb") as fh:
            fh.write(result.received)
    if args.plot:
        from host_tools.sim import plots

        plots.plot_run(result, args.plot)
    summary = _clean(summary)
    wrote(outs, to_stderr=args.json)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        td = summary["touchdown"]
        print("%s (%s, seed %s): %s%s" % (summary["name"], summary["controller"], summary["seed"],
                                         summary["outcome"], "" if summary["passed"] else "  [FAIL]"))
        if td["t_s"] is not None:
            print("  touchdown  t %.1f s  vz %.2f m/s  vx %.2f m/s  tilt %.1f deg  miss %.1f m"
                  % (td["t_s"], td["vz_mps"], td["vx_mps"], td["tilt_deg"], td["miss_m"]))
        print("  propellant %.1f kg used" % summary["propellant_used_kg"]
              + ("  (optimum %.1f kg, ratio %.2f)" % (summary["propellant_optimal_kg"], summary["propellant_ratio"])
                 if summary.get("propellant_optimal_kg") else ""))
        if summary.get("propellant_fair_ratio"):
            print("  fair optimum %.1f kg to the gate %.0f m at %.1f m/s + %.1f kg terminal descent: ratio %.3f"
                  % (summary["propellant_gate_optimal_kg"], summary["gate"]["alt_m"], summary["gate"]["vz_mps"],
                     summary["propellant_terminal_kg"], summary["propellant_fair_ratio"]))
        est = summary["estimate"]
        if est["max_error_last_1000m_m"] is not None:
            print("  estimate   max error last 1000 m %.1f m, below 100 m %.1f m, divergence %.1f s"
                  % (est["max_error_last_1000m_m"], est["max_error_below_100m_m"] or 0.0,
                     est["longest_divergence_s"]))
        for reason in summary["fail_reasons"]:
            print("  fail: %s" % reason)
    return 0 if summary["passed"] else 1
