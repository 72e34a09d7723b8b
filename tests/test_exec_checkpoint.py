"""Checkpoint cadence and cost: a board without RTC/scratch memory (RP2040,
STM32 as wired) seals only at the flash cadence (a seal is the costliest
part of a checkpoint cycle: no seal that nothing stores), and a board with
both seals at the RTC cadence and writes the flash from a seal of that cycle."""
from lander.app import App
from lander.config import Config


class _File:
    def __init__(self):
        self.buf = bytearray()
        self.pos = 0
        self.writes = 0

    def seek(self, p):
        self.pos = p

    def write(self, b):
        n = len(b)
        if len(self.buf) < self.pos + n:
            self.buf.extend(bytes(self.pos + n - len(self.buf)))
        self.buf[self.pos:self.pos + n] = bytes(b)
        self.pos += n
        self.writes += 1
        return n

    def flush(self):
        pass

    def read(self):
        return bytes(self.buf)

    def close(self):
        pass


class _Rtc:
    def __init__(self):
        self.mem = b""
        self.writes = 0

    def memory(self, data=None):
        if data is None:
            return self.mem
        self.mem = bytes(data)
        self.writes += 1


class _Board:
    imu = None
    altimeter = None
    legs = None
    engine = None
    wdt = None
    radio = None

    def __init__(self, rtc):
        self.rtc = _Rtc() if rtc else None
        self.file = _File()

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
    # 50 Hz, flash every 250 ms = 12 cycles: 600 cycles -> 50 records (was
    # 50 + the 120 RTC-cadence seals nothing stored)
    a, b = _fly(False, 600, ckpt_period_ms=100, ckpt_flash_ms=250)
    assert a.ckpt_file.writes == 50 and a.ckpt.sealed == 50 and a.ckpt.seq == 50


def test_with_rtc_memory_the_rtc_cadence_seals_and_the_flash_rides_along():
    # RTC every 5 cycles, flash every 12: 120 + 50 - 10 (every 60th cycle both);
    # the RTC image is written every cycle (the restart hint rides in it)
    a, b = _fly(True, 600, ckpt_period_ms=100, ckpt_flash_ms=250)
    assert b.rtc.writes == 600 and a.ckpt_file.writes == 50
    assert a.ckpt.sealed == 160


def test_a_second_reset_right_after_a_warm_restart_still_finds_a_record():
    # the boot writes the RTC image every cycle from its first (the hint): the
    # records it resumed from are carried in it until a new one is sealed
    b = _Board(True)
    a = App(b, Config(ckpt_period_ms=100, ckpt_flash_ms=10000))
    a.handover(500000, -20000, 3000, 0)
    for i in range(20):
        a.step(i * 20000)
    a2 = App(b, Config(ckpt_period_ms=100, ckpt_flash_ms=10000))
    assert a2.warm
    for i in range(2):                                 # fewer than the RTC cadence
        a2.step((30 + i) * 20000)
    a3 = App(b, Config(ckpt_period_ms=100, ckpt_flash_ms=10000))
    assert a3.warm and a3.restarts == 1             # from the first life's record
