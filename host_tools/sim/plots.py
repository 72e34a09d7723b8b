"""Plot one simulated flight: truth vs estimate vs raw sensor, over time.

`plot_run(result, path)` takes a runner FlightResult (or anything with
`.trace`, a dict of equal-length numpy arrays at the control rate, and
`.summary`, the result JSON dict) and writes a PNG with matplotlib's Agg
backend. Panels: altitude (truth, estimate, raw altimeter), altitude error,
velocities (truth and estimate), throttle and thrust, pitch, descent phase,
propellant, estimator fault flags (one row per bit).
"""
from __future__ import annotations


import numpy as np


def _get(trace, key):
    v = trace.get(key)
    if v is None:
        return None
    v = np.asarray(v, dtype=float)
    return v if v.size else None


def _title(summary):
    if not summary:
        return "flight"
    td = summary.get("touchdown") or {}
    parts = ["%s: %s" % (summary.get("name", "?"), summary.get("outcome", "?"))]
    if td.get("vz_mps") is not None:
        parts.append("touchdown vz %.2f vx %.2f m/s, tilt %.1f deg, miss %.0f m" % (
            td.get("vz_mps") or 0.0, td.get("vx_mps") or 0.0, td.get("tilt_deg") or 0.0,
            td.get("miss_m") or 0.0))
    if summary.get("propellant_used_kg") is not None:
        parts.append("propellant %.1f kg" % summary["propellant_used_kg"])
    if summary.get("passed") is not None:
        parts.append("PASSED" if summary["passed"] else "FAILED")
    return ", ".join(parts)


MARK_STYLE = {   # marker kind -> (colour, line style)
    "fault": ("tab:red", "--"),
    "fault_end": ("tab:red", ":"),
    "command": ("tab:purple", "-."),
    "reboot": ("tab:orange", "--"),
    "touchdown": ("k", "-"),
    "phase": ("tab:cyan", ":"),
}


def robust_limits(*series, lo_pct=0.5, hi_pct=99.5, keep=None, pad=0.08):
    """(lo, hi) axis limits that a few wild samples cannot flatten: the 0.5 and
    99.5 percentiles of the finite values of `series`, widened to include every
    value of `keep` (the truth, which has no outliers), plus a margin."""
    vals = [np.asarray(v, float).ravel() for v in series if v is not None]
    vals = np.concatenate(vals) if vals else np.zeros(0)
    vals = vals[np.isfinite(vals)]
    if vals.size == 0:
        return (-1.0, 1.0)
    lo, hi = np.percentile(vals, lo_pct), np.percentile(vals, hi_pct)
    if keep is not None:
        k = np.asarray(keep, float)
        k = k[np.isfinite(k)]
        if k.size:
            lo, hi = min(lo, k.min()), max(hi, k.max())
    span = max(hi - lo, 1e-3)
    return (float(lo - pad * span), float(hi + pad * span))


def markers_of(result, t=None, phase=None):
    """[(t_s, kind, label)]: the flight's faults, commands, reboots, touchdown
    (FlightResult.markers) and the first entry into each phase of the recorded
    phase trace (a controller toggling between two phases marks each once)."""
    out = list(getattr(result, "markers", None) or [])
    if t is not None and phase is not None and len(phase) > 1:
        names = _firmware_names("guidance", ("PH_", "PHASE_"))
        ph = np.asarray(phase)
        seen = {int(ph[0])}
        for i in np.flatnonzero(ph[1:] != ph[:-1]) + 1:
            if int(ph[i]) not in seen:
                seen.add(int(ph[i]))
                out.append((float(t[i]), "phase", names.get(int(ph[i]), str(int(ph[i])))))
    return sorted(out, key=lambda m: m[0])


def _mark_times(ax, marks, labels=False):
    seen = set()
    for t, kind, label in marks:
        colour, ls = MARK_STYLE.get(kind, ("0.5", ":"))
        name = "%s" % kind if kind not in seen else None
        seen.add(kind)
        ax.axvline(t, color=colour, ls=ls, lw=0.9 if kind == "touchdown" else 0.7, alpha=0.8,
                   label=name if labels else None, zorder=1)


