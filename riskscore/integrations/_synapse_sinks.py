"""Where the Synapse module sends an alert (private): the JSON lines file and the review
queue (in a thread: a disk, a FIFO's reader or SQLite's lock may wait; the queue's alerts
held while another process holds it locked, :mod:`riskscore.moderation.queue_writer`) and
the moderators' Matrix room, created or joined on first use. :class:`AlertSinks` is mixed into
:class:`~riskscore.integrations.synapse.RiskscoreModule`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any, Final, cast

from riskscore._optional import missing_extra

try:  # Synapse runs this module in its own environment
    from synapse.module_api import ModuleApi, make_deferred_yieldable, run_in_background
except ImportError as exc:
    raise missing_extra("synapse", "riskscore.integrations.synapse", exc) from exc

from riskscore._words import plural, risk_text
from riskscore.exceptions import one_line
from riskscore.integrations._synapse_config import SynapseConfig
from riskscore.integrations._synapse_log import EventWarnings
from riskscore.integrations._synapse_mapping import EventTranslator
from riskscore.integrations._synapse_store import RoomStore
from riskscore.io.private import FifoAppendError, append_private_lines
from riskscore.io.shown_ids import shown_id
from riskscore.model.scores import reason_texts
from riskscore.moderation.item_facts import alert_facts, older_role, younger_account_text
from riskscore.moderation.queue import ReviewQueue
from riskscore.moderation.queue_writer import QueueWriter
from riskscore.policy import Alert

__all__ = ["AlertSinks", "notice_body"]

# The module's logger: records keep the name operators filter on.
logger = logging.getLogger("riskscore.integrations.synapse")
#: Kind of warning about an alert the review queue refused (rate-limited, :class:`EventWarnings`).
QUEUE_REFUSED = "alerts refused by the review queue"
#: Seconds a FIFO's reader may keep an append to one of the module's JSON lines files
#: waiting (:func:`~riskscore.io.private.append_private_lines`): a reader that stalled held
#: the module's writes, and so its shutdown, for ever.
FIFO_WAIT_S: Final = 5.0
#: Notices waiting to be posted to the moderation room, at most: a room that does not
#: answer (a remote server down) let them grow without bound while alerts went on.
MAX_NOTICES: Final = 1_000
#: Kind of warning about a notice not queued for the moderation room (rate-limited).
NOTICES_DROPPED = "moderation room notices not posted (their queue full)"


class AlertSinks:
    """The alert sinks of :class:`~riskscore.integrations.synapse.RiskscoreModule` (mixed
    in; it sets the attributes below)."""

    _api: ModuleApi
    _settings: SynapseConfig
    _store: RoomStore
    _translator: EventTranslator
    _notice_user: str | None
    _moderation_room: str | None
    _writer: QueueWriter
    _state_lock: threading.Lock
    _stopped: bool
    _sending: list[tuple[Alert, dict[str, Any]]]
    n_alerts: int
    n_queue_refused: int
    n_queue_failed: int
    n_jsonl_failed: int
    n_events_log_failed: int
    n_shadow_alerts: int
    n_shadow_failed: int
    warnings: EventWarnings

    def _open_sinks(self) -> None:
        """The sinks' counters, and the writer of the review queue, opened in the thread
        that writes to it (:mod:`riskscore.moderation.queue_writer`)."""
        self.n_queue_refused = self.n_jsonl_failed = self.n_events_log_failed = 0
        self.n_shadow_alerts = self.n_shadow_failed = self.n_queue_failed = 0
        self._notices: deque[tuple[Alert, dict[str, Any]]] = deque()  # to post, in order
        #: Notices never posted: their queue full (:data:`MAX_NOTICES`), or left at shutdown.
        self.n_notices_dropped = 0
        self._posting = False
        path = self._settings.review_queue
        self._writer = QueueWriter(
            opener=lambda wait_s: _open_queue(cast("Path", path), wait_s),
            actor="riskscore-synapse",
            on_refused=self._queue_refused,
            on_failed=self._queue_failed,
            logger=logger,
        )

    def _sink_stats(self) -> dict[str, int]:
        """The sinks' counters, for the module's ``stats()``."""
        return {
            "queue_refused": self.n_queue_refused,
            "queue_held": self._writer.held[0],
            "queue_failed": self.n_queue_failed,
            "jsonl_failed": self.n_jsonl_failed,
            "events_log_failed": self.n_events_log_failed,
            "shadow_alerts": self.n_shadow_alerts,
            "shadow_failed": self.n_shadow_failed,
            "notices_dropped": self.n_notices_dropped,
        }

    async def _emit(self, alert: Alert, context: dict[str, Any]) -> None:
        """Send an alert: to the alerts file and the review queue in a thread (a full disk,
        a FIFO's reader or another process's lock on the queue may make them wait: never
        the reactor), then queue its notice for the moderation room, posted in order by a
        task of its own: scoring never waits for Matrix (a remote room's join, retried per
        alert while its server was unreachable, held every event behind it)."""
        job = (alert, context)
        self._sending.append(job)  # a shutdown before the thread sends it sends it
        await self._api.defer_to_thread(self._send, job)
        if self._settings.moderation_room is not None:
            if len(self._notices) >= MAX_NOTICES:
                self.n_notices_dropped += 1
                self.warnings.warn(
                    NOTICES_DROPPED,
                    logging.ERROR,
                    "riskscore: the notice of the alert on conversation %s is not posted to "
                    "the moderation room: %d notices wait for it already (it is in the alerts "
                    "file and the review queue when configured)",
                    shown_id(alert.conversation_id),
                    len(self._notices),
                )
                return
            self._notices.append(job)
            if not self._posting:
                self._posting = True
                self._api.run_as_background_process("riskscore_notices", self._post_notices)

    async def _post_notices(self) -> None:
        """Post the notices queued, oldest first, until none is left or the server stops
        (those left are in the alerts file and the review queue)."""
        try:
            while self._notices and not self._stopped:
                alert, context = self._notices.popleft()
                try:
                    await self._post_to_moderation_room(
                        alert, {**alert.to_dict(), "matrix": context}
                    )
                except Exception as exc:  # a room it cannot post to, a server it cannot reach
                    logger.error(
                        "riskscore: could not post the alert on conversation %s to the "
                        "moderation room (it is in the alerts file and the review queue when "
                        "configured): %s",
                        shown_id(alert.conversation_id),
                        one_line(f"{type(exc).__name__}: {exc}"),
                    )
        finally:
            self._posting = False

    def _send(self, job: tuple[Alert, dict[str, Any]]) -> None:
        """``job`` to the alerts file and the review queue (in a thread), unless the
        shutdown sent it first; then the alerts held queued after any held while another
        process had the queue locked."""
        with self._state_lock:
            index = next((i for i, sent in enumerate(self._sending) if sent is job), None)
            if index is None:
                return
            del self._sending[index]
            self._to_files([job])
        self._flush_queue()

    def _to_files(self, alerts: list[tuple[Alert, dict[str, Any]]]) -> None:
        """Count ``alerts`` as raised, append them to the alerts file and hold them for the
        review queue (queued by the next :meth:`_flush_queue`: a shutdown meanwhile
        queues them too)."""
        self.n_alerts += len(alerts)
        self._append_jsonl(alerts)
        if self._settings.review_queue is not None and alerts:
            self._writer.hold(None, list(enumerate(a for a, _ in alerts)), [])

    def _flush_queue(self) -> None:
        """Queue the alerts held, in this thread; a failure other than a lock (the queue's
        file unusable: a full disk, a read-only file) loses the alerts it met to the queue
        alone (:meth:`_queue_failed`), and never stops a checkpoint or the shutdown."""
        try:
            self._writer.flush()
        except Exception:  # a fault of the module's own
            logger.exception("riskscore: could not add the alert to the review queue")

    def _queue_failed(self, alerts: list[Alert], exc: Exception) -> None:
        """Count the alerts a failure other than a lock lost to the review queue, and log
        one line naming them, the queue and the error (under the writer's lock: one flush
        at a time, in whichever thread)."""
        self.n_queue_failed += len(alerts)
        logger.error(
            "riskscore: could not add %s on conversation(s) %s to the review queue %s: %s "
            "(in the alerts file when one is configured)",
            plural(len(alerts), "alert"),
            ", ".join(sorted({shown_id(a.conversation_id) for a in alerts})),
            self._settings.review_queue,
            one_line(f"{type(exc).__name__}: {exc}"),
        )

    def _log_not_sent(self) -> None:
        """At shutdown: the notices not posted yet are dropped (the server stops), and the
        alerts still held (the queue locked past its busy timeout) are lost to the queue;
        one line each says how many and of which conversations."""
        if self._notices:
            self.n_notices_dropped += len(self._notices)
            logger.warning(
                "riskscore: %s not posted to the moderation room at shutdown (conversation(s) "
                "%s; in the alerts file and the review queue when configured)",
                plural(len(self._notices), "alert notice"),
                ", ".join(sorted({shown_id(a.conversation_id) for a, _ in self._notices})),
            )
            self._notices.clear()
        held = self._writer.held_alerts()
        if held:
            logger.error(
                "riskscore: %s not queued at shutdown (conversation(s) %s, in the alerts file "
                "when one is configured): the review queue was locked by another process; "
                "the scorer state since the last checkpoint is not kept either",
                plural(len(held), "alert"),
                ", ".join(sorted({shown_id(a.conversation_id) for a in held})),
            )

    def _append_jsonl(self, alerts: list[tuple[Alert, dict[str, Any]]]) -> None:
        """The alerts' records (:meth:`Alert.to_json`) with their ``matrix`` context, whole
        or not at all; a file that cannot take them (a full disk, a directory in its place)
        is one line in the log naming it and the alerts' conversations (still queued and
        posted: the file is one sink of three)."""
        path = self._settings.jsonl
        if path is None or not alerts:
            return
        try:
            lines = [a.to_json(matrix=context) for a, context in alerts]
            append_private_lines(path, lines, wait_s=FIFO_WAIT_S)
        except OSError as exc:
            alerts = alerts[_written(exc) :]  # a FIFO's reader stalled: those before are in
            self.n_jsonl_failed += len(alerts)
            logger.error(
                "riskscore: could not append %s on conversation(s) %s to %s: %s",
                plural(len(alerts), "alert"),
                ", ".join(sorted({shown_id(a.conversation_id) for a, _ in alerts})),
                path,
                one_line(str(exc)),
            )

    def _log_events(self, path: Path, lines: list[str]) -> None:
        """Append the schema v1 events scored to ``events_log``; a file that cannot take
        them (a full disk, a directory in its place) is counted and one line in the log,
        never a failure of the batch, whose events are scored and whose alerts are sent."""
        self.n_events_log_failed += self._append_lines(path, lines, "events to the events log")

    def _log_shadow(self, lines: list[str]) -> None:
        """Append shadow alerts to the shadow JSON lines file (and nowhere else): those it
        took are counted (``n_shadow_alerts``), those it could not too
        (``n_shadow_failed``), and are one line in the log."""
        path = self._settings.shadow_jsonl
        assert path is not None
        failed = self._append_lines(path, lines, "shadow alerts to")
        self.n_shadow_alerts += len(lines) - failed
        self.n_shadow_failed += failed

    @staticmethod
    def _append_lines(path: Path, lines: list[str], what: str) -> int:
        """Append ``lines`` to ``path``; how many it could not take (a full disk, a
        directory in its place, a FIFO whose reader stalled or left: those before are in),
        each such failure one line in the log ("could not append N ``what`` PATH")."""
        try:
            append_private_lines(path, lines, wait_s=FIFO_WAIT_S)
        except OSError as exc:
            failed = len(lines) - _written(exc)
            logger.error(
                "riskscore: could not append %d %s %s: %s", failed, what, path, one_line(str(exc))
            )
            return failed
        return 0

    def _queue_refused(self, alert: Alert, reason: str) -> None:
        """Count an alert the review queue refused (dated too far ahead of the clock, or
        outside its events' times) and warn in one line naming its conversation and the
        queue's reason: the queue's rule, not a fault of the module (no traceback)."""
        self.n_queue_refused += 1
        self.warnings.warn(
            QUEUE_REFUSED,
            logging.WARNING,
            "riskscore: alert on conversation %s not queued: the review queue refused it: %s",
            alert.conversation_id,
            reason,
        )

    async def _moderation_room_id(self) -> str:
        cfg = self._settings.moderation_room
        user = self._notice_user
        assert cfg is not None
        assert user is not None
        if self._moderation_room is not None:
            return self._moderation_room
        # These two return Deferreds that do not follow Synapse's logcontext rules: wrap them.
        exists = await make_deferred_yieldable(run_in_background(self._api.check_user_exists, user))
        if exists is None:
            await make_deferred_yieldable(
                run_in_background(
                    self._api.register_user, cfg.user_localpart, displayname="riskscore alerts"
                )
            )
        room_id = cfg.room_id or await self._api.defer_to_thread(self._room_meta)
        if cfg.room_id is not None:
            await self._api.update_room_membership(user, user, cfg.room_id, "join")
        elif room_id is None:
            room_id, _ = await self._api.create_room(
                user,
                {
                    "preset": "private_chat",
                    "name": "riskscore alerts",
                    "topic": "Conversations riskscore sends to human review (metadata only).",
                    "invite": list(cfg.moderators),
                },
                ratelimit=False,
            )
            await self._api.defer_to_thread(self._room_meta, room_id)
        assert room_id is not None
        self._translator.ignored_rooms.add(room_id)
        self._moderation_room = room_id
        return room_id

    def _room_meta(self, room_id: str | None = None) -> str | None:
        """The moderation room's id remembered in the room facts file, or ``room_id``
        remembered there (in a thread, one writer at a time; nothing once stopped)."""
        with self._state_lock:
            if self._stopped:
                return room_id
            if room_id is not None:
                self._store.set_meta("moderation_room_id", room_id)
                return room_id
            return self._store.get_meta("moderation_room_id")

    async def _post_to_moderation_room(self, alert: Alert, record: dict[str, Any]) -> None:
        room_id = await self._moderation_room_id()
        body = notice_body(alert, record)
        await self._api.create_and_send_event_into_room(
            {
                "type": "m.room.message",
                "room_id": room_id,
                "sender": self._notice_user,
                "content": {
                    "msgtype": "m.notice",
                    "body": body,
                    # No one is mentioned: without m.mentions, clients and servers match
                    # the body against the legacy mention rules, and an id an attacker
                    # chose (@room:evil.example, a moderator's name) would notify the room
                    "m.mentions": {},
                    # Matrix canonical JSON has no floats: numbers other than ints as strings.
                    "org.riskscore.alert": _canonical(record),
                },
            }
        )


def _written(exc: OSError) -> int:
    """The records an append that failed wrote whole: those before a FIFO's reader stalled
    or closed it (:class:`~riskscore.io.private.FifoAppendError`), else none (a file cut
    back)."""
    return exc.written if isinstance(exc, FifoAppendError) else 0


def _open_queue(path: Path, wait_s: float | None) -> ReviewQueue:
    """The review queue at ``path``, waiting ``wait_s`` for a lock (None: its default)."""
    return ReviewQueue(path) if wait_s is None else ReviewQueue(path, timeout_s=wait_s)


def notice_body(alert: Alert, record: dict[str, Any]) -> str:
    """The text of the moderators' room notice of an alert (``record``: its JSON record with
    ``matrix``), its facts and reasons worded as in every other view (:func:`alert_facts`:
    the older account's age, the conversation's span and last activity against the alert;
    :func:`reason_texts`). The child's age is in the header, the older account's only in the
    facts: each age once. The older account reads "adult", or "older account" when it
    declared an age under 18 (:func:`older_role`); the child's age says when the declared
    ages do not tell which account is older (:func:`younger_account_text`): the role rule
    assumed it, and an account of no declared age is not called a child as a fact."""
    matrix = record["matrix"]
    role = older_role(alert.adult_age)
    where = f"room {shown_id(matrix['room_id'])} ({matrix['channel']})"
    if matrix["room_id"] is None:
        where = "room unknown"
    if matrix["event_room_id"] != matrix["room_id"]:
        where += f", raised by the {role}'s event in room {shown_id(matrix['event_room_id'])}"
    return (
        f"riskscore {alert.tier.name.lower()} alert: risk {risk_text(alert.risk)} "
        f"(child age band {alert.age_band}). {role.capitalize()} {shown_id(alert.adult_id)}, "
        f"child {shown_id(alert.child_id)} "
        f"({younger_account_text(alert.child_age, alert.adult_age)}), "
        f"{where}. Facts: {alert_facts(alert, int(time.time()))}. "
        f"Reasons: {'; '.join(reason_texts(alert.reasons))}. "
        "A reason for a trained moderator to look, not a verdict."
    )


def _canonical(value: Any) -> Any:
    """``value`` with floats written as strings (Matrix event content allows no floats)."""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    return value
