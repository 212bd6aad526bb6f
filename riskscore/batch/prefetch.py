"""Items worked on ahead, on worker threads: reading and validating the next chunk while
the calling thread handles this one, or scoring two chunks at once (out-of-core scoring,
:mod:`riskscore.batch.out_of_core`).

pyarrow's readers, numpy's loops and the compiled kernels release the GIL, so the
threads share a machine's cores. Results come in input order, and an exception raised
for item ``k`` is raised when result ``k`` is asked for, as without the threads: items
before it are handed out first, and no item after the ones already in progress is
worked on.
"""

from __future__ import annotations

import contextvars
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

__all__ = ["one_ahead"]

T = TypeVar("T")
U = TypeVar("U")


class _Done:
    """Marks the end of the items (a result may be None)."""


_DONE = _Done()


def one_ahead(
    items: Iterable[T], work: Callable[[T], U], *, workers: int = 1
) -> Generator[U, None, None]:
    """``work(item)`` for each of ``items``, in order, the next ``workers`` ones computed
    (and taken from ``items``) on worker threads while the caller handles the current one.

    Parameters
    ----------
    items : iterable
        Taken from on the worker threads only, one item at a time and in turn (a
        generator is never advanced by two threads at once, and result ``k`` is the
        work on item ``k``).
    work : callable
        Applied to each item on a worker thread, in a copy of the caller's context
        (:mod:`contextvars`), so what the caller set there holds for the work too.
    workers : int, default 1
        Items worked on at once.

    Yields
    ------
    object
        ``work(item)`` of each item, in the order of ``items``.

    Notes
    -----
    At most ``workers + 1`` results exist at once: the one handed out and those in
    progress. When the caller stops early (an exception, or closing the generator), the
    items in progress are finished and dropped, and ``items`` is closed if it is a
    generator.

    Examples
    --------
    >>> list(one_ahead(range(4), lambda x: x * x))
    [0, 1, 4, 9]
    >>> list(one_ahead(range(5), lambda x: -x, workers=2))
    [0, -1, -2, -3, -4]
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    source = iter(items)
    turn = threading.Condition()
    taken = 0  # items taken so far: the ticket whose turn it is to take one
    ended = False

    def step(ticket: int) -> U | _Done:
        nonlocal taken, ended
        with turn:  # item k goes to ticket k: results stay in the order of the items
            turn.wait_for(lambda: taken == ticket or ended)
            if ended:
                return _DONE
            try:
                item = next(source)
            except StopIteration:
                ended = True
                return _DONE
            except BaseException:
                ended = True  # a failing source is not asked again
                raise
            finally:
                taken += 1
                turn.notify_all()
        return work(item)

    def stop_taking() -> None:
        nonlocal ended
        with turn:
            ended = True  # work still queued takes no further item
            turn.notify_all()

    try:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="riskscore-ahead") as pool:
            tickets = iter(range(2**62))

            def submit() -> Future[U | _Done]:
                return pool.submit(contextvars.copy_context().run, step, next(tickets))

            pending = deque(submit() for _ in range(workers))
            try:
                while True:
                    result = pending.popleft().result()  # the worker's exception, in order
                    if isinstance(result, _Done):
                        return
                    pending.append(submit())
                    yield result
                    del result  # the caller's reference only: memory stays bounded
            finally:
                stop_taking()  # before the pool waits for the work in progress
    finally:
        close = getattr(source, "close", None)
        if close is not None:
            close()