def plot_run(result, path: str) -> str:
    """Write the flight plot of `result` to `path` (PNG); returns the path."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = run_figure(result)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def run_figure(result):
    """The flight figure (matplotlib Figure): a trajectory panel (height against
    downrange over the terrain profile, the site, the touchdown point, fault and
    phase-change markers), then time panels with the same markers: altitude
    (truth, estimate, the raw altimeter as thin points), altitude error,
    velocities (axes a single outlier cannot flatten), thrust in newtons (and a
    fraction of the rated thrust), pitch, descent phase, propellant, estimator
    fault flags."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    trace = getattr(result, "trace", None)
    if trace is None and isinstance(result, dict):
        trace = result.get("trace")
    if not trace or _get(trace, "t_s") is None:
        raise ValueError("plot_run needs a recorded trace (fly with record=True)")
    summary = getattr(result, "summary", None) or (result.get("summary") if isinstance(result, dict) else None)
    sc = getattr(result, "scenario", None) or {}
    t = _get(trace, "t_s")
    phase = trace.get("phase")
    marks = markers_of(result, t, phase)

    fig = plt.figure(figsize=(12, 24))
    gs = fig.add_gridspec(9, 1, height_ratios=[3.2, 3, 1.5, 2, 1.6, 1.5, 1.2, 1.5, 1.2])
    ax_traj = fig.add_subplot(gs[0])
    axes = [fig.add_subplot(gs[i]) for i in range(1, 9)]
    for ax in axes[1:]:
        ax.sharex(axes[0])
    ax_alt, ax_err, ax_vel, ax_thr, ax_pitch, ax_phase, ax_prop, ax_flags = axes

    _trajectory_panel(ax_traj, trace, sc, summary, marks)

    alt, est_alt, raw_alt = _get(trace, "alt_m"), _get(trace, "est_alt_m"), _get(trace, "raw_alt_m")
    if raw_alt is not None:
        ax_alt.plot(t, raw_alt, ".", color="tab:orange", ms=1.2, alpha=0.6, mew=0,
                    label="raw altimeter (slant range)", zorder=2)
    if alt is not None:
        ax_alt.plot(t, alt, color="k", lw=1.6, alpha=0.7, label="truth (above terrain)", zorder=3)
    if est_alt is not None:
        ax_alt.plot(t, est_alt, color="tab:blue", lw=1.0, ls="--", label="estimate", zorder=4)
    if alt is not None:
        ax_alt.set_ylim(*robust_limits(est_alt, raw_alt, keep=alt))
    ax_alt.set_ylabel("altitude (m)")

    if alt is not None and est_alt is not None:
        err = est_alt - alt
        ax_err.plot(t, err, color="tab:blue", lw=0.8, label="estimate - truth")
        bound = np.maximum(50.0, 0.05 * np.abs(alt))
        ax_err.fill_between(t, -bound, bound, color="tab:green", alpha=0.12,
                            label="divergence bound max(50 m, 5%)")
        ax_err.set_ylim(*robust_limits(err, keep=np.concatenate([[0.0], bound[:1], -bound[:1]])))
        ax_err.legend(loc="upper right", fontsize=8)
    ax_err.set_ylabel("alt error (m)")

    truth_v, est_v = [], []
    for key, est_key, colour, label in (("vz_mps", "est_vz_mps", "tab:red", "vz"),
                                        ("vx_mps", "est_vx_mps", "tab:purple", "vx")):
        v, e = _get(trace, key), _get(trace, est_key)
        if v is not None:
            ax_vel.plot(t, v, color=colour, lw=2.0, alpha=0.5, label=label + " truth")
            truth_v.append(v)
        if e is not None:
            ax_vel.plot(t, e, color=colour, lw=1.0, ls="--", label=label + " estimate")
            est_v.append(e)
    if truth_v:
        ax_vel.set_ylim(*robust_limits(*est_v, keep=np.concatenate(truth_v)))
    ax_vel.axhline(0.0, color="0.7", lw=0.5)
    ax_vel.set_ylabel("velocity (m/s)")
    ax_vel.legend(loc="best", fontsize=8, ncol=2)

    tmax = float((sc.get("vehicle") or {}).get("max_thrust_n") or 0.0)
    throttle, thrust = _get(trace, "throttle"), _get(trace, "thrust_n")
    if throttle is not None and tmax > 0:
        ax_thr.plot(t, throttle * tmax, color="tab:red", lw=0.8, drawstyle="steps-post",
                    label="commanded (throttle x rated)")
    if thrust is not None:
        ax_thr.plot(t, thrust, color="k", lw=0.9, alpha=0.8, label="actual thrust")
    ax_thr.set_ylabel("thrust (N)")
    if tmax > 0:
        ax_thr.set_ylim(-0.05 * tmax, 1.15 * tmax)
        sec = ax_thr.secondary_yaxis("right", functions=(lambda n: n / tmax, lambda f: f * tmax))
        sec.set_ylabel("of rated thrust")
    ax_thr.legend(loc="upper right", fontsize=8)

    pitch = _get(trace, "pitch_deg")
    if pitch is not None:
        ax_pitch.plot(t, pitch, color="tab:green", lw=1.0, label="pitch")
    pcmd = _get(trace, "pitch_cmd_deg")
    if pcmd is not None:
        ax_pitch.plot(t, pcmd, color="tab:green", lw=0.7, ls=":", label="command")
    ax_pitch.set_ylabel("pitch (deg)")
    ax_pitch.legend(loc="upper right", fontsize=8)

    if phase is not None and len(phase):
        _plot_phase(ax_phase, t, phase, landed_at=_touchdown_t(marks, summary))
    ax_phase.set_ylabel("phase")

    prop, mass = _get(trace, "propellant_kg"), _get(trace, "mass_kg")
    if prop is not None:
        ax_prop.plot(t, prop, color="tab:brown", lw=1.2, label="propellant left")
    if mass is not None:
        ax2 = ax_prop.twinx()
        ax2.plot(t, mass, color="0.5", lw=0.8, ls=":")
        ax2.set_ylabel("mass (kg)", color="0.5")
    ax_prop.set_ylabel("propellant left (kg)")

    _plot_flags(ax_flags, t, trace.get("fault_flags"))
    ax_flags.set_xlabel("time (s)")

    for i, ax in enumerate(axes):
        _mark_times(ax, marks, labels=(i == 0))
        ax.grid(True, alpha=0.3)
    ax_alt.legend(loc="upper right", fontsize=7, ncol=2)
    ax_traj.grid(True, alpha=0.3)
    fig.suptitle(_title(summary), fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.985))
    return fig


