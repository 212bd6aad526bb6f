"""The model's calibrated risk and reasons for one conversation's feature row (the event
kernel and the trees' walk in one compiled call per event), and the alert it raises."""

from __future__ import annotations

import math

import numba
import numpy as np
import numpy.typing as npt

from riskscore.features.kernel import conversation_features
from riskscore.features.registry import FEATURE_NAMES, feature_index
from riskscore.model import RiskModel
from riskscore.model.exit_leaves import margin, scratch
from riskscore.model.scores import Reason
from riskscore.online.state import NO_ACCOUNT as _NO_ACCOUNT
from riskscore.online.state import AccountState, ConversationState
from riskscore.policy import Alert, Tier

__all__ = ["OnlineModel", "alert_due"]

_N_REASONS = 3
_N_FEATURES = len(FEATURE_NAMES)
#: Columns of the two ages in a full feature row (the policy reads them).
CHILD_AGE = feature_index("child_age")
ADULT_AGE = feature_index("adult_age")
_EXP = math.exp
_INF = math.inf
FloatArray = npt.NDArray[np.float64]


@numba.njit(cache=True, nogil=True)
def _features_and_margin(
    state: FloatArray,
    adult_account: FloatArray,
    pair_first: float,
    pair_private: float,
    row: FloatArray,
    ints: npt.NDArray[np.int64],
    masks: npt.NDArray[np.uint64],
    floats: FloatArray,
) -> float:
    """The feature row of a conversation (into ``row``) and the trees' margin on it: one
    compiled call per event."""
    conversation_features(state, adult_account, pair_first, pair_private, row)
    return margin(row, ints, masks, floats, scratch(ints))


class OnlineModel:
    """The model's trees walked on a full feature row, and its calibration, for one event.

    ``risk`` equals :meth:`RiskModel.predict_proba` on the same row (the same compiled
    tree walk and the same formula); ``reasons`` equals the batch reasons.
    """

    __slots__ = ("a", "b", "columns", "floats", "ints", "masks", "model", "vec")

    def __init__(self, model: RiskModel) -> None:
        self.columns = np.array([feature_index(n) for n in model.feature_names], dtype=np.int64)
        # The trees index the model's inputs; online they read the full feature row.
        self.ints, self.masks, self.floats = model.trees.packed(self.columns, _N_FEATURES)
        self.vec = scratch(self.ints)
        self.a = model.calibration.a
        self.b = model.calibration.b
        self.model = model

    def score(
        self, conv: ConversationState, adult: AccountState | None
    ) -> tuple[float, FloatArray]:
        """Calibrated risk and feature row of a conversation, given its adult's account."""
        row = np.empty(_N_FEATURES)
        pair = conv.pair
        margin = _features_and_margin(
            conv.state,
            _NO_ACCOUNT if adult is None else adult.tallies,
            _INF if pair is None else pair[0],
            _INF if pair is None else pair[1],
            row,
            self.ints,
            self.masks,
            self.floats,
        )
        z = self.a * margin + self.b
        return 1.0 / (1.0 + _EXP(z if z < 700.0 else 700.0)), row

    def risk(self, row: FloatArray) -> float:
        """Calibrated risk of one feature row."""
        z = self.a * margin(row, self.ints, self.masks, self.floats, self.vec) + self.b
        return 1.0 / (1.0 + _EXP(z if z < 700.0 else 700.0))

    def reasons(self, row: FloatArray) -> tuple[Reason, ...]:
        """Top positive contributions, strongest first (as
        :func:`riskscore.model.scores.top_reasons`)."""
        inputs = row[self.columns]
        contrib = self.model.reason_contributions(inputs[None, :])[0]
        order = np.argsort(-contrib, kind="stable")[:_N_REASONS]
        names = self.model.feature_names
        return tuple(
            Reason.of(names[j], float(inputs[j]), float(contrib[j]))
            for j in order
            if contrib[j] > 0.0
        )

    def alert(
        self,
        cid: object,
        ts: int,
        conv: ConversationState,
        row: FloatArray,
        risk: float,
        tier: int,
        band: str,
    ) -> Alert:
        """The alert of conversation ``cid`` at tier ``tier`` (band ``band``), raised at ``ts``
        on its feature row ``row``; the one definition for production and shadow alerts."""
        adult_i = conv.adult_i
        return Alert(
            conversation_id=cid,
            adult_id=conv.initiator if adult_i else conv.responder,
            child_id=conv.responder if adult_i else conv.initiator,
            child_age=float(row[CHILD_AGE]),
            adult_age=float(row[ADULT_AGE]),
            age_band=band,
            risk=risk,
            tier=Tier(tier),
            reasons=self.reasons(row),
            event_index=conv.n_events - 1,
            timestamp=ts,
        )


def alert_due(
    tier: int, alerted_tier: int, last_alert_ts: int | None, ts: int, cooldown_s: float
) -> bool:
    """Whether a conversation at ``tier`` alerts at ``ts``: a tier above the one already
    alerted (``alerted_tier``, 0 for none), and outside the cool-down after the last alert.

    Examples
    --------
    >>> alert_due(1, 0, None, 100, 0.0), alert_due(1, 1, 50, 100, 0.0)
    (True, False)
    >>> alert_due(2, 1, 50, 100, 3600.0), alert_due(2, 1, 50, 4000, 3600.0)
    (False, True)
    """
    if tier <= alerted_tier:
        return False
    return not (cooldown_s and last_alert_ts is not None and ts - last_alert_ts < cooldown_s)
