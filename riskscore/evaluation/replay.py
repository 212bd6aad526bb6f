"""Early detection: replay conversations event by event through the online scorer (private).

Replaying costs tens of microseconds per event, so a large evaluation set is
sampled **by adult account**: every adult with a grooming conversation is kept
(unless even they exceed the budget), other adults are kept with probability
``q``, and each kept conversation counts ``1 / q`` times when precision is
computed (inverse-probability weighting). A kept adult's conversations are replayed
together with every other conversation that account takes part in, so its per-sender
features (fan-out to minors and the rest) grow online exactly as in the full stream;
an event that changes them re-scores the adult's other conversations, and an alert so
raised counts as that conversation's detection (at its latest event).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

import riskscore.evaluation.metrics as em
from riskscore.evaluation.labels import adult_accounts
from riskscore.features import FeatureTable
from riskscore.io.given_ids import given_conversation_ids
from riskscore.io.groups import replay_room_limit
from riskscore.io.messages import MessageTable
from riskscore.model import RiskModel
from riskscore.online import OnlineScorer
from riskscore.policy import AlertPolicy

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True, eq=False)
class Replay:
    """Per evaluated conversation (positions into the feature table): when it first alerted."""

    position: IntArray
    weight: FloatArray
    first_alert_index: IntArray  # -1: never alerted
    first_alert_timestamp: IntArray  # meaningless where first_alert_index == -1
    n_events: int
    n_conversations: int
    grooming_adult_rate: float
    other_adult_rate: float


def sample_adults(
    features: FeatureTable,
    y: BoolArray,
    n_events_per_conversation: IntArray,
    budget: int,
    seed: int,
    *,
    adults: npt.NDArray[Any] | None = None,
) -> tuple[BoolArray, FloatArray, float, float]:
    """Choose adults to replay; return (adult kept per conversation, weight, rates).

    ``adults``: the adult account of each conversation, the unit sampled, as the bootstrap
    resamples it (:func:`~riskscore.evaluation.labels.adult_accounts`: the labels' adult, who
    may be the younger participant by declared age; without labels, None, the feature
    table's adult). An adult's cost is the events of every conversation the account takes
    part in, as the older or the younger participant, and where it is the younger, of every
    conversation the older one takes part in: :func:`replay` replays them all with it.
    Counted on one side only, the replay ran a third to a half past its budget (453,000
    events for 300,000); without the older accounts, a replay by the labels' adults ran
    14 % past it.
    """
    adults = adult_accounts(features, None) if adults is None else adults
    adult, n_adults = em.cluster_codes(adults)
    grooming_adult = em.group_any(adult, y, n_adults)
    events = n_events_per_conversation.astype(np.float64)
    n = len(adults)
    accounts, code = np.unique(
        np.concatenate([np.asarray(adults), features.adult_id, features.child_id]),
        return_inverse=True,
    )
    code = code.reshape(-1)
    mine, older, younger = code[:n], code[n : 2 * n], code[2 * n :]
    # every conversation an account takes part in, as the older or the younger participant
    account_events = np.bincount(older, events, len(accounts))
    account_events += np.bincount(younger, events, len(accounts))
    unit_account = np.zeros(n_adults, dtype=np.int64)
    unit_account[adult] = mine
    cost = account_events[unit_account]
    # a kept adult who is the younger participant brings the older one's conversations too
    # (replay keeps both): counted once per pair, less the shared conversations counted twice
    lie = older != mine
    pairs = np.unique(np.stack([adult[lie], older[lie]]), axis=1)
    cost += np.bincount(pairs[0], account_events[pairs[1]], n_adults)
    cost -= np.bincount(adult[lie], events[lie], n_adults)
    cost_g = float(cost[grooming_adult].sum())
    cost_o = float(cost[~grooming_adult].sum())
    if float(events.sum()) <= budget:  # every event fits (costs count a pair of adults twice)
        q_g = q_o = 1.0
    else:
        q_g = min(1.0, 0.5 * budget / cost_g) if cost_g > 0 else 1.0
        q_o = min(1.0, max(budget - q_g * cost_g, 0.0) / cost_o) if cost_o > 0 else 1.0
    rng = np.random.default_rng(seed)
    rate = np.where(grooming_adult, q_g, q_o)
    kept_adult = rng.random(n_adults) < rate
    kept = kept_adult[adult]
    weight = np.where(kept, 1.0 / np.maximum(rate[adult], 1e-300), 0.0)
    return kept, weight, q_g, q_o


def replay(
    model: RiskModel,
    policy: AlertPolicy,
    messages: MessageTable,
    features: FeatureTable,
    y: BoolArray,
    *,
    budget: int,
    seed: int,
    adults: npt.NDArray[Any] | None = None,
) -> Replay:
    """Replay the sampled conversations in time order; record each one's first alert.
    ``adults``: the unit sampled (:func:`sample_adults`)."""
    n_ev = (messages.segment_ends - messages.segment_starts).astype(np.int64)
    adults = adult_accounts(features, None) if adults is None else adults
    kept, weight, q_g, q_o = sample_adults(features, y, n_ev, budget, seed, adults=adults)
    # both participants of a kept conversation: the sampled adult's other conversations, and
    # the per-sender features of the older account, grown online as in the full stream
    kept_accounts = np.union1d(adults[kept], features.adult_id[kept])
    touches = np.isin(features.adult_id, kept_accounts) | np.isin(features.child_id, kept_accounts)
    replay_codes = np.flatnonzero(touches)
    first_index = np.full(len(features), -1, dtype=np.int64)
    first_ts = np.zeros(len(features), dtype=np.int64)
    # The table's own one-event view (ids as given: the integer account 6 stays 6, never
    # the "6" a table of ids beyond int64 holds), of the conversations replayed.
    replayed = messages.take_conversations(replay_codes)
    # An event can alert another conversation of its adult (re-scored when the event
    # changes the adult's per-account features): alerts are mapped back by their id.
    given = given_conversation_ids(features.conversation_id[replay_codes])
    code_of = dict(zip(given, replay_codes.tolist(), strict=True))
    # History replayed, not live traffic: no clock to be ahead of (the reader already
    # applied its own rule on dates ahead of the time of reading), nor a broadcast to set
    # aside (the reader set those aside, by the limit it was given: rooms of 30 read with
    # max_room_members=50 were dropped event by event by a scorer at the default 20).
    scorer = OnlineScorer(
        model,
        policy,
        idle_expiry_s=math.inf,
        max_future_s=math.inf,
        max_room_members=replay_room_limit(replayed),
    )
    for event in replayed.iter_events():
        for alert in scorer.update_one_all(event):
            code = code_of[alert.conversation_id]
            if first_index[code] < 0:
                first_index[code] = -1 if alert.event_index is None else alert.event_index
                first_ts[code] = 0 if alert.timestamp is None else alert.timestamp
    position = np.flatnonzero(kept).astype(np.int64)
    return Replay(
        position=position,
        weight=weight[position],
        first_alert_index=first_index[position],
        first_alert_timestamp=first_ts[position],
        n_events=len(replayed),
        n_conversations=len(replay_codes),
        grooming_adult_rate=q_g,
        other_adult_rate=q_o,
    )


def latency_penalty(k: FloatArray, p: float) -> FloatArray:
    """Sadeque, Xu & Bethard (2018): ``-1 + 2 / (1 + exp(-p (k - 1)))``; 0 at k = 1."""
    out: FloatArray = -1.0 + 2.0 / (1.0 + np.exp(-p * (np.asarray(k, dtype=np.float64) - 1.0)))
    return out
