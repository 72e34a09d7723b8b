"""The small drivers pinned on frames and readings written by hand from the
datasheets (no emulator: the expectations come from the TF-Luna manual's
9-byte frame, the ADC's 16-bit reading and the switch levels, not from the
emulators' constants): TF-Luna (firmware/lander/drivers/tfluna.py) and its
receive window (uart_rx.py), the leg switches (legs.py), the bus voltage
(power.py). In the fw-drivers mutation group (docs/mutation.md)."""
import pytest

from lander.drivers import INVALID, NOT_READY, OK, OUT_OF_RANGE
from lander.drivers.legs import Legs
from lander.drivers.power import Power
from lander.drivers.tfluna import TfLuna
from lander.drivers.uart_rx import RxWindow
from tests.app_fakes import drain_events, fresh_event_ring  # noqa: F401

pytestmark = pytest.mark.usefixtures("fresh_event_ring")

# event codes from the drivers' documented ranges (events.py)
EV_LUNA_CHECKSUM = 0x0140
EV_LEG_CONTACT = 0x0160
EV_LEG_RELEASE = 0x0161
EV_POWER_LOW = 0x0180
EV_POWER_OK = 0x0181


class Uart:
    """A UART holding queued chunks: each readinto() hands over at most one
    chunk (and at most `n` octets of it); an OSError chunk raises."""

    def __init__(self, *chunks):
        self.chunks = list(chunks)
        self.asked = []

    def readinto(self, buf, n):
        self.asked.append(n)
        if not self.chunks:
            return None
        c = self.chunks[0]
        if c is OSError:
            self.chunks.pop(0)
            raise OSError(5)
        take = c[:n]
        if len(take) == len(c):
            self.chunks.pop(0)
        else:
            self.chunks[0] = c[n:]
        buf[:len(take)] = take
        return len(take)


def luna(dist_cm, amp, temp_raw, bad_sum=False):
    """A TF-Luna standard frame (manual, Appendix I): 0x59 0x59, distance cm,
    strength, temperature (degC = raw / 8 - 256), each little-endian 16-bit,
    then the low octet of the sum of the eight octets before it."""
    body = bytes([0x59, 0x59, dist_cm & 0xFF, dist_cm >> 8, amp & 0xFF, amp >> 8,
                  temp_raw & 0xFF, temp_raw >> 8])
    s = sum(body) & 0xFF
    return body + bytes([(s + 1) & 0xFF if bad_sum else s])


# ------------------------------------------------------------ TF-Luna

def test_tfluna_starts_not_ready_with_nothing_counted():
    d = TfLuna(Uart())
    assert (d.status, d.distance_mm, d.strength, d.temperature_cdeg) == (NOT_READY, 0, 0, 0)
    assert (d.frames, d.errors, d.checksum_errors, d.skipped_bytes, d.invalid,
            d.out_of_range) == (0, 0, 0, 0, 0, 0)
    assert d.max_range_mm == 8000


def test_tfluna_decodes_distance_strength_and_temperature():
    # 0x0201 = 513 cm, strength 0x0304 = 772, temperature raw 0x0905 = 2309:
    # 2309 / 8 - 256 = 32.625 degC -> 3262 cdeg (floored)
    d = TfLuna(Uart(luna(513, 772, 2309)))
    assert d.read() == OK and d.status == OK
    assert (d.distance_mm, d.strength, d.temperature_cdeg) == (5130, 772, 3262)
    assert d.frames == 1 and d.errors == 0


def test_tfluna_temperature_below_zero():
    # raw 1800: 225 - 256 = -31 degC
    d = TfLuna(Uart(luna(100, 1000, 1800)))
    d.read()
    assert d.temperature_cdeg == -3100


def test_tfluna_strength_99_is_invalid_and_keeps_the_last_distance():
    d = TfLuna(Uart(luna(300, 1000, 2048), luna(400, 99, 2048)))
    assert d.read() == OK and d.distance_mm == 3000
    assert d.read() == INVALID and d.status == INVALID
    assert (d.distance_mm, d.strength, d.invalid, d.frames) == (3000, 99, 1, 2)


