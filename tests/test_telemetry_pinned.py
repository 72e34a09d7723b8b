"""The downlink's octets pinned against an independent construction: whole
CADU streams (ASM, frame header, first header pointer at and around its
edges, the data field, the FECF by binascii.crc_hqx, the Reed-Solomon parity
by reedsolo in the dual basis) for E = 8, E = 16 and no RS, any pump size;
the framer's configuration bounds and counters; the GF(2^8) and dual-basis
tables from their definitions; the packet encoder's primary header, idle
packet, counters and look-ups."""
import binascii
import struct

import pytest
import reedsolo

from lander.telemetry import packets as P
from lander.telemetry import rs
from lander.telemetry.encoder import PacketEncoder
from lander.telemetry.frames import Framer

ASM = bytes.fromhex("1ACFFC1D")


# ------------------------------------------------------ GF(2^8) and dual basis
def _gf_mul(a, b):
    """Carry-less product modulo F(x) = x^8 + x^7 + x^2 + x + 1."""
    p = 0
    while b:
        if b & 1:
            p ^= a
        b >>= 1
        a <<= 1
        if a & 0x100:
            a ^= 0x187
    return p


def test_the_field_tables_are_the_powers_of_alpha_modulo_0x187():
    exp, log = rs._gf_tables()
    assert len(exp) == 512 and len(log) == 256
    x = 1
    for i in range(255):
        assert exp[i] == x, i
        assert log[x] == i, x
        x = _gf_mul(x, 2)
    assert x == 1                                     # alpha has order 255
    assert bytes(exp[255:510]) == bytes(exp[0:255])
    assert exp[510] == exp[0] and exp[511] == exp[1]
    assert log[0] == 0


def _trace(z):
    t = 0
    for _ in range(8):
        t ^= z
        z = _gf_mul(z, z)
    return t


def test_the_dual_basis_tables_are_the_trace_dual_of_powers_of_alpha_117():
    tal, tal1 = rs._dual_tables()
    assert len(tal) == len(tal1) == 256
    beta = [1]
    for _ in range(7):
        beta.append(_gf_mul(beta[-1], rs.EXP[117]))
    for z in range(256):
        want = 0
        for k in range(8):
            if _trace(_gf_mul(z, beta[k])):
                want |= 1 << (7 - k)
        assert tal[z] == want, z
        assert tal1[want] == z, z


def test_the_rs_encoder_defaults_to_e_8_and_refuses_other_e():
    enc = rs.RsEncoder()
    assert (enc.e, enc.nroots, len(enc.parity)) == (8, 16, 16)
    assert rs.RsEncoder(16).e == 16
    for e in (0, 4, 9, 32):
        with pytest.raises(ValueError, match="^RS E must be 8 or 16$"):
            rs.RsEncoder(e)


# ---------------------------------------------------------- the CADU stream
def _payload(i, n):
    return bytes(((i * 31 + j * 7) ^ (j >> 3)) & 0xFF for j in range(n))


class Source:
    """Packets of the given lengths in turn, numbered; records each room."""

    def __init__(self, lengths):
        self.lengths = lengths
        self.i = 0
        self.rooms = []

    def next_packet(self, buf, room):
        n = self.lengths[self.i % len(self.lengths)]
        buf[:n] = _payload(self.i, n)
        self.rooms.append(room)
        self.i += 1
        return n


def _codec(e):
    return reedsolo.RSCodec(2 * e, nsize=255, fcr=128 - e, prim=0x187, generator=rs.EXP[11],
                            c_exp=8)


def reference(lengths, nframes, frame_len, rs_e, scid, vcid):
    """The CADUs of the packet stream, built from 132.0-B / 131.0-B, and the
    rooms the framer must offer: the data-field octets left where each
    packet starts."""
    dl = frame_len - 8
    stream = bytearray()
    starts = []
    rooms = []
    i = 0
    while len(stream) < nframes * dl:
        starts.append(len(stream))
        rooms.append(dl - len(stream) % dl)
        stream += _payload(i, lengths[i % len(lengths)])
        i += 1
    out = bytearray()
    codec = _codec(rs_e) if rs_e else None
    for k in range(nframes):
        first = [s for s in starts if k * dl <= s < (k + 1) * dl]
        fhp = first[0] - k * dl if first else 0x7FF
        hdr = bytes([scid >> 4, ((scid & 0xF) << 4) | (vcid << 1), k & 0xFF, k & 0xFF,
                     0x18 | (fhp >> 8), fhp & 0xFF])
        frame = hdr + bytes(stream[k * dl:(k + 1) * dl])
        frame += struct.pack(">H", binascii.crc_hqx(frame, 0xFFFF))
        out += ASM + frame
        if codec is not None:
            conv = bytes(rs.TAL1[b] for b in frame)
            out += bytes(rs.TAL[b] for b in codec.encode(conv)[-2 * rs_e:])
    return bytes(out), rooms[:len(starts)]


