"""Engine/gimbal PWM, arm line, leg switches, bus voltage, record storage."""
from __future__ import annotations

import math

import pytest
from hypothesis import given, strategies as st

import host_tools  # noqa: F401
from host_tools.emu import machine as hm
from host_tools.emu.bench import Bench
from host_tools.emu.bus import Faults
from host_tools.emu.engine import EngineEmu
from host_tools.emu.flash import FlashEmu
from host_tools.emu.legs import LegsEmu
from host_tools.emu.power import PowerEmu
from lander.drivers.engine import Engine
from lander.drivers.legs import Legs
from lander.drivers.power import Power
from lander.drivers.storage import Storage, crc16
from lander.events import events
from tests.test_drivers_links_pinned import record_seq

DT = 0.02
BAU_PER_DEG = 65536 / 360.0


def drained():
    out, buf = [], [0, 0, 0]
    while events.pop_into(buf):
        out.append((buf[1], buf[2]))
    return out


def engine_rig(bench, **kw):
    eng_emu = EngineEmu(hold_s=1.0)
    eng_emu.connect(bench.pwm(14), bench.pin(15), bench.pwm(12))
    bench.add_part("engine", eng_emu)
    drv = Engine(hm.PWM(hm.Pin(14)), hm.Pin(15, hm.Pin.OUT), hm.PWM(hm.Pin(12)), **kw)
    return drv, eng_emu


# --- engine -------------------------------------------------------------------
def test_engine_constructor_drives_no_output(bench):
    drv, emu = engine_rig(bench)
    assert bench.pwm(14).duty_ns == 0 and bench.pin(15).out == 0
    assert bench.pwm(14).freq == 50 and not emu.armed and emu.throttle_cmd == 0.0


def test_engine_throttle_maps_to_pulse_width(bench):
    drv, emu = engine_rig(bench)
    drv.arm()
    for q, ns in ((0, 1_000_000), (16384, 1_500_000), (32768, 2_000_000), (8192, 1_250_000)):
        drv.set_throttle(q)
        assert bench.pwm(14).duty_ns == ns
        assert emu.throttle_cmd == pytest.approx(q / 32768, abs=1e-6)
    assert drv.throttle_clamps == 0


@given(st.integers(min_value=-2**29, max_value=2**29))
def test_engine_throttle_clamped_to_part_limits(q):
    b = Bench(0)
    hm.install(b)
    drv = Engine(hm.PWM(hm.Pin(14)), hm.Pin(15, hm.Pin.OUT), hm.PWM(hm.Pin(12)))
    drv.arm()
    drv.set_throttle(q)
    ns = b.pwm(14).duty_ns
    assert 1_000_000 <= ns <= 2_000_000
    assert drv.throttle_clamps == (0 if 0 <= q <= 32768 else 1)
    hm.uninstall()


def test_engine_throttle_below_minimum_raised_and_counted(bench):
    drv, emu = engine_rig(bench, min_throttle=6554)   # 20 %
    drv.arm()
    drv.set_throttle(1000)
    assert drv.throttle == 6554 and drv.throttle_clamps == 1
    drv.set_throttle(0)                                # zero is allowed (cut-off)
    assert drv.throttle == 0 and drv.throttle_clamps == 1


def test_engine_clamp_event_once_per_episode(bench):
    from lander.drivers import engine as e
    drv, _ = engine_rig(bench)
    drained()
    drv.arm()
    for _ in range(5):
        drv.set_throttle(40000)
    drv.set_throttle(100)
    drv.set_throttle(-5)
    codes = [c for c, _ in drained()]
    assert codes.count(e.EV_ENG_THROTTLE_CLAMP) == 2 and drv.throttle_clamps == 6


def test_engine_disarmed_commands_zero_thrust(bench):
    drv, emu = engine_rig(bench)
    drv.set_throttle(20000)
    assert emu.throttle_cmd == 0.0 and bench.pwm(14).duty_ns == 1_000_000
    drv.arm()
    drv.set_throttle(20000)
    assert emu.armed and emu.throttle_cmd == pytest.approx(20000 / 32768, abs=1e-6)
    drv.disarm()
    assert not emu.armed and emu.throttle_cmd == 0.0 and bench.pin(15).out == 0


