"""The estimator's warm-restart record (Nav.checkpoint_into / restore_from),
word by word (the fw-nav mutation group, docs/mutation.md): every field with a
distinct non-zero value, the packed words worked out by hand from the layout
in checkpoint_into's docstring (offsets, bit fields, two's-complement fields,
rounding, clamps), the decoder fed hand-made words, and what restore_from
refuses or bounds (a shadow whose two bins are one, an out-of-range sigma
bucket, calibration beyond the parts' spec, a window start off the map)."""
from array import array

import pytest

from lander import estimator as E
from lander import navgains
from lander.config import Config
from tests.app_fakes import drain_events, fresh_event_ring  # noqa: F401

pytestmark = pytest.mark.usefixtures("fresh_event_ring")

OFF = 3                      # the record written from a non-zero offset
SENTINEL = -7


def _words():
    return array("i", [SENTINEL] * (OFF + E.CHECKPOINT_WORDS + 2))


def _state():
    """A state with every checkpointed field distinct and non-zero."""
    nav = E.Nav(Config())
    nav._h, nav._vz, nav._vx = 123456789, -23456789, 3456789
    nav._x = 5000000 << 4          # bin (5,000,000 + 2,097,152) >> 16 = 108
    nav._pitch, nav._t = -4567890, -345678
    nav.site_terrain_mm = 222333
    nav.fault_flags = 0b1011001    # 89
    nav._last_bin = 200
    nav._bz, nav.terrain_under_mm, nav.alt_offset_mm = -54321, -11111, 7777
    nav.alt_sigma_mm = 4321
    nav._age = 1000                # low 6 bits 40, high 6 bits 15
    nav.vz_sigma_mm_s, nav.vx_sigma_mm_s = 1234, 2345
    nav.imu_used, nav._k, nav._bad = 2, 7, 3
    nav._mad = 98765
    nav._cal[0], nav._cal[1], nav._cal[2], nav._cal[3] = -200, 150, -1, 77
    nav.accel_thrust_mm_s2 = -1234  # >> 4: -78 (floored)
    nav.beam_dx_mm = 5000          # looking ahead: window from 3 bins behind
    sh = nav._sh
    sh[E.SW_RUN], sh[E.SW_PREV] = -3, -98765
    sh[E.SW_T] = -1000126          # / 250 = -4000.504 -> -4001
    sh[E.SW_M] = 3124              # / 250 = 12.496 -> 12
    # a shadow toward -x: near level at bin 100, far (lower) level at bin 95
    sh[E.SH_DIR], sh[E.SH_BN], sh[E.SH_B1] = -1, 100, 95
    nav._map[100] = 2499499        # + 500 -> 2499 m
    nav._map[95] = -1234501        # + 500 = -1234001 -> -1235 m (floored)
    # the map window: bins 105..115 (level, samples, steep, confirmed, sigma)
    for j, (lv, c, s, cf, ms) in {
            105: (-3000017, 12, 0, 1, 1536),
            106: (123456, 20, 1, 0, 16384),
            108: (-16, 0, 1, 0, 0),          # steep, no sample: kept
            109: (9000000, 3, 0, 1, 7680),
            110: (-9000000, 1, 0, 0, 200000),
            111: (64, 2, 0, 0, 513),
            112: (0, 1, 0, 0, 7681),
            115: (31, 1, 0, 0, 131072)}.items():
        nav._map[j], nav._cnt[j], nav._steep[j], nav._conf[j], nav._msig[j] = lv, c, s, cf, ms
    nav._map[107] = 777000                   # never seen: written as 0
    nav._map[104], nav._cnt[104] = 555000, 12   # outside the window on either side
    nav._map[116], nav._cnt[116] = 444000, 12
    return nav


