"""The LSM6DSOX emulator's register behaviour at its edges, pinned against
the ST datasheet (DS12814): the register addresses and power-on values of
section 8, IF_INC auto-increment on read and write bursts (CTRL3_C bit 2),
the data-ready bits of STATUS_REG cleared by reading their own outputs only,
the full scales and sensitivities of table 2 (both XL_FS_MODE settings of
CTRL8_XL), the temperature output (256 LSB/degC, 0 at 25 degC), SW_RESET's
busy time, the ODR restarts and power-down, I2C_disable (CTRL4_C bit 2), and
the shared 16-bit output packing (put_axes) with its fault injection.

Every expected count is worked out by hand from the datasheet's numbers; the
register addresses are written here from the datasheet, not imported."""
import errno
import math
import random

import pytest

from host_tools.emu import lsm6dsox as lsm
from host_tools.emu import settle
from host_tools.emu.bus import Faults

# DS12814 section 8, table 20
WHO_AM_I, CTRL1_XL, CTRL2_G, CTRL3_C, CTRL4_C, CTRL8_XL = 0x0F, 0x10, 0x11, 0x12, 0x13, 0x17
STATUS_REG, OUT_TEMP_L, OUTX_L_G, OUTX_L_A = 0x1E, 0x20, 0x22, 0x28
XLDA, GDA, TDA = 0x01, 0x02, 0x04
G0 = 9.80665


@pytest.fixture(autouse=True)
def fresh(monkeypatch):
    """Bench time = the part's own now_s, and no burst shape worked out by an
    earlier test (each test computes its own read plans)."""
    monkeypatch.setattr(settle, "_total", [0])
    monkeypatch.setattr(lsm, "_BURST_PLANS", {})


def _w(emu, reg, *octets):
    emu.i2c_write(reg, bytes(octets))


def _r(emu, reg, n=1):
    out = emu.i2c_read(reg, n)
    return out[0] if n == 1 else bytes(out)


def _s16(lo, hi):
    v = lo | hi << 8
    return v - 0x10000 if v & 0x8000 else v


def _axes(raw):
    return [_s16(raw[i], raw[i + 1]) for i in range(0, len(raw), 2)]


# -- burst reads: IF_INC and the address wrap -----------------------------------

def test_a_read_burst_with_if_inc_returns_consecutive_registers():
    emu = lsm.Lsm6dsoxEmu()
    emu.regs[OUTX_L_G:OUTX_L_G + 6] = bytes([1, 2, 3, 4, 5, 6])
    assert _r(emu, OUTX_L_G, 6) == bytes([1, 2, 3, 4, 5, 6])


def test_a_read_burst_without_if_inc_repeats_the_first_register():
    emu = lsm.Lsm6dsoxEmu()
    _w(emu, CTRL3_C, 0x00)                               # IF_INC = 0
    assert _r(emu, WHO_AM_I, 3) == bytes([0x6C, 0x6C, 0x6C])


def test_a_read_burst_wraps_from_0x7f_to_0x00():
    emu = lsm.Lsm6dsoxEmu()
    emu.regs[0x7F] = 0xA5
    assert _r(emu, 0x7F, 3) == bytes([0xA5, 0x00, 0x00])  # 0x00, 0x01: reserved, 0


# -- STATUS_REG: a data-ready bit clears when its own outputs are read -----------

@pytest.mark.parametrize("reg,n,status", [
    (WHO_AM_I, 1, 0x07), (STATUS_REG, 1, 0x07), (0x1F, 1, 0x07),
    (OUT_TEMP_L, 1, 0x03), (OUT_TEMP_L + 1, 1, 0x03),
    (OUTX_L_G, 1, 0x05), (OUTX_L_G + 5, 1, 0x05),
    (OUTX_L_A, 1, 0x06), (OUTX_L_A + 5, 1, 0x06),
    (OUTX_L_G, 12, 0x04),                                # gyro + accel: TDA stays
    (OUT_TEMP_L, 14, 0x00),                              # temperature + gyro + accel
    (OUTX_L_A + 6, 4, 0x07),                             # past the outputs
])
def test_reading_an_output_octet_clears_its_own_data_ready_bit_only(reg, n, status):
    emu = lsm.Lsm6dsoxEmu()
    emu.regs[STATUS_REG] = 0x07
    _r(emu, reg, n)
    assert emu.regs[STATUS_REG] == status


