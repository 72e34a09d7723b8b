"""`lander ground --file FILE | --port PORT | --tcp HOST:PORT`: the live display.

Bytes come from a recorded downlink (replayed at its real pace, --speed N for
N times faster, --speed 0 as fast as possible), a serial port (pyserial) or a
TCP socket. They go through the same decoder as `lander decode` (streaming),
and a rich table shows the last critical state: the altitude estimate beside
the raw altimeter and their disagreement, velocities, phase, faults, propellant
margin, with the AGE of every value (how long ago the lander sampled it, on
the ground clock), the last events, the beacon, and link quality (frames good /
corrected / bad / lost, bytes skipped).

Age: the ground keeps the smallest observed (ground receipt time - on-board
sample time) as the clock offset (it includes the minimum link delay), so
age = ground now - offset - sample time; a value that stops updating ages.
`--once` decodes everything first and prints one final table (for logs and tests).
"""
from __future__ import annotations

import socket
import sys
import time

from host_tools.ground import decode as ground
from host_tools.ground.events import name as event_name

PHASES = {0: "coast", 1: "descent", 2: "terminal", 3: "landed"}


class GroundState:
    """What the ground knows: the last value of every field with its sample time."""

    def __init__(self):
        self.dec = ground.StreamDecoder()
        self.last = {}            # packet name -> (packet dict, ground receipt time)
        self.events = []          # (time_s, name, arg)
        self.offset = None        # ground time - on-board time (min over packets)
        self.now = 0.0

    def feed(self, data: bytes, now: float):
        self.now = now
        for p in self.dec.feed(data):
            d = now - p["time_s"]
            if self.offset is None or d < self.offset:
                self.offset = d
            self.last[p["name"]] = (p, now)
            if p["name"] == "event":
                f = p["fields"]
                self.events.append((f["ev_time"], event_name(f["ev_code"]), f["ev_arg"]))
                del self.events[:-8]

    def age(self, name):
        got = self.last.get(name)
        if got is None or self.offset is None:
            return None
        return self.now - self.offset - got[0]["time_s"]

    def table(self):
        from rich.table import Table

        t = Table(title="lander downlink", expand=False)
        t.add_column("value")
        t.add_column("", justify="right")
        t.add_column("age s", justify="right")
        crit = self.last.get("critical")
        age = self.age("critical")
        agetxt = "-" if age is None else "%.1f" % age
        if crit is not None:
            f = crit[0]["fields"]
            rows = [
                ("phase", PHASES.get(f["phase"], str(f["phase"]))),
                ("altitude (estimate)", "%.1f m" % f["altitude"]),
                ("altimeter (raw slant)", "%.1f m" % f["raw_range"]),
                ("estimate - raw", "%.1f m" % (f["altitude"] - f["raw_range"])),
                ("innovation / gate", "%.1f m / %d" % (f["alt_innov"], f["alt_gate"])),
                ("altimeter age on board", "%.2f s" % f["alt_age"]),
                ("terrain offset", "%.1f m" % f["terrain"]),
                ("vz / vx", "%.2f / %.2f m/s" % (f["vz"], f["vx"])),
                ("throttle / pitch cmd", "%.2f / %d bau" % (f["throttle"] / 32768.0, f["pitch_cmd"])),
                ("propellant margin", "%.1f kg" % f["propellant_margin"]),
                ("fault flags", "0x%04X" % f["fault_flags"]),
            ]
            for name, val in rows:
                t.add_row(name, val, agetxt)
        else:
            t.add_row("critical state", "none yet", "-")
        hk = self.last.get("housekeeping")
        if hk is not None:
            f = hk[0]["fields"]
            a = self.age("housekeeping")
            t.add_row("battery / overruns / stage faults",
                      "%.2f V / %d / %d" % (f["battery"], f["overruns"], f["stage_faults"]), "%.1f" % a)
            x = ground.executive(f)
            ck = "-" if x.get("ckpt_age") is None else "%.2f s" % x["ckpt_age"]
            t.add_row("mode / reset cause / restarts / build",
                      "%s / %d / %d / 0x%04X" % (x["mode"], x["reset_cause"], x["restarts"], x["build_id"]),
                      "%.1f" % a)
            t.add_row("commands ok / refused (last why) / counter",
                      "%d / %d (%s) / %d" % (x["tc_accepted"], x["tc_rejected"],
                                             x["tc_last_reason"] or "-", x["tc_counter"]), "%.1f" % a)
            t.add_row("checkpoint seq / age", "%d / %s" % (x["ckpt_seq"], ck), "%.1f" % a)
        bc = self.last.get("beacon")
        if bc is not None:
            f = bc[0]["fields"]
            t.add_row("beacon: phase / pitch / last event",
                      "%s / %d / %s" % (PHASES.get(f["phase"], f["phase"]), f["pitch"],
                                        event_name(f["last_fault"])), "%.1f" % self.age("beacon"))
        bb = self.last.get("blackbox")
        if bb is not None:
            t.add_row("black box records received", str(self.dec.counts.get("blackbox", 0)),
                      "%.1f" % self.age("blackbox"))
        st = self.dec.stats
        t.add_row("link: frames good / corrected / bad / lost",
                  "%d / %d / %d / %d" % (st["frames_ok"], st["frames_corrected"],
                                         st["frames_bad_rs"] + st["frames_bad_crc"], st["frames_lost"]), "")
        for ev in self.events[-5:]:
            t.add_row("event @ %.1f s" % ev[0], "%s (%d)" % (ev[1], ev[2]), "")
        return t


