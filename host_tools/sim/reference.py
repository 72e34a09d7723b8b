"""Truth-fed reference controller (host side): flies a scenario without the
firmware, so the simulator and the museum can be tested on their own.

Guidance: velocity profiles. Vertically, vz_des(h) = -sqrt(v_gate^2 + 2 a_v (h -
h_gate)) down to a gate h_gate above the ground (a constant-deceleration braking
curve, engine off while the vehicle is above it); horizontally, vx_des(dx) =
sqrt(2 a_h |dx|) toward the target. At the gate the vehicle holds its height
until it is over the target and slow, then descends vertically at a speed
proportional to height (>= 0.8 m/s at contact). Acceleration commands are the
profile feed-forward plus a proportional term; the throttle meets the vertical
command at the actual pitch, the pitch command makes the horizontal one.
Height is min(height above the ground below, height above the target's ground),
so a rim or a hill is never flown into.
"""
from __future__ import annotations

import math


class ReferenceController:
    def __init__(self, sc, terrain):
        v = sc["vehicle"]
        self.g = sc["gravity_mps2"]
        self.tmax = v["max_thrust_n"]
        self.min_thr = v["min_throttle"]
        self.pmax = math.radians(min(v["max_pitch_deg"], 45.0))
        self.dry = v["dry_mass_kg"]
        self.terrain = terrain
        self.xt = sc["target"]["x_m"]
        self.zt = terrain.height(self.xt)
        # profile parameters, scaled to the vehicle's authority
        a_max = self.tmax / (self.dry + v["propellant_kg"])
        self.a_v = max(0.2, min(1.5, 0.35 * (a_max - self.g)))
        self.a_h = max(0.1, min(0.8, 0.2 * a_max))
        self.h_gate = 60.0 if self.g < 5 else 15.0
        self.v_gate = 4.0 if self.g < 5 else 2.0
        self.k = 0.6
        self.engine_on = False
        self.throttle = 0.0
        self.pitch_cmd = 0.0
        self.armed = True
        self.phase = 0  # 0 braking, 1 gate approach, 2 terminal
        self.phase_out = 0
        self._switch_t = -1.0
        self._last_t = None
        self.iz = 0.0

    def update(self, dyn):
        """Compute .throttle (0 = off, else min..1), .armed, .pitch_cmd (rad)."""
        g = self.g
        x, z, vx, vz = dyn.x, dyn.z, dyn.vx, dyn.vz
        h_local = z - self.terrain.height(x)
        h = min(h_local, z - self.zt)
        dx = self.xt - x
        adx = abs(dx)
        sgn = 1.0 if dx >= 0 else -1.0
        hg, vg, av, ah, k = self.h_gate, self.v_gate, self.a_v, self.a_h, self.k

        # horizontal: braking curve toward the target
        # (linear near the target so the command has a finite slope there)
        vx_des = sgn * min(math.sqrt(2.0 * ah * adx), 0.3 * adx, 150.0)
        ax = k * (vx_des - vx)
        if vx * sgn > 0.0 and adx > 1.0:
            ax -= sgn * ah * min(1.0, abs(vx) / max(abs(vx_des), 1e-3))

        # vertical: braking curve to the gate, then a slow vertical descent
        if h > hg:
            self.phase = 0
            vz_des = -math.sqrt(vg * vg + 2.0 * av * (h - hg))
            ff = av * min(1.5, max(0.0, vz / vz_des))
        else:
            far = adx > 10.0 or abs(vx) > 1.0
            self.phase = 1 if far and h > 20.0 else 2
            vz_des = -0.3 if self.phase == 1 else -min(vg, 0.8 + 0.08 * h)
            ff = 0.0
            # gentle horizontal trim over the site, none in the last metres
            vx_des = max(-2.0, min(2.0, 0.2 * dx)) if h > 10.0 else 0.0
            ax = 0.4 * (vx_des - vx)
        # integral of the vertical error absorbs thrust errors (overthrust, a
        # lost nozzle) that the proportional term alone would leave as a bias
        t = dyn.t
        dt = t - self._last_t if self._last_t is not None else 0.0
        self._last_t = t
        if self.engine_on:
            self.iz = max(-4.0, min(4.0, self.iz + 0.4 * (vz_des - vz) * dt))
        az = max(0.0, g + ff + 1.5 * k * (vz_des - vz) + self.iz)

        m = dyn.mass
        a_lim = self.tmax / m
        mag = math.hypot(ax, az)
        if mag > a_lim:
            # keep the vertical need first, then what is left horizontally
            az = min(az, a_lim)
            ax = math.copysign(math.sqrt(max(a_lim * a_lim - az * az, 0.0)), ax)
            mag = a_lim
        if self.phase == 0:
            pmax = self.pmax
        else:
            pmax = math.radians(10.0) * min(1.0, max(h - 3.0, 0.0) / 27.0)
        pitch = math.atan2(ax, az) if mag > 1e-6 else 0.0
        self.pitch_cmd = max(-pmax, min(pmax, pitch))
        thr = m * mag / self.tmax
        if t - self._switch_t >= 0.5 or h < 1.0:
            if self.engine_on and thr < 0.7 * self.min_thr:
                self.engine_on = False
                self._switch_t = t
            elif not self.engine_on and thr >= self.min_thr:
                self.engine_on = True
                self._switch_t = t
        self.throttle = min(1.0, max(self.min_thr, thr)) if self.engine_on else 0.0
        self.armed = True
        # published phase in the firmware's numbering (guidance.py PH_*):
        # 0 coast (engine off), 1 powered descent, 2 terminal
        self.phase_out = 0 if (self.phase == 0 and not self.engine_on) else (2 if self.phase == 2 else 1)
        return self.throttle
