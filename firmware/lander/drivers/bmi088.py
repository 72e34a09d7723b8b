# Bosch BMI088 6-axis IMU (redundant IMU): two devices in one package, an
# accelerometer and a gyroscope, each on its own I2C address or SPI chip select.
# Datasheet: BST-BMI088-DS001 (rev 1.x). Accelerometer registers section 5.3,
# gyroscope registers section 5.5, SPI protocol 6.1 (accelerometer reads return
# one dummy byte before the data), I2C 6.2, power modes 4.1.
#
# The accelerometer powers up in SUSPEND: it produces nothing until
# ACC_PWR_CONF = 0x00 (active) and ACC_PWR_CTRL = 0x04 (on) are written. The
# driver enables it, reads both back and raises at start-up if it did not come
# up (or, with require_accel=False, keeps the gyro and reports the accel off);
# in flight read() returns DISABLED (and posts EV_BMI_ACC_DISABLED) while it
# stays off, retrying every _ACC_RETRY cycles. On SPI the accelerometer starts in
# I2C mode and needs one rising edge of its chip select (a dummy read) after
# power-on or reset before it answers.
#
# The gyroscope's data-ready bit (GYRO_INT_STAT_1, 5.5.3) clears by itself
# 280-400 us after each sample, so a polled loop cannot rely on it. Instead the
# gyro is read as one burst RATE_X_LSB (0x02) .. GYRO_LPM1 (0x11) that also
# carries GYRO_RANGE / GYRO_BANDWIDTH / GYRO_LPM1: the configuration is checked
# on every read; a gyro that reset (range back to 2000 dps) is re-initialised
# within two cycles. A frozen gyro (same bits every cycle) is left to the
# estimator's cross-check of the two IMUs.
#
# Cycle path: two bursts per read() (gyro 0x02-0x11; accel ACC_ERR_REG 0x02 ..
# ACC_Z_MSB 0x17 with ACC_STATUS in it), each straight into a preallocated
# array('h') (little-endian part and MCU: one int16 per output), one multiply
# and shift per axis. SPI bursts start one register earlier on the gyro
# (0x01) so the data stay 16-bit aligned behind the address byte; the accel's
# address + dummy byte already are.
from array import array

# _wait_us: start-up waits (the host's emulators are told of each, lander.compat;
# the tests replace it to record them)
from lander.compat import const, sleep_us as _wait_us
from lander.drivers import (
    Part,
    BUS_ERROR,
    DISABLED,
    INVALID,
    NOT_READY,
    OK,
    REINIT,
    device_error,
)
from lander.drivers.regbus import read_regs, write_reg
from lander.events import post

# Accelerometer registers (5.3)
_ACC_CHIP_ID = const(0x00)     # 5.3.1  0x1E
_ACC_ERR_REG = const(0x02)     # 5.3.2  fatal_err[0] error_code[4:2]
# ACC_STATUS 0x03 (5.3.3): bit 7 acc_drdy, cleared when data are read;
# ACC_X_LSB..ACC_Z_MSB 0x12-0x17 (5.3.4); read in one burst from ACC_ERR_REG
_ACC_CONF = const(0x40)        # 5.3    acc_bwp[7:4] acc_odr[3:0]; ACC_RANGE follows at 0x41
_ACC_RANGE = const(0x41)       # 5.3    0 = 3 g, 1 = 6 g, 2 = 12 g, 3 = 24 g
_ACC_PWR_CONF = const(0x7C)    # 5.3    0x00 active, 0x03 suspend (reset value)
_ACC_PWR_CTRL = const(0x7D)    # 5.3    0x00 off (reset value), 0x04 on
# Gyroscope registers (5.5)
_GYRO_CHIP_ID = const(0x00)    # 5.5.1  0x0F
_RATE_X_LSB = const(0x02)      # 5.5.2  RATE_X_LSB..RATE_Z_MSB 0x02-0x07
_GYRO_RANGE = const(0x0F)      # 5.5    0 = 2000 .. 4 = 125 dps
_GYRO_BANDWIDTH = const(0x10)  # 5.5    bit 7 reads 1
_GYRO_LPM1 = const(0x11)       # 5.5    0x00 normal

