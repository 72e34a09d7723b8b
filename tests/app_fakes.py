"""Stand-ins for the parts of a board that an App test drives directly
(a radio that takes every downlink byte and hands out queued uplink bytes, an
RTC scratch memory), and the event-ring reset such a test needs: the ring is
module state shared with the other test modules."""
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
