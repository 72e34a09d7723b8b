# Control: turn guidance's world-frame thrust-acceleration command into a
# throttle (fraction of max thrust, Q15) and a pitch attitude set-point (binary
# angle), within the engine's and the vehicle's limits.
#
# - Thrust-to-mass from the measured acceleration: over each window between
#   two runs of the slow terms (one re-plan period, see guidance.py's
#   Schedule: on the first altimeter-frame cycle after guidance's re-plan, at
#   the latest on the last cycle before the next one is due; the period
#   follows the frames, ~replan_cycles cycles) the IMU's specific force along
#   the thrust axis is summed beside the one the engine model predicts
#   (lagged throttle * max thrust / estimated mass); their ratio, low-passed
#   and clamped to [0.3, 2], scales the available acceleration a_full_mm_s2
#   and the propellant flow, so an overthrust (+15 %) or a lost nozzle (half thrust) is absorbed at once
#   instead of being flown open loop.
# - Geometry (atan2 + hypot, ~60 k fuel) only when guidance posts a new command
#   (cmd_seq, 10 Hz); per cycle the vertical command's change is passed through
#   the secant of the pitch: |a| = |a|_geo + (az - az_geo) / cos(pitch).
# - Saturation gives up the horizontal channel first: above the available
#   acceleration the vertical component is kept and the horizontal one is what
#   is left; the pitch is clamped to guidance's phase limit (vertical kept).
# - Throttle band: 0 (engine off) or >= min throttle; engine-lag compensation
#   by a first-order model of the engine (lag engine_lag_ms) and a lead term.
# - Pitch rate limit: the set-point moves at most max_pitch_rate per cycle.
from lander import fixed
from lander.compat import const
from lander.events import post
from lander.units import THROTTLE_FULL

# Words of control state in a checkpoint (checkpoint_into / restore_from).
CHECKPOINT_WORDS = const(7)

EV_THRUST_RATIO = const(0x0310)   # arg = new thrust ratio (Q15) after a jump of > 10 %
EV_SATURATED = const(0x0311)      # arg = 1 high / -1 low, first cycle of a saturation run

_MASS_Q = const(10)   # mass in kg * 1024 so that thrust_mN = m * a >> 10
_MG_PER_G = const(1000)
_MAX_MG = const(0x3FFFFFFF)   # 1073 kg: the range of a milligram int
_RATIO_LO = const(9830)       # 0.3 in Q15
_RATIO_HI = const(65536)      # 2.0
_LEAD_Q15 = const(16384)      # lead gain 0.5 on (desired - modelled) throttle
_AFULL_MIN = const(256)       # mm/s^2: floor of the available acceleration
_THROTTLE_FULL = const(32768)  # units.THROTTLE_FULL (a constant here, not a global lookup per use)


def _mg(grams):
    return grams * _MG_PER_G if grams < _MAX_MG // _MG_PER_G else _MAX_MG


