"""The board side of hardware-in-the-loop (firmware/lander/hil.py) pinned on
frames written octet by octet: the frame layout and its CRC (binascii's
CRC-16/CCITT-FALSE as the independent reference), the receiver's sync hunt,
CRC drop and counters, the little-endian words, the register mirror (I2C
snapshots in their read order, UART bytes, pin levels, ADC values), the
one-exchange RPC for a read the mirror lacks, the machine classes' output
records, and the serve loop's start, cycle, resend and quit. In the fw-hil
mutation group (docs/mutation.md)."""
import binascii
import json

import pytest

from lander import compat
from lander import hil as H


def _crc(data):
    return binascii.crc_hqx(bytes(data), 0xFFFF)


def _frame_by_hand(typ, seq, payload):
    body = bytes((typ, seq & 0xFF, seq >> 8, len(payload) & 0xFF, len(payload) >> 8)) + bytes(payload)
    c = _crc(body)
    return b"\xa5\x5a" + body + bytes((c & 0xFF, c >> 8))


class _Stream:
    """A byte stream: reads from `data`, LinkTimeout when it runs out."""

    def __init__(self, data=b""):
        self.data = bytearray(data)
        self.out = bytearray()

    def read(self, n):
        if len(self.data) < n:
            raise H.LinkTimeout(110)
        got = bytes(self.data[:n])
        del self.data[:n]
        return got

    def write(self, b):
        self.out.extend(b)


def _frames(raw):
    """Split written bytes into (type, seq, payload) by the layout, by hand."""
    out = []
    p = 0
    while p < len(raw):
        assert raw[p:p + 2] == b"\xa5\x5a"
        n = raw[p + 5] | (raw[p + 6] << 8)
        body = raw[p + 2:p + 7 + n]
        assert _crc(body) == raw[p + 7 + n] | (raw[p + 8 + n] << 8)
        out.append((raw[p + 2], raw[p + 3] | (raw[p + 4] << 8), bytes(raw[p + 7:p + 7 + n])))
        p += 9 + n
    return out


# ------------------------------------------------------------ framing

@pytest.mark.parametrize("data", [b"", b"\x00", b"\xff", b"123456789", bytes(range(256))])
def test_crc16_is_ccitt_false_over_the_range_given(data):
    assert H.crc16(data) == _crc(data)
    assert H.crc16(b"xx" + data + b"yy", 2, 2 + len(data)) == _crc(data)


def test_crc16_chains_from_the_value_given():
    assert H.crc16(b"6789", crc=H.crc16(b"12345")) == 0x29B1
    assert H.crc16(b"", crc=0x1234) == 0x1234


@pytest.mark.parametrize("typ,seq,payload", [(0x53, 0, b""), (0x43, 0x1234, b"\x01\x02\x03"),
                                             (0x48, 0xFFFF, bytes(range(200)) * 2)])
def test_a_frame_is_sync_type_seq_length_payload_crc_little_endian(typ, seq, payload):
    assert bytes(H.frame(typ, seq, payload)) == _frame_by_hand(typ, seq, payload)


def test_recv_hunts_past_noise_and_a_lone_sync_octet_even_just_before_the_frame():
    s = _Stream(b"\x00\xa5\x00\x5a\xa5" + _frame_by_hand(0x53, 0x0102, b"abc"))
    link = H.Link(s.read, s.write)
    assert link.recv() == (0x53, 0x0102, b"abc")
    assert (link.frames_in, link.crc_errors) == (1, 0)


@pytest.mark.parametrize("where", [2, 3, 4, 7, 8, 9, 10])
def test_a_frame_with_any_octet_corrupted_is_dropped_counted_and_the_next_read(where):
    bad = bytearray(_frame_by_hand(0x53, 5, b"\x10\x20"))
    bad[where] ^= 0x01
    s = _Stream(bytes(bad) + _frame_by_hand(0x53, 6, b"\x30"))
    link = H.Link(s.read, s.write)
    assert link.recv() == (0x53, 6, b"\x30")
    assert (link.crc_errors, link.frames_in) == (1, 1)


