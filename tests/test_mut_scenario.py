"""Scenario validation pinned value by value (each test one behaviour): the
exact refusal (file, key, reason) at each bound and each check of
host_tools/sim/scenario.py, and the exact value a good scenario is given.
Killing the mutants of `make mutate GROUP=sim-scenario`; docs/mutation.md."""
import pytest

from host_tools.sim import scenario
from host_tools.sim.scenario import ScenarioError


def _refusal(sc, source="<dict>"):
    with pytest.raises(ScenarioError) as info:
        scenario.validate(sc, source=source)
    return info.value


def test_error_carries_file_key_and_reason_and_formats_them():
    e = ScenarioError("f.toml", "vehicle.isp_s", "must be > 0 (got 0.0)")
    assert (e.file, e.key, e.reason) == ("f.toml", "vehicle.isp_s", "must be > 0 (got 0.0)")
    assert str(e) == "f.toml: vehicle.isp_s: must be > 0 (got 0.0)"


TOP_KNOWN = ("commands, description, dispersions, faults, gravity_mps2, initial, link, max_time_s, name, "
             "pass, post_touchdown_s, rate_hz, reset, seed, sensors, substeps, target, terrain, vehicle")
VEHICLE_KNOWN = ("battery_v, dry_mass_kg, engine_lag_s, isp_s, leg_span_m, max_pitch_deg, "
                 "max_pitch_rate_dps, max_thrust_n, min_throttle, pitch_rate_lag_s, pitch_tau_s, "
                 "propellant_kg")
FEATURE_KINDS = "boulders, crater, flat, slope, step"
PARTS = "altimeter, baro, imu, imu2, legs, power, rangefinder"


def _bus_known():
    import dataclasses
    from host_tools.emu.bus import Faults
    return ", ".join(sorted(f.name for f in dataclasses.fields(Faults) if f.name != "seed"))


def _feat(**kw):
    return {"name": "x", "terrain": {"features": [kw]}}


def _fault_sc(**kw):
    return {"name": "x", "faults": [kw]}


N = {"name": "x"}