# The record of _state() at offset OFF, worked by hand.
WANT = [
    123456789, -23456789, 3456789, 80000000, -4567890, -345678, 222333,
    # 7: flags 89 | run -3 & 0xFF = 253 << 7 = 32384 | last bin + 1 = 201 << 15 = 6586368
    #    | the site's bin 77 not seen: bit 24 clear
    6618841,
    -54321, -11111, 7777,
    # 11: sigma 4321 | (age & 63 = 40) << 24 = 671088640
    671092961,
    # 12: vz sigma 1234 | near 2499 << 17 = 327548928
    327550162,
    # 13: vx sigma 2345 | far -1235 & 0x1FFF = 6957 << 17 = 911867904
    911870249,
    # 14: IMU 2 | k 7 << 4 = 112 | bad 3 << 12 = 12288 | direction -1 -> 2 << 14
    # = 32768 | near bin 100 << 16 = 6553600 | age >> 6 = 15 << 24 = 251658240
    258257010,
    98765,
    # 16: -200 & 0x3FF = 824 | 150 << 10 = 153600 | (-1 & 0x3FF = 1023) << 20 = 1072693248
    1072847672,
    # 17: 77 | far bin 95 << 10 = 97280 | (-78 & 0xFFF = 4018) << 18 = 1053294592
    1053391949,
    -98765,
    # 19: -4001 & 0x1FFFF = 127071 | 12 << 17 = 1572864
    1699935,
    # 20: the vehicle's bin 108 - 3
    105,
    # 105: level (-3000017 + 16) >> 5 = -93751 & 0x7FFFF = 430537 | 12 << 19 = 6291456
    #      | confirmed 1 << 24 = 16777216 | sigma (1536 + 511) >> 9 = 3 << 25 = 100663296
    124162505,
    # 106: (123456 + 16) >> 5 = 3858 | samples 20 -> 15 << 19 = 7864320 | steep 1 << 23
    #      = 8388608 | sigma (16384 + 8191) >> 13 = 2, + 15 = 17 << 25 = 570425344
    586682130,
    0,                      # 107: never seen
    8388608,                # 108: steep only: (-16 + 16) >> 5 = 0, sigma code 0
    # 109: (9000016 >> 5 = 281250) clamped to 0x3FFFF = 262143 | 3 << 19 = 1572864
    #      | 1 << 24 | sigma (7680 + 511) >> 9 = 15 << 25 = 503316480
    521928703,
    # 110: (-8999984 >> 5 = -281250) clamped to -262143 & 0x7FFFF = 262145 | 1 << 19
    #      = 524288 | sigma (208191 >> 13 = 25) > 16 -> 31 << 25 = 1040187392
    1040973825,
    # 111: (64 + 16) >> 5 = 2 | 2 << 19 = 1048576 | sigma (513 + 511) >> 9 = 2 << 25 = 67108864
    68157442,
    # 112: 0 | 1 << 19 | sigma 7681 > 7680: (7681 + 8191) >> 13 = 1, + 15 = 16 << 25 = 536870912
    537395200,
    0, 0,                   # 113, 114
    # 115: (31 + 16) >> 5 = 1 | 1 << 19 | sigma (139263 >> 13 = 16) + 15 = 31 << 25
    1040711681,
]


def _record(nav):
    words = _words()
    nav.checkpoint_into(words, OFF)
    return words


def test_the_record_is_the_hand_worked_layout_at_its_offset():
    words = _record(_state())
    assert len(WANT) == E.CHECKPOINT_WORDS
    assert list(words[OFF:OFF + E.CHECKPOINT_WORDS]) == WANT


def test_the_record_leaves_the_words_around_it_untouched():
    words = _record(_state())
    assert list(words[:OFF]) == [SENTINEL] * OFF
    assert list(words[OFF + E.CHECKPOINT_WORDS:]) == [SENTINEL] * 2


def _word(nav, i):
    return _record(nav)[OFF + i]


@pytest.mark.parametrize("run, want", [(-200, 129), (-127, 129), (127, 127), (200, 127)])
def test_the_sweep_s_run_is_clamped_to_8_bits(run, want):
    nav = _state()
    nav._sh[E.SW_RUN] = run
    assert (_word(nav, 7) >> 7) & 0xFF == want


