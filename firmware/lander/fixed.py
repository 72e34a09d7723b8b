# Integer math for the cycle path. Every function takes and returns ints with
# |x| < 2^30 (the small-int range of 32-bit MicroPython) and keeps every
# intermediate inside that range, so nothing ever becomes a heap long int.
# Products and quotients that would not fit are computed on 15-bit limbs.
# Results are exact floors (like Python's >> and //) unless stated otherwise,
# so CPython, 64-bit and 32-bit MicroPython agree bit for bit.
#
# No float anywhere in this file: the tables below are integer literals
# (generated once on the host; see tests/test_fixed.py for the formulas).
from lander.compat import const

INT_MAX = const(0x3FFFFFFF)
INT_MIN = const(-0x3FFFFFFF)

_LIMB = const(0x7FFF)      # 15-bit limb mask
_SMALL = const(0x8000)     # |a|,|b| < 2^15  =>  a*b < 2^30


def clamp(x, lo, hi):
    if x < lo:
        return lo
    if x > hi:
        return hi
    return x


def add_sat(a, b):
    """a + b saturated to [INT_MIN, INT_MAX]."""
    if b > 0:
        if a > INT_MAX - b:
            return INT_MAX
    elif a < INT_MIN - b:
        return INT_MIN
    return a + b


def sub_sat(a, b):
    """a - b saturated to [INT_MIN, INT_MAX]."""
    if b < 0:
        if a > INT_MAX + b:
            return INT_MAX
    elif a < INT_MIN + b:
        return INT_MIN
    return a - b


def mul_shift(a, b, s):
    """floor(a * b / 2^s), saturated; s in 0..45. Safe for any |a|, |b| < 2^30."""
    if -_SMALL < b < _SMALL:
        if -_SMALL < a < _SMALL:
            return (a * b) >> s
        if s >= 15:
            # a = ah*2^15 + al (al >= 0): floor((ah*b*2^15 + al*b) / 2^s)
            return ((a >> 15) * b + (((a & _LIMB) * b) >> 15)) >> (s - 15)
    elif -_SMALL < a < _SMALL and s >= 15:
        return ((b >> 15) * a + (((b & _LIMB) * a) >> 15)) >> (s - 15)
    return _mul_shift_wide(a, b, s)


def _mul_shift_wide(a, b, s):
    neg = False
    if a < 0:
        a = -a
        neg = True
    if b < 0:
        b = -b
        neg = not neg
    ah = a >> 15
    al = a & _LIMB
    bh = b >> 15
    bl = b & _LIMB
    ll = al * bl
    m1 = ah * bl
    m2 = al * bh
    hh = ah * bh
    # Sum the partial products in base 2^15 limbs: p = l3 l2 l1 l0.
    t = (ll >> 15) + (m1 & _LIMB) + (m2 & _LIMB)
    l1 = t & _LIMB
    t = (t >> 15) + (m1 >> 15) + (m2 >> 15) + (hh & _LIMB)
    l2 = t & _LIMB
    l3 = (t >> 15) + (hh >> 15)
    hi = (l3 << 15) | l2               # p >> 30
    lo = (l1 << 15) | (ll & _LIMB)     # p mod 2^30
    if s >= 30:
        q = hi >> (s - 30)
        exact = lo == 0 and (q << (s - 30)) == hi
    else:
        if hi >> s:
            return INT_MIN if neg else INT_MAX
        q = (hi << (30 - s)) | (lo >> s)
        exact = ((lo >> s) << s) == lo
    if neg:
        if exact:
            return -q
        if q >= INT_MAX:
            return INT_MIN
        return -q - 1
    return q


def mul_q15(a, k_q15):
    """a * k where k is a Q15 fraction (1.0 = 32768); floor."""
    return mul_shift(a, k_q15, 15)


def div_shift(a, b, s):
    """floor(a * 2^s / b), saturated; b == 0 saturates toward the sign of a."""
    if b == 0:
        return INT_MIN if a < 0 else INT_MAX
    neg = (a < 0) != (b < 0)
    if a < 0:
        a = -a
    if b < 0:
        b = -b
    if s <= 30 and (a >> (30 - s)) == 0:
        n = a << s
        q = n // b
        r = n - q * b
    else:
        q = a // b
        r = a - q * b
        # Shift s more quotient bits in, in chunks of k bits with r << k < 2^30.
        if b < 0x8000:
            k = 15
        elif b < 0x400000:
            k = 8
        elif b < 0x2000000:
            k = 5
        else:
            k = 1
        while s > 0:
            if k > s:
                k = s
            if q >> (30 - k):
                return INT_MIN if neg else INT_MAX
            if b >= 0x20000000:
                # 2r may not fit: compare r with b - r instead.
                q <<= 1
                if r >= b - r:
                    r = r - (b - r)
                    q += 1
                else:
                    r = r + r
            else:
                n = r << k
                d = n // b
                r = n - d * b
                q = (q << k) + d
            s -= k
    if neg:
        if r == 0:
            return -q
        if q >= INT_MAX:
            return INT_MIN
        return -q - 1
    if q > INT_MAX:
        return INT_MAX
    return q


