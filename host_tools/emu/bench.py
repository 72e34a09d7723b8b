"""The bench: a clock, the board's buses and pins, and emulated parts on them.

`Bench` is what the host `machine` module is backed by: registries of I2C, SPI
and UART buses by the ids the board passes, pins/PWM/ADC by pin id, a watchdog,
RTC memory and a flash filesystem. The simulator advances `now_s`.

`sim_bench(seed)` wires one emulator of every part exactly as
boards/sim/board.py's WIRING table says; `board_bench(name, seed)` does the same
for pico / esp32 / pyboard (parts a board lacks are simply not attached).
`load_board(name, bench)` installs the host machine module and imports
boards/<name>/board.py by path, then calls its make_board().
"""
from __future__ import annotations

import ast
import importlib.util
import os
import sys

import host_tools
from host_tools.codecache import CachingLoader
from host_tools.emu import machine as host_machine
from host_tools.emu.attitude import AttitudeUnitEmu
from host_tools.emu.bus import EmuI2C, EmuSPI, EmuUART, Faults
from host_tools.emu.engine import EngineEmu
from host_tools.emu.flash import FlashEmu
from host_tools.emu.laser_altimeter import LaserAltimeterEmu
from host_tools.emu.legs import LegsEmu
from host_tools.emu.power import PowerEmu
from host_tools.emu.radio import RadioEmu
from host_tools.emu.tfluna import TfLunaEmu
from host_tools.emu.wdt import WdtEmu

PIN_IN, PIN_OUT, PIN_OPEN_DRAIN = 0, 1, 2
PULL_UP, PULL_DOWN = 1, 2


class PinState:
    """One GPIO: the MCU's output latch, its pull, and what the outside drives."""

    def __init__(self, pin_id):
        self.id = pin_id
        self.mode = PIN_IN
        self.pull = None
        self.out = 0
        self.ext = None          # level driven from outside (None = not driven)
        self.ext_fn = None       # callable -> level or None (emulated part)
        self.irq = None

    def level(self) -> int:
        if self.mode == PIN_OUT:
            return self.out
        ext = self.ext_fn() if self.ext_fn is not None else self.ext
        if self.mode == PIN_OPEN_DRAIN and self.out == 0:
            return 0
        if ext is not None:
            return 1 if ext else 0
        if self.pull == PULL_UP or self.mode == PIN_OPEN_DRAIN:
            return 1
        return 0

    value = level            # EmuSPI reads chip selects with .value()

    def __repr__(self):
        return "PinState(%r)" % (self.id,)


