# The one table of integer units and scale factors used on board.
# Every quantity on the cycle path is an int in one of these units.
from lander.compat import const

# Length and its derivatives
MM_PER_M = const(1000)            # length: millimetres (20 km = 2e7 mm < 2^30)
# velocity: mm/s ; acceleration: mm/s^2
G_EARTH_MM_S2 = const(9807)       # standard gravity, for IMU specific force
G_MOON_MM_S2 = const(1620)

# Angle: binary angle, 2^16 units per turn (one unit = 0.0055 deg)
ANGLE_TURN = const(65536)
ANGLE_HALF = const(32768)
ANGLE_QUARTER = const(16384)
# Angular rate: angle units per second ("bau/s"); 1 deg/s = 182.04 bau/s
# Rates from gyros are converted to micro-radians per second (urad/s) too.
URAD_PER_RAD = const(1000000)

# Dimensionless fractions (sin/cos results, gains): Q15, 1.0 = 32768
Q15_ONE = const(32768)
Q15_SHIFT = const(15)

# Throttle: 1/32768 of max thrust (0..32768)
THROTTLE_FULL = const(32768)

# Mass: grams. Force: newtons * 1000 (mN) where needed.
G_PER_KG = const(1000)

# Time: microseconds, from ticks_us via ticks_diff
US_PER_S = const(1000000)
US_PER_MS = const(1000)

# Pressure: pascal * 100 (centi-pascal, 101325 Pa = 10132500 < 2^30)
CPA_PER_PA = const(100)
# Temperature: centi-degree Celsius
# Voltage: millivolts
MV_PER_V = const(1000)

# Small-int range of 32-bit MicroPython: |x| < 2^30
INT_MAX = const(0x3FFFFFFF)
INT_MIN = const(-0x3FFFFFFF)
