"""The executive (app.py) pinned on a board of recording stand-ins: the mode
machine (every pair of modes against the documented transition table), the
interlocks and the built-in test, the fault containment per stage, the
landing modes, the sample / control stages' calls into the parts, the
telecommand actions with their refusal codes, the sensor mask, the cycle's
time step and the watchdog, the rate degradation. Expected values by hand."""
import pytest

from lander import app as A
from lander.app import App
from lander.config import CFG_BAD_CRC, Config
from lander.drivers import BUS_ERROR, DISABLED, NOT_READY, OK
from lander.guidance import PH_LANDED
from lander.telemetry.blackbox import EV_BB_DUMP
from tests.app_fakes import LevelPin, PartlessBoard, RecordingEngine, drain_events, fresh_event_ring  # noqa: F401

pytestmark = pytest.mark.usefixtures("fresh_event_ring")

SAFE, BIT, ARMED, POWERED, LANDED, TIPPED, POST = range(7)
# the transition table of the mode machine (app.py's header, DESIGN.md)
LEGAL = {(SAFE, BIT), (BIT, SAFE), (BIT, ARMED), (ARMED, SAFE), (ARMED, POWERED),
         (POWERED, LANDED), (POWERED, TIPPED), (LANDED, POST), (LANDED, TIPPED), (TIPPED, POST)}


class _Sensor:
    def __init__(self, st=OK, raises=False):
        self.st = st
        self.raises = raises
        self.reads = 0

    def read(self):
        self.reads += 1
        if self.raises:
            raise OSError(5)
        return self.st


class _Wdt:
    def __init__(self):
        self.feeds = 0
        self.starts = 0

    def start(self):
        self.starts += 1

    def feed(self):
        self.feeds += 1


class _Board(PartlessBoard):
    pass


def _ev():
    """The executive's events drained from the ring (codes below 0x100;
    navigation and guidance post their own)."""
    return [e for e in drain_events() if e[0] < 0x100]


def _app(board=None, **cfg):
    a = App(board or _Board(), Config(**cfg))
    _ev()
    return a


def _powered(board=None, **cfg):
    a = _app(board, **cfg)
    a.handover(100000, -5000, 0, 0)
    _ev()
    return a


# ------------------------------------------------------------ mode machine
@pytest.mark.parametrize("old", range(7))
def test_every_transition_of_the_table_is_taken_and_every_other_refused(old):
    for new in range(7):
        a = _app()
        a.mode = old
        ok = a.set_mode(new)
        ev = _ev()
        if new == old:
            assert ok is True and ev == [] and a.mode_refusals == 0
        elif (old, new) in LEGAL:
            assert ok is True and a.mode == new and ev == [(A.EV_MODE, (old << 4) | new)]
        else:
            assert ok is False and a.mode == old and a.mode_refusals == 1
            assert ev == [(A.EV_MODE_REFUSED, (A.WHY_ILLEGAL << 4) | new)]


def test_the_engine_interlocks_bench_mode_then_the_arm_input():
    b = _Board()
    assert _app(b)._engine_allowed() == 0
    b.arm_input = LevelPin(0)
    assert _app(b)._engine_allowed() == A.WHY_ARM_INPUT
    b.arm_input = LevelPin(1)
    assert _app(b)._engine_allowed() == 0
    assert _app(b, bench_mode=1)._engine_allowed() == A.WHY_BENCH
    b.arm_input = LevelPin(0)
    assert _app(b, bench_mode=1)._engine_allowed() == A.WHY_BENCH


def test_the_built_in_test_result_is_kept_and_posted():
    a = _app()
    a.nav.built_in_test = lambda board: 6
    assert a.built_in_test() == 6 and a.bit_result == 6
    assert _ev() == [(A.EV_BIT, 6)]

    def boom(board):
        raise ValueError
    a.nav.built_in_test = boom
    assert a.built_in_test() == 0xFF and a.bit_result == 0xFF
    a.nav.built_in_test = None
    assert a.built_in_test() == 0 and _ev()[-1] == (A.EV_BIT, 0)


def test_without_a_navigation_built_in_test_the_test_passes():
    a = _app()
    a.nav = type("N", (), {})()
    assert a.built_in_test() == 0 and a.bit_result == 0


def test_the_built_in_test_is_given_the_board():
    b = _Board()
    a = _app(b)
    seen = []
    a.nav.built_in_test = lambda board: seen.append(board) or 0
    a.built_in_test()
    assert seen == [b]


def test_arm_goes_through_bit_to_armed():
    a = _app()
    assert a.bit_result == -1
    assert a.arm() is True and a.mode == ARMED and a.bit_result == 0
    assert _ev() == [(A.EV_MODE, SAFE << 4 | BIT), (A.EV_BIT, 0),
                              (A.EV_MODE, BIT << 4 | ARMED)]
    assert a.arm() is True and _ev() == []


def test_arm_refusals_each_with_its_reason():
    a = _app()
    a.mode = POWERED
    assert a.arm() is False and _ev() == [(A.EV_MODE_REFUSED, A.WHY_ILLEGAL << 4 | ARMED)]
    assert a.arm() is False and a.mode_refusals == 2
    a = App(_Board(), Config(), cfg_status=CFG_BAD_CRC)
    _ev()
    assert a.arm() is False and _ev() == [(A.EV_MODE_REFUSED, A.WHY_CONFIG << 4 | ARMED)]
    b = _Board()
    b.arm_input = LevelPin(0)
    a = _app(b)
    assert a.arm() is False and a.mode == SAFE
    assert _ev() == [(A.EV_MODE_REFUSED, A.WHY_ARM_INPUT << 4 | ARMED)]
    a = _app()
    a.nav.built_in_test = lambda board: 3
    assert a.arm() is False and a.mode == SAFE and a.mode_refusals == 1
    assert _ev() == [(A.EV_MODE, SAFE << 4 | BIT), (A.EV_BIT, 3),
                              (A.EV_MODE_REFUSED, A.WHY_BIT << 4 | ARMED), (A.EV_MODE, BIT << 4 | SAFE)]


def test_bench_mode_arms_the_executive():
    a = _app(bench_mode=1)
    assert a.arm() is True and a.mode == ARMED


def test_disarm_only_from_armed_and_disarms_the_engine():
    b = _Board()
    b.engine = RecordingEngine()
    a = _app(b)
    assert a.disarm() is False and _ev() == [(A.EV_MODE_REFUSED, A.WHY_ILLEGAL << 4 | SAFE)]
    a.arm()
    _ev()
    assert a.disarm() is True and a.mode == SAFE and b.engine.calls == [("disarm",)]
    assert _ev() == [(A.EV_MODE, ARMED << 4 | SAFE)]
    a = _app()
    a.arm()
    assert a.disarm() is True                  # no engine on the board


def test_ignite_arms_the_engine_or_reports_the_interlock_and_flies_on():
    b = _Board()
    b.engine = RecordingEngine()
    a = _app(b)
    assert a.ignite() is False and b.engine.calls == []
    a.mode = ARMED
    _ev()
    assert a.ignite() is True and a.mode == POWERED and b.engine.calls == [("arm",)]
    b = _Board()
    b.engine = RecordingEngine()
    a = _app(b, bench_mode=1)
    a.mode = ARMED
    _ev()
    assert a.ignite() is True and a.mode == POWERED and b.engine.calls == []
    assert _ev() == [(A.EV_MODE, ARMED << 4 | POWERED),
                              (A.EV_MODE_REFUSED, A.WHY_BENCH << 4 | POWERED)]
    a = _app()
    a.mode = ARMED
    assert a.ignite() is True                  # no engine on the board


