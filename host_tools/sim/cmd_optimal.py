"""`lander optimal FILE [--json] [--gate ALT_M,VZ_MPS]`: the fuel-optimal reference."""
from __future__ import annotations

import json
import os
import sys

from host_tools import cliargs


def add_arguments(parser):
    parser.add_argument("file", metavar="FILE", help="scenario file (TOML)")
    parser.add_argument("--json", action="store_true",
                        help="print {name, propellant_kg, time_of_flight_s} as JSON")
    parser.add_argument("--gate", metavar="ALT_M,VZ_MPS", type=cliargs.gate, default=None,
                        help="end at a low gate above the site (altitude 0 .. 100000 m, vertical "
                             "speed -100 .. 0 m/s, negative down; zero horizontal speed) instead "
                             "of the surface")
    parser.add_argument("--glide-slope", metavar="DEG", type=cliargs.glide_slope, default=None,
                        help="optional glide-slope cone (degrees above the horizontal, 0 < DEG < 90)")
    parser.add_argument("--plot", metavar="OUT.png", default=None,
                        help="also plot the optimal trajectory")
    parser.add_argument("--always-on", action="store_true",
                        help="engine lit throughout at >= min throttle (Acikmese & Ploen's "
                             "model); default: the simulator's engine, which may be shut down")


def run(args) -> int:
    from host_tools.sim import optimal, scenario

    sc = scenario.load(args.file)
    cliargs.check_out_file(args.plot, "--plot")
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
        plots.plot_optimal(traj, args.plot, title="%s optimum" % result["name"], scenario=sc)
        print("wrote plot %s" % os.path.abspath(args.plot), file=sys.stderr if args.json else sys.stdout)
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
