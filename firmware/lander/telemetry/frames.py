# CCSDS TM Transfer Frames (132.0-B-3) with FECF, Reed-Solomon (131.0-B) and
# the attached sync marker, produced a few octets at a time.
#
# On the air, one channel access data unit (CADU) after another:
#   ASM 1ACFFC1D | frame (frame_len octets) | RS parity (2E octets, dual basis)
# The frame:
#   primary header 6 octets: version 00, SCID (10 bits), VCID (3 bits),
#     OCF flag 0, master channel frame count, virtual channel frame count,
#     data field status: secondary header 0, sync 0, packet order 0,
#     segment length id 11, first header pointer (11 bits)
#   data field: frame_len - 8 octets of packets, packets spanning frames
#   FECF: CRC-16 (poly 0x1021, init 0xFFFF) over the header and data field
# The RS codeblock is the whole frame (shortened by virtual fill: 255-2E-frame_len
# leading zero symbols, never sent), interleave depth 1.
#
# First header pointer: the octet offset in the data field of the first packet
# header that starts in this frame; 0x7FF when none starts (a packet spans the
# whole data field). 0x7FE (only idle data) is never produced by this framer:
# every frame carries packets, idle packets (APID 0x7FF) when nothing is due.
#
# The frame's packets are not chosen when the frame starts: the data field is
# filled lazily, one octet at a time as the air time allows, and the next packet
# is built (by `source.next_packet(buf)`) when the previous one is used up. So a
# packet is sampled just before it is sent (latency: its own air time plus the
# rest of its frame), and the first header pointer is still known at the frame
# start: it is the number of octets left of the packet in progress.
from array import array

from lander.compat import const
from lander.drivers.storage import _TABLE as _CRC_TABLE
from lander.telemetry.rs import RsEncoder, TAL1

ASM0 = const(0x1A)
ASM1 = const(0xCF)
ASM2 = const(0xFC)
ASM3 = const(0x1D)
FHP_NO_HEADER = const(0x7FF)
FHP_IDLE_ONLY = const(0x7FE)
PACKET_MAX = const(256)
_NO_TABLE = array("i")


class Framer:
    def __init__(self, source, frame_len=128, rs_e=8, scid=0x0C3, vcid=0):
        if frame_len < 16 or (rs_e and frame_len > 255 - 2 * rs_e) or not 0 <= scid < 1024:
            raise ValueError("frame config")
        self.source = source
        self.frame_len = frame_len
        self.data_len = frame_len - 8
        self.rs = RsEncoder(rs_e) if rs_e else None
        self.nparity = 2 * rs_e
        self.cadu_len = 4 + frame_len + self.nparity
        self.scid = scid
        self.vcid = vcid
        self._hdr = bytearray(6)
        self.pkt = bytearray(PACKET_MAX)
        self.pkt_len = 0
        self.pkt_pos = 0
        self.pos = 0                 # octet of the current CADU sent next
        self.crc = 0xFFFF
        self.mc_count = 0
        self.vc_count = 0
        self.frames = 0              # frames started
        self.octets = 0

    def _start_frame(self):
        h = self._hdr
        scid = self.scid
        h[0] = (scid >> 4) & 0x3F
        h[1] = ((scid & 0x0F) << 4) | (self.vcid << 1)
        h[2] = self.mc_count
        h[3] = self.vc_count
        rem = self.pkt_len - self.pkt_pos
        fhp = rem if rem < self.data_len else FHP_NO_HEADER
        h[4] = 0x18 | (fhp >> 8)
        h[5] = fhp & 0xFF
        self.mc_count = (self.mc_count + 1) & 0xFF
        self.vc_count = (self.vc_count + 1) & 0xFF
        self.crc = 0xFFFF
        if self.rs is not None:
            self.rs.reset()
        self.frames += 1

    def pump(self, out, n):
        """Produce the next n octets of the CADU stream into out[0:n]."""
        pos = self.pos
        cadu = self.cadu_len
        flen = self.frame_len
        dend = flen + 2             # end of the data field (CADU offsets)
        last = flen + 3             # the frame's last octet (FECF low byte)
        rs = self.rs
        t = _CRC_TABLE
        crc = self.crc
        pkt = self.pkt
        pp = self.pkt_pos
        pl = self.pkt_len
        # E = 8: the parity register (6 words of 24 bits) lives in locals
        # for the whole call, the symbol update unrolled (fuel: see lander perf)
        e8 = False
        w0 = w1 = w2 = w3 = w4 = w5 = 0
        tab = _NO_TABLE
        tal1 = TAL1
        if rs is not None and rs.nw == 6:
            e8 = True
            w = rs._w
            w0 = w[0]
            w1 = w[1]
            w2 = w[2]
            w3 = w[3]
            w4 = w[4]
            w5 = w[5]
            tab = rs._tab
        for i in range(n):
            coded = True
            if pos >= 10 and pos < dend:
                if pp >= pl:
                    pl = self.source.next_packet(pkt, dend - pos)
                    pp = 0
                b = pkt[pp]
                pp += 1
                crc = ((crc << 8) & 0xFFFF) ^ t[((crc >> 8) ^ b) & 0xFF]
            elif pos < 4:
                coded = False
                if pos == 0:
                    self.pkt_pos = pp
                    self.pkt_len = pl
                    self._start_frame()
                    crc = 0xFFFF
                    w0 = w1 = w2 = w3 = w4 = w5 = 0
                    b = ASM0
                elif pos == 1:
                    b = ASM1
                elif pos == 2:
                    b = ASM2
                else:
                    b = ASM3
            elif pos < 10:
                b = self._hdr[pos - 4]
                crc = ((crc << 8) & 0xFFFF) ^ t[((crc >> 8) ^ b) & 0xFF]
            elif pos == dend:
                b = crc >> 8
            elif pos == last:
                b = crc & 0xFF
            else:
                coded = False
                b = rs.parity[pos - last - 1] if rs is not None else 0
            if coded:
                if e8:
                    k = (tal1[b] ^ (w0 >> 16)) * 6
                    w0 = (((w0 & 0xFFFF) << 8) | (w1 >> 16)) ^ tab[k]
                    w1 = (((w1 & 0xFFFF) << 8) | (w2 >> 16)) ^ tab[k + 1]
                    w2 = (((w2 & 0xFFFF) << 8) | (w3 >> 16)) ^ tab[k + 2]
                    w3 = (((w3 & 0xFFFF) << 8) | (w4 >> 16)) ^ tab[k + 3]
                    w4 = (((w4 & 0xFFFF) << 8) | (w5 >> 16)) ^ tab[k + 4]
                    w5 = ((w5 & 0xFFFF) << 8) ^ tab[k + 5]
                elif rs is not None:
                    rs.feed(b)
                if pos == last and rs is not None:
                    if e8:
                        w = rs._w
                        w[0] = w0
                        w[1] = w1
                        w[2] = w2
                        w[3] = w3
                        w[4] = w4
                        w[5] = w5
                    rs.finish()
            out[i] = b
            pos += 1
            if pos >= cadu:
                pos = 0
        if e8 and rs is not None:
            w = rs._w
            w[0] = w0
            w[1] = w1
            w[2] = w2
            w[3] = w3
            w[4] = w4
            w[5] = w5
        self.pos = pos
        self.crc = crc
        self.pkt_pos = pp
        self.pkt_len = pl
        self.octets += n
