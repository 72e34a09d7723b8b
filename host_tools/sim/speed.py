"""Simulator speed benchmark: simulated seconds per wall second, closed loop.

    python -m host_tools.sim.speed [SCENARIO] [--sim-seconds S] [--profile] [--json]

Flies the scenario for S simulated seconds (or to touchdown) once with the
firmware in-process under CPython (controller="firmware") and once with the
host reference controller, and prints the speed of each. The target is
>= 100x real time per core at 50 Hz. A figure, not a test: nothing here asserts
on wall-clock time. `measure()` is the hook for `lander perf`.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

CONTROLLERS = ("firmware", "reference")


def _default_scenario():
    from host_tools import SCENARIOS_DIR
    return os.path.join(SCENARIOS_DIR, "nominal.toml")


def _simulated_s(result, fallback):
    summary = getattr(result, "summary", {}) or {}
    if isinstance(summary.get("time_s"), (int, float)):
        return float(summary["time_s"])
    trace = getattr(result, "trace", None) or {}
    t = trace.get("t_s")
    if t is not None and len(t):
        return float(t[-1])
    return float(fallback)


def measure_one(sc: dict, sim_seconds: float, controller: str, seed=None, record=False) -> dict:
    """Fly once; returns {controller, sim_s, wall_s, cpu_s, realtime_x,
    realtime_x_cpu, rate_hz, outcome}. realtime_x is against the wall clock
    (what a user waits); realtime_x_cpu against this process's CPU time, the
    figure that does not drop when other jobs share the cores.

    record=False is how a Monte Carlo campaign flies (no trace kept).
    """
    from host_tools.sim import runner

    t0 = time.perf_counter()
    c0 = time.process_time()
    result = runner.fly(sc, seed=seed, controller=controller, record=record, max_time_s=sim_seconds)
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    sim = _simulated_s(result, sim_seconds)
    return {
        "controller": controller,
        "sim_s": round(sim, 3),
        "wall_s": round(wall, 4),
        "cpu_s": round(cpu, 4),
        "realtime_x": round(sim / wall, 1) if wall > 0 else None,
        "realtime_x_cpu": round(sim / cpu, 1) if cpu > 0 else None,
        "rate_hz": sc.get("rate_hz"),
        "outcome": result.summary.get("outcome"),
    }


def measure(scenario_path=None, sim_seconds=60.0, controllers=CONTROLLERS, seed=None) -> dict:
    """Simulated seconds per wall second for each controller (one core).

    Returns {"scenario", "sim_seconds", "<controller>": {sim_s, wall_s,
    realtime_x, rate_hz, outcome}, ...}.
    """
    from host_tools.sim import scenario

    path = scenario_path or _default_scenario()
    sc = scenario.load(path)
    out = {"scenario": sc["name"], "sim_seconds": float(sim_seconds)}
    for controller in controllers:
        out[controller] = measure_one(sc, sim_seconds, controller, seed=seed)
    return out


# (path fragment, component) in match order: where the closed loop spends its time
COMPONENTS = (
    ("/firmware/lander/drivers/", "firmware drivers"),
    ("/firmware/lander/telemetry/", "firmware telemetry"),
    ("/firmware/", "firmware (nav, guidance, control, app)"),
    ("/boards/", "board module"),
    ("/host_tools/emu/", "register-level emulators and buses"),
    ("/host_tools/sim/physics.py", "physics (RK4)"),
    ("/host_tools/sim/terrain.py", "terrain (height, ray cast)"),
    ("/host_tools/sim/sensors.py", "sensor values"),
    ("/host_tools/sim/link.py", "link channel"),
    ("/host_tools/sim/reference.py", "reference controller"),
    ("/host_tools/sim/runner.py", "runner loop"),
)


def breakdown(stats) -> list:
    """[(component, self seconds, share)] from a pstats.Stats, largest first."""
    total = 0.0
    per = {}
    for (filename, _line, _name), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():
        total += tottime
        name = "python, numpy, builtins"
        path = filename.replace("\\", "/")
        for frag, comp in COMPONENTS:
            if frag in path:
                name = comp
                break
        per[name] = per.get(name, 0.0) + tottime
    rows = sorted(per.items(), key=lambda kv: -kv[1])
    return [(name, sec, sec / total if total else 0.0) for name, sec in rows]


def profile(scenario_path=None, sim_seconds=30.0, controller="firmware", top=30, sort="tottime"):
    """cProfile one closed-loop flight; returns text: the time per component of
    the loop (self time, summed by source area) and the top functions."""
    import cProfile
    import io
    import pstats

    from host_tools.sim import runner, scenario

    sc = scenario.load(scenario_path or _default_scenario())
    prof = cProfile.Profile()
    prof.enable()
    runner.fly(sc, controller=controller, record=False, max_time_s=sim_seconds)
    prof.disable()
    buf = io.StringIO()
    stats = pstats.Stats(prof, stream=buf)
    buf.write("where the time goes (self time by component, under cProfile):\n")
    for name, sec, share in breakdown(stats):
        buf.write("  %-42s %7.3f s  %5.1f%%\n" % (name, sec, 100.0 * share))
    buf.write("\n")
    stats.sort_stats(sort).print_stats(top)
    return buf.getvalue()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m host_tools.sim.speed", description=(__doc__ or "").split("\n")[0])
    parser.add_argument("scenario", nargs="?", default=None, help="scenario file (default nominal)")
    parser.add_argument("--sim-seconds", type=float, default=60.0)
    parser.add_argument("--controller", choices=CONTROLLERS, action="append", default=None)
    parser.add_argument("--profile", action="store_true", help="cProfile the closed loop")
    parser.add_argument("--sort", default="tottime", help="profile sort key (tottime, cumulative)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    controllers = tuple(args.controller or CONTROLLERS)
    if args.profile:
        for c in controllers:
            print("=== cProfile, controller=%s, %.0f simulated s ===" % (c, args.sim_seconds))
            print(profile(args.scenario, args.sim_seconds, c, sort=args.sort))
        return 0
    res = measure(args.scenario, args.sim_seconds, controllers)
    if args.json:
        print(json.dumps(res))
        return 0
    print("%s, up to %.0f simulated s, one core:" % (res["scenario"], res["sim_seconds"]))
    for c in controllers:
        r = res[c]
        print("  %-9s %7.1f s simulated in %7.2f s wall = %6.1fx real time at %s Hz (%s)"
              % (c, r["sim_s"], r["wall_s"], r["realtime_x"] or 0.0, r["rate_hz"], r["outcome"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