def test_recv_of_a_stream_that_ends_raises_the_link_timeout():
    s = _Stream(_frame_by_hand(0x53, 1, b"abcd")[:-1])
    with pytest.raises(H.LinkTimeout):
        H.Link(s.read, s.write).recv()
    assert issubclass(H.LinkTimeout, OSError)


def test_send_writes_one_frame_and_counts_it():
    s = _Stream()
    link = H.Link(s.read, s.write)
    link.send(0x50, 9, b"\x0b")
    assert bytes(s.out) == _frame_by_hand(0x50, 9, b"\x0b") and link.frames_out == 1


@pytest.mark.parametrize("v", [0, 1, -1, 0x7FFF, 0x8000, -0x8000, 0x12345678 >> 2, -(1 << 30) + 1,
                               (1 << 30) - 1])
def test_words_go_out_little_endian_twos_complement_and_come_back(v):
    out = bytearray()
    H.put_u32(out, v)
    assert bytes(out) == (v & 0xFFFFFFFF).to_bytes(4, "little")
    assert H.i32(b"\x00" + bytes(out), 1) == v and H.u32 is H.i32


def test_u16_is_little_endian():
    assert H.u16(b"\x00\x34\x12", 1) == 0x1234


# ------------------------------------------------------------ the mirror

def _i2c_section(bus, addr, reg, data, words=0, status=0):
    return bytes((H.MI_I2C, bus, addr, reg, len(data), words, status)) + bytes(data)


def _node(script=b""):
    s = _Stream(script)
    return H.Node(H.Link(s.read, s.write)), s


def test_the_mirror_serves_each_device_its_reads_in_order_and_drops_those_skipped():
    node, _ = _node()
    node.load(b"xxxx" + _i2c_section(0, 0x6A, 0x22, b"\x01\x02") + _i2c_section(0, 0x6A, 0x0F, b"\x6c")
              + _i2c_section(1, 0x6A, 0x22, b"\x05\x06"), 4)
    node.cycle_mode = True
    buf = bytearray(1)
    node.i2c_read(0, 0x6A, 0x0F, buf, 0)          # the second snapshot: the first is dropped
    assert buf == b"\x6c" and node.misses == 0
    assert node.i2c[(0 << 8) | 0x6A] == []
    buf2 = bytearray(2)
    node.i2c_read(1, 0x6A, 0x22, buf2, 0)         # another bus, same address: its own list
    assert buf2 == b"\x05\x06"
    assert bytes(node.readlog) == bytes((H.OP_I2C_READLOG, 0, 0x6A, 0x0F, 1, 0,
                                         H.OP_I2C_READLOG, 1, 0x6A, 0x22, 2, 0))


def test_a_word_read_gives_signed_little_endian_values():
    node, _ = _node()
    node.load(_i2c_section(0, 0x18, 0x12, b"\x01\x80\xff\x7f\x00\x00", words=1), 0)
    node.cycle_mode = True
    buf = [0, 0, 0]
    node.i2c_read(0, 0x18, 0x12, buf, 1)
    assert buf == [-0x7FFF, 0x7FFF, 0]


def test_a_read_the_part_refused_raises_its_status():
    node, _ = _node()
    node.load(_i2c_section(0, 0x77, 0x00, b"\x00", status=19), 0)
    node.cycle_mode = True
    with pytest.raises(OSError) as e:
        node.i2c_read(0, 0x77, 0x00, bytearray(1), 0)
    assert e.value.args == (19,)


def test_a_read_the_mirror_lacks_is_one_rpc_exchange_counted_as_a_miss():
    reply = _frame_by_hand(0x52, 1, b"\x00\xab\xcd")
    node, s = _node(_frame_by_hand(0x50, 1, b"") + reply)    # the host's resend first
    node.ops.extend(b"\x09")                                  # an output queued before the read
    node.cycle_mode = True
    buf = bytearray(2)
    node.i2c_read(2, 0x10, 0x33, buf, 0)
    assert buf == b"\xab\xcd" and node.misses == 1 and node.rpc_seq == 1
    req = bytes((0x09, H.OP_I2C_READ, 2, 0x10, 0x33, 2, 0))
    assert _frames(s.out) == [(0x50, 1, req), (0x50, 1, req)]      # sent, then sent again
    assert node.ops == bytearray()


