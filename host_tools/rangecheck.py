"""Checking mode for the firmware on CPython: every integer intermediate must
stay within |x| < 2^30, the small-int range of 32-bit MicroPython.

When installed (LANDER_RANGE_CHECK=1 in the environment, which the test suite
sets), modules of the `lander` package are compiled with every arithmetic
expression (BinOp, UnaryOp, and augmented assignments to simple targets)
wrapped in a check that raises RangeError naming the file, line and value.
The firmware source is unchanged; on the boards none of this exists.
"""
from __future__ import annotations

import ast
import importlib.machinery
import os
import sys

from host_tools import codecache

LIMIT = 1 << 30
_CHECK = "__lander_range_check__"
_installed = False


class RangeError(OverflowError):
    pass


def _check(value, where):
    if type(value) is int and not -LIMIT < value < LIMIT:
        raise RangeError("%s: %d is outside the 32-bit small-int range |x| < 2^30" % (where, value))
    return value


def _simple_target(node) -> bool:
    if isinstance(node, ast.Name):
        return True
    if isinstance(node, ast.Attribute):
        return isinstance(node.value, ast.Name)
    if isinstance(node, ast.Subscript):
        return _simple_target(node.value) and isinstance(node.slice, (ast.Name, ast.Constant))
    return False


class _Wrap(ast.NodeTransformer):
    def __init__(self, filename):
        self.filename = os.path.relpath(filename)

    def _wrap(self, node):
        where = ast.Constant("%s:%d" % (self.filename, node.lineno))
        call = ast.Call(ast.Name(_CHECK, ast.Load()), [node, where], [])
        return ast.copy_location(call, node)

    def visit_BinOp(self, node):
        self.generic_visit(node)
        return self._wrap(node)

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, ast.Not):
            return node
        return self._wrap(node)

    def visit_AugAssign(self, node):
        self.generic_visit(node)
        if not _simple_target(node.target):
            return node
        load = ast.parse(ast.unparse(node.target), mode="eval").body
        value = ast.BinOp(load, node.op, node.value)
        ast.copy_location(value, node)
        ast.fix_missing_locations(value)
        store = ast.parse(ast.unparse(node.target), mode="eval").body
        store.ctx = ast.Store()
        assign = ast.Assign([store], self._wrap(value))
        return ast.fix_missing_locations(ast.copy_location(assign, node))


class _Loader(importlib.machinery.SourceFileLoader):
    def source_to_code(self, data, path, *, _optimize=-1):  # type: ignore[override]
        tree = ast.parse(data, filename=path)
        tree = ast.fix_missing_locations(_Wrap(path).visit(tree))
        return compile(tree, path, "exec", dont_inherit=True)

    def exec_module(self, module):
        module.__dict__[_CHECK] = _check
        super().exec_module(module)

    def get_code(self, fullname):
        # Never the bytecode files (they would be unchecked): the checked code
        # objects, compiled once per process and file version
        return codecache.cached_code(self.get_filename(fullname), self.source_to_code, tag="rangecheck")


def install(firmware_dir: str) -> None:
    """Compile `lander.*` with range checks from now on (idempotent)."""
    global _installed
    if _installed:
        return
    already = [m for m in sys.modules if m == "lander" or m.startswith("lander.")]
    for name in already:
        del sys.modules[name]
    sys.meta_path.insert(0, codecache.PackageFinder(firmware_dir, "lander", _Loader))
    _installed = True


def enabled() -> bool:
    return _installed


def compile_checked(source: str, filename: str = "<checked>"):
    """Compile `source` the way checking mode compiles firmware modules; exec
    the code object in a namespace made by `checked_namespace()`."""
    tree = ast.fix_missing_locations(_Wrap(filename).visit(ast.parse(source, filename)))
    return compile(tree, filename, "exec", dont_inherit=True)


def checked_namespace() -> dict:
    return {_CHECK: _check, "__name__": "checked"}
