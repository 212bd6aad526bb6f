"""Hostile review hr70c: batch alerts into the review queue through the Python API, as a
platform engineer writes it.

hr68k and hr69a made ``riskscore score --queue`` file integer ids held as decimal text (a
group room's pair ids beside them, or an id beyond int64) as the integers the online scorer
holds. A library user who queues a batch result's alerts directly
(``ReviewQueue.add_alerts(result.alerts)``) still filed conversation 6 as ``"6"``, so the
online scorer's alert on 6 opened a second case. All data is synthetic.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from case_helpers import POLICY, Event, events_of, room_of_three, write_jsonl

from riskscore.batch import score_events, score_parquet
from riskscore.cli import main
from riskscore.moderation import ReviewQueue
from riskscore.policy import AlertPolicy


def _stream(queue: Path, policy: Path, events: list[Event], mp: pytest.MonkeyPatch) -> None:
    """``riskscore stream --queue QUEUE`` of ``events``: the cases under the online ids."""
    mp.setattr("sys.stdin", io.StringIO("".join(json.dumps(e) + "\n" for e in events)))
    stream = ["stream", "--policy", str(policy), "--queue", str(queue)]
    assert main([*stream, "--time-source", "events"]) == 0


def _items(queue: Path) -> list[tuple[str, object, object, object]]:
    with ReviewQueue(queue, create=False) as q:
        return sorted(
            ((i.kind, i.conversation_id, i.adult_id, i.child_id) for i in q.items()), key=repr
        )


CASES = {
    # a group room makes every conversation id text, "6" beside "9|3|4"
    "group-room": (6, 1, [*events_of([(6, 1, 2)]), *room_of_three(9, 3, 4, 5)]),
    # an adult account beyond int64 makes every account id text
    "account-beyond-int64": (6, 2**63 + 3, events_of([(6, 2**63 + 3, 2)])),
}


@pytest.mark.parametrize("source", ["in-memory", "out-of-core"])
@pytest.mark.parametrize("case", list(CASES))
def test_a_batch_results_alerts_queued_directly_join_the_online_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str, case: str
) -> None:
    """``ReviewQueue.add_alerts(result.alerts)`` of ``score_events`` (in memory) or
    ``score_parquet`` (out of core) after ``riskscore stream --queue`` of the same events.
    Was: ``("alert", "6", 1, 2)`` (or adult ``"9223372036854775811"``) beside the
    stream's alert under the integers: two cases for one conversation (and one adult).
    Now the result's alerts carry the ids as given and join the stream's items; the alerts
    file holds conversation 6 as 6 too since hr72a (accounts beyond int64 as decimal
    text)."""
    conversation, adult, events = CASES[case]
    events = sorted(events, key=lambda e: e["timestamp"])
    policy_path, queue = tmp_path / "policy.toml", tmp_path / "queue.sqlite"
    policy_path.write_text(POLICY, encoding="utf-8")
    policy = AlertPolicy.from_toml(policy_path)
    _stream(queue, policy_path, events, monkeypatch)
    streamed = _items(queue)
    assert ("alert", conversation, adult, 2) in streamed
    if source == "in-memory":
        path = write_jsonl(tmp_path / "events.jsonl", events)
        result = score_events(path, tmp_path / "out", policy=policy, fmt="jsonl")
    else:
        columns = {k: [e.get(k) for e in events] for k in events[0]}
        types = {"sender_id": pa.uint64(), "recipient_id": pa.uint64()} if adult > 2**63 else {}
        table = pa.table({k: pa.array(v, types.get(k)) for k, v in columns.items()})
        pq.write_table(table, tmp_path / "events.parquet")
        result = score_parquet(
            tmp_path / "events.parquet", tmp_path / "out", policy=policy, chunk_rows=7, fmt="jsonl"
        )
    assert (conversation, adult) in {(a.conversation_id, a.adult_id) for a in result.alerts}
    with ReviewQueue(queue, create=False) as q:
        q.add_alerts(result.alerts)
    assert _items(queue) == streamed
    written = (tmp_path / "out" / "alerts.jsonl").read_text(encoding="utf-8")
    # the file holds conversation 6 as the online scorer does (hr72a), accounts beyond
    # int64 as decimal text
    held = '"conversation_id":6,' if case == "group-room" else f'"adult_id":"{adult}"'
    assert held in written


def test_text_ids_of_a_batch_result_stay_text(tmp_path: Path) -> None:
    """Guard: text ids (``"6"`` beside a room ``"9"``) stay text in a result's alerts."""
    events = sorted(
        [*events_of([("6", 1, 2)]), *room_of_three("9", 3, 4, 5)], key=lambda e: e["timestamp"]
    )
    policy_path = tmp_path / "policy.toml"
    policy_path.write_text(POLICY, encoding="utf-8")
    path = write_jsonl(tmp_path / "events.jsonl", events)
    policy = AlertPolicy.from_toml(policy_path)
    result = score_events(path, tmp_path / "out", policy=policy, fmt="jsonl")
    assert sorted(a.conversation_id for a in result.alerts) == ["6", "9|3|4"]
