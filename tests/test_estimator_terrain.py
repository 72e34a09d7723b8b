"""Navigation over terrain (issue 8): the estimator alone (no physics, no
bench) flown over piecewise-linear terrain profiles, with the altimeter's slant
range computed by an independent ray cast (floats, here) and the vehicle at
constant velocity (the IMU reads gravity). Hand-built cases pin the terrain
decisions; the property tests draw steps, walls and craters."""
import math

from hypothesis import given, settings, strategies as st

from lander import estimator as E
from lander.config import Config
from lander.drivers import NOT_READY, OK
from tests.test_estimator import G, RATE, Alt, Imu


def terrain_at(xs, zs, x):
    """Height (mm) of the piecewise-linear profile (xs ascending, constant outside)."""
    if x <= xs[0]:
        return zs[0]
    for i in range(1, len(xs)):
        if x <= xs[i]:
            xa, xb, za, zb = xs[i - 1], xs[i], zs[i - 1], zs[i]
            return za + (zb - za) * (x - xa) / (xb - xa)
    return zs[-1]


def raycast(xs, zs, x0, z0, beam_rad):
    """Slant range (mm) from (x0, z0) along a beam beam_rad forward of straight
    down to the profile: the first segment the ray crosses."""
    s, c = math.sin(beam_rad), math.cos(beam_rad)
    if s < 0:                             # looking back: the mirrored profile
        return raycast([-x for x in reversed(xs)], list(reversed(zs)), -x0, z0, -beam_rad)
    if s < 1e-12:
        return z0 - terrain_at(xs, zs, x0)
    # breakpoints ahead of x0, then the flat continuation beyond the last one
    pts = [x0] + [x for x in xs if x > x0]
    for xa, xb in zip(pts, pts[1:]):
        fa = z0 - c * (xa - x0) / s - terrain_at(xs, zs, xa)
        fb = z0 - c * (xb - x0) / s - terrain_at(xs, zs, xb)
        if fa >= 0 >= fb:
            x = xa if fa == fb else xa + (xb - xa) * fa / (fa - fb)
            return (x - x0) / s
    # beyond the last breakpoint the terrain is level at zs[-1]
    return (z0 - zs[-1]) / c


def dither(k):
    """Deterministic range noise within +/-0.3 m (a range never repeats exactly:
    the estimator would call the altimeter stuck)."""
    return (k * 7919) % 601 - 300


class SlantFlight:
    """Constant-velocity flight (the IMU reads gravity in the body frame), the
    altimeter beam mounted beam_bau forward of the thrust axis (beam_bau = 8192:
    45 deg, the look of a braking vehicle at pitch -45 deg); a fresh range every
    other cycle (25 Hz). pitch_rate(k) -> rad/s turns the vehicle (gyro)."""

    def __init__(self, xs, zs, alt_mm, vz_mm_s, vx_mm_s, beam_bau=0, noise=None, pitch_rate=None):
        self.nav = E.Nav(Config(altimeter_beam_bau=beam_bau))
        self.xs, self.zs = xs, zs
        self.beam = beam_bau * 2 * math.pi / 65536
        self.z = alt_mm + terrain_at(xs, zs, 0)
        self.datum = terrain_at(xs, zs, 0)
        self.nav.init_from(alt_mm, vz_mm_s, vx_mm_s, 0)
        self.imu, self.alt = Imu(), Alt()
        self.x = 0
        self.vz, self.vx = vz_mm_s, vx_mm_s
        self.k = 0
        self.noise = noise or dither  # f(k) -> mm added to the range
        self.pitch = 0.0              # rad, thrust axis toward +x
        self.pitch_rate = pitch_rate

    def true_alt(self):
        return self.z - terrain_at(self.xs, self.zs, self.x)

    def step(self, n=1):
        for _ in range(n):
            self.k += 1
            self.z += self.vz // RATE
            self.x += self.vx // RATE
            q = self.pitch_rate(self.k) if self.pitch_rate is not None else 0.0
            self.pitch += q / RATE
            p = self.pitch
            # specific force (0, g) in the world, seen in the body frame
            self.imu.set(int(round(G * math.cos(p))), int(round(-G * math.sin(p))), int(round(q * 1e6)))
            st = NOT_READY
            if self.k % 2 == 0:
                st = OK
                r = raycast(self.xs, self.zs, self.x, self.z, self.beam - p)
                r += self.noise(self.k)
                self.alt.range_mm = int(round(r))
            self.nav.update(20971, self.imu, OK, None, NOT_READY, self.alt, st, None, False)

    def error_mm(self):
        return self.nav.altitude_mm - self.true_alt()

    def diverged(self):
        a = self.true_alt()
        return abs(self.error_mm()) > max(50000, a // 20)


def test_shadow_behind_a_drop_takes_the_far_level():
    # The beam looks 45 deg ahead (a braking attitude). It sweeps the plain,
    # then passes over the edge of a 3 km drop (a 350 m wall falling away from
    # it) and lands on the floor far ahead: the wall and the floor near it are
    # never seen. Over that shadow the terrain under the vehicle is the far
    # (floor) level, not the plain's: the rays that reached the floor passed
    # above the shadow, so it lies below them.
    xs = [0, 2000000, 2350000, 20000000]
    zs = [0, 0, -3000000, -3000000]
    f = SlantFlight(xs, zs, 1500000, 0, 50000, beam_bau=8192)
    f.step(RATE * 38)                     # x = 1900 m: over the plain, seen
    assert abs(f.nav.terrain_under_mm) < 1000
    assert abs(f.error_mm()) < 5000
    f.step(RATE * 4)                      # x = 2100 m: over the wall, in the shadow
    assert abs(f.nav.terrain_under_mm + 3000000) < 30000
    f.step(RATE * 6)                      # x = 2400 m: over the floor
    assert abs(f.error_mm()) < 30000
    assert abs(f.nav.height_mm - (f.z - f.datum)) < 5000    # the datum height never moved


# a crater's near side (museum 01): plain, a raised rim, a 3 km wall, the floor
RIM_XS = [0, 1000000, 1500000, 1800000, 2000000, 2350000, 30000000]
RIM_ZS = [0, 0, 40000, 90000, 150000, -3000000, -3000000]


def _pitch_over(k):
    # 2 s level, then -22.5 deg/s for 2 s: the braking attitude (-45 deg)
    return -math.pi / 8 if RATE * 2 < k <= RATE * 4 else 0.0


def test_ground_swept_once_by_the_pitch_over_is_the_terrain_under_the_vehicle():
    # Pitching over to the braking attitude, the beam sweeps the plain, the
    # rim and the floor beyond the shadow in 2 s: one sample per bin or none.
    # Crossing the rim later, the terrain under the vehicle is the nearest
    # ground swept (the rim), not the first well-mapped ground (the floor).
    f = SlantFlight(RIM_XS, RIM_ZS, 4400000, -40000, 60000, pitch_rate=_pitch_over)
    f.step(RATE * 28)                     # x = 1680 m, over the rim
    assert abs(f.nav.terrain_under_mm - terrain_at(RIM_XS, RIM_ZS, f.x)) < 40000
    assert not f.diverged()
