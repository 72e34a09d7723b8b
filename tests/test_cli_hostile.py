"""Hostile input is refused cleanly: exit 2, one line naming the file, key or
flag, nothing flown, nothing written. Exit codes: 0 passed, 1 failed its pass
criteria, 2 bad input, 3 internal error (one line; the traceback with --debug)."""
import contextlib
import io
import os
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from host_tools import SCENARIOS_DIR, cliargs
from host_tools.cli import main
from host_tools.sim import montecarlo, runner, scenario
from host_tools.sim.scenario import ScenarioError

HOPPER = os.path.join(SCENARIOS_DIR, "hopper.toml")
GOOD = 'name = "x"\n'


def _run(argv):
    """main(argv) with runner.fly forbidden: (rc, stderr lines, stdout)."""
    err, out = io.StringIO(), io.StringIO()
    with mock.patch.object(runner, "fly", side_effect=AssertionError("a flight ran")), \
            mock.patch.object(montecarlo, "run_campaign", side_effect=AssertionError("a campaign ran")), \
            contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        rc = main(argv)
    return rc, err.getvalue().splitlines(), out.getvalue()


def _refused(argv, *words, cwd=None):
    before = sorted(os.listdir(cwd)) if cwd else None
    rc, lines, _ = _run(argv)
    assert rc == 2, (rc, lines)
    assert len(lines) == 1, lines
    for w in words:
        assert w in lines[0], (w, lines[0])
    if cwd:
        assert sorted(os.listdir(cwd)) == before, "something was written"
    return lines[0]


# ---------------------------------------------------------------- scenario files

def test_binary_file_is_refused_as_not_utf8(tmp_path):
    p = tmp_path / "bin.toml"
    p.write_bytes(b'name = "x"\n\xff\xfe\x00\x80')
    line = _refused(["sim", str(p)], str(p), "<file>", "not UTF-8", cwd=tmp_path)
    assert "byte 11" in line


def test_directory_is_refused(tmp_path):
    _refused(["sim", str(tmp_path)], str(tmp_path), "not a regular file (a directory)")


def test_device_is_refused_without_reading_it():
    _refused(["sim", "/dev/zero"], "/dev/zero", "not a regular file (a device)")


def test_pipe_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)             # nobody writes: a blocking open would hang here
    _refused(["sim", str(fifo)], str(fifo), "not a regular file (a pipe)")


def test_missing_file_is_refused(tmp_path):
    _refused(["sim", str(tmp_path / "none.toml")], "none.toml", "no such file")


def test_file_over_the_cap_is_refused_before_reading_it(tmp_path):
    p = tmp_path / "big.toml"
    p.write_text(GOOD + "#" * scenario.MAX_FILE_BYTES)
    _refused(["sim", str(p)], str(p), "larger than %d bytes" % scenario.MAX_FILE_BYTES)
    read = []
    real = os.read
    with mock.patch.object(scenario.os, "read", side_effect=lambda fd, n: read.append(n) or real(fd, n)):
        with pytest.raises(ScenarioError):
            scenario.read_text(str(p))
    assert read == []


def test_a_file_at_the_cap_is_read_and_one_byte_over_is_not(tmp_path):
    p = tmp_path / "cap.toml"
    p.write_text(GOOD + "#" * (100 - len(GOOD)))
    assert scenario.read_text(str(p), cap=100).startswith(GOOD)
    with pytest.raises(ScenarioError, match="larger than 99 bytes"):
        scenario.read_text(str(p), cap=99)


def test_deeply_nested_toml_is_refused(tmp_path):
    p = tmp_path / "deep.toml"
    p.write_text("name = " + "[" * 100_000 + "]" * 100_000 + "\n")
    _refused(["sim", str(p)], str(p), "<toml>")


# ---------------------------------------------------------------- bounds

