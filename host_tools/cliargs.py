"""Flag types and output-path checks shared by the `lander` subcommands.

Every flag is checked when it is parsed (argparse `type=`): a bad value is a
usage error (exit 2, one line naming the flag) before anything runs. Output
paths are checked before any flight (`check_out_file`, `check_out_dir`): a
refused path raises UsageError, and nothing is created that the user did not
name (no missing parent folders).
"""
from __future__ import annotations

import argparse
import math
import os
import socket
import time
from urllib.parse import urlsplit

from host_tools.sim.scenario import MAX_ALT_M, MAX_TIME_S

MAX_SEED = 2**63 - 1
MAX_JOBS = 1024
MAX_RUNS = 1_000_000
DASK_WAIT_S = 5.0              # how long a Dask scheduler may take to answer


class UsageError(Exception):
    """Bad input found after parsing (an output path, an unreachable address):
    exit 2 with this one-line message."""


def _int(text):
    try:
        return int(text, 10)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError("expected an integer, got %r" % (text,)) from None


def _float(text):
    try:
        v = float(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError("expected a number, got %r" % (text,)) from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError("must be a finite number, got %r" % (text,))
    return v


def seed(text):
    """A seed: an integer 0 .. 2^63 - 1."""
    v = _int(text)
    if not 0 <= v <= MAX_SEED:
        raise argparse.ArgumentTypeError("a seed is an integer 0 .. 2^63-1, got %s" % text)
    return v


def sim_time(text):
    """Simulated seconds: finite, > 0, at most the scenario bound."""
    v = _float(text)
    if not 0.0 < v <= MAX_TIME_S:
        raise argparse.ArgumentTypeError("must be > 0 and <= %g s, got %s" % (MAX_TIME_S, text))
    return v


def jobs(text):
    v = _int(text)
    if not 1 <= v <= MAX_JOBS:
        raise argparse.ArgumentTypeError("must be 1 .. %d, got %s" % (MAX_JOBS, text))
    return v


def runs(text):
    v = _int(text)
    if not 1 <= v <= MAX_RUNS:
        raise argparse.ArgumentTypeError("must be 1 .. %d, got %s" % (MAX_RUNS, text))
    return v


def fraction(text):
    v = _float(text)
    if not 0.0 <= v <= 1.0:
        raise argparse.ArgumentTypeError("must be a fraction 0 .. 1, got %s" % text)
    return v


def glide_slope(text):
    """A glide-slope cone half-angle above the horizontal: 0 < deg < 90."""
    v = _float(text)
    if not 0.0 < v < 90.0:
        raise argparse.ArgumentTypeError("degrees above the horizontal, > 0 and < 90, got %s" % text)
    return v


def gate(text):
    """ALT_M,VZ_MPS: a gate 0 .. 100 km above the site, descending or still
    (-100 <= vz <= 0 m/s: a climbing gate is no descent)."""
    parts = str(text).split(",")
    if len(parts) != 2:
        raise argparse.ArgumentTypeError("expected ALT_M,VZ_MPS (e.g. 30,-1.5), got %r" % (text,))
    try:
        alt, vz = _float(parts[0]), _float(parts[1])
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError("expected ALT_M,VZ_MPS of finite numbers (e.g. 30,-1.5), "
                                         "got %r" % (text,)) from None
    if not 0.0 <= alt <= MAX_ALT_M:
        raise argparse.ArgumentTypeError("gate altitude must be 0 .. %g m, got %g" % (MAX_ALT_M, alt))
    if not -100.0 <= vz <= 0.0:
        raise argparse.ArgumentTypeError("gate vertical speed must be -100 .. 0 m/s (negative down; "
                                         "a gate is not climbing), got %g" % vz)
    return (alt, vz)


def dask_address(text):
    """A scheduler address: tcp://HOST:PORT (or HOST:PORT); the format is
    checked here, the reachability by `check_dask_reachable` before a run."""
    s = str(text).strip()
    url = urlsplit(s if "://" in s else "tcp://" + s)
    try:
        port = url.port
    except ValueError:
        port = None
    if url.scheme not in ("tcp", "tls", "ws", "wss", "inproc", "ucx") or not url.hostname or port is None:
        raise argparse.ArgumentTypeError("expected a scheduler address tcp://HOST:PORT, got %r" % (text,))
    return s if "://" in s else "tcp://" + s


def check_dask_reachable(address, flag="--dask", wait_s=DASK_WAIT_S):
    """A TCP connection to the scheduler within wait_s seconds, else UsageError."""
    url = urlsplit(address)
    if url.scheme not in ("tcp", "tls"):
        return
    deadline = time.monotonic() + wait_s
    last = None
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            with socket.create_connection((url.hostname, url.port), timeout=min(left, 2.0)):
                return
        except OSError as exc:
            last = exc
            if isinstance(exc, socket.gaierror):
                break           # the name does not resolve: waiting will not help
            time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
    reason = getattr(last, "strerror", None) or str(last) or "no answer"
    raise UsageError("%s %s: no Dask scheduler reachable within %g s (%s)" % (flag, address, wait_s, reason))


# ---------------------------------------------------------------- output paths

def check_out_file(path, flag):
    """An output file we may write: its folder exists (we never create it),
    it is not a folder itself, and we may write there. Raises UsageError."""
    if path is None:
        return None
    p = str(path)
    if p == "" or p.endswith(os.sep):
        raise UsageError("%s %r: expected a file name" % (flag, p))
    if os.path.isdir(p):
        raise UsageError("%s %s: is a directory (expected a file name)" % (flag, p))
    parent = os.path.dirname(os.path.abspath(p))
    if not os.path.exists(parent):
        raise UsageError("%s %s: folder %s does not exist (it is not created)" % (flag, p, parent))
    if not os.path.isdir(parent):
        raise UsageError("%s %s: %s is a file, not a folder" % (flag, p, _first_file(parent)))
    if os.path.exists(p):
        if not os.path.isfile(p):
            raise UsageError("%s %s: exists and is not a regular file" % (flag, p))
        try:                    # opened for appending, not truncated: nothing changes
            os.close(os.open(p, os.O_WRONLY | os.O_APPEND))
        except OSError as exc:
            raise UsageError("%s %s: not writable (%s)" % (flag, p, exc.strerror)) from None
    else:
        _probe(os.path.abspath(p), flag, p)
    return p


def _probe(path, flag, shown):
    """Create `path` (exclusively) and remove it at once: the only test of
    writability that holds for root and for read-only or special file systems."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise UsageError("%s %s: cannot write there (%s)" % (flag, shown, exc.strerror)) from None
    os.close(fd)
    os.remove(path)


def check_out_dir(path, flag):
    """An output folder: an existing writable folder, or a new one whose parent
    exists (only the named folder itself is created, later). Raises UsageError."""
    p = str(path)
    if p == "":
        raise UsageError("%s: expected a folder name" % flag)
    if os.path.exists(p):
        if not os.path.isdir(p):
            raise UsageError("%s %s: exists and is not a folder" % (flag, p))
        _probe(os.path.join(os.path.abspath(p), ".lander-write-probe-%d" % os.getpid()), flag, p)
        return p
    parent = os.path.dirname(os.path.abspath(p))
    if not os.path.exists(parent):
        raise UsageError("%s %s: folder %s does not exist (it is not created)" % (flag, p, parent))
    if not os.path.isdir(parent):
        raise UsageError("%s %s: %s is a file, not a folder" % (flag, p, _first_file(parent)))
    _probe(os.path.join(parent, ".lander-write-probe-%d" % os.getpid()), flag, p)
    return p


def _first_file(path):
    """The first component of `path` that exists and is not a folder."""
    p = os.path.abspath(path)
    chain = []
    while True:
        chain.append(p)
        up = os.path.dirname(p)
        if up == p:
            break
        p = up
    for c in reversed(chain):
        if os.path.exists(c) and not os.path.isdir(c):
            return c
    return path
