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
    n = a * a + b * b
    if n == 0:
        return 0
    # floor(sqrt(n)) by Newton's iteration from above: exact from any start
    # >= it, and max + min / 2 + 1 >= sqrt(max^2 + min^2); a few steps where
    # isqrt's digit loop takes 15 (~15 k fuel less on control's geometry)
    r = a + (b >> 1) + 1 if a > b else b + (a >> 1) + 1
    y = (r + n // r) >> 1
    while y < r:
        r = y
        y = (r + n // r) >> 1
    if r > (INT_MAX >> k):
        return INT_MAX
    return r << k


# --- trigonometry on the binary angle (2^16 per turn) ----------------------
# Two tables of 257 entries, each a smooth curve from 0: stored as the first
# step and then each next step's change (the second difference, -6..1, one
# ASCII digit each: digit - 6), and added up once at import into a tuple (the
# form the lookups below index: fuel per cycle unchanged). As tuples of
# literals they were 3.9 k of the .mpy (mpy-cross writes each int constant
# as its decimal text); this way 0.6 k. tests/test_mut_firmware.py checks
# every entry against its formula.
def _table(step, changes):
    t = [0, step]
    for c in changes:
        step += c - 54          # ord("6") = 54: digit 6 is no change
        t.append(t[-1] + step)
    return tuple(t)


# sin over a quarter turn, 256 segments, in Q17 (1.0 = 131072) so that the
# single rounding to Q15 happens after interpolation: |error| < 0.8 LSB.
# Entry i = round(131072 * sin(i * pi / 512)).
_SIN_Q17 = _table(804, (
    b"6756575747566556656555656465564564555554645455455364454454453544"
    b"4534445254353353434433443343433342434234324242333332333232333142"
    b"2331332232223222313222222223121321312213113122122121221122121211"
    b"212121121120302120212021120211121021201210211201202102111120120"))

# atan over ratios 0..1, 256 segments, in 1/16 angle units.
# Entry i = round(16 * 65536 / (2 pi) * atan(i / 256)).
_ATAN_X16 = _table(652, (
    b"6657656755756665657475565665565655566465556555556464654646464564"
    b"4654555455554545554554464455454545454545454545445454454544545445"
    b"4535544544544544544545363545444553554445454454454545363554454455"
    b"445454455445544545544554544636445545455455446446446364554554636"))


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
