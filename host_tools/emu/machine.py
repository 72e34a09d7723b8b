"""A MicroPython-`machine`-compatible module for the host, backed by a Bench.

`install(bench)` puts this module in sys.modules['machine'] (and 'umachine'),
and drives lander.compat's ticks from the bench clock, so boards/*/board.py and
firmware/main.py import and run on CPython unchanged. Only the API shapes the
ports share (rp2, esp32, stm32) are provided:

    Pin(id, mode, pull, value=...)  .value() .on() .off() .init() .irq()
    I2C(id, scl=, sda=, freq=)      readfrom_mem_into, writeto_mem, scan, ...
    SPI(id, baudrate=, polarity=, phase=, sck=, mosi=, miso=)
    UART(id, baudrate, tx=, rx=, ...) .any() .read() .readinto() .write()
    PWM(pin, freq=, duty_u16=, duty_ns=)  .freq() .duty_u16() .duty_ns() .deinit()
    ADC(pin_or_channel)             .read_u16()
    WDT(id=0, timeout=ms)           .feed()
    RTC()                           .datetime() .memory()
    reset_cause(), reset(), soft_reset(), unique_id(), freq(), idle(),
    disable_irq(), enable_irq(), constants PWRON_RESET .. SOFT_RESET
Bus ids and pin ids are whatever the board passes (ints on rp2/esp32, names
like "X9" on the pyboard); the bench registries use them as keys.
"""
from __future__ import annotations

import sys

_bench = None

PWRON_RESET = 1
HARD_RESET = 2
WDT_RESET = 3
DEEPSLEEP_RESET = 4
SOFT_RESET = 5


class BoardReset(BaseException):
    """machine.reset() / soft_reset() on the host: unwinds to the bench runner."""

    def __init__(self, cause):
        super().__init__(cause)
        self.cause = cause


def _b():
    if _bench is None:
        raise RuntimeError("host machine: no bench installed (host_tools.emu.machine.install)")
    return _bench


def _pin_id(p):
    return p.id if isinstance(p, Pin) else p


class Pin:
    IN = 0
    OUT = 1
    OPEN_DRAIN = 2
    ALT = 3
    PULL_UP = 1
    PULL_DOWN = 2
    IRQ_FALLING = 4
    IRQ_RISING = 8

    def __init__(self, id, mode=-1, pull=-1, *, value=None, **kwargs):
        self.id = id
        self._s = _b().pin(id)
        self.init(mode, pull, value=value)

    def init(self, mode=-1, pull=-1, *, value=None, **kwargs):
        if mode != -1 and mode is not None:
            self._s.mode = mode
        if pull != -1:
            self._s.pull = pull
        if value is not None:
            self._s.out = 1 if value else 0

    def value(self, x=None):
        if x is None:
            return self._s.level()
        self._s.out = 1 if x else 0
        return None

    __call__ = value

    def on(self):
        self._s.out = 1

    def off(self):
        self._s.out = 0

    high = on
    low = off

    def irq(self, handler=None, trigger=0, **kwargs):
        self._s.irq = (handler, trigger)
        return None

    def __repr__(self):
        return "Pin(%r)" % (self.id,)


class _Delegate:
    _target = None

    def __getattr__(self, name):
        value = getattr(self._target, name)
        if callable(value):
            # a method of the bench's bus (which lives as long as the bench):
            # kept on the instance, so the firmware's next call finds it
            # without this hook (the simulator calls the buses ~6 times a cycle)
            self.__dict__[name] = value
        return value


class I2C(_Delegate):
    def __init__(self, id=0, *, scl=None, sda=None, freq=400000, timeout=50000, **kwargs):
        self._target = _b().i2c(id)
        self.id = id
        self.scl, self.sda, self.freq = _pin_id(scl), _pin_id(sda), freq


SoftI2C = I2C


class SPI(_Delegate):
    MSB = 0
    LSB = 1

    def __init__(self, id=0, baudrate=1000000, *, polarity=0, phase=0, bits=8,
                 firstbit=0, sck=None, mosi=None, miso=None, **kwargs):
        self._target = _b().spi(id)
        self.id = id
        self.baudrate, self.polarity, self.phase = baudrate, polarity, phase
        self.pins = (_pin_id(sck), _pin_id(mosi), _pin_id(miso))

    def init(self, *args, **kwargs):
        return None

    def deinit(self):
        return None


SoftSPI = SPI


