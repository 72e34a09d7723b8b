# The flight loop: sample sensors -> estimate -> guide -> control -> telemetry,
# at a fixed rate, with overrun detection, fault containment per stage and a
# watchdog fed only when every stage reported in the cycle.
# step(now_us) is one cycle with an injected clock (the simulator, the tests
# and the virtual board call it); run_forever() is the board's own schedule.
from array import array

from lander import fixed
from lander.compat import const, heap_lock, heap_unlock, ticks_us, ticks_diff, ticks_add
from lander.config import Config
from lander.control import Control
from lander.drivers import OK, BUS_ERROR
from lander.estimator import Nav
from lander.events import events
from lander.guidance import Guidance, PH_LANDED

EV_BOOT = const(0x0002)           # arg = config CRC
EV_STAGE_FAULT = const(0x0003)    # arg = stage id; the stage fell back this cycle
EV_OVERRUN = const(0x0004)        # arg = cycle time in us (saturated)
EV_TOUCHDOWN = const(0x0005)      # arg = leg contact mask
EV_ENGINE_CUT = const(0x0006)

# stage ids (bits of the per-cycle report mask)
ST_SAMPLE = const(1)
ST_ESTIMATE = const(2)
ST_GUIDE = const(4)
ST_CONTROL = const(8)
ST_TELEMETRY = const(16)
ST_ALL = const(31)

# seconds in Q20 per microsecond: 2^20 / 1e6 as Q20 (1099512 / 2^20)
_US_TO_S_Q20 = const(1099512)


class App:
    def __init__(self, board, cfg=None):
        self.board = board
        self.cfg = cfg if cfg is not None else Config()
        self.period_us = 1000000 // self.cfg.rate_hz
        self.nav = Nav(self.cfg)
        self.guid = Guidance(self.cfg)
        self.ctrl = Control(self.cfg)
        self.guid.attach_control(self.ctrl)
        self._acu = getattr(board, "attitude", None)
        self.cycle = 0
        self.overruns = 0
        self.stage_faults = 0
        self.report_mask = 0
        self.watchdog_feeds = 0
        self.last_us = 0
        self.started = False
        self.touchdown = False
        self.engine_cut = False
        self.imu_status = BUS_ERROR
        self.alt_status = BUS_ERROR
        self.events_sent = 0
        self._event = array("i", (0, 0, 0))   # (time_ms, code, arg) drained by telemetry
        events.post(EV_BOOT, self.cfg.crc)
        engine = board.engine
        if engine is not None:
            engine.arm()

    def handover(self, altitude_mm, vz_mm_s, vx_mm_s, pitch_bau):
        """State at powered-descent initiation, from the previous navigation."""
        self.nav.init_from(altitude_mm, vz_mm_s, vx_mm_s, pitch_bau)

    # --- one cycle ----------------------------------------------------------
    def step(self, now_us):
        if self.started:
            dt_us = ticks_diff(now_us, self.last_us)
        else:
            dt_us = self.period_us
            self.started = True
        if dt_us <= 0 or dt_us > 4 * self.period_us:
            dt_us = self.period_us   # clock glitch: assume the nominal period
        self.last_us = now_us
        events.now_ms = (now_us // 1000) & 0x3FFFFF
        dt_q20 = fixed.mul_shift(dt_us, _US_TO_S_Q20, 20)
        mask = 0
        try:
            self._sample()
            mask |= ST_SAMPLE
        except Exception:
            self._stage_fault(ST_SAMPLE)
        try:
            self._estimate(dt_q20)
            mask |= ST_ESTIMATE
        except Exception:
            self._stage_fault(ST_ESTIMATE)
        try:
            self.guid.update(self.nav, self.touchdown)
            mask |= ST_GUIDE
        except Exception:
            self._stage_fault(ST_GUIDE)
        try:
            self._control()
            mask |= ST_CONTROL
        except Exception:
            self._stage_fault(ST_CONTROL)
        try:
            self._telemetry()
            mask |= ST_TELEMETRY
        except Exception:
            self._stage_fault(ST_TELEMETRY)
        self.report_mask = mask
        self.cycle += 1
        wdt = self.board.wdt
        if mask == ST_ALL and wdt is not None:
            wdt.feed()
            self.watchdog_feeds += 1

    def _stage_fault(self, stage):
        self.stage_faults += 1
        events.post(EV_STAGE_FAULT, stage)

    def _sample(self):
        b = self.board
        # a read that raises leaves its sample marked unusable this cycle
        self.imu_status = BUS_ERROR
        self.alt_status = BUS_ERROR
        if b.imu is not None:
            self.imu_status = b.imu.read()
        if b.altimeter is not None:
            self.alt_status = b.altimeter.read()
        if b.legs is not None:
            b.legs.update()
            if b.legs.any_contact and not self.touchdown:
                self.touchdown = True
                events.post(EV_TOUCHDOWN, b.legs.contact_mask)

    def _estimate(self, dt_q20):
        b = self.board
        nav = self.nav
        imu = b.imu
        if imu is not None and self.imu_status == OK:
            nav.propagate(dt_q20, imu.accel_mm_s2[2], imu.accel_mm_s2[0], imu.gyro_urad_s[1])
        else:
            # no IMU sample: coast on the commanded thrust (fallback)
            nav.propagate(dt_q20, self._commanded_accel(), 0, 0)
        if b.altimeter is not None and self.alt_status == OK:
            nav.correct_altitude(b.altimeter.range_mm)

    def _commanded_accel(self):
        m_q = self.ctrl.mass_kg_q10
        if m_q <= 0:
            return 0
        return fixed.div_shift(self.ctrl.thrust_cmd_mn, m_q, 10)

    def _control(self):
        engine = self.board.engine
        if self.guid.phase == PH_LANDED:
            self.ctrl.cut()
            if not self.engine_cut:
                self.engine_cut = True
                events.post(EV_ENGINE_CUT, 0)
            if engine is not None:
                engine.set_throttle(0)
                engine.disarm()
            return
        ctrl = self.ctrl
        ctrl.update(self.guid, self.nav)
        acu = self._acu
        if acu is not None:
            acu.set_pitch(ctrl.pitch_cmd_bau)
        if engine is not None:
            engine.set_throttle(ctrl.throttle_q15)
            # with an attitude unit the gimbal keeps the thrust line through the
            # centre of mass (centred); without one it is the attitude path
            engine.set_pitch(0 if acu is not None else ctrl.pitch_cmd_bau)

    def _telemetry(self):
        # Skeleton: drain the event ring (the telemetry issue packetises them).
        ev = self._event
        while events.pop_into(ev):
            self.events_sent += 1

    # --- the board's own fixed-rate schedule --------------------------------
    def run_forever(self, cycles=-1):
        period = self.period_us
        next_us = ticks_us()
        while cycles != 0:
            now = ticks_us()
            heap_lock()
            try:
                self.step(now)
            except Exception:
                heap_unlock()
                self._stage_fault(0)
            heap_unlock()
            next_us = ticks_add(next_us, period)
            late = ticks_diff(ticks_us(), next_us)
            if late > 0:
                self.overruns += 1
                events.post(EV_OVERRUN, late if late < 0x3FFFFFFF else 0x3FFFFFFF)
                next_us = ticks_us()
            else:
                while ticks_diff(next_us, ticks_us()) > 0:
                    pass
            if cycles > 0:
                cycles -= 1
