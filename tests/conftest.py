import os

# Firmware imported by the tests runs in checking mode (|x| < 2^30 everywhere).
os.environ.setdefault("LANDER_RANGE_CHECK", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

import host_tools  # noqa: E402,F401  (puts firmware/ on sys.path, installs the checks)
from tests import harness  # noqa: E402

settings.register_profile(
    "lander", derandomize=True, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("lander")

# Missing interpreters fail, unless the developer opts out explicitly.
_ALLOW_MISSING = os.environ.get("LANDER_ALLOW_MISSING_INTERP", "") == "1" and not os.environ.get("CI")
_ONLY = os.environ.get("LANDER_INTERP", "")  # e.g. LANDER_INTERP=wasm to run one


def _interp_params():
    chosen = [i for i in harness.INTERPRETERS if not _ONLY or i in _ONLY.split(",")]
    return chosen


@pytest.fixture(params=_interp_params())
def interp(request):
    """Each firmware test using this fixture runs once per interpreter."""
    name = request.param
    reason = harness.available(name)
    if reason:
        if _ALLOW_MISSING:
            pytest.skip("%s unavailable (LANDER_ALLOW_MISSING_INTERP=1): %s" % (name, reason))
        pytest.fail("interpreter %s is missing: %s" % (name, reason))
    return name


@pytest.fixture
def run_fw():
    """run_fw(interp, code, data=None, fuel=None) -> harness.Result."""
    return harness.run_firmware


@pytest.fixture
def bench():
    """A fresh seed-0 bench behind the host `machine` module, removed after the test."""
    from host_tools.emu import machine as hm
    from host_tools.emu.bench import Bench
    b = Bench(0)
    hm.install(b)
    yield b
    hm.uninstall()
