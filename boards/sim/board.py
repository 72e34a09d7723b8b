# The simulated board: the embedded default board the demo flies. It uses the
# rp2-style machine API with one more UART (so every part is present), and the
# host bench (host_tools/emu/bench.py sim_bench) wires one emulated part to
# each entry of WIRING. Pin table: WIRING.md.
import machine
from machine import ADC, I2C, PWM, RTC, UART, WDT, Pin

from lander.board import Board, Watchdog, build_drivers, make_buses

WIRING = {
    "buses": {
        "i2c0": ("i2c", 0, {"scl": 5, "sda": 4, "freq": 400000}),
        "uart0": ("uart", 0, {"tx": 0, "rx": 1, "baudrate": 57600, "rxbuf": 512, "txbuf": 256}),
        "uart1": ("uart", 1, {"tx": 8, "rx": 9, "baudrate": 115200, "rxbuf": 512, "txbuf": 256}),
        "uart2": ("uart", 2, {"tx": 20, "rx": 21, "baudrate": 115200, "rxbuf": 512, "txbuf": 256}),
        "uart3": ("uart", 3, {"tx": 24, "rx": 25, "baudrate": 115200, "rxbuf": 512, "txbuf": 256}),
    },
    "imu": ("i2c", "i2c0", 0x6A),
    "imu2_acc": ("i2c", "i2c0", 0x18),
    "imu2_gyro": ("i2c", "i2c0", 0x68),
    "baro": ("i2c", "i2c0", 0x77),
    "altimeter": ("uart", "uart1", 115200),
    "rangefinder": ("uart", "uart2", 115200),
    "radio": ("uart", "uart0", 57600, 2),
    "attitude": ("uart", "uart3", 115200),
    "throttle_pwm": 14,
    "gimbal_pwm": 12,
    "arm_pin": 15,
    "legs": (6, 7, 10, 11),
    "power_adc": 28,
    "power_divider": (3300, 100000, 10000),
    "storage": "/blackbox.bin",
    "wdt_ms": 1000,
}


def make_board(rate_hz=50):
    w = WIRING
    b = Board("sim")
    b.buses = make_buses(w["buses"], I2C, None, UART, Pin)
    build_drivers(b, w, b.buses, Pin, PWM, ADC, rate_hz=rate_hz,
                  opener=getattr(machine, "flash_open", None))
    b.wdt = Watchdog(WDT, w["wdt_ms"])
    b.set_reset(machine.reset, machine.reset_cause())
    try:
        b.set_rtc(RTC())
    except Exception:
        b.rtc = None
    return b
