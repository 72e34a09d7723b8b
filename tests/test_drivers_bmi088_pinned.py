"""The BMI088 driver (firmware/lander/drivers/bmi088.py) pinned on register
maps written by hand from BST-BMI088-DS001 (tests/regbus_fakes.py: no
emulator): the start-up transactions, writes and waits in Bosch's order, the
error messages, the gyro's configuration check on every burst, the accel's
periodic check, stuck recovery and re-enabling, the in-flight
re-initialisations one step a cycle, every counter and event. In the
fw-sensors mutation group (docs/mutation.md)."""
import pytest

from lander.drivers import BUS_ERROR, DISABLED, INVALID, NOT_READY, OK, REINIT, DeviceError
from lander.drivers import bmi088 as bmi_mod
from lander.drivers.bmi088 import Bmi088
from tests.app_fakes import drain_events, fresh_event_ring  # noqa: F401
from tests.regbus_fakes import Pin, RegBus

pytestmark = pytest.mark.usefixtures("fresh_event_ring")

A, G = 0x18, 0x68                      # default I2C addresses
# accel registers (5.3)
ACC_CHIP_ID, ACC_ERR, ACC_STATUS, ACC_X = 0x00, 0x02, 0x03, 0x12
ACC_CONF, ACC_RANGE, PWR_CONF, PWR_CTRL = 0x40, 0x41, 0x7C, 0x7D
# gyro registers (5.5)
GYRO_CHIP_ID, RATE_X, GYRO_RANGE, GYRO_BW, GYRO_LPM1 = 0x00, 0x02, 0x0F, 0x10, 0x11
EV_GYRO_REINIT, EV_ACC_REINIT, EV_ACC_DISABLED, EV_ACC_ENABLED, EV_REINIT_FAIL = (
    0x0111, 0x0112, 0x0113, 0x0114, 0x0115)
# defaults: 12 g (ACC_RANGE 2), 500 dps (GYRO_RANGE 2), ODR 400 Hz both


def part(bus=None, acc=A, gyr=G):
    """Register maps of a healthy pair: chip ids 0x1E / 0x0F, the accel in
    suspend (PWR_CONF 0x03, PWR_CTRL 0x00), GYRO_BANDWIDTH bit 7 reading 1."""
    bus = bus or RegBus()
    a, g = bus.map(acc), bus.map(gyr)
    a[ACC_CHIP_ID], a[PWR_CONF], a[PWR_CTRL] = 0x1E, 0x03, 0x00
    g[GYRO_CHIP_ID], g[GYRO_BW] = 0x0F, 0x80

    def bw(b, k, v):
        b.map(k)[GYRO_BW] = v | 0x80
    bus.on_write[(gyr, GYRO_BW)] = bw
    return bus


def waits_logged(monkeypatch, bus):
    monkeypatch.setattr(bmi_mod, "_wait_us", lambda us: bus.log.append(("wait", us)))


def acc_ready(bus, status=0x80, err=0x00, key=A):
    bus.map(key)[ACC_ERR] = err
    bus.map(key)[ACC_STATUS] = status


def started(**kw):
    bus = part()
    d = Bmi088(bus, bus, **kw)
    drain_events()
    bus.clear_log()
    return bus, d


def acc_config_reads(bus):
    return [r for r in bus.reads(A) if r in ((PWR_CONF, 2), (ACC_CONF, 2))]


def put16(m, reg, v):
    v &= 0xFFFF
    m[reg], m[reg + 1] = v & 0xFF, v >> 8


# ------------------------------------------------------------ start-up

def test_start_up_transactions_writes_and_waits_in_bosch_order(monkeypatch):
    bus = part()
    waits_logged(monkeypatch, bus)
    d = Bmi088(bus, bus)
    assert bus.log == [
        ("r", G, GYRO_CHIP_ID, 1), ("r", A, ACC_CHIP_ID, 1),
        ("w", A, PWR_CONF, 0x00), ("wait", 5000),
        ("w", A, PWR_CTRL, 0x04), ("wait", 5000),
        ("w", A, ACC_CONF, 0xAA), ("w", A, ACC_RANGE, 2), ("wait", 40000),
        ("r", A, PWR_CONF, 2), ("r", A, ACC_CONF, 2),
        ("w", G, GYRO_LPM1, 0x00), ("wait", 30000),
        ("w", G, GYRO_RANGE, 2), ("wait", 10000),
        ("w", G, GYRO_BW, 0x83), ("wait", 10000),
        ("r", G, RATE_X, 16)]
    assert d.accel_enabled
    assert list(d.gyro_urad_s) == [0, 0, 0] and list(d.accel_mm_s2) == [0, 0, 0]
    assert (d.status, d.gyro_status, d.accel_status) == (NOT_READY, NOT_READY, NOT_READY)


