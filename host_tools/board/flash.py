"""`lander flash --board esp32|pico --port PORT IMAGE`: write a MicroPython image.

ESP32: esptool (v5 command names, hyphenated): `esptool --chip esp32 --port
PORT chip-id` first (a different chip fails here, exit 2, nothing written),
then `write-flash 0x1000 IMAGE` (esptool checks each write with an MD5 of
the flash), then `verify-flash 0x1000 IMAGE`. The image must be an ESP32
application image (first byte 0xE9).

RP2040 (pico): the board in BOOTSEL mode shows a USB drive (RPI-RP2, with
INFO_UF2.TXT); the UF2 file is copied there (--port names the drive's mount
point, or it is looked for under /media and /run/media) and the board reboots
into it. The image must be UF2 blocks (magic 0x0A324655 / 0x9E5D5157) for the
RP2040 family (0xE48BFF56).

Exit 2 on bad input (no port, no image, wrong image, wrong chip), 1 when the
tool failed or the verify did not match, 0 when written and verified.
"""
from __future__ import annotations

import glob
import os
import re
import shutil
import struct
import subprocess
import sys

ESP_IMAGE_MAGIC = 0xE9
ESP32_OFFSET = {"esp32": "0x1000", "esp32s2": "0x1000", "esp32s3": "0x0", "esp32c3": "0x0"}
UF2_MAGIC = (0x0A324655, 0x9E5D5157)
UF2_END = 0x0AB16F30
RP2040_FAMILY = 0xE48BFF56


class FlashUsage(Exception):
    pass


class FlashFailed(Exception):
    pass


def esptool_cmd() -> list[str]:
    return [sys.executable, "-m", "esptool"]


def check_esp_image(path: str) -> None:
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head[:4] == struct.pack("<I", UF2_MAGIC[0]):
        raise FlashUsage("%s: a UF2 file (RP2040); an ESP32 needs a .bin application image" % path)
    if len(head) < 8 or head[0] != ESP_IMAGE_MAGIC:
        raise FlashUsage("%s: not an ESP32 image (first byte 0x%02X, want 0xE9)"
                         % (path, head[0] if head else 0))


def check_uf2(path: str, family: int = RP2040_FAMILY) -> int:
    """Number of UF2 blocks; raises FlashUsage if not a UF2 image for `family`."""
    size = os.path.getsize(path)
    if size == 0 or size % 512:
        raise FlashUsage("%s: not a UF2 image (size %d is not a multiple of 512)" % (path, size))
    with open(path, "rb") as fh:
        blocks = 0
        while True:
            blk = fh.read(512)
            if not blk:
                break
            m0, m1, flags, _addr, _n, _no, _total, fam = struct.unpack_from("<8I", blk)
            if (m0, m1) != UF2_MAGIC or struct.unpack_from("<I", blk, 508)[0] != UF2_END:
                raise FlashUsage("%s: not a UF2 image (bad magic in block %d)" % (path, blocks))
            if flags & 0x2000 and fam != family:
                raise FlashUsage("%s: UF2 for family 0x%08X, not RP2040 (0x%08X)" % (path, fam, family))
            blocks += 1
    return blocks


def _esptool(args: list[str], what: str) -> str:
    proc = subprocess.run(esptool_cmd() + args, capture_output=True, text=True)
    out = (proc.stdout or "") + (proc.stderr or "")
    if proc.returncode != 0:
        m = re.search(r"This chip is ([\w-]+),? not ([\w-]+)", out)
        if m or "Wrong chip argument" in out:
            raise FlashUsage("wrong chip: %s" % (m.group(0) if m else "esptool says wrong chip"))
        if "could not open port" in out.lower() or "No such file or directory" in out:
            raise FlashUsage("cannot open the port: %s" % out.strip().splitlines()[-1])
        raise FlashFailed("esptool %s failed (exit %d): %s" % (what, proc.returncode, out.strip()[-400:]))
    return out


def flash_esp32(port: str, image: str, chip: str = "esp32", baud: int = 460800, erase: bool = False,
                log=print) -> None:
    check_esp_image(image)
    offset = ESP32_OFFSET[chip]
    base = ["--chip", chip, "--port", port]
    _esptool(base + ["chip-id"], "chip-id")
    if erase:
        _esptool(base + ["erase-flash"], "erase-flash")
    _esptool(base + ["--baud", str(baud), "write-flash", offset, image], "write-flash")
    out = _esptool(base + ["--baud", str(baud), "verify-flash", offset, image], "verify-flash")
    if "verify ok" not in out.lower() and "digest matched" not in out.lower():
        raise FlashFailed("verify-flash did not report a match: %s" % out.strip()[-300:])
    log("flashed %s to %s at %s (%s), verified" % (image, port, offset, chip))


def find_rp2_drive() -> str | None:
    for pattern in ("/media/*/RPI-RP2", "/run/media/*/RPI-RP2", "/media/RPI-RP2", "/Volumes/RPI-RP2"):
        for path in glob.glob(pattern):
            if os.path.isfile(os.path.join(path, "INFO_UF2.TXT")):
                return path
    return None


def flash_rp2040(drive: str | None, image: str, log=print) -> None:
    blocks = check_uf2(image)
    drive = drive or find_rp2_drive()
    if drive is None:
        raise FlashUsage("no RP2040 boot drive found (hold BOOTSEL while plugging in; or --port MOUNTPOINT)")
    if not os.path.isfile(os.path.join(drive, "INFO_UF2.TXT")):
        raise FlashUsage("--port %s: not an RP2040 boot drive (no INFO_UF2.TXT)" % drive)
    dst = os.path.join(drive, os.path.basename(image))
    shutil.copyfile(image, dst)
    log("copied %s (%d UF2 blocks) to %s; the board reboots into it" % (image, blocks, drive))


def add_arguments(parser):
    parser.add_argument("--board", required=True, choices=("esp32", "pico"))
    parser.add_argument("--port", default=None,
                        help="esp32: serial device; pico: the RPI-RP2 drive (default: found)")
    parser.add_argument("--chip", default="esp32", choices=sorted(ESP32_OFFSET), help="esp32 chip variant")
    parser.add_argument("--baud", type=int, default=460800)
    parser.add_argument("--erase", action="store_true", help="erase the whole flash first (esp32)")
    parser.add_argument("image", help="MicroPython image: .bin (esp32) or .uf2 (pico)")


def run(args) -> int:
    try:
        if not os.path.isfile(args.image):
            raise FlashUsage("%s: no such image file" % args.image)
        if args.board == "esp32":
            if not args.port:
                raise FlashUsage("--port: the esp32's serial device is required (e.g. /dev/ttyUSB0)")
            if "://" not in args.port and not os.path.exists(args.port):
                raise FlashUsage("--port %s: no such device" % args.port)
            flash_esp32(args.port, args.image, args.chip, args.baud, args.erase)
        else:
            flash_rp2040(args.port, args.image)
    except FlashUsage as exc:
        print("lander flash: %s" % exc, file=sys.stderr)
        return 2
    except FlashFailed as exc:
        print("lander flash: %s" % exc, file=sys.stderr)
        return 1
    return 0
