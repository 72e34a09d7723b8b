"""The BMP390 emulator's register behaviour at its edges (BST-BMP390-DS002):
ready at power-on, the data-ready bits cleared by a read of any octet of
their data registers and by no other read, error bits that accumulate until
ERR_REG is read, raw temperature counts pinned at 0 and 2^24 - 1 beyond the range, the
24-bit sensor time, STATUS while a soft reset reboots, and the normal-mode
ODR phase taken from the moment the mode is entered."""
import pytest

from host_tools.emu import bmp390 as b3
from host_tools.emu import settle

STATUS, ERR_REG, DATA_0, PWR_CTRL, OSR, ODR, CMD = 0x03, 0x02, 0x04, 0x1B, 0x1C, 0x1D, 0x7E


@pytest.fixture
def t0(monkeypatch):
    """Bench time = the part's own now_s (no firmware waits counted yet)."""
    monkeypatch.setattr(settle, "_total", [0])


def _rd(emu, reg, n=1):
    out = emu.i2c_read(reg, n)
    return out[0] if n == 1 else bytes(out)


def test_a_part_at_bench_time_zero_is_ready_and_takes_its_configuration(t0):
    emu = b3.Bmp390Emu()
    assert _rd(emu, STATUS) & 0x10                      # cmd_rdy
    emu.i2c_write(OSR, b"\x05")
    assert emu.regs[OSR] == 0x05 and emu.ignored_writes == 0


@pytest.mark.parametrize("reg,cleared", [
    (DATA_0, 0x20), (DATA_0 + 1, 0x20), (DATA_0 + 2, 0x20),
    (DATA_0 + 3, 0x40), (DATA_0 + 4, 0x40), (DATA_0 + 5, 0x40),
    (0x00, 0), (0x0C, 0), (0x1B, 0),
])
def test_reading_one_octet_of_a_data_register_clears_its_data_ready_bit_only(reg, cleared):
    emu = b3.Bmp390Emu()
    emu.regs[STATUS] = 0x70
    _rd(emu, reg)
    assert emu.regs[STATUS] == 0x70 & ~cleared


def test_cmd_and_conf_errors_accumulate_until_err_reg_is_read():
    emu = b3.Bmp390Emu()
    emu.i2c_write(CMD, b"\x55")                          # not a command: cmd_err
    assert emu.regs[ERR_REG] == 0x02
    emu.i2c_write(ODR, b"\x00")                          # 5 ms, shorter than a conversion
    emu.i2c_write(PWR_CTRL, b"\x33")                     # normal mode refused: conf_err
    assert emu.regs[ERR_REG] == 0x06
    emu.regs[ERR_REG] = 0x04
    emu.i2c_write(CMD, b"\x55")
    assert emu.regs[ERR_REG] == 0x06
    assert _rd(emu, ERR_REG) == 0x06 and _rd(emu, ERR_REG) == 0x00


def test_a_command_while_rebooting_adds_cmd_err_to_the_errors_there(t0):
    emu = b3.Bmp390Emu()
    emu.i2c_write(CMD, b"\xB6")                          # soft reset: 2 ms busy
    emu.regs[ERR_REG] = 0x01
    emu.i2c_write(CMD, b"\x55")
    assert emu.regs[ERR_REG] == 0x03 and emu.ignored_writes == 1


def test_status_while_rebooting_reads_without_cmd_rdy_and_keeps_the_data_ready_bits(t0):
    emu = b3.Bmp390Emu()
    emu.i2c_write(CMD, b"\xB6")
    emu.regs[STATUS] = 0x70
    assert _rd(emu, STATUS) == 0x60
    emu.now_s = 0.002                                    # 2 ms later: ready
    assert _rd(emu, STATUS) == 0x70


def test_normal_mode_refused_keeps_only_the_enable_bits_written():
    emu = b3.Bmp390Emu()
    emu.i2c_write(OSR, b"\x02")                          # x4: 8.7 ms > 5 ms
    emu.i2c_write(ODR, b"\x00")
    emu.i2c_write(PWR_CTRL, b"\x31")                     # normal, pressure only
    assert emu.regs[PWR_CTRL] == 0x01 and emu.mode() == 0


def _forced(emu, p, t):
    emu.pressure_pa, emu.temperature_c = p, t
    emu.i2c_write(PWR_CTRL, b"\x13")                     # forced, both enabled
    emu.now_s += 0.1
    return _rd(emu, DATA_0, 6)


def test_raw_temperature_counts_are_0_below_the_range_and_2_24_minus_1_above():
    emu = b3.Bmp390Emu()
    assert _forced(emu, 101325.0, -300.0)[3:] == bytes(3)
    assert _forced(emu, 101325.0, 5000.0)[3:] == b"\xff" * 3


def test_sensortime_is_24_bits_of_39_0625_us_counts():
    emu = b3.Bmp390Emu()
    emu.now_s = 1000.0                                   # 25,600,000 counts
    assert _rd(emu, 0x0C, 3) == bytes([0x00, 0xA0, 0x86])   # mod 2^24 = 0x86A000


def test_normal_mode_converts_on_the_odr_grid_counted_from_entering_it():
    emu = b3.Bmp390Emu()
    emu.i2c_write(ODR, b"\x05")                          # 160 ms
    emu.now_s = 1.0                                      # grid index 6 (0.96 s)
    emu.i2c_write(PWR_CTRL, b"\x33")
    emu.now_s = 1.1
    _rd(emu, STATUS)
    assert emu.samples == 0                              # 1.1 s is still index 6
    emu.now_s = 1.13                                     # index 7 (1.12 s)
    _rd(emu, STATUS)
    assert emu.samples == 1


def test_a_multi_byte_write_takes_register_data_pairs_not_every_octet():
    emu = b3.Bmp390Emu()
    emu.i2c_write(OSR, bytes([0x05, ODR, 0x19, 0x1F, 0x04]))
    assert (emu.regs[OSR], emu.regs[ODR], emu.regs[0x1F]) == (0x05, 0x19, 0x04)
    assert emu.regs[0x19] == 0x02                       # INT_CTRL: 0x19 was data, not a register


def _pressure_counts(emu):
    d = _rd(emu, DATA_0, 3)
    return d[0] | d[1] << 8 | d[2] << 16


def test_a_latency_uses_the_input_exactly_that_old():
    from host_tools.emu.bus import Faults
    emu = b3.Bmp390Emu(faults=Faults(latency_s=0.5))
    ref = b3.Bmp390Emu()
    got = []
    for i, p in enumerate((90000.0, 95000.0, 100000.0)):   # converted at 0.125, 0.375, 0.625 s
        emu.now_s = 0.25 * i
        emu.pressure_pa = p
        emu.i2c_write(PWR_CTRL, b"\x13")
        emu.now_s += 0.125                                  # binary fractions: exact
        got.append(_pressure_counts(emu))
    assert got[2] == ref.raw_from_physical(90000.0, 20.0)[0]


def test_pressure_noise_below_one_pascal_is_drawn_too():
    from host_tools.emu.bus import Faults
    quiet = b3.Bmp390Emu()
    noisy = b3.Bmp390Emu(faults=Faults(noise=0.5, seed=3))
    counts = []
    for emu in (quiet, noisy):
        emu.i2c_write(PWR_CTRL, b"\x13")
        emu.now_s = 0.1
        counts.append(_pressure_counts(emu))
    assert counts[0] != counts[1]
