"""Monte Carlo campaigns: one scenario flown many times with dispersions.

Dispersions come from the scenario's [dispersions] table: each key is a dotted
path to a numeric value ("initial.vx_mps", "faults.0.t_s", ...) and each value
either a 1-sigma (the nominal value plus a normal draw) or [min, max] (a
uniform draw replacing the nominal value). A drawn value is clamped into the
key's valid range from the scenario schema (a noise cannot go negative, a
throttle cannot exceed 1), then the dispersed scenario is validated again.

Determinism: run i draws its dispersions and its simulator seed from
numpy SeedSequence(seed, spawn_key=(i, ...)), so run i is the same flight
whether it runs alone, on a local process pool or on a Dask cluster, and
whatever the number of workers or the completion order.
"""
from __future__ import annotations

import json
import math
import os
import time
from typing import Any

import numpy as np

DEFAULT_CONTROLLER = "firmware"
Z95 = 1.959963984540054            # two-sided 95% normal quantile
PERCENTILES = (50, 95, 99)

# (column, label, absolute value?) summarised in the table and the histograms
METRICS = (
    ("touchdown.vz_mps", "touchdown |vz| m/s", True),
    ("touchdown.vx_mps", "touchdown |vx| m/s", True),
    ("touchdown.tilt_deg", "touchdown tilt deg", True),
    ("touchdown.miss_m", "miss distance m", True),
    ("propellant_used_kg", "propellant used kg", False),
    ("propellant_ratio", "propellant / optimum", False),
    ("estimate.max_error_last_1000m_m", "estimate error (last 1000 m) m", False),
    ("estimate.max_error_below_100m_m", "estimate error (below 100 m) m", False),
    ("estimate.longest_divergence_s", "longest divergence s", False),
)


# ---------------------------------------------------------------- seeds and dispersions

