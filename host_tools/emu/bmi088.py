"""Register-level emulators of the Bosch BMI088: accelerometer and gyroscope.

Written from the datasheet (BST-BMI088-DS001): two independent devices.

Accelerometer (Bmi088AccelEmu), register map 5.3 / 5.2 table:
  ACC_CHIP_ID 0x00 = 0x1E, ACC_ERR_REG 0x02, ACC_STATUS 0x03 (bit 7 acc_drdy,
  reset when a data register is read), ACC_X_LSB..ACC_Z_MSB 0x12-0x17,
  SENSORTIME 0x18-0x1A (39.0625 us/LSB), ACC_INT_STAT_1 0x1D (cleared on read),
  TEMP 0x22-0x23, ACC_CONF 0x40 (reset 0xA8), ACC_RANGE 0x41 (reset 0x01 = 6 g),
  ACC_PWR_CONF 0x7C (reset 0x03 suspend), ACC_PWR_CTRL 0x7D (reset 0x00 off),
  ACC_SOFTRESET 0x7E (0xB6). Power-on = suspend: no conversions and
  acc_drdy clear until ACC_PWR_CONF = 0x00 and ACC_PWR_CTRL = 0x04. Burst
  reads auto-increment. SPI reads send one dummy byte before the data
  (6.1.2); after power-on or a soft reset the part is in I2C mode until the
  first rising edge of CSB1 (one SPI transaction, answered with a floating bus).
  Output = raw / 32768 * 1000 * 2^(ACC_RANGE + 1) * 1.5 mg.

Gyroscope (Bmi088GyroEmu), register map 5.5:
  GYRO_CHIP_ID 0x00 = 0x0F, RATE_X_LSB..RATE_Z_MSB 0x02-0x07,
  GYRO_INT_STAT_1 0x0A (bit 7 gyro_drdy, clears itself 280-400 us after a
  sample), GYRO_RANGE 0x0F (reset 0x00 = 2000 dps), GYRO_BANDWIDTH 0x10 (reset
  0x80; bit 7 reads 1), GYRO_LPM1 0x11 (0x00 normal, 0x80 suspend, 0x20 deep
  suspend), GYRO_SOFTRESET 0x14, GYRO_INT_CTRL 0x15. The gyro runs in normal
  mode from power-on (2000 Hz, 2000 dps). SPI: no dummy byte.
  Sensitivity 16.384 * 2^GYRO_RANGE LSB per deg/s.

Physical inputs: `accel_m_s2` (specific force) and `gyro_rad_s`, SI, sensor
axes. Faults as in host_tools/emu/lsm6dsox.py (noise/bias in SI units).
"""
from __future__ import annotations

import math

from host_tools.emu.bus import Faults
from host_tools.emu.lsm6dsox import G0, InputHistory, put_axes

# -- accelerometer -------------------------------------------------------------
ACC_CHIP_ID = 0x00
ACC_ERR_REG = 0x02
ACC_STATUS = 0x03
ACC_X_LSB = 0x12
SENSORTIME_0 = 0x18
ACC_INT_STAT_1 = 0x1D
TEMP_MSB = 0x22
ACC_CONF = 0x40
ACC_RANGE = 0x41
ACC_PWR_CONF = 0x7C
ACC_PWR_CTRL = 0x7D
ACC_SOFTRESET = 0x7E

ACC_CHIP_ID_VALUE = 0x1E
ACC_POWER_ON = {ACC_CHIP_ID: ACC_CHIP_ID_VALUE, ACC_CONF: 0xA8, ACC_RANGE: 0x01,
                ACC_PWR_CONF: 0x03, ACC_PWR_CTRL: 0x00, TEMP_MSB: 0x80}
ACC_READ_ONLY = {ACC_CHIP_ID, ACC_ERR_REG, ACC_STATUS, ACC_INT_STAT_1, 0x22, 0x23} | set(range(0x12, 0x1B))
ACC_BWP_VALID = (0x08, 0x09, 0x0A)          # OSR4, OSR2, normal
ACC_ODR_HZ = {c: 12.5 * 2 ** (c - 5) for c in range(5, 13)}   # 0x05 12.5 Hz .. 0x0C 1600 Hz

# -- gyroscope -------------------------------------------------------------------
GYRO_CHIP_ID = 0x00
RATE_X_LSB = 0x02
GYRO_INT_STAT_1 = 0x0A
GYRO_RANGE = 0x0F
GYRO_BANDWIDTH = 0x10
GYRO_LPM1 = 0x11
GYRO_SOFTRESET = 0x14
GYRO_INT_CTRL = 0x15
INT3_INT4_IO_CONF = 0x16

GYRO_CHIP_ID_VALUE = 0x0F
GYRO_POWER_ON = {GYRO_CHIP_ID: GYRO_CHIP_ID_VALUE, GYRO_BANDWIDTH: 0x80, INT3_INT4_IO_CONF: 0x0F}
GYRO_READ_ONLY = {GYRO_CHIP_ID, GYRO_INT_STAT_1, 0x0E} | set(range(0x02, 0x08))
GYRO_ODR_HZ = {0: 2000.0, 1: 2000.0, 2: 1000.0, 3: 400.0, 4: 200.0, 5: 100.0, 6: 200.0, 7: 100.0}
GYRO_DRDY_PULSE_S = 340e-6


