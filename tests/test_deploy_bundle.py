"""The deploy-time bundle pass (host_tools/board/bundle.py): a flight board's
modules written as the one module lander/__init__.py, run on the real
MicroPython (the unix port), with the same results as the modules."""
import json
import os
import subprocess

import pytest

from host_tools.board import bundle, deploy, virtual

A = '''from lander.compat import const
LIMIT = const(7)
_STEP = const(2)
shared = [0]


def clamp(x):
    return min(x, LIMIT)
'''
B = '''from lander import a as a_mod
from lander.a import clamp
from lander.compat import const
_STEP = const(5)
LIMIT = 100


def twice(x):
    return clamp(2 * x) + _STEP


def limit_of_a():
    LIMIT = -1            # a local: not the global of either module
    return a_mod.LIMIT + LIMIT


def step_of_a():
    shared = a_mod.shared
    return shared
'''
COMPAT = '''try:
    from micropython import const
except ImportError:
    def const(x):
        return x
'''
INIT = "# the package\n"


def _texts(**extra):
    texts = {"__init__.py": INIT, "compat.py": COMPAT, "a.py": A, "b.py": B}
    texts.update(extra)
    return texts


def _run_bundle(tmp_path, source: str, script: str) -> str:
    lib = tmp_path / "lib" / "lander"
    lib.mkdir(parents=True)
    (lib / "__init__.py").write_text(source)
    (tmp_path / "main_.py").write_text("import sys\nsys.path.insert(0, 'lib')\n" + script)
    proc = subprocess.run([virtual.micropython_binary(), "main_.py"], cwd=str(tmp_path),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout.split()


def test_a_global_two_modules_define_keeps_its_name_in_the_first_and_each_module_reaches_its_own(tmp_path):
    side = "from lander.b import twice, limit_of_a, step_of_a\nfrom lander.a import clamp"
    source, _ = bundle.bundle(_texts(), side)
    # a's LIMIT is read as a_mod.LIMIT where a local LIMIT is in scope: a's is renamed
    assert "\nLIMIT_a = const(7)" in source and "\nLIMIT = 100" in source
    assert "_STEP_b = const(5)" in source
    out = _run_bundle(tmp_path, source, side + "\nprint(twice(2), twice(9), limit_of_a(), step_of_a())\n")
    # a's clamp reaches a's LIMIT (7), b's twice reaches b's _STEP (5)
    assert out == ["9", "12", "6", "[0]"]


def test_mod_name_is_written_as_the_global_and_a_local_of_that_spelling_renames_the_global(tmp_path):
    source, _ = bundle.bundle(_texts(), "")
    # `shared = a_mod.shared` in a function: `shared` there is the local
    assert "\nshared_a = [0]" in source and "    shared = shared_a\n" in source
    assert "a_mod" not in source.replace("from lander import a as a_mod", "")


def test_imports_of_the_bundles_modules_are_left_out_and_lines_kept(tmp_path):
    source, line_map = bundle.bundle(_texts(), "")
    assert "from lander" not in source
    first = dict((p, n) for n, p in line_map)["b.py"]
    lines = source.split("\n")
    # b.py's line 1 (its import) is a `pass`, its line 8 is still `def twice`
    assert lines[first - 1] == "pass" and lines[first + 6] == "def twice(x):"
    assert bundle.line_map_lookup(line_map, first + 7) == ("b.py", 8)


def test_an_import_inside_a_function_reaches_the_global(tmp_path):
    c = "def late():\n    from lander.b import twice\n    return twice(1)\n"
    source, _ = bundle.bundle(_texts(**{"c.py": c}), "from lander.c import late")
    out = _run_bundle(tmp_path, source, "from lander.c import late\nprint(late())\n")
    assert out == ["7"]


def test_the_modules_the_board_side_imports_are_found_as_the_bundle(tmp_path):
    side = "from lander.b import twice\nfrom lander import a as fw_a\nimport lander.b"
    source, _ = bundle.bundle(_texts(), side)
    out = _run_bundle(tmp_path, source, "from lander.b import twice\nfrom lander import a as A\n"
                      "import lander\nprint(twice(1), A.clamp(99), A is lander)\n")
    assert out == ["7", "7", "True"]
    assert "'a b'" in source


def test_an_outside_import_another_module_made_is_left_out():
    one = "from array import array\nX = array('h', [1])\n"
    two = "from array import array\nY = array('h', [2])\n"
    source, _ = bundle.bundle({"__init__.py": INIT, "one.py": one, "two.py": two}, "")
    assert source.count("from array import array") == 1


def test_a_modules_getattr_hook_is_left_out(tmp_path):
    p = "def __getattr__(name):\n    raise AttributeError(name)\n\n\nZ = 1\n"
    source, _ = bundle.bundle(_texts(**{"p.py": p}), "from lander import b")
    assert "__getattr__" not in source
    out = _run_bundle(tmp_path, source, "from lander import b\nimport lander\nprint(lander.Z)\n")
    assert out == ["1"]


@pytest.mark.parametrize("text, why", [
    ("from lander.a import *\n", "star import"),
    ("from lander import a as a_mod\nX = a_mod\n", "used as an object"),
    ("from lander import a as a_mod\n\n\ndef f():\n    a_mod.LIMIT = 3\n", "assigns"),
    ("def len(x):\n    return 0\n", "global of another module"),
    ("import lander.a\n", "import"),
])
def test_what_the_bundle_cannot_keep_equal_refuses_it(text, why):
    texts = _texts(**{"c.py": text})
    if "len" in text:
        texts["d.py"] = "def size(x):\n    return len(x)\n"
    with pytest.raises(bundle.BundleError, match=why):
        bundle.bundle(texts, "")


def test_an_import_cycle_among_top_levels_refuses_the_bundle():
    texts = {"__init__.py": INIT, "x.py": "from lander.y import Y\nX = 1\n", "y.py": "from lander.x import X\nY = 2\n"}
    with pytest.raises(bundle.BundleError, match="import each other"):
        bundle.bundle(texts, "")


def test_a_renamed_global_the_board_side_reaches_as_an_attribute_refuses_the_bundle():
    with pytest.raises(bundle.BundleError, match="as an attribute"):
        bundle.bundle(_texts(), "import lander.b as B\nB.LIMIT")


def test_qstr_refs_count_attributes_parameters_and_globals_not_locals():
    text = "G = 1\n\n\ndef f(obj, k):\n    loc = obj.attr + obj.attr + G\n    return loc\n"
    refs = bundle.qstr_refs(text)
    assert refs["attr"] == 2 and refs["obj"] == 1 and refs["k"] == 1
    assert refs["G"] == 2 and refs["f"] == 2 and "loc" not in refs


def test_priming_puts_the_most_referred_names_first_in_a_line_that_never_runs(tmp_path):
    text = "def f(o):\n" + "".join("    o.hot%d = o.hot%d + o.hot%d\n" % (i, i, i) for i in range(3)) \
        + "    return o.hot0 + o.cold\n"
    primed, added = bundle.prime_qstrs(text)
    assert added == 1
    # hot0 4 references, hot1 and hot2 3, o 1 (a parameter), cold 1
    assert primed.split("\n")[0].startswith("if __name__ is None: hot0.hot1.hot2  #")
    assert primed.endswith(text)


def test_priming_makes_the_flight_bundle_smaller(tmp_path):
    files = deploy.build("pico", str(tmp_path / "b"), "armv6m")
    src = open(str(tmp_path / "b" / "board-source" / "lander" / "__init__.py")).read()
    assert src.startswith("if __name__ is None: ")
    sizes = []
    for k, text in enumerate((src.split("\n", 1)[1], src)):
        (tmp_path / ("s%d.py" % k)).write_text(text)
        out = str(tmp_path / ("s%d.mpy" % k))
        subprocess.run(deploy.mpy_cross_cmd(deploy.mpy_cross_path(), "armv6m", str(tmp_path / ("s%d.py" % k)),
                                            out, 3, "lander.py"), check=True)
        sizes.append(os.path.getsize(out))
    assert sizes[1] < sizes[0] - 500
    assert os.path.getsize(files["lib/lander/__init__.mpy"]) == sizes[1]


def test_a_flight_board_deploys_one_module_smaller_than_one_per_module(tmp_path):
    bundled = deploy.build("pico", str(tmp_path / "one"), "armv6m")
    split = deploy.build("pico", str(tmp_path / "many"), "armv6m", bundle=False)
    mpy = [r for r in bundled if r.endswith(".mpy")]
    assert mpy == ["lib/lander/__init__.mpy"]
    size_one = os.path.getsize(bundled[mpy[0]])
    size_many = sum(os.path.getsize(f) for r, f in split.items() if r.endswith(".mpy"))
    assert size_one < size_many - 3000
    with open(bundled[mpy[0]], "rb") as fh:
        assert b"lander.py" in fh.read()
    lines = json.load(open(str(tmp_path / "one" / "bundle-lines.json")))
    assert [p for _, p in lines][:2] == ["__init__.py", "compat.py"]
    src = open(str(tmp_path / "one" / "board-source" / "lander" / "__init__.py")).read().split("\n")
    first = dict((p, n) for n, p in lines)["drivers/engine.py"]
    engine = open(os.path.join(deploy.host_tools.FIRMWARE_DIR, "lander", "drivers", "engine.py")).read()
    # a line of the bundle maps back to its module's line (the first is its comment)
    assert src[first - 1].startswith("#") and engine.split("\n")[0].startswith("#")


# --- the packet tables' attribute column, renamed with the code ---------------------
def test_a_board_table_is_put_aside_from_the_renamer_and_written_back_with_the_new_names():
    text = 'T = """\nI 0 cycle\nh 1 pitch_bau 2\n"""\nD = """a free text"""\n'
    hidden, tables = deploy.hide_tables({"m.py": text})
    assert tables == ["\nI 0 cycle\nh 1 pitch_bau 2\n"]
    assert hidden["m.py"] == 'T = """#0"""\nD = """a free text"""\n'
    back = deploy.restore_tables(hidden, tables, {"pitch_bau": "pB", "cycle": "cycle"})
    assert back["m.py"] == 'T = """\nI 0 cycle\nh 1 pB 2\n"""\nD = """a free text"""\n'


def test_a_string_that_is_not_a_board_table_is_not_put_aside():
    for body in ("\nI APP cycle -1\n", "\nI 0 cycle extra words\n", "", "\nI 0 cycle\nnot a row\n"):
        text = 'T = """%s"""\n' % body
        assert deploy.hide_tables({"m.py": text}) == ({"m.py": text}, [])


def test_the_flight_bundle_renames_a_telemetry_attribute_in_its_table_and_in_its_code(tmp_path):
    deploy.build("pico", str(tmp_path / "b"), "armv6m")
    names = json.load(open(str(tmp_path / "b" / "names.json")))
    new = {old: new for new, old in names.items()}
    src = open(str(tmp_path / "b" / "board-source" / "lander" / "__init__.py")).read()
    # fault_flags: the critical packet's, read by getattr from the table
    short = new["fault_flags"]
    assert "\nH 1 %s\n" % short in src and "self.%s = " % short in src
    assert ".fault_flags" not in src and "1 fault_flags" not in src


def test_a_bundled_deploy_removes_the_per_module_files_an_earlier_deploy_left(tmp_path):
    root = tmp_path / "fs"
    split = deploy.build("sim-virtual", str(tmp_path / "many"), None, minify=True, bundle=False)
    bundled = deploy.build("sim-virtual", str(tmp_path / "one"), None, minify=True)
    with virtual.VirtualBoard(str(root)) as vb:
        first = deploy.deploy_files(vb.port, split, log=lambda *a: None)
        assert first["removed"] == [] and (root / "lib" / "lander" / "app.mpy").is_file()
        second = deploy.deploy_files(vb.port, bundled, log=lambda *a: None)
        old = sorted(p for p in split if p.startswith("lib/lander/") and p != "lib/lander/__init__.mpy")
        assert sorted(second["removed"]) == old and len(old) > 20
        assert sorted(str(p.relative_to(root)) for p in (root / "lib").rglob("*") if p.is_file()) == \
            ["lib/lander/__init__.mpy"]
        assert deploy.deploy_files(vb.port, bundled, log=lambda *a: None)["removed"] == []
