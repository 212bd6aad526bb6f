"""Moderation: what happens after an alert.

- :mod:`~riskscore.moderation.queue`: :class:`ReviewQueue`, alerts and user reports ranked
  for moderators in one SQLite file, with decisions and an audit log.
- :mod:`~riskscore.moderation.cases`: the items, cases, outcomes and priority weights the
  queue holds and returns; :mod:`~riskscore.moderation.user_reports`: the user reports it
  files.
- :mod:`~riskscore.moderation.queue_db`: the queue's tables, migrations, transactions and
  audit entries; :mod:`~riskscore.moderation.intake` (adding and de-duplicating; a batch
  job's items: :mod:`~riskscore.moderation.batch_intake`),
  :mod:`~riskscore.moderation.ranking` (cases and their order) and
  :mod:`~riskscore.moderation.decisions` (reviews and decisions) do the queue's work.
- :mod:`~riskscore.moderation.queue_writer`: what a long-running scorer (``riskscore
  serve``, the Synapse module) raised, queued in order and held while another process
  holds the queue locked.
- :mod:`~riskscore.moderation.transparency`,
  :mod:`~riskscore.moderation.transparency_render`: transparency reports from the queue
  (JSON, Markdown, HTML, charts), counting the items the queue received in a period
  (:mod:`~riskscore.moderation.item_history`), their times
  (:mod:`~riskscore.moderation.report_times`) and the notes every rendering states
  (:mod:`~riskscore.moderation.report_notes`).
- :mod:`~riskscore.moderation.simulation`: a synthetic month of alerts, reports and
  simulated moderators.
"""

from riskscore.moderation.cases import (
    AuditEntry,
    Case,
    Outcome,
    PriorityWeights,
    QueueError,
    QueueItem,
)
from riskscore.moderation.queue import ReviewQueue
from riskscore.moderation.transparency import TransparencyReport, transparency_report
from riskscore.moderation.user_reports import UserReport, iter_reports

__all__ = [
    "AuditEntry",
    "Case",
    "Outcome",
    "PriorityWeights",
    "QueueError",
    "QueueItem",
    "ReviewQueue",
    "TransparencyReport",
    "UserReport",
    "iter_reports",
    "transparency_report",
]
