"""The simulator's runner pinned step by step (host_tools/sim/runner.py): each
cycle step of a `Flight` on constructed states (the reference controller, or a
stand-in with fixed commands), the verdict at each boundary, the result
metrics (estimate.*, touchdown.*, telemetry.*) and the pass table's reasons
with hand-computed values. Killing the mutants of `make mutate
GROUP=sim-runner`; docs/mutation.md lists the equivalent ones."""
import math
import sys

import numpy as np
import pytest

from host_tools.sim import runner
from host_tools.sim.physics import EngineController


def _flight(record=False, max_time_s=None, seed=None, sc_seed=0, **sc):
    base = {"name": "t", "seed": sc_seed,
            "initial": {"altitude_m": 100.0, "vx_mps": 0.0, "vz_mps": -2.0}, "target": {"x_m": 0.0}}
    base.update(sc)
    return runner.Flight(base, seed, "reference", record, max_time_s)


class _Ref:
    """A controller with fixed commands (the reference controller's interface)."""

    def __init__(self, throttle=0.0, armed=True, pitch_cmd=0.0, phase_out=0):
        self.throttle, self.armed, self.pitch_cmd, self.phase_out = throttle, armed, pitch_cmd, phase_out
        self.updates = 0

    def update(self, dyn):
        self.updates += 1


def _fault(kind="sensor_bias", **kw):
    f = {"kind": kind, "t_s": None, "alt_m": None, "x_m": None, "value": None, "part": None,
         "duration_s": None, "until_alt_m": None, "fired_t": None, "ended_t": None}
    f.update(kw)
    return f


# ---------------------------------------------------------------- set-up

def test_flight_takes_its_step_sizes_from_the_rate_and_substeps():
    f = runner.Flight({"name": "t", "rate_hz": 40.0, "substeps": 5, "max_time_s": 3.0}, None,
                      "reference", False, None)
    assert f.rate == 40.0 and f.dt == 1.0 / 40.0 and f.nsub == 5 and f.h == (1.0 / 40.0) / 5
    assert f.t_max == 3.0 and f.t_end == 3.0
    assert f.n_steps == 121                          # t = 0, 0.025, ..., 3.0


def test_max_time_argument_overrides_the_scenario():
    f = runner.Flight({"name": "t", "max_time_s": 3.0}, None, "reference", False, 0.5)
    assert f.t_max == 0.5 and f.n_steps == 26


def test_flight_starts_at_the_initial_state_above_the_terrain():
    f = _flight(initial={"altitude_m": 100.0, "x_m": 50.0, "vx_mps": 3.0, "vz_mps": -2.0,
                         "pitch_deg": 10.0, "throttle": 0.5},
                vehicle={"min_throttle": 0.25},
                terrain={"features": [{"kind": "step", "x_m": 40.0, "height_m": 30.0}]},
                target={"x_m": 70.0})
    d = f.dyn
    assert (d.x, d.z, d.vx, d.vz) == (50.0, 130.0, 3.0, -2.0)
    assert d.pitch == math.radians(10.0) and f.pitch_cmd == d.pitch
    assert d.thrust == 0.5 * 3000.0 and d.g == 1.62
    assert f.engine.min_throttle == 0.25 and f.engine.applied == 0.5
    assert f.prev_alt == 100.0 and f.prev_x == 50.0 and f.xt == 70.0


def test_flight_starts_with_nothing_measured_yet():
    f = _flight(record=True)
    assert f.err_1000 is None and f.err_100 is None and f.div_run == 0.0 and f.div_max == 0.0
    assert f.have_est is False and f.touch is None and f.on_ground is False
    assert f.down_until == -1.0 and f.resume_pending is False and f.restarts == []
    assert f.tr == {k: [] for k in runner.TRACE_KEYS} and f.t == 0.0
    assert f.n_legs == 2 and f.radio is None and f.bench is None and f.fw is None
    assert f.events == {} and f.markers == [] and f.reset_cfg == {"reboot_s": 0.3, "engine_hold_s": 1.0}


def test_flight_without_record_keeps_no_trace():
    f = _flight(record=False)
    assert f.tr is None and f.trace() == {}


def test_seed_argument_overrides_the_scenario_seed():
    assert _flight(seed=None, sc_seed=7).seed == 7
    assert _flight(seed=3, sc_seed=7).seed == 3
    assert _flight(seed=np.int64(5)).seed == 5 and type(_flight(seed=np.int64(5)).seed) is int


SEEDS = range(1, 11)      # several: two bounds can give the same draw for one seed


def test_random_streams_are_spawned_from_the_seed():
    # the channel's seed and the fault draws come from SeedSequence(seed).spawn(4)
    for seed in SEEDS:
        f = _flight(seed=seed)
        ss = np.random.SeedSequence(seed).spawn(4)
        assert f.chan.seed == int(np.random.default_rng(ss[1]).integers(0, 2**31 - 1))
        assert f.rng_fault.random() == np.random.default_rng(ss[2]).random()
        misc = np.random.default_rng(ss[3])
        misc.integers(0, 2**31 - 1)                      # the bench seed
        assert f.rng_misc.random() == misc.random()


def test_bench_seed_comes_from_the_run_seed(monkeypatch):
    from host_tools.emu import bench as bench_mod
    seen = []

    class Stop(Exception):
        pass

    def sim_bench(seed, air_bps):
        seen.append((seed, air_bps))
        raise Stop

    monkeypatch.setattr(bench_mod, "sim_bench", sim_bench)
    for seed in SEEDS:
        with pytest.raises(Stop):
            runner.Flight({"name": "t", "seed": seed, "link": {"bitrate_bps": 1200.0}}, None, "firmware",
                          False, None)
        misc = np.random.default_rng(np.random.SeedSequence(seed).spawn(4)[3])
        assert seen[-1] == (int(misc.integers(0, 2**31 - 1)), 1200.0)


def test_random_fault_times_are_drawn_once_from_the_fault_stream():
    f = _flight(seed=4, faults=[{"kind": "sensor_bias", "value": 1.0, "t_s": [2.0, 5.0]},
                                {"kind": "sensor_bias", "value": 1.0, "t_s": 3.0}])
    ss = np.random.SeedSequence(4).spawn(4)
    want = float(np.random.default_rng(ss[2]).uniform(2.0, 5.0))
    assert f.faults[0]["t_s"] == want and 2.0 <= want <= 5.0
    assert f.faults[1]["t_s"] == 3.0
    assert all(g["fired_t"] is None and g["ended_t"] is None for g in f.faults)
    assert f.sc["faults"][0]["t_s"] == [2.0, 5.0]        # the scenario keeps its range


def test_commands_are_built_in_time_order_with_a_rising_counter():
    from host_tools.ground.command import CommandBuilder
    f = _flight(commands=[{"t_s": 2.0, "command": "reset"}, {"t_s": 1.0, "command": "abort"}],
                link={"tc_apid": 0x51})
    b = CommandBuilder(bytes.fromhex(f.sc["link"]["command_key_hex"]), 0x51)
    assert f.commands == [[1.0, b.build("abort", {}), "abort", False],
                          [2.0, b.build("reset", {}), "reset", False]]


def test_a_command_is_built_with_its_arguments():
    from host_tools.ground.command import CommandBuilder
    f = _flight(commands=[{"t_s": 1.0, "command": "divert", "args": {"x_mm": 2500}}])
    b = CommandBuilder(bytes.fromhex(f.sc["link"]["command_key_hex"]), f.sc["link"]["tc_apid"])
    assert f.commands == [[1.0, b.build("divert", {"x_mm": 2500}), "divert", False]]


# ---------------------------------------------------------------- the loop

def test_run_samples_every_control_step_up_to_max_time():
    f = _flight(record=True, max_time_s=0.1, initial={"altitude_m": 100.0, "vx_mps": 0.0, "vz_mps": 0.0})
    f.ref = _Ref(throttle=0.0)
    r = f.run()
    assert list(r.trace["t_s"]) == [k * 0.02 for k in range(6)]
    assert r.summary["outcome"] == "timeout"
    assert r.summary["time_s"] == pytest.approx(0.12)
    # free fall from rest: z = 100 - g t^2 / 2 at each sample (RK4 is exact here)
    assert r.trace["alt_m"] == pytest.approx([100.0 - 0.81 * (k * 0.02) ** 2 for k in range(6)], abs=1e-9)
    assert f.ref.updates == 6


def test_run_stops_at_touchdown_without_post_touchdown_time():
    f = _flight(record=True, initial={"altitude_m": 0.05, "vx_mps": 0.0, "vz_mps": -1.0})
    f.ref = _Ref(throttle=0.0)
    r = f.run()
    # falls 0.05 m at ~1 m/s: contact within the 3rd control step (t < 0.06)
    assert list(r.trace["t_s"][:-1]) == [0.0, 0.02, 0.04]
    assert r.trace["t_s"][-1] == pytest.approx(r.summary["touchdown"]["t_s"])
    assert 0.04 < r.summary["touchdown"]["t_s"] <= 0.06


def test_post_touchdown_time_keeps_the_loop_running_on_the_ground():
    f = _flight(record=True, post_touchdown_s=0.1,
                initial={"altitude_m": 0.05, "vx_mps": 0.0, "vz_mps": -1.0})
    f.ref = _Ref(throttle=0.0)
    r = f.run()
    td = r.summary["touchdown"]["t_s"]
    t = r.trace["t_s"]
    assert f.t_end == pytest.approx(td + 0.1)
    assert t[-1] <= td + 0.1 + 1e-9 and t[-1] > td + 0.1 - 0.02
    on_ground = t > td
    assert (r.trace["vz_mps"][on_ground] == 0.0).all() and (r.trace["vx_mps"][on_ground] == 0.0).all()
    assert r.summary["time_s"] == pytest.approx(td)     # the dynamics stop at contact


# ---------------------------------------------------------------- faults due

def test_time_fault_fires_at_its_time_and_not_before():
    f = _flight()
    g = _fault(t_s=0.04, value=5.0)
    f.faults = [g]
    f.faults_due(1, 0.02, 90.0)
    assert g["fired_t"] is None and f.events == {}
    f.faults_due(2, 0.04, 90.0)
    assert g["fired_t"] == 0.04 and f.events["sensor_bias"] == 1
    assert f.markers == [(0.04, "fault", "sensor_bias")]
    f.faults_due(3, 0.06, 90.0)                     # once
    assert f.events["sensor_bias"] == 1 and g["fired_t"] == 0.04