def test_a_read_at_start_up_asks_the_host_without_counting_a_miss():
    node, s = _node(_frame_by_hand(0x52, 1, b"\x00\x42"))
    node.load(_i2c_section(0, 0x6A, 0x0F, b"\x6c"), 0)
    buf = bytearray(1)
    node.i2c_read(0, 0x6A, 0x0F, buf, 0)          # not in cycle mode: the host is asked
    assert buf == b"\x42" and node.misses == 0


def test_a_reply_for_an_older_request_is_skipped():
    node, _ = _node(_frame_by_hand(0x52, 7, b"\x00\x01") + _frame_by_hand(0x52, 1, b"\x00\x02"))
    buf = bytearray(1)
    node.i2c_read(0, 1, 2, buf, 0)
    assert buf == b"\x02"


def test_the_rpc_sequence_wraps_at_16_bits():
    node, s = _node(_frame_by_hand(0x52, 0, b"\x00\x07"))
    node.rpc_seq = 0xFFFF
    assert node.rpc(H.OP_PIN_READ, b"\x05") == b"\x00\x07" and node.rpc_seq == 0


def test_uart_pin_and_adc_sections_fill_their_mirrors():
    node, _ = _node()
    u = H.MirrorUART(node, 1, rxbuf=4)
    node.load(bytes((H.MI_UART, 1, 3, 0)) + b"abc" + bytes((H.MI_UART, 9, 1, 0)) + b"z"
              + bytes((H.MI_PIN, 12, 1)) + bytes((H.MI_ADC, 26, 0x34, 0x12))
              + bytes((H.MI_ADC, 26, 0x01, 0x00)), 0)
    assert u.any() == 3 and node.levels == {12: 1} and node.adc == {26: [0x1234, 1]}
    node.cycle_mode = True
    assert node.adc_read(26) == 0x1234 and node.adc_read(26) == 1 and node.misses == 0
    assert bytes(node.readlog) == bytes((H.OP_ADC_LOG, 26, H.OP_ADC_LOG, 26))


def test_an_adc_read_the_mirror_lacks_is_asked_and_counted():
    node, _ = _node(_frame_by_hand(0x52, 1, b"\x10\x27"))
    node.cycle_mode = True
    assert node.adc_read(4) == 10000 and node.misses == 1


def test_a_pin_level_comes_from_the_mirror_or_is_asked_once_and_kept():
    node, s = _node(_frame_by_hand(0x52, 1, b"\x00"))
    node.levels = {3: 1}
    node.cycle_mode = True
    assert node.pin_level(3) == 1 and s.out == bytearray()
    assert node.pin_level(4) == 0 and node.levels[4] == 0
    assert _frames(s.out) == [(0x50, 1, bytes((H.OP_PIN_READ, 4)))]


def test_each_load_forgets_the_last_cycles_i2c_and_adc_snapshots():
    node, _ = _node()
    node.load(_i2c_section(0, 1, 2, b"\x03") + bytes((H.MI_ADC, 5, 1, 0)), 0)
    node.load(b"", 0)
    assert node.i2c == {} and node.adc == {}


def test_an_unknown_mirror_section_is_refused_naming_it():
    node, _ = _node()
    with pytest.raises(ValueError, match="^hil: mirror section 153$"):
        node.load(b"\x99", 0)


def test_the_uart_mirror_keeps_the_newest_octets_when_its_buffer_overflows():
    node, _ = _node()
    u = H.MirrorUART(node, 0, rxbuf=4)
    u.feed(b"..abcdef", 2, 6)
    assert u.any() == 4 and u.read() == b"cdef" and u.read() is None


def test_the_uart_mirror_reads_into_a_buffer_at_most_what_it_holds():
    node, _ = _node()
    u = H.MirrorUART(node, 0)
    u.feed(b"hello", 0, 5)
    buf = bytearray(3)
    assert u.readinto(buf) == 3 and buf == b"hel"
    assert u.readinto(bytearray(8), 1) == 1 and u.read(5) == b"o" and u.readinto(buf) is None
    u.feed(b"xyz", 0, 3)
    assert u.read(2) == b"xy" and u.read(None) == b"z"


