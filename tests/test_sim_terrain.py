"""Terrain features and the altimeter ray cast against analytic cases."""
import math

import pytest

from host_tools.sim.terrain import Terrain


def _dir(angle_from_down_deg):
    a = math.radians(angle_from_down_deg)
    return math.sin(a), -math.cos(a)


def test_vertical_ray_over_flat_ground_is_the_height():
    t = Terrain([{"kind": "flat"}], base_m=100.0)
    assert t.raycast(5.0, 600.0, 0.0, -1.0, 10000.0) == pytest.approx(500.0)


@pytest.mark.parametrize("angle", [10.0, -25.0, 45.0])
def test_slanted_ray_over_flat_ground_is_h_over_cos(angle):
    t = Terrain([{"kind": "flat"}])
    dx, dz = _dir(angle)
    assert t.raycast(0.0, 1000.0, dx, dz, 1e5) == pytest.approx(1000.0 / math.cos(math.radians(angle)))


def test_ray_over_a_slope_meets_the_plane():
    # ground z = tan(10 deg) * x for x >= 0; vertical ray at x = 300
    t = Terrain([{"kind": "slope", "angle_deg": 10.0, "x0_m": 0.0, "x1_m": None}])
    g = math.tan(math.radians(10.0))
    assert t.height(300.0) == pytest.approx(300.0 * g)
    assert t.raycast(300.0, 500.0, 0.0, -1.0, 1e4) == pytest.approx(500.0 - 300.0 * g)
    # slanted ray 20 deg forward (uphill): z0 - s cos a = g (x0 + s sin a)
    a = math.radians(20.0)
    s = (500.0 - g * 300.0) / (math.cos(a) + g * math.sin(a))
    assert t.raycast(300.0, 500.0, math.sin(a), -math.cos(a), 1e4) == pytest.approx(s)


def test_ray_hits_the_face_of_a_step():
    # a 100 m cliff at x = 50; from (0, 80) looking 45 deg forward-down the ray
    # reaches x = 50 at z = 30, below the cliff top: it hits the cliff face
    t = Terrain([{"kind": "step", "x_m": 50.0, "height_m": 100.0, "width_m": 0.0}])
    dx, dz = _dir(45.0)
    r = t.raycast(0.0, 80.0, dx, dz, 1e4)
    assert r == pytest.approx(50.0 * math.sqrt(2.0), abs=0.01)


def test_vertical_ray_sees_the_step_height_change():
    t = Terrain([{"kind": "step", "x_m": 1000.0, "height_m": -3000.0, "width_m": 0.0}])
    assert t.raycast(999.0, 4000.0, 0.0, -1.0, 1e4) == pytest.approx(4000.0)
    assert t.raycast(1001.0, 4000.0, 0.0, -1.0, 1e4) == pytest.approx(7000.0)


def test_ray_beyond_max_range_returns_none():
    t = Terrain([{"kind": "flat"}])
    assert t.raycast(0.0, 1000.0, 0.0, -1.0, 999.0) is None
    dx, dz = _dir(60.0)
    assert t.raycast(0.0, 1000.0, dx, dz, 1500.0) is None


def test_ray_pointing_up_returns_none():
    t = Terrain([{"kind": "flat"}])
    assert t.raycast(0.0, 10.0, 0.0, 1.0, 1e4) is None


def test_origin_on_the_ground_gives_zero_range():
    t = Terrain([{"kind": "flat"}])
    assert t.raycast(0.0, 0.0, 0.0, -1.0, 100.0) == 0.0


def test_crater_has_floor_wall_and_raised_rim():
    f = {"kind": "crater", "x_m": 0.0, "radius_m": 4000.0, "depth_m": 3000.0,
         "rim_height_m": 150.0, "rim_width_m": 600.0, "wall_width_m": 350.0}
    t = Terrain([f])
    assert t.height(0.0) == pytest.approx(-3000.0)
    assert t.height(-3600.0) == pytest.approx(-3000.0)
    assert t.height(4000.0) == pytest.approx(150.0)
    assert 0.0 < t.height(4300.0) < 150.0
    assert t.height(20000.0) == pytest.approx(0.0)
    # the ~3 km drop happens within the wall width
    assert t.height(-4000.0) - t.height(-3650.0) == pytest.approx(3150.0)


def test_boulder_field_is_seeded_and_local():
    f = {"kind": "boulders", "x0_m": 0.0, "x1_m": 100.0, "count": 30, "max_height_m": 2.0,
         "max_width_m": 4.0, "seed": None}
    a = Terrain([f], seed=5)
    b = Terrain([f], seed=5)
    c = Terrain([f], seed=6)
    xs = [i * 0.5 for i in range(200)]
    ha = [a.height(x) for x in xs]
    assert ha == [b.height(x) for x in xs]
    assert ha != [c.height(x) for x in xs]
    assert max(ha) > 0.2
    assert a.height(-50.0) == 0.0 and a.height(160.0) == 0.0


def test_slope_between_feet():
    t = Terrain([{"kind": "slope", "angle_deg": 12.0, "x0_m": -100.0, "x1_m": 100.0}])
    assert t.slope_deg(-1.5, 1.5) == pytest.approx(12.0)


def test_scalar_and_vector_heights_agree():
    f = {"kind": "boulders", "x0_m": 0.0, "x1_m": 50.0, "count": 10, "max_height_m": 1.0,
         "max_width_m": 3.0, "seed": 3}
    t = Terrain([f, {"kind": "step", "x_m": 20.0, "height_m": 5.0, "width_m": 2.0}])
    xs = [i * 0.37 for i in range(150)]
    assert list(t.heights(xs)) == pytest.approx([t.height(x) for x in xs])


def test_python_and_numpy_ray_paths_agree():
    # many breakpoints (numpy path) vs a short ray (Python path) over the same boulders
    f = {"kind": "boulders", "x0_m": 0.0, "x1_m": 400.0, "count": 60, "max_height_m": 3.0,
         "max_width_m": 5.0, "seed": 9}
    t = Terrain([f])
    hits = 0
    for x0 in (10.0, 100.0, 250.0, 333.0):
        for ang in (30.0, -40.0, 70.0, 0.0):
            dx, dz = _dir(ang)
            long_r = t.raycast(x0, 6.0, dx, dz, 400.0)    # hundreds of breakpoints
            short_r = t.raycast(x0, 6.0, dx, dz, 12.0)    # a handful
            if long_r is not None and long_r <= 12.0:
                hits += 1
                assert short_r == pytest.approx(long_r, abs=1e-9)
            else:
                assert short_r is None
    assert hits >= 8
