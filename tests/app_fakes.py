"""Stand-ins for the parts of a board that an App test drives directly
(a radio that takes every downlink byte and hands out queued uplink bytes, an
RTC scratch memory), the event-ring reset such a test needs (the ring is
module state shared with the other test modules), and a new guidance command
for a control test."""
import pytest


class FakeRadio:
    """Downlink-capable radio: `out` collects what the App sent, bytes put in
    `up` are received by the App on its next uplink poll."""

    def __init__(self):
        self.out = bytearray()
        self.up = bytearray()

    def free(self):
        return 100000

    def write(self, buf, n):
        self.out += bytes(buf[:n])
        return n

    def service(self):
        return 0

    def receive(self, buf):
        n = min(len(buf), len(self.up))
        buf[:n] = self.up[:n]
        del self.up[:n]
        return n


class FlashFile:
    """A file on flash: a growable buffer written in place (counts its writes)."""

    def __init__(self):
        self.buf = bytearray()
        self.pos = 0
        self.writes = 0

    def seek(self, p):
        self.pos = p

    def write(self, b):
        n = len(b)
        if len(self.buf) < self.pos + n:
            self.buf.extend(bytes(self.pos + n - len(self.buf)))
        self.buf[self.pos:self.pos + n] = bytes(b)
        self.pos += n
        self.writes += 1
        return n

    def flush(self):
        pass

    def read(self):
        return bytes(self.buf)

    def close(self):
        pass


class CountingWdt:
    """machine.WDT as the executive drives it: counts its starts."""

    def __init__(self):
        self.starts = 0

    def start(self):
        self.starts += 1

    def feed(self):
        pass


class RecordingEngine:
    """The engine driver's interface, each call recorded in order."""

    def __init__(self):
        self.calls = []

    def arm(self):
        self.calls.append(("arm",))

    def disarm(self):
        self.calls.append(("disarm",))

    def set_throttle(self, q):
        self.calls.append(("thr", q))

    def set_pitch(self, p):
        self.calls.append(("pitch", p))


class LevelPin:
    """A digital input held at one level."""

    def __init__(self, v):
        self.v = v

    def value(self):
        return self.v


class FakeRtc:
    """machine.RTC().memory(): bytes kept across a (simulated) reset."""

    def __init__(self):
        self.mem = b""

    def memory(self, data=None):
        if data is None:
            return self.mem
        self.mem = bytes(data)


class PartlessBoard:
    """A board with no parts (every attribute the App reads is None): each
    stage still runs on its fallbacks. Tests subclass it to add what they need."""
    imu = None
    imu2 = None
    altimeter = None
    legs = None
    engine = None
    wdt = None
    radio = None


# The same board as guest source, named B (a guest program cannot import this
# module): prepend it to code run by run_fw.
PARTLESS_BOARD_GUEST = """
class B:
    imu = None
    imu2 = None
    altimeter = None
    legs = None
    engine = None
    wdt = None
    radio = None
"""


def fly_cycles(app, k0, n, uplink=None):
    """Step `app` n cycles of 20 ms from cycle k0 (bytes in `uplink` reach the
    radio before the first); returns the next cycle number."""
    for i in range(n):
        if uplink is not None and i == 0:
            app.board.radio.up += uplink
        app.step((k0 + i) * 20000)
    return k0 + n


@pytest.fixture
def fresh_event_ring():
    """The test starts and ends with an empty event ring."""
    from host_tools.sim import runner as _runner
    _runner._reset_event_ring()
    yield
    _runner._reset_event_ring()


def drain_events():
    """Empty the firmware's event ring; returns [(code, arg), ...] oldest first."""
    from lander.events import events
    out = [0, 0, 0]
    got = []
    while events.pop_into(out):
        got.append((out[1], out[2]))
    return got


def set_guidance_command(g, ax, az, lim_bau, keep_horizontal=False, engine_on=True):
    """Give guidance `g` a new command, as its re-plan would: the world-frame
    accelerations, the attitude limit, the horizontal channel, the engine, and
    the sequence number control watches for a new geometry."""
    g.accel_x_cmd_mm_s2 = ax
    g.accel_z_cmd_mm_s2 = az
    g.pitch_limit_bau = lim_bau
    g.keep_horizontal = keep_horizontal
    g.engine_on = engine_on
    g.cmd_seq += 1
