# Hardware-in-the-loop, board side: buses that are a register mirror kept up
# to date over a serial link, one framed exchange per cycle.
#
# The host runs the simulator and the register-level emulators; the board runs
# the firmware. Each cycle the host sends one frame 'S' (seq, clock, the
# mirror: the I2C reads the board made last cycle, re-done on the emulators in
# the same order per device, the bytes each UART received, pin levels, ADC
# values); the board runs App.step on it and answers one frame 'C' (the same
# seq, every output it made in order: I2C and UART writes, pin and PWM
# changes, watchdog feeds; its read log; a few state words for the display).
# A read the mirror does not hold (start-up, a changed read pattern) is one
# extra exchange 'P'/'R' with the host (exact, counted as a miss).
#
# Frame: A5 5A | type | seq (u16 LE) | length (u16 LE) | payload | CRC-16
# (CCITT, poly 0x1021, init 0xFFFF, over type..payload, LE). A frame with a bad
# CRC is dropped (counted) and the host resends; a cycle frame with the seq
# already stepped is answered with the kept reply, not stepped twice. Start-up
# and tools only: this module allocates; it is the board's C bus driver's
# stand-in, not part of the measured cycle.
from lander.compat import const

SYNC0 = const(0xA5)
SYNC1 = const(0x5A)

# op codes in payloads
OP_I2C_WRITE = const(1)    # bus, addr, reg, n, data
OP_UART_WRITE = const(2)   # uart, n16, data
OP_PIN_INIT = const(3)     # pin, mode+1, pull+1, value+1 (0 = not given)
OP_PIN_SET = const(4)      # pin, value
OP_PWM_INIT = const(5)     # pin, freq u32 (0 = none), duty_ns+1 u32 (0 = none)
OP_PWM_DUTY = const(6)     # pin, duty_ns u32
OP_PWM_FREQ = const(7)     # pin, freq u32
OP_WDT_INIT = const(8)     # timeout_ms u32
OP_WDT_FEED = const(9)
OP_I2C_READLOG = const(10)  # bus, addr, reg, n: a read made this cycle
OP_I2C_READ = const(11)    # RPC: bus, addr, reg, n
OP_PIN_READ = const(12)    # RPC: pin
OP_ADC_READ = const(13)    # RPC: pin
OP_STATE = const(14)       # i32 x 8: alt, vz, vx, phase, flags, cycle, stage_faults, misses
OP_ADC_LOG = const(16)     # pin: an ADC read made this cycle
OP_SLEEP = const(17)       # us u32: the firmware waited (a part's settling time)
# host -> board mirror sections
MI_I2C = const(0x11)       # bus, addr, reg, n, status, data
MI_UART = const(0x12)      # uart, n16, data
MI_PIN = const(0x13)       # pin, level
MI_ADC = const(0x14)       # pin, u16

_CRC_TABLE = None


def _crc_table():
    global _CRC_TABLE
    if _CRC_TABLE is None:
        from array import array
        t = array("H", [0] * 256)
        for i in range(256):
            c = i << 8
            for _ in range(8):
                c = ((c << 1) ^ 0x1021) if c & 0x8000 else (c << 1)
            t[i] = c & 0xFFFF
        _CRC_TABLE = t
    return _CRC_TABLE


def crc16(data, start=0, end=-1, crc=0xFFFF):
    t = _crc_table()
    if end < 0:
        end = len(data)
    for i in range(start, end):
        crc = ((crc << 8) & 0xFF00) ^ t[((crc >> 8) ^ data[i]) & 0xFF]
    return crc


def frame(typ, seq, payload):
    n = len(payload)
    out = bytearray(7 + n + 2)
    out[0] = SYNC0
    out[1] = SYNC1
    out[2] = typ
    out[3] = seq & 0xFF
    out[4] = (seq >> 8) & 0xFF
    out[5] = n & 0xFF
    out[6] = (n >> 8) & 0xFF
    out[7:7 + n] = payload
    c = crc16(out, 2, 7 + n)
    out[7 + n] = c & 0xFF
    out[8 + n] = c >> 8
    return out


class LinkTimeout(OSError):
    pass


class Link:
    """Frames over a byte stream. read(n) returns exactly n bytes or raises
    LinkTimeout; write(b) writes all of b. recv() hunts for the sync bytes,
    drops frames with a bad CRC (counted) and returns (type, seq, payload)."""

    def __init__(self, read, write):
        self.read = read
        self.write = write
        self.crc_errors = 0
        self.frames_in = 0
        self.frames_out = 0

    def send(self, typ, seq, payload):
        self.write(frame(typ, seq, payload))
        self.frames_out += 1

    def recv(self):
        b = self.read(1)[0]
        while True:
            while b != SYNC0:
                b = self.read(1)[0]
            b = self.read(1)[0]
            if b != SYNC1:
                continue                 # b may be the first sync octet of the frame
            head = self.read(5)
            n = head[3] | (head[4] << 8)
            body = self.read(n + 2)
            c = crc16(head, 0, 5)
            c = crc16(body, 0, n, c)
            if c != (body[n] | (body[n + 1] << 8)):
                self.crc_errors += 1
                b = self.read(1)[0]
                continue
            self.frames_in += 1
            return head[0], head[1] | (head[2] << 8), bytes(body[:n])


