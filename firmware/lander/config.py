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
    ("terminal_alt_mm", 25000),       # low gate above the site: terminal descent below it
    ("terminal_vz_mm_s", 2000),       # descent rate at the low gate
    ("descent_tau_ms", 8000),         # vz_ref = -altitude / tau above the terminal gate
    ("max_descent_mm_s", 60000),
    ("vel_gain_q15", 16384),          # 0.5 /s: acceleration per unit velocity error
    ("site_x_mm", 3000000),           # landing site downrange of the powered-descent start
    # guidance and control (guidance.py, control.py)
    ("touchdown_vz_mm_s", 700),       # terminal ramp ends at this descent rate
    ("approach_tgo_ms", 10000),       # high gate: approach phase below this time-to-go
    ("replan_cycles", 5),             # re-plan every 5 cycles (10 Hz at 50 Hz)
    ("accel_band_q15", 29491),        # plan peak acceleration: 0.9 of the available
    ("ignite_q15", 9830),             # coast until the plan needs 0.3 of the band now
    ("max_pitch_rate_bau_s", 3641),   # 20 deg/s attitude set-point slew
    ("engine_lag_ms", 150),           # engine thrust lag (first order)
    ("terminal_pitch_bau", 1820),     # 10 deg attitude limit in the terminal descent
    ("safe_vz_mm_s", 1500),           # constant-rate safe descent
    ("hover_max_ms", 10000),          # abort hover at most this long
    ("reserve_g", 2000),              # propellant kept for the descent after a hover
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
        self.touchdown_vz_mm_s = values["touchdown_vz_mm_s"]
        self.approach_tgo_ms = values["approach_tgo_ms"]
        self.replan_cycles = values["replan_cycles"]
        self.accel_band_q15 = values["accel_band_q15"]
        self.ignite_q15 = values["ignite_q15"]
        self.max_pitch_rate_bau_s = values["max_pitch_rate_bau_s"]
        self.engine_lag_ms = values["engine_lag_ms"]
        self.terminal_pitch_bau = values["terminal_pitch_bau"]
        self.safe_vz_mm_s = values["safe_vz_mm_s"]
        self.hover_max_ms = values["hover_max_ms"]
        self.reserve_g = values["reserve_g"]
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
