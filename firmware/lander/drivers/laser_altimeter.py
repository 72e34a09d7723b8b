# Long-range laser altimeter over UART, modelled on the Noptel LRF-series
# binary serial protocol (see docs/protocols.md for what is adopted and what
# is simplified).
#
# Frames (all multi-byte fields little-endian):
#   command   : CMD, params..., CHK                     (host -> LRF)
#   response  : 0x59, CMD, payload..., CHK              (LRF -> host)
#   CHK       = (sum of all preceding bytes of the frame) & 0xFF) ^ 0x50
#   range response (CMD 0xCC, 22 bytes):
#     [2..5] range 1, IEEE-754 float32 metres   [6..7] amplitude 1 (u16)
#     [8..13] target 2, [14..19] target 3 (ignored here: first target = ground)
#     [20] status byte   [21] CHK
#   continuous measurement mode (CMM) start: 0xCC, rate, 0x00, 0x00, CHK
#   CMM break: 0xC6, CHK ; answered with 0x59 0xC6 <status> CHK
#
# The float32 range is decoded with integer arithmetic only (no float on the
# cycle path): mm = floor(mantissa * 2^(exp-150) * 1000), exact.
#
# States are kept apart on purpose (IM-1 flew with its rangefinder never
# enabled): DISABLED (no acknowledged enable), INVALID (bad frame or the part
# flags the measurement as bad), OUT_OF_RANGE (good frame, no target within
# range), OK.
from lander.compat import const
from lander.drivers import OK, NOT_READY, INVALID, OUT_OF_RANGE, DISABLED
from lander.events import post
from lander.drivers.uart_rx import RxWindow

# Protocol constants (Noptel LRF serial protocol)
_SYNC = const(0x59)            # first byte of every LRF response
_CMD_RANGE = const(0xCC)       # execute range measurement / start CMM
_CMD_BREAK = const(0xC6)       # CMM break (stop continuous mode)
_CHK_XOR = const(0x50)         # check byte = (byte sum & 0xFF) ^ 0x50
_LEN_RANGE = const(22)         # range response length
_LEN_BREAK = const(4)          # CMM break response length
_CMM_20HZ = const(0x04)        # CMM rate code: 1, 4, 10, 20, 100, 200 Hz = 1..6
_CMM_10HZ = const(0x03)
# Status byte (offset 20). Observed: 0x00 with a target, 0x20 without.
_ST_NO_TARGET = const(0x20)    # no echo within range (observed on real units)
_ST_FAULT = const(0x01)        # measurement not valid (our model, see docs)

# Decoded float32 limits
_EXP_BIAS_MM = const(150)      # 127 + 23 mantissa bits
_EXP_MIN = const(117)          # below ~1 mm: treated as "no range"
_EXP_MAX = const(142)          # up to 65,535 m; above: not a plausible range

# Events (drivers 0x0130-0x013F)
EV_ALT_ENABLED = const(0x0130)        # part acknowledged enable (arg: attempts)
EV_ALT_ENABLE_RETRY = const(0x0131)   # enable not acknowledged, re-sent (arg: attempt)
EV_ALT_ENABLE_FAILED = const(0x0132)  # gave up: part stays DISABLED (arg: attempts)
EV_ALT_CHECKSUM = const(0x0133)       # first checksum error after a good frame
EV_ALT_LOST = const(0x0134)           # enabled part went silent (arg: reads)

_RX_CHUNK = const(32)
_BUF_LEN = const(64)


