"""`lander hil SCENARIO --port PORT|virtual|inprocess`: hardware in the loop.

The simulator (host_tools/sim/runner.py) and the register-level emulators run
here; the firmware runs on the board with boards/hil/board.py, whose buses
are a register mirror (firmware/lander/hil.py). Each cycle is one framed,
CRC-checked, sequence-numbered exchange over the serial link:

  host -> board 'S' seq: clock; the I2C reads the board made last cycle, done
      again on the emulators in the same order per device (their read side
      effects happen once, in order, as in-process); the bytes each emulated
      part sent on its UART; input pin levels; ADC values.
  board -> host 'C' seq: every output of the cycle in order (I2C and UART
      writes, pin and PWM changes, watchdog feeds), applied here to the same
      host `machine` objects the in-process board uses, so the engine
      emulator sees the same pulse widths; the read log; a few state words.

A read the mirror does not hold is one extra exchange ('P'/'R', counted as a
miss; start-up reads all go that way). Timeouts: a lost or corrupted frame is
resent with the same seq (the board answers a repeated seq with its kept reply
instead of stepping twice); after 3 tries the flight stops with exit 1.

The actuator command stream (throttle and gimbal pulse widths, arm line) is
recorded per cycle; `--port inprocess` runs the same board side under CPython
in a thread over pipes, and the streams are bit-identical (tests/test_hil.py).
"""
from __future__ import annotations

import collections
import hashlib
import json
import math
import os
import sys
import threading
from array import array

import host_tools  # noqa: F401  (puts firmware/ on sys.path)
from lander import hil as fw_hil

TIMEOUT_S = 5.0
RETRIES = 3
START_SERVE = ("from lander import hil\nimport board\n"
               "hil.serve(hil.stdio_link(), board.make_board)\n")
# A HIL flight is one flight from power-on, as the in-process run is: the
# board's flight state from an earlier flight is removed first, the
# checkpoint file (app.CKPT_FILE_PATH) and the black box (the board's WIRING
# "storage"). A checkpoint written in powered descent is what a warm restart
# resumes from, and App._restore cannot tell an earlier flight's from this
# one's: `make demo` run twice flew its second descent from the first one's
# last record (a different flight each time, some of them lost). --keep-
# flight-state leaves them (a flight that goes on from the board's state).
CLEAR_FLIGHT_STATE = ("import os, board\nfrom lander.app import CKPT_FILE_PATH\n"
                      "for _p in (CKPT_FILE_PATH, board.WIRING.get('storage')):\n"
                      "    try:\n        os.remove(_p)\n    except (OSError, TypeError):\n        pass\n")


class HilError(Exception):
    pass


def actuator_uarts(bench) -> list:
    """UART ids of the actuators on the sim wiring (the attitude-control unit)."""
    from host_tools.emu.bench import board_wiring

    w = board_wiring("sim")
    return [w["buses"][w[k][1]][1] for k in ("attitude",) if w.get(k)]


def actuator_state(bench, uarts, marks: dict) -> tuple:
    """One cycle's actuator commands: throttle and gimbal pulse widths, the arm
    line, and the bytes sent to each actuator UART since the last call."""
    out = [bench.pwm(14).duty_ns, bench.pwm(12).duty_ns, bench.pin(15).out]
    for uid in uarts:
        log = bench.uart(uid).tx_log
        out.append(bytes(log[marks.get(uid, 0):]).hex())
        marks[uid] = len(log)
    return tuple(out)


