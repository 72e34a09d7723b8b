"""BMP390 driver: integer compensation against the datasheet float formula,
and the driver against its register-level emulator (each fault a test)."""
from __future__ import annotations

import struct

import pytest
from hypothesis import given, strategies as st

from host_tools.emu.bmp390 import NVM_DEFAULT, NVM_FORMAT, NVM_ORDER, Bmp390Emu
from host_tools.emu.bus import EmuI2C, Faults
from lander.drivers import BUS_ERROR, INVALID, NOT_READY, OK, OUT_OF_RANGE, REINIT, DeviceError
from lander.drivers import bmp390 as bmp_mod
from lander.drivers.bmp390 import Bmp390
from lander.events import events

# Tolerances of the integer compensation against the float reference
TOL_CPA = 2          # 0.02 Pa (measured worst case 1.6 cPa over 3000 random parts)
TOL_CDEG = 1         # 0.01 degC


# -- the datasheet's float compensation, written here from the datasheet ------
# (BMP390 datasheet appendix: "Calibration coefficient" conversion and the
# "Compensation formula in floating point"), independent of emulator and driver.
def par_float(n):
    return {
        "T1": n["T1"] * 2.0 ** 8, "T2": n["T2"] / 2.0 ** 30, "T3": n["T3"] / 2.0 ** 48,
        "P1": (n["P1"] - 16384) / 2.0 ** 20, "P2": (n["P2"] - 16384) / 2.0 ** 29,
        "P3": n["P3"] / 2.0 ** 32, "P4": n["P4"] / 2.0 ** 37, "P5": n["P5"] * 8.0,
        "P6": n["P6"] / 2.0 ** 6, "P7": n["P7"] / 2.0 ** 8, "P8": n["P8"] / 2.0 ** 15,
        "P9": n["P9"] / 2.0 ** 48, "P10": n["P10"] / 2.0 ** 48, "P11": n["P11"] / 2.0 ** 65,
    }


def ref_temperature(par, uncomp_temp):
    partial_data1 = uncomp_temp - par["T1"]
    partial_data2 = partial_data1 * par["T2"]
    return partial_data2 + (partial_data1 * partial_data1) * par["T3"]


def ref_pressure(par, uncomp_press, t_lin):
    partial_data1 = par["P6"] * t_lin
    partial_data2 = par["P7"] * (t_lin * t_lin)
    partial_data3 = par["P8"] * (t_lin * t_lin * t_lin)
    partial_out1 = par["P5"] + partial_data1 + partial_data2 + partial_data3
    partial_data1 = par["P2"] * t_lin
    partial_data2 = par["P3"] * (t_lin * t_lin)
    partial_data3 = par["P4"] * (t_lin * t_lin * t_lin)
    partial_out2 = uncomp_press * (par["P1"] + partial_data1 + partial_data2 + partial_data3)
    partial_data1 = uncomp_press * uncomp_press
    partial_data2 = par["P9"] + par["P10"] * t_lin
    partial_data3 = partial_data1 * partial_data2
    partial_data4 = partial_data3 + (uncomp_press * uncomp_press * uncomp_press) * par["P11"]
    return partial_out1 + partial_out2 + partial_data4


# A real part's NVM and one raw sample with its published compensated result
# (elixir-sensors/bmp3xx test/bmp3xx/bmp388/measurement_test.exs: DATA_0..5 =
# 151 159 109 115 216 133 -> 100876.00634692199 Pa, 30.499314453874284 degC).
VECTOR_NVM = dict(T1=27427, T2=18776, T3=-10, P1=-164, P2=-2866, P3=35, P4=0, P5=25578,
                  P6=31086, P7=-13, P8=-10, P9=17322, P10=18, P11=-60)
VECTOR_DATA = bytes((151, 159, 109, 115, 216, 133))
VECTOR_PA = 100876.00634692199
VECTOR_C = 30.499314453874284


def nvm_bytes(n):
    return struct.pack(NVM_FORMAT, *(n[k] for k in NVM_ORDER))


class Clock:
    def __init__(self):
        self.now_s = 0.0

    def tick(self, dt=0.02):
        self.now_s += dt


