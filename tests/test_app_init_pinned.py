"""A fresh App (App.__init__, a cold boot with no checkpoint) pinned field by
field: the configuration kept and the rates derived from it, every counter
and time at zero, every flag down, the not-yet values (-1, 0xFFFF, the
unusable sensor statuses, SAFE), the board's parts looked up (attitude unit,
spare IMU, the sensors the mask can disable, the watchdog's start, the reset
cause, the opener of the key and checkpoint files), the boot events, the
checkpoint layout and stores, the stages wired together. Values by hand."""
from array import array

import pytest

from lander import app as A
from lander import checkpoint as C
from lander.app import App
from lander.build import BUILD_ID
from lander.config import CFG_BAD_CRC, CFG_OUT_OF_RANGE, Config
from lander.drivers import BUS_ERROR
from tests.app_fakes import CountingWdt, PartlessBoard, drain_events, fresh_event_ring  # noqa: F401

pytestmark = pytest.mark.usefixtures("fresh_event_ring")


class _KeyFile:
    def __init__(self, data):
        self.data = data

    def read(self):
        return self.data

    def close(self):
        pass


class _Parts(PartlessBoard):
    """A board with every part the constructor looks up."""

    def __init__(self):
        self.imu = object()
        self.imu2 = object()
        self.altimeter = object()
        self.attitude = object()
        self.wdt = CountingWdt()
        self.rtc = object()
        self.reset_cause = 5
        self.opened = []

    def opener(self, path, mode):
        self.opened.append((path, mode))
        if path == "/tc.key":
            return _KeyFile(b"k" * 16)
        raise OSError(2)


def _fresh(board=None, cfg=None, **kw):
    drain_events()
    a = App(board or PartlessBoard(), cfg, **kw)
    return a, [e for e in drain_events() if e[0] < 0x100]


# ------------------------------------------------------------ configuration and rates
def test_the_given_configuration_is_kept_and_the_rates_derived_from_it():
    cfg = Config(rate_hz=40, ckpt_period_ms=100, ckpt_flash_ms=250)
    a, _ = _fresh(cfg=cfg)
    assert a.cfg is cfg and a.nav.cfg is cfg and a.cfg_status == 0
    # 1e6 / 40 = 25000 us; checkpoint every 100 * 40 / 1000 = 4 cycles, flash every 10
    assert (a.rate_hz, a.period_us, a._period_ms) == (40, 25000, 25)
    assert (a.ckpt_every, a.ckpt_flash_every) == (4, 10)


def test_without_a_configuration_the_defaults_are_flown():
    a, _ = _fresh()
    assert isinstance(a.cfg, Config) and a.cfg.crc == Config().crc
    assert (a.rate_hz, a.period_us, a._period_ms, a.ckpt_every, a.ckpt_flash_every) == \
        (50, 20000, 20, 5, 12)


def test_the_build_id_is_the_builds():
    a, _ = _fresh()
    assert a.build_id == BUILD_ID == 0 and type(a.build_id) is int


# ------------------------------------------------------------ cold state
COUNTERS = ("cycle", "overruns", "stage_faults", "report_mask", "watchdog_feeds", "last_us",
            "events_sent", "mode_refusals", "cycle_us", "cycle_max_us", "overrun_window",
            "_landed_cycles", "restarts", "resume_age_us", "_gap_us", "_ckpt_count",
            "_ckpt_flash_count", "_snap_cycle")
FLAGS = ("started", "touchdown", "engine_cut", "degraded", "beacon_on", "warm", "_hint_ok",
         "_flash_due")


@pytest.mark.parametrize("name", COUNTERS)
def test_every_counter_and_time_starts_at_zero(name):
    a, _ = _fresh()
    v = getattr(a, name)
    assert v == 0 and type(v) is int


@pytest.mark.parametrize("name", FLAGS)
def test_every_flag_starts_down(name):
    a, _ = _fresh()
    assert getattr(a, name) is False


def test_the_not_yet_values():
    a, _ = _fresh()
    assert (a.mode, a.bit_result, a.arm_input_level, a.first_command_us) == (A.MODE_SAFE, -1, -1, -1)
    assert a.ckpt_age_ms == 0xFFFF and a._gimbal_sent is None
    assert (a.imu_status, a.imu2_status, a.alt_status) == (BUS_ERROR,) * 3


@pytest.mark.parametrize("name,n", [("stage_us", 6), ("stage_max_us", 6), ("stage_fault_count", 6),
                                    ("_hint", 6)])
def test_the_arrays_start_zeroed_as_signed_words(name, n):
    a, _ = _fresh()
    v = getattr(a, name)
    assert isinstance(v, array) and v.typecode == "i" and list(v) == [0] * n


def test_the_boot_time_is_the_clock_at_the_start(monkeypatch):
    monkeypatch.setattr(A, "ticks_us", lambda: 123456)
    a, _ = _fresh()
    assert a.boot_us == 123456


# ------------------------------------------------------------ the board's parts
def test_the_parts_of_the_board_are_looked_up():
    b = _Parts()
    a, _ = _fresh(b)
    assert a._acu is b.attitude and a._imu2 is b.imu2
    assert a._sensor_drv == [b.imu, b.imu2, b.altimeter]
    assert a._wdt_start == b.wdt.start and b.wdt.starts == 0
    assert a.reset_cause == 5 and a.sensor_mask == 0xFF


