# Engine and attitude actuators: throttle PWM, engine-arm output, pitch gimbal PWM.
#
# Both PWM channels are servo-style (RC/ESC convention): a pulse every 20 ms
# (50 Hz), 1000..2000 us; 1500 us is the gimbal centre. The pulse widths the
# part accepts are configuration (the engine controller's and the gimbal
# actuator's datasheet limits); every command is clamped to them, and each
# clamp is counted. Written through machine.PWM.duty_ns (rp2, esp32, stm32).
#
#   throttle: 0..32768 (units.THROTTLE_FULL) of max thrust
#             -> throttle_min_ns .. throttle_max_ns (linear)
#   pitch:    binary angle (2^16 per turn), signed, +/- max_pitch
#             -> centre_ns +/- (angle / travel) * half_span_ns
#   arm:      digital output, high = armed (engine controller enable line)
from lander.compat import const
from lander.events import post

_PWM_FREQ = const(50)                 # servo frame: 20 ms
_THROTTLE_FULL = const(32768)         # units.THROTTLE_FULL
_DEG_TO_BAU_X100 = const(18204)       # 65536 / 360 * 100

# Events (actuators 0x0150-0x015F)
EV_ENG_ARMED = const(0x0150)
EV_ENG_DISARMED = const(0x0151)
EV_ENG_THROTTLE_CLAMP = const(0x0152)   # first clamp after an unclamped command
EV_ENG_PITCH_CLAMP = const(0x0153)
EV_ENG_PWM_ERROR = const(0x0154)