def test_tfluna_strength_100_and_65534_are_valid_65535_is_not():
    d = TfLuna(Uart(luna(200, 100, 2048), luna(210, 65534, 2048), luna(220, 65535, 2048)))
    assert d.read() == OK and d.distance_mm == 2000
    assert d.read() == OK and d.distance_mm == 2100
    assert d.read() == INVALID and d.strength == 65535 and d.distance_mm == 2100


def test_tfluna_range_limit_is_inclusive():
    d = TfLuna(Uart(luna(800, 500, 2048), luna(801, 500, 2048)))
    assert d.read() == OK and d.distance_mm == 8000 and d.out_of_range == 0
    assert d.read() == OUT_OF_RANGE and d.status == OUT_OF_RANGE
    assert d.distance_mm == 8010 and d.out_of_range == 1


def test_tfluna_range_limit_given():
    d = TfLuna(Uart(luna(1200, 500, 2048)), max_range_mm=12000)
    assert d.max_range_mm == 12000 and d.read() == OK and d.distance_mm == 12000


def test_tfluna_several_frames_in_one_read_report_the_last():
    d = TfLuna(Uart(luna(150, 500, 2048) + luna(160, 50, 2048)))
    assert d.read() == INVALID and d.frames == 2 and d.distance_mm == 1500


def test_tfluna_a_partial_frame_waits_for_its_rest():
    f = luna(250, 500, 2048)
    d = TfLuna(Uart(f[:8], f[8:]))
    assert d.read() == NOT_READY and d.status == NOT_READY and d.frames == 0
    assert d.read() == OK and d.distance_mm == 2500 and d.skipped_bytes == 0


def test_tfluna_a_read_with_nothing_new_keeps_the_status():
    d = TfLuna(Uart(luna(250, 500, 2048)))
    assert d.read() == OK
    assert d.read() == NOT_READY and d.status == OK


def test_tfluna_octets_before_the_header_are_skipped_and_counted():
    d = TfLuna(Uart(bytes([0x00, 0x59, 0x12]) + luna(321, 500, 2048)))
    assert d.read() == OK and d.distance_mm == 3210 and d.skipped_bytes == 3


def test_tfluna_a_single_header_octet_is_not_a_header():
    # 0x59 then not 0x59: skipped, as is the octet after it
    d = TfLuna(Uart(bytes([0x59, 0x00]) + luna(321, 500, 2048)))
    assert d.read() == OK and d.skipped_bytes == 2


def test_tfluna_a_bad_checksum_is_invalid_counted_and_posted_once():
    d = TfLuna(Uart(luna(300, 500, 2048, bad_sum=True), luna(300, 500, 2048, bad_sum=True)))
    assert d.read() == INVALID and d.status == INVALID
    assert (d.checksum_errors, d.errors, d.frames, d.distance_mm) == (1, 1, 0, 0)
    assert d.read() == INVALID and (d.checksum_errors, d.errors) == (2, 2)
    assert drain_events() == [(EV_LUNA_CHECKSUM, 0)]


def test_tfluna_a_good_frame_rearms_the_checksum_event():
    d = TfLuna(Uart(luna(300, 500, 2048, bad_sum=True), luna(300, 500, 2048),
                    luna(300, 500, 2048, bad_sum=True)))
    d.read()
    d.read()
    d.read()
    assert drain_events() == [(EV_LUNA_CHECKSUM, 0), (EV_LUNA_CHECKSUM, 1)]


def test_tfluna_a_bad_checksum_after_a_good_frame_keeps_its_result():
    d = TfLuna(Uart(luna(300, 500, 2048) + luna(310, 500, 2048, bad_sum=True)))
    assert d.read() == OK and d.checksum_errors == 1 and d.distance_mm == 3000


def test_tfluna_resyncs_one_octet_after_a_bad_checksum():
    # the bad frame's octets after its header are skipped one at a time,
    # then the good frame is found
    d = TfLuna(Uart(luna(300, 500, 2048, bad_sum=True) + luna(420, 500, 2048)))
    assert d.read() == OK and d.distance_mm == 4200
    assert d.checksum_errors == 1 and d.skipped_bytes == 8


