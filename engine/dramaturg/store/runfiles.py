"""Files inside a run folder, reached without following symbolic links.

Run folders get shared, so their contents are untrusted: ``steps/`` may arrive as a symbolic
link to a folder elsewhere, ``steps/title.json`` as a 6 GB sparse file or a FIFO. Every path
inside a run folder is walked from the folder one name at a time, each folder opened relative to
the one before with ``O_NOFOLLOW`` (``openat``): a write cannot land outside the run folder, nor
a read show a file from outside, whatever is swapped in meanwhile. A link on the way is a
:class:`LinkRefused` (an ``OSError``). Reads are bounded (:mod:`dramaturg.safeio`).

:func:`strange_entries` lists what a run folder written by Dramaturg never holds (links, FIFOs,
devices, sockets), for a clear refusal before a command starts.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

from ..safeio import kind, read_bytes

_DIR = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
#: every call below takes dir_fd (POSIX); elsewhere each name is checked with lstat instead
AT = {os.open, os.stat, os.mkdir, os.unlink, os.rename} <= os.supports_dir_fd
#: entries looked at by strange_entries at most (a tampered folder may hold millions)
MAX_SCAN = 200_000


class LinkRefused(OSError):
    """A symbolic link (or a file) where a run folder has a folder."""

    def __str__(self) -> str:
        return str(self.strerror)


def _refused(root: Path, parts: Sequence[str], what: str) -> LinkRefused:
    rel = "/".join(parts)
    return LinkRefused(
        errno.ELOOP, f"{rel} in the run folder is {what}, not a folder", str(root / rel)
    )


def _open_sub(fd: int, name: str, root: Path, parts: Sequence[str], create: bool) -> int:
    try:
        return os.open(name, _DIR | _NOFOLLOW, dir_fd=fd)
    except FileNotFoundError:
        if not create:
            raise
        with contextlib.suppress(FileExistsError):  # made meanwhile: opened below as any
            os.mkdir(name, 0o777, dir_fd=fd)
        return _open_sub(fd, name, root, parts, create=False)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
            st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            raise _refused(root, parts, kind(st.st_mode)) from None
        raise


@contextlib.contextmanager
def folder(root: Path, parts: Sequence[str], *, create: bool = False) -> Iterator[int]:
    """A descriptor of ``root/parts[0]/parts[1]/...``, each opened without following a link
    (missing folders made when ``create``). ``root`` itself is opened as given."""
    fd = os.open(root, _DIR)
    try:
        for k, name in enumerate(parts):
            sub = _open_sub(fd, name, root, parts[: k + 1], create)
            os.close(fd)
            fd = sub
        yield fd
    finally:
        os.close(fd)


def _checked_path(root: Path, parts: Sequence[str], *, create: bool) -> Path:
    """Without ``dir_fd``: the path, every folder on the way checked with lstat."""
    here = root
    for k, name in enumerate(parts):
        here = here / name
        try:
            st = os.lstat(here)
        except FileNotFoundError:
            if not create:
                raise
            here.mkdir(exist_ok=True)
            continue
        if not stat.S_ISDIR(st.st_mode):
            raise _refused(root, parts[: k + 1], kind(st.st_mode))
    return here


def read(root: Path, rel: str, limit: int) -> bytes:
    """A file's bytes (at most ``limit``; a link, a FIFO or a device refused). Raises
    OSError."""
    *parts, name = rel.split("/")
    if not AT:
        return read_bytes(_checked_path(root, parts, create=False) / name, limit, follow=False)
    with folder(root, parts) as fd:
        return read_bytes(name, limit, dir_fd=fd, follow=False)


def lstat(root: Path, rel: str) -> os.stat_result | None:
    """The file itself (a link is not followed); None when it or a folder on the way is not
    there, or a folder on the way is a link."""
    *parts, name = rel.split("/")
    try:
        if not AT:
            return os.lstat(_checked_path(root, parts, create=False) / name)
        with folder(root, parts) as fd:
            return os.stat(name, dir_fd=fd, follow_symlinks=False)
    except OSError:
        return None


def is_file(root: Path, rel: str) -> bool:
    st = lstat(root, rel)
    return st is not None and stat.S_ISREG(st.st_mode)


def write(root: Path, rel: str, data: bytes, tmp_name: str, *, durable: bool, flags: int) -> None:
    """Write ``rel`` atomically: a temporary file ``tmp_name`` in its folder (made if missing),
    renamed over it (a link in its place is replaced, never followed). Raises OSError."""
    *parts, name = rel.split("/")
    if not AT:
        here = _checked_path(root, parts, create=True)
        fd = os.open(here / tmp_name, flags, 0o666)
        try:
            _write_fd(fd, data, durable)
            os.replace(here / tmp_name, here / name)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(here / tmp_name)
            raise
        return
    with folder(root, parts, create=True) as dir_fd:
        fd = os.open(tmp_name, flags, 0o666, dir_fd=dir_fd)
        try:
            _write_fd(fd, data, durable)
            os.replace(tmp_name, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name, dir_fd=dir_fd)
            raise


def _write_fd(fd: int, data: bytes, durable: bool) -> None:
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        if durable:
            fh.flush()
            os.fsync(fh.fileno())


def unlink(root: Path, rel: str) -> None:
    """Delete a file of the run folder (never through a link). Raises OSError."""
    *parts, name = rel.split("/")
    if not AT:
        os.unlink(_checked_path(root, parts, create=False) / name)
        return
    with folder(root, parts) as fd:
        os.unlink(name, dir_fd=fd)


def names(root: Path, rel: str) -> list[str]:
    """The names in a folder of the run folder ([] when it is not there or is a link)."""
    parts = rel.split("/") if rel else []
    try:
        if not AT:
            return [p.name for p in _checked_path(root, parts, create=False).iterdir()]
        with folder(root, parts) as fd:
            return os.listdir(fd)  # noqa: PTH208 (a descriptor: no path to follow)
    except OSError:
        return []


def open_append(root: Path, rel: str, flags: int) -> IO[str]:
    """A text file of the run folder opened to append to (its folder made if missing, a link in
    its place refused). Raises OSError."""
    *parts, name = rel.split("/")
    mode = flags | os.O_WRONLY | os.O_APPEND | os.O_CREAT | _NOFOLLOW
    if not AT:
        fd = os.open(_checked_path(root, parts, create=True) / name, mode, 0o666)
    else:
        with folder(root, parts, create=True) as dir_fd:
            fd = os.open(name, mode, 0o666, dir_fd=dir_fd)
    return os.fdopen(fd, "a", encoding="utf-8")


def strange_entries(root: Path) -> list[tuple[str, str]]:
    """(relative path, what it is) of each entry of the run folder that is neither a folder nor
    a regular file: symbolic links (not followed), FIFOs, devices, sockets."""
    found: list[tuple[str, str]] = []
    todo = [""]
    seen = 0
    while todo and seen < MAX_SCAN:
        rel = todo.pop()
        try:
            with os.scandir(root / rel if rel else root) as entries:
                for entry in entries:
                    seen += 1
                    path = f"{rel}/{entry.name}" if rel else entry.name
                    if entry.is_symlink():
                        found.append((path, _link_text(entry.path)))
                    elif entry.is_dir(follow_symlinks=False):
                        todo.append(path)
                    elif not entry.is_file(follow_symlinks=False):
                        found.append((path, kind(entry.stat(follow_symlinks=False).st_mode)))
        except OSError:
            continue
    return sorted(found)


def _link_text(path: str) -> str:
    try:
        return f"a symbolic link to {Path(path).readlink()}"
    except OSError:
        return "a symbolic link"
