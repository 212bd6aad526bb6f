"""How names read from input are shown (private): a column's or a field's name quoted in an
error, or given by its length when it may be message content, and which unread names are
kept and reported as given. One rule for the batch readers, the online scorer, ``riskscore
stream``, ``riskscore serve`` and Spark."""

from __future__ import annotations

from collections.abc import Collection
from typing import Final

from riskscore.io.content_names import CAMEL_CASE, NOT_WORDS
from riskscore.io.raw import (
    MAX_IGNORED_NAME_CHARS,
    MAX_IGNORED_NAMES,
    ONE_WORD_MESSAGE_RE,
    OTHER_NAMES,
    NotShown,
    show,
)
from riskscore.io.schema import is_sentence

__all__ = [
    "name_column",
    "quoted_name",
    "reported_as",
    "reported_name",
]


def quoted_name(name: str) -> str:
    """A column or field name read from input as an error quotes it (:func:`show`), or only
    its length when it may be message content: a sentence (:func:`is_sentence`), or a
    name holding a letter of a script written without spaces or a pictograph
    (:data:`ONE_WORD_MESSAGE_RE`, where a whole message is one word). A file without a
    header gives its first row as the column names.

    Examples
    --------
    >>> print(quoted_name("tz_offset"), "/", quoted_name("see you at the gym"))
    'tz_offset' / text of 18 characters (not shown: it may be message content)
    >>> print(quoted_name("\u4eca\u665a\u89c1\u9762"))
    text of 4 characters (not shown: it may be message content)
    """
    hidden = is_sentence(name) or ONE_WORD_MESSAGE_RE.search(name) is not None
    return show(NotShown(len(name)) if hidden else name)


def name_column(name: str) -> str | None:
    """``name`` as the ``column`` of a :class:`~riskscore.exceptions.SchemaError` whose
    message names it by :func:`quoted_name`: itself when the message quotes it, else None
    (a caller logging ``exc.column`` would write the text the message withheld).

    Examples
    --------
    >>> name_column("sender_id"), name_column("see you at the gym")
    ('sender_id', None)
    """
    return name if quoted_name(name) == show(name) else None


def reported_name(name: str) -> bool:
    """Whether a name read from input (of a column or field riskscore does not read) may
    be kept and reported as it is: at most :data:`MAX_IGNORED_NAME_CHARS` printable
    characters, no sentence and no letter of a script written without spaces nor
    pictograph (:data:`ONE_WORD_MESSAGE_RE`, where a whole message is one short word), which
    may be message content.

    Examples
    --------
    >>> reported_name("colour"), reported_name("see you at the park after school")
    (True, False)
    >>> reported_name("\u4eca\u665a\u89c1\u9762")  # Chinese: see you tonight
    False
    """
    return (
        len(name) <= MAX_IGNORED_NAME_CHARS
        and name.isprintable()
        and not is_sentence(name)
        and ONE_WORD_MESSAGE_RE.search(name) is None
        and name_words(name) <= MAX_REPORTED_NAME_WORDS
    )


#: Most words (:func:`name_words`) of an unread name kept and reported as given:
#: ``recipient_tz_offset_min`` has 4; ``dont_tell_your_mum_meet_me_behind_the_school``,
#: a message written as one name, was listed and kept in checkpoints.
MAX_REPORTED_NAME_WORDS: Final = 5


def name_words(name: str) -> int:
    """The words of a name, split at separators, digits and camelCase, as the content-name
    rule splits them.

    Examples
    --------
    >>> name_words("recipient_tz_offset_min"), name_words("wearGoingToMeetTonightOk")
    (4, 6)
    """
    return sum(1 for word in NOT_WORDS.split(CAMEL_CASE.sub(" ", name)) if word)


def reported_as(name: str, kept: Collection[str]) -> str:
    """The name under which an unread column or field is kept and reported, beside the
    names ``kept`` so far: itself, or :data:`OTHER_NAMES` when it may not be reported
    (:func:`reported_name`) or :data:`MAX_IGNORED_NAMES` names are kept already. The one
    rule of batch reading (``MessageTable.unread_columns``), ``riskscore stream`` and
    ``riskscore serve``.

    Examples
    --------
    >>> reported_as("colour", ()), reported_as("see you at the park after school", ())
    ('colour', '(other names)')
    """
    if name in kept or (len(kept) < MAX_IGNORED_NAMES and reported_name(name)):
        return name
    return OTHER_NAMES
