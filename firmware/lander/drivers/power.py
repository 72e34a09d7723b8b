# Bus / battery voltage through a resistor divider into an ADC.
#
# machine.ADC.read_u16() is 0..65535 on every port (rp2, esp32, stm32); the
# converters are 12-bit, so the value is taken as a 12-bit code (>> 4) to keep
# bus_mv = code * full_scale_mv / 4095 below 2^30.
# full_scale_mv = vref_mv * (r_top + r_bottom) / r_bottom, at start-up.
from lander.compat import const
from lander.events import post

# Events (power 0x0180-0x018F)
EV_POWER_LOW = const(0x0180)       # arg: bus_mv
EV_POWER_OK = const(0x0181)        # arg: bus_mv (recovered above low + hysteresis)

_CODE_MAX = const(4095)


class Power:
    def __init__(self, adc, vref_mv=3300, r_top=100000, r_bottom=10000,
                 low_mv=0, hysteresis_mv=200):
        self._adc = adc
        self.full_scale_mv = vref_mv * (r_top + r_bottom) // r_bottom
        if not (0 < self.full_scale_mv < 200000):
            raise ValueError("power divider")
        self.low_mv = low_mv
        self._hyst = hysteresis_mv
        self.bus_mv = 0
        self.raw = 0
        self.low = False
        self.errors = 0

    def read(self):
        """Sample the ADC; returns bus_mv (integer). Never raises."""
        try:
            raw = self._adc.read_u16()
        except OSError:
            self.errors += 1
            return self.bus_mv
        self.raw = raw
        mv = ((raw >> 4) * self.full_scale_mv) // _CODE_MAX
        self.bus_mv = mv
        if self.low_mv:
            if not self.low and mv < self.low_mv:
                self.low = True
                post(EV_POWER_LOW, mv)
            elif self.low and mv > self.low_mv + self._hyst:
                self.low = False
                post(EV_POWER_OK, mv)
        return mv
