"""`lander command NAME [ARG=VALUE ...] --key FILE`: build and sign one
telecommand (host_tools/ground/command.py's wire format) and send it:

    --out FILE        append the packet to a file (an uplink file for the
                      virtual board, or a record of what was sent)
    --port DEV        write it to a serial port (the ground radio), --baud
    --sim SCENARIO    fly the scenario with the command uplinked at --at T_S and
                      report what the firmware did with it (accepted / refused
                      with its reason); exit 1 if it was refused
    (none)            print the packet in hex

The key file holds the raw key (16..64 octets) or its hex text; --dev-key uses
the development key the simulator flies with. The counter must be above the
last one the board accepted: --counter N, or --counter-file FILE (read, used,
then written back incremented).
"""
from __future__ import annotations

import os
import sys

from host_tools.ground import command as tc


def add_arguments(p):
    p.add_argument("name", metavar="NAME", help="command: " + ", ".join(sorted(tc.COMMANDS)))
    p.add_argument("args", metavar="ARG=VALUE", nargs="*", help="integer arguments")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--key", metavar="FILE", help="key file (raw octets or hex text)")
    g.add_argument("--dev-key", action="store_true", help="the development key (simulator)")
    c = p.add_mutually_exclusive_group()
    c.add_argument("--counter", type=int, help="anti-replay counter (u32)")
    c.add_argument("--counter-file", metavar="FILE", help="counter kept in a file, incremented")
    p.add_argument("--apid", type=int, default=tc.DEFAULT_APID)
    p.add_argument("--out", metavar="FILE", help="append the packet to FILE")
    p.add_argument("--port", metavar="DEV", help="write the packet to a serial port")
    p.add_argument("--baud", type=int, default=57600)
    p.add_argument("--sim", metavar="SCENARIO", help="fly SCENARIO with the command uplinked")
    p.add_argument("--at", type=float, default=10.0, metavar="T_S", help="uplink time (--sim)")


def _usage(msg):
    sys.stderr.write("lander command: %s\n" % msg)
    return 2


def _read_key(path):
    try:
        with open(path, "rb") as fh:
            raw = fh.read(4097)
    except OSError as exc:
        raise ValueError("--key %s: %s" % (path, exc.strerror or exc)) from None
    text = raw.strip()
    try:
        if text and all(chr(b) in "0123456789abcdefABCDEF" for b in text):
            raw = bytes.fromhex(text.decode())
    except ValueError:
        pass
    if not 16 <= len(raw) <= 64:
        raise ValueError("--key %s: a key is 16..64 octets (got %d)" % (path, len(raw)))
    return raw


def _parse_args(items):
    out = {}
    for item in items:
        k, sep, v = item.partition("=")
        if not sep or not k:
            raise ValueError("argument %r is not NAME=VALUE" % item)
        try:
            out[k] = int(v, 0)
        except ValueError:
            raise ValueError("argument %s=%r is not an integer" % (k, v)) from None
    return out


def run(args) -> int:
    try:
        key = tc.DEFAULT_KEY if args.dev_key else _read_key(args.key)
        cargs = _parse_args(args.args)
        counter = args.counter
        if args.counter_file is not None:
            try:
                with open(args.counter_file) as fh:
                    counter = int(fh.read().strip() or "1")
            except FileNotFoundError:
                counter = 1
            except (OSError, ValueError):
                return _usage("--counter-file %s: not a readable integer" % args.counter_file)
        if counter is None:
            counter = 1
        pkt = tc.build(args.name, cargs, counter=counter, key=key, apid=args.apid)
    except (KeyError, ValueError, TypeError) as exc:
        return _usage(str(exc.args[0]) if exc.args else str(exc))
    if args.sim is not None and not os.path.isfile(args.sim):
        return _usage("--sim %s: no such scenario file" % args.sim)

    if args.counter_file is not None:
        with open(args.counter_file, "w") as fh:
            fh.write("%d\n" % (counter + 1))
        print("counter %d used; next %d written to %s" % (counter, counter + 1, args.counter_file))
    sent = False
    if args.out is not None:
        with open(args.out, "ab") as fh:
            fh.write(pkt)
        print("wrote %d octets to %s" % (len(pkt), args.out))
        sent = True
    if args.port is not None:
        import serial

        with serial.Serial(args.port, args.baud, timeout=1) as port:
            port.write(pkt)
        print("sent %d octets to %s" % (len(pkt), args.port))
        sent = True
    if args.sim is not None:
        return _fly(args, key)
    if not sent:
        print(pkt.hex())
    return 0


def _fly(args, key):
    """Fly the scenario with this command added (the simulator signs its
    uplink with its own counter, from 1, under this key)."""
    from host_tools.sim import runner, scenario
    from host_tools.sim.scenario import ScenarioError

    try:
        sc = scenario.load(args.sim)
    except ScenarioError as exc:
        return _usage(str(exc))
    sc["link"]["command_key_hex"] = key.hex()
    sc["commands"] = list(sc["commands"]) + [
        {"t_s": args.at, "command": args.name, "args": _parse_args(args.args)}]
    r = runner.fly(sc, controller="firmware")
    ev = r.summary["events"]
    acc, rej = ev.get("EV_TC_ACCEPT", 0), ev.get("EV_TC_REJECT", 0)
    print("%s: %d command(s) accepted, %d refused by the firmware; outcome %s"
          % (sc["name"], acc, rej, r.summary["outcome"]))
    return 1 if rej else 0