def test_a_uart_write_is_queued_with_its_length():
    node, _ = _node()
    u = H.MirrorUART(node, 2)
    assert u.write(b"\x01" * 300) == 300
    assert bytes(node.ops) == bytes((H.OP_UART_WRITE, 2, 300 & 0xFF, 1)) + b"\x01" * 300


def test_an_i2c_write_is_queued_and_drops_that_devices_snapshot():
    node, _ = _node()
    node.load(_i2c_section(0, 0x6A, 0x22, b"\x01") + _i2c_section(0, 0x6B, 0x22, b"\x02"), 0)
    bus = H.MirrorI2C(node, 0)
    bus.writeto_mem(0x6A, 0x10, b"\x4c")
    assert bytes(node.ops) == bytes((H.OP_I2C_WRITE, 0, 0x6A, 0x10, 1, 0x4c))
    assert node.i2c[0x6A] == [] and len(node.i2c[0x6B]) == 1
    assert bus.scan() == []


def test_the_i2c_mirror_reads_bytes_or_words_by_the_buffer_given():
    node, _ = _node()
    node.load(_i2c_section(0, 0x6A, 0x0F, b"\x6c") + _i2c_section(0, 0x6A, 0x28, b"\x02\x01", words=1), 0)
    node.cycle_mode = True
    bus = H.MirrorI2C(node, 0)
    assert bus.readfrom_mem(0x6A, 0x0F, 1) == b"\x6c"
    words = [0]
    bus.readfrom_mem_into(0x6A, 0x28, words)
    assert words == [0x0102]


# ------------------------------------------------------------ machine classes

def test_pin_pwm_and_wdt_queue_their_outputs_in_order():
    node, _ = _node()
    Pin, PWM, ADC, WDT = H._mirror_classes(node)
    p = Pin(5, Pin.OUT, value=1)
    p.value(0)
    p.on()
    p.off()
    q = Pin(6, Pin.IN, Pin.PULL_UP)
    pwm = PWM(p, freq=50, duty_ns=1500000)
    pwm.freq(60)
    pwm.duty_ns(1000000)
    w = WDT(timeout=800)
    w.feed()
    expect = bytes((H.OP_PIN_INIT, 5, 2, 0, 2, H.OP_PIN_SET, 5, 0, H.OP_PIN_SET, 5, 1, H.OP_PIN_SET, 5, 0,
                    H.OP_PIN_INIT, 6, 1, 2, 0, H.OP_PWM_INIT, 5)) + (50).to_bytes(4, "little") \
        + (1500001).to_bytes(4, "little") + bytes((H.OP_PWM_FREQ, 5)) + (60).to_bytes(4, "little") \
        + bytes((H.OP_PWM_DUTY, 5)) + (1000000).to_bytes(4, "little") + bytes((H.OP_WDT_INIT,)) \
        + (800).to_bytes(4, "little") + bytes((H.OP_WDT_FEED,))
    assert bytes(node.ops) == expect
    assert p.value() == 0 and pwm.freq() == 60 and pwm.duty_ns() == 1000000 and q.id == 6


def test_a_pwm_without_a_frequency_or_duty_is_recorded_as_none():
    node, _ = _node()
    Pin, PWM, _, _ = H._mirror_classes(node)
    pwm = PWM(Pin(2))
    assert bytes(node.ops[-9:]) == bytes((2,)) + bytes(8) and pwm.freq() == 1000 and pwm.duty_ns() == 0


def test_the_pwm_mirror_sets_the_duty_in_ns_only():
    # the drivers write duty_ns (engine.py); duty_u16's conversion would form
    # 2^16 * 10^9 / freq, beyond the 32-bit small ints
    node, _ = _node()
    Pin, PWM, _, _ = H._mirror_classes(node)
    assert not hasattr(PWM(Pin(2)), "duty_u16")