def run_seeds(seed: int, index: int):
    """(dispersion Generator, simulator seed) for run `index` of a campaign seeded `seed`."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(index, 0))))
    sim_seed = int(np.random.SeedSequence(seed, spawn_key=(index, 1)).generate_state(1)[0] & 0x7FFFFFFF)
    return rng, sim_seed


def _field(path: str):
    """The scenario schema field (scenario.F) behind a dotted path, or None."""
    from host_tools.sim import scenario as scn

    parts = path.split(".")
    try:
        if len(parts) == 1:
            return scn.TOP.get(parts[0])
        sec = parts[0]
        if sec in scn.SECTIONS and len(parts) == 2:
            return scn.SECTIONS[sec].get(parts[1])
        if sec == "sensors" and len(parts) == 3:
            return scn.SENSOR_SCHEMAS[parts[1]].get(parts[2])
        if sec == "faults" and len(parts) == 3:
            return scn.FAULT.get(parts[2])
        if sec == "terrain" and len(parts) == 2:
            return scn.TERRAIN.get(parts[1])
    except (AttributeError, KeyError):
        return None
    return None


def _clamp(value: float, field, kind_hint=None):
    if field is None:
        return value
    lo, hi = getattr(field, "lo", None), getattr(field, "hi", None)
    if lo is not None:
        floor = math.nextafter(lo, math.inf) if getattr(field, "lo_open", False) else lo
        value = max(value, floor)
    if hi is not None:
        ceil = math.nextafter(hi, -math.inf) if getattr(field, "hi_open", False) else hi
        value = min(value, ceil)
    if getattr(field, "kind", None) == "int":
        value = int(round(value))
    return value


def _feature_field(sc: dict, path: str):
    """Schema field of a terrain feature key ("terrain.features.N.key")."""
    from host_tools.sim import scenario as scn

    parts = path.split(".")
    if len(parts) != 4 or parts[:2] != ["terrain", "features"]:
        return None
    try:
        kind = sc["terrain"]["features"][int(parts[2])]["kind"]
        return scn.FEATURES[kind].get(parts[3])
    except (AttributeError, KeyError, IndexError, ValueError):
        return None


def draw(sc: dict, rng: np.random.Generator) -> dict:
    """Draw one set of dispersed values {path: value} (keys in sorted order)."""
    from host_tools.sim import scenario as scn

    values = {}
    for path in sorted(sc.get("dispersions", {})):
        spec = sc["dispersions"][path]
        nominal: Any = scn.get_path(sc, path)
        field = _field(path) or _feature_field(sc, path)
        if isinstance(spec, (list, tuple)):
            value = float(rng.uniform(spec[0], spec[1]))
            values[path] = _clamp(value, field)
            continue
        offset = float(rng.normal(0.0, spec)) if spec > 0 else 0.0
        if isinstance(nominal, (list, tuple)):       # a [t0, t1] range value: shift it
            values[path] = [_clamp(float(v) + offset, field) for v in nominal]
        else:
            values[path] = _clamp(float(nominal) + offset, field)
    return values


def disperse(sc: dict, rng: np.random.Generator, index=None):
    """A dispersed, validated copy of the scenario and the values drawn."""
    from host_tools.sim import scenario as scn

    values = draw(sc, rng)
    source = "%s (run %s)" % (sc.get("_source", sc.get("name", "<dict>")),
                              "?" if index is None else index)
    out = scn.with_values(sc, values, source=source)
    return out, values


# ---------------------------------------------------------------- one run

def _flatten(d, prefix=""):
    out = {}
    for key, value in d.items():
        name = prefix + str(key)
        if isinstance(value, dict):
            out.update(_flatten(value, name + "."))
        else:
            out[name] = value
    return out


def run_one(task) -> dict:
    """Fly run `index` of a campaign; returns one flat row. Top-level so it pickles.

    task: (scenario dict, campaign seed, index, controller, max_time_s[, with_optimal])
    with_optimal: also solve the fuel-optimal reference for the dispersed vehicle and
    state (columns propellant_optimal_kg, propellant_ratio).
    """
    from host_tools.sim import runner

    sc, seed, index, controller, max_time_s = task[:5]
    with_optimal = bool(task[5]) if len(task) > 5 else False
    rng, sim_seed = run_seeds(seed, index)
    row = {"run": index, "seed": sim_seed}
    wall = time.perf_counter()
    try:
        dispersed, values = disperse(sc, rng, index)
        for path, value in values.items():
            row["disp." + path] = (json.dumps(value) if isinstance(value, list) else value)
        result = runner.fly(dispersed, seed=sim_seed, controller=controller, record=False,
                            max_time_s=max_time_s)
        summary = dict(result.summary)
    except Exception as exc:  # noqa: BLE001 - one bad run must not sink the campaign
        row.update({"outcome": "error", "passed": False,
                    "error": "%s: %s" % (type(exc).__name__, exc)})
        for key, _, _ in METRICS:          # same columns as a flown run
            row.setdefault(key, None)
        row.setdefault("propellant_used_kg", None)
        row["wall_s"] = time.perf_counter() - wall
        return row
    events = summary.pop("events", {}) or {}
    summary.pop("name", None)
    flat = _flatten(summary)
    for key, value in flat.items():
        if isinstance(value, (list, tuple)):
            value = json.dumps(value)
        row[key] = value
    row["events"] = json.dumps(events, sort_keys=True)
    if with_optimal:
        from host_tools.sim import optimal
        try:
            opt = optimal.solve(dispersed)["propellant_kg"]
        except optimal.OptimalError:
            opt = None
        row["propellant_optimal_kg"] = opt
        used = row.get("propellant_used_kg")
        row["propellant_ratio"] = (used / opt) if (opt and used is not None) else None
    row["error"] = ""
    row["wall_s"] = time.perf_counter() - wall
    return row


# ---------------------------------------------------------------- the campaign

def campaign_tasks(sc: dict, runs: int, seed=None, controller=DEFAULT_CONTROLLER, max_time_s=None,
                   with_optimal=False):
    base = int(sc.get("seed", 0) if seed is None else seed)
    return [(sc, base, i, controller, max_time_s, with_optimal) for i in range(int(runs))]


def run_campaign(sc: dict, runs: int, seed=None, jobs=None, dask=None,
                 controller=DEFAULT_CONTROLLER, max_time_s=None, progress=None,
                 with_optimal=False) -> list:
    """Fly `runs` dispersed copies of `sc`; rows sorted by run index.

    jobs: local worker processes (default: CPU count; 1 = in this process).
    dask: None, a scheduler address ("tcp://host:8786"), a dask.distributed
          Client or a cluster object (e.g. LocalCluster) to run on instead.
    progress: a callable advance(row) called as each run completes, or None.
    with_optimal: also solve each dispersed run's fuel optimum (about 1 s per run).
    """
    tasks = campaign_tasks(sc, runs, seed, controller, max_time_s, with_optimal)
    rows = []

    def done(row):
        rows.append(row)
        if progress is not None:
            progress(row)

    if dask is not None:
        _run_dask(tasks, dask, done)
    else:
        jobs = (os.cpu_count() or 1) if jobs is None else max(1, int(jobs))
        if jobs == 1 or len(tasks) <= 1:
            for task in tasks:
                done(run_one(task))
        else:
            _run_pool(tasks, min(jobs, len(tasks)), done)
    rows.sort(key=lambda r: r["run"])
    return rows


def _run_pool(tasks, jobs, done):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # forkserver: the parent may hold threads (progress display, Dask); fork is unsafe then.
    ctx = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
        futures = [pool.submit(run_one, task) for task in tasks]
        for fut in as_completed(futures):
            done(fut.result())


def _run_dask(tasks, target, done):
    from dask.distributed import Client, as_completed

    own = False
    if isinstance(target, Client):
        client = target
    else:
        client = Client(target)   # an address string or a cluster object
        own = True
    try:
        futures = client.map(run_one, tasks, pure=False)
        for fut in as_completed(futures):
            done(fut.result())
    finally:
        if own:
            client.close()


# ---------------------------------------------------------------- statistics

def wilson_interval(successes: int, n: int, z: float = Z95):
    """Wilson score interval for a binomial proportion (95% by default)."""
    if n <= 0:
        return (0.0, 1.0)
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2.0 * n)) / denom
    half = z * math.sqrt(p * (1.0 - p) / n + z * z / (4.0 * n * n)) / denom
    lo = 0.0 if successes <= 0 else max(0.0, centre - half)
    hi = 1.0 if successes >= n else min(1.0, centre + half)
    return (lo, hi)


def _column(rows, key, absolute=False):
    vals = []
    for r in rows:
        v = r.get(key)
        if isinstance(v, bool) or v is None:
            v = math.nan
        try:
            v = float(v)
        except (TypeError, ValueError):
            v = math.nan
        vals.append(abs(v) if absolute else v)
    return np.array(vals, dtype=float)


def summarise(rows) -> dict:
    n = len(rows)
    passed = sum(1 for r in rows if r.get("passed") is True)
    landed = sum(1 for r in rows if r.get("outcome") == "landed")
    lo, hi = wilson_interval(passed, n)
    outcomes = {}
    for r in rows:
        outcomes[r.get("outcome", "?")] = outcomes.get(r.get("outcome", "?"), 0) + 1
    metrics = {}
    for key, label, absolute in METRICS:
        col = _column(rows, key, absolute)
        finite = col[np.isfinite(col)]
        entry = {"label": label, "n": int(finite.size)}
        for q in PERCENTILES:
            entry["p%d" % q] = float(np.percentile(finite, q)) if finite.size else None
        entry["max"] = float(finite.max()) if finite.size else None
        metrics[key] = entry
    return {
        "runs": n,
        "passed": passed,
        "success_rate": passed / n if n else 0.0,
        "success_ci95": [lo, hi],
        "landed": landed,
        "outcomes": dict(sorted(outcomes.items())),
        "errors": [r["error"] for r in rows if r.get("error")][:5],
        "metrics": metrics,
    }


def summary_table(summary: dict, title="Monte Carlo"):
    """A rich Table of the summary."""
    from rich.table import Table

    lo, hi = summary["success_ci95"]
    caption = "success (passed) %d/%d = %.1f%%, Wilson 95%% [%.1f%%, %.1f%%]; outcomes: %s" % (
        summary["passed"], summary["runs"], 100.0 * summary["success_rate"], 100.0 * lo,
        100.0 * hi, ", ".join("%s %d" % kv for kv in summary["outcomes"].items()))
    table = Table(title=title, caption=caption)
    table.add_column("metric")
    table.add_column("n", justify="right")
    for q in PERCENTILES:
        table.add_column("p%d" % q, justify="right")
    table.add_column("max", justify="right")

    def fmt(v):
        return "-" if v is None else "%.2f" % v

    for entry in summary["metrics"].values():
        table.add_row(entry["label"], str(entry["n"]),
                      *[fmt(entry["p%d" % q]) for q in PERCENTILES], fmt(entry["max"]))
    return table


# ---------------------------------------------------------------- output files

OUTPUT_FILES = ("results.parquet", "results.csv", "summary.json", "histograms.png", "touchdown.png")


def _make_dir(out_dir):
    """The output folder itself (never its missing parents: cliargs.check_out_dir
    has checked that they exist)."""
    if not os.path.isdir(out_dir):
        os.mkdir(out_dir)


def clear_outputs(out_dir: str) -> list:
    """Remove a campaign's files (OUTPUT_FILES) left in out_dir by an earlier
    campaign, so a rerun leaves only its own; other files are left alone."""
    gone = []
    for name in OUTPUT_FILES:
        path = os.path.join(out_dir, name)
        if os.path.isfile(path) or os.path.islink(path):
            os.remove(path)
            gone.append(path)
    return gone


# The result columns and their types, whatever a campaign holds: a column that
# is empty (all null) in one campaign has the same type as in another.
COLUMN_TYPES = {
    "run": "int64", "seed": "int64", "controller": "string", "outcome": "string", "passed": "bool",
    "touchdown.vz_mps": "float64", "touchdown.vx_mps": "float64", "touchdown.tilt_deg": "float64",
    "touchdown.miss_m": "float64", "touchdown.slope_deg": "float64", "touchdown.t_s": "float64",
    "propellant_used_kg": "float64", "propellant_left_kg": "float64",
    "propellant_optimal_kg": "float64", "propellant_ratio": "float64",
    "estimate.max_error_last_1000m_m": "float64", "estimate.max_error_below_100m_m": "float64",
    "estimate.longest_divergence_s": "float64", "max_alt_error_m": "float64",
    "telemetry.frames_sent": "int64", "telemetry.frames_received": "int64",
    "telemetry.critical_delivered_ratio": "float64", "telemetry.max_latency_s": "float64",
    "telemetry.bytes_sent": "int64", "telemetry.bytes_received": "int64",
    "events": "string", "time_s": "float64", "fail_reasons": "string", "error": "string",
    "wall_s": "float64",
}


def _column_type(name, vals):
    """Arrow type name of a column: the table above; a dispersed value
    ("disp.*") is float64 unless it is a [t0, t1] pair (JSON text); any other
    column by its values (all null: float64)."""
    if name in COLUMN_TYPES:
        return COLUMN_TYPES[name]
    kinds = {type(v) for v in vals if v is not None}
    if name.startswith("disp."):
        return "string" if str in kinds else "float64"
    if not kinds:
        return "float64"
    if kinds <= {bool}:
        return "bool"
    if kinds <= {int}:
        return "int64"
    if kinds <= {int, float}:
        return "float64"
    return "string"


def _arrow_column(vals, kind):
    import pyarrow as pa

    if kind == "bool":
        return pa.array([None if v is None else bool(v) for v in vals], type=pa.bool_())
    if kind == "int64":
        return pa.array([None if v is None else int(v) for v in vals], type=pa.int64())
    if kind == "float64":
        return pa.array([None if v is None else float(v) for v in vals], type=pa.float64())
    return pa.array([None if v is None else (v if isinstance(v, str) else json.dumps(v))
                     for v in vals], type=pa.string())


def save(rows, out_dir: str) -> dict:
    """Write results.parquet and results.csv; returns their paths. Columns:
    every COLUMN_TYPES column (in that order, typed as listed, null when a
    campaign has no value), then the dispersed values and any other column."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    _make_dir(out_dir)
    columns = list(COLUMN_TYPES)
    for r in rows:
        for k in r:
            if k not in columns:
                columns.append(k)
    data = {}
    for k in columns:
        vals = [r.get(k) for r in rows]
        data[k] = _arrow_column(vals, _column_type(k, vals))
    table = pa.table(data)
    paths = {"parquet": os.path.join(out_dir, "results.parquet"),
             "csv": os.path.join(out_dir, "results.csv")}
    pq.write_table(table, paths["parquet"])
    pacsv.write_csv(table, paths["csv"])
    return paths