# (scenario, key, the exact reason): one refusal each
REFUSALS = [
    ("not a table", "<top>", "a scenario is a table"),
    (dict(N, gravity=1.6), "gravity", "unknown key (known: %s)" % TOP_KNOWN),
    ({"seed": 1}, "name", "missing required key"),
    ({"name": 3}, "name", "expected a string, got 3"),
    ({"name": "n" * 201}, "name", "longer than 200 characters"),
    (dict(N, description="d" * 1001), "description", "longer than 1000 characters"),
    (dict(N, seed=-1), "seed", "must be >= 0 (got -1)"),
    (dict(N, seed=2**63), "seed", "must be <= %d (got %d)" % (2**63 - 1, 2**63)),
    (dict(N, seed=1.5), "seed", "expected an integer, got 1.5"),
    (dict(N, seed=True), "seed", "expected an integer, got True"),
    (dict(N, rate_hz=0.5), "rate_hz", "must be >= 1 (got 0.5)"),
    (dict(N, rate_hz="fast"), "rate_hz", "expected a number, got 'fast'"),
    (dict(N, rate_hz=float("nan")), "rate_hz", "expected a number, got nan"),
    (dict(N, rate_hz=float("inf")), "rate_hz", "expected a number, got inf"),
    (dict(N, rate_hz=True), "rate_hz", "expected a number, got True"),
    (dict(N, gravity_mps2=0.0), "gravity_mps2", "must be > 0 (got 0.0)"),
    (dict(N, gravity_mps2=30.5), "gravity_mps2", "must be <= 30 (got 30.5)"),
    (dict(N, substeps=0), "substeps", "must be >= 1 (got 0)"),
    (dict(N, rate_hz=100.0, max_time_s=2000.5), "max_time_s",
     "rate_hz * max_time_s must be <= 200000 control cycles (got 200050)"),
    (dict(N, vehicle=3), "vehicle", "expected a table, got 3"),
    (dict(N, vehicle={"mass": 1.0}), "vehicle.mass", "unknown key (known: %s)" % VEHICLE_KNOWN),
    (dict(N, vehicle={"min_throttle": 1.5}), "vehicle.min_throttle", "must be <= 1 (got 1.5)"),
    (dict(N, terrain={"base_m": 1e9}), "terrain.base_m", "must be <= 100000 (got 1000000000.0)"),
    (dict(N, terrain={"rough": 1}), "terrain.rough", "unknown key (known: base_m, features)"),
    ({"_source": "a.toml", "name": "x", "bogus": 1}, "bogus", "unknown key (known: %s)" % TOP_KNOWN),
    (dict(N, initial={"x_m": -2e6}), "initial.x_m", "must be >= -1e+06 (got -2000000.0)"),
    # terrain
    (dict(N, terrain={"features": {}}), "terrain.features", "expected a list of tables"),
    (dict(N, terrain={"features": [{"kind": "flat"}] * 101}), "terrain.features", "more than 100 features"),
    (dict(N, terrain={"features": [3]}), "terrain.features.0", "expected a table {kind = ...}"),
    (_feat(), "terrain.features.0.kind", "must be one of %s (got None)" % FEATURE_KINDS),
    (_feat(kind="volcano"), "terrain.features.0.kind", "must be one of %s (got 'volcano')" % FEATURE_KINDS),
    (_feat(kind="step", x_m=1.0), "terrain.features.0.height_m", "missing required key"),
    (_feat(kind="boulders", x0_m=5.0, x1_m=4.5), "terrain.features.0.x1_m", "must be >= x0_m"),
    (_feat(kind="slope", angle_deg=5.0, x0_m=5.0, x1_m=4.5), "terrain.features.0.x1_m", "must be >= x0_m"),
    (_feat(kind="crater", x_m=0.0, radius_m=10.0, depth_m=1.0, wall_width_m=10.5),
     "terrain.features.0.wall_width_m", "must be <= radius_m"),
    (dict(N, terrain={"features": [{"kind": "flat"}, {"kind": "flat", "x": 1}]}), "terrain.features.1.x",
     "unknown key (known: )"),
    # sensors
    (dict(N, sensors=[]), "sensors", "expected a table of parts"),
    (dict(N, sensors={"lidar": {}}), "sensors.lidar", "unknown part (known: %s)" % PARTS),
    (dict(N, sensors={"baro": 2}), "sensors.baro", "expected a table, got 2"),
    (dict(N, sensors={"imu": {"bus_faults": {"seed": 1}}}), "sensors.imu.bus_faults.seed",
     "unknown bus fault (known: %s)" % _bus_known()),
    (dict(N, sensors={"imu": {"bus_faults": {"gremlins": 1}}}), "sensors.imu.bus_faults.gremlins",
     "unknown bus fault (known: %s)" % _bus_known()),
    (dict(N, sensors={"power": {"bus_faults": {"nack": 1}}}), "sensors.power.bus_faults.nack",
     "expected true or false"),
    (dict(N, sensors={"imu": {"bus_faults": {"noise": -0.5}}}), "sensors.imu.bus_faults.noise",
     "expected a number >= 0"),
    (dict(N, sensors={"imu": {"bus_faults": {"noise": "x"}}}), "sensors.imu.bus_faults.noise",
     "expected a number >= 0"),
    (dict(N, sensors={"imu": {"bus_faults": {"nack_rate": 1.5}}}), "sensors.imu.bus_faults.nack_rate",
     "a probability must be <= 1 (got 1.5)"),
    (dict(N, sensors={"imu": {"bus_faults": {"latency_s": 60.5}}}), "sensors.imu.bus_faults.latency_s",
     "must be <= 60 s (got 60.5)"),
    (dict(N, sensors={"imu": {"bus_faults": {"bias": 1000001.0}}}), "sensors.imu.bus_faults.bias",
     "must be <= 1e6 (got 1000001.0)"),
    (dict(N, sensors={"altimeter": {"bus_faults": {"dropouts": [[2.0, 1.0]]}}}),
     "sensors.altimeter.bus_faults.dropouts", "interval [2.0, 1.0] ends before it starts"),
    # faults
    (dict(N, faults={}), "faults", "expected an array of tables ([[faults]])"),
    (dict(N, commands={}), "commands", "expected an array of tables ([[commands]])"),
    (dict(N, faults=[3]), "faults", "expected an array of tables ([[faults]])"),
    (dict(N, faults=[{"kind": "imu_reset", "t_s": 1.0}] * 1001), "faults", "more than 1000 entries"),
    (_fault_sc(kind="imu_reset"), "faults.0", "needs exactly one trigger: t_s, alt_m or x_m"),
    (_fault_sc(kind="imu_reset", t_s=1.0, x_m=2.0), "faults.0", "needs exactly one trigger: t_s, alt_m or x_m"),
    (_fault_sc(kind="imu_reset", t_s=1.0, alt_m=2.0, x_m=2.0), "faults.0",
     "needs exactly one trigger: t_s, alt_m or x_m"),
    (_fault_sc(kind="thrust_scale", t_s=1.0), "faults.0.value", "missing (required by thrust_scale)"),
    (_fault_sc(kind="sensor_bias", t_s=1.0), "faults.0.value", "missing (required by sensor_bias)"),
    (_fault_sc(kind="sensor_noise", t_s=1.0), "faults.0.value", "missing (required by sensor_noise)"),
    (_fault_sc(kind="sensor_outliers", t_s=1.0), "faults.0.value", "missing (required by sensor_outliers)"),
    (_fault_sc(kind="thrust_scale", t_s=1.0, value=-0.5), "faults.0.value", "thrust scale must be >= 0"),
    (_fault_sc(kind="sensor_outliers", t_s=1.0, value=1.5), "faults.0.value", "outlier rate must be in 0..1"),
    (_fault_sc(kind="sensor_outliers", t_s=1.0, value=-0.5), "faults.0.value", "outlier rate must be in 0..1"),
    (_fault_sc(kind="imu_reset", t_s=[2.0, 1.0]), "faults.0.t_s", "range [2.0, 1.0] ends before it starts"),
    (_fault_sc(kind="imu_reset", t_s=[1.0, 3601.0]), "faults.0.t_s", "must be <= 3600 (got 3601.0)"),
    (_fault_sc(kind="imu_reset", t_s=[-1.0, 1.0]), "faults.0.t_s", "must be >= 0 (got -1.0)"),
    (_fault_sc(kind="imu_reset", t_s="soon"), "faults.0.t_s", "expected a number or [min, max], got 'soon'"),
    (_fault_sc(kind="imu_reset", t_s=[1.0]), "faults.0.t_s", "expected a number or [min, max], got [1.0]"),
    (_fault_sc(kind="imu_reset", t_s=[1.0, "x"]), "faults.0.t_s",
     "expected a number or [min, max], got [1.0, 'x']"),
    (_fault_sc(kind="gremlins", t_s=1.0), "faults.0.kind",
     "must be one of imu_reset, link_outage, power_loss, sensor_bias, sensor_dropout, sensor_noise, "
     "sensor_outliers, sensor_stuck, thrust_scale, watchdog_reset (got 'gremlins')"),
    # commands
    (dict(N, commands=[{"t_s": 1.0}]), "commands.0.command", "missing required key"),
    (dict(N, commands=[{"t_s": 1.0, "command": "noop"}, {"t_s": 1.0, "command": "abort", "args": {"now": 1}}]),
     "commands.1.args", str(KeyError("command abort takes no argument 'now' (takes: none)"))),
    (dict(N, commands=[{"t_s": 1.0, "command": "noop", "args": 3}]), "commands.0.args",
     "expected a table, got 3"),
    (dict(N, link={"command_key_hex": "zz" * 16}), "link.command_key_hex", "not hexadecimal"),
    (dict(N, link={"command_key_hex": "ab" * 15}), "link.command_key_hex", "key shorter than 16 bytes"),
    (dict(N, link={"command_key_hex": "a" * 257}), "link.command_key_hex", "longer than 256 characters"),
    # pass
    (dict(N, **{"pass": {"max_vz_mps": 3.0, "crash_vz_mps": 2.5}}), "pass.crash_vz_mps", "must be >= max_vz_mps"),
    (dict(N, **{"pass": {"outcomes": "landed"}}), "pass.outcomes", "expected a list of strings, got 'landed'"),
    (dict(N, **{"pass": {"outcomes": ["landed", 3]}}), "pass.outcomes",
     "expected a list of strings, got ['landed', 3]"),
    (dict(N, **{"pass": {"outcomes": ["landed", "won"]}}), "pass.outcomes",
     "must be among crashed, fuel_out, hard_landing, landed, timeout, tipped (got 'won')"),
    (dict(N, **{"pass": {"outcomes": ["landed"] * 1001}}), "pass.outcomes", "more than 1000 strings"),
    # sensor intervals
    (dict(N, sensors={"altimeter": {"dropouts": 3}}), "sensors.altimeter.dropouts",
     "expected a list of [t0, t1] pairs, got 3"),
    (dict(N, sensors={"altimeter": {"dropouts": [[0.0, 1.0]] * 1001}}), "sensors.altimeter.dropouts",
     "more than 1000 intervals"),
    (dict(N, sensors={"altimeter": {"dropouts": [[0.0, 1.0, 2.0]]}}), "sensors.altimeter.dropouts",
     "expected [t0, t1] pairs of numbers, got [0.0, 1.0, 2.0]"),
    (dict(N, sensors={"altimeter": {"dropouts": [(0.0, 1.0)]}}), "sensors.altimeter.dropouts",
     "expected [t0, t1] pairs of numbers, got (0.0, 1.0)"),
    (dict(N, sensors={"altimeter": {"dropouts": [[0.0, "x"]]}}), "sensors.altimeter.dropouts",
     "expected [t0, t1] pairs of numbers, got [0.0, 'x']"),
    (dict(N, sensors={"altimeter": {"dropouts": [[-0.5, 1.0]]}}), "sensors.altimeter.dropouts",
     "interval [-0.5, 1.0] starts before t = 0"),
    (dict(N, sensors={"altimeter": {"dropouts": [[3600.5, 3601.0]]}}), "sensors.altimeter.dropouts",
     "interval [3600.5, 3601.0] starts after 3600 s"),
    (dict(N, sensors={"altimeter": {"enabled": 1}}), "sensors.altimeter.enabled", "expected true or false, got 1"),
    # dispersions
    (dict(N, dispersions=[]), "dispersions", "expected a table of \"path\" = sigma | [min, max]"),
    (dict(N, dispersions={"initial.x_m": 1.0, **{"faults.%d" % i: 1.0 for i in range(1000)}}), "dispersions",
     "more than 1000 dispersed values"),
    (dict(N, dispersions={"initial.speed": 1.0}), "dispersions.initial.speed", "no such scenario value"),
    (dict(N, dispersions={"faults.0.t_s": 1.0}), "dispersions.faults.0.t_s", "no such scenario value"),
    (dict(N, dispersions={"name.x": 1.0}), "dispersions.name.x", "no such scenario value"),
    (dict(N, dispersions={"name": 1.0}), "dispersions.name", "disperses a non-numeric value 'x'"),
    (dict(N, dispersions={"pass.outcomes": 1.0}), "dispersions.pass.outcomes",
     "disperses a non-numeric value ['landed']"),
    (dict(N, dispersions={"initial.x_m": 10000000.5}), "dispersions.initial.x_m",
     "must be within +/-1e+07 (got 10000000.5)"),
    (dict(N, dispersions={"initial.x_m": [0.0, -10000000.5]}), "dispersions.initial.x_m",
     "must be within +/-1e+07 (got -10000000.5)"),
    (dict(N, dispersions={"initial.x_m": -0.5}), "dispersions.initial.x_m", "sigma must be >= 0"),
    (dict(N, dispersions={"initial.x_m": [2.0, 1.0]}), "dispersions.initial.x_m", "range ends before it starts"),
    (dict(N, dispersions={"initial.x_m": [1.0, 2.0, 3.0]}), "dispersions.initial.x_m",
     "expected a 1-sigma number or [min, max]"),
    (dict(N, dispersions={"initial.x_m": "wide"}), "dispersions.initial.x_m",
     "expected a 1-sigma number or [min, max]"),
    (dict(N, dispersions={"initial.x_m": [1.0, "x"]}), "dispersions.initial.x_m",
     "expected a 1-sigma number or [min, max]"),
]


