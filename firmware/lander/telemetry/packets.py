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
# A field: one line of a table below (from "#" to the end of a line: a comment)
#   name  format  source  attribute  index  unit  exp10
#   format  struct-style: B/b 1 octet, H/h 2, I/i 4 (upper case unsigned)
#   source  which on-board object the encoder reads (S_<source> below)
#   attribute / index: getattr(source, attribute)[index] (index -1: a scalar);
#           a source or attribute missing at start-up is sent as 0 (reserved)
#   unit, exp10: engineering value on the ground = raw * 10**exp10 unit ("-": none)
# Values outside a field's range are saturated by the encoder.
#
# The tables are text, so that on a board they stay where the bytecode is (a
# ROMFS image is flash): fields() turns one into (name, format, source,
# attribute, index, unit, exp10) tuples at start-up and the encoder keeps only
# its compiled form. As constant tuples the .mpy loader built them on the heap
# (8.5 k of it, `lander perf`). A board's copy keeps only the columns the
# encoder reads (format source attribute index): `lander deploy` leaves the
# ground's out (host_tools/board/deploy.py board_source). The host reads the
# same tuples as CRITICAL, EVENT, HOUSEKEEPING, BB_RECORD, BLACKBOX, BEACON
# and PACKETS (__getattr__).
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

# the source column: S_<name> is the name's index here
SOURCES = "APP NAV GUID CTRL IMU ALT POWER BARO TLM EVENTS RADIO STORE CFG CMD CKPT"  # type: str

# The critical descent state: estimates beside the raw values behind them.
_CRITICAL = """
cycle             I APP    cycle               -1 -      0
phase             B GUID   phase               -1 -      0
mode              B APP    mode                -1 -      0  # reserved until exec's modes
fault_flags       H NAV    fault_flags         -1 -      0
altitude          i NAV    altitude_mm         -1 m     -3
raw_range         i NAV    raw_range_mm        -1 m     -3
alt_innov         i NAV    alt_innov_mm        -1 m     -3
alt_gate          B NAV    alt_gate            -1 -      0
alt_rejects       H NAV    alt_rejects         -1 -      0
alt_age           H NAV    alt_age_ms          -1 s     -3
alt_sigma         i NAV    alt_sigma_mm        -1 m     -3
terrain           i NAV    terrain_mm          -1 m     -3
site_alt          i NAV    site_alt_mm         -1 m     -3
vz                i NAV    vz_mm_s             -1 m/s   -3
vx                i NAV    vx_mm_s             -1 m/s   -3
x                 i NAV    x_mm                -1 m     -3
vz_sigma          H NAV    vz_sigma_mm_s       -1 m/s   -3
pitch             h NAV    pitch_bau           -1 bau    0
accel_thrust      i NAV    accel_thrust_mm_s2  -1 m/s2  -3
imu_accel_z       i IMU    accel_mm_s2          2 m/s2  -3
imu_accel_x       i IMU    accel_mm_s2          0 m/s2  -3
imu_gyro_y        i IMU    gyro_urad_s          1 rad/s -6
vz_ref            i GUID   vz_ref_mm_s         -1 m/s   -3
accel_z_cmd       i GUID   accel_z_cmd_mm_s2   -1 m/s2  -3
accel_x_cmd       i GUID   accel_x_cmd_mm_s2   -1 m/s2  -3
throttle          H CTRL   throttle_q15        -1 -      0
pitch_cmd         h CTRL   pitch_cmd_bau       -1 bau    0
propellant_margin i GUID   propellant_margin_g -1 kg    -3
imu_status        B APP    imu_status          -1 -      0
alt_status        B APP    alt_status          -1 -      0
"""

# One event from the event ring (lander/events.py): its time, code and argument.
_EVENT = """
ev_time I TLM    ev_time_ms -1 s     -3
ev_code H TLM    ev_code    -1 -      0
ev_arg  i TLM    ev_arg     -1 -      0
"""

_HOUSEKEEPING = """
cycle             I APP    cycle            -1 -      0
overruns          H APP    overruns         -1 -      0
stage_faults      H APP    stage_faults     -1 -      0
watchdog_feeds    I APP    watchdog_feeds   -1 -      0
cycle_us_max      H APP    cycle_max_us     -1 s     -6
heap_free         I APP    heap_free        -1 B      0  # reserved
events_posted     I EVENTS posted           -1 -      0
events_dropped    H EVENTS dropped          -1 -      0
radio_dropped     I RADIO  bytes_dropped    -1 B      0
radio_errors      H RADIO  errors           -1 -      0
tlm_skipped       H TLM    skipped          -1 -      0
tlm_frames        I TLM    frames           -1 -      0
bb_records        H STORE  count            -1 -      0
bb_errors         H STORE  errors           -1 -      0
bb_corrupt        H STORE  corrupt          -1 -      0
battery           H POWER  bus_mv           -1 V     -3
baro_temp         h BARO   temperature_cdeg -1 degC  -2
baro_press        I BARO   pressure_cpa     -1 Pa    -2
# the executive (app.py, commands.py, checkpoint.py)
mode              B APP    mode             -1 -      0  # app.MODE_NAMES
reset_cause       B APP    reset_cause      -1 -      0  # machine.reset_cause() at boot
restarts          B APP    restarts         -1 -      0  # warm restarts this flight
build_id          H APP    build_id         -1 -      0
cfg_crc           H CFG    crc              -1 -      0
cfg_status        B APP    cfg_status       -1 -      0  # config.CFG_*
sensor_mask       B APP    sensor_mask      -1 -      0  # bit per sensor read (app.SENSOR_*)
tc_accepted       H CMD    accepted         -1 -      0
tc_rejected       H CMD    rejected         -1 -      0
tc_last_reason    B CMD    last_reason      -1 -      0  # commands.REASON_NAMES
tc_last_reject_op B CMD    last_reject_op   -1 -      0  # 0xFF: before authentication
tc_counter_hi     H CMD    last_hi          -1 -      0  # last authenticated (spent) counter
tc_counter_lo     H CMD    last_lo          -1 -      0  # counter = hi << 16 | lo
ckpt_seq          I CKPT   seq              -1 -      0
ckpt_age          H APP    ckpt_age_ms      -1 s     -3  # since the last seal (65.535: none)
resume_age        I APP    resume_age_us    -1 s     -6  # checkpoint age at the warm restart
"""

