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


def plot_run(result, path: str) -> str:
    """Write the flight plot of `result` to `path` (PNG); returns the path."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    trace = getattr(result, "trace", None)
    if trace is None and isinstance(result, dict):
        trace = result.get("trace")
    if not trace or _get(trace, "t_s") is None:
        raise ValueError("plot_run needs a recorded trace (fly with record=True)")
    summary = getattr(result, "summary", None) or (result.get("summary") if isinstance(result, dict) else None)
    t = _get(trace, "t_s")

    fig, axes = plt.subplots(8, 1, figsize=(12, 20), sharex=True,
                             gridspec_kw={"height_ratios": [3, 1.5, 2, 1.5, 1.5, 1, 1.5, 1.2]})
    ax_alt, ax_err, ax_vel, ax_thr, ax_pitch, ax_phase, ax_prop, ax_flags = axes

    alt, est_alt, raw_alt = _get(trace, "alt_m"), _get(trace, "est_alt_m"), _get(trace, "raw_alt_m")
    if alt is not None:
        ax_alt.plot(t, alt, color="k", lw=2.2, alpha=0.6, label="truth (above terrain)", zorder=3)
    if est_alt is not None:
        ax_alt.plot(t, est_alt, color="tab:blue", lw=1.0, ls="--", label="estimate", zorder=4)
    if raw_alt is not None:
        ax_alt.plot(t, raw_alt, ".", color="tab:orange", ms=1.0, alpha=0.5,
                    label="raw altimeter (slant range)", zorder=2)
    z = _get(trace, "z_m")
    if z is not None and alt is not None and np.nanmax(np.abs(z - alt)) > 1.0:
        ax_alt.plot(t, z, color="0.6", lw=0.8, ls="--", label="height above datum")
    ax_alt.set_ylabel("altitude (m)")
    ax_alt.legend(loc="upper right", fontsize=8)

    if alt is not None and est_alt is not None:
        ax_err.plot(t, est_alt - alt, color="tab:blue", lw=0.8, label="estimate - truth")
        bound = np.maximum(50.0, 0.05 * np.abs(alt))
        ax_err.fill_between(t, -bound, bound, color="tab:green", alpha=0.12,
                            label="divergence bound max(50 m, 5%)")
        ax_err.legend(loc="upper right", fontsize=8)
    ax_err.set_ylabel("alt error (m)")

    for key, est_key, colour, label in (("vz_mps", "est_vz_mps", "tab:red", "vz"),
                                        ("vx_mps", "est_vx_mps", "tab:purple", "vx")):
        v, e = _get(trace, key), _get(trace, est_key)
        if v is not None:
            ax_vel.plot(t, v, color=colour, lw=2.0, alpha=0.5, label=label + " truth")
        if e is not None:
            ax_vel.plot(t, e, color=colour, lw=1.0, ls="--", label=label + " estimate")
    ax_vel.axhline(0.0, color="0.7", lw=0.5)
    ax_vel.set_ylabel("velocity (m/s)")
    ax_vel.legend(loc="best", fontsize=8, ncol=2)

    throttle = _get(trace, "throttle")
    if throttle is not None:
        ax_thr.plot(t, throttle, color="tab:red", lw=0.8, drawstyle="steps-post", label="command")
    thrust, mass = _get(trace, "thrust_n"), _get(trace, "mass_kg")
    if thrust is not None and thrust.size and np.nanmax(thrust) > 0:
        ax_thr.plot(t, thrust / np.nanmax(thrust), color="k", lw=0.8, alpha=0.7,
                    label="thrust / max seen")
    ax_thr.set_ylabel("throttle")
    ax_thr.set_ylim(-0.05, 1.1)
    ax_thr.legend(loc="upper right", fontsize=8)

    pitch = _get(trace, "pitch_deg")
    if pitch is not None:
        ax_pitch.plot(t, pitch, color="tab:green", lw=1.0)
    ax_pitch.set_ylabel("pitch (deg)")

    phase = trace.get("phase")
    if phase is not None and len(phase):
        _plot_phase(ax_phase, t, phase)
    ax_phase.set_ylabel("phase")

    prop = _get(trace, "propellant_kg")
    if prop is not None:
        ax_prop.plot(t, prop, color="tab:brown", lw=1.2, label="propellant left")
    if mass is not None:
        ax2 = ax_prop.twinx()
        ax2.plot(t, mass, color="0.5", lw=0.8, ls=":")
        ax2.set_ylabel("mass (kg)", color="0.5")
    ax_prop.set_ylabel("propellant left (kg)")

    flags = trace.get("fault_flags")
    _plot_flags(ax_flags, t, flags)
    ax_flags.set_xlabel("time (s)")

    for ax in axes:
        ax.grid(True, alpha=0.3)
    fig.suptitle(_title(summary), fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.985))
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


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


def _plot_phase(ax, t, phase):
    phase = list(phase)
    names = _firmware_names("guidance", ("PH_", "PHASE_"))
    if names and phase and not isinstance(phase[0], (str, bytes)):
        values = sorted(set(int(p) for p in phase) | set(names))
        ax.set_yticks(values)
        ax.set_yticklabels([names.get(v, str(v)) for v in values], fontsize=7)
        ax.set_ylim(values[0] - 0.5, values[-1] + 0.5)
    if phase and isinstance(phase[0], (str, bytes)):
        names = []
        for p in phase:
            if p not in names:
                names.append(p)
        codes = np.array([names.index(p) for p in phase], dtype=float)
        ax.set_yticks(range(len(names)))
        ax.set_yticklabels([n.decode() if isinstance(n, bytes) else str(n) for n in names],
                           fontsize=7)
    else:
        codes = np.asarray(phase, dtype=float)
    ax.plot(t, codes, color="tab:cyan", lw=1.2, drawstyle="steps-post")


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


def plot_optimal(traj, path: str, title: str = "fuel-optimal reference", problem=None) -> str:
    """Plot an optimal.Trajectory: path in (x, z), thrust, tilt, speeds, mass."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = traj.t_s
    tc = t[:-1]                       # per-interval values start at each node
    fig, axes = plt.subplots(2, 2, figsize=(13, 8))
    ax = axes[0, 0]
    ax.plot(traj.x_m, traj.z_m, color="k")
    lit = traj.thrust_n > 0.01 * max(float(np.max(traj.thrust_n)), 1.0)
    ax.scatter(traj.x_m[:-1][lit], traj.z_m[:-1][lit], s=8, color="tab:red", label="engine lit")
    ax.set_xlabel("x from the site (m)")
    ax.set_ylabel("height above the site (m)")
    ax.legend(fontsize=8)
    ax = axes[0, 1]
    ax.step(tc, traj.thrust_n, where="post", color="tab:red")
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
