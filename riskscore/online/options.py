"""The online scorer's option defaults and the type of its reference clock, shared by
the scorer (:mod:`riskscore.online.memory`), its checkpoints
(:mod:`riskscore.online.persist`) and the command line's scorer options."""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Final, Literal

import numpy as np

from riskscore.io.timestamps import DEFAULT_MAX_FUTURE_S

__all__ = [
    "DEFAULT_IDLE_EXPIRY_S",
    "DEFAULT_MAX_ACCOUNT_CONTACTS",
    "DEFAULT_MAX_CONVERSATIONS",
    "DEFAULT_MAX_FUTURE_S",
    "MAX_CONVERSATIONS_LIMIT",
    "RUNNING_COUNT",
    "EventRow",
    "TimeSource",
    "check_time_source",
]

#: Default time after which a scorer forgets a conversation or an account with no event
#: (event time): 30 days.
DEFAULT_IDLE_EXPIRY_S: Final = 30 * 86_400.0
#: Default cap on live conversations of one scorer (about 2 GB of state at the cap).
DEFAULT_MAX_CONVERSATIONS = 1_000_000
#: Largest ``max_conversations`` a scorer takes (about 2 TB of state at the cap): a larger
#: one, given or read from a checkpoint, is refused rather than stand for "no cap".
MAX_CONVERSATIONS_LIMIT = 1_000_000_000
#: Default cap on the distinct accounts one account's counts and pair facts hold: far above
#: any person's contacts and any split of the model, it bounds what one account that writes
#: to ever new ids (a flood) holds while it stays active.
DEFAULT_MAX_ACCOUNT_CONTACTS = 10_000
# DEFAULT_MAX_FUTURE_S (one day) is the batch readers' default too: defined once, with
# the rule, in riskscore.io.timestamps, and re-exported here.

#: ``"wall"`` (the system clock), ``"events"`` (replay: the latest accepted event time) or a
#: callable returning epoch seconds.
TimeSource = Literal["wall", "events"] | Callable[[], float]


def check_time_source(value: object) -> TimeSource:
    """``time_source`` checked: ``"wall"``, ``"events"`` or a callable, or ValueError."""
    if not (value in ("wall", "events") or callable(value)):
        raise ValueError(f"time_source must be 'wall', 'events' or a callable, got {value!r:.80}")
    return value


class EventRow(enum.Enum):
    """How a refusal of ``OnlineScorer.update_one`` names its event when no ``row`` is
    given (None, given, names no number)."""

    RUNNING_COUNT = "the scorer's count of events applied"

    @staticmethod
    def check(row: object) -> int | None:
        """A caller's ``row`` checked: an integer of at least 0 (numpy's as ``int``) or
        None; a TypeError for another type and a ValueError for a negative integer, which
        a refusal would name as the event's number (``event True``, ``event -3``).

        Examples
        --------
        >>> EventRow.check(np.int64(7)), EventRow.check(None)
        (7, None)
        >>> EventRow.check(-3)
        Traceback (most recent call last):
        ValueError: row must be at least 0 (the caller's number of the event), got -3
        """
        if row is None:
            return row
        if isinstance(row, (int, np.integer)) and not isinstance(row, bool):
            if row < 0:
                raise ValueError(
                    f"row must be at least 0 (the caller's number of the event), got {row}"
                )
            return int(row)
        raise TypeError(
            f"row must be an int (the caller's number of the event) or None, got "
            f"{type(row).__name__} {row!r:.80}"
        )


#: The default ``row`` of ``OnlineScorer.update_one``: its count of events applied.
RUNNING_COUNT: Final = EventRow.RUNNING_COUNT