def test_spi_start_up_switches_the_accel_first_and_raises_the_selects():
    bus = part(acc="acc", gyr="gyr")
    acs, gcs = Pin("acs"), Pin("gcs")
    bus.attach(acs, "acc", lead=2)                 # address octet + dummy octet
    bus.attach(gcs, "gyr", lead=1)
    Bmi088(bus, bus, acc_cs=acs, gyro_cs=gcs)
    assert acs.levels[0] == 1 and gcs.levels[0] == 1
    assert acs.levels[-1] == 1 and gcs.levels[-1] == 1
    assert bus.reads("acc")[:3] == [(ACC_CHIP_ID, 1), (ACC_CHIP_ID, 1), (ACC_CHIP_ID, 1)]
    assert bus.writes("acc")[0] == (PWR_CONF, 0x00)
    assert bus.reads("gyr")[-1] == (RATE_X, 16)


@pytest.mark.parametrize("kw", [dict(acc_g=5), dict(gyro_dps=300)])
def test_each_unsupported_full_scale_is_refused(kw):
    with pytest.raises(ValueError) as e:
        Bmi088(part(), part(), **kw)
    assert str(e.value) == "BMI088: unsupported acc_g/gyro_dps"


def test_no_answer_names_the_device_bus_and_address():
    bus = part()
    bus.fail_next(0)
    with pytest.raises(DeviceError) as e:
        Bmi088(bus, bus)
    assert str(e.value) == "BMI088 gyro on I2C %r addr 0x68: no answer (5)" % bus
    bus = part()
    bus.fail_next(1)
    with pytest.raises(DeviceError) as e:
        Bmi088(bus, bus)
    assert str(e.value) == "BMI088 accel on I2C %r addr 0x18: no answer (5)" % bus


def test_wrong_chip_ids_are_named_on_i2c_and_spi():
    bus = part()
    bus.map(G)[GYRO_CHIP_ID] = 0x0E
    with pytest.raises(DeviceError) as e:
        Bmi088(bus, bus)
    assert str(e.value) == "BMI088 gyro on I2C %r addr 0x68: GYRO_CHIP_ID expected 0x0f, seen 0x0e" % bus
    bus = part(acc="acc", gyr="gyr")
    acs, gcs = Pin("acs"), Pin("gcs")
    bus.attach(acs, "acc", lead=2)
    bus.attach(gcs, "gyr", lead=1)
    bus.map("acc")[ACC_CHIP_ID] = 0x1F
    with pytest.raises(DeviceError) as e:
        Bmi088(bus, bus, acc_cs=acs, gyro_cs=gcs)
    assert str(e.value) == ("BMI088 accel on SPI %r cs Pin(acs) addr 0x18: ACC_CHIP_ID expected "
                            "0x1e, seen 0x1f" % bus)
    bus.map("acc")[ACC_CHIP_ID] = 0x1E
    bus.map("gyr")[GYRO_CHIP_ID] = 0x00
    with pytest.raises(DeviceError) as e:
        Bmi088(bus, bus, acc_cs=acs, gyro_cs=gcs)
    assert str(e.value) == ("BMI088 gyro on SPI %r cs Pin(gcs) addr 0x68: GYRO_CHIP_ID expected "
                            "0x0f, seen 0x00" % bus)


def _refuse(bus, key, reg, seen):
    bus.on_write[(key, reg)] = lambda b, k, v: b.map(k).__setitem__(reg, seen)


