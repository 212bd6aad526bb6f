"""Scores and their reasons: what a model says about each conversation."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from riskscore.features.registry import FEATURE_SPECS, FEATURES
from riskscore.io.given_ids import holds_integer_text, mark_integer_text
from riskscore.io.schema import CHANNEL_NAMES, channel_at_level
from riskscore.model.values import format_value

__all__ = [
    "ASSUMED_ROLES",
    "MIN_REASON_PUSH",
    "NO_REASONS",
    "ROLES_ASSUMED",
    "Reason",
    "ScoreTable",
    "ages_tell_roles",
    "is_reason_text",
    "reason_feature",
    "reason_texts",
    "reasons_type",
    "value_and_push",
]

FloatArray = npt.NDArray[np.float64]
#: Before a reason's ``why`` in its text: what the pattern can signal, never a finding.
WHY_PREFIX = "Why it can matter: "
#: After a description that names the older or the younger participant (or account), or the
#: child (its local time), when the declared ages do not say which is older (one or none
#: declared, or two equal): the role rule then took the roles from the one age or from signs
#: of approach, a guess never stated as a fact (``docs/features.md``, role rule).
ASSUMED_ROLES = " (who is older is assumed: the declared ages do not tell)"
#: :data:`ASSUMED_ROLES` without its parentheses: what a header adds after the younger
#: account's age when the declared ages do not tell (``child k (age unknown; who is older
#: is assumed: the declared ages do not tell)``).
ROLES_ASSUMED = ASSUMED_ROLES.strip()[1:-1]
#: The least push (log-odds) a reason is named for: one its text shows as at least +0.01.
#: A push written "+0.00" says nothing a moderator can weigh.
MIN_REASON_PUSH = 0.005


def ages_tell_roles(child_age: float | None, adult_age: float | None) -> bool:
    """Whether the declared ages say which participant is older: both declared, the adult's
    the greater (else the older and younger roles are assumed, :data:`ASSUMED_ROLES`).

    Examples
    --------
    >>> nan = float("nan")
    >>> ages_tell_roles(12.0, 35.0), ages_tell_roles(12.0, nan), ages_tell_roles(14.0, 14.0)
    (True, False, False)
    """
    if child_age is None or adult_age is None:
        return False
    return bool(adult_age > child_age)  # False when either is NaN


def _names_a_role(description: str) -> bool:
    """Whether a description names a role: the older or the younger participant or account,
    or the child (``in the child's local time``: the younger participant's clock)."""
    return any(role in description for role in ("older ", "younger ", "the child"))


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
        Why it can signal risk (the grooming stage it traces); the text of a reason
        (``str(reason)``, the one wording every view shows) puts it after
        :data:`WHY_PREFIX`.

    Examples
    --------
    >>> from riskscore import Reason
    >>> r = Reason.of("child_night_share", 0.62, 1.4)
    >>> r.description, r.value_text
    ("share of contact at night in the child's local time", 'at least 62 %')
    >>> for part in str(r).split(". "): print(part)
    share of contact at night in the child's local time: at least 62 % (raises risk, +1.40)
    Why it can matter: risk assessment: contact when the child is less likely to be supervised
    """

    feature: str
    value: float
    contribution: float
    description: str
    why: str = ""

    @classmethod
    def of(
        cls, feature: str, value: float, contribution: float, *, ages_tell: bool = True
    ) -> Reason:
        """A reason for a registered feature, with its description and why it matters;
        with ``ages_tell`` False (:func:`ages_tell_roles` of the conversation's ages), a
        description naming the older or the younger participant (or the child) says it is
        assumed (:data:`ASSUMED_ROLES`)."""
        spec = FEATURE_SPECS.get(feature)
        if spec is None:
            return cls(feature, value, contribution, feature)
        description = spec.description
        if not ages_tell and _names_a_role(description):
            description += ASSUMED_ROLES
        return cls(feature, value, contribution, description, spec.why)

    @property
    def value_text(self) -> str:
        """The value as a moderator reads it (``62 %``, ``12 years``, ``encrypted``)."""
        spec = FEATURE_SPECS.get(self.feature)
        return format_value(spec.unit if spec else "", self.value)

    @property
    def strength(self) -> str:
        """How much it pushed the risk, in words (:func:`strength_text`)."""
        return strength_text(self.contribution)

    def __str__(self) -> str:
        push = f"{self.strength}, +{self.contribution:.2f}"
        text = f"{self.description}: {self.value_text} ({push})"
        return f"{text}. {WHY_PREFIX}{self.why}" if self.why else text