def test_engine_pitch_maps_and_clamps_to_gimbal_limits(bench):
    drv, emu = engine_rig(bench)
    drv.set_pitch(int(10 * BAU_PER_DEG))
    assert emu.pitch_cmd_rad == pytest.approx(math.radians(10), abs=math.radians(0.02))
    assert 1_500_000 < bench.pwm(12).duty_ns < 2_000_000
    drv.set_pitch(int(-30 * BAU_PER_DEG))              # beyond max_pitch 15 deg
    assert drv.pitch_clamps == 1
    assert emu.pitch_cmd_rad == pytest.approx(math.radians(-15), abs=math.radians(0.02))
    assert 1_000_000 <= bench.pwm(12).duty_ns <= 2_000_000


@given(st.integers(min_value=-2**20, max_value=2**20))
def test_engine_gimbal_pulse_always_within_part_limits(a):
    b = Bench(0)
    hm.install(b)
    drv = Engine(hm.PWM(hm.Pin(14)), hm.Pin(15, hm.Pin.OUT), hm.PWM(hm.Pin(12)))
    drv.set_pitch(a)
    assert 1_000_000 <= b.pwm(12).duty_ns <= 2_000_000
    assert abs(drv.pitch) <= drv.max_pitch
    hm.uninstall()


def test_engine_rejects_impossible_part_limits(bench):
    with pytest.raises(ValueError):
        Engine(hm.PWM(hm.Pin(14)), hm.Pin(15, hm.Pin.OUT), throttle_min_ns=2_000_000,
               throttle_max_ns=1_000_000)


def test_engine_controller_holds_last_command_on_signal_loss(bench):
    drv, emu = engine_rig(bench)
    drv.arm()
    drv.set_throttle(16384)
    hm.PWM(hm.Pin(14)).deinit()                 # board reset: pulses stop
    bench.advance(0.5)
    assert emu.throttle_cmd == pytest.approx(0.5, abs=1e-6)    # within hold_s
    bench.advance(0.6)
    assert emu.throttle_cmd == 0.0


def test_engine_emulator_faults(bench):
    drv, emu = engine_rig(bench)
    drv.arm()
    drv.set_throttle(16384)
    emu.faults.bias = 0.1
    assert emu.throttle_cmd == pytest.approx(0.6, abs=1e-6)
    emu.faults.bias = 0.0
    emu.faults.stuck = True
    drv.set_throttle(32768)
    assert emu.throttle_cmd == pytest.approx(0.6, abs=1e-6)     # frozen
    emu.faults.stuck = False
    emu.faults.saturate = True
    drv.set_throttle(0)
    assert emu.throttle_cmd == 1.0


# --- legs ---------------------------------------------------------------------
def legs_rig(bench, samples=3, chatter=0.0):
    emu = LegsEmu(4, faults=Faults(seed=1))
    emu.chatter_rate = chatter
    pins = [6, 7, 10, 11]
    emu.connect([bench.pin(p) for p in pins])
    bench.add_part("legs", emu)
    drv = Legs([hm.Pin(p, hm.Pin.IN, hm.Pin.PULL_UP) for p in pins], samples=samples)
    return drv, emu


def test_legs_contact_needs_n_consecutive_samples(bench):
    drv, emu = legs_rig(bench, samples=3)
    emu.contacts[1] = True
    assert drv.update() == 0 and drv.update() == 0
    assert drv.update() == 0b0010
    assert drv.any_contact and drv.count == 1 and drv.contact_mask == 0b0010


def test_legs_single_sample_glitch_is_rejected(bench):
    drv, emu = legs_rig(bench, samples=3)
    for i in range(20):
        emu.contacts[0] = (i % 3 == 0)                 # 1 in 3 samples closed
        drv.update()
    assert drv.contact_mask == 0 and not drv.any_contact


