# On-board parameters: vehicle, gains, alignment, site, telemetry link. Integers
# in the units of units.py. A version and a CRC-16 over the packed values let
# the ground and the loader tell which parameter set flies.
#
# On the board the parameters live in one file, config.json (CONFIG_PATH),
# written by `lander deploy` (and its "calibration" by `lander bench`), checked
# at boot by load_json():
#   {"version": CONFIG_VERSION, "params": {name: int, ...}, "crc": CRC-16 of
#    the packed set (optional), "calibration": {...}}
# The packed set: the version as a little-endian u16, then each FIELDS value,
# in order, as a little-endian two's-complement 32-bit word (Config.crc is
# its CRC-16/CCITT-FALSE, fed word by word: compute_crc).
# The host writes the file (host_tools/board/deploy.py config_json).
# A key absent from "params" keeps its default. A missing file, bad JSON, a
# wrong version, an unknown key, a non-integer value, a CRC that disagrees or
# a value out of range gives the defaults and a reason code (+ the index of the
# offending field where there is one): the executive then refuses to arm and
# reports it (EV_CONFIG_BAD); describe() words it for a person.
from lander.checkpoint import crc16_word
from lander.compat import const
from lander.drivers.storage import crc16

CONFIG_VERSION = const(1)

# (name, default, lowest, highest) in a fixed order: the CRC and telemetry use
# this order. Every value is bounded (inclusive) to what a descent can mean and
# so that the fixed-point terms built from it stay within +/-2^30: checked when
# a file is loaded and when a set_param telecommand changes a value. One tuple
# per parameter, its bounds beside its default (a separate bounds dict cost
# more start-up heap than the two words each tuple grows by).
FIELDS = (
    ("rate_hz", 50, 10, 100),
    ("gravity_mm_s2", 1620, 1000, 10000),           # local gravity (1620 Moon, 9807 Earth)
    ("dry_mass_g", 340000, 1000, 1000000),
    ("propellant_g", 80000, 0, 1000000),
    ("max_thrust_mn", 3000000, 1000, 100000000),    # newtons * 1000
    ("min_throttle_q15", 6554, 0, 32767),           # 0.2 of max thrust
    ("isp_s", 315, 50, 500),
    ("max_pitch_bau", 7282, 0, 16384),              # 40 deg (90 deg at most)
    ("altimeter_beam_bau", 0, -8192, 8192),         # altimeter boresight from the thrust axis
    ("terminal_alt_mm", 25000, 1000, 200000),       # low gate above the site: terminal descent below it
    ("terminal_vz_mm_s", 2000, 200, 5000),          # descent rate at the low gate
    ("descent_tau_ms", 8000, 1000, 60000),          # vz_ref = -altitude / tau above the terminal gate
    ("max_descent_mm_s", 60000, 1000, 200000),
    ("vel_gain_q15", 16384, 0, 65536),              # 0.5 /s: acceleration per unit velocity error
    ("site_x_mm", 3000000, -100000000, 100000000),  # landing site downrange of the powered-descent start
    # guidance and control (guidance.py, control.py)
    ("touchdown_vz_mm_s", 700, 100, 5000),          # terminal ramp ends at this descent rate (0: never lands)
    ("approach_tgo_ms", 10000, 0, 600000),          # high gate: approach below this time-to-go (guidance's longest plan)
    ("replan_cycles", 5, 1, 50),                    # re-plan every 5 cycles (10 Hz at 50 Hz; at least 1 Hz at 50 Hz)
    ("accel_band_q15", 29491, 8192, 32767),         # plan peak acceleration: 0.9 of the available
    ("approach_band_q15", 26214, 8192, 32767),      # plan end (at the low gate): 0.8 of the available
    ("ignite_q15", 9830, 0, 32767),                 # coast until the plan needs 0.3 of the band now
    ("max_pitch_rate_bau_s", 3641, 182, 65536),     # 20 deg/s attitude set-point slew (1..360 deg/s)
    ("engine_lag_ms", 150, 0, 10000),               # engine thrust lag (first order)
    ("terminal_pitch_bau", 1820, 0, 16384),         # 10 deg attitude limit in the terminal descent
    ("braking_pitch_bau", 8192, 0, 16384),          # 45 deg attitude limit in braking (slant-range altimetry; 0: the vehicle's)
    ("safe_vz_mm_s", 1500, 200, 5000),              # constant-rate safe descent
    ("hover_max_ms", 10000, 0, 600000),             # abort hover at most this long
    ("reserve_g", 2000, 0, 1000000),                # propellant kept for the descent after a hover
    ("ckpt_period_ms", 100, 20, 1000),              # warm-restart checkpoint into RTC/scratch memory
    ("ckpt_flash_ms", 250, 200, 10000),             # ... and onto flash (survives a power loss)
    ("reboot_est_ms", 500, 0, 5000),                # assumed reset-to-resume gap where ticks restart
    ("max_divert_mm", 500000, 0, 5000000),          # a divert moves the site at most this far
    ("bench_mode", 0, 0, 1),                        # 1: engine outputs inhibited, everything else runs
    # telemetry downlink (telemetry/stage.py, frames.py; docs/protocols.md)
    ("tlm_bitrate_bps", 2000, 100, 19200),          # over-the-air bit rate the scheduler paces to (not the UART's)
    ("tlm_frame_len", 128, 16, 239),                # TM Transfer Frame octets; and frame_len + 2E <= 255 (check())
    ("tlm_rs_e", 8, 8, 16),                         # Reed-Solomon correction capability E: 8 or 16 (check())
    # executive
    ("sensor_mask", 0xFF, 0, 0xFF),                 # bit per sensor read (app.SENSOR_*): 0 = disabled
    # the vehicle's attitude response to a held set-point (the attitude unit's
    # closed loop: rate command = error / tau, the rate lagging it by lag);
    # the warm restart predicts the pitch over the reset gap with it
    ("att_tau_ms", 500, 1, 60000),
    ("att_lag_ms", 100, 0, 10000),
)

