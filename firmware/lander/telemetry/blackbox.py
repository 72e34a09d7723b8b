# Black box: the critical state, decimated to `every` cycles (5 Hz at 50 Hz),
# packed with the packet table's BB_RECORD layout into the record store's RAM
# batch (drivers/storage.py: whole records, magic, length, sequence number,
# CRC-16) and written to flash once per second (one write + one fs flush), so
# a flash stall costs one cycle a second, never every cycle. At boot the store
# scans the file and keeps only whole records with a good CRC (a power cut
# mid-write loses at most the batch being written).
#
# After landing the recording freezes (a few seconds after touchdown, so the
# last records show the vehicle at rest) and the telemetry stage downlinks the
# records newest first, one per second of flight, over and over (the end of the
# flight is what a lost live link has most likely missed, and the link may be
# down during any one pass). A dump_blackbox telecommand (after landing) sends
# a range of records oldest first, each once, ahead of the rolling passes
# (telemetry/stage.py start_dump); the rolling passes resume after it.
from lander.compat import const
from lander.events import post

EV_BB_FROZEN = const(0x0400)     # arg: records in flash
EV_BB_FLUSH_FAIL = const(0x0401)  # arg: records pending
EV_BB_DUMP = const(0x0402)       # a dump_blackbox telecommand started a dump (arg: records)
EV_BB_DUMP_DONE = const(0x0403)  # the dump's last record went out (arg: records sent)


class BlackBox:
    def __init__(self, storage, encoder, rate_hz, every=10):
        self.store = storage
        self.enc = encoder
        self.every = every
        self.flush_every = rate_hz          # cycles between flash writes (1 Hz)
        self.stride = rate_hz // every if rate_hz >= every else 1   # records per second
        self.rec = bytearray(encoder.bb_len)
        self._k = 0
        self._f = 0
        self.frozen = False
        self.recorded = 0
        # downlink cursor: newest first, `every`-strided passes
        self._start = -1
        self._pass = 0
        self._next = -1

    def step(self, busy=False):
        """Once per cycle (while not frozen). busy: the cycle already built a
        packet; a record due now waits for the next cycle (spreads the cost)."""
        st = self.store
        if st is None or self.frozen:
            return
        self._k += 1
        if self._k >= self.every and not busy:
            self._k = 0
            self.enc.pack_fields(self.enc.bb_index, self.rec, 0)
            if st.append(self.rec):
                self.recorded += 1
        self._f += 1
        if self._f >= self.flush_every:
            self._f = 0
            if not st.flush():
                post(EV_BB_FLUSH_FAIL, st.pending)

    def freeze(self):
        st = self.store
        if self.frozen:
            return
        self.frozen = True
        if st is None:
            return
        st.flush()
        post(EV_BB_FROZEN, st.count)
        self._start = st.count - 1
        self._pass = 0
        self._next = self._start

    def next_index(self):
        """The next record index to downlink, or -1 when there is none.
        Newest first, one record per second of flight (`stride` records), and
        the pass repeats: the link may have been down during the last one."""
        if self._start < 0:
            return -1
        i = self._next
        nxt = i - self.stride
        if nxt < 0:
            nxt = self._start
            self._pass += 1
        self._next = nxt
        return i
