"""The laser altimeter driver (firmware/lander/drivers/laser_altimeter.py)
pinned on frames written octet by octet from the Noptel LRF serial protocol
(docs/protocols.md): response 0x59 CMD payload CHK with CHK = (sum of the
octets before it & 0xFF) ^ 0x50; the range response 0xCC is 22 octets (range
1 float32 LE at 2..5, amplitude u16 at 6..7, targets 2 and 3 at 8..19, status
at 20); the CMM break answer 0xC6 is 4 octets. The commands, the counts, the
handshake's read counts and the decoded millimetres are worked out by hand
here, no emulator. In the fw-sensors mutation group (docs/mutation.md)."""
import pytest

from lander.drivers import DISABLED, INVALID, NOT_READY, OK, OUT_OF_RANGE
from lander.drivers.laser_altimeter import LaserAltimeter
from tests.app_fakes import drain_events, fresh_event_ring  # noqa: F401

pytestmark = pytest.mark.usefixtures("fresh_event_ring")

# event codes (drivers range 0x0130-0x013F)
EV_ENABLED = 0x0130
EV_RETRY = 0x0131
EV_FAILED = 0x0132
EV_CHECKSUM = 0x0133
EV_LOST = 0x0134

# float32 little-endian octets, worked out by hand (sign, exponent, mantissa)
R_100 = bytes([0x00, 0x00, 0xC8, 0x42])     # 0x42C80000 = 100.0 m
R_1234_5 = bytes([0x00, 0x50, 0x9A, 0x44])  # 0x449A5000 = 1234.5 m (exp 137)
R_20000 = bytes([0x00, 0x40, 0x9C, 0x46])   # 0x469C4000 = 20000.0 m
R_32768 = bytes([0x00, 0x00, 0x00, 0x47])   # 0x47000000 = 2^15 m (exp 142)
R_65536 = bytes([0x00, 0x00, 0x80, 0x47])   # 0x47800000 = 2^16 m (exp 143)
R_EXP117 = bytes([0x00, 0x00, 0xC0, 0x3A])  # 0x3AC00000 = 1.5 * 2^-10 m = 1.46 mm
R_EXP116 = bytes([0x00, 0x00, 0x40, 0x3A])  # 0x3A400000 = 1.5 * 2^-11 m = 0.73 mm
R_NEG0 = bytes([0x00, 0x00, 0x00, 0x80])    # -0.0

START_20HZ = bytes([0xCC, 0x04, 0x00, 0x00, 0x80])   # (0xCC + 0x04) = 0xD0, ^ 0x50
BREAK = bytes([0xC6, 0x96])                          # 0xC6 ^ 0x50


def check(octets):
    return (sum(octets) & 0xFF) ^ 0x50


def body(rng=R_100, amp=500, status=0, targets=bytes(12), head=(0x59, 0xCC)):
    """The 21 octets before the check octet."""
    b = bytes(head) + rng + bytes([amp & 0xFF, amp >> 8]) + targets + bytes([status])
    assert len(b) == 21
    return b


def frame(rng=R_100, amp=500, status=0, chk=None, **kw):
    b = body(rng, amp, status, **kw)
    return b + bytes([check(b) if chk is None else chk])


class Uart:
    """Each readinto() hands over one queued chunk (at most n octets of it);
    None queued is a silent cycle, OSError raises. write() records, or raises
    while write_fails."""

    def __init__(self, *chunks):
        self.chunks = list(chunks)
        self.written = bytearray()
        self.write_fails = False

    def readinto(self, buf, n):
        if not self.chunks:
            return None
        c = self.chunks.pop(0)
        if c is None:
            return None
        if c is OSError:
            raise OSError(5)
        assert len(c) <= n
        buf[:len(c)] = c
        return len(c)

    def write(self, b):
        if self.write_fails:
            raise OSError(5)
        self.written += bytes(b)
        return len(b)


def acked(*chunks, **kw):
    """A driver whose enable was acknowledged by one 100 m frame, then `chunks`."""
    u = Uart(frame(), *chunks)
    d = LaserAltimeter(u, **kw)
    d.enable()
    assert d.read() == OK and d.enabled
    drain_events()
    return d, u


