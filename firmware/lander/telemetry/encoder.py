# Space Packet encoder driven by the packet table (packets.py). The table is
# compiled at start-up into per-packet lists (source object, attribute, index,
# format code), so building a packet per cycle allocates nothing.
from array import array

try:
    from typing import Any  # noqa: F401  (type comments only)
except ImportError:
    pass

from lander.compat import const
from lander.telemetry import packets as P

_IDLE_FILL = const(0x55)


def _code(fmt):
    # size in the low bits, bit 3 set for signed
    return P.SIZES[fmt] | (8 if fmt in "bhi" else 0)


class PacketEncoder:
    def __init__(self, sources):
        """sources: a list of N_SOURCES objects (None where absent)."""
        self.sources = sources
        n = len(P.PACKETS)
        self.apids = array("H", [p[0] for p in P.PACKETS])
        self.lengths = array("H", [P.packet_len(p[2]) for p in P.PACKETS])
        self._objs = []
        self._attrs = []
        self._idx = []
        self._codes = []
        for _apid, _name, fields in P.PACKETS:
            self._compile(fields)
        self.seq = array("H", bytes(2 * (n + 1)))    # last slot: idle packets
        self.counts = array("i", bytes(4 * (n + 1)))  # packets built, per APID
        # the black-box record layout, compiled the same way (index n)
        self._compile(P.BB_RECORD)
        self.bb_index = n
        self.bb_len = P.data_len(P.BB_RECORD)

    def _compile(self, fields):
        objs, attrs = [], []
        idx = array("b", bytes(len(fields)))
        codes = bytearray(len(fields))
        for i, f in enumerate(fields):
            objs.append(self.sources[f[2]])
            attrs.append(f[3])
            idx[i] = f[4]
            codes[i] = _code(f[1])
        self._objs.append(objs)
        self._attrs.append(attrs)
        self._idx.append(idx)
        self._codes.append(codes)

    def index_of(self, apid):
        for i in range(len(self.apids)):
            if self.apids[i] == apid:
                return i
        return -1

    def pack_fields(self, k, buf, o):
        """Write the fields of compiled layout k into buf at o; returns the end offset."""
        objs = self._objs[k]
        attrs = self._attrs[k]
        idx = self._idx[k]
        codes = self._codes[k]
        for i in range(len(codes)):
            ob = objs[i]
            v = 0  # type: Any
            if ob is not None:
                v = getattr(ob, attrs[i], 0)
                j = idx[i]
                if j >= 0 and v is not None:
                    v = v[j]
                if v is None:
                    v = 0
            c = codes[i]
            if c == 4 or c == 12:
                buf[o] = (v >> 24) & 0xFF
                buf[o + 1] = (v >> 16) & 0xFF
                buf[o + 2] = (v >> 8) & 0xFF
                buf[o + 3] = v & 0xFF
                o += 4
            elif c == 2 or c == 10:
                if c == 2:
                    if v < 0:
                        v = 0
                    elif v > 0xFFFF:
                        v = 0xFFFF
                elif v < -0x8000:
                    v = -0x8000
                elif v > 0x7FFF:
                    v = 0x7FFF
                buf[o] = (v >> 8) & 0xFF
                buf[o + 1] = v & 0xFF
                o += 2
            else:
                if c == 1:
                    if v < 0:
                        v = 0
                    elif v > 0xFF:
                        v = 0xFF
                elif v < -0x80:
                    v = -0x80
                elif v > 0x7F:
                    v = 0x7F
                buf[o] = v & 0xFF
                o += 1
        return o

    def header(self, k, buf, length, coarse, fine, secondary=1):
        """Primary header (+ CUC secondary header) of a packet of `length` octets
        for packet index k (k = len(PACKETS): the idle APID)."""
        apid = self.apids[k] if k < len(self.apids) else P.APID_IDLE
        s = self.seq[k]
        buf[0] = (secondary << 3) | (apid >> 8)
        buf[1] = apid & 0xFF
        buf[2] = 0xC0 | (s >> 8)
        buf[3] = s & 0xFF
        n = length - 7
        buf[4] = (n >> 8) & 0xFF
        buf[5] = n & 0xFF
        self.seq[k] = (s + 1) & 0x3FFF
        self.counts[k] += 1
        if secondary:
            buf[6] = (coarse >> 24) & 0xFF
            buf[7] = (coarse >> 16) & 0xFF
            buf[8] = (coarse >> 8) & 0xFF
            buf[9] = coarse & 0xFF
            buf[10] = (fine >> 8) & 0xFF
            buf[11] = fine & 0xFF

    def build(self, k, buf, coarse, fine):
        """Whole packet k of the table into buf; returns its length."""
        n = self.lengths[k]
        self.header(k, buf, n, coarse, fine)
        self.pack_fields(k, buf, P.HEADER_LEN)
        return n

    def idle(self, buf, n):
        """An idle packet (APID 0x7FF, no secondary header) of n >= 7 octets."""
        self.header(len(self.apids), buf, n, 0, 0, 0)
        for i in range(P.PRIMARY_LEN, n):
            buf[i] = _IDLE_FILL
        return n