def u16(b, p):
    return b[p] | (b[p + 1] << 8)


def i32(b, p):
    """A little-endian 32-bit word holding a value |v| < 2^30 (31-bit safe)."""
    lo = b[p] | (b[p + 1] << 8)
    hi = b[p + 2] | (b[p + 3] << 8)
    if hi >= 0x8000:
        # (hi - 2^16) * 2^16 + lo, without forming -2^30 on the way
        return ((hi - 0xFFFF) << 16) + lo - 0x10000
    return (hi << 16) | lo


u32 = i32


def put_u32(out, v):
    """Append v (|v| < 2^30) as a little-endian 32-bit two's complement word."""
    lo = v & 0xFFFF
    hi = (v >> 16) & 0xFFFF
    out.append(lo & 0xFF)
    out.append(lo >> 8)
    out.append(hi & 0xFF)
    out.append(hi >> 8)


class Node:
    """The board's end of the link: the mirror, the queued outputs, RPC."""

    def __init__(self, link):
        self.link = link
        self.ops = bytearray()          # outputs since the last exchange, in order
        self.readlog = bytearray()      # this cycle's I2C reads (bus, addr, reg, n, words)
        self.i2c = {}                   # (bus << 8 | addr) -> [entries]; entry = (key, status, data)
        self.levels = {}                # pin -> level (inputs)
        self.adc = {}                   # pin -> [u16] (this cycle's reads, in order)
        self.uarts = {}                 # uart id -> MirrorUART
        self.rpc_seq = 0
        self.misses = 0
        self.cycle_mode = False

    # --- RPC: one extra exchange for a value the mirror does not hold ---------
    def rpc(self, op, args):
        req = self.ops
        self.ops = bytearray()
        req.append(op)
        req.extend(args)
        self.rpc_seq = (self.rpc_seq + 1) & 0xFFFF
        self.link.send(0x50, self.rpc_seq, req)          # 'P'
        while True:
            typ, seq, payload = self.link.recv()
            if typ == 0x52 and seq == self.rpc_seq:      # 'R'
                return payload
            if typ == 0x50:                              # host resends: our request was lost
                self.link.send(0x50, self.rpc_seq, req)

    # --- the mirror, from a cycle frame -------------------------------------
    def load(self, payload, p):
        self.i2c = {}
        self.adc = {}
        n = len(payload)
        while p < n:
            kind = payload[p]
            if kind == MI_I2C:
                bus, addr, reg, cnt, words, status = payload[p + 1:p + 7]
                data = payload[p + 7:p + 7 + cnt]
                dev = (bus << 8) | addr
                lst = self.i2c.get(dev)
                if lst is None:
                    lst = []
                    self.i2c[dev] = lst
                lst.append(((reg << 9) | (cnt << 1) | words, status, data))
                p += 7 + cnt
            elif kind == MI_UART:
                uid = payload[p + 1]
                cnt = u16(payload, p + 2)
                u = self.uarts.get(uid)
                if u is not None:
                    u.feed(payload, p + 4, cnt)
                p += 4 + cnt
            elif kind == MI_PIN:
                self.levels[payload[p + 1]] = payload[p + 2]
                p += 3
            elif kind == MI_ADC:
                lst = self.adc.get(payload[p + 1])
                if lst is None:
                    lst = []
                    self.adc[payload[p + 1]] = lst
                lst.append(u16(payload, p + 2))
                p += 4
            else:
                raise ValueError("hil: mirror section %d" % kind)

    def i2c_read(self, bus, addr, reg, buf, words):
        cnt = len(buf) * (2 if words else 1)
        self.readlog.extend((OP_I2C_READLOG, bus, addr, reg, cnt, words))
        key = (reg << 9) | (cnt << 1) | words
        dev = (bus << 8) | addr
        lst = self.i2c.get(dev)
        hit = -1
        if self.cycle_mode and lst:
            for i in range(len(lst)):
                if lst[i][0] == key:
                    hit = i
                    break
        if lst and hit >= 0:
            # the next read of this device in its usual order; reads the
            # snapshot holds before it were not made this cycle (a periodic
            # check last cycle): they are dropped unread
            entry = lst[hit]
            self.i2c[dev] = lst[hit + 1:]
            status, data = entry[1], entry[2]
        else:
            # not in the mirror (start-up; a read this cycle adds, such as a
            # periodic configuration check): ask the host. The device's
            # snapshot stays for the reads that follow in their usual order.
            if self.cycle_mode:
                self.misses += 1
            r = self.rpc(OP_I2C_READ, bytes((bus, addr, reg, cnt, words)))
            status, data = r[0], r[1:]
        if status:
            raise OSError(status)
        if words:
            for i in range(len(buf)):
                v = data[2 * i] | (data[2 * i + 1] << 8)
                buf[i] = v - 0x10000 if v >= 0x8000 else v
        else:
            for i in range(cnt):
                buf[i] = data[i]

    def pin_level(self, pin):
        if self.cycle_mode and pin in self.levels:
            return self.levels[pin]
        r = self.rpc(OP_PIN_READ, bytes((pin,)))
        self.levels[pin] = r[0]
        return r[0]

    def adc_read(self, pin):
        self.readlog.extend((OP_ADC_LOG, pin))
        lst = self.adc.get(pin)
        if self.cycle_mode and lst:
            return lst.pop(0)
        if self.cycle_mode:
            self.misses += 1
        r = self.rpc(OP_ADC_READ, bytes((pin,)))
        return u16(r, 0)


