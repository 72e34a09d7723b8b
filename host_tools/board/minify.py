"""Deploy-time passes that shrink the flight boards' .mpy without changing
what the firmware computes (`lander deploy`, host_tools/board/deploy.py).

A .mpy carries, per module, a table of the identifier strings (qstrs) its
code names: every attribute, method, function, class, global and parameter
name, once per module that names it (21 k of the pico's 83 k). Locals are not
stored (the compiler turns them into slots). Two passes here:

1. rename(): the names the firmware itself defines and that nothing outside
   the compiled modules needs spelled as they are get 1-2 character names,
   the same new name for the same old name across the whole closure (an
   attribute set in one module and read in another is renamed in both);
   a `_` const stays `_`-named (the compiler leaves it out of the module).
   A name keeps its spelling (keep_words) when it is
   - named by anything that is not the closure's code: a MicroPython,
     stdlib or machine API name (every identifier of the port stubs of rp2,
     esp32 and stm32, and of CPython's builtins and their types: a method
     the firmware defines that a bus or a file also has, `read`, `write`,
     `readinto`, ...), the host's stand-ins for that API (host_tools/emu/
     machine.py, lander/_hostcompat.py), every word of the board-side code
     (deploy.BOARD_SIDE: board.py, main.py, the host tools that send code to
     a board), a module's name, a keyword or a dunder;
   - a word inside any string of the closure: getattr/setattr/hasattr by a
     name from a literal or a table (telemetry/packets.py, Board.part),
     Config's FIELDS (the keys of config.json, also Config(**params));
   - a name imported from a module outside the closure;
   - a keyword argument in a call whose callee is not a function or class
     the firmware defines (the keyword is the callee's parameter name).
   Everything else the firmware defines (def, class, parameter, assignment
   to a name or an attribute) is renamed, token by token (tokenize: strings
   and comments are never touched), and the result is checked against the
   source's syntax tree with the same renaming applied: any other
   difference refuses the build (MinifyError).
2. drop_const_import(): `from lander.compat import const` is left out of a
   module whose every `const(` is a top-level `NAME = const(...)`: the
   MicroPython compiler folds those by the name `const` alone, without
   looking it up (one import and one qstr fewer, ~34 B a module). The line
   stays (empty, or with the other names imported) so line numbers hold.

The host (tests, simulator, ground tools) always runs the firmware from its
own source; only the built .mpy are renamed. A traceback from a renamed
build names the short names: build() writes the table (names.json beside
the built files, not deployed) to read one; on the bench, deploy with
--opt 0 (which also turns these passes off) or --no-minify.
"""
from __future__ import annotations

import ast
import functools
import glob
import io
import keyword
import os
import re
import sys
import tokenize

import host_tools

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# the ports whose stubs name the API the firmware may call (make venv
# installs them under <venv>/stubs/<port> for pyright)
STUB_PORTS = ("rp2", "esp32", "stm32")
# host stand-ins for the MicroPython API the firmware calls (each name they
# define is one the firmware may reach on a board's own objects)
API_STANDINS = ("host_tools/emu/machine.py", "firmware/lander/_hostcompat.py")


class MinifyError(Exception):
    """The renaming would not be a pure renaming: the build is refused."""


def _tokens(text: str):
    return list(tokenize.generate_tokens(io.StringIO(text).readline))


def _name_tokens(text: str) -> set:
    return {t.string for t in _tokens(text) if t.type == tokenize.NAME}


def _statement_strings(tree) -> set:
    """(line, column) of each string that is a statement of its own (a
    docstring): the compiler drops it, so a name in its prose is not a use."""
    return {(n.lineno, n.col_offset) for n in ast.walk(tree)
            if isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant) and isinstance(n.value.value, str)}


def string_words(text: str, tree=None) -> set:
    """Every identifier-like word inside the string literals of a module that
    the code can use (docstrings left out)."""
    skip = _statement_strings(tree if tree is not None else ast.parse(text))
    out: set = set()
    # Python >= 3.12 tokenizes an f-string in parts: its text is FSTRING_MIDDLE
    texts = (tokenize.STRING, getattr(tokenize, "FSTRING_MIDDLE", tokenize.STRING))
    for t in _tokens(text):
        if t.type in texts and t.start not in skip:
            out.update(_WORD.findall(t.string))
    return out


