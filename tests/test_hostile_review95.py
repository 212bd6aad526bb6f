"""Hostile review 95: the online scorer's API. A backdated event that opened a room, the
room-size rule's memory across checkpoints and refusals, 0-d arrays, ``restore``'s
arguments, checkpoint extra data, and counters across a checkpoint."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from online_helpers import MODEL, POLICY

import riskscore as rs

T0 = 1_700_000_000
DAY = 86_400


def _event(cid: object, ts: int, sender: str, recipient: str, **extra: Any) -> dict[str, Any]:
    event = {
        "conversation_id": cid,
        "timestamp": ts,
        "sender_id": sender,
        "recipient_id": recipient,
        "sender_age": 35 if sender == "a" else 12,
        "recipient_age": 35 if recipient == "a" else 12,
        "channel": "group",
    }
    return {**event, **extra}


def _taken(scorer: rs.OnlineScorer, events: list[dict[str, Any]]) -> list[bool]:
    taken = []
    for row, event in enumerate(events):
        try:
            scorer.update_one(event, row=row)
        except rs.SchemaError:
            taken.append(False)
        else:
            taken.append(True)
    return taken


def test_a_backdated_event_that_opens_a_room_does_not_expire_its_live_pair() -> None:
    # The room took the opening event's time, 31 days back: the next event of the live
    # pair found it idle, forgot the pair and started it afresh (alerting it again).
    scorer = rs.OnlineScorer(MODEL, POLICY, time_source="events")
    late = T0 + 40 * DAY
    pair = [_event("g", late + i * 60, *("ab" if i % 2 == 0 else "ba")) for i in range(6)]
    for event in pair:
        scorer.update_one(event)
    scorer.update_one(_event("g", T0 + 9 * DAY, "a", "c"))  # a new pair, dated long before
    scorer.update_one(_event("g", late + 6 * 60, "a", "b"))
    assert scorer.n_expired == 0
    assert scorer.conversation_of("g|a|b").n_events == 7


def test_a_refused_row_does_not_count_in_its_events_reach() -> None:
    # The row too late for its pair was recorded as reaching k1, and the event's next
    # rows were then refused as reaching more accounts than its room held.
    events = [
        _event("g", T0, "a", "k1", room_size=3),
        _event("g", T0, "a", "k2", room_size=3),
        _event("g", T0 + 1000, "a", "k1"),
        _event("g", T0 + 500, "a", "k1", room_size=4),  # too late for g|a|k1: refused
        _event("g", T0 + 500, "a", "k2", room_size=3),
        _event("g", T0 + 500, "a", "k3", room_size=3),
    ]
    scorer = rs.OnlineScorer(MODEL, POLICY, time_source="events", idle_expiry_s=math.inf)
    assert _taken(scorer, events) == [True, True, True, False, True, True]


@pytest.mark.parametrize(
    "events",
    [
        [_event("g", T0, "a", f"k{i}", room_size=3) for i in range(3)],  # 3 reached in a room of 3
        [_event("g", T0, "a", f"k{i}", room_size=30) for i in range(5)]  # a broadcast's rows
        + [_event("g", T0, "a", "kid", room_size=3)],  # and one claiming a room of three
    ],
)
def test_a_resumed_scorer_refuses_the_rows_an_uninterrupted_one_refuses(
    tmp_path: Path, events: list[dict[str, Any]]
) -> None:
    whole = rs.OnlineScorer(MODEL, POLICY, time_source="events")
    expected = _taken(whole, events)
    assert expected[-1] is False
    first = rs.OnlineScorer(MODEL, POLICY, time_source="events")
    _taken(first, events[:-1])
    first.checkpoint(tmp_path / "s.sqlite")
    first.release_checkpoints()
    resumed = rs.OnlineScorer.restore(tmp_path / "s.sqlite", MODEL, POLICY)
    with pytest.raises(rs.SchemaError, match="column 'room_size'"):
        resumed.update_one(events[-1])
    assert resumed.conversation_ids == whole.conversation_ids


@pytest.mark.parametrize("field", ["conversation_id", "timestamp", "sender_id"])
def test_a_0d_array_in_an_event_is_refused_naming_it(field: str) -> None:
    event = _event("c", T0, "a", "b")
    event[field] = np.array(event[field])
    scorer = rs.OnlineScorer(MODEL, POLICY, time_source="events")
    with pytest.raises(rs.SchemaError, match=rf"column '{field}', event 0: array\("):
        scorer.update_one(event)
    assert scorer.n_events == 0


def test_restore_refuses_the_callers_arguments_as_such(tmp_path: Path) -> None:
    # They were blamed on the file ("meta 'config' is invalid"), which was fine.
    path = tmp_path / "s.sqlite"
    scorer = rs.OnlineScorer(MODEL, POLICY, time_source="events")
    scorer.update_one(_event("c", T0, "a", "b"))
    scorer.checkpoint(path)
    scorer.release_checkpoints()
    for kwargs in ({"model": None}, {"policy": "strict"}, {"shadow_model": "models/x"}):
        arguments: dict[str, Any] = {"model": MODEL, **kwargs}
        with pytest.raises(TypeError, match=r"must be an? (RiskModel|AlertPolicy)"):
            rs.OnlineScorer.restore(path, **arguments)
    with pytest.raises(TypeError, match="shadow_model must be a RiskModel"):
        rs.OnlineScorer(MODEL, shadow_model="models/x")  # type: ignore[arg-type]
    assert rs.OnlineScorer.restore(path, MODEL, POLICY).n_events == 1


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"offset": 10**5000}, r"extra\['offset'\]: an integer of more than \d+ digits"),
        ({"path": [[[[]]]] * 1}, None),
    ],
)
def test_checkpoint_extra_names_what_json_cannot_hold(
    tmp_path: Path, extra: dict[str, Any], message: str | None
) -> None:
    scorer = rs.OnlineScorer(MODEL, POLICY, time_source="events")
    if message is None:
        scorer.checkpoint(tmp_path / "ok.sqlite", extra=extra)  # a few levels: kept
        nested: list[Any] = []
        for _ in range(5_000):
            nested = [nested]
        extra, message = {"path": nested}, r"extra\['path'\]\[0\].*nested more than 64 levels"
    with pytest.raises(ValueError, match=message):
        scorer.checkpoint(tmp_path / "s.sqlite", extra=extra)
    assert not (tmp_path / "s.sqlite").exists()


def test_the_documented_counters_survive_a_checkpoint(tmp_path: Path) -> None:
    scorer = rs.OnlineScorer(MODEL, POLICY, time_source="events")
    scorer.n_rescore_skipped, scorer.n_rescore_deferred, scorer.n_contacts_capped = 8, 3, 5
    scorer.checkpoint(tmp_path / "s.sqlite")
    scorer.release_checkpoints()
    restored = rs.OnlineScorer.restore(tmp_path / "s.sqlite", MODEL, POLICY)
    counts = (restored.n_rescore_skipped, restored.n_rescore_deferred, restored.n_contacts_capped)
    assert counts == (8, 3, 5)
