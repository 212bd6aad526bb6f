"""What the tests of the synthetic data generator share: per-account and per-conversation
views of generated data, and :func:`assert_valid`, what every world's data must be.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from riskscore.io import read_messages
from riskscore.io.messages import MessageTable
from riskscore.io.schema import Channel
from riskscore.synthetic import (
    SyntheticData,
    World,
)

FloatArray = npt.NDArray[np.float64]
NIGHT_START_S, NIGHT_END_S = 22 * 3600, 6 * 3600


def _arrays(data: SyntheticData) -> dict[str, npt.NDArray[Any]]:
    cols = {f"events.{k}": v for k, v in data.messages.columns(decoded=False).items()}
    for name in ("conversation_id", "is_grooming", "onset_index", "adult_id", "scenario"):
        cols[f"labels.{name}"] = getattr(data.labels, name)
    return cols


def _n_events(msgs: MessageTable) -> npt.NDArray[np.int64]:
    return msgs.segment_ends - msgs.segment_starts


def _child_code(data: SyntheticData) -> npt.NDArray[np.int64]:
    """Account code of each conversation's younger participant (the non-adult)."""
    msgs = data.messages
    adult = np.searchsorted(msgs.accounts, data.labels.adult_id)
    first_sender = msgs.sender_code[msgs.segment_starts]
    first_recipient = msgs.recipient_code[msgs.segment_starts]
    return np.where(first_sender == adult, first_recipient, first_sender)


def _per_account(msgs: MessageTable, values_s: FloatArray, values_r: FloatArray) -> FloatArray:
    out = np.full(len(msgs.accounts), np.nan)
    out[msgs.sender_code] = values_s
    out[msgs.recipient_code] = values_r
    return out


def _child_local_time_of_day(data: SyntheticData) -> npt.NDArray[np.int64]:
    msgs = data.messages
    tz = np.zeros(len(msgs.accounts), dtype=np.int64)
    tz[msgs.recipient_code] = msgs.recipient_tz_offset_min
    child_tz = tz[_child_code(data)][msgs.conversation_code]
    tod: npt.NDArray[np.int64] = (msgs.timestamp + 60 * child_tz) % 86_400
    return tod


def assert_valid(data: SyntheticData, world: World, n: int, prevalence: float) -> None:
    """What every world's data must be: schema v1, labels aligned, onsets inside."""
    msgs, labels = data.messages, data.labels
    again = read_messages(msgs.to_arrow())  # validated from scratch
    assert len(again) == len(msgs)
    assert len(again.quarantined) == 0
    np.testing.assert_array_equal(again.timestamp, msgs.timestamp)
    assert msgs.n_conversations == n
    np.testing.assert_array_equal(labels.conversation_id, msgs.conversations)
    assert int(labels.is_grooming.sum()) == int(np.floor(n * prevalence + 0.5))
    n_events = _n_events(msgs)
    grooming = labels.is_grooming_true
    assert np.all(labels.onset_index[~grooming] == -1)
    assert np.all(labels.onset_index[grooming] >= 0)
    assert np.all(labels.onset_index[grooming] < n_events[grooming])
    assert not np.any(msgs.sender_code == msgs.recipient_code)
    adult = np.searchsorted(msgs.accounts, labels.adult_id)
    starts = msgs.segment_starts
    assert np.all((msgs.sender_code[starts] == adult) | (msgs.recipient_code[starts] == adult))
    weights = {**world.benign_mix, **world.grooming_mix}
    assert all(weights[s] > 0 for s in np.unique(labels.scenario))
    # what the platform does not record is not there
    recorded = set(np.unique(msgs.channel).tolist())
    assert recorded <= {int(Channel[c.upper()]) for c in world.platform.channels}
    if not world.platform.time_zones:
        assert np.all(msgs.recipient_tz_offset_min == 0)
