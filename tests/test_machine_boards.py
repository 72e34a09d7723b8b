"""Host `machine` module, the bench, and every boards/<name>/board.py on it."""
from __future__ import annotations

import pytest

import host_tools  # noqa: F401
from host_tools.emu import machine as hm
from host_tools.emu.bench import board_bench, board_wiring, load_board, sim_bench
from lander.compat import ticks_diff, ticks_us
from lander.drivers import DISABLED, NOT_READY, OK

BOARDS = ("sim", "pico", "esp32", "pyboard")
SIM_PARTS = ("imu", "imu2_acc", "imu2_gyro", "altimeter", "rangefinder", "baro", "engine",
             "gimbal", "legs", "radio", "power", "wdt", "flash")


def _expected_parts(name):
    """Board attributes a board's WIRING promises (None where it lacks the part)."""
    w = board_wiring(name)
    parts = {"imu": "imu", "imu2": "imu2_acc", "altimeter": "altimeter",
             "rangefinder": "rangefinder", "baro": "baro", "engine": "throttle_pwm",
             "legs": "legs", "radio": "radio", "power": "power_adc", "storage": "storage"}
    return {attr: w.get(key) is not None for attr, key in parts.items()}


@pytest.mark.parametrize("name", BOARDS)
def test_board_imports_on_host_and_constructs_every_driver(name):
    bench = board_bench(name, seed=1)
    try:
        board = load_board(name, bench)
        assert board.failed == []
        for attr, present in _expected_parts(name).items():
            assert (getattr(board, attr) is not None) == present, attr
        assert board.wdt is not None and not board.wdt.running
    finally:
        hm.uninstall()


def test_sim_bench_has_every_part_wired_as_the_sim_board_expects():
    bench = sim_bench(seed=0)
    assert set(SIM_PARTS) <= set(bench.parts)
    assert bench.parts["gimbal"] is bench.parts["engine"]
    w = board_wiring("sim")
    assert bench.uarts[w["buses"]["uart1"][1]].device is bench.parts["altimeter"]
    assert bench.i2cs[0].devices[0x6A] is bench.parts["imu"]


def test_sim_board_flies_its_uart_parts_on_the_bench():
    bench = sim_bench(seed=0)
    try:
        board = load_board("sim", bench)
        bench.parts["altimeter"].range_m = 5000.0
        bench.parts["rangefinder"].distance_m = 2.0
        sts = []
        for _ in range(20):
            bench.advance(0.02)
            sts.append(board.altimeter.read())
            board.rangefinder.read()
        assert sts[0] == DISABLED and OK in sts
        assert board.altimeter.range_mm == 5_000_000 and board.rangefinder.distance_mm == 2000
        board.engine.arm()
        board.engine.set_throttle(16384)
        assert bench.parts["engine"].throttle_cmd == pytest.approx(0.5, abs=1e-4)
        bench.parts["legs"].contacts[0] = True
        for _ in range(3):
            board.legs.update()
        assert board.legs.count == 1
        bench.parts["power"].voltage_v = 27.0
        assert abs(board.power.read() - 27000) < 20
        board.radio.write(b"hello")
        for _ in range(5):
            bench.advance(0.02)
            board.radio.service()
        assert bytes(bench.parts["radio"].downlink) == b"hello"
        board.storage.append(b"rec")
        board.storage.flush()
        assert len(bench.flash.files["/blackbox.bin"]) == 64
    finally:
        hm.uninstall()


# --- machine module -----------------------------------------------------------
def test_install_makes_import_machine_resolve_to_the_bench(bench):
    import machine
    assert machine is hm and machine.Pin(3).value() == 0
    assert machine.unique_id() == bench.unique_id and machine.freq() == 125_000_000


def test_ticks_follow_the_bench_clock(bench):
    t0 = ticks_us()
    bench.advance(0.25)
    assert ticks_diff(ticks_us(), t0) == 250_000


def test_pin_pull_and_external_drive(bench):
    p = hm.Pin(4, hm.Pin.IN, hm.Pin.PULL_UP)
    assert p.value() == 1
    bench.pin(4).ext = 0
    assert p.value() == 0
    o = hm.Pin(5, hm.Pin.OUT, value=1)
    assert o.value() == 1 and bench.pin(5).out == 1
    o.off()
    assert o() == 0