class _Bmi088Part:
    """Shared register-file plumbing of the two BMI088 devices."""

    CHIP_ID_REG = 0x00
    DUMMY_BYTE = False
    WRONG_ID = 0x00

    def __init__(self, faults: Faults | None = None):
        self.faults = faults if faults is not None else Faults()
        self.now_s = 0.0
        self.gyro_rad_s = [0.0, 0.0, 0.0]
        self.accel_m_s2 = [0.0, 0.0, 0.0]
        self.samples = 0
        self._inputs = InputHistory()
        self.ignored_writes = 0          # writes sooner than POWER_SETTLE_US after a power-mode write
        self._t_power_us = -10 ** 12     # bench time of the last power-mode write
        self.reset()

    def reset(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def _odr(self) -> float:  # pragma: no cover - overridden
        raise NotImplementedError

    def _sample(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def _inputs_now(self):
        f = self.faults
        if f.latency_s > 0.0:
            return self._inputs.at(self.now_s - f.latency_s, self.gyro_rad_s, self.accel_m_s2)
        return self.gyro_rad_s, self.accel_m_s2

    @staticmethod
    def _k(now_s, odr):
        return math.floor(now_s * odr + 1e-9)

    def _restart(self):
        odr = self._odr()
        self._kk = self._k(self.now_s, odr) if odr > 0.0 else None

    def _advance(self):
        if self.faults.latency_s > 0.0:
            self._inputs.record(self.now_s, self.gyro_rad_s, self.accel_m_s2)
        odr = self._odr()
        if odr > 0.0:
            if self._kk is None:
                self._kk = self._k(self.now_s, odr)
            k = self._k(self.now_s, odr)
            if k > self._kk:
                self._kk = k
                if not self.faults.stuck:
                    self._sample()
        else:
            self._kk = None

    def _read_byte(self, reg):
        if reg == self.CHIP_ID_REG and self.faults.wrong_id:
            return self.WRONG_ID
        return self.regs[reg]

    def _after_read(self, touched):  # pragma: no cover - overridden
        pass

    def _write_byte(self, reg, value):  # pragma: no cover - overridden
        raise NotImplementedError

    def _read_burst(self, reg, n):
        self._advance()
        out = bytearray(n)
        touched = set()
        addr = reg & 0x7F
        for i in range(n):
            out[i] = self._read_byte(addr)
            touched.add(addr)
            addr = (addr + 1) & 0x7F
        self._after_read(touched)
        return bytes(out)

    def _write_burst(self, reg, data):
        self._advance()
        addr = reg & 0x7F
        for b in data:
            self._write_byte(addr, b)
            addr = (addr + 1) & 0x7F

    # -- device contract -------------------------------------------------------------
    def i2c_read(self, reg: int, n: int) -> bytes:
        return self._read_burst(reg, n)

    def i2c_write(self, reg: int, data: bytes) -> None:
        self._write_burst(reg, data)

    def spi_transaction(self, tx: bytes) -> bytes:
        if not tx:
            return b""
        first = tx[0]
        if first & 0x80:
            if self.DUMMY_BYTE:
                # the address and the dummy octet, then the data: a window of
                # the address alone clocks one octet back, not two
                return (b"\x00\x00" + self._read_burst(first & 0x7F, max(0, len(tx) - 2)))[:len(tx)]
            return b"\x00" + self._read_burst(first & 0x7F, len(tx) - 1)
        self._write_burst(first & 0x7F, bytes(tx[1:]))
        return bytes(len(tx))


class Bmi088AccelEmu(_Bmi088Part):
    DUMMY_BYTE = True
    WRONG_ID = GYRO_CHIP_ID_VALUE      # e.g. chip selects swapped on the board

    def reset(self) -> None:
        """Power-on defaults: suspend mode, I2C interface mode."""
        self.regs = bytearray(128)
        for reg, val in ACC_POWER_ON.items():
            self.regs[reg] = val
        self.spi_mode = False
        self._kk = None

    def active(self) -> bool:
        return self.regs[ACC_PWR_CONF] == 0x00 and self.regs[ACC_PWR_CTRL] == 0x04

    def range_g(self) -> int:
        return (3, 6, 12, 24)[self.regs[ACC_RANGE] & 3]

    def _odr(self) -> float:
        if not self.active():
            return 0.0
        return ACC_ODR_HZ.get(self.regs[ACC_CONF] & 0x0F, 0.0)

    def _sample(self):
        f = self.faults
        _, acc = self._inputs_now()
        lsb = self.range_g() * G0 / 32768.0
        put_axes(self.regs, ACC_X_LSB, acc, lsb, f)
        self.samples += 1
        if not f.valid_never_set:
            self.regs[ACC_STATUS] |= 0x80
            self.regs[ACC_INT_STAT_1] |= 0x80

    def _read_byte(self, reg):
        if SENSORTIME_0 <= reg <= SENSORTIME_0 + 2:
            t = int(self.now_s / 39.0625e-6) & 0xFFFFFF
            return (t >> (8 * (reg - SENSORTIME_0))) & 0xFF
        return super()._read_byte(reg)

    def _after_read(self, touched):
        if touched & set(range(ACC_X_LSB, ACC_X_LSB + 6)):
            self.regs[ACC_STATUS] &= 0x7F
        if ACC_INT_STAT_1 in touched:
            self.regs[ACC_INT_STAT_1] &= 0x7F
        if ACC_ERR_REG in touched:
            self.regs[ACC_ERR_REG] &= 0x01      # error_code clears on read, fatal stays

    # Settling model: a register write sooner than 5 ms after a power-mode
    # write (ACC_PWR_CONF / ACC_PWR_CTRL) is not taken (Bosch's BMI08x
    # SensorAPI waits 5 ms after each; a part addressed too soon may ignore
    # the write). Counted in ignored_writes.
    POWER_SETTLE_US = 5000

    def _write_byte(self, reg, value):
        from host_tools.emu import settle

        now = settle.now_us(self)
        if now - self._t_power_us < self.POWER_SETTLE_US:
            self.ignored_writes += 1
            return
        if reg == ACC_SOFTRESET:
            if value == 0xB6:
                self.reset()
            return
        if reg in ACC_READ_ONLY:
            return
        if reg == ACC_PWR_CTRL and self.faults.ignore_enable:
            return
        if reg in (ACC_PWR_CONF, ACC_PWR_CTRL):
            self._t_power_us = now
        if reg == ACC_CONF and (value >> 4) not in ACC_BWP_VALID or \
                reg == ACC_CONF and (value & 0x0F) not in ACC_ODR_HZ:
            self.regs[ACC_ERR_REG] = (self.regs[ACC_ERR_REG] & 0x01) | (0x01 << 2)
        was = self._odr()
        self.regs[reg] = value
        if self._odr() != was:
            self._restart()
            if self._odr() == 0.0:
                self.regs[ACC_STATUS] &= 0x7F

    def spi_transaction(self, tx: bytes) -> bytes:
        if not self.spi_mode:
            # I2C mode: SDO is not driven; the rising CSB edge selects SPI.
            self.spi_mode = True
            return b"\xff" * len(tx)
        return super().spi_transaction(tx)


class Bmi088GyroEmu(_Bmi088Part):
    WRONG_ID = ACC_CHIP_ID_VALUE

    def reset(self) -> None:
        """Power-on defaults: normal mode, 2000 dps, ODR 2000 Hz."""
        self.regs = bytearray(128)
        for reg, val in GYRO_POWER_ON.items():
            self.regs[reg] = val
        self._kk = None
        self._t_sample = -1.0

    def range_dps(self) -> int:
        return (2000, 1000, 500, 250, 125, 125, 125, 125)[self.regs[GYRO_RANGE] & 7]

    def _odr(self) -> float:
        if self.regs[GYRO_LPM1] & 0xA0:        # suspend or deep suspend
            return 0.0
        return GYRO_ODR_HZ[self.regs[GYRO_BANDWIDTH] & 0x07]

    def _sample(self):
        f = self.faults
        gyr, _ = self._inputs_now()
        lsb = math.radians(1.0 / (16.384 * 2 ** min(self.regs[GYRO_RANGE] & 7, 4)))
        put_axes(self.regs, RATE_X_LSB, gyr, lsb, f)
        self.samples += 1
        self._t_sample = self.now_s

    def _read_byte(self, reg):
        if reg == GYRO_INT_STAT_1:
            fresh = 0.0 <= self.now_s - self._t_sample < GYRO_DRDY_PULSE_S
            return 0x80 if fresh and not self.faults.valid_never_set else 0x00
        return super()._read_byte(reg)

    # Settling model: a register write sooner than 30 ms after a power-mode
    # write (GYRO_LPM1) is not taken (Bosch's BMI08x SensorAPI waits
    # BMI08X_GYRO_POWER_MODE_CONFIG_DELAY = 30 ms after it; the part may
    # ignore what comes sooner). Counted in ignored_writes.
    POWER_SETTLE_US = 30000

    def _write_byte(self, reg, value):
        from host_tools.emu import settle

        now = settle.now_us(self)
        if now - self._t_power_us < self.POWER_SETTLE_US:
            self.ignored_writes += 1
            return
        if reg == GYRO_SOFTRESET:
            if value == 0xB6:
                self.reset()
            return
        if reg in GYRO_READ_ONLY:
            return
        if reg == GYRO_LPM1 and self.faults.ignore_enable:
            return
        if reg == GYRO_LPM1:
            self._t_power_us = now
        if reg == GYRO_BANDWIDTH:
            value |= 0x80
        was = self._odr()
        self.regs[reg] = value
        if self._odr() != was:
            self._restart()
