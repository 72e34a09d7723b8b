# The flight executive: one fixed-rate loop
#     uplink -> sample sensors -> estimate -> guide -> control -> telemetry
# with overrun detection, per-stage timing, fault containment per stage, a
# watchdog fed only when every stage reported in the cycle, the mode machine
#     SAFE -> BIT -> ARMED -> POWERED_DESCENT -> LANDED | TIPPED -> POST_LANDING
# (every transition an event, an illegal one refused with a reason), and the
# warm restart: a checkpoint of the flight state every ckpt_period_ms (RTC /
# scratch memory) and every ckpt_flash_ms (flash); after a reset in powered
# descent the App resumes from it inside the engine controller's hold, without
# cutting the engine and without re-running the pre-flight sequence.
# step(now_us) is one cycle with an injected clock (the simulator, the tests
# and the virtual board call it); run_forever() is the board's own schedule.
#
# Fields for telemetry (the beacon and the housekeeping packets): mode,
# build_id, cfg.crc, cfg_status, reset_cause, restarts, warm, resume_age_us,
# first_command_us, cycle, overruns, stage_faults, stage_fault_count[i],
# stage_us[i] / stage_max_us[i] (i = bit number of ST_*), cycle_us,
# cycle_max_us, rate_hz, degraded, watchdog_feeds, bit_result, beacon_on,
# sensor_mask, cmd.accepted / cmd.rejected / cmd.last_reason / cmd.rejects[r],
# cmd.last_hi/last_lo (counter), cmd.time_sync, cmd.dump (black-box request).
from array import array

from lander import checkpoint as ckpt_mod
from lander import config as config_mod
from lander import fixed
from lander.compat import const, heap_lock, heap_unlock, ticks_us, ticks_diff, ticks_add
from lander.config import Config, CFG_OK
from lander import control as control_mod
from lander.control import Control
from lander.drivers import OK, BUS_ERROR, DISABLED
from lander import estimator as estimator_mod
from lander.estimator import Nav
from lander.events import events, post
from lander import guidance as guidance_mod
from lander.guidance import Guidance, PH_LANDED
from lander.telemetry.stage import Telemetry

from lander.build import BUILD_ID

EV_BOOT = const(0x0002)           # arg = config CRC
EV_STAGE_FAULT = const(0x0003)    # arg = stage id; the stage fell back this cycle
EV_OVERRUN = const(0x0004)        # arg = cycle time in us (saturated)
EV_TOUCHDOWN = const(0x0005)      # arg = leg contact mask
EV_ENGINE_CUT = const(0x0006)
EV_MODE = const(0x0007)           # arg = old mode << 4 | new mode
EV_MODE_REFUSED = const(0x0008)   # arg = reason << 4 | requested mode
EV_RESET_CAUSE = const(0x0009)    # arg = machine.reset_cause() at boot
EV_WARM_RESTART = const(0x000A)   # arg = checkpoint age at resume in ms (saturated)
EV_CKPT_NONE = const(0x000B)      # no resumable checkpoint (arg: 1 none, 2 not in descent)
EV_CONFIG_BAD = const(0x000C)     # arg = reason << 8 | field index (config.CFG_*)
EV_RATE_DEGRADED = const(0x000D)  # arg = new loop rate in Hz
EV_ARM_INPUT = const(0x000E)      # arg = level of the hardware arm input when it changed
EV_BIT = const(0x000F)            # arg = built-in test result (0 = pass)
EV_CKPT_WRITE_ERROR = const(0x0010)  # arg = 1 RTC/scratch, 2 flash
EV_STAGE_SLOW = const(0x0011)     # arg = stage id << 16 | its time in ms (saturated)
EV_SENSOR_MASK = const(0x0012)    # arg = the sensor mask now applied (bit per SENSOR_*)

# sensors the executive can disable (bit numbers of sensor_mask; config key
# sensor_mask, telecommand `sensor part on`): a disabled sensor is not read
# (its driver is not called: no bus transfer) and reads as DISABLED in the
# sensor status fields of the telemetry
SENSOR_IMU = const(0)
SENSOR_IMU2 = const(1)
SENSOR_ALT = const(2)
N_SENSORS = const(3)

# modes
MODE_SAFE = const(0)
MODE_BIT = const(1)
MODE_ARMED = const(2)
MODE_POWERED = const(3)
MODE_LANDED = const(4)
MODE_TIPPED = const(5)
MODE_POST = const(6)
MODE_NAMES = ("SAFE", "BIT", "ARMED", "POWERED_DESCENT", "LANDED", "TIPPED", "POST_LANDING")

# legal transitions: bit (1 << new) set in _LEGAL[old]
_LEGAL = (
    (1 << MODE_BIT),                                          # SAFE -> BIT
    (1 << MODE_SAFE) | (1 << MODE_ARMED),                     # BIT -> SAFE | ARMED
    (1 << MODE_SAFE) | (1 << MODE_POWERED),                   # ARMED -> SAFE | POWERED
    (1 << MODE_LANDED) | (1 << MODE_TIPPED),                  # POWERED -> LANDED | TIPPED
    (1 << MODE_POST) | (1 << MODE_TIPPED),                    # LANDED -> POST | TIPPED
    (1 << MODE_POST),                                         # TIPPED -> POST
    0,                                                        # POST_LANDING: final
)

