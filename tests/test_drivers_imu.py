"""LSM6DSOX and BMI088 drivers against their register-level emulators (CPython).

Each injected fault is its own test. The emulators are written from the
datasheets; the drivers from the same datasheets, separately.
"""
from __future__ import annotations

import math

import pytest
from hypothesis import given, strategies as st

from host_tools.emu.bmi088 import Bmi088AccelEmu, Bmi088GyroEmu
from host_tools.emu import settle
from host_tools.emu.bus import EmuI2C, EmuSPI, Faults
from host_tools.emu.lsm6dsox import Lsm6dsoxEmu
from lander.drivers import BUS_ERROR, DISABLED, INVALID, NOT_READY, OK, REINIT, DeviceError
from lander.drivers import bmi088 as bmi_mod
from lander.drivers import lsm6dsox as lsm_mod
from lander.drivers.bmi088 import Bmi088
from lander.drivers.lsm6dsox import Lsm6dsox
from lander.events import events

G0 = 9.80665
DT = 0.02  # 50 Hz loop


class Clock:
    def __init__(self):
        self.now_s = 0.0

    def tick(self, dt=DT):
        self.now_s += dt


class Pin:
    """Minimal machine.Pin stand-in for a chip select."""

    def __init__(self, name="cs", v=1):
        self.name = name
        self.v = v

    def value(self, v=None):
        if v is None:
            return self.v
        self.v = v
        return None

    def __repr__(self):
        return "Pin(%s)" % self.name


def drain_events():
    out = []
    buf = [0, 0, 0]
    while events.pop_into(buf):
        out.append((buf[1], buf[2]))
    return out


@pytest.fixture(autouse=True)
def _clear_events():
    drain_events()
    yield
    drain_events()


# ----------------------------------------------------------------------------
# LSM6DSOX rigs
# ----------------------------------------------------------------------------

def lsm_rig(mode="i2c", faults=None, **kw):
    clock = Clock()
    emu = Lsm6dsoxEmu(faults=faults)
    if mode == "i2c":
        bus = EmuI2C(bus_id=1, clock=clock)
        bus.attach(0x6A, emu)
        drv = Lsm6dsox(bus, addr=0x6A, **kw)
    else:
        bus = EmuSPI(bus_id=0, clock=clock)
        cs = Pin("imu_cs")
        bus.attach(cs, emu)
        drv = Lsm6dsox(bus, cs=cs, **kw)
    return clock, emu, drv


def step(clock, drv):
    clock.tick()
    return drv.read()


GYRO_LSB_URAD = {125: 76.358, 250: 152.716, 500: 305.433, 1000: 610.865, 2000: 1221.730}
ACCEL_LSB_MM = {2: 0.598, 4: 1.196, 8: 2.393, 16: 4.786}


@pytest.mark.parametrize("mode", ["i2c", "spi"])
def test_lsm6dsox_init_writes_and_verifies_odr_full_scale(mode):
    _, emu, drv = lsm_rig(mode)
    assert emu.accel_odr_hz() == 208.0 and emu.gyro_odr_hz() == 208.0
    assert emu.accel_fs_g() == 8 and emu.gyro_fs_dps() == 500
    assert emu.regs[0x12] & 0x44 == 0x44          # BDU + IF_INC
    assert drv.errors == 0


def test_lsm6dsox_spi_disables_the_i2c_interface():
    _, emu, drv = lsm_rig("spi")
    assert emu.regs[0x13] & 0x04
    with pytest.raises(OSError):
        emu.i2c_read(0x0F, 1)
    _, emu, drv = lsm_rig("i2c")
    assert not emu.regs[0x13] & 0x04


def test_lsm6dsox_outputs_stay_zero_until_odr_written():
    emu = Lsm6dsoxEmu()
    emu.gyro_rad_s = [1.0, 1.0, 1.0]
    emu.now_s = 1.0
    assert emu.i2c_read(0x1E, 1) == b"\x00"
    assert emu.i2c_read(0x22, 12) == bytes(12)


