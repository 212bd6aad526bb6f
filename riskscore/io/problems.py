"""Problems found in rows, in check order: the first bad row raised as a SchemaError
(column, row, line, value), or every bad row kept for quarantine with its reason."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from riskscore._words import plural
from riskscore.exceptions import SchemaError
from riskscore.io.raw import as_read, cell, input_rows, lines_of, show, shown
from riskscore.io.summaries import Quarantine
from riskscore.io.timestamps import Sink

__all__ = [
    "QUARANTINE_HINT",
    "Found",
    "Problems",
    "bad_row_count",
    "event_at",
    "one_event_refusal",
    "raise_first",
    "renumbered",
    "run_check",
]

BoolArray = npt.NDArray[np.bool_]
AnyArray = npt.NDArray[Any]


class Problems:
    """Collects the first problem found in each row, in check order."""

    def __init__(self, n_rows: int, raw: Mapping[str, AnyArray]) -> None:
        self.bad = np.zeros(n_rows, dtype=bool)
        # per row: the blamed column and the reason (allocated at the first problem)
        self.column = np.empty(0, dtype=object)
        self.reason = np.empty(0, dtype=object)
        self.raw = raw

    def add(self, column: str, mask: BoolArray, reason: str) -> None:
        new = mask & ~self.bad if len(self.column) else mask  # no row is bad before the first
        if new.any():
            if len(self.column) == 0:
                self.column = np.empty(len(self.bad), dtype=object)
                self.reason = np.empty(len(self.bad), dtype=object)
            self.bad |= new
            self.column[new] = column
            self.reason[new] = reason

    def rows(self) -> npt.NDArray[np.int64]:
        """The bad rows, in increasing order."""
        if len(self.column) == 0:  # none: no pass over the rows
            return np.empty(0, dtype=np.int64)
        return np.flatnonzero(self.bad).astype(np.int64)

    def quarantine(self, rows: npt.NDArray[np.int64], conversation_id: AnyArray) -> Quarantine:
        """The refused ``rows`` with their values as read, their position in the input and
        file, and their validated conversation id where that column was not to blame."""
        cols = tuple(str(c) for c in self.column[rows])
        unreadable = {"conversation_id", "line"}
        return Quarantine(
            row=input_rows(self.raw, rows),
            column=cols,
            value=tuple(
                as_read(cell(self.raw, c, int(r))) for c, r in zip(cols, rows, strict=True)
            ),
            reason=tuple(str(x) for x in self.reason[rows]),
            line=lines_of(self.raw, rows),
            conversation_id=tuple(
                None if c in unreadable else as_read(conversation_id[r])
                for c, r in zip(cols, rows, strict=True)
            ),
        )


class Found:
    """The problems one check reports, kept to be added to the shared :class:`Problems`
    later, in check order (checks run concurrently; a row's first problem must not
    depend on which thread finished first)."""

    def __init__(self) -> None:
        self.problems: list[tuple[str, BoolArray, str]] = []

    def add(self, column: str, mask: BoolArray, reason: str) -> None:
        if mask.any():
            self.problems.append((column, mask, reason))


def run_check(check: Callable[[Sink], AnyArray]) -> tuple[AnyArray, Found]:
    """Run one column's check; return its values and the problems it found."""
    found = Found()
    return check(found), found


def raise_first(problems: Problems, rows: npt.NDArray[np.int64], *, table: str = "") -> None:
    """Raise a SchemaError for the first of the bad ``rows``, counting the others.

    ``table``: the input named before the column when it is not the events (``"labels"``),
    whose rows cannot be set aside: its count of other bad rows has no quarantine hint
    (neither the API's ``errors=`` nor ``riskscore score`` reads a labels file).
    """
    first = int(rows.min())
    col = str(problems.column[first])
    value = cell(problems.raw, col, first)
    at = np.array([first], dtype=np.int64)
    row, line = int(input_rows(problems.raw, at)[0]), int(lines_of(problems.raw, at)[0])
    where = f"row {row}" + (f" (line {line})" if line > 0 else "")
    shown = "" if col == "line" else f"{show(value)} "  # a refused line is never copied
    others = len(rows) - 1
    if not table:
        head, more = "column", _more(others)
    else:  # no quarantine to offer
        head, more = f"{table} column", f" ({plural(others, 'more bad row')})" if others else ""
    raise SchemaError(
        f"{head} {col!r}, {where}: {shown}{problems.reason[first]}{more}",
        column=col,
        row=row,
        value=value,
        line=line if line > 0 else None,
        bad_rows=len(rows),
    )


