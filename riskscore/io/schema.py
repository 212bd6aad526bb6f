"""The message-event schema (v1): columns, categorical codes and limits.

One row per event, metadata only. riskscore never accepts message content: a
column named like content is refused (see :data:`CONTENT_COLUMNS`).
"""

from __future__ import annotations

import math
import unicodedata
from enum import IntEnum
from functools import lru_cache
from typing import Final

import pyarrow as pa
import pyarrow.compute as pc

from riskscore.io.joiners import JOINERS, hidden_joiner

__all__ = [
    "CONTENT_COLUMNS",
    "HIDDEN_RE2",
    "ID_COLUMNS",
    "INT64_MAX",
    "INT64_MIN",
    "MAX_ID_LENGTH",
    "MAX_JSON_DEPTH",
    "MAX_JSON_LINE_LENGTH",
    "MAX_PAIR_ID_LENGTH",
    "MAX_ROOM_SIZE",
    "MAX_ROW_GROUP_BYTES",
    "MAX_SHOWN_CHARS",
    "MINOR_AGE",
    "MIN_SENTENCE_WORDS",
    "OPTIONAL_COLUMNS",
    "PAIR_ID_SEPARATOR",
    "REQUIRED_COLUMNS",
    "ROOM_SIZE_UNKNOWN",
    "SCHEMA_COLUMNS",
    "SCHEMA_VERSION",
    "SENTENCE_ID_RE2",
    "TZ_UNKNOWN",
    "Channel",
    "EventType",
    "channel_at_level",
    "has_hidden_character",
    "is_declared_minor",
    "is_null",
    "is_sentence",
    "plain_name",
    "sentence_id",
]

SCHEMA_VERSION: Final = 1

#: Age in years below which an account is treated as a child.
MINOR_AGE: Final = 18.0

#: Plausible declared or estimated ages, in years.
MIN_AGE: Final = 0.0
MAX_AGE: Final = 120.0

#: UTC offsets in use run from UTC-12:00 to UTC+14:00 in whole quarter hours (Nepal +345):
#: one off that step is no zone's, most often hours given for minutes (5 for UTC+5).
MIN_TZ_OFFSET_MIN, MAX_TZ_OFFSET_MIN, TZ_OFFSET_STEP_MIN = -720, 840, 15
TZ_OFFSETS_IN_USE = frozenset(range(MIN_TZ_OFFSET_MIN, MAX_TZ_OFFSET_MIN + 1, TZ_OFFSET_STEP_MIN))
#: ``recipient_tz_offset_min`` of an event whose offset is unknown (an empty cell or a missing
#: column), as stored in :attr:`MessageTable.recipient_tz_offset_min` (int16). Unknown is
#: never UTC: night-time features count only events whose clock is known.
TZ_UNKNOWN: Final = -32768

#: ``room_size`` of an event whose room size was not given (an event between two accounts).
ROOM_SIZE_UNKNOWN: Final = 0
#: Largest ``room_size`` accepted: rooms beyond any chat platform's largest are refused.
MAX_ROOM_SIZE: Final = 10_000_000

#: Epoch seconds of times in general (a reference time, a period's ends, a checkpoint's
#: counters): 1970-01-01 up to (not including) 2200-01-01.
MIN_TIMESTAMP: Final = 0
MAX_TIMESTAMP: Final = 7_258_118_400
#: Earliest time of an event: 2000-01-01T00:00:00Z. Online chat metadata is not older; an
#: event dated before it is a clock never set (0, a few seconds) or a default value, which
#: would stretch its conversation over decades in batch and, as the first event of an
#: online scorer with ``time_source="events"``, set the clock that every later event is
#: checked against. Refused (or quarantined and counted) by every reader: batch, out of
#: core, Spark, ``OnlineScorer.update_one`` and ``riskscore stream``/``serve``.
EARLIEST_EVENT_TIMESTAMP: Final = 946_684_800


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

#: Optional columns and the value a missing column or an empty cell takes (NaN and None:
#: unknown).
OPTIONAL_COLUMNS: Final[dict[str, object]] = {
    "sender_age": float("nan"),
    "recipient_age": float("nan"),
    "event": "message",
    "recipient_tz_offset_min": None,
    "room_size": None,
}

#: The id columns, whose cells are ids (integers, or text kept as given).
ID_COLUMNS: Final = ("conversation_id", "sender_id", "recipient_id")

SCHEMA_COLUMNS: Final = (
    "conversation_id", "timestamp", "sender_id", "recipient_id", "sender_age", "recipient_age",
    "channel", "event", "recipient_tz_offset_min", "room_size",
)  # fmt: skip

