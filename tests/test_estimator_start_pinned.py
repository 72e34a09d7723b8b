"""The estimator's start-up and helper functions one call at a time (the
fw-nav mutation group, docs/mutation.md): the per-cycle constants Nav.__init__
derives from the rate (worked by hand at 50 and 10 Hz), the boresight terms
(configure), the hand-over state (init_from), the map's bin, the free-fall
calibration's sums, mean and significance (_free_fall, _cal_axis), the
commanded specific force and the IMU vote, the warm restart's pitch, the
pre-descent built-in test at each of its checks, and the boresight's sin/cos
(_sincos_q15) against math.sin (the propagation's table walk:
test_estimator_sincos.py)."""
import math
from array import array

import pytest

from lander import estimator as E
from lander import fixed
from lander import navgains
from lander.config import Config
from lander.drivers import DISABLED, OK
from tests.app_fakes import drain_events, fresh_event_ring  # noqa: F401

pytestmark = pytest.mark.usefixtures("fresh_event_ring")


def _nav(**cfg):
    nav = E.Nav(Config(**cfg))
    drain_events()
    return nav


# --- per-cycle constants (Nav.__init__) ----------------------------------------

def test_the_acceleration_scale_at_50_hz_is_2_to_the_25_over_2500_rounded():
    # na: the least with 2^(17 + na) // 2500 >= 2^14: 2^25 // 2500 = 13421 < 16384,
    # 2^26 // 2500 = 26843: na = 9; KA = (2^25 + 1250) // 2500 = 13422 (13421.77)
    nav = _nav()
    assert (nav._na, nav._ka) == (9, 13422)


def test_the_acceleration_scale_at_10_hz_is_2_to_the_20_over_100_rounded():
    # 2^20 // 100 = 10485 < 16384, 2^21 // 100 = 20971: na = 4; KA = (2^20 + 50) // 100 = 10486
    nav = _nav(rate_hz=10)
    assert (nav._na, nav._ka) == (4, 10486)


@pytest.mark.parametrize("rate, na, ka, ng, kg, period", [
    # 11 Hz: 2^20 // 121 = 8665 < 16384: na = 4, KA = (2^20 + 60) // 121 = 8666 (8666.4);
    # cr = 970973, * 2^6 / 15625 = 3977.1 (1988.6 at 2^5): ng = 11, KG = 3978 >> 1 = 1989;
    # period 1000 // 11 = 90
    (11, 4, 8666, 11, 1989, 90),
    # 12 Hz: 2^21 // 144 = 14563: na = 5, KA = (2^21 + 72) // 144 = 14564 (14564.06);
    # cr = 890058, * 2^6 / 15625 = 3645.7: ng = 11, KG = 3646 >> 1 = 1823; 83 ms
    (12, 5, 14564, 11, 1823, 83),
    # 16 Hz: 2^22 // 256 = 16384 exactly: na = 5, KA = (2^21 + 128) // 256 = 8192;
    # cr = 667544, * 2^6 / 15625 = 2734.3: ng = 11, KG = 2735 >> 1 = 1367; 62 ms
    (16, 5, 8192, 11, 1367, 62)])
def test_the_per_cycle_scales_at_rates_where_their_roundings_and_bounds_are_exact(rate, na, ka, ng, kg, period):
    nav = _nav(rate_hz=rate)
    assert (nav._na, nav._ka, nav._ng, nav._kg, nav._period_ms) == (na, ka, ng, kg, period)


def test_gravity_per_cycle_is_rounded_to_nearest():
    # 50 Hz: (1620 * 13422 + 256) >> 9 = 21743896 / 512 = 42468.5 -> 42468 (floored sum)
    # 10 Hz: (1620 * 10486 + 8) >> 4 = 16987328 / 16 = 1061708
    assert _nav()._g == 42468
    assert _nav(rate_hz=10)._g == 1061708


def test_the_gyro_scale_at_50_hz():
    # cr = 10680707 // 50 = 213614; 213614 * 2^s / 15625 >= 2^11 first at s = 8
    # (1749.9 at 7, 3499.85 at 8): ng = 13; KG = (3499 + 1) >> 1 = 1750; rounding 2^12
    nav = _nav()
    assert (nav._ng, nav._kg, nav._rg) == (13, 1750, 4096)


