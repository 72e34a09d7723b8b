"""`lander bench --port PORT`: real sensors on the bench, live.

The board (with its deployed board.py) builds its parts and streams samples
of the IMU(s) and the altimeter: one line `S {json}` per sample, printed by a
small program sent through the raw REPL (`mpremote exec`). The host shows
them and checks plausibility with the board at rest and level, z up:

- gravity: |specific force| within 0.3 m/s^2 of 9.807 (Earth bench);
- gyro at rest: |mean rate| below 0.02 rad/s on each axis;
- range: with --distance-m (a tape-measure distance), the altimeter's mean
  within max(0.05 m, 3 %) of it.

--calibrate stores the IMU biases (mean gyro rate; mean specific force less
(0, 0, g)) in the board's config.json under "calibration" (read, updated and
written back on the board), where `lander deploy` keeps it.
`--port sim` runs the same checks on the sim board's emulators in-process
(the board at rest on Earth, calibration written to --config-file).
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys

G_MM_S2 = 9807

_SAMPLER = """
import board, json, time
b = board.make_board()
print('PARTS', json.dumps([p for p, ok in b.summary() if ok]))
for _i in range(%(n)d):
    s = {}
    if b.imu is not None and b.imu.read() == 0:
        s['imu_a'] = list(b.imu.accel_mm_s2)
        s['imu_g'] = list(b.imu.gyro_urad_s)
    if b.imu2 is not None and b.imu2.read() == 0:
        s['imu2_a'] = list(b.imu2.accel_mm_s2)
        s['imu2_g'] = list(b.imu2.gyro_urad_s)
    if b.altimeter is not None and b.altimeter.read() == 0:
        s['range'] = b.altimeter.range_mm
    print('S', json.dumps(s))
    time.sleep_ms(%(period_ms)d)
"""

_STORE = """
import json
try:
    with open('config.json') as f:
        c = json.load(f)
except (OSError, ValueError):
    c = {'version': 1, 'params': {}}
c.setdefault('calibration', {})['imu'] = %(cal)r
with open('config.json', 'w') as f:
    json.dump(c, f)
