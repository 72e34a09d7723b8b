"""The executive's start-up restore (App._restore) pinned: which store's
record is resumed (the newer of RTC/scratch memory and flash, the RTC's on a
tie, a flash-only board's file), what a record outside powered descent or no
record gives (a cold boot, EV_CKPT_NONE 2 / 1), what a resumed record
restores (the stages' words at their offsets, the cycle, the restart count
+ 1, the telecommand counter, the touchdown and engine-cut flags, the
sensors disabled), the RTC records adopted into this boot's image, the flash
file's next slot, the restart hint picked, the engine re-armed and
re-commanded only where it may be, the watchdog started, and the first
cycle's gap measured from the record's ticks. Records are made by a first
App on the same board (App._checkpoint(True): the record of the reset
telecommand, stored at once in both stores) or sealed by hand."""
from array import array

import pytest

from lander import app as A
from lander import checkpoint as C
from lander.app import App
from lander.config import Config
from tests.app_fakes import (CountingWdt, FakeRtc, FlashFile, LevelPin, PartlessBoard, RecordingEngine,
                             drain_events, fresh_event_ring)  # noqa: F401

pytestmark = pytest.mark.usefixtures("fresh_event_ring")

SAFE, BIT, ARMED, POWERED = 0, 1, 2, 3
NAV, GUID, CTRL = A.APP_CHECKPOINT_WORDS, A.APP_CHECKPOINT_WORDS + 32, A.APP_CHECKPOINT_WORDS + 41
N = NAV + 32 + 9 + 7                          # 56 words: app, nav, guidance, control


class _Board(PartlessBoard):
    """RTC memory and/or a flash file (the checkpoint file only: the
    telecommand key file is absent)."""

    def __init__(self, rtc=True, flash=True):
        self.rtc = FakeRtc() if rtc else None
        self.file = FlashFile()
        if flash:
            self.opener = self._opener

    def _opener(self, path, mode):
        if path != A.CKPT_FILE_PATH:
            raise OSError(2)
        return self.file


def _ev():
    return [e for e in drain_events() if e[0] < 0x100]


def _first_life(b, cycles=3, **cfg):
    """An App in powered descent flown `cycles` cycles of 20 ms (no record
    begun before the 5th), its state varied from the defaults."""
    a = App(b, Config(**cfg))
    a.handover(400000, -15000, 2500, 300)
    for i in range(cycles):
        a.step(1000000 + i * 20000)
    return a


def _record(a):
    """The reset telecommand's record: made and stored at once (both stores);
    its payload words."""
    a._checkpoint(True)
    return list(a.ckpt.words)


def _reboot(b, **cfg):
    drain_events()
    a = App(b, Config(**cfg))
    return a, _ev()


def _stage_words(a):
    w = array("i", bytes(4 * N))
    a.nav.checkpoint_into(w, NAV)
    a.guid.checkpoint_into(w, GUID)
    a.ctrl.checkpoint_into(w, CTRL)
    return list(w[NAV:])


def _sealed_blob(words, seq, rtc=True):
    """A two-slot image (with its hint slots where rtc) whose slot 0 holds a
    record of `seq` with these payload words."""
    ck = C.Checkpoint(N)
    for i, v in enumerate(words):
        ck.words[i] = v
    ck.seq = seq - 1 if seq > 0 else C._SEQ_MASK
    ck.last = 1
    assert ck.seal() == 0 and ck.seq == seq
    return bytes(ck.image) if rtc else bytes(ck.image[:2 * ck.slot_bytes])


# ------------------------------------------------------------ no record to resume
def test_without_a_record_the_boot_is_cold_and_says_so():
    b = _Board()
    b.engine = RecordingEngine()
    b.wdt = CountingWdt()
    a, ev = _reboot(b)
    assert (a.mode, a.warm, a.restarts, a.cycle, a.ckpt.seq) == (SAFE, False, 0, 0, 0)
    assert (A.EV_CKPT_NONE, 1) in ev and (A.EV_CKPT_NONE, 2) not in ev
    assert b.engine.calls == [] and b.wdt.starts == 0 and a._gap_us == 0
    assert a._restore() is False


