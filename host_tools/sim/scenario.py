"""Scenario files (TOML): load, validate, fill defaults.

The keys are the DESIGN.md "Scenario contract"; this module adds keys (never
renames them). `load(path)` and `validate(dict)` return a new, complete dict:
every key present with its default, every value checked. Anything wrong (a
missing required key, an unknown key, a wrong type, an impossible value) raises
`ScenarioError(file, key, reason)` before anything runs.

Keys added beyond the DESIGN.md list (all optional):
    top level   description, substeps (physics steps per control step),
                max_time_s, post_touchdown_s (keep the loop running on the ground)
    [vehicle]   leg_span_m (each leg's horizontal distance from the centre line),
                pitch_tau_s, pitch_rate_lag_s (attitude actuator response),
                battery_v
    [initial]   throttle (engine already firing at start, 0..1)
    [terrain]   features: flat, slope, step, crater, boulders (see terrain.py)
    [sensors.*] see SENSOR_SCHEMAS below (imu/imu2 also have accel_/gyro_ noise
                and bias; their generic noise/bias are the accelerometer's)
    [[faults]]  x_m (a third trigger: the first time the vehicle passes that
                downrange position), part, duration_s, until_alt_m (the fault
                ends after duration_s or
                when the altitude first falls below until_alt_m); t_s may be
                [t0, t1] (drawn uniformly from the run's seed)
    [link]      latency_s, command_key_hex, tc_apid
    [pass]      max_slope_deg, crash_vz_mps, tip_tilt_deg, tip_vx_mps, outcomes,
                min_critical_delivered, max_alt_error_m, max_propellant_kg

`get_path` / `set_path` address a value by a dotted path ("initial.vx_mps",
"sensors.altimeter.noise", "faults.0.t_s", "terrain.features.1.x_m"); the
[dispersions] keys are such paths and are checked to exist and be numeric.

Bounds (docs/scenarios.md): every number is bounded to what a descent can mean
(LIMITS below), lists are bounded in length, and the run length is bounded:
rate_hz * max_time_s <= MAX_CYCLES control cycles, so no accepted scenario runs
unboundedly. A file is read only if it is a regular file of at most
MAX_FILE_BYTES and UTF-8 text.
"""
from __future__ import annotations

import copy
import math
import os
import re
import stat
import tomllib

# ---------------------------------------------------------------- limits
MAX_FILE_BYTES = 1 << 20           # a scenario file: 1 MiB at most (read no further)
MAX_TIME_S = 3600.0                # simulated seconds (max_time_s, --max-time, any t_s)
MAX_CYCLES = 200_000               # rate_hz * max_time_s (a 50 Hz flight of 4,000 s)
MAX_ALT_M = 100_000.0              # heights, altitudes, ranges
MAX_X_M = 1_000_000.0              # downrange positions
MAX_SPEED_MPS = 3_000.0            # |velocity| (lunar orbit is ~1,700 m/s)
MAX_MASS_KG = 100_000.0
MAX_THRUST_N = 10_000_000.0
MAX_LIST = 1_000                   # faults, commands, intervals, dispersions
MAX_FEATURES = 100                 # terrain features
MAX_BOULDERS = 2_000               # per boulders feature
MAX_STR = 1_000                    # characters in a name or a description

REQUIRED = object()


class ScenarioError(ValueError):
    """A scenario refused: names the file, the key (dotted path) and the reason."""

    def __init__(self, file, key, reason):
        self.file = str(file)
        self.key = str(key)
        self.reason = str(reason)
        super().__init__("%s: %s: %s" % (self.file, self.key, self.reason))


# ---------------------------------------------------------------- field types

def _is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _fmt(bound):
    return "%g" % bound if isinstance(bound, float) else str(bound)


