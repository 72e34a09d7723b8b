"""The bench (host_tools/emu/bench.py) and the host `machine` module
(host_tools/emu/machine.py) pinned value by value: pin levels, PWM clamps
and scaling, the watchdog's reset record, the bench's identity, and every
board's bench wired as its WIRING table says, each part on its bus with its
own fault stream. A wrong line here changes what the firmware reads on the
bench, so each behaviour has its own test (make mutate GROUP=emu)."""
from __future__ import annotations

import sys

import pytest

import host_tools  # noqa: F401
from host_tools.emu import bench as bench_mod
from host_tools.emu import machine as hm
from host_tools.emu.bench import Bench, PinState, PwmState, board_bench, board_wiring

BOARDS = ("sim", "pico", "esp32", "pyboard")


# --- pin levels: PinState.level ------------------------------------------------
def _pin(mode=bench_mod.PIN_IN, pull=None, out=0, ext=None):
    p = PinState(7)
    p.mode, p.pull, p.out, p.ext = mode, pull, out, ext
    return p


@pytest.mark.parametrize("mode,pull,out,ext,level", [
    (bench_mod.PIN_OUT, None, 1, 0, 1),            # an output reads what it drives
    (bench_mod.PIN_OUT, None, 0, 1, 0),
    (bench_mod.PIN_IN, None, 0, None, 0),          # floating input, no pull: 0
    (bench_mod.PIN_IN, bench_mod.PULL_UP, 0, None, 1),
    (bench_mod.PIN_IN, bench_mod.PULL_UP, 0, 0, 0),  # a driven level beats the pull
    (bench_mod.PIN_IN, None, 0, 5, 1),             # any true drive reads 1
    (bench_mod.PIN_OPEN_DRAIN, None, 0, 1, 0),     # open drain pulling low wins
    (bench_mod.PIN_OPEN_DRAIN, None, 1, None, 1),  # released: pulled up
    (bench_mod.PIN_OPEN_DRAIN, None, 1, 0, 0),     # released, driven low outside
])
def test_pin_level_follows_mode_drive_and_pull(mode, pull, out, ext, level):
    assert _pin(mode, pull, out, ext).level() == level


def test_pin_state_powers_up_as_an_undriven_input_named_after_its_pin():
    p = PinState("X9")
    assert (p.id, p.mode, p.pull, p.out, p.ext, p.ext_fn, p.irq) == ("X9", bench_mod.PIN_IN, None, 0,
                                                                  None, None, None)
    assert p.level() == 0 and repr(p) == "PinState('X9')"


def test_pin_level_asks_the_part_behind_the_pin():
    p = _pin(pull=bench_mod.PULL_UP)
    p.ext_fn = lambda: 0
    assert p.level() == 0
    p.ext_fn = lambda: None                        # the part does not drive: pull-up
    assert p.level() == 1


# --- PWM: PwmState ---------------------------------------------------------------
def test_pwm_state_powers_up_off_at_1_khz_with_no_writes():
    s = PwmState(14)
    assert (s.id, s.freq, s.duty_ns, s.enabled, s.writes, s.on_change) == (14, 1000, 0, False, 0, None)
    assert s.period_ns() == 1_000_000


@pytest.mark.parametrize("freq,period", [(1, 1_000_000_000), (50, 20_000_000), (3, 333_333_333)])
def test_pwm_period_is_the_whole_nanoseconds_of_one_frame(freq, period):
    s = PwmState(0)
    s.freq = freq
    assert s.period_ns() == period


@pytest.mark.parametrize("ns,duty", [(-5, 0), (0, 0), (1, 1), (1_000_000_000, 1_000_000_000),
                                     (1_000_000_001, 1_000_000_000), (2_500_000_000, 1_000_000_000)])
