"""Telemetry configuration: the over-the-air bit rate, the frame length and the
Reed-Solomon E are configuration keys (validated, a bad value refused with the
key named), the telemetry stage flies them, and the simulator runner passes the
scenario's [link] into the firmware configuration. Checked on the wire with
the ground decoder."""
import copy
import os

import pytest

import host_tools
from host_tools.board.deploy import config_json
from host_tools.ground import decode as ground
from host_tools.sim import runner, scenario
from lander.app import App
from lander.config import (CFG_OK, CFG_OUT_OF_RANGE, FIELDS, Config, describe, from_json,
                           index_of)
from tests.app_fakes import PartlessBoard, fresh_event_ring, FakeRadio  # noqa: F401


pytestmark = pytest.mark.usefixtures("fresh_event_ring")


ASM = bytes.fromhex("1ACFFC1D")


class _Board(PartlessBoard):
    def __init__(self):
        self.radio = FakeRadio()


def _fly(cycles, **cfg):
    b = _Board()
    a = App(b, Config(**cfg))
    a.handover(500000, -20000, 3000, 0)
    for i in range(cycles):
        a.step(i * 20000)
    return a, bytes(b.radio.out)


def _asm_spacing(data):
    offs = []
    i = data.find(ASM)
    while i >= 0:
        offs.append(i)
        i = data.find(ASM, i + 1)
    return {offs[k + 1] - offs[k] for k in range(len(offs) - 1)}


# ---------------------------------------------------------------- validation

def test_defaults_are_2000_bits_128_octet_frames_and_e8():
    c = Config()
    assert (c.tlm_bitrate_bps, c.tlm_frame_len, c.tlm_rs_e) == (2000, 128, 8)
    assert c.check() == -1


@pytest.mark.parametrize("key,value", [
    ("tlm_rs_e", 12),            # only 8 or 16
    ("tlm_rs_e", 0),
    ("tlm_bitrate_bps", 50),
    ("tlm_bitrate_bps", 19201),
    ("tlm_frame_len", 15),
    ("tlm_frame_len", 240),      # 240 + 16 > 255: does not fit the E = 8 codeblock
])
def test_a_bad_telemetry_value_is_refused_naming_the_key(key, value):
    c = Config(**{key: value})
    assert FIELDS[c.check()][0] == key
    cfg, why, arg = from_json(config_json(Config(**{key: value})))
    assert why == CFG_OUT_OF_RANGE and FIELDS[arg][0] == key
    assert cfg.tlm_rs_e == 8 and cfg.tlm_frame_len == 128      # the defaults fly
    assert key in describe(why, arg)


def test_the_frame_must_fit_the_e16_codeblock():
    assert Config(tlm_rs_e=16, tlm_frame_len=223).check() == -1      # 223 + 32 = 255
    bad = Config(tlm_rs_e=16, tlm_frame_len=224)
    assert bad.check() == index_of("tlm_frame_len")
    assert "255" in describe(CFG_OUT_OF_RANGE, bad.check())


def test_a_good_telemetry_file_round_trips():
    cfg, why, _ = from_json(config_json(Config(tlm_bitrate_bps=4800, tlm_frame_len=64,
                                   tlm_rs_e=16)))
    assert why == CFG_OK
    assert (cfg.tlm_bitrate_bps, cfg.tlm_frame_len, cfg.tlm_rs_e) == (4800, 64, 16)


# ---------------------------------------------------------------- on the wire

def test_default_downlink_is_2000_bits_and_148_octet_cadus():
    _a, out = _fly(500)
    assert len(out) == 500 * 5                         # 2000 bit/s * 10 s / 8
    assert _asm_spacing(out) == {4 + 128 + 16}
    res = ground.decode(out)
    assert res.stats["frames_ok"] == len(out) // 148
    assert res.stats["frames_bad_rs"] == res.stats["frames_bad_crc"] == 0


def test_bit_rate_frame_length_and_e_show_on_the_wire():
    # 4000 bit/s at 50 Hz: exactly 10 octets a cycle; CADU 4 + 64 + 32 = 100
    a, out = _fly(500, tlm_bitrate_bps=4000, tlm_frame_len=64, tlm_rs_e=16)
    assert len(out) == 5000
    assert _asm_spacing(out) == {100}
    res = ground.decode(out, frame_len=64, rs_e=16)
    assert res.stats["frames_ok"] == 50 == a.tlm.framer.frames
    assert res.stats["frames_bad_rs"] == res.stats["frames_bad_crc"] == 0
    assert res.stats["packets"] > 0 and res.stats["packets_bad"] == 0
    # the packet octets carried fit the air budget: data field of 56 per 100
    octets = sum(len(p["hex"]) // 2 for p in res.packets)
    assert octets <= 50 * 56
    # the default decoder finds nothing in it
    assert ground.decode(out).stats["frames_ok"] == 0


def test_a_fractional_bit_rate_carries_its_remainder():
    # 2400 bit/s at 50 Hz: 48 bits = 6 octets a cycle; 2500 bit/s: 50 bits,
    # 6.25 octets: the quarter octet is carried (3125 octets in 10 s)
    _a, out = _fly(500, tlm_bitrate_bps=2500)
    assert len(out) == 3125


def test_a_fast_link_at_a_slow_loop_is_not_capped_by_the_stage_buffer():
    # 19200 bit/s at 10 Hz: 240 octets a cycle (more than the 64 of the default buffer)
    b = _Board()
    a = App(b, Config(rate_hz=10, tlm_bitrate_bps=19200))
    a.handover(500000, -20000, 3000, 0)
    for i in range(20):
        a.step(i * 100000)
    assert len(b.radio.out) == 20 * 240


# ---------------------------------------------------------------- the simulator

def _nominal():
    return scenario.load(os.path.join(host_tools.SCENARIOS_DIR, "nominal.toml"))


def test_the_runner_passes_link_bitrate_frame_and_e_into_the_firmware_config():
    sc = _nominal()
    sc["link"].update(bitrate_bps=4800, frame_len=96, rs_e=16)
    cfg = runner.firmware_config(scenario.validate(sc))
    assert (cfg.tlm_bitrate_bps, cfg.tlm_frame_len, cfg.tlm_rs_e) == (4800, 96, 16)
    assert cfg.check() == -1


def test_a_sim_flight_at_4000_bits_sends_twice_the_octets_decoded_with_its_frame():
    sc = _nominal()
    sc["link"].update(bitrate_bps=4000, frame_len=96, rs_e=16)
    r = runner.fly(copy.deepcopy(sc), max_time_s=6.0)
    n = len(r.downlink)
    # 6 s on the air at 4000 bit/s is at most 3000 octets (the firmware queues
    # 10 a cycle; the last few are still in the radio when the run ends);
    # the firmware's default 2000 bit/s would send half of it
    assert 2990 <= n <= 3000
    assert _asm_spacing(r.downlink) == {4 + 96 + 32}
    t = r.summary["telemetry"]
    assert t["frames_sent"] == n // 132 and t["frames_received"] == t["frames_sent"]


@pytest.mark.parametrize("key,value", [("bitrate_bps", 50000), ("rs_e", 12), ("frame_len", 230)])
def test_a_link_the_firmware_refuses_is_a_bad_scenario_naming_the_key(key, value):
    sc = _nominal()
    sc["link"][key] = value
    if key == "frame_len":
        sc["link"]["rs_e"] = 16                         # 230 + 32 > 255
    with pytest.raises(scenario.ScenarioError) as exc:
        runner.firmware_config(scenario.validate(sc))
    assert exc.value.key == "link." + key
