"""The warm-restart record pinned field by field: the slot size, the sequence
number's wrap at 2^30, which slot a seal writes and what it leaves as `last`,
a spread seal's progress, adopting an RTC image, each way a record or a hint
is refused (short blob, magic, layout, word count, negative sequence, CRC),
the newer record winning (the first on a tie), the word-by-word copy of a
big-endian port, and the RTC and flash stores' counters and error paths.

Records are built here from the documented layout with struct and
binascii.crc_hqx (CRC-16/CCITT-FALSE with init 0xFFFF), not by the module."""
import binascii
import struct
from array import array

import pytest

from host_tools.emu.flash import FlashEmu
from lander import checkpoint as ck

MAGIC = 0x4B43 | (1 << 16)
HINT_MAGIC = 0x4843 | (1 << 16)
HINT_KEY = 0x2A5C3E1D


def record(seq, words, magic=MAGIC, n=None, crc=None):
    """One slot from the layout: magic, seq, n, payload, CRC of all before."""
    n = len(words) if n is None else n
    body = struct.pack("<3i%di" % len(words), magic, seq, n, *words)
    c = binascii.crc_hqx(body, 0xFFFF) if crc is None else crc
    return body + struct.pack("<i", c)


def hint(words7, key=HINT_KEY):
    chk = key
    for w in words7:
        chk ^= w
    return struct.pack("<8i", *words7, chk)


def test_a_slot_is_four_header_and_trailer_words_around_the_payload():
    assert [ck.slot_bytes(n) for n in (0, 1, 20)] == [16, 20, 96]
    c = ck.Checkpoint(5)
    assert c.slot_bytes == 36
    assert len(c.image) == 2 * 36 + 2 * 32
    assert [len(s) for s in c.slots] == [36, 36]


def test_a_new_checkpoint_has_sealed_nothing():
    c = ck.Checkpoint(3)
    assert (c.seq, c.last, c.sealed, c.sealing) == (0, 0, 0, False)
    assert bytes(c.image) == bytes(len(c.image))
    assert list(c.words) == [0, 0, 0]


def test_the_first_seal_writes_slot_1_then_they_alternate_and_count():
    c = ck.Checkpoint(1)
    slots = []
    for i in range(3):
        c.words[0] = i
        slots.append(c.seal())
        assert c.last == slots[-1] and c.seq == i + 1 and c.sealed == i + 1
    assert slots == [1, 0, 1]
    assert bytes(c.slots[1]) == record(3, [2]) and bytes(c.slots[0]) == record(2, [1])


def test_the_sequence_number_wraps_from_2_30_minus_1_to_0():
    c = ck.Checkpoint(1)
    c.seq = 0x3FFFFFFF
    c.words[0] = 9
    k = c.seal()
    assert c.seq == 0
    assert bytes(c.slots[k]) == record(0, [9])


def test_a_begun_record_reads_as_torn_and_work_reports_its_progress():
    c = ck.Checkpoint(3)
    c.words[0], c.words[1], c.words[2] = 5, -6, 7
    assert c.begin() == 1 and c.sealing
    assert struct.unpack_from("<3i", c.slots[1]) == (0, 1, 3)      # magic 0: not a record
    assert c.work(1) is False and c.work(1) is False
    assert (c.sealed, c.seq, c.last) == (0, 0, 0)
    assert c.work(1) is True
    assert (c.sealed, c.seq, c.last, c.sealing) == (1, 1, 1, False)
    assert bytes(c.slots[1]) == record(1, [5, -6, 7])
    assert c.work(5) is True and c.sealed == 1                       # nothing begun: done


def test_work_beyond_the_last_word_seals_with_the_same_crc():
    c = ck.Checkpoint(3)
    c.words[2] = 44
    c.begin()
    assert c.work(2) is False
    assert c.work(100) is True
    assert bytes(c.slots[1]) == record(1, [0, 0, 44])


def test_a_big_endian_port_copies_the_payload_word_by_word_into_the_same_record():
    c = ck.Checkpoint(3)
    c._wbytes = None                       # what _LE False makes (and n_words == 0)
    c.words[0], c.words[1], c.words[2] = -1, 0x3FFFFFFF, 12345
    k = c.seal()
    assert bytes(c.slots[k]) == record(1, [-1, 0x3FFFFFFF, 12345])
    c.words[1] = 2
    k = c.seal()
    assert k == 0 and bytes(c.slots[0]) == record(2, [-1, 2, 12345])


