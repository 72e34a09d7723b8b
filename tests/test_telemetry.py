"""Telemetry on board (packets, frames, RS, black box, scheduler) checked
against independent code: reedsolo, crcmod, spacepackets, and closed forms."""
import random

import crcmod.predefined
import numpy as np
import pytest
import reedsolo
from spacepackets.ccsds.spacepacket import SpacePacketHeader

from host_tools.ground import decode as ground
from lander.telemetry import packets as P
from lander.telemetry import rs

_crc = crcmod.predefined.mkCrcFun("crc-ccitt-false")


# ---------------------------------------------------------------- Reed-Solomon

def _trace(z):
    t, x = 0, z
    for _ in range(8):
        t ^= x
        x = rs.gf_mul(x, x)
    return t


def test_dual_basis_transform_is_the_trace_dual_of_powers_of_alpha_117():
    # Independent construction of 131.0-B's Berlekamp representation: dual-basis
    # bit 7-k of z is Tr(z * alpha^(117 k)) (the dual of the basis {beta^k},
    # beta = alpha^117, scaled); every one of the 256 symbols must agree.
    for z in range(256):
        want = 0
        for k in range(8):
            if z and _trace(rs.gf_mul(z, rs.EXP[(117 * k) % 255])):
                want |= 1 << (7 - k)
        assert rs.TAL[z] == want
        assert rs.TAL1[want] == z


@pytest.mark.parametrize("e", [8, 16])
def test_rs_parity_matches_reedsolo_for_the_ccsds_code(e):
    # reedsolo: field 0x187, generator alpha^11, first consecutive root 128-E,
    # shortened (a 128-octet message); our encoder is fed one symbol at a time
    # in the dual basis, so reedsolo sees the message and parity transformed.
    codec = reedsolo.RSCodec(2 * e, nsize=255, fcr=128 - e, prim=0x187, generator=rs.EXP[11], c_exp=8)
    rng = random.Random(e)
    for _ in range(5):
        data = bytes(rng.randrange(256) for _ in range(128))
        enc = rs.RsEncoder(e)
        for b in data:
            enc.feed(b)
        ours = bytes(enc.finish())
        conv = bytes(rs.TAL1[b] for b in data)
        theirs = bytes(rs.TAL[b] for b in codec.encode(conv)[-2 * e:])
        assert ours == theirs


# A published CCSDS RS(255,223) codeblock, interleave depth 5, dual basis: the
# test vector of Dario Lucia's open CCSDS library (github.com/dariol83/ccsds,
# Apache-2.0), eu.dariolucia.ccsds.tmtc/src/test/java/eu/dariolucia/ccsds/tmtc/
# algorithm/ReedSolomonAlgorithmTest.java, `testFrame` / `encodedTestFrame`
# (added 2019-06-20, commit 49e5ca6; read at 8c1f966). The 1115-octet TM frame
# is zeros except the octet runs below (frame header, then four space-packet
# headers); the codeblock is the frame followed by 5 x 32 check symbols, the
# symbols of codeword j at positions j, j + 5, j + 10, ... (131.0-B 4.3.7).
# (The same library's TmDecoderTest EXPECTED_TM, a randomised CADU, agrees too.)
_PUB_RUNS = ((0, "07B11A15185F"), (101, "0C6AC03A0125"), (401, "0C6AC03B0125"),
             (701, "0C6AC03C0125"), (1001, "0C6AC03D0125"))
_PUB_CHECK = bytes.fromhex(
    "FAD47CE809B8EBA844984DFD7D37F544A7F62C75D0FF97937FFE5A5CD424B92D2ACCFF0AEFAB0977"
    "918FCBA0DBDD54E657DC0098CE8B95E0B6398D1AAA177FA134E866B4645EC4C9AD9365954549C85D"
    "6BD363F000DA9CC26E48F067EEDD1A859967FA1120F27484FF3CA64012391C76AA7C38AA19F11C4C"
    "F54C9EA3AD5B83AB09895E6F9BBB416B329C15E3CB9F4019D637081154E182A8ACA395ED45A267CE")


