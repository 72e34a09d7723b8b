# Attitude-control unit (ACU): the vehicle's attitude set-point over a UART,
# framed, checksummed and acknowledged (docs/protocols.md, "Attitude-control
# unit"). The ACU flies the vehicle's pitch to the set-point with its own
# actuators (RCS / reaction wheels) over the whole max_pitch range; the engine
# gimbal only trims the thrust line.
#
#   frame   : A5 cmd seq len payload[len] chk
#   chk     : (-(cmd + seq + len + sum(payload))) & 0xFF, so the bytes from cmd
#             through chk sum to 0 mod 256
#   SET  01 : payload int16 LE set-point, binary angle (2^16 per turn)
#   PING 02 : no payload
#   ACK  81/82 : payload status u8, int16 LE set-point applied (after the
#             unit's own travel clamp); seq echoes the command's
#   NAK  7F : payload reason u8 (1 checksum, 2 unknown command, 3 length)
#
# One set-point per cycle; the acknowledgement of cycle n is read at cycle
# n + 1 (the line takes ~0.6 ms each way at 115200 baud, the unit answers at
# once). Missing acknowledgements are counted and raise an event once per run
# of misses; the unit holds its last set-point if the commands stop.
from lander.compat import const
from lander.drivers import OK, NOT_READY, INVALID
from lander.drivers.uart_rx import RxWindow
from lander.events import post

SYNC = const(0xA5)
CMD_SET = const(0x01)
CMD_PING = const(0x02)
ACK_BIT = const(0x80)
NAK = const(0x7F)
_SET_LEN = const(7)
_ACK_LEN = const(8)           # A5 81 seq 03 st lo hi chk
_RX_CHUNK = const(32)
_BUF_LEN = const(48)
_MISS_EVENT = const(5)        # consecutive missing acks before EV_ACU_NO_ACK
_DEG_TO_BAU_X100 = const(18204)   # 65536 / 360 * 100

# Events (attitude unit 0x01A0-0x01AF)
EV_ACU_NO_ACK = const(0x01A0)     # arg = consecutive misses
EV_ACU_NAK = const(0x01A1)        # arg = reason
EV_ACU_BACK = const(0x01A2)       # acknowledgements resumed
EV_ACU_LIMITED = const(0x01A3)    # arg = applied set-point (the unit clamped ours)