class MirrorI2C:
    def __init__(self, node, bus_id):
        self._n = node
        self.bus = bus_id

    def readfrom_mem_into(self, addr, memaddr, buf, addrsize=8):
        self._n.i2c_read(self.bus, addr, memaddr, buf, 0 if isinstance(buf, (bytearray, memoryview)) else 1)

    def readfrom_mem(self, addr, memaddr, nbytes, addrsize=8):
        buf = bytearray(nbytes)
        self.readfrom_mem_into(addr, memaddr, buf)
        return bytes(buf)

    def writeto_mem(self, addr, memaddr, buf, addrsize=8):
        ops = self._n.ops
        ops.extend((OP_I2C_WRITE, self.bus, addr, memaddr, len(buf)))
        ops.extend(buf)
        # a read of this device after a write must see it: drop its snapshot
        lst = self._n.i2c.get((self.bus << 8) | addr)
        if lst:
            lst.clear()

    def scan(self):
        return []


class MirrorUART:
    def __init__(self, node, uart_id, rxbuf=512):
        self._n = node
        self.id = uart_id
        self.rxbuf = rxbuf
        self._rx = bytearray()
        node.uarts[uart_id] = self

    def init(self, *args, **kwargs):
        pass

    def feed(self, payload, p, cnt):
        self._rx.extend(payload[p:p + cnt])
        if len(self._rx) > self.rxbuf:           # the UART's ring overflows: oldest lost
            self._rx = self._rx[len(self._rx) - self.rxbuf:]

    def any(self):
        return len(self._rx)

    def readinto(self, buf, nbytes=-1):
        n = len(buf) if nbytes is None or nbytes < 0 else min(nbytes, len(buf))
        n = min(n, len(self._rx))
        if n == 0:
            return None
        for i in range(n):
            buf[i] = self._rx[i]
        self._rx = self._rx[n:]
        return n

    def read(self, nbytes=-1):
        if not self._rx:
            return None
        n = len(self._rx) if nbytes is None or nbytes < 0 else min(nbytes, len(self._rx))
        out = bytes(self._rx[:n])
        self._rx = self._rx[n:]
        return out

    def write(self, buf):
        n = len(buf)
        ops = self._n.ops
        ops.extend((OP_UART_WRITE, self.id, n & 0xFF, n >> 8))
        ops.extend(buf)
        return n


def _mirror_classes(node):
    """Pin, PWM, ADC and WDT classes bound to one node (the board's machine API)."""

    class Pin:
        IN = 0
        OUT = 1
        OPEN_DRAIN = 2
        PULL_UP = 1
        PULL_DOWN = 2

        def __init__(self, pin_id, mode=-1, pull=-1, value=None):
            self.id = pin_id
            self.mode = mode
            self.out = 0 if value is None else (1 if value else 0)
            node.ops.extend((OP_PIN_INIT, pin_id, mode + 1, pull + 1, 0 if value is None else self.out + 1))
            node.levels.pop(pin_id, None)

        def value(self, x=None):
            if x is None:
                if self.mode == 1:
                    return self.out
                return node.pin_level(self.id)
            self.out = 1 if x else 0
            node.ops.extend((OP_PIN_SET, self.id, self.out))

        def on(self):
            self.value(1)

        def off(self):
            self.value(0)

    class PWM:
        def __init__(self, dest, freq=None, duty_u16=None, duty_ns=None):
            self.id = dest.id
            self._freq = 1000 if freq is None else freq
            self._ns = 0 if duty_ns is None else duty_ns
            node.ops.extend((OP_PWM_INIT, self.id))
            put_u32(node.ops, 0 if freq is None else freq)
            put_u32(node.ops, 0 if duty_ns is None else duty_ns + 1)

        def freq(self, value=None):
            if value is None:
                return self._freq
            self._freq = value
            node.ops.extend((OP_PWM_FREQ, self.id))
            put_u32(node.ops, value)

        def duty_ns(self, value=None):
            if value is None:
                return self._ns
            self._ns = value
            node.ops.extend((OP_PWM_DUTY, self.id))
            put_u32(node.ops, value)

    class ADC:
        def __init__(self, src, *args):
            self.id = src.id if hasattr(src, "id") else src

        def read_u16(self):
            return node.adc_read(self.id)

    class WDT:
        def __init__(self, id=0, timeout=5000):
            node.ops.append(OP_WDT_INIT)
            put_u32(node.ops, timeout)

        def feed(self):
            node.ops.append(OP_WDT_FEED)

    return Pin, PWM, ADC, WDT


