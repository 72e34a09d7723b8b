"""Register-level emulator of the Bosch BMP390 barometer (I2C).

Written from the datasheet (BST-BMP390-DS002):
- memory map (section 4) with power-on values: CHIP_ID 0x60, REV_ID 0x01,
  STATUS cmd_rdy set, DATA registers 0x800000 until a conversion, EVENT
  por_detected set after power-on or soft reset (cleared on read), OSR 0x02,
  INT_CTRL 0x02; burst reads auto-increment;
- power modes (3.3): sleep after power-on (no conversions, drdy clear),
  forced (one conversion, then back to sleep), normal (conversions every ODR
  period); entering normal mode with a conversion time longer than the ODR
  period sets ERR_REG.conf_err and the part stays asleep (3.9.2:
  T_conv = 234 + press_en*(392 + 2^osr_p*2020) + temp_en*(163 + 2^osr_t*2020) us);
- STATUS drdy_press / drdy_temp set per conversion and cleared when a DATA
  register of that kind is read; INT_STATUS.drdy cleared on read;
- IIR filter (3.4.3) on the ADC values with coefficient 2^iir_filter - 1;
- CMD 0xB6 soft reset; other unknown commands set ERR_REG.cmd_err;
- NVM trimming coefficients at 0x31-0x45: the emulator has its own set
  (default: a real part's, see NVM_DEFAULT) and turns `pressure_pa` and
  `temperature_c` into raw 24-bit ADC counts through the INVERSE of the
  datasheet's float compensation (appendix, section 8), solved numerically.

Timing model (what a driver that skips Bosch's BMP3 SensorAPI waits meets):
- after a soft reset the part is busy for RESET_BUSY_US (2 ms): STATUS.cmd_rdy
  reads clear, register writes are not taken, and a command sent while
  cmd_rdy is clear is refused with ERR_REG.cmd_err;
- OSR / ODR / CONFIG writes sooner than SLEEP_SETTLE_US (5 ms) after the part
  left normal mode are not taken (a conversion in progress completes first;
  the API waits 5 ms after putting the part to sleep).
Writes not taken are counted in ignored_writes.

Faults: noise/bias (Pa, on pressure), stuck (no new conversions), saturate
(ADC pinned at full scale), wrong_id (reads 0x50, a BMP388), valid_never_set
(drdy bits never set), ignore_enable (PWR_CTRL writes ignored), latency_s.
"""
from __future__ import annotations

import math
import struct

from host_tools.emu.bus import Faults

CHIP_ID = 0x00
REV_ID = 0x01
ERR_REG = 0x02
STATUS = 0x03
DATA_0 = 0x04
SENSORTIME_0 = 0x0C
EVENT = 0x10
INT_STATUS = 0x11
INT_CTRL = 0x19
PWR_CTRL = 0x1B
OSR = 0x1C
ODR = 0x1D
CONFIG = 0x1F
NVM_START = 0x31
CMD = 0x7E

CHIP_ID_VALUE = 0x60
WRONG_ID_VALUE = 0x50          # a BMP388
POWER_ON = {CHIP_ID: CHIP_ID_VALUE, REV_ID: 0x01, STATUS: 0x10, DATA_0 + 2: 0x80,
            DATA_0 + 5: 0x80, EVENT: 0x01, INT_CTRL: 0x02, OSR: 0x02}
READ_ONLY = {CHIP_ID, REV_ID, ERR_REG, STATUS, EVENT, INT_STATUS} | set(range(0x04, 0x15)) \
    | set(range(0x30, 0x58))

# A real BMP388/390 calibration (the same compensation applies to both).
NVM_DEFAULT = dict(T1=27427, T2=18776, T3=-10, P1=-164, P2=-2866, P3=35, P4=0, P5=25578,
                   P6=31086, P7=-13, P8=-10, P9=17322, P10=18, P11=-60)
NVM_FORMAT = "<HHbhhbbHHbbhbb"  # T1 T2 T3 P1 P2 P3 P4 P5 P6 P7 P8 P9 P10 P11 (21 bytes)
NVM_ORDER = ("T1", "T2", "T3", "P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8", "P9", "P10", "P11")


def float_coefficients(nvm: dict) -> dict:
    """Datasheet appendix: NVM integers -> floating-point PAR_* coefficients."""
    return dict(
        T1=nvm["T1"] / 2.0 ** -8, T2=nvm["T2"] / 2.0 ** 30, T3=nvm["T3"] / 2.0 ** 48,
        P1=(nvm["P1"] - 2 ** 14) / 2.0 ** 20, P2=(nvm["P2"] - 2 ** 14) / 2.0 ** 29,
        P3=nvm["P3"] / 2.0 ** 32, P4=nvm["P4"] / 2.0 ** 37, P5=nvm["P5"] / 2.0 ** -3,
        P6=nvm["P6"] / 2.0 ** 6, P7=nvm["P7"] / 2.0 ** 8, P8=nvm["P8"] / 2.0 ** 15,
        P9=nvm["P9"] / 2.0 ** 48, P10=nvm["P10"] / 2.0 ** 48, P11=nvm["P11"] / 2.0 ** 65,
    )