def counts(d):
    return (d.frames, d.errors, d.checksum_errors, d.sync_errors, d.skipped_bytes,
            d.invalid, d.out_of_range)


# ------------------------------------------------------------ start, commands

def test_starts_disabled_with_nothing_counted():
    d = LaserAltimeter(Uart())
    assert (d.range_mm, d.strength, d.status_byte, d.status, d.enabled) == (0, 0, 0, DISABLED, False)
    assert (d.enable_attempts, d.enable_failures) == (0, 0)
    assert counts(d) == (0, 0, 0, 0, 0, 0, 0)
    assert d.max_range_mm == 20_000_000


def test_enable_writes_the_cmm_start_command_at_20_hz():
    u = Uart()
    d = LaserAltimeter(u)
    d.enable()
    assert bytes(u.written) == START_20HZ
    assert d.enable_attempts == 1


def test_enable_at_another_rate_code_carries_it_and_its_check():
    u = Uart()
    LaserAltimeter(u, rate_code=0x03).enable()
    assert bytes(u.written) == bytes([0xCC, 0x03, 0x00, 0x00, 0x9F])   # 0xCF ^ 0x50


def test_disable_writes_the_break_and_stays_disabled_without_retrying():
    d, u = acked()
    d.disable()
    assert bytes(u.written) == START_20HZ + BREAK
    assert (d.enabled, d.status) == (False, DISABLED)
    assert [d.read() for _ in range(60)] == [DISABLED] * 60
    assert bytes(u.written) == START_20HZ + BREAK          # no enable re-sent
    assert drain_events() == []


def test_a_failed_command_write_counts_one_error_each():
    u = Uart()
    u.write_fails = True
    d = LaserAltimeter(u)
    d.enable()
    assert d.errors == 1
    d.disable()
    assert d.errors == 2


def test_each_failed_enable_write_is_counted():
    u = Uart()
    u.write_fails = True
    d = LaserAltimeter(u)
    d.enable()
    for _ in range(25):
        d.read()                                   # the retry, written again
    assert (d.errors, d.enable_attempts) == (2, 2)


def test_a_uart_read_error_counts_one_error():
    d = LaserAltimeter(Uart(OSError, OSError))
    d.read()
    assert d.errors == 1
    d.read()
    assert d.errors == 2


# ------------------------------------------------------------ enable handshake

def test_an_unanswered_enable_is_resent_after_25_reads_then_given_up_after_3():
    u = Uart()
    d = LaserAltimeter(u)
    d.enable()
    drain_events()
    assert [d.read() for _ in range(24)] == [DISABLED] * 24
    assert bytes(u.written) == START_20HZ
    assert d.read() == DISABLED                              # read 25: second attempt
    assert bytes(u.written) == START_20HZ * 2 and d.enable_attempts == 2
    assert drain_events() == [(EV_RETRY, 2)]
    for _ in range(25):
        d.read()
    assert bytes(u.written) == START_20HZ * 3 and drain_events() == [(EV_RETRY, 3)]
    for _ in range(24):
        d.read()
    assert d.enable_failures == 0
    assert d.read() == DISABLED                              # read 75: gives up
    assert (d.enable_failures, d.enable_attempts) == (1, 3)
    assert drain_events() == [(EV_FAILED, 3)]
    for _ in range(100):
        assert d.read() == DISABLED
    assert bytes(u.written) == START_20HZ * 3 and drain_events() == []


def test_each_given_up_handshake_is_counted():
    d = LaserAltimeter(Uart())
    for _ in range(2):
        d.enable()
        for _ in range(75):
            d.read()
    assert d.enable_failures == 2


def test_the_first_frame_acknowledges_the_enable():
    u = Uart(None, None, frame())
    d = LaserAltimeter(u)
    d.enable()
    assert [d.read(), d.read()] == [DISABLED, DISABLED]
    assert d.read() == OK
    assert (d.enabled, d.status, d.range_mm) == (True, OK, 100_000)
    assert drain_events() == [(EV_ENABLED, 1)]


