"""Navigation over terrain (issue 8): the estimator alone (no physics, no
bench) flown over piecewise-linear terrain profiles, with the altimeter's slant
range computed by an independent ray cast (floats, here) and the vehicle at
constant velocity (the IMU reads gravity). Hand-built cases pin the terrain
decisions; the property tests draw steps, walls and craters."""
import math
from array import array

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings, strategies as st

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



def test_unseen_ground_beside_the_datum_is_not_a_plateau_seen_far_ahead():
    # The beam looks 45 deg ahead from the start and sees a plateau 214 m up,
    # 3 km ahead; the plain the vehicle then crosses is never seen. It is the
    # datum's level (the nearest seen ground, behind), not the plateau's: a
    # plateau ahead is no shadow (the ground ahead is higher, not lower).
    xs, zs = [0, 560000, 857000, 60000000], [0, 0, 214000, 214000]
    f = SlantFlight(xs, zs, 3341000, -30000, 56000, beam_bau=8192)
    f.step(RATE * 5)                      # x = 280 m, over the unseen plain
    assert abs(f.nav.terrain_under_mm) < 1000
    assert not f.diverged()


# --- property tests: drawn terrains, the divergence bound ---------------------
# The bound: the estimate never stays diverged (error > max(50 m, 5 % of
# the altitude)) longer than 5 s. Terrain is drawn where the estimator's
# contract says "terrain": a wall no steeper than CLIFF_SLOPE (10:1, crossed by
# the vehicle's travel), a vertical step of at least BIG_STEP_MM and 1/4 of the
# height measured after it, or one too small to matter (< 40 m). A sudden jump between those, at
# a place the beam has just measured, is an altimeter offset (museum 06): with
# the beam straight down the two cannot be told apart, and the estimator takes
# the offset. With the beam 45 deg ahead (the braking look) no drop steeper
# than the beam is drawn (a shadow: the crater rim case, where no estimate can
# follow the unseen wall).

def _profile(kind, x0, height, width, floor):
    """Piecewise-linear profile (mm): a wall of `height` over `width` at x0, or
    a crater (a wall down by `height`, a floor of `floor`, a wall up)."""
    far = 60000000
    if kind == "wall":
        return [0, x0, x0 + width, far], [0, 0, height, height]
    w = width
    return ([0, x0, x0 + w, x0 + w + floor, x0 + 2 * w + floor, far],
            [0, 0, -height, -height, 0, 0])


def _longest_divergence_s(f, cycles):
    run = longest = 0
    for _ in range(cycles):
        f.step()
        run = run + 1 if f.diverged() else 0
        longest = max(longest, run)
    return longest / RATE


