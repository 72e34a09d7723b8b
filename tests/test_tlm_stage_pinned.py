"""The telemetry stage (telemetry/stage.py) and the black box
(telemetry/blackbox.py), pinned on constructed stages: a stand-in App, radio,
record store and framer where the behaviour under test needs them; every
expected figure computed by hand (air time = bit rate x cycle period, the CUC
fine time us * 2^16 / 10^6, the scheduler's periods, the black box's
newest-first stride)."""
import pytest

from lander.events import events
from lander.telemetry import packets as P
from lander.telemetry.blackbox import (BlackBox, EV_BB_DUMP, EV_BB_DUMP_DONE,
                                       EV_BB_FLUSH_FAIL, EV_BB_FROZEN)
from lander.telemetry.stage import Telemetry
from tests.app_fakes import drain_events, fresh_event_ring  # noqa: F401

pytestmark = pytest.mark.usefixtures("fresh_event_ring")

K_CRIT, K_EVENT, K_HK, K_BB, K_BEACON = 0, 1, 2, 3, 4


class _Bag:
    def __init__(self, **kw):
        self.__dict__.update(kw)


class _App:
    def __init__(self):
        self.nav = _Bag(pitch_bau=0)
        self.guid = _Bag(phase=0)
        self.ctrl = _Bag()
        self.touchdown = False
        self.engine_cut = False
        self.events_sent = 0
        self.mode = 0


class _Cfg:
    def __init__(self, rate_hz=50, **kw):
        self.rate_hz = rate_hz
        self.__dict__.update(kw)


class _Radio:
    def __init__(self, free=100000):
        self.room = free
        self.out = bytearray()
        self.writes = []
        self.services = 0

    def free(self):
        return self.room

    def write(self, buf, n):
        self.writes.append(n)
        self.out += bytes(buf[:n])
        return n

    def service(self):
        self.services += 1
        return 0


class _Store:
    """A record store: record i reads back as len(out) octets of value i & 0xFF
    unless i is in `bad`; append / flush answer `ok`."""

    def __init__(self, count=0, bad=(), ok=True):
        self.count = count
        self.pending = 0
        self.bad = set(bad)
        self.ok = ok
        self.appended = []
        self.flushes = 0
        self.reads = []

    def append(self, rec):
        self.appended.append(bytes(rec))
        if self.ok:
            self.pending += 1
        return self.ok

    def flush(self):
        self.flushes += 1
        if self.ok:
            self.count += self.pending
        self.pending = 0 if self.ok else self.pending
        return self.ok

    def read_record(self, i, out):
        self.reads.append(i)
        if i in self.bad or not 0 <= i < self.count:
            return -1
        for j in range(len(out)):
            out[j] = i & 0xFF
        return len(out)


class _Board:
    def __init__(self, radio=None, storage=None, **kw):
        self.radio = radio
        self.storage = storage
        self.__dict__.update(kw)


def _stage(cfg=None, radio="fake", storage=None, app=None, **board):
    if radio == "fake":
        radio = _Radio()
    return Telemetry(app or _App(), _Board(radio, storage, **board), cfg or _Cfg())


def _apid(buf):
    return ((buf[0] & 7) << 8) | buf[1]


def _next(t, now_ms):
    """The stage's next packet at time now_ms: (apid, length, octets)."""
    t.time_ms = now_ms
    t.sec = now_ms // 1000
    buf = bytearray(256)
    n = t.next_packet(buf, 100)
    return _apid(buf), n, buf


# ------------------------------------------------------------ construction
def test_air_time_per_cycle_is_bitrate_times_period_in_bits_and_millionths():
    # 1234 bit/s at 3 Hz: 1234 * 333333 us = 411.332922 bits a cycle
    t = _stage(_Cfg(rate_hz=3, tlm_bitrate_bps=1234))
    assert (t.bits_per_cycle, t._bits_frac, t.bitrate_bps) == (411, 332922, 1234)
    # 19200 bit/s at 10 Hz: 1920 bits exactly (the product 1.92e9 split)
    t = _stage(_Cfg(rate_hz=10, tlm_bitrate_bps=19200))
    assert (t.bits_per_cycle, t._bits_frac) == (1920, 0)


