# Bosch BMP390 barometric pressure sensor (I2C), for Earth test articles.
# Datasheet: BST-BMP390-DS002. Register map and descriptions: section 4
# (CHIP_ID 0x00 = 0x60, ERR_REG 0x02, STATUS 0x03, DATA_0..5 0x04-0x09,
# EVENT 0x10, PWR_CTRL 0x1B, OSR 0x1C, ODR 0x1D, CONFIG 0x1F, CMD 0x7E);
# calibration (trimming) coefficients NVM_PAR_T1..NVM_PAR_P11 at 0x31-0x45 and
# the compensation formulae in the appendix (section 8: "Computation formulae
# reference implementation": conversion of the NVM coefficients to floats and
# the float compensation of temperature and pressure).
#
# The compensation below is that float formula restructured into 32-bit-safe
# integers (every intermediate |x| < 2^30): t_lin is kept as Q16 degC, the
# pressure sum as Q8 Pa, the coefficient of the raw pressure as Q33; every
# product is split into factors below 2^15 inline (fixed.mul_shift's limb
# method, unrolled: a function call per product would cost ~5x the fuel). Agreement with the float reference is
# tested over the sensor's range (tests/test_drivers_bmp390.py): within
# 0.01 degC and 0.02 Pa (2 cPa); measured worst case 1.6 cPa.
#
# read() does one 8-byte burst ERR_REG..DATA_5 (0x02-0x09): error flags,
# status, pressure and temperature of the same conversion (burst read keeps
# them consistent, 3.10.1). A reset is seen as EVENT.por_detected or as a
# configuration read-back mismatch when data-ready stays clear; the driver then
# rewrites the configuration (NVM coefficients are the part's own, kept).
# _wait_us: start-up waits (the host's emulators are told of each, lander.compat;
# the tests replace it to record them)
from lander.compat import const, sleep_us as _wait_us
from lander.drivers import (
    Part,
    INVALID,
    NOT_READY,
    OK,
    OUT_OF_RANGE,
    REINIT,
    device_error,
)
from lander.events import post

_CHIP_ID = const(0x00)      # 0x60
_ERR_REG = const(0x02)      # fatal_err[0] cmd_err[1] conf_err[2], clear on read
_STATUS = const(0x03)       # cmd_rdy[4] drdy_press[5] drdy_temp[6]
_EVENT = const(0x10)        # por_detected[0], clear on read
_PWR_CTRL = const(0x1B)     # press_en[0] temp_en[1] mode[5:4] (11 = normal)
_OSR = const(0x1C)          # osr_p[2:0] osr_t[5:3]
_ODR = const(0x1D)          # odr_sel[4:0]: 0x00 200 Hz, 0x01 100, 0x02 50, 0x03 25
_CONFIG = const(0x1F)       # iir_filter[3:1]
_NVM_PAR_T1 = const(0x31)   # 21 bytes of trimming coefficients, 0x31-0x45
_CMD = const(0x7E)          # 0xB6 softreset

_CHIP_ID_VALUE = const(0x60)
_SOFTRESET = const(0xB6)
_PWR_NORMAL = const(0x33)   # mode normal, temp_en, press_en
_DRDY_BOTH = const(0x60)

_STUCK_CYCLES = const(5)
_CHECK_PERIOD = const(50)   # EVENT/por_detected + config read-back every 50 good reads
_RESET_POLLS = const(50)
# Waits as Bosch's BMP3 SensorAPI sequences them (bmp3.c): a command only
# when STATUS.cmd_rdy is set; 2 ms after the soft reset before ERR_REG is
# read (cmd_err must be clear); a part not in sleep mode is put to sleep and
# given 5 ms before its configuration is written (bmp3_set_op_mode).
_CMD_RDY = const(0x10)
_CMD_ERR = const(0x02)
_MODE_BITS = const(0x30)
_RESET_WAIT_US = const(2000)
_SLEEP_WAIT_US = const(5000)

