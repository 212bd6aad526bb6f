"""``riskscore stream`` stops on SIGTERM or SIGINT at an event boundary, and saves its
checkpoint there as at the end of input.

While a line is processed (parsed, applied, its alerts written and queued, a periodic
checkpoint saved) the signal waits; it takes effect when the line is done, or at once while
the stream waits for input. Either way the stream's ``on_stop`` runs first (with every line
read so far applied whole: its checkpoint is consistent), then the handler in place before
(the command line's: ``Terminated``, exit 143; ``KeyboardInterrupt``, exit 130).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from types import FrameType
from typing import Any, TypeVar

__all__ = ["at_event_boundaries"]

T = TypeVar("T")

#: The signals held back while a line is processed.
_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def at_event_boundaries(items: Iterable[T], on_stop: Callable[[], None]) -> Iterator[T]:
    """``items``, with SIGTERM and SIGINT held back while the consumer handles one.

    A signal that comes while an item is handled takes effect when the consumer asks for
    the next one; one that comes while the next is awaited, at once. It takes effect as
    ``on_stop()``, then as the handler in place before would have (raising, for the command
    line's; an ignored signal stays ignored). Outside the main thread nothing is held back.

    Parameters
    ----------
    items : iterable
        The input lines.
    on_stop : callable
        What to do at an event boundary before stopping (save the checkpoint).

    Examples
    --------
    >>> list(at_event_boundaries(["a\\n", "b\\n"], lambda: None))
    ['a\\n', 'b\\n']
    """
    previous: dict[int, Any] = {}
    pending: list[tuple[int, FrameType | None]] = []
    busy = False

    def deliver(signum: int, frame: FrameType | None) -> None:
        before = previous.get(signum)
        if before == signal.SIG_IGN:
            return
        on_stop()
        if callable(before):
            before(signum, frame)
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise SystemExit(128 + signum)  # SIG_DFL: the process would end

    def handle(signum: int, frame: FrameType | None) -> None:
        if busy:
            pending.append((signum, frame))
        else:
            deliver(signum, frame)

    if threading.current_thread() is threading.main_thread():
        for signum in _SIGNALS:
            previous[signum] = signal.signal(signum, handle)
    try:
        for item in items:  # awaited: a signal takes effect at once
            busy = True
            yield item
            busy = False  # the consumer handled it whole
            if pending:
                deliver(*pending[0])
    finally:
        for number, before in previous.items():
            if signal.getsignal(number) == handle:  # not reset by the handler before
                signal.signal(number, before)
