"""A recorded flight (every bus byte the firmware read on the host bench, and
the clock) re-flown inside each interpreter gives the same engine commands
and state, cycle for cycle; on the 32-bit interpreter under heap_lock."""
import pytest

from host_tools.emu.replay_guest import expected_lines, guest_program, recorded_demo_flight
from lander.replay import Recording, ReplayMismatch


@pytest.fixture(scope="module")
def recorded_flight():
    rec, data = recorded_demo_flight()
    assert rec["report"].outcome == "landed"
    return rec, data


def test_recorded_flight_replays_identically_on_every_interpreter(interp, run_fw, recorded_flight):
    rec, data = recorded_flight
    n = len(rec["outputs"])
    result = run_fw(interp, guest_program(n, heap_locked=False), data=data)
    assert result.lines() == expected_lines(rec, n)


def test_recorded_flight_replays_without_allocation_on_32bit(run_fw, recorded_flight):
    rec, data = recorded_flight
    n = len(rec["outputs"])
    result = run_fw("wasm", guest_program(n, heap_locked=True), data=data)
    assert result.lines() == expected_lines(rec, n)


def test_replay_raises_a_mismatch_when_the_firmware_calls_out_of_order():
    from host_tools.emu.record import Recorder
    r = Recorder()
    r.cycle(20000)
    r.int_(3)
    rec = Recording(bytes(r.data))
    assert rec.next_cycle() == 20000
    with pytest.raises(ReplayMismatch):
        rec.into(bytearray(4), 4)     # a bytes read where the recording has an int
    assert rec.mismatches == 1


def test_replay_raises_the_recorded_bus_error():
    from host_tools.emu.record import Recorder
    r = Recorder()
    r.error(OSError(5))
    rec = Recording(bytes(r.data))
    with pytest.raises(OSError):
        rec.int_or_none()


def test_replay_of_a_corrupted_recording_does_not_match(run_fw, recorded_flight):
    # The comparison can fail: flip one bit of the first IMU burst that the
    # driver accepts (STATUS_REG with both data-ready bits set) once the engine
    # is lit, in the high byte of accel z (the last of the 16 bytes
    # STATUS..OUTZ_H_A). (Before ignition the vehicle is in free fall: the
    # navigation takes the specific force as zero and a small error there
    # changes no output.)
    rec, data = recorded_flight
    ign = next(i for i, o in enumerate(rec["outputs"]) if o[4] > 0)     # throttle_q15
    blob = bytearray(data["rec.bin"])
    p = 0
    seen = 0
    while True:
        if blob[p] == ord("B") and blob[p + 1] == 16 and blob[p + 3] & 0x03 == 0x03:
            if seen >= ign:
                break
            seen += 1
        p = blob.index(b"B\x10\x00", p + 1)
    blob[p + 3 + 15] ^= 0x01
    n = ign + 50
    result = run_fw("cpython", guest_program(n, heap_locked=False), data=dict(data, **{"rec.bin": bytes(blob)}))
    assert result.lines() != expected_lines(rec, n)
