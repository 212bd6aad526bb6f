"""Seeded synthetic conversations with ground-truth grooming labels (metadata only).

:func:`generate` draws a platform of accounts and two-party conversations from a
mixture of scenarios: grooming (fast, slow-burn and refused approaches) and
benign look-alikes (family, teacher or coach, adult romance, teenage peers,
ordinary adult contact), each of which resembles grooming in some signal. No
real data and no message text are used or produced. The generative model,
its parameters and the definition of ``onset_index`` are in
``docs/synthetic.md``.

Everything is vectorized numpy driven by one ``np.random.default_rng(seed)``:
the same seed gives identical arrays and byte-identical Parquet files.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeGuard, TypeVar

import numpy as np
import numpy.typing as npt

from riskscore.exceptions import SchemaError
from riskscore.io import read_messages, write_messages
from riskscore.messages import MessageTable
from riskscore.schema import (
    CHANNEL_NAMES,
    EVENT_NAMES,
    MAX_TIMESTAMP,
    Channel,
    EventType,
)

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "BENIGN_MIX",
    "DEFAULT_START",
    "GROOMING_MIX",
    "SCENARIOS",
    "AdultLabels",
    "Labels",
    "SyntheticData",
    "generate",
    "generate_parquet",
    "labels_from_arrow",
]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

DAY_S: Final = 86_400
HOUR_S: Final = 3_600
#: Default period start: 2026-01-01T00:00:00Z.
DEFAULT_START: Final = 1_767_225_600
#: Local times are kept this far inside the period so that converting them to UTC with
#: any offset in [-12:00, +14:00] stays inside it.
_EARLY_MARGIN_S: Final = 14 * HOUR_S
_LATE_MARGIN_S: Final = 12 * HOUR_S

#: Night in the child's local time (22:00-06:00), as the features define it.
_NIGHT_START_S: Final = 22 * HOUR_S
_NIGHT_END_S: Final = 6 * HOUR_S

#: UTC offsets (minutes) of accounts and how common each is (the ``tz_mix`` default).
_DEFAULT_TZ_MIX: Final[Mapping[int, float]] = {
    0: 0.35,
    60: 0.30,
    120: 0.07,
    -300: 0.10,
    -360: 0.04,
    -480: 0.06,
    330: 0.04,
    600: 0.04,
}
#: Keys of ``secure_channel_mix`` (equal default weights, used only to check names).
_SECURE_CHANNELS: Final[Mapping[str, float]] = {"direct": 1.0, "ephemeral": 1.0, "encrypted": 1.0}
_K = TypeVar("_K")

#: Relative frequency (percent) of a grooming target's age, for ages 2..17: 20 % aged 11
#: or under, 72 % aged 12-15, 8 % aged 16-17 (calibrated to NSPCC figures, docs/synthetic.md).
_VICTIM_AGE_WEIGHTS: Final = np.array(
    [0.25, 0.25, 0.35, 0.5, 0.75, 1.0, 1.5, 2.5, 4.3, 8.6, 15.0, 20.0, 21.0, 16.0, 5.0, 3.0]
)
#: Relative frequency of a child's age in family conversations, for ages 2..17.
_FAMILY_CHILD_AGE_WEIGHTS: Final = np.array([0.3] * 4 + [1.0] * 12)
#: Relative frequency of the younger sibling's or cousin's age, for ages 2..17 (from 12 up).
_SIBLING_AGE_WEIGHTS: Final = np.array([0.0] * 10 + [1.0] * 6)
#: Relative frequency of a pupil's age, for ages 2..17 (from 6 up).
_PUPIL_AGE_WEIGHTS: Final = np.array(
    [0.0] * 4 + [0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 3.5, 3.5, 3.0, 2.5, 2.0]
)

# Account reuse: how many conversations an account takes part in, on average.
_ADULT_REUSE: Final = 4.0
_MINOR_REUSE: Final = 2.0
_TEEN_REUSE: Final = 3.0
_PUPILS_PER_TEACHER: Final = 15.0
_TEEN_COHORT_SIZE: Final = 6
#: Expected number of ordinary adult conversations of each teacher or groomer account.
_SPECIAL_ADULT_CONVERSATIONS: Final = 2.0
#: Share of groomer accounts that declare a teenage age.
_GROOMER_DECLARES_TEEN: Final = 0.10
#: Grooming phase 2: the adult's share of messages keeps this part of its distance from 1/2.
_RECIPROCITY: Final = 0.4
_MAX_FANOUT: Final = 15
_FANOUT_GEOMETRIC_P: Final = 0.22


@dataclass(frozen=True, slots=True)
class _Profile:
    """Parameters of one scenario. Pairs of floats are ranges or Beta shapes, as named.

    Role A is the older account (the adult; the groomer in grooming scenarios), role B
    the younger one (the child). Times of day are drawn in B's local time.
    """

    name: str
    is_grooming: bool
    events: tuple[float, float, int, int]  # lognormal median, sigma; min, max
    span_hours: tuple[float, float, float, float]  # lognormal median, sigma; min, max
    start_hour: tuple[float, float]  # local start window of conversations shorter than a day
    p_a_initiates: float
    p_request: float  # opens with a contact request from the initiator
    p_accept: float
    p_request_public: float  # request sent on public (else group)
    phase1_channel: tuple[float, float, float]  # public, group, direct
    phase2_channel: tuple[float, float, float, float, float, float]  # c2 = max(c1, draw)
    onset_fraction: tuple[float, float]  # phase 2 starts this far into the body
    move_within_min: tuple[float, float]  # if > 0: phase 2 starts this many minutes in
    night_phase1: tuple[float, float]  # Beta shapes of the night share
    night_phase2: tuple[float, float]
    a_share: tuple[float, float]  # Beta shapes of A's share of messages
    media: tuple[float, float, float]  # per message: phase 1, phase 2 by A, phase 2 by B
    external: tuple[float, float]  # per phase 2 message: by A, by B
    escalation: tuple[float, float]  # range of the time-warp exponent (> 1: accelerating)
    p_block: float  # B blocks A at the end
    p_report: float  # B reports A at the end
    p_stray: float  # a message on a random public/group/direct channel
    p_quiet: float  # hard case: no night shift, no channel move (marker: media)
    max_unanswered: int  # messages the initiator sends to a request never accepted


_PROFILES: Final[tuple[_Profile, ...]] = (
    _Profile(
        name="grooming_fast",
        is_grooming=True,
        events=(35, 0.6, 8, 200),
        span_hours=(5.0, 0.7, 1.0, 24.0),
        start_hour=(17.0, 23.5),
        p_a_initiates=0.9,
        p_request=0.8,
        p_accept=1.0,
        p_request_public=0.6,
        phase1_channel=(0.1, 0.2, 0.7),
        phase2_channel=(0.0, 0.0, 0.0, 0.55, 0.45, 0.0),
        onset_fraction=(0.0, 0.0),  # unused: the move is timed
        move_within_min=(5.0, 60.0),
        night_phase1=(1.0, 9.0),
        night_phase2=(6.0, 3.0),
        a_share=(7.0, 3.0),
        media=(0.0, 0.15, 0.04),
        external=(0.2, 0.01),
        escalation=(1.0, 1.8),
        p_block=0.10,
        p_report=0.06,
        p_stray=0.02,
        p_quiet=0.0,
        max_unanswered=5,
    ),
    _Profile(
        name="grooming_slow",
        is_grooming=True,
        events=(80, 0.7, 15, 300),
        span_hours=(14 * 24.0, 0.5, 5 * 24.0, 30 * 24.0),
        start_hour=(15.0, 21.0),
        p_a_initiates=0.85,
        p_request=0.6,
        p_accept=1.0,
        p_request_public=0.5,
        phase1_channel=(0.25, 0.35, 0.4),
        phase2_channel=(0.0, 0.0, 0.3, 0.4, 0.3, 0.0),
        onset_fraction=(0.3, 0.7),
        move_within_min=(0.0, 0.0),
        night_phase1=(1.0, 12.0),
        night_phase2=(5.0, 5.0),
        a_share=(6.0, 3.0),
        media=(0.01, 0.10, 0.03),
        external=(0.12, 0.01),
        escalation=(1.5, 3.0),
        p_block=0.08,
        p_report=0.05,
        p_stray=0.05,
        p_quiet=0.25,
        max_unanswered=5,
    ),
    _Profile(
        name="grooming_refused",
        is_grooming=True,
        events=(4, 0.5, 2, 8),
        span_hours=(2.0, 1.0, 0.05, 72.0),
        start_hour=(16.0, 24.0),
        p_a_initiates=1.0,
        p_request=1.0,
        p_accept=0.0,
        p_request_public=0.6,
        phase1_channel=(0.0, 0.0, 1.0),
        phase2_channel=(0.0, 0.0, 0.0, 0.6, 0.4, 0.0),
        onset_fraction=(0.0, 1.0),
        move_within_min=(0.0, 0.0),
        night_phase1=(2.0, 4.0),
        night_phase2=(3.0, 3.0),
        a_share=(1.0, 1.0),
        media=(0.0, 0.2, 0.0),
        external=(0.5, 0.0),
        escalation=(1.0, 1.0),
        p_block=0.25,
        p_report=0.12,
        p_stray=0.0,
        p_quiet=0.0,
        max_unanswered=5,
    ),
    _Profile(
        name="adult_daytime",
        is_grooming=False,
        events=(26, 0.9, 1, 300),
        span_hours=(48.0, 1.5, 0.1, 30 * 24.0),
        start_hour=(8.0, 19.0),
        p_a_initiates=0.5,
        p_request=0.3,
        p_accept=0.8,
        p_request_public=0.6,
        phase1_channel=(0.25, 0.35, 0.4),
        phase2_channel=(0.55, 0.1, 0.3, 0.04, 0.01, 0.0),
        onset_fraction=(0.3, 1.0),
        move_within_min=(0.0, 0.0),
        night_phase1=(0.8, 8.0),
        night_phase2=(0.8, 8.0),
        a_share=(5.0, 5.0),
        media=(0.04, 0.05, 0.05),
        external=(0.003, 0.003),
        escalation=(0.7, 1.3),
        p_block=0.02,
        p_report=0.01,
        p_stray=0.08,
        p_quiet=0.0,
        max_unanswered=2,
    ),
    _Profile(
        name="family",
        is_grooming=False,
        events=(24, 0.8, 2, 300),
        span_hours=(7 * 24.0, 0.8, 2.0, 30 * 24.0),
        start_hour=(9.0, 20.0),
        p_a_initiates=0.4,
        p_request=0.15,
        p_accept=0.95,
        p_request_public=0.1,
        phase1_channel=(0.0, 0.5, 0.5),
        phase2_channel=(0.8, 0.0, 0.15, 0.05, 0.0, 0.0),
        onset_fraction=(0.5, 1.0),
        move_within_min=(0.0, 0.0),
        night_phase1=(0.6, 12.0),
        night_phase2=(0.6, 12.0),
        a_share=(5.0, 5.0),
        media=(0.08, 0.08, 0.08),
        external=(0.0, 0.0),
        escalation=(0.8, 1.2),
        p_block=0.003,
        p_report=0.001,
        p_stray=0.08,
        p_quiet=0.0,
        max_unanswered=2,
    ),
    _Profile(
        name="teacher_coach",
        is_grooming=False,
        events=(12, 0.8, 1, 200),
        span_hours=(10 * 24.0, 0.7, 1.0, 30 * 24.0),
        start_hour=(8.0, 18.0),
        p_a_initiates=0.6,
        p_request=0.4,
        p_accept=0.9,
        p_request_public=0.1,
        phase1_channel=(0.05, 0.75, 0.2),
        phase2_channel=(0.8, 0.0, 0.2, 0.0, 0.0, 0.0),
        onset_fraction=(0.5, 1.0),
        move_within_min=(0.0, 0.0),
        night_phase1=(0.8, 12.0),
        night_phase2=(0.8, 12.0),
        a_share=(6.0, 3.0),
        media=(0.03, 0.03, 0.01),
        external=(0.0, 0.0),
        escalation=(0.8, 1.2),
        p_block=0.005,
        p_report=0.003,
        p_stray=0.1,
        p_quiet=0.0,
        max_unanswered=2,
    ),
    _Profile(
        name="adult_romance",
        is_grooming=False,
        events=(50, 0.8, 3, 300),
        span_hours=(5 * 24.0, 1.2, 2.0, 30 * 24.0),
        start_hour=(19.0, 24.0),
        p_a_initiates=0.6,
        p_request=0.5,
        p_accept=0.9,
        p_request_public=0.7,
        phase1_channel=(0.1, 0.1, 0.8),
        phase2_channel=(0.2, 0.0, 0.2, 0.35, 0.25, 0.0),
        onset_fraction=(0.1, 0.6),
        move_within_min=(0.0, 0.0),
        night_phase1=(3.0, 3.0),
        night_phase2=(5.0, 3.0),
        a_share=(5.0, 5.0),
        media=(0.05, 0.15, 0.15),
        external=(0.04, 0.04),
        escalation=(1.2, 3.0),
        p_block=0.03,
        p_report=0.01,
        p_stray=0.03,
        p_quiet=0.0,
        max_unanswered=2,
    ),
    _Profile(
        name="teen_peers",
        is_grooming=False,
        events=(45, 0.8, 3, 300),
        span_hours=(3 * 24.0, 1.2, 1.0, 30 * 24.0),
        start_hour=(19.0, 24.0),
        p_a_initiates=0.5,
        p_request=0.4,
        p_accept=0.9,
        p_request_public=0.4,
        phase1_channel=(0.05, 0.35, 0.6),
        phase2_channel=(0.2, 0.0, 0.2, 0.5, 0.1, 0.0),
        onset_fraction=(0.05, 0.5),
        move_within_min=(0.0, 0.0),
        night_phase1=(3.0, 3.0),
        night_phase2=(5.0, 3.0),
        a_share=(5.0, 5.0),
        media=(0.08, 0.18, 0.18),
        external=(0.03, 0.03),
        escalation=(1.5, 3.0),
        p_block=0.05,
        p_report=0.015,
        p_stray=0.05,
        p_quiet=0.0,
        max_unanswered=2,
    ),
    _Profile(
        name="older_sibling",
        is_grooming=False,
        events=(30, 0.8, 2, 300),
        span_hours=(5 * 24.0, 1.0, 1.0, 30 * 24.0),
        start_hour=(17.0, 23.5),
        p_a_initiates=0.45,
        p_request=0.2,
        p_accept=0.95,
        p_request_public=0.2,
        phase1_channel=(0.0, 0.3, 0.7),
        phase2_channel=(0.3, 0.0, 0.2, 0.4, 0.1, 0.0),
        onset_fraction=(0.2, 0.8),
        move_within_min=(0.0, 0.0),
        night_phase1=(2.0, 5.0),
        night_phase2=(3.0, 4.0),
        a_share=(5.0, 5.0),
        media=(0.06, 0.10, 0.10),
        external=(0.01, 0.01),
        escalation=(0.8, 1.5),
        p_block=0.01,
        p_report=0.003,
        p_stray=0.05,
        p_quiet=0.0,
        max_unanswered=2,
    ),
)

#: Scenario names, in code order.
SCENARIOS: Final = tuple(p.name for p in _PROFILES)
_CODE: Final = {name: code for code, name in enumerate(SCENARIOS)}

#: Default shares of the grooming variants among grooming conversations.
GROOMING_MIX: Final[Mapping[str, float]] = {
    "grooming_fast": 0.35,
    "grooming_slow": 0.40,
    "grooming_refused": 0.25,
}
#: Default shares of the benign scenarios among benign conversations.
BENIGN_MIX: Final[Mapping[str, float]] = {
    "adult_daytime": 0.48,
    "family": 0.14,
    "teacher_coach": 0.10,
    "adult_romance": 0.12,
    "teen_peers": 0.12,
    "older_sibling": 0.04,
}


# ---------------------------------------------------------------- results


@dataclass(frozen=True, slots=True, eq=False)
class Labels:
    """Ground truth per conversation, aligned with ``MessageTable.conversations``.

    Attributes
    ----------
    conversation_id : array of shape (n_conversations,)
        Conversation ids, sorted (equal to ``messages.conversations``).
    is_grooming : array of shape (n_conversations,)
        Observed label: whether the conversation is labelled grooming (bool). Equal
        to ``is_grooming_true`` unless ``label_noise`` flipped some.
    onset_index : array of shape (n_conversations,)
        0-based index, within the conversation in time order, of its first event
        showing grooming behaviour; -1 for truly benign conversations (int64), even
        where noise labelled them grooming. Defined in ``docs/synthetic.md``.
    adult_id : array of shape (n_conversations,)
        Account id of the older participant; the groomer in grooming conversations.
    scenario : array of shape (n_conversations,)
        Name of the scenario that generated the conversation (str).
    is_grooming_true : array of shape (n_conversations,), optional
        Ground truth (bool); defaults to a copy of ``is_grooming``.

    Examples
    --------
    >>> from riskscore.synthetic import generate
    >>> labels = generate(50, prevalence=0.1, seed=0).labels
    >>> len(labels), int(labels.is_grooming.sum())
    (50, 5)
    """

    conversation_id: npt.NDArray[Any]
    is_grooming: BoolArray
    onset_index: IntArray
    adult_id: npt.NDArray[Any]
    scenario: npt.NDArray[np.str_]
    is_grooming_true: BoolArray = field(default=None)  # type: ignore[arg-type]

    def __post_init__(self) -> None:
        if self.is_grooming_true is None:
            object.__setattr__(self, "is_grooming_true", np.array(self.is_grooming, dtype=bool))
        n = len(self.conversation_id)
        for name in (*_LABEL_COLUMNS, "is_grooming_true"):
            values = getattr(self, name)
            if np.ndim(values) != 1 or len(values) != n:
                raise ValueError(
                    f"Labels.{name} must be one-dimensional with {n} values (one per "
                    f"conversation_id), got shape {np.shape(values)}"
                )

    def __len__(self) -> int:
        return len(self.conversation_id)

    def __repr__(self) -> str:
        return f"Labels(n_conversations={len(self)}, n_grooming={int(self.is_grooming.sum())})"

    def to_arrow(self) -> pa.Table:
        """The labels as a :class:`pyarrow.Table`, one row per conversation.

        Examples
        --------
        >>> from riskscore.synthetic import generate
        >>> generate(10, seed=0).labels.to_arrow().column_names[-2:]
        ['scenario', 'is_grooming_true']
        """
        import pyarrow as pa

        return pa.table(
            {
                "conversation_id": self.conversation_id,
                "is_grooming": pa.array(self.is_grooming, type=pa.bool_()),
                "onset_index": pa.array(self.onset_index, type=pa.int64()),
                "adult_id": self.adult_id,
                "scenario": pa.array(self.scenario.astype(str), type=pa.string()),
                "is_grooming_true": pa.array(self.is_grooming_true, type=pa.bool_()),
            }
        )

    def per_adult(self) -> AdultLabels:
        """Ground truth per adult account (the older side of each conversation).

        Returns
        -------
        AdultLabels
            One row per distinct ``adult_id``, sorted by id.

        Examples
        --------
        >>> from riskscore.synthetic import generate
        >>> adults = generate(200, prevalence=0.05, seed=0).labels.per_adult()
        >>> int(adults.n_conversations.sum()), int(adults.n_grooming_conversations.sum())
        (200, 10)
        """
        adult_id, code = np.unique(self.adult_id, return_inverse=True)
        code = code.reshape(-1)
        n_grooming = np.bincount(code, self.is_grooming_true, len(adult_id)).astype(np.int64)
        return AdultLabels(
            adult_id=adult_id,
            is_groomer=n_grooming > 0,
            n_conversations=np.bincount(code, minlength=len(adult_id)).astype(np.int64),
            n_grooming_conversations=n_grooming,
        )

    @classmethod
    def from_arrow(cls, table: pa.Table) -> Labels:
        """Labels from a table written by :meth:`to_arrow` (e.g. ``labels.parquet``).

        Parameters
        ----------
        table : pyarrow.Table
            Columns ``conversation_id``, ``is_grooming``, ``onset_index``,
            ``adult_id`` and ``scenario``; optionally ``is_grooming_true``
            (defaults to ``is_grooming``).

        Raises
        ------
        SchemaError
            A column is missing or holds nulls.
        """
        missing = [c for c in _LABEL_COLUMNS if c not in table.column_names]
        if missing:
            raise SchemaError(
                f"labels table lacks column(s) {missing}; found {table.column_names}. "
                f"Expected {list(_LABEL_COLUMNS)} as written by Labels.to_arrow",
                column=missing[0],
            )
        optional = [c for c in ("is_grooming_true",) if c in table.column_names]
        for name in (*_LABEL_COLUMNS, *optional):
            if table.column(name).null_count:
                raise SchemaError(f"labels column {name!r} holds nulls", column=name)

        def column(name: str) -> npt.NDArray[Any]:
            return np.asarray(table.column(name).to_numpy(zero_copy_only=False))

        conversation_id = column("conversation_id")
        if conversation_id.dtype == object:
            conversation_id = conversation_id.astype(str)
        adult_id = column("adult_id")
        if adult_id.dtype == object:
            adult_id = adult_id.astype(str)
        return cls(
            conversation_id=conversation_id,
            is_grooming=column("is_grooming").astype(bool),
            onset_index=column("onset_index").astype(np.int64),
            adult_id=adult_id,
            scenario=column("scenario").astype(str),
            is_grooming_true=column("is_grooming_true").astype(bool) if optional else None,  # type: ignore[arg-type]
        )


@dataclass(frozen=True, slots=True, eq=False)
class AdultLabels:
    """Ground truth per adult account, from :meth:`Labels.per_adult`.

    Attributes
    ----------
    adult_id : array of shape (n_adults,)
        Account ids, sorted.
    is_groomer : array of shape (n_adults,)
        Whether the account has at least one (truly) grooming conversation.
    n_conversations : array of shape (n_adults,)
        Conversations in which the account is the older participant.
    n_grooming_conversations : array of shape (n_adults,)
        Of those, how many are grooming (its fan-out to targets).

    Examples
    --------
    >>> from riskscore.synthetic import generate
    >>> adults = generate(300, prevalence=0.05, seed=1).labels.per_adult()
    >>> bool((adults.n_grooming_conversations <= adults.n_conversations).all())
    True
    """

    adult_id: npt.NDArray[Any]
    is_groomer: BoolArray
    n_conversations: IntArray
    n_grooming_conversations: IntArray

    def __len__(self) -> int:
        return len(self.adult_id)

    def to_arrow(self) -> pa.Table:
        """The table as a :class:`pyarrow.Table`, one row per adult."""
        import pyarrow as pa

        return pa.table(
            {
                "adult_id": self.adult_id,
                "is_groomer": pa.array(self.is_groomer, type=pa.bool_()),
                "n_conversations": pa.array(self.n_conversations, type=pa.int64()),
                "n_grooming_conversations": pa.array(
                    self.n_grooming_conversations, type=pa.int64()
                ),
            }
        )


_LABEL_COLUMNS: Final = ("conversation_id", "is_grooming", "onset_index", "adult_id", "scenario")


def labels_from_arrow(table: pa.Table) -> Labels:
    """Labels from a :class:`pyarrow.Table`; same as :meth:`Labels.from_arrow`.

    Parameters
    ----------
    table : pyarrow.Table
        A table written by :meth:`Labels.to_arrow`, e.g. read from ``labels.parquet``.

    Returns
    -------
    Labels

    Examples
    --------
    >>> from riskscore.synthetic import generate, labels_from_arrow
    >>> labels = generate(20, prevalence=0.1, seed=1).labels
    >>> labels_from_arrow(labels.to_arrow()).onset_index.tolist() == labels.onset_index.tolist()
    True
    """
    return Labels.from_arrow(table)


@dataclass(frozen=True, slots=True, eq=False)
class SyntheticData:
    """Synthetic message events and their ground truth.

    Attributes
    ----------
    messages : MessageTable
        The events, validated by :func:`riskscore.read_messages`.
    labels : Labels
        One row per conversation, in the order of ``messages.conversations``.

    Examples
    --------
    >>> from riskscore.synthetic import generate
    >>> data = generate(20, prevalence=0.1, seed=3)
    >>> bool((data.labels.conversation_id == data.messages.conversations).all())
    True
    """

    messages: MessageTable
    labels: Labels

    def __repr__(self) -> str:
        return f"SyntheticData(messages={self.messages!r}, labels={self.labels!r})"

    def write(self, directory: str | os.PathLike[str]) -> tuple[Path, Path]:
        """Write ``events.parquet`` and ``labels.parquet`` into ``directory``.

        The same data always gives byte-identical files.

        Parameters
        ----------
        directory : str or path-like
            Created if missing; existing files of the same names are replaced.

        Returns
        -------
        tuple of pathlib.Path
            The events file and the labels file.

        Examples
        --------
        >>> import tempfile
        >>> from riskscore.synthetic import generate
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     events, labels = generate(20, seed=0).write(tmp)
        ...     print(events.name, labels.name)
        events.parquet labels.parquet
        """
        import pyarrow.parquet as pq

        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        events_path = write_messages(self.messages, out / "events.parquet")
        labels_path = out / "labels.parquet"
        pq.write_table(self.labels.to_arrow(), labels_path)
        return events_path, labels_path

    @classmethod
    def read(cls, directory: str | os.PathLike[str]) -> SyntheticData:
        """Read a labelled data set that :meth:`write` (or ``riskscore generate``) wrote.

        Raises
        ------
        FileNotFoundError
            ``events.parquet`` or ``labels.parquet`` is not in ``directory``.
        SchemaError
            The events fail validation (see :func:`riskscore.read_messages`).

        Examples
        --------
        >>> import tempfile
        >>> from riskscore.synthetic import generate
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     _ = generate(20, seed=0).write(tmp)
        ...     print(len(SyntheticData.read(tmp).labels.conversation_id))
        20
        """
        import pyarrow.parquet as pq

        folder = Path(directory)
        events_path, labels_path = folder / "events.parquet", folder / "labels.parquet"
        for path in (events_path, labels_path):
            if not path.exists():
                raise FileNotFoundError(
                    f"{path} not found; labelled data is a directory with events.parquet and "
                    "labels.parquet (as `riskscore generate` writes)"
                )
        return cls(read_messages(events_path), Labels.from_arrow(pq.read_table(labels_path)))


# ---------------------------------------------------------------- public entry point


def generate(
    n_conversations: int,
    *,
    prevalence: float = 0.01,
    seed: int | None = None,
    unknown_age_rate: float = 0.15,
    start: int = DEFAULT_START,
    days: int = 30,
    benign_mix: Mapping[str, float] | None = None,
    grooming_mix: Mapping[str, float] | None = None,
    n_adults: int | None = None,
    label_noise: float = 0.0,
    target_age_weights: Sequence[float] | None = None,
    child_age_weights: Sequence[float] | None = None,
    tz_mix: Mapping[int, float] | None = None,
    secure_channel_mix: Mapping[str, float] | None = None,
    move_platform_rate: float = 0.77,
) -> SyntheticData:
    """Generate synthetic conversations (metadata only) with grooming labels.

    Parameters
    ----------
    n_conversations : int
        Number of conversations, at least 1. Each is between exactly two accounts.
    prevalence : float, default 0.01
        Share of grooming conversations, in [0, 1] (e.g. ``1e-4`` for 1 in
        10,000). Exactly ``round(n_conversations * prevalence)`` conversations are
        grooming (halves round up), which can be 0 for small samples.
    seed : int or None, default None
        Seeds the generator's own ``np.random.SeedSequence``; ``None`` draws fresh
        entropy. Global random state is never used. ``generate(n, seed=s)`` holds
        the same events as :func:`generate_parquet` with one chunk.
    unknown_age_rate : float, default 0.15
        Share of accounts whose age is unknown (NaN), in [0, 1].
    start : int, default 1767225600 (2026-01-01T00:00:00Z)
        Start of the period, UTC epoch seconds.
    days : int, default 30
        Length of the period in days, at least 2. All events fall inside it.
    benign_mix : mapping of str to float, optional
        Relative weights of the benign scenarios (keys from :data:`BENIGN_MIX`;
        missing keys weigh 0). Defaults to :data:`BENIGN_MIX`.
    grooming_mix : mapping of str to float, optional
        Relative weights of the grooming variants (keys from :data:`GROOMING_MIX`),
        drawn per grooming conversation. Defaults to :data:`GROOMING_MIX`.
    n_adults : int or None, default None
        Number of ordinary adult accounts (parents, siblings, romance partners,
        everyday contacts; teachers and groomers come on top), between 2 and the
        number of ordinary adult slots (about 1.3 per benign conversation with the
        default mix). Fewer adults means more conversations per adult. ``None``:
        one account per 4 slots.
    label_noise : float, default 0.0
        Probability, in [0, 0.5], that a conversation's observed label
        ``is_grooming`` is flipped. The truth stays in ``is_grooming_true`` and
        ``onset_index``. Drawn last, so the events do not depend on it.
    target_age_weights : sequence of 16 floats, optional
        Relative frequency of a grooming target's age for ages 2, 3, ..., 17.
        Defaults to weights peaking at 13-14 (see ``docs/synthetic.md``).
    child_age_weights : sequence of 16 floats, optional
        Relative frequency of a child's age in family conversations, ages 2-17.
    tz_mix : mapping of int to float, optional
        Relative weights of accounts' UTC offsets in minutes, each in
        [-720, 840]. Defaults to a Europe-heavy mix (see ``docs/synthetic.md``).
    secure_channel_mix : mapping of str to float, optional
        Where grooming conversations move in their second phase: relative weights
        of ``"direct"``, ``"ephemeral"`` and ``"encrypted"``. Defaults to each
        grooming variant's own mix.
    move_platform_rate : float, default 0.77
        Probability, in [0, 1], that a grooming conversation (other than the quiet
        slow-burn ones) contains a request to move to another app (an
        ``external`` event). The default makes it about two in three grooming
        conversations.

    Returns
    -------
    SyntheticData
        ``messages`` (a :class:`~riskscore.MessageTable`) and ``labels``.

    Raises
    ------
    ValueError
        A parameter is out of range; the message names it and its value.

    See Also
    --------
    generate_parquet : the same data written to Parquet chunk by chunk.

    Examples
    --------
    >>> from riskscore.synthetic import generate
    >>> data = generate(100, prevalence=0.05, seed=7)
    >>> data.messages.n_conversations, int(data.labels.is_grooming.sum())
    (100, 5)
    >>> bool((data.labels.onset_index[~data.labels.is_grooming] == -1).all())
    True
    """
    config = _configure(
        n_conversations,
        prevalence,
        seed,
        unknown_age_rate=unknown_age_rate,
        start=start,
        days=days,
        benign_mix=benign_mix,
        grooming_mix=grooming_mix,
        n_adults=n_adults,
        label_noise=label_noise,
        target_age_weights=target_age_weights,
        child_age_weights=child_age_weights,
        tz_mix=tz_mix,
        secure_channel_mix=secure_channel_mix,
        move_platform_rate=move_platform_rate,
    )
    (chunk,) = _chunks(n_conversations, prevalence, seed, n_conversations, config, n_adults)
    columns = dict(chunk.columns)
    columns["channel"] = _CHANNEL_NAMES[columns["channel"]]
    columns["event"] = _EVENT_NAMES[columns["event"]]
    messages = read_messages(columns)
    if not np.array_equal(messages.conversations, chunk.labels.conversation_id):
        raise RuntimeError("generated labels are not aligned with the events: generator bug")
    return SyntheticData(messages=messages, labels=chunk.labels)


def generate_parquet(
    path: str | os.PathLike[str],
    n_conversations: int,
    *,
    prevalence: float = 0.01,
    seed: int | None = 0,
    chunk_conversations: int = 100_000,
    labels_path: str | os.PathLike[str] | None = None,
    progress: Callable[[int], object] | None = None,
    **generate_kwargs: Any,
) -> tuple[Path, Path]:
    """Generate synthetic events and labels straight to Parquet, chunk by chunk.

    Memory is bounded by one chunk: each chunk of ``chunk_conversations``
    conversations is generated complete (its accounts, conversations and events)
    and written as row groups before the next is drawn. Chunk ``i`` draws from
    the ``i``-th child of ``np.random.SeedSequence(seed)``, so the files depend
    only on the arguments: the same arguments give byte-identical files.
    Conversation ids are ``0 .. n_conversations - 1`` and account ids are unique
    across chunks; no account takes part in two chunks. Events are sorted by
    conversation id, then time, as :func:`riskscore.read_messages` orders them.

    Parameters
    ----------
    path : str or path-like
        Events file to write (suffix ``.parquet``); replaced if it exists.
    n_conversations : int
        Number of conversations, at least 1.
    prevalence : float, default 0.01
        Share of grooming conversations; exactly ``round(n_conversations *
        prevalence)`` in total, spread over the chunks by size.
    seed : int or None, default 0
        Root seed. ``None`` draws fresh entropy (not reproducible).
    chunk_conversations : int, default 100_000
        Conversations per chunk, at least 1 (about 40 events each with the
        default mix, so 100,000 is about 4 million events and 1-2 GB of peak
        memory).
    labels_path : str or path-like, optional
        Labels file. Defaults to ``labels.parquet`` beside ``path`` when ``path``
        is named ``events.parquet``, else ``<stem>.labels.parquet``.
    progress : callable, optional
        Called after each chunk with the number of conversations it wrote.
    **generate_kwargs
        Any other keyword argument of :func:`generate` (``n_adults`` is split
        over the chunks by size).

    Returns
    -------
    tuple of pathlib.Path
        The events file and the labels file (read the labels back with
        :func:`labels_from_arrow`).

    Raises
    ------
    ValueError
        A parameter is out of range; the message names it and its value.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import pyarrow.parquet as pq
    >>> import riskscore as rs
    >>> from riskscore.synthetic import generate_parquet
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     events, labels = generate_parquet(
    ...         pathlib.Path(tmp) / "events.parquet", 300, seed=1, chunk_conversations=100
    ...     )
    ...     print(labels.name, pq.ParquetFile(events).num_row_groups)
    ...     print(rs.read_messages(events).n_conversations)
    labels.parquet 3
    300
    """
    import pyarrow.parquet as pq

    if not _is_int(chunk_conversations) or chunk_conversations < 1:
        raise ValueError(
            f"chunk_conversations must be an integer >= 1, got {chunk_conversations!r}"
        )
    unknown = sorted(set(generate_kwargs) - _GENERATE_OPTIONS)
    if unknown:
        raise ValueError(
            f"generate_parquet got unknown argument(s) {unknown}; "
            f"expected keywords of generate(): {sorted(_GENERATE_OPTIONS)}"
        )
    n_adults = generate_kwargs.pop("n_adults", None)
    config = _configure(n_conversations, prevalence, seed, n_adults=n_adults, **generate_kwargs)
    events_path = Path(path)
    if events_path.suffix.lower() not in {".parquet", ".pq"}:
        raise ValueError(f"path must end in .parquet, got {str(path)!r}")
    if labels_path is None:
        name = "labels.parquet" if events_path.name == "events.parquet" else None
        labels_out = events_path.with_name(name or f"{events_path.stem}.labels.parquet")
    else:
        labels_out = Path(labels_path)
    for out in (events_path, labels_out):
        out.parent.mkdir(parents=True, exist_ok=True)
    partial = [out.with_name(out.name + ".partial") for out in (events_path, labels_out)]
    events_schema, labels_schema = _arrow_schemas()
    try:
        with (
            pq.ParquetWriter(partial[0], events_schema) as events_writer,
            pq.ParquetWriter(partial[1], labels_schema) as labels_writer,
        ):
            chunks = _chunks(
                n_conversations, prevalence, seed, chunk_conversations, config, n_adults
            )
            for chunk in chunks:
                events_writer.write_table(
                    _events_arrow(chunk.columns), row_group_size=_ROW_GROUP_ROWS
                )
                labels_writer.write_table(chunk.labels.to_arrow().cast(labels_schema))
                if progress is not None:
                    progress(len(chunk.labels))
        os.replace(partial[0], events_path)
        os.replace(partial[1], labels_out)
    finally:
        for leftover in partial:
            leftover.unlink(missing_ok=True)
    return events_path, labels_out


#: Row-group size of the events file (rows); a chunk larger than this spans several.
_ROW_GROUP_ROWS: Final = 1 << 20


@dataclass(frozen=True, slots=True)
class _Config:
    """Validated options shared by every chunk."""

    benign: dict[str, float]
    grooming: dict[str, float]
    unknown_age_rate: float
    window: tuple[int, int]
    label_noise: float
    target_age_weights: FloatArray
    child_age_weights: FloatArray
    tz_offsets: IntArray
    tz_weights: FloatArray
    secure_channel_mix: FloatArray | None  # (6,) phase-2 draw for grooming, or None
    move_platform_rate: float


@dataclass(frozen=True, slots=True)
class _Chunk:
    """One chunk: schema v1 columns (coded channel and event) sorted by conversation and
    time, with its labels."""

    columns: dict[str, npt.NDArray[Any]]
    labels: Labels
    n_accounts: int


def _chunks(
    n_conversations: int,
    prevalence: float,
    seed: int | None,
    chunk_conversations: int,
    config: _Config,
    n_adults: int | None,
) -> Iterator[_Chunk]:
    """Generate the chunks one after the other (lazily, so memory holds one)."""
    n_chunks = -(-n_conversations // chunk_conversations)
    sizes = np.full(n_chunks, chunk_conversations, dtype=np.int64)
    sizes[-1] = n_conversations - chunk_conversations * (n_chunks - 1)
    n_grooming = _largest_remainder(
        min(n_conversations, math.floor(n_conversations * prevalence + 0.5)),
        sizes.astype(np.float64),
    )
    # n_adults is split over the chunks by size (at least 2 each).
    adults = (
        None
        if n_adults is None
        else np.maximum(_largest_remainder(n_adults, sizes.astype(np.float64)), 2)
    )
    children = np.random.SeedSequence(seed).spawn(n_chunks)
    conv_offset = account_offset = 0
    for i in range(n_chunks):
        chunk = _generate_chunk(
            int(sizes[i]),
            int(n_grooming[i]),
            conv_offset,
            account_offset,
            None if adults is None else int(adults[i]),
            config,
            np.random.default_rng(children[i]),
        )
        conv_offset += int(sizes[i])
        account_offset += chunk.n_accounts
        yield chunk


_GENERATE_OPTIONS: Final = frozenset(
    {
        "unknown_age_rate",
        "start",
        "days",
        "benign_mix",
        "grooming_mix",
        "n_adults",
        "label_noise",
        "target_age_weights",
        "child_age_weights",
        "tz_mix",
        "secure_channel_mix",
        "move_platform_rate",
    }
)


def _is_int(value: object) -> TypeGuard[int | np.integer[Any]]:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_real(value: object) -> TypeGuard[int | float | np.integer[Any] | np.floating[Any]]:
    return (_is_int(value) or isinstance(value, (float, np.floating))) and math.isfinite(value)


def _configure(
    n_conversations: object,
    prevalence: object,
    seed: object,
    *,
    unknown_age_rate: object = 0.15,
    start: object = DEFAULT_START,
    days: object = 30,
    benign_mix: Mapping[str, float] | None = None,
    grooming_mix: Mapping[str, float] | None = None,
    n_adults: object = None,
    label_noise: object = 0.0,
    target_age_weights: Sequence[float] | None = None,
    child_age_weights: Sequence[float] | None = None,
    tz_mix: Mapping[int, float] | None = None,
    secure_channel_mix: Mapping[str, float] | None = None,
    move_platform_rate: object = 0.77,
) -> _Config:
    """Check every parameter (``ValueError`` naming it and its value); return the config."""
    if not _is_int(n_conversations) or n_conversations < 1:
        raise ValueError(f"n_conversations must be an integer >= 1, got {n_conversations!r}")
    if not _is_real(prevalence) or not 0.0 <= prevalence <= 1.0:
        raise ValueError(f"prevalence must be a number in [0, 1], got {prevalence!r}")
    if seed is not None and (not _is_int(seed) or seed < 0):
        raise ValueError(f"seed must be a non-negative integer or None, got {seed!r}")
    if not _is_real(unknown_age_rate) or not 0.0 <= unknown_age_rate <= 1.0:
        raise ValueError(f"unknown_age_rate must be a number in [0, 1], got {unknown_age_rate!r}")
    if not _is_int(days) or days < 2:
        raise ValueError(f"days must be an integer >= 2, got {days!r}")
    if not _is_int(start) or not 0 <= start <= MAX_TIMESTAMP - int(days) * DAY_S:
        raise ValueError(
            "start must be epoch seconds >= 0 with start + days * 86400 before 2200-01-01, "
            f"got start={start!r}, days={days!r}"
        )
    if n_adults is not None and (not _is_int(n_adults) or n_adults < 2):
        raise ValueError(f"n_adults must be an integer >= 2 or None, got {n_adults!r}")
    if not _is_real(label_noise) or not 0.0 <= label_noise <= 0.5:
        raise ValueError(f"label_noise must be a number in [0, 0.5], got {label_noise!r}")
    if not _is_real(move_platform_rate) or not 0.0 <= move_platform_rate <= 1.0:
        raise ValueError(
            f"move_platform_rate must be a number in [0, 1], got {move_platform_rate!r}"
        )
    tz = _mix("tz_mix", tz_mix, _DEFAULT_TZ_MIX)
    bad_tz = [k for k in tz if not _is_int(k) or not -720 <= k <= 840]
    if bad_tz:
        raise ValueError(f"tz_mix offsets must be integer minutes in [-720, 840], got {bad_tz}")
    secure = None
    if secure_channel_mix is not None:
        weights = _mix("secure_channel_mix", secure_channel_mix, _SECURE_CHANNELS)
        secure = np.array(
            [0.0, 0.0, weights["direct"], weights["ephemeral"], weights["encrypted"], 0.0]
        )
    start_s, days_n = int(start), int(days)
    return _Config(
        benign=_mix("benign_mix", benign_mix, BENIGN_MIX),
        grooming=_mix("grooming_mix", grooming_mix, GROOMING_MIX),
        unknown_age_rate=float(unknown_age_rate),
        window=(start_s + _EARLY_MARGIN_S, start_s + days_n * DAY_S - _LATE_MARGIN_S),
        label_noise=float(label_noise),
        target_age_weights=_age_weights(
            "target_age_weights", target_age_weights, _VICTIM_AGE_WEIGHTS
        ),
        child_age_weights=_age_weights(
            "child_age_weights", child_age_weights, _FAMILY_CHILD_AGE_WEIGHTS
        ),
        tz_offsets=np.array([int(k) for k in tz], dtype=np.int64),
        tz_weights=np.array(list(tz.values())),
        secure_channel_mix=secure,
        move_platform_rate=float(move_platform_rate),
    )


def _age_weights(parameter: str, given: Sequence[float] | None, default: FloatArray) -> FloatArray:
    """16 relative weights for ages 2..17, checked."""
    if given is None:
        return default
    weights = np.asarray(given, dtype=np.float64)
    if weights.shape != (16,) or not np.all(np.isfinite(weights)) or np.any(weights < 0):
        raise ValueError(
            f"{parameter} must be 16 finite weights >= 0 for ages 2..17, got {given!r}"
        )
    if weights.sum() <= 0:
        raise ValueError(f"{parameter} must give some age a weight > 0, got {given!r}")
    return weights


def _mix(
    parameter: str, given: Mapping[_K, float] | None, default: Mapping[_K, float]
) -> dict[_K, float]:
    """Weights, checked and scaled to sum to 1 (names missing from ``given`` weigh 0)."""
    weights = dict(default if given is None else given)
    unknown = sorted(set(weights) - set(default), key=str)
    if unknown and parameter != "tz_mix":
        what = (
            "scenario(s)" if parameter.endswith("_mix") and "channel" not in parameter else "key(s)"
        )
        raise ValueError(
            f"{parameter} has unknown {what} {unknown}; expected keys from {list(default)}"
        )
    for name, weight in weights.items():
        if not _is_real(weight) or weight < 0:
            raise ValueError(f"{parameter}[{name!r}] must be a number >= 0, got {weight!r}")
    total = sum(float(w) for w in weights.values())
    if total <= 0:
        raise ValueError(f"{parameter} must give some entry a weight > 0, got {given!r}")
    if parameter == "tz_mix":
        return {name: float(w) / total for name, w in weights.items()}
    return {name: float(weights.get(name, 0.0)) / total for name in default}


# ---------------------------------------------------------------- scenarios


def _allocate_scenarios(
    n: int,
    n_grooming: int,
    benign_mix: Mapping[str, float],
    grooming_mix: Mapping[str, float],
    rng: np.random.Generator,
) -> IntArray:
    """Scenario code of each conversation, grouped by code.

    The grooming count is exact; benign counts follow the mix by largest remainder.
    Grooming variants are drawn per conversation.
    """
    variant_names = list(grooming_mix)
    variant_p = np.array([grooming_mix[v] for v in variant_names])
    variants = rng.choice(len(variant_names), size=n_grooming, p=variant_p)
    grooming = np.sort(np.array([_CODE[v] for v in variant_names], dtype=np.int64)[variants])
    names = list(benign_mix)
    counts = _largest_remainder(n - n_grooming, np.array([benign_mix[k] for k in names]))
    benign = np.repeat(np.array([_CODE[k] for k in names], dtype=np.int64), counts)
    return np.concatenate([grooming, benign])


def _largest_remainder(total: int, shares: FloatArray) -> IntArray:
    """Split ``total`` into integer counts proportional to ``shares``."""
    exact = total * shares / shares.sum()
    counts: IntArray = np.floor(exact).astype(np.int64)
    short = total - int(counts.sum())
    counts[np.argsort(-(exact - counts), kind="stable")[:short]] += 1
    return counts


# ---------------------------------------------------------------- accounts


@dataclass(frozen=True, slots=True)
class _Accounts:
    """All accounts, plus the older (A) and younger (B) account of each conversation."""

    ids: IntArray
    true_age: FloatArray
    declared_age: FloatArray  # NaN where unknown
    tz_offset_min: IntArray
    a: IntArray  # account index, per conversation
    b: IntArray


def _age_from_weights(weights: FloatArray, size: int, rng: np.random.Generator) -> FloatArray:
    """Continuous ages in [2, 18) whose whole years follow ``weights`` (ages 2..17)."""
    years = rng.choice(len(weights), size=size, p=weights / weights.sum()) + 2
    return years + rng.random(size)


def _nearest(sorted_values: FloatArray, targets: FloatArray) -> IntArray:
    """Index of the value nearest to each target in a sorted, non-empty array."""
    if len(sorted_values) == 1:
        return np.zeros(len(targets), dtype=np.int64)
    right = np.clip(np.searchsorted(sorted_values, targets), 1, len(sorted_values) - 1)
    left = right - 1
    take_right = np.abs(sorted_values[right] - targets) < np.abs(sorted_values[left] - targets)
    return np.where(take_right, right, left).astype(np.int64)


def _pool_from_demand(
    targets: FloatArray,
    reuse: float,
    rng: np.random.Generator,
    min_size: int = 1,
    size: int | None = None,
) -> tuple[FloatArray, IntArray]:
    """Accounts (sorted ages) for slots that want the given ages, each used ~``reuse`` times.

    The pool's ages are a random subset of the wanted ages, so the pool mirrors the
    demand; every slot then takes the account nearest its wanted age. ``size``, when
    given, fixes the number of accounts instead.
    """
    n = len(targets)
    if n == 0:
        return np.empty(0), np.empty(0, dtype=np.int64)
    size = min(n, max(min_size, math.ceil(n / reuse) if size is None else size))
    pool = np.sort(targets[rng.choice(n, size=size, replace=False)])
    return pool, _nearest(pool, targets)


def _other_than(index: IntArray, other: IntArray, pool_size: int) -> IntArray:
    """``index``, moved to a neighbour where it equals ``other`` (pool_size >= 2)."""
    neighbour = np.where(other + 1 < pool_size, other + 1, other - 1)
    return np.where(index == other, neighbour, index).astype(np.int64)


def _groomer_campaigns(n_grooming: int, rng: np.random.Generator) -> tuple[IntArray, int]:
    """Groomer of each grooming conversation: campaigns of 1-15 targets each."""
    if n_grooming == 0:
        return np.empty(0, dtype=np.int64), 0
    fanout = np.minimum(rng.geometric(_FANOUT_GEOMETRIC_P, size=n_grooming), _MAX_FANOUT)
    ends = np.cumsum(fanout)
    n_groomers = int(np.searchsorted(ends, n_grooming)) + 1
    fanout = fanout[:n_groomers]
    fanout[-1] -= ends[n_groomers - 1] - n_grooming  # the last campaign is cut to fit
    return rng.permutation(np.repeat(np.arange(n_groomers), fanout)).astype(np.int64), n_groomers


def _heavy_tailed_pick(n_pool: int, size: int, sigma: float, rng: np.random.Generator) -> IntArray:
    """``size`` picks from ``n_pool`` accounts with lognormal activity weights."""
    if size == 0:
        return np.empty(0, dtype=np.int64)
    weight = rng.lognormal(0.0, sigma, size=n_pool)
    return rng.choice(n_pool, size=size, p=weight / weight.sum()).astype(np.int64)


def _split(values: IntArray, sizes: list[int]) -> list[IntArray]:
    return np.split(values, np.cumsum(sizes)[:-1])


def _assign_accounts(
    scenario: IntArray,
    config: _Config,
    n_adults: int | None,
    account_offset: int,
    rng: np.random.Generator,
) -> _Accounts:
    """Draw the account pools and pick the two accounts of every conversation.

    Pools: ordinary adults (ordinary contacts, romance, parents, older siblings),
    teachers/coaches, groomers, minors (family children, younger siblings, pupils,
    grooming targets) and teenage cohorts (teen peers). Accounts take part in several
    conversations; teachers and groomers also have ordinary adult contacts.
    """
    n = len(scenario)
    idx = {name: np.flatnonzero(scenario == code) for name, code in _CODE.items()}
    grooming = np.concatenate([idx[p.name] for p in _PROFILES if p.is_grooming])
    count = {name: len(i) for name, i in idx.items()}
    n_family, n_sib, n_teach = count["family"], count["older_sibling"], count["teacher_coach"]
    n_day, n_rom, n_teen = count["adult_daytime"], count["adult_romance"], count["teen_peers"]

    groomer_of, n_groomers = _groomer_campaigns(len(grooming), rng)
    groomer_age = np.clip(18.0 + rng.gamma(3.0, 5.0, size=n_groomers), 18.0, 65.0)
    n_teachers = max(1, round(n_teach / _PUPILS_PER_TEACHER)) if n_teach else 0
    teacher_of = _heavy_tailed_pick(n_teachers, n_teach, 0.8, rng)
    teacher_age = np.clip(23.0 + rng.gamma(3.0, 6.0, size=n_teachers), 23.0, 67.0)

    # Minors are shared by family, sibling, teacher and grooming conversations, by age.
    child_targets = np.concatenate(
        [
            _age_from_weights(config.child_age_weights, n_family, rng),
            _age_from_weights(_SIBLING_AGE_WEIGHTS, n_sib, rng),
            _age_from_weights(_PUPIL_AGE_WEIGHTS, n_teach, rng),
            _age_from_weights(config.target_age_weights, len(grooming), rng),
        ]
    )
    minor_age, child_of = _pool_from_demand(child_targets, _MINOR_REUSE, rng)
    family_child, sibling_child, pupil, target = _split(
        child_of, [n_family, n_sib, n_teach, len(grooming)]
    )

    # Ordinary adults: the pool's ages mirror what is asked of it.
    parent_gap = np.where(
        rng.random(n_family) < 0.75, rng.uniform(20, 45, n_family), rng.uniform(45, 70, n_family)
    )
    parent_wanted = np.minimum(child_targets[:n_family] + parent_gap, 95.0)
    # Wanted ages are spread out, never clamped to a bound: a point mass of wanted ages
    # would pile those conversations onto the one account nearest to it.
    sibling_wanted = rng.uniform(18.0, 26.0, n_sib)
    romance_a_wanted = 18.0 + np.minimum(rng.gamma(2.0, 6.0, size=n_rom), 52.0)
    romance_b_wanted = 18.0 + (romance_a_wanted - 18.0) * rng.uniform(0.6, 1.0, n_rom)
    daytime_wanted = np.minimum(18.0 + rng.gamma(2.0, 11.0, size=2 * n_day), 95.0)
    adult_wanted = np.concatenate(
        [parent_wanted, sibling_wanted, romance_a_wanted, romance_b_wanted, daytime_wanted]
    )
    if n_adults is not None and not 2 <= n_adults <= max(len(adult_wanted), 2):
        raise ValueError(
            f"n_adults must be at most the number of ordinary adult slots "
            f"({len(adult_wanted)} here: one per parent, sibling and everyday conversation, "
            f"two per romance and everyday conversation), got {n_adults}"
        )
    adult_age, adult_of = _pool_from_demand(
        adult_wanted, _ADULT_REUSE, rng, min_size=2, size=n_adults
    )
    n_adults = len(adult_age)
    parent, sibling, romance_a, romance_b, _ = _split(
        adult_of, [n_family, n_sib, n_rom, n_rom, 2 * n_day]
    )
    # Ordinary contacts pick adults by activity (heavy-tailed), not by age.
    daytime = _heavy_tailed_pick(n_adults, 2 * n_day, 1.0, rng)

    # Teen peers: cohorts of six whose ages span under three years; pairs stay in a cohort.
    n_cohorts = math.ceil(2 * n_teen / (_TEEN_COHORT_SIZE * _TEEN_REUSE)) if n_teen else 0
    cohort_base = rng.integers(12, 16, size=n_cohorts).astype(np.float64)
    teen_age = np.repeat(cohort_base, _TEEN_COHORT_SIZE) + rng.uniform(
        0.0, 2.999, size=n_cohorts * _TEEN_COHORT_SIZE
    )

    # One table of all accounts: adults, teachers, groomers, minors, teens.
    true_age = np.concatenate([adult_age, teacher_age, groomer_age, minor_age, teen_age])
    base_teacher = n_adults
    base_groomer = base_teacher + n_teachers
    base_minor = base_groomer + n_groomers
    base_teen = base_minor + len(minor_age)

    a = np.zeros(n, dtype=np.int64)
    b = np.zeros(n, dtype=np.int64)
    a[idx["family"]], b[idx["family"]] = parent, base_minor + family_child
    a[idx["older_sibling"]], b[idx["older_sibling"]] = sibling, base_minor + sibling_child
    a[idx["teacher_coach"]], b[idx["teacher_coach"]] = base_teacher + teacher_of, base_minor + pupil
    a[grooming], b[grooming] = base_groomer + groomer_of, base_minor + target
    a[idx["adult_romance"]] = romance_a
    b[idx["adult_romance"]] = _other_than(romance_b, romance_a, n_adults)
    day_a, day_b = daytime[:n_day], _other_than(daytime[n_day:], daytime[:n_day], n_adults)
    n_special = n_teachers + n_groomers
    if n_day and n_special:
        # Teachers and groomers have ordinary adult contacts too.
        special = rng.random(n_day) < min(0.3, _SPECIAL_ADULT_CONVERSATIONS * n_special / n_day)
        day_a = np.where(special, base_teacher + rng.integers(0, n_special, size=n_day), day_a)
    a[idx["adult_daytime"]], b[idx["adult_daytime"]] = day_a, day_b
    cohort = base_teen + _TEEN_COHORT_SIZE * rng.integers(0, max(n_cohorts, 1), size=n_teen)
    first = rng.integers(0, _TEEN_COHORT_SIZE, size=n_teen)
    second = (first + rng.integers(1, _TEEN_COHORT_SIZE, size=n_teen)) % _TEEN_COHORT_SIZE
    a[idx["teen_peers"]], b[idx["teen_peers"]] = cohort + first, cohort + second

    # A is the older account.
    swap = true_age[a] < true_age[b]
    a, b = np.where(swap, b, a), np.where(swap, a, b)

    n_accounts = len(true_age)
    declared = np.floor(true_age)
    teen_claim = np.zeros(n_accounts, dtype=bool)
    teen_claim[base_groomer:base_minor] = rng.random(n_groomers) < _GROOMER_DECLARES_TEEN
    declared = np.where(teen_claim, rng.integers(15, 20, size=n_accounts), declared)
    declared[rng.random(n_accounts) < config.unknown_age_rate] = np.nan
    tz = config.tz_offsets[rng.choice(len(config.tz_offsets), size=n_accounts, p=config.tz_weights)]
    ids = 1_000_000 + account_offset + rng.permutation(n_accounts).astype(np.int64)
    return _Accounts(
        ids=ids,
        true_age=true_age,
        declared_age=declared.astype(np.float64),
        tz_offset_min=tz.astype(np.int64),
        a=a,
        b=b,
    )


# ---------------------------------------------------------------- conversations


def _by_scenario(field: str, scenario: IntArray) -> FloatArray:
    """A profile parameter for each conversation: shape (n,) or (n, k) for tuples."""
    values = np.array([getattr(p, field) for p in _PROFILES], dtype=np.float64)
    return values[scenario]


def _uniform_in(bounds: FloatArray, rng: np.random.Generator) -> FloatArray:
    """One uniform draw per row of an (n, 2) array of [low, high) bounds."""
    return bounds[:, 0] + (bounds[:, 1] - bounds[:, 0]) * rng.random(len(bounds))


def _lognormal_in(params: FloatArray, rng: np.random.Generator) -> FloatArray:
    """Lognormal draws per row of (median, sigma, min, max), clipped to [min, max]."""
    draws = params[:, 0] * np.exp(params[:, 1] * rng.standard_normal(len(params)))
    return np.clip(draws, params[:, 2], params[:, 3])


def _categorical(probs: FloatArray, rng: np.random.Generator) -> IntArray:
    """One category per row of an (n, k) array of probabilities."""
    cumulative = np.cumsum(probs, axis=1)
    u = rng.random(len(probs)) * cumulative[:, -1]
    category: IntArray = (u[:, None] >= cumulative).sum(axis=1).astype(np.int64)
    return category


def _beta(shapes: FloatArray, rng: np.random.Generator) -> FloatArray:
    return rng.beta(shapes[:, 0], shapes[:, 1])


@dataclass(frozen=True, slots=True)
class _Plan:
    """What each conversation will look like, before its events are drawn."""

    n_events: IntArray
    n_open: IntArray  # 0, 1 (request) or 2 (request, accept)
    n_end: IntArray  # closing block and/or report by the younger account
    has_block: BoolArray
    unanswered: BoolArray  # a request that was never accepted
    a_initiates: BoolArray
    span_s: FloatArray
    t0: FloatArray  # local seconds of the conversation's start
    warp: FloatArray  # time-warp exponent: > 1 means contact accelerates
    onset_u: FloatArray  # phase 2 starts this fraction into the body...
    move_within_s: FloatArray  # ...or, when > 0, at the first message after this delay
    c_open: IntArray
    c1: IntArray
    c2: IntArray
    a_share: FloatArray
    night1: FloatArray
    night2: FloatArray
    media: FloatArray  # (n, 3)
    external: FloatArray  # (n, 2)
    p_stray: FloatArray
    marked: BoolArray  # grooming: phase 2 starts with a media event or a secure channel
    asks_external: BoolArray  # grooming: the adult's first phase-2 message shares a handle


def _plan_conversations(scenario: IntArray, config: _Config, rng: np.random.Generator) -> _Plan:
    n = len(scenario)
    grooming = np.array([p.is_grooming for p in _PROFILES])[scenario]
    has_request = rng.random(n) < _by_scenario("p_request", scenario)
    accepted = has_request & (rng.random(n) < _by_scenario("p_accept", scenario))
    unanswered = has_request & ~accepted
    has_block = rng.random(n) < _by_scenario("p_block", scenario)
    has_report = rng.random(n) < _by_scenario("p_report", scenario)
    n_open = has_request.astype(np.int64) + accepted
    n_end = has_block.astype(np.int64) + has_report

    wanted = np.round(_lognormal_in(_by_scenario("events", scenario), rng)).astype(np.int64)
    min_body = np.where(unanswered & ~grooming, 0, 1)
    max_body = np.where(unanswered, _by_scenario("max_unanswered", scenario), 10**9)
    n_body = np.clip(wanted - n_open - n_end, min_body, max_body.astype(np.int64))

    first, last = config.window
    span_s = np.minimum(
        _lognormal_in(_by_scenario("span_hours", scenario), rng) * HOUR_S, last - first - 1
    )
    t0 = first + rng.random(n) * (last - first - span_s)
    # Conversations shorter than a day start at a scenario-typical local hour.
    short = span_s <= DAY_S
    start_hour = _uniform_in(_by_scenario("start_hour", scenario), rng)
    same_day = np.floor(t0 / DAY_S) * DAY_S + start_hour * HOUR_S
    same_day = np.where(same_day < first, same_day + DAY_S, same_day)
    same_day = np.where(same_day + span_s >= last, same_day - DAY_S, same_day)
    t0 = np.where(short, same_day, t0)

    c1 = _categorical(_by_scenario("phase1_channel", scenario), rng)
    phase2_channel = _by_scenario("phase2_channel", scenario)
    if config.secure_channel_mix is not None:
        phase2_channel[grooming] = config.secure_channel_mix
    c2 = np.maximum(c1, _categorical(phase2_channel, rng))
    quiet = rng.random(n) < _by_scenario("p_quiet", scenario)
    c2 = np.where(quiet, c1, c2)
    night1 = _beta(_by_scenario("night_phase1", scenario), rng)
    night2 = np.where(quiet, night1, _beta(_by_scenario("night_phase2", scenario), rng))
    # Grooming: a share of conversations asks to move to another app (at least once).
    asks_external = grooming & ~quiet & (rng.random(n) < config.move_platform_rate)
    external = np.where(
        (quiet | (grooming & ~asks_external))[:, None], 0.0, _by_scenario("external", scenario)
    )
    p_stray = np.where(quiet, 0.0, _by_scenario("p_stray", scenario))
    public_open = rng.random(n) < _by_scenario("p_request_public", scenario)
    return _Plan(
        n_events=n_open + n_body + n_end,
        n_open=n_open,
        n_end=n_end,
        has_block=has_block,
        unanswered=unanswered,
        a_initiates=rng.random(n) < _by_scenario("p_a_initiates", scenario),
        span_s=span_s,
        t0=t0,
        warp=_uniform_in(_by_scenario("escalation", scenario), rng),
        onset_u=_uniform_in(_by_scenario("onset_fraction", scenario), rng),
        move_within_s=_uniform_in(_by_scenario("move_within_min", scenario), rng) * 60.0,
        c_open=np.where(public_open, Channel.PUBLIC, Channel.GROUP).astype(np.int64),
        c1=c1,
        c2=c2,
        a_share=_beta(_by_scenario("a_share", scenario), rng),
        night1=night1,
        night2=night2,
        media=_by_scenario("media", scenario),
        external=external,
        p_stray=p_stray,
        marked=grooming,
        asks_external=asks_external,
    )


# ---------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class _Events:
    """Events in generation order: grouped by conversation, in time order within it."""

    conv: IntArray  # generation index of the conversation
    timestamp: IntArray
    from_a: BoolArray
    channel: IntArray
    event: IntArray


def _time_of_day(night: BoolArray, rng: np.random.Generator) -> FloatArray:
    """Seconds after local midnight: night times cluster after 22:00, day times in the
    afternoon and evening."""
    n = len(night)
    night_s = _NIGHT_START_S + np.minimum(rng.exponential(2.5 * HOUR_S, n), 8 * HOUR_S - 1)
    day_s = 7 * HOUR_S + 15 * HOUR_S * rng.beta(2.0, 1.6, n)
    return np.where(night, night_s % DAY_S, day_s)


def _draw_events(
    plan: _Plan, accounts: _Accounts, window: tuple[int, int], rng: np.random.Generator
) -> _Events:
    n_events = plan.n_events
    total = int(n_events.sum())
    conv = np.repeat(np.arange(len(n_events)), n_events)
    starts = np.cumsum(n_events) - n_events
    pos = np.arange(total) - starts[conv]

    # Stratified times, warped so that contact accelerates when warp > 1; increasing in pos.
    frac = ((pos + rng.random(total)) / n_events[conv]) ** (1.0 / plan.warp[conv])
    offset = plan.span_s[conv] * frac
    local = plan.t0[conv] + offset

    n_body = n_events - plan.n_open - plan.n_end
    body = (pos >= plan.n_open[conv]) & (pos < (n_events - plan.n_end)[conv])
    timed = plan.move_within_s > 0
    early = np.bincount(
        conv, weights=body & (offset < plan.move_within_s[conv]), minlength=len(n_events)
    )
    into_body = np.where(timed, early, np.floor(plan.onset_u * n_body)).astype(np.int64)
    phase2_start = plan.n_open + np.clip(into_body, 0, np.maximum(n_body - 1, 0))
    phase2 = pos >= phase2_start[conv]

    # Conversations longer than a day: each event keeps its day, but its time of day is
    # drawn (night with the phase's probability); times are then re-sorted so that the
    # i-th event of a conversation is still its i-th in time.
    long_conv = (plan.span_s > DAY_S)[conv]
    night = rng.random(total) < np.where(phase2, plan.night2[conv], plan.night1[conv])
    retimed = np.floor(local / DAY_S) * DAY_S + _time_of_day(night, rng)
    local = np.where(long_conv, retimed, local)
    local = np.clip(local[np.lexsort((local, conv))], window[0], window[1] - 1)

    event = np.full(total, EventType.MESSAGE, dtype=np.int64)
    request = (pos == 0) & (plan.n_open[conv] >= 1)
    accept = (pos == 1) & (plan.n_open[conv] == 2)
    closing_pos = pos - (n_events - plan.n_end)[conv]
    block = (closing_pos == 0) & plan.has_block[conv]
    report = (closing_pos >= 0) & ~block
    event[request] = EventType.CONTACT_REQUEST
    event[accept] = EventType.CONTACT_ACCEPT
    event[block] = EventType.BLOCK
    event[report] = EventType.REPORT

    a_init = plan.a_initiates[conv]
    # Grooming: the child answers more once trust is built (reciprocity rises in phase 2).
    a_share = plan.a_share[conv]
    a_share = np.where(phase2 & plan.marked[conv], 0.5 + _RECIPROCITY * (a_share - 0.5), a_share)
    from_a = np.where(plan.unanswered[conv], a_init, rng.random(total) < a_share)
    from_a = np.where(request, a_init, np.where(accept, ~a_init, from_a))
    # Blocks and reports come from the younger account, or from whoever got the unwanted request.
    from_a = np.where(block | report, plan.unanswered[conv] & ~a_init, from_a)

    media_p = plan.media[conv]
    p_media = np.where(phase2, np.where(from_a, media_p[:, 1], media_p[:, 2]), media_p[:, 0])
    event[body & (rng.random(total) < p_media)] = EventType.MEDIA

    channel = np.where(phase2, plan.c2[conv], plan.c1[conv])
    channel = np.where(request | accept, plan.c_open[conv], channel)
    stray = body & (rng.random(total) < plan.p_stray[conv])
    channel = np.where(stray, rng.integers(0, Channel.DIRECT + 1, size=total), channel)
    ext = plan.external[conv]
    shares_handle = rng.random(total) < np.where(from_a, ext[:, 0], ext[:, 1])
    channel = np.where(body & phase2 & shares_handle, Channel.EXTERNAL, channel)

    # Grooming: phase 2 opens on a secure channel, or (without one) with the adult's media.
    at_onset = body & (pos == phase2_start[conv]) & plan.marked[conv]
    secure_path = (plan.c2 >= Channel.EPHEMERAL)[conv]
    channel = np.where(
        at_onset & secure_path & (channel != Channel.EXTERNAL), plan.c2[conv], channel
    )
    media_onset = at_onset & ~secure_path
    event[media_onset] = EventType.MEDIA
    from_a = from_a | media_onset
    # The adult's first message in phase 2 shares a handle where the plan asks for one.
    candidate = np.flatnonzero(
        body & phase2 & from_a & (event == EventType.MESSAGE) & plan.asks_external[conv]
    )
    if len(candidate):
        first_of_conv = np.ones(len(candidate), dtype=bool)
        first_of_conv[1:] = conv[candidate[1:]] != conv[candidate[:-1]]
        channel[candidate[first_of_conv]] = Channel.EXTERNAL

    tz_b = accounts.tz_offset_min[accounts.b][conv]
    timestamp = np.floor(local).astype(np.int64) - 60 * tz_b
    return _Events(conv=conv, timestamp=timestamp, from_a=from_a, channel=channel, event=event)


# ---------------------------------------------------------------- output


_CHANNEL_NAMES: Final = np.asarray(CHANNEL_NAMES)
_EVENT_NAMES: Final = np.asarray(EVENT_NAMES)
_IS_GROOMING: Final = np.array([p.is_grooming for p in _PROFILES])


def _generate_chunk(
    n: int,
    n_grooming: int,
    conv_offset: int,
    account_offset: int,
    n_adults: int | None,
    config: _Config,
    rng: np.random.Generator,
) -> _Chunk:
    """Accounts, conversations, events and labels of one self-contained chunk."""
    scenario = _allocate_scenarios(n, n_grooming, config.benign, config.grooming, rng)
    accounts = _assign_accounts(scenario, config, n_adults, account_offset, rng)
    plan = _plan_conversations(scenario, config, rng)
    events = _draw_events(plan, accounts, config.window, rng)
    shuffled = rng.permutation(n).astype(np.int64)  # conversation code of each generated one
    noise = rng.random(n)  # drawn last: label noise never changes the events

    # Reorder conversations by id (= code); events stay in time order within each.
    generated = np.empty(n, dtype=np.int64)
    generated[shuffled] = np.arange(n, dtype=np.int64)  # generated index of each code
    counts = plan.n_events[generated]
    starts_new = np.cumsum(counts) - counts
    starts_old = (np.cumsum(plan.n_events) - plan.n_events)[generated]
    order = np.repeat(starts_old - starts_new, counts) + np.arange(int(counts.sum()))
    conv = events.conv[order]
    from_a = events.from_a[order]
    a, b = accounts.a[conv], accounts.b[conv]
    sender = np.where(from_a, a, b)
    recipient = np.where(from_a, b, a)
    timestamp = events.timestamp[order]
    channel = events.channel[order]
    event = events.event[order]
    columns: dict[str, npt.NDArray[Any]] = {
        "conversation_id": conv_offset + shuffled[conv],
        "timestamp": timestamp,
        "sender_id": accounts.ids[sender],
        "recipient_id": accounts.ids[recipient],
        "sender_age": accounts.declared_age[sender],
        "recipient_age": accounts.declared_age[recipient],
        "channel": channel,
        "event": event,
        "recipient_tz_offset_min": accounts.tz_offset_min[recipient],
    }

    is_true = _IS_GROOMING[scenario][generated]
    child_tz = accounts.tz_offset_min[accounts.b][conv]
    onset = _onset_index(timestamp, child_tz, channel, event, starts_new, is_true)
    labels = Labels(
        conversation_id=conv_offset + np.arange(n, dtype=np.int64),
        is_grooming=is_true ^ (noise[generated] < config.label_noise),
        onset_index=onset,
        adult_id=accounts.ids[accounts.a][generated],
        scenario=np.asarray(SCENARIOS)[scenario][generated],
        is_grooming_true=is_true,
    )
    return _Chunk(columns=columns, labels=labels, n_accounts=len(accounts.ids))


def _onset_index(
    timestamp: IntArray,
    child_tz: IntArray,
    channel: IntArray,
    event: IntArray,
    segment_starts: IntArray,
    is_grooming: BoolArray,
) -> IntArray:
    """First event of each grooming conversation that departs from ordinary contact.

    That is a message or media at night (22:00-06:00) in the child's local time, any
    event on an ephemeral, encrypted or external channel, or any media event. Events
    are grouped by conversation (starting at ``segment_starts``) in time order.
    """
    time_of_day = (timestamp + 60 * child_tz) % DAY_S
    media = event == EventType.MEDIA
    communication = (event == EventType.MESSAGE) | media
    at_night = (time_of_day >= _NIGHT_START_S) | (time_of_day < _NIGHT_END_S)
    marker = (communication & at_night) | (channel >= Channel.EPHEMERAL) | media
    never = np.iinfo(np.int64).max
    index = np.where(marker, np.arange(len(marker), dtype=np.int64), never)
    first = np.minimum.reduceat(index, segment_starts) if len(marker) else index
    if np.any(is_grooming & (first == never)):
        raise RuntimeError("a grooming conversation has no onset event: generator bug")
    return np.where(is_grooming, first - segment_starts, -1).astype(np.int64)


def _arrow_schemas() -> tuple[pa.Schema, pa.Schema]:
    import pyarrow as pa

    dictionary = pa.dictionary(pa.int8(), pa.string())
    events = pa.schema(
        [
            ("conversation_id", pa.int64()),
            ("timestamp", pa.int64()),
            ("sender_id", pa.int64()),
            ("recipient_id", pa.int64()),
            ("sender_age", pa.float64()),
            ("recipient_age", pa.float64()),
            ("channel", dictionary),
            ("event", dictionary),
            ("recipient_tz_offset_min", pa.int64()),
        ]
    )
    labels = pa.schema(
        [
            ("conversation_id", pa.int64()),
            ("is_grooming", pa.bool_()),
            ("onset_index", pa.int64()),
            ("adult_id", pa.int64()),
            ("scenario", pa.string()),
            ("is_grooming_true", pa.bool_()),
        ]
    )
    return events, labels


def _events_arrow(columns: dict[str, npt.NDArray[Any]]) -> pa.Table:
    """One chunk's coded columns as an Arrow table of the events schema of :func:`_arrow_schemas`
    (unknown ages null)."""
    import pyarrow as pa

    events_schema, _ = _arrow_schemas()
    arrays: list[pa.Array] = []
    for name in events_schema.names:
        values = columns[name]
        if name in ("channel", "event"):
            names = CHANNEL_NAMES if name == "channel" else EVENT_NAMES
            arrays.append(
                pa.DictionaryArray.from_arrays(
                    pa.array(values.astype(np.int8)), pa.array(list(names), pa.string())
                )
            )
        elif values.dtype.kind == "f":
            arrays.append(pa.array(values, mask=np.isnan(values)))
        else:
            arrays.append(pa.array(values))
    return pa.Table.from_arrays(arrays, schema=events_schema)
