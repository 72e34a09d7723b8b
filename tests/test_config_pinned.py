"""The on-board parameter set (firmware/lander/config.py) pinned on
hand-written values: every field's default and override, the packed image
byte for byte, the CRC-16 against independent implementations (binascii,
crcmod), every field's bounds accepted at and refused just beyond it, the
Reed-Solomon frame fit, the config.json loader's refusals with their reason
code and argument, and the words describe() prints. In the fw-config mutation
group (docs/mutation.md)."""
import binascii
import json

import crcmod.predefined
import pytest

from host_tools.board.deploy import config_json
from lander import config as c
from lander.config import (CFG_BAD_COUNT, CFG_BAD_CRC, CFG_BAD_MAGIC, CFG_BAD_VERSION,
                           CFG_MISSING, CFG_OK, CFG_OUT_OF_RANGE, CFG_SHORT, Config)

# (name, default) in the packed order, written out by hand: the CRC the ground
# checks depends on this order.
DEFAULTS = [
    ("rate_hz", 50), ("gravity_mm_s2", 1620), ("dry_mass_g", 340000),
    ("propellant_g", 80000), ("max_thrust_mn", 3000000), ("min_throttle_q15", 6554),
    ("isp_s", 315), ("max_pitch_bau", 7282), ("altimeter_beam_bau", 0),
    ("terminal_alt_mm", 25000), ("terminal_vz_mm_s", 2000), ("descent_tau_ms", 8000),
    ("max_descent_mm_s", 60000), ("vel_gain_q15", 16384), ("site_x_mm", 3000000),
    ("touchdown_vz_mm_s", 700), ("approach_tgo_ms", 10000), ("replan_cycles", 5),
    ("accel_band_q15", 29491), ("approach_band_q15", 26214), ("ignite_q15", 9830),
    ("max_pitch_rate_bau_s", 3641), ("engine_lag_ms", 150), ("terminal_pitch_bau", 1820),
    ("braking_pitch_bau", 8192), ("safe_vz_mm_s", 1500), ("hover_max_ms", 10000),
    ("reserve_g", 2000), ("ckpt_period_ms", 100), ("ckpt_flash_ms", 250),
    ("reboot_est_ms", 500), ("max_divert_mm", 500000), ("bench_mode", 0),
    ("tlm_bitrate_bps", 2000), ("tlm_frame_len", 128), ("tlm_rs_e", 8),
    ("sensor_mask", 255), ("att_tau_ms", 500), ("att_lag_ms", 100),
]
NAMES = [n for n, _ in DEFAULTS]

# (name, index in the packed order, lowest accepted, highest accepted): every
# field has bounds
BOUNDS = [
    ("rate_hz", 0, 10, 100),
    ("gravity_mm_s2", 1, 1000, 10000),
    ("dry_mass_g", 2, 1000, 1000000),
    ("propellant_g", 3, 0, 1000000),
    ("max_thrust_mn", 4, 1000, 100000000),
    ("min_throttle_q15", 5, 0, 32767),
    ("isp_s", 6, 50, 500),
    ("max_pitch_bau", 7, 0, 16384),
    ("altimeter_beam_bau", 8, -8192, 8192),
    ("terminal_alt_mm", 9, 1000, 200000),
    ("terminal_vz_mm_s", 10, 200, 5000),
    ("descent_tau_ms", 11, 1000, 60000),
    ("max_descent_mm_s", 12, 1000, 200000),
    ("vel_gain_q15", 13, 0, 65536),
    ("site_x_mm", 14, -100000000, 100000000),
    ("touchdown_vz_mm_s", 15, 100, 5000),
    ("approach_tgo_ms", 16, 0, 600000),
    ("replan_cycles", 17, 1, 50),
    ("accel_band_q15", 18, 8192, 32767),
    ("approach_band_q15", 19, 8192, 32767),
    ("ignite_q15", 20, 0, 32767),
    ("max_pitch_rate_bau_s", 21, 182, 65536),
    ("engine_lag_ms", 22, 0, 10000),
    ("terminal_pitch_bau", 23, 0, 16384),
    ("braking_pitch_bau", 24, 0, 16384),
    ("safe_vz_mm_s", 25, 200, 5000),
    ("hover_max_ms", 26, 0, 600000),
    ("reserve_g", 27, 0, 1000000),
    ("ckpt_period_ms", 28, 20, 1000),
    ("ckpt_flash_ms", 29, 200, 10000),
    ("reboot_est_ms", 30, 0, 5000),
    ("max_divert_mm", 31, 0, 5000000),
    ("bench_mode", 32, 0, 1),
    ("tlm_bitrate_bps", 33, 100, 19200),
    ("tlm_frame_len", 34, 16, 239),
    ("tlm_rs_e", 35, 8, 16),
    ("sensor_mask", 36, 0, 255),
    ("att_tau_ms", 37, 1, 60000),
    ("att_lag_ms", 38, 0, 10000),
]


