"""Every firmware module compiles for the boards' architectures, and the
firmware and boards type-check against each port's MicroPython stubs."""
import os
import re
import subprocess
import sys

import pytest

import host_tools

BIN = os.path.dirname(sys.executable)
FIRMWARE = host_tools.FIRMWARE_DIR
ARCHS = ("armv6m", "armv7emsp", "xtensawin")  # RP2040, STM32F4, ESP32


def firmware_modules():
    out = []
    for root, _dirs, files in os.walk(FIRMWARE):
        out += [os.path.join(root, f) for f in files if f.endswith(".py")]
    return sorted(out)


def test_firmware_has_modules():
    assert any(p.endswith("fixed.py") for p in firmware_modules())


@pytest.mark.parametrize("arch", ARCHS)
def test_every_firmware_module_compiles_with_mpy_cross(arch, tmp_path):
    failures = []
    for path in firmware_modules():
        out = tmp_path / (os.path.basename(path) + ".mpy")
        proc = subprocess.run([os.path.join(BIN, "mpy-cross"), "-march=" + arch, "-o", str(out), path],
                              capture_output=True, text=True)
        if proc.returncode != 0 or not out.exists():
            failures.append("%s: %s" % (os.path.relpath(path, FIRMWARE), proc.stderr.strip()))
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("port", ("rp2", "esp32", "stm32"))
def test_pyright_reports_no_errors_against_port_stubs(port):
    stubs = os.path.join(host_tools.REPO_ROOT, ".venv", "stubs", port, "machine.pyi")
    assert os.path.exists(stubs), "run make (it installs the %s stubs into .venv/stubs)" % port
    config = os.path.join(host_tools.REPO_ROOT, "tools", "pyright-%s.json" % port)
    proc = subprocess.run([os.path.join(BIN, "pyright"), "-p", config],
                          capture_output=True, text=True, cwd=host_tools.REPO_ROOT)
    assert proc.returncode == 0 and re.search(r"\b0 errors", proc.stdout), proc.stdout[-6000:]
