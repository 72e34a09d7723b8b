"""deploy / flash / bench argument and error paths, without hardware: the
mpremote and esptool command lines are asserted by mocking subprocess.run."""
import json
import os
import struct
import subprocess
import sys

import pytest

from host_tools import cli
from host_tools.board import bench, deploy, flash


class FakeRun:
    """Records every command; answers by a function of the argv."""

    def __init__(self, answer):
        self.calls = []
        self.answer = answer

    def __call__(self, cmd, **kwargs):
        self.calls.append(list(cmd))
        rc, out, err = self.answer(list(cmd))
        return subprocess.CompletedProcess(cmd, rc, out, err)


def test_deploy_without_the_port_device_exits_2_and_runs_nothing(monkeypatch, capsys):
    fake = FakeRun(lambda cmd: (0, "", ""))
    monkeypatch.setattr(subprocess, "run", fake)
    rc = cli.main(["deploy", "--board", "pico", "--port", "/dev/does-not-exist"])
    assert rc == 2
    assert "--port /dev/does-not-exist: no such device" in capsys.readouterr().err
    assert fake.calls == []


def test_deploy_rejects_an_unknown_board_as_usage(capsys):
    assert cli.main(["deploy", "--board", "arduino", "--port", "x"]) == 2
    assert "--board: invalid choice: 'arduino'" in capsys.readouterr().err


@pytest.fixture
def mpy_cross_calls(monkeypatch):
    """The argv of every subprocess deploy runs (the real mpy-cross still runs)."""
    seen = []
    real_run = subprocess.run

    def spy(cmd, **kw):
        seen.append(list(cmd))
        return real_run(cmd, **kw)

    monkeypatch.setattr(subprocess, "run", spy)
    return seen


def test_deploy_builds_for_the_boards_architecture(tmp_path, mpy_cross_calls):
    seen = mpy_cross_calls
    files = deploy.build("pico", str(tmp_path), deploy.ARCH["pico"], minify=False)
    assert all("-march=armv6m" in c for c in seen)
    assert {"board.py", "main.py", "config.json", "lib/lander/app.mpy"} <= set(files)
    # a module is named on the board by its package path, not the host's path
    app_call = next(c for c in seen if c[-1].endswith(os.path.join("lander", "app.py")))
    assert app_call[app_call.index("-s") + 1] == "lander/app.py"
    assert open(files["board.py"]).read() == open("boards/pico/board.py").read()
    cfg = json.load(open(files["config.json"]))
    assert cfg["params"]["rate_hz"] == 50


def test_deploy_copies_only_what_differs_then_verifies(tmp_path, monkeypatch):
    a, b = tmp_path / "a.mpy", tmp_path / "main.py"
    a.write_bytes(b"AAA")
    b.write_bytes(b"print(1)\n")
    files = {"lib/lander/a.mpy": str(a), "main.py": str(b)}
    good = {p: deploy.local_hash(f) for p, f in files.items()}
    state = {"hash_calls": 0}

    def answer(cmd):
        if "exec" in cmd:
            state["hash_calls"] += 1
            have = dict(good)
            if state["hash_calls"] == 1:
                have["main.py"] = None                 # missing on the board
            return 0, "HASHES %r\n" % have, ""
        return 0, "", ""

    fake = FakeRun(answer)
    monkeypatch.setattr(subprocess, "run", fake)
    res = deploy.deploy_files("/dev/ttyACM0", files, log=lambda *a: None)
    assert res == {"copied": ["main.py"], "unchanged": 1, "removed": [], "verified": 2}
    mp = [sys.executable, "-m", "mpremote", "connect", "/dev/ttyACM0", "resume"]
    assert fake.calls[0][:7] == mp + ["exec"]
    assert fake.calls[1] == mp + ["fs", "cp", str(b), ":main.py"]
    assert fake.calls[2][:7] == mp + ["exec"]
    assert len(fake.calls) == 3


