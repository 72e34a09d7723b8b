"""The sensor drivers' shared health bookkeeping (drivers/__init__.py):
the stuck-part back-off doubles up to 64 and stays there."""
from lander.drivers import BUS_ERROR, Part


def test_the_back_off_doubles_from_one_and_stops_at_64():
    p = Part()
    p._init_health()
    seen = []
    for _ in range(9):
        p._back_off()
        seen.append(p._backoff)
    assert seen == [2, 4, 8, 16, 32, 64, 64, 64, 64]


def test_a_bus_error_counts_once_in_each_tally_and_returns_bus_error():
    p = Part()
    p._init_health()
    assert p._bus_error() == BUS_ERROR and p._bus_error() == BUS_ERROR
    assert (p.errors, p.bus_errors, p.invalid) == (2, 2, 0)
