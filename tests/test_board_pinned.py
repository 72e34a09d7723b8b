"""The board construction shared by every boards/<name>/board.py
(firmware/lander/board.py) pinned with recording fakes in place of the port's
machine classes and of the drivers: which bus gets which pins, every SPI chip
select driven high before any part is spoken to, each driver's arguments and
defaults, a part that fails at start-up recorded and posted, the watchdog
started once. In the fw-board mutation group (docs/mutation.md)."""
import pytest

from lander import board as bd
from lander.events import events
from tests.app_fakes import fresh_event_ring  # noqa: F401

pytestmark = pytest.mark.usefixtures("fresh_event_ring")


class _Log:
    def __init__(self):
        self.calls = []


LOG = _Log()


def _recorder(kind):
    class _Rec:
        OUT = 1
        IN = 0
        PULL_UP = 7

        def __init__(self, *args, **kw):
            self.kind = kind
            self.args = args
            self.kw = kw
            LOG.calls.append((kind, args, kw))

        def enable(self):
            LOG.calls.append((kind + ".enable", (), {}))
    _Rec.__name__ = kind
    return _Rec


@pytest.fixture(autouse=True)
def _fresh_log(monkeypatch):
    LOG.calls = []
    # each builder imports its driver class from the driver's module when it
    # runs (lander/board.py), so the recorders stand in there
    for module, name in (("lsm6dsox", "Lsm6dsox"), ("bmi088", "Bmi088"), ("bmp390", "Bmp390"),
                         ("laser_altimeter", "LaserAltimeter"), ("tfluna", "TfLuna"),
                         ("engine", "Engine"), ("attitude", "AttitudeUnit"), ("legs", "Legs"),
                         ("radio", "Radio"), ("power", "Power"), ("storage", "Storage")):
        monkeypatch.setattr("lander.drivers.%s.%s" % (module, name), _recorder(name))
    yield


Pin = _recorder("Pin")
PWM = _recorder("PWM")
ADC = _recorder("ADC")


def _calls(kind):
    return [(a, k) for c, a, k in LOG.calls if c == kind]


# ------------------------------------------------------------ make_buses

def test_make_buses_builds_each_kind_with_its_id_and_pins_as_pin_objects():
    I2C, SPI, UART = _recorder("I2C"), _recorder("SPI"), _recorder("UART")
    table = {"i2c0": ("i2c", 0, {"scl": 5, "sda": 4, "freq": 400000}),
             "spi1": ("spi", 1, {"sck": 10, "mosi": 11, "miso": 12, "baudrate": 8000000}),
             "uart1": ("uart", 1, {"tx": 8, "rx": 9, "baudrate": 115200})}
    buses = bd.make_buses(table, I2C, SPI, UART, Pin)
    assert sorted(buses) == ["i2c0", "spi1", "uart1"]
    i2c, spi, uart = buses["i2c0"], buses["spi1"], buses["uart1"]
    assert (i2c.kind, i2c.args, spi.kind, spi.args, uart.kind, uart.args) == \
        ("I2C", (0,), "SPI", (1,), "UART", (1,))
    assert i2c.kw["freq"] == 400000 and spi.kw["baudrate"] == 8000000 and uart.kw["baudrate"] == 115200
    assert [(k, v.args) for k, v in sorted(i2c.kw.items()) if k != "freq"] == [("scl", (5,)), ("sda", (4,))]
    assert [(k, v.args) for k, v in sorted(spi.kw.items()) if k != "baudrate"] == \
        [("miso", (12,)), ("mosi", (11,)), ("sck", (10,))]
    assert [(k, v.args) for k, v in sorted(uart.kw.items()) if k != "baudrate"] == [("rx", (9,)), ("tx", (8,))]


