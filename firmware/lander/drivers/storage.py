# Small append-only record store on the board's filesystem (LittleFS / FAT).
#
# Fixed-size records, written to the file in whole records and batched
# (flush() writes every pending record with one write and one fs flush):
#   [0]        magic 0xB5
#   [1]        payload length (0 .. record_size - 8)
#   [2..5]     sequence number, u32 little-endian
#   [6..R-3]   payload, zero padded
#   [R-2..R-1] CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) of bytes 0..R-3, big-endian
# On open, the file is scanned: whole records with a good CRC are kept; a torn
# last record (power cut mid-write: a partial record, or a whole-size record
# whose CRC fails) is ignored and the next write overwrites it.
from array import array

from lander.compat import const
from lander.events import post

_MAGIC = const(0xB5)
_HDR = const(6)
_CRC_INIT = const(0xFFFF)

# Events (storage 0x0190-0x019F)
EV_STORE_RECOVERED = const(0x0190)   # torn tail ignored at open (arg: bytes ignored)
EV_STORE_WRITE_ERROR = const(0x0191)
EV_STORE_FULL = const(0x0192)
EV_STORE_CORRUPT = const(0x0193)     # bad record before the end (arg: index)


def _crc_table():
    t = []
    for i in range(256):
        c = i << 8
        for _ in range(8):
            c = ((c << 1) ^ 0x1021) if c & 0x8000 else (c << 1)
        t.append(c & 0xFFFF)
    return array("H", t)


_TABLE = _crc_table()


def _seq(rec):
    """A record's sequence number: 30 bits little-endian in octets 2..5 (the
    top two bits are not part of it; a record the writer did not make may set
    them). Start-up and reading back only."""
    return rec[2] | (rec[3] << 8) | (rec[4] << 16) | ((rec[5] & 0x3F) << 24)


def crc16(buf, n, crc=_CRC_INIT):
    """CRC-16/CCITT-FALSE over buf[0:n] (allocation-free)."""
    t = _TABLE
    for i in range(n):
        crc = ((crc << 8) & 0xFFFF) ^ t[((crc >> 8) ^ buf[i]) & 0xFF]
    return crc


class Storage:
    def __init__(self, path, record_size=64, batch=4, max_records=4096, opener=None):
        if record_size < 16 or batch < 1:
            raise ValueError("storage config")
        self.path = path
        self.record_size = record_size
        self.payload_max = record_size - _HDR - 2
        self.max_records = max_records
        self._open = opener if opener is not None else open
        self._batch = batch
        self._pend = bytearray(record_size * batch)
        mv = memoryview(self._pend)
        views = [None] * (batch + 1)  # type: list
        for k in range(batch + 1):
            views[k] = mv[0:k * record_size]
        self._views = views
        self._rec = bytearray(record_size)
        self.pending = 0
        self.count = 0            # whole, valid records in the file
        self.seq = 0              # next sequence number
        self.errors = 0
        self.dropped = 0
        self.corrupt = 0
        self.torn_bytes = 0       # ignored at open (power cut recovery)
        self.closed = False
        self._f = self._recover()

    # --- start-up -------------------------------------------------------
    def _recover(self):
        R = self.record_size
        try:
            f = self._open(self.path, "r+b")
        except OSError:
            f = self._open(self.path, "w+b")
        rec = self._rec
        index = 0
        good_end = 0          # byte offset after the last good record
        last_seq = -1
        total = 0
        bad = []
        while True:
            got = f.readinto(rec)
            if not got:
                break
            total += got
            if got < R:
                break
            if self._check(rec):
                good_end = (index + 1) * R
                last_seq = _seq(rec)
                self.count = index + 1
            else:
                bad.append(index)
            index += 1
        for i in bad:
            if i * R < good_end:
                self.corrupt += 1
                post(EV_STORE_CORRUPT, i)
        self.torn_bytes = total - good_end
        if self.torn_bytes:
            post(EV_STORE_RECOVERED, self.torn_bytes)
        self.seq = last_seq + 1 if last_seq < 0x3FFFFFFF else 0
        f.seek(good_end)
        return f

    def _check(self, rec):
        R = self.record_size
        if rec[0] != _MAGIC or rec[1] > self.payload_max:
            return False
        return crc16(rec, R - 2) == ((rec[R - 2] << 8) | rec[R - 1])

    # --- flight path ----------------------------------------------------
    def append(self, data, n=-1):
        """Stage one record (n payload bytes); flushes when the batch is full."""
        if n < 0:
            n = len(data)
        if n > self.payload_max or self.count + self.pending >= self.max_records:
            self.dropped += 1
            if self.count + self.pending >= self.max_records and self.dropped == 1:
                post(EV_STORE_FULL, self.count)
            return False
        R = self.record_size
        buf = self._pend
        o = self.pending * R
        s = self.seq
        buf[o] = _MAGIC
        buf[o + 1] = n
        buf[o + 2] = s & 0xFF
        buf[o + 3] = (s >> 8) & 0xFF
        buf[o + 4] = (s >> 16) & 0xFF
        buf[o + 5] = (s >> 24) & 0xFF
        if n == len(data):
            buf[o + _HDR:o + _HDR + n] = data     # slice store: allocates nothing
        else:
            for i in range(n):
                buf[o + _HDR + i] = data[i]
        for i in range(_HDR + n, R - 2):
            buf[o + i] = 0
        crc = _CRC_INIT
        t = _TABLE
        for i in range(o, o + R - 2):
            crc = ((crc << 8) & 0xFFFF) ^ t[((crc >> 8) ^ buf[i]) & 0xFF]
        buf[o + R - 2] = crc >> 8
        buf[o + R - 1] = crc & 0xFF
        self.seq = s + 1 if s < 0x3FFFFFFF else 0     # 30 bits, never forming 2^30
        self.pending += 1
        if self.pending >= self._batch:
            self.flush()
        return True

    def flush(self):
        """Write every pending record (whole records only) and flush the fs."""
        k = self.pending
        if k == 0 or self.closed:
            return k == 0
        try:
            self._f.write(self._views[k])
            self._f.flush()
        except OSError:
            self.errors += 1
            post(EV_STORE_WRITE_ERROR, k)
            self.pending = 0
            return False
        self.count += k
        self.pending = 0
        return True

    # --- reading back (start-up / after landing; may allocate) -----------
    def read_record(self, index, out):
        """Copy record `index`'s payload into out; returns its length or -1."""
        R = self.record_size
        if index < 0 or index >= self.count:
            return -1
        f = self._f
        pos = f.tell()
        try:
            f.seek(index * R)
            got = f.readinto(self._rec)
        finally:
            f.seek(pos)
        rec = self._rec
        if got != R or not self._check(rec):
            return -1
        n = rec[1]
        for i in range(n):
            out[i] = rec[_HDR + i]
        return n

    def close(self):
        if not self.closed:
            self.flush()
            self._f.close()
            self.closed = True
