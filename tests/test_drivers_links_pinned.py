"""The link drivers pinned on recording stand-ins: the UART radio
(drivers/radio.py: the line budget, the ring, CTS, errors), the record store
(drivers/storage.py: the record layout, batches, recovery at open, reading
back), the attitude-control unit (drivers/attitude.py: frames written and
parsed octet by octet from docs/protocols.md) and the register access of the
I2C/SPI parts (drivers/regbus.py). Every expected figure computed by hand."""
import binascii

import pytest

from lander.drivers import INVALID, NOT_READY, OK
from lander.drivers import attitude as acu
from lander.drivers import radio as rd
from lander.drivers import storage as sto
from lander.drivers.attitude import AttitudeUnit
from lander.drivers.radio import Radio
from lander.drivers.regbus import read_regs, write_reg
from lander.drivers.storage import Storage, crc16
from tests.app_fakes import drain_events, fresh_event_ring  # noqa: F401


def record_seq(st, index):
    """The stored sequence number of record `index` of Storage st (-1: not
    readable): only the tests ask, so the helper is theirs, not the board's."""
    if st.read_record(index, bytearray(st.payload_max)) < 0:
        return -1
    return sto._seq(st._rec)


pytestmark = pytest.mark.usefixtures("fresh_event_ring")


# ================================================================== radio
class _Uart:
    """Takes at most `take` octets a write (all by default); `fail` raises."""

    def __init__(self, take=None, rx=b""):
        self.take = take
        self.fail = False
        self.sent = bytearray()
        self.calls = []
        self.rx = bytearray(rx)
        self.rx_fail = False
        self.rx_none = False

    def write(self, buf):
        self.calls.append(len(buf))
        if self.fail:
            raise OSError(5)
        n = len(buf) if self.take is None else min(self.take, len(buf))
        self.sent += bytes(buf[:n])
        return n

    def readinto(self, buf, n=None):
        if self.rx_fail:
            raise OSError(5)
        if self.rx_none:
            return None
        n = len(buf) if n is None else min(n, len(buf))
        n = min(n, len(self.rx))
        buf[:n] = self.rx[:n]
        del self.rx[:n]
        return n


class _Cts:
    def __init__(self, level=0):
        self.level = level

    def value(self):
        return self.level


def test_radio_budget_is_the_line_rate_times_the_cycle_with_the_fraction_carried():
    r = Radio(_Uart(), baudrate=57600, period_us=20000)     # 5760 B/s * 0.02 s = 115.2
    assert (r.budget, r._frac, r._chunk) == (115, 200000, 116)
    r = Radio(_Uart(), baudrate=9600, period_us=20000)      # 19.2
    assert (r.budget, r._frac, r._chunk) == (19, 200000, 20)
    assert len(r._stage) == 20 and [len(v) for v in r._views] == list(range(21))


def test_radio_chunk_is_capped_at_max_chunk():
    r = Radio(_Uart(), baudrate=230400, period_us=20000)    # 460.8 B a cycle
    assert (r.budget, r._chunk) == (460, 128)
    r = Radio(_Uart(), baudrate=57600, period_us=20000, max_chunk=100)
    assert r._chunk == 100


def test_radio_refuses_a_line_that_carries_nothing():
    with pytest.raises(ValueError, match="^radio budget$"):
        Radio(_Uart(), baudrate=0)
    r = Radio(_Uart(), baudrate=10, period_us=100000)       # 0.1 B a cycle: allowed
    assert (r.budget, r._frac, r._chunk) == (0, 100000, 1)
    r = Radio(_Uart(), baudrate=10, period_us=1000000)      # exactly 1 B a cycle
    assert (r.budget, r._frac) == (1, 0)


def test_radio_defaults():
    r = Radio(_Uart())
    assert (r.budget, r._frac, r._size, r._cts_alarm, r.free()) == (115, 200000, 2048, 250, 2048)
    assert (r.queued, r.bytes_sent, r.bytes_dropped, r.writes_dropped, r.deferred,
            r.short_writes, r.errors, r.bytes_received, r._head, r._acc) == (0,) * 10


def test_radio_write_queues_all_or_nothing_and_free_counts_down():
    r = Radio(_Uart(), ring_size=16)
    assert r.write(b"abcdefghij") == 10 and r.free() == 6
    assert r.write(b"1234567") == 0 and r.free() == 6
    assert (r.bytes_dropped, r.writes_dropped) == (7, 1)
    assert r.write(b"123456") == 6 and r.free() == 0
    assert bytes(r._ring) == b"abcdefghij123456"


def test_radio_the_first_drop_after_a_queued_write_posts_one_event():
    r = Radio(_Uart(), baudrate=1000, ring_size=8)      # 2 octets a cycle
    r.write(b"12345678")
    assert r.write(b"ab") == 0 and r.write(b"abc") == 0
    assert drain_events() == [(rd.EV_RADIO_DROP, 2)]
    r.service()
    assert r.write(b"x") == 1
    assert r.write(b"abcd") == 0
    assert drain_events() == [(rd.EV_RADIO_DROP, 4)]


def test_radio_a_drop_on_a_fresh_radio_posts_the_event():
    r = Radio(_Uart(), ring_size=8)
    assert r.write(bytes(9)) == 0
    assert drain_events() == [(rd.EV_RADIO_DROP, 9)]


def test_radio_drops_are_summed():
    r = Radio(_Uart(), ring_size=8)
    r.write(bytes(9))
    r.write(bytes(10))
    assert (r.bytes_dropped, r.writes_dropped) == (19, 2)


def test_radio_a_write_of_zero_octets_queues_nothing():
    r = Radio(_Uart(), ring_size=8)
    assert r.write(b"abc", 0) == 0 and r.queued == 0


def test_radio_write_of_n_octets_takes_the_first_n():
    r = Radio(_Uart(), ring_size=16)
    assert r.write(b"abcdef", 4) == 4
    assert r.queued == 4 and bytes(r._ring[:5]) == b"abcd\x00"


