"""The BMP390 driver (firmware/lander/drivers/bmp390.py) pinned on a register
map written by hand from BST-BMP390-DS002 (tests/regbus_fakes.py: no
emulator): the start-up transactions, writes and waits in the order Bosch's
BMP3 API uses, the error messages, the cycle burst and its flags, the
periodic check, the stuck-part recovery, the in-flight re-initialisation,
every counter and event. In the fw-sensors mutation group
(docs/mutation.md)."""
import math
import struct
from fractions import Fraction as Fr

import pytest

from lander.drivers import BUS_ERROR, INVALID, NOT_READY, OK, OUT_OF_RANGE, REINIT, DeviceError
from lander.drivers import bmp390 as bmp_mod
from lander.drivers.bmp390 import Bmp390
from tests.app_fakes import drain_events, fresh_event_ring  # noqa: F401
from tests.regbus_fakes import RegBus

pytestmark = pytest.mark.usefixtures("fresh_event_ring")

ADDR = 0x77
CHIP_ID, ERR_REG, STATUS, DATA0, EVENT = 0x00, 0x02, 0x03, 0x04, 0x10
PWR_CTRL, OSR, ODR, CONFIG, NVM, CMD = 0x1B, 0x1C, 0x1D, 0x1F, 0x31, 0x7E
EV_REINIT, EV_REINIT_FAIL, EV_ERR = 0x0121, 0x0122, 0x0123
# defaults: osr_p 3 (x8), osr_t 0 (x1), ODR code 2 (50 Hz), IIR 0: OSR 0x03, ODR 0x02,
# CONFIG 0x00, PWR_CTRL 0x33 (normal mode, temperature and pressure on)

# A real part's NVM_PAR_T1..P11 and one raw sample with its published result
# (elixir-sensors/bmp3xx measurement_test.exs, the vector tests/test_drivers_bmp390.py
# checks the compensation against): 100876.006 Pa, 30.4993 degC. The NVM as the
# datasheet lays it out at 0x31..0x45: T1 u16, T2 u16, T3 s8, P1 s16, P2 s16,
# P3 s8, P4 s8, P5 u16, P6 u16, P7 s8, P8 s8, P9 s16, P10 s8, P11 s8 (LE).
NVM_OCTETS = struct.pack("<HHbhhbbHHbbhbb", 27427, 18776, -10, -164, -2866, 35, 0, 25578,
                         31086, -13, -10, 17322, 18, -60)
UP = 151 | 159 << 8 | 109 << 16        # DATA_0..2
UT = 115 | 216 << 8 | 133 << 16        # DATA_3..5


def part(bus=None):
    """A healthy part: CHIP_ID 0x60, command decoder ready, the soft reset
    answered by EVENT.por_detected (cleared when read), NVM trimmed."""
    bus = bus or RegBus()
    m = bus.map(ADDR)
    m[CHIP_ID], m[STATUS] = 0x60, 0x10
    m[NVM:NVM + 21] = NVM_OCTETS

    def cmd(b, k, v):
        if v == 0xB6:
            mm = b.map(k)
            mm[EVENT], mm[ERR_REG], mm[PWR_CTRL], mm[OSR], mm[ODR], mm[CONFIG] = 1, 0, 0, 0x02, 0x02, 0
    bus.on_write[(ADDR, CMD)] = cmd
    bus.on_read[(ADDR, EVENT)] = lambda b, k: b.map(k).__setitem__(EVENT, 0)
    return bus


def waits_logged(monkeypatch, bus):
    monkeypatch.setattr(bmp_mod, "_wait_us", lambda us: bus.log.append(("wait", us)))


def started(**kw):
    bus = part()
    d = Bmp390(bus, **kw)
    drain_events()
    bus.clear_log()
    return bus, d


def sample(bus, up=UP, ut=UT, err=0, status=0x70):
    m = bus.map(ADDR)
    m[ERR_REG], m[STATUS] = err, status
    m[DATA0:DATA0 + 3] = bytes([up & 0xFF, (up >> 8) & 0xFF, up >> 16])
    m[DATA0 + 3:DATA0 + 6] = bytes([ut & 0xFF, (ut >> 8) & 0xFF, ut >> 16])


def cfg_reads(bus):
    return bus.reads(ADDR).count((PWR_CTRL, 3))


# ------------------------------------------------------------ start-up

