"""Files that name accounts and children's ages are readable by their owner only.

Scores, alerts, quarantined rows, per-account features, review queues, checkpoints and
NCMEC drafts hold account ids beside ages, tiers and reasons: personal data about
children. riskscore creates them with mode ``0600`` (:data:`FILE_MODE`), whatever the
umask, as it does its SQLite files. Files meant to be shared (a transparency report,
an evaluation's metrics, synthetic data) keep the umask's mode.

One rule (:func:`check_private`) decides whether riskscore may write into, lock or resume
from a private file that already exists, so that a file another user planted in a shared
folder is never used: it must not be a symbolic link (opened with ``O_NOFOLLOW``), and a
regular file must be owned by this user with no permissions for group or others (a FIFO:
owned by this user). Anything else is refused with :class:`UnsafeFileError`, naming the
file, its owner and mode, and how to fix it. Every private writer into a path that may
already exist opens it with :func:`open_private`, which applies the rule to the descriptor
it opened (writers into a folder they have just made, such as the regulatory exports'
staging folder, create their files with ``O_EXCL``).
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import stat
import threading
import time
from pathlib import Path
from typing import Final, TextIO

from riskscore.exceptions import RiskscoreError

__all__ = [
    "FILE_MODE",
    "FifoAppendError",
    "FifoAppendTimeoutError",
    "UnsafeFileError",
    "append_private_lines",
    "check_private",
    "make_private",
    "open_private",
    "open_private_append",
]

#: Mode of a file that names accounts: read and write for its owner only.
FILE_MODE = 0o600


class UnsafeFileError(RiskscoreError, PermissionError):
    """A private file that already exists is not safe to use (:func:`check_private`): a
    symbolic link, another user's file, or one that group or others may read or write."""


def check_private(path: str | os.PathLike[str], found: os.stat_result) -> None:
    """Refuse an existing file riskscore would write private data into, lock or resume from,
    unless it is safe: not a symbolic link; a regular file owned by this user with no
    permissions for group or others; a FIFO owned by this user; or a character device
    (``/dev/null``). ``found`` is the file's ``fstat`` (of a descriptor opened with
    ``O_NOFOLLOW``) or ``lstat``.

    Raises
    ------
    UnsafeFileError
        Naming ``path``, its owner and mode, and how to fix it.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "alerts.jsonl"
    >>> path.touch(mode=0o644)
    >>> check_private(path, path.lstat())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    riskscore.io.private.UnsafeFileError: ... mode 0644: ...: remove it, or ... chmod 600 ...
    """
    me = os.geteuid() if hasattr(os, "geteuid") else None  # None: Windows, no owners to compare
    mode = found.st_mode
    kind = stat.S_IFMT(mode)
    if stat.S_ISREG(mode):
        safe = me is None or (found.st_uid == me and not stat.S_IMODE(mode) & 0o077)
    elif stat.S_ISFIFO(mode):
        safe = me is None or found.st_uid == me
    else:
        safe = stat.S_ISCHR(mode)
    if safe:
        return
    what = {
        stat.S_IFLNK: "a symbolic link",
        stat.S_IFREG: "a file",
        stat.S_IFIFO: "a FIFO",
        stat.S_IFDIR: "a directory",
    }.get(kind, "not a regular file")
    fix = f"if it is yours, chmod 600 {path}" if stat.S_ISREG(mode) else "give another file"
    raise UnsafeFileError(
        f"{path} is {what} owned by uid {found.st_uid} with mode {stat.S_IMODE(mode):04o}: "
        "riskscore writes, locks or resumes from a file of account ids and children's ages "
        f"only if it is a regular file (not a link) owned by you (uid {me}) that no one else "
        f"may read or write: remove it, or {fix}"
    )


def open_private(path: str | os.PathLike[str], flags: int) -> tuple[int, bool]:
    """Open ``path`` with ``flags`` (plus ``O_NOFOLLOW`` and ``O_CLOEXEC``), creating it with
    mode :data:`FILE_MODE` if it does not exist; an existing file must pass
    :func:`check_private` (checked on the opened descriptor, before anything is written).

    Returns
    -------
    (int, bool)
        The descriptor, and whether this call created the file.

    Raises
    ------
    UnsafeFileError
        The file exists and is not safe to use (a symbolic link, another user's file, one
        others may read or write).
    """
    flags |= getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        pass
    else:
        with contextlib.suppress(OSError):  # exactly FILE_MODE, whatever the umask
            os.chmod(fd, FILE_MODE)
        return fd, True
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise
        check_private(path, os.lstat(path))  # a symbolic link: refused, named
        raise  # pragma: no cover - lstat found no link: a loop of links elsewhere
    try:
        check_private(path, os.fstat(fd))
    except BaseException:
        os.close(fd)
        raise
    return fd, False


