"""Deploy-time pass: a flight board's firmware modules as one module.

Each .mpy carries its own table of the identifier strings (qstrs) its code
names, so a name used in twelve modules is stored twelve times, and every
`from lander.x import y` costs the module's name, the imported names and the
import's bytecode (at 2ea3903, 6.1 k of the pico's 72 k were such repeats
and module names). Frozen into a MicroPython image the modules would share
one table; deployed as files they do not. bundle() writes the board's import
closure as the one module lander/__init__.py, with the same code:

- the modules in import order (a module after those it imports at its top
  level), each under a comment line naming its file;
- an import of another module of the closure is left out (a `pass` in its
  place, its other lines empty): the name it bound is the bundle's global;
- `mod.name`, where `mod` was bound to a module of the closure by
  `from lander import mod` (or `... as alias`), is written as the global
  `name`; any other use of a module object refuses the bundle;
- a global that two modules define differently (CHECKPOINT_WORDS in control
  and in guidance, the drivers' own _STUCK_CYCLES, ...) keeps its name in one
  of them and is suffixed with its module's name in the others, at each
  place the code reaches that global (a local of the same name is left as
  it is, by Python's scoping rules);
- a module's `__getattr__` (telemetry/packets.py's, which builds the
  tables for the host: "the board never asks") is left out: in the bundle
  it would answer for every module's missing name;
- an import of an outside module (`from array import array`) that an
  earlier module of the bundle already made at its top level is left out;
- at the end, every module name that code outside the bundle imports (the
  board-side files: main.py, board.py, the host tools that send code to a
  board) is entered in sys.modules as the bundle, so `from lander.app import
  App` and `from lander.drivers.bmi088 import Bmi088` find it (MicroPython's
  import looks a dotted name up in sys.modules first).

A name keeps its spelling where code outside the bundle names it (the
board-side imports); a clash between two such names refuses the bundle
(BundleError), as does anything this pass does not understand: a star
import, a module object used other than `mod.name`, an assignment to
`mod.name`, an import cycle among the modules' top levels.

The result is checked by parsing: the bundle must parse, and the tests fly
the bundled hil closure over HIL with commands and downlink equal to the
plain run (tests/test_deploy_minify.py, tests/test_deploy_bundle.py).
line_map_lookup() turns a line of the bundle back into its module's file and
line, with the map deploy writes to bundle-lines.json; a traceback has line
numbers with `--opt 0 --minify` (--opt 0 alone deploys unbundled).
"""
from __future__ import annotations

import ast
import io
import re
import tokenize

PACKAGE = "lander"
BUNDLE_PATH = "__init__.py"
# a module's own attribute hooks (PEP 562; MicroPython MICROPY_MODULE_GETATTR):
# in the bundle they would answer for every module, so they are left out
MODULE_HOOKS = ("__getattr__", "__dir__")


class BundleError(Exception):
    """The modules cannot be bundled without changing what they do."""


def module_name(path: str) -> str:
    """'drivers/bmi088.py' -> 'lander.drivers.bmi088'; '__init__.py' -> 'lander'."""
    parts = path[:-3].split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join([PACKAGE] + parts)


def _tag(path: str) -> str:
    """The suffix a clashing global gets in `path`: its module's last name."""
    parts = path[:-3].split("/")
    return parts[-2] if parts[-1] == "__init__" and len(parts) > 1 else parts[-1]


# -- scopes -----------------------------------------------------------------

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef,
           ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _params(node) -> set:
    a = node.args
    out = {x.arg for x in a.posonlyargs + a.args + a.kwonlyargs}
    out |= {x.arg for x in (a.vararg, a.kwarg) if x is not None}
    return out


def _scope_body(node) -> list:
    """The nodes evaluated in `node`'s own scope (not in the scopes it opens)."""
    if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp)):
        return [node.elt] + [x for g in node.generators for x in [g.target] + g.ifs] + \
            [g.iter for g in node.generators[1:]]
    if isinstance(node, ast.DictComp):
        return [node.key, node.value] + [x for g in node.generators for x in [g.target] + g.ifs] + \
            [g.iter for g in node.generators[1:]]
    if isinstance(node, ast.Lambda):
        return [node.body]
    return list(node.body)


