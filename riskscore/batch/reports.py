"""The ``report`` events of a batch job (private): each is a user report (schema v1: its
sender reports its recipient) that ``riskscore score --queue`` files in the review queue,
as ``riskscore stream`` and ``riskscore serve`` file those they receive
(:func:`riskscore.moderation.intake.user_reports`). Kept with the risk of the conversation
reported once it is scored: in memory from the job's scores, out of core each chunk's
from that chunk's scores (:mod:`riskscore.batch.out_of_core`; a conversation is whole in
one chunk), so both give the same reports. A job whose reports nothing reads (``score``
without ``--queue``) neither collects them nor looks their risk up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from riskscore.io.groups import text_ids_of_chunk
from riskscore.io.messages import MessageTable
from riskscore.io.schema import EventType

__all__ = ["ReportEvents"]

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

    def with_risk(self, conversation_id: AnyArray, risk: FloatArray) -> ReportEvents:
        """These reports with the risk of each reported conversation found among
        ``conversation_id`` (the scores of a job, or of the chunk the reports come from;
        reports of other conversations keep theirs). Ids match by value and type, as
        everywhere (``1`` is not ``"1"``); the reports are few, so the scores are scanned
        once for them."""
        if not len(self) or not len(conversation_id):
            return self
        wanted: dict[Any, list[int]] = {}
        for i, cid in enumerate(self.conversation_id.tolist()):
            wanted.setdefault((type(cid), cid), []).append(i)
        ids, risks = np.asarray(conversation_id), np.asarray(risk, dtype=np.float64)
        if ids.dtype.kind in "iu" and self.conversation_id.dtype.kind in "iu":
            # integer ids: the few rows reported found at once, then read as below
            rows = np.flatnonzero(np.isin(ids, self.conversation_id))
            ids, risks = ids[rows], risks[rows]
        new = self.risk.copy()
        for row, cid in enumerate(ids.tolist()):
            for i in wanted.get((type(cid), cid), ()):
                new[i] = risks[row]
        return replace(self, risk=new)


_COLUMNS = tuple(ReportEvents.__dataclass_fields__)
