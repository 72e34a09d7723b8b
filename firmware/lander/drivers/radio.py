# Transparent UART radio (SiK / RFD900-class): bytes written to its serial
# port come out over the air. MicroPython's UART.write may block until the
# whole buffer is in the driver's TX ring, so this driver never hands the UART
# more than the serial line can carry in one control cycle:
#   budget = baudrate / 10 (8N1) * cycle period, with the fraction carried.
# Telemetry is queued in a preallocated ring and drained by service() once per
# cycle. Optional CTS (the radio's flow-control output, low = clear to send,
# SiK "RTSCTS" option): while CTS is high nothing is written that cycle.
# Writes are all-or-nothing per call (a frame is never split by a drop), and
# every byte dropped because the ring was full is counted.
from lander.compat import const
from lander.events import post

_US_PER_S = const(1000000)

# Events (radio 0x0170-0x017F)
EV_RADIO_DROP = const(0x0170)        # first drop after a successful queue (arg: bytes)
EV_RADIO_CTS_HELD = const(0x0171)    # CTS held high for cts_alarm cycles
EV_RADIO_UART_ERROR = const(0x0172)


class Radio:
    def __init__(self, uart, baudrate=57600, period_us=20000, cts=None,
                 ring_size=2048, max_chunk=128, cts_alarm=250):
        self._uart = uart
        self._cts = cts
        bytes_per_s = baudrate // 10
        total = bytes_per_s * period_us           # start-up: may exceed 2^30 on host
        self.budget = total // _US_PER_S          # whole bytes per cycle
        self._frac = total % _US_PER_S            # carried remainder per cycle
        self._acc = 0
        if self.budget < 1 and self._frac == 0:
            raise ValueError("radio budget")
        chunk = self.budget + 1
        if chunk > max_chunk:
            chunk = max_chunk
        self._chunk = chunk
        self._stage = bytearray(chunk)
        mv = memoryview(self._stage)
        # one view per possible write length, made now: no slicing per cycle
        # (a list of its exact size filled in a loop, no comprehension)
        views = [None] * (chunk + 1)  # type: list
        for k in range(chunk + 1):
            views[k] = mv[0:k]
        self._views = views
        self._ring = bytearray(ring_size)
        self._size = ring_size
        self._head = 0                            # next byte to send
        self.queued = 0                           # bytes waiting in the ring
        self.bytes_sent = 0
        self.bytes_dropped = 0
        self.writes_dropped = 0
        self.deferred = 0                         # cycles held by CTS
        self.short_writes = 0                     # UART took fewer bytes than asked
        self.errors = 0
        self.bytes_received = 0
        self._cts_run = 0
        self._cts_alarm = cts_alarm
        self._drop_armed = True

    def free(self):
        return self._size - self.queued

    def write(self, data, n=-1):
        """Queue n bytes of data (all of it by default). All or nothing; never blocks."""
        if n < 0:
            n = len(data)
        if n > self._size - self.queued:
            self.bytes_dropped += n
            self.writes_dropped += 1
            if self._drop_armed:
                self._drop_armed = False
                post(EV_RADIO_DROP, n)
            return 0
        ring = self._ring
        size = self._size
        t = self._head + self.queued
        if t >= size:
            t -= size
        if n == len(data) and t + n <= size:
            ring[t:t + n] = data          # slice store: C copy, allocates nothing
        else:
            for i in range(n):
                ring[t] = data[i]
                t += 1
                if t == size:
                    t = 0
        self.queued += n
        self._drop_armed = True
        return n

    def service(self):
        """Once per cycle: hand the UART what the line carries this cycle."""
        b = self.budget
        self._acc += self._frac
        if self._acc >= _US_PER_S:
            self._acc -= _US_PER_S
            b += 1
        if self.queued == 0:
            return 0
        cts = self._cts
        if cts is not None and cts.value():
            self.deferred += 1
            self._cts_run += 1
            if self._cts_run == self._cts_alarm:
                post(EV_RADIO_CTS_HELD, self._cts_run)
            return 0
        self._cts_run = 0
        k = self.queued
        if k > b:
            k = b
        if k > self._chunk:
            k = self._chunk
        ring = self._ring
        stage = self._stage
        size = self._size
        h = self._head
        for i in range(k):
            stage[i] = ring[h]
            h += 1
            if h == size:
                h = 0
        try:
            sent = self._uart.write(self._views[k])
        except OSError:
            sent = 0
            self.errors += 1
            post(EV_RADIO_UART_ERROR, 0)
        if sent is None:
            sent = 0
        if sent < k:
            self.short_writes += 1
        h = self._head + sent
        if h >= size:
            h -= size
        self._head = h
        self.queued -= sent
        self.bytes_sent += sent
        return sent

    def receive(self, buf):
        """Uplink: read what the radio has delivered into buf; count. Never blocks."""
        try:
            n = self._uart.readinto(buf)
        except OSError:
            self.errors += 1
            return 0
        if not n:
            return 0
        self.bytes_received += n
        return n
