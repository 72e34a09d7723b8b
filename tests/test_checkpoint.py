"""Warm-restart checkpoint records: double-buffered, CRC + sequence number, a
valid copy survives a cut at any byte of a write (RTC image and flash file)."""
import binascii
import random
import struct

from host_tools.emu.flash import FlashEmu
from lander import checkpoint as ck


def _sealed(n, values, seq0=0):
    c = ck.Checkpoint(n)
    c.seq = seq0
    for i, v in enumerate(values):
        c.words[i] = v
    c.seal()
    return c


def test_record_layout_and_crc_match_an_independent_crc16():
    c = _sealed(3, [7, -2, 0x3FFFFFFF])
    rec = bytes(c.slots[c.last])
    assert struct.unpack_from("<5i", rec) == (0x4B43 | (1 << 16), 1, 3, 7, -2)
    body = rec[:4 * 6]
    # CRC-16/CCITT-FALSE = binascii.crc_hqx with init 0xFFFF
    assert struct.unpack_from("<i", rec, 24)[0] == binascii.crc_hqx(body, 0xFFFF)


def test_seal_alternates_slots_and_the_newer_sequence_wins():
    c = ck.Checkpoint(2)
    c.words[0] = 10
    assert c.seal() == 1
    c.words[0] = 11
    assert c.seal() == 0
    out = [0, 0]
    assert ck.best(bytes(c.image), 2, out) == 2
    assert out[0] == 11


def test_a_corrupted_newest_slot_falls_back_to_the_older():
    c = ck.Checkpoint(2)
    c.words[0] = 10
    c.seal()
    c.words[0] = 11
    k = c.seal()
    img = bytearray(c.image)
    img[k * c.slot_bytes + 13] ^= 0x01
    out = [0, 0]
    assert ck.best(bytes(img), 2, out) == 1
    assert out[0] == 10


def test_wrong_payload_size_or_empty_memory_is_not_a_checkpoint():
    c = _sealed(4, [1, 2, 3, 4])
    out = [0] * 5
    assert ck.best(bytes(c.image), 5, out) == -1
    assert ck.best(b"", 4, out) == -1
    assert ck.best(bytes(64), 4, out) == -1


def test_rtc_image_cut_at_1000_random_points_always_leaves_a_valid_record():
    rng = random.Random(11)
    c = ck.Checkpoint(20)
    memory = bytearray(len(c.image))          # what the RTC memory holds
    for cut in range(1000):
        before = bytes(memory)
        for i in range(20):
            c.words[i] = rng.randrange(-2 ** 30, 2 ** 30)
        expect_new = list(c.words)
        c.seal()
        k = rng.randrange(0, len(c.image))     # the copy stops after k bytes
        memory[:k] = c.image[:k]
        out = [0] * 20
        seq = ck.best(bytes(memory), 20, out)
        if cut == 0 and seq < 0:
            assert ck.best(before, 20, out) == -1   # nothing written before the first
            memory[:] = c.image
            continue
        assert seq in (c.seq - 1, c.seq), (cut, k)
        if seq == c.seq:
            assert out == expect_new
        memory[:] = c.image                  # the next write completes


def test_flash_file_cut_at_1000_random_points_always_leaves_a_valid_record():
    rng = random.Random(12)
    fs = FlashEmu()
    n = 20
    c = ck.Checkpoint(n)
    store = ck.FileStore("/ckpt.bin", c.slot_bytes, fs.open)
    store.open(-1)
    for i in range(2):                        # two good records to start with
        c.words[0] = i
        store.write(c, c.seal())
    for cut in range(1000):
        c.words[0] = 100 + cut
        slot = c.seal()
        store.write(c, slot)
        fs.power_cut(keep=rng.randrange(0, c.slot_bytes), rng=rng)
        out = [0] * n
        seq = ck.best(bytes(fs.files["/ckpt.bin"]), n, out)
        assert seq == c.seq - 1, cut           # the cut record is never believed
        assert out[0] == 100 + cut - 1 if cut else out[0] == 1
        # reboot: reopen, the next write goes over the torn (older) slot
        store = ck.FileStore("/ckpt.bin", c.slot_bytes, fs.open)
        store.open(store.newest_slot(n))
        c.seq = seq
        c.words[0] = 100 + cut
        store.write(c, c.seal())
        assert ck.best(bytes(fs.files["/ckpt.bin"]), n, out) == c.seq


