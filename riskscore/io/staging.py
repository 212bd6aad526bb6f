"""A job's output files appear together, or not at all.

A job that writes several files into one folder (``riskscore score``, in memory or out of
core) writes them into a staging folder inside it (``.riskscore-job-*``, on the same file
system) and moves each into place with an atomic rename once the job has succeeded. A job
that fails part-way (a bad row found in the last chunk, a full disk, an interrupt) leaves
the folder as it was: never a scores file cut short beside the alerts of an earlier run.

Two rules make a folder hold one run only:

* on success, a file the job owns but did not write this time is removed (the
  ``quarantine.jsonl`` of an earlier run with bad rows, when this run has none);
* on failure, only the files the job marked with :meth:`StagedOutputs.keep` are moved
  into place: the quarantine file named by the error "every row was quarantined"; never
  those of a job interrupted or failing for another reason (they would sit beside the
  files of an earlier run). Otherwise an output folder the job created is removed again.

The files are moved only once each can be (no target is a folder, no folder on the way
is a file), and under a lock on the output folder: two jobs into one folder move their
files one job after the other, so the folder holds one job's files, never some of each.

A job killed outright (SIGKILL, the out-of-memory killer) cleans nothing up: each job
holds a lock on its staging folder while it lives, and the next job into the folder
removes the staging folders no process holds (:func:`_sweep`).
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from riskscore.io.private import make_private

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no lock between jobs
    fcntl = None  # type: ignore[assignment]

__all__ = ["StagedOutputs", "staged_file", "staged_outputs"]

#: Prefix of the staging folder inside a job's output folder.
STAGING_PREFIX = ".riskscore-job-"
#: A staging folder unlocked and untouched this long is a dead job's (a job locks its
#: folder just after making it).
STALE_AFTER_S = 60.0


class StagedOutputs:
    """Where a job writes its files before they are moved into its output folder.

    Parameters
    ----------
    out_dir : Path
        The job's output folder (created, with the staging folder, at the first file).
    owned : sequence of str
        Names (relative to ``out_dir``) this job writes or removes: those it did not
        write this time are removed when it succeeds.
    named : Path, optional
        The output as the user named it (``out_dir``, the default, or the one file of
        :func:`staged_file`): what an error about the staging folder names
        (:meth:`name_outputs`).
    private : bool, default False
        The files name accounts (scores, alerts, quarantined rows): each is made
        readable by its owner only before it is moved into place
        (:mod:`riskscore.io.private`); otherwise they take the umask's mode.
    """

    def __init__(
        self,
        out_dir: Path,
        *,
        owned: Sequence[str] = (),
        named: Path | None = None,
        private: bool = False,
    ) -> None:
        self.out_dir = Path(out_dir)
        self.private = private
        self.named = self.out_dir if named is None else Path(named)
        self._owned = tuple(owned)
        self._keep: set[str] = set()
        self._root: Path | None = None
        self._was: Path | None = None  # the staging folder, once committed or abandoned
        self._closed = False
        self._made: list[Path] = []  # folders the job created, deepest first
        self._held: int | None = None  # the lock on the staging folder, while it lives

    @property
    def root(self) -> Path:
        """The staging folder (created on first use)."""
        if self._closed:
            raise RuntimeError("the outputs were already moved into place or abandoned")
        if self._root is None:
            self._made = [p for p in (self.out_dir, *self.out_dir.parents) if not p.exists()]
            self.out_dir.mkdir(parents=True, exist_ok=True)
            self._root = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=self.out_dir))
            self._held = _flock(self._root, wait=True)
            _sweep(self.out_dir, self._root)
        return self._root

    def __call__(self, name: str) -> Path:
        """The staging path of output ``name`` (relative to the output folder)."""
        return self.root / name

    def final(self, name: str) -> Path:
        """Where output ``name`` is once the job has succeeded."""
        return self.out_dir / name

    def final_of(self, staged: Path) -> Path:
        """Where the staged file ``staged`` is once the job has succeeded (also after)."""
        root = self._root if self._root is not None else self._was
        if root is None:
            raise ValueError(f"{staged} is not a staged output: nothing was staged")
        return self.out_dir / Path(staged).relative_to(root)

    def keep(self, name: str) -> None:
        """Move output ``name`` into place even if the job fails: the file its error names
        (call it just before raising that error)."""
        self._keep.add(name)

    def commit(self) -> None:
        """Move every staged file into place; remove the owned files not written."""
        try:
            with _locked(self.out_dir):
                written: set[str] = set()
                if self._root is not None:
                    root = self._root
                    files = (p for p in root.rglob("*") if p.is_file())
                    written = self._move(root, {p.relative_to(root).as_posix() for p in files})
                for name in self._owned:
                    if name not in written:
                        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
                            self.final(name).unlink()  # not there, or under a file not ours
                        _remove_if_empty(self.final(name).parent, self.out_dir)
        finally:
            self._discard()

    def abandon(self) -> None:
        """Leave the output folder as it was, but for the files marked by :meth:`keep`."""
        try:  # the job's own error goes on, not one of moving the kept files
            if self._root is not None:
                root = self._root
                with _locked(self.out_dir), contextlib.suppress(OSError):
                    self._move(root, {name for name in self._keep if (root / name).is_file()})
        finally:
            self._discard()
            for folder in self._made:  # a failed job creates no folder
                if not folder.is_dir() or any(folder.iterdir()):
                    break
                folder.rmdir()

    def name_outputs(self, exc: BaseException) -> None:
        """Make an :class:`OSError` about the staging folder (which could not be made, in
        a folder that cannot be written) or a file in it name the output the user gave,
        or the file's final path: the staging folder is the job's own, gone once the job
        ends, and its name tells the user nothing. Other errors are left as they are."""
        if not isinstance(exc, OSError) or exc.filename is None:
            return  # (setting a name on an error made without one changes its text)
        exc.filename = self._final_name(exc.filename)
        if exc.filename2 is not None:  # a move: the file staged, and its target
            exc.filename2 = self._final_name(exc.filename2)

    def _final_name(self, filename: object) -> object:
        if not isinstance(filename, str | bytes):
            return filename  # None, or a file descriptor
        try:  # absolute both: since Python 3.12 mkdtemp returns an absolute path
            absolute = Path(os.path.abspath(os.fsdecode(filename)))
            parts = absolute.relative_to(os.path.abspath(self.out_dir)).parts
        except ValueError:
            return filename
        if not parts or not parts[0].startswith(STAGING_PREFIX):
            return filename
        return str(self.named if len(parts) == 1 else self.out_dir.joinpath(*parts[1:]))

    def _move(self, root: Path, names: set[str]) -> set[str]:
        for name in names:  # every file can be moved before any is
            _check_target(self.out_dir, name, root.stat().st_dev)
        for name in sorted(names):
            target = self.final(name)
            target.parent.mkdir(parents=True, exist_ok=True)
            if self.private:  # never a moment readable by others in the output folder
                make_private(root / name)
            os.replace(root / name, target)
        return names

    def _discard(self) -> None:
        self._closed = True
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root, self._was = None, self._root
        if self._held is not None:
            os.close(self._held)
            self._held = None


def _check_target(out_dir: Path, name: str, device: int) -> None:
    """Refuse a target that is a folder, under a file, or in a folder on another file
    system than ``device`` (the staging folder's; a link to another mount): a move there
    would fail."""
    target = out_dir / name
    if target.is_dir():
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(target))
    for parent in (out_dir / p for p in target.relative_to(out_dir).parents):
        if not parent.exists():
            continue
        if not parent.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(parent))
        if parent.stat().st_dev != device:
            raise OSError(errno.EXDEV, os.strerror(errno.EXDEV), str(parent))
        break  # the deepest folder there is: the file goes there


def _remove_if_empty(folder: Path, out_dir: Path) -> None:
    """Remove ``folder`` (inside ``out_dir``) when the files removed left it empty."""
    if folder != out_dir:
        with contextlib.suppress(OSError):
            folder.rmdir()


def _flock(folder: Path, *, wait: bool) -> int | None:
    """A descriptor of ``folder`` holding an exclusive advisory lock on it (released when
    closed or when the process dies), or None: no lock to be had here (no ``fcntl``, a
    folder that cannot be opened, a file system without locks) or, without ``wait``,
    another process holds it."""
    if fcntl is None:
        return None
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """An exclusive lock on ``folder`` while the block runs, so that two jobs never move
    files into it at once (without a lock to be had, the block runs unlocked). A staging
    folder (a file staged inside another job's) is its job's alone, and locked by it."""
    mine = folder.name.startswith(STAGING_PREFIX)
    fd = _flock(folder, wait=True) if folder.is_dir() and not mine else None
    try:
        yield
    finally:
        if fd is not None:
            os.close(fd)


def _sweep(out_dir: Path, mine: Path) -> None:
    """Remove the staging folders in ``out_dir`` of jobs that died: no process holds their
    lock and nothing changed in them for :data:`STALE_AFTER_S`."""
    for folder in out_dir.glob(f"{STAGING_PREFIX}*"):
        if folder == mine or folder.is_symlink() or not folder.is_dir():
            continue
        with contextlib.suppress(OSError):
            if time.time() - folder.stat().st_mtime < STALE_AFTER_S:
                continue
            fd = _flock(folder, wait=False)
            if fd is not None:  # its job is gone
                try:
                    shutil.rmtree(folder, ignore_errors=True)
                finally:
                    os.close(fd)


@contextlib.contextmanager
def staged_outputs(
    out_dir: Path,
    *,
    owned: Sequence[str] = (),
    named: Path | None = None,
    private: bool = False,
) -> Iterator[StagedOutputs]:
    """A :class:`StagedOutputs` committed when the block ends without an exception and
    abandoned when it raises (the exception goes on; files marked by
    :meth:`StagedOutputs.keep` are moved into place). An error about the staging folder
    names ``named`` (default ``out_dir``), one about a file in it that file's final path
    (:meth:`StagedOutputs.name_outputs`).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> out = pathlib.Path(tempfile.mkdtemp())
    >>> with staged_outputs(out, owned=["a.txt", "b.txt"]) as stage:
    ...     _ = stage("a.txt").write_text("new")
    ...     (out / "a.txt").exists()
    False
    >>> sorted(p.name for p in out.iterdir())
    ['a.txt']
    """
    stage = StagedOutputs(out_dir, owned=owned, named=named, private=private)
    try:
        yield stage
    except BaseException as exc:
        stage.abandon()
        stage.name_outputs(exc)
        raise
    try:
        stage.commit()
    except OSError as exc:
        stage.name_outputs(exc)
        raise


@contextlib.contextmanager
def staged_file(path: str | os.PathLike[str], *, private: bool = False) -> Iterator[Path]:
    """Where to write the one file ``path``: moved over it when the block ends without an
    exception, so that a write failing part-way leaves the earlier file whole
    (:func:`staged_outputs` of one file; ``private`` as there).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> with staged_file(path) as staged:
    ...     _ = staged.write_text("new")
    ...     path.exists()
    False
    >>> path.read_text()
    'new'
    """
    target = Path(path)
    with staged_outputs(target.parent, named=target, private=private) as stage:
        yield stage(target.name)