def stub_dirs() -> list:
    roots = [os.path.join(sys.prefix, "stubs"), os.path.join(host_tools.REPO_ROOT, ".venv", "stubs")]
    for root in roots:
        dirs = [os.path.join(root, port) for port in STUB_PORTS]
        if all(os.path.isfile(os.path.join(d, "machine.pyi")) for d in dirs):
            return dirs
    raise MinifyError("the MicroPython stubs (%s) are not installed under %s: `make venv` installs them; "
                      "without them the external API names are unknown (deploy with --no-minify)"
                      % (", ".join(STUB_PORTS), " or ".join(roots)))


@functools.lru_cache(maxsize=1)
def external_names() -> frozenset:
    """Names that belong to something other than the firmware: Python's
    keywords and builtins with every attribute of the builtin types, every
    identifier of the MicroPython port stubs (modules, classes, methods,
    parameters: machine.I2C.readfrom_mem_into, UART(baudrate=...), ...), and
    of the host's stand-ins for that API."""
    import builtins

    names = set(keyword.kwlist) | set(dir(builtins))
    for obj in vars(builtins).values():
        if isinstance(obj, type):
            names.update(dir(obj))
    for d in stub_dirs():
        for path in glob.glob(os.path.join(d, "**", "*.pyi"), recursive=True):
            with open(path, encoding="utf-8") as fh:
                try:
                    names |= _name_tokens(fh.read())
                except (tokenize.TokenError, SyntaxError):
                    raise MinifyError("cannot read the stub %s" % path)
    for rel in API_STANDINS:
        with open(os.path.join(host_tools.REPO_ROOT, rel), encoding="utf-8") as fh:
            names |= _name_tokens(fh.read())
    return frozenset(names)


def _defined(tree) -> set:
    """Names a module binds itself: functions, classes, parameters, names
    and attributes assigned (`self.x = ...`), global/nonlocal."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(node.name)
        elif isinstance(node, ast.arg):
            out.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            out.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            out.add(node.attr)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            out.update(node.names)
    return out


def _callee(node) -> str | None:
    f = node.func
    if isinstance(f, ast.Name):
        return f.id
    if isinstance(f, ast.Attribute):
        return f.attr
    return None


def _module_names(paths) -> set:
    """lander, its packages and modules: found by file name, never renamed."""
    out = {"lander"}
    for p in paths:
        out.update(p[:-3].split("/"))
    return out


def keep_words(texts: dict, trees: dict, board_side: str) -> set:
    """The names that must keep their spelling (module docstring, pass 1)."""
    keep = set(external_names()) | _module_names(texts)
    keep.update(_WORD.findall(board_side))
    for path, text in texts.items():
        keep |= string_words(text, trees[path])
    functions = set()
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                functions.add(node.name)
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                # from a module of the closure (or the lander package: its
                # modules); names from anywhere else keep their spelling
                inside = False
                if node.level == 0 and node.module is not None and node.module.split(".")[0] == "lander":
                    base = "/".join(node.module.split(".")[1:])
                    inside = node.module == "lander" or base + ".py" in texts \
                        or base + "/__init__.py" in texts
                if not inside:
                    keep.update(a.name for a in node.names)
            elif isinstance(node, ast.Call):
                # a keyword is the callee's parameter name: renamed with it
                # only when the callee is one of the firmware's own functions
                # or classes (by name), and no outside API has that name
                name = _callee(node)
                if name is None or name not in functions or name in keep:
                    keep.update(k.arg for k in node.keywords if k.arg is not None)
    return keep


def _fresh_names(taken: set):
    """a, b, ..., Z, aa, ab, ...: never a keyword, never a word in use."""
    import itertools
    import string

    first = string.ascii_letters
    rest = string.ascii_letters + string.digits
    for n in itertools.count(1):
        for head in first:
            for tail in itertools.product(rest, repeat=n - 1):
                name = head + "".join(tail)
                if name not in taken and "_" + name not in taken and not keyword.iskeyword(name):
                    yield name


def plan(texts: dict, board_side: str = "") -> dict:
    """{old name: new name} for the closure's sources ({path under lander/: text})."""
    trees = {p: ast.parse(t, p) for p, t in texts.items()}
    keep = keep_words(texts, trees, board_side)
    used = {p: _name_tokens(t) for p, t in texts.items()}
    taken = set(keep) | _name_tokens(board_side)
    for words in used.values():
        taken |= words
    defined = set()
    for tree in trees.values():
        defined |= _defined(tree)
    # dunders and CPython's private-mangled `__x` keep their names. A
    # `_`-named const stays `_<short>`: the compiler leaves such a const out
    # of the module. Any other `_x` gets a plain short name: on MicroPython
    # the underscore means nothing else to the firmware's code unless a
    # module star-imports (then every `_x` stays private), and it would
    # cost a byte per module.
    candidates = {n for n in defined if n not in keep and not n.startswith("__")}
    consts = set()
    for tree in trees.values():
        for node in tree.body:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) \
                    and isinstance(node.value.func, ast.Name) and node.value.func.id == "const":
                consts.update(t.id for t in node.targets if isinstance(t, ast.Name))
    star = any(isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names)
               for tree in trees.values() for node in ast.walk(tree))
    # a name is stored once in each module's qstr table that names it: the
    # names in most modules and the longest get the shortest new names
    gain = {n: len(n) * sum(1 for words in used.values() if n in words) for n in candidates}
    fresh = _fresh_names(taken)
    out = {}
    for n in sorted(candidates, key=lambda n: (-gain[n], n)):
        new = next(fresh)
        new = "_" + new if n.startswith("_") and (n in consts or star) else new
        if len(new) >= len(n):
            continue              # no shorter: keep it (the fresh name is spent, the order stays)
        out[n] = new
    return out


