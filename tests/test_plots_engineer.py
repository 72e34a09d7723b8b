"""Plots a flight engineer reads: what each panel shows, checked on the
matplotlib figure itself (not only that a PNG exists)."""
import json
import math
from unittest import mock

import numpy as np
import pytest

from host_tools.sim import montecarlo, plots, runner

HOP = {
    "name": "hop",
    "initial": {"altitude_m": 60.0, "x_m": 0.0, "vx_mps": 1.0, "vz_mps": -3.0},
    "target": {"x_m": 10.0},
    "terrain": {"features": [{"kind": "step", "x_m": 3.0, "height_m": -5.0, "width_m": 2.0}]},
    "faults": [{"kind": "sensor_bias", "part": "altimeter", "value": 4.0, "t_s": 2.0}],
    "commands": [{"t_s": 1.0, "command": "noop"}],
}


@pytest.fixture(scope="module")
def hop():
    return runner.fly(HOP, controller="reference", record=True)


@pytest.fixture(scope="module")
def fig(hop):
    import matplotlib.pyplot as plt
    f = plots.run_figure(hop)
    yield f
    plt.close(f)


def _ax(fig, ylabel):
    for ax in fig.axes:
        if ax.get_ylabel() == ylabel:
            return ax
    raise AssertionError("no panel %r in %s" % (ylabel, [a.get_ylabel() for a in fig.axes]))


def _labels(ax):
    return [ln.get_label() for ln in ax.lines]


def test_runner_records_fault_command_and_touchdown_markers(hop):
    kinds = [(k, label) for _, k, label in hop.markers]
    assert ("command", "noop") in kinds and ("fault", "sensor_bias") in kinds
    assert kinds[-1] == ("touchdown", hop.summary["outcome"])
    t_fault = [t for t, k, _ in hop.markers if k == "fault"][0]
    assert t_fault == pytest.approx(2.0)


def test_trajectory_panel_has_terrain_site_touchdown_and_markers(fig, hop):
    ax = _ax(fig, "height above datum (m)")
    assert ax.get_xlabel() == "downrange x (m)"
    labels = _labels(ax)
    assert {"terrain", "trajectory", "site", "fault"} <= set(labels)
    assert "touchdown (%s)" % hop.summary["outcome"] in labels
    site = ax.lines[labels.index("site")]
    assert site.get_xdata()[0] == 10.0 and site.get_ydata()[0] == pytest.approx(-5.0)   # below the step
    terrain = ax.lines[labels.index("terrain")]
    xs, zs = terrain.get_xdata(), terrain.get_ydata()
    assert xs[0] < 3.0 and zs[0] == pytest.approx(0.0) and zs[-1] == pytest.approx(-5.0)


def test_time_panels_mark_the_fault_the_command_and_touchdown(fig, hop):
    ax = _ax(fig, "altitude (m)")
    vlines = {round(float(ln.get_xdata()[0]), 6) for ln in ax.lines
              if len(ln.get_xdata()) == 2 and ln.get_xdata()[0] == ln.get_xdata()[1]}
    td = hop.summary["touchdown"]["t_s"]
    assert {2.0, 1.0, round(td, 6)} <= vlines


def test_raw_altimeter_is_thin_points_under_estimate_and_truth(fig):
    ax = _ax(fig, "altitude (m)")
    raw = [ln for ln in ax.lines if ln.get_label().startswith("raw altimeter")][0]
    truth = [ln for ln in ax.lines if ln.get_label().startswith("truth")][0]
    assert raw.get_linestyle() == "None" and raw.get_marker() == "." and raw.get_markersize() <= 2
    assert raw.get_zorder() < truth.get_zorder()


def test_thrust_panel_is_in_newtons_with_rated_fraction(fig, hop):
    ax = _ax(fig, "thrust (N)")
    actual = [ln for ln in ax.lines if ln.get_label() == "actual thrust"][0]
    assert np.array_equal(actual.get_ydata(), hop.trace["thrust_n"])
    assert ax.get_ylim()[1] == pytest.approx(1.15 * 3000.0)


def test_phase_panel_reaches_landed(fig, hop):
    ax = _ax(fig, "phase")
    names = [t.get_text() for t in ax.get_yticklabels()]
    assert "landed" in names
    ground = [ln for ln in ax.lines if ln.get_label() == "on the ground (simulator)"][0]
    landed = ax.get_yticks()[names.index("landed")]
    assert ground.get_ydata()[0] == landed
    assert ground.get_xdata()[0] == pytest.approx(hop.summary["touchdown"]["t_s"])


