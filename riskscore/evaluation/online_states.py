"""Every state a conversation passes through online, for alert volume counted as an online
scorer raises alerts.

An :class:`~riskscore.online.OnlineScorer` scores a conversation at each of its events
(and again when an event elsewhere changes its adult's per-account features) and alerts
the first time it reaches a tier, whatever its risk at the end. Thresholds set on
conversations' final states therefore alert more conversations online than they were
set for (about twice as many benign ones in the shipped model's unseen worlds,
``benchmarks/online_alert_volume.py``). :func:`online_traffic` replays events through
the scorer and keeps, per conversation and per pair of ages it was scored with, the
highest risk it reached: the policy's tier rises with risk and depends on nothing else
but the two ages, so these rows decide exactly whether, and at which tier, a policy
alerts the conversation online.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from riskscore.io.given_ids import as_given
from riskscore.io.messages import MessageTable
from riskscore.model import RiskModel
from riskscore.online import OnlineScorer
from riskscore.online.risk import ADULT_AGE, CHILD_AGE
from riskscore.online.shadow import ShadowModel
from riskscore.online.state import ConversationState
from riskscore.policy import AlertPolicy
from riskscore.policy.volume import Traffic

__all__ = ["online_traffic"]

FloatArray = npt.NDArray[np.float64]
#: An unknown age in a key (NaN is not equal to itself, so it cannot key a dict).
_UNKNOWN = -1.0


class _PeakRecorder(ShadowModel):
    """Observes every feature row the scorer scores and keeps the peak risk per
    conversation and pair of ages; raises no alert."""

    __slots__ = ("peaks",)

    def __init__(self, model: RiskModel, policy: AlertPolicy) -> None:
        super().__init__(model, policy, cooldown_s=0.0)
        self.peaks: dict[object, dict[tuple[float, float], float]] = {}

    def observe(self, cid: object, ts: int, conv: ConversationState, row: FloatArray) -> None:
        child, adult = float(row[CHILD_AGE]), float(row[ADULT_AGE])
        key = (_UNKNOWN if child != child else child, _UNKNOWN if adult != adult else adult)
        states = self.peaks.setdefault(cid, {})
        if conv.risk > states.get(key, -1.0):
            states[key] = conv.risk


class _RecordingScorer(OnlineScorer):
    """An online scorer over history (no clock to be ahead of, nothing expires) whose
    every scored row goes to a :class:`_PeakRecorder`."""

    def __init__(self, model: RiskModel) -> None:
        super().__init__(model, idle_expiry_s=math.inf, max_future_s=math.inf)
        self.recorder = self._shadow = _PeakRecorder(model, self.policy)


def online_traffic(
    model: RiskModel, messages: MessageTable, counted_ids: npt.ArrayLike | None = None
) -> Traffic:
    """Replay ``messages`` event by event through an online scorer of ``model``; the
    states each conversation reached, as :class:`~riskscore.policy.volume.Traffic`
    whose alerts count once per conversation.

    Parameters
    ----------
    model : RiskModel
        The model scored online.
    messages : MessageTable
        Events of whole conversations (replayed in time order, as
        :meth:`MessageTable.iter_events` gives them).
    counted_ids : array-like, optional
        Conversation ids whose alerts count (the benign ones of a labelled sample, as
        :func:`riskscore.read_messages` gives ids); every conversation when omitted.

    Returns
    -------
    Traffic
        One row per conversation and pair of ages it was scored with: the highest risk
        it reached with those ages; ``conversation`` groups a conversation's rows.
    """
    scorer = _RecordingScorer(model)
    for event in messages.iter_events():
        scorer.update_one_all(event)
    peaks = scorer.recorder.peaks
    ids = list(peaks)
    code = {cid: i for i, cid in enumerate(ids)}
    rows = [(code[cid], *key, risk) for cid in ids for key, risk in peaks[cid].items()]
    table = np.asarray(rows, dtype=np.float64).reshape(-1, 4)
    ages = np.where(table[:, 1:3] == _UNKNOWN, np.nan, table[:, 1:3])
    conversation = table[:, 0].astype(np.int64)
    counted = None
    if counted_ids is not None:
        wanted_ids = np.asarray(counted_ids)
        # ids as the events carry them (the integer 6, never the "6" of a wide id table)
        given = as_given(
            {"conversation_id": wanted_ids}, np.arange(len(wanted_ids)), decimal_ids=False
        )
        wanted = set(given["conversation_id"].tolist())
        counted = np.fromiter((ids[c] in wanted for c in conversation), bool, len(conversation))
    return Traffic(
        risk=table[:, 3],
        child_age=ages[:, 0],
        adult_age=ages[:, 1],
        counted=counted,
        conversation=conversation,
    )