class AttitudeUnit:
    def __init__(self, uart, max_pitch_deg=60):
        self._uart = uart
        self.max_pitch = (max_pitch_deg * _DEG_TO_BAU_X100) // 100
        self._tx = bytearray(_SET_LEN)
        self._tx[0] = SYNC
        self._tx[1] = CMD_SET
        self._tx[3] = 2
        # the frame of set-point 0 with seq 0 (what setpoint and seq say was
        # sent last): set_pitch's fast path checks an acknowledgement
        # against it. Check octet -(CMD_SET + 0 + 2 + 0 + 0) & 0xFF
        self._tx[6] = (-(CMD_SET + 2)) & 0xFF
        self._rx = RxWindow(_BUF_LEN, _RX_CHUNK)
        self.setpoint = 0          # last set-point sent, binary angle
        self.applied = 0           # last set-point the unit acknowledged
        self.seq = 0
        self.status = NOT_READY
        self.acks = 0
        self.naks = 0
        self.missed = 0            # consecutive cycles without the expected ack
        self.errors = 0            # write errors and bad frames
        self._pending = False
        self._limited = False

    def set_pitch(self, angle=None):
        """Read the previous acknowledgement (status OK when the pending
        set-point was acknowledged); then, given an angle, send this cycle's
        set-point. Returns the status. One method for both: the cycle path
        makes one call (a call more costs ~2.5 k fuel on the 32-bit
        interpreter)."""
        rx = self._rx
        uart = self._uart
        seq = self.seq
        # rx.fill(self._uart) inline (a call costs ~2.5 k fuel a cycle): what
        # the UART holds, at most _RX_CHUNK octets, after the unparsed tail.
        # The parser below leaves at most 12 octets (an unfinished frame of
        # at most 5 + 8, or 3 before one could start), so the room left is
        # worked out only past _BUF_LEN - _RX_CHUNK (~1 k fuel a cycle)
        n = rx.n
        space = _RX_CHUNK
        if n > _BUF_LEN - _RX_CHUNK:
            space = _BUF_LEN - n
        if space > 0:
            try:
                got = uart.readinto(rx._tails[n], space)
                if got:
                    n += got
                    rx.n = n
            except OSError:
                self.errors += 1
        buf = rx.buf
        tx = self._tx                # the frame of the set-point sent last
        got = False
        # fast path: exactly the acknowledgement of the set-point sent last,
        # applied as sent, and nothing else (the nominal case): A5 81 seq 03
        # st lo hi chk with lo, hi = tx[4], tx[5]; its check octet then
        # follows from ours: -(0x81 + seq + 3 + st + lo + hi) = tx[6] - 0x81
        # - st (mod 256). No set-point to decode, none limited (~1 k fuel).
        # Anything else goes through the general parser below.
        if n == _ACK_LEN and buf[0] == SYNC and buf[1] == (ACK_BIT | CMD_SET) and buf[2] == seq \
                and buf[3] == 3 and buf[5] == tx[4] and buf[6] == tx[5] \
                and buf[7] == (tx[6] - (ACK_BIT | CMD_SET) - buf[4]) & 0xFF:
            self.applied = self.setpoint
            got = True
            if self._limited:
                self._limited = False
            rx.n = 0                 # the window held exactly this frame: consumed
        else:
            i = 0
            while i + 4 <= n:
                if buf[i] != SYNC:
                    i += 1
                    continue
                ln = buf[i + 3]
                if ln > 8:
                    i += 1
                    continue
                end = i + 5 + ln
                if end > n:
                    break
                s = 0
                for j in range(i + 1, end):
                    s += buf[j]
                if s & 0xFF:
                    self.errors += 1
                    i += 1
                    continue
                cmd = buf[i + 1]
                if cmd == (ACK_BIT | CMD_SET) and ln == 3:
                    if buf[i + 2] == seq:
                        v = buf[i + 5] | (buf[i + 6] << 8)
                        self.applied = v - 0x10000 if v & 0x8000 else v
                        got = True
                        lim = self.applied != self.setpoint
                        if lim and not self._limited:
                            post(EV_ACU_LIMITED, self.applied)
                        self._limited = lim
                elif cmd == NAK and ln == 1:
                    self.naks += 1
                    post(EV_ACU_NAK, buf[i + 4])
                i = end
            rx.consume(i)
        if got:
            self.acks += 1
            if self.missed:
                if self.missed >= _MISS_EVENT:
                    post(EV_ACU_BACK, self.missed)
                self.missed = 0
            self.status = OK
        elif self._pending:
            self.missed += 1
            if self.missed == _MISS_EVENT:
                post(EV_ACU_NO_ACK, self.missed)
            self.status = INVALID if self.missed >= _MISS_EVENT else NOT_READY
        if angle is not None:
            a = angle
            lim = self.max_pitch
            if a > lim:
                a = lim
            elif a < -lim:
                a = -lim
            self.setpoint = a
            seq = (seq + 1) & 0xFF
            self.seq = seq
            lo = a & 0xFF
            hi = (a >> 8) & 0xFF
            tx[2] = seq
            tx[4] = lo
            tx[5] = hi
            # -(CMD_SET + seq + len 2 + lo + hi) mod 256, the constants folded
            tx[6] = (-3 - seq - lo - hi) & 0xFF
            try:
                uart.write(tx)
                # pending: this set-point (an acknowledged one no longer is)
                self._pending = True
            except OSError:
                self.errors += 1
                if got:
                    self._pending = False
        elif got:
            self._pending = False
        return self.status

    def poll(self):
        """Parse what arrived; set status OK when the pending set-point was acknowledged."""
        return self.set_pitch()