def test_handover_initialises_navigation_and_starts_the_watchdog_once():
    b = _Board()
    b.wdt = _Wdt()
    a = _app(b)
    a.handover(123456, -7000, 250, 100)
    assert (a.nav.altitude_mm, a.nav.vz_mm_s, a.nav.vx_mm_s, a.nav.pitch_bau) == (123456, -7000, 250, 100)
    assert a.mode == POWERED and b.wdt.starts == 1
    a.handover(123456, -7000, 250, 100)
    assert b.wdt.starts == 1


def test_handover_with_a_refused_arm_forces_the_preflight_modes_and_flies():
    b = _Board()
    b.arm_input = LevelPin(0)
    a = _app(b)
    a.handover(100000, -5000, 0, 0)
    assert a.mode == POWERED
    assert _ev() == [(A.EV_MODE_REFUSED, A.WHY_ARM_INPUT << 4 | ARMED),
                              (A.EV_MODE, SAFE << 4 | ARMED), (A.EV_MODE, ARMED << 4 | POWERED),
                              (A.EV_MODE_REFUSED, A.WHY_ARM_INPUT << 4 | POWERED)]


def test_handover_when_armed_ignites_and_in_descent_changes_no_mode():
    a = _app()
    a.arm()
    _ev()
    a.handover(100000, -5000, 0, 0)
    assert a.mode == POWERED and _ev() == [(A.EV_MODE, ARMED << 4 | POWERED)]
    a.mode = LANDED
    a.handover(100000, -5000, 0, 0)
    assert a.mode == LANDED


# ------------------------------------------------------------ stage faults
@pytest.mark.parametrize("stage,i", [(A.ST_SAMPLE, 0), (A.ST_ESTIMATE, 1), (A.ST_GUIDE, 2),
                                     (A.ST_CONTROL, 3), (A.ST_TELEMETRY, 4), (A.ST_UPLINK, 5),
                                     (0, 0), (64, None)])
def test_a_stage_fault_is_counted_under_its_bit_number_and_posted(stage, i):
    a = _app()
    a._stage_fault(stage)
    expect = [0] * 6
    if i is not None:
        expect[i] = 1
    assert list(a.stage_fault_count) == expect and a.stage_faults == 1
    assert _ev() == [(A.EV_STAGE_FAULT, stage)]


def test_a_control_fault_in_descent_holds_the_last_command():
    b = _Board()
    b.engine = RecordingEngine()
    a = _powered(b)
    a.ctrl.throttle_q15 = 12345
    a.ctrl.pitch_cmd_bau = -77
    a._gimbal_sent = 5
    b.engine.calls = []
    a._stage_fault(A.ST_CONTROL)
    assert b.engine.calls == [("thr", 12345), ("pitch", -77)] and a._gimbal_sent is None


@pytest.mark.parametrize("mode,cut", [(ARMED, False), (LANDED, False), (POWERED, True)])
def test_a_control_fault_outside_a_lit_descent_commands_nothing(mode, cut):
    b = _Board()
    b.engine = RecordingEngine()
    a = _powered(b)
    a.mode = mode
    a.engine_cut = cut
    b.engine.calls = []
    a._gimbal_sent = 5
    a._stage_fault(A.ST_CONTROL)
    assert b.engine.calls == [] and a._gimbal_sent == 5


def test_another_stage_fault_commands_nothing():
    b = _Board()
    b.engine = RecordingEngine()
    a = _powered(b)
    b.engine.calls = []
    a._stage_fault(A.ST_GUIDE)
    assert b.engine.calls == []


def test_a_control_fault_without_an_engine_is_contained():
    a = _powered()
    a._stage_fault(A.ST_CONTROL)
    assert a.stage_faults == 1


# ------------------------------------------------------------ landing modes
@pytest.mark.parametrize("pitch,mode", [(8192, LANDED), (-8192, LANDED), (8193, TIPPED),
                                        (-8193, TIPPED), (0, LANDED)])
def test_touchdown_lands_or_tips_at_45_degrees(pitch, mode):
    a = _powered()
    a.touchdown = True
    a.nav.pitch_bau = pitch
    a._landed_cycles = 9
    a._modes()
    assert a.mode == mode and a._landed_cycles == 0


def test_guidance_landed_phase_also_lands():
    a = _powered()
    a.guid.phase = PH_LANDED
    a._modes()
    assert a.mode == LANDED


def test_in_descent_without_touchdown_the_mode_stays():
    a = _powered()
    a._modes()
    assert a.mode == POWERED


@pytest.mark.parametrize("mode", [LANDED, TIPPED])
def test_post_landing_after_five_seconds_of_cycles_with_the_beacon(mode):
    a = _powered(rate_hz=20)
    a.mode = mode
    a._landed_cycles = 0
    for _ in range(99):
        a._modes()
    assert a.mode == mode and not a.beacon_on and a._landed_cycles == 99
    a._modes()
    assert a.mode == POST and a.beacon_on


def test_the_arm_input_level_is_posted_when_it_changes():
    b = _Board()
    b.arm_input = LevelPin(1)
    a = _app(b)
    a._modes()
    a._modes()
    b.arm_input.v = 0
    a._modes()
    assert _ev() == [(A.EV_ARM_INPUT, 1), (A.EV_ARM_INPUT, 0)] and a.arm_input_level == 0


def test_a_board_without_an_arm_input_posts_nothing():
    a = _app()
    a._modes()
    assert _ev() == [] and a.arm_input_level == -1


# ------------------------------------------------------------ uplink
def test_the_uplink_polls_the_commands_with_the_radio():
    class Cmd:
        def __init__(self):
            self.polled = []

        def poll(self, r):
            self.polled.append(r)
    b = _Board()
    b.radio = object()
    a = _app(b)
    a.cmd = Cmd()
    a._uplink()
    assert a.cmd.polled == [b.radio]
    b.radio = None
    a._uplink()
    assert len(a.cmd.polled) == 1

    class NoRadio:
        imu = imu2 = altimeter = legs = engine = wdt = None
    a2 = _app(NoRadio())
    a2.cmd = Cmd()
    a2._uplink()
    assert a2.cmd.polled == []
    a2.cmd = None
    a2._uplink()


# ------------------------------------------------------------ sample
def test_the_sample_stage_reads_each_sensor_and_keeps_its_status():
    b = _Board()
    b.imu, b.imu2, b.altimeter = _Sensor(OK), _Sensor(OK), _Sensor(NOT_READY)
    a = _app(b)
    a._sample()
    assert (a.imu_status, a.imu2_status, a.alt_status) == (OK, BUS_ERROR, NOT_READY)
    assert (b.imu.reads, b.imu2.reads, b.altimeter.reads) == (1, 0, 1)


def test_the_spare_imu_is_read_while_the_primary_is_not_ok_or_not_in_use():
    b = _Board()
    b.imu, b.imu2 = _Sensor(NOT_READY), _Sensor(OK)
    a = _app(b)
    a._sample()
    assert (a.imu_status, a.imu2_status, b.imu2.reads) == (NOT_READY, OK, 1)
    b.imu.st = OK
    a.nav.imu_used = 2
    a._sample()
    assert b.imu2.reads == 2
    a.nav.imu_used = 1
    a._sample()
    assert b.imu2.reads == 2 and a.imu2_status == BUS_ERROR


