"""Control's burn of the modelled throttle summed over a re-plan window
(Control._burn through cut()), at its smallest: one unit (2^-15 of full
thrust for one cycle). In the fw-gnc mutation group (docs/mutation.md)."""
from lander.config import Config
from lander.control import Control


def test_a_window_summing_one_unit_of_throttle_burns_its_propellant():
    # 100 kN (the configured maximum) at 10 Hz, Isp 50 s (the minimum): one
    # unit is 1e5 N * 0.1 s / 2^15 / (50 s * 9.807 m/s^2) = 622.36 mg; the
    # firmware floors the impulse to 3,051 mN cycles and the flow to Q24: 622 mg
    c = Control(Config(max_thrust_mn=100_000_000, rate_hz=10, isp_s=50))
    m0 = c.mass_mg
    c._ysum = 1
    c.cut()
    assert m0 - c.mass_mg == 622
    assert abs((m0 - c.mass_mg) - 1e5 * 0.1 / 32768 / (50 * 9.807) * 1e6) < 1
    assert c._ysum == 0


def test_a_window_with_no_throttle_burns_nothing():
    c = Control(Config(max_thrust_mn=100_000_000, rate_hz=10, isp_s=50))
    m0 = c.mass_mg
    for ys in (0, -5):
        c._ysum = ys
        c.cut()
        assert c.mass_mg == m0


def test_a_window_with_a_partial_unit_limb_burns_the_exact_floor():
    # the nominal vehicle (3 kN, 50 Hz, Isp 315 s): flow 20 ms / (315 x
    # 9807 mm/s) in Q24 = 108,618; a window of 3 x 32767 throttle units
    # (the low limb 32765, not a multiple of 2^15): impulse floor(3e6 x
    # 98301 / 32768) = 8,999,725 mN cycles, burnt floor(8999725 x 108618 /
    # 2^24) = 58,265 mg
    c = Control(Config())
    assert c._flow_eff_q24 == 108_618
    m0 = c.mass_mg
    c._ysum = 98_301
    c.cut()
    assert m0 - c.mass_mg == 58_265
