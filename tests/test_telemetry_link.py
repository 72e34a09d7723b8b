"""Telemetry end to end: the channel (BER, outage), latency, the black box
under power cuts, hostile decoder input, and the downlink bytes bit-identical
on the three interpreters (heap-locked on the 32-bit one)."""
import copy
import os
import random
import struct

import crcmod.predefined
import pytest
from hypothesis import given, settings, strategies as hs

import host_tools
from host_tools.emu.flash import FlashEmu
from host_tools.emu.replay_guest import RAMFILE_GUEST
from host_tools.ground import decode as ground
from host_tools.sim import runner, scenario
from lander.drivers.storage import Storage
from lander.telemetry import packets as P
from lander.telemetry import rs
from tests.test_drivers_links_pinned import record_seq

_crc = crcmod.predefined.mkCrcFun("crc-ccitt-false")


def _load(name):
    return scenario.load(os.path.join(host_tools.SCENARIOS_DIR, name))


# ---------------------------------------------------------------- channel

@pytest.fixture(scope="module")
def noisy_nominal():
    sc = _load("nominal.toml")
    sc["link"]["ber"] = 1e-4
    r = runner.fly(sc)
    return r, ground.decode(r.downlink), ground.decode(r.received, times=r.received_times)


def test_at_ber_1e4_99_percent_of_critical_samples_arrive_intact(noisy_nominal):
    r, sent, got = noisy_nominal
    tm = r.summary["telemetry"]
    assert tm["critical_sent"] >= 0.99 * r.summary["time_s"] - 2      # >= 1 Hz through the descent
    assert tm["critical_delivered_ratio"] >= 0.99
    assert got.stats["symbols_corrected"] > 0                          # the channel did flip bits


def test_no_corrupted_frame_is_accepted_at_ber_1e4(noisy_nominal):
    _r, sent, got = noisy_nominal
    by_key = {(p["apid"], p["seq"], p["time_s"]): p["raw"] for p in sent.packets}
    for p in got.packets:
        assert by_key[(p["apid"], p["seq"], p["time_s"])] == p["raw"]


def test_a_critical_sample_reaches_the_ground_within_1_5_s(noisy_nominal):
    r, _sent, _got = noisy_nominal
    assert r.summary["telemetry"]["max_latency_s"] <= 1.5


def test_museum_10_delivers_the_critical_state_live_and_through_the_black_box():
    r = runner.fly(_load("museum/10_link_outage_final_30s.toml"))
    tm = r.summary["telemetry"]
    assert tm["critical_delivered_ratio"] >= 0.9
    assert tm["critical_from_blackbox"] > 0                    # the outage was filled from flash
    assert tm["critical_live"] < tm["critical_sent"]           # the live link did miss the end


# ---------------------------------------------------------------- black box

def test_a_thousand_power_cuts_never_read_back_a_corrupt_record_as_valid():
    # batches of 1..8 records written in one write, the power cut during a
    # write (emulated flash keeps a random prefix of it), the store reopened
    # (recovery scan) after every cut; a fresh file every 10 cuts keeps the
    # scans short. Every record read back valid must be one that was written
    # whole, and every record written whole before the cut must be there.
    rng = random.Random(10)
    cuts = 0
    while cuts < 1000:
        fs = FlashEmu()
        st = Storage("/bb.bin", batch=8, opener=fs.open)
        written = {}
        for _ in range(10):
            while True:
                k = rng.randrange(1, 9)
                batch = []
                for _ in range(k):
                    payload = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 42)))
                    batch.append((st.seq, payload))
                    st.append(payload)
                st.flush()
                if rng.random() < 0.5:
                    break
                written.update(batch)
            lost = fs.power_cut(rng=rng)
            cuts += 1
            whole = (st.record_size * k - lost) // st.record_size
            written.update(batch[:whole])
            st = Storage("/bb.bin", batch=8, opener=fs.open)
            out = bytearray(st.payload_max)
            seen = set()
            for i in range(st.count):
                n = st.read_record(i, out)
                seq = record_seq(st, i)
                assert bytes(out[:n]) == written[seq]
                seen.add(seq)
            assert seen == set(written)
    assert cuts == 1000


# ---------------------------------------------------------------- hostile input

def _cadu(frame_body: bytes, e=8) -> bytes:
    """A well-formed CADU around any 126-octet header + data field (good FECF, good RS)."""
    frame = frame_body + struct.pack(">H", _crc(frame_body))
    enc = rs.RsEncoder(e)
    for b in frame:
        enc.feed(b)
    return bytes.fromhex("1ACFFC1D") + frame + bytes(enc.finish())


@settings(max_examples=150)
@given(hs.binary(max_size=3000))
def test_random_bytes_never_raise_and_yield_no_packets(data):
    res = ground.decode(data)
    assert res.packets == []


@settings(max_examples=150)
@given(hs.lists(hs.binary(min_size=126, max_size=126), min_size=1, max_size=6),
       hs.integers(0, 0x7FF), hs.binary(max_size=40))
def test_well_coded_frames_with_lying_pointers_and_lengths_never_raise(bodies, fhp, tail):
    # valid FECF and RS around hostile contents: any first header pointer, any
    # packet version, APID and length field, truncated at the end
    stream = b""
    for k, body in enumerate(bodies):
        b = bytearray(body)
        b[0] &= 0x3F
        b[2] = b[3] = k
        if k == 0:
            b[4] = (b[4] & 0xF8) | (fhp >> 8)
            b[5] = fhp & 0xFF
        stream += _cadu(bytes(b))
    res = ground.decode(stream + tail)
    assert res.stats["frames_ok"] == len(bodies)
    for p in res.packets:                 # what is emitted is a whole packet of the table
        assert p["apid"] in ground.TABLE


