"""A shadow model: a candidate scored next to the production model, its alerts recorded
and never emitted.

:class:`ShadowModel` is what :class:`~riskscore.online.OnlineScorer` holds when it is
given ``shadow_model=``. It reads the feature row the production model has just scored
(one state, one feature computation), walks its own trees, applies the same policy and
the same cool-down with its own bookkeeping per conversation
(``ConversationState.shadow_tier``), and appends its alerts to a list that only
:meth:`~riskscore.online.OnlineScorer.pop_shadow_alerts` empties: they never reach the
values :meth:`~riskscore.online.OnlineScorer.update_one` and its siblings return, so they
never reach a review queue. A scorer without a shadow pays one ``is None`` test per
event.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from riskscore.model import RiskModel
from riskscore.online.risk import ADULT_AGE, CHILD_AGE, OnlineModel, alert_due
from riskscore.online.state import ConversationState
from riskscore.policy import Alert, AlertPolicy

__all__ = ["ShadowModel", "ShadowScoring"]

FloatArray = npt.NDArray[np.float64]


class ShadowModel:
    """A candidate model scored on the production scorer's feature rows.

    Parameters
    ----------
    model : RiskModel
        The candidate (e.g. a bundle written by ``riskscore train --from-queue``).
    policy : AlertPolicy
        The production policy: both models are judged by the same thresholds.
    cooldown_s : float
        The production scorer's cool-down between two alerts of one conversation.

    Attributes
    ----------
    alerts : list of Alert
        Shadow alerts not yet taken by ``OnlineScorer.pop_shadow_alerts``.
    n_alerts : int
        Shadow alerts raised since the scorer was created.
    """

    __slots__ = ("_decide", "_min_review", "alerts", "cooldown_s", "linear", "model", "n_alerts")

    def __init__(self, model: RiskModel, policy: AlertPolicy, cooldown_s: float) -> None:
        self.model = model
        self.linear = OnlineModel(model)
        self.cooldown_s = cooldown_s
        self._decide = policy.decide_one
        self._min_review = policy.min_review
        self.alerts: list[Alert] = []
        self.n_alerts = 0

    def observe(self, cid: object, ts: int, conv: ConversationState, row: FloatArray) -> None:
        """Score the feature row the production model just scored; record an alert if due
        (by the production rules: a higher tier than already alerted, outside the
        cool-down)."""
        risk = self.linear.risk(row)
        if risk < self._min_review:
            return
        tier, band = self._decide(risk, float(row[CHILD_AGE]), float(row[ADULT_AGE]))
        if not alert_due(tier, conv.shadow_tier, conv.shadow_alert_ts, ts, self.cooldown_s):
            return
        conv.shadow_tier = tier
        conv.shadow_alert_ts = ts
        self.alerts.append(self.linear.alert(cid, ts, conv, row, risk, tier, band.name))
        self.n_alerts += 1


class ShadowScoring:
    """The shadow half of :class:`~riskscore.online.OnlineScorer`'s API (mixed in)."""

    _shadow: ShadowModel | None

    if TYPE_CHECKING:

        def features_of(self, conversation_id: object) -> FloatArray: ...

    @property
    def shadow_model(self) -> RiskModel | None:
        """The shadow model, or None."""
        return None if self._shadow is None else self._shadow.model

    @property
    def n_shadow_alerts(self) -> int:
        """Alerts the shadow model raised since this scorer was created (0 without one)."""
        return 0 if self._shadow is None else self._shadow.n_alerts

    def pop_shadow_alerts(self) -> list[Alert]:
        """The shadow model's alerts recorded since the last call, in the order raised.

        They follow the production rules (same policy, cool-down, one alert per tier and
        conversation) and are held until taken here: call this after each event or batch
        (``riskscore stream`` and the Synapse module do). Empty without a shadow model.

        Examples
        --------
        >>> import riskscore as rs
        >>> model = rs.load_model()
        >>> scorer = rs.OnlineScorer(model, shadow_model=model)
        >>> data = rs.synthetic.generate(300, prevalence=0.1, seed=3)
        >>> production = scorer.update_many(data.messages.iter_events())
        >>> shadow = scorer.pop_shadow_alerts()  # the same model: the same alerts, kept apart
        >>> sorted(a.conversation_id for a in shadow) == sorted(
        ...     a.conversation_id for a in production)
        True
        >>> scorer.pop_shadow_alerts()
        []
        """
        if self._shadow is None or not self._shadow.alerts:
            return []
        alerts, self._shadow.alerts = self._shadow.alerts, []
        return alerts

    def shadow_score_of(self, conversation_id: object) -> float:
        """The shadow model's current risk of a conversation.

        Raises
        ------
        ValueError
            The scorer has no shadow model.
        KeyError
            The conversation has not been seen, or has expired, or the id is a group
            room's (whose events go to its pairs' conversations).
        """
        if self._shadow is None:
            raise ValueError("this scorer has no shadow model (OnlineScorer(shadow_model=...))")
        return self._shadow.linear.risk(self.features_of(conversation_id))