def apply(text: str, names: dict) -> str:
    """`text` with every NAME token in `names` replaced (strings, comments and
    layout untouched: the line and column of everything else shift only
    within the renamed lines)."""
    toks = _tokens(text)
    lines = text.splitlines(keepends=True)
    by_line: dict = {}
    for t in toks:
        if t.type == tokenize.NAME and t.string in names:
            by_line.setdefault(t.start[0], []).append(t)
    for row, ts in by_line.items():
        line = lines[row - 1]
        for t in sorted(ts, key=lambda t: -t.start[1]):
            c = t.start[1]
            line = line[:c] + names[t.string] + line[c + len(t.string):]
        lines[row - 1] = line
    return "".join(lines)


class _Renamer(ast.NodeTransformer):
    """The same renaming on a syntax tree: every identifier slot."""

    def __init__(self, names):
        self.n = names

    def _r(self, s):
        return self.n.get(s, s) if s is not None else s

    def generic_visit(self, node):
        for field in ("id", "attr", "name", "arg", "asname"):
            v = getattr(node, field, None)
            if isinstance(v, str):
                setattr(node, field, self._r(v))
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            node.names = [self._r(s) for s in node.names]
        if isinstance(node, ast.alias):
            node.name = ".".join(self._r(s) for s in node.name.split("."))
        if isinstance(node, ast.ImportFrom) and node.module:
            node.module = ".".join(self._r(s) for s in node.module.split("."))
        return super().generic_visit(node)


def check(path: str, before: str, after: str, names: dict) -> None:
    """Refuse unless `after` is `before` with exactly the identifiers of
    `names` renamed: every string, number and structure the same."""
    want = ast.dump(_Renamer(names).visit(ast.parse(before, path)))
    if ast.dump(ast.parse(after, path)) != want:
        raise MinifyError("renaming %s changed more than its names" % path)


def rename(texts: dict, board_side: str = "") -> tuple:
    """(renamed texts, {old: new}) for a board's closure."""
    names = plan(texts, board_side)
    out = {}
    for path, text in texts.items():
        new = apply(text, names)
        check(path, text, new, names)
        out[path] = new
    return out, names


_CONST_IMPORT = re.compile(r"^from lander\.compat import ([^#\n]*?)[ \t]*$", re.M)


def drop_const_import(text: str) -> str:
    """`text` without `const` in its `from lander.compat import` line when
    that is safe: every other `const` token is the callee of a top-level
    `NAME = const(...)` (MicroPython's compiler folds that by the name alone;
    anywhere else `const` would be looked up). The line's other names stay;
    a line left with none becomes empty (line numbers unchanged)."""
    m = _CONST_IMPORT.search(text)
    if m is None:
        return text
    imported = [s.strip() for s in m.group(1).split(",")]
    if "const" not in imported:
        return text
    toks = _tokens(text)
    import_row = text.count("\n", 0, m.start()) + 1
    for i, t in enumerate(toks):
        if t.type != tokenize.NAME or t.string != "const" or t.start[0] == import_row:
            continue
        ok = (i >= 2 and toks[i - 1].string == "=" and toks[i - 2].type == tokenize.NAME
              and toks[i - 2].start[1] == 0 and i + 1 < len(toks) and toks[i + 1].string == "(")
        if not ok:
            return text
    rest = [s for s in imported if s != "const"]
    line = "from lander.compat import " + ", ".join(rest) if rest else ""
    return text[:m.start()] + line + text[m.end():]