def test_start_up_transactions_writes_and_waits_in_bosch_order(monkeypatch):
    bus = part()
    waits_logged(monkeypatch, bus)
    d = Bmp390(bus)
    assert bus.log == [
        ("r", ADDR, CHIP_ID, 1), ("r", ADDR, STATUS, 1),
        ("w", ADDR, CMD, 0xB6), ("wait", 2000), ("r", ADDR, ERR_REG, 1),
        ("r", ADDR, EVENT, 1), ("r", ADDR, NVM, 21),
        ("r", ADDR, PWR_CTRL, 1),
        ("w", ADDR, OSR, 0x03), ("w", ADDR, ODR, 0x02), ("w", ADDR, CONFIG, 0x00),
        ("w", ADDR, PWR_CTRL, 0x33),
        ("r", ADDR, PWR_CTRL, 3), ("r", ADDR, CONFIG, 1)]
    assert (d.pressure_cpa, d.temperature_cdeg, d.t_q16, d.raw_press, d.raw_temp) == (0, 0, 0, 0, 0)
    assert (d.status, d.errors, d.resets) == (NOT_READY, 0, 0)


def test_settings_are_packed_into_their_registers():
    bus = part()
    Bmp390(bus, osr_p=2, osr_t=1, odr=3, iir=2)
    # OSR: osr_t in bits 5:3, osr_p in 2:0; CONFIG: iir_filter in bits 3:1
    assert bus.writes(ADDR)[1:4] == [(OSR, 0x0A), (ODR, 0x03), (CONFIG, 0x04)]


def test_a_running_part_is_put_to_sleep_for_5_ms_before_its_settings(monkeypatch):
    bus = part()
    bus.on_write.pop((ADDR, CMD))
    bus.map(ADDR)[EVENT] = 1
    bus.map(ADDR)[PWR_CTRL] = 0x13                 # forced mode left running
    waits_logged(monkeypatch, bus)
    Bmp390(bus)
    i = bus.log.index(("r", ADDR, PWR_CTRL, 1))
    assert bus.log[i + 1:i + 4] == [("w", ADDR, PWR_CTRL, 0x00), ("wait", 5000), ("w", ADDR, OSR, 0x03)]


def test_start_up_polls_cmd_rdy_and_por_detected_2_ms_apart(monkeypatch):
    bus = part()
    m = bus.map(ADDR)
    m[STATUS] = 0x00
    polls = []

    def status(b, k):
        polls.append(1)
        if len(polls) == 2:
            b.map(k)[STATUS] = 0x10
    bus.on_read[(ADDR, STATUS)] = status
    waits_logged(monkeypatch, bus)
    Bmp390(bus)
    assert bus.log[:6] == [("r", ADDR, CHIP_ID, 1), ("r", ADDR, STATUS, 1), ("wait", 2000),
                           ("r", ADDR, STATUS, 1), ("wait", 2000), ("r", ADDR, STATUS, 1)]


def test_no_answer_names_the_part_bus_and_address():
    bus = part()
    bus.fail_all = True
    with pytest.raises(DeviceError) as e:
        Bmp390(bus)
    assert str(e.value) == "BMP390 on I2C %r addr 0x77: no answer (5)" % bus


def test_a_wrong_chip_id_is_named():
    bus = part()
    bus.map(ADDR)[CHIP_ID] = 0x50
    with pytest.raises(DeviceError) as e:
        Bmp390(bus)
    assert str(e.value) == "BMP390 on I2C %r addr 0x77: CHIP_ID expected 0x60, seen 0x50" % bus


def test_a_command_decoder_never_ready_is_refused_after_50_polls():
    bus = part()
    bus.map(ADDR)[STATUS] = 0x00
    with pytest.raises(DeviceError) as e:
        Bmp390(bus)
    assert str(e.value) == ("BMP390 on I2C %r addr 0x77: command decoder never ready "
                            "(STATUS.cmd_rdy)" % bus)
    assert bus.reads(ADDR).count((STATUS, 1)) == 50


def test_a_refused_soft_reset_is_named():
    bus = part()
    bus.on_write[(ADDR, CMD)] = lambda b, k, v: b.map(k).__setitem__(ERR_REG, 0x02)
    with pytest.raises(DeviceError) as e:
        Bmp390(bus)
    assert str(e.value) == "BMP390 on I2C %r addr 0x77: soft reset refused (ERR_REG.cmd_err)" % bus


def test_an_unconfirmed_soft_reset_is_refused_after_50_polls():
    bus = part()
    bus.on_write.pop((ADDR, CMD))
    with pytest.raises(DeviceError) as e:
        Bmp390(bus)
    assert str(e.value) == ("BMP390 on I2C %r addr 0x77: soft reset not confirmed "
                            "(EVENT.por_detected)" % bus)
    assert bus.reads(ADDR).count((EVENT, 1)) == 50


