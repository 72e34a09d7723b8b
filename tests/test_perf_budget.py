"""The performance budget's bookkeeping: stage hooks found from App.step,
fuel attributed between marks, and one short replayed flight measured."""
from host_tools import perf_budget as pb
from host_tools.perf_budget import (M_CAL, M_CYCLE_IN, M_CYCLE_OUT, M_BUS_IN, M_BUS_OUT, M_STAGE_IN, M_STAGE_OUT,
                                   M_BUS_ARGS, M_BCAL_IN, M_BCAL_OUT)

APP = '''
class App:
    def step(self, now):
        self._sample()
        self._estimate(dt)
        self.guid.update(self.nav, self.touchdown)
        self._stage_fault(1)
        self._telemetry()
        self._housekeeping()
    def _sample(self): pass
    def _estimate(self, dt): pass
    def _telemetry(self): pass
    def _stage_fault(self, s): pass
    def _housekeeping(self): pass
'''


def test_stage_hooks_follow_the_calls_in_app_step():
    assert pb.app_stage_hooks(APP) == [
        ("", "_sample", "sample", 0), ("", "_estimate", "estimate", 1), ("guid", "update", "guide", 2),
        ("", "_telemetry", "telemetry", 0), ("", "_housekeeping", "housekeeping", 0)]


def _log(steps, start=10_000_000):
    """[(code, fuel spent since the previous mark)] -> a fuel-remaining log."""
    out, fuel = [], start
    for code, spent in steps:
        fuel -= spent
        out.append((code, fuel))
    return out


def test_fuel_between_marks_goes_to_the_frame_on_top_less_one_mark():
    c = 100                                    # one mark's own fuel
    hooks = [("", "_sample", "sample", 0), ("", "_estimate", "estimate", 1)]
    log = _log([(M_CAL, 0), (M_CAL, c), (M_CAL, c),
                (M_CYCLE_IN, 5000),            # before the cycle: not counted
                (M_STAGE_IN + 0, c + 7),       # loop: 7
                (M_BUS_IN, c + 11),            # sample: 11
                (M_BUS_OUT, c + 1000),         # bus: 1000
                (M_STAGE_OUT + 0, c + 13),     # sample: 13
                (M_STAGE_IN + 1, c + 3),       # loop: 3
                (M_STAGE_OUT + 1, c + 500),    # estimate: 500
                (M_CYCLE_OUT, c + 2),          # loop: 2
                (M_CAL, 999)])
    att = pb._attribute(log, hooks)
    assert att["mark_fuel"] == c
    assert att["cycles"] == [{"loop": 12, "sample": 24, "bus": 1000, "estimate": 500}]


def test_a_bus_call_leaves_its_caller_the_cost_of_a_plain_call_not_the_hooks_dispatch():
    c = 100
    hooks = [("", "_sample", "sample", 0)]
    steps = [(M_CAL, 0), (M_CAL, c), (M_CAL, c)]
    # calibration, 2 arguments: a plain call costs 900; through the bus hook the
    # caller's side costs 1000 before the inside mark and 400 after it, so the
    # hook's own dispatch is 1000 + 400 - 900 = 500 per such call
    steps += [(M_BCAL_IN, 50), (M_BCAL_OUT + 2, c + 900)]
    steps += [(M_BCAL_IN, 50), (M_BUS_ARGS + 2, c + 1000), (M_BUS_OUT, c + 77), (M_BCAL_OUT + 2, c + 400)]
    steps += [(M_CYCLE_IN, 5000),
              (M_STAGE_IN + 0, c + 7),         # loop: 7
              (M_BUS_ARGS + 2, c + 3000),      # sample: 3000, less the hook's 500
              (M_BUS_OUT, c + 2000),           # bus: 2000
              (M_STAGE_OUT + 0, c + 13),       # sample: 13
              (M_CYCLE_OUT, c + 2),            # loop: 2
              (M_CAL, 999)]
    att = pb._attribute(_log(steps), hooks)
    assert att["bus_hook_fuel_caller"][2] == 500
    assert att["cycles"] == [{"loop": 9, "sample": 3000 - 500 + 13, "bus": 2000}]


def test_a_short_replayed_flight_is_measured_heap_locked_with_every_stage():
    from host_tools.emu.replay_guest import recorded_demo_flight

    _rec, data = recorded_demo_flight()
    hooks = pb.app_stage_hooks()
    # 60 cycles: past the black box's first flush to flash (cycle 49), which
    # with a growing in-RAM file used to raise MemoryError under heap_lock and
    # be hidden as a telemetry stage fault, its cost missing from the figures
    att = pb.measure_fuel(data, hooks, max_cycles=60)
    assert att["flown"] == 60
    assert att["stage_faults"] == 0
    assert len(att["cycles"]) == 60
    names = {h[2] for h in hooks}
    for cyc in att["cycles"]:
        assert names <= set(cyc)              # every hooked stage ran in every cycle
        assert cyc["bus"] > 0 and all(v > 0 for v in cyc.values())


def test_the_control_law_is_hooked_inside_the_control_stage():
    # DESIGN's "guidance + control" budget is the two laws; App._control also
    # drives the outputs (engine, attitude unit), which stay in "control"
    app = APP.replace("        self._telemetry()\n", "        self._control()\n        self._telemetry()\n") + (
        "    def _control(self):\n        self.ctrl.update(self.guid, self.nav)\n        self.board.engine.set_throttle(1)\n")
    hooks = pb.app_stage_hooks(app)
    assert ("", "_control", "control", 0) in hooks
    assert hooks[-1] == ("ctrl", "update", "control_law", 2)
    assert "control_law" in pb.CONTROL_STAGES and pb.GUIDE_CONTROL == ("guide", "control_law")