def test_legs_release_is_debounced_too(bench):
    drv, emu = legs_rig(bench, samples=2)
    emu.contacts[:] = [True, True, True, False]
    drv.update()
    drv.update()
    assert drv.count == 3
    emu.contacts[0] = False
    drv.update()
    assert drv.count == 3
    drv.update()
    assert drv.count == 2 and drv.contact_mask == 0b0110


def test_legs_chatter_settles_to_contact(bench):
    drv, emu = legs_rig(bench, samples=4, chatter=0.2)
    emu.contacts[:] = [True] * 4
    for _ in range(60):
        drv.update()
    assert drv.count == 4


def test_legs_contact_event_posted(bench):
    from lander.drivers import legs as lg
    drv, emu = legs_rig(bench, samples=1)
    drained()
    emu.contacts[2] = True
    drv.update()
    assert (lg.EV_LEG_CONTACT, 0b0100) in drained()


def test_an_unreadable_leg_switch_keeps_its_state_and_its_debounce_run(bench):
    drv, emu = legs_rig(bench, samples=3)
    emu.contacts[1] = True
    drv.update()                                     # leg 1: one sample of three
    pin = drv._pins_rev[2]                           # leg 1 of 4 (kept last first)
    good = pin.value

    def broken(*a):
        raise OSError(5)
    pin.value = broken
    errors = drv.errors
    assert drv.update() == 0 and drv.update() == 0   # leg 1 unreadable: no change
    assert drv.errors == errors + 2
    pin.value = good
    assert drv.update() == 0                         # its run resumes: 2 of 3
    assert drv.update() == 0b0010


def test_legs_at_rest_after_a_contact_stay_put(bench):
    drv, emu = legs_rig(bench, samples=2)
    emu.contacts[3] = True
    drv.update()
    assert drv.update() == 0b1000
    for _ in range(5):
        assert drv.update() == 0b1000 and drv.raw_mask == 0b1000 and drv.count == 1


# --- power ----------------------------------------------------------------------
def test_power_reads_bus_millivolts(bench):
    emu = PowerEmu()
    bench.adc(28).read_fn = emu.read_u16
    drv = Power(hm.ADC(hm.Pin(28)))
    for v in (28.0, 24.5, 12.0, 3.0):
        emu.voltage_v = v
        assert abs(drv.read() - v * 1000) <= 12        # 1 LSB = 8.9 mV
    assert isinstance(drv.bus_mv, int)


def test_power_low_voltage_event_with_hysteresis(bench):
    from lander.drivers import power as pw
    emu = PowerEmu()
    bench.adc(28).read_fn = emu.read_u16
    drv = Power(hm.ADC(hm.Pin(28)), low_mv=22000)
    drained()
    for v in (28.0, 21.0, 22.1, 21.5, 22.5):
        emu.voltage_v = v
        drv.read()
    ev = [c for c, _ in drained()]
    assert ev == [pw.EV_POWER_LOW, pw.EV_POWER_OK]


def test_power_saturation_reads_full_scale(bench):
    emu = PowerEmu(faults=Faults(saturate=True))
    bench.adc(28).read_fn = emu.read_u16
    drv = Power(hm.ADC(hm.Pin(28)))
    assert drv.read() == 36300


# --- storage ----------------------------------------------------------------------
def test_crc16_ccitt_false_check_value():
    assert crc16(b"123456789", 9) == 0x29B1


def store(fs, **kw):
    return Storage("/bb.bin", opener=fs.open, **kw)


def test_storage_appends_whole_records_in_batches():
    fs = FlashEmu()
    s = store(fs, record_size=32, batch=4)
    for i in range(6):
        assert s.append(bytes([i]) * (i + 1))
    assert len(fs.files["/bb.bin"]) == 4 * 32           # one batch flushed
    s.flush()
    assert len(fs.files["/bb.bin"]) == 6 * 32 and s.count == 6
    out = bytearray(32)
    assert s.read_record(5, out) == 6 and bytes(out[:6]) == bytes([5]) * 6


def test_storage_reopen_continues_sequence():
    fs = FlashEmu()
    s = store(fs, batch=1)
    for i in range(3):
        s.append(b"abc")
    s.close()
    s2 = store(fs, batch=1)
    assert s2.count == 3 and s2.seq == 3 and s2.torn_bytes == 0
    s2.append(b"d")
    assert record_seq(s2, 3) == 3