def test_altitude_fault_fires_on_the_first_crossing_below_its_altitude():
    f = _flight()
    g = _fault(alt_m=50.0, value=5.0)
    f.faults = [g]
    f.prev_alt = 60.0
    f.faults_due(1, 0.02, 50.5)
    assert g["fired_t"] is None and f.prev_alt == 50.5
    f.faults_due(2, 0.04, 50.0)                     # reaches it exactly: fires
    assert g["fired_t"] == 0.04


def test_altitude_fault_does_not_fire_when_already_at_its_altitude():
    f = _flight()
    g = _fault(alt_m=50.0, value=5.0)
    f.faults = [g]
    f.prev_alt = 50.0                               # was already there: no crossing
    f.faults_due(1, 0.02, 49.0)
    assert g["fired_t"] is None


def test_altitude_fault_fires_at_the_start_when_starting_below_it():
    f = _flight()
    g = _fault(alt_m=150.0, value=5.0)
    f.faults = [g]
    f.faults_due(0, 0.0, 100.0)
    assert g["fired_t"] == 0.0


def test_position_fault_fires_when_the_vehicle_reaches_its_position():
    f = _flight()
    g = _fault(x_m=10.0, value=5.0)
    f.faults = [g]
    f.prev_x, f.dyn.x = 9.0, 9.5
    f.faults_due(1, 0.02, 90.0)
    assert g["fired_t"] is None and f.prev_x == 9.5
    f.dyn.x = 10.0
    f.faults_due(2, 0.04, 90.0)
    assert g["fired_t"] == 0.04


def test_position_fault_fires_when_passed_backwards():
    f = _flight()
    g = _fault(x_m=10.0, value=5.0)
    f.faults = [g]
    f.prev_x, f.dyn.x = 11.0, 9.0
    f.faults_due(1, 0.02, 90.0)
    assert g["fired_t"] == 0.02


def test_position_fault_does_not_fire_while_standing_on_its_position():
    f = _flight()
    g = _fault(x_m=10.0, value=5.0)
    f.faults = [g]
    f.prev_x = f.dyn.x = 10.0
    f.faults_due(1, 0.02, 90.0)
    assert g["fired_t"] is None
    f.faults_due(0, 0.0, 90.0)                      # at the start it does
    assert g["fired_t"] == 0.0


def test_on_the_ground_only_a_link_outage_fires():
    f = _flight()
    g, h = _fault(t_s=0.0, value=5.0), _fault("link_outage", t_s=0.0)
    f.faults = [g, h]
    f.on_ground = True
    f.faults_due(1, 0.02, 0.0)
    assert g["fired_t"] is None and h["fired_t"] == 0.02
    assert f.chan.outages == [[0.02, math.inf]]


def test_fault_ends_after_its_duration():
    f = _flight()
    g = _fault("thrust_scale", t_s=1.0, value=0.5, duration_s=0.5)
    f.faults = [g]
    f.faults_due(50, 1.0, 90.0)
    assert f.dyn.thrust_scale == 0.5
    f.faults_due(74, 1.48, 90.0)
    assert g["ended_t"] is None and f.dyn.thrust_scale == 0.5
    f.faults_due(75, 1.5, 90.0)
    assert g["ended_t"] == 1.5 and f.dyn.thrust_scale == 1.0
    assert f.markers == [(1.0, "fault", "thrust_scale"), (1.5, "fault_end", "thrust_scale")]
    f.faults_due(76, 1.52, 90.0)                    # ends once
    assert g["ended_t"] == 1.5 and len(f.markers) == 2


def test_fault_ends_when_the_altitude_reaches_its_end_altitude():
    f = _flight()
    g = _fault("link_outage", t_s=0.0, until_alt_m=80.0)
    f.faults = [g]
    f.faults_due(0, 0.0, 100.0)
    f.faults_due(1, 0.02, 80.5)
    assert g["ended_t"] is None and f.chan.outages == [[0.0, math.inf]]
    f.faults_due(2, 0.04, 80.0)
    assert g["ended_t"] == 0.04 and f.chan.outages == [[0.0, 0.04]]


def test_fault_without_an_end_never_ends():
    f = _flight()
    g = _fault(t_s=0.0, value=5.0)
    f.faults = [g]
    for k in range(5):
        f.faults_due(k, k * 0.02, 0.0)
    assert g["ended_t"] is None and f.events["sensor_bias"] == 1


def test_thrust_scale_fault_scales_the_thrust_and_restores_the_previous_scale():
    f = _flight()
    f.dyn.thrust_scale = 0.8
    g = _fault("thrust_scale", t_s=0.0, value=0.5)
    f.fire_fault(g, 0.0)
    assert f.dyn.thrust_scale == 0.5 and g["_prev"] == 0.8
    runner._end_fault(g, 1.0, f.dyn, f.sens)
    assert f.dyn.thrust_scale == 0.8


def test_sensor_fault_reaches_the_sensors_and_ends_there():
    f = _flight()
    g = _fault(t_s=0.0, value=5.0, part="altimeter")
    before = f.sens.sample(0.0, f.dyn, False, [False, False])["altimeter"]
    f.fire_fault(g, 0.0)
    f2 = _flight()
    ref = f2.sens.sample(0.0, f2.dyn, False, [False, False])["altimeter"]
    assert ref == before                             # the same noise draw in both
    f3 = _flight()
    f3.fire_fault(dict(g), 0.0)
    assert f3.sens.sample(0.0, f3.dyn, False, [False, False])["altimeter"] == pytest.approx(ref + 5.0)
    runner._end_fault(g, 1.0, f.dyn, f.sens)
    f4 = _flight()
    f4.sens.sample(0.0, f4.dyn, False, [False, False])
    assert f.sens.sample(1.0, f.dyn, False, [False, False])["altimeter"] == \
        f4.sens.sample(1.0, f4.dyn, False, [False, False])["altimeter"]


def test_link_outage_fault_opens_a_window_that_its_end_closes():
    f = _flight()
    g = _fault("link_outage", t_s=1.0)
    f.fire_fault(g, 1.0)
    assert g["_window"] == [1.0, math.inf] and f.chan.outages[-1] is g["_window"]
    runner._end_fault(g, 2.5, f.dyn, f.sens)
    assert f.chan.outages == [[1.0, 2.5]]


def test_reset_fault_takes_the_computer_down_for_the_reboot_time():
    f = _flight(reset={"reboot_s": 0.7, "engine_hold_s": 2.0})
    f.fire_fault(_fault("watchdog_reset", t_s=1.0), 1.0)
    assert f.down_until == pytest.approx(1.7)
    assert f.events == {"watchdog_reset": 1, "reboot": 1}
    assert f.markers == [(1.0, "fault", "watchdog_reset"), (1.0, "reboot", "watchdog_reset")]
    assert f.restarts == [{"t_s": 1.0, "kind": "watchdog_reset", "back_s": None, "warm": None,
                           "resume_age_s": None, "boot_to_command_us": None}]
    assert f.engine.mode == EngineController.HOLD and f.engine.hold_until == 3.0
    assert f.sens.power_off is False


def test_power_loss_also_cuts_the_sensors_power():
    f = _flight()
    f.fire_fault(_fault("power_loss", t_s=1.0), 1.0)
    assert f.sens.power_off is True and f.down_until == pytest.approx(1.3)
    assert f.events == {"power_loss": 1, "reboot": 1}


def test_requested_reset_is_counted_under_its_cause():
    f = _flight()
    assert f.reboot(2.0, "watchdog_expired") == pytest.approx(2.3)
    assert f.events == {"reboot": 1, "watchdog_expired": 1}
    assert f.markers == [(2.0, "reboot", "watchdog_expired")]
    assert f.sens.power_off is False


# ---------------------------------------------------------------- commands due

def test_command_is_sent_once_at_its_time():
    f = _flight(commands=[{"t_s": 1.0, "command": "abort"}])
    f.commands_due(0.98)
    assert f.commands[0][3] is False and f.events == {}
    f.commands_due(1.0)
    assert f.commands[0][3] is True and f.events == {"command_abort": 1}
    assert f.markers == [(1.0, "command", "abort")]
    f.commands_due(1.02)
    assert f.events == {"command_abort": 1}


def test_command_at_the_start_of_an_outage_is_lost():
    f = _flight(commands=[{"t_s": 1.0, "command": "abort"}], link={"outages": [[1.0, 2.0]]})
    f.commands_due(1.0)
    assert f.events == {"command_lost_abort": 1} and f.markers == [(1.0, "command", "abort (lost)")]
    assert f.commands[0][3] is True


def test_command_at_the_end_of_an_outage_gets_through():
    f = _flight(commands=[{"t_s": 1.0, "command": "abort"}], link={"outages": [[0.5, 1.0]]})
    f.commands_due(1.0)
    assert f.events == {"command_abort": 1}


def test_command_goes_through_the_uplink_channel_into_the_radio():
    got = []

    class Radio:
        def send_uplink(self, data):
            got.append(data)

    class Bench:
        parts = {"radio": Radio()}

    f = _flight(commands=[{"t_s": 0.0, "command": "abort"}])
    f.bench = Bench()
    f.commands_due(0.0)
    assert got == [f.commands[0][1]]                 # ber 0: the bytes unchanged


# ---------------------------------------------------------------- reboot, control

def test_computer_comes_back_at_the_end_of_the_reboot():
    f = _flight()
    f.fire_fault(_fault("power_loss", t_s=1.0), 1.0)
    old = f.ref
    f.reboot_done(1.28)
    assert f.down_until == pytest.approx(1.3) and f.ref is old and f.sens.power_off is True
    f.reboot_done(1.3)
    assert f.down_until == -1.0 and f.resume_pending is True and f.sens.power_off is False
    assert f.ref is not old and isinstance(f.ref, runner.ReferenceController)


def test_reboot_done_does_nothing_while_the_computer_is_up():
    f = _flight()
    old = f.ref
    f.reboot_done(5.0)
    assert f.ref is old and f.resume_pending is False


