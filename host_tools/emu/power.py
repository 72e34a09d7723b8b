"""Emulated bus-voltage sense: a resistor divider into a 12-bit ADC.

Physical input `voltage_v`. read_u16 returns the 12-bit code scaled to 16 bits
the way MicroPython ports do (code << 4 | code >> 8).
Faults: noise/bias (V), stuck, saturate (full-scale code), dropouts (reads 0).
"""
from __future__ import annotations

from host_tools.emu.bus import Faults


class PowerEmu:
    def __init__(self, vref_v: float = 3.3, r_top: float = 100e3, r_bottom: float = 10e3,
                 faults: Faults | None = None):
        self.faults = faults or Faults()
        self.now_s = 0.0
        self.clock = None
        self.voltage_v = 28.0
        self.vref_v = vref_v
        self.ratio = r_bottom / (r_top + r_bottom)
        self._last = 0

    def read_u16(self) -> int:
        f = self.faults
        now = self.clock.now_s if self.clock is not None else self.now_s
        if f.stuck and self._last:
            return self._last
        if f.in_dropout(now):
            return 0
        v = self.voltage_v + f.bias + (f.rng.gauss(0.0, f.noise) if f.noise > 0 else 0.0)
        code = int(v * self.ratio / self.vref_v * 4095.0 + 0.5)
        code = 4095 if f.saturate else max(0, min(4095, code))
        self._last = (code << 4) | (code >> 8)
        return self._last