def rig(faults=None, nvm=None, **kw):
    clock = Clock()
    emu = Bmp390Emu(faults=faults, nvm=nvm)
    bus = EmuI2C(bus_id=0, clock=clock)
    bus.attach(0x77, emu)
    drv = Bmp390(bus, addr=0x77, **kw)
    return clock, emu, drv


_DRV = None


def compensator(nvm):
    """A driver instance (made once against the emulator) loaded with `nvm`."""
    global _DRV
    if _DRV is None:
        _DRV = rig()[2]
    _DRV._load_calibration(bytearray(nvm_bytes(nvm)))
    return _DRV


def drain_events():
    out, buf = [], [0, 0, 0]
    while events.pop_into(buf):
        out.append((buf[1], buf[2]))
    return out


@pytest.fixture(autouse=True)
def _clear_events():
    drain_events()
    yield
    drain_events()


# -- compensation ----------------------------------------------------------------

def test_bmp390_float_reference_reproduces_published_vector():
    par = par_float(VECTOR_NVM)
    d = VECTOR_DATA
    up = d[0] | d[1] << 8 | d[2] << 16
    ut = d[3] | d[4] << 8 | d[5] << 16
    t = ref_temperature(par, ut)
    assert t == pytest.approx(VECTOR_C, abs=1e-9)
    assert ref_pressure(par, up, t) == pytest.approx(VECTOR_PA, abs=1e-6)


def test_bmp390_integer_compensation_reproduces_published_vector():
    drv = compensator(VECTOR_NVM)
    d = VECTOR_DATA
    assert drv._compensate(d[0] | d[1] << 8 | d[2] << 16, d[3] | d[4] << 8 | d[5] << 16) == OK
    assert abs(drv.pressure_cpa - VECTOR_PA * 100) <= TOL_CPA
    assert abs(drv.temperature_cdeg - VECTOR_C * 100) <= TOL_CDEG
    assert drv.pressure_cpa == 10087601 and drv.temperature_cdeg == 3050   # golden


def _perturbed(draw_ints):
    n = dict(VECTOR_NVM)
    for k, v in zip(sorted(n), draw_ints):
        n[k] += v
    return n


nvm_strategy = st.fixed_dictionaries({
    "T1": st.integers(26000, 29000), "T2": st.integers(17000, 21000), "T3": st.integers(-16, -4),
    "P1": st.integers(-1500, 1500), "P2": st.integers(-4500, -1500), "P3": st.integers(20, 50),
    "P4": st.integers(-5, 5), "P5": st.integers(24000, 27000), "P6": st.integers(29000, 33000),
    "P7": st.integers(-25, -5), "P8": st.integers(-20, 0), "P9": st.integers(15000, 19000),
    "P10": st.integers(0, 30), "P11": st.integers(-90, -30),
})


@given(nvm_strategy, st.floats(-40.0, 85.0), st.floats(30000.0, 125000.0))
def test_bmp390_integer_compensation_matches_float_reference(nvm, temp_c, press_pa):
    emu = Bmp390Emu(nvm=nvm)
    up, ut = emu.raw_from_physical(press_pa, temp_c)
    par = par_float(nvm)
    t_ref = ref_temperature(par, ut)
    p_ref = ref_pressure(par, up, t_ref)
    drv = compensator(nvm)
    drv._compensate(up, ut)
    assert abs(drv.temperature_cdeg - t_ref * 100) <= TOL_CDEG
    assert abs(drv.pressure_cpa - p_ref * 100) <= TOL_CPA


@given(nvm_strategy, st.integers(0, 2 ** 24 - 1), st.integers(0, 2 ** 24 - 1))
def test_bmp390_compensation_stays_31_bit_for_any_adc_values(nvm, up, ut):
    # Range checking (LANDER_RANGE_CHECK) asserts |x| < 2^30 inside fixed.py;
    # out-of-range inputs give a status, never an exception.
    drv = compensator(nvm)
    assert drv._compensate(up, ut) in (OK, INVALID, OUT_OF_RANGE)
    assert 0 <= drv.pressure_cpa <= 26214400


