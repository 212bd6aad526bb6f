"""What the tests of :func:`riskscore.read_messages` share: four valid synthetic events
in two conversations (timestamps from ``T0`` = 2024-05-01T00:00:00Z, so that expected UTC
epochs can be checked by hand), and helpers to write and compare them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

import riskscore as rs

Events = dict[str, list[Any]]

#: 2024-05-01T00:00:00Z in epoch seconds.
T0 = 1_714_521_600
#: 21:30 after T0, in seconds (21 * 3600 + 30 * 60).
H2130 = 77_400
#: One direct message from an adult (40) to a child (12), 2024-05-01 20:30 UTC.
EVENING_MESSAGE: dict[str, Any] = {
    "conversation_id": "c1",
    "timestamp": 1_714_595_400,
    "sender_id": "a",
    "recipient_id": "k",
    "sender_age": 40,
    "recipient_age": 12,
    "channel": "direct",
}
#: One direct message from an adult (31) to a child (12), 2026-01-01 00:00 UTC.
NEW_YEAR_MESSAGE: dict[str, Any] = {
    "conversation_id": "c1",
    "timestamp": 1_767_225_600,
    "sender_id": "a",
    "recipient_id": "b",
    "sender_age": 31,
    "recipient_age": 12,
    "channel": "direct",
}


def valid_events() -> Events:
    """Four valid events in two conversations, deliberately out of order.

    Sorted by (conversation, time, input order) they are rows 1, 3, 2, 0:
    c1 has rows 1 and 3 at the same instant (input order breaks the tie),
    c2 has row 2 at T0 and row 0 a minute later.
    """
    return {
        "conversation_id": ["c2", "c1", "c2", "c1"],
        "timestamp": [T0 + 60, T0 + 120, T0, T0 + 120],
        "sender_id": ["x", "a", "y", "b"],
        "recipient_id": ["y", "b", "x", "a"],
        "sender_age": [34.0, 14.0, 13.0, 41.0],
        "recipient_age": [13.0, 41.0, 34.0, 14.0],
        "channel": ["direct", "public", "group", "direct"],
        "event": ["message", "contact_request", "message", "media"],
        "recipient_tz_offset_min": [60, 0, -300, 330],
    }


SORTED_ORDER = [1, 3, 2, 0]


def exchange_with(account: str) -> Events:
    """Two messages between ``account`` (30) and the account ``kid`` (12), one each way:
    for checking how an id is read wherever it stands (sender row 0, recipient row 1)."""
    return {
        "conversation_id": [1, 1],
        "timestamp": [1_700_000_000, 1_700_000_100],
        "sender_id": [account, "kid"],
        "recipient_id": ["kid", account],
        "channel": ["public", "direct"],
        "event": ["message", "message"],
        "sender_age": [30, 12],
        "recipient_age": [12, 30],
    }


def required_only(events: Events) -> Events:
    """The same events with only the required schema columns."""
    keep = ("conversation_id", "timestamp", "sender_id", "recipient_id", "channel")
    return {name: events[name] for name in keep}


def iso(epoch: int) -> str:
    """``epoch`` as ISO 8601 text in UTC with a ``Z`` suffix (T0-relative, same day)."""
    seconds = epoch - T0
    assert 0 <= seconds < 86_400
    hours, rest = divmod(seconds, 3_600)
    return f"2024-05-01T{hours:02d}:{rest // 60:02d}:{rest % 60:02d}Z"


def assert_same_table(got: rs.MessageTable, expected: rs.MessageTable) -> None:
    """Two tables hold the same events, in the same order, with the same provenance."""
    assert len(got) == len(expected)
    got_cols = got.columns(decoded=False)
    for name, want in expected.columns(decoded=False).items():
        np.testing.assert_array_equal(got_cols[name], want, err_msg=name)
    np.testing.assert_array_equal(got.source_row, expected.source_row)
    np.testing.assert_array_equal(got.segment_starts, expected.segment_starts)


def write_jsonl(path: Path, events: Events) -> Path:
    names = list(events)
    with path.open("w", encoding="utf-8") as fh:
        for values in zip(*(events[n] for n in names), strict=True):
            fh.write(json.dumps(dict(zip(names, values, strict=True))) + "\n")
    return path
