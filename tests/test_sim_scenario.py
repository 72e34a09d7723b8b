"""Scenario files: every shipped file loads; bad input is refused with the
file, the key and the reason; nothing runs half-configured."""
import glob
import os

import pytest

from host_tools import SCENARIOS_DIR
from host_tools.sim import scenario
from host_tools.sim.scenario import ScenarioError

FILES = sorted(glob.glob(os.path.join(SCENARIOS_DIR, "*.toml"))
               + glob.glob(os.path.join(SCENARIOS_DIR, "museum", "*.toml")))


def _write(tmp_path, text):
    p = tmp_path / "s.toml"
    p.write_text(text)
    return str(p)


@pytest.mark.parametrize("path", FILES, ids=os.path.basename)
def test_every_shipped_scenario_loads(path):
    sc = scenario.load(path)
    assert sc["name"]
    assert sc["_source"] == path


def test_museum_has_the_twelve_scenarios():
    assert len(glob.glob(os.path.join(SCENARIOS_DIR, "museum", "*.toml"))) == 12


def test_nominal_matches_design():
    sc = scenario.load(os.path.join(SCENARIOS_DIR, "nominal.toml"))
    v = sc["vehicle"]
    assert (v["dry_mass_kg"], v["propellant_kg"], v["max_thrust_n"], v["min_throttle"], v["isp_s"],
            v["engine_lag_s"]) == (340.0, 80.0, 3000.0, 0.2, 315.0, 0.15)
    i = sc["initial"]
    assert (i["altitude_m"], i["vx_mps"], i["vz_mps"]) == (8000.0, 80.0, -40.0)
    assert sc["target"]["x_m"] == 3000.0 and sc["link"]["bitrate_bps"] == 2000.0


def test_defaults_are_filled():
    sc = scenario.validate({"name": "x"})
    assert sc["gravity_mps2"] == 1.62 and sc["rate_hz"] == 50.0
    assert sc["reset"] == {"reboot_s": 0.3, "engine_hold_s": 1.0}
    assert sc["sensors"]["altimeter"]["enabled"] is True
    assert sc["faults"] == [] and sc["commands"] == []


def test_validate_is_idempotent():
    sc = scenario.load(FILES[0])
    assert scenario.validate(sc) == sc


def _refused(tmp_path, text):
    path = _write(tmp_path, text)
    with pytest.raises(ScenarioError) as info:
        scenario.load(path)
    assert info.value.file == path
    return info.value


def test_refuses_missing_name(tmp_path):
    e = _refused(tmp_path, "seed = 1\n")
    assert e.key == "name" and "missing" in e.reason


def test_refuses_unknown_top_level_key(tmp_path):
    e = _refused(tmp_path, 'name = "x"\ngravity = 1.6\n')
    assert e.key == "gravity" and "unknown" in e.reason


def test_refuses_unknown_section_key(tmp_path):
    e = _refused(tmp_path, 'name = "x"\n[vehicle]\ndry_mass = 3.0\n')
    assert e.key == "vehicle.dry_mass" and "unknown" in e.reason


def test_refuses_wrong_type(tmp_path):
    e = _refused(tmp_path, 'name = "x"\n[initial]\naltitude_m = "high"\n')
    assert e.key == "initial.altitude_m" and "number" in e.reason


def test_refuses_negative_mass(tmp_path):
    e = _refused(tmp_path, 'name = "x"\n[vehicle]\ndry_mass_kg = -340.0\n')
    assert e.key == "vehicle.dry_mass_kg" and "> 0" in e.reason


def test_refuses_min_throttle_above_one(tmp_path):
    e = _refused(tmp_path, 'name = "x"\n[vehicle]\nmin_throttle = 1.2\n')
    assert e.key == "vehicle.min_throttle" and "<= 1" in e.reason


def test_refuses_fault_without_trigger(tmp_path):
    e = _refused(tmp_path, 'name = "x"\n[[faults]]\nkind = "imu_reset"\n')
    assert e.key == "faults.0" and "trigger" in e.reason


def test_refuses_fault_with_two_triggers(tmp_path):
    e = _refused(tmp_path, 'name = "x"\n[[faults]]\nkind = "imu_reset"\nt_s = 3.0\nalt_m = 100.0\n')
    assert e.key == "faults.0"


def test_refuses_unknown_fault_kind(tmp_path):
    e = _refused(tmp_path, 'name = "x"\n[[faults]]\nkind = "gremlins"\nt_s = 3.0\n')
    assert e.key == "faults.0.kind"


def test_refuses_thrust_scale_without_value(tmp_path):
    e = _refused(tmp_path, 'name = "x"\n[[faults]]\nkind = "thrust_scale"\nt_s = 3.0\n')
    assert e.key == "faults.0.value"


def test_refuses_unknown_terrain_feature(tmp_path):
    e = _refused(tmp_path, 'name = "x"\n[terrain]\nfeatures = [ { kind = "volcano" } ]\n')
    assert e.key == "terrain.features.0.kind"


def test_refuses_feature_missing_a_key(tmp_path):
    e = _refused(tmp_path, 'name = "x"\n[terrain]\nfeatures = [ { kind = "step", x_m = 3.0 } ]\n')
    assert e.key == "terrain.features.0.height_m" and "missing" in e.reason


def test_refuses_unknown_sensor_part(tmp_path):
    e = _refused(tmp_path, 'name = "x"\n[sensors.lidar]\nnoise = 1.0\n')
    assert e.key == "sensors.lidar"


def test_refuses_bad_dropout_interval(tmp_path):
    e = _refused(tmp_path, 'name = "x"\n[sensors.altimeter]\ndropouts = [[5.0, 2.0]]\n')
    assert e.key == "sensors.altimeter.dropouts"


def test_refuses_unknown_bus_fault(tmp_path):
    e = _refused(tmp_path, 'name = "x"\n[sensors.imu]\nbus_faults = { gremlins = true }\n')
    assert e.key == "sensors.imu.bus_faults.gremlins"


def test_refuses_dispersion_of_a_missing_value(tmp_path):
    e = _refused(tmp_path, 'name = "x"\n[dispersions]\n"initial.speed" = 3.0\n')
    assert e.key == "dispersions.initial.speed"


def test_refuses_command_with_unknown_argument(tmp_path):
    e = _refused(tmp_path, 'name = "x"\n[[commands]]\nt_s = 1.0\ncommand = "abort"\nargs = { now = 1 }\n')
    assert e.key == "commands.0.args"


def test_refuses_unparsable_toml(tmp_path):
    e = _refused(tmp_path, 'name = "x\n')
    assert e.key == "<toml>"


def test_error_message_names_file_key_and_reason(tmp_path):
    e = _refused(tmp_path, 'name = "x"\n[vehicle]\nmin_throttle = 1.2\n')
    assert str(e).startswith(e.file + ": vehicle.min_throttle: ")


def test_paths_address_nested_values():
    sc = scenario.load(os.path.join(SCENARIOS_DIR, "museum", "01_crater_rim.toml"))
    assert scenario.get_path(sc, "terrain.features.0.depth_m") == 3000.0
    out = scenario.with_values(sc, {"terrain.features.0.depth_m": 2500.0, "initial.vx_mps": 70.0})
    assert out["terrain"]["features"][0]["depth_m"] == 2500.0 and out["initial"]["vx_mps"] == 70.0
    assert sc["terrain"]["features"][0]["depth_m"] == 3000.0


def test_with_values_refuses_impossible_values():
    sc = scenario.validate({"name": "x"})
    with pytest.raises(ScenarioError):
        scenario.with_values(sc, {"vehicle.dry_mass_kg": -1.0})
