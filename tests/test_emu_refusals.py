"""Emulators refuse what the real part refuses: commands with a bad check
byte, malformed or unknown commands, writes to read-only registers. (Register
writes during a part's start-up time belong to the emulators' timing models.)"""
import pytest

from host_tools.emu import bmi088, bmp390, lsm6dsox
from host_tools.emu.laser_altimeter import LaserAltimeterEmu, check_byte


def _cmd(*body):
    return bytes(body) + bytes([check_byte(bytes(body))])


def test_laser_altimeter_check_byte_is_sum_xor_0x50():
    # independent arithmetic: 0xCC + 0x04 = 0xD0; 0xD0 ^ 0x50 = 0x80
    assert check_byte(bytes([0xCC, 0x04, 0x00, 0x00])) == 0x80


def test_laser_altimeter_ignores_a_command_with_a_bad_check_byte():
    emu = LaserAltimeterEmu()
    good = _cmd(0xCC, 0x04, 0x00, 0x00)
    bad = good[:-1] + bytes([good[-1] ^ 0x01])
    emu.uart_rx(bad)
    assert emu.rate_hz == 0.0 and emu.commands == []
    emu.uart_rx(good)
    assert emu.rate_hz == 20.0 and emu.commands == [good]


def test_laser_altimeter_skips_junk_and_waits_for_a_whole_command():
    emu = LaserAltimeterEmu()
    cmd = _cmd(0xCC, 0x03, 0x00, 0x00)
    emu.uart_rx(b"\x00\x17\xff" + cmd[:3])       # unknown bytes, then a partial command
    assert emu.rate_hz == 0.0 and emu.commands == []
    emu.uart_rx(cmd[3:])
    assert emu.rate_hz == 10.0 and emu.commands == [cmd]


def test_laser_altimeter_ignores_an_undefined_measurement_mode():
    emu = LaserAltimeterEmu()
    emu.uart_rx(_cmd(0xCC, 0x07, 0x00, 0x00))    # modes are 0..6
    assert emu.rate_hz == 0.0
    emu.range_m = 100.0
    assert emu.uart_poll(1.0) == b""             # the laser stays off: no frames


def test_laser_altimeter_sends_nothing_until_enabled():
    emu = LaserAltimeterEmu()
    emu.range_m = 50.0
    assert emu.uart_poll(2.0) == b""


def test_bmp390_refuses_an_unknown_command_with_cmd_err():
    emu = bmp390.Bmp390Emu()
    emu.i2c_write(bmp390.CMD, bytes([0x5A]))
    assert emu.i2c_read(bmp390.ERR_REG, 1)[0] & 0x02
    assert emu.i2c_read(bmp390.ERR_REG, 1)[0] & 0x02 == 0     # cleared on read


def test_bmp390_read_only_registers_ignore_writes():
    emu = bmp390.Bmp390Emu()
    emu.i2c_write(bmp390.CHIP_ID, bytes([0x00]))
    assert emu.i2c_read(bmp390.CHIP_ID, 1)[0] == bmp390.CHIP_ID_VALUE


def test_bmi088_chip_ids_ignore_writes():
    acc, gyr = bmi088.Bmi088AccelEmu(), bmi088.Bmi088GyroEmu()
    acc.i2c_write(bmi088.ACC_CHIP_ID, bytes([0x00]))
    gyr.i2c_write(bmi088.GYRO_CHIP_ID, bytes([0x00]))
    assert acc.i2c_read(bmi088.ACC_CHIP_ID, 1)[0] == bmi088.ACC_CHIP_ID_VALUE
    assert gyr.i2c_read(bmi088.GYRO_CHIP_ID, 1)[0] == bmi088.GYRO_CHIP_ID_VALUE


def test_lsm6dsox_who_am_i_ignores_writes():
    emu = lsm6dsox.Lsm6dsoxEmu()
    emu.i2c_write(lsm6dsox.WHO_AM_I, bytes([0x00]))
    assert emu.i2c_read(lsm6dsox.WHO_AM_I, 1)[0] == 0x6C
