"""`lander demo`: the main job, as far as the product has grown.

`make demo` (= `lander demo`) flies the crater-rim museum scenario with the
firmware on the virtual board (the MicroPython unix port, deployed with
`lander deploy` and driven over the HIL link by the simulator on the host),
decodes the downlink on the ground side where the decoder exists, prints a
touchdown report (outcome, speeds, miss, propellant against the fuel-optimal
reference, telemetry delivered) and writes the plot, the downlink bytes and
the report under out/demo/.

`lander demo --vertical` is the stage-1 demo: a 1-D vertical descent from
500 m over flat lunar ground, flown by the firmware loop in-process under
CPython on the sim board's emulators (fly_vertical, also recorded for the
replay tests and `lander perf`).
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


CRATER_RIM = "museum/01_crater_rim.toml"


def _ground_decode(downlink: bytes) -> dict:
    """The ground side's decoder (host_tools.ground.decode) over the bytes the
    radio sent: frames good / corrected / bad and packets recovered."""
    from host_tools.ground import decode as ground_decode

    try:
        st = ground_decode.decode(downlink).stats
    except Exception as exc:            # report, do not hide, a decoder failure
        return {"error": "%s: %s" % (type(exc).__name__, exc)}
    bad = st.get("frames_bad_rs", 0) + st.get("frames_bad_crc", 0) + st.get("frames_bad_header", 0)
    return {"frames_ok": st.get("frames_ok", 0), "frames_corrected": st.get("frames_corrected", 0),
            "frames_bad": bad, "frames_truncated": st.get("truncated", 0), "packets": st.get("packets", 0), "packets_bad": st.get("packets_bad", 0)}


def crater_rim_demo(port: str = "virtual", out_dir: str = "out/demo", optimal: bool = True,
                    max_time_s=None, log=print) -> dict:
    """The main job: the crater-rim museum scenario flown by the firmware on
    the virtual board (MicroPython unix port, over the HIL link), downlink
    decoded on the ground, touchdown report, plots."""
    import os
    import time

    import host_tools
    from host_tools.board import deploy, hil, virtual

    path = os.path.join(host_tools.SCENARIOS_DIR, CRATER_RIM)
    os.makedirs(out_dir, exist_ok=True)
    t0 = time.monotonic()
    if port == "virtual":
        files = deploy.build("sim-virtual", os.path.join("build", "deploy", "sim"), None)
        with virtual.VirtualBoard(virtual.DEFAULT_ROOT) as vb:
            deploy.deploy_files(vb.port, files, log=lambda m: log("  " + m))
    fl = hil.fly(path, port, max_time_s=max_time_s, record=True)
    wall = time.monotonic() - t0
    s = fl["summary"]
    result = fl["result"]
    report = {"scenario": s.get("name"), "board": "virtual board (MicroPython unix port) over HIL"
              if port == "virtual" else "HIL board side in-process (CPython)",
              "outcome": s.get("outcome"), "passed": s.get("passed"), "touchdown": s.get("touchdown"),
              "propellant_used_kg": s.get("propellant_used_kg"), "estimate": s.get("estimate"),
              "telemetry": s.get("telemetry"), "hil": s.get("hil"), "fail_reasons": s.get("fail_reasons"),
              "wall_s": round(wall, 1)}
    if optimal:
        from host_tools.sim import optimal as optimal_mod

        opt = optimal_mod.solve(fl["scenario"])
        report["propellant_optimal_kg"] = opt.get("propellant_kg")
    downlink = getattr(result, "downlink", b"") or b""
    report["ground"] = _ground_decode(downlink)
    files_out = []
    p = os.path.join(out_dir, "crater_rim_downlink.bin")
    with open(p, "wb") as fh:
        fh.write(downlink)
    files_out.append(p)
    try:
        from host_tools.sim import plots

        p = os.path.join(out_dir, "crater_rim.png")
        plots.plot_run(result, p)
        files_out.append(p)
    except Exception as exc:
        report["plot_error"] = "%s: %s" % (type(exc).__name__, exc)
    p = os.path.join(out_dir, "crater_rim_report.json")
    with open(p, "w") as fh:
        json.dump(report, fh, indent=2, default=str)
    files_out.append(p)
    report["files"] = files_out
    return report


def report_text(r: dict) -> str:
    td = r.get("touchdown") or {}
    tel = r.get("telemetry") or {}
    h = r.get("hil") or {}
    lines = ["touchdown report: %s, firmware on the %s" % (r["scenario"], r["board"]),
             "  outcome            %s%s" % (r["outcome"], "" if r.get("passed") else "  [FAIL]")]
    if td.get("t_s") is not None:
        lines.append("  touchdown          t %.1f s  vz %.2f m/s  vx %.2f m/s  tilt %.1f deg  miss %.1f m"
                     % (td["t_s"], td["vz_mps"], td["vx_mps"], td.get("tilt_deg") or 0.0, td["miss_m"]))
    prop = "  propellant         %.1f kg used" % (r.get("propellant_used_kg") or 0.0)
    if r.get("propellant_optimal_kg"):
        prop += " (fuel-optimal reference %.1f kg, ratio %.2f)" % (
            r["propellant_optimal_kg"], r["propellant_used_kg"] / r["propellant_optimal_kg"])
    lines.append(prop)
    est = r.get("estimate") or {}
    if est.get("longest_divergence_s") is not None:
        lines.append("  navigation         longest divergence %.1f s, max error last 1000 m %s m"
                     % (est["longest_divergence_s"], "%.1f" % est["max_error_last_1000m_m"]
                        if est.get("max_error_last_1000m_m") is not None else "n/a"))
    lines.append("  telemetry          %s frames sent, %s received, critical delivered %s"
                 % (tel.get("frames_sent"), tel.get("frames_received"), tel.get("critical_delivered_ratio")))
    g = r.get("ground") or {}
    lines.append("  ground decode      %s" % (g.get("note") or g.get("error") or
                                               ", ".join("%s %s" % kv for kv in g.items())))
    lines.append("  HIL link           %s cycles, %s frames each way, %s CRC errors, %s extra RPC exchanges, "
                 "command stream sha256 %s..." % (h.get("cycles"), h.get("frames_out"), h.get("crc_errors"),
                                                  h.get("rpc_exchanges"), str(h.get("command_stream_sha256"))[:16]))
    for reason in r.get("fail_reasons") or []:
        lines.append("  fail: %s" % reason)
    lines.append("  wall time          %.1f s" % r["wall_s"])
    return "\n".join(lines)


def add_arguments(parser):
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--vertical", action="store_true",
                        help="the stage-1 demo instead: a 1-D descent in-process under CPython")
    parser.add_argument("--altitude", type=float, default=500.0, help="start altitude, m (--vertical)")
    parser.add_argument("--inprocess", action="store_true",
                        help="run the board side of the HIL link under CPython instead of the virtual board")
    parser.add_argument("--no-optimal", action="store_true", help="skip the fuel-optimal reference")
    parser.add_argument("--out", default="out/demo", help="folder for the plot, downlink and report")


def run(args) -> int:
    if args.vertical:
        report = fly_vertical(altitude_m=args.altitude)
        if args.json:
            print(json.dumps(asdict(report), indent=2))
        else:
            print(report.text())
        return 0 if report.outcome == "landed" and report.engine_cut else 1
    import sys

    r = crater_rim_demo("inprocess" if args.inprocess else "virtual", args.out, not args.no_optimal)
    if args.json:
        print(json.dumps(r, indent=2, default=str))
    else:
        print(report_text(r))
    for p in r["files"]:
        print("wrote %s" % p, file=sys.stderr)
    return 0 if r.get("passed") else 1
