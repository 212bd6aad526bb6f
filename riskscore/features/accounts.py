"""Per-account tallies over every event of a table: who an account contacted (distinct
accounts, minors, minors on private channels), its contact requests, the accepts it
received, the blocks and reports minors sent it, and its contact events to minors (all,
and those in a supervised setting).

The tallies are what the per-account features (``adult_minor_fanout`` and the rest,
:mod:`riskscore.features.kernel`) are made of. They are built from distinct
``(sender, recipient)`` pairs and counts, which add up over chunks of a table
(:func:`account_tallies` per chunk, :func:`tallies_from_parts` to merge), so
out-of-core and distributed scoring give the same numbers as one table in memory.
Ages are those declared on each event, so a tally only ever grows as events arrive.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from riskscore._read_only import read_only
from riskscore.exceptions import SchemaError
from riskscore.features.account_kernel import COUNT_COLUMNS, MARK_COLUMNS, tally_events
from riskscore.features.kernel import ACCOUNT_SLOTS, N_ACCOUNT_SLOTS
from riskscore.features.pairs import PairFacts, merge_pair_facts, pair_facts
from riskscore.io.chunks import conversation_parts
from riskscore.io.coding import factorize, search_sorted
from riskscore.io.groups import check_max_room_members
from riskscore.io.messages import MessageTable
from riskscore.io.raw import as_python_value
from riskscore.io.schema import INT64_MAX, INT64_MIN, MAX_ROOM_SIZE
from riskscore.io.segments import sorted_unique
from riskscore.io.threads import executor_for, worker_threads
from riskscore.io.timestamps import iso_utc

__all__ = [
    "AccountFeatures",
    "AccountParts",
    "account_parts",
    "account_tallies",
    "tallies_from_parts",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True, eq=False)
class AccountFeatures:
    """Per-account tallies over a set of events (:data:`~riskscore.features.kernel.ACCOUNT_SLOTS`).

    Compute them over *all* of a platform's events once
    (:func:`riskscore.extract_account_features`, saved with
    :func:`riskscore.write_account_features`) and pass them to
    :func:`riskscore.extract_features` when scoring a part of the events, so that an
    adult's fan-out counts every conversation.

    Attributes
    ----------
    account_id : array of shape (n_accounts,)
        Account ids, sorted and unique.
    values : array of shape (n_accounts, 8)
        Columns ``contacts``, ``minors``, ``private_minors``, ``requests``,
        ``accepts``, ``flagged``, ``minor_events``, ``supervised_minor_events``.
    history_start, history_end : int or None
        Epoch seconds of the first and last event counted (None when not recorded,
        as for tallies merged from parts).
    n_events : int or None
        Number of events counted (None when not recorded).
    pairs : PairFacts
        Where each pair of accounts first had contact and when they first had an event
        on a private channel, over all their conversations
        (:mod:`riskscore.features.pairs`); empty by default (pairs without facts get NaN
        ``pair_met_channel`` and ``pair_hours_to_private``).
    decimal_ids : bool, default False
        ``account_id`` holds integers as their decimal text, because an integer id of the
        events was beyond int64 (:attr:`riskscore.MessageTable.decimal_ids`): events with
        integer ids join them as that text (:meth:`for_ids`), events with text ids never.
    max_room_members : int or None, default None
        The broadcast limit the tallies were counted with (rooms above it set aside,
        :mod:`riskscore.io.groups`); None when not recorded. Events read with another
        limit are refused (:meth:`check_room_limit`) by the functions that read them
        (``riskscore score``, :func:`riskscore.extract_features` given a file); a
        :class:`riskscore.MessageTable` does not record its limit, so read it with the
        same one.
    """

    account_id: npt.NDArray[Any]
    values: FloatArray
    history_start: int | None = None
    history_end: int | None = None
    n_events: int | None = None
    pairs: PairFacts = field(default_factory=PairFacts)
    decimal_ids: bool = False
    max_room_members: int | None = None

    def __post_init__(self) -> None:
        if self.values.shape != (len(self.account_id), N_ACCOUNT_SLOTS):
            raise ValueError(
                f"AccountFeatures.values must have shape ({len(self.account_id)}, "
                f"{N_ACCOUNT_SLOTS}) for columns {ACCOUNT_SLOTS}, got {self.values.shape}"
            )
        if (self.history_start is None) != (self.history_end is None) or (
            self.history_start is not None
            and self.history_end is not None
            and self.history_start > self.history_end
        ):
            raise ValueError(
                "AccountFeatures history_start and history_end must both be given, "
                f"start <= end, got {self.history_start!r} and {self.history_end!r}"
            )
        if self.decimal_ids and _id_kind(self.account_id) == "integers":
            raise ValueError("AccountFeatures with decimal_ids hold their ids as text, got int64")

    def check_room_limit(self, max_room_members: int) -> None:
        """Refuse events read with another broadcast limit than these tallies were
        counted with (when it was recorded).

        Rooms of more accounts than the smaller limit and no more than the larger are
        group rooms on one side and broadcasts on the other: the pair facts and the
        contact counts would then describe events the scored conversations do not hold.

        Raises
        ------
        SchemaError
            ``max_room_members`` differs from :attr:`max_room_members`.
        """
        max_room_members = check_max_room_members(max_room_members)
        mine = self.max_room_members
        # limits of MAX_ROOM_SIZE or more set no room aside: they are one limit
        if mine is not None and min(mine, MAX_ROOM_SIZE) != min(max_room_members, MAX_ROOM_SIZE):
            raise SchemaError(
                f"the account features were counted with max_room_members {mine} (rooms "
                f"above it set aside as broadcasts), but the events are read with "
                f"{max_room_members}: rooms between the two would be groups on one side "
                f"and broadcasts on the other; score with --max-room-members {mine} "
                "(max_room_members=), or rebuild the account features with the limit the "
                "events are scored with"
            )

    def lookup(self, ids: npt.NDArray[Any]) -> FloatArray:
        """Rows for the given account ids; accounts not present get zeros (no activity)."""
        out = np.zeros((len(ids), N_ACCOUNT_SLOTS))
        if len(self.account_id) == 0 or len(ids) == 0:
            return out
        pos = np.clip(search_sorted(self.account_id, ids), 0, len(self.account_id) - 1)
        found = self.account_id[pos] == ids
        out[found] = self.values[pos[found]]
        return out

    def covering(self, msgs: MessageTable) -> FloatArray:
        """Rows for ``msgs.accounts``, checked to count every event of ``msgs``.

        Tallies only grow as events are added, so tallies of a history that holds the
        events of ``msgs`` are at least the tallies of ``msgs`` alone, account by
        account, and the history's time range spans the events.

        Raises
        ------
        SchemaError
            The events fall outside the recorded history (stale tallies), the ids are
            of another kind (text against integers), an account has more activity
            in ``msgs`` than in these tallies, or a pair met (or went private) earlier
            in ``msgs`` than in these pair facts (tallies of another history).
        """
        span = (int(msgs.timestamp.min()), int(msgs.timestamp.max())) if len(msgs) else None
        decimal = msgs.decimal_ids
        own = self.for_ids(msgs.accounts, decimal_ids=decimal)
        own.check_covers(
            msgs.accounts, account_tallies(msgs), span, pair_facts(msgs), decimal_ids=decimal
        )
        return own.lookup(msgs.accounts)

    def for_ids(self, ids: npt.NDArray[Any], *, decimal_ids: bool = False) -> AccountFeatures:
        """These features with account ids of the kind of ``ids``, so that :meth:`lookup`
        finds them.

        Integer ids and integers held as decimal text are one kind, compared as that text
        (an id beyond int64, held as text in one, is in no int64 ids, so it is left out
        for int64 ids); text ids are another, never joined with integers: ``6`` and
        ``"6"`` are two accounts.

        Parameters
        ----------
        ids : array of shape (n_accounts,)
            The account ids of events (:attr:`riskscore.MessageTable.accounts`).
        decimal_ids : bool, default False
            ``ids`` are integers held as decimal text
            (:attr:`riskscore.MessageTable.decimal_ids`).

        Returns
        -------
        AccountFeatures
            ``self`` when the kinds are the same, else the same tallies and pair facts
            under ids of the kind of ``ids``.

        Raises
        ------
        SchemaError
            Text ids in one and integer ids in the other.

        Examples
        --------
        >>> import numpy as np
        >>> text = np.array(["10", "9"], dtype=object)  # integers, in their text order
        >>> history = AccountFeatures(text, np.eye(2, 8), decimal_ids=True)
        >>> history.for_ids(np.array([9, 10])).account_id
        array([ 9, 10])
        """
        mine = _id_kind(self.account_id, self.decimal_ids)
        theirs = _id_kind(ids, decimal_ids)
        if mine is None or theirs is None or mine == theirs:
            return self
        if {mine, theirs} != {"integers", "decimal"}:
            raise SchemaError(
                f"account ids are {_said(mine)} in the account features but {_said(theirs)} "
                "in the events: build them from the same history"
            )
        return self._as_integers() if mine == "decimal" else self._as_decimal_text()

    def _as_integers(self) -> AccountFeatures:
        """Decimal text ids as int64, those beyond int64 left out (no int64 id is one)."""
        ids, fits = _parse_decimal(self.account_id)
        order = np.argsort(ids[fits], kind="stable")
        lo, lo_fits = _parse_decimal(self.pairs.lo)
        hi, hi_fits = _parse_decimal(self.pairs.hi)
        return replace(
            self,
            account_id=ids[fits][order],
            values=self.values[fits][order],
            pairs=_pairs_of(self.pairs, lo, hi, lo_fits & hi_fits),
            decimal_ids=False,
        )

    def _as_decimal_text(self) -> AccountFeatures:
        """Integer ids as their decimal text, in the order of that text."""
        ids = _decimal_text(self.account_id)
        order = np.argsort(ids, kind="stable")
        lo, hi = _decimal_text(self.pairs.lo), _decimal_text(self.pairs.hi)
        return replace(
            self,
            account_id=ids[order],
            values=self.values[order],
            pairs=_pairs_of(self.pairs, lo, hi, np.ones(len(lo), dtype=bool)),
            decimal_ids=True,
        )

    def check_covers(
        self,
        ids: npt.NDArray[Any],
        tallies: FloatArray,
        span: tuple[int, int] | None,
        pairs: PairFacts | None = None,
        *,
        decimal_ids: bool = False,
    ) -> None:
        """Refuse these tallies for events whose own tallies are ``tallies`` (rows of
        ``ids``), whose times run over ``span`` (first, last) and whose pairs have the
        facts ``pairs`` (not checked when None, nor when these features hold no pair facts:
        the pair features are then unknown); ``decimal_ids``: whether ``ids`` are integers
        held as decimal text (see :meth:`for_ids`, :meth:`covering`)."""
        if span is not None and self.history_start is not None and self.history_end is not None:
            first, last = span
            if first < self.history_start or last > self.history_end:
                raise SchemaError(
                    f"the events run from {iso_utc(first)} to {iso_utc(last)}, but the "
                    f"account features count events from {iso_utc(self.history_start)} to "
                    f"{iso_utc(self.history_end)} only: build them from a history that holds "
                    "every event to score"
                )
        own = self.for_ids(ids, decimal_ids=decimal_ids)
        given = own.lookup(ids)
        short = tallies > given
        if short.any():
            rows = np.flatnonzero(short.any(axis=1))
            i = int(rows[0])
            j = int(np.flatnonzero(short[i])[0])
            account = as_python_value(ids[i])
            raise SchemaError(
                f"{len(rows)} of {len(ids)} accounts have more activity in the events than "
                f"in the account features (account {account!r}: {ACCOUNT_SLOTS[j]} "
                f"{tallies[i, j]:g} in the events, {given[i, j]:g} in the account features): "
                "they were built from another history; build them from a history that holds "
                "every event to score"
            )
        if pairs is not None and len(own.pairs):  # without pair facts they are unknown
            own._check_pairs(pairs)

    def _check_pairs(self, pairs: PairFacts) -> None:
        """Refuse pair facts of a history in which a pair of ``pairs`` met later (or went
        private later) than it does in the events: minima over a history that holds the
        events are never larger."""
        first, private = self.pairs.lookup(pairs.lo, pairs.hi)
        late = (first > pairs.first) | (private > pairs.private)
        if late.any():
            k = int(np.flatnonzero(late)[0])
            a, b = as_python_value(pairs.lo[k]), as_python_value(pairs.hi[k])
            raise SchemaError(
                f"{int(late.sum())} of {len(pairs)} pairs of accounts met or went private "
                f"earlier in the events than in the account features (accounts {a!r} and "
                f"{b!r}): they were built from another history; build them from a history "
                "that holds every event to score"
            )


def _id_kind(ids: npt.NDArray[Any], decimal_ids: bool = False) -> str | None:
    """``"integers"``, ``"decimal"`` (integers held as decimal text) or ``"text"`` (None
    for no ids)."""
    if len(ids) == 0:
        return None
    if ids.dtype.kind in "iu":
        return "integers"
    return "decimal" if decimal_ids else "text"


def _said(kind: str) -> str:
    return "text" if kind == "text" else "integers"


def _parse_decimal(ids: npt.NDArray[Any]) -> tuple[IntArray, BoolArray]:
    """Integers held as decimal text as int64 (0 where beyond int64), and which fit."""
    values = [int(v) for v in ids.tolist()]
    fits = np.array([INT64_MIN <= v <= INT64_MAX for v in values], dtype=bool)
    kept = [v if ok else 0 for v, ok in zip(values, fits.tolist(), strict=True)]
    return np.array(kept, dtype=np.int64), fits


def _decimal_text(ids: npt.NDArray[Any]) -> npt.NDArray[Any]:
    return np.array([str(v) for v in ids.tolist()], dtype=object).reshape(-1)


def _pairs_of(
    pairs: PairFacts, lo: npt.NDArray[Any], hi: npt.NDArray[Any], keep: BoolArray
) -> PairFacts:
    """``pairs`` with their ids given anew (``lo``, ``hi``: of another kind, so possibly
    in the other order), only those ``keep``."""
    lo, hi = lo[keep], hi[keep]
    swap = hi < lo
    return PairFacts(
        lo=np.where(swap, hi, lo),
        hi=np.where(swap, lo, hi),
        first=pairs.first[keep],
        private=pairs.private[keep],
    )


@dataclass(frozen=True, slots=True, eq=False)
class AccountParts:
    """What the tallies of one table are made of, as account ids (so parts of different
    tables merge): distinct contact pairs ``(sender, recipient)`` in three sets, and
    per-account counts.

    Attributes
    ----------
    contacts, minors, private_minors : tuple of two arrays
        Senders and recipients of the distinct pairs: every contact, contacts of a
        minor, contacts of a minor on ephemeral, encrypted or external channels.
    account_id : array of shape (n,)
        Accounts with counts.
    counts : array of shape (n, 5)
        Contact requests sent, accepts received, blocks and reports received from minors,
        contact events sent to minors, of them in a supervised setting.
    pairs : PairFacts
        The facts of each pair of accounts with an event (minima: they merge).
    """

    contacts: tuple[npt.NDArray[Any], npt.NDArray[Any]]
    minors: tuple[npt.NDArray[Any], npt.NDArray[Any]]
    private_minors: tuple[npt.NDArray[Any], npt.NDArray[Any]]
    account_id: npt.NDArray[Any]
    counts: FloatArray
    pairs: PairFacts = field(default_factory=PairFacts)


def _distinct_pairs(
    initiator: IntArray, responder: IntArray, marks: BoolArray, n_accounts: int
) -> IntArray:
    """Distinct ``sender * n_accounts + recipient`` codes of one set of contact pairs,
    from its two columns of marks (:func:`~riskscore.features.account_kernel.tally_events`).

    Every event goes between its conversation's two accounts (:func:`riskscore.read_messages`
    ensures it), so a conversation holds at most two pairs, one each way: the marks say
    which occur per conversation, and only those few are deduplicated.
    """
    ways, back = marks[:, 0], marks[:, 1]
    pairs = np.concatenate(
        [
            initiator[ways] * n_accounts + responder[ways],
            responder[back] * n_accounts + initiator[back],
        ]
    )
    return sorted_unique(pairs)


def _codes(msgs: MessageTable) -> tuple[IntArray, IntArray, IntArray, FloatArray]:
    """The three sets of distinct contact pairs and the per-account counts of ``msgs``,
    from one compiled pass over its events (ranges of conversations on worker threads,
    each with its own counts, added up)."""
    n_acc = len(msgs.accounts)
    starts = msgs.segment_starts.astype(np.int64, copy=False)
    marks = np.zeros((msgs.n_conversations, 2 * len(MARK_COLUMNS)), dtype=bool)
    parts = conversation_parts(msgs, -(-len(msgs) // worker_threads()))

    def run(first: int, stop: int) -> FloatArray:
        counts = np.zeros((n_acc, len(COUNT_COLUMNS)))
        tally_events(  # read-only views, as the table's may be: one compiled signature
            read_only(starts),
            read_only(msgs.sender_code),
            read_only(msgs.recipient_code),
            read_only(msgs.event),
            read_only(msgs.sender_age),
            read_only(msgs.recipient_age),
            read_only(msgs.channel),
            read_only(msgs.room_size),
            first,
            stop,
            counts,
            marks,  # parts write disjoint rows
        )
        return counts

    with executor_for(len(msgs)) as pool:
        counts = sum(
            (f.result() for f in [pool.submit(run, *bounds) for bounds in parts]),
            start=np.zeros((n_acc, len(COUNT_COLUMNS))),
        )
    initiator, responder = msgs.sender_code[starts], msgs.recipient_code[starts]
    contacts, minors, private_minors = (
        _distinct_pairs(initiator, responder, marks[:, 2 * j : 2 * j + 2], n_acc)
        for j in range(len(MARK_COLUMNS))
    )
    return contacts, minors, private_minors, counts


def account_tallies(msgs: MessageTable) -> FloatArray:
    """Tallies of every account of ``msgs``, shape (n_accounts, 8), rows in the order of
    ``msgs.accounts``, columns :data:`~riskscore.features.kernel.ACCOUNT_SLOTS`."""
    n_acc = len(msgs.accounts)
    contacts, minors, private_minors, counts = _codes(msgs)
    out = np.empty((n_acc, N_ACCOUNT_SLOTS))
    for j, pairs in enumerate((contacts, minors, private_minors)):
        out[:, j] = np.bincount(pairs // max(n_acc, 1), minlength=n_acc)
    out[:, 3:] = counts
    return out


def account_parts(msgs: MessageTable) -> AccountParts:
    """The mergeable parts of the tallies of ``msgs`` (see :func:`tallies_from_parts`)."""
    n_acc = max(len(msgs.accounts), 1)
    contacts, minors, private_minors, counts = _codes(msgs)

    def as_ids(pairs: IntArray) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
        return msgs.accounts[pairs // n_acc], msgs.accounts[pairs % n_acc]

    active = counts.any(axis=1)
    return AccountParts(
        contacts=as_ids(contacts),
        minors=as_ids(minors),
        private_minors=as_ids(private_minors),
        account_id=msgs.accounts[active],
        counts=counts[active],
        pairs=pair_facts(msgs),
    )


def tallies_from_parts(parts: list[AccountParts]) -> AccountFeatures:
    """Merge the parts of several tables into the tallies of all their events together."""
    pairs = merge_pair_facts([p.pairs for p in parts])
    sets = ("contacts", "minors", "private_minors")
    # every id column of every part, coded at once (a lookup table for compact integer
    # ids; searching millions of ids in the sorted accounts was most of a large merge)
    columns = [p.account_id for p in parts]
    for name in sets:
        columns.extend(getattr(p, name)[0] for p in parts)
        columns.extend(getattr(p, name)[1] for p in parts)
    if sum(len(c) for c in columns) == 0:
        return AccountFeatures(
            account_id=np.empty(0, dtype=np.int64),
            values=np.zeros((0, N_ACCOUNT_SLOTS)),
            pairs=pairs,
        )
    account_id, codes = factorize(*columns)
    n, k = len(account_id), len(parts)
    values = np.zeros((n, N_ACCOUNT_SLOTS))
    for j in range(len(sets)):
        senders = np.concatenate(codes[k * (1 + 2 * j) : k * (2 + 2 * j)])
        recipients = np.concatenate(codes[k * (2 + 2 * j) : k * (3 + 2 * j)])
        values[:, j] = np.bincount(sorted_unique(senders * n + recipients) // n, minlength=n)
    rows = np.concatenate(codes[:k])
    counts = np.concatenate([p.counts for p in parts])
    for j in range(counts.shape[1]):  # sums in part order, as adding part by part did
        values[:, 3 + j] = np.bincount(rows, weights=counts[:, j], minlength=n)
    return AccountFeatures(account_id=account_id, values=values, pairs=pairs)