@pytest.mark.parametrize("sc, key, reason", REFUSALS, ids=["%d-%s" % (i, r[1]) for i, r in enumerate(REFUSALS)])
def test_refusal_names_the_key_and_the_exact_reason(sc, key, reason):
    e = _refusal(sc, source="s.toml")
    assert (e.file, e.key, e.reason) == ("s.toml", key, reason)


# (scenario, path, the value it is given): accepted at each bound
ACCEPTED = [
    ({"name": "n" * 200}, "name", "n" * 200),
    (dict(N, description="d" * 1000), "description", "d" * 1000),
    (dict(N, seed=2**63 - 1), "seed", 2**63 - 1),
    (dict(N, seed=0), "seed", 0),
    (dict(N, rate_hz=1), "rate_hz", 1.0),
    (dict(N, gravity_mps2=30), "gravity_mps2", 30.0),
    (dict(N, rate_hz=100.0, max_time_s=2000.0), "max_time_s", 2000.0),
    (dict(N, vehicle={"min_throttle": 1}), "vehicle.min_throttle", 1.0),
    (dict(N, vehicle={"propellant_kg": 0}), "vehicle.propellant_kg", 0.0),
    (dict(N, terrain={"features": [{"kind": "flat"}] * 100}), "terrain.features.99", {"kind": "flat"}),
    (_feat(kind="boulders", x0_m=5.0, x1_m=5.0), "terrain.features.0",
     {"kind": "boulders", "x0_m": 5.0, "x1_m": 5.0, "count": 20, "max_height_m": 1.0, "max_width_m": 3.0,
      "seed": None}),
    (_feat(kind="slope", angle_deg=5, x0_m=5.0, x1_m=5.0), "terrain.features.0",
     {"kind": "slope", "angle_deg": 5.0, "x0_m": 5.0, "x1_m": 5.0}),
    (_feat(kind="slope", angle_deg=5), "terrain.features.0",
     {"kind": "slope", "angle_deg": 5.0, "x0_m": 0.0, "x1_m": None}),
    (_feat(kind="crater", x_m=0.0, radius_m=10.0, depth_m=1.0, wall_width_m=10.0), "terrain.features.0",
     {"kind": "crater", "x_m": 0.0, "radius_m": 10.0, "depth_m": 1.0, "rim_height_m": 0.0,
      "rim_width_m": None, "wall_width_m": 10.0}),
    (_feat(kind="step", x_m=1, height_m=2), "terrain.features.0",
     {"kind": "step", "x_m": 1.0, "height_m": 2.0, "width_m": 0.0}),
    (dict(N, sensors={"imu": {"bus_faults": {"nack_rate": 1, "latency_s": 60, "bias": 1e6, "noise": 0,
                                             "nack": True, "dropouts": [[0, 1]]}}}),
     "sensors.imu.bus_faults", {"nack_rate": 1, "latency_s": 60, "bias": 1e6, "noise": 0, "nack": True,
                                "dropouts": [[0, 1]]}),
    (dict(N, sensors={"altimeter": {"dropouts": [[3600, 3600], [0, 0]]}}), "sensors.altimeter.dropouts",
     [[3600.0, 3600.0], [0.0, 0.0]]),
    (dict(N, sensors={"altimeter": {"dropouts": [[1, 2], [3600.0, 3700.5]]}}), "sensors.altimeter.dropouts",
     [[1.0, 2.0], [3600.0, 3700.5]]),
    (_fault_sc(kind="thrust_scale", t_s=1, value=0), "faults.0",
     {"kind": "thrust_scale", "t_s": 1.0, "alt_m": None, "x_m": None, "value": 0.0, "part": None,
      "duration_s": None, "until_alt_m": None}),
    (_fault_sc(kind="sensor_outliers", alt_m=5, value=1), "faults.0.value", 1.0),
    (_fault_sc(kind="sensor_outliers", alt_m=5, value=0), "faults.0.part", "altimeter"),
    (_fault_sc(kind="sensor_bias", x_m=5, value=0.5, part="baro"), "faults.0.part", "baro"),
    (_fault_sc(kind="imu_reset", t_s=[0, 3600]), "faults.0.t_s", [0.0, 3600.0]),
    (_fault_sc(kind="imu_reset", t_s=[2.0, 2.0]), "faults.0.t_s", [2.0, 2.0]),
    (_fault_sc(kind="imu_reset", t_s=0), "faults.0.part", "imu"),
    (_fault_sc(kind="imu_reset", t_s=0, part="imu2"), "faults.0.part", "imu2"),
    (_fault_sc(kind="watchdog_reset", t_s=0), "faults.0.part", None),
    (dict(N, faults=[{"kind": "imu_reset", "t_s": 1.0}] * 1000), "faults.999.t_s", 1.0),
    (dict(N, commands=[{"t_s": 1.0, "command": "noop"}] * 1000), "commands.999.t_s", 1.0),
    (dict(N, sensors={"altimeter": {"dropouts": [[0.0, 1.0]] * 1000}}), "sensors.altimeter.dropouts.999",
     [0.0, 1.0]),
    (dict(N, **{"pass": {"outcomes": ["landed"] * 1000}}), "pass.outcomes.999", "landed"),
    (dict(N, commands=[{"t_s": 2, "command": "noop"}]), "commands.0", {"t_s": 2.0, "command": "noop", "args": {}}),
    (dict(N, link={"command_key_hex": "AB" * 16}), "link.command_key_hex", "AB" * 16),
    (dict(N, **{"pass": {"max_vz_mps": 3.0, "crash_vz_mps": 3.0}}), "pass.crash_vz_mps", 3.0),
    (dict(N, **{"pass": {"outcomes": ["landed", "tipped"]}}), "pass.outcomes", ["landed", "tipped"]),
    (dict(N, dispersions={"initial.x_m": 10000000}), "dispersions", {"initial.x_m": 10000000.0}),
    (dict(N, dispersions={"initial.x_m": 0}), "dispersions", {"initial.x_m": 0.0}),
    (dict(N, dispersions={"initial.x_m": [-10000000, 10000000]}), "dispersions",
     {"initial.x_m": [-10000000.0, 10000000.0]}),
    (dict(N, dispersions={"initial.x_m": [2, 2]}), "dispersions", {"initial.x_m": [2.0, 2.0]}),
    (dict(N, faults=[{"kind": "imu_reset", "t_s": [1.0, 2.0]}], dispersions={"faults.0.t_s": 0.5}),
     "dispersions", {"faults.0.t_s": 0.5}),
    (dict(N, sensors={"altimeter": {"dropouts": [[0.0, 1.0]] * 1000}},
          dispersions={"sensors.altimeter.dropouts.%d.0" % i: 0.0 for i in range(1000)}),
     "dispersions.sensors.altimeter.dropouts.999.0", 0.0),
]


