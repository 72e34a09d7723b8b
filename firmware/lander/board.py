# The board object the application flies with, and the bus and driver
# construction shared by every boards/<name>/board.py. A board module hands
# its port's machine classes and its WIRING table to make_buses() and
# build_drivers(); this module never imports machine.
#
# Start-up only: this allocates and may catch a part's start-up exception. A
# part that fails at start-up is left None and recorded in board.failed (and as
# an event): the flight software degrades instead of refusing to boot.
#
# Each driver module is imported by the builder of its part, so a board whose
# WIRING has no such part never loads it, and `lander deploy` does not send
# it (host_tools/board/deploy.py PART_DRIVERS: the attitude unit and the
# TF-Luna are 2.3 k of .mpy the pico and esp32 do not use).
from lander.compat import const
from lander.events import post

# The type checker's view of the parts: pyright takes any `if TYPE_CHECKING:`
# as true; here it is a const 0, so the compiler leaves the block out of the
# board's bytecode (the import of typing and eleven imports: 194 bytes of .mpy)
# and CPython skips it.
TYPE_CHECKING = const(0)
if TYPE_CHECKING:
    from lander.drivers.attitude import AttitudeUnit
    from lander.drivers.bmi088 import Bmi088
    from lander.drivers.bmp390 import Bmp390
    from lander.drivers.engine import Engine
    from lander.drivers.laser_altimeter import LaserAltimeter
    from lander.drivers.legs import Legs
    from lander.drivers.lsm6dsox import Lsm6dsox
    from lander.drivers.power import Power
    from lander.drivers.radio import Radio
    from lander.drivers.storage import Storage
    from lander.drivers.tfluna import TfLuna

EV_BOARD_PART_FAILED = const(0x01F0)   # arg: index in PARTS
EV_BOARD_READY = const(0x01F1)         # arg: number of parts built

PARTS = ("imu", "imu2", "altimeter", "rangefinder", "baro", "engine", "legs",
         "radio", "power", "storage", "attitude")


class Watchdog:
    """machine.WDT is started on first use (it cannot be stopped on any port)."""

    def __init__(self, wdt_class, timeout_ms):
        self._cls = wdt_class
        self.timeout_ms = timeout_ms
        self._wdt = None
        self.feeds = 0

    def start(self):
        if self._wdt is None and self._cls is not None:
            self._wdt = self._cls(timeout=self.timeout_ms)

    def feed(self):
        if self._wdt is not None:
            self._wdt.feed()
            self.feeds += 1

    @property
    def running(self):
        return self._wdt is not None


class Board:
    def __init__(self, name):
        self.name = name
        self.imu = None  # type: Lsm6dsox | None
        self.imu2 = None  # type: Bmi088 | None
        self.altimeter = None  # type: LaserAltimeter | None
        self.rangefinder = None  # type: TfLuna | None
        self.baro = None  # type: Bmp390 | None
        self.engine = None  # type: Engine | None
        self.legs = None  # type: Legs | None
        self.radio = None  # type: Radio | None
        self.power = None  # type: Power | None
        self.storage = None  # type: Storage | None
        self.attitude = None  # type: AttitudeUnit | None
        self.wdt = Watchdog(None, 0)      # replaced by the board (machine.WDT, timeout)
        self.rtc = None                   # machine.RTC where the port keeps RTC memory
        self.opener = None                # open() for files on the board's flash (checkpoint, key)
        self.reset_cause = 0              # machine.reset_cause() at boot (the board sets it)
        self.reset_fn = None              # machine.reset (a confirmed reset telecommand)
        self.arm_input = None             # hardware arm input (Pin, 1 = armed); None: not fitted
        self.failed = []          # [(part, message)] from start-up
        self.buses = {}           # name -> bus object, for tools and HIL

    def part(self, name, build, *args):
        try:
            obj = build(*args)
        except Exception as e:    # start-up only: record, degrade, go on
            self.failed.append((name, str(e)))
            post(EV_BOARD_PART_FAILED, PARTS.index(name) if name in PARTS else -1)
            obj = None
        setattr(self, name, obj)
        return obj

    def set_rtc(self, rtc):
        self.rtc = rtc

    def set_reset(self, reset_fn, cause):
        """machine.reset (for a confirmed reset telecommand) and machine.reset_cause()."""
        self.reset_fn = reset_fn
        self.reset_cause = cause

    def summary(self):
        return [(p, getattr(self, p) is not None) for p in PARTS]

# bus options that name a pin (the I2C, SPI and UART constructors of the rp2,
# esp32 and stm32 ports)
_PIN_OPTIONS = ("scl", "sda", "sck", "mosi", "miso", "tx", "rx")


def make_buses(table, I2C, SPI, UART, Pin, pin_numbers=()):
    """Construct every bus of a WIRING["buses"] table, {name: (kind, id,
    options)}: the options are the constructor's keywords, pins handed in as
    Pin(number) except the option names in pin_numbers, which the port takes
    as plain numbers (the esp32 UART's tx/rx). Start-up only."""
    buses = {}
    for name in table:
        kind, bus_id, options = table[name]
        kw = {}
        for key in options:
            value = options[key]
            kw[key] = Pin(value) if key in _PIN_OPTIONS and key not in pin_numbers else value
        if kind == "i2c":
            buses[name] = I2C(bus_id, **kw)
        elif kind == "spi":
            buses[name] = SPI(bus_id, **kw)
        elif kind == "uart":
            buses[name] = UART(bus_id, **kw)
        else:
            raise ValueError("bus %s: kind %s" % (name, kind))
    return buses


