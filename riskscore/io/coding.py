"""Dense codes and row order of a table being built: :func:`factorize` (ids to dense
codes, sorted), :func:`runs` (codes of runs of equal sorted values) and :func:`is_sorted`
(whether a sort can be skipped). :func:`riskscore.io.messages.build_table` uses them; the
per-account and pair features code account ids with :func:`factorize`."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow.compute as pc

from riskscore._read_only import read_only
from riskscore.io.passes import in_order, lookup_codes, mark_present, run_codes
from riskscore.io.text import all_text
from riskscore.io.threads import executor_for

__all__ = [
    "RankedText",
    "factorize",
    "forget_ranks",
    "grouped_order",
    "is_sorted",
    "ranked_text",
    "runs",
    "search_sorted",
    "take",
]

IntArray = npt.NDArray[np.int64]


class RankedText(np.ndarray):
    """Text ids (an object array of str) with their ranks: ``ranks``, each row's position
    among the sorted distinct ids ``uniques`` (in code-point order, as Python sorts str),
    found once by hashing the distinct ids (:func:`ranked_text`). :func:`factorize`,
    :func:`is_sorted` and :func:`runs` read the ranks, integers, instead of comparing
    strings row by row. Arrays derived from it (slices, masks, takes, copies) are plain
    arrays again."""

    ranks: IntArray | None
    uniques: npt.NDArray[Any] | None

    def __array_finalize__(self, obj: object) -> None:
        self.ranks = None
        self.uniques = None


def ranked_text(
    ids: npt.NDArray[Any], distinct: npt.NDArray[Any], index: IntArray
) -> npt.NDArray[Any]:
    """``ids`` (``distinct[index]``, every one a str) as :class:`RankedText`; ``ids`` as
    they are when ``distinct`` is not all text (then nothing is known of its order)."""
    coded = _text_codes(distinct)  # a dictionary may repeat a value: one rank for both
    if coded is None:
        return ids
    uniques, rank_of = coded
    ranks = rank_of[index]
    # A dictionary may hold values no row has (an Arrow slice or a Parquet batch keeps its
    # whole dictionary, a category may be unused): those are no one's conversation or
    # account, so the ranks are of the ids present, as the row-by-row path finds them.
    present = np.zeros(len(uniques), dtype=bool)
    present[ranks] = True
    if not present.all():
        ranks = (np.cumsum(present, dtype=np.int64) - 1)[ranks]
        uniques = uniques[present]
    out: RankedText = ids.view(RankedText)
    out.ranks, out.uniques = ranks, uniques.view(np.ndarray)
    return out


def take(values: npt.NDArray[Any], order: IntArray) -> npt.NDArray[Any]:
    """``values[order]``, ranked text keeping its ranks (reordered alike)."""
    out = values[order]
    ranked = _ranked(values)
    if ranked is None:
        return out
    kept: RankedText = out.view(RankedText)
    kept.uniques, kept.ranks = ranked[0], ranked[1][order]
    return kept


def forget_ranks(*columns: npt.NDArray[Any]) -> None:
    """Drop the ranks of ranked text once the table is coded: a table keeps its codes, and
    the ranks would hold another 8 bytes per row and id column for its lifetime."""
    for values in columns:
        if isinstance(values, RankedText):
            values.ranks = values.uniques = None


def _ranked(values: npt.NDArray[Any]) -> tuple[npt.NDArray[Any], IntArray] | None:
    """``(uniques, ranks)`` of :class:`RankedText`, else None."""
    if isinstance(values, RankedText) and values.ranks is not None and values.uniques is not None:
        return values.uniques, values.ranks
    return None


def _ranks(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """The ranks of :class:`RankedText` (their order is the text's), else ``values``."""
    if isinstance(values, RankedText) and values.ranks is not None:
        return values.ranks
    return values


#: Integer ids spanning at most this many values per row are coded with a lookup table
#: (O(n + span)) instead of a sort (O(n log n)).
_DENSE_SPAN_PER_ROW = 4


def factorize(*columns: npt.NDArray[Any]) -> tuple[npt.NDArray[Any], list[IntArray]]:
    """Sorted unique values over all the columns, and each column's dense codes."""
    ranked = [_ranked(c) for c in columns]
    if all(r is not None for r in ranked):
        return _factorize_ranked([r for r in ranked if r is not None])
    dense = _dense_lookup(columns)
    if dense is not None:
        uniques, code_of, low = dense

        def code(col: npt.NDArray[Any]) -> IntArray:
            if col.dtype == np.int64:  # the common case: one compiled pass, no temporary
                out = np.empty(len(col), dtype=np.int64)
                lookup_codes(read_only(col), low, code_of, out)
                return out
            coded: IntArray = code_of[col - low if low else col]
            return coded

        with executor_for(len(columns[0]) if len(columns) > 1 else 0) as pool:
            return uniques, list(pool.map(code, columns))
    both = columns[0] if len(columns) == 1 else np.concatenate(columns)
    text = _text_codes(both) if both.dtype.kind in "OUT" else None
    if text is not None:
        uniques, codes = text
    else:
        uniques, codes = np.unique(both, return_inverse=True)
        codes = codes.astype(np.int64, copy=False).reshape(-1)
    bounds = np.cumsum([len(c) for c in columns])[:-1]
    return uniques, np.split(codes, bounds)


def _factorize_ranked(
    columns: list[tuple[npt.NDArray[Any], IntArray]],
) -> tuple[npt.NDArray[Any], list[IntArray]]:
    """:func:`factorize` of ranked text, given each column's ``(uniques, ranks)``: the
    ranks themselves for one column; for several, the union of their few distinct ids,
    each column's ranks looked up in it."""
    if len(columns) == 1:
        return columns[0][0], [columns[0][1]]
    union = _text_codes(np.concatenate([uniques for uniques, _ in columns]))
    if union is None:  # pragma: no cover - ranked text is all text
        raise AssertionError("ranked text ids that are not all text")
    uniques, codes = union
    bounds = np.cumsum([len(u) for u, _ in columns])[:-1]
    return uniques, [
        part[ranks] for part, (_, ranks) in zip(np.split(codes, bounds), columns, strict=True)
    ]


def _text_codes(values: npt.NDArray[Any]) -> tuple[npt.NDArray[Any], IntArray] | None:
    """Text ids as :func:`np.unique` gives them (sorted uniques of the same dtype, and
    codes), by Arrow's hash table: ``np.unique`` sorts an object array by Python
    comparisons (about 10 s for 1.6 million ids, against under 1 s here). UTF-8's byte
    order is the code-point order Python sorts text by. None when the values are not all
    text (:func:`~riskscore.io.text.all_text`: bytes, a lone surrogate, None):
    ``np.unique`` then decides."""
    text = all_text(values)
    if text is None or text.null_count:  # not all text (None is no text id)
        return None
    encoded = pc.dictionary_encode(text)
    order = pc.sort_indices(encoded.dictionary).to_numpy()
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order), dtype=np.int64)
    codes: IntArray = rank[encoded.indices.to_numpy()]
    uniques = encoded.dictionary.take(order).to_numpy(zero_copy_only=False)
    # of the values' own class, as np.unique keeps it (ids beyond int64: DecimalIds)
    return uniques.astype(values.dtype, copy=False).view(type(values)), codes