def pumped(lengths, nframes, frame_len, rs_e, scid, vcid, chunk):
    src = Source(lengths)
    fr = Framer(src, frame_len, rs_e, scid, vcid)
    total = nframes * fr.cadu_len
    out = bytearray(max(chunk, 1))
    got = bytearray()
    while len(got) < total:
        n = min(chunk, total - len(got))
        fr.pump(out, n)
        got += out[:n]
    return bytes(got), src, fr


# 120-octet data field: 239 leaves 119 for the next frame (the pointer's
# last value), 241 then spans a whole frame (no header: 0x7FF) and leaves
# exactly 120 (0x7FF again, then a packet at octet 0); 250 from mid-frame
# spans a frame too; short ones put several headers in one frame.
LENGTHS = [239, 241, 7, 100, 250, 13, 60, 256, 33]


@pytest.mark.parametrize("frame_len,rs_e,scid,vcid,chunk", [
    (128, 8, 0x0C3, 0, 7),
    (128, 8, 0x3FF, 5, 1),
    (128, 8, 0x2A5, 7, 1000),
    (223, 16, 0x155, 3, 5),
    (223, 16, 0x001, 1, 1000),
    (64, 0, 0x200, 2, 3),
])
def test_the_cadu_stream_is_the_independently_built_one(frame_len, rs_e, scid, vcid, chunk):
    # the 128-octet frames' data field is 120; the others follow the lengths too
    nframes = 12
    got, src, fr = pumped(LENGTHS, nframes, frame_len, rs_e, scid, vcid, chunk)
    want, rooms = reference(LENGTHS, nframes, frame_len, rs_e, scid, vcid)
    assert fr.cadu_len == 4 + frame_len + 2 * rs_e
    for k in range(nframes):
        c = fr.cadu_len
        assert got[k * c:(k + 1) * c] == want[k * c:(k + 1) * c], k
    assert src.rooms == rooms[:len(src.rooms)]
    assert fr.frames == nframes and fr.octets == len(got)


def test_the_first_header_pointer_edges_at_128_octet_frames():
    got, _, fr = pumped(LENGTHS, 6, 128, 8, 0x0C3, 0, 148)
    fhp = [((got[k * 148 + 8] & 7) << 8) | got[k * 148 + 9] for k in range(6)]
    # frame 0: a packet at 0; 1: 239 - 120 = 119 left; 2 and 3: the 241
    # (octets 239..479) covers both; 4: the 7 at 480; 5 (600..719): inside
    # the 250 of octets 587..836
    assert fhp == [0, 119, 0x7FF, 0x7FF, 0, 0x7FF]


def test_frame_counters_wrap_at_256():
    got, _, fr = pumped([7], 258, 16, 0, 0x0C3, 0, 1000)
    assert [got[k * 20 + 6] for k in (0, 1, 255, 256, 257)] == [0, 1, 255, 0, 1]
    assert [got[k * 20 + 7] for k in (0, 255, 256)] == [0, 255, 0]
    assert fr.frames == 258 and fr.octets == 258 * 20


def test_a_new_framer_has_counted_nothing_and_uses_the_defaults():
    fr = Framer(Source([7]))
    assert (fr.frames, fr.octets, fr.mc_count, fr.vc_count, fr.pos) == (0, 0, 0, 0, 0)
    assert (fr.frame_len, fr.data_len, fr.nparity, fr.cadu_len) == (128, 120, 16, 148)
    out = bytearray(148)
    fr.pump(out, 148)
    assert out[4:6] == bytes([0x0C3 >> 4, (0x0C3 & 0xF) << 4])     # SCID 0x0C3, VCID 0


@pytest.mark.parametrize("frame_len,rs_e,scid,ok", [
    (16, 0, 0, True), (15, 0, 0, False), (16, 8, 0, True),
    (239, 8, 0, True), (240, 8, 0, False), (223, 16, 0, True), (224, 16, 0, False),
    (1000, 0, 0, True),
    (128, 8, 1023, True), (128, 8, 1024, False), (128, 8, -1, False),
])
def test_the_framer_refuses_a_frame_that_cannot_be_coded(frame_len, rs_e, scid, ok):
    if ok:
        Framer(Source([7]), frame_len, rs_e, scid)
    else:
        with pytest.raises(ValueError, match="^frame config$"):
            Framer(Source([7]), frame_len, rs_e, scid)