def test_control_feeds_the_controller_command_to_the_engine():
    f = _flight(vehicle={"min_throttle": 0.2})
    f.ref = _Ref(throttle=0.1, pitch_cmd=0.25, phase_out=2)
    thr, est, phase, flags = f.control(0.0, 100.0)
    assert thr == 0.2                                # the engine's floor
    assert est == (100.0, f.dyn.vz, f.dyn.vx) and phase == 2 and flags == 0
    assert f.pitch_cmd == 0.25 and f.ref.updates == 1
    f.ref.armed = False
    assert f.control(0.02, 100.0)[0] == 0.0


def test_control_while_the_computer_is_down_holds_then_cuts():
    f = _flight(reset={"reboot_s": 3.0, "engine_hold_s": 1.0})
    f.ref = _Ref(throttle=0.6)
    f.control(0.0, 100.0)
    f.fire_fault(_fault("watchdog_reset", t_s=1.0), 1.0)
    thr, est, phase, flags = f.control(1.5, 100.0)
    assert thr == 0.6 and all(math.isnan(x) for x in est) and (phase, flags) == (0, 0)
    assert f.ref.updates == 1
    assert f.control(2.0, 100.0)[0] == 0.0 and f.engine.cuts == 1


def test_first_command_after_a_reboot_resumes_the_engine_and_notes_when():
    f = _flight(reset={"reboot_s": 0.5, "engine_hold_s": 1.0})
    f.fire_fault(_fault("watchdog_reset", t_s=1.0), 1.0)
    f.reboot_done(1.5)
    f.ref = _Ref(throttle=0.4)
    assert f.control(1.5, 100.0)[0] == 0.4
    assert f.engine.mode == EngineController.LIVE and f.resume_pending is False
    assert f.restarts[-1]["back_s"] == pytest.approx(0.5)
    assert f.restarts[-1]["warm"] is None            # the reference has no restart report


def test_sense_gives_leg_contacts_from_the_feet_heights():
    f = _flight()
    seen = []
    f.sens.sample = lambda t, dyn, on_ground, contacts: seen.append((on_ground, contacts)) or {}
    f.dyn.z, f.dyn.pitch = 0.01, 0.0                # both feet 1 cm up: touching
    f.sense(0.0)
    f.dyn.z = 0.0101
    f.sense(0.0)
    f.dyn.z, f.dyn.pitch = 0.5, math.asin(0.495 / 1.5)  # left foot 0.995 m up, right 5 mm
    f.sense(0.0)
    f.dyn.pitch = -f.dyn.pitch
    f.sense(0.0)
    f.on_ground = True
    f.dyn.z = 50.0
    f.sense(0.0)
    assert seen == [(False, [True, True]), (False, [False, False]), (False, [False, True]),
                    (False, [True, False]), (True, [True, True])]


def test_leg_contacts_split_the_legs_between_the_two_feet():
    assert runner._leg_contacts(4, True, False) == [True, True, False, False]
    assert runner._leg_contacts(3, True, False) == [True, False, False]
    assert runner._leg_contacts(2, False, True) == [False, True]


# ---------------------------------------------------------------- estimate metrics

def test_estimate_error_at_exactly_1000_m_and_100_m_counts():
    f = _flight()
    f.estimate_metrics(1000.0, (1010.0, 0.0, 0.0))
    assert f.err_1000 == 10.0 and f.err_100 is None
    f.estimate_metrics(100.0, (103.0, 0.0, 0.0))
    assert f.err_1000 == 10.0 and f.err_100 == 3.0
    f.estimate_metrics(1000.5, (1100.0, 0.0, 0.0))   # above 1000 m: not counted
    assert f.err_1000 == 10.0


def test_estimate_error_just_above_100_m_is_only_in_the_1000_m_figure():
    f = _flight()
    f.estimate_metrics(100.5, (110.0, 0.0, 0.0))
    assert f.err_1000 == 9.5 and f.err_100 is None


def test_estimate_error_keeps_the_largest():
    f = _flight()
    for alt, est in ((90.0, 94.0), (80.0, 78.0), (70.0, 75.0)):
        f.estimate_metrics(alt, (est, 0.0, 0.0))
    assert f.err_100 == 5.0 and f.err_1000 == 5.0


def test_divergence_needs_an_error_above_the_bound_not_at_it():
    f = _flight()
    f.estimate_metrics(500.0, (550.0, 0.0, 0.0))       # 50 = max(50, 25): not diverged
    assert f.div_run == 0.0 and f.div_max == 0.0
    f.estimate_metrics(2000.0, (2100.0, 0.0, 0.0))     # 100 = 5% of 2000: not diverged
    assert f.div_run == 0.0
    f.estimate_metrics(500.0, (449.0, 0.0, 0.0))       # 51 below: diverged
    assert f.div_run == f.dt and f.div_max == f.dt


def test_longest_divergence_is_the_longest_run_of_cycles():
    f = _flight()
    for e in (60, 60, 60, 0, 60, 60, 0, 0):
        f.estimate_metrics(500.0, (500.0 + e, 0.0, 0.0))
    assert f.div_max == pytest.approx(3 * f.dt) and f.div_run == 0.0
    s = f.estimate_summary()
    assert s == {"max_error_last_1000m_m": 60.0, "max_error_below_100m_m": None,
                 "longest_divergence_s": f.div_max}


def test_estimate_summary_is_none_without_any_estimate():
    f = _flight()
    f.err_1000, f.err_100, f.div_max = 1.0, 2.0, 3.0        # (not reachable without have_est)
    assert f.estimate_summary() == {"max_error_last_1000m_m": None, "max_error_below_100m_m": None,
                                    "longest_divergence_s": None}
    f.have_est = True
    assert f.estimate_summary() == {"max_error_last_1000m_m": 1.0, "max_error_below_100m_m": 2.0,
                                    "longest_divergence_s": 3.0}


# ---------------------------------------------------------------- dynamics, touchdown

NAN3 = (math.nan, math.nan, math.nan)


def test_touchdown_in_free_fall_at_the_substep_the_base_meets_the_ground():
    # z = 2 - 10 t - 0.81 t^2 (RK4 exact): 0.0192 m at t = 0.195 s, -0.0324 m at 0.2 s
    f = _flight(initial={"altitude_m": 2.0, "vx_mps": 0.0, "vz_mps": -10.0})
    for k in range(9):
        assert f.dynamics(0.0, NAN3, {}, 0, 0) is False and f.touch is None
    assert f.dynamics(0.0, NAN3, {}, 0, 0) is True
    td = f.touch
    assert td["t_s"] == pytest.approx(0.2) and td["vz_mps"] == pytest.approx(-10.324)
    assert td["vx_mps"] == 0.0 and td["tilt_deg"] == 0.0 and td["miss_m"] == 0.0
    assert td["slope_deg"] == 0.0 and td["rel_tilt_deg"] == 0.0
    assert f.on_ground is True and f.events == {"touchdown": 1}
    assert f.markers == [(td["t_s"], "touchdown", "crashed")]
    assert (f.dyn.vx, f.dyn.vz, f.dyn.q, f.dyn.thrust) == (0.0, 0.0, 0.0, 0.0)
    assert f.t_end == td["t_s"]


def test_touchdown_on_one_foot_when_pitched():
    # pitched 60 deg: the right foot is 1.5 sin 60 = 1.299 m below the base;
    # from 1.4 m at -1 m/s the foot meets the ground after ~0.1 s
    f = _flight(initial={"altitude_m": 1.4, "vx_mps": 0.0, "vz_mps": -1.0, "pitch_deg": 60.0})
    f.dyn.qmax = 0.0                                   # hold the attitude
    f.pitch_cmd = f.dyn.pitch
    for k in range(20):
        if f.dynamics(0.0, NAN3, {}, 0, 0):
            break
    gap = 1.4 - 1.5 * math.sin(math.radians(60.0))
    t = f.touch["t_s"]
    assert t - 0.005 < (-1.0 + math.sqrt(1.0 + 4 * 0.81 * gap)) / (2 * 0.81) <= t
    assert f.touch["tilt_deg"] == pytest.approx(60.0) and f.touch["rel_tilt_deg"] == pytest.approx(60.0)


class _Bump:
    """Terrain 1 m high under |x| < 0.5 m, flat elsewhere."""
    z_max = 1.0

    def height(self, x):
        return 1.0 if abs(x) < 0.5 else 0.0

    def slope_deg(self, x0, x1):
        return 0.0


def test_touchdown_when_the_base_meets_the_ground_between_the_feet():
    f = _flight(initial={"altitude_m": 1.05, "vx_mps": 0.0, "vz_mps": -1.0})
    f.terr = _Bump()
    f.dyn.z = 1.05
    for k in range(10):
        if f.dynamics(0.0, NAN3, {}, 0, 0):
            break
    assert f.touch["t_s"] == pytest.approx(0.05) and f.dyn.t == pytest.approx(0.05)


def test_post_touchdown_time_keeps_the_flight_going():
    f = _flight(post_touchdown_s=0.5, initial={"altitude_m": 0.01, "vx_mps": 0.0, "vz_mps": -1.0})
    assert f.dynamics(0.0, NAN3, {}, 0, 0) is False
    assert f.on_ground is True and f.t_end == pytest.approx(f.touch["t_s"] + 0.5)


def test_post_touchdown_time_is_capped_by_max_time():
    f = _flight(max_time_s=0.2, post_touchdown_s=5.0,
                initial={"altitude_m": 0.01, "vx_mps": 0.0, "vz_mps": -1.0})
    f.dynamics(0.0, NAN3, {}, 0, 0)
    assert f.t_end == 0.2


def test_touchdown_sample_is_recorded_at_the_contact():
    f = _flight(record=True, initial={"altitude_m": 0.01, "vx_mps": 0.0, "vz_mps": -1.0},
                terrain={"base_m": 10.0})
    f.dynamics(0.3, (0.5, -0.9, 0.1), {"altimeter": 0.02}, 2, 5)
    tr = f.tr
    assert tr["t_s"] == [f.touch["t_s"]] and tr["throttle"] == [0.3] and tr["terrain_m"] == [10.0]
    assert tr["alt_m"][0] == pytest.approx(f.dyn.z - 10.0) and tr["alt_m"][0] <= 0.0
    assert tr["vz_mps"] == [pytest.approx(f.touch["vz_mps"])]    # before the state is zeroed
    assert (tr["est_alt_m"], tr["raw_alt_m"], tr["phase"], tr["fault_flags"]) == ([0.5], [0.02], [2], [5])