def _touchdown_t(marks, summary):
    for t, kind, _ in marks:
        if kind == "touchdown":
            return t
    td = (summary or {}).get("touchdown") or {}
    return td.get("t_s")


def _trajectory_panel(ax, trace, sc, summary, marks):
    """Height above the datum against downrange, over the terrain profile."""
    x, z, t = _get(trace, "x_m"), _get(trace, "z_m"), _get(trace, "t_s")
    if x is None or z is None:
        ax.text(0.5, 0.5, "no trajectory recorded", ha="center", va="center", transform=ax.transAxes)
        return
    xt = ((sc.get("target") or {}).get("x_m"))
    xs = [x.min(), x.max()] + ([xt] if xt is not None else [])
    lo, hi = min(xs), max(xs)
    span = max(hi - lo, 50.0)
    grid = np.linspace(lo - 0.05 * span, hi + 0.05 * span, 2000)
    ground = None
    if sc.get("terrain") is not None:
        from host_tools.sim import terrain as terrain_mod
        terr = terrain_mod.from_scenario(sc)
        ground = terr.heights(grid)
        ax.fill_between(grid, np.minimum(ground.min(), z.min()) - 0.05 * span, ground,
                        color="0.85", zorder=0)
        ax.plot(grid, ground, color="0.35", lw=1.0, label="terrain", zorder=1)
    else:
        tz = _get(trace, "terrain_m")
        if tz is not None:
            ax.plot(x, tz, color="0.35", lw=1.0, label="terrain under the vehicle", zorder=1)
    ax.plot(x, z, color="k", lw=1.4, label="trajectory", zorder=3)
    if xt is not None:
        zt = float(terr.height(xt)) if ground is not None else 0.0
        ax.plot([xt], [zt], marker="v", ms=11, color="tab:green", ls="none", label="site", zorder=5)
    td = (summary or {}).get("touchdown") or {}
    if td.get("t_s") is not None:
        ax.plot([x[-1]], [z[-1]], marker="X", ms=10, ls="none",
                color="tab:blue" if (summary or {}).get("passed") else "tab:red",
                label="touchdown (%s)" % (summary or {}).get("outcome", "?"), zorder=6)
    seen = set()
    for tm, kind, label in marks:
        if kind not in ("fault", "phase", "reboot", "command"):
            continue
        xm, zm = float(np.interp(tm, t, x)), float(np.interp(tm, t, z))
        colour = MARK_STYLE[kind][0]
        sym = {"fault": "*", "phase": "o", "reboot": "s", "command": "D"}[kind]
        ax.plot([xm], [zm], marker=sym, ms=8 if kind == "fault" else 5, color=colour, ls="none",
                label=kind if kind not in seen else None, zorder=4)
        seen.add(kind)
        ax.annotate(label, (xm, zm), textcoords="offset points", xytext=(4, 4), fontsize=7,
                    color=colour)
    ax.set_xlabel("downrange x (m)")
    ax.set_ylabel("height above datum (m)")
    ax.set_title("trajectory over the terrain", fontsize=9)
    ax.legend(loc="upper right", fontsize=8, ncol=2)