def _state_words(app, node):
    nav = getattr(app, "nav", None)
    guid = getattr(app, "guid", None)
    out = bytearray((OP_STATE,))
    for v in (getattr(nav, "altitude_mm", 0), getattr(nav, "vz_mm_s", 0), getattr(nav, "vx_mm_s", 0),
              getattr(guid, "phase", 0), getattr(nav, "fault_flags", 0), getattr(app, "cycle", 0),
              getattr(app, "stage_faults", 0), node.misses):
        put_u32(out, int(v))
    return out


def serve(link, make_board, set_clock=None):
    """The HIL loop on the board: wait for 'H' (start: config, handover),
    build the board with make_board(node, rate_hz) and the App, then answer
    cycle frames until 'Q'. Returns the number of cycles stepped."""
    import json
    from lander import compat
    node = Node(link)

    def waited(us):
        node.ops.append(OP_SLEEP)
        put_u32(node.ops, us)

    compat._sleep_hooks.append(waited)
    try:
        return _serve(link, make_board, set_clock, node, json)
    finally:
        compat._sleep_hooks.remove(waited)


def _serve(link, make_board, set_clock, node, json):
    app = None
    last_seq = -1
    last_reply = None
    cycles = 0
    while True:
        typ, seq, payload = link.recv()
        if typ == 0x48:                                  # 'H': start
            from lander.app import App
            from lander.config import Config
            spec = json.loads(payload)
            node.cycle_mode = False
            node.ops = bytearray()
            if set_clock is not None:
                set_clock(spec.get("now_us", 0))
            board = make_board(node, spec.get("rate_hz", 50))
            app = App(board, Config(**spec["config"]))
            h = spec.get("handover")
            if h:
                app.handover(h[0], h[1], h[2], h[3])
            reply = node.ops + _state_words(app, node)
            node.ops = bytearray()
            failed = json.dumps([p for p, _ in board.failed]).encode()
            link.send(0x42, seq, reply + bytes((0xFF,)) + failed)    # 'B'
            last_seq = -1
        elif typ == 0x53 and app is not None:            # 'S': one cycle
            if seq == last_seq and last_reply is not None:
                link.write(last_reply)                   # our reply was lost: resend it
                continue
            now = i32(payload, 0)
            node.load(payload, 4)
            node.cycle_mode = True
            node.readlog = bytearray()
            if set_clock is not None:
                set_clock(now)
            app.step(now)
            cycles += 1
            reply = node.ops + node.readlog + _state_words(app, node)
            node.ops = bytearray()
            last_reply = frame(0x43, seq, reply)         # 'C'
            last_seq = seq
            link.write(last_reply)
            link.frames_out += 1
        elif typ == 0x51:                                # 'Q'
            link.send(0x71, seq, b"")
            return cycles
        elif typ == 0x45:                                # 'E': echo (link test)
            link.send(0x65, seq, payload)


def stdio_link(timeout_ms=5000):
    """The board's USB serial (REPL) as the link: raw bytes, Ctrl-C off."""
    import sys
    import select
    try:
        import micropython
        micropython.kbd_intr(-1)
    except (ImportError, AttributeError):
        pass
    sin = sys.stdin.buffer
    sout = sys.stdout.buffer
    poller = select.poll()
    poller.register(sys.stdin, select.POLLIN)

    def read(n):
        out = b""
        while len(out) < n:
            if not poller.poll(timeout_ms):
                raise LinkTimeout(110)
            chunk = sin.read(n - len(out))
            if not chunk:
                raise LinkTimeout(110)
            out += chunk
        return out

    def write(b):
        sout.write(b)
        try:
            sout.flush()
        except AttributeError:
            pass

    return Link(read, write)