# reasons a transition (or an arm) is refused (EV_MODE_REFUSED arg >> 4)
WHY_ILLEGAL = const(1)       # not a legal transition from the current mode
WHY_CONFIG = const(2)        # the configuration file was refused at boot
WHY_ARM_INPUT = const(3)     # the hardware arm input is not set
WHY_BIT = const(4)           # the built-in test failed
WHY_BENCH = const(5)         # bench mode: engine outputs inhibited

class _SensorOff:
    """Stands in for a disabled sensor's driver: read() answers DISABLED without
    a bus transfer (the driver object and its last values are kept aside)."""
    status = DISABLED
    enabled = False

    def __init__(self, driver):
        self.driver = driver

    def read(self):
        return DISABLED


# app words at the start of the checkpoint payload
_CK_MODE = const(0)
_CK_TICKS = const(1)
_CK_CTR_HI = const(2)
_CK_CTR_LO = const(3)
_CK_FLAGS = const(4)
_CK_CYCLE = const(5)
_CK_RESTARTS = const(6)
_CK_CFG_CRC = const(7)
APP_CHECKPOINT_WORDS = const(8)
_F_TOUCHDOWN = const(1)
_F_ENGINE_CUT = const(2)
_F_ARMED = const(4)
_F_SENSORS_OFF_SHIFT = const(8)     # flags bits 8..15: sensors disabled (~sensor_mask)

CKPT_RTC_SLOT = const(0)
CKPT_FILE_PATH = "/ckpt.bin"
_MAX_GAP_US = const(3000000)        # a measured reset gap beyond this is not believed
_TIPPED_BAU = const(8192)           # |pitch| above 45 deg on the ground: tipped
_POST_LANDING_CYCLES_S = const(5)   # LANDED -> POST_LANDING after this many seconds
_OVERRUN_WINDOW = const(50)         # cycles per overrun-statistics window
_OVERRUN_DEGRADE = const(10)        # overruns in a window that halve the rate
_MIN_RATE_HZ = const(10)

# stage ids (bits of the per-cycle report mask)
ST_SAMPLE = const(1)
ST_ESTIMATE = const(2)
ST_GUIDE = const(4)
ST_CONTROL = const(8)
ST_TELEMETRY = const(16)
ST_UPLINK = const(32)
ST_ALL = const(63)
N_STAGES = const(6)                 # stage_us / stage_max_us index = bit number

_SEAL_WORDS = const(19)             # checkpoint words of CRC per cycle while a record is sealed
                                    # (the 56-word record in 3 cycles, inside the 5-cycle RTC cadence)
_HINT_MAX_CYCLES = const(1000)      # a hint this many cycles past its record is not believed
# gyro urad/s -> binary angle * 16 per second, Q20: 2^40 / (2 pi 1e6)
_URAD_TO_BAU16_Q20 = const(174991)


