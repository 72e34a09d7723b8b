"""CPython tools around the descent computer (the `lander` command)."""
import os
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIRMWARE_DIR = os.path.join(REPO_ROOT, "firmware")
BOARDS_DIR = os.path.join(REPO_ROOT, "boards")
SCENARIOS_DIR = os.path.join(REPO_ROOT, "scenarios")

# Host code imports firmware modules (one source for units and packet tables).
if FIRMWARE_DIR not in sys.path:
    sys.path.insert(0, FIRMWARE_DIR)

# Checking mode: LANDER_RANGE_CHECK=1 compiles the firmware with 2^30 range checks.
if os.environ.get("LANDER_RANGE_CHECK", "") not in ("", "0"):
    from host_tools import rangecheck as _rangecheck

    _rangecheck.install(FIRMWARE_DIR)
else:
    # the simulator re-imports the firmware at every boot: compile it once
    from host_tools import codecache as _codecache

    _codecache.install(FIRMWARE_DIR)


def rangecheck_enabled() -> bool:
    return "host_tools.rangecheck" in sys.modules and sys.modules["host_tools.rangecheck"].enabled()
