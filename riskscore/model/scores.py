"""Scores and their reasons: what a model says about each conversation."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from riskscore.features.registry import FEATURES

__all__ = ["Reason", "ScoreTable", "is_reason_text", "reasons_type"]

FloatArray = npt.NDArray[np.float64]
_SPECS = {spec.name: spec for spec in FEATURES}


@dataclass(frozen=True, slots=True)
class Reason:
    """One feature that pushed a conversation's risk up: something present, and why it
    matters.

    Attributes
    ----------
    feature : str
        Feature name.
    value : float
        The conversation's value of that feature.
    contribution : float
        Its push on the calibrated log-odds of risk, measured against a conversation
        that shows no signal (positive raises risk).
    description : str
        What is present, in words a moderator reads.
    why : str
        Why it can signal risk (the grooming stage it traces).

    Examples
    --------
    >>> r = Reason.of("child_night_share", 0.62, 1.4)
    >>> r.description, r.value_text
    ("contact at night in the child's local time", '62 %')
    >>> r.why
    'risk assessment: contact when the child is less likely to be supervised'
    """

    feature: str
    value: float
    contribution: float
    description: str
    why: str = ""

    @classmethod
    def of(cls, feature: str, value: float, contribution: float) -> Reason:
        """A reason for a registered feature, with its description and why it matters."""
        spec = _SPECS.get(feature)
        if spec is None:
            return cls(feature, value, contribution, feature)
        return cls(feature, value, contribution, spec.description, spec.why)

    @property
    def value_text(self) -> str:
        """The value as a moderator reads it (``62 %``, ``12 years``, ``encrypted``)."""
        spec = _SPECS.get(self.feature)
        return format_value(spec.unit if spec else "", self.value)

    def __str__(self) -> str:
        text = f"{self.description}: {self.value_text} (+{self.contribution:.2f})"
        return f"{text}; {self.why}" if self.why else text


_NUMBER = r"-?(?:\d+(?:\.\d+)?(?:e[+-]\d+)?|inf)|nan"
_UNITS = "%|years|hours|days|events a day|events|messages|accounts|requests|moves|channels"
_WORDS = "unknown|yes|no|no move|public|group|direct|ephemeral|encrypted|external"
#: What :func:`format_value` writes, then `` (+contribution)``.
_VALUE_AND_PUSH = re.compile(
    rf"(?:(?:after )?(?:{_NUMBER})(?: (?:{_UNITS}))?|{_WORDS}) \(\+(?:{_NUMBER})\)"
)


def is_reason_text(text: object) -> bool:
    """Whether ``text`` is a reason in riskscore's own words: ``str(Reason.of(...))`` of a
    registered feature (its description, a value as :func:`format_value` writes it, the
    contribution, and its why). Any other text, a platform's own wording or a stored value
    changed since, may carry what a person wrote; exports quote only these.

    Examples
    --------
    >>> is_reason_text(str(Reason.of("child_night_share", 0.62, 1.4)))
    True
    >>> is_reason_text("contact at night in the child's local time: he wrote 'hi' (+1.40)")
    False
    """
    if not isinstance(text, str):
        return False
    for spec in FEATURES:
        head, tail = f"{spec.description}: ", f"; {spec.why}" if spec.why else ""
        middle = text[len(head) : len(text) - len(tail)]
        if text.startswith(head) and text.endswith(tail) and _VALUE_AND_PUSH.fullmatch(middle):
            return True
    return False


def reasons_type() -> pa.ListType:
    """The Arrow type of a scores file's ``reasons``: a list of ``{feature, value,
    contribution}`` (:meth:`ScoreTable.reasons_array`)."""
    return pa.list_(
        pa.struct(
            [("feature", pa.string()), ("value", pa.float64()), ("contribution", pa.float64())]
        )
    )


_CHANNELS = ("public", "group", "direct", "ephemeral", "encrypted", "external")


def format_value(unit: str, value: float) -> str:
    """A feature value in words, by unit."""
    if value != value:
        return "unknown"
    if unit == "years":
        return f"{value:g} years"
    if unit == "fraction":
        return f"{100 * value:.0f} %"
    if unit == "0/1":
        return "yes" if value >= 0.5 else "no"
    if unit.startswith("level"):
        level = round(value)
        return _CHANNELS[level] if 0 <= level < len(_CHANNELS) else f"{value:g}"
    if unit in ("events", "messages", "accounts", "requests", "moves", "channels"):
        return f"{value:.0f} {unit}"
    if unit == "hours":
        return f"{value:.3g} hours"
    if unit == "events/day":
        return f"{value:.3g} events a day"
    if unit == "exp(-days)":  # exp(-delay / 1 day): worded as the delay it encodes
        if not value > 0.0:
            return "no move"
        hours = -24.0 * math.log(min(value, 1.0)) + 0.0  # + 0.0: no "-0"
        return f"after {hours:.2g} hours" if hours < 48.0 else f"after {hours / 24.0:.2g} days"
    return f"{value:.3g}"  # ratios and 0-1 scores: a number


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
    adult_age : array of shape (n_conversations,)
        The older participant's age in years (NaN if unknown); with
        ``child_age`` it decides the alert policy's guards.
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
    adult_age: FloatArray
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
            out.append(Reason.of(self.feature_names[j], float(value), float(contrib)))
        return tuple(out)

    def reasons_array(self) -> pa.ListArray:
        """Each conversation's reasons as one Arrow list of ``{feature, value,
        contribution}``, strongest first (empty where nothing raised the risk, or below
        ``reasons_above``): the ``reasons`` column of every scores file."""
        present = self.reason_feature >= 0  # reasons come first in each row
        offsets = np.zeros(len(self) + 1, dtype=np.int32)
        np.cumsum(present.sum(axis=1), out=offsets[1:])
        index = self.reason_feature[present]
        items = pa.StructArray.from_arrays(
            [
                pc.take(pa.array(self.feature_names, type=pa.string()), pa.array(index)),
                pa.array(self.reason_value[present], type=pa.float64(), from_pandas=True),
                pa.array(self.reason_contribution[present], type=pa.float64()),
            ],
            fields=list(reasons_type().value_type),
        )
        return pa.ListArray.from_arrays(pa.array(offsets), items, type=reasons_type())

    def to_arrow(self) -> pa.Table:
        """The model's scores as a :class:`pyarrow.Table`, one row per conversation:
        ``conversation_id``, ``adult_id``, ``child_id``, ``child_age``, ``adult_age``,
        ``risk`` and ``reasons`` (:meth:`reasons_array`). A scores file adds the policy's
        ``tier`` and ``age_band`` (:func:`riskscore.policy.scores_table`)."""
        return pa.table(
            {
                "conversation_id": self.conversation_id,
                "adult_id": self.adult_id,
                "child_id": self.child_id,
                "child_age": self.child_age,
                "adult_age": self.adult_age,
                "risk": self.risk,
                "reasons": self.reasons_array(),
            }
        )


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
