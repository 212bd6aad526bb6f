"""Who is the child and who is the adult in each conversation (private).

A conversation is between two accounts: the initiator (sender of its first
event) and the responder. Each one's age is the last age declared for it in
the conversation. The older one is the adult; with one age known, a known
minor's counterpart is the adult and a known adult stays the adult; with no
age known, the initiator is treated as the adult (first contact is the risk
signal) and both age-known flags are 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from riskscore._segments import last_valid, spread
from riskscore.messages import MessageTable
from riskscore.schema import MINOR_AGE

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Roles:
    """Per-conversation roles, plus per-event direction."""

    initiator: IntArray  # account code, per conversation
    responder: IntArray
    initiator_age: FloatArray
    responder_age: FloatArray
    adult_is_initiator: BoolArray
    from_initiator: BoolArray  # per event

    @property
    def adult(self) -> IntArray:
        return np.where(self.adult_is_initiator, self.initiator, self.responder)

    @property
    def child(self) -> IntArray:
        return np.where(self.adult_is_initiator, self.responder, self.initiator)

    @property
    def adult_age(self) -> FloatArray:
        return np.where(self.adult_is_initiator, self.initiator_age, self.responder_age)

    @property
    def child_age(self) -> FloatArray:
        return np.where(self.adult_is_initiator, self.responder_age, self.initiator_age)

    def pick(self, per_role: FloatArray, *, adult: bool) -> FloatArray:
        """Select the adult's (or child's) column from an (n, 2) array whose column 1
        belongs to the initiator."""
        initiator_col = per_role[:, 1]
        responder_col = per_role[:, 0]
        take_initiator = self.adult_is_initiator if adult else ~self.adult_is_initiator
        return np.where(take_initiator, initiator_col, responder_col)


def adult_is_initiator(initiator_age: FloatArray, responder_age: FloatArray) -> BoolArray:
    """The role rule of the module docstring, elementwise."""
    i_known = ~np.isnan(initiator_age)
    r_known = ~np.isnan(responder_age)
    with np.errstate(invalid="ignore"):
        both = i_known & r_known & (initiator_age >= responder_age)
        only_i = i_known & ~r_known & (initiator_age >= MINOR_AGE)
        only_r = ~i_known & r_known & (responder_age < MINOR_AGE)
    neither = ~i_known & ~r_known
    return np.asarray(both | only_i | only_r | neither, dtype=bool)


def assign_roles(msgs: MessageTable) -> Roles:
    """Roles of every conversation of a table."""
    starts = msgs.segment_starts
    initiator = msgs.sender_code[starts]
    responder = msgs.recipient_code[starts]
    from_initiator = msgs.sender_code == spread(initiator, starts, len(msgs))
    age_i = np.where(from_initiator, msgs.sender_age, msgs.recipient_age)
    age_r = np.where(from_initiator, msgs.recipient_age, msgs.sender_age)
    initiator_age = last_valid(age_i, starts)
    responder_age = last_valid(age_r, starts)
    return Roles(
        initiator=initiator,
        responder=responder,
        initiator_age=initiator_age,
        responder_age=responder_age,
        adult_is_initiator=adult_is_initiator(initiator_age, responder_age),
        from_initiator=from_initiator,
    )
