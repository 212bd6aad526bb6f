"""What the service's requests name: the conversation ids of an API path, the adult of a
console case path, a whole number or a day in a query (by the command line's time rule),
and the field of a query or form that looks like message content. Anything else names
nothing (None, or for a conversation id or a day a ``ValueError`` that says why), never a
guess."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import unquote_to_bytes

from riskscore._units import DAY_S
from riskscore.exceptions import SchemaError
from riskscore.io.content_names import is_content_column
from riskscore.io.given_times import is_day, parse_time
from riskscore.io.input_names import quoted_name
from riskscore.io.raw import NotShown, show, shown
from riskscore.io.schema import MAX_ID_LENGTH, is_sentence, sentence_id
from riskscore.io.validate import content_refusal
from riskscore.moderation.cases import check_period
from riskscore.moderation.queue_db import decode_id
from riskscore.moderation.queue_rows import id_problem

__all__ = [
    "IdType",
    "adult_of",
    "content_field_problem",
    "conversation_ids",
    "period_text",
    "query_period",
    "query_problem",
    "sentence_path_problem",
    "undecodable_problem",
    "whole_number",
]

#: How ``GET /v1/conversations/{id}?id_type=...`` reads the id of its path: as the
#: integer it writes, or as text. Without it, a path of an integer as written names both.
IdType = Literal["int", "text"]


def conversation_ids(raw: str, id_type: IdType | None = None) -> list[int | str]:
    """The conversation ids an API path names: the text ``raw``, and the integer it writes
    when it writes one as an integer id is written (``-7``, ``7``; not ``07``, ``+7`` or
    ``7.0``); only one of them with ``id_type``. Ids ``7`` and ``"7"`` are two
    conversations: the caller answers for the one that is live and refuses when both are.

    Each id is held to the rule of the ids the review queue keeps
    (:func:`riskscore.moderation.queue_rows.id_problem`): an id no event can have is
    refused, not looked up.

    Raises
    ------
    SchemaError
        ``id_type`` is ``"int"`` and ``raw`` writes no integer, or the id named is not one
        an event can have (empty, over-long, a control character), quoted cut short.

    Examples
    --------
    >>> conversation_ids("c-9"), conversation_ids("7"), conversation_ids("07")
    (['c-9'], ['7', 7], ['07'])
    >>> conversation_ids("7", "int"), conversation_ids("7", "text")
    ([7], ['7'])
    """
    quoted = show(shown("conversation_id", raw))
    number = _integer_written(raw)
    if id_type == "int" and number is None:
        raise SchemaError(
            f"conversation id {quoted} is not an integer id as written (at most "
            f"{MAX_ID_LENGTH} digits, a leading '-' for a negative one, no leading zero): "
            "ask for a text id with id_type=text"
        )
    ids: list[int | str] = []
    if id_type != "int":
        ids.append(raw)
    if id_type != "text" and number is not None:
        ids.append(number)
    for value in ids:
        if (problem := id_problem("conversation_id", value)) is not None:
            raise SchemaError(f"conversation id {quoted} {problem}")
    return ids


def _integer_written(raw: str) -> int | None:
    """The integer id ``raw`` writes as :func:`str` writes it, or None."""
    digits = raw[1:] if raw.startswith("-") else raw
    if not (digits.isascii() and digits.isdigit()) or len(raw) > MAX_ID_LENGTH:
        return None
    number = int(raw)
    return number if str(number) == raw else None


def adult_of(key: str) -> Any:
    """The adult account id a case path names (an encoded id), or None.

    Examples
    --------
    >>> adult_of('"adult-a"'), adult_of("7"), adult_of("true"), adult_of("{")
    ('adult-a', 7, None, None)
    """
    try:
        value = decode_id(key)
    except ValueError:
        return None
    return value if isinstance(value, (int, str)) and not isinstance(value, bool) else None


def whole_number(name: str, given: str | None) -> int | None:
    """A whole number given as the query parameter ``name`` (a count, an entry id), in
    ASCII digits, below 10**18; None when it is not given (or empty).

    Raises
    ------
    ValueError
        ``given`` is anything else (``-1``, ``1.5``, ``12abc``, digits of another script):
        the message names the parameter and the value, never read as not given.

    Examples
    --------
    >>> whole_number("before", "12"), whole_number("before", None), whole_number("before", "")
    (12, None, None)
    >>> whole_number("before", "-1")
    Traceback (most recent call last):
    ValueError: query parameter 'before' must be a whole number, got '-1'
    """
    if not given:
        return None
    if given.isascii() and given.isdigit() and len(given) < 19:
        return int(given)
    raise ValueError(f"query parameter {name!r} must be a whole number, got {show(given)}")


def query_day(name: str, text: str | None, *, included_end: bool = False) -> int | None:
    """Epoch seconds of a day ``YYYY-MM-DD`` (UTC) given as the query parameter ``name``,
    by the one rule of a given time (:func:`~riskscore.io.given_times.parse_time`, that of
    the command line's time options: 2000-01-01 to 2200); None when it is not given.

    Parameters
    ----------
    name : str
        The query parameter, named in the message.
    text : str or None
        Its value as given.
    included_end : bool, default False
        The day ends a period and is included: the first second of the next day.

    Raises
    ------
    ValueError
        ``text`` is not a day, or out of range; the message names the parameter and value.

    Examples
    --------
    >>> query_day("from", "2026-01-01"), query_day("to", "2026-01-01", included_end=True)
    (1767225600, 1767312000)
    >>> query_day("from", "1970-01-01")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: query parameter 'from': '1970-01-01' is out of range: times are from 2000-01-01 ...
    >>> query_day("from", "2026-1-1")
    Traceback (most recent call last):
    ValueError: query parameter 'from' must be a day YYYY-MM-DD (UTC), got '2026-1-1'
    >>> query_day("to", "2026-02-30")
    Traceback (most recent call last):
    ValueError: query parameter 'to' must be a day YYYY-MM-DD (UTC), got '2026-02-30'
    """
    if not text:
        return None
    if not (is_day(text) and _is_calendar_day(text)):  # not "neither epoch seconds, ...":
        # the console takes days only
        raise ValueError(f"query parameter {name!r} must be a day YYYY-MM-DD (UTC), got {text!r}")
    try:
        return parse_time(text, end_of_day=included_end)
    except ValueError as exc:
        raise ValueError(f"query parameter {name!r}: {exc}") from None


def _is_calendar_day(text: str) -> bool:
    """Whether ``text`` (of :func:`~riskscore.io.given_times.is_day`'s form) is a day of the
    calendar, as :func:`~riskscore.io.given_times.parse_time` reads a day (not 2026-02-30)."""
    try:
        datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        return False
    return True


def query_period(query: Mapping[str, str]) -> tuple[int, int] | None:
    """The period of a query's ``from`` and ``to`` days (:func:`query_day`; the last day
    included): epoch seconds of its start and its (excluded) end; None when the query
    names neither (a parameter given empty is not given).

    Raises
    ------
    ValueError
        One of ``from`` and ``to`` is given without the other (the message names the one
        missing), a day is not a day in range (:func:`query_day`), or ``from`` is after
        ``to`` (:func:`~riskscore.moderation.cases.check_period`, the rule of every
        reporting period): the message names both parameters and their values.

    Examples
    --------
    >>> query_period({"from": "2026-01-01", "to": "2026-01-31"})
    (1767225600, 1769904000)
    >>> query_period({}) is None
    True
    >>> query_period({"from": "2026-01-01"})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: query parameter 'to' is missing: a period needs both 'from' and 'to', ...
    >>> query_period({"from": "2026-02-01", "to": "2026-01-31"})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: query parameter 'from' ('2026-02-01') is after 'to' ('2026-01-31'): period ...
    """
    if "from" not in query and "to" not in query:
        return None
    getlist = getattr(query, "getlist", None)  # a request's query: a name may come twice
    if getlist is not None:
        for name in ("from", "to"):
            if len(getlist(name)) > 1:  # which one counts would be a guess
                raise ValueError(f"query parameter {name!r} is given more than once: give it once")
    start = query_day("from", query.get("from"))
    end = query_day("to", query.get("to"), included_end=True)
    if start is None or end is None:
        if start is None and end is None:
            missing = "query parameters 'from' and 'to' are"
        else:
            missing = f"query parameter {'from' if start is None else 'to'!r} is"
        raise ValueError(
            f"{missing} missing: a period needs both 'from' and 'to', days YYYY-MM-DD "
            "(UTC), the last included"
        )
    try:
        check_period(start, end)
    except ValueError as exc:
        raise ValueError(
            f"query parameter 'from' ({show(query['from'])}) is after 'to' "
            f"({show(query['to'])}): {exc}"
        ) from None
    return start, end


def period_text(start: int, end: int) -> str:
    """A period :func:`query_period` read, by its first and last day, as the access log
    records a report's period.

    Examples
    --------
    >>> period_text(*query_period({"from": "2026-01-01", "to": "2026-01-31"}))
    '2026-01-01..2026-01-31'
    """
    days = (datetime.fromtimestamp(t, tz=UTC).date().isoformat() for t in (start, end - DAY_S))
    return "..".join(days)


def content_field_problem(names: Iterable[str], where: str) -> str | None:
    """Why a query or form is refused: the first of its field ``names`` that looks like
    message content, named as the event validator names such a field (its name cut short,
    a sentence by its length only, and the content word it holds); None when none does.

    Examples
    --------
    >>> print(content_field_problem(["decided", "msgBody"], "query"))  # doctest: +ELLIPSIS
    query field 'msgBody' looks like message content (its name holds 'msg'): riskscore ...
    >>> content_field_problem(["decided"], "form") is None
    True
    """
    bad = next((n for n in names if is_content_column(n)), None)
    if bad is None:
        return None
    return str(content_refusal(bad, "request", noun=f"{where} field"))


def undecodable_problem(raw: bytes, part: str) -> str | None:
    """Why a URL's ``part`` (``path`` or ``query``, as received: ``raw``) is refused: once
    percent-decoded it is not UTF-8 (``%ff``). Decoded with each bad byte replaced by
    U+FFFD, as servers decode it, it would name the id of that character, another id than
    the one sent; None when it is UTF-8.

    Examples
    --------
    >>> print(undecodable_problem(b"/v1/conversations/%ff", "path"))  # doctest: +ELLIPSIS
    the URL path is not UTF-8 once percent-decoded (byte 0xff at byte 18): ...
    >>> undecodable_problem(b"/v1/conversations/caf%C3%A9", "path") is None
    True
    """
    try:
        unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError as exc:
        return (
            f"the URL {part} is not UTF-8 once percent-decoded (byte "
            f"{exc.object[exc.start]:#04x} at byte {exc.start}): ids and values are UTF-8 text"
        )
    return None


def sentence_path_problem(path: str) -> str | None:
    """Why a request's path (percent-decoded) is refused: it reads as a sentence, which
    may be message content, where an id belongs (the rule of event ids,
    :func:`~riskscore.io.schema.sentence_id`; no route of riskscore has words in its path),
    given by its length only; None for any other path.

    Examples
    --------
    >>> print(sentence_path_problem("/v1/conversations/see you at the park"))  # doctest: +ELLIPSIS
    the URL path, text of 37 characters (not shown: it may be message content), reads as ...
    >>> sentence_path_problem("/v1/conversations/room|ann lee|bo") is None
    True
    """
    if not sentence_id(path):
        return None
    return (
        f"the URL path, {show(NotShown(len(path)))}, reads as a sentence of three or more "
        "words: ids are opaque keys, not text"
    )


def query_problem(fields: Iterable[tuple[str, str]]) -> str | None:
    """Why a request's query is refused: a field whose name looks like message content
    (:func:`content_field_problem`), or whose name or value reads as a sentence (no query
    of riskscore takes words: a count, a day, ``id_type``), given by its length only; None
    for any other query.

    Examples
    --------
    >>> print(query_problem([("from", "see you at 9")]))  # doctest: +ELLIPSIS
    query field 'from' holds text of 12 characters (not shown: it may be message ...
    >>> print(query_problem([("see you at 9", "")]))  # doctest: +ELLIPSIS
    a query field named by text of 12 characters (not shown: it may be message ...
    >>> query_problem([("from", "2026-01-01"), ("id_type", "int")]) is None
    True
    """
    fields = list(fields)
    problem = content_field_problem((name for name, _ in fields), "query")
    if problem is not None:
        return problem
    for name, value in fields:
        if is_sentence(name):  # a query without "=" is a name alone: "?see+you+at+9"
            return (
                f"a query field named by {show(NotShown(len(name)))}, a sentence of three "
                "or more words: no query of riskscore takes text"
            )
        if is_sentence(value):
            return (
                f"query field {quoted_name(name)} holds {show(NotShown(len(value)))}, a "
                "sentence of three or more words: no query of riskscore takes text"
            )
    return None
