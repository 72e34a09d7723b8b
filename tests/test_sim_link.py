"""Channel model (bit rate, BER, outages) and the signed telecommand builder."""
import struct

import numpy as np
import pytest

from host_tools.ground import command
from host_tools.sim import link


def test_bytes_leave_at_the_line_rate():
    d = link.air_times(np.zeros(5), 2000.0)
    assert d == pytest.approx([0.004, 0.008, 0.012, 0.016, 0.020])


def test_idle_line_delivers_a_late_byte_one_byte_time_after_sending():
    d = link.air_times([0.0, 10.0], 2000.0, latency_s=1.3)
    assert d == pytest.approx([1.304, 11.304])


def test_clean_channel_delivers_everything_unchanged():
    data = bytes(range(256)) * 4
    rx, t, idx = link.deliver(data, np.zeros(len(data)), 2000.0)
    assert rx == data and len(t) == len(data) and list(idx) == list(range(len(data)))


def test_outage_loses_the_bytes_it_covers():
    data = bytes(1000)
    rx, t, idx = link.deliver(data, np.zeros(1000), 8000.0, outages=[[0.2, 0.4]])
    # 1 ms per byte: bytes delivered in [0.2, 0.4) are bytes 199..398
    assert len(rx) == 800
    assert 199 not in idx and 398 not in idx and 198 in idx and 399 in idx


def test_bit_errors_follow_the_ber_and_the_seed():
    data = bytes(20000)
    rx1, _, _ = link.deliver(data, np.zeros(len(data)), 2000.0, ber=0.01, seed=3)
    rx2, _, _ = link.deliver(data, np.zeros(len(data)), 2000.0, ber=0.01, seed=3)
    rx3, _, _ = link.deliver(data, np.zeros(len(data)), 2000.0, ber=0.01, seed=4)
    flips = int(np.unpackbits(np.frombuffer(rx1, np.uint8)).sum())
    assert rx1 == rx2 and rx1 != rx3
    assert 0.008 * 160000 < flips < 0.012 * 160000


def test_channel_outage_window_can_be_closed_later():
    ch = link.Channel({"bitrate_bps": 1000.0, "ber": 0.0, "outages": [], "latency_s": 0.0})
    w = [1.0, float("inf")]
    ch.add_outage(w)
    w[1] = 2.0
    rx, t, _ = ch.deliver(bytes(500), np.zeros(500))
    assert len(rx) == 500 - 125  # 8 ms per byte: 125 bytes land in [1, 2)


def test_command_packet_round_trips_and_authenticates():
    pkt = command.build("set_param", {"id": 7, "value": -1234}, counter=42)
    p = command.parse(pkt)
    assert p["authentic"] and p["command"] == "set_param" and p["counter"] == 42
    assert p["args"] == {"id": 7, "value": -1234}


def test_command_primary_header_is_a_ccsds_tc_packet():
    pkt = command.build("abort", counter=5, apid=0x123)
    w0, w1, length = struct.unpack(">HHH", pkt[:6])
    assert w0 >> 13 == 0 and (w0 >> 12) & 1 == 1 and (w0 >> 11) & 1 == 1
    assert w0 & 0x7FF == 0x123
    assert w1 >> 14 == 0b11 and w1 & 0x3FFF == 5
    assert length == len(pkt) - 7
    assert len(pkt) == 6 + 4 + 1 + command.TAG_LEN


def test_tag_is_hmac_sha256_truncated_over_counter_and_payload():
    import hashlib
    import hmac

    key = bytes(range(32))
    pkt = command.build("beacon", {"on": 0}, counter=9, key=key)
    payload = pkt[10:-16]
    want = hmac.new(key, struct.pack(">I", 9) + payload, hashlib.sha256).digest()[:16]
    assert pkt[-16:] == want


def test_wrong_key_or_tampered_packet_is_not_authentic():
    pkt = bytearray(command.build("reset", counter=1))
    assert not command.parse(bytes(pkt), key=b"x" * 32)["authentic"]
    pkt[10] ^= 0x01
    assert not command.parse(bytes(pkt))["authentic"]


def test_builder_counter_is_monotonic():
    b = command.CommandBuilder()
    counters = [command.parse(b.build("noop"))["counter"] for _ in range(3)]
    assert counters == [1, 2, 3]


@pytest.mark.parametrize("cmd, args, exc", [
    ("warp", {}, KeyError),
    ("abort", {"now": 1}, KeyError),
    ("set_param", {"id": 1}, ValueError),
    ("set_param", {"id": 70000, "value": 0}, ValueError),
    ("beacon", {"on": 1.5}, TypeError),
])
def test_bad_commands_are_refused(cmd, args, exc):
    with pytest.raises(exc):
        command.build(cmd, args)


def test_serialized_times_only_get_the_latency():
    rx, t, _ = link.deliver(b"abc", [0.004, 0.008, 0.012], 2000.0, latency_s=1.3, serialized=True)
    assert rx == b"abc" and t == pytest.approx([1.304, 1.308, 1.312])


def test_uplink_bit_errors_break_the_tag():
    ch = link.Channel({"bitrate_bps": 2000.0, "ber": 0.05, "outages": [], "latency_s": 0.0}, seed=1)
    pkt = command.build("abort", counter=3)
    bad = ch.uplink(pkt)
    assert bad != pkt and len(bad) == len(pkt)
    try:
        assert not command.parse(bad)["authentic"]
    except ValueError:
        pass  # the header itself was hit
    clean = link.Channel({"bitrate_bps": 2000.0, "ber": 0.0, "outages": [], "latency_s": 0.0})
    assert clean.uplink(pkt) == pkt