def test_no_last_bin_is_written_as_0():
    nav = _state()
    nav._last_bin = -1
    assert _word(nav, 7) >> 15 == 0


@pytest.mark.parametrize("age, lo, hi", [(4094, 62, 63), (4095, 63, 63), (100000, 63, 63), (63, 63, 0),
                                         (64, 0, 1)])
def test_the_age_is_clamped_to_12_bits_and_split_over_words_11_and_14(age, lo, hi):
    nav = _state()
    nav._age = age
    words = _record(nav)
    assert words[OFF + 11] >> 24 == lo
    assert words[OFF + 14] >> 24 == hi


@pytest.mark.parametrize("sigma, want", [(0x1FFFE, 0x1FFFE), (0x20000, 0x1FFFF), (10 ** 7, 0x1FFFF)])
def test_the_velocity_sigmas_are_clamped_to_17_bits(sigma, want):
    nav = _state()
    nav.vz_sigma_mm_s = sigma
    nav.vx_sigma_mm_s = sigma
    words = _record(nav)
    assert words[OFF + 12] == want | (2499 << 17)
    assert words[OFF + 13] == want | (6957 << 17)


@pytest.mark.parametrize("near, far, wnear, wfar", [
    (5000000, -5000000, 4095, 4097),        # +/-5000 m clamped to +/-4095 (-4095 & 0x1FFF)
    (-5000000, 5000000, 4097, 4095),
    (4095499, -4095499, 4095, 4097),        # 4095.499 m: to nearest, at the bound
    (-499, 500, 0, 1)])                     # -0.499 m -> 0; 0.5 m -> 1 (half up)
def test_the_shadow_s_levels_are_whole_metres_clamped_to_13_bits(near, far, wnear, wfar):
    nav = _state()
    nav._map[100], nav._map[95] = near, far
    words = _record(nav)
    assert words[OFF + 12] >> 17 == wnear
    assert words[OFF + 13] >> 17 == wfar


def test_a_shadow_toward_plus_x_is_direction_code_1():
    nav = _state()
    nav._sh[E.SH_DIR] = 1
    assert (_word(nav, 14) >> 14) & 3 == 1


def test_without_a_shadow_its_levels_and_direction_are_0_and_the_bins_kept_as_they_are():
    nav = _state()
    nav._sh[E.SH_DIR] = 0
    words = _record(nav)
    assert words[OFF + 12] == 1234 and words[OFF + 13] == 2345
    assert (words[OFF + 14] >> 14) & 3 == 0
    assert (words[OFF + 14] >> 16) & 0xFF == 100          # the near bin, as it is
    assert (words[OFF + 17] >> 10) & 0xFF == 95           # the far bin


@pytest.mark.parametrize("a, want", [(40000, 2047), (32767, 2047), (32768 - 16, 2047), (-40000, 2048),
                                     (-32768, 2048), (15, 0), (-1, 4095)])
def test_the_last_thrust_axis_sample_is_sixteenths_clamped_to_12_bits(a, want):
    nav = _state()
    nav.accel_thrust_mm_s2 = a
    assert _word(nav, 17) >> 18 == want


@pytest.mark.parametrize("t, m, want_t, want_m", [
    (10 ** 9, 10 ** 9, 0xFFFF, 0x1FFF),          # clamped: +65535 quarter metres, 8191
    (-10 ** 9, -1000, 0x10001, 0),               # -65535 & 0x1FFFF; a negative move is 0
    (-1000125, 3125, 0x1FFFF & -4000, 13),       # -4000.5 -> -4000, 12.5 -> 13 (half up)
    (124, 124, 0, 0),                            # 0.496 -> 0
    (125, 125, 1, 1)])
def test_the_sweep_s_start_and_largest_move_are_quarter_metres_rounded_and_clamped(t, m, want_t, want_m):
    nav = _state()
    nav._sh[E.SW_T], nav._sh[E.SW_M] = t, m
    w = _word(nav, 19)
    assert w & 0x1FFFF == want_t
    assert w >> 17 == want_m


