"""Online scoring: one event in, an alert out, in microseconds.

:class:`OnlineScorer` keeps O(1) state per conversation and per account; no
history is replayed. At any moment every live conversation's features equal
the batch features of its events so far (and of everything its adult did up to
now: an event that changes an adult's per-account features re-scores that
adult's other live conversations), so online and batch scores agree.
``docs/online.md`` states the rules for late events, duplicates, expiry, alerts
and checkpoints, and what re-scoring costs.
"""

from __future__ import annotations

import math
import os
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any

import numba
import numpy as np
import numpy.typing as npt

from riskscore import _checkpoint
from riskscore._event_parsing import parse_event_fast
from riskscore._online_state import NO_ACCOUNT as _NO_ACCOUNT
from riskscore._online_state import AccountState, ConversationState
from riskscore.exceptions import SchemaError
from riskscore.features.kernel import conversation_features
from riskscore.features.registry import FEATURE_NAMES, feature_index
from riskscore.model import RiskModel
from riskscore.model.trees import walk
from riskscore.policy import Alert, AlertPolicy, Tier
from riskscore.scores import Reason

__all__ = ["OnlineScorer"]

_N_REASONS = 3
_N_FEATURES = len(FEATURE_NAMES)
_CHILD_AGE = feature_index("child_age")
_ADULT_AGE = feature_index("adult_age")
_EXP = math.exp
FloatArray = npt.NDArray[np.float64]


@numba.njit(cache=True, nogil=True)
def _features_and_margin(
    state: FloatArray,
    adult_account: FloatArray,
    row: FloatArray,
    nodes: npt.NDArray[np.int32],
    values: FloatArray,
    roots: npt.NDArray[np.int32],
) -> float:
    """The feature row of a conversation (into ``row``) and the trees' margin on it: one
    compiled call per event."""
    conversation_features(state, adult_account, row)
    return walk(row, nodes, values, roots)


class _OnlineModel:
    """The model's trees walked on a full feature row, and its calibration, for one event.

    ``risk`` equals :meth:`RiskModel.predict_proba` on the same row (the same compiled
    tree walk and the same formula); ``reasons`` equals the batch reasons.
    """

    __slots__ = ("a", "b", "columns", "model", "nodes", "roots", "values")

    def __init__(self, model: RiskModel) -> None:
        self.columns = np.array([feature_index(n) for n in model.feature_names], dtype=np.int64)
        # The trees index the model's inputs; online they read the full feature row.
        self.nodes, self.values, self.roots = model.trees.packed(self.columns)
        self.a = model.calibration.a
        self.b = model.calibration.b
        self.model = model

    def score(
        self, conv: ConversationState, adult: AccountState | None
    ) -> tuple[float, FloatArray]:
        """Calibrated risk and feature row of a conversation, given its adult's account."""
        row = np.empty(_N_FEATURES)
        margin = _features_and_margin(
            conv.state,
            _NO_ACCOUNT if adult is None else adult.tallies,
            row,
            self.nodes,
            self.values,
            self.roots,
        )
        z = self.a * margin + self.b
        return 1.0 / (1.0 + _EXP(z if z < 700.0 else 700.0)), row

    def risk(self, row: FloatArray) -> float:
        """Calibrated risk of one feature row."""
        z = self.a * walk(row, self.nodes, self.values, self.roots) + self.b
        return 1.0 / (1.0 + _EXP(z if z < 700.0 else 700.0))

    def reasons(self, row: FloatArray) -> tuple[Reason, ...]:
        """Top positive contributions, strongest first (as :func:`riskscore.scores.top_reasons`)."""
        inputs = row[self.columns]
        contrib = self.model.reason_contributions(inputs[None, :])[0]
        order = np.argsort(-contrib, kind="stable")[:_N_REASONS]
        names = self.model.feature_names
        return tuple(
            Reason.of(names[j], float(inputs[j]), float(contrib[j]))
            for j in order
            if contrib[j] > 0.0
        )


