"""Terrain profile z(x) built from features, and the altimeter ray cast.

The profile is piecewise linear: every feature is a piecewise-linear function
of x on its own breakpoints (curved features are sampled finely), and the sum of
them is piecewise linear on the union of breakpoints. That makes the ray cast
exact: between two breakpoints both the ray and the ground are straight lines.

Features (the [terrain] features list of a scenario):
    flat                                  nothing (base_m only)
    slope    angle_deg, x0_m, x1_m        ground rises at tan(angle) from x0 to x1
                                          (x1 absent: to the end of the world)
    step     x_m, height_m, width_m       ground rises by height_m at x_m (over
                                          width_m; 0 = a cliff, 1 mm wide)
    crater   x_m, radius_m, depth_m,      flat floor depth_m below the base,
             rim_height_m, rim_width_m,   a wall of wall_width_m up to a rim
             wall_width_m                 rim_height_m above the base, decaying
                                          outside over rim_width_m (Hakuto-R M1:
                                          a ~3 km drop at the rim)
    boulders x0_m, x1_m, count,           `count` half-ellipse boulders, seeded
             max_height_m, max_width_m,   (seed, else from the scenario seed)
             seed
"""
from __future__ import annotations

import bisect
import math

import numpy as np

CLIFF_M = 1e-3          # width of a vertical step
WORLD_MARGIN_M = 50_000.0


def _feature_profile(f, x_lo, x_hi, seed):
    """(xs, zs) breakpoints of one feature; constant outside its ends."""
    kind = f["kind"]
    if kind == "flat":
        return [x_lo, x_hi], [0.0, 0.0]
    if kind == "slope":
        g = math.tan(math.radians(f["angle_deg"]))
        x0 = f["x0_m"]
        x1 = f["x1_m"] if f["x1_m"] is not None else max(x_hi, x0 + 1.0)
        return [x0, x1], [0.0, g * (x1 - x0)]
    if kind == "step":
        w = max(f["width_m"], CLIFF_M)
        return [f["x_m"], f["x_m"] + w], [0.0, f["height_m"]]
    if kind == "crater":
        c, R, D = f["x_m"], f["radius_m"], f["depth_m"]
        hr = f["rim_height_m"]
        ww = f["wall_width_m"] if f["wall_width_m"] is not None else 0.1 * R
        wr = f["rim_width_m"] if f["rim_width_m"] is not None else 0.3 * R
        # radial profile r -> z, r ascending
        rs = [0.0, R - ww, R]
        zs = [-D, -D, hr]
        if hr > 0:
            for k in range(1, 41):
                r = R + wr * 5.0 * k / 40.0
                rs.append(r)
                zs.append(hr * math.exp(-(r - R) / wr) if k < 40 else 0.0)
        else:
            rs.append(R + 1e-3)
            zs.append(0.0)
        xs = [c - r for r in reversed(rs)] + [c + r for r in rs[1:]]
        zz = list(reversed(zs)) + zs[1:]
        return xs, zz
    if kind == "boulders":
        rng = np.random.default_rng(seed)
        n = f["count"]
        centres = rng.uniform(f["x0_m"], f["x1_m"], n)
        heights = rng.uniform(0.2, 1.0, n) * f["max_height_m"]
        widths = rng.uniform(0.3, 1.0, n) * f["max_width_m"]
        return None, (centres, heights, widths)
    raise ValueError("unknown terrain feature %r" % kind)