def test_a_raising_read_leaves_the_statuses_unusable_and_raises():
    b = _Board()
    b.imu, b.altimeter = _Sensor(OK, raises=True), _Sensor(OK)
    a = _app(b)
    a.imu_status = a.alt_status = OK
    with pytest.raises(OSError):
        a._sample()
    assert (a.imu_status, a.imu2_status, a.alt_status, b.altimeter.reads) == \
        (BUS_ERROR, BUS_ERROR, BUS_ERROR, 0)


def test_leg_contact_is_the_touchdown_posted_once_with_the_mask():
    class Legs:
        any_contact = False
        contact_mask = 0
        updates = 0

        def update(self):
            self.updates += 1
    b = _Board()
    b.legs = Legs()
    a = _app(b)
    a._sample()
    assert b.legs.updates == 1 and not a.touchdown
    b.legs.any_contact, b.legs.contact_mask = True, 5
    a._sample()
    a._sample()
    assert a.touchdown and b.legs.updates == 3
    assert _ev() == [(A.EV_TOUCHDOWN, 5)]


# ------------------------------------------------------------ control
def test_control_commands_the_throttle_and_the_gimbal_only_when_it_changes():
    b = _Board()
    b.engine = RecordingEngine()
    a = _powered(b)
    a.ctrl.update = lambda g, n: None
    a.ctrl.throttle_q15, a.ctrl.pitch_cmd_bau = 1000, 0
    a._gimbal_sent = None
    b.engine.calls = []
    a._control()
    a._control()
    a.ctrl.pitch_cmd_bau = 40
    a._control()
    assert b.engine.calls == [("thr", 1000), ("pitch", 0), ("thr", 1000), ("thr", 1000), ("pitch", 40)]
    assert a._gimbal_sent == 40


def test_with_an_attitude_unit_the_set_point_goes_to_it_and_the_gimbal_stays_centred():
    class Acu:
        def __init__(self):
            self.sp = []

        def set_pitch(self, p):
            self.sp.append(p)
    b = _Board()
    b.engine = RecordingEngine()
    b.attitude = Acu()
    a = _powered(b)
    a.ctrl.update = lambda g, n: None
    a.ctrl.throttle_q15, a.ctrl.pitch_cmd_bau = 1000, 300
    a._gimbal_sent = None
    b.engine.calls = []
    a._control()
    a._control()
    assert b.attitude.sp == [300, 300]
    assert b.engine.calls == [("thr", 1000), ("pitch", 0), ("thr", 1000)]


def test_control_is_given_guidance_and_navigation():
    a = _powered()
    seen = []
    a.ctrl.update = lambda g, n: seen.append((g, n))
    a._control()
    assert seen == [(a.guid, a.nav)]


def test_the_landed_phase_cuts_the_engine_once_and_disarms_it():
    b = _Board()
    b.engine = RecordingEngine()
    a = _powered(b)
    a.ctrl.throttle_q15 = 5000
    a.guid.phase = PH_LANDED
    b.engine.calls = []
    a._control()
    a._control()
    assert a.engine_cut and a.ctrl.throttle_q15 == 0
    assert b.engine.calls == [("thr", 0), ("disarm",)] * 2
    assert _ev() == [(A.EV_ENGINE_CUT, 0)]
    a2 = _powered()
    a2.guid.phase = PH_LANDED
    a2._control()
    assert a2.engine_cut


# ------------------------------------------------------------ telecommands
def test_abort_only_in_descent_calls_guidance_abort():
    a = _app()
    assert a.cmd_abort() == 12
    a = _powered()
    calls = []
    a.guid.abort = lambda: calls.append(1)
    assert a.cmd_abort() == 0 and calls == [1]


def test_abort_without_a_guidance_abort_lands_where_the_vehicle_is():
    a = _powered()
    a.guid = type("G", (), {"site_x_mm": 0})()
    a.nav.x_mm = 4321
    assert a.cmd_abort() == 0 and a.guid.site_x_mm == 4321


def test_divert_in_descent_or_armed_within_max_divert_of_the_site():
    a = _powered(site_x_mm=100000, max_divert_mm=50000)
    got = []
    a.guid.divert = got.append
    assert a.cmd_divert(150000) == 0 and a.cmd_divert(50000) == 0
    assert a.cmd_divert(150001) == 11 and a.cmd_divert(49999) == 11
    assert got == [150000, 50000]
    a.mode = ARMED
    assert a.cmd_divert(100000) == 0
    for m in (SAFE, BIT, LANDED, TIPPED, POST):
        a.mode = m
        assert a.cmd_divert(100000) == 12


def test_divert_without_a_guidance_divert_moves_the_site():
    a = _powered()
    a.guid = type("G", (), {"site_x_mm": 0})()
    assert a.cmd_divert(a.cfg.site_x_mm + 10) == 0 and a.guid.site_x_mm == a.cfg.site_x_mm + 10


def test_reset_checkpoints_now_then_resets_or_is_refused_without_a_reset():
    b = _Board()
    resets = []
    b.reset_fn = lambda: resets.append(1)
    a = _powered(b)
    seen = []
    a._checkpoint = lambda now=False: seen.append(now)
    assert a.cmd_reset() == 0 and resets == [1] and seen == [True]
    a = _powered()
    a._checkpoint = lambda now=False: seen.append(now)
    assert a.cmd_reset() == 14 and seen == [True, True]


def test_engine_off_cuts_and_disarms():
    b = _Board()
    b.engine = RecordingEngine()
    a = _powered(b)
    a.ctrl.throttle_q15 = 9000
    b.engine.calls = []
    assert a.cmd_engine_off() == 0
    assert a.engine_cut and a.ctrl.throttle_q15 == 0
    assert b.engine.calls == [("thr", 0), ("disarm",)]
    assert _ev() == [(A.EV_ENGINE_CUT, 1)]
    assert _powered().cmd_engine_off() == 0


def test_reset_imu_rewrites_the_configuration_of_the_part_asked():
    class Prim:
        def __init__(self):
            self.causes = []

        def _reinit(self, cause):
            self.causes.append(cause)

    class Spare:
        def __init__(self):
            self.calls = []

        def _gyro_reinit(self):
            self.calls.append("g")

        def _acc_reinit(self, cause):
            self.calls.append(("a", cause))
    b = _Board()
    b.imu, b.imu2 = Prim(), Spare()
    a = _app(b)
    assert a.cmd_reset_imu(2) == 11
    assert a.cmd_reset_imu(0) == 0 and b.imu.causes == [3]
    assert a.cmd_reset_imu(1) == 0 and b.imu2.calls == ["g", ("a", 3)]


def test_reset_imu_on_a_board_without_a_spare_imu_attribute_is_refused():
    class OneImu:
        imu = altimeter = legs = engine = wdt = radio = None
    a = _app(OneImu())
    assert a.cmd_reset_imu(1) == 14


def test_reset_imu_refused_for_a_missing_part_or_one_without_the_methods():
    a = _app()
    assert a.cmd_reset_imu(0) == 14 and a.cmd_reset_imu(1) == 14
    b = _Board()
    b.imu = object()
    b.imu2 = type("S", (), {"_gyro_reinit": lambda s: None})()
    a = _app(b)
    assert a.cmd_reset_imu(0) == 14 and a.cmd_reset_imu(1) == 14
    b.imu2 = type("S", (), {"_acc_reinit": lambda s, c: None})()
    assert a.cmd_reset_imu(1) == 14


def _pid(name):
    from lander import config as C
    return [f[0] for f in C.FIELDS].index(name)