def compensate_t(c: dict, ut: float) -> float:
    pd1 = ut - c["T1"]
    return pd1 * c["T2"] + pd1 * pd1 * c["T3"]


def compensate_p(c: dict, up: float, t_lin: float) -> float:
    out1 = c["P5"] + c["P6"] * t_lin + c["P7"] * t_lin ** 2 + c["P8"] * t_lin ** 3
    out2 = up * (c["P1"] + c["P2"] * t_lin + c["P3"] * t_lin ** 2 + c["P4"] * t_lin ** 3)
    pd4 = up * up * (c["P9"] + c["P10"] * t_lin) + up ** 3 * c["P11"]
    return out1 + out2 + pd4


def _newton(f, x0, lo=0.0, hi=float(2 ** 24 - 1)):
    x = x0
    for _ in range(60):
        fx = f(x)
        h = 1.0
        d = (f(x + h) - fx) / h
        if d == 0.0:
            break
        nx = min(hi, max(lo, x - fx / d))
        if abs(nx - x) < 1e-6:
            return nx
        x = nx
    return x


class Bmp390Emu:
    def __init__(self, faults: Faults | None = None, nvm: dict | None = None):
        self.faults = faults if faults is not None else Faults()
        self.now_s = 0.0
        self.pressure_pa = 101325.0
        self.temperature_c = 20.0
        self.nvm = dict(NVM_DEFAULT if nvm is None else nvm)
        self.coef = float_coefficients(self.nvm)
        self.nvm_bytes = struct.pack(NVM_FORMAT, *(self.nvm[k] for k in NVM_ORDER))
        self.samples = 0
        self._hist: list[tuple[float, float, float]] = []
        self.ignored_writes = 0
        self._t_reset_us = -10 ** 12       # bench time of the last soft reset
        self._t_sleep_us = -10 ** 12       # ... of the last normal -> sleep
        self.reset()

    RESET_BUSY_US = 2000
    SLEEP_SETTLE_US = 5000

    def _now_us(self) -> int:
        from host_tools.emu import settle

        return settle.now_us(self)

    def _busy(self) -> bool:
        return self._now_us() - self._t_reset_us < self.RESET_BUSY_US

    # -- power / reset ----------------------------------------------------------
    def reset(self) -> None:
        """Power-on defaults: sleep mode, por_detected set."""
        self.regs = bytearray(128)
        for reg, val in POWER_ON.items():
            self.regs[reg] = val
        self.regs[NVM_START:NVM_START + len(self.nvm_bytes)] = self.nvm_bytes
        self._k = None
        self._forced_at = None
        self._filt_p = None
        self._filt_t = None

    # -- configuration ---------------------------------------------------------
    def mode(self) -> int:
        return (self.regs[PWR_CTRL] >> 4) & 3

    def conversion_time_s(self) -> float:
        pwr = self.regs[PWR_CTRL]
        osr_p = self.regs[OSR] & 7
        osr_t = (self.regs[OSR] >> 3) & 7
        us = 234.0
        if pwr & 1:
            us += 392 + 2 ** osr_p * 2020
        if pwr & 2:
            us += 163 + 2 ** osr_t * 2020
        return us * 1e-6

    def odr_period_s(self) -> float:
        return 0.005 * 2 ** min(self.regs[ODR] & 0x1F, 17)

    # -- the inverse compensation ------------------------------------------------
    def raw_from_physical(self, pressure_pa: float, temperature_c: float) -> tuple[int, int]:
        c = self.coef
        ut = _newton(lambda x: compensate_t(c, x) - temperature_c, c["T1"] + temperature_c / c["T2"])
        ut_i = int(round(ut))
        t_lin = compensate_t(c, ut_i)
        k = c["P1"] + c["P2"] * t_lin
        up0 = (pressure_pa - c["P5"] - c["P6"] * t_lin) / k if k else 0.0
        up = _newton(lambda x: compensate_p(c, x, t_lin) - pressure_pa, min(max(up0, 0.0), 2 ** 24 - 1))
        return int(round(up)), ut_i

    # -- conversions ------------------------------------------------------------
    def _inputs(self):
        f = self.faults
        if f.latency_s > 0.0:
            self._hist.append((self.now_s, self.pressure_pa, self.temperature_c))
            if len(self._hist) > 4096:
                del self._hist[:2048]
            best = None
            for t, p, tc in self._hist:
                if t <= self.now_s - f.latency_s:
                    best = (p, tc)
            if best is not None:
                return best
        return self.pressure_pa, self.temperature_c

    def _convert(self):
        f = self.faults
        if f.stuck:
            return
        p, t = self._inputs()
        p = p + f.bias
        if f.noise > 0.0:
            p += f.rng.gauss(0.0, f.noise)
        if not (math.isfinite(p) and math.isfinite(t)):
            return                              # nothing physical to convert
        up, ut = self.raw_from_physical(p, t)
        if f.saturate:
            up = 0xFFFFFF
        iir = (self.regs[CONFIG] >> 1) & 7
        coef = 2 ** iir - 1
        if coef and self._filt_p is not None:
            up = int(round((self._filt_p * coef + up) / (coef + 1)))
            ut = int(round((self._filt_t * coef + ut) / (coef + 1)))
        self._filt_p, self._filt_t = up, ut
        pwr = self.regs[PWR_CTRL]
        drdy = 0
        if pwr & 1:
            up = max(0, min(0xFFFFFF, up))
            self.regs[DATA_0:DATA_0 + 3] = bytes((up & 0xFF, (up >> 8) & 0xFF, up >> 16))
            drdy |= 0x20
        if pwr & 2:
            ut = max(0, min(0xFFFFFF, ut))
            self.regs[DATA_0 + 3:DATA_0 + 6] = bytes((ut & 0xFF, (ut >> 8) & 0xFF, ut >> 16))
            drdy |= 0x40
        self.samples += 1
        if not f.valid_never_set and drdy:
            self.regs[STATUS] |= drdy
            self.regs[INT_STATUS] |= 0x08

    def _advance(self):
        m = self.mode()
        if m == 3:
            period = self.odr_period_s()
            k = math.floor(self.now_s / period + 1e-9)
            if self._k is None:
                self._k = k
            elif k > self._k:
                self._k = k
                self._convert()
        elif m in (1, 2) and self._forced_at is not None:
            if self.now_s >= self._forced_at + self.conversion_time_s():
                self._convert()
                self._forced_at = None
                self.regs[PWR_CTRL] &= 0xCF          # back to sleep
        t = int(self.now_s / 39.0625e-6) & 0xFFFFFF
        self.regs[SENSORTIME_0:SENSORTIME_0 + 3] = bytes((t & 0xFF, (t >> 8) & 0xFF, t >> 16))

    # -- register access -----------------------------------------------------------
    def _read_byte(self, reg):
        if reg == CHIP_ID and self.faults.wrong_id:
            return WRONG_ID_VALUE
        if reg == STATUS and self._busy():
            return self.regs[reg] & ~0x10 & 0xFF   # cmd_rdy clear while rebooting
        return self.regs[reg]

    def _write_byte(self, reg, value):
        if self._busy():
            if reg == CMD:
                self.regs[ERR_REG] |= 0x02      # cmd_err: not ready for a command
            self.ignored_writes += 1
            return
        if reg == CMD:
            if value == 0xB6:
                self.reset()
                self._t_reset_us = self._now_us()
            elif value == 0xB0:                 # fifo_flush
                pass
            else:
                self.regs[ERR_REG] |= 0x02      # cmd_err
            return
        if reg in READ_ONLY:
            return
        if reg == PWR_CTRL:
            if self.faults.ignore_enable:
                return
            new_mode = (value >> 4) & 3
            old_mode = self.mode()
            self.regs[PWR_CTRL] = value & 0x33
            if new_mode == 3 and old_mode != 3:
                if self.conversion_time_s() > self.odr_period_s():
                    self.regs[ERR_REG] |= 0x04      # conf_err: stays in sleep
                    self.regs[PWR_CTRL] &= 0x03
                    return
                self._k = math.floor(self.now_s / self.odr_period_s() + 1e-9)
            elif new_mode in (1, 2):
                self._forced_at = self.now_s
            elif new_mode == 0:
                self._k = None
                if old_mode == 3:
                    self._t_sleep_us = self._now_us()
            return
        if reg in (OSR, ODR, CONFIG) and self._now_us() - self._t_sleep_us < self.SLEEP_SETTLE_US:
            self.ignored_writes += 1
            return
        self.regs[reg] = value

    def i2c_read(self, reg: int, n: int) -> bytes:
        self._advance()
        out = bytearray(n)
        addr = reg & 0x7F
        touched = set()
        for i in range(n):
            out[i] = self._read_byte(addr)
            touched.add(addr)
            addr = (addr + 1) & 0x7F
        if touched & {DATA_0, DATA_0 + 1, DATA_0 + 2}:
            self.regs[STATUS] &= ~0x20 & 0xFF
        if touched & {DATA_0 + 3, DATA_0 + 4, DATA_0 + 5}:
            self.regs[STATUS] &= ~0x40 & 0xFF
        if EVENT in touched:
            self.regs[EVENT] = 0
        if INT_STATUS in touched:
            self.regs[INT_STATUS] = 0
        if ERR_REG in touched:
            self.regs[ERR_REG] &= 0x01              # cmd_err / conf_err clear on read
        return bytes(out)

    def i2c_write(self, reg: int, data: bytes) -> None:
        # I2C writes do not auto-increment: a multi-byte write is the first
        # data byte for `reg`, then (register address, data) pairs (5.2.2 / 5.3).
        self._advance()
        data = bytes(data)
        if not data:
            return
        self._write_byte(reg & 0x7F, data[0])
        for i in range(1, len(data) - 1, 2):
            self._write_byte(data[i] & 0x7F, data[i + 1])
