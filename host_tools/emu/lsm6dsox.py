"""Register-level emulator of the ST LSM6DSOX 6-axis IMU (I2C and 4-wire SPI).

Written from the datasheet (DS12814): register map (section 8) with power-on
defaults, IF_INC auto-increment (CTRL3_C bit 2, default 1), SW_RESET, BDU-style
whole-sample latching, ODR_XL/ODR_G power-down (outputs stay as they are and
STATUS_REG stays clear until an ODR is written), STATUS_REG XLDA/GDA/TDA set
per sample at the configured ODR and cleared when the matching output
registers are read, full scales and sensitivities of table 2, two's complement
16-bit outputs that saturate at -32768..32767, and the SPI frame of section 6.2
(first byte: bit 7 = read, bits 6:0 = address).

Physical inputs (set by the simulator or a test, SI units, sensor axes):
`gyro_rad_s` [3] and `accel_m_s2` [3] (specific force). Time comes from
`now_s`, set by the bus from the bench clock; samples are produced at the
configured ODR as `now_s` advances (no clock -> no new samples).

Timing model: a software reset is not instantaneous. DS12814 (9.14) says only
that SW_RESET clears itself when the reset is done, and ST's lsm6dsox-pid
driver polls it (lsm6dsox_reset_get) before writing anything; here the bit
reads 1 for SW_RESET_US after the write and writes in that time are not taken
(counted in ignored_writes), so a driver that does not poll fails its
configuration read-back.

Faults: noise/bias (SI units of each channel: rad/s and m/s^2), stuck (no new
conversions: outputs frozen, data-ready never set again), saturate (outputs
pinned at full scale), wrong_id, valid_never_set (samples update, STATUS_REG
stays clear), ignore_enable (ODR writes ignored), latency_s. NACK, dropouts
and bit flips are applied by the bus.
"""
from __future__ import annotations

import errno
import math

from host_tools.emu.bus import Faults

G0 = 9.80665  # standard gravity, the accelerometer's "g"

# Register addresses (DS12814 section 8, table 20)
PIN_CTRL = 0x02
WHO_AM_I = 0x0F
CTRL1_XL = 0x10
CTRL2_G = 0x11
CTRL3_C = 0x12
CTRL4_C = 0x13
CTRL8_XL = 0x17
CTRL9_XL = 0x18
STATUS_REG = 0x1E
OUT_TEMP_L = 0x20
OUTX_L_G = 0x22
OUTX_L_A = 0x28

WHO_AM_I_VALUE = 0x6C
WRONG_ID_VALUE = 0x69          # what a different ST part (LSM6DS3) would answer

POWER_ON = {PIN_CTRL: 0x3F, WHO_AM_I: WHO_AM_I_VALUE, CTRL3_C: 0x04, CTRL9_XL: 0xE0}
# Read-only registers: WHO_AM_I, the source/status registers and the outputs.
READ_ONLY = {WHO_AM_I} | set(range(0x1A, 0x2E)) | set(range(0x35, 0x3C))

# ODR code -> Hz (9.12 / 9.13); 0 = power-down. 0xB = 1.6 Hz (accel low-power only).
ODR_HZ = {0: 0.0, 1: 12.5, 2: 26.0, 3: 52.0, 4: 104.0, 5: 208.0, 6: 416.0,
          7: 833.0, 8: 1666.0, 9: 3332.0, 10: 6664.0, 11: 1.6}
# Sensitivities (table 2)
ACCEL_MG_PER_LSB = {2: 0.061, 4: 0.122, 8: 0.244, 16: 0.488}
GYRO_MDPS_PER_LSB = {125: 4.375, 250: 8.75, 500: 17.50, 1000: 35.0, 2000: 70.0}

STATUS_XLDA = 0x01
STATUS_GDA = 0x02
STATUS_TDA = 0x04
_GYRO_OUT = frozenset(range(OUTX_L_G, OUTX_L_G + 6))
_ACCEL_OUT = frozenset(range(OUTX_L_A, OUTX_L_A + 6))
_TEMP_OUT = frozenset((OUT_TEMP_L, OUT_TEMP_L + 1))


class InputHistory:
    """Physical inputs recorded over time, so `latency_s` can deliver them late."""

    def __init__(self):
        self._hist: list[tuple[float, list, list]] = []

    def record(self, now_s, a, b):
        self._hist.append((now_s, list(a), list(b)))
        if len(self._hist) > 4096:
            del self._hist[:2048]

    def at(self, t_s, a, b):
        best = None
        for t, x, y in self._hist:
            if t <= t_s:
                best = (x, y)
            else:
                break
        if best is None:
            return list(a), list(b)
        return best