@settings(max_examples=60)
@given(hs.integers(0, 10**6), hs.integers(1, 50))
def test_a_real_downlink_damaged_anywhere_never_raises(seed, n):
    rng = random.Random(seed)
    data = bytearray(_real_downlink())
    for _ in range(n):
        op = rng.randrange(3)
        i = rng.randrange(len(data))
        if op == 0:
            data[i] ^= 1 << rng.randrange(8)
        elif op == 1:
            del data[i:i + rng.randrange(1, 300)]
        else:
            data[i:i] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300)))
    res = ground.decode(bytes(data))
    sent = {(p["apid"], p["seq"], p["time_s"]): p["raw"] for p in ground.decode(_real_downlink()).packets}
    for p in res.packets:
        assert sent[(p["apid"], p["seq"], p["time_s"])] == p["raw"]


_DL = []


def _real_downlink():
    if not _DL:
        sc = _load("nominal.toml")
        _DL.append(runner.fly(copy.deepcopy(sc), max_time_s=20.0).downlink)
    return _DL[0]


# ---------------------------------------------------------------- three interpreters

GUEST = """
from lander.telemetry.stage import Telemetry
from lander.drivers.storage import Storage
from lander.compat import heap_lock, heap_unlock
from lander.events import events
events.count = 0                 # a fresh ring in every interpreter
events.head = 0
events.posted = 0
events.dropped = 0
events.now_ms = 0

@RAMFILE@
class Radio:
    def __init__(self):
        self.sum = 0
        self.n = 0
    def free(self):
        return 1000
    def write(self, buf, n):
        s = self.sum
        for i in range(n):
            s = ((s << 5) + (s >> 20) + buf[i]) & 0xFFFFFF
        self.sum = s
        self.n += n
        return n
    def service(self):
        return 0

class O:
    pass

nav = O(); guid = O(); ctrl = O(); app = O(); cfg = O()
for k in ('altitude_mm', 'raw_range_mm', 'alt_innov_mm', 'vz_mm_s', 'vx_mm_s', 'x_mm', 'pitch_bau', 'fault_flags'):
    setattr(nav, k, 0)
guid.phase = 1
guid.propellant_margin_g = 0
ctrl.throttle_q15 = 0
ctrl.pitch_cmd_bau = 0
app.nav = nav; app.guid = guid; app.ctrl = ctrl
app.cycle = 0; app.touchdown = False; app.engine_cut = False; app.events_sent = 0
cfg.rate_hz = 50; cfg.crc = 0x1234
board = O()
board.radio = Radio()
board.storage = Storage('/bb', batch=8, opener=lambda p, m: RamFile(32768))
t = Telemetry(app, board, cfg)

def fly(t, app, nav, n):
    for i in range(n):
        c = app.cycle
        nav.altitude_mm = 500000 - 37 * c
        nav.raw_range_mm = 500000 - 37 * c + (c * 7919) % 301 - 150
        nav.vz_mm_s = -1850 - (c & 15)
        nav.pitch_bau = (c * 13) & 0x7FFF
        if c == 700:
            app.touchdown = True
        t.update((c * 20000) & 0x3FFFFFFF)
        app.cycle = c + 1

fly(t, app, nav, 2)
@LOCK@
fly(t, app, nav, 1200)
@UNLOCK@
print(board.radio.n, board.radio.sum, t.framer.frames, t.enc.counts[0], t.enc.counts[3], t.enc.counts[4])
"""


def test_downlink_bytes_are_identical_on_every_interpreter(interp, run_fw):
    locked = interp == "wasm"
    code = GUEST.replace("@RAMFILE@", RAMFILE_GUEST).replace("@LOCK@", "heap_lock()" if locked else "").replace(
        "@UNLOCK@", "heap_unlock()" if locked else "")
    ref = run_fw("cpython", GUEST.replace("@RAMFILE@", RAMFILE_GUEST).replace("@LOCK@", "").replace("@UNLOCK@", "")).lines()[-1]
    out = run_fw(interp, code).lines()[-1]
    assert out == ref
    n, _sum, frames, crit, bb, beacon = (int(v) for v in out.split())
    assert n == 1202 * 5                       # 2000 bit/s at 50 Hz: 5 octets a cycle
    assert crit >= 14 and bb > 0 and beacon > 0


def test_the_demo_report_counts_every_frame_of_a_real_downlink_as_good():
    from host_tools.demo import _ground_decode

    data = _real_downlink()
    g = _ground_decode(data)
    # the flight ends mid-frame: that last frame is counted truncated, not bad
    assert g["frames_ok"] + g["frames_truncated"] == data.count(bytes.fromhex("1ACFFC1D")) > 1
    assert g["frames_truncated"] == 1 and g["frames_bad"] == 0 and g["packets"] > 0
    # a frame's body overwritten with zeros: counted bad, the others still good
    broken = bytearray(data)
    broken[200:300] = bytes(100)
    h = _ground_decode(bytes(broken))
    assert h["frames_ok"] < g["frames_ok"] and h["frames_ok"] + h["frames_bad"] >= g["frames_ok"] - 1