# The parts build_drivers() makes, in this order: (part, its WIRING key); a
# part is made when its key is present and not None, False or empty (a pin
# number may be 0, an int; False is a bool).
_BUILD = (("imu", "imu"), ("imu2", "imu2_acc"), ("baro", "baro"), ("altimeter", "altimeter"),
          ("rangefinder", "rangefinder"), ("engine", "throttle_pwm"), ("attitude", "attitude"),
          ("legs", "legs"), ("radio", "radio"), ("power", "power_adc"), ("storage", "storage"))


def build_drivers(board, w, bus, Pin, PWM, ADC, rate_hz=50, opener=None):
    """Construct every driver from the wiring table `w` and buses `bus`.

    w:   the board's WIRING dict (parts -> (kind, bus name, address/cs)).
    bus: dict bus name -> constructed machine bus object.
    """
    # Every chip select on a shared SPI bus is driven high before any part is
    # spoken to: an undriven CS floats and two parts would answer at once.
    board.opener = opener if opener is not None else open
    cs_pins = {}
    for key in ("imu", "imu2_acc", "imu2_gyro"):
        entry = w.get(key)
        if entry and entry[0] == "spi":
            cs_pins[key] = Pin(entry[2], Pin.OUT, value=1)
    for name, key in _BUILD:
        v = w.get(key)
        if v or type(v) is int:
            # one function makes each part (Board.part records what it raises)
            board.part(name, _make, name, w, bus, cs_pins, Pin, PWM, ADC, rate_hz, opener)
    built = 0
    for p in PARTS:
        if getattr(board, p) is not None:
            built += 1
    post(EV_BOARD_READY, built)
    return board


def _spi_or_i2c(w, bus, cs_pins, key):
    entry = w[key]
    if entry[0] == "spi":
        return bus[entry[1]], None, cs_pins[key]
    return bus[entry[1]], entry[2], None


def _make(name, w, bus, cs_pins, Pin, PWM, ADC, rate_hz, opener):
    """The driver of part `name` from the wiring (start-up only; may raise)."""
    if name == "imu":
        from lander.drivers.lsm6dsox import Lsm6dsox
        b, addr, cs = _spi_or_i2c(w, bus, cs_pins, "imu")
        return Lsm6dsox(b, addr if addr is not None else 0x6A, cs=cs)
    if name == "imu2":
        from lander.drivers.bmi088 import Bmi088
        ab, aaddr, acs = _spi_or_i2c(w, bus, cs_pins, "imu2_acc")
        gb, gaddr, gcs = _spi_or_i2c(w, bus, cs_pins, "imu2_gyro")
        return Bmi088(ab, gb, acc_addr=aaddr if aaddr is not None else 0x18,
                      gyro_addr=gaddr if gaddr is not None else 0x68,
                      acc_cs=acs, gyro_cs=gcs)
    if name == "baro":
        from lander.drivers.bmp390 import Bmp390
        return Bmp390(bus[w["baro"][1]], w["baro"][2])
    if name == "altimeter":
        from lander.drivers.laser_altimeter import LaserAltimeter
        a = LaserAltimeter(bus[w["altimeter"][1]])
        a.enable()            # explicit enable; acknowledged over the first reads
        return a
    if name == "rangefinder":
        from lander.drivers.tfluna import TfLuna
        return TfLuna(bus[w["rangefinder"][1]])
    if name == "engine":
        from lander.drivers.engine import Engine
        thr = PWM(Pin(w["throttle_pwm"]))
        gim = PWM(Pin(w["gimbal_pwm"])) if w.get("gimbal_pwm") is not None else None
        arm = Pin(w["arm_pin"], Pin.OUT)
        return Engine(thr, arm, gim)
    if name == "attitude":
        from lander.drivers.attitude import AttitudeUnit
        return AttitudeUnit(bus[w["attitude"][1]])
    if name == "legs":
        from lander.drivers.legs import Legs
        pins = []
        for p in w["legs"]:
            pins.append(Pin(p, Pin.IN, Pin.PULL_UP))
        return Legs(pins)
    if name == "radio":
        from lander.drivers.radio import Radio
        r = w["radio"]
        cts = Pin(r[3], Pin.IN) if len(r) > 3 and r[3] is not None else None
        return Radio(bus[r[1]], baudrate=r[2], period_us=1000000 // rate_hz, cts=cts)
    if name == "power":
        from lander.drivers.power import Power
        vref, rt, rb = w.get("power_divider", (3300, 100000, 10000))
        return Power(ADC(Pin(w["power_adc"])), vref_mv=vref, r_top=rt, r_bottom=rb)
    from lander.drivers.storage import Storage
    return Storage(w["storage"], batch=8, opener=opener)
