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
