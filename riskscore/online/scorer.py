"""Online scoring: one event in, an alert out, in microseconds.

:class:`OnlineScorer` keeps O(1) state per conversation and per account; no
history is replayed. At any moment every live conversation's features equal
the batch features of its events so far (and of everything its adult did up to
now: an event that changes an adult's per-account features re-scores that
adult's other live conversations), so online and batch scores agree.
``docs/online.md`` states the rules for late events, duplicates, expiry, alerts
and checkpoints, and what re-scoring costs. A shadow model (``shadow_model=``,
:mod:`riskscore.online.shadow`) is scored on the same feature rows; its alerts are
recorded apart and never returned as alerts. This module applies each event; what the
scorer holds is in :mod:`riskscore.online.memory`, re-scoring and the alert rule in
:mod:`riskscore.online.rescore`, checkpoints in :mod:`riskscore.online.persist`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import riskscore.online.checkpoint as _checkpoint
from riskscore.exceptions import CheckpointError
from riskscore.io.events import parse_event_fast
from riskscore.io.groups import (
    DEFAULT_MAX_ROOM_MEMBERS,
    PAIR_ID_SEPARATOR,
    pair_conversation_id,
    pair_id_clash_at,
)
from riskscore.io.raw import show
from riskscore.model import RiskModel, checked_model
from riskscore.online.options import (
    DEFAULT_IDLE_EXPIRY_S,
    DEFAULT_MAX_ACCOUNT_CONTACTS,
    DEFAULT_MAX_CONVERSATIONS,
    DEFAULT_MAX_FUTURE_S,
    RUNNING_COUNT,
    EventRow,
    TimeSource,
    check_time_source,
)
from riskscore.online.pairs import pair_facts
from riskscore.online.persist import config_of
from riskscore.online.rescore import Rescoring
from riskscore.online.risk import ADULT_IS_INITIATOR, TOP_TIER, OnlineModel
from riskscore.online.shadow import ShadowModel, ShadowScoring
from riskscore.online.state import CONTACT_CAPPED, ConversationState
from riskscore.policy import Alert, AlertPolicy, policy_or_default

__all__ = ["OnlineScorer"]


class OnlineScorer(Rescoring, ShadowScoring):
    """Score conversations one event at a time and raise alerts as they cross a tier.

    Parameters
    ----------
    model : RiskModel
        The trained model (e.g. :func:`riskscore.load_model`).
    policy : AlertPolicy, optional
        Thresholds; :meth:`AlertPolicy.default` when omitted.
    idle_expiry_s : float, default 30 days
        Conversations and accounts with no event for this long (in event time) are
        forgotten, so memory stays flat over an endless stream; ``math.inf`` keeps all.
    cooldown_s : float, default 0
        Minimum event time between two alerts of one conversation; an
        escalation inside the cool-down is raised by the first event after it
        that scores the conversation (its own event, or one that re-scores it
        through its adult) while it is still at the higher tier.
    reorder_tolerance_s : float, default 300
        An event up to this many seconds older than its conversation's latest
        event is applied as if sent at that latest time (its timestamp is
        clamped, and counted in ``n_clamped``). An older one is refused with a
        :class:`~riskscore.SchemaError` (counted in ``n_too_late``).
    max_future_s : float, default 86400 (one day)
        An event dated more than this ahead of the reference clock (see
        ``time_source``) is refused with a :class:`~riskscore.SchemaError`, counted
        in ``n_refused_future``, and changes no state: one forged far-future
        timestamp cannot expire every live conversation.
    time_source : {"wall", "events"} or callable, default "wall"
        The reference clock for ``max_future_s``: the system clock; ``"events"``
        for replaying history (the latest accepted event time, so a single jump of
        more than ``max_future_s`` past it is refused; the first event, which sets it,
        is held to the batch readers' rule: at most five years, or ``max_future_s`` if
        longer, after the time of reading);
        or a callable returning epoch seconds (tests, simulations).
    max_conversations : int, default 1,000,000
        Cap on live conversations, up to one billion
        (:data:`~riskscore.online.options.MAX_CONVERSATIONS_LIMIT`). A new conversation
        beyond it evicts the least recently active one (counted in ``n_evicted``); accounts
        are capped at twice this number the same way. One million conversations take about
        2 GB.
    max_room_members : int, default 20
        Accounts (the sender included) above which a room is a broadcast surface: a
        ``message`` or ``media`` event with a larger ``room_size`` is counted in
        ``n_broadcast`` and changes no state (as :func:`riskscore.read_messages` sets
        such rows aside).
    max_account_contacts : int, default 10,000
        Most accounts one account's distinct counts and pair facts hold: past it (a flood
        of new ids) its counts stop growing, where batch counts on, and a new pair's facts
        stay in its conversation alone; each contact not held counts in ``n_contacts_capped``.
    shadow_model : RiskModel, optional
        A candidate scored next to ``model`` on the same feature rows, under the same
        policy and cool-down. Its alerts are recorded (:meth:`pop_shadow_alerts`) and
        never returned by :meth:`update_one`, :meth:`update_one_all`,
        :meth:`update_many` or :meth:`refresh`, so they never reach a review queue.
        Without one, the per-event path pays a single ``is None`` test.

    Notes
    -----
    Group conversations follow :mod:`riskscore.io.groups`: when an event names a third
    account in a conversation, the conversation becomes a group room; its pair so far
    continues under the id ``room|account|account`` (its state and alerted tier kept)
    and every later event of the room goes to the conversation of its own pair. Alerts
    raised before carry the room's id, those after the pair's. So after every event the
    live conversations are those :func:`riskscore.read_messages` makes of the events so
    far.

    Attributes
    ----------
    clock : int
        Latest event time seen (epoch seconds).
    n_events : int
        Events applied.
    n_clamped, n_too_late, n_expired : int
        Late events clamped, late events refused, conversations expired.
    n_refused_future, n_evicted, n_broadcast, n_contacts_capped : int
        Events refused beyond ``max_future_s`` ahead of the clock; conversations evicted
        by ``max_conversations``; events to rooms above ``max_room_members`` set aside;
        new contacts not held past ``max_account_contacts``.
    last_event : tuple or None
        The last event :meth:`update_one` parsed, as the shared validator parsed it
        (:data:`riskscore.io.events.EventTuple`): set once an event passes validation,
        whether it is then applied, set aside as a broadcast or refused as too far ahead;
        an event the validator refuses leaves it unchanged.
    n_rescored : int
        Conversations re-scored because an event in another conversation
        changed their adult's per-account features.
    n_rescore_skipped, n_rescore_deferred : int
        Conversations not re-scored when their adult's features changed: the change
        moved no split (risk unchanged to the last bit), or could not bring them to a
        review threshold (scored when read or at their next event; ``docs/online.md``).
    checkpoint_extra : dict
        The ``extra`` data of the checkpoint this scorer was restored from.
    n_shadow_alerts : int
        Alerts the shadow model raised (0 without one).

    Examples
    --------
    >>> import riskscore as rs
    >>> scorer = rs.OnlineScorer(rs.load_model())
    >>> scorer.update_one({"conversation_id": 1, "timestamp": 1_700_000_000, "sender_id": "a",
    ...                    "recipient_id": "b", "channel": "public", "sender_age": 35,
    ...                    "recipient_age": 12}) is None
    True
    >>> 0.0 < scorer.score_of(1) < 1.0
    True
    """

    def __init__(
        self,
        model: RiskModel,
        policy: AlertPolicy | None = None,
        *,
        idle_expiry_s: float = DEFAULT_IDLE_EXPIRY_S,
        cooldown_s: float = 0.0,
        reorder_tolerance_s: float = 300.0,
        max_future_s: float = DEFAULT_MAX_FUTURE_S,
        time_source: TimeSource = "wall",
        max_conversations: int = DEFAULT_MAX_CONVERSATIONS,
        max_room_members: int = DEFAULT_MAX_ROOM_MEMBERS,
        max_account_contacts: int = DEFAULT_MAX_ACCOUNT_CONTACTS,
        shadow_model: RiskModel | None = None,
    ) -> None:
        super().__init__(
            model,
            idle_expiry_s=idle_expiry_s,
            cooldown_s=cooldown_s,
            reorder_tolerance_s=reorder_tolerance_s,
            max_future_s=max_future_s,
            time_source=time_source,
            max_conversations=max_conversations,
            max_room_members=max_room_members,
            max_account_contacts=max_account_contacts,
        )
        self.policy = policy_or_default(policy)
        self._max_accounts = 2 * self.max_conversations
        linear = self._linear = OnlineModel(model)
        self._score, self._step = linear.score, linear.step
        self._model_array = linear.array
        # The policy's one tier rule on plain floats; below min_review nothing can alert.
        self._decide = self.policy.decide_one
        self._min_review = self.policy.min_review
        # Alerts an update_one raised on conversations other than its own; None when it
        # raised none. Reset by the callers that collect them (update_one_all, update_many).
        self._cross: list[Alert] | None = None
        self._shadow: ShadowModel | None = None
        if shadow_model is not None:
            checked_model(shadow_model, "shadow_model")
            self._shadow = ShadowModel(shadow_model, self.policy, self.cooldown_s)
            self.shadow_sha256 = shadow_model.parameters_sha256()

    # ------------------------------------------------------------------ API

    def update_one(
        self, event: Mapping[str, Any], *, row: int | EventRow | None = RUNNING_COUNT
    ) -> Alert | None:
        """Apply one event (a schema v1 mapping); return its own conversation's alert if due.

        When the event changes an account's per-account features (a new minor
        contacted, a request sent or accepted, a block or report from a minor),
        every other live conversation where that account is the adult is
        re-scored too, and may alert. Those alerts are **not** returned here:
        :meth:`update_one_all` and :meth:`update_many` return every alert.

        Parameters
        ----------
        event : mapping
            ``conversation_id``, ``timestamp``, ``sender_id``, ``recipient_id``,
            ``channel`` and optionally ``sender_age``, ``recipient_age``,
            ``event``, ``recipient_tz_offset_min``.
        row : int or None, optional
            The caller's number of this event (its line in a file, its place in a
            request), named by a refusal (``"event 17"``, ``SchemaError.row``); None: no
            number (the Synapse module names the event by its id). By default
            :attr:`n_events`, the number of events this scorer has applied.

        Returns
        -------
        Alert or None
            An alert when the event's conversation first reaches a tier, or
            reaches a higher one; None otherwise.

        Raises
        ------
        SchemaError
            The event breaks the schema, is older than its conversation's
            latest event by more than ``reorder_tolerance_s``, or is dated more
            than ``max_future_s`` ahead of the reference clock. State is
            unchanged.
        ValueError
            A callable ``time_source`` gave no epoch seconds (milliseconds, NaN), or
            ``row`` is negative; state is unchanged.
        TypeError
            ``row`` is neither an integer nor None (``True``, ``"7"``, ``7.0``).
        """
        # One frame per event: parsing and applying are inlined here because the
        # hot path is a few microseconds and a Python call costs about 0.1 of them.
        if row is RUNNING_COUNT:
            row = self.n_events
        elif row is not None and (type(row) is not int or row < 0):  # most: no call
            row = EventRow.check(row)
        parsed = self.last_event = parse_event_fast(event, row)
        cid, ts, sender_id, recipient_id, sender_age, recipient_age, channel, kind, tz, room = (
            parsed
        )
        if room and self._room_event(parsed, row):  # a broadcast: set aside
            return None
        if ts > self.clock and ts > self._within_wall_limit:
            self._check_future(ts, row)
        conversations = self._conversations
        accounts = self._accounts
        rooms = self._rooms
        # What this event finds idle for longer than idle_expiry_s (its conversation, room
        # or accounts) is forgotten before it is applied, as if an earlier event had
        # expired it: the event starts afresh whichever event moved the clock first.
        horizon = ts - self._expiry_whole  # an int for a whole expiry: int comparisons
        room_id = room_time = None
        if rooms:  # most streams have no group room: one test for them
            room_time = rooms.get(cid)
            if room_time is not None and room_time >= horizon:  # the event belongs to its pair
                room_id = cid
                cid = pair_conversation_id(cid, sender_id, recipient_id)
            elif isinstance(cid, str) and PAIR_ID_SEPARATOR in cid:
                self._refuse_a_pair_id(cid, sender_id, recipient_id, row, horizon)
        conv = idle = conversations.get(cid)
        if conv is not None and conv.max_ts < horizon:
            conv = None
        else:
            idle = None
        if room_id is not None:
            if conv is not None:
                self._refuse_another_pair(cid, conv, room_id, row)
            elif cid in rooms and rooms[cid] >= horizon:
                raise pair_id_clash_at(cid, row)  # a pair id that is a live room's id
        side = 1  # the sender is the initiator (of a new conversation, the first sender)
        if conv is not None and (sender_id != conv.initiator or recipient_id != conv.responder):
            if sender_id == conv.responder and recipient_id == conv.initiator:
                side = 0  # the responder
            else:  # a third account: the conversation becomes a group room
                if room_id is not None:  # two pairs of a room derive one pair id (batch refuses)
                    raise pair_id_clash_at(cid, row, room_id)
                room_id = cid
                cid = self._open_room(cid, conv, sender_id, recipient_id, ts, row, horizon)
                conv = None
        if conv is None:
            idle_room = room_id is None and room_time is not None
            if idle is not None or idle_room:
                self._forget_idle(cid, idle, idle_room)
            conv = ConversationState(sender_id, recipient_id)
            conversations[cid] = conv
            self._pair_convs.join(cid, conv)
            if room_id is not None:
                self._join_room(room_id, cid, conv)
            self._index(sender_id, cid)  # the initiator: the adult before any age is known
            if len(conversations) > self.max_conversations:
                self._evict_oldest()
        else:
            if ts < conv.max_ts:
                if conv.max_ts - ts > self.reorder_tolerance_s:
                    raise self._too_late(ts, cid, conv.max_ts, row)
                ts = conv.max_ts
                self.n_clamped += 1
            conversations.move_to_end(cid)
        if room:  # taken (a refused row reached no one): it counts in its event's reach
            self._reach.record((parsed[0], parsed[1], sender_id, channel, kind), recipient_id, room)
        if room_id is not None:
            self._touch_room(room_id, ts)
        sender = accounts.get(sender_id)
        if sender is not None and sender.last_seen < horizon:
            self._drop_account(sender_id)
            sender = None
        added = False  # the cap on accounts is checked only when one was added
        if sender is None:
            sender = accounts[sender_id] = self._new_account(sender_id)
            added = True
        else:
            accounts.move_to_end(sender_id)
        recipient = accounts.get(recipient_id)
        if recipient is not None and recipient.last_seen < horizon:
            self._drop_account(recipient_id)
            recipient = None
        if recipient is None:
            recipient = accounts[recipient_id] = self._new_account(recipient_id)
            added = True
        else:
            accounts.move_to_end(recipient_id)
        if added and len(accounts) > self._max_accounts:
            self._evict_accounts()
        if ts > sender.last_seen:
            sender.last_seen = ts
        if ts > recipient.last_seen:
            recipient.last_seen = ts
        # As held now by the pair's lower id (it may have expired and come back).
        cap = self.max_account_contacts  # a flood of new ids: no more held past it
        pair = conv.pair = pair_facts(sender, recipient, sender_id, recipient_id, conv.pair, cap)
        if pair is None:  # past the cap, a new conversation: the facts its pair's others keep
            pair = conv.pair = self._pair_convs.kept(conv, conversations)
        adult_i = conv.adult_i
        novel = sender.note_contact(recipient_id, recipient_age, channel, kind, room, cap)
        if novel & CONTACT_CAPPED:
            self.n_contacts_capped += 1
        # One compiled call: tallies, pair facts, the kernel's update, features and risk.
        risk, code, shift = self._step(
            self._model_array,
            conv.state,
            sender.tallies,
            recipient.tallies,
            pair,
            novel,
            side,
            ts,
            sender_age,
            recipient_age,
            channel,
            kind,
            tz,
            room,
        )
        conv.adult_i = code >= ADULT_IS_INITIATOR  # its highest bit: a bool with no call
        conv.max_ts = ts
        conv.risk = risk
        conv.slack = 0.0
        self.n_events += 1
        if ts > self.clock:
            self.clock = ts
            if ts - self._expiry_whole > self._oldest:
                self._expire()
        alert = None
        # Below the lowest review threshold no alert can fire, nor once alerted at the top
        # tier. The feature row is read before re-scoring others reuses its buffer.
        if self._shadow is not None:
            self._shadow.observe(cid, ts, conv, self._linear.row)
        if risk >= self._min_review and conv.n_alerted_tier < TOP_TIER:
            alert = self._maybe_alert(cid, ts, conv, self._linear.row, risk)
        # Most events change no account's features or pair facts and flip no roles.
        changed = code & 7
        if changed or conv.adult_i != adult_i:
            self._after_account_change(
                cid, conv, adult_i, changed, ((sender_id, sender), (recipient_id, recipient)), ts,
                shift,
            )  # fmt: skip
        return alert

    @classmethod
    def restore(
        cls,
        path: str | os.PathLike[str],
        model: RiskModel,
        policy: AlertPolicy | None = None,
        *,
        time_source: TimeSource | None = None,
        shadow_model: RiskModel | None = None,
    ) -> OnlineScorer:
        """A scorer in the state saved by :meth:`checkpoint`.

        Feeding it the events that came after the checkpoint gives exactly the
        alerts an uninterrupted scorer would have raised: conversations keep
        the tier they were already alerted at.

        Parameters
        ----------
        path : str or path-like
            A file written by :meth:`checkpoint`.
        model : RiskModel
            The model to score with. When it differs from the one in use at
            checkpoint time, stored risks are recomputed with it.
        policy : AlertPolicy, optional
            Thresholds; :meth:`AlertPolicy.default` when omitted. Must be the policy the
            checkpoint was written with (its :meth:`AlertPolicy.sha256`), else refused:
            another would alert anew, or never, on conversations it had judged.
        time_source : {"wall", "events"} or callable, optional
            The reference clock; when omitted, the one stored (``"wall"`` if the
            checkpoint was written with a callable).
        shadow_model : RiskModel, optional
            The shadow model to go on scoring. The conversations keep the tiers the
            shadow already alerted when it is the one in use at checkpoint time;
            another shadow (or none) starts with no shadow alert.

        Raises
        ------
        FileNotFoundError
            No file at ``path``.
        ValueError
            ``time_source`` is not one (before the file is read).
        TypeError
            ``model``, ``policy`` or ``shadow_model`` is not one (before the file is read).
        CheckpointError
            The file is not a checkpoint of a version this riskscore reads, is
            corrupted (``PRAGMA integrity_check``), holds malformed rows, was written
            under another policy, or is owned by another process (:meth:`claim_checkpoint`).
        """
        # the caller's arguments: refused as such (a TypeError), never as the file's
        checked_model(model)
        policy_or_default(policy)
        if shadow_model is not None:
            checked_model(shadow_model, "shadow_model")
        if time_source is not None:
            check_time_source(time_source)
        with _checkpoint.read(path) as snap:
            config = config_of(snap)
            if time_source is not None:
                config["time_source"] = time_source
            try:
                scorer = cls(model, policy, shadow_model=shadow_model, **config)
            except (TypeError, ValueError) as exc:
                raise CheckpointError(f"{path}: meta 'config' is invalid ({exc})") from None
            scorer._load(snap)
            _check_policy(path, snap.meta, scorer.policy)
            # once restored, inside the read: a refused file gets no lock file beside it
            scorer.claim_checkpoint(path)
        scorer._models_restored(snap.meta)
        return scorer


def _check_policy(path: object, meta: Mapping[str, Any], policy: AlertPolicy) -> None:
    """Refuse to resume under another policy than the checkpoint's (a file of an earlier
    version, without the policy's sha256, is taken as it is)."""
    stored = meta.get("policy_sha256")
    if stored is not None and stored != policy.sha256():
        found = stored if isinstance(stored, str) and len(stored) == 64 else show(stored)
        raise CheckpointError(
            f"{path} was written under another policy (sha256 {found}) than the one "
            f"given (sha256 {policy.sha256()}): resuming under it would alert anew, or never, "
            "on conversations the first had judged; give the policy the checkpoint was "
            "written with (--policy; the Synapse module's policy), or start a new checkpoint "
            "file to change it"
        )