def test_make_buses_hands_the_pins_the_port_takes_as_numbers_as_numbers():
    UART = _recorder("UART")
    buses = bd.make_buses({"u": ("uart", 2, {"tx": 17, "rx": 16})}, None, None, UART, Pin,
                          pin_numbers=("tx", "rx"))
    assert buses["u"].kw == {"tx": 17, "rx": 16}
    assert _calls("Pin") == []


def test_make_buses_refuses_an_unknown_kind_naming_the_bus():
    with pytest.raises(ValueError, match=r"^bus can0: kind can$"):
        bd.make_buses({"can0": ("can", 0, {})}, None, None, None, Pin)


# ------------------------------------------------------------ build_drivers

WIRING = {
    "imu": ("spi", "spi0", 17),
    "imu2_acc": ("spi", "spi0", 20),
    "imu2_gyro": ("spi", "spi0", 21),
    "baro": ("i2c", "i2c0", 0x77),
    "altimeter": ("uart", "uart1"),
    "rangefinder": ("uart", "uart2"),
    "throttle_pwm": 2,
    "gimbal_pwm": 3,
    "arm_pin": 6,
    "attitude": ("uart", "uart3"),
    "legs": (10, 11, 12, 13),
    "radio": ("uart", "uart0", 57600, 9),
    "power_adc": 26,
    "storage": "/bb.bin",
}
BUSES = {"spi0": "SPI0", "i2c0": "I2C0", "uart0": "U0", "uart1": "U1", "uart2": "U2", "uart3": "U3"}


def _build(wiring=WIRING, **kw):
    b = bd.Board("test")
    return bd.build_drivers(b, wiring, BUSES, Pin, PWM, ADC, **kw)


def test_every_spi_chip_select_is_driven_high_before_any_part_is_built():
    _build()
    kinds = [c[0] for c in LOG.calls]
    first_driver = min(i for i, k in enumerate(kinds) if k not in ("Pin", "PWM", "ADC"))
    assert LOG.calls[:3] == [("Pin", (17, 1), {"value": 1}), ("Pin", (20, 1), {"value": 1}),
                             ("Pin", (21, 1), {"value": 1})]
    assert first_driver == 3


def test_spi_parts_get_their_bus_and_chip_select_and_no_address():
    b = _build()
    imu_args, imu_kw = _calls("Lsm6dsox")[0]
    assert imu_args == ("SPI0", 0x6A) and imu_kw["cs"].args == (17, 1)
    (acc_bus, gyro_bus), kw = _calls("Bmi088")[0]
    assert (acc_bus, gyro_bus, kw["acc_addr"], kw["gyro_addr"]) == ("SPI0", "SPI0", 0x18, 0x68)
    assert kw["acc_cs"].args == (20, 1) and kw["gyro_cs"].args == (21, 1)
    assert b.imu is not None and b.imu2 is not None


def test_i2c_parts_get_the_address_wired_or_the_datasheet_default():
    w = dict(WIRING, imu=("i2c", "i2c0", 0x6B), imu2_acc=("i2c", "i2c0", None),
             imu2_gyro=("i2c", "i2c0", 0x69))
    _build(w)
    assert _calls("Pin")[0:1] != [((17, 1), {"value": 1})]
    args, kw = _calls("Lsm6dsox")[0]
    assert args == ("I2C0", 0x6B) and kw["cs"] is None
    _, kw = _calls("Bmi088")[0]
    assert (kw["acc_addr"], kw["gyro_addr"], kw["acc_cs"], kw["gyro_cs"]) == (0x18, 0x69, None, None)
    LOG.calls = []
    _build(dict(w, imu2_acc=("i2c", "i2c0", 0x19)))
    assert _calls("Bmi088")[0][1]["acc_addr"] == 0x19      # SDO1 high: the other address
    w2 = dict(w, imu=("i2c", "i2c0", None))
    LOG.calls = []
    _build(w2)
    assert _calls("Lsm6dsox")[0][0] == ("I2C0", 0x6A)


