"""Monte Carlo campaigns: dispersions, per-run determinism, pool vs Dask, statistics, files."""
import math
import os

import numpy as np
import pytest

from host_tools.sim import montecarlo, scenario

# A short hop: 120 m up, already slow, so a run lasts a few simulated seconds.
SHORT = """
name = "mc-short"
seed = 11
gravity_mps2 = 1.62
max_time_s = 8.0

[vehicle]
dry_mass_kg = 340.0
propellant_kg = 80.0
max_thrust_n = 3000.0

[initial]
altitude_m = 120.0
x_m = 0.0
vx_mps = 0.5
vz_mps = -6.0

[target]
x_m = 0.0

[[faults]]
kind = "sensor_bias"
part = "altimeter"
value = 0.0
t_s = 3.0

[dispersions]
"initial.vx_mps" = 0.5
"initial.altitude_m" = [100.0, 140.0]
"vehicle.isp_s" = 3.0
"sensors.altimeter.noise" = 2.0
"faults.0.t_s" = [1.0, 5.0]
"""

KEEP = ("run", "seed", "outcome", "passed", "touchdown.vz_mps", "touchdown.vx_mps",
        "touchdown.miss_m", "propellant_used_kg", "estimate.max_error_last_1000m_m",
        "estimate.longest_divergence_s", "time_s", "events", "telemetry.bytes_sent",
        "disp.initial.vx_mps", "disp.initial.altitude_m", "disp.faults.0.t_s")


@pytest.fixture
def short_path(tmp_path):
    path = tmp_path / "short.toml"
    path.write_text(SHORT)
    return str(path)


@pytest.fixture
def short(short_path):
    return scenario.load(short_path)


def _same(a, b):
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


# ---------------------------------------------------------------- statistics

@pytest.mark.parametrize("k, n, lo, hi", [
    # Newcombe, Statistics in Medicine 17 (1998) 857-872, table II, method 3 (Wilson score)
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
    (0, 20, 0.0, 0.1611),
    (1, 29, 0.0061, 0.1718),
])
def test_wilson_interval_matches_published_values(k, n, lo, hi):
    got = montecarlo.wilson_interval(k, n)
    assert got[0] == pytest.approx(lo, abs=1e-4)
    assert got[1] == pytest.approx(hi, abs=1e-4)


def test_summary_reports_success_rate_with_wilson_interval_and_percentiles():
    rows = [{"run": i, "outcome": "landed" if i < 8 else "crashed", "passed": i < 8,
             "touchdown.vz_mps": -float(i), "propellant_used_kg": 10.0 + i} for i in range(10)]
    s = montecarlo.summarise(rows)
    assert (s["passed"], s["runs"], s["success_rate"]) == (8, 10, 0.8)
    assert s["success_ci95"] == pytest.approx([0.4902, 0.9433], abs=1e-4)
    assert s["outcomes"] == {"crashed": 2, "landed": 8}
    vz = s["metrics"]["touchdown.vz_mps"]
    assert vz["p50"] == pytest.approx(4.5) and vz["max"] == 9.0        # |vz|
    assert s["metrics"]["touchdown.miss_m"]["n"] == 0                   # missing -> no data


# ---------------------------------------------------------------- dispersions

def test_sigma_dispersion_adds_a_normal_draw_to_the_nominal_value(short):
    rng, _ = montecarlo.run_seeds(5, 2)
    values = montecarlo.draw(short, rng)
    replay, _ = montecarlo.run_seeds(5, 2)
    # Keys are drawn in sorted order; replay the generator by hand.
    expected = {}
    for path in sorted(short["dispersions"]):
        spec = short["dispersions"][path]
        if isinstance(spec, list):
            expected[path] = replay.uniform(spec[0], spec[1])
        else:
            expected[path] = scenario.get_path(short, path) + replay.normal(0.0, spec)
    assert values["initial.vx_mps"] == pytest.approx(expected["initial.vx_mps"])
    assert values["vehicle.isp_s"] == pytest.approx(expected["vehicle.isp_s"])
    assert values["initial.altitude_m"] == pytest.approx(expected["initial.altitude_m"])


def test_range_dispersion_replaces_the_value_uniformly_within_bounds(short):
    alts = [montecarlo.draw(short, montecarlo.run_seeds(1, i)[0])["initial.altitude_m"]
            for i in range(200)]
    assert min(alts) >= 100.0 and max(alts) <= 140.0
    assert max(alts) - min(alts) > 30.0


def test_dispersed_values_are_clamped_into_the_schema_range(short):
    noises = [montecarlo.draw(short, montecarlo.run_seeds(2, i)[0])["sensors.altimeter.noise"]
              for i in range(200)]
    assert min(noises) == 0.0          # nominal 0.3 m, sigma 2 m: many draws clamp at 0
    assert max(noises) > 1.0