@pytest.mark.parametrize("reg,seen,what", [
    (PWR_CTRL, 0x00, "BMI088 accel not enabled on I2C %r addr 0x18: ACC_PWR_CTRL expected 0x04, seen 0x00"),
    (PWR_CONF, 0x03, "BMI088 accel not enabled on I2C %r addr 0x18: ACC_PWR_CONF expected 0x00, seen 0x03"),
    (ACC_CONF, 0xA8, "BMI088 accel on I2C %r addr 0x18: ACC_CONF expected 0xaa, seen 0xa8"),
    (ACC_RANGE, 0x01, "BMI088 accel on I2C %r addr 0x18: ACC_RANGE expected 0x02, seen 0x01"),
    (GYRO_RANGE, 0x00, "BMI088 gyro on I2C %r addr 0x68: GYRO_RANGE expected 0x02, seen 0x00"),
    (GYRO_BW, 0x81, "BMI088 gyro on I2C %r addr 0x68: GYRO_BANDWIDTH expected 0x83, seen 0x81"),
    (GYRO_LPM1, 0x20, "BMI088 gyro on I2C %r addr 0x68: GYRO_LPM1 expected 0x00, seen 0x20"),
])
def test_a_setting_not_taken_at_start_up_is_named(reg, seen, what):
    bus = part()
    _refuse(bus, G if reg in (GYRO_RANGE, GYRO_BW, GYRO_LPM1) else A, reg, seen)
    with pytest.raises(DeviceError) as e:
        Bmi088(bus, bus)
    assert str(e.value) == what % bus


def test_a_healthy_accel_is_enabled_when_it_is_not_required():
    bus, d = started(require_accel=False)
    assert d.accel_enabled and drain_events() == []


def test_an_accel_that_stays_suspended_is_reported_when_not_required():
    bus = part()
    _refuse(bus, A, PWR_CONF, 0x03)                # stays in suspend
    d = Bmi088(bus, bus, require_accel=False)
    assert not d.accel_enabled
    assert drain_events() == [(EV_ACC_DISABLED, 0x0304)]   # PWR_CONF << 8 | PWR_CTRL


# ------------------------------------------------------------ gyro

def test_i2c_gyro_burst_is_16_octets_from_rate_x_and_converts():
    bus, d = started()
    m = bus.map(G)
    put16(m, RATE_X, 1000)
    put16(m, RATE_X + 2, -1000)
    put16(m, RATE_X + 4, 1)
    acc_ready(bus)
    assert d.read() == OK
    assert bus.reads(G) == [(RATE_X, 16)]
    # 500 dps: 1 / (16.384 * 4) dps per LSB = 266.316 urad/s; K = 17044, S = 6
    assert list(d.gyro_urad_s) == [(1000 * 17044 + 32) >> 6, (-1000 * 17044 + 32) >> 6, (17044 + 32) >> 6]
    assert list(d.gyro_urad_s) == [266313, -266312, 266]


def test_spi_bursts_raise_the_selects_after_each():
    bus = part(acc="acc", gyr="gyr")
    acs, gcs = Pin("acs"), Pin("gcs")
    bus.attach(acs, "acc", lead=2)
    bus.attach(gcs, "gyr", lead=1)
    d = Bmi088(bus, bus, acc_cs=acs, gyro_cs=gcs)
    acc_ready(bus, key="acc")
    put16(bus.map("gyr"), RATE_X, 64)
    put16(bus.map("acc"), ACC_X, 4096)
    bus.clear_log()
    assert d.read() == OK
    assert bus.reads() == [("gyr", 0x01, 17), ("acc", ACC_ERR, 22)]
    assert gcs.levels[-2:] == [0, 1] and acs.levels[-2:] == [0, 1]
    assert d.gyro_urad_s[0] == (64 * 17044 + 32) >> 6
    # 12 g: 12 * 9806.65 / 32768 mm/s^2 per LSB; K = 29420, S = 13
    assert d.accel_mm_s2[0] == (4096 * 29420 + 4096) >> 13 == 14710


def test_one_bad_gyro_configuration_read_is_invalid_and_counted():
    bus, d = started()
    acc_ready(bus)
    m = bus.map(G)
    m[GYRO_RANGE] = 0x00                           # range alone: 2000 dps
    assert d.read() == INVALID and d.gyro_status == INVALID and d.status == INVALID
    m[GYRO_RANGE] = 0x02
    assert d.read() == OK
    m[GYRO_BW] = 0x82                              # bandwidth alone
    assert d.read() == INVALID
    m[GYRO_BW] = 0x83
    assert d.read() == OK
    assert (d.errors, d.invalid, d.resets) == (2, 2, 0)