@pytest.mark.parametrize("mode", ["i2c", "spi"])
@pytest.mark.parametrize("dps,g", [(125, 2), (250, 4), (500, 8), (2000, 16)])
def test_lsm6dsox_converts_within_one_lsb(mode, dps, g):
    clock, emu, drv = lsm_rig(mode, gyro_dps=dps, accel_g=g)
    rng = __import__("random").Random(dps * 100 + g)
    gmax = math.radians(dps) * 0.95
    amax = g * G0 * 0.95
    for _ in range(40):
        emu.gyro_rad_s = [rng.uniform(-gmax, gmax) for _ in range(3)]
        emu.accel_m_s2 = [rng.uniform(-amax, amax) for _ in range(3)]
        assert step(clock, drv) == OK
        for i in range(3):
            assert abs(drv.gyro_urad_s[i] - emu.gyro_rad_s[i] * 1e6) <= GYRO_LSB_URAD[dps] + 0.5
            assert abs(drv.accel_mm_s2[i] - emu.accel_m_s2[i] * 1e3) <= ACCEL_LSB_MM[g] + 0.5
    assert drv.reads_ok == 40 and drv.errors == 0


@given(st.lists(st.integers(-32768, 32767), min_size=6, max_size=6))
def test_lsm6dsox_conversion_matches_sensitivity_table(raws):
    clock, emu, drv = lsm_rig("i2c", gyro_dps=2000, accel_g=16)
    clock.tick()
    emu.now_s = clock.now_s
    emu._advance()                      # latch this period's sample, then overwrite it
    for i, r in enumerate(raws):
        emu._put16(0x22 + 2 * i, r)
    emu.regs[0x1E] |= 3
    assert drv.read() == OK
    # K/2^S rounded to 15 bits: |error| <= 0.5 unit + 2e-5 relative (< 0.6 LSB)
    for i in range(3):
        exact = raws[i] * 70e-3 * math.pi / 180 * 1e6
        assert abs(drv.gyro_urad_s[i] - exact) <= 0.5 + 2e-5 * abs(exact)
        exact = raws[3 + i] * 0.488 * G0
        assert abs(drv.accel_mm_s2[i] - exact) <= 0.5 + 2e-5 * abs(exact)


@pytest.mark.parametrize("mode", ["i2c", "spi"])
def test_lsm6dsox_wrong_who_am_i_raises_device_error_naming_everything(mode):
    with pytest.raises(DeviceError) as exc:
        lsm_rig(mode, faults=Faults(wrong_id=True))
    msg = str(exc.value)
    assert "LSM6DSOX" in msg and "WHO_AM_I" in msg
    assert ("I2C" if mode == "i2c" else "SPI") in msg
    assert "0x6c" in msg and "0x69" in msg            # expected, seen
    if mode == "i2c":
        assert "addr 0x6a" in msg
    else:
        assert "imu_cs" in msg


def test_lsm6dsox_absent_part_raises_device_error():
    bus = EmuI2C(bus_id=1)
    with pytest.raises(DeviceError) as exc:
        Lsm6dsox(bus, addr=0x6B)
    assert "LSM6DSOX" in str(exc.value) and "0x6b" in str(exc.value)


def test_lsm6dsox_ignored_odr_write_raises_at_startup():
    with pytest.raises(DeviceError) as exc:
        lsm_rig("i2c", faults=Faults(ignore_enable=True))
    assert "CTRL1_XL" in str(exc.value)


def test_lsm6dsox_rejects_sample_after_bus_nack():
    clock, emu, drv = lsm_rig("i2c")
    emu.gyro_rad_s = [0.1, 0.0, 0.0]
    assert step(clock, drv) == OK
    before = drv.gyro_urad_s[0]
    emu.faults.nack = True
    emu.gyro_rad_s = [0.5, 0.0, 0.0]
    for _ in range(3):
        assert step(clock, drv) == BUS_ERROR
    assert drv.errors == 3 and drv.bus_errors == 3
    assert drv.gyro_urad_s[0] == before                 # fields untouched
    emu.faults.nack = False
    assert step(clock, drv) == OK
    assert abs(drv.gyro_urad_s[0] - 500000) < 400


def test_lsm6dsox_dropout_window_gives_bus_errors_then_recovers():
    clock, emu, drv = lsm_rig("i2c", faults=Faults(dropouts=[(0.1, 0.2)]))
    seen = [step(clock, drv) for _ in range(20)]
    assert BUS_ERROR in seen
    assert seen[-1] == OK
    assert drv.resets == 0