def test_pwm_duty_is_clamped_to_0_and_one_period(ns, duty):
    s = PwmState(0)
    s.freq = 1                                     # a 1 s frame: the period is exactly 10^9 ns
    s.set_duty_ns(ns)
    assert s.duty_ns == duty


def test_pwm_duty_is_truncated_to_whole_nanoseconds():
    s = PwmState(0)
    s.freq = 50
    s.set_duty_ns(1_500_000.9)
    assert s.duty_ns == 1_500_000


def test_pwm_counts_each_write_and_tells_the_part():
    s = PwmState(0)
    seen = []
    s.on_change = lambda: seen.append(s.duty_ns)
    for ns in (100, 200, 300):
        s.set_duty_ns(ns)
    assert s.writes == 3 and seen == [100, 200, 300]


@pytest.mark.parametrize("ns,u16", [(20_000_000, 65535), (10_000_000, 32767), (1_500_000, 4915), (0, 0)])
def test_pwm_duty_u16_is_the_floor_of_the_duty_fraction_of_65535(ns, u16):
    s = PwmState(0)
    s.freq = 50
    s.set_duty_ns(ns)
    assert s.duty_u16() == u16


# --- the bench ---------------------------------------------------------------------
def test_bench_identity_and_clocks_at_power_on():
    b = Bench(0x1234, "pico")
    assert (b.name, b.seed, b.now_s, b.cpu_hz) == ("pico", 0x1234, 0.0, 125_000_000)
    # the board's unique id: a fixed prefix, the seed's low byte last
    assert b.unique_id == bytes((0xE6, 0x60, 0x58, 0x38, 0x83, 0x2B, 0x1A, 0x34))
    assert b.rtc_datetime == (2026, 1, 1, 3, 0, 0, 0, 0)
    assert b.reset_cause == hm.PWRON_RESET and b.resets == []
    assert b.rtc_memory == bytearray() and b.rtc_memory_size == 2048


def test_bench_defaults_are_seed_0_named_bench():
    b = Bench()
    assert (b.seed, b.name) == (0, "bench") and b.unique_id[-1] == 0


def test_bench_registries_build_each_bus_once_on_the_bench_clock():
    b = Bench(0)
    assert b.pin(5) is b.pin(5) and b.pin(5).id == 5
    assert b.pwm(14) is b.pwm(14) and b.pwm(14).id == 14
    assert b.adc(28) is b.adc(28) and b.adc(28).id == 28
    i2c, spi, uart = b.i2c(1), b.spi(2), b.uart(3)
    assert (i2c.bus_id, spi.bus_id, uart.uart_id) == (1, 2, 3)
    assert i2c.clock is b and spi.clock is b and uart.clock is b
    assert (uart.rxbuf, uart.txbuf) == (512, 256)
    assert b.i2c(1) is i2c and b.spi(2) is spi and b.uart(3) is uart


def test_bench_gives_a_part_its_clock_and_ticks_it():
    b = Bench(0)

    class Part:
        clock = None
        ticks = []

        def tick(self, now_s):
            self.ticks.append(now_s)

    p = Part()
    b.add_part("p", p)
    b.add_part("p_again", p)                       # one part, ticked once
    assert p.clock is b and b.parts["p"] is p
    b.advance(0.5)
    assert p.ticks == [0.5]


def test_bench_records_one_watchdog_reset_at_the_expiry_time():
    b = Bench(0)
    b.wdt.start(100)
    b.advance(0.05)
    assert b.resets == [] and b.reset_cause == hm.PWRON_RESET
    b.advance(0.1)                                 # expired at 0.1 s
    b.advance(0.1)
    assert b.resets == [(pytest.approx(0.1), hm.WDT_RESET)] and b.reset_cause == hm.WDT_RESET


def test_bench_records_a_new_watchdog_reset_after_another_reset():
    b = Bench(0)
    b.hardware_reset(hm.HARD_RESET)                # another cause at t = 0
    b.wdt.start(100)
    b.advance(0.2)
    assert b.resets == [(0.0, hm.HARD_RESET), (pytest.approx(0.1), hm.WDT_RESET)]


