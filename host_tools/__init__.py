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
