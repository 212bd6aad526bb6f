"""A job's output files appear together, or not at all.

A job that writes several files into one folder (``riskscore score``, in memory or out of
core) writes them into a staging folder inside it (``.riskscore-job-*``, on the same file
system) and moves each into place with an atomic rename once the job has succeeded. A job
that fails part-way (a bad row found in the last chunk, a full disk, an interrupt) leaves
the folder as it was: never a scores file cut short beside the alerts of an earlier run.

Two rules make a folder hold one run only:

* on success, a file the job owns but did not write this time is removed (the
  ``quarantine.jsonl`` of an earlier run with bad rows, when this run has none);
* on failure, the files named ``keep_on_failure`` are still moved into place: the
  quarantine file is what explains "every row was quarantined". Otherwise an output
  folder the job created is removed again.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

__all__ = ["StagedOutputs", "staged_outputs"]

#: Prefix of the staging folder inside a job's output folder.
STAGING_PREFIX = ".riskscore-job-"


class StagedOutputs:
    """Where a job writes its files before they are moved into its output folder.

    Parameters
    ----------
    out_dir : Path
        The job's output folder (created, with the staging folder, at the first file).
    owned : sequence of str
        Names (relative to ``out_dir``) this job writes or removes: those it did not
        write this time are removed when it succeeds.
    keep_on_failure : sequence of str
        Names moved into place even when the job fails.
    """

    def __init__(
        self, out_dir: Path, *, owned: Sequence[str] = (), keep_on_failure: Sequence[str] = ()
    ) -> None:
        self.out_dir = Path(out_dir)
        self._owned = tuple(owned)
        self._keep_on_failure = tuple(keep_on_failure)
        self._root: Path | None = None
        self._was: Path | None = None  # the staging folder, once committed or abandoned
        self._closed = False
        self._made_out_dir = False

    @property
    def root(self) -> Path:
        """The staging folder (created on first use)."""
        if self._closed:
            raise RuntimeError("the outputs were already moved into place or abandoned")
        if self._root is None:
            self._made_out_dir = not self.out_dir.exists()
            self.out_dir.mkdir(parents=True, exist_ok=True)
            self._root = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=self.out_dir))
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

    def commit(self) -> None:
        """Move every staged file into place; remove the owned files not written."""
        written: set[str] = set()
        if self._root is not None:
            root = self._root
            files = (p for p in root.rglob("*") if p.is_file())
            written = self._move(root, {p.relative_to(root).as_posix() for p in files})
        for name in self._owned:
            if name not in written:
                self.final(name).unlink(missing_ok=True)
        self._discard()

    def abandon(self) -> None:
        """Leave the output folder as it was, but for the ``keep_on_failure`` files."""
        if self._root is not None:
            root = self._root
            self._move(root, {name for name in self._keep_on_failure if (root / name).is_file()})
        self._discard()
        if self._made_out_dir and not any(self.out_dir.iterdir()):
            self.out_dir.rmdir()  # a failed job creates no folder

    def _move(self, root: Path, names: set[str]) -> set[str]:
        for name in sorted(names):
            target = self.final(name)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(root / name, target)
        return names

    def _discard(self) -> None:
        self._closed = True
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root, self._was = None, self._root


@contextlib.contextmanager
def staged_outputs(
    out_dir: Path, *, owned: Sequence[str] = (), keep_on_failure: Sequence[str] = ()
) -> Iterator[StagedOutputs]:
    """A :class:`StagedOutputs` committed when the block ends without an exception and
    abandoned when it raises (the exception goes on).

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
    stage = StagedOutputs(out_dir, owned=owned, keep_on_failure=keep_on_failure)
    try:
        yield stage
    except BaseException:
        stage.abandon()
        raise
    stage.commit()