def test_radio_write_wraps_around_the_ring():
    u = _Uart()
    r = Radio(u, baudrate=9600, ring_size=16)     # 19 octets a cycle
    r.write(b"0123456789AB")
    r.service()
    assert (r._head, r.queued) == (12, 0)
    assert r.write(b"abcdefgh") == 8              # 12..15 then 0..3
    assert bytes(r._ring[12:16]) == b"abcd" and bytes(r._ring[0:4]) == b"efgh"
    r.service()
    assert bytes(u.sent) == b"0123456789ABabcdefgh"
    assert (r._head, r.queued, r.bytes_sent) == (4, 0, 20)


def test_radio_write_fitting_exactly_before_the_ring_end_and_partial_write_wrapping():
    u = _Uart()
    r = Radio(u, baudrate=9600, ring_size=16)
    r.write(b"0123456789AB")
    r.service()
    assert r.write(b"wxyz") == 4                  # 12..15: ends at the ring's end
    assert r.write(b"abcdef", 3) == 3             # 0..2
    r.service()
    assert bytes(u.sent[12:]) == b"wxyzabc"


def test_radio_service_hands_the_uart_the_budget_with_a_sixth_octet_every_fifth_cycle():
    u = _Uart()
    r = Radio(u, baudrate=9600, period_us=20000, ring_size=512)   # 19.2 octets a cycle
    r.write(bytes(range(200)))
    sent = [r.service() for _ in range(6)]
    assert sent == [19, 19, 19, 19, 20, 19]
    assert u.calls == sent and bytes(u.sent) == bytes(range(115))
    assert (r.queued, r.bytes_sent, r._head) == (85, 115, 115)


def test_radio_an_empty_ring_still_accrues_the_fraction():
    u = _Uart()
    r = Radio(u, baudrate=9600, period_us=20000, ring_size=512)
    for _ in range(4):
        assert r.service() == 0
    assert u.calls == [] and r._acc == 800000
    r.write(bytes(100))
    assert r.service() == 20 and r._acc == 0


def test_radio_service_sends_no_more_than_is_queued():
    u = _Uart()
    r = Radio(u, baudrate=9600, ring_size=512)
    r.write(b"abc")
    assert r.service() == 3 and u.calls == [3] and r.queued == 0


def test_radio_service_sends_at_most_a_chunk():
    u = _Uart()
    r = Radio(u, baudrate=57600, ring_size=512, max_chunk=100)
    r.write(bytes(300))
    assert r.service() == 100 and u.calls == [100]