_ACC_CHIP_ID_VALUE = const(0x1E)
_GYRO_CHIP_ID_VALUE = const(0x0F)
_ACC_CONF_400HZ = const(0xAA)  # bwp normal (0xA), ODR 400 Hz (0xA)
_GYRO_BW_400HZ = const(0x83)   # ODR 400 Hz, filter 47 Hz; bit 7 always reads 1
_PWR_ACTIVE = const(0x00)
_PWR_ON = const(0x04)


# Offsets inside the 16-byte gyro start-up burst (0x02..0x11)
_G_RANGE = const(13)
_G_BW = const(14)
_G_LPM1 = const(15)
_G_BW_LPM1 = const(0x0083)     # int16 of GYRO_BANDWIDTH | GYRO_LPM1 << 8 when configured

_STUCK_CYCLES = const(5)       # accel data-ready clear this long -> check + re-init
_CHECK_PERIOD = const(50)      # accel power/config read-back every 50 good cycles
_ACC_RETRY = const(50)         # accel stayed off: try enabling again every 50 cycles
# Start-up waits as Bosch's BMI08x SensorAPI sequences them (bmi08x_defs.h /
# bmi08a.c, bmi08g.c): 5 ms after each accel power write (ACC_PWR_CONF,
# ACC_PWR_CTRL), 40 ms after ACC_CONF/ACC_RANGE before the read-back (the
# accel's first filtered sample); BMI08X_GYRO_POWER_MODE_CONFIG_DELAY = 30 ms
# after GYRO_LPM1 and 10 ms after GYRO_RANGE / GYRO_BANDWIDTH. Datasheet 4.1
# gives >= 450 us only for the accel power-up itself.
_POWER_WAIT_US = const(5000)
_ACC_CONF_WAIT_US = const(40000)
_GYRO_LPM1_WAIT_US = const(30000)
_GYRO_CONF_WAIT_US = const(10000)
# Each set-up is three steps (_acc_step / _gyro_step) and a read-back; the wait
# after step k. At start-up the driver sleeps through them; in flight it never
# waits inside a cycle: one step per cycle, each wait counted in cycles of at
# least 10 ms (the fastest loop rate, 100 Hz), so a re-initialisation costs a
# few cycles of NOT_READY instead of a 50 ms stall of the loop.
_ACC_WAIT_US = (_POWER_WAIT_US, _POWER_WAIT_US, _ACC_CONF_WAIT_US)
_GYRO_WAIT_US = (_GYRO_LPM1_WAIT_US, _GYRO_CONF_WAIT_US, _GYRO_CONF_WAIT_US)
_MIN_CYCLE_US = const(10000)
# the same waits in cycles: each wait / _MIN_CYCLE_US, rounded up
_ACC_WAIT_CYCLES = (1, 1, 4)
_GYRO_WAIT_CYCLES = (3, 1, 1)
# ACC_ERR_REG (5.3.2): fatal_err bit 0, error_code bits 4:2; bits 1 and 7:5
# reserved. ACC_STATUS (5.3.3): acc_drdy bit 7, bits 6:0 reserved. Bosch's
# API masks them (BMI08X_FATAL_ERR_MASK 0x01, BMI08X_ERR_CODE_MASK 0x1C);
# so does read(): ERR | STATUS << 8, with acc_drdy as the sign bit.
_ACC_ERR_MASK = const(0x001D)

