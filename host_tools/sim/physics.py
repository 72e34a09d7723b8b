"""Planar 3-DOF descent dynamics: x, z, vx, vz, pitch, pitch rate (+ engine
thrust lag state and propellant mass).

Frames: world x downrange, z up. Pitch p is the tilt of the thrust axis from
vertical toward +x, so the thrust direction is (sin p, cos p). The body frame
has x forward ((cos p, -sin p) in world), z along the thrust axis, y = z cross x
(= world y), and the pitch rate is about +y.

The vehicle reference point is the middle of the foot line (between the two
legs, at their feet): altitude 0 on flat ground means standing on it. Legs are
at +/- leg_span_m along body x from that point.

Integration: classic RK4 at `substeps` per control step; commands (throttle,
pitch) are held over the control step (zero-order hold, as the firmware's
outputs are). With engine_lag_s = 0 the thrust follows the command at once.
"""
from __future__ import annotations

import math

G0 = 9.80665  # standard gravity for Isp, m/s^2


class EngineController:
    """The engine electronics: arm/throttle interface, min-throttle floor, and
    the hold of the last command across a flight-computer reset.

    Live: throttle 0 or disarmed -> off; otherwise clamp(cmd, min_throttle, 1).
    On a computer reset the last applied throttle is held for engine_hold_s;
    then the engine is cut unless the computer has come back (resume()).
    """

    LIVE, HOLD, CUT = "live", "hold", "cut"

    def __init__(self, min_throttle, initial=0.0):
        self.min_throttle = float(min_throttle)
        self.mode = self.LIVE
        self.applied = float(initial)
        self.hold_until = 0.0
        self.cuts = 0

    def command(self, throttle, armed=True):
        """A command from the flight computer (ignored unless live)."""
        if self.mode != self.LIVE:
            return self.applied
        if not armed or throttle is None or throttle <= 0.0:
            self.applied = 0.0
        else:
            self.applied = min(1.0, max(self.min_throttle, float(throttle)))
        return self.applied

    def on_reset(self, now_s, hold_s):
        if self.mode == self.LIVE:
            self.mode = self.HOLD
            self.hold_until = now_s + hold_s
        # a reset while already holding/cut keeps the earlier deadline

    def tick(self, now_s):
        if self.mode == self.HOLD and now_s >= self.hold_until:
            self.mode = self.CUT
            self.applied = 0.0
            self.cuts += 1
        return self.applied

    def resume(self):
        """The flight computer is back and commanding."""
        self.mode = self.LIVE


