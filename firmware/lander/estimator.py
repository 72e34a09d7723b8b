# Navigation: inertial propagation at the loop rate, a vertical Kalman filter
# (height above a datum, vertical velocity, accelerometer bias) corrected by
# the altimeter's slant range, a terrain model kept apart from the vehicle's
# height, innovation gating with counted reasons, and sensor FDIR (redundant
# IMUs, altimeter stuck / never valid / offset).
#
# Frames and units (docs/scenarios.md): world x downrange, z up; pitch p is the
# tilt of the thrust axis toward +x (binary angle, 2^16 per turn); body x
# forward = (cos p, -sin p), body z = thrust axis = (sin p, cos p). The
# altimeter beam is beam_bau from body -z toward body +x: its world direction is
# (sin(beam - p), -cos(beam - p)), so a slant range r measures the height above
# the terrain it hits, r cos(beam - p), at dx = r sin(beam - p) downrange.
#
# Two heights are kept apart (the Hakuto-R M1 lesson): h, the vehicle's height
# above a datum (the terrain under it at handover), integrated from the IMU and
# corrected by the altimeter; and T, the terrain height under the beam above
# that datum. A range jump the inertial state cannot explain is first a terrain
# change: once confirmed (N_CONFIRM samples agreeing with each other) T takes
# the step and h stays smooth. A confirmed jump that is neither a crossed slope
# nor a large step, at a place the beam has just measured, is an altimeter
# offset: it is estimated and removed (bounded, not believed). Terrain seen by
# the beam is kept in a coarse map along x, so the height above the terrain
# *under the vehicle* (altitude_mm) uses the terrain the beam saw there.
# A sweep (the implied terrain moving one way sample after sample: the beam
# sliding along a wall) makes the bins it crosses steep: their level is the
# last sample, never a height reference. A beam that jumps over unseen ground
# to a level far lower records a shadow (shadow_dir / shadow_mm: guidance turns
# the beam down over it) until the ground measured under the vehicle is level
# with the far side.
#
# Internal scales (ranges in the comments beside each quantity):
#   _h, _x      mm * 16 (Q4)                   |.| < 2^30 / 16 = 67 km (clamped)
#   _vz, _vx    mm per cycle * 2^16            |.| < 2^29 (400 m/s at 50 Hz)
#   _bz         mm per cycle^2 * 2^16          accelerometer bias (vertical)
#   _pitch      binary angle * 1024
#   per-cycle velocity units make integration a shift: h += v >> 12.
# Integers only; no allocation per cycle; every intermediate < 2^30.
from array import array

from lander import fixed
from lander import navgains
from lander.compat import const
from lander.drivers import NOT_READY, OK, REINIT
from lander.events import events, post

# --- events (estimator range 0x0200-0x02FF) --------------------------------
EV_NAV_INIT = const(0x0201)            # arg: 0 handover, 1 from the altimeter, 2 checkpoint
EV_NAV_TERRAIN_STEP = const(0x0202)    # arg: terrain step under the beam (m, signed)
EV_NAV_ALT_OFFSET = const(0x0203)      # arg: altimeter offset estimated and removed (m)
EV_NAV_ALT_OFFSET_END = const(0x0204)  # the altimeter agrees again without the offset
EV_NAV_ALT_STUCK = const(0x0205)       # arg: range (m) repeated N_STUCK times
EV_NAV_ALT_NEVER_VALID = const(0x0206) # no valid range NEVER_VALID_CYCLES after start
EV_NAV_ALT_REACQUIRED = const(0x0207)  # arg: seconds without an accepted range
EV_NAV_ZERO_SANITY = const(0x0208)     # arg: measured height (m): the estimate yields
EV_NAV_IMU_SWITCH = const(0x0209)      # arg: IMU now used (1 primary, 2 secondary, 0 none)
EV_NAV_IMU_DISAGREE = const(0x020A)    # arg: IMU judged wrong by the model vote (1, 2)
EV_NAV_IMU_STUCK = const(0x020B)       # arg: IMU (1, 2)
EV_NAV_SHADOW = const(0x020C)          # arg: drop (m) hidden behind an edge: unseen ground ahead
EV_NAV_SHADOW_END = const(0x020D)      # arg: 1 seen level with the far side, 2 over it, 3 no drop
EV_NAV_STEEP = const(0x020E)           # arg: map bin found steep (the beam sliding along a wall)

# --- altimeter gate decisions (alt_gate; alt_reject_counts[code]) ----------
G_ACCEPT = const(0)
G_STATUS = const(1)      # driver: invalid frame / flag, out of range, disabled
G_RANGE = const(2)       # absurd value (<= 0, beyond MAX_RANGE_MM) or beam too oblique
G_OUTLIER = const(3)     # innovation beyond the gate, not (yet) self-consistent
G_STUCK = const(4)       # the same value repeated: stuck sensor
G_NOINIT = const(5)      # waiting for a self-consistent start (cold initialisation)
G_MAPPED = const(6)      # new ground under the beam: mapped, the vehicle's height untouched
N_GATES = const(7)

# --- fault_flags bits -------------------------------------------------------
F_IMU1 = const(1)        # primary IMU unusable this cycle or judged wrong
F_IMU2 = const(2)        # secondary IMU unusable or judged wrong
F_NO_IMU = const(4)      # no IMU sample: coasting on the commanded thrust
F_ALT_NEVER = const(8)   # altimeter never valid
F_ALT_STUCK = const(16)
F_ALT_OFFSET = const(32) # altimeter offset estimated and removed
F_ALT_STALE = const(64)  # no accepted range for STALE_CYCLES

# --- tuning ------------------------------------------------------------------
ACC_LIMIT = const(32767)          # mm/s^2: |specific force| beyond = saturated / spike
GYRO_LIMIT = const(524287)        # urad/s (30 deg/s): beyond = impossible pitch rate
ACC_JUMP = const(6000)            # mm/s^2 change in one cycle: not a physical change
IMU_DIS_ACC = const(1500)         # mm/s^2 disagreement between the two IMUs
IMU_DIS_GYRO = const(26180)       # urad/s (1.5 deg/s)
IMU_DIS_CYCLES = const(10)
IMU_STUCK_CYCLES = const(25)
IMU_READMIT = const(25)           # good, agreeing cycles before a recovered primary is used
MAX_RANGE_MM = const(30000000)
SIGMA_M0_MM = const(300)          # altimeter noise spec: 0.3 m + range / 512
GATE_K = const(4)                 # gate at 4 sigma of the innovation
GATE_MIN_MM = const(1000)
N_CONFIRM = const(4)              # agreeing rejected samples that make a terrain step
N_MAP = const(12)                 # samples averaged into a new map bin before it is a reference
N_SWEEP = const(6)                # samples in a row whose terrain moves one way: a sweep along steep ground
_SWEEP_SIGMAS = const(6)          # ...by more than this many noise sigmas in all (noise alone: museum 04
                                  # seed 21, 7 samples rising 5.1 sigma, made the bin under the vehicle steep)
N_SEEN = const(3)                 # samples that make a bin good enough for the terrain under the vehicle
BIG_STEP_EVENT_MM = const(100000) # a newly mapped bin this far from the last: EV_NAV_TERRAIN_STEP
CONFIRM_TOL_MM = const(20000)
CLIFF_SLOPE = const(10)           # a step steeper than 10:1 (84 deg) over the vehicle's travel...
BIG_STEP_MM = const(300000)       # ...is terrain only if large (>= 300 m and >= 1/4 of the height)
ZERO_MM = const(20000)            # "at the surface" for the sanity of zero
N_STUCK = const(10)
NEVER_VALID_CYCLES = const(500)
STALE_CYCLES = const(100)
REACQ_SIGMAS = const(4)           # a first range after a coast this far off resets the height
_YOUNG_N = const(50)              # accepted ranges before the noise estimate decides what is level
_YOUNG_SPECS = const(96)          # ...until then level within 4 x 24 times the spec
MAD0_SPECS = const(8)             # the noise estimate starts at 8 times the spec (see _mad0)
CEN_HOLD = const(50)              # cycles a lost return marks its height as the reach
TERRAIN_SHARE_MAX = const(0)      # Q16 cap of the terrain's share (0: off, tuning pending)
# slope: the terrain the ranges imply drifting, over the last TR_N samples, faster
# than the inertial state can explain (Nav._slope)
TR_N = const(64)                  # samples in the trend window (two halves of TR_H)
TR_H = const(32)
TR_MASK = const(63)
TR_SLOPE = const(4)               # the steepest slope it judges (4:1, 76 deg): steeper is a sweep's
TR_SIG_V = const(300)             # mm/s: the least vertical-velocity sigma it allows for
TR_SKIP = const(2)                # jumps in a row skipped (wild ranges) before the window restarts
TS_N = const(128)                 # the window's state, after its two sections (2 TR_N words):
TS_I = const(129)                 # samples in it (0: restart), slot of the next one,
TS_S0 = const(130)                # sums of the older and the newer half (mm >> 3),
TS_S1 = const(131)
TS_LAST = const(132)              # the last sample's implied terrain (mm) and cycle,
TS_C = const(133)
TS_SKIP = const(134)              # jumps skipped in a row, samples the test waits after a
TS_HOLD = const(135)              # steeper trend, the first sample (stands for the ones
TS_Q0 = const(136)                # not yet seen)
TS_W0 = const(137)
TS_WORDS = const(10)

# terrain map along x: MAP_N bins of 2^MAP_SHIFT mm (65.5 m) from MAP_X0_MM
MAP_N = const(256)
MAP_SHIFT = const(16)
MAP_X0_MM = const(-2097152)       # 32 bins behind the start
MAP_AHEAD = const(64)             # bins (4 km) searched ahead for seen ground...
MAP_BEHIND = const(16)            # ...then behind (1 km)
SEEN_SIG_MIN_MM = const(2000)     # a bin seen once: its sigma within 1/32 of the altitude (>= 2 m)
SHADOW_DROP_MM = const(50000)     # a hidden drop worth looking at: >= 50 m and >= 1/32 of the altitude
SHADOW_NONE = const(0x3FFFFFFF)   # shadow_mm when there is none
SH_DIR = const(0)                 # shadow state words: direction (0: none)
SH_BN = const(1)                  # last bin seen before the unseen ground (near level)
SH_B1 = const(2)                  # first bin seen beyond it (far level)
SH_EDGE = const(3)                # near end of bin SH_BN (mm): the drop starts beyond
SH_CDIR = const(4)                # a candidate (direction), until the next sample confirms it
SH_CBN = const(5)
SH_CB1 = const(6)
SH_CT = const(7)                  # the candidate's far level (mm)
SW_PREV = const(8)                # sweep words: the terrain the previous sample implied (mm)
SW_RUN = const(9)                 # moves in a row: > 0 up, < 0 down
SW_T = const(10)                  # the run's start (mm)
SW_M = const(11)                  # its largest single move (mm)
SH_WORDS = const(12)

