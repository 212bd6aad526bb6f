"""The model's calibrated risk and reasons for one conversation's feature row, and the
alert it raises. One compiled call per event (:meth:`OnlineModel.step`) applies the event
kernel's update to the conversation, the accounts' tallies and the pair's facts, writes
the feature row into a buffer it reuses and scores it (exit leaves and calibration): no
array is allocated per event, and one array carries the model and its buffers."""

from __future__ import annotations

import math
from typing import Any, Final

import numba
import numpy as np
import numpy.typing as npt

from riskscore._jit_cache import jit_cache_on_disk
from riskscore._plain import plain
from riskscore.features.kernel import apply_event, conversation_features
from riskscore.features.registry import FEATURE_NAMES, feature_index
from riskscore.features.slots import N_ACCOUNT_SLOTS
from riskscore.io.schema import channel_at_level
from riskscore.model import RiskModel
from riskscore.model.calibration import platt_risk
from riskscore.model.exit_leaves import margin, max_shift, scratch, scratch_size, shift_scratch
from riskscore.model.scores import MIN_REASON_PUSH, Reason, ages_tell_roles
from riskscore.online.pairs import meet
from riskscore.online.state import (
    ACCOUNT_CHANGED,
    PAIR_CHANGED,
    AccountState,
    ConversationState,
    PairFacts,
    tally,
)
from riskscore.online.state import NO_ACCOUNT as _NO_ACCOUNT
from riskscore.policy import Alert, Tier

__all__ = ["ADULT_IS_INITIATOR", "TOP_TIER", "OnlineModel", "alert_due"]

_N_REASONS = 3
_N_FEATURES = len(FEATURE_NAMES)
#: Columns of the two ages in a full feature row (the policy reads them).
CHILD_AGE = feature_index("child_age")
ADULT_AGE = feature_index("adult_age")
MAX_CHANNEL = feature_index("max_channel")
_INF = math.inf
FloatArray = npt.NDArray[np.float64]
#: Bit of the code :meth:`OnlineModel.step` returns beside the changed bits (1, 2, 4).
ADULT_IS_INITIATOR = 8
#: The highest tier: a conversation alerted at it is due no further alert (:func:`alert_due`),
#: so the scorer does not ask the policy for its tier again.
TOP_TIER: Final = int(max(Tier))


#: The tail of the online scorer's copy of the trees' floats: calibration ``a`` and ``b``,
#: the feature row, an account's features before and after an event, both accounts'
#: tallies before it. Buffers in the model's arrays, not arguments of their own: each array
#: argument of a compiled call costs about as much as scoring a tree (70 ns).
_ROW = 2
_BEFORE = _ROW + _N_FEATURES
_AFTER = _BEFORE + _N_FEATURES
_KEPT = _AFTER + _N_FEATURES
_TAIL = _KEPT + 2 * N_ACCOUNT_SLOTS
#: The head of :attr:`OnlineModel.array`: the lengths of the trees' ints and masks that
#: follow it (then their floats, to the end), so that one array argument carries the three.
_HEAD = 2


@numba.njit(cache=jit_cache_on_disk(), nogil=True)
def _parts(
    model: npt.NDArray[np.uint64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint64], FloatArray]:
    """The trees' ints, masks and floats (views, bit for bit) held in :attr:`OnlineModel.array`."""
    n_ints = np.int64(model[0])
    floats_at = _HEAD + n_ints + np.int64(model[1])
    ints = model[_HEAD : _HEAD + n_ints].view(np.int64)
    return ints, model[_HEAD + n_ints : floats_at], model[floats_at:].view(np.float64)


@numba.njit(cache=jit_cache_on_disk(), nogil=True)
def _tail(floats: FloatArray) -> FloatArray:
    return floats[floats.shape[0] - _TAIL :]


@numba.njit(cache=jit_cache_on_disk(), nogil=True)
def _risk(
    ints: npt.NDArray[np.int64], masks: npt.NDArray[np.uint64], floats: FloatArray,
    row: FloatArray,
) -> float:  # fmt: skip
    """Calibrated risk of ``row`` (:meth:`riskscore.model.calibration.Platt.risk_one` of the
    trees' margin); the scratch is the tail of ``masks``."""
    tail = _tail(floats)
    vec = masks[masks.shape[0] - scratch_size(ints) :]
    return platt_risk(tail[0], tail[1], margin(row, ints, masks, floats, vec))


