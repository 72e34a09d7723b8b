"""Event codes: declared once, beside the code that raises them, named on the ground."""
from host_tools.ground import events as ground_events
from lander.events import EventRing


def test_every_event_code_is_declared_once():
    table = ground_events.table()     # raises on a duplicate code
    assert len(table) >= 10


def test_ground_names_events_from_the_firmware_declarations():
    assert ground_events.name(0x0301) == "EV_PHASE"
    assert ground_events.name(0x7FFF) == "fw_0x7fff"


def test_ring_counts_what_it_drops_when_full():
    ring = EventRing(capacity=4)
    for i in range(6):
        ring.post(0x10, i)
    assert ring.count == 4 and ring.dropped == 2
    out = [0, 0, 0]
    assert ring.pop_into(out) and out[1:] == [0x10, 0]


def test_ring_returns_events_in_order_across_the_wrap():
    ring = EventRing(capacity=3)
    out = [0, 0, 0]
    seen = []
    for i in range(7):
        ring.post(0x20, i)
        if i % 2:
            while ring.pop_into(out):
                seen.append(out[2])
    while ring.pop_into(out):
        seen.append(out[2])
    assert seen == list(range(7))
