# Leg contact switches: one digital input per leg, debounced.
#
# Each switch closes to ground on contact with a pull-up on the input
# (active low by default). A leg's state changes only after `samples`
# consecutive identical raw readings (counter debounce, one sample per cycle).
from lander.compat import const
from lander.events import events

# Events (legs 0x0160-0x016F)
EV_LEG_CONTACT = const(0x0160)     # arg: new contact mask
EV_LEG_RELEASE = const(0x0161)     # arg: new contact mask


class Legs:
    def __init__(self, pins, samples=3, active_low=True):
        if samples < 1 or len(pins) > 16:
            raise ValueError("legs config")
        self._pins = pins
        self._n = len(pins)
        self._samples = samples
        self._active = 0 if active_low else 1
        self._run = bytearray(self._n)      # consecutive samples disagreeing with state
        self._running = False               # some switch has a debounce run going
        self.contact_mask = 0
        self.any_contact = False
        self.count = 0
        self.raw_mask = 0
        self.errors = 0

    def update(self):
        """Sample every switch once; update the debounced state. Never raises."""
        mask = self.contact_mask
        act = self._active
        raw = 0
        errs = 0
        bit = 1
        for p in self._pins:
            try:
                if p.value() == act:
                    raw |= bit
            except OSError:
                self.errors += 1
                errs |= bit              # an unreadable switch keeps its state
            bit <<= 1
        self.raw_mask = raw
        # the nominal cycle: every readable switch agrees with its state and
        # none is part-way through a debounce run (half the fuel of the loop)
        if ((raw ^ mask) & ~errs) == 0 and not self._running:
            return mask
        run = self._run
        running = False
        for i in range(self._n):
            bit = 1 << i
            if errs & bit:
                if run[i]:
                    running = True
                continue
            if ((raw ^ mask) & bit) == 0:
                run[i] = 0
                continue
            r = run[i] + 1
            if r >= self._samples:
                run[i] = 0
                mask ^= bit
            else:
                run[i] = r
                running = True
        self._running = running
        if mask != self.contact_mask:
            if mask & ~self.contact_mask:
                events.post(EV_LEG_CONTACT, mask)
            else:
                events.post(EV_LEG_RELEASE, mask)
            self.contact_mask = mask
            c = 0
            m = mask
            while m:
                c += m & 1
                m >>= 1
            self.count = c
            self.any_contact = mask != 0
        return mask