BOUNDS = [
    ("max_time_s = 1e9", "max_time_s", "<= 3600"),
    ("post_touchdown_s = 1e9", "post_touchdown_s", "<= 3600"),
    ("rate_hz = 1000\nmax_time_s = 3600", "max_time_s", "control cycles"),
    ("seed = -1", "seed", ">= 0"),
    ("substeps = 1000", "substeps", "<= 100"),
    ('name = "%s"' % ("n" * 201), "name", "longer than 200"),
    ("[initial]\naltitude_m = 1e7", "initial.altitude_m", "<= 100000"),
    ("[initial]\nvx_mps = 1e5", "initial.vx_mps", "<= 3000"),
    ("[initial]\nvz_mps = -1e5", "initial.vz_mps", ">= -3000"),
    ("[initial]\nx_m = 1e12", "initial.x_m", "<= 1e+06"),
    ("[target]\nx_m = -1e12", "target.x_m", ">= -1e+06"),
    ("[vehicle]\ndry_mass_kg = 1e9", "vehicle.dry_mass_kg", "<= 100000"),
    ("[vehicle]\npropellant_kg = 1e9", "vehicle.propellant_kg", "<= 100000"),
    ("[vehicle]\nmax_thrust_n = 1e12", "vehicle.max_thrust_n", "<= 1e+07"),
    ("[vehicle]\nisp_s = 1e9", "vehicle.isp_s", "<= 10000"),
    ("[vehicle]\nengine_lag_s = 1e9", "vehicle.engine_lag_s", "<= 10"),
    ("[vehicle]\nmax_pitch_rate_dps = 1e9", "vehicle.max_pitch_rate_dps", "<= 360"),
    ("[terrain]\nbase_m = 1e9", "terrain.base_m", "<= 100000"),
    ('[terrain]\nfeatures = [{kind = "boulders", x0_m = 0.0, x1_m = 1.0, count = 100000}]',
     "terrain.features.0.count", "<= 2000"),
    ('[terrain]\nfeatures = [{kind = "crater", x_m = 0.0, radius_m = 1e9, depth_m = 1.0}]',
     "terrain.features.0.radius_m", "<= 1e+06"),
    ('[terrain]\nfeatures = [%s]' % ", ".join(['{kind = "flat"}'] * 101), "terrain.features", "more than 100"),
    ("[sensors.altimeter]\nmax_range_m = 1e9", "sensors.altimeter.max_range_m", "<= 100000"),
    ("[sensors.altimeter]\ndropouts = [[1e9, 2e9]]", "sensors.altimeter.dropouts", "after 3600"),
    ("[sensors.imu]\ngyro_noise_dps = 1e9", "sensors.imu.gyro_noise_dps", "<= 10000"),
    ("[sensors.imu]\nbus_faults = { nack_rate = 2.0 }", "sensors.imu.bus_faults.nack_rate", "<= 1"),
    ("[sensors.imu]\nbus_faults = { latency_s = 1e9 }", "sensors.imu.bus_faults.latency_s", "<= 60"),
    ("[link]\nbitrate_bps = 1e-9", "link.bitrate_bps", ">= 1"),
    ("[link]\nlatency_s = 1e9", "link.latency_s", "<= 60"),
    ("[reset]\nreboot_s = 1e9", "reset.reboot_s", "<= 60"),
    ('[[faults]]\nkind = "imu_reset"\nt_s = 1e9', "faults.0.t_s", "<= 3600"),
    ('[[faults]]\nkind = "thrust_scale"\nt_s = 1.0\nvalue = 1e12', "faults.0.value", "<= 1e+06"),
    ('[[commands]]\nt_s = 1e9\ncommand = "noop"', "commands.0.t_s", "<= 3600"),
    ("[pass]\nmax_vz_mps = 1e9", "pass.max_vz_mps", "<= 3000"),
    ('[dispersions]\n"initial.vx_mps" = 1e300', "dispersions.initial.vx_mps", "within"),
]


@pytest.mark.parametrize("text, key, reason", BOUNDS, ids=[b[1] + ":" + b[0][:20] for b in BOUNDS])
def test_every_value_is_bounded_to_a_descent(tmp_path, text, key, reason):
    p = tmp_path / "s.toml"
    body = text if text.startswith("name") else GOOD + text
    p.write_text(body + "\n")
    _refused(["sim", str(p)], "%s: %s: " % (p, key), reason)


def test_longest_accepted_run_is_bounded():
    sc = scenario.validate({"name": "x", "rate_hz": 50.0, "max_time_s": 3600.0})
    assert sc["rate_hz"] * sc["max_time_s"] <= scenario.MAX_CYCLES
    with pytest.raises(ScenarioError, match="control cycles"):
        scenario.validate({"name": "x", "rate_hz": 100.0, "max_time_s": 3600.0})


def test_many_faults_are_refused():
    with pytest.raises(ScenarioError) as e:
        scenario.validate({"name": "x", "faults": [{"kind": "imu_reset", "t_s": 1.0}] * 1001})
    assert e.value.key == "faults" and "more than 1000" in e.value.reason


# ---------------------------------------------------------------- unknown keys, every level

