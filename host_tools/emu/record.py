"""Record every bus call the firmware makes on a bench, in the format that
lander.replay plays back (the format is defined there, on the firmware side).

`tap(bench)` wraps the bench's I2C, SPI-less UART, pin and ADC registries with
recording proxies; install it after the bench is wired and before the board
is built, so start-up traffic (WHO_AM_I, calibration, enable) is recorded too.
The emulators keep their own, unwrapped, references: only the firmware's side
of each wire is recorded.
"""
from __future__ import annotations

import struct

from lander.replay import TAG_BYTES, TAG_CYCLE, TAG_ERROR, TAG_INT, TAG_NONE


class Recorder:
    def __init__(self):
        self.data = bytearray()

    def cycle(self, now_us: int) -> None:
        self.data += struct.pack("<Bi", TAG_CYCLE, now_us)

    def bytes_(self, buf) -> None:
        raw = bytes(buf)   # an array('h') burst buffer records as its bytes
        self.data += struct.pack("<BH", TAG_BYTES, len(raw)) + raw

    def int_(self, value: int) -> None:
        self.data += struct.pack("<Bi", TAG_INT, int(value))

    def none(self) -> None:
        self.data.append(TAG_NONE)

    def error(self, exc: OSError) -> None:
        self.data += struct.pack("<Bi", TAG_ERROR, exc.errno or 5)

    def result(self, value):
        if value is None:
            self.none()
        else:
            self.int_(value)
        return value


class _Proxy:
    def __init__(self, inner, rec: Recorder):
        object.__setattr__(self, "_inner", inner)
        object.__setattr__(self, "_rec", rec)

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def __setattr__(self, name, value):
        setattr(self._inner, name, value)

    def _call(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except OSError as exc:
            self._rec.error(exc)
            raise


class TapI2C(_Proxy):
    def readfrom_mem_into(self, addr, memaddr, buf, *, addrsize=8):
        self._call(self._inner.readfrom_mem_into, addr, memaddr, buf, addrsize=addrsize)
        self._rec.bytes_(buf)

    def readfrom_into(self, addr, buf, stop=True):
        self._call(self._inner.readfrom_into, addr, buf, stop)
        self._rec.bytes_(buf)

    def readfrom_mem(self, addr, memaddr, nbytes, *, addrsize=8):
        buf = bytearray(nbytes)
        self.readfrom_mem_into(addr, memaddr, buf, addrsize=addrsize)
        return bytes(buf)

    def writeto_mem(self, addr, memaddr, buf, *, addrsize=8):
        self._call(self._inner.writeto_mem, addr, memaddr, buf, addrsize=addrsize)
        self._rec.none()

    def writeto(self, addr, buf, stop=True):
        return self._rec.result(self._call(self._inner.writeto, addr, buf, stop))

    def scan(self):
        found = self._inner.scan()
        self._rec.bytes_(bytes(found))
        return found


class TapUART(_Proxy):
    def any(self):
        return self._rec.result(self._call(self._inner.any))

    def readinto(self, buf, nbytes=None):
        n = self._call(self._inner.readinto, buf, nbytes) if nbytes is not None else \
            self._call(self._inner.readinto, buf)
        if n is None:
            self._rec.none()
        else:
            self._rec.bytes_(bytes(buf[:n]))
        return n

    def read(self, nbytes=None):
        data = self._call(self._inner.read, nbytes)
        if data is None:
            self._rec.none()
        else:
            self._rec.bytes_(data)
        return data

    def write(self, buf):
        return self._rec.result(self._call(self._inner.write, buf))


class TapPin(_Proxy):
    def level(self):
        return self._rec.result(self._inner.level())

    value = level


class TapADC(_Proxy):
    def read_u16(self):
        return self._rec.result(self._inner.read_u16())


def tap(bench) -> Recorder:
    """Wrap the bench's firmware-facing registries; returns the recorder."""
    rec = Recorder()
    if bench.spis:
        raise NotImplementedError("recording SPI buses is not supported yet")
    for reg, cls in ((bench.i2cs, TapI2C), (bench.uarts, TapUART), (bench.pins, TapPin),
                     (bench.adcs, TapADC)):
        for key in list(reg):
            reg[key] = cls(reg[key], rec)
    # parts the board asks for later (pins made at board start-up) get tapped too
    orig_pin = bench.pin

    def pin(pin_id):
        state = orig_pin(pin_id)
        if not isinstance(state, TapPin):
            state = TapPin(state, rec)
            bench.pins[pin_id] = state
        return state

    bench.pin = pin
    return rec
