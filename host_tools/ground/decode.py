"""Ground decoder: CADU byte stream -> frames -> Space Packets -> fields.

    result = decode(data, times=None, frame_len=128, rs_e=8)
    result.frames    accepted frames (dict: offset, end, scid, vcid, mc, vc, fhp, corrected)
    result.packets   decoded packets (dict: apid, name, seq, time_s, fields, raw, frame, end)
    result.stats     counts: frames_ok, frames_corrected, symbols_corrected, frames_bad_rs,
                     frames_bad_crc, frames_bad_header, bits_skipped, truncated, frames_lost
                     (master-channel counter gaps), packets, packets_bad, idle, ...

Steps, and which library does what:
  - ASM search at every BIT offset (numpy popcount of the 32-bit window), so a
    bit slip or garbage costs at most the frame it hits: at the expected
    position (in lock) up to LOCK_TOL bit errors are accepted in the marker,
    elsewhere up to SEARCH_TOL; a candidate is only accepted if the frame behind
    it decodes;
  - Reed-Solomon: `reedsolo` configured for the CCSDS code (field 0x187,
    generator alpha^11, first root 128-E, shortened by the library), with the
    dual-basis transform of 131.0-B annex F around it (the firmware's tables,
    checked in the tests against the trace-dual-basis construction);
  - FECF: `crcmod` "crc-ccitt-false";
  - packet headers: `spacepackets` (SpacePacketHeader.unpack) once the length
    has been checked against the bytes present;
  - fields: the firmware's own packet table (lander.telemetry.packets).
Never raises on hostile input: every problem is counted and the decoder goes on.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field

import crcmod.predefined
import numpy as np
import reedsolo
from spacepackets.ccsds.spacepacket import SpacePacketHeader

from host_tools import FIRMWARE_DIR  # noqa: F401  (puts the firmware on sys.path)
from lander.telemetry import packets as P
from lander.telemetry import rs as fw_rs

ASM = bytes.fromhex("1ACFFC1D")
LOCK_TOL = 4
SEARCH_TOL = 2
_crc16 = crcmod.predefined.mkCrcFun("crc-ccitt-false")
_TAL = np.frombuffer(bytes(fw_rs.TAL), np.uint8)
_TAL1 = np.frombuffer(bytes(fw_rs.TAL1), np.uint8)
_POP8 = np.array([bin(i).count("1") for i in range(256)], np.uint8)
_CODECS: dict = {}

# apid -> (name, fields, struct format, exact length)
TABLE = {}
for _apid, _name, _fields in P.PACKETS:
    TABLE[_apid] = (_name, _fields, ">" + "".join(f[1] for f in _fields), P.packet_len(_fields))
BB_FORMAT = ">" + "".join(f[1] for f in P.BB_RECORD)


def rs_codec(e):
    c = _CODECS.get(e)
    if c is None:
        c = reedsolo.RSCodec(2 * e, nsize=255, fcr=128 - e, prim=0x187,
                             generator=fw_rs.EXP[11], c_exp=8)
        _CODECS[e] = c
    return c


_EXP = np.frombuffer(bytes(fw_rs.EXP[:255]), np.uint8)
_LOG = np.array([fw_rs.LOG[i] for i in range(256)], np.int32)
_ROOT_LOGS: dict = {}


def _syndromes_zero(conv: np.ndarray, e: int) -> bool:
    """True when the (shortened) codeword has all 2E syndromes zero, i.e. is a
    codeword: S_j = c(alpha^(11 (128 - E + j))), j = 0..2E-1 (131.0-B 4.2.1).
    One numpy pass (2E x n table lookups) instead of reedsolo's per-symbol
    Horner loops: on a clean link nearly every frame ends here, and only a
    frame with errors goes to the library's decoder."""
    n = conv.size
    key = (n, e)
    logs = _ROOT_LOGS.get(key)
    if logs is None:
        j = np.arange(128 - e, 128 + e, dtype=np.int64)[:, None]
        power = np.arange(n - 1, -1, -1, dtype=np.int64)[None, :]
        logs = (11 * j * power) % 255
        _ROOT_LOGS[key] = logs
    nz = conv != 0
    terms = _EXP[(logs[:, nz] + _LOG[conv[nz]][None, :]) % 255]
    return not np.bitwise_xor.reduce(terms, axis=1).any()


