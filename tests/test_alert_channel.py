"""Every alert carries the most private channel its conversation reached (``max_channel``),
and the review queue keeps it whichever command queued it.

Was: ``riskscore score --queue`` (in memory or out of core) and ``riskscore stream --queue``
queued their alerts with no channel, so the transparency report counted every such alert
under "unknown" channel and every NCMEC draft read "most private channel reached: unknown"
although the scores said ``ephemeral``; only ``serve`` and the simulated month passed it.
"""

from __future__ import annotations

import io
import json
import math
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import riskscore as rs
from riskscore.batch.shadow import read_alert_ids
from riskscore.cli import main
from riskscore.io.schema import CHANNEL_NAMES, channel_at_level
from riskscore.policy import ALERT_FIELDS, LATER_ALERT_FIELDS


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("channel") / "events.parquet"
    rs.write_messages(rs.synthetic.generate(800, prevalence=0.1, seed=5).messages, path)
    return path


@pytest.fixture(scope="module")
def reached(events: Path) -> dict[object, str | None]:
    """Each conversation's most private channel, from the batch features."""
    features = rs.extract_features(rs.read_messages(events))
    levels = features.column("max_channel")
    ids = features.conversation_id.tolist()
    return {cid: channel_at_level(level) for cid, level in zip(ids, levels, strict=True)}


def _queued_channels(db: Path) -> dict[object, str | None]:
    with rs.ReviewQueue(db) as queue:
        return {i.conversation_id: i.channel for i in queue.items() if i.kind == "alert"}


@pytest.mark.parametrize("chunked", [False, True])
def test_score_queues_each_alert_with_its_channel(
    events: Path, reached: dict[object, str | None], tmp_path: Path, chunked: bool
) -> None:
    db, out = tmp_path / "q.sqlite", tmp_path / "out"
    argv = ["score", str(events), "--out", str(out), "--top", "0", "--queue", str(db)]
    assert main([*argv, *(["--chunk-rows", "5000"] if chunked else [])]) == 0
    alerts = pq.read_table(out / "alerts.parquet").to_pylist()
    assert alerts
    written = {a["conversation_id"]: a["max_channel"] for a in alerts}
    assert written == {cid: reached[cid] for cid in written}
    assert all(channel in CHANNEL_NAMES for channel in written.values())
    assert _queued_channels(db) == written


def test_stream_queues_each_alert_with_its_channel(
    events: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    lines = "".join(json.dumps(e) + "\n" for e in rs.read_messages(events).iter_events())
    monkeypatch.setattr(sys, "stdin", io.StringIO(lines))
    db = tmp_path / "q.sqlite"
    assert main(["stream", "--queue", str(db), "--max-future-s", "inf"]) == 0
    streamed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert streamed
    assert all(a["max_channel"] in CHANNEL_NAMES for a in streamed)
    latest = {a["conversation_id"]: a["max_channel"] for a in streamed}
    queued = _queued_channels(db)
    assert set(queued) == set(latest)
    assert None not in queued.values()


def test_the_channel_is_the_one_reached_when_the_alert_was_raised() -> None:
    """Online, an alert's channel is its conversation's at that event, not a later one's."""
    scorer = rs.OnlineScorer(rs.load_model(), max_future_s=math.inf)
    t0, alerts = 1_767_225_600, []
    base = {"conversation_id": 1, "sender_id": "a", "recipient_id": "c", "sender_age": 34,
            "recipient_age": 11, "recipient_tz_offset_min": 0}  # fmt: skip
    for k, (channel, kind) in enumerate(
        [("public", "contact_request"), ("direct", "message"), ("encrypted", "message")] * 8
    ):
        event = {**base, "timestamp": t0 + 22 * 3600 + 60 * k, "channel": channel, "event": kind}
        alerts += scorer.update_one_all(event)
    assert alerts
    assert all(a.max_channel == scorer.channel_of(1) == "encrypted" for a in alerts[-1:])
    assert {a.to_dict()["max_channel"] for a in alerts} <= set(CHANNEL_NAMES)


def test_an_alerts_file_written_before_max_channel_is_still_an_alerts_file(
    events: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    assert main(["score", str(events), "--out", str(out), "--top", "0"]) == 0
    table = pq.read_table(out / "alerts.parquet")
    assert table.column_names == list(ALERT_FIELDS)
    earlier = tmp_path / "earlier.parquet"
    pq.write_table(table.drop_columns(list(LATER_ALERT_FIELDS)), earlier)
    assert read_alert_ids(earlier) == table.column("conversation_id").to_pylist()