# A black-box record (flash payload; every 10th cycle, see blackbox.py).
_BB_RECORD = """
bb_time           I TLM    time_ms             -1 s     -3
phase             B GUID   phase               -1 -      0
fault_flags       H NAV    fault_flags         -1 -      0
altitude          i NAV    altitude_mm         -1 m     -3
raw_range         i NAV    raw_range_mm        -1 m     -3
alt_innov         i NAV    alt_innov_mm        -1 m     -3
vz                i NAV    vz_mm_s             -1 m/s   -3
vx                i NAV    vx_mm_s             -1 m/s   -3
x                 i NAV    x_mm                -1 m     -3
pitch             h NAV    pitch_bau           -1 bau    0
throttle          H CTRL   throttle_q15        -1 -      0
pitch_cmd         h CTRL   pitch_cmd_bau       -1 bau    0
propellant_margin i GUID   propellant_margin_g -1 kg    -3
"""

# Black-box downlink: the record's flash sequence number, then the record.
_BB_SEQ = "bb_seq I TLM bb_seq -1 - 0"

# The beacon after touchdown (or a tip-over, or loss of the engine).
_BEACON = """
phase          B GUID   phase          -1 -      0
mode           B APP    mode           -1 -      0
touchdown      B APP    touchdown      -1 -      0
engine_cut     B APP    engine_cut     -1 -      0
pitch          h NAV    pitch_bau      -1 bau    0
battery        H POWER  bus_mv         -1 V     -3
fault_flags    H NAV    fault_flags    -1 -      0
last_fault     H TLM    last_fault     -1 -      0
last_fault_arg i TLM    last_fault_arg -1 -      0
build_id       H APP    build_id       -1 -      0
bb_records     H STORE  count          -1 -      0
bb_sent        H TLM    bb_sent        -1 -      0
cfg_crc        H CFG    crc            -1 -      0
reset_cause    B APP    reset_cause    -1 -      0
restarts       B APP    restarts       -1 -      0
tc_accepted    H CMD    accepted       -1 -      0
tc_rejected    H CMD    rejected       -1 -      0
tc_last_reason B CMD    last_reason    -1 -      0
tc_counter_lo  H CMD    last_lo        -1 -      0
"""

# (apid, name, table text or texts in order), in the encoder's packet order
LAYOUTS = (
    (APID_CRITICAL, "critical", _CRITICAL),
    (APID_EVENT, "event", _EVENT),
    (APID_HOUSEKEEPING, "housekeeping", _HOUSEKEEPING),
    (APID_BLACKBOX, "blackbox", (_BB_SEQ, _BB_RECORD)),
    (APID_BEACON, "beacon", _BEACON),
)
BB_RECORD_TEXT = _BB_RECORD       # the encoder's black-box record layout


def fields(text):
    """The (name, format, source, attribute, index, unit, exp10) tuples of a
    table's text, or of several texts one after the other (start-up only:
    this allocates)."""
    if not isinstance(text, str):
        out = ()
        for t in text:
            out += fields(t)
        return out
    sources = SOURCES.split()
    out = []
    for line in text.split("\n"):
        w = line.split("#", 1)[0].split()
        if len(w) > 4:
            out.append((w[0], w[1], sources.index(w[2]), w[3], int(w[4]),
                        "" if w[5] == "-" else w[5], int(w[6])))
        elif w:
            # a board's copy: `lander deploy` sends format, source number,
            # attribute and index (left out when -1), without the ground's
            # columns (name, unit, exp10)
            out.append(("", w[0], int(w[1]), w[2], int(w[3]) if len(w) > 3 else -1, "", 0))
    return tuple(out)


def __getattr__(name):
    """The tables as tuples for the host (ground decoder, XTCE export, tests):
    PACKETS ((apid, name, fields), ...), CRITICAL, EVENT, HOUSEKEEPING,
    BLACKBOX, BEACON and BB_RECORD. Built on each use; the board never asks."""
    if name == "PACKETS":
        return tuple((apid, pname, fields(text)) for apid, pname, text in LAYOUTS)
    if name == "BB_RECORD":
        return fields(_BB_RECORD)
    for apid, pname, text in LAYOUTS:
        if pname.upper() == name:
            return fields(text)
    raise AttributeError(name)


def data_len(fields):
    n = 0
    for f in fields:
        n += SIZES[f[1]]
    return n


def packet_len(fields):
    """Whole packet octets (primary + secondary header + fields)."""
    return HEADER_LEN + data_len(fields)