class F:
    """One field: kind ('num' | 'int' | 'bool' | 'str' | 'table' | 'ranges' |
    'num_or_range' | 'str_list'), default (REQUIRED or a value; None = unset),
    bounds lo/hi (inclusive unless lo_open/hi_open), choices."""

    def __init__(self, kind, default=REQUIRED, lo=None, hi=None, lo_open=False,
                 hi_open=False, choices=None, doc=""):
        self.kind, self.default = kind, default
        self.lo, self.hi, self.lo_open, self.hi_open = lo, hi, lo_open, hi_open
        self.choices, self.doc = choices, doc

    def _bounds(self, v, err):
        if self.lo is not None and (v < self.lo or (self.lo_open and v == self.lo)):
            err("must be %s %s (got %r)" % (">" if self.lo_open else ">=", _fmt(self.lo), v))
        if self.hi is not None and (v > self.hi or (self.hi_open and v == self.hi)):
            err("must be %s %s (got %r)" % ("<" if self.hi_open else "<=", _fmt(self.hi), v))

    def check(self, v, err):
        k = self.kind
        if v is None and self.default is None:
            return None
        if k == "num":
            if not _is_num(v):
                err("expected a number, got %r" % (v,))
            self._bounds(v, err)
            return float(v)
        if k == "int":
            if isinstance(v, bool) or not isinstance(v, int):
                err("expected an integer, got %r" % (v,))
            self._bounds(v, err)
            return int(v)
        if k == "bool":
            if not isinstance(v, bool):
                err("expected true or false, got %r" % (v,))
            return v
        if k == "str":
            if not isinstance(v, str):
                err("expected a string, got %r" % (v,))
            if len(v) > (self.hi or MAX_STR):
                err("longer than %d characters" % (self.hi or MAX_STR))
            if self.choices is not None and v not in self.choices:
                err("must be one of %s (got %r)" % (", ".join(sorted(self.choices)), v))
            return v
        if k == "str_list":
            if not isinstance(v, list) or not all(isinstance(s, str) for s in v):
                err("expected a list of strings, got %r" % (v,))
            if len(v) > MAX_LIST:
                err("more than %d strings" % MAX_LIST)
            for s in v:
                if self.choices is not None and s not in self.choices:
                    err("must be among %s (got %r)" % (", ".join(sorted(self.choices)), s))
            return list(v)
        if k == "table":
            if not isinstance(v, dict):
                err("expected a table, got %r" % (v,))
            return dict(v)
        if k == "ranges":
            if not isinstance(v, list):
                err("expected a list of [t0, t1] pairs, got %r" % (v,))
            if len(v) > MAX_LIST:
                err("more than %d intervals" % MAX_LIST)
            out = []
            for r in v:
                if not (isinstance(r, list) and len(r) == 2 and all(_is_num(x) for x in r)):
                    err("expected [t0, t1] pairs of numbers, got %r" % (r,))
                if r[1] < r[0]:
                    err("interval %r ends before it starts" % (r,))
                if r[0] < 0:
                    err("interval %r starts before t = 0" % (r,))
                if r[0] > MAX_TIME_S:
                    err("interval %r starts after %g s" % (r, MAX_TIME_S))
                out.append([float(r[0]), float(r[1])])
            return out
        if k == "num_or_range":
            if _is_num(v):
                self._bounds(v, err)
                return float(v)
            if isinstance(v, list) and len(v) == 2 and all(_is_num(x) for x in v):
                if v[1] < v[0]:
                    err("range %r ends before it starts" % (v,))
                for x in v:
                    self._bounds(x, err)
                return [float(v[0]), float(v[1])]
            err("expected a number or [min, max], got %r" % (v,))
        raise AssertionError(k)


# ---------------------------------------------------------------- the schema

TOP = {
    "name": F("str", hi=200),
    "description": F("str", ""),
    "seed": F("int", 0, lo=0, hi=2**63 - 1),
    "rate_hz": F("num", 50.0, lo=1.0, hi=1000.0),
    "gravity_mps2": F("num", 1.62, lo=0.0, lo_open=True, hi=30.0),
    "substeps": F("int", 4, lo=1, hi=100),
    "max_time_s": F("num", 600.0, lo=0.0, lo_open=True, hi=MAX_TIME_S),
    "post_touchdown_s": F("num", 0.0, lo=0.0, hi=MAX_TIME_S),
}

