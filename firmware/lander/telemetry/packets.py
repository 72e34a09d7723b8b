# The packet definition table: the one source for the on-board encoder, the
# ground decoder (host_tools/ground/decode.py) and the XTCE export
# (host_tools/ground/xtce.py).
#
# Every packet is a CCSDS Space Packet (133.0-B-2): version 0, type 0 (TM),
# secondary header flag 1, an 11-bit APID, sequence flags 0b11 (unsegmented),
# a 14-bit sequence count per APID, packet data length = data octets - 1.
# The secondary header is a CCSDS Unsegmented time Code (CUC, 301.0-B 3.2)
# with an implicit (mission-agreed) P-field 0x2E, not sent:
#   bit 0 = 0 no extension, bits 1-3 = 010 agency-defined epoch (the descent
#   computer's clock: the simulator's t = 0, a board's power-on), bits 4-5 = 11
#   four coarse octets (seconds), bits 6-7 = 10 two fine octets (2^-16 s).
# So every packet is 6 (primary) + 6 (CUC) + its fields, big-endian.
#
# A field: (name, format, source, attribute, index, unit, exp10)
#   format  struct-style: B/b 1 octet, H/h 2, I/i 4 (upper case unsigned)
#   source  which on-board object the encoder reads (S_* below)
#   attribute / index: getattr(source, attribute)[index] (index -1: a scalar);
#           a source or attribute missing at start-up is sent as 0 (reserved)
#   unit, exp10: engineering value on the ground = raw * 10**exp10 unit
# Values outside a field's range are saturated by the encoder.
from lander.compat import const

VERSION = const(2)                # bump when a layout changes (2: executive fields)

PRIMARY_LEN = const(6)
SEC_LEN = const(6)                # CUC: 4 coarse + 2 fine octets
HEADER_LEN = const(12)
CUC_PFIELD = const(0x2E)          # implicit, documented above

APID_CRITICAL = const(0x100)
APID_EVENT = const(0x101)
APID_HOUSEKEEPING = const(0x102)
APID_BLACKBOX = const(0x103)
APID_BEACON = const(0x104)
APID_IDLE = const(0x7FF)

# sources
S_APP = const(0)
S_NAV = const(1)
S_GUID = const(2)
S_CTRL = const(3)
S_IMU = const(4)
S_ALT = const(5)
S_POWER = const(6)
S_BARO = const(7)
S_TLM = const(8)
S_EVENTS = const(9)
S_RADIO = const(10)
S_STORE = const(11)
S_CFG = const(12)
S_CMD = const(13)                 # the telecommand handler (app.cmd; None: no uplink)
S_CKPT = const(14)                # the warm-restart checkpoint (app.ckpt)
N_SOURCES = const(15)

SIZES = {"B": 1, "b": 1, "H": 2, "h": 2, "I": 4, "i": 4}

# The critical descent state: estimates beside the raw values behind them.
CRITICAL = (
    ("cycle", "I", S_APP, "cycle", -1, "", 0),
    ("phase", "B", S_GUID, "phase", -1, "", 0),
    ("mode", "B", S_APP, "mode", -1, "", 0),                 # reserved until exec's modes
    ("fault_flags", "H", S_NAV, "fault_flags", -1, "", 0),
    ("altitude", "i", S_NAV, "altitude_mm", -1, "m", -3),
    ("raw_range", "i", S_NAV, "raw_range_mm", -1, "m", -3),
    ("alt_innov", "i", S_NAV, "alt_innov_mm", -1, "m", -3),
    ("alt_gate", "B", S_NAV, "alt_gate", -1, "", 0),
    ("alt_rejects", "H", S_NAV, "alt_rejects", -1, "", 0),
    ("alt_age", "H", S_NAV, "alt_age_ms", -1, "s", -3),
    ("alt_sigma", "i", S_NAV, "alt_sigma_mm", -1, "m", -3),
    ("terrain", "i", S_NAV, "terrain_mm", -1, "m", -3),
    ("site_alt", "i", S_NAV, "site_alt_mm", -1, "m", -3),
    ("vz", "i", S_NAV, "vz_mm_s", -1, "m/s", -3),
    ("vx", "i", S_NAV, "vx_mm_s", -1, "m/s", -3),
    ("x", "i", S_NAV, "x_mm", -1, "m", -3),
    ("vz_sigma", "H", S_NAV, "vz_sigma_mm_s", -1, "m/s", -3),
    ("pitch", "h", S_NAV, "pitch_bau", -1, "bau", 0),
    ("accel_thrust", "i", S_NAV, "accel_thrust_mm_s2", -1, "m/s2", -3),
    ("imu_accel_z", "i", S_IMU, "accel_mm_s2", 2, "m/s2", -3),
    ("imu_accel_x", "i", S_IMU, "accel_mm_s2", 0, "m/s2", -3),
    ("imu_gyro_y", "i", S_IMU, "gyro_urad_s", 1, "rad/s", -6),
    ("vz_ref", "i", S_GUID, "vz_ref_mm_s", -1, "m/s", -3),
    ("accel_z_cmd", "i", S_GUID, "accel_z_cmd_mm_s2", -1, "m/s2", -3),
    ("accel_x_cmd", "i", S_GUID, "accel_x_cmd_mm_s2", -1, "m/s2", -3),
    ("throttle", "H", S_CTRL, "throttle_q15", -1, "", 0),
    ("pitch_cmd", "h", S_CTRL, "pitch_cmd_bau", -1, "bau", 0),
    ("propellant_margin", "i", S_GUID, "propellant_margin_g", -1, "kg", -3),
    ("imu_status", "B", S_APP, "imu_status", -1, "", 0),
    ("alt_status", "B", S_APP, "alt_status", -1, "", 0),
)