def rs_decode(block: bytes, e: int):
    """(corrected dual-basis data, symbols corrected) or (None, -1) if uncorrectable."""
    conv_a = _TAL1[np.frombuffer(block, np.uint8)]
    if _syndromes_zero(conv_a, e):
        return bytes(block[:len(block) - 2 * e]), 0
    conv = conv_a.tobytes()
    try:
        msg, _full, errata = rs_codec(e).decode(conv)
    except (reedsolo.ReedSolomonError, ValueError, IndexError, ZeroDivisionError):
        return None, -1
    # reedsolo can "correct" to a word that is not a codeword: check it
    full = bytes(_full)
    if rs_codec(e).check(full) != [True]:
        return None, -1
    return _TAL[np.frombuffer(bytes(msg), np.uint8)].tobytes(), len(errata)


def engineering(fields, raw):
    out = {}
    for f, v in zip(fields, raw):
        out[f[0]] = v * (10.0 ** f[6]) if f[6] else v
    return out


def asm_candidates(data: bytes, tol: int):
    """Sorted bit offsets where the 32-bit window differs from the ASM in <= tol bits,
    with their bit-error counts."""
    a = np.frombuffer(data, np.uint8).astype(np.uint32)
    n = a.size
    if n < 5:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    asm = np.frombuffer(ASM, np.uint8).astype(np.uint32)
    offs, errs = [], []
    for r in range(8):
        if r:
            s = ((a[:-1] << r) | (a[1:] >> (8 - r))) & 0xFF
        else:
            s = a
        m = s.size - 3
        if m <= 0:
            continue
        e = (_POP8[(s[:m] ^ asm[0]).astype(np.uint8)].astype(np.int32)
             + _POP8[(s[1:m + 1] ^ asm[1]).astype(np.uint8)]
             + _POP8[(s[2:m + 2] ^ asm[2]).astype(np.uint8)]
             + _POP8[(s[3:m + 3] ^ asm[3]).astype(np.uint8)])
        idx = np.flatnonzero(e <= tol)
        offs.append(idx * 8 + r)
        errs.append(e[idx])
    offs = np.concatenate(offs) if offs else np.zeros(0, np.int64)
    errs = np.concatenate(errs) if errs else np.zeros(0, np.int64)
    order = np.argsort(offs, kind="stable")
    return offs[order].astype(np.int64), errs[order].astype(np.int64)


def _bits_to_bytes(bits: np.ndarray, start: int, nbytes: int) -> bytes | None:
    end = start + 8 * nbytes
    if end > bits.size:
        return None
    return np.packbits(bits[start:end]).tobytes()


@dataclass
class Result:
    frames: list = field(default_factory=list)
    packets: list = field(default_factory=list)
    stats: dict = field(default_factory=dict)
    frame_len: int = 128


class StreamDecoder:
    """The decoder fed in chunks (the live display); decode() is one final feed.
    Frame `end` offsets count octets from the start of the whole stream."""

    def __init__(self, frame_len=128, rs_e=8, scid=None):
        self.frame_len, self.rs_e, self.scid = frame_len, rs_e, scid
        self.stats = dict(frames_ok=0, frames_corrected=0, symbols_corrected=0, frames_bad_rs=0,
                          frames_bad_crc=0, frames_bad_header=0, frames_lost=0, bits_skipped=0,
                          truncated=0, packets=0, packets_bad=0, packets_unknown=0, idle=0,
                          bytes=0)
        self.frames: list = []
        self.packets: list = []
        self.counts: dict = {}
        self._buf = b""
        self._base = 0            # stream octet offset of _buf[0]
        self._pos = 0             # bit offset in _buf where the search resumes
        self._expect = -1
        self._prev_mc = None
        self._reasm = _Reassembler(frame_len, self.stats, self.packets)

    def feed(self, data, times=None, final=False) -> list:
        st = self.stats
        st["bytes"] += len(data)
        buf = self._buf + bytes(data)
        n_before = len(self.packets)
        rs_e = self.rs_e
        frame_len = self.frame_len
        cadu_bytes = frame_len + 2 * rs_e
        cadu_bits = 32 + 8 * cadu_bytes
        offs, errs = asm_candidates(buf, LOCK_TOL)
        bits = np.unpackbits(np.frombuffer(buf, np.uint8)) if offs.size else np.zeros(0, np.uint8)
        pos, expect = self._pos, self._expect
        truncated_at = -1
        for ci in range(offs.size):
            c = int(offs[ci])
            if c < pos or (int(errs[ci]) > SEARCH_TOL and c != expect):
                continue
            block = _bits_to_bytes(bits, c + 32, cadu_bytes)
            if block is None:
                truncated_at = c
                break
            if rs_e:
                frame, corrected = rs_decode(block, rs_e)
                if frame is None:
                    st["frames_bad_rs"] += 1
                    continue
            else:
                frame, corrected = block, 0
            if _crc16(frame[:-2]) != (frame[-2] << 8 | frame[-1]):
                st["frames_bad_crc"] += 1
                continue
            fscid = ((frame[0] & 0x3F) << 4) | (frame[1] >> 4)
            if frame[0] >> 6 != 0 or (self.scid is not None and fscid != self.scid):
                st["frames_bad_header"] += 1
                continue
            if c > pos:
                st["bits_skipped"] += c - pos
            mc, vc = frame[2], frame[3]
            end = self._base + (c + cadu_bits) // 8          # stream octet after the CADU
            if self._prev_mc is not None and mc != (self._prev_mc + 1) & 0xFF:
                st["frames_lost"] += (mc - self._prev_mc - 1) & 0xFF
            self._prev_mc = mc
            st["frames_ok"] += 1
            if corrected:
                st["frames_corrected"] += 1
                st["symbols_corrected"] += corrected
            fr = {"offset_bits": 8 * self._base + c, "end": end, "scid": fscid,
                  "vcid": (frame[1] >> 1) & 7, "mc": mc, "vc": vc,
                  "fhp": ((frame[4] & 7) << 8) | frame[5], "corrected": corrected,
                  "index": len(self.frames)}
            if times is not None and 0 < end <= len(times):
                fr["t_recv"] = float(times[end - 1])
            self.frames.append(fr)
            self._reasm.frame(fr, frame)
            pos = c + cadu_bits
            expect = pos
        nbits = 8 * len(buf)
        if final:
            if truncated_at >= 0:
                st["truncated"] += 1
                st["bits_skipped"] += max(0, truncated_at - pos)
            elif pos < nbits:
                st["bits_skipped"] += nbits - pos
            self._buf, self._pos = b"", 0
            self._base += len(buf)
        else:
            # keep what may still hold a frame: from a truncated candidate, or
            # the last 4 octets (a marker cut in two)
            keep = truncated_at if truncated_at >= 0 else max(pos, nbits - 32)
            if keep > pos:
                st["bits_skipped"] += keep - pos
            cut = keep // 8
            self._buf = buf[cut:]
            self._base += cut
            self._pos = keep - 8 * cut
            expect = expect - 8 * cut if expect >= 0 else -1
        self._expect = expect
        new = self.packets[n_before:]
        for p in new:
            self.counts[p["name"]] = self.counts.get(p["name"], 0) + 1
        return new