def test_a_floating_gyro_bus_is_a_bus_error():
    bus, d = started()
    acc_ready(bus)
    for r in range(RATE_X, 0x12):
        bus.map(G)[r] = 0xFF
    assert d.read() == BUS_ERROR
    assert (d.errors, d.bus_errors, d.invalid) == (1, 1, 0)


def gyro_reset(bus):
    m = bus.map(G)
    m[GYRO_RANGE], m[GYRO_BW], m[GYRO_LPM1] = 0x00, 0x80, 0x00


def test_a_gyro_reset_is_rewritten_one_step_a_cycle_with_its_waits():
    bus, d = started()
    acc_ready(bus)
    gyro_reset(bus)
    assert d.read() == INVALID                     # once may be a flipped bit
    bus.clear_log()
    got = [d.read() for _ in range(6)]
    # LPM1 (30 ms: 2 cycles more), RANGE (10 ms), BANDWIDTH (10 ms), read-back
    assert got == [NOT_READY, NOT_READY, NOT_READY, NOT_READY, NOT_READY, REINIT]
    assert bus.writes(G) == [(GYRO_LPM1, 0x00), (GYRO_RANGE, 2), (GYRO_BW, 0x83)]
    assert bus.reads(G) == [(RATE_X, 16), (RATE_X, 16)]   # the burst that saw it, the read-back
    assert [w for w in bus.log if w[0] == "w"] == [
        ("w", G, GYRO_LPM1, 0), ("w", G, GYRO_RANGE, 2), ("w", G, GYRO_BW, 0x83)]
    assert drain_events() == [(EV_GYRO_REINIT, 1)]
    assert d.resets == 1
    assert d.read() == OK


def test_the_gyro_write_steps_fall_on_cycles_1_4_5():
    bus, d = started()
    acc_ready(bus)
    gyro_reset(bus)
    d.read()
    steps = []
    for n in range(1, 7):
        before = len(bus.writes(G))
        d.read()
        if len(bus.writes(G)) > before:
            steps.append(n)
    assert steps == [1, 4, 5]


def test_each_gyro_reset_is_counted():
    bus, d = started()
    acc_ready(bus)
    for _ in range(2):
        gyro_reset(bus)
        for _ in range(7):
            d.read()
        assert d.read() == OK
    assert d.resets == 2


def test_a_flip_between_good_reads_never_adds_up_to_a_reset():
    bus, d = started()
    acc_ready(bus)
    m = bus.map(G)
    for _ in range(3):
        m[GYRO_RANGE] = 0x00
        assert d.read() == INVALID
        m[GYRO_RANGE] = 0x02
        assert d.read() == OK
    assert d.resets == 0


def test_the_first_read_may_see_one_flipped_gyro_configuration():
    bus, d = started()
    acc_ready(bus)
    bus.map(G)[GYRO_LPM1] = 0x20
    assert d.read() == INVALID and d.resets == 0


@pytest.mark.parametrize("reg,seen", [(GYRO_RANGE, 0x01), (GYRO_BW, 0x82)])
def test_a_gyro_rewrite_that_does_not_take_is_invalid_with_an_event(reg, seen):
    bus, d = started()
    acc_ready(bus)
    gyro_reset(bus)
    if reg == GYRO_BW:
        bus.map(G)[GYRO_RANGE] = 0x03
    _refuse(bus, G, reg, seen)
    got = [d.read() for _ in range(7)]
    assert got[-1] == INVALID and REINIT not in got
    assert (d.errors, d.reinit_failures) == (2, 1)
    assert drain_events() == [(EV_GYRO_REINIT, 1), (EV_REINIT_FAIL, 2)]
    for _ in range(7):                             # once more: INVALID, then the same 6 steps
        d.read()
    assert (d.errors, d.reinit_failures) == (4, 2)


