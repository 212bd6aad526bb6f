"""The one validator of schema v1 columns: every row checked, the first bad one named
(column, row, value), or bad rows quarantined with a reason each."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from decimal import Decimal
from functools import partial
from typing import Any, Final, Literal, get_args

import numpy as np
import numpy.typing as npt

from riskscore.exceptions import SchemaError
from riskscore.io.column_names import misspelt_column, variant_of
from riskscore.io.columns import (
    ages,
    categories,
    one_age_problem,
    one_category_problem,
    one_room_size_problem,
    optional,
    room_sizes,
    unknown_column,
)
from riskscore.io.content_names import content_words, is_content_column
from riskscore.io.decimals import decimal_cells
from riskscore.io.groups import (
    DEFAULT_MAX_ROOM_MEMBERS,
    broadcast_mask,
    check_max_room_members,
    integer_text_ids,
    split_groups,
)
from riskscore.io.ids import (
    DecimalIds,
    check_ids,
    mixed_id_kinds,
    one_id_problem,
    same_id_kind,
)
from riskscore.io.input_names import name_column, quoted_name
from riskscore.io.messages import MessageTable, build_table
from riskscore.io.one_value import Undecided
from riskscore.io.pair_text import IntegerAndPairIds
from riskscore.io.problems import Problems, event_at, one_event_refusal, raise_first, run_check
from riskscore.io.raw import RawColumns, as_python_value, as_read
from riskscore.io.room_reach import (
    MIXED_ROOM_SIZES,
    UNDERSTATED_ROOM,
    mixed_room_sizes,
    understated_rooms,
)
from riskscore.io.schema import (
    CHANNEL_NAMES,
    EVENT_NAMES,
    ID_COLUMNS,
    REQUIRED_COLUMNS,
    ROOM_SIZE_UNKNOWN,
    SCHEMA_COLUMNS,
    TZ_UNKNOWN,
)
from riskscore.io.text import NOT_UTF8
from riskscore.io.threads import executor_for
from riskscore.io.timestamps import (
    DEFAULT_READ_MAX_FUTURE_S,
    FutureLimit,
    Sink,
    check_timestamps,
    one_timestamp_problem,
    times_as_text,
)
from riskscore.io.tz_offsets import one_tz_offset_problem, tz_offsets

__all__ = [
    "ERRORS",
    "Errors",
    "RawColumns",
    "as_read",
    "check_column_names",
    "check_errors",
    "check_misspelt_names",
    "content_refusal",
    "event_at",
    "quick_refusal",
    "refuse_content",
    "refuse_repeated_names",
    "validate_columns",
    "validate_one",
]

Errors = Literal["raise", "quarantine"]
#: The values of ``errors`` (:data:`Errors`), for a check and a command line's choices.
ERRORS: Final[tuple[str, ...]] = get_args(Errors)
AnyArray = npt.NDArray[Any]


def check_errors(errors: object) -> None:
    """Refuse an ``errors`` argument that is not one of :data:`ERRORS`.

    Examples
    --------
    >>> check_errors("quarantine")
    >>> check_errors("ignore")
    Traceback (most recent call last):
    ValueError: errors must be 'raise' or 'quarantine', got 'ignore'
    """
    if errors not in ERRORS:
        raise ValueError(f"errors must be 'raise' or 'quarantine', got {errors!r}")


def validate_columns(
    raw: Mapping[str, AnyArray],
    *,
    errors: Errors = "raise",
    max_room_members: int = DEFAULT_MAX_ROOM_MEMBERS,
    now: float | None = None,
    max_future_s: float = DEFAULT_READ_MAX_FUTURE_S,
) -> MessageTable:
    """Validate a dict of raw column arrays and build the sorted table: bad rows raise or
    are quarantined (an event dated more than ``max_future_s`` after ``now``, default the
    time of reading, among them: :class:`~riskscore.io.timestamps.FutureLimit`), broadcasts
    are set aside and group rooms split into pair conversations
    (:mod:`riskscore.io.groups`). The keywords are those of :func:`riskscore.read_messages`."""
    max_room_members = check_max_room_members(max_room_members)
    limit = FutureLimit.at(now, max_future_s)
    check_column_names(list(raw))
    n_rows = _check_lengths(raw)
    raw = _with_textual_times(raw)
    problems = Problems(n_rows, raw)
    cols: dict[str, AnyArray] = {}
    for row, (column, reason) in getattr(raw, "refused", {}).items():
        mask = np.zeros(n_rows, dtype=bool)
        mask[row] = True
        problems.add(column, mask, reason)

    checks = _checks(raw, n_rows, limit)
    not_utf8 = getattr(raw, "not_utf8", {})
    # The columns are independent: on a large table they are checked on two threads.
    # Each row's first problem is then taken in check order, as one thread would find it.
    with executor_for(n_rows) as pool:
        running = {name: pool.submit(run_check, check) for name, check in checks.items()}
        for name, future in running.items():
            cols[name], found = future.result()
            if name in not_utf8:  # a CSV cell in another encoding: that, whatever the column
                problems.add(name, not_utf8[name], NOT_UTF8)
            for column, mask, reason in found.problems:
                problems.add(column, mask, reason)
    # integers beyond int64 make the account ids decimal text: the table records it
    decimal_ids = any(isinstance(cols[n], DecimalIds) for n in ("sender_id", "recipient_id"))
    cols["sender_id"], cols["recipient_id"] = same_id_kind(
        cols["sender_id"], cols["recipient_id"], problems
    )
    problems.add(
        "recipient_id",
        cols["sender_id"] == cols["recipient_id"],
        "is also the sender: an event goes from one account to another",
    )
    room_size = cols["room_size"]
    broadcast = np.zeros(n_rows, dtype=bool)
    if "room_size" in raw and room_size.any():  # only when the column was given
        broadcast = broadcast_mask(room_size, cols["event"], max_room_members)
        problems.add("room_size", mixed_room_sizes(cols, ~problems.bad), MIXED_ROOM_SIZES)
        understated = understated_rooms(cols, ~problems.bad & ~broadcast)
        problems.add("room_size", understated, UNDERSTATED_ROOM)
    bad_rows = problems.rows()
    if bad_rows.size and errors == "raise":
        raise_first(problems, bad_rows)
    if bad_rows.size or broadcast.any():
        keep = ~problems.bad & ~broadcast
        table = build_table(
            {k: v[keep] for k, v in cols.items()},
            np.flatnonzero(keep).astype(np.int64),
            problems.quarantine(bad_rows, cols["conversation_id"]) if bad_rows.size else None,
            decimal_ids=decimal_ids,
        )
    else:  # the common case: no copies, but of the arrays the caller can still change
        table = build_table(
            cols,
            np.arange(n_rows, dtype=np.int64),
            decimal_ids=decimal_ids,
            borrowed=_callers_arrays(raw),
        )
    # integers held as text beside pair ids: a file riskscore wrote (marked as such in
    # Parquet, Arrow and pandas; a column of integers and pair ids in JSON lines)
    if "conversation_id" in getattr(raw, "integer_text", ()) or isinstance(
        cols["conversation_id"], IntegerAndPairIds
    ):
        table = integer_text_ids(table)
    return split_groups(table, np.flatnonzero(broadcast & ~problems.bad).astype(np.int64))


def _callers_arrays(raw: Mapping[str, AnyArray]) -> list[AnyArray]:
    """The arrays of ``raw`` the caller may still write (see :class:`RawColumns`)."""
    if not getattr(raw, "caller_memory", True):
        return []
    return [a for a in raw.values() if _writable_memory(a)]


def _writable_memory(values: object) -> bool:
    """Whether ``values`` is a numpy array whose memory someone may still write: a writable
    array, or a read-only view of one (pandas lends its columns as read-only views of the
    blocks it still writes: ``frame.loc[0, "timestamp"] = ...`` after reading)."""
    while isinstance(values, np.ndarray):
        if values.flags.writeable:
            return True
        values = values.base
    return False


def _with_textual_times(raw: Mapping[str, AnyArray]) -> Mapping[str, AnyArray]:
    """``raw`` with date and time objects of ``timestamp`` as ISO text, so that checks
    and messages see what is missing (a date, a UTC offset) and quote it as text, and
    with columns of :class:`decimal.Decimal` cells as the numbers they hold, as a decimal
    Arrow column is read (:func:`~riskscore.io.decimals.decimal_cells`)."""
    read = {name: decimal_cells(values, name) for name, values in raw.items()}
    if "timestamp" in read:
        read["timestamp"] = times_as_text(read["timestamp"])
    changed = {name: values for name, values in read.items() if values is not raw[name]}
    if not changed:
        return raw
    out = RawColumns(raw, caller_memory=getattr(raw, "caller_memory", True))
    out.update(changed)
    out.refused = dict(getattr(raw, "refused", {}))
    out.not_utf8 = dict(getattr(raw, "not_utf8", {}))
    out.rows = getattr(raw, "rows", None)
    out.lines = getattr(raw, "lines", None)
    out.integers = set(getattr(raw, "integers", ()))
    return out


def _checks(
    raw: Mapping[str, AnyArray], n_rows: int, future: FutureLimit | None
) -> dict[str, Callable[[Sink], AnyArray]]:
    """The check of each schema v1 column, in check order (a row's first problem is the
    one of the earliest check); ``future`` None: no limit on future events (the online
    scorer applies it to its own clock)."""
    return {
        "conversation_id": partial(check_ids, "conversation_id", raw["conversation_id"]),
        "sender_id": partial(check_ids, "sender_id", raw["sender_id"]),
        "recipient_id": partial(check_ids, "recipient_id", raw["recipient_id"]),
        "timestamp": partial(check_timestamps, raw["timestamp"], future=future),
        "sender_age": partial(ages, "sender_age", optional(raw, "sender_age", n_rows)),
        "recipient_age": partial(ages, "recipient_age", optional(raw, "recipient_age", n_rows)),
        "channel": partial(categories, "channel", raw["channel"], CHANNEL_NAMES),
        "event": partial(categories, "event", optional(raw, "event", n_rows), EVENT_NAMES),
        "recipient_tz_offset_min": (
            partial(tz_offsets, raw["recipient_tz_offset_min"])
            if "recipient_tz_offset_min" in raw
            else partial(unknown_column, n_rows, TZ_UNKNOWN, np.int16)
        ),
        "room_size": (
            partial(room_sizes, raw["room_size"])
            if "room_size" in raw
            else partial(unknown_column, n_rows, ROOM_SIZE_UNKNOWN, np.int32)
        ),
    }


def validate_one(event: Mapping[str, object], row: int | None = None) -> dict[str, object]:
    """One event mapping checked by the very rules of :func:`validate_columns` (the online
    scorer's path for anything but the plain common case, so that whatever batch accepts,
    online accepts with the same meaning, and the reverse). Returns the validated values
    as plain Python objects, an id as the scorer holds it: an integer stays that integer,
    whatever its size, though a table's rule makes an id beyond int64 (and the ids beside
    it) decimal text (a table's whole column is text, every row alike; online each event
    is read alone, and 6 held as "6", or 2**64 as "18446744073709551616", would be the
    account or conversation of that text id). Raises :class:`SchemaError` naming the
    field, the event and the value."""
    cells: dict[str, AnyArray] = {}
    for name in SCHEMA_COLUMNS:
        if name in event:
            cell = np.empty(1, dtype=object)
            cell[0] = event[name]
            cells[name] = cell
    raw = _with_textual_times(cells)  # a datetime is read as its ISO text, as in batch
    problems = Problems(1, raw)
    # no future limit here: the scorer measures it from its own clock (time_source)
    cols = {name: check(problems) for name, check in _checks(raw, 1, None).items()}
    cols["sender_id"], cols["recipient_id"] = same_id_kind(
        cols["sender_id"], cols["recipient_id"], problems
    )
    if not problems.bad[0] and cols["sender_id"][0] == cols["recipient_id"][0]:
        problems.add("recipient_id", np.ones(1, dtype=bool), _ALSO_THE_SENDER)
    if problems.bad[0]:
        column = str(problems.column[0])
        # a date or time quoted as the ISO text the checks read, as a table quotes it
        given = raw[column][0] if column == "timestamp" else event.get(column)
        raise one_event_refusal(column, str(problems.reason[0]), given, row)
    out = {name: as_python_value(values[0]) for name, values in cols.items()}
    for name in ID_COLUMNS:
        out[name] = _one_id(event[name], out[name])
    return out


#: Why an event whose recipient is its sender is refused (online: the table's reason names
#: its rule, :func:`validate_columns`).
_ALSO_THE_SENDER: Final = "is also the sender"

#: The check of one value of each column (:mod:`riskscore.io.one_value`), in the order of
#: :func:`_checks`: an event's first refused value is the one a table of it names.
_ONE_VALUE_CHECKS: Final[dict[str, Callable[[object], str | None]]] = {
    "conversation_id": one_id_problem,
    "sender_id": one_id_problem,
    "recipient_id": one_id_problem,
    "timestamp": one_timestamp_problem,
    "sender_age": one_age_problem,
    "recipient_age": one_age_problem,
    "channel": partial(one_category_problem, "channel", CHANNEL_NAMES),
    "event": partial(one_category_problem, "event", EVENT_NAMES),
    "recipient_tz_offset_min": one_tz_offset_problem,
    "room_size": one_room_size_problem,
}


def quick_refusal(event: Mapping[str, object], row: int | None = None) -> SchemaError | None:
    """The error :func:`validate_one` raises for ``event``, found value by value without
    a table (microseconds, not a millisecond), when the values up to the refused one are
    of the plain kinds (:data:`~riskscore.io.one_value.PLAIN_KINDS`) each column's own
    check of one value decides; None when those checks refuse no value or leave one to
    the table (then :func:`validate_one` decides). ``event`` holds every required field.

    Examples
    --------
    >>> event = {"conversation_id": 1, "timestamp": 1_700_000_000, "sender_id": "a",
    ...          "recipient_id": "b", "channel": "whatsapp"}
    >>> print(quick_refusal(event, 3))  # doctest: +ELLIPSIS
    column 'channel', event 3: 'whatsapp' is not recognised: expected one of public, ...
    """
    get = event.get
    try:
        for column, check in _ONE_VALUE_CHECKS.items():
            reason = check(get(column))
            if reason is not None:
                return one_event_refusal(column, reason, get(column), row)
    except Undecided:
        return None
    # every value accepted: the ids are text or integers within int64 (one_id_problem)
    sender, recipient = get("sender_id"), get("recipient_id")
    if type(sender) is not type(recipient):  # the one account space (same_id_kind)
        return one_event_refusal(
            "recipient_id", mixed_id_kinds(type(sender) is int), recipient, row
        )
    if sender == recipient:
        return one_event_refusal("recipient_id", _ALSO_THE_SENDER, recipient, row)
    return None


def _one_id(given: object, valid: object) -> object:
    """An integer id that a table's rule made decimal text (beyond int64, or beside such
    an id: :func:`same_id_kind`), as that integer: given as an integer, or as a whole
    :class:`~decimal.Decimal` (a JSON number with an exponent, ``1.2345678901234567890e19``,
    which a table reads as that integer too; kept as its text, it was another conversation
    and other accounts than the integer written plainly)."""
    if isinstance(valid, str) and isinstance(given, int | np.integer | Decimal):
        return int(given)
    return valid


def refuse_content(names: Collection[str], what: str = "events") -> None:
    """Refuse a source of ``what`` (events, labels) with a column whose name looks like
    message content (:func:`~riskscore.io.content_names.is_content_column`), by name only, before
    anything is read: the one message for every reader. ``names`` may hold the dotted
    paths of nested fields too (:func:`riskscore.io.nested_fields.field_paths`).

    Raises
    ------
    SchemaError
        Naming the first such column (:func:`content_refusal`).
    """
    content = sorted(str(c) for c in names if is_content_column(str(c)))
    if content:
        raise content_refusal(content[0], what)


def content_refusal(
    name: str, what: str = "events", *, noun: str = "column", row: int | None = None
) -> SchemaError:
    """The error for a column (or, with ``noun="field"``, a field of one event) whose name
    looks like message content: the one message of batch readers (:func:`refuse_content`),
    the online scorer, ``riskscore stream`` and ``riskscore serve``.

    Examples
    --------
    >>> print(content_refusal("meta.text", "event", noun="field"))
    field 'meta.text' looks like message content (its name holds 'text'): riskscore reads no \