#: Words that mark a column as message content, in the languages the docs list
#: (docs/schema.md), as written (:data:`_CONTENT_WORDS` holds the forms compared). A column
#: is refused when one of its words (split at ``_``, ``-``, spaces, dots, digits and
#: camelCase) is in this list, or when its name contains one of the longer words or of
#: those written without spaces (:data:`CONTENT_SUBSTRINGS`), whatever the case. The
#: schema v1 columns themselves are never refused. riskscore reads no message content.
CONTENT_COLUMNS: Final = frozenset(
    {
        # English
        "text", "texts", "body", "bodies", "content", "contents", "message", "messages",
        "msg", "msgs", "payload", "payloads", "caption", "captions", "preview", "snippet",
        "transcript", "subject", "html", "markdown", "plaintext", "utterance", "comment",
        "txt", "sms", "mms", "excerpt", "excerpts",
        # text under a qualifier, written joined: Reddit's selftext, X's full_text joined
        "selftext", "fulltext", "richtext", "rawtext",
        # what a user sent beside the text, as platforms' exports name it (Telegram, Discord,
        # Slack, WhatsApp, Teams, Instagram, X): file names, link and embed text, alt and
        # OCR text, transcripts, emoji, polls, quotes, thumbnails
        "filename", "filenames", "title", "titles", "description", "descriptions",
        "summary", "fallback", "pretext", "url", "urls", "uri", "uris", "href", "link",
        "links", "hyperlink", "alttext", "ocr", "transcripts", "transcription", "emoji",
        "emojis", "poll", "polls", "quote", "quotes", "thumbnail", "thumbnails",
        # Spanish, Portuguese, Italian, French, German, Dutch
        "texto", "mensaje", "mensajes", "contenido", "cuerpo",
        "mensagem", "mensagens", "conteudo", "conteúdo", "corpo",
        "testo", "messaggio", "messaggi", "contenuto",
        "contenu", "corps", "texte",
        "inhalt", "nachricht", "nachrichten",
        "bericht", "inhoud", "tekst",
        # Swedish, Danish, Norwegian, Polish, Turkish, Indonesian
        "meddelande", "besked", "innhold", "indhold", "innehåll",
        "treść", "wiadomość", "wiadomości", "mesaj", "metin", "içerik", "pesan", "teks",
        # Russian, Ukrainian, Arabic, Hindi
        "текст", "сообщение", "сообщения", "содержание", "повідомлення", "зміст",
        "نص", "رسالة", "محتوى", "संदेश",
        # Chinese, Japanese, Korean (written without spaces: found anywhere in a name)
        "消息", "訊息", "内容", "內容", "文本", "正文", "本文", "メッセージ", "テキスト",
        "메시지", "본문", "내용", "텍스트",
    }
)  # fmt: skip

#: Things a user sends whose *name* is text the user chose (``attachment_name``,
#: ``fileName``, ``sticker_name``, WhatsApp's ``location.name`` and ``contacts.name``): a
#: column is refused when its words hold one of these (or its plural) and ``name`` or
#: ``names``, or the joined form (``attachmentname``) anywhere in it. ``attachment_type``
#: or ``attachment_count`` stay metadata.
CONTENT_NAMED: Final = frozenset(
    {"file", "attachment", "document", "media", "photo", "image", "video", "audio", "voice",
     "sticker", "gif", "poll", "link", "location", "contact", "venue"}
)  # fmt: skip

#: Longest id accepted, in characters (longer ids are refused or quarantined).
MAX_ID_LENGTH: Final = 256
#: Separates the room and the two accounts in the id of a pair conversation of a group
#: room (:func:`riskscore.io.groups.pair_conversation_id`).
PAIR_ID_SEPARATOR: Final = "|"
#: Longest conversation id riskscore derives: a pair id, a room id and two account ids of
#: up to :data:`MAX_ID_LENGTH` joined by two separators. Stores of conversation ids (the
#: review queue, online checkpoints) accept it; ids given in events stay within
#: :data:`MAX_ID_LENGTH`.
MAX_PAIR_ID_LENGTH: Final = 3 * MAX_ID_LENGTH + 2 * len(PAIR_ID_SEPARATOR)

#: The range of an integer id kept as an integer (int64); one beyond it is kept as its
#: decimal text, so that no two ids are ever merged by a cast.
INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1

#: Longest line of a JSON lines file, in characters (a schema v1 event takes a few hundred).
MAX_JSON_LINE_LENGTH: Final = 65_536