VEHICLE = {
    "dry_mass_kg": F("num", 340.0, lo=0.0, lo_open=True, hi=MAX_MASS_KG),
    "propellant_kg": F("num", 80.0, lo=0.0, hi=MAX_MASS_KG),
    "max_thrust_n": F("num", 3000.0, lo=0.0, lo_open=True, hi=MAX_THRUST_N),
    "min_throttle": F("num", 0.2, lo=0.0, hi=1.0),
    "isp_s": F("num", 315.0, lo=0.0, lo_open=True, hi=10_000.0),
    "engine_lag_s": F("num", 0.15, lo=0.0, hi=10.0),
    "max_pitch_rate_dps": F("num", 20.0, lo=0.0, lo_open=True, hi=360.0),
    "max_pitch_deg": F("num", 60.0, lo=0.0, hi=90.0),
    "leg_span_m": F("num", 1.5, lo=0.0, lo_open=True, hi=50.0),
    "pitch_tau_s": F("num", 0.5, lo=0.0, lo_open=True, hi=60.0),
    "pitch_rate_lag_s": F("num", 0.1, lo=0.0, hi=10.0),
    "battery_v": F("num", 28.0, lo=0.0, hi=1000.0),
}

INITIAL = {
    "altitude_m": F("num", 8000.0, lo=0.0, hi=MAX_ALT_M),
    "x_m": F("num", 0.0, lo=-MAX_X_M, hi=MAX_X_M),
    "vx_mps": F("num", 80.0, lo=-MAX_SPEED_MPS, hi=MAX_SPEED_MPS),
    "vz_mps": F("num", -40.0, lo=-MAX_SPEED_MPS, hi=MAX_SPEED_MPS),
    "pitch_deg": F("num", 0.0, lo=-90.0, hi=90.0),
    "throttle": F("num", 0.0, lo=0.0, hi=1.0),
}

TARGET = {
    "x_m": F("num", 3000.0, lo=-MAX_X_M, hi=MAX_X_M),
}

TERRAIN = {
    "base_m": F("num", 0.0, lo=-MAX_ALT_M, hi=MAX_ALT_M),
    "features": F("table_list", []),
}

_X = dict(lo=-MAX_X_M, hi=MAX_X_M)
_H = dict(lo=-MAX_ALT_M, hi=MAX_ALT_M)
FEATURES = {
    "flat": {},
    "slope": {"angle_deg": F("num", lo=-75.0, hi=75.0), "x0_m": F("num", 0.0, **_X),
              "x1_m": F("num", None, **_X)},
    "step": {"x_m": F("num", **_X), "height_m": F("num", **_H),
             "width_m": F("num", 0.0, lo=0.0, hi=MAX_X_M)},
    "crater": {"x_m": F("num", **_X), "radius_m": F("num", lo=0.0, lo_open=True, hi=MAX_X_M),
               "depth_m": F("num", lo=0.0, hi=MAX_ALT_M),
               "rim_height_m": F("num", 0.0, lo=0.0, hi=MAX_ALT_M),
               "rim_width_m": F("num", None, lo=0.0, lo_open=True, hi=MAX_X_M),
               "wall_width_m": F("num", None, lo=0.0, lo_open=True, hi=MAX_X_M)},
    "boulders": {"x0_m": F("num", **_X), "x1_m": F("num", **_X),
                 "count": F("int", 20, lo=0, hi=MAX_BOULDERS),
                 "max_height_m": F("num", 1.0, lo=0.0, hi=100.0),
                 "max_width_m": F("num", 3.0, lo=0.0, lo_open=True, hi=1000.0),
                 "seed": F("int", None, lo=0, hi=2**63 - 1)},
}

_COMMON_SENSOR = {
    "enabled": F("bool", True),
    "dropouts": F("ranges", []),
    "stuck_at_s": F("num", None, lo=0.0, hi=MAX_TIME_S),
    "valid_flag_never_set": F("bool", False),
    "outlier_rate": F("num", 0.0, lo=0.0, hi=1.0),
    "bus_faults": F("table", {}),
}
_SCALAR_SENSOR = dict(_COMMON_SENSOR, noise=F("num", 0.0, lo=0.0, hi=1e6),
                      bias=F("num", 0.0, lo=-1e6, hi=1e6),
                      noise_frac=F("num", 0.0, lo=0.0, hi=1.0))
