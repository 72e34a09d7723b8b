"""Emulated long-range laser rangefinder, Noptel LRF-series serial protocol.

Written from the protocol (docs/protocols.md), not from the driver:
- host commands end in a check byte = (sum of the preceding bytes & 0xFF) ^ 0x50;
  a command with a bad check byte is ignored;
- 0xCC <mode> 0x00 0x00 <chk>: mode 0 = one measurement, 1..6 = continuous
  measurement mode (CMM) at 1, 4, 10, 20, 100, 200 Hz; the laser is off
  (no frames) until this command is received;
- 0xC6 <chk>: CMM break, answered 0x59 0xC6 <status> <chk>;
- response to a range measurement, 22 bytes:
  0x59 0xCC, then three (float32 range m LE, u16 amplitude LE) targets,
  a status byte, the check byte. No target: range 0, amplitude 0, status 0x20.

Physical input: `range_m` (slant range along the beam; None = no return).
Faults (self.faults, plus `truncate_rate`): garbage, bitflip, truncation,
dropouts (no frames), stuck (frozen range), noise/bias (m), saturate (range
pinned at max range), valid_never_set (status fault bit 0x01 on every frame),
ignore_enable (CMM command ignored), latency_s.
"""
from __future__ import annotations

import struct

from host_tools.emu.bus import Faults
from host_tools.emu.uartstream import History, UartPart, UartStreamer

CMM_RATES_HZ = {1: 1.0, 2: 4.0, 3: 10.0, 4: 20.0, 5: 100.0, 6: 200.0}
STATUS_NO_TARGET = 0x20
STATUS_FAULT = 0x01


def check_byte(data: bytes) -> int:
    return (sum(data) & 0xFF) ^ 0x50


class LaserAltimeterEmu(UartPart):
    def __init__(self, baudrate: int = 115200, max_range_m: float = 20000.0,
                 faults: Faults | None = None):
        self.faults = faults or Faults()
        self.now_s = 0.0
        self.range_m: float | None = None
        self.max_range_m = max_range_m
        self.line = UartStreamer(baudrate, self.faults)
        self.rate_hz = 0.0            # 0 = laser off / idle (power-on state)
        self._next_s = 0.0
        self._stuck_value: float | None = None
        self._hist = History()
        self.commands: list[bytes] = []
        self.enables_ignored = 0
        self._rx = bytearray()

    @property
    def enabled(self) -> bool:
        return self.rate_hz > 0.0

    def power_cycle(self) -> None:
        """Part resets: back to idle, laser off."""
        self.rate_hz = 0.0
        self._rx.clear()

    # --- host -> part ---------------------------------------------------
    def uart_rx(self, data: bytes) -> None:
        self._rx += data
        while self._rx:
            c = self._rx[0]
            n = {0xCC: 5, 0xC6: 2, 0xC5: 3, 0xC0: 2, 0xC2: 2}.get(c)
            if n is None:
                del self._rx[0]
                continue
            if len(self._rx) < n:
                return
            cmd = bytes(self._rx[:n])
            del self._rx[:n]
            if check_byte(cmd[:-1]) != cmd[-1]:
                continue
            self.commands.append(cmd)
            self._command(cmd)

    def _command(self, cmd: bytes) -> None:
        if cmd[0] == 0xCC:
            if self.faults.ignore_enable:
                self.enables_ignored += 1
                return
            mode = cmd[1]
            if mode == 0:
                self._emit(self.now_s)
            elif mode in CMM_RATES_HZ:
                self.rate_hz = CMM_RATES_HZ[mode]
                self._next_s = self.now_s + 1.0 / self.rate_hz
        elif cmd[0] == 0xC6:
            self.rate_hz = 0.0
            body = bytes([0x59, 0xC6, 0x00])
            self.line.send(self.now_s, body + bytes([check_byte(body)]))

    # --- part -> host ---------------------------------------------------
    def measured_range(self, t_s: float) -> float | None:
        f = self.faults
        r = self._hist.at(t_s - f.latency_s, None) if f.latency_s > 0 else self.range_m
        if f.stuck:
            if self._stuck_value is None:
                self._stuck_value = r
            r = self._stuck_value
        else:
            self._stuck_value = r
        if r is None:
            return None
        if f.saturate:
            return self.max_range_m
        r = r + f.bias + (f.rng.gauss(0.0, f.noise) if f.noise > 0 else 0.0)
        if r > self.max_range_m or r <= 0.0:
            return None
        return r

    def frame(self, t_s: float) -> bytes:
        r = self.measured_range(t_s)
        status = 0x00
        if r is None:
            rng, amp = 0.0, 0
            status |= STATUS_NO_TARGET
        else:
            rng = r
            amp = int(max(1, min(65535, 4.0e10 / (r * r + 1e4))))
        if self.faults.valid_never_set:
            status |= STATUS_FAULT
        body = bytes([0x59, 0xCC]) + struct.pack("<fH", rng, amp)
        body += struct.pack("<fH", 0.0, 0) * 2 + bytes([status])
        return body + bytes([check_byte(body)])

    def _emit(self, t_s: float) -> None:
        if self.faults.in_dropout(t_s):
            return
        self.line.send(t_s, self.frame(t_s))

    def uart_poll(self, now_s: float) -> bytes:
        self.now_s = now_s
        self._hist.record(now_s, self.range_m)
        if self.rate_hz > 0.0:
            period = 1.0 / self.rate_hz
            while self._next_s <= now_s:
                self._emit(self._next_s)
                self._next_s += period
        return self.line.poll(now_s)
