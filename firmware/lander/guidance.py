# Guidance: a phased powered descent after Apollo's P63/P64/P66, in integers.
#
#   COAST     engine off after handover while the plan does not yet need it
#             (the engine can be relit); ignition when the plan's acceleration
#             at once reaches ignite_q15 of the available acceleration.
#   BRAKING   ZEM/ZEV (zero-effort-miss / zero-effort-velocity) law toward the
#             low gate: x = site, h = gate_h above the site's terrain, vx = 0,
#             vz = -gate_vz. The plan's acceleration is linear in time,
#                 a(0)   =  6 ZEM/T^2 - 2 ZEV/T
#                 a(T)   = -6 ZEM/T^2 + 4 ZEV/T
#             re-planned every replan_cycles cycles (10 Hz at 50 Hz) or a little
#             later (see Schedule), and the time-to-go T is walked so that the
#             larger end of the plan sits just under accel_band_q15 of the available acceleration (near full
#             thrust: small gravity losses) with thrust never pointing down.
#   APPROACH  from the high gate (T <= approach_tgo_ms): the same law, T only
#             counts down (re-optimised only when the plan would saturate).
#             Height gate (braking/approach): a height below the one predicted
#             from the last re-plan (h + vz dt) by more than jump_tol is held at
#             the prediction for at most _JUMP_HOLD_MS (event EV_H_JUMP): a
#             navigation transient must not start the terminal descent kilometres
#             up (the first step to a hover at a false zero).
#   Shadow    (braking/approach): navigation's shadow_dir / shadow_mm name
#             unseen ground ahead behind an edge that drops away (the beam,
#             looking ahead at the braking attitude, jumped over it). Within
#             the lead (the slew to the beam's nadir attitude at the pitch
#             rate, + _LOOK_SETTLE_MS, at the speed of now) the attitude limit
#             becomes the beam's mounting angle and the horizontal channel is
#             given up (vertical kept): the altimeter measures the ground under
#             the vehicle while it crosses the shadow; held until navigation
#             ends the shadow (EV_SHADOW_LOOK 1 / 0), then re-planned.
#   TERMINAL  below the low gate: rate-of-descent hold, vz_ref ramping from
#             -gate_vz to -touchdown_vz with height, every cycle, with an
#             integrator (anti-windup); horizontal-velocity nulling at 10 Hz.
#             Back to BRAKING (re-planned from the state of now) when the height
#             above the site is more than twice the gate's: a terminal descent
#             started too high (a navigation transient) is not flown at 2 m/s.
#   LANDED    leg contact: the engine is cut in the same cycle (App._control).
#   HOVER     abort (telecommand): hold height, null vx, for at most hover_ms
#             and only while the propellant covers a descent from here; then
#   SAFE      constant-rate descent to the ground, slowing to touchdown_vz in
#             the last metres, at safe_vz or faster: at least 5/4 of the height
#             over the hover time the propellant (above reserve_g) buys, so the
#             descent always ends before the tanks do. Never hover until empty:
#             also entered from TERMINAL when the propellant margin goes negative.
#
# Schedule (a cyclic executive that follows the altimeter): the slow work of
# guidance and control runs on the cycles that carry an altimeter frame, which
# already cost the most (sample + estimate ~430 k fuel of the 600 k maximum),
# so that the other cycles stay light (the median of DESIGN.md's budget). The
# re-plan (terminal and hover/safe: their 10 Hz terms) becomes due
# replan_cycles cycles after the last one and runs on the first cycle from then
# on whose altimeter update was accepted (nav.alt_age_ms == 0: the plan starts
# from the newest height), at the latest _FRAME_WAIT cycles after it fell due
# (no altimeter, dropouts, rejected ranges). The plan's margin (and the control
# stage's slow terms, Control.update) run on the first such cycle after the
# re-plan, at the latest on the last cycle before the next re-plan is due. The
# altimeter (20 Hz) drifts against the loop, so the period is not fixed: _k
# counts the cycles since the last re-plan and the re-plan uses that actual
# period (_replan_ms: the time-to-go's count-down, the height gate's
# prediction, the hold's duration). At 50 Hz with frames every 2 or 3 cycles the
# period locks to 5 cycles (two frames).
#
# Inputs: nav.site_alt_mm (height above the site's terrain), nav.x_mm (0 at
# handover), nav.vz_mm_s, nav.vx_mm_s; the control stage's available
# acceleration (a_full_mm_s2, thrust-to-mass from the measured acceleration)
# and mass. Every output is a preallocated int field (telemetry reads them).
from array import array