def test_bench_without_a_started_watchdog_records_no_reset():
    b = Bench(0)
    b.advance(10.0)
    assert b.resets == [] and b.reset_cause == hm.PWRON_RESET


def test_hardware_reset_stops_pwm_floats_pins_and_loses_uart_input():
    b = Bench(0)
    pwm = b.pwm(14)
    pwm.enabled, pwm.freq = True, 50
    pwm.set_duty_ns(1_500_000)
    pin = b.pin(15)
    pin.mode, pin.pull, pin.out = bench_mod.PIN_OUT, bench_mod.PULL_UP, 1
    b.uart(1)._rx += b"abc"
    b.wdt.start(100)
    b.now_s = 2.5
    b.hardware_reset(hm.SOFT_RESET)
    assert b.resets == [(2.5, hm.SOFT_RESET)] and b.reset_cause == hm.SOFT_RESET
    assert (pwm.enabled, pwm.duty_ns) == (False, 0)
    assert (pin.mode, pin.pull, pin.out) == (bench_mod.PIN_IN, None, 0)
    assert b.uart(1)._rx == bytearray() and not b.wdt.started


def test_host_uart_write_reaches_the_part_at_the_bench_time():
    b = Bench(0)

    class Part:
        now_s = -1.0
        got = b""

        def uart_rx(self, data):
            self.got += data

    p = Part()
    b.uart(0).attach(p)
    b.now_s = 3.25
    assert b.uart(0).write(b"hi") == 2
    assert p.now_s == 3.25 and p.got == b"hi"


def test_host_uart_without_a_clock_writes_at_time_zero():
    u = bench_mod.HostUART(0, clock=None)

    class Part:
        now_s = -1.0

        def uart_rx(self, data):
            pass

    p = Part()
    u.attach(p)
    u.write(b"x")
    assert p.now_s == 0.0


# --- every board's bench follows its WIRING table -----------------------------------
_PART_ORDER = ("imu", "imu2_acc", "imu2_gyro", "baro", "altimeter", "rangefinder", "engine", "legs",
               "radio", "power", "attitude")


def _attached_on(b, w, entry):
    kind, bus_name, where = entry[0], entry[1], entry[2]
    bus_id = w["buses"][bus_name][1]
    if kind == "i2c":
        return b.i2cs[bus_id].devices[where]
    if kind == "spi":
        return dict((cs.id, dev) for cs, dev in b.spis[bus_id].devices)[where]
    return b.uarts[bus_id].device


@pytest.mark.parametrize("name", BOARDS)
def test_board_bench_attaches_each_part_where_the_wiring_says(name):
    w = board_wiring(name)
    b = board_bench(name, seed=2)
    for part in ("imu", "imu2_acc", "imu2_gyro", "baro", "altimeter", "rangefinder", "radio", "attitude"):
        if w.get(part):
            assert _attached_on(b, w, w[part]) is b.parts[part], part
        else:
            assert part not in b.parts, part
    for part in ("altimeter", "rangefinder", "attitude"):
        if w.get(part):
            assert b.parts[part].line.baudrate == w[part][2], part
    assert b.parts["radio"].up.baudrate == w["radio"][2]
    assert b.parts["wdt"] is b.wdt and b.parts["flash"] is b.flash
    assert (b.name, b.seed) == (name, 2)


@pytest.mark.parametrize("name", BOARDS)
def test_board_bench_gives_each_part_its_own_fault_stream_in_wiring_order(name):
    # seed * 1000 + k, k counting the parts built (the order below): a part's
    # noise and fault draws do not move when another part is added after it
    w = board_wiring(name)
    b = board_bench(name, seed=3)
    key = {"imu2_gyro": "imu2_acc", "engine": "throttle_pwm", "power": "power_adc"}
    by_value = ("engine", "power")                 # a pin number 0 is still wired
    present = [p for p in _PART_ORDER
               if (w.get(key.get(p, p)) is not None if p in by_value else w.get(key.get(p, p)))]
    seeds = [b.parts[p].faults.seed for p in present]
    assert seeds == [3000 + k for k in range(1, len(present) + 1)]


