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
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeGuard

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
    "Labels",
    "SyntheticData",
    "generate",
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

#: UTC offsets (minutes) of accounts and how common each is.
_TZ_OFFSETS: Final = np.array([0, 60, 120, -300, -360, -480, 330, 600], dtype=np.int64)
_TZ_WEIGHTS: Final = np.array([0.35, 0.30, 0.07, 0.10, 0.04, 0.06, 0.04, 0.04])

#: Relative frequency of a grooming target's age, for ages 2..17: mostly 11-15, young rare.
_VICTIM_AGE_WEIGHTS: Final = np.array(
    [0.2, 0.2, 0.3, 0.4, 0.6, 0.8, 1.2, 2.0, 3.5, 7.0, 10.0, 12.0, 12.0, 10.0, 6.0, 4.0]
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
        Whether the conversation is grooming (bool).
    onset_index : array of shape (n_conversations,)
        0-based index, within the conversation in time order, of its first event
        showing grooming behaviour; -1 for benign conversations (int64). Defined in
        ``docs/synthetic.md``.
    adult_id : array of shape (n_conversations,)
        Account id of the older participant; the groomer in grooming conversations.
    scenario : array of shape (n_conversations,)
        Name of the scenario that generated the conversation (str).

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

    def __post_init__(self) -> None:
        n = len(self.conversation_id)
        for name in _LABEL_COLUMNS:
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
        >>> generate(10, seed=0).labels.to_arrow().column_names
        ['conversation_id', 'is_grooming', 'onset_index', 'adult_id', 'scenario']
        """
        import pyarrow as pa

        return pa.table(
            {
                "conversation_id": self.conversation_id,
                "is_grooming": pa.array(self.is_grooming, type=pa.bool_()),
                "onset_index": pa.array(self.onset_index, type=pa.int64()),
                "adult_id": self.adult_id,
                "scenario": pa.array(self.scenario.astype(str), type=pa.string()),
            }
        )

    @classmethod
    def from_arrow(cls, table: pa.Table) -> Labels:
        """Labels from a table written by :meth:`to_arrow` (e.g. ``labels.parquet``).

        Parameters
        ----------
        table : pyarrow.Table
            Columns ``conversation_id``, ``is_grooming``, ``onset_index``,
            ``adult_id`` and ``scenario``.

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
        for name in _LABEL_COLUMNS:
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
) -> SyntheticData:
    """Generate synthetic conversations (metadata only) with grooming labels.

    Parameters
    ----------
    n_conversations : int
        Number of conversations, at least 1. Each is between exactly two accounts.
    prevalence : float, default 0.01
        Share of grooming conversations, in [0, 1]. Exactly
        ``round(n_conversations * prevalence)`` conversations are grooming (halves
        round up), which can be 0 for small samples.
    seed : int or None, default None
        Seed of the generator's own ``np.random.default_rng``; ``None`` draws fresh
        entropy. Global random state is never used.
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

    Returns
    -------
    SyntheticData
        ``messages`` (a :class:`~riskscore.MessageTable`) and ``labels``.

    Raises
    ------
    ValueError
        A parameter is out of range; the message names it and its value.

    Examples
    --------
    >>> from riskscore.synthetic import generate
    >>> data = generate(100, prevalence=0.05, seed=7)
    >>> data.messages.n_conversations, int(data.labels.is_grooming.sum())
    (100, 5)
    >>> bool((data.labels.onset_index[~data.labels.is_grooming] == -1).all())
    True
    """
    benign, grooming = _validate(
        n_conversations, prevalence, seed, unknown_age_rate, start, days, benign_mix, grooming_mix
    )
    rng = np.random.default_rng(seed)
    scenario = _allocate_scenarios(n_conversations, prevalence, benign, grooming, rng)
    accounts = _assign_accounts(scenario, unknown_age_rate, rng)
    window = (start + _EARLY_MARGIN_S, start + days * DAY_S - _LATE_MARGIN_S)
    plan = _plan_conversations(scenario, window, rng)
    events = _draw_events(plan, accounts, window, rng)
    conversation_id = rng.permutation(n_conversations).astype(np.int64)
    messages = read_messages(_columns(events, accounts, conversation_id))
    labels = _labels(messages, scenario, accounts, conversation_id)
    return SyntheticData(messages=messages, labels=labels)