#: A reason's push on the log-odds of risk at or above which it "strongly raises risk" (its
#: share of the push a factor of more than 7 on the odds of risk), and "raises risk" (more
#: than 2.7); under 1, it "slightly raises risk".
STRONG_PUSH, CLEAR_PUSH = 2.0, 1.0
#: The strength words, strongest first: the one vocabulary of reason texts.
_STRENGTHS = ("strongly raises risk", "raises risk", "slightly raises risk")


def strength_text(contribution: float) -> str:
    """A reason's push on the log-odds of risk in words a moderator reads without the
    docs: ``strongly raises risk`` from :data:`STRONG_PUSH`, ``raises risk`` from
    :data:`CLEAR_PUSH`, ``slightly raises risk`` below (the number follows it in a reason's
    text, for whoever audits the model).

    The push is judged as the text shows it, to two decimals: ``+2.00`` (from 1.995)
    strongly raises risk, as the docs' "from +2" reads, never "raises risk" beside it.

    Examples
    --------
    >>> strength_text(2.99), strength_text(1.2), strength_text(0.4)
    ('strongly raises risk', 'raises risk', 'slightly raises risk')
    >>> strength_text(1.996), strength_text(0.9951)
    ('strongly raises risk', 'raises risk')
    """
    return _strength(float(f"{contribution:.2f}"))  # the push as a reason's text writes it


def _strength(push: float) -> str:
    """The strength words of ``push`` against the thresholds, unrounded."""
    if push >= STRONG_PUSH:
        return _STRENGTHS[0]
    return _STRENGTHS[1] if push >= CLEAR_PUSH else _STRENGTHS[2]


#: What an alert with no reason shows in their place (a policy whose review threshold is at
#: or below the risk of a conversation with no signal alerts on such conversations).
NO_REASONS = (
    "no reason shown: no metadata pattern raised this conversation's risk above that of a "
    "conversation with no signal"
)


def reason_texts(reasons: Sequence[Reason]) -> tuple[str, ...]:
    """The texts a moderator reads for a conversation's reasons, strongest first: the one
    wording of the review queue, its console, the exports, ``riskscore score``'s text and
    the Synapse module's notices; :data:`NO_REASONS` alone when there is none.

    Examples
    --------
    >>> reason_texts([Reason.of("adult_sent_request", 1.0, 0.5)])[0].split(". ")[0]
    'the older participant sent a contact request: yes (slightly raises risk, +0.50)'
    >>> reason_texts([]) == (NO_REASONS,)
    True
    """
    return tuple(str(r) for r in reasons) or (NO_REASONS,)


#: A number as :func:`format_value` writes it (thousands grouped by commas, as
#: :func:`riskscore._words.number_text` writes them since; plain digits as before).
_NUMBER = r"-?(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:e[+-]\d+)?|inf)|nan"
_UNITS = (
    "%|years?|minutes?|hours?|days?|events? a day|events?|messages?|accounts?|minors?|requests?"
    "|moves?|channels?|times|per minor contacted|links? or handles?|blocks? or reports?"
)
_WORDS = "|".join(
    (
        "unknown",
        "yes",
        "no",
        "no move",
        "the same rate",
        "within the first minute(?: of contact)?",
        "under a minute(?: of contact)?",
        *CHANNEL_NAMES,
    )
)
#: What :func:`format_value` writes (a bare number, a delay with or without "after ... of
#: contact", or a share of evidence without "at least", as it wrote them before), then
#: `` (strength, +contribution)`` (`` (+contribution)`` as stored before the strength was
#: worded).
_VALUE_AND_PUSH = re.compile(
    rf"(?:(?:(?:after|under|over|at least|at most) )?(?:{_NUMBER})(?: (?:{_UNITS}))?"
    rf"(?: of contact)?|{_WORDS})"
    rf" \((?:(?P<strength>{'|'.join(_STRENGTHS)}), )?\+(?P<push>{_NUMBER})\)"
)