@pytest.mark.parametrize("fill", [0x00, 0xFF])
def test_a_blank_nvm_is_refused(fill):
    bus = part()
    bus.map(ADDR)[NVM:NVM + 21] = bytes([fill]) * 21
    with pytest.raises(DeviceError) as e:
        Bmp390(bus)
    assert str(e.value) == "BMP390 on I2C %r addr 0x77: NVM calibration blank" % bus


@pytest.mark.parametrize("i", range(21))
def test_an_nvm_with_one_octet_set_is_not_blank(i):
    for fill, one in ((0x00, 0x01), (0xFF, 0xFE)):
        bus = part()
        nvm = bytearray([fill]) * 21
        nvm[i] = one
        bus.map(ADDR)[NVM:NVM + 21] = nvm
        Bmp390(bus)


@pytest.mark.parametrize("reg,i,name", [(PWR_CTRL, 0, "PWR_CTRL"), (OSR, 1, "OSR"), (ODR, 2, "ODR")])
def test_a_setting_not_taken_is_named(reg, i, name):
    expected = (0x33, 0x03, 0x02)[i]
    bus = part()
    bus.on_write[(ADDR, reg)] = lambda b, k, v: b.map(k).__setitem__(reg, 0x01)
    with pytest.raises(DeviceError) as e:
        Bmp390(bus)
    assert str(e.value) == ("BMP390 on I2C %r addr 0x77: %s expected 0x%02x, seen 0x01"
                            % (bus, name, expected))


def test_a_configuration_error_is_named_as_such():
    bus = part()

    def pwr(b, k, v):
        if v == 0x33:                              # normal mode refused: conf_err, asleep
            b.map(k)[PWR_CTRL] = 0x03
            b.map(k)[ERR_REG] = 0x04
    bus.on_write[(ADDR, PWR_CTRL)] = pwr
    with pytest.raises(DeviceError) as e:
        Bmp390(bus)
    assert str(e.value) == ("BMP390 on I2C %r addr 0x77: PWR_CTRL (conf_err) expected 0x33, "
                            "seen 0x03" % bus)


def test_an_iir_setting_not_taken_is_named():
    bus = part()
    bus.on_write[(ADDR, CONFIG)] = lambda b, k, v: b.map(k).__setitem__(CONFIG, 0x02)
    with pytest.raises(DeviceError) as e:
        Bmp390(bus, iir=2)
    assert str(e.value) == "BMP390 on I2C %r addr 0x77: CONFIG expected 0x04, seen 0x02" % bus


def test_nvm_signed_octets_are_twos_complement():
    assert [bmp_mod._s8(b) for b in (0, 127, 128, 255)] == [0, 127, -128, -1]
    assert [bmp_mod._s16(lo, hi) for lo, hi in ((0xFF, 0x7F), (0x00, 0x80), (0xFF, 0xFF))] == [
        32767, -32768, -1]


# ------------------------------------------------------------ cycle

def test_the_cycle_is_one_8_octet_burst_from_err_reg():
    bus, d = started()
    sample(bus)
    assert d.read() == OK and d.status == OK
    assert bus.reads(ADDR) == [(ERR_REG, 8)]
    assert (d.raw_press, d.raw_temp) == (UP, UT)
    assert (d.pressure_cpa, d.temperature_cdeg) == (10087601, 3050)
    assert (d.reads_ok, d.errors) == (1, 0)


def test_a_part_flagged_error_is_invalid_counted_and_posted_once():
    bus, d = started()
    sample(bus, err=0x01)                          # fatal_err
    assert d.read() == INVALID and d.read() == INVALID
    assert (d.errors, d.invalid) == (2, 2)
    assert drain_events() == [(EV_ERR, 1)]
    sample(bus, err=0x03)                          # and cmd_err: a change, posted
    d.read()
    assert drain_events() == [(EV_ERR, 3)]
    sample(bus)
    assert d.read() == OK
    sample(bus, err=0x03)
    d.read()
    assert drain_events() == [(EV_ERR, 3)]          # after a good read: posted again


def test_reserved_error_bits_are_masked():
    bus, d = started()
    sample(bus, err=0xF8)
    assert d.read() == OK and d.errors == 0