def test_the_bit_rate_defaults_to_2000_when_the_config_has_none_or_zero():
    assert _stage(_Cfg(rate_hz=50)).bits_per_cycle == 40
    assert _stage(_Cfg(rate_hz=50, tlm_bitrate_bps=0)).bitrate_bps == 2000


def test_frame_length_and_reed_solomon_come_from_the_config_or_default_to_128_and_8():
    t = _stage(_Cfg())
    assert (t.framer.frame_len, t.framer.nparity) == (128, 16)
    t = _stage(_Cfg(tlm_frame_len=0))
    assert t.framer.frame_len == 128
    t = _stage(_Cfg(tlm_frame_len=200, tlm_rs_e=16))
    assert (t.framer.frame_len, t.framer.nparity) == (200, 32)
    t = _stage(_Cfg(tlm_rs_e=0))
    assert t.framer.rs is None and t.framer.cadu_len == 4 + 128


def test_the_output_buffer_holds_a_cycle_plus_two_octets_and_at_least_64():
    t = _stage(_Cfg(rate_hz=50))                         # 40 bits: 7 -> 64
    assert (len(t._out), t._credit_max) == (64, 512)
    t = _stage(_Cfg(rate_hz=50, tlm_bitrate_bps=25200))  # 504 bits: 63 + 2
    assert (len(t._out), t._credit_max) == (65, 520)
    t = _stage(_Cfg(rate_hz=10, tlm_bitrate_bps=19200))  # 1920 bits: 240 + 2
    assert (len(t._out), t._credit_max) == (242, 1936)


def test_the_encoder_reads_each_source_from_the_app_the_board_and_the_stage():
    app = _App()
    app.cmd = object()
    app.ckpt = object()
    imu_drv, alt_drv = object(), object()
    board = _Board(_Radio(), _Store(), imu=_Bag(driver=imu_drv), altimeter=_Bag(driver=alt_drv),
                   power=object(), baro=object())
    cfg = _Cfg()
    t = Telemetry(app, board, cfg)
    s = t.enc.sources
    assert len(s) == P.N_SOURCES
    expect = {P.S_APP: app, P.S_NAV: app.nav, P.S_GUID: app.guid, P.S_CTRL: app.ctrl,
              P.S_IMU: imu_drv, P.S_ALT: alt_drv, P.S_POWER: board.power, P.S_BARO: board.baro,
              P.S_TLM: t, P.S_EVENTS: events, P.S_RADIO: board.radio, P.S_STORE: board.storage,
              P.S_CFG: cfg, P.S_CMD: app.cmd, P.S_CKPT: app.ckpt}
    for k, ob in expect.items():
        assert s[k] is ob, P.SOURCES.split()[k]
    assert t.bb.store is board.storage and t.framer.source is t


def test_a_sensor_without_a_driver_stand_in_is_its_own_source_and_a_missing_one_none():
    imu, alt = object(), object()
    t = _stage(imu=imu, altimeter=alt)
    assert t.enc.sources[P.S_IMU] is imu and t.enc.sources[P.S_ALT] is alt
    t = Telemetry(_App(), object(), _Cfg())
    s = t.enc.sources
    for k in (P.S_IMU, P.S_ALT, P.S_POWER, P.S_BARO, P.S_RADIO, P.S_STORE, P.S_CMD, P.S_CKPT):
        assert s[k] is None
    assert t.radio is None and t.bb.store is None


def test_a_radio_lacking_write_free_or_service_is_not_sent_with():
    class NoWrite:
        def free(self): return 100
        def service(self): return 0

    class NoFree:
        def write(self, b, n): return n
        def service(self): return 0

    class NoService:
        def write(self, b, n): return n
        def free(self): return 100
    for r in (NoWrite(), NoFree(), NoService()):
        t = _stage(radio=r)
        assert t.radio is None
        assert t.enc.sources[P.S_RADIO] is r
    r = _Radio()
    assert _stage(radio=r).radio is r


def test_the_scheduler_periods_and_the_never_sent_marks():
    t = _stage()
    assert (t.crit_period_ms, t.hk_period_ms, t.beacon_min_ms, t.beacon_max_ms) == (950, 5000, 2000, 8000)
    assert list(t._last) == [-1000000] * 5
    assert len(t.silenced) == len(P.LAYOUTS) and not any(t.silenced)
    assert (t.credit, t._acc, t.skipped, t.frames, t.bb_seq, t.bb_sent, t.dumps) == (0,) * 7
    assert (t.last_fault, t.last_fault_arg, t.events_unsent) == (0, 0, 0)
    assert (t.dump_next, t.dump_end, t.dump_sent, t.dump_lost) == (0, 0, 0, 0)
    assert t.landed is False and t.built is False


