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


# --- found by mutation (tools/mutate.py board-bundle): one behaviour each -----------
def _refusal(texts: dict, side: str = "") -> str:
    with pytest.raises(bundle.BundleError) as exc:
        bundle.bundle(texts, side)
    return str(exc.value)


@pytest.mark.parametrize("extra, side, message", [
    ({"c.py": "from . import a\n"}, "", "c.py:1: a relative import"),
    ({"c.py": "def (:\n"}, "", "c.py: invalid syntax (c.py, line 1)"),
    ({"c.py": "import lander.a, lander.b\n"}, "", "c.py:1: `import lander.a, lander.b` (write `from ... import`)"),
    ({"c.py": "from lander.a import *\n"}, "", "c.py:1: a star import"),
    ({"c.py": "from lander.a import clamp\nfrom lander.b import twice as clamp\n"}, "",
     "c.py:2: clamp is imported as two different things"),
    ({"c.py": "from lander import a as a_mod\n\n\ndef f():\n    return a_mod.nothing\n"}, "",
     "a.py: nothing is not defined there"),
    ({"c.py": "from lander import pkg as p\n\n\ndef f():\n    return p.sub\n", "pkg/__init__.py": "",
      "pkg/sub.py": "S = 1\n"}, "", "c.py:5: p.sub is a module"),
    ({"c.py": "from lander import a as a_mod\n\n\ndef f():\n    a_mod.LIMIT = 3\n"}, "",
     "c.py:5: assigns a_mod.LIMIT (a module's global from outside it)"),
    ({"c.py": "from lander import a as a_mod\nX = a_mod\n"}, "", "c.py:2: the module a_mod used as an object"),
    ({"c.py": "def len(x):\n    return 0\n", "d.py": "def size(x):\n    return len(x)\n"}, "",
     "d.py:2: len is a global of another module in the bundle"),
    ({"c.py": "X = 1\n", "d.py": "X = 3\n\n\ndef f():\n    global X\n    X = 4\n"}, "",
     "d.py:5: `global X` of a renamed global"),
    ({"c.py": "def array():\n    return 0\n", "d.py": "from array import array\n"}, "",
     "array is both an outside module's name and a global of the firmware"),
    ({"c.py": "X = 1\n", "d.py": "X = 2\nX_d = 3\n"}, "", "X: the bundle's new name X_d is taken"),
    ({}, "from lander.a import LIMIT", "LIMIT: a local shadows it where it is written, and the board side imports it"),
    ({}, "from lander.a import LIMIT\nfrom lander.b import LIMIT",
     "LIMIT is imported from the board by two different definitions"),
    ({}, "import lander.b as B\nB.LIMIT", "LIMIT must be renamed in the bundle (two definitions, or a local "
     "shadows it) and the board side reaches for it as an attribute"),
    ({"c.py": "@staticmethod\ndef __getattr__(name):\n    return 0\n"}, "", "c.py:2: a decorated __getattr__"),
    ({"c.py": "X = '\u00e9'\n"}, "", "c.py is not ASCII (the bundle's column arithmetic assumes it)"),
    ({"c.py": "X = 1; from lander.a import clamp\n"}, "", "c.py:1: a statement left out shares its line with other code"),
    ({"c.py": "from lander.a import clamp; X = 1\n"}, "", "c.py:1: a statement left out shares its line with other code"),
    ({"d.py": "from lander.compat import const; X = 1\n"}, "", "d.py:1: a statement left out shares its line with other code"),
    ({"c.py": "from array import array\n", "d.py": "from array import array; X = 1\n"}, "",
     "d.py:1: a statement left out shares its line with other code"),
    ({"c.py": "import lander.a as x, lander.b as y\n"}, "", "c.py:1: `import lander.a, lander.b` (write `from ... import`)"),
    ({"c.py": "import lander.a as m\nimport lander.b as m\n"}, "", "c.py:2: m is imported as two different things"),
    ({"c.py": "import os.path as p\n", "d.py": "import os as p\n"}, "",
     "p is both an outside module's name and a global of the firmware"),
    ({}, "from lander.a import nothing\nfrom lander.a import LIMIT",
     "LIMIT: a local shadows it where it is written, and the board side imports it"),
    ({"c.py": "X = 1\n", "x.py": "X = 2\n", "pkg/__init__.py": "", "pkg/x.py": "X = 3\n"}, "",
     "X: the bundle's new name X_x is taken"),
])
def test_each_refusal_names_the_file_line_and_reason(extra, side, message):
    assert _refusal(_texts(**extra), side) == message


