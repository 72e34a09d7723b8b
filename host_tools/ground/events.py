"""Names of the firmware's numeric events, read from the firmware source.

Each firmware module declares its events beside the code that raises them as
`EV_<NAME> = const(0xNNNN)`; the ground reads those declarations (one source)
instead of keeping a copy of the table.
"""
from __future__ import annotations

import ast
import functools
import os

import host_tools


def _declarations():
    root = os.path.join(host_tools.FIRMWARE_DIR, "lander")
    for dirpath, _dirs, files in os.walk(root):
        for name in sorted(files):
            if not name.endswith(".py"):
                continue
            path = os.path.join(dirpath, name)
            module = "lander." + os.path.relpath(path, root)[:-3].replace(os.sep, ".")
            tree = ast.parse(open(path).read(), path)
            for node in tree.body:
                if not (isinstance(node, ast.Assign) and len(node.targets) == 1
                        and isinstance(node.targets[0], ast.Name)
                        and node.targets[0].id.startswith("EV_")):
                    continue
                value = node.value
                if isinstance(value, ast.Call) and getattr(value.func, "id", "") == "const":
                    value = value.args[0]
                if isinstance(value, ast.Constant) and isinstance(value.value, int):
                    yield value.value, node.targets[0].id, module


@functools.lru_cache(maxsize=1)
def table() -> dict[int, tuple[str, str]]:
    """code -> (EV_NAME, module). Raises if two declarations share a code."""
    out: dict[int, tuple[str, str]] = {}
    for code, name, module in _declarations():
        if code in out and out[code] != (name, module):
            raise ValueError("event code 0x%04x declared twice: %s.%s and %s.%s"
                             % (code, out[code][1], out[code][0], module, name))
        out[code] = (name, module)
    return out


def name(code: int) -> str:
    """'EV_PHASE' for a known code, else 'fw_0xNNNN'."""
    entry = table().get(code)
    return entry[0] if entry else "fw_0x%04x" % code