def test_the_heap_is_measured_with_the_firmware_executed_in_place_from_a_romfs_image():
    # the same replayed flight, the firmware imported from a ROMFS image (the
    # image's buffer read before the baseline: the board's flash): the
    # bytecode stays out of the heap, every cycle still replays without a
    # mismatch (measure_heap raises on one) and allocates nothing
    from host_tools.emu.replay_guest import recorded_demo_flight

    _rec, data = recorded_demo_flight()
    image = pb.romfs_image_for_guest()
    rom = pb.measure_heap(data, image)
    src = pb.measure_heap(data)
    assert rom["imported_from"] == "/rom/lib/lander/app.mpy"
    assert src["imported_from"] == "/input/lander/app.py"
    assert rom["stage_faults"] == 0 and rom["alloc_bytes"] == 0
    assert rom["heap_code_bytes"] < src["heap_code_bytes"] // 2


def test_qstr_counts_are_read_from_each_qstr_info_line():
    out = ("qstr pool: n_pool=2, n_qstr=24, n_str_data_bytes=217, n_total_bytes=697\nx\n"
           "qstr pool: n_pool=7, n_qstr=1621, n_str_data_bytes=16689, n_total_bytes=34689\n")
    assert pb._qstr_counts(out) == [24, 1621]


def test_the_firmware_only_imports_are_measured_from_the_romfs_image_with_no_harness_imported():
    # the heap guest imports lander.replay (so lander and lander.compat) and
    # interns its own names before its baseline; this guest imports nothing of
    # the firmware before its baseline (measure_firmware_imports raises if it
    # did), and everything after it comes from the image
    fw = pb.measure_firmware_imports(pb.romfs_image_for_guest())
    assert fw["imported_from"] == "/rom/lib/lander/app.mpy"
    assert fw["code_bytes"] > 0 and fw["qstrs"] > 0


def test_the_heap_guest_runs_with_the_heap_size_asked_for():
    # micropython -X heapsize=N: the build's own default is 1 MiB, which the
    # nominal's recording and ROMFS image leave too little of
    from host_tools import wasm_guest

    prog = "import gc\ngc.collect()\nprint('total', gc.mem_free() + gc.mem_alloc())\n"
    with pb._GuestHeap(3 * 1024 * 1024):
        out, _ = wasm_guest.run(prog, {})
    total = int(out.split("total", 1)[1].split()[0])
    assert 0.95 * 3 * 1024 * 1024 <= total <= 3 * 1024 * 1024   # less its allocation table
    out, _ = wasm_guest.run(prog, {})                 # and only inside it
    assert int(out.split("total", 1)[1].split()[0]) <= 1024 * 1024


def test_the_heap_figure_is_the_start_up_that_retained_least_over_the_guest_heap_sizes():
    # a conservative collector's false retention only adds to a run's figure:
    # of the same flight measured in two heap layouts, the smaller start-up
    # is reported, with that run's peak and code (not a mix of runs)
    runs = {3 << 20: {"heap_startup_bytes": 63376, "heap_peak_bytes": 63504, "heap_code_bytes": 57376},
            4 << 20: {"heap_startup_bytes": 65920, "heap_peak_bytes": 66048, "heap_code_bytes": 57376}}
    assert pb.least_retained(runs) is runs[3 << 20]
    runs[4 << 20] = dict(runs[4 << 20], heap_startup_bytes=63000)
    assert pb.least_retained(runs) is runs[4 << 20]
    assert pb.GUEST_HEAP_SIZES == (3 << 20, pb.GUEST_HEAP_BYTES)


def test_the_minified_replay_of_a_short_flight_commands_the_engine_as_the_plain_one(tmp_path):
    # the pico's build (renamed names, const imports left out) re-flown in the
    # fuel guest: every stage hooked by its new name, no fault, and the
    # engine's pulse widths and write counts after each of the 60 cycles
    # (folded into two digests in the guest) those of the plain replay; a
    # plain run whose commands differ is refused
    import pytest
    from host_tools.emu.replay_guest import recorded_demo_flight

    _rec, data = recorded_demo_flight()
    hooks = pb.app_stage_hooks()
    plain = pb.measure_fuel(data, hooks, max_cycles=60)
    assert plain["commands"][2] == 60 * 2                      # throttle and gimbal PWMs, each cycle
    mini = pb.measure_fuel_minified(data, hooks, plain, max_cycles=60)
    assert mini["commands"] == plain["commands"] and mini["stage_faults"] == 0
    assert mini["renamed"] > 1000
    names = {h[2] for h in hooks}
    assert all(names <= set(cyc) for cyc in mini["cycles"])
    tampered = dict(plain, commands=[plain["commands"][0] + 1] + plain["commands"][1:])
    with pytest.raises(RuntimeError, match="engine commands differ"):
        pb.measure_fuel_minified(data, hooks, tampered, max_cycles=60)


def test_the_stage_hooks_of_the_minified_build_take_the_new_names():
    hooks = [("", "_sample", "sample", 0), ("guid", "update", "guide", 2)]
    assert pb.minified_hooks(hooks, {"_sample": "s", "guid": "g"}) == [
        ("", "s", "sample", 0), ("g", "update", "guide", 2)]