@pytest.mark.parametrize("x_mm, beam_dx, want", [
    (5000000, -1, 101),                  # looking back: 7 bins behind... 3 ahead
    (5000000, 0, 105),
    (E.MAP_X0_MM + 2 * 65536, 0, 0),     # bin 2 - 3 < 0: from bin 0
    (E.MAP_X0_MM + 3 * 65536, 0, 0),
    (E.MAP_X0_MM + 4 * 65536, 0, 1),
    (E.MAP_X0_MM + 248 * 65536, 0, 245),  # bin 248 - 3 = 245 = MAP_N - CK_MAP
    (E.MAP_X0_MM + 249 * 65536, 0, 245),  # bin 246 beyond: the last 11 bins
    (E.MAP_X0_MM + 252 * 65536, -1, 245),
    (E.MAP_X0_MM + 251 * 65536, -1, 244)])
def test_the_map_window_starts_behind_the_vehicle_along_the_beam_s_look_within_the_map(x_mm, beam_dx, want):
    nav = _state()
    nav._x = x_mm << 4
    nav.beam_dx_mm = beam_dx
    assert _word(nav, 20) == want


@pytest.mark.parametrize("mp, lv", [
    (8388591, 0x3FFFF),              # (8388591 + 16) >> 5 = 262143: the bound itself
    (8388592, 0x3FFFF),              # 262144: clamped
    (-8388576, 0x7FFFF & -262143),   # (-8388560) >> 5 = -262143 (-262142.5 floored)
    (-8388608, 0x7FFFF & -262143)])  # -262144 (-262143.5 floored): clamped
def test_a_bin_s_level_is_clamped_to_plus_minus_0x3ffff_in_32_mm_units(mp, lv):
    nav = _state()
    nav._map[111] = mp
    assert _word(nav, 21 + 6) & 0x7FFFF == lv


@pytest.mark.parametrize("c, want", [(14, 14), (15, 15), (16, 15), (255, 15)])
def test_a_bin_s_samples_are_clamped_to_4_bits(c, want):
    nav = _state()
    nav._cnt[111] = c
    w = _word(nav, 21 + 6)
    assert (w >> 19) & 15 == want and (w >> 23) & 1 == 0


@pytest.mark.parametrize("m, code", [(0, 0), (1, 1), (512, 1), (513, 2), (1536, 3), (7680, 15), (7681, 16),
                                     (8192, 16), (8193, 17), (16384, 17), (16385, 18), (122880, 30),
                                     (122881, 31), (131072, 31), (131073, 31), (139264, 31), (10 ** 6, 31)])
def test_a_bin_s_sigma_is_coded_rounded_up_in_512_then_8192_mm_steps(m, code):
    # code <= 15: code x 512 mm; 16..31: (code - 15) x 8192 mm (16 x 8192 = 131072 at most)
    nav = _state()
    nav._msig[111] = m
    assert _word(nav, 21 + 6) >> 25 == code


def test_a_window_at_the_map_s_far_end_writes_its_last_bin():
    nav = E.Nav(Config())
    nav._x = (E.MAP_X0_MM + 255 * 65536) << 4
    nav._map[255], nav._cnt[255], nav._msig[255] = 320, 4, 512
    nav._map[244], nav._cnt[244] = 320, 4            # before the window: not written
    words = _record(nav)
    assert words[OFF + 20] == 245
    # bin 255 is the window's last word: 10 | 4 << 19 | 1 << 25
    assert list(words[OFF + 21:OFF + 32]) == [0] * 10 + [10 | (4 << 19) | (1 << 25)]


# --- restore_from: the record back into a state ----------------------------

def _restored(words=None):
    if words is None:
        words = _record(_state())
    nav = E.Nav(Config())
    drain_events()
    nav.restore_from(words, OFF)
    return nav


def test_a_round_trip_restores_the_state_words_as_they_were():
    nav = _restored()
    assert (nav._h, nav._vz, nav._vx, nav._x, nav._pitch, nav._t) == \
        (123456789, -23456789, 3456789, 80000000, -4567890, -345678)
    assert (nav._bz, nav.terrain_under_mm, nav.alt_offset_mm, nav._mad) == (-54321, -11111, 7777, 98765)