class PwmState:
    def __init__(self, pin_id):
        self.id = pin_id
        self.freq = 1000
        self.duty_ns = 0
        self.enabled = False
        self.writes = 0
        self.on_change = None    # callable() when the output changes (emulated part)

    def period_ns(self) -> int:
        return int(1e9 // self.freq)

    def set_duty_ns(self, ns: int) -> None:
        ns = int(ns)
        period = self.period_ns()
        self.duty_ns = 0 if ns < 0 else (period if ns > period else ns)
        self.writes += 1
        if self.on_change is not None:
            self.on_change()

    def duty_u16(self) -> int:
        return int(self.duty_ns * 65535 // self.period_ns())


class AdcState:
    def __init__(self, pin_id):
        self.id = pin_id
        self.read_fn = None
        self.value = 0

    def read_u16(self) -> int:
        return int(self.read_fn()) if self.read_fn is not None else self.value


class HostUART(EmuUART):
    """EmuUART whose writes reach the part at the bench time."""

    def write(self, buf):
        if self.device is not None:
            self.device.now_s = self.clock.now_s if self.clock is not None else 0.0
        return super().write(buf)


class Bench:
    def __init__(self, seed: int = 0, name: str = "bench"):
        self.name = name
        self.seed = seed
        self.now_s = 0.0
        self.pins: dict = {}
        self.pwms: dict = {}
        self.adcs: dict = {}
        self.i2cs: dict = {}
        self.spis: dict = {}
        self.uarts: dict = {}
        self.parts: dict = {}
        self.wdt = WdtEmu()
        self.wdt.clock = self
        self.flash = FlashEmu()
        self.rtc_memory_size = 2048
        self.rtc_memory = bytearray()
        self.rtc_datetime = (2026, 1, 1, 3, 0, 0, 0, 0)
        self.reset_cause = host_machine.PWRON_RESET
        self.resets: list = []
        self.unique_id = bytes((0xE6, 0x60, 0x58, 0x38, 0x83, 0x2B, 0x1A, seed & 0xFF))
        self.cpu_hz = 125_000_000
        self._tickers: list = []

    # --- registries (get or create) ---------------------------------------
    def pin(self, pin_id) -> PinState:
        if pin_id not in self.pins:
            self.pins[pin_id] = PinState(pin_id)
        return self.pins[pin_id]

    def pwm(self, pin_id) -> PwmState:
        if pin_id not in self.pwms:
            self.pwms[pin_id] = PwmState(pin_id)
        return self.pwms[pin_id]

    def adc(self, pin_id) -> AdcState:
        if pin_id not in self.adcs:
            self.adcs[pin_id] = AdcState(pin_id)
        return self.adcs[pin_id]

    def i2c(self, bus_id) -> EmuI2C:
        if bus_id not in self.i2cs:
            self.i2cs[bus_id] = EmuI2C(bus_id, clock=self)
        return self.i2cs[bus_id]

    def spi(self, bus_id) -> EmuSPI:
        if bus_id not in self.spis:
            self.spis[bus_id] = EmuSPI(bus_id, clock=self)
        return self.spis[bus_id]

    def uart(self, uart_id) -> HostUART:
        if uart_id not in self.uarts:
            self.uarts[uart_id] = HostUART(uart_id, clock=self, rxbuf=512, txbuf=256)
        return self.uarts[uart_id]

    # --- wiring -------------------------------------------------------------
    def add_part(self, name: str, part) -> None:
        self.parts[name] = part
        if hasattr(part, "clock"):
            part.clock = self
        if hasattr(part, "tick") and part not in self._tickers:
            self._tickers.append(part)

    # --- time and resets ----------------------------------------------------
    def advance(self, dt_s: float) -> None:
        self.now_s += dt_s
        for p in self._tickers:
            p.tick(self.now_s)
        if self.wdt.started and self.wdt.expired and not any(
                c == host_machine.WDT_RESET and t == self.wdt.expired_at_s for t, c in self.resets):
            self.resets.append((self.wdt.expired_at_s, host_machine.WDT_RESET))
            self.reset_cause = host_machine.WDT_RESET

    def request_reset(self, cause: int) -> None:
        self.hardware_reset(cause)

    def hardware_reset(self, cause: int = host_machine.HARD_RESET) -> None:
        """The MCU resets: PWM stops, every GPIO becomes an undriven input,
        UART receive buffers are lost, the watchdog stops; RTC memory, flash
        and the emulated parts (their own power) are kept. The simulator then
        loads the board again (load_board) to model the reboot."""
        self.resets.append((self.now_s, cause))
        self.reset_cause = cause
        for pwm in self.pwms.values():
            pwm.enabled = False
            pwm.set_duty_ns(0)
        for pin in self.pins.values():
            pin.mode, pin.pull, pin.out = PIN_IN, None, 0
        for uart in self.uarts.values():
            uart._rx.clear()
        self.wdt.reset()


def _seeded(seed: int, k: int) -> Faults:
    return Faults(seed=seed * 1000 + k)


def _board_path(name: str) -> str:
    return os.path.join(host_tools.BOARDS_DIR, name, "board.py")


def board_wiring(name: str) -> dict:
    """The WIRING table of boards/<name>/board.py, read without importing it."""
    tree = ast.parse(open(_board_path(name)).read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "WIRING" for t in node.targets):
            return ast.literal_eval(node.value)
    raise KeyError("no WIRING in boards/%s/board.py" % name)


def _emu_class(module: str, cls: str):
    """Helper A's IMU/baro emulators, or None while they are not there yet."""
    try:
        return getattr(importlib.import_module("host_tools.emu." + module), cls)
    except (ImportError, AttributeError):
        return None


def board_bench(name: str, seed: int = 0, air_bps: float = 2000.0) -> Bench:
    """A bench with one emulated part on every bus/pin boards/<name> uses."""
    w = board_wiring(name)
    b = Bench(seed, name)
    buses = w["buses"]
    k = 0

    def faults():
        nonlocal k
        k += 1
        return _seeded(seed, k)

    def attach(entry, dev):
        kind, bus_name, where = entry[0], entry[1], entry[2]
        bus_id = buses[bus_name][1]
        if kind == "i2c":
            b.i2c(bus_id).attach(where, dev)
        elif kind == "spi":
            b.spi(bus_id).attach(b.pin(where), dev)
        else:
            b.uart(bus_id).attach(dev)

    Lsm = _emu_class("lsm6dsox", "Lsm6dsoxEmu")
    BmiA = _emu_class("bmi088", "Bmi088AccelEmu")
    BmiG = _emu_class("bmi088", "Bmi088GyroEmu")
    Bmp = _emu_class("bmp390", "Bmp390Emu")
    if w.get("imu") and Lsm is not None:
        dev = Lsm(faults())
        attach(w["imu"], dev)
        b.add_part("imu", dev)
    if w.get("imu2_acc") and BmiA is not None:
        acc, gyr = BmiA(faults()), BmiG(faults())
        attach(w["imu2_acc"], acc)
        attach(w["imu2_gyro"], gyr)
        b.add_part("imu2_acc", acc)
        b.add_part("imu2_gyro", gyr)
    if w.get("baro") and Bmp is not None:
        dev = Bmp(faults())
        attach(w["baro"], dev)
        b.add_part("baro", dev)
    if w.get("altimeter"):
        dev = LaserAltimeterEmu(baudrate=w["altimeter"][2], faults=faults())
        attach(w["altimeter"], dev)
        b.add_part("altimeter", dev)
    if w.get("rangefinder"):
        dev = TfLunaEmu(baudrate=w["rangefinder"][2], faults=faults())
        attach(w["rangefinder"], dev)
        b.add_part("rangefinder", dev)
    if w.get("throttle_pwm") is not None:
        eng = EngineEmu(faults=faults())
        eng.connect(b.pwm(w["throttle_pwm"]), b.pin(w["arm_pin"]),
                    b.pwm(w["gimbal_pwm"]) if w.get("gimbal_pwm") is not None else None)
        b.add_part("engine", eng)
        b.parts["gimbal"] = eng
    if w.get("legs"):
        legs = LegsEmu(len(w["legs"]), faults=faults())
        legs.connect([b.pin(p) for p in w["legs"]])
        b.add_part("legs", legs)
    if w.get("radio"):
        r = w["radio"]
        radio = RadioEmu(air_bps=air_bps, baudrate=r[2], faults=faults())
        attach(r, radio)
        if len(r) > 3 and r[3] is not None:
            b.pin(r[3]).ext_fn = radio.cts_level
        b.add_part("radio", radio)
    if w.get("power_adc") is not None:
        vref, rt, rb = w.get("power_divider", (3300, 100000, 10000))
        pw = PowerEmu(vref_v=vref / 1000.0, r_top=rt, r_bottom=rb, faults=faults())
        b.adc(w["power_adc"]).read_fn = pw.read_u16
        b.add_part("power", pw)
    if w.get("attitude"):
        acu = AttitudeUnitEmu(baudrate=w["attitude"][2], faults=faults())
        attach(w["attitude"], acu)
        b.add_part("attitude", acu)
    b.parts["wdt"] = b.wdt
    b.parts["flash"] = b.flash
    return b


def sim_bench(seed: int = 0, air_bps: float = 2000.0) -> Bench:
    """The bench the demo flies on: every part, wired as boards/sim/board.py says."""
    return board_bench("sim", seed, air_bps)


def load_board(name: str, bench: Bench, **kwargs):
    """Install the host machine module on `bench`, import boards/<name>/board.py
    by path (a fresh module each call) and return its make_board()."""
    host_machine.install(bench)
    mod_name = "board_%s" % name
    path = _board_path(name)
    spec = importlib.util.spec_from_file_location(mod_name, path, loader=CachingLoader(mod_name, path))
    mod = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = mod
    spec.loader.exec_module(mod)
    return mod.make_board(**kwargs)