#: The end of :func:`raise_first`'s message when more rows are bad: the API's keyword (the
#: command line names its own option in its place, :mod:`riskscore.cli._quarantine`).
QUARANTINE_HINT: Final = "pass errors='quarantine' to set them aside and keep the rest"


def _more(more: int, hint: str = QUARANTINE_HINT) -> str:
    """The tail of :func:`raise_first`'s message that counts the other bad rows, and says
    what to do with them (``hint``)."""
    return f" ({plural(more, 'more bad row')}; {hint})" if more else ""


def bad_row_count(error: SchemaError) -> int:
    """The bad rows the error of :func:`raise_first` counts (its row and the others; 1
    for an error that counted none).

    Examples
    --------
    >>> bad_row_count(SchemaError("column 'channel', row 0: 'x' is not recognised"))
    1
    """
    return error.bad_rows or 1


def renumbered(
    error: SchemaError, *, row: int, bad_rows: int, hint: str = QUARANTINE_HINT
) -> SchemaError:
    """The error of :func:`raise_first` for one part of an input read apart (a Spark block),
    as the whole input raises it: its row named as ``row``, ``bad_rows`` counted in all,
    and ``hint`` said of the other bad rows (where ``errors='quarantine'`` is no choice).

    The parts are checked by the one validator; the whole input's error is that of its
    first bad row, counting the bad rows of every part. An error of another form (no
    ``column ..., row ...`` at its start) keeps its text, with ``row`` set.

    Examples
    --------
    >>> e = SchemaError("column 'channel', row 7: 'x' is not recognised", column="channel", row=7)
    >>> str(renumbered(e, row=2, bad_rows=2))[:64]
    "column 'channel', row 2: 'x' is not recognised (1 more bad row; "
    """
    text, head = str(error), f"column {error.column!r}, row {error.row}"
    if text.startswith(head) and text[len(head) : len(head) + 1] in (":", " "):
        body = text[len(head) :].removesuffix(_more(bad_row_count(error) - 1))
        text = f"column {error.column!r}, row {row}{body}{_more(bad_rows - 1, hint)}"
    return SchemaError(
        text, column=error.column, row=row, value=error.value, line=error.line, bad_rows=bad_rows
    )


def event_at(row: int | None) -> str:
    """Where a message about one event names it, after its column: ``", event 17"`` (the
    caller's number of the event), or nothing when the caller names the event its own way
    (``row`` None: the Synapse module, by its Matrix event id).

    Examples
    --------
    >>> f"column 'timestamp'{event_at(17)}: ...", f"column 'timestamp'{event_at(None)}: ..."
    ("column 'timestamp', event 17: ...", "column 'timestamp': ...")
    """
    return "" if row is None else f", event {row}"


def one_event_refusal(column: str, reason: str, given: object, row: int | None) -> SchemaError:
    """The refusal of one event (not a table's row) whose field ``column`` holds ``given``,
    refused for ``reason``: the one message of :func:`riskscore.io.validate.validate_one`
    and of :func:`riskscore.io.validate.quick_refusal`, so that both refuse an event in
    the same words. The value is quoted as :func:`~riskscore.io.raw.shown` allows.

    Examples
    --------
    >>> print(one_event_refusal("sender_age", "is not plausible", -3, 17))
    column 'sender_age', event 17: -3 is not plausible
    """
    value = shown(column, given)
    return SchemaError(
        f"column {column!r}{event_at(row)}: {show(value)} {reason}",
        column=column,
        row=row,
        value=value,
    )