# imu: the DESIGN.md generic `noise` / `bias` are the accelerometer's (m/s^2),
# added to accel_noise_mps2 / accel_bias_mps2
_ACC = dict(lo=-1000.0, hi=1000.0)          # m/s^2 (about 100 g)
_GYR = dict(lo=-10_000.0, hi=10_000.0)      # deg/s
_IMU = dict(_COMMON_SENSOR, noise=F("num", 0.0, lo=0.0, hi=1000.0), bias=F("num", 0.0, **_ACC),
            accel_noise_mps2=F("num", 0.02, lo=0.0, hi=1000.0),
            accel_bias_mps2=F("num", 0.0, **_ACC),
            gyro_noise_dps=F("num", 0.02, lo=0.0, hi=10_000.0), gyro_bias_dps=F("num", 0.0, **_GYR))
_RANGE = dict(lo=-MAX_ALT_M, hi=MAX_ALT_M)
SENSOR_SCHEMAS = {
    "imu": _IMU,
    "imu2": dict(_IMU),
    # slant range along the beam, metres (noise, bias in m; noise_frac of the range)
    "altimeter": dict(_SCALAR_SENSOR, noise=F("num", 0.3, lo=0.0, hi=MAX_ALT_M),
                      bias=F("num", 0.0, **_RANGE),
                      max_range_m=F("num", 10000.0, lo=0.0, lo_open=True, hi=MAX_ALT_M),
                      beam_deg=F("num", 0.0, lo=-80.0, hi=80.0),
                      outlier_max_m=F("num", None, lo=0.0, lo_open=True, hi=MAX_ALT_M)),
    "rangefinder": dict(_SCALAR_SENSOR, noise=F("num", 0.02, lo=0.0, hi=MAX_ALT_M),
                        bias=F("num", 0.0, **_RANGE),
                        max_range_m=F("num", 8.0, lo=0.0, lo_open=True, hi=MAX_ALT_M),
                        beam_deg=F("num", 0.0, lo=-80.0, hi=80.0),
                        outlier_max_m=F("num", None, lo=0.0, lo_open=True, hi=MAX_ALT_M)),
    # pressure, pascal
    "baro": dict(_SCALAR_SENSOR, noise=F("num", 2.0, lo=0.0, hi=1e6),
                 temperature_c=F("num", 20.0, lo=-273.15, hi=1000.0)),
    "legs": dict(_COMMON_SENSOR),
    # bus voltage, volt
    "power": dict(_SCALAR_SENSOR, noise=F("num", 0.01, lo=0.0, hi=1000.0),
                  bias=F("num", 0.0, lo=-1000.0, hi=1000.0)),
}

FAULT_KINDS = ("imu_reset", "watchdog_reset", "power_loss", "thrust_scale",
               "sensor_bias", "sensor_noise", "sensor_dropout", "sensor_stuck",
               "sensor_outliers", "link_outage")
FAULT = {
    "kind": F("str", choices=FAULT_KINDS),
    "t_s": F("num_or_range", None, lo=0.0, hi=MAX_TIME_S),
    "alt_m": F("num", None, lo=0.0, hi=MAX_ALT_M),
    "x_m": F("num", None, **_X),
    "value": F("num", None, lo=-1e6, hi=1e6),
    "part": F("str", None, choices=tuple(SENSOR_SCHEMAS) + ("imu2_acc", "imu2_gyro")),
    "duration_s": F("num", None, lo=0.0, hi=MAX_TIME_S),
    "until_alt_m": F("num", None, lo=0.0, hi=MAX_ALT_M),
}

COMMANDS = ("noop", "abort", "reset", "arm", "disarm", "reset_imu", "set_param",
            "dump_blackbox", "beacon", "divert", "sensor", "time_sync", "confirm",
            "engine_off", "ping")