def test_a_conf_err_flag_checks_the_configuration():
    bus, d = started()
    sample(bus, err=0x04)
    assert d.read() == OK                          # configuration read back: as written
    assert cfg_reads(bus) == 1 and d.resets == 0
    assert (d.errors, d.invalid) == (1, 1)


@pytest.mark.parametrize("status", [0x00, 0x20, 0x40])
def test_data_ready_needs_both_bits(status):
    bus, d = started()
    sample(bus, status=status)
    assert d.read() == NOT_READY and d.status == NOT_READY
    d.read()
    assert (d.not_ready, d.errors) == (2, 0)


def test_a_bus_error_is_counted():
    bus, d = started()
    bus.fail_next(0, 1)
    assert d.read() == BUS_ERROR and d.read() == BUS_ERROR
    assert (d.errors, d.bus_errors) == (2, 2)


# ------------------------------------------------------------ configuration check

def test_the_configuration_is_read_back_before_reads_51_and_101():
    bus, d = started()
    sample(bus)
    checked = []
    for n in range(1, 110):
        before = cfg_reads(bus)
        assert d.read() == OK
        if cfg_reads(bus) > before:
            checked.append(n)
    assert checked == [51, 101]
    assert bus.reads(ADDR).count((EVENT, 1)) == 2


def test_a_por_detected_at_the_check_rewrites_the_settings():
    bus, d = started()
    sample(bus)
    for _ in range(50):
        d.read()
    bus.map(ADDR)[EVENT] = 1
    bus.map(ADDR)[PWR_CTRL] = 0x00                 # reset: asleep
    bus.clear_log()
    assert d.read() == REINIT and d.status == REINIT
    assert bus.writes(ADDR) == [(OSR, 0x03), (ODR, 0x02), (CONFIG, 0x00), (PWR_CTRL, 0x33)]
    assert drain_events() == [(EV_REINIT, 1)]
    assert d.resets == 1


@pytest.mark.parametrize("reg", [PWR_CTRL, OSR, ODR])
def test_a_lost_setting_confirmed_by_a_second_read_is_rewritten(reg):
    bus, d = started()
    sample(bus)
    for _ in range(50):
        d.read()
    bus.map(ADDR)[reg] ^= 0x01
    bus.clear_log()
    assert d.read() == NOT_READY                   # still in normal mode: to sleep first
    assert cfg_reads(bus) == 2 and d.resets == 1
    assert drain_events() == [(EV_REINIT, 1)]


def test_one_flipped_read_back_is_not_a_reset():
    bus, d = started()
    sample(bus)
    for _ in range(50):
        d.read()
    m = bus.map(ADDR)
    m[OSR] = 0x07
    bus.on_read[(ADDR, OSR)] = lambda b, k: b.map(k).__setitem__(OSR, 0x03)
    assert d.read() == OK and d.resets == 0
    assert cfg_reads(bus) == 2


def test_a_running_part_is_put_to_sleep_one_cycle_then_rewritten():
    bus, d = started()
    sample(bus)
    for _ in range(50):
        d.read()
    bus.map(ADDR)[ODR] = 0x05                      # lost ODR, still in normal mode
    bus.clear_log()
    assert d.read() == NOT_READY
    assert bus.writes(ADDR) == [(PWR_CTRL, 0x00)]
    assert d.read() == REINIT
    assert bus.writes(ADDR)[1:] == [(OSR, 0x03), (ODR, 0x02), (CONFIG, 0x00), (PWR_CTRL, 0x33)]
    assert bus.reads(ADDR)[-1] == (PWR_CTRL, 3)


def test_after_a_rewrite_the_next_check_is_50_good_reads_later():
    bus, d = started()
    sample(bus)
    for _ in range(50):
        d.read()
    bus.map(ADDR)[EVENT] = 1
    assert d.read() == NOT_READY                   # to sleep
    assert d.read() == REINIT                      # settings written
    bus.clear_log()
    for _ in range(50):
        assert d.read() == OK
    assert cfg_reads(bus) == 0
    d.read()
    assert cfg_reads(bus) == 1


def test_a_rewrite_that_does_not_take_is_invalid_with_the_pwr_ctrl_seen():
    bus, d = started()
    sample(bus)
    for _ in range(50):
        d.read()
    m = bus.map(ADDR)
    m[PWR_CTRL] = 0x00
    m[EVENT] = 1
    bus.on_write[(ADDR, PWR_CTRL)] = lambda b, k, v: b.map(k).__setitem__(PWR_CTRL, 0x01)
    assert d.read() == INVALID and d.status == INVALID
    assert (d.errors, d.reinit_failures) == (1, 1)
    assert drain_events() == [(EV_REINIT, 1), (EV_REINIT_FAIL, 0x01)]   # PWR_CTRL, not OSR


