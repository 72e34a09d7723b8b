"""Control's per-cycle law bit for bit against a reference written here from
its definition in plain Python integers: the measured specific force summed
(clamped to 0..32767 mm/s^2) while the modelled throttle is above the
engine's floor; the attitude set-point moving at most the rate step toward
the reference and held within the vehicle's limit; the vertical command's
change since the last geometry passed through the secant (clamped to
+/-16383 mm/s^2, the magnitude to 0..32767); the throttle as the magnitude
over the available acceleration (2^29 / a_full split at bit 14) plus half
the error to the modelled throttle, full at most, the floor or off (7/8 of
the floor) below it; the saturation flags and their event; the engine
model's first-order lag; the thrust command; the modelled throttle summed
for the mass, burnt at the window's close (the thrust over the Isp) before
the slow terms."""
import pytest
from hypothesis import example, given, settings, strategies as st

from host_tools.sim.gncref import NavInput
from tests.app_fakes import fresh_event_ring  # noqa: F401
from lander import control as C
from lander import guidance as G
from lander.config import Config
from lander.events import events
from tests.app_fakes import drain_events

pytestmark = pytest.mark.usefixtures("fresh_event_ring")

FULL = 32768


def _clamp(x, lo, hi):
    return lo if x < lo else (hi if x > hi else x)


class _Guid:
    def __init__(self, az, engine_on, cmd_seq):
        self.accel_x_cmd_mm_s2 = 0
        self.pitch_limit_bau = 0
        self.keep_horizontal = False
        self.accel_z_cmd_mm_s2 = az
        self.engine_on = engine_on
        self.cmd_seq = cmd_seq
        self._k = 0            # guidance's re-plan cycle: the slow terms are not due there


def _reference(cfg, c, guid, nav):
    """(fields after one update, events) when no new command and no window
    close are due (the geometry and the slow terms have their own tests)."""
    y = c.thrust_model_q15
    s_meas, s_exp, n = c._s_meas, c._s_exp, c._n
    if nav is not None and y > cfg.min_throttle_q15:
        f = nav.accel_thrust_mm_s2
        s_meas += _clamp(f, 0, 0x7FFF)
        s_exp += (y * c._afull_nom) >> 15
        n += 1
    step = c._rate_step
    p = c.pitch_cmd_bau + _clamp(c.pitch_ref_bau - c.pitch_cmd_bau, -step, step)
    pitch = _clamp(p, -cfg.max_pitch_bau, cfg.max_pitch_bau)
    ev = []
    acc, sat_high, sat_low, saturated = c.accel_cmd_mm_s2, False, False, c.saturated
    if not guid.engine_on:
        u = 0
    else:
        dz = _clamp(guid.accel_z_cmd_mm_s2 - c._az_geo, -0x3FFF, 0x3FFF)
        acc = _clamp(c._mag_geo + ((dz * c._sec_q14) >> 14), 0, 0x7FFF)
        thr = (acc * c._inv_afull) >> 14
        u = thr + (_clamp(thr - y, -0x7FFF, 0x7FFF) >> 1)
        m = cfg.min_throttle_q15
        if u > FULL:
            u = FULL
        elif u < m:
            u = m if thr >= m - (m >> 3) else 0
        sat_high = thr >= FULL
        sat_low = thr <= m and u == m
        if sat_high and not c.sat_high:
            ev.append((C.EV_SATURATED, 1))
        saturated += 1 if (sat_high or sat_low) else 0
    model = y + (((u - y) * c._lag_q15) >> 15)
    return dict(_s_meas=s_meas, _s_exp=s_exp, _n=n, pitch_cmd_bau=pitch, accel_cmd_mm_s2=acc,
                throttle_q15=u, sat_high=sat_high, sat_low=sat_low, saturated=saturated,
                thrust_model_q15=model, thrust_cmd_mn=(u * cfg.max_thrust_mn) >> 15,
                _ysum=c._ysum + y, _k=c._k + 1, mass_mg=c.mass_mg), ev


CONFIGS = (dict(max_pitch_bau=10923), dict(max_pitch_bau=7282, min_throttle_q15=3277, engine_lag_ms=0,
                                           max_thrust_mn=1500000, dry_mass_g=60000),
           dict(max_pitch_bau=16384))


def _stage(conf, y, az_geo, mag_geo, sec, pitch_cmd, pitch_ref, sat_high, sat_low, s=(0, 0, 0)):
    cfg = Config(**CONFIGS[conf])
    c = C.Control(cfg)
    c._seq = 7                                      # the command of now has its geometry
    c._k = 1
    c.thrust_model_q15, c._az_geo, c._mag_geo, c._sec_q14 = y, az_geo, mag_geo, sec
    c.pitch_cmd_bau, c.pitch_ref_bau, c.sat_high, c.sat_low = pitch_cmd, pitch_ref, sat_high, sat_low
    c._s_meas, c._s_exp, c._n = s
    c._ysum, c.saturated, c.accel_cmd_mm_s2 = 12345, 3, -1
    return cfg, c


