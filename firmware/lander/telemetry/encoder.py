# Space Packet encoder driven by the packet table (packets.py). The table is
# compiled at start-up into per-packet lists (source object, attribute, index,
# format code), so building a packet per cycle allocates nothing.
from array import array
from struct import pack_into

try:
    from typing import Any  # noqa: F401  (type comments only)
except ImportError:
    pass

from lander.compat import const
from lander.telemetry import packets as P

_IDLE_FILL = const(0x55)


# struct formats and saturation limits per field type (4-octet fields are
# limited to the small-int range, which is all the firmware ever holds)
_FMT = {"B": ">B", "b": ">b", "H": ">H", "h": ">h", "I": ">I", "i": ">i"}
_LIMITS = {"B": (0, 0xFF), "b": (-0x80, 0x7F), "H": (0, 0xFFFF), "h": (-0x8000, 0x7FFF),
           "I": (0, 0x3FFFFFFF), "i": (-0x3FFFFFFF, 0x3FFFFFFF)}


class PacketEncoder:
    def __init__(self, sources):
        """sources: a list of N_SOURCES objects (None where absent)."""
        self.sources = sources
        n = len(P.PACKETS)
        self.apids = array("H", [p[0] for p in P.PACKETS])
        self.lengths = array("H", [P.packet_len(p[2]) for p in P.PACKETS])
        self._fields = []
        for _apid, _name, fields in P.PACKETS:
            self._compile(fields)
        self.seq = array("H", bytes(2 * (n + 1)))    # last slot: idle packets
        self.counts = array("i", bytes(4 * (n + 1)))  # packets built, per APID
        # the black-box record layout, compiled the same way (index n)
        self._compile(P.BB_RECORD)
        self.bb_index = n
        self.bb_len = P.data_len(P.BB_RECORD)

    def _compile(self, fields):
        # one tuple per field: (object, attribute, index, low, high, format, size)
        # An attribute the object does not have at start-up is a reserved field
        # (sent as 0): looking a missing attribute up per cycle would raise
        # and catch an AttributeError, which allocates.
        out = []
        for f in fields:
            lo, hi = _LIMITS[f[1]]
            ob = self.sources[f[2]]
            if ob is not None and not hasattr(ob, f[3]):
                ob = None
            out.append((ob, f[3], f[4], lo, hi, _FMT[f[1]], P.SIZES[f[1]]))
        self._fields.append(out)

    def index_of(self, apid):
        for i in range(len(self.apids)):
            if self.apids[i] == apid:
                return i
        return -1

    def pack_fields(self, k, buf, o):
        """Write the fields of compiled layout k into buf at o (big-endian,
        saturated to each field's range); returns the end offset."""
        fl = self._fields[k]
        for i in range(len(fl)):
            ob, attr, j, lo, hi, fmt, size = fl[i]
            v = 0  # type: Any
            if ob is not None:
                v = getattr(ob, attr)
                if j >= 0 and v is not None:
                    v = v[j]
                if v is None:
                    v = 0
            if v < lo:
                v = lo
            elif v > hi:
                v = hi
            pack_into(fmt, buf, o, v)
            o += size
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
