# Warm-restart checkpoint: the flight state in a double-buffered record with a
# sequence number and a CRC, so that a reset (or a power cut) at any instant of
# a write leaves at least one valid copy.
#
# Record (one slot), little-endian 32-bit words:
#   [0]        magic | layout version << 16
#   [1]        sequence number (0 .. 2^30-1, +1 per record)
#   [2]        payload word count n
#   [3..3+n-1] payload (the app's words, then nav, guidance, control)
#   [3+n]      CRC-16/CCITT-FALSE of bytes 0 .. 4*(3+n)-1 (the black box's CRC)
# Two slots, written alternately: the slot being written is never the only
# valid copy. Where the record lives (DESIGN "Flash"):
#   RtcStore   machine.RTC().memory() (ESP32: 2 KiB kept across watchdog and
#              brown-out resets, lost on power-off; the sim bench models this).
#              The whole two-slot image is handed over each time: the bytes of
#              the slot not being sealed are rewritten with their own values, so
#              a reset in the middle of the copy cannot spoil them.
#   FileStore  a fixed two-slot file on the board's flash (LittleFS/FAT), written
#              in place at a bounded cadence (every ckpt_flash_ms): the only copy
#              that survives a power loss. RP2040 (pico): no RTC memory and only
#              4 free watchdog scratch words (SCRATCH0-3; 4-7 belong to the boot
#              ROM), too small for a record: flash only. STM32 (pyboard): 4 KiB
#              backup SRAM (BKPSRAM, 0x40024000, needs the backup regulator) or
#              20 RTC backup registers; machine.RTC does not expose them, so the
#              board uses flash until a board module hands in a Mem32 store.
# Restart hint (RTC/scratch only): after the two slots, two 8-word hints, one
# written every cycle, alternately, with what the next boot needs that changes
# faster than the record's cadence: the attitude set-point the attitude unit
# holds through the reset, the navigation pitch and pitch rate behind it, with
# the cycle and ticks they belong to:
#   [0] hint magic | layout version << 16   [1] restarts   [2] cycle
#   [3] ticks   [4] held set-point (bau)   [5] pitch (bau)   [6] pitch rate (urad/s)
#   [7] check: the XOR of words 0..6 and _HINT_KEY
# A copy torn by a reset fails the check (its first and last words come from
# different writes), and the other hint is one cycle older.
# Sealing and writing allocate nothing (pack_into into the preallocated image,
# one memoryview per slot made at start-up). Loading (start-up) may allocate.
from array import array
from struct import pack_into, unpack_from

from lander.compat import byte_view, const
from lander.drivers.storage import crc16, _TABLE as _T0

_MAGIC = const(0x4B43)          # "CK"
LAYOUT_VERSION = const(1)
_HDR_WORDS = const(3)
_TRL_WORDS = const(1)
_SEQ_MASK = const(0x3FFFFFFF)
_HINT_MAGIC = const(0x4843)     # "CH"
HINT_WORDS = const(8)
_HINT_KEY = const(0x2A5C3E1D)


def slot_bytes(n_words):
    return 4 * (_HDR_WORDS + n_words + _TRL_WORDS)


# CRC-16/CCITT-FALSE four octets at a time ("slicing by 4"): feeding octets
# b0 b1 b2 b3 to the register c is feeding x0 = b0 ^ (c >> 8), x1 = b1 ^ (c & 0xFF),
# x2 = b2, x3 = b3 to a zero register, and by linearity that is
#   T3[x0] ^ T2[x1] ^ T1[x2] ^ T0[x3]
# with Tk[x] the CRC of octet x followed by k zero octets (T0: storage's table).
# A little-endian 32-bit word w is the octets w, w >> 8, w >> 16, w >> 24.
# One table step per octet less than the octet-wise loop, and no indexing of a
# buffer: the seal costs ~4x less fuel (lander perf). Tables: 3 x 512 octets.
def _advance(t):
    out = array("H", bytes(512))
    for x in range(256):
        c = t[x]
        out[x] = ((c << 8) & 0xFFFF) ^ _T0[c >> 8]
    return out


_T1 = _advance(_T0)
_T2 = _advance(_T1)
_T3 = _advance(_T2)


def crc16_span(words, start, end, crc, t0=_T0, t1=_T1, t2=_T2, t3=_T3):
    """CRC-16/CCITT-FALSE continued over the little-endian octets of
    words[start:end] (allocation-free)."""
    for i in range(start, end):
        w = words[i]
        crc = (t3[((crc >> 8) ^ w) & 0xFF] ^ t2[(crc ^ (w >> 8)) & 0xFF]
               ^ t1[(w >> 16) & 0xFF] ^ t0[(w >> 24) & 0xFF])
    return crc