def make_private(path: str | os.PathLike[str]) -> None:
    """Set ``path``'s mode to :data:`FILE_MODE` (before it is moved into place)."""
    os.chmod(path, FILE_MODE)


def open_private_append(path: str | os.PathLike[str]) -> TextIO:
    """Open ``path`` to append text lines, creating it with mode :data:`FILE_MODE`.

    A file that already exists must be safe (:func:`check_private`: not a link, yours,
    mode ``0600`` or stricter). A FIFO is opened only when a process reads it: with none,
    the open would wait for ever.

    Raises
    ------
    UnsafeFileError
        ``path`` exists and is not safe to write into.
    OSError
        ``ENXIO``: ``path`` is a FIFO that no process reads (the message says so).

    Examples
    --------
    >>> import pathlib, stat, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "alerts.jsonl"
    >>> with open_private_append(path) as fh:
    ...     _ = fh.write("{}\\n")
    >>> oct(stat.S_IMODE(path.stat().st_mode))
    '0o600'
    """
    fd = _open_append(path)
    os.set_blocking(fd, True)  # writes wait for the reader as to any file
    return open(fd, "a", encoding="utf-8")


def _open_append(path: str | os.PathLike[str]) -> int:
    """A descriptor appending to ``path`` (created with :data:`FILE_MODE`; an existing one
    must pass :func:`check_private`), non-blocking."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_NONBLOCK  # a FIFO: no wait
    try:
        return open_private(Path(path), flags)[0]
    except OSError as exc:
        if exc.errno != errno.ENXIO:
            raise
        raise OSError(
            errno.ENXIO,
            "a FIFO that no process reads (start its reader first: writing would wait for ever)",
            str(path),
        ) from None


def _write_within(fd: int, data: bytes, deadline: float | None) -> int:
    """Write ``data`` to ``fd``; a non-blocking one (a FIFO's) waits for its reader to make
    room until ``deadline`` (``time.monotonic``; None: for ever). The bytes written: fewer
    than ``len(data)`` when the deadline passed."""
    poll = select.poll()
    poll.register(fd, select.POLLOUT)
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view) :]
            continue
        except BlockingIOError:
            pass
        left = None if deadline is None else max(0.0, deadline - time.monotonic()) * 1000
        if not poll.poll(left):
            break
    return len(data) - len(view)


#: A write to a pipe of at most this many bytes is made whole or not at all (POSIX).
PIPE_BUF: Final = select.PIPE_BUF

# FIFOs (device, inode) whose last append gave up inside a record longer than PIPE_BUF:
# the next append to one starts with a newline, so that its first record has a line of
# its own (the part-written one is a line no reader parses, never joined to it).
_open_lines: set[tuple[int, int]] = set()
_open_lines_lock = threading.Lock()


class FifoAppendError(OSError):
    """An append to a FIFO (or another file that is not a regular one) that stopped
    part-way: its reader closed it (``EPIPE``), or another write error.

    Attributes
    ----------
    written : int
        The records written whole before it stopped; the others were not written whole.
    """

    def __init__(self, code: int, message: str, path: object, written: int) -> None:
        super().__init__(code, message, str(path))
        self.written = written


class FifoAppendTimeoutError(FifoAppendError):
    """An append to a FIFO whose reader made no room in time (``ETIMEDOUT``).

    Attributes
    ----------
    written : int
        The records written whole before it gave up; the others were not begun, but for
        one longer than :data:`PIPE_BUF`, which may be part-written (the message says so).
    """

    def __init__(self, message: str, path: object, written: int) -> None:
        super().__init__(errno.ETIMEDOUT, message, path, written)


def _chunks(records: list[bytes], limit: int) -> list[tuple[int, bytes]]:
    """``records`` packed in order into writes of at most ``limit`` bytes each (one record
    longer than that alone), with how many records each holds."""
    out: list[tuple[int, bytes]] = []
    for record in records:
        if out and len(out[-1][1]) + len(record) <= limit:
            out[-1] = (out[-1][0] + 1, out[-1][1] + record)
        else:
            out.append((1, record))
    return out


def _append_to_stream(
    fd: int, key: tuple[int, int], lines: list[str], wait_s: float | None, path: object
) -> None:
    """Append ``lines`` to a FIFO (or another file that is not a regular one) in writes of
    whole records of at most :data:`PIPE_BUF` bytes, each made whole or not at all, so that
    a reader that stalls for ``wait_s`` leaves no half record for the next one to join."""
    deadline = None if wait_s is None else time.monotonic() + wait_s
    records = [(line + "\n").encode("utf-8") for line in lines]
    with _open_lines_lock:
        if key in _open_lines:  # a record part-written by an append that gave up
            records[0] = b"\n" + records[0]
    written = 0
    for n, chunk in _chunks(records, PIPE_BUF):
        try:
            done = _write_within(fd, chunk, deadline)
        except OSError as exc:  # its reader closed it (EPIPE): those before were written
            closed = " (a FIFO whose reader closed it)" if exc.errno == errno.EPIPE else ""
            raise FifoAppendError(
                exc.errno or errno.EIO,
                f"{exc.strerror}: the append stopped, {written} of {len(records)} records "
                f"written{closed}",
                path,
                written,
            ) from exc
        with _open_lines_lock:
            if done == len(chunk):
                _open_lines.discard(key)
            elif done:
                _open_lines.add(key)
        if done < len(chunk):
            part = (
                f"; record {written + 1} ({len(chunk)} bytes, longer than a pipe writes "
                "whole) was part-written, and the next append starts a new line"
                if done
                else ""
            )
            raise FifoAppendTimeoutError(
                f"its reader read nothing for {wait_s:g} s (a FIFO whose reader stalled): the "
                f"append gave up, {written} of {len(records)} records written{part}",
                path,
                written,
            )
        written += n


def append_private_lines(
    path: str | os.PathLike[str], lines: list[str], *, wait_s: float | None = None
) -> None:
    """Append ``lines`` (each without its newline) to ``path`` (:func:`open_private_append`)
    so that no half record is left for the next append to run into (one line of two
    records, which no reader reads). A regular file takes them in one write, whole or not
    at all: when the write fails (a full disk, ``ENOSPC``) the file is cut back to its
    length before it. A FIFO takes them in writes of whole records of at most
    :data:`PIPE_BUF` bytes, which a pipe makes whole or not at all, so that a reader that
    stalls stops the append between two records (one longer than that may be cut: the
    next append to the FIFO then starts a new line).

    Parameters
    ----------
    path : path-like
        The file (created with mode :data:`FILE_MODE`), or a FIFO a process reads.
    lines : list of str
        The records.
    wait_s : float, optional
        How long a FIFO's reader may keep the write waiting for room in its pipe, in all
        (None: for ever, as any file's writer waits for its disk). A long-running service
        gives a bound: a reader that stalled would otherwise hold it for ever.

    Raises
    ------
    OSError
        The file could not be opened (a directory, a FIFO no process reads) or written
        (a regular file is as it was).
    FifoAppendTimeoutError
        ``ETIMEDOUT``: a FIFO's reader made no room for ``wait_s``; its ``written`` records
        were appended whole, the others were not.
    FifoAppendError
        A FIFO's write failed part-way (its reader closed it: ``EPIPE``); its ``written``
        records were appended whole, the others were not (the timeout above is one).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "alerts.jsonl"
    >>> append_private_lines(path, ['{"a": 1}', '{"a": 2}'])
    >>> path.read_text()
    '{"a": 1}\\n{"a": 2}\\n'
    """
    if not lines:
        return
    fd = _open_append(path)
    try:
        found = os.fstat(fd)
        if wait_s is None or stat.S_ISREG(found.st_mode):
            os.set_blocking(fd, True)  # a disk's write waits for the disk
        if not stat.S_ISREG(found.st_mode):
            _append_to_stream(fd, (found.st_dev, found.st_ino), lines, wait_s, path)
            return
        data = ("\n".join(lines) + "\n").encode("utf-8")
        try:
            _write_within(fd, data, None)  # blocking: whole, or an error (ENOSPC)
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, found.st_size)
            raise
    finally:
        os.close(fd)
