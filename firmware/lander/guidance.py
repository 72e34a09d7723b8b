# Guidance (walking-skeleton version): a velocity profile that slows the
# descent in proportion to height, then a constant-speed vertical terminal
# descent, and horizontal-velocity nulling. The guidance issue replaces the
# law (targeting the site, propellant-aware); phases and fields stay.
from lander import fixed
from lander.compat import const
from lander.events import events

PH_COAST = const(0)
PH_DESCENT = const(1)
PH_TERMINAL = const(2)
PH_LANDED = const(3)

EV_PHASE = const(0x0301)     # arg = new phase

# Words of guidance state in a checkpoint (checkpoint_into / restore_from).
CHECKPOINT_WORDS = const(4)


class Guidance:
    def __init__(self, cfg):
        self.cfg = cfg
        self.phase = PH_DESCENT
        self.vz_ref_mm_s = 0
        self.accel_z_cmd_mm_s2 = 0   # world-frame acceleration commands
        self.accel_x_cmd_mm_s2 = 0
        self.site_x_mm = cfg.site_x_mm   # where it flies to (a divert command moves it)
        self.propellant_margin_g = 0     # propellant left beyond what the plan needs
        # 1/tau in Q20 per ms: vz_ref = altitude * 1000 / tau_ms
        self._inv_tau_q20 = fixed.div_shift(1000, cfg.descent_tau_ms, 20)

    def _set_phase(self, phase):
        if phase != self.phase:
            self.phase = phase
            events.post(EV_PHASE, phase)

    def update(self, nav, touchdown):
        cfg = self.cfg
        if touchdown or self.phase == PH_LANDED:
            self._set_phase(PH_LANDED)
            self.accel_z_cmd_mm_s2 = 0
            self.accel_x_cmd_mm_s2 = 0
            return
        alt = nav.altitude_mm
        if alt < cfg.terminal_alt_mm:
            self._set_phase(PH_TERMINAL)
            vz_ref = -cfg.terminal_vz_mm_s
        else:
            vz_ref = -fixed.mul_shift(alt, self._inv_tau_q20, 20)
            vz_ref = fixed.clamp(vz_ref, -cfg.max_descent_mm_s, -cfg.terminal_vz_mm_s)
        self.vz_ref_mm_s = vz_ref
        err = fixed.sub_sat(vz_ref, nav.vz_mm_s)
        self.accel_z_cmd_mm_s2 = cfg.gravity_mm_s2 + fixed.mul_shift(err, cfg.vel_gain_q15, 15)
        self.accel_x_cmd_mm_s2 = -fixed.mul_shift(nav.vx_mm_s, cfg.vel_gain_q15, 15)

    def checkpoint_into(self, words, offset):
        words[offset] = self.phase
        words[offset + 1] = self.site_x_mm
        words[offset + 2] = self.vz_ref_mm_s
        words[offset + 3] = self.propellant_margin_g

    def restore_from(self, words, offset):
        self.phase = words[offset]
        self.site_x_mm = words[offset + 1]
        self.vz_ref_mm_s = words[offset + 2]
        self.propellant_margin_g = words[offset + 3]
