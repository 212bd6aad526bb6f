"""Worker threads for large tables, none for small ones (private).

numpy and pyarrow release the GIL in their loops, so independent steps over large
arrays share the machine's cores on threads. For small tables starting threads
costs more than it saves, and the same steps run at once on the calling thread.

``RISKSCORE_NUM_THREADS`` sets the number of worker threads, 1 to :data:`MAX_THREADS`
(default: 2, or 1 on a one-core machine; measured on 2 cores only). Set it to 1 where
riskscore already runs in one process per core, so that the processes do not compete for
the cores.
:func:`limited_threads` lowers it for the code inside a ``with`` block (and for work that
block hands to :func:`riskscore.batch.prefetch.one_ahead`): out-of-core scoring already
keeps two threads busy with two chunks, and splitting each step again made the
100-million-message job slower (measured in ``benchmarks/bench_out_of_core.py``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from riskscore.exceptions import ConfigurationError
from riskscore.io.text import is_number_text

T = TypeVar("T")

#: Tables with fewer rows are processed on the calling thread only. Below it two threads
#: were no faster on 2 cores: each step starts and joins its threads, and the event kernel
#: runs in parts of ``PART_EVENTS`` (250,000) events, so a smaller table is one part
#: (``bench_stages.py`` at 100,000 and 250,000 events, benchmarks/README.md).
THREAD_MIN_ROWS = 300_000

#: The environment variable that sets the number of worker threads.
THREADS_VARIABLE = "RISKSCORE_NUM_THREADS"

#: The most worker threads ``RISKSCORE_NUM_THREADS`` may set: each thread works on its own
#: part of a table, and the parts are made at once (memory grows with their number), so a
#: mistyped count (100000) is refused rather than taken. Above a machine's cores, more
#: threads only compete for them.
MAX_THREADS = 256

#: The limit set by :func:`limited_threads` in the current context (None: no limit).
_LIMIT: ContextVar[int | None] = ContextVar("riskscore_thread_limit", default=None)


@contextmanager
def limited_threads(limit: int) -> Iterator[None]:
    """At most ``limit`` worker threads per step inside the ``with`` block (in this
    context only: other threads and callers keep theirs)."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    token = _LIMIT.set(limit)
    try:
        yield
    finally:
        _LIMIT.reset(token)


class Inline(Executor):
    """An executor that runs each task at once on the calling thread."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # handed back by .result(), as an executor does
            future.set_exception(exc)
        return future


def worker_threads() -> int:
    """Worker threads for a large table: ``$RISKSCORE_NUM_THREADS``, or 2 (1 on a
    one-core machine), at most the limit of :func:`limited_threads`."""
    limit = _LIMIT.get()
    configured = _configured_threads()
    return configured if limit is None else min(configured, limit)


def _configured_threads() -> int:
    text = os.environ.get(THREADS_VARIABLE, "").strip()
    if not text:
        return min(2, os.cpu_count() or 1)
    try:  # as riskscore reads every number: int() alone takes 1_6 and digits of other scripts
        threads = int(text) if is_number_text(text) else 0
    except ValueError:  # 1.5
        threads = 0
    if not 1 <= threads <= MAX_THREADS:
        raise ConfigurationError(
            f"environment variable {THREADS_VARIABLE}={text!r} is not a number of threads: "
            f"expected a whole number from 1 to {MAX_THREADS} (at most {MAX_THREADS}: "
            "memory grows with each thread; the machine's cores are a good choice)"
        )
    return threads


def executor_for(n_rows: int) -> Executor:
    """Worker threads for a table of ``n_rows`` rows, or :class:`Inline` below
    :data:`THREAD_MIN_ROWS` or with one thread configured. Use it as a context manager."""
    threads = worker_threads()
    if n_rows < THREAD_MIN_ROWS or threads == 1:
        return Inline()
    return ThreadPoolExecutor(max_workers=threads)
