"""Hostile review 97: per-account history and scoring in parts. A file beside the accounts
file that a clean run removed, one long conversation chunked in quadratic time, and what
``riskscore accounts`` reports."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import riskscore as rs
from riskscore.batch.parquet_chunks import sorted_chunks
from riskscore.cli import main


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("events") / "events.parquet"
    rs.write_messages(rs.synthetic.generate(400, prevalence=0.05, seed=5).messages, out)
    return out


@pytest.mark.parametrize("kind", ["notes", "folder"])
def test_a_file_beside_the_output_that_riskscore_did_not_write_is_left_alone(
    tmp_path: Path, events: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    # A clean run removed history.quarantine.jsonl, whatever it was, exit 0.
    theirs = tmp_path / "history.quarantine.jsonl"
    if kind == "notes":
        theirs.write_text("moderator notes, not riskscore's\n")
    else:
        theirs.mkdir()
    assert main(["accounts", str(events), "--out", str(tmp_path / "history.parquet")]) == 2
    assert "is not a riskscore quarantine file" in capsys.readouterr().err
    assert theirs.exists()
    assert not (tmp_path / "history.parquet").exists()


def test_an_earlier_runs_quarantine_file_is_still_removed_by_a_clean_run(
    tmp_path: Path, events: Path
) -> None:
    earlier = tmp_path / "history.quarantine.jsonl"
    record = {"row": 3, "line": 4, "conversation_id": 1, "column": "channel", "value": "x"}
    earlier.write_text(json.dumps({**record, "reason": "is not recognised"}) + "\n")
    assert main(["accounts", str(events), "--out", str(tmp_path / "history.parquet")]) == 0
    assert not earlier.exists()


def test_accounts_reports_group_rooms_and_broadcasts_as_score_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [  # a room of 4 (split into pairs) and a broadcast to a room of 40
        {"conversation_id": "room", "timestamp": 1767225600 + i, "sender_id": "a",
         "recipient_id": r, "channel": "group", "room_size": size}
        for i, (r, size) in enumerate([("b", 4), ("c", 4), ("d", 4), ("k0", 40), ("k1", 40)])
    ]  # fmt: skip
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    argv = ["accounts", str(path), "--out", str(tmp_path / "acc.parquet"), "--json"]
    assert main(argv) == 0
    groups = json.loads(capsys.readouterr().out)["groups"]
    assert any("split into" in line for line in groups)
    assert any("set aside as broadcasts" in line for line in groups)


def test_accounts_out_under_a_file_names_a_file(
    tmp_path: Path, events: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "afile").write_text("x")
    out = tmp_path / "afile" / "acc.parquet"
    assert main(["accounts", str(events), "--out", str(out)]) == 2
    assert "--out names a file in one" in capsys.readouterr().err


def test_one_long_conversation_is_chunked_whole_and_in_one_piece(tmp_path: Path) -> None:
    # Each batch joined the carried rows again: 6.4M events of one conversation took 233 s.
    n = 5_000
    ids = np.concatenate([np.zeros(n), np.ones(7), np.full(3, 2)]).astype(np.int64)
    table = pa.table({
        "conversation_id": ids,
        "timestamp": 1767225600 + np.arange(len(ids)),
        "sender_id": np.where(np.arange(len(ids)) % 2 == 0, 1, 2),
        "recipient_id": np.where(np.arange(len(ids)) % 2 == 0, 2, 1),
        "channel": ["direct"] * len(ids),
    })  # fmt: skip
    path = tmp_path / "one.parquet"
    pq.write_table(table, path, row_group_size=100)
    chunks = list(sorted_chunks(path, 100))
    assert sum(c.num_rows for c in chunks) == len(ids)
    held = [np.unique(c.column("conversation_id").to_numpy()) for c in chunks]
    assert sorted(np.concatenate(held).tolist()) == [0, 1, 2]  # each in one chunk, whole
    assert held[0][0] == 0
    assert chunks[0].num_rows >= n