COMMAND = {
    "t_s": F("num", lo=0.0, hi=MAX_TIME_S),
    "command": F("str", choices=COMMANDS),
    "args": F("table", {}),
}

RESET = {
    "reboot_s": F("num", 0.3, lo=0.0, hi=60.0),
    "engine_hold_s": F("num", 1.0, lo=0.0, hi=60.0),
}

DEFAULT_COMMAND_KEY_HEX = "6c616e6465722d6465762d6b65792d6e6f742d666f722d666c696768742d2121"  # "lander-dev-key-not-for-flight-!!"
LINK = {
    "bitrate_bps": F("num", 2000.0, lo=1.0, hi=100e6),
    "ber": F("num", 0.0, lo=0.0, hi=0.5),
    "outages": F("ranges", []),
    "latency_s": F("num", 0.0, lo=0.0, hi=60.0),
    "command_key_hex": F("str", DEFAULT_COMMAND_KEY_HEX, hi=256),
    "tc_apid": F("int", 0x050, lo=0, hi=0x7FE),
    # the firmware's downlink coding (config tlm_frame_len / tlm_rs_e; the
    # ground decodes with the same): frame octets, Reed-Solomon E (8 or 16)
    "frame_len": F("int", 128, lo=16, hi=239),
    "rs_e": F("int", 8, lo=8, hi=16),
}

OUTCOMES = ("landed", "hard_landing", "tipped", "crashed", "fuel_out", "timeout")
_V = dict(lo=0.0, lo_open=True, hi=MAX_SPEED_MPS)
PASS = {
    "max_vz_mps": F("num", 2.0, **_V),
    "max_vx_mps": F("num", 1.0, **_V),
    "max_tilt_deg": F("num", 10.0, lo=0.0, lo_open=True, hi=90.0),
    "max_miss_m": F("num", 100.0, lo=0.0, lo_open=True, hi=MAX_X_M),
    "max_divergence_s": F("num", 5.0, lo=0.0, hi=MAX_TIME_S),
    "max_slope_deg": F("num", 15.0, lo=0.0, hi=90.0),
    "crash_vz_mps": F("num", 6.0, **_V),   # impact speed |v| above: crashed
    "tip_tilt_deg": F("num", 30.0, lo=0.0, lo_open=True, hi=90.0),
    "tip_vx_mps": F("num", 3.0, **_V),
    "outcomes": F("str_list", ["landed"], choices=OUTCOMES),
    "min_critical_delivered": F("num", None, lo=0.0, hi=1.0),
    "max_alt_error_m": F("num", None, lo=0.0, hi=MAX_ALT_M),
    "max_propellant_kg": F("num", None, lo=0.0, hi=MAX_MASS_KG),
}

SECTIONS = {"vehicle": VEHICLE, "initial": INITIAL, "target": TARGET, "reset": RESET,
            "link": LINK, "pass": PASS}


# ---------------------------------------------------------------- validation

def _fill(src, schema, where, source):
    """Check one table against its schema; return a new table with defaults."""
    if not isinstance(src, dict):
        raise ScenarioError(source, where or "<top>", "expected a table, got %r" % (src,))
    out = {}
    for key in src:
        if key not in schema:
            raise ScenarioError(source, _join(where, key),
                                "unknown key (known: %s)" % ", ".join(sorted(schema)))
    for key, field in schema.items():
        path = _join(where, key)

        def err(reason, path=path):
            raise ScenarioError(source, path, reason)

        if key in src:
            if field.kind == "table_list":
                out[key] = src[key]  # checked by the caller
            else:
                out[key] = field.check(src[key], err)
        elif field.default is REQUIRED:
            err("missing required key")
        else:
            out[key] = copy.deepcopy(field.default)
    return out


def _join(where, key):
    return "%s.%s" % (where, key) if where else str(key)