def _firmware_names(module, prefixes):
    """{value: name} of the integer constants named PREFIX_* in a firmware module."""
    try:
        mod = __import__("lander." + module, fromlist=["_"])
    except Exception:  # noqa: BLE001 - names are a nicety; numbers still plot
        return {}
    out = {}
    for name in dir(mod):
        for prefix in prefixes:
            value = getattr(mod, name)
            if name.startswith(prefix) and isinstance(value, int) and not isinstance(value, bool):
                out.setdefault(value, name[len(prefix):].lower())
    return out


def _plot_phase(ax, t, phase, landed_at=None):
    """Phase codes as steps, named from the firmware's PH_* constants; every
    named phase (up to "landed") is on the axis. landed_at: the touchdown
    time, from which the simulator holds the vehicle on the ground."""
    phase = list(phase)
    names = _firmware_names("guidance", ("PH_", "PHASE_"))
    if phase and isinstance(phase[0], (str, bytes)):
        order = []
        for p in phase:
            if p not in order:
                order.append(p)
        codes = np.array([order.index(p) for p in phase], dtype=float)
        ax.set_yticks(range(len(order)))
        ax.set_yticklabels([n.decode() if isinstance(n, bytes) else str(n) for n in order], fontsize=7)
        ax.plot(t, codes, color="tab:cyan", lw=1.2, drawstyle="steps-post")
        return
    codes = np.asarray(phase, dtype=float)
    values = sorted(set(int(p) for p in phase) | set(names))
    if values:
        ax.set_yticks(values)
        ax.set_yticklabels([names.get(v, str(v)) for v in values], fontsize=7)
        ax.set_ylim(values[0] - 0.5, values[-1] + 0.5)
    ax.plot(t, codes, color="tab:cyan", lw=1.2, drawstyle="steps-post", label="firmware phase")
    landed = [v for v, n in names.items() if n == "landed"]
    if landed_at is not None and landed:
        ax.plot([landed_at, max(float(t[-1]), landed_at)], [landed[0], landed[0]],
                color="k", lw=2.0, marker="D", ms=6, label="on the ground (simulator)")
        ax.legend(loc="upper left", fontsize=7)