def test_a_round_trip_restores_the_packed_fields():
    nav = _restored()
    assert nav.fault_flags == 89 and nav._last_bin == 200
    assert nav.alt_sigma_mm == 4321 and nav._age == 1000
    assert (nav.vz_sigma_mm_s, nav.vx_sigma_mm_s) == (1234, 2345)
    assert (nav.imu_used, nav._k, nav._bad) == (2, 7, 3)
    assert nav.accel_thrust_mm_s2 == -78 * 16


def test_a_round_trip_restores_the_calibration_in_use_and_freezes_it():
    nav = _restored()
    assert list(nav._cal) == [-200, 150, -1, 77]
    assert list(nav.accel_cal_q4) == [-3200, 2400, -16, 1232]
    assert list(nav.free_fall_n) == [E.FF_MAX, E.FF_MAX]
    assert nav._cal_on is True


def test_a_round_trip_restores_the_sweep_to_quarter_metres():
    nav = _restored()
    sh = nav._sh
    assert (sh[E.SW_RUN], sh[E.SW_PREV], sh[E.SW_T], sh[E.SW_M]) == (-3, -98765, -4001 * 250, 12 * 250)


def test_a_round_trip_restores_the_shadow_with_its_levels_as_seen_ground():
    nav = _restored()
    sh = nav._sh
    assert (sh[E.SH_DIR], sh[E.SH_BN], sh[E.SH_B1]) == (-1, 100, 95)
    # toward -x the drop starts beyond the near bin's upper end: x0 + 101 bins
    assert sh[E.SH_EDGE] == E.MAP_X0_MM + 101 * 65536
    assert (nav._map[100], nav._map[95]) == (2499000, -1235000)
    for j in (100, 95):
        assert (nav._cnt[j], nav._conf[j], nav._msig[j]) == (E.N_SEEN, 1, E.SEEN_SIG_MIN_MM)
    # published by the first _publish: 4,521,984 mm edge, vehicle at 5,000,000
    assert nav.shadow_dir == -1 and nav.shadow_mm == 478016


def test_a_round_trip_restores_the_map_window():
    nav = _restored()
    got = {j: (nav._map[j], nav._cnt[j], nav._steep[j], nav._conf[j], nav._msig[j]) for j in range(104, 117)}
    assert got == {
        104: (0, 0, 0, 0, 0),                    # outside the window: not kept
        105: (-93751 * 32, 12, 0, 1, 3 * 512),
        106: (3858 * 32, 15, 1, 0, 2 * 8192),
        107: (0, 0, 0, 0, 0),                    # never seen
        108: (0, 0, 1, 0, 0),
        109: (262143 * 32, 3, 0, 1, 15 * 512),
        110: (-262143 * 32, 1, 0, 0, 16 * 8192),
        111: (2 * 32, 2, 0, 0, 2 * 512),
        112: (0, 1, 0, 0, 8192),
        113: (0, 0, 0, 0, 0),
        114: (0, 0, 0, 0, 0),
        115: (32, 1, 0, 0, 16 * 8192),
        116: (0, 0, 0, 0, 0)}
    assert nav.steep_bins == 2


def test_a_restore_starts_the_derived_state_over_and_says_so():
    nav = E.Nav(Config())
    nav._nb_bin, nav._tr[E.TS_N], nav.slope = 33, 17, True
    drain_events()
    nav.restore_from(_record(_state()), OFF)
    assert nav._nb_bin == -1 and nav._tr[E.TS_N] == 0 and nav.slope is False
    assert nav._ever_alt is True and nav.initialised is True
    assert nav._tv_bin == 108
    assert drain_events() == [(E.EV_NAV_INIT, 2)]


