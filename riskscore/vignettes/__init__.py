"""Vignettes: hand-written conversations with the outcome a moderator expects.

Each vignette is a textbook grooming pattern or a textbook benign look-alike, written
as a small TOML file of accounts, conversations and phases (``data/*.toml``; the format
is in :mod:`riskscore.vignettes.loader`). :func:`load_vignettes` reads them,
:meth:`Vignette.events` expands one into schema v1 events, and
:func:`vignettes_markdown` writes ``docs/vignettes.md``. ``tests/test_vignettes.py``
scores every vignette with the shipped model and policy and asserts its expected
outcome: a public test of the detection model, not fitted to it; the vignettes it gets
wrong today are listed in :data:`KNOWN_MISSES`.
"""

from riskscore.vignettes.known_misses import KNOWN_MISSES
from riskscore.vignettes.loader import (
    Vignette,
    VignetteFileError,
    load_vignettes,
    read_vignette,
)
from riskscore.vignettes.markdown import vignettes_markdown

__all__ = [
    "KNOWN_MISSES",
    "Vignette",
    "VignetteFileError",
    "load_vignettes",
    "read_vignette",
    "vignettes_markdown",
]