def test_set_param_applies_a_value_within_its_limits_and_updates_the_crc():
    a = _app()
    crc = a.cfg.crc
    assert a.cmd_set_param(_pid("max_divert_mm"), 5000000) == 0
    assert a.cfg.max_divert_mm == 5000000 and a.cfg.crc == a.cfg.compute_crc() != crc
    assert a.cmd_set_param(_pid("max_divert_mm"), 0) == 0 and a.cfg.max_divert_mm == 0


def test_set_param_refusals():
    from lander import config as C
    a = _app()
    assert a.cmd_set_param(len(C.FIELDS), 0) == 11
    assert a.cmd_set_param(_pid("max_divert_mm"), 5000001) == 11
    assert a.cmd_set_param(_pid("max_divert_mm"), -1) == 11
    assert a.cmd_set_param(_pid("rate_hz"), 50) == 12          # built in at boot: never
    assert a.cmd_set_param(_pid("touchdown_vz_mm_s"), 800) == 0
    a.mode = POWERED
    assert a.cmd_set_param(_pid("touchdown_vz_mm_s"), 700) == 12
    assert a.cfg.touchdown_vz_mm_s == 800
    assert a.cmd_set_param(_pid("max_divert_mm"), 1000) == 0 and a.cfg.max_divert_mm == 1000


def test_set_param_lets_navigation_and_guidance_rederive_and_applies_the_sensor_mask():
    b = _Board()
    b.imu = _Sensor()
    a = _app(b)
    seen = []
    for s in (a.nav, a.guid):
        s.configure = lambda cfg, s=s: seen.append((s, cfg))
    assert a.cmd_set_param(_pid("sensor_mask"), 0xFE) == 0
    assert seen == [(a.nav, a.cfg), (a.guid, a.cfg)]
    assert a.sensor_mask == 0xFE and isinstance(b.imu, A._SensorOff)


def test_set_param_of_another_key_leaves_the_sensors():
    b = _Board()
    b.imu = _Sensor()
    a = _app(b)
    assert a.cmd_set_param(_pid("max_divert_mm"), 1000) == 0
    assert b.imu.__class__ is _Sensor and a.sensor_mask == 0xFF


def test_dump_only_after_landing():
    b = _Board()

    class St:
        count = 4
        pending = 0

        def flush(self):
            return True
    b.storage = St()
    a = _app(b)
    assert a.cmd_dump(0, 0) == 12
    a.mode = POST
    assert a.cmd_dump(1, 2) == 0 and (a.tlm.dump_next, a.tlm.dump_end) == (1, 3)
    assert a.cmd_dump(4, 1) == 11
    assert (EV_BB_DUMP, 2) in drain_events()


def test_the_sensor_telecommand_sets_and_clears_one_bit():
    b = _Board()
    b.imu, b.imu2, b.altimeter = _Sensor(), _Sensor(), _Sensor()
    a = _app(b)
    assert a.cmd_sensor(3, 0) == 11 and a.cmd_sensor(0, 2) == 11
    assert a.cmd_sensor(2, 0) == 0 and a.sensor_mask == 0xFB
    assert isinstance(b.altimeter, A._SensorOff)
    assert a.cmd_sensor(1, 0) == 0 and a.sensor_mask == 0xF9 and isinstance(a._imu2, A._SensorOff)
    assert a.cmd_sensor(2, 1) == 0 and a.sensor_mask == 0xFD and isinstance(b.altimeter, _Sensor)
    assert _ev() == [(A.EV_SENSOR_MASK, 0xFB), (A.EV_SENSOR_MASK, 0xF9),
                              (A.EV_SENSOR_MASK, 0xFD)]


def test_a_disabled_sensor_reads_disabled_and_keeps_its_driver():
    b = _Board()
    imu = _Sensor()
    b.imu = imu
    a = _app(b, sensor_mask=0xFE)
    assert isinstance(b.imu, A._SensorOff) and b.imu.driver is imu
    assert b.imu.read() == DISABLED and b.imu.status == DISABLED and imu.reads == 0
    a._apply_sensor_mask(0x1FF)                # only the low 8 bits count
    assert b.imu is imu and a.sensor_mask == 0xFF


def test_a_missing_sensor_does_not_stop_the_mask_reaching_the_next_ones():
    b = _Board()
    b.altimeter = _Sensor()
    a = _app(b)                                # no IMU, no spare IMU
    a._apply_sensor_mask(0xFB)
    assert isinstance(b.altimeter, A._SensorOff)


def test_applying_the_same_mask_posts_nothing():
    a = _app()
    a._apply_sensor_mask(0xFF)
    assert _ev() == []


def test_a_missing_sensor_is_left_alone_by_the_mask():
    a = _app()
    a._apply_sensor_mask(0)
    assert a.board.imu is None and a._imu2 is None and a.board.altimeter is None
    assert a.sensor_mask == 0


# ------------------------------------------------------------ the cycle
def test_cycles_of_a_period_at_least_one():
    a = _app()
    assert (a._cycles(100), a._cycles(20), a._cycles(19), a._cycles(0), a._cycles(1000)) == (5, 1, 1, 1, 50)


def test_degrade_halves_the_rate_down_to_10_hz():
    a = _app(rate_hz=40)
    assert a.degrade() is True and (a.rate_hz, a.period_us, a._period_ms, a.degraded) == (20, 50000, 50, True)
    assert type(a.period_us) is int and type(a._period_ms) is int
    assert a.degrade() is True and a.rate_hz == 10
    assert _ev() == [(A.EV_RATE_DEGRADED, 20), (A.EV_RATE_DEGRADED, 10)]
    assert a.degrade() is False and a.rate_hz == 10 and _ev() == []


def test_degrade_refused_at_the_start_below_20_hz():
    a = _app(rate_hz=19)
    assert a.degrade() is False and not a.degraded


def test_the_estimate_stage_hands_navigation_the_samples_and_their_statuses():
    b = _Board()
    b.imu, b.imu2, b.altimeter = _Sensor(), _Sensor(), _Sensor()
    a = _app(b)
    got = []
    a.nav.update = lambda *args: got.append(args)
    a.imu_status, a.imu2_status, a.alt_status = 11, 12, 13
    a.touchdown = True
    a._estimate(4321)
    assert got == [(4321, b.imu, 11, b.imu2, 12, b.altimeter, 13, a.ctrl, True)]


def test_the_watchdog_is_fed_only_when_every_stage_reported():
    b = _Board()
    b.wdt = _Wdt()
    a = _powered(b)
    a.step(0)
    assert (b.wdt.feeds, a.watchdog_feeds, a.report_mask, a.cycle) == (1, 1, A.ST_ALL, 1)

    def boom():
        raise ValueError
    a._telemetry = boom
    a.step(20000)
    assert (b.wdt.feeds, a.report_mask) == (1, A.ST_ALL & ~A.ST_TELEMETRY)
    assert list(a.stage_fault_count) == [0, 0, 0, 0, 1, 0]


@pytest.mark.parametrize("stage,attr", [(A.ST_UPLINK, "_uplink"), (A.ST_SAMPLE, "_sample"),
                                        (A.ST_ESTIMATE, "_estimate"), (A.ST_CONTROL, "_control")])
def test_each_raising_stage_clears_its_own_bit(stage, attr):
    a = _powered()

    def boom(*args):
        raise ValueError
    setattr(a, attr, boom)
    a.step(0)
    assert a.report_mask == A.ST_ALL & ~stage and a.stage_faults == 1


