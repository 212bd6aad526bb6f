"""The message-event schema (v1): columns, categorical codes and limits.

One row per event, metadata only. riskscore never accepts message content: a
column named like content is refused (see :data:`CONTENT_COLUMNS`).
"""

from __future__ import annotations

from enum import IntEnum
from typing import Final

__all__ = [
    "CONTENT_COLUMNS",
    "CONTENT_SUBSTRINGS",
    "MAX_ID_LENGTH",
    "MAX_JSON_DEPTH",
    "MAX_JSON_LINE_LENGTH",
    "MAX_SHOWN_CHARS",
    "MINOR_AGE",
    "OPTIONAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "SCHEMA_COLUMNS",
    "SCHEMA_VERSION",
    "Channel",
    "EventType",
    "is_content_column",
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

#: Words that mark a column as message content, in the languages the docs list
#: (docs/schema.md). A column is refused when one of its words (split at ``_``, ``-``,
#: spaces, dots, digits and camelCase) is in this list, or when its name contains one of
#: the longer words (:data:`CONTENT_SUBSTRINGS`), whatever the case. The schema v1 columns
#: themselves are never refused. riskscore reads no message content.
CONTENT_COLUMNS: Final = frozenset(
    {
        # English
        "text", "texts", "body", "bodies", "content", "contents", "message", "messages",
        "msg", "msgs", "payload", "payloads", "caption", "captions", "preview", "snippet",
        "transcript", "subject", "html", "markdown", "plaintext", "utterance", "comment",
        # Spanish, Portuguese, Italian, French, German, Dutch
        "texto", "mensaje", "mensajes", "contenido", "cuerpo",
        "mensagem", "mensagens", "conteudo", "conteúdo", "corpo",
        "testo", "messaggio", "messaggi", "contenuto",
        "contenu", "corps", "texte",
        "inhalt", "nachricht", "nachrichten",
        "bericht", "inhoud", "tekst",
    }
)  # fmt: skip

#: Words long enough to refuse wherever they occur in a column name (``messagetext``).
CONTENT_SUBSTRINGS: Final = tuple(sorted(w for w in CONTENT_COLUMNS if len(w) >= 6))

#: Longest id accepted, in characters (longer ids are refused or quarantined).
MAX_ID_LENGTH: Final = 256

#: Longest line of a JSON lines file, in characters (a schema v1 event takes a few hundred).
MAX_JSON_LINE_LENGTH: Final = 65_536

#: Deepest nesting of arrays and objects in one JSON line (a schema v1 event has depth 1).
MAX_JSON_DEPTH: Final = 64

#: Longest value a quarantine record holds, in characters (longer text is cut and marked).
MAX_SHOWN_CHARS: Final = 1_000

CHANNEL_NAMES: Final = tuple(c.name.lower() for c in Channel)
EVENT_NAMES: Final = tuple(e.name.lower() for e in EventType)


def is_content_column(name: str) -> bool:
    """Whether a column name looks like message content (see :data:`CONTENT_COLUMNS`).

    Examples
    --------
    >>> [is_content_column(n) for n in ("msg_body", "MessageText", "Texto", "event")]
    [True, True, True, False]
    """
    import re
    import unicodedata

    folded = unicodedata.normalize("NFKC", str(name)).strip()
    if folded in SCHEMA_COLUMNS:
        return False
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", folded).casefold()
    words = {w for w in re.split(r"[\W\d_]+", spaced) if w}
    if words & CONTENT_COLUMNS:
        return True
    return any(w in spaced for w in CONTENT_SUBSTRINGS)