def test_a_partless_board_gives_no_parts():
    class _Wdt0:
        def feed(self):
            pass

    b = PartlessBoard()
    b.wdt = _Wdt0()
    a, _ = _fresh(b)
    assert a._acu is None and a._imu2 is None and a._sensor_drv == [None, None, None]
    assert a._wdt_start is None and a.reset_cause == 0
    assert a.ckpt_rtc is None and a.ckpt_file is None


def test_the_configured_sensor_mask_is_applied_at_boot():
    b = _Parts()
    a, ev = _fresh(b, Config(sensor_mask=0xFB))
    assert a.sensor_mask == 0xFB and isinstance(b.altimeter, A._SensorOff)
    assert b.altimeter.driver is a._sensor_drv[2] and a._imu2 is a._sensor_drv[1]
    assert (A.EV_SENSOR_MASK, 0xFB) in ev


def test_the_navigation_restart_hooks_are_looked_up():
    a, _ = _fresh()
    assert a._nav_pitch == a.nav.restart_pitch
    assert a._nav_gap == getattr(a.nav, "restart_gap", None)


# ------------------------------------------------------------ boot events
def test_the_boot_posts_the_config_crc_and_the_reset_cause():
    b = _Parts()
    cfg = Config()
    a, ev = _fresh(b, cfg)
    assert ev == [(A.EV_BOOT, cfg.crc), (A.EV_RESET_CAUSE, 5), (A.EV_CKPT_NONE, 1)]


@pytest.mark.parametrize("kw,arg", [({}, CFG_BAD_CRC << 8),
                                    ({"cfg_arg": 0x1FF}, (CFG_OUT_OF_RANGE << 8) | 0xFF)])
def test_a_refused_configuration_is_posted_with_its_reason_and_field(kw, arg):
    status = CFG_BAD_CRC if not kw else CFG_OUT_OF_RANGE
    a, ev = _fresh(cfg=Config(), cfg_status=status, **kw)
    assert a.cfg_status == status
    assert ev == [(A.EV_BOOT, a.cfg.crc), (A.EV_RESET_CAUSE, 0), (A.EV_CONFIG_BAD, arg),
                  (A.EV_CKPT_NONE, 1)]


# ------------------------------------------------------------ telecommands, checkpoint, stages
def test_the_telecommand_key_comes_through_the_boards_opener():
    b = _Parts()
    a, _ = _fresh(b)
    assert a.cmd.app is a and a.cmd.mac is not None and ("/tc.key", "rb") in b.opened


def test_the_checkpoint_holds_the_app_then_nav_guidance_control_words():
    a, _ = _fresh()
    assert (a._ck_nav, a._ck_guid, a._ck_ctrl, a.ckpt.n) == (8, 8 + 32, 8 + 32 + 9, 8 + 32 + 9 + 7)
    assert a.ckpt.slot_bytes == 4 * (3 + 56 + 1)


def test_the_checkpoint_stores_of_a_board_with_rtc_memory_and_a_file():
    b = _Parts()
    a, _ = _fresh(b)
    assert isinstance(a.ckpt_rtc, C.RtcStore) and a.ckpt_rtc.rtc is b.rtc
    f = a.ckpt_file
    assert isinstance(f, C.FileStore) and (f.path, f.slot_size) == ("/ckpt.bin", a.ckpt.slot_bytes)
    assert f._open == b.opener and ("/ckpt.bin", "rb") in b.opened


def test_the_stages_are_wired_together():
    a, _ = _fresh()
    assert a.guid._ctrl is a.ctrl and a.tlm.app is a


def test_a_period_of_a_fraction_of_a_ms_keeps_whole_ms():
    a, _ = _fresh(cfg=Config(rate_hz=30))
    assert (a.period_us, a._period_ms) == (33333, 33) and type(a._period_ms) is int


def test_a_board_object_without_sensor_attributes_builds_an_app():
    class _Bare:
        wdt = None
        engine = None

    a, _ = _fresh(_Bare())
    assert a._sensor_drv == [None, None, None] and a._imu2 is None and a._acu is None


def test_a_navigation_with_a_restart_gap_hook_is_told_the_gap(monkeypatch):
    class _GapNav(A.Nav):
        def restart_gap(self, gap_us):
            self.gaps.append(gap_us)

    monkeypatch.setattr(A, "Nav", _GapNav)
    a, _ = _fresh()
    a.nav.gaps = []
    assert a._nav_gap == a.nav.restart_gap
    a.handover(100000, -5000, 0, 0)
    a._gap_us, a._ck_ticks, a.boot_us = -1, 1000000, 1000000
    a.step(1250000)
    assert a.nav.gaps == [250000]


def test_a_navigation_without_restart_hooks_builds_an_app_without_them(monkeypatch):
    class _NoHooks:
        def __init__(self, cfg):
            self.cfg = cfg

    monkeypatch.setattr(A, "Nav", _NoHooks)
    a, _ = _fresh()
    assert a._nav_gap is None and a._nav_pitch is None


def test_without_the_telecommand_module_the_app_has_no_commands(monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "lander.commands", None)     # import raises ImportError
    a, _ = _fresh()
    assert a.cmd is None
