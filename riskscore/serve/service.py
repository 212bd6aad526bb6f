"""The scoring service behind ``POST /v1/events``, free of any web framework.

:class:`ScoringService` applies a batch of events to one
:class:`~riskscore.online.OnlineScorer` in order (the same calls as ``riskscore
stream``: :meth:`~riskscore.online.OnlineScorer.update_one_all`, so the same events give
the same alerts), puts the alerts and the children's ``report`` events into the review
queue, keeps each applied event's metadata for the timeline plot, and remembers the
responses of recent batch ids so that a retried batch is not applied twice.

Checkpoints hold the scorer's state and, in the same file and transaction, the batch ids
already applied: after a restart (or a crash, which loses what came after the last
checkpoint) a retried batch is applied again exactly when its events are not in the
restored state.
"""

from __future__ import annotations

import hashlib
import logging
import math
import sqlite3
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

from riskscore.exceptions import SchemaError, one_line
from riskscore.features.registry import feature_index
from riskscore.io.events import EventTuple, count_ignored
from riskscore.io.jsonl import not_an_object
from riskscore.io.raw import show, shown
from riskscore.io.schema import EventType
from riskscore.model.scores import reason_texts
from riskscore.moderation.cases import QueueError
from riskscore.moderation.item_facts import facts_text
from riskscore.moderation.queue import ReviewQueue
from riskscore.moderation.queue_writer import QueueWriter
from riskscore.moderation.user_reports import UserReport, report_of_event
from riskscore.online import OnlineScorer
from riskscore.online.risk import OnlineModel
from riskscore.policy import Alert, Tier
from riskscore.serve.batches import BatchResult, batch_id_problem, remembered_batches
from riskscore.serve.body import (
    BatchSizeError,
    BodyItem,
    MediaTypeError,
    media_type,
    parse_body,
)
from riskscore.serve.metrics import ServeMetrics
from riskscore.serve.params import IdType, conversation_ids
from riskscore.serve.timeline import TimelineStore

__all__ = [
    "MAX_REFUSALS_TRIED",
    "AmbiguousIdError",
    "ScoringService",
    "refused_request",
]

#: Refused events and alerts kept, in all, in the responses of the remembered batch ids
#: (some 60 MB, and a checkpoint of some 15 MB): a batch of 10,000 elements refused one by
#: one (``[1,1,...]``, 20 kB) is answered with 0.7 MB and kept as 3 MB, so 10,000 ids
#: of such batches would hold 30 GB and write 7 GB at each checkpoint.
MAX_REMEMBERED_ENTRIES = 200_000
#: Events of one batch the validator may refuse before the rest are not tried: a refused
#: event takes the validator's thorough path (some 2 ms, against some 0.06 ms for an event
#: applied), so a body of 10,000 refused events held the scorer's one thread, and every
#: other client's batch, for 20 s.
MAX_REFUSALS_TRIED = 100
_REPORT = int(EventType.REPORT)
_LOG = logging.getLogger("riskscore.serve")
_CHILD_AGE = feature_index("child_age")
_ADULT_AGE = feature_index("adult_age")


class AmbiguousIdError(SchemaError):
    """A conversation id of a URL names both a live text id and a live integer id (HTTP
    409): the request says which with ``id_type``."""


