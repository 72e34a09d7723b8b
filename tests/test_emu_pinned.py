"""Emulators pinned value by value: each test names one behaviour of the real
part (datasheet) and the value it must produce; written to kill the mutants
`make mutate GROUP=emu` left alive."""
from fractions import Fraction

import pytest

from host_tools.emu.bus import Faults
from host_tools.emu.legs import LegsEmu
from host_tools.emu.power import PowerEmu
from host_tools.emu.wdt import WdtEmu


class _Clock:
    def __init__(self, now_s=0.0):
        self.now_s = now_s


# --- legs: pull-up inputs, a closed switch pulls the pin to 0 ------------------
def test_legs_open_switch_is_not_driven_closed_switch_reads_zero():
    emu = LegsEmu(3)
    emu.contacts[1] = True
    assert [emu.level(i) for i in range(3)] == [None, 0, None]


def test_legs_stuck_freezes_the_levels_seen_when_the_fault_began():
    emu = LegsEmu(2, faults=Faults(stuck=True))
    emu.contacts[0] = True
    assert emu.level(0) == 0
    emu.contacts[:] = [False, True]                       # the feet move, the switches do not
    assert [emu.level(0), emu.level(1)] == [0, None]


def test_legs_freeze_is_released_and_retaken_when_stuck_clears_and_returns():
    emu = LegsEmu(1, faults=Faults(stuck=True))
    assert emu.level(0) is None
    emu.faults.stuck = False
    emu.contacts[0] = True
    assert emu.level(0) == 0                              # live again
    emu.faults.stuck = True
    assert emu.level(0) == 0                              # frozen again, at the new level
    emu.contacts[0] = False
    assert emu.level(0) == 0


def test_legs_dropout_reads_open_inside_the_window_only():
    emu = LegsEmu(1, faults=Faults(dropouts=[(1.0, 2.0)]))
    emu.contacts[0] = True
    seen = []
    for t in (0.999, 1.0, 1.999, 2.0):
        emu.now_s = t
        seen.append(emu.level(0))
    assert seen == [0, None, None, 0]                     # [t0, t1): t0 in, t1 out


def test_legs_use_the_bench_clock_when_attached():
    emu = LegsEmu(1, faults=Faults(dropouts=[(1.0, 2.0)]))
    emu.contacts[0] = True
    emu.now_s = 5.0                                       # ignored once a clock is attached
    emu.clock = _Clock(1.5)
    assert emu.level(0) is None


def test_legs_chatter_rate_one_always_inverts_zero_never():
    emu = LegsEmu(1, faults=Faults(seed=3))
    emu.contacts[0] = True
    emu.chatter_rate = 1.0
    assert [emu.level(0) for _ in range(5)] == [None] * 5
    emu.chatter_rate = 0.0
    assert [emu.level(0) for _ in range(5)] == [0] * 5


def test_legs_chatter_draws_one_uniform_per_read_against_the_rate():
    emu = LegsEmu(1, faults=Faults(seed=11))
    emu.chatter_rate = 0.5
    ref = Faults(seed=11).rng                             # the same stream, drawn here
    expect = [None if ref.random() < 0.5 else 0 for _ in range(40)]
    emu.contacts[0] = True
    assert [emu.level(0) for _ in range(40)] == expect


def test_legs_connect_binds_each_pin_to_its_own_switch():
    class _Pin:
        ext_fn = None
    pins = [_Pin(), _Pin(), _Pin()]
    emu = LegsEmu(3)
    emu.connect(pins)
    emu.contacts[2] = True
    assert [p.ext_fn() for p in pins] == [None, None, 0]


# --- watchdog -----------------------------------------------------------------------
def test_wdt_refuses_a_zero_or_negative_timeout():
    emu = WdtEmu()
    for ms in (0, -1):
        with pytest.raises(ValueError):
            emu.start(ms)
    assert not emu.started


def test_wdt_expires_strictly_after_the_timeout_and_latches_the_deadline():
    clock = _Clock(10.0)
    emu = WdtEmu()
    emu.clock = clock
    emu.start(250)
    assert emu.timeout_s == 0.25 and emu.last_feed_s == 10.0
    clock.now_s = 10.25
    assert not emu.expired                                # exactly at the deadline: not yet
    clock.now_s = 10.2500001
    assert emu.expired and emu.expired_at_s == 10.25
    clock.now_s = 10.0
    assert emu.expired                                    # latched


def test_wdt_feed_restarts_the_window_and_counts():
    clock = _Clock(0.0)
    emu = WdtEmu()
    emu.clock = clock
    emu.start(100)
    clock.now_s = 0.09
    emu.feed()
    assert emu.feeds == 1 and emu.last_feed_s == 0.09
    clock.now_s = 0.18                                    # 0.09 after the feed
    assert not emu.expired
    clock.now_s = 0.2
    assert emu.expired and emu.expired_at_s == pytest.approx(0.19, abs=1e-12)


def test_wdt_feed_after_expiry_does_not_revive_it_or_count():
    clock = _Clock(0.0)
    emu = WdtEmu()
    emu.clock = clock
    emu.start(100)
    clock.now_s = 0.5
    emu.feed()
    assert emu.feeds == 0 and emu.last_feed_s == 0.0 and emu.expired
    assert emu.expired_at_s == 0.1


def test_wdt_not_started_never_expires():
    emu = WdtEmu()
    emu.tick(1e6)
    assert not emu.expired and emu.expired_at_s is None and emu.now_s == 1e6


def test_wdt_without_a_clock_uses_its_own_time():
    emu = WdtEmu()
    emu.now_s = 3.0
    emu.start(1000)
    assert emu.last_feed_s == 3.0
    emu.tick(4.0)
    assert not emu.expired
    emu.now_s = 4.5
    assert emu.expired and emu.expired_at_s == 4.0


def test_wdt_reset_stops_it_until_started_again():
    emu = WdtEmu()
    emu.start(10)
    emu.tick(1.0)
    assert emu.expired
    emu.reset()
    assert not emu.started and not emu.expired and emu.expired_at_s is None
    emu.tick(100.0)
    assert not emu.expired


# --- bus-voltage sense: divider 10k / (100k + 10k) into a 12-bit ADC, 3.3 V ref -----
def _code(v, ratio=Fraction(10, 110), vref=Fraction(33, 10)):
    """The ideal 12-bit code, rounded half up (hand formula, exact arithmetic)."""
    x = Fraction(v) * ratio / vref * 4095
    return int(x + Fraction(1, 2))


def _u16(code):
    return (code << 4) | (code >> 8)                      # the ports' 12 -> 16 bit scaling


def test_power_28v_reads_code_3159_scaled_to_16_bits():
    emu = PowerEmu()
    assert _code(28) == 3159                              # 28 / 11 / 3.3 * 4095 = 3158.68
    assert emu.read_u16() == 3159 * 16 + 12 == 50556


@pytest.mark.parametrize("v", [0.0, 1.0, 12.0, 24.5, 30.0, 36.0])
def test_power_code_follows_the_divider_and_reference(v):
    emu = PowerEmu()
    emu.voltage_v = v
    assert emu.read_u16() == _u16(_code(v))


def test_power_other_divider_and_reference():
    emu = PowerEmu(vref_v=2.5, r_top=47e3, r_bottom=4.7e3)
    emu.voltage_v = 20.0
    assert emu.read_u16() == _u16(_code(20, Fraction(47, 517), Fraction(5, 2)))


def test_power_clamps_at_zero_and_full_scale():
    emu = PowerEmu()
    emu.voltage_v = -5.0
    assert emu.read_u16() == 0
    emu.voltage_v = 100.0
    assert emu.read_u16() == 0xFFFF                       # 4095 << 4 | 4095 >> 8


def test_power_bias_adds_volts_before_the_divider():
    emu = PowerEmu(faults=Faults(bias=2.0))
    emu.voltage_v = 10.0
    assert emu.read_u16() == _u16(_code(12))


def test_power_noise_is_gaussian_in_volts_from_the_fault_stream():
    emu = PowerEmu(faults=Faults(noise=0.5, seed=4))
    ref = Faults(seed=4).rng
    for _ in range(5):
        v = 28.0 + ref.gauss(0.0, 0.5)
        assert emu.read_u16() == _u16(int(v * (10e3 / 110e3) / 3.3 * 4095.0 + 0.5))


def test_power_saturate_reads_full_scale_whatever_the_voltage():
    emu = PowerEmu(faults=Faults(saturate=True))
    emu.voltage_v = 1.0
    assert emu.read_u16() == 0xFFFF


def test_power_dropout_reads_zero_inside_the_window():
    emu = PowerEmu(faults=Faults(dropouts=[(1.0, 2.0)]))
    emu.clock = _Clock(1.0)
    assert emu.read_u16() == 0
    emu.clock.now_s = 2.0
    assert emu.read_u16() == 50556


def test_power_stuck_holds_the_last_reading_once_there_is_one():
    emu = PowerEmu(faults=Faults(stuck=True))
    first = emu.read_u16()                                # no reading yet: a live one
    assert first == 50556
    emu.voltage_v = 12.0
    assert emu.read_u16() == first


# --- engine controller: servo PWM 1000..2000 us, arm latch, hold on signal loss ------
import math  # noqa: E402

from host_tools.emu.engine import EngineEmu  # noqa: E402
from host_tools.emu.radio import RadioEmu  # noqa: E402


class _Pwm:
    def __init__(self, us=1000.0, freq=50, enabled=True):
        self.duty_ns = int(us * 1000)
        self.freq = freq
        self.enabled = enabled


class _Pin:
    def __init__(self, v=1):
        self.v = v

    def level(self):
        return self.v


def _engine(us=1500.0, arm=1, gim_us=None, **kw):
    emu = EngineEmu(**kw)
    thr, pin = _Pwm(us), _Pin(arm)
    gim = _Pwm(gim_us) if gim_us is not None else None
    emu.connect(thr, pin, gim)
    return emu, thr, pin, gim


@pytest.mark.parametrize("us,frac", [(1000, 0.0), (1250, 0.25), (1500, 0.5), (2000, 1.0),
                                     (900, 0.0), (2100, 1.0)])
def test_engine_throttle_is_linear_in_pulse_width_clamped_to_0_1(us, frac):
    emu, *_ = _engine(us)
    assert emu.throttle_cmd == frac and emu.armed


