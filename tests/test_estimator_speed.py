"""Navigation's cycle-cost shortcuts give the values of the plain computation
they replace: the Kalman update's products inline on the gains' limbs (exactly
fixed.mul_shift's floors) and the altimeter geometry on the propagation's own
sin / cos (or on its own table walk when no period was propagated)."""
import math
from array import array

from hypothesis import given, settings, strategies as st

from lander import estimator as E
from lander import fixed, navgains
from lander.config import Config
from lander.drivers import NOT_READY, OK


def _nav(rate):
    nav = E.Nav(Config(rate_hz=rate))
    nav.init_from(500000, -5000, 0, 0)
    return nav


def _expected_update(nav, nu, k):
    # the update as fixed.mul_shift computes it (the code before the inline)
    h = nav._h + ((fixed.mul_shift(nu, nav._kh[k], 19) + 1) >> 1)
    vz = nav._vz + ((fixed.mul_shift(nu, nav._kv[k], 13) + 1) >> 1)
    bz = fixed.clamp(nav._bz + ((fixed.mul_shift(nu, nav._kb[k], 19) + 1) >> 1), -E.BZ_MAX, E.BZ_MAX)
    return h, vz, bz


def _accept(nav, nu, k, h, vz, bz):
    nav._h = h
    nav._vz = vz
    nav._bz = bz
    nav._age = 1
    nav._accept(nu, k)
    return nav._h, nav._vz, nav._bz


@settings(max_examples=300)
@given(rate=st.sampled_from((10, 25, 50, 100)), k=st.integers(0, navgains.NK - 1),
       nu=st.integers(-(1 << 21), 1 << 21), h=st.integers(-(1 << 26), 1 << 26),
       vz=st.integers(-(1 << 26), 1 << 26), bz=st.integers(-E.BZ_MAX, E.BZ_MAX))
def test_the_kalman_update_equals_fixed_mul_shift_for_any_innovation(rate, k, nu, h, vz, bz):
    nav = _nav(rate)
    nav._h, nav._vz, nav._bz = h, vz, bz
    want = _expected_update(nav, nu, k)
    assert _accept(nav, nu, k, h, vz, bz) == want


def test_the_inline_products_cover_innovations_up_to_the_limbs_bound_and_agree_at_its_edges():
    for rate in (10, 50, 100):
        nav = _nav(rate)
        nf = nav._nu_fast
        # the bound keeps every limb product < 2^29 (the 31-bit rule)
        top = max(abs(v) >> 10 for v in list(nav._kh) + list(nav._kv) + list(nav._kb))
        assert nf == (1 << 29) // max(top, 1024)
        assert nf * max(top, 1024) <= 1 << 29
        for k in range(navgains.NK):
            for nu in (nf - 1, -(nf - 1), nf, -nf, 1, -1, 0, 12345, -54321):
                nav._h, nav._vz, nav._bz = 1 << 20, -(1 << 20), 1000
                want = _expected_update(nav, nu, k)
                assert _accept(nav, nu, k, 1 << 20, -(1 << 20), 1000) == want


def test_the_gain_limbs_fit_int16_at_every_rate_the_configuration_accepts():
    # the limbs live in an int16 array (half the heap of int32); CPython's
    # array raises on a value that does not fit where MicroPython's would
    # wrap, so building the table at every accepted rate is the proof
    for rate in range(10, 101):
        kl = E.Nav(Config(rate_hz=rate))._klimb
        assert kl.typecode == "h" and len(kl) == 6 * navgains.NK
        assert max(abs(v) for v in kl[0::2]) < 1 << 12
        assert min(kl[1::2]) >= 0 and max(kl[1::2]) < 1 << 10
    assert max(abs(v) for v in E.Nav(Config(rate_hz=10))._klimb[0::2]) == 3226


class _Imu:
    def __init__(self, gy):
        self.accel_mm_s2 = array("i", (0, 0, 1620))
        self.gyro_urad_s = array("i", (0, gy, 0))
        self.n = 0


class _Alt:
    def __init__(self, r):
        self.range_mm = r


def _height_of(nav, r):
    # the slant range as a height, in floating point: r cos(beam - pitch)
    p = nav._pitch / 1024.0 * 2 * math.pi / 65536
    b = nav.cfg.altimeter_beam_bau * 2 * math.pi / 65536
    return r * math.cos(b - p)


def test_a_range_in_a_cycle_that_propagated_no_period_uses_the_pitch_of_that_cycle():
    # rate 10 Hz: a cycle shorter than half a period propagates no period (the
    # propagation's sin / cos do not exist): the geometry walks the table itself
    nav = E.Nav(Config(rate_hz=10, altimeter_beam_bau=2000))
    nav.init_from(500000, 0, 0, 3000)
    imu = _Imu(200000)                   # pitching at 0.2 rad/s
    for _ in range(5):
        imu.accel_mm_s2[2] += 1
        nav.update(104858, imu, OK, None, NOT_READY, None, NOT_READY, None, False)
    imu.gyro_urad_s[1] = 0
    r = 480000
    nav.update(40000, imu, OK, None, NOT_READY, _Alt(r), OK, None, False)
    assert nav.alt_gate != E.G_RANGE
    assert abs(nav.meas_alt_mm - _height_of(nav, r)) <= r >> 14     # Q15 sin/cos: ~30 mm


def test_a_range_after_a_propagated_period_uses_the_pitch_it_ended_on():
    nav = E.Nav(Config(rate_hz=50, altimeter_beam_bau=-1500))
    nav.init_from(500000, 0, 0, 2500)
    imu = _Imu(-300000)
    r = 490000
    for i in range(6):
        imu.accel_mm_s2[2] += 1
        nav.update(20971, imu, OK, None, NOT_READY, _Alt(r), OK if i == 5 else NOT_READY, None, False)
    assert abs(nav.meas_alt_mm - _height_of(nav, r)) <= r >> 14     # Q15 sin/cos: ~30 mm