def test_fuel_out_is_an_event_once():
    f = _flight(vehicle={"propellant_kg": 0.01}, initial={"altitude_m": 500.0, "vx_mps": 0.0,
                                                          "vz_mps": 0.0, "throttle": 1.0})
    f.dynamics(1.0, NAN3, {}, 0, 0)
    assert f.dyn.fuel_out_t is not None and f.events == {"fuel_out": 1}
    f.dynamics(1.0, NAN3, {}, 0, 0)
    assert f.events == {"fuel_out": 1}


# ---------------------------------------------------------------- the verdict

def _touched(f, vz=-1.0, t=50.0, **kw):
    f.touch = dict({"vz_mps": vz, "vx_mps": 0.0, "tilt_deg": 0.0, "slope_deg": 0.0, "rel_tilt_deg": 0.0,
                    "t_s": t}, **kw)


def test_crash_at_the_instant_the_fuel_ran_out_is_a_crash():
    f = _flight()
    _touched(f, vz=-9.0, t=50.0)
    f.dyn.fuel_out_t = 50.0
    assert f.verdict() == "crashed"


def test_hard_landing_after_fuel_out_stays_a_hard_landing():
    f = _flight()
    _touched(f, vz=-3.0)
    f.dyn.fuel_out_t = 40.0
    assert f.verdict() == "hard_landing"


def test_tipping_over_after_fuel_out_is_fuel_out():
    f = _flight()
    _touched(f, vz=-1.0, vx_mps=4.0)
    assert f.verdict() == "tipped"
    f.dyn.fuel_out_t = 40.0
    assert f.verdict() == "fuel_out"


def test_verdict_uses_the_scenario_pass_table():
    f = _flight(**{"pass": {"max_vz_mps": 3.5}})
    _touched(f, vz=-3.0)
    assert f.verdict() == "landed"


# ---------------------------------------------------------------- the link, the summary

def test_link_without_a_radio_sends_nothing():
    f = _flight()
    downlink, send_times, received, recv_times, tm = f.link()
    assert downlink == b"" and received == b"" and send_times.size == 0 and recv_times.size == 0
    assert tm["bytes_sent"] == 0 and tm["bytes_received"] == 0 and tm["frames_sent"] == 0


class _Radio:
    def __init__(self, data, times=None):
        self.downlink = data
        if times is not None:
            self.downlink_times = times


def test_link_takes_the_radio_times_as_air_times():
    f = _flight(link={"latency_s": 1.25})
    f.radio = _Radio(b"abc", [0.5, 0.5, 0.5])
    downlink, send_times, received, recv_times, _ = f.link()
    assert downlink == b"abc" and received == b"abc"
    assert list(send_times) == [0.5, 0.5, 0.5] and list(recv_times) == [1.75, 1.75, 1.75]


def test_link_without_radio_times_sends_at_the_end_through_the_line_rate():
    f = _flight(link={"bitrate_bps": 800.0})            # 10 ms a byte
    f.radio = _Radio(b"ab")
    f.t = 2.0
    _, send_times, _, recv_times, _ = f.link()
    assert list(send_times) == [2.0, 2.0] and recv_times == pytest.approx([2.01, 2.02])


def test_link_with_mismatched_radio_times_sends_at_the_end():
    f = _flight(link={"bitrate_bps": 800.0})
    f.radio = _Radio(b"ab", [0.5])
    f.t = 2.0
    _, send_times, _, recv_times, _ = f.link()
    assert list(send_times) == [2.0, 2.0] and recv_times == pytest.approx([2.01, 2.02])


def test_link_gives_the_summary_the_channel_receive_times(monkeypatch):
    seen = []
    monkeypatch.setattr(runner, "_telemetry_summary",
                        lambda d, r, t, frame_len, rs_e: seen.append((d, r, list(t))) or {})
    f = _flight(link={"latency_s": 1.25})
    f.radio = _Radio(b"ab", [0.5, 0.75])
    f.link()
    assert seen == [(b"ab", b"ab", [1.75, 2.0])]


def test_telemetry_summary_maps_the_decoder_counts(monkeypatch):
    from host_tools.ground import decode as ground

    class R:
        def __init__(self, stats):
            self.stats = stats

    calls = []

    def decode(data, times=None, frame_len=None, rs_e=None):
        calls.append((data, None if times is None else list(times), frame_len, rs_e))
        if data == b"SENT":
            return R({"frames_ok": 7, "frames_corrected": 99, "frames_bad_rs": 99, "frames_bad_crc": 99})
        return R({"frames_ok": 5, "frames_corrected": 2, "frames_bad_rs": 1, "frames_bad_crc": 3})

    def critical(sent, got):
        assert sent.stats["frames_ok"] == 7 and got.stats["frames_ok"] == 5
        return {"critical_sent": 11, "critical_live": 8, "critical_from_blackbox": 2,
                "critical_delivered_ratio": 10 / 11, "max_latency_s": 0.75}

    monkeypatch.setattr(ground, "decode", decode)
    monkeypatch.setattr(ground, "critical_delivery", critical)
    tm = runner._telemetry_summary(b"SENT", b"GOT", np.array([1.0, 2.0, 3.0]), 100, 16)
    assert calls == [(b"SENT", None, 100, 16), (b"GOT", [1.0, 2.0, 3.0], 100, 16)]
    assert tm == {"frames_sent": 7, "frames_received": 5, "critical_delivered_ratio": 10 / 11,
                  "max_latency_s": 0.75, "bytes_sent": 4, "bytes_received": 3, "critical_sent": 11,
                  "critical_live": 8, "critical_from_blackbox": 2, "frames_corrected": 2,
                  "frames_bad": 4}


def test_link_decodes_with_the_scenario_frame_and_code(monkeypatch):
    seen = []
    monkeypatch.setattr(runner, "_telemetry_summary",
                        lambda d, r, t, frame_len, rs_e: seen.append((frame_len, rs_e)) or {})
    _flight(link={"frame_len": 100, "rs_e": 16}).link()
    assert seen == [(100, 16)]


TM0 = {"frames_sent": 0, "frames_received": 0, "critical_delivered_ratio": None, "max_latency_s": None,
       "bytes_sent": 0, "bytes_received": 0}


def test_summary_without_touchdown_reports_the_flight():
    f = _flight(seed=9)
    f.dyn.prop, f.dyn.t = 70.5, 12.5
    f.events.update({"zeta": 1, "alpha": 2})
    f.engine.cuts = 3
    f.restarts.append({"t_s": 1.0})
    s = f.summary("timeout", TM0)
    assert s["name"] == "t" and s["seed"] == 9 and s["controller"] == "reference"
    assert s["outcome"] == "timeout" and s["time_s"] == 12.5
    assert s["touchdown"] == dict.fromkeys(("vz_mps", "vx_mps", "tilt_deg", "miss_m", "slope_deg", "t_s"))
    assert s["propellant_used_kg"] == 80.0 - 70.5 and s["propellant_left_kg"] == 70.5
    assert list(s["events"]) == ["alpha", "zeta"] and s["events"] == {"alpha": 2, "zeta": 1}
    assert s["restarts"] == [{"t_s": 1.0}] and s["engine_cuts_by_reset"] == 3
    assert s["telemetry"] is TM0 and s["estimate"] == f.estimate_summary()
    assert s["passed"] is False and s["fail_reasons"] == ["outcome timeout not in landed"]


def test_summary_max_alt_error_is_the_last_1000_m_error():
    f = _flight()
    f.estimate_metrics(900.0, (912.5, 0.0, 0.0))
    f.estimate_metrics(90.0, (91.0, 0.0, 0.0))
    s = f.summary("landed", TM0)
    assert s["max_alt_error_m"] == 12.5 and s["estimate"]["max_error_below_100m_m"] == 1.0


def test_summary_adds_the_firmware_event_counts():
    f = _flight()
    f.events["reboot"] = 1

    class Fw:
        counts = {"EV_PHASE": 4, "reboot": 2}

    f.fw = Fw()
    assert f.summary("landed", TM0)["events"] == {"EV_PHASE": 4, "reboot": 3}


def _judged(outcome="landed", miss=1.0, div=0.0, alt_err=1.0, prop=10.0, ratio=1.0, **p):
    f = _flight(**{"pass": p})
    s = {"outcome": outcome, "touchdown": {"miss_m": miss}, "estimate": {"longest_divergence_s": div},
         "max_alt_error_m": alt_err, "propellant_used_kg": prop,
         "telemetry": {"critical_delivered_ratio": ratio}}
    return runner._judge(s, f.pass_cfg)


def test_pass_table_passes_a_flight_at_every_limit():
    assert _judged(miss=100.0, div=5.0, alt_err=20.0, prop=30.0, ratio=0.9, max_alt_error_m=20.0,
                   max_propellant_kg=30.0, min_critical_delivered=0.9) == []


def test_pass_table_names_an_outcome_not_allowed():
    assert _judged("hard_landing", outcomes=["landed", "tipped"]) == \
        ["outcome hard_landing not in landed/tipped"]


def test_pass_table_names_a_miss_beyond_the_limit():
    assert _judged(miss=100.05) == ["miss 100.0 m > 100.0 m"]
    assert _judged(miss=None) == []


def test_pass_table_names_a_divergence_beyond_the_limit():
    assert _judged(div=5.25) == ["estimate diverged 5.2 s > 5.0 s"]
    assert _judged(div=None) == []


def test_pass_table_names_an_altitude_error_beyond_the_limit():
    assert _judged(alt_err=20.5, max_alt_error_m=20.0) == ["altitude error 20.5 > 20.0 m"]
    assert _judged(alt_err=None, max_alt_error_m=20.0) == ["altitude error None > 20.0 m"]
    assert _judged(alt_err=1e9) == []                   # no limit set


def test_pass_table_names_propellant_beyond_the_limit():
    assert _judged(prop=30.25, max_propellant_kg=30.0) == ["propellant 30.2 kg > 30.0 kg"]
    assert _judged(prop=1e9) == []