def test_lsm6dsox_spi_floating_miso_is_bus_error():
    clock, emu, drv = lsm_rig("spi")
    assert step(clock, drv) == OK
    emu.faults.nack = True          # EmuSPI: MISO floats high (0xFF)
    assert step(clock, drv) == BUS_ERROR
    assert drv.bus_errors == 1


def test_lsm6dsox_bit_flips_never_raise():
    clock, emu, drv = lsm_rig("i2c")
    emu.faults.bitflip_rate = 0.2
    codes = set()
    for i in range(300):
        emu.gyro_rad_s = [0.3 * math.sin(i * 0.1), 0.0, -0.2]
        codes.add(step(clock, drv))
    assert OK in codes
    assert codes <= {OK, NOT_READY, INVALID, BUS_ERROR, REINIT}
    assert drv.errors > 0


def test_lsm6dsox_spi_bit_flips_never_raise():
    clock, emu, drv = lsm_rig("spi")
    emu.faults.bitflip_rate = 0.1
    for _ in range(200):
        step(clock, drv)
    assert drv.reads_ok > 0


def test_lsm6dsox_valid_never_set_is_not_ready_then_detected():
    clock, emu, drv = lsm_rig("i2c")
    assert step(clock, drv) == OK
    emu.faults.valid_never_set = True
    codes = [step(clock, drv) for _ in range(lsm_mod._STUCK_CYCLES)]
    assert codes[:-1] == [NOT_READY] * (lsm_mod._STUCK_CYCLES - 1)
    assert drv.resets == 1
    assert (lsm_mod.EV_LSM6_REINIT, lsm_mod.CAUSE_STUCK) in drain_events()


def test_lsm6dsox_stuck_part_backs_off_repeated_reinits():
    clock, emu, drv = lsm_rig("i2c", faults=Faults(stuck=True))
    for _ in range(400):
        assert step(clock, drv) in (NOT_READY, OK)
    # 5, 10, 20, 40, 80, 160 cycles ... : a bounded number of re-inits and events
    assert 3 <= drv.resets <= 7
    assert len(drain_events()) == drv.resets


def test_lsm6dsox_reset_mid_flight_reinits_within_bounded_cycles():
    clock, emu, drv = lsm_rig("i2c")
    emu.gyro_rad_s = [0.2, 0.0, 0.0]
    for _ in range(3):
        assert step(clock, drv) == OK
    emu.reset()                              # brown-out: power-on defaults
    codes = []
    for _ in range(lsm_mod._STUCK_CYCLES + 2):
        codes.append(step(clock, drv))
        if codes[-1] == OK:
            break
    assert REINIT in codes
    assert codes.index(REINIT) <= lsm_mod._STUCK_CYCLES - 1
    assert codes[-1] == OK
    assert drv.resets == 1
    assert emu.gyro_fs_dps() == 500 and emu.gyro_odr_hz() == 208.0
    assert (lsm_mod.EV_LSM6_REINIT, lsm_mod.CAUSE_CONFIG) in drain_events()


def test_lsm6dsox_periodic_check_catches_lost_full_scale():
    clock, emu, drv = lsm_rig("i2c")
    emu.regs[0x11] = 0x50                       # FS silently back to 250 dps, ODR kept
    codes = [step(clock, drv) for _ in range(lsm_mod._CHECK_PERIOD + 2)]
    assert REINIT in codes
    assert emu.gyro_fs_dps() == 500


@pytest.mark.parametrize("mode", ["i2c", "spi"])
def test_lsm6dsox_saturates_at_full_scale(mode):
    clock, emu, drv = lsm_rig(mode, gyro_dps=250, accel_g=2)
    emu.gyro_rad_s = [10.0, -10.0, 0.0]      # 573 dps > 250 dps full scale
    emu.accel_m_s2 = [50.0, -50.0, 0.0]
    assert step(clock, drv) == OK
    r = drv.raw_at
    assert list(drv.raw[r:r + 2]) == [32767, -32768]
    assert list(drv.raw[r + 3:r + 5]) == [32767, -32768]
    assert abs(drv.gyro_urad_s[0] - 32767 * 152.7163) <= 153 * 0.6
    emu.faults.saturate = True
    emu.gyro_rad_s = [0.0, 0.0, 0.0]
    assert step(clock, drv) == OK
    assert drv.raw[drv.raw_at] == 32767


