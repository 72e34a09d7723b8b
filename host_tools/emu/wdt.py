"""Emulated watchdog: expires when not fed within its timeout (bench time).

machine.WDT(timeout=ms) starts it (it cannot be stopped, as on the ports);
feed() restarts the window. `expired` latches once bench time passes
last_feed + timeout; the bench then records a WDT reset.
"""
from __future__ import annotations

from host_tools.emu.bus import Faults


class WdtEmu:
    def __init__(self, faults: Faults | None = None):
        self.faults = faults or Faults()
        self.clock = None
        self.now_s = 0.0
        self.started = False
        self.timeout_s = 0.0
        self.last_feed_s = 0.0
        self.feeds = 0
        self._expired = False
        self.expired_at_s: float | None = None

    def _now(self) -> float:
        return self.clock.now_s if self.clock is not None else self.now_s

    def start(self, timeout_ms: int) -> None:
        if timeout_ms <= 0:
            raise ValueError("WDT timeout")
        self.started = True
        self.timeout_s = timeout_ms / 1000.0
        self.last_feed_s = self._now()

    def feed(self) -> None:
        self.tick(self._now())
        if not self._expired:
            self.last_feed_s = self._now()
            self.feeds += 1

    def tick(self, now_s: float) -> None:
        self.now_s = now_s
        if self.started and not self._expired and now_s - self.last_feed_s > self.timeout_s:
            self._expired = True
            self.expired_at_s = self.last_feed_s + self.timeout_s

    @property
    def expired(self) -> bool:
        self.tick(self._now())
        return self._expired

    def reset(self) -> None:
        """After the board reset: the watchdog is off until started again."""
        self.started = False
        self._expired = False
        self.expired_at_s = None