def test_a_wrong_id_part_answers_0x69_to_who_am_i_alone_and_inside_a_burst():
    emu = lsm.Lsm6dsoxEmu(faults=Faults(wrong_id=True))
    assert _r(emu, WHO_AM_I) == 0x69
    assert _r(emu, WHO_AM_I - 1, 3) == bytes([0x00, 0x69, 0x00])


# -- SW_RESET (CTRL3_C bit 0): busy for 50 us, writes in that time not taken ------

def test_sw_reset_reads_back_set_for_50_us_after_the_write():
    emu = lsm.Lsm6dsoxEmu()
    emu.now_s = 1.0
    _w(emu, CTRL3_C, 0x05)
    emu.now_s = 1.0 + 49e-6
    assert _r(emu, CTRL3_C) == 0x05                      # IF_INC default + SW_RESET
    emu.now_s = 1.0 + 50e-6
    assert _r(emu, CTRL3_C) == 0x04


def test_writes_during_sw_reset_are_not_taken_and_each_is_counted():
    emu = lsm.Lsm6dsoxEmu()
    _w(emu, CTRL3_C, 0x01)
    _w(emu, CTRL1_XL, 0x40, 0x40)                        # two octets, both refused
    assert emu.regs[CTRL1_XL] == 0 and emu.regs[CTRL2_G] == 0
    assert emu.ignored_writes == 2
    emu.now_s = 50e-6
    _w(emu, CTRL1_XL, 0x40)
    assert emu.regs[CTRL1_XL] == 0x40 and emu.ignored_writes == 2


def test_sw_reset_restores_the_power_on_values():
    emu = lsm.Lsm6dsoxEmu()
    _w(emu, CTRL1_XL, 0x4C, 0x4C)
    _w(emu, CTRL3_C, 0x01)
    assert emu.regs[CTRL1_XL] == 0 and emu.regs[CTRL2_G] == 0
    assert emu.regs[CTRL3_C] == 0x04 and emu.regs[0x02] == 0x3F and emu.regs[0x18] == 0xE0


def test_power_on_resets_counts_construction_and_reset_not_sw_reset():
    emu = lsm.Lsm6dsoxEmu()
    assert emu.power_on_resets == 1
    emu.reset()
    assert emu.power_on_resets == 2
    _w(emu, CTRL3_C, 0x01)
    assert emu.power_on_resets == 2


# -- register writes ------------------------------------------------------------

def test_a_write_burst_with_if_inc_fills_consecutive_registers():
    emu = lsm.Lsm6dsoxEmu()
    _w(emu, CTRL1_XL, 0x4C, 0x48)
    assert emu.regs[CTRL1_XL] == 0x4C and emu.regs[CTRL2_G] == 0x48


def test_a_write_burst_without_if_inc_writes_every_octet_to_one_register():
    emu = lsm.Lsm6dsoxEmu()
    _w(emu, CTRL3_C, 0x00)
    _w(emu, CTRL1_XL, 0x40, 0x4C)
    assert emu.regs[CTRL1_XL] == 0x4C and emu.regs[CTRL2_G] == 0x00


def test_a_write_burst_wraps_from_0x7f_to_0x00():
    emu = lsm.Lsm6dsoxEmu()
    _w(emu, 0x7F, 0x11, 0x22)
    assert emu.regs[0x7F] == 0x11 and emu.regs[0x00] == 0x22


def test_ctrl2_g_bit_0_reads_0_whatever_is_written():
    emu = lsm.Lsm6dsoxEmu()
    _w(emu, CTRL2_G, 0x41)
    assert _r(emu, CTRL2_G) == 0x40


def test_boot_bit_reads_back_0():
    emu = lsm.Lsm6dsoxEmu()
    _w(emu, CTRL3_C, 0x84)
    assert _r(emu, CTRL3_C) == 0x04


