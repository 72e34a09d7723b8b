"""Emulated transparent UART radio (SiK / RFD900 class), air side.

Bytes the firmware writes to the radio's serial port enter the radio's buffer
(`buffer_bytes`, 1024 by default: an assumption, SiK does not publish one
figure) and leave the antenna at the air rate (`air_bps`, bits/s; the link's
own framing is the channel model's business). With flow control the radio
drives CTS high (stop) when the buffer reaches `buffer_bytes - cts_margin` and
low again below half; bytes arriving at a full buffer are lost and counted.

Outputs: `downlink` (every byte that left the antenna, in order), `lost`,
`max_fill`. `send_uplink(data)` makes the radio deliver ground bytes to the
firmware at the serial rate. Faults: dropouts (the radio is dead: bytes lost,
nothing transmitted), stuck (CTS stuck high).
"""
from __future__ import annotations

from collections import deque

from host_tools.emu.bus import Faults
from host_tools.emu.uartstream import UartStreamer


class RadioEmu:
    def __init__(self, air_bps: float = 2000.0, baudrate: int = 57600,
                 buffer_bytes: int = 1024, cts_margin: int = 256,
                 faults: Faults | None = None):
        self.faults = faults or Faults()
        self.clock = None
        self.now_s = 0.0
        self.air_bps = air_bps
        self.buffer_bytes = buffer_bytes
        self.cts_margin = cts_margin
        self.downlink = bytearray()
        self.downlink_times: list[float] = []
        self.received = 0
        self.lost = 0
        self.max_fill = 0
        self._buf: deque = deque()
        self._t = 0.0
        self._carry = 0.0
        self._cts_high = False
        self.up = UartStreamer(baudrate, Faults())

    def _clock_now(self) -> float:
        return self.clock.now_s if self.clock is not None else self.now_s

    def advance(self, now_s: float) -> None:
        if now_s <= self._t:
            return
        dt = now_s - self._t
        budget = self._carry + dt * self.air_bps / 8.0
        n = int(budget)
        self._carry = budget - n
        if self.faults.in_dropout(now_s):
            self._buf.clear()
        t_byte = 8.0 / self.air_bps
        k = 0
        while k < n and self._buf:
            self.downlink.append(self._buf.popleft())
            self.downlink_times.append(self._t + (k + 1) * t_byte)
            k += 1
        if not self._buf:
            self._carry = 0.0        # an idle transmitter banks no air time
        self._t = now_s
        self._update_cts()

    tick = advance

    def _update_cts(self) -> None:
        fill = len(self._buf)
        if fill >= self.buffer_bytes - self.cts_margin:
            self._cts_high = True
        elif fill <= self.buffer_bytes // 2:
            self._cts_high = False

    def cts_level(self) -> int:
        self.advance(self._clock_now())
        return 1 if (self._cts_high or self.faults.stuck) else 0

    def uart_rx(self, data: bytes) -> None:
        now = self._clock_now()
        self.advance(now)
        self.received += len(data)
        buf = self._buf
        if self.faults.in_dropout(now):
            self.lost += len(data)           # the radio is dead: every byte lost
        else:
            room = self.buffer_bytes - len(buf)   # >= 0: the buffer never holds more
            buf.extend(data[:room])
            if len(data) > room:             # a full buffer loses the rest
                self.lost += len(data) - room
        self.max_fill = max(self.max_fill, len(buf))
        self._update_cts()

    def send_uplink(self, data: bytes) -> None:
        self.up.send(self._clock_now(), bytes(data))

    def uart_poll(self, now_s: float) -> bytes:
        self.now_s = now_s
        self.advance(now_s)
        return self.up.poll(now_s)

    @property
    def fill(self) -> int:
        return len(self._buf)