@numba.njit(cache=jit_cache_on_disk(), nogil=True)
def _features_and_risk(
    ints: npt.NDArray[np.int64],
    masks: npt.NDArray[np.uint64],
    floats: FloatArray,
    state: FloatArray,
    adult_account: FloatArray,
    pair_first: float,
    pair_private: float,
) -> float:
    """The feature row of a conversation (into the row of the tail) and its risk."""
    row = _tail(floats)[_ROW:_BEFORE]
    conversation_features(state, adult_account, pair_first, pair_private, row)
    return _risk(ints, masks, floats, row)


@numba.njit(cache=jit_cache_on_disk(), nogil=True)
def _risks(
    model: npt.NDArray[np.uint64],
    states: FloatArray,
    adult_account: FloatArray,
    pairs: FloatArray,
    out: FloatArray,
) -> None:
    """:func:`_features_and_risk` of each row of ``states`` (with the facts of its pair in
    ``pairs``, one adult's tallies for all) into column 0 of ``out``, and the two ages of
    its feature row (which the policy reads) into columns 1 and 2: one call for many
    conversations, each scored exactly as alone."""
    ints, masks, floats = _parts(model)
    row = _tail(floats)[_ROW:_BEFORE]
    for i in range(out.shape[0]):
        out[i, 0] = _features_and_risk(
            ints, masks, floats, states[i], adult_account, pairs[i, 0], pairs[i, 1]
        )
        out[i, 1] = row[CHILD_AGE]
        out[i, 2] = row[ADULT_AGE]


@numba.njit(cache=jit_cache_on_disk(), nogil=True)
def _score_one(
    model: npt.NDArray[np.uint64], state: FloatArray, adult_account: FloatArray, pair: PairFacts
) -> float:
    """:func:`_features_and_risk` of one conversation, the model in one array and the pair's
    facts as held (one array argument, where its two values were two numpy scalars)."""
    ints, masks, floats = _parts(model)
    return _features_and_risk(ints, masks, floats, state, adult_account, pair[0], pair[1])


@numba.njit(cache=jit_cache_on_disk(), nogil=True)
def _step(
    model: npt.NDArray[np.uint64],
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
) -> tuple[float, int, float]:
    """One event: the accounts' tallies, the pair's facts, the conversation's state, then
    its feature row (into the row of the tail of ``floats``) and calibrated risk.

    Returns the risk; in one int, what else changed (bits of
    :data:`~riskscore.online.state.ACCOUNT_CHANGED` and
    :data:`~riskscore.online.state.PAIR_CHANGED`), plus :data:`ADULT_IS_INITIATOR` when
    the initiator is the adult; and when an account's features changed, the most the
    margin of any of its other conversations can have moved
    (:func:`~riskscore.model.exit_leaves.max_shift`: 0.0 when no split of the model tells
    the account's features before and after apart, so that their risk is unchanged).
    """
    ints, masks, floats = _parts(model)
    tail = _tail(floats)
    kept = tail[_KEPT:]  # both accounts' tallies before the event
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
    shift = 0.0
    if moved:
        # The account's features before and after, on any conversation's state: where no
        # split tells them apart, no conversation of that account changes its margin.
        before, after = tail[_BEFORE:_AFTER], tail[_AFTER:_KEPT]
        account = sender if moved == 1 else recipient
        conversation_features(state, kept[(moved - 1) * k : moved * k], pair[0], pair[1], before)
        conversation_features(state, account, pair[0], pair[1], after)
        shift = max_shift(ints, floats, before, after)
    adult_account = sender if adult == side else recipient
    risk = _features_and_risk(ints, masks, floats, state, adult_account, pair[0], pair[1])
    return risk, code, shift