def test_a_bus_error_in_the_gyro_rewrite_ends_it_and_is_counted():
    bus, d = started()
    acc_ready(bus)
    gyro_reset(bus)
    assert d.read() == INVALID
    bus.fail_next(1)                               # the burst that sees it again, then LPM1
    assert d.read() == BUS_ERROR
    assert (d.errors, d.bus_errors, d.reinit_failures) == (2, 1, 1)
    bus.clear_log()
    assert d.read() == INVALID                     # back to bursts: still reset, seen once
    assert bus.reads(G) == [(RATE_X, 16)]
    bus.fail_next(1)
    assert d.read() == BUS_ERROR
    assert (d.errors, d.bus_errors, d.reinit_failures) == (4, 2, 2)


# ------------------------------------------------------------ accel

def test_accel_errors_and_not_ready_cycles_are_counted():
    bus, d = started()
    acc_ready(bus, err=0x04)                       # error_code 1
    assert d.read() == INVALID and d.accel_status == INVALID
    assert d.read() == INVALID
    assert (d.errors, d.invalid) == (2, 2)
    acc_ready(bus, status=0x00)
    assert d.read() == NOT_READY and d.read() == NOT_READY
    assert (d.not_ready, d.errors) == (2, 2)


def test_the_accel_configuration_is_read_back_before_reads_51_and_101():
    bus, d = started()
    acc_ready(bus)
    checked = []
    for n in range(1, 110):
        before = len(acc_config_reads(bus))
        assert d.read() == OK
        if len(acc_config_reads(bus)) > before:
            checked.append(n)
    assert checked == [51, 101]
    assert bus.reads(A).count((PWR_CONF, 2)) == 2         # one read-back each: it matched


@pytest.mark.parametrize("reg,seen", [(PWR_CONF, 0x03), (PWR_CTRL, 0x00), (ACC_CONF, 0xA8),
                                      (ACC_RANGE, 0x01)])
def test_the_periodic_check_finds_each_lost_setting(reg, seen):
    bus, d = started()
    acc_ready(bus)
    for _ in range(50):
        d.read()
    bus.map(A)[reg] = seen
    assert d.read() == NOT_READY                   # re-initialisation under way
    assert drain_events() == [(EV_ACC_REINIT, 1)]
    assert d.resets == 1


def test_one_corrupted_check_read_is_confirmed_before_a_rewrite():
    bus, d = started()
    acc_ready(bus)
    for _ in range(50):
        d.read()
    m = bus.map(A)
    m[ACC_CONF] = 0x00
    seen = []

    def once(b, k):
        seen.append(1)
        b.map(k)[ACC_CONF] = 0xAA
    bus.on_read[(A, ACC_CONF)] = once
    assert d.read() == OK and d.resets == 0


def test_the_accel_rewrite_takes_three_steps_then_reads_back(monkeypatch):
    bus, d = started()
    acc_ready(bus)
    for _ in range(50):
        d.read()
    bus.map(A)[ACC_RANGE] = 0x00
    bus.clear_log()
    got = [d.read() for _ in range(8)]
    # PWR_CONF (5 ms: 1 cycle), PWR_CTRL (5 ms), CONF+RANGE (40 ms: 3 cycles more),
    # read-back: REINIT, then data
    assert got == [NOT_READY, NOT_READY, NOT_READY, NOT_READY, NOT_READY, NOT_READY, REINIT, OK]
    assert bus.writes(A) == [(PWR_CONF, 0), (PWR_CTRL, 4), (ACC_CONF, 0xAA), (ACC_RANGE, 2)]


def test_after_a_rewrite_the_next_accel_check_is_50_good_reads_later():
    bus, d = started()
    acc_ready(bus)
    for _ in range(50):
        d.read()
    bus.map(A)[ACC_RANGE] = 0x00
    for _ in range(7):
        d.read()                                   # the rewrite, REINIT
    bus.clear_log()
    for _ in range(50):
        assert d.read() == OK
    assert acc_config_reads(bus) == []
    d.read()
    assert bus.reads(A).count((PWR_CONF, 2)) == 1


def test_a_silent_configured_accel_is_rewritten_after_5_reads_then_backs_off():
    bus, d = started()
    acc_ready(bus, status=0x00)
    got = [d.read() for _ in range(5)]
    assert got == [NOT_READY] * 5 and d.resets == 1
    assert drain_events() == [(EV_ACC_REINIT, 2)]
    for _ in range(6):
        d.read()                                   # the rewrite's steps and read-back
    n = 0
    while d.resets == 1:
        d.read()
        n += 1
    assert n == 10                                 # backed off: 2 x 5


