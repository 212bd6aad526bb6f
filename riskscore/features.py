"""Feature extraction: one row of metadata features per conversation.

Batch code is vectorized numpy over the conversation segments of a sorted
:class:`~riskscore.MessageTable`; there is no Python loop over rows or
conversations. Large tables are featurized in parts of whole conversations on two
threads (see :func:`extract_features`). Feature definitions live in :mod:`riskscore.feature_specs`
and ``docs/features.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from riskscore import _conversation_features as conv_features
from riskscore._roles import assign_roles
from riskscore._sender_features import SENDER_FEATURES
from riskscore._sender_features import account_features as account_features_of
from riskscore._tables import conversation_parts, slice_conversations
from riskscore._threads import executor_for
from riskscore.exceptions import SchemaError
from riskscore.feature_specs import FEATURE_NAMES
from riskscore.io import read_messages
from riskscore.messages import MessageTable

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

__all__ = [
    "ACCOUNT_FEATURE_NAMES",
    "AccountFeatures",
    "FeatureTable",
    "extract_account_features",
    "extract_features",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True, eq=False)
class FeatureTable:
    """Features of each conversation.

    Attributes
    ----------
    conversation_id : array of shape (n_conversations,)
        Conversation ids, sorted.
    values : array of shape (n_conversations, n_features)
        Feature values (float64). NaN only where an age is unknown.
    names : tuple of str
        Feature names, in column order.
    adult_id, child_id : array of shape (n_conversations,)
        Account ids of the older and the younger participant.
    """

    conversation_id: npt.NDArray[Any]
    values: FloatArray
    names: tuple[str, ...]
    adult_id: npt.NDArray[Any]
    child_id: npt.NDArray[Any]

    def __len__(self) -> int:
        return len(self.conversation_id)

    def __repr__(self) -> str:
        return f"FeatureTable(n_conversations={len(self)}, n_features={len(self.names)})"

    def take(self, index: npt.ArrayLike) -> FeatureTable:
        """The rows at the given positions (or boolean mask), as a new table."""
        idx = np.asarray(index)
        return FeatureTable(
            conversation_id=self.conversation_id[idx],
            values=self.values[idx],
            names=self.names,
            adult_id=self.adult_id[idx],
            child_id=self.child_id[idx],
        )

    def column(self, name: str) -> FloatArray:
        """The values of one feature.

        Parameters
        ----------
        name : str
            A feature name from :attr:`names`.
        """
        try:
            return self.values[:, self.names.index(name)]
        except ValueError:
            raise KeyError(f"no feature {name!r}; features are {list(self.names)}") from None

    def to_arrow(self) -> pa.Table:
        """Ids and features as a :class:`pyarrow.Table`."""
        import pyarrow as pa

        cols: dict[str, Any] = {
            "conversation_id": self.conversation_id,
            "adult_id": self.adult_id,
            "child_id": self.child_id,
        }
        cols.update({name: self.values[:, j] for j, name in enumerate(self.names)})
        return pa.table(cols)

    def to_pandas(self) -> pd.DataFrame:
        """Ids and features as a :class:`pandas.DataFrame` (needs ``riskscore[pandas]``)."""
        frame: pd.DataFrame = self.to_arrow().to_pandas()
        return frame


@dataclass(frozen=True, slots=True, eq=False)
class AccountFeatures:
    """Per-account features (fan-out to minors and the rest), computed over a set of events.

    Attributes
    ----------
    account_id : array of shape (n_accounts,)
        Account ids, sorted and unique.
    values : array of shape (n_accounts, 4)
        Columns as :data:`ACCOUNT_FEATURE_NAMES`.
    """

    account_id: npt.NDArray[Any]
    values: FloatArray

    def lookup(self, ids: npt.NDArray[Any]) -> FloatArray:
        """Rows for the given account ids; accounts not present get zeros (no activity)."""
        out = np.zeros((len(ids), self.values.shape[1]))
        if len(self.account_id) == 0 or len(ids) == 0:
            return out
        pos = np.clip(np.searchsorted(self.account_id, ids), 0, len(self.account_id) - 1)
        found = self.account_id[pos] == ids
        out[found] = self.values[pos[found]]
        return out


ACCOUNT_FEATURE_NAMES = SENDER_FEATURES


#: Events per part. The per-conversation features of a large table are computed part by
#: part, on two threads (numpy releases the GIL in its loops): each part's temporaries
#: stay small enough for the CPU caches and for the allocator to reuse, where arrays the
#: size of the whole table are fresh pages from the kernel on every call.
_PART_EVENTS = 125_000


def extract_account_features(messages: object) -> AccountFeatures:
    """Per-account features over all the given events.

    Compute them over *all* of a platform's events once (or with a distributed
    aggregation) and pass them to :func:`extract_features` when scoring a part
    of the events, so that an adult's fan-out counts every conversation.
    """
    msgs = read_messages(messages)
    return AccountFeatures(account_id=msgs.accounts, values=account_features_of(msgs))


def extract_features(
    messages: object, *, account_features: AccountFeatures | None = None
) -> FeatureTable:
    """Compute the metadata features of every conversation.

    Parameters
    ----------
    messages : MessageTable or anything :func:`riskscore.read_messages` reads
        The events to featurize.
    account_features : AccountFeatures, optional
        Per-account features computed over a larger set of events (see
        :func:`extract_account_features`); by default they are computed from
        ``messages`` alone.

    Returns
    -------
    FeatureTable
        One row per conversation, columns as :data:`riskscore.feature_specs.FEATURES`.

    Notes
    -----
    A table of 100,000 events or more is featurized in parts of about 125,000 events
    (whole conversations) on two threads, with the per-account features as one more
    task; numpy releases the GIL in its loops. The result is the same bit for bit as in
    one pass, and the small temporaries of a part stay in cache.

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
    msgs = read_messages(messages)
    n = msgs.n_conversations
    if n == 0:
        raise SchemaError("no events to featurize: the message table is empty")
    values = np.empty((n, len(FEATURE_NAMES)))
    adult = np.empty(n, dtype=np.int64)
    child = np.empty(n, dtype=np.int64)

    def featurize_part(start: int, stop: int) -> None:
        # Parts write disjoint rows of the shared outputs, so they need no lock.
        part = msgs if (start, stop) == (0, n) else slice_conversations(msgs, start, stop)
        columns, adult[start:stop], child[start:stop] = _conversation_columns(part)
        for j, name in enumerate(FEATURE_NAMES):
            if name in columns:
                values[start:stop, j] = columns[name]

    # Small tables stay on one thread, where starting one would cost more than it saves.
    with executor_for(len(msgs)) as pool:
        per_account = (
            None if account_features is not None else pool.submit(account_features_of, msgs)
        )
        parts = [
            pool.submit(featurize_part, *bounds)
            for bounds in conversation_parts(msgs, _PART_EVENTS)
        ]
        for part in parts:
            part.result()
        if account_features is not None:
            adult_values = account_features.lookup(msgs.accounts[adult])
        elif per_account is not None:
            adult_values = per_account.result()[adult]
    for j, name in enumerate(SENDER_FEATURES):
        values[:, FEATURE_NAMES.index(name)] = adult_values[:, j]
    return FeatureTable(
        conversation_id=msgs.conversations,
        values=values,
        names=FEATURE_NAMES,
        adult_id=msgs.accounts[adult],
        child_id=msgs.accounts[child],
    )


def _conversation_columns(msgs: MessageTable) -> tuple[dict[str, FloatArray], IntArray, IntArray]:
    """Every feature but the per-account ones, and each conversation's adult and child
    (account codes)."""
    roles = assign_roles(msgs)
    columns: dict[str, FloatArray] = {}
    columns.update(conv_features.age_features(roles))
    columns.update(conv_features.contact_features(msgs, roles))
    columns.update(conv_features.night_features(msgs, roles))
    columns.update(conv_features.channel_features(msgs, roles))
    columns.update(conv_features.escalation_features(msgs))
    return columns, roles.adult, roles.child
