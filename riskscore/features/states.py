"""Conversation states: the event kernel's state of each conversation, before the
per-account tallies turn it into features.

:func:`extract_features` needs every account's tallies before the first feature row,
because a conversation's features include its adult's fan-out over *all* events. Out of
core, those tallies are known only once every chunk was read. A conversation's state
(:data:`~riskscore.features.slots.STATE_SLOTS`) does not depend on them, so each chunk is
read and folded into states once (:func:`conversation_states`), and the features follow
from the states and the merged tallies (:func:`features_from_states`): both halves of
:func:`~riskscore.features.kernel.run_conversations`, with the same kernel, so the
features are the same floats.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from riskscore.features.accounts import AccountFeatures
from riskscore.features.kernel import finish_states, run_states
from riskscore.features.parts import kernel_events, run_parts
from riskscore.features.registry import FEATURE_NAMES
from riskscore.features.slots import N_STATE, T_FIRST, T_LAST
from riskscore.features.table import FeatureTable
from riskscore.io.messages import MessageTable

__all__ = ["ConversationStates", "conversation_states", "features_from_states"]

FloatArray = npt.NDArray[np.float64]
AnyArray = npt.NDArray[Any]


@dataclass(frozen=True, slots=True, eq=False)
class ConversationStates:
    """The kernel's state of each conversation of a table, with its ids.

    Attributes
    ----------
    conversation_id : array of shape (n,)
        Conversation ids, in the table's order.
    initiator_id, responder_id : array of shape (n,)
        Account ids of each conversation's first sender and first recipient.
    adult_is_initiator : bool array of shape (n,)
        The role rule on the whole conversation (:func:`~riskscore.features.kernel.adult_side`).
    states : float64 array of shape (n, N_STATE)
        Each conversation's state after its last event.
    """

    conversation_id: AnyArray
    initiator_id: AnyArray
    responder_id: AnyArray
    adult_is_initiator: npt.NDArray[np.bool_]
    states: FloatArray

    def __post_init__(self) -> None:
        n = len(self.conversation_id)
        if self.states.shape != (n, N_STATE) or not (
            len(self.initiator_id) == len(self.responder_id) == len(self.adult_is_initiator) == n
        ):
            raise ValueError(
                f"ConversationStates of {n} conversations need ids and roles of length {n} "
                f"and states of shape ({n}, {N_STATE}), got states {self.states.shape}"
            )

    def __len__(self) -> int:
        return len(self.conversation_id)

    def take(self, index: npt.ArrayLike) -> ConversationStates:
        """The rows at the given positions, as new states."""
        idx = np.asarray(index)
        return ConversationStates(
            conversation_id=self.conversation_id[idx],
            initiator_id=self.initiator_id[idx],
            responder_id=self.responder_id[idx],
            adult_is_initiator=self.adult_is_initiator[idx],
            states=self.states[idx],
        )

    @property
    def adult_id(self) -> AnyArray:
        """Account id of each conversation's adult."""
        return np.where(self.adult_is_initiator, self.initiator_id, self.responder_id)

    @property
    def child_id(self) -> AnyArray:
        """Account id of each conversation's child."""
        return np.where(self.adult_is_initiator, self.responder_id, self.initiator_id)


def conversation_states(msgs: MessageTable) -> ConversationStates:
    """Fold the events of every conversation of ``msgs`` into its state.

    Parameters
    ----------
    msgs : MessageTable
        Validated events (:func:`riskscore.read_messages`).

    Returns
    -------
    ConversationStates
        One row per conversation, in the order of ``msgs.conversations``.
    """
    n = msgs.n_conversations
    events = kernel_events(msgs)
    states = np.empty((n, N_STATE))
    adult_is_initiator = np.empty(n, dtype=np.bool_)

    def run(first: int, stop: int) -> None:
        run_states(events.starts, *events.columns, first, stop, states, adult_is_initiator)

    run_parts(msgs, run)
    return ConversationStates(
        conversation_id=msgs.conversations,
        initiator_id=msgs.accounts[events.initiator],
        responder_id=msgs.accounts[events.responder],
        adult_is_initiator=adult_is_initiator,
        states=states,
    )


def features_from_states(
    states: ConversationStates, account_features: AccountFeatures
) -> FeatureTable:
    """The feature table of conversations given their states and the tallies and pair
    facts of a set of events that holds theirs (not checked here: out of core, they are
    merged from every chunk of the file, or checked against all of them).

    Parameters
    ----------
    states : ConversationStates
        From :func:`conversation_states`.
    account_features : AccountFeatures
        Tallies and pair facts covering the events the states were folded from.

    Returns
    -------
    FeatureTable
        The rows :func:`riskscore.extract_features` gives for those conversations.
    """
    adult = states.adult_id
    adult_accounts = account_features.lookup(adult)
    pair_first, pair_private = account_features.pairs.lookup(
        states.initiator_id, states.responder_id
    )
    values = np.empty((len(states), len(FEATURE_NAMES)))
    finish_states(states.states, adult_accounts, pair_first, pair_private, 0, len(states), values)
    return FeatureTable(
        conversation_id=states.conversation_id,
        values=values,
        names=FEATURE_NAMES,
        adult_id=adult,
        child_id=states.child_id,
        first_event_at=states.states[:, T_FIRST].astype(np.int64),
        last_event_at=states.states[:, T_LAST].astype(np.int64),
    )