# ------------------------------------------------------------------ clock
def test_the_first_cycle_sets_the_clock_from_its_own_time():
    t = _stage()
    t._clock(3250000)
    assert (t.sec, t.usec, t.time_ms, t._last_us) == (3, 250000, 3250, 3250000)
    # 250000 us = 2^14 / 2^16 s
    assert t._fine == 16384


def test_later_cycles_add_the_elapsed_time_carrying_whole_seconds():
    t = _stage()
    t._clock(3250000)
    t._clock(3990000)
    assert (t.sec, t.usec, t.time_ms) == (3, 990000, 3990)
    t._clock(4010000)
    assert (t.sec, t.usec, t.time_ms) == (4, 10000, 4010)
    # 10000 us: (625 << 14) // 15625 = 655 (655.36)
    assert t._fine == 655
    t._clock(6510000)                         # 2.5 s at once
    assert (t.sec, t.usec, t.time_ms, t._last_us) == (6, 510000, 6510, 6510000)


def test_a_step_onto_a_whole_second_carries_it():
    t = _stage()
    t._clock(250000)
    t._clock(1000000)
    assert (t.sec, t.usec, t.time_ms, t._fine) == (1, 0, 1000, 0)
    t._clock(1999999)
    # 999999 us: (62499 << 14) // 15625 = 65534 (65535.93...: the fine time
    # counts 16 us steps)
    assert (t.sec, t.usec, t._fine) == (1, 999999, 65534)


def test_a_single_microsecond_counts():
    t = _stage()
    t._clock(1000000)
    t._clock(1000001)
    assert (t.sec, t.usec) == (1, 1)


def test_the_clock_follows_the_tick_counter_across_its_2_30_wrap():
    t = _stage()
    t._clock(0x3FFFFFFF - 9999)               # 1073.731824 s
    assert (t.sec, t.usec) == (1073, 731824)
    t._clock(10000)                           # 20 ms later, past the wrap
    assert (t.sec, t.usec, t.time_ms, t._last_us) == (1073, 751824, 1073751, 10000)


def test_the_clock_never_runs_backwards():
    t = _stage()
    t._clock(5000000)
    t._clock(4000000)
    assert (t.sec, t.usec, t.time_ms, t._last_us) == (5, 0, 5000, 4000000)
    t._clock(4020000)                         # measured from the last tick seen
    assert (t.sec, t.usec) == (5, 20000)


# ------------------------------------------------------------ landing
@pytest.mark.parametrize("what", ["touchdown", "engine_cut"])
def test_touchdown_or_engine_cut_marks_the_stage_landed_at_that_time(what):
    app = _App()
    t = _stage(app=app)
    t.update(1000000)
    assert t.landed is False
    setattr(app, what, True)
    t.update(1020000)
    assert (t.landed, t._landed_ms) == (True, 1020)
    t.update(1040000)
    assert t._landed_ms == 1020


def test_the_black_box_freezes_3_s_after_landing():
    app = _App()
    st = _Store()
    t = _stage(app=app, storage=st)
    t.update(0)
    app.touchdown = True
    t.update(1000000)
    t.update(3999000)
    assert not t.bb.frozen
    t.update(4000000)
    assert t.bb.frozen
    k = t.bb._k
    t.update(4020000)                         # no longer stepped
    assert t.bb._k == k


# ------------------------------------------------------------ pacing
def test_whole_octets_of_air_time_go_to_the_radio_and_the_bits_left_are_carried():
    # 2050 bit/s at 50 Hz: 41 bits a cycle, 5 octets and 1 bit carried
    r = _Radio()
    t = _stage(_Cfg(tlm_bitrate_bps=2050), radio=r)
    credits = []
    for k in range(8):
        t.update(k * 20000)
        credits.append(t.credit)
    assert r.writes == [5, 5, 5, 5, 5, 5, 5, 6]
    assert credits == [1, 2, 3, 4, 5, 6, 7, 0]
    assert len(r.out) == 41