def test_lsm6dsox_noise_and_bias_reach_outputs():
    clock, emu, drv = lsm_rig("i2c", faults=Faults(bias=0.01, noise=0.0))
    assert step(clock, drv) == OK
    assert abs(drv.gyro_urad_s[0] - 10000) <= 306
    assert abs(drv.accel_mm_s2[0] - 10) <= 3


def test_lsm6dsox_latency_delays_values():
    clock, emu, drv = lsm_rig("i2c", faults=Faults(latency_s=0.1))
    emu.gyro_rad_s = [0.0, 0.0, 0.0]
    for _ in range(10):
        step(clock, drv)
    emu.gyro_rad_s = [0.5, 0.0, 0.0]
    step(clock, drv)
    assert abs(drv.gyro_urad_s[0]) < 400        # still the old value
    for _ in range(6):
        step(clock, drv)
    assert abs(drv.gyro_urad_s[0] - 500000) < 400


# ----------------------------------------------------------------------------
# BMI088 rigs
# ----------------------------------------------------------------------------

def bmi_rig(mode="i2c", acc_faults=None, gyro_faults=None, **kw):
    clock = Clock()
    acc = Bmi088AccelEmu(faults=acc_faults)
    gyr = Bmi088GyroEmu(faults=gyro_faults)
    if mode == "i2c":
        bus = EmuI2C(bus_id=0, clock=clock)
        bus.attach(0x18, acc)
        bus.attach(0x68, gyr)
        drv = Bmi088(bus, bus, **kw)
    else:
        bus = EmuSPI(bus_id=1, clock=clock)
        acs, gcs = Pin("acc_cs"), Pin("gyro_cs")
        bus.attach(acs, acc)
        bus.attach(gcs, gyr)
        drv = Bmi088(bus, bus, acc_cs=acs, gyro_cs=gcs, **kw)
    return clock, acc, gyr, drv


def set_inputs(acc, gyr, g_rad_s, a_m_s2):
    gyr.gyro_rad_s = list(g_rad_s)
    acc.accel_m_s2 = list(a_m_s2)


BMI_GYRO_LSB_URAD = {2000: 1065.26, 1000: 532.63, 500: 266.32, 250: 133.16, 125: 66.58}
BMI_ACCEL_LSB_MM = {3: 0.898, 6: 1.796, 12: 3.591, 24: 7.183}


@pytest.mark.parametrize("mode", ["i2c", "spi"])
def test_bmi088_init_enables_accel_and_configures_both(mode):
    _, acc, gyr, drv = bmi_rig(mode)
    assert acc.active() and acc.range_g() == 12
    assert acc.regs[0x40] == 0xAA
    assert gyr.range_dps() == 500 and gyr.regs[0x10] == 0x83
    assert drv.accel_enabled


def test_bmi088_accel_suspended_until_power_ctrl_written():
    clock = Clock()
    acc = Bmi088AccelEmu()
    bus = EmuI2C(clock=clock)
    bus.attach(0x18, acc)
    acc.accel_m_s2 = [1.0, 2.0, 3.0]
    for _ in range(5):
        clock.tick()
        assert bus.readfrom_mem(0x18, 0x03, 1) == b"\x00"      # no acc_drdy
    assert bus.readfrom_mem(0x18, 0x12, 6) == bytes(6)
    bus.writeto_mem(0x18, 0x7C, b"\x00")
    clock.tick()                                   # > 5 ms: the power write settles
    bus.writeto_mem(0x18, 0x7D, b"\x04")
    clock.tick()
    assert bus.readfrom_mem(0x18, 0x03, 1) == b"\x80"


def test_bmi088_accel_spi_needs_dummy_byte_and_mode_switch():
    acc = Bmi088AccelEmu()
    assert acc.spi_transaction(b"\x80\x00\x00") == b"\xff\xff\xff"   # still in I2C mode
    rx = acc.spi_transaction(b"\x80\x00\x00")
    assert rx[2] == 0x1E                                      # id after the dummy byte