# One event from the event ring (lander/events.py): its time, code and argument.
EVENT = (
    ("ev_time", "I", S_TLM, "ev_time_ms", -1, "s", -3),
    ("ev_code", "H", S_TLM, "ev_code", -1, "", 0),
    ("ev_arg", "i", S_TLM, "ev_arg", -1, "", 0),
)

HOUSEKEEPING = (
    ("cycle", "I", S_APP, "cycle", -1, "", 0),
    ("overruns", "H", S_APP, "overruns", -1, "", 0),
    ("stage_faults", "H", S_APP, "stage_faults", -1, "", 0),
    ("watchdog_feeds", "I", S_APP, "watchdog_feeds", -1, "", 0),
    ("cycle_us_max", "H", S_APP, "cycle_max_us", -1, "s", -6),
    ("heap_free", "I", S_APP, "heap_free", -1, "B", 0),           # reserved
    ("events_posted", "I", S_EVENTS, "posted", -1, "", 0),
    ("events_dropped", "H", S_EVENTS, "dropped", -1, "", 0),
    ("radio_dropped", "I", S_RADIO, "bytes_dropped", -1, "B", 0),
    ("radio_errors", "H", S_RADIO, "errors", -1, "", 0),
    ("tlm_skipped", "H", S_TLM, "skipped", -1, "", 0),
    ("tlm_frames", "I", S_TLM, "frames", -1, "", 0),
    ("bb_records", "H", S_STORE, "count", -1, "", 0),
    ("bb_errors", "H", S_STORE, "errors", -1, "", 0),
    ("bb_corrupt", "H", S_STORE, "corrupt", -1, "", 0),
    ("battery", "H", S_POWER, "bus_mv", -1, "V", -3),
    ("baro_temp", "h", S_BARO, "temperature_cdeg", -1, "degC", -2),
    ("baro_press", "I", S_BARO, "pressure_cpa", -1, "Pa", -2),
    # the executive (app.py, commands.py, checkpoint.py)
    ("mode", "B", S_APP, "mode", -1, "", 0),                  # app.MODE_NAMES
    ("reset_cause", "B", S_APP, "reset_cause", -1, "", 0),    # machine.reset_cause() at boot
    ("restarts", "B", S_APP, "restarts", -1, "", 0),          # warm restarts this flight
    ("build_id", "H", S_APP, "build_id", -1, "", 0),
    ("cfg_crc", "H", S_CFG, "crc", -1, "", 0),
    ("cfg_status", "B", S_APP, "cfg_status", -1, "", 0),      # config.CFG_*
    ("sensor_mask", "B", S_APP, "sensor_mask", -1, "", 0),    # bit per sensor read (app.SENSOR_*)
    ("tc_accepted", "H", S_CMD, "accepted", -1, "", 0),
    ("tc_rejected", "H", S_CMD, "rejected", -1, "", 0),
    ("tc_last_reason", "B", S_CMD, "last_reason", -1, "", 0),   # commands.REASON_NAMES
    ("tc_last_reject_op", "B", S_CMD, "last_reject_op", -1, "", 0),  # 0xFF: before authentication
    ("tc_counter_hi", "H", S_CMD, "last_hi", -1, "", 0),      # last authenticated (spent) counter
    ("tc_counter_lo", "H", S_CMD, "last_lo", -1, "", 0),      # counter = hi << 16 | lo
    ("ckpt_seq", "I", S_CKPT, "seq", -1, "", 0),
    ("ckpt_age", "H", S_APP, "ckpt_age_ms", -1, "s", -3),     # since the last seal (65.535: none)
    ("resume_age", "I", S_APP, "resume_age_us", -1, "s", -6),  # checkpoint age at the warm restart
)

