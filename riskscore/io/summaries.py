"""What reading set aside or reshaped besides the rows it kept: :class:`Quarantine` (rows
refused, with ``errors="quarantine"``) and :class:`GroupSummary` (group rooms split into
pairs, broadcasts set aside). A :class:`~riskscore.io.messages.MessageTable` carries both."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from riskscore._words import plural

__all__ = ["GroupSummary", "Quarantine", "all_quarantined_text", "most_frequent_first"]

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Quarantine:
    """Rows refused by :func:`riskscore.read_messages` with ``errors="quarantine"``.

    Attributes
    ----------
    row : array of shape (n_quarantined,)
        0-based position of each refused row in the input as given (for a Parquet file,
        Arrow table, DataFrame or dict, its row index; for a CSV file, the data rows after
        the header; for JSON lines, the event lines, blank lines not counted).
    column : tuple of str
        The column blamed for each row (``"line"`` for a JSON line refused as a whole).
    value : tuple
        The offending value as it was read (text, number, None for an empty cell; bytes
        as text with invalid UTF-8 escaped; text over
        :data:`~riskscore.io.schema.MAX_SHOWN_CHARS` characters cut and marked).
    reason : tuple of str
        Why the row was refused.
    line : array of shape (n_quarantined,)
        1-based line of each row in its file: the physical line where the row starts in a
        CSV file (the header is line 1; quoted line breaks and blank lines counted), the
        line in a JSON lines file. -1 for inputs without lines (Parquet, Arrow, pandas,
        dicts), and for a CSV row after a cell too large for the line count.
    conversation_id : tuple
        The row's conversation id when it was readable (the row was refused for another
        column), else None.
    """

    row: IntArray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    column: tuple[str, ...] = ()
    value: tuple[object, ...] = ()
    reason: tuple[str, ...] = ()
    line: IntArray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    conversation_id: tuple[object, ...] = ()

    def __len__(self) -> int:
        return len(self.row)

    def counts(self) -> dict[str, int]:
        """Number of refused rows per blamed column."""
        out: dict[str, int] = {}
        for col in self.column:
            out[col] = out.get(col, 0) + 1
        return out

    def reason_counts(self) -> dict[str, int]:
        """Number of refused rows per ``"column: reason"``, most frequent first."""
        out: dict[str, int] = {}
        for col, why in zip(self.column, self.reason, strict=True):
            key = f"{col}: {why}"
            out[key] = out.get(key, 0) + 1
        return most_frequent_first(out)

    def to_records(self) -> list[dict[str, object]]:
        """One dict per refused row, for logs or a JSON report: ``row``, ``line`` (None
        when the input has no lines), ``conversation_id`` (None when unreadable),
        ``column``, ``value`` (as read) and ``reason``."""
        lines = self.line if len(self.line) == len(self.row) else np.full(len(self.row), -1)
        ids = self.conversation_id or (None,) * len(self.row)  # when built without them
        return [
            {
                "row": int(r),
                "line": None if line < 0 else int(line),
                "conversation_id": conv,
                "column": c,
                "value": v,
                "reason": why,
            }
            for r, line, conv, c, v, why in zip(
                self.row, lines, ids, self.column, self.value, self.reason, strict=True
            )
        ]


@dataclass(frozen=True, slots=True)
class GroupSummary:
    """What reading did with group conversations (:mod:`riskscore.io.groups`).

    Attributes
    ----------
    n_rooms : int
        Conversations of more than two accounts, split into pair conversations.
    n_pairs : int
        Pair conversations derived from them (every pair of accounts of a room that
        exchanged an event).
    n_without_room_size : int
        Events of those rooms without ``room_size``: each counted as an event between its
        sender and recipient, not as group contact.
    n_broadcast : int
        Events set aside as broadcasts (``message`` or ``media`` events to a room of more
        than ``max_room_members`` accounts).
    broadcast_rows : array of shape (n_broadcast,)
        Their 0-based input rows (empty where rows are not kept: out-of-core totals).
    """

    n_rooms: int = 0
    n_pairs: int = 0
    n_without_room_size: int = 0
    n_broadcast: int = 0
    broadcast_rows: IntArray = field(default_factory=lambda: np.empty(0, dtype=np.int64))

    def __add__(self, other: GroupSummary) -> GroupSummary:
        """Totals of two summaries (of disjoint parts); rows are not kept."""
        return GroupSummary(
            n_rooms=self.n_rooms + other.n_rooms,
            n_pairs=self.n_pairs + other.n_pairs,
            n_without_room_size=self.n_without_room_size + other.n_without_room_size,
            n_broadcast=self.n_broadcast + other.n_broadcast,
        )

    def describe(self) -> list[str]:
        """One line per fact worth printing (none when there were no groups)."""
        lines = []
        if self.n_rooms:
            lines.append(
                f"{plural(self.n_rooms, 'group conversation')} of more than two accounts split "
                f"into {plural(self.n_pairs, 'pair conversation')} (id: room|account|account)"
            )
        if self.n_without_room_size:
            lines.append(
                f"{plural(self.n_without_room_size, 'event')} of group conversations without "
                "room_size, each counted as an event between its sender and recipient"
            )
        if self.n_broadcast:
            lines.append(
                f"{plural(self.n_broadcast, 'event')} to rooms above max_room_members set aside as "
                "broadcasts (not conversations)"
            )
        return lines


def all_quarantined_text(n_rows: int, reason_counts: dict[str, int]) -> str:
    """What a command says when every row of its input was quarantined: nothing is left to
    score or tune on (one wording for ``riskscore score``, ``policy tune`` and the rest)."""
    counts = "; ".join(f"{n} {why}" for why, n in reason_counts.items())
    return f"every row was quarantined ({plural(n_rows, 'row')}: {counts}); nothing left"


def most_frequent_first(counts: Mapping[str, int]) -> dict[str, int]:
    """``counts`` most frequent first, ties by name (the order every count of refused rows
    by reason is shown in)."""
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