def test_tfluna_the_checksum_is_the_low_octet_of_the_sum():
    # 0x59 + 0x59 + 0xFF + 0xFF + 0xFF + 0xFF + 0xFF + 0xFF = 0x6AC -> 0xAC
    f = bytes([0x59, 0x59, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xAC])
    d = TfLuna(Uart(f))
    assert d.read() == INVALID and d.checksum_errors == 0 and d.strength == 65535


def test_tfluna_a_bus_error_is_counted_and_not_ready():
    d = TfLuna(Uart(OSError, luna(300, 500, 2048)))
    assert d.read() == NOT_READY and d.errors == 1 and d.status == NOT_READY
    assert d.read() == OK and d.errors == 1


def test_tfluna_counts_add_up():
    d = TfLuna(Uart(OSError, OSError, luna(300, 50, 2048) + luna(300, 60, 2048),
                    luna(900, 500, 2048) + luna(901, 500, 2048)))
    d.read()
    d.read()
    assert d.read() == INVALID
    assert d.read() == OUT_OF_RANGE
    assert (d.errors, d.invalid, d.out_of_range, d.frames) == (2, 2, 2, 4)


# ------------------------------------------------------------ receive window

def test_rx_window_reads_at_most_a_chunk():
    u = Uart(bytes(range(20)))
    w = RxWindow(16, 6)
    assert w.fill(u) and w.n == 6 and u.asked == [6]
    assert bytes(w.buf[:6]) == bytes(range(6))


def test_rx_window_reads_at_most_the_space_left():
    u = Uart(bytes(range(20)))
    w = RxWindow(8, 6)
    w.fill(u)
    w.fill(u)
    assert w.n == 8 and u.asked == [6, 2] and bytes(w.buf) == bytes(range(8))


def test_rx_window_reads_the_last_free_octet():
    u = Uart(bytes(range(7)), b"xy")
    w = RxWindow(8, 8)
    w.fill(u)
    assert w.fill(u) and w.n == 8 and u.asked == [8, 1] and w.buf[7] == ord("x")


def test_rx_window_full_reads_nothing():
    u = Uart(bytes(range(20)))
    w = RxWindow(6, 6)
    w.fill(u)
    assert w.fill(u) is True and u.asked == [6] and w.n == 6


def test_rx_window_a_bus_error_leaves_it_unchanged():
    w = RxWindow(8, 4)
    w.fill(Uart(b"ab"))
    assert w.fill(Uart(OSError)) is False and w.n == 2


def test_rx_window_nothing_received_keeps_the_count():
    w = RxWindow(8, 4)
    w.fill(Uart(b"ab"))
    assert w.fill(Uart()) is True and w.n == 2


def test_rx_window_consume_moves_the_rest_to_the_front():
    w = RxWindow(8, 8)
    w.fill(Uart(b"abcdef"))
    w.consume(4)
    assert w.n == 2 and bytes(w.buf[:2]) == b"ef"
    w.fill(Uart(b"gh"))
    assert bytes(w.buf[:4]) == b"efgh"


def test_rx_window_consume_nothing_or_all():
    w = RxWindow(8, 8)
    w.fill(Uart(b"abc"))
    w.consume(0)
    assert w.n == 3 and bytes(w.buf[:3]) == b"abc"
    w.consume(3)
    assert w.n == 0


def test_rx_window_clear():
    w = RxWindow(8, 8)
    w.fill(Uart(b"abc"))
    w.clear()
    assert w.n == 0


# ------------------------------------------------------------ power

class Adc:
    def __init__(self, *readings):
        self.readings = list(readings)

    def read_u16(self):
        r = self.readings.pop(0)
        if r is OSError:
            raise OSError(5)
        return r


def test_power_full_scale_from_the_divider():
    # 3300 mV * (100 k + 10 k) / 10 k
    assert Power(Adc()).full_scale_mv == 36300
    assert Power(Adc(), vref_mv=1000, r_top=1, r_bottom=3).full_scale_mv == 1333


def test_power_refuses_a_divider_outside_0_to_200_v():
    with pytest.raises(ValueError):
        Power(Adc(), vref_mv=0)
    assert Power(Adc(), vref_mv=199999, r_top=0, r_bottom=1).full_scale_mv == 199999
    with pytest.raises(ValueError) as e:
        Power(Adc(), vref_mv=200000, r_top=0, r_bottom=1)
    assert str(e.value) == "power divider"


