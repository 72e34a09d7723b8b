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
   With classes=True (rename_tables; deploy's "private" pass), an
   attribute that only one class's own methods name, as `self.NAME`, and
   that nothing else can reach (private_attributes: no firmware base or
   subclass, no `x.NAME` of another object anywhere, not a decorated
   method, not in a string, not a keep word) takes its name from one pool
   the classes share: the class's most-used private attribute the pool's
   first name, and so on. One name then stands for an attribute of each of
   ~20 classes (pico: ~340 attributes in a pool of 86 names), which matters
   where the modules share one qstr table (the bundle pass). The pool's
   names are fresh words (not in the closure, the board side or the
   firmware's other modules, not a global new name), so a private attribute
   never meets another attribute of the same name on the same object; the
   per-class table ({"Class.new": "old"}) reads a traceback.
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


def plan(texts: dict, board_side: str = "", keep: set | None = None, forced: dict | None = None,
         taken: set = frozenset()) -> dict:
    """{old name: new name} for the closure's sources ({path under lander/: text}).
    keep: the keep words (None: keep_words of these texts); forced:
    {placeholder: weight} names that always get a new name, ranked as a name
    of that length (the class pool's slots, rename_tables); taken: more
    words no new name may be."""
    trees = {p: ast.parse(t, p) for p, t in texts.items()}
    if keep is None:
        keep = keep_words(texts, trees, board_side)
    forced = forced or {}
    used = {p: _name_tokens(t) for p, t in texts.items()}
    taken = set(taken) | set(keep) | _name_tokens(board_side)
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
    candidates = {n for n in defined if n not in keep and not n.startswith("__")} | set(forced)
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
    gain = {n: forced.get(n, len(n)) * sum(1 for words in used.values() if n in words) for n in candidates}
    fresh = _fresh_names(taken)
    out = {}
    for n in sorted(candidates, key=lambda n: (-gain[n], n)):
        new = next(fresh)
        new = "_" + new if n.startswith("_") and (n in consts or star) else new
        if len(new) >= len(n) and n not in forced:
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


# -- pass 1, second part: class-private attributes ---------------------------
#
# An attribute that only one class's own methods name, as `self.NAME`, and
# that nothing else reaches (no `x.NAME` of any other object anywhere, no
# string, no board-side word) is private to that class's objects: its name
# need not differ from another class's private attribute. Each such class
# names its private attributes from ONE shared pool (the most-used first), so
# the closure stores far fewer distinct names than one per attribute. The pool
# names are words nothing else in the closure, the board side or the other
# firmware modules uses, so a pool name can never meet another attribute of
# the same spelling on the same object.

def _method_self(fn) -> str | None:
    """The name of a method's instance parameter, or None when the method
    cannot be read as reaching its own object by it: a decorator
    (staticmethod, classmethod, property, ...: its attribute uses count as
    uses from outside), no positional parameter, or that name bound again
    anywhere inside it (an assignment, a nested function's or lambda's
    parameter, a loop, with, except, import or walrus target, global or
    nonlocal). A nested function or lambda that only reads it is fine."""
    if fn.decorator_list:
        return None
    params = fn.args.posonlyargs + fn.args.args
    if not params:
        return None
    me = params[0].arg
    for node in ast.walk(fn):
        if node is fn or node is params[0]:
            continue
        if isinstance(node, ast.Name) and node.id == me and not isinstance(node.ctx, ast.Load):
            return None
        if isinstance(node, ast.arg) and node.arg == me:
            return None
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == me:
            return None
        if isinstance(node, (ast.Global, ast.Nonlocal)) and me in node.names:
            return None
        if isinstance(node, ast.alias) and (node.asname or node.name.split(".")[0]) == me:
            return None
        if isinstance(node, ast.ExceptHandler) and node.name == me:
            return None
        if me in (getattr(node, "name", None), getattr(node, "rest", None)) \
                and type(node).__name__ in ("MatchAs", "MatchStar", "MatchMapping"):
            return None
    return me


def _base_name(expr) -> str | None:
    """`Base` or `mod.Base` -> 'Base'; any other base expression -> None."""
    if isinstance(expr, ast.Name):
        return expr.id
    if isinstance(expr, ast.Attribute):
        return expr.attr
    return None


def _class_key(path: str, cls) -> tuple:
    return (path, cls.lineno, cls.name)


def _classes(trees: dict) -> list:
    return [(path, node) for path, tree in trees.items() for node in ast.walk(tree)
            if isinstance(node, ast.ClassDef)]


def _methods(cls):
    """(def, name of its instance parameter or None) of each method of the class body."""
    for stmt in cls.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield stmt, _method_self(stmt)


def _body_targets(stmt) -> list:
    """The Name targets of a class-body `NAME = ...` / `NAME: T = ...`, else []."""
    if isinstance(stmt, ast.Assign) and all(isinstance(t, ast.Name) for t in stmt.targets):
        return list(stmt.targets)
    if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.simple:
        return [stmt.target]
    return []


def private_attributes(trees: dict, keep: set, others: dict | None = None) -> dict:
    """{class key (path, line, name): {private attribute: references}} of the
    closure's classes (trees: {path: syntax tree}). A class takes part only
    when no firmware class (the closure's or `others`') is among its bases or
    has it among its bases, and it has no metaclass, keyword or decorator. A
    name is private to such a class when
    - it is named only as `self.NAME` in that class's undecorated methods
      (`self` being the method's first parameter, never bound again in it,
      _method_self) or defined in its body (a method, `NAME = ...`), and
      that class defines it (a store to `self.NAME` or a body definition);
    - no other class uses it that way, and no other attribute access names it
      anywhere (`x.NAME`, `cls.NAME`, `Class.NAME`, in the closure or in
      `others`: modules that run beside the closure without being renamed
      with it), nor does the class body's own code outside its methods (a
      default value, a decorator);
    - it is not a decorated method, not a dunder or `__x`, and not a keep
      word (a string's word, a board-side word, an outside API name).
    A class in `others` gets no table: its own objects are not the closure's."""
    others = others or {}
    closure = _classes(trees)
    outside = _classes(others)
    every = closure + outside
    class_names = {c.name for _, c in every}
    base_names = set()
    for _, c in every:
        base_names.update(_base_name(b) for b in c.bases)

    def takes_part(c) -> bool:
        return not (c.keywords or c.decorator_list or c.name in base_names
                    or any(_base_name(b) is None or _base_name(b) in class_names for b in c.bases))

    eligible = {_class_key(path, c) for path, c in closure if takes_part(c)}
    own = {}                  # id(self.NAME node) -> class key (eligible closure classes)
    theirs = set()            # id(self.NAME node) of a class of `others` that takes part
    defines: dict = {}        # class key -> names it defines
    refs: dict = {}           # class key -> {name: references}
    blocked = set()

    for path, c, mine in [(p, c, True) for p, c in closure] + [(p, c, False) for p, c in outside]:
        key = _class_key(path, c) if mine else None
        if not takes_part(c):
            continue          # its attribute accesses all count as from outside (the last loop)
        d = defines.setdefault(key, set()) if mine else set()
        r = refs.setdefault(key, {}) if mine else {}
        for stmt in c.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if stmt.decorator_list:
                    blocked.add(stmt.name)
                else:
                    d.add(stmt.name)
                    r[stmt.name] = r.get(stmt.name, 0) + 1
                # evaluated in the class body: decorators, default values
                for e in stmt.decorator_list + stmt.args.defaults + [e for e in stmt.args.kw_defaults if e]:
                    blocked.update(n.id for n in ast.walk(e) if isinstance(n, ast.Name))
                me = _method_self(stmt)
                if me is None:
                    continue
                for node in ast.walk(stmt):
                    if not (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                            and node.value.id == me):
                        continue
                    if not mine:
                        theirs.add(id(node))
                        continue
                    if own.get(id(node), key) != key:
                        raise MinifyError("%s: an attribute of two classes' `self`" % path)
                    own[id(node)] = key
                    r[node.attr] = r.get(node.attr, 0) + 1
                    if isinstance(node.ctx, ast.Store):
                        d.add(node.attr)
            elif _body_targets(stmt):
                for t in _body_targets(stmt):
                    d.add(t.id)
                    r[t.id] = r.get(t.id, 0) + 1
                if stmt.value is not None:
                    blocked.update(n.id for n in ast.walk(stmt.value) if isinstance(n, ast.Name))
            else:
                # anything else in a class body (a nested class, a loop, an
                # import, a docstring): the names it binds or uses are not private
                for n in ast.walk(stmt):
                    for field in ("id", "name", "arg", "attr", "asname"):
                        v = getattr(n, field, None)
                        if isinstance(v, str):
                            blocked.add(v)
    for tree in list(trees.values()) + list(others.values()):
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and id(node) not in own and id(node) not in theirs:
                blocked.add(node.attr)
    # a class of `others` reaches only its own objects: its names are no use here
    users: dict = {}
    for key in eligible:
        for name in refs.get(key, {}):
            users.setdefault(name, set()).add(key)
    out = {}
    for key in sorted(eligible):
        names = {n: k for n, k in refs.get(key, {}).items()
                 if users[n] == {key} and n in defines[key] and n not in blocked and n not in keep
                 and not n.startswith("__")}
        if names:
            out[key] = names
    return out


def _private_sites(path: str, tree, tables: dict):
    """(node, field, new name) of each place `tables` ({class key: {old:
    new}}) renames in a module's tree: `self.NAME` in the class's methods
    that read their instance parameter (_method_self), and the class body's
    `def NAME` and `NAME = ...`."""
    for c in ast.walk(tree):
        if not isinstance(c, ast.ClassDef) or _class_key(path, c) not in tables:
            continue
        t = tables[_class_key(path, c)]
        for stmt in c.body:
            for target in _body_targets(stmt):
                if target.id in t:
                    yield target, "id", t[target.id]
        for fn, me in _methods(c):
            if fn.name in t:
                yield fn, "name", t[fn.name]
            if me is None:
                continue
            for node in ast.walk(fn):
                if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                        and node.value.id == me and node.attr in t:
                    yield node, "attr", t[node.attr]


def _char_col(line: str, col: int) -> int:
    """A syntax tree's column (UTF-8 bytes) as a position in the line's text."""
    return len(line.encode("utf-8")[:col].decode("utf-8"))


def apply_private(path: str, text: str, tables: dict) -> str:
    """`text` with the private attributes of its classes renamed, at exactly
    the places _private_sites names (strings, comments and layout untouched)."""
    lines = text.splitlines(keepends=True)
    toks = _tokens(text)
    edits = []                                    # (row, column, old, new)
    for node, field, new in _private_sites(path, ast.parse(text, path), tables):
        old = getattr(node, field)
        if field == "attr":                       # the attribute's name ends the node
            row = node.end_lineno
            col = _char_col(lines[row - 1], node.end_col_offset) - len(old)
        elif field == "id":
            row = node.lineno
            col = _char_col(lines[row - 1], node.col_offset)
        else:                                     # the NAME token after `def`
            at = (node.lineno, _char_col(lines[node.lineno - 1], node.col_offset))
            i = next(i for i, t in enumerate(toks) if t.start == at)
            while toks[i].string != "def":
                i += 1
            row, col = toks[i + 1].start
        if lines[row - 1][col:col + len(old)] != old:
            raise MinifyError("%s:%d: `%s` is not where its syntax tree says" % (path, row, old))
        edits.append((row, col, old, new))
    for row, col, old, new in sorted(set(edits), reverse=True):
        line = lines[row - 1]
        lines[row - 1] = line[:col] + new + line[col + len(old):]
    return "".join(lines)


def check_all(path: str, before: str, after: str, names: dict, tables: dict) -> None:
    """check() with the class-private renaming too: `after` must be `before`
    with each class's private attributes renamed by `tables` at the places
    _private_sites names, then every identifier of `names` renamed."""
    tree = ast.parse(before, path)
    for node, field, new in list(_private_sites(path, tree, tables)):
        setattr(node, field, new)
    want = ast.dump(_Renamer(names).visit(tree))
    if ast.dump(ast.parse(after, path)) != want:
        raise MinifyError("renaming %s changed more than its names" % path)


def outside_modules(texts: dict) -> dict:
    """{path: text} of the firmware's modules (firmware/lander/) that are not
    `texts`' paths: the code that may run beside a board's renamed closure
    without being renamed with it (the perf guest runs the sim board's other
    drivers, renamed by the global table only: perf_budget.minified_guest_firmware)."""
    root = os.path.join(host_tools.FIRMWARE_DIR, "lander")
    out = {}
    for path in sorted(glob.glob(os.path.join(root, "**", "*.py"), recursive=True)):
        rel = os.path.relpath(path, root).replace(os.sep, "/")
        if rel not in texts:
            with open(path, encoding="utf-8") as fh:
                out[rel] = fh.read()
    return out


def rename_tables(texts: dict, board_side: str = "", classes: bool = True, others: dict | None = None,
                  attributes=()) -> tuple:
    """(renamed texts, {old: new}, {"Class.new": "old"}) for a board's closure:
    rename() with, when `classes`, the class-private attributes named from
    one pool (private_attributes; others: the modules beside the closure,
    None: outside_modules; attributes: names the code reaches through data
    the renamer does not see, e.g. the packet tables' attribute column that
    deploy.hide_tables puts aside and restore_tables writes back by the
    global table: never private). The second table is the global one
    (names.json's); the third says, per class, which attribute a pool name
    stands for."""
    trees = {p: ast.parse(t, p) for p, t in texts.items()}
    keep = keep_words(texts, trees, board_side)
    tables: dict = {}
    taken = set()
    if classes:
        others = outside_modules(texts) if others is None else others
        other_trees = {p: ast.parse(t, p) for p, t in others.items()}
        strings = set()
        for path, text in others.items():
            strings |= string_words(text, other_trees[path])
            taken |= _name_tokens(text)
        taken |= strings
    # every word in use: no pool name may be one
    in_use = taken | set(keep) | _name_tokens(board_side)
    for text in texts.values():
        in_use |= _name_tokens(text)
    if classes:
        private = private_attributes(trees, keep | strings | set(attributes), other_trees)
        # slot i of the pool: a placeholder first, so that the global plan
        # ranks it with the other names (a slot most classes use, in most
        # modules, gets one of the shortest names); weighed as its names' mean length
        slots: list = []
        for key in sorted(private):
            ranked = sorted(private[key], key=lambda n: (-private[key][n], n))
            for i, name in enumerate(ranked):
                if i == len(slots):
                    slots.append([])
                slots[i].append(name)
            tables[key] = {name: i for i, name in enumerate(ranked)}
        holders = []
        for i in range(len(slots)):
            h = "Pool%dSlot" % i
            while h in in_use:
                h += "_"
            holders.append(h)
        for key, t in tables.items():
            tables[key] = {name: holders[i] for name, i in t.items()}
    forced = {h: max(1, round(sum(len(n) for n in slot) / len(slot))) for h, slot in zip(holders, slots)} \
        if tables else {}
    staged = {p: apply_private(p, t, tables) for p, t in texts.items()}
    names = plan(staged, board_side, keep=keep, forced=forced, taken=taken)
    pool = {h: names.pop(h) for h in forced}
    # (never expected: the plan's fresh names are such words already)
    words = in_use | set(names) | set(names.values())
    if set(pool.values()) & words or len(set(pool.values())) != len(pool):
        raise MinifyError("a class pool name is a word in use")
    final = {key: {old: pool[h] for old, h in t.items()} for key, t in tables.items()}
    out = {}
    for path, text in texts.items():
        new = apply(staged[path], dict(names, **pool))
        check_all(path, text, new, names, final)
        out[path] = new
    by_class = {}
    for (path, line, cls), t in sorted(final.items()):
        for old, new in t.items():
            label = "%s.%s" % (cls, new)
            if label in by_class:
                label = "%s:%d:%s.%s" % (path, line, cls, new)
            by_class[label] = old
    return out, names, by_class


def rename(texts: dict, board_side: str = "", classes: bool = False, others: dict | None = None,
           attributes=()) -> tuple:
    """(renamed texts, {old: new}) for a board's closure (rename_tables
    without the class-private table; the class pass only when asked: a
    caller that names a renamed attribute by the global table alone, as
    perf_budget.minified_hooks does App's stage methods, would miss it)."""
    return rename_tables(texts, board_side, classes, others, attributes)[:2]


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