def _entry(function: Any, *example: Any) -> Any:
    """Compiled ``function`` for the argument types of ``example``, called without numba's
    dispatch: the dispatcher types every argument on each call to pick a compiled version
    (about 0.2 us of an event's 4 for :func:`_step`'s 14). Arguments are converted as the
    dispatcher's would be (an ``int`` where a float goes), but arrays are not checked: the
    callers pass only float64 arrays of one dimension, contiguous and writable, beside the
    model's one. Without compilation (``NUMBA_DISABLE_JIT=1``) it is ``function``."""
    if not isinstance(function, numba.core.dispatcher.Dispatcher):
        return function
    typeof: Any = numba.typeof  # untyped in numba
    return function.compile(tuple(typeof(x) for x in example))


#: Examples of the model's array and of a state array, for :func:`_entry`.
_MODEL = np.zeros(1, np.uint64)
_ARRAY = np.zeros(1)


#: The calibration formula run by the interpreter, for one value at a time (a call into
#: compiled code costs more than the formula); taken once, not on each deferral test.
_platt_in_python: Final = plain(platt_risk)


def _sure_bounds(limit: float) -> tuple[float, float]:
    """Exponents ``(below, above)`` around the one where ``platt_risk(1, 0, z)`` crosses
    ``limit``: below ``below`` it is surely at or over ``limit``, above ``above`` surely
    under it (the formula is monotone and its rounding is far under their margin of 1e-12);
    ``(-inf, inf)`` where none is found, as for a limit outside (0, 1)."""
    if not 0.0 < limit < 1.0:
        return -_INF, _INF
    z = math.log(1.0 / limit - 1.0)
    step = 1e-9 * (1.0 + abs(z))
    below, above = -_INF, _INF
    for _ in range(64):  # widened until the formula is clear of the limit on each side
        if below == -_INF and _platt_in_python(1.0, 0.0, z - step) > limit * (1.0 + 1e-12):
            below = z - step
        if above == _INF and _platt_in_python(1.0, 0.0, z + step) < limit * (1.0 - 1e-12):
            above = z + step
        step *= 2.0
    return below, above


