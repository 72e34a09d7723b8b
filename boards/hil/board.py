# The hardware-in-the-loop board: the sim board's parts and wiring, but every
# bus is a register mirror kept up to date over the serial link, one framed
# exchange per cycle (lander/hil.py); the simulator and the emulated parts run
# on the host (`lander hil`). Deployed as board.py on a real board or the
# virtual board; main.py then serves the link instead of running its own
# schedule (the host's clock drives the cycles).
from lander.board import Board, Watchdog, build_drivers
from lander.hil import MirrorI2C, MirrorUART, _mirror_classes

HIL = True

# the same parts on the same buses as boards/sim (tests/test_hil.py checks it)
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


def make_board(node, rate_hz=50, opener=None):
    w = WIRING
    b = Board("hil")
    Pin, PWM, ADC, WDT = _mirror_classes(node)
    buses = {}
    for name in w["buses"]:
        kind, bus_id, _ = w["buses"][name]
        buses[name] = MirrorI2C(node, bus_id) if kind == "i2c" else MirrorUART(node, bus_id)
    b.buses = buses
    build_drivers(b, w, buses, Pin, PWM, ADC, rate_hz=rate_hz, opener=opener)
    b.wdt = Watchdog(WDT, w["wdt_ms"])
    b.rtc = None
    return b
