"""Control's saturation of a new command (Control._geometry): above the
available acceleration the vertical component is kept and the pitch tilts
only as far as the rest of the thrust allows, on the side the command asked
for. The nominal vehicle at start-up: 7,142 mm/s^2 available, 40 deg (7,282
bau) attitude limit."""
from lander import fixed
from lander.config import Config
from lander.control import Control


class _Guid:
    def __init__(self, ax, az, lim, keep_horizontal=False):
        self.accel_x_cmd_mm_s2 = ax
        self.accel_z_cmd_mm_s2 = az
        self.pitch_limit_bau = lim
        self.keep_horizontal = keep_horizontal
        self.cmd_seq = 1


def test_saturated_command_tilts_to_the_angle_the_spare_thrust_allows_on_the_commanded_side():
    # 45 deg commanded, limited to 40 deg: |a| = 6000 / cos 40 = 7,832 > 7,142;
    # the vertical 6,000 kept, the pitch is atan2(sqrt(892^2 - 750^2), 750)
    # in (8 mm/s^2) units: about 32.8 deg
    spare = fixed.atan2(fixed.isqrt(892 * 892 - 750 * 750), 750)
    assert 5900 < spare < 6050 and spare < 7282
    for ax, sign in ((6000, 1), (-6000, -1)):
        c = Control(Config())
        c._geometry(_Guid(ax, 6000, 7282))
        assert (c.pitch_ref_bau, c._mag_geo, c._az_geo) == (sign * spare, 7142, 6000)