class LaserAltimeter:
    def __init__(self, uart, max_range_mm=20000000, rate_code=_CMM_20HZ,
                 ack_reads=25, max_enable_attempts=3, lost_reads=50):
        self._uart = uart
        self.max_range_mm = max_range_mm
        self._ack_reads = ack_reads              # reads to wait for the first frame
        self._max_attempts = max_enable_attempts
        self._lost_reads = lost_reads
        self._rx = RxWindow(_BUF_LEN, _RX_CHUNK)
        self._buf = self._rx.buf
        # the summed bytes of a range frame at each start offset, as views made
        # once: sum() over one runs in C (~8 k fuel where a Python loop over
        # the 21 bytes costs ~27 k, measured on the 32-bit interpreter) and
        # allocates nothing (slicing on the cycle path would)
        mv = memoryview(self._buf)
        # (a list of its exact size filled in a loop: a comprehension's list
        # grows by doubling, and the comprehension is a code object of its own)
        views = [None] * (_BUF_LEN - _LEN_RANGE + 1)  # type: list
        for i in range(_BUF_LEN - _LEN_RANGE + 1):
            views[i] = mv[i:i + _LEN_RANGE - 1]
        self._sum_views = views
        self._cmd = bytearray(5)
        self._brk = bytearray(2)
        # outputs
        self.range_mm = 0
        self.strength = 0
        self.status_byte = 0
        self.status = DISABLED
        self.enabled = False
        # enable handshake
        self.enable_attempts = 0
        self.enable_failures = 0
        self._wait = 0                           # reads left for the acknowledgement
        self._quiet = 0                          # reads since the last good frame
        # counters
        self.frames = 0
        self.errors = 0
        self.checksum_errors = 0
        self.sync_errors = 0
        self.skipped_bytes = 0
        self.invalid = 0
        self.out_of_range = 0
        self._chk_armed = True                   # one checksum event per episode
        self._cmd[0] = _CMD_RANGE
        self._cmd[1] = rate_code
        self._cmd[2] = 0
        self._cmd[3] = 0
        self._cmd[4] = ((_CMD_RANGE + rate_code) & 0xFF) ^ _CHK_XOR
        self._brk[0] = _CMD_BREAK
        self._brk[1] = _CMD_BREAK ^ _CHK_XOR

    # --- commands -------------------------------------------------------
    def enable(self):
        """Start continuous measurement; acknowledged by the first range frame."""
        self.enable_attempts = 1
        self._send_enable()

    def _send_enable(self):
        self._wait = self._ack_reads
        try:
            self._uart.write(self._cmd)
        except OSError:
            self.errors += 1

    def disable(self):
        self.enabled = False
        self._wait = 0
        self.status = DISABLED
        try:
            self._uart.write(self._brk)
        except OSError:
            self.errors += 1

    # --- cycle path -----------------------------------------------------
    def read(self):
        """Parse what has arrived; returns the status of this cycle. Never raises."""
        rx = self._rx
        # rx.fill(self._uart) inline (a call costs ~2.5 k fuel a cycle): what
        # the UART holds, at most _RX_CHUNK octets, after the unparsed tail.
        # The parser below leaves at most 21 octets (an unfinished range
        # frame), so the room left is worked out only past _BUF_LEN -
        # _RX_CHUNK (~1 k fuel a cycle)
        n = rx.n
        space = _RX_CHUNK
        if n > _BUF_LEN - _RX_CHUNK:
            space = _BUF_LEN - n
        if space > 0:
            try:
                got = self._uart.readinto(rx._tails[n], space)
                if got:
                    n += got
                    rx.n = n
            except OSError:
                self.errors += 1
        if n < 2:
            # nothing to parse (most cycles): the enabled no-result path below
            # straight away (~0.6 k fuel)
            if self.enabled:
                q = self._quiet + 1
                if q < self._lost_reads:
                    self._quiet = q
                    return NOT_READY
            return self._finish(NOT_READY)
        result = NOT_READY
        f = self._sum_views[0]            # the window's first 21 octets
        if n == _LEN_RANGE and f[0] == _SYNC and f[1] == _CMD_RANGE \
                and ((sum(f) & 0xFF) ^ _CHK_XOR) == self._buf[_LEN_RANGE - 1]:
            # fast path: the window holds exactly one good range frame (the
            # nominal frame cycle); anything else goes through the parser.
            # _decode inline, step for step (a call costs ~2 k fuel; the
            # tests check both give the same on the same frames), then the
            # enabled result path below (_decode leaves the part enabled)
            rx.n = 0
            self.frames += 1
            self._chk_armed = True
            if not self.enabled:
                self.enabled = True
                self._wait = 0
                post(EV_ALT_ENABLED, self.enable_attempts)
            st = f[20]
            self.status_byte = st
            strength = f[6] | (f[7] << 8)
            self.strength = strength
            b3 = f[5]
            b2 = f[4]
            exp = ((b3 & 0x7F) << 1) | (b2 >> 7)
            if st & _ST_FAULT or (b3 & 0x80 and exp != 0) or exp > _EXP_MAX:
                self.invalid += 1
                result = INVALID
            elif st & _ST_NO_TARGET or exp < _EXP_MIN or strength == 0:
                self.range_mm = 0
                self.out_of_range += 1
                result = OUT_OF_RANGE
            else:
                sh = _EXP_BIAS_MM - exp - 8
                mm = (0x8000 | ((b2 & 0x7F) << 8) | f[3]) * 1000 + ((f[2] * 1000) >> 8)
                if sh >= 0:
                    mm >>= sh
                else:
                    mm <<= -sh
                self.range_mm = mm
                if mm >= self.max_range_mm:
                    self.out_of_range += 1
                    result = OUT_OF_RANGE
                else:
                    result = OK
            self._quiet = 0
            self.status = result
            return result
        else:
            buf = self._buf
            s = 0
            while n - s >= 2:
                if buf[s] != _SYNC:
                    s += 1
                    self.skipped_bytes += 1
                    continue
                c = buf[s + 1]
                if c == _CMD_RANGE:
                    need = _LEN_RANGE
                elif c == _CMD_BREAK:
                    need = _LEN_BREAK
                else:
                    self.sync_errors += 1
                    s += 1
                    continue
                if n - s < need:
                    break
                if need == _LEN_RANGE:
                    chk = sum(self._sum_views[s])
                else:
                    chk = 0
                    for i in range(s, s + need - 1):
                        chk += buf[i]
                if ((chk & 0xFF) ^ _CHK_XOR) != buf[s + need - 1]:
                    if self._chk_armed:
                        self._chk_armed = False
                        post(EV_ALT_CHECKSUM, self.checksum_errors)
                    self.checksum_errors += 1
                    self.errors += 1
                    s += 1                    # resync: rescan from the next byte
                    if result == NOT_READY:
                        result = INVALID
                    continue
                if c == _CMD_RANGE:
                    result = self._decode(self._sum_views[s])
                s += need
            # keep the unparsed tail at the front of the window
            if s > 0:
                rx.consume(s)
            if rx.n >= _BUF_LEN:          # cannot happen with _RX_CHUNK < _BUF_LEN - 22
                rx.clear()
        # _finish's enabled paths inline (a call costs ~2.5 k fuel a cycle):
        # a result, or nothing yet within the lost-reads limit
        if self.enabled:
            if result != NOT_READY:
                self._quiet = 0
                self.status = result
                return result
            q = self._quiet + 1
            if q < self._lost_reads:
                self._quiet = q
                return NOT_READY
        return self._finish(result)

    def _finish(self, result):
        if not self.enabled:
            if self._wait > 0:
                self._wait -= 1
                if self._wait == 0:
                    if self.enable_attempts < self._max_attempts:
                        self.enable_attempts += 1
                        post(EV_ALT_ENABLE_RETRY, self.enable_attempts)
                        self._send_enable()
                    else:
                        self.enable_failures += 1
                        post(EV_ALT_ENABLE_FAILED, self.enable_attempts)
            self.status = DISABLED
            return DISABLED
        if result == NOT_READY:
            self._quiet += 1
            if self._quiet >= self._lost_reads:
                # silent while enabled: the part reset (idle after power-up) or
                # the line is dead. Report it and run the enable handshake again.
                post(EV_ALT_LOST, self._quiet)
                self._quiet = 0
                self.enabled = False
                self.status = DISABLED
                self.enable_attempts = 1
                self._send_enable()
                return DISABLED
        else:
            self._quiet = 0
            self.status = result
        return result

    def _decode(self, f):
        # f: the frame's first 21 octets (one of the _sum_views: constant
        # indices, an add less per octet than buf[s + k])
        self.frames += 1
        self._chk_armed = True
        if not self.enabled:
            self.enabled = True
            self._wait = 0
            post(EV_ALT_ENABLED, self.enable_attempts)
        st = f[20]
        self.status_byte = st
        strength = f[6] | (f[7] << 8)
        self.strength = strength
        b3 = f[5]
        b2 = f[4]
        exp = ((b3 & 0x7F) << 1) | (b2 >> 7)
        # (exp > _EXP_MAX also rejects exp 0xFF, infinity and NaN)
        if st & _ST_FAULT or (b3 & 0x80 and exp != 0) or exp > _EXP_MAX:
            self.invalid += 1
            return INVALID
        if st & _ST_NO_TARGET or exp < _EXP_MIN or strength == 0:
            self.range_mm = 0
            self.out_of_range += 1
            return OUT_OF_RANGE
        # mantissa m = 1.b2[6:0] f[3] f[2] (24 bits) as its high 16 bits and
        # its low octet f[2]: mm = floor(m * 1000 / 2^(150 - exp)), split so
        # |x| < 2^30 (m >> 8 and m & 0xFF straight from the octets)
        sh = _EXP_BIAS_MM - exp - 8
        mm = (0x8000 | ((b2 & 0x7F) << 8) | f[3]) * 1000 + ((f[2] * 1000) >> 8)
        if sh >= 0:
            mm >>= sh
        else:
            mm <<= -sh                    # exp in 143..: excluded above
        if mm >= self.max_range_mm:
            self.range_mm = mm
            self.out_of_range += 1
            return OUT_OF_RANGE
        self.range_mm = mm
        return OK
