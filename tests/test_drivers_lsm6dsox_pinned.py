"""The LSM6DSOX driver (firmware/lander/drivers/lsm6dsox.py) pinned on a
register map written by hand from DS12814 (tests/regbus_fakes.py: no
emulator): the start-up writes and their order, the error messages, the
configuration check period, the stuck-part recovery and its back-off, every
counter. In the fw-sensors mutation group (docs/mutation.md)."""
import pytest

from lander.drivers import BUS_ERROR, INVALID, NOT_READY, OK, REINIT, DeviceError
from lander.drivers import lsm6dsox as lsm_mod
from lander.drivers.lsm6dsox import Lsm6dsox
from tests.app_fakes import drain_events, fresh_event_ring  # noqa: F401
from tests.regbus_fakes import Pin, RegBus

pytestmark = pytest.mark.usefixtures("fresh_event_ring")

ADDR = 0x6A
WHO_AM_I, CTRL1_XL, CTRL2_G, CTRL3_C, CTRL4_C, STATUS = 0x0F, 0x10, 0x11, 0x12, 0x13, 0x1E
EV_REINIT, EV_REINIT_FAIL = 0x0101, 0x0102
# defaults: ODR 208 Hz (code 5), 500 dps (FS_G 0x04), 8 g (FS_XL 0x0C)
CFG = (0x5C, 0x54, 0x44, 0x00)     # CTRL1_XL, CTRL2_G, CTRL3_C (BDU|IF_INC), CTRL4_C


def part(key=ADDR, bus=None):
    """A register map of a healthy part: WHO_AM_I 0x6C, SW_RESET self-clearing."""
    bus = bus or RegBus()
    bus.map(key)[WHO_AM_I] = 0x6C

    def ctrl3(b, k, v):
        b.map(k)[CTRL3_C] = v & 0xFE
    bus.on_write[(key, CTRL3_C)] = ctrl3
    return bus


def ready(bus, key=ADDR, status=0x03):
    bus.map(key)[STATUS] = status


def started(**kw):
    bus = part()
    d = Lsm6dsox(bus, **kw)
    drain_events()
    bus.clear_log()
    return bus, d


def config_reads(bus):
    return [r for r in bus.reads(ADDR) if r == (CTRL1_XL, 4)]


# ------------------------------------------------------------ start-up

def test_start_up_resets_then_writes_the_configuration_in_order():
    bus = part()
    d = Lsm6dsox(bus)
    assert bus.writes(ADDR) == [(CTRL3_C, 0x05),                    # SW_RESET | IF_INC
                                (CTRL3_C, 0x44), (CTRL4_C, 0x00),
                                (CTRL1_XL, 0x5C), (CTRL2_G, 0x54)]
    assert bus.reads(ADDR) == [(WHO_AM_I, 1), (CTRL3_C, 1), (CTRL1_XL, 4)]
    assert list(d.gyro_urad_s) == [0, 0, 0] and list(d.accel_mm_s2) == [0, 0, 0]
    assert (d.status, d.errors, d.resets) == (NOT_READY, 0, 0)


def test_start_up_waits_50_us_before_each_reset_poll(monkeypatch):
    waits = []
    monkeypatch.setattr(lsm_mod, "_wait_us", waits.append)
    bus = part()
    polls = []

    def slow(b, k):                 # SW_RESET clears after the second poll
        polls.append(1)
        if len(polls) == 2:
            b.map(k)[CTRL3_C] &= 0xFE
    bus.on_write.pop((ADDR, CTRL3_C))
    bus.on_read[(ADDR, CTRL3_C)] = slow
    Lsm6dsox(bus)
    assert waits == [50, 50, 50]
    assert bus.reads(ADDR).count((CTRL3_C, 1)) == 3


def test_the_default_address_is_0x6a():
    bus = part()
    Lsm6dsox(bus)
    assert {k for (_, k, _, _) in bus.log} == {0x6A}


@pytest.mark.parametrize("kw", [dict(gyro_dps=300), dict(accel_g=3), dict(odr=0), dict(odr=11)])
def test_each_unsupported_setting_is_refused(kw):
    with pytest.raises(ValueError) as e:
        Lsm6dsox(part(), **kw)
    assert str(e.value) == "LSM6DSOX: unsupported gyro_dps/accel_g/odr"


