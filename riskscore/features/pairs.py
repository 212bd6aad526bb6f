"""Facts about a pair of accounts over all their conversations: where they first had
contact and when they first had an event on ``direct`` or a more private channel.

A pair can have several conversations: one per group room they share (group rooms are
split into pair conversations, :mod:`riskscore.io.groups`) and a direct one, with its
own id. The features ``pair_met_channel`` and ``pair_hours_to_private``
(:func:`riskscore.features.kernel.conversation_features`) read two facts of the pair
over all of them:

- ``first``: their first contact, as ``PAIR_KEY_CHANNELS * timestamp + channel``, the
  minimum over their events (the earliest second; in it, the most public channel);
- ``private``: the time of their first event on ``direct``, ``ephemeral``,
  ``encrypted`` or ``external`` (``inf``: none).

Both are minima, so the facts of parts of the events merge by taking minima
(:func:`merge_pair_facts`): out-of-core chunks and Spark partitions give the numbers of
one table in memory. The online scorer keeps the same two numbers per pair
(:mod:`riskscore.online.state`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Final

import numba
import numpy as np
import numpy.typing as npt

from riskscore._jit_cache import jit_cache_on_disk
from riskscore._read_only import read_only
from riskscore.features.kernel import PAIR_KEY_CHANNELS
from riskscore.io.coding import factorize, search_sorted
from riskscore.io.messages import MessageTable
from riskscore.io.schema import Channel

__all__ = [
    "PairFacts",
    "merge_pair_facts",
    "pair_facts",
    "pair_facts_by_conversation",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_DIRECT: Final = int(Channel.DIRECT)


def _empty_ids() -> npt.NDArray[Any]:
    return np.empty(0, dtype=np.int64)


def _empty_floats() -> FloatArray:
    return np.empty(0, dtype=np.float64)


@dataclass(frozen=True, slots=True, eq=False)
class PairFacts:
    """The facts of pairs of accounts, keyed by ids (so facts of different tables merge).

    Attributes
    ----------
    lo, hi : array of shape (n_pairs,)
        The two account ids of each pair, ``lo`` before ``hi`` in sort order.
    first : array of shape (n_pairs,)
        First contact, ``PAIR_KEY_CHANNELS * timestamp + channel``.
    private : array of shape (n_pairs,)
        Time of the first event on ``direct`` or a more private channel; ``inf`` if none.
    """

    lo: npt.NDArray[Any] = field(default_factory=_empty_ids)
    hi: npt.NDArray[Any] = field(default_factory=_empty_ids)
    first: FloatArray = field(default_factory=_empty_floats)
    private: FloatArray = field(default_factory=_empty_floats)
    # The sorted search index of :meth:`lookup`, built on first use: out of core, every
    # chunk looks up the facts of the whole file, and building the index each time made
    # that quadratic in the number of chunks.
    _index: tuple[npt.NDArray[Any], IntArray, IntArray] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def __len__(self) -> int:
        return len(self.lo)

    def _search_index(self) -> tuple[npt.NDArray[Any], IntArray, IntArray]:
        """The distinct ids, the pairs' codes ``lo_position * n_ids + hi_position`` in
        ascending order, and the rows in that order."""
        if self._index is None:
            ids, (lo, hi) = factorize(self.lo, self.hi)
            code = lo * len(ids) + hi
            order = np.argsort(code, kind="stable")
            object.__setattr__(self, "_index", (ids, code[order], order))
        assert self._index is not None
        return self._index

    def lookup(self, a: npt.NDArray[Any], b: npt.NDArray[Any]) -> tuple[FloatArray, FloatArray]:
        """``first`` and ``private`` of the pairs ``(a[k], b[k])`` (either order); ``inf``
        for pairs without facts."""
        first = np.full(len(a), np.inf)
        private = np.full(len(a), np.inf)
        if len(self) == 0 or len(a) == 0:
            return first, private
        lo = np.where(a <= b, a, b)
        hi = np.where(a <= b, b, a)
        ids, codes, order = self._search_index()
        n = len(ids)
        lo_pos = np.clip(search_sorted(ids, lo), 0, n - 1)
        hi_pos = np.clip(search_sorted(ids, hi), 0, n - 1)
        known = (ids[lo_pos] == lo) & (ids[hi_pos] == hi)
        wanted = lo_pos * n + hi_pos
        pos = np.clip(search_sorted(codes, wanted), 0, len(codes) - 1)
        found = known & (codes[pos] == wanted)
        first[found] = self.first[order[pos[found]]]
        private[found] = self.private[order[pos[found]]]
        return first, private


def conversation_pairs(msgs: MessageTable) -> tuple[IntArray, IntArray]:
    """Account codes of each conversation's two accounts, the lower code first (every
    conversation is between two accounts once groups are split)."""
    starts = msgs.segment_starts
    a, b = msgs.sender_code[starts], msgs.recipient_code[starts]
    return np.minimum(a, b), np.maximum(a, b)


@numba.njit(cache=jit_cache_on_disk(), nogil=True)
def _firsts(
    starts: IntArray,
    timestamp: IntArray,
    channel: npt.NDArray[np.uint8],
    first: FloatArray,
    private: FloatArray,
) -> None:
    """``first`` and ``private`` of each sorted segment, in one pass over the events."""
    n = len(timestamp)
    for k in range(len(starts)):
        end = starts[k + 1] if k + 1 < len(starts) else n
        best = math.inf
        moved = math.inf
        for e in range(starts[k], end):
            t = float(timestamp[e])
            key = t * PAIR_KEY_CHANNELS + channel[e]
            if key < best:
                best = key
            if channel[e] >= _DIRECT and t < moved:
                moved = t
        first[k] = best
        private[k] = moved


def _per_conversation(msgs: MessageTable) -> tuple[FloatArray, FloatArray]:
    """``first`` and ``private`` of each conversation's own events."""
    first = np.empty(msgs.n_conversations)
    private = np.empty(msgs.n_conversations)
    starts = read_only(msgs.segment_starts.astype(np.int64))
    _firsts(starts, read_only(msgs.timestamp), read_only(msgs.channel), first, private)
    return first, private