def test_an_empty_payload_seals_a_header_and_crc_record():
    c = ck.Checkpoint(0)
    assert c.seal() == 1
    assert bytes(c.slots[1]) == record(1, [])
    assert ck.best(bytes(c.image), 0, []) == 1


def test_crc16_span_continues_over_the_words_from_start_to_end():
    words = array("i", [0x04030201, -2, 0x3F00FF00, 5])
    raw = struct.pack("<4i", *words)
    assert ck.crc16_span(words, 1, 3, 0x1D0F) == binascii.crc_hqx(raw[4:12], 0x1D0F)
    assert ck.crc16_span(words, 2, 2, 0xABCD) == 0xABCD
    assert ck.crc16_span(words, 0, 3, 0xFFFF) == binascii.crc_hqx(raw[:12], 0xFFFF)


# ------------------------------------------------------------------ parse
def test_parse_returns_the_sequence_and_copies_the_payload_at_its_offset():
    blob = b"\xAA" * 8 + record(77, [3, -4])
    out = [0, 0]
    assert ck.parse(blob, 8, 2, out) == 77 and out == [3, -4]


@pytest.mark.parametrize("why,rec", [
    ("magic", record(5, [1, 2], magic=0x4B44 | (1 << 16))),
    ("layout", record(5, [1, 2], magic=0x4B43 | (2 << 16))),
    ("word count", record(5, [1, 2], n=3)),
    ("negative sequence", record(-5, [1, 2])),
    ("crc", record(5, [1, 2], crc=binascii.crc_hqx(struct.pack("<5i", MAGIC, 5, 2, 1, 2), 0xFFFF) ^ 0x100)),
])
def test_parse_refuses_a_record_with_a_wrong(why, rec):
    out = [9, 9]
    assert ck.parse(rec, 0, 2, out) == -1, why
    assert out == [9, 9]


def test_parse_refuses_a_record_that_ends_beyond_the_blob():
    rec = record(5, [1, 2])
    assert ck.parse(rec, 0, 2, [0, 0]) == 5
    assert ck.parse(rec[:-1], 0, 2, [0, 0]) == -1
    assert ck.parse(b"\x00" + rec, 1, 2, [0, 0]) == 5
    assert ck.parse(b"\x00" + rec[:-1], 1, 2, [0, 0]) == -1


def test_parse_accepts_sequence_zero():
    assert ck.parse(record(0, [8]), 0, 1, [0]) == 0


# ------------------------------------------------------------------- best
def test_best_takes_the_newer_slot_and_the_first_on_a_tie():
    out = [0]
    assert ck.best(record(4, [40]) + record(6, [60]), 1, out) == 6 and out == [60]
    assert ck.best(record(6, [60]) + record(4, [40]), 1, out) == 6 and out == [60]
    assert ck.best(record(3, [30]) + record(3, [31]), 1, out) == 3 and out == [30]
    assert ck.best(record(0, [7]) + bytes(12), 1, out) == 0 and out == [7]


def test_best_with_neither_slot_valid_leaves_out_alone():
    out = [5]
    assert ck.best(bytes(24), 1, out) == -1 and out == [5]
    assert ck.best(None, 1, out) == -1


def test_newer_of_two_slots_neither_valid_is_minus_one_not_any_negative():
    # a non-empty blob: both slots parsed and refused (a zeroed record has no
    # magic, a record with a wrong CRC is torn); the documented answer is -1
    torn = record(5, [50], crc=0)
    assert ck.newer(bytes(40), 1) == -1
    assert ck.newer(torn + torn, 1) == -1


# ------------------------------------------------------------------ adopt
def test_adopt_takes_both_slots_and_the_newer_becomes_last():
    c = ck.Checkpoint(1)
    blob = record(4, [40]) + record(9, [90]) + b"\xEE" * 64
    assert c.adopt(blob) == 9
    assert c.last == 1
    assert bytes(c.image[:40]) == blob[:40]
    assert bytes(c.image[40:]) == bytes(64)          # hints are not adopted
    c.seq = 9
    c.words[0] = 100
    assert c.seal() == 0                             # over the older record
    assert ck.best(bytes(c.image), 1, [0]) == 10


