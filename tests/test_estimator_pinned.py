"""The estimator's decisions one call at a time, on constructed states
(the fw-nav mutation group, docs/mutation.md): the Kalman update and the
re-acquisition after a coast (Nav._accept), with values worked by hand from the
gain table (lander/navgains.py at 50 Hz) and the definitions in the comments."""
import pytest

from lander import estimator as E
from lander import navgains
from lander.config import Config
from tests.app_fakes import drain_events, fresh_event_ring  # noqa: F401

pytestmark = pytest.mark.usefixtures("fresh_event_ring")

# Row 5 of the gain table at 50 Hz, per cycle: Kh = 419222 (Q24, per update),
# Kv = (6630 << 10) // 50 = 135782, Kb = (-5239 << 12) // 2500 = -8584 (floored),
# sigma_h 224 mm, sigma_v 76 mm/s.
K = 5


def _nav():
    nav = E.Nav(Config())
    nav.init_from(1000000, 0, 0, 0)
    drain_events()
    return nav


def test_the_gain_row_used_below_is_the_table_s_row_5_at_50_hz():
    nav = _nav()
    assert nav._rate == 50
    assert navgains.GAINS[5 * K:5 * K + 5] == (419222, 6630, -5239, 224, 76)
    assert (nav._kh[K], nav._kv[K], nav._kb[K]) == (419222, 135782, -8584)
    assert (nav._ksh[K], nav._ksv[K]) == (224, 76)


# --- the Kalman update: each product rounded to nearest (half up) ----------

def _update(nu, h=1000000 << 4, vz=-5000 << 6, bz=100000, age=3):
    nav = _nav()
    nav._h, nav._vz, nav._bz, nav._age = h, vz, bz, age
    nav._accept(nu, K)
    return nav


def test_an_update_moves_height_velocity_and_bias_by_the_gains_rounded_to_nearest():
    # nu = 1000 mm: h += 1000 * 419222 / 2^20 = 399.8 -> 400 (Q4);
    # vz += 1000 * 135782 / 2^14 = 8287.48 -> 8287; bz += 1000 * -8584 / 2^20
    # = -8.19 -> -8
    nav = _update(1000)
    assert nav._h == (1000000 << 4) + 400
    assert nav._vz == (-5000 << 6) + 8287
    assert nav._bz == 100000 - 8


def test_a_negative_innovation_moves_them_the_other_way():
    # nu = -1000: -399.8 -> -400; -8287.48 -> -8287; +8.19 -> 8
    nav = _update(-1000)
    assert nav._h == (1000000 << 4) - 400
    assert nav._vz == (-5000 << 6) - 8287
    assert nav._bz == 100000 + 8


def test_an_innovation_beyond_the_inline_products_bound_takes_the_same_rounding():
    # |nu| = 600000 > _nu_fast (524288): the fixed.mul_shift path;
    # 600000 * 419222 / 2^20 = 239880.75 -> 239881;
    # 600000 * 135782 / 2^14 = 4972485.35 -> 4972485; 600000 * -8584 / 2^20 = -4911.8 -> -4912
    nav = _nav()
    assert nav._nu_fast == 524288
    nav = _update(600000)
    assert nav._h == (1000000 << 4) + 239881
    assert nav._vz == (-5000 << 6) + 4972485
    assert nav._bz == 100000 - 4912


def test_the_bias_is_published_in_mm_s2():
    # bz = 99992 (mm/cycle^2 * 2^16): ((99992 >> 4) * 50 * 50) >> 12 = 6249 * 2500 / 4096 = 3814
    nav = _update(1000)
    assert nav.accel_bias_mm_s2 == 3814


@pytest.mark.parametrize("bz, nu, want", [(E.BZ_MAX, -100000, E.BZ_MAX),
                                          (-E.BZ_MAX, 100000, -E.BZ_MAX),
                                          (E.BZ_MAX - 100, -100000, E.BZ_MAX),
                                          (-E.BZ_MAX + 100, 100000, -E.BZ_MAX)])
def test_the_bias_estimate_is_held_within_its_bound(bz, nu, want):
    # Kb < 0: a negative innovation (the height running low) pushes the bias up
    # by 100000 * 8584 / 2^20 = 818.6 -> 819: beyond +/-BZ_MAX it stops there
    nav = _update(nu, bz=bz)
    assert nav._bz == want
    assert nav.accel_bias_mm_s2 == ((want >> 4) * 2500) >> 12


@pytest.mark.parametrize("sig_h, sig_v, want_h, want_v", [(1000, 1000, 500, 500),
                                                           (300, 100, 224, 76),
                                                           (449, 153, 224, 76)])
def test_an_update_halves_the_uncertainties_down_to_the_row_s_steady_state(sig_h, sig_v, want_h, want_v):
    nav = _nav()
    nav.alt_sigma_mm, nav.vz_sigma_mm_s, nav._age = sig_h, sig_v, 3
    nav._accept(10, K)
    assert (nav.alt_sigma_mm, nav.vz_sigma_mm_s) == (want_h, want_v)


def test_an_update_resets_the_bookkeeping_of_the_range_path():
    nav = _nav()
    nav._age, nav.alt_gate, nav.alt_updates = 7, E.G_OUTLIER, 7
    nav._cand_n, nav._nb_bin = 3, 40
    nav._x = (12345 << 4) + 7
    nav._accept(10, K)
    assert nav._age == 0
    assert nav.alt_gate == E.G_ACCEPT
    assert nav.alt_updates == 8
    assert nav._cand_n == 0
    assert nav._acc_x == 12345
    assert nav._nb_bin == -1


# --- back after a coast (age >= STALE_CYCLES) --------------------------------

def test_the_first_update_after_a_coast_of_stale_cycles_is_an_event_in_seconds():
    nav = _nav()
    nav._age = E.STALE_CYCLES + 49                  # 149 cycles: 2 s (floored)
    nav._accept(10, K)
    assert drain_events() == [(E.EV_NAV_ALT_REACQUIRED, 2)]
    nav._age = E.STALE_CYCLES                       # exactly the bound: 2 s
    nav._accept(10, K)
    assert drain_events() == [(E.EV_NAV_ALT_REACQUIRED, 2)]
    nav._age = E.STALE_CYCLES - 1                   # not stale: no event
    nav._accept(10, K)
    assert drain_events() == []


def _reacquire(nu, age=E.STALE_CYCLES, sm=1000):
    nav = _nav()
    nav._h, nav._vz, nav._bz, nav._age = 1000000 << 4, -5000 << 6, 100000, age
    nav.alt_sigma_meas_mm = sm
    nav.alt_sigma_mm, nav.vz_sigma_mm_s = 9999, 999
    nav._accept(nu, K)
    return nav


@pytest.mark.parametrize("nu", [4000, -4000, 1, -1])
def test_an_error_within_4_sigma_after_a_coast_goes_through_the_filter(nu):
    # sm = 1000 mm: 4 sigma = 4000 mm, not beyond: the steady-state update
    nav = _reacquire(nu)
    assert nav._h == (1000000 << 4) + ((nu * 419222 + (1 << 19)) >> 20)
    assert nav._vz == (-5000 << 6) + ((nu * 135782 + (1 << 13)) >> 14)
    assert (nav.alt_sigma_mm, nav.vz_sigma_mm_s) == (9999 >> 1, 999 >> 1)