def test_radio_a_short_uart_write_keeps_the_rest_queued_in_order():
    u = _Uart(take=7)
    r = Radio(u, baudrate=9600, ring_size=512)
    r.write(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    assert r.service() == 7 and r.short_writes == 1
    assert (r._head, r.queued, r.bytes_sent) == (7, 19, 7)
    u.take = None
    assert r.service() == 19 and r.short_writes == 1
    assert bytes(u.sent) == b"ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def test_radio_a_uart_error_is_counted_and_nothing_leaves_the_ring():
    u = _Uart()
    u.fail = True
    r = Radio(u, baudrate=9600, ring_size=512)
    r.write(b"abcdef")
    assert r.service() == 0
    assert (r.errors, r.short_writes, r.queued, r._head) == (1, 1, 6, 0)
    assert drain_events() == [(rd.EV_RADIO_UART_ERROR, 0)]
    r.service()
    assert (r.errors, r.short_writes) == (2, 2)


def test_radio_a_uart_write_returning_none_sent_nothing():
    class U(_Uart):
        def write(self, buf):
            return None
    r = Radio(U(), baudrate=9600, ring_size=512)
    r.write(b"abcdef")
    assert r.service() == 0 and (r.queued, r.short_writes, r.errors) == (6, 1, 0)


def test_radio_head_wraps_when_a_send_reaches_the_ring_end():
    u = _Uart()
    r = Radio(u, baudrate=9600, ring_size=20)
    r.write(bytes(19))
    r.service()                                   # 19 sent: head 19
    r.write(b"abcdef")                            # 19, 0..4
    assert r.service() == 6 and r._head == 5 and bytes(u.sent[19:]) == b"abcdef"
    r = Radio(_Uart(), baudrate=9600, ring_size=19)
    r.write(bytes(19))
    r.service()
    assert r._head == 0


def test_radio_cts_high_defers_the_cycle_and_an_alarm_after_the_set_run():
    u = _Uart()
    cts = _Cts(1)
    r = Radio(u, baudrate=9600, cts=cts, ring_size=512, cts_alarm=3)
    r.write(b"abc")
    for _ in range(2):
        assert r.service() == 0
    assert drain_events() == []
    assert r.service() == 0
    assert drain_events() == [(rd.EV_RADIO_CTS_HELD, 3)]
    r.service()
    assert drain_events() == [] and (r.deferred, r._cts_run) == (4, 4) and u.calls == []
    cts.level = 0
    assert r.service() == 3 and r._cts_run == 0
    cts.level = 1
    r.write(b"d")
    r.service()
    assert r._cts_run == 1


def test_radio_receive_counts_what_arrived():
    u = _Uart(rx=b"hello")
    r = Radio(u)
    buf = bytearray(8)
    assert r.receive(buf) == 5 and buf[:5] == b"hello" and r.bytes_received == 5
    assert r.receive(buf) == 0 and r.bytes_received == 5
    u.rx_none = True
    assert r.receive(buf) == 0
    u.rx_fail = True
    assert r.receive(buf) == 0 and (r.errors, r.bytes_received) == (1, 5)
    assert r.receive(buf) == 0 and r.errors == 2
    u.rx_fail = u.rx_none = False
    u.rx += b"abc"
    assert r.receive(buf) == 3 and r.bytes_received == 8


# ================================================================ storage
class _File:
    def __init__(self, disk, path):
        self.disk = disk
        self.path = path
        self.pos = 0
        self.closed = False
        self.fail_write = False

    def readinto(self, buf):
        data = self.disk.files[self.path]
        n = min(len(buf), len(data) - self.pos)
        if n <= 0:
            return 0
        buf[:n] = data[self.pos:self.pos + n]
        self.pos += n
        return n

    def write(self, b):
        if self.disk.fail_write:
            raise OSError(28)
        data = self.disk.files[self.path]
        b = bytes(b)
        data[self.pos:self.pos + len(b)] = b
        self.pos += len(b)
        self.disk.writes.append(len(b))
        return len(b)

    def flush(self):
        self.disk.flushes += 1

    def seek(self, p):
        self.pos = p

    def tell(self):
        return self.pos

    def close(self):
        self.closed = True
        self.disk.closes += 1


class _Disk:
    def __init__(self):
        self.files = {}
        self.modes = []
        self.writes = []
        self.flushes = 0
        self.closes = 0
        self.fail_write = False

    def open(self, path, mode):
        self.modes.append(mode)
        if mode == "r+b" and path not in self.files:
            raise OSError(2)
        if mode == "w+b":
            self.files[path] = bytearray()
        self.f = _File(self, path)
        return self.f


def _record(seq, payload, R=16):
    """A record built from the layout: B5, length, seq u32 LE, payload zero
    padded, CRC-16/CCITT-FALSE (binascii.crc_hqx from 0xFFFF) big-endian."""
    body = bytes([0xB5, len(payload)]) + seq.to_bytes(4, "little") + bytes(payload)
    body += bytes(R - 2 - len(body))
    c = binascii.crc_hqx(body, 0xFFFF)
    return body + bytes([c >> 8, c & 0xFF])


def test_the_crc_table_is_the_crc_of_each_octet_from_zero():
    # built at import, where a mutant cannot be switched on: build it again
    t = sto._crc_table()
    assert t.typecode == "H" and len(t) == 256
    assert list(t) == [binascii.crc_hqx(bytes([i]), 0) for i in range(256)]


def test_crc16_is_ccitt_false():
    assert crc16(b"123456789", 9) == 0x29B1
    assert crc16(b"123456789", 4) == binascii.crc_hqx(b"1234", 0xFFFF)
    assert crc16(b"\x00", 1, 0) == 0
    assert list(sto._TABLE[:3]) == [0, 0x1021, 0x2042] and sto._TABLE[255] == 0x1EF0


def test_storage_defaults_64_octet_records_in_batches_of_4():
    s = Storage("/s", opener=_Disk().open)
    assert (s.record_size, s.payload_max, s._batch, len(s._pend)) == (64, 56, 4, 256)


def test_storage_opens_the_filesystem_file_by_default(tmp_path):
    path = str(tmp_path / "bb.bin")
    s = Storage(path, record_size=16, batch=1)
    s.append(b"abc")
    s.close()
    with open(path, "rb") as fh:
        assert fh.read() == _record(0, b"abc")
    assert Storage(path, record_size=16).count == 1


def test_storage_refuses_a_record_under_16_octets_or_no_batch():
    d = _Disk()
    with pytest.raises(ValueError, match="^storage config$"):
        Storage("/s", record_size=15, opener=d.open)
    with pytest.raises(ValueError, match="^storage config$"):
        Storage("/s", batch=0, opener=d.open)
    s = Storage("/s", record_size=16, batch=1, opener=d.open)
    assert (s.payload_max, s.record_size, s.max_records) == (8, 16, 4096)
    assert len(s._pend) == 16 and [len(v) for v in s._views] == [0, 16]


def test_storage_creates_the_file_when_there_is_none():
    d = _Disk()
    s = Storage("/s", opener=d.open)
    assert d.modes == ["r+b", "w+b"] and d.files["/s"] == bytearray()
    assert (s.count, s.seq, s.torn_bytes, s.corrupt, s.pending) == (0, 0, 0, 0, 0)
    assert drain_events() == []


def test_storage_a_record_is_magic_length_sequence_payload_padding_crc():
    d = _Disk()
    s = Storage("/s", record_size=16, batch=1, opener=d.open)
    assert s.append(b"\x01\x02\x03") is True
    assert bytes(d.files["/s"]) == _record(0, b"\x01\x02\x03")
    s.seq = 0x01020304
    s.append(b"\xAA" * 8)
    assert bytes(d.files["/s"][16:]) == _record(0x01020304, b"\xAA" * 8)
    assert s.seq == 0x01020305 and s.count == 2


def test_storage_append_of_n_octets_takes_the_first_n_and_pads_the_rest():
    d = _Disk()
    s = Storage("/s", record_size=16, batch=1, opener=d.open)
    s._pend[:] = b"\xEE" * 16                 # padding must overwrite what was there
    s.append(b"\x05\x06\x07\x08", 2)
    assert bytes(d.files["/s"]) == _record(0, b"\x05\x06")


def test_storage_append_of_zero_octets_is_an_empty_record():
    d = _Disk()
    s = Storage("/s", record_size=16, batch=1, opener=d.open)
    s.append(b"abc", 0)
    assert bytes(d.files["/s"]) == _record(0, b"")


def test_storage_the_sequence_number_keeps_its_30_bits():
    d = _Disk()
    s = Storage("/s", record_size=16, batch=1, opener=d.open)
    s.seq = 0x3FFFFFFE
    s.append(b"x")
    assert s.seq == 0x3FFFFFFF and bytes(d.files["/s"]) == _record(0x3FFFFFFE, b"x")


def test_storage_the_sequence_wraps_to_zero_after_its_last_30_bit_value():
    d = _Disk()
    s = Storage("/s", record_size=16, batch=1, opener=d.open)
    s.seq = 0x3FFFFFFF
    s.append(b"x")
    assert s.seq == 0 and bytes(d.files["/s"]) == _record(0x3FFFFFFF, b"x")


def test_storage_reopened_after_the_last_30_bit_sequence_wraps_to_zero():
    d = _Disk()
    d.files["/s"] = bytearray(_record(0x3FFFFFFF, b"z"))
    s = Storage("/s", record_size=16, batch=1, opener=d.open)
    assert s.count == 1 and s.seq == 0 and record_seq(s, 0) == 0x3FFFFFFF


def test_storage_a_sequence_with_its_top_two_bits_set_reads_as_its_30_bits():
    # a valid record the writer did not make: the counter stays a small int
    d = _Disk()
    d.files["/s"] = bytearray(_record(0xC0000005, b"q"))
    s = Storage("/s", record_size=16, batch=1, opener=d.open)
    assert record_seq(s, 0) == 5 and s.seq == 6


def test_storage_batches_records_into_one_write_and_one_flush():
    d = _Disk()
    s = Storage("/s", record_size=16, batch=3, opener=d.open)
    s.append(b"a")
    s.append(b"b")
    assert (d.writes, s.pending, s.count) == ([], 2, 0)
    s.append(b"c")
    assert (d.writes, d.flushes, s.pending, s.count) == ([48], 1, 0, 3)
    assert bytes(d.files["/s"]) == _record(0, b"a") + _record(1, b"b") + _record(2, b"c")


def test_storage_flush_writes_the_pending_records():
    d = _Disk()
    s = Storage("/s", record_size=16, batch=4, opener=d.open)
    assert s.flush() is True and d.writes == []
    s.append(b"a")
    assert s.flush() is True and d.writes == [16] and (s.count, s.pending) == (1, 0)


def test_storage_a_payload_beyond_the_record_is_dropped_without_an_event():
    d = _Disk()
    s = Storage("/s", record_size=16, batch=1, opener=d.open)
    assert s.append(bytes(9)) is False and s.dropped == 1 and drain_events() == []
    assert s.append(bytes(8)) is True


def test_storage_a_full_store_drops_and_posts_once():
    d = _Disk()
    s = Storage("/s", record_size=16, batch=2, max_records=3, opener=d.open)
    for _ in range(3):
        assert s.append(b"r") is True
    assert (s.count, s.pending) == (2, 1)
    assert s.append(b"r") is False and s.append(b"r") is False
    assert s.dropped == 2 and drain_events() == [(sto.EV_STORE_FULL, 2)]


def test_storage_a_full_store_after_an_oversize_drop_does_not_post():
    d = _Disk()
    s = Storage("/s", record_size=16, batch=1, max_records=1, opener=d.open)
    s.append(bytes(9))
    s.append(b"r")
    assert s.append(b"r") is False and s.dropped == 2 and drain_events() == []


def test_storage_a_write_error_is_counted_posted_and_the_batch_dropped():
    d = _Disk()
    s = Storage("/s", record_size=16, batch=4, opener=d.open)
    s.append(b"a")
    s.append(b"b")
    d.fail_write = True
    assert s.flush() is False
    assert (s.errors, s.pending, s.count) == (1, 0, 0)
    assert drain_events() == [(sto.EV_STORE_WRITE_ERROR, 2)]
    s.append(b"c")
    s.flush()
    assert s.errors == 2


def test_storage_a_record_written_by_a_failed_flush_is_not_read_back():
    class Torn(_Disk):
        def open(self, path, mode):
            f = _Disk.open(self, path, mode)
            w = f.write

            def write(b):
                w(b)
                raise OSError(5)        # the octets reached the file, then the error
            f.write = write
            return f
    d = Torn()
    s = Storage("/s", record_size=16, batch=1, opener=d.open)
    s.append(b"a")
    assert s.count == 0 and bytes(d.files["/s"]) == _record(0, b"a")
    assert s.read_record(0, bytearray(8)) == -1


def test_storage_a_closed_store_flushes_nothing():
    d = _Disk()
    s = Storage("/s", record_size=16, batch=4, opener=d.open)
    s.append(b"a")
    s.close()
    assert s.closed and d.closes == 1 and d.writes == [16] and s.count == 1
    s.append(b"b")
    assert s.flush() is False and d.writes == [16]
    s.close()
    assert d.closes == 1


def test_storage_reopening_keeps_the_records_and_continues_the_sequence():
    d = _Disk()
    d.files["/s"] = bytearray(_record(7, b"a") + _record(8, b"b"))
    s = Storage("/s", record_size=16, batch=1, opener=d.open)
    assert d.modes == ["r+b"]
    assert (s.count, s.seq, s.torn_bytes) == (2, 9, 0) and drain_events() == []
    assert d.f.pos == 32
    s.append(b"c")
    assert bytes(d.files["/s"][32:]) == _record(9, b"c")


def test_storage_the_sequence_read_at_open_takes_all_four_octets():
    d = _Disk()
    d.files["/s"] = bytearray(_record(0x12345678, b"a"))
    assert Storage("/s", record_size=16, opener=d.open).seq == 0x12345679


def test_storage_a_torn_tail_is_ignored_posted_and_overwritten():
    d = _Disk()
    d.files["/s"] = bytearray(_record(0, b"a") + _record(1, b"b")[:10])
    s = Storage("/s", record_size=16, batch=1, opener=d.open)
    assert (s.count, s.seq, s.torn_bytes, s.corrupt) == (1, 1, 10, 0)
    assert drain_events() == [(sto.EV_STORE_RECOVERED, 10)]
    assert d.f.pos == 16


def test_storage_each_corrupt_record_is_counted():
    bad = bytearray(_record(1, b"b"))
    bad[7] ^= 1
    d = _Disk()
    d.files["/s"] = bytearray(bytes(bad) + bytes(bad) + _record(2, b"c"))
    s = Storage("/s", record_size=16, opener=d.open)
    assert (s.count, s.corrupt) == (3, 2)


def test_storage_a_whole_bad_record_before_a_good_one_is_corrupt_after_it_torn():
    bad = bytearray(_record(1, b"b"))
    bad[7] ^= 1
    d = _Disk()
    d.files["/s"] = bytearray(_record(0, b"a") + bytes(bad) + _record(2, b"c") + bytes(bad))
    s = Storage("/s", record_size=16, batch=1, opener=d.open)
    assert (s.count, s.seq, s.corrupt, s.torn_bytes) == (3, 3, 1, 16)
    assert drain_events() == [(sto.EV_STORE_CORRUPT, 1), (sto.EV_STORE_RECOVERED, 16)]
    assert d.f.pos == 48


@pytest.mark.parametrize("octet,value", [(0, 0xB4), (1, 9)])
def test_storage_a_record_with_a_wrong_magic_or_length_is_not_valid_even_with_its_crc(octet, value):
    r = bytearray(_record(0, b"a"))
    r[octet] = value
    c = binascii.crc_hqx(bytes(r[:14]), 0xFFFF)
    r[14], r[15] = c >> 8, c & 0xFF
    d = _Disk()
    d.files["/s"] = r
    s = Storage("/s", record_size=16, opener=d.open)
    assert s.count == 0 and s.torn_bytes == 16


def test_storage_a_record_of_the_largest_payload_is_valid():
    d = _Disk()
    d.files["/s"] = bytearray(_record(0, bytes(range(8))))
    s = Storage("/s", record_size=16, opener=d.open)
    out = bytearray(8)
    assert s.count == 1 and s.read_record(0, out) == 8 and out == bytes(range(8))


def test_storage_read_record_copies_the_payload_and_keeps_the_write_position():
    d = _Disk()
    s = Storage("/s", record_size=16, batch=1, opener=d.open)
    s.append(b"abc")
    s.append(b"defgh")
    out = bytearray(b"\xFF" * 8)
    assert s.read_record(1, out) == 5 and out == b"defgh\xFF\xFF\xFF"
    assert d.f.pos == 32
    assert s.read_record(0, out) == 3 and out[:3] == b"abc"
    assert s.read_record(2, out) == -1 and s.read_record(-1, out) == -1


def test_storage_read_record_refuses_a_record_damaged_after_open():
    d = _Disk()
    s = Storage("/s", record_size=16, batch=1, opener=d.open)
    s.append(b"abc")
    d.files["/s"][8] ^= 0xFF
    assert s.read_record(0, bytearray(8)) == -1
    del d.files["/s"][10:]
    assert s.read_record(0, bytearray(8)) == -1


def test_storage_record_seq_of_an_empty_record():
    d = _Disk()
    d.files["/s"] = bytearray(_record(77, b""))
    assert record_seq(Storage("/s", record_size=16, opener=d.open), 0) == 77


def test_storage_record_seq_reads_the_stored_sequence_number():
    d = _Disk()
    d.files["/s"] = bytearray(_record(0x0A0B0C0D, b"a") + _record(5, b"b"))
    s = Storage("/s", record_size=16, opener=d.open)
    assert record_seq(s, 0) == 0x0A0B0C0D and record_seq(s, 1) == 5 and record_seq(s, 2) == -1


# ================================================================ attitude
def _frame(cmd, seq, payload):
    body = [cmd, seq, len(payload)] + list(payload)
    return bytes([0xA5] + body + [(-sum(body)) & 0xFF])


def _ack(seq, applied, status=0):
    v = applied & 0xFFFF
    return _frame(0x81, seq, [status, v & 0xFF, v >> 8])


class _AcuUart:
    def __init__(self):
        self.rx = bytearray()
        self.tx = []
        self.read_fail = False
        self.write_fail = False
        self.asks = []

    def readinto(self, buf, n):
        self.asks.append(n)
        if self.read_fail:
            raise OSError(5)
        k = min(n, len(self.rx))
        buf[:k] = self.rx[:k]
        del self.rx[:k]
        return k

    def write(self, b):
        if self.write_fail:
            raise OSError(5)
        self.tx.append(bytes(b))
        return len(b)


def _acu(max_pitch_deg=60):
    u = _AcuUart()
    return AttitudeUnit(u, max_pitch_deg), u


def test_acu_limit_is_the_travel_in_binary_angle():
    assert _acu()[0].max_pitch == 10922               # 60 * 18204 // 100
    assert _acu(15)[0].max_pitch == 2730
    a, u = _acu()
    assert (a.setpoint, a.applied, a.seq, a.status, a.acks, a.naks, a.missed, a.errors) == \
        (0, 0, 0, NOT_READY, 0, 0, 0, 0)


def test_acu_set_frame_is_sync_cmd_seq_len_le_angle_and_check():
    a, u = _acu()
    a.set_pitch(1000)                                 # 0x03E8
    assert u.tx == [bytes([0xA5, 0x01, 0x01, 0x02, 0xE8, 0x03, 0x11])]
    a.set_pitch(-1000)                                # 0xFC18
    assert u.tx[1] == bytes([0xA5, 0x01, 0x02, 0x02, 0x18, 0xFC, 0xE7])
    assert u.tx[1] == _frame(0x01, 2, [0x18, 0xFC])
    assert a.setpoint == -1000 and a.seq == 2


def test_acu_set_point_is_clamped_to_the_travel():
    a, u = _acu(15)
    a.set_pitch(2731)
    assert a.setpoint == 2730 and u.tx[-1] == _frame(0x01, 1, [0xAA, 0x0A])
    a.set_pitch(-2731)
    assert a.setpoint == -2730
    a.set_pitch(2730)
    assert a.setpoint == 2730
    a.set_pitch(-2730)
    assert a.setpoint == -2730


def test_acu_sequence_wraps_after_255():
    a, u = _acu()
    a.seq = 255
    a.set_pitch(0)
    assert a.seq == 0 and u.tx[-1] == _frame(0x01, 0, [0, 0])


def test_acu_the_acknowledgement_read_next_cycle_sets_ok_and_the_applied_angle():
    a, u = _acu()
    assert a.set_pitch(-1000) == NOT_READY
    u.rx += _ack(1, -1000)
    assert a.set_pitch(-1000) == OK
    assert (a.applied, a.acks, a.missed, a._pending) == (-1000, 1, 0, True)
    assert a._rx.n == 0 and drain_events() == []
    assert a.poll() == NOT_READY and a.missed == 1


def test_acu_an_applied_angle_other_than_the_set_point_posts_limited_once():
    a, u = _acu()
    a.set_pitch(3000)
    u.rx += _ack(1, 2730)
    a.set_pitch(3000)
    assert a.applied == 2730 and drain_events() == [(acu.EV_ACU_LIMITED, 2730)]
    u.rx += _ack(2, 2730)
    a.set_pitch(3000)
    assert drain_events() == []
    u.rx += _ack(3, 3000)
    a.set_pitch(3000)
    u.rx += _ack(4, 2730)
    a.poll()
    assert drain_events() == [(acu.EV_ACU_LIMITED, 2730)]


def test_acu_an_acknowledgement_of_another_sequence_is_not_taken():
    a, u = _acu()
    a.set_pitch(100)
    u.rx += _ack(0, 100)
    assert a.poll() == NOT_READY and a.acks == 0 and a.missed == 1


@pytest.mark.parametrize("seq,status", [(0x37, 3), (0x81, 5), (0x03, 0x5A)])
def test_acu_no_single_octet_corruption_of_an_acknowledgement_is_taken(seq, status):
    # the check octet makes the frame sum to 0 mod 256: any one octet changed
    # breaks it (the fast path of a lone acknowledgement included)
    good = _frame(0x81, seq, [status, 0x34, 0x12])
    for pos in range(8):
        for v in range(256):
            if v == good[pos]:
                continue
            a, u = _acu()
            a.seq = seq - 1
            a.set_pitch(0x1234)
            f = bytearray(good)
            f[pos] = v
            u.rx += f
            a.poll()
            assert a.acks == 0 and a.applied == 0, (pos, v)
    a, u = _acu()
    a.seq = seq - 1
    a.set_pitch(0x1234)
    u.rx += good
    assert a.poll() == OK and a.applied == 0x1234


def test_acu_an_older_acknowledgement_is_not_taken_when_the_sequence_is_3():
    a, u = _acu()
    a.seq = 2
    a.set_pitch(100)
    u.rx += _ack(2, 100)
    assert a.poll() == NOT_READY and a.acks == 0


def test_acu_an_acknowledgement_followed_by_a_nak_in_one_read_counts_both():
    a, u = _acu()
    a.set_pitch(100)
    u.rx += _ack(1, 100) + _frame(0x7F, 1, [1])
    assert a.poll() == OK and (a.acks, a.naks) == (1, 1)


def test_acu_acks_naks_and_errors_are_tallied():
    a, u = _acu()
    bad = bytearray(_frame(0x7F, 9, [1]))
    bad[4] ^= 1
    for k in (1, 2):
        a.set_pitch(10)
        u.rx += _ack(a.seq, 10) + _frame(0x7F, 1, [2]) + bytes(bad) + bytes(bad)
        a.poll()
        assert (a.acks, a.naks, a.errors) == (k, k, 2 * k)
    u.read_fail = True
    a.poll()
    a.poll()
    assert a.errors == 6
    u.read_fail = False
    u.write_fail = True
    a.set_pitch(0)
    a.set_pitch(0)
    assert a.errors == 8


def test_acu_an_acknowledgement_after_a_bad_frame_is_found_in_the_same_read():
    a, u = _acu()
    a.set_pitch(300)                                  # seq 1
    # A5 then the ack: the first A5 reads as a frame of length 1 (the ack's
    # seq) with a bad check; the parser moves on by one octet and finds the ack
    u.rx += b"\xA5" + _ack(1, 300)
    assert a.poll() == OK and a.applied == 300 and a.errors == 1


def test_acu_a_bad_frame_after_other_octets_does_not_restart_the_scan():
    a, u = _acu()
    a.set_pitch(300)
    bad = bytearray(_frame(0x7F, 1, [1]))
    bad[4] ^= 1
    u.rx += b"\x00" + bytes(bad) + _ack(1, 300)
    assert a.poll() == OK and a.errors == 1


def test_acu_a_positive_odd_angle_acknowledged_behind_other_octets():
    a, u = _acu()
    a.set_pitch(301)
    u.rx += b"\x00" + _ack(1, 301)
    assert a.poll() == OK and a.applied == 301 and drain_events() == []


def test_acu_limited_behind_other_octets_posts_once_per_run():
    a, u = _acu()
    for k, applied in enumerate([2730, 2730, 3000, 2729]):
        a.set_pitch(3000)
        u.rx += b"\x00" + _ack(k + 1, applied)
        a.poll()
        assert a.applied == applied
        ev = drain_events()
        assert ev == ([(acu.EV_ACU_LIMITED, applied)] if k in (0, 3) else []), k


def test_acu_a_partial_frame_of_length_8_is_kept_whole():
    a, u = _acu()
    u.rx += bytes([0xA5, 0x7F, 0x01, 0x08, 1, 2, 3, 4])
    a.poll()
    assert a._rx.n == 8


def test_acu_back_after_exactly_five_misses():
    a, u = _acu()
    a.set_pitch(0)
    for _ in range(5):
        a.set_pitch(0)
    drain_events()
    u.rx += _ack(a.seq, 0)
    a.set_pitch(0)
    assert drain_events() == [(acu.EV_ACU_BACK, 5)]


def test_acu_reads_a_single_octet_when_one_is_free():
    a, u = _acu()
    a._rx.n = 47
    a.poll()
    assert u.asks == [1]


def test_acu_an_acknowledgement_with_a_wrong_check_is_an_error():
    a, u = _acu()
    a.set_pitch(100)
    f = bytearray(_ack(1, 100))
    f[7] ^= 1
    u.rx += f
    assert a.poll() == NOT_READY and (a.acks, a.errors) == (0, 1)


def test_acu_a_lone_acknowledgement_with_any_other_check_octet_is_not_taken():
    # set_pitch(100) sends A5 01 01 02 64 00 98 (-(1 + 1 + 2 + 0x64) = 0x98);
    # its acknowledgement A5 81 01 03 00 64 00 chk sums 0x81 + 1 + 3 + 0x64 =
    # 0xE9 from cmd, so chk = 0x17; each of the 255 other check octets is a
    # bad frame (0x00 and 0xFF included), alone in the window
    for v in range(256):
        a, u = _acu()
        a.set_pitch(100)
        assert u.tx[0][6] == 0x98
        u.rx += bytes([0xA5, 0x81, 0x01, 0x03, 0x00, 0x64, 0x00, v])
        st_ = a.poll()
        if v == 0x17:
            assert (st_, a.acks, a.errors, a.applied) == (OK, 1, 0, 100)
        else:
            assert (st_, a.acks, a.errors, a.applied) == (NOT_READY, 0, 1, 0), v


def test_acu_a_lone_acknowledgement_with_another_high_octet_is_not_taken_when_the_check_equals_it():
    # set_pitch(123) = 0x007B, seq 1: the acknowledgement A5 81 01 03 00 7B 00
    # sums 0x81 + 1 + 3 + 0x7B = 0x100 from cmd, so its check octet is 00,
    # the high octet sent; with the high octet 01 instead it sums 0x101: bad
    a, u = _acu()
    a.set_pitch(123)
    u.rx += bytes([0xA5, 0x81, 0x01, 0x03, 0x00, 0x7B, 0x01, 0x00])
    assert a.poll() == NOT_READY and (a.acks, a.errors, a.applied) == (0, 1, 0)


@pytest.mark.parametrize("i,v", [(0, 0xA4), (1, 0x82), (3, 4)])
def test_acu_a_frame_not_the_ack_of_set_is_not_taken(i, v):
    a, u = _acu()
    a.set_pitch(100)
    f = bytearray(_ack(1, 100))
    f[i] = v
    if i:
        f[-1] = (-sum(f[1:-1])) & 0xFF
    u.rx += f
    a.poll()
    assert a.acks == 0


def test_acu_after_garbage_and_behind_another_frame_the_ack_is_found():
    a, u = _acu()
    a.set_pitch(-300)
    u.rx += b"\x00\xA5\x13" + _frame(0x82, 0, [0, 0, 0]) + _ack(1, -300)
    assert a.poll() == OK and a.applied == -300 and a._rx.n == 0


def test_acu_a_nak_is_counted_and_posted_with_its_reason():
    a, u = _acu()
    a.set_pitch(5)
    u.rx += _frame(0x7F, 1, [3])
    assert a.poll() == NOT_READY and a.naks == 1
    assert drain_events() == [(acu.EV_ACU_NAK, 3)]
    u.rx += _frame(0x7F, 1, [3, 0])                   # a NAK is one octet long
    a.poll()
    assert a.naks == 1


def test_acu_a_length_beyond_8_is_skipped_as_noise():
    a, u = _acu()
    a.set_pitch(7)
    u.rx += bytes([0xA5, 0x81, 0x01, 0x09]) + _ack(1, 7)
    assert a.poll() == OK


def test_acu_a_frame_of_length_8_is_parsed():
    a, u = _acu()
    a.set_pitch(7)
    u.rx += _frame(0x7F, 1, [2] + [0] * 7) + _ack(1, 7)
    assert a.poll() == OK and a.errors == 0


def test_acu_a_partial_frame_waits_for_the_rest():
    a, u = _acu()
    a.set_pitch(7)
    f = _ack(1, 7)
    u.rx += b"\x00" + f[:5]
    assert a.poll() == NOT_READY and a._rx.n == 5 and bytes(a._rx.buf[:5]) == f[:5]
    u.rx += f[5:]
    assert a.poll() == OK and a._rx.n == 0


def test_acu_four_octets_of_a_frame_header_are_enough_to_look_at():
    a, u = _acu()
    a.set_pitch(7)
    u.rx += bytes([0x00, 0x00, 0xA5, 0x81, 0x01, 0x09])   # a header at 2 with a bad length
    a.poll()
    assert a._rx.n == 3                               # 3 octets cannot hold a header


def test_acu_reads_at_most_32_octets_and_never_past_its_48():
    a, u = _acu()
    u.rx += bytes(100)
    a.poll()
    assert u.asks == [32] and a._rx.n == 3           # noise consumed but the last 3
    a._rx.n = 20
    a.poll()
    assert u.asks[-1] == 28
    a._rx.n = 48
    a.poll()
    assert len(u.asks) == 2                          # a full window reads nothing


def test_acu_a_uart_read_error_is_counted():
    a, u = _acu()
    u.read_fail = True
    a.poll()
    assert a.errors == 1


def test_acu_a_uart_write_error_is_counted_and_nothing_is_pending():
    a, u = _acu()
    u.write_fail = True
    a.set_pitch(100)
    assert (a.errors, a._pending, a.setpoint, a.seq) == (1, False, 100, 1)
    a.poll()
    assert a.missed == 0


def test_acu_a_uart_write_error_after_an_acknowledgement_leaves_nothing_pending():
    # the ack of set-point 100 (seq 1) is read, then the next set-point's
    # write fails: nothing sent is unacknowledged, so a quiet poll misses none
    a, u = _acu()
    a.set_pitch(100)
    u.rx += _ack(1, 100)
    u.write_fail = True
    assert a.set_pitch(200) == OK
    assert (a.errors, a._pending, a.acks, a.seq) == (1, False, 1, 2)
    u.write_fail = False
    assert a.poll() == OK and a.missed == 0


def test_acu_missing_acknowledgements_go_invalid_at_five_and_back_posts_the_run():
    a, u = _acu()
    a.set_pitch(0)
    st = [a.set_pitch(0) for _ in range(5)]
    assert st == [NOT_READY] * 4 + [INVALID] and a.missed == 5
    assert drain_events() == [(acu.EV_ACU_NO_ACK, 5)]
    a.set_pitch(0)
    assert a.missed == 6 and drain_events() == []
    u.rx += _ack(a.seq, 0)
    assert a.set_pitch(0) == OK
    assert drain_events() == [(acu.EV_ACU_BACK, 6)] and a.missed == 0


def test_acu_an_ack_after_four_misses_posts_no_back_event():
    a, u = _acu()
    a.set_pitch(0)
    for _ in range(4):
        a.set_pitch(0)
    u.rx += _ack(a.seq, 0)
    a.set_pitch(0)
    assert drain_events() == []


def test_acu_nothing_pending_nothing_missed():
    a, u = _acu()
    for _ in range(6):
        assert a.poll() == NOT_READY
    assert a.missed == 0


# ================================================================= regbus
class _Bus:
    def __init__(self, fail=False):
        self.log = []
        self.fail = fail

    def readfrom_mem_into(self, addr, reg, rx):
        self.log.append(("rmi", addr, reg, len(rx)))
        rx[0] = 0x42

    def writeto_mem(self, addr, reg, buf):
        self.log.append(("wm", addr, reg, bytes(buf)))

    def write_readinto(self, tx, rx):
        self.log.append(("wri", bytes(tx)))
        if self.fail:
            raise OSError(5)
        rx[1] = 0x42

    def write(self, buf):
        self.log.append(("w", bytes(buf)))
        if self.fail:
            raise OSError(5)


class _Cs:
    def __init__(self, log):
        self.log = log

    def value(self, v):
        self.log.append(("cs", v))


def test_regbus_i2c_read_is_one_memory_read():
    b = _Bus()
    rx = bytearray(3)
    read_regs(b, 0x6A, None, 0x22, bytearray(4), rx)
    assert b.log == [("rmi", 0x6A, 0x22, 3)] and rx[0] == 0x42


def test_regbus_spi_read_sets_the_read_bit_inside_chip_select():
    b = _Bus()
    tx, rx = bytearray(4), bytearray(4)
    read_regs(b, 0x6A, _Cs(b.log), 0x22, tx, rx)
    assert b.log == [("cs", 0), ("wri", bytes([0xA2, 0, 0, 0])), ("cs", 1)] and rx[1] == 0x42


def test_regbus_spi_read_releases_chip_select_on_a_bus_error():
    b = _Bus(fail=True)
    with pytest.raises(OSError):
        read_regs(b, 0x6A, _Cs(b.log), 0x22, bytearray(2), bytearray(2))
    assert b.log[-1] == ("cs", 1)


def test_regbus_i2c_write_is_one_memory_write_of_the_value():
    b = _Bus()
    w1, w2 = bytearray(1), bytearray(2)
    write_reg(b, 0x6A, None, 0x12, 0x44, w1, w2)
    assert b.log == [("wm", 0x6A, 0x12, b"\x44")] and w2 == b"\x00\x00"


def test_regbus_spi_write_clears_the_read_bit_inside_chip_select():
    b = _Bus()
    w1, w2 = bytearray(1), bytearray(2)
    write_reg(b, 0x6A, _Cs(b.log), 0x92, 0x44, w1, w2)
    assert b.log == [("cs", 0), ("w", bytes([0x12, 0x44])), ("cs", 1)] and w1 == b"\x00"


def test_regbus_spi_write_releases_chip_select_on_a_bus_error():
    b = _Bus(fail=True)
    with pytest.raises(OSError):
        write_reg(b, 0x6A, _Cs(b.log), 0x12, 1, bytearray(1), bytearray(2))
    assert b.log[-1] == ("cs", 1)


# --- the ACU's fast path (one acknowledgement alone) and its parser agree ----------
from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=600, deadline=None)
@given(st.lists(st.integers(-12000, 12000), max_size=3), st.sampled_from([0, 0, 0, 1, 255]),
       st.one_of(st.sampled_from([0, 0, 0, 1, -1, 256]), st.integers(-70000, 70000)),
       st.integers(0, 255), st.one_of(st.sampled_from([0, 0, 0, 3]), st.integers(0, 255)),
       st.sampled_from([0x81, 0x81, 0x82, 0x7F]), st.sampled_from([3, 3, 3, 1, 4]),
       st.one_of(st.none(), st.integers(-12000, 12000)), st.booleans())
