"""The executive's fields in housekeeping and the beacon (reset cause, restart
count, build id, configuration CRC and status, telecommand counters with the
last rejection's reason, the last acknowledged counter, checkpoint sequence and
age) filled by the App and read back on the ground through the decoder with
the firmware's own packet table."""
import io

import pytest

from host_tools.ground import command as tc
from host_tools.ground import decode as ground
from lander import commands as cm
from lander.app import App, MODE_POST, MODE_POWERED
from lander.config import Config
from lander.telemetry import packets as P
from tests.app_fakes import PartlessBoard, fresh_event_ring, FakeRadio, FakeRtc  # noqa: F401


pytestmark = pytest.mark.usefixtures("fresh_event_ring")


KEY = tc.DEFAULT_KEY


class _File(io.BytesIO):
    pass


class _Board(PartlessBoard):
    def __init__(self, reset_cause):
        self.radio = FakeRadio()
        self.rtc = FakeRtc()
        self.reset_cause = reset_cause
        self.files = {"/tc.key": KEY}

    def opener(self, path, mode):
        if path not in self.files:
            if "r" in mode and "+" not in mode:
                raise OSError(2)
            self.files[path] = b""
        f = _File(self.files[path])
        board = self

        def close(f=f, path=path):
            board.files[path] = f.getvalue()
        f.close = close
        return f


def _fly(a, b, t0, cycles, uplink=None):
    for i in range(cycles):
        if uplink and i in uplink:
            b.radio.up += uplink[i]
        a.step((t0 + i) * 20000)
    return t0 + cycles


def test_housekeeping_carries_the_executive_fields_to_the_ground():
    b = _Board(reset_cause=3)
    a = App(b, Config(ckpt_period_ms=100))
    a.build_id = 0xB1D5
    a.handover(500000, -20000, 3000, 0)
    # commands after the first housekeeping packet (~2.8 s: the boot events
    # and the critical state go first), before the second (5 s later)
    up = {200: tc.build("noop", {}, counter=7, key=KEY),
          210: tc.build("ping", {}, counter=0x10005, key=KEY),
          220: tc.build("ping", {}, counter=9, key=KEY),                 # replayed: refused
          230: tc.build("sensor", {"part": 9, "on": 0}, counter=0x10006, key=KEY)}   # range
    _fly(a, b, 0, 500, up)
    res = ground.decode(bytes(b.radio.out))
    hk = [p for p in res.packets if p["apid"] == P.APID_HOUSEKEEPING]
    assert len(hk) == 2 and hk[0]["time_s"] < 4.0 < 5.0 < hk[1]["time_s"]
    x = ground.executive(hk[-1]["fields"])
    assert x["mode"] == "POWERED_DESCENT"
    assert x["reset_cause"] == 3 and x["restarts"] == 0
    assert x["build_id"] == 0xB1D5 and x["cfg_crc"] == a.cfg.crc
    assert x["cfg_status"] == "ok" and x["sensor_mask"] == 0xFF
    assert x["tc_accepted"] == 2 and x["tc_rejected"] == 2
    assert x["tc_last_reason"] == "range" and x["tc_last_reject_op"] == "sensor"
    # the counter of the last authenticated packet (0x10006: its execution was
    # refused, but its counter is spent), a replay of it or below is refused
    assert x["tc_counter"] == 0x10006
    # a record begun every 5 cycles at most and sealed 3 cycles after its
    # snapshot: the newest valid one is 4 (just sealed) to 8 periods old at the
    # packet's cycle, counted to that cycle's telemetry (80 .. 160 ms)
    assert 0.08 <= x["ckpt_age"] <= 0.16
    cyc = hk[-1]["fields"]["cycle"]
    # records begun at 24 k + (4, 9, 14, 19, 23): every 5 cycles, and a flash
    # write (every 12 cycles) due while no record is being sealed begins one
    # (23 + 24 k; 11 + 24 k falls inside a seal); each is sealed 3 cycles later:
    # seals at 7, 12, 17, 22, then 24 k + (2, 7, 12, 17, 22), in cycles 0 .. cyc-1
    seals = [s for s in range(7, cyc) if s % 24 in (2, 7, 12, 17, 22)]
    assert x["ckpt_seq"] == len(seals)
    # the first housekeeping packet went out before any command
    x0 = ground.executive(hk[0]["fields"])
    assert x0["tc_accepted"] == x0["tc_rejected"] == x0["tc_counter"] == 0
    assert x0["tc_last_reason"] == ""


def test_checkpoint_age_is_none_before_the_first_seal():
    b = _Board(reset_cause=1)
    a = App(b, Config())
    a.handover(500000, -20000, 3000, 0)
    a.step(0)                            # telemetry before the first checkpoint
    assert a.ckpt_age_ms == 0xFFFF
    fields = {"ckpt_age": 65.535, "ckpt_seq": 0}
    assert ground.executive(fields)["ckpt_age"] is None


def test_the_beacon_carries_build_id_reset_cause_and_command_counts_after_landing():
    b = _Board(reset_cause=5)
    a = App(b, Config())
    a.build_id = 0x0A0B
    a.handover(500000, -20000, 3000, 0)
    t = _fly(a, b, 0, 50, {5: tc.build("noop", {}, counter=3, key=KEY),
                          6: tc.build("noop", {}, counter=2, key=KEY)})
    a.touchdown = True
    _fly(a, b, t, 500)
    assert a.mode == MODE_POST
    res = ground.decode(bytes(b.radio.out))
    bc = [p for p in res.packets if p["apid"] == P.APID_BEACON]
    assert bc
    f = bc[-1]["fields"]
    x = ground.executive(f)
    assert f["build_id"] == 0x0A0B and f["cfg_crc"] == a.cfg.crc
    assert x["reset_cause"] == 5 and x["restarts"] == 0
    assert x["tc_accepted"] == 1 and x["tc_rejected"] == 1
    assert x["tc_last_reason"] == "replay" and x["tc_counter"] == 3
    assert f["mode"] == MODE_POST


def test_a_warm_restart_shows_its_count_and_resume_age_in_housekeeping():
    b = _Board(reset_cause=3)
    a = App(b, Config(ckpt_period_ms=100))
    a.handover(500000, -20000, 3000, 0)
    t = _fly(a, b, 0, 100)
    b.radio.out.clear()
    a2 = App(b, Config(ckpt_period_ms=100))          # the reset: same board memory
    assert a2.warm and a2.mode == MODE_POWERED
    _fly(a2, b, t + 15, 300)                         # back 300 ms after the last cycle
    res = ground.decode(bytes(b.radio.out))
    hk = [p for p in res.packets if p["apid"] == P.APID_HOUSEKEEPING]
    assert hk
    x = ground.executive(hk[0]["fields"])
    assert x["restarts"] == 1
    # records begun at cycles 4, 9, .. (every 5; a flash write due between two
    # records begins one: 23, 47, 71, 95), each sealed 3 cycles later: the last
    # before the reset is the snapshot of cycle 95 (t = 1.90 s), resumed at
    # cycle 115 (2.30 s): 400 ms
    assert abs(x["resume_age"] - 0.40) < 1e-9
