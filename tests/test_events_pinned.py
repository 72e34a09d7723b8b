"""The event ring (firmware/lander/events.py) pinned by hand: what post()
returns and counts, the time each event carries, the order events come out
across the wrap, and the board-wide ring's capacity. In the fw-events mutation
group (docs/mutation.md)."""
from lander import events as ev
from lander.events import EventRing


def test_the_board_ring_holds_64_events_and_starts_empty():
    ring = EventRing()
    assert ring.capacity == 64
    assert len(ring.codes) == len(ring.args) == len(ring.times_ms) == 64
    assert (ring.head, ring.count, ring.dropped, ring.posted, ring.now_ms) == (0, 0, 0, 0, 0)
    assert isinstance(ev.events, EventRing) and ev.events.capacity == 64
    assert ev.EV_OVERFLOW == 0x0001


def test_post_stores_code_arg_and_the_time_then_advances_the_head():
    ring = EventRing(capacity=3)
    ring.now_ms = 1234
    assert ring.post(0x0301, -7) is True
    assert (list(ring.codes), list(ring.args), list(ring.times_ms)) == ([0x0301, 0, 0], [-7, 0, 0],
                                                                       [1234, 0, 0])
    assert (ring.head, ring.count, ring.posted, ring.dropped) == (1, 1, 1, 0)


def test_the_argument_defaults_to_zero():
    ring = EventRing(capacity=2)
    ring.args[0] = 99
    ring.post(0x0002)
    assert ring.args[0] == 0


def test_a_full_ring_refuses_the_post_counts_it_and_keeps_what_it_holds():
    ring = EventRing(capacity=2)
    assert ring.post(1, 10) and ring.post(2, 20)
    assert ring.post(3, 30) is False
    assert (ring.count, ring.dropped, ring.posted, ring.head) == (2, 1, 2, 0)
    assert list(ring.codes) == [1, 2] and list(ring.args) == [10, 20]


def test_the_head_wraps_to_slot_zero_at_the_capacity():
    ring = EventRing(capacity=2)
    out = [0, 0, 0]
    ring.post(1)
    ring.pop_into(out)
    ring.post(2)
    assert ring.head == 0           # slot 1 written, the next is slot 0
    ring.post(3)
    assert ring.head == 1 and list(ring.codes) == [3, 2]


def test_pop_gives_time_code_arg_of_the_oldest_and_false_when_empty():
    ring = EventRing(capacity=4)
    out = [-1, -1, -1]
    assert ring.pop_into(out) is False and out == [-1, -1, -1]
    ring.now_ms = 5
    ring.post(0x10, 1)
    ring.now_ms = 6
    ring.post(0x11, 2)
    assert ring.pop_into(out) is True and out == [5, 0x10, 1] and ring.count == 1
    assert ring.pop_into(out) is True and out == [6, 0x11, 2] and ring.count == 0
    assert ring.pop_into(out) is False and out == [6, 0x11, 2]


def test_pop_finds_the_oldest_behind_the_head_across_the_wrap():
    ring = EventRing(capacity=3)
    out = [0, 0, 0]
    for code in (1, 2, 3):
        ring.post(code)
    ring.pop_into(out)
    ring.pop_into(out)
    ring.post(4)                    # head 1, count 2: the oldest (3) in slot 2
    assert (ring.head, ring.count) == (1, 2)
    assert ring.pop_into(out) and out[1] == 3
    assert ring.pop_into(out) and out[1] == 4
    # the posted count never goes down with pops; dropped counts only refusals
    assert (ring.posted, ring.dropped) == (4, 0)