def test_pass_table_names_critical_telemetry_below_the_limit():
    assert _judged(ratio=0.875, min_critical_delivered=0.9) == ["critical telemetry delivered 0.875 < 0.90"]
    assert _judged(ratio=None, min_critical_delivered=0.9) == ["critical telemetry delivered None < 0.90"]
    assert _judged(ratio=0.0) == []


def test_pass_table_lists_every_failed_limit_in_order():
    assert _judged("crashed", miss=200.0, div=6.0, alt_err=30.0, prop=40.0, ratio=0.5, max_alt_error_m=20.0,
                   max_propellant_kg=30.0, min_critical_delivered=0.9) == [
        "outcome crashed not in landed", "miss 200.0 m > 100.0 m", "estimate diverged 6.0 s > 5.0 s",
        "altitude error 30.0 > 20.0 m", "propellant 40.0 kg > 30.0 kg",
        "critical telemetry delivered 0.5 < 0.90"]


# ---------------------------------------------------------------- the trace

class _Dyn:
    x, z, vx, vz, pitch, thrust, mass, prop = 1.0, 2.0, 3.0, 4.0, math.radians(5.0), 6.0, 7.0, 8.0


class _DynInt:
    x, z, vx, vz, pitch, thrust, mass, prop = 1, 2, 3, 4, 0, 6, 7, 8


def test_record_appends_one_sample_of_every_trace_key():
    tr = {k: [] for k in runner.TRACE_KEYS}
    runner._record(tr, 0.5, _Dyn, 9.0, 10.0, 0.25, math.radians(-2.0), (11.0, 12.0, 13.0),
                   {"altimeter": 14.0}, 2, 6)
    assert tr == {"t_s": [0.5], "x_m": [1.0], "alt_m": [9.0], "z_m": [2.0], "terrain_m": [10.0],
                  "vx_mps": [3.0], "vz_mps": [4.0], "pitch_deg": [pytest.approx(5.0)],
                  "pitch_cmd_deg": [pytest.approx(-2.0)], "throttle": [0.25], "thrust_n": [6.0],
                  "mass_kg": [7.0], "propellant_kg": [8.0], "est_alt_m": [11.0], "est_vz_mps": [12.0],
                  "est_vx_mps": [13.0], "raw_alt_m": [14.0], "phase": [2], "fault_flags": [6]}


def test_record_without_an_altimeter_value_records_nan():
    tr = {k: [] for k in runner.TRACE_KEYS}
    runner._record(tr, 0.5, _Dyn, 9.0, 10.0, 0.25, 0.0, NAN3, {"altimeter": None}, 0, 0)
    runner._record(tr, 0.5, _Dyn, 9.0, 10.0, 0.25, 0.0, NAN3, {}, 0, 0)
    assert math.isnan(tr["raw_alt_m"][0]) and math.isnan(tr["raw_alt_m"][1])


def test_trace_arrays_are_float_but_phase_and_flags_are_integers():
    f = _flight(record=True)
    runner._record(f.tr, 0, _DynInt, 9, 10, 0, 0, (1, 2, 3), {"altimeter": 4}, 2, 6)
    tr = f.trace()
    assert set(tr) == set(runner.TRACE_KEYS)
    assert tr["phase"].dtype == np.int64 and tr["fault_flags"].dtype == np.int64
    assert all(tr[k].dtype == np.float64 for k in runner.TRACE_KEYS if k not in ("phase", "fault_flags"))


def test_cycle_records_the_state_before_the_physics_step():
    f = _flight(record=True, initial={"altitude_m": 100.0, "x_m": 5.0, "vx_mps": 1.0, "vz_mps": -2.0},
                terrain={"base_m": 10.0})
    f.ref = _Ref(throttle=0.0, phase_out=1)
    assert f.cycle(0, 0.0) is False
    tr = f.tr
    assert (tr["t_s"], tr["alt_m"], tr["z_m"], tr["terrain_m"], tr["x_m"]) == ([0.0], [100.0], [110.0],
                                                                              [10.0], [5.0])
    assert tr["est_alt_m"] == [100.0] and tr["phase"] == [1]
    assert f.dyn.t == pytest.approx(0.02) and f.dyn.x == pytest.approx(5.02)


def test_cycle_on_the_ground_records_without_moving():
    f = _flight(record=True)
    f.ref = _Ref(throttle=0.0)
    f.on_ground = True
    z = f.dyn.z
    assert f.cycle(3, 0.06) is False
    assert f.dyn.z == z and f.dyn.t == 0.0 and f.tr["t_s"] == [0.06]


def test_result_carries_the_summary_trace_bytes_and_markers():
    f = _flight(record=True, max_time_s=0.04)
    f.ref = _Ref(throttle=0.0)
    f.radio = _Radio(b"xyz", [0.1, 0.2, 0.3])
    f.markers.append((0.0, "fault", "x"))
    r = f.result()
    assert r.summary["outcome"] == "timeout" and r.downlink == b"xyz" and r.received == b"xyz"
    assert r.summary["telemetry"]["bytes_sent"] == 3 and r.summary["telemetry"]["bytes_received"] == 3
    assert list(r.downlink_times) == [0.1, 0.2, 0.3] and list(r.received_times) == [0.1, 0.2, 0.3]
    assert r.scenario is f.sc and r.bench is None and r.markers == [(0.0, "fault", "x")]
    assert r.markers is not f.markers and set(r.trace) == set(runner.TRACE_KEYS)


# ---------------------------------------------------------------- firmware glue

class _Obj:
    def __init__(self, **kw):
        self.__dict__.update(kw)


def _fw(app):
    fw = runner._Firmware(None, {})
    fw.app = app
    return fw


def test_firmware_estimates_are_the_navigation_fields_in_metres():
    nav = _Obj(altitude_mm=12345, vz_mm_s=-2500, vx_mm_s=750)
    assert _fw(_Obj(nav=nav)).estimates() == (12.345, -2.5, 0.75)


def test_firmware_estimates_are_nan_without_navigation():
    assert all(math.isnan(x) for x in _fw(_Obj()).estimates())
    alt, vz, vx = _fw(_Obj(nav=_Obj(altitude_mm=1000, vz_mm_s=None))).estimates()
    assert alt == 1.0 and math.isnan(vz) and math.isnan(vx)


def test_firmware_phase_is_the_app_phase_first():
    app = _Obj(phase=3, guid=_Obj(phase=1), nav=_Obj(fault_flags=0x21))
    assert _fw(app).phase_flags() == (3, 0x21)


def test_firmware_phase_from_the_guidance_stage():
    assert _fw(_Obj(guid=_Obj(phase=2))).phase_flags() == (2, 0)
    assert _fw(_Obj(guidance=_Obj(phase=4))).phase_flags() == (4, 0)
    assert _fw(_Obj(guid=None, guidance=_Obj(phase=5))).phase_flags() == (5, 0)
    assert _fw(_Obj(guid=_Obj())).phase_flags() == (0, 0)
    assert _fw(_Obj()).phase_flags() == (0, 0)


def test_firmware_guidance_without_a_phase_reads_phase_zero_and_keeps_the_flags():
    assert _fw(_Obj(guid=_Obj(), nav=_Obj(fault_flags=6))).phase_flags() == (0, 6)


def test_firmware_flags_default_to_zero():
    assert _fw(_Obj(phase=1, nav=_Obj())).phase_flags() == (1, 0)


def test_firmware_phase_that_is_not_a_number_reads_zero():
    assert _fw(_Obj(phase="x", nav=_Obj(fault_flags=3))).phase_flags() == (0, 0)
    assert _fw(_Obj(phase=None, guid=_Obj(phase=None))).phase_flags() == (0, 0)
    assert _fw(_Obj(phase=2.0, nav=_Obj(fault_flags=True))).phase_flags() == (2, 1)


class _Ring:
    def __init__(self, capacity):
        self.capacity = capacity
        self.codes = [0] * capacity
        self.head = 0
        self.posted = 0

    def post(self, code):
        self.codes[self.head] = code
        self.head = (self.head + 1) % self.capacity
        self.posted += 1


def test_firmware_step_counts_the_events_posted_in_the_cycle():
    ring = _Ring(8)
    fw = _fw(_Obj(step=lambda now: [ring.post(c) for c in (0x7F01, 0x7F02, 0x7F01)]))
    fw.events = ring
    ring.post(0x7F03)                                  # before: already counted
    fw.last_posted = ring.posted
    fw.step(0)
    name = runner.event_name
    assert fw.counts == {name(0x7F01): 2, name(0x7F02): 1} and fw.last_posted == 4


def test_firmware_step_counts_a_single_event_posted_in_the_cycle():
    ring = _Ring(8)
    fw = _fw(_Obj(step=lambda now: ring.post(0x7F02)))
    fw.events = ring
    fw.step(0)
    assert fw.counts == {runner.event_name(0x7F02): 1} and fw.last_posted == 1


def test_firmware_step_counts_at_most_a_ring_of_events():
    ring = _Ring(4)
    fw = _fw(_Obj(step=lambda now: [ring.post(c) for c in (1, 2, 0x7F05, 0x7F05, 0x7F06, 0x7F06)]))
    fw.events = ring
    fw.step(0)
    name = runner.event_name
    assert fw.counts == {name(0x7F05): 2, name(0x7F06): 2} and fw.last_posted == 6


def test_firmware_step_passes_the_time_to_the_app():
    seen = []
    fw = _fw(_Obj(step=seen.append))
    fw.events = _Ring(4)
    fw.step(123456)
    assert seen == [123456] and fw.counts == {}


def test_bench_time_advances_the_bench_forwards_only():
    class B:
        now_s = 1.0

        def __init__(self):
            self.steps = []

        def advance(self, dt):
            self.steps.append(dt)
            self.now_s += dt

    b = B()
    runner._set_bench_time(b, 1.5)
    runner._set_bench_time(b, 1.5)
    runner._set_bench_time(b, 1.25)
    assert b.steps == [0.5] and b.now_s == 1.5


def test_bench_time_is_set_on_a_bench_without_advance():
    b = _Obj(now_s=1.0)
    runner._set_bench_time(b, 0.5)
    assert b.now_s == 0.5