def test_bus_errors_in_the_check_and_the_rewrite_are_counted():
    bus, d = started()
    sample(bus)
    for _ in range(50):
        d.read()
    bus.fail_next(0)                               # EVENT
    assert d.read() == BUS_ERROR
    assert (d.errors, d.bus_errors, d.reinit_failures) == (1, 1, 0)
    for _ in range(50):
        d.read()
    bus.map(ADDR)[EVENT] = 1
    bus.map(ADDR)[PWR_CTRL] = 0x00
    bus.fail_next(3)                               # EVENT, config, PWR_CTRL, OSR write
    assert d.read() == BUS_ERROR
    assert (d.errors, d.bus_errors, d.reinit_failures) == (2, 2, 1)


# ------------------------------------------------------------ stuck part

def test_a_silent_configured_part_is_rewritten_after_5_reads_then_backs_off():
    bus, d = started()
    sample(bus, status=0x10)
    got = [d.read() for _ in range(5)]
    assert got == [NOT_READY] * 5 and d.resets == 1   # the 5th: checked, put to sleep
    assert drain_events() == [(EV_REINIT, 2)]
    assert bus.writes(ADDR) == [(PWR_CTRL, 0x00)]
    assert d.read() == NOT_READY                   # settings written: no reset to report
    n = 0
    while d.resets == 1 and n < 50:
        d.read()
        n += 1
    assert (n, d.resets) == (10, 2)                # backed off: 2 x 5


def test_start_up_polls_por_detected_2_ms_apart(monkeypatch):
    bus = part()
    bus.on_write.pop((ADDR, CMD))
    polls = []

    def event(b, k):                               # por_detected seen on the third poll
        polls.append(1)
        b.map(k)[EVENT] = 1 if len(polls) == 2 else 0
    bus.on_read[(ADDR, EVENT)] = event
    waits_logged(monkeypatch, bus)
    Bmp390(bus)
    i = bus.log.index(("r", ADDR, ERR_REG, 1))
    assert bus.log[i + 1:i + 6] == [("r", ADDR, EVENT, 1), ("wait", 2000), ("r", ADDR, EVENT, 1),
                                    ("wait", 2000), ("r", ADDR, EVENT, 1)]
    assert bus.log[i + 6] == ("r", ADDR, NVM, 21)


def test_a_setting_not_taken_with_only_fatal_err_set_is_not_called_a_conf_err():
    bus = part()

    def pwr(b, k, v):
        b.map(k)[PWR_CTRL] = 0x03
        b.map(k)[ERR_REG] = 0x01
    bus.on_write[(ADDR, PWR_CTRL)] = pwr
    with pytest.raises(DeviceError) as e:
        Bmp390(bus)
    assert str(e.value) == "BMP390 on I2C %r addr 0x77: PWR_CTRL expected 0x33, seen 0x03" % bus


def test_an_implausible_temperature_is_invalid_and_counted():
    bus, d = started()
    sample(bus, ut=0)                              # t_lin far below -60 degC: clamped
    assert d.read() == INVALID and d.read() == INVALID
    assert (d.errors, d.invalid, d.reads_ok) == (2, 2, 0)


def test_a_bus_error_on_the_stuck_check_restarts_the_count():
    bus, d = started()
    sample(bus, status=0x10)
    for _ in range(4):
        d.read()
    bus.fail_next(1)                               # the burst, then the check's EVENT read
    assert d.read() == BUS_ERROR and d.resets == 0
    assert [d.read() for _ in range(4)] == [NOT_READY] * 4 and d.resets == 0
    d.read()
    assert d.resets == 1                           # 5 more, not backed off


def _por_at_next_check(bus, d):
    for _ in range(50):
        assert d.read() == OK
    bus.map(ADDR)[EVENT] = 1


def test_bus_errors_reading_the_mode_before_a_rewrite_are_counted_each():
    bus, d = started()
    sample(bus)
    for n in (1, 2):
        _por_at_next_check(bus, d)
        bus.fail_next(2)                           # EVENT, configuration, then PWR_CTRL
        assert d.read() == BUS_ERROR
        assert (d.reinit_failures, d.resets) == (n, n)


