"""Hostile input to :func:`riskscore.read_messages` (issue 15): ids keep their identity,
memory follows the data, content-like columns are refused and never loaded, and every
reader returns a table or raises :class:`riskscore.SchemaError`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import riskscore as rs
from riskscore.io.schema import MAX_ID_LENGTH, MAX_JSON_DEPTH, is_content_column

T0 = 1_714_521_600
HEADER = "conversation_id,timestamp,sender_id,recipient_id,channel,event,sender_age,recipient_age"


def forty_adults() -> dict[str, list[Any]]:
    """40 distinct adults with 20-digit ids, each sending one contact request to a
    13-year-old in a conversation of its own."""
    adults = [10**19 + 7 * i for i in range(40)]
    return {
        "conversation_id": list(range(40)),
        "timestamp": [T0 + i for i in range(40)],
        "sender_id": adults,
        "recipient_id": [1_000 + i for i in range(40)],
        "channel": ["direct"] * 40,
        "event": ["contact_request"] * 40,
        "sender_age": [35.0] * 40,
        "recipient_age": [13.0] * 40,
    }


def n_adults(msgs: rs.MessageTable) -> int:
    return len({str(v) for v in msgs.sender_id.tolist()})


# ---------------------------------------------------------------- ids keep their identity


def test_forty_20_digit_adults_in_a_csv_stay_forty(tmp_path: Path) -> None:
    events = forty_adults()
    path = tmp_path / "events.csv"
    rows = zip(*(events[k] for k in HEADER.split(",")), strict=True)
    path.write_text(HEADER + "\n" + "\n".join(",".join(map(str, r)) for r in rows) + "\n")
    msgs = rs.read_messages(path)
    assert n_adults(msgs) == 40
    assert sorted(msgs.sender_id.tolist()) == sorted(str(v) for v in events["sender_id"])


@pytest.mark.parametrize("offset", [0, 2**64 - 10**19 - 1000, 2**70])
def test_forty_large_integer_adults_in_json_lines_stay_forty(tmp_path: Path, offset: int) -> None:
    events = forty_adults()
    events["sender_id"] = [v + offset for v in events["sender_id"]]
    path = tmp_path / "events.jsonl"
    names = list(events)
    path.write_text(
        "".join(
            json.dumps(dict(zip(names, r, strict=True))) + "\n"
            for r in zip(*events.values(), strict=True)
        )
    )
    msgs = rs.read_messages(path)
    assert n_adults(msgs) == 40
    assert sorted(int(v) for v in msgs.sender_id.tolist()) == sorted(events["sender_id"])


@pytest.mark.parametrize("as_frame", [False, True])
def test_ids_beyond_int64_from_dicts_and_frames_keep_their_digits(as_frame: bool) -> None:
    events = forty_adults()
    events["sender_id"] = [2**70 + i for i in range(40)]
    source: Any = pd.DataFrame(events) if as_frame else events
    msgs = rs.read_messages(source)
    assert n_adults(msgs) == 40
    assert sorted(int(v) for v in msgs.sender_id.tolist()) == events["sender_id"]
    scores = rs.load_model().score(msgs)
    assert len(scores) == 40


def test_uint64_parquet_ids_do_not_wrap(tmp_path: Path) -> None:
    events = forty_adults()
    senders = np.array([2**64 - 1 - i for i in range(40)], dtype=np.uint64)
    table = pa.table({**events, "sender_id": pa.array(senders, type=pa.uint64())})
    pq.write_table(table, tmp_path / "events.parquet")
    msgs = rs.read_messages(tmp_path / "events.parquet")
    assert sorted(int(v) for v in msgs.sender_id.tolist()) == sorted(int(v) for v in senders)
    assert -1 not in [int(v) for v in msgs.sender_id.tolist()]


def test_csv_ids_007_and_7_are_two_accounts(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text(
        "conversation_id,timestamp,sender_id,recipient_id,channel\n"
        f"007,{T0},007,1,direct\n7,{T0},7,1,direct\n"
    )
    msgs = rs.read_messages(path)
    assert msgs.n_conversations == 2
    assert sorted(msgs.accounts.tolist()) == ["007", "1", "7"]


def _crossed_ids() -> dict[str, list[Any]]:
    """Integer senders, text recipients: account 500 writes to "9x", "9" writes to "500"."""
    return {
        "conversation_id": ["c1", "c1"],
        "timestamp": [T0, T0 + 60],
        "sender_id": [500, 9],
        "recipient_id": ["9x", "500"],
        "channel": ["direct", "direct"],
    }


@pytest.mark.parametrize("form", ["jsonl", "parquet", "dict"])
def test_integer_and_text_ids_across_the_two_columns_are_refused(tmp_path: Path, form: str) -> None:
    events = _crossed_ids()
    source: Any = events
    if form == "jsonl":
        source = tmp_path / "events.jsonl"
        columns = zip(*events.values(), strict=True)
        rows = [dict(zip(events, values, strict=True)) for values in columns]
        source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    elif form == "parquet":
        source = tmp_path / "events.parquet"
        pq.write_table(pa.table(events), source)
    with pytest.raises(rs.SchemaError, match=r"'recipient_id', row 0.*'9x' is text while") as e:
        rs.read_messages(source)
    assert "one account space" in str(e.value)
    kept = rs.read_messages(source, errors="quarantine")  # set aside and counted, not merged
    assert kept.n_conversations == 0
    assert len(kept.quarantined) == 2


def test_integer_ids_beyond_int64_sit_beside_small_integer_ids(tmp_path: Path) -> None:
    # decimal text for a column with a value beyond int64 is still integers: not refused
    rows = [
        {"conversation_id": "c1", "timestamp": T0, "sender_id": 10**19 + 7, "recipient_id": 500},
        {"conversation_id": "c1", "timestamp": T0 + 60, "sender_id": 10**19 + 8, "recipient_id": 9},
    ]
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps({**r, "channel": "direct"}) + "\n" for r in rows))
    msgs = rs.read_messages(path)
    assert sorted(msgs.accounts.tolist()) == sorted([str(10**19 + 7), str(10**19 + 8), "500", "9"])


@pytest.mark.parametrize("form", ["jsonl", "dict"])
@pytest.mark.parametrize("large", [2**63, 2**64 - 1])
def test_a_uint64_id_beside_small_ids_in_one_column_keeps_its_digits(
    tmp_path: Path, form: str, large: int
) -> None:
    # numpy reads [2**64 - 1, 2] as floats: the large id would lose digits (and be refused
    # as a float); neighbours large - 1 and large must stay two accounts
    events = {
        "conversation_id": ["c1", "c1", "c2"],
        "timestamp": [T0, T0 + 60, T0],
        "sender_id": [large, 2, large - 1],
        "recipient_id": [2, large, 3],
        "channel": ["direct", "direct", "direct"],
    }
    msgs = rs.read_messages(_dict_or_jsonl(events, form, tmp_path))
    assert sorted(msgs.accounts.tolist()) == sorted(str(v) for v in (large, large - 1, 2, 3))
    assert msgs.n_conversations == 2


@pytest.mark.parametrize("form", ["dict", "jsonl"])
def test_integer_ids_beyond_2_53_beside_a_float_id_are_not_merged(
    tmp_path: Path, form: str
) -> None:
    # numpy reads [2**53 + 1, 2**53, 7.0] as floats: the first two became one account
    events = {
        "conversation_id": ["a", "b", "c"],
        "timestamp": [T0, T0, T0],
        "sender_id": [2**53 + 1, 2**53, 7.0],
        "recipient_id": [5, 5, 5],
        "channel": ["direct", "direct", "direct"],
    }
    msgs = rs.read_messages(_dict_or_jsonl(events, form, tmp_path))
    assert sorted(msgs.sender_id.tolist()) == [7, 2**53, 2**53 + 1]


def _dict_or_jsonl(events: dict[str, list[Any]], form: str, tmp_path: Path) -> Any:
    """``events`` as a dict, or written as a JSON lines file (``form="jsonl"``)."""
    if form != "jsonl":
        return events
    path = tmp_path / "events.jsonl"
    rows = [dict(zip(events, r, strict=True)) for r in zip(*events.values(), strict=True)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_online_refuses_integer_and_text_ids_in_one_event() -> None:
    scorer = rs.OnlineScorer(rs.load_model())
    with pytest.raises(rs.SchemaError, match=r"'recipient_id', event 0: '500' is text while"):
        scorer.update_one({**BASE_EVENT, "sender_id": 9, "recipient_id": "500"})
    assert scorer.n_events == 0


@pytest.mark.parametrize("bad", ["c\x00", "c\n", "c\t", "\x7f", "c\x85"])
def test_ids_with_control_characters_are_refused_naming_column_and_row(bad: str) -> None:
    events = {
        "conversation_id": ["c", bad],
        "timestamp": [T0, T0],
        "sender_id": ["a", "b"],
        "recipient_id": ["b", "a"],
        "channel": ["direct", "direct"],
    }
    with pytest.raises(rs.SchemaError, match="control character") as info:
        rs.read_messages(events)
    assert (info.value.column, info.value.row, info.value.value) == ("conversation_id", 1, bad)
    msgs = rs.read_messages(events, errors="quarantine")
    assert (len(msgs), len(msgs.quarantined)) == (1, 1)


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ({"a": 1}, "not an id"),
        (["a"], "not an id"),
        (b"caf\xe9", "bytes"),
        (1.5, "not an id"),
        (float(2**60), "beyond 2\\*\\*53"),
    ],
)
def test_ids_of_containers_bytes_or_inexact_floats_are_refused(value: object, match: str) -> None:
    events: dict[str, list[Any]] = {
        "conversation_id": [1, 2],
        "timestamp": [T0, T0],
        "sender_id": ["a", value],
        "recipient_id": ["b", "c"],
        "channel": ["direct", "direct"],
    }
    with pytest.raises(rs.SchemaError, match=match) as info:
        rs.read_messages(events)
    assert (info.value.column, info.value.row) == ("sender_id", 1)


# ---------------------------------------------------------------- memory follows the data


def test_one_long_id_does_not_widen_every_id() -> None:
    n = 100_000
    ids = np.array([f"u{i}" for i in range(n)], dtype=object)
    ids[5] = "x" * 5_000  # refused (longer than the maximum), kept out of the table
    events = {
        "conversation_id": np.arange(n),
        "timestamp": np.full(n, T0),
        "sender_id": ids,
        "recipient_id": np.array([f"r{i}" for i in range(n)], dtype=object),
        "channel": np.full(n, "direct", dtype=object),
    }
    with pytest.raises(rs.SchemaError, match=f"longer than {MAX_ID_LENGTH}") as info:
        rs.read_messages(events)
    assert (info.value.column, info.value.row) == ("sender_id", 5)
    assert len(str(info.value)) < 400
    ids[5] = "x" * MAX_ID_LENGTH  # the longest id accepted
    msgs = rs.read_messages(events)
    for arr in (msgs.sender_id, msgs.recipient_id, msgs.conversation_id, msgs.accounts):
        assert arr.dtype.kind != "U"
        assert arr.nbytes <= 8 * 2 * n  # pointers, not n * longest * 4 bytes


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
    with pytest.raises(rs.SchemaError, match="'conversation_id' appears twice"):
        parse_body((twice % T0).encode(), "application/json")


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


# ---------------------------------------------------------------- CSV outputs


def test_formula_ids_are_escaped_in_every_csv_the_score_command_writes(tmp_path: Path) -> None:
    from riskscore.batch.out_of_core import score_parquet
    from riskscore.cli import main

    data = rs.synthetic.generate(300, prevalence=0.1, seed=5)
    events = data.messages.to_pandas()
    formula = "=cmd|' /C calc'!A0"
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


# ---------------------------------------------------------- one set of rules, batch and online

BASE_EVENT: dict[str, Any] = {
    "conversation_id": 1,
    "timestamp": T0,
    "sender_id": 10,
    "recipient_id": 20,
    "channel": "direct",
    "sender_age": 30.0,
    "recipient_age": 13.0,
    "event": "message",
    "recipient_tz_offset_min": 0,
}

TRICKY = [
    ("timestamp", "1700000000"),
    ("timestamp", " 1700000000 "),
    ("timestamp", 1.7e9),
    ("timestamp", 1_700_000_000.9),
    ("timestamp", "2024-05-01T00:00:01.123456789Z"),
    ("timestamp", "2024-05-01T00:00:01+01"),
    ("timestamp", "2024-05-01"),
    ("timestamp", "2024-05-01T00:00:00"),
    ("timestamp", 10**400),
    ("timestamp", float("nan")),
    ("timestamp", True),
    ("timestamp", None),
    ("timestamp", -1),
    ("sender_id", 1.0),
    ("sender_id", 1.5),
    ("sender_id", b"a"),
    ("sender_id", "a"),
    ("sender_id", "c\x00"),
    ("sender_id", "x" * 257),
    ("sender_id", "x" * 256),
    ("sender_id", 2**70),
    ("sender_id", 2**63 - 1),
    ("sender_id", float(2**60)),
    ("sender_id", {"a": 1}),
    ("sender_id", [1]),
    ("sender_id", True),
    ("sender_id", None),
    ("sender_id", np.int64(5)),
    ("sender_id", "caf\u00e9\u00a0"),
    ("conversation_id", "1"),
    ("conversation_id", 1.0),
    ("sender_age", "13"),
    ("sender_age", " "),
    ("sender_age", "nan"),
    ("sender_age", 10**400),
    ("sender_age", 121),
    ("sender_age", float("inf")),
    ("sender_age", True),
    ("channel", "Direct "),
    ("channel", "DIRECT"),
    ("channel", 2),
    ("channel", None),
    ("event", ""),
    ("event", None),
    ("event", "Contact_Request"),
    ("event", "wink"),
    ("recipient_tz_offset_min", "60"),
    ("recipient_tz_offset_min", 60.0),
    ("recipient_tz_offset_min", 60.5),
    ("recipient_tz_offset_min", 841),
    ("recipient_tz_offset_min", 10**400),
    ("recipient_tz_offset_min", ""),
    ("recipient_tz_offset_min", None),
    ("recipient_tz_offset_min", float("nan")),
    ("recipient_tz_offset_min", True),
    ("room_size", 3),
    ("room_size", "3"),
    ("room_size", 3.0),
    ("room_size", None),
    ("room_size", ""),
    ("room_size", 1),
    ("room_size", 2.5),
    ("room_size", True),
    ("sender_id", ""),
    ("sender_id", "   "),
    ("conversation_id", " "),
]


def _batch(event: dict[str, Any]) -> tuple[Any, ...] | None:
    try:
        msgs = rs.read_messages({k: [v] for k, v in event.items()})
    except rs.SchemaError:
        return None
    cols = msgs.columns(decoded=False)
    values = tuple(
        (lambda x: None if isinstance(x, float) and x != x else x)(
            cols[name][0].item() if isinstance(cols[name][0], np.generic) else cols[name][0]
        )
        for name in ("timestamp", "sender_age", "recipient_age", "channel", "event",
                     "recipient_tz_offset_min", "room_size")
    )  # fmt: skip
    tz = values[5]
    return (*values[:5], None if tz == rs.io.schema.TZ_UNKNOWN else tz, values[6])


def _online(event: dict[str, Any]) -> tuple[Any, ...] | None:
    from riskscore.io.events import parse_event_fast

    try:
        parsed = parse_event_fast(event)
    except rs.SchemaError:
        return None
    _cid, ts, _s, _r, sender_age, recipient_age, channel, kind, tz, room = parsed
    nan_none = [None if x != x else x for x in (sender_age, recipient_age, tz)]
    return (ts, *nan_none[:2], channel, kind, None if tz != tz else int(tz), room)


@pytest.mark.parametrize(("field", "value"), TRICKY, ids=[f"{f}={v!r}"[:40] for f, v in TRICKY])
def test_online_accepts_exactly_what_batch_accepts_with_the_same_meaning(
    field: str, value: object
) -> None:
    event = {**BASE_EVENT, field: value}
    assert _online(event) == _batch(event)


def test_an_unknown_age_as_nan_takes_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    # A table's columns hold an unknown age as NaN (replay, evaluate and update_many feed
    # them back as events); the full validator costs about a millisecond an event.
    import riskscore.io.events as events

    def full_rules(event: object, row: int | None = None) -> None:
        raise AssertionError(f"the full rules ran for {event}")

    monkeypatch.setattr(events, "parse_event", full_rules)
    nan = float("nan")
    parsed = events.parse_event_fast({**BASE_EVENT, "sender_age": nan, "recipient_age": nan})
    assert np.isnan(parsed[4])  # unknown, as None gives
    assert np.isnan(parsed[5])


def test_online_refuses_with_the_field_event_and_value() -> None:
    scorer = rs.OnlineScorer(rs.load_model())
    with pytest.raises(rs.SchemaError, match=r"column 'sender_id', event 0: b'a' is bytes") as info:
        scorer.update_one({**BASE_EVENT, "sender_id": b"a"})
    assert (info.value.column, info.value.row, info.value.value) == ("sender_id", 0, b"a")
    assert scorer.n_events == 0
    scorer.update_one({**BASE_EVENT, "timestamp": "1700000000", "sender_id": 1.0})
    assert scorer.n_events == 1


# ---------------------------------------------------------------- fuzz: a result or a SchemaError


HOSTILE_VALUES = st.one_of(
    st.integers(min_value=-(2**80), max_value=2**80),
    st.sampled_from([10**400, -(10**400), 2**63, 2**64 - 1, 0, 1, 13, 40, T0]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.sampled_from(["c\x00", "\x1b[31m", "x" * 300, "2024-05-01", "1700000000", "direct",
                     "message", "=cmd|' /C calc'!A0", "", " ", "nan", "\ud800"]),
    st.none(),
    st.booleans(),
    st.binary(max_size=4),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
)  # fmt: skip
COLUMN_NAMES = st.sampled_from(
    [*rs.io.schema.SCHEMA_COLUMNS, "msg_body", "extra", "Timestamp", "sender_id "]
)


@st.composite
def hostile_tables(draw: st.DrawFn) -> dict[str, list[Any]]:
    n = draw(st.integers(min_value=0, max_value=6))
    good = [{**BASE_EVENT, "conversation_id": i % 2, "sender_id": 10 + i % 2,
             "recipient_id": 11 - i % 2, "timestamp": T0 + i} for i in range(n)]  # fmt: skip
    table = {name: [row[name] for row in good] for name in BASE_EVENT}
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        name = draw(COLUMN_NAMES)
        column = table.setdefault(name, [None] * n)
        if n:
            column[draw(st.integers(0, n - 1))] = draw(HOSTILE_VALUES)
    if draw(st.booleans()) and table:
        del table[draw(st.sampled_from(sorted(table)))]
    return table


def _as_source(table: dict[str, list[Any]], form: str, tmp: Path) -> Any:
    if form == "dict":
        return table
    if form == "frame":
        return pd.DataFrame(table)
    if form == "csv":
        path = tmp / "fuzz.csv"
        names = list(table)
        n = len(next(iter(table.values()), []))
        cells = [[repr(table[k][i]) if isinstance(table[k][i], (bytes, list, dict)) else
                  "" if table[k][i] is None else str(table[k][i]) for k in names]
                 for i in range(n)]  # fmt: skip
        lines = [",".join(names + names[:1] if "dup" in names else names)]
        lines += [",".join(c.replace(",", ";").replace("\n", " ") for c in row) for row in cells]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogatepass")
        return path
    path = tmp / "fuzz.jsonl"
    n = len(next(iter(table.values()), []))
    with path.open("w", encoding="utf-8", errors="surrogatepass") as fh:
        for i in range(n):
            row = {k: v[i] for k, v in table.items()}
            row = {k: (v.hex() if isinstance(v, bytes) else v) for k, v in row.items()}
            fh.write(json.dumps(row, default=str) + "\n")
        fh.write('{"broken": [[[[\n')
    return path


@pytest.mark.parametrize("form", ["dict", "frame", "csv", "jsonl"])
def test_fuzz_read_extract_score_gives_a_result_or_a_schema_error(
    form: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    model = rs.load_model()
    tmp = tmp_path_factory.mktemp(form)

    @settings(
        max_examples=100,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(table=hostile_tables(), quarantine=st.booleans())
    def run(table: dict[str, list[Any]], quarantine: bool) -> None:
        try:
            source = _as_source(table, form, tmp)
        except (ValueError, TypeError, OverflowError):
            return  # the test could not write this input; nothing to read
        try:
            msgs = rs.read_messages(source, errors="quarantine" if quarantine else "raise")
        except rs.SchemaError:
            return
        n_in = len(next(iter(table.values()), [])) + (form == "jsonl")
        if form in ("dict", "frame") or quarantine:
            assert len(msgs) + len(msgs.quarantined) == n_in
        try:
            features = rs.extract_features(msgs)
            scores = model.score(msgs)
        except rs.SchemaError:
            return  # e.g. every row quarantined: nothing to score
        assert len(scores) == len(features.conversation_id) == msgs.n_conversations

    run()


def test_a_column_mixing_id_types_names_that_reason_alone() -> None:
    """The row refused for mixing types is not also called empty (its text was blanked)."""
    from riskscore.io.ids import check_ids
    from riskscore.io.problems import Found

    found = Found()
    check_ids("conversation_id", np.array(["a", 5, "b"], dtype=object), found)
    reasons = [(np.flatnonzero(mask).tolist(), reason) for _, mask, reason in found.problems]
    assert [r for r in reasons if r[0]] == [
        ([1], "mixes id types: this column's first id is str; use one type")
    ]