UNKNOWN = [
    ("gravity = 1.6", "gravity"),
    ("_source = \"elsewhere\"", "_source"),
    ("[vehicle]\nmass = 1.0", "vehicle.mass"),
    ("[initial]\nspeed = 1.0", "initial.speed"),
    ("[target]\ny_m = 1.0", "target.y_m"),
    ("[terrain]\nroughness = 1.0", "terrain.roughness"),
    ('[terrain]\nfeatures = [{kind = "step", x_m = 1.0, height_m = 1.0, slope = 2.0}]',
     "terrain.features.0.slope"),
    ('[terrain]\nfeatures = [{kind = "flat", height_m = 2.0}]', "terrain.features.0.height_m"),
    ("[sensors.lidar]\nnoise = 1.0", "sensors.lidar"),
    ("[sensors.altimeter]\nnoize = 1.0", "sensors.altimeter.noize"),
    ("[sensors.legs]\nnoise = 1.0", "sensors.legs.noise"),
    ("[sensors.imu]\nbus_faults = { gremlins = 1.0 }", "sensors.imu.bus_faults.gremlins"),
    ('[[faults]]\nkind = "imu_reset"\nt_s = 1.0\nwhen = 2.0', "faults.0.when"),
    ('[[commands]]\nt_s = 1.0\ncommand = "noop"\nsigned = true', "commands.0.signed"),
    ('[[commands]]\nt_s = 1.0\ncommand = "abort"\nargs = { now = 1 }', "commands.0.args"),
    ("[reset]\ncold = true", "reset.cold"),
    ("[link]\nband = 1.0", "link.band"),
    ('[dispersions]\n"initial.speed" = 1.0', "dispersions.initial.speed"),
    ('[dispersions]\n"sensors.altimeter.noize" = 1.0', "dispersions.sensors.altimeter.noize"),
    ("[pass]\nmax_speed = 1.0", "pass.max_speed"),
]


@pytest.mark.parametrize("text, key", UNKNOWN, ids=[u[1] for u in UNKNOWN])
def test_unknown_keys_are_refused_at_every_level(tmp_path, text, key):
    p = tmp_path / "s.toml"
    p.write_text(GOOD + text + "\n")
    with pytest.raises(ScenarioError) as e:
        scenario.load(str(p))
    assert e.value.key == key and e.value.file == str(p)


# ---------------------------------------------------------------- flags

FLAGS = [
    (["sim", HOPPER, "--seed", "-1"], "--seed"),
    (["sim", HOPPER, "--seed", "1.5"], "--seed"),
    (["sim", HOPPER, "--seed", str(2**63)], "--seed"),
    (["sim", HOPPER, "--max-time", "nan"], "--max-time"),
    (["sim", HOPPER, "--max-time", "inf"], "--max-time"),
    (["sim", HOPPER, "--max-time", "-1"], "--max-time"),
    (["sim", HOPPER, "--max-time", "0"], "--max-time"),
    (["sim", HOPPER, "--max-time", "1e9"], "--max-time"),
    (["sim", HOPPER, "--controller", "pilot"], "--controller"),
    (["plot", HOPPER, "--seed", "-5"], "--seed"),
    (["plot", HOPPER, "--max-time", "nan"], "--max-time"),
    (["montecarlo", HOPPER, "--runs", "0"], "--runs"),
    (["montecarlo", HOPPER, "--runs", "2", "--jobs", "0"], "--jobs"),
    (["montecarlo", HOPPER, "--runs", "2", "--jobs", "-3"], "--jobs"),
    (["montecarlo", HOPPER, "--runs", "2", "--seed", "-1"], "--seed"),
    (["montecarlo", HOPPER, "--runs", "2", "--max-time", "-inf"], "--max-time"),
    (["montecarlo", HOPPER, "--runs", "2", "--min-success", "1.5"], "--min-success"),
    (["montecarlo", HOPPER, "--runs", "2", "--dask", "not an address"], "--dask"),
    (["optimal", HOPPER, "--glide-slope", "0"], "--glide-slope"),
    (["optimal", HOPPER, "--glide-slope", "90"], "--glide-slope"),
    (["optimal", HOPPER, "--glide-slope", "nan"], "--glide-slope"),
    (["optimal", HOPPER, "--gate", "30,1.5"], "--gate"),         # a climbing gate
    (["optimal", HOPPER, "--gate", "-5,-1"], "--gate"),
    (["optimal", HOPPER, "--gate", "30"], "--gate"),
    (["optimal", HOPPER, "--gate", "inf,-1"], "--gate"),
    (["sim"], "FILE"),
]


