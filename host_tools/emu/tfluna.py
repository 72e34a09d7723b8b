"""Emulated Benewake TF-Luna LiDAR (UART standard output, 9-byte frames).

From the TF-Luna product manual (SJ-PM-TF-Luna A05, 6.2 serial protocol and
Appendix I "9-byte/cm (Default)" output format): 115200 8N1,
100 Hz default frame rate, frame = 0x59 0x59 Dist_L Dist_H Amp_L Amp_H Temp_L
Temp_H Checksum (low byte of the sum of bytes 0..7), distance in cm, chip
temperature raw = (degC + 256) * 8. Amp below 100 means no reliable echo; the
distance field is then 0. Overexposure reports Amp = 65535.
Operating range 0.2 - 8 m (90% reflectivity).

Physical input: `distance_m` (None = no echo), `temperature_c`.
Faults: garbage, bitflip, truncate_rate, dropouts, stuck, noise/bias (m),
saturate (overexposure: Amp = 65535), valid_never_set (Amp always < 100),
latency_s.
"""
from __future__ import annotations

from host_tools.emu.bus import Faults
from host_tools.emu.uartstream import History, UartPart, UartStreamer

RANGE_MIN_M = 0.2
RANGE_MAX_M = 8.0


class TfLunaEmu(UartPart):
    def __init__(self, baudrate: int = 115200, rate_hz: float = 100.0,
                 faults: Faults | None = None):
        self.faults = faults or Faults()
        self.now_s = 0.0
        self.distance_m: float | None = None
        self.temperature_c = 25.0
        self.rate_hz = rate_hz
        self.line = UartStreamer(baudrate, self.faults)
        self._next_s = 1.0 / rate_hz
        self._hist = History()
        self._stuck: float | None = None
        self.received = bytearray()

    def uart_rx(self, data: bytes) -> None:
        self.received += data     # configuration commands are not modelled

    def frame(self, t_s: float) -> bytes:
        f = self.faults
        d = self._hist.at(t_s - f.latency_s, None) if f.latency_s > 0 else self.distance_m
        if f.stuck:
            if self._stuck is None:
                self._stuck = d
            d = self._stuck
        else:
            self._stuck = d
        if d is not None:
            d = d + f.bias + (f.rng.gauss(0.0, f.noise) if f.noise > 0 else 0.0)
        if f.saturate:
            dist_cm, amp = 0, 65535
        elif d is None or d > RANGE_MAX_M or f.valid_never_set:
            dist_cm, amp = 0, 20
        else:
            d = max(d, RANGE_MIN_M)
            dist_cm = int(round(d * 100.0))
            amp = int(max(100, min(65000, 30000.0 / (d * d))))
        temp = int(round((self.temperature_c + 256.0) * 8.0)) & 0xFFFF
        body = bytes([0x59, 0x59, dist_cm & 0xFF, dist_cm >> 8, amp & 0xFF, amp >> 8,
                      temp & 0xFF, temp >> 8])
        return body + bytes([sum(body) & 0xFF])

    def uart_poll(self, now_s: float) -> bytes:
        self.now_s = now_s
        self._hist.record(now_s, self.distance_m)
        period = 1.0 / self.rate_hz
        while self._next_s <= now_s:
            if not self.faults.in_dropout(self._next_s):
                self.line.send(self._next_s, self.frame(self._next_s))
            self._next_s += period
        return self.line.poll(now_s)