def test_restart_hint_round_trips_and_alternates_its_two_slots():
    c = ck.Checkpoint(4)
    c.hint(2, 1000, 123456, -5000, -5400, -87000)
    c.hint(2, 1001, 143456, -5073, -5390, -86000)
    out = [0] * 6
    got = []
    for k in range(2):
        assert ck.parse_hint(bytes(c.image), 4, k, out)
        got.append(list(out))
    assert sorted(got) == [[2, 1000, 123456, -5000, -5400, -87000],
                           [2, 1001, 143456, -5073, -5390, -86000]]
    # the hints live after the two record slots: the records are untouched
    assert ck.best(bytes(c.image), 4, [0] * 4) == -1


def test_a_torn_restart_hint_fails_its_check_and_the_other_hint_remains():
    rng = random.Random(13)
    c = ck.Checkpoint(4)
    memory = bytearray(len(c.image))
    base = 2 * c.slot_bytes
    out = [0] * 6
    for cycle in range(1000):
        c.hint(1, cycle, 20000 * cycle, -cycle, 3 * cycle, -7 * cycle)
        k = base + rng.randrange(0, 2 * 4 * ck.HINT_WORDS)   # the copy stops after k bytes
        memory[:k] = c.image[:k]
        seen = []
        for j in range(2):
            if ck.parse_hint(bytes(memory), 4, j, out):
                s = out[1]                       # every word from that one write
                assert out == [1, s, 20000 * s, -s, 3 * s, -7 * s], (cycle, out)
                seen.append(s)
        if cycle == 0:                           # nothing written before the first
            memory[:] = c.image
            continue
        assert seen and all(s in (cycle, cycle - 1, cycle - 2) for s in seen), (cycle, seen)
        assert max(seen) >= cycle - 1
        memory[:] = c.image


def test_a_flipped_bit_in_a_restart_hint_is_refused():
    c = ck.Checkpoint(4)
    c.hint(0, 7, 140000, 100, 90, 5000)
    img = bytearray(c.image)
    k = 1 - c._hint_k                          # the other (empty) slot stays empty
    off = 2 * c.slot_bytes + (1 - k) * 4 * ck.HINT_WORDS
    img[off + 4 * 5] ^= 0x04                   # the pitch word
    assert not ck.parse_hint(bytes(img), 4, 0, [0] * 6)
    assert not ck.parse_hint(bytes(img), 4, 1, [0] * 6)


def test_a_record_begun_is_not_a_record_until_its_last_crc_word():
    c = _sealed(40, list(range(40)))                # seq 1, valid
    for i in range(40):
        c.words[i] = -i
    c.begin()
    out = [0] * 40
    for step in range(2):                           # 14 + 14 of 40 words
        assert not c.work(14)
        assert ck.best(bytes(c.image), 40, out) == 1 and out[5] == 5
    assert c.work(14)                               # the last 12
    assert ck.best(bytes(c.image), 40, out) == 2 and out[5] == -5
    # the same record bytes as a seal in one go
    d = _sealed(40, [-i for i in range(40)], seq0=1)
    assert bytes(c.slots[c.last]) == bytes(d.slots[d.last])


def test_rtc_image_cut_at_1000_random_points_of_a_spread_seal_leaves_a_valid_record():
    # the image is handed to the RTC memory every cycle (the hint rides in it),
    # so cuts fall while a record is half sealed too
    rng = random.Random(14)
    n = 40
    c = ck.Checkpoint(n)
    memory = bytearray(len(c.image))
    c.seal()
    memory[:] = c.image
    for cut in range(1000):
        for i in range(n):
            c.words[i] = rng.randrange(-2 ** 30, 2 ** 30)
        old = c.seq
        c.begin()
        while True:
            done = c.work(14)
            k = rng.randrange(0, len(c.image))        # this cycle's copy stops after k bytes
            memory[:k] = c.image[:k]
            out = [0] * n
            seq = ck.best(bytes(memory), n, out)
            assert seq == old or (done and seq == c.seq), (cut, k, seq)
            memory[:] = c.image                       # the next copy completes
            if done:
                break
