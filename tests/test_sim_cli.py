"""`lander sim`: result JSON, exit codes, output files, refused scenarios."""
import json
import os

from host_tools import SCENARIOS_DIR
from host_tools.cli import main

HOPPER = os.path.join(SCENARIOS_DIR, "hopper.toml")


def test_sim_prints_the_result_json(capsys):
    rc = main(["sim", HOPPER, "--json", "--controller", "reference"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and out["outcome"] == "landed" and out["passed"] is True
    assert {"touchdown", "propellant_used_kg", "estimate", "max_alt_error_m", "telemetry",
            "events"} <= set(out)


def test_sim_exit_code_is_one_when_the_run_fails_its_pass_table(capsys):
    rc = main(["sim", HOPPER, "--controller", "reference", "--max-time", "2"])
    assert rc == 1 and "timeout" in capsys.readouterr().out


def test_sim_refuses_a_bad_scenario_naming_file_and_key(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[vehicle]\nmin_throttle = 1.5\n')
    rc = main(["sim", str(bad), "--controller", "reference"])
    err = capsys.readouterr().err
    assert rc == 2 and str(bad) in err and "vehicle.min_throttle" in err


def test_sim_writes_downlink_and_received_files(tmp_path, capsys):
    dl, rx = tmp_path / "dl.bin", tmp_path / "rx.bin"
    main(["sim", HOPPER, "--max-time", "1", "--downlink", str(dl), "--received", str(rx), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert dl.exists() and rx.exists()
    assert dl.stat().st_size == out["telemetry"]["bytes_sent"]
    assert rx.stat().st_size == out["telemetry"]["bytes_received"]