def _is_int(value: object) -> TypeGuard[int | np.integer[Any]]:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_real(value: object) -> TypeGuard[int | float | np.integer[Any] | np.floating[Any]]:
    return (_is_int(value) or isinstance(value, (float, np.floating))) and math.isfinite(value)


def _validate(
    n_conversations: object,
    prevalence: object,
    seed: object,
    unknown_age_rate: object,
    start: object,
    days: object,
    benign_mix: Mapping[str, float] | None,
    grooming_mix: Mapping[str, float] | None,
) -> tuple[dict[str, float], dict[str, float]]:
    """Check every parameter; return the benign and grooming mixes as weights summing to 1."""
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
    return _mix("benign_mix", benign_mix, BENIGN_MIX), _mix(
        "grooming_mix", grooming_mix, GROOMING_MIX
    )


def _mix(
    parameter: str, given: Mapping[str, float] | None, default: Mapping[str, float]
) -> dict[str, float]:
    """Scenario weights, checked and scaled to sum to 1 (missing names weigh 0)."""
    weights = dict(default if given is None else given)
    unknown = sorted(set(weights) - set(default))
    if unknown:
        raise ValueError(
            f"{parameter} has unknown scenario(s) {unknown}; expected keys from {list(default)}"
        )
    for name, weight in weights.items():
        if not _is_real(weight) or weight < 0:
            raise ValueError(f"{parameter}[{name!r}] must be a number >= 0, got {weight!r}")
    total = sum(float(w) for w in weights.values())
    if total <= 0:
        raise ValueError(f"{parameter} must give some scenario a weight > 0, got {given!r}")
    return {name: float(weights.get(name, 0.0)) / total for name in default}


# ---------------------------------------------------------------- scenarios