def add_arguments(parser):
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--file", metavar="FILE", help="replay a recorded downlink")
    src.add_argument("--port", metavar="PORT", help="serial port of the ground radio")
    src.add_argument("--tcp", metavar="HOST:PORT", help="TCP source of downlink bytes")
    parser.add_argument("--speed", type=float, default=1.0,
                        help="replay speed (1 = real pace at --bitrate, 0 = as fast as possible)")
    parser.add_argument("--bitrate", type=float, default=2000.0, help="link bit rate for the replay pace")
    parser.add_argument("--baud", type=int, default=57600, help="serial baud rate (--port)")
    parser.add_argument("--once", action="store_true", help="decode all, print one final table, exit")


def _source(args):
    """A function returning the next chunk of bytes (b'' at the end)."""
    if args.file:
        fh = open(args.file, "rb")
        return fh.read, fh.close
    if args.port:
        import serial

        ser = serial.Serial(args.port, args.baud, timeout=0.2)
        return ser.read, ser.close
    host, _, port = args.tcp.rpartition(":")
    sock = socket.create_connection((host, int(port)), timeout=5)
    sock.settimeout(0.2)

    def rd(n):
        try:
            return sock.recv(n)
        except socket.timeout:
            return None
    return rd, sock.close


def run(args) -> int:
    from rich.console import Console
    from rich.live import Live

    if args.speed < 0 or args.bitrate <= 0:
        print("lander ground: --speed must be >= 0 and --bitrate > 0", file=sys.stderr)
        return 2
    if args.tcp and (":" not in args.tcp or not args.tcp.rpartition(":")[2].isdigit()):
        print("lander ground: --tcp wants HOST:PORT, got %r" % args.tcp, file=sys.stderr)
        return 2
    try:
        read, close = _source(args)
    except (OSError, ValueError) as exc:
        print("lander ground: %s: %s" % (args.file or args.port or args.tcp, exc), file=sys.stderr)
        return 2
    state = GroundState()
    console = Console()
    replay = bool(args.file)
    rate = args.bitrate / 8.0 * args.speed if replay else 0.0
    chunk = max(1, int(rate / 10)) if rate else 4096
    t_ground = 0.0
    try:
        if args.once:
            while True:
                data = read(4096)
                if not data:
                    break
                t_ground += len(data) / (args.bitrate / 8.0)
                state.feed(data, t_ground)
            console.print(state.table())
            return 0 if state.dec.stats["frames_ok"] else 1
        with Live(state.table(), console=console, refresh_per_second=4) as live:
            start = time.monotonic()
            while True:
                data = read(chunk)
                if data == b"" and replay:
                    break
                if data:
                    t_ground += len(data) / (args.bitrate / 8.0) if replay else 0.0
                now = t_ground if replay else time.monotonic() - start
                state.feed(data or b"", now)
                live.update(state.table())
                if replay and rate:
                    lag = t_ground / args.speed - (time.monotonic() - start)
                    if lag > 0:
                        time.sleep(lag)
    except KeyboardInterrupt:
        pass
    finally:
        close()
    return 0
