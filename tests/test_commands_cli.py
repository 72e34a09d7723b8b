"""`lander command`: builds, signs and sends one telecommand; bad input exits 2."""
import subprocess
import sys

from host_tools.ground import command as tc


def _lander(*argv, cwd=None):
    return subprocess.run([sys.executable, "-m", "host_tools.cli", "command", *argv],
                          capture_output=True, text=True, cwd=cwd)


def test_prints_an_authentic_packet_in_hex():
    r = _lander("set_param", "id=3", "value=-5", "--dev-key", "--counter", "42")
    assert r.returncode == 0, r.stderr
    d = tc.parse(bytes.fromhex(r.stdout.strip()))
    assert d["authentic"] and d["counter"] == 42
    assert d["command"] == "set_param" and d["args"] == {"id": 3, "value": -5}


def test_a_key_file_in_hex_signs_with_that_key(tmp_path):
    key = bytes(range(32))
    (tmp_path / "k.hex").write_text(key.hex() + "\n")
    r = _lander("noop", "--key", str(tmp_path / "k.hex"), "--counter", "2")
    assert tc.parse(bytes.fromhex(r.stdout.strip()), key=key)["authentic"]
    assert not tc.parse(bytes.fromhex(r.stdout.strip()))["authentic"]


def test_counter_file_is_used_then_incremented_and_out_appends(tmp_path):
    ctr, out = tmp_path / "ctr", tmp_path / "up.bin"
    for _ in range(2):
        r = _lander("ping", "--dev-key", "--counter-file", str(ctr), "--out", str(out))
        assert r.returncode == 0 and str(out) in r.stdout
    assert ctr.read_text().strip() == "3"
    data = out.read_bytes()
    n = len(data) // 2
    assert [tc.parse(data[:n])["counter"], tc.parse(data[n:])["counter"]] == [1, 2]


def test_bad_input_exits_2_with_one_line_naming_it(tmp_path):
    for argv, word in ((["bogus", "--dev-key"], "bogus"),
                       (["set_param", "id=1", "--dev-key"], "value"),
                       (["beacon", "on=x", "--dev-key"], "on"),
                       (["noop", "--key", str(tmp_path / "none")], "--key"),
                       (["noop"], "--key")):
        r = _lander(*argv)
        assert r.returncode == 2, argv
        assert word in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