def _check(cfg, c, guid, nav):
    want, ev = _reference(cfg, c, guid, nav)
    drain_events()
    c.update(guid, nav)
    assert {k: getattr(c, k) for k in want} == want
    assert drain_events() == ev


@settings(max_examples=200)
@given(conf=st.integers(0, 1), y=st.integers(0, FULL), az=st.integers(-40000, 40000),
       az_geo=st.integers(1, 0x7FFF), mag_geo=st.integers(0, 0x7FFF), sec=st.integers(16384, 32768),
       pitch_cmd=st.integers(-12000, 12000), pitch_ref=st.integers(-12000, 12000),
       engine_on=st.booleans(), sat_high=st.booleans(), sat_low=st.booleans(),
       f=st.one_of(st.none(), st.integers(-50000, 50000)))
# boundaries: the modelled throttle at the floor, the force at 0, 1 and the
# clamp, the rate step's edges, set-points beyond the limits, the secant
# term's clamp at +/-16383 / 16384, the magnitude at 0 and 32767 / 32768,
# the lead error at its clamp (nothing wanted, the modelled throttle full)
@example(conf=0, y=6554, az=3000, az_geo=3000, mag_geo=3000, sec=16384, pitch_cmd=0, pitch_ref=0,
         engine_on=True, sat_high=False, sat_low=False, f=3000)
@example(conf=0, y=20000, az=3000, az_geo=3000, mag_geo=3000, sec=16384, pitch_cmd=0, pitch_ref=0,
         engine_on=True, sat_high=False, sat_low=False, f=0)
@example(conf=0, y=20000, az=3000, az_geo=3000, mag_geo=3000, sec=16384, pitch_cmd=0, pitch_ref=0,
         engine_on=True, sat_high=False, sat_low=False, f=1)
@example(conf=0, y=20000, az=3000, az_geo=3000, mag_geo=3000, sec=16384, pitch_cmd=0, pitch_ref=0,
         engine_on=True, sat_high=False, sat_low=False, f=0x7FFF)
@example(conf=0, y=20000, az=3000, az_geo=3000, mag_geo=3000, sec=16384, pitch_cmd=0, pitch_ref=30,
         engine_on=True, sat_high=False, sat_low=False, f=None)
@example(conf=0, y=20000, az=3000, az_geo=3000, mag_geo=3000, sec=16384, pitch_cmd=0, pitch_ref=-30,
         engine_on=True, sat_high=False, sat_low=False, f=None)
@example(conf=0, y=20000, az=3000, az_geo=3000, mag_geo=3000, sec=16384, pitch_cmd=11000,
         pitch_ref=11500, engine_on=True, sat_high=False, sat_low=False, f=None)
@example(conf=0, y=20000, az=3000, az_geo=3000, mag_geo=3000, sec=16384, pitch_cmd=-11000,
         pitch_ref=-11500, engine_on=True, sat_high=False, sat_low=False, f=None)
@example(conf=0, y=20000, az=16384 + 100, az_geo=100, mag_geo=3000, sec=16384, pitch_cmd=0,
         pitch_ref=0, engine_on=True, sat_high=False, sat_low=False, f=None)
@example(conf=0, y=20000, az=16383 + 100, az_geo=100, mag_geo=3000, sec=16384, pitch_cmd=0,
         pitch_ref=0, engine_on=True, sat_high=False, sat_low=False, f=None)
@example(conf=0, y=20000, az=100 - 16384, az_geo=100, mag_geo=20000, sec=16384, pitch_cmd=0,
         pitch_ref=0, engine_on=True, sat_high=False, sat_low=False, f=None)
@example(conf=0, y=20000, az=100 - 20000, az_geo=100, mag_geo=20000, sec=16384, pitch_cmd=0,
         pitch_ref=0, engine_on=True, sat_high=False, sat_low=False, f=None)
@example(conf=0, y=20000, az=100, az_geo=200, mag_geo=50, sec=16384, pitch_cmd=0,
         pitch_ref=0, engine_on=True, sat_high=False, sat_low=False, f=None)
@example(conf=0, y=20000, az=1100, az_geo=100, mag_geo=31768, sec=16384, pitch_cmd=0,
         pitch_ref=0, engine_on=True, sat_high=False, sat_low=False, f=None)