def test_the_millionths_of_a_bit_add_a_bit_when_they_reach_a_whole_one():
    # 2001 bit/s at 50 Hz: 40.02 bits, the 0.02 carried in millionths
    r = _Radio()
    t = _stage(_Cfg(tlm_bitrate_bps=2001), radio=r)
    for k in range(49):
        t.update(k * 20000)
    assert (t.credit, t._acc) == (0, 980000)
    t.update(49 * 20000)
    assert (t.credit, t._acc) == (1, 0)
    assert len(r.out) == 250


def test_nothing_is_sent_while_less_than_an_octet_is_earned():
    r = _Radio()
    t = _stage(_Cfg(tlm_bitrate_bps=100), radio=r)        # 2 bits a cycle
    for k in range(3):
        t.update(k * 20000)
    assert r.writes == [] and t.credit == 6
    t.update(60000)
    assert r.writes == [1] and t.credit == 0


def test_a_radio_without_room_for_the_cycle_gets_nothing_and_the_credit_is_capped():
    r = _Radio(free=4)                         # 5 octets due, 4 free
    t = _stage(radio=r)
    t.update(0)
    assert r.writes == [] and t.credit == 40
    for k in range(1, 13):
        t.update(k * 20000)
    assert t.credit == 512                     # 13 * 40 = 520, capped at 64 octets
    r.room = 69
    t.update(13 * 20000)                       # 552 bits: 69 octets, only 64 fit a cycle
    assert r.writes == [64] and t.credit == 40


def test_a_radio_with_exactly_the_room_due_is_sent_to():
    r = _Radio(free=5)
    t = _stage(radio=r)
    t.update(0)
    assert r.writes == [5] and t.credit == 0


def test_each_cycle_services_the_radio_and_copies_the_frame_count():
    r = _Radio()
    t = _stage(radio=r)
    for k in range(30):                        # 150 octets: 2 CADUs of 148 begun
        t.update(k * 20000)
    assert r.services == 30
    assert t.frames == t.framer.frames == 2


def test_without_a_radio_the_event_ring_is_drained_and_counted():
    t = _stage(radio=None)
    for c in (0x0101, 0x0102, 0x0103):
        events.post(c, 0)
    t.update(0)
    assert (events.count, t.events_unsent) == (0, 3)


def test_a_packet_built_in_the_cycle_makes_the_black_box_record_wait():
    class _Framer:
        frames = 0

        def pump(self, out, n):
            t.built = True
    st = _Store()
    t = _stage(storage=st)
    t.framer = _Framer()
    for k in range(12):
        t.update(k * 20000)
    assert st.appended == []                  # every cycle built a packet
    t.framer = _Bag(frames=0, pump=lambda out, n: None)
    t.update(12 * 20000)
    assert len(st.appended) == 1


# ------------------------------------------------------------ scheduler
def test_due_when_a_period_has_passed_and_skipped_when_two_have():
    t = _stage()
    t.time_ms = 10000
    assert t._due(K_HK, 5000) is True and t.skipped == 0       # never sent: no skip
    t._last[K_HK] = 5001
    assert t._due(K_HK, 5000) is False
    t._last[K_HK] = 5000
    assert t._due(K_HK, 5000) is True and t.skipped == 0
    t._last[K_HK] = 1
    assert t._due(K_HK, 5000) is True and t.skipped == 0       # 9999: under two periods
    t._last[K_HK] = 0
    assert t._due(K_HK, 5000) is True and t.skipped == 1       # two periods late
    t._last[K_HK] = -999999
    assert t._due(K_HK, 5000) is True and t.skipped == 2
    t.silenced[K_HK] = 1
    assert t._due(K_HK, 5000) is False and t.skipped == 2


def test_critical_then_housekeeping_then_idle_then_critical_after_950_ms():
    t = _stage()
    assert _next(t, 0)[0] == P.APID_CRITICAL
    assert _next(t, 0)[0] == P.APID_HOUSEKEEPING
    apid, n, buf = _next(t, 949)
    assert (apid, n) == (P.APID_IDLE, 16) and buf[6:16] == b"\x55" * 10
    t.built = False
    assert _next(t, 950)[0] == P.APID_CRITICAL
    assert list(t._last)[:3] == [950, -1000000, 0]
    assert t.built is True
    t.built = False
    t.silenced[K_CRIT] = 1
    assert _next(t, 5000)[0] == P.APID_HOUSEKEEPING and t.built is True