@pytest.mark.parametrize("us", [799.0, 2201.0])
def test_engine_pulse_outside_800_2200_us_is_signal_lost(us):
    emu, thr, _, _ = _engine(1500.0, hold_s=1.0)
    assert emu.throttle_cmd == 0.5
    thr.duty_ns = int(us * 1000)
    emu.now_s = 1.0
    assert emu.throttle_cmd == 0.5                        # held ...
    emu.now_s = 2.0
    assert emu.throttle_cmd == 0.5                        # ... for hold_s inclusive
    emu.now_s = 2.0001
    assert emu.throttle_cmd == 0.0 and not emu.armed      # then cut and disarmed


@pytest.mark.parametrize("us", [800.0, 2200.0])
def test_engine_pulse_at_800_and_2200_us_is_still_a_signal(us):
    emu, thr, _, _ = _engine(1500.0, hold_s=0.1)
    thr.duty_ns = int(us * 1000)
    emu.now_s = 5.0
    assert emu.throttle_cmd == (0.0 if us < 1000 else 1.0) and emu.armed


@pytest.mark.parametrize("freq,live", [(29, False), (30, True), (400, True), (401, False)])
def test_engine_frame_rate_outside_30_400_hz_is_signal_lost(freq, live):
    emu, thr, _, _ = _engine(1750.0, hold_s=0.5)
    assert emu.throttle_cmd == 0.75
    thr.freq = freq
    thr.duty_ns = 1250_000
    emu.now_s = 10.0                                      # long after any hold
    assert emu.throttle_cmd == (0.25 if live else 0.75)   # loss starts the hold now
    emu.now_s = 10.6
    assert emu.throttle_cmd == (0.25 if live else 0.0)


def test_engine_pwm_disabled_or_zero_duty_is_signal_lost():
    for change in ("enabled", "duty"):
        emu, thr, _, _ = _engine(2000.0, hold_s=0.2)
        assert emu.throttle_cmd == 1.0
        if change == "enabled":
            thr.enabled = False
        else:
            thr.duty_ns = 0
        emu.now_s = 0.3
        assert emu.throttle_cmd == 1.0
        emu.now_s = 0.51
        assert emu.throttle_cmd == 0.0


def test_engine_arm_line_low_with_live_signal_disarms_at_once():
    emu, thr, pin, _ = _engine(1800.0)
    assert emu.throttle_cmd == pytest.approx(0.8)
    pin.v = 0
    assert emu.throttle_cmd == 0.0 and not emu.armed


def test_engine_reset_holds_throttle_and_arm_latch_while_the_line_floats_low():
    emu, thr, pin, _ = _engine(1800.0, hold_s=1.0)
    assert emu.armed
    thr.enabled, pin.v = False, 0                         # the computer resets
    emu.now_s = 0.9
    assert emu.armed and emu.throttle_cmd == pytest.approx(0.8)
    thr.enabled, pin.v = True, 1                          # back within the hold
    thr.duty_ns = 1600_000
    assert emu.armed and emu.throttle_cmd == pytest.approx(0.6)


def test_engine_high_arm_line_arms_during_the_hold():
    emu, thr, pin, _ = _engine(1500.0, arm=0, hold_s=1.0)
    assert not emu.armed and emu.throttle_cmd == 0.0
    thr.enabled = False
    pin.v = 1
    emu.now_s = 0.5
    assert emu.armed and emu.throttle_cmd == 0.5


def test_engine_hold_expiry_forgets_the_last_throttle():
    emu, thr, pin, _ = _engine(1900.0, hold_s=0.2)
    thr.enabled = False
    emu.tick(0.0)
    emu.tick(0.3)
    assert emu.throttle_cmd == 0.0
    emu.tick(0.35)                                        # still lost: stays cut
    assert emu.throttle_cmd == 0.0 and not emu.armed


def test_engine_no_throttle_pwm_wired_is_signal_lost():
    emu = EngineEmu(hold_s=0.0)
    emu.connect(None, _Pin(1))
    emu.now_s = 0.0
    assert emu.throttle_cmd == 0.0


def test_engine_bias_adds_a_throttle_fraction_then_clamps():
    emu, *_ = _engine(1500.0, faults=Faults(bias=0.1))
    assert emu.throttle_cmd == pytest.approx(0.6)
    emu2, *_ = _engine(1950.0, faults=Faults(bias=0.1))
    assert emu2.throttle_cmd == 1.0
    emu3, *_ = _engine(1000.0, faults=Faults(bias=-0.2))
    assert emu3.throttle_cmd == 0.0


@pytest.mark.parametrize("us,bias,thr", [(2100.0, -0.2, 0.8), (900.0, 0.2, 0.2)])
def test_engine_clamps_the_pulse_to_0_1_before_the_bias_fault(us, bias, thr):
    # 2100 us is 1.1 of full thrust and 900 us -0.1: each is clamped to the
    # controller's range first, then the bias fault shifts it
    emu, *_ = _engine(us, faults=Faults(bias=bias))
    assert emu.throttle_cmd == pytest.approx(thr, abs=1e-12)


def test_engine_bias_does_not_apply_to_a_disarmed_engine_below_zero():
    emu, *_ = _engine(1500.0, arm=0, faults=Faults(bias=-0.3))
    assert emu.throttle_cmd == 0.0


def test_engine_saturate_is_full_thrust_only_when_armed():
    emu, thr, pin, _ = _engine(1200.0, faults=Faults(saturate=True))
    assert emu.throttle_cmd == 1.0
    pin.v = 0
    assert emu.throttle_cmd == 0.0


def test_engine_stuck_freezes_throttle_and_pitch_at_the_last_values():
    emu, thr, pin, gim = _engine(1500.0, gim_us=1750.0, hold_s=0.1)
    travel = math.radians(20.0)
    assert emu.throttle_cmd == 0.5 and emu.pitch_cmd_rad == pytest.approx(0.5 * travel)
    emu.faults.stuck = True
    thr.duty_ns, gim.duty_ns, pin.v = 2000_000, 1000_000, 0
    assert emu.throttle_cmd == 0.5 and emu.pitch_cmd_rad == pytest.approx(0.5 * travel)


def test_engine_stuck_before_any_output_reads_live_values():
    emu, *_ = _engine(1750.0, gim_us=1250.0, faults=Faults(stuck=True))
    assert emu.pitch_cmd_rad == pytest.approx(-0.5 * math.radians(20.0))
    emu2, *_ = _engine(1750.0, faults=Faults(stuck=True))
    assert emu2.throttle_cmd == 0.75


@pytest.mark.parametrize("us,frac", [(1500, 0.0), (2000, 1.0), (1000, -1.0), (1625, 0.25),
                                     (2100, 1.0), (900, -1.0)])
def test_engine_gimbal_maps_1500_pm_500_us_to_pm_travel(us, frac):
    emu, *_ = _engine(1500.0, gim_us=us, gimbal_travel_deg=12.0)
    assert emu.pitch_cmd_rad == pytest.approx(frac * math.radians(12.0), abs=1e-15)


def test_engine_gimbal_holds_its_last_angle_when_its_signal_is_lost():
    emu, _, _, gim = _engine(1500.0, gim_us=1750.0)
    first = emu.pitch_cmd_rad
    gim.enabled = False
    emu.now_s = 100.0
    assert emu.pitch_cmd_rad == first == pytest.approx(0.5 * math.radians(20.0))


def test_engine_pitch_without_a_gimbal_is_zero():
    emu, *_ = _engine(1500.0)
    assert emu.pitch_cmd_rad == 0.0


def test_engine_pwm_change_is_sampled_as_it_happens():
    class _NotifyPwm(_Pwm):
        on_change = None
    thr = _NotifyPwm(1500.0)
    emu = EngineEmu(hold_s=1.0)
    emu.connect(thr, _Pin(1))
    assert thr.on_change is not None
    thr.on_change()                                       # live at t=0: throttle 0.5
    thr.enabled = False
    emu.now_s = 0.5
    thr.on_change()                                       # the loss starts now
    emu.now_s = 1.5
    assert emu.throttle_cmd == 0.5                        # 1.0 s after the loss: held
    emu.now_s = 1.51
    assert emu.throttle_cmd == 0.0


# --- radio: a buffer draining at the air rate, CTS flow control -------------------
def test_radio_drains_at_the_air_rate_with_byte_times():
    emu = RadioEmu(air_bps=800.0)                         # 100 bytes/s, 10 ms a byte
    emu.uart_rx(bytes(range(10)))
    emu.advance(0.05)
    assert bytes(emu.downlink) == bytes(range(5)) and emu.fill == 5
    assert emu.downlink_times == pytest.approx([0.01, 0.02, 0.03, 0.04, 0.05])


def test_radio_fractional_air_time_carries_over():
    emu = RadioEmu(air_bps=800.0)
    emu.uart_rx(bytes(10))
    for k in range(1, 5):
        emu.advance(0.0075 * k)                           # 0.75 byte each
    assert len(emu.downlink) == 3                         # 3.0 bytes by 30 ms


def test_radio_idle_transmitter_banks_no_air_time():
    emu = RadioEmu(air_bps=800.0)
    emu.advance(1.0)                                      # idle for a second
    emu.now_s = 1.0
    emu.uart_rx(bytes(10))
    emu.advance(1.025)
    assert len(emu.downlink) == 2


def test_radio_time_going_backwards_is_ignored():
    emu = RadioEmu(air_bps=800.0)
    emu.uart_rx(bytes(4))
    emu.advance(0.02)
    emu.advance(0.01)
    assert len(emu.downlink) == 2 and emu.fill == 2


def test_radio_full_buffer_loses_and_counts_bytes():
    emu = RadioEmu(buffer_bytes=8, cts_margin=2)
    emu.uart_rx(bytes(11))
    assert emu.fill == 8 and emu.lost == 3 and emu.received == 11 and emu.max_fill == 8


def test_radio_write_into_a_buffer_one_byte_short_of_full_keeps_that_byte():
    emu = RadioEmu(buffer_bytes=8, cts_margin=2)
    emu.uart_rx(bytes(7))
    emu.uart_rx(b"xyz")                                   # room for 1: 'x' kept, 2 lost
    assert emu.fill == 8 and emu.lost == 2 and emu.received == 10
    emu.advance(1.0)
    assert bytes(emu.downlink) == bytes(7) + b"x"


