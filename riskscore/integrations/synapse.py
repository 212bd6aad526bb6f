"""A Synapse module that scores Matrix conversations with riskscore.

Configure it in ``homeserver.yaml`` (see ``docs/synapse.md``)::

    modules:
      - module: riskscore.integrations.synapse.RiskscoreModule
        config:
          state_dir: /var/lib/synapse/riskscore
          ages: {sqlite: /var/lib/synapse/declared_ages.sqlite3}
          alerts:
            jsonl: /var/log/synapse/riskscore-alerts.jsonl
            moderation_room: {user: riskscore, moderators: ["@trust-safety:example.org"]}
          # optional: a candidate model in shadow mode; its alerts are only logged
          shadow: {model: /var/lib/synapse/candidate, jsonl: /var/log/synapse/shadow.jsonl}

Every new room event reaches :meth:`RiskscoreModule.on_new_event`, which only appends the
event to a bounded in-memory queue and returns, so message delivery never waits for scoring. A
background task maps queued events to schema v1 events (type, sender, room,
``origin_server_ts`` and the room state needed for the channel; never message content) and
feeds an :class:`~riskscore.OnlineScorer` (:meth:`~riskscore.OnlineScorer.update_one_all`: an
event can also raise alerts on its adult's other conversations, each sent with the room of its
own conversation), in a thread, as every file and SQLite write is: never on the reactor. Alerts
go to the configured sinks (:mod:`~riskscore.integrations._synapse_sinks`). With a ``shadow``
model, the scorer scores it on the same state; its alerts are appended to the shadow JSON lines
file and never sent to a sink (no review queue, no moderation room). Scorer state is
checkpointed every ``checkpoint_interval_s`` and at shutdown, and restored at start-up.

User reports never reach the module, so it queues alerts only: Synapse writes a report
made through its client API into its own tables and calls no module callback for it
(``docs/synapse.md``, Known limitations; ``riskscore serve`` and ``stream --queue`` queue
``report`` events as user reports).
"""

from __future__ import annotations

import json
import logging
import threading
from collections import deque
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from riskscore._optional import missing_extra

try:  # before riskscore's Synapse modules, which import it too
    from synapse import __version__ as synapse_version
    from synapse.module_api import (
        EventBase,
        ModuleApi,
        StateMap,
    )
    from synapse.module_api.errors import ConfigError
    from twisted.internet import reactor
except ImportError as exc:  # Synapse runs this module in its own environment
    raise missing_extra("synapse", "riskscore.integrations.synapse", exc) from exc

from riskscore._words import plural
from riskscore.exceptions import SchemaError, one_line
from riskscore.integrations._synapse_ages import AGES_FAILED, AgeSource, make_age_source
from riskscore.integrations._synapse_config import (
    SynapseConfig,
    SynapseConfigError,
    load_bundle,
    module_api_problem,
    parse,
)
from riskscore.integrations._synapse_files import CHECKPOINT_NAME, ROOMS_NAME, claim_state_dir
from riskscore.integrations._synapse_log import EventWarnings
from riskscore.integrations._synapse_mapping import EventMeta, EventTranslator, RoomView
from riskscore.integrations._synapse_rooms import ConversationRooms
from riskscore.integrations._synapse_sinks import AlertSinks
from riskscore.integrations._synapse_store import RoomStore
from riskscore.model import RiskModel
from riskscore.online import OnlineScorer
from riskscore.policy import Alert

if TYPE_CHECKING:
    from twisted.internet.interfaces import IReactorCore

__all__ = ["ModuleConfig", "RiskscoreModule"]

logger = logging.getLogger(__name__)

# Kinds of warning about single events (rate-limited, :class:`EventWarnings`).
_DROPPED = "events dropped (scoring queue full)"
_REFUSED = "events refused by the scorer"
_UNMAPPED = "room events that could not be read"
#: Key of the conversation -> room map in the scorer checkpoint's ``extra`` data.
_ROOMS_KEY = "conversation_rooms"


