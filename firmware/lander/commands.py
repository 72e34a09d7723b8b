# Authenticated telecommands: the on-board side of host_tools/ground/command.py.
#
# Wire format (one CCSDS Space Packet, 133.0-B-2, big-endian):
#   primary header 6 octets: version 0, type 1 (TC), secondary header flag 1,
#                  APID, sequence flags 0b11, sequence count = counter & 0x3FFF,
#                  packet data length = octets after the header - 1
#   counter        4 octets: the anti-replay counter (strictly increasing)
#   payload        opcode (1 octet) + that opcode's arguments
#   tag            16 octets: HMAC-SHA256(key, counter || payload), truncated
# A packet is executed only if its tag matches (compared in constant time) and
# its counter is above the last accepted one; the last accepted counter is kept
# in the warm-restart checkpoint. Every packet ends in one event: accepted
# (EV_TC_ACCEPT) or rejected with a reason (EV_TC_REJECT, REJ_*), and every
# rejection is counted by reason in `rejects`.
#
# The key is provisioned in its own file on the board (KEY_PATH, 16..64 raw
# octets), never in the repository; the simulator writes the development key.
# Without a key nothing is accepted (REJ_NO_KEY).
#
# Cost: idle cycles (no uplink bytes) allocate nothing. Authenticating a packet
# builds two hashlib.sha256 objects and their digests (a bounded allocation on
# the exceptional path; the App runs it with the heap unlocked).
from array import array

from lander.compat import const, heap_lock, heap_unlock
from lander.events import events, post

import hashlib               # sha256: rp2, esp32, stm32, unix and WASI ports all have it

KEY_PATH = "/tc.key"
TAG_LEN = const(16)
_HDR = const(6)
_MIN_LEN = const(27)         # header + counter + opcode + tag
MAX_LEN = const(64)
_BLOCK = const(64)           # SHA-256 block size
_STALE_CYCLES = const(50)    # a partial packet older than this is dropped

# opcodes (host_tools/ground/command.py COMMANDS)
OP_NOOP = const(0x00)
OP_ABORT = const(0x01)
OP_RESET = const(0x02)
OP_ARM = const(0x03)
OP_DISARM = const(0x04)
OP_RESET_IMU = const(0x05)
OP_SET_PARAM = const(0x06)
OP_DUMP_BLACKBOX = const(0x07)
OP_BEACON = const(0x08)
OP_DIVERT = const(0x09)
OP_SENSOR = const(0x0A)
OP_TIME_SYNC = const(0x0B)
OP_CONFIRM = const(0x0C)
OP_ENGINE_OFF = const(0x0D)
OP_PING = const(0x0E)
# argument octets per opcode (index = opcode)
ARG_LEN = (0, 0, 0, 0, 0, 1, 6, 6, 1, 4, 2, 6, 1, 0, 0)
_DANGEROUS = (OP_RESET, OP_DISARM, OP_ENGINE_OFF)
_CONFIRM_CYCLES_S = const(10)    # a confirmation is good for this many seconds

# rejection reasons (EV_TC_REJECT arg >> 8; index into `rejects`)
REJ_SHORT = const(1)        # fewer octets than the smallest packet
REJ_LONG = const(2)         # length field beyond MAX_LEN
REJ_HEADER = const(3)       # not a version-0 TC packet with a secondary header, unsegmented
REJ_APID = const(4)
REJ_LENGTH = const(5)       # sequence count disagrees with the counter
REJ_NO_KEY = const(6)
REJ_TAG = const(7)          # authentication failed
REJ_REPLAY = const(8)       # counter at or below the last accepted
REJ_OPCODE = const(9)
REJ_ARGS = const(10)        # argument length wrong for the opcode
REJ_RANGE = const(11)       # an argument out of its bounds
REJ_MODE = const(12)        # not allowed in the current mode
REJ_CONFIRM = const(13)     # dangerous in powered descent without a confirmation
REJ_EXEC = const(14)        # the action raised (contained)
REJ_STALE = const(15)       # a partial packet timed out on the uplink
N_REASONS = const(16)
REASON_NAMES = ("", "short", "long", "header", "apid", "length", "no_key", "tag", "replay",
                "opcode", "args", "range", "mode", "confirm", "exec", "stale")

EV_TC_ACCEPT = const(0x0501)     # arg = opcode << 16 | counter & 0xFFFF
EV_TC_REJECT = const(0x0502)     # arg = reason << 8 | opcode (0xFF: not authenticated)
EV_TC_NO_KEY = const(0x0503)     # at boot: no key file, every command will be refused
EV_TC_CONFIRM = const(0x0504)    # arg = the opcode now confirmed


