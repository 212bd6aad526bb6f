"""The parts of ``riskscore serve`` below the routes: the timeline store and plot, the
request body, the scorer's and the queue's read-outs the service uses."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import riskscore as rs
from riskscore.exceptions import SchemaError
from riskscore.io.events import parse_event_fast
from riskscore.moderation import ReviewQueue
from riskscore.moderation.queue_db import decode_id, encode_id
from riskscore.policy import Alert, Tier
from riskscore.serve.body import parse_body
from riskscore.serve.metrics import ServeMetrics
from riskscore.serve.plot import _night_spans, timeline_svg
from riskscore.serve.security import RateLimiter
from riskscore.serve.service import ScoringService
from riskscore.serve.timeline import TimelineEvent, TimelineStore, _key

T0 = 1_767_225_600  # 2026-01-01 00:00 UTC: queue items are dated within the events' range

EVENT = {"conversation_id": "c1", "timestamp": 1_700_000_000, "sender_id": "a",
         "recipient_id": "k", "sender_age": 40, "recipient_age": 12, "channel": "public",
         "recipient_tz_offset_min": 60}  # fmt: skip


@given(st.one_of(st.integers(-(2**63), 2**63 - 1), st.text(max_size=40)))
def test_timeline_ids_are_encoded_as_the_queue_encodes_them(value: int | str) -> None:
    assert _key(value) == encode_id(value)
    assert decode_id(_key(value)) == value


def test_timeline_store_keeps_metadata_and_prunes(tmp_path: Path) -> None:
    store = TimelineStore(tmp_path / "t.sqlite", retention_s=100)
    events = [
        {**EVENT, "timestamp": 1_700_000_000 + i * 60, "channel": ch}
        for i, ch in enumerate(["public", "direct", "external"])
    ]
    store.add([parse_event_fast(e) for e in events])
    store.add([parse_event_fast({**EVENT, "conversation_id": 7})])
    kept = store.events_of("c1")
    assert [(e.timestamp, e.sender_id, e.channel, e.tz_offset_min) for e in kept] == [
        (1_700_000_000, "a", 0, 60), (1_700_000_060, "a", 2, 60), (1_700_000_120, "a", 5, 60)
    ]  # fmt: skip
    assert store.events_of(7)[0].timestamp == 1_700_000_000
    assert store.events_of("7") == []
    assert store.prune(1_700_000_130) == 2  # older than 100 s before the clock
    assert [e.timestamp for e in store.events_of("c1")] == [1_700_000_060, 1_700_000_120]
    assert store.events_of(7) == []
    store.close()


def test_timeline_rows_are_written_behind_and_a_failed_write_is_raised(tmp_path: Path) -> None:
    path = tmp_path / "t.sqlite"
    store = TimelineStore(path, write_every_s=3600)  # written only when asked
    store.add([parse_event_fast(EVENT)] * 3)

    def count() -> int:
        with sqlite3.connect(path) as other:
            return int(other.execute("SELECT COUNT(*) FROM events").fetchone()[0])

    assert count() == 0  # not on the request path
    store.flush()
    assert count() == 3
    store.add([parse_event_fast(EVENT)] * 2)
    assert len(store.events_of("c1")) == 5  # a reader waits for what is pending
    store.add([parse_event_fast(EVENT)])
    store.close()  # and so does closing
    assert count() == 6
    broken = TimelineStore(path, write_every_s=3600)
    with sqlite3.connect(path) as other:
        other.execute("DROP TABLE events")
    broken.add([parse_event_fast(EVENT)])
    with pytest.raises(RuntimeError, match=r"writing the timeline to .* failed: no such table"):
        broken.flush()
    with pytest.raises(RuntimeError, match="writing the timeline"):
        broken.add([parse_event_fast(EVENT)])
    with pytest.raises(RuntimeError, match="writing the timeline"):
        broken.close()


def test_night_spans_follow_the_childs_offset() -> None:
    day = 1_767_225_600  # 2026-01-01 00:00 UTC
    # UTC+2: the child's 22:00-06:00 is 20:00-04:00 UTC
    assert _night_spans(day + 12 * 3600, day + 36 * 3600, 120) == [
        (day + 20 * 3600, day + 28 * 3600)
    ]
    assert _night_spans(day + 21 * 3600, day + 22 * 3600, 0) == [(day + 22 * 3600, day + 22 * 3600)]


def test_timeline_plot_marks_moves_and_summarises() -> None:
    day = 1_767_225_600
    events = [TimelineEvent(day + i * 600, "a" if i % 2 == 0 else "k", ch, 0, 0)
              for i, ch in enumerate([0, 0, 2, 2, 5])]  # fmt: skip
    plot = timeline_svg(events, "a", "conversation 1 of 1")
    assert plot.svg.startswith("<svg")
    assert plot.channel_moves == 2
    assert "5 events" in plot.summary
    assert "3 from the adult" in plot.summary
    assert "highest channel external" in plot.summary
    empty = timeline_svg([], "a", "conversation 1 of 1")
    assert empty.n_events == 0
    assert "no events" in empty.summary


def test_an_unknown_offset_is_kept_unknown_and_shades_no_night(tmp_path: Path) -> None:
    store = TimelineStore(tmp_path / "t.sqlite")
    unknown = {k: v for k, v in EVENT.items() if k != "recipient_tz_offset_min"}
    store.add([parse_event_fast(unknown), parse_event_fast({**EVENT, "timestamp": 1_700_000_060})])
    assert [e.tz_offset_min for e in store.events_of("c1")] == [None, 60]  # never UTC
    store.close()
    day = 1_767_225_600
    events = [TimelineEvent(day + i * 3600, "a", 2, 0, None) for i in range(30)]
    plot = timeline_svg(events, "a", "conversation 1 of 1")
    assert "the child's clock is unknown, so no night is shaded" in plot.summary
    assert "UTC offset" not in plot.summary
    # the latest known offset of the events the child received is the child's clock
    events[3] = TimelineEvent(day + 3 * 3600, "a", 2, 0, 120)
    assert "child's UTC offset +120 min" in timeline_svg(events, "a", "c").summary


def test_body_refuses_what_is_not_utf8_or_json() -> None:
    with pytest.raises(SchemaError, match="not UTF-8"):
        parse_body(b"\xff", "application/json")
    with pytest.raises(SchemaError, match="not JSON"):
        parse_body(b"[1,", "application/json")
    assert [i.index for i in parse_body(b"{}\r\n\n{}\n", "application/jsonl")] == [0, 2]


def test_rate_limiter_counts_each_key_apart() -> None:
    limiter = RateLimiter(attempts=1, window_s=10)
    limiter.fail("name:a", now=0)
    assert not limiter.allowed("name:a", now=1)
    assert limiter.allowed("name:b", now=1)
    limiter.reset("name:a")
    assert limiter.allowed("name:a", now=2)


def test_scorer_read_outs_for_the_service() -> None:
    scorer = rs.OnlineScorer(rs.load_model())
    scorer.update_one(EVENT)
    scorer.update_one({**EVENT, "timestamp": EVENT["timestamp"] + 5, "channel": "direct"})
    live = scorer.conversation_of("c1")
    assert (live.adult_id, live.child_id, live.n_events) == ("a", "k", 2)
    assert live.last_timestamp == EVENT["timestamp"] + 5
    assert scorer.channel_of("c1") == "direct"
    with pytest.raises(KeyError):
        scorer.conversation_of("nope")


def test_queue_depth_read_outs(tmp_path: Path) -> None:
    with ReviewQueue(tmp_path / "q.sqlite") as q:
        q.add_alert(Alert(1, "a", "k", 12.0, "under 13", 0.9, Tier.URGENT), at=T0 + 100)
        q.add_alert(Alert(2, "b", "k2", 15.0, "13-15", 0.4, Tier.REVIEW), at=T0 + 200)
        q.add_alert(Alert(3, "b", "k3", 15.0, "13-15", 0.4, Tier.REVIEW), at=T0 + 300)
        assert q.open_counts() == {("under 13", 2): 1, ("13-15", 1): 2}
        assert sorted(q.open_created_at()) == [T0 + 100, T0 + 200, T0 + 300]


@pytest.mark.parametrize("batches", [{"a": 1}, [["id", "200", {}]], [["id", 200]], "x"])
def test_malformed_batch_ids_in_a_checkpoint_are_refused(tmp_path: Path, batches: object) -> None:
    scorer = rs.OnlineScorer(rs.load_model())
    scorer.checkpoint_extra = {"batches": batches}
    with ReviewQueue(tmp_path / "q.sqlite") as q, pytest.raises(rs.CheckpointError):
        ScoringService(scorer, q, None, ServeMetrics(lambda: q, lambda: 0))