def _allocate_scenarios(
    n: int,
    prevalence: float,
    benign_mix: Mapping[str, float],
    grooming_mix: Mapping[str, float],
    rng: np.random.Generator,
) -> IntArray:
    """Scenario code of each conversation, grouped by code.

    The grooming count is exact; benign counts follow the mix by largest remainder.
    Grooming variants are drawn per conversation.
    """
    n_grooming = min(n, math.floor(n * prevalence + 0.5))
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
    targets: FloatArray, reuse: float, rng: np.random.Generator, min_size: int = 1
) -> tuple[FloatArray, IntArray]:
    """Accounts (sorted ages) for slots that want the given ages, each used ~``reuse`` times.

    The pool's ages are a random subset of the wanted ages, so the pool mirrors the
    demand; every slot then takes the account nearest its wanted age.
    """
    n = len(targets)
    if n == 0:
        return np.empty(0), np.empty(0, dtype=np.int64)
    size = min(n, max(min_size, math.ceil(n / reuse)))
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
    scenario: IntArray, unknown_age_rate: float, rng: np.random.Generator
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
            _age_from_weights(_FAMILY_CHILD_AGE_WEIGHTS, n_family, rng),
            _age_from_weights(_SIBLING_AGE_WEIGHTS, n_sib, rng),
            _age_from_weights(_PUPIL_AGE_WEIGHTS, n_teach, rng),
            _age_from_weights(_VICTIM_AGE_WEIGHTS, len(grooming), rng),
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
    adult_age, adult_of = _pool_from_demand(
        np.concatenate(
            [parent_wanted, sibling_wanted, romance_a_wanted, romance_b_wanted, daytime_wanted]
        ),
        _ADULT_REUSE,
        rng,
        min_size=2,
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
    declared[rng.random(n_accounts) < unknown_age_rate] = np.nan
    tz = _TZ_OFFSETS[rng.choice(len(_TZ_OFFSETS), size=n_accounts, p=_TZ_WEIGHTS)]
    ids = 1_000_000 + rng.permutation(n_accounts).astype(np.int64)
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


def _plan_conversations(
    scenario: IntArray, window: tuple[int, int], rng: np.random.Generator
) -> _Plan:
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

    first, last = window
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
    c2 = np.maximum(c1, _categorical(_by_scenario("phase2_channel", scenario), rng))
    quiet = rng.random(n) < _by_scenario("p_quiet", scenario)
    c2 = np.where(quiet, c1, c2)
    night1 = _beta(_by_scenario("night_phase1", scenario), rng)
    night2 = np.where(quiet, night1, _beta(_by_scenario("night_phase2", scenario), rng))
    external = np.where(quiet[:, None], 0.0, _by_scenario("external", scenario))
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
    from_a = np.where(plan.unanswered[conv], a_init, rng.random(total) < plan.a_share[conv])
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

    tz_b = accounts.tz_offset_min[accounts.b][conv]
    timestamp = np.floor(local).astype(np.int64) - 60 * tz_b
    return _Events(conv=conv, timestamp=timestamp, from_a=from_a, channel=channel, event=event)


# ---------------------------------------------------------------- output


_CHANNEL_NAMES: Final = np.asarray(CHANNEL_NAMES)
_EVENT_NAMES: Final = np.asarray(EVENT_NAMES)


def _columns(
    events: _Events, accounts: _Accounts, conversation_id: IntArray
) -> dict[str, npt.NDArray[Any]]:
    """Schema v1 columns for :func:`riskscore.read_messages`."""
    a = accounts.a[events.conv]
    b = accounts.b[events.conv]
    sender = np.where(events.from_a, a, b)
    recipient = np.where(events.from_a, b, a)
    return {
        "conversation_id": conversation_id[events.conv],
        "timestamp": events.timestamp,
        "sender_id": accounts.ids[sender],
        "recipient_id": accounts.ids[recipient],
        "sender_age": accounts.declared_age[sender],
        "recipient_age": accounts.declared_age[recipient],
        "channel": _CHANNEL_NAMES[events.channel],
        "event": _EVENT_NAMES[events.event],
        "recipient_tz_offset_min": accounts.tz_offset_min[recipient],
    }


def _labels(
    messages: MessageTable, scenario: IntArray, accounts: _Accounts, conversation_id: IntArray
) -> Labels:
    """Labels in the table's conversation order, with onsets found in the events."""
    generated = np.argsort(conversation_id)  # generation index of each sorted conversation
    is_grooming = np.array([p.is_grooming for p in _PROFILES])[scenario][generated]
    child_tz = accounts.tz_offset_min[accounts.b][generated]
    return Labels(
        conversation_id=messages.conversations,
        is_grooming=is_grooming,
        onset_index=_onset_index(messages, is_grooming, child_tz),
        adult_id=accounts.ids[accounts.a][generated],
        scenario=np.asarray(SCENARIOS)[scenario][generated],
    )


def _onset_index(messages: MessageTable, is_grooming: BoolArray, child_tz: IntArray) -> IntArray:
    """First event of each grooming conversation that departs from ordinary contact.

    That is a message or media at night (22:00-06:00) in the child's local time, any
    event on an ephemeral, encrypted or external channel, or any media event.
    """
    local_s = messages.timestamp + 60 * child_tz[messages.conversation_code]
    time_of_day = local_s % DAY_S
    event = messages.event
    media = event == EventType.MEDIA
    communication = (event == EventType.MESSAGE) | media
    at_night = (time_of_day >= _NIGHT_START_S) | (time_of_day < _NIGHT_END_S)
    marker = (communication & at_night) | (messages.channel >= Channel.EPHEMERAL) | media
    never = np.iinfo(np.int64).max
    first = np.minimum.reduceat(
        np.where(marker, messages.position_in_conversation, never), messages.segment_starts
    )
    if np.any(is_grooming & (first == never)):
        raise RuntimeError("a grooming conversation has no onset event: generator bug")
    return np.where(is_grooming, first, -1).astype(np.int64)
