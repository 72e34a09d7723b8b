"""The flight executive: modes and refused transitions, interlocks, stage
timing and fault containment, configuration file, and the nominal cycle with
checkpointing allocation-free on the 32-bit interpreter."""
import pytest

from host_tools.board.deploy import config_json
from lander import app as app_mod
from lander.app import (App, MODE_ARMED, MODE_BIT, MODE_LANDED, MODE_POST, MODE_POWERED,
                        MODE_SAFE, ST_ALL, ST_GUIDE)
from lander.config import (CFG_BAD_CRC, CFG_BAD_MAGIC, CFG_MISSING, CFG_OK, CFG_OUT_OF_RANGE,
                           FIELDS, Config)
from lander.events import events
from tests.app_fakes import PartlessBoard, fresh_event_ring  # noqa: F401

# A board with an RTC memory, a flash file, a radio with nothing on the uplink:
# the fakes copy into buffers made at start-up (nothing allocates per call).
BOARD = """
class Rtc:
    def __init__(self):
        self.mem = bytearray(2048)          # ESP32's RTC user memory
        self.n = 0
    def memory(self, data=None):
        if data is None:
            return bytes(self.mem[0:self.n])
        self.mem[0:len(data)] = data
        self.n = len(data)
class File:
    def __init__(self, buf):
        self.buf = buf
        self.pos = 0
    def seek(self, p):
        self.pos = p
    def write(self, b):
        n = len(b)
        self.buf[self.pos:self.pos + n] = b
        self.pos += n
        return n
    def flush(self):
        pass
    def read(self):
        return bytes(self.buf)
    def close(self):
        pass
FLASH = bytearray(512)
def opener(path, mode):
    if path != '/ckpt.bin':
        raise OSError(2)
    return File(FLASH)
class Radio:
    def receive(self, buf):
        return 0
class Wdt:
    def __init__(self):
        self.feeds = 0
    def start(self):
        pass
    def feed(self):
        self.feeds += 1
class B:
    imu = None
    altimeter = None
    legs = None
    engine = None
    def __init__(self):
        self.wdt = Wdt()
        self.rtc = Rtc()
        self.radio = Radio()
        self.opener = opener
"""


_Board = PartlessBoard


def _app(**cfg):
    return App(_Board(), Config(**cfg))


def test_handover_takes_the_preflight_modes_to_powered_descent():
    a = _app()
    assert a.mode == MODE_SAFE
    a.handover(100000, -5000, 0, 0)
    assert a.mode == MODE_POWERED
    assert a.bit_result == 0


def test_an_illegal_transition_is_refused_with_a_reason(fresh_event_ring):
    # the ring starts empty: a full one (other tests' events) drops the post
    a = _app()
    posted = events.posted
    assert not a.set_mode(MODE_LANDED)          # SAFE -> LANDED is not a transition
    assert a.mode == MODE_SAFE and a.mode_refusals == 1
    assert events.posted == posted + 1
    code = events.codes[(events.head - 1) % events.capacity]
    arg = events.args[(events.head - 1) % events.capacity]
    assert code == app_mod.EV_MODE_REFUSED and arg == (app_mod.WHY_ILLEGAL << 4) | MODE_LANDED


def test_a_refused_configuration_refuses_to_arm():
    a = App(_Board(), Config(), cfg_status=CFG_BAD_CRC)
    assert not a.arm()
    assert a.mode == MODE_SAFE


class _Pin:
    def __init__(self, v):
        self.v = v

    def value(self):
        return self.v


def test_the_hardware_arm_input_must_be_set_to_arm():
    b = _Board()
    b.arm_input = _Pin(0)
    a = App(b, Config())
    assert not a.arm() and a.mode == MODE_SAFE
    b.arm_input = _Pin(1)
    assert a.arm() and a.mode == MODE_ARMED


class _Engine:
    def __init__(self):
        self.armed = False
        self.throttle = []

    def arm(self):
        self.armed = True

    def disarm(self):
        self.armed = False

    def set_throttle(self, q):
        self.throttle.append(q if self.armed else 0)

    def set_pitch(self, p):
        pass


