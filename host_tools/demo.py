"""`lander demo`: the main job, as far as the product has grown.

Stage 1 (walking skeleton): a 1-D vertical descent from 500 m over flat
lunar ground, flown by the real firmware loop (lander.app.App) in-process
under CPython, on the embedded default board (boards/sim) whose parts are
register-level emulators; the firmware sees only bytes on its buses. Prints a
touchdown report. Later stages fly the crater-rim scenario on the virtual board.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, asdict

G0 = 9.80665
POST_TOUCHDOWN_CYCLES = 25   # cycles flown on the ground after touchdown


@dataclass
class VerticalVehicle:
    dry_mass_kg: float = 340.0
    propellant_kg: float = 80.0
    max_thrust_n: float = 3000.0
    min_throttle: float = 0.2
    isp_s: float = 315.0
    engine_lag_s: float = 0.15


@dataclass
class TouchdownReport:
    outcome: str
    time_s: float
    vz_mps: float
    propellant_used_kg: float
    max_alt_error_m: float
    cycles: int
    stage_faults: int
    events: int
    engine_cut: bool

    def text(self) -> str:
        return "\n".join([
            "touchdown report (1-D descent from 500 m, firmware in the loop, board 'sim')",
            "  outcome            %s" % self.outcome,
            "  time               %.2f s" % self.time_s,
            "  vertical speed     %.2f m/s" % self.vz_mps,
            "  propellant used    %.2f kg" % self.propellant_used_kg,
            "  max altitude error %.2f m (estimate vs truth)" % self.max_alt_error_m,
            "  engine cut         %s" % ("yes, by the firmware after leg contact" if self.engine_cut else "NO"),
            "  cycles             %d (stage faults %d, events %d)" % (self.cycles, self.stage_faults, self.events),
        ])


def fly_vertical(altitude_m=500.0, vz_mps=-10.0, gravity=1.62, vehicle=None, rate_hz=50,
                 substeps=4, max_time_s=300.0, seed=0, recording=None) -> TouchdownReport:
    """Fly the firmware against a vertical-only physics model.

    recording: an optional dict; if given, every bus call of the firmware is
    recorded (lander.replay format) into recording["bytes"], and each cycle's
    outputs into recording["outputs"] (see cycle_outputs), for replay tests.
    """
    from host_tools.emu.bench import load_board, sim_bench
    from lander.app import App
    from lander.config import Config

    v = vehicle or VerticalVehicle()
    bench = sim_bench(seed=seed)
    recorder = None
    if recording is not None:
        from host_tools.emu.record import tap

        recorder = tap(bench)
        recording["outputs"] = []
    board = load_board("sim", bench)
    cfg = Config(rate_hz=rate_hz, gravity_mm_s2=round(gravity * 1000),
                 dry_mass_g=round(v.dry_mass_kg * 1000), propellant_g=round(v.propellant_kg * 1000),
                 max_thrust_mn=round(v.max_thrust_n * 1000),
                 min_throttle_q15=round(v.min_throttle * 32768), isp_s=round(v.isp_s),
                 site_x_mm=0,   # a vertical descent: the site is below the start
                 terminal_alt_mm=10000, terminal_vz_mm_s=2500, touchdown_vz_mm_s=1000)   # short: the replay guest stays short
    app = App(board, cfg)
    app.handover(round(altitude_m * 1000), round(vz_mps * 1000), 0, 0)
    parts = bench.parts
    z, vz = altitude_m, vz_mps
    prop = v.propellant_kg
    thrust = 0.0
    dt = 1.0 / rate_hz
    h = dt / substeps
    t = 0.0
    max_err = 0.0
    outcome = "timeout"
    touchdown_t = max_time_s
    legs = parts["legs"]

    def cycle(on_ground: bool) -> None:
        legs.contacts = [on_ground] * len(legs.contacts)
        bench.advance(t - bench.now_s)
        now_us = int(round(t * 1e6)) & 0x3FFFFFFF
        if recorder is not None:
            recorder.cycle(now_us)
        app.step(now_us)
        if recording is not None:
            recording["outputs"].append(cycle_outputs(app))

    while t < max_time_s:
        mass = v.dry_mass_kg + prop
        # sensors: specific force along the thrust axis, range straight down
        parts["imu"].accel_m_s2 = [0.0, 0.0, thrust / mass]
        parts["imu"].gyro_rad_s = [0.0, 0.0, 0.0]
        parts["altimeter"].range_m = z if z > 0.05 else 0.05
        cycle(z <= 0.0)
        if z < 1000.0:
            max_err = max(max_err, abs(app.nav.altitude_mm / 1000.0 - z))
        engine = parts["engine"]
        cmd = engine.throttle_cmd if engine.armed else 0.0
        if cmd > 0.0:
            cmd = min(1.0, max(cmd, v.min_throttle))
        for _ in range(substeps):
            if prop <= 0.0:
                cmd = 0.0
            thrust += (cmd * v.max_thrust_n - thrust) * (1.0 - math.exp(-h / v.engine_lag_s))
            mass = v.dry_mass_kg + prop
            az = thrust / mass - gravity
            z += vz * h + 0.5 * az * h * h
            vz += az * h
            prop = max(0.0, prop - thrust / (v.isp_s * G0) * h)
            if z <= 0.0:
                break
        t += dt
        if z <= 0.0:
            outcome = "landed" if abs(vz) <= 3.0 else ("hard_landing" if abs(vz) <= 6.0 else "crashed")
            touchdown_t = t
            # on the ground: the legs close; the firmware debounces them,
            # declares touchdown and cuts the engine
            for _ in range(POST_TOUCHDOWN_CYCLES):
                cycle(True)
                if app.engine_cut:
                    break
                t += dt
            break
        if prop <= 0.0 and outcome == "timeout" and vz < -10.0 and z > 50:
            outcome = "fuel_out"
    if recording is not None:
        recording["bytes"] = bytes(recorder.data)
        recording["config"] = cfg
    return TouchdownReport(outcome, touchdown_t, vz, v.propellant_kg - prop, max_err, app.cycle,
                           app.stage_faults, app.events_sent, bool(app.engine_cut and not parts["engine"].armed))


def cycle_outputs(app) -> tuple:
    """What a cycle produced: engine pulse widths and the loop's state."""
    eng = app.board.engine
    return (eng.throttle_ns if eng else 0, eng.gimbal_ns if eng else 0, app.nav.altitude_mm,
            app.nav.vz_mm_s, app.ctrl.throttle_q15, app.guid.phase, app.stage_faults)


def add_arguments(parser):
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--altitude", type=float, default=500.0, help="start altitude, m")


def run(args) -> int:
    report = fly_vertical(altitude_m=args.altitude)
    if args.json:
        print(json.dumps(asdict(report), indent=2))
    else:
        print(report.text())
    return 0 if report.outcome == "landed" and report.engine_cut else 1
