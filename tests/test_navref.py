"""The float reference of the navigation (host_tools/sim/navref.py) against the
fixed-point estimator, both fed the measurements recorded from one nominal
descent with the firmware in the loop (issue 8: "the fixed-point estimator's
altitude and velocity RMSE vs truth are within 10% of the float version's on
the nominal scenario, and the gate decisions are the same")."""
import os

import pytest

from host_tools import SCENARIOS_DIR
from host_tools.sim import navref, scenario
from tests.app_fakes import fresh_event_ring  # noqa: F401

pytestmark = pytest.mark.usefixtures("fresh_event_ring")


@pytest.fixture(scope="module")
def nominal():
    rec = navref.record(scenario.load(os.path.join(SCENARIOS_DIR, "nominal.toml")))
    return rec, navref.compare(rec)


def test_the_float_reference_makes_the_same_gate_decisions(nominal):
    # measured: 2972 ranges, 2930 accepted and 42 beyond the beam's 75 deg
    # (the pitch-over), the same decision for every one
    _, c = nominal
    assert len(c["ref_gates"]) == len(c["fw_gates"]) > 2000
    assert c["ref_gates"] == c["fw_gates"]


def test_the_float_reference_tracks_the_truth(nominal):
    # the reference is a navigation of its own: metres at 8 km, centimetres
    # per second (measured: 2.01 m, 0.092 m/s, 0.037 m/s)
    _, c = nominal
    assert c["ref"]["alt_m"] < 3.0
    assert c["ref"]["vz_mps"] < 0.15
    assert c["ref"]["vx_mps"] < 0.1


def test_fixed_point_horizontal_velocity_rmse_within_10_percent_of_the_float(nominal):
    # measured: 0.038 m/s (float 0.037)
    _, c = nominal
    assert c["fw"]["vx_mps"] <= 1.10 * c["ref"]["vx_mps"]


# measured on nominal: fixed point 1.74 m / 0.084 m/s, the float 2.01 m / 0.092 m/s
# (2.70 m / 0.184 m/s before the Kalman update's products were rounded to
# nearest: floored, the bias update lost half a unit per range)
@pytest.mark.parametrize("key", ["alt_m", "vz_mps"])
def test_fixed_point_rmse_within_10_percent_of_the_float(nominal, key):
    _, c = nominal
    assert c["fw"][key] <= 1.10 * c["ref"][key]
