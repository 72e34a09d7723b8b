"""The BMI088 emulators' register behaviour at their edges, pinned against the
Bosch datasheet (BST-BMI088-DS001): the accelerometer's power modes
(ACC_PWR_CONF / ACC_PWR_CTRL, 5 ms between power-mode writes), ACC_CONF's
ODR codes and the configuration error code, acc_drdy in ACC_STATUS and
ACC_INT_STAT_1 and what clears each, ACC_ERR_REG's error_code cleared on
read with fatal_err kept, the 24-bit SENSORTIME (39.0625 us/LSB), the range
table (raw / 32768 * 2^(range + 1) * 1.5 g), the SPI dummy octet; the
gyroscope's range table (16.384 * 2^range LSB per deg/s), its ODR codes
(GYRO_BANDWIDTH), the 340 us gyro_drdy pulse, GYRO_LPM1 suspend and the
30 ms after it, GYRO_SOFTRESET; write bursts; the latency fault.

Every expected count is worked out by hand from the datasheet's numbers; the
register addresses are written here from the datasheet, not imported."""
import pytest

from host_tools.emu import bmi088 as bm
from host_tools.emu import settle
from host_tools.emu.bus import Faults

G0 = 9.80665
# accelerometer (5.3)
ACC_CHIP_ID, ACC_ERR_REG, ACC_STATUS, ACC_X_LSB = 0x00, 0x02, 0x03, 0x12
SENSORTIME_0, ACC_INT_STAT_1, ACC_CONF, ACC_RANGE = 0x18, 0x1D, 0x40, 0x41
ACC_PWR_CONF, ACC_PWR_CTRL, ACC_SOFTRESET = 0x7C, 0x7D, 0x7E
# gyroscope (5.5)
RATE_X_LSB, GYRO_INT_STAT_1, GYRO_RANGE, GYRO_BANDWIDTH = 0x02, 0x0A, 0x0F, 0x10
GYRO_LPM1, GYRO_SOFTRESET = 0x11, 0x14


@pytest.fixture(autouse=True)
def t0(monkeypatch):
    """Bench time = the part's own now_s (no firmware waits counted yet)."""
    monkeypatch.setattr(settle, "_total", [0])


def _w(emu, reg, *octets):
    emu.i2c_write(reg, bytes(octets))


def _r(emu, reg, n=1):
    out = emu.i2c_read(reg, n)
    return out[0] if n == 1 else bytes(out)


def _axes(raw):
    out = []
    for i in range(0, len(raw), 2):
        v = raw[i] | raw[i + 1] << 8
        out.append(v - 0x10000 if v & 0x8000 else v)
    return out


def _acc_on(faults=None):
    """Accelerometer made active at t = 5 ms (ACC_PWR_CONF = 0 at t = 0, then
    ACC_PWR_CTRL = 4), 100 Hz (ACC_CONF reset 0xA8); clock at 10 ms."""
    emu = bm.Bmi088AccelEmu(faults)
    _w(emu, ACC_PWR_CONF, 0x00)
    emu.now_s = 0.005
    _w(emu, ACC_PWR_CTRL, 0x04)
    emu.now_s = 0.010
    return emu


# -- accelerometer: power modes ---------------------------------------------------

def test_the_accelerometer_converts_only_with_pwr_conf_0_and_pwr_ctrl_4():
    emu = bm.Bmi088AccelEmu()
    _w(emu, ACC_PWR_CONF, 0x00)                          # active, but not enabled
    emu.now_s = 1.0
    assert _r(emu, ACC_STATUS) == 0 and emu.samples == 0
    emu = bm.Bmi088AccelEmu()
    _w(emu, ACC_PWR_CTRL, 0x04)                          # enabled, but suspended
    emu.now_s = 1.0
    assert _r(emu, ACC_STATUS) == 0 and emu.samples == 0


def test_the_first_conversion_after_power_up_is_one_period_later():
    emu = _acc_on()
    emu.now_s = 0.0095
    assert _r(emu, ACC_STATUS) == 0
    emu.now_s = 0.0105                                   # 100 Hz: 10 ms
    assert _r(emu, ACC_STATUS) == 0x80


def test_a_write_sooner_than_5_ms_after_a_power_mode_write_is_not_taken_and_counted():
    emu = bm.Bmi088AccelEmu()
    _w(emu, ACC_PWR_CONF, 0x00)
    emu.now_s = 0.0049
    _w(emu, ACC_RANGE, 0x02, 0x03)                       # ACC_RANGE and 0x42: both refused
    assert emu.regs[ACC_RANGE] == 0x01 and emu.ignored_writes == 2
    emu.now_s = 0.005
    _w(emu, ACC_RANGE, 0x02)
    assert emu.regs[ACC_RANGE] == 0x02 and emu.ignored_writes == 2