def test_a_restore_publishes_the_state():
    nav = _restored()
    # bias: ((-54321 >> 4 = -3396) * 2500) >> 12 = -2072.3 -> -2073
    assert nav.accel_bias_mm_s2 == -2073
    assert nav.height_mm == 123456789 >> 4 == 7716049
    # the vehicle's bin 108 is not well seen: the restored terrain under it stays
    assert nav.terrain_under_mm == -11111 and nav.altitude_mm == 7716049 + 11111
    assert nav.x_mm == 5000000 and nav.pitch_bau == -4567890 >> 10
    assert nav.alt_age_ms == 1000 * 20


# --- the decoder on hand-made words --------------------------------------------

def _blank():
    """A record of a state at rest at bin 108: no shadow, empty window."""
    w = array("i", bytes(4 * (OFF + E.CHECKPOINT_WORDS)))
    w[OFF + 3] = 5000000 << 4
    w[OFF + 20] = 105
    return w


def test_the_decoder_reads_each_two_s_complement_field_at_its_negative_end():
    w = _blank()
    w[OFF + 7] = 0x80 << 7                       # run -128
    w[OFF + 16] = 0x200 | (0x3FF << 10)          # -512 (bounded to -200), -1
    w[OFF + 17] = 0x201 | (0x800 << 18)          # -511 (bounded), thrust -2048 * 16
    w[OFF + 19] = 0x10000                        # -65536 quarter metres
    nav = _restored(w)
    assert nav._sh[E.SW_RUN] == -128
    assert list(nav._cal) == [-200, -1, 0, -200]
    assert nav.accel_thrust_mm_s2 == -32768
    assert nav._sh[E.SW_T] == -65536 * 250


def test_the_decoder_reads_each_two_s_complement_field_at_its_positive_end():
    w = _blank()
    w[OFF + 7] = 0x7F << 7
    w[OFF + 16] = 0x1FF | (0x1 << 10) | (0xC8 << 20)    # 511 (bounded to 200), 1, 200
    w[OFF + 17] = 0xC9 | (0x7FF << 18)                  # 201 (bounded), thrust 2047 * 16
    w[OFF + 19] = 0xFFFF | (0x1FFF << 17)
    nav = _restored(w)
    assert nav._sh[E.SW_RUN] == 127
    assert list(nav._cal) == [200, 1, 200, 200]
    assert nav.accel_thrust_mm_s2 == 2047 * 16
    assert nav._sh[E.SW_T] == 65535 * 250 and nav._sh[E.SW_M] == 8191 * 250


def test_the_decoder_splits_word_7_at_bits_7_and_15():
    w = _blank()
    w[OFF + 7] = 0x7F | (1 << 7) | (0x1FF << 15)
    nav = _restored(w)
    assert nav.fault_flags == 0x7F and nav._sh[E.SW_RUN] == 1 and nav._last_bin == 0x1FE
    assert nav._cnt[77] == 0                     # bit 24 clear: the site's bin stays unseen


def test_the_decoder_reads_the_site_s_bin_seen_at_bit_24():
    # the site (bin 77, outside the window 105..115) back as seen ground at
    # word 6's level (tests/test_estimator_site_restart.py)
    w = _blank()
    w[OFF + 6] = 222333
    w[OFF + 7] = 1 << 24
    nav = _restored(w)
    assert nav.fault_flags == 0 and nav._sh[E.SW_RUN] == 0 and nav._last_bin == -1
    assert (nav._map[77], nav._cnt[77], nav._conf[77], nav._msig[77]) == \
        (222333, E.N_SEEN, 1, E.SEEN_SIG_MIN_MM)
    assert nav.site_terrain_mm == 222333


def test_the_decoder_splits_the_height_sigma_from_the_age():
    w = _blank()
    w[OFF + 11] = 0xFFFFFF | (63 << 24)
    w[OFF + 14] = 1 << 24
    nav = _restored(w)
    assert nav.alt_sigma_mm == 0xFFFFFF and nav._age == 63 + 64


