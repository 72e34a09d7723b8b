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


_BACKOFF_MAX = const(64)  # stuck re-inits back off up to 64 x the driver's stuck-cycle count


class Part:
    """Health bookkeeping shared by the register-level sensor drivers (IMUs,
    barometer): the counters housekeeping telemeters and the bounded-recovery
    state (a part whose data-ready stays clear is checked and re-initialised,
    each further attempt waiting twice as long). Only start-up and the error
    paths call these methods; the nominal read keeps its counter updates
    inline (a method call costs fuel every cycle)."""

    def _init_health(self):
        self.status = NOT_READY
        self.errors = 0          # every failed read (bus, invalid, re-init failure)
        self.bus_errors = 0
        self.invalid = 0
        self.reads_ok = 0
        self.not_ready = 0       # cycles without fresh data
        self.resets = 0          # re-initialisations after a detected reset / stuck part
        self.reinit_failures = 0
        self._streak = 0         # consecutive not-ready cycles
        self._backoff = 1        # x stuck cycles before the next re-init
        self._since_check = 0    # good reads since the last configuration check

    def _bus_error(self):
        self.errors += 1
        self.bus_errors += 1
        return BUS_ERROR

    def _back_off(self):
        if self._backoff < _BACKOFF_MAX:
            self._backoff += self._backoff


class DeviceError(Exception):
    """Raised at start-up only: wrong id, configuration not accepted."""


def device_error(part, bus, cs, addr, what, expected=None, seen=0):
    """Start-up path only (allocates): the error naming the part, its bus
    (I2C, or SPI with its chip select when cs is not None), its address and
    what is wrong; with `expected`, `what` is a register read back as `seen`.
    One function for every driver's start-up checks (the messages once)."""
    if expected is not None:
        what = "%s expected 0x%02x, seen 0x%02x" % (what, expected, seen)
    where = "I2C " + repr(bus) if cs is None else "SPI " + repr(bus) + " cs " + repr(cs)
    return DeviceError("%s on %s addr 0x%02x: %s" % (part, where, addr, what))
