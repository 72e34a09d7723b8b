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
# Sealing and writing allocate nothing (pack_into into the preallocated image,
# one memoryview per slot made at start-up). Loading (start-up) may allocate.
from array import array
from struct import pack_into, unpack_from

from lander.compat import const
from lander.drivers.storage import crc16

_MAGIC = const(0x4B43)          # "CK"
LAYOUT_VERSION = const(1)
_HDR_WORDS = const(3)
_TRL_WORDS = const(1)
_SEQ_MASK = const(0x3FFFFFFF)


def slot_bytes(n_words):
    return 4 * (_HDR_WORDS + n_words + _TRL_WORDS)


class Checkpoint:
    """n payload words in `words`; seal() makes the next record in `image`."""

    def __init__(self, n_words):
        self.n = n_words
        self.words = array("i", bytes(4 * n_words))
        self.slot_bytes = slot_bytes(n_words)
        self.image = bytearray(2 * self.slot_bytes)
        mv = memoryview(self.image)
        sb = self.slot_bytes
        self.slots = (mv[0:sb], mv[sb:2 * sb])
        self.seq = 0                  # sequence number of the last sealed record
        self.last = 0                 # slot index of the last sealed record
        self.sealed = 0

    def seal(self):
        """Pack the payload into the slot not holding the last record."""
        k = 1 - self.last
        view = self.slots[k]
        seq = (self.seq + 1) & _SEQ_MASK
        n = self.n
        pack_into("<iii", view, 0, _MAGIC | (LAYOUT_VERSION << 16), seq, n)
        words = self.words
        off = 4 * _HDR_WORDS
        for i in range(n):
            pack_into("<i", view, off, words[i])
            off += 4
        pack_into("<i", view, off, crc16(view, off))
        self.seq = seq
        self.last = k
        self.sealed += 1
        return k

    def last_slot(self):
        return self.slots[self.last]


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


def best(blob, n_words, out):
    """The newer valid record of a two-slot blob into out; its seq or -1."""
    if not blob:
        return -1
    sb = slot_bytes(n_words)
    tmp = array("i", bytes(4 * n_words))
    best_seq = -1
    for k in range(2):
        s = parse(blob, k * sb, n_words, tmp)
        if s > best_seq:
            best_seq = s
            for i in range(n_words):
                out[i] = tmp[i]
    return best_seq


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
        blob = self.read()
        tmp = array("i", bytes(4 * n_words))
        sb = slot_bytes(n_words)
        s0 = parse(blob, 0, n_words, tmp)
        s1 = parse(blob, sb, n_words, tmp)
        if s0 < 0 and s1 < 0:
            return -1
        return 0 if s0 >= s1 else 1

    def clear(self):
        try:
            f = self._open(self.path, "w+b")
            f.close()
        except OSError:
            pass