class Control:
    def __init__(self, cfg):
        self.cfg = cfg
        self.mass_mg = _mg(cfg.dry_mass_g + cfg.propellant_g)
        self.dry_mass_mg = _mg(cfg.dry_mass_g)
        self.mass_kg_q10 = 0          # mass in kg * 1024, kept with mass_mg
        self.throttle_q15 = 0
        self.pitch_cmd_bau = 0        # attitude set-point sent to the attitude unit
        self.pitch_ref_bau = 0        # before the rate limit
        self.thrust_cmd_mn = 0
        self.accel_cmd_mm_s2 = 0      # commanded specific force magnitude
        self.thrust_model_q15 = 0     # modelled actual thrust (engine lag)
        self.thrust_ratio_q15 = 32768 # measured / modelled specific force
        self.a_full_mm_s2 = 0         # available acceleration at full throttle
        self.saturated = 0            # cycles saturated (count)
        self.sat_high = False
        self.sat_low = False
        period_us = 1000000 // cfg.rate_hz
        # propellant flow per cycle: dm_mg = T_mN * dt_s / (Isp * g0) ; in Q24
        self._flow_q24 = fixed.div_shift(period_us, cfg.isp_s * 9807, 24)
        self._flow_eff_q24 = self._flow_q24
        # engine lag: model += (u - model) * dt / lag, in Q15
        lag_us = cfg.engine_lag_ms * 1000
        self._lag_q15 = fixed.div_shift(period_us, lag_us, 15) if lag_us > period_us else 32767
        rate = cfg.max_pitch_rate_bau_s // cfg.rate_hz
        self._rate_step = rate if rate > 0 else 1
        self._seq = -1
        self._k = 0                   # cycles since the slow terms last ran
        self._s_meas = 0
        self._s_exp = 0
        self._n = 0
        self._az_geo = 0
        self._mag_geo = 0
        self._sec_q14 = 16384
        self._afull_nom = 0
        self._inv_afull = 0
        self._ysum = 0                # modelled throttle summed over the re-plan window
        self._inv_hi = 0              # _inv_afull split at bit 14 (exact inline products)
        self._inv_lo = 0
        t = cfg.max_thrust_mn
        self._tmax_hi = t >> 15       # max thrust split at bit 15: u * T >> 15 exactly,
        self._tmax_lo = t & 0x7FFF    # |u| <= 2^15 keeps both products < 2^30
        self._update_mass_q()
        self._slow(self.cfg.replan_cycles)

    # --- 10 Hz: available acceleration, thrust ratio ----------------------------
    def _slow(self, k):
        # k: the cycles of the window closing now (the ratio only when the
        # engine burned in every one of them)
        n = self._n
        if n >= k and self._s_exp > 0:
            r = fixed.clamp(fixed.div_shift(self._s_meas, self._s_exp, 15), _RATIO_LO, _RATIO_HI)
            old = self.thrust_ratio_q15
            new = old + ((r - old) >> 1)
            self.thrust_ratio_q15 = new
            d = new - old
            if d > (old >> 3) or -d > (old >> 3):
                post(EV_THRUST_RATIO, new)
        self._s_meas = 0
        self._s_exp = 0
        self._n = 0
        mass_g = self.mass_mg // _MG_PER_G
        if mass_g < 1:
            mass_g = 1
        # T / m in m/s^2 * 1024 -> mm/s^2. Inline where the ranges allow
        # (the same exact floors as the fixed.* forms in the else branches,
        # ~30 k fuel less on the slow terms' cycle):
        # fixed.div_shift(t, m, 10) as a long division in chunks of 8 and 2
        # bits (r < m < 2^22: r << 8 < 2^30; t < 2^20 m: no saturation)
        t = self.cfg.max_thrust_mn
        ratio = self.thrust_ratio_q15                 # 9830 .. 65536
        if 1024 <= mass_g < 0x400000 and 0 <= t < 0x40000000:
            q = t // mass_g
            r = (t - q * mass_g) << 8
            d = r // mass_g
            q = (q << 8) + d
            d = ((r - d * mass_g) << 2) // mass_g
            q = (q << 2) + d
            nom = (q * 1000) >> 10 if q < 0x100000 else fixed.mul_shift(q, 1000, 10)
        else:
            nom = fixed.mul_shift(fixed.div_shift(t, mass_g, 10), 1000, 10)
        nom = _AFULL_MIN if nom < _AFULL_MIN else (0x7FFF if nom > 0x7FFF else nom)
        self._afull_nom = nom
        # nom * ratio >> 15 (fixed.mul_shift's limb path: nom < 2^15)
        a = (ratio >> 15) * nom + (((ratio & 0x7FFF) * nom) >> 15)
        a = _AFULL_MIN if a < _AFULL_MIN else (0x7FFF if a > 0x7FFF else a)
        self.a_full_mm_s2 = a
        inv = 0x20000000 // a                                 # 2^29 / a_full, < 2^21
        self._inv_afull = inv
        self._inv_hi = inv >> 14                              # < 2^7
        self._inv_lo = inv & 0x3FFF
        f = self._flow_q24
        if 0 <= f < 0x1000000:
            # f * ratio >> 15 on limbs of both (every product < 2^30)
            self._flow_eff_q24 = (f >> 15) * ratio + (f & 0x7FFF) * (ratio >> 15) \
                + (((f & 0x7FFF) * (ratio & 0x7FFF)) >> 15)
        else:
            self._flow_eff_q24 = fixed.mul_shift(f, ratio, 15)

    # --- geometry: pitch and magnitude of a new command ---------------------------
    def _geometry(self, guid):
        cfg = self.cfg
        # (fixed.clamp inline: the same values, ~1.5 k fuel less each)
        ax = guid.accel_x_cmd_mm_s2
        ax = -0x7FFF if ax < -0x7FFF else (0x7FFF if ax > 0x7FFF else ax)
        az = guid.accel_z_cmd_mm_s2
        az = 1 if az < 1 else (0x7FFF if az > 0x7FFF else az)
        lim = guid.pitch_limit_bau
        hi = cfg.max_pitch_bau
        lim = 0 if lim < 0 else (hi if lim > hi else lim)
        avail = self.a_full_mm_s2
        pitch = fixed.atan2(ax, az)
        if pitch > lim or pitch < -lim:
            pitch = lim if pitch > 0 else -lim
            if guid.keep_horizontal:
                # braking: the horizontal demand met at the limit (more vertical)
                sn = fixed.sin_q15(lim)
                # fixed.div_shift(|ax|, sn, 15) inline: |ax| < 2^15, its
                # exact single division (~5 k fuel less)
                mag = ((-ax if ax < 0 else ax) << 15) // (sn if sn > 0 else 1)
            else:
                c = fixed.cos_q15(lim)
                mag = fixed.div_shift(az, c if c > 0 else 1, 15)      # vertical kept
        else:
            mag = fixed.hypot(ax, az)
        if mag > avail:
            # give up the horizontal channel first
            if az >= avail:
                pitch = 0
            else:
                a8 = avail >> 3
                z8 = az >> 3
                p2 = fixed.atan2(fixed.isqrt(a8 * a8 - z8 * z8), z8)
                ap = -pitch if pitch < 0 else pitch
                if p2 < ap:
                    pitch = p2 if pitch > 0 else -p2
            mag = avail
        self.pitch_ref_bau = pitch
        self._az_geo = az
        self._mag_geo = mag
        c = fixed.cos_q15(pitch)
        # fixed.div_shift(16384, c, 15) inline (2^29 // c, c >= 2^14: exact)
        self._sec_q14 = 0x20000000 // (c if c > 16384 else 16384)   # <= 2 in Q14

    # --- one cycle -------------------------------------------------------------------
    def update(self, guid, nav=None):
        # per cycle: locals, inline products whose ranges are known (written
        # beside each), fixed.* only off the fast paths; results bit-identical
        # to the fixed.mul_shift / clamp forms they replace
        cfg = self.cfg
        y = self.thrust_model_q15                  # 0 .. 2^15 (modelled throttle)
        m = cfg.min_throttle_q15
        # thrust-to-mass: measured vs modelled specific force while the engine burns
        if nav is not None and y > m:
            f = nav.accel_thrust_mm_s2
            self._s_meas += f if 0 < f < 0x7FFF else (0x7FFF if f > 0 else 0)
            self._s_exp += (y * self._afull_nom) >> 15
            self._n += 1
        # the slow terms (see guidance.py's Schedule): once per re-plan period
        # (not yet since guidance's last re-plan: k > gk), not on the
        # re-plan's own cycle (gk 0), on the first cycle whose altimeter
        # update was accepted, at the latest the last before the next
        # re-plan is due
        k = self._k + 1
        gk = guid._k
        if k > gk > 0 and (gk >= cfg.replan_cycles - 1 or (nav is not None and nav.alt_age_ms == 0)):
            # the window's burn taken from the mass, then the slow terms from it
            self._burn(self._ysum)
            self._ysum = 0
            self._slow(k)
            k = 0
        self._k = k
        if guid.cmd_seq != self._seq:
            self._seq = guid.cmd_seq
            self._geometry(guid)
        # attitude set-point, rate limited
        p = self.pitch_cmd_bau
        d = self.pitch_ref_bau - p
        step = self._rate_step
        if d > step:
            d = step
        elif d < -step:
            d = -step
        p += d
        lim = cfg.max_pitch_bau
        self.pitch_cmd_bau = lim if p > lim else (-lim if p < -lim else p)
        if not guid.engine_on:
            u = 0
            self.sat_high = False
            self.sat_low = False
        else:
            dz = guid.accel_z_cmd_mm_s2 - self._az_geo
            if dz > 0x3FFF:
                dz = 0x3FFF
            elif dz < -0x3FFF:
                dz = -0x3FFF
            mag = self._mag_geo + ((dz * self._sec_q14) >> 14)     # |dz * sec| < 2^29
            if mag < 0:
                mag = 0
            elif mag > 0x7FFF:
                mag = 0x7FFF
            self.accel_cmd_mm_s2 = mag
            # mag / a_full in Q15 = mag * inv >> 14, inv split at bit 14:
            # mag * hi < 2^22, mag * lo < 2^29
            thr = mag * self._inv_hi + ((mag * self._inv_lo) >> 14)
            e = thr - y
            if e > 0x7FFF:
                e = 0x7FFF
            elif e < -0x7FFF:
                e = -0x7FFF
            u = thr + ((e * _LEAD_Q15) >> 15)
            if u > _THROTTLE_FULL:
                u = _THROTTLE_FULL
            elif u < m:
                # below the engine's floor: the floor, or off when less than 7/8
                # of it is wanted (0 or >= min: the engine cannot burn between;
                # the rate loop duty-cycles it around a floor above hover)
                u = m if thr >= m - (m >> 3) else 0
            hi = thr >= _THROTTLE_FULL
            lo = thr <= m and u == m
            if hi and not self.sat_high:
                post(EV_SATURATED, 1)
            self.sat_high = hi
            self.sat_low = lo
            if hi or lo:
                self.saturated += 1
        self.throttle_q15 = u
        self.thrust_model_q15 = y + (((u - y) * self._lag_q15) >> 15)
        th = self._tmax_hi
        tl = self._tmax_lo
        self.thrust_cmd_mn = u * th + ((u * tl) >> 15)       # T u / 2^15, u in 0..2^15
        # propellant: the modelled throttle summed per cycle, burnt from the
        # mass once per window (the mass is read at 10 Hz)
        self._ysum += y       # < 2 * (replan_cycles + 2) cycles * 2^15 < 2^22

    def _burn(self, ys):
        if ys <= 0:
            return
        # modelled thrust x cycles, mN: T ys >> 15 and then tm * flow >> 24 (mg),
        # the exact floors of fixed.mul_shift, inline on 15-bit limbs where
        # the ranges allow (every product < 2^30; its wide path costs ~19 k
        # fuel a call, twice on the slow terms' cycle)
        t = self.cfg.max_thrust_mn
        if ys < 0x80000 and t < 0x4000000:
            yl = ys & 0x7FFF
            tm = t * (ys >> 15) + (t >> 15) * yl + (((t & 0x7FFF) * yl) >> 15)
        else:
            tm = fixed.mul_shift(t, ys, 15)
        fe = self._flow_eff_q24
        if tm < 0x4000000 and 0 <= fe < 0x20000:
            mh = tm >> 15
            ml = tm & 0x7FFF
            fh = fe >> 15
            fl = fe & 0x7FFF
            used = ((mh * fh << 15) + mh * fl + ml * fh + ((ml * fl) >> 15)) >> 9
        else:
            used = fixed.mul_shift(tm, fe, 24)
        m = self.mass_mg - used
        self.mass_mg = m if m > self.dry_mass_mg else self.dry_mass_mg
        self._update_mass_q()

    def _update_mass_q(self):
        # mg -> kg * 1024: 1024 / 1e6 ~ 1074 / 2^20; m split at bit 10 below
        # 1023 kg: (m >> 10) * 1074 < 2^30, (m & 1023) * 1074 < 2^21 (exact)
        m = self.mass_mg
        if 0 <= m < 0x3D000000:
            self.mass_kg_q10 = ((m >> 10) * 1074 + (((m & 1023) * 1074) >> 10)) >> 10
        else:
            self.mass_kg_q10 = fixed.mul_shift(m, 1074, 20)

    def cut(self):
        self._burn(self._ysum)
        self._ysum = 0
        self.throttle_q15 = 0
        self.thrust_cmd_mn = 0
        self.thrust_model_q15 = 0

    def checkpoint_into(self, words, offset):
        # the burn of the current window is not in the mass yet: at most
        # 2 * replan_cycles cycles of flow (~160 g at full thrust, nominal
        # vehicle; replan_cycles - 1 cycles as a rule)
        words[offset] = self.mass_mg
        words[offset + 1] = self.throttle_q15
        words[offset + 2] = self.pitch_cmd_bau
        words[offset + 3] = self.thrust_ratio_q15
        words[offset + 4] = self.thrust_model_q15
        words[offset + 5] = self.pitch_ref_bau
        words[offset + 6] = self._mag_geo

    def restore_from(self, words, offset):
        self.mass_mg = words[offset]
        self.throttle_q15 = fixed.clamp(words[offset + 1], 0, THROTTLE_FULL)
        self.pitch_cmd_bau = words[offset + 2]
        self.thrust_ratio_q15 = fixed.clamp(words[offset + 3], _RATIO_LO, _RATIO_HI)
        self.thrust_model_q15 = fixed.clamp(words[offset + 4], 0, THROTTLE_FULL)
        self.pitch_ref_bau = words[offset + 5]
        self._mag_geo = words[offset + 6]
        self.thrust_cmd_mn = fixed.mul_shift(self.cfg.max_thrust_mn, self.throttle_q15, 15)
        self._update_mass_q()
        self._slow(self.cfg.replan_cycles)