def test_ignored_enable_keeps_the_odr_nibble_and_takes_the_low_nibble_as_written():
    emu = lsm.Lsm6dsoxEmu(faults=Faults(ignore_enable=True))
    _w(emu, CTRL1_XL, 0x4D)
    assert emu.regs[CTRL1_XL] == 0x0D
    _w(emu, CTRL1_XL, 0x4C)
    assert emu.regs[CTRL1_XL] == 0x0C


# -- full scales and sensitivities (table 2) ------------------------------------

@pytest.mark.parametrize("ctrl8,fs,count", [
    # XL_FS_MODE = 0: FS 00 +-2 g, 01 +-16 g, 10 +-4 g, 11 +-8 g
    (0x00, 0, 16393), (0x00, 1, 2049), (0x00, 2, 8197), (0x00, 3, 4098),
    # XL_FS_MODE = 1 (CTRL8_XL bit 1): 01 is +-2 g too
    (0x02, 0, 16393), (0x02, 1, 16393), (0x02, 2, 8197), (0x02, 3, 4098),
    (0x01, 1, 2049),                                     # bit 0 (LOW_PASS_ON_6D) is not the mode
])
def test_one_g_reads_1000_mg_over_the_sensitivity_of_the_full_scale(ctrl8, fs, count):
    # 1 g / (0.061, 0.488, 0.122, 0.244 mg/LSB) = 16393.4, 2049.2, 8196.7, 4098.4
    emu = lsm.Lsm6dsoxEmu()
    emu.accel_m_s2 = [G0, -G0, 0.0]
    _w(emu, CTRL8_XL, ctrl8)
    _w(emu, CTRL1_XL, 0x40 | fs << 2)
    emu.now_s = 0.01
    assert _axes(_r(emu, OUTX_L_A, 6)) == [count, -count, 0]


@pytest.mark.parametrize("ctrl2,count", [
    (0x42, 13096),                                       # FS_125: 4.375 mdps/LSB
    (0x40, 6548), (0x44, 3274), (0x48, 1637), (0x4C, 819),
])
def test_one_rad_s_reads_57296_mdps_over_the_sensitivity_of_the_full_scale(ctrl2, count):
    # 1 rad/s = 57295.78 mdps; / 4.375, 8.75, 17.5, 35, 70 = 13096.2, 6548.1,
    # 3274.0, 1637.0, 818.5 (-> 819)
    emu = lsm.Lsm6dsoxEmu()
    emu.gyro_rad_s = [1.0, 0.0, -1.0]
    _w(emu, CTRL2_G, ctrl2)
    emu.now_s = 0.01
    assert _axes(_r(emu, OUTX_L_G, 6)) == [count, 0, -count]


@pytest.mark.parametrize("temp_c,count", [(25.0, 0), (30.5, 1408), (-200.0, -32768), (200.0, 32767)])
def test_temperature_is_256_lsb_per_degc_from_25_degc_saturated_to_16_bits(temp_c, count):
    emu = lsm.Lsm6dsoxEmu()
    emu.temperature_c = temp_c
    _w(emu, CTRL1_XL, 0x40)
    emu.now_s = 0.01
    assert _axes(_r(emu, OUT_TEMP_L, 2)) == [count]


def test_a_part_with_no_inputs_set_reads_zero_rate_zero_force_and_25_degc():
    emu = lsm.Lsm6dsoxEmu()
    _w(emu, CTRL1_XL, 0x40, 0x40)
    emu.now_s = 0.01
    assert _r(emu, OUT_TEMP_L, 14) == bytes(14)


# -- conversions at the ODR -----------------------------------------------------

def test_a_new_part_starts_its_clock_at_0_so_the_first_conversion_is_one_period_after():
    emu = lsm.Lsm6dsoxEmu()
    _w(emu, CTRL1_XL, 0x40)                              # 104 Hz, written at t = 0
    emu.now_s = 0.0095
    assert _r(emu, STATUS_REG) == 0
    emu.now_s = 0.0097                                   # 1/104 = 0.009615 s
    assert _r(emu, STATUS_REG) == XLDA | TDA


