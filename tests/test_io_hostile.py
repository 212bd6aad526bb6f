"""Hostile input to :func:`riskscore.read_messages` (issue 15): ids keep their identity,
and memory follows the data. Content-like columns are in ``test_io_hostile_content.py``,
broken and garbage files in ``test_io_hostile_files.py``, the same rules online and
the fuzz test in ``test_io_hostile_online.py``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from io_hostile_helpers import (
    BASE_EVENT,
    HEADER,
    T0,
    forty_adults,
    n_adults,
)

import riskscore as rs
from riskscore.io.schema import MAX_ID_LENGTH

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
