# Drivers: one module per real part. Each takes its bus/pins in the
# constructor, never imports `machine`, reads into preallocated buffers and
# returns one of these status codes from read(); it never raises in flight.
from lander.compat import const

OK = const(0)            # fresh, valid sample in the driver's fields
BUS_ERROR = const(1)     # NACK / OSError / timeout on the bus
NOT_READY = const(2)     # no new data this cycle (data-ready clear, no frame)
INVALID = const(3)       # frame or value failed a check (checksum, range, flag)
OUT_OF_RANGE = const(4)  # sensor says: nothing within its range
DISABLED = const(5)      # part not enabled (or its enable was ignored)
REINIT = const(6)        # part was found reset and has been re-initialised


class DeviceError(Exception):
    """Raised at start-up only: wrong id, configuration not accepted."""


def device_error(part, bus, addr, what, expected, seen):
    # Start-up path only (allocates): part, bus, address, expected, seen.
    return DeviceError(
        "%s on %s addr 0x%02x: %s expected 0x%02x, seen 0x%02x"
        % (part, bus, addr, what, expected, seen)
    )