H_MAX = const(0x3FFFFFF0)
BZ_MAX = const(0xFFFFF)           # accelerometer bias estimate bound (40 m/s^2 at 50 Hz)
SIG_MAX = const(0xFFFFFF)         # uncertainties saturate at 16.7 km (or km/s)
V_MAX = const(0x1FFFFFFF)

# free-fall calibration of the accelerometer biases (Nav._free_fall)
FF_LIMIT = const(300)             # mm/s^2 on each axis: beyond, something pushes (not free fall)
FF_THRUST_OFF = const(64)         # modelled thrust (Q15 of full) below which the engine is out
FF_MIN = const(50)                # samples before a calibration is used (1 s at 50 Hz)
FF_MAX = const(4096)              # samples averaged at most (sums < 300 * 4096 < 2^21)
ACC_BIAS_MAX = const(200)         # |bias| bound (mm/s^2): 20 mg, the parts' zero-g offset spec

MAX_STEPS = const(150)            # periods propagated over one late cycle / restart gap

# Words of nav state in a checkpoint (checkpoint_into / restore_from): 21 of
# state, then the terrain map around the vehicle, CK_MAP bins from CK_BEHIND
# behind it (along the beam's look) to CK_MAP - CK_BEHIND - 1 ahead, one word
# each. 32 words: the whole record is 56 words, sealed in 3 cycles of the
# executive's 19 words (app._SEAL_WORDS), inside the 5-cycle RTC cadence.
CK_MAP = const(11)                # 720 m: the vehicle's bin, 3 behind, 7 ahead
CK_BEHIND = const(3)
CK_MAP_AT = const(21)
CHECKPOINT_WORDS = const(32)      # CK_MAP_AT + CK_MAP


def _mad0(h):
    """The mean |innovation| (mm) the noise estimate starts from at height h:
    MAD0_SPECS times the spec's sigma (0.3 m + h / 512), as a sigma (x 4/5).
    A part's noise is not known before its ranges have been seen: trusted at
    its spec from the first range, museum 04's (5 %, 17 times the spec at
    8 km) bent the velocity and the bias for the rest of the descent (the
    estimate comes down to what the ranges show within ~100 of them)."""
    h = fixed.clamp(h, 0, MAX_RANGE_MM)
    return ((SIGMA_M0_MM + (h >> 9)) * MAD0_SPECS * 4) // 5


def _signed(v, n):
    """An n-bit two's-complement field as an int (restore path)."""
    return v - (1 << n) if v >= 1 << (n - 1) else v


def _sincos_q15(angle, out):
    """out[0] = sin, out[1] = cos of a binary angle, Q15 (start-up helper)."""
    out[0] = fixed.clamp(fixed.sin_q15(angle), -32767, 32767)   # |.| < 2^15: products < 2^30
    out[1] = fixed.clamp(fixed.cos_q15(angle), -32767, 32767)