def test_radio_writes_into_a_full_buffer_add_up_their_losses():
    emu = RadioEmu(buffer_bytes=8, cts_margin=2)
    emu.uart_rx(bytes(9))                                 # 1 lost at the first write
    emu.uart_rx(b"abc")                                   # full: all 3 lost
    emu.uart_rx(b"de")
    assert emu.lost == 6 and emu.fill == 8 and emu.received == 14


def test_radio_cts_rises_at_buffer_minus_margin_and_falls_at_half():
    emu = RadioEmu(air_bps=800.0, buffer_bytes=16, cts_margin=4)
    emu.uart_rx(bytes(11))
    assert emu.cts_level() == 0                           # 11 < 12
    emu.uart_rx(bytes(1))
    assert emu.cts_level() == 1                           # 12 >= 16 - 4
    emu.now_s = 0.03                                      # 3 bytes out: 9 left
    assert emu.cts_level() == 1                           # hysteresis: 9 > 8
    emu.now_s = 0.04                                      # 8 left
    assert emu.cts_level() == 0


def test_radio_stuck_fault_holds_cts_high():
    emu = RadioEmu(faults=Faults(stuck=True))
    assert emu.cts_level() == 1


def test_radio_dropout_loses_incoming_and_buffered_bytes():
    emu = RadioEmu(air_bps=800.0, faults=Faults(dropouts=[(1.0, 2.0)]))
    emu.uart_rx(bytes(50))
    emu.advance(0.1)                                      # 10 sent
    emu.now_s = 1.5
    emu.uart_rx(b"abc")
    assert emu.lost == 3
    emu.advance(2.5)
    assert len(emu.downlink) == 10 and emu.fill == 0      # the buffer died with the radio


def test_radio_dropout_losses_add_up_over_writes():
    emu = RadioEmu(faults=Faults(dropouts=[(0.0, 1.0)]))
    emu.uart_rx(b"abc")
    emu.uart_rx(b"de")
    assert emu.lost == 5 and emu.fill == 0 and emu.received == 5


def test_radio_uses_the_bench_clock_when_attached():
    emu = RadioEmu(air_bps=800.0)
    emu.clock = _Clock(0.0)
    emu.uart_rx(bytes(5))
    emu.clock.now_s = 0.03
    assert emu.cts_level() == 0 and len(emu.downlink) == 3


def test_radio_uplink_reaches_the_firmware_at_the_serial_rate():
    emu = RadioEmu(baudrate=1000)                         # 10 bits a byte: 10 ms
    emu.send_uplink(b"xyz")
    got = emu.uart_poll(0.0205)
    assert got == b"xy" and emu.now_s == 0.0205
    assert emu.uart_poll(1.0) == b"z"


# --- settle: the firmware's waits as the parts see them ------------------------------
import sys  # noqa: E402
import types  # noqa: E402

from host_tools.emu import settle  # noqa: E402


def _hc():
    from lander import _hostcompat
    return sys.modules["lander._hostcompat"]


def test_settle_part_time_is_bench_time_in_us_plus_every_firmware_wait():
    hc = _hc()
    part = types.SimpleNamespace(now_s=1.5)
    base = settle.now_us(part) - 1_500_000
    hc.sleep_us(250)
    hc.sleep_us(40)
    assert settle.now_us(part) == 1_500_000 + base + 290


def test_settle_a_part_without_bench_time_counts_waits_only():
    bare, timed = object(), types.SimpleNamespace(now_s=0.000002)
    assert settle.now_us(timed) - settle.now_us(bare) == 2


def test_settle_waits_are_whole_microseconds():
    before = settle.now_us(object())
    settle.on_sleep(2.9)                                  # a HIL board's report
    settle.on_sleep(3)
    assert settle.now_us(object()) - before == 5


def test_settle_hooks_into_a_reimported_compat_module_once():
    hc = _hc()
    saved = list(hc._sleep_hooks)
    try:
        hc._sleep_hooks[:] = [f for f in hc._sleep_hooks if f is not settle._on_sleep]
        settle.now_us(object())
        settle.now_us(object())
        assert hc._sleep_hooks.count(settle._on_sleep) == 1
        before = settle.now_us(object())
        hc.sleep_us(7)
        assert settle.now_us(object()) - before == 7
    finally:
        hc._sleep_hooks[:] = saved


def test_settle_tolerates_a_compat_module_without_hooks(monkeypatch):
    monkeypatch.setitem(sys.modules, "lander._hostcompat", types.ModuleType("lander._hostcompat"))
    assert settle.now_us(types.SimpleNamespace(now_s=0.0)) >= 0
    assert not hasattr(sys.modules["lander._hostcompat"], "_sleep_hooks")


def test_settle_without_a_compat_module_does_nothing(monkeypatch):
    monkeypatch.delitem(sys.modules, "lander._hostcompat", raising=False)
    assert settle.now_us(types.SimpleNamespace(now_s=0.001)) - settle.now_us(object()) == 1000


# --- flash filesystem with power cuts ------------------------------------------------
import errno  # noqa: E402
import random  # noqa: E402

from host_tools.emu.flash import FlashEmu  # noqa: E402


def _oserr(fn, code):
    with pytest.raises(OSError) as e:
        fn()
    assert e.value.errno == code


def test_flash_open_missing_for_reading_is_enoent():
    fs = FlashEmu()
    _oserr(lambda: fs.open("/x"), errno.ENOENT)
    _oserr(lambda: fs.open("/x", "r+b"), errno.ENOENT)
    assert fs.files == {}


def test_flash_append_creates_and_starts_at_the_end():
    fs = FlashEmu()
    with fs.open("/log", "ab") as f:
        assert f.tell() == 0
        f.write(b"abc")
    with fs.open("/log", "ab") as f:
        assert f.tell() == 3
        f.write(b"de")
    assert fs.files["/log"] == b"abcde" and fs.stat_size("/log") == 5


def test_flash_write_mode_truncates():
    fs = FlashEmu()
    fs.files["/a"] = bytearray(b"old data")
    with fs.open("/a", "wb") as f:
        f.write(b"n")
    assert fs.files["/a"] == b"n"


def test_flash_read_sizes():
    fs = FlashEmu()
    fs.files["/a"] = bytearray(b"0123456789")
    f = fs.open("/a", "rb")
    assert f.read(3) == b"012" and f.tell() == 3
    assert f.read(100) == b"3456789" and f.tell() == 10
    f.seek(8)
    assert f.read(None) == b"89"
    f.seek(5)
    assert f.read(-1) == b"56789" and f.read() == b""


def test_flash_readinto_fills_what_is_left():
    fs = FlashEmu()
    fs.files["/a"] = bytearray(b"abcdef")
    f = fs.open("/a", "rb")
    buf = bytearray(4)
    assert f.readinto(buf) == 4 and buf == b"abcd" and f.tell() == 4
    buf = bytearray(b"....")
    assert f.readinto(buf) == 2 and buf == b"ef.." and f.tell() == 6
    assert f.readinto(buf) == 0 and f.tell() == 6
    f.seek(10)
    assert f.readinto(buf) == 0 and f.tell() == 10       # past the end: nothing, no move


def test_flash_read_only_refuses_writes_read_plus_allows_in_place():
    fs = FlashEmu()
    fs.files["/a"] = bytearray(b"abcdef")
    _oserr(lambda: fs.open("/a", "rb").write(b"x"), errno.EBADF)
    f = fs.open("/a", "r+b")
    f.seek(2)
    assert f.write(b"XY") == 2
    assert fs.files["/a"] == b"abXYef" and fs.last_write == ("/a", 2, 2)


def test_flash_worn_flash_fails_every_write_with_eio():
    fs = FlashEmu()
    f = fs.open("/a", "wb")
    fs.fail_writes = True
    _oserr(lambda: f.write(b"x"), errno.EIO)
    assert fs.files["/a"] == b"" and fs.bytes_written == 0 and fs.last_write is None


def test_flash_write_past_the_end_pads_with_erased_bytes():
    fs = FlashEmu()
    f = fs.open("/a", "wb")
    f.write(b"ab")
    f.seek(5)
    f.write(b"z")
    assert fs.files["/a"] == b"ab\xff\xff\xffz" and f.tell() == 6
    assert fs.bytes_written == 3 and fs.last_write == ("/a", 5, 1)


def test_flash_seek_whence_set_current_end():
    fs = FlashEmu()
    fs.files["/a"] = bytearray(10)
    f = fs.open("/a", "rb")
    assert f.seek(4) == 4
    assert f.seek(3, 1) == 7
    assert f.seek(-2, 2) == 8
    assert f.seek(1, 0) == 1


def test_flash_flush_counts_and_close_ends_the_file():
    fs = FlashEmu()
    with fs.open("/a", "wb") as f:
        f.flush()
        f.flush()
    assert fs.flushes == 2 and f.closed
    _oserr(lambda: f.read(), errno.EIO)
    _oserr(lambda: f.flush(), errno.EIO)


def test_flash_listdir_is_sorted_and_remove_deletes():
    fs = FlashEmu()
    for p in ("/c", "/a", "/b"):
        fs.open(p, "wb").close()
    assert fs.listdir() == ["/a", "/b", "/c"]
    fs.remove("/b")
    assert fs.listdir("/") == ["/a", "/c"]


def test_flash_power_cut_keeps_a_prefix_of_the_last_append():
    fs = FlashEmu()
    f = fs.open("/a", "wb")
    f.write(b"head")
    f.write(b"0123456789")
    assert fs.power_cut(keep=3) == 7
    assert fs.files["/a"] == b"head012" and fs.last_write is None
    _oserr(lambda: f.write(b"x"), errno.EIO)              # open files died with the power
    assert fs.power_cut() == 0                            # nothing in flight any more


def test_flash_power_cut_always_loses_at_least_one_byte():
    fs = FlashEmu()
    fs.open("/a", "wb").write(b"abcd")
    assert fs.power_cut(keep=10) == 1 and fs.files["/a"] == b"abc"
    fs.open("/b", "wb").write(b"abcd")
    assert fs.power_cut(keep=-3) == 4 and fs.files["/b"] == b""


def test_flash_power_cut_random_keep_comes_from_the_given_stream():
    fs = FlashEmu()
    fs.open("/a", "wb").write(bytes(range(100)))
    keep = random.Random(5).randrange(0, 100)
    assert fs.power_cut(rng=random.Random(5)) == 100 - keep
    assert fs.files["/a"] == bytes(range(keep))


