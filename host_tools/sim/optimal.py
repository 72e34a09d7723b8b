"""Fuel-optimal powered descent by lossless convexification.

Acikmese & Ploen, "Convex programming approach to powered descent guidance
for Mars landing", JGCD 30(5), 2007. Planar (x, z) version for the scenario's
vehicle, initial state and landing site:

    minimise   m0 - m(tf)
    subject to r'' = T/m + g,   m' = -|T| / (Isp g0),
               rho1 <= |T| <= rho2,  thrust within max_pitch_deg of vertical,
               z >= site (optionally a glide slope), r(tf) = site, v(tf) = 0.

The non-convex thrust annulus is relaxed with the slack Gamma >= |T| (lossless:
the optimum has Gamma = |T|), and the change of variables u = T/m,
sigma = Gamma/m, z = ln m makes the dynamics linear:

    r'' = u + g,   z' = -alpha sigma,   |u| <= sigma,   u_z >= cos(theta) sigma,
    rho1 e^-z <= sigma <= rho2 e^-z.

The last pair is approximated around a reference log-mass profile z0(t)
(the paper's z0 = ln(m0 - alpha rho2 t), the lightest mass possible at t):

    rho1 e^-z0 [1 - (z - z0) + (z - z0)^2 / 2] <= sigma <= rho2 e^-z0 [1 - (z - z0)]

Both are conservative for z >= z0 (e^-z is convex), so every solution is flyable.
After the paper's solve we optionally re-linearise around the solution's own
mass profile (each pass keeps the previous solution feasible, so the fuel can
only go down), which removes the small loss of the tangent approximation when
the engine runs below full thrust early.

Time is discretised with a zero-order hold on u and sigma and exact
integration of the double integrator and of z, so the discrete problem is a
restriction of the continuous one. The time of flight is found by a coarse
scan then a golden-section search.

Engine model. The simulator's engine may be shut down (throttle 0) and burns
between min_throttle and full thrust when lit: the set {0} U [rho1, rho2] is not
convex. By default we solve with 0 <= |T| <= rho2, a relaxation whose optimum
is a lower bound on what that engine can achieve (so the firmware's ratio to
it is >= 1) and in practice bang-bang (full, off, full), hence flown exactly by
it; Trajectory.below_min_s reports any sustained lit arc below min throttle.
engine_off=False is the paper's engine lit throughout (rho1 <= |T| <= rho2,
the lower bound made convex by the lossless relaxation above).

Ignored (a reference, not a flight plan): engine lag, pitch-rate limit and
terrain between the start and the site (the site height is taken from the
terrain model when it is available).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

G0 = 9.80665                      # standard gravity for Isp (not the local gravity)
DEFAULT_NODES = 50                # during the time-of-flight search
FINAL_NODES = 100                 # for the reported optimum
GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0


class OptimalError(RuntimeError):
    """The problem has no solution (or the solver failed)."""


@dataclass
class Problem:
    """Everything the convex program needs, in SI units, site-relative frame."""

    name: str
    m0: float                      # wet mass at the start, kg
    m_dry: float                   # kg
    rho1: float                    # min thrust, N
    rho2: float                    # max thrust, N
    alpha: float                   # 1 / (Isp g0), s/m
    g: float                       # local gravity magnitude, m/s^2 (acts along -z)
    r0: tuple                      # (x, z) start relative to the site, m
    v0: tuple                      # (vx, vz) m/s
    rf: tuple                      # (x, z) end point relative to the site, m
    vf: tuple                      # (vx, vz) at the end point, m/s
    cos_tilt: float                # thrust within this of vertical (cos of max pitch)
    glide_tan: float | None = None  # tan(glide-slope angle from the horizontal), or None
    engine_off: bool = True        # the engine may be shut down (thrust 0 or in [rho1, rho2])


@dataclass
class Trajectory:
    """A solution at one time of flight."""

    time_of_flight_s: float
    propellant_kg: float
    t_s: np.ndarray = field(repr=False)
    x_m: np.ndarray = field(repr=False)
    z_m: np.ndarray = field(repr=False)
    vx_mps: np.ndarray = field(repr=False)
    vz_mps: np.ndarray = field(repr=False)
    mass_kg: np.ndarray = field(repr=False)
    thrust_n: np.ndarray = field(repr=False)     # Gamma = sigma m per interval (n values)
    thrust_norm_n: np.ndarray = field(repr=False)  # |T| = |u| m (equal to Gamma: lossless)
    pitch_deg: np.ndarray = field(repr=False)    # thrust tilt from vertical per interval
    below_min_s: float = 0.0       # time lit below the minimum throttle (engine_off mode)


def _site_height(scenario: dict, x_m: float) -> float:
    """Terrain height at x (m): the simulator's terrain model, or base_m for a bare dict."""
    terrain = scenario.get("terrain") or {}
    if terrain.get("features"):
        from host_tools.sim import terrain as terrain_mod
        return float(terrain_mod.from_scenario(scenario).height(x_m))
    return float(terrain.get("base_m", 0.0))


