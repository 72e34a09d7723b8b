"""The sensor enable mask (config key sensor_mask, telecommand `sensor part
on`): a disabled sensor's driver is not called (no bus transfer), its status
reads DISABLED in the critical packet, re-enabling puts the real driver back,
and the mask survives a warm restart."""
from array import array

import pytest

from host_tools.ground import command as tc
from host_tools.ground import decode as ground
from host_tools.sim import runner
from lander import app as app_mod
from lander import commands as cm
from lander.app import App, MODE_POWERED, SENSOR_ALT, SENSOR_IMU2
from lander.config import Config, index_of
from lander.drivers import DISABLED, OK
from lander.telemetry import packets as P
from tests.app_fakes import fly_cycles, fresh_event_ring, FakeRadio, FakeRtc  # noqa: F401


pytestmark = pytest.mark.usefixtures("fresh_event_ring")


KEY = tc.DEFAULT_KEY


class _Imu:
    def __init__(self):
        self.accel_mm_s2 = array("i", (0, 0, 1620))
        self.gyro_urad_s = array("i", (0, 0, 0))
        self.status = OK
        self.reads = 0

    def read(self):
        self.reads += 1
        return OK


class _Alt:
    enabled = True

    def __init__(self):
        self.range_mm = 500000
        self.status = OK
        self.reads = 0

    def read(self):
        self.reads += 1
        self.range_mm -= 400
        return OK


class _KeyFile:
    def read(self):
        return KEY

    def close(self):
        pass


class _Board:
    legs = None
    engine = None
    wdt = None

    def __init__(self):
        self.imu = _Imu()
        self.imu2 = _Imu()
        self.altimeter = _Alt()
        self.radio = FakeRadio()
        self.rtc = FakeRtc()

    def opener(self, path, mode):
        if path == "/tc.key":
            return _KeyFile()
        raise OSError(2)


def test_a_sensor_disabled_by_the_config_is_never_read_and_reads_disabled():
    runner._reset_event_ring()
    b = _Board()
    alt = b.altimeter
    a = App(b, Config(sensor_mask=0xFF & ~(1 << SENSOR_ALT)))
    a.handover(500000, -20000, 3000, 0)
    fly_cycles(a, 0, 100)
    assert alt.reads == 0 and b.imu.reads >= 100
    assert a.alt_status == DISABLED and a.sensor_mask == 0xFB
    res = ground.decode(bytes(b.radio.out))
    crit = [p for p in res.packets if p["apid"] == P.APID_CRITICAL]
    assert crit and all(p["fields"]["alt_status"] == DISABLED for p in crit[1:])
    ev = [(p["fields"]["ev_code"], p["fields"]["ev_arg"]) for p in res.packets if p["apid"] == P.APID_EVENT]
    assert (app_mod.EV_SENSOR_MASK, 0xFB) in ev


def test_the_sensor_telecommand_stops_and_restarts_reading_in_flight():
    b = _Board()
    alt = b.altimeter
    a = App(b, Config())
    a.handover(500000, -20000, 3000, 0)
    k = fly_cycles(a, 0, 50)
    r0 = alt.reads
    assert r0 >= 50
    k = fly_cycles(a, k, 50, tc.build("sensor", {"part": SENSOR_ALT, "on": 0}, counter=1, key=KEY))
    assert a.cmd.accepted == 1 and a.sensor_mask == 0xFB
    assert alt.reads == r0                    # the command ran before the sample: no read since
    assert a.alt_status == DISABLED and b.altimeter is not alt
    k = fly_cycles(a, k, 50, tc.build("sensor", {"part": SENSOR_ALT, "on": 1}, counter=2, key=KEY))
    assert b.altimeter is alt and alt.reads == r0 + 50 and a.alt_status == OK
    # a part the executive cannot disable is refused
    fly_cycles(a, k, 1, tc.build("sensor", {"part": 3, "on": 0}, counter=3, key=KEY))
    assert a.cmd.last_reason == cm.REJ_RANGE and a.sensor_mask == 0xFF


def test_disabling_the_spare_imu_stops_its_reads():
    b = _Board()
    imu1, imu2 = b.imu, b.imu2
    a = App(b, Config(sensor_mask=0xFF & ~(1 << SENSOR_IMU2) & ~1))   # both IMUs off
    a.handover(500000, -20000, 3000, 0)
    fly_cycles(a, 0, 20)
    assert imu1.reads == 0 and imu2.reads == 0
    assert a.imu_status == DISABLED and a.imu2_status == DISABLED


def test_the_mask_survives_a_warm_restart():
    b = _Board()
    alt = b.altimeter
    a = App(b, Config(ckpt_period_ms=100))
    a.handover(500000, -20000, 3000, 0)
    k = fly_cycles(a, 0, 20, tc.build("sensor", {"part": SENSOR_ALT, "on": 0}, counter=1, key=KEY))
    assert a.sensor_mask == 0xFB
    b.altimeter = alt                                  # the board is built again at boot
    a2 = App(b, Config(ckpt_period_ms=100))
    assert a2.warm and a2.mode == MODE_POWERED and a2.sensor_mask == 0xFB
    r = alt.reads
    fly_cycles(a2, k + 10, 10)
    assert alt.reads == r and a2.alt_status == DISABLED


def test_set_param_applies_the_mask_and_refuses_the_telemetry_framing_built_at_boot():
    b = _Board()
    a = App(b, Config())
    assert a.cmd_set_param(index_of("sensor_mask"), 0xFB) == 0
    assert a.sensor_mask == 0xFB and b.altimeter.__class__.__name__ == "_SensorOff"
    crc = a.cfg.crc
    # the framer is built at boot from tlm_frame_len / tlm_rs_e (config.AT_BOOT):
    # refused even in SAFE, a valid value too, and nothing changes
    assert a.cmd_set_param(index_of("tlm_rs_e"), 16) == cm.REJ_MODE
    assert a.cmd_set_param(index_of("tlm_frame_len"), 200) == cm.REJ_MODE
    assert a.cfg.tlm_rs_e == 8 and a.cfg.tlm_frame_len == 128 and a.cfg.crc == crc