def _walk_scope(nodes):
    """Every node of these nodes' scope: into blocks, not into new scopes
    (whose name, decorators, defaults and first iterable belong here)."""
    todo = list(nodes)
    while todo:
        node = todo.pop()
        yield node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            todo += node.decorator_list + node.args.defaults + [d for d in node.args.kw_defaults if d]
        elif isinstance(node, ast.ClassDef):
            todo += node.decorator_list + node.bases + [k.value for k in node.keywords]
        elif isinstance(node, ast.Lambda):
            todo += node.args.defaults + [d for d in node.args.kw_defaults if d]
        elif isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            todo.append(node.generators[0].iter)
        else:
            todo += list(ast.iter_child_nodes(node))


class _Scope:
    def __init__(self, node, parent, closure_import):
        self.node = node
        self.parent = parent
        self.is_class = isinstance(node, ast.ClassDef)
        body = _scope_body(node) if node is not None else []
        local = _params(node) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) else set()
        declared = set()
        for n in _walk_scope(body):
            if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load):
                local.add(n.id)
            elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n is not node:
                local.add(n.name)
            elif isinstance(n, (ast.Import, ast.ImportFrom)) and not closure_import(n):
                local.update((a.asname or a.name).split(".")[0] for a in n.names)
            elif isinstance(n, ast.ExceptHandler) and n.name:
                local.add(n.name)
            elif isinstance(n, (ast.Global, ast.Nonlocal)):
                declared.update(n.names)
        self.globals = declared
        self.local = local - declared

    def is_global(self, name: str) -> bool:
        """Whether `name` read here is the module's global."""
        s, first = self, True
        while s is not None and s.node is not None:
            if name in s.globals:
                return True
            if name in s.local and (not s.is_class or first):
                return False
            s, first = s.parent, False
        return True


def _global_refs(tree, closure_import, scopes: dict | None = None) -> list:
    """(node, name) for each place `tree` reaches a module global by name:
    ast.Name nodes, top-level def/class names, `global` declarations.
    scopes: filled with {id(attribute node): its scope} for `name.attr`."""
    out = []

    def visit(nodes, scope):
        for n in _walk_scope(nodes):
            if scopes is not None and isinstance(n, ast.Attribute):
                scopes[id(n)] = scope
            if isinstance(n, ast.Name):
                if scope.is_global(n.id):
                    out.append((n, n.id))
            elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                if scope.node is None or n.name in scope.globals:
                    out.append((n, n.name))
            elif isinstance(n, ast.Global):
                out.append((n, None))
            if isinstance(n, _SCOPES) and n is not scope.node:
                visit(_scope_body(n), _Scope(n, scope, closure_import))

    visit(tree.body, _Scope(None, None, closure_import))
    return out


# -- the modules' bindings ----------------------------------------------------