@pytest.mark.parametrize("sc, path, want", ACCEPTED, ids=["%d-%s" % (i, a[1]) for i, a in enumerate(ACCEPTED)])
def test_accepted_at_the_bound_with_the_value_it_is_given(sc, path, want):
    out = scenario.validate(sc)
    if path.startswith("dispersions."):
        got = out["dispersions"][path[len("dispersions."):]]
    else:
        got = scenario.get_path(out, path)
    assert got == want
    assert type(got) is type(want)


# ---------------------------------------------------------------- one field

def _check(field, v):
    reasons = []

    def err(reason):
        reasons.append(reason)
        raise ScenarioError("f", "k", reason)

    try:
        return field.check(v, err)
    except ScenarioError:
        return reasons


def test_open_upper_bound_refuses_the_bound_itself():
    f = scenario.F("num", lo=0.0, hi=1.0, hi_open=True)
    assert _check(f, 1.0) == ["must be < 1 (got 1.0)"]
    assert _check(f, 0.5) == 0.5 and _check(f, 0.0) == 0.0


def test_open_lower_bound_refuses_the_bound_itself():
    f = scenario.F("num", lo=0.0, lo_open=True, hi=1.0)
    assert _check(f, 0.0) == ["must be > 0 (got 0.0)"]
    assert _check(f, 1.0) == 1.0


