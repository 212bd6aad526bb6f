"""Hostile review hr68k: one conversation is one review case, whichever path scored it,
with integer ids beyond int64.

Batch scoring (``riskscore score``, in memory or out of core) holds every integer id of a
column as decimal text once one is beyond int64 (docs/schema.md), where the online scorer
(``riskscore stream``, ``serve``) holds each as that integer. The review queue files a
case by its conversation id, so ``score --queue`` and ``stream --queue`` of the same
events opened every conversation twice (``"6"`` and ``6``), and a moderator's decision on
one never matched the other. All data is synthetic.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Final

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from case_helpers import POLICY, assert_compare_matches_both_decisions, events_of, score_then_stream

from riskscore import read_messages
from riskscore.batch.score import load_model
from riskscore.batch.shadow import read_shadow_run
from riskscore.cli import main
from riskscore.exceptions import SchemaError
from riskscore.moderation import ReviewQueue
from riskscore.moderation.learning import learn_from_decisions

BIG: Final = 2**63 + 1  # beyond int64, within uint64 (a Parquet file holds it)


@pytest.mark.parametrize(
    "conversations",
    [
        [(6, 1, 2), (2**64 + 1, 3, 4)],  # a conversation id beyond int64
        [(6, 1, 2), (7, 2**64 + 3, 4)],  # an account id beyond int64
    ],
    ids=["conversation", "account"],
)
def test_score_and_stream_of_the_same_events_queue_one_case_per_conversation(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    conversations: list[tuple[object, object, object]],
) -> None:
    """Was: 4 alert items for 2 conversations (``"6"`` from score, ``6`` from stream),
    and each user report twice. Now the stream's alerts merge into the items score opened
    (its reports are already there), whose ids are the integers given."""
    events = events_of(conversations)
    source = tmp_path / "events.jsonl"
    source.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    items = score_then_stream(tmp_path, monkeypatch, events, source)
    assert "0 new items from 2 alerts" in capsys.readouterr().err  # the stream's line
    alerts = [i for i in items if i[0] == "alert"]
    assert sorted(i[1:] for i in alerts) == sorted(conversations)
    assert all(type(v) is int for item in items for v in item[1:] if v is not None)
    assert len(items) == 2 * len(conversations)  # one alert and one user report each


def test_out_of_core_score_and_stream_queue_one_case_per_conversation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same through ``riskscore score --chunk-rows`` of a Parquet file of uint64 ids,
    whose ids out of core are decimal text in every chunk."""
    conversations: list[tuple[object, object, object]] = [(6, 1, 2), (BIG, BIG + 2, 4)]
    events = events_of(conversations)
    source = tmp_path / "events.parquet"
    types = {"conversation_id": pa.uint64(), "sender_id": pa.uint64(), "recipient_id": pa.uint64()}
    table = pa.table({k: pa.array([e[k] for e in events], types.get(k)) for k in events[0]})
    pq.write_table(table, source)
    items = score_then_stream(tmp_path, monkeypatch, events, source)
    alerts = [i[1:] for i in items if i[0] == "alert"]
    assert sorted(alerts) == sorted(conversations)
    assert len(items) == 4


def test_text_ids_that_read_as_integers_stay_text_in_the_queue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Guard: text ids (``"6"``, ``"007"``) are never made integers, by either path."""
    conversations: list[tuple[object, object, object]] = [("6", "007", "7"), ("07", "1", "2")]
    events = events_of(conversations)
    source = tmp_path / "events.jsonl"
    source.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    items = score_then_stream(tmp_path, monkeypatch, events, source)
    assert sorted(i[1:] for i in items if i[0] == "alert") == sorted(conversations)
    assert len(items) == 4


def _decide_all(queue: Path) -> None:
    """A moderator actions every open case."""
    with ReviewQueue(queue, create=False) as q:
        for adult in sorted({i.adult_id for i in q.items()}, key=repr):
            shown = q.case(adult)
            assert shown is not None
            q.decide(adult, "actioned", moderator="m1", token=shown.token)


@pytest.mark.parametrize("chunked", [False, True], ids=["in-memory", "out-of-core"])
def test_compare_matches_decisions_on_a_batch_queue_with_ids_beyond_int64(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], chunked: bool
) -> None:
    """Decisions made on the queue ``score --queue`` filled (now under the integers
    given) match the conversations of ``compare --shadow-run`` (the run's summary names
    the columns held as decimal text) and of ``compare --events`` (the events' table
    does): 2 actioned, none "about other conversations"."""
    events = events_of([(6, 1, 2), (BIG, 3, 4)])
    source = tmp_path / ("events.parquet" if chunked else "events.jsonl")
    if chunked:
        types = {"conversation_id": pa.uint64()}
        pq.write_table(
            pa.table({k: pa.array([e[k] for e in events], types.get(k)) for k in events[0]}),
            source,
        )
    else:
        source.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    policy, queue, out = tmp_path / "policy.toml", tmp_path / "queue.sqlite", tmp_path / "out"
    policy.write_text(POLICY, encoding="utf-8")
    score = ["score", str(source), "--out", str(out), "--queue", str(queue), "--format", "jsonl"]
    options = ["--policy", str(policy), "--shadow-model", "default"]
    assert main([*score, *options, *(["--chunk-rows", "7"] if chunked else [])]) == 0
    _decide_all(queue)
    assert_compare_matches_both_decisions(capsys, out, queue, source, policy)


def test_a_shadow_summary_naming_other_columns_as_decimal_is_refused_by_name(
    tmp_path: Path,
) -> None:
    """A hand-edited ``decimal_id_columns`` that is no list of id columns is refused,
    naming the file and the key, never read as some other id kind."""
    events = events_of([(6, 1, 2)])
    source = tmp_path / "events.jsonl"
    source.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["score", str(source), "--out", str(out), "--shadow-model", "default"]) == 0
    summary_path = out / "shadow" / "shadow.json"
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    assert "decimal_id_columns" not in summary  # written only when an id is beyond int64
    summary["decimal_id_columns"] = ["timestamp"]
    summary_path.write_text(json.dumps(summary), encoding="utf-8")
    with pytest.raises(SchemaError, match="'decimal_id_columns' must be a list of"):
        read_shadow_run(out)


def test_learning_from_a_batch_queue_with_ids_beyond_int64_finds_its_conversations(
    tmp_path: Path,
) -> None:
    """Was (once ``score --queue`` queued integers, and always for ``stream --queue``):
    ``learn_from_decisions`` refused the queue, "decided conversation(s) are not in the
    events", because the events' features hold the ids as decimal text. Now the decisions
    label the conversations they were made on."""
    conversations: list[tuple[object, object, object]] = [
        (2**64 + k if k == 0 else k, 100 + k, 200 + k) for k in range(10)
    ]
    events = events_of(conversations)
    source = tmp_path / "events.jsonl"
    source.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    policy, queue = tmp_path / "policy.toml", tmp_path / "queue.sqlite"
    policy.write_text(POLICY, encoding="utf-8")
    score = ["score", str(source), "--out", str(tmp_path / "out"), "--queue", str(queue)]
    assert main([*score, "--policy", str(policy)]) == 0
    with ReviewQueue(queue, create=False) as q:
        for k, adult in enumerate(range(100, 110)):
            shown = q.case(adult)
            assert shown is not None
            outcome = "actioned" if k % 2 == 0 else "dismissed"
            q.decide(adult, outcome, moderator="m1", token=shown.token)
    result = learn_from_decisions(read_messages(source), queue, load_model(None), n_splits=2)
    assert (result.comparison["conversations"], result.comparison["positives"]) == (10, 5)
