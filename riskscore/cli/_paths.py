"""Checks of the files a subcommand is given, made before any work (private)."""

from __future__ import annotations

import errno
import os
from pathlib import Path


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


def check_input_file(path: Path) -> Path:
    """Refuse an input path that is missing or a directory, naming it.

    Raises
    ------
    FileNotFoundError, IsADirectoryError
        Printed by the CLI as one line, exit status 2.
    """
    if not path.exists():
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), str(path))
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    return path
