"""Reading files a user points at, without trusting what they are.

A path may name a folder, a FIFO that never ends, `/dev/zero` behind a symlink,
or a file of gigabytes. `read_bounded` opens without blocking, checks that it has
a regular file, and never reads more than the limit plus one byte.
"""

from __future__ import annotations

import os
import stat


class NotARegularFileError(OSError):
    """The path exists but is a folder, device, FIFO or socket."""


class TooLargeError(OSError):
    """The file is over the size limit for what it holds."""


def describe_size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    return f"{size / 1024:.0f} KB" if size >= 1024 else f"{size} bytes"


def kind_of(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def read_bounded(path: str | os.PathLike, limit: int) -> bytes:
    """The bytes of a regular file of at most `limit` bytes; OSError (with a clear strerror) otherwise."""
    # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotARegularFileError(0, f"is {kind_of(info.st_mode)}, not a regular file", str(path))
        if info.st_size > limit:
            raise TooLargeError(0, _too_large(info.st_size, limit), str(path))
        chunks, total = [], 0
        while total <= limit:  # the size can change after fstat: count what is read
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:
            raise TooLargeError(0, _too_large(total, limit, grew=True), str(path))
        return b"".join(chunks)
    finally:
        os.close(fd)


def _too_large(size: int, limit: int, grew: bool = False) -> str:
    amount = f"more than {describe_size(limit)}" if grew else describe_size(size)
    return f"is {amount}, over the {describe_size(limit)} limit"