def test_a_bus_error_on_the_stuck_check_restarts_the_count():
    bus, d = started()
    acc_ready(bus, status=0x00)
    for _ in range(4):
        d.read()
    bus.fail_next(2)                               # gyro burst, accel burst, then the check
    assert d.read() == BUS_ERROR and d.resets == 0
    assert [d.read() for _ in range(4)] == [NOT_READY] * 4 and d.resets == 0
    d.read()
    assert d.resets == 1


def test_an_accel_off_at_start_up_is_retried_on_read_50_and_every_50():
    bus = part()
    _refuse(bus, A, PWR_CTRL, 0x00)
    d = Bmi088(bus, bus, require_accel=False)
    drain_events()
    acc_ready(bus)
    bus.clear_log()
    tries = []
    for n in range(1, 160):
        before = len(bus.writes(A))
        assert d.read() == DISABLED
        if len(bus.writes(A)) > before and bus.writes(A)[before] == (PWR_CONF, 0):
            tries.append(n)
    assert tries == [50, 106]                      # steps on reads 50..56, then 50 more
    assert d.reinit_failures == 2 and d.resets == 0
    assert drain_events() == []


def test_an_accel_that_comes_on_at_the_retry_is_reported_enabled():
    bus = part()
    _refuse(bus, A, PWR_CTRL, 0x00)
    d = Bmi088(bus, bus, require_accel=False)
    drain_events()
    acc_ready(bus)
    bus.on_write.pop((A, PWR_CTRL))
    got = [d.read() for _ in range(56)]
    assert got[:55] == [DISABLED] * 55            # the retry's steps on 50..55 too
    assert got[55] == REINIT and d.accel_enabled
    assert drain_events() == [(EV_ACC_ENABLED, 0)]
    assert d.read() == OK


@pytest.mark.parametrize("reg,seen", [(PWR_CTRL, 0x00), (PWR_CONF, 0x03)])
def test_an_accel_that_will_not_power_up_in_flight_is_reported_disabled(reg, seen):
    bus, d = started()
    acc_ready(bus)
    for _ in range(50):
        d.read()
    bus.map(A)[reg] = seen
    _refuse(bus, A, reg, seen)
    got = [d.read() for _ in range(7)]
    assert got[-1] == DISABLED and not d.accel_enabled
    m = bus.map(A)
    assert drain_events() == [(EV_ACC_REINIT, 1), (EV_ACC_DISABLED, (m[PWR_CONF] << 8) | m[PWR_CTRL])]
    assert d.reinit_failures == 1 and d.errors == 0


def test_an_accel_rewrite_with_a_wrong_range_is_invalid_with_an_event():
    bus, d = started()
    acc_ready(bus)
    for _ in range(50):
        d.read()
    bus.map(A)[ACC_RANGE] = 0x01
    _refuse(bus, A, ACC_RANGE, 0x01)
    got = [d.read() for _ in range(7)]
    assert got[-1] == INVALID and d.accel_enabled
    assert drain_events() == [(EV_ACC_REINIT, 1), (EV_REINIT_FAIL, 1)]
    assert (d.errors, d.reinit_failures) == (1, 1)


def test_a_bus_error_in_the_accel_rewrite_ends_it_and_is_counted():
    bus, d = started()
    acc_ready(bus)
    for _ in range(50):
        d.read()
    bus.map(A)[ACC_RANGE] = 0x00
    bus.fail_next(5)                               # gyro burst, 2 x 2 check reads, PWR_CONF
    assert d.read() == BUS_ERROR
    assert (d.errors, d.bus_errors, d.reinit_failures) == (1, 1, 1)
    bus.clear_log()
    assert d.read() == OK                          # back to bursts
    assert bus.reads(A) == [(ACC_ERR, 22)]


# ------------------------------------------------------------ two buses

def two_buses():
    ab, gb = RegBus(), RegBus()
    part(ab)
    part(gb)
    return ab, gb