def test_the_kth_conversion_is_done_at_k_over_odr_and_no_other_before_the_next_period():
    emu = lsm.Lsm6dsoxEmu()
    _w(emu, CTRL1_XL, 0x40)                              # 104 Hz at t = 0
    emu.accel_m_s2 = [G0, 0.0, 0.0]
    emu.now_s = 0.25                                     # 26 periods exactly
    assert _axes(_r(emu, OUTX_L_A, 6)) == [16393, 0, 0]
    emu.accel_m_s2 = [0.0, 0.0, 0.0]
    emu.now_s = 0.25 + 0.5 / 104
    assert _r(emu, STATUS_REG) == TDA                    # the temperature octets not read
    assert _axes(_r(emu, OUTX_L_A, 6)) == [16393, 0, 0]


def test_power_up_at_12_5_hz_gives_the_first_conversion_after_80_ms():
    emu = lsm.Lsm6dsoxEmu()
    _w(emu, CTRL1_XL, 0x10)
    emu.now_s = 0.079
    assert _r(emu, STATUS_REG) == 0
    emu.now_s = 0.081
    assert _r(emu, STATUS_REG) == XLDA | TDA


def test_after_an_odr_change_the_next_conversion_is_on_the_new_odr_grid():
    # conversions fall at multiples of 1/ODR of the part's clock: 12.5 Hz
    # written at t = 1 s converts next at 13 / 12.5 = 1.04 s
    emu = lsm.Lsm6dsoxEmu()
    _w(emu, CTRL1_XL, 0x20)                              # 26 Hz at t = 0
    emu.now_s = 1.0
    _w(emu, CTRL1_XL, 0x10)                              # 12.5 Hz from t = 1 s
    _r(emu, OUT_TEMP_L, 14)                              # the 26 Hz sample read
    emu.now_s = 1.039
    assert _r(emu, STATUS_REG) == 0
    emu.now_s = 1.041
    assert _r(emu, STATUS_REG) == XLDA | TDA


@pytest.mark.parametrize("code", [0xC, 0xD, 0xE, 0xF])
def test_an_odr_code_not_allowed_leaves_the_sensor_powered_down(code):
    emu = lsm.Lsm6dsoxEmu()
    _w(emu, CTRL1_XL, code << 4, code << 4)
    emu.now_s = 1.0
    assert _r(emu, STATUS_REG) == 0 and emu.samples == 0


def test_powering_the_accelerometer_down_clears_xlda_and_tda_only():
    emu = lsm.Lsm6dsoxEmu()
    _w(emu, CTRL1_XL, 0x40)
    emu.regs[STATUS_REG] = 0x07
    _w(emu, CTRL1_XL, 0x00)
    assert emu.regs[STATUS_REG] == GDA


def test_powering_the_gyroscope_down_clears_gda_only():
    emu = lsm.Lsm6dsoxEmu()
    _w(emu, CTRL2_G, 0x40)
    emu.regs[STATUS_REG] = 0x07
    _w(emu, CTRL2_G, 0x00)
    assert emu.regs[STATUS_REG] == XLDA | TDA


def test_an_accelerometer_conversion_leaves_a_pending_gda_set():
    emu = lsm.Lsm6dsoxEmu()
    _w(emu, CTRL1_XL, 0x40, 0x10)                        # accel 104 Hz, gyro 12.5 Hz
    emu.now_s = 0.081                                    # both converted
    _r(emu, OUT_TEMP_L, 2)
    _r(emu, OUTX_L_A, 6)
    assert emu.regs[STATUS_REG] == GDA
    emu.now_s = 0.09                                     # the accelerometer only
    assert _r(emu, STATUS_REG) == 0x07


def test_samples_counts_each_accelerometer_and_each_gyroscope_conversion():
    emu = lsm.Lsm6dsoxEmu()
    assert emu.samples == 0
    _w(emu, CTRL1_XL, 0x40, 0x40)
    emu.now_s = 0.01
    _r(emu, STATUS_REG)
    assert emu.samples == 2
    emu.now_s = 0.02
    _r(emu, STATUS_REG)
    assert emu.samples == 4


