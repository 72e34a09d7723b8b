"""Float reference of the on-board navigation (issue 8: "a float reference of
the same estimator on the host, fed the same recorded measurements").

`record(scenario)` flies a scenario with the firmware in the loop and records,
for every `Nav.update` call, what the estimator was given (the IMU sample in
mm/s^2 and urad/s, the altimeter range and status, the engine state, the
period) beside what it published and the truth. `NavRef` is the same
estimator in numpy floats: inertial propagation with the same free-fall
calibration, the vertical filter with the steady-state gains computed in
floating point by `navgains` (not the firmware's rounded table), the same
measurement-noise model, slant geometry, terrain bins (65.5 m, ground level
with the terrain under the vehicle taken as that terrain) and innovation gate.
It covers what a flight over flat or gently sloped ground exercises (the
nominal descent); terrain steps, altimeter offsets, stuck parts and the IMU
vote are the firmware's alone.

`compare(rec)` replays a recording through `NavRef` and returns the RMSE of
altitude, vertical and horizontal velocity against truth for both, and the two
sequences of gate decisions (tests/test_navref.py).
"""
from __future__ import annotations

import math

import numpy as np

from host_tools.sim import navgains

G_ACCEPT, G_STATUS, G_RANGE, G_OUTLIER, G_MAPPED = 0, 1, 2, 3, 6
OK, NOT_READY = 0, 1


def record(sc, seed=None):
    """Fly `sc` (a loaded scenario dict) with the firmware; return a dict of
    per-update arrays: inputs, firmware outputs and truth."""
    from host_tools.sim import runner
    from lander.drivers import OK as FW_OK, NOT_READY as FW_NR

    rows = []
    truth = {}

    orig_control = runner.Flight.control

    def control(self, t, alt):
        app = self.fw.app if self.fw is not None else None
        if app is not None and not getattr(app.nav, "_navref_wrapped", False):
            nav = app.nav
            upd = nav.update

            def wrapped(dt_q20, imu1, st1, imu2, st2, alt_, st_alt, ctrl, touchdown):
                row = {"t": self.t, "dt_q20": dt_q20, "touchdown": bool(touchdown),
                       "st1": st1, "fz": 0, "fx": 0, "gy": 0,
                       "st_alt": st_alt, "range_mm": 0,
                       "throttle": ctrl.throttle_q15 if ctrl is not None else -1,
                       "thrust_model": ctrl.thrust_model_q15 if ctrl is not None else -1}
                if imu1 is not None and st1 == FW_OK:
                    row["fz"] = imu1.accel_mm_s2[2]
                    row["fx"] = imu1.accel_mm_s2[0]
                    row["gy"] = imu1.gyro_urad_s[1]
                if alt_ is not None and st_alt == FW_OK:
                    row["range_mm"] = alt_.range_mm
                n_before = nav.alt_updates + nav.alt_rejects + nav.alt_mapped
                upd(dt_q20, imu1, st1, imu2, st2, alt_, st_alt, ctrl, touchdown)
                row["sample"] = st_alt == FW_OK
                row["decided"] = nav.alt_updates + nav.alt_rejects + nav.alt_mapped != n_before
                row["gate"] = nav.alt_gate
                row["alt_mm"] = nav.altitude_mm
                row["vz_mm_s"] = nav.vz_mm_s
                row["vx_mm_s"] = nav.vx_mm_s
                row["nr"] = st_alt not in (FW_OK, FW_NR)
                rows.append(row)

            nav.update = wrapped
            nav._navref_wrapped = True
        return orig_control(self, t, alt)

    orig_metrics = runner.Flight.estimate_metrics

    def metrics(self, alt, est):
        orig_metrics(self, alt, est)
        if not self.on_ground:
            truth[round(self.t * 1e6)] = (alt, self.dyn.vz, self.dyn.vx)

    runner.Flight.control = control
    runner.Flight.estimate_metrics = metrics
    try:
        result = runner.fly(sc, seed=seed, controller="firmware", record=False)
    finally:
        runner.Flight.control = orig_control
        runner.Flight.estimate_metrics = orig_metrics
    keep = [r for r in rows if round(r["t"] * 1e6) in truth]
    out = {k: np.array([r[k] for r in keep]) for k in keep[0]}
    tr = np.array([truth[round(r["t"] * 1e6)] for r in keep])
    out["true_alt_m"], out["true_vz_mps"], out["true_vx_mps"] = tr[:, 0], tr[:, 1], tr[:, 2]
    out["handover"] = (sc["initial"]["altitude_m"], sc["initial"]["vz_mps"], sc["initial"]["vx_mps"],
                       math.radians(sc["initial"]["pitch_deg"]))
    out["summary"] = result.summary
    return out


