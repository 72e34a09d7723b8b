"""The telecommand handler pinned field by field: the key file's bounds, the
uplink framing (octet by octet, resynchronisation, the stale timer's exact
cycle), the verifier's header, length and counter arithmetic (u32 counters as
two 16-bit halves), every tag octet compared, the argument decoding of each
opcode (big-endian, the 2^30 clamp of signed arguments), the counters and
events each outcome leaves, and the heap lock handed back to the caller.

Packets are built here from the wire format (struct + the standard library's
HMAC), not by the ground builder, and the App is a recording stand-in: what is
pinned is commands.py's own behaviour."""
import hashlib
import hmac
import struct

import pytest

from lander import commands as cm
from lander.events import events

KEY = bytes(range(0x40, 0x60))          # 32 octets


def _drain():
    out = [0, 0, 0]
    while events.pop_into(out):
        pass


def _posted(fn, *args):
    """Run fn(*args); the (code, arg) events it posted, and its result."""
    _drain()
    r = fn(*args)
    out = [0, 0, 0]
    got = []
    while events.pop_into(out):
        got.append((out[1], out[2]))
    return got, r


def tc(op, args=b"", counter=1, key=KEY, apid=0x050, length=None, first=None):
    """One TC packet from the wire format: primary header, u32 counter,
    opcode + arguments, HMAC-SHA256(key, counter || payload)[:16]."""
    payload = bytes([op]) + bytes(args)
    data = struct.pack(">I", counter) + payload
    data += hmac.new(key, data, hashlib.sha256).digest()[:16]
    w0 = 0x1800 | apid if first is None else first
    w1 = 0xC000 | (counter & 0x3FFF)
    w2 = len(data) - 1 if length is None else length
    return bytearray(struct.pack(">HHH", w0, w1, w2) + data)


class FakeApp:
    """Records each call the handler makes; returns what it is told to."""

    def __init__(self, mode=0, ret=0):
        self.mode = mode
        self.rate_hz = 50
        self.ret = ret
        self.calls = []
        self.beacon_on = False
        self.arm_ok = True
        self.disarm_ok = True
        self.raise_on = None

    def _rec(self, *call):
        self.calls.append(call)
        if self.raise_on == call[0]:
            raise ValueError("contained")
        return self.ret

    def cmd_abort(self):
        return self._rec("abort")

    def cmd_reset(self):
        return self._rec("reset")

    def cmd_engine_off(self):
        return self._rec("engine_off")

    def cmd_reset_imu(self, part):
        return self._rec("reset_imu", part)

    def cmd_set_param(self, pid, value):
        return self._rec("set_param", pid, value)

    def cmd_dump(self, start, count):
        return self._rec("dump", start, count)

    def cmd_divert(self, x_mm):
        return self._rec("divert", x_mm)

    def cmd_sensor(self, part, on):
        return self._rec("sensor", part, on)

    def arm(self):
        self._rec("arm")
        return self.arm_ok

    def disarm(self):
        self._rec("disarm")
        return self.disarm_ok


def _cmd(mode=0, key=KEY, **kw):
    _drain()
    return cm.Commands(FakeApp(mode, **kw), key)


def _send(c, pkt):
    return c.handle(pkt, len(pkt))


class Radio:
    """Delivers `chunks` one per poll (an empty chunk: nothing this cycle)."""

    def __init__(self, chunks):
        self.chunks = [bytes(ch) for ch in chunks]

    def receive(self, buf):
        if not self.chunks:
            return 0
        ch = self.chunks.pop(0)
        buf[:len(ch)] = ch
        return len(ch)


def _poll_all(c, chunks, extra=0):
    r = Radio(chunks)
    for _ in range(len(chunks) + extra):
        c.poll(r)


# ------------------------------------------------------------------ key file
class _File:
    def __init__(self, data):
        self.data = data
        self.closed = False

    def read(self):
        return self.data

    def close(self):
        self.closed = True


def _opener(data, log):
    def op(path, mode):
        log.append((path, mode))
        f = _File(data)
        log.append(f)
        return f
    return op


@pytest.mark.parametrize("n,ok", [(15, False), (16, True), (17, True), (64, True), (65, False)])
def test_a_key_file_of_16_to_64_octets_is_the_key(n, ok):
    log = []
    key = cm.Commands.load_key(_opener(bytearray(range(n)), log), "/k.bin")
    assert log[0] == ("/k.bin", "rb")
    assert log[1].closed
    if ok:
        assert key == bytes(range(n)) and type(key) is bytes
    else:
        assert key is None