class OnlineScorer:
    """Score conversations one event at a time and raise alerts as they cross a tier.

    Parameters
    ----------
    model : RiskModel
        The trained model (e.g. :func:`riskscore.load_model`).
    policy : AlertPolicy, optional
        Thresholds; :meth:`AlertPolicy.default` when omitted.
    idle_expiry_s : float, default 30 days
        Conversations and accounts with no event for this long (in event time)
        are forgotten, so memory stays flat over an endless stream. ``math.inf``
        keeps everything.
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

    Attributes
    ----------
    clock : int
        Latest event time seen (epoch seconds).
    n_events : int
        Events applied.
    n_clamped, n_too_late, n_expired : int
        Late events clamped, late events refused, conversations expired.
    n_rescored : int
        Conversations re-scored because an event in another conversation
        changed their adult's per-account features.
    checkpoint_extra : dict
        The ``extra`` data of the checkpoint this scorer was restored from.

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
        idle_expiry_s: float = 30 * 86_400.0,
        cooldown_s: float = 0.0,
        reorder_tolerance_s: float = 300.0,
    ) -> None:
        if not idle_expiry_s > 0:
            raise ValueError(f"idle_expiry_s must be positive, got {idle_expiry_s}")
        if not cooldown_s >= 0:
            raise ValueError(f"cooldown_s must be >= 0, got {cooldown_s}")
        if not reorder_tolerance_s >= 0:
            raise ValueError(f"reorder_tolerance_s must be >= 0, got {reorder_tolerance_s}")
        self.model = model
        self.policy = policy or AlertPolicy.default()
        self.idle_expiry_s = float(idle_expiry_s)
        self.cooldown_s = float(cooldown_s)
        self.reorder_tolerance_s = float(reorder_tolerance_s)
        self._linear = _OnlineModel(model)
        self._risk = self._linear.risk
        self._score = self._linear.score
        # The policy's one tier rule on plain floats; below min_review nothing can alert.
        self._decide = self.policy.decide_one
        self._min_review = self.policy.min_review
        self._conversations: OrderedDict[object, ConversationState] = OrderedDict()
        self._accounts: OrderedDict[object, AccountState] = OrderedDict()
        # account id -> ids of the live conversations where it has the adult role, in the
        # order they joined (a dict as an ordered set: holding only ids, it stays out of the
        # garbage collector's passes). Kept apart from _accounts so that an account's expiry
        # and return (its counts restart) leaves its live conversations reachable.
        self._adult_convs: dict[object, dict[object, None]] = {}
        # Alerts an update_one raised on conversations other than its own; None when it
        # raised none. Reset by the callers that collect them (update_one_all, update_many).
        self._cross: list[Alert] | None = None
        self.clock = 0
        self.n_events = 0
        self.n_clamped = 0
        self.n_too_late = 0
        self.n_expired = 0
        self.n_rescored = 0
        self.checkpoint_extra: dict[str, Any] = {}
        self._oldest = -math.inf  # lower bound of the oldest activity held (for expiry)

    # ------------------------------------------------------------------ state

    def _expire(self) -> None:
        """Forget conversations and accounts idle since before ``clock - idle_expiry_s``.

        Both maps are kept least-recently-active first, so this stops at the first
        one still active. ``_oldest`` remembers a lower bound of the next candidate's
        time, so that most events skip the call.
        """
        horizon = self.clock - self.idle_expiry_s
        conversations = self._conversations
        oldest = math.inf
        while conversations:
            key = next(iter(conversations))
            conv = conversations[key]
            if conv.max_ts >= horizon:
                oldest = conv.max_ts
                break
            del conversations[key]
            self._unindex(conv.adult_id(), key)
            self.n_expired += 1
        accounts = self._accounts
        while accounts:
            key = next(iter(accounts))
            last_seen = accounts[key].last_seen
            if last_seen >= horizon:
                oldest = min(oldest, last_seen)
                break
            del accounts[key]
        self._oldest = oldest

    def _index(self, account_id: object, cid: object) -> None:
        convs = self._adult_convs.get(account_id)
        if convs is None:
            self._adult_convs[account_id] = {cid: None}
        else:
            convs[cid] = None

    def _unindex(self, account_id: object, cid: object) -> None:
        convs = self._adult_convs.get(account_id)
        if convs is not None:
            convs.pop(cid, None)
            if not convs:
                del self._adult_convs[account_id]

    def _after_account_change(
        self,
        cid: object,
        conv: ConversationState,
        adult_was_initiator: bool,
        changed: tuple[object, AccountState] | None,
        ts: int,
    ) -> None:
        """Keep the adult index right and re-score the changed account's other conversations.

        Called only when the event just applied to ``conv`` flipped its roles or
        changed the per-account features of ``changed`` (``(account_id, state)``;
        see :meth:`ConversationState.update`). ``conv`` itself is scored by the
        caller. Alerts raised are left in ``_cross``.
        """
        if conv.adult_i != adult_was_initiator:
            # An age arrived and the roles flipped: the conversation changes adult.
            self._unindex(conv.responder if conv.adult_i else conv.initiator, cid)
            self._index(conv.adult_id(), cid)
        if changed is None:
            return
        account_id, account = changed
        convs = self._adult_convs.get(account_id)
        if convs is None:
            return
        conversations = self._conversations
        score = self._score
        min_review = self._min_review
        cross: list[Alert] = []
        n = 0
        for other_cid in convs:
            if other_cid == cid:
                continue
            other = conversations[other_cid]
            risk, row = score(other, account)
            other.risk = risk
            n += 1
            if risk >= min_review:
                # Raised now, but never dated before the state it describes.
                at = ts if ts > other.max_ts else other.max_ts
                alert = self._maybe_alert(other_cid, at, other, row, risk)
                if alert is not None:
                    cross.append(alert)
        self.n_rescored += n
        if cross:
            self._cross = cross

    # ------------------------------------------------------------------ API

    def update_one(self, event: Mapping[str, Any]) -> Alert | None:
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

        Returns
        -------
        Alert or None
            An alert when the event's conversation first reaches a tier, or
            reaches a higher one; None otherwise.

        Raises
        ------
        SchemaError
            The event breaks the schema, names a third account in a
            two-account conversation, or is older than its conversation's
            latest event by more than ``reorder_tolerance_s``. State is
            unchanged.
        """
        # One frame per event: parsing and applying are inlined here because the
        # hot path is a few microseconds and a Python call costs about 0.1 of them.
        cid, ts, sender_id, recipient_id, sender_age, recipient_age, channel, kind, tz = (
            parse_event_fast(event, self.n_events)
        )
        conversations = self._conversations
        accounts = self._accounts
        conv = conversations.get(cid)
        if conv is None:
            conv = ConversationState(sender_id, recipient_id)
            conversations[cid] = conv
            side = 1
            self._index(conv.adult_id(), cid)
        else:
            if sender_id == conv.initiator and recipient_id == conv.responder:
                side = 1
            elif sender_id == conv.responder and recipient_id == conv.initiator:
                side = 0
            else:
                raise SchemaError(
                    f"column 'sender_id', event {self.n_events}: {sender_id!r} -> "
                    f"{recipient_id!r} is not the pair of conversation {cid!r} "
                    f"({conv.initiator!r}, {conv.responder!r}); give each pair of accounts "
                    "its own conversation_id",
                    column="sender_id",
                    row=self.n_events,
                    value=sender_id,
                )
            if ts < conv.max_ts:
                if conv.max_ts - ts > self.reorder_tolerance_s:
                    self.n_too_late += 1
                    raise SchemaError(
                        f"column 'timestamp', event {self.n_events}: {ts} is "
                        f"{conv.max_ts - ts} s before the latest event of conversation {cid!r} "
                        f"({conv.max_ts}), beyond reorder_tolerance_s="
                        f"{self.reorder_tolerance_s:g}; the event was not applied",
                        column="timestamp",
                        row=self.n_events,
                        value=ts,
                    )
                ts = conv.max_ts
                self.n_clamped += 1
            conversations.move_to_end(cid)
        sender = accounts.get(sender_id)
        if sender is None:
            sender = accounts[sender_id] = AccountState()
        else:
            accounts.move_to_end(sender_id)
        recipient = accounts.get(recipient_id)
        if recipient is None:
            recipient = accounts[recipient_id] = AccountState()
        else:
            accounts.move_to_end(recipient_id)
        adult_i = conv.adult_i
        changed = conv.update(
            side, ts, sender_age, recipient_age, channel, kind, tz, sender, recipient, recipient_id
        )
        self.n_events += 1
        if ts > self.clock:
            self.clock = ts
            if ts - self.idle_expiry_s > self._oldest:
                self._expire()
        # Most events change no account's features and flip no roles: one test.
        if changed or conv.adult_i != adult_i:
            self._after_account_change(
                cid,
                conv,
                adult_i,
                (sender_id, sender)
                if changed == 1
                else (recipient_id, recipient)
                if changed
                else None,
                ts,
            )
        # The adult is one of this event's two accounts, both held (just touched).
        risk, row = self._score(conv, sender if conv.adult_i == (side == 1) else recipient)
        conv.risk = risk
        # Below the lowest review threshold no alert can fire.
        if risk < self._min_review:
            return None
        return self._maybe_alert(cid, ts, conv, row, risk)

    def update_one_all(self, event: Mapping[str, Any]) -> list[Alert]:
        """Apply one event; return every alert it raised.

        The event's own conversation's alert first (as :meth:`update_one`
        returns it), then those of the other live conversations of an adult
        whose per-account features the event changed, in the order those
        conversations joined that adult. Such an alert has the re-scored
        conversation's ids, its latest ``event_index``, and as ``timestamp``
        the event's time (or that conversation's latest, if later).

        Parameters
        ----------
        event : mapping
            One schema v1 event, as for :meth:`update_one`.

        Returns
        -------
        list of Alert
            Empty for most events.

        Raises
        ------
        SchemaError
            As :meth:`update_one`; state is unchanged.

        Examples
        --------
        >>> import riskscore as rs
        >>> scorer = rs.OnlineScorer(rs.load_model())
        >>> scorer.update_one_all({"conversation_id": 1, "timestamp": 1_700_000_000,
        ...                        "sender_id": "a", "recipient_id": "b",
        ...                        "channel": "public"})
        []
        """
        self._cross = None
        own = self.update_one(event)
        cross = self._cross
        if cross is None:
            return [] if own is None else [own]
        self._cross = None
        return cross if own is None else [own, *cross]

    def update_many(self, events: Iterable[Mapping[str, Any]]) -> list[Alert]:
        """Apply events in order; return every alert they raised, in order.

        Each event's alerts are ordered as :meth:`update_one_all` returns them.

        Examples
        --------
        >>> import riskscore as rs
        >>> data = rs.synthetic.generate(200, prevalence=0.1, seed=3)
        >>> scorer = rs.OnlineScorer(rs.load_model())
        >>> alerts = scorer.update_many(data.messages.iter_events())
        >>> scorer.n_events == len(data.messages)
        True
        """
        update = self.update_one
        alerts: list[Alert] = []
        self._cross = None
        for event in events:
            alert = update(event)
            if alert is not None:
                alerts.append(alert)
            if self._cross is not None:
                alerts.extend(self._cross)
                self._cross = None
        return alerts

    def _features(self, conv: ConversationState) -> FloatArray:
        return conv.features(self._accounts)

    def _maybe_alert(
        self, cid: object, ts: int, conv: ConversationState, row: FloatArray, risk: float
    ) -> Alert | None:
        child_age = float(row[_CHILD_AGE])
        adult_age = float(row[_ADULT_AGE])
        tier, band = self._decide(risk, child_age, adult_age)
        if tier <= conv.n_alerted_tier:
            return None
        if (
            self.cooldown_s
            and conv.last_alert_ts is not None
            and ts - conv.last_alert_ts < self.cooldown_s
        ):
            return None
        conv.n_alerted_tier = tier
        conv.last_alert_ts = ts
        adult_i = conv.adult_i
        return Alert(
            conversation_id=cid,
            adult_id=conv.initiator if adult_i else conv.responder,
            child_id=conv.responder if adult_i else conv.initiator,
            child_age=child_age,
            adult_age=adult_age,
            age_band=band.name,
            risk=risk,
            tier=Tier(tier),
            reasons=self._linear.reasons(row),
            event_index=conv.n_events - 1,
            timestamp=ts,
        )

    def refresh(self) -> list[Alert]:
        """Re-score every live conversation against its adult's current account features.

        Every event already re-scores the conversations whose features it
        changes (its own, and its adults' other live ones), so this normally
        changes nothing and returns no alert. It is a safety net for what
        bypasses that: a restore with another model (risks recomputed, not
        alerted), or an adult's account state expiring before one of its
        conversations does. It returns the escalation alerts that raises (at
        each conversation's latest event). O(number of live conversations);
        ``riskscore stream`` calls it at end of input.

        Returns
        -------
        list of Alert
            New alerts, in the order the conversations were last active.
        """
        alerts = []
        for cid, conv in self._conversations.items():
            row = self._features(conv)
            conv.risk = risk = self._linear.risk(row)
            if risk >= self._min_review:
                alert = self._maybe_alert(cid, conv.max_ts, conv, row, risk)
                if alert is not None:
                    alerts.append(alert)
        return alerts

    def score_of(self, conversation_id: object) -> float:
        """Current risk of a conversation (as of its latest event).

        Raises
        ------
        KeyError
            The conversation has not been seen, or has expired.
        """
        conv = self._conversations.get(conversation_id)
        if conv is None:
            raise KeyError(
                f"conversation {conversation_id!r} is unknown to this scorer (never seen, or "
                "expired after idle_expiry_s)"
            )
        return conv.risk

    def features_of(self, conversation_id: object) -> np.ndarray[Any, np.dtype[np.float64]]:
        """Current feature vector of a conversation, in ``FEATURE_NAMES`` order."""
        conv = self._conversations.get(conversation_id)
        if conv is None:
            raise KeyError(f"conversation {conversation_id!r} is unknown to this scorer")
        return np.asarray(self._features(conv), dtype=np.float64)

    def alerted_tier_of(self, conversation_id: object) -> int:
        """Highest tier already alerted for a conversation (0: none yet)."""
        conv = self._conversations.get(conversation_id)
        if conv is None:
            raise KeyError(f"conversation {conversation_id!r} is unknown to this scorer")
        return conv.n_alerted_tier

    @property
    def n_conversations(self) -> int:
        """Conversations currently held in memory."""
        return len(self._conversations)

    @property
    def n_accounts(self) -> int:
        """Accounts currently held in memory."""
        return len(self._accounts)

    # ------------------------------------------------------------- durability

    def checkpoint(
        self, path: str | os.PathLike[str], *, extra: Mapping[str, Any] | None = None
    ) -> None:
        """Write the scorer's whole state to a SQLite file, atomically.

        One transaction in WAL mode: a process killed while writing leaves the
        previous checkpoint readable. Nothing is pickled. The policy is not
        stored; pass it again to :meth:`restore`.

        Parameters
        ----------
        path : str or path-like
            The checkpoint file, created or replaced.
        extra : mapping, optional
            JSON-ready data stored with the state (e.g. an input offset);
            :meth:`restore` puts it in :attr:`checkpoint_extra`.

        Examples
        --------
        >>> import os, tempfile
        >>> import riskscore as rs
        >>> model = rs.load_model()
        >>> scorer = rs.OnlineScorer(model)
        >>> _ = scorer.update_one({"conversation_id": 1, "timestamp": 1_700_000_000,
        ...                        "sender_id": "a", "recipient_id": "b", "channel": "direct"})
        >>> path = os.path.join(tempfile.mkdtemp(), "state.sqlite")
        >>> scorer.checkpoint(path)
        >>> rs.OnlineScorer.restore(path, model).score_of(1) == scorer.score_of(1)
        True
        """
        meta = {
            "riskscore_version": _version(),
            "model_sha256": _model_fingerprint(self.model),
            "config": {
                "idle_expiry_s": _finite_or_none(self.idle_expiry_s),
                "cooldown_s": self.cooldown_s,
                "reorder_tolerance_s": _finite_or_none(self.reorder_tolerance_s),
            },
            "counters": {
                "clock": self.clock,
                "n_events": self.n_events,
                "n_clamped": self.n_clamped,
                "n_too_late": self.n_too_late,
                "n_expired": self.n_expired,
                "n_rescored": self.n_rescored,
            },
            # The adult index is rebuilt from the conversations on restore; only its
            # order (that of the alerts one event raises) needs keeping, for adults
            # with more than one live conversation.
            "adult_index": [
                [aid, list(convs)] for aid, convs in self._adult_convs.items() if len(convs) > 1
            ],
            "extra": dict(extra or {}),
        }
        _checkpoint.write(
            path,
            meta,
            (
                (cid, conv.initiator, conv.responder, conv.to_json())
                for cid, conv in self._conversations.items()
            ),
            ((aid, acc.to_json()) for aid, acc in self._accounts.items()),
        )

    @classmethod
    def restore(
        cls,
        path: str | os.PathLike[str],
        model: RiskModel,
        policy: AlertPolicy | None = None,
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
            Thresholds; :meth:`AlertPolicy.default` when omitted.

        Raises
        ------
        FileNotFoundError
            No file at ``path``.
        RiskscoreError
            The file is not a checkpoint of a version this riskscore reads.
        """
        snap = _checkpoint.read(path)
        config = snap.meta["config"]
        scorer = cls(
            model,
            policy,
            idle_expiry_s=_inf_if_none(config["idle_expiry_s"]),
            cooldown_s=float(config["cooldown_s"]),
            reorder_tolerance_s=_inf_if_none(config["reorder_tolerance_s"]),
        )
        counters = snap.meta["counters"]
        scorer.clock = int(counters["clock"])
        scorer.n_events = int(counters["n_events"])
        scorer.n_clamped = int(counters["n_clamped"])
        scorer.n_too_late = int(counters["n_too_late"])
        scorer.n_expired = int(counters["n_expired"])
        scorer.n_rescored = int(counters.get("n_rescored", 0))
        scorer.checkpoint_extra = dict(snap.meta.get("extra", {}))
        for aid, state in snap.accounts:
            scorer._accounts[aid] = AccountState.from_json(state)
        for cid, initiator, responder, state in snap.conversations:
            conv = ConversationState.from_json(initiator, responder, state)
            scorer._conversations[cid] = conv
            scorer._index(conv.adult_id(), cid)
        # Membership comes from the conversations; the stored order (absent from
        # checkpoints of earlier versions) only reorders it.
        for aid, cids in snap.meta.get("adult_index", []):
            convs = scorer._adult_convs.get(aid)
            if convs is not None:
                ordered = dict.fromkeys(cid for cid in cids if cid in convs)
                ordered.update(convs)
                scorer._adult_convs[aid] = ordered
        if snap.meta.get("model_sha256") != _model_fingerprint(model):
            for conv in scorer._conversations.values():
                conv.risk = scorer._linear.risk(scorer._features(conv))
        return scorer


def _version() -> str:
    from riskscore import __version__

    return __version__


def _model_fingerprint(model: RiskModel) -> str:
    import hashlib
    import json

    text = json.dumps(model.to_dict(), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _finite_or_none(value: float) -> float | None:
    return None if math.isinf(value) else value


def _inf_if_none(value: float | None) -> float:
    return math.inf if value is None else float(value)