@pytest.mark.parametrize("name", BOARDS)
def test_board_bench_wires_engine_gimbal_arm_legs_cts_and_power(name):
    w = board_wiring(name)
    b = board_bench(name, seed=0, air_bps=1234.0)
    eng = b.parts["engine"]
    assert b.parts["gimbal"] is eng
    assert eng._thr is b.pwms[w["throttle_pwm"]] and eng._arm is b.pins[w["arm_pin"]]
    assert eng._gim is b.pwms[w["gimbal_pwm"]]
    assert b.pwms[w["throttle_pwm"]].on_change == eng._sample
    legs = b.parts["legs"]
    assert len(legs.contacts) == len(w["legs"])
    legs.contacts[1] = True
    b.pins[w["legs"][1]].pull = bench_mod.PULL_UP
    assert b.pins[w["legs"][1]].level() == 0      # a closed switch pulls its pin low
    b.pins[w["legs"][0]].pull = bench_mod.PULL_UP
    assert b.pins[w["legs"][0]].level() == 1      # an open one is not driven
    radio = b.parts["radio"]
    assert radio.air_bps == 1234.0
    cts = w["radio"][3] if len(w["radio"]) > 3 else None
    if cts is not None:
        assert b.pins[cts].ext_fn == radio.cts_level
    vref, rt, rb = w["power_divider"]
    pw = b.parts["power"]
    assert pw.vref_v == vref / 1000.0 and pw.ratio == rb / (rt + rb)
    assert b.adcs[w["power_adc"]].read_fn == pw.read_u16


def test_board_bench_without_a_gimbal_leaves_the_engine_without_one(monkeypatch):
    w = dict(board_wiring("sim"))
    w.pop("gimbal_pwm")
    monkeypatch.setattr(bench_mod, "board_wiring", lambda name: w)
    b = board_bench("sim")
    assert b.parts["engine"]._gim is None and b.pwms.keys() == {w["throttle_pwm"]}


def test_board_bench_without_a_divider_uses_100k_over_10k_at_3v3(monkeypatch):
    w = dict(board_wiring("sim"))
    w.pop("power_divider")
    monkeypatch.setattr(bench_mod, "board_wiring", lambda name: w)
    pw = board_bench("sim").parts["power"]
    assert pw.vref_v == 3.3 and pw.ratio == 10000 / 110000


def test_board_bench_radio_without_a_cts_pin_drives_no_pin(monkeypatch):
    w = dict(board_wiring("sim"))
    w["radio"] = w["radio"][:3]
    monkeypatch.setattr(bench_mod, "board_wiring", lambda name: w)
    b = board_bench("sim")
    assert all(p.ext_fn is None for p in b.pins.values() if p.id not in w["legs"])


def test_board_bench_defaults_seed_0_and_2000_bps_air_rate():
    b = board_bench("sim")
    assert b.seed == 0 and b.parts["radio"].air_bps == 2000.0
    s = bench_mod.sim_bench()
    assert s.seed == 0 and s.parts["radio"].air_bps == 2000.0 and s.name == "sim"
    assert bench_mod.sim_bench(5, 900.0).parts["radio"].air_bps == 900.0


def test_board_wiring_of_a_board_file_without_one_names_the_file(tmp_path, monkeypatch):
    (tmp_path / "bare").mkdir()
    (tmp_path / "bare" / "board.py").write_text("X = 1\nWIRING_NOT = {}\n")
    monkeypatch.setattr(host_tools, "BOARDS_DIR", str(tmp_path))
    with pytest.raises(KeyError, match=r"no WIRING in boards/bare/board\.py"):
        board_wiring("bare")