def coast_pitch(pitch_bau, rate_urad_s, hold_bau, steps, cfg, rate_hz):
    """The pitch (bau) `steps` periods after a state (pitch, pitch rate) while
    the attitude unit flies to the held set-point hold_bau: the vehicle's
    attitude response as a rate command (hold - pitch) / att_tau_ms, clamped to
    max_pitch_rate, followed by the rate with a first-order lag att_lag_ms;
    integrated once per period in binary angle * 16. Restart path only.
    Ranges: |d| <= 2^18 and kb <= 2^11 (d * kb < 2^29); |e| <= 2^14 and
    ka <= 2^15 (e * ka < 2^29)."""
    period_ms = 1000 // rate_hz
    tau = cfg.att_tau_ms
    kb = (period_ms << 11) // tau if tau > period_ms else 2048          # Q11 per period
    lag = cfg.att_lag_ms
    ka = (period_ms << 15) // lag if lag > period_ms else 32768         # Q15 per period
    qm = (cfg.max_pitch_rate_bau_s << 4) // rate_hz                     # bau * 16 per period
    p = pitch_bau << 4
    c = hold_bau << 4
    q = fixed.mul_shift(rate_urad_s, _URAD_TO_BAU16_Q20 // rate_hz, 20)
    for _ in range(steps):
        d = fixed.clamp(c - p, -0x3FFFF, 0x3FFFF)
        qc = fixed.clamp((d * kb) >> 11, -qm, qm)
        e = fixed.clamp(qc - q, -0x3FFF, 0x3FFF)
        q += (e * ka) >> 15
        p += q
    return (p + 8) >> 4


# seconds in Q20 per microsecond: 2^20 / 1e6 as Q20 (1099512 / 2^20)
_US_TO_S_Q20 = const(1099512)


class App:
    def __init__(self, board, cfg=None, cfg_status=CFG_OK, cfg_arg=0):
        boot_us = ticks_us()
        self.board = board
        cfg = cfg if cfg is not None else Config()
        self.cfg = cfg
        self.cfg_status = cfg_status        # config.CFG_* reason (0 = valid file)
        self.build_id = BUILD_ID
        self.period_us = 1000000 // cfg.rate_hz
        self.rate_hz = cfg.rate_hz
        self.nav = Nav(cfg)
        self.guid = Guidance(cfg)
        self.ctrl = Control(cfg)
        self.guid.attach_control(self.ctrl)
        self._acu = getattr(board, "attitude", None)
        self._gimbal_sent = None              # last gimbal set-point written (App._control)
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
        self.imu2_status = BUS_ERROR
        self.alt_status = BUS_ERROR
        self._imu2 = getattr(board, "imu2", None)   # boards without a second IMU
        # the real drivers of the sensors the mask can disable (None: absent)
        self._sensor_drv = [getattr(board, "imu", None), self._imu2,
                            getattr(board, "altimeter", None)]
        self.events_sent = 0
        # executive state
        self.mode = MODE_SAFE
        self.mode_refusals = 0
        self.bit_result = -1                  # -1: not run; 0 pass; else the test's code
        self.stage_us = array("i", bytes(4 * N_STAGES))      # this cycle, per stage
        self.stage_max_us = array("i", bytes(4 * N_STAGES))
        self.stage_fault_count = array("i", bytes(4 * N_STAGES))
        # this cycle's stage starts (step; App._housekeeping; [4] unused):
        # a list of small ints (ticks < 2^30), an item store ~100 fuel less
        # than an array's
        self._ticks = [0] * N_STAGES
        self.cycle_us = 0                     # last cycle's duration
        self.cycle_max_us = 0
        self.overrun_window = 0
        self.degraded = False
        self._landed_cycles = 0
        self.arm_input_level = -1
        self.beacon_on = False
        self.sensor_mask = 0xFF               # bit per sensor read (SENSOR_*; cmd_sensor)
        self._apply_sensor_mask(cfg.sensor_mask)
        self.reset_cause = getattr(board, "reset_cause", 0)
        self.restarts = 0                     # warm restarts in this flight
        self.warm = False                     # this boot resumed from a checkpoint
        self.resume_age_us = 0                # checkpoint age at the first command
        self.boot_us = boot_us
        self.first_command_us = -1            # boot (App built) to the first engine command, us
        self._gap_us = 0                      # pending dead-reckoning gap (warm restart)
        self._wdt_start = getattr(board.wdt, "start", None)   # started at the first cycle
        self._nav_gap = getattr(self.nav, "restart_gap", None)  # nav.restart_gap(gap_us) if it has one
        self._nav_pitch = getattr(self.nav, "restart_pitch", None)
        self._hint = array("i", bytes(4 * 6))  # restart hint: restarts, cycle, ticks, hold, pitch, rate
        self._hint_ok = False
        post(EV_BOOT, cfg.crc)
        post(EV_RESET_CAUSE, self.reset_cause)
        if cfg_status != CFG_OK:
            post(EV_CONFIG_BAD, (cfg_status << 8) | (cfg_arg & 0xFF))
        # telecommands (the key is provisioned in its own file)
        opener = getattr(board, "opener", None)
        self.cmd = None
        try:
            from lander.commands import Commands
            self.cmd = Commands(self, Commands.load_key(opener))
        except ImportError:
            pass
        # checkpoint: app words, then nav, guidance, control
        self._ck_nav = APP_CHECKPOINT_WORDS
        self._ck_guid = self._ck_nav + estimator_mod.CHECKPOINT_WORDS
        self._ck_ctrl = self._ck_guid + guidance_mod.CHECKPOINT_WORDS
        n = self._ck_ctrl + control_mod.CHECKPOINT_WORDS
        self.ckpt = ckpt_mod.Checkpoint(n)
        self.ckpt_every = self._cycles(cfg.ckpt_period_ms)
        self.ckpt_flash_every = self._cycles(cfg.ckpt_flash_ms)
        self._ckpt_count = 0
        self._ckpt_flash_count = 0
        self._flash_due = False               # a flash write waits for the next record sealed
        self._snap_cycle = 0                  # cycle of the record being sealed (its snapshot)
        self._period_ms = self.period_us // 1000
        self.ckpt_age_ms = 0xFFFF             # age of the last sealed checkpoint (0xFFFF: none)
        self.ckpt_rtc = ckpt_mod.RtcStore(board.rtc) if getattr(board, "rtc", None) is not None else None
        self.ckpt_file = ckpt_mod.FileStore(CKPT_FILE_PATH, self.ckpt.slot_bytes, opener) \
            if opener is not None else None
        self.tlm = Telemetry(self, board, cfg)
        self._restore()

    def _cycles(self, ms):
        n = (ms * self.rate_hz) // 1000
        return n if n > 0 else 1

    # --- warm restart -------------------------------------------------------
    def _restore(self):
        """Start-up: resume from the newest valid checkpoint if it was written in
        powered descent (start-up only: allocates)."""
        ck = self.ckpt
        words = ck.words
        seq = -1
        tmp = array("i", bytes(4 * ck.n))
        newest_file_slot = -1
        rtc_blob = b""
        for store in (self.ckpt_rtc, self.ckpt_file):
            if store is None:
                continue
            blob = store.read()
            if store is self.ckpt_rtc:
                rtc_blob = blob
            s = ckpt_mod.best(blob, ck.n, tmp)
            if s > seq:
                seq = s
                for i in range(ck.n):
                    words[i] = tmp[i]
        if self.ckpt_file is not None:
            newest_file_slot = self.ckpt_file.newest_slot(ck.n)
            self.ckpt_file.open(newest_file_slot)
        # the RTC records stay in the image this boot writes (the hint every
        # cycle): a second reset before the next record is sealed finds them
        ck.adopt(rtc_blob)
        if seq < 0:
            post(EV_CKPT_NONE, 1)
            return False
        ck.seq = seq
        if words[_CK_MODE] != MODE_POWERED:
            post(EV_CKPT_NONE, 2)
            return False
        self.nav.restore_from(words, self._ck_nav)
        self.guid.restore_from(words, self._ck_guid)
        self.ctrl.restore_from(words, self._ck_ctrl)
        flags = words[_CK_FLAGS]
        self._apply_sensor_mask(0xFF & ~(flags >> _F_SENSORS_OFF_SHIFT))
        self.touchdown = bool(flags & _F_TOUCHDOWN)
        self.engine_cut = bool(flags & _F_ENGINE_CUT)
        self.cycle = words[_CK_CYCLE]
        self.restarts = words[_CK_RESTARTS] + 1
        if self.cmd is not None:
            self.cmd.set_counter(words[_CK_CTR_HI], words[_CK_CTR_LO])
        self.mode = MODE_POWERED        # no pre-flight: straight back into the descent
        self.warm = True
        self._ck_ticks = words[_CK_TICKS]
        self._gap_us = -1               # measured at the first step
        self._hint_ok = self._pick_hint(rtc_blob, words[_CK_RESTARTS], words[_CK_CYCLE])
        # re-arm and re-command the held values now, then fly on at the first step
        engine = self.board.engine
        if engine is not None and not self.engine_cut and self._engine_allowed() == 0:
            engine.arm()
            engine.set_throttle(self.ctrl.throttle_q15)
            engine.set_pitch(self.ctrl.pitch_cmd_bau)
            self._gimbal_sent = None          # App._control writes the gimbal again
        self._start_watchdog()
        return True

    def _pick_hint(self, blob, restarts, cycle):
        """The newer restart hint of this flight's life (same restart count)
        written at or after the record's cycle, into self._hint (start-up)."""
        out = array("i", bytes(4 * 6))
        best = -1
        for k in range(2):
            if ckpt_mod.parse_hint(blob, self.ckpt.n, k, out) and out[0] == restarts \
                    and cycle <= out[1] <= cycle + _HINT_MAX_CYCLES and out[1] > best:
                best = out[1]
                for i in range(6):
                    self._hint[i] = out[i]
        return best >= 0

    def _checkpoint(self, now=False):
        """The flight state into a record: RTC/scratch every ckpt_every cycles,
        flash every ckpt_flash_every (a board without RTC/scratch memory makes
        a record at the flash cadence only); the restart hint into RTC/scratch
        every cycle. A record is begun in one cycle (the snapshot: the stages'
        words, copied into the free slot) and sealed over the next ones,
        _SEAL_WORDS words of CRC a cycle, so no cycle carries a whole seal; the
        older record stays the valid one until the new one is sealed. A flash
        write that falls due goes with the next record sealed. now: make and
        store a record at once (the reset telecommand). Allocation-free."""
        rtc = self.ckpt_rtc
        ck = self.ckpt
        a = self.ckpt_age_ms + self._period_ms      # the newest valid record ages
        self.ckpt_age_ms = a if a < 0xFFFF else 0xFFFF
        if rtc is not None:
            self._ckpt_count += 1
            nav = self.nav
            ck.hint(self.restarts, self.cycle & 0x3FFFFFFF, self.last_us, self.ctrl.pitch_cmd_bau,
                    nav.pitch_bau, nav.pitch_rate_urad_s)
        self._ckpt_flash_count += 1
        if self._ckpt_flash_count >= self.ckpt_flash_every:
            self._ckpt_flash_count = 0
            self._flash_due = True
        if ck.sealing:
            if ck.work(ck.n if now else _SEAL_WORDS):
                self._stored()
            elif rtc is not None:
                rtc.write(ck, ck.last)       # the hint (a failure is counted by the store)
            if not now:
                return
        if not (now or self._flash_due or (rtc is not None and self._ckpt_count >= self.ckpt_every)):
            if rtc is not None:
                rtc.write(ck, ck.last)       # the hint
            return
        w = ck.words
        w[_CK_MODE] = self.mode
        w[_CK_TICKS] = self.last_us
        c = self.cmd
        if c is not None:
            w[_CK_CTR_HI] = c.last_hi
            w[_CK_CTR_LO] = c.last_lo
        flags = 0
        if self.touchdown:
            flags |= _F_TOUCHDOWN
        if self.engine_cut:
            flags |= _F_ENGINE_CUT
        flags |= (~self.sensor_mask & 0xFF) << _F_SENSORS_OFF_SHIFT
        w[_CK_FLAGS] = flags
        w[_CK_CYCLE] = self.cycle & 0x3FFFFFFF
        w[_CK_RESTARTS] = self.restarts
        w[_CK_CFG_CRC] = self.cfg.crc
        self.nav.checkpoint_into(w, self._ck_nav)
        self.guid.checkpoint_into(w, self._ck_guid)
        self.ctrl.checkpoint_into(w, self._ck_ctrl)
        ck.begin()
        self._snap_cycle = self.cycle
        self._ckpt_count = 0
        if now:
            ck.work(ck.n)
            self._flash_due = True           # this very cycle's record onto flash too
            self._stored()
        elif rtc is not None:
            rtc.write(ck, ck.last)           # the hint; the slot being sealed reads as torn

    def _stored(self):
        """A record was sealed: into RTC/scratch memory, and onto flash if a
        flash write is due."""
        ck = self.ckpt
        slot = ck.last
        a = (self.cycle - self._snap_cycle + 1) * self._period_ms
        self.ckpt_age_ms = a if a < 0xFFFF else 0xFFFF
        rtc = self.ckpt_rtc
        if rtc is not None and not rtc.write(ck, slot):
            post(EV_CKPT_WRITE_ERROR, 1)
        if self._flash_due:
            self._flash_due = False
            if self.ckpt_file is not None and not self.ckpt_file.write(ck, slot):
                post(EV_CKPT_WRITE_ERROR, 2)

    # --- modes --------------------------------------------------------------
    def set_mode(self, new):
        """Take a transition if it is legal; else refuse it with a reason."""
        old = self.mode
        if new == old:
            return True
        if not (_LEGAL[old] >> new) & 1:
            self._refuse(new, WHY_ILLEGAL)
            return False
        self.mode = new
        post(EV_MODE, (old << 4) | new)
        return True

    def _refuse(self, new, why):
        self.mode_refusals += 1
        post(EV_MODE_REFUSED, (why << 4) | new)

    def _engine_allowed(self):
        """0 if the engine may be armed, else the WHY_ reason (interlocks)."""
        if self.cfg.bench_mode:
            return WHY_BENCH
        pin = getattr(self.board, "arm_input", None)
        if pin is not None and not pin.value():
            return WHY_ARM_INPUT
        return 0

    def built_in_test(self):
        """The navigation issue's built-in test where it exists (0 = pass)."""
        bit = getattr(self.nav, "built_in_test", None)
        r = 0
        if bit is not None:
            try:
                r = bit(self.board)
            except Exception:
                r = 0xFF
        self.bit_result = r
        post(EV_BIT, r)
        return r

    def arm(self):
        """SAFE -> BIT -> ARMED (a telecommand, or the handover). True if armed."""
        if self.mode == MODE_ARMED:
            return True
        if self.mode != MODE_SAFE:
            self._refuse(MODE_ARMED, WHY_ILLEGAL)
            return False
        if self.cfg_status != CFG_OK:
            self._refuse(MODE_ARMED, WHY_CONFIG)
            return False
        why = self._engine_allowed()
        if why == WHY_ARM_INPUT:
            self._refuse(MODE_ARMED, why)
            return False
        self.set_mode(MODE_BIT)
        if self.built_in_test() != 0:
            self._refuse(MODE_ARMED, WHY_BIT)
            self.set_mode(MODE_SAFE)
            return False
        self.set_mode(MODE_ARMED)
        return True

    def disarm(self):
        if self.mode != MODE_ARMED:
            self._refuse(MODE_SAFE, WHY_ILLEGAL)
            return False
        engine = self.board.engine
        if engine is not None:
            engine.disarm()
        return self.set_mode(MODE_SAFE)

    def ignite(self):
        """ARMED -> POWERED_DESCENT: arm the engine (interlocks permitting)."""
        if not self.set_mode(MODE_POWERED):
            return False
        why = self._engine_allowed()
        engine = self.board.engine
        if why != 0:
            post(EV_MODE_REFUSED, (why << 4) | MODE_POWERED)
        elif engine is not None:
            engine.arm()
        return True

    def handover(self, altitude_mm, vz_mm_s, vx_mm_s, pitch_bau):
        """State at powered-descent initiation, from the previous navigation:
        arm (built-in test included) if not yet armed, then powered descent. At
        this point the vehicle is already falling: a failed test or a refused
        configuration is reported, but the descent is flown."""
        self.nav.init_from(altitude_mm, vz_mm_s, vx_mm_s, pitch_bau)
        if self.mode == MODE_SAFE and not self.arm():
            # report done by arm(); force the pre-flight modes through
            self.mode = MODE_ARMED
            post(EV_MODE, (MODE_SAFE << 4) | MODE_ARMED)
        if self.mode == MODE_ARMED:
            self.ignite()
        self._start_watchdog()

    # --- one cycle ----------------------------------------------------------
    def step(self, now_us):
        # the control path: the clock, then uplink -> sample -> estimate ->
        # guide -> control (the engine and attitude commands); everything after
        # the command outputs is App._housekeeping's
        # the period in seconds, Q20: floor(dt_us * 1099512 / 2^20) (1099512 =
        # 2^40 / 10^6 rounded) = dt_us + floor(dt_us * 50936 / 2^20) since
        # 1099512 = 2^20 + 50936: inline (~6 k fuel less than fixed.mul_shift,
        # the same value) while the product stays under 2^30 (dt_us < 21000)
        if self.started:
            dt_us = ticks_diff(now_us, self.last_us)
            if 0 < dt_us < 21000:
                # the nominal period and its jitter: no clock glitch (that is
                # beyond 4 periods, >= 40 ms at rate_hz <= 100), one test for
                # both (~0.5 k fuel less a cycle)
                dt_q20 = dt_us + ((dt_us * 50936) >> 20)
            else:
                if dt_us <= 0 or dt_us > 4 * self.period_us:
                    dt_us = self.period_us   # clock glitch: assume the nominal period
                dt_q20 = fixed.mul_shift(dt_us, _US_TO_S_Q20, 20)
        elif self._gap_us != 0:
            # first cycle after a warm restart: dead-reckon over the gap since
            # the checkpoint (ticks continue across a reset on the sim bench; a
            # port whose ticks restart gives an unbelievable gap: assume one).
            # (a gap is pending only before the first cycle: tested after
            # `started`, an attribute load a cycle less)
            gap = ticks_diff(now_us, self._ck_ticks)
            if gap <= 0 or gap > _MAX_GAP_US:
                gap = self.cfg.reboot_est_ms * 1000 + int(ticks_diff(now_us, self.boot_us))
                if gap <= 0 or gap > _MAX_GAP_US:
                    gap = self.period_us
            self.resume_age_us = gap
            events.post(EV_WARM_RESTART, gap // 1000 if gap < 0x3FFFFFFF else 0x3FFFFF)
            if self._nav_gap is not None:
                self._nav_gap(gap)          # navigation widens its uncertainties
            nav_pitch = self._nav_pitch
            if self._hint_ok and nav_pitch is not None:
                # the pitch now, predicted from the hint (the pitch, its rate
                # and the set-point the attitude unit held through the reset)
                # over the time since the hint with the vehicle's attitude
                # response (att_tau_ms, att_lag_ms): the gyro was not read in
                # the gap; the hint is newer than the record by its ticks
                h = self._hint
                dt = gap - ticks_diff(h[2], self._ck_ticks)
                steps = (dt + (self.period_us >> 1)) // self.period_us
                if 0 < steps <= _MAX_GAP_US // self.period_us:
                    nav_pitch(coast_pitch(h[4], h[5], h[3], steps, self.cfg, self.rate_hz))
            dt_q20 = fixed.mul_shift(gap, _US_TO_S_Q20, 20)
            self.started = True
            self._gap_us = 0
        else:
            dt_q20 = fixed.mul_shift(self.period_us, _US_TO_S_Q20, 20)   # the first cycle
            self.started = True
        self.last_us = now_us
        events.now_ms = (now_us // 1000) & 0x3FFFFF
        # every stage's bit, cleared by the stage that raises (the watchdog
        # is fed only when all reported): one operation per fault, not one
        # per stage per cycle (~460 fuel each on the 32-bit interpreter)
        mask = ST_ALL
        # stage times: only the clock readings at the stage boundaries here
        # (tk[i] = the start of stage i, i = bit number of ST_*; the uplink's
        # is the cycle's start, telemetry's the end of control, passed to
        # App._housekeeping as its argument); App._housekeeping makes stage_us /
        # stage_max_us of them after the command outputs (nothing reads
        # those before): a reading and a store per stage on the control path
        # instead of a reading, a difference, a store and a maximum (~1.2 k
        # fuel less per stage; with the after-command work moved, the loop's
        # own code 57.2 k -> 28.2 k fuel per cycle)
        # (`# type: ignore` below: the port stubs type ticks_us as _TicksUs,
        # an int below 2^30 on every port: a small int in the list)
        tk = self._ticks
        tick = ticks_us                  # a local: read 6 times here
        tk[5] = tick()  # type: ignore
        try:
            self._uplink()
        except Exception:
            mask &= ~ST_UPLINK
            self._stage_fault(ST_UPLINK)
        tk[0] = tick()  # type: ignore
        try:
            self._sample()
        except Exception:
            mask &= ~ST_SAMPLE
            self._stage_fault(ST_SAMPLE)
        tk[1] = tick()  # type: ignore
        try:
            self._estimate(dt_q20)
        except Exception:
            mask &= ~ST_ESTIMATE
            self._stage_fault(ST_ESTIMATE)
        tk[2] = tick()  # type: ignore
        try:
            self.guid.update(self.nav, self.touchdown)
        except Exception:
            mask &= ~ST_GUIDE
            self._stage_fault(ST_GUIDE)
        tk[3] = tick()  # type: ignore
        try:
            self._control()
        except Exception:
            mask &= ~ST_CONTROL
            self._stage_fault(ST_CONTROL)
        # the end of control (the commands are out) read as the call's
        # argument: a list store less than in tk[4] (~0.4 k fuel)
        self._housekeeping(mask, tick())

    def _housekeeping(self, mask, t5):
        """The rest of the cycle, after the engine and attitude commands went
        out: telemetry, the mode machine, the checkpoint, and the cycle's
        statistics (stage and cycle times, the cycle counter, the report mask,
        the watchdog), in this order. Nothing here is needed by this cycle's
        commands (the stage times are made of the readings step took), so it
        is not on the control path: lander perf reports it as its own stage
        (telemetry and the checkpoint inside it as theirs). mask: the
        stages that reported (ST_*); t5: the clock at the end of control."""
        tk = self._ticks
        tdiff = ticks_diff
        if self.first_command_us < 0:
            self.first_command_us = tdiff(t5, self.boot_us)
        try:
            self._telemetry()
        except Exception:
            mask &= ~ST_TELEMETRY
            self._stage_fault(ST_TELEMETRY)
        t6 = ticks_us()
        su = self.stage_us
        mx = self.stage_max_us
        t0 = tk[5]                       # the cycle's start
        d = tdiff(tk[0], t0)             # uplink
        su[5] = d
        if d > mx[5]:
            mx[5] = d
        d = tdiff(tk[1], tk[0])          # sample
        su[0] = d
        if d > mx[0]:
            mx[0] = d
        d = tdiff(tk[2], tk[1])          # estimate
        su[1] = d
        if d > mx[1]:
            mx[1] = d
        d = tdiff(tk[3], tk[2])          # guide
        su[2] = d
        if d > mx[2]:
            mx[2] = d
        d = tdiff(t5, tk[3])             # control
        su[3] = d
        if d > mx[3]:
            mx[3] = d
        d = tdiff(t6, t5)                # telemetry
        su[4] = d
        if d > mx[4]:
            mx[4] = d
        self._modes()
        try:
            self._checkpoint()
        except Exception:
            events.post(EV_CKPT_WRITE_ERROR, 0)
        self.report_mask = mask
        self.cycle += 1
        c = tdiff(ticks_us(), t0)
        self.cycle_us = c
        if c > self.cycle_max_us:
            self.cycle_max_us = c
        wdt = self.board.wdt
        if mask == ST_ALL and wdt is not None:
            wdt.feed()
            self.watchdog_feeds += 1

    def _start_watchdog(self):
        start = self._wdt_start
        if start is not None:
            self._wdt_start = None
            start()

    def _stage_fault(self, stage):
        self.stage_faults += 1
        i = 0
        while (1 << i) < stage:
            i += 1
        if i < N_STAGES:
            self.stage_fault_count[i] += 1
        post(EV_STAGE_FAULT, stage)
        if stage == ST_CONTROL:
            self._control_fallback()

    def _control_fallback(self):
        """Control raised: hold the last command (the engine keeps its throttle;
        an unarmed engine stays off)."""
        engine = self.board.engine
        if engine is not None and self.mode == MODE_POWERED and not self.engine_cut:
            engine.set_throttle(self.ctrl.throttle_q15)
            engine.set_pitch(self.ctrl.pitch_cmd_bau)
            self._gimbal_sent = None          # App._control writes the gimbal again

    def _modes(self):
        m = self.mode
        if m == MODE_POWERED:
            if self.touchdown or self.guid.phase == PH_LANDED:
                p = self.nav.pitch_bau
                if p > _TIPPED_BAU or p < -_TIPPED_BAU:
                    self.set_mode(MODE_TIPPED)
                else:
                    self.set_mode(MODE_LANDED)
                self._landed_cycles = 0
        elif m == MODE_LANDED or m == MODE_TIPPED:
            self._landed_cycles += 1
            if self._landed_cycles >= _POST_LANDING_CYCLES_S * self.rate_hz:
                self.set_mode(MODE_POST)
                self.beacon_on = True
        # a plain attribute read (~0.5 k fuel) where getattr with a default
        # costs ~1.6 k; a board without the attribute has no arm input
        try:
            pin = self.board.arm_input
        except AttributeError:
            pin = None
        if pin is not None:
            lv = pin.value()
            if lv != self.arm_input_level:
                self.arm_input_level = lv
                post(EV_ARM_INPUT, lv)

    def _uplink(self):
        c = self.cmd
        try:
            radio = self.board.radio         # (see _modes: cheaper than getattr)
        except AttributeError:
            radio = None
        if c is not None and radio is not None:
            c.poll(radio)

    def _sample(self):
        b = self.board
        # a read that raises leaves its sample (and those not read after it)
        # marked unusable this cycle: the statuses are kept in locals and
        # stored once, also when a read raises (three attribute stores a
        # cycle less than marking them all first)
        st = st2 = sta = BUS_ERROR
        try:
            # (each part read once into a local: an attribute load less each)
            imu = b.imu
            if imu is not None:
                st = imu.read()
            # the secondary IMU is read while the primary is not giving samples
            # or not (yet) trusted again (hot spare; navigation re-admits the
            # primary after it agrees with the secondary)
            imu2 = self._imu2
            if imu2 is not None and (st != OK or self.nav.imu_used != 1):
                st2 = imu2.read()
            alt = b.altimeter
            if alt is not None:
                sta = alt.read()
        finally:
            self.imu_status = st
            self.imu2_status = st2
            self.alt_status = sta
        legs = b.legs
        if legs is not None:
            legs.update()
            if legs.any_contact and not self.touchdown:
                self.touchdown = True
                post(EV_TOUCHDOWN, legs.contact_mask)

    def _estimate(self, dt_q20):
        # IMU vote / fallback (to the commanded thrust) and altimeter FDIR live in Nav.
        b = self.board
        self.nav.update(dt_q20, b.imu, self.imu_status, self._imu2, self.imu2_status,
                        b.altimeter, self.alt_status, self.ctrl, self.touchdown)

    def _control(self):
        engine = self.board.engine
        guid = self.guid
        if guid.phase == PH_LANDED:
            self.ctrl.cut()
            if not self.engine_cut:
                self.engine_cut = True
                post(EV_ENGINE_CUT, 0)
            if engine is not None:
                engine.set_throttle(0)
                engine.disarm()
            return
        self.ctrl.update(guid, self.nav)    # called through self.ctrl: lander perf hooks it
        ctrl = self.ctrl
        acu = self._acu
        # with an attitude unit the gimbal keeps the thrust line through the
        # centre of mass (centred); without one it is the attitude path
        # (decided in the one test of the unit: ~0.4 k fuel less a cycle)
        if acu is not None:
            acu.set_pitch(ctrl.pitch_cmd_bau)
            gp = 0
        else:
            gp = ctrl.pitch_cmd_bau
        if engine is not None:
            engine.set_throttle(ctrl.throttle_q15)
            # a PWM holds its pulse width: written when it changes (and once
            # after every boot), not every cycle
            if gp != self._gimbal_sent:
                self._gimbal_sent = gp
                engine.set_pitch(gp)

    def _telemetry(self):
        # packets, frames, FEC, black box, paced at the air bit rate (telemetry/)
        self.tlm.update(self.last_us)

    # --- telecommand actions (commands.py dispatches; 0 or a REJ_ reason) ----
    def cmd_abort(self):
        """Abort the landing: guidance's abort (hover, then a safe descent) where
        it has one; else land where the vehicle is."""
        if self.mode != MODE_POWERED:
            return 12                     # commands.REJ_MODE
        abort = getattr(self.guid, "abort", None)
        if abort is not None:
            abort()
        else:
            self.guid.site_x_mm = self.nav.x_mm
        return 0

    def cmd_divert(self, x_mm):
        if self.mode != MODE_POWERED and self.mode != MODE_ARMED:
            return 12
        d = x_mm - self.cfg.site_x_mm
        if d > self.cfg.max_divert_mm or d < -self.cfg.max_divert_mm:
            return 11                     # commands.REJ_RANGE
        divert = getattr(self.guid, "divert", None)
        if divert is not None:
            divert(x_mm)
        else:
            self.guid.site_x_mm = x_mm
        return 0

    def cmd_reset(self):
        """A computer reset (confirmed if in powered descent): checkpoint now so
        the warm restart starts from this very cycle, then reset."""
        self._checkpoint(True)
        fn = getattr(self.board, "reset_fn", None)
        if fn is None:
            return 14                     # commands.REJ_EXEC
        fn()
        return 0

    def cmd_engine_off(self):
        """Engine off in powered descent (confirmed): cut and disarm."""
        self.engine_cut = True
        self.ctrl.throttle_q15 = 0
        engine = self.board.engine
        if engine is not None:
            engine.set_throttle(0)
            engine.disarm()
        post(EV_ENGINE_CUT, 1)
        return 0

    def cmd_reset_imu(self, part):
        """Rewrite an IMU's configuration through its driver: 0 the primary
        (LSM6DSOX), 1 the secondary (BMI088: gyro and accelerometer)."""
        if part > 1:
            return 11                     # commands.REJ_RANGE
        imu = self.board.imu if part == 0 else getattr(self.board, "imu2", None)
        if imu is None:
            return 14                     # commands.REJ_EXEC
        if part == 0:
            reinit = getattr(imu, "_reinit", None)
            if reinit is None:
                return 14
            reinit(3)                     # cause 3: commanded
            return 0
        g = getattr(imu, "_gyro_reinit", None)
        a = getattr(imu, "_acc_reinit", None)
        if g is None or a is None:
            return 14
        g()
        a(3)
        return 0

    def cmd_set_param(self, pid, value):
        fields = config_mod.FIELDS
        if pid >= len(fields):
            return 11
        name, _, lo, hi = fields[pid]
        if pid in config_mod.AT_BOOT:
            return 12                     # built into the stages at boot: config.json only
        if self.mode != MODE_SAFE and pid not in config_mod.IN_FLIGHT:
            return 12
        if not lo <= value <= hi:
            return 11
        # (the rule across keys, RS E and frame length, is on AT_BOOT keys)
        setattr(self.cfg, name, value)
        self.cfg.crc = self.cfg.compute_crc()
        if name == "sensor_mask":
            self._apply_sensor_mask(value)
        # the stages re-derive what they built from the in-flight parameters
        # (a method call: getattr of a bound method would allocate under heap_lock)
        self.nav.configure(self.cfg)
        self.guid.configure(self.cfg)
        return 0

    def cmd_dump(self, start, count):
        """dump_blackbox: after landing (POST_LANDING) the black box's records
        start .. start + count - 1 (count 0: to the end) go down oldest first."""
        if self.mode != MODE_POST:
            return 12                     # commands.REJ_MODE
        return self.tlm.start_dump(start, count)

    def cmd_sensor(self, part, on):
        if part >= N_SENSORS or on > 1:
            return 11
        if on:
            self._apply_sensor_mask(self.sensor_mask | (1 << part))
        else:
            self._apply_sensor_mask(self.sensor_mask & ~(1 << part))
        return 0

    def _apply_sensor_mask(self, mask):
        """Disable / re-enable sensors: the board's driver reference of a
        disabled sensor is swapped for a _SensorOff (so the sample stage reads
        DISABLED and never touches its bus), the real driver put back when it
        is enabled again. Start-up, telecommand and restore paths (allocates)."""
        mask &= 0xFF
        b = self.board
        drv = self._sensor_drv
        for i in range(N_SENSORS):
            d = drv[i]
            if d is None:
                continue
            use = d if (mask >> i) & 1 else _SensorOff(d)
            if i == SENSOR_IMU2:
                self._imu2 = use
            else:
                setattr(b, "imu" if i == SENSOR_IMU else "altimeter", use)
        if mask != self.sensor_mask:
            self.sensor_mask = mask
            post(EV_SENSOR_MASK, mask)

    # --- the board's own fixed-rate schedule --------------------------------
    def run_forever(self, cycles=-1):
        """Fixed rate on the ticks clock (wrap-safe): the next deadline advances
        by one period from the last, so there is no drift; a late cycle is an
        overrun (counted, an event) and the schedule restarts from now. More than
        _OVERRUN_DEGRADE overruns in a window of _OVERRUN_WINDOW cycles halve
        the rate (not below _MIN_RATE_HZ): a degraded but regular loop."""
        self._start_watchdog()
        next_us = ticks_us()
        window = 0
        while cycles != 0:
            now = ticks_us()
            heap_lock()
            try:
                self.step(now)
            except Exception:
                heap_unlock()
                self._stage_fault(0)
            heap_unlock()
            period = self.period_us
            next_us = ticks_add(next_us, period)
            late = ticks_diff(ticks_us(), next_us)
            if late > 0:
                self.overruns += 1
                self.overrun_window += 1
                post(EV_OVERRUN, late if late < 0x3FFFFFFF else 0x3FFFFFFF)
                next_us = ticks_us()
            else:
                while ticks_diff(next_us, ticks_us()) > 0:
                    pass
            window += 1
            if window >= _OVERRUN_WINDOW:
                if self.overrun_window > _OVERRUN_DEGRADE:
                    self.degrade()
                window = 0
                self.overrun_window = 0
            if cycles > 0:
                cycles -= 1

    def degrade(self):
        """Halve the loop rate (overruns persist); False at the floor."""
        r = self.rate_hz // 2
        if r < _MIN_RATE_HZ:
            return False
        self.rate_hz = r
        self.period_us = 1000000 // r
        self._period_ms = self.period_us // 1000
        self.degraded = True
        post(EV_RATE_DEGRADED, r)
        return True
