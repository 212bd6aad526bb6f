"""Column and field names that may be message content: a name whose words include a
content word (``text``, ``msg_body``, ``caption``, ``texto`` ...; :data:`CONTENT_COLUMNS`),
or a thing a user named (``attachment_name``), is refused by every reader, batch and
online. Each name's verdict is kept in a bounded cache: every event of a stream may carry
fields riskscore does not read."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final

from riskscore.io.schema import CONTENT_COLUMNS, CONTENT_NAMED, SCHEMA_COLUMNS, plain_name

__all__ = [
    "CAMEL_CASE",
    "CONTENT_SUBSTRINGS",
    "MAX_CACHED_NAME_CHARS",
    "NAME_CACHE_SIZE",
    "NOT_WORDS",
    "content_words",
    "is_content_column",
]

#: The content words as :func:`is_content_column` compares a name's words with them: in the
#: plain form :func:`plain_name` reads a name in (accents dropped, look-alike letters
#: Latin), without case.
_CONTENT_WORDS: Final = frozenset(plain_name(w).casefold() for w in CONTENT_COLUMNS)

#: Content words refused wherever they occur in a column name: those of six letters or more
#: (``messagetext``), and those of the scripts written without spaces between words (Chinese,
#: Japanese, Korean: from U+2E80 on).
CONTENT_SUBSTRINGS: Final = tuple(
    sorted(w for w in _CONTENT_WORDS if len(w) >= 6 or min(map(ord, w)) >= 0x2E80)
)
#: The length of the longest of :data:`_CONTENT_WORDS`.
_LONGEST_WORD: Final = max(map(len, _CONTENT_WORDS))
#: The words that name a thing a user sent (:data:`CONTENT_NAMED`) with ``name``.
_NAME_WORDS: Final = frozenset({"name", "names"})
#: A name whose last word is one of these is an identifier the platform assigned
#: (``message_id``, ``pollId``), not what a user wrote.
_ID_WORDS: Final = frozenset({"id", "ids", "uuid", "guid"})
#: :data:`CONTENT_NAMED` joined with ``name`` (``filename``), refused wherever they occur.
_NAMED_SUBSTRINGS: Final = tuple(sorted(f"{w}name" for w in CONTENT_NAMED))


def is_content_column(name: str) -> bool:
    """Whether a column name looks like message content (see :data:`CONTENT_COLUMNS` and
    :data:`CONTENT_NAMED`), however it is spelt: accents, invisible characters and
    look-alike letters do not hide a word.

    Examples
    --------
    >>> [is_content_column(n) for n in ("msg_body", "MessageText", "SMSBody", "Texto", "event")]
    [True, True, True, True, False]
    >>> is_content_column("t\u0435xt"), is_content_column("te\u200bxt"), is_content_column("Téxt")
    (True, True, True)
    >>> is_content_column("te\\x00xt"), is_content_column("me\\x1bssage")
    (True, True)
    >>> [is_content_column(n) for n in ("attachment_name", "fileName", "attachment_type")]
    [True, True, False]
    >>> [is_content_column(n) for n in ("message_id", "pollId", "messageid", "MessageHash")]
    [False, False, True, True]
    """
    return content_words(name) is not None


def content_words(name: str) -> str | None:
    """Why :func:`is_content_column` refuses a column name: the content word it holds, as
    read (``'caption'``, ``'attachment' + 'name'``), or None for a name it accepts.

    Examples
    --------
    >>> content_words("photo_caption"), content_words("attachmentName"), content_words("age")
    ("'caption'", "'attachment' + 'name'", None)
    """
    name = str(name)
    # every event of a stream may carry a field riskscore does not read: its verdict is
    # kept by name (10-70 us each), in a bounded cache; a long name is read each time
    return _content_words(name) if len(name) <= MAX_CACHED_NAME_CHARS else _words_of(name)


#: Verdicts on names kept per rule of names (:func:`content_words`,
#: :func:`riskscore.io.column_names.misspelt_column`): at most this many names each, so that
#: a stream of ever new names holds no more memory...
NAME_CACHE_SIZE: Final = 4096
#: ... nor names longer than this (a longer one is read each time it comes).
MAX_CACHED_NAME_CHARS: Final = 256


#: Where camelCase words start: at a capital after a small letter, and at the last capital
#: of an acronym before a small letter ("SMSBody" is "SMS Body").
CAMEL_CASE: Final = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
#: What separates the words of a name: anything but letters (digits and ``_`` too).
NOT_WORDS: Final = re.compile(r"[\W\d_]+")


def _words_of(name: str) -> str | None:
    """:func:`content_words` of a name, read."""
    if name.strip() in SCHEMA_COLUMNS:
        return None
    spaced = CAMEL_CASE.sub(" ", plain_name(name)).casefold()
    words = [w for w in NOT_WORDS.split(spaced) if w]
    if len(words) >= 2 and words[-1] in _ID_WORDS:
        return None
    found = next((w for w in words if w in _CONTENT_WORDS), None)
    if found is None:
        found = next((w for w in CONTENT_SUBSTRINGS + _NAMED_SUBSTRINGS if w in spaced), None)
    if found is not None:
        return repr(found)
    joined = next((parts for parts in map(_joined_content, words) if parts), None)
    if joined is not None:  # the first few words named: a name may join thousands
        return " + ".join([*map(repr, joined[:3]), *(["..."] if len(joined) > 3 else [])])
    if _NAME_WORDS.intersection(words):
        sent = next((w for w in words if w.removesuffix("s") in CONTENT_NAMED), None)
        if sent is not None:
            return f"{sent!r} + 'name'"
    return None


#: :func:`_words_of`, each name's verdict kept (:data:`NAME_CACHE_SIZE`).
_content_words: Final = lru_cache(maxsize=NAME_CACHE_SIZE)(_words_of)


def _joined_content(word: str) -> tuple[str, ...]:
    """The content words that ``word`` is written together from, when it is two or more
    of them and nothing else (``smsbody``, ``textbody``, ``htmltext``: short words that
    :data:`CONTENT_SUBSTRINGS` does not look for inside a word); empty otherwise."""
    # begins[i]: where the last content word of word[:i] begins, when word[:i] is content
    # words only (-1 when not); a part is at most the longest content word, so a name of
    # any length is read in linear time
    # a word of content words starts with one (most words do not: a set look-up each)
    if not any(word[:end] in _CONTENT_WORDS for end in range(1, _LONGEST_WORD + 1)):
        return ()
    begins = [0] + [-1] * len(word)
    for end in range(1, len(word) + 1):
        for start in range(max(0, end - _LONGEST_WORD), end):
            if begins[start] >= 0 and word[start:end] in _CONTENT_WORDS:
                begins[end] = start
                break
    if begins[-1] < 0:
        return ()
    parts, end = [], len(word)
    while end > 0:
        parts.append(word[begins[end] : end])
        end = begins[end]
    return tuple(reversed(parts)) if len(parts) >= 2 else ()