def test_uplink_goes_to_the_first_radio_method_there_is():
    got = []
    for name in ("send_uplink", "inject_uplink", "uplink"):
        radio = _Obj(**{name: lambda data, name=name: got.append((name, data))})
        assert runner._inject_uplink(_Obj(parts={"radio": radio}), bytearray(b"\x05")) is True
    both = _Obj(inject_uplink=lambda d: got.append(("inject", d)), uplink=lambda d: got.append(("up", d)))
    runner._inject_uplink(_Obj(parts={"radio": both}), b"\x06")
    assert got == [("send_uplink", b"\x05"), ("inject_uplink", b"\x05"), ("uplink", b"\x05"),
                   ("inject", b"\x06")]
    assert type(got[0][1]) is bytes


def test_uplink_without_a_radio_is_not_delivered():
    assert runner._inject_uplink(None, b"x") is False
    assert runner._inject_uplink(_Obj(parts={}), b"x") is False
    assert runner._inject_uplink(_Obj(parts={"radio": _Obj(uplink=None)}), b"x") is False


def test_fly_refuses_an_unknown_controller():
    with pytest.raises(ValueError, match="^controller must be 'firmware' or 'reference'$"):
        runner.fly({"name": "t"}, controller="pilot")


def test_fly_reference_returns_the_flight_result():
    r = runner.fly({"name": "t", "seed": 2}, seed=5, controller="reference", record=False, max_time_s=0.06)
    assert r.summary["seed"] == 5 and r.summary["controller"] == "reference" and r.trace == {}
    assert r.summary["time_s"] == pytest.approx(0.08)


# ---------------------------------------------------------------- the on-board configuration

def _sc(**kw):
    from host_tools.sim import scenario
    sc = {"name": "t", "rate_hz": 40.0, "gravity_mps2": 1.6255,
          "vehicle": {"dry_mass_kg": 300.5, "propellant_kg": 75.25, "max_thrust_n": 2500.5,
                      "min_throttle": 0.25, "isp_s": 311.6, "max_pitch_deg": 45.0,
                      "max_pitch_rate_dps": 15.0, "engine_lag_s": 0.12, "pitch_tau_s": 0.4,
                      "pitch_rate_lag_s": 0.05},
          "initial": {"x_m": 500.0}, "target": {"x_m": 3000.25},
          "sensors": {"altimeter": {"beam_deg": 10.0}},
          "link": {"bitrate_bps": 1200.4, "frame_len": 100, "rs_e": 16}}
    for k, v in kw.items():
        sc.setdefault(k, {}).update(v) if isinstance(v, dict) else sc.__setitem__(k, v)
    return scenario.validate(sc)


def test_firmware_config_is_the_scenario_in_on_board_units():
    cfg = runner.firmware_config(_sc())
    got = {k: getattr(cfg, k) for k in (
        "rate_hz", "gravity_mm_s2", "dry_mass_g", "propellant_g", "max_thrust_mn", "min_throttle_q15",
        "isp_s", "max_pitch_bau", "max_pitch_rate_bau_s", "engine_lag_ms", "att_tau_ms", "att_lag_ms",
        "altimeter_beam_bau", "site_x_mm", "tlm_bitrate_bps", "tlm_frame_len", "tlm_rs_e")}
    assert got == {"rate_hz": 40, "gravity_mm_s2": 1626, "dry_mass_g": 300500, "propellant_g": 75250,
                   "max_thrust_mn": 2500500, "min_throttle_q15": 8192, "isp_s": 312,
                   "max_pitch_bau": 8192,              # 45 / 360 * 65536
                   "max_pitch_rate_bau_s": 2731,       # 15 / 360 * 65536 = 2730.67
                   "engine_lag_ms": 120, "att_tau_ms": 400, "att_lag_ms": 50,
                   "altimeter_beam_bau": 1820,         # 10 / 360 * 65536 = 1820.44
                   "site_x_mm": 2500250, "tlm_bitrate_bps": 1200, "tlm_frame_len": 100, "tlm_rs_e": 16}
    assert all(type(v) is int for v in got.values())


def test_firmware_config_scales_by_2_15_2_16_a_turn_and_1000_a_second():
    # values whose rounding shows a scale one off (32769, 65537, 1001)
    cfg = runner.firmware_config(_sc(vehicle={"min_throttle": 0.75, "max_pitch_deg": 55.0,
                                              "max_pitch_rate_dps": 33.0, "engine_lag_s": 0.9,
                                              "pitch_tau_s": 0.9, "pitch_rate_lag_s": 0.9},
                                     sensors={"altimeter": {"beam_deg": 11.0}}))
    assert cfg.min_throttle_q15 == 24576                 # 0.75 * 32768
    assert cfg.max_pitch_bau == 10012                    # 55 / 360 * 65536 = 10012.44
    assert cfg.max_pitch_rate_bau_s == 6007              # 33 / 360 * 65536 = 6007.47
    assert cfg.altimeter_beam_bau == 2002                # 11 / 360 * 65536 = 2002.49
    assert (cfg.engine_lag_ms, cfg.att_tau_ms, cfg.att_lag_ms) == (900, 900, 900)


def test_firmware_config_attitude_time_constant_is_at_least_a_millisecond():
    assert runner.firmware_config(_sc(vehicle={"pitch_tau_s": 0.0004})).att_tau_ms == 1
    assert runner.firmware_config(_sc(vehicle={"pitch_tau_s": 0.0016})).att_tau_ms == 2


def test_firmware_config_refuses_a_downlink_the_firmware_refuses():
    from host_tools.sim.scenario import ScenarioError
    for link, key in (({"frame_len": 239, "rs_e": 16}, "link.frame_len"), ({"rs_e": 12}, "link.rs_e"),
                      ({"bitrate_bps": 50.0}, "link.bitrate_bps")):
        sc = _sc(link=link)
        sc["_source"] = "s.toml"
        with pytest.raises(ScenarioError) as info:
            runner.firmware_config(sc)
        assert (info.value.file, info.value.key) == ("s.toml", key)
        assert info.value.reason.startswith("the firmware refuses it: config key tlm_")
    sc = _sc(link={"rs_e": 12})
    with pytest.raises(ScenarioError) as info:
        runner.firmware_config(sc)
    assert info.value.file == "<scenario>" and info.value.reason == (
        "the firmware refuses it: config key tlm_rs_e not an integer in 8..16 and 8 or 16")


def test_firmware_config_keeps_other_refused_values_for_the_firmware_to_report():
    cfg = runner.firmware_config(_sc(gravity_mps2=20.0))
    assert cfg.gravity_mm_s2 == 20000 and cfg.check() >= 0


# ---------------------------------------------------------------- resets on the bench

class _Bench:
    def __init__(self, parts=None):
        self.parts = parts or {}
        self.rtc_memory = bytearray(b"ckpt")
        self.requests = []
        self.wdt = _Obj(resets=0)
        self.wdt.reset = lambda: setattr(self.wdt, "resets", self.wdt.resets + 1)

    def request_reset(self, cause):
        self.requests.append(cause)


def test_reset_fault_resets_the_board_with_its_cause():
    from host_tools.emu import machine as host_machine
    f = _flight()
    f.bench = _Bench()
    f.fw = _fw(_Obj())
    f.reboot(1.0, "watchdog_reset")
    assert f.bench.requests == [host_machine.WDT_RESET] and f.fw.app is None
    assert f.bench.rtc_memory == b"ckpt" and f.bench.wdt.resets == 0
    f.reboot(2.0, "power_loss")
    assert f.bench.requests == [host_machine.WDT_RESET, host_machine.PWRON_RESET]
    assert f.bench.rtc_memory == b""


def test_watchdog_expiry_restarts_the_watchdog_without_another_reset():
    f = _flight()
    f.bench = _Bench()
    f.reboot(1.0, "watchdog_expired")
    assert f.bench.requests == [] and f.bench.wdt.resets == 1


def test_reset_the_firmware_asked_for_is_already_on_the_bench():
    f = _flight()
    f.bench = _Bench()
    f.reboot(1.0, "board_reset_5")
    assert f.bench.requests == [] and f.bench.wdt.resets == 0
    assert f.events == {"reboot": 1, "board_reset_5": 1}


def test_power_loss_cuts_each_part_in_name_order_with_a_seeded_generator():
    import random
    for seed in SEEDS:
        order = []

        def part(name):
            return _Obj(power_cut=lambda rng: order.append((name, rng.random())))

        f = _flight(seed=seed)
        f.bench = _Bench({"radio": part("radio"), "flash": part("flash"), "imu": _Obj()})
        f.reboot(1.0, "power_loss")
        misc = np.random.default_rng(np.random.SeedSequence(seed).spawn(4)[3])
        misc.integers(0, 2**31 - 1)                      # the bench seed
        prng = random.Random(int(misc.integers(0, 2**31 - 1)))
        assert order == [("flash", prng.random()), ("radio", prng.random())]


def test_every_reboot_is_counted():
    f = _flight()
    f.reboot(1.0, "watchdog_expired")
    f.reboot(3.0, "watchdog_expired")
    f.reboot(5.0, "power_loss")
    assert f.events == {"reboot": 3, "watchdog_expired": 2}
    assert [r["t_s"] for r in f.restarts] == [1.0, 3.0, 5.0]


@pytest.fixture
def firmware_restored():
    """What runner.fly restores after a firmware flight: the `lander` modules
    and the compatibility layer's clock hook."""
    saved = {k: m for k, m in sys.modules.items() if k == "lander" or k.startswith("lander.")}
    hc = sys.modules.get("lander._hostcompat")
    clock = getattr(hc, "_clock_us", None)
    yield
    runner._purge_firmware_modules()
    sys.modules.update(saved)
    if hc is not None:
        hc._clock_us = clock


def test_firmware_flight_is_set_up_on_the_bench(firmware_restored):
    from host_tools.sim import scenario
    sc = scenario.validate({"name": "t", "reset": {"engine_hold_s": 1.7},
                            "initial": {"altitude_m": 2000.0, "vz_mps": -30.0, "vx_mps": 25.0,
                                        "pitch_deg": -10.0}})
    f = runner.Flight(sc, None, "firmware", False, None)
    bench = f.bench
    assert bench.parts["engine"].hold_s == 1.7 and bench.now_s == 0.0
    assert bytes(bench.flash.files["/tc.key"]) == bytes.fromhex(sc["link"]["command_key_hex"])
    assert f.radio is bench.parts["radio"] and f.n_legs == len(bench.parts["legs"].contacts) == 4
    nav = f.fw.app.nav
    assert (nav.altitude_mm, nav.vz_mm_s, nav.vx_mm_s) == (2000000, -30000, 25000)
    assert nav.pitch_bau == -1820                    # -10 / 360 * 65536 = -1820.4
    assert f.fw.counts == {} and f.fw.bench is bench and f.fw.sc is f.sc