def _terrain_by_contract(p):
    h, w = abs(p["height_m"]), p["width_m"]
    if w * E.CLIFF_SLOPE >= h:
        return True                       # a wall the vehicle's travel explains
    # the height measured after the jump: a drop (a crater) adds to it
    after = p["alt_m"] + (h if p["kind"] == "crater" or p["height_m"] < 0 else -h)
    big = max(E.BIG_STEP_MM // 1000, after // 4)
    return w == 0 and (h >= big + 50 or h < 40)


terrains = st.fixed_dictionaries({
    "kind": st.sampled_from(["wall", "crater"]),
    "alt_m": st.integers(1000, 5000),
    "vx_mps": st.integers(5, 80),
    "vz_mps": st.integers(-30, 0),
    "at_s": st.integers(2, 12),            # the feature is reached after this many seconds
    "height_m": st.integers(-3000, 3000),
    "width_m": st.one_of(st.just(0), st.integers(1, 600)),
    "floor_m": st.integers(100, 2000),
}).filter(_terrain_by_contract)


def _fly_profile(p, beam_bau):
    """The drawn flight: the feature reached `at_s` seconds after the start
    (beam straight down) or after the ground the beam first sees (45 deg ahead:
    the ground before it is never seen); flown until 10 s past the feature (25 s
    with the beam down), or until 200 m above the highest ground."""
    kind, alt, vx = p["kind"], p["alt_m"] * 1000, p["vx_mps"] * 1000
    height = p["height_m"] * 1000
    if kind == "crater":
        height = abs(height) or 1000
    x0 = p["at_s"] * vx + (alt if beam_bau else 0)
    xs, zs = _profile(kind, x0, height, p["width_m"] * 1000 + 1, p["floor_m"] * 1000)
    f = SlantFlight(xs, zs, alt, p["vz_mps"] * 1000, vx, beam_bau=beam_bau)
    n = 25 * RATE if not beam_bau else (x0 + p["width_m"] * 1000) * RATE // vx + 10 * RATE
    if p["vz_mps"] < 0:
        n = min(n, int((alt - max(zs) - 200000) / (-p["vz_mps"] * 1000) * RATE))
    return f, max(n, 0)


# no shrinking: a failure prints the drawn example as found (shrinking these
# flights takes minutes)
# the wall profiles are a narrow filter of the drawn terrains: under pytest -n 2
# some worker orders failed the filter health check (7 drawn, 50 filtered)
_FEW = settings(max_examples=8, phases=[Phase.explicit, Phase.reuse, Phase.generate],
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


@_FEW
@given(terrains)
def test_nadir_beam_estimate_never_stays_diverged_over_5_s(p):
    f, n = _fly_profile(p, 0)
    assert _longest_divergence_s(f, n) <= 5.0


def test_nadir_beam_over_a_steep_2_km_crater_wall_never_stays_diverged_over_5_s():
    # a 2 km crater wall of 6:1 crossed at 53 m/s under a nadir beam: the
    # terrain changes ~330 m per second, 400 m inside one 65 m map bin (found by
    # the drawn examples above at 40 examples). The bins' means lagged it; the
    # sweep (the implied terrain moving one way sample after sample) makes
    # those bins steep: their level is the last sample's
    p = {"kind": "crater", "alt_m": 1000, "vx_mps": 53, "vz_mps": -10, "at_s": 3,
         "height_m": -2079, "width_m": 333, "floor_m": 142}
    assert _terrain_by_contract(p)
    f, n = _fly_profile(p, 0)
    assert _longest_divergence_s(f, n) <= 5.0


@_FEW
@given(terrains.filter(lambda p: p["kind"] == "wall" and p["height_m"] >= -p["width_m"]
                       and p["alt_m"] <= 40 * p["vx_mps"]))
@example({"kind": "wall", "alt_m": 2578, "vx_mps": 67, "vz_mps": -30, "at_s": 2,
          "height_m": 300, "width_m": 116, "floor_m": 643})
@example({"kind": "wall", "alt_m": 1324, "vx_mps": 48, "vz_mps": -22, "at_s": 6,
          "height_m": 211, "width_m": 405, "floor_m": 323})
@example({"kind": "wall", "alt_m": 2472, "vx_mps": 72, "vz_mps": -30, "at_s": 12,
          "height_m": 188, "width_m": 594, "floor_m": 929})
def test_forward_beam_estimate_never_stays_diverged_over_5_s_over_seen_ground(p):
    # a rising wall faces the beam; a drop no steeper than 45 deg is lit; the
    # vehicle flies over ground its beam saw (it starts 45 deg behind it). The
    # footprint climbing a wall inside one bin mapped at the plain's level used
    # to drag the datum height (innovations of -10..-68 m accepted for ~3 s);
    # that climb is a sweep: steep bins, never a height reference. The second
    # and third examples (a 27 deg and an 18 deg wall; the first drawn when this
    # test ran alone, the other by a wider search) were diverged 22 s and 33 s:
    # the footprint rising 0.3-0.4 m a sample, within the gate, bin after bin
    # taken as level with the plain (the trend test, Nav._slope, now calls it
    # a slope)
    f, n = _fly_profile(p, 8192)
    assert _longest_divergence_s(f, n) <= 5.0


def test_a_27_deg_wall_facing_the_forward_beam_is_a_slope_not_a_height_error():
    # The beam 45 deg ahead climbs a 211 m wall over 405 m (27 deg), 0.36 m of
    # terrain a sample, from t = 11.5 s: taken as level ground it pulled the
    # datum height 144 m and the vertical velocity 8.3 m/s down in 20 s (the
    # IMU exact). The trend test calls it a slope within ~2 s: the wall's bins
    # are steep or mapped, never level with the plain, and the datum height
    # and the velocity stay near the inertial ones.
    xs, zs = [0, 1612000, 2017001, 60000000], [0, 0, 211000, 211000]
    f = SlantFlight(xs, zs, 1324000, -22000, 48000, beam_bau=8192)
    f.step(RATE * 11)
    assert f.nav.slopes == 0 and f.nav.steep_bins == 0
    worst_h = worst_v = 0
    for _ in range(RATE * 20):                     # the beam on the wall, then its top
        f.step()
        worst_h = max(worst_h, abs(f.nav.height_mm - (f.z - f.datum)))
        worst_v = max(worst_v, abs(f.nav.vz_mm_s - f.vz))
    assert f.nav.slopes >= 1                        # measured: 2 bins, 6 steep in all
    assert worst_h < 10000 and worst_v < 500        # measured: 7.6 m, 0.36 m/s


def test_range_noise_at_the_spec_never_makes_a_slope_under_the_forward_beam():
    # a plain under the beam 45 deg ahead, 60 s from 3 km, the range noise at
    # the part's spec (0.3 m + 0.2 % of the range, deterministic, uniform of
    # the same sigma): no trend the inertial state cannot explain
    f = SlantFlight([0, 60000000], [0, 0], 3000000, -20000, 60000, beam_bau=8192)

    def noise(k):
        r = f.nav.raw_range_mm or 4000000
        half = int(1.732 * (300 + r // 500))        # uniform +/-half: sigma = the spec
        return (k * 7919) % (2 * half + 1) - half

    f.noise = noise
    f.step(RATE * 60)
    assert f.nav.slopes == 0 and f.nav.steep_bins == 0


# --- steep ground and shadows (museum 01: the crater's unseen near wall) -------

def _bin_of(x_mm):
    return (x_mm - E.MAP_X0_MM) >> E.MAP_SHIFT


def test_a_beam_sweeping_down_a_wall_makes_steep_bins_and_leaves_the_datum_height():
    # A 9:1 wall (3150 m over 350 m, the crater's) crossed at 50 m/s under a
    # nadir beam: 18 m of terrain per sample (25 Hz). The implied terrain moves
    # one way sample after sample: from the N_SWEEP-th sample on the wall
    # (12 m in) every bin the wall crosses is steep, its level the last sample's;
    # none corrects the vehicle's height, which stays the inertial one.
    xs, zs = [0, 1000000, 1350000, 30000000], [0, 0, -3150000, -3150000]
    f = SlantFlight(xs, zs, 4000000, 0, 50000)
    worst_h = 0
    for _ in range(RATE * 30):                        # to x = 1500 m
        f.step()
        worst_h = max(worst_h, abs(f.nav.height_mm - (f.z - f.datum)))
        assert not f.diverged()
    steep = [i for i in range(E.MAP_N) if f.nav._steep[i]]
    assert steep == list(range(_bin_of(1012000), _bin_of(1350000) + 1)) == [47, 48, 49, 50, 51, 52]
    assert f.nav.steep_bins == 6
    # bin 47's last sample: the wall at its far end (1,048,576 mm: 9 x 48.6 m down)
    assert abs(f.nav._map[47] + 9 * (1048576 - 1000000)) < 30000
    assert worst_h < 3000
    assert f.nav.terrain_steps == 0 and f.nav.alt_offset_mm == 0 and f.nav.shadows == 0


def test_range_noise_alone_never_makes_a_steep_bin():
    # +/-15 m pseudo-random range noise (within the 20 m tolerance) over a plain
    # for 60 s under a nadir beam: no run of moves one way adds up to a sweep
    f = SlantFlight([0, 60000000], [0, 0], 3000000, -20000, 40000,
                    noise=lambda k: (k * 7919) % 30001 - 15000)
    f.step(RATE * 60)
    assert f.nav.steep_bins == 0


def test_the_beam_jumping_from_an_edge_to_ground_3_km_lower_is_a_shadow_behind_the_edge():
    # The beam 45 deg ahead (1500 m up, 50 m/s) reaches the plain's edge at
    # 2000 m when the vehicle is at 500 m; from 502 m its ray passes over the
    # 9:1 wall and hits the floor at 502 + 1500 + 3000 = 5002 m. Next sample at
    # the floor's level too: a shadow, its edge the near end of the last bin
    # seen on the plain (bin 62: 62 x 65,536 - 2,097,152 = 1,966,080 mm).
    xs, zs = [0, 2000000, 2350000, 20000000], [0, 0, -3000000, -3000000]
    f = SlantFlight(xs, zs, 1500000, 0, 50000, beam_bau=8192)
    f.step(502)
    assert f.nav.shadows == 0 and f.nav.shadow_dir == 0     # one sample: a candidate
    f.step(2)
    assert f.nav.shadows == 1 and f.nav.shadow_dir == 1
    assert f.nav._sh[E.SH_BN] == _bin_of(2000000) == 62
    assert f.nav._sh[E.SH_B1] == _bin_of(5002000) == 108
    assert f.nav._sh[E.SH_EDGE] == 1966080
    assert f.nav.shadow_mm == 1966080 - f.nav.x_mm == 1966080 - 504000


def test_a_lone_wild_range_far_ahead_is_no_shadow():
    # one range 3 km too long: its hit lands 2.1 km beyond the seen ground,
    # 2.1 km "lower"; the next sample is back on the plain: no shadow
    f = SlantFlight([0, 60000000], [0, 0], 1500000, 0, 50000, beam_bau=8192)
    f.step(200)
    f.noise = lambda k: 3000000 if k == 202 else 0
    f.step(20)
    assert f.nav.shadows == 0 and f.nav.shadow_dir == 0


def _turn_down(k):
    # the beam (mounted 45 deg ahead) turned to the nadir over 2 s from x = 1600 m
    return math.pi / 8 if 1600 < k <= 1700 else 0.0


def test_a_shadow_crossed_with_the_beam_down_ends_over_the_far_level():
    # The shadow above, crossed with the beam turned straight down: the wall is
    # mapped as steep ground under the vehicle (never diverged), and the shadow
    # ends where the ground measured under the vehicle is within the drop
    # threshold of the floor (max(50 m, 4.5 km / 32) = 140 m: 140 / 9 = 15.6 m
    # before the wall's foot at 2350 m), not before.
    xs, zs = [0, 2000000, 2350000, 20000000], [0, 0, -3000000, -3000000]
    f = SlantFlight(xs, zs, 1500000, 0, 50000, beam_bau=8192, pitch_rate=_turn_down)
    end_x = None
    for _ in range(RATE * 60):                        # to x = 3000 m
        f.step()
        assert not f.diverged()
        if end_x is None and f.nav.shadows == 1 and f.nav.shadow_dir == 0:
            end_x = f.x
    assert f.nav.shadows == 1
    assert 2334400 <= end_x <= 2352000
    assert f.nav.steep_bins == 6


def test_a_restore_over_the_wall_keeps_the_shadow_and_the_steep_bins():
    # The flight above, checkpointed over the wall (x = 2300 m: the shadow
    # known, bins 62-67 steep) and restored on another Nav fed the same
    # samples: the same shadow (guidance keeps the beam down), the same steep
    # bins, the same next estimates (the map's levels to its 32 mm units), and
    # the shadow ends where the uninterrupted run's does
    xs, zs = [0, 2000000, 2350000, 20000000], [0, 0, -3000000, -3000000]
    f = SlantFlight(xs, zs, 1500000, 0, 50000, beam_bau=8192, pitch_rate=_turn_down)
    f.step(2300)
    words = array("i", bytes(4 * E.CHECKPOINT_WORDS))
    f.nav.checkpoint_into(words, 0)
    nav, nav2 = f.nav, E.Nav(Config(altimeter_beam_bau=8192))
    nav2.restore_from(words, 0)
    assert nav.shadow_dir == nav2.shadow_dir == 1
    assert nav2.shadow_mm == nav.shadow_mm == 1966080 - nav.x_mm      # the edge: bin 62's near end
    assert [i for i in range(E.MAP_N) if nav2._steep[i]] == [62, 63, 64, 65, 66, 67]
    upd = nav.update

    def both(*a):
        upd(*a)
        nav2.update(*a)

    nav.update = both
    ends = [None, None]
    for k in range(RATE * 14):                        # to x = 3000 m
        f.step()
        if k < 2:
            for name in ("vz_mm_s", "vx_mm_s", "shadow_mm"):
                assert getattr(nav2, name) == getattr(nav, name), name
            for name in ("altitude_mm", "height_mm", "terrain_mm"):
                assert abs(getattr(nav2, name) - getattr(nav, name)) <= 16, name
        for i, n in enumerate((nav, nav2)):
            if ends[i] is None and n.shadow_dir == 0:
                ends[i] = f.x
    assert ends[0] == ends[1] is not None


def _restored_flight(f, k_restore, k_end):
    """Fly f to k_restore, checkpoint, restore on a second Nav fed the same
    samples to k_end; the worst altitude error of each and their last errors."""
    f.step(k_restore)
    words = array("i", bytes(4 * E.CHECKPOINT_WORDS))
    f.nav.checkpoint_into(words, 0)
    nav, nav2 = f.nav, E.Nav(Config(altimeter_beam_bau=f.nav.cfg.altimeter_beam_bau))
    nav2.restore_from(words, 0)
    upd = nav.update

    def both(*a):
        upd(*a)
        nav2.update(*a)

    nav.update = both
    worst = [0, 0]
    for _ in range(k_end - k_restore):
        f.step()
        for i, n in enumerate((nav, nav2)):
            worst[i] = max(worst[i], abs(n.altitude_mm - f.true_alt()))
    return worst, [nav.altitude_mm - f.true_alt(), nav2.altitude_mm - f.true_alt()]


@pytest.mark.parametrize("k", [2100, 2200])
def test_a_restore_over_the_crater_wall_lands_on_the_floor_s_level(k):
    # The turn-down flight restored over the wall (x = 2100 / 2200 m, the
    # beam straight down on it): without the map the restored navigation met
    # the rest of the wall as new ground and rejected outliers, took the
    # floor 140 m high and ended 135 m off (264-608 m off on the way). With
    # the map window (CK_MAP bins around the vehicle, the sweep's state) it
    # flies as the uninterrupted one does, to x = 4000 m over the floor.
    xs, zs = [0, 2000000, 2350000, 20000000], [0, 0, -3000000, -3000000]
    f = SlantFlight(xs, zs, 1500000, 0, 50000, beam_bau=8192, pitch_rate=_turn_down)
    worst, last = _restored_flight(f, k, 4000)
    assert worst[0] < 10000                           # measured: 8.9 m
    assert abs(worst[1] - worst[0]) <= 100
    assert abs(last[1]) < 1000


def test_a_restore_over_the_rim_keeps_the_far_floor_behind_the_shadow():
    # The rim flight (a nadir-mounted beam 45 deg ahead after the pitch-over),
    # restored over the rim at x = 1680 m, 4.4 km ahead of where the beam
    # sees the floor: the floor bins beyond the map window are lost, the
    # shadow's far level is kept as seen ground. Crossing the unseen wall the
    # restored navigation takes the floor's level as the uninterrupted one
    # does (it stayed on the rim's, 3,148 m off at x = 3000 m).
    f = SlantFlight(RIM_XS, RIM_ZS, 4400000, -40000, 60000, pitch_rate=_pitch_over)
    worst, last = _restored_flight(f, 1400, 2500)
    assert abs(last[0]) < 2000 and abs(last[1]) < 2000      # measured: 1.0 m each
    assert abs(worst[1] - worst[0]) <= 1000


def test_a_run_of_noisy_ranges_rising_5_sigma_is_no_sweep():
    # museum 04 seed 21 (5 % range noise at 7.6 km): after a -2.9 sigma range,
    # six more each a little higher, 1.63 km (5.1 sigma of the 318 m noise the
    # innovations show) from the first: a sweep's shape, noise's size. Made the
    # bin under the vehicle steep (its level each sample's: +/-800 m), the next
    # bins level with that: the flight crashed. A sweep must rise by
    # _SWEEP_SIGMAS (6) sigmas of the noise, beyond the 4-sigma tolerance.
    import random
    rnd = random.Random(21)
    run = [-928000, -376000, 63000, 107000, 134000, 267000, 704000]
    state = {"i": None}

    def noise(k):
        i = state["i"]
        if i is not None and i < len(run):
            state["i"] = i + 1
            return run[i]
        return int(rnd.gauss(0.0, 380000.0))    # 5 % of the range

    f = SlantFlight([0, 60000000], [0, 0], 7600000, 0, 60000, noise=noise)
    f.step(RATE * 8)                         # the noise estimate comes up to the noise (~318 m)
    assert 300000 < f.nav.alt_sigma_meas_mm < 340000
    assert f.nav.steep_bins == 0
    state["i"] = 0
    f.step(2 * len(run))                     # a range every other cycle
    assert state["i"] == len(run)
    assert f.nav.steep_bins == 0
    assert abs(f.nav.terrain_under_mm) < 1000


def test_a_new_bin_ranged_before_the_noise_is_known_is_level_with_the_plain():
    # museum 04 (5 % range noise: 400 m at 8 km) at handover: the noise
    # estimate starts at 8 times the 15.9 m spec (127 m), a third of the
    # noise. The first two ranges in the bin after the datum's (bin 33, from
    # x = 65.5 m) 700 m and 650 m long: beyond the 4-sigma tolerance of that
    # estimate (~480 m), so they made bin 33 new ground 675 m below the plain,
    # the terrain under the vehicle once it held N_SEEN samples, and every bin
    # after it level with that (museum 04 seeds 3, 10, 11, 25, 26, 35 flew
    # over a plain mapped 50 to 260 m off). Until _YOUNG_N ranges are accepted
    # a new bin is level within 4 x 24 times the spec (1.5 km at 8 km).
    inject = {42: 700000, 44: 650000}
    f = SlantFlight([0, 60000000], [0, 0], 7950000, 0, 80000,
                    noise=lambda k: inject.get(k, dither(k)))
    f.step(60)                               # x = 96 m: over bin 33
    assert _bin_of(f.x) == 33
    assert f.nav._cnt[33] == E.N_MAP and f.nav._map[33] == 0
    assert f.nav.terrain_under_mm == 0
    assert f.nav.alt_mapped == 0