def put_axes(regs, reg: int, values, lsb: float, faults: Faults) -> None:
    """Three axes of a physical value into the little-endian 16-bit output
    registers from reg on (LSM6DSOX, BMI088): the fault's bias and noise
    added, then the count as the ADC gives it (round(value / lsb), clipped
    to int16; full scale by sign when saturating; +full scale for a
    non-finite value), two's complement."""
    bias, noise, sat = faults.bias, faults.noise, faults.saturate
    for i in range(3):
        v = values[i] + bias
        if noise > 0.0:
            v += faults.rng.gauss(0.0, noise)
        if sat:
            n = 32767 if v >= 0.0 else -32768
        elif not math.isfinite(v):
            n = 32767
        else:
            n = int(round(v / lsb))
            if n > 32767:
                n = 32767
            elif n < -32768:
                n = -32768
        n &= 0xFFFF
        regs[reg] = n & 0xFF
        regs[reg + 1] = n >> 8
        reg += 2


_BURST_PLANS: dict = {}


def _burst_plan(addr: int, n: int, inc: bool) -> tuple:
    """(addresses, holds WHO_AM_I or CTRL3_C, STATUS_REG mask after the read)
    of a read burst of n octets from addr, with IF_INC on or off."""
    addrs = [(addr + i) & 0x7F for i in range(n)] if inc else [addr] * n
    touched = set(addrs)
    keep = 0xFF
    if not touched.isdisjoint(_GYRO_OUT):
        keep &= ~STATUS_GDA & 0xFF
    if not touched.isdisjoint(_ACCEL_OUT):
        keep &= ~STATUS_XLDA & 0xFF
    if not touched.isdisjoint(_TEMP_OUT):
        keep &= ~STATUS_TDA & 0xFF
    plan = (tuple(addrs), WHO_AM_I in touched or CTRL3_C in touched, keep)
    _BURST_PLANS[(addr, n, inc)] = plan
    return plan


