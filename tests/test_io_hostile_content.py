"""Hostile input to :func:`riskscore.read_messages`: content-like columns are refused under
any spelling or nesting and never loaded; timestamps without a time or with nanoseconds;
ids that CSV escaping or a second JSON field could merge.
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
    BASE_EVENT,
    T0,
    forty_adults,
)

import riskscore as rs
from riskscore.io.content_names import is_content_column

# ---------------------------------------------------------------- content-like columns


@pytest.mark.parametrize(
    "name",
    ["msg_body", "payload", "message_text", "caption", "content_preview", "texto", "contenu",
     "Inhalt", "testo", "conteúdo", "MessageText", "BODY", "messages"],
)  # fmt: skip
def test_content_like_columns_are_refused_everywhere(tmp_path: Path, name: str) -> None:
    events = forty_adults()
    events["sender_id"] = [str(v) for v in events["sender_id"]]
    events[name] = ["hello"] * 40
    sources: list[Any] = [events, pd.DataFrame(events), pa.table(events)]
    pq.write_table(pa.table(events), tmp_path / "e.parquet")
    pd.DataFrame(events).to_csv(tmp_path / "e.csv", index=False)
    pd.DataFrame(events).to_json(tmp_path / "e.jsonl", orient="records", lines=True)
    sources += [tmp_path / "e.parquet", tmp_path / "e.csv", tmp_path / "e.jsonl"]
    for source in sources:
        with pytest.raises(rs.SchemaError, match="riskscore reads no message content"):
            rs.read_messages(source)


@pytest.mark.parametrize("name", [*rs.io.schema.SCHEMA_COLUMNS, "platform", "region_code"])
def test_schema_and_plain_metadata_columns_are_not_content(name: str) -> None:
    assert not is_content_column(name)


def test_other_columns_are_never_loaded(tmp_path: Path) -> None:
    events = forty_adults()
    events["sender_id"] = [str(v) for v in events["sender_id"]]
    events["recipient_id"] = [str(v) for v in events["recipient_id"]]  # one id type
    # a column whose values would break the reader if it were read at all
    events["extra"] = [{"deep": [1]}] * 39 + ["x"]
    pq.write_table(pa.table({k: v for k, v in events.items() if k != "extra"}), tmp_path / "a.pq")
    msgs = rs.read_messages(events)
    assert len(msgs) == 40
    frame = pd.DataFrame(events)
    assert len(rs.read_messages(frame)) == 40


# ---------------------------------------------------------------- timestamps


def test_a_date_without_time_is_refused_saying_time_and_offset_are_missing() -> None:
    events = {
        "conversation_id": [1, 1],
        "timestamp": ["2024-05-01T10:00:00Z", "2024-05-01"],
        "sender_id": ["a", "b"],
        "recipient_id": ["b", "a"],
        "channel": ["direct", "direct"],
    }
    with pytest.raises(rs.SchemaError, match="date without a time and UTC offset") as info:
        rs.read_messages(events)
    assert (info.value.column, info.value.row) == ("timestamp", 1)


def test_nanosecond_iso_timestamps_are_read_to_the_second() -> None:
    events = {
        "conversation_id": [1],
        "timestamp": ["2024-05-01T00:00:01.123456789Z"],
        "sender_id": ["a"],
        "recipient_id": ["b"],
        "channel": ["direct"],
    }
    assert rs.read_messages(events).timestamp.tolist() == [T0 + 1]


SPELLINGS = [
    "t\u0435xt",  # Cyrillic e
    "te\u200bxt",  # zero-width space
    "T\u00e9xt",  # accent
    "tex\u00adt",  # soft hyphen
    "\uff54\uff45\uff58\uff54",  # full-width
    "T\u0395XT",  # Greek capital epsilon
    "txt",
    "sms",
    "msgtxt",
]


@pytest.mark.parametrize("name", SPELLINGS)
def test_spelling_does_not_hide_a_content_column(name: str) -> None:
    assert is_content_column(name)
    with pytest.raises(rs.SchemaError, match="reads no message content"):
        rs.read_messages({**{k: [v] for k, v in BASE_EVENT.items()}, name: ["hello"]})


def test_a_field_given_twice_in_one_json_object_is_refused_not_read_as_its_last(
    tmp_path: Path,
) -> None:
    from riskscore.serve.body import parse_body

    twice = '{"conversation_id": 1, "conversation_id": 2, "timestamp": %d, "sender_id": 1, '
    twice += '"recipient_id": 2, "channel": "direct"}'
    path = tmp_path / "events.jsonl"
    path.write_text(twice % T0 + "\n" + json.dumps({**BASE_EVENT, "conversation_id": 3}) + "\n")
    with pytest.raises(rs.SchemaError, match=r"line 1\).*'conversation_id' appears twice"):
        rs.read_messages(path)
    kept = rs.read_messages(path, errors="quarantine")
    assert kept.conversation_id.tolist() == [3]
    assert kept.quarantined.column == ("line",)
    # the service refuses that event alone, by its index, as a JSON lines line
    (item,) = parse_body((twice % T0).encode(), "application/json")
    assert item.value is None
    assert item.error is not None
    assert "'conversation_id' appears twice" in item.error


def test_csv_escaping_never_makes_two_ids_one(tmp_path: Path) -> None:
    import pyarrow.csv as pacsv

    from riskscore.io.arrow import escape_csv_cell, escape_csv_table

    ids = ["=1", "'=1", "''=1", "1", "'1"]
    table = escape_csv_table(pa.table({"id": ids}))
    assert len(set(table.column("id").to_pylist())) == len(ids)
    assert [escape_csv_cell(v) for v in ids] == table.column("id").to_pylist()
    pacsv.write_csv(table, tmp_path / "ids.csv")
    back = [v[1:] if v.startswith("'") else v for v in pacsv.read_csv(tmp_path / "ids.csv")
            .column("id").to_pylist()]  # fmt: skip
    assert back == ids


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_an_events_file_written_by_riskscore_reads_back_with_the_same_ids(
    tmp_path: Path, suffix: str
) -> None:
    """Before: write_messages escaped CSV ids as a spreadsheet export (``=c`` written as
    ``'=c``), so an events CSV read back had other ids. Scores and reports stay escaped."""
    ids = ["=c", "'=c", "-1a", "+x", "@y", "plain"]
    events = {
        "conversation_id": ids,
        "timestamp": [1_700_000_000 + i for i in range(len(ids))],
        "sender_id": [f"{i}s" for i in ids],
        "recipient_id": ids,
        "channel": ["direct"] * len(ids),
    }
    msgs = rs.read_messages(events)
    path = rs.write_messages(msgs, tmp_path / f"events{suffix}")
    back = rs.read_messages(path)
    assert sorted(back.conversation_id.tolist()) == sorted(ids)
    assert sorted(back.recipient_id.tolist()) == sorted(ids)


@pytest.mark.parametrize(
    ("column", "values", "path"),
    [
        ("meta", [{"text": "hi", "n": 1}], "meta.text"),
        ("extras", [[{"body": "hi"}]], "extras.body"),
        ("info", [{"inner": {"caption": "hi"}}], "info.inner.caption"),
    ],
)
def test_content_nested_in_a_column_of_another_name_is_refused(
    tmp_path: Path, column: str, values: list[Any], path: str
) -> None:
    table = pa.table({**{k: [v] for k, v in BASE_EVENT.items()}, column: values})
    pq.write_table(table, tmp_path / "events.parquet")
    with pytest.raises(rs.SchemaError, match=f"column '{path}' looks like message content"):
        rs.read_messages(table)
    with pytest.raises(rs.SchemaError, match=f"column '{path}' looks like message content"):
        rs.read_messages(tmp_path / "events.parquet")
    # a nested field of plain metadata is no reason to refuse (and is never read)
    plain = pa.table({**{k: [v] for k, v in BASE_EVENT.items()}, "meta": [{"region": "eu"}]})
    assert len(rs.read_messages(plain)) == 1


def test_docs_list_the_content_words_of_the_code() -> None:
    from riskscore._docs import generated_section
    from riskscore.io.schema import CONTENT_COLUMNS

    doc = Path(__file__).parent.parent / "docs" / "schema.md"
    assert generated_section(doc, "content words") == ", ".join(sorted(CONTENT_COLUMNS))