def crc16_word(crc, w):
    """CRC-16/CCITT-FALSE continued over the 4 little-endian octets of the
    32-bit two's-complement word w (allocation-free; config.py's CRC too)."""
    return (_T3[((crc >> 8) ^ w) & 0xFF] ^ _T2[(crc ^ (w >> 8)) & 0xFF]
            ^ _T1[(w >> 16) & 0xFF] ^ _T0[(w >> 24) & 0xFF])


# The payload is copied into the slot as the array's own octets (one C copy)
# where the interpreter stores array('i') little-endian, as every target does
# (ARM, Xtensa, WebAssembly, x86); elsewhere word by word with pack_into.
_LE = bytes(array("i", (1,))) == b"\x01\x00\x00\x00"


class Checkpoint:
    """n payload words in `words`; seal() makes the next record in `image`,
    or begin() and then work(count) over several cycles (the CRC spread: a
    record's cost in one cycle is the copy, then count words of CRC per cycle)."""

    def __init__(self, n_words):
        self.n = n_words
        self.words = array("i", bytes(4 * n_words))
        self.slot_bytes = slot_bytes(n_words)
        sb = self.slot_bytes
        self.image = bytearray(2 * sb + 2 * 4 * HINT_WORDS)
        mv = memoryview(self.image)
        self._hint_at = (2 * sb, 2 * sb + 4 * HINT_WORDS)
        self._hint_k = 0
        self.slots = (mv[0:sb], mv[sb:2 * sb])
        # where each slot's payload starts in the image, and the words' own
        # octets: the payload goes in with one copy
        self._payload = (4 * _HDR_WORDS, sb + 4 * _HDR_WORDS)
        self._wbytes = byte_view(self.words, 4 * n_words) if _LE and n_words else None
        self.seq = 0                  # sequence number of the last sealed record
        self.last = 0                 # slot index of the last sealed record
        self.sealed = 0
        self.sealing = False          # a record begun and not yet sealed
        self._k = 0                   # its slot, sequence, CRC so far, next word
        self._seq = 0
        self._crc = 0
        self._pos = 0

    def seal(self):
        """Pack the payload into the slot not holding the last record, sealed
        at once; returns the slot."""
        self.begin()
        self.work(self.n)
        return self.last

    def begin(self):
        """Start the next record from the payload as it is now: copied into the
        slot not holding the last record, with its magic word zero (not a
        record: the slot reads as torn) until work() has sealed it. The payload
        words must not change until then. Returns the slot."""
        k = 1 - self.last
        view = self.slots[k]
        seq = self.seq + 1 if self.seq < _SEQ_MASK else 0   # wraps below 2^30
        n = self.n
        pack_into("<iii", view, 0, 0, seq, n)
        words = self.words
        wb = self._wbytes
        if wb is not None:
            o = self._payload[k]
            self.image[o:o + 4 * n] = wb         # slice store: C copy, allocates nothing
        else:
            off = 4 * _HDR_WORDS
            for i in range(n):
                pack_into("<i", view, off + 4 * i, words[i])
        # the CRC of the octets before the payload, from the values themselves
        self._crc = crc16_word(crc16_word(crc16_word(0xFFFF, _MAGIC | (LAYOUT_VERSION << 16)), seq), n)
        self._k = k
        self._seq = seq
        self._pos = 0
        self.sealing = True
        return k

    def work(self, count):
        """CRC the next `count` payload words of the record begun; after the
        last, write the CRC and then the magic word: from that store on the
        slot is a valid record (the newest). True when sealed."""
        if not self.sealing:
            return True
        n = self.n
        i = self._pos
        end = i + count
        if end > n:
            end = n
        crc = crc16_span(self.words, i, end, self._crc)
        self._crc = crc
        self._pos = end
        if end < n:
            return False
        view = self.slots[self._k]
        pack_into("<i", view, 4 * (_HDR_WORDS + n), crc)
        pack_into("<i", view, 0, _MAGIC | (LAYOUT_VERSION << 16))
        self.seq = self._seq
        self.last = self._k
        self.sealed += 1
        self.sealing = False
        return True

    def adopt(self, blob):
        """Start-up: the two record slots of an RTC/scratch image become this
        image's own, so the records there stay valid through the next writes
        of the image; the newer valid one is `last`. Its seq, or -1."""
        sb = self.slot_bytes
        if len(blob) < 2 * sb:
            return -1
        self.image[0:2 * sb] = blob[0:2 * sb]
        k = newer(blob, self.n)
        if k < 0:
            return -1
        self.last = k
        return unpack_from("<i", blob, k * sb + 4)[0]     # its word 1, the seq

    def hint(self, restarts, cycle, ticks, hold, pitch, rate):
        """Write the restart hint into the hint slot not holding the last one
        (allocation-free; every argument a small int)."""
        k = 1 - self._hint_k
        magic = _HINT_MAGIC | (LAYOUT_VERSION << 16)
        chk = magic ^ restarts ^ cycle ^ ticks ^ hold ^ pitch ^ rate ^ _HINT_KEY
        pack_into("<8i", self.image, self._hint_at[k], magic, restarts, cycle, ticks,
                  hold, pitch, rate, chk)
        self._hint_k = k


