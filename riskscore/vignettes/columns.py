"""The schema v1 columns of a vignette's events, from its accounts and who sent each row to
whom: one rule for a conversation's rows and a room's."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from riskscore.io.schema import CHANNEL_NAMES, EVENT_NAMES
from riskscore.vignettes.specs import Account
from riskscore.vignettes.timing import AnyArray, IntArray

__all__ = ["event_columns"]


def event_columns(
    conversation_id: str,
    accounts: Sequence[Account],
    time: IntArray,
    sender: IntArray,
    recipient: IntArray,
    channel: IntArray,
    event: IntArray,
) -> dict[str, AnyArray]:
    """Every schema v1 column but ``room_size`` of rows sent at ``time`` by
    ``accounts[sender]`` to ``accounts[recipient]`` on ``channel`` (codes), as ``event``
    (codes): each account's id, age (NaN when unknown) and, for the recipient, time zone."""
    ids = np.array([a.id for a in accounts], dtype=object)
    ages = np.array([np.nan if a.age is None else a.age for a in accounts])
    tzs = np.array([a.tz for a in accounts], dtype=np.int64)
    return {
        "conversation_id": np.full(len(time), conversation_id, dtype=object),
        "timestamp": time,
        "sender_id": ids[sender],
        "recipient_id": ids[recipient],
        "sender_age": ages[sender],
        "recipient_age": ages[recipient],
        "channel": np.array(CHANNEL_NAMES, dtype=object)[channel],
        "event": np.array(EVENT_NAMES, dtype=object)[event],
        "recipient_tz_offset_min": tzs[recipient],
    }