def test_a_key_file_that_reads_nothing_or_does_not_open_is_no_key():
    assert cm.Commands.load_key(_opener(None, []), "/k.bin") is None

    def missing(path, mode):
        raise OSError(2)
    assert cm.Commands.load_key(missing) is None


# ----------------------------------------------------------- initial state
def test_a_new_handler_has_counted_nothing_and_confirmed_nothing():
    c = _cmd()
    assert (c.accepted, c.rejected, c.last_reason, c.last_reject_op) == (0, 0, 0, 0)
    assert list(c.rejects) == [0] * cm.N_REASONS
    assert c.confirm_op == -1
    assert list(c.time_sync) == [0, 0, 0, 0]
    assert list(c.dump) == [0, 0, 0]
    assert (c.last_hi, c.last_lo, c.rx_n) == (0, 0, 0)


def test_a_handler_without_a_key_says_so_once_at_start_up_and_one_with_a_key_says_nothing():
    got, _ = _posted(cm.Commands, FakeApp(), None)
    assert got == [(cm.EV_TC_NO_KEY, 0)]
    got, _ = _posted(cm.Commands, FakeApp(), KEY)
    assert got == []


def test_set_counter_keeps_the_low_16_bits_of_each_half():
    c = _cmd()
    c.set_counter(0x12345, 0x6789A)
    assert (c.last_hi, c.last_lo) == (0x2345, 0x789A)
    c.set_counter(0x0001, 0xFFFF)
    assert (c.last_hi, c.last_lo) == (1, 0xFFFF)


# ---------------------------------------------------------------- verifier
def test_an_accepted_counter_is_kept_as_its_two_16_bit_halves():
    c = _cmd()
    assert _send(c, tc(cm.OP_NOOP, counter=0x12345678)) == 0
    assert (c.last_hi, c.last_lo) == (0x1234, 0x5678)


def test_counters_compare_on_their_high_octet_too():
    c = _cmd()
    c.set_counter(0x0100, 0x0000)                  # 0x01000000 spent
    assert _send(c, tc(cm.OP_NOOP, counter=0x00FFFFFF)) == cm.REJ_REPLAY
    assert _send(c, tc(cm.OP_NOOP, counter=0x01000001)) == 0
    assert (c.last_hi, c.last_lo) == (0x0100, 0x0001)
    assert _send(c, tc(cm.OP_NOOP, counter=0x80000000)) == 0
    assert (c.last_hi, c.last_lo) == (0x8000, 0x0000)
    assert _send(c, tc(cm.OP_NOOP, counter=0x7FFFFFFF)) == cm.REJ_REPLAY


@pytest.mark.parametrize("octet", range(16))
def test_every_octet_of_the_tag_is_compared(octet):
    c = _cmd()
    p = tc(cm.OP_NOOP, counter=3)
    p[len(p) - 16 + octet] ^= 0x80
    assert _send(c, p) == cm.REJ_TAG
    assert c.last_lo == 0


def test_a_length_field_with_its_high_octet_set_is_a_length_mismatch():
    c = _cmd()
    p = tc(cm.OP_NOOP, counter=2)                  # 27 octets: length field 20
    p[4] = 0x01                                    # 0x0114: 283 octets announced
    assert _send(c, p) == cm.REJ_LENGTH


def test_a_length_beyond_the_buffer_or_beyond_64_octets_is_long():
    c = _cmd()
    p = tc(cm.OP_NOOP, args=bytes(38), counter=4)  # 65 octets, length field consistent
    assert len(p) == 65
    assert c.verify(p, 65) == cm.REJ_LONG
    short = tc(cm.OP_NOOP, counter=5)              # n beyond the buffer given
    assert c.verify(short[:20], 27) == cm.REJ_LONG
    assert c.last_lo == 0


def test_a_64_octet_packet_is_verified_and_refused_only_for_its_arguments():
    c = _cmd()
    p = tc(cm.OP_PING, args=bytes(37), counter=6)  # 6 + 4 + 1 + 37 + 16
    assert len(p) == 64
    assert _send(c, p) == cm.REJ_ARGS
    assert (c.last_reason, c.last_reject_op, c.last_lo) == (cm.REJ_ARGS, cm.OP_PING, 6)


def test_a_64_octet_packet_on_the_uplink_is_framed_whole():
    c = _cmd()
    _poll_all(c, [tc(cm.OP_PING, args=bytes(37), counter=6)])
    assert (c.rejected, c.last_reason, c.last_reject_op) == (1, cm.REJ_ARGS, cm.OP_PING)


