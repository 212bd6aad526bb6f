"""The model's calibrated risk and reasons for one conversation's feature row, and the
alert it raises. One compiled call per event (:meth:`OnlineModel.step`) applies the event
kernel's update to the conversation, the accounts' tallies and the pair's facts, writes
the feature row into a buffer it reuses and scores it (exit leaves and calibration): no
array is allocated per event."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numba
import numpy as np
import numpy.typing as npt

from riskscore.features.kernel import apply_event, conversation_features
from riskscore.features.registry import FEATURE_NAMES, feature_index
from riskscore.features.slots import N_ACCOUNT_SLOTS
from riskscore.model import RiskModel
from riskscore.model.exit_leaves import margin, same_paths, scratch
from riskscore.model.scores import Reason
from riskscore.online.state import (
    ACCOUNT_CHANGED,
    PAIR_CHANGED,
    AccountState,
    ConversationState,
    PairFacts,
    meet,
    tally,
)
from riskscore.online.state import NO_ACCOUNT as _NO_ACCOUNT
from riskscore.policy import Alert, Tier

__all__ = ["ADULT_IS_INITIATOR", "NO_SPLIT_MOVED", "OnlineModel", "alert_due"]

_N_REASONS = 3
_N_FEATURES = len(FEATURE_NAMES)
#: Columns of the two ages in a full feature row (the policy reads them).
CHILD_AGE = feature_index("child_age")
ADULT_AGE = feature_index("adult_age")
_INF = math.inf
FloatArray = npt.NDArray[np.float64]
#: Bits of the code :meth:`OnlineModel.step` returns beside the changed bits (1, 2, 4).
ADULT_IS_INITIATOR = 8
NO_SPLIT_MOVED = 16


@numba.njit(cache=True, nogil=True)
def _risk(
    row: FloatArray,
    ints: npt.NDArray[np.int64],
    masks: npt.NDArray[np.uint64],
    floats: FloatArray,
    vec: npt.NDArray[np.uint64],
    a: float,
    b: float,
) -> float:
    """Calibrated risk of ``row`` (:meth:`riskscore.model.calibration.Platt.risk_one` of the
    trees' margin)."""
    z = a * margin(row, ints, masks, floats, vec) + b
    return 1.0 / (1.0 + math.exp(min(700.0, z)))


@numba.njit(cache=True, nogil=True)
def _features_and_risk(
    row: FloatArray,
    ints: npt.NDArray[np.int64],
    masks: npt.NDArray[np.uint64],
    floats: FloatArray,
    vec: npt.NDArray[np.uint64],
    a: float,
    b: float,
    state: FloatArray,
    adult_account: FloatArray,
    pair_first: float,
    pair_private: float,
) -> float:
    """The feature row of a conversation (into ``row``) and its calibrated risk."""
    conversation_features(state, adult_account, pair_first, pair_private, row)
    return _risk(row, ints, masks, floats, vec, a, b)


@numba.njit(cache=True, nogil=True)
def _step(
    buf: FloatArray,
    ints: npt.NDArray[np.int64],
    masks: npt.NDArray[np.uint64],
    floats: FloatArray,
    vec: npt.NDArray[np.uint64],
    a: float,
    b: float,
    state: FloatArray,
    sender: FloatArray,
    recipient: FloatArray,
    pair: PairFacts,
    novel: int,
    side: int,
    ts: int,
    sender_age: float,
    recipient_age: float,
    channel: int,
    event: int,
    tz_offset: float,
    room_size: int,
) -> tuple[float, int]:
    """One event: the accounts' tallies, the pair's facts, the conversation's state, then
    its feature row (into ``buf[:n_features]``) and calibrated risk.

    Returns the risk and, in one int, what else changed (bits of
    :data:`~riskscore.online.state.ACCOUNT_CHANGED` and
    :data:`~riskscore.online.state.PAIR_CHANGED`), plus :data:`ADULT_IS_INITIATOR` when
    the initiator is the adult and :data:`NO_SPLIT_MOVED` when the account change moved
    no split of the model (the risk of the account's other conversations is unchanged).
    """
    n = _N_FEATURES
    row = buf[:n]
    kept = buf[3 * n :]  # both accounts' tallies before the event
    k = sender.shape[0]
    kept[:k] = sender
    kept[k:] = recipient
    changed = tally(sender, recipient, novel, recipient_age, sender_age, channel, event, room_size)
    if meet(pair, ts, channel):
        changed |= PAIR_CHANGED
    adult = apply_event(state, side, ts, sender_age, recipient_age, channel, event, tz_offset,
                        room_size)  # fmt: skip
    code = changed | (ADULT_IS_INITIATOR if adult == 1 else 0)
    moved = changed & ACCOUNT_CHANGED
    if moved:
        # The account's features before and after, on any conversation's state: where no
        # split tells them apart, no conversation of that account changes its margin.
        before, after = buf[n : 2 * n], buf[2 * n : 3 * n]
        account = sender if moved == 1 else recipient
        conversation_features(state, kept[(moved - 1) * k : moved * k], pair[0], pair[1], before)
        conversation_features(state, account, pair[0], pair[1], after)
        if same_paths(ints, floats, before, after):
            code |= NO_SPLIT_MOVED
    adult_account = sender if adult == side else recipient
    risk = _features_and_risk(
        row, ints, masks, floats, vec, a, b, state, adult_account, pair[0], pair[1]
    )
    return risk, code


class OnlineModel:
    """The model's trees on a full feature row, and its calibration, for one event.

    ``risk`` equals :meth:`RiskModel.predict_proba` on the same row (the same compiled
    exit-leaf scoring and the same formula); ``reasons`` equals the batch reasons. ``row``
    is the buffer the feature row of the latest :meth:`step` or :meth:`score` is written
    to: read it before the next call.
    """

    __slots__ = (
        "_buf",
        "_with_row",
        "a",
        "b",
        "columns",
        "floats",
        "ints",
        "masks",
        "model",
        "row",
        "step",
        "vec",
    )  # fmt: skip

    def __init__(self, model: RiskModel) -> None:
        self.columns = np.array([feature_index(n) for n in model.feature_names], dtype=np.int64)
        # The trees index the model's inputs; online they read the full feature row.
        self.ints, self.masks, self.floats = model.trees.packed(self.columns, _N_FEATURES)
        self.vec = scratch(self.ints)
        # The feature row, the changed account's features before and after, its tallies.
        self._buf = np.empty(3 * _N_FEATURES + 2 * N_ACCOUNT_SLOTS)
        self.row = self._buf[:_N_FEATURES]
        self.a = model.calibration.a
        self.b = model.calibration.b
        self.model = model
        model_arrays = (self.ints, self.masks, self.floats, self.vec, self.a, self.b)
        #: ``step(state, sender_tallies, recipient_tallies, pair_facts, novel, side, ts,
        #: sender_age, recipient_age, channel, event, tz_offset, room_size) -> (risk, code)``:
        #: one event applied and scored (the compiled ``_step``; the feature row in ``row``).
        self.step: Callable[..., tuple[float, int]] = functools.partial(
            _step, self._buf, *model_arrays
        )
        self._with_row = functools.partial(_features_and_risk, self.row, *model_arrays)

    def score(
        self, conv: ConversationState, adult: AccountState | None
    ) -> tuple[float, FloatArray]:
        """Calibrated risk and feature row (the :attr:`row` buffer) of a conversation,
        given its adult's account."""
        pair = conv.pair
        risk = self._with_row(
            conv.state,
            _NO_ACCOUNT if adult is None else adult.tallies,
            _INF if pair is None else pair[0],
            _INF if pair is None else pair[1],
        )
        return risk, self.row

    def risk(self, row: FloatArray) -> float:
        """Calibrated risk of one feature row."""
        return float(_risk(row, self.ints, self.masks, self.floats, self.vec, self.a, self.b))

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
