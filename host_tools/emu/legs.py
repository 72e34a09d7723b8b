"""Emulated leg contact switches: each closes to ground on contact.

The board's inputs use pull-ups, so an open switch reads 1 and a closed one 0.
Physical input: `contacts`, a list of bools (True = foot on the ground).
Faults: stuck (levels frozen), `chatter_rate` (probability a read returns the
opposite level: contact bounce), dropouts (switch reads open).
"""
from __future__ import annotations

from functools import partial

from host_tools.emu.bus import Faults


class LegsEmu:
    def __init__(self, n: int = 4, faults: Faults | None = None):
        self.faults = faults or Faults()
        self.now_s = 0.0
        self.clock = None
        self.contacts = [False] * n
        self.chatter_rate = 0.0
        self._frozen: list | None = None

    def connect(self, pin_states) -> None:
        for i, p in enumerate(pin_states):
            p.ext_fn = partial(self.level, i)

    def level(self, i: int):
        f = self.faults
        if f.stuck:
            if self._frozen is None:
                self._frozen = list(self.contacts)
            closed = self._frozen[i]
        else:
            self._frozen = None
            closed = self.contacts[i]
        if f.in_dropout(self.clock.now_s if self.clock is not None else self.now_s):
            closed = False
        if self.chatter_rate > 0.0 and f.rng.random() < self.chatter_rate:
            closed = not closed
        return 0 if closed else None   # None: not driven, the pull-up wins