def test_opcode_15_is_the_first_unknown_opcode():
    c = _cmd()
    assert _send(c, tc(0x0F, counter=1)) == cm.REJ_OPCODE
    assert _send(c, tc(cm.OP_PING, counter=2)) == 0


def test_the_accept_event_carries_the_opcode_and_the_low_counter_half():
    c = _cmd()
    got, r = _posted(_send, c, tc(cm.OP_PING, counter=0x00031234))
    assert r == 0
    assert got == [(cm.EV_TC_ACCEPT, (0x0E << 16) | 0x1234)]


def test_each_rejection_is_counted_by_reason_with_its_opcode():
    c = _cmd()
    p = tc(cm.OP_NOOP, counter=3)
    p[-1] ^= 1
    got, _ = _posted(_send, c, p)
    assert got == [(cm.EV_TC_REJECT, (cm.REJ_TAG << 8) | 0xFF)]
    _send(c, p)
    got, _ = _posted(_send, c, tc(cm.OP_BEACON, b"\x02", counter=4))
    assert got == [(cm.EV_TC_REJECT, (cm.REJ_RANGE << 8) | cm.OP_BEACON)]
    assert c.rejected == 3 and c.accepted == 0
    assert c.rejects[cm.REJ_TAG] == 2 and c.rejects[cm.REJ_RANGE] == 1
    assert sum(c.rejects) == 3
    assert (c.last_reason, c.last_reject_op) == (cm.REJ_RANGE, cm.OP_BEACON)


def test_an_action_that_raises_is_refused_as_exec_and_counted():
    c = _cmd()
    c.app.raise_on = "abort"
    assert _send(c, tc(cm.OP_ABORT, counter=1)) == cm.REJ_EXEC
    assert c.rejects[cm.REJ_EXEC] == 1
    assert (c.last_reason, c.last_reject_op) == (cm.REJ_EXEC, cm.OP_ABORT)


class _Heap:
    """MicroPython's lock depth: heap_lock() nests, heap_unlock() returns the
    depth left."""

    def __init__(self, depth):
        self.depth = depth

    def lock(self):
        self.depth += 1

    def unlock(self):
        self.depth -= 1
        return self.depth


@pytest.mark.parametrize("depth", [0, 1])
def test_a_command_runs_with_the_heap_unlocked_and_the_callers_lock_is_restored(monkeypatch, depth):
    heap = _Heap(depth)
    monkeypatch.setattr(cm, "heap_lock", heap.lock)
    monkeypatch.setattr(cm, "heap_unlock", heap.unlock)
    c = _cmd()
    seen = []
    c.app.cmd_abort = lambda: seen.append(heap.depth) or 0
    assert _send(c, tc(cm.OP_ABORT, counter=1)) == 0
    assert seen == [0]
    assert heap.depth == depth


# ----------------------------------------------------------------- framing
def test_a_packet_delivered_one_octet_per_cycle_is_read():
    c = _cmd()
    p = tc(cm.OP_PING, counter=1)
    _poll_all(c, [p[i:i + 1] for i in range(len(p))])
    assert (c.accepted, c.rejected) == (1, 0)


def test_a_first_packet_and_a_back_to_back_second_are_read_without_a_rejection():
    c = _cmd()
    _poll_all(c, [tc(cm.OP_NOOP, counter=1) + tc(cm.OP_PING, counter=2)])
    assert (c.accepted, c.rejected) == (2, 0)


def test_an_octet_that_cannot_start_a_packet_is_skipped_silently():
    c = _cmd()
    _poll_all(c, [b"\x00\x20" + tc(cm.OP_NOOP, counter=1)])
    assert (c.accepted, c.rejected) == (1, 0)


def test_the_three_apid_bits_of_the_first_octet_do_not_stop_the_framing():
    for apid in (0x150, 0x7FF):
        _drain()
        c = cm.Commands(FakeApp(), KEY, apid=apid)
        _poll_all(c, [tc(cm.OP_NOOP, counter=1, apid=apid)])
        assert (c.accepted, c.rejected) == (1, 0), hex(apid)


def test_a_length_field_beyond_64_octets_is_refused_at_the_header_as_long():
    c = _cmd()
    hdr = bytearray(b"\x18\x50\xc0\x01\x00\x3a")       # 6 + 58 + 1 = 65 octets
    got, _ = _posted(_poll_all, c, [hdr])
    assert got == [(cm.EV_TC_REJECT, (cm.REJ_LONG << 8) | 0xFF)]
    assert c.rejects[cm.REJ_LONG] == 1 and c.rejects[cm.REJ_SHORT] == 0
    assert c.last_reject_op == 0xFF