# Events (drivers range, BMI088 0x0110-0x011F)
EV_BMI_GYRO_REINIT = const(0x0111)    # arg: cause
EV_BMI_ACC_REINIT = const(0x0112)     # arg: cause
EV_BMI_ACC_DISABLED = const(0x0113)   # arg: ACC_PWR_CONF << 8 | ACC_PWR_CTRL seen
EV_BMI_ACC_ENABLED = const(0x0114)    # accelerometer came back after being off
EV_BMI_REINIT_FAIL = const(0x0115)    # arg: 1 = accel config, 2 = gyro config

CAUSE_CONFIG = const(1)
CAUSE_STUCK = const(2)

# value = (raw * K + 2^(S-1)) >> S, K < 2^15 (intermediates < 2^30);
# K / 2^S = unit per LSB, relative rounding error < 2e-5 (< 0.6 LSB at full scale)
_ACC_FS = {  # g: (ACC_RANGE, K, S)   range_g * 9806.65 / 32768 mm/s^2 per LSB (5.3.4)
    3: (0, 29420, 15),           # 0.898 mm/s^2
    6: (1, 29420, 14),
    12: (2, 29420, 13),
    24: (3, 29420, 12),          # 7.183
}
_GYRO_FS = {  # dps: (GYRO_RANGE, K, S)   1 / (16.384 * 2^range) dps per LSB (5.5, GYRO_RANGE)
    2000: (0, 17044, 4),         # 1065.264 urad/s
    1000: (1, 17044, 5),
    500: (2, 17044, 6),
    250: (3, 17044, 7),
    125: (4, 17044, 8),          # 66.579
}