any_nvm_strategy = st.fixed_dictionaries({
    "T1": st.integers(0, 65535), "T2": st.integers(0, 65535), "T3": st.integers(-128, 127),
    "P1": st.integers(-32768, 32767), "P2": st.integers(-32768, 32767),
    "P3": st.integers(-128, 127), "P4": st.integers(-128, 127), "P5": st.integers(0, 65535),
    "P6": st.integers(0, 65535), "P7": st.integers(-128, 127), "P8": st.integers(-128, 127),
    "P9": st.integers(-32768, 32767), "P10": st.integers(-128, 127), "P11": st.integers(-128, 127),
}).filter(lambda n: any(n.values()))


@given(any_nvm_strategy, st.integers(0, 2 ** 24 - 1), st.integers(0, 2 ** 24 - 1))
def test_bmp390_compensation_stays_31_bit_for_any_nvm(nvm, up, ut):
    # Every NVM value of its datatype, every ADC value: no intermediate leaves
    # |x| < 2^30 (RangeError under LANDER_RANGE_CHECK) and no exception.
    drv = compensator(nvm)
    assert drv._compensate(up, ut) in (OK, INVALID, OUT_OF_RANGE)


# -- driver against the emulator ------------------------------------------------

def test_bmp390_init_reads_nvm_and_configures_normal_mode():
    _, emu, drv = rig()
    assert emu.mode() == 3 and emu.regs[0x1B] == 0x33
    assert emu.regs[0x1C] == 0x03 and emu.regs[0x1D] == 0x02
    assert drv._coef[1] == NVM_DEFAULT["T2"] and drv._coef[13] == NVM_DEFAULT["P11"]


def test_bmp390_sleep_mode_produces_no_data():
    emu = Bmp390Emu()
    emu.now_s = 1.0
    assert emu.i2c_read(0x03, 1) == b"\x10"                   # cmd_rdy only
    assert emu.i2c_read(0x04, 6) == b"\x00\x00\x80\x00\x00\x80"


@pytest.mark.parametrize("press,temp", [(101325.0, 20.0), (95000.0, -10.0), (60000.0, 45.0),
                                        (120000.0, 80.0), (31000.0, -35.0)])
def test_bmp390_reads_emulated_pressure_and_temperature(press, temp):
    clock, emu, drv = rig()
    emu.pressure_pa, emu.temperature_c = press, temp
    for _ in range(3):
        clock.tick()
        assert drv.read() == OK
    assert abs(drv.pressure_cpa - press * 100) <= 2 + TOL_CPA     # ADC quantum < 0.02 Pa
    assert abs(drv.temperature_cdeg - temp * 100) <= 1 + TOL_CDEG
    assert drv.reads_ok == 3 and drv.errors == 0


def test_bmp390_wrong_chip_id_raises_device_error_naming_everything():
    with pytest.raises(DeviceError) as exc:
        rig(faults=Faults(wrong_id=True))
    msg = str(exc.value)
    assert "BMP390" in msg and "CHIP_ID" in msg and "I2C" in msg
    assert "addr 0x77" in msg and "0x60" in msg and "0x50" in msg


def test_bmp390_ignored_power_mode_raises_at_startup():
    with pytest.raises(DeviceError) as exc:
        rig(faults=Faults(ignore_enable=True))
    assert "PWR_CTRL" in str(exc.value)


def test_bmp390_too_slow_oversampling_for_odr_raises_conf_err():
    with pytest.raises(DeviceError) as exc:
        rig(osr_p=5, osr_t=0, odr=0)          # 32x needs ~67 ms, ODR 200 Hz
    assert "conf_err" in str(exc.value)


def test_bmp390_rejects_sample_after_bus_nack():
    clock, emu, drv = rig()
    clock.tick()
    assert drv.read() == OK
    before = drv.pressure_cpa
    emu.faults.nack = True
    emu.pressure_pa = 90000.0
    for _ in range(3):
        clock.tick()
        assert drv.read() == BUS_ERROR
    assert drv.bus_errors == 3 and drv.pressure_cpa == before
    emu.faults.nack = False
    clock.tick()
    assert drv.read() == OK
    assert abs(drv.pressure_cpa - 9000000) < 10