@pytest.mark.parametrize("odr", [1, 10])
def test_the_odr_codes_1_and_10_are_accepted(odr):
    bus = part()
    Lsm6dsox(bus, odr=odr)
    assert (CTRL1_XL, (odr << 4) | 0x0C) in bus.writes(ADDR)


def test_no_answer_names_the_part_bus_and_address():
    bus = part()
    bus.fail_all = True
    with pytest.raises(DeviceError) as e:
        Lsm6dsox(bus)
    assert str(e.value) == "LSM6DSOX on I2C %r addr 0x6a: no answer (5)" % bus


def test_a_wrong_who_am_i_is_named_on_i2c_and_spi():
    bus = RegBus()
    with pytest.raises(DeviceError) as e:
        Lsm6dsox(bus)
    assert str(e.value) == "LSM6DSOX on I2C %r addr 0x6a: WHO_AM_I expected 0x6c, seen 0x00" % bus
    cs = Pin("imu")
    bus.attach(cs, "lsm")
    with pytest.raises(DeviceError) as e:
        Lsm6dsox(bus, cs=cs)
    assert str(e.value) == ("LSM6DSOX on SPI %r cs Pin(imu) addr 0x6a: WHO_AM_I expected 0x6c, "
                            "seen 0x00" % bus)


def test_a_reset_that_never_completes_is_refused():
    bus = part()
    bus.on_write.pop((ADDR, CTRL3_C))
    with pytest.raises(DeviceError) as e:
        Lsm6dsox(bus)
    assert str(e.value) == "LSM6DSOX on I2C %r addr 0x6a: SW_RESET did not complete" % bus
    assert bus.reads(ADDR).count((CTRL3_C, 1)) == 100


@pytest.mark.parametrize("i,name", list(enumerate(["CTRL1_XL", "CTRL2_G", "CTRL3_C", "CTRL4_C"])))
def test_a_configuration_register_not_taken_is_named(i, name):
    reg = (CTRL1_XL, CTRL2_G, CTRL3_C, CTRL4_C)[i]
    bus = part()
    old = bus.on_write.get((ADDR, reg))

    def refuse(b, k, v):
        if old:
            old(b, k, v)
        if v == CFG[i]:
            b.map(k)[reg] = 0x01
    bus.on_write[(ADDR, reg)] = refuse
    with pytest.raises(DeviceError) as e:
        Lsm6dsox(bus)
    assert str(e.value) == ("LSM6DSOX on I2C %r addr 0x6a: %s expected 0x%02x, seen 0x01"
                            % (bus, name, CFG[i]))


def test_spi_drives_the_chip_select_high_first_and_after_each_burst():
    bus = part("lsm")
    cs = Pin("imu")
    bus.attach(cs, "lsm")
    d = Lsm6dsox(bus, cs=cs)
    assert cs.levels[0] == 1
    assert bus.writes("lsm")[2] == (CTRL4_C, 0x04)          # I2C interface disabled on SPI
    ready(bus, "lsm")
    bus.map("lsm")[0x22] = 0x10                             # gyro x = 16 counts
    bus.clear_log()
    assert d.read() == OK
    assert bus.reads("lsm") == [(0x1D, 17)]                  # from 0x1D behind the address octet
    assert cs.levels[-2:] == [0, 1]
    assert d.gyro_urad_s[0] == (16 * 19548 + 32) >> 6


# ------------------------------------------------------------ cycle outcomes

def test_each_outcome_is_kept_in_status():
    bus, d = started()
    ready(bus, status=0x01)                                   # only XLDA
    assert d.read() == NOT_READY and d.status == NOT_READY
    ready(bus)
    assert d.read() == OK and d.status == OK
    ready(bus, status=0x08)                                   # a reserved bit set
    assert d.read() == INVALID and d.status == INVALID
    ready(bus, status=0xFF)                                   # floating bus
    assert d.read() == BUS_ERROR and d.status == BUS_ERROR
    bus.fail_next(0)
    assert d.read() == BUS_ERROR and d.status == BUS_ERROR


def test_reserved_status_bits_count_invalid_and_floating_bus_counts_bus_errors():
    bus, d = started()
    ready(bus, status=0x0B)
    d.read()
    d.read()
    assert (d.errors, d.invalid, d.bus_errors) == (2, 2, 0)
    ready(bus, status=0xFF)
    d.read()
    d.read()
    assert (d.errors, d.invalid, d.bus_errors) == (4, 2, 2)