def _dense_lookup(
    columns: tuple[npt.NDArray[Any], ...],
) -> tuple[npt.NDArray[Any], IntArray, int] | None:
    """For integer ids with a compact range: the sorted unique values, a table from
    ``value - low`` to code, and ``low`` (0 when small ids can index the table as they
    are). None otherwise."""
    n = sum(len(c) for c in columns)
    if n == 0 or any(c.dtype.kind not in "iu" for c in columns):
        return None
    low = min(int(c.min()) for c in columns if len(c))
    high = max(int(c.max()) for c in columns if len(c))
    limit = _DENSE_SPAN_PER_ROW * n + 1024
    if high - low + 1 > limit:
        return None
    if 0 <= low <= high - low + 1:  # a table at most twice as long, without the subtraction
        low = 0
    present = np.zeros(high - low + 1, dtype=bool)
    for col in columns:
        if col.dtype == np.int64:
            mark_present(read_only(col), low, present)
        else:
            present[col - low if low else col] = True
    code_of = np.cumsum(present, dtype=np.int64) - 1
    uniques = np.flatnonzero(present) + low
    return uniques.astype(np.result_type(*columns), copy=False), code_of, low


def is_sorted(conversation_id: npt.NDArray[Any], timestamp: IntArray, source_row: IntArray) -> bool:
    """Whether rows are already sorted by (conversation, timestamp, source row): then the
    sort is the identity and can be skipped (one O(n) pass instead of O(n log n))."""
    if len(conversation_id) < 2:
        return True
    conversation_id = _ranks(conversation_id)
    if conversation_id.dtype.kind in "iu":  # integer ids: one compiled pass
        return bool(in_order(*map(read_only, (conversation_id, timestamp, source_row))))
    same = conversation_id[1:] == conversation_id[:-1]
    if not np.all(same | (conversation_id[1:] > conversation_id[:-1])):
        return False
    tie = same & (timestamp[1:] == timestamp[:-1])
    later = timestamp[1:] > timestamp[:-1]
    return bool(np.all(~same | later | (tie & (source_row[1:] > source_row[:-1]))))