# Parameters a set_param telecommand may change in flight, by their index in
# FIELDS (the set_param id; indices, not names: a tuple of names kept a second
# copy of each name in the .mpy and on the heap). Each takes effect at once:
# the stages read it each cycle or re-derive what they built from it
# (Nav.configure, Guidance.configure, called by App.cmd_set_param).
IN_FLIGHT = (8, 9, 10, 31)   # altimeter_beam_bau, terminal_alt_mm, terminal_vz_mm_s, max_divert_mm
# Parameters fixed when the stages are built at boot (the loop period, the
# gain tables, the mass and flow model, the re-plan period, the telemetry
# framer): only config.json sets them. A set_param is refused in every mode
# (REJ_MODE) rather than accepted and flown without effect. descent_tau_ms,
# max_descent_mm_s and vel_gain_q15 are read by nothing since the ZEM/ZEV
# guidance; they stay in FIELDS so the packed order and the CRC do not move.
AT_BOOT = (0, 1, 2, 3, 4,    # rate_hz, gravity_mm_s2, dry_mass_g, propellant_g, max_thrust_mn
           6, 7,             # isp_s, max_pitch_bau
           11, 12, 13, 14,   # descent_tau_ms, max_descent_mm_s, vel_gain_q15, site_x_mm
           17, 21, 22,       # replan_cycles, max_pitch_rate_bau_s, engine_lag_ms
           24, 25,           # braking_pitch_bau, safe_vz_mm_s
           28, 29,           # ckpt_period_ms, ckpt_flash_ms
           33, 34, 35)       # tlm_bitrate_bps, tlm_frame_len, tlm_rs_e

CONFIG_PATH = "config.json"

# Reasons a configuration is refused (load_json / App.cfg_status)
CFG_OK = const(0)
CFG_MISSING = const(1)
CFG_SHORT = const(2)          # (the retired binary file: kept so codes never move)
CFG_BAD_MAGIC = const(3)      # not a JSON object
CFG_BAD_VERSION = const(4)
CFG_BAD_COUNT = const(5)      # an unknown key (its index in the file's "params" is not known)
CFG_BAD_CRC = const(6)
CFG_OUT_OF_RANGE = const(7)   # the index of the first bad field goes with it (a non-integer too)


