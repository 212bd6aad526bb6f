"""Raw columns as a reader found them, and their cells as read (quoted in errors and
quarantine records): the value, its row in the whole input and its line in the file."""

from __future__ import annotations

import itertools
import json
import math
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from riskscore.io.decimals import EXACT_FLOAT_INT
from riskscore.io.ids import Coded
from riskscore.io.schema import BLANK_CHARS, ID_COLUMNS, MAX_SHOWN_CHARS, is_sentence

__all__ = [
    "MAX_IGNORED_NAMES",
    "MAX_IGNORED_NAME_CHARS",
    "OTHER_NAMES",
    "OTHER_NAMES_NOTE",
    "NotShown",
    "RawColumns",
    "Unheld",
    "as_python_value",
    "as_read",
    "cell",
    "input_rows",
    "is_sentence",
    "lines_of",
    "show",
    "shown",
]

AnyArray = npt.NDArray[Any]

#: Columns of category names (``message``, ``direct``, ...): a value there with whitespace
#: or longer than :data:`MAX_TOKEN_CHARS` is not a category but free text, which may be
#: message content, so it is never quoted in an error or copied to a quarantine record.
CATEGORY_COLUMNS: Final = frozenset({"event", "channel"})
MAX_TOKEN_CHARS: Final = 32
#: Id columns (:data:`~riskscore.io.schema.ID_COLUMNS`): ids are text by design and quoted
#: in errors, but one of three or more words separated by whitespace is a sentence, which
#: may be message content.
#: Every other column holds numbers or times (an ISO 8601 time is at most 35 characters):
#: text longer than this, or of three or more words, may be message content.
MAX_VALUE_TEXT_CHARS: Final = 40
#: Letters of the scripts written without spaces between words (Chinese, Japanese kana,
#: Thai, Lao, Tibetan, Myanmar, Khmer): a whole message in them is one "word" to
#: :func:`is_sentence` and often shorter than :data:`MAX_TOKEN_CHARS`. No number, time or
#: category name holds one, so a refused value of a number, time or category column that
#: holds one may be message content (ids, which may be names in these scripts, are judged
#: by :func:`is_sentence` alone).
_UNSPACED_LETTERS: Final = (
    "\u0e00-\u0eff\u0f00-\u0fff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff"
    "\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f"
    "\U00020000-\U0003ffff"
)
#: Pictographs (emoji and the symbols written as emoji: hearts, stars, dingbats): a message
#: of emoji alone is one short "word" too, and no number, time or category name holds one.
_PICTOGRAPHS: Final = (
    "\u2600-\u27bf\u2b00-\u2bff\U0001f000-\U0001faff"
    # the Extended_Pictographic symbols outside those blocks (arrows, clocks, squares,
    # double marks, Japanese signs), the emoji presentation selector and the keycap
    "\u203c\u2049\u2122\u2139\u2190-\u21ff\u2300-\u23ff\u24c2\u25a0-\u25ff"
    "\u2934\u2935\u3030\u303d\u3297\u3299\ufe0f\u20e3"
)
#: A letter of a script written without spaces (:data:`_UNSPACED_LETTERS`) or a
#: pictograph: text holding one may be a whole message in one short "word", so a refused
#: value of a number, time or category column (:func:`_may_be_content`) and a name read
#: from input (:func:`quoted_name`, :func:`reported_name`) holding one is not quoted.
ONE_WORD_MESSAGE_RE: Final = re.compile(f"[{_UNSPACED_LETTERS}{_PICTOGRAPHS}]")
#: Distinct names of unread columns or fields kept one by one (:func:`reported_as`); later
#: ones (and names longer than :data:`MAX_IGNORED_NAME_CHARS`, not printable, a sentence,
#: in a script written without spaces or holding an emoji, which may be message content)
#: are kept as :data:`OTHER_NAMES`, so that a sender choosing a new field name per event
#: cannot grow the counts without end, nor have text kept by name.
MAX_IGNORED_NAMES: Final = 100
MAX_IGNORED_NAME_CHARS: Final = 64
OTHER_NAMES: Final = "(other names)"
#: :data:`OTHER_NAMES` as a note to a person says it.
OTHER_NAMES_NOTE: Final = (
    "(other names: long, not printable or sentences, which may be message content, or past "
    f"the first {MAX_IGNORED_NAMES}; not shown)"
)


class NotShown:
    """A refused value that may be message content, in its place: only its length, in
    ``unit`` (``"characters"``, or ``"bytes"`` for bytes, which may not be text)."""

    __slots__ = ("n_chars", "unit")

    def __init__(self, n_chars: int, unit: str = "characters") -> None:
        self.n_chars = n_chars
        self.unit = unit

    def __repr__(self) -> str:
        return f"text of {self.n_chars} {self.unit} (not shown: it may be message content)"

    def __eq__(self, other: object) -> bool:  # the same refusal, wherever it was made
        return (
            isinstance(other, NotShown)
            and other.n_chars == self.n_chars
            and other.unit == self.unit
        )

    def __hash__(self) -> int:
        return hash((NotShown, self.n_chars, self.unit))


