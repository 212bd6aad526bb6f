"""Re-scoring: an event that changes an adult's per-account features, or the facts of a
pair, scores that adult's (or that pair's) other live conversations again, and they may
alert; the alert rule of one conversation (tier, cool-down); and re-scoring every live
conversation (:meth:`Rescoring.refresh`); and so every alert of an event, or of events
(``update_one_all``, ``update_many``: its own conversation's, then those of the conversations
it re-scored).

:class:`Rescoring` sits between :class:`~riskscore.online.memory.ScorerMemory` (what the
scorer holds) and :class:`~riskscore.online.OnlineScorer`, which sets the model and
policy used here and applies each event.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from riskscore.exceptions import hold_alerts
from riskscore.features.kernel import F_MAX_CHANNEL
from riskscore.features.slots import N_STATE
from riskscore.io.schema import channel_at_level
from riskscore.online.memory import ScorerMemory
from riskscore.online.options import RUNNING_COUNT, EventRow
from riskscore.online.risk import ADULT_AGE, CHILD_AGE, OnlineModel, alert_due
from riskscore.online.shadow import ShadowModel
from riskscore.online.state import (
    ACCOUNT_CHANGED,
    PAIR_CHANGED,
    AccountState,
    ConversationState,
)
from riskscore.policy import AgeBand, Alert

__all__ = ["Rescoring"]

FloatArray = npt.NDArray[np.float64]

#: Fewest conversations re-scored in one compiled call: gathering their states and pairs
#: costs about 4 us, and a call per conversation about 1.2 us with its scoring against 1.0
#: in one call for all: the two take as long at about 14 (measured, 6 to 20 conversations).
_BATCH_FROM = 14
#: The facts of a pair not held (as :meth:`OnlineModel.score` reads them).
_NO_PAIR = np.full(2, math.inf)
_NO_PAIR.flags.writeable = False
#: The conversations of an account that is the adult of none (read only).
_NONE: dict[object, None] = {}


class Rescoring(ScorerMemory):
    """Re-scoring and the alert rule of :class:`~riskscore.online.OnlineScorer` (its base)."""

    # Set by OnlineScorer.__init__: the model on one row, the policy's tier rule, the
    # lowest review threshold, the alerts of other conversations and the shadow model.
    _linear: OnlineModel
    _score: Callable[[ConversationState, AccountState | None], tuple[float, FloatArray]]
    _decide: Callable[[float, float, float], tuple[int, AgeBand]]
    _min_review: float
    _cross: list[Alert] | None
    _shadow: ShadowModel | None
    # Buffers of _rescore_many, made at its first use.
    _rescore_buffers: tuple[FloatArray, FloatArray, FloatArray] | None = None

    if TYPE_CHECKING:

        def update_one(
            self, event: Mapping[str, Any], *, row: int | EventRow | None = RUNNING_COUNT
        ) -> Alert | None: ...

    def update_one_all(
        self, event: Mapping[str, Any], *, row: int | EventRow | None = RUNNING_COUNT
    ) -> list[Alert]:
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
        row : int or None, optional
            As for :meth:`update_one`.

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
        own = self.update_one(event, row=row)
        cross = self._cross
        if cross is None:
            return [] if own is None else [own]
        self._cross = None
        return cross if own is None else [own, *cross]

    def update_many(self, events: Iterable[Mapping[str, Any]]) -> list[Alert]:
        """Apply events in order; return every alert they raised, in order.

        Each event's alerts are ordered as :meth:`update_one_all` returns them. A refusal
        (:meth:`update_one`; those before it stay applied) names its position in ``events``
        and holds the alerts they raised (``SchemaError.alerts``: never raised again), as
        does any other exception raised while it runs (a failed source of events, Ctrl-C).

        Examples
        --------
        >>> import riskscore as rs
        >>> data = rs.synthetic.generate(200, prevalence=0.1, seed=3)
        >>> scorer = rs.OnlineScorer(rs.load_model())
        >>> alerts = scorer.update_many(data.messages.iter_events())
        >>> scorer.n_events == len(data.messages)
        True
        """
        update, alerts = self.update_one_all, []
        try:
            for row, event in enumerate(events):
                alerts += update(event, row=row)
        except BaseException as exc:  # re-raised as it is
            hold_alerts(exc, alerts)
            raise
        return alerts

    def _after_account_change(
        self,
        cid: object,
        conv: ConversationState,
        adult_was_initiator: bool,
        changed: int,
        accounts: tuple[tuple[object, AccountState], tuple[object, AccountState]],
        ts: int,
        shift: float = math.inf,
    ) -> None:
        """Keep the adult index right and re-score the conversations the event changed.

        Called only when the event just applied to ``conv`` flipped its roles, changed
        the per-account features of its sender or recipient, or changed the facts of
        its pair (``changed``, see :func:`riskscore.online.risk._step`; ``accounts`` are
        ``(id, state)`` of the sender and the recipient). The changed account's other
        conversations as adult are re-scored, then the pair's other conversations.
        ``conv`` itself is scored by the caller. Alerts raised are left in ``_cross``.

        ``shift``: the most the account's change can move the margin of any of its other
        conversations (:func:`riskscore.model.exit_leaves.max_shift`). At 0.0 no split
        tells its features before and after apart, and every such conversation keeps its
        risk to the last bit (counted in ``n_rescore_skipped``, not walked). Otherwise a
        conversation whose risk could not reach the lowest review threshold even with its
        margin moved that much (plus what earlier deferred changes may have moved it) can
        raise no alert now: its re-scoring is deferred (``n_rescore_deferred``) until its
        risk is read or its next event. Neither is taken when a shadow model is scored
        (it reads each row) or when the account's state is new while its conversations
        were scored with an older one; with a cool-down, a conversation at a review
        threshold is always re-scored (an alert it held back may be due). Nor for a
        conversation of the pair when the pair's facts moved too: its features moved
        beyond ``shift``.
        """
        if conv.adult_i != adult_was_initiator:
            # An age arrived and the roles flipped: the conversation changes adult.
            self._unindex(conv.responder if conv.adult_i else conv.initiator, cid)
            self._index(conv.adult_id(), cid)
        # The pair's other conversations: their facts moved too, beyond any account shift.
        pair_moved = (
            self._pair_convs.of(accounts[0][0], accounts[1][0]) if changed & PAIR_CHANGED else ()
        )
        alone = len(pair_moved) < 2  # the pair has no other live conversation (it holds cid)
        account_change = changed & ACCOUNT_CHANGED
        others = _NONE
        if account_change:
            account_id, account = accounts[account_change - 1]
            exact = self._shadow is not None or account.stale
            account.stale = False
            others = self._adult_convs.get(account_id, _NONE)
            if alone and len(others) - (cid in others) == 0:
                return  # most such events: the account is the adult of no other conversation
        elif alone:
            return  # roles flipped, or the pair's facts moved and it has one conversation
        cross: list[Alert] = []
        # The account's conversations, walked or counted as skipped: no other conversation
        # of the pair among them is re-scored again below (nor ``cid``, scored by the caller).
        walked = others
        if account_change:
            conversations = self._conversations
            # an other conversation of the pair is re-scored in turn, never skipped
            in_pair = not alone and any(
                other_cid in others for other_cid in pair_moved if other_cid != cid
            )
            if shift == 0.0 and not exact and not self.cooldown_s and not in_pair:
                # no risk moved and none can alert: count them, not walk them (walking
                # them made an adult reaching thousands quadratic in time)
                self.n_rescore_skipped += len(others) - (cid in others)
                others = _NONE
            todo = []
            deferred = 0
            stays_below, min_review = self._linear.stays_below, self._min_review
            for other_cid in others:
                if other_cid != cid:  # ids are int or str: equal only when the same id
                    other = conversations[other_cid]
                    # below the lowest review threshold with its margin moved by up to
                    # ``shift`` more than its deferred re-scoring allows (``slack``)
                    slack = other.slack + shift
                    if (
                        exact
                        or other_cid in pair_moved
                        or not (
                            other.risk < min_review
                            if slack == 0.0
                            else stays_below(other.risk, slack, min_review)
                        )
                    ):
                        todo.append((other_cid, other))
                    elif shift == 0.0:
                        self.n_rescore_skipped += 1
                    else:
                        other.slack = slack
                        deferred += 1
            self.n_rescore_deferred += deferred
            if todo:
                self._rescore_many(todo, account, ts, cross)
        if changed & PAIR_CHANGED:  # where the pair met, or when it went private, moved
            pending = [c for c in pair_moved if c != cid and c not in walked]
            if len(pending) > 1:  # in the order they joined their adults, sender's first
                pending = [
                    other_cid
                    for account_id, _ in accounts
                    for other_cid in self._adult_convs.get(account_id, ())
                    if other_cid in pending
                ]
            held = self._accounts
            for other_cid in pending:
                other = self._conversations[other_cid]
                self._rescore(other_cid, other, held.get(other.adult_id()), ts, cross)
        if cross:
            self._cross = cross

    def score_of(self, conversation_id: object) -> float:
        """Current risk of a conversation: of its events so far, and of everything its
        adult did up to now (the batch score of all events applied).

        Raises
        ------
        KeyError
            The conversation has not been seen, or has expired, or the id is a group
            room's (whose events go to its pairs' conversations).
        """
        conv = self._live(conversation_id)
        if conv.slack:
            self._settle(conv)
        return conv.risk

    def channel_of(self, conversation_id: object) -> str | None:
        """The most private channel a live conversation has reached (schema v1 name), or
        None when it is not known.

        Raises
        ------
        KeyError
            The conversation has not been seen, or has expired, or the id is a group
            room's (whose events go to its pairs' conversations).
        """
        return channel_at_level(self.features_of(conversation_id)[F_MAX_CHANNEL])

    def _settle(self, conv: ConversationState) -> None:
        """Compute the risk of a conversation whose re-scoring was deferred, on a row of its
        own: an event's feature row (:attr:`OnlineModel.row`) may still be unread (its
        alert), and expiry settles a dropped account's conversations before it is."""
        conv.risk = self._linear.risk(self._features(conv))
        conv.slack = 0.0

    def _settle_all(self) -> None:
        """:meth:`_settle` every conversation whose re-scoring was deferred (before a
        checkpoint stores the risks)."""
        for conv in self._conversations.values():
            if conv.slack:
                self._settle(conv)

    def _rescore(
        self,
        cid: object,
        conv: ConversationState,
        adult: AccountState | None,
        ts: int,
        cross: list[Alert],
    ) -> None:
        """Re-score live conversation ``cid`` (its state ``conv``, its adult's state
        ``adult``); an alert it raises goes to ``cross``."""
        risk, row = self._score(conv, adult)
        conv.risk = risk
        conv.slack = 0.0
        self.n_rescored += 1
        # Raised now, but never dated before the state it describes.
        at = ts if ts > conv.max_ts else conv.max_ts
        if self._shadow is not None:
            self._shadow.observe(cid, at, conv, row)
        if risk >= self._min_review:
            alert = self._maybe_alert(cid, at, conv, row, risk)
            if alert is not None:
                cross.append(alert)

    def _rescore_many(
        self,
        convs: list[tuple[object, ConversationState]],
        adult: AccountState,
        ts: int,
        cross: list[Alert],
    ) -> None:
        """:meth:`_rescore` each of live conversations ``convs`` (``(id, state)``, all of
        adult ``adult``) in turn, their risks and ages in one compiled call: a call from
        Python per conversation costs about 1 us beside the 2 us of scoring it, and an adult
        may have hundreds. Only a conversation whose alert is due has its feature row made
        again, for the alert's reasons."""
        n = len(convs)
        if n < _BATCH_FROM or self._shadow is not None:  # the shadow model reads every row
            for cid, conv in convs:
                self._rescore(cid, conv, adult, ts, cross)
            return
        scored = self._scored_together([conv for _, conv in convs], adult)
        self.n_rescored += n
        min_review = self._min_review
        for (cid, conv), (risk, child_age, adult_age) in zip(convs, scored.tolist(), strict=True):
            conv.risk = risk
            conv.slack = 0.0
            if risk >= min_review:
                at = ts if ts > conv.max_ts else conv.max_ts
                alert = self._alert_if_due(cid, at, conv, risk, child_age, adult_age, adult)
                if alert is not None:
                    cross.append(alert)

    def _scored_together(self, convs: list[ConversationState], adult: AccountState) -> FloatArray:
        """Risk, child age and adult age (columns) of live conversations ``convs`` of adult
        ``adult``, in one compiled call, in buffers grown by doubling and kept between
        events (the result is a view of one: read it before the next call)."""
        n = len(convs)
        held = self._rescore_buffers
        if held is None or held[2].shape[0] < n:
            size = max(64, 1 << (n - 1).bit_length())
            held = np.empty((size, N_STATE)), np.empty((size, 2)), np.empty((size, 3))
            self._rescore_buffers = held
        states, pairs, scored = (buffer[:n] for buffer in held)
        np.concatenate([conv.state for conv in convs], out=states.reshape(-1))
        np.concatenate(
            [_NO_PAIR if conv.pair is None else conv.pair for conv in convs],
            out=pairs.reshape(-1),
        )
        self._linear.risks(states, adult, pairs, scored)
        return scored

    def _maybe_alert(
        self, cid: object, ts: int, conv: ConversationState, row: FloatArray, risk: float
    ) -> Alert | None:
        due = self._due(conv, ts, risk, float(row[CHILD_AGE]), float(row[ADULT_AGE]))
        return None if due is None else self._raise_alert(cid, ts, conv, row, risk, *due)

    def _alert_if_due(
        self, cid: object, ts: int, conv: ConversationState, risk: float, child_age: float,
        adult_age: float, adult: AccountState,
    ) -> Alert | None:  # fmt: skip
        """:meth:`_maybe_alert` of a conversation re-scored by :meth:`_rescore_many`, from
        its risk and ages: its feature row is made again only for an alert, which states
        its reasons."""
        due = self._due(conv, ts, risk, child_age, adult_age)
        if due is None:
            return None
        _, row = self._score(conv, adult)
        return self._raise_alert(cid, ts, conv, row, risk, *due)

    def _due(
        self, conv: ConversationState, ts: int, risk: float, child_age: float, adult_age: float
    ) -> tuple[int, str] | None:
        """The tier and age band of the alert a conversation is due at ``ts``, or None: the
        policy's tier, if higher than the one already alerted or past the cool-down."""
        tier, band = self._decide(risk, child_age, adult_age)
        if not alert_due(tier, conv.n_alerted_tier, conv.last_alert_ts, ts, self.cooldown_s):
            return None
        return tier, band.name

    def _raise_alert(
        self, cid: object, ts: int, conv: ConversationState, row: FloatArray, risk: float,
        tier: int, band: str,
    ) -> Alert:  # fmt: skip
        conv.n_alerted_tier = tier
        conv.last_alert_ts = ts
        return self._linear.alert(cid, ts, conv, row, risk, tier, band)

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
        shadow = self._shadow
        for cid, conv in self._conversations.items():
            row = self._features(conv)
            conv.risk = risk = self._linear.risk(row)
            conv.slack = 0.0
            if shadow is not None:
                shadow.observe(cid, conv.max_ts, conv, row)
            if risk >= self._min_review:
                alert = self._maybe_alert(cid, conv.max_ts, conv, row, risk)
                if alert is not None:
                    alerts.append(alert)
        return alerts

    def _models_restored(self, meta: Mapping[str, Any]) -> None:
        """After a restore: risks recomputed when the checkpoint's model (its ``meta``
        fingerprint) is not this one, without alerting (:meth:`refresh` alerts); the shadow
        alert bookkeeping cleared when its shadow model is not this one."""
        if meta.get("model_sha256") != self.model.parameters_sha256():
            for conv in self._conversations.values():
                self._settle(conv)
        if meta.get("shadow_model_sha256") != self.shadow_sha256:
            for conv in self._conversations.values():
                conv.shadow_tier, conv.shadow_alert_ts = 0, None