def test_the_first_frame_behind_a_stray_octet_acknowledges_the_enable_after_a_retry():
    # the parser's path (not a lone frame): enabled, the event names attempt 2
    u = Uart(*([None] * 25), bytes([0x01]) + frame())
    d = LaserAltimeter(u)
    d.enable()
    assert [d.read() for _ in range(25)] == [DISABLED] * 25
    assert drain_events() == [(EV_RETRY, 2)]
    assert d.read() == OK and (d.enabled, d.range_mm, d.skipped_bytes) == (True, 100_000, 1)
    assert drain_events() == [(EV_ENABLED, 2)]


def test_an_enabled_part_silent_for_50_reads_is_lost_and_enabled_again():
    d, u = acked()
    assert [d.read() for _ in range(49)] == [NOT_READY] * 49
    assert drain_events() == []
    assert d.read() == DISABLED                              # the 50th silent read
    assert (d.enabled, d.status, d.enable_attempts) == (False, DISABLED, 1)
    assert drain_events() == [(EV_LOST, 50)]
    assert bytes(u.written) == START_20HZ * 2
    assert [d.read() for _ in range(24)] == [DISABLED] * 24
    assert d.read() == DISABLED
    assert drain_events() == [(EV_RETRY, 2)]                # the handshake from attempt 1


def test_an_enabled_part_sending_only_noise_for_50_reads_is_lost_and_enabled_again():
    # 01 02 each read: the parser skips all but the last octet (never a
    # frame, never a result), so each read counts as a silent one
    d, u = acked(*([bytes([0x01, 0x02])] * 50))
    assert [d.read() for _ in range(49)] == [NOT_READY] * 49
    assert drain_events() == [] and d.skipped_bytes == 1 + 2 * 48
    assert d.read() == DISABLED                              # the 50th read of noise
    assert (d.enabled, d.status, d.enable_attempts) == (False, DISABLED, 1)
    assert drain_events() == [(EV_LOST, 50)]
    assert bytes(u.written) == START_20HZ * 2


def test_a_frame_restarts_the_silence_count():
    d, u = acked(*([None] * 30 + [frame()] + [None] * 49))
    for _ in range(30):
        d.read()
    assert d.read() == OK
    assert [d.read() for _ in range(49)] == [NOT_READY] * 49
    assert d.read() == DISABLED


def test_the_silence_limit_is_a_parameter():
    d, u = acked(lost_reads=3)
    assert [d.read(), d.read(), d.read()] == [NOT_READY, NOT_READY, DISABLED]
    assert drain_events() == [(EV_LOST, 3)]


# ------------------------------------------------------------ check octet

@pytest.mark.parametrize("amp", [500, 90])
def test_every_wrong_check_octet_is_refused(amp):
    # amplitude 90: the frame's octet sum (0x59 + 0xCC + 0xC8 + 0x42 + 90 = 0x289)
    # has bit 8 clear, 500: set (0x324)
    good = check(body(amp=amp))
    for c in range(256):
        if c == good:
            continue
        d = LaserAltimeter(Uart(frame(amp=amp, chk=c)))
        d.enabled = True
        assert d.read() == INVALID, c
        assert (d.frames, d.range_mm, d.checksum_errors) == (0, 0, 1), c


def test_a_checksum_error_posts_one_event_per_episode_with_the_count_before_it():
    bad = frame(chk=check(body()) ^ 1)
    d, u = acked(bad, bad, frame(), bad)
    assert d.read() == INVALID and d.read() == INVALID
    assert (d.checksum_errors, d.errors) == (2, 2)
    assert drain_events() == [(EV_CHECKSUM, 0)]
    assert d.read() == OK                                    # a good frame re-arms it
    assert d.read() == INVALID
    assert drain_events() == [(EV_CHECKSUM, 2)]
    assert (d.checksum_errors, d.errors) == (3, 3)


def test_a_checksum_error_before_any_good_frame_posts_the_event():
    d = LaserAltimeter(Uart(frame(chk=0x00)))
    d.enable()
    drain_events()
    d.read()
    assert drain_events() == [(EV_CHECKSUM, 0)]