@pytest.mark.parametrize("mode", ["i2c", "spi"])
@pytest.mark.parametrize("dps,g", [(125, 3), (500, 12), (2000, 24), (1000, 6)])
def test_bmi088_converts_within_one_lsb(mode, dps, g):
    clock, acc, gyr, drv = bmi_rig(mode, gyro_dps=dps, acc_g=g)
    rng = __import__("random").Random(dps + g)
    gmax = math.radians(dps) * 0.95
    amax = g * G0 * 0.95
    for _ in range(40):
        set_inputs(acc, gyr, [rng.uniform(-gmax, gmax) for _ in range(3)],
                   [rng.uniform(-amax, amax) for _ in range(3)])
        assert step(clock, drv) == OK
        for i in range(3):
            assert abs(drv.gyro_urad_s[i] - gyr.gyro_rad_s[i] * 1e6) <= BMI_GYRO_LSB_URAD[dps] + 0.5
            assert abs(drv.accel_mm_s2[i] - acc.accel_m_s2[i] * 1e3) <= BMI_ACCEL_LSB_MM[g] + 0.5
    assert drv.reads_ok == 40 and drv.errors == 0


@pytest.mark.parametrize("mode", ["i2c", "spi"])
def test_bmi088_wrong_accel_chip_id_raises_device_error_naming_everything(mode):
    with pytest.raises(DeviceError) as exc:
        bmi_rig(mode, acc_faults=Faults(wrong_id=True))
    msg = str(exc.value)
    assert "BMI088 accel" in msg and "ACC_CHIP_ID" in msg
    assert "0x1e" in msg and "0x0f" in msg
    assert ("addr 0x18" in msg) if mode == "i2c" else ("acc_cs" in msg)


def test_bmi088_wrong_gyro_chip_id_raises_device_error():
    with pytest.raises(DeviceError) as exc:
        bmi_rig("i2c", gyro_faults=Faults(wrong_id=True))
    msg = str(exc.value)
    assert "BMI088 gyro" in msg and "addr 0x68" in msg and "0x0f" in msg and "0x1e" in msg


@pytest.mark.parametrize("mode", ["i2c", "spi"])
def test_bmi088_accel_not_enabled_raises_at_startup(mode):
    with pytest.raises(DeviceError) as exc:
        bmi_rig(mode, acc_faults=Faults(ignore_enable=True))
    msg = str(exc.value)
    assert "not enabled" in msg and "ACC_PWR_CTRL" in msg and "0x04" in msg and "0x00" in msg


def test_bmi088_accel_that_stays_off_after_reset_is_reported_disabled():
    clock, acc, gyr, drv = bmi_rig("i2c")
    assert step(clock, drv) == OK
    acc.faults.ignore_enable = True
    acc.reset()
    codes = [step(clock, drv) for _ in range(bmi_mod._STUCK_CYCLES + 3 + ACC_REINIT_CYCLES)]
    assert DISABLED in codes
    assert not drv.accel_enabled
    assert drv.gyro_status == OK                     # the gyro keeps flying
    evs = drain_events()
    assert any(c == bmi_mod.EV_BMI_ACC_DISABLED for c, _ in evs)
    # retried at a bounded rate, recovers once the part accepts the enable
    acc.faults.ignore_enable = False
    codes = [step(clock, drv) for _ in range(bmi_mod._ACC_RETRY + 2 + ACC_REINIT_CYCLES)]
    assert codes[-1] == OK and drv.accel_enabled
    assert any(c == bmi_mod.EV_BMI_ACC_ENABLED for c, _ in drain_events())


def test_bmi088_rejects_sample_after_bus_nack():
    clock, acc, gyr, drv = bmi_rig("i2c")
    assert step(clock, drv) == OK
    acc.faults.nack = True
    gyr.faults.nack = True
    for _ in range(3):
        assert step(clock, drv) == BUS_ERROR
    assert drv.bus_errors == 6
    acc.faults.nack = gyr.faults.nack = False
    assert step(clock, drv) == OK


def test_bmi088_spi_floating_miso_is_bus_error():
    clock, acc, gyr, drv = bmi_rig("spi")
    assert step(clock, drv) == OK
    gyr.faults.nack = True
    assert step(clock, drv) == BUS_ERROR
    assert drv.gyro_status == BUS_ERROR and drv.accel_status == OK


@pytest.mark.parametrize("mode", ["i2c", "spi"])
def test_bmi088_bit_flips_never_raise(mode):
    clock, acc, gyr, drv = bmi_rig(mode, acc_faults=Faults(seed=1), gyro_faults=Faults(seed=2))
    acc.faults.bitflip_rate = gyr.faults.bitflip_rate = 0.1
    codes = set()
    for i in range(300):
        set_inputs(acc, gyr, [0.2 * math.sin(i * 0.1), 0, 0], [0, 0, G0])
        codes.add(step(clock, drv))
    assert OK in codes
    assert drv.errors > 0