from lander import fixed
from lander.compat import const
from lander.events import post

PH_COAST = const(0)
PH_BRAKING = const(1)
PH_DESCENT = const(1)        # the skeleton's name for the powered phase
PH_TERMINAL = const(2)
PH_LANDED = const(3)
PH_APPROACH = const(4)
PH_HOVER = const(5)
PH_SAFE = const(6)

# Events (guidance / control 0x0300-0x03FF)
EV_PHASE = const(0x0301)       # arg = new phase
EV_IGNITION = const(0x0302)    # arg = time-to-go in ms at ignition
EV_ABORT = const(0x0303)       # arg = phase when the abort came
EV_NO_MARGIN = const(0x0304)   # arg = propellant margin in g (negative): safe descent
EV_DIVERT = const(0x0305)      # arg = new site in m
EV_H_JUMP = const(0x0306)      # arg = height jump below the prediction, m (held)
EV_SHADOW_LOOK = const(0x0307) # arg = 1 beam turned down over unseen ground, 0 back to braking

# Words of guidance state in a checkpoint (checkpoint_into / restore_from).
CHECKPOINT_WORDS = const(9)

_T_MIN_MS = const(2100)        # 65536000 / T < 2^15: the plan's products stay on the fast path
_T_MAX_MS = const(600000)
_T_STEP_MS = const(250)        # time-to-go walk per re-plan
_POS_LIM = const(0x3FFFFFF)    # 67 km: |position differences| clamp
_VEL_LIM = const(0xFFFFF)      # 1 km/s: |velocity| clamp
_ACC_LIM = const(100000)       # 100 m/s^2: |plan accelerations| clamp
_IZ_LIM = const(2000)          # terminal integrator clamp, mm/s^2
_IZ_BAND = const(1000)         # terminal integrator: integrates only within +/-1 m/s of the ramp
_XPOS_H_MM = const(5000)       # terminal: no position term below 5 m
_JUMP_MIN_MM = const(150000)   # height gate: tolerance 150 m + |h| / 4
_JUMP_HOLD_MS = const(3000)    # a height jump is believed after 3 s
_LOOK_SETTLE_MS = const(2000)  # shadow: attitude settling allowed beyond the slew itself
_FRAME_WAIT = const(2)         # a due re-plan waits at most 2 cycles for an altimeter frame
                               # (frames come every 2 or 3 cycles at 20 Hz / 50 Hz)


def _abs(x):
    return -x if x < 0 else x