def isqrt(n):
    """floor(sqrt(n)) for 0 <= n < 2^30 (digit by digit, no division)."""
    if n <= 0:
        return 0
    res = 0
    bit = 0x10000000  # highest power of 4 below 2^30
    while bit > n:
        bit >>= 2
    while bit:
        t = res + bit
        if n >= t:
            n -= t
            res = (res >> 1) + bit
        else:
            res >>= 1
        bit >>= 2
    return res


def hypot(a, b):
    """sqrt(a^2 + b^2) within 2 parts in 10^4 (inputs scaled down), saturated."""
    if a < 0:
        a = -a
    if b < 0:
        b = -b
    k = 0
    while a >= 0x5A82 or b >= 0x5A82:   # 23170^2 * 2 < 2^30
        a >>= 1
        b >>= 1
        k += 1
    r = isqrt(a * a + b * b)
    if r > (INT_MAX >> k):
        return INT_MAX
    return r << k


def lowpass(state, sample, shift):
    """First-order low-pass: state + (sample - state) / 2^shift (floor)."""
    return state + (sub_sat(sample, state) >> shift)


# --- trigonometry on the binary angle (2^16 per turn) ----------------------
# sin over a quarter turn, 256 segments, in Q17 (1.0 = 131072) so that the
# single rounding to Q15 happens after interpolation: |error| < 0.8 LSB.
# Entry i = round(131072 * sin(i * pi / 512)).
_SIN_Q17 = (
    0, 804, 1608, 2413, 3217, 4021, 4824, 5628, 6431, 7235,
    8037, 8840, 9642, 10444, 11246, 12047, 12847, 13647, 14447, 15246,
    16045, 16843, 17640, 18436, 19232, 20027, 20822, 21615, 22408, 23200,
    23991, 24782, 25571, 26359, 27147, 27933, 28718, 29502, 30285, 31067,
    31848, 32627, 33406, 34183, 34959, 35733, 36506, 37278, 38048, 38817,
    39585, 40350, 41115, 41878, 42639, 43399, 44157, 44913, 45668, 46421,
    47172, 47922, 48669, 49415, 50159, 50901, 51641, 52380, 53116, 53850,
    54582, 55312, 56041, 56766, 57490, 58212, 58931, 59649, 60364, 61076,
    61787, 62495, 63201, 63904, 64605, 65304, 66000, 66693, 67384, 68073,
    68759, 69442, 70123, 70801, 71477, 72150, 72820, 73487, 74152, 74813,
    75472, 76128, 76782, 77432, 78079, 78724, 79366, 80004, 80640, 81272,
    81902, 82528, 83151, 83771, 84388, 85002, 85613, 86220, 86824, 87425,
    88023, 88617, 89208, 89795, 90379, 90960, 91538, 92111, 92682, 93249,
    93812, 94372, 94929, 95481, 96030, 96576, 97118, 97656, 98191, 98722,
    99249, 99772, 100292, 100808, 101320, 101828, 102333, 102833, 103330, 103823,
    104312, 104797, 105278, 105755, 106228, 106697, 107162, 107624, 108081, 108534,
    108982, 109427, 109868, 110304, 110737, 111165, 111589, 112009, 112424, 112836,
    113243, 113645, 114044, 114438, 114828, 115214, 115595, 115972, 116345, 116713,
    117077, 117436, 117791, 118142, 118488, 118829, 119166, 119499, 119827, 120151,
    120470, 120785, 121095, 121400, 121701, 121997, 122289, 122576, 122859, 123137,
    123410, 123679, 123943, 124202, 124457, 124706, 124952, 125192, 125428, 125659,
    125886, 126107, 126324, 126536, 126744, 126946, 127144, 127337, 127525, 127709,
    127887, 128061, 128230, 128394, 128553, 128708, 128858, 129002, 129142, 129277,
    129408, 129533, 129653, 129769, 129880, 129985, 130086, 130182, 130273, 130360,
    130441, 130517, 130589, 130655, 130717, 130774, 130825, 130872, 130914, 130951,
    130983, 131010, 131033, 131050, 131062, 131070, 131072,
)