def test_adopt_with_slot_0_newer_or_equal_keeps_slot_0():
    c = ck.Checkpoint(1)
    assert c.adopt(record(9, [90]) + record(4, [40])) == 9 and c.last == 0
    c = ck.Checkpoint(1)
    assert c.adopt(record(4, [1]) + record(4, [2])) == 4 and c.last == 0
    c = ck.Checkpoint(1)
    assert c.adopt(bytes(20) + record(0, [2])) == 0 and c.last == 1


def test_adopt_of_a_blob_shorter_than_two_slots_or_without_a_record_is_nothing():
    c = ck.Checkpoint(1)
    blob = record(4, [40]) + record(9, [90])
    assert c.adopt(blob[:-1]) == -1
    assert bytes(c.image) == bytes(len(c.image)) and c.last == 0
    assert c.adopt(bytes(40)) == -1


# ------------------------------------------------------------------- hints
def test_a_hint_is_magic_six_values_and_their_keyed_xor():
    c = ck.Checkpoint(1)
    c.hint(3, 1000, 123456, -5000, -5400, -87000)
    at = 2 * c.slot_bytes
    first = hint([HINT_MAGIC, 3, 1000, 123456, -5000, -5400, -87000])
    assert bytes(c.image[at + 32:at + 64]) == first       # the first hint: slot 1
    assert bytes(c.image[at:at + 32]) == bytes(32)
    c.hint(3, 1001, 0, 0, 0, 0)
    assert bytes(c.image[at:at + 32]) == hint([HINT_MAGIC, 3, 1001, 0, 0, 0, 0])
    assert bytes(c.image[at + 32:at + 64]) == first
    c.hint(4, 1002, 0, 0, 0, 0)
    assert bytes(c.image[at + 32:at + 64]) == hint([HINT_MAGIC, 4, 1002, 0, 0, 0, 0])


def test_parse_hint_reads_slot_k_after_the_two_records():
    n = 2
    blob = bytes(2 * ck.slot_bytes(n)) + hint([HINT_MAGIC, 1, 2, 3, 4, 5, 6]) \
        + hint([HINT_MAGIC, 7, 8, 9, 10, 11, 12])
    out = [0] * 6
    assert ck.parse_hint(blob, n, 0, out) and out == [1, 2, 3, 4, 5, 6]
    assert ck.parse_hint(blob, n, 1, out) and out == [7, 8, 9, 10, 11, 12]
    assert not ck.parse_hint(blob[:-1], n, 1, out)
    assert ck.parse_hint(blob[:-32], n, 0, out)


@pytest.mark.parametrize("why,h", [
    ("magic", hint([HINT_MAGIC + 1, 1, 2, 3, 4, 5, 6])),
    ("layout", hint([0x4843 | (2 << 16), 1, 2, 3, 4, 5, 6])),
    ("key", hint([HINT_MAGIC, 1, 2, 3, 4, 5, 6], key=HINT_KEY ^ 1)),
    ("check", hint([HINT_MAGIC, 1, 2, 3, 4, 5, 6])[:28] + hint([HINT_MAGIC, 1, 2, 3, 4, 5, 7])[28:]),
])
def test_parse_hint_refuses_a_hint_with_a_wrong(why, h):
    blob = bytes(2 * ck.slot_bytes(1)) + h
    out = [0] * 6
    assert not ck.parse_hint(blob, 1, 0, out), why
    assert out == [0] * 6


def test_a_check_word_over_six_of_the_seven_words_is_refused():
    for skip in range(7):
        w = [HINT_MAGIC, 11, 22, 33, 44, 55, 66]
        chk = HINT_KEY
        for i, v in enumerate(w):
            if i != skip:
                chk ^= v
        blob = bytes(2 * ck.slot_bytes(1)) + struct.pack("<8i", *w, chk)
        assert not ck.parse_hint(blob, 1, 0, [0] * 6), skip


# ------------------------------------------------------------------ stores
class Rtc:
    def __init__(self, fail=False):
        self.mem = b""
        self.fail = fail
        self.calls = 0

    def memory(self, data=None):
        self.calls += 1
        if self.fail:
            raise OSError(5)
        if data is None:
            return self.mem
        self.mem = bytes(data)