def test_integer_bounds_print_as_integers():
    f = scenario.F("int", lo=-3, hi=7)
    assert _check(f, -4) == ["must be >= -3 (got -4)"] and _check(f, 8) == ["must be <= 7 (got 8)"]
    assert _check(f, 7) == 7 and _check(f, -3) == -3


def test_float_bounds_print_in_short_form():
    f = scenario.F("num", lo=0.5, hi=1e7)
    assert _check(f, 0.25) == ["must be >= 0.5 (got 0.25)"] and _check(f, 2e7) == ["must be <= 1e+07 (got 20000000.0)"]


def test_a_range_is_checked_at_both_ends():
    f = scenario.F("num_or_range", lo=0.0, hi=10.0)
    assert _check(f, [1, 10]) == [1.0, 10.0] and _check(f, 4) == 4.0
    assert _check(f, [1.0, 10.5]) == ["must be <= 10 (got 10.5)"]
    assert _check(f, [-0.5, 1.0]) == ["must be >= 0 (got -0.5)"]
    assert _check(f, 10.5) == ["must be <= 10 (got 10.5)"]
    assert _check(f, [True, 1.0]) == ["expected a number or [min, max], got [True, 1.0]"]


def test_an_unset_optional_value_stays_unset():
    assert _check(scenario.F("num", None, lo=0.0), None) is None
    assert _check(scenario.F("num", 1.0), None) == ["expected a number, got None"]


