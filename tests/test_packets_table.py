"""The packet table as text (lander/telemetry/packets.py): parsed into the
field tuples the encoder compiles and the ground reads, and compiled by the
encoder into one flat list per packet."""
from lander.telemetry import packets as P
from lander.telemetry.encoder import PacketEncoder


def test_the_source_column_names_the_s_constants_by_their_index():
    names = P.SOURCES.split()
    assert len(names) == P.N_SOURCES == 15
    for i, name in enumerate(names):
        assert getattr(P, "S_" + name) == i


def test_a_table_line_parses_to_its_field_tuple():
    text = """
    alt  i NAV  altitude_mm -1 m   -3
    # a comment line
    gy   i IMU  gyro_urad_s  1 rad/s -6  # index 1: the y axis
    cnt  H STORE count      -1 -     0
    """
    assert P.fields(text) == (("alt", "i", P.S_NAV, "altitude_mm", -1, "m", -3),
                              ("gy", "i", P.S_IMU, "gyro_urad_s", 1, "rad/s", -6),
                              ("cnt", "H", P.S_STORE, "count", -1, "", 0))


def test_several_texts_parse_one_after_the_other():
    assert P.fields(("a B APP x -1 - 0", "b h CKPT y 2 s 1")) == (
        ("a", "B", P.S_APP, "x", -1, "", 0), ("b", "h", P.S_CKPT, "y", 2, "s", 1))


def test_the_host_reads_the_tables_as_tuples_in_the_layout_order():
    assert [(a, n) for a, n, _ in P.PACKETS] == [
        (0x100, "critical"), (0x101, "event"), (0x102, "housekeeping"), (0x103, "blackbox"), (0x104, "beacon")]
    assert P.PACKETS[0][2] == P.CRITICAL
    assert P.CRITICAL[0] == ("cycle", "I", P.S_APP, "cycle", -1, "", 0)
    assert P.CRITICAL[19] == ("imu_accel_z", "i", P.S_IMU, "accel_mm_s2", 2, "m/s2", -3)
    # the downlinked black box: its sequence number, then the flash record
    assert P.BLACKBOX == (("bb_seq", "I", P.S_TLM, "bb_seq", -1, "", 0),) + P.BB_RECORD
    assert len(P.BB_RECORD) == 13 and P.data_len(P.BB_RECORD) == 41


class _Src:
    def __init__(self, **kw):
        for k, v in kw.items():
            setattr(self, k, v)


def test_the_encoder_packs_types_saturation_indices_and_reserved_fields():
    src = [None] * P.N_SOURCES
    src[P.S_NAV] = _Src(a=-5, big=1 << 29, none=None)
    src[P.S_IMU] = _Src(v=[7, -300, 9])
    enc = PacketEncoder(src)
    enc._fields = []
    enc._compile(P.fields("""
        f1 B NAV a    -1 - 0
        f2 h IMU v     1 - 0
        f3 H NAV big  -1 - 0
        f4 i NAV none -1 - 0
        f5 b NAV nope -1 - 0
        f6 I CMD x    -1 - 0
    """))
    buf = bytearray(14)
    assert enc.pack_fields(0, buf, 0) == 14
    # B saturated at 0; h = v[1] = -300; H saturated at 0xFFFF; None -> 0;
    # an attribute missing at start-up and a missing source: reserved, 0
    assert bytes(buf) == bytes([0, 0xFE, 0xD4, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 0])


def test_fields_reads_a_boards_row_without_the_grounds_columns():
    # `lander deploy` sends the tables with format, source number, attribute
    # and index only, the index left out when it is -1
    # (host_tools/board/deploy.py board_source)
    assert P.fields("I 0 cycle\n\nh 1  pitch_bau 2\nB 14 x") == (
        ("", "I", P.S_APP, "cycle", -1, "", 0), ("", "h", P.S_NAV, "pitch_bau", 2, "", 0),
        ("", "B", P.S_CKPT, "x", -1, "", 0))