def grouped_order(codes: IntArray, timestamp: IntArray, source_row: IntArray) -> IntArray | None:
    """The row order of a sort by (code, timestamp, source row) when each code's rows are
    already one block in time order (an export grouped by conversation, its ids not in
    sorted order): the blocks put in code order, O(n) instead of a sort. None otherwise.

    ``codes`` are dense (0 .. k-1) and ``source_row`` increases, as a table's do."""
    n = len(codes)
    if n < 2 or not np.all(source_row[1:] > source_row[:-1]):
        return None
    new_block = codes[1:] != codes[:-1]
    starts = np.concatenate(([0], np.flatnonzero(new_block) + 1))
    block_code = codes[starts]
    if len(starts) != int(block_code.max()) + 1:  # a code in two blocks: not grouped
        return None
    if not np.all(new_block | (timestamp[1:] >= timestamp[:-1])):
        return None
    lengths = np.diff(np.append(starts, n))
    by_code = np.empty(len(starts), dtype=np.int64)
    by_code[block_code] = np.arange(len(starts), dtype=np.int64)  # the block of each code
    first = np.repeat(starts[by_code], lengths[by_code])
    new_start = np.repeat(np.cumsum(lengths[by_code]) - lengths[by_code], lengths[by_code])
    order: IntArray = np.arange(n, dtype=np.int64) - new_start + first
    return order


def runs(values: npt.NDArray[Any]) -> tuple[IntArray, IntArray]:
    """Each row's code (0, 1, ...) among the runs of equal sorted values, and each run's
    first row."""
    values = _ranks(values)
    if values.dtype.kind in "iu":  # one compiled pass
        codes, starts = run_codes(read_only(values))
        return codes, starts
    is_start = np.ones(len(values), dtype=bool)
    if len(values):
        is_start[1:] = values[1:] != values[:-1]
    return np.cumsum(is_start, dtype=np.int64) - 1, np.flatnonzero(is_start).astype(np.int64)


def search_sorted(haystack: npt.NDArray[Any], needles: npt.NDArray[Any]) -> IntArray:
    """``np.searchsorted(haystack, needles)`` (left side) of a sorted ``haystack``, the
    integer needles searched in the part of ``haystack`` between their least and greatest
    value only: the same positions, from a part that stays in cache (out of core, a
    chunk's few thousand accounts are looked up among the millions of the whole file, and
    searching them all was most of the feature step of a chunk)."""
    if len(needles) < 2 or needles.dtype.kind not in "iu" or haystack.dtype.kind not in "iu":
        return np.searchsorted(haystack, needles).astype(np.int64, copy=False)
    # every value before `low` is below the least needle, every one from `high` on above
    # the greatest: they are counted, not searched
    low = int(np.searchsorted(haystack, needles.min(), side="left"))
    high = int(np.searchsorted(haystack, needles.max(), side="right"))
    return np.searchsorted(haystack[low:high], needles).astype(np.int64, copy=False) + low