def _plot_flags(ax, t, flags):
    if flags is None or not len(flags):
        ax.text(0.5, 0.5, "no fault flags recorded", ha="center", va="center",
                transform=ax.transAxes, fontsize=8)
        ax.set_ylabel("fault flags")
        return
    flags = np.asarray(flags).astype(np.int64)
    used = [b for b in range(32) if np.any(flags & (1 << b))]
    if not used:
        ax.plot(t, np.zeros_like(t), color="0.7", lw=0.5)
        ax.text(0.5, 0.5, "no estimator fault flag raised", ha="center", va="center",
                transform=ax.transAxes, fontsize=8)
        ax.set_yticks([])
    else:
        for row, bit in enumerate(used):
            on = (flags & (1 << bit)) != 0
            ax.fill_between(t, row - 0.4, row + 0.4, where=on, step="post", color="tab:red",
                            alpha=0.7)
        ax.set_yticks(range(len(used)))
        names = {}
        for value, name in _firmware_names("estimator", ("FLAG_", "FAULT_", "FF_")).items():
            if value > 0 and value & (value - 1) == 0:      # single-bit masks only
                names[value.bit_length() - 1] = name
        ax.set_yticklabels([names.get(b, "bit %d" % b) for b in used], fontsize=7)
        ax.set_ylim(-0.6, len(used) - 0.4)
    ax.set_ylabel("fault flags")


def plot_optimal(traj, path: str, title: str = "fuel-optimal reference", scenario=None) -> str:
    """Plot an optimal.Trajectory: path in (x, z) over the scenario's terrain
    with the site, thrust, tilt, speeds, mass."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = traj.t_s
    tc = t[:-1]                       # per-interval values start at each node
    fig, axes = plt.subplots(2, 2, figsize=(13, 8))
    ax = axes[0, 0]
    _optimal_terrain(ax, traj, scenario)
    ax.plot(traj.x_m, traj.z_m, color="k", label="optimal trajectory")
    lit = traj.thrust_n > 0.01 * max(float(np.max(traj.thrust_n)), 1.0)
    ax.scatter(traj.x_m[:-1][lit], traj.z_m[:-1][lit], s=8, color="tab:red", label="engine lit")
    ax.plot([0.0], [0.0], marker="v", ms=11, color="tab:green", ls="none", label="site", zorder=5)
    ax.set_xlabel("x from the site (m)")
    ax.set_ylabel("height above the site (m)")
    ax.legend(fontsize=8)
    ax = axes[0, 1]
    ax.step(tc, traj.thrust_n, where="post", color="tab:red")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("thrust (N)")
    ax2 = ax.twinx()
    ax2.step(tc, np.where(lit, traj.pitch_deg, np.nan), where="post", color="tab:green")
    ax2.set_ylabel("thrust tilt (deg)", color="tab:green")
    ax = axes[1, 0]
    ax.plot(t, traj.vx_mps, label="vx")
    ax.plot(t, traj.vz_mps, label="vz")
    ax.set_ylabel("velocity (m/s)")
    ax.set_xlabel("time (s)")
    ax.legend(fontsize=8)
    ax = axes[1, 1]
    ax.plot(t, traj.mass_kg, color="tab:brown")
    ax.set_ylabel("mass (kg)")
    ax.set_xlabel("time (s)")
    for a in axes.flat:
        a.grid(True, alpha=0.3)
    fig.suptitle("%s: %.2f kg in %.1f s" % (title, traj.propellant_kg, traj.time_of_flight_s))
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def _optimal_terrain(ax, traj, scenario):
    """The terrain profile in the optimum's frame (x from the site, height
    above the site's ground), when the scenario is known."""
    if not scenario or not scenario.get("terrain"):
        return
    from host_tools.sim import terrain as terrain_mod

    xt = scenario["target"]["x_m"]
    terr = terrain_mod.from_scenario(scenario)
    lo, hi = float(np.min(traj.x_m)), float(np.max(traj.x_m))
    span = max(hi - lo, 50.0)
    grid = np.linspace(lo - 0.1 * span, hi + 0.1 * span, 1000)
    ground = terr.heights(grid + xt) - terr.height(xt)
    floor = min(float(ground.min()), float(np.min(traj.z_m))) - 0.05 * max(float(np.max(traj.z_m)), 1.0)
    ax.fill_between(grid, floor, ground, color="0.85", zorder=0)
    ax.plot(grid, ground, color="0.35", lw=1.0, label="terrain", zorder=1)