def test_an_ignored_enable_leaves_the_accelerometer_off():
    emu = _acc_on(Faults(ignore_enable=True))
    emu.now_s = 1.0
    assert _r(emu, ACC_STATUS) == 0 and emu.regs[ACC_PWR_CTRL] == 0x00


def test_suspending_clears_acc_drdy():
    emu = _acc_on()
    emu.now_s = 0.0105
    assert _r(emu, ACC_STATUS) == 0x80
    _w(emu, ACC_PWR_CONF, 0x03)
    assert _r(emu, ACC_STATUS) == 0x00


# -- accelerometer: conversions ----------------------------------------------------

@pytest.mark.parametrize("rng,count", [(0, 10923), (1, 5461), (2, 2731), (3, 1365)])
def test_one_g_reads_32768_over_the_range_in_g(rng, count):
    # +-3, 6, 12, 24 g: 32768 / 3, 6, 12, 24 = 10922.7, 5461.3, 2730.7, 1365.3
    emu = _acc_on()
    _w(emu, ACC_RANGE, rng)
    emu.accel_m_s2 = [G0, -G0, 0.0]
    emu.now_s = 0.0205
    assert _axes(_r(emu, ACC_X_LSB, 6)) == [count, -count, 0]


def test_an_accelerometer_with_no_input_set_reads_zero():
    emu = _acc_on()
    emu.now_s = 0.0105
    assert _r(emu, ACC_X_LSB, 6) == bytes(6)


def test_the_kth_conversion_is_done_at_k_over_odr_and_no_other_before_the_next():
    emu = _acc_on()
    emu.accel_m_s2 = [G0, 0.0, 0.0]
    emu.now_s = 0.25                                     # 25 periods of 100 Hz exactly
    assert _axes(_r(emu, ACC_X_LSB, 6)) == [5461, 0, 0]
    emu.accel_m_s2 = [0.0, 0.0, 0.0]
    emu.now_s = 0.255
    assert _r(emu, ACC_STATUS) == 0
    assert _axes(_r(emu, ACC_X_LSB, 6)) == [5461, 0, 0]


def test_samples_counts_each_conversion():
    emu = _acc_on()
    assert emu.samples == 0
    emu.now_s = 0.0105
    _r(emu, ACC_STATUS)
    emu.now_s = 0.0205
    _r(emu, ACC_STATUS)
    assert emu.samples == 2


@pytest.mark.parametrize("conf", [0xA4, 0xAD, 0xAF, 0x78, 0xB8])
def test_an_acc_conf_outside_the_table_sets_error_code_1_and_stops_conversions(conf):
    # acc_odr 0x05..0x0C and acc_bwp 0x08..0x0A are the only codes
    emu = _acc_on()
    _w(emu, ACC_CONF, conf)
    assert emu.regs[ACC_ERR_REG] == 0x04                 # error_code = 1 (bits 4:2)
    if conf & 0x0F not in range(5, 13):
        n = emu.samples
        emu.now_s = 1.0
        assert _r(emu, ACC_STATUS) == 0 and emu.samples == n


def test_error_code_clears_on_read_and_fatal_err_stays():
    emu = _acc_on()
    emu.regs[ACC_ERR_REG] = 0x01                         # fatal_err
    _w(emu, ACC_CONF, 0xA4)
    assert _r(emu, ACC_ERR_REG) == 0x05
    assert _r(emu, ACC_ERR_REG) == 0x01


# -- accelerometer: acc_drdy ------------------------------------------------------

def test_a_conversion_sets_acc_drdy_in_acc_status_and_acc_int_stat_1_only():
    emu = _acc_on()
    emu.now_s = 0.0105
    _r(emu, ACC_CHIP_ID)
    assert emu.regs[ACC_STATUS] == 0x80 and emu.regs[ACC_INT_STAT_1] == 0x80


@pytest.mark.parametrize("reg,n,status,int_stat", [
    (ACC_CHIP_ID, 1, 0x80, 0x80), (ACC_STATUS, 1, 0x80, 0x80),
    (ACC_X_LSB, 1, 0x00, 0x80), (ACC_X_LSB + 5, 1, 0x00, 0x80),
    (ACC_X_LSB - 1, 1, 0x80, 0x80), (SENSORTIME_0, 3, 0x80, 0x80),
    (ACC_INT_STAT_1, 1, 0x80, 0x00),
])
def test_reading_the_data_clears_acc_status_and_reading_int_stat_1_clears_it(reg, n, status, int_stat):
    emu = _acc_on()
    emu.now_s = 0.0105
    _r(emu, reg, n)
    assert (emu.regs[ACC_STATUS], emu.regs[ACC_INT_STAT_1]) == (status, int_stat)


