"""The deploy's minify passes (host_tools/board/minify.py): the firmware's own
names shortened, the const imports left out, a module named by its file.
The renamer on hand-written tricky sources (run on the real MicroPython
binary against the original), the flight boards' renamed closures compiled
and imported, and the hil board's renamed closure flown over HIL on the
virtual board bit-identical to the plain firmware in-process."""
import json
import os
import shutil
import subprocess
import sys

import pytest

from host_tools.board import deploy, hil, minify, virtual

SCENARIOS = os.path.join(os.path.dirname(__file__), "..", "scenarios")


def _micropython(tmp_path, files: dict, main: str) -> str:
    """Run `main` on the unix port with `files` ({path: text}) as its
    filesystem; returns stdout (stderr on a failure)."""
    for path, text in files.items():
        p = tmp_path / path
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    (tmp_path / "main_.py").write_text(main)
    proc = subprocess.run([virtual.micropython_binary(), "main_.py"], cwd=str(tmp_path),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


# Tricky on purpose: a name used through a string, a method a stream also
# has, the bus API, keywords to the firmware's own function and to a callback,
# an attribute set in one module and read in another, a private const.
WIDGET = '''\
from lander.compat import const

_GAIN_SHIFT = const(2)


class Widget:
    def __init__(self, bus, gain_q15=1):
        self._bus = bus
        self._scratch = bytearray(2)
        self.speed_mm_s = 7
        self.level_raw = 0
        self.gain_q15 = gain_q15

    def readinto(self, buf):
        buf[0] = self.level_raw
        return 1

    def sample_level(self):
        self._bus.readfrom_mem_into(0x10, 3, self._scratch)
        self.level_raw = self._scratch[0] << _GAIN_SHIFT
        return getattr(self, "speed_mm_s") * self.gain_q15


def make_widget(bus, gain_q15=1):
    return Widget(bus, gain_q15=gain_q15)
'''
APP = '''\
from lander.drivers.widget import make_widget


def run(bus, callback):
    w = make_widget(bus, gain_q15=3)
    callback(level_hint=2)
    got = w.sample_level()
    buf = bytearray(1)
    w.readinto(buf)
    return got + w.level_raw + buf[0]


def level_hint_of(level_hint):
    return level_hint
'''
COMPAT = "from micropython import const\n"
BOARD_SIDE = '''\
from lander.app import run


class Bus:
    def readfrom_mem_into(self, addr, reg, buf):
        buf[0] = addr + reg


def cb(**kw):
    print(sorted(kw.items()))


print(run(Bus(), cb))
'''
TEXTS = {"compat.py": COMPAT, "drivers/__init__.py": "", "drivers/widget.py": WIDGET, "app.py": APP,
         "__init__.py": ""}


def _renamed(classes=True):
    # others={}: these sources alone (not the firmware's other modules)
    return minify.rename(TEXTS, BOARD_SIDE, classes=classes, others={})


def test_a_name_the_code_uses_through_a_string_keeps_its_spelling():
    out, names = _renamed()
    assert "speed_mm_s" not in names
    assert "self.speed_mm_s = 7" in out["drivers/widget.py"]


def test_a_method_an_outside_api_also_has_and_the_bus_api_keep_their_names():
    out, names = _renamed()
    assert "readinto" not in names and "readfrom_mem_into" not in names
    assert "def readinto(self, buf)" in out["drivers/widget.py"]
    assert "w.readinto(buf)" in out["app.py"]


def test_an_attribute_set_in_one_module_and_read_in_another_is_renamed_in_both():
    out, names = _renamed()
    new = names["level_raw"]
    assert "self.%s = 0" % new in out["drivers/widget.py"] and "w.%s + buf[0]" % new in out["app.py"]
    assert "level_raw" not in out["drivers/widget.py"] + out["app.py"]
    assert "def %s(self)" % names["sample_level"] in out["drivers/widget.py"]


def test_a_keyword_to_the_firmwares_own_function_is_renamed_with_its_parameter():
    out, names = _renamed()
    g, mk = names["gain_q15"], names["make_widget"]
    assert "def %s(bus, %s=1)" % (mk, g) in out["drivers/widget.py"]
    assert "%s(bus, %s=3)" % (mk, g) in out["app.py"]
    assert "from lander.drivers.widget import %s" % mk in out["app.py"]


def test_a_keyword_to_a_callee_the_firmware_does_not_define_keeps_its_name():
    # level_hint is also a parameter of the firmware's level_hint_of, but the
    # call passes it to a callback the board side hands in
    out, names = _renamed()
    assert "level_hint" not in names
    assert "callback(level_hint=2)" in out["app.py"]


def test_names_the_board_side_uses_module_names_and_dunders_keep_their_spelling():
    out, names = _renamed()
    assert not {"run", "Bus", "cb", "app", "drivers", "widget", "compat", "__init__"} & set(names)


def test_new_names_are_short_fresh_and_a_private_const_stays_private():
    # the global table alone (Widget's _bus is class-private: the class pass
    # names it, tests/test_deploy_private_attrs.py)
    out, names = _renamed(classes=False)
    words = set()
    for text in list(TEXTS.values()) + [BOARD_SIDE]:
        words |= minify._name_tokens(text)
    assert all(len(new) < len(old) for old, new in names.items())
    assert not set(names.values()) & (words | minify.external_names())
    # a `_` const stays `_` (the compiler leaves it out of the module); any
    # other private name gets a plain one: the underscore means nothing else
    assert names["_GAIN_SHIFT"].startswith("_") and not names["_bus"].startswith("_")
    assert not names["Widget"].startswith("_")
    star = dict(TEXTS, **{"app.py": "from lander.drivers.widget import *\n" + APP})
    assert minify.rename(star, BOARD_SIDE, classes=False, others={})[1]["_bus"].startswith("_")
    assert "%s = const(2)" % names["_GAIN_SHIFT"] in out["drivers/widget.py"]


def test_the_renamed_modules_compute_what_the_originals_do_on_micropython(tmp_path):
    out, names = _renamed()
    assert len(names) >= 8
    run = {}
    for tag, texts in (("orig", TEXTS), ("renamed", out)):
        files = {"lander/" + p: t for p, t in texts.items()}
        run[tag] = _micropython(tmp_path / tag, files, BOARD_SIDE)
    assert run["orig"] == "[('level_hint', 2)]\n%d\n" % (7 * 3 + (19 << 2) + ((19 << 2) & 0xFF))
    assert run["renamed"] == run["orig"]


def test_a_renaming_that_touches_more_than_names_is_refused():
    minify.check("a.py", "x = 1\n", "y = 1\n", {"x": "y"})
    with pytest.raises(minify.MinifyError):
        minify.check("a.py", "x = 'x'\n", "y = 'y'\n", {"x": "y"})
    with pytest.raises(minify.MinifyError):
        minify.check("a.py", "x = 1\n", "y = 2\n", {"x": "y"})


def test_the_const_import_is_dropped_where_the_compiler_folds_every_const(tmp_path):
    text = ("from lander.compat import const\n_A = const(3)\nB = const(_A * 2)\n\n\n"
            "def f(x):\n    return x + _A + B\n")
    out = minify.drop_const_import(text)
    assert out == text.replace("from lander.compat import const", "")
    assert out.count("\n") == text.count("\n")
    got = _micropython(tmp_path, {"m.py": out}, "import m\nprint(m.f(1), m.B)\n")
    assert got == "10 6\n"


def test_the_const_import_keeps_the_other_names_imported():
    text = "from lander.compat import const, sleep_us\nA = const(1)\n"
    assert minify.drop_const_import(text) == "from lander.compat import sleep_us\nA = const(1)\n"


@pytest.mark.parametrize("text", [
    "from lander.compat import const\n\n\ndef f():\n    A = const(1)\n    return A\n",    # not top level
    "from lander.compat import const\nk = const\n",                                # const as a value
    "from lander.compat import const\nA = 1 + const(2)\n",                          # not NAME = const(
])
def test_the_const_import_stays_where_const_would_be_looked_up(tmp_path, text):
    assert minify.drop_const_import(text) == text


def test_without_the_import_const_named_as_a_value_is_looked_up_on_micropython(tmp_path):
    # why the import stays unless every use is a folded definition
    (tmp_path / "m.py").write_text("A = const(1)\nk = const\n")
    (tmp_path / "main_.py").write_text("import m\nprint(m.A)\n")
    proc = subprocess.run([virtual.micropython_binary(), "main_.py"], cwd=str(tmp_path),
                          capture_output=True, text=True, timeout=60)
    assert "NameError" in proc.stdout + proc.stderr


def test_minify_is_on_for_the_flight_boards_and_off_for_the_bench_and_the_hil_board():
    assert deploy.MINIFY_BOARDS == ("pico", "esp32", "pyboard")
    args = __import__("argparse").ArgumentParser()
    deploy.add_arguments(args)
    assert args.parse_args(["--board", "pico", "--port", "x"]).minify is None
    assert args.parse_args(["--board", "pico", "--port", "x", "--no-minify"]).minify is False


@pytest.mark.parametrize("board", ["pico", "esp32", "pyboard"])
def test_a_flight_boards_renamed_closure_compiles_and_imports_on_micropython(board, tmp_path):
    # every module compiled by mpy-cross for the board's architecture (pure
    # bytecode: the unix port loads it), imported, and config.json read back
    # through the renamed Config: the keys keep their names
    files = deploy.build(board, str(tmp_path / "b"), deploy.ARCH[board])
    names = json.load(open(str(tmp_path / "b" / "names.json")))
    assert len(names) > 500
    mods = sorted(r[len("lib/"):-len(".mpy")].replace("/", ".") for r in files if r.endswith(".mpy"))
    mods = [m[:-len(".__init__")] if m.endswith(".__init__") else m for m in mods]
    main = ("import sys\nsys.path.insert(0, 'lib')\n" + "".join("import %s\n" % m for m in mods)
            + "from lander.config import load_json, CFG_OK\ncfg, why, arg = load_json('config.json')\n"
            + "print(why == CFG_OK, cfg.rate_hz, cfg.crc)\n")
    (tmp_path / "b" / "main_.py").write_text(main)
    proc = subprocess.run([virtual.micropython_binary(), "main_.py"], cwd=str(tmp_path / "b"),
                          capture_output=True, text=True, timeout=60)
    cfg = json.load(open(files["config.json"]))
    assert proc.stdout.split() == ["True", "50", str(cfg["crc"])], proc.stdout + proc.stderr


def test_a_flight_board_deploys_smaller_with_each_module_named_by_its_file(tmp_path):
    # without the bundle pass (--no-bundle): one .mpy per module, named by its file
    sizes = {}
    for tag, minified in (("plain", False), ("minified", True)):
        files = deploy.build("pico", str(tmp_path / tag), "armv6m", minify=minified, bundle=False)
        sizes[tag] = sum(os.path.getsize(f) for r, f in files.items() if r.endswith(".mpy"))
    assert sizes["minified"] < sizes["plain"] - 5000
    with open(str(tmp_path / "minified" / "lib" / "lander" / "drivers" / "engine.mpy"), "rb") as fh:
        data = fh.read()
    assert b"engine.py" in data and b"lander/drivers/engine.py" not in data


def _classes_on(monkeypatch) -> list:
    """deploy.build with the class-private pass on, whatever MINIFY_PASSES
    says, the packet tables' attribute column (deploy.hide_tables) never
    private; returns the list each build's {"Class.new": "old"} is added to."""
    tables, hide, hidden, seen = minify.rename_tables, deploy.hide_tables, [], []

    def noted(texts):
        out = hide(texts)
        hidden[:] = out[1]
        return out

    def on(texts, side="", classes=True, others=None, attributes=()):
        column = {row.split()[2] for t in hidden for row in t.split("\n") if row.split()}
        out = tables(texts, side, True, others, set(attributes) | column)
        seen.append(out[2])
        return out
    monkeypatch.setattr(deploy, "hide_tables", noted)
    monkeypatch.setattr(minify, "rename_tables", on)
    monkeypatch.setattr(minify, "rename", lambda texts, side="", classes=True, others=None, attributes=():
                        on(texts, side, attributes=attributes)[:2])
    return seen


@pytest.mark.parametrize("classes", [False, True])
def test_the_renamed_hil_closure_flies_bit_identical_to_the_plain_firmware_in_process(tmp_path, monkeypatch,
                                                                                      classes):
    # the pass must not change what the firmware computes: the hil board's
    # closure, renamed as the flight boards' are, on the virtual board (the
    # real MicroPython), against the unrenamed firmware in-process: the
    # actuator command stream and the downlink, bit for bit, on a nominal
    # start and on a flight with an IMU reset and two telecommands; with and
    # without the class-private attributes named from one pool
    seen = _classes_on(monkeypatch) if classes else []
    root = str(tmp_path / "fs")
    files = deploy.build("sim-virtual", str(tmp_path / "build"), None, minify=True)
    names = json.load(open(str(tmp_path / "build" / "names.json")))
    old = set(names.values())
    assert {"Nav", "set_throttle", "pack_fields"} <= old and len(names) > 500
    if classes:
        # hundreds of attributes in a pool of under a hundred names, Nav's among them
        assert len(seen) == 1 and len(seen[0]) > 250 and any(k.startswith("Nav.") for k in seen[0])
        assert len({k.split(".")[-1] for k in seen[0]}) < 100
    # a config.json key, a name hil.state_words reads through a string, the
    # bus API, what the host's START_SERVE calls: kept
    assert not {"rate_hz", "fault_flags", "readfrom_mem_into", "serve", "make_board"} & old
    with virtual.VirtualBoard(root) as vb:
        deploy.deploy_files(vb.port, files)
    text = open(os.path.join(SCENARIOS, "museum", "07_imu_reset_then_command.toml")).read()
    early = tmp_path / "imu_reset_early.toml"
    early.write_text(text.replace("t_s = 40.0", "t_s = 0.6").replace("t_s = 45.0", "t_s = 1.0")
                     .replace("t_s = 50.0", "t_s = 1.6"))
    for k, (scenario, seconds, cycles) in enumerate(((os.path.join(SCENARIOS, "nominal.toml"), 2.0, 101),
                                                     (str(early), 3.0, 151))):
        # each flight on a board as deployed (a flight leaves its files on
        # the board's flash, the in-process board starts without any)
        fresh = str(tmp_path / ("fs%d" % k))
        shutil.copytree(root, fresh)
        out = hil.fly(scenario, "virtual", max_time_s=seconds, root=fresh)
        ref = hil.fly(scenario, "inprocess", max_time_s=seconds)
        assert out["summary"]["hil"]["crc_errors"] == 0
        assert len(out["commands"]) == cycles
        assert out["commands"] == ref["commands"]
        assert out["result"].downlink == ref["result"].downlink and len(ref["result"].downlink) > 400
        assert out["summary"]["events"] == ref["summary"]["events"]
    assert ref["summary"]["events"]["command_reset_imu"] == 1


# --- the outside API rule, against the host's emulated parts --------------------------
def _emulated_api() -> set:
    """The names the host's emulated parts define on their classes (methods
    and attributes: I2C.readfrom_mem_into, UART.read, Pin.value, ...): the
    machine API as the sim board's firmware meets it, spelled as a port's."""
    import ast
    import glob

    out = set()
    for path in glob.glob(os.path.join(deploy.host_tools.REPO_ROOT, "host_tools", "emu", "*.py")):
        for cls in ast.walk(ast.parse(open(path, encoding="utf-8").read())):
            if isinstance(cls, ast.ClassDef):
                for node in ast.walk(cls):
                    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        out.add(node.name)
                    elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                        out.add(node.attr)
    return out


def _renamed_firmware(dst: str) -> dict:
    """Every firmware module renamed by minify.rename into dst/lander (the
    host stand-ins _host*.py copied as they are), with the host's own code
    (simulator, bench, ground) as board side, less the emulated API names:
    those keep their spelling only by the renamer's outside-API rule."""
    import glob

    fw = os.path.join(deploy.host_tools.FIRMWARE_DIR, "lander")
    texts, host_only = {}, []
    for path in glob.glob(os.path.join(fw, "**", "*.py"), recursive=True):
        rel = os.path.relpath(path, fw).replace(os.sep, "/")
        if os.path.basename(rel).startswith("_host"):
            host_only.append(rel)
        else:
            texts[rel] = open(path, encoding="utf-8").read()
    side = [deploy.board_side_text("sim")]
    for path in glob.glob(os.path.join(deploy.host_tools.REPO_ROOT, "host_tools", "**", "*.py"), recursive=True):
        side.append(open(path, encoding="utf-8").read())
    api = _emulated_api()
    words = set(minify._WORD.findall("\n".join(side))) - api
    renamed, names = minify.rename(texts, " ".join(sorted(words)), classes=True)
    for rel, text in list(renamed.items()) + [(r, open(os.path.join(fw, r)).read()) for r in host_only]:
        p = os.path.join(dst, "lander", rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w", encoding="utf-8") as fh:
            fh.write(text)
    return names


FLY = '''
import hashlib, json, sys
import host_tools
if sys.argv[1]:
    # the renamed copy first, and not host_tools' cached finder of firmware/
    sys.meta_path = [f for f in sys.meta_path if type(f).__module__ != "host_tools.codecache"]
    sys.path.insert(0, sys.argv[1])
from host_tools.board import hil
from host_tools.sim import runner, scenario
import lander
cmds, marks, orig = [], {}, runner._Firmware.step
def step(self, now_us):
    orig(self, now_us)
    cmds.append(hil.actuator_state(self.bench, hil.actuator_uarts(self.bench), marks))
runner._Firmware.step = step
res = runner.fly(scenario.load(sys.argv[2]), record=False, max_time_s=float(sys.argv[3]))
print(json.dumps({"from": lander.__file__, "cycles": len(cmds), "commands": repr(cmds),
                  "downlink": res.downlink.hex(), "summary": repr(res.summary)}))
'''


def test_renamed_firmware_meets_the_emulated_machine_api_by_its_own_names(tmp_path):
    # the sim board's parts are the host's emulators (the machine API by its
    # ports' names, not renamed): every name the firmware reaches on a bus,
    # pin or PWM must keep its spelling, also where the firmware defines the
    # same name itself (a driver's read(), the mirror buses of lander/hil.py)
    names = _renamed_firmware(str(tmp_path / "fw"))
    api = _emulated_api()
    assert {"readfrom_mem_into", "read", "write", "value", "duty_ns", "feed"} <= api
    assert not {"readfrom_mem_into", "read", "write", "value", "duty_ns", "feed"} & set(names)
    assert len(names) > 800
    (tmp_path / "fly.py").write_text(FLY)
    early = tmp_path / "imu_reset_early.toml"
    text = open(os.path.join(SCENARIOS, "museum", "07_imu_reset_then_command.toml")).read()
    early.write_text(text.replace("t_s = 40.0", "t_s = 0.6").replace("t_s = 45.0", "t_s = 1.0")
                     .replace("t_s = 50.0", "t_s = 1.6"))
    for scenario, seconds in ((os.path.join(SCENARIOS, "nominal.toml"), "3.0"), (str(early), "3.0")):
        got = {}
        for tag, root in (("plain", ""), ("renamed", str(tmp_path / "fw"))):
            proc = subprocess.run([sys.executable, str(tmp_path / "fly.py"), root, scenario, seconds],
                                  capture_output=True, text=True, timeout=300,
                                  cwd=deploy.host_tools.REPO_ROOT)
            assert proc.returncode == 0, proc.stderr[-3000:]
            got[tag] = json.loads(proc.stdout.strip().splitlines()[-1])
        assert got["renamed"]["from"].startswith(str(tmp_path / "fw"))
        assert got["renamed"].pop("from") != got["plain"].pop("from")
        assert got["plain"]["cycles"] == 151 and len(got["plain"]["downlink"]) > 800
        assert got["renamed"] == got["plain"]
