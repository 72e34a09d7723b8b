"""Emulated board flash filesystem (in memory), with a power-cut fault.

`FlashEmu.open(path, mode)` returns a file object with the MicroPython VFS
file methods the firmware uses (read, readinto, write, seek, tell, flush,
close, context manager). Writes land in flash as they are made (LittleFS
commits on flush/close; the worst case for a power cut is a write that is
cut part-way, which is what `power_cut()` models): it truncates the last
write to a random shorter length and invalidates open files.
`fail_writes` makes every write raise OSError(EIO) (worn / full flash).
"""
from __future__ import annotations

import errno
import random

from host_tools.emu.bus import Faults


class FlashFile:
    def __init__(self, fs: "FlashEmu", path: str, mode: str):
        self.fs, self.path, self.mode = fs, path, mode
        self.pos = 0
        self.closed = False
        self.gen = fs.generation
        if "a" in mode:
            self.pos = len(fs.files[path])

    def _data(self) -> bytearray:
        if self.closed or self.gen != self.fs.generation:
            raise OSError(errno.EIO, "file closed by power cut")
        return self.fs.files[self.path]

    def read(self, n: int = -1) -> bytes:
        d = self._data()
        end = len(d) if n is None or n < 0 else min(len(d), self.pos + n)
        out = bytes(d[self.pos:end])
        self.pos = end
        return out

    def readinto(self, buf) -> int:
        d = self._data()
        n = max(0, min(len(buf), len(d) - self.pos))
        buf[:n] = d[self.pos:self.pos + n]
        self.pos += n
        return n

    def write(self, buf) -> int:
        d = self._data()
        if "r" in self.mode and "+" not in self.mode:
            raise OSError(errno.EBADF, "read-only")
        if self.fs.fail_writes:
            raise OSError(errno.EIO, "flash write failed")
        data = bytes(buf)
        if self.pos > len(d):
            d.extend(b"\xff" * (self.pos - len(d)))
        d[self.pos:self.pos + len(data)] = data
        self.fs.last_write = (self.path, self.pos, len(data))
        self.fs.bytes_written += len(data)
        self.pos += len(data)
        return len(data)

    def seek(self, pos: int, whence: int = 0) -> int:
        d = self._data()
        self.pos = pos if whence == 0 else (self.pos + pos if whence == 1 else len(d) + pos)
        return self.pos

    def tell(self) -> int:
        return self.pos

    def flush(self) -> None:
        self._data()
        self.fs.flushes += 1

    def close(self) -> None:
        self.closed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class FlashEmu:
    def __init__(self, faults: Faults | None = None):
        self.faults = faults or Faults()
        self.files: dict[str, bytearray] = {}
        self.last_write: tuple | None = None
        self.generation = 0
        self.bytes_written = 0
        self.flushes = 0
        self.fail_writes = False

    def open(self, path: str, mode: str = "r"):
        if "w" in mode:
            self.files[path] = bytearray()
        elif path not in self.files:
            if "a" in mode:
                self.files[path] = bytearray()
            else:
                raise OSError(errno.ENOENT, path)
        return FlashFile(self, path, mode)

    def listdir(self, path: str = "/") -> list[str]:
        return sorted(self.files)

    def remove(self, path: str) -> None:
        del self.files[path]

    def stat_size(self, path: str) -> int:
        return len(self.files[path])

    def power_cut(self, keep: int | None = None, rng: random.Random | None = None) -> int:
        """Power lost during the last write: only `keep` of its bytes (random if
        None, always fewer than written) reach flash. Returns the bytes lost."""
        self.generation += 1          # every open file is gone with the power
        if self.last_write is None:
            return 0
        path, pos, n = self.last_write
        rng = rng or self.faults.rng
        if keep is None:
            keep = rng.randrange(0, n) if n > 0 else 0
        keep = max(0, min(n - 1, keep)) if n > 0 else 0
        d = self.files[path]
        if pos + n == len(d):
            del d[pos + keep:]
        else:
            # the write was not at the end of the file: model its lost tail
            # as erased flash
            for i in range(pos + keep, min(len(d), pos + n)):
                d[i] = 0xFF
        self.last_write = None
        return n - keep
