"""Clear numba's on-disk cache of riskscore's compiled functions when their sources change.

numba checks a cached function against the file that defines it only: when a compiled
function calls one defined in another module (the batch loop calls the kernel's update in
``features/update.py``, the scorers call the tree walk in ``model/``), an edit of the callee
leaves the caller's cache in place, and the old code runs (numba issue 1833). So, on import,
riskscore fingerprints the ``.py`` files of the subpackages that hold compiled code
(:data:`COMPILED_SUBPACKAGES`; name, size and modification time: no file is read) and, when
the fingerprint differs from the one recorded beside the caches, deletes every cache file;
numba recompiles on first use.

A read-only installation (an image's site-packages, a container with a read-only root file
system) has no writable ``__pycache__``: before anything compiled is defined,
:func:`place_jit_cache` points numba at a directory named after the same fingerprint, in
numba's user cache directory or, without a writable home, in a private temporary one. A new
version then caches in a new directory (numba would otherwise keep a caller compiled with
an old callee: it checks each function against its own file's content). A ``NUMBA_CACHE_DIR``
the user set is left as it is (and kept up to date by the user). The kernels compiled into
the package's own ``__pycache__`` (``riskscore warmup`` in an image's build step, as root)
are copied into that directory once (:func:`seed_jit_cache`): numba uses no cache directory
it cannot write, so every process of another user would compile them again. Each use marks
the directory used (its modification time); the directories of other sources beside it
(another version of riskscore: ``riskscore-`` and 16 hex digits, this user's, not links)
unused for :data:`UNUSED_JIT_CACHE_S` are deleted (:func:`prune_jit_caches`). Two versions
in use side by side (two images sharing a home) keep both: each marks its own.

Where no directory at all can be written (a read-only root file system with no writable
home or temporary directory, no ``NUMBA_CACHE_DIR``), numba refuses to define a function
compiled with ``cache=True``; every compiled function of riskscore takes ``cache=`` from
:func:`jit_cache_on_disk`, False there: the kernels compile in each process, and
``riskscore warmup`` says they are not cached.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
import stat
import tempfile
import time
from pathlib import Path
from typing import Any, Final

import numba.core.config
from numba.misc.appdirs import AppDirs

from riskscore._units import DAY_S

__all__ = [
    "COMPILED_SUBPACKAGES",
    "STAMP_NAME",
    "UNUSED_JIT_CACHE_S",
    "clear_stale_jit_caches",
    "jit_cache_dir",
    "jit_cache_location",
    "jit_cache_on_disk",
    "place_jit_cache",
    "private_temp_dir",
    "prune_jit_caches",
    "seed_jit_cache",
    "writable_dir",
]

#: The subpackages whose modules define compiled (numba) functions; a test keeps it complete.
COMPILED_SUBPACKAGES: Final = ("features", "io", "model", "online", "synthetic")

#: The fingerprint of the sources the caches were compiled from, in the package's
#: ``__pycache__``.
STAMP_NAME: Final = "numba-sources.sha256"
_CACHE_SUFFIXES: Final = (".nbi", ".nbc")

#: How long the cache directory of other sources (another version) may go unused before
#: :func:`prune_jit_caches` deletes it.
UNUSED_JIT_CACHE_S: Final = 30 * DAY_S

#: The name of a cache directory :func:`jit_cache_dir` makes: the sources' fingerprint.
_CACHE_DIR_NAME: Final = re.compile(r"riskscore-[0-9a-f]{16}")


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


def writable_dir(directory: Path, mode: int = 0o700) -> bool:
    """Whether ``directory`` can be written, made (with its parents) when missing.

    numba's own test of a cache directory: create it, then a file in it.

    Parameters
    ----------
    directory : Path
        The directory.
    mode : int, default 0o700
        The mode a directory made here gets (less the umask).

    Returns
    -------
    bool
    """
    try:
        directory.mkdir(mode=mode, parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=directory).close()
    except OSError:
        return False
    return True


def _only_mine(directory: Path) -> bool:
    """Whether no other user can replace ``directory`` or a file in it: it and every
    folder above it (links followed) is this user's or root's, and none is writable by
    others unless sticky (as ``/tmp``). numba's cache files are pickles: one planted
    there would run as this user (``HOME=/tmp`` and another user's ``/tmp/.cache``)."""
    uid = getattr(os, "getuid", lambda: None)()
    if uid is None:
        return True  # no owners to compare (Windows)
    try:
        real = directory.resolve(strict=True)
        for folder in (real, *real.parents):
            info = folder.stat()
            if info.st_uid not in (uid, 0):
                return False
            if info.st_mode & 0o022 and not info.st_mode & stat.S_ISVTX:
                return False
    except (OSError, RuntimeError):  # gone meanwhile, or a loop of links
        return False
    return True


def _resolved_if_mine(directory: Path) -> Path | None:
    """``directory`` resolved once, if no other user can replace it or a folder on the way
    to it, else None. Refused: a symbolic link below the user's home (or anywhere, when
    ``directory`` is not under it) that another user owns, any link from the home down,
    or a resolved folder :func:`_only_mine` refuses. Checking the resolved path alone let a
    link another user owns (``HOME/.cache`` in a shared sticky ``HOME``) pass, then be
    swapped for that user's directory before numba read its pickles from it."""
    uid = getattr(os, "getuid", lambda: None)()
    try:
        home = Path.home()
    except RuntimeError:  # no home at all: every link is judged by its owner
        home = None
    try:
        for folder in (directory, *directory.parents):
            info = folder.lstat()
            if not stat.S_ISLNK(info.st_mode):
                continue
            below_home = home is not None and folder.is_relative_to(home) and folder != home
            if below_home or info.st_uid not in (uid, 0):
                return None
        real = directory.resolve(strict=True)
    except (OSError, RuntimeError):  # gone meanwhile, or a loop of links
        return None
    return real if _only_mine(real) else None


def private_temp_dir(temp: Path, stem: str = "riskscore-numba") -> Path | None:
    """A directory under ``temp`` that only this user can write, reused across runs.

    numba's cache files are pickles: one planted there would run as this user.

    Parameters
    ----------
    temp : Path
        The temporary directory.
    stem : str, default "riskscore-numba"
        The directory's name, before the user id (``riskscore-numba-1000``).

    Returns
    -------
    Path or None
        That directory; a new one of this process when it is another user's, a link or
        open to others; None when none can be made.
    """
    uid = getattr(os, "getuid", lambda: None)()
    mine = temp / (stem if uid is None else f"{stem}-{uid}")
    try:
        mine.mkdir(mode=0o700, exist_ok=True)
        info = mine.lstat()
        if (
            stat.S_ISDIR(info.st_mode)
            and (uid is None or info.st_uid == uid)
            and not info.st_mode & 0o022
        ):
            return mine
        # another user's, a link or open to others: a new directory of this process
        return Path(tempfile.mkdtemp(prefix=f"{stem}-", dir=temp))
    except OSError:
        return None


def jit_cache_dir(
    package: Path | None = None,
    *,
    user_cache: Path | None = None,
    temp: Path | None = None,
) -> Path | None:
    """Where numba must cache riskscore's compiled functions, when not beside the sources.

    Parameters
    ----------
    package : Path, optional
        The package directory (riskscore's own when omitted).
    user_cache : Path, optional
        numba's user cache directory (``~/.cache/numba`` on Linux when omitted).
    temp : Path, optional
        The temporary directory (:func:`tempfile.gettempdir` when omitted).

    Returns
    -------
    Path or None
        None when the package's ``__pycache__`` is writable (numba's default) or when no
        directory is; otherwise ``riskscore-<fingerprint>`` in ``user_cache`` or, if that
        cannot be written or another user could replace a folder on the way to it (a
        symbolic link below the home, another user's link or folder), in a directory of
        ``temp`` that only this user can write. Resolved: numba is given the path that
        was checked, with no link in it left to swap.
    """
    package = package or Path(__file__).resolve().parent
    # The mode Python and numba make __pycache__ with: others read the bytecode and caches.
    if writable_dir(package / COMPILED_SUBPACKAGES[0] / "__pycache__", mode=0o777):
        return None
    name = f"riskscore-{_fingerprint(package)[:16]}"  # as _CACHE_DIR_NAME reads it
    if user_cache is None:
        dirs = AppDirs(appname="numba", appauthor=False)  # type: ignore[no-untyped-call]
        user_cache = Path(dirs.user_cache_dir)
    # An unexpandable ``~`` (no HOME, no passwd entry) would be relative to the cwd.
    cached = user_cache / name
    if user_cache.is_absolute() and writable_dir(cached):
        real = _resolved_if_mine(cached)
        if real is not None:  # numba gets the path checked, never the links to it
            return real
    try:
        temp = temp or Path(tempfile.gettempdir())
    except FileNotFoundError:  # no usable temporary directory either
        return None
    mine = private_temp_dir(temp)
    if mine is None or not writable_dir(mine / name):
        return None
    return _resolved_if_mine(mine / name)


def place_jit_cache() -> Path | None:
    """Point numba at :func:`jit_cache_dir` unless the user set ``NUMBA_CACHE_DIR``.

    Called on import, before any compiled function is defined (numba picks a function's
    cache directory then). On a read-only installation without it, ``import riskscore``
    failed (numba: "cannot cache function ...: no locator available").

    Returns
    -------
    Path or None
        The directory chosen, or None where numba's own choice stands.
    """
    config: Any = numba.core.config  # its settings are set at run time, untyped
    if config.CACHE_DIR:
        return None
    chosen = jit_cache_dir()
    if chosen is not None:
        # numba's setting for the process: a library whose sources are as read-only
        # shares the directory (a subfolder per source folder) instead of failing too.
        config.CACHE_DIR = str(chosen)
        seed_jit_cache(chosen)
        prune_jit_caches(chosen)
    return chosen


def prune_jit_caches(chosen: Path, *, now: float | None = None) -> list[str]:
    """Mark ``chosen`` used, and delete the cache directories of other sources beside it
    that have gone unused for :data:`UNUSED_JIT_CACHE_S`.

    Only directories :func:`jit_cache_dir` makes (``riskscore-`` and 16 hex digits) that
    are this user's are deleted; a link is never followed nor deleted, nor is anything
    else in the folder (numba's own caches of other libraries).

    Parameters
    ----------
    chosen : Path
        The cache directory of this process (:func:`jit_cache_dir`).
    now : float, optional
        The time, epoch seconds (default: the clock's).

    Returns
    -------
    list of str
        The names of the directories deleted (none when ``chosen`` cannot be marked).
    """
    now = time.time() if now is None else now
    uid = getattr(os, "getuid", lambda: None)()
    deleted = []
    try:
        os.utime(chosen, (now, now), follow_symlinks=False)  # used: its siblings prune it last
        siblings = list(os.scandir(chosen.parent))
    except OSError:  # gone meanwhile, or not this user's to mark
        return []
    for entry in siblings:
        if entry.name == chosen.name or not _CACHE_DIR_NAME.fullmatch(entry.name):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            if (
                stat.S_ISDIR(info.st_mode)
                and (uid is None or info.st_uid == uid)
                and now - info.st_mtime > UNUSED_JIT_CACHE_S
            ):
                # rmtree opens each folder without following links (on POSIX)
                shutil.rmtree(entry.path)
                deleted.append(entry.name)
        except OSError:  # another process deletes or uses it meanwhile: left to the next
            continue
    return deleted


def jit_cache_location() -> Path | None:
    """Where numba caches riskscore's compiled functions in this process.

    Returns
    -------
    Path or None
        ``NUMBA_CACHE_DIR`` (set by the user, or by :func:`place_jit_cache` on a read-only
        installation) when it can be written, else the package directory (numba's
        default: the ``__pycache__`` folders beside its modules) when it is writable, else
        None: nowhere, every process compiles the kernels again. A ``NUMBA_CACHE_DIR``
        that cannot be written (an image's setting whose volume is not mounted) is no
        place: numba passes over it, and with nowhere else refused to define the kernels.
    """
    config: Any = numba.core.config
    # numba's own test of its cache directory, with the mode it makes it with
    if config.CACHE_DIR and writable_dir(Path(config.CACHE_DIR), 0o777):
        return Path(config.CACHE_DIR)
    package = Path(__file__).resolve().parent
    pycache = package / COMPILED_SUBPACKAGES[0] / "__pycache__"
    return package if writable_dir(pycache, 0o777) else None


@functools.cache
def jit_cache_on_disk() -> bool:
    """Whether riskscore's compiled functions cache on disk in this process.

    The ``cache=`` of every compiled function of riskscore, asked after :func:`place_jit_cache`
    (``riskscore/__init__.py`` calls it first). False only where no directory can be
    written (:func:`jit_cache_location` is None): with ``cache=True`` there, numba raised
    "cannot cache function ...: no locator available" on import, so that even ``riskscore
    --help`` failed with a traceback.

    Returns
    -------
    bool
    """
    return jit_cache_location() is not None


def _numba_subfolder(source_dir: Path) -> str:
    """numba's folder for the caches of one source folder under ``NUMBA_CACHE_DIR``
    (``_CacheLocator.get_suitable_cache_subpath``; a test compares the two)."""
    digest = hashlib.sha1(str(source_dir).encode(), usedforsecurity=False).hexdigest()
    return f"{source_dir.name}_{digest}"


def seed_jit_cache(chosen: Path, package: Path | None = None) -> int:
    """Copy the caches compiled into the package's ``__pycache__`` into ``chosen``.

    Only when they were compiled from the package's current sources (its fingerprint
    recorded beside them) and no other user can have replaced them; a file already in
    ``chosen`` is kept (numba may have added signatures to it).

    Parameters
    ----------
    chosen : Path
        The cache directory numba uses instead (:func:`jit_cache_dir`).
    package : Path, optional
        The package directory (riskscore's own when omitted).

    Returns
    -------
    int
        Cache files copied (0 when none are current, or all are there already).
    """
    package = package or Path(__file__).resolve().parent
    copied = 0
    try:
        stamp = package / "__pycache__" / STAMP_NAME
        if not stamp.is_file() or stamp.read_text(encoding="ascii") != _fingerprint(package):
            return 0
        for name in COMPILED_SUBPACKAGES:
            source = package / name / "__pycache__"
            if not source.is_dir() or not _only_mine(source):
                continue
            target = chosen / _numba_subfolder(package / name)
            for cached in sorted(source.iterdir()):
                if cached.suffix not in _CACHE_SUFFIXES or (target / cached.name).exists():
                    continue
                target.mkdir(mode=0o700, exist_ok=True)
                # whole or not at all: another process may read the folder meanwhile
                partial = target / f".{cached.name}.{os.getpid()}"
                shutil.copyfile(cached, partial)
                partial.replace(target / cached.name)
                copied += 1
    except OSError:  # unreadable, or a race with another process: numba compiles
        pass
    return copied