# --- the host machine module ---------------------------------------------------------
def test_machine_without_a_bench_says_how_to_install_one():
    hm.uninstall()
    with pytest.raises(RuntimeError, match=r"no bench installed \(host_tools\.emu\.machine\.install\)"):
        hm.Pin(1)


def test_install_and_uninstall_swap_the_machine_modules():
    b = Bench(0)
    try:
        assert hm.install(b) is hm
        assert sys.modules["machine"] is hm and sys.modules["umachine"] is hm
    finally:
        hm.uninstall()
    assert "machine" not in sys.modules and "umachine" not in sys.modules


def test_uninstall_leaves_another_machine_module_alone():
    other = type(sys)("machine")
    sys.modules["machine"] = other
    try:
        hm.uninstall()
        assert sys.modules["machine"] is other
    finally:
        del sys.modules["machine"]


def test_board_reset_carries_its_cause(bench):
    with pytest.raises(hm.BoardReset) as exc:
        hm.soft_reset()
    assert exc.value.cause == hm.SOFT_RESET and exc.value.args == (hm.SOFT_RESET,)
    assert bench.resets[-1] == (0.0, hm.SOFT_RESET)


def test_pin_init_sets_only_what_it_is_given(bench):
    p = hm.Pin(9, hm.Pin.OUT, hm.Pin.PULL_UP, value=1)
    s = bench.pin(9)
    assert (s.mode, s.pull, s.out) == (hm.Pin.OUT, hm.Pin.PULL_UP, 1)
    p.init(value=0)                                # mode and pull unchanged
    assert (s.mode, s.pull, s.out) == (hm.Pin.OUT, hm.Pin.PULL_UP, 0)
    p.init(None, None)                             # mode None: kept; pull None: no pull
    assert (s.mode, s.pull) == (hm.Pin.OUT, None)
    hm.Pin(9, value=0)
    assert s.out == 0 and s.mode == hm.Pin.OUT


def test_pin_writes_store_0_or_1(bench):
    p = hm.Pin(3, hm.Pin.OUT)
    p.value(7)
    assert bench.pin(3).out == 1
    p.on()
    assert bench.pin(3).out == 1
    p.value(0)
    assert bench.pin(3).out == 0
    p(5)
    assert bench.pin(3).out == 1
    assert repr(p) == "Pin(3)"


def test_pin_irq_records_handler_and_trigger(bench):
    p = hm.Pin(3)
    p.irq(print, hm.Pin.IRQ_FALLING)
    assert bench.pin(3).irq == (print, hm.Pin.IRQ_FALLING)
    p.irq()
    assert bench.pin(3).irq == (None, 0)


def test_buses_record_their_pins_and_settings(bench):
    i2c = hm.I2C(1, scl=hm.Pin(5), sda=hm.Pin(4), freq=100_000)
    assert (i2c.id, i2c.scl, i2c.sda, i2c.freq) == (1, 5, 4, 100_000)
    assert (hm.I2C().id, hm.I2C().freq) == (0, 400_000)
    spi = hm.SPI(2, 8_000_000, sck=hm.Pin(18), mosi=hm.Pin(23), miso=hm.Pin(19))
    assert (spi.id, spi.baudrate, spi.polarity, spi.phase, spi.pins) == (2, 8_000_000, 0, 0, (18, 23, 19))
    assert (hm.SPI().id, hm.SPI().baudrate) == (0, 1_000_000)
    u = hm.UART(3, 57600, tx=hm.Pin(0), rx=hm.Pin(1))
    assert (u.id, u.tx, u.rx, bench.uart(3).baudrate) == (3, 0, 1, 57600)
    hm.UART(4)
    assert bench.uart(4).baudrate == 9600
    u.init(115200)
    assert bench.uart(3).baudrate == 115200
    u.init()
    assert bench.uart(3).baudrate == 9600