def test_storage_recovers_after_power_cut_mid_record():
    fs = FlashEmu()
    s = store(fs, record_size=64, batch=1)
    for i in range(5):
        s.append(bytes([i]) * 10)
    s.append(b"torn" * 5)
    lost = fs.power_cut(keep=30)                        # last record: 30 of 64 bytes
    assert lost == 34 and len(fs.files["/bb.bin"]) == 5 * 64 + 30
    s2 = store(fs, record_size=64, batch=1)
    assert s2.count == 5 and s2.torn_bytes == 30 and s2.seq == 5
    s2.append(b"after")
    s2.flush()
    assert len(fs.files["/bb.bin"]) == 6 * 64          # torn tail overwritten
    s3 = store(fs, record_size=64, batch=1)
    out = bytearray(64)
    assert s3.count == 6 and s3.read_record(5, out) == 5 and bytes(out[:5]) == b"after"


def test_storage_power_cut_in_a_batch_keeps_the_whole_records():
    fs = FlashEmu()
    s = store(fs, record_size=32, batch=4)
    for i in range(8):
        s.append(bytes([i]))
    fs.power_cut(keep=70)                               # second batch: 2 whole + 6 bytes
    s2 = store(fs, record_size=32, batch=4)
    assert s2.count == 6 and s2.torn_bytes == 6


def test_storage_whole_size_record_with_bad_crc_is_ignored():
    fs = FlashEmu()
    s = store(fs, record_size=32, batch=1)
    for i in range(3):
        s.append(b"x")
    fs.files["/bb.bin"][-5] ^= 0x40                     # corrupt the last record
    s2 = store(fs, record_size=32, batch=1)
    assert s2.count == 2 and s2.torn_bytes == 32


def test_storage_write_error_counted_not_raised():
    fs = FlashEmu()
    s = store(fs, batch=1)
    fs.fail_writes = True
    assert s.append(b"x") is True and s.errors == 1


def test_storage_rejects_oversize_payload_and_full_store():
    fs = FlashEmu()
    s = store(fs, record_size=16, batch=1, max_records=2)
    assert not s.append(bytes(9))                       # payload_max = 8
    assert s.append(b"a") and s.append(b"b") and not s.append(b"c")
    assert s.dropped == 2


def test_storage_append_allocation_free_path_under_heap_lock_on_cpython():
    from lander.compat import heap_lock, heap_unlock
    fs = FlashEmu()
    s = store(fs, batch=8)
    data = bytearray(b"0123456789")
    heap_lock()
    try:
        for _ in range(7):
            s.append(data, 10)
    finally:
        heap_unlock()
    assert s.pending == 7


