"""Drivers ready for silicon: the BMI088 waits Bosch's BMI08x SensorAPI
sequences at start-up, and the reserved bits of the error/status registers
are masked (BMI088 accel, BMP390) as the vendor APIs do."""
from host_tools.emu.bmi088 import ACC_STATUS
from host_tools.emu.bmp390 import STATUS
from lander.drivers import OK
from lander.drivers import bmi088 as bmi_mod
from tests.test_drivers_bmp390 import rig as bmp_rig
from tests.test_drivers_imu import bmi_rig, set_inputs, step


def test_bmi088_start_up_waits_the_vendor_sequence(monkeypatch):
    waits = []
    real = bmi_mod._wait_us

    def wait(us):
        waits.append(us)
        real(us)

    monkeypatch.setattr(bmi_mod, "_wait_us", wait)
    bmi_rig()
    # accel: 5 ms after ACC_PWR_CONF and after ACC_PWR_CTRL, 40 ms after
    # ACC_CONF/ACC_RANGE; gyro: 30 ms after LPM1, 10 ms after RANGE and BANDWIDTH
    assert waits == [5000, 5000, 40000, 30000, 10000, 10000]


def test_bmi088_reserved_status_bits_do_not_invalidate_a_sample():
    clock, acc, gyr, drv = bmi_rig()
    set_inputs(acc, gyr, (0.0, 0.0, 0.0), (0.0, 0.0, 9.80665))
    for _ in range(3):
        step(clock, drv)
    acc.regs[ACC_STATUS] |= 0x01                  # ACC_STATUS bit 0: reserved
    invalid = drv.invalid
    assert step(clock, drv) == OK
    assert drv.invalid == invalid
    assert abs(drv.accel_mm_s2[2] - 9807) < 10


def test_bmp390_reserved_status_bits_do_not_invalidate_a_sample():
    clock, emu, drv = bmp_rig()
    emu.pressure_pa, emu.temperature_c = 101325.0, 20.0
    clock.tick()
    assert drv.read() == OK
    clock.tick()
    emu.regs[STATUS] |= 0x81                      # STATUS bits 7 and 0: reserved
    assert drv.read() == OK
    assert drv.invalid == 0
    assert abs(drv.pressure_cpa - 10132500) <= 2 + 2


def test_bmi088_accel_without_the_power_waits_is_not_enabled(monkeypatch):
    # the emulator ignores a write made sooner than 5 ms after a power write:
    # a driver that skips the wait finds the accelerometer off at read-back
    import pytest
    from lander.drivers import DeviceError

    monkeypatch.setattr(bmi_mod, "_wait_us", lambda us: None)
    with pytest.raises(DeviceError, match="not enabled"):
        bmi_rig()


def test_bmi088_accel_with_the_power_waits_is_enabled():
    _, acc, _, drv = bmi_rig()
    assert drv.accel_enabled and acc.active()
    assert getattr(acc, "ignored_writes", 0) == 0