def test_an_input_pin_reads_the_mirror_and_a_new_pin_forgets_its_level():
    node, _ = _node()
    Pin, _, ADC, _ = H._mirror_classes(node)
    node.levels = {7: 1}
    node.cycle_mode = True
    p = Pin(8, Pin.IN)
    node.levels[8] = 1
    assert p.value() == 1
    Pin(7, Pin.IN)
    assert 7 not in node.levels
    node.adc = {26: [999]}
    assert ADC(Pin(26)).read_u16() == 999 and ADC(26).id == 26


# ------------------------------------------------------------ serve

class _Nav:
    altitude_mm = 123456
    vz_mm_s = -2000
    vx_mm_s = 15
    fault_flags = 4


class _App:
    def __init__(self):
        self.nav = _Nav()
        self.guid = type("G", (), {"phase": 3})()
        self.cycle = 0
        self.stage_faults = 0
        self.stepped = []

    def step(self, now):
        self.stepped.append(now)
        self.cycle += 1


def test_state_words_are_the_display_fields_and_the_miss_count():
    node, _ = _node()
    node.misses = 2
    a = _App()
    a.cycle = 9
    words = H._state_words(a, node)
    assert words[0] == H.OP_STATE
    assert [H.i32(words, 1 + 4 * i) for i in range(8)] == [123456, -2000, 15, 3, 4, 9, 0, 2]


def test_state_words_of_a_missing_stage_are_zero():
    node, _ = _node()
    words = H._state_words(object(), node)
    assert [H.i32(words, 1 + 4 * i) for i in range(8)] == [0] * 8


def test_serve_starts_steps_resends_a_lost_reply_echoes_and_quits(monkeypatch):
    apps = _serve_rig(monkeypatch)
    boards = []

    def make_board(node, rate_hz):
        b = type("B", (), {})()
        b.failed = [("baro", "no ACK")]
        boards.append(rate_hz)
        node.ops.extend(b"\x77")            # an output made at start-up
        return b

    clock = []
    start = json.dumps({"config": {"rate_hz": 40}, "rate_hz": 40, "now_us": 5,
                        "handover": [1, 2, 3, 4]}).encode()
    script = (_frame_by_hand(0x48, 1, start) + _frame_by_hand(0x53, 2, (20000).to_bytes(4, "little"))
              + _frame_by_hand(0x53, 2, (20000).to_bytes(4, "little"))
              + _frame_by_hand(0x45, 3, b"ping") + _frame_by_hand(0x53, 4, (40000).to_bytes(4, "little"))
              + _frame_by_hand(0x51, 5, b""))
    s = _Stream(script)
    hooks = list(compat._sleep_hooks)
    assert H.serve(H.Link(s.read, s.write), make_board, clock.append) == 2
    a = apps[0]
    assert boards == [40] and a.cfg.rate_hz == 40 and a.handed == (1, 2, 3, 4)
    assert a.stepped == [20000, 40000] and clock == [5, 20000, 40000]
    out = _frames(s.out)
    assert [(t, q) for t, q, _ in out] == [(0x42, 1), (0x43, 2), (0x43, 2), (0x65, 3), (0x43, 4), (0x71, 5)]
    boot = out[0][2]
    assert boot[0] == 0x77 and boot[1] == H.OP_STATE and boot[1 + 33] == 0xFF
    assert json.loads(boot[35:]) == ["baro"]
    assert out[1] == out[2]                 # the kept reply, not a second step
    assert out[3][2] == b"ping" and out[5][2] == b""
    assert out[1][2][0] == H.OP_STATE and H.i32(out[1][2], 1 + 20) == 1    # app.cycle after one step
    assert H.i32(out[4][2], 1 + 20) == 2
    assert compat._sleep_hooks == hooks     # the sleep hook is taken off again


def test_a_cycle_frame_before_the_start_is_ignored():
    script = _frame_by_hand(0x53, 1, bytes(4)) + _frame_by_hand(0x51, 2, b"")
    s = _Stream(script)
    assert H.serve(H.Link(s.read, s.write), lambda n, r: None) == 0
    assert [(t, q) for t, q, _ in _frames(s.out)] == [(0x71, 2)]


# ------------------------------------------------------------ more edges