def test_a_string_may_have_its_own_length_limit():
    f = scenario.F("str", hi=3)
    assert _check(f, "abc") == "abc" and _check(f, "abcd") == ["longer than 3 characters"]
    assert _check(scenario.F("str"), "a" * 1000) == "a" * 1000
    assert _check(scenario.F("str"), "a" * 1001) == ["longer than 1000 characters"]


def test_a_string_with_choices_takes_only_those():
    f = scenario.F("str", choices=("b", "a"))
    assert _check(f, "a") == "a" and _check(f, "c") == ["must be one of a, b (got 'c')"]
    assert _check(f, 1) == ["expected a string, got 1"]


def test_a_table_is_copied():
    src = {"a": 1}
    got = _check(scenario.F("table", {}), src)
    assert got == {"a": 1} and got is not src
    assert _check(scenario.F("table", {}), [1]) == ["expected a table, got [1]"]


def test_lists_are_copied():
    src = ["landed"]
    got = _check(scenario.F("str_list", []), src)
    assert got == src and got is not src


def test_an_unknown_field_kind_is_a_programming_error():
    with pytest.raises(AssertionError) as info:
        _check(scenario.F("complex"), 1)
    assert info.value.args == ("complex",)


def test_integer_values_become_floats_in_number_fields():
    out = scenario.validate(dict(N, rate_hz=40, initial={"altitude_m": 5}))
    assert type(out["rate_hz"]) is float and type(out["initial"]["altitude_m"]) is float
    assert type(scenario.validate(dict(N, substeps=2.0 if False else 2))["substeps"]) is int


def test_defaults_are_fresh_copies():
    a = scenario.validate(N)
    a["terrain"]["features"].append({"kind": "flat"})
    a["pass"]["outcomes"].append("tipped")
    a["sensors"]["altimeter"]["dropouts"].append([0.0, 1.0])
    b = scenario.validate(N)
    assert b["terrain"]["features"] == [] and b["pass"]["outcomes"] == ["landed"]
    assert b["sensors"]["altimeter"]["dropouts"] == []


def test_every_section_and_part_is_filled():
    out = scenario.validate(N)
    assert set(out) == {"name", "description", "seed", "rate_hz", "gravity_mps2", "substeps", "max_time_s",
                        "post_touchdown_s", "vehicle", "initial", "target", "terrain", "sensors", "faults",
                        "commands", "reset", "link", "dispersions", "pass"}
    assert set(out["sensors"]) == set(PARTS.split(", "))
    assert out["link"]["tc_apid"] == 0x50 and out["target"] == {"x_m": 3000.0}
    assert out["terrain"] == {"base_m": 0.0, "features": []} and out["dispersions"] == {}
    assert out["sensors"]["legs"] == {"enabled": True, "dropouts": [], "stuck_at_s": None,
                                      "valid_flag_never_set": False, "outlier_rate": 0.0, "bus_faults": {}}


def test_source_note_is_kept_from_a_dict_and_refused_from_a_file():
    assert scenario.validate(dict(N, _source="a.toml"))["_source"] == "a.toml"
    assert "_source" not in scenario.validate(N)
    with pytest.raises(ScenarioError) as info:
        scenario.validate(dict(N, _source="a.toml"), from_file=True)
    assert info.value.key == "_source" and info.value.reason.startswith("unknown key (known: ")


