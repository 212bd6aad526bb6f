"""Files that name accounts and children's ages are readable by their owner only.

Scores, alerts, quarantined rows, per-account features, review queues, checkpoints and
NCMEC drafts hold account ids beside ages, tiers and reasons: personal data about
children. riskscore creates them with mode ``0600`` (:data:`FILE_MODE`), whatever the
umask, as it does its SQLite files. Files meant to be shared (a transparency report,
an evaluation's metrics, synthetic data) keep the umask's mode.
"""

from __future__ import annotations

import errno
import os
import select
import stat
import time
from pathlib import Path
from typing import TextIO

__all__ = ["FILE_MODE", "append_private_lines", "make_private", "open_private_append"]

#: Mode of a file that names accounts: read and write for its owner only.
FILE_MODE = 0o600


def make_private(path: str | os.PathLike[str]) -> None:
    """Set ``path``'s mode to :data:`FILE_MODE` (before it is moved into place)."""
    os.chmod(path, FILE_MODE)


def open_private_append(path: str | os.PathLike[str]) -> TextIO:
    """Open ``path`` to append text lines, creating it with mode :data:`FILE_MODE`.

    A file that already exists keeps its mode (its owner chose it). A FIFO is opened
    only when a process reads it: with none, the open would wait for ever.

    Raises
    ------
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
    """A descriptor appending to ``path`` (created with :data:`FILE_MODE`), non-blocking."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK  # a FIFO: no wait
    try:
        return os.open(Path(path), flags, FILE_MODE)
    except OSError as exc:
        if exc.errno != errno.ENXIO:
            raise
        raise OSError(
            errno.ENXIO,
            "a FIFO that no process reads (start its reader first: writing would wait for ever)",
            str(path),
        ) from None


def _write_within(fd: int, data: bytes, wait_s: float | None, path: object) -> None:
    """Write all of ``data`` to ``fd``; a non-blocking one (a FIFO's) waits for its reader to
    make room at most ``wait_s`` seconds in all (None: for ever)."""
    deadline = None if wait_s is None else time.monotonic() + wait_s
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
            raise OSError(
                errno.ETIMEDOUT,
                f"its reader read nothing for {wait_s:g} s (a FIFO whose reader stalled): the "
                f"write gave up, {len(data) - len(view)} of {len(data)} bytes written",
                str(path),
            )


def append_private_lines(
    path: str | os.PathLike[str], lines: list[str], *, wait_s: float | None = None
) -> None:
    """Append ``lines`` (each without its newline) to ``path`` in one write
    (:func:`open_private_append`), whole or not at all: when the write fails (a full disk,
    ``ENOSPC``) the file is cut back to its length before it, so that no half record is
    left for the next append to run into (one line of two records, which no reader reads).

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
        (a regular file is as it was); ``ETIMEDOUT``: a FIFO's reader made no room for
        ``wait_s`` (the pipe may hold the first part of the records: a FIFO has nothing to
        cut back).

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
    data = ("\n".join(lines) + "\n").encode("utf-8")
    fd = _open_append(path)
    try:
        found = os.fstat(fd)
        if wait_s is None or stat.S_ISREG(found.st_mode):
            os.set_blocking(fd, True)  # a disk's write waits for the disk
        try:
            _write_within(fd, data, wait_s, path)
        except OSError:
            try:
                if stat.S_ISREG(found.st_mode):  # a FIFO or a device has nothing to cut
                    os.ftruncate(fd, found.st_size)
            except OSError:
                pass
            raise
    finally:
        os.close(fd)