def test_flash_power_cut_random_keep_defaults_to_the_fault_stream():
    fs = FlashEmu(faults=Faults(seed=9))
    fs.open("/a", "wb").write(bytes(range(50)))
    keep = random.Random(9).randrange(0, 50)
    assert fs.power_cut() == 50 - keep and len(fs.files["/a"]) == keep


def test_flash_power_cut_inside_a_file_erases_the_lost_tail():
    fs = FlashEmu()
    fs.files["/a"] = bytearray(b"0123456789")
    f = fs.open("/a", "r+b")
    f.seek(2)
    f.write(b"abcd")
    assert fs.power_cut(keep=1) == 3
    assert fs.files["/a"] == b"01a\xff\xff\xff6789"


def test_flash_power_cut_of_an_empty_write_loses_nothing():
    fs = FlashEmu()
    fs.open("/a", "wb").write(b"")
    gen = fs.generation
    assert fs.power_cut() == 0 and fs.generation == gen + 1


def test_flash_power_cut_without_writes_still_closes_open_files():
    fs = FlashEmu()
    fs.files["/a"] = bytearray(b"x")
    f = fs.open("/a", "rb")
    assert fs.power_cut() == 0
    _oserr(lambda: f.read(), errno.EIO)


# --- TF-Luna: 9-byte frames (product manual 6.2, Appendix I) ---------------------------
from host_tools.emu.tfluna import TfLunaEmu  # noqa: E402
from host_tools.emu.uartstream import History, UartStreamer  # noqa: E402


def test_tfluna_frame_1_5_m_at_25_c_hand_computed():
    emu = TfLunaEmu()
    emu.distance_m = 1.5
    # dist 150 cm; amp int(30000 / 1.5^2) = 13333 = 0x3415; temp (25 + 256) * 8 = 2248 = 0x08C8
    # checksum (0x59 + 0x59 + 0x96 + 0x15 + 0x34 + 0xC8 + 0x08) & 0xFF = 609 & 0xFF = 0x61
    assert emu.frame(0.0) == bytes([0x59, 0x59, 0x96, 0x00, 0x15, 0x34, 0xC8, 0x08, 0x61])


def _fields(frame):
    assert frame[:2] == b"\x59\x59" and frame[8] == sum(frame[:8]) & 0xFF
    return (frame[2] | frame[3] << 8, frame[4] | frame[5] << 8, frame[6] | frame[7] << 8)


@pytest.mark.parametrize("d,dist,amp", [
    (8.0, 800, 468),              # the far end of the range: 30000 / 64 = 468.75
    (8.01, 0, 20),                # beyond it: no reliable echo
    (None, 0, 20),                # no echo at all
    (0.1, 20, 65000),             # closer than 0.2 m reads 0.2 m, amplitude capped
    (0.2, 20, 65000),
    (0.75, 75, 53333),
    (3.456, 346, 2511),           # rounds to the nearest cm
])
def test_tfluna_distance_and_amplitude(d, dist, amp):
    emu = TfLunaEmu()
    emu.distance_m = d
    assert _fields(emu.frame(0.0))[:2] == (dist, amp)


@pytest.mark.parametrize("c,raw", [(25.0, 2248), (-40.0, 1728), (0.06, 2048), (85.5, 2732)])
def test_tfluna_temperature_raw_is_degc_plus_256_times_8(c, raw):
    emu = TfLunaEmu()
    emu.temperature_c = c
    assert _fields(emu.frame(0.0))[2] == raw


def test_tfluna_overexposure_reports_amp_65535_and_distance_0():
    emu = TfLunaEmu(faults=Faults(saturate=True))
    emu.distance_m = 2.0
    assert _fields(emu.frame(0.0))[:2] == (0, 65535)


def test_tfluna_valid_never_set_reports_a_weak_echo():
    emu = TfLunaEmu(faults=Faults(valid_never_set=True))
    emu.distance_m = 2.0
    assert _fields(emu.frame(0.0))[:2] == (0, 20)


def test_tfluna_bias_adds_metres():
    emu = TfLunaEmu(faults=Faults(bias=0.5))
    emu.distance_m = 1.0
    assert _fields(emu.frame(0.0))[0] == 150


def test_tfluna_noise_is_gaussian_metres_from_the_fault_stream():
    emu = TfLunaEmu(faults=Faults(noise=0.05, seed=2))
    ref = random.Random(2)
    emu.distance_m = 4.0
    for _ in range(5):
        assert _fields(emu.frame(0.0))[0] == int(round((4.0 + ref.gauss(0.0, 0.05)) * 100.0))


def test_tfluna_stuck_repeats_the_last_distance_seen():
    emu = TfLunaEmu()
    emu.distance_m = 1.0
    emu.frame(0.0)
    emu.faults.stuck = True
    emu.distance_m = 2.0
    assert _fields(emu.frame(0.01))[0] == 100
    emu.faults.stuck = False
    assert _fields(emu.frame(0.02))[0] == 200


def test_tfluna_stuck_from_the_start_freezes_the_first_distance():
    emu = TfLunaEmu(faults=Faults(stuck=True))
    emu.distance_m = 3.0
    emu.frame(0.0)
    emu.distance_m = 1.0
    assert _fields(emu.frame(0.01))[0] == 300


def test_tfluna_latency_reports_the_distance_of_latency_s_ago():
    emu = TfLunaEmu(faults=Faults(latency_s=0.1))
    emu._hist.record(0.0, 1.0)
    emu._hist.record(0.5, 2.0)
    assert _fields(emu.frame(0.05))[0] == 0               # nothing recorded 0.1 s before
    assert _fields(emu.frame(0.55))[0] == 100
    assert _fields(emu.frame(0.6))[0] == 200              # recorded exactly at t - latency


def test_tfluna_commands_are_kept_not_modelled():
    emu = TfLunaEmu()
    emu.uart_rx(b"\x5a\x04")
    emu.uart_rx(b"\x01")
    assert emu.received == b"\x5a\x04\x01"


def test_tfluna_frames_at_100_hz_on_a_115200_baud_line():
    emu = TfLunaEmu()
    emu.distance_m = 1.5
    assert emu.uart_poll(0.0099) == b""
    part = emu.uart_poll(0.0105)               # 0.5 ms into the 0.78 ms frame: 5 bytes
    assert part == emu.frame(0.0)[:5]
    assert emu.uart_poll(0.0199) == emu.frame(0.0)[5:]
    assert len(emu.uart_poll(0.0505)) == 9 * 3 + 5
    assert emu.line.frames_out == 5


def test_tfluna_rate_hz_sets_the_frame_period():
    emu = TfLunaEmu(rate_hz=20.0)
    emu.distance_m = 1.0
    assert len(emu.uart_poll(0.101)) == 9 * 2


def test_tfluna_dropout_skips_frames_inside_the_window():
    emu = TfLunaEmu(faults=Faults(dropouts=[(0.015, 0.035)]))
    emu.distance_m = 1.0
    assert len(emu.uart_poll(0.0505)) == 9 + 9 + 5         # 0.01, 0.04, 0.05 begun (0.02, 0.03 lost)


def test_tfluna_truncate_rate_is_the_line_fault():
    emu = TfLunaEmu()
    emu.truncate_rate = 0.25
    assert emu.line.truncate_rate == 0.25 and emu.truncate_rate == 0.25


def test_uart_line_sends_10_bits_a_byte_and_queues_behind_a_busy_line():
    line = UartStreamer(1000, Faults())                   # 10 ms a byte
    line.send(0.0, b"0123456789")
    line.send(0.05, b"ab")                                # line busy until 0.1
    assert line.poll(0.0955) == b"012345678"
    assert line.poll(0.1055) == b"9"
    assert line.poll(0.1155) == b"a"
    assert line.poll(1.0) == b"b"
    assert line.bytes_out == 12 and line.frames_out == 2


def test_uart_line_idle_frame_starts_at_its_send_time():
    line = UartStreamer(1000, Faults())
    line.send(0.5, b"xy")
    assert line.poll(0.505) == b"" and line.poll(0.515) == b"x"


def test_uart_garbage_is_1_to_8_junk_bytes_before_the_frame():
    for seed in range(20):
        line = UartStreamer(1000, Faults(garbage_rate=1.0, seed=seed))
        line.send(0.0, b"FRAME")
        out = line.poll(10.0)
        assert out.endswith(b"FRAME") and 1 <= len(out) - 5 <= 8
        assert line.garbage_out == len(out) - 5


def test_uart_truncation_keeps_a_proper_nonempty_prefix():
    lens = set()
    for seed in range(30):
        line = UartStreamer(1000, Faults(seed=seed))
        line.truncate_rate = 1.0
        line.send(0.0, b"ABCDEFGH")
        out = line.poll(10.0)
        assert b"ABCDEFGH".startswith(out) and 1 <= len(out) <= 7
        lens.add(len(out))
    assert lens == set(range(1, 8))


def test_uart_bitflip_flips_exactly_one_bit_per_byte_at_rate_one():
    line = UartStreamer(1000, Faults(bitflip_rate=1.0, seed=1))
    frame = bytes(range(0, 200, 7))
    line.send(0.0, frame)
    out = line.poll(100.0)
    assert len(out) == len(frame)
    assert all(bin(a ^ b).count("1") == 1 for a, b in zip(out, frame))


def test_uart_no_faults_leave_the_frame_alone():
    line = UartStreamer(1000, Faults(seed=1))
    line.send(0.0, b"clean")
    assert line.poll(1.0) == b"clean" and line.garbage_out == 0


def test_history_is_the_last_value_at_or_before_and_restarts_when_time_goes_back():
    h = History()
    assert h.at(5.0, "d") == "d"
    h.record(1.0, "a")
    h.record(2.0, "b")
    assert [h.at(t, None) for t in (0.5, 1.0, 1.5, 2.0, 9.0)] == [None, "a", "a", "b", "b"]
    h.record(0.5, "c")                                    # a new flight: history restarts
    assert h.at(1.5, None) == "c" and h.at(0.4, None) is None


# --- laser altimeter: Noptel LRF protocol (docs/protocols.md) -------------------------
import struct  # noqa: E402

from host_tools.emu.laser_altimeter import LaserAltimeterEmu, check_byte  # noqa: E402


def _cmd(*body):
    return bytes(body) + bytes([check_byte(bytes(body))])


