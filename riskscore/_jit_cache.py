"""Clear numba's on-disk cache of riskscore's compiled functions when their sources change.

numba checks a cached function against the file that defines it only: when a compiled
function calls one defined in another module (the batch loop calls the kernel's update in
``features/update.py``, the scorers call the tree walk in ``model/``), an edit of the callee
leaves the caller's cache in place, and the old code runs (numba issue 1833). So, on import,
riskscore fingerprints the ``.py`` files of the subpackages that hold compiled code
(:data:`COMPILED_SUBPACKAGES`; name, size and modification time: no file is read) and, when
the fingerprint differs from the one recorded beside the caches, deletes every cache file;
numba recompiles on first use. On a
read-only installation nothing is deleted (numba then caches in the user's directory, and a
new version installs new files there too).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Final

__all__ = ["COMPILED_SUBPACKAGES", "STAMP_NAME", "clear_stale_jit_caches"]

#: The subpackages whose modules define compiled (numba) functions; a test keeps it complete.
COMPILED_SUBPACKAGES: Final = ("features", "io", "model", "online")

#: The fingerprint of the sources the caches were compiled from, in the package's
#: ``__pycache__``.
STAMP_NAME: Final = "numba-sources.sha256"
_CACHE_SUFFIXES: Final = (".nbi", ".nbc")


def _fingerprint(package: Path) -> str:
    digest = hashlib.sha256()
    for name in COMPILED_SUBPACKAGES:
        for source in sorted((package / name).glob("*.py")):
            stat = source.stat()
            line = f"{source.relative_to(package)}\0{stat.st_size}\0{stat.st_mtime_ns}\n"
            digest.update(line.encode())
    return digest.hexdigest()


def clear_stale_jit_caches(package: Path | None = None) -> int:
    """Delete the numba cache files under ``package`` if any source beside them changed.

    Parameters
    ----------
    package : Path, optional
        The package directory (riskscore's own when omitted).

    Returns
    -------
    int
        Cache files deleted (0 when the caches are current, absent or not writable).
    """
    package = package or Path(__file__).resolve().parent
    try:
        fingerprint = _fingerprint(package)
        stamp = package / "__pycache__" / STAMP_NAME
        if stamp.is_file() and stamp.read_text(encoding="ascii") == fingerprint:
            return 0
        deleted = 0
        for name in COMPILED_SUBPACKAGES:
            cache_dir = package / name / "__pycache__"
            for cached in cache_dir.iterdir() if cache_dir.is_dir() else ():
                if cached.suffix in _CACHE_SUFFIXES:
                    # Another process may delete it first, or still be reading it (numba
                    # treats a missing file as a cache miss and recompiles).
                    cached.unlink(missing_ok=True)
                    deleted += 1
        stamp.parent.mkdir(exist_ok=True)
        partial = stamp.with_name(f"{STAMP_NAME}.{os.getpid()}")
        partial.write_text(fingerprint, encoding="ascii")
        partial.replace(stamp)
        return deleted
    except OSError:  # a read-only installation, or a race with another process
        return 0