# -- accelerometer: SENSORTIME -------------------------------------------------------

@pytest.mark.parametrize("t_s", [100.00390625, 655.36 + 100.00390625])
def test_sensortime_counts_39_0625_us_per_lsb_in_24_bits(t_s):
    # 100.00390625 s / 39.0625 us = 2560100 = 0x271064; 655.36 s = 2^24 LSB
    emu = bm.Bmi088AccelEmu()
    emu.now_s = t_s
    assert _r(emu, SENSORTIME_0, 3) == bytes([0x64, 0x10, 0x27])


def test_the_registers_around_sensortime_are_not_the_time():
    emu = bm.Bmi088AccelEmu()
    emu.regs[SENSORTIME_0 - 1] = 0x5A
    emu.regs[SENSORTIME_0 + 3] = 0xA5
    emu.now_s = 100.00390625
    assert _r(emu, SENSORTIME_0 - 1, 5) == bytes([0x5A, 0x64, 0x10, 0x27, 0xA5])


# -- accelerometer: SPI -----------------------------------------------------------

def test_the_first_spi_window_selects_spi_and_reads_a_floating_bus():
    emu = bm.Bmi088AccelEmu()
    assert emu.spi_transaction(bytes([0x80, 0, 0])) == b"\xff\xff\xff"
    assert emu.spi_transaction(bytes([0x80, 0, 0])) == bytes([0, 0, 0x1E])


def test_an_spi_read_answers_as_many_octets_as_were_clocked():
    emu = bm.Bmi088AccelEmu()
    emu.spi_transaction(b"\x00")
    assert emu.spi_transaction(b"\x80") == b"\x00"       # the address alone
    assert emu.spi_transaction(b"\x80\x00") == b"\x00\x00"
    assert emu.spi_transaction(b"") == b""


def test_an_spi_window_of_address_and_dummy_octet_reads_no_register():
    emu = _acc_on()
    emu.spi_transaction(b"\x00")
    emu.now_s = 0.0105
    emu.spi_transaction(bytes([0x80 | ACC_X_LSB, 0]))
    assert emu.regs[ACC_STATUS] == 0x80


# -- write bursts --------------------------------------------------------------------

def test_a_write_burst_fills_consecutive_registers():
    emu = bm.Bmi088AccelEmu()
    _w(emu, ACC_CONF, 0xA9, 0x02)
    assert emu.regs[ACC_CONF] == 0xA9 and emu.regs[ACC_RANGE] == 0x02
    gyr = bm.Bmi088GyroEmu()
    _w(gyr, GYRO_RANGE, 0x02, 0x05)
    assert gyr.regs[GYRO_RANGE] == 0x02 and gyr.regs[GYRO_BANDWIDTH] == 0x85


def test_a_write_burst_wraps_from_0x7f_to_0x00():
    gyr = bm.Bmi088GyroEmu()
    _w(gyr, 0x7F, 0x11, 0x22)
    assert gyr.regs[0x7F] == 0x11 and gyr.regs[0x00] == 0x0F   # chip id: read-only


# -- gyroscope ----------------------------------------------------------------------

@pytest.mark.parametrize("code,dps", [(0, 2000), (1, 1000), (2, 500), (3, 250), (4, 125),
                                      (5, 125), (6, 125), (7, 125)])
def test_gyro_range_codes(code, dps):
    gyr = bm.Bmi088GyroEmu()
    _w(gyr, GYRO_RANGE, code)
    assert gyr.range_dps() == dps


@pytest.mark.parametrize("code,count", [(0, 939), (1, 1877), (2, 3755), (3, 7510), (4, 15020),
                                        (5, 15020)])
def test_one_rad_s_reads_57_3_deg_s_times_16_384_times_2_to_the_range(code, count):
    # 57.2958 deg/s * 16.384, 32.768, 65.536, 131.072, 262.144 = 938.7, 1877.5,
    # 3754.9, 7509.9, 15019.7; the codes above 4 are read as 125 dps
    gyr = bm.Bmi088GyroEmu()
    _w(gyr, GYRO_RANGE, code)
    gyr.gyro_rad_s = [1.0, -1.0, 0.0]
    gyr.now_s = 0.001
    assert _axes(_r(gyr, RATE_X_LSB, 6)) == [count, -count, 0]


def test_a_gyro_with_no_input_set_reads_zero():
    gyr = bm.Bmi088GyroEmu()
    _r(gyr, 0x00)
    gyr.now_s = 0.001
    assert _r(gyr, RATE_X_LSB, 6) == bytes(6)


