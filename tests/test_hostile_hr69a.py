"""Hostile review hr69a: one conversation is one review case whichever path scored it,
when the events hold a group room.

A group room makes batch reading hold every conversation id as text (a pair id
``room|account|account`` is text), so ``riskscore score --queue`` of integer ids filed the
direct conversation 6 as ``"6"`` where ``riskscore stream --queue`` (each event alone)
files it as ``6``: two review cases for one conversation, and a moderator's decision on
one matched nothing batch scored. hr68k's ``decimal_id_columns`` left such a column
unflagged, because it also holds pair ids. All data is synthetic.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from case_helpers import (
    POLICY,
    T0,
    Event,
    assert_compare_matches_both_decisions,
    events_of,
    room_of_three,
    score_then_stream,
    write_jsonl,
)
from online_helpers import adult_child_messages

from riskscore import read_messages
from riskscore.batch.score import load_model
from riskscore.cli import main
from riskscore.evaluation.online_states import online_traffic
from riskscore.io.given_ids import given_conversation_ids
from riskscore.moderation import ReviewQueue
from riskscore.moderation.learning import learn_from_decisions
from riskscore.moderation.user_reports import iter_reports


def _events(direct: object, room: object, accounts: tuple[object, ...] = (3, 4, 5)) -> list[Event]:
    events = [*events_of([(direct, 1, 2)]), *room_of_three(room, *accounts)]
    return sorted(events, key=lambda e: e["timestamp"])


def _columns(events: list[Event]) -> dict[str, list[Any]]:
    return {k: [e[k] for e in events] for k in events[0]}


def _parquet(path: Path, events: list[Event], conversation_type: pa.DataType) -> Path:
    types = {"conversation_id": conversation_type}
    table = pa.table({k: pa.array(v, types.get(k)) for k, v in _columns(events).items()})
    pq.write_table(table, path)
    return path


@pytest.mark.parametrize(
    ("direct", "source"),
    [(6, "jsonl"), (6, "parquet"), (2**64 + 1, "jsonl"), (2**63 + 1, "parquet")],
    ids=["in-memory", "out-of-core", "beyond-int64-in-memory", "beyond-int64-out-of-core"],
)
def test_score_then_stream_with_a_group_room_queue_one_case_per_conversation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, direct: int, source: str
) -> None:
    """Was: ``("alert", "6", 1, 2)`` from score beside ``("alert", 6, 1, 2)`` from stream,
    and the user report twice. Now one alert and one report under the integer given, and
    the room's pair of an adult and a child one alert under its pair id (text on both
    paths)."""
    events = _events(direct, 9)
    if source == "jsonl":
        path = write_jsonl(tmp_path / "events.jsonl", events)
    else:
        kind = pa.uint64() if direct > 2**63 else pa.int64()
        path = _parquet(tmp_path / "events.parquet", events, kind)
    items = score_then_stream(tmp_path, monkeypatch, events, path)
    assert items == [
        ("alert", "9|3|4", 3, 4),
        ("alert", direct, 1, 2),
        ("user_report", direct, 1, 2),
    ]


def test_text_ids_with_a_group_room_stay_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Guard: text ids ("6") beside a room stay text in the queue, by either path."""
    events = _events("6", "9")
    items = score_then_stream(
        tmp_path, monkeypatch, events, write_jsonl(tmp_path / "e.jsonl", events)
    )
    assert [i for i in items if i[2] == 1] == [("alert", "6", 1, 2), ("user_report", "6", 1, 2)]


