"""Control's saturation of a new command (Control._geometry): above the
available acceleration the vertical component is kept and the pitch tilts
only as far as the rest of the thrust allows, on the side the command asked
for. The nominal vehicle at start-up: 7,142 mm/s^2 available, 40 deg (7,282
bau) attitude limit."""
from lander import fixed
from lander.config import Config
from lander.control import Control
from lander.guidance import Guidance
from tests.app_fakes import set_guidance_command


def _guid(ax, az, lim):
    g = Guidance(Config())
    set_guidance_command(g, ax, az, lim)
    return g


def test_saturated_command_tilts_to_the_angle_the_spare_thrust_allows_on_the_commanded_side():
    # 45 deg commanded, limited to 40 deg: |a| = 6000 / cos 40 = 7,832 > 7,142;
    # the vertical 6,000 kept, the pitch is atan2(sqrt(892^2 - 750^2), 750)
    # in (8 mm/s^2) units: about 32.8 deg
    spare = fixed.atan2(fixed.isqrt(892 * 892 - 750 * 750), 750)
    assert 5900 < spare < 6050 and spare < 7282
    for ax, sign in ((6000, 1), (-6000, -1)):
        c = Control(Config())
        c._geometry(_guid(ax, 6000, 7282))
        assert (c.pitch_ref_bau, c._mag_geo, c._az_geo) == (sign * spare, 7142, 6000)


def test_below_the_engine_floor_it_burns_at_the_floor_from_seven_eighths_of_it():
    # min throttle 6,554 (0.2): the floor from 6,554 - 6,554 / 8 = 5,735 wanted.
    # A vertical 1,250 mm/s^2 of 7,142 available is 5,735 in Q15 (1,249: 5,730);
    # the modelled throttle 9,000 above it puts the lead term's sum below the floor
    for az, throttle in ((1250, 6554), (1249, 0)):
        c = Control(Config())
        assert fixed.hypot(0, az) == az
        c.thrust_model_q15 = 9000
        c.update(_guid(0, az, 7282))
        assert c.throttle_q15 == throttle, az