class Lsm6dsoxEmu:
    """LSM6DSOX register map; I2C (`i2c_read`/`i2c_write`) and SPI (`spi_transaction`)."""

    def __init__(self, faults: Faults | None = None):
        self.faults = faults if faults is not None else Faults()
        self.now_s = 0.0
        self.gyro_rad_s = [0.0, 0.0, 0.0]
        self.accel_m_s2 = [0.0, 0.0, 0.0]
        self.temperature_c = 25.0
        self.samples = 0          # conversions produced since power-on
        self.power_on_resets = 0
        self.ignored_writes = 0
        self._t_sw_reset_us = -10 ** 12
        self._inputs = InputHistory()
        self.reset()

    SW_RESET_US = 50

    def _resetting(self) -> bool:
        from host_tools.emu import settle

        return settle.now_us(self) - self._t_sw_reset_us < self.SW_RESET_US

    # -- power / reset ---------------------------------------------------------
    def reset(self) -> None:
        """Registers back to power-on defaults (a brown-out / reset of the part)."""
        self.regs = bytearray(128)
        for reg, val in POWER_ON.items():
            self.regs[reg] = val
        self._xl_k = None
        self._g_k = None
        self.power_on_resets += 1

    def _sw_reset(self) -> None:
        # SW_RESET restores the user registers to their defaults (9.14).
        self.reset()
        self.power_on_resets -= 1

    # -- configuration decode --------------------------------------------------
    def accel_fs_g(self) -> int:
        fs = (self.regs[CTRL1_XL] >> 2) & 3
        if self.regs[CTRL8_XL] & 0x02:   # XL_FS_MODE = 1: old full-scale mode
            return (2, 2, 4, 8)[fs]
        return (2, 16, 4, 8)[fs]

    def gyro_fs_dps(self) -> int:
        if self.regs[CTRL2_G] & 0x02:    # FS_125
            return 125
        return (250, 500, 1000, 2000)[(self.regs[CTRL2_G] >> 2) & 3]

    def accel_odr_hz(self) -> float:
        return ODR_HZ.get(self.regs[CTRL1_XL] >> 4, 0.0)

    def gyro_odr_hz(self) -> float:
        return ODR_HZ.get(self.regs[CTRL2_G] >> 4, 0.0)

    # -- sampling ----------------------------------------------------------------
    @staticmethod
    def _k(now_s, odr):
        return math.floor(now_s * odr + 1e-9)

    def _advance(self) -> None:
        f = self.faults
        if f.latency_s > 0.0:
            self._inputs.record(self.now_s, self.gyro_rad_s, self.accel_m_s2)
        odr = self.accel_odr_hz()
        if odr > 0.0 and self._xl_k is not None:
            k = self._k(self.now_s, odr)
            if k > self._xl_k:
                self._xl_k = k
                self._sample_accel()
        odr = self.gyro_odr_hz()
        if odr > 0.0 and self._g_k is not None:
            k = self._k(self.now_s, odr)
            if k > self._g_k:
                self._g_k = k
                self._sample_gyro()

    def _inputs_now(self):
        f = self.faults
        if f.latency_s > 0.0:
            return self._inputs.at(self.now_s - f.latency_s, self.gyro_rad_s, self.accel_m_s2)
        return self.gyro_rad_s, self.accel_m_s2

    def _put16(self, reg, value):
        value &= 0xFFFF
        self.regs[reg] = value & 0xFF
        self.regs[reg + 1] = value >> 8

    def _sample_accel(self):
        f = self.faults
        if f.stuck:
            return
        _, acc = self._inputs_now()
        lsb = ACCEL_MG_PER_LSB[self.accel_fs_g()] * 1e-3 * G0
        put_axes(self.regs, OUTX_L_A, acc, lsb, f)
        t = int(round((self.temperature_c - 25.0) * 256.0))
        self._put16(OUT_TEMP_L, max(-32768, min(32767, t)))
        self.samples += 1
        if not f.valid_never_set:
            self.regs[STATUS_REG] |= STATUS_XLDA | STATUS_TDA

    def _sample_gyro(self):
        f = self.faults
        if f.stuck:
            return
        gyr, _ = self._inputs_now()
        lsb = math.radians(GYRO_MDPS_PER_LSB[self.gyro_fs_dps()] * 1e-3)
        put_axes(self.regs, OUTX_L_G, gyr, lsb, f)
        self.samples += 1
        if not f.valid_never_set:
            self.regs[STATUS_REG] |= STATUS_GDA

    # -- register access ---------------------------------------------------------
    def _read_byte(self, reg):
        if reg == WHO_AM_I and self.faults.wrong_id:
            return WRONG_ID_VALUE
        if reg == CTRL3_C and self._resetting():
            return self.regs[reg] | 0x01  # SW_RESET still in progress
        return self.regs[reg]

    def _write_byte(self, reg, value):
        if self._resetting():
            self.ignored_writes += 1
            return
        if reg in READ_ONLY:
            return
        if reg == CTRL3_C:
            if value & 0x01:              # SW_RESET: self-clearing when done
                self._sw_reset()
                from host_tools.emu import settle

                self._t_sw_reset_us = settle.now_us(self)
                return
            value &= ~0x80                # BOOT: reboot completes at once here
            self.regs[reg] = value
            return
        if reg in (CTRL1_XL, CTRL2_G):
            old = self.regs[reg]
            if self.faults.ignore_enable:
                value = (old & 0xF0) | (value & 0x0F)
            if reg == CTRL2_G:
                value &= 0xFE             # bit 0 reserved, reads 0
            self.regs[reg] = value
            if (old >> 4) != (value >> 4):
                self._restart(reg)
            return
        self.regs[reg] = value

    def _restart(self, reg):
        # A new ODR (re)starts conversions from now; power-down stops them.
        if reg == CTRL1_XL:
            odr = self.accel_odr_hz()
            self._xl_k = self._k(self.now_s, odr) if odr > 0.0 else None
            if odr == 0.0:
                self.regs[STATUS_REG] &= ~(STATUS_XLDA | STATUS_TDA) & 0xFF
        else:
            odr = self.gyro_odr_hz()
            self._g_k = self._k(self.now_s, odr) if odr > 0.0 else None
            if odr == 0.0:
                self.regs[STATUS_REG] &= ~STATUS_GDA & 0xFF

    def _auto_inc(self) -> bool:
        return bool(self.regs[CTRL3_C] & 0x04)

    def _read_burst(self, reg: int, n: int) -> bytes:
        self._advance()
        addr = reg & 0x7F
        # reads change no register, so IF_INC holds over the burst: the
        # addresses, whether the burst holds a register with a read side
        # (WHO_AM_I, CTRL3_C) and the data-ready bits it clears depend only
        # on (address, length, IF_INC): worked out once per burst shape (the
        # simulator's hottest emulator path)
        inc = self._auto_inc()
        plan = _BURST_PLANS.get((addr, n, inc))
        if plan is None:
            plan = _burst_plan(addr, n, inc)
        addrs, special, keep = plan
        regs = self.regs
        if special:
            out = bytes([self._read_byte(a) if a == WHO_AM_I or a == CTRL3_C else regs[a] for a in addrs])
        else:
            out = bytes([regs[a] for a in addrs])
        # Data-ready bits clear once the matching outputs have been read.
        if keep != 0xFF:
            regs[STATUS_REG] &= keep
        return out

    def _write_burst(self, reg: int, data: bytes) -> None:
        self._advance()
        addr = reg & 0x7F
        for b in data:
            self._write_byte(addr, b)
            if self._auto_inc():
                addr = (addr + 1) & 0x7F

    # -- device contract (host_tools/emu/bus.py) ---------------------------------
    def i2c_read(self, reg: int, n: int) -> bytes:
        if self.regs[CTRL4_C] & 0x04:      # I2C_disable
            raise OSError(errno.EIO, "LSM6DSOX I2C disabled")
        return self._read_burst(reg, n)

    def i2c_write(self, reg: int, data: bytes) -> None:
        if self.regs[CTRL4_C] & 0x04:
            raise OSError(errno.EIO, "LSM6DSOX I2C disabled")
        self._write_burst(reg, data)

    def spi_transaction(self, tx: bytes) -> bytes:
        if not tx:
            return b""
        first = tx[0]
        if first & 0x80:
            return b"\x00" + self._read_burst(first & 0x7F, len(tx) - 1)
        self._write_burst(first & 0x7F, bytes(tx[1:]))
        return bytes(len(tx))
