"""Matplotlib's configuration and cache directory, placed before riskscore imports it (private).

matplotlib reads its settings from, and keeps its font cache in, ``~/.config/matplotlib``
and ``~/.cache/matplotlib`` (``$XDG_CONFIG_HOME`` and ``$XDG_CACHE_HOME`` when set;
``~/.matplotlib`` outside Linux and BSD), or ``MPLCONFIGDIR``. Where those cannot be
written (a container with a read-only root file system, no home) and ``MPLCONFIGDIR`` is
unset, every process that plots made a temporary directory, built the font cache in it
again and logged two warnings ("mkdir -p failed for path ...", "Matplotlib created a
temporary cache directory ..."): each ``riskscore evaluate``, ``report`` and ``serve``.
:func:`place_matplotlib_dir` sets ``MPLCONFIGDIR`` there, before matplotlib is first
imported, to a folder of the private temporary directory riskscore keeps numba's cache in
(:mod:`riskscore._jit_cache`), reused by every later process of the user.
:func:`riskscore._optional.import_extra` calls it for a matplotlib module, and
:mod:`riskscore.serve` on import.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from riskscore._jit_cache import private_temp_dir, writable_dir

__all__ = ["place_matplotlib_dir"]


def _default_dirs() -> list[Path] | None:
    """matplotlib's own configuration and cache directories, None without a home."""
    try:
        home = Path.home()
    except RuntimeError:  # no HOME and no passwd entry
        return None
    if not sys.platform.startswith(("linux", "freebsd")):
        return [home / ".matplotlib"]
    config = os.environ.get("XDG_CONFIG_HOME") or home / ".config"
    cache = os.environ.get("XDG_CACHE_HOME") or home / ".cache"
    return [Path(config, "matplotlib"), Path(cache, "matplotlib")]


def place_matplotlib_dir() -> Path | None:
    """Set ``MPLCONFIGDIR`` to a private directory where matplotlib's own cannot be written.

    Nothing is changed once matplotlib is imported, when ``MPLCONFIGDIR`` is set, when
    matplotlib's directories can be written, or when no private directory can be.

    Returns
    -------
    Path or None
        The directory set, or None where nothing was changed.
    """
    if "matplotlib" in sys.modules or os.environ.get("MPLCONFIGDIR"):
        return None
    defaults = _default_dirs()
    if defaults is not None and all(writable_dir(d) for d in defaults):
        return None
    try:
        mine = private_temp_dir(Path(tempfile.gettempdir()), stem="riskscore-matplotlib")
    except FileNotFoundError:  # no usable temporary directory either: matplotlib says so
        return None
    if mine is None or not writable_dir(mine):
        return None
    os.environ["MPLCONFIGDIR"] = str(mine)
    return mine