class ScoringService:
    """One scorer, the review queue and the timeline store, driven a batch at a time.

    Parameters
    ----------
    scorer : OnlineScorer
        Fresh, or restored from ``checkpoint``.
    queue : ReviewQueue
        Where alerts and user reports go.
    timeline : TimelineStore or None
        Where each applied event's metadata goes (None: not kept).
    metrics : ServeMetrics
        Counters to update.
    checkpoint : Path or None
        The checkpoint file (None: no checkpoints).
    max_batch_ids : int, default 10000
        Batch ids remembered (the oldest forgotten first).
    max_remembered_entries : int, default :data:`MAX_REMEMBERED_ENTRIES`
        Refused events and alerts kept in the remembered responses, in all: beyond it the
        oldest ids are forgotten too (the latest is always kept).
    max_refusals_tried : int, default :data:`MAX_REFUSALS_TRIED`
        Events of one batch the validator may refuse: the events after the last of them
        are not tried, each refused with its index (send them again with the fixed ones).
    """

    def __init__(
        self,
        scorer: OnlineScorer,
        queue: ReviewQueue,
        timeline: TimelineStore | None,
        metrics: ServeMetrics,
        *,
        checkpoint: Path | None = None,
        max_batch_ids: int = 10_000,
        max_remembered_entries: int = MAX_REMEMBERED_ENTRIES,
        max_refusals_tried: int = MAX_REFUSALS_TRIED,
    ) -> None:
        self.scorer = scorer
        self.queue = queue
        self.writer = QueueWriter(queue)
        self.timeline = timeline
        self.metrics = metrics
        self.checkpoint_path = checkpoint
        self.max_batch_ids = max_batch_ids
        self.last_checkpoint: float | None = None
        self._explain = OnlineModel(scorer.model)
        self.max_remembered_entries = max_remembered_entries
        self.max_refusals_tried = max_refusals_tried
        self._batches = remembered_batches(scorer.checkpoint_extra, checkpoint)
        self._entries = sum(_entries(r) for r, _ in self._batches.values())
        self._forget_oldest()
        #: What ``/healthz`` last read on the scorer's thread (its answer while a batch
        #: holds that thread): the counts as of ``as_of``; None before the first read.
        self.latest_health: dict[str, Any] = {"status": "ok", "as_of": None}

    # ------------------------------------------------------------------ events

    def submit(
        self,
        body: bytes,
        content_type: str | None,
        batch_id: str | None,
        content_encoding: str | None = None,
    ) -> BatchResult:
        """Parse and score one request body; a known ``batch_id`` returns its first response
        (refused, 422, when the body or its media type differs from the first one's: a
        new batch under a used key). A ``batch_id`` that reads as a sentence is refused
        (422): it is kept in the checkpoint and sent back, and may be message content. A
        ``content_encoding`` other than none or ``identity`` is refused (415).

        The response body has ``accepted`` (events applied), ``broadcasts`` (events set
        aside as broadcasts, to rooms above ``max_room_members``: no conversation's, neither
        scored nor kept for the timeline), ``refused`` (``index`` and ``message`` of each
        event not applied), ``alerts`` (as ``riskscore stream``
        writes them, with ``index``: the batch index of the event that raised each) and
        ``batch_id``, and ``ignored_fields``: the fields of applied events that are
        not schema v1 and so not read, counted by name. Status 200 when every event
        was applied, 422 when one or more were refused (the others were applied, as
        ``riskscore stream`` skips a bad line and goes on) or when the body is not
        JSON (nothing applied).
        """
        digest = None
        if batch_id is not None:
            problem = batch_id_problem(batch_id)
            if problem is not None:
                return refused_request(
                    f"Idempotency-Key {problem}; nothing was applied: give each batch an opaque "
                    "key, such as a UUID"
                )
            # the key binds the body and how it is read: the same bytes sent again as
            # another media type are another batch (JSON lines, not one JSON array)
            digest = hashlib.sha256(f"{media_type(content_type)}\n".encode() + body).hexdigest()
            if batch_id in self._batches:
                done, first = self._batches[batch_id]
                if first is not None and first != digest:
                    # a retry sends the same body: these are other events, and answering
                    # "replayed" would drop them unscored
                    return refused_request(
                        f"Idempotency-Key {batch_id!r:.80} was used for another body or "
                        "Content-Type; nothing was applied: give each new batch a new key"
                    )
                return BatchResult(done.status, {**done.body, "replayed": True})
        started = time.perf_counter()
        try:
            items = parse_body(body, content_type, content_encoding)
        except MediaTypeError as exc:
            self.metrics.refused.labels(reason="media_type").inc()
            return refused_request(str(exc), status=415)
        except BatchSizeError as exc:
            self.metrics.refused.labels(reason="batch_size").inc()
            return refused_request(str(exc), status=413)
        except SchemaError as exc:
            self.metrics.refused.labels(reason="not_json").inc()
            return refused_request(str(exc))
        result = self.score(items)
        kind = "single" if len(items) == 1 else "batch"
        self.metrics.latency.labels(kind=kind).observe(time.perf_counter() - started)
        if batch_id is not None:
            result.body["batch_id"] = batch_id
            self._batches[batch_id] = (result, digest)
            self._entries += _entries(result)
            self._forget_oldest()
        return result

    def _forget_oldest(self) -> None:
        """Forget the oldest batch ids beyond ``max_batch_ids``, or while the responses
        kept hold more than ``max_remembered_entries`` refused events and alerts."""
        batches = self._batches
        while len(batches) > self.max_batch_ids or (
            self._entries > self.max_remembered_entries and len(batches) > 1
        ):
            forgotten, _ = batches.popitem(last=False)[1]
            self._entries -= _entries(forgotten)

    def score(self, items: Sequence[BodyItem]) -> BatchResult:
        """Apply parsed batch elements in order; queue alerts and reports; keep metadata."""
        scorer = self.scorer
        update = scorer.update_one_all
        alerts: list[tuple[int, Alert]] = []
        refused: list[dict[str, Any]] = []
        applied: list[EventTuple] = []
        reports: list[UserReport] = []
        ignored: dict[str, int] = {}
        refused_future = scorer.n_refused_future
        first_broadcast = broadcast = scorer.n_broadcast
        opened = scorer.last_room_opened
        opened_rooms: list[tuple[object, object]] = []  # chats of two that became group rooms
        validated_refused = 0  # events the validator refused (each costly)
        for item in items:
            if item.error is not None:
                refused.append({"index": item.index, "message": item.error})
                self.metrics.refused.labels(reason="not_json").inc()
                continue
            if validated_refused >= self.max_refusals_tried:
                refused.append({"index": item.index, "message": self._not_tried(item.index)})
                self.metrics.refused.labels(reason="not_tried").inc()
                continue
            event = item.value
            try:
                # JSON objects are dicts: the abstract Mapping check only for the others
                if type(event) is not dict and not isinstance(event, Mapping):
                    # the JSON readers' one message of a value that is no object
                    raise SchemaError(f"event {item.index} {not_an_object(event)}", row=item.index)
                raised = update(event, row=item.index)  # a refusal names the request's index
            except Exception as exc:  # every refusal is reported, none stops the batch
                reason = (
                    "future_timestamp"
                    if scorer.n_refused_future != refused_future
                    else type(exc).__name__
                )
                refused_future = scorer.n_refused_future
                validated_refused += isinstance(event, Mapping)
                self.metrics.refused.labels(reason=reason).inc()
                refused.append({"index": item.index, "message": one_line(str(exc))})
                continue
            if scorer.n_broadcast != broadcast:  # set aside: no conversation's event
                broadcast = scorer.n_broadcast
                continue
            if scorer.last_room_opened is not opened:  # a chat of two became a group room
                opened = scorer.last_room_opened
                opened_rooms.append(cast(tuple[object, object], opened))
            parsed = cast(EventTuple, scorer.last_event)  # as the scorer parsed it, once
            cid = scorer.conversation_id_of(parsed)  # in a group room: its pair's
            if cid is not parsed[0]:
                parsed = (cid, *parsed[1:])
            applied.append(parsed)
            count_ignored(event, ignored)
            if parsed[7] == _REPORT:
                reports.append(self._report(parsed))
            if raised:
                alerts.extend((item.index, alert) for alert in raised)
        refused += self._record(applied, alerts, reports, opened_rooms)
        body: dict[str, Any] = {
            "accepted": len(applied),
            "broadcasts": broadcast - first_broadcast,
            "refused": refused,
            "alerts": [{**a.to_dict(), "index": i} for i, a in alerts],
            "ignored_fields": dict(sorted(ignored.items())),
        }
        if any(self.writer.held):  # another process held the queue locked
            body["queue_busy"] = self.writer.busy_text()
        return BatchResult(422 if refused else 200, body)

    def _not_tried(self, index: int) -> str:
        return (
            f"event {index} not tried: {self.max_refusals_tried} events of this batch before "
            "it were refused, and nothing after them was applied: fix the refused events and "
            "send them, and the events not tried, again"
        )

    def _report(self, e: EventTuple) -> UserReport:
        return report_of_event(self.scorer, e, e[0], int(time.time()))

    def _record(
        self,
        applied: list[EventTuple],
        alerts: list[tuple[int, Alert]],
        reports: list[UserReport],
        opened_rooms: Sequence[tuple[object, object]] = (),
    ) -> list[dict[str, Any]]:
        """Queue what the batch raised (:class:`~riskscore.moderation.queue_writer.QueueWriter`:
        held while another process locks the queue), then keep its metadata (after scoring
        it whole; the events of each chat of two that became a group room, ``opened_rooms``,
        kept under its pair's id too); return the refusals: the alerts the queue refused, by
        the index of their event, and what could not be stored (index None).

        The events stay applied whatever fails here (the queue's file unwritable other than
        by a lock, a full disk, a timeline whose writer failed): the batch is answered with
        what was not stored, and remembered under its key, so that a retry is not applied
        twice. The alerts are queued first: the timeline only draws the plot."""
        m = self.metrics
        m.events.inc(len(applied))
        for _, alert in alerts:
            m.alerts.labels(tier=alert.tier.name.lower()).inc()
        try:
            refused = self.writer.add(int(time.time()), alerts, reports)
        except (QueueError, sqlite3.Error) as exc:  # not a lock, which holds them for later
            problem = one_line(str(exc))
            _LOG.error("the alerts and reports of a batch were not queued: %s", problem)
            refused = [
                {
                    "index": None,
                    "message": f"the events were applied, but what they raised was not queued: "
                    f"the review queue could not store it ({problem}); the alerts are in this "
                    "response: do not send the events again",
                }
            ]
        if self.timeline is not None:
            try:
                self.timeline.add(applied)
                for room, pair in opened_rooms:
                    self.timeline.copy(room, pair)
            except (sqlite3.Error, RuntimeError) as exc:  # RuntimeError: its writer failed
                problem = one_line(str(exc))
                _LOG.error("the timeline was not written: %s", problem)
                refused.append(
                    {
                        "index": None,
                        "message": f"the timeline was not written ({problem}): the events "
                        "were applied and what they raised queued, but the case pages do not "
                        "draw them; do not send them again",
                    }
                )
        return refused

    # ------------------------------------------------------------------ reading

    def conversation(self, raw_id: str, id_type: IdType | None = None) -> dict[str, Any] | None:
        """Current risk, tier and reasons of a live conversation, or None; with the facts
        a moderator judges it by (``child_age`` and ``adult_age``, null when unknown;
        ``first_event_at``, ``last_event_at``) and ``facts``, the review queue's words of
        them against now. ``reasons`` are the texts every view shows
        (:func:`~riskscore.model.scores.reason_texts`: :data:`~riskscore.model.scores.\
NO_REASONS` alone when none raised the risk).

        ``raw_id`` is the id as written in the URL (:func:`~riskscore.serve.params.\
conversation_ids`): text, or with ``id_type`` None and an integer written there, the
        text or the integer, whichever is live (ids ``7`` and ``"7"`` are distinct
        conversations, never one answered for the other).

        Raises
        ------
        AmbiguousIdError
            ``id_type`` is None and both the text and the integer are live.
        SchemaError
            ``raw_id`` names no id an event can have, or no integer with ``id_type="int"``.
        """
        scorer = self.scorer
        live = []
        for cid in conversation_ids(raw_id, id_type):
            try:
                live.append((cid, scorer.conversation_of(cid)))
            except KeyError:
                continue
        if len(live) > 1:
            raise AmbiguousIdError(
                f"conversation id {show(shown('conversation_id', raw_id))} names two live "
                "conversations, the text id and the integer id: ask for one with "
                "id_type=text or id_type=int"
            )
        if not live:
            return None
        cid, conv = live[0]
        row = scorer.features_of(cid)
        risk = scorer.score_of(cid)
        child_age, adult_age = _ages(row)
        tier, band = scorer.policy.decide_one(risk, child_age, adult_age)
        first, last = conv.first_timestamp, conv.last_timestamp
        return {
            "conversation_id": cid,
            "adult_id": conv.adult_id,
            "child_id": conv.child_id,
            "risk": risk,
            "tier": _tier_name(tier),
            "age_band": band.name,
            "alerted_tier": _tier_name(conv.alerted_tier),
            # the one wording of every view: the no-reason text alone when there is none
            "reasons": list(reason_texts(self._explain.reasons(row))),
            "n_events": conv.n_events,
            "last_timestamp": last,
            "channel": scorer.channel_of(cid),
            "child_age": None if math.isnan(child_age) else child_age,
            "adult_age": None if math.isnan(adult_age) else adult_age,
            "first_event_at": first,
            "last_event_at": last,
            # the review queue's words, against the time of this answer
            "facts": facts_text(adult_age, first, last, int(time.time()), anchor="now"),
        }

    def health(self) -> dict[str, Any]:
        """What ``/healthz`` reports, kept as :attr:`latest_health` (run on the scorer's
        thread, which owns the queue's connection)."""
        s = self.scorer
        self.latest_health = {
            "status": "ok",
            "events": s.n_events,
            "live_conversations": s.n_conversations,
            "open_items": len(self.queue),
            "last_checkpoint": self.last_checkpoint,
            "as_of": time.time(),
        }
        return self.latest_health

    # ------------------------------------------------------------------ state

    def checkpoint(self) -> None:
        """Save the scorer's state and the remembered batch ids; prune the timeline. The
        alerts and user reports held while the queue was locked are queued first; while
        any is still held, no checkpoint is written
        (:mod:`riskscore.moderation.queue_writer`): it would count them as raised, and a
        restart from it would never queue them."""
        self.writer.flush()
        if self.checkpoint_path is None:
            return
        if any(self.writer.held):
            _LOG.error("checkpoint not written: %s", self.writer.busy_text())
            return
        batches = [
            [k, r.status, r.body, *([d] if d else [])] for k, (r, d) in self._batches.items()
        ]
        self.scorer.checkpoint(self.checkpoint_path, extra={"batches": batches})
        if self.timeline is not None:
            self.timeline.prune(self.scorer.clock)
        self.last_checkpoint = time.time()


def _entries(result: BatchResult) -> int:
    """Refused events and alerts in a remembered response (its size, give or take)."""
    lists = (result.body.get(key) for key in ("refused", "alerts"))
    return sum(len(v) for v in lists if isinstance(v, list))


def refused_request(message: str, *, status: int = 422) -> BatchResult:
    """A request refused whole (status 422 unless given): nothing was applied."""
    return BatchResult(
        status, {"accepted": 0, "refused": [{"index": None, "message": message}], "alerts": []}
    )


def _tier_name(tier: int) -> str:
    return Tier(tier).name.lower() if tier else "none"


def _ages(row: Any) -> tuple[float, float]:
    return float(row[_CHILD_AGE]), float(row[_ADULT_AGE])
