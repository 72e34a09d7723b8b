"""`lander optimal FILE [--json] [--gate ALT_M,VZ_MPS]`: the fuel-optimal reference."""
from __future__ import annotations

import json
import sys


def add_arguments(parser):
    parser.add_argument("file", metavar="FILE", help="scenario file (TOML)")
    parser.add_argument("--json", action="store_true",
                        help="print {name, propellant_kg, time_of_flight_s} as JSON")
    parser.add_argument("--gate", metavar="ALT_M,VZ_MPS", type=_parse_gate, default=None,
                        help="end at a low gate above the site (altitude, vertical speed "
                             "negative down, zero horizontal speed) instead of the surface")
    parser.add_argument("--glide-slope", metavar="DEG", type=float, default=None,
                        help="optional glide-slope cone (degrees above the horizontal)")
    parser.add_argument("--plot", metavar="OUT.png", default=None,
                        help="also plot the optimal trajectory")
    parser.add_argument("--always-on", action="store_true",
                        help="engine lit throughout at >= min throttle (Acikmese & Ploen's "
                             "model); default: the simulator's engine, which may be shut down")


def _parse_gate(text):
    import argparse
    try:
        alt, vz = (float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError("expected ALT_M,VZ_MPS (e.g. 30,-1.5), got %r" % text)
    if alt < 0.0:
        raise argparse.ArgumentTypeError("gate altitude must be >= 0 m, got %g" % alt)
    return (alt, vz)


def run(args) -> int:
    from host_tools.sim import optimal, scenario

    try:
        sc = scenario.load(args.file)
    except scenario.ScenarioError as exc:
        print("lander optimal: %s" % exc, file=sys.stderr)
        return 2
    try:
        problem = optimal.problem_from_scenario(sc, gate=args.gate,
                                                glide_slope_deg=args.glide_slope,
                                                engine_off=not args.always_on)
        traj = optimal.optimise(problem)
    except optimal.OptimalError as exc:
        print("lander optimal: %s" % exc, file=sys.stderr)
        return 1
    result = optimal.result_dict(problem, traj)
    if args.plot:
        from host_tools.sim import plots
        plots.plot_optimal(traj, args.plot, title="%s optimum" % result["name"])
    if args.json:
        print(json.dumps(result))
        return 0
    m0 = sc["vehicle"]["dry_mass_kg"] + sc["vehicle"]["propellant_kg"]
    where = "the surface" if args.gate is None else (
        "the gate %.0f m above the site at %.1f m/s" % args.gate)
    print("%s: minimum propellant %.2f kg of %.2f kg loaded (%.1f%% of the wet mass %.0f kg), "
          "time of flight %.1f s to %s"
          % (result["name"], result["propellant_kg"], sc["vehicle"]["propellant_kg"],
             100.0 * result["propellant_kg"] / m0, m0, result["time_of_flight_s"], where))
    return 0
