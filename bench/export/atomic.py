"""Write a file so that a reader (or a crash) sees the old file or the new one, never half.

The bytes go to a temporary file in the same directory (same file system, so the rename is
atomic), which is flushed and fsynced before `os.replace` puts it in place; the directory is
fsynced after, so the new name survives a power cut too. A failure removes the temporary file
and leaves whatever was there before untouched.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_bytes(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Replace `path` with `data` atomically (temporary file, fsync, rename, fsync dir)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)  # mkstemp makes it 0600: result files are for everyone to read
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_directory(path.parent)


def write_text(path: Path, text: str) -> None:
    """`write_bytes` of UTF-8 text; newlines are written as given (no platform translation)."""
    write_bytes(path, text.encode("utf-8"))


def fsync_directory(directory: Path) -> None:
    """Make a rename or a new name in `directory` durable (a no-op where it is not possible)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
