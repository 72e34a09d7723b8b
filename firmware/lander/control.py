# Control: turn world-frame acceleration commands into a throttle (fraction of
# max thrust, Q15) and a pitch (binary angle), within the engine's limits, with
# a propellant-aware mass estimate.
from lander import fixed
from lander.compat import const
from lander.units import THROTTLE_FULL

# Words of control state in a checkpoint (checkpoint_into / restore_from).
CHECKPOINT_WORDS = const(3)

_MASS_Q = const(10)   # mass in kg * 1024 so that thrust_mN = m * a >> 10
_MG_PER_G = const(1000)
_MAX_MG = const(0x3FFFFFFF)   # 1073 kg: the range of a milligram int


def _mg(grams):
    return grams * _MG_PER_G if grams < _MAX_MG // _MG_PER_G else _MAX_MG


class Control:
    def __init__(self, cfg):
        self.cfg = cfg
        self.mass_mg = _mg(cfg.dry_mass_g + cfg.propellant_g)
        self.dry_mass_mg = _mg(cfg.dry_mass_g)
        self.mass_kg_q10 = 0          # mass in kg * 1024, kept with mass_mg
        self._update_mass_q()
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
        thrust = fixed.mul_shift(self.mass_kg_q10, accel, _MASS_Q)
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
        self._update_mass_q()

    def _update_mass_q(self):
        # mg -> kg * 1024: 1024 / 1e6 ~ 1074 / 2^20
        self.mass_kg_q10 = fixed.mul_shift(self.mass_mg, 1074, 20)

    def cut(self):
        self.throttle_q15 = 0
        self.thrust_cmd_mn = 0

    def checkpoint_into(self, words, offset):
        words[offset] = self.mass_mg
        words[offset + 1] = self.throttle_q15
        words[offset + 2] = self.pitch_cmd_bau

    def restore_from(self, words, offset):
        self.mass_mg = words[offset]
        self.throttle_q15 = words[offset + 1]
        self.pitch_cmd_bau = words[offset + 2]
        self.thrust_cmd_mn = fixed.mul_shift(self.cfg.max_thrust_mn, self.throttle_q15, 15)
        self._update_mass_q()