def test_bmp390_bit_flips_never_raise():
    clock, emu, drv = rig()
    emu.faults.bitflip_rate = 0.05
    codes = set()
    for i in range(300):
        emu.pressure_pa = 101325.0 - 10.0 * i
        clock.tick()
        codes.add(drv.read())
    assert OK in codes and drv.errors > 0


def test_bmp390_valid_never_set_is_not_ready_then_detected():
    clock, emu, drv = rig()
    clock.tick()
    assert drv.read() == OK
    emu.faults.valid_never_set = True
    codes = []
    for _ in range(bmp_mod._STUCK_CYCLES):
        clock.tick()
        codes.append(drv.read())
    assert codes[:-1] == [NOT_READY] * (bmp_mod._STUCK_CYCLES - 1)
    assert drv.resets == 1
    assert (bmp_mod.EV_BMP_REINIT, bmp_mod.CAUSE_STUCK) in drain_events()


def test_bmp390_stuck_part_backs_off_repeated_reinits():
    clock, emu, drv = rig(faults=Faults(stuck=True))
    for _ in range(400):
        clock.tick()
        assert drv.read() in (NOT_READY, OK)
    assert 3 <= drv.resets <= 7


def test_bmp390_reset_mid_flight_reinits_within_bounded_cycles():
    clock, emu, drv = rig()
    for _ in range(3):
        clock.tick()
        assert drv.read() == OK
    emu.reset()                         # sleep mode, por_detected
    codes = []
    for _ in range(bmp_mod._STUCK_CYCLES + 2):
        clock.tick()
        codes.append(drv.read())
        if codes[-1] == OK:
            break
    assert codes.index(REINIT) <= bmp_mod._STUCK_CYCLES - 1
    assert codes[-1] == OK and emu.mode() == 3
    assert (bmp_mod.EV_BMP_REINIT, bmp_mod.CAUSE_CONFIG) in drain_events()


def test_bmp390_periodic_check_sees_por_detected():
    clock, emu, drv = rig()
    emu.regs[0x10] = 1                      # a reset that kept (re-set) the config
    codes = []
    for _ in range(bmp_mod._CHECK_PERIOD + 2):
        clock.tick()
        codes.append(drv.read())
    assert REINIT in codes


def test_bmp390_saturated_adc_is_not_reported_ok():
    clock, emu, drv = rig(faults=Faults(saturate=True))
    clock.tick()
    assert drv.read() in (INVALID, OUT_OF_RANGE)


def test_bmp390_noise_and_bias_reach_pressure():
    clock, emu, drv = rig(faults=Faults(bias=50.0))
    clock.tick()
    assert drv.read() == OK
    assert abs(drv.pressure_cpa - (101325.0 + 50.0) * 100) <= 10


def test_bmp390_iir_filter_lags_a_step():
    clock, emu, drv = rig(iir=2)                 # coefficient 3
    for _ in range(3):
        clock.tick()
        drv.read()
    emu.pressure_pa = 100325.0
    clock.tick()
    assert drv.read() == OK
    assert 10062500 < drv.pressure_cpa < 10132500 - 10000


# -- the same read loop on MicroPython (unix 64-bit, wasm 32-bit, heap locked) ----

from tests.harness import run_firmware  # noqa: E402
from tests.test_drivers_imu_mpy import FAKE_BUS, FUEL_LOOP, driver_fuel_per_read  # noqa: E402


def bmp_records(n=200, seed=21):
    import random
    rng = random.Random(seed)
    emu = Bmp390Emu(nvm=VECTOR_NVM)
    out = bytearray()
    for c in range(n):
        flags, err, status = 0, 0x00, 0x70
        if c == 0:
            data = VECTOR_DATA
        else:
            if rng.random() < 0.2:
                up, ut = rng.randrange(2 ** 24), rng.randrange(2 ** 24)
            else:
                up, ut = emu.raw_from_physical(rng.uniform(30000, 125000), rng.uniform(-40, 85))
            data = bytes((up & 0xFF, up >> 8 & 0xFF, up >> 16, ut & 0xFF, ut >> 8 & 0xFF, ut >> 16))
        if c % 31 == 3:
            flags |= 1                    # NACK
        if c == 90:
            flags |= 2                    # part reset: sleep mode, por_detected
        if 91 <= c < 96 or c % 17 == 8:
            status = 0x10                 # no data-ready
        out += bytes((flags, err, status)) + data
    return bytes(out)


