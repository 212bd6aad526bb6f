"""One process at a time owns a checkpoint file (private).

Two processes saving their own state to one checkpoint would each replace the other's
(the last save wins, silently losing the other's events). So the first process that
restores from or saves to ``FILE`` takes an exclusive ``flock`` on a sidecar
``FILE.lock`` (created ``0600``, holding the owner's process id; an existing one is used
only if it is this user's regular file, not a link, mode ``0600``: else refused) and keeps
it until it releases the file or exits; any other process fails at once with a
:class:`~riskscore.CheckpointError` naming the file. The kernel drops a ``flock`` with its
process, so a crashed or killed owner leaves no stale lock: the sidecar stays, unlocked,
and the next process takes it over. A sidecar is deleted only by the process that created
it, when its last claim ends in an error (a refused checkpoint: a text file, another
kind of database, other options) so that a refusal leaves no new file; a process checks
after locking that the sidecar it locked is still the one at its path (else it opens the
new one), so a deleted sidecar never lets two processes lock two files of one name.

Within one process the claims on a file are counted: several scorers of one process share
it, and the lock goes with the last claim (:meth:`CheckpointLock.release`, or when the
claim is garbage collected). A child made by ``fork`` is another process: it inherits no
claim. Where ``fcntl`` does not exist (Windows) claims are counted but lock nothing.
"""

from __future__ import annotations

import contextlib
import os
import stat
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from riskscore.exceptions import CheckpointError
from riskscore.io.private import UnsafeFileError, open_private

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
    #: Whether this process created the sidecar (it then deletes it after a refusal).
    created: bool = False


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
        self._release = weakref.finalize(self, _drop, key, held, False)

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
        """Release this claim; after an error (the checkpoint refused), the last claim
        also deletes the sidecar if this process created it."""
        detached = self._release.detach() if exc_type is not None else None
        if detached is None:
            self.release()
        else:
            key, held, _ = detached[2]
            _drop(key, held, True)


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
            held = _HELD[key] = _Held(-1) if fcntl is None else _lock(path, key)
        held.claims += 1
        return held


#: Times a process opens a sidecar that its creator deletes before it is locked (each
#: such deletion follows a refusal: more in a row means something else deletes it).
_ATTEMPTS = 5


def _lock(path: Path, key: str) -> _Held:
    """The sidecar ``key`` open and exclusively locked (by a descriptor that is still the
    file at ``key``: its creator may delete it after a refusal), or CheckpointError."""
    for _ in range(_ATTEMPTS):
        fd, created = _open(path, key)
        _flock(path, key, fd)
        try:
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(key))
            except FileNotFoundError:
                same = False
            if same:
                # The owner's id, for the in-use message; the lock, not this text, counts.
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
                return _Held(fd, created=created)
        except OSError as exc:  # the descriptor is not left open (and locked) behind
            os.close(fd)
            raise CheckpointError(
                f"{path}: cannot use its lock file {key}: {exc.strerror}"
            ) from None
        os.close(fd)  # deleted since it was opened: take the file now at its path
    raise CheckpointError(f"{path}: its lock file {key} keeps being deleted; try again")


def _open(path: Path, key: str) -> tuple[int, bool]:
    """A descriptor of the sidecar ``key``, and whether this call created it. An existing
    sidecar must be safe (:func:`~riskscore.io.private.check_private`: not a symbolic link,
    this user's regular file, mode ``0600``) before this process truncates and writes it."""
    try:
        fd, created = open_private(key, os.O_RDWR)
    except UnsafeFileError as exc:
        raise CheckpointError(f"{path}: refused its lock file: {exc}") from None
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot open its lock file {key}: {exc.strerror}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):  # a FIFO or a device is no lock file
        os.close(fd)
        raise CheckpointError(f"{path}: refused its lock file {key}: it is not a regular file")
    return fd, created


def _flock(path: Path, key: str, fd: int) -> None:
    """Lock ``fd`` (the sidecar ``key``) exclusively, or close it and raise CheckpointError."""
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


def _owner(fd: int) -> str:
    """`` (pid N)`` as the owner wrote it in the sidecar, or nothing."""
    try:
        text = os.pread(fd, 32, 0).decode("ascii").strip()
    except (OSError, UnicodeDecodeError):
        return ""
    return f" (pid {text})" if text.isdigit() else ""


def _drop(key: str, held: _Held, failed: bool) -> None:
    """Give up one claim; the last one closes the sidecar (releasing its lock), and when
    it ``failed`` (a refusal) deletes the sidecar first if this process created it."""
    with _GUARD:
        held.claims -= 1
        if held.claims == 0 and _HELD.get(key) is held:
            del _HELD[key]
            if held.fd >= 0:
                if failed and held.created:  # while locked: no other process holds it
                    with contextlib.suppress(OSError):
                        os.unlink(key)
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
