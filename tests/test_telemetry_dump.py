"""The dump_blackbox telecommand: after landing (POST_LANDING) it starts the
downlink of a range of black-box records, oldest first, each once, ahead of
the rolling newest-first passes; refused before POST_LANDING or for a record
that is not there. Checked through the uplink (the App's command path, and the
simulator's [[commands]]) and the ground decoder: every record of the range
delivered, none lost, equal to what the flash holds."""
import copy
import os

import pytest

import host_tools
from host_tools.emu.flash import FlashEmu
from host_tools.ground import command as tc
from host_tools.ground import decode as ground
from host_tools.ground.events import name as event_name
from host_tools.sim import runner, scenario
from lander import commands as cm
from lander.app import App, MODE_LANDED, MODE_POST
from lander.config import Config
from lander.drivers.storage import Storage
from lander.telemetry import packets as P
from tests.app_fakes import PartlessBoard, fly_cycles, fresh_event_ring, FakeRadio  # noqa: F401


pytestmark = pytest.mark.usefixtures("fresh_event_ring")


KEY = tc.DEFAULT_KEY


class _Board(PartlessBoard):
    def __init__(self):
        self.fs = FlashEmu()
        self.fs.files["/tc.key"] = bytearray(KEY)
        self.opener = self.fs.open
        self.radio = FakeRadio()
        self.storage = Storage("/blackbox.bin", batch=8, opener=self.fs.open)


def _landed_app(flight_cycles=400):
    runner._reset_event_ring()           # no event of an earlier test in the downlink
    b = _Board()
    a = App(b, Config())
    a.handover(500000, -20000, 3000, 0)
    for i in range(flight_cycles):
        a.step(i * 20000)
    a.touchdown = True
    return a, b, flight_cycles


def test_dump_is_refused_before_post_landing_and_for_a_record_not_there():
    a, b, k = _landed_app()
    k = fly_cycles(a, k, 10)
    assert a.mode == MODE_LANDED
    k = fly_cycles(a, k, 1, tc.build("dump_blackbox", {"start": 0, "count": 0}, counter=1, key=KEY))
    assert a.cmd.last_reason == cm.REJ_MODE and a.tlm.dumps == 0
    k = fly_cycles(a, k, 260)
    assert a.mode == MODE_POST
    n = b.storage.count
    k = fly_cycles(a, k, 1, tc.build("dump_blackbox", {"start": n, "count": 1}, counter=2, key=KEY))
    assert a.cmd.last_reason == cm.REJ_RANGE and a.tlm.dumps == 0
    k = fly_cycles(a, k, 1, tc.build("dump_blackbox", {"start": 2, "count": 3}, counter=3, key=KEY))
    assert a.cmd.accepted == 1 and a.tlm.dumps == 1
    assert (a.tlm.dump_next, a.tlm.dump_end) == (2, 5)


def test_a_dump_delivers_every_record_of_the_range_oldest_first_none_lost():
    a, b, k = _landed_app()
    k = fly_cycles(a, k, 300)                         # LANDED -> POST_LANDING after 5 s
    assert a.mode == MODE_POST and a.tlm.bb.frozen
    st = b.storage
    n = st.count
    # a record every 10 cycles (one waits a cycle when a packet was built
    # in its cycle) over 400 cycles of descent + 150 on the ground before the
    # freeze: at most 55
    assert 50 <= n <= 55
    k = fly_cycles(a, k, 1, tc.build("dump_blackbox", {"start": 0, "count": 0}, counter=1, key=KEY))
    assert a.cmd.accepted == 1
    # 57-octet packets at 250 octets/s, beside the beacon: ~4 records a second
    k = fly_cycles(a, k, 50 * (n // 3 + 5))
    assert a.tlm.dump_sent == n and a.tlm.dump_lost == 0
    res = ground.decode(bytes(b.radio.out))
    assert res.stats["frames_bad_rs"] == res.stats["frames_bad_crc"] == 0
    evs = [(j, event_name(p["fields"]["ev_code"]), p["fields"]["ev_arg"])
           for j, p in enumerate(res.packets) if p["apid"] == P.APID_EVENT]
    start = [e for e in evs if e[1] == "EV_BB_DUMP"]
    done = [e for e in evs if e[1] == "EV_BB_DUMP_DONE"]
    assert [e[2] for e in start] == [n] and [e[2] for e in done] == [n]
    # the records between the two events: the dump, in order, each once
    dump = [p for j, p in enumerate(res.packets)
            if p["apid"] == P.APID_BLACKBOX and start[0][0] < j < done[0][0]]
    seqs = [p["fields"]["bb_seq"] for p in dump]
    assert seqs == list(range(n))
    # each equal to what the flash holds (the record's own layout)
    rec = bytearray(len(a.tlm.bb.rec))
    import struct
    for p in dump[::7]:
        i = p["fields"]["bb_seq"]
        assert st.read_record(i, rec) == len(rec)
        assert bytes.fromhex(p["hex"])[P.HEADER_LEN + 4:] == bytes(rec)
        assert p["raw"]["bb_time"] == struct.unpack_from(">I", rec, 0)[0]
    # afterwards the rolling passes resume where they were (newest first, one
    # record per second of flight: 5 records apart, back to the newest)
    after = [p["fields"]["bb_seq"] for j, p in enumerate(res.packets)
             if p["apid"] == P.APID_BLACKBOX and j > done[0][0]]
    assert len(after) > 2
    assert all(y == x - 5 or (x < 5 and y == n - 1) for x, y in zip(after, after[1:]))


def test_the_sims_dump_command_after_landing_delivers_the_black_box():
    sc = scenario.load(os.path.join(host_tools.SCENARIOS_DIR, "hopper.toml"))
    sc["post_touchdown_s"] = 30.0
    # the hopper lands at 36.4 s: POST_LANDING 5 s later; the dump at 44 s
    sc["commands"] = [{"t_s": 44.0, "command": "dump_blackbox", "args": {"start": 0, "count": 40}}]
    r = runner.fly(copy.deepcopy(sc))
    assert r.summary["outcome"] == "landed" and r.summary["touchdown"]["t_s"] < 38.0
    assert r.summary["events"].get("command_dump_blackbox") == 1
    assert r.summary["events"].get("EV_BB_DUMP") == 1
    got = ground.decode(r.received, frame_len=128, rs_e=8)
    evs = [(j, event_name(p["fields"]["ev_code"]), p["fields"]["ev_arg"])
           for j, p in enumerate(got.packets) if p["apid"] == P.APID_EVENT]
    start = [e for e in evs if e[1] == "EV_BB_DUMP"]
    done = [e for e in evs if e[1] == "EV_BB_DUMP_DONE"]
    assert [e[2] for e in start] == [40] and [e[2] for e in done] == [40]
    seqs = [p["fields"]["bb_seq"] for j, p in enumerate(got.packets)
            if p["apid"] == P.APID_BLACKBOX and start[0][0] < j < done[0][0]]
    assert seqs == list(range(40))

