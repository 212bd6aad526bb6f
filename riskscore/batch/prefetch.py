"""One item ahead on a worker thread: reading and validating the next chunk while the
calling thread scores this one (out-of-core scoring, :mod:`riskscore.batch.out_of_core`).

pyarrow's readers, numpy's loops and the compiled kernels release the GIL, so the two
threads share a machine's cores. Results come in input order, and an exception raised
for item ``k`` is raised when result ``k`` is asked for, as without the thread: items
before it are handed out first, items after it are never worked on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

__all__ = ["one_ahead"]

T = TypeVar("T")
U = TypeVar("U")


class _Done:
    """Marks the end of the items (a result may be None)."""


_DONE = _Done()


def one_ahead(items: Iterable[T], work: Callable[[T], U]) -> Iterator[U]:
    """``work(item)`` for each of ``items``, in order, the next one computed (and taken
    from ``items``) on a worker thread while the caller handles the current one.

    Parameters
    ----------
    items : iterable
        Taken from on the worker thread only, one at a time.
    work : callable
        Applied to each item on the worker thread.

    Yields
    ------
    object
        ``work(item)`` of each item, in the order of ``items``.

    Notes
    -----
    At most two results exist at once: the one handed out and the next. When the
    caller stops early (an exception, or closing the generator), the item in progress
    is finished and dropped, and ``items`` is closed if it is a generator.

    Examples
    --------
    >>> list(one_ahead(range(4), lambda x: x * x))
    [0, 1, 4, 9]
    """
    source = iter(items)

    def step() -> U | _Done:
        try:
            item = next(source)
        except StopIteration:
            return _DONE
        return work(item)

    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="riskscore-ahead") as pool:
            pending = pool.submit(step)
            while True:
                result = pending.result()  # the worker's exception, in item order
                if isinstance(result, _Done):
                    return
                pending = pool.submit(step)
                yield result
                del result  # the caller's reference only: memory stays at two results
    finally:
        close = getattr(source, "close", None)
        if close is not None:
            close()