@pytest.mark.parametrize("head", [(0x00, 0xCC), (0x59, 0x00)])
def test_a_window_of_22_octets_with_a_wrong_header_is_no_frame(head):
    # the range octets start with 0xCC, so 0x59 0x00 0xCC... also tests that
    # the command octet is taken from offset 1, not 2; the check is right
    b = body(rng=bytes([0xCC, 0x00, 0xC8, 0x42]), head=head)
    d = LaserAltimeter(Uart(b + bytes([check(b)])), lost_reads=10**6)
    d.enabled = True
    assert d.read() == NOT_READY
    assert (d.frames, d.range_mm) == (0, 0)


def test_an_octet_left_after_the_window_is_not_taken_as_the_check():
    bad_chk = check(body()) ^ 0x01
    # first read: 10 junk octets then a good frame whose ignored target field
    # leaves the good check of the next frame at buffer offset 23
    targets = bytes(5) + bytes([check(body())]) + bytes(6)
    first = bytes(range(1, 11)) + frame(rng=R_1234_5, targets=targets)
    d = LaserAltimeter(Uart(first, frame(chk=bad_chk)), lost_reads=10**6)
    d.enabled = True
    assert d.read() == OK and d.range_mm == 1_234_500
    assert d.read() == INVALID and d.range_mm == 1_234_500


def test_the_status_octet_is_not_taken_as_the_check():
    # a status octet (no fault, no no-target bit) equal to its frame's check
    for amp in range(1, 256):
        s = [s for s in range(256) if not s & 0x21 and s == check(body(amp=amp, status=s))]
        if s:
            break
    b = body(amp=amp, status=s[0])
    d = LaserAltimeter(Uart(b + bytes([check(b) ^ 0x01])), lost_reads=10**6)
    d.enabled = True
    assert d.read() == INVALID and d.frames == 0


# ------------------------------------------------------------ parser

def test_frames_read_one_per_cycle_leave_nothing_behind():
    d, u = acked(frame(rng=R_1234_5))
    assert d.read() == OK and d.range_mm == 1_234_500
    assert counts(d) == (2, 0, 0, 0, 0, 0, 0)


def test_two_junk_octets_skip_one_and_keep_the_last():
    d, u = acked(bytes([0x01, 0x02]), frame(rng=R_1234_5))
    assert d.read() == NOT_READY and d.skipped_bytes == 1
    assert d.read() == OK and d.range_mm == 1_234_500
    assert d.skipped_bytes == 2


def test_a_sync_octet_before_a_frame_is_a_sync_error_and_the_frame_is_read():
    d, u = acked(bytes([0x59]) + frame(rng=R_1234_5))
    assert d.read() == OK and d.range_mm == 1_234_500
    assert (d.sync_errors, d.skipped_bytes) == (1, 0)


def test_unknown_command_octets_are_counted_and_skipped():
    d, u = acked(bytes([0x59, 0x00, 0x59, 0x01]) + frame(rng=R_1234_5))
    assert d.read() == OK and d.range_mm == 1_234_500
    assert (d.sync_errors, d.skipped_bytes) == (2, 2)


def test_a_break_answer_is_parsed_as_four_octets():
    # 0x59 0xC6 status 0x01, check (0x59 + 0xC6 + 0x01 = 0x120) & 0xFF ^ 0x50 = 0x70
    brk = bytes([0x59, 0xC6, 0x01, 0x70])
    d, u = acked(bytes([0x01]) + brk + frame(rng=R_1234_5))
    assert d.read() == OK and d.range_mm == 1_234_500
    assert (d.checksum_errors, d.sync_errors, d.skipped_bytes, d.errors) == (0, 0, 1, 0)


def test_a_break_answer_with_a_wrong_check_is_a_checksum_error():
    d, u = acked(bytes([0x59, 0xC6, 0x01, 0x71]))
    assert d.read() == INVALID
    assert (d.checksum_errors, d.skipped_bytes) == (1, 2)   # 0xC6, 0x01 skipped; 0x71 kept