def test_bus_methods_reach_the_bench_bus_each_call(bench):
    u = hm.UART(2)
    assert u.write(b"ab") == 2 and u.write(b"c") == 1
    assert bytes(bench.uart(2).tx_log) == b"abc"
    assert u.baudrate == 9600                       # a value is read through each time
    bench.uart(2).baudrate = 300
    assert u.baudrate == 300


def test_pwm_api_scales_and_refuses_like_the_port(bench):
    pwm = hm.PWM(hm.Pin(14), freq=50, duty_u16=65535)
    s = bench.pwm(14)
    assert s.enabled and pwm.freq() == 50 and s.duty_ns == 20_000_000
    pwm.duty_u16(0)
    assert s.duty_ns == 0 and pwm.duty_u16() == 0
    pwm.freq(1)
    pwm.freq(62_500_000)
    assert pwm.freq() == 62_500_000
    for bad in (0, 62_500_001):
        with pytest.raises(ValueError, match="freq out of range"):
            pwm.freq(bad)
    pwm.freq(50)
    for bad in (-1, 65536):
        with pytest.raises(ValueError, match="duty_u16 out of range"):
            pwm.duty_u16(bad)
    pwm.duty_u16(65535)
    assert s.duty_ns == 20_000_000
    with pytest.raises(ValueError, match="duty_ns out of range"):
        pwm.duty_ns(-1)
    pwm.duty_ns(0)
    assert pwm.duty_ns() == 0
    pwm.init(freq=100, duty_ns=2_000_000)
    assert (s.freq, s.duty_ns, s.enabled) == (100, 2_000_000, True)
    writes = s.writes
    pwm.deinit()
    assert (s.enabled, s.duty_ns, s.writes) == (False, 0, writes + 1)


def test_rtc_datetime_set_and_read_and_memory_bound(bench):
    rtc = hm.RTC()
    assert rtc.datetime() == (2026, 1, 1, 3, 0, 0, 0, 0)
    assert rtc.datetime([2027, 2, 3, 4, 5, 6, 7, 8]) is None
    assert rtc.datetime() == (2027, 2, 3, 4, 5, 6, 7, 8)
    assert rtc.memory(bytes(2048)) is None
    assert rtc.memory() == bytes(2048)
    with pytest.raises(ValueError, match="RTC memory too long"):
        rtc.memory(bytes(2049))


def test_machine_module_functions(bench):
    assert hm.freq() == 125_000_000
    assert hm.freq(48_000_000) is None and hm.freq() == 48_000_000
    assert hm.idle() is None and hm.disable_irq() == 0 and hm.enable_irq(0) is None
    hm.lightsleep(250)
    assert bench.now_s == pytest.approx(0.25)
    hm.lightsleep()
    hm.lightsleep(0)
    assert bench.now_s == pytest.approx(0.25)
    with pytest.raises(hm.BoardReset) as exc:
        hm.reset()
    assert exc.value.cause == hm.HARD_RESET and hm.reset_cause() == hm.HARD_RESET


# --- the same, on wirings unlike the boards' own (a default cannot stand in) ------------
def _bench_with(monkeypatch, **changes):
    w = dict(board_wiring("sim"), **changes)
    monkeypatch.setattr(bench_mod, "board_wiring", lambda name: w)
    return board_bench("sim"), w


def test_board_bench_uart_parts_take_the_wiring_baudrate(monkeypatch):
    b, _ = _bench_with(monkeypatch, altimeter=("uart", "uart1", 9600), rangefinder=("uart", "uart2", 19200),
                       attitude=("uart", "uart3", 38400), radio=("uart", "uart0", 4800, 2))
    assert b.parts["altimeter"].line.baudrate == 9600
    assert b.parts["rangefinder"].line.baudrate == 19200
    assert b.parts["attitude"].line.baudrate == 38400
    assert b.parts["radio"].up.baudrate == 4800


