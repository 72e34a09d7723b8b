"""Control's slow terms (`_slow`): the available acceleration's clamps at
their reachable edges, values pinned (the configuration's extremes: a 1 kg
vehicle, a 1 N engine, a 1,000 kg one)."""
from lander.config import Config
from lander.control import Control


def test_the_nominal_acceleration_clamps_at_32767_from_32768():
    # 33,555 mN on 1,024 g: floor(33555 x 1024 / 1024) = 33555,
    # 33555 x 1000 >> 10 = 32768 (32.77 m/s^2): clamped to 32767
    c = Control(Config(dry_mass_g=1024, propellant_g=0, max_thrust_mn=33555))
    assert c._afull_nom == 32767


def test_the_available_acceleration_clamps_at_32767_from_32768():
    # nominal 32767 at a thrust ratio of 32770 / 32768:
    # (32770 >> 15) x 32767 + ((2 x 32767) >> 15) = 32767 + 1 = 32768: clamped
    c = Control(Config(dry_mass_g=1024, propellant_g=0, max_thrust_mn=33555))
    c.thrust_ratio_q15 = 32770
    c._slow(5)                                    # no window (_n = 0): the ratio kept
    assert (c.thrust_ratio_q15, c.a_full_mm_s2) == (32770, 32767)


def test_the_available_acceleration_floors_at_256_at_the_lowest_thrust_ratio():
    # 1 N on 1,000 kg: nominal 0 -> 256 mm/s^2; x 9830 / 32768 (ratio 0.3)
    # = 76: floored at 256 again, 2^29 // 256 = 2,097,152
    c = Control(Config(dry_mass_g=1_000_000, propellant_g=0, max_thrust_mn=1000))
    c.thrust_ratio_q15 = 9830
    c._slow(5)
    assert (c._afull_nom, c.a_full_mm_s2, c._inv_afull) == (256, 256, 2_097_152)