def test_a_raising_guidance_clears_its_bit():
    a = _powered()

    def boom(nav, td):
        raise ValueError
    a.guid.update = boom
    a.step(0)
    assert a.report_mask == A.ST_ALL & ~A.ST_GUIDE


def test_a_raising_checkpoint_is_an_event_not_a_stage_fault():
    b = _Board()
    b.wdt = _Wdt()
    a = _powered(b)

    def boom(now=False):
        raise OSError
    a._checkpoint = boom
    a.step(0)
    assert (A.EV_CKPT_WRITE_ERROR, 0) in _ev()
    assert a.report_mask == A.ST_ALL and b.wdt.feeds == 1


def _dts(a, times):
    got = []
    a._estimate = lambda dt: got.append(dt)
    for t in times:
        a.step(t)
    return got


def test_the_time_step_is_the_measured_period_in_q20_seconds():
    a = _powered()
    # first cycle: the nominal 20 ms; then 20 ms, 25 ms, 20.999 ms, 21 ms
    got = _dts(a, [1000000, 1020000, 1045000, 1065999, 1086999])
    q = [20000 + (20000 * 50936 >> 20), 20000 + (20000 * 50936 >> 20),
         25000 * 1099512 >> 20, 20999 + (20999 * 50936 >> 20), 21000 * 1099512 >> 20]
    assert got == q == [20971, 20971, 26214, 22019, 22020]


def test_a_clock_glitch_counts_as_one_nominal_period():
    a = _powered()
    got = _dts(a, [1000000, 1000000, 900000, 980001, 1060001, 1140000])
    # 0, backwards, 80.001 ms (> 4 periods): nominal; 80 ms exactly, 79.999 ms kept
    assert got == [20971] * 4 + [80000 * 1099512 >> 20, 79999 * 1099512 >> 20]


def test_at_100_hz_a_step_below_21_ms_is_kept_and_one_beyond_4_periods_is_a_glitch():
    # the inline path (0 < dt < 21 ms) is never a glitch: 4 periods >= 40 ms
    a = _powered(rate_hz=100)
    got = _dts(a, [1000000, 1000001, 1021000, 1061001, 1101001])
    # first cycle: the nominal 10 ms; 1 us; 20.999 ms; 40.001 ms (> 4 periods): nominal; 40 ms
    assert got == [10000 * 1099512 >> 20, 1, 20999 + (20999 * 50936 >> 20),
                   10000 * 1099512 >> 20, 40000 * 1099512 >> 20] == [10485, 1, 22019, 10485, 41943]


def test_the_event_clock_is_the_cycle_time_in_ms():
    from lander.events import events
    a = _powered()
    a.step(1234567)
    assert events.now_ms == 1234
    a.step(1073741000)                        # the last ms of the 2^30 us tick range
    assert events.now_ms == 1073741 and a.last_us == 1073741000


def test_stage_times_and_their_maxima_are_kept():
    a = _powered()
    a.stage_max_us[0] = 10 ** 9
    a.step(0)
    assert a.stage_max_us[0] == 10 ** 9
    for i in range(1, 6):
        assert a.stage_max_us[i] == a.stage_us[i] >= 0
    assert a.cycle_max_us == a.cycle_us >= 0


def test_the_first_command_time_is_set_once():
    a = _powered()
    a.step(0)
    t = a.first_command_us
    assert t >= 0
    a.step(20000)
    assert a.first_command_us == t


# ------------------------------------------------------------ warm restart, first cycle
def _resumed(ck_ticks, boot_us, reboot_est_ms=500, hint=None):
    """A powered App in the state _restore leaves after a warm restart: the
    gap measured at the first step; stand-ins record what navigation is told."""
    a = _powered(reboot_est_ms=reboot_est_ms)
    a._gap_us = -1
    a._ck_ticks = ck_ticks
    a.boot_us = boot_us
    a.told = {"gap": [], "pitch": [], "dt": []}
    a._nav_gap = a.told["gap"].append
    a._nav_pitch = a.told["pitch"].append
    a._estimate = a.told["dt"].append
    a._telemetry = lambda: None                # (it would drain the event ring: no radio)
    a._hint_ok = hint is not None
    if hint is not None:
        for i, v in enumerate(hint):
            a._hint[i] = v
    return a


def test_the_first_cycle_after_a_restart_takes_the_gap_since_the_checkpoint():
    a = _resumed(1000000, 1200000)
    a.step(1250000)
    assert a.resume_age_us == 250000 and a.told["gap"] == [250000]
    assert a.told["dt"] == [250000 * 1099512 >> 20]
    assert _ev()[0] == (A.EV_WARM_RESTART, 250)
    assert (a.started, a._gap_us) == (True, 0)
    a.step(1275000)                            # then the measured period, no second restart
    assert a.told["dt"][1] == 25000 * 1099512 >> 20 and a.told["gap"] == [250000]
    assert A.EV_WARM_RESTART not in [c for c, _ in _ev()]


@pytest.mark.parametrize("gap,kept", [(1, True), (3000000, True), (0, False), (-5, False),
                                      (3000001, False)])
def test_a_gap_outside_0_to_3_s_is_not_believed(gap, kept):
    # not believed: the assumed reset time (500 ms) plus the time since boot (20 ms)
    a = _resumed(100000000, 100000000 + gap - 20000)
    a.step(100000000 + gap)
    assert a.resume_age_us == (gap if kept else 520000)


@pytest.mark.parametrize("est_ms,since_boot,age", [(0, 0, 20000), (0, 1, 1), (0, -1, 20000),
                                                   (2900, 100000, 3000000), (2900, 100001, 20000)])
def test_an_unbelievable_estimate_too_is_one_period(est_ms, since_boot, age):
    a = _resumed(500000000, 500000000 - since_boot, reboot_est_ms=est_ms)
    a.step(500000000)                          # gap 0: not believed
    assert a.resume_age_us == age


def _hint(ck_ticks, newer_us):
    return (0, 0, ck_ticks + newer_us, 3000, 1000, 50000)   # restarts, cycle, ticks, hold, pitch, rate


def test_the_pitch_is_coasted_from_the_hint_over_the_periods_since_it_rounded():
    # gap 250 ms, the hint 40 ms newer than the record: 210 ms = 10.5 periods -> 11
    a = _resumed(1000000, 1000000, hint=_hint(1000000, 40000))
    a.step(1250000)
    assert a.told["pitch"] == [A.coast_pitch(1000, 50000, 3000, 11, a.cfg, 50)]
    assert A.coast_pitch(1000, 50000, 3000, 11, a.cfg, 50) != A.coast_pitch(1000, 50000, 3000, 10, a.cfg, 50)


@pytest.mark.parametrize("newer,steps", [(240000, 1), (240001, None), (0, 13), (-2750000, 150),
                                         (-2760000, None)])
def test_the_coast_runs_over_1_to_150_periods(newer, steps):
    # gap 250 ms; dt = 250 ms - newer; steps = round(dt / 20 ms), at most 3 s
    a = _resumed(10000000, 10000000, hint=_hint(10000000, newer))
    a.step(10250000)
    exp = [] if steps is None else [A.coast_pitch(1000, 50000, 3000, steps, a.cfg, 50)]
    assert a.told["pitch"] == exp


def test_no_coast_without_a_hint_or_without_a_navigation_that_takes_it():
    a = _resumed(1000000, 1000000)
    a.step(1250000)
    assert a.told["pitch"] == []
    a = _resumed(1000000, 1000000, hint=_hint(1000000, 0))
    a._nav_pitch = None
    a.step(1250000)
    assert a.resume_age_us == 250000


