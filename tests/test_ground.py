"""Ground tools: the XTCE export agrees with our decoder field by field when
space-packet-parser decodes real packets with it; lander decode / xtce CLIs."""
import json
import os

import pytest
import space_packet_parser as spp

from host_tools import cli
from host_tools.ground import decode as ground
from host_tools.ground import xtce
from host_tools.sim import runner, scenario
import host_tools


@pytest.fixture(scope="module")
def downlink(tmp_path_factory):
    sc = scenario.load(os.path.join(host_tools.SCENARIOS_DIR, "museum/10_link_outage_final_30s.toml"))
    sc["post_touchdown_s"] = 30.0          # long enough for black box and beacon packets
    r = runner.fly(sc)
    path = tmp_path_factory.mktemp("dl") / "downlink.bin"
    path.write_bytes(r.downlink)
    return path, ground.decode(r.downlink)


def test_space_packet_parser_with_our_xtce_agrees_with_our_decoder(tmp_path, downlink):
    _path, res = downlink
    out = tmp_path / "lander.xml"
    xtce.document().write(str(out), xml_declaration=True, encoding="utf-8")
    defn = spp.load_xtce(str(out))
    seen = set()
    for p in res.packets:
        sp = defn.parse_bytes(bytes.fromhex(p["hex"]))
        assert sp["PKT_APID"] == p["apid"] and sp["SRC_SEQ_CTR"] == p["seq"]
        assert sp["CUC_COARSE"] + sp["CUC_FINE"] / 65536.0 == p["time_s"]
        for name, value in p["raw"].items():
            par = sp["%s.%s" % (p["name"], name)]
            assert getattr(par, "raw_value", par) == value
            assert float(par) == pytest.approx(p["fields"][name], rel=1e-12, abs=1e-12)
        seen.add(p["name"])
    assert seen == {"critical", "event", "housekeeping", "blackbox", "beacon"}
    # fields sourced from the telemetry stage itself are filled, not reserved
    assert any(p["raw"]["ev_code"] == 0x0002 for p in res.packets if p["name"] == "event")
    assert all(p["raw"]["bb_time"] > 0 for p in res.packets if p["name"] == "blackbox")


def test_lander_decode_json_lists_the_packets(downlink, capsys):
    path, res = downlink
    assert cli.main(["decode", str(path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["stats"]["frames_ok"] == res.stats["frames_ok"]
    assert len(doc["packets"]) == len(res.packets)


def test_lander_decode_exits_1_when_nothing_decodes_and_2_on_a_missing_file(tmp_path, capsys):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(bytes(range(256)) * 4)
    assert cli.main(["decode", str(junk)]) == 1
    assert cli.main(["decode", str(tmp_path / "missing.bin")]) == 2
    assert "missing.bin" in capsys.readouterr().err


def test_lander_xtce_writes_and_names_the_file(tmp_path, capsys):
    out = tmp_path / "t.xml"
    assert cli.main(["xtce", str(out)]) == 0
    assert str(out) in capsys.readouterr().out
    assert spp.load_xtce(str(out)) is not None


def test_lander_ground_replays_a_file_and_shows_values_with_their_age(downlink, capsys):
    path, _res = downlink
    assert cli.main(["ground", "--file", str(path), "--once"]) == 0
    out = capsys.readouterr().out
    assert "altitude (estimate)" in out and "age s" in out and "frames good" in out


def test_lander_ground_rejects_a_bad_tcp_address(capsys):
    assert cli.main(["ground", "--tcp", "nohostport"]) == 2
    assert "--tcp" in capsys.readouterr().err


def test_stream_decoder_in_chunks_gives_the_packets_of_one_decode(downlink):
    path, res = downlink
    data = path.read_bytes()
    dec = ground.StreamDecoder()
    got = []
    step = 37
    for i in range(0, len(data), step):
        got += dec.feed(data[i:i + step])
    assert [p["hex"] for p in got] == [p["hex"] for p in res.packets]


def test_lander_decode_reports_link_utilisation_and_per_apid_rates(downlink, capsys):
    path, res = downlink
    from host_tools.ground.cmd_decode import link_figures

    fig = link_figures(res)
    crit = fig["apids"]["critical"]
    # octets per packet: the table's length
    from lander.telemetry import packets as P
    assert crit["octets"] == crit["packets"] * P.packet_len(P.CRITICAL)
    assert 0.0 < fig["utilisation"] <= 1.0
    assert cli.main(["decode", str(path)]) == 0
    assert "octets/s" in capsys.readouterr().out