def _le32(v):
    return (v & 0xFFFFFFFF).to_bytes(4, "little")


def _image(values):
    """The packed parameter set built by hand: version 1 as a little-endian
    u16, then each value as a little-endian two's-complement 32-bit word."""
    return b"\x01\x00" + b"".join(_le32(v) for v in values)


def _crc_ref(data):
    """CRC-16/CCITT-FALSE by the standard library (crc_hqx: poly 0x1021, no
    reflection, initial value given)."""
    return binascii.crc_hqx(data, 0xFFFF)


def _file(params, crc="auto", version=1):
    d = {"version": version, "params": params}
    if crc == "auto":
        d["crc"] = _crc_ref(_image([params.get(n, v) for n, v in DEFAULTS]))
    elif crc is not None:
        d["crc"] = crc
    return json.dumps(d)


def _is_default(cfg):
    return [getattr(cfg, n) for n in NAMES] == [v for _, v in DEFAULTS]


# ------------------------------------------------------------ construction

def test_the_fields_are_the_39_written_here_in_their_packed_order():
    assert [f[0] for f in c.FIELDS] == NAMES and len(NAMES) == 39


def test_a_config_without_overrides_holds_every_default():
    cfg = Config()
    assert [(n, getattr(cfg, n)) for n in NAMES] == DEFAULTS


def test_every_field_takes_its_own_override():
    over = {n: 1000 + 7 * i for i, n in enumerate(NAMES)}
    cfg = Config(**over)
    assert [getattr(cfg, n) for n in NAMES] == [1000 + 7 * i for i in range(39)]


def test_an_override_leaves_the_other_fields_at_their_defaults():
    cfg = Config(replan_cycles=3)
    assert cfg.replan_cycles == 3
    assert [getattr(cfg, n) for n in NAMES if n != "replan_cycles"] == \
        [v for n, v in DEFAULTS if n != "replan_cycles"]


def test_an_unknown_override_is_refused_naming_it():
    with pytest.raises(ValueError) as e:
        Config(rate_hz=20, warp_factor=9)
    assert str(e.value) == "unknown config key: warp_factor"


def test_the_version_is_1():
    assert Config().version == 1 and c.CONFIG_VERSION == 1


# ------------------------------------------------------------ image and CRC

def test_the_default_crc_is_over_158_octets_version_then_each_value():
    img = _image([v for _, v in DEFAULTS])
    assert len(img) == 2 + 39 * 4 == 158
    assert img[:6] == bytes([1, 0, 50, 0, 0, 0])               # version 1, rate_hz 50
    assert img[-4:] == bytes([100, 0, 0, 0])                    # att_lag_ms 100
    assert Config().crc == _crc_ref(img)


def test_a_negative_value_is_in_the_crc_as_twos_complement():
    img = bytearray(_image([v for _, v in DEFAULTS]))
    img[2 + 14 * 4:2 + 15 * 4] = b"\xfe\xff\xff\xff"              # site_x_mm -2
    img[2 + 8 * 4:2 + 9 * 4] = b"\x00\xe0\xff\xff"               # altimeter_beam_bau -8192
    assert Config(site_x_mm=-2, altimeter_beam_bau=-8192).crc == _crc_ref(bytes(img))