@pytest.mark.parametrize("nu", [4001, -4001])
def test_an_error_beyond_4_sigma_after_a_coast_is_taken_by_the_height_at_once(nu):
    # the height takes all of it (Q4), the velocity the coast's mean rate:
    # nu / 100 cycles in mm/cycle * 2^16 = ((nu << 10) // 100) << 6; the bias
    # and the velocity's sigma stay, the height's is the row's steady state
    nav = _reacquire(nu)
    assert nav._h == (1000000 << 4) + (nu << 4)
    assert nav._vz == (-5000 << 6) + (((nu << 10) // 100) << 6)
    assert nav._bz == 100000
    assert (nav.alt_sigma_mm, nav.vz_sigma_mm_s) == (224, 999)
    assert nav._age == 0 and nav.alt_gate == E.G_ACCEPT


@pytest.mark.parametrize("nu, taken", [(10 ** 6, 0x7FFFF), (-10 ** 6, -0x7FFFF)])
def test_the_error_taken_at_once_after_a_coast_is_clamped_to_524_m(nu, taken):
    nav = _reacquire(nu, age=200)
    assert nav._h == (1000000 << 4) + (taken << 4)
    assert nav._vz == (-5000 << 6) + (((taken << 10) // 200) << 6)


# --- small helpers: the noise estimate's start, signed fields, rejections -----

@pytest.mark.parametrize("h, want", [(-5, 1920),                 # clamped to 0: 300 * 32 / 5
                                     (8000000, 101920),           # (300 + 15625) * 32 / 5
                                     (8000511, 101920),           # 8000511 >> 9 = 15625 still
                                     (E.MAX_RANGE_MM + 10 ** 6, 376915)])   # clamped: (300 + 58593) * 32 // 5
def test_the_noise_estimate_starts_at_8_specs_as_a_mean_absolute_deviation(h, want):
    assert E._mad0(h) == want


@pytest.mark.parametrize("v, n, want", [(127, 8, 127), (128, 8, -128), (255, 8, -1), (0, 8, 0),
                                        ((1 << 23) - 1, 24, (1 << 23) - 1), (1 << 23, 24, -(1 << 23))])
def test_a_signed_field_is_read_as_twos_complement(v, n, want):
    assert E._signed(v, n) == want


def test_a_rejection_is_counted_under_its_code_and_in_all():
    nav = _nav()
    nav._reject(E.G_OUTLIER)
    nav._reject(E.G_OUTLIER)
    nav._reject(E.G_STUCK)
    assert nav.alt_gate == E.G_STUCK
    assert list(nav.alt_reject_counts) == [0, 0, 0, 2, 1, 0, 0]
    assert nav.alt_rejects == 3


@pytest.mark.parametrize("cnt, conf, msig, lim, want", [
    (E.N_SEEN, 0, 10 ** 6, 100, True),          # well seen: whatever its sigma
    (E.N_SEEN - 1, 0, 100, 100, True),          # two samples, sigma at the limit
    (E.N_SEEN - 1, 0, 101, 100, False),         # ...just beyond it
    (1, 1, 100, 100, True),                     # one sample, confirmed
    (1, 1, 101, 100, False),
    (1, 0, 100, 100, False)])                   # one unconfirmed sample: never
def test_a_bin_is_usable_under_the_vehicle_when_well_seen_or_confirmed_within_the_limit(cnt, conf, msig, lim, want):
    nav = _nav()
    nav._cnt[40], nav._conf[40], nav._msig[40] = cnt, conf, msig
    assert bool(nav._usable(40, lim)) is want


@pytest.mark.parametrize("cnt, want_cnt", [(0, E.N_SEEN), (E.N_SEEN - 1, E.N_SEEN),
                                           (E.N_SEEN, E.N_SEEN), (E.N_MAP, E.N_MAP)])
def test_a_steep_sample_is_the_bin_s_level_and_maps_nothing_else(cnt, want_cnt):
    nav = _nav()
    nav._map[40], nav._cnt[40] = 5000, cnt
    nav._nb_bin, nav.alt_mapped, nav._t = 12, 4, 777
    nav._steep_sample(40, 8000)
    assert nav.alt_innov_mm == 3000
    assert nav._map[40] == 8000 and nav._cnt[40] == want_cnt
    assert nav._t == 8000 and nav._nb_bin == -1
    assert nav.alt_gate == E.G_MAPPED and nav.alt_mapped == 5


# --- the cold start: N_CONFIRM ranges agreeing within 1/16 + 20 m ------------

def _cold():
    nav = E.Nav(Config())
    drain_events()
    return nav


def test_a_cold_start_takes_the_fourth_agreeing_range_as_the_state():
    nav = _cold()
    for i in range(E.N_CONFIRM - 1):
        nav._cold_init(800000)
        assert not nav.initialised and nav.alt_gate == E.G_NOINIT
        assert nav._init_n == i + 1
    assert nav.alt_reject_counts[E.G_NOINIT] == 3
    nav._cold_init(800000)
    assert nav.initialised
    assert nav._h == 800000 << 4 and nav._vz == 0 and nav._bz == 0
    assert nav._t == 0 and nav.terrain_under_mm == 0
    assert nav.alt_sigma_mm == 50000                 # 800 m / 16
    assert nav.vz_sigma_mm_s == 20000 and nav.vx_sigma_mm_s == 20000
    assert nav._mad == E._mad0(800000) == (300 + 1562) * 32 // 5
    assert drain_events() == [(E.EV_NAV_INIT, 1)]
    assert nav.alt_reject_counts[E.G_NOINIT] == 3


def test_a_cold_start_overwrites_a_state_left_from_before():
    nav = _cold()
    nav._vz, nav._bz, nav._t, nav.terrain_under_mm = 123456, 789, 55, 66
    for _ in range(E.N_CONFIRM):
        nav._cold_init(800000)
    assert (nav._vz, nav._bz, nav._t, nav.terrain_under_mm) == (0, 0, 0, 0)


@pytest.mark.parametrize("d, agree", [(74666, True), (74667, False), (-65882, True), (-65883, False)])
def test_cold_start_ranges_agree_within_a_sixteenth_plus_20_m(d, agree):
    # the tolerance is the newer range's: 874666 >> 4 = 54666, + 20 m = 74666
    # (874667 >> 4 is 54666 too: 1 mm beyond); 734118 >> 4 = 45882, + 20 m
    # = 65882 (734117 >> 4 = 45882: 1 mm beyond)
    nav = _cold()
    nav._cold_init(800000)
    nav._cold_init(800000 + d)
    assert nav._init_n == (2 if agree else 1)
    assert nav._init_m == 800000 + d


def test_a_cold_start_restarts_the_count_from_a_range_that_disagrees():
    nav = _cold()
    nav._cold_init(800000)
    nav._cold_init(800000)
    nav._cold_init(2000000)                          # 1.2 km off: the count restarts at 1
    assert nav._init_n == 1
    for _ in range(E.N_CONFIRM - 1):
        nav._cold_init(2000000)
    assert nav.initialised and nav._h == 2000000 << 4


# --- shadows: unseen ground behind an edge that drops away ---------------------

def _shadow_nav():
    nav = _nav()
    nav._cnt[E.MAP_N // 2] = 0
    return nav


@pytest.mark.parametrize("pb, bn, sd", [(40, 42, 1), (40, 38, -1), (40, 41, 0), (40, 39, 0),
                                        (40, 40, 0), (40, 50, 1)])
def test_a_shadow_candidate_needs_the_beam_to_jump_over_a_bin(pb, bn, sd):
    nav = _shadow_nav()
    nav._shadow_from(pb, 0, bn, -60000, 1000000, 20000)     # a 60 m drop at 1 km: over 50 m
    sh = nav._sh
    assert sh[E.SH_CDIR] == sd
    if sd:
        assert (sh[E.SH_CBN], sh[E.SH_CB1], sh[E.SH_CT]) == (pb, bn, -60000)


@pytest.mark.parametrize("sd", [1, -1])
def test_no_shadow_candidate_when_the_ground_jumped_over_was_seen(sd):
    nav = _shadow_nav()
    nav._cnt[40 + sd] = 1
    nav._shadow_from(40, 0, 40 + 2 * sd, -60000, 1000000, 20000)
    assert nav._sh[E.SH_CDIR] == 0
    nav._cnt[40 + sd] = 0
    nav._cnt[40 + 2 * sd] = 1                        # only the bin next to pb counts
    nav._shadow_from(40, 0, 40 + 2 * sd, -60000, 1000000, 20000)
    assert nav._sh[E.SH_CDIR] == sd


@pytest.mark.parametrize("drop, alt, tol, yes", [
    (50000, 1000000, 20000, False),     # the 50 m threshold: not beyond it
    (50001, 1000000, 20000, True),
    (100000, 3200000, 20000, False),    # 1/32 of 3.2 km = 100 m
    (100001, 3200000, 20000, True),
    (60000, 1000000, 60000, False),     # within the noise tolerance
    (60000, 1000000, 59999, True),
    (-60000, 1000000, 20000, False)])   # a rise is no shadow
def test_a_shadow_candidate_needs_a_drop_beyond_50_m_1_32_of_the_height_and_the_noise(drop, alt, tol, yes):
    nav = _shadow_nav()
    nav._shadow_from(40, 1000, 42, 1000 - drop, alt, tol)
    assert nav._sh[E.SH_CDIR] == (1 if yes else 0)


def _candidate(nav, sd, ct=-60000):
    sh = nav._sh
    sh[E.SH_CDIR], sh[E.SH_CBN], sh[E.SH_CB1], sh[E.SH_CT] = sd, 40, 40 + 2 * sd, ct
    nav._map[40] = 1000


@pytest.mark.parametrize("e", [20000, -20000, 0])
def test_a_candidate_confirmed_by_the_next_sample_is_a_shadow(e):
    nav = _shadow_nav()
    _candidate(nav, 1)
    nav._shadow_confirm(-60000 + e, 20000)
    sh = nav._sh
    assert sh[E.SH_CDIR] == 0
    assert (sh[E.SH_DIR], sh[E.SH_BN], sh[E.SH_B1]) == (1, 40, 42)
    assert sh[E.SH_EDGE] == E.MAP_X0_MM + (40 << E.MAP_SHIFT)       # the near end of bin 40
    assert nav.shadows == 1
    # the drop from the near level to this sample, in whole metres (floored)
    assert drain_events() == [(E.EV_NAV_SHADOW, (1000 - (-60000 + e)) // 1000)]


def test_a_shadow_looking_back_starts_at_the_far_end_of_its_near_bin():
    nav = _shadow_nav()
    _candidate(nav, -1)
    nav._shadow_confirm(-60500, 20000)
    sh = nav._sh
    assert (sh[E.SH_DIR], sh[E.SH_BN], sh[E.SH_B1]) == (-1, 40, 38)
    assert sh[E.SH_EDGE] == E.MAP_X0_MM + (41 << E.MAP_SHIFT)
    assert drain_events() == [(E.EV_NAV_SHADOW, 61)]                  # 61.5 m floored


@pytest.mark.parametrize("e", [20001, -20001])
def test_a_candidate_the_next_sample_disagrees_with_is_dropped(e):
    nav = _shadow_nav()
    _candidate(nav, 1)
    nav._shadow_confirm(-60000 + e, 20000)
    sh = nav._sh
    assert sh[E.SH_CDIR] == 0 and sh[E.SH_DIR] == 0
    assert nav.shadows == 0 and drain_events() == []


def _known_shadow(nav, sd, near=0, far=-200000):
    """A shadow from bin 40 (level `near`) to bin 40 + 4 sd (level `far`)."""
    sh = nav._sh
    b1 = 40 + 4 * sd
    sh[E.SH_DIR], sh[E.SH_BN], sh[E.SH_B1] = sd, 40, b1
    sh[E.SH_EDGE] = E.MAP_X0_MM + ((40 if sd > 0 else 41) << E.MAP_SHIFT)
    nav._map[40], nav._map[b1] = near, far
    nav._cnt[40], nav._cnt[b1] = E.N_MAP, E.N_MAP
    return sh[E.SH_EDGE]


@pytest.mark.parametrize("sd", [1, -1])
def test_a_known_shadow_publishes_the_distance_to_its_edge(sd):
    nav = _shadow_nav()
    edge = _known_shadow(nav, sd)
    x = edge - 1000 * sd                              # 1 m before the edge
    nav._shadow(x, 40, 1000000)
    assert (nav.shadow_dir, nav.shadow_mm) == (sd, 1000)
    assert type(nav.shadow_mm) is int                # an integer field (telemetry packs it)
    assert nav._sh[E.SH_DIR] == sd and drain_events() == []


@pytest.mark.parametrize("near, end", [(-150000, 3), (-149999, 0)])
def test_a_shadow_ends_when_the_map_no_longer_shows_the_drop(near, end):
    # far -200 m, the threshold 50 m (at 1 km): a near level 50 m above is no drop
    nav = _shadow_nav()
    edge = _known_shadow(nav, 1, near=near)
    nav._shadow(edge - 1000, 40, 1000000)
    assert drain_events() == ([(E.EV_NAV_SHADOW_END, 3)] if end else [])
    assert nav.shadow_dir == (0 if end else 1)


@pytest.mark.parametrize("alt, end", [(3200000, True), (3199999, False)])
def test_the_drop_threshold_is_1_32_of_the_height_above_1_6_km(alt, end):
    # a 100 m drop: 3200000 >> 5 = 100000 (no drop beyond it), 3199999 >> 5 = 99999
    nav = _shadow_nav()
    edge = _known_shadow(nav, 1, near=-100000)
    nav._shadow(edge - 1000, 40, alt)
    assert drain_events() == ([(E.EV_NAV_SHADOW_END, 3)] if end else [])


@pytest.mark.parametrize("sd", [1, -1])
def test_a_shadow_ends_over_its_far_side(sd):
    nav = _shadow_nav()
    edge = _known_shadow(nav, sd)
    nav._shadow(edge + 200000 * sd, 40 + 3 * sd, 1000000)      # one bin before the far one
    assert drain_events() == [] and nav.shadow_dir == sd
    assert nav.shadow_mm == -200000
    nav._shadow(edge + 262144 * sd, 40 + 4 * sd, 1000000)      # over it
    assert drain_events() == [(E.EV_NAV_SHADOW_END, 2)]
    assert (nav.shadow_dir, nav.shadow_mm, nav._sh[E.SH_DIR]) == (0, E.SHADOW_NONE, 0)


@pytest.mark.parametrize("sd", [1, -1])
def test_a_shadow_ends_past_the_edge_over_ground_measured_level_with_the_far_side(sd):
    nav = _shadow_nav()
    edge = _known_shadow(nav, sd)
    bv = 40 + 2 * sd
    nav._map[bv], nav._cnt[bv] = -150000, E.N_SEEN              # 50 m above the far level
    nav._shadow(edge + sd, bv, 1000000)                          # 1 mm past the edge
    assert drain_events() == [(E.EV_NAV_SHADOW_END, 1)]


@pytest.mark.parametrize("dx, cnt, level", [(0, E.N_SEEN, -150000),        # at the edge, not past it
                                            (1, E.N_SEEN - 1, -150000),    # not measured well enough
                                            (1, E.N_SEEN, -149999)])       # not level with the far side
def test_a_shadow_goes_on_until_the_ground_past_the_edge_is_measured_level(dx, cnt, level):
    nav = _shadow_nav()
    edge = _known_shadow(nav, 1)
    nav._map[42], nav._cnt[42] = level, cnt
    nav._shadow(edge + dx, 42, 1000000)
    assert drain_events() == [] and nav.shadow_dir == 1 and nav.shadow_mm == -dx


# --- one range (Nav._correct): validity, stuck, geometry ---------------------
# A vehicle at 1 km over the datum, pitch 0, beam straight down (beam_bau 0:
# sin 0, cos 32767): a range r measures m = ((r >> 13) * 32766 >> 2) + ((r &
# 8191) * 32766 >> 15) (cb = 32767 * 32767 >> 15 = 32766).
C0 = 32767


def _range(nav, r, s=0, c=C0, flags=None, touchdown=False):
    nav._correct(r, touchdown, nav.fault_flags if flags is None else flags, s, c)


@pytest.mark.parametrize("r, bad", [(0, True), (-1, True), (1, False), (E.MAX_RANGE_MM - 1, False),
                                    (E.MAX_RANGE_MM, True)])
def test_a_range_outside_0_to_30_km_is_absurd(r, bad):
    nav = _nav()
    _range(nav, r)
    assert nav.raw_range_mm == r
    assert (nav.alt_reject_counts[E.G_RANGE] == 1) is bad
    assert nav._last_r == (-1 if bad else r)


def test_the_range_is_a_height_and_a_distance_ahead_through_the_beam_s_slant():
    # pitch 30 deg (s = 16384, c = 28378), beam 0: cos(beam - p) = 32767 * 28378
    # >> 15 = 28377, sin(beam - p) = -32767 * 16384 >> 15 = -16384 (floored);
    # r = 1000000 = 122 * 8192 + 576: m = (122 * 28377 >> 2) + (576 * 28377 >> 15)
    # = 865498 + 498, dx = (122 * -16384 >> 2) + (576 * -16384 >> 15) = -499712 - 288
    nav = _nav()
    _range(nav, 1000000, s=16384, c=28378)
    assert nav.meas_alt_mm == 865996
    assert nav.beam_dx_mm == -500000
    nav = _nav()
    nav.alt_offset_mm = 3000                         # an offset being removed: taken off the height
    _range(nav, 1000000, s=16384, c=28378)
    assert nav.meas_alt_mm == 862996 and nav.beam_dx_mm == -500000


@pytest.mark.parametrize("c, taken", [(8193, True), (8192, False)])
def test_a_beam_beyond_75_deg_from_the_vertical_measures_no_height(c, taken):
    # cb = 32767 * 8193 >> 15 = 8192 (taken), 32767 * 8192 >> 15 = 8191 (not)
    nav = _nav()
    _range(nav, 1000000, s=31727, c=c)
    assert (nav.alt_reject_counts[E.G_RANGE] == 0) is taken
    assert nav._last_r == 1000000                    # judged stuck or not before the geometry


def test_a_range_repeated_to_the_millimetre_is_a_stuck_altimeter():
    nav = _nav()
    flags = E.F_IMU1
    _range(nav, 990000, flags=flags)
    for i in range(E.N_STUCK - 1):                   # 9 repeats: still used
        _range(nav, 990000, flags=flags)
        assert nav._stuck_n == i + 1
        assert nav.alt_reject_counts[E.G_STUCK] == 0 and nav.fault_flags & E.F_ALT_STUCK == 0
    drain_events()
    _range(nav, 990000, flags=flags)                 # the 10th repeat
    assert nav.fault_flags == E.F_IMU1 | E.F_ALT_STUCK
    assert nav.alt_gate == E.G_STUCK and nav.alt_reject_counts[E.G_STUCK] == 1
    assert drain_events() == [(E.EV_NAV_ALT_STUCK, 990)]
    _range(nav, 990000, flags=E.F_IMU2)              # and on: one event only
    assert nav.fault_flags == E.F_IMU2 | E.F_ALT_STUCK
    assert nav.alt_reject_counts[E.G_STUCK] == 2 and drain_events() == []
    _range(nav, 990001, flags=E.F_IMU2 | E.F_ALT_STUCK)   # a new value: no longer stuck
    assert nav._stuck_n == 0 and nav.fault_flags & E.F_ALT_STUCK == 0
    assert nav.fault_flags & E.F_IMU2


# r = 1000000 = 122 * 8192 + 576 at pitch 0: m = (122 * 32766 >> 2) + (576 *
# 32766 >> 15) = 999363 + 575; the spec 300 + (999938 >> 9) = 2253 mm
M1 = 999938
SPEC1 = 2253


def test_a_range_at_pitch_0_measures_the_height_straight_down():
    nav = _nav()
    nav._mad = 0
    _range(nav, 1000000)
    assert nav.meas_alt_mm == M1 and nav.beam_dx_mm == 0
    assert nav.alt_sigma_meas_mm == SPEC1


@pytest.mark.parametrize("mad, want", [(0, SPEC1),                 # never below the spec
                                       (1802, SPEC1),             # 1802 + 450 = 2252: below it too
                                       (1804, 2255),              # 1804 + 451
                                       (4000, 5000),              # what the innovations show x 5/4
                                       (57676, 72095),            # 57676 + 14419
                                       (57677, 72096),            # the spec x 32 = 72096
                                       (57680, 72096),            # never beyond
                                       (100000, 72096)])
def test_the_measurement_sigma_is_the_noise_estimate_x_5_4_between_the_spec_and_32_specs(mad, want):
    nav = _nav()
    nav._mad = mad
    _range(nav, 1000000)
    assert nav.alt_sigma_meas_mm == want


def test_the_spec_grows_with_the_distance_the_beam_hits_ahead():
    # pitch 30 deg (see above): m = 865996, |dx| = 500000: 300 + 1691 + 1953
    nav = _nav()
    nav._mad = 0
    _range(nav, 1000000, s=16384, c=28378)
    assert nav.alt_sigma_meas_mm == 300 + (865996 >> 9) + (500000 >> 8) == 3944


@pytest.mark.parametrize("k0, mad, k1", [(0, 0, 1),          # 2252 > 297: one bucket up per range
                                         (5, 0, 6),          # 2253 > 1682
                                         (6, 0, 6),          # 1682 <= 2253 <= 2378: stays
                                         (7, 0, 6),          # 2253 < 2378: one down
                                         (20, 0, 19),
                                         (6, 1903, 6),       # sm = 1903 + 475 = 2378 = edges[6]: stays
                                         (6, 1904, 7),       # 1904 + 476 = 2380 > 2378
                                         (7, 1903, 7),       # 2378, not below edges[6]: stays
                                         (7, 1902, 6)])      # 1902 + 475 = 2377 < 2378
def test_the_sigma_bucket_moves_one_step_per_range_with_the_edges_between(k0, mad, k1):
    nav = _nav()
    nav._k, nav._mad = k0, mad
    _range(nav, 1000000)
    assert nav._k == k1


@pytest.mark.parametrize("cycles, until, cen_h, censored", [
    (10, 11, 1000000 + 3 * SPEC1 - 1, True),     # hp 1000000 > cen_h - 3 sm
    (10, 11, 1000000 + 3 * SPEC1, False),        # at it: used
    (11, 11, 1000000, False),                    # the hold is over
    (10, 11, 2000000, False)])                   # lower than the lost returns' height
def test_ranges_near_the_height_returns_were_lost_at_are_censored_for_a_while(cycles, until, cen_h, censored):
    nav = _nav()
    nav._mad = 0                                     # sm = the spec
    nav._cycles, nav._cen_until, nav._cen_h = cycles, until, cen_h
    _range(nav, 1000000)
    assert (nav.alt_gate == E.G_RANGE) is censored
    assert nav.alt_updates == (0 if censored else 1)



# --- the gate on known ground -----------------------------------------------
# _nav() at x = 0: the datum bin (32) known (N_MAP samples, level 0, sigma 0);
# the noise estimate at 0: sm = the spec, 2253 mm; the height's sigma 58 mm
# (GAINS row 0): sigma_nu = 2253 + 58 / 2 = 2282, the gate 4 x 2282 = 9128 mm.
GATE1 = 9128


def _at(nu, mad=0, **kw):
    """_nav() with its height set so that r = 1000000 gives innovation nu."""
    nav = _nav()
    nav._mad = mad
    nav._h = (M1 - nu) << 4
    for k, v in kw.items():
        setattr(nav, k, v)
    return nav


@pytest.mark.parametrize("nu, taken", [(GATE1, True), (-GATE1, True), (GATE1 + 1, False), (-GATE1 - 1, False)])
def test_an_innovation_is_taken_within_4_sigma_of_the_innovation(nu, taken):
    nav = _at(nu, _t=555)
    _range(nav, 1000000)
    assert nav.alt_innov_mm == nu and nav.alt_gate_mm == GATE1
    assert nav.alt_gate == (E.G_ACCEPT if taken else E.G_OUTLIER)
    assert nav.alt_updates == (1 if taken else 0)
    assert nav._t == (0 if taken else 555)           # the terrain under the beam: the bin's
    assert nav._cand_n == (0 if taken else 1)


def test_the_innovation_s_sigma_is_the_larger_plus_half_the_smaller():
    # the height's sigma 10000 > 2253: 10000 + 1126 = 11126, the gate 44504
    nav = _at(0, alt_sigma_mm=10000)
    _range(nav, 1000000)
    assert nav.alt_gate_mm == 44504


def test_known_ground_adds_its_own_sigma_and_the_update_takes_that_bucket():
    # the bin's sigma 1000: sm = 3253 (bucket 7: 2378 < 3253 <= 3364), the gate
    # 4 x (3253 + 29) = 13128; the update's row 7 sets the height's sigma to 385
    # (row 1, the bucket the range alone moved to from 0, has 76)
    nav = _at(13128)
    nav._msig[32] = 1000
    _range(nav, 1000000)
    assert nav.alt_gate_mm == 13128 and nav.alt_gate == E.G_ACCEPT
    assert nav._k == 1
    assert nav.alt_sigma_mm == 385


def test_the_noise_estimate_follows_the_innovations_clamped_at_a_quarter_gate():
    # nu = 9128: clamped to 2282; its running mean 2282 / 8 = 285; the noise
    # estimate moves 1/32 of |2282 - 285| = 1997: 62
    nav = _at(GATE1)
    _range(nav, 1000000)
    assert (nav._mean_bin, nav._nu_mean, nav._mad) == (32, 285, 62)
    nav = _at(-GATE1)
    _range(nav, 1000000)
    assert (nav._nu_mean, nav._mad) == (-286, 62)    # -2282 >> 3 = -286; 1996 >> 5
    nav = _at(800)                                   # within the quarter gate: itself
    _range(nav, 1000000)
    assert (nav._nu_mean, nav._mad) == (100, 21)     # 700 >> 5


@pytest.mark.parametrize("mean0, remapped", [(4824, False), (4825, True), (-4823, False), (-4824, True)])
def test_innovations_keeping_one_sign_on_one_bin_beyond_2_sigma_remap_it(mean0, remapped):
    # mean0 + (+/-2282 - mean0) >> 3: 4824 -> 4506 = 2 sm (kept), 4825 -> 4507;
    # -4823 -> -4506, -4824 -> -4507
    nu = GATE1 if mean0 > 0 else -GATE1
    nav = _at(nu, _mean_bin=32, _nu_mean=mean0)
    nav._conf[32] = 1
    _range(nav, 1000000)
    if remapped:
        assert nav.alt_gate == E.G_MAPPED and nav.alt_mapped == 1
        assert nav._cnt[32] == 0 and nav._conf[32] == 0 and nav._nu_mean == 0
        assert nav.alt_updates == 0
    else:
        assert nav.alt_gate == E.G_ACCEPT and nav._cnt[32] == E.N_MAP and nav._conf[32] == 1


def test_the_innovations_mean_restarts_on_a_new_bin():
    nav = _at(GATE1, _mean_bin=31, _nu_mean=6000)
    _range(nav, 1000000)
    assert nav.alt_gate == E.G_ACCEPT and nav._nu_mean == 285 and nav._mean_bin == 32


# --- an offset being removed: the raw range agreeing again ends it --------------
# offset 50 m: m = 949938 (spec 300 + 1855 = 2155, the gate 4 x (2155 + 29) = 8736)

def _offset(raw, off_n):
    nav = _nav()
    nav._mad = 0
    nav.alt_offset_mm = 50000
    nav._off_n = off_n
    nav.fault_flags = E.F_ALT_OFFSET | E.F_IMU1
    nav._h = (M1 - raw) << 4                        # raw innovation: M1 - hp
    drain_events()
    _range(nav, 1000000)
    return nav


@pytest.mark.parametrize("raw", [0, 8736, -8736])
def test_an_offset_ends_after_n_confirm_raw_ranges_within_the_gate(raw):
    nav = _offset(raw, E.N_CONFIRM - 1)
    assert nav.alt_gate_mm == 8736
    assert nav.alt_offset_mm == 0 and nav._off_n == 0
    assert nav.fault_flags == E.F_IMU1
    assert (E.EV_NAV_ALT_OFFSET_END, 0) in drain_events()
    assert nav.alt_gate == E.G_ACCEPT                 # the raw innovation, within the gate
    # updated with it, on row 6 (1682 < 2155 <= 2378: the bucket of sm on known ground, Kh = 360283)
    assert nav._h == ((M1 - raw) << 4) + ((raw * 360283 + (1 << 19)) >> 20)


def test_an_offset_stays_until_n_confirm_raw_ranges_agree():
    nav = _offset(0, E.N_CONFIRM - 2)
    assert nav.alt_offset_mm == 50000 and nav._off_n == E.N_CONFIRM - 1
    assert nav.fault_flags & E.F_ALT_OFFSET
    assert nav.alt_gate == E.G_OUTLIER                 # -50 m with the offset removed


@pytest.mark.parametrize("raw", [8737, -8737])
def test_a_raw_range_beyond_the_gate_restarts_the_offset_s_count(raw):
    nav = _offset(raw, E.N_CONFIRM - 1)
    assert nav.alt_offset_mm == 50000 and nav._off_n == 0


# --- rejected on known ground: a new terrain level, or an altimeter offset? ---
# N_CONFIRM rejected samples agreeing within tol (20 m here) make a candidate
# level; then a step the vehicle's travel can explain (10:1), or a big one
# (>= 300 m, >= 1/4 of the height), or ground far below a vehicle that
# believes it is at the surface, is terrain; anything else an altimeter offset.

def _candidates(nav, r, n=E.N_CONFIRM, touchdown=False):
    for _ in range(n):
        _range(nav, r, touchdown=touchdown)           # N_CONFIRM < N_STUCK: not stuck


def test_rejected_samples_agreeing_within_tol_build_a_candidate_level():
    # hp = M1 + 50000: the samples imply terrain 50 m up (tm = hp - m)
    nav = _at(-50000)
    drain_events()
    _range(nav, 1000000)
    assert (nav._cand_n, nav._cand_t) == (1, 50000)
    _range(nav, 1000000 - 20000)                     # tm = 50000 + 19999 (m 20 m shorter)
    tm = 50000 + (M1 - nav.meas_alt_mm)
    assert (nav._cand_n, nav._cand_t) == (2, 50000 + ((tm - 50000) >> 1))
    assert nav.alt_gate == E.G_OUTLIER and nav.alt_reject_counts[E.G_OUTLIER] == 2


@pytest.mark.parametrize("dr, agree", [(20001, True), (-20001, True), (20002, False), (-20002, False)])
def test_a_sample_beyond_tol_of_the_candidate_restarts_it(dr, agree):
    # tol = max(4 sm, 20 m) = 20 m; a range dr longer implies terrain lower by
    # the height it measures (32766 / 32768 of dr, floored per limb)
    nav = _at(-50000)
    _range(nav, 1000000)
    _range(nav, 1000000 + dr)
    d = (M1 - nav.meas_alt_mm)                      # the new sample's tm - 50000
    assert (abs(d) <= 20000) is agree
    if agree:
        assert (nav._cand_n, nav._cand_t) == (2, 50000 + (d >> 1))
    else:
        assert (nav._cand_n, nav._cand_t) == (1, 50000 + d)


def _step_then(nav, r=1000000, touchdown=False):
    """N_CONFIRM samples of one range: the candidate level is the terrain they imply."""
    drain_events()
    _candidates(nav, r, touchdown=touchdown)
    assert nav._cand_n == 0


def test_a_step_the_vehicle_did_not_travel_is_an_altimeter_offset():
    # the vehicle has not moved since its last accepted range: a 50 m step
    # (beyond 10 x 0 + 20 m, below 300 m) is the altimeter, not the ground
    nav = _at(-50000)
    _step_then(nav)
    assert nav.alt_offset_mm == -50000 and nav._off_n == 0
    assert nav.fault_flags & E.F_ALT_OFFSET
    assert nav.alt_gate == E.G_OUTLIER and nav.alt_reject_counts[E.G_OUTLIER] == 4
    assert nav.terrain_steps == 0 and nav._map[32] == 0
    assert drain_events() == [(E.EV_NAV_ALT_OFFSET, -50)]


def test_an_offset_adds_to_the_one_being_removed():
    nav = _at(0, alt_offset_mm=7000)                 # m = M1 - 7000 with the offset off
    nav._h = (M1 - 7000 + 50000) << 4                # the samples imply terrain 50 m up
    nav._off_n = 0
    _step_then(nav)
    assert nav.alt_offset_mm == 7000 - 50000


@pytest.mark.parametrize("x, acc_x, terrain", [(2999, 0, False), (3000, 0, True), (0, 3000, True),
                                               (5000, 2000, True), (5000, 2001, False)])
def test_a_step_within_10_to_1_of_the_vehicle_s_travel_plus_tol_is_terrain(x, acc_x, terrain):
    # travel since the last accepted range |x - acc_x|: 50000 <= 10 x 3000 +
    # 20000 = 50000, terrain (either way along x); 10 x 2999 + 20000 = 49990: an offset
    nav = _at(-50000)
    nav._x, nav._acc_x = x << 4, acc_x
    _step_then(nav)
    if terrain:
        assert nav.terrain_steps == 1 and nav._map[32] == 50000 and nav._t == 50000
        assert nav.alt_gate == E.G_ACCEPT and nav.alt_offset_mm == 0
        assert drain_events() == [(E.EV_NAV_TERRAIN_STEP, 50)]
        # the update takes the last sample against the new level: nu = m - (hp - t) = 0
        assert nav.alt_updates == 1 and nav.alt_innov_mm == -50000
        assert nav._h == (M1 + 50000) << 4
    else:
        assert nav.terrain_steps == 0 and nav.alt_offset_mm == -50000


def test_a_terrain_step_updates_with_the_last_sample_against_the_new_level():
    # the samples imply 50 m, 50 m, 50 m, then 49.999 m (a range 1 mm longer:
    # m + 1): the candidate 50000 + (-1 >> 1) = 49999; the update's innovation
    # m - (hp - t) = (M1 + 1) - (M1 + 50000 - 49999) = 0
    nav = _at(-50000)
    nav._x = 3000 << 4
    drain_events()
    for r in (1000000, 1000000, 1000000, 1000001):
        _range(nav, r)
    assert nav._map[32] == 49999 and nav.terrain_steps == 1
    assert nav._h == (M1 + 50000) << 4
    nav = _at(-50000)
    nav._x = 3000 << 4
    for r in (1000000, 1000000, 1000000, 1000100):   # the last m = M1 + 100: tm 49900
        _range(nav, r)
    # the candidate 50000 + (-100 >> 1) = 49950; nu = 100 - 50 = 50, taken on
    # row 6 (sm 2253 + the bin's 0: 1682 < 2253 <= 2378): 50 x 360283 / 2^20 = 17.2
    assert nav.meas_alt_mm == M1 + 100 and nav._map[32] == 49950
    assert nav._h == ((M1 + 50000) << 4) + 17


@pytest.mark.parametrize("nu, terrain", [(300000, True), (299999, False), (-300000, True), (-299999, False)])
def test_a_step_of_300_m_is_terrain_wherever_the_vehicle_is(nu, terrain):
    nav = _at(nu)
    _step_then(nav)
    assert (nav.terrain_steps == 1) is terrain
    if terrain:
        assert nav._map[32] == -nu
    else:
        assert nav.alt_offset_mm == nu


def test_above_1_2_km_a_big_step_is_a_quarter_of_the_height():
    nav = _nav()
    _range(nav, 2000000)
    m2 = nav.meas_alt_mm
    assert m2 >> 2 > E.BIG_STEP_MM
    for step, terrain in (((m2 >> 2) - 1, False), (m2 >> 2, True)):
        nav = _nav()
        nav._mad = 0
        nav._h = (m2 + step) << 4                    # tm = step
        _step_then(nav, r=2000000)
        assert (nav.terrain_steps == 1) is terrain, step


@pytest.mark.parametrize("est, r, touchdown, zero", [
    (19999, 40003, False, True),      # below 20 m, and m = 40000 beyond est + 20 m
    (19999, 40002, False, False),     # m = 39999: not beyond
    (20000, 40004, False, False),     # at 20 m: not "at the surface" (m = 40001)
    (19999, 40003, True, False)])     # on the legs: the surface is here
def test_a_vehicle_believing_it_is_at_the_surface_takes_ground_far_below_as_terrain(est, r, touchdown, zero):
    # the ground under the vehicle believed 100 m below the datum: the samples
    # imply a step of ~120 m (no travel, under 300 m): an offset, unless the
    # vehicle believes it is at the surface and the range says far above it
    nav = _nav()
    nav._mad = 0
    nav.terrain_under_mm = -100000
    nav._h = (est - 100000) << 4
    _step_then(nav, r=r, touchdown=touchdown)
    m = nav.meas_alt_mm
    ev = drain_events()
    assert ((E.EV_NAV_ZERO_SANITY, m // 1000) in ev) is zero
    assert (nav.terrain_steps == 1) is zero
    assert (nav.alt_offset_mm != 0) is not zero


def test_each_confirmed_shadow_is_counted():
    nav = _shadow_nav()
    for n in (1, 2):
        _candidate(nav, 1)
        nav._shadow_confirm(-60000, 20000)
        assert nav.shadows == n


# --- new ground under the beam (a bin never seen, or being mapped) -------------
# The vehicle over bin 42 (x = 10 bins from the datum's), nothing seen there;
# the terrain under the vehicle 0; hp = M1 + t: the sample implies terrain t.
X42 = 10 << E.MAP_SHIFT


def _over_new(t, updates=E._YOUNG_N, mad=0, **kw):
    nav = _nav()
    nav._mad = mad
    nav.alt_updates = updates
    nav._x = X42 << 4
    nav._h = (M1 + t) << 4
    for k, v in kw.items():
        setattr(nav, k, v)
    drain_events()
    return nav


@pytest.mark.parametrize("t, updates, level", [
    (20000, E._YOUNG_N, True), (-20000, E._YOUNG_N, True),          # within tol (20 m) of the ground under the vehicle
    (20001, E._YOUNG_N, False), (-20001, E._YOUNG_N, False),
    (216288, E._YOUNG_N - 1, True), (-216288, E._YOUNG_N - 1, True),  # young: 96 specs, 96 x 2253
    (216289, E._YOUNG_N - 1, False), (216289, 0, False),
    (20001, 0, True)])
def test_a_first_sample_level_with_the_ground_under_the_vehicle_is_that_ground(t, updates, level):
    nav = _over_new(t, updates)
    _range(nav, 1000000)
    if level:
        # the bin is the ground under the vehicle, well known; the range then
        # measures the height (gated against it)
        assert nav._map[42] == 0 and nav._cnt[42] == E.N_MAP and nav._msig[42] == 2253
        assert nav.alt_gate in (E.G_ACCEPT, E.G_OUTLIER)
    else:
        # new ground: mapped at the level it implies, the height untouched
        assert nav._map[42] == t and nav._cnt[42] == 1 and nav._msig[42] == 2253
        assert nav.alt_gate == E.G_MAPPED and nav.alt_mapped == 1
        assert nav._h == (M1 + t) << 4 and nav.alt_innov_mm == 0
        assert nav._t == t and (nav._nb_bin, nav._nb_t) == (42, t)


@pytest.mark.parametrize("t, level", [(288384, True), (288385, False)])
def test_young_level_is_never_tighter_than_the_tolerance(t, level):
    # the noise estimate at 100 m: sm = 32 specs = 72096, tol = 4 sm = 288384 >
    # 96 specs (216288): the tolerance it is
    nav = _over_new(t, 0, mad=100000)
    _range(nav, 1000000)
    assert (nav._cnt[42] == E.N_MAP) is level


def test_level_ground_is_relative_to_the_ground_under_the_vehicle():
    nav = _over_new(70000, terrain_under_mm=55000)          # 15 m above it: level
    _range(nav, 1000000)
    assert nav._map[42] == 55000 and nav._cnt[42] == E.N_MAP


def test_a_slope_maps_even_level_ground_as_new(monkeypatch):
    nav = _over_new(0)
    monkeypatch.setattr(E, "_slope", lambda nav, tm, dx, tol, m: True)
    _range(nav, 1000000)
    assert nav._cnt[42] == 1 and nav.alt_gate == E.G_MAPPED


def _mapping(n, level=10000, msig=2253, t=0, **kw):
    """Bin 42 being mapped: n samples at `level`; this sample implies t."""
    kw.setdefault("_t", level)
    nav = _over_new(t, **kw)
    nav._map[42], nav._cnt[42], nav._msig[42] = level, n, msig
    return nav


@pytest.mark.parametrize("t, d", [(40000, 20000),       # clamped at tol (20 m)
                                   (-20000, -20000),
                                   (13000, 3000),
                                   (-10000, -20000)])
def test_a_bin_being_mapped_takes_a_winsorised_running_mean(t, d):
    # the sixth sample: level + d // 6 (floored: -20000 // 6 = -3334)
    nav = _mapping(5, t=t)
    _range(nav, 1000000)
    assert nav._map[42] == 10000 + d // 6
    assert nav._cnt[42] == 6 and nav.alt_gate == E.G_MAPPED
    assert nav.alt_innov_mm == d
    assert nav._mad == abs(d) >> 5                  # the noise estimate: 1/32 of |d| from 0
    assert nav._t == 10000                          # not a reference until complete
    assert nav._msig[42] == 2253


def test_the_n_map_th_sample_completes_the_bin_with_half_the_sigma():
    nav = _mapping(E.N_MAP - 1, _t=0)
    _range(nav, 1000000)                            # t = 0: d = -10000, / 12 = -834
    assert nav._cnt[42] == E.N_MAP and nav._map[42] == 10000 - 834
    assert nav._msig[42] == 2253 >> 1
    assert nav._t == 10000 - 834                    # now the terrain under the beam


@pytest.mark.parametrize("msig, restarted", [(4 * 2253, False), (4 * 2253 + 1, True)])
def test_a_bin_mapped_by_far_noisier_ranges_is_mapped_again(msig, restarted):
    nav = _mapping(5, level=30000, msig=msig)
    _range(nav, 1000000)                            # t = 0: level with the ground under the vehicle
    if restarted:
        assert nav._cnt[42] == E.N_MAP and nav._map[42] == 0
    else:
        assert nav._cnt[42] == 6


def test_a_second_sample_disagreeing_with_a_lone_first_restarts_the_bin():
    nav = _mapping(1, level=50000, t=25000)         # one sample at 50 m; this one at 25 m: 25 m apart
    _range(nav, 1000000)
    assert nav._cnt[42] == 1 and nav._map[42] == 25000
    nav = _mapping(1, level=45000, t=25000)         # 20 m apart: the second sample of the bin
    _range(nav, 1000000)
    assert nav._cnt[42] == 2 and nav._map[42] == 45000 - 20000 // 2


@pytest.mark.parametrize("e, confirmed", [(20000, True), (-20000, True), (20001, False), (-20001, False)])
def test_the_previous_new_ground_sample_at_the_same_level_confirms_both(e, confirmed):
    nav = _over_new(50000, _nb_bin=41, _nb_t=50000 + e)
    _range(nav, 1000000)
    assert nav._cnt[42] == 1
    assert (nav._conf[42], nav._conf[41]) == ((1, 1) if confirmed else (0, 0))
    assert (nav._nb_bin, nav._nb_t) == (42, 50000)


def test_a_lone_sample_with_no_new_ground_before_it_is_unconfirmed():
    nav = _over_new(50000, _nb_bin=-1, _nb_t=50000)
    nav._conf[0] = 0
    _range(nav, 1000000)
    assert nav._conf[42] == 0 and nav._conf[E.MAP_N - 1] == 0


@pytest.mark.parametrize("level, event", [(100001, True), (-100001, True), (100000, False), (-100000, False)])
def test_a_completed_bin_over_100_m_from_the_last_level_is_a_terrain_step(level, event):
    nav = _mapping(E.N_MAP - 1, level=level, t=level, _t=0)     # the sample at the bin's level: d = 0
    _range(nav, 1000000)
    assert nav._cnt[42] == E.N_MAP and nav._map[42] == level
    assert (nav.terrain_steps == 1) is event
    assert drain_events() == ([(E.EV_NAV_TERRAIN_STEP, level // 1000)] if event else [])


def test_an_incomplete_bin_far_from_the_last_level_is_no_terrain_step_yet():
    nav = _mapping(5, level=200000, t=200000, _t=0)
    _range(nav, 1000000)
    assert nav.terrain_steps == 0 and nav._t == 0


# --- the trend test (Nav._slope) ------------------------------------------------
# A ramp: sample k implies terrain 800 k mm (q = tm >> 3 = 100 k exactly), a
# range every other cycle (cycle 2k + 2), the beam straight down (dx = 0), m =
# 1 km (sn = the spec, 2253), the height's sigma 0, the velocity's 300 mm/s
# (TR_SIG_V). The 65th sample (k = 64) is the first judged: the halves are
# k = 33..64 and 1..32, their means 32 x 800 = 25600 mm apart, 64 cycles
# apart: lim = 2253 + 300 x 64 x 3 / 50 = 3405; the footprint's travel
# vx x 64 / 50 (dx constant).

def _trend(step=800, vx=5000, n=65, vz_sig=300, alt_sig=0, dx=0, m=1000000, hold=0, t0=0):
    nav = _nav()
    nav._mad = 0
    nav.vz_sigma_mm_s, nav.alt_sigma_mm, nav.vx_mm_s = vz_sig, alt_sig, vx
    nav._tr[E.TS_HOLD] = hold
    out = []
    for k in range(n):
        nav._cycles = 2 * k + 2
        out.append(nav._slope(t0 + step * k, dx, 20000, m))
    return nav, out


def test_the_trend_window_is_judged_only_once_full():
    nav, out = _trend(n=64)
    assert out == [False] * 64 and nav.slope is False
    nav, out = _trend()
    assert out[:64] == [False] * 64
    assert out[64] is True and nav.slope is True
    assert nav._tr[E.TS_N] == 64
    assert (nav._tr[E.TS_S1] - nav._tr[E.TS_S0]) >> 2 == 25600


@pytest.mark.parametrize("t0", [50000, -7777, 123456])
def test_the_trend_is_the_same_from_any_level(t0):
    # the halves' means 25600 mm apart wherever the ramp starts: the window's
    # sums move together (t0 a multiple of 8 or not: q = tm >> 3 floors each)
    nav, out = _trend(t0=t0)
    assert out[64] is True
    assert (nav._tr[E.TS_S1] - nav._tr[E.TS_S0]) >> 2 == 25600
    nav, out = _trend(t0=t0, step=0)
    assert out[64] is False and nav._tr[E.TS_S1] == nav._tr[E.TS_S0] == (t0 >> 3) * E.TR_H


@pytest.mark.parametrize("step", [800, -800])
def test_terrain_drifting_faster_than_the_state_explains_is_a_slope_either_way(step):
    nav, out = _trend(step=step)
    assert out[64] is True


@pytest.mark.parametrize("vx, slope, hold", [(5000, True, 0), (-5000, True, 0), (4999, False, E.TR_N)])
def test_a_drift_steeper_than_4_to_1_over_the_footprint_s_travel_is_a_sweep_s_not_a_slope(vx, slope, hold):
    # d / 4 = 6400 against the travel 5000 x 64 / 50 = 6400 (a slope) or 6398 (steeper: held)
    nav, out = _trend(vx=vx)
    assert out[64] is slope
    assert nav._tr[E.TS_HOLD] == hold


@pytest.mark.parametrize("alt_sig, slope", [(11097, True), (11098, False)])
def test_a_drift_within_the_height_s_2_sigma_and_the_noise_is_no_slope(alt_sig, slope):
    # lim = 2253 + 2 x 11097 + 1152 = 25599 < 25600; 2 x 11098: 25601
    nav, out = _trend(alt_sig=alt_sig)
    assert out[64] is slope


@pytest.mark.parametrize("vz_sig, slope", [(6079, True), (6080, False)])
def test_a_drift_within_3_sigma_of_the_velocity_over_the_halves_time_is_no_slope(vz_sig, slope):
    # 6079 x 64 x 3 // 50 = 23343: lim 25596; 6080: 23347, lim 25600 (not beyond)
    nav, out = _trend(vz_sig=vz_sig)
    assert out[64] is slope


def test_the_velocity_sigma_allowed_for_is_at_least_tr_sig_v():
    # 0 counts as 300 mm/s: lim 3405 < d = 3456 (step 108: 32 x 108 = 3456)
    nav, out = _trend(step=108, vz_sig=0, vx=10 ** 5)
    assert out[64] is True
    nav, out = _trend(step=106, vz_sig=0, vx=10 ** 5)     # 3392 <= 3405
    assert out[64] is False


@pytest.mark.parametrize("step, slope", [(71, False), (72, True)])
def test_a_drift_within_the_range_noise_is_no_slope(step, slope):
    # the velocity's sigma huge but only d <= sn short-cuts: 32 x 72 = 2304 > 2253
    nav, out = _trend(step=step, vz_sig=0, vx=10 ** 5)
    assert nav._tr[E.TS_HOLD] == 0
    assert out[64] is (slope and 32 * step > 3405)


def test_a_drift_within_the_noise_counts_a_hold_down():
    nav, out = _trend(step=0, hold=5)
    assert out[64] is False and nav.slope is False
    assert nav._tr[E.TS_HOLD] == 5 - 1


def test_a_slope_is_held_off_while_a_sweep_s_tail_is_in_the_window():
    nav, out = _trend(hold=3)                        # judged a slope, but held: counts down
    assert out[64] is False and nav._tr[E.TS_HOLD] == 2


def test_the_noise_estimate_raises_the_noise_limit():
    # the noise estimate 20000 x 5/4 = 25000 over the spec: d = 25600 is judged
    # (beyond 25000) against lim = 25000 + 1152 = 26152: no slope (a slope at mad 0)
    nav, out = _trend(n=64)
    nav._mad = 20000
    nav._cycles = 130
    assert nav._slope(800 * 64, 0, 20000, 1000000) is False


def test_the_beam_s_own_sweep_counts_against_a_slope():
    # step 107: d = 32 x 107 = 3424 > 3405, a slope with the beam fixed; with
    # the hit moving 128 mm ahead a sample, g = 8192 - (4096 >> 6 << 6) = 4096
    # over the halves: lim + 4096 >> 7 = 3437 >= 3424, no slope (the footprint's
    # travel, g, keeps it from being steeper)
    nav, out = _trend(step=107, vx=10 ** 5)
    assert out[64] is True
    nav = _nav()
    nav._mad = 0
    nav.vz_sigma_mm_s, nav.alt_sigma_mm, nav.vx_mm_s = 300, 0, 0
    res = []
    for k in range(65):
        nav._cycles = 2 * k + 2
        res.append(nav._slope(107 * k, 128 * k, 20000, 1000000))
    assert res[64] is False and nav._tr[E.TS_HOLD] == 0


def test_a_beam_sweeping_back_counts_against_a_slope_too():
    # the hit moving 128 mm back a sample: g = -4096, |g| >> 7 = 32: lim 3437 >= 3424
    nav = _nav()
    nav._mad = 0
    nav.vz_sigma_mm_s, nav.alt_sigma_mm, nav.vx_mm_s = 300, 0, 0
    for k in range(65):
        nav._cycles = 2 * k + 2
        r = nav._slope(107 * k, -128 * k, 20000, 1000000)
    assert r is False and nav._tr[E.TS_HOLD] == 0


def _window(tm, dx=lambda k: 0, every=2, vx=0, vz_sig=300, alt_sig=0, tol=20000):
    # 65 samples, one every `every` cycles, the noise estimate 0, m = 1 km (sn = 2253)
    nav = _nav()
    nav._mad = 0
    nav.vz_sigma_mm_s, nav.alt_sigma_mm, nav.vx_mm_s = vz_sig, alt_sig, vx
    for k in range(65):
        nav._cycles = every * k + every
        r = nav._slope(tm(k), dx(k), tol, 1000000)
    return nav, r


def test_the_footprint_s_travel_adds_the_vehicle_s_to_the_beam_s():
    # the hit moving 128 mm ahead a sample (g = 4096 over the halves) and the
    # vehicle 5 m/s (6400 mm over 64 cycles): 10496 against d / 4 = 6400: a
    # slope, not steeper (the difference, 2304, would make it a sweep's)
    nav, r = _window(lambda k: 800 * k, dx=lambda k: 128 * k, vx=5000)
    assert r is True and nav._tr[E.TS_HOLD] == 0


@pytest.mark.parametrize("last, d", [(0, 25608), (32, 25609)])
def test_the_vehicle_s_travel_back_is_floored_before_its_size(last, d):
    # the newer half 8 mm higher: d = (102400 + 32) >> 2 = 25608 (the last
    # sample 32 mm more: + 4, 25609), d // 4 = 6402; vx = -5001: -5001 x 64 // 50
    # = -6402 (floored from -6401.28): 6402, not steeper than d // 4: a slope
    nav, r = _window(lambda k: 800 * k + (8 if k >= 33 else 0) + (last if k == 64 else 0), vx=-5001)
    assert (nav._tr[E.TS_S1] - nav._tr[E.TS_S0]) >> 2 == d
    assert r is True and nav._tr[E.TS_HOLD] == 0


def test_a_drift_exactly_at_the_limit_is_neither_a_slope_nor_steeper():
    # lim = 2253 + 6080 x 64 x 3 // 50 (23347) = 25600 = d; no travel
    nav, r = _window(lambda k: 800 * k, vz_sig=6080)
    assert r is False and nav._tr[E.TS_HOLD] == 0


def test_the_time_between_the_halves_counts_at_most_255_cycles():
    # a range every 8 cycles: 256 cycles between the halves, counted 255:
    # lim = 2253 + 2 x 30 + 300 x 255 x 3 // 50 = 2253 + 60 + 4590 = 6903 < d =
    # 32 x 216 = 6912 (256 cycles: 4608, 6921); the travel 1000 x 255 / 50 = 5100 > d / 4
    nav, r = _window(lambda k: 216 * k, every=8, vx=1000, alt_sig=30)
    assert (nav._tr[E.TS_S1] - nav._tr[E.TS_S0]) >> 2 == 6912
    assert r is True


def test_the_velocity_sigma_counts_at_most_2_pow_20_mm_s():
    # vz sigma 2^20 counts 2^20 - 1: lim = 2253 + 2 x 72 + 1048575 x 64 x 3 //
    # 50 = 2253 + 144 + 4026528 = 4028925 < d = 32 x 125904 = 4028928 (with
    # 2^20: 4026531, lim 4028928, not beyond); no travel: steeper, held
    nav, r = _window(lambda k: 125904 * k, vz_sig=1 << 20, alt_sig=72, tol=200000)
    assert (nav._tr[E.TS_S1] - nav._tr[E.TS_S0]) >> 2 == 4028928
    assert r is False and nav._tr[E.TS_HOLD] == E.TR_N


def test_the_height_sigma_counts_at_most_2_pow_20_mm():
    # alt sigma 2^20 counts 2^20 - 1: lim = 2253 + 2097150 + 347 x 192 // 50
    # (1332) = 2100735 < d = 32 x 65648 = 2100736 (with 2^20: 2100737); no
    # travel: steeper, held
    nav, r = _window(lambda k: 65648 * k, vz_sig=347, alt_sig=1 << 20, tol=100000)
    assert (nav._tr[E.TS_S1] - nav._tr[E.TS_S0]) >> 2 == 2100736
    assert r is False and nav._tr[E.TS_HOLD] == E.TR_N


@pytest.mark.parametrize("jumps, restarted", [(1, False), (2, False), (3, True)])
def test_jumps_beyond_tol_are_skipped_twice_then_restart_the_window(jumps, restarted):
    nav, out = _trend()
    for j in range(jumps):
        nav._cycles += 2
        r = nav._slope(800 * 65 + 30000, 0, 20000, 1000000)
    assert nav._tr[E.TS_SKIP] == (0 if restarted else jumps)
    if restarted:
        assert r is False and nav._tr[E.TS_N] == 1
    else:
        assert r is True and nav._tr[E.TS_N] == 64


@pytest.mark.parametrize("e", [20000, -20000])
def test_a_sample_exactly_tol_from_the_last_is_no_jump(e):
    nav, out = _trend()
    nav._cycles += 2
    nav._slope(800 * 64 + e, 0, 20000, 1000000)
    assert nav._tr[E.TS_SKIP] == 0 and nav._tr[E.TS_LAST] == 800 * 64 + e


@pytest.mark.parametrize("e", [20001, -20001])
def test_a_jump_beyond_tol_either_way_is_skipped(e):
    nav, out = _trend()
    nav._cycles += 2
    assert nav._slope(800 * 64 + e, 0, 20000, 1000000) is True      # the last verdict
    assert nav._tr[E.TS_SKIP] == 1 and nav._tr[E.TS_LAST] == 800 * 64


def test_a_sample_within_tol_after_a_jump_restarts_the_count_of_jumps():
    nav, out = _trend()
    for tm in (800 * 64 + 30000, 800 * 65, 800 * 65 + 30000, 800 * 65 + 30000):
        nav._cycles += 2
        nav._slope(tm, 0, 20000, 1000000)
    assert nav._tr[E.TS_SKIP] == 2 and nav._tr[E.TS_N] == 64


@pytest.mark.parametrize("gap, restarted", [(100, False), (101, True)])
def test_a_gap_of_more_than_stale_cycles_restarts_the_window(gap, restarted):
    nav, out = _trend()
    nav._cycles += gap
    nav._slope(800 * 65, 0, 20000, 1000000)
    assert nav._tr[E.TS_N] == (1 if restarted else 64)


@pytest.mark.parametrize("x4, bn", [(E.MAP_X0_MM - 1, 0), (E.MAP_X0_MM - (5 << E.MAP_SHIFT), 0),
                                    (E.MAP_X0_MM + (E.MAP_N << E.MAP_SHIFT), E.MAP_N - 1),
                                    (E.MAP_X0_MM + ((E.MAP_N + 40) << E.MAP_SHIFT), E.MAP_N - 1),
                                    (E.MAP_X0_MM + ((E.MAP_N - 1) << E.MAP_SHIFT), E.MAP_N - 1),
                                    (E.MAP_X0_MM, 0), (E.MAP_X0_MM + (1 << E.MAP_SHIFT), 1)])
def test_a_beam_hit_beyond_the_map_s_ends_is_binned_into_its_end_bins(x4, bn):
    nav = _nav()
    nav._x = x4 << 4
    _range(nav, 1000000)
    assert nav._last_bin == bn
    assert nav._cnt[bn] > 0                           # mapped there (new ground, or level)


@pytest.mark.parametrize("cen_h, censored", [(995000 + 3 * SPEC1 - 1, True), (995000 + 3 * SPEC1, False)])
def test_the_censored_height_is_above_the_terrain_under_the_beam(cen_h, censored):
    # hp 1000000, the terrain under the beam 5 m up: 995 m above it
    nav = _nav()
    nav._mad = 0
    nav._t = 5000
    nav._cycles, nav._cen_until, nav._cen_h = 10, 11, cen_h
    _range(nav, 1000000)
    assert (nav.alt_gate == E.G_RANGE) is censored


# --- a sweep: the implied terrain moving one way sample after sample -----------
# Over the datum bin (32, known at 0): hp = M1 + tm makes the sample imply tm;
# the sweep words set by hand (the previous sample's terrain, the run so far,
# its start and its largest single move).

def _sweep(tm, prev, run, start=0, big=0, mad=0):
    nav = _at(-tm, mad=mad)
    sh = nav._sh
    sh[E.SW_PREV], sh[E.SW_RUN], sh[E.SW_T], sh[E.SW_M] = prev, run, start, big
    drain_events()
    _range(nav, 1000000)
    return nav


@pytest.mark.parametrize("tm, prev, run, want", [
    (1, 0, 3, 4), (1, 0, -3, 1), (1, 0, 0, 1),          # up: the run goes on, or starts
    (-1, 0, -3, -4), (-1, 0, 3, -1), (-1, 0, 0, -1),    # down
    (0, 0, 3, 0), (0, 0, -3, 0)])                       # no move: no run
def test_a_run_counts_the_moves_in_a_row_one_way(tm, prev, run, want):
    nav = _sweep(tm, prev, run)
    assert nav._sh[E.SW_RUN] == want
    assert nav._sh[E.SW_PREV] == tm


@pytest.mark.parametrize("tm, run, start, big", [(700, 0, 0, 700), (-700, 0, 0, 700), (700, -4, 0, 700)])
def test_a_run_starts_from_the_previous_sample_with_its_move(tm, run, start, big):
    nav = _sweep(tm, 0, run, start=9999, big=9999)
    assert (nav._sh[E.SW_T], nav._sh[E.SW_M]) == (start, big)


@pytest.mark.parametrize("ae, big, want", [(700, 500, 700), (300, 500, 500)])
def test_a_run_keeps_its_largest_single_move(ae, big, want):
    nav = _sweep(1000 + ae, 1000, 3, start=77, big=big)
    assert (nav._sh[E.SW_T], nav._sh[E.SW_M]) == (77, want)


@pytest.mark.parametrize("tm, prev, run, start, big, mad, steep", [
    (110000, 100000, 5, 0, 20000, 0, True),      # the 6th move up: 110 m in all, twice the largest
    (-110000, -100000, -5, 0, 20000, 0, True),   # down
    (110000, 100000, 4, 0, 20000, 0, False),     # the 5th only
    (20000, 15000, 5, 0, 10000, 0, False),       # 20 m in all: not beyond q = max(6 sm, tol) = 20 m
    (20001, 15001, 5, 0, 10000, 0, True),
    (30000, 25000, 5, 0, 10000, 4000, False),    # sm 5000: q = 30 m
    (30001, 25001, 5, 0, 10000, 4000, True),
    (40000, 30000, 5, 0, 20000, 0, True),        # twice the largest move: enough
    (40000, 30000, 5, 0, 20001, 0, False),
    (100000, 95000, 5, 0, 20000, 0, True),       # this move a quarter of the largest: enough
    (100000, 95000, 5, 0, 20001, 0, False),
    (100000, 95000, 5, 1000, 20000, 0, True),    # measured from the run's start
    (50000, 45000, 5, 40000, 5000, 0, False)])   # 10 m from the run's start: within q
def test_a_sweep_of_n_sweep_moves_beyond_the_noise_makes_the_bin_steep(tm, prev, run, start, big, mad, steep):
    nav = _sweep(tm, prev, run, start=start, big=big, mad=mad)
    assert nav._steep[32] == (1 if steep else 0)
    if steep:
        assert nav.steep_bins == 1 and nav.slopes == 0
        assert (E.EV_NAV_STEEP, 32) in drain_events()
        # a steep sample: the bin's level is this sample, the height untouched
        assert nav._map[32] == tm and nav.alt_gate == E.G_MAPPED
        assert nav.alt_updates == 0
    else:
        assert nav.steep_bins == 0


def test_a_bin_already_steep_takes_the_sample_as_its_level_without_a_new_event():
    nav = _at(-5000)
    nav._steep[32] = 1
    drain_events()
    _range(nav, 1000000)
    assert nav._map[32] == 5000 and nav.alt_gate == E.G_MAPPED and nav.alt_mapped == 1
    assert nav.steep_bins == 0 and drain_events() == []


def test_a_sample_that_does_not_move_restarts_the_run_with_no_move():
    nav = _sweep(500, 500, 4, start=77, big=9999)
    assert (nav._sh[E.SW_RUN], nav._sh[E.SW_T], nav._sh[E.SW_M]) == (0, 500, 0)


@pytest.mark.parametrize("run, tm", [(1, 1700), (-1, 300)])
def test_the_second_move_in_a_row_continues_the_run(run, tm):
    # from 1000: a second move up (run 2) or down (run -2) of 700 keeps the
    # run's start and takes the larger move
    nav = _sweep(tm, 1000, run, start=77, big=500)
    assert (nav._sh[E.SW_RUN], nav._sh[E.SW_T], nav._sh[E.SW_M]) == (2 * run, 77, 700)


@pytest.mark.parametrize("tm, prev, steep", [
    (45000, 20000, False),    # the 6th move (25 m) the largest: 45 m in all is not twice it
    (50000, 25000, True)])    # 50 m: twice the 6th move (the 20 m before it would need only 40)
def test_the_sixth_move_counts_as_the_run_s_largest_when_it_is(tm, prev, steep):
    nav = _sweep(tm, prev, 5, start=0, big=20000)
    assert nav._sh[E.SW_M] == 25000
    assert nav._steep[32] == (1 if steep else 0)


# --- new ground seen after a jump over unseen ground: a shadow candidate -------
# The last sample (bin pb, terrain 0) and this one 60 m lower on unseen bin
# 42 (or bin 2), the bin between never seen: the candidate is recorded
# (_shadow_from) unless a shadow is already known.

def _jump(pb=40, x=X42, known=0, **kw):
    nav = _over_new(-60000, **kw)
    nav._x = x << 4
    for b in (pb + 1, pb + 2):
        nav._cnt[b] = 0
    nav._last_bin = pb
    nav._sh[E.SW_PREV] = 0
    nav._sh[E.SH_DIR] = known
    _range(nav, 1000000)
    return nav


def test_new_ground_60_m_below_beyond_unseen_ground_is_a_shadow_candidate():
    nav = _jump()
    assert (nav._sh[E.SH_CDIR], nav._sh[E.SH_CBN], nav._sh[E.SH_CB1]) == (1, 40, 42)


def test_no_new_candidate_while_a_shadow_is_known():
    nav = _jump(known=-1)
    assert nav._sh[E.SH_CDIR] == 0


def test_a_shadow_candidate_from_the_map_s_first_bin():
    nav = _jump(pb=0, x=E.MAP_X0_MM + (2 << E.MAP_SHIFT) + 100)
    assert nav._last_bin == 2
    assert (nav._sh[E.SH_CDIR], nav._sh[E.SH_CBN]) == (1, 0)


def test_the_shadow_s_drop_threshold_is_1_32_of_the_height_above_the_ground_under_the_vehicle():
    # the ground under the vehicle 2 km below the datum: 2.94 km above it,
    # 1/32 = 91.9 m > the 60 m drop: no candidate
    nav = _jump(terrain_under_mm=-2000000)
    assert nav._sh[E.SH_CDIR] == 0


def test_a_lone_sample_under_far_noisier_ranges_is_mapped_again():
    # one sample at 10 m, sigma over 4 x the measurement's: restarted, then
    # level with the ground under the vehicle (not a second sample)
    nav = _mapping(1, level=10000, msig=4 * 2253 + 1)
    _range(nav, 1000000)
    assert nav._cnt[42] == E.N_MAP and nav._map[42] == 0


def test_a_second_sample_exactly_tol_above_a_lone_first_is_its_second():
    nav = _mapping(1, level=5000, t=25000)          # 20 m above: the second sample
    _range(nav, 1000000)
    assert nav._cnt[42] == 2 and nav._map[42] == 5000 + 20000 // 2


def test_the_third_sample_beyond_tol_is_winsorised_too():
    # two samples at 10 m, this one at 40 m: d clamped at tol, the mean
    # 10000 + 20000 // 3 = 16666 over three samples
    nav = _mapping(2, t=40000)
    _range(nav, 1000000)
    assert nav._cnt[42] == 3 and nav._map[42] == 16666


def test_a_completed_bin_s_terrain_step_is_from_the_last_level():
    # the last level 50 m, the bin completed at 160 m: a 110 m step (150.001 m
    # from 50 m above would not be one at -50 m)
    nav = _mapping(E.N_MAP - 1, level=160000, t=160000, _t=50000, terrain_steps=4, alt_mapped=7)
    _range(nav, 1000000)
    assert nav.terrain_steps == 5 and nav.alt_mapped == 8
    assert drain_events() == [(E.EV_NAV_TERRAIN_STEP, 110)]
    nav = _mapping(E.N_MAP - 1, level=60000, t=60000, _t=-50000)    # 110 m up
    _range(nav, 1000000)
    assert drain_events() == [(E.EV_NAV_TERRAIN_STEP, 110)]


def test_a_mapped_sample_moves_the_noise_estimate_by_1_32_of_the_difference():
    # mad 3200: d = 3000, 3200 + ((3000 - 3200) >> 5) = 3200 - 7 = 3193
    nav = _mapping(5, t=13000, mad=3200)
    _range(nav, 1000000)
    assert nav._cnt[42] == 6 and nav._mad == 3193


def test_a_new_ground_sample_confirms_the_previous_one_in_bin_0():
    nav = _over_new(60000)
    nav._nb_bin, nav._nb_t = 0, 60000 - 20000
    _range(nav, 1000000)
    assert nav._conf[0] == 1 and nav._conf[42] == 1 and nav._nb_bin == 42


def test_known_ground_on_a_slope_becomes_steep_and_maps_the_sample(monkeypatch):
    # the bin under the beam known (the datum, bin 32, level 0); the trend
    # test says slope: steep, counted, an event, the sample its level
    nav = _at(-5000, steep_bins=3, slopes=5)
    monkeypatch.setattr(E, "_slope", lambda nav, tm, dx, tol, m: True)
    drain_events()
    _range(nav, 1000000)
    assert nav._steep[32] == 1
    assert (nav.steep_bins, nav.slopes) == (4, 6)
    assert drain_events() == [(E.EV_NAV_STEEP, 32)]
    assert nav._map[32] == 5000 and nav.alt_gate == E.G_MAPPED and nav.alt_updates == 0


@pytest.mark.parametrize("msig, dh", [(125, 344), (124, 344), (126, 296)])
def test_known_ground_s_sigma_moves_the_bucket_past_each_edge_it_exceeds(msig, dh):
    # sm = the spec 2253 + the bin's sigma: 2378 is edges[6] itself (row 6:
    # Kh = 360283, 1000 x 360283 / 2^20 = 343.6 -> 344 in Q4); 2379 is
    # beyond it (row 7: 310353 -> 296)
    nav = _at(1000)
    nav._msig[32] = msig
    h0 = nav._h
    _range(nav, 1000000)
    assert nav.alt_gate == E.G_ACCEPT
    assert nav._h - h0 == dh


def test_a_remapped_bin_counts_as_mapped():
    nav = _at(GATE1, _mean_bin=32, _nu_mean=4825, alt_mapped=6)
    _range(nav, 1000000)
    assert nav.alt_gate == E.G_MAPPED and nav.alt_mapped == 7


def test_without_an_offset_accepted_ranges_end_none():
    nav = _at(0)
    nav._off_n = E.N_CONFIRM - 1
    drain_events()
    _range(nav, 1000000)
    assert nav.alt_gate == E.G_ACCEPT and nav._off_n == E.N_CONFIRM - 1
    assert drain_events() == []


def test_a_first_rejected_sample_starts_a_candidate_at_its_own_level():
    # a stale candidate level 10 m away but no samples in it: the new one is tm
    nav = _at(-50000, _cand_t=40000, _cand_n=0)
    _range(nav, 1000000)
    assert (nav._cand_n, nav._cand_t) == (1, 50000)


def test_a_step_is_measured_from_the_bin_s_level():
    # the datum bin at 30 m, the samples 80 m up: a 50 m step, an offset of -50 m
    nav = _at(-80000)
    nav._map[32] = 30000
    _step_then(nav)
    assert nav.alt_offset_mm == -50000


def test_an_offset_down_is_an_event_in_whole_metres_and_adds_its_flag():
    # the samples imply terrain 50 m below the datum: an offset of +50 m
    nav = _at(50000)
    nav.fault_flags = E.F_ALT_NEVER
    _step_then(nav)
    assert nav.alt_offset_mm == 50000
    assert nav.fault_flags == E.F_ALT_NEVER | E.F_ALT_OFFSET
    assert drain_events() == [(E.EV_NAV_ALT_OFFSET, 50)]


def test_a_confirmed_terrain_step_is_counted():
    nav = _at(-400000, terrain_steps=2)             # 400 m: terrain wherever the vehicle is
    _step_then(nav)
    assert nav.terrain_steps == 3
