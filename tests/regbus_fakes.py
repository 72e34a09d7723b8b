"""Register-level fakes for the pinned sensor-driver tests: a bus holding one
256-register map per I2C address (or per SPI chip select) that records every
transaction in order, with per-register hooks standing in for what a part
does on its own (a self-clearing reset bit, a clear-on-read flag) and an
OSError queue. No datasheet constant lives here: the tests set every register
value they rely on."""
from __future__ import annotations


class Pin:
    """A chip-select line: records the levels it is driven to."""

    def __init__(self, name="cs"):
        self.name = name
        self.levels = []

    def value(self, v=None):
        if v is None:
            return self.levels[-1] if self.levels else 1
        self.levels.append(v)

    def __repr__(self):
        return "Pin(%s)" % self.name


class RegBus:
    """I2C: readfrom_mem_into / writeto_mem with auto-increment. SPI (one
    device per Pin, `attach(pin, key)`): write_readinto (the first octet
    clocked out is the address with bit 7 set for a read; the answer's first
    `lead` octets are 0xEE filler) and write (address, value)."""

    def __init__(self):
        self.regs = {}          # key -> bytearray(256)
        self.log = []           # ("r", key, reg, n) / ("w", key, reg, value)
        self.fail = []          # transaction indices (from 0) that raise OSError
        self.fail_all = False
        self.on_write = {}      # (key, reg) -> fn(bus, key, value): after the write
        self.on_read = {}       # (key, reg) -> fn(bus, key): after the read
        self.spi = {}           # pin -> (key, lead)
        self._n = 0

    def map(self, key):
        return self.regs.setdefault(key, bytearray(256))

    def attach(self, pin, key, lead=1):
        self.spi[pin] = (key, lead)
        self.map(key)

    def _count(self):
        i = self._n
        self._n += 1
        if self.fail_all or i in self.fail:
            raise OSError(5)

    def _read(self, key, reg, out):
        m = self.map(key)
        for i in range(len(out)):
            out[i] = m[(reg + i) & 0xFF]
        self.log.append(("r", key, reg, len(out)))
        for i in range(len(out)):
            fn = self.on_read.get((key, (reg + i) & 0xFF))
            if fn:
                fn(self, key)

    def _write(self, key, reg, value):
        self.map(key)[reg] = value
        self.log.append(("w", key, reg, value))
        fn = self.on_write.get((key, reg))
        if fn:
            fn(self, key, value)

    # I2C
    def readfrom_mem_into(self, addr, reg, buf):
        self._count()
        raw = memoryview(buf).cast("B")
        data = bytearray(len(raw))
        self._read(addr, reg, data)
        raw[:] = data

    def writeto_mem(self, addr, reg, data):
        self._count()
        for i, v in enumerate(bytes(data)):
            self._write(addr, reg + i, v)

    # SPI
    def _selected(self):
        sel = [p for p in self.spi if p.levels and p.levels[-1] == 0]
        assert len(sel) == 1, "exactly one chip select low"
        return self.spi[sel[0]]

    def write_readinto(self, tx, rx):
        self._count()
        key, lead = self._selected()
        raw = memoryview(rx).cast("B")
        assert tx[0] & 0x80, "SPI read without the read bit"
        n = len(raw) - lead
        data = bytearray(n)
        self._read(key, tx[0] & 0x7F, data)
        raw[:lead] = b"\xee" * lead
        raw[lead:] = data

    def write(self, buf):
        self._count()
        key, lead = self._selected()
        b = bytes(buf)
        assert len(b) == 2 and not b[0] & 0x80
        self._write(key, b[0], b[1])

    def fail_next(self, *offsets):
        """Make the transactions `offsets` from now (0 = the next one) raise."""
        self.fail = [self._n + o for o in offsets]

    # what the tests look at
    def writes(self, key=None):
        return [(k, r, v) if key is None else (r, v) for (t, k, r, v) in self.log
                if t == "w" and (key is None or k == key)]

    def reads(self, key=None):
        return [(k, r, n) if key is None else (r, n) for (t, k, r, n) in self.log
                if t == "r" and (key is None or k == key)]

    def clear_log(self):
        self.log.clear()