def test_the_crc_is_ccitt_false_over_the_image():
    cfg = Config()
    assert cfg.crc == cfg.compute_crc() == _crc_ref(_image([v for _, v in DEFAULTS]))
    over = {n: -(3 ** (i % 19)) if i % 2 else i * 12345 for i, n in enumerate(NAMES)}
    cfg = Config(**over)
    assert cfg.crc == _crc_ref(_image([over[n] for n in NAMES]))


def test_crc16_ccitt_matches_its_check_value_and_crcmod():
    ref = crcmod.predefined.mkCrcFun("crc-ccitt-false")
    assert c.crc16_ccitt(b"123456789") == 0x29B1 == ref(b"123456789")
    for data in (b"", b"\x00", b"\xff", b"\x80\x00", bytes(range(256)),
                 _image([v for _, v in DEFAULTS])):
        assert c.crc16_ccitt(data) == ref(data) == _crc_ref(data)


def test_crc16_ccitt_starts_from_the_value_given_and_chains():
    assert c.crc16_ccitt(b"") == 0xFFFF
    assert c.crc16_ccitt(b"", 0x1234) == 0x1234
    assert c.crc16_ccitt(b"6789", c.crc16_ccitt(b"12345")) == 0x29B1
    assert c.crc16_ccitt(b"\x5a\xa5", 0) == binascii.crc_hqx(b"\x5a\xa5", 0)


# ------------------------------------------------------------ limits

def test_every_field_has_the_bounds_written_here():
    assert [(f[0], f[2], f[3]) for f in c.FIELDS] == [(n, lo, hi) for n, _, lo, hi in BOUNDS]
    assert [n for n, _, _, _ in BOUNDS] == NAMES
    assert all(NAMES[i] == n for n, i, _, _ in BOUNDS)


def test_every_default_is_within_its_own_bounds():
    assert Config().check() == -1
    assert all(lo <= v <= hi for (_, v), (_, _, lo, hi) in zip(DEFAULTS, BOUNDS))


@pytest.mark.parametrize("name,index,lo,hi", BOUNDS, ids=[b[0] for b in BOUNDS])
def test_each_bound_is_accepted_at_and_refused_beyond_it(name, index, lo, hi):
    assert Config(**{name: lo}).check() == -1
    assert Config(**{name: hi}).check() == -1
    assert Config(**{name: lo - 1}).check() == index
    assert Config(**{name: hi + 1}).check() == index


def test_check_names_the_first_field_out_of_range():
    assert Config(rate_hz=9, att_lag_ms=-1).check() == 0
    assert Config(gravity_mm_s2=999, att_lag_ms=-1).check() == 1
    assert Config(att_lag_ms=10001).check() == 38


def test_e_is_8_or_16_only():
    assert Config(tlm_rs_e=16).check() == -1
    for e in (9, 12, 15):
        assert Config(tlm_rs_e=e).check() == 35, e


def test_the_frame_fits_the_codeblock_exactly_at_255():
    assert Config(tlm_rs_e=8, tlm_frame_len=239).check() == -1     # 239 + 16 = 255
    assert Config(tlm_rs_e=16, tlm_frame_len=223).check() == -1    # 223 + 32 = 255
    assert Config(tlm_rs_e=16, tlm_frame_len=224).check() == 34
    assert Config(tlm_rs_e=16, tlm_frame_len=16).check() == -1


def test_index_of_gives_the_packed_position():
    assert c.index_of("rate_hz") == 0
    assert c.index_of("tlm_rs_e") == 35
    assert c.index_of("att_lag_ms") == 38
    assert c.index_of("warp_factor") == -1


# ------------------------------------------------------------ config.json (host_tools/board/deploy.py)

def test_config_json_writes_version_every_param_its_crc_and_an_empty_calibration():
    cfg = Config(site_x_mm=-4)
    d = json.loads(config_json(cfg))
    assert sorted(d) == ["calibration", "crc", "params", "version"]
    assert d["version"] == 1 and d["crc"] == cfg.crc and d["calibration"] == {}
    assert list(d["params"].items()) == [(n, -4 if n == "site_x_mm" else v) for n, v in DEFAULTS]