def test_a_length_field_with_its_high_octet_set_is_refused_at_the_header():
    c = _cmd()
    _poll_all(c, [b"\x18\x50\xc0\x01\x01\x14"])         # 0x0114: 283 octets
    assert c.rejects[cm.REJ_LONG] == 1


def test_a_length_field_below_27_octets_is_refused_at_the_header_as_short():
    c = _cmd()
    _poll_all(c, [b"\x18\x50\xc0\x01\x00\x13"])         # 6 + 19 + 1 = 26 octets
    assert c.rejects[cm.REJ_SHORT] == 1 and c.rejects[cm.REJ_LONG] == 0


def _partial_then_silence(silent):
    c = _cmd()
    p = tc(cm.OP_NOOP, counter=1)
    _poll_all(c, [p[:3], p[3:10]] + [b""] * silent)
    return c


def test_a_partial_packet_is_dropped_after_the_51st_silent_cycle_not_the_50th():
    assert _partial_then_silence(50).rejects[cm.REJ_STALE] == 0
    c = _partial_then_silence(51)
    assert c.rejects[cm.REJ_STALE] == 1 and c.rx_n == 0
    assert (c.last_reason, c.last_reject_op) == (cm.REJ_STALE, 0xFF)


def test_a_lone_first_octet_times_out_too():
    c = _cmd()
    _poll_all(c, [b"\x18"] + [b""] * 51)
    assert c.rejects[cm.REJ_STALE] == 1


# ------------------------------------------------------------ confirmation
def _confirmed(op):
    c = _cmd(mode=3)
    assert _send(c, tc(cm.OP_CONFIRM, bytes([op]), counter=1)) == 0
    return c


def test_a_confirmation_is_announced_with_its_opcode():
    c = _cmd(mode=3)
    got, r = _posted(_send, c, tc(cm.OP_CONFIRM, bytes([cm.OP_RESET]), counter=1))
    assert r == 0
    assert got == [(cm.EV_TC_CONFIRM, cm.OP_RESET), (cm.EV_TC_ACCEPT, (cm.OP_CONFIRM << 16) | 1)]


def test_a_confirmation_is_good_for_499_cycles_and_gone_at_the_500th():
    c = _confirmed(cm.OP_ENGINE_OFF)
    idle = Radio([])
    for _ in range(499):
        c.poll(idle)
    assert c.confirm_op == cm.OP_ENGINE_OFF
    assert _send(c, tc(cm.OP_ENGINE_OFF, counter=2)) == 0
    c = _confirmed(cm.OP_ENGINE_OFF)
    for _ in range(500):
        c.poll(idle)
    assert c.confirm_op == -1
    assert _send(c, tc(cm.OP_ENGINE_OFF, counter=2)) == cm.REJ_CONFIRM


def test_a_used_confirmation_leaves_nothing_confirmed_and_the_timer_stopped():
    c = _confirmed(cm.OP_RESET)
    assert _send(c, tc(cm.OP_RESET, counter=2)) == 0
    assert c.confirm_op == -1
    for _ in range(3):
        c.poll(Radio([]))
    assert c.confirm_op == -1
    assert _send(c, tc(cm.OP_CONFIRM, bytes([cm.OP_ABORT]), counter=3)) == cm.REJ_RANGE


# ---------------------------------------------------------------- dispatch
def test_disarm_outside_powered_descent_asks_the_app_to_disarm():
    c = _cmd(mode=2)
    assert _send(c, tc(cm.OP_DISARM, counter=1)) == 0
    c.app.disarm_ok = False
    assert _send(c, tc(cm.OP_DISARM, counter=2)) == cm.REJ_MODE
    assert c.app.calls == [("disarm",), ("disarm",)]


def test_disarm_in_powered_descent_once_confirmed_cuts_the_engine():
    c = _confirmed(cm.OP_DISARM)
    c.app.ret = 0
    assert _send(c, tc(cm.OP_DISARM, counter=2)) == 0
    assert c.app.calls == [("engine_off",)]


def test_engine_off_outside_powered_descent_is_refused_without_a_call():
    c = _cmd(mode=2)
    assert _send(c, tc(cm.OP_ENGINE_OFF, counter=1)) == cm.REJ_MODE
    assert c.app.calls == []