def test_bmi088_valid_never_set_is_not_ready_then_detected():
    clock, acc, gyr, drv = bmi_rig("i2c")
    assert step(clock, drv) == OK
    acc.faults.valid_never_set = True
    codes = [step(clock, drv) for _ in range(bmi_mod._STUCK_CYCLES)]
    assert codes[:-1] == [NOT_READY] * (bmi_mod._STUCK_CYCLES - 1)
    assert drv.resets == 1
    assert (bmi_mod.EV_BMI_ACC_REINIT, bmi_mod.CAUSE_STUCK) in drain_events()


def test_bmi088_stuck_accel_backs_off_repeated_reinits():
    clock, acc, gyr, drv = bmi_rig("i2c", acc_faults=Faults(stuck=True))
    for _ in range(400):
        assert step(clock, drv) in (NOT_READY, OK)
    assert 3 <= drv.resets <= 7


def test_bmi088_accel_reset_mid_flight_reinits_within_bounded_cycles():
    clock, acc, gyr, drv = bmi_rig("spi")
    for _ in range(3):
        assert step(clock, drv) == OK
    acc.reset()                      # back to suspend + I2C mode
    codes = []
    for _ in range(bmi_mod._STUCK_CYCLES + 3 + ACC_REINIT_CYCLES):
        codes.append(step(clock, drv))
        if codes[-1] == OK:
            break
    # first access after the reset floats (I2C mode, 0xFF), then N not-ready
    # cycles, then the re-initialisation's steps, one a cycle
    assert codes[0] == BUS_ERROR
    assert codes.index(REINIT) <= bmi_mod._STUCK_CYCLES + ACC_REINIT_CYCLES
    assert codes[-1] == OK and acc.active()
    assert (bmi_mod.EV_BMI_ACC_REINIT, bmi_mod.CAUSE_CONFIG) in drain_events()


# In flight a re-initialisation is one step a cycle, each of Bosch's waits
# counted in cycles of >= 10 ms (the fastest loop): accel 5, 5, 40 ms ->
# 1 + 1 + 4 cycles; gyro 30, 10, 10 ms -> 3 + 1 + 1 cycles.
ACC_REINIT_CYCLES = 6
GYRO_REINIT_CYCLES = 5


def test_bmi088_gyro_reset_mid_flight_reinits_in_its_vendor_steps_without_waiting(monkeypatch):
    clock, acc, gyr, drv = bmi_rig("i2c")
    waits = []
    monkeypatch.setattr(bmi_mod, "_wait_us", waits.append)   # flight: no sleep at all
    gyr.gyro_rad_s = [0.3, 0, 0]
    assert step(clock, drv) == OK
    gyr.reset()                      # 2000 dps again: values would be 4x off
    assert step(clock, drv) == INVALID                       # once may be a flipped bit
    assert [step(clock, drv) for _ in range(GYRO_REINIT_CYCLES)] == [NOT_READY] * GYRO_REINIT_CYCLES
    assert step(clock, drv) == REINIT
    assert step(clock, drv) == OK
    assert waits == [] and gyr.ignored_writes == 0
    assert gyr.range_dps() == 500
    assert abs(drv.gyro_urad_s[0] - 300000) < 300
    assert (bmi_mod.EV_BMI_GYRO_REINIT, bmi_mod.CAUSE_CONFIG) in drain_events()


def test_bmi088_accel_reinit_in_flight_takes_its_steps_one_a_cycle_without_waiting(monkeypatch):
    clock, acc, gyr, drv = bmi_rig("spi")
    waits = []
    monkeypatch.setattr(bmi_mod, "_wait_us", waits.append)
    assert step(clock, drv) == OK
    drv._acc_reinit(bmi_mod.CAUSE_CONFIG)                     # as after a lost configuration
    codes = [step(clock, drv) for _ in range(ACC_REINIT_CYCLES + 1)]
    assert codes == [NOT_READY] * (ACC_REINIT_CYCLES - 1) + [REINIT, OK]
    assert waits == [] and acc.ignored_writes == 0


