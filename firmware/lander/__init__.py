# The on-board package. Runs unchanged on MicroPython and CPython.