class OnlineModel:
    """The model's trees on a full feature row, and its calibration, for one event.

    ``risk`` equals :meth:`RiskModel.predict_proba` on the same row (the same compiled
    exit-leaf scoring and the same formula); ``reasons`` equals the batch reasons. ``row``
    is the buffer the feature row of the latest :meth:`step` or :meth:`score` is written
    to: read it before the next call.
    """

    __slots__ = (
        "_bounds",
        "_row_risk",
        "array",
        "columns",
        "floats",
        "ints",
        "masks",
        "model",
        "row",
        "slope",
        "step",
    )

    def __init__(self, model: RiskModel) -> None:
        self.columns = np.array([feature_index(n) for n in model.feature_names], dtype=np.int64)
        # The trees index the model's inputs; online they read the full feature row. The
        # scratch follows the masks; max_shift's scratch, then the calibration and buffers
        # follow the floats (their tail).
        ints, masks, floats = model.trees.packed(self.columns, _N_FEATURES)
        masks = np.concatenate([masks, scratch(ints)])
        tail = np.zeros(_TAIL)
        tail[:_ROW] = model.calibration.a, model.calibration.b
        floats = np.concatenate([floats, shift_scratch(ints), tail])
        #: The three in one array (:func:`_parts`), for the compiled calls from Python;
        #: ``ints``, ``masks`` and ``floats`` are views of it.
        self.array = np.concatenate(
            [np.array([len(ints), len(masks)], np.uint64), ints.view(np.uint64), masks,
             floats.view(np.uint64)]
        )  # fmt: skip
        self.ints, self.masks, self.floats = plain(_parts)(self.array)
        #: The feature row of the latest :meth:`step` or :meth:`score` (a view).
        self.row = self.floats[self.floats.shape[0] - _TAIL + _ROW :][:_N_FEATURES]
        self.model = model
        #: How fast the calibration's ``a * margin + b`` moves with the margin.
        self.slope = abs(float(model.calibration.a))
        #: ``step(array, state, sender_tallies, recipient_tallies, pair_facts, novel, side,
        #: ts, sender_age, recipient_age, channel, event, tz_offset, room_size)
        #: -> (risk, code, shift)``: one event applied and scored, the feature row in
        #: :attr:`row` (the compiled call; the caller passes this model's :attr:`array`, and
        #: float64 arrays of one dimension, contiguous and writable, for the others).
        self.step = _entry(_step, _MODEL, *[_ARRAY] * 4, 0, 0, 0, 0.0, 0.0, 0, 0, 0.0, 0)
        # score's compiled call, loaded at its first use (most scorers never re-score)
        self._row_risk: Any = None
        # (limit, below, above) of stays_below: the formula is not needed for a limit's
        # exponent below ``below`` (risk surely at or over it) or above ``above`` (under it)
        self._bounds = (math.nan, -_INF, _INF)

    def score(
        self, conv: ConversationState, adult: AccountState | None
    ) -> tuple[float, FloatArray]:
        """Calibrated risk and feature row (the :attr:`row` buffer) of a conversation,
        given its adult's account."""
        pair = conv.pair
        if pair is None:  # a restored conversation whose pair's facts are not held
            pair = np.full(2, _INF)
        if adult is None:  # the dispatcher, for the read-only tallies of an account not held
            risk = _score_one(self.array, conv.state, _NO_ACCOUNT, pair)
        else:
            row_risk = self._row_risk
            if row_risk is None:
                row_risk = self._row_risk = _entry(_score_one, _MODEL, *[_ARRAY] * 3)
            risk = row_risk(self.array, conv.state, adult.tallies, pair)
        return risk, self.row

    def risks(
        self, states: FloatArray, adult: AccountState, pairs: FloatArray, out: FloatArray
    ) -> None:
        """Calibrated risks, child ages and adult ages (the columns of ``out``, shape (n,
        3)) of conversations whose states are the rows of ``states`` and the facts of whose
        pairs are the rows of ``pairs``, all of adult ``adult``: each risk equals
        :meth:`score` of that conversation (:attr:`row` is left with the last one's row)."""
        _risks(self.array, states, adult.tallies, pairs, out)

    def stays_below(self, risk: float, slack: float, limit: float) -> bool:
        """Whether a row that scored ``risk`` still scores below ``limit`` when its margin
        has moved by up to ``slack`` either way (the calibration is monotone in it).

        ``a * margin + b`` is read back from the risk (a margin beyond the formula's cap
        of 700 reads as 700, which only widens the bound) and moved the most it can, plus
        a tolerance far above the rounding of the two steps (which grows as the risk nears
        1), through the same formula.

        Examples
        --------
        >>> import riskscore as rs
        >>> online = OnlineModel(rs.load_model())
        >>> online.stays_below(0.01, 0.5, 0.3), online.stays_below(0.01, 50.0, 0.3)
        (True, False)
        """
        if not 0.0 < risk < 1.0:
            return False
        odds = 1.0 / risk - 1.0
        z = math.log(odds)
        # A risk near 1 is rounded to about 1e-16 of it, so ``odds`` to about 1e-16 and
        # ``z`` read back from it to about 1e-16 / odds: beyond 1e-6 within 1e-10 of 1.
        z -= self.slope * slack + 1e-6 + 1e-9 * abs(z) + 1e-15 / odds
        bounds = self._bounds
        if bounds[0] != limit:
            bounds = self._bounds = (limit, *_sure_bounds(limit))
        if z > bounds[2]:
            return True
        if z < bounds[1]:
            return False
        return bool(_platt_in_python(1.0, 0.0, z) < limit)

    def risk(self, row: FloatArray) -> float:
        """Calibrated risk of one feature row."""
        return float(_risk(self.ints, self.masks, self.floats, row))

    def reasons(self, row: FloatArray) -> tuple[Reason, ...]:
        """Top contributions of at least
        :data:`~riskscore.model.scores.MIN_REASON_PUSH`, strongest first (as
        :func:`riskscore.model.scores.top_reasons`)."""
        inputs = row[self.columns]
        contrib = self.model.reason_contributions(inputs[None, :])[0]
        order = np.argsort(-contrib, kind="stable")[:_N_REASONS]
        names = self.model.feature_names
        ages_tell = ages_tell_roles(float(row[CHILD_AGE]), float(row[ADULT_AGE]))
        return tuple(
            Reason.of(names[j], float(inputs[j]), float(contrib[j]), ages_tell=ages_tell)
            for j in order
            if contrib[j] >= MIN_REASON_PUSH
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
            first_event_at=conv.min_ts,
            last_event_at=conv.max_ts,
            max_channel=channel_at_level(row[MAX_CHANNEL]),
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
