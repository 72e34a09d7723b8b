# Numeric events: raised by the code that decides, drained by telemetry.
# A fixed ring of (time_ms, code, arg) ints; posting never allocates.
# Code ranges (each module declares its codes beside the code that raises them):
#   0x0001-0x00FF app / executive      0x0100-0x01FF drivers
#   0x0200-0x02FF estimator            0x0300-0x03FF guidance / control
#   0x0400-0x04FF telemetry / storage  0x0500-0x05FF commands
from array import array

from lander.compat import const

EV_OVERFLOW = const(0x0001)   # events were lost because the ring was full

_CAPACITY = const(64)


class EventRing:
    def __init__(self, capacity=_CAPACITY):
        self.capacity = capacity
        self.codes = array("i", bytes(4 * capacity))
        self.args = array("i", bytes(4 * capacity))
        self.times_ms = array("i", bytes(4 * capacity))
        self.head = 0      # next write slot
        self.count = 0
        self.dropped = 0
        self.posted = 0
        self.now_ms = 0    # set by the loop each cycle

    def post(self, code, arg=0):
        if self.count >= self.capacity:
            self.dropped += 1
            return False
        i = self.head
        self.codes[i] = code
        self.args[i] = arg
        self.times_ms[i] = self.now_ms
        i += 1
        if i >= self.capacity:
            i = 0
        self.head = i
        self.count += 1
        self.posted += 1
        return True

    def pop_into(self, out):
        """Move the oldest event into out[0..2] = (time_ms, code, arg). False if empty."""
        if self.count == 0:
            return False
        i = self.head - self.count
        if i < 0:
            i += self.capacity
        out[0] = self.times_ms[i]
        out[1] = self.codes[i]
        out[2] = self.args[i]
        self.count -= 1
        return True


# The board-wide ring; drivers and stages post here.
events = EventRing()
# Its post() as one name: `post(code, arg)` is a global load and a call where
# `events.post(code, arg)` is a global load, a method look-up and a call
# (~3 bytes of .mpy at each of ~100 call sites; no allocation: the bound
# method is made once, here, and a call of up to 4 arguments copies them on
# the C stack).
post = events.post
