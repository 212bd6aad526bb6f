"""The body of ``POST /v1/events``: one event, a JSON array of events, or JSON lines.

Each event comes out with its index in the batch (0-based: the position in the array,
or the line number from 0 for JSON lines, blank lines skipped), or with the reason it
could not be parsed. Nothing here checks the events themselves: the scorer does, with
the shared validator (:mod:`riskscore.io.events`), so that the API refuses exactly
what ``riskscore stream`` refuses, with the same message.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from riskscore.exceptions import SchemaError
from riskscore.io.json_nesting import nested_value_end
from riskscore.io.jsonl import (
    EVENT_DECODER,
    is_blank_line,
    line_problem,
    not_json,
    without_byte_order_mark,
)
from riskscore.io.schema import MAX_JSON_DEPTH
from riskscore.io.utf8_lines import not_utf8

__all__ = [
    "JSON_LINES_TYPES",
    "MAX_BATCH_EVENTS",
    "BatchSizeError",
    "BodyItem",
    "MediaTypeError",
    "media_type",
    "parse_body",
]

#: Media types read as JSON lines (one event per line).
JSON_LINES_TYPES = frozenset(
    {"application/x-ndjson", "application/jsonl", "application/json-lines", "application/ndjson"}
)
#: The media type read as JSON (an event or an array of events). No other is read: a web
#: page can send ``text/plain``, a form or no ``Content-Type`` at all to another site
#: without a CORS preflight, so reading those would let any page a moderator opens post
#: events to a scorer on their machine.
JSON_TYPE = "application/json"


#: Events in one request at most. Each refused event comes back with a message of tens
#: of bytes (and is kept with its ``Idempotency-Key``), so a body of 2-byte elements
#: (``[1,1,...]``) would otherwise be answered with some 40 times its size.
MAX_BATCH_EVENTS = 10_000


class MediaTypeError(SchemaError):
    """The request's ``Content-Type`` is neither JSON nor JSON lines (HTTP 415)."""


class BatchSizeError(SchemaError):
    """The request holds more than :data:`MAX_BATCH_EVENTS` events, or as JSON lines more
    than :data:`MAX_BATCH_EVENTS` lines (HTTP 413)."""


def _check_size(n: int) -> None:
    if n > MAX_BATCH_EVENTS:
        raise BatchSizeError(
            f"the batch holds more than {MAX_BATCH_EVENTS} events; nothing was applied: "
            "send smaller batches"
        )


# the events' one parser: a field twice refused, a number read as written
_decode, _raw_decode = EVENT_DECODER.decode, EVENT_DECODER.raw_decode
# where a JSON value ends, whatever the events' parser refuses in it (a field twice, an
# integer of thousands of digits: numbers are not converted)
_value_end = json.JSONDecoder(parse_int=len, parse_float=len, parse_constant=len).raw_decode


@dataclass(frozen=True, slots=True)
class BodyItem:
    """One element of a batch: its index, and the parsed value or why it is not one."""

    index: int
    value: object = None
    error: str | None = None


def media_type(content_type: str | None) -> str:
    """The media type of a ``Content-Type``, as the body is read by it: lower case, without
    parameters (``charset``); empty when there is none.

    Examples
    --------
    >>> media_type("Application/JSON; charset=utf-8"), media_type(None)
    ('application/json', '')
    """
    return (content_type or "").split(";", 1)[0].strip().lower()


