"""Reading files that may be hostile: regular files only, never more than a bound, never
waiting.

Users name files (a chain file, ``--inputs``, ``edit --file``) and run folders, which get
shared, hold files of their own. Any of them may be ``/dev/zero`` or ``/dev/urandom`` (endless),
a FIFO (whose ``open`` waits for a writer forever), a folder, a 6 GB sparse file, or a symbolic
link to one of those. :func:`read_bytes` refuses all but regular files before opening them,
opens with ``O_NONBLOCK`` (a FIFO swapped in meanwhile cannot hang the open), checks again what
it opened and reads at most ``limit`` bytes, however large the file claims or grows to be.

A refusal is a :class:`FileRefused`, an ``OSError``: code that treats an unreadable file as
missing or damaged treats these so too. :func:`reason` words any ``OSError`` for a message.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_BINARY", 0)
)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CHUNK = 1 << 20


class FileRefused(OSError):
    """A file that is not read: not a regular file, or larger than the bound."""

    def __str__(self) -> str:
        return str(self.strerror)


def kind(mode: int) -> str:
    """What a file that is not a regular file is, for a message."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a device (character special file)"
    if stat.S_ISBLK(mode):
        return "a device (block special file)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    return "not a regular file"


def _check(st: os.stat_result, path: str | Path, limit: int) -> None:
    if not stat.S_ISREG(st.st_mode):
        raise FileRefused(errno.EINVAL, f"it is {kind(st.st_mode)}, not a regular file", str(path))
    if st.st_size > limit:
        raise FileRefused(
            errno.EFBIG, f"it is {st.st_size:,} bytes; the limit is {limit:,}", str(path)
        )


def read_bytes(
    path: str | Path, limit: int, *, dir_fd: int | None = None, follow: bool = True
) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes. Raises OSError (FileRefused for
    anything but such a file). ``dir_fd``: ``path`` is relative to that folder; ``follow``:
    False refuses a symbolic link instead of reading what it points to."""
    where = {} if dir_fd is None else {"dir_fd": dir_fd}
    _check(os.stat(path, follow_symlinks=follow, **where), path, limit)  # noqa: PTH116 (dir_fd)
    fd = os.open(path, _FLAGS | (0 if follow else _NOFOLLOW), **where)
    try:
        st = os.fstat(fd)
        _check(st, path, limit)  # what was opened: the file may have been swapped since
        chunks: list[bytes] = []
        size = 0
        want = st.st_size + 1  # the whole file and a byte more (an end seen in one read)
        while True:
            chunk = os.read(fd, min(limit + 1 - size, want - size if size < want else _CHUNK))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:  # it grew, or it claimed a smaller size (/proc files do)
                raise FileRefused(
                    errno.EFBIG, f"it holds more than {limit:,} bytes (the limit)", str(path)
                )
    finally:
        os.close(fd)
    return b"".join(chunks)


def reason(exc: OSError) -> str:
    """Why a file could not be read, as a phrase (``not found``, ``it is a FIFO...``)."""
    if isinstance(exc, FileRefused):
        return str(exc)
    if isinstance(exc, FileNotFoundError):
        return "not found"
    return exc.strerror.lower() if exc.strerror else str(exc)


#: the hint for a file that is not a regular file
REGULAR_HINT = "give the path of a regular file (a folder, a FIFO or a device cannot be read)"