def test_config_json_carries_the_calibration_given():
    d = json.loads(config_json(Config(), {"imu_bias": [1, -2, 3]}))
    assert d["calibration"] == {"imu_bias": [1, -2, 3]}


# ------------------------------------------------------------ the loader

def test_a_file_round_trips_every_value():
    over = {n: lo for n, _, lo, _ in BOUNDS}
    cfg, why, arg = c.from_json(config_json(Config(**over)))
    assert (why, arg) == (CFG_OK, 0)
    assert [getattr(cfg, n) for n in over] == list(over.values())
    assert cfg.crc == _crc_ref(_image([over.get(n, v) for n, v in DEFAULTS]))


def test_a_file_with_version_only_flies_the_defaults():
    cfg, why, arg = c.from_json('{"version": 1}')
    assert (why, arg) == (CFG_OK, 0) and _is_default(cfg)


def test_the_crc_is_optional():
    cfg, why, arg = c.from_json(_file({"replan_cycles": 4}, crc=None))
    assert (why, arg) == (CFG_OK, 0) and cfg.replan_cycles == 4


def test_a_crc_that_disagrees_is_refused():
    good = _crc_ref(_image([4 if n == "replan_cycles" else v for n, v in DEFAULTS]))
    assert c.from_json(_file({"replan_cycles": 4}, crc=good))[1:] == (CFG_OK, 0)
    cfg, why, arg = c.from_json(_file({"replan_cycles": 4}, crc=good ^ 0x8000))
    assert (why, arg) == (CFG_BAD_CRC, 0) and _is_default(cfg)


def test_the_crc_is_checked_before_the_limits():
    assert c.from_json(_file({"rate_hz": 5}, crc=1))[1:] == (CFG_BAD_CRC, 0)


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", "7", '"config"'])
def test_text_that_is_not_a_json_object_is_refused(text):
    cfg, why, arg = c.from_json(text)
    assert (why, arg) == (CFG_BAD_MAGIC, 0) and _is_default(cfg)


def test_params_that_are_not_an_object_are_refused():
    cfg, why, arg = c.from_json('{"version": 1, "params": [50]}')
    assert (why, arg) == (CFG_BAD_MAGIC, 0) and _is_default(cfg)


@pytest.mark.parametrize("version,arg", [(2, 2), (0, 0), ("1", -1), (None, -1), (1.5, -1)])
def test_a_wrong_version_is_refused_with_it(version, arg):
    cfg, why, got = c.from_json(_file({"rate_hz": 20}, version=version))
    assert (why, got) == (CFG_BAD_VERSION, arg) and _is_default(cfg)


def test_a_file_without_a_version_is_refused():
    assert c.from_json('{"params": {}}')[1:] == (CFG_BAD_VERSION, -1)


def test_an_unknown_key_is_refused():
    cfg, why, arg = c.from_json(_file({"rate_hz": 20, "warp_factor": 9}, crc=None))
    assert (why, arg) == (CFG_BAD_COUNT, 0) and _is_default(cfg)


@pytest.mark.parametrize("value", ["20", 20.0, True, None, [20]])
def test_a_value_that_is_not_an_integer_is_refused_naming_its_field(value):
    cfg, why, arg = c.from_json(_file({"rate_hz": 20, "isp_s": value}, crc=None))
    assert (why, arg) == (CFG_OUT_OF_RANGE, 6) and _is_default(cfg)


def test_a_value_out_of_range_is_refused_naming_its_field():
    cfg, why, arg = c.from_json(_file({"rate_hz": 101}))
    assert (why, arg) == (CFG_OUT_OF_RANGE, 0) and _is_default(cfg)
    cfg, why, arg = c.from_json(_file({"tlm_rs_e": 12}))
    assert (why, arg) == (CFG_OUT_OF_RANGE, 35) and _is_default(cfg)