# atan over ratios 0..1, 256 segments, in 1/16 angle units.
# Entry i = round(16 * 65536 / (2 pi) * atan(i / 256)).
_ATAN_X16 = (
    0, 652, 1304, 1956, 2607, 3259, 3911, 4562, 5213, 5865,
    6516, 7166, 7817, 8467, 9117, 9767, 10417, 11066, 11715, 12363,
    13012, 13659, 14307, 14954, 15600, 16246, 16891, 17536, 18181, 18825,
    19468, 20111, 20753, 21395, 22036, 22676, 23315, 23954, 24593, 25230,
    25867, 26503, 27138, 27772, 28406, 29039, 29671, 30302, 30932, 31561,
    32190, 32817, 33444, 34069, 34694, 35318, 35940, 36562, 37182, 37802,
    38420, 39038, 39654, 40269, 40884, 41497, 42108, 42719, 43329, 43937,
    44544, 45150, 45755, 46358, 46960, 47561, 48161, 48760, 49357, 49953,
    50547, 51140, 51732, 52323, 52912, 53500, 54087, 54672, 55255, 55838,
    56419, 56998, 57576, 58153, 58728, 59302, 59874, 60445, 61014, 61582,
    62148, 62713, 63276, 63838, 64398, 64957, 65514, 66070, 66624, 67177,
    67728, 68278, 68826, 69372, 69917, 70460, 71002, 71542, 72080, 72617,
    73152, 73686, 74218, 74748, 75277, 75804, 76330, 76854, 77376, 77897,
    78416, 78934, 79449, 79963, 80476, 80987, 81496, 82004, 82510, 83014,
    83517, 84018, 84517, 85015, 85511, 86005, 86498, 86989, 87478, 87966,
    88452, 88937, 89419, 89901, 90380, 90858, 91334, 91809, 92282, 92753,
    93222, 93690, 94157, 94621, 95084, 95546, 96006, 96464, 96920, 97375,
    97828, 98280, 98730, 99178, 99625, 100070, 100513, 100955, 101395, 101834,
    102271, 102707, 103140, 103573, 104003, 104432, 104860, 105286, 105710, 106133,
    106554, 106973, 107391, 107808, 108223, 108636, 109048, 109458, 109867, 110274,
    110679, 111083, 111486, 111887, 112286, 112684, 113081, 113476, 113869, 114261,
    114651, 115040, 115428, 115814, 116198, 116581, 116963, 117343, 117722, 118099,
    118474, 118849, 119221, 119593, 119963, 120331, 120698, 121064, 121428, 121791,
    122152, 122512, 122871, 123228, 123584, 123939, 124292, 124643, 124994, 125343,
    125690, 126037, 126382, 126725, 127068, 127408, 127748, 128086, 128423, 128759,
    129093, 129426, 129758, 130088, 130418, 130745, 131072,
)


def sin_q15(angle):
    """sin of a binary angle (2^16 per turn), Q15 (1.0 = 32768), rounded."""
    angle &= 0xFFFF
    quadrant = angle >> 14
    a = angle & 0x3FFF
    if quadrant & 1:
        a = 0x4000 - a
    i = a >> 6
    f = a & 63
    if f == 0:
        v = (_SIN_Q17[i] + 2) >> 2
    else:
        base = _SIN_Q17[i]
        v = ((base << 6) + (_SIN_Q17[i + 1] - base) * f + 128) >> 8
    if quadrant & 2:
        return -v
    return v


def cos_q15(angle):
    return sin_q15((angle & 0xFFFF) + 0x4000)


def _atan_unit(ratio_q16):
    # atan(ratio) in angle units for 0 <= ratio <= 1 (Q16), rounded.
    i = ratio_q16 >> 8
    f = ratio_q16 & 255
    base = _ATAN_X16[i]
    if f == 0:
        return (base + 8) >> 4
    return ((base << 8) + (_ATAN_X16[i + 1] - base) * f + 2048) >> 12


def atan2(y, x):
    """Binary angle of the vector (x, y), in [-32768, 32768]; atan2(0, 0) = 0."""
    ax = -x if x < 0 else x
    ay = -y if y < 0 else y
    if ax == 0 and ay == 0:
        return 0
    if ax >= ay:
        a = _atan_unit(div_shift(ay, ax, 16))
    else:
        a = 0x4000 - _atan_unit(div_shift(ax, ay, 16))
    if x < 0:
        a = 0x8000 - a
    if y < 0:
        return -a
    return a
