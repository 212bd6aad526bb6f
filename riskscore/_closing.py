"""The context manager of an object with a ``close`` method (private): ``with`` gives the
object itself and closes it at the end, error or not.

:class:`~riskscore.ReviewQueue` and the checkpoint's
:class:`~riskscore.online.checkpoint.Snapshot` mix it in. A context manager whose
``__enter__`` or ``__exit__`` does more (the checkpoint lock, which frees its sidecar
after an error; the test homeserver, which starts on entry) writes its own.

Examples
--------
>>> class Door(ClosesOnExit):
...     def close(self) -> None:
...         print("closed")
>>> with Door() as door:
...     type(door).__name__
'Door'
closed
"""

from __future__ import annotations

from abc import abstractmethod
from types import TracebackType
from typing import Self

__all__ = ["ClosesOnExit"]


class ClosesOnExit:
    """Mixin: ``__enter__`` returns the object, ``__exit__`` calls its :meth:`close`."""

    __slots__ = ()

    @abstractmethod
    def close(self) -> None:
        """Release what the object holds."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