# A black-box record (flash payload; every 10th cycle, see blackbox.py).
BB_RECORD = (
    ("bb_time", "I", S_TLM, "time_ms", -1, "s", -3),
    ("phase", "B", S_GUID, "phase", -1, "", 0),
    ("fault_flags", "H", S_NAV, "fault_flags", -1, "", 0),
    ("altitude", "i", S_NAV, "altitude_mm", -1, "m", -3),
    ("raw_range", "i", S_NAV, "raw_range_mm", -1, "m", -3),
    ("alt_innov", "i", S_NAV, "alt_innov_mm", -1, "m", -3),
    ("vz", "i", S_NAV, "vz_mm_s", -1, "m/s", -3),
    ("vx", "i", S_NAV, "vx_mm_s", -1, "m/s", -3),
    ("x", "i", S_NAV, "x_mm", -1, "m", -3),
    ("pitch", "h", S_NAV, "pitch_bau", -1, "bau", 0),
    ("throttle", "H", S_CTRL, "throttle_q15", -1, "", 0),
    ("pitch_cmd", "h", S_CTRL, "pitch_cmd_bau", -1, "bau", 0),
    ("propellant_margin", "i", S_GUID, "propellant_margin_g", -1, "kg", -3),
)

# Black-box downlink: the record's flash sequence number, then the record.
BLACKBOX = (("bb_seq", "I", S_TLM, "bb_seq", -1, "", 0),) + BB_RECORD

# The beacon after touchdown (or a tip-over, or loss of the engine).
BEACON = (
    ("phase", "B", S_GUID, "phase", -1, "", 0),
    ("mode", "B", S_APP, "mode", -1, "", 0),
    ("touchdown", "B", S_APP, "touchdown", -1, "", 0),
    ("engine_cut", "B", S_APP, "engine_cut", -1, "", 0),
    ("pitch", "h", S_NAV, "pitch_bau", -1, "bau", 0),
    ("battery", "H", S_POWER, "bus_mv", -1, "V", -3),
    ("fault_flags", "H", S_NAV, "fault_flags", -1, "", 0),
    ("last_fault", "H", S_TLM, "last_fault", -1, "", 0),
    ("last_fault_arg", "i", S_TLM, "last_fault_arg", -1, "", 0),
    ("build_id", "H", S_APP, "build_id", -1, "", 0),
    ("bb_records", "H", S_STORE, "count", -1, "", 0),
    ("bb_sent", "H", S_TLM, "bb_sent", -1, "", 0),
    ("cfg_crc", "H", S_CFG, "crc", -1, "", 0),
    ("reset_cause", "B", S_APP, "reset_cause", -1, "", 0),
    ("restarts", "B", S_APP, "restarts", -1, "", 0),
    ("tc_accepted", "H", S_CMD, "accepted", -1, "", 0),
    ("tc_rejected", "H", S_CMD, "rejected", -1, "", 0),
    ("tc_last_reason", "B", S_CMD, "last_reason", -1, "", 0),
    ("tc_counter_lo", "H", S_CMD, "last_lo", -1, "", 0),
)

# apid -> (name, fields)
PACKETS = (
    (APID_CRITICAL, "critical", CRITICAL),
    (APID_EVENT, "event", EVENT),
    (APID_HOUSEKEEPING, "housekeeping", HOUSEKEEPING),
    (APID_BLACKBOX, "blackbox", BLACKBOX),
    (APID_BEACON, "beacon", BEACON),
)


def data_len(fields):
    n = 0
    for f in fields:
        n += SIZES[f[1]]
    return n


def packet_len(fields):
    """Whole packet octets (primary + secondary header + fields)."""
    return HEADER_LEN + data_len(fields)
