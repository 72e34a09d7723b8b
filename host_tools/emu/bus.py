"""Emulated buses with the MicroPython `machine` API shapes, and the device contract.

Devices are register-level models written from datasheets. A bus forwards
transactions; faults that live on the wire (NACK, bit flips, garbage) are
applied here from the device's `faults` so every part gets them the same way.

Device contract
---------------
I2C device: `i2c_read(reg, n) -> bytes` and `i2c_write(reg, data: bytes)`; the
    device does its own register auto-increment (datasheet behaviour differs).
    Optional `i2c_raw_read(n)` / `i2c_raw_write(data)` for parts without a
    register address phase. A register part without them answers the bus's
    plain transfers as silicon does: `writeto` sets its register pointer
    (first octet) and writes the rest from there, `readfrom` reads from that
    pointer (every plain read starts again at the last pointer written: the
    parts here auto-increment within a burst only).
SPI device: `spi_transaction(tx: bytes) -> bytes` (same length), called once
    per chip-select low..high window with every byte clocked in that window.
UART device: `uart_rx(data: bytes)` receives what the firmware wrote;
    `uart_poll(now_s) -> bytes` returns what the part sends up to `now_s`.
Every device has `faults: Faults` and `now_s` (set by the bench clock).
"""
from __future__ import annotations

import errno
import random
from dataclasses import dataclass, field


@dataclass
class Faults:
    """Fault injection common to every emulated part (host side, SI units)."""

    nack: bool = False                 # every bus transaction fails (OSError)
    nack_rate: float = 0.0             # probability a transaction fails
    bitflip_rate: float = 0.0          # per byte read, probability of one flipped bit
    garbage_rate: float = 0.0          # per UART poll, probability of injected junk bytes
    dropouts: list = field(default_factory=list)  # [(t0_s, t1_s)] part silent/NACK
    stuck: bool = False                # outputs frozen at their last value
    noise: float = 0.0                 # 1-sigma, in the part's physical unit
    bias: float = 0.0                  # added, in the part's physical unit
    saturate: bool = False             # output pinned at full scale
    wrong_id: bool = False             # id register reads a wrong value
    valid_never_set: bool = False      # data valid / ready flag never set
    ignore_enable: bool = False        # enable / power command ignored
    latency_s: float = 0.0             # values delivered late by this much
    seed: int = 0

    def __post_init__(self):
        self.rng = random.Random(self.seed)

    def in_dropout(self, now_s: float) -> bool:
        if not self.dropouts:              # the common case, asked on every bus call
            return False
        return any(t0 <= now_s < t1 for t0, t1 in self.dropouts)


def _corrupt(faults: Faults, data: bytes) -> bytes:
    if faults.bitflip_rate <= 0.0:
        return data
    out = bytearray(data)
    for i in range(len(out)):
        if faults.rng.random() < faults.bitflip_rate:
            out[i] ^= 1 << faults.rng.randrange(8)
    return bytes(out)


def _nbytes(buf) -> int:
    # machine.I2C/SPI take any buffer (bytearray, array('h'), memoryview): count bytes.
    return memoryview(buf).nbytes


def _fill(buf, data: bytes) -> None:
    memoryview(buf).cast("B")[:] = data


def _nacks(dev, now_s: float) -> bool:
    f = dev.faults
    if f.nack or f.in_dropout(now_s):
        return True
    return f.nack_rate > 0.0 and f.rng.random() < f.nack_rate


class EmuI2C:
    """machine.I2C-compatible bus with devices attached by 7-bit address."""

    def __init__(self, bus_id=0, clock=None):
        self.bus_id = bus_id
        self.devices: dict[int, object] = {}
        self.clock = clock  # object with .now_s
        self.transactions = 0
        self._pointer: dict[int, int] = {}  # addr -> register pointer of plain transfers

    def attach(self, addr: int, device) -> None:
        self.devices[addr] = device

    def _now(self) -> float:
        return self.clock.now_s if self.clock is not None else 0.0

    def _dev(self, addr):
        dev = self.devices.get(addr)
        self.transactions += 1
        if dev is None or _nacks(dev, self._now()):
            raise OSError(errno.ENODEV if dev is None else errno.EIO)
        dev.now_s = self._now()
        return dev

    def scan(self):
        # machine.I2C.scan: the addresses 0x08..0x77 that acknowledge
        return sorted(a for a, d in self.devices.items()
                      if 0x08 <= a <= 0x77 and not _nacks(d, self._now()))

    def readfrom_mem_into(self, addr, memaddr, buf, *, addrsize=8):
        dev = self._dev(addr)
        data = _corrupt(dev.faults, dev.i2c_read(memaddr, _nbytes(buf)))
        _fill(buf, data)

    def readfrom_mem(self, addr, memaddr, nbytes, *, addrsize=8):
        buf = bytearray(nbytes)
        self.readfrom_mem_into(addr, memaddr, buf)
        return bytes(buf)

    def writeto_mem(self, addr, memaddr, buf, *, addrsize=8):
        self._dev(addr).i2c_write(memaddr, bytes(buf))

    def readfrom_into(self, addr, buf, stop=True):
        dev = self._dev(addr)
        n = _nbytes(buf)
        if hasattr(dev, "i2c_raw_read"):
            data = dev.i2c_raw_read(n)
        else:
            data = dev.i2c_read(self._pointer.get(addr, 0), n)
        _fill(buf, _corrupt(dev.faults, data))

    def readfrom(self, addr, nbytes, stop=True):
        buf = bytearray(nbytes)
        self.readfrom_into(addr, buf, stop)
        return bytes(buf)

    def writeto(self, addr, buf, stop=True):
        dev = self._dev(addr)
        data = bytes(buf)
        if hasattr(dev, "i2c_raw_write"):
            dev.i2c_raw_write(data)
        elif data:
            self._pointer[addr] = data[0]
            if len(data) > 1:
                dev.i2c_write(data[0], data[1:])
        return len(data)                  # every octet acknowledged


