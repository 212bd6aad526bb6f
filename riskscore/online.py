"""Online scoring: one event in, an alert out, in microseconds.

:class:`OnlineScorer` keeps O(1) state per conversation and per account; no
history is replayed. After the k-th event of a conversation its features equal
the batch features of that conversation's first k events (and of everything
its adult did up to then), so online and batch scores agree.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from riskscore._event_parsing import Event, parse_event
from riskscore._online_state import AccountState, ConversationState, update_accounts
from riskscore.exceptions import SchemaError
from riskscore.feature_specs import FEATURE_NAMES, FEATURES
from riskscore.model import RiskModel
from riskscore.policy import Alert, AlertPolicy, Tier
from riskscore.scores import Reason, top_reasons

__all__ = ["OnlineScorer"]

_N_REASONS = 3
_DESCRIPTIONS = {spec.name: spec.description for spec in FEATURES}


class _FastLinear:
    """The model's portable parameters folded into plain Python lists for one-row scoring."""

    __slots__ = ("bias", "calib_a", "calib_b", "impute", "log_scale", "weight")

    def __init__(self, model: RiskModel) -> None:
        p = model.params
        self.log_scale = [bool(v) for v in p.log_scale]
        self.impute = [float(v) for v in p.impute]
        self.weight = [float(c / s) for c, s in zip(p.coef, p.scale, strict=True)]
        self.bias = float(p.intercept - np.sum(p.coef * p.mean / p.scale))
        self.calib_a = p.calib_a
        self.calib_b = p.calib_b

    def risk(self, row: list[float]) -> float:
        logit = self.bias
        for x, log_scale, impute, weight in zip(
            row, self.log_scale, self.impute, self.weight, strict=True
        ):
            if log_scale:
                x = math.log1p(x if x > 0.0 else 0.0)
            if x != x:
                x = impute
            logit += weight * x
        return 1.0 / (1.0 + math.exp(min(700.0, self.calib_a * logit + self.calib_b)))


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
        escalation inside the cool-down is raised by the first event after it.

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
    ) -> None:
        if model.feature_names != FEATURE_NAMES:
            raise SchemaError("the model's features differ from the ones this riskscore computes")
        if not idle_expiry_s > 0:
            raise ValueError(f"idle_expiry_s must be positive, got {idle_expiry_s}")
        if cooldown_s < 0:
            raise ValueError(f"cooldown_s must be >= 0, got {cooldown_s}")
        self.model = model
        self.policy = policy or AlertPolicy.default()
        self.idle_expiry_s = float(idle_expiry_s)
        self.cooldown_s = float(cooldown_s)
        self._linear = _FastLinear(model)
        self._conversations: OrderedDict[object, ConversationState] = OrderedDict()
        self._accounts: OrderedDict[object, AccountState] = OrderedDict()
        self._risk: dict[object, float] = {}
        self.clock = 0  # latest event time seen (epoch seconds)
        self.n_events = 0
        self.n_expired = 0

    # ------------------------------------------------------------------ state

    def _account(self, account_id: object, ts: int) -> AccountState:
        state = self._accounts.get(account_id)
        if state is None:
            state = self._accounts[account_id] = AccountState()
        else:
            self._accounts.move_to_end(account_id)
        state.last_seen = ts
        return state

    def _expire(self) -> None:
        horizon = self.clock - self.idle_expiry_s
        conversations = self._conversations
        while conversations:
            key, state = next(iter(conversations.items()))
            if state.max_ts >= horizon:
                break
            del conversations[key]
            self._risk.pop(key, None)
            self.n_expired += 1
        accounts = self._accounts
        while accounts:
            key, acc = next(iter(accounts.items()))
            if acc.last_seen >= horizon:
                break
            del accounts[key]

    # ------------------------------------------------------------------ API

    def update_one(self, event: Mapping[str, Any]) -> Alert | None:
        """Apply one event (a schema v1 mapping) and return an alert if one is due.

        Parameters
        ----------
        event : mapping
            ``conversation_id``, ``timestamp``, ``sender_id``, ``recipient_id``,
            ``channel`` and optionally ``sender_age``, ``recipient_age``,
            ``event``, ``recipient_tz_offset_min``.

        Returns
        -------
        Alert or None
            An alert when the conversation first reaches a tier, or reaches a
            higher one; None otherwise.

        Raises
        ------
        SchemaError
            The event breaks the schema, or names a third account in a
            two-account conversation. State is unchanged.
        """
        return self._apply(parse_event(event, self.n_events))

    def update_many(self, events: Iterable[Mapping[str, Any]]) -> list[Alert]:
        """Apply events in order; return the alerts they raised, in order."""
        alerts = []
        for event in events:
            alert = self.update_one(event)
            if alert is not None:
                alerts.append(alert)
        return alerts

    def _apply(self, ev: Event) -> Alert | None:
        ts = ev.timestamp
        conv = self._conversations.get(ev.conversation_id)
        if conv is None:
            conv = ConversationState(ev.sender_id, ev.recipient_id)
            self._conversations[ev.conversation_id] = conv
        else:
            pair_ok = (ev.sender_id == conv.initiator and ev.recipient_id == conv.responder) or (
                ev.sender_id == conv.responder and ev.recipient_id == conv.initiator
            )
            if not pair_ok:
                raise SchemaError(
                    f"column 'sender_id', event {self.n_events}: {ev.sender_id!r} -> "
                    f"{ev.recipient_id!r} is not the pair of conversation "
                    f"{ev.conversation_id!r} ({conv.initiator!r}, {conv.responder!r})",
                    column="sender_id",
                    row=self.n_events,
                    value=ev.sender_id,
                )
            self._conversations.move_to_end(ev.conversation_id)
        sender = self._account(ev.sender_id, ts)
        recipient = self._account(ev.recipient_id, ts)
        update_accounts(
            sender, recipient, ev.recipient_id, ev.event, ev.sender_age, ev.recipient_age
        )
        conv.update(
            ev.sender_id == conv.initiator,
            ts,
            ev.sender_age,
            ev.recipient_age,
            ev.channel,
            ev.event,
            ev.tz_offset,
        )
        conv.last_event_index += 1
        self.n_events += 1
        if ts > self.clock:
            self.clock = ts
            self._expire()
        row = self._features(conv)
        risk = self._linear.risk(row)
        self._risk[ev.conversation_id] = risk
        return self._maybe_alert(ev, conv, row, risk)

    def _features(self, conv: ConversationState) -> list[float]:
        adult_id = conv.initiator if conv.adult_is_initiator() else conv.responder
        return conv.features(self._accounts.get(adult_id))

    def _maybe_alert(
        self, ev: Event, conv: ConversationState, row: list[float], risk: float
    ) -> Alert | None:
        child_age = row[0]
        tier = self.policy.tier_of(risk, child_age)
        if tier is None or tier <= conv.n_alerted_tier:
            return None
        if (
            self.cooldown_s
            and conv.last_alert_ts is not None
            and ev.timestamp - conv.last_alert_ts < self.cooldown_s
        ):
            return None
        conv.n_alerted_tier = int(tier)
        conv.last_alert_ts = ev.timestamp
        adult_i = conv.adult_is_initiator()
        values = np.asarray([row], dtype=np.float64)
        idx, val, contrib = top_reasons(self.model.params.contributions(values), values, _N_REASONS)
        names = self.model.feature_names
        reasons = tuple(
            Reason(names[j], float(v), float(c), _DESCRIPTIONS[names[j]])
            for j, v, c in zip(idx[0], val[0], contrib[0], strict=True)
            if j >= 0
        )
        return Alert(
            conversation_id=ev.conversation_id,
            adult_id=conv.initiator if adult_i else conv.responder,
            child_id=conv.responder if adult_i else conv.initiator,
            child_age=child_age,
            age_band=self.policy.band_of(child_age).name,
            risk=risk,
            tier=Tier(tier),
            reasons=reasons,
            event_index=conv.last_event_index,
            timestamp=ev.timestamp,
        )

    def score_of(self, conversation_id: object) -> float:
        """Current risk of a conversation.

        Raises
        ------
        KeyError
            The conversation has not been seen, or has expired.
        """
        try:
            return self._risk[conversation_id]
        except KeyError:
            raise KeyError(
                f"conversation {conversation_id!r} is unknown to this scorer (never seen, or "
                "expired after idle_expiry_s)"
            ) from None

    def features_of(self, conversation_id: object) -> np.ndarray[Any, np.dtype[np.float64]]:
        """Current feature vector of a conversation, in ``FEATURE_NAMES`` order."""
        conv = self._conversations.get(conversation_id)
        if conv is None:
            raise KeyError(f"conversation {conversation_id!r} is unknown to this scorer")
        return np.asarray(self._features(conv), dtype=np.float64)

    @property
    def n_conversations(self) -> int:
        """Conversations currently held in memory."""
        return len(self._conversations)

    @property
    def n_accounts(self) -> int:
        """Accounts currently held in memory."""
        return len(self._accounts)
