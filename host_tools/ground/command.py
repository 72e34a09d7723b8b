"""Signed telecommands: the ground side builder (and a parser for tests).

Wire format (one CCSDS Space Packet, 133.0-B-2, big-endian):

    primary header  6 octets   version 0, type 1 (TC), secondary header flag 1,
                               APID (default 0x050), sequence flags 0b11,
                               sequence count = counter & 0x3FFF,
                               packet data length = len(data field) - 1
    secondary hdr   4 octets   counter (u32): strictly increasing per key, the
                               anti-replay counter
    payload         1 + n      opcode (u8) then the arguments of that opcode
    tag            16 octets   HMAC-SHA256(key, counter || payload), first 16 octets

The firmware (firmware/lander/commands.py) accepts a packet only if the tag
matches and the counter is above the last one it accepted (kept across resets in
the checkpoint). The default key is a development key (scenario `[link]
command_key_hex`); a flight key is provisioned to the board in its own file
(/tc.key, raw octets), never in the repository. Dangerous commands (reset,
disarm, engine_off) in powered descent need a `confirm {opcode}` first (good for
10 s).
"""
from __future__ import annotations

import hashlib
import hmac
import struct

TAG_LEN = 16
DEFAULT_APID = 0x050
DEFAULT_KEY = bytes.fromhex("6c616e6465722d6465762d6b65792d6e6f742d666f722d666c696768742d2121")

# name -> (opcode, [(arg, struct format, default or None = required)])
COMMANDS = {
    "noop": (0x00, []),
    "abort": (0x01, []),
    "reset": (0x02, []),
    "arm": (0x03, []),
    "disarm": (0x04, []),
    "reset_imu": (0x05, [("part", "B", 0)]),
    "set_param": (0x06, [("id", "H", None), ("value", "i", None)]),
    "dump_blackbox": (0x07, [("start", "I", 0), ("count", "H", 0)]),
    "beacon": (0x08, [("on", "B", 1)]),
    "divert": (0x09, [("x_mm", "i", None)]),
    "sensor": (0x0A, [("part", "B", None), ("on", "B", 1)]),
    "time_sync": (0x0B, [("seconds", "I", None), ("subseconds", "H", 0)]),
    "confirm": (0x0C, [("opcode", "B", None)]),
    "engine_off": (0x0D, []),
    "ping": (0x0E, []),
}
OPCODES = {op: name for name, (op, _) in COMMANDS.items()}


def encode_args(command, args):
    """Opcode + packed arguments. Raises KeyError (unknown command/argument),
    ValueError (missing or out of range) or TypeError (not an integer)."""
    if command not in COMMANDS:
        raise KeyError("unknown command %r" % (command,))
    opcode, spec = COMMANDS[command]
    names = {n for n, _, _ in spec}
    for k in args:
        if k not in names:
            raise KeyError("command %s takes no argument %r (takes: %s)"
                           % (command, k, ", ".join(sorted(names)) or "none"))
    out = bytearray([opcode])
    for name, fmt, default in spec:
        v = args.get(name, default)
        if v is None:
            raise ValueError("command %s needs argument %r" % (command, name))
        if isinstance(v, bool) or not isinstance(v, int):
            raise TypeError("argument %r of %s must be an integer" % (name, command))
        try:
            out += struct.pack(">" + fmt, v)
        except struct.error:
            raise ValueError("argument %r of %s out of range: %r" % (name, command, v)) from None
    return bytes(out)


def tag(key, counter, payload):
    return hmac.new(key, struct.pack(">I", counter) + payload, hashlib.sha256).digest()[:TAG_LEN]


def build(command, args=None, counter=1, key=DEFAULT_KEY, apid=DEFAULT_APID):
    """One signed telecommand packet (bytes)."""
    if not 0 <= counter <= 0xFFFFFFFF:
        raise ValueError("counter out of u32 range")
    if not 0 <= apid <= 0x7FF:
        raise ValueError("APID out of 11-bit range")
    payload = encode_args(command, args or {})
    data = struct.pack(">I", counter) + payload + tag(key, counter, payload)
    word0 = (0 << 13) | (1 << 12) | (1 << 11) | apid
    word1 = (0b11 << 14) | (counter & 0x3FFF)
    return struct.pack(">HHH", word0, word1, len(data) - 1) + data


def parse(packet, key=DEFAULT_KEY):
    """Decode and authenticate one packet: dict(apid, counter, command, opcode,
    args, authentic). Raises ValueError on a malformed packet."""
    if len(packet) < 6 + 4 + 1 + TAG_LEN:
        raise ValueError("packet too short")
    word0, word1, length = struct.unpack_from(">HHH", packet, 0)
    if (word0 >> 13) != 0 or not (word0 >> 12) & 1 or not (word0 >> 11) & 1:
        raise ValueError("not a version-0 TC packet with a secondary header")
    if len(packet) != 6 + length + 1:
        raise ValueError("length field %d does not match %d octets" % (length, len(packet)))
    counter = struct.unpack_from(">I", packet, 6)[0]
    payload = bytes(packet[10:-TAG_LEN])
    authentic = hmac.compare_digest(bytes(packet[-TAG_LEN:]), tag(key, counter, payload))
    name = OPCODES.get(payload[0])
    args = {}
    if name is not None:
        off = 1
        for arg, fmt, _ in COMMANDS[name][1]:
            args[arg] = struct.unpack_from(">" + fmt, payload, off)[0]
            off += struct.calcsize(">" + fmt)
    return {"apid": word0 & 0x7FF, "counter": counter, "command": name, "opcode": payload[0],
            "args": args, "authentic": authentic, "seq_count": word1 & 0x3FFF}


class CommandBuilder:
    """Builds packets with a monotonic counter (starts at `counter`)."""

    def __init__(self, key=DEFAULT_KEY, apid=DEFAULT_APID, counter=1):
        self.key, self.apid, self.counter = key, apid, counter

    def build(self, command, args=None):
        pkt = build(command, args, self.counter, self.key, self.apid)
        self.counter += 1
        return pkt
