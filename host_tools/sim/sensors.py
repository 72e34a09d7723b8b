"""Truth -> the physical values the emulated parts report, with the scenario's
noise, bias, outliers, dropouts and faults.

The firmware sees only bytes on buses: this module sets the emulators' physical
inputs (`bench.parts[...]`) each control step. Noise, bias and outliers are
applied here, on the physical values, from the sim's seeded generator; faults
that live in the part or on the wire (dropouts, stuck output, a valid flag never
set, an enable ignored, NACKs, bit flips...) are mapped onto each emulator's
`faults` (host_tools/emu/bus.py Faults).

Physical values (SI):
    imu / imu2    specific force in body axes (m/s^2): thrust/mass along +z in
                  flight, the ground reaction (0, g) world after touchdown, zero in
                  free fall; gyro (rad/s) with y = pitch rate
    altimeter     slant range (m) along the beam (beam_deg from the body -z axis,
                  positive toward body +x); None beyond max_range_m / no return
    rangefinder   the same, short range (TF-Luna class)
    baro          pressure (Pa): exponential atmosphere when gravity > 5 m/s^2
                  (Earth hopper), vacuum (0 Pa) otherwise; temperature (degC)
    legs          contact switches [left, right]
    power         bus voltage (V)

outlier_rate, per sample: range sensors read uniform in [0, outlier_max_m or
max_range_m]; IMUs a full-scale spike (+/-16 g on z, +/-2000 dps on y); the
barometer uniform in [0, 2 atm]; legs each contact flips; power a dip.
"""
from __future__ import annotations

import math

P0_PA = 101325.0
IMU_SPIKE_MPS2 = 16.0 * 9.80665
IMU_SPIKE_RAD_S = 2000.0 * 3.141592653589793 / 180.0
SCALE_HEIGHT_M = 8434.0

# scenario part -> emulator part names on the bench
EMULATORS = {
    "imu": ("imu",),
    "imu2": ("imu2_acc", "imu2_gyro"),
    "altimeter": ("altimeter",),
    "rangefinder": ("rangefinder",),
    "baro": ("baro",),
    "legs": ("legs",),
    "power": ("power",),
}


class _Draws:
    """Seeded normal/uniform numbers in blocks (cheap per step, repeatable)."""

    def __init__(self, rng, block=4096):
        self.rng, self.block = rng, block
        self._n, self._u = [], []

    def normal(self):
        if not self._n:
            self._n = self.rng.standard_normal(self.block).tolist()
        return self._n.pop()

    def uniform(self):
        if not self._u:
            self._u = self.rng.random(self.block).tolist()
        return self._u.pop()


class _PartState:
    def __init__(self, cfg):
        self.cfg = cfg
        self.extra_bias = 0.0
        self.extra_noise = 0.0
        self.outlier_rate = cfg.get("outlier_rate", 0.0)
        self.dropouts = [list(r) for r in cfg.get("dropouts", [])]
        self.stuck = []  # [(t0, t1)]
        if cfg.get("stuck_at_s") is not None:
            self.stuck.append([cfg["stuck_at_s"], math.inf])
        self.last = None

    def dropped(self, t):
        for t0, t1 in self.dropouts:
            if t0 <= t < t1:
                return True
        return False

    def is_stuck(self, t):
        for t0, t1 in self.stuck:
            if t0 <= t < t1:
                return True
        return False