def _strength_words_of(push: str) -> tuple[str, str]:
    """The strength words riskscore writes beside a push shown as ``push`` (``1.40``):
    :func:`strength_text` of it, and the word it wrote before the words judged the push as
    shown (the unrounded push: ``raises risk, +2.00`` from 1.996), a weaker word at
    ``+2.00`` and ``+1.00`` only."""
    shown = float(push.replace(",", ""))
    return _strength(shown), _strength(shown - 0.005)


def is_reason_text(text: object) -> bool:
    """Whether ``text`` is a reason in riskscore's own words: ``str(Reason.of(...))`` of a
    registered feature (its description, a value as :func:`format_value` writes it, the
    contribution, and its why), or :data:`NO_REASONS`. Any other text, a platform's own
    wording or a stored value changed since, may carry what a person wrote; exports quote
    only these.

    Examples
    --------
    >>> is_reason_text(str(Reason.of("child_night_share", 0.62, 1.4)))
    True
    >>> is_reason_text("share of contact at night in the child's local time: he said (+1.40)")
    False
    >>> is_reason_text(str(Reason.of("recent_rate_per_day", 1234.4, 0.5)))
    True
    """
    if not isinstance(text, str):
        return False
    if text == NO_REASONS:
        return True
    return any(
        value_and_push(text, description, spec.why)
        for spec in FEATURES
        for description in _descriptions(spec.description)
    )


def reason_feature(text: str) -> str | None:
    """The feature a reason's text is of (its description, with :data:`ASSUMED_ROLES` or
    not, before ``": "``), in the current wording or an earlier one; None for other text.

    Examples
    --------
    >>> reason_feature(str(Reason.of("child_age", 13.0, 1.2)))
    'child_age'
    >>> reason_feature("a platform's own note") is None
    True
    """
    return next(
        (
            spec.name
            for spec in FEATURES
            for description in _descriptions(spec.description)
            if text.startswith(f"{description}: ")
        ),
        None,
    )


def _descriptions(description: str) -> tuple[str, ...]:
    """A feature's description as a reason may write it: as it is, and when it names a
    role, with :data:`ASSUMED_ROLES` too."""
    return (
        (description, description + ASSUMED_ROLES) if _names_a_role(description) else (description,)
    )


def value_and_push(text: str, description: str, why: str) -> str | None:
    """The ``value (strength, +contribution)`` of ``text`` when it is a reason in the
    current wording with this description and why (``description: value (strength,
    +contribution). Why it can matter: why``), else None: the one grammar of a reason's
    text, also for the whys a queue stored before they were re-worded
    (:mod:`riskscore.moderation.earlier_reasons`) and for texts stored before the strength
    was worded (``value (+contribution)``).

    Examples
    --------
    >>> value_and_push("the most private channel reached: encrypted (raises risk, +1.50)",
    ...     "the most private channel reached", "")
    'encrypted (raises risk, +1.50)'
    >>> value_and_push("the most private channel reached: encrypted (+1.50)", "the most "
    ...     "private channel reached", "")
    'encrypted (+1.50)'
    >>> value_and_push("the most private channel reached: he said (+1.50)", "the most "
    ...     "private channel reached", "") is None
    True
    >>> value_and_push("the most private channel reached: encrypted (strongly raises risk, "
    ...     "+0.50)", "the most private channel reached", "") is None
    True
    """
    head, tail = f"{description}: ", f". {WHY_PREFIX}{why}" if why else ""
    middle = text[len(head) : len(text) - len(tail)]
    if not (text.startswith(head) and text.endswith(tail)):
        return None
    found = _VALUE_AND_PUSH.fullmatch(middle)
    if found is None:
        return None
    # a strength riskscore never writes beside this push ("strongly" by +0.50) is not its
    strength = found["strength"]
    return middle if strength is None or strength in _strength_words_of(found["push"]) else None