def test_the_uart_and_i2c_parts_get_their_bus_and_the_altimeter_is_enabled():
    b = _build()
    assert _calls("Bmp390") == [(("I2C0", 0x77), {})]
    assert _calls("LaserAltimeter") == [(("U1",), {})]
    assert _calls("LaserAltimeter.enable") == [((), {})]
    assert _calls("TfLuna") == [(("U2",), {})]
    assert _calls("AttitudeUnit") == [(("U3",), {})]
    assert b.altimeter is not None and b.rangefinder is not None and b.attitude is not None


def test_the_engine_gets_its_throttle_gimbal_and_arm_pins():
    _build()
    (thr, arm, gim), kw = _calls("Engine")[0]
    assert thr.kind == "PWM" and thr.args[0].args == (2,)
    assert gim.kind == "PWM" and gim.args[0].args == (3,)
    assert arm.kind == "Pin" and arm.args == (6, 1) and kw == {}


def test_an_engine_without_a_gimbal_gets_none_for_it():
    w = dict(WIRING)
    del w["gimbal_pwm"]
    _build(w)
    (_, _, gim), _ = _calls("Engine")[0]
    assert gim is None


def test_throttle_on_pin_zero_is_still_an_engine():
    _build(dict(WIRING, throttle_pwm=0, power_adc=0))
    assert len(_calls("Engine")) == 1 and len(_calls("Power")) == 1


def test_legs_are_inputs_with_pull_ups_in_the_order_wired():
    _build()
    (pins,), _ = _calls("Legs")[0]
    assert [p.args for p in pins] == [(10, 0, 7), (11, 0, 7), (12, 0, 7), (13, 0, 7)]


def test_the_radio_gets_its_baud_rate_cycle_period_and_clear_to_send_pin():
    _build(rate_hz=40)
    (bus,), kw = _calls("Radio")[0]
    assert bus == "U0" and kw["baudrate"] == 57600 and kw["period_us"] == 25000
    assert kw["cts"].args == (9, 0)


@pytest.mark.parametrize("radio", [("uart", "uart0", 9600), ("uart", "uart0", 9600, None)])
def test_a_radio_without_a_clear_to_send_pin_gets_none(radio):
    _build(dict(WIRING, radio=radio))
    _, kw = _calls("Radio")[0]
    assert kw["cts"] is None and kw["period_us"] == 20000


def test_the_power_monitor_reads_its_adc_pin_through_the_divider_wired_or_the_default():
    _build()
    (adc,), kw = _calls("Power")[0]
    assert adc.kind == "ADC" and adc.args[0].args == (26,)
    assert kw == {"vref_mv": 3300, "r_top": 100000, "r_bottom": 10000}
    LOG.calls = []
    _build(dict(WIRING, power_divider=(3000, 47000, 4700)))
    assert _calls("Power")[0][1] == {"vref_mv": 3000, "r_top": 47000, "r_bottom": 4700}


def test_storage_gets_its_path_a_batch_of_8_and_the_opener():
    def opener(path, mode):
        return None
    b = _build(opener=opener)
    assert _calls("Storage") == [(("/bb.bin",), {"batch": 8, "opener": opener})]
    assert b.opener is opener


def test_without_an_opener_the_board_opens_files_with_open():
    b = _build()
    assert b.opener is open


@pytest.mark.parametrize("unwired", [None, False, (), ""])
def test_a_part_wired_none_false_or_empty_is_not_built(unwired):
    keys = ("imu", "imu2_acc", "imu2_gyro", "baro", "altimeter", "rangefinder", "throttle_pwm", "attitude", "legs",
            "radio", "power_adc", "storage")
    b = _build(dict(WIRING, **{k: unwired for k in keys}))
    assert LOG.calls == []
    assert [p for p, built in b.summary() if built] == []


def test_unwired_parts_are_not_built_and_stay_none():
    b = _build({})
    assert LOG.calls == []
    assert [p for p, built in b.summary() if built] == []


