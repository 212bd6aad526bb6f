"""The pair facts of the account features file (:mod:`riskscore.features.account_file`) as
its ``pair_*`` list columns: :func:`pair_columns` lays out the facts of
:mod:`riskscore.features.pairs` for writing (each pair once, in the row of its first
account), :func:`read_pairs` reads them back, refusing every value that does not hold
together (naming its column, row and value)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from riskscore.exceptions import SchemaError
from riskscore.features.file_columns import (
    account_ids,
    cell_value,
    check_decimal_text,
    check_text_ids,
    first_null,
    whole_counts,
)
from riskscore.features.kernel import PAIR_KEY_CHANNELS
from riskscore.features.pairs import PairFacts
from riskscore.io.raw import show
from riskscore.io.schema import Channel

__all__ = ["PAIR_COLUMNS", "pair_columns", "read_pairs"]

#: The list columns of the pair facts, in order.
PAIR_COLUMNS: Final = ("pair_other", "pair_first_ts", "pair_first_channel", "pair_private_ts")
_CHANNEL_NAMES: Final = tuple(c.name.lower() for c in sorted(Channel))


def pair_columns(ids: npt.NDArray[Any], pairs: PairFacts, id_type: Any) -> dict[str, Any]:
    """The ``pair_*`` list columns: each pair in the row of its first account."""
    rows, missing = _positions(ids, pairs.lo)
    if missing.any():
        account = cell_value("account_id", pairs.lo[int(np.flatnonzero(missing)[0])])
        raise SchemaError(
            f"the pair facts name account {show(account)}, which has no tallies: "
            "write those of rs.extract_account_features over the full history"
        )
    order = np.argsort(rows, kind="stable")
    offsets = pa.array(
        np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=len(ids)))]), pa.int32()
    )
    first = pairs.first[order]
    first_ts = np.floor(first / PAIR_KEY_CHANNELS).astype(np.int64)
    channel = (first - first_ts * PAIR_KEY_CHANNELS).astype(np.int64)
    private = pairs.private[order]
    known = np.isfinite(private)
    values = {
        "pair_other": pa.array(pairs.hi[order].tolist(), type=id_type),
        "pair_first_ts": pa.array(first_ts),
        "pair_first_channel": pa.array([_CHANNEL_NAMES[c] for c in channel], pa.string()),
        "pair_private_ts": pa.array(
            np.where(known, private, 0).astype(np.int64), mask=~known, type=pa.int64()
        ),
    }
    return {name: pa.ListArray.from_arrays(offsets, values[name]) for name in PAIR_COLUMNS}


def read_pairs(
    table: Any, ids: npt.NDArray[Any], source: Path, history: tuple[int, int], *, decimal: bool
) -> PairFacts:
    """The pair facts of the ``pair_*`` columns (rows of ``ids`` in file order), checked:
    every time within ``history`` (its first and last second), every id decimal text of
    an integer when ``decimal``."""
    lists, lengths = _pair_lists(table, source)
    rows = np.repeat(np.arange(len(lengths)), lengths)
    other_ids = account_ids(pc.list_flatten(lists[0]), source, "pair_other", rows)
    if decimal:
        check_decimal_text(other_ids, source, "pair_other", rows)
    check_text_ids(other_ids, source, "pair_other", rows)
    first_ts = whole_counts(pc.list_flatten(lists[1]), "pair_first_ts", source, rows)
    codes = _channel_codes(lists[2], rows, source)
    private_lists = pc.list_flatten(lists[3])
    known = ~np.asarray(private_lists.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    private = np.full(len(rows), np.inf)
    private[known] = whole_counts(
        private_lists.filter(pa.array(known)), "pair_private_ts", source, rows[known]
    )
    _check_pair_times(first_ts, private, rows, history, source)
    lo = ids[rows]
    if len(rows) and (lo.dtype.kind == "O") != (other_ids.dtype.kind == "O"):
        raise SchemaError(
            f"{source}: column 'pair_other' must hold ids of the kind of 'account_id'",
            column="pair_other",
        )
    behind = other_ids <= lo
    if behind.any():
        k = int(np.flatnonzero(behind)[0])
        raise _pair_error(
            source,
            "pair_other",
            int(rows[k]),
            other_ids[k],
            f"does not sort after the row's account {show(cell_value('account_id', lo[k]))}; "
            "a pair is stored once, in the row of its first account",
        )
    _check_pair_accounts(other_ids, rows, ids, source)
    return PairFacts(
        lo=lo, hi=other_ids, first=first_ts * PAIR_KEY_CHANNELS + codes, private=private
    )


def _pair_lists(table: Any, source: Path) -> tuple[list[Any], npt.NDArray[Any]]:
    """The ``pair_*`` columns as lists, and the number of pairs of each row: every column
    a list column without nulls, with as many values in each row as ``pair_other``."""
    lists = [table.column(name).combine_chunks() for name in PAIR_COLUMNS]
    for name, column in zip(PAIR_COLUMNS, lists, strict=True):
        if not pa.types.is_list(column.type) and not pa.types.is_large_list(column.type):
            raise SchemaError(
                f"{source}: column {name!r} must hold lists (one per account), got {column.type}",
                column=name,
            )
        if column.null_count:
            row = first_null(column)
            raise SchemaError(
                f"{source}: column {name!r}, row {row}: null; an account without pairs has "
                "an empty list",
                column=name,
                row=row,
                value=None,
            )
    lengths = np.asarray(pc.list_value_length(lists[0]).to_numpy(zero_copy_only=False))
    for name, column in zip(PAIR_COLUMNS[1:], lists[1:], strict=True):
        other = np.asarray(pc.list_value_length(column).to_numpy(zero_copy_only=False))
        if (other != lengths).any():
            row = int(np.flatnonzero(other != lengths)[0])
            raise SchemaError(
                f"{source}: column {name!r}, row {row}: {int(other[row])} values for "
                f"{int(lengths[row])} in 'pair_other'; each pair has one value in every "
                "pair_* list",
                column=name,
                row=row,
            )
    return lists, lengths


def _channel_codes(lists: Any, rows: npt.NDArray[Any], source: Path) -> npt.NDArray[Any]:
    """The code of each pair's first channel (``pair_first_channel``, ``lists`` of text
    whose values belong to ``rows``), refused unless a channel name."""
    channels = pc.list_flatten(lists)
    if not pa.types.is_string(channels.type) and not pa.types.is_large_string(channels.type):
        raise SchemaError(
            f"{source}: column 'pair_first_channel' must hold lists of text, got {lists.type}",
            column="pair_first_channel",
        )
    names = channels.to_pylist()
    codes = np.array([_CHANNEL_NAMES.index(n) if n in _CHANNEL_NAMES else -1 for n in names])
    if len(codes) and codes.min() < 0:
        k = int(np.flatnonzero(codes < 0)[0])
        raise _pair_error(
            source,
            "pair_first_channel",
            int(rows[k]),
            names[k],
            f"is not a channel ({', '.join(_CHANNEL_NAMES)})",
        )
    return codes


def _check_pair_times(
    first_ts: npt.NDArray[Any],
    private: npt.NDArray[Any],
    rows: npt.NDArray[Any],
    history: tuple[int, int],
    source: Path,
) -> None:
    """Refuse a pair that went private before it met, or a time outside ``history``."""
    early = private < first_ts
    if early.any():
        k = int(np.flatnonzero(early)[0])
        raise _pair_error(
            source,
            "pair_private_ts",
            int(rows[k]),
            int(private[k]),
            f"is before the pair's first event ({int(first_ts[k])}); rebuild the file with "
            "`riskscore accounts`",
        )
    for name, times in (("pair_first_ts", first_ts), ("pair_private_ts", private)):
        # a time outside the history is another history's, and one near 2**53 would not
        # survive being packed with its channel (time x channels + channel) in a float64
        outside = np.isfinite(times) & ((times < history[0]) | (times > history[1]))
        if outside.any():
            k = int(np.flatnonzero(outside)[0])
            raise _pair_error(
                source,
                name,
                int(rows[k]),
                int(times[k]),
                f"is outside the history the file records ({history[0]} to {history[1]}); "
                "rebuild the file with `riskscore accounts`",
            )


def _check_pair_accounts(
    other_ids: npt.NDArray[Any], rows: npt.NDArray[Any], ids: npt.NDArray[Any], source: Path
) -> None:
    """Refuse a ``pair_other`` id listed twice in a row (the same pair twice: the rows'
    accounts are distinct) or naming an account the file has no row for."""
    order = np.argsort(other_ids, kind="stable")  # by id, then by row (rows ascend)
    twice = (rows[order][1:] == rows[order][:-1]) & (other_ids[order][1:] == other_ids[order][:-1])
    if twice.any():
        k = int(order[np.flatnonzero(twice)[0] + 1])
        raise _pair_error(
            source,
            "pair_other",
            int(rows[k]),
            other_ids[k],
            "names a pair more than once (twice in this row); each pair has one entry",
        )
    _, missing = _positions(np.sort(ids), other_ids)
    if missing.any():
        k = int(np.flatnonzero(missing)[0])
        raise _pair_error(
            source,
            "pair_other",
            int(rows[k]),
            other_ids[k],
            "has no row of its own in the file (tallies and pairs of two histories); "
            "rebuild the file with `riskscore accounts`",
        )


def _positions(
    ids: npt.NDArray[Any], wanted: npt.NDArray[Any]
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.bool_]]:
    """Where each of ``wanted`` is in the sorted ``ids``, and which are not there."""
    at = np.clip(np.searchsorted(ids, wanted), 0, max(len(ids) - 1, 0))
    missing = (ids[at] != wanted) if len(ids) else np.ones(len(wanted), dtype=bool)
    return at, np.asarray(missing, dtype=bool)


def _pair_error(source: Path, column: str, row: int, value: Any, text: str) -> SchemaError:
    """A bad value of a ``pair_*`` column, named by column, row and value (cut, and not
    quoted when it may be message content: :func:`~riskscore.features.file_columns.cell_value`)."""
    quoted = cell_value(column, value)
    return SchemaError(
        f"{source}: column {column!r}, row {row}: {show(quoted)} {text}",
        column=column,
        row=row,
        value=quoted,
    )
