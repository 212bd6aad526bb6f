"""Hostile-input review 8: ids through group rooms, queues and checkpoints; far-future and
far-past timestamps; the moderation queue and its exports.

Each test was written before its fix and failed on the code before it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from _models import stump_model
from _regulatory import T0, decided_queue, insert_item

import riskscore as rs
from riskscore.cli import main
from riskscore.io.schema import MAX_ID_LENGTH, MAX_PAIR_ID_LENGTH
from riskscore.moderation import QueueError, ReviewQueue

# ------------------------------------------------------- ids: group rooms of long ids


def _room_of_long_ids(n: int = 30) -> dict[str, list[Any]]:
    """A group room and three accounts, each id of the greatest length accepted: every
    pair id derived from them is longer than an id given in an event may be."""
    room, adult, kid, other = ("r" * MAX_ID_LENGTH, "a" * MAX_ID_LENGTH, "k" * MAX_ID_LENGTH,
                               "c" * MAX_ID_LENGTH)  # fmt: skip
    senders = [adult if i % 3 else other for i in range(n)]
    recipients = [kid if i % 2 else (other if i % 3 else adult) for i in range(n)]
    return {
        "conversation_id": [room] * n,
        "timestamp": [1_700_000_000 + 60 * i for i in range(n)],
        "sender_id": senders,
        "recipient_id": recipients,
        "channel": ["direct"] * n,
        "sender_age": [40] * n,
        "recipient_age": [12] * n,
    }


def test_alerts_on_pairs_of_a_room_of_long_ids_are_queued_with_their_ids(tmp_path: Path) -> None:
    # The pair ids (3 x 256 characters and two separators) were refused by the queue as
    # "longer than 256 characters": alerts of valid events could not be queued.
    messages = rs.read_messages(_room_of_long_ids())
    scores = stump_model(8.0, []).score_features(rs.extract_features(messages))
    alerts = rs.AlertPolicy.default().alerts(scores)
    assert alerts
    assert {len(str(a.conversation_id)) for a in alerts} == {MAX_PAIR_ID_LENGTH}
    with rs.ReviewQueue(tmp_path / "q.sqlite") as queue:
        queue.add_alerts(alerts)
        queued = {item.conversation_id for item in queue.items()}
    assert queued == {a.conversation_id for a in alerts}


def test_a_checkpoint_holding_pairs_of_a_room_of_long_ids_restores(tmp_path: Path) -> None:
    # The scorer wrote the pair ids it derived; restoring refused them as over-long ids,
    # so one room of long (valid) ids made every checkpoint of a service unreadable.
    model = stump_model(8.0, [])
    scorer = rs.OnlineScorer(model, time_source="events")
    events = _room_of_long_ids()
    for i in range(len(events["timestamp"])):
        scorer.update_one({k: v[i] for k, v in events.items()})
    scorer.checkpoint(tmp_path / "ck.sqlite")
    restored = rs.OnlineScorer.restore(tmp_path / "ck.sqlite", model, time_source="events")
    assert restored.n_conversations == scorer.n_conversations == 3


# ------------------------------------------------- a queue file edited outside riskscore

_HOSTILE_ITEMS = {
    "tier 99": ({"tier": 99}, "'tier'"),  # KeyError in `riskscore queue`
    "risk text": ({"risk": "abc"}, "'risk'"),
    "risk below 0": ({"risk": -5.0}, "'risk'"),  # reported and exported as is
    "risk 1e308": ({"risk": 1e308}, "'risk'"),
    "age as text": ({"child_age": "twelve"}, "'child_age'"),
    "time as text": ({"created_at": "yesterday"}, "'created_at'"),
    "time year 10^11": ({"created_at": 2**62}, "'created_at'"),
    "id not json": ({"adult_id": "zz"}, "'adult_id'"),  # 'Expecting value: line 1 column 1'
    "id a list": ({"adult_id": "[1, 2]"}, "'adult_id'"),
    "id with escapes": ({"adult_id": json.dumps("\x1b[2Jx")}, "'adult_id'"),  # to a terminal
    "reasons not json": ({"reasons": "{{{"}, "'reasons'"),
    "reasons of numbers": ({"reasons": "[1, 2]"}, "'reasons'"),
    "channel unknown": ({"channel": "carrier-pigeon"}, "'channel'"),
    "age band of two lines": ({"age_band": "13-15\n# x"}, "'age_band'"),
}


@pytest.mark.parametrize("case", _HOSTILE_ITEMS)
def test_a_queue_item_edited_outside_riskscore_is_refused_by_item_and_column(
    tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    change, column = _HOSTILE_ITEMS[case]
    db = decided_queue(tmp_path / "q.sqlite")
    insert_item(db, change)  # item 8, written with plain SQL
    with ReviewQueue(db) as queue, pytest.raises(QueueError, match=rf"item 8\b.*{column}"):
        queue.items()
    if "created_at" not in change:  # an item created after --now is not read to rank
        assert main(["queue", "--db", str(db), "--now", str(T0 + 100)]) == 2
        assert column in capsys.readouterr().err


def test_every_item_riskscore_writes_reads_back(tmp_path: Path) -> None:
    with ReviewQueue(decided_queue(tmp_path / "q.sqlite")) as queue:
        assert len(queue.items()) == 7