# Plausible compensated range: the part's operating range 300..1250 hPa
_P_MIN_PA = const(30000)
_P_MAX_PA = const(125000)
_Q8_MAX = const(40960000)   # Q8 Pa ceiling (160 kPa): keeps p * 25 < 2^30
_T_MIN_Q16 = const(-3932160)   # -60 degC
_T_MAX_Q16 = const(6881280)    # 105 degC

# Events (drivers range, BMP390 0x0120-0x012F)
EV_BMP_REINIT = const(0x0121)        # arg: 1 = config lost / por_detected, 2 = data-ready stuck
EV_BMP_REINIT_FAIL = const(0x0122)   # arg: PWR_CTRL seen
EV_BMP_ERR = const(0x0123)           # arg: ERR_REG value

CAUSE_CONFIG = const(1)
CAUSE_STUCK = const(2)


def _s8(b):
    return b - 256 if b > 127 else b


def _s16(lo, hi):
    v = lo | (hi << 8)
    return v - 65536 if v > 32767 else v


class Bmp390(Part):
    """BMP390 on I2C: pressure_cpa (Pa * 100) and temperature_cdeg (degC * 100)."""

    PART = "BMP390"

    def __init__(self, i2c, addr=0x77, osr_p=3, osr_t=0, odr=2, iir=0):
        self._i2c = i2c
        self._addr = addr
        self._buf = bytearray(8)        # ERR_REG, STATUS, DATA_0..DATA_5
        self._b1 = bytearray(1)
        self._cfg_rx = bytearray(3)     # PWR_CTRL, OSR, ODR
        self._nvm = bytearray(21)
        self._cfg = bytearray(4)        # expected PWR_CTRL, OSR, ODR, CONFIG
        self._cfg[0] = _PWR_NORMAL
        self._cfg[1] = (osr_t << 3) | osr_p
        self._cfg[2] = odr
        self._cfg[3] = iir << 1
        self.pressure_cpa = 0
        self.temperature_cdeg = 0
        self.t_q16 = 0                  # t_lin, degC * 2^16
        self.raw_press = 0
        self.raw_temp = 0
        self._init_health()
        self._asleep_pending = False     # in-flight re-init: put to sleep last cycle
        self._reinit_cause = 0
        self._last_err = 0
        self._startup()

    # -- start-up --------------------------------------------------------------
    def _error(self, what, expected=None, seen=0):
        return device_error(self.PART, self._i2c, None, self._addr, what, expected, seen)

    def _reg(self, reg):
        self._i2c.readfrom_mem_into(self._addr, reg, self._b1)
        return self._b1[0]

    def _wr(self, reg, value):
        self._b1[0] = value
        self._i2c.writeto_mem(self._addr, reg, self._b1)

    def _startup(self):
        try:
            cid = self._reg(_CHIP_ID)
        except OSError as exc:
            raise self._error("no answer (%s)" % exc)
        if cid != _CHIP_ID_VALUE:
            raise self._error("CHIP_ID", _CHIP_ID_VALUE, cid)
        for _ in range(_RESET_POLLS):
            if self._reg(_STATUS) & _CMD_RDY:
                break
            _wait_us(_RESET_WAIT_US)
        else:
            raise self._error("command decoder never ready (STATUS.cmd_rdy)")
        self._wr(_CMD, _SOFTRESET)
        _wait_us(_RESET_WAIT_US)
        if self._reg(_ERR_REG) & _CMD_ERR:
            raise self._error("soft reset refused (ERR_REG.cmd_err)")
        for _ in range(_RESET_POLLS):
            if self._reg(_EVENT) & 1:       # por_detected: reset done (read clears it)
                break
            _wait_us(_RESET_WAIT_US)
        else:
            raise self._error("soft reset not confirmed (EVENT.por_detected)")
        self._i2c.readfrom_mem_into(self._addr, _NVM_PAR_T1, self._nvm)
        self._load_calibration(self._nvm)
        self._write_config()
        self._i2c.readfrom_mem_into(self._addr, _PWR_CTRL, self._cfg_rx)
        names = ("PWR_CTRL", "OSR", "ODR")
        for i in range(3):
            if self._cfg_rx[i] != self._cfg[i]:
                err = self._reg(_ERR_REG)
                raise self._error(names[i] + (" (conf_err)" if err & 4 else ""),
                                  self._cfg[i], self._cfg_rx[i])
        cfg = self._reg(_CONFIG)
        if cfg != self._cfg[3]:
            raise self._error("CONFIG", self._cfg[3], cfg)

    def _load_calibration(self, n):
        """NVM_PAR_* (0x31-0x45) -> integer coefficients in the scales used by _compensate."""
        if min(n) == max(n) and (n[0] == 0 or n[0] == 0xFF):     # all 0x00 or all 0xFF
            raise self._error("NVM calibration blank")
        self._coef = (
            (n[0] | (n[1] << 8)) << 8,           # PAR_T1 = NVM_PAR_T1 / 2^-8
            n[2] | (n[3] << 8),                  # PAR_T2 = NVM_PAR_T2 / 2^30
            _s8(n[4]),                           # PAR_T3 = NVM_PAR_T3 / 2^48
            (_s16(n[5], n[6]) - 16384) << 13,    # PAR_P1 = (NVM - 2^14) / 2^20, as Q33
            _s16(n[7], n[8]) - 16384,            # PAR_P2 = (NVM - 2^14) / 2^29
            _s8(n[9]),                           # PAR_P3 = NVM / 2^32
            _s8(n[10]),                          # PAR_P4 = NVM / 2^37
            (n[11] | (n[12] << 8)) << 11,        # PAR_P5 = NVM / 2^-3, as Q8 Pa
            n[13] | (n[14] << 8),                # PAR_P6 = NVM / 2^6
            _s8(n[15]),                          # PAR_P7 = NVM / 2^8
            _s8(n[16]),                          # PAR_P8 = NVM / 2^15
            _s16(n[17], n[18]) << 8,             # PAR_P9 = NVM / 2^48, kept * 2^8
            _s8(n[19]),                          # PAR_P10 = NVM / 2^48
            _s8(n[20]),                          # PAR_P11 = NVM / 2^65
        )

    def _write_config(self):
        """Start-up: a running part to sleep (and 5 ms), then the settings."""
        if self._reg(_PWR_CTRL) & _MODE_BITS:
            self._wr(_PWR_CTRL, 0x00)
            _wait_us(_SLEEP_WAIT_US)
        self._write_settings()

    def _write_settings(self):
        # OSR/ODR/IIR in sleep mode, then normal mode: the part checks the
        # conversion time against the ODR period when it enters normal mode
        # (too slow: ERR_REG.conf_err and it stays asleep).
        self._wr(_OSR, self._cfg[1])
        self._wr(_ODR, self._cfg[2])
        self._wr(_CONFIG, self._cfg[3])
        self._wr(_PWR_CTRL, self._cfg[0])

    # -- compensation (integers, |x| < 2^30) ------------------------------------
    def _compensate(self, up, ut):
        """Fill t_q16, temperature_cdeg, pressure_cpa from raw ADC values.

        The datasheet's float formula, restructured: every product is split so
        that both factors are < 2^15 (or one is an 8-bit coefficient), using
        t = t_lin in Q16 degC (split sh*2^11 + sl), tt = t in Q8, t^2 in Q16,
        t^3 in Q9, up = u1*2^15 + u0. Pressure accumulates in Q8 Pa. No
        function calls: this runs every cycle. Returns a status code.
        """
        (t1s, t2c, t3c, c1, c2, p3, p4, p5q, p6, p7, p8, p9q, p10, p11) = self._coef
        st = OK
        # t_lin = pd1 * PAR_T2 + pd1^2 * PAR_T3                       (Q16 degC)
        pd1 = ut - t1s
        if pd1 > 0x7FFFFF:                   # > ~140 degC: not a real reading
            pd1 = 0x7FFFFF
            st = INVALID
        elif pd1 < -0x7FFFFF:
            pd1 = -0x7FFFFF
            st = INVALID
        ph = pd1 >> 12                       # pd1 = ph * 2^12 + pl
        pl = pd1 & 0xFFF
        q = ((ph * ph) >> 1) + ((ph * pl) >> 12)               # pd1^2 / 2^25
        t = ((ph * t2c) >> 2) + ((pl * t2c) >> 14) + ((q * t3c) >> 7)
        if t < _T_MIN_Q16:
            t = _T_MIN_Q16
            st = INVALID
        elif t > _T_MAX_Q16:
            t = _T_MAX_Q16
            st = INVALID
        self.t_q16 = t
        self.temperature_cdeg = (t * 25 + 8192) >> 14          # * 100 / 2^16, rounded
        sh = t >> 11                                           # t = sh * 2^11 + sl
        sl = t & 0x7FF
        t2 = ((sh * sh) << 6) + ((sh * sl) >> 4) + ((sl * sl) >> 16)   # t^2, Q16, < 2^30
        tt = t >> 8                                            # t = tt * 2^8 + tf
        tf = t & 0xFF
        th = t2 >> 15
        tl = t2 & 0x7FFF
        t3 = th * tt + ((tl * tt) >> 15) + ((th * tf) >> 8)    # t^3, Q9
        # partial_out1 = P5 + P6 t + P7 t^2 + P8 t^3                   (Q8 Pa)
        p = (p5q + ((p6 * sh) >> 3) + ((p6 * sl) >> 14) + (((t2 >> 8) * p7) >> 8)
             + (((t3 >> 7) * p8) >> 9))
        # k = P1 + P2 t + P3 t^2 + P4 t^3                              (Q33)
        k = (c1 + ((c2 * sh) >> 1) + ((c2 * sl) >> 12) + (((t2 >> 8) * p3) >> 7)
             + (((t3 >> 7) * p4) >> 6))
        # partial_out2 = up * k                                        (Q8 Pa)
        u1 = up >> 15
        u0 = up & 0x7FFF
        k1 = k >> 15
        k0 = k & 0x7FFF
        p += ((u1 * k1) << 5) + ((u1 * k0 + u0 * k1 + ((u0 * k0) >> 15)) >> 10)
        # up^2 (P9 + P10 t) + up^3 P11 = up^2 * m, m = (P9 + P10 t + up P11 / 2^17) * 2^8
        u2 = ((u1 * u1) << 10) + ((u1 * u0 + ((u0 * u0) >> 16)) >> 4)   # up^2 / 2^20
        m = p9q + ((p10 * (t >> 4)) >> 4) + (((up >> 2) * p11) >> 7)
        v1 = u2 >> 15
        v0 = u2 & 0x7FFF
        w1 = m >> 15
        w0 = m & 0x7FFF
        p += ((v1 * w1) << 2) + ((v1 * w0 + v0 * w1 + ((v0 * w0) >> 15)) >> 13)
        p += 4                               # mean loss of the floors above (measured)
        if p < 0:
            p = 0
            st = INVALID
        elif p > _Q8_MAX:
            p = _Q8_MAX
            st = INVALID
        self.pressure_cpa = (p * 25 + 32) >> 6                 # * 100 / 2^8, rounded
        if st == OK and (p < (_P_MIN_PA << 8) or p > (_P_MAX_PA << 8)):
            st = OUT_OF_RANGE
        return st

    # -- cycle path --------------------------------------------------------------
    def read(self):
        st = self._read()
        self.status = st
        return st

    def _read(self):
        if self._asleep_pending:
            return self._reinit_settings()
        if self._since_check >= _CHECK_PERIOD:
            self._since_check = 0
            st = self._check(False)
            if st != OK:
                return st
        b = self._buf
        try:
            self._i2c.readfrom_mem_into(self._addr, _ERR_REG, b)
        except OSError:
            return self._bus_error()
        err = b[0]
        s = b[1]
        # reserved bits (ERR_REG 7:3, STATUS 7 and 3:0) are masked, as Bosch's
        # BMP3 SensorAPI does (BMP3_ERR_FATAL/CMD/CONF, BMP3_STATUS_* masks)
        if err & 0x07:
            # fatal / command / configuration error flagged by the part
            self.errors += 1
            self.invalid += 1
            if err != self._last_err:          # post changes only: fatal_err persists
                self._last_err = err
                post(EV_BMP_ERR, err)
            return self._check(False) if err & 0x04 else INVALID
        if (s & _DRDY_BOTH) != _DRDY_BOTH:
            self.not_ready += 1
            self._streak += 1
            if self._streak >= _STUCK_CYCLES * self._backoff:
                self._streak = 0
                return self._check(True)
            return NOT_READY
        self._last_err = 0
        up = b[2] | (b[3] << 8) | (b[4] << 16)
        ut = b[5] | (b[6] << 8) | (b[7] << 16)
        self.raw_press = up
        self.raw_temp = ut
        self._streak = 0
        self._backoff = 1
        self._since_check += 1
        st = self._compensate(up, ut)
        if st == OK:
            self.reads_ok += 1
        elif st == INVALID:
            self.errors += 1
            self.invalid += 1
        return st

    def _check(self, stuck):
        """Reset / configuration check; re-initialise when needed (bounded)."""
        try:
            por = self._reg(_EVENT) & 1
            self._i2c.readfrom_mem_into(self._addr, _PWR_CTRL, self._cfg_rx)
        except OSError:
            return self._bus_error()
        c = self._cfg
        r = self._cfg_rx
        if not por and (r[0] != c[0] or r[1] != c[1] or r[2] != c[2]):
            # confirm a mismatch with a second read: one flipped bit is not a reset
            try:
                self._i2c.readfrom_mem_into(self._addr, _PWR_CTRL, self._cfg_rx)
            except OSError:
                return self._bus_error()
        if por or r[0] != c[0] or r[1] != c[1] or r[2] != c[2]:
            return self._reinit(CAUSE_CONFIG)
        if not stuck:
            return OK
        self._back_off()
        return self._reinit(CAUSE_STUCK)      # NOT_READY when done: a stuck part is no reset

    def _reinit(self, cause):
        self.resets += 1
        post(EV_BMP_REINIT, cause)
        self._streak = 0
        self._since_check = 0
        self._reinit_cause = cause
        try:
            if self._reg(_PWR_CTRL) & _MODE_BITS:
                # still converting: to sleep now, settings next cycle (the
                # API's 5 ms; a cycle is >= 10 ms): no wait inside the cycle
                self._wr(_PWR_CTRL, 0x00)
                self._asleep_pending = True
                return NOT_READY
        except OSError:
            self.reinit_failures += 1
            return self._bus_error()
        return self._reinit_settings()

    def _reinit_settings(self):
        self._asleep_pending = False
        try:
            self._write_settings()
            self._i2c.readfrom_mem_into(self._addr, _PWR_CTRL, self._cfg_rx)
        except OSError:
            self.reinit_failures += 1
            return self._bus_error()
        c = self._cfg
        r = self._cfg_rx
        if r[0] != c[0] or r[1] != c[1] or r[2] != c[2]:
            self.errors += 1
            self.reinit_failures += 1
            post(EV_BMP_REINIT_FAIL, r[0])
            return INVALID
        # a silent but configured part was rewritten: no reset to report
        return NOT_READY if self._reinit_cause == CAUSE_STUCK else REINIT