def decode(data, times=None, frame_len=128, rs_e=8, scid=None) -> Result:
    d = StreamDecoder(frame_len, rs_e, scid)
    d.feed(data, times, final=True)
    return Result(d.frames, d.packets, d.stats, frame_len)


class _Reassembler:
    """Packets across frames, per virtual channel: a gap in the VC frame count
    or an inconsistent first header pointer drops the packet in progress."""

    def __init__(self, frame_len, st, out):
        self.data_len = frame_len - 8
        self.st = st
        self.out = out
        self.vc = {}     # vcid -> [stream bytearray, synced, last vc count, first frame of stream]

    def frame(self, fr, frame):
        s = self.vc.get(fr["vcid"])
        if s is None:
            s = self.vc[fr["vcid"]] = [bytearray(), False, None, fr]
        stream, synced, last, _ = s
        if last is not None and fr["vc"] != (last + 1) & 0xFF:
            if stream:
                self.st["packets_bad"] += 1      # the packet in progress is lost
            stream.clear()
            synced = False
        s[2] = fr["vc"]
        data = frame[6:6 + self.data_len]
        fhp = fr["fhp"]
        if fhp not in (0x7FF, 0x7FE) and fhp >= self.data_len:
            self.st["frames_bad_header"] += 1
            stream.clear()
            s[1] = False
            return
        if synced:
            cut = self.data_len if fhp in (0x7FF, 0x7FE) else fhp
            stream += data[:cut]
            self._parse(stream, fr)
            if cut != self.data_len:
                if stream:
                    self.st["packets_bad"] += 1   # the pointer says the packet ended earlier
                    stream.clear()
            else:
                s[1] = synced
                return
        if fhp in (0x7FF, 0x7FE):
            s[1] = False
            return
        stream.clear()
        stream += data[fhp:]
        s[1] = self._parse(stream, fr)

    def _parse(self, stream, fr):
        """Emit the whole packets at the start of stream; False if it lost sync."""
        while len(stream) >= 6:
            word0 = stream[0] << 8 | stream[1]
            total = (stream[4] << 8 | stream[5]) + 7
            apid = word0 & 0x7FF
            if (word0 >> 13) != 0:
                self.st["packets_bad"] += 1
                stream.clear()
                return False
            known = TABLE.get(apid)
            if apid != P.APID_IDLE and known is not None and total != known[3]:
                self.st["packets_bad"] += 1
                stream.clear()
                return False
            if len(stream) < total:
                return True
            pkt = bytes(stream[:total])
            del stream[:total]
            self._emit(pkt, known, fr)
        return True

    def _emit(self, pkt, known, fr):
        hdr = SpacePacketHeader.unpack(pkt[:6])
        if hdr.apid == P.APID_IDLE:
            self.st["idle"] += 1
            return
        if known is None or not hdr.sec_header_flag:
            self.st["packets_unknown"] += 1
            return
        name, fields, fmt, _n = known
        coarse, fine = struct.unpack_from(">IH", pkt, 6)
        raw = struct.unpack_from(fmt, pkt, P.HEADER_LEN)
        self.st["packets"] += 1
        p = {"apid": hdr.apid, "name": name, "seq": hdr.seq_count,
             "time_s": coarse + fine / 65536.0, "fields": engineering(fields, raw),
             "raw": dict(zip((f[0] for f in fields), raw)), "frame": fr["index"],
             "end": fr["end"], "hex": pkt.hex()}
        if "t_recv" in fr:
            p["t_recv"] = fr["t_recv"]
        self.out.append(p)