def test_bmi088_gyro_configured_sooner_than_30ms_after_lpm1_is_not_taken(monkeypatch):
    # the emulator's settling model: without the 30 ms wait after GYRO_LPM1 the
    # range write is ignored, so a driver that skips it fails its read-back
    real = bmi_mod._wait_us
    monkeypatch.setattr(bmi_mod, "_wait_us", lambda us: None if us == 30000 else real(us))
    with pytest.raises(DeviceError) as exc:
        bmi_rig("i2c")
    assert "GYRO_RANGE" in str(exc.value)


def test_bmi088_saturates_at_full_scale():
    clock, acc, gyr, drv = bmi_rig("i2c", gyro_dps=125, acc_g=3)
    set_inputs(acc, gyr, [5.0, -5.0, 0.0], [40.0, -40.0, 0.0])
    assert step(clock, drv) == OK
    g, a = drv.raw_gyro_at, drv.raw_accel_at
    assert list(drv.raw_gyro[g:g + 3]) == [32767, -32768, 0]
    assert list(drv.raw_accel[a:a + 3]) == [32767, -32768, 0]
    acc.faults.saturate = True
    gyr.faults.saturate = True
    set_inputs(acc, gyr, [0.0, 0.0, 0.0], [0.0, 0.0, 0.0])
    assert step(clock, drv) == OK
    assert drv.raw_gyro[drv.raw_gyro_at] == 32767 and drv.raw_accel[drv.raw_accel_at] == 32767


def test_bmi088_gyro_drdy_pulse_clears_by_itself():
    gyr = Bmi088GyroEmu()
    gyr.now_s = 0.0
    gyr.i2c_read(0x00, 1)
    gyr.now_s = 0.0101                   # a sample at 0.01 s (2000 Hz boundary) ...
    assert gyr.i2c_read(0x0A, 1) == b"\x80"
    gyr.now_s = 0.01045                  # ... 350 us later the pulse is gone (5.5.3)
    assert gyr.i2c_read(0x0A, 1) in (b"\x80", b"\x00")
    gyr.now_s = 0.0104999
    gyr.regs[0x10] = 0x85                # 100 Hz ODR: no new sample soon
    gyr._kk = gyr._k(gyr.now_s, 100.0)
    gyr.now_s = 0.0109
    assert gyr.i2c_read(0x0A, 1) == b"\x00"


# ----------------------------------------------------------------------------
# Emulator behaviour from the datasheets (independent of the drivers)
# ----------------------------------------------------------------------------

def test_lsm6dsox_emu_auto_increment_follows_if_inc():
    emu = Lsm6dsoxEmu()
    assert emu.i2c_read(0x0F, 3) == bytes((0x6C, 0x00, 0x00))    # WHO_AM_I, CTRL1_XL, CTRL2_G
    emu.i2c_write(0x12, b"\x00")                                  # IF_INC = 0
    assert emu.i2c_read(0x0F, 3) == bytes((0x6C, 0x6C, 0x6C))


def test_lsm6dsox_emu_sw_reset_restores_power_on_defaults():
    emu = Lsm6dsoxEmu()
    emu.i2c_write(0x10, b"\x5c")
    emu.i2c_write(0x12, b"\x45")                                  # SW_RESET
    assert emu.i2c_read(0x10, 3) == bytes((0x00, 0x00, 0x05))     # SW_RESET still set
    emu.now_s += emu.SW_RESET_US * 1e-6
    assert emu.i2c_read(0x10, 3) == bytes((0x00, 0x00, 0x04))     # done: power-on values


def test_lsm6dsox_emu_status_clears_when_outputs_are_read():
    clock = Clock()
    emu = Lsm6dsoxEmu()
    bus = EmuI2C(clock=clock)
    bus.attach(0x6A, emu)
    bus.writeto_mem(0x6A, 0x10, b"\x40")                         # accel 104 Hz
    clock.tick()
    assert bus.readfrom_mem(0x6A, 0x1E, 1)[0] & 0x01
    bus.readfrom_mem(0x6A, 0x28, 6)
    assert not bus.readfrom_mem(0x6A, 0x1E, 1)[0] & 0x01
    assert not bus.readfrom_mem(0x6A, 0x1E, 1)[0] & 0x02          # gyro still powered down