#: Deepest nesting of arrays and objects in one JSON line (a schema v1 event has depth 1).
MAX_JSON_DEPTH: Final = 64

#: Most distinct field names a JSON lines file may give across its lines (schema v1 has
#: ten; a producer adds a few of its own): each unread name is checked for content words
#: and misspelling, so a 5 MB file of 400,000 names of its own took seconds per MB.
MAX_JSON_FIELD_NAMES: Final = 10_000

#: Largest row group of a Parquet events file read, in bytes of its schema v1 columns once
#: decompressed: the uncompressed size its metadata gives, and at least 8 bytes a value
#: (a run-length encoded column of a billion equal values is small even uncompressed). A
#: small file can claim many GB; Spark, polars, DuckDB and pyarrow write row groups of at
#: most about 128 MB or a million rows, far below this.
MAX_ROW_GROUP_BYTES: Final = 2 * 1024**3

#: Unicode categories that an id or a name shown to a moderator may not hold: controls (Cc),
#: format characters such as text-direction overrides and zero-width spaces (Cf), lone
#: surrogates (Cs), and line and paragraph separators (Zl, Zp); and :data:`BLANK_CHARS`, of
#: other categories but drawing nothing (the Hangul fillers, the blank braille pattern). They
#: reorder, hide or break the text a moderator reads, so that two ids can look the same
#: (``alice`` and ``alice\u3164``) or one look like another.
HIDDEN_CATEGORIES: Final = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
BLANK_CHARS: Final = "\u115f\u1160\u2800\u3164\uffa0"
#: The hidden characters as an Arrow (RE2) pattern; valid UTF-8 holds no surrogate.
HIDDEN_RE2: Final = rf"[\p{{Cc}}\p{{Cf}}\p{{Zl}}\p{{Zp}}{BLANK_CHARS}]"

#: Words (runs separated by whitespace) from which text is a sentence, which may be message
#: content: never quoted in an error, and no id (:func:`is_sentence`, :func:`sentence_id`).
MIN_SENTENCE_WORDS: Final = 3
#: :func:`sentence_id` in RE2 (Arrow): three words in one part of an id split at ``|``
#: (``\s`` and ``\p{Z}`` are Python's whitespace but controls, which ids never hold).
SENTENCE_ID_RE2: Final = r"[^\s\p{Z}|][\s\p{Z}]+[^\s\p{Z}|]+[\s\p{Z}]+[^\s\p{Z}|]"

#: Longest value a quarantine record holds, in characters (longer text is cut and marked).
MAX_SHOWN_CHARS: Final = 1_000

CHANNEL_NAMES: Final = tuple(c.name.lower() for c in Channel)
EVENT_NAMES: Final = tuple(e.name.lower() for e in EventType)


def is_declared_minor(age: float | None) -> bool:
    """Whether a declared age is known (not None, not NaN) and under :data:`MINOR_AGE`.

    Examples
    --------
    >>> is_declared_minor(17.0), is_declared_minor(18.0), is_declared_minor(float("nan"))
    (True, False, False)
    >>> is_declared_minor(None)
    False
    """
    return age is not None and not math.isnan(age) and age < MINOR_AGE


def channel_at_level(level: float) -> str | None:
    """The schema v1 name of a channel level (the ``max_channel`` feature's value), or None
    when it is not known (NaN, or no channel's level).

    Examples
    --------
    >>> channel_at_level(4.0), channel_at_level(float("nan"))
    ('encrypted', None)
    """
    if not math.isfinite(level) or not 0 <= level < len(CHANNEL_NAMES) or level != int(level):
        return None
    return CHANNEL_NAMES[int(level)]


#: Cyrillic and Greek letters drawn like Latin ones (``t\u0435xt``, a Cyrillic ``e``): read
#: as the Latin letter when a column name is checked for content.
_LOOKALIKES: Final = str.maketrans(
    "\u0430\u0435\u043e\u0440\u0441\u0443\u0445\u0456\u0458\u0455\u0501\u051b\u051d\u0410"
    "\u0412\u0415\u041a\u041c\u041d\u041e\u0420\u0421\u0422\u0425\u0406\u0408\u0405\u03b1"
    "\u03b5\u03bf\u03c4\u03c5\u03bd\u03ba\u03c1\u03c7\u0391\u0392\u0395\u0397\u0399\u039a"
    "\u039c\u039d\u039f\u03a1\u03a4\u03a5\u03a7",
    "aeopcyxijsdqwABEKMHOPCTXIJSaeotuvkpxABEHIKMNOPTYX",
)