def test_a_built_packet_has_the_stage_time_in_its_header():
    t = _stage()
    t._clock(3250000)
    buf = bytearray(256)
    n = t.next_packet(buf, 100)
    assert n == t.enc.lengths[K_CRIT]
    assert buf[6:12] == bytes([0, 0, 0, 3, 0x40, 0x00])   # 3 s + 16384 / 65536


def test_an_idle_packet_is_not_a_built_one():
    t = _stage()
    t.silenced[K_CRIT] = 1
    t.silenced[K_HK] = 1
    t.built = False
    assert _next(t, 0)[0] == P.APID_IDLE and t.built is False


def test_an_event_goes_first_with_its_time_code_and_argument():
    app = _App()
    t = _stage(app=app)
    events.now_ms = 1234
    events.post(0x0300, 7)
    apid, n, buf = _next(t, 2000)
    assert (apid, n) == (P.APID_EVENT, t.enc.lengths[K_EVENT])
    assert (t.ev_time_ms, t.ev_code, t.ev_arg) == (1234, 0x0300, 7)
    assert buf[12:22] == bytes([0, 0, 4, 0xD2, 0x03, 0x00, 0, 0, 0, 7])
    assert app.events_sent == 1 and events.count == 0 and t.built is True
    assert _next(t, 2000)[0] == P.APID_CRITICAL
    events.post(0x0301, 0)
    _next(t, 2000)
    assert app.events_sent == 2


def test_an_event_with_a_negative_argument_goes_down_signed():
    t = _stage()
    events.post(0x01A3, -2730)               # EV_ACU_LIMITED: the applied angle
    apid, n, buf = _next(t, 0)
    assert apid == P.APID_EVENT and t.ev_arg == -2730 == t.last_fault_arg
    assert buf[18:22] == (-2730).to_bytes(4, "big", signed=True)


def test_without_a_radio_an_event_with_a_negative_argument_is_drained_too():
    t = _stage(radio=None)
    events.post(0x01A3, -1)
    t.update(0)
    assert (events.count, t.events_unsent) == (0, 1)


@pytest.mark.parametrize("code,fault", [
    (0x0001, False), (0x0002, False), (0x0003, True), (0x01F0, True), (0x01F1, False),
    (0x01F2, True), (0x03FF, True), (0x0400, False), (0x04FF, False), (0x0500, True)])
def test_the_last_fault_is_the_last_event_outside_boot_and_telemetry_codes(code, fault):
    t = _stage()
    events.post(0x0210, 5)
    _next(t, 0)
    events.post(code, 9)
    _next(t, 0)
    assert (t.last_fault, t.last_fault_arg) == ((code, 9) if fault else (0x0210, 5))


def test_at_most_three_events_in_a_row_while_the_critical_packet_is_due():
    t = _stage()
    t.silenced[K_HK] = 1
    for c in range(0x0201, 0x0207):
        events.post(c, 0)
    got = [_next(t, 0)[0] for _ in range(7)]
    E, C = P.APID_EVENT, P.APID_CRITICAL
    assert got == [E, E, E, C, E, E, E]
    assert t.ev_code == 0x0206


def test_the_critical_packet_starts_a_new_burst_of_three():
    t = _stage()
    t.silenced[K_HK] = 1
    for c in range(0x0201, 0x0204):
        events.post(c, 0)
    E, C = P.APID_EVENT, P.APID_CRITICAL
    assert [_next(t, 0)[0] for _ in range(4)] == [E, E, E, C]
    for c in range(0x0204, 0x0208):
        events.post(c, 0)
    assert [_next(t, 950)[0] for _ in range(4)] == [E, E, E, C]


def test_events_are_not_limited_while_nothing_else_is_due():
    t = _stage()
    t.silenced[K_CRIT] = 1
    t.silenced[K_HK] = 1
    for c in range(0x0201, 0x0206):
        events.post(c, 0)
    assert [_next(t, 0)[0] for _ in range(6)] == [P.APID_EVENT] * 5 + [P.APID_IDLE]