@pytest.mark.parametrize("dev,reg,seen,what", [
    ("g", None, None, "BMI088 gyro on I2C %(g)r addr 0x68: no answer (5)"),
    ("a", None, None, "BMI088 accel on I2C %(a)r addr 0x18: no answer (5)"),
    ("g", GYRO_CHIP_ID, 0x01, "BMI088 gyro on I2C %(g)r addr 0x68: GYRO_CHIP_ID expected 0x0f, seen 0x01"),
    ("a", ACC_CHIP_ID, 0x01, "BMI088 accel on I2C %(a)r addr 0x18: ACC_CHIP_ID expected 0x1e, seen 0x01"),
    ("a", PWR_CTRL, 0x00, "BMI088 accel not enabled on I2C %(a)r addr 0x18: ACC_PWR_CTRL expected 0x04, seen 0x00"),
    ("a", PWR_CONF, 0x03, "BMI088 accel not enabled on I2C %(a)r addr 0x18: ACC_PWR_CONF expected 0x00, seen 0x03"),
    ("a", ACC_CONF, 0x00, "BMI088 accel on I2C %(a)r addr 0x18: ACC_CONF expected 0xaa, seen 0x00"),
    ("a", ACC_RANGE, 0x00, "BMI088 accel on I2C %(a)r addr 0x18: ACC_RANGE expected 0x02, seen 0x00"),
    ("g", GYRO_RANGE, 0x00, "BMI088 gyro on I2C %(g)r addr 0x68: GYRO_RANGE expected 0x02, seen 0x00"),
    ("g", GYRO_BW, 0x80, "BMI088 gyro on I2C %(g)r addr 0x68: GYRO_BANDWIDTH expected 0x83, seen 0x80"),
    ("g", GYRO_LPM1, 0x20, "BMI088 gyro on I2C %(g)r addr 0x68: GYRO_LPM1 expected 0x00, seen 0x20"),
])
def test_each_start_up_message_names_the_bus_of_its_device(dev, reg, seen, what):
    ab, gb = two_buses()
    bus, key = (gb, G) if dev == "g" else (ab, A)
    if reg is None:
        bus.fail_all = True
    elif reg in (GYRO_CHIP_ID, ACC_CHIP_ID):
        bus.map(key)[reg] = seen
    else:
        _refuse(bus, key, reg, seen)
    with pytest.raises(DeviceError) as e:
        Bmi088(ab, gb)
    assert str(e.value) == what % {"a": ab, "g": gb}


# ------------------------------------------------------------ more accel recovery

def test_one_corrupted_read_on_the_stuck_check_is_confirmed_so_it_counts_as_stuck():
    bus, d = started()
    acc_ready(bus, status=0x00)
    for _ in range(4):
        d.read()
    bus.map(A)[ACC_CONF] = 0x00
    bus.on_read[(A, ACC_CONF)] = lambda b, k: b.map(k).__setitem__(ACC_CONF, 0xAA)
    d.read()
    assert drain_events() == [(EV_ACC_REINIT, 2)]


def test_accel_rewrite_failures_are_counted_each():
    bus, d = started()
    acc_ready(bus)
    _refuse(bus, A, ACC_RANGE, 0x01)
    for n in range(1, 3):
        for _ in range(50):
            d.read()
        bus.map(A)[ACC_RANGE] = 0x01
        got = [d.read() for _ in range(7)]
        assert got[-1] == INVALID
        assert (d.errors, d.reinit_failures) == (n, n)


def test_accel_rewrite_bus_errors_are_counted_each():
    bus, d = started()
    acc_ready(bus)
    for n in range(1, 3):
        for _ in range(50):
            d.read()
        bus.map(A)[ACC_RANGE] = 0x00
        bus.fail_next(5)                           # gyro burst, 2 x 2 check reads, PWR_CONF
        assert d.read() == BUS_ERROR
        assert d.reinit_failures == n


def test_an_accel_lost_in_flight_is_retried_50_reads_after():
    bus, d = started()
    acc_ready(bus)
    for _ in range(50):
        d.read()
    bus.map(A)[PWR_CTRL] = 0x00
    _refuse(bus, A, PWR_CTRL, 0x00)
    got = [d.read() for _ in range(7)]
    assert got[-1] == DISABLED and not d.accel_enabled
    bus.clear_log()
    tries = []
    for n in range(1, 60):
        before = len(bus.writes(A))
        d.read()
        if len(bus.writes(A)) > before and bus.writes(A)[before] == (PWR_CONF, 0):
            tries.append(n)
    assert tries == [50]
