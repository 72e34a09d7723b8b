# ST LSM6DSOX 6-axis IMU (primary IMU), I2C or 4-wire SPI.
# Datasheet: DS12814 (LSM6DSOX), rev 3. Register map section 8, register
# descriptions section 9; sensitivities table 2; SPI protocol 6.2 (bit 7 of the
# first byte = 1 for a read, 4-wire by default: CTRL3_C.SIM = 0).
#
# Cycle path: read() does ONE burst that carries STATUS_REG and the outputs
# (I2C: 0x1E..0x2D, 16 bytes; SPI: 0x1D..0x2D behind the address byte, 18
# bytes) straight into a preallocated array('h') -- little-endian parts and
# little-endian MCUs (RP2040, ESP32, STM32, wasm, x86), so each int16 output
# is one array item and no byte assembly is needed. When both data-ready bits
# are set it converts in place with one integer multiply and shift per axis
# and returns a status code. It never raises and never allocates.
#
# A part that resets mid-flight comes back with ODR = power-down, so its
# data-ready bits stay clear: after _STUCK_CYCLES not-ready cycles (or on a
# periodic configuration check) the driver reads the configuration back,
# rewrites it, posts EV_LSM6_REINIT and counts `resets`. Repeated stuck
# episodes back off (doubling, capped) so events cannot flood telemetry.
from array import array

# _wait_us: start-up waits (the host's emulators are told of each, lander.compat;
# the tests replace it to record them)
from lander.compat import const, sleep_us as _wait_us
from lander.drivers import (
    Part,
    BUS_ERROR,
    INVALID,
    NOT_READY,
    OK,
    REINIT,
    device_error,
)
from lander.drivers.regbus import read_regs, write_reg
from lander.events import post

# Registers (DS12814 section 9)
_WHO_AM_I = const(0x0F)      # 9.11  fixed 0x6C
_CTRL1_XL = const(0x10)      # 9.12  ODR_XL[7:4] FS_XL[3:2] LPF2_XL_EN[1]
_CTRL2_G = const(0x11)       # 9.13  ODR_G[7:4] FS_G[3:2] FS_125[1]
_CTRL3_C = const(0x12)       # 9.14  BOOT BDU H_LACTIVE PP_OD SIM IF_INC - SW_RESET
_CTRL4_C = const(0x13)       # 9.15  I2C_disable[2] (SPI use: keep other SPI traffic off I2C)
_STATUS_REG = const(0x1E)    # 9.26  TDA[2] GDA[1] XLDA[0]; bits 7:3 read 0
# 0x1F reserved, OUT_TEMP_L/H 0x20-0x21 (9.27), OUTX_L_G..OUTZ_H_G 0x22-0x27 (9.28-9.30),
# OUTX_L_A..OUTZ_H_A 0x28-0x2D (9.31-9.33)

_WHO_AM_I_VALUE = const(0x6C)
_CTRL3_BDU = const(0x40)
_CTRL3_IF_INC = const(0x04)
_CTRL3_SW_RESET = const(0x01)
_CTRL4_I2C_DISABLE = const(0x04)
_STATUS_RESERVED = const(0xF8)
_STATUS_FRESH_MASK = const(0xFB)   # STATUS_REG less TDA; 3 = XLDA and GDA, nothing reserved


# ODR codes (9.12/9.13 tables): 0 = power-down, 4 = 104 Hz, 5 = 208 Hz, 6 = 416 Hz
ODR_104HZ = const(4)
ODR_208HZ = const(5)
ODR_416HZ = const(6)

# Fault detection
_STUCK_CYCLES = const(5)     # data-ready clear this many cycles in a row -> check + re-init
_CHECK_PERIOD = const(50)    # configuration read-back every 50 good cycles (1 s at 50 Hz)
_RESET_POLLS = const(100)    # start-up SW_RESET completion polls