def test_silenced_events_stay_in_the_ring():
    t = _stage()
    t.silenced[K_EVENT] = 1
    events.post(0x0201, 0)
    assert _next(t, 0)[0] == P.APID_CRITICAL and events.count == 1


def test_after_landing_no_critical_packet_and_the_beacon_on_change_or_every_8_s():
    app = _App()
    t = _stage(app=app)
    t.landed = True
    t.silenced[K_HK] = 1
    enc = t.enc
    assert _next(t, 10000)[0] == P.APID_BEACON
    assert _next(t, 11999)[0] == P.APID_IDLE
    # unchanged at 2 s: not sent, and its sequence count and tally taken back
    assert _next(t, 12000)[0] == P.APID_IDLE
    assert (enc.seq[K_BEACON], enc.counts[K_BEACON]) == (1, 1)
    app.mode = 3
    assert _next(t, 12000)[0] == P.APID_BEACON
    assert _next(t, 19999)[0] == P.APID_IDLE
    assert _next(t, 20000)[0] == P.APID_BEACON            # 8 s after the last one
    assert (enc.seq[K_BEACON], enc.counts[K_BEACON]) == (3, 3)
    assert t._last[K_BEACON] == 20000


def test_a_beacon_changed_in_its_last_octet_only_is_sent():
    app = _App()
    app.cmd = _Bag(accepted=0, rejected=0, last_reason=0, last_lo=0)
    t = _stage(app=app)
    t.landed = True
    t.silenced[K_HK] = 1
    _next(t, 10000)
    app.cmd.last_lo = 1                       # tc_counter_lo, the beacon's last field
    assert _next(t, 12000)[0] == P.APID_BEACON


def test_a_beacon_taken_back_at_the_end_of_the_sequence_count_wraps_back():
    t = _stage()
    t.landed = True
    t.silenced[K_HK] = 1
    _next(t, 10000)
    t.enc.seq[K_BEACON] = 0
    assert _next(t, 12000)[0] == P.APID_IDLE
    assert t.enc.seq[K_BEACON] == 0
    t.enc.seq[K_BEACON] = 0x3FFF
    _next(t, 12000)
    assert t.enc.seq[K_BEACON] == 0x3FFF


def test_a_silenced_beacon_is_not_built():
    t = _stage()
    t.landed = True
    t.silenced[K_HK] = 1
    t.silenced[K_BEACON] = 1
    assert _next(t, 10000)[0] == P.APID_IDLE and t.enc.counts[K_BEACON] == 0


# ------------------------------------------------------------ black box downlink
def _frozen_stage(count=12, bad=()):
    st = _Store(count=count, bad=bad)
    t = _stage(storage=st)
    t.landed = True
    t.silenced[K_HK] = 1
    t.silenced[K_BEACON] = 1
    t.bb.freeze()
    drain_events()
    return t, st


def test_the_black_box_packet_is_the_record_index_then_the_record():
    t, st = _frozen_stage()
    rec = t.bb.rec
    for j in range(len(rec)):
        rec[j] = j + 1
    buf = bytearray(256)
    n = t._bb_packet(0x01020304, buf, 7, 0x1234)
    assert n == t.enc.lengths[K_BB] == 12 + 4 + len(rec)
    assert _apid(buf) == P.APID_BLACKBOX and buf[6:12] == bytes([0, 0, 0, 7, 0x12, 0x34])
    assert buf[12:16] == bytes([1, 2, 3, 4])
    assert buf[16:n] == bytes(range(1, len(rec) + 1))
    assert (t.bb_seq, t.bb_sent) == (0x01020304, 1)


def test_after_the_freeze_the_records_go_newest_first_a_second_apart():
    t, st = _frozen_stage(count=12)
    got = []
    for _ in range(4):
        apid, n, buf = _next(t, 20000)
        assert apid == P.APID_BLACKBOX
        got.append(int.from_bytes(buf[12:16], "big"))
        assert buf[16] == got[-1]
    assert got == [11, 6, 1, 11]
    assert t.bb_sent == 4


def test_a_single_record_is_sent_again_and_again():
    t, st = _frozen_stage(count=1)
    for _ in range(3):
        apid, n, buf = _next(t, 20000)
        assert apid == P.APID_BLACKBOX and buf[12:16] == b"\0\0\0\0"