def _lrf(rng_m=None, **kw):
    emu = LaserAltimeterEmu(**kw)
    emu.range_m = rng_m
    return emu


def _decode(frame):
    assert len(frame) == 22 and frame[:2] == b"\x59\xcc" and frame[21] == check_byte(frame[:21])
    r, amp = struct.unpack_from("<fH", frame, 2)
    assert frame[8:20] == bytes(12)                       # targets 2 and 3 empty
    return r, amp, frame[20]


def test_lrf_check_byte_is_sum_xor_0x50():
    assert check_byte(b"\xcc\x05\x00\x00") == 0x81        # (0xCC + 5) ^ 0x50
    assert check_byte(b"\x59\xc6\x00") == 0x4F            # 0x11F & 0xFF = 0x1F, ^ 0x50


@pytest.mark.parametrize("r,amp", [(1000.0, 39603),      # 4e10 / (1e6 + 1e4)
                                   (100.0, 65535),       # capped
                                   (19999.0, 100),       # 4e10 / 399970001 = 100.007
                                   (0.5, 65535)])
def test_lrf_frame_range_and_amplitude(r, amp):
    assert _decode(_lrf(r).frame(0.0)) == (r, amp, 0x00)


def test_lrf_amplitude_floor_is_one():
    assert _decode(_lrf(1e6, max_range_m=2e6).frame(0.0))[1] == 1   # 4e10 / 1e12 = 0.04


def test_lrf_no_return_is_range_0_amplitude_0_status_no_target():
    assert _decode(_lrf(None).frame(0.0)) == (0.0, 0, 0x20)


def test_lrf_beyond_max_range_is_no_target_at_max_range_a_return():
    assert _decode(_lrf(20000.5).frame(0.0))[2] == 0x20
    assert _decode(_lrf(20000.0).frame(0.0)) == (20000.0, 99, 0x00)     # 4e10 / 400010000


def test_lrf_bias_to_zero_or_below_is_no_target():
    assert _decode(_lrf(5.0, faults=Faults(bias=-5.0)).frame(0.0))[2] == 0x20
    assert _decode(_lrf(5.0, faults=Faults(bias=-4.0)).frame(0.0))[0] == 1.0


def test_lrf_saturate_pins_the_range_at_max_range():
    assert _decode(_lrf(10.0, max_range_m=500.0, faults=Faults(saturate=True)).frame(0.0))[0] == 500.0
    assert _decode(_lrf(None, faults=Faults(saturate=True)).frame(0.0))[2] == 0x20


def test_lrf_valid_never_set_raises_the_fault_bit_on_every_frame():
    assert _decode(_lrf(10.0, faults=Faults(valid_never_set=True)).frame(0.0))[2] == 0x01
    assert _decode(_lrf(None, faults=Faults(valid_never_set=True)).frame(0.0))[2] == 0x21


def test_lrf_noise_is_gaussian_metres_from_the_fault_stream():
    emu = _lrf(1000.0, faults=Faults(noise=2.0, seed=6))
    ref = random.Random(6)
    for _ in range(4):
        assert emu.measured_range(0.0) == 1000.0 + ref.gauss(0.0, 2.0)


def test_lrf_stuck_freezes_the_last_range():
    emu = _lrf(300.0)
    emu.measured_range(0.0)
    emu.faults.stuck = True
    emu.range_m = 200.0
    assert emu.measured_range(0.1) == 300.0
    emu.faults.stuck = False
    assert emu.measured_range(0.2) == 200.0


def test_lrf_stuck_from_power_on_freezes_the_first_range():
    emu = _lrf(300.0, faults=Faults(stuck=True))
    assert emu.measured_range(0.0) == 300.0
    emu.range_m = 100.0
    assert emu.measured_range(0.1) == 300.0


def test_lrf_latency_reports_the_range_of_latency_s_ago():
    emu = _lrf(None, faults=Faults(latency_s=0.2))
    emu._hist.record(0.0, 50.0)
    emu._hist.record(1.0, 40.0)
    assert emu.measured_range(0.1) is None
    assert emu.measured_range(1.1) == 50.0 and emu.measured_range(1.2) == 40.0


def test_lrf_is_off_until_a_cmm_command_then_frames_at_its_rate():
    emu = _lrf(100.0)
    assert not emu.enabled and emu.uart_poll(1.0) == b""
    emu.uart_rx(_cmd(0xCC, 3, 0, 0))                      # CMM 10 Hz, from t = 1.0
    assert emu.enabled and emu.rate_hz == 10.0
    assert emu.uart_poll(1.099) == b""
    out = emu.uart_poll(1.25)                             # frames at 1.1 and 1.2
    assert len(out) == 44 and _decode(out[:22])[0] == 100.0


@pytest.mark.parametrize("mode,hz", [(1, 1.0), (2, 4.0), (3, 10.0), (4, 20.0), (5, 100.0), (6, 200.0)])
def test_lrf_cmm_modes_1_to_6_rates(mode, hz):
    emu = _lrf(100.0)
    emu.uart_rx(_cmd(0xCC, mode, 0, 0))
    assert emu.rate_hz == hz and emu._next_s == 1.0 / hz


def test_lrf_mode_7_is_not_a_mode():
    emu = _lrf(100.0)
    emu.uart_rx(_cmd(0xCC, 7, 0, 0))
    assert not emu.enabled and emu.uart_poll(1.0) == b""


def test_lrf_single_measurement_mode_0_answers_once():
    emu = _lrf(123.0)
    emu.now_s = 2.0
    emu.uart_rx(_cmd(0xCC, 0, 0, 0))
    assert not emu.enabled
    out = emu.uart_poll(3.0)
    assert len(out) == 22 and _decode(out)[0] == 123.0
    assert emu.uart_poll(4.0) == b""


def test_lrf_single_measurement_in_a_dropout_is_lost():
    emu = _lrf(123.0, faults=Faults(dropouts=[(0.0, 1.0)]))
    emu.uart_rx(_cmd(0xCC, 0, 0, 0))
    assert emu.uart_poll(3.0) == b""


def test_lrf_break_stops_cmm_and_is_answered():
    emu = _lrf(100.0)
    emu.uart_rx(_cmd(0xCC, 5, 0, 0))
    emu.uart_poll(0.0105)                                 # the frame at 0.01 begins
    emu.uart_poll(1.0)
    emu.uart_rx(_cmd(0xC6))
    assert not emu.enabled
    assert emu.uart_poll(2.0) == b"\x59\xc6\x00\x4f"


def test_lrf_bad_check_byte_is_ignored():
    emu = _lrf(100.0)
    emu.uart_rx(b"\xcc\x03\x00\x00\x80")                  # 0x81 expected
    assert not emu.enabled and emu.commands == []


def test_lrf_skips_unknown_bytes_and_waits_for_a_whole_command():
    emu = _lrf(100.0)
    cmd = _cmd(0xCC, 4, 0, 0)
    emu.uart_rx(b"\x00\x13" + cmd[:3])
    assert not emu.enabled
    emu.uart_rx(cmd[3:])
    assert emu.enabled and emu.rate_hz == 20.0 and emu.commands == [cmd]


@pytest.mark.parametrize("other", [_cmd(0xC5, 1), _cmd(0xC0), _cmd(0xC2)])
def test_lrf_other_commands_are_consumed_whole(other):
    emu = _lrf(100.0)
    emu.uart_rx(other + _cmd(0xCC, 6, 0, 0))
    assert emu.commands == [other, _cmd(0xCC, 6, 0, 0)] and emu.rate_hz == 200.0


def test_lrf_ignore_enable_counts_and_stays_off():
    emu = _lrf(100.0, faults=Faults(ignore_enable=True))
    emu.uart_rx(_cmd(0xCC, 3, 0, 0) + _cmd(0xCC, 0, 0, 0))
    assert emu.enables_ignored == 2 and not emu.enabled and emu.uart_poll(5.0) == b""


def test_lrf_power_cycle_turns_the_laser_off_and_drops_a_partial_command():
    emu = _lrf(100.0)
    emu.uart_rx(_cmd(0xCC, 3, 0, 0))
    emu.uart_rx(b"\xcc\x03")
    emu.power_cycle()
    assert not emu.enabled
    emu.uart_rx(_cmd(0xCC, 1, 0, 0))
    assert emu.rate_hz == 1.0


def test_lrf_cmm_dropout_skips_frames_in_the_window():
    emu = _lrf(100.0, faults=Faults(dropouts=[(0.15, 0.35)]))
    emu.uart_rx(_cmd(0xCC, 3, 0, 0))
    assert len(emu.uart_poll(0.45)) == 22 * 2             # 0.1, 0.4 (0.2, 0.3 lost)


# --- attitude-control unit: framed set-point protocol -------------------------------
from host_tools.emu import attitude as acu  # noqa: E402


def test_acu_checksum_makes_the_body_sum_zero_mod_256():
    assert acu.checksum(b"\x01\x05\x02\x10\x00") == (-0x18) & 0xFF == 0xE8
    assert acu.frame(acu.PING, 0x107) == b"\xa5\x02\x07\x00\xf7"   # seq taken mod 256


def _set(seq, bau):
    v = bau & 0xFFFF
    return acu.frame(acu.SET, seq, bytes([v & 0xFF, v >> 8]))


def test_acu_set_is_applied_and_answered_with_the_setpoint():
    emu = acu.AttitudeUnitEmu(latency_s=0.001)
    emu.uart_rx(_set(9, -1000))
    assert emu.setpoint == -1000 and emu.frames_ok == 1
    assert emu.uart_poll(1.0) == acu.frame(0x81, 9, bytes([0, 0x18, 0xFC]))   # -1000 = 0xFC18
    assert emu.pitch_cmd_rad == pytest.approx(-1000 * 2 * math.pi / 65536)


def test_acu_setpoint_is_clamped_to_the_travel():
    emu = acu.AttitudeUnitEmu(travel_deg=45.0)                # 45 / 360 * 65536 = 8192
    emu.uart_rx(_set(1, 9000))
    assert emu.setpoint == 8192
    emu.uart_rx(_set(2, -9000))
    assert emu.setpoint == -8192
    emu.uart_rx(_set(3, 8191))
    assert emu.setpoint == 8191


def test_acu_ping_is_answered():
    emu = acu.AttitudeUnitEmu()
    emu.uart_rx(acu.frame(acu.PING, 4))
    assert emu.uart_poll(1.0) == acu.frame(0x82, 4) and emu.frames_ok == 1