def test_validate_does_not_change_its_input():
    sc = dict(N, faults=[{"kind": "sensor_bias", "t_s": 1, "value": 1.0}], vehicle={"isp_s": 300})
    import copy
    before = copy.deepcopy(sc)
    scenario.validate(sc)
    assert sc == before


def test_default_source_is_named_dict():
    with pytest.raises(ScenarioError) as info:
        scenario.validate({})
    assert info.value.file == "<dict>"


# ---------------------------------------------------------------- files

def _file_refusal(path, **kw):
    with pytest.raises(ScenarioError) as info:
        scenario.read_text(str(path), **kw)
    assert (info.value.file, info.value.key) == (str(path), "<file>")
    return info.value.reason


def test_missing_file_reason(tmp_path):
    assert _file_refusal(tmp_path / "none.toml") == "no such file"


def test_directory_reason(tmp_path):
    assert _file_refusal(tmp_path) == "not a regular file (a directory)"


def test_directory_refused_by_open_reason(tmp_path, monkeypatch):
    # where open() itself refuses a directory (not Linux): the same reason
    def refuse(path, flags):
        raise IsADirectoryError(21, "Is a directory")

    monkeypatch.setattr(scenario.os, "open", refuse)
    assert _file_refusal(tmp_path) == "not a regular file (a directory)"


@pytest.mark.parametrize("mode, what", [("S_IFSOCK", "a socket"), ("S_IFBLK", "a device"),
                                        ("S_IFCHR", "a device"), ("S_IFIFO", "a pipe"),
                                        ("S_IFDIR", "a directory"), ("S_IFLNK", "not a file")])
def test_kind_of_file_named_from_its_mode(tmp_path, monkeypatch, mode, what):
    import stat
    p = tmp_path / "s.toml"
    p.write_text("a")

    class St:
        st_mode = getattr(stat, mode) | 0o644
        st_size = 1

    monkeypatch.setattr(scenario.os, "fstat", lambda fd: St)
    assert _file_refusal(p) == "not a regular file (%s)" % what


def test_device_reason():
    assert _file_refusal("/dev/null") == "not a regular file (a device)"


def test_pipe_reason(tmp_path):
    import os
    os.mkfifo(tmp_path / "p")
    assert _file_refusal(tmp_path / "p") == "not a regular file (a pipe)"


def test_socket_reason(tmp_path):
    import socket
    s = socket.socket(socket.AF_UNIX)
    try:
        s.bind(str(tmp_path / "s"))
        reason = _file_refusal(tmp_path / "s")
    finally:
        s.close()
    assert reason in ("not a regular file (a socket)", "cannot open: No such device or address")


def test_unopenable_file_reason(tmp_path, monkeypatch):
    import os

    def refuse(path, flags):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(scenario.os, "open", refuse)
    assert _file_refusal(tmp_path / "x") == "cannot open: Permission denied"


def test_file_is_opened_read_only_without_blocking(tmp_path, monkeypatch):
    import os
    seen = []
    real = os.open
    monkeypatch.setattr(scenario.os, "open", lambda path, flags: seen.append(flags) or real(path, flags))
    p = tmp_path / "s.toml"
    p.write_text("a")
    assert scenario.read_text(str(p)) == "a"
    assert seen == [os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY]