def test_the_rtc_store_hands_over_the_whole_image_and_counts_writes():
    c = ck.Checkpoint(1)
    c.words[0] = 3
    c.hint(1, 2, 3, 4, 5, 6)
    rtc = Rtc()
    s = ck.RtcStore(rtc)
    assert (s.writes, s.errors) == (0, 0)
    assert s.write(c, c.seal()) is True
    assert rtc.mem == bytes(c.image)
    assert s.read() == bytes(c.image)
    assert (s.writes, s.errors) == (1, 0)
    s.clear()
    assert rtc.mem == b""


def test_the_rtc_store_counts_a_failed_write_and_reads_nothing_when_failing():
    rtc = Rtc(fail=True)
    s = ck.RtcStore(rtc)
    c = ck.Checkpoint(1)
    assert s.write(c, c.seal()) is False
    assert s.write(c, c.seal()) is False
    assert (s.writes, s.errors) == (0, 2)
    assert s.read() == b""
    s.clear()                                        # contained
    assert rtc.calls == 4


def _store(fs, n=1, newest=-1):
    s = ck.FileStore("/ck.bin", ck.slot_bytes(n), fs.open)
    assert s.open(newest) is True
    return s


def test_the_file_store_writes_slot_after_slot_in_place():
    fs = FlashEmu()
    c = ck.Checkpoint(1)
    s = _store(fs)
    assert (s.next, s.writes, s.errors) == (0, 0, 0)
    c.words[0] = 10
    assert s.write(c, c.seal()) is True              # record 1 (image slot 1) at file slot 0
    assert s.next == 1 and s.writes == 1
    c.words[0] = 11
    assert s.write(c, c.seal()) is True              # record 2 at file slot 1
    assert bytes(fs.files["/ck.bin"]) == record(1, [10]) + record(2, [11])
    assert s.read() == record(1, [10]) + record(2, [11])
    assert s.newest_slot(1) == 1
    c.words[0] = 12
    s.write(c, c.seal())
    assert bytes(fs.files["/ck.bin"]) == record(3, [12]) + record(2, [11])
    assert s.newest_slot(1) == 0 and s.writes == 3 and s.next == 1


def test_the_file_store_reopened_writes_over_the_older_slot_and_keeps_the_records():
    fs = FlashEmu()
    fs.files["/ck.bin"] = bytearray(record(7, [70]) + record(6, [60]))
    s = ck.FileStore("/ck.bin", ck.slot_bytes(1), fs.open)
    assert s.newest_slot(1) == 0
    assert s.open(0) and s.next == 1
    assert bytes(fs.files["/ck.bin"]) == record(7, [70]) + record(6, [60])
    s2 = ck.FileStore("/ck.bin", ck.slot_bytes(1), fs.open)
    assert s2.open(1) and s2.next == 0
    s3 = ck.FileStore("/ck.bin", ck.slot_bytes(1), fs.open)
    assert s3.open(5) and s3.next == 0


def test_a_file_store_with_no_valid_record_says_minus_one():
    fs = FlashEmu()
    s = ck.FileStore("/none.bin", ck.slot_bytes(1), fs.open)
    assert s.read() == b""
    assert s.newest_slot(1) == -1
    fs.files["/none.bin"] = bytearray(record(2, [1]) + record(2, [2]))
    assert s.newest_slot(1) == 0


class _BadFile:
    def __init__(self, fail_on):
        self.fail_on = fail_on

    def seek(self, pos):
        if self.fail_on == "seek":
            raise OSError(5)

    def write(self, data):
        if self.fail_on == "write":
            raise OSError(28)

    def flush(self):
        if self.fail_on == "flush":
            raise OSError(5)

    def close(self):
        pass


@pytest.mark.parametrize("fail_on", ["seek", "write", "flush"])
def test_a_file_store_write_that_fails_is_counted_and_the_slot_not_advanced(fail_on):
    s = ck.FileStore("/ck.bin", 20, lambda p, m: _BadFile(fail_on))
    assert s.open(-1)
    c = ck.Checkpoint(1)
    assert s.write(c, c.seal()) is False
    assert (s.writes, s.errors, s.next) == (0, 1, 0)


def test_a_file_store_that_cannot_open_counts_an_error_and_writes_nothing():
    def opener(path, mode):
        raise OSError(2)
    s = ck.FileStore("/ck.bin", 20, opener)
    assert s.open(-1) is False and s.errors == 1
    c = ck.Checkpoint(1)
    assert s.write(c, c.seal()) is False
    assert (s.writes, s.errors) == (0, 1)
    s.clear()                                        # contained