def test_the_crc_table_built_afresh_is_the_ccitt_table(monkeypatch):
    # the table is built once and cached: build it again here
    monkeypatch.setattr(H, "_CRC_TABLE", None)
    t = H._crc_table()
    assert list(t) == [binascii.crc_hqx(bytes((i,)), 0) for i in range(256)]
    assert H._crc_table() is t
    monkeypatch.setattr(H, "_CRC_TABLE", None)
    assert H.crc16(b"123456789") == 0x29B1


def test_the_link_counts_every_frame_in_and_out_and_every_bad_one():
    bad = bytearray(_frame_by_hand(0x53, 1, b"x"))
    bad[-1] ^= 0xFF
    s = _Stream(bytes(bad) + bytes(bad) + _frame_by_hand(0x53, 2, b"a") + _frame_by_hand(0x53, 3, b"b"))
    link = H.Link(s.read, s.write)
    assert link.recv()[1] == 2 and link.recv()[1] == 3
    link.send(1, 1, b"")
    link.send(1, 2, b"")
    assert (link.crc_errors, link.frames_in, link.frames_out) == (2, 2, 2)


def test_a_frame_longer_than_255_octets_is_received_whole():
    payload = bytes(i & 0xFF for i in range(700))
    s = _Stream(_frame_by_hand(0x48, 1, payload))
    assert H.Link(s.read, s.write).recv() == (0x48, 1, payload)


def test_the_word_0x8000_is_negative():
    node, _ = _node()
    node.load(_i2c_section(0, 0x18, 0x12, b"\x00\x80\xff\xff", words=1), 0)
    node.cycle_mode = True
    buf = [0, 0]
    node.i2c_read(0, 0x18, 0x12, buf, 1)
    assert buf == [-0x8000, -1]


def test_every_miss_is_counted():
    node, _ = _node(_frame_by_hand(0x52, 1, b"\x00\x01") + _frame_by_hand(0x52, 2, b"\x00\x02")
                    + _frame_by_hand(0x52, 3, b"\x05\x00") + _frame_by_hand(0x52, 4, b"\x06\x00"))
    node.cycle_mode = True
    node.i2c_read(0, 1, 2, bytearray(1), 0)
    node.i2c_read(0, 1, 3, bytearray(1), 0)
    assert node.misses == 2
    assert node.adc_read(1) == 5 and node.adc_read(1) == 6 and node.misses == 4


def test_a_uart_section_after_another_section_feeds_its_own_octets():
    node, _ = _node()
    u = H.MirrorUART(node, 3)
    node.load(b"ab" + bytes((H.MI_PIN, 1, 0)) + bytes((H.MI_UART, 3, 2, 0)) + b"hi", 2)
    assert u.read() == b"hi"


def test_an_i2c_write_on_another_bus_drops_only_that_buses_snapshot():
    node, _ = _node()
    node.load(_i2c_section(1, 0x10, 0x22, b"\x01") + _i2c_section(0, 0x10, 0x22, b"\x02"), 0)
    H.MirrorI2C(node, 1).writeto_mem(0x10, 0x10, b"\x00")
    assert node.i2c[(1 << 8) | 0x10] == [] and len(node.i2c[0x10]) == 1


def test_reading_zero_octets_reads_nothing():
    node, _ = _node()
    u = H.MirrorUART(node, 0)
    u.feed(b"abc", 0, 3)
    assert u.readinto(bytearray(4), 0) is None and u.read(0) == b"" and u.any() == 3


def test_pin_constants_are_the_ports_and_an_output_starts_low_or_as_given():
    node, _ = _node()
    Pin, PWM, _, WDT = H._mirror_classes(node)
    assert (Pin.IN, Pin.OUT, Pin.OPEN_DRAIN, Pin.PULL_UP, Pin.PULL_DOWN) == (0, 1, 2, 1, 2)
    assert Pin(1, Pin.OUT).value() == 0
    assert Pin(2, Pin.OUT, value=0).value() == 0
    assert Pin(3, Pin.OUT, value=5).value() == 1
    assert bytes(node.ops) == bytes((H.OP_PIN_INIT, 1, 2, 0, 0, H.OP_PIN_INIT, 2, 2, 0, 1,
                                     H.OP_PIN_INIT, 3, 2, 0, 2))
    pwm = PWM(Pin(4), freq=50, duty_ns=1500000)
    assert pwm.freq() == 50 and pwm.duty_ns() == 1500000
    node.ops = bytearray()
    WDT()
    assert bytes(node.ops) == bytes((H.OP_WDT_INIT,)) + (5000).to_bytes(4, "little")


