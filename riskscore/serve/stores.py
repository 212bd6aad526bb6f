"""One store per thread: the console's request threads each read and write SQLite through
a connection of their own.

The routes run their SQLite work in the framework's worker threads (``anyio``'s, as
FastAPI runs a plain ``def`` route), never on the event loop: one slow query then holds
its own thread, not every other request. A SQLite connection serves one thread at a time,
so each worker thread opens its own (WAL: readers do not wait for each other or for the
writer), on first use; the server closes them all at shutdown.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

__all__ = ["PerThread"]


class _Closable(Protocol):
    def close(self) -> None: ...


S = TypeVar("S", bound=_Closable)


class PerThread(Generic[S]):
    """A store of each thread's own, made by ``open_store`` on its first use there.

    Parameters
    ----------
    open_store : callable
        Opens a store usable from the thread that calls it and closable from another
        (``check_same_thread=False``).

    Examples
    --------
    >>> import io
    >>> stores = PerThread(io.StringIO)
    >>> stores.get() is stores.get()
    True
    >>> other = []
    >>> t = threading.Thread(target=lambda: other.append(stores.get())); t.start(); t.join()
    >>> other[0] is stores.get(), len(stores)
    (False, 2)
    >>> stores.close()
    """

    def __init__(self, open_store: Callable[[], S]) -> None:
        self._open = open_store
        self._local = threading.local()
        self._lock = threading.Lock()
        self._opened: list[S] = []

    def get(self) -> S:
        """This thread's store (opened now when it has none)."""
        store: S | None = getattr(self._local, "store", None)
        if store is None:
            store = self._open()
            with self._lock:
                self._opened.append(store)
            self._local.store = store
        return store

    def __len__(self) -> int:
        return len(self._opened)

    def close(self) -> None:
        """Close every thread's store (at shutdown, once no thread uses them)."""
        with self._lock:
            opened, self._opened = self._opened, []
        for store in opened:
            store.close()