def test_a_record_outside_powered_descent_is_not_resumed_but_its_sequence_goes_on():
    b = _Board()
    a = App(b, Config())
    a.arm()
    assert a.mode == ARMED
    _record(a)
    b.engine = RecordingEngine()
    a2, ev = _reboot(b)
    assert (a2.mode, a2.warm, a2.restarts) == (SAFE, False, 0)
    assert (A.EV_CKPT_NONE, 2) in ev and (A.EV_CKPT_NONE, 1) not in ev
    assert a2.ckpt.seq == 1 and b.engine.calls == []
    assert a2._restore() is False


# ------------------------------------------------------------ a record resumed
def test_a_record_in_descent_resumes_the_stages_and_the_app_words():
    b = _Board()
    a = _first_life(b)
    a.cmd.set_counter(0x1234, 0x5678)
    w = _record(a)
    assert w[A._CK_MODE] == POWERED and w[A._CK_CYCLE] == 3
    a2, ev = _reboot(b)
    assert (a2.mode, a2.warm, a2.cycle, a2.restarts) == (POWERED, True, 3, 1)
    assert (a2.cmd.last_hi, a2.cmd.last_lo) == (0x1234, 0x5678)
    assert _stage_words(a2) == w[NAV:] == _stage_words(a)
    assert (a2.touchdown, a2.engine_cut, a2.sensor_mask) == (False, False, 0xFF)
    assert a2.ckpt.seq == 1
    assert A.EV_CKPT_NONE not in [c for c, _ in ev]
    assert a2._restore() is True               # (read again: the same record resumed)


def test_a_second_warm_restart_counts_two():
    b = _Board()
    _record(_first_life(b))
    a2, _ = _reboot(b)
    _record(a2)
    a3, _ = _reboot(b)
    assert (a3.restarts, a3.ckpt.seq, a3.warm) == (2, 2, True)


@pytest.mark.parametrize("touchdown,cut", [(True, False), (False, True), (True, True)])
def test_the_touchdown_and_engine_cut_flags_are_resumed(touchdown, cut):
    b = _Board()
    a = _first_life(b)
    a.touchdown, a.engine_cut = touchdown, cut
    _record(a)
    a2, _ = _reboot(b)
    assert (a2.touchdown, a2.engine_cut) == (touchdown, cut)


def test_the_sensors_disabled_stay_disabled():
    b = _Board()
    b.imu2 = object()
    a = _first_life(b)
    a.touchdown = a.engine_cut = True          # flag bits 0, 1 beside the sensors' 8..15
    assert a.cmd_sensor(1, 0) == 0 and a.sensor_mask == 0xFD
    _record(a)
    b.imu2 = imu2 = object()                   # the part the new boot finds
    a2, ev = _reboot(b)
    assert a2.sensor_mask == 0xFD and (A.EV_SENSOR_MASK, 0xFD) in ev
    assert isinstance(a2._imu2, A._SensorOff) and a2._imu2.driver is imu2


# ------------------------------------------------------------ which store
def test_the_newer_record_of_the_two_stores_is_taken_from_rtc_memory():
    b = _Board()
    a = _first_life(b)
    _record(a)                                 # seq 1 in both
    a.step(1060000)
    f = a.ckpt_file
    a.ckpt_file = None
    w2 = _record(a)                            # seq 2: RTC memory only
    a.ckpt_file = f
    a2, _ = _reboot(b)
    assert (a2.ckpt.seq, a2.cycle) == (2, 4) and _stage_words(a2) == w2[NAV:]


def test_the_newer_record_of_the_two_stores_is_taken_from_flash():
    b = _Board()
    a = _first_life(b)
    _record(a)
    a.step(1060000)
    a.ckpt_rtc = None
    w2 = _record(a)                            # seq 2: flash only
    a2, _ = _reboot(b)
    assert (a2.ckpt.seq, a2.cycle) == (2, 4) and _stage_words(a2) == w2[NAV:]


def test_of_two_records_of_the_same_sequence_the_rtc_one_is_taken():
    b = _Board()
    w = [0] * N
    w[A._CK_MODE] = POWERED
    w[A._CK_CYCLE] = 111
    b.rtc.mem = _sealed_blob(w, 5)
    w[A._CK_CYCLE] = 222
    b.file.buf = bytearray(_sealed_blob(w, 5, rtc=False))
    a2, _ = _reboot(b)
    assert (a2.warm, a2.ckpt.seq, a2.cycle) == (True, 5, 111)