class UART(_Delegate):
    CTS = 1
    RTS = 2

    def __init__(self, id, baudrate=9600, bits=8, parity=None, stop=1, **kwargs):
        self._target = _b().uart(id)
        self.id = id
        self._target.init(baudrate=baudrate)
        self.tx, self.rx = _pin_id(kwargs.get("tx")), _pin_id(kwargs.get("rx"))

    def init(self, baudrate=9600, bits=8, parity=None, stop=1, **kwargs):
        self._target.init(baudrate=baudrate)

    def deinit(self):
        return None


class PWM:
    def __init__(self, dest, *, freq=None, duty_u16=None, duty_ns=None, **kwargs):
        self.id = _pin_id(dest)
        self._s = _b().pwm(self.id)
        self._s.enabled = True
        if freq is not None:
            self._s.freq = freq
        if duty_u16 is not None:
            self.duty_u16(duty_u16)
        if duty_ns is not None:
            self.duty_ns(duty_ns)

    def init(self, *, freq=None, duty_u16=None, duty_ns=None, **kwargs):
        self.__init__(self.id, freq=freq, duty_u16=duty_u16, duty_ns=duty_ns)

    def freq(self, value=None):
        if value is None:
            return self._s.freq
        if not 1 <= value <= 62_500_000:
            raise ValueError("freq out of range")
        self._s.freq = value
        return None

    def duty_u16(self, value=None):
        if value is None:
            return self._s.duty_u16()
        if not 0 <= value <= 65535:
            raise ValueError("duty_u16 out of range")
        self._s.set_duty_ns(int(value * self._s.period_ns() // 65535))
        return None

    def duty_ns(self, value=None):
        if value is None:
            return self._s.duty_ns
        if value < 0:
            raise ValueError("duty_ns out of range")
        self._s.set_duty_ns(int(value))
        return None

    def deinit(self):
        self._s.enabled = False
        self._s.set_duty_ns(0)


class ADC:
    ATTN_0DB = 0
    ATTN_11DB = 3
    WIDTH_12BIT = 3

    def __init__(self, src, *args, **kwargs):
        self.id = _pin_id(src)
        self._s = _b().adc(self.id)

    def read_u16(self):
        return self._s.read_u16()

    def atten(self, *a):
        return None

    def width(self, *a):
        return None


class WDT:
    def __init__(self, id=0, timeout=5000):
        self._w = _b().wdt
        self._w.start(timeout)

    def feed(self):
        self._w.feed()


class RTC:
    def __init__(self, id=0):
        self._b = _b()

    def datetime(self, dt=None):
        if dt is not None:
            self._b.rtc_datetime = tuple(dt)
            return None
        return self._b.rtc_datetime

    def memory(self, data=None):
        if data is None:
            return bytes(self._b.rtc_memory)
        if len(data) > self._b.rtc_memory_size:
            raise ValueError("RTC memory too long")
        self._b.rtc_memory[:] = bytes(data)
        return None


def reset_cause():
    return _b().reset_cause


def reset():
    _b().request_reset(HARD_RESET)
    raise BoardReset(HARD_RESET)


def soft_reset():
    _b().request_reset(SOFT_RESET)
    raise BoardReset(SOFT_RESET)


def unique_id():
    return _b().unique_id


def freq(hz=None):
    if hz is None:
        return _b().cpu_hz
    _b().cpu_hz = hz
    return None


def idle():
    return None


def disable_irq():
    return 0


def enable_irq(state=0):
    return None


def lightsleep(ms=None):
    if ms:
        _b().advance(ms / 1000.0)


def flash_open(path, mode="r"):
    """Host only (absent on the ports): open a file on the bench's emulated flash.
    Board modules use getattr(machine, "flash_open", None) -> builtin open on a board."""
    return _b().flash.open(path, mode)


def install(bench):
    """Make `import machine` resolve to this module, backed by `bench`."""
    global _bench
    _bench = bench
    mod = sys.modules[__name__]
    sys.modules["machine"] = mod
    sys.modules["umachine"] = mod
    import host_tools  # noqa: F401  (firmware/ on sys.path)
    from lander import compat

    if hasattr(compat, "set_clock_us"):
        last = [None, 0]                  # the bench seconds last converted, and their us

        def clock_us():
            # the bench time moves once a control cycle and the firmware reads
            # the clock ~8 times within one: the conversion is kept for a time
            s = bench.now_s
            if s != last[0]:
                last[0] = s
                last[1] = int(round(s * 1e6))
            return last[1]
        compat.set_clock_us(clock_us)
    return mod


def uninstall():
    global _bench
    _bench = None
    for name in ("machine", "umachine"):
        if sys.modules.get(name) is sys.modules[__name__]:
            del sys.modules[name]
    from lander import compat

    if hasattr(compat, "set_clock_us"):
        compat.set_clock_us(None)