def test_an_import_cycle_refusal_names_the_modules_in_order():
    texts = {"__init__.py": INIT, "x.py": "from lander.y import Y\nX = 1\n", "y.py": "from lander.x import X\nY = 2\n"}
    assert _refusal(texts) == "the modules' top levels import each other: lander.x -> lander.y -> lander.x"


@pytest.mark.parametrize("y", [
    "if True:\n    from lander.x import X\n",
    "if False:\n    pass\nelse:\n    from lander.x import X\n",
    "try:\n    from lander.x import X\nexcept ImportError:\n    pass\n",
    "if True:\n    import lander.x as x_mod\n",
])
def test_an_import_in_a_top_level_block_counts_for_the_import_cycle(y):
    # lander.x is visited first: y's import is reached while x is still open
    texts = {"__init__.py": INIT, "x.py": "from lander.y import Y\nX = 1\n", "y.py": y + "Y = 2\n"}
    assert _refusal(texts) == "the modules' top levels import each other: lander.x -> lander.y -> lander.x"


@pytest.mark.parametrize("f", [
    "def f():\n    from lander.y import Y\n    return Y\n",
    "def f():\n    from lander import y as y_mod\n    return y_mod.Y\n",
    "def f():\n    import lander.y as y_mod\n    return y_mod.Y\n",
])
def test_an_import_inside_a_function_puts_its_module_first_and_makes_no_cycle(f):
    texts = {"__init__.py": INIT, "x.py": f, "y.py": "Y = 1\n\n\ndef g():\n    from lander.x import f\n    return f\n"}
    source, line_map = bundle.bundle(texts, "")
    assert [p for _, p in line_map] == ["__init__.py", "y.py", "x.py"]
    assert "    return Y\n" in source


def test_a_module_a_function_imports_comes_before_it():
    texts = {"__init__.py": INIT, "x.py": "def f():\n    from lander.y import Y\n    return Y\n", "y.py": "Y = 1\n"}
    _, line_map = bundle.bundle(texts, "")
    assert [p for _, p in line_map] == ["__init__.py", "y.py", "x.py"]


def test_a_function_two_modules_define_is_renamed_at_its_def_and_its_calls(tmp_path):
    c = "def helper():\n    return 1\n\n\nclass Box:\n    N = 10\n"
    d = "def  helper():\n    return 2\n\n\nclass Box(object):\n    N = 20\n\n\ndef use():\n    return helper() + Box.N\n"
    source, _ = bundle.bundle(_texts(**{"c.py": c, "d.py": d}), "")
    assert "\ndef  helper_d():\n" in source and "\nclass Box_d(object):\n" in source
    assert "    return helper_d() + Box_d.N\n" in source
    out = _run_bundle(tmp_path, source, "import lander\nprint(lander.use(), lander.helper(), lander.Box.N)\n")
    assert out == ["22", "1", "10"]


def test_a_package_init_global_is_suffixed_with_the_packages_name_a_submodules_with_its_own():
    texts = _texts(**{"c.py": "X = 1\n", "pkg/__init__.py": "X = 2\n", "pkg/sub.py": "Y = 5\nX = 3\n",
                      "e.py": "from lander.pkg.sub import Y\nZ = Y\n"})
    source, _ = bundle.bundle(texts, "")
    assert "\nX = 1\n" in source and "\nX_pkg = 2\n" in source and "\nX_sub = 3\n" in source
    assert "\nZ = Y\n" in source
    assert "import" not in source.split("# ---- lander/e.py\n")[1].split("\n")[0]