def problem_from_scenario(scenario: dict, gate=None, glide_slope_deg=None,
                          engine_off=True) -> Problem:
    """Build the site-relative problem for a scenario dict (validated by scenario.load).

    gate: None (land on the surface) or (altitude_m, vz_mps): end at that height
    above the site with that vertical speed (negative = down) and zero vx.
    engine_off: True (default) models the simulator's engine, which may be shut
    down (thrust 0) and is otherwise between min_throttle and full thrust; the
    convex set used is then 0 <= |T| <= rho2, whose optimum is a lower bound on
    the achievable propellant and in practice bang-bang (full / off / full), so
    flyable by that engine. False is the paper's engine lit throughout,
    rho1 <= |T| <= rho2.
    """
    veh = scenario["vehicle"]
    ini = scenario["initial"]
    x_site = float(scenario["target"]["x_m"])
    x0 = float(ini["x_m"])
    g = float(scenario.get("gravity_mps2", 1.62))
    # altitude_m is above the terrain under the vehicle; the site may sit higher or lower.
    z0 = float(ini["altitude_m"]) + _site_height(scenario, x0) - _site_height(scenario, x_site)
    if gate is None:
        rf, vf = (0.0, 0.0), (0.0, 0.0)
    else:
        alt, vz = float(gate[0]), float(gate[1])
        if alt < 0.0:
            raise OptimalError("gate altitude must be >= 0 m, got %g" % alt)
        rf, vf = (0.0, alt), (0.0, vz)
    max_pitch = float(veh.get("max_pitch_deg", 90.0))
    glide = None
    if glide_slope_deg is not None:
        glide = math.tan(math.radians(float(glide_slope_deg)))
    return Problem(
        name=str(scenario.get("name", "?")),
        m0=float(veh["dry_mass_kg"]) + float(veh["propellant_kg"]),
        m_dry=float(veh["dry_mass_kg"]),
        rho1=float(veh["min_throttle"]) * float(veh["max_thrust_n"]),
        rho2=float(veh["max_thrust_n"]),
        alpha=1.0 / (float(veh["isp_s"]) * G0),
        g=g,
        r0=(x0 - x_site, z0),
        v0=(float(ini["vx_mps"]), float(ini["vz_mps"])),
        rf=rf,
        vf=vf,
        cos_tilt=math.cos(math.radians(min(max_pitch, 90.0))),
        glide_tan=glide,
        engine_off=bool(engine_off),
    )


def _solve_fixed(p: Problem, tf: float, n: int, refine: int = 0):
    """Solve at a fixed time of flight; returns a Trajectory or None if infeasible."""
    import cvxpy as cp

    dt = tf / n
    t = np.arange(n + 1) * dt
    # Log-mass bounds (paper eq. 34): the lightest / heaviest the vehicle can be at t.
    m_low = np.maximum(p.m0 - p.alpha * p.rho2 * t, p.m_dry)
    rho1 = 0.0 if p.engine_off else p.rho1
    m_high = p.m0 - p.alpha * rho1 * t
    if m_high[-1] < p.m_dry:
        return None                         # not even the minimum thrust fits the propellant
    z_low = np.log(m_low)
    z_high = np.log(m_high)
    z_ref = z_low.copy()                    # linearisation point (paper)

    best = None
    for _ in range(1 + max(0, refine)):
        traj = _convex_pass(cp, p, tf, n, dt, t, z_low, z_high, z_ref)
        if traj is None:
            break
        if best is not None and traj.propellant_kg > best.propellant_kg - 1e-6:
            break                           # converged
        best = traj
        z_ref = np.log(traj.mass_kg)
    return best