# -- the interfaces ---------------------------------------------------------------

def test_ctrl4_c_bits_other_than_i2c_disable_leave_i2c_on():
    emu = lsm.Lsm6dsoxEmu()
    _w(emu, CTRL4_C, 0xFB)
    _w(emu, CTRL1_XL, 0x40)
    assert _r(emu, CTRL1_XL) == 0x40


@pytest.mark.parametrize("op", ["read", "write"])
def test_i2c_disabled_refuses_reads_and_writes_with_eio_naming_the_part(op):
    emu = lsm.Lsm6dsoxEmu()
    _w(emu, CTRL4_C, 0x04)
    with pytest.raises(OSError) as exc:
        if op == "read":
            emu.i2c_read(WHO_AM_I, 1)
        else:
            emu.i2c_write(CTRL1_XL, b"\x40")
    assert exc.value.args == (errno.EIO, "LSM6DSOX I2C disabled")
    assert emu.regs[CTRL1_XL] == 0


def test_an_spi_window_with_no_clocks_returns_nothing():
    assert lsm.Lsm6dsoxEmu().spi_transaction(b"") == b""


# -- put_axes: the 16-bit output packing shared with the BMI088 -------------------

def _packed(values, lsb=1.0, **faults):
    regs = bytearray(6)
    f = Faults(**faults)
    lsm.put_axes(regs, 0, values, lsb, f)
    return _axes(regs), f


def test_counts_round_and_clip_to_int16():
    got, _ = _packed([32767.4, 32768.0, -32769.0])
    assert got == [32767, 32767, -32768]
    got, _ = _packed([-32768.4, 2.5, -2.5], lsb=1.0)
    assert got == [-32768, 2, -2]                        # round half to even


def test_saturate_pins_each_axis_at_full_scale_by_its_sign():
    got, _ = _packed([0.0, -1e-9, 5.0], saturate=True)
    assert got == [32767, -32768, 32767]


def test_a_non_finite_value_reads_positive_full_scale():
    got, _ = _packed([math.nan, math.inf, -math.inf])
    assert got == [32767, 32767, 32767]


def test_noise_is_a_gaussian_from_the_fault_stream_added_to_the_value():
    got, _ = _packed([1000.0, 2000.0, -3000.0], noise=10.0, seed=7)
    rng = random.Random(7)
    want = [int(round(v + rng.gauss(0.0, 10.0))) for v in (1000.0, 2000.0, -3000.0)]
    assert got == want and want != [1000, 2000, -3000]


def test_a_noise_free_channel_draws_nothing_from_the_fault_stream():
    f = Faults(seed=3)
    before = f.rng.getstate()
    lsm.put_axes(bytearray(6), 0, [1.0, 2.0, 3.0], 1.0, f)
    assert f.rng.getstate() == before


# -- the latency fault's input history ---------------------------------------------

def test_the_history_at_a_recorded_instant_is_that_record():
    h = lsm.InputHistory()
    h.record(1.0, [1, 1, 1], [2, 2, 2])
    h.record(2.0, [3, 3, 3], [4, 4, 4])
    assert h.at(2.0, [9] * 3, [9] * 3) == ([3, 3, 3], [4, 4, 4])
    assert h.at(1.5, [9] * 3, [9] * 3) == ([1, 1, 1], [2, 2, 2])
    assert h.at(0.5, [9] * 3, [9] * 3) == ([9, 9, 9], [9, 9, 9])   # before the first


def test_the_history_keeps_4096_records_and_the_4097th_drops_the_oldest_2048():
    h = lsm.InputHistory()
    for t in range(4096):
        h.record(float(t), [t] * 3, [t] * 3)
    assert h.at(0.0, [-1] * 3, [-1] * 3) == ([0] * 3, [0] * 3)
    h.record(4096.0, [4096] * 3, [4096] * 3)
    assert h.at(2047.0, [-1] * 3, [-1] * 3) == ([-1] * 3, [-1] * 3)
    assert h.at(2048.0, [-1] * 3, [-1] * 3) == ([2048] * 3, [2048] * 3)