class Bmi088(Part):
    """BMI088 accel + gyro; each on I2C (cs None) or SPI (cs = chip-select Pin)."""

    PART = "BMI088"

    def __init__(self, acc_bus, gyro_bus, acc_addr=0x18, gyro_addr=0x68,
                 acc_cs=None, gyro_cs=None, acc_g=12, gyro_dps=500, require_accel=True):
        self._ab = acc_bus
        self._require_accel = require_accel
        self._gb = gyro_bus
        self._aaddr = acc_addr
        self._gaddr = gyro_addr
        self._acs = acc_cs
        self._gcs = gyro_cs
        afs = _ACC_FS.get(acc_g)
        gfs = _GYRO_FS.get(gyro_dps)
        if afs is None or gfs is None:
            raise ValueError("BMI088: unsupported acc_g/gyro_dps")
        self._acc_range = afs[0]
        self._ak = afs[1]
        self._as = afs[2]
        self._ah = 1 << (afs[2] - 1)
        self._gyro_range = gfs[0]
        self._gk = gfs[1]
        self._gs = gfs[2]
        self._gh = 1 << (gfs[2] - 1)
        pa = 0 if acc_cs is None else 2    # SPI accel: address byte + dummy byte
        pg = 0 if gyro_cs is None else 1   # SPI gyro: address byte
        self._pa = pa
        self._pg = pg
        self._a1_rx = bytearray(1 + pa)
        self._a1_tx = bytearray(1 + pa)
        self._a2_rx = bytearray(2 + pa)
        self._a2_tx = bytearray(2 + pa)
        self._g1_rx = bytearray(1 + pg)
        self._g1_tx = bytearray(1 + pg)
        self._g16_rx = bytearray(16 + pg)
        self._g16_tx = bytearray(16 + pg)
        self._a2 = memoryview(self._a2_rx)[pa:]
        self._gdata = memoryview(self._g16_rx)[pg:]
        # Cycle bursts as int16 arrays:
        #   accel I2C from 0x02: [ERR|STATUS<<8, 0x04.. , AX, AY, AZ at 8..10]
        #   accel SPI from 0x02: [addr|dummy, ERR|STATUS<<8, ..., AX at 9]
        #   gyro  I2C from 0x02: [GX, GY, GZ, .., FIFO|RANGE<<8 at 6, BW|LPM1<<8 at 7]
        #   gyro  SPI from 0x01: [addr|0x01, GX at 1, ..., RANGE at 7, BW|LPM1 at 8]
        self._ah16 = array("h", bytes(22 + pa))
        self._atx = bytearray(22 + pa)
        self._ai = 0 if acc_cs is None else 1
        self._gh16 = array("h", bytes(16 if gyro_cs is None else 18))
        self._gtx = bytearray(len(self._gh16) * 2)
        self._gi = 0 if gyro_cs is None else 1
        self._greg = _RATE_X_LSB if gyro_cs is None else _RATE_X_LSB - 1
        self._w1 = bytearray(1)
        self._wspi = bytearray(2)
        self._a_seq = -1                   # in-flight re-init: next step (-1: none)
        self._a_wait = 0                   # cycles still to wait before it
        self._a_cause = 0
        self._g_seq = -1
        self._g_wait = 0

        self.gyro_urad_s = array("i", (0, 0, 0))
        self.accel_mm_s2 = array("i", (0, 0, 0))
        # raw counts, in the burst buffers: gyro x at raw_gyro[raw_gyro_at],
        # accel x at raw_accel[raw_accel_at] (y, z follow)
        self.raw_gyro = self._gh16
        self.raw_gyro_at = self._gi
        self.raw_accel = self._ah16
        self.raw_accel_at = self._ai + 8
        self._init_health()
        self.gyro_status = NOT_READY
        self.accel_status = NOT_READY
        self.accel_enabled = False
        self._gyro_bad = 0
        self._off_cycles = 0

        if acc_cs is not None:
            acc_cs.value(1)
        if gyro_cs is not None:
            gyro_cs.value(1)
        self._startup()

    # -- start-up (may allocate and raise) -----------------------------------
    def _error(self, gyro, what, expected=None, seen=0, state=""):
        if gyro:
            return device_error(self.PART + " gyro", self._gb, self._gcs, self._gaddr,
                                what, expected, seen)
        return device_error(self.PART + " accel" + state, self._ab, self._acs, self._aaddr,
                            what, expected, seen)

    def _startup(self):
        try:
            gid = self._g_reg(_GYRO_CHIP_ID)
        except OSError as exc:
            raise self._error(True, "no answer (%s)" % exc)
        if gid != _GYRO_CHIP_ID_VALUE:
            raise self._error(True, "GYRO_CHIP_ID", _GYRO_CHIP_ID_VALUE, gid)
        try:
            if self._acs is not None:
                self._a_reg(_ACC_CHIP_ID)         # dummy read: switch the accel to SPI
            aid = self._a_reg(_ACC_CHIP_ID)
        except OSError as exc:
            raise self._error(False, "no answer (%s)" % exc)
        if aid != _ACC_CHIP_ID_VALUE:
            raise self._error(False, "ACC_CHIP_ID", _ACC_CHIP_ID_VALUE, aid)
        bad = self._acc_setup()
        if (bad == 1 or bad == 2) and not self._require_accel:
            # Keep the gyro: report the accelerometer as off, retry in flight.
            post(EV_BMI_ACC_DISABLED, (self._a2[0] << 8) | self._a2[1])
            bad = -1
        if bad == 1:
            raise self._error(False, "ACC_PWR_CTRL", _PWR_ON, self._a2[1], " not enabled")
        if bad == 2:
            raise self._error(False, "ACC_PWR_CONF", _PWR_ACTIVE, self._a2[0], " not enabled")
        if bad == 3:
            raise self._error(False, "ACC_CONF", _ACC_CONF_400HZ, self._a2[0])
        if bad == 4:
            raise self._error(False, "ACC_RANGE", self._acc_range, self._a2[1])
        self.accel_enabled = bad == 0
        self._gyro_setup()
        self._rd_g(_RATE_X_LSB, self._g16_tx, self._g16_rx)
        d = self._gdata
        if d[_G_RANGE] != self._gyro_range:
            raise self._error(True, "GYRO_RANGE", self._gyro_range, d[_G_RANGE])
        if d[_G_BW] != _GYRO_BW_400HZ:
            raise self._error(True, "GYRO_BANDWIDTH", _GYRO_BW_400HZ, d[_G_BW])
        if d[_G_LPM1] != 0:
            raise self._error(True, "GYRO_LPM1", 0, d[_G_LPM1])

    # -- bus primitives (no allocation) --------------------------------------
    def _rd_a(self, reg, tx, rx):
        read_regs(self._ab, self._aaddr, self._acs, reg, tx, rx)

    def _rd_g(self, reg, tx, rx):
        read_regs(self._gb, self._gaddr, self._gcs, reg, tx, rx)

    def _a_reg(self, reg):
        self._rd_a(reg, self._a1_tx, self._a1_rx)
        return self._a1_rx[self._pa]

    def _g_reg(self, reg):
        self._rd_g(reg, self._g1_tx, self._g1_rx)
        return self._g1_rx[self._pg]

    def _wr(self, bus, addr, cs, reg, value):
        write_reg(bus, addr, cs, reg, value, self._w1, self._wspi)

    # -- configuration ---------------------------------------------------------
    def _acc_setup(self):
        """Enable + configure the accelerometer and read it back.

        0 = ok, 1 = ACC_PWR_CTRL not on, 2 = ACC_PWR_CONF not active,
        3 = ACC_CONF, 4 = ACC_RANGE (seen values left in self._a2).
        Raises OSError on a bus error. Bounded: 4 writes, <= 3 reads.
        """
        for k in range(3):
            self._acc_step(k)
            _wait_us(_ACC_WAIT_US[k])
        return self._acc_verify()

    def _acc_step(self, k):
        # Bosch's order: power mode, power on, then ODR/bandwidth and range.
        ab, aa, cs = self._ab, self._aaddr, self._acs
        if k == 0:
            if cs is not None:
                self._a_reg(_ACC_CHIP_ID)  # after a reset the accel is in I2C mode again
            self._wr(ab, aa, cs, _ACC_PWR_CONF, _PWR_ACTIVE)
        elif k == 1:
            self._wr(ab, aa, cs, _ACC_PWR_CTRL, _PWR_ON)
        else:
            self._wr(ab, aa, cs, _ACC_CONF, _ACC_CONF_400HZ)
            self._wr(ab, aa, cs, _ACC_RANGE, self._acc_range)

    def _acc_verify(self):
        """Read the set-up back: 0 or the _acc_setup code. Raises OSError."""
        self._rd_a(_ACC_PWR_CONF, self._a2_tx, self._a2_rx)
        if self._a2[1] != _PWR_ON:
            return 1
        if self._a2[0] != _PWR_ACTIVE:
            return 2
        self._rd_a(_ACC_CONF, self._a2_tx, self._a2_rx)
        if self._a2[0] != _ACC_CONF_400HZ:
            return 3
        if self._a2[1] != self._acc_range:
            return 4
        return 0

    def _gyro_setup(self):
        for k in range(3):
            self._gyro_step(k)
            _wait_us(_GYRO_WAIT_US[k])

    def _gyro_step(self, k):
        # normal mode (LPM1), then range, then bandwidth (Bosch's bmi08g.c order)
        gb, ga, cs = self._gb, self._gaddr, self._gcs
        if k == 0:
            self._wr(gb, ga, cs, _GYRO_LPM1, 0x00)
        elif k == 1:
            self._wr(gb, ga, cs, _GYRO_RANGE, self._gyro_range)
        else:
            self._wr(gb, ga, cs, _GYRO_BANDWIDTH, _GYRO_BW_400HZ)

    # -- cycle path -----------------------------------------------------------
    def read(self):
        """Fill gyro_urad_s / accel_mm_s2; OK only when both are fresh. Never raises."""
        g = self._read_gyro()
        a = self._read_accel()
        self.gyro_status = g
        self.accel_status = a
        if g == OK and a == OK:
            self.reads_ok += 1
            st = OK
        elif a == DISABLED or g == DISABLED:
            st = DISABLED
        elif g == REINIT or a == REINIT:
            st = REINIT
        elif g == BUS_ERROR or a == BUS_ERROR:
            st = BUS_ERROR
        elif g == INVALID or a == INVALID:
            st = INVALID
        else:
            st = NOT_READY
        self.status = st
        return st

    def _read_gyro(self):
        if self._g_seq >= 0:
            return self._gyro_seq()
        h = self._gh16
        # Inline rather than regbus.read_regs on the cycle path (~13k fuel a call).
        try:
            cs = self._gcs
            if cs is None:
                self._gb.readfrom_mem_into(self._gaddr, _RATE_X_LSB, h)
            else:
                self._gtx[0] = self._greg | 0x80          # SPI read bit
                cs.value(0)
                try:
                    self._gb.write_readinto(self._gtx, h)
                finally:
                    cs.value(1)
        except OSError:
            return self._bus_error()
        i = self._gi
        c = h[i + 7]
        if c != _G_BW_LPM1 or (h[i + 6] >> 8) != self._gyro_range:
            if c == -1:
                return self._bus_error()          # floating MISO: all ones
            # One bad read may be a flipped bit; the same twice is a reset.
            self._gyro_bad += 1
            if self._gyro_bad < 2:
                self.errors += 1
                self.invalid += 1
                return INVALID
            self._gyro_bad = 0
            return self._gyro_reinit()
        self._gyro_bad = 0
        k = self._gk
        n = self._gs
        r = self._gh
        g = self.gyro_urad_s
        g[0] = (h[i] * k + r) >> n
        g[1] = (h[i + 1] * k + r) >> n
        g[2] = (h[i + 2] * k + r) >> n
        return OK

    def _gyro_reinit(self):
        self.resets += 1
        post(EV_BMI_GYRO_REINIT, CAUSE_CONFIG)
        self._g_seq = 0
        self._g_wait = 0
        return self._gyro_seq()

    def _gyro_seq(self):
        """One step of the gyro's in-flight re-initialisation (or a waiting cycle)."""
        if self._g_wait > 0:
            self._g_wait -= 1
            return NOT_READY
        k = self._g_seq
        try:
            if k < 3:
                self._gyro_step(k)
            else:
                self._rd_g(_RATE_X_LSB, self._g16_tx, self._g16_rx)
        except OSError:
            self._g_seq = -1
            self.reinit_failures += 1
            return self._bus_error()
        if k < 3:
            self._g_seq = k + 1
            self._g_wait = _GYRO_WAIT_CYCLES[k] - 1
            return NOT_READY
        self._g_seq = -1
        d = self._gdata
        if d[_G_RANGE] != self._gyro_range or d[_G_BW] != _GYRO_BW_400HZ or d[_G_LPM1] != 0:
            self.errors += 1
            self.reinit_failures += 1
            post(EV_BMI_REINIT_FAIL, 2)
            return INVALID
        return REINIT

    def _read_accel(self):
        if self._a_seq >= 0:
            return self._acc_seq()
        if not self.accel_enabled:
            self._off_cycles += 1
            if self._off_cycles < _ACC_RETRY:
                return DISABLED
            self._off_cycles = 0
            return self._acc_reinit(CAUSE_CONFIG)
        if self._since_check >= _CHECK_PERIOD:
            self._since_check = 0
            st = self._acc_check()
            if st != OK:
                return st
        h = self._ah16
        # Inline rather than regbus.read_regs on the cycle path (~13k fuel a call).
        try:
            cs = self._acs
            if cs is None:
                self._ab.readfrom_mem_into(self._aaddr, _ACC_ERR_REG, h)
            else:
                self._atx[0] = _ACC_ERR_REG | 0x80        # SPI read bit
                cs.value(0)
                try:
                    self._ab.write_readinto(self._atx, h)
                finally:
                    cs.value(1)
        except OSError:
            return self._bus_error()
        i = self._ai
        e = h[i]                              # ACC_ERR_REG | ACC_STATUS << 8
        if e == -1:
            return self._bus_error()          # floating MISO / I2C mode after a reset
        if e & _ACC_ERR_MASK:
            # an error code or fatal_err (reserved bits masked): not a sample to use
            self.errors += 1
            self.invalid += 1
            return INVALID
        if e >= 0:                            # acc_drdy is the sign bit
            self.not_ready += 1
            self._streak += 1
            if self._streak >= _STUCK_CYCLES * self._backoff:
                self._streak = 0
                return self._acc_check(True)
            return NOT_READY
        k = self._ak
        n = self._as
        r = self._ah
        a = self.accel_mm_s2
        a[0] = (h[i + 8] * k + r) >> n
        a[1] = (h[i + 9] * k + r) >> n
        a[2] = (h[i + 10] * k + r) >> n
        self._streak = 0
        self._backoff = 1
        self._since_check += 1
        return OK

    def _acc_config_ok(self):
        # Reads ACC_PWR_CONF/CTRL then ACC_CONF/RANGE; raises OSError.
        self._rd_a(_ACC_PWR_CONF, self._a2_tx, self._a2_rx)
        if self._a2[0] != _PWR_ACTIVE or self._a2[1] != _PWR_ON:
            return False
        self._rd_a(_ACC_CONF, self._a2_tx, self._a2_rx)
        return self._a2[0] == _ACC_CONF_400HZ and self._a2[1] == self._acc_range

    def _acc_check(self, stuck=False):
        # The configuration read back: re-initialised if lost; stuck (data-ready
        # clear too long) and configured, rewritten anyway, the next attempt
        # waiting twice as long.
        try:
            ok = self._acc_config_ok() or self._acc_config_ok()   # confirm a mismatch
        except OSError:
            return self._bus_error()
        if not ok:
            return self._acc_reinit(CAUSE_CONFIG)
        if not stuck:
            return OK
        self._back_off()
        return self._acc_reinit(CAUSE_STUCK)

    def _acc_reinit(self, cause):
        was_enabled = self.accel_enabled
        if was_enabled:
            self.resets += 1
            post(EV_BMI_ACC_REINIT, cause)
        self._streak = 0
        self._since_check = 0
        self._a_cause = cause
        self._a_seq = 0
        self._a_wait = 0
        return self._acc_seq()

    def _acc_seq(self):
        """One step of the accelerometer's in-flight re-initialisation (or a
        waiting cycle); the last one reads the set-up back and decides."""
        was_enabled = self.accel_enabled
        if self._a_wait > 0:
            self._a_wait -= 1
            return NOT_READY if was_enabled else DISABLED
        k = self._a_seq
        bad = 0
        try:
            if k < 3:
                self._acc_step(k)
            else:
                bad = self._acc_verify()
        except OSError:
            self._a_seq = -1
            self.reinit_failures += 1
            return self._bus_error()
        if k < 3:
            self._a_seq = k + 1
            self._a_wait = _ACC_WAIT_CYCLES[k] - 1
            return NOT_READY if was_enabled else DISABLED
        self._a_seq = -1
        if bad == 1 or bad == 2:
            self.reinit_failures += 1
            if was_enabled:
                self.accel_enabled = False
                self._off_cycles = 0
                post(EV_BMI_ACC_DISABLED, (self._a2[0] << 8) | self._a2[1])
            return DISABLED
        if bad:
            self.errors += 1
            self.reinit_failures += 1
            post(EV_BMI_REINIT_FAIL, 1)
            return INVALID
        if not was_enabled:
            self.accel_enabled = True
            post(EV_BMI_ACC_ENABLED, 0)
        # a silent but configured part was rewritten: no reset to report
        return NOT_READY if self._a_cause == CAUSE_STUCK else REINIT