class _Module:
    def __init__(self, path: str, text: str, closure: dict):
        self.path = path
        self.text = text
        try:
            self.tree = ast.parse(text, path)
        except SyntaxError as exc:
            raise BundleError("%s: %s" % (path, exc))
        self.closure = closure              # module name -> path
        self.imports: dict = {}             # bound name -> (module name, attribute or None)
        self.import_nodes = []              # closure imports: left out of the bundle
        self.defines: set = set()           # names bound at the top level (not by a closure import)
        self.external: dict = {}            # name -> (module, attr) of a plain top-level outside import
        self.top_deps: set = set()
        self.deps: set = set()
        self._read()
        self.scopes: dict = {}              # id(attribute node) -> its scope
        self.refs = _global_refs(self.tree, self.is_closure_import, self.scopes)
        # `mod.name` where `mod` is a closure module bound here: (node, module name)
        global_ids = {id(node) for node, _ in self.refs}
        self.module_attrs = [(node, self.imports[node.value.id][0]) for node in ast.walk(self.tree)
                             if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                             and id(node.value) in global_ids and node.value.id in self.imports
                             and self.imports[node.value.id][1] is None]

    def _closure_module(self, node):
        """The closure module an import statement imports from, else None."""
        if isinstance(node, ast.ImportFrom):
            if node.level:
                raise BundleError("%s:%d: a relative import" % (self.path, node.lineno))
            return node.module if node.module in self.closure else None
        names = [a.name for a in node.names]
        if any(n in self.closure for n in names):
            if len(names) > 1 or node.names[0].asname is None:
                raise BundleError("%s:%d: `import %s` (write `from ... import`)"
                                  % (self.path, node.lineno, ", ".join(names)))
            return names[0]
        return None

    def is_closure_import(self, node) -> bool:
        return self._closure_module(node) is not None

    def _read(self):
        for node in ast.walk(self.tree):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            mod = self._closure_module(node)
            if mod is None:
                continue
            self.import_nodes.append(node)
            top = node in self.tree.body or any(node in getattr(b, "body", ()) or node in getattr(b, "orelse", ())
                                                for b in self.tree.body if isinstance(b, (ast.If, ast.Try)))
            if isinstance(node, ast.Import):
                target = (mod, None)
                self._bind(node, node.names[0].asname, target)
                (self.top_deps if top else self.deps).add(mod)
                continue
            for a in node.names:
                if a.name == "*":
                    raise BundleError("%s:%d: a star import" % (self.path, node.lineno))
                sub = mod + "." + a.name
                target = (sub, None) if sub in self.closure else (mod, a.name)
                self._bind(node, a.asname or a.name, target)
                (self.top_deps if top else self.deps).add(target[0])
        self.deps |= self.top_deps
        counts: dict = {}                           # how often the top level binds each name
        for node in _walk_scope(self.tree.body):
            if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
                bound = [node.id]
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                bound = [node.name]
            elif isinstance(node, (ast.Import, ast.ImportFrom)) and not self.is_closure_import(node):
                bound = [(a.asname or a.name).split(".")[0] for a in node.names]
            else:
                continue
            for k in bound:
                self.defines.add(k)
                counts[k] = counts.get(k, 0) + 1
        # `global x` in a function binds a global x
        declared = {k for node in ast.walk(self.tree) if isinstance(node, ast.Global) for k in node.names}
        self.defines |= declared
        for node in self.tree.body:                 # plain outside imports: shared between modules
            if isinstance(node, ast.ImportFrom) and not self.is_closure_import(node) and node.module:
                for a in node.names:
                    self.external[a.asname or a.name] = (node.module, a.name)
            elif isinstance(node, ast.Import) and not self.is_closure_import(node):
                for a in node.names:
                    self.external[a.asname or a.name.split(".")[0]] = (a.name, None) if a.asname else \
                        (a.name.split(".")[0], None)
        # ... when that import alone binds the name
        self.external = {k: v for k, v in self.external.items() if counts.get(k) == 1 and k not in declared}

    def _bind(self, node, name, target):
        old = self.imports.get(name)
        if old is not None and old != target:
            raise BundleError("%s:%d: %s is imported as two different things" % (self.path, node.lineno, name))
        self.imports[name] = target


def _order(mods: dict) -> list:
    """Module names, each after the modules its top level imports (a cycle
    there refuses the bundle) and, where that makes no cycle, after those
    its functions import."""
    out: list = []
    state: dict = {}

    def open_now():
        return {k for k, v in state.items() if v == 1}

    def visit(name, stack):
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            raise BundleError("the modules' top levels import each other: %s" % " -> ".join(stack + [name]))
        state[name] = 1
        for dep in sorted(mods[name].top_deps):
            if dep != name:
                visit(dep, stack + [name])
        for dep in sorted(mods[name].deps - mods[name].top_deps):
            # not when dep's top level needs a module still open here (`name`
            # itself, say): putting dep first would make a cycle that is not one
            if dep != name and state.get(dep) is None and not (_top_needs(mods, dep) & open_now()):
                visit(dep, stack + [name])
        state[name] = 2
        out.append(name)

    for name in sorted(mods):
        visit(name, [])
    return out


def _top_needs(mods: dict, name: str) -> set:
    """The modules `name`'s top level imports, directly or through theirs."""
    out, todo = set(), [name]
    while todo:
        for dep in mods[todo.pop()].top_deps:
            if dep not in out:
                out.add(dep)
                todo.append(dep)
    return out


def _resolve(mods: dict, mod: str, name: str, seen=()) -> tuple:
    """What `name` in module `mod` is: ('module', M), ('def', M, name) or
    ('ext', module, attr) for a plain import of an outside module."""
    if (mod, name) in seen:
        raise BundleError("%s imports %s in a circle" % (mod, name))
    m = mods[mod]
    if name in m.imports:
        target, attr = m.imports[name]
        if attr is None:
            return ("module", target)
        return _resolve(mods, target, attr, seen + ((mod, name),))
    if name in m.external:
        return ("ext",) + m.external[name]
    if name in m.defines:
        return ("def", mod, name)
    sub = mod + "." + name
    if sub in mods:
        return ("module", sub)
    raise BundleError("%s: %s is not defined there" % (m.path, name))


# -- writing ------------------------------------------------------------------

def _line_offsets(text: str) -> list:
    out, pos = [0], 0
    for line in text.splitlines(keepends=True):
        pos += len(line)
        out.append(pos)
    return out