def test_disperse_applies_values_to_a_validated_copy(short):
    dispersed, values = montecarlo.disperse(short, montecarlo.run_seeds(3, 0)[0], 0)
    assert dispersed["initial"]["vx_mps"] == values["initial.vx_mps"]
    assert dispersed["faults"][0]["t_s"] == values["faults.0.t_s"]
    assert dispersed["sensors"]["altimeter"]["noise"] == values["sensors.altimeter.noise"]
    assert short["initial"]["vx_mps"] == 0.5          # the nominal is untouched


def test_run_draws_depend_only_on_campaign_seed_and_index(short):
    def draws(seed, i):
        rng, sim_seed = montecarlo.run_seeds(seed, i)
        return montecarlo.draw(short, rng), sim_seed

    assert draws(7, 3) == draws(7, 3)
    assert draws(7, 3) != draws(7, 4)
    assert draws(7, 3) != draws(8, 3)


# ---------------------------------------------------------------- campaigns

@pytest.mark.slow
@pytest.mark.parametrize("processes, controller", [(False, "reference"), (True, "firmware")],
                         ids=["threads-reference", "processes-firmware"])
def test_local_pool_and_dask_cluster_fly_the_same_runs(short, processes, controller):
    from dask.distributed import Client, LocalCluster

    local = montecarlo.run_campaign(short, 3, seed=21, jobs=2, controller=controller)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=processes,
                      dashboard_address=":0") as cluster:
        if processes:   # the --dask ADDRESS path: connect to a scheduler by address
            address = cluster.scheduler_address  # pyright: ignore[reportAttributeAccessIssue]
            remote = montecarlo.run_campaign(short, 3, seed=21, dask=address,
                                             controller=controller)
        else:
            with Client(cluster) as client:
                remote = montecarlo.run_campaign(short, 3, seed=21, dask=client,
                                                 controller=controller)
    inline = montecarlo.run_campaign(short, 3, seed=21, jobs=1, controller=controller)
    assert [r["run"] for r in local] == [0, 1, 2]
    assert all(r["error"] == "" for r in local + remote), [r["error"] for r in local + remote]
    for a, b, c in zip(local, remote, inline):
        for key in KEEP:
            assert _same(a.get(key), b.get(key)) and _same(a.get(key), c.get(key)), key
    # The runs really differ from each other.
    assert len({r["disp.initial.vx_mps"] for r in local}) == 3


@pytest.mark.slow
def test_cli_campaign_writes_parquet_csv_summary_and_plots(short_path, tmp_path, capsys):
    import json

    import pyarrow.parquet as pq

    from host_tools.cli import main

    out = tmp_path / "mc"
    assert main(["montecarlo", short_path, "--runs", "3", "--jobs", "1", "--seed", "4",
                 "--controller", "firmware", "--out", str(out), "--optimal", "--json",
                 "--min-success", "0"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["runs"] == 3
    table = pq.read_table(out / "results.parquet")
    assert table.num_rows == 3
    assert table.column("error").to_pylist() == ["", "", ""]
    rows = table.to_pylist()
    for r in rows:    # the ratio to each dispersed run's own fuel optimum
        assert 0.0 < r["propellant_optimal_kg"] < 80.0
        assert r["propellant_ratio"] == pytest.approx(r["propellant_used_kg"] / r["propellant_optimal_kg"])
    assert {"run", "outcome", "passed", "touchdown.vz_mps", "propellant_used_kg",
            "disp.initial.vx_mps"} <= set(table.column_names)
    assert (out / "results.csv").read_text().count("\n") == 4
    for png in ("histograms.png", "touchdown.png"):
        data = (out / png).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_terrain_feature_and_fault_window_dispersions(tmp_path):
    path = tmp_path / "rim.toml"
    path.write_text(SHORT.replace('"faults.0.t_s" = [1.0, 5.0]', '''"terrain.features.0.height_m" = 300.0
"terrain.features.0.width_m" = 50.0''').replace("t_s = 3.0", "t_s = [2.0, 4.0]")
                    .replace("[target]", '''[terrain]
features = [ { kind = "step", x_m = 50.0, height_m = -3000.0, width_m = 10.0 } ]

[target]''') + '"faults.0.t_s" = 0.5\n')
    sc = scenario.load(str(path))
    widths, shifts = [], []
    for i in range(50):
        dispersed, values = montecarlo.disperse(sc, montecarlo.run_seeds(9, i)[0], i)
        step = dispersed["terrain"]["features"][0]
        assert step["height_m"] == values["terrain.features.0.height_m"]
        widths.append(step["width_m"])
        t0, t1 = dispersed["faults"][0]["t_s"]          # a window moves as a whole
        assert t1 - t0 == pytest.approx(2.0)
        shifts.append(t0 - 2.0)
    assert min(widths) == 0.0                        # clamped at the schema's lower bound
    assert 0.2 < np.std(shifts) < 0.8