def test_an_import_as_of_one_closure_module_is_accepted_and_left_out():
    source, _ = bundle.bundle(_texts(**{"c.py": "import lander.a as a_mod\nX = a_mod.LIMIT\n"}), "")
    assert "\nX = LIMIT_a\n" in source and "import lander" not in source


def test_the_same_name_imported_twice_from_the_same_place_is_accepted():
    source, _ = bundle.bundle(_texts(**{"c.py": "from lander.a import clamp\nfrom lander.a import clamp\nX = clamp\n"}), "")
    assert "\nX = clamp\n" in source


def test_a_getattr_hook_that_reads_a_renamed_global_is_left_out_whole_and_the_code_after_it_renamed(tmp_path):
    p = "LIMIT = 3\n\n\ndef __getattr__(name):\n    return LIMIT + 0  # the hook\n\n\ndef p_limit():\n    return LIMIT"
    source, line_map = bundle.bundle(_texts(**{"p.py": p}), "")
    first = dict((q, n) for n, q in line_map)["p.py"]
    lines = source.split("\n")
    assert lines[first - 1:first + 8] == ["LIMIT_p = 3", "", "", "pass", "", "", "", "def p_limit():",
                                          "    return LIMIT_p"]


def test_a_getattr_hook_on_the_last_line_without_a_newline_is_left_out():
    source, _ = bundle.bundle(_texts(**{"p.py": "Z = 1\n\n\ndef __getattr__(name):\n    return 0"}), "")
    assert source.endswith("# ---- lander/p.py\nZ = 1\n\n\npass\n")


def test_a_left_out_import_keeps_its_comment_and_a_multi_line_one_its_lines():
    c = "from lander.a import clamp  # why\nfrom lander.a import (\n    LIMIT)\nX = clamp\n"
    source, line_map = bundle.bundle(_texts(**{"c.py": c}), "")
    first = dict((q, n) for n, q in line_map)["c.py"]
    assert source.split("\n")[first - 1:first + 3] == ["pass  # why", "pass", "", "X = clamp"]


@pytest.mark.parametrize("one", [
    "from array import array\nif True:\n    array = 5\n",
    "from array import array\ntry:\n    array = 5\nexcept Exception:\n    pass\n",
    "from array import array\n\n\ndef f():\n    global array\n    array = None\n",
])
def test_an_outside_import_its_module_rebinds_is_that_modules_global_not_a_shared_import(one):
    two = "from array import array\nY = array('h', [2])\n"
    assert _refusal({"__init__.py": INIT, "one.py": one, "two.py": two}) == \
        "array is both an outside module's name and a global of the firmware"


def test_a_name_two_modules_import_from_each_other_in_functions_is_left_as_it_is():
    # neither defines D: the import fails on the board as it would have without the bundle
    texts = _texts(**{"c.py": "def f():\n    from lander.d import D\n    return D\n",
                      "d.py": "def g():\n    from lander.c import D\n    return D\n"})
    source, _ = bundle.bundle(texts, "")
    assert source.count("    return D\n") == 2


@pytest.mark.parametrize("one, two", [
    ("from array import array\nif True:\n    pass\n", "from array import array\n"),
    ("from array import array\ntry:\n    pass\nexcept Exception:\n    pass\n", "from array import array\n"),
    ("import array\n", "import array\n"),
    ("import array as arr\n", "import array as arr\n"),
    ("import os.path\n", "import os\n"),          # both bind `os`, the module os
])
def test_a_plain_outside_import_an_earlier_module_made_is_left_out(one, two):
    source, _ = bundle.bundle({"__init__.py": INIT, "one.py": one, "two.py": two}, "")
    assert source.endswith("# ---- lander/one.py\n" + one + "# ---- lander/two.py\npass\n")