@example(conf=0, y=20000, az=1101, az_geo=100, mag_geo=31768, sec=16384, pitch_cmd=0,
         pitch_ref=0, engine_on=True, sat_high=False, sat_low=False, f=None)
@example(conf=0, y=20000, az=5000, az_geo=100, mag_geo=31768, sec=16384, pitch_cmd=0,
         pitch_ref=0, engine_on=True, sat_high=False, sat_low=False, f=None)
@example(conf=0, y=32768, az=100, az_geo=100, mag_geo=0, sec=16384, pitch_cmd=0,
         pitch_ref=0, engine_on=True, sat_high=False, sat_low=False, f=None)
def test_control_law_is_the_reference_each_cycle(conf, y, az, az_geo, mag_geo, sec, pitch_cmd, pitch_ref,
                                                 engine_on, sat_high, sat_low, f):
    cfg, c = _stage(conf, y, az_geo, mag_geo, sec, pitch_cmd, pitch_ref, sat_high, sat_low)
    nav = None
    if f is not None:
        nav = NavInput()
        nav.accel_thrust_mm_s2 = f
    _check(cfg, c, _Guid(az, engine_on, 7), nav)


def test_engine_off_clears_both_saturation_flags():
    # guidance reads them on its next cycle (an abort from the coast hovers
    # with the integrator free)
    cfg, c = _stage(0, 0, 3000, 3000, 16384, 0, 0, True, True)
    _check(cfg, c, _Guid(3000, False, 7), None)
    assert c.sat_high is False and c.sat_low is False


def test_a_vertical_command_change_without_a_new_command_goes_through_the_secant_only():
    # the geometry runs when cmd_seq changes, not each cycle: a new command
    # at 45 deg (ax = az = 3000), then the vertical command alone moved by
    # 500 mm/s^2 moves the magnitude by 500 times the secant of the pitch
    # (sqrt 2), not to the new hypotenuse (4610)
    cfg, c = _stage(0, 20000, 0, 0, 16384, 0, 0, False, False)
    g = _Guid(3000, True, 8)
    g.accel_x_cmd_mm_s2, g.pitch_limit_bau = 3000, 10923
    c.update(g, None)
    mag, sec = c._mag_geo, c._sec_q14
    assert c._seq == 8 and c._az_geo == 3000 and abs(mag - 4243) <= 2 and abs(sec - 23170) <= 8
    for az in (3500, 4000):
        g.accel_z_cmd_mm_s2 = az
        _check(cfg, c, g, None)
        assert c.accel_cmd_mm_s2 == mag + (((az - 3000) * sec) >> 14)


def test_the_window_burns_the_summed_modelled_throttle_and_restarts_the_sum():
    # 5 cycles at a held modelled throttle of 1/2 (lag 0): the window's close
    # (forced on guidance's cycle 4 without an altimeter frame)
    # burns T * sum(y) / 2^15 * dt / (Isp g0) from the mass, then sums from 0
    cfg = Config(max_pitch_bau=10923, engine_lag_ms=0)
    c = C.Control(cfg)
    g = _Guid(0, True, 0)
    c.thrust_model_q15 = 16384
    c._ysum = 0
    c._k = 0
    m0 = c.mass_mg
    flow = c._flow_eff_q24
    for k in range(cfg.replan_cycles - 1):        # guidance's cycles 0..3 (no frames)
        g._k = k
        c.thrust_model_q15 = 16384
        c._seq = g.cmd_seq
        c.update(g, None)
    assert c._ysum == 4 * 16384 and c.mass_mg == m0
    c.thrust_model_q15 = 16384
    g._k = 4                                      # the last before the re-plan: forced
    c.update(g, None)
    used = (((cfg.max_thrust_mn * 4 * 16384) >> 15) * flow) >> 24
    assert c.mass_mg == m0 - used
    assert c._ysum == 16384                       # the closing cycle's own, after the burn


def _at_inv(cfg, c, inv):
    # the available acceleration as 2^29 / inv mm/s^2 (inv split at bit 14)
    c._inv_afull, c._inv_hi, c._inv_lo = inv, inv >> 14, inv & 0x3FFF


@pytest.mark.parametrize("mag,y,high,low", [
    (32767, 32768, True, False),     # thr = 32767 + 1 = 32768: full throttle is saturated
    (32766, 32768, False, False),    # thr = 32767
    (6554, 6554, False, True),       # thr = the floor, u = the floor: saturated low
    (6555, 6554, False, False)])
def test_saturation_flags_at_the_exact_throttle_boundaries(mag, y, high, low):
    # inv = 16385: thr = mag + (mag >> 14), so thr takes every value
    cfg, c = _stage(0, y, 3000, mag, 16384, 0, 0, False, False)
    _at_inv(cfg, c, 16385)
    _check(cfg, c, _Guid(3000, True, 7), None)
    assert (c.sat_high, c.sat_low) == (high, low)


