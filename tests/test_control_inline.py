"""Control's inline forms are the fixed.* values they replace (exact)."""
import pytest

from lander import control as C
from lander import fixed


@pytest.mark.parametrize("a", (0, 1, -1, 3, 1000, -2500, 0x5A81, 0x5A82, -0x5A82, 0x7FFF, -0x7FFF))
@pytest.mark.parametrize("b", (0, 1, 2, 17, 3000, 0x5A81, 0x5A82, 0x7FFF))
def test_hypot_is_fixed_hypot_over_the_geometry_range(a, b):
    assert C._hypot(a, b) == fixed.hypot(a, b)


def test_hypot_of_a_3_4_5_triangle_and_of_zero():
    assert (C._hypot(3000, 4000), C._hypot(0, 0), C._hypot(-0x7FFF, 0x7FFF)) == (5000, 0, 46338)      # (scaled by 2 above 0x5A81: 2 * 23169)