SCOPES = '''X = 2


def deco(f):
    return f


class K(object):
    X = 5                   # the class's own X
    Y = X

    def m(self):
        return X            # a method does not see the class's X: the global


@deco
def f(a=X, *args, k=X, **kw):
    return a + k


def comps():
    return ([X + i for i in range(X) if X], [x for X in range(X) for x in range(X)],
            [y for _ in (1,) for y in range(X)], {k: X for _ in (1,) for k in range(X)}, {X for _ in (1,)}, sum(X for _ in (1,)))


def lam():
    return (lambda y=X: y + X)()


def shadow():
    X = 7
    return [X for _ in (1,)] + [(lambda: X)()]


def nested_class():
    class In:
        Z = X
    return In.Z


def caught():
    try:
        raise ValueError(3)
    except ValueError as X:
        return X.args[0]


def inner_def():
    def X():
        return 9
    return X()


Z = 0


def set_z():
    global Z
    Z = X
    return Z
'''


def test_a_renamed_global_is_reached_in_every_kind_of_scope_and_a_local_of_its_name_is_not(tmp_path):
    source, _ = bundle.bundle(_texts(**{"c.py": "X = 1\n", "d.py": SCOPES}), "")
    assert "\nX_d = 2\n" in source and "    X = 5 " in source and "    X = 7\n" in source
    out = _run_bundle(tmp_path, source, "import lander as L\nfor v in (L.K.Y, L.K().m(), L.f(), L.comps(), L.lam(), "
                      "L.shadow(), L.nested_class(), L.caught(), L.inner_def(), L.set_z(), L.X):\n    print(str(v).replace(' ', ''))\n")
    assert out == ["5", "2", "4", "([2,3],[0],[0,1],{0:2,1:2},{2},2)", "4", "[7,7]", "2", "3", "9", "2", "1"]


def test_a_line_of_the_bundle_maps_to_its_module_from_the_modules_first_line():
    line_map = [(2, "__init__.py"), (5, "a.py")]
    assert bundle.line_map_lookup(line_map, 5) == ("a.py", 1)
    assert bundle.line_map_lookup(line_map, 4) == ("__init__.py", 3)
    with pytest.raises(ValueError, match="^line 1 is before the first module$"):
        bundle.line_map_lookup(line_map, 1)


def test_board_imports_lists_each_name_of_a_from_import_and_each_dotted_name():
    side = "from lander.b import twice, step_of_a as s\nimport lander.a\n"
    assert bundle.board_imports(side) == ["lander.a", "lander.b", ("lander.b", "twice"), "lander.b.twice",
                                          ("lander.b", "step_of_a"), "lander.b.step_of_a"]


def test_qstr_refs_count_keywords_class_body_names_and_no_const():
    # the class body's x and y are names (each use a qstr), its K the global (counted once)
    text = ("from micropython import const\nK = const(3)\n\n\nclass C:\n    x = 1\n    y = x + K\n\n\n"
            "def f(a):\n    import gc\n    return g(key=a, n=gc)\n")
    assert bundle.qstr_refs(text) == {"K": 2, "C": 2, "x": 2, "y": 1, "f": 2, "a": 1, "key": 1, "n": 1, "g": 1}


def test_priming_orders_names_by_references_then_spelling_and_leaves_a_cold_text_alone():
    text = "def f(o):\n    return o.b + o.b + o.b + o.b + o.a + o.a + o.a + o.c + o.c + o.c\n"
    assert bundle.prime_qstrs(text)[0].split("\n")[0].startswith("if __name__ is None: b.a.c  #")
    assert bundle.prime_qstrs("X = 1\n") == ("X = 1\n", 0)