def plain_name(name: str) -> str:
    """A column name as it reads: compatibility forms folded (full-width letters), accents and
    invisible characters (zero-width space, soft hyphen, NUL, escape: :data:`HIDDEN_CATEGORIES`
    but whitespace, which separates words) dropped, look-alike letters Latin."""
    if name.isascii() and name.isprintable():  # no accent, hidden or look-alike character
        return name.strip()
    decomposed = unicodedata.normalize("NFKD", str(name))
    kept = "".join(c for c in decomposed if not _hidden_in_name(c))
    return unicodedata.normalize("NFKC", kept).translate(_LOOKALIKES).strip()


def _hidden_in_name(char: str) -> bool:
    """Whether ``char`` is dropped from a name read for its words: an accent, or a character
    a moderator cannot see (:data:`HIDDEN_CATEGORIES`) that is not whitespace."""
    category = unicodedata.category(char)
    hidden = category in HIDDEN_CATEGORIES or char in BLANK_CHARS
    return category == "Mn" or (hidden and not char.isspace())


#: pandas' missing values (``pd.NA``, ``pd.NaT``), known by type name: pandas is optional.
_PANDAS_NULLS: Final = frozenset({"NAType", "NaTType"})


def is_null(value: object) -> bool:
    """Whether a cell is empty (unknown where a column may be, refused where it may not):
    None, a float NaN, or pandas' ``NA`` or ``NaT``, in whatever container it came.

    Examples
    --------
    >>> is_null(None), is_null(float("nan")), is_null(0), is_null("")
    (True, True, False, False)
    """
    if value is None:
        return True
    if isinstance(value, float):
        return value != value
    return type(value).__name__ in _PANDAS_NULLS


def is_sentence(text: str) -> bool:
    """Whether ``text`` is of :data:`MIN_SENTENCE_WORDS` or more words separated by
    whitespace: a sentence, which may be message content, where an id, a value or a column
    name belongs (a file without a header gives its first row as the column names).

    Examples
    --------
    >>> is_sentence("sender_age"), is_sentence("Sender Age"), is_sentence("see you soon")
    (False, False, True)
    """
    return len(text.split(maxsplit=MIN_SENTENCE_WORDS)) >= MIN_SENTENCE_WORDS


def sentence_id(text: str) -> bool:
    """Whether id ``text`` holds a sentence (:func:`is_sentence`) in one of its parts split
    at :data:`PAIR_ID_SEPARATOR`: so the pair id of a room and two accounts of two words
    each is no sentence, as none of them is (batch: :data:`SENTENCE_ID_RE2`).

    Examples
    --------
    >>> sentence_id("see you at 9"), sentence_id("my room|ann lee|bo")
    (True, False)
    >>> bool(pc.match_substring_regex(pa.array(["see you at 9", "my room|ann lee|bo"]),
    ...      SENTENCE_ID_RE2).to_pylist() == [True, False])
    True
    """
    return any(is_sentence(part) for part in text.split(PAIR_ID_SEPARATOR))


def has_hidden_character(text: str) -> bool:
    """Whether ``text`` holds a character of :data:`HIDDEN_CATEGORIES` or :data:`BLANK_CHARS`
    (a zero-width joiner only where it draws nothing, :mod:`riskscore.io.joiners`): the one
    rule for ids (batch and online), moderator and platform names, and band names.

    Examples
    --------
    >>> has_hidden_character("acct-9"), has_hidden_character("caf\\u00e9 au lait")
    (False, False)
    >>> has_hidden_character("a\\u202eb"), has_hidden_character("a\\nb")
    (True, True)
    """
    for ch in text:
        category = unicodedata.category(ch)
        hidden = category in HIDDEN_CATEGORIES or ch in BLANK_CHARS
        if (hidden or (category == "Cn" and _hidden_in_re2(ch))) and ch not in JOINERS:
            return True
    return any(j in text for j in JOINERS) and hidden_joiner(text)


@lru_cache(maxsize=1024)
def _hidden_in_re2(char: str) -> bool:
    """Whether a character unassigned in Python's Unicode tables is one of
    :data:`HIDDEN_RE2` in RE2's, which may be newer (Python 3.11 reads Unicode 14.0: the
    Egyptian hieroglyph format controls U+13439..U+1343F of 15.0 are unassigned there), so
    that one value is refused as a column of them is in Arrow."""
    return bool(pc.match_substring_regex(pa.array([char], pa.string()), HIDDEN_RE2)[0].as_py())