def _published_codewords():
    frame = bytearray(1115)
    for at, octets in _PUB_RUNS:
        b = bytes.fromhex(octets)
        frame[at:at + len(b)] = b
    block = bytes(frame) + _PUB_CHECK
    return [block[j::5] for j in range(5)]      # 5 codewords of 223 + 32 symbols


def test_rs_encoder_reproduces_a_published_ccsds_codeblock():
    for cw in _published_codewords():
        enc = rs.RsEncoder(16)
        for b in cw[:223]:
            enc.feed(b)
        assert bytes(enc.finish()) == cw[223:]


def test_reedsolo_with_the_dual_basis_transform_reproduces_the_published_codeblock():
    # the configuration the other RS tests use as their independent reference
    codec = reedsolo.RSCodec(32, nsize=255, fcr=112, prim=0x187, generator=rs.EXP[11], c_exp=8)
    for cw in _published_codewords():
        conv = bytes(rs.TAL1[b] for b in cw[:223])
        assert bytes(rs.TAL[b] for b in codec.encode(conv)[-32:]) == cw[223:]


@pytest.mark.parametrize("e", [8, 16])
def test_ground_syndrome_check_agrees_with_reedsolo_on_codewords_and_corrupted_words(e):
    # The ground decoder's fast path (all 2E syndromes zero -> no decoding) must
    # call a word a codeword exactly when reedsolo's own check does: clean
    # shortened codewords of several lengths pass, any 1..E corrupted symbols
    # (data or parity) do not, and a clean frame comes back unchanged with 0
    # corrections.
    codec = ground.rs_codec(e)
    rng = random.Random(100 + e)
    for k in (1, 64, 128, 255 - 2 * e):
        data = bytes(rng.randrange(256) for _ in range(k))
        word = bytearray(codec.encode(bytes(rs.TAL1[b] for b in data)))
        assert codec.check(bytes(word)) == [True]
        assert ground._syndromes_zero(np.frombuffer(bytes(word), np.uint8), e)
        wire = bytes(rs.TAL[b] for b in word)
        assert ground.rs_decode(wire, e) == (data, 0)
        for n_err in (1, 2, e):
            bad = bytearray(word)
            for pos in rng.sample(range(len(bad)), n_err):
                bad[pos] ^= rng.randrange(1, 256)
            assert codec.check(bytes(bad)) == [False]
            assert not ground._syndromes_zero(np.frombuffer(bytes(bad), np.uint8), e)
            fixed, corrected = ground.rs_decode(bytes(rs.TAL[b] for b in bad), e)
            assert (fixed, corrected) == (data, n_err)


def test_rs_all_zero_block_has_zero_parity_and_a_single_symbol_has_the_generator_as_parity():
    # closed forms: the code is linear (zero -> zero); the message 0..0 1 (last
    # symbol 1, conventional) has parity = x^2E mod g(x) = g(x) - x^2E.
    e = 8
    enc = rs.RsEncoder(e)
    for _ in range(10):
        enc.feed(0)
    assert bytes(enc.finish()) == bytes(16)
    enc.reset()
    enc.feed(rs.TAL[1])
    g = rs.generator_poly(e)          # g[0..16], g[16] = 1, g[k] coefficient of x^k
    want = bytes(rs.TAL[g[2 * e - 1 - j]] for j in range(2 * e))
    assert bytes(enc.finish()) == want


# ---------------------------------------------------------------- frames, packets

class _Src:
    """A packet source for the framer: numbered critical-length packets."""

    def __init__(self, enc):
        self.enc = enc
        self.n = 0

    def next_packet(self, buf, room):
        self.n += 1
        return self.enc.build(0, buf, self.n, 0)


def _framer_stream(nbytes, rs_e=8, frame_len=128):
    from lander.telemetry.encoder import PacketEncoder
    from lander.telemetry.frames import Framer

    enc = PacketEncoder([None] * P.N_SOURCES)
    fr = Framer(_Src(enc), frame_len, rs_e)
    out = bytearray(64)
    stream = bytearray()
    while len(stream) < nbytes:
        fr.pump(out, 7)
        stream += out[:7]
    return bytes(stream)


