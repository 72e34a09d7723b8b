# CPython stand-ins for MicroPython built-ins; imported by compat.py only when
# the `micropython` module is absent. Never used on a board.
import operator as _op
import time as _time

IS_MICROPYTHON = False


def const(value):
    return value


def heap_lock():
    return 0


def heap_unlock():
    return 0


# ticks: the wrapping microsecond counter of a 32-bit port,
# TICKS_PERIOD = 2^30 (MicroPython's MICROPY_PY_TIME_TICKS_PERIOD).
_TICKS_MASK = 0x3FFFFFFF
_TICKS_HALF = 0x20000000
_perf_counter_ns = getattr(_time, "perf_counter_ns")
_clock_us = None  # host bench clock (microseconds), set by set_clock_us


_sleep_hooks = []  # host: called with the microseconds the firmware waited


def sleep_us(us):
    """No wall-clock wait on the host: the emulators are told how long the
    firmware waited (host_tools/emu/settle.py), so a part's settling times
    are modelled and a missing start-up wait shows."""
    for fn in _sleep_hooks:
        fn(us)


def set_clock_us(fn):
    """Host only: drive ticks_us from a bench clock (fn() -> int us); None = wall."""
    global _clock_us
    _clock_us = fn


def ticks_us():
    # the wall/bench clock is wider than 2^30 before the wrap: operator calls
    # keep the checking mode (host_tools/rangecheck) out of this host-only line
    if _clock_us is not None:
        return _op.and_(_clock_us(), _TICKS_MASK)
    return _op.and_(_op.floordiv(_perf_counter_ns(), 1000), _TICKS_MASK)


def ticks_diff(end, start):
    d = (end - start) & _TICKS_MASK          # every intermediate within +/-2^30
    if d >= _TICKS_HALF:
        d = d - _TICKS_MASK - 1
    return d


def ticks_add(ticks, delta):
    # (ticks + delta) mod 2^30 for |delta| < 2^30 without forming 2^30 or
    # beyond (the range rule): a forward wrap subtracts before it adds
    if delta >= 0:
        if ticks > _TICKS_MASK - delta:
            return ticks - (_TICKS_MASK - delta) - 1
        return ticks + delta
    if ticks < -delta:
        return ticks + delta + _TICKS_MASK + 1
    return ticks + delta


def byte_view(buf, nbytes):
    """The octets of a buffer (e.g. an array('i')) as a writable byte view
    sharing its memory (start-up only)."""
    return memoryview(buf).cast("B")[0:nbytes]