@pytest.mark.parametrize("argv, flag", FLAGS, ids=[" ".join(a[2:] or a) for a, _ in FLAGS])
def test_flags_are_checked_when_parsed(tmp_path, argv, flag, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _refused(argv, flag, cwd=tmp_path)


def test_unreachable_dask_scheduler_is_refused_after_a_bounded_wait(tmp_path, monkeypatch):
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))                 # a port nobody listens on
    port = s.getsockname()[1]
    s.close()
    monkeypatch.setattr(cliargs, "DASK_WAIT_S", 0.5)
    monkeypatch.setattr(cliargs.check_dask_reachable, "__defaults__", ("--dask", 0.5))
    line = _refused(["montecarlo", HOPPER, "--runs", "2", "--out", str(tmp_path / "o"),
                     "--dask", "tcp://127.0.0.1:%d" % port], "--dask", "no Dask scheduler reachable")
    assert "0.5 s" in line
    assert not (tmp_path / "o").exists()


# ---------------------------------------------------------------- output paths

def test_output_under_a_file_is_refused_before_flying(tmp_path):
    f = tmp_path / "afile"
    f.write_text("x")
    _refused(["sim", HOPPER, "--plot", str(f / "out.png")], "--plot", "is a file, not a folder", cwd=tmp_path)
    _refused(["montecarlo", HOPPER, "--runs", "2", "--out", str(f / "d")], "--out", "not a folder", cwd=tmp_path)


def test_output_into_a_missing_folder_is_refused_and_not_created(tmp_path):
    _refused(["sim", HOPPER, "--downlink", str(tmp_path / "no" / "dl.bin")], "--downlink",
             "does not exist", cwd=tmp_path)
    _refused(["plot", HOPPER, "--out", str(tmp_path / "no" / "p.png")], "--out", "does not exist", cwd=tmp_path)
    _refused(["montecarlo", HOPPER, "--runs", "2", "--out", str(tmp_path / "no" / "mc")], "--out",
             "does not exist", cwd=tmp_path)
    _refused(["optimal", HOPPER, "--plot", str(tmp_path / "no" / "o.png")], "--plot", "does not exist",
             cwd=tmp_path)


def test_output_that_is_a_directory_is_refused(tmp_path):
    _refused(["sim", HOPPER, "--received", str(tmp_path)], "--received", "is a directory", cwd=tmp_path)


def test_unwritable_output_is_refused():
    _refused(["sim", HOPPER, "--plot", "/proc/lander.png"], "--plot", "cannot write there")
    _refused(["montecarlo", HOPPER, "--runs", "2", "--out", "/proc/lander-mc"], "--out", "cannot write there")


def test_two_outputs_naming_one_file_are_refused(tmp_path):
    f = str(tmp_path / "same.bin")
    _refused(["sim", HOPPER, "--downlink", f, "--received", f], "different files", cwd=tmp_path)


def test_default_names_from_a_scenario_cannot_escape_the_folder(tmp_path, monkeypatch):
    assert scenario.safe_name("../../etc/passwd") == "etc_passwd"
    assert scenario.safe_name("/abs/path") == "abs_path"
    assert scenario.safe_name("..") == "scenario"
    assert scenario.safe_name("crater-rim v2") == "crater-rim_v2"
    sub = tmp_path / "work"
    sub.mkdir()
    p = tmp_path / "evil.toml"
    p.write_text('name = "../../evil"\n[initial]\naltitude_m = 1.0\nvx_mps = 0.0\nvz_mps = -1.0\n'
                 "[target]\nx_m = 0.0\n")
    monkeypatch.chdir(sub)
    with contextlib.redirect_stdout(io.StringIO()):
        main(["plot", str(p), "--controller", "reference", "--max-time", "0.5"])
    assert os.listdir(sub) == ["evil.png"]
    assert sorted(os.listdir(tmp_path)) == ["evil.toml", "work"]


# ---------------------------------------------------------------- exit codes

