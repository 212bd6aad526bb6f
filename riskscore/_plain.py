"""The plain-Python function behind a compiled one.

Code that runs a compiled function's source in the interpreter (to build tables at load
time, or to check a bound without a call into compiled code) reaches it through
``.py_func``; with ``NUMBA_DISABLE_JIT=1`` nothing is compiled and the function is already
plain Python, with no ``.py_func``. :func:`plain` gives the source function either way, so
that every path of riskscore also runs uncompiled (the reference the tests compare with).
"""

from __future__ import annotations

from typing import Any, TypeVar

__all__ = ["plain"]

F = TypeVar("F")


def plain(function: F) -> F:
    """``function``'s uncompiled source: its ``py_func`` when it is a numba dispatcher, else
    ``function`` itself (under ``NUMBA_DISABLE_JIT=1``)."""
    source: Any = getattr(function, "py_func", function)
    return source  # type: ignore[no-any-return]
