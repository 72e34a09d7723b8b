# Navigation (walking-skeleton version): altitude, vertical and horizontal
# velocity and pitch from the IMU, corrected by the altimeter's slant range.
# The navigation issue replaces the correction with innovation gating and
# sensor FDIR; the fields below are the contract the other stages read.
from lander import fixed
from lander.compat import const

# Internal state carries 4 fractional bits (x16) so per-cycle integration
# does not lose millimetres: 2^30 / 16 mm = 67 km of range, 67 km/s of speed.
_Q = const(4)
# gyro micro-rad/s -> binary angle * 1024 per second: 65536 / (2 pi 1e6) * 1024
# = 10.6806 ; as Q16: 699978
_GYRO_TO_BAU_Q10 = const(699978)


# Words of nav state in a checkpoint (checkpoint_into / restore_from).
CHECKPOINT_WORDS = const(8)


class Nav:
    # Published fields: the contract guidance, control, telemetry and the
    # executive read (the navigation issue fills them properly).
    def __init__(self, cfg):
        self.cfg = cfg
        self.altitude_mm = 0         # height above the terrain under the vehicle (what is scored)
        self.height_mm = 0           # height above the datum (terrain under the vehicle at handover)
        self.terrain_mm = 0          # terrain height under the beam, above the datum
        self.site_terrain_mm = 0     # best estimate of the site's terrain height above the datum
        self.site_alt_mm = 0         # height above the site's terrain: what guidance flies to
        self.vz_mm_s = 0
        self.vx_mm_s = 0
        self.x_mm = 0                # downrange of the powered-descent start (cfg.site_x_mm frame)
        self.pitch_bau = 0
        self.accel_thrust_mm_s2 = 0  # measured specific force along the thrust axis (IMU)
        self.alt_sigma_mm = 0        # 1-sigma uncertainties
        self.vz_sigma_mm_s = 0
        self.vx_sigma_mm_s = 0
        self.raw_range_mm = 0        # last altimeter slant range as read
        self.alt_innov_mm = 0        # last altimeter innovation (measured - predicted height)
        self.alt_gate = 0            # last gate decision code (0 = accepted)
        self.alt_rejects = 0
        self.fault_flags = 0         # bit per sensor judged failed
        self.alt_age_ms = 0          # time since the last altimeter update
        self.alt_updates = 0
        self.initialised = False
        self._alt_q = 0
        self._vz_q = 0
        self._vx_q = 0
        self._x_q = 0
        self._pitch_q10 = 0

    def init_from(self, altitude_mm, vz_mm_s, vx_mm_s, pitch_bau):
        self._alt_q = altitude_mm << _Q
        self._vz_q = vz_mm_s << _Q
        self._vx_q = vx_mm_s << _Q
        self._pitch_q10 = pitch_bau << 10
        self.initialised = True
        self._publish()

    def propagate(self, dt_q20, force_z_mm_s2, force_x_mm_s2, gyro_y_urad_s):
        """Integrate the IMU over dt (seconds in Q20)."""
        self.accel_thrust_mm_s2 = force_z_mm_s2
        rate_q10 = fixed.mul_shift(gyro_y_urad_s, _GYRO_TO_BAU_Q10, 16)
        self._pitch_q10 = fixed.add_sat(self._pitch_q10, fixed.mul_shift(rate_q10, dt_q20, 20))
        pitch = self._pitch_q10 >> 10
        c = fixed.cos_q15(pitch)
        s = fixed.sin_q15(pitch)
        # body (x forward, z thrust axis) -> world (x downrange, z up)
        az = fixed.mul_shift(force_z_mm_s2, c, 15) - fixed.mul_shift(force_x_mm_s2, s, 15) \
            - self.cfg.gravity_mm_s2
        ax = fixed.mul_shift(force_z_mm_s2, s, 15) + fixed.mul_shift(force_x_mm_s2, c, 15)
        self._vz_q = fixed.add_sat(self._vz_q, fixed.mul_shift(az, dt_q20, 20 - _Q))
        self._vx_q = fixed.add_sat(self._vx_q, fixed.mul_shift(ax, dt_q20, 20 - _Q))
        self._alt_q = fixed.add_sat(self._alt_q, fixed.mul_shift(self._vz_q, dt_q20, 20))
        self._x_q = fixed.add_sat(self._x_q, fixed.mul_shift(self._vx_q, dt_q20, 20))
        self.alt_age_ms = fixed.add_sat(self.alt_age_ms, dt_q20 >> 10)   # ~ms
        self._publish()

    def correct_altitude(self, slant_range_mm):
        """Complementary correction from the altimeter (slant range -> height)."""
        self.raw_range_mm = slant_range_mm
        c = fixed.cos_q15(self.pitch_bau + self.cfg.altimeter_beam_bau)
        measured_q = fixed.mul_shift(slant_range_mm, c, 15 - _Q)
        innovation = fixed.sub_sat(measured_q, self._alt_q)
        self.alt_innov_mm = innovation >> _Q
        if not self.initialised:
            self._alt_q = measured_q
            self.initialised = True
        else:
            self._alt_q = fixed.add_sat(self._alt_q, innovation >> 3)
            self._vz_q = fixed.add_sat(self._vz_q, innovation >> 5)
        self.alt_age_ms = 0
        self.alt_updates += 1
        self._publish()

    def checkpoint_into(self, words, offset):
        """Write the state a warm restart needs into words[offset:offset+CHECKPOINT_WORDS]."""
        words[offset] = self._alt_q
        words[offset + 1] = self._vz_q
        words[offset + 2] = self._vx_q
        words[offset + 3] = self._x_q
        words[offset + 4] = self._pitch_q10
        words[offset + 5] = self.terrain_mm
        words[offset + 6] = self.site_terrain_mm
        words[offset + 7] = self.fault_flags

    def restore_from(self, words, offset):
        self._alt_q = words[offset]
        self._vz_q = words[offset + 1]
        self._vx_q = words[offset + 2]
        self._x_q = words[offset + 3]
        self._pitch_q10 = words[offset + 4]
        self.terrain_mm = words[offset + 5]
        self.site_terrain_mm = words[offset + 6]
        self.fault_flags = words[offset + 7]
        self.initialised = True
        self._publish()

    def _publish(self):
        self.altitude_mm = self._alt_q >> _Q
        self.height_mm = self.altitude_mm + self.terrain_mm
        self.site_alt_mm = self.height_mm - self.site_terrain_mm
        self.vz_mm_s = self._vz_q >> _Q
        self.vx_mm_s = self._vx_q >> _Q
        self.x_mm = self._x_q >> _Q
        self.pitch_bau = self._pitch_q10 >> 10
