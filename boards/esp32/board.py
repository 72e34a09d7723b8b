# ESP32 (ESP32-WROOM-32 DevKitC, MicroPython esp32 port). Pin table: WIRING.md.
# IMUs on SPI(2) (VSPI), barometer on I2C(0), laser altimeter on UART(2),
# radio on UART(1) (no CTS: the free CTS-capable pins are taken); UART(0) is
# the REPL, so no bench rangefinder on this board. Pins 34-39 are inputs
# without internal pulls: legs on 34/35 need external 10k pull-ups.
import machine
from machine import ADC, I2C, PWM, RTC, SPI, UART, WDT, Pin

from lander.board import Board, Watchdog, build_drivers, make_buses

WIRING = {
    "buses": {
        "i2c0": ("i2c", 0, {"scl": 22, "sda": 21, "freq": 400000}),
        "spi2": ("spi", 2, {"sck": 18, "mosi": 23, "miso": 19, "baudrate": 8000000,
                            "polarity": 0, "phase": 0}),
        "uart2": ("uart", 2, {"tx": 17, "rx": 16, "baudrate": 115200, "rxbuf": 512}),
        "uart1": ("uart", 1, {"tx": 4, "rx": 36, "baudrate": 57600, "txbuf": 256}),
    },
    "imu": ("spi", "spi2", 5),
    "imu2_acc": ("spi", "spi2", 32),
    "imu2_gyro": ("spi", "spi2", 33),
    "baro": ("i2c", "i2c0", 0x77),
    "altimeter": ("uart", "uart2", 115200),
    "rangefinder": None,
    "radio": ("uart", "uart1", 57600, None),
    "throttle_pwm": 25,
    "gimbal_pwm": 26,
    "arm_pin": 27,
    "legs": (13, 14, 34, 35),
    "power_adc": 39,                     # ADC1_CH3, 11 dB attenuation (0..3.3 V)
    "power_divider": (3300, 100000, 10000),
    "storage": "/blackbox.bin",
    "wdt_ms": 1000,
}


def make_board(rate_hz=50):
    w = WIRING
    b = Board("esp32")
    # the esp32 UART takes its tx/rx as GPIO numbers
    b.buses = make_buses(w["buses"], I2C, SPI, UART, Pin, pin_numbers=("tx", "rx"))
    build_drivers(b, w, b.buses, Pin, PWM, ADC, rate_hz=rate_hz,
                  opener=getattr(machine, "flash_open", None))
    if b.power is not None:
        try:
            ADC(Pin(w["power_adc"])).atten(ADC.ATTN_11DB)
        except (AttributeError, OSError):
            pass
    b.wdt = Watchdog(WDT, w["wdt_ms"])
    b.set_reset(machine.reset, machine.reset_cause())
    b.set_rtc(RTC())                        # RTC.memory(): 2 KiB kept across resets
    return b