def test_acu_an_acknowledgement_alone_and_behind_a_stray_octet_end_alike(sent, dseq, dapplied, status,
                                                                         dchk, cmd, ln, angle, forge):
    # alone (8 octets), an acknowledgement of the last set-point as sent takes
    # set_pitch's fast path; behind one stray octet, the general parser: the
    # same state, events and next frame either way, for acknowledgements as
    # sent and off by a seq, a set-point, a check, a command or a length
    seen = []
    for stray in (b"", b"\x00"):
        drain_events()
        a, u = _acu()
        for p in sent:
            a.set_pitch(p)
        f = bytearray(_frame(cmd, (a.seq + dseq) & 0xFF, [status, 0, 0]))
        v = (a.setpoint + dapplied) & 0xFFFF
        f[3], f[5], f[6] = ln, v & 0xFF, v >> 8
        f[7] = ((-sum(f[1:7])) + dchk) & 0xFF
        if forge:                    # the check octet the fast path expects, whatever the rest
            f[7] = (a._tx[6] - 0x81 - status) & 0xFF
        u.rx += stray + f
        st_ = a.set_pitch(angle)
        seen.append((st_, a.applied, a.acks, a.naks, a.missed, a.errors, a.status, a._limited,
                     a._pending, a.seq, a.setpoint, a._rx.n, u.tx[len(sent):], drain_events()))
    assert seen[0] == seen[1]


def test_acu_an_acknowledgement_as_sent_with_a_status_and_a_check_off_by_twice_it_is_an_error():
    # A5 81 01 03 05 E8 03 chk: the sum from 81 (0x175) must be 0 mod 256, so chk = 0x8B;
    # 0x8B + 10 (twice the status octet) is a bad frame, not an acknowledgement
    a, u = _acu()
    a.set_pitch(1000)
    f = bytearray(_ack(1, 1000, status=5))
    assert f[7] == 0x8B
    f[7] = (f[7] + 10) & 0xFF
    u.rx += f
    a.set_pitch(1000)
    assert (a.acks, a.errors, a.missed, a.status) == (0, 1, 1, NOT_READY)
