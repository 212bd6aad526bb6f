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
