"""Emulated attitude-control unit (ACU), written from docs/protocols.md
("Attitude-control unit: framed set-point protocol").

Receives `A5 cmd seq len payload chk` frames on its RX pin; a SET (01) with a
good check byte sets the pitch set-point (clamped to the unit's travel,
`travel_deg`) and is answered `A5 81 seq 03 status lo hi chk` with the applied
set-point; PING (02) is answered `A5 82 seq 00 chk`; a bad check byte, an
unknown command or a wrong length is answered `A5 7F seq 01 reason chk`
(1 checksum, 2 unknown command, 3 length); after a bad check byte the unit
resynchronises from the byte after that sync byte. Bytes before a sync byte
are skipped. Answers leave the TX pin at the line rate after `latency_s`.

Output for the simulator: `pitch_cmd_rad`, the attitude set-point the unit
flies to (held when the commands stop). Faults: stuck (set-point frozen),
bias (radians added), dropouts (no answers), the line faults of UartStreamer.
"""
from __future__ import annotations

import math

from host_tools.emu.bus import Faults
from host_tools.emu.uartstream import UartStreamer

SYNC = 0xA5
_SYNC_BYTE = bytes([SYNC])
SET, PING, NAK = 0x01, 0x02, 0x7F
LENGTHS = {SET: 2, PING: 0}
TURN = 65536


def checksum(body: bytes) -> int:
    """Check byte for cmd..payload: their sum plus it is 0 mod 256."""
    return (-sum(body)) & 0xFF


def frame(cmd: int, seq: int, payload: bytes = b"") -> bytes:
    body = bytes([cmd, seq & 0xFF, len(payload)]) + payload
    return _SYNC_BYTE + body + bytes([checksum(body)])


class AttitudeUnitEmu:
    def __init__(self, baudrate: int = 115200, travel_deg: float = 60.0, latency_s: float = 0.0002,
                 faults: Faults | None = None):
        self.faults = faults or Faults()
        self.now_s = 0.0
        self.travel = int(round(travel_deg / 360.0 * TURN))
        self.latency_s = latency_s
        self.line = UartStreamer(baudrate, self.faults)
        self.setpoint = 0            # binary angle
        self.frames_ok = 0
        self.naks = 0
        self.last_rx_s = None
        self._buf = bytearray()

    def uart_rx(self, data: bytes) -> None:
        self._buf += data
        self.last_rx_s = self.now_s
        self._parse()

    def _answer(self, data: bytes) -> None:
        if self.faults.in_dropout(self.now_s):
            return
        self.line.send(self.now_s + self.latency_s, data)

    def _parse(self) -> None:
        b = self._buf
        while True:
            i = b.find(_SYNC_BYTE)
            if i < 0:
                b.clear()
                return
            del b[:i]
            if len(b) < 4:
                return
            cmd, seq, ln = b[1], b[2], b[3]
            if ln > 8:
                del b[:1]
                continue
            if len(b) < 5 + ln:
                return
            body = bytes(b[1:4 + ln])
            chk = b[4 + ln]
            if checksum(body) != chk:
                # not a frame (or a corrupted one): refuse it, resynchronise
                # from the next byte
                self.naks += 1
                self._answer(frame(NAK, seq, bytes([1])))
                del b[:1]
                continue
            del b[:5 + ln]
            if cmd not in LENGTHS:
                self.naks += 1
                self._answer(frame(NAK, seq, bytes([2])))
                continue
            if ln != LENGTHS[cmd]:
                self.naks += 1
                self._answer(frame(NAK, seq, bytes([3])))
                continue
            self.frames_ok += 1
            if cmd == SET:
                v = body[3] | (body[4] << 8)
                v = v - 0x10000 if v & 0x8000 else v
                v = max(-self.travel, min(self.travel, v))
                if not self.faults.stuck:
                    self.setpoint = v
                applied = self.setpoint & 0xFFFF
                self._answer(frame(SET | 0x80, seq, bytes([0, applied & 0xFF, applied >> 8])))
            else:
                self._answer(frame(PING | 0x80, seq))

    def uart_poll(self, now_s: float) -> bytes:
        self.now_s = now_s
        return self.line.poll(now_s)

    @property
    def pitch_cmd_rad(self) -> float:
        return self.setpoint * 2.0 * math.pi / TURN + self.faults.bias
