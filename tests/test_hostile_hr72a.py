"""Hostile review hr72a: conversation ids survive a round trip with group rooms, and no two
given ids are merged.

A group room (three or more accounts under one ``conversation_id``) is split into pair
conversations ``room|account|account``, so a table of integer conversation ids holds them
as text (:class:`riskscore.io.given_ids.IntegerAndPairIds`). Was: what a table wrote
(``to_arrow``, ``to_pandas``, ``write_messages``, the scores and alerts files of
``riskscore score``) held conversation 6 as ``"6"`` with nothing saying it was an integer,
so re-scoring the written file, or ``AlertPolicy.alerts(model.score(msgs))`` (the README's
path), filed ``"6"`` beside the online scorer's ``6``: two review cases for one
conversation. Now the text column is marked as integers
(:func:`riskscore.io.given_ids.mark_integer_text`) and read back as given. All data is
synthetic.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from case_helpers import POLICY, Event, events_of, room_of_three
from conformance_refusals import refused_alike

import riskscore as rs
from riskscore.batch import score_events, score_parquet
from riskscore.batch.alerts import alerts_table
from riskscore.batch.shadow import read_alert_ids, read_conversation_ids
from riskscore.cli import main
from riskscore.io.given_ids import given_conversation_ids, integer_text_columns
from riskscore.moderation import ReviewQueue
from riskscore.policy import Alert, AlertPolicy, Tier

#: Conversation 6 (adult 1, child 2) beside group room 9 of accounts 3, 4 and 5.
EVENTS: list[Event] = sorted(
    [*events_of([(6, 1, 2)]), *room_of_three(9, 3, 4, 5)], key=lambda e: e["timestamp"]
)
#: The conversations as given: integer 6, and the room's pairs as text.
GIVEN = [6, "9|3|4", "9|3|5"]


def _policy(tmp_path: Path) -> AlertPolicy:
    path = tmp_path / "policy.toml"
    path.write_text(POLICY, encoding="utf-8")
    return AlertPolicy.from_toml(path)


def _table() -> pa.Table:
    return pa.Table.from_pylist(EVENTS)


def _online_ids(policy: AlertPolicy) -> set[Any]:
    scorer = rs.OnlineScorer(rs.load_model(), policy)
    return {a.conversation_id for e in EVENTS if (a := scorer.update_one(e)) is not None}


@pytest.mark.parametrize("way", ["to_arrow", "to_pandas", "parquet", "jsonl"])
def test_integer_ids_beside_pair_ids_read_back_as_given(tmp_path: Path, way: str) -> None:
    """Was: ``["6", "9|3|4", ...]`` read back, conversation 6 text. Now 6 again: marked
    text in Arrow and Parquet, an integer beside the pair ids in pandas and JSON lines."""
    msgs = rs.read_messages(_table())
    assert given_conversation_ids(msgs.conversations) == GIVEN
    if way == "to_arrow":
        again = rs.read_messages(msgs.to_arrow())
    elif way == "to_pandas":
        frame = msgs.to_pandas()
        assert list(dict.fromkeys(frame["conversation_id"])) == GIVEN
        again = rs.read_messages(frame)
    elif way == "parquet":
        rs.write_messages(msgs, tmp_path / "events.parquet")
        assert integer_text_columns(pq.read_schema(tmp_path / "events.parquet")) == (
            "conversation_id",
        )
        again = rs.read_messages(tmp_path / "events.parquet")
    else:
        rs.write_messages(msgs, tmp_path / "events.jsonl")
        assert '{"conversation_id":6,' in (tmp_path / "events.jsonl").read_text("utf-8")
        again = rs.read_messages(tmp_path / "events.jsonl")
    assert given_conversation_ids(again.conversations) == GIVEN
    # and a second round trip gives the same again
    assert given_conversation_ids(rs.read_messages(again.to_arrow()).conversations) == GIVEN


def test_text_ids_stay_text_and_are_not_marked() -> None:
    """Guard: text ids (``"6"`` beside room ``"9"``) are written unmarked and stay text."""
    events = [{**e, "conversation_id": str(e["conversation_id"])} for e in EVENTS]
    msgs = rs.read_messages(pa.Table.from_pylist(events))
    assert integer_text_columns(msgs.to_arrow().schema) == ()
    again = rs.read_messages(msgs.to_arrow())
    assert given_conversation_ids(again.conversations) == ["6", "9|3|4", "9|3|5"]


def test_alert_policy_alerts_carry_integer_ids_as_the_online_scorer(tmp_path: Path) -> None:
    """The README's path, ``AlertPolicy.alerts(model.score(msgs))`` then
    ``ReviewQueue.add_alert``, beside an online scorer's alerts on the same events. Was:
    ``"6"`` and ``6``, two cases. Now one case under 6."""
    policy = _policy(tmp_path)
    online = _online_ids(policy)
    assert 6 in online
    alerts = policy.alerts(rs.load_model().score(rs.read_messages(_table())))
    assert {a.conversation_id for a in alerts} == online
    with ReviewQueue(tmp_path / "q.sqlite", policy=policy) as queue:
        for alert in alerts:
            queue.add_alert(alert)
        scorer = rs.OnlineScorer(rs.load_model(), policy)
        for event in EVENTS:
            alert = scorer.update_one(event)
            if alert is not None:
                queue.add_alert(alert)
        cases = sorted((i.conversation_id for i in queue.items()), key=repr)
    assert cases == sorted(online, key=repr)


@pytest.mark.parametrize("chunked", [False, True])
def test_score_files_hold_integer_ids_as_given_and_rescore_alike(
    tmp_path: Path, chunked: bool
) -> None:
    """``riskscore score`` (in memory, and out of core by chunks) of the events, then of the
    events file a table wrote. Was: alerts and scores files held ``"6"`` unmarked, and the
    written events re-scored as text conversation ``"6"``. Now the files' conversation
    columns are marked, read back as 6, and re-scoring gives the same alerts."""
    policy_path = tmp_path / "policy.toml"
    policy_path.write_text(POLICY, encoding="utf-8")
    online = _online_ids(_policy(tmp_path))
    source = tmp_path / "events.parquet"
    pq.write_table(_table(), source)
    written = tmp_path / "written.parquet"
    rs.write_messages(rs.read_messages(source), written)
    chunk = ["--chunk-rows", "5"] if chunked else []
    for name, events in (("first", source), ("again", written)):
        out = tmp_path / name
        args = ["score", str(events), "--out", str(out), "--policy", str(policy_path)]
        assert main([*args, *chunk]) == 0
        assert set(read_alert_ids(out / "alerts.parquet")) == online
        assert set(read_conversation_ids(out / "scores.parquet")) == set(GIVEN)
    if chunked:
        result = score_parquet(written, tmp_path / "api", policy=_policy(tmp_path), chunk_rows=5)
        assert {a.conversation_id for a in result.alerts} == online


def test_a_column_of_integers_beside_text_that_is_no_pair_id_is_refused() -> None:
    """Guard: integers beside pair ids are one column; beside other text (``"6"``, ``"x"``)
    they are still two types, refused naming the column, row and value (``6`` and ``"6"``
    would otherwise be one conversation)."""
    for text in ("6", "x"):
        events = [
            {**e, "conversation_id": text if e["conversation_id"] == 9 else 6} for e in EVENTS
        ]
        with pytest.raises(rs.SchemaError, match="mixes id types") as info:
            rs.read_messages(pd.DataFrame(events, dtype=object))
        assert (info.value.column, info.value.value) == ("conversation_id", text)


def test_alerts_jsonl_of_score_is_the_online_scorers_text(tmp_path: Path) -> None:
    """``riskscore score --format jsonl``: each alert line is ``Alert.to_json()`` of the
    alert as given, as ``riskscore stream`` writes it (was ``"conversation_id":"6"``)."""
    policy = _policy(tmp_path)
    pq.write_table(_table(), tmp_path / "events.parquet")
    result = score_events(tmp_path / "events.parquet", tmp_path / "out", policy=policy, fmt="jsonl")
    lines = (tmp_path / "out" / "alerts.jsonl").read_text("utf-8").splitlines()
    assert lines == [a.to_json() for a in result.alerts]
    assert any('"conversation_id":6,' in line for line in lines)


def test_alerts_file_refuses_integers_beside_text_that_is_no_pair_id() -> None:
    """An alerts file holds integer ids beside pair ids as marked text; integers beside
    other text (``"7"`` beside ``6``, which would read back as 7) are refused, naming the
    column, alert and value."""
    base = Alert(6, 1, 2, 12.0, "under 13", 0.9, Tier.REVIEW)
    pair = Alert("9|3|4", 3, 4, 12.0, "under 13", 0.9, Tier.REVIEW)
    table = alerts_table([base, pair])
    assert integer_text_columns(table.schema) == ("conversation_id",)
    assert table.column("conversation_id").to_pylist() == ["6", "9|3|4"]
    text = Alert("7", 3, 4, 12.0, "under 13", 0.9, Tier.REVIEW)
    with pytest.raises(ValueError, match=r"column 'conversation_id', alert 1: '7' is text"):
        alerts_table([base, text])


def test_a_conversation_named_as_a_rooms_pair_is_refused_everywhere() -> None:
    """A conversation literally named ``9|3|4`` between accounts 3 and 4, beside group
    room ``9`` whose split derives that pair id: never merged into one conversation. In
    memory, online and out of core alike it is refused, naming the column and the value
    (an integer room 9 beside a text id is a column of two types, refused as such)."""
    named = [{**e, "conversation_id": "9|3|4"} for e in events_of([(6, 3, 4)])]
    error = refused_alike([*named, *room_of_three("9", 3, 4, 5)], "named pair id beside room")
    assert (error.column, error.value) == ("conversation_id", "9|3|4")
    assert "pair id derived for two accounts of a group conversation" in str(error)


def _ids_table(ids: list[object]) -> dict[str, object]:
    n = len(ids)
    return {
        "conversation_id": pd.Series(ids, dtype=object),
        "timestamp": [1_714_521_600 + i for i in range(n)],
        "sender_id": [1] * n,
        "recipient_id": [2] * n,
        "channel": ["direct"] * n,
    }


@pytest.mark.parametrize(
    ("ids", "kept"),
    [
        (["6", "06"], ["06", "6"]),  # two text ids
        ([-(2**63), 2**63], [-(2**63), 2**63]),  # int64 beside uint64: decimal text
        ([6, "9|3|4"], [6, "9|3|4"]),  # an integer beside a pair id (hr72a)
    ],
)
def test_distinct_ids_stay_distinct(ids: list[object], kept: list[object]) -> None:
    """Guard: ids that look alike are kept apart, each as given."""
    msgs = rs.read_messages(_ids_table(ids))
    assert given_conversation_ids(msgs.conversations) == kept


@pytest.mark.parametrize(
    "ids",
    [[6, "6"], [2**64, str(2**64)], [float(2**53), float(2**53) + 2]],
)
def test_ids_that_would_merge_are_refused(ids: list[object]) -> None:
    """Guard: an integer beside its own text, and a float beyond 2**53 (another integer's
    float), are refused naming the column, row and value, never merged."""
    with pytest.raises(rs.SchemaError) as info:
        rs.read_messages(_ids_table(ids))
    assert (info.value.column, info.value.row, info.value.value) == ("conversation_id", 1, ids[1])


@pytest.mark.xfail(
    strict=True,
    reason="known, not fixed by hr72a: a conversation named '9|a|b' between a and b beside a "
    "room '9' of the same two accounts (never split) is read as two conversations, and the "
    "review queue files their alerts as one case (conversation_aliases)",
)
def test_a_conversation_named_as_the_pair_id_of_an_unsplit_room_is_refused() -> None:
    """A conversation literally named ``9|a|b`` between accounts a and b beside room ``9``
    of a and b only (no third account, so nothing is split): batch and online take them
    for two conversations, and the review queue takes their alerts for one case (the
    room's id and its pair id are one conversation's, ``conversation_aliases``). The
    honest rule refuses the input, as when room 9 is split (test above)."""
    named = [{**e, "conversation_id": "9|a|b"} for e in events_of([(6, "a", "b")])]
    room = [{**e, "conversation_id": "9"} for e in events_of([(7, "a", "b")])]
    with pytest.raises(rs.SchemaError):
        rs.read_messages(pa.Table.from_pylist([*named, *room]))