@pytest.mark.parametrize("raw,reason", [
    (acu.frame(acu.SET, 5, b"\x01\x00")[:-1] + b"\x00", 1),     # bad check byte
    (acu.frame(0x03, 5), 2),                                  # unknown command
    (acu.frame(acu.SET, 5, b"\x01"), 3),                     # wrong length
    (acu.frame(acu.PING, 5, b"\x01"), 3),
])
def test_acu_refusals_are_nakked_with_the_reason(raw, reason):
    emu = acu.AttitudeUnitEmu()
    emu.uart_rx(raw)
    assert emu.naks == 1 and emu.frames_ok == 0 and emu.setpoint == 0
    assert emu.uart_poll(1.0) == acu.frame(acu.NAK, 5, bytes([reason]))


def test_acu_skips_bytes_before_sync_and_waits_for_the_whole_frame():
    emu = acu.AttitudeUnitEmu()
    f = _set(1, 100)
    emu.uart_rx(b"\x00\x11" + f[:3])
    assert emu.frames_ok == 0
    emu.uart_rx(f[3:5])
    assert emu.frames_ok == 0
    emu.uart_rx(f[5:])
    assert emu.frames_ok == 1 and emu.setpoint == 100


def test_acu_garbage_without_sync_is_dropped():
    emu = acu.AttitudeUnitEmu()
    emu.uart_rx(b"\x01\x02\x03")
    assert emu._buf == b""
    emu.uart_rx(_set(1, 7))
    assert emu.setpoint == 7


def test_acu_length_over_8_is_not_a_frame_resync_from_the_next_byte():
    emu = acu.AttitudeUnitEmu()
    emu.uart_rx(b"\xa5\x01\x00\x09" + _set(2, 50))
    assert emu.setpoint == 50 and emu.naks == 0


def test_acu_resynchronises_after_a_bad_check_byte_inside_the_frame():
    emu = acu.AttitudeUnitEmu()
    good = _set(3, 77)
    emu.uart_rx(b"\xa5\x01\x03\x02" + good)               # a false sync before a good frame
    assert emu.setpoint == 77 and emu.frames_ok == 1


def test_acu_stuck_keeps_the_setpoint_and_answers_it():
    emu = acu.AttitudeUnitEmu(faults=Faults(stuck=True))
    emu.uart_rx(_set(1, 500))
    assert emu.setpoint == 0
    assert emu.uart_poll(1.0) == acu.frame(0x81, 1, bytes([0, 0, 0]))


def test_acu_bias_adds_radians_and_dropout_silences_answers():
    emu = acu.AttitudeUnitEmu(faults=Faults(bias=0.01, dropouts=[(0.0, 1.0)]))
    emu.uart_rx(_set(1, 0))
    assert emu.pitch_cmd_rad == 0.01 and emu.uart_poll(2.0) == b""


def test_acu_answer_leaves_after_the_latency():
    emu = acu.AttitudeUnitEmu(baudrate=1000, latency_s=0.5)
    emu.now_s = 1.0
    emu.uart_rx(acu.frame(acu.PING, 1))
    assert emu.last_rx_s == 1.0
    assert emu.uart_poll(1.505) == b"" and emu.uart_poll(1.515) == b"\xa5"


# --- defaults and the device contract (bus.py: every part has `faults` and `now_s`) ---
@pytest.mark.parametrize("make", [LegsEmu, PowerEmu, WdtEmu, EngineEmu, RadioEmu, FlashEmu,
                                  TfLunaEmu, LaserAltimeterEmu, acu.AttitudeUnitEmu])
def test_every_part_keeps_the_faults_it_is_given_or_makes_its_own(make):
    f = Faults(seed=3)
    assert make(faults=f).faults is f
    assert isinstance(make().faults, Faults)


def test_legs_default_to_four_switches_at_time_zero():
    emu = LegsEmu(faults=Faults(dropouts=[(0.0, 0.5)]))
    assert emu.contacts == [False] * 4
    emu.contacts[3] = True
    assert emu.level(3) is None                           # t = 0 is inside the dropout


def test_legs_chatter_inverts_an_open_switch_too():
    emu = LegsEmu(1)
    emu.chatter_rate = 1.0
    assert emu.level(0) == 0


def test_legs_zero_chatter_draws_nothing_from_the_fault_stream():
    emu = LegsEmu(1, faults=Faults(seed=8))
    for _ in range(10):
        emu.level(0)
    emu.chatter_rate = 0.5
    ref = random.Random(8)
    assert [emu.level(0) for _ in range(20)] == [0 if ref.random() < 0.5 else None
                                                 for _ in range(20)]


def test_wdt_state_flags_are_booleans():
    emu = WdtEmu()
    assert emu.started is False and emu.expired is False
    emu.start(1)                                          # 1 ms is a valid timeout
    assert emu.started is True and emu.timeout_s == 0.001
    emu.tick(0.01)
    assert emu.expired is True
    emu.reset()
    assert emu.started is False and emu.expired is False


def test_wdt_bad_timeout_message_names_the_watchdog():
    with pytest.raises(ValueError, match="^WDT timeout$"):
        WdtEmu().start(0)


def test_wdt_counts_every_feed():
    emu = WdtEmu()
    emu.start(100)
    for _ in range(3):
        emu.feed()
    assert emu.feeds == 3


def test_settle_bench_time_is_in_microseconds():
    assert settle.now_us(types.SimpleNamespace(now_s=1.5)) - settle.now_us(object()) == 1_500_000


def test_power_default_divider_is_100k_over_10k_with_a_3v3_reference():
    emu = PowerEmu()
    assert emu.ratio == 10e3 / 110e3 and emu.vref_v == 3.3


def test_power_fresh_part_is_at_time_zero():
    assert PowerEmu(faults=Faults(dropouts=[(0.0, 1.0)])).read_u16() == 0


def test_engine_fresh_part_is_at_time_zero_and_unwired_reads_no_thrust():
    emu = EngineEmu(hold_s=0.5)
    assert emu.throttle_cmd == 0.0 and emu.pitch_cmd_rad == 0.0
    emu.connect(None, _Pin(1))
    assert emu.armed is True                              # t = 0: the hold began, the line arms
    emu.now_s = 0.6
    assert emu.armed is False


def test_engine_uses_the_bench_clock_when_attached():
    emu, thr, _, _ = _engine(1500.0, hold_s=0.5)
    clock = _Clock(0.0)
    emu.clock = clock
    assert emu.throttle_cmd == 0.5
    thr.enabled = False
    emu.now_s = 100.0                                     # ignored: the clock rules
    assert emu.throttle_cmd == 0.5
    clock.now_s = 0.6
    assert emu.throttle_cmd == 0.0


def test_engine_pulse_of_exactly_800_us_is_a_live_zero_thrust_signal():
    emu, thr, _, _ = _engine(1500.0, hold_s=10.0)
    assert emu.throttle_cmd == 0.5
    thr.duty_ns = 800_000
    assert emu.throttle_cmd == 0.0


def test_engine_does_not_hook_a_pwm_without_change_notification():
    thr = _Pwm(1500.0)
    EngineEmu().connect(thr, _Pin(1))
    assert not hasattr(thr, "on_change")


def test_radio_defaults_2000_bps_air_57600_baud_serial_1024_byte_buffer():
    emu = RadioEmu()
    assert emu.max_fill == 0
    emu.uart_rx(bytes(767))
    assert emu.cts_level() == 0
    emu.uart_rx(bytes(1))
    assert emu.cts_level() == 1                           # 1024 - 256 = 768
    emu.advance(1.0)
    assert len(emu.downlink) == 250                       # 2000 bit/s = 250 bytes/s
    emu.now_s = 1.0
    emu.send_uplink(b"ab")
    assert emu.uart_poll(1.0 + 10 / 57600 * 1.5) == b"a"


def test_radio_counts_every_byte_received():
    emu = RadioEmu()
    emu.uart_rx(b"abc")
    emu.uart_rx(b"de")
    assert emu.received == 5


# --- BMP390 barometer: register map, power modes, compensation (BST-BMP390-DS002) ------
from host_tools.emu import bmp390 as b3  # noqa: E402
from tests.test_drivers_bmp390 import par_float, ref_pressure, ref_temperature  # noqa: E402

# every coefficient non-zero, so that each one's scaling shows
NVM_ALL = dict(T1=27000, T2=19000, T3=-12, P1=-150, P2=-2800, P3=30, P4=-3, P5=25000,
               P6=31000, P7=-11, P8=-9, P9=17000, P10=20, P11=-55)


@pytest.mark.parametrize("nvm", [b3.NVM_DEFAULT, NVM_ALL])
def test_bmp390_float_coefficients_are_the_datasheet_scalings(nvm):
    assert b3.float_coefficients(nvm) == par_float(nvm)


@pytest.mark.parametrize("ut,up", [(8_000_000, 6_000_000), (8_500_000, 7_200_000), (7_600_000, 5_000_000)])
def test_bmp390_compensation_is_the_datasheet_formula(ut, up):
    c = b3.float_coefficients(NVM_ALL)
    t = b3.compensate_t(c, ut)
    assert t == pytest.approx(ref_temperature(c, ut), rel=1e-12)
    assert b3.compensate_p(c, up, t) == pytest.approx(ref_pressure(c, up, t), rel=1e-12)


@pytest.mark.parametrize("p,t", [(101325.0, 20.0), (30000.0, -20.0), (110000.0, 45.0), (70000.0, 0.0)])
def test_bmp390_raw_counts_compensate_back_to_the_physical_input(p, t):
    emu = b3.Bmp390Emu(nvm=NVM_ALL)
    up, ut = emu.raw_from_physical(p, t)
    c = par_float(NVM_ALL)
    t_lin = ref_temperature(c, ut)
    assert abs(t_lin - t) < 2e-4                          # half a count of temperature
    assert abs(ref_pressure(c, up, t_lin) - p) < 0.02     # about half a count of pressure


def _bmp(**kw):
    return b3.Bmp390Emu(**kw)


def _rd(emu, reg, n=1):
    out = emu.i2c_read(reg, n)
    return out[0] if n == 1 else out