def test_the_gyro_scale_at_10_hz():
    # cr = 1068070; * 2^s / 15625: 1093.7 at 4, 2187.4 at 5: ng = 10;
    # KG = (2187 + 1) >> 1 = 1094; rounding 2^9
    nav = _nav(rate_hz=10)
    assert (nav._ng, nav._kg, nav._rg) == (10, 1094, 512)


def test_the_period_and_the_site_s_bin():
    # site 3,000,000 mm: (3000000 + 2097152) >> 16 = 77
    nav = _nav()
    assert (nav._rate, nav._period_ms, nav._site_bin) == (50, 20, 77)
    assert _nav(rate_hz=10)._period_ms == 100


def test_the_gains_per_cycle_are_the_table_s_scaled_by_the_rate():
    # row 0: (917694, 32260, -29180, 58, 46); Kv = 32260 * 1024 // 50 = 660684 (660684.8),
    # Kb = -29180 * 4096 // 2500 = -47809 (-47808.5, floored)
    nav = _nav()
    assert navgains.GAINS[:5] == (917694, 32260, -29180, 58, 46)
    assert (nav._kh[0], nav._kv[0], nav._kb[0], nav._ksh[0], nav._ksv[0]) == (917694, 660684, -47809, 58, 46)
    k = navgains.NK - 1
    g = navgains.GAINS[5 * k:5 * k + 5]
    assert (nav._kh[k], nav._kv[k], nav._kb[k], nav._ksh[k], nav._ksv[k]) == \
        (g[0], (g[1] << 10) // 50, (g[2] << 12) // 2500, g[3], g[4])
    assert len(nav._kh) == len(nav._kv) == len(nav._kb) == len(nav._ksh) == len(nav._ksv) == navgains.NK


def test_the_gains_as_10_bit_limbs_floor_a_negative_gain_to_a_negative_high_limb():
    # 917694 = 896 * 1024 + 190; 660684 = 645 * 1024 + 204; -47809 = -47 * 1024 + 319
    nav = _nav()
    assert list(nav._klimb[:6]) == [896, 190, 645, 204, -47, 319]
    k = navgains.NK - 1
    want = []
    for kk in (nav._kh[k], nav._kv[k], nav._kb[k]):
        want += [kk // 1024, kk - (kk // 1024) * 1024]
    assert list(nav._klimb[6 * k:6 * k + 6]) == want
    assert len(nav._klimb) == 6 * navgains.NK


def test_the_inline_products_bound_is_2_to_the_29_over_the_largest_high_limb():
    # 50 Hz: no high limb above 1024 (the floor): 2^29 / 1024 = 524288;
    # 10 Hz: row 0's Kv = 32260 * 1024 // 10 = 3303424, high limb 3226: 2^29 // 3226 = 166419
    assert _nav()._nu_fast == 524288
    nav = _nav(rate_hz=10)
    assert nav._klimb[2] == 3226
    assert nav._nu_fast == 166419


def test_the_sigma_edges_end_with_an_unreachable_one():
    nav = _nav()
    assert list(nav._edges) == list(navgains.SIGMA_EDGES_MM) + [0x3FFFFFFF]


PUBLISHED_ZERO = ("altitude_mm", "height_mm", "terrain_mm", "terrain_under_mm", "site_terrain_mm",
                  "site_alt_mm", "vz_mm_s", "vx_mm_s", "x_mm", "pitch_bau", "accel_thrust_mm_s2",
                  "accel_bias_mm_s2", "free_fall_cycles", "alt_sigma_mm", "vz_sigma_mm_s", "vx_sigma_mm_s",
                  "raw_range_mm", "meas_alt_mm", "beam_dx_mm", "alt_innov_mm", "alt_gate", "alt_gate_mm",
                  "alt_rejects", "alt_offset_mm", "terrain_steps", "fault_flags", "alt_age_ms", "alt_updates",
                  "imu_switches", "imu_rejects", "pitch_rate_urad_s", "alt_mapped", "steep_bins", "slopes",
                  "shadow_dir", "shadows")


def test_a_new_nav_publishes_zeros_before_its_first_state():
    nav = _nav()
    assert {k: getattr(nav, k) for k in PUBLISHED_ZERO} == dict.fromkeys(PUBLISHED_ZERO, 0)
    assert nav.slope is False
    assert list(nav.accel_cal_q4) == [0, 0, 0, 0] and list(nav.free_fall_n) == [0, 0]


# A cold start's state (a restart without a checkpoint flies from it until the
# altimeter initialises it): every scalar as __init__ writes it.
COLD = {
    "_h": 0, "_vz": 0, "_vx": 0, "_x": 0, "_bz": 0, "_pitch": 0, "_t": 0, "_k": 0, "_mad": 0,
    "_cen_until": 0, "_cen_h": 0, "_cand_t": 0, "_cand_n": 0, "_acc_x": 0,
    "_last_r": -1, "_stuck_n": 0, "_off_n": 0, "_init_n": 0, "_init_m": 0, "_ever_alt": False,
    "_cycles": 0, "_age": 0, "_last_bin": -1, "_p_end": 0, "_p_end_set": False, "_prev1": 0,
    "_same1": 0, "_same2": 0, "_prev2": 0, "_run1": E.IMU_READMIT, "_demoted": False,
    "_dis_n": 0, "_bad": 0, "_cal_on": False, "_nb_bin": -1, "_nb_t": 0, "_tv_bin": -1,
    "_mean_bin": -1, "_nu_mean": 0, "alt_sigma_meas_mm": 300, "imu_used": 1, "initialised": False,
    "shadow_mm": 0x3FFFFFFF}


def test_a_new_nav_is_in_its_cold_start_state():
    nav = _nav()
    assert {k: getattr(nav, k) for k in COLD} == COLD
    for k in COLD:
        assert type(getattr(nav, k)) is type(COLD[k]), k


@pytest.mark.parametrize("name, n", [("accel_cal_q4", 4), ("free_fall_n", 2), ("alt_reject_counts", 7),
                                     ("_ffs", 4), ("_ffq", 4), ("_cal", 4), ("_map", 256), ("_cnt", 256),
                                     ("_conf", 256), ("_msig", 256), ("_steep", 256), ("_sh", 12),
                                     ("_tr", 138)])
def test_a_new_nav_s_tables_are_zero(name, n):
    v = getattr(_nav(), name)
    assert len(v) == n and not any(v)


def test_a_new_nav_starts_from_the_published_defaults():
    nav = _nav()
    assert nav.alt_sigma_meas_mm == E.SIGMA_M0_MM and nav.shadow_mm == E.SHADOW_NONE
    assert nav._run1 == E.IMU_READMIT and nav.imu_used == 1
    assert nav._last_r == -1 and nav._last_bin == -1 and nav._nb_bin == -1
    assert nav._tv_bin == -1 and nav._mean_bin == -1
    assert nav.initialised is False and nav._p_end_set is False and nav._demoted is False
    assert len(nav.alt_reject_counts) == E.N_GATES and not any(nav.alt_reject_counts)
    assert len(nav._map) == len(nav._cnt) == len(nav._msig) == len(nav._steep) == len(nav._conf) == E.MAP_N
    assert len(nav._sh) == E.SH_WORDS and len(nav._tr) == 2 * E.TR_N + E.TS_WORDS


# --- the boresight (configure) and _sincos_q15 -----------------------------------

@pytest.mark.parametrize("beam, s, c", [
    (0, 0, 32767),                    # cos 1.0 = 32768: clamped
    (0x4000, 32767, 0),
    (0x8000, 0, -32767),              # -32768 clamped
    (0xC000, -32767, 0),
    # 22.5 deg: table 50159 (sin pi/8 * 2^17 = 50159.1), 121095 (cos: 121094.6)
    # -> (50159 + 2) >> 2 = 12540, (121095 + 2) >> 2 = 30274
    (0x1000, 12540, 30274),
    (0xF000, -12540, 30274)])
def test_the_boresight_terms_are_q15_sin_and_cos_clamped_to_32767(beam, s, c):
    nav = _nav()
    assert fixed._SIN_Q17[64] == 50159 and fixed._SIN_Q17[192] == 121095
    nav.cfg.altimeter_beam_bau = beam
    nav.configure(nav.cfg)
    assert (nav._sin_b, nav._cos_b) == (s, c)
    out = array("i", (7, 7))
    E._sincos_q15(beam, out)
    assert tuple(out) == (s, c)


def test_a_new_nav_takes_the_boresight_from_its_configuration():
    nav = _nav(altimeter_beam_bau=0x1000)
    assert (nav._sin_b, nav._cos_b) == (12540, 30274)


# --- the hand-over state (init_from) -----------------------------------------------

def test_init_from_sets_the_state_in_its_internal_scales():
    nav = _nav()
    nav.init_from(2000000, -20000, 30000, 1234)
    # v << 10 // 50 << 6: -20000 -> -409600 << 6; 30000 -> 614400 << 6
    assert (nav._h, nav._vz, nav._vx, nav._x, nav._pitch) == (2000000 << 4, -26214400, 39321600, 0, 1234 << 10)
    assert (nav._t, nav.terrain_under_mm) == (0, 0)


def test_init_from_starts_the_sigmas_from_the_table_s_first_row():
    nav = _nav()
    nav.init_from(2000000, -20000, 30000, 0)
    assert (nav.alt_sigma_mm, nav.vz_sigma_mm_s, nav.vx_sigma_mm_s) == (58, 46, 100)
    assert nav._mad == E._mad0(2000000) == (300 + 3906) * 32 // 5


def test_init_from_makes_the_ground_under_the_vehicle_the_datum():
    nav = _nav()
    nav._map[32] = 999
    nav.init_from(2000000, -20000, 30000, 0)
    # bin of x = 0: 2097152 >> 16 = 32
    assert nav._map[32] == 0 and nav._cnt[32] == E.N_MAP
    assert nav._cnt[31] == 0 and nav._cnt[33] == 0


def test_init_from_says_so_and_publishes():
    nav = _nav()
    nav.init_from(2000000, -20000, 30000, 1234)
    assert nav.initialised is True
    assert drain_events() == [(E.EV_NAV_INIT, 0)]
    assert (nav.altitude_mm, nav.vz_mm_s, nav.vx_mm_s, nav.pitch_bau) == (2000000, -20000, 30000, 1234)


@pytest.mark.parametrize("rate, v, want", [(50, 1, 20 << 6), (50, -1, -21 << 6), (50, 1000, 20480 << 6),
                                           (10, 1, 102 << 6), (10, -7, -717 << 6)])
def test_a_speed_in_mm_s_is_mm_per_cycle_q16_floored_to_64(rate, v, want):
    # (v << 10) // rate << 6: 1024 // 50 = 20, -1024 // 50 = -21 (floored),
    # 1024000 // 50 = 20480, 1024 // 10 = 102, -7168 // 10 = -717
    assert _nav(rate_hz=rate)._v_from_mm_s(v) == want


# --- the map's bin ------------------------------------------------------------------

@pytest.mark.parametrize("x, want", [(E.MAP_X0_MM - 1, 0), (-10 ** 9, 0), (E.MAP_X0_MM, 0),
                                     (E.MAP_X0_MM + 65535, 0), (E.MAP_X0_MM + 65536, 1), (0, 32),
                                     (E.MAP_X0_MM + 255 * 65536, 255), (E.MAP_X0_MM + 256 * 65536 - 1, 255),
                                     (E.MAP_X0_MM + 256 * 65536, 255), (10 ** 9, 255)])
def test_a_bin_is_65_5_m_from_the_map_s_start_bounded_to_the_map(x, want):
    assert E.Nav._bin(x) == want


# --- free fall: the sums (_free_fall) --------------------------------------------------

@pytest.mark.parametrize("fx, fz", [(300, 0), (-300, 0), (0, 300), (0, -300), (1000, 1000)])
def test_a_push_of_300_mm_s2_on_either_axis_is_not_free_fall(fx, fz):
    nav = _nav()
    assert nav._free_fall(0, fx, fz) is False
    assert list(nav.free_fall_n) == [0, 0] and not any(nav._ffs) and not any(nav._ffq)


def test_a_free_fall_sample_adds_to_its_imu_s_sums():
    nav = _nav()
    assert nav._free_fall(1, 299, -299) is True
    assert nav._free_fall(1, -2, 3) is True
    assert list(nav.free_fall_n) == [0, 2]
    assert list(nav._ffs) == [0, 0, 297, -296]
    assert list(nav._ffq) == [0, 0, 299 * 299 + 4, 299 * 299 + 9]


def test_free_fall_sums_stop_at_ff_max_samples():
    nav = _nav()
    nav.free_fall_n[0] = E.FF_MAX
    assert nav._free_fall(0, 10, 10) is True
    assert nav.free_fall_n[0] == E.FF_MAX and not any(nav._ffs)
    nav.free_fall_n[0] = E.FF_MAX - 1
    nav._free_fall(0, 10, 10)
    assert nav.free_fall_n[0] == E.FF_MAX and nav._ffs[0] == 10


@pytest.mark.parametrize("n0, computed", [(14, False), (15, True), (16, False), (48, False), (49, True),
                                          (31, True), (50, False)])
def test_the_means_are_computed_every_16_samples_and_at_ff_min(n0, computed):
    # a sample that makes n = n0 + 1: 16, 32 and FF_MIN = 50 compute the means
    nav = _nav()
    nav.free_fall_n[0] = n0
    nav._ffs[0], nav._ffs[1] = 20 * n0, -20 * n0
    nav._ffq[0], nav._ffq[1] = 400 * n0, 400 * n0
    nav._free_fall(0, 20, -20)
    want = 320 if computed else 0
    assert list(nav.accel_cal_q4) == [want, -want, 0, 0]


# --- free fall: mean and significance (_cal_axis) ---------------------------------------

def _cal(i, n, sx, q):
    nav = _nav()
    nav._ffs[i], nav._ffq[i] = sx, q
    nav._cal_axis(i, n)
    return nav


def test_a_steady_bias_is_published_in_q4_and_removed_in_mm_s2():
    # 64 samples of 20: mean (1280 << 4) // 64 = 320; variance 400 - (320^2 >> 8 = 400) = 0
    nav = _cal(1, 64, 1280, 25600)
    assert nav.accel_cal_q4[1] == 320 and nav._cal[1] == 20 and nav._cal_on is True
    assert list(nav._cal) == [0, 20, 0, 0]


def test_a_mean_within_3_sigma_of_its_uncertainty_is_published_but_not_removed():
    # mean 2 (Q4 32), rms 100: variance 10000 - 4 = 9996; (32 >> 2)^2 = 64 <= 9996 * 144 // 64
    nav = _cal(0, 64, 128, 640000)
    assert nav.accel_cal_q4[0] == 32 and nav._cal[0] == 0 and nav._cal_on is False


@pytest.mark.parametrize("q, removed", [(1152, False), (1088, True)])
def test_the_significance_test_is_strict_at_3_sigma(q, removed):
    # mean Q4 (96 << 4) // 64 = 24 (1.5 mm/s^2), m2 = 6, 36 against variance * 144 // 64:
    # q // 64 = 18: variance 18 - (576 >> 8 = 2) = 16, 2304 // 64 = 36: not beyond;
    # q // 64 = 17: variance 15, 2160 // 64 = 33: beyond; removed as (24 + 8) >> 4 = 2
    nav = _cal(2, 64, 96, q)
    assert nav.accel_cal_q4[2] == 24
    assert nav._cal[2] == (2 if removed else 0)


@pytest.mark.parametrize("b, q, removed", [(28, 1599, True), (52, 5440, True), (52, 5504, False)])
def test_the_significance_test_floors_the_variance_and_its_share(b, q, removed):
    # b = 28: m2 = 7, variance 1599 // 64 - (784 >> 8) = 24 - 3 = 21 (21.98 unfloored):
    # 21 * 144 // 64 = 47 < 49; b = 52: m2 = 13, 5440 // 64 - (2704 >> 8) = 85 - 10 = 75:
    # 75 * 144 // 64 = 168 < 169 (with 145: 169); 5504 // 64 = 86: 76 * 144 // 64 = 171
    nav = _cal(0, 64, b * 4, q)
    assert nav.accel_cal_q4[0] == b
    assert nav._cal[0] == (((b + 8) >> 4) if removed else 0)


@pytest.mark.parametrize("n, removed", [(49, False), (50, True)])
def test_no_bias_is_removed_before_ff_min_samples(n, removed):
    nav = _cal(0, n, 20 * n, 400 * n)
    assert nav.accel_cal_q4[0] == 320
    assert nav._cal[0] == (20 if removed else 0)


@pytest.mark.parametrize("mean, q4, cal", [(250, 3200, 200), (-250, -3200, -200), (200, 3200, 200)])
def test_a_bias_beyond_the_parts_spec_is_bounded_to_it(mean, q4, cal):
    nav = _cal(3, 64, mean * 64, mean * mean * 64)
    assert nav.accel_cal_q4[3] == q4 and nav._cal[3] == cal


@pytest.mark.parametrize("sx, q4, cal", [(92, 23, 1), (96, 24, 2), (-96, -24, -1), (-92, -23, -1),
                                         (-104, -26, -2), (-1, -1, 0)])
def test_the_removed_bias_is_the_mean_rounded_half_up_to_mm_s2(sx, q4, cal):
    # (sx << 4) // 64 floored in Q4; removed as (b + 8) >> 4: 23 -> 1 (1.44),
    # 24 -> 2 (1.5), -24 -> -1 (-1.5), -26 -> -2 (-1.63); q = 0: no variance
    nav = _cal(0, 64, sx, 0)
    assert nav.accel_cal_q4[0] == q4
    assert nav._cal[0] == cal


def test_the_variance_subtracts_the_squared_mean_in_q8():
    # b = 16 (Q4 1.0): 16^2 >> 8 = 1, q // 64 = 2: variance 1, 1 * 144 // 64 = 2 < m2^2 = 16
    # (without the subtraction: 2 * 144 // 64 = 4 < 16 as well); b = 8: m2 = 2, 4 against
    # (q // 64 - 0) * 144 // 64: q // 64 = 2 -> 4: not beyond
    nav = _cal(0, 64, 64, 128)
    assert nav.accel_cal_q4[0] == 16 and nav._cal[0] == 1
    nav = _cal(0, 64, 32, 128)
    assert nav.accel_cal_q4[0] == 8 and nav._cal[0] == 0


@pytest.mark.parametrize("i", [0, 1, 2, 3])
def test_a_removed_bias_on_any_axis_turns_the_correction_on_and_its_end_turns_it_off(i):
    nav = _cal(i, 64, 1280, 25600)
    assert nav._cal_on is True
    nav._ffs[i], nav._ffq[i] = 0, 0
    nav._cal_axis(i, 64)
    assert nav._cal[i] == 0 and nav._cal_on is False


# --- the commanded specific force and the vote ------------------------------------------

class Ctrl:
    def __init__(self, thrust_mn, mass_q10):
        self.thrust_cmd_mn = thrust_mn
        self.mass_kg_q10 = mass_q10


@pytest.mark.parametrize("thrust, mass, want", [
    (4000000, 1000 * 1024, 4000),            # 4 kN on 1000 kg
    (1000001, 300 * 1024, 3333),             # 3333.34 floored
    (10, 1, 10240),                          # 10 mN on 1/1024 kg
    (10 ** 9, 1024, 32767),                  # clamped to ACC_LIMIT
    (-5000, 1024, 0),                        # never negative
    (4000000, 0, 0), (4000000, -1024, 0)])   # no mass: nothing
def test_the_commanded_specific_force_is_thrust_over_mass(thrust, mass, want):
    assert _nav()._commanded(Ctrl(thrust, mass)) == want


def test_no_controller_commands_nothing():
    assert _nav()._commanded(None) == 0


@pytest.mark.parametrize("fz1, fz2, wrong", [
    (4100, 3000, 2), (2000, 5500, 1), (3900, 4050, 1), (4030, 3900, 2), (4100, 3900, 2), (5000, 4500, 1)])
def test_the_imu_further_from_the_commanded_force_is_voted_wrong(fz1, fz2, wrong):
    # commanded: 4000 mm/s^2; a tie (100 and 100) goes against the secondary
    nav = _nav()
    nav._bad = 3
    nav._vote(fz1, fz2, Ctrl(4000000, 1000 * 1024))
    assert nav._bad == wrong
    assert drain_events() == [(E.EV_NAV_IMU_DISAGREE, wrong)]


def test_without_a_controller_the_vote_judges_against_zero():
    nav = _nav()
    nav._vote(-50, 40, None)
    assert nav._bad == 1


# --- the warm restart's pitch ------------------------------------------------------------

def test_restart_pitch_holds_the_pitch_the_gap_ramps_to():
    nav = _nav()
    nav.restart_pitch(-1234)
    assert nav._p_end == -1234 and nav._p_end_set is True


# --- pre-descent built-in test --------------------------------------------------------------

class Imu:
    def __init__(self, status=OK, read_status=OK):
        self.accel_mm_s2 = array("i", (0, 0, 1620))
        self.gyro_urad_s = array("i", (0, 0, 0))
        self.status = status
        self.read_status = read_status
        self.reads = 0

    def read(self):
        self.reads += 1
        return self.read_status


class Alt:
    def __init__(self):
        self.range_mm = 8000000
        self.enabled = True
        self.enable_on_read = False
        self.status = OK
        self.read_status = OK
        self.reads = 0

    def read(self):
        self.reads += 1
        if self.enable_on_read:
            self.enabled = True
        return self.read_status


class Board:
    def __init__(self):
        self.imu = Imu()
        self.imu2 = Imu()
        self.altimeter = Alt()


class Bare:
    """A board object with no parts and no failed list."""


def test_a_board_with_nothing_wired_passes():
    assert E.built_in_test(Bare()) == E.BIT_OK


@pytest.mark.parametrize("name, code", [("imu", E.BIT_NO_IMU), ("imu2", E.BIT_NO_IMU2),
                                        ("altimeter", E.BIT_NO_ALT)])
def test_a_part_that_failed_at_start_up_is_absent(name, code):
    b = Board()
    setattr(b, name, None)
    b.failed = [("radio", "x"), (name, "no answer")]
    assert E.built_in_test(b) == code


@pytest.mark.parametrize("name", ["imu", "imu2", "altimeter"])
def test_a_part_not_wired_is_not_tested(name):
    b = Board()
    setattr(b, name, None)
    b.failed = [("radio", "x"), (name + "x", "y")]
    assert E.built_in_test(b) == E.BIT_OK


def test_failed_at_startup_matches_the_entry_s_name_only():
    b = Bare()
    assert E._failed_at_startup(b, "imu") is False
    b.failed = [("imu2", "imu")]
    assert E._failed_at_startup(b, "imu") is False
    b.failed = [("imu2", "x"), ("imu", "y")]
    assert E._failed_at_startup(b, "imu") is True


@pytest.mark.parametrize("which, code", [("imu", E.BIT_IMU_NO_DATA), ("imu2", E.BIT_IMU2_NO_DATA)])
def test_an_imu_without_a_sample_and_none_on_a_new_read_gives_no_data(which, code):
    b = Board()
    setattr(b, which, Imu(status=DISABLED, read_status=DISABLED))
    assert E.built_in_test(b) == code


def test_an_imu_without_a_last_sample_is_read_again():
    b = Board()
    b.imu = Imu(status=DISABLED, read_status=OK)
    assert E.built_in_test(b) == E.BIT_OK and b.imu.reads == 1
    assert b.imu2.reads == 0


@pytest.mark.parametrize("axis", [0, 1, 2])
@pytest.mark.parametrize("field, v, bad", [("accel_mm_s2", 32766, False), ("accel_mm_s2", 32767, True),
                                           ("accel_mm_s2", -32766, False), ("accel_mm_s2", -32767, True),
                                           ("gyro_urad_s", 524286, False), ("gyro_urad_s", 524287, True),
                                           ("gyro_urad_s", -524286, False), ("gyro_urad_s", -524287, True)])
@pytest.mark.parametrize("which, code", [("imu", E.BIT_IMU_IMPLAUSIBLE), ("imu2", E.BIT_IMU2_IMPLAUSIBLE)])
def test_an_imu_sample_at_its_limit_is_implausible(which, code, field, v, axis, bad):
    # one IMU's sample at the limit (the plausibility test comes before the
    # comparison of the two)
    b = Board()
    imu = getattr(b, which)
    getattr(imu, field)[axis] = v
    got = E.built_in_test(b)
    if not bad and field == "accel_mm_s2":
        assert got == E.BIT_IMU_DISAGREE       # plausible, 30 m/s^2 from the other
    else:
        assert got == (code if bad else E.BIT_OK)


def test_the_primary_imu_is_tested_before_the_secondary():
    b = Board()
    b.imu.gyro_urad_s[1] = 600000
    b.imu2.gyro_urad_s[1] = 600000
    assert E.built_in_test(b) == E.BIT_IMU_IMPLAUSIBLE


@pytest.mark.parametrize("axis", [0, 1, 2])
@pytest.mark.parametrize("d, bad", [(1500, False), (1501, True), (-1500, False), (-1501, True)])
def test_two_imus_disagreeing_beyond_1500_mm_s2_on_an_axis_fail(axis, d, bad):
    b = Board()
    b.imu.accel_mm_s2[axis] += d
    assert E.built_in_test(b) == (E.BIT_IMU_DISAGREE if bad else E.BIT_OK)


def test_one_imu_alone_is_not_compared():
    b = Board()
    b.imu.accel_mm_s2[2] = 20000
    b.imu2 = None
    assert E.built_in_test(b) == E.BIT_OK
    b = Board()
    b.imu2.accel_mm_s2[2] = 20000
    b.imu = None
    assert E.built_in_test(b) == E.BIT_OK


def test_an_altimeter_enabled_by_a_new_read_is_tested_on():
    b = Board()
    b.altimeter.enabled = False
    b.altimeter.enable_on_read = True
    assert E.built_in_test(b) == E.BIT_OK and b.altimeter.reads == 1


def test_an_enabled_altimeter_with_a_range_is_not_read_again():
    b = Board()
    assert E.built_in_test(b) == E.BIT_OK and b.altimeter.reads == 0


def test_an_altimeter_that_stays_off_is_never_enabled():
    b = Board()
    b.altimeter.enabled = False
    assert E.built_in_test(b) == E.BIT_ALT_NOT_ENABLED


@pytest.mark.parametrize("read_status, code", [(DISABLED, E.BIT_ALT_INVALID), (OK, E.BIT_OK)])
def test_an_altimeter_without_a_range_is_read_again(read_status, code):
    b = Board()
    b.altimeter.status = DISABLED
    b.altimeter.read_status = read_status
    assert E.built_in_test(b) == code and b.altimeter.reads == 1


@pytest.mark.parametrize("r, code", [(0, E.BIT_ALT_IMPLAUSIBLE), (-5, E.BIT_ALT_IMPLAUSIBLE), (1, E.BIT_OK),
                                     (E.MAX_RANGE_MM - 1, E.BIT_OK), (E.MAX_RANGE_MM, E.BIT_ALT_IMPLAUSIBLE)])
def test_a_range_outside_0_to_30_km_is_implausible(r, code):
    b = Board()
    b.altimeter.range_mm = r
    assert E.built_in_test(b) == code


def test_the_nav_s_built_in_test_is_the_module_s():
    b = Board()
    b.altimeter.range_mm = 0
    assert _nav().built_in_test(b) == E.BIT_ALT_IMPLAUSIBLE
    assert _nav().built_in_test(Board()) == E.BIT_OK