class Config:
    # One attribute per FIELDS entry, set from the table (a statement per
    # parameter cost ~25 bytes of .mpy each); declared here for the type
    # checker (annotations alone compile to nothing).
    rate_hz: int
    gravity_mm_s2: int
    dry_mass_g: int
    propellant_g: int
    max_thrust_mn: int
    min_throttle_q15: int
    isp_s: int
    max_pitch_bau: int
    altimeter_beam_bau: int
    terminal_alt_mm: int
    terminal_vz_mm_s: int
    descent_tau_ms: int
    max_descent_mm_s: int
    vel_gain_q15: int
    site_x_mm: int
    touchdown_vz_mm_s: int
    approach_tgo_ms: int
    replan_cycles: int
    accel_band_q15: int
    approach_band_q15: int
    ignite_q15: int
    max_pitch_rate_bau_s: int
    engine_lag_ms: int
    terminal_pitch_bau: int
    braking_pitch_bau: int
    safe_vz_mm_s: int
    hover_max_ms: int
    reserve_g: int
    ckpt_period_ms: int
    ckpt_flash_ms: int
    reboot_est_ms: int
    max_divert_mm: int
    bench_mode: int
    tlm_bitrate_bps: int
    tlm_frame_len: int
    tlm_rs_e: int
    sensor_mask: int
    att_tau_ms: int
    att_lag_ms: int

    def __init__(self, **overrides):
        for name in overrides:
            if index_of(name) < 0:
                raise ValueError("unknown config key: %s" % name)
        for f in FIELDS:
            setattr(self, f[0], overrides.get(f[0], f[1]))
        self.version = CONFIG_VERSION
        self.crc = self.compute_crc()

    def compute_crc(self):
        """CRC-16 of the packed set (see the top of this file), fed word by
        word without building it: a set_param recomputes it under heap_lock."""
        crc = _CRC_VERSION
        for f in FIELDS:
            crc = crc16_word(crc, getattr(self, f[0]))
        return crc

    def check(self):
        """-1 if every value is within its bounds, else the index of the first that is not."""
        for i in range(len(FIELDS)):
            f = FIELDS[i]
            if not f[2] <= getattr(self, f[0]) <= f[3]:
                return i
        # the Reed-Solomon code: E is 8 or 16, and the frame must fit the
        # (255, 255 - 2E) codeblock (shortened by virtual fill)
        e = self.tlm_rs_e
        if e != 8 and e != 16:
            return index_of("tlm_rs_e")
        if self.tlm_frame_len + 2 * e > 255:
            return index_of("tlm_frame_len")
        return -1


def index_of(name):
    """Index of a parameter in FIELDS (-1 if unknown): the set_param id."""
    for i in range(len(FIELDS)):
        if FIELDS[i][0] == name:
            return i
    return -1


def describe(reason, arg):
    """One line naming what is wrong with a refused configuration (ground
    tools and start-up messages; never on the cycle path)."""
    if reason == CFG_OK:
        return "ok"
    if reason == CFG_OUT_OF_RANGE and 0 <= arg < len(FIELDS):
        name, _, lo, hi = FIELDS[arg]
        extra = ""
        if name == "tlm_rs_e":
            extra = " and 8 or 16"
        elif name == "tlm_frame_len":
            extra = " and tlm_frame_len + 2 * tlm_rs_e <= 255"
        return "config key %s not an integer in %d..%d%s" % (name, lo, hi, extra)
    names = {CFG_MISSING: "missing", CFG_SHORT: "short", CFG_BAD_MAGIC: "not a JSON object",
             CFG_BAD_VERSION: "bad version", CFG_BAD_COUNT: "unknown key",
             CFG_BAD_CRC: "bad CRC", CFG_OUT_OF_RANGE: "value out of range"}
    return "config %s (%d)" % (names.get(reason, "refused"), arg)


def from_json(data):
    """(Config, reason, arg) from the text of the deployed config.json
    ({"version": 1, "params": {...}, "crc": CRC-16 of the packed set, ...});
    see the top of this file. Start-up only."""
    import json
    try:
        d = json.loads(data)
        version = d.get("version")
        params = d.get("params", {})
        crc = d.get("crc")
    except (ValueError, AttributeError):
        return Config(), CFG_BAD_MAGIC, 0
    if version != CONFIG_VERSION:
        return Config(), CFG_BAD_VERSION, version if isinstance(version, int) else -1
    if not isinstance(params, dict):
        return Config(), CFG_BAD_MAGIC, 0
    for name in params:
        i = index_of(name)
        if i < 0:
            return Config(), CFG_BAD_COUNT, 0
        v = params[name]
        if not isinstance(v, int) or isinstance(v, bool):
            return Config(), CFG_OUT_OF_RANGE, i
    cfg = Config(**params)
    if crc is not None and crc != cfg.crc:
        return Config(), CFG_BAD_CRC, 0
    bad = cfg.check()
    if bad >= 0:
        return Config(), CFG_OUT_OF_RANGE, bad
    return cfg, CFG_OK, 0


def load_json(path=CONFIG_PATH):
    """Start-up: the deployed config.json, checked (a missing file: CFG_MISSING)."""
    try:
        with open(path) as f:
            data = f.read()
    except OSError:
        return Config(), CFG_MISSING, 0
    return from_json(data)


def crc16_ccitt(data, crc=0xFFFF):
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF), the CCSDS FECF CRC."""
    return crc16(data, len(data), crc)


# the CRC after the packed set's first field, the version as a little-endian u16
_CRC_VERSION = crc16_ccitt(bytes((CONFIG_VERSION & 0xFF, CONFIG_VERSION >> 8)))