def test_bus_errors_writing_the_settings_are_counted_each():
    bus, d = started()
    sample(bus)
    bus.map(ADDR)[PWR_CTRL] = 0x03                 # asleep: settings in the same cycle
    for n in (1, 2):
        _por_at_next_check(bus, d)
        bus.fail_next(3)                           # EVENT, configuration, PWR_CTRL, OSR write
        assert d.read() == BUS_ERROR
        assert d.reinit_failures == n


def test_an_osr_rewrite_that_does_not_take_is_invalid_and_each_is_counted():
    bus, d = started()
    sample(bus)
    bus.map(ADDR)[PWR_CTRL] = 0x03
    bus.on_write[(ADDR, OSR)] = lambda b, k, v: b.map(k).__setitem__(OSR, 0x04)
    for n in (1, 2):
        _por_at_next_check(bus, d)
        assert d.read() == INVALID
        assert (d.errors, d.reinit_failures) == (n, n)
        bus.map(ADDR)[PWR_CTRL] = 0x03


# ------------------------------------------------------------ compensation at its edges
# The datasheet's float compensation (BST-BMP390-DS002 section 8: the NVM
# coefficients' scales and the float formula) in exact rational arithmetic,
# for parts whose NVM is chosen so that the terms a test looks at are exact
# in binary (PAR_T2 = 2^14 / 2^30 = 2^-16 degC per LSB with PAR_T1 = 2^15 * 2^8
# makes t_lin = (ut - 2^23) / 2^16 degC exactly; PAR_P1 = 2^13 / 2^20 makes
# the raw pressure's term up / 128 Pa). The driver's result is that value
# plus its fixed 4 / 256 Pa (the mean loss of its floors, added in every
# case), rounded half up to cPa / cdegC. Each edge is met exactly and one LSB
# beyond.
PAR_ORDER = ("T1", "T2", "T3", "P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8", "P9", "P10", "P11")
PLAIN = dict(T1=32768, T2=16384, T3=0, P1=16384, P2=16384, P3=0, P4=0, P5=0, P6=0, P7=0, P8=0,
             P9=0, P10=0, P11=0)


def trimmed(**nvm):
    """A started part trimmed with these NVM_PAR_* (the others as PLAIN): (part, NVM)."""
    n = dict(PLAIN, **nvm)
    bus = part()
    bus.map(ADDR)[NVM:NVM + 21] = struct.pack("<HHbhhbbHHbbhbb", *(n[k] for k in PAR_ORDER))
    return Bmp390(bus), n


def ref_t_lin(n, ut):
    """t_lin, degC (exact)."""
    pd1 = ut - n["T1"] * 256
    return pd1 * Fr(n["T2"], 2 ** 30) + pd1 * pd1 * Fr(n["T3"], 2 ** 48)


def ref_pressure_pa(n, up, t):
    """The compensated pressure, Pa (exact)."""
    p1, p2 = Fr(n["P1"] - 16384, 2 ** 20), Fr(n["P2"] - 16384, 2 ** 29)
    out1 = (n["P5"] * 8 + Fr(n["P6"], 2 ** 6) * t + Fr(n["P7"], 2 ** 8) * t * t
            + Fr(n["P8"], 2 ** 15) * t ** 3)
    out2 = up * (p1 + p2 * t + Fr(n["P3"], 2 ** 32) * t * t + Fr(n["P4"], 2 ** 37) * t ** 3)
    out3 = up * up * (Fr(n["P9"], 2 ** 48) + Fr(n["P10"], 2 ** 48) * t) + up ** 3 * Fr(n["P11"], 2 ** 65)
    return out1 + out2 + out3


def half_up(x):
    return math.floor(x + Fr(1, 2))


def ref_cpa(n, up, ut):
    return half_up((ref_pressure_pa(n, up, ref_t_lin(n, ut)) + Fr(4, 256)) * 100)


def test_the_exact_parts_reference_is_the_published_vectors_formula():
    # the reference above, on the published vector: 100876.006 Pa, 30.4993 degC
    n = dict(zip(PAR_ORDER, struct.unpack("<HHbhhbbHHbbhbb", NVM_OCTETS)))
    t = ref_t_lin(n, UT)
    assert float(t) == pytest.approx(30.499314453874284, abs=1e-9)
    assert float(ref_pressure_pa(n, UP, t)) == pytest.approx(100876.00634692199, abs=1e-6)


