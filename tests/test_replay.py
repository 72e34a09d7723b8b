"""A recorded flight (every bus byte the firmware read on the host bench, and
the clock) re-flown inside each interpreter gives the same engine commands
and state, cycle for cycle; on the 32-bit interpreter under heap_lock."""
import json

import pytest

from host_tools.demo import fly_vertical
from host_tools.emu.bench import board_wiring
from lander.config import FIELDS
from lander.replay import Recording, ReplayMismatch

GUEST = """
import io
import json
from array import array
from lander.replay import (Recording, ReplayI2C, ReplayUART, ReplayPin, ReplayPWM,
                           ReplayADC, ReplayWDT, install)
from lander.board import Board, Watchdog, build_drivers
from lander.app import App
from lander.config import Config
from lander.compat import heap_lock, heap_unlock

def load(name):
    f = open(DATA_DIR + '/' + name, 'rb')
    d = f.read()
    f.close()
    return d

w = json.loads(load('wiring.json'))
cfg_values = json.loads(load('config.json'))
cfg = Config(**cfg_values)
rec = Recording(load('rec.bin'))
install(rec)
buses = {}
for name in w['buses']:
    buses[name] = ReplayI2C(rec) if w['buses'][name][0] == 'i2c' else ReplayUART(rec)
board = Board('sim')
build_drivers(board, w, buses, ReplayPin, ReplayPWM, ReplayADC, rate_hz=cfg.rate_hz,
              opener=lambda path, mode: io.BytesIO())
board.wdt = Watchdog(ReplayWDT, w['wdt_ms'])
app = App(board, cfg)
h = json.loads(load('handover.json'))
app.handover(h[0], h[1], h[2], h[3])
N = MAXCYCLES
BLOCK = 100                       # cycles between prints (the guest heap is small)
out = array('i', bytes(4 * 7 * BLOCK))

def fly(app, rec, out, n):
    i = 0
    while i < n:
        now = rec.next_cycle()
        if now < 0:
            break
        app.step(now)
        eng = app.board.engine
        k = 7 * i
        out[k] = eng.throttle_ns
        out[k + 1] = eng.gimbal_ns
        out[k + 2] = app.nav.altitude_mm
        out[k + 3] = app.nav.vz_mm_s
        out[k + 4] = app.ctrl.throttle_q15
        out[k + 5] = app.guid.phase
        out[k + 6] = app.stage_faults
        i += 1
    return i

done = 0
n = 0                             # bound before the heap is locked
while done < N:
    @LOCK@
    n = fly(app, rec, out, BLOCK if N - done > BLOCK else N - done)
    @UNLOCK@
    for i in range(n):
        print(' '.join([str(out[7 * i + j]) for j in range(7)]))
    done += n
    if n == 0:
        break
print('replayed', done, rec.mismatches, board.failed)
"""


@pytest.fixture(scope="module")
def recorded_flight():
    rec = {}
    report = fly_vertical(altitude_m=500.0, recording=rec)
    assert report.outcome == "landed"
    cfg = rec["config"]
    data = {
        "rec.bin": rec["bytes"],
        "wiring.json": json.dumps(board_wiring("sim")).encode(),
        "config.json": json.dumps({name: getattr(cfg, name) for name, _ in FIELDS}).encode(),
        "handover.json": json.dumps([500000, -10000, 0, 0]).encode(),
    }
    return rec, data


def _expected(rec, n):
    return [" ".join(str(v) for v in o) for o in rec["outputs"][:n]] + ["replayed %d 0 []" % n]


def test_recorded_flight_replays_identically_on_every_interpreter(interp, run_fw, recorded_flight):
    rec, data = recorded_flight
    n = len(rec["outputs"])
    code = GUEST.replace("MAXCYCLES", str(n)).replace("@UNLOCK@", "pass").replace("@LOCK@", "pass")
    result = run_fw(interp, code, data=data)
    assert result.lines() == _expected(rec, n)


def test_recorded_flight_replays_without_allocation_on_32bit(run_fw, recorded_flight):
    rec, data = recorded_flight
    n = len(rec["outputs"])
    code = GUEST.replace("MAXCYCLES", str(n)).replace("@UNLOCK@", "heap_unlock()").replace("@LOCK@", "heap_lock()")
    result = run_fw("wasm", code, data=data)
    assert result.lines() == _expected(rec, n)


def test_replay_raises_a_mismatch_when_the_firmware_calls_out_of_order():
    from host_tools.emu.record import Recorder
    r = Recorder()
    r.cycle(20000)
    r.int_(3)
    rec = Recording(bytes(r.data))
    assert rec.next_cycle() == 20000
    with pytest.raises(ReplayMismatch):
        rec.into(bytearray(4), 4)     # a bytes read where the recording has an int
    assert rec.mismatches == 1


def test_replay_raises_the_recorded_bus_error():
    from host_tools.emu.record import Recorder
    r = Recorder()
    r.error(OSError(5))
    rec = Recording(bytes(r.data))
    with pytest.raises(OSError):
        rec.int_or_none()


def test_replay_of_a_corrupted_recording_does_not_match(run_fw, recorded_flight):
    # The comparison can fail: flip one bit of the first IMU burst that the
    # driver accepts (STATUS_REG with both data-ready bits set), in the high
    # byte of accel z (the last of the 16 bytes STATUS..OUTZ_H_A).
    rec, data = recorded_flight
    blob = bytearray(data["rec.bin"])
    p = 0
    while not (blob[p] == ord("B") and blob[p + 1] == 16 and blob[p + 3] & 0x03 == 0x03):
        p = blob.index(b"B\x10\x00", p + 1)
    blob[p + 3 + 15] ^= 0x01
    n = 50
    code = GUEST.replace("MAXCYCLES", str(n)).replace("@UNLOCK@", "pass").replace("@LOCK@", "pass")
    result = run_fw("cpython", code, data=dict(data, **{"rec.bin": bytes(blob)}))
    assert result.lines() != _expected(rec, n)