def test_a_bad_break_answer_then_a_frame_in_one_read_gives_the_frame():
    d, u = acked(bytes([0x59, 0xC6, 0x01, 0x71]) + frame(rng=R_1234_5))
    assert d.read() == OK and d.range_mm == 1_234_500
    assert (d.checksum_errors, d.skipped_bytes) == (1, 3)   # rescanned from 0xC6


def test_a_lone_bad_frame_skips_all_but_its_last_octet():
    bad = frame(chk=check(body()) ^ 0x01)
    d, u = acked(bad)
    assert d.read() == INVALID
    assert (d.checksum_errors, d.skipped_bytes) == (1, 20)


def test_a_stray_octet_and_a_frame_short_of_its_check_waits_for_the_check():
    # 100 m, strength 33, status 0: the 21 octets before the check sum 0x59 +
    # 0xCC + 0xC8 + 0x42 + 0x21 = 0x250, so the check is 0x50 ^ 0x50 = 0x00,
    # the status octet's value. A stray octet and those 21 make 22 octets
    # whose last 21 (sum 0x250) look checked by their last (0x00): the window
    # holds no whole frame yet; the frame is decoded once its check arrives
    b = body(amp=33)
    assert check(b) == 0x00 and b[20] == 0x00
    d, u = acked(bytes([0x00]) + b, bytes([0x00]))
    assert d.read() == NOT_READY
    assert (d.frames, d.skipped_bytes, d._rx.n) == (1, 1, 21)
    assert d.read() == OK and (d.range_mm, d.strength, d.frames, d._rx.n) == (100_000, 33, 2, 0)


def test_junk_then_a_whole_frame_leaves_no_tail():
    f = frame(rng=R_1234_5)
    assert f[21] != 0x59
    d, u = acked(bytes([0x01]) + f, frame())
    assert d.read() == OK and d.range_mm == 1_234_500
    assert d.read() == OK and d.range_mm == 100_000
    assert d.skipped_bytes == 1


# ------------------------------------------------------------ decoding

def test_decodes_range_strength_and_status():
    d, u = acked(frame(rng=R_1234_5, amp=0x0302, status=0x00))
    assert d.read() == OK
    assert (d.range_mm, d.strength, d.status_byte) == (1_234_500, 0x0302, 0)


def test_no_target_status_is_out_of_range_whatever_the_range():
    d, u = acked(frame(status=0x20))
    assert d.read() == OUT_OF_RANGE
    assert (d.range_mm, d.status_byte, d.out_of_range, d.invalid) == (0, 0x20, 1, 0)


def test_fault_status_is_invalid():
    d, u = acked(frame(status=0x01), frame(status=0x21))
    assert d.read() == INVALID and d.read() == INVALID
    assert (d.invalid, d.out_of_range, d.range_mm) == (2, 0, 100_000)


def test_zero_strength_is_out_of_range_and_one_is_a_return():
    d, u = acked(frame(rng=R_1234_5, amp=0), frame(rng=R_1234_5, amp=1))
    assert d.read() == OUT_OF_RANGE and d.range_mm == 0
    assert d.read() == OK and d.range_mm == 1_234_500


def test_exponent_117_is_the_smallest_decoded_and_116_is_no_range():
    # 1.5 * 2^-10 m = 1.46 mm -> 1; 1.5 * 2^-11 m = 0.73 mm: below the floor
    d, u = acked(frame(rng=R_EXP117), frame(rng=R_EXP116))
    assert d.read() == OK and d.range_mm == 1
    assert d.read() == OUT_OF_RANGE and d.range_mm == 0


def test_negative_zero_is_no_range_not_invalid():
    d, u = acked(frame(rng=R_NEG0))
    assert d.read() == OUT_OF_RANGE
    assert (d.invalid, d.out_of_range) == (0, 1)


def test_exponent_142_decodes_unshifted_and_143_is_invalid():
    d, u = acked(frame(rng=R_32768), frame(rng=R_65536), max_range_mm=2**30 - 1)
    assert d.read() == OK and d.range_mm == 32_768_000
    assert d.read() == INVALID and d.invalid == 1