def test_a_record_that_does_not_read_back_is_skipped():
    t, st = _frozen_stage(count=12, bad=(11,))
    apid, n, buf = _next(t, 20000)
    assert apid == P.APID_BLACKBOX and t.bb_seq == 6 and st.reads == [11, 6]


def test_an_empty_black_box_or_a_silenced_one_sends_idle():
    t, st = _frozen_stage(count=0)
    assert _next(t, 20000)[0] == P.APID_IDLE
    t, st = _frozen_stage(count=12)
    t.silenced[K_BB] = 1
    assert _next(t, 20000)[0] == P.APID_IDLE and st.reads == []


def test_no_black_box_packet_before_the_freeze_nor_without_a_store():
    st = _Store(count=12)
    t = _stage(storage=st)
    t.landed = True
    t.silenced[K_HK] = 1
    t.silenced[K_BEACON] = 1
    assert _next(t, 20000)[0] == P.APID_IDLE and st.reads == []
    t = _stage(storage=None)
    t.landed = True
    t.silenced[K_HK] = 1
    t.silenced[K_BEACON] = 1
    t.bb.freeze()
    assert _next(t, 20000)[0] == P.APID_IDLE


def test_start_dump_refuses_without_a_store_or_outside_the_records():
    t = _stage(storage=None)
    assert t.start_dump(0, 0) == 14
    st = _Store(count=12)
    t = _stage(storage=st)
    assert t.start_dump(-1, 0) == 11
    assert t.bb.frozen                       # a dump freezes the recording first
    assert t.start_dump(12, 1) == 11
    assert t.dumps == 0 and drain_events() == [(EV_BB_FROZEN, 12)]


@pytest.mark.parametrize("start,count,end", [
    (0, 0, 12), (2, 3, 5), (2, 1, 3), (11, 1, 12), (10, 2, 12), (10, 3, 12), (4, -1, 12), (0, 12, 12)])
def test_start_dump_takes_the_range_to_the_last_record_at_most(start, count, end):
    t, st = _frozen_stage(count=12)
    t.dump_sent = t.dump_lost = 9
    assert t.start_dump(start, count) == 0
    assert (t.dump_next, t.dump_end, t.dump_sent, t.dump_lost, t.dumps) == (start, end, 0, 0, 1)
    assert drain_events() == [(EV_BB_DUMP, end - start)]


def test_each_dump_is_counted():
    t, st = _frozen_stage(count=12)
    t.start_dump(0, 1)
    t.start_dump(3, 1)
    assert t.dumps == 2 and (t.dump_next, t.dump_end) == (3, 4)


def test_a_dump_sends_its_range_oldest_first_ahead_of_the_rolling_pass():
    t, st = _frozen_stage(count=12, bad=(4,))
    t.start_dump(2, 4)
    drain_events()
    got = []
    for _ in range(3):
        apid, n, buf = _next(t, 20000)
        got.append((apid, int.from_bytes(buf[12:16], "big")))
    assert got == [(P.APID_BLACKBOX, 2), (P.APID_BLACKBOX, 3), (P.APID_BLACKBOX, 5)]
    assert (t.dump_sent, t.dump_lost, t.dump_next) == (3, 1, 6)
    assert drain_events() == [(EV_BB_DUMP_DONE, 3)]
    assert _next(t, 20000)[0] == P.APID_BLACKBOX and t.bb_seq == 11   # the rolling pass


def test_a_dump_whose_last_records_are_lost_ends_and_the_rolling_pass_goes_on():
    t, st = _frozen_stage(count=12, bad=(3, 4))
    t.start_dump(2, 3)
    drain_events()
    assert _next(t, 20000)[0] == P.APID_BLACKBOX and t.bb_seq == 2
    assert drain_events() == []
    apid, n, buf = _next(t, 20000)
    assert apid == P.APID_BLACKBOX and t.bb_seq == 11
    assert (t.dump_sent, t.dump_lost, t.dump_next) == (1, 2, 5)
    assert drain_events() == [(EV_BB_DUMP_DONE, 1)]


# ------------------------------------------------------------ black box
class _Enc:
    bb_len = 6
    bb_index = 5

    def __init__(self):
        self.calls = []
        self.v = 0

    def pack_fields(self, k, buf, o):
        self.calls.append((k, o))
        self.v += 1
        for j in range(o, len(buf)):
            buf[j] = self.v
        return len(buf)