class Hmac:
    """HMAC-SHA256 (RFC 2104) over hashlib.sha256, pads made once."""

    def __init__(self, key):
        if len(key) > _BLOCK:
            key = hashlib.sha256(key).digest()
        # the key zero-padded to the block, xor'ed with each pad octet
        ipad = bytearray(b"\x36" * _BLOCK)
        opad = bytearray(b"\x5c" * _BLOCK)
        for i in range(len(key)):
            ipad[i] ^= key[i]
            opad[i] ^= key[i]
        self._ipad = bytes(ipad)
        self._opad = bytes(opad)

    def digest(self, msg):
        h = hashlib.sha256(self._ipad)
        h.update(msg)
        inner = h.digest()
        h = hashlib.sha256(self._opad)
        h.update(inner)
        return h.digest()


class Commands:
    @staticmethod
    def load_key(opener=None, path=KEY_PATH):
        """The provisioned key (bytes) or None. Start-up only."""
        op = opener if opener is not None else open
        try:
            f = op(path, "rb")
        except OSError:
            return None
        try:
            key = f.read()
        finally:
            f.close()
        if key is None or not 16 <= len(key) <= 64:
            return None
        return bytes(key)

    def __init__(self, app, key, apid=0x050):
        self.app = app
        self.apid = apid
        self.mac = Hmac(key) if key is not None else None
        if self.mac is None:
            post(EV_TC_NO_KEY, 0)
        self.last_hi = 0            # last accepted counter, as two 16-bit halves
        self.last_lo = 0
        self.accepted = 0
        self.rejected = 0
        self.rejects = array("i", bytes(4 * N_REASONS))
        self.last_reason = 0
        self.last_reject_op = 0     # opcode of the last rejection (0xFF: not authenticated)
        self.confirm_op = -1        # opcode confirmed for powered descent
        self._confirm_left = 0
        self.time_sync = array("i", (0, 0, 0, 0))   # CUC s hi16, s lo16, subseconds, local ms
        self.dump = array("i", (0, 0, 0))          # dumps started, last start record, count
        self.rx = bytearray(MAX_LEN)
        self.rx_n = 0
        self._rx_age = 0
        self._chunk = bytearray(MAX_LEN)

    def set_counter(self, hi, lo):
        self.last_hi = hi & 0xFFFF
        self.last_lo = lo & 0xFFFF

    # --- uplink framing (every cycle) ------------------------------------
    def poll(self, radio):
        """Read what the radio delivered; verify and run each whole packet."""
        if self._confirm_left > 0:
            self._confirm_left -= 1
            if self._confirm_left == 0:
                self.confirm_op = -1
        chunk = self._chunk
        n = radio.receive(chunk)
        if n <= 0:
            if self.rx_n > 0:
                self._rx_age += 1
                if self._rx_age > _STALE_CYCLES:
                    self._reject(REJ_STALE, 0xFF)
                    self.rx_n = 0
            return
        self._rx_age = 0
        for i in range(n):
            self._byte(chunk[i])

    def _byte(self, b):
        rx = self.rx
        rx[self.rx_n] = b
        self.rx_n += 1
        k = self.rx_n
        if k == 1 and (b & 0xF8) != 0x18:          # version 0, TC, secondary header
            self.rx_n = 0
            return
        if k < _HDR:
            return
        total = _HDR + ((rx[4] << 8) | rx[5]) + 1
        if total > MAX_LEN or total < _MIN_LEN:
            self._reject(REJ_LONG if total > MAX_LEN else REJ_SHORT, 0xFF)
            self._resync()
            return
        if k == total:
            self.handle(rx, total)
            self.rx_n = 0

    def _resync(self):
        """Drop the first octet of a refused header; rescan the rest."""
        n = self.rx_n
        rx = self.rx
        self.rx_n = 0
        for i in range(1, n):
            self._byte(rx[i])

    # --- verification ------------------------------------------------------
    def verify(self, pkt, n):
        """0 if pkt[0:n] is an authentic, fresh, well-formed command, else the
        REJ_ reason. Never raises; on success the counter is consumed."""
        if n < _MIN_LEN:
            return REJ_SHORT
        if n > MAX_LEN or n > len(pkt):
            return REJ_LONG
        w0 = _u16(pkt, 0)
        if (w0 >> 11) != 0x3:                      # version 0, type 1, sec. header 1
            return REJ_HEADER
        if (w0 & 0x7FF) != self.apid:
            return REJ_APID
        if (pkt[2] >> 6) != 0x3:                   # unsegmented
            return REJ_HEADER
        if _HDR + _u16(pkt, 4) + 1 != n:
            return REJ_LENGTH
        seq = ((pkt[2] & 0x3F) << 8) | pkt[3]
        hi = _u16(pkt, 6)
        lo = _u16(pkt, 8)
        if seq != lo & 0x3FFF:
            return REJ_LENGTH
        if self.mac is None:
            return REJ_NO_KEY
        try:
            d = self.mac.digest(memoryview(pkt)[_HDR:n - TAG_LEN])
        except Exception:
            return REJ_EXEC
        diff = 0
        base = n - TAG_LEN
        for i in range(TAG_LEN):                   # constant time: no early exit
            diff |= d[i] ^ pkt[base + i]
        if diff != 0:
            return REJ_TAG
        if hi < self.last_hi or (hi == self.last_hi and lo <= self.last_lo):
            return REJ_REPLAY
        self.last_hi = hi
        self.last_lo = lo
        return 0

    def handle(self, pkt, n):
        """Verify then execute one packet (the exceptional path: may allocate)."""
        heap_lock()
        locked = heap_unlock() > 0       # the lock depth the caller runs at
        if locked:
            heap_unlock()
        try:
            why = self.verify(pkt, n)
            if why != 0:
                self._reject(why, 0xFF)
                return why
            op = pkt[10]
            why = self._check_args(op, n - _MIN_LEN)
            if why == 0:
                try:
                    why = self.execute(op, pkt, 11)
                except Exception:
                    why = REJ_EXEC
            if why != 0:
                self._reject(why, op)
                return why
            self.accepted += 1
            post(EV_TC_ACCEPT, (op << 16) | self.last_lo)
            return 0
        finally:
            if locked:
                heap_lock()

    def _check_args(self, op, nargs):
        if op >= len(ARG_LEN):
            return REJ_OPCODE
        if ARG_LEN[op] != nargs:
            return REJ_ARGS
        return 0

    def _reject(self, why, op):
        self.rejected += 1
        self.rejects[why] += 1
        self.last_reason = why
        self.last_reject_op = op
        post(EV_TC_REJECT, (why << 8) | op)

    # --- execution ----------------------------------------------------------
    def execute(self, op, p, o):
        """Run an authenticated command with its arguments at p[o:]. 0 or REJ_."""
        app = self.app
        powered = app.mode == 3          # app.MODE_POWERED
        if op in _DANGEROUS and powered:
            if self.confirm_op != op:
                return REJ_CONFIRM
            self.confirm_op = -1
            self._confirm_left = 0
        if op == OP_NOOP or op == OP_PING:
            return 0
        if op == OP_CONFIRM:
            c = p[o]
            if c not in _DANGEROUS:
                return REJ_RANGE
            self.confirm_op = c
            self._confirm_left = _CONFIRM_CYCLES_S * app.rate_hz
            post(EV_TC_CONFIRM, c)
            return 0
        if op == OP_ABORT:
            return app.cmd_abort()
        if op == OP_RESET:
            return app.cmd_reset()
        if op == OP_ARM:
            return 0 if app.arm() else REJ_MODE
        if op == OP_DISARM:
            return app.cmd_engine_off() if powered else (0 if app.disarm() else REJ_MODE)
        if op == OP_ENGINE_OFF:
            return app.cmd_engine_off() if powered else REJ_MODE
        if op == OP_RESET_IMU:
            return app.cmd_reset_imu(p[o])
        if op == OP_SET_PARAM:
            pid = _u16(p, o)
            return app.cmd_set_param(pid, _s32(p, o + 2))
        if op == OP_DUMP_BLACKBOX:
            if p[o] & 0xC0:
                return REJ_RANGE          # a record index beyond 2^30
            start = ((p[o] & 0x3F) << 24) | (p[o + 1] << 16) | (p[o + 2] << 8) | p[o + 3]
            count = _u16(p, o + 4)
            why = app.cmd_dump(start, count)
            if why == 0:
                d = self.dump
                d[0] += 1
                d[1] = start
                d[2] = count
            return why
        if op == OP_BEACON:
            if p[o] > 1:
                return REJ_RANGE
            app.beacon_on = p[o] == 1
            return 0
        if op == OP_DIVERT:
            return app.cmd_divert(_s32(p, o))
        if op == OP_SENSOR:
            return app.cmd_sensor(p[o], p[o + 1])
        if op == OP_TIME_SYNC:
            t = self.time_sync
            t[0] = _u16(p, o)
            t[1] = _u16(p, o + 2)
            t[2] = _u16(p, o + 4)
            t[3] = events.now_ms
            return 0
        return REJ_OPCODE


def _u16(p, o):
    """Big-endian unsigned 16-bit field at p[o] (verification and arguments)."""
    return (p[o] << 8) | p[o + 1]


def _s32(p, o):
    """Big-endian signed 32-bit argument, kept within |x| < 2^30 (else clamped
    to +/-(2^30 - 1), which every bound then refuses). The high half -0x4000
    clamps too: its product hi << 16 is -2^30 (the range rule's edge)."""
    hi = _u16(p, o)
    lo = _u16(p, o + 2)
    if hi >= 0x8000:
        hi -= 0x10000
    if hi >= 0x4000:
        return 0x3FFFFFFF
    if hi <= -0x4000:
        return -0x3FFFFFFF
    return (hi << 16) | lo