def parse_hint(blob, n_words, k, out):
    """Hint slot k (0, 1) of an RTC image made for n_words payload words into
    out[0:6] (restarts, cycle, ticks, hold, pitch, rate); False if absent or
    torn. Start-up only."""
    off = 2 * slot_bytes(n_words) + k * 4 * HINT_WORDS
    if off + 4 * HINT_WORDS > len(blob):
        return False
    w = unpack_from("<8i", blob, off)
    if w[0] != _HINT_MAGIC | (LAYOUT_VERSION << 16):
        return False
    chk = _HINT_KEY
    for i in range(7):
        chk ^= w[i]
    if chk != w[7]:
        return False
    for i in range(6):
        out[i] = w[i + 1]
    return True


def parse(blob, offset, n_words, out):
    """Check the record at blob[offset:]; copy its payload into out. Returns its
    sequence number, or -1 (absent, torn, wrong layout or CRC). Start-up only."""
    sb = slot_bytes(n_words)
    if offset + sb > len(blob):
        return -1
    view = memoryview(blob)[offset:offset + sb]
    magic, seq, n = unpack_from("<iii", view, 0)
    if magic != _MAGIC | (LAYOUT_VERSION << 16) or n != n_words or seq < 0:
        return -1
    end = 4 * (_HDR_WORDS + n)
    if crc16(view, end) != unpack_from("<i", view, end)[0]:
        return -1
    for i in range(n):
        out[i] = unpack_from("<i", view, 4 * (_HDR_WORDS + i))[0]
    return seq


def newer(blob, n_words):
    """Which slot (0, 1) of a two-slot blob holds the newer valid record (slot
    0 on a tie); -1 if neither does. Start-up only (allocates)."""
    if not blob:
        return -1
    tmp = array("i", bytes(4 * n_words))
    s0 = parse(blob, 0, n_words, tmp)
    s1 = parse(blob, slot_bytes(n_words), n_words, tmp)
    if s0 < 0 and s1 < 0:
        return -1
    return 0 if s0 >= s1 else 1


def best(blob, n_words, out):
    """The newer valid record of a two-slot blob into out; its seq or -1."""
    k = newer(blob, n_words)
    return parse(blob, k * slot_bytes(n_words), n_words, out) if k >= 0 else -1


class RtcStore:
    """Both slots in machine.RTC().memory() (kept across resets, not power-off)."""

    def __init__(self, rtc):
        self.rtc = rtc
        self.writes = 0
        self.errors = 0

    def write(self, ck, slot):
        try:
            self.rtc.memory(ck.image)
        except Exception:
            self.errors += 1
            return False
        self.writes += 1
        return True

    def read(self):
        try:
            return self.rtc.memory()
        except Exception:
            return b""

    def clear(self):
        try:
            self.rtc.memory(b"")
        except Exception:
            pass


class FileStore:
    """A two-slot file on flash, each record written in place (seek, write, flush)."""

    def __init__(self, path, slot_size, opener=None):
        self.path = path
        self.slot_size = slot_size
        self._open = opener if opener is not None else open
        self._f = None
        self.next = 0                # flash slot the next write goes to
        self.writes = 0
        self.errors = 0

    def read(self):
        try:
            f = self._open(self.path, "rb")
        except OSError:
            return b""
        try:
            return f.read()
        finally:
            f.close()

    def open(self, newest_slot=-1):
        """Start-up: keep the file's records, write next over the older one."""
        try:
            f = self._open(self.path, "r+b")
        except OSError:
            try:
                f = self._open(self.path, "w+b")
            except OSError:
                self.errors += 1
                return False
        self._f = f
        self.next = 1 - newest_slot if newest_slot in (0, 1) else 0
        return True

    def write(self, ck, slot):
        f = self._f
        if f is None:
            return False
        try:
            f.seek(self.next * self.slot_size)
            f.write(ck.slots[slot])
            f.flush()
        except OSError:
            self.errors += 1
            return False
        self.next = 1 - self.next
        self.writes += 1
        return True

    def newest_slot(self, n_words):
        """Which of the file's slots holds the newer valid record (-1: none)."""
        return newer(self.read(), n_words)

    def clear(self):
        try:
            f = self._open(self.path, "w+b")
            f.close()
        except OSError:
            pass