def _convex_pass(cp, p: Problem, tf, n, dt, t, z_low, z_high, z_ref):
    # Scale positions to km and velocities to 10 m/s so the conic solver sees O(1) numbers.
    L, V = 1000.0, 10.0
    r = cp.Variable((n + 1, 2))
    v = cp.Variable((n + 1, 2))
    u = cp.Variable((n, 2))
    s = cp.Variable(n)
    z = cp.Variable(n + 1)
    g = np.array([0.0, -p.g])
    acc = u + np.tile(g, (n, 1))
    cons = [
        r[0] == np.array(p.r0) / L,
        v[0] == np.array(p.v0) / V,
        z[0] == math.log(p.m0),
        r[n] == np.array(p.rf) / L,
        v[n] == np.array(p.vf) / V,
        v[1:] == v[:-1] + (dt / V) * acc,
        r[1:] == r[:-1] + (dt * V / L) * v[:-1] + (0.5 * dt * dt / L) * acc,
        z[1:] == z[:-1] - p.alpha * dt * s,
        cp.norm(u, 2, axis=1) <= s,
        u[:, 1] >= p.cos_tilt * s,
        z >= z_low,
        z <= z_high,
        z[n] >= math.log(p.m_dry),
        r[:, 1] >= min(p.rf[1], p.r0[1]) / L,     # never below the site (or the gate)
    ]
    # Thrust bounds on each interval: the thrust sigma*m is largest at the start of
    # the interval (upper bound at z_k) and smallest at its end (lower bound at z_k+1).
    zr0 = z_ref[:-1]
    cons.append(s <= cp.multiply(p.rho2 * np.exp(-zr0), 1.0 - (z[:-1] - zr0)))
    if p.rho1 > 0.0 and not p.engine_off:
        zr1 = z_ref[1:]
        d = z[1:] - zr1
        cons.append(s >= cp.multiply(p.rho1 * np.exp(-zr1), 1.0 - d + 0.5 * cp.square(d)))
    if p.glide_tan is not None:
        cons.append(r[:, 1] - p.rf[1] / L >= p.glide_tan * cp.abs(r[:, 0] - p.rf[0] / L))
    prob = cp.Problem(cp.Maximize(z[n]), cons)
    try:
        prob.solve(solver=_solver(cp))
    except cp.error.SolverError:
        return None
    if prob.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) or z.value is None:
        return None
    mass = np.exp(z.value)
    uu = u.value
    thrust = s.value * mass[:-1]
    pitch = np.degrees(np.arctan2(uu[:, 0], np.maximum(uu[:, 1], 1e-12)))
    low = (thrust > 0.01 * p.rho2) & (thrust < 0.99 * p.rho1)
    # An isolated partial interval is a switch (a shorter burn); count only runs of them.
    sustained = low & (np.roll(low, 1) | np.roll(low, -1))
    return Trajectory(
        time_of_flight_s=tf,
        propellant_kg=float(p.m0 - mass[-1]),
        t_s=t,
        x_m=r.value[:, 0] * L,
        z_m=r.value[:, 1] * L,
        vx_mps=v.value[:, 0] * V,
        vz_mps=v.value[:, 1] * V,
        mass_kg=mass,
        thrust_n=thrust,
        thrust_norm_n=np.linalg.norm(uu, axis=1) * mass[:-1],
        pitch_deg=pitch,
        below_min_s=float(sustained.sum() * dt),
    )


def _solver(cp):
    for name in ("CLARABEL", "ECOS", "SCS"):
        if name in cp.installed_solvers():
            return name
    raise OptimalError("no conic solver installed for cvxpy (need CLARABEL, ECOS or SCS)")