class Unheld:
    """A cell whose value Python holds not as its type means it (a time beyond Python's
    years 1 to 9999; a cell of an extension type that gives only its storage, as pandas'
    Period its count of months): a value no check accepts, not even as an id (text would
    be one), quoted as its ``text`` (the ``stored`` value and the type, ``648
    (extension<pandas.period<ArrowPeriodType>>)``) in errors and quarantine records;
    only its length when the stored value may be message content (:func:`shown`)."""

    __slots__ = ("stored", "text")

    def __init__(self, stored: object, kind: object) -> None:
        self.stored = str(stored)
        named = str(kind)  # an extension type is named by its writer: it may be a message
        if is_sentence(named) or ONE_WORD_MESSAGE_RE.search(named) or len(named) > 80:
            named = f"a type whose name of {len(named)} characters is not shown"
        self.text = f"{self.stored} ({named})"

    def __repr__(self) -> str:
        return repr(self.text)

    def __str__(self) -> str:
        return self.text


def _may_be_content(column: str, text: str) -> bool:
    """Whether refused text in ``column`` may be message content (the rule of :func:`shown`)."""
    if column in ID_COLUMNS:
        return is_sentence(text)
    if ONE_WORD_MESSAGE_RE.search(text) is not None:
        return True
    if column in CATEGORY_COLUMNS:
        return len(text) > MAX_TOKEN_CHARS or any(c.isspace() for c in text)
    return is_sentence(text) or len(text) > MAX_VALUE_TEXT_CHARS


def shown(column: str, value: object) -> object:
    """``value`` as it may be quoted in an error or copied to a quarantine record: a
    :class:`NotShown` for text that may be message content (free text in a category column,
    a sentence in any column, long text where a number or a time belongs).

    Examples
    --------
    >>> shown("timestamp", "2026-01-01 10:00:00")
    '2026-01-01 10:00:00'
    >>> shown("timestamp", "see you at the park later")
    text of 25 characters (not shown: it may be message content)
    >>> shown("sender_id", "user-1"), shown("channel", "direct")
    ('user-1', 'direct')

    A message in a script written without spaces is one word, and short; where a number,
    a time or a category belongs it is not shown either:

    >>> shown("channel", "\u4eca\u665a\u89c1")
    text of 3 characters (not shown: it may be message content)
    >>> shown("sender_age", "\u0e04\u0e34\u0e14\u0e16\u0e36\u0e07")
    text of 6 characters (not shown: it may be message content)

    Bytes are judged as the text they hold (invalid UTF-8 escaped) and counted as bytes:

    >>> shown("channel", b"see you later")
    text of 13 bytes (not shown: it may be message content)
    """
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        if _may_be_content(column, data.decode("utf-8", "backslashreplace")):
            return NotShown(len(data), "bytes")
    elif isinstance(value, str) and _may_be_content(column, value):
        return NotShown(len(value))
    elif isinstance(value, Unheld) and _may_be_content(column, value.stored):
        return NotShown(len(value.stored))  # the text of an arrow.json document, say
    elif isinstance(value, (Mapping, list, tuple, set, frozenset, np.ndarray)):
        text = " ".join(_texts_in(value))
        if text and _may_be_content(column, text):
            kind = "mapping" if isinstance(value, Mapping) else "list"
            return NotShown(len(text), f"characters in a {kind}")
    return value


def _texts_in(value: object) -> list[str]:
    """The text held in a list, a mapping (keys too) or an array, at any depth, in order:
    a container of text (a list column of a message's words, a struct holding one) is
    judged by all its text together, as one value is (:func:`shown`)."""
    texts: list[str] = []
    stack: list[object] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, np.ndarray):
            item = item.tolist()
        if isinstance(item, str):
            texts.append(item)
        elif isinstance(item, (bytes, bytearray, memoryview)):
            texts.append(bytes(item).decode("utf-8", "backslashreplace"))
        elif isinstance(item, Mapping):
            stack.extend(reversed([part for pair in item.items() for part in pair]))
        elif isinstance(item, (list, tuple, set, frozenset)):
            stack.extend(reversed(list(item)))
    return texts


