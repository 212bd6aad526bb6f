"""Batch extraction: the event kernel over every conversation of a table.

The events of a :class:`~riskscore.MessageTable` are sorted by conversation, then
time; :func:`extract_features` runs :func:`~riskscore.features.kernel.run_conversations`
over them in one compiled call per part (parts of whole conversations, on worker
threads for large tables: the kernel releases the GIL), after the per-account tallies
(:mod:`riskscore.features.accounts`), which are vectorized numpy over the table.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from riskscore.exceptions import SchemaError
from riskscore.features.accounts import AccountFeatures, account_tallies
from riskscore.features.kernel import run_conversations
from riskscore.features.pairs import pair_facts, pair_facts_by_conversation
from riskscore.features.parts import kernel_events, run_parts
from riskscore.features.registry import FEATURE_NAMES
from riskscore.features.table import FeatureTable
from riskscore.io import MessageTable, read_messages
from riskscore.io.groups import DEFAULT_MAX_ROOM_MEMBERS, broadcast_only_problem
from riskscore.io.raw import show

__all__ = [
    "extract_account_features",
    "extract_features",
    "given_account_features",
    "no_conversations_error",
    "read_room_limit",
]

FloatArray = npt.NDArray[np.float64]


def no_conversations_error(n_broadcast: int, max_room_members: int | None) -> SchemaError:
    """The error of :func:`extract_features` on events that leave no conversation: none at
    all, or ``n_broadcast`` rows that are all broadcasts, set aside (``max_room_members``
    the limit they were read with; None when not known).

    Examples
    --------
    >>> print(no_conversations_error(0, 20))
    no events to featurize: the message table is empty
    >>> print(no_conversations_error(1, 20))
    no events to featurize: its one row is a broadcast (a room of more than 20 accounts), set aside
    """
    return SchemaError(
        "no events to featurize: "
        + (
            broadcast_only_problem(n_broadcast, max_room_members)
            if n_broadcast
            else "the message table is empty"
        )
    )


def read_room_limit(events: object, max_room_members: int) -> int | None:
    """The broadcast limit ``events`` are read with, as account tallies record it:
    ``max_room_members`` for a file or table read here; None for a
    :class:`~riskscore.MessageTable`, read before with a limit it does not record."""
    return None if isinstance(events, MessageTable) else max_room_members


def given_account_features(
    account_features: object, max_room_members: int | None
) -> AccountFeatures | None:
    """``account_features`` checked to be :class:`AccountFeatures` (or None) counted with
    the broadcast limit ``max_room_members`` (not checked when None), before any event
    is read.

    Raises
    ------
    TypeError
        Anything else than AccountFeatures or None (a path: read it first).
    SchemaError
        Tallies counted with another ``max_room_members``
        (:meth:`AccountFeatures.check_room_limit`).
    """
    if account_features is None:
        return None
    if not isinstance(account_features, AccountFeatures):  # a path: the CLI's --accounts
        raise TypeError(
            "account_features must be the AccountFeatures of rs.extract_account_features or "
            f"rs.read_account_features(path), got {type(account_features).__name__} "
            f"{show(account_features)}"
        )
    if max_room_members is not None:
        account_features.check_room_limit(max_room_members)
    return account_features


def extract_account_features(messages: object) -> AccountFeatures:
    """Per-account tallies over all the given events.

    Compute them over *all* of a platform's events once (or with a distributed
    aggregation) and pass them to :func:`extract_features` when scoring a part of the
    events, so that an adult's fan-out counts every conversation.

    Parameters
    ----------
    messages : MessageTable or anything :func:`riskscore.read_messages` reads
        The events.

    Returns
    -------
    AccountFeatures
        With the time range of the events counted (``history_start``,
        ``history_end``) and their number, so that scoring events outside that
        range is refused.

    Examples
    --------
    >>> import riskscore as rs
    >>> data = rs.synthetic.generate(400, prevalence=0.05, seed=3)
    >>> history = rs.extract_account_features(data.messages)
    >>> history.n_events == len(data.messages), history.values.shape[1]
    (True, 8)
    >>> part = data.messages.take_conversations(range(0, 400, 2))
    >>> X = rs.extract_features(part, account_features=history)  # full-history fan-out
    """
    msgs = read_messages(messages)
    if len(msgs) == 0:
        raise SchemaError("no events to count: the message table is empty")
    return AccountFeatures(
        account_id=msgs.accounts,
        values=account_tallies(msgs),
        history_start=int(msgs.timestamp.min()),
        history_end=int(msgs.timestamp.max()),
        n_events=len(msgs),
        pairs=pair_facts(msgs),
        decimal_ids=msgs.decimal_ids,
        max_room_members=read_room_limit(messages, DEFAULT_MAX_ROOM_MEMBERS),
    )


def extract_features(
    messages: object, *, account_features: AccountFeatures | None = None
) -> FeatureTable:
    """Compute the metadata features of every conversation.

    Parameters
    ----------
    messages : MessageTable or anything :func:`riskscore.read_messages` reads
        The events to featurize.
    account_features : AccountFeatures, optional
        Per-account tallies and pair facts computed over a larger set of events that
        holds ``messages`` (see :func:`extract_account_features`); by default they are
        computed from ``messages`` alone, which understates them for a part of a
        platform's events.

    Returns
    -------
    FeatureTable
        One row per conversation, columns as :data:`riskscore.FEATURE_NAMES`.

    Raises
    ------
    SchemaError
        ``account_features`` do not count every event of ``messages`` (another or an
        older history; see :meth:`AccountFeatures.covering`).
    TypeError
        ``account_features`` is not an :class:`AccountFeatures` (a file's path, say).

    Notes
    -----
    Every feature is defined once, by the event kernel
    (:mod:`riskscore.features.kernel`): the state a conversation keeps and how one
    event updates it. This function loops that update over the sorted events in
    compiled code; :class:`riskscore.OnlineScorer` calls it once per event, so online
    and batch features agree.

    Examples
    --------
    >>> import riskscore as rs
    >>> msgs = rs.read_messages({
    ...     "conversation_id": [7, 7, 7],
    ...     "timestamp": [1_700_000_000, 1_700_000_600, 1_700_001_200],
    ...     "sender_id": [1, 2, 1], "recipient_id": [2, 1, 2],
    ...     "sender_age": [41, 12, 41], "recipient_age": [12, 41, 12],
    ...     "channel": ["public", "direct", "encrypted"],
    ... })
    >>> X = rs.extract_features(msgs)
    >>> X.values.shape == (1, len(X.names))
    True
    >>> float(X.column("age_gap")[0]), float(X.column("upward_channel_moves")[0])
    (29.0, 2.0)
    """
    account_features = given_account_features(
        account_features, read_room_limit(messages, DEFAULT_MAX_ROOM_MEMBERS)
    )
    msgs = read_messages(messages)
    if msgs.n_conversations == 0:
        raise no_conversations_error(
            msgs.groups.n_broadcast, read_room_limit(messages, DEFAULT_MAX_ROOM_MEMBERS)
        )
    if account_features is None:
        return _features(msgs, account_tallies(msgs), *pair_facts_by_conversation(msgs))
    # ids of the events' kind (integers beyond int64 held as decimal text join integers)
    account_features = account_features.for_ids(msgs.accounts, decimal_ids=msgs.decimal_ids)
    tallies = account_features.covering(msgs)  # refuses tallies that miss these events
    return _features(msgs, tallies, *_pair_lookup(msgs, account_features))


def _pair_lookup(
    msgs: MessageTable, account_features: AccountFeatures
) -> tuple[FloatArray, FloatArray]:
    """``pair_first`` and ``pair_private`` of each conversation from the pair facts."""
    starts = msgs.segment_starts
    return account_features.pairs.lookup(
        msgs.accounts[msgs.sender_code[starts]], msgs.accounts[msgs.recipient_code[starts]]
    )


def _features(
    msgs: MessageTable, tallies: FloatArray, pair_first: FloatArray, pair_private: FloatArray
) -> FeatureTable:
    """The event kernel over every conversation of ``msgs``, with the tallies of its
    accounts (rows of ``msgs.accounts``) and its conversations' pair facts."""
    n = msgs.n_conversations
    events = kernel_events(msgs)
    values = np.empty((n, len(FEATURE_NAMES)))
    adult = np.empty(n, dtype=np.int64)

    def run(first: int, stop: int) -> None:
        run_conversations(
            events.starts, *events.columns, events.initiator, events.responder,
            tallies, pair_first, pair_private, first, stop, values, adult,
        )  # fmt: skip

    run_parts(msgs, run)
    initiator, responder = events.initiator, events.responder
    child = np.where(adult == initiator, responder, initiator)
    return FeatureTable(
        conversation_id=msgs.conversations,
        values=values,
        names=FEATURE_NAMES,
        adult_id=msgs.accounts[adult],
        child_id=msgs.accounts[child],
        first_event_at=msgs.timestamp[msgs.segment_starts].astype(np.int64),
        last_event_at=msgs.timestamp[msgs.segment_ends - 1].astype(np.int64),
    )