def test_not_ready_cycles_are_counted():
    bus, d = started()
    ready(bus, status=0x02)
    d.read()
    d.read()
    assert (d.not_ready, d.errors) == (2, 0)


# ------------------------------------------------------------ configuration check

def test_the_configuration_is_read_back_before_reads_51_and_101():
    bus, d = started()
    ready(bus)
    checked = []
    for n in range(1, 110):
        before = len(config_reads(bus))
        assert d.read() == OK
        if len(config_reads(bus)) > before:
            checked.append(n)
    assert checked == [51, 101]            # the checking read is a good read too


def test_a_lost_configuration_found_by_the_check_is_rewritten_and_reported():
    bus, d = started()
    ready(bus)
    for _ in range(50):
        d.read()
    bus.map(ADDR)[CTRL2_G] = 0x50                             # 250 dps: FS lost
    assert d.read() == REINIT and d.status == REINIT
    assert bus.map(ADDR)[CTRL2_G] == 0x54
    assert drain_events() == [(EV_REINIT, 1)]
    assert d.resets == 1


def test_after_a_rewrite_the_next_check_is_50_good_reads_later():
    bus, d = started()
    ready(bus)
    for _ in range(50):
        d.read()
    bus.map(ADDR)[CTRL2_G] = 0x50
    assert d.read() == REINIT
    bus.clear_log()
    for _ in range(50):
        d.read()
    assert config_reads(bus) == []
    d.read()
    assert len(config_reads(bus)) == 1


def test_a_bus_error_during_the_check_is_counted_once():
    bus, d = started()
    ready(bus)
    for _ in range(50):
        d.read()
    bus.fail_next(0)
    assert d.read() == BUS_ERROR and d.status == BUS_ERROR
    assert (d.errors, d.bus_errors, d.resets) == (1, 1, 0)


# ------------------------------------------------------------ stuck part

def test_a_silent_configured_part_is_rewritten_on_the_5th_not_ready_read():
    bus, d = started()
    ready(bus, status=0x00)
    assert [d.read() for _ in range(5)] == [NOT_READY] * 5
    assert d.status == NOT_READY
    assert d.resets == 1 and drain_events() == [(EV_REINIT, 2)]
    # backed off: the next rewrite after 10 more
    assert [d.read() for _ in range(9)] == [NOT_READY] * 9 and d.resets == 1
    d.read()
    assert d.resets == 2


def test_a_bus_error_on_the_stuck_check_restarts_the_count():
    bus, d = started()
    ready(bus, status=0x00)
    for _ in range(4):
        d.read()
    bus.fail_next(1)                              # the 5th read's check
    assert d.read() == BUS_ERROR and d.resets == 0
    assert [d.read() for _ in range(4)] == [NOT_READY] * 4 and d.resets == 0
    d.read()
    assert d.resets == 1                                       # 5 more, not backed off


def test_a_stuck_part_whose_rewrite_fails_reports_the_failure():
    bus, d = started()
    ready(bus, status=0x00)
    for _ in range(4):
        d.read()
    bus.fail_next(2)                              # the rewrite's first write
    assert d.read() == BUS_ERROR
    assert (d.errors, d.bus_errors, d.reinit_failures, d.resets) == (1, 1, 1, 1)


def test_rewrite_bus_errors_are_counted_each():
    bus, d = started()
    ready(bus)
    for n in range(2):
        for _ in range(50):
            assert d.read() == OK
        bus.map(ADDR)[CTRL2_G] = 0x50
        bus.fail_next(2)                # check reads twice (mismatch confirmed), then the rewrite
        assert d.read() == BUS_ERROR
    assert (d.errors, d.bus_errors, d.reinit_failures) == (2, 2, 2)


def test_a_rewrite_that_does_not_take_is_invalid_with_the_registers_seen():
    bus, d = started()
    ready(bus)
    for _ in range(50):
        d.read()
    bus.map(ADDR)[CTRL2_G] = 0x50
    bus.on_write[(ADDR, CTRL2_G)] = lambda b, k, v: b.map(k).__setitem__(CTRL2_G, 0x51)
    assert d.read() == INVALID and d.status == INVALID
    assert (d.errors, d.reinit_failures, d.resets) == (1, 1, 1)
    assert drain_events() == [(EV_REINIT, 1), (EV_REINIT_FAIL, 0x5C | (0x51 << 8))]
    for _ in range(50):
        d.read()
    d.read()
    assert (d.errors, d.reinit_failures) == (2, 2)