def test_help_documents_the_exit_codes(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for line in ("0  success", "1  the flight or campaign failed", "2  bad input", "3  internal error"):
        assert line in out
    assert main(["sim", "--help"]) == 0 and "2  bad input" in capsys.readouterr().out


def test_internal_error_is_one_line_without_debug(capsys):
    with mock.patch.object(runner, "fly", side_effect=RuntimeError("boom\nsecond line")):
        rc = main(["sim", HOPPER])
    err = capsys.readouterr().err.splitlines()
    assert rc == 3 and err == ["lander sim: internal error: RuntimeError: boom (--debug for the traceback)"]


def test_internal_error_shows_the_traceback_with_debug(capsys):
    with mock.patch.object(runner, "fly", side_effect=RuntimeError("boom")):
        rc = main(["--debug", "sim", HOPPER])
    err = capsys.readouterr().err
    assert rc == 3 and "Traceback" in err and err.rstrip().endswith("RuntimeError: boom")
    with mock.patch.object(runner, "fly", side_effect=RuntimeError("boom")):
        assert main(["sim", HOPPER, "--debug"]) == 3
    assert "Traceback" in capsys.readouterr().err


MC = """name = "mc"
max_time_s = 1.0
[initial]
altitude_m = 50.0
vx_mps = 0.0
vz_mps = -2.0
[target]
x_m = 0.0
[dispersions]
"initial.vz_mps" = [-3.0, -1.0]
"""


def test_montecarlo_exit_code_follows_min_success(tmp_path, capsys):
    p = tmp_path / "mc.toml"
    p.write_text(MC)            # 1 s from 50 m: every run times out, none passes
    argv = ["montecarlo", str(p), "--runs", "2", "--jobs", "1", "--controller", "reference",
            "--no-plots", "--out", str(tmp_path / "o")]
    assert main(argv) == 1
    assert "below --min-success 100.0%" in capsys.readouterr().err
    assert main(argv + ["--min-success", "0"]) == 0


def test_montecarlo_rerun_leaves_no_stale_files(tmp_path, capsys):
    p = tmp_path / "mc.toml"
    p.write_text(MC)
    out = tmp_path / "o"
    base = ["montecarlo", str(p), "--runs", "1", "--jobs", "1", "--controller", "reference",
            "--out", str(out), "--min-success", "0"]
    assert main(base) == 0
    assert {"histograms.png", "touchdown.png"} <= set(os.listdir(out))
    (out / "notes.txt").write_text("mine")
    assert main(base + ["--no-plots"]) == 0
    assert sorted(os.listdir(out)) == ["notes.txt", "results.csv", "results.parquet", "summary.json"]
    printed = capsys.readouterr().out
    for name in ("results.csv", "results.parquet", "summary.json"):
        assert "wrote" in printed and str(out / name) in printed


def test_sim_says_where_it_wrote_each_file(tmp_path, capsys):
    dl, rx = tmp_path / "dl.bin", tmp_path / "rx.bin"
    main(["sim", HOPPER, "--controller", "reference", "--max-time", "0.5", "--downlink", str(dl),
          "--received", str(rx)])
    out = capsys.readouterr().out
    assert "wrote downlink %s" % dl in out and "wrote received %s" % rx in out


# ---------------------------------------------------------------- property: hostile files and flags

_bad_bytes = st.one_of(
    st.binary(min_size=1, max_size=200).map(lambda b: b"\xff" + b),               # never UTF-8
    st.binary(min_size=1, max_size=200).map(lambda b: b'name = "x"\n\xc3' + b"\x28" + b),
    st.text(max_size=200).map(lambda t: ('name = "x"\n[vehicle]\n%s_unknown = 1\n' % "k").encode() + t.encode()[:0]),
    st.text(alphabet="[]{}=\"'#\n\t ,.:", max_size=200).map(lambda t: ("name = 1\n" + t).encode()),
    st.floats(allow_nan=False).filter(lambda v: abs(v) > 1e6).map(
        lambda v: ('name = "x"\n[initial]\naltitude_m = %r\n' % v).encode()),
)

_bad_flag = st.one_of(
    st.tuples(st.just("--seed"), st.integers(max_value=-1).map(str)),
    st.tuples(st.just("--seed"), st.integers(min_value=2**63).map(str)),
    st.tuples(st.just("--max-time"), st.sampled_from(["nan", "inf", "-inf", "0", "-0.0", "1e400", "x"])),
    st.tuples(st.just("--max-time"), st.floats(max_value=0.0).map(repr)),
    st.tuples(st.just("--max-time"), st.floats(min_value=3600.0, exclude_min=True).map(repr)),
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=_bad_bytes)
def test_property_hostile_files_are_refused_with_exit_2(tmp_path_factory, data):
    d = tmp_path_factory.mktemp("h")
    p = d / "s.toml"
    p.write_bytes(data)
    rc, lines, _ = _run(["sim", str(p)])
    assert rc == 2 and len(lines) == 1 and str(p) in lines[0], lines
    assert os.listdir(d) == ["s.toml"]


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flag=_bad_flag, cmd=st.sampled_from(["sim", "plot", "montecarlo"]))
def test_property_hostile_flags_are_refused_with_exit_2(flag, cmd):
    argv = [cmd, HOPPER] + (["--runs", "1"] if cmd == "montecarlo" else []) + ["%s=%s" % flag]
    rc, lines, _ = _run(argv)
    assert rc == 2 and len(lines) == 1 and flag[0] in lines[0], lines