def test_bench_mode_runs_the_loop_with_the_engine_never_armed():
    b = _Board()
    b.engine = _Engine()
    a = App(b, Config(bench_mode=1))
    a.handover(100000, -30000, 0, 0)
    for i in range(10):
        a.step(i * 20000)
    assert a.mode == MODE_POWERED
    assert not b.engine.armed and set(b.engine.throttle) == {0}
    assert a.ctrl.throttle_q15 > 0                  # control still computes


def test_touchdown_goes_landed_then_post_landing_with_the_beacon():
    a = _app()
    a.handover(1000, -1000, 0, 0)
    a.touchdown = True
    a.step(0)
    assert a.mode == MODE_LANDED
    for i in range(1, 5 * 50 + 1):
        a.step(i * 20000)
    assert a.mode == MODE_POST and a.beacon_on


def test_a_stage_raising_every_nth_cycle_is_counted_and_the_watchdog_skips_those_cycles():
    a = _app()
    wdt = type("W", (), {"feeds": 0, "feed": lambda self: setattr(self, "feeds", self.feeds + 1)})()
    a.board.wdt = wdt
    a.handover(500000, -20000, 0, 0)
    real = a.guid.update
    calls = [0]

    def flaky(nav, td):
        calls[0] += 1
        if calls[0] % 7 == 0:
            raise ValueError("injected")
        real(nav, td)
    a.guid.update = flaky
    for i in range(70):
        a.step(i * 20000)
    assert a.stage_faults == 10
    assert a.stage_fault_count[2] == 10             # guidance's bit is 2
    assert wdt.feeds == 60
    assert a.cycle == 70


def test_a_slow_stage_shows_in_the_stage_timing():
    from lander import compat
    clock = [0]
    compat.set_clock_us(lambda: clock[0])
    try:
        a = _app()
        a.handover(500000, -20000, 0, 0)
        real = a.guid.update

        def slow(nav, td):
            clock[0] += 15000                      # 15 ms of guidance
            real(nav, td)
        a.guid.update = slow
        for i in range(3):
            clock[0] = i * 20000
            a.step(clock[0])
    finally:
        compat.set_clock_us(None)
    assert a.stage_max_us[2] == 15000
    assert a.stage_us[1] == 0 and a.cycle_us == 15000


def test_run_forever_degrades_the_rate_when_overruns_persist():
    a = _app()
    a.handover(500000, -20000, 0, 0)
    assert a.degrade() and a.rate_hz == 25 and a.period_us == 40000
    assert a.degrade() and a.rate_hz == 12
    assert not a.degrade() and a.rate_hz == 12     # never below 10 Hz


def test_config_file_round_trips_and_names_what_is_wrong():
    import json

    from lander.config import CFG_BAD_COUNT, describe, from_json
    good = config_json(Config(site_x_mm=1234))
    cfg, why, arg = from_json(good)
    assert why == CFG_OK and cfg.site_x_mm == 1234 and cfg.crc == Config(site_x_mm=1234).crc
    assert from_json("[1, 2]")[1] == CFG_BAD_MAGIC
    d = json.loads(good)
    d["crc"] ^= 1
    assert from_json(json.dumps(d))[1] == CFG_BAD_CRC
    d = json.loads(good)
    d["params"]["nope"] = 1
    assert from_json(json.dumps(d))[1] == CFG_BAD_COUNT
    d = json.loads(good)
    d["params"]["rate_hz"] = "fast"               # not an integer: named
    cfg, why, arg = from_json(json.dumps(d))
    assert why == CFG_OUT_OF_RANGE and FIELDS[arg][0] == "rate_hz" and cfg.rate_hz == 50
    bad = config_json(Config(rate_hz=500))
    cfg, why, arg = from_json(bad)
    assert why == CFG_OUT_OF_RANGE and FIELDS[arg][0] == "rate_hz"
    assert describe(why, arg) == "config key rate_hz not an integer in 10..100"