def test_state_words_carry_the_stage_fault_count():
    node, _ = _node()
    a = _App()
    a.stage_faults = 5
    assert H.i32(H._state_words(a, node), 1 + 24) == 5


def _serve_rig(monkeypatch, step=None):
    import lander.app
    apps = []

    class App(_App):
        def __init__(self, board, cfg):
            super().__init__()
            self.board = board
            self.cfg = cfg
            apps.append(self)

        def handover(self, *a):
            self.handed = a

        def step(self, now):
            _App.step(self, now)
            if step is not None:
                step(self)

    monkeypatch.setattr(lander.app, "App", App)
    return apps


def test_serve_defaults_the_clock_and_rate_and_hands_the_board_to_the_app(monkeypatch):
    apps = _serve_rig(monkeypatch)
    made = []

    def make_board(node, rate_hz):
        b = type("B", (), {"failed": []})()
        made.append((node, rate_hz, b))
        return b
    clock = []
    s = _Stream(_frame_by_hand(0x48, 1, json.dumps({"config": {}}).encode()) + _frame_by_hand(0x51, 2, b""))
    link = H.Link(s.read, s.write)
    H.serve(link, make_board, clock.append)
    node, rate, board = made[0]
    assert rate == 50 and clock == [0] and apps[0].board is board and node.link is link
    boot = _frames(s.out)[0][2]
    assert H.i32(boot, 1) == 123456            # the app's own state words
    assert link.frames_out == 2


def test_start_up_reads_go_to_the_host_uncounted_and_cycle_reads_to_the_mirror(monkeypatch):
    def step(app):
        app.level = app.board.node.pin_level(12)      # in the cycle frame's mirror
    apps = _serve_rig(monkeypatch, step)

    def make_board(node, rate_hz):
        b = type("B", (), {"failed": []})()
        b.node = node
        b.adc = node.adc_read(7)                      # start-up: asked, not a miss
        return b
    start = _frame_by_hand(0x48, 1, json.dumps({"config": {}}).encode())
    cyc = _frame_by_hand(0x53, 1, (20000).to_bytes(4, "little") + bytes((H.MI_PIN, 12, 1)))
    s = _Stream(start + _frame_by_hand(0x52, 1, b"\x09\x00") + cyc + start
                + _frame_by_hand(0x52, 2, b"\x0a\x00") + cyc + _frame_by_hand(0x51, 9, b""))
    link = H.Link(s.read, s.write)
    assert H.serve(link, make_board) == 2          # the second session's seq 1 is stepped too
    assert [a.board.adc for a in apps] == [9, 10]
    assert [a.level for a in apps] == [1, 1]
    boots = [p for t, _, p in _frames(s.out) if t == 0x42]
    assert [H.i32(b, 1 + 28) for b in boots] == [0, 0]   # no miss at start-up
    assert [a.stepped for a in apps] == [[20000], [20000]]
    assert link.frames_out == 7                      # 2 requests, 2 boots, 2 cycles, the quit


def test_a_wait_at_start_up_is_reported_to_the_host(monkeypatch):
    _serve_rig(monkeypatch)

    def make_board(node, rate_hz):
        compat.sleep_us(5000)
        return type("B", (), {"failed": []})()
    s = _Stream(_frame_by_hand(0x48, 1, json.dumps({"config": {}}).encode()) + _frame_by_hand(0x51, 2, b""))
    H.serve(H.Link(s.read, s.write), make_board)
    boot = _frames(s.out)[0][2]
    assert boot[:5] == bytes((H.OP_SLEEP,)) + (5000).to_bytes(4, "little")


def test_a_uart_mirror_holds_512_octets_unless_told():
    node, _ = _node()
    u = H.MirrorUART(node, 0)
    u.feed(bytes(i & 0xFF for i in range(600)), 0, 600)
    assert u.any() == 512 and u.read(1) == bytes((600 - 512,))