class Nav:
    # Published fields: the contract guidance, control, telemetry and the
    # executive read.
    def __init__(self, cfg):
        self.cfg = cfg
        self.altitude_mm = 0         # height above the terrain under the vehicle (what is scored)
        self.height_mm = 0           # height above the datum (terrain under the vehicle at handover)
        self.terrain_mm = 0          # terrain height under the beam, above the datum
        self.terrain_under_mm = 0    # terrain height under the vehicle, above the datum (state)
        self.site_terrain_mm = 0     # best estimate of the site's terrain height above the datum
        self.site_alt_mm = 0         # height above the site's terrain: what guidance flies to
        self.vz_mm_s = 0
        self.vx_mm_s = 0
        self.x_mm = 0                # downrange of the powered-descent start (cfg.site_x_mm frame)
        self.pitch_bau = 0
        self.accel_thrust_mm_s2 = 0  # measured specific force along the thrust axis (IMU):
                                     # the last good sample (the next one's jump test)
        self.accel_bias_mm_s2 = 0    # estimated vertical accelerometer bias (altimeter)
        # accelerometer biases measured in free fall (mm/s^2 * 16), per IMU:
        # [imu1 x, imu1 z, imu2 x, imu2 z]; free_fall_n: samples behind them
        self.accel_cal_q4 = array("i", (0, 0, 0, 0))
        self.free_fall_n = array("i", (0, 0))
        self.free_fall_cycles = 0    # cycles propagated as free fall (engine out, coasting)
        self.alt_sigma_mm = 0        # 1-sigma uncertainties (the filter's own state)
        self.vz_sigma_mm_s = 0
        self.vx_sigma_mm_s = 0
        self.raw_range_mm = 0        # last altimeter slant range as read
        self.meas_alt_mm = 0         # that range as a height above the beam's terrain
        self.beam_dx_mm = 0          # where the beam hit, downrange of the vehicle
        self.alt_innov_mm = 0        # last altimeter innovation (measured - predicted height)
        self.alt_gate = 0            # last gate decision code (G_*; 0 = accepted)
        self.alt_gate_mm = 0         # the gate it was judged against
        self.alt_rejects = 0
        self.alt_reject_counts = array("i", bytes(4 * N_GATES))
        self.alt_sigma_meas_mm = SIGMA_M0_MM
        self.alt_offset_mm = 0       # altimeter offset being removed (F_ALT_OFFSET)
        self.terrain_steps = 0
        self.fault_flags = 0         # F_* bits
        self.alt_age_ms = 0          # time since the last accepted altimeter update
        self.alt_updates = 0
        self.imu_used = 1            # 1 primary, 2 secondary, 0 none (commanded thrust)
        self.imu_switches = 0
        self.imu_rejects = 0         # implausible IMU samples (spike, saturation, jump)
        self.initialised = False
        # -- state
        self._h = 0
        self._vz = 0
        self._vx = 0
        self._x = 0
        self._bz = 0
        self._pitch = 0
        self._t = 0                  # terrain under the beam (mm)
        self._k = 0                  # measurement-sigma bucket
        self._mad = 0                # mean |innovation| (mm), low-passed
        self._cen_until = 0          # cycle until which ranges near _cen_h may be censored
        self._cen_h = 0
        self._cand_t = 0
        self._cand_n = 0
        self._acc_x = 0              # vehicle x (mm) at the last accepted sample
        self._last_r = -1
        self._stuck_n = 0
        self._off_n = 0
        self._init_n = 0
        self._init_m = 0
        self._ever_alt = False
        self._cycles = 0
        self._age = 0
        self._last_bin = -1
        self.pitch_rate_urad_s = 0   # gyro pitch rate used this cycle
        self._p_end = 0              # restart_pitch(): the pitch the restart gap ramps to (bau)
        self._p_end_set = False
        self._prev1 = 0
        self._same1 = 0
        self._same2 = 0
        self._prev2 = 0
        self._run1 = IMU_READMIT
        self._demoted = False        # primary dropped on evidence: needs IMU_READMIT good cycles
        self._dis_n = 0
        self._bad = 0                # IMUs judged wrong by the vote (bits 1, 2)
        self._ffs = array("i", (0, 0, 0, 0))   # free-fall sums [imu1 x, z, imu2 x, z] (mm/s^2)
        self._ffq = array("i", (0, 0, 0, 0))   # ...and sums of squares
        self._cal_on = False                   # some bias in _cal is not zero
        self._cal = array("i", (0, 0, 0, 0))   # the biases removed in flight (mm/s^2; 0 until significant)
        self._map = array("i", bytes(4 * MAP_N))
        self._cnt = bytearray(MAP_N)      # samples in each map bin (0 = never seen)
        self._conf = bytearray(MAP_N)     # 1: a bin seen once, confirmed by the next sample's level
        self._nb_bin = -1                 # bin and terrain of the last new-ground sample
        self._nb_t = 0
        self._msig = array("i", bytes(4 * MAP_N))   # sigma of each bin's height (mm)
        self._tv_bin = -1
        self._mean_bin = -1
        self._nu_mean = 0
        self.alt_mapped = 0
        # steep ground: bins where the beam slid along a wall (a sweep: the
        # implied terrain moving one way N_SWEEP samples in a row): the last
        # sample is the bin's level, never a height reference
        self._steep = bytearray(MAP_N)
        self.steep_bins = 0
        # shadow: unseen ground between two seen levels, the far one lower by more
        # than SHADOW_DROP (ground behind an edge that drops away, which a beam
        # looking ahead passes over), along _sh[SH_DIR] (+1 / -1: the direction
        # the beam jumped); one array (SH_* words, and the sweep's SW_*): the
        # cycle reads one attribute
        self._sh = array("i", bytes(4 * SH_WORDS))
        # the trend window: [0, TR_N) implied terrain (mm >> 3), [TR_N, 2 TR_N)
        # the hit's distance ahead of the vehicle (mm >> 6) << 10 | cycle & 1023,
        # then its state (TS_*: one array, not ten attributes of the instance)
        self._tr = array("i", bytes(4 * (2 * TR_N + TS_WORDS)))
        self.slope = False               # published: the beam is on a slope (its bins are steep)
        self.slopes = 0                  # bins made steep by the trend test
        self.shadow_dir = 0              # published: 0 none, +1 / -1 ahead along x
        self.shadow_mm = SHADOW_NONE     # distance from the vehicle to the shadow's edge, along shadow_dir
        self.shadows = 0
        # -- per-cycle constants from the configuration (start-up: may allocate)
        rate = cfg.rate_hz
        self._rate = rate
        # accel mm/s^2 -> mm/cycle^2 * 2^16: a * KA >> NA, KA < 2^14, |a| < 2^16
        na = 0
        while ((1 << (16 + na + 1)) // (rate * rate)) < (1 << 14):
            na += 1
        self._na = na
        self._ka = ((1 << (16 + na)) + (rate * rate >> 1)) // (rate * rate)
        # gyro urad/s -> bau * 1024 per cycle: g * KG >> NG, |g| < 2^19, KG < 2^11
        # bau * 1024 per urad/s = 65536 * 1024 / (2 pi 1e6) = 10.680707
        # = 10680707 / (15625 * 2^6); per cycle / rate (rounded: < 3e-4 relative)
        cr = 10680707 // rate
        ng = 6
        while fixed.div_shift(cr, 15625, ng + 1 - 6) < (1 << 11):
            ng += 1
        self._ng = ng
        self._kg = (fixed.div_shift(cr, 15625, ng - 5) + 1) >> 1
        self._g = (cfg.gravity_mm_s2 * self._ka + (1 << (na - 1))) >> na
        self._rg = 1 << (ng - 1)         # rounds the gyro product
        # velocity mm/cycle * 2^16 -> mm/s: (v >> 6) * rate >> 10
        self._period_ms = 1000 // rate
        self._sin_b = 0                  # the altimeter boresight (configure)
        self._cos_b = 0
        self._site_bin = self._bin(cfg.site_x_mm)
        # gains per cycle from the table (Q24 / Q20 per second -> per cycle)
        g = navgains.GAINS
        n = navgains.NK
        # row k of the table: Kh, Kv, Kb (per cycle), then the sigma terms;
        # filled in one loop (a list comprehension each was a code object)
        z = bytes(4 * n)
        kh = array("i", z)
        kv = array("i", z)
        kb = array("i", z)
        ksh = array("i", z)
        ksv = array("i", z)
        # the same gains as 10-bit limbs, row k at 6k: Kh >> 10, Kh & 1023, Kv..,
        # Kb.. (Kb < 0: a negative high limb, a low limb in 0..1023), for
        # _accept's inline products: nu * K = (nu * hi << 10) + nu * lo, floored
        # exactly as fixed.mul_shift floors, each product < 2^29 while
        # |nu| < _nu_fast (2^29 / the largest |high limb|, at most 2^19)
        # int16 (288 bytes of heap where int32 took 576): the high limbs are
        # under 2^12 at every rate the configuration accepts (10..100 Hz: 3,226
        # at most, at 10 Hz), the low ones under 2^10
        kl = array("h", bytes(2 * 6 * n))
        top = 1024
        for k in range(n):
            r = 5 * k
            kh[k] = g[r]
            kv[k] = (g[r + 1] << 10) // rate
            kb[k] = (g[r + 2] << 12) // (rate * rate)
            ksh[k] = g[r + 3]
            ksv[k] = g[r + 4]
            j = 0
            for kk in (kh[k], kv[k], kb[k]):
                kl[6 * k + j] = kk >> 10
                kl[6 * k + j + 1] = kk & 1023
                a = kk >> 10
                if a < 0:
                    a = -a
                if a > top:
                    top = a
                j += 2
        self._kh = kh                    # (the attributes in their old order:
        self._kv = kv                    # the instance's map, and the cycle's
        self._kb = kb                    # look-ups, stay as they were)
        self._klimb = kl
        self._nu_fast = (1 << 29) // top
        self._ksh = ksh
        self._ksv = ksv
        self._edges = array("i", list(navgains.SIGMA_EDGES_MM) + [0x3FFFFFFF])
        self._sc = array("i", (0, 0))
        self.configure(cfg)

    def configure(self, cfg):
        """The terms built from the parameters a set_param telecommand may
        change in flight (config.IN_FLIGHT: the altimeter's boresight, which
        the slant-range correction turns with): at start-up and after each
        change, into the scratch pair (no allocation under heap_lock)."""
        sc = self._sc
        _sincos_q15(cfg.altimeter_beam_bau, sc)
        self._sin_b = sc[0]
        self._cos_b = sc[1]

    @staticmethod
    def _bin(x_mm):
        b = (x_mm - MAP_X0_MM) >> MAP_SHIFT
        if b < 0:
            return 0
        if b >= MAP_N:
            return MAP_N - 1
        return b

    # --- initialisation -----------------------------------------------------
    def init_from(self, altitude_mm, vz_mm_s, vx_mm_s, pitch_bau):
        """State at powered-descent initiation (the previous navigation's)."""
        self._h = altitude_mm << 4
        self._vz = self._v_from_mm_s(vz_mm_s)
        self._vx = self._v_from_mm_s(vx_mm_s)
        self._x = 0
        self._pitch = pitch_bau << 10
        self._t = 0
        self.terrain_under_mm = 0
        self.alt_sigma_mm = navgains.GAINS[3]
        self.vz_sigma_mm_s = navgains.GAINS[4]
        self.vx_sigma_mm_s = 100
        self._mad = _mad0(altitude_mm)
        b = self._bin(0)                 # the datum: the terrain under the vehicle now
        self._map[b] = 0
        self._cnt[b] = N_MAP
        self.initialised = True
        post(EV_NAV_INIT, 0)
        _publish(self)

    def _v_from_mm_s(self, v):
        # mm/s -> mm/cycle * 2^16 (start-up / restore path)
        return ((v << 10) // self._rate) << 6

    # --- one cycle ----------------------------------------------------------
    def update(self, dt_q20, imu1, st1, imu2, st2, alt, st_alt, ctrl, touchdown):
        """Propagate with the IMU sample of this cycle, then correct with the
        altimeter if it brought a fresh range. imu1/imu2/alt may be None."""
        cyc = self._cycles + 1
        self._cycles = cyc
        # ---- IMU selection: plausibility, stuck, redundancy ----------------
        # (fz1, fx1, g1 and fz2, fx2, g2 are read only where ok1 / ok2 says
        # they were set; F_IMU2 stands until the secondary is found usable:
        # it is not read on most cycles)
        ok1 = False
        ok2 = False
        flags = self.fault_flags & ~(F_IMU1 | F_NO_IMU) | F_IMU2
        if imu1 is not None and st1 == OK:
            a = imu1.accel_mm_s2
            fz1 = a[2]
            fx1 = a[0]
            g1 = imu1.gyro_urad_s[1]
            ok1 = -ACC_LIMIT < fz1 < ACC_LIMIT and -ACC_LIMIT < fx1 < ACC_LIMIT \
                and -GYRO_LIMIT < g1 < GYRO_LIMIT
            if ok1:
                d = fz1 - self.accel_thrust_mm_s2
                if (d > ACC_JUMP or d < -ACC_JUMP) and self.imu_used == 1:
                    ok1 = False
                s = fz1 + fx1 + g1
                if s == self._prev1:
                    self._same1 += 1
                    if self._same1 == IMU_STUCK_CYCLES:
                        events.post(EV_NAV_IMU_STUCK, 1)
                else:
                    self._same1 = 0
                self._prev1 = s
            if not ok1:
                self.imu_rejects += 1
                self._demoted = True
        elif st1 == REINIT:
            self._demoted = True         # the primary was found reset: re-admit after a check
        if st2 == OK and imu2 is not None:
            a = imu2.accel_mm_s2
            fz2 = a[2]
            fx2 = a[0]
            g2 = imu2.gyro_urad_s[1]
            ok2 = -ACC_LIMIT < fz2 < ACC_LIMIT and -ACC_LIMIT < fx2 < ACC_LIMIT \
                and -GYRO_LIMIT < g2 < GYRO_LIMIT
            if ok2:
                d = fz2 - self.accel_thrust_mm_s2
                if (d > ACC_JUMP or d < -ACC_JUMP) and self.imu_used == 2:
                    ok2 = False
                s = fz2 + fx2 + g2
                if s == self._prev2:
                    self._same2 += 1
                    if self._same2 == IMU_STUCK_CYCLES:
                        events.post(EV_NAV_IMU_STUCK, 2)
                else:
                    self._same2 = 0
                self._prev2 = s
        # a frozen IMU (the same bits for IMU_STUCK_CYCLES) yields to a live one
        # (one test of both for the two checks below: the single-IMU cycle;
        # ok2 first, False on most cycles)
        if ok2 and ok1:
            if self._same1 >= IMU_STUCK_CYCLES and self._same2 < IMU_STUCK_CYCLES:
                ok1 = False
            elif self._same2 >= IMU_STUCK_CYCLES and self._same1 < IMU_STUCK_CYCLES:
                ok2 = False
            if ok1 and ok2:
                # (both read: ok1 and ok2; pyright cannot see it)
                d = fz1 - fz2       # pyright: ignore[reportOperatorIssue]
                e = fx1 - fx2       # pyright: ignore[reportOperatorIssue]
                q = g1 - g2         # pyright: ignore[reportOperatorIssue]
                if d > IMU_DIS_ACC or d < -IMU_DIS_ACC or e > IMU_DIS_ACC or e < -IMU_DIS_ACC \
                        or q > IMU_DIS_GYRO or q < -IMU_DIS_GYRO:
                    self._dis_n += 1
                    if self._dis_n == IMU_DIS_CYCLES:
                        _vote(self, fz1, fz2, ctrl)
                else:
                    self._dis_n = 0
                    self._bad = 0
        bad = self._bad
        if bad:
            if bad & 1:
                ok1 = False
                self._demoted = True
            if bad & 2:
                ok2 = False
        if ok2:
            flags &= ~F_IMU2
        # the primary unless it was dropped on evidence: it then waits
        # IMU_READMIT good cycles in a row while the secondary is usable
        # (_run1 counts only then: the cycle that drops it has ok1 False,
        # so the count starts from 0)
        pick = 0
        if ok1:
            pick = 1
            if self._demoted:
                run = self._run1 + 1
                self._run1 = run
                if run < IMU_READMIT and ok2:
                    pick = 2
                else:
                    self._demoted = False
        else:
            self._run1 = 0
            flags |= F_IMU1
            if ok2:
                pick = 2
        used = self.imu_used
        if pick == 1:
            fz = fz1
            fx = fx1
            gy = g1
        elif pick == 2:
            fz = fz2
            fx = fx2
            gy = g2
        else:
            fz = _commanded(self, ctrl)
            fx = 0
            gy = 0
            flags |= F_NO_IMU
        if pick != used:
            self.imu_used = pick
            self.imu_switches += 1
            events.post(EV_NAV_IMU_SWITCH, pick)
        # ---- accelerometer biases: measured in free fall, removed in flight
        ff = False
        if (ok1 or ok2) and ctrl is not None and ctrl.throttle_q15 == 0 and not touchdown \
                and ctrl.thrust_model_q15 < FF_THRUST_OFF:
            if ok1:
                ff = _free_fall(self, 0, fx1, fz1)
            if ok2:
                ff = _free_fall(self, 1, fx2, fz2) or ff
            if ff:
                # free fall on the Moon: no force but gravity, whatever the
                # accelerometer's bias and noise say
                self.free_fall_cycles += 1
                fx = 0
                fz = 0
        if self._cal_on and pick and not ff:
            cal = self._cal
            i = (pick - 1) << 1
            fx -= cal[i]
            fz -= cal[i + 1]
        self.pitch_rate_urad_s = gy
        self.accel_thrust_mm_s2 = fz

        # ---- propagation ------------------------------------------------------
        n = 1
        # products rounded to nearest (a floor loses half a unit per cycle:
        # ~1 mm/s^2 of vertical bias at pitch 0, a pitch drift)
        inc = (gy * self._kg + self._rg) >> self._ng      # pitch step per period
        dr = dt_q20 * self._rate    # the cycle in periods, Q20
        if dr > 1572864:            # over 1.5 periods (a late cycle, a warm restart's gap): whole periods
            n = (dr + 524288) >> 20
            if n > MAX_STEPS:
                n = MAX_STEPS
            if self._p_end_set:
                # warm restart: the executive's pitch at this cycle, ramped to
                # over the gap (the gyro was not read in it)
                self._p_end_set = False
                inc = ((self._p_end << 10) - self._pitch) // n
        tab = _SIN
        while n > 0:                # n >= 1: the rotation below is always of this cycle's pitch
            n -= 1
            p = self._pitch + inc
            self._pitch = p
            # sin and cos (Q15) of the binary angle (p + 512) >> 10: one walk of
            # the quarter-wave table for both (pinned against the reference walk
            # of tests/test_estimator_sincos.py and math.sin). Within 63 bau of an
            # axis (504 angles) the interpolation between table points 255 and
            # 256 rounds to 32768 = 2^15, not 32767; a Q15 product with it
            # stays below 2^30 (32767 x 32768 + 2^14)
            a = ((p + 512) >> 10) & 0xFFFF
            q = a >> 14
            u = a & 0x3FFF
            w = 0x4000 - u
            i = u >> 6
            f = u & 63
            b0 = tab[i]
            su = ((b0 << 6) + (tab[i + 1] - b0) * f + 128) >> 8 if f else (b0 >> 2) - (b0 >> 17)
            i = w >> 6
            f = w & 63
            b0 = tab[i]
            sw = ((b0 << 6) + (tab[i + 1] - b0) * f + 128) >> 8 if f else (b0 >> 2) - (b0 >> 17)
            if q == 0:
                s = su
                c = sw
            elif q == 1:
                s = sw
                c = -su
            elif q == 2:
                s = -su
                c = -sw
            else:
                s = -sw
                c = su
            # world-frame specific force (mm/s^2), |.| < 2^16 (each product
            # < 32767^2 + 2^14 < 2^30)
            az = ((fz * c + 16384) >> 15) - ((fx * s + 16384) >> 15)
            ax = ((fz * s + 16384) >> 15) + ((fx * c + 16384) >> 15)
            ka = self._ka
            na = self._na
            vz = self._vz + ((az * ka) >> na) - self._g - self._bz     # floor: < 0.04 mm/s^2
            vx = self._vx + ((ax * ka) >> na)
            if vz > V_MAX:
                vz = V_MAX
            elif vz < -V_MAX:
                vz = -V_MAX
            if vx > V_MAX:
                vx = V_MAX
            elif vx < -V_MAX:
                vx = -V_MAX
            self._vz = vz
            self._vx = vx
            h = self._h + ((vz + 2048) >> 12)
            x = self._x + ((vx + 2048) >> 12)
            if h > H_MAX:
                h = H_MAX
            elif h < -H_MAX:
                h = -H_MAX
            if x > H_MAX:
                x = H_MAX
            elif x < -H_MAX:
                x = -H_MAX
            self._h = h
            self._x = x
        # uncertainty growth while no altimeter corrects (bias, sample noise)
        age = self._age + 1
        self._age = age
        grow = 1 if pick else 10
        if age > 1:
            sv = self.vz_sigma_mm_s + grow
            if sv > SIG_MAX:
                sv = SIG_MAX
            self.vz_sigma_mm_s = sv
            sh = self.alt_sigma_mm + (sv * self._period_ms + 500) // 1000
            self.alt_sigma_mm = sh if sh < SIG_MAX else SIG_MAX
        if self.vx_sigma_mm_s < SIG_MAX:
            self.vx_sigma_mm_s += grow

        # ---- altimeter ----------------------------------------------------------
        # (NOT_READY tested first: the 3 cycles of 5 without a frame test one thing)
        if st_alt != NOT_READY and alt is not None:
            if st_alt == OK:
                self._ever_alt = True            # (so F_ALT_NEVER is not for this cycle)
                # this cycle's IMU flags stored first: _correct updates only
                # F_ALT_STUCK, and a range it refuses before its stuck test
                # (or a repeat not yet stuck) would leave the last cycle's
                self.fault_flags = flags
                _correct(self, alt.range_mm, touchdown, flags, s, c)
                flags = self.fault_flags
                age = self._age
                if age >= STALE_CYCLES:
                    flags |= F_ALT_STALE
                else:
                    flags &= ~F_ALT_STALE
                self.fault_flags = flags
                # published: a range writes one map bin at most, _last_bin (a
                # range that wrote none leaves it as it was); another bin than
                # the vehicle's and the site's leaves the terrain under the
                # vehicle and the site's as they were (the light publication
                # below, ~6 k less than _publish); the state is the range's
                x >>= 4
                bv = (x - MAP_X0_MM) >> MAP_SHIFT      # self._bin(x), unclamped (see below)
                lb = self._last_bin
                if bv != self._tv_bin or lb == bv or lb == self._site_bin:
                    _publish(self)
                    return
                h = self._h >> 4
                tv = self.terrain_under_mm
                if self._sh[SH_DIR]:
                    _shadow(self, x, bv, h - tv)
                self.height_mm = h
                self.altitude_mm = h - tv
                self.terrain_mm = self._t
                self.site_alt_mm = h - self.site_terrain_mm
                rate = self._rate
                self.vz_mm_s = ((self._vz >> 6) * rate) >> 10
                self.vx_mm_s = ((vx >> 6) * rate) >> 10
                self.x_mm = x
                self.pitch_bau = p >> 10
                self.alt_age_ms = age * self._period_ms
                return
            self.alt_gate = G_STATUS
            self.alt_reject_counts[G_STATUS] += 1
            self.alt_rejects += 1
            # no return: near the end of the part's reach, the returns
            # that still come are the short half of the noise (censored)
            self._cen_until = cyc + CEN_HOLD
            self._cen_h = self.meas_alt_mm       # the last valid height
        if cyc == NEVER_VALID_CYCLES and not self._ever_alt:
            flags |= F_ALT_NEVER
            events.post(EV_NAV_ALT_NEVER_VALID, cyc)
        if age >= STALE_CYCLES:
            flags |= F_ALT_STALE
        else:
            flags &= ~F_ALT_STALE
        self.fault_flags = flags

        # ---- published fields ---------------------------------------------------
        # No range this cycle: the map, the terrain under the beam (terrain_mm)
        # and the site's terrain are as the last _publish left them (only a
        # range changes them), so over the same map bin the terrain under the
        # vehicle and site_terrain_mm stand too; the rest is this cycle's state,
        # from the propagation's locals (~10 k less than _publish; a bin
        # changed, or off the map, _publish finds the terrain under it)
        h >>= 4
        x >>= 4
        bv = (x - MAP_X0_MM) >> MAP_SHIFT          # self._bin(x), unclamped: off the map it is not _tv_bin
        if bv != self._tv_bin:
            _publish(self)
            return
        tv = self.terrain_under_mm
        if self._sh[SH_DIR]:
            _shadow(self, x, bv, h - tv)
        self.height_mm = h
        self.altitude_mm = h - tv
        self.site_alt_mm = h - self.site_terrain_mm
        rate = self._rate
        self.vz_mm_s = ((vz >> 6) * rate) >> 10
        self.vx_mm_s = ((vx >> 6) * rate) >> 10
        self.x_mm = x
        self.pitch_bau = p >> 10
        self.alt_age_ms = age * self._period_ms

    def _free_fall(self, j, fx, fz):
        """IMU j (0 primary, 1 secondary) while the engine is out: within
        FF_LIMIT on both axes the vehicle is in free fall (a lunar coast has no
        other force), so the sample is the part's bias plus noise: averaged,
        it calibrates both axes (the body x bias, which no other sensor sees,
        and z). Returns True when this sample is a free-fall sample."""
        if not (-FF_LIMIT < fx < FF_LIMIT and -FF_LIMIT < fz < FF_LIMIT):
            return False
        nn = self.free_fall_n
        n = nn[j]
        if n < FF_MAX:
            n += 1
            nn[j] = n
            i = j << 1
            ffs = self._ffs
            ffq = self._ffq
            ffs[i] += fx
            ffs[i + 1] += fz
            ffq[i] += fx * fx
            ffq[i + 1] += fz * fz
            if n & 15 == 0 or n == FF_MIN:
                # the means and their significance every 16 samples (a coast
                # cycle stays cheap: the sums only)
                _cal_axis(self, i, n)
                _cal_axis(self, i + 1, n)
        return True

    def _cal_axis(self, i, n):
        # sums of the samples and their squares (|.| < 300 * 4096 < 2^21,
        # 300^2 * 4096 < 2^29); the mean, bounded, published in Q4; removed in
        # flight only once significant: FF_MIN samples and the mean beyond
        # 3 sigma of its own uncertainty (sample variance / n), so a part
        # without a bias is not given the noise of its calibration
        sx = self._ffs[i]
        q = self._ffq[i]
        lim = ACC_BIAS_MAX << 4
        b = fixed.clamp((sx << 4) // n, -lim, lim)            # |sx << 4| < 2^25
        self.accel_cal_q4[i] = b
        var = q // n - ((b * b) >> 8)                          # (mm/s^2)^2 < 2^17
        m2 = b >> 2                                            # Q2, |.| < 2^10
        cal = self._cal
        if n >= FF_MIN and m2 * m2 > ((var * 144) // n):       # m^2 > 9 var / n (Q4)
            cal[i] = (b + 8) >> 4
        else:
            cal[i] = 0
        self._cal_on = cal[0] != 0 or cal[1] != 0 or cal[2] != 0 or cal[3] != 0

    def _commanded(self, ctrl):
        # No usable IMU: the specific force the engine is commanded to give.
        if ctrl is None:
            return 0
        m = ctrl.mass_kg_q10
        if m <= 0:
            return 0
        return fixed.clamp(fixed.div_shift(ctrl.thrust_cmd_mn, m, 10), 0, ACC_LIMIT)

    def _vote(self, fz1, fz2, ctrl):
        # Two IMUs disagree: the one further from the commanded thrust is wrong.
        model = _commanded(self, ctrl)
        e1 = fz1 - model
        e2 = fz2 - model
        if e1 < 0:
            e1 = -e1
        if e2 < 0:
            e2 = -e2
        wrong = 1 if e1 > e2 else 2
        self._bad = wrong
        post(EV_NAV_IMU_DISAGREE, wrong)

    def _correct(self, r, touchdown, flags, s, c):
        """One fresh altimeter range r (mm); s, c: sin and cos (Q15) of the
        pitch ((self._pitch + 512) >> 10)."""
        self.raw_range_mm = r
        if r <= 0 or r >= MAX_RANGE_MM:
            _reject(self, G_RANGE)
            return
        # stuck: the same millimetre value again and again
        if r == self._last_r:
            self._stuck_n += 1
            if self._stuck_n >= N_STUCK:
                if self._stuck_n == N_STUCK:
                    post(EV_NAV_ALT_STUCK, r // 1000)
                self.fault_flags = flags | F_ALT_STUCK
                _reject(self, G_STUCK)
                return
        else:
            self._stuck_n = 0
            self.fault_flags = flags & ~F_ALT_STUCK
        self._last_r = r
        # geometry: height above the beam's terrain and where the beam hit
        # cos(beam - p), sin(beam - p), Q15: each product < 2^30 (their sum
        # is not, at beam = p = 45 deg)
        cob = self._cos_b
        sib = self._sin_b
        cb = ((cob * c) >> 15) + ((sib * s) >> 15)
        sb = ((sib * c) >> 15) + ((-cob * s) >> 15)
        if cb < 8192:                                         # beyond 75 deg: not a height
            _reject(self, G_RANGE)
            return
        rh = r >> 13                                          # < 2^12
        rl = r & 8191
        m = ((rh * cb) >> 2) + ((rl * cb) >> 15)              # mm, < 2^25
        dx = ((rh * sb) >> 2) + ((rl * sb) >> 15)
        self.beam_dx_mm = dx
        off = self.alt_offset_mm
        m -= off
        self.meas_alt_mm = m
        x4 = self._x >> 4                                     # the vehicle, downrange (mm)
        xh = x4 + dx                                          # beam hit, downrange
        bn = (xh - MAP_X0_MM) >> MAP_SHIFT                    # self._bin(xh), inline
        if bn < 0:
            bn = 0
        elif bn >= MAP_N:
            bn = MAP_N - 1
        if not self.initialised:
            _cold_init(self, m)
            return
        # measurement sigma: spec (0.3 m + 0.2 %) plus the slant geometry
        # (a pitch error of ~0.2 deg moves the height by |dx| / 256), or what
        # the innovations show (at most 32 times that)
        adx = dx if dx >= 0 else -dx
        spec = SIGMA_M0_MM + (m >> 9) + (adx >> 8)
        sm = self._mad
        sm += sm >> 2
        if sm < spec:
            sm = spec
        elif sm > spec << 5:
            sm = spec << 5
        self.alt_sigma_meas_mm = sm
        k = self._k
        edges = self._edges
        if sm > edges[k]:
            k += 1
        elif k > 0 and sm < edges[k - 1]:
            k -= 1
        self._k = k
        hp = self._h >> 4
        if self._cycles < self._cen_until and hp - self._t > self._cen_h - 3 * sm:
            # returns lost at this height moments ago: a range here is one of
            # those that happened to come back short (museum 04: 5 % noise at
            # the 10 km reach, a -130 m mean the filter took for 20 s)
            _reject(self, G_RANGE)
            return
        tm = hp - m                     # terrain height at the hit point this sample implies
        mp = self._map
        cnt = self._cnt
        n = cnt[bn]
        tol = 4 * sm
        if tol < CONFIRM_TOL_MM:
            tol = CONFIRM_TOL_MM
        slope = _slope(self, tm, dx, tol, m)
        pb = self._last_bin
        self._last_bin = bn
        sh = self._sh
        pt = sh[SW_PREV]
        sh[SW_PREV] = tm
        # a sweep along steep ground: the terrain the samples imply moves one
        # way, sample after sample (N_SWEEP in a row), by more than the
        # tolerance in all and by at least twice its largest single move:
        # noise does not keep one sign, an offset or a step is one jump; the
        # bins such a sweep crosses (with a move of at least a quarter of the
        # largest: not the level ground it ends on) are steep
        e = tm - pt
        r = sh[SW_RUN]                  # moves in a row: > 0 up, < 0 down
        if e > 0:
            ae = e
            r = r + 1 if r > 0 else 1
        elif e < 0:
            ae = -e
            r = r - 1 if r < 0 else -1
        else:
            ae = 0
            r = 0
        sh[SW_RUN] = r
        if sh[SH_CDIR]:
            _shadow_confirm(self, tm, tol)
        st = self._steep
        s = st[bn]
        if -2 < r < 2:
            sh[SW_T] = pt               # a run starts from the previous sample
            sh[SW_M] = ae
        else:
            m2 = sh[SW_M]
            if ae > m2:
                m2 = ae
                sh[SW_M] = ae
            if not s and (r >= N_SWEEP or r <= -N_SWEEP):
                e = tm - sh[SW_T]
                if e < 0:
                    e = -e
                q = sm * _SWEEP_SIGMAS       # < 2^26: sm <= its spec << 5 < 2^23
                if q < tol:
                    q = tol
                if e > q and e >= m2 << 1 and ae << 2 >= m2:
                    st[bn] = 1
                    s = 1
                    self.steep_bins += 1
                    post(EV_NAV_STEEP, bn)
        if s:
            _steep_sample(self, bn, tm)
            return
        msig = self._msig
        if n > 0 and sm * 4 < msig[bn]:
            n = 0                       # far better than what mapped it: map it again
        elif n == 1:
            d = tm - mp[bn]
            if d > tol or d < -tol:
                # the bin's one sample and this one disagree: that one was a
                # lone wild range (2 % of museum 04's), this one is a first
                # sample (level with the terrain under the vehicle, or not)
                n = 0
        if n == 0:
            if sh[SH_DIR] == 0 and pb >= 0:
                _shadow_from(self, pb, pt, bn, tm, hp - self.terrain_under_mm, tol)
            # Ground never seen: level with the terrain under the vehicle (the
            # usual case)? Then it is that terrain and the range measures the
            # height; a different level is mapped as new ground. Not on a
            # slope (_slope): ground rising or falling away is not level with
            # anything, it is mapped.
            d = tm - self.terrain_under_mm
            q = tol
            if self.alt_updates < _YOUNG_N:
                # the part's noise not seen yet (the noise estimate starts at
                # MAD0_SPECS times the spec; museum 04's 5 % is 25 times it at
                # 8 km): level within 4 sigma of 24 times the spec
                q = (SIGMA_M0_MM + (m >> 9)) * _YOUNG_SPECS    # < 2^23
                if q < tol:
                    q = tol
            if -q <= d <= q and not slope:
                mp[bn] = self.terrain_under_mm
                cnt[bn] = N_MAP
                self._msig[bn] = sm
                n = N_MAP
        if n < N_MAP:
            # New ground under the beam: map it (a winsorised running mean of
            # N_MAP samples; a second sample that disagrees with the first
            # restarts the bin). It says nothing about the vehicle's height:
            # h is not touched.
            conf = self._conf
            if n == 0:
                d = 0
                mp[bn] = tm
                cnt[bn] = 1
                conf[bn] = 0
                self._msig[bn] = sm
            else:
                d = tm - mp[bn]
                if n == 1 and (d > tol or d < -tol):
                    mp[bn] = tm
                    conf[bn] = 0
                else:
                    if d > tol:
                        d = tol
                    elif d < -tol:
                        d = -tol
                    mp[bn] += d // (n + 1)
                    cnt[bn] = n + 1
                    ad = d if d >= 0 else -d
                    self._mad += (ad - self._mad) >> 5
                    if n + 1 == N_MAP:
                        self._msig[bn] = sm >> 1      # ~ sigma / sqrt(N_MAP) + bias
            # the previous new-ground sample at this level confirms both (a
            # lone wild range confirms nothing)
            pb = self._nb_bin
            if pb >= 0:
                e = tm - self._nb_t
                if -tol <= e <= tol:
                    conf[bn] = 1
                    conf[pb] = 1
            self._nb_bin = bn
            self._nb_t = tm
            t = mp[bn]
            step = t - self._t
            if (step > BIG_STEP_EVENT_MM or step < -BIG_STEP_EVENT_MM) and cnt[bn] == N_MAP:
                self.terrain_steps += 1
                post(EV_NAV_TERRAIN_STEP, step // 1000)
            if cnt[bn] >= N_MAP or n == 0:
                self._t = t
            self.alt_innov_mm = d
            self.alt_gate = G_MAPPED
            self.alt_mapped += 1
            return
        if slope:
            # known ground, but the beam is sweeping a slope: the bin's level
            # is where the footprint was, not where it is (the bin is steep)
            st[bn] = 1
            self.steep_bins += 1
            self.slopes += 1
            post(EV_NAV_STEEP, bn)
            _steep_sample(self, bn, tm)
            return
        # known ground: its own uncertainty adds to the measurement's
        sm += msig[bn]
        while sm > edges[k]:        # edges[NK - 1] = 0x3FFFFFFF: k stops there (sm < 2^23)
            k += 1
        tb = mp[bn]
        nu = m - (hp - tb)
        self.alt_innov_mm = nu
        # gate at GATE_K sigma of the innovation (sigma_nu ~ max + min / 2)
        a = self.alt_sigma_mm
        if a > sm:
            sn = a + (sm >> 1)
        else:
            sn = sm + (a >> 1)
        if sn > 0x3FFFFFF:
            sn = 0x3FFFFFF
        gate = sn * GATE_K
        if gate < GATE_MIN_MM:
            gate = GATE_MIN_MM
        self.alt_gate_mm = gate
        anu = nu if nu >= 0 else -nu
        # measurement-noise estimate: every innovation, clamped at a quarter
        # gate (a run of rejections raises it by at most ~25 % per 32 samples)
        # innovations that keep one sign on the same ground are the ground
        # (the beam sliding along a wall), not noise: the bin is mapped again
        if bn != self._mean_bin:
            self._mean_bin = bn
            self._nu_mean = 0
        q = gate >> 2
        cl = nu if -q <= nu <= q else (q if nu > 0 else -q)
        mean = self._nu_mean + ((cl - self._nu_mean) >> 3)
        self._nu_mean = mean
        if mean > 2 * sm or mean < -2 * sm:
            cnt[bn] = 0
            self._conf[bn] = 0
            self._nu_mean = 0
            self.alt_gate = G_MAPPED
            self.alt_mapped += 1
            return
        dv = cl - mean
        if dv < 0:
            dv = -dv
        md = self._mad
        self._mad = md + ((dv - md) >> 5)
        if off != 0:
            # an offset is being removed: does the raw range agree again?
            raw = nu + off
            if -gate <= raw <= gate:
                self._off_n += 1
                if self._off_n >= N_CONFIRM:
                    self.alt_offset_mm = 0
                    self._off_n = 0
                    self.fault_flags &= ~F_ALT_OFFSET
                    post(EV_NAV_ALT_OFFSET_END, 0)
                    nu = raw
                    anu = nu if nu >= 0 else -nu
            else:
                self._off_n = 0
        if anu <= gate:
            self._t = tb
            _accept(self, nu, k)
            return
        # Rejected on known ground: a self-consistent new terrain level, or an offset?
        ct = self._cand_t
        d = tm - ct
        if self._cand_n > 0 and -tol <= d <= tol:
            self._cand_n += 1
            self._cand_t = ct + (d >> 1)
        else:
            self._cand_t = tm
            self._cand_n = 1
        if self._cand_n < N_CONFIRM:
            _reject(self, G_OUTLIER)
            return
        self._cand_n = 0
        step = self._cand_t - tb
        astep = step if step >= 0 else -step
        travel = x4 - self._acc_x                  # the vehicle's own travel since then
        if travel < 0:
            travel = -travel
        big = m >> 2
        if big < BIG_STEP_MM:
            big = BIG_STEP_MM
        est_alt = hp - self.terrain_under_mm
        zero = est_alt < ZERO_MM and m > est_alt + ZERO_MM and not touchdown
        if astep <= CLIFF_SLOPE * travel + tol or astep >= big or zero:
            # terrain: the datum height stays, the map takes the step
            if zero:
                post(EV_NAV_ZERO_SANITY, m // 1000)
            t = self._cand_t
            mp[bn] = t
            self._t = t
            self.terrain_steps += 1
            post(EV_NAV_TERRAIN_STEP, step // 1000)
            _accept(self, m - (hp - t), k)
            return
        # the same place seen differently: an altimeter offset, removed
        off = self.alt_offset_mm - step
        self.alt_offset_mm = off
        self._off_n = 0
        self.fault_flags |= F_ALT_OFFSET
        post(EV_NAV_ALT_OFFSET, off // 1000)
        _reject(self, G_OUTLIER)

    def _slope(self, tm, dx, tol, m):
        """The trend test, every range the geometry accepts: is the terrain the
        ranges imply (tm = predicted height - measured height, mm) drifting
        faster than the inertial state can explain? The means of the newer and
        the older half of the last TR_N samples (TR_H apart) differ by more
        than 4 sigma of their difference (sigma of the range noise, spec or
        measured, times sqrt(2 / 32)), 2 sigma of the height, 3 sigma of the
        vertical velocity (at least TR_SIG_V: the table's sigma is the filter's
        belief, museum 04's errors reach twice it) over the time between them
        and what a 1/128 rad pitch error makes of the beam's own sweep (dx, the
        hit's distance ahead), while the footprint moved at least a quarter of
        that along x (a hovering vehicle's velocity error is no slope; a
        steeper wall is a sweep's, _correct, and so is the rest of the window
        after one): the beam is sweeping a slope, and what it measures there is
        terrain, not the vehicle's height (a 27 deg wall facing the forward
        beam rises ~0.4 m a sample under it: accepted, it pulled the height and
        the velocity for 20 s). Ground never seen is then mapped, not taken as
        level with the terrain under the vehicle; known ground becomes steep.
        A jump beyond tol is no slope: one or two are skipped (wild ranges), a
        third restarts the window, judged once full."""
        tr = self._tr
        n = tr[TS_N]
        c = self._cycles
        if n:
            e = tm - tr[TS_LAST]
            if e > tol or e < -tol:
                k = tr[TS_SKIP] + 1
                tr[TS_SKIP] = k
                if k <= TR_SKIP:
                    return self.slope
                n = 0
            elif c - tr[TS_C] > STALE_CYCLES:
                n = 0                       # a gap: the window is stale
        tr[TS_SKIP] = 0
        tr[TS_LAST] = tm
        tr[TS_C] = c
        q = tm >> 3                         # |tm| < 2^27: q < 2^24, a half's sum < 2^29
        # the hit's distance ahead (64 mm, |.| < 2^19) and the cycle (10 bits)
        w = ((dx >> 6) << 10) | (c & 1023)
        i = tr[TS_I]
        h = (i + TR_H) & TR_MASK            # the sample TR_H back: it joins the older half
        if n == 0:
            tr[TS_Q0] = q
            tr[TS_W0] = w
            tr[TS_S0] = q * TR_H
            tr[TS_S1] = q * TR_H
        if n >= TR_H:
            qh = tr[h]
            wo = tr[TR_N + h]
        else:
            qh = tr[TS_Q0]
            wo = tr[TS_W0]
        qo = tr[i] if n >= TR_N else tr[TS_Q0]      # the sample TR_N back leaves
        s1 = tr[TS_S1] + q - qh
        s0 = tr[TS_S0] + qh - qo
        tr[TS_S1] = s1
        tr[TS_S0] = s0
        tr[i] = q
        tr[TR_N + i] = w
        tr[TS_I] = (i + 1) & TR_MASK
        if n < TR_N:
            tr[TS_N] = n + 1
            self.slope = False
            return False                    # not a full window yet
        d = (s1 - s0) >> 2                  # the halves' mean difference, mm (x 8 / TR_H)
        if d < 0:
            d = -d
        sn = SIGMA_M0_MM + (m >> 9)
        a = self._mad
        a += a >> 2
        if a > sn:
            sn = a                          # < 2^27
        if d <= sn:
            # within the noise alone (the limit below is sn plus terms >= 0):
            # no slope and nothing steeper, the hold counts down
            hold = tr[TS_HOLD]
            if hold:
                tr[TS_HOLD] = hold - 1
            self.slope = False
            return False
        dc = (c - wo) & 1023                # cycles between the halves
        if dc > 255:
            dc = 255
        sv = self.vz_sigma_mm_s
        if sv > 0xFFFFF:
            sv = 0xFFFFF
        elif sv < TR_SIG_V:
            sv = TR_SIG_V
        g = dx - ((wo >> 10) << 6)          # the beam's own sweep over that time
        a = self.alt_sigma_mm
        if a > 0xFFFFF:
            a = 0xFFFFF
        # the footprint's travel: the vehicle's (|vx| < 2^19 mm/s) and the beam's
        tv = g + (self.vx_mm_s * dc) // self._rate
        if g < 0:
            g = -g
        if tv < 0:
            tv = -tv
        lim = sn + (a << 1) + (sv * dc * 3) // self._rate + (g >> 7)   # sv * dc * 3 < 2^30
        hold = tr[TS_HOLD]
        if d // TR_SLOPE > tv and d > lim:
            hold = TR_N                     # steeper: a sweep's (and its tail in the window)
        elif hold:
            hold -= 1
        tr[TS_HOLD] = hold
        slope = d > lim and hold == 0
        self.slope = slope
        return slope

    def _steep_sample(self, bn, tm):
        # A sample on steep ground: the bin's level is the latest sample (the
        # beam sliding along a wall sees it change faster than a running mean
        # follows); it maps, it never corrects the vehicle's height.
        self.alt_innov_mm = tm - self._map[bn]
        self._map[bn] = tm
        if self._cnt[bn] < N_SEEN:
            self._cnt[bn] = N_SEEN
        self._t = tm
        self._nb_bin = -1
        self.alt_gate = G_MAPPED
        self.alt_mapped += 1

    def _shadow_from(self, pb, pt, bn, tm, alt, tol):
        # The beam jumped from bin pb (terrain pt) over unseen ground to new
        # ground at bn, lower by more than the drop threshold: the ground between
        # lies behind an edge (the rays that reached bn passed over it); lower
        # by more than the noise tolerance too. A candidate until the next
        # sample (_shadow_confirm).
        d = bn - pb
        if d >= 2:
            sd = 1
        elif d <= -2:
            sd = -1
        else:
            return
        if self._cnt[pb + sd]:
            return
        drop = pt - tm
        lim = alt >> 5
        if lim < SHADOW_DROP_MM:
            lim = SHADOW_DROP_MM
        if drop <= lim or drop <= tol:
            return
        sh = self._sh
        sh[SH_CDIR] = sd
        sh[SH_CBN] = pb
        sh[SH_CB1] = bn
        sh[SH_CT] = tm

    def _shadow_confirm(self, tm, tol):
        # The sample after a candidate: at the far level too (a lone wild
        # range is no shadow), the shadow is known.
        sh = self._sh
        sd = sh[SH_CDIR]
        sh[SH_CDIR] = 0
        e = tm - sh[SH_CT]
        if e > tol or e < -tol:
            return
        pb = sh[SH_CBN]
        sh[SH_DIR] = sd
        sh[SH_BN] = pb
        sh[SH_B1] = sh[SH_CB1]
        e = MAP_X0_MM + (pb << MAP_SHIFT)
        sh[SH_EDGE] = e if sd > 0 else e + (1 << MAP_SHIFT)
        self.shadows += 1
        post(EV_NAV_SHADOW, (self._map[pb] - tm) // 1000)

    def _shadow(self, x, bv, alt):
        # Once per cycle while a shadow is known. It ends when the ground under
        # the vehicle, measured there (N_SEEN samples or a steep bin's last),
        # is level with the far side (within the drop threshold) past the edge;
        # when the vehicle is over the far side; or when the map no longer
        # shows the drop (the far or near level re-measured: a wild range).
        sh = self._sh
        sd = sh[SH_DIR]
        mp = self._map
        b1 = sh[SH_B1]
        tf = mp[b1]
        lim = alt >> 5
        if lim < SHADOW_DROP_MM:
            lim = SHADOW_DROP_MM
        d = (sh[SH_EDGE] - x) * sd              # distance to the edge, along sd
        end = 0
        if mp[sh[SH_BN]] - tf <= lim:
            end = 3
        elif (bv - b1) * sd >= 0:
            end = 2
        elif d < 0 and self._cnt[bv] >= N_SEEN and mp[bv] - tf <= lim:
            end = 1
        if end:
            sh[SH_DIR] = 0
            self.shadow_dir = 0
            self.shadow_mm = SHADOW_NONE
            post(EV_NAV_SHADOW_END, end)
            return
        self.shadow_dir = sd
        self.shadow_mm = d

    def _reject(self, code):
        self.alt_gate = code
        self.alt_reject_counts[code] += 1
        self.alt_rejects += 1

    def _accept(self, nu, k):
        # Kalman update of height, vertical velocity and accelerometer bias
        # against mapped terrain (steady-state gains for the measurement sigma)
        age = self._age
        if age >= STALE_CYCLES:
            post(EV_NAV_ALT_REACQUIRED, age // self._rate)
            sm = self.alt_sigma_meas_mm
            if nu > REACQ_SIGMAS * sm or nu < -REACQ_SIGMAS * sm:
                # back after a coast of age cycles with an error far beyond
                # the range's noise: what the coast accumulated, not noise.
                # The steady-state gains would spread it over many seconds
                # through the velocity and the bias (an overshoot of ~1 m/s,
                # museum 03); the height takes it at once and the velocity the
                # coast's mean rate (a velocity error held over the coast)
                nu = fixed.clamp(nu, -0x7FFFF, 0x7FFFF)           # 524 m
                self._h += nu << 4
                self._vz += ((nu << 10) // age) << 6               # mm/cycle * 2^16
                self.alt_sigma_mm = self._ksh[k]
                age = -1                                           # taken: no filter update
        if age >= 0:
            # products rounded to nearest: floored, the bias update lost half
            # a unit per range (~0.4 mm/s^2 a second of bias drift, a vertical
            # velocity error of ~0.5 m/s by the end of the braking)
            nf = self._nu_fast
            if -nf < nu < nf:
                # fixed.mul_shift's floors, inline on the gains' limbs (see __init__)
                kl = self._klimb
                i = 6 * k
                self._h += (((nu * kl[i] + ((nu * kl[i + 1]) >> 10)) >> 9) + 1) >> 1
                self._vz += (((nu * kl[i + 2] + ((nu * kl[i + 3]) >> 10)) >> 3) + 1) >> 1
                bz = self._bz + ((((nu * kl[i + 4] + ((nu * kl[i + 5]) >> 10)) >> 9) + 1) >> 1)
            else:
                self._h += (fixed.mul_shift(nu, self._kh[k], 19) + 1) >> 1
                self._vz += (fixed.mul_shift(nu, self._kv[k], 13) + 1) >> 1
                bz = self._bz + ((fixed.mul_shift(nu, self._kb[k], 19) + 1) >> 1)   # Kb < 0: bias up when h runs high
            if bz > BZ_MAX:
                bz = BZ_MAX
            elif bz < -BZ_MAX:
                bz = -BZ_MAX
            self._bz = bz
            # mm/s^2 = bz * rate^2 / 2^16 (|bz| < 2^20, rate^2 <= 2^14)
            self.accel_bias_mm_s2 = ((bz >> 4) * self._rate * self._rate) >> 12
            sh = self._ksh[k]
            sv = self._ksv[k]
            # after a coast the uncertainty comes down over a few updates
            a = self.alt_sigma_mm >> 1
            self.alt_sigma_mm = a if a > sh else sh
            a = self.vz_sigma_mm_s >> 1
            self.vz_sigma_mm_s = a if a > sv else sv
        self._age = 0
        self.alt_gate = G_ACCEPT
        self.alt_updates += 1
        self._cand_n = 0
        self._acc_x = self._x >> 4
        self._nb_bin = -1

    def _cold_init(self, m):
        # Not initialised (a restart without a checkpoint): start from the
        # altimeter once N_CONFIRM samples agree within 5 %.
        d = m - self._init_m
        tol = (m >> 4) + CONFIRM_TOL_MM
        if self._init_n > 0 and -tol <= d <= tol:
            self._init_n += 1
        else:
            self._init_n = 1
        self._init_m = m
        if self._init_n < N_CONFIRM:
            _reject(self, G_NOINIT)
            return
        self._h = m << 4
        self._t = 0
        self.terrain_under_mm = 0
        self._vz = 0
        self._bz = 0
        self.alt_sigma_mm = m >> 4
        self.vz_sigma_mm_s = 20000
        self._mad = _mad0(m)
        self.vx_sigma_mm_s = 20000
        self.initialised = True
        post(EV_NAV_INIT, 1)

    def built_in_test(self, board):
        """Pre-descent built-in test (the executive's BIT mode): see built_in_test()."""
        return built_in_test(board)

    # --- checkpoint (warm restart) -------------------------------------------
    def restart_pitch(self, pitch_bau):
        """Warm restart (the executive, before the first update): the pitch at
        the first cycle, predicted over the reset gap from the attitude unit's
        held set-point; the gap's propagation ramps the pitch to it instead of
        integrating the first sample's rate over the whole gap."""
        self._p_end = pitch_bau
        self._p_end_set = True

    def checkpoint_into(self, words, offset):
        """Write the state a warm restart needs into words[offset:offset+CHECKPOINT_WORDS].

        Packed words (every field < 2^30): 7 fault flags (bits 0-6) | the
        sweep's run (8-bit two's complement, bits 7-14) | the last sample's
        bin + 1 (bits 15-23) | the site's bin seen (N_SEEN samples: word 6
        is its level; bit 24); 11 the height sigma | cycles since the last
        accepted range (12 bits, clamped: low 6 in bits 24-29, high 6 in word
        14's); 12 / 13 the velocity sigmas (17 bits, clamped) | the shadow's
        near / far level (m, 13-bit two's complement, bits 17-29); 14 IMU in
        use | k | IMUs voted wrong | shadow direction (1 +1, 2 -1) | its near
        bin (bits 16-23); 16, 17 the free-fall calibration in use (mm/s^2,
        10-bit two's complement each) | 17: the shadow's far bin (bits 10-17)
        | the last IMU sample (thrust axis, mm/s^2 / 16, 12 bits, bits 18-29);
        18 the sweep's previous terrain (mm); 19 its start (0.25 m, 17-bit
        two's complement) | its largest move (0.25 m, 13 bits, clamped) << 17;
        20 the first bin of the map window; 21.. CK_MAP bins (one word each).
        Allocation-free; the window is a loop of CK_MAP bins."""
        sh = self._sh
        sd = sh[SH_DIR]
        bn = sh[SH_BN]
        b1 = sh[SH_B1]
        mp = self._map
        near = 0
        far = 0
        if sd:
            near = fixed.clamp((mp[bn] + 500) // 1000, -4095, 4095)
            far = fixed.clamp((mp[b1] + 500) // 1000, -4095, 4095)
        sv = self.vz_sigma_mm_s if self.vz_sigma_mm_s < 0x1FFFF else 0x1FFFF
        svx = self.vx_sigma_mm_s if self.vx_sigma_mm_s < 0x1FFFF else 0x1FFFF
        cal = self._cal
        fz = fixed.clamp(self.accel_thrust_mm_s2 >> 4, -2048, 2047)
        age = self._age if self._age < 4095 else 4095
        run = fixed.clamp(sh[SW_RUN], -127, 127)
        words[offset] = self._h
        words[offset + 1] = self._vz
        words[offset + 2] = self._vx
        words[offset + 3] = self._x
        words[offset + 4] = self._pitch
        words[offset + 5] = self._t
        words[offset + 6] = self.site_terrain_mm
        words[offset + 7] = self.fault_flags | ((run & 0xFF) << 7) | ((self._last_bin + 1) << 15) \
            | ((1 if self._cnt[self._site_bin] >= N_SEEN else 0) << 24)
        words[offset + 8] = self._bz
        words[offset + 9] = self.terrain_under_mm
        words[offset + 10] = self.alt_offset_mm
        words[offset + 11] = self.alt_sigma_mm | ((age & 63) << 24)
        words[offset + 12] = sv | ((near & 0x1FFF) << 17)
        words[offset + 13] = svx | ((far & 0x1FFF) << 17)
        words[offset + 14] = self.imu_used | (self._k << 4) | (self._bad << 12) \
            | ((0 if sd == 0 else (1 if sd > 0 else 2)) << 14) | (bn << 16) | ((age >> 6) << 24)
        words[offset + 15] = self._mad
        words[offset + 16] = (cal[0] & 0x3FF) | ((cal[1] & 0x3FF) << 10) | ((cal[2] & 0x3FF) << 20)
        words[offset + 17] = (cal[3] & 0x3FF) | (b1 << 10) | ((fz & 0xFFF) << 18)
        words[offset + 18] = sh[SW_PREV]
        words[offset + 19] = (fixed.clamp((sh[SW_T] + 125) // 250, -0xFFFF, 0xFFFF) & 0x1FFFF) \
            | (fixed.clamp((sh[SW_M] + 125) // 250, 0, 0x1FFF) << 17)
        # the map window: the bins the vehicle flies over next and the beam sees
        b = (((self._x >> 4) - MAP_X0_MM) >> MAP_SHIFT) - (CK_BEHIND if self.beam_dx_mm >= 0
                                                          else CK_MAP - CK_BEHIND - 1)
        if b < 0:
            b = 0
        elif b > MAP_N - CK_MAP:
            b = MAP_N - CK_MAP
        words[offset + 20] = b
        # each bin as one word: its level (32 mm units, 19-bit two's
        # complement: +/-8.4 km, clamped) | samples (4 bits) << 19 | steep << 23
        # | confirmed << 24 | its sigma << 25 (5 bits, rounded up: code <= 15 is
        # code x 512 mm, above (code - 15) x 8192 mm, up to 131 m); 0: unseen
        cnt = self._cnt
        st = self._steep
        cf = self._conf
        ms = self._msig
        o = offset + CK_MAP_AT
        for j in range(b, b + CK_MAP):
            c = cnt[j]
            s = st[j]
            if c or s:
                lv = (mp[j] + 16) >> 5
                if lv > 0x3FFFF:
                    lv = 0x3FFFF
                elif lv < -0x3FFFF:
                    lv = -0x3FFFF
                m = ms[j]
                if m <= 7680:
                    code = (m + 511) >> 9
                else:
                    code = (m + 8191) >> 13
                    code = 31 if code > 16 else code + 15
                if c > 15:
                    c = 15
                words[o] = (lv & 0x7FFFF) | (c << 19) | (s << 23) | (cf[j] << 24) | (code << 25)
            else:
                words[o] = 0
            o += 1

    def restore_from(self, words, offset):
        cw = words[offset:offset + CHECKPOINT_WORDS]     # (start-up: a copy, indexed from 0)
        self._h = cw[0]
        self._vz = cw[1]
        self._vx = cw[2]
        self._x = cw[3]
        self._pitch = cw[4]
        self._t = cw[5]
        self.site_terrain_mm = cw[6]
        w = cw[7]
        self.fault_flags = w & 0x7F
        run = _signed((w >> 7) & 0xFF, 8)
        self._last_bin = ((w >> 15) & 0x1FF) - 1
        site_seen = (w >> 24) & 1
        self._bz = cw[8]
        self.terrain_under_mm = cw[9]
        self.alt_offset_mm = cw[10]
        w = cw[11]
        self.alt_sigma_mm = w & SIG_MAX
        age = (w >> 24) & 63
        w = cw[12]
        self.vz_sigma_mm_s = w & 0x1FFFF
        near = _signed((w >> 17) & 0x1FFF, 13)
        w = cw[13]
        self.vx_sigma_mm_s = w & 0x1FFFF
        far = _signed((w >> 17) & 0x1FFF, 13)
        w = cw[14]
        self.imu_used = w & 15
        k = (w >> 4) & 255
        self._k = k if k < navgains.NK else navgains.NK - 1
        self._bad = (w >> 12) & 3
        sd = (w >> 14) & 3
        bn = (w >> 16) & 255
        self._age = age | (((w >> 24) & 63) << 6)
        self._mad = cw[15]
        w = cw[16]
        cal = self._cal
        cal[0] = _signed(w & 0x3FF, 10)
        cal[1] = _signed((w >> 10) & 0x3FF, 10)
        cal[2] = _signed((w >> 20) & 0x3FF, 10)
        w = cw[17]
        cal[3] = _signed(w & 0x3FF, 10)
        b1 = (w >> 10) & 255
        self.accel_thrust_mm_s2 = _signed((w >> 18) & 0xFFF, 12) << 4
        # the calibration in use is kept as it was (its sums are not: an IMU
        # with one in use does not average more; one without starts over)
        for j in range(2):
            i = j << 1
            c = fixed.clamp(cal[i], -ACC_BIAS_MAX, ACC_BIAS_MAX)
            d = fixed.clamp(cal[i + 1], -ACC_BIAS_MAX, ACC_BIAS_MAX)
            cal[i] = c
            cal[i + 1] = d
            self.accel_cal_q4[i] = c << 4
            self.accel_cal_q4[i + 1] = d << 4
            self.free_fall_n[j] = FF_MAX if c != 0 or d != 0 else 0
        self._cal_on = cal[0] != 0 or cal[1] != 0 or cal[2] != 0 or cal[3] != 0
        # the sweep, a shadow with its two levels, then the map window
        sh = self._sh
        sh[SW_RUN] = run
        sh[SW_PREV] = cw[18]
        w = cw[19]
        sh[SW_T] = _signed(w & 0x1FFFF, 17) * 250
        sh[SW_M] = ((w >> 17) & 0x1FFF) * 250
        if sd and bn != b1:
            sd = 1 if sd == 1 else -1
            sh[SH_DIR] = sd
            sh[SH_BN] = bn
            sh[SH_B1] = b1
            e = MAP_X0_MM + (bn << MAP_SHIFT)
            sh[SH_EDGE] = e if sd > 0 else e + (1 << MAP_SHIFT)
            # the two levels the shadow was seen at (to the metre): seen
            # ground for the terrain under the vehicle (the far level over the
            # shadow), unless the map window below has the bins themselves
            for j in (bn, b1):
                self._cnt[j] = N_SEEN
                self._conf[j] = 1
                self._msig[j] = SEEN_SIG_MIN_MM
            self._map[bn] = near * 1000
            self._map[b1] = far * 1000
        else:
            sh[SH_DIR] = 0
        b = fixed.clamp(cw[20], 0, MAP_N - CK_MAP)
        mp = self._map
        cnt = self._cnt
        st = self._steep
        cf = self._conf
        ms = self._msig
        o = CK_MAP_AT
        for j in range(b, b + CK_MAP):
            w = cw[o]
            o += 1
            if w == 0:
                continue
            mp[j] = _signed(w & 0x7FFFF, 19) << 5
            cnt[j] = (w >> 19) & 15
            s = (w >> 23) & 1
            if s and not st[j]:
                self.steep_bins += 1
            st[j] = s
            cf[j] = (w >> 24) & 1
            code = (w >> 25) & 31
            ms[j] = code << 9 if code <= 15 else (code - 15) << 13
        # the site's measured terrain (word 6, when bit 24 says its bin was
        # seen): _publish below takes site_terrain_mm from the site's bin, so a
        # site bin outside the window would otherwise be forgotten and guidance
        # fly to the terrain under the vehicle until the beam sees it again. It
        # goes back in as seen ground (like a shadow's levels, bounded like a
        # window bin's); a site bin in the window takes the window's word.
        sb = self._site_bin
        if site_seen and not b <= sb < b + CK_MAP:
            mp[sb] = fixed.clamp(self.site_terrain_mm, -0x3FFFF << 5, 0x3FFFF << 5)
            cnt[sb] = N_SEEN
            st[sb] = 0
            cf[sb] = 1
            ms[sb] = SEEN_SIG_MIN_MM
        self._tv_bin = self._bin(self._x >> 4)     # the terrain under the vehicle is _tv
        self._nb_bin = -1
        self.accel_bias_mm_s2 = ((self._bz >> 4) * self._rate * self._rate) >> 12
        self._tr[TS_N] = 0               # the trend window starts over
        self.slope = False
        self._ever_alt = True
        self.initialised = True
        post(EV_NAV_INIT, 2)
        _publish(self)

    def _usable(self, i, lim):
        """Map bin i as the terrain under the vehicle: well seen (N_SEEN
        samples), or seen and confirmed (two samples at one level: in the bin,
        or the next new-ground sample) with a height sigma within lim (mm).
        A lone wild range is never used. Search path only (entering a bin)."""
        c = self._cnt[i]
        if c >= N_SEEN:
            return True
        return (c >= 2 or self._conf[i]) and self._msig[i] <= lim

    # --- published fields ----------------------------------------------------
    def _publish(self):
        h = self._h >> 4
        x = self._x >> 4
        bv = (x - MAP_X0_MM) >> MAP_SHIFT          # self._bin(x), inline (every cycle)
        if bv < 0:
            bv = 0
        elif bv >= MAP_N:
            bv = MAP_N - 1
        cnt = self._cnt
        if cnt[bv] >= N_SEEN:
            tv = self._map[bv]
        else:
            tv = self.terrain_under_mm
            if bv != self._tv_bin:
                # entering ground the beam has not seen well: the nearest
                # confirmed ground on either side (none: the last terrain under
                # the vehicle stays), except in a shadow: ground ahead seen
                # lower than ground behind means the beam looked over an edge
                # that drops away (the near wall of a crater); the rays that
                # reached the far level passed above the unseen ground, so it is
                # nearer the far level than the near one; unless the bin just
                # behind is steep (a beam sweeping down a wall under the
                # vehicle: its last sample is the nearest ground measured).
                step = 1 if self.beam_dx_mm >= 0 else -1
                lim = (self._h >> 4) - tv
                lim = lim >> 5 if lim > SEEN_SIG_MIN_MM << 5 else SEEN_SIG_MIN_MM
                # (the walks' ends computed first: one test per bin, not the
                # count and both bounds; ~80 bins are walked when the beam has
                # seen nothing near)
                ahead = -1
                e = bv + step * MAP_AHEAD
                if e > MAP_N:
                    e = MAP_N
                elif e < -1:
                    e = -1
                i = bv
                while i != e:
                    if cnt[i] and _usable(self, i, lim):
                        ahead = i
                        break
                    i += step
                behind = -1
                if ahead != bv:
                    e = bv - step * MAP_BEHIND
                    if e > MAP_N:
                        e = MAP_N
                    elif e < -1:
                        e = -1
                    i = bv - step
                    while i != e:
                        if cnt[i] and _usable(self, i, lim):
                            behind = i
                            break
                        i -= step
                    if behind >= 0 and ahead >= 0:
                        mp = self._map
                        k = (bv - behind) * step          # bins behind, ahead
                        j = (ahead - bv) * step
                        if k < j and (mp[ahead] >= mp[behind] - CONFIRM_TOL_MM
                                      or (k == 1 and self._steep[behind])):
                            ahead = behind
                    elif behind >= 0:
                        ahead = behind
                if ahead >= 0:
                    tv = self._map[ahead]
            # else: still in that bin (or its map was reset under the vehicle
            # to be mapped again): the last terrain under the vehicle stays
        self._tv_bin = bv
        self.terrain_under_mm = tv
        if self._sh[SH_DIR]:
            _shadow(self, x, bv, h - tv)
        self.height_mm = h
        self.altitude_mm = h - tv
        self.terrain_mm = self._t
        sb = self._site_bin
        st = self._map[sb] if cnt[sb] >= N_SEEN else tv
        self.site_terrain_mm = st
        self.site_alt_mm = h - st
        rate = self._rate
        self.vz_mm_s = ((self._vz >> 6) * rate) >> 10
        self.vx_mm_s = ((self._vx >> 6) * rate) >> 10
        self.x_mm = x
        self.pitch_bau = self._pitch >> 10
        self.alt_age_ms = self._age * self._period_ms


# The cycle's calls go through these module names (_publish(self)), not
# self._publish(): a method looked up on a Nav instance first misses in the
# instance's dict (117 attributes in 127 slots: an unsuccessful lookup probes
# to the next free slot, 1-5 k fuel by the name's hash) before the class
# has it; a module name is one cached global load.
_vote = Nav._vote
_commanded = Nav._commanded
_free_fall = Nav._free_fall
_cal_axis = Nav._cal_axis
_correct = Nav._correct
_publish = Nav._publish
_reject = Nav._reject
_cold_init = Nav._cold_init
_slope = Nav._slope
_shadow_confirm = Nav._shadow_confirm
_steep_sample = Nav._steep_sample
_shadow_from = Nav._shadow_from
_accept = Nav._accept
_usable = Nav._usable
_shadow = Nav._shadow


# --- pre-descent built-in test ------------------------------------------------
BIT_OK = const(0)
BIT_NO_IMU = const(1)             # primary IMU absent (failed at start-up)
BIT_IMU_NO_DATA = const(2)        # primary IMU gives no valid sample
BIT_IMU_IMPLAUSIBLE = const(3)    # specific force / rate beyond what the vehicle can see
BIT_NO_IMU2 = const(4)
BIT_IMU2_NO_DATA = const(5)
BIT_IMU2_IMPLAUSIBLE = const(6)
BIT_IMU_DISAGREE = const(7)       # the two IMUs disagree
BIT_NO_ALT = const(8)             # altimeter absent
BIT_ALT_NOT_ENABLED = const(9)    # altimeter never acknowledged its enable (IM-1)
BIT_ALT_INVALID = const(10)       # enabled, but no valid range (flag never set, no return)
BIT_ALT_IMPLAUSIBLE = const(11)   # a range outside (0, MAX_RANGE_MM)
# (A table of names for these codes, BIT_NAMES, was read by nothing, on the
# board or on the ground: 0.3 k of .mpy. The codes are what EV_BIT and
# bit_result report; the comments above name them.)


def _failed_at_startup(board, name):
    for entry in getattr(board, "failed", ()):
        if entry[0] == name:
            return True
    return False


def _imu_bit(board, name, imu, absent, no_data, implausible):
    if imu is None:
        # a part the board's wiring has but that failed at start-up
        return absent if _failed_at_startup(board, name) else BIT_OK
    if imu.status != OK and imu.read() != OK:
        return no_data
    a = imu.accel_mm_s2
    g = imu.gyro_urad_s
    for i in range(3):
        if not -ACC_LIMIT < a[i] < ACC_LIMIT or not -GYRO_LIMIT < g[i] < GYRO_LIMIT:
            return implausible
    return BIT_OK


def built_in_test(board):
    """Pre-descent built-in test (the executive calls it before arming, after
    the sensors have run a few cycles): BIT_OK or the first failed check's code
    (the BIT_* codes above). A part the board is wired for but that failed at
    start-up (board.failed) is "absent"; a part it is not wired for is not
    tested. Reads each part's last status, reads again if it has none; never
    raises on the parts' account."""
    imu = getattr(board, "imu", None)
    code = _imu_bit(board, "imu", imu, BIT_NO_IMU, BIT_IMU_NO_DATA, BIT_IMU_IMPLAUSIBLE)
    if code != BIT_OK:
        return code
    imu2 = getattr(board, "imu2", None)
    code = _imu_bit(board, "imu2", imu2, BIT_NO_IMU2, BIT_IMU2_NO_DATA, BIT_IMU2_IMPLAUSIBLE)
    if code != BIT_OK:
        return code
    if imu is not None and imu2 is not None:
        a1 = imu.accel_mm_s2
        a2 = imu2.accel_mm_s2
        for i in range(3):
            d = a1[i] - a2[i]
            if d > IMU_DIS_ACC or d < -IMU_DIS_ACC:
                return BIT_IMU_DISAGREE
    alt = getattr(board, "altimeter", None)
    if alt is None:
        return BIT_NO_ALT if _failed_at_startup(board, "altimeter") else BIT_OK
    if not alt.enabled:
        alt.read()
        if not alt.enabled:
            return BIT_ALT_NOT_ENABLED
    if alt.status != OK and alt.read() != OK:
        return BIT_ALT_INVALID
    if not 0 < alt.range_mm < MAX_RANGE_MM:
        return BIT_ALT_IMPLAUSIBLE
    return BIT_OK


_SIN = fixed._SIN_Q17