def test_the_decoder_splits_the_velocity_sigmas_from_the_shadow_levels():
    w = _blank()
    w[OFF + 12] = 0x1FFFF | (0x1000 << 17)       # near -4096 m
    w[OFF + 13] = 0x1FFFE | (0xFFF << 17)        # far +4095 m
    w[OFF + 14] = (1 << 14) | (120 << 16)        # +x, near bin 120
    w[OFF + 17] = 121 << 10                      # far bin 121
    nav = _restored(w)
    assert (nav.vz_sigma_mm_s, nav.vx_sigma_mm_s) == (0x1FFFF, 0x1FFFE)
    assert (nav._map[120], nav._map[121]) == (-4096000, 4095000)


def test_the_decoder_splits_word_14():
    w = _blank()
    w[OFF + 14] = 15 | (9 << 4) | (2 << 12) | (63 << 24)
    nav = _restored(w)
    assert (nav.imu_used, nav._k, nav._bad, nav._age) == (15, 9, 2, 63 << 6)
    assert nav._sh[E.SH_DIR] == 0


@pytest.mark.parametrize("k, want", [(navgains.NK - 1, navgains.NK - 1), (navgains.NK, navgains.NK - 1),
                                     (255, navgains.NK - 1), (0, 0)])
def test_a_sigma_bucket_beyond_the_gain_table_is_its_last_row(k, want):
    w = _blank()
    w[OFF + 14] = k << 4
    assert _restored(w)._k == want


@pytest.mark.parametrize("code, sd, bn, b1, edge_bins", [(1, 1, 120, 121, 120), (2, -1, 100, 99, 101),
                                                    (3, -1, 100, 99, 101)])
def test_a_shadow_s_direction_code_is_plus_x_for_1_else_minus_x(code, sd, bn, b1, edge_bins):
    # the vehicle at bin 108, short of the far bin; the drop starts beyond the
    # near bin's end along the direction
    w = _blank()
    w[OFF + 12] = 300 << 17                      # near 300 m, far 0 m: a 300 m drop
    w[OFF + 14] = (code << 14) | (bn << 16)
    w[OFF + 17] = b1 << 10
    nav = _restored(w)
    assert (nav._sh[E.SH_DIR], nav._sh[E.SH_BN], nav._sh[E.SH_B1]) == (sd, bn, b1)
    assert nav._sh[E.SH_EDGE] == E.MAP_X0_MM + edge_bins * 65536
    assert nav.shadow_dir == sd


def test_a_shadow_whose_near_and_far_bins_are_one_is_refused():
    w = _blank()
    w[OFF + 12] = 300 << 17
    w[OFF + 14] = (1 << 14) | (120 << 16)
    w[OFF + 17] = 120 << 10
    nav = _restored(w)
    assert nav._sh[E.SH_DIR] == 0 and nav.shadow_dir == 0
    assert drain_events() == [(E.EV_NAV_INIT, 2)]
    assert nav._cnt[120] == 0 and nav._map[120] == 0 and nav._msig[120] == 0 and nav._conf[120] == 0


def test_a_shadow_with_direction_code_0_is_not_restored():
    nav = E.Nav(Config())
    nav._sh[E.SH_DIR] = 1                        # a stale shadow in the instance
    w = _blank()
    w[OFF + 12] = 300 << 17
    w[OFF + 14] = 120 << 16
    w[OFF + 17] = 121 << 10
    drain_events()
    nav.restore_from(w, OFF)
    assert nav._sh[E.SH_DIR] == 0 and nav._cnt[120] == 0 and nav._cnt[121] == 0
    assert nav.shadow_dir == 0 and drain_events() == [(E.EV_NAV_INIT, 2)]


def test_a_shadow_s_bins_in_the_window_take_the_window_s_words():
    w = _blank()
    w[OFF + 12] = 300 << 17
    w[OFF + 14] = (1 << 14) | (110 << 16)
    w[OFF + 17] = 111 << 10
    w[OFF + 21 + 6] = 100 | (5 << 19) | (2 << 25)    # bin 111: 3.2 m, 5 samples, sigma 1024
    nav = _restored(w)
    assert (nav._map[110], nav._cnt[110], nav._msig[110]) == (300000, E.N_SEEN, E.SEEN_SIG_MIN_MM)
    assert (nav._map[111], nav._cnt[111], nav._msig[111], nav._conf[111]) == (3200, 5, 1024, 0)