def test_pwm_duty_ns_and_u16_agree(bench):
    pwm = hm.PWM(hm.Pin(14), freq=50, duty_ns=1_500_000)
    assert pwm.duty_u16() == 1_500_000 * 65535 // 20_000_000
    pwm.duty_u16(32768)
    assert pwm.duty_ns() == 32768 * 20_000_000 // 65535
    with pytest.raises(ValueError):
        pwm.duty_u16(70000)


def test_uart_bytes_arrive_at_the_line_rate(bench):
    from host_tools.emu.tfluna import TfLunaEmu
    emu = TfLunaEmu()
    bench.uart(2).attach(emu)
    emu.distance_m = 1.0
    u = hm.UART(2, baudrate=115200, tx=hm.Pin(20), rx=hm.Pin(21))
    bench.advance(0.0105)                 # one frame at 10 ms + 9 bytes * 86.8 us
    assert u.any() == 5
    bench.advance(0.001)
    assert u.any() == 9


def test_watchdog_expires_when_not_fed(bench):
    wdt = hm.WDT(timeout=100)
    for _ in range(10):
        bench.advance(0.05)
        wdt.feed()
    assert not bench.wdt.expired
    bench.advance(0.15)
    assert bench.wdt.expired and bench.reset_cause == hm.WDT_RESET
    assert bench.wdt.expired_at_s == pytest.approx(0.6)


def test_board_watchdog_starts_on_first_use(bench):
    from lander.board import Watchdog
    w = Watchdog(hm.WDT, 200)
    w.feed()
    assert not bench.wdt.started
    w.start()
    bench.advance(0.3)
    assert bench.wdt.expired


def test_rtc_memory_survives_a_reset(bench):
    hm.RTC().memory(b"checkpoint")
    with pytest.raises(hm.BoardReset):
        hm.reset()
    assert hm.reset_cause() == hm.HARD_RESET
    assert hm.RTC().memory() == b"checkpoint"
    with pytest.raises(ValueError):
        hm.RTC().memory(bytes(4096))


def test_adc_unwired_reads_zero_and_wired_reads_part(bench):
    assert hm.ADC(hm.Pin(26)).read_u16() == 0
    bench.adc(27).read_fn = lambda: 1234
    assert hm.ADC(27).read_u16() == 1234


def test_i2c_missing_device_raises_oserror(bench):
    with pytest.raises(OSError):
        hm.I2C(0, scl=hm.Pin(5), sda=hm.Pin(4)).readfrom_mem(0x50, 0, 1)


def test_altimeter_on_board_bench_not_ready_between_frames():
    bench = sim_bench(seed=0)
    try:
        board = load_board("sim", bench)
        bench.parts["altimeter"].range_m = 100.0
        sts = []
        for _ in range(30):
            bench.advance(0.02)
            sts.append(board.altimeter.read())
        assert NOT_READY in sts[10:] and OK in sts[10:]
    finally:
        hm.uninstall()


def test_make_buses_passes_each_wiring_option_and_pins_as_the_port_wants():
    from lander.board import make_buses

    made = []

    def recorder(kind):
        def ctor(bus_id, **kw):
            made.append((kind, bus_id, kw))
            return (kind, bus_id)
        return ctor

    def pin(n):
        return ("Pin", n)

    table = {"i2c0": ("i2c", 0, {"scl": 5, "sda": 4, "freq": 400000}),
             "spi2": ("spi", 2, {"sck": 18, "mosi": 23, "miso": 19, "baudrate": 8000000, "phase": 0}),
             "uart1": ("uart", 1, {"tx": 4, "rx": 36, "baudrate": 57600, "txbuf": 256})}
    buses = make_buses(table, recorder("i2c"), recorder("spi"), recorder("uart"), pin, pin_numbers=("tx", "rx"))
    assert buses == {"i2c0": ("i2c", 0), "spi2": ("spi", 2), "uart1": ("uart", 1)}
    assert made == [
        ("i2c", 0, {"scl": ("Pin", 5), "sda": ("Pin", 4), "freq": 400000}),
        ("spi", 2, {"sck": ("Pin", 18), "mosi": ("Pin", 23), "miso": ("Pin", 19), "baudrate": 8000000, "phase": 0}),
        ("uart", 1, {"tx": 4, "rx": 36, "baudrate": 57600, "txbuf": 256})]
    with pytest.raises(ValueError, match="can0"):
        make_buses({"can0": ("can", 0, {})}, None, None, None, pin)