def test_the_maximum_range_itself_is_out_of_range_and_each_is_counted():
    d, u = acked(frame(rng=R_20000), frame(rng=R_20000), frame(status=0x20))
    assert d.read() == OUT_OF_RANGE and d.range_mm == 20_000_000
    assert d.read() == OUT_OF_RANGE and d.out_of_range == 2
    assert d.read() == OUT_OF_RANGE and d.out_of_range == 3


def test_frames_are_counted_each():
    d, u = acked(frame(status=0x01), frame(status=0x20), frame())
    for _ in range(3):
        d.read()
    assert d.frames == 4


def test_fault_frames_behind_a_stray_octet_are_invalid_and_counted_each():
    # the parser's path (_decode): status 0x01 twice
    d, u = acked(*([bytes([0x01]) + frame(status=0x01)] * 2))
    assert d.read() == INVALID and d.read() == INVALID
    assert (d.invalid, d.out_of_range, d.range_mm) == (2, 0, 100_000)


def test_the_maximum_range_and_no_target_behind_a_stray_octet_are_out_of_range_and_counted_each():
    # the parser's path (_decode): 20000 m twice (at the limit), then no target
    d, u = acked(*[bytes([0x01]) + f for f in (frame(rng=R_20000), frame(rng=R_20000), frame(status=0x20))])
    assert d.read() == OUT_OF_RANGE and (d.range_mm, d.out_of_range) == (20_000_000, 1)
    assert d.read() == OUT_OF_RANGE and d.out_of_range == 2
    assert d.read() == OUT_OF_RANGE and (d.range_mm, d.out_of_range) == (0, 3)


def test_the_lowest_mantissa_octet_behind_a_stray_octet_counts_to_the_last_mm():
    # the parser's path (_decode): 0x477FFFFF = (2^24 - 1) * 2^-8 m =
    # 65535.99609375 m (exponent 142, unshifted): 65,535,996 mm, of which
    # floor(0xFF * 1000 / 256) = 996 from the lowest mantissa octet
    d, u = acked(bytes([0x01]) + frame(rng=bytes([0xFF, 0xFF, 0x7F, 0x47])), max_range_mm=2**30 - 1)
    assert d.read() == OK and d.range_mm == 65_535_996


def test_frames_behind_other_octets_are_counted_each():
    # the parser's path: a stray octet before each of three frames
    d, u = acked(*([bytes([0x01]) + frame()] * 3))
    for _ in range(3):
        assert d.read() == OK
    assert (d.frames, d.skipped_bytes) == (4, 3)


# --- the fast path (one whole frame in the window) and the parser agree ------------
from hypothesis import given, settings, strategies as st  # noqa: E402


_EDGES = [R_100, R_1234_5, R_20000, R_32768, R_65536, R_EXP117, R_EXP116, R_NEG0,
          bytes([0, 0, 0x80, 0x7F]), bytes([0, 0, 0xC0, 0x7F]), bytes([0, 0, 0x80, 0xBF]),
          bytes([0, 0, 0x80, 0x80])]          # +inf, NaN, -1.0, -2^-126 (exp 1)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.sampled_from(_EDGES), st.binary(min_size=4, max_size=4)),
       st.one_of(st.sampled_from([0, 1, 500, 0xFFFF]), st.integers(0, 0xFFFF)),
       st.one_of(st.sampled_from([0x00, 0x01, 0x20, 0x21]), st.integers(0, 0xFF)),
       st.binary(min_size=12, max_size=12), st.booleans())
def test_a_frame_alone_and_behind_a_stray_octet_decode_alike(rng, amp, status, targets, enabled):
    # alone, the frame takes read()'s fast path (its decode written inline);
    # behind one stray octet, the parser and _decode: every output the same
    b = body(rng, amp, status, targets)
    f = b + bytes([check(b)])
    seen = []
    for chunk in (f, bytes([0x00]) + f):
        drain_events()
        d = LaserAltimeter(Uart(chunk))
        d.enabled = enabled
        r = d.read()
        seen.append((r, d.range_mm, d.strength, d.status_byte, d.status, d.frames, d.invalid,
                     d.out_of_range, d.enabled, d._quiet, d._wait, d.errors, d._rx.n,
                     drain_events()))
    assert seen[0] == seen[1]