class _Edits:
    """Replacements of (line, column)-addressed spans of one text."""

    def __init__(self, text: str):
        self.text = text
        self.starts = _line_offsets(text)
        self.spans: list = []

    def at(self, line, col):
        # ast columns are UTF-8 byte offsets; the firmware is ASCII (checked by bundle())
        return self.starts[line - 1] + col

    def replace(self, a, b, new):
        self.spans.append((a, b, new))

    def result(self) -> str:
        out, pos = [], 0
        for a, b, new in sorted(self.spans, key=lambda e: (e[0], -e[1])):
            if a < pos and b <= pos:
                continue                    # inside a statement left out
            if a < pos:
                raise BundleError("two edits overlap at offset %d" % a)
            out.append(self.text[pos:a])
            out.append(new)
            pos = b
        out.append(self.text[pos:])
        return "".join(out)


def _name_token(edits: _Edits, node, name: str):
    """(start, end) offsets of the name token of a def/class statement."""
    toks = tokenize.generate_tokens(io.StringIO(edits.text[edits.at(node.lineno, node.col_offset):]).readline)
    seen_kw = False
    base = edits.at(node.lineno, node.col_offset)
    line0 = node.lineno
    for t in toks:
        if t.type == tokenize.NAME and t.string in ("def", "class"):
            seen_kw = True
        elif seen_kw and t.type == tokenize.NAME:
            if t.string != name:
                break
            row, col = t.start
            a = base + col if row == 1 else edits.at(line0 + row - 1, col)
            return a, a + len(name)
    raise BundleError("cannot find the name of %s at line %d" % (name, node.lineno))


def _blank_statement(edits: _Edits, node, path: str, whole: bool = False):
    """Replace a whole statement (its lines) by `pass`, its other lines empty
    (whole: its lines' comments too, as for a def)."""
    a = edits.at(node.lineno, node.col_offset)
    b = edits.at(node.end_lineno, node.end_col_offset)
    line_start = edits.starts[node.lineno - 1]
    line_end = edits.text.find("\n", b)
    line_end = len(edits.text) if line_end < 0 else line_end
    before = edits.text[line_start:a]
    after = edits.text[b:line_end].strip()
    if before.strip() or (after and not after.startswith("#")):
        raise BundleError("%s:%d: a statement left out shares its line with other code" % (path, node.lineno))
    if whole:
        edits.replace(a, line_end, "pass" + "\n" * (node.end_lineno - node.lineno))
    else:
        edits.replace(a, b, "pass" + "\n" * (node.end_lineno - node.lineno))


