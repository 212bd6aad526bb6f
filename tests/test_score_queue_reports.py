"""``riskscore score --queue`` files each ``report`` event of the file as a user report (a
child's first in the queue), as ``stream`` and ``serve`` do; in memory and out of core
alike, and once however often the same file is scored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
from _groups import with_group_rooms

import riskscore as rs
from riskscore.batch.out_of_core import score_parquet
from riskscore.batch.reports import ReportEvents
from riskscore.batch.score import score_events
from riskscore.cli import main
from riskscore.synthetic import generate_parquet


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path, _ = generate_parquet(tmp_path_factory.mktemp("ev") / "events.parquet", 3000, seed=11)
    return path


def _reports(db: Path) -> list[tuple[Any, ...]]:
    queue = rs.ReviewQueue(db)
    try:
        items = [i for i in queue.items() if i.kind == "user_report"]
    finally:
        queue.close()
    return sorted(
        (str(i.conversation_id), str(i.adult_id), str(i.child_id), i.created_at,
         i.concerns_child, round(i.risk, 12))
        for i in items
    )  # fmt: skip


def test_report_events_are_queued_in_memory_and_out_of_core_alike(
    events: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = pq.read_table(events, columns=["event", "conversation_id", "sender_id", "timestamp"])
    is_report = np.asarray(table.column("event").to_pylist()) == "report"
    reported = {
        (c, s, t)
        for c, s, t, r in zip(
            *(table.column(n).to_pylist() for n in ("conversation_id", "sender_id", "timestamp")),
            is_report,
            strict=True,
        )
        if r
    }
    assert len(reported) > 5  # the synthetic file has reports, some from children

    memory, chunked = tmp_path / "memory.sqlite", tmp_path / "chunked.sqlite"
    assert main(["score", str(events), "--out", str(tmp_path / "m"), "--queue", str(memory)]) == 0
    assert "user report" in capsys.readouterr().out
    argv = ["score", str(events), "--out", str(tmp_path / "c"), "--queue", str(chunked)]
    assert main([*argv, "--chunk-rows", "20000"]) == 0
    queued = _reports(memory)
    assert queued == _reports(chunked)
    assert len(queued) == len(reported)
    assert {(c, a, t) for c, _, a, t, _, _ in queued} == {
        (str(c), str(s), t) for c, s, t in reported
    }
    assert any(from_child for *_, from_child, _ in queued)
    assert any(risk > 0 for *_, risk in queued)  # each with its conversation's risk

    # the same file again: every report is queued once
    assert main([*argv, "--chunk-rows", "20000"]) == 0
    assert _reports(chunked) == queued


def _spy_on_reports(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Each call of ``ReportEvents.with_scores``: the number of reports it was given."""
    calls: list[int] = []
    with_scores = ReportEvents.with_scores

    def spy(self: ReportEvents, scores: Any) -> ReportEvents:
        calls.append(len(self))
        return with_scores(self, scores)

    monkeypatch.setattr(ReportEvents, "with_scores", spy)
    return calls


def test_each_chunk_looks_up_its_own_reports_only(
    events: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _spy_on_reports(monkeypatch)
    result = score_parquet(events, tmp_path / "c", chunk_rows=5_000)
    assert result.n_chunks > 5
    assert len(result.reports) > 5
    # every report is given its risk once, in its own chunk (not every report in every chunk)
    assert sum(calls) == len(result.reports)
    assert not np.isnan(result.reports.risk).any()


@pytest.mark.parametrize("chunk", [[], ["--chunk-rows", "20000"]], ids=["memory", "chunked"])
def test_no_risk_lookup_without_a_queue(
    events: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: list[str]
) -> None:
    calls = _spy_on_reports(monkeypatch)
    assert main(["score", str(events), "--out", str(tmp_path / "o"), *chunk]) == 0
    assert calls == []  # no --queue: nothing consumes the reports
    assert main(["score", str(events), "--out", str(tmp_path / "q"), *chunk,
                 "--queue", str(tmp_path / "q.sqlite")]) == 0  # fmt: skip
    assert sum(calls) > 5


def test_reports_of_a_file_with_group_rooms_alike_in_memory_and_out_of_core(
    events: Path, tmp_path: Path
) -> None:
    """Group rooms make every conversation id text: each chunk's reports get their ids as
    its scores have them, so out of core finds the same risks as in memory."""
    path = tmp_path / "rooms.parquet"
    pq.write_table(with_group_rooms(rs.read_messages(events), every=40), path)
    memory = score_events(path, tmp_path / "m").reports
    chunked = score_parquet(path, tmp_path / "c", chunk_rows=5_000)
    assert chunked.n_chunks > 5
    got = chunked.reports
    assert len(memory) == len(got) > 5
    assert memory.conversation_id.dtype == got.conversation_id.dtype == object
    order_m = np.lexsort((memory.timestamp, memory.conversation_id.astype(str)))
    order_c = np.lexsort((got.timestamp, got.conversation_id.astype(str)))
    assert memory.conversation_id[order_m].tolist() == got.conversation_id[order_c].tolist()
    assert not np.isnan(got.risk).any()
    np.testing.assert_allclose(memory.risk[order_m], got.risk[order_c], rtol=0, atol=1e-12)