class HostEnd:
    """The host's end of the link, over a bench (host_tools.emu.bench)."""

    def __init__(self, bench, link):
        from host_tools.emu import machine as host_machine

        self.bench = bench
        self.link = link
        self.hm = host_machine
        host_machine.install(bench)
        self.seq = 0
        self.readlog: list = []        # (kind, bus/pin, addr, reg, n, words)
        self.pins: dict = {}
        self.pwms: dict = {}
        self.wdt = None
        self.uart_ids = sorted({uid for uid in bench.uarts})
        self.state = [0] * 8
        self.commands: list = []        # per cycle: (throttle_ns, gimbal_ns, arm)
        self.misses = 0
        self.rpcs = 0
        self.resends = 0
        self.failed_parts: list = []
        self._uarts = actuator_uarts(bench)
        self._marks: dict = {}

    # --- applying the board's outputs ----------------------------------------
    def _apply(self, p: bytes, pos: int = 0, log: list | None = None) -> int:
        hm = self.hm
        n = len(p)
        while pos < n:
            op = p[pos]
            if op == fw_hil.OP_I2C_WRITE:
                bus, addr, reg, cnt = p[pos + 1:pos + 5]
                try:
                    self.bench.i2c(bus).writeto_mem(addr, reg, bytes(p[pos + 5:pos + 5 + cnt]))
                except OSError:
                    pass            # the board's write is fire-and-forget over the mirror
                pos += 5 + cnt
            elif op == fw_hil.OP_UART_WRITE:
                uid = p[pos + 1]
                cnt = p[pos + 2] | (p[pos + 3] << 8)
                self.bench.uart(uid).write(bytes(p[pos + 4:pos + 4 + cnt]))
                pos += 4 + cnt
            elif op == fw_hil.OP_PIN_INIT:
                pin, mode, pull, value = p[pos + 1:pos + 5]
                self.pins[pin] = hm.Pin(pin, mode - 1, pull - 1, value=None if value == 0 else value - 1)
                pos += 5
            elif op == fw_hil.OP_PIN_SET:
                self.pins[p[pos + 1]].value(p[pos + 2])
                pos += 3
            elif op == fw_hil.OP_PWM_INIT:
                pin = p[pos + 1]
                freq = fw_hil.u32(p, pos + 2)
                duty = fw_hil.u32(p, pos + 6)
                self.pwms[pin] = hm.PWM(pin, freq=freq or None, duty_ns=duty - 1 if duty else None)
                pos += 10
            elif op == fw_hil.OP_PWM_DUTY:
                self.pwms[p[pos + 1]].duty_ns(fw_hil.u32(p, pos + 2))
                pos += 6
            elif op == fw_hil.OP_PWM_FREQ:
                self.pwms[p[pos + 1]].freq(fw_hil.u32(p, pos + 2))
                pos += 6
            elif op == fw_hil.OP_WDT_INIT:
                self.wdt = hm.WDT(timeout=fw_hil.u32(p, pos + 1))
                pos += 5
            elif op == fw_hil.OP_WDT_FEED:
                if self.wdt is not None:
                    self.wdt.feed()
                pos += 1
            elif op == fw_hil.OP_I2C_READLOG:
                if log is not None:
                    log.append(tuple(p[pos + 1:pos + 6]))
                pos += 6
            elif op == fw_hil.OP_SLEEP:
                from host_tools.emu import settle

                settle.on_sleep(fw_hil.u32(p, pos + 1))
                pos += 5
            elif op == fw_hil.OP_ADC_LOG:
                if log is not None:
                    log.append(("adc", p[pos + 1]))
                pos += 2
            elif op == fw_hil.OP_STATE:
                self.state = [fw_hil.i32(p, pos + 1 + 4 * k) for k in range(8)]
                pos += 33
            elif op in (fw_hil.OP_I2C_READ, fw_hil.OP_PIN_READ, fw_hil.OP_ADC_READ):
                return pos          # an RPC request ends the ops
            elif op == 0xFF:
                return pos
            else:
                raise HilError("unknown op %d from the board at %d" % (op, pos))
        return pos

    # --- reads on the emulators ------------------------------------------------
    def _i2c_read(self, bus, addr, reg, cnt, words) -> bytes:
        buf = array("h", bytes(cnt)) if words else bytearray(cnt)
        try:
            self.bench.i2c(bus).readfrom_mem_into(addr, reg, buf)
        except OSError as exc:
            return bytes(((exc.errno or 5) & 0xFF,)) + bytes(cnt)
        return b"\x00" + bytes(buf)

    def _pin_level(self, pin) -> int:
        obj = self.pins.get(pin)
        return int(obj.value()) if obj is not None else int(self.bench.pin(pin).level())

    def _rpc(self, payload: bytes) -> bytes:
        pos = self._apply(payload, 0)
        op = payload[pos]
        self.rpcs += 1
        if op == fw_hil.OP_I2C_READ:
            bus, addr, reg, cnt, words = payload[pos + 1:pos + 6]
            return self._i2c_read(bus, addr, reg, cnt, words)
        if op == fw_hil.OP_PIN_READ:
            return bytes((self._pin_level(payload[pos + 1]),))
        if op == fw_hil.OP_ADC_READ:
            v = self.hm.ADC(payload[pos + 1]).read_u16()
            return bytes((v & 0xFF, v >> 8))
        raise HilError("RPC op %d" % op)

    def _await(self, want_type: int, seq: int, resend) -> bytes:
        """Serve RPCs until the frame we wait for; resend on a timeout."""
        tries = 0
        while True:
            try:
                typ, rseq, payload = self.link.recv()
            except fw_hil.LinkTimeout:
                tries += 1
                if tries > RETRIES:
                    raise HilError("no answer from the board after %d tries (seq %d)" % (RETRIES, seq))
                self.resends += 1
                resend()
                continue
            if typ == 0x50:                               # 'P': RPC
                self.link.send(0x52, rseq, self._rpc(payload))
            elif typ == want_type and rseq == seq:
                return payload

    # --- the flight ----------------------------------------------------------------
    def start(self, spec: dict) -> None:
        self.seq = (self.seq + 1) & 0xFFFF
        body = json.dumps(spec).encode()
        seq = self.seq

        def send():
            self.link.send(0x48, seq, body)
        send()
        payload = self._await(0x42, seq, send)
        pos = self._apply(payload, 0)
        if pos < len(payload) and payload[pos] == 0xFF:
            self.failed_parts = json.loads(payload[pos + 1:].decode())
        self.readlog = []

    def _mirror(self) -> bytes:
        out = bytearray()
        for entry in self.readlog:
            if entry[0] == "adc":
                v = self.hm.ADC(entry[1]).read_u16()
                out += bytes((fw_hil.MI_ADC, entry[1], v & 0xFF, v >> 8))
                continue
            bus, addr, reg, cnt, words = entry
            out += bytes((fw_hil.MI_I2C, bus, addr, reg, cnt, words)) + self._i2c_read(bus, addr, reg, cnt, words)
        for uid in self.uart_ids:
            data = self.bench.uart(uid).read()
            if data:
                out += bytes((fw_hil.MI_UART, uid, len(data) & 0xFF, len(data) >> 8)) + data
        for pin, obj in sorted(self.pins.items()):
            if obj._s.mode != 1:
                out += bytes((fw_hil.MI_PIN, pin, int(obj.value())))
        return bytes(out)

    def cycle(self, now_us: int) -> None:
        self.seq = (self.seq + 1) & 0xFFFF
        seq = self.seq
        body = (now_us & 0xFFFFFFFF).to_bytes(4, "little") + self._mirror()

        def send():
            self.link.send(0x53, seq, body)
        send()
        payload = self._await(0x43, seq, send)
        log: list = []
        self._apply(payload, 0, log)
        self.readlog = log
        self.misses = self.state[7]
        self.commands.append(actuator_state(self.bench, self._uarts, self._marks))

    def quit(self) -> None:
        self.seq = (self.seq + 1) & 0xFFFF
        try:
            self.link.send(0x51, self.seq, b"")
            self._await(0x71, self.seq, lambda: self.link.send(0x51, self.seq, b""))
        except HilError:
            pass

    def digest(self) -> str:
        h = hashlib.sha256()
        for c in self.commands:
            h.update((",".join(str(v) for v in c) + ";").encode())
        return h.hexdigest()