def validate(sc, source="<dict>", from_file=False):
    """Validate a scenario dict; return a complete new dict (defaults filled).
    from_file: the dict was read from a file (its `_source` key, the loader's
    note of where it came from, is then refused like any unknown key)."""
    if not isinstance(sc, dict):
        raise ScenarioError(source, "<top>", "a scenario is a table")
    known = dict(TOP)
    for sec in ("vehicle", "initial", "target", "terrain", "sensors", "faults", "commands",
                "reset", "link", "dispersions", "pass"):
        known[sec] = F("table", {})
    top_src = {k: v for k, v in sc.items() if k in TOP}
    for key in sc:
        if key == "_source" and not from_file:
            continue
        if key not in known:
            raise ScenarioError(source, key, "unknown key (known: %s)" % ", ".join(sorted(known)))
    out = _fill(top_src, TOP, "", source)
    if out["rate_hz"] * out["max_time_s"] > MAX_CYCLES:
        raise ScenarioError(source, "max_time_s", "rate_hz * max_time_s must be <= %d control cycles "
                            "(got %g)" % (MAX_CYCLES, out["rate_hz"] * out["max_time_s"]))
    for sec, schema in SECTIONS.items():
        out[sec] = _fill(sc.get(sec, {}), schema, sec, source)

    # terrain and its features
    terrain = _fill(sc.get("terrain", {}), TERRAIN, "terrain", source)
    feats = terrain["features"]
    if not isinstance(feats, list):
        raise ScenarioError(source, "terrain.features", "expected a list of tables")
    if len(feats) > MAX_FEATURES:
        raise ScenarioError(source, "terrain.features", "more than %d features" % MAX_FEATURES)
    checked = []
    for i, feat in enumerate(feats):
        where = "terrain.features.%d" % i
        if not isinstance(feat, dict):
            raise ScenarioError(source, where, "expected a table {kind = ...}")
        kind = feat.get("kind")
        if kind not in FEATURES:
            raise ScenarioError(source, where + ".kind",
                                "must be one of %s (got %r)" % (", ".join(sorted(FEATURES)), kind))
        body = {k: v for k, v in feat.items() if k != "kind"}
        f = _fill(body, FEATURES[kind], where, source)
        f["kind"] = kind
        if kind == "boulders" and f["x1_m"] < f["x0_m"]:
            raise ScenarioError(source, where + ".x1_m", "must be >= x0_m")
        if kind == "slope" and f["x1_m"] is not None and f["x1_m"] < f["x0_m"]:
            raise ScenarioError(source, where + ".x1_m", "must be >= x0_m")
        if kind == "crater":
            if f["wall_width_m"] is not None and f["wall_width_m"] > f["radius_m"]:
                raise ScenarioError(source, where + ".wall_width_m", "must be <= radius_m")
        checked.append(f)
    terrain["features"] = checked
    out["terrain"] = terrain

    # sensors
    sens_src = sc.get("sensors", {})
    if not isinstance(sens_src, dict):
        raise ScenarioError(source, "sensors", "expected a table of parts")
    for part in sens_src:
        if part not in SENSOR_SCHEMAS:
            raise ScenarioError(source, "sensors." + part,
                                "unknown part (known: %s)" % ", ".join(sorted(SENSOR_SCHEMAS)))
    out["sensors"] = {part: _fill(sens_src.get(part, {}), schema, "sensors." + part, source)
                      for part, schema in SENSOR_SCHEMAS.items()}
    for part, s in out["sensors"].items():
        _check_bus_faults(s["bus_faults"], "sensors.%s.bus_faults" % part, source)

    # faults
    out["faults"] = []
    for i, f in enumerate(_table_list(sc, "faults", source)):
        where = "faults.%d" % i
        g = _fill(f, FAULT, where, source)
        if sum(g[k] is not None for k in ("t_s", "alt_m", "x_m")) != 1:
            raise ScenarioError(source, where, "needs exactly one trigger: t_s, alt_m or x_m")
        if g["kind"] in ("thrust_scale", "sensor_bias", "sensor_noise", "sensor_outliers") \
                and g["value"] is None:
            raise ScenarioError(source, where + ".value", "missing (required by %s)" % g["kind"])
        if g["kind"] == "thrust_scale" and g["value"] < 0:
            raise ScenarioError(source, where + ".value", "thrust scale must be >= 0")
        if g["kind"] == "sensor_outliers" and not 0.0 <= g["value"] <= 1.0:
            raise ScenarioError(source, where + ".value", "outlier rate must be in 0..1")
        if g["kind"].startswith("sensor_") and g["part"] is None:
            g["part"] = "altimeter"
        if g["kind"] == "imu_reset" and g["part"] is None:
            g["part"] = "imu"
        out["faults"].append(g)

    # commands
    out["commands"] = []
    for i, c in enumerate(_table_list(sc, "commands", source)):
        out["commands"].append(_fill(c, COMMAND, "commands.%d" % i, source))
    try:
        key = bytes.fromhex(out["link"]["command_key_hex"])
    except ValueError:
        raise ScenarioError(source, "link.command_key_hex", "not hexadecimal") from None
    if len(key) < 16:
        raise ScenarioError(source, "link.command_key_hex", "key shorter than 16 bytes")
    from host_tools.ground import command as _cmd  # args are checked by the builder
    for i, c in enumerate(out["commands"]):
        try:
            _cmd.encode_args(c["command"], c["args"])
        except (KeyError, ValueError, TypeError) as exc:
            raise ScenarioError(source, "commands.%d.args" % i, str(exc)) from None

    # cross-field checks: nothing runs half-configured
    if out["pass"]["crash_vz_mps"] < out["pass"]["max_vz_mps"]:
        raise ScenarioError(source, "pass.crash_vz_mps", "must be >= max_vz_mps")

    # dispersions: paths that exist and hold numbers
    disp = sc.get("dispersions", {})
    if not isinstance(disp, dict):
        raise ScenarioError(source, "dispersions", "expected a table of \"path\" = sigma | [min, max]")
    if len(disp) > MAX_LIST:
        raise ScenarioError(source, "dispersions", "more than %d dispersed values" % MAX_LIST)
    out["dispersions"] = {}
    for path, spec in disp.items():
        where = "dispersions.%s" % path
        try:
            cur = get_path(out, path)
        except (KeyError, IndexError, TypeError):
            raise ScenarioError(source, where, "no such scenario value") from None
        if not (_is_num(cur) or (isinstance(cur, list) and len(cur) == 2)):
            raise ScenarioError(source, where, "disperses a non-numeric value %r" % (cur,))
        if _is_num(spec) or (isinstance(spec, list) and all(_is_num(x) for x in spec)):
            for x in (spec if isinstance(spec, list) else [spec]):
                if abs(x) > 10 * MAX_X_M:
                    raise ScenarioError(source, where, "must be within +/-%g (got %r)" % (10 * MAX_X_M, x))
        if _is_num(spec):
            if spec < 0:
                raise ScenarioError(source, where, "sigma must be >= 0")
            out["dispersions"][path] = float(spec)
        elif isinstance(spec, list) and len(spec) == 2 and all(_is_num(x) for x in spec):
            if spec[1] < spec[0]:
                raise ScenarioError(source, where, "range ends before it starts")
            out["dispersions"][path] = [float(spec[0]), float(spec[1])]
        else:
            raise ScenarioError(source, where, "expected a 1-sigma number or [min, max]")
    if "_source" in sc:
        out["_source"] = sc["_source"]
    return out


