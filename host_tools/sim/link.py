"""Telemetry channel model: serial bit rate, bit errors, outages.

Bytes are put on the air at known times (the control step at which the radio
emulator's downlink grew). The channel sends them one after another at
`bitrate_bps` (8 bits per byte, no framing overhead: the radio's own UART
framing is the emulator's business), adds a fixed `latency_s` (light time), and
then:
  - a byte whose delivery time falls inside an outage [t0, t1) is lost;
  - every bit of a delivered byte flips with probability `ber` (seeded).

`deliver(...)` returns (received bytes, delivery times of those bytes, the index
in the sent stream of each received byte). Same seed, same result.
"""
from __future__ import annotations

import numpy as np


def air_times(send_times, bitrate_bps, latency_s=0.0):
    """Per-byte delivery times (s) for bytes queued at send_times (sorted)."""
    t = np.asarray(send_times, float)
    if t.size == 0:
        return t
    byte_s = 8.0 / float(bitrate_bps)
    # delivery_i = max(send_i, delivery_{i-1}) + byte_s, i.e. a queue at line rate:
    # d_i = byte_s * (i + 1) + max_k<=i (send_k - byte_s * k)
    k = np.arange(t.size, dtype=float)
    d = np.maximum.accumulate(t - byte_s * k) + byte_s * (k + 1)
    return d + float(latency_s)


def deliver(data, send_times, bitrate_bps=2000.0, ber=0.0, outages=(), latency_s=0.0, seed=0,
            serialized=False):
    """serialized=True: send_times are already the times each byte left the
    antenna (the radio emulator's downlink_times); only latency is added."""
    data = bytes(data)
    n = len(data)
    if n == 0:
        return b"", np.zeros(0), np.zeros(0, dtype=np.int64)
    if serialized:
        d = np.asarray(send_times, float) + float(latency_s)
    else:
        d = air_times(send_times, bitrate_bps, latency_s)
    keep = np.ones(n, dtype=bool)
    for t0, t1 in outages:
        keep &= ~((d >= t0) & (d < t1))
    idx = np.flatnonzero(keep)
    out = np.frombuffer(data, dtype=np.uint8)[idx].copy()
    if ber > 0.0 and out.size:
        rng = np.random.default_rng(seed)
        flips = rng.random((out.size, 8)) < ber
        mask = np.packbits(flips, axis=1).reshape(-1)
        out ^= mask
    return out.tobytes(), d[idx], idx


class Channel:
    """The [link] table of a scenario, plus outages added by faults."""

    def __init__(self, link, seed=0):
        self.bitrate_bps = link["bitrate_bps"]
        self.ber = link["ber"]
        self.latency_s = link["latency_s"]
        self.outages = [list(r) for r in link["outages"]]
        self.seed = seed
        self._up_rng = np.random.default_rng([seed, 1])

    def uplink(self, data):
        """A telecommand through the channel: bits flipped at the BER (seeded)."""
        out = np.frombuffer(bytes(data), dtype=np.uint8).copy()
        if self.ber > 0.0 and out.size:
            flips = self._up_rng.random((out.size, 8)) < self.ber
            out ^= np.packbits(flips, axis=1).reshape(-1)
        return out.tobytes()

    def add_outage(self, window):
        """window: a [t0, t1] list (t1 may be closed later by the caller)."""
        self.outages.append(window)

    def deliver(self, data, send_times, serialized=False):
        return deliver(data, send_times, self.bitrate_bps, self.ber, self.outages,
                       self.latency_s, self.seed, serialized)