def test_frames_carry_asm_fecf_and_counters_checked_by_crcmod():
    cadu = 4 + 128 + 16
    s = _framer_stream(cadu * 6)
    for k in range(6):
        c = s[k * cadu:(k + 1) * cadu]
        assert c[:4] == bytes.fromhex("1ACFFC1D")
        frame = c[4:4 + 128]
        assert _crc(frame[:-2]) == (frame[-2] << 8 | frame[-1])
        assert frame[0] >> 6 == 0                           # version 1 (00)
        assert ((frame[0] & 0x3F) << 4 | frame[1] >> 4) == 0x0C3
        assert frame[2] == k and frame[3] == k              # MC and VC counters
        assert frame[4] & 0xF8 == 0x18                      # segment length id 11


def test_first_header_pointer_points_at_the_packet_that_starts_in_the_frame():
    cadu, dlen = 148, 120
    plen = P.packet_len(P.CRITICAL)
    s = _framer_stream(cadu * 8)
    for k in range(8):
        frame = s[k * cadu + 4:k * cadu + 132]
        fhp = (frame[4] & 7) << 8 | frame[5]
        # packets are back to back from octet 0 of frame 0
        first = (-(k * dlen)) % plen
        assert fhp == (first if first < dlen else 0x7FF)


def test_packets_parse_with_spacepackets_and_counts_are_continuous():
    res = ground.decode(_framer_stream(148 * 20))
    assert res.stats["frames_ok"] == 20 - 1 or res.stats["frames_ok"] == 20
    crit = [p for p in res.packets if p["apid"] == P.APID_CRITICAL]
    assert len(crit) > 15
    # header fields read by spacepackets on the raw bytes again
    raw = _framer_stream(148 * 2)
    data = raw[4 + 6:4 + 6 + 120]
    h = SpacePacketHeader.unpack(data[:6])
    assert (h.apid, h.seq_count, h.data_len + 1, h.sec_header_flag) == (
        P.APID_CRITICAL, 0, P.packet_len(P.CRITICAL) - 6, True)
    assert [p["seq"] for p in crit] == list(range(crit[0]["seq"], crit[0]["seq"] + len(crit)))
    # CUC coarse time = the number the source put there (1, 2, 3...)
    assert [p["time_s"] for p in crit[:3]] == [1.0, 2.0, 3.0]


def test_decoder_resynchronises_within_one_frame_after_garbage_and_a_bit_slip():
    cadu = 148
    s = bytearray(_framer_stream(cadu * 12))
    rng = random.Random(3)
    garbage = bytes(rng.randrange(256) for _ in range(333))
    # a bit slip inside frame 5: drop one bit, every later bit moves up
    bits = np.unpackbits(np.frombuffer(bytes(s), np.uint8))
    bits = np.delete(bits, 5 * cadu * 8 + 300)
    bits = np.concatenate([bits, np.zeros(7, np.uint8)])
    slipped = np.packbits(bits).tobytes()
    stream = garbage + slipped
    res = ground.decode(stream)
    mcs = [f["mc"] for f in res.frames]
    # only the frame hit by the slip is lost; the rest decode, garbage skipped
    assert mcs == [0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11]
    assert res.stats["frames_lost"] == 1
    assert res.stats["bits_skipped"] >= 8 * len(garbage)


def test_decoder_corrects_symbol_errors_and_counts_them():
    s = bytearray(_framer_stream(148 * 4))
    for k, n in ((0, 3), (1, 8)):
        for j in range(n):
            s[k * 148 + 20 + 9 * j] ^= 0x5A
    res = ground.decode(bytes(s))
    assert [f["corrected"] for f in res.frames[:3]] == [3, 8, 0]
    assert res.stats["symbols_corrected"] == 11


def test_a_frame_with_more_errors_than_rs_can_correct_is_never_accepted():
    s = bytearray(_framer_stream(148 * 4))
    for j in range(12):
        s[148 + 20 + 9 * j] ^= 0xA5
    res = ground.decode(bytes(s))
    assert [f["mc"] for f in res.frames] == [0, 2, 3]
    assert res.stats["frames_bad_rs"] + res.stats["frames_bad_crc"] >= 1