# --- transports ------------------------------------------------------------------
def pipe_pair():
    """Two Links joined by OS pipes: (host link, board link)."""
    import select

    a_r, a_w = os.pipe()      # host -> board
    b_r, b_w = os.pipe()      # board -> host

    def reader(fd, timeout):
        def read(n):
            out = b""
            while len(out) < n:
                if timeout is not None:
                    r, _, _ = select.select([fd], [], [], timeout)
                    if not r:
                        raise fw_hil.LinkTimeout(110)
                chunk = os.read(fd, n - len(out))
                if not chunk:
                    raise fw_hil.LinkTimeout(110)
                out += chunk
            return out
        return read

    def writer(fd):
        def write(b):
            view = memoryview(bytes(b))
            while view:
                view = view[os.write(fd, view):]
        return write

    host = fw_hil.Link(reader(b_r, TIMEOUT_S), writer(a_w))
    board = fw_hil.Link(reader(a_r, None), writer(b_w))
    host.fds = board.fds = (a_r, a_w, b_r, b_w)
    return host, board


def _load_hil_board():
    import importlib.util

    path = os.path.join(host_tools.BOARDS_DIR, "hil", "board.py")
    spec = importlib.util.spec_from_file_location("board_hil", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class InProcessBoard:
    """The board side under CPython in a thread (the reference for bit-identity)."""

    def __init__(self):
        import io

        self.host_link, self.board_link = pipe_pair()
        mod = _load_hil_board()

        def make_board(node, rate_hz=50):
            return mod.make_board(node, rate_hz, opener=lambda path, mode: io.BytesIO())

        self.error = None

        def main():
            try:
                fw_hil.serve(self.board_link, make_board)
            except BaseException as exc:          # reported by close()
                self.error = exc

        self.thread = threading.Thread(target=main, daemon=True)
        self.thread.start()

    def close(self):
        self.thread.join(timeout=5)
        for fd in self.host_link.fds:
            try:
                os.close(fd)
            except OSError:
                pass
        if self.error is not None:
            raise HilError("in-process board failed: %r" % (self.error,))


class SerialBoard:
    """A board (or the virtual board) on a serial port: the HIL loop is started
    through the raw REPL (mpremote's transport), then the port carries frames."""

    def __init__(self, port: str, keep_flight_state: bool = False):
        from mpremote.transport_serial import SerialTransport

        self.t = SerialTransport(port, baudrate=115200)
        self.t.enter_raw_repl(soft_reset=True)
        self.t.exec_raw_no_follow(("" if keep_flight_state else CLEAR_FLIGHT_STATE) + START_SERVE)
        ser = self.t.serial
        ser.timeout = TIMEOUT_S

        self.seen = collections.deque(maxlen=4096)     # recent bytes, for diagnostics

        def read(n):
            data = ser.read(n)
            self.seen.extend(data)
            if len(data) < n:
                raise fw_hil.LinkTimeout(110)
            return data

        def write(b):
            ser.write(bytes(b))

        self.host_link = fw_hil.Link(read, write)

    def diagnostic(self) -> str:
        """Whatever text the board printed instead of frames (a traceback)."""
        ser = self.t.serial
        ser.timeout = 0.5
        data = bytes(self.seen) + ser.read(65536)
        text = data.decode("utf-8", "replace")
        return "".join(ch for ch in text if ch.isprintable() or ch in "\n")[-2000:]

    def close(self):
        try:
            self.t.follow(timeout=5)
            self.t.exit_raw_repl()
        except Exception:
            pass
        self.t.close()


# --- the flight, through the simulator's runner ---------------------------------------
class HilFirmware:
    """Stands in for the runner's in-process firmware: same calls, over the link."""

    host: HostEnd | None = None
    board = None

    def __init__(self, bench, sc):
        self.bench = bench
        self.sc = sc
        self.app = None
        self.counts = collections.Counter()
        if HilFirmware.board is None:
            raise HilError("no board attached")
        HilFirmware.host = self.host = HostEnd(bench, HilFirmware.board.host_link)

    def boot(self, fresh_modules, handover=None):
        from host_tools.board.deploy import config_values_for

        spec = {"config": config_values_for(self.sc), "rate_hz": int(round(self.sc["rate_hz"])),
                "now_us": int(round(self.bench.now_s * 1e6)) & 0x3FFFFFFF}
        if handover is not None:
            alt, vz, vx, pitch = handover
            spec["handover"] = [int(round(alt * 1000)), int(round(vz * 1000)), int(round(vx * 1000)),
                                int(round(pitch / (2 * math.pi) * 65536))]
        self.host.start(spec)
        self.app = self

    def step(self, now_us):
        self.host.cycle(now_us)

    def estimates(self):
        s = self.host.state
        return s[0] / 1000.0, s[1] / 1000.0, s[2] / 1000.0

    def phase_flags(self):
        s = self.host.state
        return int(s[3]), int(s[4])


def fly(scenario_path: str, port: str, seed=None, max_time_s=None, root=None, record=False,
        keep_flight_state: bool = False) -> dict:
    """Fly the scenario with the firmware on `port` ('inprocess', 'virtual' or
    a serial device / socket:// URL). Returns the summary and the command
    stream. A board's flight state from an earlier flight is removed first
    unless keep_flight_state (CLEAR_FLIGHT_STATE)."""
    from host_tools.board import virtual
    from host_tools.sim import runner, scenario as scenario_mod

    sc = scenario_mod.load(scenario_path)
    vb = None
    if port == "inprocess":
        board = InProcessBoard()
    else:
        if port == "virtual":
            vb = virtual.VirtualBoard(root or virtual.DEFAULT_ROOT).start()
            port = vb.port
        board = SerialBoard(port, keep_flight_state)
    HilFirmware.board = board
    orig = runner._Firmware
    runner._Firmware = HilFirmware
    try:
        try:
            result = runner.fly(sc, seed=seed, record=record, max_time_s=max_time_s)
        except HilError as exc:
            diag = board.diagnostic() if hasattr(board, "diagnostic") else ""
            raise HilError("%s%s" % (exc, ("; the board said: " + diag) if diag.strip() else ""))
        host = HilFirmware.host
        host.quit()
    finally:
        runner._Firmware = orig
        HilFirmware.board = None
        try:
            board.close()
        finally:
            if vb is not None:
                vb.stop()
    summary = dict(result.summary)
    summary["hil"] = {"port": port, "cycles": len(host.commands), "frames_out": host.link.frames_out,
                      "frames_in": host.link.frames_in, "crc_errors": host.link.crc_errors,
                      "rpc_exchanges": host.rpcs, "mirror_misses": host.misses, "resends": host.resends,
                      "failed_parts": host.failed_parts, "command_stream_sha256": host.digest()}
    return {"summary": summary, "commands": host.commands, "result": result, "scenario": sc}


def add_arguments(parser):
    parser.add_argument("scenario", help="scenario file (TOML)")
    parser.add_argument("--port", required=True,
                        help="serial device, socket://HOST:PORT, 'virtual' (a virtual board), or "
                             "'inprocess' (the board side under CPython in a thread)")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--max-time", type=float, default=None, help="stop after this many simulated s")
    parser.add_argument("--root", default=None, help="virtual board filesystem (with --port virtual)")
    parser.add_argument("--commands", default=None, metavar="OUT",
                        help="write the actuator command stream (JSON lines) here")
    parser.add_argument("--keep-flight-state", action="store_true",
                        help="fly on from the board's checkpoint and black box (by default they are removed "
                             "first: a flight starts from power-on, as the in-process run does)")
    parser.add_argument("--json", action="store_true")


def run(args) -> int:
    from host_tools.board.deploy import check_port, UsageError

    if not os.path.isfile(args.scenario):
        print("lander hil: %s: no such file" % args.scenario, file=sys.stderr)
        return 2
    try:
        if args.port != "inprocess":
            check_port(args.port)
    except UsageError as exc:
        print("lander hil: %s" % exc, file=sys.stderr)
        return 2
    try:
        out = fly(args.scenario, args.port, args.seed, args.max_time, args.root,
                  keep_flight_state=args.keep_flight_state)
    except (HilError, OSError) as exc:
        print("lander hil: %s" % exc, file=sys.stderr)
        return 1
    s = out["summary"]
    if args.commands:
        with open(args.commands, "w") as fh:
            for c in out["commands"]:
                fh.write(json.dumps(list(c)) + "\n")
        print("wrote %s (%d cycles)" % (args.commands, len(out["commands"])), file=sys.stderr)
    if args.json:
        print(json.dumps(s, indent=2, default=str))
    else:
        h = s["hil"]
        print("%s over HIL (%s): %s, %d cycles, %d frames each way, %d CRC errors, %d resends, "
              "%d RPC exchanges (%d mirror misses in flight)" % (
                  s.get("name"), h["port"], s.get("outcome"), h["cycles"], h["frames_out"],
                  h["crc_errors"], h["resends"], h["rpc_exchanges"], h["mirror_misses"]))
        print("actuator command stream sha256 %s" % h["command_stream_sha256"])
    return 0 if s.get("passed", s.get("outcome") == "landed") else 1