def test_firmware_flight_starts_with_the_scenario_configuration(firmware_restored):
    sc = {"name": "t", "rate_hz": 40.0, "vehicle": {"dry_mass_kg": 300.5}, "target": {"x_m": 1500.0}}
    f = runner.Flight(sc, None, "firmware", False, None)
    cfg = f.fw.app.cfg
    assert (cfg.dry_mass_g, cfg.rate_hz, cfg.site_x_mm) == (300500, 40, 1500000)


def test_firmware_clock_is_the_bench_clock_in_microseconds(firmware_restored):
    f = runner.Flight({"name": "t"}, None, "firmware", False, None)
    from lander import compat
    f.bench.now_s = 1.2345675
    assert compat.ticks_us() == 1234568


def test_firmware_bench_holds_the_first_sample_before_boot(firmware_restored):
    sc = {"name": "t", "sensors": {"altimeter": {"dropouts": [[0.5, 2.0]]}, "baro": {"stuck_at_s": 0.5}}}
    f = runner.Flight(sc, None, "firmware", False, None)
    parts, v = f.bench.parts, f.sens.values
    assert parts["legs"].contacts == [False] * 4 == v["legs"]
    assert parts["altimeter"].range_m == v["altimeter"] and v["altimeter"] is not None
    assert list(parts["imu"].accel_m_s2) == list(v["imu"][0]) and abs(v["imu"][0][2]) < 0.5
    assert parts["baro"].faults.stuck is False


def test_firmware_handover_pitch_is_2_16_a_turn(firmware_restored):
    f = runner.Flight({"name": "t", "initial": {"pitch_deg": -55.0}}, None, "firmware", False, None)
    assert f.fw.app.nav.pitch_bau == -10012              # -55 / 360 * 65536 = -10012.44


def test_firmware_radio_budget_is_the_scenario_cycle(firmware_restored):
    # the sim board's radio at 57600 baud: 5760 B/s, 144 B a cycle at 40 Hz
    f = runner.Flight({"name": "t", "rate_hz": 40.0}, None, "firmware", False, None)
    assert f.fw.app.board.radio.budget == 144


def test_event_ring_reset_empties_the_firmware_ring(firmware_restored):
    from lander.events import events
    events.now_ms = 1234
    events.post(0x7F01, 5)
    ring = runner._reset_event_ring()
    assert ring is events
    assert (ring.head, ring.count, ring.dropped, ring.posted, ring.now_ms) == (0, 0, 0, 0, 0)
    assert not any(ring.codes) and not any(ring.args) and not any(ring.times_ms)


def test_purge_drops_the_firmware_package_and_its_modules_only(firmware_restored):
    import types
    import lander  # noqa: F401
    sys.modules["lander.zz_probe"] = types.ModuleType("lander.zz_probe")
    sys.modules["landerzz_probe"] = types.ModuleType("landerzz_probe")
    try:
        runner._purge_firmware_modules()
        assert "lander" not in sys.modules and "lander.zz_probe" not in sys.modules
        assert "landerzz_probe" in sys.modules
    finally:
        del sys.modules["landerzz_probe"]


def test_fly_flies_the_firmware_by_default(monkeypatch, firmware_restored):
    monkeypatch.setattr(runner, "_fly", lambda sc, seed, controller, record, max_time_s: controller)
    assert runner.fly({"name": "t"}) == "firmware"


def test_fly_hands_the_seed_and_the_time_limit_to_the_firmware_flight(monkeypatch, firmware_restored):
    seen = []
    monkeypatch.setattr(runner, "_fly", lambda *a: seen.append(a[1:]))
    runner.fly({"name": "t"}, seed=7, controller="firmware", record=False, max_time_s=0.5)
    assert seen == [(7, "firmware", False, 0.5)]


def test_fly_puts_back_the_clock_hook_it_found(monkeypatch, firmware_restored):
    from lander import _hostcompat as hc

    def mine():
        return 42
    hc._clock_us = mine
    monkeypatch.setattr(runner, "_fly", lambda *a: setattr(hc, "_clock_us", None))
    runner.fly({"name": "t"})
    assert hc._clock_us is mine


def test_flight_names_the_scenario_file_in_refusals():
    from host_tools.sim.scenario import ScenarioError
    with pytest.raises(ScenarioError) as info:
        runner.Flight({"name": "t", "seed": -1, "_source": "f.toml"}, None, "reference", False, None)
    assert (info.value.file, info.value.key) == ("f.toml", "seed")
    with pytest.raises(ScenarioError) as info:
        runner.Flight({"name": "t", "seed": -1}, None, "reference", False, None)
    assert info.value.file == "<dict>"


def test_flight_terrain_boulders_are_drawn_from_the_run_seed():
    from host_tools.sim import scenario, terrain
    sc = {"name": "t", "terrain": {"features": [{"kind": "boulders", "x0_m": -50.0, "x1_m": 50.0,
                                                  "count": 30, "max_height_m": 2.0}]}}
    f = runner.Flight(sc, 17, "reference", False, None)
    want = terrain.from_scenario(scenario.validate(sc), 17)
    xs = np.linspace(-50.0, 50.0, 1001)
    assert [f.terr.height(x) for x in xs] == [want.height(x) for x in xs]
    other = terrain.from_scenario(scenario.validate(sc), 18)
    assert [f.terr.height(x) for x in xs] != [other.height(x) for x in xs]


def test_fly_restores_the_firmware_modules_and_clock(firmware_restored):
    import lander.compat  # noqa: F401  (the modules a test process already holds)
    before = {k: m for k, m in sys.modules.items() if k == "lander" or k.startswith("lander.")}
    hc = sys.modules.get("lander._hostcompat")
    clock = getattr(hc, "_clock_us", None)
    sc = {"name": "t", "faults": [{"kind": "watchdog_reset", "t_s": 0.02}], "reset": {"reboot_s": 0.02}}
    runner.fly(sc, controller="firmware", record=False, max_time_s=0.1)
    after = {k: m for k, m in sys.modules.items() if k == "lander" or k.startswith("lander.")}
    assert after == before
    assert getattr(sys.modules.get("lander._hostcompat"), "_clock_us", None) is clock


# ---------------------------------------------------------------- the firmware in the cycle

class _FwStub:
    """The _Firmware interface: records the times it is stepped at."""

    def __init__(self, raise_exc=None, est=(1.5, -0.5, 0.25), phase=(2, 9)):
        self.steps = []
        self.app = _Obj()
        self.raise_exc = raise_exc
        self.est, self.phase = est, phase
        self.counts = {}

    def step(self, now_us):
        self.steps.append(now_us)
        if self.raise_exc is not None:
            raise self.raise_exc

    def estimates(self):
        return self.est

    def phase_flags(self):
        return self.phase


def _fw_flight(parts=None, wdt=None, **kw):
    f = _flight(**kw)
    f.fw = _FwStub()
    f.bench = _Bench(parts if parts is not None else {
        "engine": _Obj(throttle_cmd=0.5, armed=True, pitch_cmd_rad=-0.3),
        "gimbal": _Obj(pitch_cmd_rad=0.2), "attitude": _Obj(pitch_cmd_rad=0.1)})
    f.bench.wdt = wdt or _Obj(started=False, expired=False, reset=lambda: None)
    return f


def test_firmware_cycle_steps_the_app_and_reads_the_engine_and_attitude_unit():
    f = _fw_flight()
    thr, est, phase, flags = f.control(1.5, 100.0)
    assert f.fw.steps == [1500000] and thr == 0.5 and f.pitch_cmd == 0.1
    assert est == (1.5, -0.5, 0.25) and (phase, flags) == (2, 9)


def test_firmware_clock_wraps_at_2_30_microseconds():
    f = _fw_flight()
    f.control(1100.0, 100.0)
    assert f.fw.steps == [1100000000 - 2**30]


def test_firmware_attitude_falls_back_to_the_gimbal_then_the_engine():
    f = _fw_flight({"engine": _Obj(throttle_cmd=0.5, armed=True, pitch_cmd_rad=-0.3),
                    "gimbal": _Obj(pitch_cmd_rad=0.2)})
    f.control(0.0, 100.0)
    assert f.pitch_cmd == 0.2
    f = _fw_flight({"engine": _Obj(throttle_cmd=0.5, armed=True, pitch_cmd_rad=-0.3)})
    f.control(0.0, 100.0)
    assert f.pitch_cmd == -0.3


def test_firmware_without_an_engine_commands_nothing():
    f = _fw_flight({})
    thr, _, _, _ = f.control(0.0, 100.0)
    assert thr == 0.0 and f.pitch_cmd == 0.0


def test_firmware_disarmed_engine_is_off():
    f = _fw_flight({"engine": _Obj(throttle_cmd=0.5, armed=False, pitch_cmd_rad=0.0)})
    assert f.control(0.0, 100.0)[0] == 0.0


def test_firmware_that_stops_feeding_the_watchdog_is_reset():
    f = _fw_flight(wdt=_Obj(started=True, expired=True, reset=lambda: None), reset={"reboot_s": 0.5})
    f.engine.applied = 0.7
    thr, est, phase, flags = f.control(2.0, 100.0)
    assert f.events == {"reboot": 1, "watchdog_expired": 1} and f.down_until == pytest.approx(2.5)
    assert thr == 0.7 and f.engine.mode == EngineController.HOLD        # held, not commanded
    assert all(math.isnan(x) for x in est) and (phase, flags) == (0, 0)  # the app is gone


def test_firmware_watchdog_that_has_not_expired_is_not_a_reset():
    for wdt in (_Obj(started=True, expired=False), _Obj(started=False, expired=True)):
        f = _fw_flight(wdt=wdt)
        f.control(2.0, 100.0)
        assert f.events == {} and f.down_until == -1.0


