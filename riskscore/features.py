"""Feature extraction: one row of metadata features per conversation.

Batch code is vectorized numpy over the conversation segments of a sorted
:class:`~riskscore.MessageTable`; there is no Python loop over rows or
conversations. Feature definitions live in :mod:`riskscore.feature_specs`
and ``docs/features.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import numpy.typing as npt

from riskscore import _conversation_features as conv_features
from riskscore._roles import assign_roles
from riskscore._sender_features import SENDER_FEATURES
from riskscore._sender_features import account_features as account_features_of
from riskscore.exceptions import SchemaError
from riskscore.feature_specs import FEATURE_NAMES
from riskscore.io import read_messages

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
T = TypeVar("T")


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


#: Tables with fewer events are featurized on the calling thread only.
_THREAD_MIN_EVENTS = 100_000


class _Inline:
    """A stand-in for an executor that runs each task at once on the calling thread."""

    def __enter__(self) -> _Inline:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def submit(self, fn: Callable[..., T], /, *args: Any) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args))
        except BaseException as exc:  # handed back by .result(), as an executor does
            future.set_exception(exc)
        return future


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
    # numpy releases the GIL in its loops: a second thread takes the per-account and
    # escalation features while this one computes the rest (same functions, same values).
    # Small tables stay on one thread, where starting one would cost more than it saves.
    with (
        ThreadPoolExecutor(max_workers=1) if len(msgs) >= _THREAD_MIN_EVENTS else _Inline() as pool
    ):
        per_account = (
            None if account_features is not None else pool.submit(account_features_of, msgs)
        )
        escalation = pool.submit(conv_features.escalation_features, msgs)
        roles = assign_roles(msgs)
        columns: dict[str, FloatArray] = {}
        columns.update(conv_features.age_features(roles))
        columns.update(conv_features.contact_features(msgs, roles))
        columns.update(conv_features.night_features(msgs, roles))
        columns.update(conv_features.channel_features(msgs, roles))
        columns.update(escalation.result())
        adult = roles.adult
        if account_features is not None:
            adult_values = account_features.lookup(msgs.accounts[adult])
        elif per_account is not None:
            adult_values = per_account.result()[adult]
    for j, name in enumerate(SENDER_FEATURES):
        columns[name] = adult_values[:, j]
    values = np.column_stack([columns[name] for name in FEATURE_NAMES]).astype(np.float64)
    return FeatureTable(
        conversation_id=msgs.conversations,
        values=values,
        names=FEATURE_NAMES,
        adult_id=msgs.accounts[adult],
        child_id=msgs.accounts[roles.child],
    )