def test_power_starts_at_zero():
    p = Power(Adc())
    assert (p.bus_mv, p.raw, p.low, p.errors, p.low_mv) == (0, 0, False, 0, 0)


@pytest.mark.parametrize("raw,mv", [
    (0xFFFF, 36300),      # code 4095: full scale
    (0x8000, 18154),      # code 2048: 2048 * 36300 / 4095 = 18154.4
    (0x1234, 2579),       # code 291: 10563300 / 4095 = 2579.6
    (0x0010, 8),          # code 1
    (0x000F, 0),          # below one 12-bit code
])
def test_power_reads_the_12_bit_code_in_millivolts(raw, mv):
    p = Power(Adc(raw))
    assert p.read() == mv and p.bus_mv == mv and p.raw == raw


def test_power_a_bus_error_is_counted_and_keeps_the_last_reading():
    p = Power(Adc(0x8000, OSError, OSError))
    p.read()
    assert p.read() == 18154 and p.errors == 1 and p.raw == 0x8000
    p.read()
    assert p.errors == 2


def test_power_a_one_millivolt_full_scale_is_accepted():
    assert Power(Adc(), vref_mv=1, r_top=0, r_bottom=1).full_scale_mv == 1


def test_power_default_hysteresis_is_200_mv():
    # low at code 2048 (18154 mV < 18157); code 2070 -> 18349, 2071 -> 18358:
    # above 18157 + 200, not above 18157 + 201
    p = Power(Adc(0x8000, 0x10 * 2070, 0x10 * 2071), low_mv=18157)
    p.read()
    assert p.low
    assert p.read() == 18349 and p.low
    assert p.read() == 18358 and p.low is False


def test_power_low_below_the_threshold_ok_above_it_plus_hysteresis():
    # 36300 full scale: code 2048 -> 18154, 2500 -> 22161, 2560 -> 22693
    p = Power(Adc(0x10 * 2500, 0x8000, 0x10 * 2500, 0x10 * 2560), low_mv=18155,
              hysteresis_mv=4538)
    assert p.read() == 22161 and not p.low           # 2500 codes: 22161
    assert p.read() == 18154 and p.low
    assert p.read() == 22161 and p.low               # 18155 + 4538 = 22693: not above
    assert p.read() == 22693 and p.low               # equal: still low
    assert drain_events() == [(EV_POWER_LOW, 18154)]


def test_power_recovers_above_low_plus_hysteresis():
    p = Power(Adc(0x8000, 0x10 * 2561), low_mv=18155, hysteresis_mv=4538)
    p.read()
    assert p.read() == 22701 and not p.low          # 2561 codes: 92964300 / 4095 = 22701.9
    assert drain_events() == [(EV_POWER_LOW, 18154), (EV_POWER_OK, 22701)]


def test_power_at_the_threshold_is_not_low():
    p = Power(Adc(0x8000), low_mv=18154)
    p.read()
    assert not p.low and drain_events() == []


def test_power_without_a_threshold_never_goes_low():
    p = Power(Adc(0))
    assert p.read() == 0 and not p.low and drain_events() == []


# ------------------------------------------------------------ legs

class Pin:
    def __init__(self, v=1):
        self.v = v

    def value(self):
        if self.v is OSError:
            raise OSError(5)
        return self.v


def test_legs_refuse_zero_samples_and_more_than_16_switches():
    with pytest.raises(ValueError) as e:
        Legs([Pin()], samples=0)
    assert str(e.value) == "legs config"
    with pytest.raises(ValueError):
        Legs([Pin() for _ in range(17)])
    assert Legs([Pin() for _ in range(16)], samples=1).update() == 0


def test_legs_start_with_no_contact():
    g = Legs([Pin(), Pin()])
    assert (g.contact_mask, g.any_contact, g.count, g.raw_mask, g.errors) == (0, False, 0, 0, 0)