def pair_facts_by_conversation(msgs: MessageTable) -> tuple[FloatArray, FloatArray]:
    """``first`` and ``private`` of each conversation's pair over all the pair's
    conversations in ``msgs``, shape (n_conversations,) each."""
    first, private = _per_conversation(msgs)
    lo, hi = conversation_pairs(msgs)
    code = lo * max(len(msgs.accounts), 1) + hi
    pairs, inverse = np.unique(code, return_inverse=True)
    if len(pairs) == len(code):  # one conversation per pair: nothing to combine
        return first, private
    best_first = np.full(len(pairs), np.inf)
    best_private = np.full(len(pairs), np.inf)
    np.minimum.at(best_first, inverse, first)
    np.minimum.at(best_private, inverse, private)
    return best_first[inverse], best_private[inverse]


def pair_facts(msgs: MessageTable) -> PairFacts:
    """The facts of every pair of accounts of ``msgs``, keyed by ids."""
    first, private = pair_facts_by_conversation(msgs)
    lo, hi = conversation_pairs(msgs)
    code = lo * max(len(msgs.accounts), 1) + hi
    _, keep = np.unique(code, return_index=True)
    return PairFacts(
        lo=msgs.accounts[lo[keep]],
        hi=msgs.accounts[hi[keep]],
        first=first[keep],
        private=private[keep],
    )


def merge_pair_facts(parts: list[PairFacts]) -> PairFacts:
    """The facts of several sets of events together: the minima over the parts."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return PairFacts()
    rows = PairFacts(
        lo=np.concatenate([p.lo for p in parts]),
        hi=np.concatenate([p.hi for p in parts]),
        first=np.concatenate([p.first for p in parts]),
        private=np.concatenate([p.private for p in parts]),
    )
    # the search index sorts the rows by pair code (stably: each pair's first row first),
    # so each pair's rows are side by side: minima per run
    ids, sorted_code, order = rows._search_index()
    runs = np.flatnonzero(np.concatenate([[True], sorted_code[1:] != sorted_code[:-1]]))
    keep = order[runs]
    first = np.minimum.reduceat(rows.first[order], runs)
    private = np.minimum.reduceat(rows.private[order], runs)
    merged = PairFacts(lo=rows.lo[keep], hi=rows.hi[keep], first=first, private=private)
    # its rows are in ascending pair code over these same ids: that is its search index
    # already, so :meth:`PairFacts.lookup` need not factorize and sort them again
    object.__setattr__(merged, "_index", (ids, sorted_code[runs], np.arange(len(runs))))
    return merged
