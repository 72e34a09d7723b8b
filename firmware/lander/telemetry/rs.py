# CCSDS Reed-Solomon encoder (CCSDS 131.0-B, TM Synchronization and Channel
# Coding, section 4): RS(255, 255-2E) over GF(2^8), E = 8 or 16,
#   field generator     F(x) = x^8 + x^7 + x^2 + x + 1            (0x187)
#   code generator      g(x) = prod_{j=128-E}^{127+E} (x - alpha^(11 j))
#   symbols on the wire in Berlekamp's dual basis (the "T" transform),
#   shortened by virtual fill (the fill is zeros that are never sent: encoding
#   starts from a zero register, so leading zeros change nothing),
#   interleaving depth 1.
#
# Incremental: feed(b) takes one symbol (dual basis, as it goes on the wire) at
# a time, so the cost of a codeblock is spread over the cycles that send it.
# The 2E-symbol parity register is kept as 24-bit words (3 symbols a word, all
# small ints on a 32-bit port); one lookup of a precomputed word table per word
# replaces 2E finite-field products: a symbol costs ceil(2E/3) word updates.
# Tables are built once at start-up (allocation there only).
from array import array

from lander.compat import const

_PRIM = const(0x187)


def _gf_tables():
    exp = bytearray(512)
    log = array("H", bytes(512))
    x = 1
    for i in range(255):
        exp[i] = x
        log[x] = i
        x <<= 1
        if x & 0x100:
            x ^= _PRIM
    for i in range(255, 512):
        exp[i] = exp[i - 255]
    return exp, log


EXP, LOG = _gf_tables()


def gf_mul(a, b):
    if a == 0 or b == 0:
        return 0
    return EXP[LOG[a] + LOG[b]]


# Dual-basis transform (131.0-B annex F): row i of the matrix T gives the
# dual-basis contribution of conventional bit 7-i. TAL[conventional] = dual,
# TAL1[dual] = conventional.
_T_ROWS = (0x8D, 0xEF, 0xEC, 0x86, 0xFA, 0x99, 0xAF, 0x7B)


def _dual_tables():
    tal = bytearray(256)
    tal1 = bytearray(256)
    for i in range(256):
        v = 0
        for k in range(8):
            if i & (1 << k):
                v ^= _T_ROWS[7 - k]
        tal[i] = v
        tal1[v] = i
    return tal, tal1


TAL, TAL1 = _dual_tables()


def generator_poly(e):
    """Coefficients g[0..2E] (g[2E] = 1) of the code generator, conventional basis."""
    n = 2 * e
    g = [1] + [0] * n
    for j in range(128 - e, 128 + e):
        root = EXP[(11 * j) % 255]
        # g(x) *= (x + root)
        for i in range(n, 0, -1):
            g[i] = g[i - 1] ^ gf_mul(g[i], root)
        g[0] = gf_mul(g[0], root)
    return g


class RsEncoder:
    """Systematic CCSDS RS encoder fed one dual-basis symbol at a time."""

    def __init__(self, e=8):
        if e not in (8, 16):
            raise ValueError("RS E must be 8 or 16")
        self.e = e
        n = 2 * e
        self.nroots = n
        nw = (n + 2) // 3
        self.nw = nw
        g = generator_poly(e)
        # parity register symbol j (0 = first sent) after a step with feedback f:
        #   p'[j] = p[j+1] ^ f * g[n-1-j]    (p[n] = 0)
        tab = array("i", bytes(4 * 256 * nw))
        for f in range(256):
            for j in range(n):
                c = gf_mul(f, g[n - 1 - j])
                k = j // 3
                tab[f * nw + k] |= c << (16 - 8 * (j - 3 * k))
        self._tab = tab
        self._w = array("i", bytes(4 * nw))
        self.parity = bytearray(n)            # dual basis, filled by finish()

    def reset(self):
        w = self._w
        for k in range(self.nw):
            w[k] = 0

    def feed(self, b):
        """One data symbol (dual basis, 0..255)."""
        w = self._w
        nw1 = self.nw - 1
        base = (TAL1[b] ^ (w[0] >> 16)) * (nw1 + 1)
        tab = self._tab
        for k in range(nw1):
            w[k] = (((w[k] & 0xFFFF) << 8) | (w[k + 1] >> 16)) ^ tab[base + k]
        w[nw1] = ((w[nw1] & 0xFFFF) << 8) ^ tab[base + nw1]

    def finish(self):
        """Parity (dual basis) of the symbols fed since reset() into self.parity."""
        w = self._w
        p = self.parity
        for j in range(self.nroots):
            k = j // 3
            p[j] = TAL[(w[k] >> (16 - 8 * (j - 3 * k))) & 0xFF]
        return p