# --- 32-bit MicroPython: per-cycle methods allocate nothing -----------------------
_GUEST = r'''
from array import array
from lander.compat import heap_lock, heap_unlock
from lander.drivers.engine import Engine
from lander.drivers.legs import Legs
from lander.drivers.power import Power
from lander.drivers.radio import Radio
from lander.drivers.storage import Storage

class FakePwm:
    def __init__(self):
        self.ns = 0
        self.f = 0
    def freq(self, f):
        self.f = f
    def duty_ns(self, ns):
        self.ns = ns

class FakePin:
    def __init__(self, seq):
        self.seq = seq
        self.i = 0
        self.v = 0
    def value(self, x=None):
        if x is None:
            r = self.seq[self.i % len(self.seq)]
            self.i += 1
            return r
        self.v = x

class FakeAdc:
    def __init__(self):
        self.v = 1000
    def read_u16(self):
        self.v = (self.v * 75 + 12345) & 0xFFFF
        return self.v

class FakeUart:
    def __init__(self):
        self.total = 0
        self.last = 0
    def write(self, b):
        n = len(b)
        self.total += n
        self.last = b[n - 1] if n else 0
        return n

class FakeFile:
    def __init__(self):
        self.n = 0
        self.crc = 0
    def readinto(self, b):
        return 0
    def seek(self, p):
        return p
    def write(self, b):
        n = len(b)
        self.n += n
        self.crc = (self.crc + b[n - 1]) & 0xFFFF
        return n
    def flush(self):
        pass

ff = FakeFile()
def opener(path, mode):
    return ff

thr = FakePwm()
gim = FakePwm()
eng = Engine(thr, FakePin(b"\x00"), gim, min_throttle=6554)
legs = Legs([FakePin(b"\x01\x01\x00\x00\x00\x00"), FakePin(b"\x00"), FakePin(b"\x01"),
             FakePin(b"\x00\x01")], samples=3)
pw = Power(FakeAdc(), low_mv=20000)
u = FakeUart()
radio = Radio(u, baudrate=9600, period_us=20000, ring_size=512)
st = Storage("/bb", record_size=32, batch=4, opener=opener)
frame = bytearray(100)
for i in range(100):
    frame[i] = (i * 37) & 0xFF
rec = bytearray(b"blackbox-record!")
N = 200
out = array("i", bytes(4 * 8 * N))
heap_lock()
for k in range(N):
    eng.arm()
    eng.set_throttle(k * 331 - 20000)
    eng.set_pitch(k * 97 - 9000)
    legs.update()
    pw.read()
    if k % 2 == 0:
        radio.write(frame)
    radio.service()
    if k % 10 == 0:
        st.append(rec, 16)
    o = 8 * k
    out[o] = thr.ns
    out[o + 1] = gim.ns
    out[o + 2] = legs.contact_mask
    out[o + 3] = pw.bus_mv
    out[o + 4] = radio.bytes_sent
    out[o + 5] = radio.bytes_dropped
    out[o + 6] = ff.n
    out[o + 7] = ff.crc
heap_unlock()
for k in range(N):
    o = 8 * k
    print(out[o], out[o + 1], out[o + 2], out[o + 3], out[o + 4], out[o + 5], out[o + 6], out[o + 7])
print(eng.throttle_clamps, eng.pitch_clamps, radio.writes_dropped, u.total, u.last)
'''


def test_actuator_and_storage_cycle_methods_heap_locked_match_on_every_interpreter(interp):
    from tests import harness
    ref = harness.run_firmware("cpython", _GUEST).stdout
    got = harness.run_firmware(interp, _GUEST)
    assert got.stdout == ref
    last = ref.splitlines()[-1].split()
    assert int(last[0]) > 0 and int(last[1]) > 0 and int(last[2]) > 0   # clamps and drops happened

# --- across a reset -----------------------------------------------------------------
def test_engine_command_held_across_a_board_reset():
    from host_tools.emu.bench import load_board, sim_bench
    bench = sim_bench(seed=0)
    try:
        board = load_board("sim", bench)
        board.engine.arm()
        board.engine.set_throttle(16384)
        eng = bench.parts["engine"]
        bench.advance(0.1)
        bench.hardware_reset(hm.WDT_RESET)          # pulses stop, arm pin floats low
        bench.advance(0.3)                          # reboot_s
        assert eng.armed and eng.throttle_cmd == pytest.approx(0.5, abs=1e-4)
        board = load_board("sim", bench)            # warm restart: constructors drive nothing
        assert eng.throttle_cmd == pytest.approx(0.5, abs=1e-4)
        board.engine.arm()
        board.engine.set_throttle(19661)
        assert eng.armed and eng.throttle_cmd == pytest.approx(0.6, abs=1e-4)
        assert hm.reset_cause() == hm.WDT_RESET
    finally:
        hm.uninstall()


def test_engine_cut_when_the_reset_outlasts_the_hold():
    from host_tools.emu.bench import load_board, sim_bench
    bench = sim_bench(seed=0)
    try:
        board = load_board("sim", bench)
        board.engine.arm()
        board.engine.set_throttle(16384)
        eng = bench.parts["engine"]
        bench.hardware_reset()
        bench.advance(1.2)                          # > engine hold (1.0 s)
        assert not eng.armed and eng.throttle_cmd == 0.0
    finally:
        hm.uninstall()