def test_board_bench_legs_count_follows_the_wiring(monkeypatch):
    b, _ = _bench_with(monkeypatch, legs=(6, 7, 10))
    assert len(b.parts["legs"].contacts) == 3


def test_board_bench_power_divider_follows_the_wiring(monkeypatch):
    b, _ = _bench_with(monkeypatch, power_divider=(5000, 47000, 4700))
    pw = b.parts["power"]
    assert pw.vref_v == 5.0 and pw.ratio == 4700 / (47000 + 4700)


@pytest.mark.parametrize("part,gone", [("imu", ("imu",)), ("imu2_acc", ("imu2_acc", "imu2_gyro")),
                                       ("baro", ("baro",))])
def test_board_bench_builds_no_part_the_wiring_leaves_out(monkeypatch, part, gone):
    b, _ = _bench_with(monkeypatch, **{part: None})
    assert not set(gone) & set(b.parts)


def test_board_wiring_missing_names_the_board_file_exactly(tmp_path, monkeypatch):
    (tmp_path / "bare").mkdir()
    (tmp_path / "bare" / "board.py").write_text("X = 1\n")
    monkeypatch.setattr(host_tools, "BOARDS_DIR", str(tmp_path))
    with pytest.raises(KeyError) as exc:
        board_wiring("bare")
    assert exc.value.args == ("no WIRING in boards/bare/board.py",)


def test_load_board_registers_the_board_module_under_its_name():
    b = board_bench("sim")
    sys.modules.pop("board_sim", None)         # not an earlier test's module
    try:
        board = bench_mod.load_board("sim", b)
        mod = sys.modules["board_sim"]
        assert mod.__file__ == bench_mod._board_path("sim") and board is not None
        assert callable(mod.make_board)
    finally:
        hm.uninstall()


# --- messages and clocks of the host machine, exactly ----------------------------------------
def test_machine_error_messages_are_exact(bench):
    pwm = hm.PWM(hm.Pin(14), freq=50)
    for call, arg, msg in ((pwm.freq, 0, "freq out of range"), (pwm.duty_u16, 65536, "duty_u16 out of range"),
                           (pwm.duty_ns, -1, "duty_ns out of range"),
                           (hm.RTC().memory, bytes(2049), "RTC memory too long")):
        with pytest.raises(ValueError) as exc:
            call(arg)
        assert exc.value.args == (msg,)
    hm.uninstall()
    with pytest.raises(RuntimeError) as exc:
        hm.Pin(1)
    assert exc.value.args == ("host machine: no bench installed (host_tools.emu.machine.install)",)


def test_pwm_init_sets_duty_u16_too(bench):
    pwm = hm.PWM(hm.Pin(14), freq=50)
    pwm.init(freq=50, duty_u16=65535)
    assert bench.pwm(14).duty_ns == 20_000_000


def test_ticks_are_the_bench_microseconds_and_follow_every_change(bench):
    from lander import compat              # the module install() drove (a test may re-import it)
    bench.now_s = 5e-6
    assert compat.ticks_us() == 5
    bench.now_s = 5.0                      # seconds equal to the last microseconds: still converted
    assert compat.ticks_us() == 5_000_000
    bench.now_s = 0.123456
    assert compat.ticks_us() == 123_456
    assert compat.ticks_us() == 123_456


def test_uninstall_gives_the_firmware_its_own_clock_back():
    from lander import _hostcompat
    b = Bench(0)
    hm.install(b)
    assert _hostcompat._clock_us is not None
    hm.uninstall()
    assert _hostcompat._clock_us is None


def test_flash_open_defaults_to_read_only(bench):
    with hm.flash_open("/f.bin", "w") as f:
        f.write(b"abc")
    f = hm.flash_open("/f.bin")
    assert f.read() == b"abc"
    with pytest.raises(OSError):
        f.write(b"x")