def test_a_temperature_of_exactly_105_degc_is_a_reading_one_lsb_above_is_clamped():
    d, n = trimmed(P5=12500)                       # 100 kPa
    ut = 2 ** 23 + 105 * 2 ** 16
    assert ref_t_lin(n, ut) == 105
    assert d._compensate(0, ut) == OK
    assert (d.t_q16, d.temperature_cdeg, d.pressure_cpa) == (105 << 16, 10500, ref_cpa(n, 0, ut))
    assert d._compensate(0, ut + 1) == INVALID
    assert (d.t_q16, d.temperature_cdeg) == (105 << 16, 10500)


def test_a_temperature_of_exactly_minus_60_degc_is_a_reading_one_lsb_below_is_clamped():
    d, n = trimmed(P5=12500)
    ut = 2 ** 23 - 60 * 2 ** 16
    assert ref_t_lin(n, ut) == -60
    assert d._compensate(0, ut) == OK
    assert (d.t_q16, d.temperature_cdeg) == (-60 << 16, -6000)
    assert d._compensate(0, ut - 1) == INVALID
    assert (d.t_q16, d.temperature_cdeg) == (-60 << 16, -6000)


@pytest.mark.parametrize("t_q16", [983, 984, -15401, -15400, 1966, -1966, 8192, -8192])
def test_the_temperature_rounds_half_up_to_centidegrees(t_q16):
    # 983 / 2^16 degC = 1.49994 cdegC (983 * 25 = 8191 mod 2^14: just below
    # the half), 984: 1.50146; -15401: -23.50006, -15400: -23.49854; 1966:
    # 2.99988 and -1966; 8192: exactly 12.5 (up to 13), -8192: -12.5 (up to -12)
    d, n = trimmed(P5=12500)
    d._compensate(0, 2 ** 23 + t_q16)
    assert d.t_q16 == t_q16
    assert d.temperature_cdeg == half_up(ref_t_lin(n, 2 ** 23 + t_q16) * 100)
    assert d.temperature_cdeg == {983: 1, 984: 2, -15401: -24, -15400: -23, 1966: 3, -1966: -3,
                                  8192: 13, -8192: -12}[t_q16]



def test_a_pd1_of_0x7fffff_is_a_reading_and_above_it_is_clamped_to_it():
    # PAR_T2 = 2^-16 and PAR_T3 = -128 / 2^48: pd1 = ut - PAR_T1 = 2^23 - 1
    # is 128 - 32 = 96 degC, a plausible temperature, so only the pd1 clamp
    # decides; PAR_T1 = 32767 * 2^8 lets a 24-bit ut reach pd1 = 2^23 + 255
    d, n = trimmed(T1=32767, T3=-128, P5=12500)
    ut = 32767 * 256 + 0x7FFFFF
    t = ref_t_lin(n, ut)
    assert d._compensate(0, ut) == OK
    top = d.t_q16
    assert 0 <= top - t * 2 ** 16 < 2          # the driver's floors of pd1^2 * PAR_T3 (< 0)
    assert (d.temperature_cdeg, d.pressure_cpa) == (half_up(t * 100), ref_cpa(n, 0, ut)) == (9600, 10000002)
    for beyond in (1, 2, 255):
        assert d._compensate(0, ut + beyond) == INVALID
        assert (d.t_q16, d.temperature_cdeg) == (top, 9600)      # pd1 held at 2^23 - 1


def test_a_pd1_of_minus_0x7fffff_is_a_reading_and_below_it_is_clamped_to_it():
    # PAR_T2 = 2^13 / 2^30, PAR_T3 = -128 / 2^48: pd1 = -(2^23 - 1) is
    # -16 - 32 = -48 degC; PAR_T1 = 32769 * 2^8 lets ut = 0 reach pd1 = -2^23 - 256
    d, n = trimmed(T1=32769, T2=2048, T3=-128, P5=12500)
    ut = 32769 * 256 - 0x7FFFFF
    t = ref_t_lin(n, ut)
    assert d._compensate(0, ut) == OK
    bottom = d.t_q16
    assert 0 <= bottom - t * 2 ** 16 < 2
    assert (d.temperature_cdeg, d.pressure_cpa) == (half_up(t * 100), ref_cpa(n, 0, ut)) == (-4800, 10000002)
    for beyond in (1, 2, 257):
        assert d._compensate(0, ut - beyond) == INVALID
        assert (d.t_q16, d.temperature_cdeg) == (bottom, -4800)  # pd1 held at -(2^23 - 1)