message content, only metadata (schema v1). Drop the field before passing the event.
    """
    return SchemaError(
        f"{noun} {quoted_name(name)} looks like message content (its name holds "
        f"{content_words(name)}): riskscore reads no message content, only metadata "
        f"(schema v1). Drop the {noun} before passing the {what}.",
        column=name_column(name),
        row=row,
    )


def check_column_names(names: Collection[str]) -> None:
    """Refuse content columns and missing required ones, by column name only.

    Shared by every reader of schema v1 tables (in memory here, Spark DataFrames in
    :mod:`riskscore.integrations.spark`), so all refuse the same columns with the same message.
    """
    names = [str(c) for c in names]
    refuse_content(names)
    refuse_repeated_names(names)
    check_misspelt_names(names)
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise SchemaError(
            f"missing required column(s) {missing}; found "
            f"[{', '.join(quoted_name(n) for n in sorted(names))}]. Schema v1 needs "
            f"{list(REQUIRED_COLUMNS)}{_separator_hint(names)}",
            column=missing[0],
        )


def refuse_repeated_names(names: Collection[str], where: str = "") -> None:
    """Refuse a table that names a column twice: which of the two holds it cannot be told.

    The one rule of every table riskscore reads: events (:func:`check_column_names`),
    labels and the account features file; ``where`` (a file, ending ``": "``) starts the
    message. The name is quoted as a found name (:func:`~riskscore.io.input_names.quoted_name`):
    the first row of a file without a header is read as its names, and may be a message.

    Raises
    ------
    SchemaError
        Naming the first name given twice.

    Examples
    --------
    >>> refuse_repeated_names(["a", "b", "a"], "labels.parquet: ")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    riskscore.exceptions.SchemaError: labels.parquet: column 'a' appears twice: ...
    """
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise SchemaError(
                f"{where}column {quoted_name(name)} appears twice: give each column one name",
                column=name_column(name),
            )
        seen.add(name)


def _separator_hint(names: Collection[str]) -> str:
    """Why the columns may be missing when a CSV header was split by nothing: a file
    separated by ``;`` (a spreadsheet's export in many locales), tabs or ``|``."""
    for separator, said in ((";", "';'"), ("\t", "tabs"), ("|", "'|'")):
        if any(separator in n and set(REQUIRED_COLUMNS) & set(n.split(separator)) for n in names):
            return (
                f". The header reads as one column separated by {said}: riskscore reads "
                "comma-separated CSV"
            )
    return ""


def check_misspelt_names(names: Collection[str], row: int | None = None) -> None:
    """Refuse a column (or an event's field) named like a misspelt schema v1 column that is
    not given (:func:`~riskscore.io.column_names.misspelt_column`): ignored, ``recipent_age``
    would read every age as unknown. Other names that are not schema v1 are not read. A
    name that writes a given column with other case or separators (``Sender_ID`` beside
    ``sender_id``) is refused too: which of the two holds the column cannot be told.

    Shared by the batch readers (:func:`check_column_names`) and the online scorer (each
    event, ``row`` its number), so both refuse the same names with the same message.
    """
    for name in names:
        column = variant_of(name)
        if column is not None and column in names:  # two names for one column: which is it?
            raise SchemaError(
                f"columns {quoted_name(name)} and {column!r}{event_at(row)} both name {column!r} "
                "(ignoring "
                f"case and separators): keep one of them",
                column=name_column(name),
                row=row,
            )
        column = misspelt_column(name, names)
        if column is not None:
            raise SchemaError(
                f"column {quoted_name(name)}{event_at(row)} is not a schema v1 column but looks "
                f"like {column!r} misspelt: rename it to {column!r}, or drop it (as it is, it "
                f"would be ignored and {column!r} read as not given)",
                column=name_column(name),
                row=row,
            )


def _check_lengths(raw: Mapping[str, AnyArray]) -> int:
    lengths = {name: len(arr) for name, arr in raw.items()}
    n = lengths["conversation_id"]
    for name, length in lengths.items():
        if length != n:
            raise SchemaError(
                f"column {quoted_name(name)} has {length} values but 'conversation_id' has {n}",
                column=name_column(name),
            )
    return n