def _table_list(sc, key, source):
    v = sc.get(key, [])
    if not isinstance(v, list) or not all(isinstance(x, dict) for x in v):
        raise ScenarioError(source, key, "expected an array of tables ([[%s]])" % key)
    if len(v) > MAX_LIST:
        raise ScenarioError(source, key, "more than %d entries" % MAX_LIST)
    return v


def _check_bus_faults(table, where, source):
    from host_tools.emu.bus import Faults
    import dataclasses

    names = {f.name: f for f in dataclasses.fields(Faults)}
    for k, val in table.items():
        if k not in names or k == "seed":
            raise ScenarioError(source, "%s.%s" % (where, k),
                                "unknown bus fault (known: %s)" % ", ".join(sorted(n for n in names if n != "seed")))
        if k == "dropouts":
            F("ranges").check(val, lambda r: _raise(source, "%s.%s" % (where, k), r))
        elif isinstance(names[k].default, bool):
            if not isinstance(val, bool):
                raise ScenarioError(source, "%s.%s" % (where, k), "expected true or false")
        elif not _is_num(val) or val < 0:
            raise ScenarioError(source, "%s.%s" % (where, k), "expected a number >= 0")
        elif k.endswith("_rate") and val > 1.0:
            raise ScenarioError(source, "%s.%s" % (where, k), "a probability must be <= 1 (got %r)" % (val,))
        elif k == "latency_s" and val > 60.0:
            raise ScenarioError(source, "%s.%s" % (where, k), "must be <= 60 s (got %r)" % (val,))
        elif val > 1e6:
            raise ScenarioError(source, "%s.%s" % (where, k), "must be <= 1e6 (got %r)" % (val,))
