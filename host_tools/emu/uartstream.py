"""Serial timing shared by the UART part emulators.

A part emits frames at its output rate; each frame's bytes leave its TX pin one
after another at the line rate (10 bits per byte, 8N1), so a reader polling at
50 Hz sees whole, partial and several frames exactly as on a real wire. Wire
faults (garbage, bit flips, truncation, dropouts) are applied here.
"""
from __future__ import annotations

from collections import deque

from host_tools.emu.bus import Faults


class UartPart:
    """A part that talks on a UART: its frames go out through `self.line` (a
    UartStreamer), whose frame-truncation fault it exposes as its own."""

    line: "UartStreamer"

    @property
    def truncate_rate(self) -> float:
        return self.line.truncate_rate

    @truncate_rate.setter
    def truncate_rate(self, v: float) -> None:
        self.line.truncate_rate = v


class UartStreamer:
    """Schedules frames on the line and hands out the bytes that have arrived."""

    def __init__(self, baudrate: int, faults: Faults):
        self.baudrate = baudrate
        self.byte_s = 10.0 / baudrate
        self.faults = faults
        self.truncate_rate = 0.0          # probability a frame is cut short
        self._queue: deque = deque()      # [t_first_byte_done, bytes, sent]
        self._line_free_s = 0.0           # when the TX line is idle again
        self.bytes_out = 0
        self.frames_out = 0
        self.garbage_out = 0

    def send(self, t_s: float, frame: bytes) -> None:
        """Put a frame on the line at t_s (or when the line is free)."""
        f = self.faults
        rng = f.rng
        if f.garbage_rate > 0.0 and rng.random() < f.garbage_rate:
            junk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 9)))
            self.garbage_out += len(junk)
            frame = junk + frame
        if self.truncate_rate > 0.0 and rng.random() < self.truncate_rate:
            frame = frame[: rng.randrange(1, len(frame))]
        if f.bitflip_rate > 0.0:
            b = bytearray(frame)
            for i in range(len(b)):
                if rng.random() < f.bitflip_rate:
                    b[i] ^= 1 << rng.randrange(8)
            frame = bytes(b)
        start = max(t_s, self._line_free_s)
        self._line_free_s = start + len(frame) * self.byte_s
        self._queue.append([start, frame, 0])
        self.frames_out += 1

    def poll(self, now_s: float) -> bytes:
        if not self._queue:              # nothing on the line (most polls)
            return b""
        out = bytearray()
        while self._queue:
            item = self._queue[0]
            start, frame, sent = item
            ready = int((now_s - start) / self.byte_s + 1e-9)
            ready = max(0, min(len(frame), ready))
            if ready > sent:
                out += frame[sent:ready]
                item[2] = ready
            if ready < len(frame):
                break
            self._queue.popleft()
        self.bytes_out += len(out)
        return bytes(out)


class History:
    """Physical input as a function of time, for the latency fault."""

    def __init__(self):
        self._t: deque = deque(maxlen=4096)
        self._v: deque = deque(maxlen=4096)

    def record(self, t_s: float, value) -> None:
        if self._t and t_s < self._t[-1]:
            self._t.clear()
            self._v.clear()
        self._t.append(t_s)
        self._v.append(value)

    def at(self, t_s: float, default):
        """The last value recorded at or before t_s."""
        best = default
        for t, v in zip(self._t, self._v):
            if t <= t_s:
                best = v
            else:
                break
        return best
