"""Checks of the files a subcommand is given, made before any work (private)."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable
from pathlib import Path

from riskscore.exceptions import SchemaError


def check_out_dir(path: Path) -> Path:
    """Refuse an ``--out`` that names an existing file, before any work is done.

    Raises
    ------
    FileExistsError
        ``path`` (or one of its parents) is a file, not a directory; the CLI prints one
        line and exits with status 2.
    """
    for candidate in (path, *path.parents):
        if candidate.exists():
            if not candidate.is_dir():
                raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(candidate))
            break
    return path


def check_not_inputs(outputs: Iterable[Path], inputs: Iterable[Path | None]) -> None:
    """Refuse output files that are one of the inputs (by any path: ``./``, ``..``, a
    symbolic link), before any work: writing one would destroy the input it reads, or
    corrupt it mid-read when it is streamed.

    Raises
    ------
    SchemaError
        An output is an input; the CLI prints one line and exits with status 2.
    """
    read = {path.resolve(): path for path in inputs if path is not None}
    for output in outputs:
        source = read.get(output.resolve())
        if source is not None:
            raise SchemaError(
                f"{output} would replace the input {source}, which is being read: choose "
                "another --out directory, or move the input out of it"
            )