BMP_SETUP = """
from lander.drivers.bmp390 import Bmp390
NVM = %r
bus = FakeI2C((0x77,))
r = bus.files[0x77]
r[0x00] = 0x60
r[0x03] = 0x10                        # STATUS.cmd_rdy: the command decoder takes the reset
r[0x10] = 1                           # EVENT.por_detected, clear on read
bus.cor = 0x10
for k in range(21):
    r[0x31 + k] = NVM[k]
d = Bmp390(bus)
""" % (nvm_bytes(VECTOR_NVM),)

BMP_GUEST = FAKE_BUS + BMP_SETUP + """
data = load('bmp.bin')
n = len(data) // 9
out = array('i', bytes(4 * 7 * n))

def replay(d, bus, r, data, n, out):
    for c in range(n):
        o = c * 9
        f = data[o]
        bus.nack = f & 1
        if f & 2:
            r[0x10] = 1
            r[0x1B] = 0
        r[0x02] = data[o + 1]
        r[0x03] = data[o + 2]
        for k in range(6):
            r[0x04 + k] = data[o + 3 + k]
        st = d.read()
        b = c * 7
        out[b] = st
        out[b + 1] = d.pressure_cpa
        out[b + 2] = d.temperature_cdeg
        out[b + 3] = d.t_q16
        out[b + 4] = d.resets
        out[b + 5] = d.errors
        out[b + 6] = d.reads_ok

heap_lock()
try:
    replay(d, bus, r, data, n, out)
finally:
    heap_unlock()
print(' '.join([str(x) for x in out]))
"""

_BMP_REF = {}


def test_bmp390_read_loop_bit_identical_under_heap_lock(interp):
    data = {"bmp.bin": bmp_records()}
    if "ref" not in _BMP_REF:
        _BMP_REF["ref"] = run_firmware("cpython", BMP_GUEST, data=data).stdout
    ref = _BMP_REF["ref"]
    res = run_firmware(interp, BMP_GUEST, data=data)
    assert res.stdout == ref
    vals = [int(x) for x in ref.split()]
    assert vals[0:3] == [OK, 10087601, 3050]       # the published vector, golden
    assert {OK, BUS_ERROR, NOT_READY, REINIT} <= set(vals[0::7])
    assert vals[-3] >= 1


def test_bmp390_read_fuel_per_cycle_on_wasm():
    """Figure: wasm fuel of one nominal read() incl. the integer compensation."""
    setup = BMP_SETUP + """
r[0x03] = 0x70
for k in range(6):
    r[0x04 + k] = (151, 159, 109, 115, 216, 133)[k]

def bare(bus, d, n):
    for _ in range(n):
        bus.readfrom_mem_into(0x77, 0x02, d._buf)
"""
    drv, bus = driver_fuel_per_read(setup)
    print("bmp390: read() %.0f wasm fuel (+ %.0f in the Python fake bus)" % (drv, bus))
    assert drv < 75_000                           # measured: 58 k


def test_bmp390_persistent_fatal_error_is_invalid_with_one_event():
    clock, emu, drv = rig()
    clock.tick()
    assert drv.read() == OK
    drain_events()
    codes = []
    for _ in range(10):
        emu.regs[0x02] |= 0x01               # fatal_err stays set
        clock.tick()
        codes.append(drv.read())
    assert codes == [INVALID] * 10
    assert drain_events() == [(bmp_mod.EV_BMP_ERR, 1)]


def test_bmp390_emu_forced_mode_converts_once_then_sleeps():
    emu = Bmp390Emu()
    emu.now_s = 0.0
    emu.i2c_write(0x1B, b"\x13")                  # forced, press + temp
    emu.now_s = 0.1
    assert emu.i2c_read(0x03, 1)[0] & 0x60 == 0x60
    assert emu.i2c_read(0x1B, 1)[0] & 0x30 == 0     # back to sleep
    emu.i2c_read(0x04, 6)
    emu.now_s = 0.5
    assert emu.i2c_read(0x03, 1)[0] & 0x60 == 0