class NavRef:
    """The estimator in floats (units: mm, mm/s, mm/s^2, rad, s)."""

    GATE_K = 4
    GATE_MIN_MM = 1000.0
    SIGMA_M0_MM = 300.0
    CONFIRM_TOL_MM = 20000.0
    N_MAP = 12
    MAP_SHIFT_MM = 65536.0
    MAP_X0_MM = -2097152.0
    FF_LIMIT = 300
    FF_THRUST_OFF = 64
    FF_MIN = 50
    FF_MAX = 4096
    ACC_BIAS_MAX = 200.0
    STALE = 100
    REACQ_SIGMAS = 4
    MAD0_SPECS = 8
    YOUNG_N = 50
    YOUNG_SPECS = 96

    def __init__(self, cfg, handover):
        alt_m, vz_mps, vx_mps, pitch = handover
        self.rate = cfg.rate_hz
        self.g = float(cfg.gravity_mm_s2)
        self.beam = cfg.altimeter_beam_bau * 2 * math.pi / 65536
        self.h = alt_m * 1000.0
        self.vz = vz_mps * 1000.0
        self.vx = vx_mps * 1000.0
        self.x = 0.0
        self.pitch = pitch
        self.bz = 0.0
        self.tv = 0.0
        # the noise estimate starts at MAD0_SPECS times the spec (firmware _mad0)
        self.mad = (self.SIGMA_M0_MM + min(max(alt_m * 1000.0, 0.0), 3e7) / 512.0) * self.MAD0_SPECS * 0.8
        self.k = 0
        self.age = 0
        self.sig_h = navgains.steady_state(navgains.sigma_m(0))[1] * 1000.0
        self.map = {self._bin(0.0): [0.0, 0.0, self.N_MAP]}       # bin: [terrain, sigma, count]
        self.table = navgains.float_table()
        self.edges = [navgains.sigma_m(k + 0.5) * 1000.0 for k in range(navgains.NK - 1)] + [math.inf]
        self.ff = [0, 0.0, 0.0, 0.0, 0.0]                          # n, sx, sz, qx, qz
        self.cal = [0.0, 0.0]
        self.cen_until = -1
        self.cen_h = 0.0
        self.cycles = 0
        self.meas = 0.0
        self.gate = G_ACCEPT
        self.accepted = 0

    def _bin(self, x_mm):
        return int(math.floor((x_mm - self.MAP_X0_MM) / self.MAP_SHIFT_MM))

    def _terrain_under(self):
        e = self.map.get(self._bin(self.x))
        return e[0] if e is not None and e[2] >= 3 else self.tv

    @property
    def altitude_mm(self):
        return self.h - self._terrain_under()

    def _calibrate(self, fx, fz):
        n, sx, sz, qx, qz = self.ff
        if n >= self.FF_MAX:
            return
        n += 1
        sx += fx
        sz += fz
        qx += fx * fx
        qz += fz * fz
        self.ff = [n, sx, sz, qx, qz]
        for i, (s, q) in enumerate(((sx, qx), (sz, qz))):
            m = max(-self.ACC_BIAS_MAX, min(self.ACC_BIAS_MAX, s / n))
            var = max(q / n - m * m, 0.0)
            self.cal[i] = m if n >= self.FF_MIN and m * m > 9.0 * var / n else 0.0

    def update(self, r):
        self.cycles += 1
        fz, fx, gy = float(r["fz"]), float(r["fx"]), float(r["gy"])
        ok = r["st1"] == OK
        if ok and r["throttle"] == 0 and not r["touchdown"] and 0 <= r["thrust_model"] < self.FF_THRUST_OFF \
                and abs(fx) < self.FF_LIMIT and abs(fz) < self.FF_LIMIT:
            self._calibrate(fx, fz)
            fx = fz = 0.0
        elif ok:
            fx -= self.cal[0]
            fz -= self.cal[1]
        dt = 1.0 / self.rate
        n = 1
        if r["dt_q20"] > 31457:
            n = min(150, int(round(r["dt_q20"] * self.rate / 2 ** 20)))
        for _ in range(n):
            self.pitch += gy * 1e-6 * dt
            s, c = math.sin(self.pitch), math.cos(self.pitch)
            az = fz * c - fx * s
            ax = fz * s + fx * c
            self.vz += (az - self.g - self.bz) * dt
            self.vx += ax * dt
            self.h += self.vz * dt
            self.x += self.vx * dt
        self.age += 1
        if r["nr"]:
            self.cen_until = self.cycles + 50
            self.cen_h = self.meas
        if r["sample"]:
            self._correct(float(r["range_mm"]))
            return True
        return False

    def _correct(self, rng):
        b = self.beam - self.pitch
        cb, sb = math.cos(b), math.sin(b)
        if rng <= 0 or cb < 0.25:
            self.gate = G_RANGE
            return
        m = rng * cb
        dx = rng * sb
        self.meas = m
        spec = self.SIGMA_M0_MM + m / 512.0 + abs(dx) / 256.0
        sm = min(max(1.25 * self.mad, spec), 32 * spec)
        k = self.k
        if sm > self.edges[k]:
            k += 1
        elif k > 0 and sm < self.edges[k - 1]:
            k -= 1
        self.k = k
        hp = self.h
        if self.cycles < self.cen_until and hp - self.tv > self.cen_h - 3 * sm:
            self.gate = G_RANGE
            return
        tm = hp - m
        bn = self._bin(self.x + dx)
        e = self.map.get(bn)
        tol = max(4 * sm, self.CONFIRM_TOL_MM)
        if e is not None and e[2] == 1 and abs(tm - e[0]) > tol:
            e = None                 # a lone first sample this one disagrees with
        if e is None or e[2] == 0:
            # before YOUNG_N accepted ranges the noise is not known: level
            # within 4 x 24 times the spec (firmware _YOUNG_N, _YOUNG_SPECS)
            lev = tol if self.accepted >= self.YOUNG_N else max(tol, (self.SIGMA_M0_MM + m / 512.0) * self.YOUNG_SPECS)
            if abs(tm - self.tv) <= lev:
                e = self.map[bn] = [self.tv, sm, self.N_MAP]
            else:
                self.map[bn] = [tm, sm, 1]
                self.gate = G_MAPPED
                return
        if e[2] < self.N_MAP:
            d = max(-tol, min(tol, tm - e[0]))
            e[0] += d / (e[2] + 1)
            e[2] += 1
            self.gate = G_MAPPED
            return
        sm += e[1]
        while k < navgains.NK - 1 and sm > self.edges[k]:
            k += 1
        nu = m - (hp - e[0])
        a = self.sig_h
        sn = a + sm / 2 if a > sm else sm + a / 2
        gate = max(self.GATE_K * sn, self.GATE_MIN_MM)
        q = gate / 4
        cl = max(-q, min(q, nu))
        self.mad += (abs(cl) - self.mad) / 32
        if abs(nu) > gate:
            self.gate = G_OUTLIER
            return
        self.tv = e[0]
        K, sa, _sv = self.table[k]
        if self.age >= self.STALE and abs(nu) > self.REACQ_SIGMAS * self.sm_out(sm, e):
            self.h += nu
            self.vz += nu / (self.age / self.rate)
        else:
            self.h += K[0] * nu
            self.vz += K[1] * nu
            self.bz += K[2] * nu
        self.sig_h = max(self.sig_h / 2, sa * 1000.0)
        self.age = 0
        self.accepted += 1
        self.gate = G_ACCEPT

    @staticmethod
    def sm_out(sm, e):
        return sm - e[1]


