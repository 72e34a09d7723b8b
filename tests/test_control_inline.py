"""Control's inline forms are the fixed.* values they replace (exact)."""
import pytest

from lander import control as C
from lander import fixed


@pytest.mark.parametrize("a", (0, 1, -1, 3, 1000, -2500, 0x5A81, 0x5A82, -0x5A82, 0x7FFF, -0x7FFF))
@pytest.mark.parametrize("b", (0, 1, 2, 17, 3000, 0x5A81, 0x5A82, 0x7FFF, -1, -4000, -0x5A82, -0x7FFF))
def test_hypot_newton_is_the_digit_isqrt_over_the_geometry_range(a, b):
    # fixed.hypot's Newton iteration gives fixed.isqrt's exact floor (one
    # halving of both above 0x5A81, as hypot scales)
    k = 1 if abs(a) >= 0x5A82 or abs(b) >= 0x5A82 else 0
    sa, sb = abs(a) >> k, abs(b) >> k
    assert fixed.hypot(a, b) == fixed.isqrt(sa * sa + sb * sb) << k


def test_hypot_of_a_3_4_5_triangle_and_of_zero():
    assert (fixed.hypot(3000, 4000), fixed.hypot(0, 0), fixed.hypot(-0x7FFF, 0x7FFF)) == (5000, 0, 46338)      # (scaled by 2 above 0x5A81: 2 * 23169)


def test_available_acceleration_of_a_vehicle_under_1024_g_takes_the_fixed_path():
    # a 1,023 g vehicle (dry mass 1,023 g, no propellant: the configuration
    # allows from 1 kg) is below the inline division's 1,024 g: fixed.div_shift
    # then fixed.mul_shift, floor(floor(3000 x 1024 / 1023) x 1000 / 1024)
    # = floor(3002 x 1000 / 1024) = 2931 mm/s^2 (3 N on 1.023 kg: 2.93 m/s^2)
    from lander.config import Config
    c = C.Control(Config(dry_mass_g=1023, propellant_g=0, max_thrust_mn=3000))
    assert (c.mass_mg, c._afull_nom, c.a_full_mm_s2) == (1_023_000, 2931, 2931)


def test_available_acceleration_of_a_1024_g_vehicle_takes_the_inline_division():
    # the first mass on the inline path: floor(floor(3000 x 1024 / 1024) x 1000 / 1024)
    # = floor(3000 x 1000 / 1024) = 2929 mm/s^2
    from lander.config import Config
    c = C.Control(Config(dry_mass_g=1024, propellant_g=0, max_thrust_mn=3000))
    assert (c._afull_nom, c.a_full_mm_s2) == (2929, 2929)
