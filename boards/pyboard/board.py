# Pyboard v1.1 (STM32F405, MicroPython stm32 port). Pin table: WIRING.md.
# IMUs on SPI(1) (X6 SCK, X7 MISO, X8 MOSI), barometer on hardware I2C(1)
# (X9 SCL, X10 SDA), laser altimeter on UART(4) (X1 TX, X2 RX), TF-Luna bench
# rangefinder on UART(6) (Y1 TX, Y2 RX), radio on UART(3) (Y9 TX, Y10 RX)
# with its CTS read on Y6. Throttle/gimbal PWM on X3/X4 (TIM9/TIM5).
import machine
from machine import ADC, I2C, PWM, SPI, UART, WDT, Pin

from lander.board import Board, Watchdog, build_drivers, make_buses

WIRING = {
    "buses": {
        "i2c1": ("i2c", 1, {"freq": 400000}),
        "spi1": ("spi", 1, {"baudrate": 5250000, "polarity": 0, "phase": 0}),
        "uart4": ("uart", 4, {"baudrate": 115200, "rxbuf": 512}),
        "uart6": ("uart", 6, {"baudrate": 115200, "rxbuf": 256}),
        "uart3": ("uart", 3, {"baudrate": 57600, "txbuf": 256}),
    },
    "imu": ("spi", "spi1", "X5"),
    "imu2_acc": ("spi", "spi1", "X11"),
    "imu2_gyro": ("spi", "spi1", "X12"),
    "baro": ("i2c", "i2c1", 0x77),
    "altimeter": ("uart", "uart4", 115200),
    "rangefinder": ("uart", "uart6", 115200),
    "radio": ("uart", "uart3", 57600, "Y6"),
    "throttle_pwm": "X3",
    "gimbal_pwm": "X4",
    "arm_pin": "Y8",
    "legs": ("Y3", "Y4", "Y11", "Y12"),
    "power_adc": "X19",
    "power_divider": (3300, 100000, 10000),
    "storage": "/flash/blackbox.bin",
    "wdt_ms": 1000,
}


def make_board(rate_hz=50):
    w = WIRING
    b = Board("pyboard")
    b.buses = make_buses(w["buses"], I2C, SPI, UART, Pin)   # fixed pins (X/Y)
    build_drivers(b, w, b.buses, Pin, PWM, ADC, rate_hz=rate_hz,
                  opener=getattr(machine, "flash_open", None))
    b.wdt = Watchdog(WDT, w["wdt_ms"])
    b.set_reset(machine.reset, machine.reset_cause())
    b.rtc = None                         # backup SRAM not exposed by machine.RTC
    return b