class Terrain:
    """Ground height z(x) (metres, +up) and ray casting against it."""

    def __init__(self, features=(), base_m=0.0, seed=0, x_lo=-WORLD_MARGIN_M, x_hi=WORLD_MARGIN_M):
        self.base_m = float(base_m)
        profiles = []
        for i, f in enumerate(features):
            fseed = f.get("seed")
            if fseed is None:
                fseed = (int(seed) * 1009 + 17 * i) & 0xFFFFFFFF
            xs, zs = _feature_profile(f, x_lo, x_hi, fseed)
            if xs is None:
                profiles.extend(_boulder_profiles(*zs))
            else:
                profiles.append((np.asarray(xs, float), np.asarray(zs, float)))
        xs_all = [np.array([x_lo, x_hi], float)] + [p[0] for p in profiles]
        X = np.unique(np.concatenate(xs_all))
        Z = np.full_like(X, self.base_m)
        for px, pz in profiles:
            Z += np.interp(X, px, pz)
        self.X = X
        self.Z = Z
        self._xl = X.tolist()
        self._zl = Z.tolist()
        self.z_max = float(Z.max())

    # -- heights
    def height(self, x):
        """Ground height at x (scalar, fast)."""
        xl, zl = self._xl, self._zl
        i = bisect.bisect_right(xl, x)
        if i <= 0:
            return zl[0]
        if i >= len(xl):
            return zl[-1]
        x0 = xl[i - 1]
        x1 = xl[i]
        z0 = zl[i - 1]
        return z0 + (zl[i] - z0) * (x - x0) / (x1 - x0)

    def heights(self, xs):
        return np.interp(np.asarray(xs, float), self.X, self.Z)

    def slope_deg(self, xa, xb):
        """Mean ground slope between two points (e.g. the two feet), degrees."""
        if xb == xa:
            return 0.0
        return math.degrees(math.atan2(self.height(xb) - self.height(xa), xb - xa))

    # -- ray cast
    def raycast(self, x0, z0, dx, dz, max_range):
        """Distance along the unit direction (dx, dz) from (x0, z0) to the ground,
        or None if the ground is not hit within max_range. 0.0 if the origin is
        at or below the ground."""
        g0 = z0 - self.height(x0)
        if g0 <= 0.0:
            return 0.0
        if abs(dx) < 1e-12:
            if dz >= 0.0:
                return None
            r = g0 / -dz
            return r if r <= max_range else None
        if dz < 0.0 and z0 - self.z_max > -dz * max_range:
            return None     # even the highest ground is out of reach
        x1 = x0 + dx * max_range
        lo, hi = (x0, x1) if x0 < x1 else (x1, x0)
        xl = self._xl
        i_lo = bisect.bisect_right(xl, lo)
        i_hi = bisect.bisect_left(xl, hi)
        if i_hi - i_lo <= 32:
            # few breakpoints crossed: plain Python is faster than numpy here
            zl = self._zl
            idx = range(i_lo, i_hi) if dx > 0 else range(i_hi - 1, i_lo - 1, -1)
            sa, ga = 0.0, g0
            for i in idx:
                sb = (xl[i] - x0) / dx
                gb = z0 + sb * dz - zl[i]
                if gb <= 0.0:
                    return sa + (sb - sa) * ga / (ga - gb)
                sa, ga = sb, gb
            gb = z0 + max_range * dz - self.height(x1)
            if gb <= 0.0:
                return sa + (max_range - sa) * ga / (ga - gb)
            return None
        xs = self.X[i_lo:i_hi]
        zs = self.Z[i_lo:i_hi]
        if dx < 0:
            xs = xs[::-1]
            zs = zs[::-1]
        s = (xs - x0) / dx
        # (s, gap) at the breakpoints the ray crosses, then at max_range
        gap = z0 + s * dz - zs
        s_all = np.concatenate(([0.0], s, [max_range]))
        g_end = z0 + max_range * dz - self.height(x1)
        g_all = np.concatenate(([g0], gap, [g_end]))
        hit = np.flatnonzero(g_all <= 0.0)
        if hit.size == 0:
            return None
        k = int(hit[0])
        sa, sb = s_all[k - 1], s_all[k]
        ga, gb = g_all[k - 1], g_all[k]
        return float(sa + (sb - sa) * ga / (ga - gb))


def _boulder_profiles(centres, heights, widths, samples=9):
    out = []
    for c, h, w in zip(centres.tolist(), heights.tolist(), widths.tolist()):
        half = w / 2.0
        u = np.linspace(-1.0, 1.0, samples)
        out.append((c + half * u, h * np.sqrt(np.clip(1.0 - u * u, 0.0, 1.0))))
    return out


def from_scenario(sc, seed=None):
    t = sc["terrain"]
    xs = [sc["initial"]["x_m"], sc["target"]["x_m"]]
    return Terrain(t["features"], t["base_m"], sc["seed"] if seed is None else seed,
                   x_lo=min(xs) - WORLD_MARGIN_M, x_hi=max(xs) + WORLD_MARGIN_M)
