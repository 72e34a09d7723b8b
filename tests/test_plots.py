"""`lander plot`: one flight, truth vs estimate vs raw, written as a PNG."""
import os

import numpy as np
import pytest

from host_tools import SCENARIOS_DIR
from host_tools.sim import plots, runner, scenario

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def short_flight():
    sc = scenario.load(os.path.join(SCENARIOS_DIR, "nominal.toml"))
    return runner.fly(sc, controller="reference", record=True, max_time_s=20.0)


def test_plot_run_writes_a_nontrivial_png(short_flight, tmp_path):
    out = tmp_path / "run.png"
    assert plots.plot_run(short_flight, str(out)) == str(out)
    data = out.read_bytes()
    assert data[:8] == PNG_MAGIC
    assert len(data) > 50_000          # eight panels of curves, not an empty canvas
    import matplotlib.image as mpimg
    img = mpimg.imread(str(out))
    assert img.shape[0] > img.shape[1] > 500
    assert np.std(img[..., :3]) > 0.05  # not blank


def test_plot_run_draws_raised_fault_flags(short_flight, tmp_path):
    trace = dict(short_flight.trace)
    flags = np.zeros_like(trace["t_s"], dtype=np.int64)
    flags[len(flags) // 2:] = 0b101
    trace["fault_flags"] = flags
    clean, flagged = tmp_path / "clean.png", tmp_path / "flagged.png"
    plots.plot_run(short_flight, str(clean))
    plots.plot_run(runner.FlightResult(short_flight.summary, trace), str(flagged))
    assert flagged.read_bytes() != clean.read_bytes()


def test_plot_run_refuses_a_run_without_trace(short_flight, tmp_path):
    with pytest.raises(ValueError, match="record=True"):
        plots.plot_run(runner.FlightResult(short_flight.summary, {}), str(tmp_path / "x.png"))


def test_cli_plot_flies_and_writes_the_png(tmp_path, capsys):
    from host_tools.cli import main
    out = tmp_path / "nominal.png"
    # 10 s of an 8 km descent: a timeout, so the flight fails its pass table (exit 1)
    assert main(["plot", os.path.join(SCENARIOS_DIR, "nominal.toml"), "--seed", "3",
                 "--controller", "reference", "--max-time", "10", "--out", str(out)]) == 1
    assert out.read_bytes()[:8] == PNG_MAGIC
    assert str(out) in capsys.readouterr().out


def test_cli_optimal_plots_the_reference_trajectory(tmp_path, capsys):
    from host_tools.cli import main
    out = tmp_path / "optimum.png"
    assert main(["optimal", os.path.join(SCENARIOS_DIR, "nominal.toml"), "--plot", str(out)]) == 0
    data = out.read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 20_000
    assert "minimum propellant" in capsys.readouterr().out
