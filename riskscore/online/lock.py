"""One process at a time owns a checkpoint file (private).

Two processes saving their own state to one checkpoint would each replace the other's
(the last save wins, silently losing the other's events). So the first process that
restores from or saves to ``FILE`` takes an exclusive ``flock`` on a sidecar
``FILE.lock`` (created ``0600``, holding the owner's process id) and keeps it until it
releases the file or exits; any other process fails at once with a
:class:`~riskscore.CheckpointError` naming the file. The kernel drops a ``flock`` with its
process, so a crashed or killed owner leaves no stale lock: the sidecar stays, unlocked,
and the next process takes it over. The sidecar is never deleted (deleting it would let
two processes lock two different files of one name).

Within one process the claims on a file are counted: several scorers of one process share
it, and the lock goes with the last claim (:meth:`CheckpointLock.release`, or when the
claim is garbage collected). A child made by ``fork`` is another process: it inherits no
claim. Where ``fcntl`` does not exist (Windows) claims are counted but lock nothing.
"""

from __future__ import annotations

import os
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from riskscore.exceptions import CheckpointError
from riskscore.io.private import FILE_MODE

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks, checkpoints unguarded
    fcntl = None  # type: ignore[assignment]

__all__ = ["CheckpointLock", "claim", "lock_path"]


@dataclass(slots=True)
class _Held:
    """This process's lock on one sidecar: its descriptor (-1: none) and claims."""

    fd: int
    claims: int = 0


#: Sidecar path -> the lock this process holds on it.
_HELD: dict[str, _Held] = {}
# Reentrant: a claim garbage collected while another is taken releases under the guard.
_GUARD = threading.RLock()


def lock_path(path: str | os.PathLike[str]) -> Path:
    """The sidecar lock file of the checkpoint at ``path`` (beside the file a symlink
    points to, so that two names of one checkpoint share one lock)."""
    return Path(f"{os.path.realpath(path)}.lock")


class CheckpointLock:
    """This process's claim on a checkpoint file (:func:`claim`); a context manager.

    The file stays this process's until every claim on it is released
    (:meth:`release`, the end of a ``with`` block, or garbage collection) or the
    process exits.
    """

    __slots__ = ("__weakref__", "_release", "path")

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        key = str(lock_path(path))
        held = _acquire(self.path, key)
        self._release = weakref.finalize(self, _drop, key, held)

    def release(self) -> None:
        """Give up this claim (again: nothing)."""
        self._release()

    def __enter__(self) -> CheckpointLock:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def claim(path: str | os.PathLike[str]) -> CheckpointLock:
    """Make this process the owner of the checkpoint at ``path`` (which need not exist).

    Raises
    ------
    CheckpointError
        Another process owns it, or its lock file cannot be locked.
    """
    return CheckpointLock(path)


def _acquire(path: Path, key: str) -> _Held:
    with _GUARD:
        held = _HELD.get(key)
        if held is None:
            held = _HELD[key] = _Held(-1 if fcntl is None else _lock(path, key))
        held.claims += 1
        return held


def _lock(path: Path, key: str) -> int:
    """A descriptor of the sidecar ``key`` holding its exclusive lock, or CheckpointError."""
    try:
        fd = os.open(key, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot open its lock file {key}: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        owner = _owner(fd)
        os.close(fd)
        raise CheckpointError(
            f"{path} is in use by another process{owner} (it holds {key}); one process at "
            "a time may resume from or save to a checkpoint: stop it, or give another file"
        ) from None
    except OSError as exc:
        os.close(fd)
        raise CheckpointError(f"{path}: cannot lock {key}: {exc.strerror}") from None
    # The owner's id, for the message above; the lock, not this text, is what counts.
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def _owner(fd: int) -> str:
    """`` (pid N)`` as the owner wrote it in the sidecar, or nothing."""
    try:
        text = os.pread(fd, 32, 0).decode("ascii").strip()
    except (OSError, UnicodeDecodeError):
        return ""
    return f" (pid {text})" if text.isdigit() else ""


def _drop(key: str, held: _Held) -> None:
    with _GUARD:
        held.claims -= 1
        if held.claims == 0 and _HELD.get(key) is held:
            del _HELD[key]
            if held.fd >= 0:
                os.close(held.fd)  # closing the last descriptor releases the flock


def _forget_after_fork() -> None:
    """In a forked child: the parent's locks are not the child's (closing the inherited
    descriptors leaves the parent's locks in place)."""
    for held in _HELD.values():
        if held.fd >= 0:
            os.close(held.fd)
        held.fd = -1
    _HELD.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)