def test_a_file_store_opens_a_missing_file_by_creating_it():
    modes = []
    fs = FlashEmu()

    def opener(path, mode):
        modes.append(mode)
        return fs.open(path, mode)
    s = ck.FileStore("/new.bin", 20, opener)
    assert s.open(-1) is True
    assert modes == ["r+b", "w+b"]
    s.clear()
    assert bytes(fs.files["/new.bin"]) == b""


# -------------------------------------------------- tables, views, extras
def test_advance_makes_the_crc_of_an_octet_followed_by_one_more_zero_octet():
    t1 = ck._advance(ck._T0)
    t2 = ck._advance(t1)
    t3 = ck._advance(t2)
    assert len(t1) == len(t2) == len(t3) == 256
    for x in range(256):
        assert t1[x] == binascii.crc_hqx(bytes([x, 0]), 0), x
        assert t2[x] == binascii.crc_hqx(bytes([x, 0, 0]), 0), x
        assert t3[x] == binascii.crc_hqx(bytes([x, 0, 0, 0]), 0), x


def test_the_payload_view_is_exactly_the_payload_octets():
    # on a MicroPython port the view is raw memory: a longer one would copy
    # octets from beyond the words into the record
    for n in (1, 7):
        c = ck.Checkpoint(n)
        assert len(c._wbytes) == 4 * n
    assert ck.Checkpoint(0)._wbytes is None


def test_adopt_reads_negative_payload_words_and_a_lone_record_of_sequence_0():
    c = ck.Checkpoint(2)
    assert c.adopt(record(0, [-7, -2 ** 29]) + bytes(24)) == 0 and c.last == 0
    c = ck.Checkpoint(2)
    assert c.adopt(record(3, [-1, 5]) + record(2, [-9, -9])) == 3 and c.last == 0


def test_best_reads_only_the_two_record_slots():
    out = [0]
    assert ck.best(record(1, [10]) + record(2, [20]) + record(9, [90]), 1, out) == 2
    assert out == [20]


def test_the_rtc_store_counts_every_write():
    rtc = Rtc()
    s = ck.RtcStore(rtc)
    c = ck.Checkpoint(1)
    for _ in range(3):
        s.write(c, c.seal())
    assert (s.writes, s.errors) == (3, 0)


def test_a_file_store_on_a_real_file_system(tmp_path):
    path = str(tmp_path / "ck.bin")
    s = ck.FileStore(path, ck.slot_bytes(1))
    assert s.read() == b""
    assert s.open(-1) and s.next == 0
    c = ck.Checkpoint(1)
    c.words[0] = -3
    assert s.write(c, c.seal())
    c.words[0] = -4
    assert s.write(c, c.seal())
    s._f.close()
    got = s.read()
    assert type(got) is bytes and got == record(1, [-3]) + record(2, [-4])
    assert s.newest_slot(1) == 1
    s.clear()
    with open(path, "rb") as f:
        assert f.read() == b""


def test_a_file_store_counts_every_failed_open_and_write():
    def opener(path, mode):
        raise OSError(2)
    s = ck.FileStore("/ck.bin", 20, opener)
    assert not s.open(-1) and not s.open(-1)
    assert s.errors == 2
    s = ck.FileStore("/ck.bin", 20, lambda p, m: _BadFile("write"))
    assert s.open(-1)
    c = ck.Checkpoint(1)
    assert not s.write(c, c.seal()) and not s.write(c, c.seal())
    assert (s.errors, s.writes) == (2, 0)


def test_a_file_store_told_of_no_newest_slot_writes_slot_0():
    for newest in (-1, 2, 3):
        s = ck.FileStore("/ck.bin", 20, FlashEmu().open)
        assert s.open(newest) and s.next == 0, newest


def test_the_file_store_finds_a_lone_valid_slot_of_sequence_0_on_either_side():
    fs = FlashEmu()
    s = ck.FileStore("/ck.bin", ck.slot_bytes(1), fs.open)
    fs.files["/ck.bin"] = bytearray(record(0, [-5]) + bytes(20))
    assert s.newest_slot(1) == 0
    fs.files["/ck.bin"] = bytearray(bytes(20) + record(0, [-5]))
    assert s.newest_slot(1) == 1
