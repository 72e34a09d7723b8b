# One place that gives CPython what MicroPython has built in.
# Nothing else in the firmware asks which interpreter it runs on.
#
# const, heap_lock/heap_unlock, ticks_us/ticks_diff/ticks_add (with the 2^30
# wrap of the 32-bit ports), sleep_us (start-up waits, with hooks that tell a
# HIL host or the host's emulators how long the firmware waited),
# native/viper as identity decorators, byte_view (the octets of an array as a
# byte buffer sharing its memory: uctypes.bytearray_at on MicroPython).
# On CPython the stand-ins come from _hostcompat (set_clock_us is host-only).

try:
    from micropython import const, heap_lock, heap_unlock  # noqa: F401
    from time import ticks_us, ticks_diff, ticks_add  # type: ignore  # noqa: F401
    from time import sleep_us as _time_sleep_us  # type: ignore

    IS_MICROPYTHON = True

    def byte_view(buf, nbytes):
        # the octets of a buffer (e.g. an array('i')) as a bytearray sharing
        # its memory (start-up only; the buffer must keep its size)
        import uctypes
        return uctypes.bytearray_at(uctypes.addressof(buf), nbytes)
    _sleep_hooks = []   # start-up waits reported to a HIL host (lander.hil)

    def sleep_us(us):
        # start-up only (drivers' settling waits), never on the cycle path
        _time_sleep_us(us)
        for fn in _sleep_hooks:
            fn(us)
except ImportError:
    from lander._hostcompat import (  # noqa: F401
        const, heap_lock, heap_unlock, ticks_us, ticks_diff, ticks_add,
        set_clock_us, IS_MICROPYTHON, sleep_us, _sleep_hooks, byte_view,  # type: ignore
    )


def native(func):
    # On a board, spell @micropython.native in the module itself; the portable
    # bytecode path must meet the cycle budget on its own (DESIGN.md).
    return func


viper = native