def test_load_json_reads_the_file(tmp_path):
    p = tmp_path / "config.json"
    p.write_text(_file({"site_x_mm": -77}))
    cfg, why, arg = c.load_json(str(p))
    assert (why, arg) == (CFG_OK, 0) and cfg.site_x_mm == -77


def test_load_json_refuses_what_from_json_refuses(tmp_path):
    p = tmp_path / "config.json"
    p.write_text(_file({"rate_hz": 9}))
    assert c.load_json(str(p))[1:] == (CFG_OUT_OF_RANGE, 0)


def test_a_missing_or_unreadable_file_is_missing(tmp_path):
    cfg, why, arg = c.load_json(str(tmp_path / "absent.json"))
    assert (why, arg) == (CFG_MISSING, 0) and _is_default(cfg)
    assert c.load_json(str(tmp_path))[1:] == (CFG_MISSING, 0)      # a directory


def test_the_reason_codes_never_move():
    assert (CFG_OK, CFG_MISSING, CFG_SHORT, CFG_BAD_MAGIC, CFG_BAD_VERSION, CFG_BAD_COUNT,
            CFG_BAD_CRC, CFG_OUT_OF_RANGE) == (0, 1, 2, 3, 4, 5, 6, 7)


# ------------------------------------------------------------ describe

@pytest.mark.parametrize("reason,arg,text", [
    (CFG_OK, 0, "ok"),
    (CFG_MISSING, 0, "config missing (0)"),
    (CFG_SHORT, 3, "config short (3)"),
    (CFG_BAD_MAGIC, 0, "config not a JSON object (0)"),
    (CFG_BAD_VERSION, 2, "config bad version (2)"),
    (CFG_BAD_VERSION, -1, "config bad version (-1)"),
    (CFG_BAD_COUNT, 0, "config unknown key (0)"),
    (CFG_BAD_CRC, 0, "config bad CRC (0)"),
    (99, 5, "config refused (5)"),
])
def test_describe_words_each_reason(reason, arg, text):
    assert c.describe(reason, arg) == text


@pytest.mark.parametrize("arg,text", [
    (0, "config key rate_hz not an integer in 10..100"),
    (8, "config key altimeter_beam_bau not an integer in -8192..8192"),
    (38, "config key att_lag_ms not an integer in 0..10000"),
    (35, "config key tlm_rs_e not an integer in 8..16 and 8 or 16"),
    (34, "config key tlm_frame_len not an integer in 16..239"
         " and tlm_frame_len + 2 * tlm_rs_e <= 255"),
])
def test_describe_names_the_field_out_of_range_and_its_bounds(arg, text):
    assert c.describe(CFG_OUT_OF_RANGE, arg) == text


@pytest.mark.parametrize("arg", [-1, 39])
def test_describe_an_index_outside_the_fields_as_a_code(arg):
    assert c.describe(CFG_OUT_OF_RANGE, arg) == "config value out of range (%d)" % arg


def test_a_non_integer_guidance_parameter_is_refused_with_its_bounds():
    cfg, why, arg = c.from_json(_file({"replan_cycles": "5"}, crc=None))
    assert (why, arg) == (CFG_OUT_OF_RANGE, 17) and _is_default(cfg)
    assert c.describe(why, arg) == "config key replan_cycles not an integer in 1..50"


@pytest.mark.parametrize("name,value,index", [
    ("replan_cycles", 0, 17),          # a re-plan period of no cycles
    ("touchdown_vz_mm_s", 0, 15),      # the terminal ramp would end in a hover
    ("engine_lag_ms", -1, 22),
    ("accel_band_q15", 0, 18),         # a plan with no acceleration
    ("max_pitch_rate_bau_s", 0, 21),   # an attitude that cannot slew
])
def test_a_file_with_a_guidance_parameter_that_cannot_fly_is_refused(name, value, index):
    cfg, why, arg = c.from_json(_file({name: value}))
    assert (why, arg) == (CFG_OUT_OF_RANGE, index) and _is_default(cfg)