# Events (drivers range, LSM6DSOX 0x0100-0x010F)
EV_LSM6_REINIT = const(0x0101)       # arg: 1 = config read-back mismatch, 2 = data-ready stuck
EV_LSM6_REINIT_FAIL = const(0x0102)  # arg: CTRL register value seen after the rewrite

CAUSE_CONFIG = const(1)
CAUSE_STUCK = const(2)

# Full scales -> register bits and integer conversion factors:
# value = (raw * K + 2^(S-1)) >> S (rounded) with K < 2^15, so every
# intermediate stays < 2^30 for |raw| <= 2^15.
# K / 2^S = unit per LSB (table 2: gyro mdps/LSB * pi/180 * 1000 -> urad/s,
# accel mg/LSB * 9.80665 -> mm/s^2); K is rounded, |error| < 2e-5 relative,
# i.e. below 0.6 LSB even at full scale (the part's own sensitivity tolerance
# is +-1 %).
_GYRO_FS = {  # dps: (CTRL2_G FS bits, K, S)
    125: (0x02, 19548, 8),       # 4.375 mdps/LSB = 76.358 urad/s
    250: (0x00, 19548, 7),       # 8.75  -> 152.716
    500: (0x04, 19548, 6),       # 17.50 -> 305.433
    1000: (0x08, 19548, 5),      # 35    -> 610.865
    2000: (0x0C, 19548, 4),      # 70    -> 1221.730
}
_ACCEL_FS = {  # g: (CTRL1_XL FS bits, K, S)
    2: (0x00, 19602, 15),        # 0.061 mg/LSB = 0.598 mm/s^2
    4: (0x08, 19602, 14),        # 0.122 -> 1.196
    8: (0x0C, 19602, 13),        # 0.244 -> 2.393
    16: (0x04, 19602, 12),       # 0.488 -> 4.786
}


