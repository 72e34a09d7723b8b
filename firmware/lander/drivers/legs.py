# Leg contact switches: one digital input per leg, debounced.
#
# Each switch closes to ground on contact with a pull-up on the input
# (active low by default). A leg's state changes only after `samples`
# consecutive identical raw readings (counter debounce, one sample per cycle).
from lander.compat import const
from lander.events import post

# Events (legs 0x0160-0x016F)
EV_LEG_CONTACT = const(0x0160)     # arg: new contact mask
EV_LEG_RELEASE = const(0x0161)     # arg: new contact mask


class Legs:
    def __init__(self, pins, samples=3, active_low=True):
        if samples < 1 or len(pins) > 16:
            raise ValueError("legs config")
        n = len(pins)
        # the switches last first: update() shifts each level in from the
        # right, so switch i ends at bit i
        rev = [None] * n  # type: list
        for i in range(n):
            rev[i] = pins[n - 1 - i]
        self._pins_rev = rev
        self._n = n
        self._samples = samples
        # update() reads into a 1 (a sentinel above the levels: it tells how
        # many switches were read when one raises), then one xor removes it
        # and turns levels into contacts (active low: a level 0 is a contact)
        self._xor = (1 << n) | ((1 << n) - 1 if active_low else 0)
        self._run = bytearray(n)            # consecutive samples disagreeing with state
        self._steady = 0                    # contact_mask while no debounce run goes on, else -1
        self.contact_mask = 0
        self.any_contact = False
        self.count = 0
        self.raw_mask = 0
        self.errors = 0

    def update(self):
        """Sample every switch once; update the debounced state. Never raises."""
        # Pin.value() is 0 or 1: shifted in, no compare and no bit to carry
        # per switch, one try for all (~5 k fuel a cycle less for 4 legs)
        raw = 1
        try:
            for p in self._pins_rev:
                raw = raw + raw + p.value()
        except OSError:
            return self._update_errs(raw)
        raw ^= self._xor
        self.raw_mask = raw
        # the nominal cycle: every switch agrees with its state and none is
        # part-way through a debounce run
        if raw == self._steady:
            return raw
        return self._debounce(raw, 0)

    def _update_errs(self, raw):
        # a switch raised: the rest of the pass one switch at a time; an
        # unreadable switch keeps its state (level read as "no contact")
        n = self._n
        k = 0                            # switches read before the one that raised
        m = raw
        while m > 1:
            m >>= 1
            k += 1
        nocontact = self._xor & 1        # the level that means "no contact"
        pins = self._pins_rev
        self.errors += 1                 # switch k, which raised in update()
        raw = raw + raw + nocontact
        errs = 1
        for i in range(k + 1, n):
            errs += errs
            try:
                v = pins[i].value()
            except OSError:
                self.errors += 1
                errs |= 1
                v = nocontact
            raw = raw + raw + v
        raw ^= self._xor
        self.raw_mask = raw
        return self._debounce(raw, errs)

    def _debounce(self, raw, errs):
        mask = self.contact_mask
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
        if mask != self.contact_mask:
            if mask & ~self.contact_mask:
                post(EV_LEG_CONTACT, mask)
            else:
                post(EV_LEG_RELEASE, mask)
            self.contact_mask = mask
            c = 0
            m = mask
            while m:
                c += m & 1
                m >>= 1
            self.count = c
            self.any_contact = mask != 0
        self._steady = -1 if running else mask
        return mask
