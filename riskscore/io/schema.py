"""The message-event schema (v1): columns, categorical codes and limits.

One row per event, metadata only. riskscore never accepts message content: a
column named like content is refused (see :data:`CONTENT_COLUMNS`).
"""

from __future__ import annotations

from enum import IntEnum
from typing import Final

__all__ = [
    "CONTENT_COLUMNS",
    "MINOR_AGE",
    "OPTIONAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "SCHEMA_COLUMNS",
    "SCHEMA_VERSION",
    "Channel",
    "EventType",
]

SCHEMA_VERSION: Final = 1

#: Age in years below which an account is treated as a child.
MINOR_AGE: Final = 18.0

#: Plausible declared or estimated ages, in years.
MIN_AGE: Final = 0.0
MAX_AGE: Final = 120.0

#: UTC offsets in use run from UTC-12:00 to UTC+14:00.
MIN_TZ_OFFSET_MIN: Final = -720
MAX_TZ_OFFSET_MIN: Final = 840

#: Epoch seconds accepted: 1970-01-01 up to (not including) 2200-01-01.
MIN_TIMESTAMP: Final = 0
MAX_TIMESTAMP: Final = 7_258_118_400


class Channel(IntEnum):
    """Surface an event was sent on, ordered from most public to most private.

    ``EXTERNAL`` means a handle or link to another app was shared: the
    conversation is moving off the platform.
    """

    PUBLIC = 0
    GROUP = 1
    DIRECT = 2
    EPHEMERAL = 3
    ENCRYPTED = 4
    EXTERNAL = 5


class EventType(IntEnum):
    """What happened.

    ``BLOCK`` and ``REPORT`` are sent by the account that blocks or reports;
    their recipient is the account blocked or reported.
    """

    MESSAGE = 0
    CONTACT_REQUEST = 1
    CONTACT_ACCEPT = 2
    BLOCK = 3
    REPORT = 4
    MEDIA = 5


REQUIRED_COLUMNS: Final = ("conversation_id", "timestamp", "sender_id", "recipient_id", "channel")

#: Optional columns and the value a missing column or an empty cell takes.
OPTIONAL_COLUMNS: Final[dict[str, object]] = {
    "sender_age": float("nan"),
    "recipient_age": float("nan"),
    "event": "message",
    "recipient_tz_offset_min": 0,
}

SCHEMA_COLUMNS: Final = (
    "conversation_id",
    "timestamp",
    "sender_id",
    "recipient_id",
    "sender_age",
    "recipient_age",
    "channel",
    "event",
    "recipient_tz_offset_min",
)

#: Column names that would carry message content. riskscore refuses them.
CONTENT_COLUMNS: Final = frozenset({"text", "body", "content", "message"})

CHANNEL_NAMES: Final = tuple(c.name.lower() for c in Channel)
EVENT_NAMES: Final = tuple(e.name.lower() for e in EventType)
