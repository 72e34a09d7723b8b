"""Checkpoint cadence and cost: a board without RTC/scratch memory (RP2040,
STM32 as wired) seals only at the flash cadence (a seal is the costliest
part of a checkpoint cycle: no seal that nothing stores), and a board with
both seals at the RTC cadence and writes the flash from a seal of that cycle."""
from lander.app import App
from lander.config import Config
from tests.app_fakes import FlashFile, PartlessBoard


class _Rtc:
    def __init__(self):
        self.mem = b""
        self.writes = 0

    def memory(self, data=None):
        if data is None:
            return self.mem
        self.mem = bytes(data)
        self.writes += 1


class _Board(PartlessBoard):
    def __init__(self, rtc):
        self.rtc = _Rtc() if rtc else None
        self.file = FlashFile()

    def opener(self, path, mode):
        if path != "/ckpt.bin":
            raise OSError(2)
        return self.file


def _fly(rtc, cycles, **cfg):
    b = _Board(rtc)
    a = App(b, Config(**cfg))
    a.handover(500000, -20000, 3000, 0)
    for i in range(cycles):
        a.step(i * 20000)
    return a, b


def test_without_rtc_memory_a_record_is_sealed_only_when_the_flash_is_written():
    # 50 Hz, flash every 250 ms = 12 cycles: due at cycles 11, 23, .., 599 (50);
    # each record is begun then and sealed 3 cycles later (40 words, 14 a
    # cycle), so at 600 cycles the 50th is still being sealed
    a, b = _fly(False, 600, ckpt_period_ms=100, ckpt_flash_ms=250)
    assert a.ckpt_file.writes == 49 and a.ckpt.sealed == 49 and a.ckpt.seq == 49
    assert a.ckpt.sealing


def test_with_rtc_memory_the_rtc_cadence_seals_and_the_flash_rides_along():
    # RTC every 5 cycles (records begun at cycles 4, 9, .., 599: 120, the last
    # still being sealed), flash every 10 (due at 9, 19, .., 599: each written
    # with the record begun that cycle, the last pending); the RTC image is
    # written every cycle (the restart hint rides in it)
    a, b = _fly(True, 600, ckpt_period_ms=100, ckpt_flash_ms=200)
    assert b.rtc.writes == 600 and a.ckpt.sealed == 119 and a.ckpt_file.writes == 59


def test_a_record_is_sealed_over_the_cycles_after_its_snapshot():
    # begun at cycle 4 (the snapshot), sealed at cycle 7: the RTC memory holds
    # no record before, then the record of cycle 4 (age 4 periods)
    b = _Board(True)
    a = App(b, Config(ckpt_period_ms=100, ckpt_flash_ms=10000))
    a.handover(500000, -20000, 3000, 0)
    from lander import checkpoint as ck
    out = [0] * a.ckpt.n
    for i in range(8):
        a.step(i * 20000)
        seq = ck.best(b.rtc.mem, a.ckpt.n, out)
        assert seq == (1 if i >= 7 else -1), i
    assert out[5] == 4 and a.ckpt_age_ms == 80        # app word 5: the cycle


def test_a_second_reset_right_after_a_warm_restart_still_finds_a_record():
    # the boot writes the RTC image every cycle from its first: the records it
    # resumed from are carried in it until a new one is sealed
    b = _Board(True)
    a = App(b, Config(ckpt_period_ms=100, ckpt_flash_ms=10000))
    a.handover(500000, -20000, 3000, 0)
    for i in range(20):
        a.step(i * 20000)
    a2 = App(b, Config(ckpt_period_ms=100, ckpt_flash_ms=10000))
    assert a2.warm
    for i in range(2):                                 # fewer than a record takes
        a2.step((30 + i) * 20000)
    a3 = App(b, Config(ckpt_period_ms=100, ckpt_flash_ms=10000))
    assert a3.warm and a3.restarts == 1             # from the first life's record