def test_a_flash_only_board_resumes_from_its_file():
    b = _Board(rtc=False)
    a = _first_life(b)
    w = _record(a)
    assert b.file.buf and a.ckpt_rtc is None
    a2, _ = _reboot(b)
    assert (a2.warm, a2.cycle, a2.ckpt.seq) == (True, 3, 1) and _stage_words(a2) == w[NAV:]
    assert a2._hint_ok is False


def test_a_record_of_sequence_0_after_the_wrap_is_resumed():
    b = _Board()
    w = [0] * N
    w[A._CK_MODE] = POWERED
    w[A._CK_CYCLE] = 7
    b.rtc.mem = _sealed_blob(w, 0)
    a2, ev = _reboot(b)
    assert (a2.warm, a2.ckpt.seq, a2.cycle) == (True, 0, 7)
    assert A.EV_CKPT_NONE not in [c for c, _ in ev]


# ------------------------------------------------------------ the stores carried on
def test_the_rtc_records_are_adopted_into_this_boots_image():
    b = _Board()
    a = _first_life(b)
    for t in (1060000, 1080000):
        _record(a)
        a.step(t)
    _record(a)                                 # seq 1, 3 in slot 1, seq 2 in slot 0
    blob = b.rtc.mem
    a2, _ = _reboot(b)
    sb = a2.ckpt.slot_bytes
    assert bytes(a2.ckpt.image[:2 * sb]) == blob[:2 * sb] and a2.ckpt.last == 1


def test_the_flash_file_is_written_next_over_its_older_slot():
    b = _Board()
    _record(_first_life(b))                    # the file's slot 0
    a2, _ = _reboot(b)
    assert a2.ckpt_file.next == 1
    assert a2.ckpt_file.write(a2.ckpt, 0) is True and len(b.file.buf) == 2 * a2.ckpt.slot_bytes


def test_the_restart_hint_of_the_record_is_picked():
    b = _Board()
    a = _first_life(b)
    _record(a)                                 # its hint: restarts 0, cycle 3, ticks 1040000
    a2, _ = _reboot(b)
    assert a2._hint_ok is True
    assert list(a2._hint) == [0, 3, 1040000, a.ctrl.pitch_cmd_bau, a.nav.pitch_bau,
                              a.nav.pitch_rate_urad_s]


# ------------------------------------------------------------ engine and watchdog
def test_the_engine_is_rearmed_and_recommanded_and_the_watchdog_started():
    b = _Board()
    a = _first_life(b)
    _record(a)
    b.engine = RecordingEngine()
    b.wdt = CountingWdt()
    a2, _ = _reboot(b)
    thr, pitch = a2.ctrl.throttle_q15, a2.ctrl.pitch_cmd_bau
    assert thr == a.ctrl.throttle_q15 > 0 and pitch == a.ctrl.pitch_cmd_bau
    assert b.engine.calls == [("arm",), ("thr", thr), ("pitch", pitch)]
    assert b.wdt.starts == 1 and a2._gimbal_sent is None


@pytest.mark.parametrize("why", ["cut", "bench", "arm_input"])
def test_the_engine_is_left_alone_when_cut_or_not_allowed(why):
    b = _Board()
    a = _first_life(b)
    a.engine_cut = why == "cut"
    _record(a)
    b.engine = RecordingEngine()
    b.wdt = CountingWdt()
    if why == "arm_input":
        b.arm_input = LevelPin(0)
    a2, _ = _reboot(b, bench_mode=1 if why == "bench" else 0)
    assert a2.warm is True and b.engine.calls == [] and b.wdt.starts == 1


def test_the_first_cycle_dead_reckons_from_the_records_ticks():
    b = _Board()
    a = _first_life(b)                         # last cycle at 1040000 us
    _record(a)
    a2, _ = _reboot(b)
    assert a2._gap_us != 0
    a2.step(1040000 + 300000)
    assert a2.resume_age_us == 300000 and a2._gap_us == 0