def bundle(texts: dict, board_side: str = "") -> tuple:
    """(source of the one module, [(first line, path)] per module) for the
    closure `texts` ({path under lander/: source}, with its packages'
    __init__.py). board_side: the text of the code outside the bundle
    (deploy.board_side_text): the modules it imports are entered in
    sys.modules as the bundle, the names it imports keep their spelling, and
    a global that must be renamed while it reaches for `.name` refuses."""
    for path, text in texts.items():
        if not text.isascii():
            raise BundleError("%s is not ASCII (the bundle's column arithmetic assumes it)" % path)
    closure = {module_name(p): p for p in texts}
    mods = {}
    for path, text in texts.items():
        mods[module_name(path)] = _Module(path, text, closure)
    kept_names = {}                                 # name -> definition that keeps it (board-side import)
    aliases = set()
    for item in board_imports(board_side):
        mod, name = item if isinstance(item, tuple) else (item, None)
        if mod not in mods:
            continue
        parts = mod.split(".")
        aliases.update(".".join(parts[:k]) for k in range(2, len(parts) + 1))
        if name is not None:
            try:
                what = _resolve(mods, mod, name)
            except BundleError:
                continue                            # not in this closure (another board's name)
            if what[0] == "def":
                old = kept_names.get(name)
                if old is not None and old != what:
                    raise BundleError("%s is imported from the board by two different definitions" % name)
                kept_names[name] = what
    order = _order(mods)
    # every definition and the name it gets in the bundle
    by_name: dict = {}
    for mod in order:
        for name in sorted(mods[mod].defines):
            what = _resolve(mods, mod, name)
            if what[0] == "def":
                by_name.setdefault(name, [])
                if what not in by_name[name]:
                    by_name[name].append(what)
        for name, ext in mods[mod].external.items():
            what = ("ext",) + ext
            by_name.setdefault(name, [])
            if what not in by_name[name]:
                by_name[name].append(what)
    taken = set()
    for m in mods.values():
        for t in tokenize.generate_tokens(io.StringIO(m.text).readline):
            if t.type == tokenize.NAME:
                taken.add(t.string)
    # `mod.name` is written `name`: where a local of that spelling is in
    # scope there, the global takes a suffixed name instead
    shadowed = set()
    for m in mods.values():
        for node, target in m.module_attrs:
            what = _resolve(mods, target, node.attr)
            if what[0] == "def" and not m.scopes[id(node)].is_global(what[2]):
                shadowed.add(what)
    new_name: dict = {}
    for name, whats in by_name.items():
        if len(whats) == 1 and whats[0] not in shadowed:
            new_name[whats[0]] = name
            continue
        free = [w for w in whats if w not in shadowed]
        keeper = kept_names.get(name, free[0] if free else None)
        if keeper in shadowed:
            raise BundleError("%s: a local shadows it where it is written, and the board side imports it" % name)
        for what in whats:
            if what == keeper:
                new_name[what] = name
                continue
            if what[0] == "ext":
                raise BundleError("%s is both an outside module's name and a global of the firmware" % name)
            if re.search(r"\.\s*%s\b" % re.escape(name), board_side):
                raise BundleError("%s must be renamed in the bundle (two definitions, or a local shadows it) "
                                  "and the board side reaches for it as an attribute" % name)
            cand = "%s_%s" % (name, _tag(mods[what[1]].path))
            if cand in taken:
                raise BundleError("%s: the bundle's new name %s is taken" % (name, cand))
            taken.add(cand)
            new_name[what] = cand

    out = []
    line_map = []
    external_done = set()
    line = 1
    for mod in order:
        m = mods[mod]
        edits = _Edits(m.text)
        for node in m.import_nodes:
            _blank_statement(edits, node, m.path)
        for node in m.tree.body:
            if isinstance(node, ast.FunctionDef) and node.name in MODULE_HOOKS:
                if node.decorator_list:
                    raise BundleError("%s:%d: a decorated %s" % (m.path, node.lineno, node.name))
                _blank_statement(edits, node, m.path, whole=True)
        for node in m.tree.body:                    # an outside import an earlier module made
            if isinstance(node, (ast.Import, ast.ImportFrom)) and not m.is_closure_import(node):
                keys = [(a.asname or a.name.split(".")[0]) for a in node.names]
                whats = [("ext",) + m.external[k] if k in m.external else None for k in keys]
                if all(w is not None and w in external_done for w in whats):
                    _blank_statement(edits, node, m.path)
                external_done.update(w for w in whats if w is not None)
        attr_bases = set()
        for node, target in m.module_attrs:         # mod.name -> the global
            base = node.value.id
            attr_bases.add(id(node.value))
            if not isinstance(node.ctx, ast.Load):
                raise BundleError("%s:%d: assigns %s.%s (a module's global from outside it)"
                                  % (m.path, node.lineno, base, node.attr))
            what = _resolve(mods, target, node.attr)
            if what[0] == "module":
                raise BundleError("%s:%d: %s.%s is a module" % (m.path, node.lineno, base, node.attr))
            if not m.scopes[id(node)].is_global(new_name[what]):
                raise BundleError("%s:%d: %s.%s would be the local %s"
                                  % (m.path, node.lineno, base, node.attr, new_name[what]))
            edits.replace(edits.at(node.lineno, node.col_offset),
                          edits.at(node.end_lineno, node.end_col_offset), new_name[what])
        for node, name in m.refs:
            if isinstance(node, ast.Global):
                continue
            if id(node) in attr_bases:
                continue
            try:
                what = _resolve(mods, mod, name)
            except BundleError:
                # a builtin (or a name nothing defines): no module's global may take it
                if name in by_name:
                    raise BundleError("%s:%d: %s is a global of another module in the bundle"
                                      % (m.path, node.lineno, name))
                continue
            if what[0] == "module":
                raise BundleError("%s:%d: the module %s used as an object" % (m.path, node.lineno, name))
            new = new_name[what]
            if new == name:
                continue
            if isinstance(node, ast.Name):
                edits.replace(edits.at(node.lineno, node.col_offset),
                              edits.at(node.end_lineno, node.end_col_offset), new)
            else:
                a, b = _name_token(edits, node, name)
                edits.replace(a, b, new)
        for node in ast.walk(m.tree):               # `global NAME` of a renamed global
            if isinstance(node, ast.Global):
                for name in node.names:
                    what = _resolve(mods, mod, name)
                    if new_name.get(what, name) != name:
                        raise BundleError("%s:%d: `global %s` of a renamed global" % (m.path, node.lineno, name))
        text = edits.result()
        if not text.endswith("\n"):
            text += "\n"
        header = "# ---- %s/%s\n" % (PACKAGE, m.path)
        out.append(header)
        line += 1
        line_map.append((line, m.path))
        out.append(text)
        line += text.count("\n")
    if aliases:
        out.append("# ---- the modules code outside the bundle imports, found as the bundle\n")
        out.append("import sys as _bundle_sys\n")
        out.append("for _bundle_name in %r.split():\n" % " ".join(sorted(a[len(PACKAGE) + 1:] for a in aliases)))
        out.append("    _bundle_sys.modules[%r + _bundle_name] = _bundle_sys.modules[%r]\n"
                   % (PACKAGE + ".", PACKAGE))
    source = "".join(out)
    try:
        ast.parse(source, BUNDLE_PATH)
    except SyntaxError as exc:
        raise BundleError("the bundle does not parse: %s" % exc)
    return source, line_map