def test_a_pressure_of_exactly_300_hpa_is_in_range_one_lsb_below_is_not():
    # PAR_P1 = 2^13 / 2^20: p = up / 128 Pa, plus 4 / 256 Pa: exactly
    # 30000 Pa for up = 30000 * 128 - 2
    d, n = trimmed(P1=16384 + 8192)
    up = 30000 * 128 - 2
    assert ref_pressure_pa(n, up, 0) + Fr(4, 256) == 30000
    assert d._compensate(up, 2 ** 23) == OK and d.pressure_cpa == 3000000 == ref_cpa(n, up, 2 ** 23)
    assert d._compensate(up - 1, 2 ** 23) == OUT_OF_RANGE
    assert d.pressure_cpa == 2999999 == ref_cpa(n, up - 1, 2 ** 23)   # 29999.9921875 Pa


def test_a_pressure_of_exactly_1250_hpa_is_in_range_one_lsb_above_is_not():
    d, n = trimmed(P1=16384 + 8192)
    up = 125000 * 128 - 2
    assert ref_pressure_pa(n, up, 0) + Fr(4, 256) == 125000
    assert d._compensate(up, 2 ** 23) == OK and d.pressure_cpa == 12500000
    assert d._compensate(up + 1, 2 ** 23) == OUT_OF_RANGE
    assert d.pressure_cpa == 12500001 == ref_cpa(n, up + 1, 2 ** 23)  # 125000.0078125 Pa


def test_a_pressure_of_exactly_160_kpa_is_out_of_range_above_it_is_clamped_invalid():
    # PAR_P5 = 12500 * 8 = 100 kPa, plus up / 128 Pa: exactly 160 kPa for
    # up = 60000 * 128 - 2; the ceiling (keeps p * 25 < 2^30) is 160 kPa
    d, n = trimmed(P1=16384 + 8192, P5=12500)
    up = 60000 * 128 - 2
    assert ref_pressure_pa(n, up, 0) + Fr(4, 256) == 160000
    assert d._compensate(up, 2 ** 23) == OUT_OF_RANGE and d.pressure_cpa == 16000000
    for beyond in (1, 1000):
        assert d._compensate(up + beyond, 2 ** 23) == INVALID and d.pressure_cpa == 16000000


def test_a_pressure_of_exactly_zero_is_out_of_range_below_it_is_clamped_invalid():
    # PAR_P1 = -2^13 / 2^20: p = -up / 128 Pa + 4 / 256 Pa: 0 for up = 2
    d, n = trimmed(P1=16384 - 8192)
    assert ref_pressure_pa(n, 2, 0) + Fr(4, 256) == 0
    assert d._compensate(1, 2 ** 23) == OUT_OF_RANGE and d.pressure_cpa == 1   # 0.0078125 Pa
    assert d._compensate(2, 2 ** 23) == OUT_OF_RANGE and d.pressure_cpa == 0
    for up in (3, 1000):
        assert d._compensate(up, 2 ** 23) == INVALID and d.pressure_cpa == 0


@pytest.mark.parametrize("t_q16", [113587, 151223, 66930])
def test_the_p7_term_squares_the_temperature_to_its_last_bit(t_q16):
    # P5 + PAR_P7 t^2 alone (PAR_P7 = -128 / 2^8, up = 0): 100 kPa - t^2 / 2;
    # at these t (1.7332, 2.3075, 1.0213 degC) the exact value is within
    # 0.15 cPa below a rounding edge, so t^2 carried with less than its Q16
    # resolution (1/2^16 degC^2) moves the last cPa
    d, n = trimmed(P7=-128, P5=12500)
    ut = 2 ** 23 + t_q16
    assert d._compensate(0, ut) == OK and d.t_q16 == t_q16
    assert d.pressure_cpa == ref_cpa(n, 0, ut) == {113587: 9999851, 151223: 9999735, 66930: 9999949}[t_q16]


@pytest.mark.parametrize("p4, cpa", [(127, 10775148), (-128, 9218752)])
def test_the_p4_term_is_up_times_t_cubed_times_par_p4(p4, cpa):
    # 100 kPa + up t^3 PAR_P4 (PAR_P4 = NVM / 2^37), t = 100 degC, up = 2^23:
    # +-7.75 kPa, every product exact (t^3 = 10^6)
    d, n = trimmed(P4=p4, P5=12500)
    ut = 2 ** 23 + 100 * 2 ** 16
    assert ref_pressure_pa(n, 2 ** 23, 100) == 100000 + Fr(2 ** 23 * 10 ** 6 * p4, 2 ** 37)
    assert d._compensate(2 ** 23, ut) == OK
    assert d.pressure_cpa == ref_cpa(n, 2 ** 23, ut) == cpa