def test_firmware_reset_request_takes_the_computer_down_with_its_cause():
    from host_tools.emu.machine import BoardReset
    f = _fw_flight()
    f.fw.raise_exc = BoardReset(3)
    f.engine.applied = 0.6
    thr, est, _, _ = f.control(2.0, 100.0)
    assert f.events == {"reboot": 1, "board_reset_3": 1} and f.restarts[0]["kind"] == "board_reset_3"
    assert thr == 0.6 and math.isnan(est[0])


def test_firmware_reset_in_its_first_cycle_back_keeps_the_engine_held():
    # a boot loop: the engine resumes only on a cycle the computer stays up
    from host_tools.emu.machine import BoardReset
    f = _fw_flight(reset={"reboot_s": 0.5, "engine_hold_s": 2.0})
    f.fw.boot = lambda fresh_modules: None
    f.engine.applied = 0.6
    f.fire_fault(_fault("watchdog_reset", t_s=1.0), 1.0)
    f.reboot_done(1.5)
    f.fw.raise_exc = BoardReset(3)
    thr, _, _, _ = f.control(1.5, 100.0)
    assert thr == 0.6 and f.engine.mode == EngineController.HOLD      # held, not resumed
    assert f.resume_pending is True and [r["back_s"] for r in f.restarts] == [None, None]


def test_restart_report_takes_what_the_firmware_says_about_its_restart():
    f = _flight()
    f.restarts = [{"t_s": 1.0}, {"t_s": 2.0}]
    f.fw = _fw(_Obj(warm=1, resume_age_us=250000, first_command_us=1200))
    f._note_resume(2.75)
    assert f.restarts == [{"t_s": 1.0}, {"t_s": 2.0, "back_s": 0.75, "warm": True, "resume_age_s": 0.25,
                                         "boot_to_command_us": 1200}]


def test_restart_report_of_a_cold_start():
    f = _flight()
    f.restarts = [{"t_s": 2.0}]
    f.fw = _fw(_Obj(warm=0, resume_age_us=0, first_command_us=-1))
    f._note_resume(2.5)
    assert f.restarts == [{"t_s": 2.0, "back_s": 0.5, "warm": False, "resume_age_s": None,
                           "boot_to_command_us": None}]
    f.fw = _fw(_Obj())
    f._note_resume(2.5)
    assert f.restarts[0]["warm"] is False and f.restarts[0]["resume_age_s"] is None
    assert f.restarts[0]["boot_to_command_us"] is None
    f.fw = _fw(_Obj(first_command_us=None))
    f._note_resume(2.5)
    assert f.restarts[0]["boot_to_command_us"] is None
    f.fw = _fw(_Obj(first_command_us=0))
    f._note_resume(2.5)
    assert f.restarts[0]["boot_to_command_us"] == 0


def test_restart_report_without_a_restart_does_nothing():
    f = _flight()
    f.fw = _fw(_Obj(warm=1))
    f._note_resume(2.5)
    assert f.restarts == []


def _resting(pitch, z, terr=None):
    """A vehicle held still (no gravity, no thrust, attitude held) at z."""
    f = _flight(initial={"altitude_m": 10.0, "vx_mps": 0.0, "vz_mps": 0.0})
    if terr is not None:
        f.terr = terr
    d = f.dyn
    d.g, d.vx, d.vz, d.thrust, d.pitch, d.q, d.z = 0.0, 0.0, 0.0, 0.0, pitch, 0.0, z
    f.pitch_cmd = pitch
    return f


def test_contact_when_the_left_foot_is_exactly_at_the_ground():
    p = -0.1
    f = _resting(p, -(1.5 * math.sin(p)))           # left foot at z + L sin p = 0 exactly
    assert f.dyn.feet()[0][1] == 0.0 and f.dyn.feet()[1][1] > 0.0
    assert f.dynamics(0.0, NAN3, {}, 0, 0) is True and f.touch["t_s"] == f.h


def test_contact_when_the_right_foot_is_exactly_at_the_ground():
    p = 0.1
    f = _resting(p, 1.5 * math.sin(p))              # right foot at z - L sin p = 0 exactly
    assert f.dyn.feet()[1][1] == 0.0 and f.dyn.feet()[0][1] > 0.0
    assert f.dynamics(0.0, NAN3, {}, 0, 0) is True and f.touch["t_s"] == f.h


def test_contact_when_the_base_is_exactly_at_the_ground():
    f = _resting(0.0, 1.0, _Bump())                 # the base on the 1 m bump, the feet over the plain
    assert f.dynamics(0.0, NAN3, {}, 0, 0) is True and f.touch["t_s"] == f.h


def test_link_radio_without_a_downlink_sent_nothing():
    f = _flight()
    f.radio = _Obj()
    downlink, send_times, _, _, _ = f.link()
    assert downlink == b"" and send_times.size == 0


def test_link_radio_times_are_floats():
    f = _flight()
    f.radio = _Radio(b"ab", [1, 2])
    _, send_times, _, recv_times, _ = f.link()
    assert send_times.dtype == np.float64 and list(send_times) == [1.0, 2.0]


def _resettable(log, name):
    return _Obj(reset=lambda: log.append(name))


def test_imu_reset_fault_resets_that_part_on_the_bench():
    log = []
    f = _flight()
    f.bench = _Bench({n: _resettable(log, n) for n in ("imu", "imu2_acc", "imu2_gyro", "baro")})
    f.fire_fault(_fault("imu_reset", t_s=0.0, part="imu"), 0.0)
    assert log == ["imu"] and f.events == {"imu_reset": 1}


def test_imu_reset_fault_of_the_second_imu_resets_both_of_its_parts_and_the_first():
    log = []
    f = _flight()
    f.bench = _Bench({n: _resettable(log, n) for n in ("imu", "imu2_acc", "imu2_gyro", "baro")})
    f.fire_fault(_fault("imu_reset", t_s=0.0, part="imu2"), 0.0)
    assert log == ["imu", "imu2_acc", "imu2_gyro"]


def test_imu_reset_fault_skips_parts_that_are_missing_or_cannot_reset():
    log = []
    f = _flight()
    f.bench = _Bench({"imu": _Obj(), "imu2_gyro": _resettable(log, "imu2_gyro")})
    f.fire_fault(_fault("imu_reset", t_s=0.0, part="imu2"), 0.0)
    assert log == ["imu2_gyro"]


def test_sensor_fault_effect_reaches_the_bench_link():
    f = _flight()
    seen = []
    f.blink = _Obj(fault_effect=seen.append)
    g = _fault("sensor_dropout", t_s=1.0, part="altimeter", duration_s=2.0)
    f.fire_fault(g, 1.0)
    assert len(seen) == 1 and seen[0] is not None and seen[0][:2] == ("dropouts", "altimeter")



def test_run_sends_a_radio_without_times_at_the_last_cycle():
    f = _flight(max_time_s=0.04, link={"bitrate_bps": 800.0})
    f.ref = _Ref(throttle=0.0)
    f.radio = _Radio(b"ab")
    r = f.run()
    assert list(r.downlink_times) == [0.04, 0.04] and r.received_times == pytest.approx([0.05, 0.06])


def test_run_includes_a_cycle_at_the_end_time():
    f = _flight(record=True, max_time_s=1.0)
    f.ref = _Ref(throttle=0.0)
    f.t_end = 0.04 - 1e-9                    # within a nanosecond of the cycle at 0.04
    r = f.run()
    assert list(r.trace["t_s"]) == [0.0, 0.02, 0.04]


def test_run_fires_an_altitude_fault_at_the_start_below_it():
    f = _flight(max_time_s=0.02, faults=[{"kind": "sensor_bias", "alt_m": 150.0, "value": 1.0}])
    f.ref = _Ref(throttle=0.0)
    f.run()
    assert f.faults[0]["fired_t"] == 0.0


def test_every_fault_is_counted():
    f = _flight()
    f.fire_fault(_fault(t_s=0.0, value=1.0), 0.0)
    f.fire_fault(_fault(t_s=0.0, value=2.0), 0.5)
    assert f.events == {"sensor_bias": 2}


def test_every_command_is_counted():
    f = _flight(commands=[{"t_s": 1.0, "command": "abort"}, {"t_s": 2.0, "command": "abort"}])
    f.commands_due(1.0)
    f.commands_due(2.0)
    assert f.events == {"command_abort": 2}


def test_every_command_in_an_outage_is_lost():
    f = _flight(commands=[{"t_s": 1.0, "command": "abort"}, {"t_s": 1.0, "command": "abort"},
                          {"t_s": 1.0, "command": "reset"}], link={"outages": [[0.5, 2.0]]})
    f.commands_due(1.0)
    assert f.events == {"command_lost_abort": 2, "command_lost_reset": 1}
    assert all(c[3] for c in f.commands)


def test_computer_back_at_once_after_a_zero_reboot_time():
    f = _flight(reset={"reboot_s": 0.0, "engine_hold_s": 1.0})
    f.fire_fault(_fault("watchdog_reset", t_s=0.0), 0.0)
    assert f.down_until == 0.0
    f.reboot_done(0.0)
    assert f.down_until == -1.0 and f.resume_pending is True


def test_firmware_reboots_with_fresh_modules():
    f = _flight()
    boots = []
    f.fw = _Obj(app=None, boot=lambda **kw: boots.append(kw))
    f.fire_fault(_fault("watchdog_reset", t_s=1.0), 1.0)
    f.reboot_done(1.3)
    assert boots == [{"fresh_modules": True}]


def test_sense_pushes_the_values_into_the_bench_at_their_time():
    f = _flight()
    pushed = []
    f.blink = _Obj(push=lambda v, t: pushed.append((v, t)))
    v = f.sense(0.5)
    assert pushed == [(v, 0.5)] and v is f.sens.values


def test_a_fault_that_has_fired_does_not_hold_up_the_next():
    f = _flight()
    g, h = _fault(t_s=0.0, value=1.0), _fault("thrust_scale", t_s=0.04, value=0.5)
    f.faults = [g, h]
    f.faults_due(0, 0.0, 90.0)
    f.faults_due(2, 0.04, 90.0)
    assert g["fired_t"] == 0.0 and h["fired_t"] == 0.04 and f.dyn.thrust_scale == 0.5