# metric -> (axis label with unit, [pass] key of its limit)
HIST_AXES = {
    "touchdown.vz_mps": ("touchdown |vz| (m/s)", "max_vz_mps"),
    "touchdown.vx_mps": ("touchdown |vx| (m/s)", "max_vx_mps"),
    "touchdown.tilt_deg": ("touchdown tilt (deg)", "max_tilt_deg"),
    "touchdown.miss_m": ("miss distance (m)", "max_miss_m"),
    "propellant_used_kg": ("propellant used (kg)", "max_propellant_kg"),
    "propellant_ratio": ("propellant used / fuel optimum (-)", None),
    "estimate.max_error_last_1000m_m": ("estimate error, last 1000 m (m)", "max_alt_error_m"),
    "estimate.max_error_below_100m_m": ("estimate error, below 100 m (m)", None),
}


def fail_class(row) -> str:
    """Why a run did not pass, in one word: its outcome when that is not an
    accepted one, else the first pass criterion it missed ("miss",
    "estimate", "altitude", "propellant", "critical"), "error" for a run that
    did not fly; "passed" otherwise."""
    if row.get("error"):
        return "error"
    if row.get("passed") is True:
        return "passed"
    reasons = row.get("fail_reasons") or "[]"
    if isinstance(reasons, str):
        try:
            reasons = json.loads(reasons)
        except ValueError:
            reasons = [reasons]
    for r in reasons:
        if r.startswith("outcome"):
            return str(row.get("outcome", "?"))
    return reasons[0].split()[0] if reasons else str(row.get("outcome", "?"))