class Sensors:
    def __init__(self, sc, terrain, rng):
        self.sc = sc
        self.terrain = terrain
        self.g = sc["gravity_mps2"]
        self.earth = self.g > 5.0
        self.d = _Draws(rng)
        self.parts = {p: _PartState(c) for p, c in sc["sensors"].items()}
        self.power_off = False
        self.values = {}
        alt = sc["sensors"]["altimeter"]
        self.alt_beam = math.radians(alt["beam_deg"])
        rf = sc["sensors"]["rangefinder"]
        self.rf_beam = math.radians(rf["beam_deg"])

    # -- faults from the scenario's [[faults]] list
    def apply_fault(self, fault, t):
        """Start a sensor fault; returns an effect for BenchLink (or None).
        Windows are [t0, t1] lists shared with the emulators, so end_fault can
        close them."""
        kind, part = fault["kind"], fault.get("part") or "altimeter"
        base = {"imu2_acc": "imu2", "imu2_gyro": "imu2"}.get(part, part)
        st = self.parts[base]
        fault["_base"] = base
        if kind == "sensor_bias":
            st.extra_bias += fault["value"]
        elif kind == "sensor_noise":
            st.extra_noise += fault["value"]
        elif kind == "sensor_outliers":
            fault["_prev_rate"] = st.outlier_rate
            st.outlier_rate = fault["value"]
        elif kind in ("sensor_dropout", "sensor_stuck"):
            window = [t, math.inf]
            fault["_window"] = window
            if kind == "sensor_dropout":
                st.dropouts.append(window)
                return ("dropouts", base, window)
            st.stuck.append(window)
            return ("stuck", base, window)
        return None

    def end_fault(self, fault, t):
        kind = fault["kind"]
        st = self.parts[fault["_base"]]
        if kind == "sensor_bias":
            st.extra_bias -= fault["value"]
        elif kind == "sensor_noise":
            st.extra_noise -= fault["value"]
        elif kind == "sensor_outliers":
            st.outlier_rate = fault["_prev_rate"]
        elif "_window" in fault:
            fault["_window"][1] = t

    # -- truth -> values
    def _range(self, st, name, true_r, t, max_range):
        c = st.cfg
        if not c["enabled"] or c["valid_flag_never_set"] or st.dropped(t):
            return None
        if st.is_stuck(t) and st.last is not None:
            return st.last
        d = self.d
        u = d.uniform()
        n1, n2 = d.normal(), d.normal()
        if st.outlier_rate > 0.0 and u < st.outlier_rate:
            hi = c["outlier_max_m"] or max_range
            r = d.uniform() * hi
        elif true_r is None:
            return None
        else:
            sigma = c["noise"] + st.extra_noise
            r = true_r + c["bias"] + st.extra_bias + sigma * n1 + c["noise_frac"] * true_r * n2
            if r < 0.0:
                r = 0.0
            if r > max_range:
                return None
        st.last = r
        return r

    def _imu(self, st, f, q, t):
        c = st.cfg
        if st.is_stuck(t) and st.last is not None:
            return st.last
        d = self.d
        an = c["accel_noise_mps2"] + c["noise"] + st.extra_noise
        ab = c["accel_bias_mps2"] + c["bias"] + st.extra_bias
        gn = math.radians(c["gyro_noise_dps"])
        gb = math.radians(c["gyro_bias_dps"])
        acc = [f[0] + ab + an * d.normal(), f[1] + ab + an * d.normal(), f[2] + ab + an * d.normal()]
        gyr = [gb + gn * d.normal(), q + gb + gn * d.normal(), gb + gn * d.normal()]
        if st.outlier_rate > 0.0 and d.uniform() < st.outlier_rate:
            # a spike: one sample of +/-16 g and +/-2000 dps (a full-scale glitch)
            sgn = 1.0 if d.uniform() < 0.5 else -1.0
            acc[2] = sgn * IMU_SPIKE_MPS2
            gyr[1] = sgn * IMU_SPIKE_RAD_S
        st.last = (acc, gyr)
        return st.last

    def sample(self, t, dyn, on_ground, contacts):
        """Physical values for this control step (dict); also kept in .values."""
        p = dyn.pitch
        if on_ground:
            # at rest: specific force = the ground reaction, (0, g) in world
            f = (-self.g * math.sin(p), 0.0, self.g * math.cos(p))
            q = 0.0
        else:
            f = dyn.specific_force_body()
            q = dyn.q
        v = {}
        v["imu"] = self._imu(self.parts["imu"], f, q, t)
        v["imu2"] = self._imu(self.parts["imu2"], f, q, t)
        terr = self.terrain
        ac = self.parts["altimeter"].cfg
        b = self.alt_beam - p
        true_r = terr.raycast(dyn.x, dyn.z, math.sin(b), -math.cos(b), ac["max_range_m"])
        v["altimeter_true"] = true_r
        v["altimeter"] = self._range(self.parts["altimeter"], "altimeter", true_r, t, ac["max_range_m"])
        rc = self.parts["rangefinder"].cfg
        b = self.rf_beam - p
        true_rf = terr.raycast(dyn.x, dyn.z, math.sin(b), -math.cos(b), rc["max_range_m"])
        v["rangefinder"] = self._range(self.parts["rangefinder"], "rangefinder", true_rf, t, rc["max_range_m"])
        bs = self.parts["baro"]
        bc = bs.cfg
        if bs.is_stuck(t) and bs.last is not None:
            pa = bs.last
        else:
            pa = P0_PA * math.exp(-dyn.z / SCALE_HEIGHT_M) if self.earth else 0.0
            pa += bc["bias"] + bs.extra_bias + (bc["noise"] + bs.extra_noise) * self.d.normal() \
                + bc["noise_frac"] * pa * self.d.normal()
            pa = max(pa, 0.0)
            if bs.outlier_rate > 0.0 and self.d.uniform() < bs.outlier_rate:
                pa = self.d.uniform() * 2.0 * P0_PA
            bs.last = pa
        v["baro"] = None if bs.dropped(t) else pa
        v["baro_temp_c"] = bc["temperature_c"]
        legs = list(contacts)
        ls = self.parts["legs"]
        if ls.outlier_rate > 0.0:   # switch chatter: each contact flips with this probability
            for i in range(len(legs)):
                if self.d.uniform() < ls.outlier_rate:
                    legs[i] = not legs[i]
        v["legs"] = legs
        ps = self.parts["power"]
        pc = ps.cfg
        volt = 0.0 if self.power_off else self.sc["vehicle"]["battery_v"] + pc["bias"] + ps.extra_bias \
            + (pc["noise"] + ps.extra_noise) * self.d.normal()
        if volt > 0.0 and ps.outlier_rate > 0.0 and self.d.uniform() < ps.outlier_rate:
            volt = self.d.uniform() * volt    # a brown-out dip
        v["power"] = volt
        self.values = v
        return v