# ------------------------------------------------------------ executive fields

def executive(fields: dict) -> dict:
    """The executive's fields of a housekeeping or beacon packet (decoded
    with the firmware's table) with their names from the firmware's own
    tables: mode (lander.app.MODE_NAMES), the last telecommand rejection
    reason (lander.commands.REASON_NAMES), the configuration status
    (lander.config.describe), and the last accepted (acknowledged) counter
    put back together. Fields the packet does not carry are left out."""
    from lander import app as fw_app
    from lander import commands as fw_cmd
    from lander import config as fw_cfg
    from host_tools.ground.command import OPCODES

    out = {}
    for k in ("reset_cause", "restarts", "build_id", "cfg_crc", "tc_accepted", "tc_rejected",
              "ckpt_seq", "ckpt_age", "resume_age", "sensor_mask"):
        if k in fields:
            out[k] = fields[k]
    if "mode" in fields:
        m = fields["mode"]
        out["mode"] = fw_app.MODE_NAMES[m] if 0 <= m < len(fw_app.MODE_NAMES) else "mode_%d" % m
    if "cfg_status" in fields:
        out["cfg_status"] = fw_cfg.describe(fields["cfg_status"], -1) if fields["cfg_status"] else "ok"
    if "tc_last_reason" in fields:
        r = fields["tc_last_reason"]
        out["tc_last_reason"] = fw_cmd.REASON_NAMES[r] if 0 <= r < len(fw_cmd.REASON_NAMES) else "reason_%d" % r
    if "tc_last_reject_op" in fields:
        op = fields["tc_last_reject_op"]
        out["tc_last_reject_op"] = "unauthenticated" if op == 0xFF else OPCODES.get(op, "op_%d" % op)
    if "tc_counter_lo" in fields:
        out["tc_counter"] = (fields.get("tc_counter_hi", 0) << 16) | fields["tc_counter_lo"]
    if "ckpt_age" in fields and fields["ckpt_age"] >= 65.535:
        out["ckpt_age"] = None            # no checkpoint sealed yet (saturated)
    return out


# ------------------------------------------------------------ flight metrics

def critical_delivery(sent: Result, received: Result, half_window_s: float = 0.5) -> dict:
    """How much of the critical state the ground has.

    A critical sample the firmware sent counts as delivered if a critical packet
    with the same time reached the ground intact, or if the black box delivered
    a state sample taken within half a critical period of it. Latency is measured
    on live critical packets only: time of the last octet of the frame that
    completed the packet at the ground minus the sample time."""
    sent_t = np.array(sorted({round(p["time_s"], 6) for p in sent.packets
                              if p["apid"] == P.APID_CRITICAL}))
    live = {round(p["time_s"], 6) for p in received.packets if p["apid"] == P.APID_CRITICAL}
    bb = np.array(sorted({p["fields"]["bb_time"] for p in received.packets
                          if p["apid"] == P.APID_BLACKBOX}))
    delivered = live_n = bb_n = 0
    for t in sent_t:
        if t in live:
            delivered += 1
            live_n += 1
            continue
        if bb.size:
            k = np.searchsorted(bb, t - half_window_s, side="right")
            if k < bb.size and bb[k] <= t + half_window_s:
                delivered += 1
                bb_n += 1
    lat = [p["t_recv"] - p["time_s"] for p in received.packets
           if p["apid"] == P.APID_CRITICAL and "t_recv" in p]
    return {"critical_sent": int(sent_t.size), "critical_live": live_n,
            "critical_from_blackbox": bb_n,
            "critical_delivered_ratio": (delivered / sent_t.size) if sent_t.size else None,
            "max_latency_s": max(lat) if lat else None,
            "median_latency_s": float(np.median(lat)) if lat else None}
