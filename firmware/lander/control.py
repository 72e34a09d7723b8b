# Control: turn world-frame acceleration commands into a throttle (fraction of
# max thrust, Q15) and a pitch (binary angle), within the engine's limits, with
# a propellant-aware mass estimate.
from lander import fixed
from lander.compat import const
from lander.units import THROTTLE_FULL

_MASS_Q = const(10)   # mass in kg * 1024 so that thrust_mN = m * a >> 10


class Control:
    def __init__(self, cfg):
        self.cfg = cfg
        self.mass_mg = (cfg.dry_mass_g + cfg.propellant_g) * 1000 if (cfg.dry_mass_g + cfg.propellant_g) < 1000000 else 0x3FFFFFFF
        self.dry_mass_mg = cfg.dry_mass_g * 1000 if cfg.dry_mass_g < 1000000 else 0x3FFFFFFF
        self.throttle_q15 = 0
        self.pitch_cmd_bau = 0
        self.thrust_cmd_mn = 0
        self.saturated = 0
        period_us = 1000000 // cfg.rate_hz
        # propellant flow per cycle: dm_mg = T_mN * dt_s / (Isp * g0) ; in Q24
        self._flow_q24 = fixed.div_shift(period_us, cfg.isp_s * 9807, 24)

    def update(self, guid):
        cfg = self.cfg
        az = guid.accel_z_cmd_mm_s2
        ax = guid.accel_x_cmd_mm_s2
        if az <= 0 and ax == 0:
            self.throttle_q15 = 0
            self.thrust_cmd_mn = 0
            return
        if az < 1:
            az = 1
        pitch = fixed.atan2(ax, az)
        if pitch > cfg.max_pitch_bau:
            pitch = cfg.max_pitch_bau
        elif pitch < -cfg.max_pitch_bau:
            pitch = -cfg.max_pitch_bau
        # thrust needed for the vertical command at this pitch
        c = fixed.cos_q15(pitch)
        accel = fixed.div_shift(az, c, 15)
        mass_q = fixed.mul_shift(self.mass_mg, 1074, 20)   # mg -> kg*1024 (1024/1e6 ~ 1074/2^20)
        thrust = fixed.mul_shift(mass_q, accel, _MASS_Q)
        throttle = fixed.div_shift(thrust, cfg.max_thrust_mn, 15)
        if throttle > THROTTLE_FULL:
            throttle = THROTTLE_FULL
            self.saturated += 1
        elif throttle < cfg.min_throttle_q15:
            throttle = cfg.min_throttle_q15
        self.throttle_q15 = throttle
        self.pitch_cmd_bau = pitch
        self.thrust_cmd_mn = fixed.mul_shift(cfg.max_thrust_mn, throttle, 15)
        used = fixed.mul_shift(self.thrust_cmd_mn, self._flow_q24, 24)
        self.mass_mg = self.mass_mg - used if self.mass_mg - used > self.dry_mass_mg else self.dry_mass_mg

    def cut(self):
        self.throttle_q15 = 0
        self.thrust_cmd_mn = 0