def test_the_ready_event_counts_the_parts_built():
    events.count = 0
    b = _build()
    built = [p for p, ok in b.summary() if ok]
    assert len(built) == 11 and b.failed == []
    out = [0, 0, 0]
    last = None
    while events.pop_into(out):
        last = list(out)
    assert last[1:] == [bd.EV_BOARD_READY, 11]


def test_a_part_that_fails_at_start_up_is_recorded_posted_and_left_none(monkeypatch):
    def broken(*a, **k):
        raise OSError("no ACK at 0x77")
    monkeypatch.setattr("lander.drivers.bmp390.Bmp390", broken)
    b = _build()
    assert b.baro is None and b.failed == [("baro", "no ACK at 0x77")]
    out = [0, 0, 0]
    seen = []
    while events.pop_into(out):
        seen.append(tuple(out[1:]))
    assert (bd.EV_BOARD_PART_FAILED, bd.PARTS.index("baro")) in seen
    assert seen[-1] == (bd.EV_BOARD_READY, 10)


def test_a_part_outside_the_part_list_fails_with_index_minus_one():
    b = bd.Board("t")

    def boom():
        raise ValueError("x")
    assert b.part("gizmo", boom) is None and b.gizmo is None
    out = [0, 0, 0]
    assert events.pop_into(out) and out[1:] == [bd.EV_BOARD_PART_FAILED, -1]


def test_part_returns_and_sets_what_it_built():
    b = bd.Board("t")
    assert b.part("imu", lambda: 42) == 42 and b.imu == 42 and b.failed == []


# ------------------------------------------------------------ Board, Watchdog

def test_a_new_board_has_no_part_a_stopped_watchdog_and_no_reset_hooks():
    b = bd.Board("pico")
    assert b.name == "pico"
    assert b.summary() == [(p, False) for p in bd.PARTS]
    assert (b.rtc, b.opener, b.reset_cause, b.reset_fn, b.arm_input) == (None, None, 0, None, None)
    assert b.failed == [] and b.buses == {}
    assert not b.wdt.running and b.wdt.timeout_ms == 0


def test_set_reset_and_set_rtc_keep_what_the_board_hands_in():
    b = bd.Board("esp32")
    b.set_reset(print, 3)
    b.set_rtc("RTC")
    assert (b.reset_fn, b.reset_cause, b.rtc) == (print, 3, "RTC")


def test_the_watchdog_starts_once_with_its_timeout_and_counts_feeds_only_when_running():
    made = []

    class WDT:
        def __init__(self, timeout):
            made.append(timeout)
            self.fed = 0

        def feed(self):
            self.fed += 1
    w = bd.Watchdog(WDT, 1500)
    w.feed()
    assert w.feeds == 0 and not w.running
    w.start()
    w.start()
    assert made == [1500] and w.running
    w.feed()
    w.feed()
    assert w.feeds == 2 and w._wdt.fed == 2


def test_a_watchdog_without_a_port_class_never_runs():
    w = bd.Watchdog(None, 1000)
    w.start()
    w.feed()
    assert not w.running and w.feeds == 0


def test_the_parts_list_is_the_board_attributes_in_telemetry_order():
    assert bd.PARTS == ("imu", "imu2", "altimeter", "rangefinder", "baro", "engine", "legs",
                        "radio", "power", "storage", "attitude")
    assert (bd.EV_BOARD_PART_FAILED, bd.EV_BOARD_READY) == (0x01F0, 0x01F1)


def test_a_part_whose_driver_module_is_not_on_the_board_fails_like_a_broken_part(monkeypatch):
    # deploy leaves out the driver of a part the board's WIRING does not
    # list; should a WIRING list it anyway, the missing module is that
    # part's start-up failure, not the board's
    import sys
    monkeypatch.setitem(sys.modules, "lander.drivers.tfluna", None)   # import raises ImportError
    b = _build()
    assert b.rangefinder is None and [p for p, _ in b.failed] == ["rangefinder"]
    assert b.imu is not None