def plot_campaign(rows, out_dir: str, title="", limits=None) -> dict:
    """histograms.png (one panel per metric: axis with its unit, whole-number
    run counts, the [pass] limit drawn) and touchdown.png (touchdown velocity
    and miss against propellant, each run coloured passed / failed and why,
    the pass box and the miss limit drawn).

    limits: the scenario's [pass] table.
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    _make_dir(out_dir)
    limits = limits or {}
    paths = {"histograms": os.path.join(out_dir, "histograms.png"),
             "touchdown": os.path.join(out_dir, "touchdown.png")}
    fig, axes = plt.subplots(2, 4, figsize=(16, 7.5))
    for ax, (key, (label, limit_key)) in zip(axes.flat, HIST_AXES.items()):
        absolute = key.startswith("touchdown.") and key != "touchdown.miss_m"
        col = _column(rows, key, absolute)
        col = col[np.isfinite(col)]
        if col.size:
            ax.hist(col, bins=max(5, min(50, int(math.sqrt(col.size)) * 2)), color="tab:blue",
                    alpha=0.8)
        else:
            why = "run with --optimal" if key == "propellant_ratio" else "no run reached it"
            ax.text(0.5, 0.5, why, ha="center", va="center", transform=ax.transAxes)
        lim = limits.get(limit_key) if limit_key else None
        if lim is not None:
            ax.axvline(lim, color="tab:red", ls="--", lw=1.2, label="pass limit %g" % lim)
            ax.legend(fontsize=7, loc="upper right")
        if key == "propellant_ratio" and col.size:
            ax.axvline(1.0, color="tab:green", ls=":", lw=1.0)
        ax.set_xlabel(label, fontsize=9)
        ax.set_ylabel("runs")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    fig.suptitle("%s: %d runs" % (title or "Monte Carlo", len(rows)))
    fig.tight_layout()
    fig.savefig(paths["histograms"], dpi=90)
    plt.close(fig)

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 5.5))
    vx = _column(rows, "touchdown.vx_mps")
    vz = _column(rows, "touchdown.vz_mps")
    miss = _column(rows, "touchdown.miss_m")
    prop = _column(rows, "propellant_used_kg")
    classes = [fail_class(r) for r in rows]
    order = (["passed"] if "passed" in classes else []) + sorted(set(classes) - {"passed"})
    fail_colours = iter(plt.get_cmap("tab10").colors[1:])
    for cls in order:
        sel = np.array([c == cls for c in classes])
        style = dict(color="tab:green", marker="o") if cls == "passed" else \
            dict(color=next(fail_colours, "tab:red"), marker="x")
        name = "passed (%d)" % sel.sum() if cls == "passed" else "failed: %s (%d)" % (cls, sel.sum())
        ax1.scatter(vx[sel], vz[sel], s=18, label=name, **style)
        ax2.scatter(prop[sel], miss[sel], s=18, label=name, **style)
    if limits.get("max_vz_mps") and limits.get("max_vx_mps"):
        from matplotlib.patches import Rectangle
        vxl, vzl = limits["max_vx_mps"], limits["max_vz_mps"]
        ax1.add_patch(Rectangle((-vxl, -vzl), 2 * vxl, vzl, fill=False, ls="--", color="tab:green",
                                label="pass limits |vx| <= %g, |vz| <= %g m/s" % (vxl, vzl)))
    if limits.get("max_miss_m"):
        ax2.axhline(limits["max_miss_m"], ls="--", color="tab:green",
                    label="max miss %g m" % limits["max_miss_m"])
    if limits.get("max_propellant_kg"):
        ax2.axvline(limits["max_propellant_kg"], ls="--", color="tab:green",
                    label="max propellant %g kg" % limits["max_propellant_kg"])
    ax1.set_xlabel("touchdown vx (m/s)")
    ax1.set_ylabel("touchdown vz (m/s, negative down)")
    ax1.axhline(0.0, color="0.7", lw=0.5)
    ax1.axvline(0.0, color="0.7", lw=0.5)
    ax1.legend(fontsize=8)
    ax1.set_title("touchdown velocity")
    ax2.set_xlabel("propellant used (kg)")
    ax2.set_ylabel("miss distance (m)")
    ax2.set_title("miss against propellant")
    ax2.legend(fontsize=8)
    for ax in (ax1, ax2):
        ax.grid(True, alpha=0.3)
    fig.suptitle("%s: %d runs" % (title or "Monte Carlo", len(rows)))
    fig.tight_layout()
    fig.savefig(paths["touchdown"], dpi=90)
    plt.close(fig)
    return paths
