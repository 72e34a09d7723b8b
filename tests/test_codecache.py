"""Firmware modules compiled once per process (host_tools/codecache.py): a
fresh import re-executes the module (new state) without compiling it again,
and an edited file is compiled again."""
import os
import sys

import pytest

from host_tools import codecache


def _import_fresh(name):
    for m in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
        del sys.modules[m]
    return __import__(name)


def _package(tmp_path, name, body):
    pkg = tmp_path / name
    pkg.mkdir(exist_ok=True)
    (pkg / "__init__.py").write_text(body)
    return pkg


def test_a_fresh_import_runs_the_module_again_without_compiling_it_again(tmp_path, monkeypatch):
    _package(tmp_path, "cc_fw_a", "state = []\nstate.append(1)\n")
    finder = codecache.PackageFinder(str(tmp_path), "cc_fw_a")
    monkeypatch.setattr(sys, "meta_path", [finder] + sys.meta_path)
    compiles = []
    real = codecache.CachingLoader.source_to_code

    def counting(self, data, path, *a, **k):
        compiles.append(path)
        return real(self, data, path, *a, **k)
    monkeypatch.setattr(codecache.CachingLoader, "source_to_code", counting)
    first = _import_fresh("cc_fw_a")
    first.state.append(2)
    second = _import_fresh("cc_fw_a")
    assert second is not first and second.state == [1]     # module state starts over
    assert len(compiles) == 1


def test_an_edited_module_is_compiled_again(tmp_path, monkeypatch):
    pkg = _package(tmp_path, "cc_fw_b", "VALUE = 1\n")
    monkeypatch.setattr(sys, "meta_path", [codecache.PackageFinder(str(tmp_path), "cc_fw_b")] + sys.meta_path)
    assert _import_fresh("cc_fw_b").VALUE == 1
    (pkg / "__init__.py").write_text("VALUE = 22\n")            # another size
    st = os.stat(pkg / "__init__.py")
    os.utime(pkg / "__init__.py", ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert _import_fresh("cc_fw_b").VALUE == 22


@pytest.fixture
def firmware_modules_restored():
    # other tests hold references into the loaded firmware (lander.compat's
    # clock, the event ring): put the same module objects back afterwards
    saved = {m: mod for m, mod in sys.modules.items() if m == "lander" or m.startswith("lander.")}
    yield
    for m in [m for m in sys.modules if m == "lander" or m.startswith("lander.")]:
        del sys.modules[m]
    sys.modules.update(saved)


def test_a_reboot_in_the_simulator_compiles_no_firmware_module_again(firmware_modules_restored):
    from host_tools.sim import runner
    import lander.app  # noqa: F401
    runner._purge_firmware_modules()
    import lander.app  # noqa: F401,F811
    cached = dict(codecache._CODE)
    runner._purge_firmware_modules()
    import lander.app as app  # noqa: F811
    assert app.App is not None
    assert codecache._CODE == cached       # every module came from the cache
    assert any(key[1] == app.__file__ for key in cached)
