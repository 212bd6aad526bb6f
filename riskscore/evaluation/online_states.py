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
from dataclasses import replace

import numpy as np
import numpy.typing as npt

from riskscore.io.given_ids import given_conversation_ids, given_id
from riskscore.io.groups import (
    DEFAULT_MAX_ROOM_MEMBERS,
    PAIR_ID_SEPARATOR,
    pair_conversation_id,
)
from riskscore.io.messages import MessageTable
from riskscore.model import RiskModel
from riskscore.online import OnlineScorer
from riskscore.online.options import DEFAULT_IDLE_EXPIRY_S
from riskscore.online.risk import ADULT_AGE, CHILD_AGE
from riskscore.online.shadow import ShadowModel
from riskscore.online.state import ConversationState
from riskscore.policy import AlertPolicy
from riskscore.policy.volume import Traffic

__all__ = ["online_peaks", "online_traffic"]

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
    """An online scorer over history (no clock to be ahead of) whose every scored row goes
    to a :class:`_PeakRecorder`."""

    def __init__(self, model: RiskModel, max_room_members: int, idle_expiry_s: float) -> None:
        super().__init__(
            model,
            idle_expiry_s=idle_expiry_s,
            max_future_s=math.inf,
            max_room_members=max_room_members,
        )
        self.recorder = self._shadow = _PeakRecorder(model, self.policy)


def online_traffic(
    model: RiskModel,
    messages: MessageTable,
    counted_ids: npt.ArrayLike | None = None,
    *,
    max_room_members: int = DEFAULT_MAX_ROOM_MEMBERS,
    idle_expiry_s: float = DEFAULT_IDLE_EXPIRY_S,
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
        :func:`riskscore.read_messages` gives ids); every conversation when omitted. An id
        is matched as the events carry it, or as its text where the ids are text (a
        file with group rooms reads every id as text); the id of a group room counts
        every pair conversation ``room|a|b`` it was split into, as a pair id counts its
        own pair only.
    max_room_members : int, default 20
        Accounts above which a room is a broadcast surface, set aside: give the value
        ``messages`` were read with (:func:`riskscore.read_messages`), as the online
        scorer (``riskscore stream --max-room-members``) is run with.
    idle_expiry_s : float, default 30 days
        As the online scorer is run with (``riskscore stream --idle-expiry-s``): a
        conversation idle this long is forgotten and starts afresh at its next event (one
        conversation still, at the highest tier either part reached).

    Returns
    -------
    Traffic
        One row per conversation and pair of ages it was scored with: the highest risk
        it reached with those ages; ``conversation`` groups a conversation's rows.

    Raises
    ------
    ValueError
        An id of ``counted_ids`` that is neither a conversation nor a group room of
        ``messages`` (the first such id named, and how many): counting nothing for it
        would lower the volume in silence.
    """
    traffic, ids = online_peaks(
        model, messages, max_room_members=max_room_members, idle_expiry_s=idle_expiry_s
    )
    if counted_ids is None:
        return traffic
    wanted = _counted_conversations(messages, ids, counted_ids)
    conversation = np.asarray(traffic.conversation)
    counted = np.fromiter((ids[c] in wanted for c in conversation), bool, len(conversation))
    return replace(traffic, counted=counted)


def online_peaks(
    model: RiskModel,
    messages: MessageTable,
    *,
    max_room_members: int = DEFAULT_MAX_ROOM_MEMBERS,
    idle_expiry_s: float = DEFAULT_IDLE_EXPIRY_S,
) -> tuple[Traffic, list[object]]:
    """The rows of :func:`online_traffic` (every conversation counted), and the id of each
    conversation code.

    Parameters
    ----------
    model : RiskModel
        The model scored online.
    messages : MessageTable
        Events of whole conversations, replayed in time order.
    max_room_members : int, default 20
        As for :func:`online_traffic`.
    idle_expiry_s : float, default 30 days
        As for :func:`online_traffic`.

    Returns
    -------
    traffic : Traffic
        One row per conversation and pair of ages it was scored with (the highest risk
        it reached with those ages), grouped by conversation in the order conversations
        were first scored, and within one in the order its pairs of ages were first
        scored.
    ids : list
        ``ids[c]`` is the id (as the events carry it, a group room's pairs as
        ``room|a|b``) of the conversation of code ``c`` in ``traffic.conversation``.
    """
    scorer = _RecordingScorer(model, max_room_members, idle_expiry_s)
    for event in messages.iter_events():
        scorer.update_one_all(event)
    peaks = scorer.recorder.peaks
    ids = list(peaks)
    code = {cid: i for i, cid in enumerate(ids)}
    rows = [(code[cid], *key, risk) for cid in ids for key, risk in peaks[cid].items()]
    table = np.asarray(rows, dtype=np.float64).reshape(-1, 4)
    ages = np.where(table[:, 1:3] == _UNKNOWN, np.nan, table[:, 1:3])
    traffic = Traffic(
        risk=table[:, 3],
        child_age=ages[:, 0],
        adult_age=ages[:, 1],
        conversation=table[:, 0].astype(np.int64),
    )
    return traffic, ids


def _counted_conversations(
    messages: MessageTable, ids: list[object], counted_ids: npt.ArrayLike
) -> set[object]:
    """The conversation ids of ``ids`` (as the events carry them) that ``counted_ids``
    name: each id itself, its text where the ids are text, or the pairs of its room."""
    wanted_ids = np.asarray(counted_ids)
    # ids as the events carry them (the integer 6, never the "6" of a wide id table or of
    # a table with group rooms, :attr:`MessageTable.decimal_id_columns`, however given)
    integers = "conversation_id" in messages.decimal_id_columns
    given = [given_id(cid, integers) for cid in given_conversation_ids(wanted_ids)]
    known = set(ids)
    pairs = _pairs_by_room(messages, ids)
    out: set[object] = set()
    missing = []
    for cid in given:
        if cid in known:
            out.add(cid)
        elif not isinstance(cid, str) and str(cid) in known:  # text ids: 2 is "2"
            out.add(str(cid))
        elif str(cid) in pairs:
            out.update(pairs[str(cid)])
        else:
            missing.append(cid)
    if missing:
        raise ValueError(
            f"counted_ids: {missing[0]!r} is not a conversation or group room of the messages "
            f"({len(missing):,} of {len(wanted_ids):,} ids are not): give the ids of the "
            "conversations read"
        )
    return out


def _pairs_by_room(messages: MessageTable, ids: list[object]) -> dict[str, list[object]]:
    """The pair conversations of ``ids`` (:func:`~riskscore.io.groups.pair_conversation_id`)
    by the text of their room: a pair id is its room, then the pair's two accounts."""
    pair_ids = {cid for cid in ids if isinstance(cid, str) and PAIR_ID_SEPARATOR in cid}
    if not pair_ids:
        return {}
    conversation = messages.conversation_id
    _, first = np.unique(conversation, return_index=True)
    out: dict[str, list[object]] = {}
    for row in first.tolist():
        cid = str(conversation[row])
        if cid not in pair_ids:
            continue
        sender, recipient = messages.sender_id[row], messages.recipient_id[row]
        accounts = pair_conversation_id(None, sender, recipient)
        suffix = PAIR_ID_SEPARATOR + accounts
        if cid.endswith(suffix) and len(cid) > len(suffix):
            out.setdefault(cid[: -len(suffix)], []).append(cid)
    return out
