"""Hardware in the loop: the link's framing, the HIL board's wiring, and the
closed loop with the firmware on the virtual board (real MicroPython) giving
the same actuator command stream, bit for bit, as the firmware in-process."""
import os

import pytest

from host_tools.board import deploy, hil, virtual
from host_tools.emu.bench import board_wiring
from lander import hil as fw_hil

SCENARIO = os.path.join(os.path.dirname(__file__), "..", "scenarios", "nominal.toml")


def test_crc16_is_ccitt_false():
    assert fw_hil.crc16(b"123456789") == 0x29B1        # the catalogue check value


def test_a_frame_with_a_flipped_bit_is_dropped_and_the_next_one_read():
    good = fw_hil.frame(0x53, 7, b"\x01\x02\x03")
    bad = bytearray(fw_hil.frame(0x53, 6, b"\x09\x09\x09"))
    bad[8] ^= 0x10
    stream = bytearray(b"noise" + bad + good)

    def read(n):
        if len(stream) < n:
            raise fw_hil.LinkTimeout(110)
        out = bytes(stream[:n])
        del stream[:n]
        return out

    link = fw_hil.Link(read, lambda b: None)
    assert link.recv() == (0x53, 7, b"\x01\x02\x03")
    assert link.crc_errors == 1


def test_a_repeated_cycle_frame_is_answered_again_not_stepped_twice():
    board = hil.InProcessBoard()
    try:
        from host_tools.emu.bench import sim_bench
        from host_tools.sim import runner, scenario

        sc = scenario.load(SCENARIO)
        host = hil.HostEnd(sim_bench(1), board.host_link)
        host.start({"config": deploy.config_values_for(sc), "rate_hz": 50,
                    "handover": [8000000, -40000, 80000, 0]})
        host.cycle(20000)
        first = host.state[5]                      # app.cycle after one step
        host.link.send(0x53, host.seq, b"\x00" * 4)   # the same seq again (a lost reply)
        typ, seq, payload = host.link.recv()
        assert (typ, seq) == (0x43, host.seq)
        host.cycle(40000)
        assert (first, host.state[5]) == (1, 2)
        host.quit()
        _ = runner
    finally:
        board.close()


def test_the_hil_board_has_the_sim_boards_parts_and_wiring():
    assert board_wiring("hil") == board_wiring("sim")


def _inprocess_commands(seconds):
    from host_tools.sim import runner, scenario

    cmds = []
    marks = {}
    orig = runner._Firmware.step

    def step(self, now_us):
        orig(self, now_us)
        cmds.append(hil.actuator_state(self.bench, hil.actuator_uarts(self.bench), marks))

    runner._Firmware.step = step
    try:
        runner.fly(scenario.load(SCENARIO), record=False, max_time_s=seconds)
    finally:
        runner._Firmware.step = orig
    return cmds


def test_hil_in_process_gives_the_command_stream_of_the_plain_in_process_flight():
    out = hil.fly(SCENARIO, "inprocess", max_time_s=3.0)
    assert out["commands"] == _inprocess_commands(3.0)
    assert len(out["commands"]) == 151
    assert any(c[0] > 0 for c in out["commands"])      # the engine was commanded
    assert any(c[3] for c in out["commands"])          # and the attitude unit


def test_firmware_deployed_to_the_virtual_board_flies_hil_bit_identical(tmp_path, capsys):
    root = str(tmp_path / "fs")
    files = deploy.build("sim-virtual", str(tmp_path / "build"), None)
    with virtual.VirtualBoard(root) as vb:
        result = deploy.deploy_files(vb.port, files)
        assert result["verified"] == len(files) and result["copied"]
        again = deploy.deploy_files(vb.port, files)          # nothing changed: nothing copied
        assert again["copied"] == []
    assert os.path.isfile(os.path.join(root, "lib", "lander", "app.mpy"))
    out = hil.fly(SCENARIO, "virtual", max_time_s=2.0, root=root)
    ref = hil.fly(SCENARIO, "inprocess", max_time_s=2.0)
    assert out["summary"]["hil"]["crc_errors"] == 0
    assert out["commands"] == ref["commands"]
    assert len(out["commands"]) == 101


def test_demo_report_has_outcome_speeds_miss_propellant_telemetry_and_files(tmp_path):
    from host_tools import demo

    r = demo.crater_rim_demo("inprocess", str(tmp_path), optimal=False, max_time_s=2.0, log=lambda m: None)
    assert r["scenario"] == "crater-rim" and r["outcome"] == "timeout"
    assert r["hil"]["cycles"] == 101 and r["hil"]["crc_errors"] == 0
    assert {"frames_sent", "frames_received"} <= set(r["telemetry"])
    assert "ground" in r and os.path.isfile(os.path.join(str(tmp_path), "crater_rim.png"))
    text = demo.report_text(r)
    assert "outcome" in text and "telemetry" in text and "ground decode" in text


def test_a_hil_flight_starts_from_power_on_not_from_the_last_flights_checkpoint(tmp_path):
    # the first flight leaves its flash checkpoint (written in powered
    # descent) and black box on the board; the next flight removes them
    # first and flies the in-process commands; kept, the board resumes the
    # old flight (a warm restart) and flies other ones
    root = str(tmp_path / "fs")
    files = deploy.build("sim-virtual", str(tmp_path / "build"), None)
    with virtual.VirtualBoard(root) as vb:
        deploy.deploy_files(vb.port, files, log=lambda *a: None)
    first = hil.fly(SCENARIO, "virtual", max_time_s=20.0, root=root)
    assert first["summary"]["restarts"] == []
    assert os.path.getsize(os.path.join(root, "ckpt.bin")) > 0
    assert os.path.getsize(os.path.join(root, "blackbox.bin")) > 0
    again = hil.fly(SCENARIO, "virtual", max_time_s=20.0, root=root)
    assert again["summary"]["restarts"] == []
    assert again["commands"] == _inprocess_commands(20.0)
    hil.fly(SCENARIO, "virtual", max_time_s=20.0, root=root)
    kept = hil.fly(SCENARIO, "virtual", max_time_s=20.0, root=root, keep_flight_state=True)
    assert kept["commands"] != again["commands"]
