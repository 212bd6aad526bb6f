"""Hostile files: every reader returns a table or raises :class:`riskscore.SchemaError`
(empty, ragged, truncated, garbage, free text never quoted), and the CSVs the score
command writes escape formula ids.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from io_hostile_helpers import (
    T0,
    forty_adults,
)

import riskscore as rs
from riskscore.io.schema import MAX_JSON_DEPTH

# ---------------------------------------------------------------- a result or a SchemaError


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\n\n",
        b"conversation_id,timestamp\n1,2,3,4\n",
        b"PAR1\x00\x00garbage",
        b"\x89PNG\r\n\x1a\n\x00\x00",
    ],
)
@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".json", ".parquet"])
def test_empty_ragged_or_garbage_files_raise_schema_errors_naming_the_file(
    tmp_path: Path, content: bytes, suffix: str
) -> None:
    path = tmp_path / f"events{suffix}"
    path.write_bytes(content)
    for errors in ("raise", "quarantine"):
        with pytest.raises(rs.SchemaError):
            rs.read_messages(path, errors=errors)  # type: ignore[arg-type]


def test_a_ragged_csv_row_is_not_quoted_in_the_error(tmp_path: Path) -> None:
    # Arrow's parse error quotes the row, whose extra cell may be message text
    path = tmp_path / "events.csv"
    path.write_text(
        "conversation_id,timestamp,sender_id,recipient_id,channel\n"
        "1,1714521600,a,b,direct,see you tonight\n"
    )
    with pytest.raises(rs.SchemaError, match="line 2: 6 cells where the header has 5") as info:
        rs.read_messages(path)
    assert "tonight" not in str(info.value)
    assert "tonight" not in repr(info.value.__cause__)  # nor in a chained error


SENTENCE = "see you at 9 dont tell anyone"


@pytest.mark.parametrize("column", ["event", "channel"])
def test_free_text_in_a_category_column_is_never_quoted_or_copied(
    tmp_path: Path, column: str
) -> None:
    events = {
        "conversation_id": [1, 1],
        "timestamp": [T0, T0 + 1],
        "sender_id": ["a", "b"],
        "recipient_id": ["b", "a"],
        "channel": ["direct", "direct"],
        "event": ["message", "message"],
    }
    events[column] = [events[column][0], SENTENCE]
    with pytest.raises(rs.SchemaError, match=r"row 1: text of 29 characters \(not shown") as e:
        rs.read_messages(events)
    assert "tonight" not in str(e.value)
    assert "anyone" not in str(e.value)
    assert "anyone" not in repr(e.value.value)
    kept = rs.read_messages(events, errors="quarantine")
    assert kept.quarantined.value == (None,)  # not copied
    assert kept.quarantined.column == (column,)
    # a category-like token is still shown, so a typo can be found
    events[column] = [events[column][0], "privat"]
    with pytest.raises(rs.SchemaError, match="'privat'"):
        rs.read_messages(events)
    # online: the same rule
    scorer = rs.OnlineScorer(rs.load_model())
    event = {k: v[1] for k, v in events.items()} | {column: SENTENCE}
    with pytest.raises(rs.SchemaError, match="not shown") as online:
        scorer.update_one(event)
    assert "anyone" not in str(online.value)


def test_truncated_parquet_and_a_footer_claiming_2_gb_are_schema_errors(tmp_path: Path) -> None:
    good = tmp_path / "good.parquet"
    events = forty_adults()
    events["sender_id"] = [str(v) for v in events["sender_id"]]
    pq.write_table(pa.table(events), good)
    data = good.read_bytes()
    (tmp_path / "cut.parquet").write_bytes(data[: len(data) // 2])
    huge = data[:-8] + (2**31 - 1).to_bytes(4, "little") + b"PAR1"
    (tmp_path / "huge.parquet").write_bytes(huge)
    for name in ("cut.parquet", "huge.parquet"):
        with pytest.raises(rs.SchemaError, match=name):
            rs.read_messages(tmp_path / name)


def test_duplicate_csv_columns_are_a_schema_error(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text(
        f"conversation_id,timestamp,sender_id,sender_id,recipient_id,channel\n1,{T0},a,b,c,direct\n"
    )
    with pytest.raises(rs.SchemaError, match="'sender_id' appears twice"):
        rs.read_messages(path)


def test_huge_numbers_are_schema_errors_or_quarantined() -> None:
    huge = 10**400
    for column in ("sender_age", "timestamp", "recipient_tz_offset_min"):
        events: dict[str, list[Any]] = {
            "conversation_id": [1, 1],
            "timestamp": [T0, T0 + 1],
            "sender_id": ["a", "b"],
            "recipient_id": ["b", "a"],
            "channel": ["direct", "direct"],
        }
        events[column] = [events.get(column, [0, 0])[0], huge]
        with pytest.raises(rs.SchemaError) as info:
            rs.read_messages(events)
        assert (info.value.column, info.value.row) == (column, 1)
        msgs = rs.read_messages(events, errors="quarantine")
        assert (len(msgs), len(msgs.quarantined)) == (1, 1)


def test_broken_json_lines_are_quarantined_and_the_rest_kept(tmp_path: Path) -> None:
    good = {
        "conversation_id": 1,
        "timestamp": T0,
        "sender_id": "a",
        "recipient_id": "b",
        "channel": "direct",
    }
    lines = [
        json.dumps(good),
        "[1, 2]",
        "5",
        '{"conversation_id": 1, "timest',
        json.dumps({**good, "extra": "[" * 5}),  # brackets inside a string are fine
        json.dumps({**good, "ignored": json.loads("[" * 100 + "]" * 100)}),
        '{"ignored": ' + "[" * 100_000 + "]" * 100_000 + "}",
        json.dumps({**good, "timestamp": T0 + 5}),
    ]
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(rs.SchemaError, match="line") as info:
        rs.read_messages(path)
    assert info.value.row == 1
    msgs = rs.read_messages(path, errors="quarantine")
    assert len(msgs) + len(msgs.quarantined) == len(lines)
    assert msgs.quarantined.row.tolist() == [1, 2, 3, 5, 6]
    assert any(f"deeper than {MAX_JSON_DEPTH}" in r for r in msgs.quarantined.reason)


def test_a_json_file_holding_an_array_is_a_schema_error(tmp_path: Path) -> None:
    path = tmp_path / "events.json"
    path.write_text(json.dumps([{"conversation_id": 1}, {"conversation_id": 2}]))
    with pytest.raises(rs.SchemaError, match="not an object"):
        rs.read_messages(path)


# ---------------------------------------------------------------- CSV outputs


def test_formula_ids_are_escaped_in_every_csv_the_score_command_writes(tmp_path: Path) -> None:
    from riskscore.batch.out_of_core import score_parquet
    from riskscore.cli import main

    data = rs.synthetic.generate(300, prevalence=0.1, seed=5)
    events = data.messages.to_pandas()
    formula = "=cmd|'/C calc'!A0"  # (with ' /C' it is three words: refused as a sentence)
    mapping = {c: f"{formula}{i}" for i, c in enumerate(sorted(set(events["conversation_id"])))}
    events["conversation_id"] = events["conversation_id"].map(mapping)
    accounts = {a: f"@{a}" if i % 2 else f"+{a}" for i, a in enumerate(sorted(
        set(events["sender_id"]) | set(events["recipient_id"])))}  # fmt: skip
    events["sender_id"] = events["sender_id"].map(accounts)
    events["recipient_id"] = events["recipient_id"].map(accounts)
    path = tmp_path / "events.parquet"
    pq.write_table(pa.Table.from_pandas(events, preserve_index=False), path)
    assert main(["score", str(path), "--out", str(tmp_path / "mem"), "--format", "csv"]) == 0
    score_parquet(path, tmp_path / "ooc", fmt="csv", chunk_rows=2_000)
    written = [*(tmp_path / "mem").glob("*.csv"), *(tmp_path / "ooc").glob("*.csv")]
    assert len(written) == 4
    n_alert_rows = 0
    for csv_path in written:
        frame = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
        for column in ("conversation_id", "adult_id", "child_id"):
            if column in frame:
                cells = frame[column].tolist()
                assert all(c.startswith("'") for c in cells), (csv_path.name, cells[:3])
                n_alert_rows += len(cells) if column == "adult_id" else 0
    assert n_alert_rows > 0