class Dynamics:
    """Vehicle state and its integration. All SI, angles in radians."""

    def __init__(self, vehicle, gravity, x, z, vx, vz, pitch_rad=0.0, throttle=0.0):
        v = vehicle
        self.g = float(gravity)
        self.dry = float(v["dry_mass_kg"])
        self.tmax = float(v["max_thrust_n"])
        self.isp_g0 = float(v["isp_s"]) * G0
        self.lag = float(v["engine_lag_s"])
        self.qmax = math.radians(v["max_pitch_rate_dps"])
        self.pmax = math.radians(v["max_pitch_deg"])
        self.ptau = float(v["pitch_tau_s"])
        self.qlag = float(v["pitch_rate_lag_s"])
        self.leg = float(v["leg_span_m"])
        self.x, self.z, self.vx, self.vz = float(x), float(z), float(vx), float(vz)
        self.pitch = float(pitch_rad)
        self.q = 0.0
        self.thrust = throttle * self.tmax  # actual thrust (lag state), N
        self.prop = float(v["propellant_kg"])
        self.prop0 = self.prop
        self.thrust_scale = 1.0
        self.fuel_out_t = None
        self.t = 0.0

    @property
    def mass(self):
        return self.dry + self.prop

    def feet(self):
        """((x_left, z_left), (x_right, z_right)) of the two feet."""
        c, s = math.cos(self.pitch), math.sin(self.pitch)
        L = self.leg
        return (self.x - L * c, self.z + L * s), (self.x + L * c, self.z - L * s)

    def specific_force_body(self):
        """Specific force (thrust/mass) in body axes (x, y, z); free flight only."""
        if self.prop <= 0.0:
            return 0.0, 0.0, 0.0
        return 0.0, 0.0, self.thrust / self.mass

    def step(self, dt, throttle, pitch_cmd):
        """Advance one substep with the applied throttle fraction (0 or
        min..1, from the EngineController) and the pitch command (rad)."""
        g, dry, isp_g0, lag = self.g, self.dry, self.isp_g0, self.lag
        qmax, ptau, qlag = self.qmax, self.ptau, self.qlag
        pc = max(-self.pmax, min(self.pmax, pitch_cmd))
        tcmd = throttle * self.tmax * self.thrust_scale

        # the derivative (vx', vz', p', q', T', m') at a state, written out
        # at each of the four RK4 stages instead of a nested function called
        # four times a substep (16 calls a control cycle, the simulator's
        # hottest code): the same operations in the same order, so the same
        # floats. At a stage:
        #   T' = (tcmd - T) / lag, T = 0 with no propellant, T = tcmd lag-free;
        #   a = T / (dry + max(m, 0)); qc = clamp((pc - p) / ptau, +/-qmax);
        #   p' = q, q' = (qc - q) / qlag (p' = qc, q' = 0 lag-free);
        #   (vx', vz') = (a sin p, a cos p - g); m' = -T / isp_g0
        sin, cos = math.sin, math.cos
        has_lag, has_qlag = lag > 0.0, qlag > 0.0
        x, z, vx, vz, p, q, T, m = (self.x, self.z, self.vx, self.vz, self.pitch, self.q,
                                    self.thrust, self.prop)
        h = dt * 0.5
        # stage 1 at (p, q, T, m)
        Ts = T
        if m <= 0.0:
            Ts = 0.0
            e1 = 0.0
        elif has_lag:
            e1 = (tcmd - Ts) / lag
        else:
            Ts = tcmd
            e1 = 0.0
        a = Ts / (dry + (m if m > 0.0 else 0.0))
        qc = (pc - p) / ptau
        if qc > qmax:
            qc = qmax
        elif qc < -qmax:
            qc = -qmax
        if has_qlag:
            c1 = q
            d1 = (qc - q) / qlag
        else:
            c1 = qc
            d1 = 0.0
        a1, b1, f1 = a * sin(p), a * cos(p) - g, -Ts / isp_g0
        vx2, vz2 = vx + h * a1, vz + h * b1
        # stage 2
        ps, qs, Ts, ms = p + h * c1, q + h * d1, T + h * e1, m + h * f1
        if ms <= 0.0:
            Ts = 0.0
            e2 = 0.0
        elif has_lag:
            e2 = (tcmd - Ts) / lag
        else:
            Ts = tcmd
            e2 = 0.0
        a = Ts / (dry + (ms if ms > 0.0 else 0.0))
        qc = (pc - ps) / ptau
        if qc > qmax:
            qc = qmax
        elif qc < -qmax:
            qc = -qmax
        if has_qlag:
            c2 = qs
            d2 = (qc - qs) / qlag
        else:
            c2 = qc
            d2 = 0.0
        a2, b2, f2 = a * sin(ps), a * cos(ps) - g, -Ts / isp_g0
        vx3, vz3 = vx + h * a2, vz + h * b2
        # stage 3
        ps, qs, Ts, ms = p + h * c2, q + h * d2, T + h * e2, m + h * f2
        if ms <= 0.0:
            Ts = 0.0
            e3 = 0.0
        elif has_lag:
            e3 = (tcmd - Ts) / lag
        else:
            Ts = tcmd
            e3 = 0.0
        a = Ts / (dry + (ms if ms > 0.0 else 0.0))
        qc = (pc - ps) / ptau
        if qc > qmax:
            qc = qmax
        elif qc < -qmax:
            qc = -qmax
        if has_qlag:
            c3 = qs
            d3 = (qc - qs) / qlag
        else:
            c3 = qc
            d3 = 0.0
        a3, b3, f3 = a * sin(ps), a * cos(ps) - g, -Ts / isp_g0
        vx4, vz4 = vx + dt * a3, vz + dt * b3
        # stage 4
        ps, qs, Ts, ms = p + dt * c3, q + dt * d3, T + dt * e3, m + dt * f3
        if ms <= 0.0:
            Ts = 0.0
            e4 = 0.0
        elif has_lag:
            e4 = (tcmd - Ts) / lag
        else:
            Ts = tcmd
            e4 = 0.0
        a = Ts / (dry + (ms if ms > 0.0 else 0.0))
        qc = (pc - ps) / ptau
        if qc > qmax:
            qc = qmax
        elif qc < -qmax:
            qc = -qmax
        if has_qlag:
            c4 = qs
            d4 = (qc - qs) / qlag
        else:
            c4 = qc
            d4 = 0.0
        a4, b4, f4 = a * sin(ps), a * cos(ps) - g, -Ts / isp_g0
        s = dt / 6.0
        self.x = x + s * (vx + 2 * vx2 + 2 * vx3 + vx4)
        self.z = z + s * (vz + 2 * vz2 + 2 * vz3 + vz4)
        self.vx = vx + s * (a1 + 2 * a2 + 2 * a3 + a4)
        self.vz = vz + s * (b1 + 2 * b2 + 2 * b3 + b4)
        if qlag > 0.0:
            self.pitch = p + s * (c1 + 2 * c2 + 2 * c3 + c4)
            self.q = q + s * (d1 + 2 * d2 + 2 * d3 + d4)
        else:
            self.pitch = p + s * (c1 + 2 * c2 + 2 * c3 + c4)
            self.q = c4
        self.thrust = T + s * (e1 + 2 * e2 + 2 * e3 + e4) if lag > 0.0 else tcmd
        self.prop = m + s * (f1 + 2 * f2 + 2 * f3 + f4)
        self.t += dt
        if self.prop <= 0.0:
            self.prop = 0.0
            self.thrust = 0.0
            if self.fuel_out_t is None:
                self.fuel_out_t = self.t


def classify(vz, vx, tilt_deg, slope_deg, rel_tilt_deg, p):
    """Touchdown outcome from the touchdown state and the [pass] table `p`."""
    if math.hypot(vz, vx) > p["crash_vz_mps"]:
        return "crashed"        # impact speed, so flying into a wall is a crash too
    if abs(vx) > p["tip_vx_mps"] or abs(slope_deg) > p["tip_tilt_deg"] \
            or abs(rel_tilt_deg) > p["tip_tilt_deg"]:
        return "tipped"
    if abs(vz) > p["max_vz_mps"] or abs(vx) > p["max_vx_mps"] or abs(tilt_deg) > p["max_tilt_deg"] \
            or abs(slope_deg) > p["max_slope_deg"]:
        return "hard_landing"
    return "landed"