def test_a_one_microsecond_step_is_taken_as_measured():
    a = _powered()
    got = _dts(a, [1000000, 1000001])
    assert got == [20971, 1]


# ------------------------------------------------------------ a sealed record stored
class _Store:
    def __init__(self, ok=True):
        self.ok = ok
        self.writes = []

    def write(self, ck, slot):
        self.writes.append((ck, slot))
        return self.ok


def _sealed(rtc_ok=True, file_ok=True, flash_due=False, cycles=3):
    a = _powered()
    a.ckpt = type("Ck", (), {"last": 1})()
    a.ckpt_rtc = _Store(rtc_ok)
    a.ckpt_file = _Store(file_ok)
    a._flash_due = flash_due
    a._snap_cycle = 100
    a.cycle = 100 + cycles
    return a


def test_a_stored_record_goes_to_rtc_memory_and_its_age_counts_from_the_snapshot():
    a = _sealed()
    a._stored()
    assert a.ckpt_rtc.writes == [(a.ckpt, 1)] and a.ckpt_file.writes == []
    assert a.ckpt_age_ms == 80 and _ev() == []          # 4 cycles of 20 ms


def test_a_stored_record_age_saturates_at_0xffff():
    a = _sealed(cycles=5000)
    a._stored()
    assert a.ckpt_age_ms == 0xFFFF


def test_a_due_flash_write_goes_with_the_stored_record():
    a = _sealed(flash_due=True)
    a._stored()
    assert a.ckpt_file.writes == [(a.ckpt, 1)] and not a._flash_due and _ev() == []


@pytest.mark.parametrize("rtc_ok,file_ok,ev", [(False, True, [(A.EV_CKPT_WRITE_ERROR, 1)]),
                                               (True, False, [(A.EV_CKPT_WRITE_ERROR, 2)]),
                                               (False, False, [(A.EV_CKPT_WRITE_ERROR, 1),
                                                               (A.EV_CKPT_WRITE_ERROR, 2)])])
def test_a_failed_store_write_is_an_event_naming_the_store(rtc_ok, file_ok, ev):
    a = _sealed(rtc_ok, file_ok, flash_due=True)
    a._stored()
    assert _ev() == ev


# ------------------------------------------------------------ coast_pitch
class _AttCfg:
    def __init__(self, tau, lag, mpr):
        self.att_tau_ms, self.att_lag_ms, self.max_pitch_rate_bau_s = tau, lag, mpr


@pytest.mark.parametrize("args,cfg,rate_hz,expect", [
    # one period, no lag, tau at the period (kb = 2048): the set-point is reached, x16 then /16
    ((0, 0, 10, 1), (20, 0, 3641), 50, 10),
    # ... the rate command capped at 3622 * 16 // 50 = 1159 (1/16 bau): (1159 + 8) >> 4
    ((0, 0, 1000, 1), (20, 0, 3622), 50, 72),
    # tau 500 ms (kb = 81), lag 100 ms (ka = 6553), two periods: p = 126 then 352
    ((0, 0, 1000, 2), (500, 100, 3641), 50, 22),
    # 77 Hz: a 12 ms period, kb = 49: qc = 1600 * 49 >> 11 = 38
    ((0, 0, 100, 1), (500, 0, 3641), 77, 2),
    # tau below the period: kb stays 2048
    ((0, 0, 10, 1), (1, 0, 3641), 50, 10),
    # the error clamp (16383) holds the first period: p = 16383, then 16383 + 16433
    ((0, 0, 2051, 2), (1, 0, 65536), 50, 2051),
])
def test_coast_pitch_by_hand(args, cfg, rate_hz, expect):
    assert A.coast_pitch(*args, _AttCfg(*cfg), rate_hz) == expect


@pytest.mark.parametrize("args,cfg,expect", [
    # 40 periods at 10 Hz against the clamps of the error (+/-0x3FFF) and of
    # the set-point error (0x3FFFF): values of a transcription of the
    # docstring's recurrence (att_tau 1 ms / 21 s, 182 / 3641 bau/s)
    ((-16384, -3000000, -16384, 40), (1, 0, 182), -18955),
    ((-16384, 3000000, -16384, 40), (1, 0, 182), -13813),
    ((-16384, -3000000, 0, 40), (21000, 0, 3641), -16966),
])
def test_coast_pitch_at_its_clamps(args, cfg, expect):
    assert A.coast_pitch(*args, _AttCfg(*cfg), 10) == expect


# ------------------------------------------------------------ restart hint choice
def _hints(a, *hints):
    """An RTC image holding the given hints (written in order: the last two
    occupy the two slots)."""
    ck = a.ckpt
    for h in hints:
        ck.hint(*h)
    return bytes(ck.image)


def _slot(a, blob, k):
    from array import array
    from lander import checkpoint as C
    out = array("i", bytes(24))
    assert C.parse_hint(blob, a.ckpt.n, k, out)
    return list(out)


@pytest.mark.parametrize("order", [0, 1])
def test_the_newer_hint_of_this_restart_count_is_taken(order):
    a = _app()
    hs = [(2, 110, 5, -300, -200, -1000), (2, 105, 7000, 300, 200, 1000)]
    if order:
        hs.reverse()
    blob = _hints(a, *hs)
    assert a._pick_hint(blob, 2, 100) is True
    assert list(a._hint) == [2, 110, 5, -300, -200, -1000]


def test_a_hint_of_another_restart_count_is_not_taken():
    a = _app()
    blob = _hints(a, (1, 110, 5, 1, 2, 3), (2, 105, 6, 4, 5, 6))
    assert a._pick_hint(blob, 2, 100) is True and list(a._hint) == [2, 105, 6, 4, 5, 6]
    assert a._pick_hint(blob, 3, 100) is False


@pytest.mark.parametrize("cycle,ok", [(99, False), (100, True), (1100, True), (1101, False)])
def test_a_hint_is_believed_from_its_record_cycle_to_1000_cycles_after(cycle, ok):
    a = _app()
    blob = _hints(a, (0, cycle, 1, 2, 3, 4))
    assert a._pick_hint(blob, 0, 100) is ok
    assert list(a._hint) == ([0, cycle, 1, 2, 3, 4] if ok else [0] * 6)


def test_a_hint_at_cycle_0_is_taken():
    a = _app()
    assert a._pick_hint(_hints(a, (0, 0, 1, 2, 3, 4)), 0, 0) is True


def test_of_two_hints_of_the_same_cycle_the_first_slot_is_kept():
    a = _app()
    blob = _hints(a, (0, 50, 1, 1, 1, 1), (0, 50, 2, 2, 2, 2))
    assert a._pick_hint(blob, 0, 40) is True
    assert list(a._hint) == _slot(a, blob, 0)


def test_no_hint_no_pick():
    a = _app()
    assert a._pick_hint(b"", 0, 0) is False and list(a._hint) == [0] * 6


# ------------------------------------------------------------ the board's schedule
class _Clock:
    """ticks_us that advances `per_call` us at every reading."""

    def __init__(self, per_call, t0=1000000):
        self.t = t0
        self.per_call = per_call
        self.calls = 0

    def __call__(self):
        self.calls += 1
        self.t += self.per_call
        return self.t


def _scheduled(monkeypatch, per_call, cycles, **cfg):
    b = _Board()
    b.wdt = _Wdt()
    a = _powered(b, **cfg)
    a._telemetry = lambda: None                # keep the executive's events in the ring
    clock = _Clock(per_call)
    monkeypatch.setattr(A, "ticks_us", clock)
    a.run_forever(cycles)
    return a, b, clock


