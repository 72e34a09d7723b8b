"""Attitude-control unit: the driver against the emulator (written from
docs/protocols.md), the documented example frames, acknowledgement tracking."""
import math

import host_tools  # noqa: F401
from host_tools.emu import attitude as acu_emu
from host_tools.emu.attitude import AttitudeUnitEmu
from host_tools.emu.bench import Bench
from host_tools.emu.bus import Faults
from lander.drivers import INVALID, NOT_READY, OK
from lander.drivers import attitude as acu
from lander.drivers.attitude import AttitudeUnit
from lander.events import events

DT = 0.02


def drained():
    out, buf = [], [0, 0, 0]
    while events.pop_into(buf):
        out.append((buf[1], buf[2]))
    return out


class Rig:
    def __init__(self, seed=0, travel_deg=60.0, **fault_kw):
        self.bench = Bench(seed)
        self.emu = AttitudeUnitEmu(travel_deg=travel_deg, faults=Faults(seed=seed, **fault_kw))
        uart = self.bench.uart(3)
        uart.attach(self.emu)
        self.bench.add_part("attitude", self.emu)
        self.uart = uart
        self.drv = AttitudeUnit(uart)
        drained()

    def cycle(self, angle):
        self.drv.set_pitch(angle)
        self.bench.advance(DT)


def test_documented_example_frames():
    # docs/protocols.md: -30 deg = -5461 -> A5 01 07 02 AB EA 61, answered A5 81 07 03 00 AB EA E0
    r = Rig()
    r.drv.seq = 6
    r.drv.set_pitch(-5461)
    assert bytes(r.uart.tx_log[-7:]) == bytes.fromhex("A50107 02ABEA61".replace(" ", ""))
    r.bench.advance(DT)
    assert r.uart.read() == bytes.fromhex("A581070300ABEAE0")
    assert acu_emu.frame(0x81, 7, bytes([0, 0xAB, 0xEA])) == bytes.fromhex("A5810703 00ABEAE0".replace(" ", ""))


def test_set_point_reaches_the_unit_and_is_acknowledged_next_cycle():
    r = Rig()
    r.cycle(3000)
    assert r.emu.setpoint == 3000
    assert math.isclose(r.emu.pitch_cmd_rad, 3000 / 65536 * 2 * math.pi)
    r.cycle(-2000)
    assert r.drv.status == OK and r.drv.applied == 3000 and r.drv.acks == 1
    r.cycle(-2000)
    assert r.drv.applied == -2000 and r.drv.missed == 0


def test_the_full_sixty_degree_range_passes_and_beyond_is_clamped_by_the_driver():
    r = Rig()
    sixty = 60 * 65536 // 360
    r.cycle(sixty)
    assert r.emu.setpoint == sixty
    r.cycle(-40000)
    assert r.drv.setpoint == -sixty and r.emu.setpoint == -sixty


def test_a_unit_with_less_travel_clamps_and_the_driver_reports_it():
    r = Rig(travel_deg=20.0)
    r.cycle(5000)
    r.cycle(5000)
    assert r.drv.applied == round(20 / 360 * 65536)
    assert (acu.EV_ACU_LIMITED, r.drv.applied) in drained()


def test_bad_check_byte_is_refused_with_a_nak():
    r = Rig()
    r.uart.write(bytes.fromhex("A501070200 1000".replace(" ", "")) + bytes([0x00]))
    r.bench.advance(DT)
    assert r.emu.naks == 1 and r.emu.setpoint == 0
    r.drv.poll()
    assert r.drv.naks == 1
    assert (acu.EV_ACU_NAK, 1) in drained()


def test_unknown_command_and_wrong_length_are_refused():
    r = Rig()
    r.uart.write(acu_emu.frame(0x33, 1))
    r.uart.write(acu_emu.frame(0x01, 2, b"\x01"))
    r.bench.advance(DT)
    r.drv.poll()
    reasons = [a for c, a in drained() if c == acu.EV_ACU_NAK]
    assert reasons == [2, 3]


def test_garbage_before_a_frame_is_skipped():
    r = Rig()
    r.uart.write(b"\x00\x13\xA5\xA5")
    r.cycle(1234)
    assert r.emu.setpoint == 1234


def test_silent_unit_raises_no_ack_once_then_back():
    r = Rig(dropouts=[[0.0, 0.3]])
    statuses = [None]
    for _ in range(25):                       # 0.5 s: silent for the first 0.3 s
        r.cycle(100)
        statuses.append(r.drv.status)
    ev = drained()
    assert ev.count((acu.EV_ACU_NO_ACK, 5)) == 1
    assert INVALID in statuses and NOT_READY in statuses
    assert statuses[-1] == OK
    assert any(c == acu.EV_ACU_BACK for c, _ in ev)


def test_set_point_is_held_when_the_commands_stop():
    r = Rig()
    r.cycle(4000)
    for _ in range(100):
        r.bench.advance(DT)
    assert r.emu.setpoint == 4000


class _Line:
    """A UART that delivers given bytes once (the driver's view of the line)."""

    def __init__(self):
        self.rx = b""

    def write(self, b):
        return len(b)

    def readinto(self, mv, n):
        k = min(n, len(self.rx))
        for i in range(k):
            mv[i] = self.rx[i]
        self.rx = self.rx[k:]
        return k


def test_an_acknowledgement_alone_on_the_line_is_taken_only_with_its_check_byte():
    # the parser's fast path (exactly this cycle's 8-byte acknowledgement)
    # must agree with the general one: a bad check byte is an error, not an ack
    line = _Line()
    drv = AttitudeUnit(line)
    drv.set_pitch(-5461)                      # seq 1
    good = acu_emu.frame(0x81, 1, bytes([0, 0xAB, 0xEA]))
    line.rx = good[:7] + bytes([good[7] ^ 1])
    drv.poll()
    assert drv.acks == 0 and drv.errors == 1 and drv.applied == 0
    line.rx = good
    drv.poll()
    assert drv.acks == 1 and drv.status == OK and drv.applied == -5461
    # an acknowledgement of another sequence number is not this cycle's
    drv.set_pitch(100)                        # seq 2, the unit answers seq 1 again
    line.rx = good
    drv.poll()
    assert drv.acks == 1 and drv.missed == 1