def test_a_refused_config_names_its_field_in_the_boot_event():
    from host_tools.sim import runner
    from lander.config import index_of
    runner._reset_event_ring()
    posted = events.posted
    App(_Board(), Config(), cfg_status=CFG_OUT_OF_RANGE, cfg_arg=index_of("tlm_rs_e"))
    codes = [(events.codes[(events.head - 1 - j) % events.capacity],
              events.args[(events.head - 1 - j) % events.capacity]) for j in range(events.posted - posted)]
    assert (app_mod.EV_CONFIG_BAD, (CFG_OUT_OF_RANGE << 8) | index_of("tlm_rs_e")) in codes


def test_every_scenario_config_is_within_limits():
    import glob
    import os

    import host_tools
    from host_tools.sim import runner, scenario
    root = os.path.dirname(host_tools.FIRMWARE_DIR)
    for path in sorted(glob.glob(os.path.join(root, "scenarios", "**", "*.toml"), recursive=True)):
        cfg = runner.firmware_config(scenario.load(path))
        assert cfg.check() == -1, (path, FIELDS[cfg.check()][0])


CYCLES = BOARD + """
from lander.compat import heap_lock, heap_unlock
from lander.app import App
from lander.config import Config
b = B()
app = App(b, Config(ckpt_period_ms=100, ckpt_flash_ms=1000))
app.handover(500000, -20000, 3000, 0)
def fly(app, n):
    t = 0
    for i in range(n):
        app.step(t)
        t += 20000
LOCK
fly(app, 400)
UNLOCK
print(app.ckpt.sealed, app.ckpt_rtc.writes, app.ckpt_file.writes, app.ckpt.seq,
      b.wdt.feeds, app.stage_faults)
"""


def test_nominal_cycle_with_checkpointing_allocates_nothing_on_32bit(run_fw):
    code = CYCLES.replace("UNLOCK", "heap_unlock()").replace("LOCK", "heap_lock()")
    out = run_fw("wasm", code).stdout.split()
    # 400 cycles: records begun every 5 cycles (4, 9, .., 399: 80, the last still
    # being sealed: 79), flash due every 50 (49, .., 399: written with the record
    # begun then, the last pending: 7); the RTC image every cycle (the hint)
    assert out == ["79", "400", "7", "79", "400", "0"], out


def test_warm_restart_resumes_the_sealed_state_on_every_interpreter(interp, run_fw):
    # the record begun at cycle 399 (the snapshot) is sealed over cycles 400-402
    code = CYCLES.replace("UNLOCK", "").replace("LOCK", "") + """
alt = app.nav.altitude_mm
thr = app.ctrl.throttle_q15
for i in range(400, 403):
    app.step(i * 20000)
app2 = App(b, Config(ckpt_period_ms=100, ckpt_flash_ms=1000))
print(app2.mode, app2.warm, app2.nav.altitude_mm == alt,
      app2.ctrl.throttle_q15 == thr, app2.restarts)
app2.step(402 * 20000 + 300000)
print(app2.resume_age_us, app2.stage_faults)
"""
    out = run_fw(interp, code).stdout.split()
    assert out[6:] == ["3", "True", "True", "True", "1", "360000", "0"], out


def test_deployed_config_json_is_checked_for_version_crc_and_limits(tmp_path):
    import json

    from lander import config as c
    params = {"site_x_mm": 4321}
    good = {"version": 1, "params": params, "crc": Config(**params).crc, "calibration": {}}
    cfg, why, _ = c.from_json(json.dumps(good))
    assert why == CFG_OK and cfg.site_x_mm == 4321
    assert c.from_json(json.dumps(dict(good, crc=good["crc"] ^ 1)))[1] == CFG_BAD_CRC
    assert c.from_json(json.dumps(dict(good, version=2)))[1] == c.CFG_BAD_VERSION
    assert c.from_json(json.dumps(dict(good, params={"nope": 1})))[1] == c.CFG_BAD_COUNT
    bad = {"rate_hz": 1000}
    r = c.from_json(json.dumps({"version": 1, "params": bad, "crc": Config(**bad).crc}))
    assert r[1] == CFG_OUT_OF_RANGE and FIELDS[r[2]][0] == "rate_hz"
    assert c.from_json("{not json")[1] == CFG_BAD_MAGIC
    assert c.load_json(str(tmp_path / "absent.json"))[1] == CFG_MISSING
