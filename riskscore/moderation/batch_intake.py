"""The alerts and user reports a batch job files in the review queue
(``riskscore score --queue``), with the ids an online scorer gives the same events."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import numpy as np

from riskscore.batch.reports import ReportEvents
from riskscore.io.given_ids import ACCOUNT_ID_COLUMNS, given_id
from riskscore.io.schema import CHANNEL_NAMES
from riskscore.moderation.user_reports import UserReport
from riskscore.policy import Alert
from riskscore.policy.alerts import given_alerts

__all__ = ["batch_items"]


def batch_items(
    alerts: Sequence[Alert], events: ReportEvents, decimal_ids: Collection[str] = ()
) -> tuple[list[Alert], list[UserReport]]:
    """The alerts and user reports a batch job files (``riskscore score --queue``), with
    the ids the online scorer gives the same events, so that ``riskscore score --queue``
    and ``riskscore stream --queue`` of one conversation make one review case.

    ``decimal_ids`` names the events' id columns of integers the job held as decimal text
    because one of them is beyond int64, or a group room's pair id is text beside them
    (:attr:`riskscore.batch.score.ScoreResult.decimal_id_columns`): their ids are those
    integers again (:func:`~riskscore.io.given_ids.given_id`), where an online scorer,
    reading each event alone, holds every integer as itself. Text ids stay text (``"6"``
    is not ``6``), and so do pair ids. Each
    ``report`` event is a user report: its sender reports its recipient, at the event's
    time, with the risk of the conversation reported (as
    :func:`~riskscore.moderation.user_reports.report_of_event` files those of a stream)."""
    conversations = "conversation_id" in decimal_ids
    accounts = any(name in decimal_ids for name in ACCOUNT_ID_COLUMNS)

    def conversation(value: Any) -> Any:
        return given_id(value, conversations)

    def account(value: Any) -> Any:
        return given_id(value, accounts)

    risk = np.where(np.isnan(events.risk), 0.0, events.risk)
    reports = [
        UserReport(
            conversation(cid), account(reporter), account(reported), age, ts,
            CHANNEL_NAMES[channel], r, reported_age,
        )
        for cid, reporter, reported, age, reported_age, ts, channel, r in zip(
            events.conversation_id.tolist(), events.reporter_id.tolist(),
            events.reported_id.tolist(), events.reporter_age.tolist(),
            events.reported_age.tolist(), events.timestamp.tolist(), events.channel.tolist(),
            risk.tolist(), strict=True,
        )
    ]  # fmt: skip
    return given_alerts(alerts, decimal_ids), reports
