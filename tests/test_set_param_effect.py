"""A set_param telecommand takes effect or is refused (config.IN_FLIGHT,
config.AT_BOOT): never accepted and flown without effect. The in-flight
parameters that the stages build terms from (the altimeter's boresight, the
low gate) are re-derived at once by Nav.configure / Guidance.configure, pinned
here on hand-computed values and, on the 32-bit interpreter, under heap_lock."""
import math

import pytest

from lander import commands as cm
from lander import config as c
from lander.app import App, MODE_POWERED, MODE_SAFE
from lander.config import Config, index_of
from tests.app_fakes import PARTLESS_BOARD_GUEST, PartlessBoard, fresh_event_ring  # noqa: F401

pytestmark = pytest.mark.usefixtures("fresh_event_ring")


def _powered():
    a = App(PartlessBoard(), Config())
    a.handover(500000, -20000, 3000, 0)
    assert a.mode == MODE_POWERED
    return a


def test_the_altimeter_boresight_set_in_flight_turns_the_slant_range_correction_at_once():
    a = _powered()
    assert (a.nav._sin_b, a.nav._cos_b) == (0, 32767)         # boresight on the thrust axis
    assert a.cmd_set_param(index_of("altimeter_beam_bau"), 8192) == 0     # 45 deg
    assert a.cfg.altimeter_beam_bau == 8192
    # sin 45 = cos 45 = 0.70711 -> 23170.5 in Q15
    assert abs(a.nav._sin_b - 23170.5) <= 1 and abs(a.nav._cos_b - 23170.5) <= 1
    assert a.cmd_set_param(index_of("altimeter_beam_bau"), -2731) == 0    # -15.0 deg
    s, co = math.sin(math.radians(-2731 * 360 / 65536)), math.cos(math.radians(-2731 * 360 / 65536))
    assert abs(a.nav._sin_b - s * 32768) <= 2 and abs(a.nav._cos_b - co * 32768) <= 2
    assert a.nav._sin_b < 0


def test_the_low_gate_set_in_flight_moves_the_terminal_ramp_at_once():
    a = _powered()
    # defaults: gate 25 m at 2.0 m/s, touchdown 0.7 m/s
    assert a.guid._ramp_q20 == (1300 << 20) // 25000 and a.guid._term_ms == 50000000 // 2700
    assert a.cmd_set_param(index_of("terminal_vz_mm_s"), 1200) == 0
    assert a.guid._ramp_q20 == (500 << 20) // 25000 == 20971
    assert a.guid._term_ms == 50000000 // 1900 == 26315
    assert a.cmd_set_param(index_of("terminal_alt_mm"), 40000) == 0
    assert a.guid._ramp_q20 == (500 << 20) // 40000 == 13107
    assert a.guid._term_ms == 80000000 // 1900 == 42105


@pytest.mark.parametrize("name", [c.FIELDS[i][0] for i in c.AT_BOOT])
def test_a_parameter_built_in_at_boot_is_refused_in_safe_and_nothing_changes(name):
    a = App(PartlessBoard(), Config())
    assert a.mode == MODE_SAFE
    i = index_of(name)
    _, default, lo, hi = c.FIELDS[i]
    value = lo if lo != default else hi           # a valid value, not the one it has
    crc = a.cfg.crc
    assert a.cmd_set_param(i, value) == cm.REJ_MODE
    assert getattr(a.cfg, name) == default and a.cfg.crc == crc


def test_the_parameters_built_in_at_boot_are_these():
    # each is read only while the stages are built (the period, gain tables,
    # mass and flow model, re-plan period, checkpoint and telemetry schedules)
    # or by nothing at all (the last three of the first line's kind)
    assert sorted(c.FIELDS[i][0] for i in c.AT_BOOT) == sorted([
        "rate_hz", "gravity_mm_s2", "dry_mass_g", "propellant_g", "max_thrust_mn", "isp_s",
        "max_pitch_bau", "site_x_mm", "replan_cycles", "max_pitch_rate_bau_s", "engine_lag_ms",
        "braking_pitch_bau", "safe_vz_mm_s", "ckpt_period_ms", "ckpt_flash_ms",
        "tlm_bitrate_bps", "tlm_frame_len", "tlm_rs_e",
        "descent_tau_ms", "max_descent_mm_s", "vel_gain_q15"])


def test_the_in_flight_parameters_are_not_built_in_at_boot():
    assert not set(c.IN_FLIGHT) & set(c.AT_BOOT)
    assert {c.FIELDS[i][0] for i in c.IN_FLIGHT} == {"terminal_alt_mm", "terminal_vz_mm_s", "altimeter_beam_bau",
                                "max_divert_mm"}


@pytest.mark.parametrize("name", ["min_throttle_q15", "touchdown_vz_mm_s", "reserve_g", "hover_max_ms",
                                  "bench_mode", "att_tau_ms"])
def test_a_parameter_read_each_cycle_is_set_in_safe_within_its_bounds(name):
    a = App(PartlessBoard(), Config())
    i = index_of(name)
    _, default, lo, hi = c.FIELDS[i]
    assert a.cmd_set_param(i, hi + 1) == cm.REJ_RANGE
    assert a.cmd_set_param(i, lo - 1) == cm.REJ_RANGE and getattr(a.cfg, name) == default
    assert a.cmd_set_param(i, hi) == 0
    assert getattr(a.cfg, name) == hi and a.cfg.crc == a.cfg.compute_crc() == Config(**{name: hi}).crc


def test_a_parameter_read_each_cycle_is_refused_in_flight():
    a = _powered()
    assert a.cmd_set_param(index_of("reserve_g"), 3000) == cm.REJ_MODE and a.cfg.reserve_g == 2000


SET_IN_FLIGHT = """
from lander.compat import heap_lock, heap_unlock
from lander.app import App
from lander.config import Config, index_of
""" + PARTLESS_BOARD_GUEST + """
app = App(B(), Config())
app.handover(500000, -20000, 3000, 0)
app.step(0)
beam = index_of("altimeter_beam_bau")
gate = index_of("terminal_vz_mm_s")
heap_lock()
r1 = app.cmd_set_param(beam, 8192)
r2 = app.cmd_set_param(gate, 1200)
heap_unlock()
print(r1, r2, app.nav._sin_b, app.nav._cos_b, app.guid._ramp_q20, app.guid._term_ms)
"""


def test_an_in_flight_set_param_allocates_nothing_and_matches_on_every_interpreter(run_fw):
    ref = run_fw("cpython", SET_IN_FLIGHT).stdout.split()
    assert ref[:2] == ["0", "0"] and ref[4:] == ["20971", "26315"]
    assert run_fw("wasm", SET_IN_FLIGHT).stdout.split() == ref
