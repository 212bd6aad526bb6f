"""The ``report`` events of a batch job (private): each is a user report (schema v1: its
sender reports its recipient) that ``riskscore score --queue`` files in the review queue,
as ``riskscore stream`` and ``riskscore serve`` file those they receive
(:func:`riskscore.moderation.batch_intake.batch_items`). Kept with the risk of the conversation
reported once it is scored: in memory from the job's scores, out of core each chunk's
from that chunk's scores (:mod:`riskscore.batch.out_of_core`; a conversation is whole in
one chunk), so both give the same reports. A job whose reports nothing reads (``score``
without ``--queue``) neither collects them nor looks their risk up.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from riskscore.io.groups import text_ids_of_chunk
from riskscore.io.messages import MessageTable
from riskscore.io.raw import as_python_value
from riskscore.io.schema import EventType
from riskscore.model.scores import ScoreTable

__all__ = ["ReportEvents", "age_in_conversation", "id_key"]

AnyArray = npt.NDArray[Any]
FloatArray = npt.NDArray[np.float64]

_REPORT = int(EventType.REPORT)


@dataclass(frozen=True, slots=True)
class ReportEvents:
    """The ``report`` events of kept rows, in input order within each chunk; ``risk`` is
    the reported conversation's risk once scored (NaN before)."""

    conversation_id: AnyArray
    reporter_id: AnyArray
    reported_id: AnyArray
    reporter_age: FloatArray
    reported_age: FloatArray
    timestamp: npt.NDArray[np.int64]
    channel: npt.NDArray[np.uint8]
    risk: FloatArray

    @classmethod
    def of(cls, messages: MessageTable) -> ReportEvents:
        """The report events among ``messages`` (group rooms already split into pairs)."""
        rows = np.flatnonzero(messages.event == _REPORT)
        return cls(
            messages.conversation_id[rows],
            messages.sender_id[rows],
            messages.recipient_id[rows],
            messages.sender_age[rows],
            messages.recipient_age[rows],
            messages.timestamp[rows],
            messages.channel[rows],
            np.full(len(rows), np.nan),
        )

    @classmethod
    def concat(cls, parts: Sequence[ReportEvents]) -> ReportEvents:
        """The parts in order, as one."""
        if not parts:
            return cls.none()
        return cls(*(np.concatenate([getattr(p, name) for p in parts]) for name in _COLUMNS))

    def as_text_ids(self, text_ids: bool) -> ReportEvents:
        """These reports with their chunk's conversation ids as its scores have them
        (:func:`riskscore.batch.chunk_states.text_order`): with ``text_ids`` (a file with
        group rooms, where every conversation id is text, as in memory), integer ids as
        their decimal text (:func:`riskscore.io.groups.text_ids_of_chunk`)."""
        text = text_ids_of_chunk(self.conversation_id, text_ids)
        return self if text is self.conversation_id else replace(self, conversation_id=text)

    @classmethod
    def none(cls) -> ReportEvents:
        """No report events."""
        empty = np.empty(0)
        return cls(
            empty.astype(object), empty.astype(object), empty.astype(object), empty, empty,
            empty.astype(np.int64), empty.astype(np.uint8), empty,
        )  # fmt: skip

    def __len__(self) -> int:
        return len(self.timestamp)

    def with_scores(self, scores: ScoreTable) -> ReportEvents:
        """These reports with the risk of each reported conversation found among
        ``scores`` (the scores of a job, or of the chunk the reports come from; reports of
        other conversations keep theirs), and each age their event does not declare taken
        from the conversation, as :func:`age_in_conversation` reads it (the conversation's
        ``child_age`` or ``adult_age`` of that account). Ids match by value and type, as
        everywhere (``1`` is not ``"1"``); the reports are few, so the scores are scanned
        once for them."""
        if not len(self) or not len(scores):
            return self
        wanted: dict[Any, list[int]] = {}
        for i, cid in enumerate(self.conversation_id.tolist()):
            wanted.setdefault((type(cid), cid), []).append(i)
        ids = np.asarray(scores.conversation_id)
        rows = np.arange(len(ids))
        if ids.dtype.kind in "iu" and self.conversation_id.dtype.kind in "iu":
            # integer ids: the few rows reported found at once, then read as below
            rows = np.flatnonzero(np.isin(ids, self.conversation_id))
        risk, reporter_age, reported_age = (
            self.risk.copy(), self.reporter_age.copy(), self.reported_age.copy()
        )  # fmt: skip
        reporters, reported = self.reporter_id.tolist(), self.reported_id.tolist()
        for row, cid in zip(rows.tolist(), ids[rows].tolist(), strict=True):
            roles = (
                scores.adult_id[row], scores.child_id[row],
                float(scores.adult_age[row]), float(scores.child_age[row]),
            )  # fmt: skip
            for i in wanted.get((type(cid), cid), ()):
                risk[i] = scores.risk[row]
                reporter_age[i] = age_in_conversation(reporter_age[i], reporters[i], *roles)
                reported_age[i] = age_in_conversation(reported_age[i], reported[i], *roles)
        return replace(self, risk=risk, reporter_age=reporter_age, reported_age=reported_age)


_COLUMNS = tuple(ReportEvents.__dataclass_fields__)


def age_in_conversation(
    declared: float, account: Any, adult_id: Any, child_id: Any, adult_age: float, child_age: float
) -> float:
    """The age of ``account`` (a report's sender or recipient) as its report is filed: the
    age its ``report`` event declares, else (NaN) the age the account declared in the
    conversation reported, as the conversation's features read a participant's age (the
    last it declared there, docs/features.md; ``child_age`` when it is the conversation's
    ``child_id``, ``adult_age`` when its ``adult_id``); NaN when neither is known. A child
    who declared an age in the conversation reports as a child (its report jumps the
    queue) whether or not the platform repeats the age on the report event.

    Examples
    --------
    >>> age_in_conversation(float("nan"), "k", "a", "k", 34.0, 12.0)
    12.0
    >>> age_in_conversation(13.0, "k", "a", "k", 34.0, 12.0)  # the event's own first
    13.0
    >>> age_in_conversation(float("nan"), 7, "a", "7", 34.0, 12.0)  # 7 is not "7"
    nan
    """
    if not math.isnan(declared):
        return float(declared)
    key = id_key(account)
    if key == id_key(child_id):
        return float(child_age)
    if key == id_key(adult_id):
        return float(adult_age)
    return math.nan


def id_key(value: Any) -> tuple[type, Any]:
    """An id as compared, a key of a dict: by type and value (``7`` is not ``"7"``), a
    NumPy integer as the Python one."""
    value = as_python_value(value)
    return (type(value), value)
