# One place that gives CPython what MicroPython has built in.
# Nothing else in the firmware asks which interpreter it runs on.
#
# const, heap_lock/heap_unlock, ticks_us/ticks_diff/ticks_add (with the 2^30
# wrap of the 32-bit ports), native/viper as identity decorators.

try:
    from micropython import const  # noqa: F401  (the compiler folds const())
    import micropython as _mp

    heap_lock = _mp.heap_lock
    heap_unlock = _mp.heap_unlock

    def _identity(func):
        return func

    # native/viper are compiler decorators on MicroPython, spelled
    # @micropython.native in source; here they are plain identities.
    native = _identity
    viper = _identity
    IS_MICROPYTHON = True
except ImportError:
    IS_MICROPYTHON = False

    def const(value):
        return value

    def heap_lock():
        return 0

    def heap_unlock():
        return 0

    def native(func):
        return func

    def viper(func):
        return func

import time as _time

try:
    ticks_us = _time.ticks_us  # type: ignore[attr-defined]
    ticks_diff = _time.ticks_diff  # type: ignore[attr-defined]
    ticks_add = _time.ticks_add  # type: ignore[attr-defined]
except AttributeError:
    # CPython: emulate the wrapping microsecond counter of a 32-bit port.
    # TICKS_PERIOD = 2^30 (MicroPython's MICROPY_PY_TIME_TICKS_PERIOD).
    _TICKS_MASK = 0x3FFFFFFF
    _TICKS_HALF = 0x20000000

    _clock_us = None  # host bench clock (microseconds), set by set_clock_us

    def set_clock_us(fn):
        """Host only: drive ticks_us from a bench clock (fn() -> int us); None = wall."""
        global _clock_us
        _clock_us = fn

    def ticks_us():
        if _clock_us is not None:
            return _clock_us() & _TICKS_MASK
        return (_time.perf_counter_ns() // 1000) & _TICKS_MASK

    def ticks_diff(end, start):
        return ((end - start + _TICKS_HALF) & _TICKS_MASK) - _TICKS_HALF

    def ticks_add(ticks, delta):
        return (ticks + delta) & _TICKS_MASK