class Lsm6dsox(Part):
    """LSM6DSOX on I2C (cs=None) or 4-wire SPI (cs = chip-select Pin)."""

    PART = "LSM6DSOX"

    def __init__(self, bus, addr=0x6A, cs=None, odr=ODR_208HZ, gyro_dps=500, accel_g=8):
        self._bus = bus
        self._addr = addr
        self._cs = cs
        # One burst buffer, viewed as int16 (little-endian outputs):
        #   I2C from 0x1E: [STATUS|0x1F, TEMP, GX, GY, GZ, AX, AY, AZ]
        #   SPI from 0x1D: [addr|D6D_SRC, STATUS|0x1F, TEMP, GX .. AZ]
        if cs is None:
            self._h = array("h", bytes(16))
            self._o = self._h
        else:
            self._h = array("h", bytes(18))
            self._o = memoryview(self._h)[1:]
        # read() indexes the burst through _o: STATUS in the low byte of [0],
        # GX..AZ at [2..7] on either bus (SPI: past the address-phase int16),
        # constant indices (an add less per output, ~2 k fuel a read)
        self._tx = bytearray(len(self._h) * 2)      # SPI: address byte + clocks
        # the SPI burst's address byte (0x1D, read bit), written once: the
        # transfer never changes it
        self._tx[0] = (_STATUS_REG - 1) | 0x80
        self.raw = self._h                 # raw counts; gyro x at raw_at, accel x at raw_at + 3
        self.raw_at = 2 if cs is None else 3
        pre = 0 if cs is None else 1
        self._pre = pre
        self._st_rx = bytearray(1 + pre)
        self._st_tx = bytearray(1 + pre)
        self._cfg_rx = bytearray(4 + pre)
        self._cfg_tx = bytearray(4 + pre)
        self._cfg_seen = memoryview(self._cfg_rx)[pre:]
        self._w1 = bytearray(1)        # I2C single-register write payload
        self._wspi = bytearray(2)      # SPI write frame: address, value

        gfs = _GYRO_FS.get(gyro_dps)
        afs = _ACCEL_FS.get(accel_g)
        if gfs is None or afs is None or not 1 <= odr <= 10:
            raise ValueError("LSM6DSOX: unsupported gyro_dps/accel_g/odr")
        self._gk = gfs[1]
        self._gs = gfs[2]
        self._gh = 1 << (gfs[2] - 1)
        self._ak = afs[1]
        self._as = afs[2]
        self._ah = 1 << (afs[2] - 1)
        # Expected configuration, CTRL1_XL, CTRL2_G, CTRL3_C, CTRL4_C (read back
        # as a burst). On SPI the I2C interface is disabled: with CS high the
        # part would otherwise listen to other devices' SPI clocks as I2C.
        self._cfg = bytearray(4)
        self._cfg[0] = (odr << 4) | afs[0]
        self._cfg[1] = (odr << 4) | gfs[0]
        self._cfg[2] = _CTRL3_BDU | _CTRL3_IF_INC
        self._cfg[3] = 0 if cs is None else _CTRL4_I2C_DISABLE

        self.gyro_urad_s = array("i", (0, 0, 0))
        self.accel_mm_s2 = array("i", (0, 0, 0))
        self._init_health()
        # the configuration check is due when reads_ok reaches _check_at
        # (every _CHECK_PERIOD good reads, counted from the last check or
        # re-init; Part's _since_check is not used here): one counter
        # updated per good read instead of two (~1.3 k fuel a read)
        self._check_at = _CHECK_PERIOD

        if cs is not None:
            cs.value(1)
        self._startup()

    # -- start-up (may allocate and raise) -----------------------------------
    def _error(self, what, expected=None, seen=0):
        return device_error(self.PART, self._bus, self._cs, self._addr, what, expected, seen)

    def _startup(self):
        try:
            who = self._read_reg(_WHO_AM_I)
        except OSError as exc:
            raise self._error("no answer (%s)" % exc)
        if who != _WHO_AM_I_VALUE:
            raise self._error("WHO_AM_I", _WHO_AM_I_VALUE, who)
        # Software reset to a known state (9.14: SW_RESET self-clears).
        self._write_reg(_CTRL3_C, _CTRL3_SW_RESET | _CTRL3_IF_INC)
        for _ in range(_RESET_POLLS):
            _wait_us(50)
            if not self._read_reg(_CTRL3_C) & _CTRL3_SW_RESET:
                break
        else:
            raise self._error("SW_RESET did not complete")
        self._write_config()
        self._rd(_CTRL1_XL, self._cfg_tx, self._cfg_rx)
        names = ("CTRL1_XL", "CTRL2_G", "CTRL3_C", "CTRL4_C")
        for i in range(4):
            if self._cfg_seen[i] != self._cfg[i]:
                raise self._error(names[i], self._cfg[i], self._cfg_seen[i])

    def _read_reg(self, reg):
        self._rd(reg, self._st_tx, self._st_rx)
        return self._st_rx[self._pre]

    # -- bus primitives (no allocation) --------------------------------------
    def _rd(self, reg, tx, rx):
        read_regs(self._bus, self._addr, self._cs, reg, tx, rx)

    def _write_reg(self, reg, value):
        write_reg(self._bus, self._addr, self._cs, reg, value, self._w1, self._wspi)

    def _write_config(self):
        # CTRL3_C first (BDU, IF_INC), CTRL4_C, then the ODR/full-scale registers.
        self._write_reg(_CTRL3_C, self._cfg[2])
        self._write_reg(_CTRL4_C, self._cfg[3])
        self._write_reg(_CTRL1_XL, self._cfg[0])
        self._write_reg(_CTRL2_G, self._cfg[1])

    # -- cycle path -----------------------------------------------------------
    def read(self):
        """Fill gyro_urad_s / accel_mm_s2; return a status code (also kept in
        self.status). Never raises. One method: a call more costs ~3 k fuel a
        cycle on the 32-bit interpreter."""
        good = self.reads_ok
        if good >= self._check_at:
            self._check_at = good + _CHECK_PERIOD
            st = self._check_config()
            if st != OK:
                self.status = st
                return st
        h = self._h
        # Inline rather than regbus.read_regs: the call costs ~11k fuel per
        # cycle on the 32-bit interpreter (measured, tests/test_drivers_imu_mpy.py).
        try:
            cs = self._cs
            if cs is None:
                self._bus.readfrom_mem_into(self._addr, _STATUS_REG, h)
            else:
                cs.value(0)
                try:
                    self._bus.write_readinto(self._tx, h)
                finally:
                    cs.value(1)
                h = self._o
        except OSError:
            st = self._bus_error()
            self.status = st
            return st
        # one test for the nominal status (reserved bits clear, XLDA and GDA
        # set, TDA either): ~0.8 k fuel a read less than the two below
        if (h[0] & _STATUS_FRESH_MASK) != 3:
            s = h[0] & 0xFF
            if s & _STATUS_RESERVED:
                # Floating MISO (0xFF) or a corrupted byte: not a status we can trust.
                self.errors += 1
                if s == 0xFF:
                    self.bus_errors += 1
                    self.status = BUS_ERROR
                    return BUS_ERROR
                self.invalid += 1
                self.status = INVALID
                return INVALID
            # XLDA or GDA clear
            self.not_ready += 1
            self._streak += 1
            if self._streak >= _STUCK_CYCLES * self._backoff:
                self._streak = 0
                st = self._check_config(True)
                self.status = st
                return st
            self.status = NOT_READY
            return NOT_READY
        k = self._gk
        n = self._gs
        r = self._gh
        g = self.gyro_urad_s
        g[0] = (h[2] * k + r) >> n
        g[1] = (h[3] * k + r) >> n
        g[2] = (h[4] * k + r) >> n
        k = self._ak
        n = self._as
        r = self._ah
        a = self.accel_mm_s2
        a[0] = (h[5] * k + r) >> n
        a[1] = (h[6] * k + r) >> n
        a[2] = (h[7] * k + r) >> n
        self._streak = 0
        self._backoff = 1
        self.reads_ok = good + 1
        self.status = OK
        return OK

    def _config_ok(self):
        c = self._cfg
        s = self._cfg_seen
        return s[0] == c[0] and s[1] == c[1] and s[2] == c[2] and s[3] == c[3]

    def _config_matches(self):
        # Read the configuration back; a mismatch is confirmed by a second
        # read, so one flipped bit does not look like a reset. Raises OSError.
        self._rd(_CTRL1_XL, self._cfg_tx, self._cfg_rx)
        if self._config_ok():
            return True
        self._rd(_CTRL1_XL, self._cfg_tx, self._cfg_rx)
        return self._config_ok()

    def _check_config(self, stuck=False):
        # The configuration read back: re-initialised if lost (a reset). With
        # stuck (data-ready clear for a while), a configured but silent part
        # is rewritten anyway, then backed off.
        try:
            ok = self._config_matches()
        except OSError:
            return self._bus_error()
        if not ok:
            return self._reinit(CAUSE_CONFIG)
        if not stuck:
            return OK
        self._back_off()
        st = self._reinit(CAUSE_STUCK)
        return NOT_READY if st == REINIT else st

    def _reinit(self, cause):
        """Rewrite the configuration and verify it (bounded: 3 writes + 1 read)."""
        self.resets += 1
        post(EV_LSM6_REINIT, cause)
        self._streak = 0
        self._check_at = self.reads_ok + _CHECK_PERIOD
        try:
            self._write_config()
            self._rd(_CTRL1_XL, self._cfg_tx, self._cfg_rx)
        except OSError:
            self.errors += 1
            self.bus_errors += 1
            self.reinit_failures += 1
            return BUS_ERROR
        if not self._config_ok():
            self.errors += 1
            self.reinit_failures += 1
            post(EV_LSM6_REINIT_FAIL, self._cfg_seen[0] | (self._cfg_seen[1] << 8))
            return INVALID
        return REINIT