@pytest.mark.parametrize("rate,stride", [(50, 5), (25, 2), (10, 1), (5, 1)])
def test_one_record_per_second_of_flight_apart_when_downlinked(rate, stride):
    bb = BlackBox(_Store(), _Enc(), rate)
    assert (bb.stride, bb.flush_every, bb.every, len(bb.rec)) == (stride, rate, 10, 6)
    assert (bb._start, bb._next, bb.recorded, bb.frozen) == (-1, -1, 0, False)


def test_a_record_every_tenth_cycle_packed_from_the_record_layout():
    st, enc = _Store(), _Enc()
    bb = BlackBox(st, enc, 50)
    for _ in range(9):
        bb.step()
    assert st.appended == []
    bb.step()
    assert st.appended == [bytes([1] * 6)] and enc.calls == [(5, 0)] and bb.recorded == 1
    for _ in range(10):
        bb.step()
    assert len(st.appended) == 2 and bb.recorded == 2


def test_a_record_due_in_a_busy_cycle_waits_for_the_next_one():
    st = _Store()
    bb = BlackBox(st, _Enc(), 50)
    for _ in range(9):
        bb.step(False)
    bb.step(True)
    bb.step(True)
    assert st.appended == []
    bb.step(False)
    assert len(st.appended) == 1
    for _ in range(9):
        bb.step(False)
    assert len(st.appended) == 1
    bb.step(False)
    assert len(st.appended) == 2


def test_a_record_the_store_refuses_is_not_counted():
    st = _Store(ok=False)
    bb = BlackBox(st, _Enc(), 50)
    for _ in range(10):
        bb.step()
    assert len(st.appended) == 1 and bb.recorded == 0


def test_the_store_is_flushed_once_a_second_and_a_failed_flush_is_an_event():
    st = _Store()
    bb = BlackBox(st, _Enc(), 25)
    for _ in range(24):
        bb.step()
    assert st.flushes == 0
    bb.step()
    assert st.flushes == 1 and drain_events() == []
    for _ in range(24):
        bb.step()
    assert st.flushes == 1
    st.ok = False
    st.pending = 3
    bb.step()
    assert st.flushes == 2 and drain_events() == [(EV_BB_FLUSH_FAIL, 3)]


def test_without_a_store_or_once_frozen_a_step_does_nothing():
    bb = BlackBox(None, _Enc(), 50)
    for _ in range(60):
        bb.step()
    assert (bb._k, bb._f, bb.recorded) == (0, 0, 0)
    st = _Store()
    bb = BlackBox(st, _Enc(), 50)
    bb.freeze()
    for _ in range(60):
        bb.step()
    assert st.appended == [] and st.flushes == 1 and bb._k == 0


def test_freezing_flushes_once_posts_the_count_and_starts_at_the_newest():
    st = _Store(count=7)
    st.pending = 2
    bb = BlackBox(st, _Enc(), 50)
    bb.freeze()
    assert bb.frozen and st.flushes == 1
    assert drain_events() == [(EV_BB_FROZEN, 9)]
    assert (bb._start, bb._next, bb._pass) == (8, 8, 0)
    bb.freeze()
    assert st.flushes == 1 and drain_events() == []


def test_freezing_without_a_store_only_marks_it_frozen():
    bb = BlackBox(None, _Enc(), 50)
    bb.freeze()
    assert bb.frozen and drain_events() == [] and bb.next_index() == -1


@pytest.mark.parametrize("count,order", [
    (12, [11, 6, 1, 11, 6, 1, 11]), (11, [10, 5, 0, 10, 5]), (10, [9, 4, 9, 4]),
    (1, [0, 0, 0]), (0, [-1, -1])])
def test_next_index_goes_newest_first_a_stride_apart_and_repeats(count, order):
    bb = BlackBox(_Store(count=count), _Enc(), 50)
    bb.freeze()
    assert [bb.next_index() for _ in order] == order


def test_each_pass_back_to_the_newest_is_counted():
    bb = BlackBox(_Store(count=11), _Enc(), 50)
    bb.freeze()
    for _ in range(3):
        bb.next_index()
    assert bb._pass == 1
    for _ in range(3):
        bb.next_index()
    assert bb._pass == 2
