# The telemetry stage: a clock for packet time, the black box, the packet
# scheduler and the framer, paced at the over-the-air bit rate.
#
# Each cycle the stage earns bitrate * period air time (integer bits, the
# remainder carried), turns it into whole octets of the CADU stream (framer)
# and queues them on the radio; the radio driver hands them to the UART. So the
# radio's own buffer stays near empty and a packet is sampled just before it
# goes on the air. Nothing waits in a queue: what is not due is not built.
#
# Scheduler (next_packet, called by the framer when its packet is used up):
#   1. events from the event ring, at once (one per packet), but at most
#      EV_BURST in a row while the critical packet is due;
#   2. the critical descent state, every crit_period_ms (1 Hz) while flying;
#   3. housekeeping every hk_period_ms;
#   4. after landing: the beacon (on change, at least every beacon_min_ms,
#      at most beacon_max_ms apart) and the black box, newest first;
#   5. an idle packet (APID 0x7FF) otherwise.
# A periodic packet that comes due more than one period late counts as
# skipped (`skipped`); events the ring could not hold are counted there
# (events.dropped). `silenced[k]` stops packet k (a ground command, later).
from array import array

from lander.compat import const, ticks_diff
from lander.events import events, post
from lander.telemetry import packets as P
from lander.telemetry.blackbox import BlackBox, EV_BB_DUMP, EV_BB_DUMP_DONE
from lander.telemetry.encoder import PacketEncoder
from lander.telemetry.frames import Framer

_K_CRIT = const(0)
_K_EVENT = const(1)
_K_HK = const(2)
_K_BB = const(3)
_K_BEACON = const(4)
_EV_BURST = const(3)
_IDLE_LEN = const(16)
_LANDED_FREEZE_MS = const(3000)
_US_PER_S = const(1000000)