def _tof_bracket(p: Problem):
    """Bounds on the time of flight (s)."""
    speed = math.hypot(*p.v0)
    # Paper eq. 55: even at full thrust on the dry mass the velocity takes this long to kill.
    t_lo = max(1.0, p.m_dry * speed / p.rho2)
    fuel = p.m0 - p.m_dry
    # Falling from r0 with gravity alone: time to reach the end altitude.
    dz = max(p.r0[1] - p.rf[1], 0.0)
    vz = p.v0[1]
    t_ff = (vz + math.sqrt(vz * vz + 2.0 * p.g * dz)) / p.g
    t_burn = fuel / (p.alpha * p.rho2)
    t_hi = t_ff + 2.0 * t_burn + 2.0 * speed / max(p.rho2 / p.m0 - p.g, 0.1)
    if p.rho1 > 0.0 and not p.engine_off:
        t_hi = min(t_hi, fuel / (p.alpha * p.rho1))   # paper eq. 55: fuel at min thrust
    return t_lo, max(t_hi, t_lo * 1.5)


def optimise(p: Problem, nodes=DEFAULT_NODES, final_nodes=FINAL_NODES, refine=2,
             scan=12, tol_s=0.25) -> Trajectory:
    """Minimum-propellant trajectory with the time of flight chosen by line search."""
    cache = {}

    def fuel(tf):
        key = round(tf, 6)
        if key not in cache:
            traj = _solve_fixed(p, tf, nodes, refine=0)
            cache[key] = math.inf if traj is None else traj.propellant_kg
        return cache[key]

    t_lo, t_hi = _tof_bracket(p)
    grid = np.linspace(t_lo, t_hi, scan)
    costs = [fuel(tf) for tf in grid]
    i = int(np.argmin(costs))
    if not math.isfinite(costs[i]):
        # Feasible window narrower than the scan: refine the grid once.
        grid = np.linspace(t_lo, t_hi, scan * 6)
        costs = [fuel(tf) for tf in grid]
        i = int(np.argmin(costs))
        if not math.isfinite(costs[i]):
            raise OptimalError("%s: no feasible descent found for a time of flight in "
                               "[%.1f, %.1f] s" % (p.name, t_lo, t_hi))
    a = grid[max(i - 1, 0)]
    b = grid[min(i + 1, len(grid) - 1)]
    # Golden-section search on [a, b] (infeasible points count as +inf).
    c = b - GOLDEN * (b - a)
    d = a + GOLDEN * (b - a)
    fc, fd = fuel(c), fuel(d)
    while b - a > tol_s:
        if fc <= fd:
            b, d, fd = d, c, fc
            c = b - GOLDEN * (b - a)
            fc = fuel(c)
        else:
            a, c, fc = c, d, fd
            d = a + GOLDEN * (b - a)
            fd = fuel(d)
    tf_best = float(min(cache.items(), key=lambda kv: kv[1])[0])
    best = _solve_fixed(p, tf_best, final_nodes, refine=refine)
    if best is None:                       # finer grid should only help; be safe
        best = _solve_fixed(p, tf_best, nodes, refine=refine)
    if best is None:
        raise OptimalError("%s: solver failed at the optimal time of flight %.1f s"
                           % (p.name, tf_best))
    return best


def solve(scenario: dict, gate=None, glide_slope_deg=None, engine_off=True, **kwargs) -> dict:
    """Minimum propellant for a scenario: {name, propellant_kg, time_of_flight_s}.

    gate: None or (altitude_m, vz_mps) -- end at that height above the site, at
    that vertical speed and zero horizontal speed, instead of on the surface.
    engine_off: see problem_from_scenario (False = engine lit throughout).
    """
    p = problem_from_scenario(scenario, gate=gate, glide_slope_deg=glide_slope_deg,
                              engine_off=engine_off)
    return result_dict(p, optimise(p, **kwargs))


def result_dict(p: Problem, traj: Trajectory) -> dict:
    """The `lander optimal --json` object."""
    return {
        "name": p.name,
        "propellant_kg": round(float(traj.propellant_kg), 3),
        "time_of_flight_s": round(float(traj.time_of_flight_s), 2),
    }