def test_a_throttle_landing_exactly_on_the_floor_stays_lit():
    # the lead term can bring u exactly to the floor m from a magnitude whose
    # own throttle is below 7/8 of it: u = thr + (thr - y) / 2 = m with
    # y = 3 thr - 2 m; u is not below the floor, so it burns at the floor
    m = 6554
    thr = 5000                                     # < m - m / 8 = 5735
    y = 3 * thr - 2 * m
    cfg, c = _stage(0, y, 3000, thr, 16384, 0, 0, False, False)
    _at_inv(cfg, c, 16384)                         # thr = mag
    _check(cfg, c, _Guid(3000, True, 7), None)
    assert c.throttle_q15 == m


# --- the geometry of a new command (fixed.py's trig, pinned in its own tests) ---

def _geometry_reference(cfg, avail, ax, az, lim, keep_horizontal):
    from lander import fixed
    ax = _clamp(ax, -0x7FFF, 0x7FFF)
    az = _clamp(az, 1, 0x7FFF)
    lim = _clamp(lim, 0, cfg.max_pitch_bau)
    pitch = fixed.atan2(ax, az)
    if abs(pitch) > lim:
        pitch = lim if pitch > 0 else -lim
        if keep_horizontal:          # the horizontal demand met at the limit
            mag = (abs(ax) << 15) // max(fixed.sin_q15(lim), 1)
        else:                        # the vertical kept
            mag = (az << 15) // max(fixed.cos_q15(lim), 1)
        mag = min(mag, 0x3FFFFFFF)
    else:
        mag = fixed.hypot(ax, az)
    if mag > avail:                  # the horizontal channel given up first
        if az >= avail:
            pitch = 0
        else:
            a8, z8 = avail >> 3, az >> 3
            p2 = fixed.atan2(fixed.isqrt(a8 * a8 - z8 * z8), z8)
            if p2 < abs(pitch):
                pitch = p2 if pitch > 0 else -p2
        mag = avail
    sec = (16384 << 15) // max(fixed.cos_q15(pitch), 16384)
    return pitch, az, mag, sec


@settings(max_examples=200)
@given(conf=st.integers(0, 1), avail=st.integers(256, 0x7FFF), ax=st.integers(-40000, 40000),
       az=st.integers(-1000, 40000), lim=st.integers(-100, 17000), keep=st.booleans())
# the command clamps at +/-32767 (and 32768 beyond), az at 1, a limit of 0,
# beyond the vehicle's and at 90 deg (sin 1, cos 0)
# (nearly horizontal with a 90 deg limit: hypot(32767, 1) = 32766 is within
# the available 32767, a command beyond the clamp would not be)
@example(conf=2, avail=0x7FFF, ax=-40000, az=1, lim=16384, keep=False)
@example(conf=2, avail=0x7FFF, ax=-32768, az=1, lim=16384, keep=False)
@example(conf=2, avail=0x7FFF, ax=40000, az=1, lim=16384, keep=False)
@example(conf=2, avail=0x7FFF, ax=32768, az=1, lim=16384, keep=False)
@example(conf=0, avail=0x7FFF, ax=0, az=0, lim=10923, keep=False)
@example(conf=0, avail=0x7FFF, ax=100, az=32768, lim=10923, keep=False)
@example(conf=0, avail=0x7FFF, ax=1, az=3000, lim=0, keep=True)
@example(conf=0, avail=7000, ax=3000, az=3000, lim=0, keep=True)
@example(conf=0, avail=7000, ax=3000, az=3000, lim=-5, keep=False)
@example(conf=0, avail=7000, ax=3000, az=3000, lim=16384, keep=False)
@example(conf=1, avail=7000, ax=6000, az=3000, lim=16384, keep=True)
@example(conf=0, avail=3000, ax=100, az=3000, lim=10923, keep=False)
@example(conf=0, avail=5000, ax=-6000, az=3000, lim=10923, keep=False)
def test_geometry_of_a_new_command_is_the_reference(conf, avail, ax, az, lim, keep):
    cfg = Config(**CONFIGS[conf])
    c = C.Control(cfg)
    c.a_full_mm_s2 = avail
    g = _Guid(az, True, 1)
    g.accel_x_cmd_mm_s2, g.pitch_limit_bau, g.keep_horizontal = ax, lim, keep
    c._geometry(g)
    assert (c.pitch_ref_bau, c._az_geo, c._mag_geo, c._sec_q14) == \
        _geometry_reference(cfg, avail, ax, az, lim, keep)