def _stream(
    queue: Path, policy: Path, events: list[Event], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``riskscore stream --queue QUEUE`` of ``events``: the cases under the online ids."""
    lines = "".join(json.dumps(e) + "\n" for e in events)
    monkeypatch.setattr("sys.stdin", io.StringIO(lines))
    stream = ["stream", "--policy", str(policy), "--queue", str(queue)]
    assert main([*stream, "--time-source", "events"]) == 0


def _decide_all(queue: Path, outcome: Any = "actioned") -> None:
    """A moderator decides every open case (``outcome`` of the adult's id: an outcome)."""
    with ReviewQueue(queue, create=False) as q:
        for adult in sorted({i.adult_id for i in q.items()}, key=repr):
            shown = q.case(adult)
            assert shown is not None
            chosen = outcome(adult) if callable(outcome) else outcome
            q.decide(adult, chosen, moderator="m1", token=shown.token)


def _decided_stream_then_shadow_run(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    events: list[Event],
    source: Path,
    chunked: bool = False,
) -> tuple[Path, Path, Path]:
    """``stream --queue`` of ``events`` with every case decided, then ``score --shadow-model
    default`` of ``source`` (out of core with ``chunked``); the policy, queue and out dir."""
    policy, queue, out = tmp_path / "policy.toml", tmp_path / "queue.sqlite", tmp_path / "out"
    policy.write_text(POLICY, encoding="utf-8")
    _stream(queue, policy, events, monkeypatch)
    _decide_all(queue)
    score = ["score", str(source), "--out", str(out), "--format", "jsonl"]
    options = ["--policy", str(policy), "--shadow-model", "default"]
    assert main([*score, *options, *(["--chunk-rows", "7"] if chunked else [])]) == 0
    return policy, queue, out


@pytest.mark.parametrize("chunked", [False, True], ids=["in-memory", "out-of-core"])
def test_compare_matches_decisions_of_a_stream_queue_with_a_group_room(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    chunked: bool,
) -> None:
    """Decisions made on the cases ``stream --queue`` opened (conversation 6 and the
    room's pair ``"9|3|4"``) match the conversations of ``compare --shadow-run`` and of
    ``compare --events``. Was: the batch side held ``"6"``, so one of the two decisions
    was "about other conversations"."""
    events = _events(6, 9)
    if chunked:
        source = _parquet(tmp_path / "events.parquet", events, pa.int64())
    else:
        source = write_jsonl(tmp_path / "events.jsonl", events)
    policy, queue, out = _decided_stream_then_shadow_run(
        tmp_path, monkeypatch, events, source, chunked
    )
    assert_compare_matches_both_decisions(capsys, out, queue, source, policy)


def test_compare_alerts_files_of_score_match_decisions_of_a_stream_queue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``compare --alerts --shadow-alerts --queue`` given the alerts files of ``riskscore
    score`` (which hold conversation 6 beside the room's pair id: as ``"6"`` until hr72a,
    as 6 since) matches the decision on the case the queue files as 6. Was: "1 about other
    conversations"."""
    events = _events(6, 9)
    source = write_jsonl(tmp_path / "events.jsonl", events)
    _, queue, out = _decided_stream_then_shadow_run(tmp_path, monkeypatch, events, source)
    assert '"conversation_id":6,' in (out / "alerts.jsonl").read_text(encoding="utf-8")
    capsys.readouterr()
    files = ["--alerts", str(out / "alerts.jsonl"), "--shadow-alerts"]
    assert (
        main(["compare", *files, str(out / "shadow" / "alerts.jsonl"), "--queue", str(queue)]) == 0
    )
    matched = "2 actioned or escalated, 0 dismissed (0 about other conversations)"
    assert matched in capsys.readouterr().out


def test_learning_from_a_stream_queue_with_a_group_room_finds_its_conversations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Was: ``learn_from_decisions`` refused decisions on integer conversation ids ("not
    in the events") once a group room made the events' ids text. Now each decision
    labels the conversation it was made on."""
    conversations = [(k, 100 + k, 200 + k) for k in range(10)]
    events = sorted(
        [*events_of(conversations), *room_of_three(9_999, 300, 301, 302)],
        key=lambda e: e["timestamp"],
    )
    source = write_jsonl(tmp_path / "events.jsonl", events)
    policy, queue = tmp_path / "policy.toml", tmp_path / "queue.sqlite"
    policy.write_text(POLICY, encoding="utf-8")
    _stream(queue, policy, events, monkeypatch)
    _decide_all(
        queue, lambda adult: "dismissed" if adult in (101, 103, 105, 107, 109) else "actioned"
    )
    result = learn_from_decisions(read_messages(source), queue, load_model(None), n_splits=2)
    assert (result.comparison["conversations"], result.comparison["positives"]) == (12, 6)


def test_a_table_with_a_group_room_names_its_integer_ids_as_given() -> None:
    """The flag the fix rests on: integer conversation ids that a group room made text are
    named (``decimal_id_columns``) and given back as integers, whatever the table is cut
    to; pair ids stay text, and so does a written column that holds one (one Arrow type)."""
    msgs = read_messages(_columns(_events(6, 9)))
    assert msgs.decimal_id_columns == ("conversation_id",)
    assert given_conversation_ids(msgs.conversations) == [6, "9|3|4", "9|3|5"]
    assert {e["conversation_id"] for e in msgs.iter_events()} == {6, "9|3|4", "9|3|5"}
    assert msgs.to_arrow().schema.field("conversation_id").type == pa.string()
    assert read_messages(msgs.to_pandas()).conversations.tolist() == ["6", "9|3|4", "9|3|5"]
    direct = msgs.take_conversations([0])
    assert direct.to_arrow().column("conversation_id").to_pylist()[0] == 6
    text = read_messages(_columns(_events("6", "9")))
    assert (text.decimal_id_columns, given_conversation_ids(text.conversations)[0]) == ((), "6")


def _growing_room(room: object) -> list[Event]:
    """Room ``room`` of two accounts (adult 3 and child 4), where the child reports the
    adult, until a third account (5) writes the child: then a group room, the pair 3-4
    going on under its pair id (docs/online.md, "Group rooms and broadcasts")."""
    pair = [{**e, "event": "message"} for e in adult_child_messages(room, 3, 4, T0)[:6]]
    report = {**pair[1], "timestamp": T0 + 400, "event": "report"}
    third = {**pair[0], "timestamp": T0 + 500, "sender_id": 5, "sender_age": 41.0}
    later = {**pair[0], "timestamp": T0 + 560}
    return [*pair, report, third, later]


@pytest.mark.parametrize("order", ["score-then-stream", "stream-then-score"])
def test_a_rooms_alerts_and_report_before_it_grew_are_one_case_with_its_pair(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, order: str
) -> None:
    """Online, the alert and the report of room 9 while it held two accounts carry the
    room's id (documented), batch their pair's id ``"9|3|4"``: was one alert item and one
    report item under each. Now the alert under one id joins the open alert of the same
    two accounts under the other (room ``9`` and its pair ``9|3|4``), and the report is
    stored once: one case, under the id it was first filed with."""
    events = _growing_room(9)
    source = write_jsonl(tmp_path / "events.jsonl", events)
    policy, queue = tmp_path / "policy.toml", tmp_path / "queue.sqlite"
    policy.write_text(POLICY, encoding="utf-8")
    score = ["score", str(source), "--out", str(tmp_path / "out"), "--queue", str(queue)]
    steps = [
        lambda: main([*score, "--policy", str(policy)]) == 0,
        lambda: _stream(queue, policy, events, monkeypatch),
    ]
    for step in steps if order == "score-then-stream" else steps[::-1]:
        step()
    first = "9|3|4" if order == "score-then-stream" else 9
    with ReviewQueue(queue, create=False) as q:
        items = sorted(
            ((i.kind, i.conversation_id, i.adult_id, i.child_id, i.n_signals) for i in q.items()),
            key=repr,
        )
    assert [i for i in items if {i[2], i[3]} == {3, 4}] == [
        ("alert", first, 3, 4, 2),
        ("user_report", first, 3, 4, 1),
    ]


@pytest.mark.parametrize("source", ["events", "shadow-run"])
def test_decisions_on_a_rooms_case_filed_under_its_id_match_its_pair(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    source: str,
) -> None:
    """``stream --queue`` files room 9's pair 3-4 under the room's id (it alerted while
    the room held two accounts); batch scoring names that conversation ``"9|3|4"``. Was:
    the decision on it counted "about other conversations" by ``compare --queue``. Now it
    labels the pair (``DecisionLabels.on``)."""
    events = _growing_room(9)
    path = write_jsonl(tmp_path / "events.jsonl", events)
    policy, queue, out = tmp_path / "policy.toml", tmp_path / "queue.sqlite", tmp_path / "out"
    policy.write_text(POLICY, encoding="utf-8")
    _stream(queue, policy, events, monkeypatch)
    _decide_all(queue)
    if source == "events":
        args = ["default", "default", "--events", str(path), "--policy", str(policy)]
    else:
        score = ["score", str(path), "--out", str(out), "--policy", str(policy)]
        assert main([*score, "--shadow-model", "default"]) == 0
        args = ["--shadow-run", str(out)]
    capsys.readouterr()
    assert main(["compare", *args, "--queue", str(queue)]) == 0
    assert "2 actioned or escalated, 0 dismissed (0 about other conversations)" in (
        capsys.readouterr().out
    )


def test_learning_from_a_rooms_case_filed_under_its_id_labels_its_pair(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Was: ``learn_from_decisions`` refused the queue, "1 decided conversation(s) are not
    in the events (e.g. 9)". Now the case labels the pair ``"9|3|4"``."""
    conversations = [(k, 100 + k, 200 + k) for k in range(10)]
    events = sorted([*events_of(conversations), *_growing_room(9)], key=lambda e: e["timestamp"])
    source = write_jsonl(tmp_path / "events.jsonl", events)
    policy, queue = tmp_path / "policy.toml", tmp_path / "queue.sqlite"
    policy.write_text(POLICY, encoding="utf-8")
    _stream(queue, policy, events, monkeypatch)
    _decide_all(queue, lambda adult: "dismissed" if adult % 2 else "actioned")
    result = learn_from_decisions(read_messages(source), queue, load_model(None), n_splits=2)
    # 10 direct conversations and the room's two pairs; the even adults' cases actioned
    assert (result.comparison["conversations"], result.comparison["positives"]) == (12, 5)


@pytest.mark.parametrize("direct", [6, 2**64 + 1], ids=["group-room", "beyond-int64"])
def test_iter_reports_files_reports_under_the_ids_the_stream_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, direct: int
) -> None:
    """``iter_reports`` (the user reports of a table, for ``ReviewQueue.add_reports``) gave
    ``"6"`` where the table held the ids as text (a group room, or an id beyond int64), so
    its reports and a stream's were two cases. Now the ids as given."""
    events = _events(direct, 9)
    policy, queue = tmp_path / "policy.toml", tmp_path / "queue.sqlite"
    policy.write_text(POLICY, encoding="utf-8")
    _stream(queue, policy, events, monkeypatch)
    reports = list(iter_reports(read_messages(_columns(events))))
    assert [(r.conversation_id, r.reporter_id, r.reported_id) for r in reports] == [(direct, 2, 1)]
    with ReviewQueue(queue, create=False) as q:
        q.add_reports(reports)
        assert sum(i.kind == "user_report" for i in q.items()) == 1


def test_online_traffic_counts_a_tables_ids_of_a_file_with_a_group_room() -> None:
    """Guard of the integers given back: ``online_traffic`` replays the table's events
    (``iter_events``: conversation 6 as the integer 6) and still counts the ids
    ``read_messages`` gives (``"6"``), as before."""
    msgs = read_messages(_columns(_events(6, 9)))
    model = load_model(None)
    for counted in (msgs.conversations, list(msgs.conversations), [6, "9|3|4", "9|3|5"]):
        assert online_traffic(model, msgs, counted).counted.tolist() == [True] * 3