def test_engine_off_in_powered_descent_returns_what_the_app_says():
    c = _confirmed(cm.OP_ENGINE_OFF)
    c.app.ret = cm.REJ_MODE
    assert _send(c, tc(cm.OP_ENGINE_OFF, counter=2)) == cm.REJ_MODE
    assert c.app.calls == [("engine_off",)]


def test_reset_imu_passes_its_part_octet():
    c = _cmd()
    assert _send(c, tc(cm.OP_RESET_IMU, b"\x02", counter=1)) == 0
    assert c.app.calls == [("reset_imu", 2)]


def test_set_param_decodes_a_big_endian_id_and_a_signed_value():
    c = _cmd()
    assert _send(c, tc(cm.OP_SET_PARAM, b"\x01\x02" + struct.pack(">i", -123456), counter=1)) == 0
    assert c.app.calls == [("set_param", 0x0102, -123456)]


def test_dump_decodes_a_30_bit_start_and_a_16_bit_count_and_records_them():
    c = _cmd()
    args = bytes([0x2A, 0x5B, 0x3C, 0x4D, 0x9E, 0x71])
    assert _send(c, tc(cm.OP_DUMP_BLACKBOX, args, counter=1)) == 0
    assert c.app.calls == [("dump", 0x2A5B3C4D, 0x9E71)]
    assert list(c.dump) == [1, 0x2A5B3C4D, 0x9E71]
    assert _send(c, tc(cm.OP_DUMP_BLACKBOX, bytes([0x01, 0, 0, 7, 0, 3]), counter=2)) == 0
    assert list(c.dump) == [2, 0x01000007, 3]


def test_dump_refused_by_the_app_leaves_the_dump_record_alone():
    c = _cmd(ret=cm.REJ_MODE)
    assert _send(c, tc(cm.OP_DUMP_BLACKBOX, bytes([0, 0, 0, 5, 0, 9]), counter=1)) == cm.REJ_MODE
    assert c.app.calls == [("dump", 5, 9)]
    assert list(c.dump) == [0, 0, 0]


@pytest.mark.parametrize("top", [0x40, 0x80, 0xC0])
def test_dump_start_at_or_beyond_2_30_is_out_of_range(top):
    c = _cmd()
    assert _send(c, tc(cm.OP_DUMP_BLACKBOX, bytes([top, 0, 0, 0, 0, 1]), counter=1)) == cm.REJ_RANGE
    assert c.app.calls == []


def test_beacon_takes_0_or_1():
    c = _cmd()
    c.app.beacon_on = True
    assert _send(c, tc(cm.OP_BEACON, b"\x00", counter=1)) == 0 and c.app.beacon_on is False
    assert _send(c, tc(cm.OP_BEACON, b"\x01", counter=2)) == 0 and c.app.beacon_on is True


def test_sensor_passes_part_and_state():
    c = _cmd()
    assert _send(c, tc(cm.OP_SENSOR, b"\x03\x01", counter=1)) == 0
    assert c.app.calls == [("sensor", 3, 1)]


def test_time_sync_keeps_the_three_cuc_halves_and_the_local_time():
    c = _cmd()
    events.now_ms = 123456
    try:
        assert _send(c, tc(cm.OP_TIME_SYNC, bytes([0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC]),
                           counter=1)) == 0
    finally:
        events.now_ms = 0
    assert list(c.time_sync) == [0x1234, 0x5678, 0x9ABC, 123456]


# Signed 32-bit arguments within |x| < 2^30; clamped to +/-(2^30 - 1) beyond,
# and from the high half -0x4000 down (hi << 16 would be -2^30 there).
@pytest.mark.parametrize("raw,value", [
    (0x00000000, 0),
    (0x12345678, 0x12345678),
    (0x3FFFFFFF, 0x3FFFFFFF),
    (0x40000000, 0x3FFFFFFF),
    (0x7FFFFFFF, 0x3FFFFFFF),
    (0xFFFFFFFF, -1),
    (0xFFFE0001, -0x1FFFF),
    (0xC0010000, -0x3FFF0000),
    (0xC000FFFF, -0x3FFFFFFF),
    (0xC0000000, -0x3FFFFFFF),
    (0xBFFFFFFF, -0x3FFFFFFF),
    (0x80000000, -0x3FFFFFFF),
])
def test_divert_argument_is_a_signed_32_bit_value_clamped_to_2_30(raw, value):
    c = _cmd()
    assert _send(c, tc(cm.OP_DIVERT, struct.pack(">I", raw), counter=1)) == 0
    assert c.app.calls == [("divert", value)]