def test_run_forever_runs_the_cycles_asked_on_time_without_overruns(monkeypatch):
    # 1 us per clock reading: a cycle takes ~10 us of its 20 ms
    a, b, clock = _scheduled(monkeypatch, 1, 7)
    assert (a.cycle, a.overruns, a.degraded, a.rate_hz) == (7, 0, False, 50)
    assert b.wdt.starts == 1 and b.wdt.feeds == 7
    assert A.EV_OVERRUN not in [c for c, _ in _ev()]
    # the loop waited for each deadline: 7 periods from the first reading
    assert clock.t >= 1000000 + 7 * 20000


def test_run_forever_counts_each_late_cycle_and_posts_how_late(monkeypatch):
    # 3 ms per reading: each cycle (~11 readings) ends after its deadline
    a, b, clock = _scheduled(monkeypatch, 3000, 3)
    assert a.cycle == 3 and a.overruns == 3 and a.overrun_window == 3
    lates = [arg for c, arg in _ev() if c == A.EV_OVERRUN]
    assert len(lates) == 3 and all(x > 0 for x in lates)


def test_run_forever_halves_the_rate_after_more_than_10_overruns_in_50_cycles(monkeypatch):
    a, b, clock = _scheduled(monkeypatch, 3000, 50)
    assert a.overruns == 50 and a.overrun_window == 0
    assert (a.degraded, a.rate_hz) == (True, 25)
    assert (A.EV_RATE_DEGRADED, 25) in _ev()


@pytest.mark.parametrize("late,degraded", [(10, False), (11, True)])
def test_run_forever_degrades_only_beyond_10_late_cycles_of_50(monkeypatch, late, degraded):
    a = _powered()
    a._telemetry = lambda: None
    clock = _Clock(1)
    monkeypatch.setattr(A, "ticks_us", clock)
    step, n = a.step, [0]

    def paced(now):
        clock.per_call = 3000 if n[0] < late else 100    # the first `late` cycles overrun
        n[0] += 1
        step(now)
    a.step = paced
    a.run_forever(50)
    assert a.overruns == late and a.degraded is degraded and a.overrun_window == 0


def test_run_forever_contains_an_exception_of_the_cycle(monkeypatch):
    b = _Board()
    a = _powered(b)

    def boom(now):
        raise ValueError
    a.step = boom
    monkeypatch.setattr(A, "ticks_us", _Clock(1))
    a.run_forever(2)
    assert a.stage_faults == 2 and list(a.stage_fault_count) == [2, 0, 0, 0, 0, 0]


# ------------------------------------------------------------ stage times on a scripted clock
class _Script:
    """ticks_us giving the listed readings in turn, then one microsecond more
    at each reading after the last."""

    def __init__(self, values):
        self.values = list(values)
        self.i = 0

    def __call__(self):
        i = self.i
        self.i += 1
        if i < len(self.values):
            return self.values[i]
        return self.values[-1] + i - len(self.values) + 1


def _quiet(a):
    """Every stage a stand-in that reads no clock (the step's own eight
    readings are then the clock's first eight)."""
    a._uplink = lambda: None
    a._sample = lambda: None
    a._estimate = lambda dt: None
    a.guid.update = lambda nav, td: None
    a._control = lambda: None
    a._telemetry = lambda: None
    a._checkpoint = lambda now=False: None


# the readings of one cycle: start, then the end of uplink, sample, estimate,
# guide, control, telemetry, and the cycle's end; the stages take 1, 2, 4, 8,
# 16, 32 us and the cycle 127 us
_READINGS = [1000, 1001, 1003, 1007, 1015, 1031, 1063, 1127]


def test_each_stage_time_goes_to_its_own_slot_and_the_cycle_time_is_the_whole(monkeypatch):
    a = _powered()
    _quiet(a)
    monkeypatch.setattr(A, "ticks_us", _Script(_READINGS))
    a.step(0)
    # slots: the bit numbers of ST_SAMPLE .. ST_TELEMETRY, then ST_UPLINK (5)
    assert list(a.stage_us) == [2, 4, 8, 16, 32, 1] == list(a.stage_max_us)
    assert (a.cycle_us, a.cycle_max_us) == (127, 127)


def test_each_stage_keeps_its_own_maximum(monkeypatch):
    a = _powered()
    _quiet(a)
    monkeypatch.setattr(A, "ticks_us", _Script(_READINGS))
    a.step(0)
    # uplink 3, sample 1, estimate 5, guide 9, control 20, telemetry 20; cycle 60:
    # each time against its own stage's maximum (control's 20 above its 16 but
    # below telemetry's 32; telemetry's 20 below its 32 but above uplink's 3)
    monkeypatch.setattr(A, "ticks_us", _Script([2000, 2003, 2004, 2009, 2018, 2038, 2058, 2060]))
    a.step(20000)
    assert list(a.stage_us) == [1, 5, 9, 20, 20, 3]
    assert list(a.stage_max_us) == [2, 5, 9, 20, 32, 3]
    assert (a.cycle_us, a.cycle_max_us) == (60, 127)


def test_the_first_command_time_is_measured_from_boot_to_the_end_of_control(monkeypatch):
    a = _powered()
    _quiet(a)
    a.boot_us = 31
    monkeypatch.setattr(A, "ticks_us", _Script(_READINGS))
    a.step(0)
    assert a.first_command_us == 1031 - 31


def test_a_first_command_at_the_boot_instant_is_kept(monkeypatch):
    a = _powered()
    _quiet(a)
    a.boot_us = 1031                           # the reading at the end of control
    monkeypatch.setattr(A, "ticks_us", _Script(_READINGS))
    a.step(0)
    assert a.first_command_us == 0
    monkeypatch.setattr(A, "ticks_us", _Script([t + 20000 for t in _READINGS]))
    a.step(20000)
    assert a.first_command_us == 0


@pytest.mark.parametrize("stage,name", [(A.ST_SAMPLE, "_sample"), (A.ST_CONTROL, "_control"),
                                        (A.ST_TELEMETRY, "_telemetry")])
def test_a_raising_stage_is_timed_like_any_other(monkeypatch, stage, name):
    # the stage raises at once: its time is still its slot's, from the same readings
    a = _powered()
    _quiet(a)

    def boom(*args):
        raise ValueError
    setattr(a, name, boom)
    monkeypatch.setattr(A, "ticks_us", _Script(_READINGS))
    a.step(0)
    assert list(a.stage_us) == [2, 4, 8, 16, 32, 1] == list(a.stage_max_us)
    assert (a.cycle_us, a.report_mask, a.stage_faults) == (127, A.ST_ALL & ~stage, 1)


def test_the_commands_go_out_after_five_readings_and_the_housekeeping_after_them(monkeypatch):
    # step reads the clock at the cycle's start and after uplink, sample,
    # estimate and guide before control writes the commands; telemetry, the
    # modes, the checkpoint and the cycle's statistics follow the end-of-control
    # reading
    a = _powered()
    _quiet(a)
    clock = _Script(_READINGS)
    seen = []
    a._control = lambda: seen.append(("control", clock.i))
    a._telemetry = lambda: seen.append(("telemetry", clock.i))
    a._checkpoint = lambda now=False: seen.append(("checkpoint", clock.i, list(a.stage_us)))
    monkeypatch.setattr(A, "ticks_us", clock)
    a.step(0)
    # the stage times are made before the modes and the checkpoint run
    assert seen == [("control", 5), ("telemetry", 6), ("checkpoint", 7, [2, 4, 8, 16, 32, 1])]
    assert clock.i == 8 and a.cycle == 1 and a.cycle_us == 127