def test_gyro_drdy_reads_set_for_340_us_after_a_conversion():
    gyr = bm.Bmi088GyroEmu()
    _r(gyr, 0x00)                                        # first transaction at t = 0
    gyr.now_s = 0.005
    _r(gyr, RATE_X_LSB, 6)                               # a conversion at 5 ms
    gyr.now_s = 0.005 + 339e-6
    assert _r(gyr, GYRO_INT_STAT_1) == 0x80
    gyr.now_s = 0.005 + 340e-6
    assert _r(gyr, GYRO_INT_STAT_1) == 0x00


def test_gyro_drdy_is_clear_before_the_first_conversion():
    gyr = bm.Bmi088GyroEmu()
    gyr.now_s = 1.0001
    assert _r(gyr, GYRO_INT_STAT_1) == 0x00


def test_a_suspended_gyro_does_not_convert():
    gyr = bm.Bmi088GyroEmu()
    _w(gyr, GYRO_LPM1, 0x80)
    gyr.now_s = 2.0
    _r(gyr, RATE_X_LSB, 6)
    assert gyr.samples == 0


def test_an_ignored_enable_refuses_the_power_mode_write_only():
    gyr = bm.Bmi088GyroEmu(Faults(ignore_enable=True))
    _w(gyr, GYRO_LPM1, 0x80)
    _w(gyr, GYRO_RANGE, 0x02)
    assert gyr.regs[GYRO_LPM1] == 0x00 and gyr.regs[GYRO_RANGE] == 0x02


def test_a_gyro_write_sooner_than_30_ms_after_lpm1_is_not_taken_and_counted():
    gyr = bm.Bmi088GyroEmu()
    _w(gyr, GYRO_LPM1, 0x00)
    gyr.now_s = 0.0299
    _w(gyr, GYRO_RANGE, 0x02, 0x03)
    assert gyr.regs[GYRO_RANGE] == 0x00 and gyr.ignored_writes == 2
    gyr.now_s = 0.030
    _w(gyr, GYRO_RANGE, 0x02)
    assert gyr.regs[GYRO_RANGE] == 0x02 and gyr.ignored_writes == 2


def test_gyro_softreset_is_0xb6_only():
    gyr = bm.Bmi088GyroEmu()
    _w(gyr, GYRO_RANGE, 0x02)
    _w(gyr, GYRO_SOFTRESET, 0xB7)
    assert gyr.regs[GYRO_RANGE] == 0x02
    _w(gyr, GYRO_SOFTRESET, 0xB6)
    assert gyr.regs[GYRO_RANGE] == 0x00 and gyr.regs[GYRO_BANDWIDTH] == 0x80


def test_after_a_gyro_odr_change_the_next_conversion_is_on_the_new_odr_grid():
    gyr = bm.Bmi088GyroEmu()
    _r(gyr, 0x00)
    gyr.now_s = 1.0
    _w(gyr, GYRO_BANDWIDTH, 0x05)                        # 100 Hz from t = 1 s
    n = gyr.samples
    gyr.now_s = 1.0095
    _r(gyr, 0x00)
    assert gyr.samples == n
    gyr.now_s = 1.0105
    _r(gyr, 0x00)
    assert gyr.samples == n + 1


def test_gyro_samples_counts_each_conversion():
    gyr = bm.Bmi088GyroEmu()
    _r(gyr, 0x00)
    assert gyr.samples == 0
    gyr.now_s = 0.001
    _r(gyr, 0x00)
    gyr.now_s = 0.002
    _r(gyr, 0x00)
    assert gyr.samples == 2


# -- the latency fault ------------------------------------------------------------------

def test_latency_delivers_the_input_of_latency_s_earlier():
    emu = _acc_on(Faults(latency_s=0.05))
    emu.accel_m_s2 = [G0, 0.0, 0.0]
    _r(emu, ACC_STATUS)                                  # recorded at 10 ms
    emu.accel_m_s2 = [2 * G0, 0.0, 0.0]
    emu.now_s = 0.1                                      # sample of the input at 50 ms
    assert _axes(_r(emu, ACC_X_LSB, 6)) == [5461, 0, 0]


def test_latency_delivers_the_live_input_before_the_history_reaches_back():
    gyr = bm.Bmi088GyroEmu(Faults(latency_s=0.05))
    gyr.gyro_rad_s = [1.0, 0.0, 0.0]
    _r(gyr, 0x00)
    gyr.now_s = 0.001
    assert _axes(_r(gyr, RATE_X_LSB, 6)) == [939, 0, 0]
