# Replay of a recorded bus stream: the same drivers and loop, fed from bytes
# recorded on the host bench, so a long flight can be re-flown inside the
# 32-bit interpreter (and on a board) without a host call per cycle.
#
# A recording is a flat byte stream of records, in the order the firmware
# made its bus calls; every call consumes exactly one record:
#   'C' i32        start of a cycle: the clock value handed to App.step
#   'B' u16 data   a read that returned these bytes
#   'I' i32        a call that returned this integer (UART.any, write count, pin level)
#   'N'            a call that returned None (UART read with nothing waiting)
#   'E' i32        a call that raised OSError(errno)
# Integers are little-endian two's complement. Reads copy bytes in a loop and
# errors are preallocated, so replaying a cycle allocates nothing.
from lander.compat import const

TAG_CYCLE = const(0x43)
TAG_BYTES = const(0x42)
TAG_INT = const(0x49)
TAG_NONE = const(0x4E)
TAG_ERROR = const(0x45)


class ReplayMismatch(Exception):
    """The firmware made a call the recording does not have next."""


class Recording:
    def __init__(self, data):
        self.data = data
        self.pos = 0
        self.mismatches = 0
        self.calls = 0
        self._oserror = OSError(5)            # preallocated: raising it allocates nothing
        self._mismatch = ReplayMismatch()

    def _i32(self, p):
        d = self.data
        top = d[p + 3]
        if top >= 128:
            top -= 256
        return d[p] | (d[p + 1] << 8) | (d[p + 2] << 16) | (top << 24)

    def _fail(self):
        self.mismatches += 1
        raise self._mismatch

    def _take(self):
        """Consume the next call record; returns its tag (errors raised here)."""
        p = self.pos
        if p >= len(self.data):
            self._fail()
        tag = self.data[p]
        self.calls += 1
        if tag == TAG_ERROR:
            self.pos = p + 5
            raise self._oserror
        return tag

    def next_cycle(self):
        """The clock of the next cycle, or -1 at the end of the recording."""
        p = self.pos
        if p >= len(self.data):
            return -1
        if self.data[p] != TAG_CYCLE:
            self._fail()
        self.pos = p + 5
        return self._i32(p + 1)

    def int_or_none(self):
        tag = self._take()
        p = self.pos
        if tag == TAG_INT:
            self.pos = p + 5
            return self._i32(p + 1)
        if tag == TAG_NONE:
            self.pos = p + 1
            return None
        self._fail()

    def into(self, buf, limit):
        """Copy the next 'B' record into buf (at most limit bytes); its byte
        count, or None. buf may be a byte buffer or an array('h') that a driver
        reads a burst into (two bytes per item, little-endian like the parts)."""
        tag = self._take()
        p = self.pos
        if tag == TAG_NONE:
            self.pos = p + 1
            return None
        if tag != TAG_BYTES:
            self._fail()
        d = self.data
        n = d[p + 1] | (d[p + 2] << 8)
        p += 3
        if n <= limit:
            for i in range(n):
                buf[i] = d[p + i]
        elif n == 2 * limit:
            for i in range(limit):
                v = d[p + 2 * i] | (d[p + 2 * i + 1] << 8)
                if v >= 0x8000:
                    v -= 0x10000
                buf[i] = v
        else:
            self._fail()
        self.pos = p + n
        return n


_rec = None  # the recording the replay Pin / ADC classes read (set by install)


def install(recording):
    global _rec
    _rec = recording


class ReplayI2C:
    def __init__(self, recording):
        self._r = recording

    def readfrom_mem_into(self, addr, memaddr, buf, addrsize=8):
        if self._r.into(buf, len(buf)) is None:
            self._r._fail()

    def readfrom_into(self, addr, buf, stop=True):
        if self._r.into(buf, len(buf)) is None:
            self._r._fail()

    def writeto_mem(self, addr, memaddr, buf, addrsize=8):
        self._r.int_or_none()

    def writeto(self, addr, buf, stop=True):
        return self._r.int_or_none()

    def readfrom_mem(self, addr, memaddr, nbytes, addrsize=8):
        buf = bytearray(nbytes)               # start-up path only
        self.readfrom_mem_into(addr, memaddr, buf)
        return bytes(buf)

    def scan(self):
        buf = bytearray(128)
        n = self._r.into(buf, 128)
        return [buf[i] for i in range(n or 0)]


class ReplayUART:
    def __init__(self, recording):
        self._r = recording

    def init(self, *args, **kwargs):
        pass

    def any(self):
        return self._r.int_or_none()

    def readinto(self, buf, nbytes=-1):
        limit = len(buf) if nbytes < 0 else nbytes
        return self._r.into(buf, limit)

    def read(self, nbytes=-1):
        buf = bytearray(512)                  # not used by the cycle path
        n = self._r.into(buf, 512 if nbytes < 0 else nbytes)
        if n is None:
            return None
        return bytes(buf[:n])

    def write(self, buf):
        return self._r.int_or_none()


class ReplayPin:
    IN = 0
    OUT = 1
    OPEN_DRAIN = 2
    PULL_UP = 1
    PULL_DOWN = 2

    def __init__(self, pin_id, mode=-1, pull=-1, value=None):
        self.id = pin_id
        self.out = 0 if value is None else value

    def value(self, x=None):
        if x is None:
            return _rec.int_or_none()   # type: ignore[union-attr]
        self.out = x

    def on(self):
        self.out = 1

    def off(self):
        self.out = 0


class ReplayPWM:
    def __init__(self, dest, freq=None, duty_u16=None, duty_ns=None):
        self.dest = dest
        self.last_ns = 0 if duty_ns is None else duty_ns
        self.writes = 0

    def freq(self, value=None):
        return 50

    def duty_ns(self, value=None):
        if value is None:
            return self.last_ns
        self.last_ns = value
        self.writes += 1

    def duty_u16(self, value=None):
        return 0


class ReplayADC:
    def __init__(self, src, *args):
        self.src = src

    def read_u16(self):
        return _rec.int_or_none()       # type: ignore[union-attr]


class ReplayWDT:
    def __init__(self, id=0, timeout=5000):
        self.timeout = timeout

    def feed(self):
        pass