class EmuSPI:
    """machine.SPI-compatible bus; a transaction spans chip-select low..high.

    Chip selects are EmuPin objects given to `attach`; when the firmware drives
    one low the bus starts collecting bytes for that device, and on high it
    delivers the whole window (so multi-call transactions work like silicon).
    """

    def __init__(self, bus_id=0, clock=None):
        self.bus_id = bus_id
        self.clock = clock
        self.devices = []  # [(cs_pin, device)]
        self.transactions = 0

    def attach(self, cs_pin, device) -> None:
        self.devices.append((cs_pin, device))

    def _selected(self):
        sel = [d for cs, d in self.devices if cs.value() == 0]
        return sel[0] if len(sel) == 1 else None

    def _xfer(self, tx: bytes) -> bytes:
        self.transactions += 1
        dev = self._selected()
        now = self.clock.now_s if self.clock is not None else 0.0
        if dev is None or _nacks(dev, now):
            return b"\xff" * len(tx)  # floating MISO reads as ones; SPI has no NACK
        dev.now_s = now
        return _corrupt(dev.faults, dev.spi_transaction(bytes(tx)))

    def write_readinto(self, write_buf, read_buf):
        _fill(read_buf, self._xfer(bytes(write_buf)))

    def readinto(self, buf, write=0x00):
        _fill(buf, self._xfer(bytes([write]) * _nbytes(buf)))

    def read(self, nbytes, write=0x00):
        return self._xfer(bytes([write]) * nbytes)

    def write(self, buf):
        self._xfer(bytes(buf))


class EmuUART:
    """machine.UART-compatible port wired to one device's serial pins.

    `txbuf` bounds what one write can take (a real UART FIFO + driver ring);
    the device's bytes are pulled at the bench clock, so frames arrive over time.
    """

    def __init__(self, uart_id=0, baudrate=115200, clock=None, rxbuf=512, txbuf=256):
        self.uart_id = uart_id
        self.baudrate = baudrate
        self.clock = clock
        self.device = None
        self.rxbuf = rxbuf
        self.txbuf = txbuf
        self._rx = bytearray()
        self.tx_log = bytearray()   # everything the firmware sent (e.g. the downlink)
        self.overruns = 0

    def attach(self, device) -> None:
        self.device = device

    def init(self, *args, **kwargs):
        if "baudrate" in kwargs:
            self.baudrate = kwargs["baudrate"]
        elif args:
            self.baudrate = args[0]

    def _pull(self):
        if self.device is None:
            return
        now = self.clock.now_s if self.clock is not None else 0.0
        self.device.now_s = now
        data = self.device.uart_poll(now)
        if data:
            self._rx += data
            if len(self._rx) > self.rxbuf:
                self.overruns += 1
                del self._rx[: len(self._rx) - self.rxbuf]

    def any(self):
        self._pull()
        return len(self._rx)

    def readinto(self, buf, nbytes=None):
        self._pull()
        n = len(buf) if nbytes is None else min(nbytes, len(buf))
        n = min(n, len(self._rx))
        if n == 0:
            return None
        buf[:n] = self._rx[:n]
        del self._rx[:n]
        return n

    def read(self, nbytes=None):
        self._pull()
        if not self._rx:
            return None
        n = len(self._rx) if nbytes is None else min(nbytes, len(self._rx))
        out = bytes(self._rx[:n])
        del self._rx[:n]
        return out

    def write(self, buf):
        data = bytes(buf)
        self.tx_log += data
        if self.device is not None:
            self.device.uart_rx(data)
        return len(data)

    def txdone(self):
        return True
