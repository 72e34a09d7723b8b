# On-board parameters: vehicle, gains, alignment, site. Integers in the units
# of units.py. A version and a CRC-16 over the packed values let the ground
# and the loader tell which parameter set flies (a later issue stores it).
import struct

from lander.compat import const

CONFIG_VERSION = const(1)

# (name, default) in a fixed order: the CRC and telemetry use this order.
FIELDS = (
    ("rate_hz", 50),
    ("gravity_mm_s2", 1620),          # local gravity (1620 Moon, 9807 Earth)
    ("dry_mass_g", 340000),
    ("propellant_g", 80000),
    ("max_thrust_mn", 3000000),       # newtons * 1000
    ("min_throttle_q15", 6554),       # 0.2 of max thrust
    ("isp_s", 315),
    ("max_pitch_bau", 7282),          # 40 deg
    ("altimeter_beam_bau", 0),        # altimeter boresight from the thrust axis
    ("terminal_alt_mm", 30000),       # vertical terminal descent below this
    ("terminal_vz_mm_s", 1500),       # constant-speed touchdown
    ("descent_tau_ms", 8000),         # vz_ref = -altitude / tau above the terminal gate
    ("max_descent_mm_s", 60000),
    ("vel_gain_q15", 16384),          # 0.5 /s: acceleration per unit velocity error
    ("site_x_mm", 3000000),           # landing site downrange of the powered-descent start
)


class Config:
    def __init__(self, **overrides):
        known = [name for name, _ in FIELDS]
        for name in overrides:
            if name not in known:
                raise ValueError("unknown config key: %s" % name)
        values = {}
        for name, default in FIELDS:
            values[name] = overrides.get(name, default)
        self.rate_hz = values["rate_hz"]
        self.gravity_mm_s2 = values["gravity_mm_s2"]
        self.dry_mass_g = values["dry_mass_g"]
        self.propellant_g = values["propellant_g"]
        self.max_thrust_mn = values["max_thrust_mn"]
        self.min_throttle_q15 = values["min_throttle_q15"]
        self.isp_s = values["isp_s"]
        self.max_pitch_bau = values["max_pitch_bau"]
        self.altimeter_beam_bau = values["altimeter_beam_bau"]
        self.terminal_alt_mm = values["terminal_alt_mm"]
        self.terminal_vz_mm_s = values["terminal_vz_mm_s"]
        self.descent_tau_ms = values["descent_tau_ms"]
        self.max_descent_mm_s = values["max_descent_mm_s"]
        self.vel_gain_q15 = values["vel_gain_q15"]
        self.site_x_mm = values["site_x_mm"]
        self.version = CONFIG_VERSION
        self.crc = self.compute_crc()

    def pack(self):
        vals = [getattr(self, name) for name, _ in FIELDS]
        return struct.pack("<H%di" % len(vals), CONFIG_VERSION, *vals)

    def compute_crc(self):
        return crc16_ccitt(self.pack())


def crc16_ccitt(data, crc=0xFFFF):
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF), the CCSDS FECF CRC."""
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            if crc & 0x8000:
                crc = ((crc << 1) ^ 0x1021) & 0xFFFF
            else:
                crc = (crc << 1) & 0xFFFF
    return crc