def _raise(source, key, reason):
    raise ScenarioError(source, key, reason)


def read_text(path, cap=MAX_FILE_BYTES):
    """The text of a scenario file, refused (ScenarioError, key "<file>") when it
    is missing, not a regular file (a directory, a device, a pipe: opened
    without blocking), larger than `cap` bytes (no more than cap + 1 bytes are
    read) or not UTF-8."""
    path = str(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise ScenarioError(path, "<file>", "no such file") from None
    except IsADirectoryError:
        raise ScenarioError(path, "<file>", "not a regular file (a directory)") from None
    except OSError as exc:
        raise ScenarioError(path, "<file>", "cannot open: %s" % (exc.strerror or exc)) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            what = ("a directory" if stat.S_ISDIR(st.st_mode) else
                    "a pipe" if stat.S_ISFIFO(st.st_mode) else
                    "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else
                    "a socket" if stat.S_ISSOCK(st.st_mode) else "not a file")
            raise ScenarioError(path, "<file>", "not a regular file (%s)" % what)
        if st.st_size > cap:
            raise ScenarioError(path, "<file>", "larger than %d bytes (%d)" % (cap, st.st_size))
        chunks, n = [], 0
        while n <= cap:             # a file that grows while we read it: stop at cap + 1
            chunk = os.read(fd, min(65536, cap + 1 - n))
            if not chunk:
                break
            chunks.append(chunk)
            n += len(chunk)
        if n > cap:
            raise ScenarioError(path, "<file>", "larger than %d bytes" % cap)
    except OSError as exc:
        raise ScenarioError(path, "<file>", "cannot read: %s" % (exc.strerror or exc)) from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(path, "<file>", "not UTF-8 text (byte %d)" % exc.start) from None


def load(path):
    """Read and validate a scenario TOML file (read_text's checks first)."""
    path = str(path)
    text = read_text(path)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(path, "<toml>", str(exc)) from None
    except RecursionError:
        raise ScenarioError(path, "<toml>", "nested too deeply") from None
    sc = validate(raw, source=path, from_file=True)
    sc["_source"] = path
    return sc


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name, default="scenario"):
    """A file-name stem from a scenario name: letters, digits, '.', '_', '-'
    only (others become '_'), no leading dot, at most 64 characters, so a name
    can never reach outside the directory it is used in."""
    stem = _UNSAFE.sub("_", str(name)).lstrip("._")[:64].rstrip("._") or default
    return stem


# ---------------------------------------------------------------- dotted paths

def _split(path):
    return [int(p) if p.isdigit() else p for p in str(path).split(".")]


def get_path(sc, path):
    cur = sc
    for p in _split(path):
        cur = cur[p]
    return cur


def set_path(sc, path, value):
    """Set a value by dotted path in place (the path must exist)."""
    parts = _split(path)
    cur = sc
    for p in parts[:-1]:
        cur = cur[p]
    if isinstance(cur, dict) and parts[-1] not in cur:
        raise KeyError(path)
    cur[parts[-1]] = value


def with_values(sc, values, source="<dispersed>"):
    """A new validated scenario with `values` ({path: value}) applied."""
    out = copy.deepcopy(sc)
    out.pop("_source", None)
    for path, value in values.items():
        set_path(out, path, value)
    return validate(out, source=source)