def test_lander_perf_counts_the_after_command_work_as_its_own_stage():
    # the housekeeping is not on the control path (CONTROL_STAGES); telemetry
    # and the checkpoint inside it keep their own figures
    from host_tools import perf_budget as pb
    hooks = pb.app_stage_hooks()
    assert ("", "_housekeeping", "housekeeping", 2) in hooks
    assert {("", "_telemetry", "telemetry", 0), ("", "_checkpoint", "checkpoint", 0)} <= set(hooks)
    assert "housekeeping" not in pb.CONTROL_STAGES


def test_guidance_is_given_navigation_and_the_touchdown_flag():
    a = _powered()
    got = []
    a.guid.update = lambda nav, td: got.append((nav, td))
    a.step(0)
    a.touchdown = True
    a.step(20000)
    assert got == [(a.nav, False), (a.nav, True)]


def test_the_watchdog_is_fed_at_every_cycle_where_all_reported():
    b = _Board()
    b.wdt = _Wdt()
    a = _powered(b)
    for i in range(3):
        a.step(i * 20000)
    assert (b.wdt.feeds, a.watchdog_feeds) == (3, 3)


def test_a_2038_us_step_in_q20_seconds():
    # the first dt where 50936 / 2^20 and 50937 / 2^20 floor apart
    a = _powered()
    assert _dts(a, [1000000, 1002038]) == [20971, 2038 * 1099512 >> 20] == [20971, 2136]


# ------------------------------------------------------------ the record's contents
@pytest.mark.parametrize("td,cut,mask,flags", [(False, False, 0xFF, 0), (True, False, 0xFF, 1),
                                               (False, True, 0xFF, 2),
                                               (True, True, 0xFA, 3 | (0x05 << 8))])
def test_the_records_flags_word(td, cut, mask, flags):
    a = _powered()
    a.touchdown, a.engine_cut = td, cut
    a._apply_sensor_mask(mask)
    a._checkpoint(True)
    assert a.ckpt.words[A._CK_FLAGS] == flags


def test_the_records_app_words():
    a = _powered()
    a.cmd.set_counter(0x1234, 0xABCD)
    a.last_us = 777
    a.cycle = (1 << 30) + 9                    # the record keeps the cycle's low 30 bits
    a.restarts = 2
    a._checkpoint(True)
    assert list(a.ckpt.words[:8]) == [POWERED, 777, 0x1234, 0xABCD, 0, 9, 2, a.cfg.crc]


def _rtc_app():
    from tests.app_fakes import FakeRtc
    b = _Board()
    b.rtc = FakeRtc()
    return _powered(b)


def test_the_hint_written_every_cycle_holds_the_cycles_low_30_bits():
    from array import array

    from lander import checkpoint as C
    a = _rtc_app()
    a.restarts, a.cycle, a.last_us = 2, (1 << 30) + 9, 777
    a._checkpoint()
    out = array("i", bytes(24))
    assert C.parse_hint(bytes(a.ckpt.image), a.ckpt.n, a.ckpt._hint_k, out)
    assert list(out) == [2, 9, 777, a.ctrl.pitch_cmd_bau, a.nav.pitch_bau, a.nav.pitch_rate_urad_s]


def test_the_rtc_image_is_written_every_cycle_naming_the_last_sealed_slot():
    a = _rtc_app()
    a.ckpt.seal()                              # a record in slot 1
    a.ckpt_rtc = _Store()
    for _ in range(8):
        a._checkpoint()
        a.cycle += 1
    # cycles 0-3 the hint, 4 the snapshot (slot 0 begun), 5-6 sealing, 7 sealed: slot 0,
    # 4 cycles after its snapshot
    assert [s for _, s in a.ckpt_rtc.writes] == [1] * 7 + [0]
    assert a.ckpt.seq == 2 and a.ckpt_age_ms == 80


def test_the_records_age_counts_a_period_a_cycle_and_saturates():
    a = _powered()                             # no RTC memory: no record in 11 cycles
    assert a.ckpt_age_ms == 0xFFFF
    a._checkpoint()
    assert a.ckpt_age_ms == 0xFFFF
    a.ckpt_age_ms = 65514
    a._checkpoint()
    assert a.ckpt_age_ms == 65534
    a._checkpoint()
    assert a.ckpt_age_ms == 0xFFFF
    a.ckpt_age_ms = 40
    a._checkpoint()
    assert a.ckpt_age_ms == 60


def test_a_commanded_record_seals_the_one_begun_then_stores_its_own_on_flash_too():
    a = _rtc_app()
    a.ckpt_rtc = _Store()
    a.ckpt_file = _Store()
    for _ in range(5):
        a._checkpoint()                        # the 5th begins a record (slot 1)
    assert a.ckpt.sealing and a.ckpt.sealed == 0
    a.cycle = 7
    a._checkpoint(True)
    assert (a.ckpt.sealed, a.ckpt.seq, a.ckpt.sealing, a._flash_due) == (2, 2, False, False)
    # 4 hints, the snapshot's hint, then the record begun sealed (slot 1) and the new one (slot 0)
    assert [s for _, s in a.ckpt_rtc.writes] == [0] * 5 + [1, 0]
    assert [s for _, s in a.ckpt_file.writes] == [0]
    assert a.ckpt_age_ms == 20


# ------------------------------------------------------------ run_forever on a scripted clock
def _loop(monkeypatch, readings, cycles):
    """run_forever with a step that reads no clock (it records its `now`)."""
    a = _powered()
    nows = []
    a.step = nows.append
    monkeypatch.setattr(A, "ticks_us", _Script(readings))
    a.run_forever(cycles)
    return a, nows


@pytest.mark.parametrize("end,overrun", [(20000, False), (20001, True)])
def test_a_cycle_ending_at_its_deadline_is_on_time_one_us_after_is_late(monkeypatch, end, overrun):
    # readings: the schedule's start 0, the cycle's now 0, its end
    a, _ = _loop(monkeypatch, [0, 0, end, 20002], 1)
    assert a.overruns == (1 if overrun else 0)
    assert [e for e in _ev() if e[0] == A.EV_OVERRUN] == ([(A.EV_OVERRUN, 1)] if overrun else [])


def test_the_loop_waits_until_the_deadline_is_reached(monkeypatch):
    # cycle 1 ends at 5; the wait reads 19999 (1 us early), 20000 (due): the
    # second cycle starts at the next reading
    a, nows = _loop(monkeypatch, [0, 0, 5, 19999, 20000, 20001, 20002, 40001], 2)
    assert nows == [0, 20001] and a.overruns == 0


def test_a_raising_cycle_is_a_fault_of_stage_0(monkeypatch):
    a = _powered()

    def boom(now):
        raise ValueError
    a.step = boom
    monkeypatch.setattr(A, "ticks_us", _Clock(1))
    a.run_forever(1)
    assert (A.EV_STAGE_FAULT, 0) in _ev()


def test_the_overrun_window_restarts_after_each_50_cycles(monkeypatch):
    # every cycle late (30 ms a reading): windows close at cycles 50 and 100
    a = _powered()
    a.step = lambda now: None
    monkeypatch.setattr(A, "ticks_us", _Clock(30000))
    a.run_forever(100)
    assert (a.overruns, a.overrun_window, a.rate_hz) == (100, 0, 12)