def test_bmp390_power_on_register_values():
    emu = _bmp()
    assert _rd(emu, 0x00, 4) == b"\x60\x01\x00\x10"       # CHIP_ID, REV_ID, ERR_REG, STATUS
    assert _rd(emu, 0x04, 6) == b"\x00\x00\x80\x00\x00\x80"
    assert _rd(emu, 0x19) == 0x02 and _rd(emu, 0x1C) == 0x02 and _rd(emu, 0x1B) == 0x00
    assert _rd(emu, 0x31, 21) == struct.pack(b3.NVM_FORMAT, *(b3.NVM_DEFAULT[k] for k in b3.NVM_ORDER))


def test_bmp390_nvm_bytes_follow_the_given_calibration():
    emu = _bmp(nvm=NVM_ALL)
    assert _rd(emu, 0x31, 21) == struct.pack("<HHbhhbbHHbbhbb", *(NVM_ALL[k] for k in b3.NVM_ORDER))


def test_bmp390_wrong_id_reads_a_bmp388():
    assert _rd(_bmp(faults=Faults(wrong_id=True)), 0x00) == 0x50


def test_bmp390_event_and_int_status_clear_on_read():
    emu = _bmp()
    assert _rd(emu, 0x10) == 0x01 and _rd(emu, 0x10) == 0x00
    emu.regs[0x11] = 0x08
    assert _rd(emu, 0x11) == 0x08 and _rd(emu, 0x11) == 0x00


def test_bmp390_err_reg_read_clears_cmd_and_conf_errors_not_fatal():
    emu = _bmp()
    emu.regs[0x02] = 0x07
    assert _rd(emu, 0x02) == 0x07 and _rd(emu, 0x02) == 0x01


def test_bmp390_burst_read_wraps_at_0x7f_and_ignores_bit_7():
    emu = _bmp()
    emu.regs[0x7F] = 0xAB
    assert _rd(emu, 0x7F, 2) == b"\xab\x60"
    assert _rd(emu, 0x80) == 0x60


def test_bmp390_sensortime_counts_39_0625_us():
    emu = _bmp()
    emu.now_s = 1.0
    assert _rd(emu, 0x0C, 3) == b"\x00\x64\x00"           # 1 s / 39.0625 us = 25600


def test_bmp390_writes_to_read_only_registers_are_dropped():
    emu = _bmp()
    for reg in (0x00, 0x03, 0x04, 0x14, 0x31, 0x57):
        emu.i2c_write(reg, b"\x5a")
    assert _rd(emu, 0x00) == 0x60 and _rd(emu, 0x04) == 0x00 and emu.regs[0x14] == 0
    assert emu.regs[0x57] == 0
    for reg in (0x15, 0x2F, 0x58):
        emu.i2c_write(reg, b"\x5a")
        assert emu.regs[reg] == 0x5A


def test_bmp390_multi_byte_write_is_register_data_pairs():
    emu = _bmp()
    emu.i2c_write(0x1C, bytes([0x05, 0x1D, 0x03, 0x1F, 0x04, 0x19]))   # trailing byte unpaired
    assert (emu.regs[0x1C], emu.regs[0x1D], emu.regs[0x1F], emu.regs[0x19]) == (0x05, 0x03, 0x04, 0x02)
    emu.i2c_write(0x1C, b"")
    assert emu.regs[0x1C] == 0x05


@pytest.mark.parametrize("pwr,osr,us", [
    (0x03, 0x02, 234 + 392 + 4 * 2020 + 163 + 2020),      # 10,889 us
    (0x01, 0x05, 234 + 392 + 32 * 2020),
    (0x02, 0x18, 234 + 163 + 8 * 2020),                   # osr_t = 3
    (0x00, 0x3F, 234),
])
def test_bmp390_conversion_time_is_the_datasheet_formula(pwr, osr, us):
    emu = _bmp()
    emu.regs[0x1B], emu.regs[0x1C] = pwr, osr
    assert emu.conversion_time_s() == pytest.approx(us * 1e-6, abs=1e-12)


@pytest.mark.parametrize("odr,s", [(0, 0.005), (1, 0.01), (5, 0.16), (17, 655.36), (18, 655.36), (0x3F, 655.36)])
def test_bmp390_odr_period_is_5_ms_times_2_to_the_odr_sel(odr, s):
    emu = _bmp()
    emu.regs[0x1D] = odr
    assert emu.odr_period_s() == pytest.approx(s)


def test_bmp390_normal_mode_too_fast_for_the_conversion_sets_conf_err_and_sleeps():
    emu = _bmp()
    emu.i2c_write(0x1D, b"\x01")                          # 10 ms < 10.889 ms
    emu.i2c_write(0x1B, b"\x33")
    assert emu.mode() == 0 and emu.regs[0x1B] == 0x03 and _rd(emu, 0x02) == 0x04
    emu.i2c_write(0x1D, b"\x02")                          # 20 ms
    emu.i2c_write(0x1B, b"\x33")
    assert emu.mode() == 3 and _rd(emu, 0x02) == 0x00


def test_bmp390_pwr_ctrl_keeps_only_its_defined_bits():
    emu = _bmp()
    emu.i2c_write(0x1D, b"\x05")
    emu.i2c_write(0x1B, b"\xff")
    assert emu.regs[0x1B] == 0x33


def _raw24(b):
    return b[0] | b[1] << 8 | b[2] << 16


def test_bmp390_forced_conversion_after_the_conversion_time_then_sleep():
    emu = _bmp()
    emu.i2c_write(0x1B, b"\x13")                          # forced, pressure + temperature
    emu.now_s = 0.010888
    assert _rd(emu, 0x03) == 0x10 and emu.samples == 0
    emu.now_s = 0.010889
    assert _rd(emu, 0x03) == 0x70 and emu.samples == 1 and emu.regs[0x1B] == 0x03
    up, ut = emu.raw_from_physical(101325.0, 20.0)
    data = _rd(emu, 0x04, 6)
    assert (_raw24(data[:3]), _raw24(data[3:])) == (up, ut)
    assert _rd(emu, 0x11) == 0x08
    emu.now_s = 1.0
    _rd(emu, 0x03)
    assert emu.samples == 1                               # one conversion only


def test_bmp390_forced_mode_2_is_forced_too():
    emu = _bmp()
    emu.i2c_write(0x1B, b"\x23")
    emu.now_s = 0.02
    _rd(emu, 0x03)
    assert emu.samples == 1 and emu.mode() == 0


def test_bmp390_data_reads_clear_their_own_drdy_bit():
    emu = _bmp()
    emu.i2c_write(0x1B, b"\x13")
    emu.now_s = 0.02
    _rd(emu, 0x06)                                        # the last pressure byte
    assert emu.regs[0x03] == 0x50
    _rd(emu, 0x07)                                        # the first temperature byte
    assert emu.regs[0x03] == 0x10


def test_bmp390_only_the_enabled_channels_convert():
    emu = _bmp()
    emu.i2c_write(0x1B, b"\x11")                          # pressure only
    emu.now_s = 0.02
    assert _rd(emu, 0x03) == 0x30 and _rd(emu, 0x07, 3) == b"\x00\x00\x80"
    emu2 = _bmp()
    emu2.i2c_write(0x1B, b"\x12")                         # temperature only
    emu2.now_s = 0.02
    assert _rd(emu2, 0x03) == 0x50 and _rd(emu2, 0x04, 3) == b"\x00\x00\x80"
    assert _raw24(_rd(emu2, 0x07, 3)) == emu2.raw_from_physical(101325.0, 20.0)[1]


def test_bmp390_normal_mode_converts_once_per_odr_period_boundary():
    emu = _bmp()
    emu.i2c_write(0x1C, b"\x00")                          # osr x1: 4,829 us fits 5 ms
    emu.i2c_write(0x1B, b"\x33")
    assert emu.mode() == 3
    for t, n in ((0.0049, 0), (0.0051, 1), (0.0099, 1), (0.0149, 2), (0.05, 3)):
        emu.now_s = t
        _rd(emu, 0x03)
        assert emu.samples == n, t


def test_bmp390_leaving_normal_mode_stops_conversions():
    emu = _bmp()
    emu.i2c_write(0x1C, b"\x00")
    emu.i2c_write(0x1B, b"\x33")
    emu.now_s = 0.0051
    emu.i2c_write(0x1B, b"\x03")
    emu.now_s = 0.1
    _rd(emu, 0x03)
    assert emu.samples == 1 and emu.mode() == 0


def _forced(emu, t, p=None):
    if p is not None:
        emu.pressure_pa = p
    emu.now_s = t
    emu.i2c_write(0x1B, b"\x13")
    emu.now_s = t + 0.02
    return _raw24(_rd(emu, 0x04, 3))


def test_bmp390_iir_filter_coefficient_2_to_the_n_minus_1():
    emu = _bmp()
    emu.i2c_write(0x1F, b"\x04")                          # iir_filter = 2: coefficient 3
    raw1 = _forced(emu, 0.0, 100000.0)
    assert raw1 == emu.raw_from_physical(100000.0, 20.0)[0]   # the first sample seeds it
    raw2_in = emu.raw_from_physical(90000.0, 20.0)[0]
    assert _forced(emu, 1.0, 90000.0) == int(round((raw1 * 3 + raw2_in) / 4))


def test_bmp390_iir_off_passes_samples_through():
    emu = _bmp()
    _forced(emu, 0.0, 100000.0)
    assert _forced(emu, 1.0, 90000.0) == emu.raw_from_physical(90000.0, 20.0)[0]


def test_bmp390_saturate_pins_the_pressure_adc_at_full_scale():
    assert _forced(_bmp(faults=Faults(saturate=True)), 0.0) == 0xFFFFFF


def test_bmp390_stuck_makes_no_new_conversion():
    emu = _bmp(faults=Faults(stuck=True))
    assert _forced(emu, 0.0) == 0x800000 and emu.samples == 0


def test_bmp390_bias_and_noise_are_pascals_on_pressure():
    emu = _bmp(faults=Faults(bias=250.0))
    assert _forced(emu, 0.0) == emu.raw_from_physical(101575.0, 20.0)[0]
    emu2 = _bmp(faults=Faults(noise=30.0, seed=5))
    p = 101325.0 + random.Random(5).gauss(0.0, 30.0)
    assert _forced(emu2, 0.0) == emu2.raw_from_physical(p, 20.0)[0]


