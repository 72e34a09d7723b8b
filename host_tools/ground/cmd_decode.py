"""`lander decode IN [--json|--csv]`: decode a recorded downlink (CADU bytes).

Default: a summary (frames good / corrected / bad, packets per APID, the last
critical state). --json: one JSON object {stats, frames, packets}. --csv: one
row per decoded field (apid, name, seq, time_s, field, value). --out FILE
writes there instead of stdout. Exit 0 when at least one frame decoded, 1 when
none did (nothing intact in the input), 2 on bad input (unreadable file, bad flag).
"""
from __future__ import annotations

import csv
import io
import json
import sys


def add_arguments(parser):
    parser.add_argument("input", metavar="IN", help="downlink bytes (lander sim --downlink/--received)")
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print every frame and packet as JSON")
    fmt.add_argument("--csv", action="store_true", help="print one CSV row per decoded field")
    parser.add_argument("--out", metavar="FILE", help="write to FILE instead of stdout")
    parser.add_argument("--frame-len", type=int, default=128, help="transfer frame octets (default 128)")
    parser.add_argument("--rs-e", type=int, default=8, choices=(0, 8, 16),
                        help="Reed-Solomon E (0: no RS; default 8)")


def _summary(res) -> str:
    st = res.stats
    lines = ["frames %d good (%d corrected, %d symbols), %d bad RS, %d bad CRC, %d lost, %d bits skipped"
             % (st["frames_ok"], st["frames_corrected"], st["symbols_corrected"], st["frames_bad_rs"],
                st["frames_bad_crc"], st["frames_lost"], st["bits_skipped"])]
    link = link_figures(res)
    lines.append("link: %.1f s of packets, %.0f%% of the frame data field used by non-idle packets"
                 % (link["span_s"], 100.0 * link["utilisation"]))
    for name, r in sorted(link["apids"].items()):
        lines.append("  %-13s %5d packets  %6.2f /s  %7.1f octets/s" % (name, r["packets"], r["per_s"],
                                                                         r["octets_per_s"]))
    lines.append("  idle %d, bad %d, frames lost %d" % (st["idle"], st["packets_bad"], st["frames_lost"]))
    crit = [p for p in res.packets if p["name"] == "critical"]
    if crit:
        f = crit[-1]["fields"]
        lines.append("last critical t %.2f s: phase %d altitude %.1f m (raw %.1f m) vz %.2f m/s vx %.2f m/s"
                     % (crit[-1]["time_s"], f["phase"], f["altitude"], f["raw_range"], f["vz"], f["vx"]))
    return "\n".join(lines) + "\n"


def link_figures(res) -> dict:
    """Link utilisation (non-idle packet octets / frame data field octets) and
    per-APID packet and octet rates over the span of packet times."""
    times = [p["time_s"] for p in res.packets]
    span = (max(times) - min(times)) if len(times) > 1 else 0.0
    apids: dict = {}
    used = 0
    for p in res.packets:
        n = len(p["hex"]) // 2
        used += n
        r = apids.setdefault(p["name"], {"packets": 0, "octets": 0})
        r["packets"] += 1
        r["octets"] += n
    for r in apids.values():
        r["per_s"] = r["packets"] / span if span else 0.0
        r["octets_per_s"] = r["octets"] / span if span else 0.0
    capacity = res.stats["frames_ok"] * (res.frame_len - 8) if getattr(res, "frame_len", 0) else 0
    return {"span_s": span, "utilisation": (used / capacity) if capacity else 0.0, "apids": apids}


def run(args) -> int:
    from host_tools.ground import decode as ground

    if args.frame_len < 16 or args.frame_len > 255 - 2 * args.rs_e:
        print("lander decode: --frame-len %d out of range (16..%d)" % (args.frame_len, 255 - 2 * args.rs_e),
              file=sys.stderr)
        return 2
    try:
        with open(args.input, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        print("lander decode: %s: %s" % (args.input, exc.strerror or exc), file=sys.stderr)
        return 2
    res = ground.decode(data, frame_len=args.frame_len, rs_e=args.rs_e)
    if args.json:
        text = json.dumps({"stats": res.stats, "link": link_figures(res), "frames": res.frames,
                           "packets": res.packets}, indent=1)
    elif args.csv:
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["apid", "name", "seq", "time_s", "field", "value"])
        for p in res.packets:
            for k, v in p["fields"].items():
                w.writerow([p["apid"], p["name"], p["seq"], "%.6f" % p["time_s"], k, v])
        text = buf.getvalue()
    else:
        text = _summary(res)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text)
        print("lander decode: wrote %s" % args.out)
    else:
        sys.stdout.write(text)
    return 0 if res.stats["frames_ok"] else 1