class Engine:
    def __init__(self, throttle_pwm, arm_pin, gimbal_pwm=None,
                 throttle_min_ns=1000000, throttle_max_ns=2000000,
                 gimbal_centre_ns=1500000, gimbal_half_span_ns=500000,
                 gimbal_travel_deg=20, max_pitch_deg=15,
                 min_throttle=0):
        # start-up: validate the part limits (may raise)
        if not (500000 <= throttle_min_ns < throttle_max_ns <= 2500000):
            raise ValueError("throttle pulse limits")
        # a travel of 0 or below, or a negative pitch limit, would turn the
        # pitch clamp and the pulse scale inside out (set_pitch)
        if not (0 < gimbal_half_span_ns <= 1000000) or gimbal_travel_deg <= 0 \
                or not 0 <= max_pitch_deg <= gimbal_travel_deg:
            raise ValueError("gimbal limits")
        self._thr = throttle_pwm
        self._arm = arm_pin
        self._gim = gimbal_pwm
        self.throttle_min_ns = throttle_min_ns
        self.throttle_max_ns = throttle_max_ns
        # the pulse span in ns (whole us, as the part's limits are) as
        # c1 * 2^15 + c2, c2 < 2^15: set_throttle's pulse is then
        # min + q * c1 + (q * c2 >> 15), exact, with q * c2 < 2^30
        span_ns = (throttle_max_ns - throttle_min_ns) // 1000 * 1000
        self._thr_c1 = span_ns >> 15
        self._thr_c2 = span_ns & 0x7FFF
        self.gimbal_centre_ns = gimbal_centre_ns
        self.gimbal_half_span_ns = gimbal_half_span_ns
        travel_bau = (gimbal_travel_deg * _DEG_TO_BAU_X100) // 100
        self.max_pitch = (max_pitch_deg * _DEG_TO_BAU_X100) // 100   # binary angle
        # ns per binary-angle unit in Q8: half_span * 256 / travel (start-up)
        self._ns_per_bau_q8 = (gimbal_half_span_ns * 256) // travel_bau
        self.min_throttle = min_throttle        # Q15; below it (but > 0) -> min
        self.armed = False
        self.throttle = 0                       # last applied, 0..32768
        self.pitch = 0                          # last applied, binary angle
        self.throttle_ns = throttle_min_ns
        self.gimbal_ns = gimbal_centre_ns
        self.throttle_clamps = 0
        self.pitch_clamps = 0
        self.errors = 0
        self._thr_clamped = False
        self._pitch_clamped = False
        # No output is driven here: after a warm restart the engine controller
        # holds its last command on signal loss (DESIGN "Across a reset"), and
        # the flight executive re-arms and re-commands from its checkpoint.
        # On a cold start "no pulses, arm line low" is the safe state.
        throttle_pwm.freq(_PWM_FREQ)
        if gimbal_pwm is not None:
            gimbal_pwm.freq(_PWM_FREQ)

    def arm(self):
        self._arm.value(1)
        if not self.armed:
            self.armed = True
            post(EV_ENG_ARMED, 0)

    def disarm(self):
        self._write_throttle(self.throttle_min_ns)
        self.throttle = 0
        self._arm.value(0)
        if self.armed:
            self.armed = False
            post(EV_ENG_DISARMED, 0)

    def set_throttle(self, throttle_q):
        """Throttle 0..32768 of max thrust; clamped to the part's range."""
        q = throttle_q
        # one test for the nominal command (in range: no clamp state to write
        # unless a clamped run ends), ~1 k fuel a cycle less than flagging.
        # q < min and q != 0 is 0 < q < min once q >= 0 (and q < 0 is
        # tested last): two compares less than the chained form for a q in
        # 1..32768 with min 0
        if q > _THROTTLE_FULL or (q < self.min_throttle and q != 0) or q < 0:
            if q < 0:
                q = 0
            elif q > _THROTTLE_FULL:
                q = _THROTTLE_FULL
            if 0 < q < self.min_throttle:
                q = self.min_throttle
            self.throttle_clamps += 1
            if not self._thr_clamped:
                post(EV_ENG_THROTTLE_CLAMP, throttle_q if -0x3FFFFFFF < throttle_q < 0x3FFFFFFF else 0)
            self._thr_clamped = True
        elif self._thr_clamped:
            self._thr_clamped = False
        if not self.armed:
            q = 0
        self.throttle = q
        # ns = min + floor(q * span_ns / 32768) = min + q * c1 + floor(q * c2 / 32768),
        # exact (span_ns = c1 * 32768 + c2), < 2^30 throughout; two products
        # where x = q * span_us then x's two halves times 1000 took three
        # (~1 k fuel). With q in 0..32768 it lies in min..max, so
        # _write_throttle's clamp is not needed here: its write, inline (the
        # call and the clamp cost ~3 k fuel a cycle on the 32-bit interpreter)
        ns = self.throttle_min_ns + q * self._thr_c1 + ((q * self._thr_c2) >> 15)
        self.throttle_ns = ns
        try:
            self._thr.duty_ns(ns)
        except (OSError, ValueError):
            self.errors += 1
            post(EV_ENG_PWM_ERROR, 0)

    def _write_throttle(self, ns):
        if ns < self.throttle_min_ns:
            ns = self.throttle_min_ns
        elif ns > self.throttle_max_ns:
            ns = self.throttle_max_ns
        self.throttle_ns = ns
        try:
            self._thr.duty_ns(ns)
        except (OSError, ValueError):
            self.errors += 1
            post(EV_ENG_PWM_ERROR, 0)

    def set_pitch(self, angle):
        """Gimbal pitch in binary angle units (2^16/turn), clamped to +/- max_pitch."""
        a = angle
        lim = self.max_pitch
        clamped = False
        if a > lim:
            a = lim
            clamped = True
        elif a < -lim:
            a = -lim
            clamped = True
        if clamped:
            self.pitch_clamps += 1
            if not self._pitch_clamped:
                post(EV_ENG_PITCH_CLAMP, 1 if angle > 0 else -1)
        self._pitch_clamped = clamped
        self.pitch = a
        ns = self.gimbal_centre_ns + ((a * self._ns_per_bau_q8) >> 8)
        lo = self.gimbal_centre_ns - self.gimbal_half_span_ns
        hi = self.gimbal_centre_ns + self.gimbal_half_span_ns
        if ns < lo:
            ns = lo
        elif ns > hi:
            ns = hi
        self.gimbal_ns = ns
        if self._gim is not None:
            try:
                self._gim.duty_ns(ns)
            except (OSError, ValueError):
                self.errors += 1
                post(EV_ENG_PWM_ERROR, 1)