class Telemetry:
    def __init__(self, app, board, cfg, frame_len=128, rs_e=8, bitrate_bps=2000):
        self.app = app
        cfg_bps = getattr(cfg, "tlm_bitrate_bps", 0)
        if cfg_bps:
            bitrate_bps = cfg_bps
        frame_len = getattr(cfg, "tlm_frame_len", 0) or frame_len
        rs_e = getattr(cfg, "tlm_rs_e", rs_e)
        # the real drivers (a sensor the executive disabled is a stand-in
        # holding its driver: its last values stay readable)
        imu = getattr(board, "imu", None)
        alt = getattr(board, "altimeter", None)
        radio = getattr(board, "radio", None)
        # the packet table's sources, in the order of packets.S_* (one list
        # literal: an item store per source cost ~8 bytes of .mpy each)
        src = [app,                                  # S_APP
               app.nav,                              # S_NAV
               app.guid,                             # S_GUID
               app.ctrl,                             # S_CTRL
               getattr(imu, "driver", imu),          # S_IMU
               getattr(alt, "driver", alt),          # S_ALT
               getattr(board, "power", None),        # S_POWER
               getattr(board, "baro", None),         # S_BARO
               self,                                 # S_TLM
               events,                               # S_EVENTS
               radio,                                # S_RADIO
               getattr(board, "storage", None),      # S_STORE
               cfg,                                  # S_CFG
               getattr(app, "cmd", None),            # S_CMD
               getattr(app, "ckpt", None)]           # S_CKPT
        if radio is not None and not (hasattr(radio, "write") and hasattr(radio, "free")
                                      and hasattr(radio, "service")):
            radio = None                 # an uplink-only stand-in: nothing to send with
        self.radio = radio
        # air time per cycle: whole bits + a remainder in units of 1/1e6 bit
        period_us = 1000000 // cfg.rate_hz
        # bitrate * period / 1e6 without a product beyond 2^30 (19200 bit/s at
        # 10 Hz is 1.9e9): bitrate = 1000 h + l, h * period = 1000 a1 + a0
        hp = (bitrate_bps // 1000) * period_us
        rest = (hp % 1000) * 1000 + (bitrate_bps % 1000) * period_us
        self.bits_per_cycle = hp // 1000 + rest // _US_PER_S
        self._bits_frac = rest % _US_PER_S
        self.bitrate_bps = bitrate_bps
        self._acc = 0
        self.credit = 0
        # one cycle's octets (+1 for the carried fraction, +1 for the credit
        # left over), at least 64; unsent air time is banked up to one buffer
        nout = (self.bits_per_cycle >> 3) + 2
        if nout < 64:
            nout = 64
        self._out = bytearray(nout)
        self._credit_max = nout << 3
        # clock (agency-defined epoch: the clock value of the first cycle)
        self.sec = 0
        self.usec = 0
        self.time_ms = 0
        self._fine = 0
        self._last_us = 0
        self._clock_started = False
        # scheduler state
        self.crit_period_ms = 950           # >= 1 Hz with the frame-boundary jitter
        self.hk_period_ms = 5000
        self.beacon_min_ms = 2000
        self.beacon_max_ms = 8000
        self._last = array("i", (-1000000, -1000000, -1000000, -1000000, -1000000))
        self.silenced = bytearray(len(P.LAYOUTS))
        self._ev = array("i", (0, 0, 0))
        self.ev_time_ms = 0
        self.ev_code = 0
        self.ev_arg = 0
        self._ev_burst = 0
        self.last_fault = 0
        self.last_fault_arg = 0
        self._beacon_sum = -1
        self.bb_seq = 0
        self.bb_sent = 0
        # a commanded dump: records dump_next .. dump_end - 1, oldest first
        self.dump_next = 0
        self.dump_end = 0
        self.dump_sent = 0
        self.dump_lost = 0            # records of the range that did not read back
        self.dumps = 0
        self.landed = False
        self._landed_ms = 0
        self.skipped = 0
        self.frames = 0
        self.built = False          # a packet was built this cycle
        self.events_unsent = 0      # events drained without a radio
        # last: the encoder resolves every source attribute now (those of this
        # stage included), a missing one being a reserved field
        self.enc = PacketEncoder(src)
        self.framer = Framer(self, frame_len, rs_e)
        self.bb = BlackBox(src[P.S_STORE], self.enc, cfg.rate_hz)

    # --- per cycle -----------------------------------------------------
    def update(self, now_us):
        self._clock(now_us)
        app = self.app
        if not self.landed and (app.touchdown or app.engine_cut):
            self.landed = True
            self._landed_ms = self.time_ms
        self.built = False
        # air time earned this cycle -> octets of the CADU stream
        c = self.credit + self.bits_per_cycle
        self._acc += self._bits_frac
        if self._acc >= _US_PER_S:
            self._acc -= _US_PER_S
            c += 1
        n = c >> 3
        out = self._out
        if n > len(out):
            n = len(out)
        radio = self.radio
        if n > 0 and radio is not None and radio.free() >= n:
            self.framer.pump(out, n)
            radio.write(out, n)
            c -= n << 3
        if c > self._credit_max:
            c = self._credit_max  # the radio could not take it: air time is not banked
        self.credit = c
        self.frames = self.framer.frames
        if radio is not None:
            radio.service()
        else:
            # nothing to send with: the ring is still drained (counted), so
            # it never fills and hides the events of a later downlink
            ev = self._ev
            while events.pop_into(ev):
                self.events_unsent += 1
        bb = self.bb
        if not bb.frozen:
            bb.step(self.built)
            if self.landed and self.time_ms - self._landed_ms >= _LANDED_FREEZE_MS:
                bb.freeze()

    def _clock(self, now_us):
        if not self._clock_started:
            self._clock_started = True
            self.sec = now_us // _US_PER_S
            self.usec = now_us - self.sec * _US_PER_S
        else:
            d = ticks_diff(now_us, self._last_us)
            if d > 0:
                u = self.usec + d
                while u >= _US_PER_S:
                    u -= _US_PER_S
                    self.sec += 1
                self.usec = u
        self._last_us = now_us
        self.time_ms = self.sec * 1000 + self.usec // 1000
        # CUC fine time in 2^-16 s: us * 2^16 / 10^6 = (us / 16) * 2^14 / 15625
        # ((us >> 4) << 14 stays below 2^30)
        self._fine = ((self.usec >> 4) << 14) // 15625

    # --- the scheduler (called by the framer) ----------------------------
    def _due(self, k, period):
        if self.silenced[k]:
            return False
        late = self.time_ms - self._last[k]
        if late < period:
            return False
        if late >= 2 * period and self._last[k] > -1000000:
            self.skipped += 1
        return True

    def next_packet(self, buf, room):
        """The next packet into buf (its length). room: octets left in the
        current frame's data field."""
        enc = self.enc
        sec = self.sec
        fine = self._fine
        now = self.time_ms
        last = self._last
        crit_due = (not self.landed) and self._due(_K_CRIT, self.crit_period_ms)
        if events.count > 0 and not self.silenced[_K_EVENT] and (
                not crit_due or self._ev_burst < _EV_BURST):
            ev = self._ev
            events.pop_into(ev)
            self.app.events_sent += 1
            self.ev_time_ms = ev[0]
            self.ev_code = ev[1]
            self.ev_arg = ev[2]
            c = ev[1]
            if c > 0x0002 and (c < 0x0400 or c > 0x04FF) and c != 0x01F1:
                # the last event that is not boot, board-ready or telemetry's own
                self.last_fault = c
                self.last_fault_arg = ev[2]
            self._ev_burst += 1
            self.built = True
            return enc.build(_K_EVENT, buf, sec, fine)
        if crit_due:
            last[_K_CRIT] = now
            self._ev_burst = 0
            self.built = True
            return enc.build(_K_CRIT, buf, sec, fine)
        if self._due(_K_HK, self.hk_period_ms):
            last[_K_HK] = now
            self.built = True
            return enc.build(_K_HK, buf, sec, fine)
        if self.landed:
            if not self.silenced[_K_BEACON] and now - last[_K_BEACON] >= self.beacon_min_ms:
                n = enc.build(_K_BEACON, buf, sec, fine)
                s = 0
                for i in range(P.HEADER_LEN, n):
                    s += buf[i]
                if s != self._beacon_sum or now - last[_K_BEACON] >= self.beacon_max_ms:
                    self._beacon_sum = s
                    last[_K_BEACON] = now
                    return n
                # unchanged and not yet due: undo the sequence count
                enc.seq[_K_BEACON] = (enc.seq[_K_BEACON] - 1) & 0x3FFF
                enc.counts[_K_BEACON] -= 1
            if self.bb.frozen and not self.silenced[_K_BB]:
                n = 0
                if self.dump_next < self.dump_end:
                    n = self._dump(buf, sec, fine)
                if n == 0:
                    n = self._blackbox(buf, sec, fine)
                if n > 0:
                    return n
        return enc.idle(buf, _IDLE_LEN)

    # --- the black box ------------------------------------------------------
    def start_dump(self, start, count):
        """A dump_blackbox telecommand: records start .. start + count - 1
        (count 0, or past the end: to the last record) are sent oldest first,
        each once, ahead of the rolling passes. Returns 0, or 11 (REJ_RANGE:
        no such record) / 14 (REJ_EXEC: no black box). Exceptional path."""
        bb = self.bb
        st = bb.store
        if st is None:
            return 14
        if not bb.frozen:
            bb.freeze()
        n = st.count
        if start < 0 or start >= n:
            return 11
        end = n if count <= 0 or count > n - start else start + count
        self.dump_next = start
        self.dump_end = end
        self.dump_sent = 0
        self.dump_lost = 0
        self.dumps += 1
        post(EV_BB_DUMP, end - start)
        return 0

    def _dump(self, buf, sec, fine):
        st = self.bb.store
        rec = self.bb.rec
        while self.dump_next < self.dump_end:
            i = self.dump_next
            self.dump_next = i + 1
            if st.read_record(i, rec) == len(rec):
                n = self._bb_packet(i, buf, sec, fine)
                self.dump_sent += 1
                if self.dump_next >= self.dump_end:
                    post(EV_BB_DUMP_DONE, self.dump_sent)
                return n
            self.dump_lost += 1
        post(EV_BB_DUMP_DONE, self.dump_sent)
        return 0

    def _blackbox(self, buf, sec, fine):
        bb = self.bb
        st = bb.store
        rec = bb.rec
        if st is None:
            return 0
        while True:
            i = bb.next_index()
            if i < 0:
                return 0
            got = st.read_record(i, rec)
            if got == len(rec):
                break
        return self._bb_packet(i, buf, sec, fine)

    def _bb_packet(self, i, buf, sec, fine):
        """The black-box packet of record i (already read into bb.rec)."""
        rec = self.bb.rec
        self.bb_seq = i          # record index in the store (its sequence below)
        enc = self.enc
        n = enc.lengths[_K_BB]
        enc.header(_K_BB, buf, n, sec, fine)
        # bb_seq (4 octets) then the record as stored
        o = P.HEADER_LEN
        buf[o] = (i >> 24) & 0xFF
        buf[o + 1] = (i >> 16) & 0xFF
        buf[o + 2] = (i >> 8) & 0xFF
        buf[o + 3] = i & 0xFF
        o += 4
        for j in range(len(rec)):
            buf[o + j] = rec[j]
        self.bb_sent += 1
        return n