def test_bmi088_emu_soft_reset_returns_accel_to_suspend_and_i2c_mode():
    acc = Bmi088AccelEmu()
    acc.spi_transaction(b"\x80\x00\x00")                           # select SPI
    acc.spi_transaction(b"\x7c\x00")
    settle.on_sleep(5000)                                          # the firmware's wait
    acc.spi_transaction(b"\x7d\x04")
    assert acc.active()
    settle.on_sleep(5000)
    acc.spi_transaction(b"\x7e\xb6")                               # ACC_SOFTRESET
    assert not acc.active() and not acc.spi_mode


def test_bmi088_emu_gyro_bandwidth_bit7_reads_one():
    gyr = Bmi088GyroEmu()
    gyr.i2c_write(0x10, b"\x02")
    assert gyr.i2c_read(0x10, 1) == b"\x82"


def test_bmi088_emu_invalid_acc_conf_sets_error_code():
    acc = Bmi088AccelEmu()
    acc.i2c_write(0x40, b"\x3a")                                  # bwp 0x3 invalid
    assert acc.i2c_read(0x02, 1)[0] >> 2 & 7 == 1
    assert acc.i2c_read(0x02, 1)[0] == 0                          # cleared on read


def test_bmi088_accel_not_enabled_can_start_gyro_only_and_report_disabled():
    clock = Clock()
    acc, gyr = Bmi088AccelEmu(Faults(ignore_enable=True)), Bmi088GyroEmu()
    bus = EmuI2C(clock=clock)
    bus.attach(0x18, acc)
    bus.attach(0x68, gyr)
    drv = Bmi088(bus, bus, require_accel=False)
    assert not drv.accel_enabled
    assert any(c == bmi_mod.EV_BMI_ACC_DISABLED for c, _ in drain_events())
    gyr.gyro_rad_s = [0.1, 0.0, 0.0]
    clock.tick()
    assert drv.read() == DISABLED
    assert drv.gyro_status == OK and abs(drv.gyro_urad_s[0] - 100000) < 300


def test_lsm6dsox_one_flipped_config_read_is_not_a_reset():
    clock, emu, drv = lsm_rig("i2c")
    real = emu.i2c_read
    flips = [1]

    def flaky(reg, n):
        data = real(reg, n)
        if reg == 0x10 and flips[0]:
            flips[0] -= 1
            return bytes((data[0] ^ 0x10,)) + data[1:]
        return data

    emu.i2c_read = flaky
    for _ in range(lsm_mod._CHECK_PERIOD + 2):
        assert step(clock, drv) == OK
    assert flips[0] == 0 and drv.resets == 0 and drain_events() == []


def test_lsm6dsox_noise_has_the_injected_sigma():
    clock, emu, drv = lsm_rig("i2c", faults=Faults(noise=0.01, seed=4))
    xs = []
    for _ in range(400):
        assert step(clock, drv) == OK
        xs.append(drv.gyro_urad_s[0])
    mean = sum(xs) / len(xs)
    sd = (sum((x - mean) ** 2 for x in xs) / (len(xs) - 1)) ** 0.5
    assert abs(mean) < 2000 and 8000 < sd < 12000          # sigma 0.01 rad/s


def test_bmi088_noise_and_bias_reach_outputs():
    clock, acc, gyr, drv = bmi_rig("i2c", acc_faults=Faults(bias=0.5), gyro_faults=Faults(bias=0.02))
    assert step(clock, drv) == OK
    assert abs(drv.accel_mm_s2[0] - 500) <= 4 and abs(drv.gyro_urad_s[0] - 20000) <= 270


def test_lsm6dsox_startup_polls_sw_reset_until_the_part_clears_it(monkeypatch):
    # ST's lsm6dsox-pid polls SW_RESET before writing anything; the emulator
    # keeps the bit set (and takes no writes) for its reset time, so a driver
    # that never lets time pass never sees the reset complete
    waits = []
    real = lsm_mod._wait_us
    monkeypatch.setattr(lsm_mod, "_wait_us", lambda us: (waits.append(us), real(us)))
    clock, emu, drv = lsm_rig("i2c")
    assert emu.ignored_writes == 0 and waits and sum(waits) >= emu.SW_RESET_US
    monkeypatch.setattr(lsm_mod, "_wait_us", lambda us: None)
    with pytest.raises(DeviceError) as exc:
        lsm_rig("i2c")
    assert "SW_RESET" in str(exc.value)