def test_deploy_fails_with_exit_1_when_the_verify_does_not_match(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(deploy, "build", lambda *a, **k: {"main.py": str(tmp_path / "m.py")})
    (tmp_path / "m.py").write_bytes(b"x")
    port = tmp_path / "ttyFAKE"
    port.write_text("")
    fake = FakeRun(lambda cmd: (0, "HASHES {'main.py': 'beef'}\n", "") if "exec" in cmd else (0, "", ""))
    monkeypatch.setattr(subprocess, "run", fake)
    rc = cli.main(["deploy", "--board", "esp32", "--port", str(port), "--out", str(tmp_path / "b")])
    assert rc == 1
    assert "verify: 1 file(s) differ" in capsys.readouterr().err


def _esp_image(tmp_path):
    p = tmp_path / "fw.bin"
    p.write_bytes(bytes([0xE9, 0x03, 0x02, 0x20]) + bytes(60))
    return p


def test_flash_esp32_runs_chip_id_write_and_verify_with_current_command_names(tmp_path, monkeypatch):
    img = _esp_image(tmp_path)
    port = tmp_path / "ttyUSB0"
    port.write_text("")
    fake = FakeRun(lambda cmd: (0, "Verification successful (digest matched).\n" if "verify-flash" in cmd else "", ""))
    monkeypatch.setattr(subprocess, "run", fake)
    assert cli.main(["flash", "--board", "esp32", "--port", str(port), str(img)]) == 0
    et = [sys.executable, "-m", "esptool", "--chip", "esp32", "--port", str(port)]
    assert fake.calls == [et + ["chip-id"],
                          et + ["--baud", "460800", "write-flash", "0x1000", str(img)],
                          et + ["--baud", "460800", "verify-flash", "0x1000", str(img)]]


def test_flash_reports_a_wrong_chip_as_bad_input_and_writes_nothing(tmp_path, monkeypatch, capsys):
    img = _esp_image(tmp_path)
    port = tmp_path / "ttyUSB0"
    port.write_text("")
    fake = FakeRun(lambda cmd: (2, "", "A fatal error occurred: This chip is ESP32-S3, not ESP32. "
                                          "Wrong chip argument?"))
    monkeypatch.setattr(subprocess, "run", fake)
    assert cli.main(["flash", "--board", "esp32", "--port", str(port), str(img)]) == 2
    assert "wrong chip: This chip is ESP32-S3, not ESP32" in capsys.readouterr().err
    assert len(fake.calls) == 1 and "write-flash" not in fake.calls[0]


def test_flash_refuses_a_uf2_for_an_esp32_and_a_missing_port(tmp_path, monkeypatch, capsys):
    fake = FakeRun(lambda cmd: (0, "", ""))
    monkeypatch.setattr(subprocess, "run", fake)
    uf2 = tmp_path / "fw.uf2"
    uf2.write_bytes(struct.pack("<8I", 0x0A324655, 0x9E5D5157, 0x2000, 0x10000000, 256, 0, 1, 0xE48BFF56)
                    + bytes(476) + struct.pack("<I", 0x0AB16F30))
    port = tmp_path / "ttyUSB0"
    port.write_text("")
    assert cli.main(["flash", "--board", "esp32", "--port", str(port), str(uf2)]) == 2
    assert "a UF2 file" in capsys.readouterr().err
    assert cli.main(["flash", "--board", "esp32", "--port", str(tmp_path / "nope"), str(_esp_image(tmp_path))]) == 2
    assert "no such device" in capsys.readouterr().err
    assert fake.calls == []


def test_flash_pico_copies_the_uf2_to_the_boot_drive_and_rejects_other_families(tmp_path, capsys):
    drive = tmp_path / "RPI-RP2"
    drive.mkdir()
    (drive / "INFO_UF2.TXT").write_text("UF2 Bootloader v3.0\nBoard-ID: RPI-RP2\n")

    def uf2(family):
        return (struct.pack("<8I", 0x0A324655, 0x9E5D5157, 0x2000, 0x10000000, 256, 0, 1, family)
                + bytes(476) + struct.pack("<I", 0x0AB16F30))
    good = tmp_path / "mp.uf2"
    good.write_bytes(uf2(0xE48BFF56))
    assert cli.main(["flash", "--board", "pico", "--port", str(drive), str(good)]) == 0
    assert (drive / "mp.uf2").read_bytes() == good.read_bytes()
    other = tmp_path / "samd.uf2"
    other.write_bytes(uf2(0x68ED2B88))
    assert cli.main(["flash", "--board", "pico", "--port", str(drive), str(other)]) == 2
    assert "not RP2040" in capsys.readouterr().err


def test_bench_on_the_sim_board_passes_its_checks_and_stores_a_calibration(tmp_path):
    out = tmp_path / "cfg.json"
    rc = cli.main(["bench", "--port", "sim", "--samples", "20", "--distance-m", "1.5", "--calibrate",
                   "--config-file", str(out)])
    assert rc == 0
    cal = json.load(open(out))["calibration"]["imu"]
    assert cal["samples"] == 20 and len(cal["gyro_bias_urad_s"]) == 3


def test_bench_flags_a_tape_distance_the_range_does_not_match():
    lines = bench.sample_sim(10)
    _, samples = bench.parse_samples(lines)
    assert bench.check(samples, 1.5)["checks"]["range_vs_tape"] is True
    assert bench.check(samples, 2.0)["checks"]["range_vs_tape"] is False


def test_deploy_sends_the_import_closure_of_the_board_and_nothing_host_only():
    # lazy imports inside functions count (App imports commands on demand);
    # the HIL link goes only to the HIL board; the bench's replay buses and
    # the CPython stand-ins go nowhere
    pico = deploy.firmware_modules("pico")
    hil = deploy.firmware_modules("hil")
    for rel in ("app.py", "commands.py", "drivers/lsm6dsox.py", "telemetry/rs.py", "__init__.py",
                "drivers/__init__.py", "telemetry/__init__.py"):
        assert rel in pico
    for rel in ("hil.py", "replay.py", "_hostcompat.py"):
        assert rel not in pico
    # the pico's WIRING has no attitude unit and no TF-Luna: their drivers stay
    # home (lander/board.py imports each in the builder of its part)
    assert set(hil) - set(pico) == {"hil.py", "drivers/attitude.py", "drivers/tfluna.py"}
    assert set(deploy.firmware_modules("pyboard")) - set(pico) == {"drivers/tfluna.py"}


def test_unused_part_drivers_are_the_parts_the_wiring_leaves_out_or_sets_to_none(tmp_path):
    board_py = tmp_path / "board.py"
    board_py.write_text("WIRING = {'imu': ('i2c', 'i2c0', 0x6A), 'rangefinder': None, 'storage': '/bb'}\n")
    unused = deploy.unused_part_drivers(str(board_py))
    assert "lander.drivers.tfluna" in unused and "lander.drivers.attitude" in unused
    assert "lander.drivers.lsm6dsox" not in unused and "lander.drivers.storage" not in unused
    board_py.write_text("WIRING = make()\n")
    assert deploy.unused_part_drivers(str(board_py)) == set()


def test_deploy_romfs_writes_the_image_then_copies_only_the_root_files(tmp_path, monkeypatch):
    # the modules go to the ROMFS partition in one image; board.py, main.py and
    # config.json to the filesystem; a lib/lander there (an earlier file
    # deploy) would shadow /rom/lib on sys.path and is removed
    import ast

    monkeypatch.setattr(deploy, "check_port", lambda port: None)
    hashes, copied = {}, []

    def answer(cmd):
        if "exec" in cmd and "LIBLANDER" in cmd[-1]:
            return 0, "LIBLANDER 1\n", ""
        if "exec" in cmd:                     # the hash query: nothing on the board until the copy
            paths = ast.literal_eval(cmd[-1].split("_want = ")[1].split("\n")[0])
            return 0, "HASHES %r\n" % {p: hashes[p] if copied else None for p in paths}, ""
        if "cp" in cmd:
            copied.append(cmd)
        return 0, "", ""

    fake = FakeRun(answer)
    real_run, real_build = subprocess.run, deploy.build

    def build(*a, **k):
        files = real_build(*a, **k)
        hashes.update({p: deploy.local_hash(f) for p, f in files.items()})
        return files

    monkeypatch.setattr(deploy, "build", build)
    monkeypatch.setattr(subprocess, "run", lambda cmd, **kw: (fake if cmd[0] == sys.executable else real_run)(cmd, **kw))
    rc = cli.main(["deploy", "--board", "pico", "--port", "/dev/ttyACM0", "--romfs", "--out", str(tmp_path)])
    assert rc == 0
    image = tmp_path / "pico" / "lander.romfs"
    romfs_call = next(c for c in fake.calls if "romfs" in c)
    assert romfs_call[-3:] == ["romfs", "deploy", str(image)]
    assert image.read_bytes()[:3] == b"\xd2\xcd\x31"           # the ROMFS header
    assert any(c[-3:] == ["rm", "-r", ":lib/lander"] for c in fake.calls)
    sent = sorted(arg for c in copied for arg in c if arg.startswith(":"))
    assert sent == [":board.py", ":config.json", ":main.py"]


def test_deploy_romfs_to_the_virtual_board_is_refused_before_anything_is_built(tmp_path, capsys):
    rc = cli.main(["deploy", "--board", "pico", "--port", "virtual", "--romfs", "--out", str(tmp_path)])
    assert rc == 2
    assert "--romfs" in capsys.readouterr().err
    assert not os.listdir(tmp_path)


def test_a_romfs_image_mounts_on_micropython_and_the_firmware_imports_from_it(tmp_path):
    # the image is real: the unix port mounts it as a VfsRom and imports the
    # App from /rom/lib (the .mpy executed in place)
    from tests.harness import micropython_binary

    mp = micropython_binary()
    if mp is None:
        pytest.skip("micropython (unix port) not installed")
    files = deploy.build("sim", str(tmp_path / "b"), None)
    image = tmp_path / "fw.romfs"
    image.write_bytes(deploy.romfs_image(files))
    script = tmp_path / "t.py"
    script.write_text("import sys, vfs\nf = open(%r, 'rb')\nimg = f.read()\nf.close()\n"
                      "vfs.mount(vfs.VfsRom(img), '/rom')\nsys.path.insert(0, '/rom/lib')\n"
                      "import lander.app\nprint(lander.app.__file__)\n" % str(image))
    out = subprocess.run([mp, str(script)], capture_output=True, text=True, cwd=str(tmp_path), timeout=120)
    assert out.stdout.strip() == "/rom/lib/lander/app.mpy", out.stderr


def test_deploy_passes_the_optimisation_level_to_mpy_cross():
    cmd = deploy.mpy_cross_cmd("mpy-cross", "armv6m", os.path.join("firmware", "lander", "app.py"), "app.mpy", 3)
    assert cmd[:3] == ["mpy-cross", "-march=armv6m", "-O3"]
    assert "-O0" not in deploy.mpy_cross_cmd("mpy-cross", None, "firmware/lander/app.py", "app.mpy")


def test_board_packet_tables_read_the_same_fields_without_the_grounds_columns():
    # the board's packets.py: for every packet the same (format, source,
    # attribute, index) the encoder compiles and the same lengths, the
    # ground's columns (name, unit, exp10) left out; the same line count
    # (tracebacks), fewer octets
    import types

    from lander.telemetry import packets

    path = os.path.join("firmware", "lander", "telemetry", "packets.py")
    text = open(path, encoding="utf-8").read()
    board = deploy.board_source(text)
    mod = types.ModuleType("packets_on_the_board")
    exec(compile(board, path, "exec"), mod.__dict__)

    def encoder_view(pkts):
        return [(apid, pname, [f[1:5] for f in fields]) for apid, pname, fields in pkts]

    assert encoder_view(mod.PACKETS) == encoder_view(packets.PACKETS)
    assert [f[1:5] for f in mod.BB_RECORD] == [f[1:5] for f in packets.BB_RECORD]
    assert [mod.packet_len(f) for _, _, f in mod.PACKETS] == [packets.packet_len(f) for _, _, f in packets.PACKETS]
    named = [f[0] for _, _, fields in mod.PACKETS for f in fields if (f[0], f[5], f[6]) != ("", "", 0)]
    assert named == ["bb_seq"]           # the one-line _BB_SEQ is not a table string: sent whole
    assert board.count("\n") == text.count("\n")
    assert len(board) < len(text) - 3500
    table = board[board.index("_CRITICAL = \"\"\""):board.index("# One event")]
    assert "  " not in table and "\nI 0 cycle\n" in table and "altitude_mm" in table and " m " not in table
    assert "\ni 4 accel_mm_s2 2\n" in table     # IMU is source 4; an index other than -1 stays


def test_board_source_leaves_strings_that_are_not_tables_alone():
    text = 'A = """\na  b  c\n"""\nB = """\nn I APP  x -1 -  0  # note\n"""\n'
    assert deploy.board_source(text) == 'A = """\na  b  c\n"""\nB = """\nI 0 x\n"""\n'


def test_deploy_compiles_the_compact_packet_tables_under_their_package_name(tmp_path, mpy_cross_calls):
    seen = mpy_cross_calls
    deploy.build("pico", str(tmp_path), deploy.ARCH["pico"], minify=False)
    call = next(c for c in seen if c[c.index("-s") + 1] == "lander/telemetry/packets.py")
    assert call[-1] != os.path.join(deploy.host_tools.FIRMWARE_DIR, "lander", "telemetry", "packets.py")
    assert "  " not in open(call[-1], encoding="utf-8").read().split("_CRITICAL = \"\"\"", 1)[1].split("# One", 1)[0]


def test_private_const_renames_a_const_used_only_after_its_definition():
    # the uses after the definition are folded by the compiler either way;
    # strings, comments and other objects' attributes keep the name
    text = "A = const(3)\n\n\ndef f(x):\n    return A + x.A  # A\n\n\nS = 'A'\n"
    assert deploy.private_const(text, "A") == (
        "_A = const(3)\n\n\ndef f(x):\n    return _A + x.A  # A\n\n\nS = 'A'\n")


@pytest.mark.parametrize("text", [
    "def f():\n    return A\n\n\nA = const(3)\n",     # used before it is defined: not folded there
    "A = const(3)\nA = 4\n",                           # assigned again
    "A = const(3)\n_A = 1\n",                          # the private name is taken
    "A = const(3)\nf(A=1)\n",                          # a keyword argument
    "A = const(3)\n\n\ndef g():\n    global A\n",     # declared global
    "B = A\n",                                         # no const definition
])
def test_private_const_leaves_a_name_it_cannot_rename_safely(text):
    assert deploy.private_const(text, "A") is None


def test_board_sources_keep_the_consts_another_module_or_board_code_names():
    texts = {"a.py": "X = const(1)\nY = const(2)\nZ = const(3)\nv = X + Y + Z\n",
             "b.py": "from lander.a import X\n"}
    out = deploy.board_sources(texts, "import lander.a\nprint(lander.a.Y)\n")
    assert out["a.py"] == "X = const(1)\nY = const(2)\n_Z = const(3)\nv = X + Y + _Z\n"
    assert out["b.py"] == texts["b.py"]


def test_board_sources_privatise_a_const_another_module_defines_for_itself():
    # two drivers each with their own CAUSE: neither uses the other's, so
    # both go private; a module that reads a.CAUSE as an attribute keeps it
    texts = {"a.py": "CAUSE = const(1)\nv = CAUSE\n", "b.py": "CAUSE = const(2)\nw = CAUSE\n"}
    out = deploy.board_sources(texts)
    assert out == {"a.py": "_CAUSE = const(1)\nv = _CAUSE\n", "b.py": "_CAUSE = const(2)\nw = _CAUSE\n"}
    texts["b.py"] = "import a\nCAUSE = const(2)\nw = CAUSE + a.CAUSE\n"
    assert deploy.board_sources(texts)["a.py"] == texts["a.py"]


def test_deploy_compiles_each_module_with_its_host_only_consts_private(tmp_path, mpy_cross_calls):
    # commands.py's opcodes and most reasons are named only by the host and
    # the tests: the board's copy has them private, line for line, compiled
    # under the module's own name (the names left as they are: minify=False)
    deploy.build("pico", str(tmp_path), deploy.ARCH["pico"], minify=False)
    call = next(c for c in mpy_cross_calls if "-s" in c and c[c.index("-s") + 1] == "lander/commands.py")
    src = os.path.join("firmware", "lander", "commands.py")
    text = open(src, encoding="utf-8").read()
    board = open(call[-1], encoding="utf-8").read()
    assert board != text and board.count("\n") == text.count("\n")
    assert "\n_REJ_TAG = const(7)" in board and "\nREJ_TAG = const(7)" not in board
    assert "\n_OP_ABORT = const(0x01)" in board


def test_deploy_compiles_a_flight_board_at_O3_and_the_sim_board_with_line_numbers(tmp_path, mpy_cross_calls):
    # -O3 leaves out the line-number tables (the flight boards' default);
    # the sim and hil boards (bench, virtual board) keep them, as --opt 0 does
    deploy.build("pico", str(tmp_path / "p"), deploy.ARCH["pico"])
    pico = list(mpy_cross_calls)
    deploy.build("sim", str(tmp_path / "s"), None)
    sim = mpy_cross_calls[len(pico):]
    deploy.build("pico", str(tmp_path / "q"), deploy.ARCH["pico"], opt=0)
    pico0 = mpy_cross_calls[len(pico) + len(sim):]
    assert pico and all("-O3" in c for c in pico)
    assert sim and pico0 and not any(a.startswith("-O") for c in sim + pico0 for a in c)
