"""The flight loop skeleton: stages in order, faults contained, watchdog fed
only when every stage reported, allocation-free and bit-identical cycles."""
import pytest

from host_tools.demo import fly_vertical
from lander.app import App, ST_ALL, ST_SAMPLE
from lander.config import Config
from tests.app_fakes import PARTLESS_BOARD_GUEST, PartlessBoard


class _Board(PartlessBoard):
    """A board with no parts: every stage still runs (the skeleton's fallbacks)."""


class _Wdt:
    def __init__(self):
        self.feeds = 0

    def feed(self):
        self.feeds += 1


class _FailingAltimeter:
    def read(self):
        raise OSError(5)


def test_demo_descent_lands_softly_with_the_firmware_in_the_loop():
    report = fly_vertical(altitude_m=500.0)
    assert report.outcome == "landed"
    assert abs(report.vz_mps) <= 3.0
    assert report.stage_faults == 0
    assert report.max_alt_error_m < 5.0
    assert report.engine_cut


def test_a_raising_driver_is_contained_and_the_watchdog_is_not_fed():
    board = _Board()
    board.altimeter = _FailingAltimeter()
    board.wdt = _Wdt()
    app = App(board, Config())
    app.handover(100000, -5000, 0, 0)
    for i in range(10):
        app.step(i * 20000)
    assert app.cycle == 10
    assert app.stage_faults == 10
    assert app.report_mask == ST_ALL & ~ST_SAMPLE
    assert board.wdt.feeds == 0


def test_watchdog_is_fed_once_per_cycle_when_every_stage_reported():
    board = _Board()
    board.wdt = _Wdt()
    app = App(board, Config())
    app.handover(100000, -5000, 0, 0)
    for i in range(5):
        app.step(i * 20000)
    assert board.wdt.feeds == 5


def test_clock_wrap_at_2_30_keeps_the_nominal_period():
    wrapped = App(_Board(), Config())
    wrapped.handover(100000, 0, 0, 0)
    wrapped.step(0x3FFFFFFF - 4999)
    wrapped.step(15000)            # 20000 us later, across the 2^30 wrap
    plain = App(_Board(), Config())
    plain.handover(100000, 0, 0, 0)
    plain.step(0)
    plain.step(20000)
    assert wrapped.nav.vz_mm_s == plain.nav.vz_mm_s
    assert wrapped.nav.altitude_mm == plain.nav.altitude_mm


CYCLES = """
from lander.compat import heap_lock, heap_unlock
from lander.app import App
from lander.config import Config
""" + PARTLESS_BOARD_GUEST + """
app = App(B(), Config())
app.handover(500000, -20000, 3000, 0)
def fly(app, n):
    t = 0
    for i in range(n):
        app.step(t)
        t += 20000
LOCK
fly(app, 400)
UNLOCK
print(app.nav.altitude_mm, app.nav.vz_mm_s, app.nav.vx_mm_s, app.nav.pitch_bau,
      app.ctrl.throttle_q15, app.ctrl.pitch_cmd_bau, app.ctrl.mass_mg, app.guid.phase, app.stage_faults)
"""


def test_loop_cycles_are_bit_identical_on_every_interpreter(interp, run_fw):
    code = CYCLES.replace("UNLOCK", "").replace("LOCK", "")
    expected = run_fw("cpython", code).stdout
    assert run_fw(interp, code).stdout == expected
    assert expected.split()[-1] == "0"   # no stage fault


def test_loop_cycles_allocate_nothing_under_heap_lock_on_32bit(run_fw):
    code = CYCLES.replace("UNLOCK", "heap_unlock()").replace("LOCK", "heap_lock()")
    result = run_fw("wasm", code)
    assert result.stdout.split()[-1] == "0", "a stage failed under heap_lock: " + result.stdout
