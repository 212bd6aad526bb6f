"""Scores and their reasons: what a model says about each conversation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from riskscore.feature_specs import FEATURES

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["Reason", "ScoreTable"]

FloatArray = npt.NDArray[np.float64]
_DESCRIPTIONS = {spec.name: spec.description for spec in FEATURES}


@dataclass(frozen=True, slots=True)
class Reason:
    """One feature that pushed a conversation's risk up.

    Attributes
    ----------
    feature : str
        Feature name.
    value : float
        The conversation's value of that feature (NaN when unknown).
    contribution : float
        Its push on the calibrated log-odds of risk (positive raises risk).
    description : str
        What the feature means, in words a moderator reads.
    """

    feature: str
    value: float
    contribution: float
    description: str

    def __str__(self) -> str:
        return f"{self.description} = {self.value:.3g} (+{self.contribution:.2f})"


@dataclass(frozen=True, slots=True, eq=False)
class ScoreTable:
    """Calibrated risk and reasons for each conversation.

    Attributes
    ----------
    conversation_id : array of shape (n_conversations,)
        Conversation ids.
    risk : array of shape (n_conversations,)
        Calibrated probability that the conversation is grooming.
    adult_id, child_id : array of shape (n_conversations,)
        The older and the younger participant.
    child_age : array of shape (n_conversations,)
        The younger participant's age in years (NaN if unknown).
    feature_names : tuple of str
        Feature names, indexing ``reason_feature``.
    reason_feature : array of shape (n_conversations, k)
        Index of each of the top-k features that raised risk, strongest first;
        -1 where fewer than k raised it.
    reason_value, reason_contribution : array of shape (n_conversations, k)
        Their values and log-odds contributions (NaN where index is -1).
    """

    conversation_id: npt.NDArray[Any]
    risk: FloatArray
    adult_id: npt.NDArray[Any]
    child_id: npt.NDArray[Any]
    child_age: FloatArray
    feature_names: tuple[str, ...]
    reason_feature: npt.NDArray[np.int64]
    reason_value: FloatArray
    reason_contribution: FloatArray

    def __len__(self) -> int:
        return len(self.conversation_id)

    def __repr__(self) -> str:
        return f"ScoreTable(n_conversations={len(self)})"

    def reasons(self, i: int) -> tuple[Reason, ...]:
        """The reasons of the conversation at position ``i``, strongest first."""
        out = []
        for j, value, contrib in zip(
            self.reason_feature[i], self.reason_value[i], self.reason_contribution[i], strict=True
        ):
            if j < 0:
                break
            name = self.feature_names[j]
            out.append(Reason(name, float(value), float(contrib), _DESCRIPTIONS.get(name, name)))
        return tuple(out)

    def to_arrow(self) -> pa.Table:
        """Scores as a flat :class:`pyarrow.Table` (one row per conversation, reasons as
        ``reason_1 .. reason_k`` names and ``reason_k_contribution`` columns)."""
        import pyarrow as pa

        names = np.asarray((*self.feature_names, ""), dtype=object)
        cols: dict[str, Any] = {
            "conversation_id": self.conversation_id,
            "risk": self.risk,
            "adult_id": self.adult_id,
            "child_id": self.child_id,
            "child_age": self.child_age,
        }
        for r in range(self.reason_feature.shape[1]):
            cols[f"reason_{r + 1}"] = names[self.reason_feature[:, r]]
            cols[f"reason_{r + 1}_contribution"] = self.reason_contribution[:, r]
        return pa.table(cols)


def top_reasons(
    contributions: FloatArray, values: FloatArray, k: int
) -> tuple[npt.NDArray[np.int64], FloatArray, FloatArray]:
    """Top-k positive contributions per row, vectorized: (index, value, contribution)."""
    k = min(k, contributions.shape[1])
    part = np.argpartition(-contributions, k - 1, axis=1)[:, :k]
    part_contrib = np.take_along_axis(contributions, part, axis=1)
    order = np.argsort(-part_contrib, axis=1, kind="stable")
    idx = np.take_along_axis(part, order, axis=1).astype(np.int64)
    contrib = np.take_along_axis(contributions, idx, axis=1)
    value = np.take_along_axis(values, idx, axis=1)
    positive = contrib > 0
    return (
        np.where(positive, idx, -1),
        np.where(positive, value, np.nan),
        np.where(positive, contrib, np.nan),
    )