def test_an_outside_import_its_own_module_rebinds_is_kept_when_no_other_module_names_it():
    one = "from array import array\narray = 5\n"
    source, _ = bundle.bundle({"__init__.py": INIT, "one.py": one}, "")
    assert source.endswith("# ---- lander/one.py\n" + one)


def test_a_name_a_top_level_block_imports_is_that_modules_global():
    one = "if True:\n    from array import array\nX = array('h', [1])\n"
    source, _ = bundle.bundle({"__init__.py": INIT, "one.py": one, "two.py": "def array():\n    return 0\n"}, "")
    assert "\ndef array_two():\n" in source and "\nX = array('h', [1])\n" in source


def test_a_closure_import_after_an_outside_one_is_left_out():
    source, _ = bundle.bundle(_texts(**{"c.py": "from array import array\nfrom lander.a import clamp\nX = clamp\n"}), "")
    assert "# ---- lander/c.py\nfrom array import array\npass\nX = clamp\n" in source


def test_modules_functions_import_in_a_chain_come_in_reverse_order():
    texts = {"__init__.py": INIT, "x.py": "def f():\n    from lander.y import g\n    return g()\n",
             "y.py": "def g():\n    from lander.z import Z\n    return Z\n", "z.py": "Z = 1\n"}
    _, line_map = bundle.bundle(texts, "")
    assert [p for _, p in line_map] == ["__init__.py", "z.py", "y.py", "x.py"]


def test_a_def_whose_name_is_on_a_continuation_line_and_an_async_def_are_renamed():
    c = "def helper():\n    return 1\n\n\nasync def job():\n    return 1\n"
    d = "def \\\n        helper():\n    return 2\n\n\nasync def job():\n    return 2\n"
    source, _ = bundle.bundle(_texts(**{"c.py": c, "d.py": d}), "")
    assert "\ndef \\\n        helper_d():\n" in source and "\nasync def job_d():\n" in source


def test_a_module_whose_top_level_imports_one_that_imports_it_in_a_function_comes_after_it():
    # x's function imports y, y's top level imports x: x must come first (it was refused as a cycle)
    texts = {"__init__.py": INIT, "x.py": "def f():\n    import lander.y as y_mod\n    return y_mod.Y\n",
             "y.py": "from lander.x import f\nY = 1\n"}
    source, line_map = bundle.bundle(texts, "")
    assert [p for _, p in line_map] == ["__init__.py", "x.py", "y.py"]
    assert "    return Y\n" in source


def test_a_module_a_function_imports_comes_after_what_its_top_level_imports():
    texts = {"__init__.py": INIT, "x.py": "def f():\n    from lander.y import Y\n    return Y\n",
             "y.py": "from lander.z import Z\nY = Z\n", "z.py": "Z = 1\n"}
    _, line_map = bundle.bundle(texts, "")
    assert [p for _, p in line_map] == ["__init__.py", "z.py", "y.py", "x.py"]


def test_a_getattr_hook_whose_last_line_ends_with_a_renamed_global_is_left_out():
    p = "LIMIT = 3\n\n\ndef __getattr__(name):\n    return LIMIT\n"
    source, _ = bundle.bundle(_texts(**{"p.py": p}), "")
    assert source.endswith("# ---- lander/p.py\nLIMIT_p = 3\n\n\npass\n\n")


def test_a_dotted_import_in_a_function_binds_a_local_of_its_first_name():
    d = "def f():\n    import os.path\n    return os.sep\n"
    source, _ = bundle.bundle(_texts(**{"c.py": "os = 1\n", "d.py": d}), "")
    assert source.endswith("# ---- lander/d.py\n" + d)


def test_a_dotted_import_in_a_top_level_block_binds_a_global_of_its_first_name():
    one = "if True:\n    import os.path\nX = os.sep\n"
    source, _ = bundle.bundle({"__init__.py": INIT, "one.py": one, "two.py": "os = 1\n"}, "")
    assert "\nos_two = 1\n" in source and "\nX = os.sep\n" in source