def _set(obj, name, value):
    if obj is not None:
        setattr(obj, name, value)


class BenchLink:
    """Pushes the physical values onto a bench's emulators and maps the
    scenario's part faults onto their `faults`."""

    def __init__(self, bench, sc):
        self.bench = bench
        self.parts = getattr(bench, "parts", {}) or {}
        self.sc = sc
        for part, cfg in sc["sensors"].items():
            for name in EMULATORS[part]:
                emu = self.parts.get(name)
                if emu is None or not hasattr(emu, "faults"):
                    continue
                f = emu.faults
                if not cfg["enabled"]:
                    f.ignore_enable = True
                if cfg["valid_flag_never_set"]:
                    f.valid_never_set = True
                if cfg["dropouts"]:
                    f.dropouts = list(f.dropouts) + [tuple(r) for r in cfg["dropouts"]]
                for k, val in cfg["bus_faults"].items():
                    if k == "dropouts":
                        val = [tuple(r) for r in val]
                    setattr(f, k, val)
        self._stuck = {}  # emulator name -> [(t0, t1)]
        for part, cfg in sc["sensors"].items():
            if cfg["stuck_at_s"] is not None:
                for name in EMULATORS[part]:
                    self._stuck.setdefault(name, []).append((cfg["stuck_at_s"], math.inf))

    def fault_effect(self, effect):
        """An effect returned by Sensors.apply_fault -> onto the emulators."""
        if effect is None:
            return
        what, part, window = effect
        for name in EMULATORS[part]:
            emu = self.parts.get(name)
            if what == "dropouts" and emu is not None and hasattr(emu, "faults"):
                emu.faults.dropouts = list(emu.faults.dropouts) + [window]
            elif what == "stuck":
                self._stuck.setdefault(name, []).append(window)

    def push(self, v, t):
        P = self.parts
        for name, windows in self._stuck.items():
            emu = P.get(name)
            if emu is not None and hasattr(emu, "faults"):
                emu.faults.stuck = any(t0 <= t < t1 for t0, t1 in windows)
        acc, gyr = v["imu"]
        imu = P.get("imu")
        _set(imu, "accel_m_s2", acc)
        _set(imu, "gyro_rad_s", gyr)
        acc2, gyr2 = v["imu2"]
        _set(P.get("imu2_acc"), "accel_m_s2", acc2)
        _set(P.get("imu2_gyro"), "gyro_rad_s", gyr2)
        _set(P.get("altimeter"), "range_m", v["altimeter"])
        _set(P.get("rangefinder"), "distance_m", v["rangefinder"])
        baro = P.get("baro")
        if baro is not None and v["baro"] is not None:
            baro.pressure_pa = v["baro"]
            baro.temperature_c = v["baro_temp_c"]
        _set(P.get("legs"), "contacts", v["legs"])
        _set(P.get("power"), "voltage_v", v["power"])


def trace_raw_alt(v):
    r = v.get("altimeter")
    return math.nan if r is None else r


__all__ = ["Sensors", "BenchLink", "trace_raw_alt"]
