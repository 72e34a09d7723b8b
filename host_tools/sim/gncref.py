"""Float reference of the on-board guidance and control law (firmware/lander/
guidance.py, control.py), written from the same equations in floating point
(SI units), and a point-mass harness that flies the firmware's Guidance and
Control on recorded / generated navigation inputs.

How the fixed-point law is scored (tests/test_guidance_reference.py): at every
cycle of a recorded flight the firmware's discrete state (phase, time-to-go,
integrator, available acceleration, pitch limit) is taken as given and the
continuous outputs are recomputed here in floating point from the same
inputs; the fixed-point commands must agree within TOLERANCES.

    plan(dx, dh, vx, vz, vzf, g, T)   ZEM/ZEV start and end accelerations
    geometry(ax, az, lim, avail)      pitch and |a| with vertical-first saturation
    throttle(mag, a_full)             throttle fraction
    terminal_az(...)                  terminal rate-hold acceleration
"""
from __future__ import annotations

import math

# stated tolerances of the fixed-point law against this reference
TOLERANCES = {
    "plan_mm_s2": (5.0, 0.005),      # absolute mm/s^2, relative
    "pitch_deg": 0.15,
    "mag_rel": 0.005,
    "mag_abs_mm_s2": 4.0,
    "throttle": 0.004,               # fraction of full
    "terminal_az_mm_s2": 3.0,
}


def plan(dx, dh, vx, vz, vzf, g, T):
    """ZEM/ZEV thrust accelerations at the start and end of a plan of
    duration T (s) to x + dx, height dh below, velocity (0, vzf); all in
    consistent units (mm, mm/s, mm/s^2 or SI). Returns (a0x, a0z, aex, aez)."""
    zem_x = dx - vx * T
    zev_x = -vx
    zem_z = -dh - vz * T + 0.5 * g * T * T
    zev_z = vzf - vz + g * T
    a0x = 6 * zem_x / T ** 2 - 2 * zev_x / T
    a0z = 6 * zem_z / T ** 2 - 2 * zev_z / T
    aex = -6 * zem_x / T ** 2 + 4 * zev_x / T
    aez = -6 * zem_z / T ** 2 + 4 * zev_z / T
    return a0x, a0z, aex, aez


def geometry(ax, az, lim_rad, avail):
    """Pitch (rad) and specific-force magnitude for a command (ax, az): the
    pitch clamped to +/-lim with the vertical component kept, then above the
    available acceleration the vertical kept and the horizontal reduced."""
    az = max(az, 1.0)
    pitch = math.atan2(ax, az)
    if abs(pitch) > lim_rad:
        pitch = math.copysign(lim_rad, pitch)
        mag = az / math.cos(lim_rad)
    else:
        mag = math.hypot(ax, az)
    if mag > avail:
        if az >= avail:
            pitch = 0.0
        else:
            p2 = math.atan2(math.sqrt(avail * avail - az * az), az)
            if p2 < abs(pitch):
                pitch = math.copysign(p2, pitch)
        mag = avail
    return pitch, mag


def throttle(mag, a_full):
    return mag / a_full


def terminal_az(g, vz_ref, vz, iz):
    err = vz_ref - vz
    return max(0.0, g + 1.5 * err + iz)


# ------------------------------------------------------------------ harness

class NavInput:
    """The navigation fields guidance and control read (firmware units)."""

    def __init__(self):
        self.site_alt_mm = 0
        self.altitude_mm = 0
        self.x_mm = 0
        self.vz_mm_s = 0
        self.vx_mm_s = 0
        self.pitch_bau = 0
        self.accel_thrust_mm_s2 = 0
        self.alt_age_ms = 0             # truth-fed: a fresh height every cycle (guidance's schedule)
        self.shadow_dir = 0             # no unseen ground behind an edge ahead
        self.shadow_mm = 0x3FFFFFFF


def fly_point_mass(cfg, alt_m, vz, vx, x_site_m, thrust_scale=1.0, max_s=400.0, record=None,
                   scale_at_alt_m=None, guidance=None, control=None, nav_noise=None):
    """Fly the firmware's Guidance + Control (truth-fed navigation) on a planar
    point mass with engine lag and a first-order attitude; returns a dict of
    touchdown figures. `record` (a list) receives one tuple of navigation
    inputs per cycle. thrust_scale applies from the start, or from the first
    crossing below scale_at_alt_m."""
    from lander.control import Control
    from lander.guidance import Guidance

    g = cfg.gravity_mm_s2 / 1000.0
    dt = 1.0 / cfg.rate_hz
    guid = guidance or Guidance(cfg)
    ctrl = control or Control(cfg)
    guid.attach_control(ctrl)
    nav = NavInput()
    x, z = 0.0, alt_m
    m = (cfg.dry_mass_g + cfg.propellant_g) / 1000.0
    dry = cfg.dry_mass_g / 1000.0
    tmax = cfg.max_thrust_mn / 1000.0
    c = cfg.isp_s * 9.80665
    lag = cfg.engine_lag_ms / 1000.0
    pitch = 0.0
    thrust = 0.0
    scale = thrust_scale if scale_at_alt_m is None else 1.0
    t = 0.0
    phases = []
    while t < max_s:
        nav.site_alt_mm = nav.altitude_mm = int(round(z * 1000))
        nav.x_mm = int(round(x * 1000))
        nav.vz_mm_s = int(round(vz * 1000))
        nav.vx_mm_s = int(round(vx * 1000))
        nav.pitch_bau = int(round(pitch / (2 * math.pi) * 65536))
        nav.accel_thrust_mm_s2 = int(round(thrust / m * 1000))
        if record is not None:
            record.append((nav.site_alt_mm, nav.x_mm, nav.vz_mm_s, nav.vx_mm_s, nav.pitch_bau,
                           nav.accel_thrust_mm_s2))
        touchdown = z <= 0.0
        guid.update(nav, touchdown)
        if guid.phase not in phases:
            phases.append(guid.phase)
        if touchdown:
            break
        ctrl.update(guid, nav)
        u = ctrl.throttle_q15 / 32768.0
        pc = ctrl.pitch_cmd_bau / 65536.0 * 2 * math.pi
        for _ in range(4):
            h = dt / 4
            thrust += (u * tmax * scale - thrust) * (1 - math.exp(-h / lag))
            if m <= dry:
                thrust = 0.0
            pitch += (pc - pitch) * (1 - math.exp(-h / 0.3))
            a = thrust / m
            vx += a * math.sin(pitch) * h
            vz += (a * math.cos(pitch) - g) * h
            x += vx * h
            z += vz * h
            m = max(dry, m - thrust / c * h)
        if scale_at_alt_m is not None and z <= scale_at_alt_m:
            scale = thrust_scale
        t += dt
    return {"t_s": t, "vz": vz, "vx": vx, "miss_m": x - x_site_m, "pitch_deg": math.degrees(pitch),
            "propellant_kg": cfg.propellant_g / 1000.0 - (m - dry), "landed": z <= 0.0,
            "phases": phases, "guidance": guid, "control": ctrl}