def cell(raw: Mapping[str, AnyArray], column: str, row: int) -> object:
    """The value of one input cell as given (None for a column not given or a null, and
    for ``"line"``, a JSON line refused as a whole, which is never copied); free text in a
    category column is a :class:`NotShown` (:func:`shown`)."""
    if column not in raw:
        return None
    values = raw[column]
    if isinstance(values, Coded) and values.distinct is not None:
        position = int(values[row])
        return None if position < 0 else shown(column, values.distinct[position])
    value = values[row]
    integral = column in getattr(raw, "integers", ()) and float(value).is_integer()
    if integral and abs(value) < EXACT_FLOAT_INT:  # below it the float is the integer given
        # given as an integer, held as a float beside nulls; beyond 2**53 the float may
        # be another integer (2**53 + 1 held as 2**53): quoted as the float it is
        return int(value)
    return shown(column, value)


def as_python_value(value: Any) -> Any:
    """A numpy scalar as the Python value it holds; any other value as it is (ids stay
    JSON-ready, and ``repr`` shows ``7``, not ``np.int64(7)``).

    Examples
    --------
    >>> as_python_value(np.int64(7)), as_python_value("7")
    (7, '7')
    """
    return value.item() if isinstance(value, np.generic) else value


def show(value: object) -> str:
    """A value as text for messages, at most about 40 characters; a container holding more
    than :data:`MAX_SHOWN_VALUES` values in all is described, not written out.

    Examples
    --------
    >>> show([1, 2]), show("x" * 50)
    ('[1, 2]', "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'... (50 characters)")
    >>> laughs = ["lol"] * 9
    >>> for _ in range(9):  # what YAML aliases build: 9**10 strings in ten small lists
    ...     laughs = [laughs] * 9
    >>> show(laughs)
    '<list of more than 10,000 values>'
    """
    if isinstance(value, NotShown):
        return repr(value)
    if isinstance(value, np.ndarray) and value.ndim == 0:  # np.array(7): no list, one value
        return f"array({show(value.item())})"
    if isinstance(value, np.ndarray):  # a list cell of an Arrow column: the list it is
        if value.size > MAX_SHOWN_VALUES:
            return f"<list of more than {MAX_SHOWN_VALUES:,} values>"
        value = _as_list(value)
    if isinstance(value, _CONTAINERS) and _holds_more_than(value, MAX_SHOWN_VALUES):
        return f"<{type(value).__name__} of more than {MAX_SHOWN_VALUES:,} values>"
    if isinstance(value, (str, bytes)) and len(value) > 40:
        unit = "bytes" if isinstance(value, bytes) else "characters"
        return f"{value[:37]!r}... ({len(value)} {unit})".translate(_BLANK_ESCAPES)
    value = as_python_value(value)
    if isinstance(value, int) and not _has_text(value):
        return _long_integer(value)
    # a decimal (a JSON number read exactly) as the number written, not Decimal('1E+308')
    text = str(value) if isinstance(value, Decimal) else repr(value).translate(_BLANK_ESCAPES)
    return text if len(text) <= 40 else text[:37] + "..."


def _as_list(cells: np.ndarray) -> list[object]:
    """An array (a list cell of an Arrow column, whose own list cells are arrays) as the
    list of Python values it holds, as a JSON line parsed by Python holds it (a message
    quotes ``[1767225600]``, never ``array([1767225600])``)."""
    return [
        _as_list(v) if isinstance(v, np.ndarray) else as_python_value(v) for v in cells.tolist()
    ]


#: Most values :func:`show` writes out of a container: a YAML block of aliases (a "billion
#: laughs", in the Synapse module's configuration) is a few small lists that ``repr`` writes
#: as billions of values, for as long as that takes.
MAX_SHOWN_VALUES: Final = 10_000
_CONTAINERS: Final = (list, tuple, set, frozenset, Mapping)


def _holds_more_than(value: object, limit: int) -> bool:
    """Whether the lists, tuples, sets and mappings in ``value`` hold more than ``limit``
    values in all, each counted as often as ``repr`` writes it (a list that holds itself
    counts as more than any limit)."""
    count = 0
    stack: list[Iterator[object]] = [iter([value])]
    while stack:
        item = next(stack[-1], _END)
        if item is _END:
            stack.pop()
            continue
        count += 1
        if count > limit:
            return True
        if isinstance(item, Mapping):
            stack.append(itertools.chain.from_iterable(item.items()))
        elif isinstance(item, _CONTAINERS):
            stack.append(iter(item))
    return False


_END: Final = object()


#: :data:`~riskscore.io.schema.BLANK_CHARS` as :func:`show` writes them: escaped, as
#: ``repr`` writes a zero-width space, so that ``'alice\u3164'`` does not read as ``alice``.
_BLANK_ESCAPES: Final = {ord(c): f"\\u{ord(c):04x}" for c in BLANK_CHARS}


def _has_text(value: int) -> bool:
    """Whether Python writes ``value`` as decimal text: it refuses an int of more than
    ``sys.get_int_max_str_digits()`` digits (4,300 by default) with a ValueError."""
    limit = sys.get_int_max_str_digits()
    return limit == 0 or value.bit_length() <= 3 * limit  # 3 bits a digit: below the limit