@pytest.mark.parametrize("b, want", [(-5, 0), (0, 0), (245, 245), (246, 245), (1000, 245)])
def test_a_window_start_off_the_map_is_bounded_to_it(b, want):
    w = _blank()
    w[OFF + 20] = b
    for i in range(E.CK_MAP):
        w[OFF + 21 + i] = (i + 1) | (1 << 19)
    nav = _restored(w)
    assert [nav._map[want + i] for i in range(E.CK_MAP)] == [(i + 1) * 32 for i in range(E.CK_MAP)]
    assert [nav._cnt[want + i] for i in range(E.CK_MAP)] == [1] * E.CK_MAP


def test_a_zero_window_word_leaves_its_bin_as_it_was():
    nav = E.Nav(Config())
    nav._map[107], nav._cnt[107], nav._steep[107] = 4321, 2, 1
    nav.restore_from(_blank(), OFF)
    assert (nav._map[107], nav._cnt[107], nav._steep[107]) == (4321, 2, 1)


def test_the_decoder_reads_a_bin_word_s_fields():
    w = _blank()
    w[OFF + 21] = 0x7FFFF | (15 << 19) | (1 << 23) | (1 << 24) | (31 << 25)
    w[OFF + 22] = 0x40000 | (1 << 19) | (15 << 25)
    w[OFF + 23] = 0x3FFFF | (16 << 25)
    nav = _restored(w)
    assert (nav._map[105], nav._cnt[105], nav._steep[105], nav._conf[105], nav._msig[105]) == \
        (-32, 15, 1, 1, 16 * 8192)
    assert (nav._map[106], nav._cnt[106], nav._steep[106], nav._conf[106], nav._msig[106]) == \
        (-0x40000 * 32, 1, 0, 0, 15 * 512)
    assert (nav._map[107], nav._cnt[107], nav._msig[107]) == (0x3FFFF * 32, 0, 8192)


def test_steep_bins_counts_only_bins_newly_steep():
    nav = E.Nav(Config())
    nav._steep[105] = 1
    nav.steep_bins = 4
    w = _blank()
    w[OFF + 21] = 1 << 23                       # already steep
    w[OFF + 22] = 1 << 23                       # newly steep
    w[OFF + 23] = 1 << 19                       # not steep
    nav.restore_from(w, OFF)
    assert nav.steep_bins == 5
    assert (nav._steep[105], nav._steep[106], nav._steep[107]) == (1, 1, 0)


@pytest.mark.parametrize("cal, n, on", [((0, 0, 0, 0), [0, 0], False), ((5, 0, 0, 0), [E.FF_MAX, 0], True),
                                        ((0, -5, 0, 0), [E.FF_MAX, 0], True),
                                        ((0, 0, 5, 0), [0, E.FF_MAX], True),
                                        ((0, 0, 0, -5), [0, E.FF_MAX], True)])
def test_an_imu_with_a_calibration_in_use_averages_no_more_one_without_starts_over(cal, n, on):
    nav = E.Nav(Config())
    nav.free_fall_n[0], nav.free_fall_n[1] = 7, 9
    nav._cal_on = not on
    w = _blank()
    w[OFF + 16] = (cal[0] & 0x3FF) | ((cal[1] & 0x3FF) << 10) | ((cal[2] & 0x3FF) << 20)
    w[OFF + 17] = cal[3] & 0x3FF
    nav.restore_from(w, OFF)
    assert list(nav.free_fall_n) == n
    assert nav._cal_on is on
    assert list(nav.accel_cal_q4) == [c * 16 for c in cal]


def test_the_restored_bias_is_published_in_mm_s2():
    w = _blank()
    w[OFF + 8] = 100000                          # (6250 * 2500) >> 12 = 3814.7 -> 3814
    assert _restored(w).accel_bias_mm_s2 == 3814