def test_bmp390_emu_i2c_multi_write_is_address_data_pairs():
    emu = Bmp390Emu()
    emu.i2c_write(0x1C, bytes((0x05, 0x1D, 0x03)))  # OSR = 0x05, then (ODR, 0x03)
    assert emu.i2c_read(0x1C, 2) == bytes((0x05, 0x03))


def test_bmp390_emu_inverse_compensation_round_trips():
    emu = Bmp390Emu()
    par = par_float(NVM_DEFAULT)
    for p, t in ((101325.0, 20.0), (70000.0, -30.0), (110000.0, 70.0)):
        up, ut = emu.raw_from_physical(p, t)
        tc = ref_temperature(par, ut)
        assert abs(tc - t) < 0.001
        assert abs(ref_pressure(par, up, tc) - p) < 0.02


# -- start-up and re-init timing (Bosch BMP3 SensorAPI, bmp3.c) -------------------

def test_bmp390_startup_without_the_2ms_reset_wait_is_refused_by_the_part(monkeypatch):
    # the emulator is busy 2 ms after a soft reset and does not take writes:
    # a driver that skips the wait reads back the power-on configuration
    monkeypatch.setattr(bmp_mod, "_wait_us", lambda us: None)
    with pytest.raises(DeviceError) as exc:
        rig()
    assert "PWR_CTRL" in str(exc.value)


def test_bmp390_soft_reset_waits_for_cmd_rdy_and_checks_cmd_err(monkeypatch):
    waits = []
    real = bmp_mod._wait_us
    monkeypatch.setattr(bmp_mod, "_wait_us", lambda us: (waits.append(us), real(us)))
    clock, emu, drv = rig()
    assert emu.ignored_writes == 0 and emu.mode() == 3
    assert waits[0] == 2000                # after the 0xB6 command, before ERR_REG
    # a part whose command decoder never comes ready: refused, named
    emu2 = Bmp390Emu()
    emu2.regs[0x03] = 0x00                 # STATUS.cmd_rdy clear
    bus = EmuI2C(bus_id=0, clock=Clock())
    bus.attach(0x77, emu2)
    with pytest.raises(DeviceError) as exc:
        Bmp390(bus, addr=0x77)
    assert "cmd_rdy" in str(exc.value)


def test_bmp390_emu_takes_no_configuration_within_5ms_of_leaving_normal_mode():
    emu = Bmp390Emu()
    emu.i2c_write(0x1D, bytes([0x03]))     # ODR 25 Hz: the default OSR fits in its period
    emu.i2c_write(0x1B, bytes([0x33]))     # normal
    assert emu.mode() == 3
    emu.i2c_write(0x1B, bytes([0x00]))     # sleep
    emu.i2c_write(0x1C, bytes([0x05]))     # OSR at once: not taken
    assert emu.regs[0x1C] == 0x02 and emu.ignored_writes == 1
    emu.now_s += 0.005
    emu.i2c_write(0x1C, bytes([0x05]))
    assert emu.regs[0x1C] == 0x05


def test_bmp390_in_flight_reinit_of_a_running_part_sleeps_one_cycle_without_waiting(monkeypatch):
    clock, emu, drv = rig()
    waits = []
    monkeypatch.setattr(bmp_mod, "_wait_us", waits.append)
    for _ in range(3):
        clock.tick()
        assert drv.read() == OK
    emu.regs[0x1D] = 0x04                  # ODR lost, still converting (normal mode)
    drv._since_check = bmp_mod._CHECK_PERIOD
    codes = []
    for _ in range(3):
        clock.tick()
        codes.append(drv.read())
    # the check sees the mismatch and puts the part to sleep; the next cycle
    # (>= 10 ms later) writes the settings and normal mode
    assert codes[:2] == [NOT_READY, REINIT]
    assert emu.regs[0x1D] == drv._cfg[2] and emu.mode() == 3
    assert waits == [] and emu.ignored_writes == 0
