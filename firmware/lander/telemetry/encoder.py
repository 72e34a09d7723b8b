# Space Packet encoder driven by the packet table (packets.py). The table is
# compiled at start-up into one list per packet (source object, attribute,
# index and format code of each field), so building a packet per cycle
# allocates nothing.
from array import array
from struct import pack_into

try:
    from typing import Any  # noqa: F401  (type comments only)
except ImportError:
    pass

from lander.compat import const
from lander.telemetry import packets as P

_IDLE_FILL = const(0x55)


# per field type code t ("BbHhIi".index(format)): struct format, size and
# saturation limits (4-octet fields are limited to the small-int range, which
# is all the firmware ever holds)
_TYPES = "BbHhIi"
_FMT = (">B", ">b", ">H", ">h", ">I", ">i")
_SIZE = b"\x01\x01\x02\x02\x04\x04"
_LO = (0, -0x80, 0, -0x8000, 0, -0x3FFFFFFF)
_HI = (0xFF, 0x7F, 0xFFFF, 0x7FFF, 0x3FFFFFFF, 0x3FFFFFFF)


class PacketEncoder:
    def __init__(self, sources):
        """sources: a list of N_SOURCES objects (None where absent)."""
        self.sources = sources
        n = len(P.LAYOUTS)
        self.apids = array("H", bytes(2 * n))
        self.lengths = array("H", bytes(2 * n))
        self._fields = []
        for k in range(n):
            self.apids[k] = P.LAYOUTS[k][0]
            fields = P.fields(P.LAYOUTS[k][2])
            self.lengths[k] = P.packet_len(fields)
            self._compile(fields)
        self.seq = array("H", bytes(2 * (n + 1)))    # last slot: idle packets
        self.counts = array("i", bytes(4 * (n + 1)))  # packets built, per APID
        # the black-box record layout, compiled the same way (index n)
        fields = P.fields(P.BB_RECORD_TEXT)
        self._compile(fields)
        self.bb_index = n
        self.bb_len = P.data_len(fields)

    def _compile(self, fields):
        # three entries per field in one list: the object, the attribute name
        # and a code: type code t | (index + 1) << 3. An attribute the object
        # does not have at start-up is a reserved field (object None, sent as
        # 0): looking a missing attribute up per cycle would raise and catch
        # an AttributeError, which allocates. The name kept is the object's own
        # (interned) one where it has it: the table's text is parsed into new
        # strings, which would stay on the heap and be looked up by content.
        out = []
        for f in fields:
            ob = self.sources[f[2]]
            name = f[3]
            if ob is not None and not hasattr(ob, name):
                ob = None
            if ob is None:
                name = None
            else:
                for key in getattr(ob, "__dict__", ()):
                    if key == name:
                        name = key
                        break
            out.append(ob)
            out.append(name)
            out.append(_TYPES.index(f[1]) | (f[4] + 1) << 3)
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
        fmts = _FMT
        sizes = _SIZE
        los = _LO
        his = _HI
        for i in range(0, len(fl), 3):
            ob = fl[i]
            c = fl[i + 2]
            v = 0  # type: Any
            if ob is not None:
                v = getattr(ob, fl[i + 1])
                if c >= 8 and v is not None:
                    v = v[(c >> 3) - 1]
                if v is None:
                    v = 0
            t = c & 7
            if v < los[t]:
                v = los[t]
            elif v > his[t]:
                v = his[t]
            pack_into(fmts[t], buf, o, v)
            o += sizes[t]
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