def test_legs_contact_after_three_samples_active_low():
    pins = [Pin(1), Pin(0), Pin(1), Pin(0)]
    g = Legs(pins)
    assert g.update() == 0 and g.raw_mask == 0b1010
    assert g.update() == 0
    assert g.update() == 0b1010
    assert (g.contact_mask, g.count, g.any_contact) == (0b1010, 2, True)
    assert drain_events() == [(EV_LEG_CONTACT, 0b1010)]


def test_legs_active_high():
    pins = [Pin(1), Pin(0)]
    g = Legs(pins, samples=1, active_low=False)
    assert g.update() == 0b01 and g.count == 1


def test_legs_one_sample_debounce_follows_each_reading():
    p = Pin(0)
    g = Legs([p], samples=1)
    assert g.update() == 1
    p.v = 1
    assert g.update() == 0 and not g.any_contact and g.count == 0
    assert drain_events() == [(EV_LEG_CONTACT, 1), (EV_LEG_RELEASE, 0)]


def test_legs_a_glitch_restarts_the_run():
    p = Pin(0)
    g = Legs([p], samples=2)
    g.update()
    p.v = 1
    g.update()                        # back to released: the run restarts
    p.v = 0
    assert g.update() == 0
    assert g.update() == 1


def test_legs_release_of_one_leg_posts_the_remaining_mask():
    pins = [Pin(0), Pin(0), Pin(0)]
    g = Legs(pins, samples=1)
    g.update()
    pins[1].v = 1
    assert g.update() == 0b101 and g.count == 2 and g.any_contact
    assert drain_events() == [(EV_LEG_CONTACT, 0b111), (EV_LEG_RELEASE, 0b101)]


def test_legs_a_new_contact_with_a_release_posts_contact():
    pins = [Pin(0), Pin(1)]
    g = Legs(pins, samples=1)
    g.update()
    pins[0].v, pins[1].v = 1, 0
    assert g.update() == 0b10
    assert drain_events() == [(EV_LEG_CONTACT, 0b01), (EV_LEG_CONTACT, 0b10)]


def test_legs_an_unreadable_switch_is_counted_and_keeps_its_state():
    pins = [Pin(0), Pin(OSError)]
    g = Legs(pins, samples=1)
    assert g.update() == 0b01 and g.errors == 1 and g.raw_mask == 0b01


def test_legs_an_unreadable_middle_switch_leaves_the_others_read_in_their_bits():
    # switches 2 and 3 are read before switch 1 raises (the last is read
    # first), switch 0 after it: each level still lands in its own bit
    pins = [Pin(0), Pin(OSError), Pin(0), Pin(1)]
    g = Legs(pins, samples=1)
    assert g.update() == 0b0101 and g.errors == 1 and g.raw_mask == 0b0101
    pins[0].v = OSError
    assert g.update() == 0b0101 and g.errors == 3 and g.raw_mask == 0b0100


def test_legs_an_unreadable_switch_keeps_its_run_going():
    p = Pin(0)
    g = Legs([p], samples=3)
    g.update()
    p.v = OSError
    g.update()                        # run held at 1
    p.v = 0
    assert g.update() == 0            # run 2
    assert g.update() == 1            # run 3


def test_legs_two_unreadable_switches_both_keep_their_contact():
    pins = [Pin(0), Pin(0)]
    g = Legs(pins, samples=1)
    g.update()
    pins[0].v = pins[1].v = OSError
    assert g.update() == 0b11 and g.errors == 2


def test_legs_a_switch_after_an_unreadable_one_is_still_debounced():
    pins = [Pin(OSError), Pin(0)]
    g = Legs(pins, samples=1)
    assert g.update() == 0b10 and g.count == 1


def test_legs_a_run_held_over_an_unreadable_sample_restarts_on_agreement():
    # contact (run 1), unreadable (run held at 1), released again (run back
    # to 0), then contact twice: run 2 of 3, no contact yet
    p = Pin(0)
    g = Legs([p], samples=3)
    g.update()
    p.v = OSError
    g.update()
    p.v = 1
    g.update()
    p.v = 0
    g.update()
    assert g.update() == 0
    assert g.update() == 1


def test_legs_all_sixteen_counted():
    g = Legs([Pin(0) for _ in range(16)], samples=1)
    assert g.update() == 0xFFFF and g.count == 16
