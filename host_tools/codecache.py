"""Firmware modules compiled once per process.

The simulator re-imports the firmware at every boot and reboot, so that no
module state survives a reset (host_tools/sim/runner.py). Where Python writes
no bytecode files (PYTHONDONTWRITEBYTECODE, as on this project's machines, or
a read-only checkout) every boot compiled the ~40 firmware modules again:
0.8 s of a 2.6 s nominal flight, measured with cProfile. This finder keeps each
module's code object in memory, keyed by path, modification time and size (an
edited file is compiled again), and re-executes it for every fresh import."""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys

_CODE: dict = {}


def cached_code(path: str, compile_source, tag: str = ""):
    """The code object of `path`, compiled by compile_source(source_bytes, path)
    the first time and whenever the file changes."""
    st = os.stat(path)
    key = (tag, path, st.st_mtime_ns, st.st_size)
    code = _CODE.get(key)
    if code is None:
        with open(path, "rb") as fh:
            code = compile_source(fh.read(), path)
        _CODE[key] = code
    return code


class CachingLoader(importlib.machinery.SourceFileLoader):
    def get_code(self, fullname):
        return cached_code(self.get_filename(fullname), self.source_to_code)


class PackageFinder(importlib.abc.MetaPathFinder):
    """Finds `package` and its submodules below `root` with CachingLoader."""

    def __init__(self, root: str, package: str, loader_class=CachingLoader):
        self.root = root
        self.package = package
        self.loader_class = loader_class

    def find_spec(self, fullname, path=None, target=None):
        if fullname != self.package and not fullname.startswith(self.package + "."):
            return None
        base = os.path.join(self.root, *fullname.split("."))
        if os.path.isdir(base):
            filename, search = os.path.join(base, "__init__.py"), [base]
        else:
            filename, search = base + ".py", None
        if not os.path.exists(filename):
            return None
        return importlib.util.spec_from_file_location(
            fullname, filename, loader=self.loader_class(fullname, filename),
            submodule_search_locations=search)


def install(root: str, package: str = "lander") -> None:
    """Put a PackageFinder for `package` first on sys.meta_path (once)."""
    for f in sys.meta_path:
        if isinstance(f, PackageFinder) and f.root == root and f.package == package:
            return
    sys.meta_path.insert(0, PackageFinder(root, package))