class ModuleConfig(NamedTuple):
    """What :meth:`RiskscoreModule.parse_config` returns: settings and the objects they name."""

    settings: SynapseConfig
    model: RiskModel
    ages: AgeSource
    shadow_model: RiskModel | None = None


class RiskscoreModule(AlertSinks):
    """Score every new room event's metadata in the background; send alerts to sinks.

    Parameters
    ----------
    config : ModuleConfig
        From :meth:`parse_config`.
    api : ModuleApi
        Synapse's module API.

    Attributes
    ----------
    scorer : OnlineScorer
        The online scorer (restored from the last checkpoint, if any).
    rooms : ConversationRooms
        The room of each live conversation's latest event (restored with the scorer).
    n_enqueued, n_dropped, n_scored, n_rejected, n_alerts : int
        Room events queued, dropped because the queue was full, schema v1
        events scored, schema v1 events refused by the scorer, alerts raised.
    n_shadow_alerts : int
        Alerts of the shadow model written to its JSON lines file (0 without one).
    n_unmapped : int
        Room events skipped because they could not be read (a malformed event).
    n_queue_refused : int
        Alerts the review queue refused (dated over a day ahead of the clock, or outside
        their events' times): each counted and warned about in one line, not queued.
    n_jsonl_failed, n_events_log_failed, n_shadow_failed, n_queue_failed : int
        Alerts, events and shadow alerts a JSON lines file (or the review queue) could not
        take (a full disk, a directory in its place, a FIFO whose reader closed it):
        counted, and each batch of them one line in the log.
    n_notices_dropped : int
        Moderation room notices never posted (their queue full, or left at shutdown).
    warnings : EventWarnings
        Warnings about single events (queue full, refused, unreadable, dated far from
        their receipt): the first few of each kind logged, then counts at most once a
        minute; ``warnings.suppressed`` counts those not logged one by one.
    """

    def __init__(self, config: ModuleConfig, api: ModuleApi) -> None:
        settings = config.settings  # an older Synapse would load, then score nothing
        problem = module_api_problem(api, synapse_version)
        problem = problem or claim_state_dir(settings.state_dir, self)  # one module a dir
        if problem is not None:
            raise ConfigError(problem)
        self._api = api
        self._settings = settings
        settings.state_dir.mkdir(parents=True, exist_ok=True)
        self._checkpoint_path = settings.state_dir / CHECKPOINT_NAME
        if self._checkpoint_path.exists():
            self.scorer = OnlineScorer.restore(
                self._checkpoint_path,
                config.model,
                settings.policy,
                shadow_model=config.shadow_model,
            )
            self.scorer.idle_expiry_s = settings.idle_expiry_s  # the setting in force now wins
            self.scorer.max_room_members = settings.max_fanout_members
            logger.info("riskscore: restored scorer state from %s", self._checkpoint_path)
        else:
            self.scorer = OnlineScorer(
                config.model,
                settings.policy,
                idle_expiry_s=settings.idle_expiry_s,
                max_room_members=settings.max_fanout_members,
                shadow_model=config.shadow_model,
            )
            # owned from the start, as a restored one is: a second worker stops here
            self.scorer.claim_checkpoint(self._checkpoint_path)
        self.rooms = ConversationRooms.from_json(
            self.scorer.checkpoint_extra.get(_ROOMS_KEY, []), settings.idle_expiry_s
        )
        self.warnings = EventWarnings(logger)
        rooms_file, expiry = settings.state_dir / ROOMS_NAME, settings.idle_expiry_s
        self._store = RoomStore(rooms_file, invite_expiry_s=expiry, warnings=self.warnings)
        self._notice_user: str | None = None
        ignored_users: set[str] = set()
        if settings.moderation_room is not None:
            self._notice_user = api.get_qualified_user_id(settings.moderation_room.user_localpart)
            ignored_users.add(self._notice_user)
        self._translator = EventTranslator(
            self._store,
            config.ages,
            scope=settings.conversation_scope,
            max_fanout_members=settings.max_fanout_members,
            default_tz_offset_min=settings.default_tz_offset_min,
            default_time_zone=settings.default_time_zone,
            ignored_users=ignored_users,
            server_name=api.server_name,
            time_tolerance_s=self.scorer.reorder_tolerance_s,
            warnings=self.warnings,
        )
        self._moderation_room: str | None = None
        if settings.moderation_room is not None:  # never score the moderators' own room
            known = settings.moderation_room.room_id or self._store.get_meta("moderation_room_id")
            if known is not None:
                self._translator.ignored_rooms.add(known)
        # Each event's metadata (never Synapse's event, which holds its content) with the view
        # of its room then, never Synapse's state map: that map is built anew per event, and
        # a full queue of them grew with the room's size.
        self._pending: deque[tuple[EventMeta, RoomView]] = deque()
        self._draining = False
        self._dirty = False
        self._checkpoint_due = False
        self._state_lock = threading.Lock()  # the scorer, room facts file and alerts to send
        self._stopped = False
        self.n_enqueued = self.n_dropped = self.n_scored = self.n_rejected = self.n_alerts = 0
        # Alerts of the batch being sent, not sent yet, and those whose thread has not sent
        # them to the files and the queue yet: a shutdown meanwhile sends them.
        self._unsent: deque[tuple[Alert, dict[str, Any]]] = deque()
        self._sending: list[tuple[Alert, dict[str, Any]]] = []
        self._open_sinks()

        api.register_third_party_rules_callbacks(on_new_event=self.on_new_event)
        api.register_account_data_callbacks(on_account_data_updated=self.on_account_data_updated)
        api.looping_background_call(
            self._on_checkpoint_timer,
            settings.checkpoint_interval_s * 1000.0,
            desc="riskscore_checkpoint",
        )
        # Synchronous, so that the reactor runs it to the end before stopping.
        # (zope interfaces omit ``self``; without the mypy-zope plugin mypy shifts arguments.)
        add_trigger = cast("IReactorCore", reactor).addSystemEventTrigger
        add_trigger("before", "shutdown", self._before_shutdown)  # type: ignore[arg-type]

    # ---------------------------------------------------------------- config

    @staticmethod
    def parse_config(config: dict[str, Any]) -> ModuleConfig:
        """Validate the module's ``config:`` block at start-up.

        Parameters
        ----------
        config : dict
            The block from ``homeserver.yaml``.

        Returns
        -------
        ModuleConfig
            The settings, the verified model and the opened age source.

        Raises
        ------
        ConfigError
            Anything missing or wrong, with its path in the block and how to fix it.
        """
        try:
            settings = parse(config)
            ages = make_age_source(settings.ages)
            model = load_bundle(settings.model, ("model",))
            shadow = None
            if settings.shadow_model is not None:
                shadow = load_bundle(settings.shadow_model, ("shadow", "model"))
        except SynapseConfigError as exc:
            raise ConfigError(
                f"riskscore: {exc.msg}", ("modules", "riskscore", *exc.path)
            ) from None
        return ModuleConfig(settings, model, ages, shadow)

    # ---------------------------------------------------------------- callbacks

    async def on_new_event(self, event: EventBase, state: StateMap[EventBase]) -> None:
        """Queue a new room event for scoring and return at once.

        Synapse awaits this callback while it notifies clients of the event, so it
        only takes the room's view (O(1) for a message, one pass over the state map
        Synapse has just built for a state event) and appends; scoring runs in the
        background. It never raises: an event it cannot read is counted and skipped.
        """
        if len(self._pending) >= self._settings.max_queue:
            self.n_dropped += 1
            if event.get_state_key() is not None:  # the room's view is stale: taken afresh
                self._translator.forget_view(event.room_id)
            self.warnings.warn(
                _DROPPED,
                logging.WARNING,
                "riskscore: scoring queue full (%d events); %d events dropped so far",
                self._settings.max_queue,
                self.n_dropped,
            )
            return
        try:
            meta = self._translator.read(event)
            view = self._translator.view(meta, state)
        except Exception:
            self._unmapped(event)
            return
        self._pending.append((meta, view))
        self.n_enqueued += 1
        self._start_drain()

    async def on_account_data_updated(
        self, user_id: str, room_id: str | None, account_data_type: str, content: Any
    ) -> None:
        """Remember the rooms a user lists as direct chats in ``m.direct`` account data."""
        if account_data_type == "m.direct" and room_id is None:
            await self._api.defer_to_thread(self._mark_direct_rooms, content, user_id)

    def _mark_direct_rooms(self, content: Any, user_id: str) -> None:
        with self._state_lock:  # the room facts file: in a thread, one writer at a time
            if not self._stopped:
                self._translator.mark_direct_rooms(content, user_id=user_id)

    # ---------------------------------------------------------------- scoring

    def _start_drain(self) -> None:
        if not self._draining:
            self._draining = True
            self._api.run_as_background_process("riskscore_score", self._drain)

    async def _drain(self) -> None:
        try:
            while (self._pending or self._checkpoint_due) and not self._stopped:
                # Mapping, scoring, the room facts file and the events logs: in a thread
                # (a disk, a FIFO or a lock may wait; the reactor delivers messages).
                await self._api.defer_to_thread(self._score_batch)
                while self._unsent and not self._stopped:
                    await self._emit(*self._unsent.popleft())
                if self._checkpoint_due:
                    self._checkpoint_due = False
                    await self._checkpoint_in_thread()
                if self._pending:
                    await self._api.sleep(0)  # let the reactor deliver messages between batches
        finally:
            self._draining = False

    def _score_batch(self) -> None:
        """Score up to ``batch_size`` queued events and keep their alerts to send (in a
        thread; none once the shutdown has scored the queue)."""
        with self._state_lock:
            if not self._stopped:
                self._unsent.extend(self._process(self._settings.batch_size))

    def _process(self, limit: int) -> list[tuple[Alert, dict[str, Any]]]:
        """Map and score up to ``limit`` queued room events (synchronous)."""
        out: list[tuple[Alert, dict[str, Any]]] = []
        log = self._settings.events_log
        lines = []
        shadow_lines: list[str] = []
        for _ in range(min(limit, len(self._pending))):
            event, view = self._pending.popleft()
            try:
                rows = self._translator.translate_view(event, view)
            except Exception:
                self._unmapped(event)
                continue
            for row in rows:
                if log is not None:
                    lines.append(json.dumps(row))
                try:
                    # Every alert the event raised: its own conversation's, and those of
                    # its adult's other conversations that it re-scored. A refusal names
                    # no number (the warning names the Matrix event by its id).
                    alerts = self.scorer.update_one_all(row, row=None)
                except SchemaError as exc:
                    self.n_rejected += 1
                    self.warnings.warn(
                        _REFUSED,
                        logging.WARNING,
                        "riskscore: event %s refused: %s",
                        event.event_id,
                        exc,
                    )
                    continue
                self.n_scored += 1
                self._dirty = True
                self.rooms.note(
                    cast("str", row["conversation_id"]),
                    event.room_id,
                    cast("str", row["channel"]),
                    cast("int", row["timestamp"]),
                )
                out.extend(
                    (alert, self.rooms.context(alert, event.event_id, event.room_id))
                    for alert in alerts
                )
                for alert in self.scorer.pop_shadow_alerts():  # recorded, never sent
                    context = self.rooms.context(alert, event.event_id, event.room_id)
                    shadow_lines.append(alert.to_json(shadow=True, matrix=context))
        if lines and log is not None:
            self._log_events(log, lines)
        if shadow_lines:
            self._log_shadow(shadow_lines)
        return out

    def _unmapped(self, event: EventBase | EventMeta) -> None:
        """Count and log a room event the module cannot read (never its content)."""
        self.warnings.warn(
            _UNMAPPED,
            logging.ERROR,
            "riskscore: could not map room event %s",
            event.event_id,
            exc_info=True,
        )

    @property
    def n_unmapped(self) -> int:
        """Room events not read (counted under the warnings' lock: two threads skip them)."""
        return self.warnings.seen.get(_UNMAPPED, 0)

    # ---------------------------------------------------------------- durability

    def _checkpoint(self) -> None:
        """Scorer state and the conversation rooms, in one SQLite transaction."""
        self.scorer.checkpoint(self._checkpoint_path, extra={_ROOMS_KEY: self.rooms.to_json()})

    def _write_checkpoint(self) -> bool:
        with self._state_lock:
            return self._checkpoint_after_queue()

    def _checkpoint_after_queue(self, *, final: bool = False) -> bool:
        """The alerts held while the review queue was locked queued first; while any is still
        held, no checkpoint (:mod:`riskscore.moderation.queue_writer`, as ``riskscore serve``):
        it would count them as raised, and a restart from it would never queue them. Whether
        it was written: one that fails (a full disk, a directory in its place, the file claimed
        by another process) is one line in the log, as ``riskscore serve`` logs it, tried
        again at the next (``final``: at shutdown, the state since the last one is lost)."""
        self._flush_queue()
        held, _ = self._writer.held
        if held:
            logger.error(
                "riskscore: checkpoint to %s not written: %s held while the review queue is "
                "locked by another process; they are queued, and the checkpoint written, "
                "once the lock is released",
                self._checkpoint_path,
                plural(held, "alert"),
            )
            return False
        try:
            self._checkpoint()
        except Exception as exc:
            logger.error(
                "riskscore: checkpoint to %s failed: %s; %s",
                self._checkpoint_path,
                one_line(str(exc)),
                "the scorer state since the last checkpoint is lost (the server is stopping)"
                if final
                else f"tried again in {self._settings.checkpoint_interval_s:g} s",
            )
            return False
        return True

    async def _checkpoint_in_thread(self) -> None:
        if self._dirty:
            self._dirty = False
            if not await self._api.defer_to_thread(self._write_checkpoint):
                self._dirty = True

    def _on_checkpoint_timer(self) -> None:
        self.warnings.flush()  # the counts of a flood that stopped, once their interval is up
        if self._dirty:
            self._checkpoint_due = True
            self._start_drain()

    def _before_shutdown(self) -> None:
        """Score what is queued and write a final checkpoint (at shutdown).

        Alerts raised here, and those the drain had not sent yet, go to the JSON lines file
        and the review queue, not to the moderation room: the server is stopping. Alerts held
        while the review queue was locked are queued first; while any is still held, no
        checkpoint is written (as on the timer), and they are lost to the queue (not to the
        JSON lines file): the log says how many."""
        with self._state_lock:  # waits for a batch, a send or a checkpoint in progress
            self._stopped = True
            self._unsent.extend(self._process(len(self._pending)))
            self._to_files([*self._sending, *self._unsent])
            self._sending, self._unsent = [], deque()
            if self._dirty:
                self._dirty = not self._checkpoint_after_queue(final=True)
            else:
                self._flush_queue()
            self._store.close()
        self._log_not_sent()
        self.warnings.flush(force=True)
        logger.info(
            "riskscore: stopped after %d room events (%d scored, %d alerts); state in %s",
            self.n_enqueued,
            self.n_scored,
            self.n_alerts,
            self._checkpoint_path,
        )

    def stats(self) -> dict[str, int]:
        """Counters for monitoring."""
        return {
            "enqueued": self.n_enqueued,
            "queued": len(self._pending),
            "dropped": self.n_dropped,
            "scored": self.n_scored,
            "rejected": self.n_rejected,
            "alerts": self.n_alerts,
            **self._sink_stats(),
            "unmapped": self.n_unmapped,
            "age_lookups_failed": self.warnings.seen.get(AGES_FAILED, 0),
            "room_facts_not_written": self._store.n_not_written,
            "room_facts_not_read": self._store.n_not_read,
            "skipped_large_rooms": self._translator.n_skipped_large_rooms,
            "direct_rooms_ignored": self._translator.n_direct_rooms_ignored,
            "clamped_timestamps": self._translator.n_clamped_timestamps,
            "invites_expired": self._store.n_invites_expired,
            "warnings_not_logged": sum(self.warnings.suppressed.values()),
        }
