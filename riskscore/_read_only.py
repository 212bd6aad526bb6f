"""Read-only views of the arrays handed to compiled functions (private).

numba compiles a function once per type of its arguments, and a read-only array (one
that Arrow lends without a copy, as from a Parquet file) is another type than a
writable one (as from a list or a pandas frame). Handing a compiled function the same
inputs now read-only, now writable compiles it, and every function it calls, twice:
about a third more compile time on a fresh installation and in each process that
starts before the cache is written. The callers pass their inputs through
:func:`read_only`, so that each function has one signature.
"""

from __future__ import annotations

from typing import Any, TypeVar

import numpy.typing as npt

__all__ = ["read_only"]

Array = TypeVar("Array", bound=npt.NDArray[Any])


def read_only(array: Array) -> Array:
    """A read-only view of ``array`` (no copy; ``array`` itself is left as it was)."""
    view: Array = array.view()
    view.flags.writeable = False
    return view