class Guidance:
    def __init__(self, cfg):
        self.cfg = cfg
        self.phase = PH_COAST
        self.vz_ref_mm_s = 0
        self.accel_z_cmd_mm_s2 = 0   # world-frame thrust specific force commands
        self.accel_x_cmd_mm_s2 = 0
        self.site_x_mm = cfg.site_x_mm   # where it flies to (a divert command moves it)
        self.propellant_margin_g = 0     # propellant left beyond what the plan needs
        self.tgo_ms = _T_MAX_MS // 4     # time-to-go to the low gate
        self.engine_on = False           # guidance wants the engine lit
        # phase-dependent attitude limit: in braking the smaller of the vehicle's
        # and braking_pitch_bau (the altimeter's slant range turns an attitude
        # error dp into a height error h tan(p) dp: 1.7 x at 60 deg what it is
        # at 45 deg, and a warm restart or a gyro fault makes dp)
        bp = cfg.braking_pitch_bau
        self.pitch_limit_bau = bp if 0 < bp < cfg.max_pitch_bau else cfg.max_pitch_bau
        self._brake_lim = self.pitch_limit_bau
        self.looking = False             # beam turned down over a shadow (unseen ground)
        self.looks = 0
        self.cmd_seq = 0                 # bumps when the horizontal/attitude command changes
        self.keep_horizontal = False     # at the attitude limit: horizontal demand kept (braking)
        self.replans = 0
        self.plan_feasible = 0
        self.hover_ms = 0
        self.aborted = False
        self._ctrl = None                # the control stage (available acceleration, mass)
        # cycles since the last re-plan (0 on the re-plan's cycle); this value
        # forces a re-plan on the first cycle
        self._k = cfg.replan_cycles + _FRAME_WAIT - 1
        self._margin_due = False         # the plan's margin not computed yet
        self._iz = 0                     # terminal integrator, mm/s^2
        self._a = array("i", (0, 0, 0, 0))   # plan: a0x, a0z, aex, aez
        self._h_mm = 0                   # height gate: last height used by a re-plan
        self._h_valid = False
        self._jump_ms = 0                # how long a jump has been held
        self.h_jumps = 0                 # jumps held (count)
        self._safe_v = cfg.safe_vz_mm_s  # safe descent rate, mm/s (10 Hz)
        g = cfg.gravity_mm_s2
        self._g = g
        self._period_ms = 1000 // cfg.rate_hz
        # the last re-plan period (actual: set by each re-plan; see update)
        self._replan_ms = self._period_ms * cfg.replan_cycles
        self.configure(cfg)              # the terminal ramp, _ramp_q20 and _term_ms
        # exhaust speed in mm/s: isp * g0
        self._c_mm_s = cfg.isp_s * 9807
        # hover time bought by the whole mass, ms: c / g (a fraction of the mass
        # in propellant buys that fraction of it, to first order)
        self._hover_ms = (self._c_mm_s // (g if g > 0 else 1)) * 1000
        # the same period in s * 1024 (height prediction)
        self._replan_q10 = (self._replan_ms * 1024) // 1000

    def configure(self, cfg):
        """The terms built from the parameters a set_param telecommand may
        change in flight (config.IN_FLIGHT: the low gate's height and rate):
        at start-up and after each change. No allocation (under heap_lock)."""
        gate_h = cfg.terminal_alt_mm
        gate_v = cfg.terminal_vz_mm_s
        td_v = cfg.touchdown_vz_mm_s
        # terminal ramp: vz_ref = -(td_v + h * slope), slope in Q20 per s
        self._ramp_q20 = fixed.div_shift(gate_v - td_v, gate_h if gate_h > 0 else 1, 20) \
            if gate_v > td_v else 0
        # terminal descent time ~ gate_h / mean speed, for the margin (ms)
        self._term_ms = (2000 * gate_h) // (gate_v + td_v) if gate_v + td_v > 0 else 0

    def attach_control(self, ctrl):
        self._ctrl = ctrl

    def _set_phase(self, phase):
        if phase != self.phase:
            self.phase = phase
            post(EV_PHASE, phase)

    # --- commands from the executive -----------------------------------------
    def abort(self):
        """Abort to hover (then a constant-rate descent)."""
        if self.phase != PH_LANDED and not self.aborted:
            self.aborted = True
            post(EV_ABORT, self.phase)
            self.hover_ms = 0
            self.engine_on = True
            self._set_phase(PH_HOVER)

    def divert(self, site_x_mm):
        """A new site downrange of the powered-descent start (braking/approach only)."""
        if self.phase <= PH_BRAKING or self.phase == PH_APPROACH:
            self.site_x_mm = fixed.clamp(site_x_mm, -_POS_LIM, _POS_LIM)
            post(EV_DIVERT, self.site_x_mm // 1000)

    # --- one cycle -------------------------------------------------------------
    def update(self, nav, touchdown):
        phase = self.phase
        if touchdown or phase == PH_LANDED:
            if phase != PH_LANDED:
                self._set_phase(PH_LANDED)
            self.engine_on = False
            self.accel_z_cmd_mm_s2 = 0
            self.accel_x_cmd_mm_s2 = 0
            return
        r = self.cfg.replan_cycles
        k = self._k + 1
        if k >= r and (nav.alt_age_ms == 0 or k >= r + _FRAME_WAIT):
            # the re-plan's cycle (see Schedule): the period it closes
            ms = k * self._period_ms
            if ms != self._replan_ms:
                self._replan_ms = ms
                self._replan_q10 = (ms * 1024) // 1000
            k = 0
        self._k = k
        plan = phase == PH_COAST or phase == PH_BRAKING or phase == PH_APPROACH
        if plan and k != 0:
            # the plan's propellant margin (telemetry only): on the first
            # frame cycle after the re-plan (with the control stage's slow
            # terms), at the latest on the last cycle before the next re-plan
            # is due (the height is read only by the re-plan and the terminal law)
            if self._margin_due and (k >= r - 1 or nav.alt_age_ms == 0):
                self._plan_margin()
            return
        h = nav.site_alt_mm
        h = -_POS_LIM if h < -_POS_LIM else (_POS_LIM if h > _POS_LIM else h)
        if plan:
            self._replan(nav, self._gate_h(h, nav.vz_mm_s))
            return
        self._terminal(nav, h, k)

    # --- height gate ---------------------------------------------------------------
    def _gate_h(self, h, vz):
        """The height a re-plan uses: nav's, unless it fell below the prediction
        from the last re-plan by more than the tolerance (then the prediction,
        for at most _JUMP_HOLD_MS)."""
        if not self._h_valid:
            self._h_valid = True
            self._jump_ms = 0
            self._h_mm = h
            return h
        vz = -_VEL_LIM if vz < -_VEL_LIM else (_VEL_LIM if vz > _VEL_LIM else vz)
        q = self._replan_q10
        # |vz| <= 2^20, q < 2^9 (a re-plan period under 0.5 s): product < 2^29
        d = (vz * q) >> 10 if q < 512 else fixed.mul_shift(vz, q, 10)
        pred = self._h_mm + d                  # |h_mm| <= 2^26: no overflow
        pred = -_POS_LIM if pred < -_POS_LIM else (_POS_LIM if pred > _POS_LIM else pred)
        tol = _JUMP_MIN_MM + (_abs(pred) >> 2)
        if h < pred - tol and self._jump_ms < _JUMP_HOLD_MS:
            if self._jump_ms == 0:
                self.h_jumps += 1
                post(EV_H_JUMP, (h - pred) // 1000)
            self._jump_ms += self._replan_ms
            self._h_mm = pred
            return pred
        self._jump_ms = 0
        self._h_mm = h
        return h

    # --- braking / approach: ZEM/ZEV toward the low gate -------------------------
    def _plan(self, dx, dh, vx, vz, t_ms):
        """Fill self._a with the plan's start and end accelerations (mm/s^2)."""
        inv = 65536000 // t_ms                    # 1/T in Q16 per second, < 2^15
        # x * inv >> 16 = fixed.mul_shift(x, inv, 16) inline on 15-bit limbs
        # (its own path for 0 < inv < 2^15, exact for any |x| < 2^30: both
        # products < 2^30), six of them: ~13 k fuel less on the re-plan
        # dx / T, mm/s, |.| < 2^25
        dxt = ((dx >> 15) * inv + (((dx & 0x7FFF) * inv) >> 15)) >> 1
        dht = ((dh >> 15) * inv + (((dh & 0x7FFF) * inv) >> 15)) >> 1
        vzf = -self.cfg.terminal_vz_mm_s
        g = self._g
        a = self._a
        # (fixed.clamp inline: the same values, ~1.5 k fuel less each)
        v = 6 * dxt - 4 * vx
        v = ((v >> 15) * inv + (((v & 0x7FFF) * inv) >> 15)) >> 1
        a[0] = -_ACC_LIM if v < -_ACC_LIM else (_ACC_LIM if v > _ACC_LIM else v)
        v = -6 * dht - 4 * vz - 2 * vzf
        v = (((v >> 15) * inv + (((v & 0x7FFF) * inv) >> 15)) >> 1) + g
        a[1] = -_ACC_LIM if v < -_ACC_LIM else (_ACC_LIM if v > _ACC_LIM else v)
        v = -6 * dxt + 2 * vx
        v = ((v >> 15) * inv + (((v & 0x7FFF) * inv) >> 15)) >> 1
        a[2] = -_ACC_LIM if v < -_ACC_LIM else (_ACC_LIM if v > _ACC_LIM else v)
        v = 6 * dht + 2 * vz + 4 * vzf
        v = (((v >> 15) * inv + (((v & 0x7FFF) * inv) >> 15)) >> 1) + g
        a[3] = -_ACC_LIM if v < -_ACC_LIM else (_ACC_LIM if v > _ACC_LIM else v)

    def _replan(self, nav, h):
        cfg = self.cfg
        self._margin_due = True
        ctrl = self._ctrl
        afull = ctrl.a_full_mm_s2 if ctrl is not None else 2 * self._g
        dh = h - cfg.terminal_alt_mm
        phase = self.phase
        if dh <= 0:
            # at (or below) the low gate: terminal descent from here
            self._enter_terminal()
            return
        t = self.tgo_ms - self._replan_ms
        if t < _T_MIN_MS:
            t = _T_MIN_MS
        # (fixed.clamp inline: the same values, ~1.5 k fuel less each)
        dx = fixed.sub_sat(self.site_x_mm, nav.x_mm)
        dx = -_POS_LIM if dx < -_POS_LIM else (_POS_LIM if dx > _POS_LIM else dx)
        vx = nav.vx_mm_s
        vx = -_VEL_LIM if vx < -_VEL_LIM else (_VEL_LIM if vx > _VEL_LIM else vx)
        vz = nav.vz_mm_s
        vz = -_VEL_LIM if vz < -_VEL_LIM else (_VEL_LIM if vz > _VEL_LIM else vz)
        self._plan(dx, _POS_LIM if dh > _POS_LIM else dh, vx, vz, t)       # dh > 0 here
        a = self._a
        a0x = a[0]
        a0z = a[1]
        # peaks in (8 mm/s^2)^2, < 2^29
        p0 = (a0x >> 3) * (a0x >> 3) + (a0z >> 3) * (a0z >> 3)
        pe = (a[2] >> 3) * (a[2] >> 3) + (a[3] >> 3) * (a[3] >> 3)
        peak = p0 if p0 > pe else pe
        af = 0 if afull < 0 else (0x7FFF if afull > 0x7FFF else afull)
        lim = (af * cfg.accel_band_q15) >> 15
        lim2 = (lim >> 3) * (lim >> 3)
        up = a0z >= 0 and a[3] >= 0
        full2 = (afull >> 3) * (afull >> 3)
        app = (af * cfg.approach_band_q15) >> 15
        app2 = (app >> 3) * (app >> 3)
        if phase == PH_BRAKING:
            # powered: hold the acceleration of now in the band (near full
            # thrust, bang-bang like); the end of the plan, at the low gate,
            # within approach_band of the engine (margin for a lost engine)
            demand = p0
            feasible = p0 <= lim2 and pe <= app2 and up
        else:
            demand = peak
            feasible = peak <= lim2 and up
        self.plan_feasible = 1 if feasible else 0
        step = t >> 5
        if step < _T_STEP_MS:
            step = _T_STEP_MS
        if phase == PH_APPROACH:
            if (pe > app2 or p0 > full2) and t < _T_MAX_MS:
                t += _T_STEP_MS
        elif not feasible:
            if t < _T_MAX_MS:
                t += step
        else:
            # walk toward the shortest plan inside the band (the floor of the band
            # is 3/4 of its ceiling squared, or the thrust-up constraint nearly binding)
            lo2 = lim2 - (lim2 >> 2)
            if demand < lo2 and (a0z > 200 and a[3] > 200):
                t -= step
                if t < _T_MIN_MS:
                    t = _T_MIN_MS
        self.tgo_ms = t
        self.replans += 1
        if phase == PH_COAST:
            ign = (lim * cfg.ignite_q15) >> 15
            if p0 >= (ign >> 3) * (ign >> 3) or t <= cfg.approach_tgo_ms:
                self.engine_on = True
                post(EV_IGNITION, t)
                self._set_phase(PH_BRAKING)
                phase = PH_BRAKING
            else:
                self.accel_x_cmd_mm_s2 = 0
                self.accel_z_cmd_mm_s2 = 0
                self.engine_on = False
        if phase == PH_BRAKING and t <= cfg.approach_tgo_ms:
            self._set_phase(PH_APPROACH)     # the high gate
            phase = PH_APPROACH
        if phase != PH_COAST:
            self.engine_on = True
            self.keep_horizontal = True
            # (_look only with a shadow named or the beam down: False
            # without side effects otherwise; its call ~5 k fuel)
            if (nav.shadow_dir != 0 or self.looking) and self._look(nav, vx):
                # attitude that points the beam at the ground under the vehicle:
                # pitch = the beam's mounting angle; the horizontal channel is
                # given up for it (vertical kept), re-planned after
                bm = cfg.altimeter_beam_bau
                self.pitch_limit_bau = -bm if bm < 0 else bm
                self.keep_horizontal = False
                az = a0z if a0z > 0 else 1
                a0x = 0 if bm == 0 else (az if bm > 0 else -az)    # 45 deg: clamped at |bm|
            else:
                self.pitch_limit_bau = self._brake_lim
            self.accel_x_cmd_mm_s2 = a0x
            self.accel_z_cmd_mm_s2 = a0z if a0z > 0 else 0
            self.vz_ref_mm_s = vz + ((a0z - self._g) * self._replan_ms) // 1000
            self.cmd_seq += 1
        if t <= _T_MIN_MS:
            self._enter_terminal()

    def _look(self, nav, vx):
        """Braking toward unseen ground behind an edge (nav's shadow, along
        the direction of flight): turn the beam down in time (the attitude slew
        from now plus _LOOK_SETTLE_MS at the speed of now) so that the
        altimeter measures the ground under the vehicle while it crosses
        ground no ray has reached; until navigation has seen it level with the
        far side (once turned down, it stays down until then)."""
        sd = nav.shadow_dir
        look = False
        if sd != 0 and (vx > 0 if sd > 0 else vx < 0):
            ctrl = self._ctrl
            p = ctrl.pitch_cmd_bau if ctrl is not None else self.pitch_limit_bau
            p = p - self.cfg.altimeter_beam_bau
            p = -p if p < 0 else p                                   # < 2^16
            rate = self.cfg.max_pitch_rate_bau_s
            t_ms = (p * 1000) // (rate if rate > 0 else 1) + _LOOK_SETTLE_MS   # < 2^26
            t_ms = t_ms if t_ms < 8191 else 8191
            v = -vx if vx < 0 else vx                                 # <= 2^20
            lead = ((v >> 4) * t_ms) >> 6                            # ~ v t (2.4 % short), < 2^30
            look = self.looking or nav.shadow_mm <= lead + (lead >> 4)
        if look != self.looking:
            self.looking = look
            if look:
                self.looks += 1
            post(EV_SHADOW_LOOK, 1 if look else 0)
        return look

    def _plan_margin(self):
        """Propellant margin of the current plan (for telemetry; the terminal
        descent computes its own before deciding), published at once:
        plan delta-v ~ mean |a| * T (alpha-max-beta-min |a|) + terminal."""
        a = self._a
        # |a| of both ends by alpha-max-beta-min (max - max/32 + 3/8 min),
        # inline: a call per end costs fuel on the margin's cycle, which sets
        # the guide + control median (|a| <= _ACC_LIM: s < 2^19)
        x = a[0]
        z = a[1]
        x = -x if x < 0 else x
        z = -z if z < 0 else z
        s = x - (x >> 5) + (z >> 1) - (z >> 3) if x > z else z - (z >> 5) + (x >> 1) - (x >> 3)
        x = a[2]
        z = a[3]
        x = -x if x < 0 else x
        z = -z if z < 0 else z
        s += x - (x >> 5) + (z >> 1) - (z >> 3) if x > z else z - (z >> 5) + (x >> 1) - (x >> 3)
        t = self.tgo_ms
        if 0 <= s < 0x80000 and 0 <= t < 0x100000:
            # s * T / 2000 = floor(floor(s T / 2^11) * 1049 / 2^10), the floors
            # of fixed.mul_shift (whose wide path costs ~19 k fuel) on limbs:
            # s * (T >> 11) < 2^28, s * (T & 0x7FF) < 2^30, 25 * (d & 1023) < 2^15
            d = s * (t >> 11) + ((s * (t & 0x7FF)) >> 11)
            dv = d + 25 * (d >> 10) + ((25 * (d & 0x3FF)) >> 10)
        else:
            dv = fixed.mul_shift(fixed.mul_shift(s, t, 11), 1049, 10)
        self._margin_due = False
        self._margin(fixed.add_sat(dv, (self._g * self._term_ms) // 1000))

    def _margin(self, dv):
        ctrl = self._ctrl
        if ctrl is None:
            return
        m = ctrl.mass_mg
        prop_g = (m - ctrl.dry_mass_mg) // 1000
        dv = 0 if dv < 0 else (0x3FFFFF if dv > 0x3FFFFF else dv)
        c = self._c_mm_s
        if 0 < c < 0x400000:
            # dv / c in Q15 = fixed.div_shift(dv, c, 15) inline: the same long
            # division, 8 then 7 quotient bits (r < c < 2^22: r << 8 < 2^30)
            q = dv // c
            r = dv - q * c
            n = r << 8
            d = n // c
            q = (q << 8) + d
            frac = (q << 7) + (((n - d * c) << 7) // c)
        else:
            frac = fixed.div_shift(dv, c, 15)
        mg = m // 1000
        if 0 <= mg < 0x200000 and 0 <= frac < 0x10000:
            # fixed.mul_shift(mg, frac, 15) on limbs (its floor, exact):
            # frac = fh 2^15 + fl, mg = mh 2^15 + ml; every product < 2^30
            fl = frac & 0x7FFF
            need = mg * (frac >> 15) + (mg >> 15) * fl + (((mg & 0x7FFF) * fl) >> 15)
        else:
            need = fixed.mul_shift(mg, frac, 15)
        self.propellant_margin_g = prop_g - need

    def _enter_terminal(self):
        self._iz = 0
        self.keep_horizontal = False
        self.engine_on = True
        self.pitch_limit_bau = self.cfg.terminal_pitch_bau
        self._set_phase(PH_TERMINAL)

    # --- terminal descent, hover and safe descent --------------------------------
    def _terminal(self, nav, h, k):
        cfg = self.cfg
        phase = self.phase
        td_v = cfg.touchdown_vz_mm_s
        hp = h if h > 0 else 0
        rq = self._ramp_q20
        if hp < 0x8000:
            # fixed.mul_shift(hp, rq, 20) inline on limbs below 32 m (exact:
            # 0 <= rq < 2^30, both products < 2^30): ~3 k fuel less a cycle
            ramp = td_v + (((rq >> 15) * hp + (((rq & 0x7FFF) * hp) >> 15)) >> 5)
        else:
            ramp = td_v + fixed.mul_shift(hp, rq, 20)
        if phase == PH_HOVER:
            vz_ref = 0
            self.hover_ms += self._period_ms
        elif phase == PH_SAFE:
            sv = self._safe_v
            vz_ref = -(sv if ramp > sv else ramp)
        else:
            vz_ref = -(cfg.terminal_vz_mm_s if ramp > cfg.terminal_vz_mm_s else ramp)
        self.vz_ref_mm_s = vz_ref
        # (fixed.clamp inline on this per-cycle path: the same values)
        vz = nav.vz_mm_s
        vz = -_VEL_LIM if vz < -_VEL_LIM else (_VEL_LIM if vz > _VEL_LIM else vz)
        err = vz_ref - vz
        err = -0x7FFF if err < -0x7FFF else (0x7FFF if err > 0x7FFF else err)      # mm/s
        # integrator: Ki = 0.5 /s^2 -> per cycle err * 0.01 ; anti-windup: frozen
        # while the throttle is saturated in the direction of the error, and
        # while the error is beyond _IZ_BAND (the braking from the low gate's
        # -10 m/s to the ramp: wound up there, it held the vehicle at the
        # engine's floor 1 m/s slower than the ramp for ~20 s, nominal)
        ctrl = self._ctrl
        iz = self._iz
        if -_IZ_BAND <= err <= _IZ_BAND and (ctrl is None or not (
                (err > 0 and ctrl.sat_high) or (err < 0 and ctrl.sat_low))):
            iz += (err * 655) >> 16
            iz = -_IZ_LIM if iz < -_IZ_LIM else (_IZ_LIM if iz > _IZ_LIM else iz)
            self._iz = iz
        # Kv = 1.5 /s
        az = self._g + err + (err >> 1) + iz
        self.accel_z_cmd_mm_s2 = 0 if az < 0 else (_ACC_LIM if az > _ACC_LIM else az)
        self.engine_on = True
        if k != 0:
            return
        if phase == PH_TERMINAL and h > 2 * cfg.terminal_alt_mm:
            self._climb_out(nav, h)
            return
        if phase == PH_SAFE:
            self._safe_rate(hp)
        # 10 Hz: horizontal nulling (Kv 0.6 /s; position 0.04 /s^2 above 5 m)
        vx = fixed.clamp(nav.vx_mm_s, -_VEL_LIM, _VEL_LIM)
        ax = -((vx * 19661) >> 15) if -0x7FFF < vx < 0x7FFF else -(vx >> 1)
        if h > _XPOS_H_MM and phase == PH_TERMINAL:
            dx = fixed.clamp(fixed.sub_sat(self.site_x_mm, nav.x_mm), -200000, 200000)
            ax += (dx * 41) >> 10
        self.accel_x_cmd_mm_s2 = fixed.clamp(ax, -_ACC_LIM, _ACC_LIM)
        # attitude limit tapers to 1/4 of the terminal limit at the ground
        lim = cfg.terminal_pitch_bau
        if h < _XPOS_H_MM:
            lim = (lim >> 2) + ((lim - (lim >> 2)) * hp) // _XPOS_H_MM
        self.pitch_limit_bau = lim
        self.cmd_seq += 1
        # propellant for the rest of the descent: g * h / |vz_ref| (+ hover time)
        sp = -vz_ref if vz_ref < -100 else cfg.safe_vz_mm_s
        t_q10 = fixed.clamp(fixed.div_shift(hp, sp, 10), 0, 0xFFFFFF)   # seconds * 1024
        dv = fixed.mul_shift(self._g, t_q10, 10)
        self._margin(dv)
        if phase == PH_HOVER:
            if self.hover_ms >= cfg.hover_max_ms or self.propellant_margin_g < cfg.reserve_g:
                self._set_phase(PH_SAFE)
        elif phase == PH_TERMINAL and self.propellant_margin_g < 0:
            post(EV_NO_MARGIN, self.propellant_margin_g)
            self._set_phase(PH_SAFE)

    def _climb_out(self, nav, h):
        """A terminal descent far above the gate: braking again, re-planned
        from the state of now (T from a constant deceleration to the gate)."""
        bp = self.cfg.braking_pitch_bau
        mp = self.cfg.max_pitch_bau
        self.pitch_limit_bau = bp if 0 < bp < mp else mp
        vz = fixed.clamp(-nav.vz_mm_s, 1000, _VEL_LIM)
        dh = fixed.clamp(h - self.cfg.terminal_alt_mm, 0, _POS_LIM)
        self.tgo_ms = fixed.clamp(fixed.div_shift(dh, vz, 11), _T_MIN_MS, _T_MAX_MS)   # 2 dh / |vz| in ms ~ dh * 2048 / vz
        self._h_valid = False
        self._set_phase(PH_BRAKING)
        self._replan(nav, self._gate_h(h, nav.vz_mm_s))

    def _safe_rate(self, hp):
        """Safe descent rate: safe_vz, or 5/4 of the height over the hover time
        the propellant above the reserve buys, whichever is faster."""
        ctrl = self._ctrl
        cfg = self.cfg
        v = cfg.safe_vz_mm_s
        if ctrl is not None:
            m_g = ctrl.mass_mg // 1000
            p_g = (ctrl.mass_mg - ctrl.dry_mass_mg) // 1000 - cfg.reserve_g
            if p_g > 0 and m_g > 0:
                frac = fixed.div_shift(p_g, m_g, 15)                     # Q15, < 1
                t_ms = fixed.mul_shift(frac, self._hover_ms, 15)          # hover time, ms
                vp = fixed.div_shift(hp + (hp >> 2), t_ms if t_ms > 0 else 1, 10)   # mm/ms * 1024
                vp = fixed.mul_shift(vp, 1000, 10)                        # mm/s
                if vp > v:
                    v = vp
            else:
                v = _VEL_LIM          # below the reserve: the touchdown ramp alone
        self._safe_v = fixed.clamp(v, 0, _VEL_LIM)

    # --- warm restart ------------------------------------------------------------
    def checkpoint_into(self, words, offset):
        words[offset] = self.phase
        words[offset + 1] = self.site_x_mm
        words[offset + 2] = self.vz_ref_mm_s
        words[offset + 3] = self.propellant_margin_g
        words[offset + 4] = self.tgo_ms
        words[offset + 5] = self._iz
        words[offset + 6] = self.hover_ms
        words[offset + 7] = (1 if self.engine_on else 0) | (2 if self.aborted else 0)
        words[offset + 8] = self.pitch_limit_bau

    def restore_from(self, words, offset):
        self.phase = words[offset]
        self.site_x_mm = words[offset + 1]
        self.vz_ref_mm_s = words[offset + 2]
        self.propellant_margin_g = words[offset + 3]
        self.tgo_ms = words[offset + 4]
        self._iz = words[offset + 5]
        self.hover_ms = words[offset + 6]
        flags = words[offset + 7]
        self.engine_on = (flags & 1) != 0
        self.aborted = (flags & 2) != 0
        self.pitch_limit_bau = words[offset + 8]
        self._k = self.cfg.replan_cycles + _FRAME_WAIT - 1   # re-plan on the first cycle back
        self._margin_due = False
        self._h_valid = False                    # the height gate starts from nav's