# ------------------------------------------------------------ packet encoder
def _enc():
    return PacketEncoder([None] * P.N_SOURCES)


def test_a_primary_header_with_the_cuc_time_octet_by_octet():
    enc = _enc()
    buf = bytearray(b"\xEE" * 16)
    enc.header(0, buf, 300, 0x12345678, 0x9ABC)
    # APID 0x100, TM, secondary header; seq flags 11, count 0; length 300 - 7
    assert bytes(buf[:12]) == bytes([0x09, 0x00, 0xC0, 0x00, 0x01, 0x25,
                                     0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC])
    assert buf[12:] == b"\xEE" * 4


def test_the_sequence_count_is_per_apid_and_wraps_at_2_14():
    enc = _enc()
    buf = bytearray(12)
    enc.seq[2] = 0x1234
    enc.header(2, buf, 20, 0, 0)
    assert bytes(buf[:4]) == bytes([0x09, 0x02, 0xC0 | 0x12, 0x34])
    enc.seq[2] = 0x3FFF
    enc.header(2, buf, 20, 0, 0)
    assert bytes(buf[2:4]) == bytes([0xFF, 0xFF])
    assert enc.seq[2] == 0
    enc.header(1, buf, 20, 0, 0)
    assert enc.seq[1] == 1 and enc.seq[0] == 0


def test_packets_built_are_counted_per_packet_and_idle():
    enc = _enc()
    n = len(P.LAYOUTS)
    assert len(enc.counts) == len(enc.seq) == n + 1
    buf = bytearray(300)
    for _ in range(3):
        enc.build(1, buf, 0, 0)
    enc.idle(buf, 16)
    assert list(enc.counts) == [0, 3] + [0] * (n - 2) + [1]
    assert enc.seq[n] == 1


def test_an_idle_packet_is_apid_0x7ff_without_a_secondary_header_filled_with_0x55():
    enc = _enc()
    buf = bytearray(b"\xEE" * 24)
    assert enc.idle(buf, 20) == 20
    assert bytes(buf[:6]) == bytes([0x07, 0xFF, 0xC0, 0x00, 0x00, 20 - 7])
    assert bytes(buf[6:20]) == b"\x55" * 14
    assert bytes(buf[20:]) == b"\xEE" * 4
    enc.idle(buf, 7)
    assert bytes(buf[:7]) == bytes([0x07, 0xFF, 0xC0, 0x01, 0x00, 0x00, 0x55])


def test_index_of_finds_each_apid_and_not_others():
    enc = _enc()
    for i, (apid, _name, _t) in enumerate(P.LAYOUTS):
        assert enc.index_of(apid) == i
    assert enc.index_of(P.APID_IDLE) == -1
    assert enc.index_of(0x050) == -1


def test_the_black_box_record_is_compiled_after_the_packets():
    enc = _enc()
    assert enc.bb_index == len(P.LAYOUTS)
    size = {"B": 1, "b": 1, "H": 2, "h": 2, "I": 4, "i": 4}
    assert enc.bb_len == sum(size[f[1]] for f in P.BB_RECORD)
    assert len(enc._fields) == len(P.LAYOUTS) + 1


def test_a_table_line_with_two_comment_marks_ends_at_the_first():
    got = P.fields("alt i NAV altitude_mm -1 m -3  # a note # and another\n")
    assert got == (("alt", "i", P.S_NAV, "altitude_mm", -1, "m", -3),) or \
        list(got) == [("alt", "i", P.S_NAV, "altitude_mm", -1, "m", -3)]


def test_an_unknown_table_name_is_an_attribute_error_naming_it():
    with pytest.raises(AttributeError, match="^NOPE$"):
        P.NOPE  # noqa: B018


def test_an_indexed_one_octet_field_reads_its_element():
    class Ob:
        vals = [7, 300, -5]
    src = [None] * P.N_SOURCES
    src[P.S_APP] = Ob()
    enc = PacketEncoder(src)
    k = len(enc._fields)
    enc._compile(P.fields("a B APP vals 0 - 0\nb B APP vals 1 - 0\nc b APP vals 2 - 0\n"))
    buf = bytearray(4)
    assert enc.pack_fields(k, buf, 0) == 3
    assert bytes(buf[:3]) == bytes([7, 0xFF, 0xFB])          # 300 saturates to 255