def parse_body(
    body: bytes, content_type: str | None, content_encoding: str | None = None
) -> list[BodyItem]:
    """Split a request body into the batch's elements.

    Parameters
    ----------
    body : bytes
        UTF-8 text: a JSON object (one event), a JSON array (a batch), or with a JSON
        lines media type (``application/x-ndjson``, ``application/jsonl``), one JSON
        object per line. A leading byte order mark is skipped, as ``riskscore stream``
        and :func:`~riskscore.read_messages` skip it
        (:func:`~riskscore.io.jsonl.without_byte_order_mark`).
    content_type : str or None
        The request's ``Content-Type``: :data:`JSON_TYPE` or one of
        :data:`JSON_LINES_TYPES` (parameters such as ``charset`` are ignored).
    content_encoding : str or None, optional
        The request's ``Content-Encoding``: none or ``identity`` (a compressed body is
        refused, rather than read as if it were not compressed).

    Returns
    -------
    list of BodyItem
        In batch order. A JSON lines batch keeps its good lines when one line is not
        JSON; that line is an item with an ``error``.

    Raises
    ------
    MediaTypeError
        ``content_type`` is another media type, or missing, or ``content_encoding`` is
        another coding (nothing of the body is read).
    BatchSizeError
        More than :data:`MAX_BATCH_EVENTS` elements, or JSON lines of more than
        :data:`MAX_BATCH_EVENTS` lines, blank ones included (nothing of the body is used).
    SchemaError
        A JSON body is not UTF-8 or does not parse (nothing of it is used; a JSON lines
        line that is not UTF-8 is an item with an ``error``, as one not JSON is).

    Examples
    --------
    >>> [i.value for i in parse_body(b'[{"a": 1}, {"a": 2}]', "application/json")]
    [{'a': 1}, {'a': 2}]
    >>> items = parse_body(b'{"a": 1}\\n\\nnot json\\n', "application/x-ndjson")
    >>> [(i.index, i.error is None) for i in items]
    [(0, True), (2, False)]
    """
    media = media_type(content_type)
    if media != JSON_TYPE and media not in JSON_LINES_TYPES:
        raise MediaTypeError(
            f"Content-Type {content_type!r:.80} is not read: send events as {JSON_TYPE} "
            f"(an event or an array of events) or as JSON lines "
            f"({', '.join(sorted(JSON_LINES_TYPES))})"
        )
    if content_encoding is not None and content_encoding.strip().lower() not in ("", "identity"):
        raise MediaTypeError(
            f"Content-Encoding {content_encoding!r:.80} is not read: send the body "
            "uncompressed (no Content-Encoding)"
        )
    if media in JSON_LINES_TYPES:
        return _json_lines(body)
    try:
        text = without_byte_order_mark(body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise SchemaError(f"the request body is not UTF-8 text ({exc})") from None
    try:
        return _json(text)
    except BatchSizeError:
        raise
    except (ValueError, RecursionError) as exc:
        raise SchemaError(
            f"the request body is not JSON ({exc}); send one event as a JSON object, a "
            "batch as a JSON array, or JSON lines with Content-Type: application/x-ndjson"
        ) from None


def _json_lines(body: bytes) -> list[BodyItem]:
    """The lines of a JSON lines body, each decoded alone: a line that is not UTF-8 is
    refused by its number, as :func:`~riskscore.read_messages` and ``riskscore stream``
    refuse it, and the others are read.

    A body of more than :data:`MAX_BATCH_EVENTS` lines, blank lines included (a final line
    break ends the last line), is refused before it is split: blank lines hold no event,
    so 16 MiB of line breaks passed the count of events and held the scorer's thread 3 to
    5 s and some 150 MB splitting and skipping them."""
    lines = body.count(b"\n") + (not body.endswith(b"\n"))
    if lines > MAX_BATCH_EVENTS:
        raise BatchSizeError(
            f"the batch holds more than {MAX_BATCH_EVENTS} lines (blank lines count: a JSON "
            "lines batch is at most one line an event); nothing was applied: send smaller "
            "batches, without blank lines"
        )
    out: list[BodyItem] = []
    for i, data in enumerate(body.split(b"\n")):
        if (problem := not_utf8(data)) is None:
            line = data.decode("utf-8")
            line = without_byte_order_mark(line) if i == 0 else line
            if is_blank_line(line):
                continue
            problem = line_problem(line)  # as read_messages and riskscore stream refuse it
        _check_size(len(out) + 1)
        if problem is not None:
            out.append(BodyItem(i, error=f"line {i} {problem}"))
            continue
        try:
            out.append(BodyItem(i, _decode(line)))
        except (ValueError, RecursionError) as exc:
            out.append(BodyItem(i, error=f"line {i} {not_json(exc)}"))
    return out


_SPACE = re.compile(r"[ \t\n\r]*")  # JSON's whitespace
_NEXT = re.compile(r"[ \t\n\r]*([,\]])[ \t\n\r]*")  # between two elements, or the end


def _json(text: str) -> list[BodyItem]:
    """A JSON object (one event) or array of events, parsed an element at a time: each
    is held to the limits of a JSON line (:func:`~riskscore.io.jsonl.line_problem`), as
    it would be sent as JSON lines, and the parse stops at the element past
    :data:`MAX_BATCH_EVENTS` (parsed whole, 16 MiB of ``{},`` made some 400 MB of dicts
    before the count was checked)."""
    at = _skip_space(text, 0)
    out: list[BodyItem] = []
    if not text.startswith("[", at):  # one event
        item, at = _element(text, at, 0)
        out.append(item)
    elif text.startswith("]", at := _skip_space(text, at + 1)):
        at += 1
    else:
        while True:
            _check_size(len(out) + 1)
            item, at = _element(text, at, len(out))
            out.append(item)
            found = _NEXT.match(text, at)
            if found is None:
                raise ValueError(f"expected ',' or ']' at char {at}")
            at = found.end()
            if found.group(1) == "]":
                break
    if (rest := _skip_space(text, at)) != len(text):
        raise ValueError(f"extra data at char {rest}")
    return out


def _skip_space(text: str, at: int) -> int:
    return _SPACE.match(text, at).end()  # type: ignore[union-attr]  # always matches


def _element(text: str, start: int, index: int) -> tuple[BodyItem, int]:
    """The value at ``text[start:]`` as batch item ``index``, and where it ends. JSON the
    events' parser refuses is refused alone, by its index, as a JSON lines line is; text
    that is not JSON raises ``ValueError``: the body is not JSON."""
    try:
        value, end = _raw_decode(text, start)
    except RecursionError:
        return _too_deep(text, start, index)
    except ValueError as exc:
        try:
            end = _value_end(text, start)[1]
        except RecursionError:  # deeper on, past where the events' parser stopped
            return _too_deep(text, start, index)
        except ValueError:
            raise exc from None
        return BodyItem(index, error=f"event {index} {not_json(exc)}"), end
    if (problem := line_problem(text, "an event", start, end)) is not None:
        return BodyItem(index, error=f"event {index} {problem}"), end
    return BodyItem(index, value), end


def _too_deep(text: str, start: int, index: int) -> tuple[BodyItem, int]:
    """Batch item ``index``, at ``text[start:]``, nested past the parser's stack (it raised
    ``RecursionError``), refused alone by its depth as a JSON line of it is, and where it
    ends, found without recursion; ``ValueError`` when its brackets are not closed."""
    deeper = f"nests arrays or objects deeper than {MAX_JSON_DEPTH} levels"
    end = nested_value_end(text, start)
    if end is None:
        raise ValueError(f"event {index} {deeper} and its brackets are not closed")
    problem = line_problem(text, "an event", start, end) or deeper
    return BodyItem(index, error=f"event {index} {problem}"), end