def _long_integer(value: int) -> str:
    """An integer too long for decimal text, described by its size."""
    return f"an integer of about {round(value.bit_length() * math.log10(2)):,} digits"


def as_read(value: object) -> object:
    """A cell as a quarantine record writes it: the value as read, as a plain JSON type.

    Numbers, text, booleans and None stay as they are (NaN, an empty cell, is None; an
    infinite float its text); bytes become text with invalid UTF-8 escaped; lists and
    dicts (from JSON lines) stay when they are plain JSON, otherwise become their text;
    anything else becomes its text. Text longer than :data:`MAX_SHOWN_CHARS` is cut,
    ending with how long it was.

    Examples
    --------
    >>> as_read("whatsapp"), as_read(np.float64("nan")), as_read(-3.0)
    ('whatsapp', None, -3.0)
    """
    value = as_python_value(value)
    if isinstance(value, NotShown):  # never copied
        return None
    if isinstance(value, float) and not math.isfinite(value):
        value = None if value != value else str(value)
    elif isinstance(value, (bytes, bytearray, memoryview)):
        value = bytes(value).decode("utf-8", "backslashreplace")
    elif isinstance(value, (list, dict)):
        try:
            value = json.loads(json.dumps(value, allow_nan=False))
        except (TypeError, ValueError, RecursionError):
            value = str(value)
    elif isinstance(value, int) and not _has_text(value):
        value = _long_integer(value)  # JSON (json.dumps) writes no such int either
    elif value is not None and not isinstance(value, (str, int, float)):
        value = str(value)
    if isinstance(value, str) and len(value) > MAX_SHOWN_CHARS:
        value = f"{value[:MAX_SHOWN_CHARS]}... ({len(value)} characters)"
    return value


class RawColumns(dict[str, AnyArray]):
    """Raw columns as a reader found them, with what the reader knows besides the values.

    Attributes
    ----------
    refused : dict of int to (str, str)
        Rows the reader already refused (a broken JSON line): ``(column, reason)``; the
        column ``"line"`` means the whole line, whose text is never shown.
    rows : array of int or None
        Position of each row in the whole input, when these columns are part of a larger
        one (a chunk of a file); None when they are the whole input (0, 1, ...).
    lines : callable or None
        Given row positions (0-based, in these columns), their 1-based lines in the file
        (-1 where unknown); None for inputs without lines.
    unread : tuple of str
        The source's columns that are not schema v1 columns (never read), in its order.
    not_utf8 : dict of str to array of bool
        Per column, the rows whose cells are bytes that are not UTF-8 text (a CSV file
        saved in another encoding): refused as such in every column, before the
        column's own check (:func:`riskscore.io.validate.validate_columns`).
    caller_memory : bool
        Whether a writable array may share memory with the caller's (a dict of arrays, a
        pandas frame), which the caller can still change: the validated table copies those.
        False when the reader made every writable array itself (from Arrow, a file).
    integers : set of str
        Columns given as integers with nulls, which numpy holds as floats (NaN for a null):
        a value of theirs is quoted as the integer it was given as (``5``, not ``5.0``).
    integer_text : tuple of str
        Text id columns the source marks as integer ids held as decimal text
        (:func:`riskscore.io.given_ids.integer_text_columns`): a file riskscore wrote of
        integer conversation ids beside the pair ids of group rooms.
    """

    def __init__(
        self, columns: Mapping[str, AnyArray] | None = None, *, caller_memory: bool = True
    ) -> None:
        super().__init__(columns or {})
        self.caller_memory = caller_memory
        self.refused: dict[int, tuple[str, str]] = {}
        self.rows: npt.NDArray[np.int64] | None = None
        self.lines: Callable[[npt.NDArray[np.int64]], npt.NDArray[np.int64]] | None = None
        self.unread: tuple[str, ...] = ()
        self.not_utf8: dict[str, npt.NDArray[np.bool_]] = {}
        self.integers: set[str] = set()
        self.integer_text: tuple[str, ...] = ()


def input_rows(raw: Mapping[str, AnyArray], rows: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Positions of ``rows`` in the whole input (see :attr:`RawColumns.rows`)."""
    offsets = getattr(raw, "rows", None)
    out = rows if offsets is None else np.asarray(offsets, dtype=np.int64)[rows]
    return np.asarray(out, dtype=np.int64)


def lines_of(raw: Mapping[str, AnyArray], rows: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """1-based file lines of ``rows``; -1 for inputs without lines."""
    lines = getattr(raw, "lines", None)
    if lines is None or not len(rows):
        return np.full(len(rows), -1, dtype=np.int64)
    return np.asarray(lines(np.asarray(rows, dtype=np.int64)), dtype=np.int64)