def test_bmp390_non_finite_input_makes_no_conversion():
    emu = _bmp()
    emu.pressure_pa = float("nan")
    assert _forced(emu, 0.0) == 0x800000 and emu.samples == 0


def test_bmp390_valid_never_set_converts_without_drdy():
    emu = _bmp(faults=Faults(valid_never_set=True))
    raw = _forced(emu, 0.0)
    assert emu.samples == 1 and raw == emu.raw_from_physical(101325.0, 20.0)[0]
    assert emu.regs[0x03] == 0x10 and _rd(emu, 0x11) == 0x00


def test_bmp390_ignore_enable_ignores_pwr_ctrl():
    emu = _bmp(faults=Faults(ignore_enable=True))
    emu.i2c_write(0x1B, b"\x13")
    assert emu.regs[0x1B] == 0 and emu.mode() == 0


def test_bmp390_latency_converts_the_input_of_latency_s_ago():
    emu = _bmp(faults=Faults(latency_s=0.1))
    first = _forced(emu, 0.0, 100000.0)                   # nothing that old yet: the present
    assert first == emu.raw_from_physical(100000.0, 20.0)[0]
    assert _forced(emu, 0.2, 90000.0) == first            # the input recorded at 0.02


def test_bmp390_soft_reset_restores_power_on_values_and_is_busy_2_ms():
    emu = _bmp()
    emu.i2c_write(0x1C, b"\x05")
    emu.now_s = 1.0
    emu.i2c_write(0x7E, b"\xb6")
    assert emu.regs[0x1C] == 0x02 and emu.regs[0x10] == 0x01
    emu.now_s = 1.0019
    assert _rd(emu, 0x03) == 0x00                         # cmd_rdy clear while busy
    emu.i2c_write(0x1C, b"\x07")
    emu.i2c_write(0x7E, b"\xb6")
    assert emu.regs[0x1C] == 0x02 and emu.ignored_writes == 2 and emu.regs[0x02] == 0x02
    emu.now_s = 1.002
    assert _rd(emu, 0x03) == 0x10
    emu.i2c_write(0x1C, b"\x07")
    assert emu.regs[0x1C] == 0x07


def test_bmp390_unknown_command_sets_cmd_err_fifo_flush_does_not():
    emu = _bmp()
    emu.i2c_write(0x7E, b"\xb0")
    assert emu.regs[0x02] == 0
    emu.i2c_write(0x7E, b"\x12")
    assert emu.regs[0x02] == 0x02


def test_bmp390_configuration_writes_within_5_ms_of_leaving_normal_mode_are_dropped():
    emu = _bmp()
    emu.i2c_write(0x1C, b"\x00")
    emu.i2c_write(0x1B, b"\x33")
    emu.now_s = 1.0
    emu.i2c_write(0x1B, b"\x03")                          # normal -> sleep
    emu.now_s = 1.0049
    for reg in (0x1C, 0x1D, 0x1F):
        emu.i2c_write(reg, b"\x01")
    assert emu.ignored_writes == 3 and emu.regs[0x1C] == 0 and emu.regs[0x1D] == 0
    emu.i2c_write(0x19, b"\x03")                          # not a configuration register
    assert emu.regs[0x19] == 0x03
    emu.now_s = 1.005
    emu.i2c_write(0x1C, b"\x01")
    assert emu.regs[0x1C] == 0x01


def test_bmp390_forced_to_sleep_from_forced_mode_has_no_settle_wait():
    emu = _bmp()
    emu.i2c_write(0x1B, b"\x13")
    emu.i2c_write(0x1B, b"\x03")
    emu.i2c_write(0x1C, b"\x01")
    assert emu.regs[0x1C] == 0x01


# --- streams: several commands in one write, counters over several events -----------
def test_acu_several_frames_in_one_write_are_each_handled_and_counted():
    emu = acu.AttitudeUnitEmu()
    bad_ck = acu.frame(acu.SET, 1, b"\x01\x00")[:-1] + b"\x00"
    emu.uart_rx(acu.frame(0x03, 2) + acu.frame(acu.PING, 3, b"\x01") + _set(4, 40)
                + acu.frame(0x04, 5) + acu.frame(acu.PING, 6) + _set(7, 70))
    assert emu.naks == 3 and emu.frames_ok == 3 and emu.setpoint == 70
    emu.uart_rx(bad_ck)
    assert emu.naks == 4


def test_acu_a_header_with_an_impossible_length_is_dropped_at_once():
    emu = acu.AttitudeUnitEmu()
    emu.uart_rx(b"\xa5\x01\x00\x09")
    assert emu._buf == b""


def test_acu_eight_payload_bytes_is_still_a_frame():
    emu = acu.AttitudeUnitEmu()
    emu.uart_rx(acu.frame(0x03, 1, bytes(8)))
    assert emu.uart_poll(1.0) == acu.frame(acu.NAK, 1, b"\x02")


def test_acu_defaults_60_degree_travel_and_no_frame_yet():
    emu = acu.AttitudeUnitEmu()
    assert emu.last_rx_s is None
    emu.uart_rx(_set(1, 20000))
    assert emu.setpoint == 10923                          # 60 / 360 * 65536 = 10922.7


def test_acu_answers_at_the_time_of_the_last_poll_plus_latency():
    emu = acu.AttitudeUnitEmu(baudrate=1000, latency_s=0.0)
    emu.uart_poll(2.0)
    emu.uart_rx(acu.frame(acu.PING, 1))
    assert emu.uart_poll(2.005) == b"" and emu.uart_poll(2.0105) == b"\xa5"


def test_flash_default_mode_is_read_only_and_errors_say_why():
    fs = FlashEmu()
    fs.files["/a"] = bytearray(b"x")
    f = fs.open("/a")
    assert f.closed is False
    with pytest.raises(OSError) as e:
        f.write(b"y")
    assert (e.value.errno, e.value.strerror) == (errno.EBADF, "read-only")
    fs.fail_writes = True
    with pytest.raises(OSError) as e:
        fs.open("/b", "wb").write(b"y")
    assert (e.value.errno, e.value.strerror) == (errno.EIO, "flash write failed")
    fs.power_cut()
    with pytest.raises(OSError) as e:
        f.read()
    assert (e.value.errno, e.value.strerror) == (errno.EIO, "file closed by power cut")
    with pytest.raises(OSError) as e:
        fs.open("/missing")
    assert (e.value.errno, e.value.strerror) == (errno.ENOENT, "/missing")


def test_flash_read_zero_bytes_reads_nothing():
    fs = FlashEmu()
    fs.files["/a"] = bytearray(b"abc")
    f = fs.open("/a", "rb")
    assert f.read(0) == b"" and f.tell() == 0


def test_flash_every_power_cut_closes_the_files_opened_before_it():
    fs = FlashEmu()
    fs.files["/a"] = bytearray(b"abc")
    fs.power_cut()
    f = fs.open("/a", "rb")
    fs.power_cut()
    _oserr(lambda: f.read(), errno.EIO)


def test_lrf_fresh_part_has_no_return_and_1_hz_mode_frames():
    emu = LaserAltimeterEmu()
    assert emu.measured_range(0.0) is None
    emu.range_m = 50.0
    emu.uart_rx(_cmd(0xCC, 1, 0, 0))
    assert len(emu.uart_poll(2.5)) == 44                  # 1 Hz: frames at 1 s and 2 s


def test_lrf_a_bad_command_does_not_hide_the_next_one():
    emu = _lrf(100.0)
    emu.uart_rx(b"\xcc\x03\x00\x00\x80" + _cmd(0xCC, 2, 0, 0))
    assert emu.rate_hz == 4.0


def test_lrf_amplitude_is_4e10_over_r_squared_plus_1e4():
    assert _decode(_lrf(3000.0).frame(0.0))[1] == 4439   # 4e10 / 9,010,000 = 4439.5


def test_radio_default_air_and_serial_rates():
    emu = RadioEmu()
    emu.uart_rx(b"ab")
    emu.advance(0.01)
    assert emu.downlink_times == [0.004, 0.008]           # 8 bits at 2000 bit/s
    assert emu.up.byte_s == 10.0 / 57600


def test_uart_garbage_and_truncation_counters_accumulate():
    line = UartStreamer(1000, Faults(garbage_rate=1.0, seed=2))
    line.send(0.0, b"A")
    first = line.garbage_out
    line.send(0.0, b"B")
    assert line.garbage_out > first and line.garbage_out == len(line.poll(100.0)) - 2


def test_uart_zero_rates_draw_nothing_from_the_fault_stream():
    line = UartStreamer(1000, Faults(seed=4))             # garbage and bit flips off
    line.truncate_rate = 1.0
    ref = random.Random(4)
    expect = []
    for frame in (b"ABCDEFGH", b"abcdefgh"):
        assert ref.random() < 1.0
        expect.append(frame[:ref.randrange(1, len(frame))])
        line.send(0.0, frame)
    assert line.poll(100.0) == b"".join(expect)


def test_uart_garbage_runs_take_every_length_1_to_8():
    lens = set()
    for seed in range(80):
        line = UartStreamer(1000, Faults(garbage_rate=1.0, seed=seed))
        line.send(0.0, b"F")
        lens.add(line.garbage_out)
    assert lens == set(range(1, 9))


def test_uart_byte_boundaries_count_whole_bytes_despite_float_rounding():
    line = UartStreamer(1000, Faults())
    line.send(0.0, bytes(40))
    assert 0.29 / 0.01 < 29                                # 28.999999999999996
    assert len(line.poll(0.29)) == 29


def test_history_keeps_the_last_4096_values():
    h = History()
    for i in range(4097):
        h.record(float(i), i)
    assert h.at(0.5, "gone") == "gone" and h.at(1.0, None) == 1


def test_history_same_time_twice_is_not_a_restart():
    h = History()
    h.record(0.0, "x")
    h.record(1.0, "a")
    h.record(1.0, "b")
    assert h.at(0.5, None) == "x" and h.at(1.0, None) == "b"


def test_lrf_line_is_115200_baud_and_noise_off_draws_nothing():
    emu = _lrf(100.0, faults=Faults(seed=12))
    assert emu.line.byte_s == 10.0 / 115200
    emu.truncate_rate = 1.0
    emu.uart_rx(_cmd(0xCC, 0, 0, 0))                      # one measurement, truncated
    ref = random.Random(12)
    assert ref.random() < 1.0
    assert len(emu.uart_poll(1.0)) == ref.randrange(1, 22)