_FROM = re.compile(r"\bfrom\s+(%s(?:\.\w+)*)\s+import\s+\(?\s*(\w+(?:\s+as\s+\w+)?"
                   r"(?:\s*,\s*\w+(?:\s+as\s+\w+)?)*)" % PACKAGE)
_DOTTED = re.compile(r"\b%s(?:\.\w+)+" % PACKAGE)


def board_imports(board_side: str) -> list:
    """What code outside the bundle imports from it, found in its text (the
    code it sends to a board is in strings, so this reads words, not a
    syntax tree): every dotted `lander.x.y` it names (a module it may
    import), and (module, name) for each name of a `from lander.x import
    name, ...`, which keeps its spelling in a clash."""
    out: list = sorted(set(_DOTTED.findall(board_side)))
    for mod, names in _FROM.findall(board_side):
        for part in names.split(","):
            name = part.split()[0]
            out.append((mod, name))
            out.append(mod + "." + name)            # `from lander import fixed`: a module
    return out


def line_map_lookup(line_map: list, line: int) -> tuple:
    """(path, line in that file) of a line of the bundle."""
    best = None
    for first, path in line_map:
        if first <= line:
            best = (path, line - first + 1)
    if best is None:
        raise ValueError("line %d is before the first module" % line)
    return best


# The first 127 qstrs of a .mpy's table are referred to by one byte of
# bytecode, the rest by two (a varint index; py/emitcommon.c gives a qstr
# its index at its first use, and the module's own code, every top-level
# name of the bundle, is compiled first). PRIME_QSTRS of the most-referred
# names are used once before anything else, in a line that never runs.
PRIME_QSTRS = 100
_PRIME_MIN_REFS = 3                 # priming costs ~2 bytes a name


def qstr_refs(text: str) -> dict:
    """{name: how many times the bytecode of `text` refers to it}, as the
    MicroPython compiler emits it: attributes and methods, keyword names,
    function and class names (their prelude and their store), parameter
    names (each function's prelude), globals (a local is a slot, no qstr),
    and the names of a class body."""
    tree = ast.parse(text)
    refs: dict = {}

    def add(name, k=1):
        refs[name] = refs.get(name, 0) + k

    global_refs = _global_refs(tree, lambda n: False)
    global_names = {id(node) for node, _ in global_refs}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            add(node.attr)
        elif isinstance(node, ast.keyword) and node.arg:
            add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            add(node.name, 2)
            if isinstance(node, ast.ClassDef):      # a class body's names (its globals are counted below)
                for n in _walk_scope(node.body):
                    if isinstance(n, ast.Name) and id(n) not in global_names:
                        add(n.id)
        elif isinstance(node, ast.arg):
            add(node.arg)
    for node, name in global_refs:
        if isinstance(node, ast.Name):
            add(name)
    # `X = const(...)`: folded by the parser, the name `const` is never emitted
    refs.pop("const", None)
    return refs


def prime_qstrs(text: str, count: int = PRIME_QSTRS) -> tuple:
    """(text with its most-referred names used first, lines added: 1)."""
    import keyword

    refs = qstr_refs(text)
    names = sorted((n for n, k in refs.items() if k >= _PRIME_MIN_REFS and not keyword.iskeyword(n)),
                   key=lambda n: (-refs[n], n))[:count]
    if not names:
        return text, 0
    line = "if __name__ is None: %s  # never true: the qstr order (bundle.prime_qstrs)\n" % ".".join(names)
    return line + text, 1