def compare(rec, cfg=None):
    """Replay a recording through NavRef: RMSE (m, m/s) of the firmware and
    of the float reference against truth, and both gate-decision lists."""
    from lander.config import Config

    ref = NavRef(cfg or Config(), rec["handover"])
    alt, vz, vx, gates = [], [], [], []
    keys = [k for k in rec if isinstance(rec[k], np.ndarray)]
    n = len(rec["t"])
    for i in range(n):
        r = {k: rec[k][i] for k in keys}
        if ref.update(r):
            gates.append(ref.gate)
        alt.append(ref.altitude_mm / 1000.0)
        vz.append(ref.vz / 1000.0)
        vx.append(ref.vx / 1000.0)
    alt, vz, vx = np.array(alt), np.array(vz), np.array(vx)

    def rmse(a, b):
        return float(np.sqrt(np.mean((a - b) ** 2)))

    fw_gates = [int(g) for g, s in zip(rec["gate"], rec["sample"]) if s]
    return {
        "ref": {"alt_m": rmse(alt, rec["true_alt_m"]), "vz_mps": rmse(vz, rec["true_vz_mps"]),
                "vx_mps": rmse(vx, rec["true_vx_mps"])},
        "fw": {"alt_m": rmse(rec["alt_mm"] / 1000.0, rec["true_alt_m"]),
               "vz_mps": rmse(rec["vz_mm_s"] / 1000.0, rec["true_vz_mps"]),
               "vx_mps": rmse(rec["vx_mm_s"] / 1000.0, rec["true_vx_mps"])},
        "ref_gates": gates,
        "fw_gates": fw_gates,
    }