print('STORED')
"""


def parse_samples(lines) -> tuple[list, list]:
    parts, samples = [], []
    for line in lines:
        if line.startswith("PARTS "):
            parts = json.loads(line[6:])
        elif line.startswith("S "):
            samples.append(json.loads(line[2:]))
    return parts, samples


def _mean3(vs):
    return [statistics.fmean(v[i] for v in vs) for i in range(3)]


def check(samples: list, distance_m: float | None = None) -> dict:
    """Plausibility verdicts and the measured means (integers in firmware units)."""
    out: dict = {"samples": len(samples), "checks": {}}
    for key in ("imu", "imu2"):
        acc = [s[key + "_a"] for s in samples if key + "_a" in s]
        gyr = [s[key + "_g"] for s in samples if key + "_g" in s]
        if not acc:
            continue
        a = _mean3(acc)
        g = _mean3(gyr)
        mag = sum(x * x for x in a) ** 0.5
        out[key] = {"accel_mean_mm_s2": [round(x) for x in a], "gyro_mean_urad_s": [round(x) for x in g],
                    "gravity_mm_s2": round(mag)}
        out["checks"][key + "_gravity"] = abs(mag - G_MM_S2) <= 300
        out["checks"][key + "_gyro_at_rest"] = all(abs(x) < 20000 for x in g)
    ranges = [s["range"] for s in samples if "range" in s]
    if ranges:
        r = statistics.fmean(ranges)
        out["range_mean_mm"] = round(r)
        if distance_m is not None:
            tol = max(50.0, 0.03 * distance_m * 1000)
            out["checks"]["range_vs_tape"] = abs(r - distance_m * 1000) <= tol
    return out


def calibration(result: dict, key: str = "imu") -> dict:
    m = result[key]
    a = m["accel_mean_mm_s2"]
    return {"gyro_bias_urad_s": m["gyro_mean_urad_s"], "accel_bias_mm_s2": [a[0], a[1], a[2] - G_MM_S2],
            "samples": result["samples"]}


def sample_board(port: str, n: int, period_ms: int) -> list[str]:
    from host_tools.board.deploy import mpremote_cmd

    proc = subprocess.run(mpremote_cmd() + ["connect", port, "resume", "exec",
                                            _SAMPLER % {"n": n, "period_ms": period_ms}],
                          capture_output=True, text=True, timeout=60 + n * period_ms / 1000.0)
    if proc.returncode != 0:
        raise RuntimeError("mpremote exited %d: %s" % (proc.returncode, (proc.stderr or proc.stdout)[-500:]))
    return proc.stdout.splitlines()


def sample_sim(n: int, seed: int = 0) -> list[str]:
    """The sim board in-process, its parts at rest on Earth (gravity along +z)."""
    from host_tools.emu.bench import load_board, sim_bench

    bench = sim_bench(seed)
    imu = bench.parts.get("imu")
    if imu is not None:
        imu.accel_m_s2 = [0.0, 0.0, G_MM_S2 / 1000.0]
    for name in ("imu2_acc",):
        p = bench.parts.get(name)
        if p is not None and hasattr(p, "accel_m_s2"):
            p.accel_m_s2 = [0.0, 0.0, G_MM_S2 / 1000.0]
    alt = bench.parts.get("altimeter")
    if alt is not None:
        alt.range_m = 1.5
    b = load_board("sim", bench)
    lines = ["PARTS " + json.dumps([p for p, ok in b.summary() if ok])]
    for _ in range(n):
        bench.advance(0.02)
        s: dict = {}
        if b.imu is not None and b.imu.read() == 0:
            s["imu_a"], s["imu_g"] = list(b.imu.accel_mm_s2), list(b.imu.gyro_urad_s)
        if b.altimeter is not None and b.altimeter.read() == 0:
            s["range"] = b.altimeter.range_mm
        lines.append("S " + json.dumps(s))
    return lines


def store_board(port: str, cal: dict) -> None:
    from host_tools.board.deploy import mpremote_cmd

    proc = subprocess.run(mpremote_cmd() + ["connect", port, "resume", "exec", _STORE % {"cal": cal}],
                          capture_output=True, text=True, timeout=60)
    if proc.returncode != 0 or "STORED" not in proc.stdout:
        raise RuntimeError("storing the calibration failed: %s" % (proc.stderr or proc.stdout)[-500:])


def store_file(path: str, cal: dict) -> None:
    try:
        with open(path) as fh:
            c = json.load(fh)
    except (OSError, ValueError):
        c = {"version": 1, "params": {}}
    c.setdefault("calibration", {})["imu"] = cal
    with open(path, "w") as fh:
        json.dump(c, fh, indent=1, sort_keys=True)


def add_arguments(parser):
    parser.add_argument("--port", required=True, help="serial device, socket://..., or 'sim' (in-process)")
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--period-ms", type=int, default=20)
    parser.add_argument("--distance-m", type=float, default=None, help="tape-measure distance to the target")
    parser.add_argument("--calibrate", action="store_true", help="store IMU biases in the board's config.json")
    parser.add_argument("--config-file", default=os.path.join("build", "bench-config.json"),
                        help="where --port sim stores the calibration")
    parser.add_argument("--json", action="store_true")


def run(args) -> int:
    from host_tools.board.deploy import check_port, UsageError

    if args.samples < 2 or args.samples > 100000:
        print("lander bench: --samples must be 2..100000", file=sys.stderr)
        return 2
    try:
        if args.port != "sim":
            check_port(args.port)
    except UsageError as exc:
        print("lander bench: %s" % exc, file=sys.stderr)
        return 2
    try:
        lines = sample_sim(args.samples) if args.port == "sim" else \
            sample_board(args.port, args.samples, args.period_ms)
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        print("lander bench: %s" % exc, file=sys.stderr)
        return 1
    parts, samples = parse_samples(lines)
    result = check(samples, args.distance_m)
    result["parts"] = parts
    if args.calibrate and "imu" in result:
        cal = calibration(result)
        if args.port == "sim":
            os.makedirs(os.path.dirname(args.config_file) or ".", exist_ok=True)
            store_file(args.config_file, cal)
            print("wrote %s" % args.config_file, file=sys.stderr)
        else:
            store_board(args.port, cal)
            print("stored the IMU calibration in config.json on the board", file=sys.stderr)
        result["calibration"] = cal
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for k in ("imu", "imu2"):
            if k in result:
                print("%-5s accel %s mm/s^2 (|g| %d), gyro %s urad/s" % (
                    k, result[k]["accel_mean_mm_s2"], result[k]["gravity_mm_s2"], result[k]["gyro_mean_urad_s"]))
        if "range_mean_mm" in result:
            print("range %d mm" % result["range_mean_mm"])
        for name, ok in result["checks"].items():
            print("  %-20s %s" % (name, "ok" if ok else "IMPLAUSIBLE"))
    return 0 if all(result["checks"].values()) and result["checks"] else 1
