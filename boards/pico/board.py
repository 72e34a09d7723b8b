# Raspberry Pi Pico (RP2040, MicroPython rp2 port). Pin table: WIRING.md.
# IMUs on SPI0, barometer on I2C0, laser altimeter on UART0, radio on UART1
# (CTS on GP10 read as a GPIO). The RP2040 has two UARTs: no bench
# rangefinder on this board (rangefinder = None).
import machine
from machine import ADC, I2C, PWM, SPI, UART, WDT, Pin

from lander.board import Board, Watchdog, build_drivers, make_buses

WIRING = {
    "buses": {
        "i2c0": ("i2c", 0, {"scl": 5, "sda": 4, "freq": 400000}),
        "spi0": ("spi", 0, {"sck": 18, "mosi": 19, "miso": 16, "baudrate": 8000000,
                            "polarity": 0, "phase": 0}),
        "uart0": ("uart", 0, {"tx": 0, "rx": 1, "baudrate": 115200, "rxbuf": 512, "txbuf": 64}),
        "uart1": ("uart", 1, {"tx": 8, "rx": 9, "baudrate": 57600, "rxbuf": 256, "txbuf": 256}),
    },
    "imu": ("spi", "spi0", 17),          # LSM6DSOX CS on GP17
    "imu2_acc": ("spi", "spi0", 20),     # BMI088 accel CSB1 on GP20
    "imu2_gyro": ("spi", "spi0", 21),    # BMI088 gyro CSB2 on GP21
    "baro": ("i2c", "i2c0", 0x77),       # BMP390, SDO high
    "altimeter": ("uart", "uart0", 115200),
    "rangefinder": None,
    "radio": ("uart", "uart1", 57600, 10),   # CTS from the radio on GP10
    "throttle_pwm": 14,                  # PWM slice 7A
    "gimbal_pwm": 12,                    # PWM slice 6A
    "arm_pin": 15,
    "legs": (2, 3, 6, 7),
    "power_adc": 28,                     # ADC2
    "power_divider": (3300, 100000, 10000),
    "storage": "/blackbox.bin",
    "wdt_ms": 1000,                      # rp2 maximum is 8388 ms
}


def make_board(rate_hz=50):
    w = WIRING
    b = Board("pico")
    b.buses = make_buses(w["buses"], I2C, SPI, UART, Pin)
    build_drivers(b, w, b.buses, Pin, PWM, ADC, rate_hz=rate_hz,
                  opener=getattr(machine, "flash_open", None))
    b.wdt = Watchdog(WDT, w["wdt_ms"])
    b.set_reset(machine.reset, machine.reset_cause())
    b.rtc = None                         # rp2 RTC has no memory(): checkpoints go to flash
    return b