def test_size_reason_names_the_cap_and_the_size(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text("x" * 11)
    assert _file_refusal(p, cap=10) == "larger than 10 bytes (11)"
    assert scenario.read_text(str(p), cap=11) == "x" * 11


def test_the_default_cap_is_one_mebibyte(tmp_path):
    p = tmp_path / "s.toml"
    p.write_bytes(b"#" * (1 << 20))
    assert len(scenario.read_text(str(p))) == 1 << 20
    p.write_bytes(b"#" * ((1 << 20) + 1))
    assert _file_refusal(p) == "larger than 1048576 bytes (1048577)"


def test_a_file_longer_than_one_read_is_read_whole(tmp_path):
    p = tmp_path / "s.toml"
    text = "".join("%07d\n" % i for i in range(20000))          # 160,000 bytes
    p.write_text(text)
    assert scenario.read_text(str(p)) == text


def test_a_file_that_grows_past_the_cap_while_read_is_refused(tmp_path, monkeypatch):
    import os
    p = tmp_path / "s.toml"
    p.write_text("x" * 100)

    class Small:
        st_mode = os.stat(p).st_mode
        st_size = 5                              # what it was when looked at

    monkeypatch.setattr(scenario.os, "fstat", lambda fd: Small)
    reads = []
    real_read = os.read
    monkeypatch.setattr(scenario.os, "read", lambda fd, n: reads.append(n) or real_read(fd, n))
    assert _file_refusal(p, cap=10) == "larger than 10 bytes"
    assert reads == [11]                         # no more than cap + 1 bytes


def test_a_file_read_in_short_pieces_is_read_to_at_most_cap_plus_one_bytes(tmp_path, monkeypatch):
    import os
    p = tmp_path / "s.toml"
    p.write_text("x" * 100)

    class Small:
        st_mode = os.stat(p).st_mode
        st_size = 5

    monkeypatch.setattr(scenario.os, "fstat", lambda fd: Small)
    got = []
    real_read = os.read
    monkeypatch.setattr(scenario.os, "read", lambda fd, n: got.append(real_read(fd, min(n, 5))) or got[-1])
    assert _file_refusal(p, cap=10) == "larger than 10 bytes"
    assert sum(map(len, got)) == 11


def test_a_file_read_in_short_pieces_is_read_whole(tmp_path, monkeypatch):
    import os
    p = tmp_path / "s.toml"
    p.write_text("y" * 23)
    real_read = os.read
    monkeypatch.setattr(scenario.os, "read", lambda fd, n: real_read(fd, min(n, 5)))
    assert scenario.read_text(str(p), cap=23) == "y" * 23


def test_read_error_reason(tmp_path, monkeypatch):
    p = tmp_path / "s.toml"
    p.write_text("x")

    def fail(fd, n):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(scenario.os, "read", fail)
    assert _file_refusal(p) == "cannot read: Input/output error"


def test_not_utf8_reason_names_the_first_bad_byte(tmp_path):
    p = tmp_path / "s.toml"
    p.write_bytes(b"name = \"\xc3\x28\"")
    assert _file_refusal(p) == "not UTF-8 text (byte 8)"


def test_load_refuses_bad_toml_with_the_parser_message(tmp_path):
    import tomllib
    p = tmp_path / "s.toml"
    p.write_text('name = "x\n')
    with pytest.raises(ScenarioError) as info:
        scenario.load(p)
    try:
        tomllib.loads('name = "x\n')
    except tomllib.TOMLDecodeError as exc:
        want = str(exc)
    assert (info.value.file, info.value.key, info.value.reason) == (str(p), "<toml>", want)


def test_load_refuses_too_deep_nesting(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text("name = " + "[" * 100_000 + "]" * 100_000 + "\n")
    with pytest.raises(ScenarioError) as info:
        scenario.load(p)
    assert (info.value.file, info.value.key, info.value.reason) == (str(p), "<toml>", "nested too deeply")


def test_load_names_the_file_in_refusals_and_notes_it(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text('name = "x"\nseed = -1\n')
    with pytest.raises(ScenarioError) as info:
        scenario.load(p)
    assert (info.value.file, info.value.key) == (str(p), "seed")
    p.write_text('name = "x"\n_source = "y"\n')
    with pytest.raises(ScenarioError) as info:
        scenario.load(p)
    assert info.value.key == "_source"
    p.write_text('name = "x"\n')
    assert scenario.load(p)["_source"] == str(p)


# ---------------------------------------------------------------- names and paths

@pytest.mark.parametrize("name, stem", [
    ("crater rim/01", "crater_rim_01"),
    ("..hidden", "hidden"),
    ("_.x._", "x"),
    ("Xray-X", "Xray-X"),
    ("", "scenario"),
    ("../..", "scenario"),
    ("a" * 70, "a" * 64),
    ("a" * 63 + "._b", "a" * 63),
    ("a" * 64 + "b", "a" * 64),
    (7, "7"),
])
def test_safe_name(name, stem):
    assert scenario.safe_name(name) == stem


def test_safe_name_default():
    assert scenario.safe_name("//", default="run") == "run"


def test_dotted_paths_address_tables_and_lists():
    sc = {"a": {"b": [10, {"c": 3}]}}
    assert scenario.get_path(sc, "a.b.1.c") == 3 and scenario.get_path(sc, "a.b.0") == 10
    scenario.set_path(sc, "a.b.1.c", 4)
    scenario.set_path(sc, "a.b.0", 11)
    assert sc == {"a": {"b": [11, {"c": 4}]}}


def test_set_path_refuses_a_new_key():
    sc = {"a": {"b": 1}}
    with pytest.raises(KeyError) as info:
        scenario.set_path(sc, "a.c", 2)
    assert info.value.args == ("a.c",) and sc == {"a": {"b": 1}}
    with pytest.raises(IndexError):
        scenario.set_path({"a": [1]}, "a.1", 2)


def test_with_values_validates_a_copy_without_the_source_note():
    sc = scenario.validate(dict(N, _source="a.toml"))
    out = scenario.with_values(sc, {"initial.vx_mps": 12})
    assert out["initial"]["vx_mps"] == 12.0 and "_source" not in out
    assert sc["initial"]["vx_mps"] == 80.0 and sc["_source"] == "a.toml"


def test_with_values_names_its_source_in_refusals():
    sc = scenario.validate(N)
    with pytest.raises(ScenarioError) as info:
        scenario.with_values(sc, {"vehicle.isp_s": -1.0})
    assert (info.value.file, info.value.key) == ("<dispersed>", "vehicle.isp_s")
    with pytest.raises(ScenarioError) as info:
        scenario.with_values(sc, {"vehicle.isp_s": -1.0}, source="run 3")
    assert info.value.file == "run 3"
