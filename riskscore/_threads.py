"""Two worker threads for large tables, none for small ones (private).

numpy and pyarrow release the GIL in their loops, so independent steps over large
arrays share the machine's cores on threads. For small tables starting threads
costs more than it saves, and the same steps run at once on the calling thread.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

#: Tables with fewer rows are processed on the calling thread only.
THREAD_MIN_ROWS = 100_000

#: Worker threads for a large table (the machines we measure on have two cores).
WORKERS = 2


class Inline(Executor):
    """An executor that runs each task at once on the calling thread."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # handed back by .result(), as an executor does
            future.set_exception(exc)
        return future


def executor_for(n_rows: int, min_rows: int | None = None) -> Executor:
    """Worker threads for a table of ``n_rows`` rows, or :class:`Inline` below
    ``min_rows`` (default :data:`THREAD_MIN_ROWS`). Use it as a context manager."""
    threshold = THREAD_MIN_ROWS if min_rows is None else min_rows
    return ThreadPoolExecutor(max_workers=WORKERS) if n_rows >= threshold else Inline()