def reasons_type() -> pa.ListType:
    """The Arrow type of a scores file's ``reasons``: a list of ``{feature, value,
    contribution}`` (:meth:`ScoreTable.reasons_array`)."""
    return pa.list_(
        pa.struct(
            [("feature", pa.string()), ("value", pa.float64()), ("contribution", pa.float64())]
        )
    )


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
    first_event_at, last_event_at : int64 array of shape (n_conversations,) or None
        Epoch seconds of each conversation's first and latest event, from the feature
        table scored (None when it had none).
    max_channel : array of shape (n_conversations,) or None
        Level of the most private channel each conversation reached (the ``max_channel``
        feature: NaN when not known), from the feature table scored (None when it had none).
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
    first_event_at: npt.NDArray[np.int64] | None = None
    last_event_at: npt.NDArray[np.int64] | None = None
    max_channel: FloatArray | None = None

    def __len__(self) -> int:
        return len(self.conversation_id)

    def __repr__(self) -> str:
        return f"ScoreTable(n_conversations={len(self)})"

    def event_times(self, i: int) -> tuple[int | None, int | None]:
        """The first and latest event time of the conversation at position ``i`` (epoch
        seconds; None when the table has none)."""
        first, last = self.first_event_at, self.last_event_at
        return (
            None if first is None else int(first[i]),
            None if last is None else int(last[i]),
        )

    def channel(self, i: int) -> str | None:
        """The most private channel the conversation at position ``i`` reached (schema v1
        name; None when not known, or the table has none)."""
        return None if self.max_channel is None else channel_at_level(self.max_channel[i])

    def reasons(self, i: int) -> tuple[Reason, ...]:
        """The reasons of the conversation at position ``i``, strongest first."""
        out = []
        ages_tell = ages_tell_roles(float(self.child_age[i]), float(self.adult_age[i]))
        for j, value, contrib in zip(
            self.reason_feature[i], self.reason_value[i], self.reason_contribution[i], strict=True
        ):
            if j < 0:
                break
            name = self.feature_names[j]
            out.append(Reason.of(name, float(value), float(contrib), ages_tell=ages_tell))
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
        ``tier`` and ``age_band`` (:func:`riskscore.policy.scores_table`). Integer
        conversation ids held as decimal text (beside the pair ids of group rooms, or
        beyond int64) are text marked as integers
        (:func:`riskscore.io.given_ids.mark_integer_text`), read back as given."""
        table = pa.table(
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
        integers = ("conversation_id",) if holds_integer_text(self.conversation_id) else ()
        return mark_integer_text(table, integers)


def top_reasons(
    contributions: FloatArray, values: FloatArray, k: int
) -> tuple[npt.NDArray[np.int64], FloatArray, FloatArray]:
    """Top-k contributions of at least :data:`MIN_REASON_PUSH` per row, vectorized:
    (index, value, contribution). Equal contributions come in feature order, as online
    (:meth:`riskscore.online.risk.OnlineModel.reasons`): a stable sort of each row."""
    k = min(k, contributions.shape[1])
    # The k largest of a row, in feature order: a partition picks any of the values equal
    # to the k-th largest, so a row where more than k reach it is sorted whole, unless the
    # k-th is below MIN_REASON_PUSH (those reasons are dropped, whichever were picked: rows
    # of many zero contributions sorted whole made it 3.5 times slower).
    part = np.sort(np.argpartition(-contributions, k - 1, axis=1)[:, :k], axis=1)
    part_contrib = np.take_along_axis(contributions, part, axis=1)
    kth = part_contrib.min(axis=1, keepdims=True)
    tied = (kth[:, 0] >= MIN_REASON_PUSH) & ((contributions >= kth).sum(axis=1) > k)
    if tied.any():
        part[tied] = np.argsort(-contributions[tied], axis=1, kind="stable")[:, :k]
        part_contrib[tied] = np.take_along_axis(contributions[tied], part[tied], axis=1)
    order = np.argsort(-part_contrib, axis=1, kind="stable")
    idx = np.take_along_axis(part, order, axis=1).astype(np.int64)
    contrib = np.take_along_axis(contributions, idx, axis=1)
    value = np.take_along_axis(values, idx, axis=1)
    positive = contrib >= MIN_REASON_PUSH
    return (
        np.where(positive, idx, -1),
        np.where(positive, value, np.nan),
        np.where(positive, contrib, np.nan),
    )