def test_velocity_axis_is_not_flattened_by_one_outlier(hop):
    import matplotlib.pyplot as plt
    trace = dict(hop.trace)
    est = trace["est_vz_mps"].copy()
    est[len(est) // 2] = 5000.0          # one wild estimate
    trace["est_vz_mps"] = est
    f = plots.run_figure(runner.FlightResult(hop.summary, trace, scenario=hop.scenario))
    lo, hi = _ax(f, "velocity (m/s)").get_ylim()
    plt.close(f)
    v = np.concatenate([hop.trace["vz_mps"], hop.trace["vx_mps"]])
    assert lo <= v.min() and hi >= v.max()
    assert hi < 50.0


def test_robust_limits_keep_the_truth_and_drop_single_outliers():
    truth = np.linspace(-10.0, 10.0, 1000)
    est = truth.copy()
    est[500] = 1e6
    lo, hi = plots.robust_limits(est, keep=truth, pad=0.0)
    assert (lo, hi) == (pytest.approx(-10.0), pytest.approx(10.0, abs=0.1))
    assert plots.robust_limits(np.array([np.nan])) == (-1.0, 1.0)


# ---------------------------------------------------------------- campaigns

def _row(run, outcome, passed, vz, vx, miss, prop, reasons=(), ratio=None):
    return {"run": run, "seed": run, "outcome": outcome, "passed": passed, "touchdown.vz_mps": vz,
            "touchdown.vx_mps": vx, "touchdown.tilt_deg": 1.0, "touchdown.miss_m": miss,
            "propellant_used_kg": prop, "propellant_ratio": ratio,
            "estimate.max_error_last_1000m_m": 3.0, "estimate.max_error_below_100m_m": 1.0,
            "fail_reasons": json.dumps(list(reasons)), "error": "", "events": "{}"}


ROWS = [_row(0, "landed", True, -1.0, 0.2, 10.0, 40.0),
        _row(1, "landed", False, -1.1, 0.1, 150.0, 41.0, ["miss 150.0 m > 100.0 m"]),
        _row(2, "crashed", False, -9.0, 1.0, 20.0, 45.0, ["outcome crashed not in landed"]),
        _row(3, "landed", True, -1.5, -0.3, 30.0, 39.0)]
LIMITS = {"max_vz_mps": 2.0, "max_vx_mps": 1.0, "max_tilt_deg": 10.0, "max_miss_m": 100.0,
          "max_propellant_kg": None, "max_alt_error_m": None}


def test_fail_class_names_why_a_run_failed():
    assert [montecarlo.fail_class(r) for r in ROWS] == ["passed", "miss", "crashed", "passed"]
    assert montecarlo.fail_class({"error": "ValueError: x", "passed": False}) == "error"


@pytest.fixture(scope="module")
def campaign_figs(tmp_path_factory):
    import matplotlib.pyplot as plt
    out = tmp_path_factory.mktemp("mc")
    with mock.patch.object(plt, "close"):
        montecarlo.plot_campaign(ROWS, str(out), title="t", limits=LIMITS)
    figs = [plt.figure(n) for n in plt.get_fignums()][-2:]
    yield figs
    for f in figs:
        plt.close(f)


def test_campaign_histograms_have_units_whole_counts_and_pass_limits(campaign_figs):
    hist = campaign_figs[0]
    ax = [a for a in hist.axes if a.get_xlabel() == "touchdown |vz| (m/s)"][0]
    assert ax.get_ylabel() == "runs"
    assert all(float(t).is_integer() for t in ax.get_yticks())
    assert [ln.get_xdata()[0] for ln in ax.lines] == [2.0]
    ratio = [a for a in hist.axes if a.get_xlabel().startswith("propellant used / fuel optimum")][0]
    assert "--optimal" in " ".join(t.get_text() for t in ratio.texts)
    for a in hist.axes:
        if a.get_xlabel():
            assert "(" in a.get_xlabel() and a.get_xlabel().endswith(")")


def test_campaign_touchdowns_are_coloured_by_pass_and_why(campaign_figs):
    ax1 = campaign_figs[1].axes[0]
    labels = [c.get_label() for c in ax1.collections]
    assert labels == ["passed (2)", "failed: crashed (1)", "failed: miss (1)"]
    assert [p.get_label() for p in ax1.patches] == ["pass limits |vx| <= 1, |vz| <= 2 m/s"]


def test_parquet_columns_have_the_same_types_in_every_campaign(tmp_path):
    import pyarrow.parquet as pq
    a = [dict(r, propellant_ratio=None) for r in ROWS]                 # no --optimal: all null
    b = [dict(r, propellant_ratio=1.3) for r in ROWS]
    montecarlo.save(a, str(tmp_path / "a"))
    montecarlo.save(b, str(tmp_path / "b"))
    sa = pq.read_schema(tmp_path / "a" / "results.parquet")
    sb = pq.read_schema(tmp_path / "b" / "results.parquet")
    assert sa == sb
    assert str(sa.field("propellant_ratio").type) == "double"
    assert str(sa.field("telemetry.max_latency_s").type) == "double"   # absent from these rows
    assert str(sa.field("run").type) == "int64" and str(sa.field("passed").type) == "bool"


# ---------------------------------------------------------------- optimal

def test_optimal_plot_shows_the_terrain_and_the_site(tmp_path):
    import matplotlib.pyplot as plt
    from host_tools.sim import optimal, scenario
    sc = scenario.validate({"name": "o", "initial": {"altitude_m": 300.0, "x_m": 0.0, "vx_mps": 5.0,
                                                      "vz_mps": -10.0}, "target": {"x_m": 200.0},
                            "terrain": {"features": [{"kind": "step", "x_m": 100.0, "height_m": -50.0,
                                                      "width_m": 20.0}]}})
    traj = optimal.optimise(optimal.problem_from_scenario(sc), nodes=20, final_nodes=25)
    with mock.patch.object(plt, "close"):
        plots.plot_optimal(traj, str(tmp_path / "o.png"), scenario=sc)
    f = plt.figure(plt.get_fignums()[-1])
    ax = f.axes[0]
    labels = _labels(ax)
    plt.close(f)
    assert {"terrain", "site", "optimal trajectory"} <= set(labels)
    terrain = ax.lines[labels.index("terrain")]
    xs, zs = terrain.get_xdata(), terrain.get_ydata()
    # site-relative: the ground 50 m above the site before the step (x < -100 m from the site)
    assert zs[0] == pytest.approx(50.0) and zs[-1] == pytest.approx(0.0)
    assert math.isclose(float(np.interp(0.0, xs, zs)), 0.0, abs_tol=1e-9)
