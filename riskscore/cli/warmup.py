"""``riskscore warmup``: compile every kernel now and leave it in numba's cache."""

from __future__ import annotations

import argparse
import os
from typing import Any

from riskscore._words import number_text
from riskscore.cli._time import integer
from riskscore.warmup import warm_up

NAME = "warmup"
HELP = "compile riskscore's kernels once, now, into numba's on-disk cache (for images, services)"
EXAMPLE = (
    "examples:\n  riskscore warmup\n"
    "  NUMBA_CACHE_DIR=/opt/riskscore/numba riskscore warmup --json\n"
    "  riskscore warmup --processes 1   # one CPU, or to keep the second free\n"
    "\n"
    "riskscore's kernels compile on first use (about 20 CPU seconds on a fresh installation)\n"
    "and are cached beside the modules, or in NUMBA_CACHE_DIR (a read-only installation: in\n"
    "numba's user cache directory, ~/.cache/numba/riskscore-*, or a private temporary one,\n"
    "seeded with the kernels compiled beside the modules). Run this once in a container\n"
    "image's build step, or before a service takes traffic, so that no event and no worker\n"
    "process waits for the compiler; a current cache makes it take about a second.\n"
    "\n"
    "output: the seconds it took, the synthetic events it ran through the batch and online\n"
    "paths and where the kernels are cached (no input is read and no file but the cache is\n"
    "written); --json 'cache' is null when no directory could be written (the kernels then\n"
    "compile in every process: set NUMBA_CACHE_DIR to a writable directory)."
)

#: What ``warmup`` says when numba can write no cache directory (``jit_cache_location``).
NOT_CACHED = (
    "not cached: no directory numba could write (the package's __pycache__, ~/.cache/numba, "
    "the temporary directory); every process compiles them again: set NUMBA_CACHE_DIR to a "
    "writable directory"
)


def configure(parser: argparse.ArgumentParser) -> None:
    """``warmup --processes {1,2}``."""
    parser.add_argument(
        "--processes",
        type=integer,
        choices=(1, 2),
        default=None,
        help="compile the online path in a second process beside the batch paths (2), or "
        "everything in one (1); default: 2 when two CPUs are usable",
    )


def run(args: argparse.Namespace, show: bool) -> dict[str, Any]:
    done = warm_up(args.processes)
    cache = None if done.cache is None else str(done.cache)
    # a NUMBA_CACHE_DIR set but not used (it cannot be written: an image's volume not
    # mounted, a file, an empty value) is said, not passed over in silence
    unused = os.environ.get("NUMBA_CACHE_DIR")
    if unused and cache is not None and os.path.realpath(unused) == os.path.realpath(cache):
        unused = None
    return {
        "seconds": round(done.seconds, 3),
        "events": done.events,
        "cache": cache,
        "numba_cache_dir_unused": unused,
    }


def render(result: dict[str, Any]) -> None:
    print(
        f"kernels compiled or loaded from numba's cache in {result['seconds']:.1f} s "
        f"({number_text(result['events'])} synthetic events through the batch and online paths), "
        + (NOT_CACHED if result["cache"] is None else f"cached in {result['cache']}")
    )
    if result.get("numba_cache_dir_unused") is not None:
        print(
            f"NUMBA_CACHE_DIR={result['numba_cache_dir_unused']!r} is not used: it is no "
            "directory this process can write"
        )
