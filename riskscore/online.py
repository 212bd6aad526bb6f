"""Online scoring: one event in, an alert out, in microseconds.

:class:`OnlineScorer` keeps O(1) state per conversation and per account; no
history is replayed. After the k-th event of a conversation its features equal
the batch features of that conversation's first k events (and of everything
its adult did up to then), so online and batch scores agree. ``docs/online.md``
states the rules for late events, duplicates, expiry, alerts and checkpoints.
"""

from __future__ import annotations

import math
import os
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from riskscore import _checkpoint
from riskscore._event_parsing import parse_event_fast
from riskscore._online_state import AccountState, ConversationState
from riskscore.exceptions import SchemaError
from riskscore.feature_specs import FEATURE_NAMES, FEATURES
from riskscore.model import RiskModel
from riskscore.policy import Alert, AlertPolicy, Tier
from riskscore.scores import Reason

__all__ = ["OnlineScorer"]

_N_REASONS = 3
_DESCRIPTIONS = {spec.name: spec.description for spec in FEATURES}
_LOG1P = math.log1p
_EXP = math.exp


class _FastLinear:
    """The model's portable parameters folded into plain Python floats for one-row scoring.

    ``risk`` equals :meth:`LinearParams.predict_one` up to float summation
    order (about 1e-16); ``reasons`` equals the batch reason codes.
    """

    __slots__ = ("contrib_weight", "impute", "log_idx", "mean", "nan_idx", "risk")

    def __init__(self, model: RiskModel) -> None:
        p = model.params
        self.log_idx = tuple(j for j, flag in enumerate(p.log_scale) if flag)
        self.impute = [float(v) for v in p.impute]
        self.mean = [float(v) for v in p.mean]
        weight = [float(c / s) for c, s in zip(p.coef, p.scale, strict=True)]
        self.contrib_weight = [
            float(-p.calib_a * c / s) for c, s in zip(p.coef, p.scale, strict=True)
        ]
        # Only the age features can be NaN (unknown ages); the rest are counts and ratios
        # with non-zero denominators. Log-scaled ones are never NaN after max(x, 0).
        self.nan_idx = tuple(j for j in (0, 1, 2) if not p.log_scale[j])
        self.risk = _compile_risk(
            weight,
            float(p.intercept - np.sum(p.coef * p.mean / p.scale)),
            float(p.calib_a),
            float(p.calib_b),
            self.log_idx,
            {j: self.impute[j] for j in self.nan_idx},
        )

    def inputs(self, row: list[float]) -> list[float]:
        """Model inputs before standardization: log1p where log-scaled, NaN imputed."""
        u = row.copy()
        for j in self.log_idx:
            x = u[j]
            u[j] = _LOG1P(x) if x > 0.0 else 0.0
        for j in self.nan_idx:
            if u[j] != u[j]:
                u[j] = self.impute[j]
        return u

    def reasons(self, row: list[float]) -> tuple[Reason, ...]:
        """Top positive contributions, strongest first (as :func:`riskscore.scores.top_reasons`)."""
        u = self.inputs(row)
        contrib = [w * (x - m) for w, x, m in zip(self.contrib_weight, u, self.mean, strict=True)]
        order = sorted(range(len(contrib)), key=contrib.__getitem__, reverse=True)
        return tuple(
            Reason(FEATURE_NAMES[j], float(row[j]), contrib[j], _DESCRIPTIONS[FEATURE_NAMES[j]])
            for j in order[:_N_REASONS]
            if contrib[j] > 0.0
        )


def _compile_risk(
    weight: list[float],
    bias: float,
    calib_a: float,
    calib_b: float,
    log_idx: tuple[int, ...],
    impute: dict[int, float],
) -> Callable[[list[float]], float]:
    """``row -> calibrated risk`` as one straight-line expression over the row.

    Unrolled (constants as globals of the generated function), the dot product
    takes about half the time of ``map``/``sum`` over weight lists (1.3 against
    2.8 us), on the hot path of every event. Only names and indices are formatted
    into the source; every number is passed as a value, so no float is rounded.
    The summation order differs from the batch one (about 1e-16). Every log-scaled
    feature is a count, a duration or a rate, never negative, so ``log1p`` needs no
    ``max(x, 0)``; possibly-NaN features are imputed inline.
    """
    terms = []
    for j in range(len(weight)):
        if j in log_idx:
            x = f"_log1p(x{j})"
        elif j in impute:
            x = f"(x{j} if x{j} == x{j} else _i{j})"
        else:
            x = f"x{j}"
        terms.append(f"_w{j} * {x}")
    source = (
        "def risk(r):\n"
        f"    {', '.join(f'x{j}' for j in range(len(weight)))}, = r\n"
        f"    z = _a * (_bias + {' + '.join(terms)}) + _b\n"
        "    return 1.0 / (1.0 + _exp(z if z < 700.0 else 700.0))\n"
    )
    namespace: dict[str, Any] = {
        "_log1p": _LOG1P,
        "_exp": _EXP,
        "_a": calib_a,
        "_b": calib_b,
        "_bias": bias,
        **{f"_w{j}": w for j, w in enumerate(weight)},
        **{f"_i{j}": v for j, v in impute.items()},
    }
    exec(compile(source, "<riskscore.online risk>", "exec"), namespace)
    risk: Callable[[list[float]], float] = namespace["risk"]
    return risk


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
        that is still at the higher tier.
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
        if model.feature_names != FEATURE_NAMES:
            raise SchemaError("the model's features differ from the ones this riskscore computes")
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
        self._linear = _FastLinear(model)
        self._risk = self._linear.risk
        self._bands = _BandLookup(self.policy)
        self._min_review = self._bands.min_review
        self._conversations: OrderedDict[object, ConversationState] = OrderedDict()
        self._accounts: OrderedDict[object, AccountState] = OrderedDict()
        self.clock = 0
        self.n_events = 0
        self.n_clamped = 0
        self.n_too_late = 0
        self.n_expired = 0
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
            max_ts = conversations[key].max_ts
            if max_ts >= horizon:
                oldest = max_ts
                break
            del conversations[key]
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
        conv.update(
            side, ts, sender_age, recipient_age, channel, kind, tz, sender, recipient, recipient_id
        )
        self.n_events += 1
        if ts > self.clock:
            self.clock = ts
            if ts - self.idle_expiry_s > self._oldest:
                self._expire()
        # The adult is one of this event's two accounts, both held (just touched).
        row = conv.features_with(sender if conv.adult_i == (side == 1) else recipient)
        conv.risk = risk = self._risk(row)
        # Below the lowest review threshold no alert can fire.
        if risk < self._min_review:
            return None
        return self._maybe_alert(cid, ts, conv, row, risk)

    def update_many(self, events: Iterable[Mapping[str, Any]]) -> list[Alert]:
        """Apply events in order; return the alerts they raised, in order.

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
        alerts = []
        for event in events:
            alert = update(event)
            if alert is not None:
                alerts.append(alert)
        return alerts

    def _features(self, conv: ConversationState) -> list[float]:
        return conv.features(self._accounts)

    def _maybe_alert(
        self, cid: object, ts: int, conv: ConversationState, row: list[float], risk: float
    ) -> Alert | None:
        child_age = row[0]
        band = self._bands.band_of(child_age)
        tier = 2 if risk >= band.urgent else 1 if risk >= band.review else 0
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
            age_band=band.name,
            risk=risk,
            tier=Tier(tier),
            reasons=self._linear.reasons(row),
            event_index=conv.n_events - 1,
            timestamp=ts,
        )

    def refresh(self) -> list[Alert]:
        """Re-score every live conversation against its adult's current account features.

        A conversation's risk is updated by its own events; its adult's
        per-account features (fan-out to minors and the rest) also move with
        the adult's *other* conversations. At the end of a finite stream this
        brings every risk up to date, so that each conversation's risk equals
        its batch score over the same events, and returns the escalation
        alerts that raises (at the conversation's latest event). O(number of
        live conversations); ``riskscore stream`` calls it at end of input.

        Returns
        -------
        list of Alert
            New alerts, in the order the conversations were last active.
        """
        alerts = []
        for cid, conv in self._conversations.items():
            row = self._features(conv)
            conv.risk = risk = self._linear.risk(row)
            if risk >= self._bands.min_review:
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
            },
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
        scorer.checkpoint_extra = dict(snap.meta.get("extra", {}))
        for aid, state in snap.accounts:
            scorer._accounts[aid] = AccountState.from_json(state)
        for cid, initiator, responder, state in snap.conversations:
            scorer._conversations[cid] = ConversationState.from_json(initiator, responder, state)
        if snap.meta.get("model_sha256") != _model_fingerprint(model):
            for conv in scorer._conversations.values():
                conv.risk = scorer._linear.risk(scorer._features(conv))
        return scorer


class _BandLookup:
    """The policy's bands as plain floats, for a fast per-event tier check."""

    __slots__ = ("bands", "min_review", "unknown", "upper")

    def __init__(self, policy: AlertPolicy) -> None:
        self.bands = policy.bands
        self.unknown = policy.unknown
        self.upper = [b.max_age for b in policy.bands]
        self.min_review = min(b.review for b in (*policy.bands, policy.unknown))

    def band_of(self, child_age: float) -> Any:
        if child_age != child_age:
            return self.unknown
        for band, upper in zip(self.bands, self.upper, strict=True):
            if child_age < upper:
                return band
        return self.bands[-1]


def _version() -> str:
    from riskscore import __version__

    return __version__


def _model_fingerprint(model: RiskModel) -> str:
    import hashlib
    import json

    text = json.dumps(model.params.to_dict(), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _finite_or_none(value: float) -> float | None:
    return None if math.isinf(value) else value


def _inf_if_none(value: float | None) -> float:
    return math.inf if value is None else float(value)
