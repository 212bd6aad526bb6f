"""Second hostile-input review of :func:`riskscore.read_messages`, the online scorer and
the CLI: the same value means the same thing in every source (dict, frame, Arrow, Parquet,
CSV, JSON lines, one event online), and every value that cannot be read is a
:class:`riskscore.SchemaError` naming its column and row, never another exception and
never a silently different value."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import riskscore as rs
from riskscore.cli import main

T0 = 1_714_521_600


def two_events(**columns: Any) -> dict[str, Any]:
    """Two events of one conversation between an adult (10) and a child (20)."""
    events: dict[str, Any] = {
        "conversation_id": [1, 1],
        "timestamp": [T0, T0 + 60],
        "sender_id": [10, 20],
        "recipient_id": [20, 10],
        "channel": ["direct", "direct"],
        "sender_age": [35.0, 13.0],
        "recipient_age": [13.0, 35.0],
    }
    events.update(columns)
    return events


EVENT: dict[str, Any] = {
    "conversation_id": 1,
    "timestamp": T0,
    "sender_id": 10,
    "recipient_id": 20,
    "channel": "direct",
    "sender_age": 35.0,
    "recipient_age": 13.0,
}


# ------------------------------------------- dictionary-encoded columns keep their values


@pytest.mark.parametrize(
    ("column", "values", "read"),
    [
        ("sender_age", ["35", "13"], lambda m: m.sender_age.tolist() == [35.0, 13.0]),
        (
            "recipient_tz_offset_min",
            ["60", "-60"],
            lambda m: m.recipient_tz_offset_min.tolist() == [60, -60],
        ),
        ("room_size", ["2", "2"], lambda m: m.room_size.tolist() == [2, 2]),
        (
            "timestamp",
            ["2024-05-01T00:00:00Z", "2024-05-01T00:01:00Z"],
            lambda m: m.timestamp.tolist() == [T0, T0 + 60],
        ),
    ],
)
@pytest.mark.parametrize("form", ["arrow", "parquet"])
def test_dictionary_encoded_text_columns_are_read_as_their_values(
    tmp_path: Path, column: str, values: list[str], read: Any, form: str
) -> None:
    # a dictionary column's codes (0, 1, ...) were read as the values: ages 0 and 1,
    # offsets of 0 and 1 minutes, timestamps at 1970-01-01
    table = pa.table(two_events(**{column: pa.array(values).dictionary_encode()}))
    source: Any = table
    if form == "parquet":
        source = tmp_path / "events.parquet"
        pq.write_table(table, source)
    assert read(rs.read_messages(source))
    assert read(rs.read_messages(two_events(**{column: values})))  # the same as plain text


def test_a_bad_value_in_a_dictionary_encoded_age_column_is_named() -> None:
    table = pa.table(two_events(sender_age=pa.array(["35", "old"]).dictionary_encode()))
    with pytest.raises(rs.SchemaError, match=r"'sender_age', row 1: 'old' is not a number"):
        rs.read_messages(table)


# --------------------------------------- text that is not valid UTF-8 is a SchemaError


@pytest.mark.parametrize("column", ["channel", "event", "timestamp"])
def test_a_lone_surrogate_is_refused_as_a_schema_error(tmp_path: Path, column: str) -> None:
    events = two_events(**{column: ["\ud800", "direct" if column == "channel" else None]})
    if column == "event":
        events["event"] = ["\ud800", "message"]
    if column == "timestamp":
        events["timestamp"] = ["\ud800", T0]
    with pytest.raises(rs.SchemaError) as info:
        rs.read_messages(events)
    assert (info.value.column, info.value.row) == (column, 0)
    kept = rs.read_messages(events, errors="quarantine")
    assert (len(kept), len(kept.quarantined)) == (1, 1)
    path = tmp_path / "events.jsonl"  # JSON lines escape it as \ud800
    path.write_text(json.dumps({**EVENT, column: "\ud800"}) + "\n")
    with pytest.raises(rs.SchemaError, match=column):
        rs.read_messages(path)
    with pytest.raises(rs.SchemaError, match=column):
        rs.OnlineScorer(rs.load_model()).update_one({**EVENT, column: "\ud800"})


# ----------------------------------------------------------- numpy booleans are booleans


@pytest.mark.parametrize("column", ["sender_age", "recipient_tz_offset_min", "room_size"])
@pytest.mark.parametrize("flag", [True, np.True_])
def test_a_boolean_is_not_a_number_as_python_or_numpy_bool(column: str, flag: Any) -> None:
    # np.True_ in an object column was read as 1 (an age of 1, an offset of 1 minute)
    events = two_events(**{column: [flag, 13 if column == "sender_age" else None]})
    with pytest.raises(rs.SchemaError, match=rf"'{column}', row 0: .*is a boolean") as info:
        rs.read_messages(events)
    assert info.value.column == column
    with pytest.raises(rs.SchemaError, match=rf"'{column}', event 0: .*is a boolean"):
        rs.OnlineScorer(rs.load_model()).update_one({**EVENT, column: flag})


# ------------------------------------------------- numbers as text are ASCII JSON numbers


@pytest.mark.parametrize("column", ["sender_age", "recipient_tz_offset_min", "room_size"])
@pytest.mark.parametrize("text", ["1_3", "\u0661\u0663", "\uff11\uff13", "infinity", "1e999"])
def test_number_text_python_reads_but_no_export_writes_is_refused(column: str, text: str) -> None:
    # float() reads "1_3" and Arabic-Indic or full-width digits as 13: a CSV cell or a
    # JSON string holding them was read as that number ("nan" stays a missing value)
    events = two_events(**{column: [text, "13" if column == "sender_age" else None]})
    with pytest.raises(rs.SchemaError, match=rf"'{column}', row 0: .*is not a number"):
        rs.read_messages(events)
    with pytest.raises(rs.SchemaError, match=rf"'{column}', event 0: .*is not a number"):
        rs.OnlineScorer(rs.load_model()).update_one({**EVENT, column: text})


@pytest.mark.parametrize("text", ["1_700_000_000", "\u0661\u0667\u0660\u0660000000"])
def test_timestamp_text_with_underscores_or_other_digits_is_refused(text: str) -> None:
    with pytest.raises(rs.SchemaError, match=r"'timestamp', row 0"):
        rs.read_messages(two_events(timestamp=[text, T0]))


def test_number_text_with_a_sign_or_spaces_is_read() -> None:
    msgs = rs.read_messages(
        two_events(sender_age=[" 35 ", "+13"], recipient_tz_offset_min=["+60", "-300"])
    )
    assert msgs.sender_age.tolist() == [35.0, 13.0]


# ------------------------------------------- times without a zone, in any container


def test_numpy_datetime64_without_a_zone_is_refused_as_in_frames_and_online() -> None:
    # pandas and Arrow times without a zone are refused (the instant is unknown); a numpy
    # datetime64 column was taken as UTC, and the same value online was refused
    stamps = np.array([T0, T0 + 60], dtype="datetime64[s]")
    with pytest.raises(rs.SchemaError, match=r"'timestamp', row 0: .*without a UTC offset"):
        rs.read_messages(two_events(timestamp=stamps))
    with pytest.raises(rs.SchemaError, match=r"'timestamp', event 0: .*without a UTC offset"):
        rs.OnlineScorer(rs.load_model()).update_one({**EVENT, "timestamp": stamps[0]})
    kept = rs.read_messages(two_events(timestamp=stamps), errors="quarantine")
    assert (len(kept), len(kept.quarantined)) == (0, 2)


# ---------------------------------------------- epoch seconds in exponent notation


@pytest.mark.parametrize("text", ["1.7e9", "1.7E+9", "17e8"])
def test_epoch_seconds_in_exponent_notation_read_the_same_in_csv_and_json(
    tmp_path: Path, text: str
) -> None:
    # JSON lines parse 1.7e9 as a number; CSV cells are text, and were refused
    csv_path = tmp_path / "events.csv"
    csv_path.write_text(
        f"conversation_id,timestamp,sender_id,recipient_id,channel\n1,{text},10,20,direct\n"
    )
    json_path = tmp_path / "events.jsonl"
    json_path.write_text(json.dumps({**EVENT, "timestamp": float(text)}) + "\n")
    assert rs.read_messages(csv_path).timestamp.tolist() == [1_700_000_000]
    assert rs.read_messages(json_path).timestamp.tolist() == [1_700_000_000]
    scorer = rs.OnlineScorer(rs.load_model())
    scorer.update_one({**EVENT, "timestamp": text})
    assert scorer.last_event[1] == 1_700_000_000


@pytest.mark.parametrize("text", ["1e400", "-1e3", "1e", "e9", "1.7e9.5"])
def test_exponent_text_out_of_range_or_malformed_is_refused(text: str) -> None:
    with pytest.raises(rs.SchemaError, match=r"'timestamp', row 0"):
        rs.read_messages(two_events(timestamp=[text, T0]))


# ------------------------------------------------------------------- files


def test_a_parquet_file_with_a_broken_footer_is_a_schema_error(tmp_path: Path) -> None:
    path = tmp_path / "events.parquet"
    path.write_bytes(b"PAR1" + b"\0" * 4 + b"PAR1")
    with pytest.raises(rs.SchemaError, match=r"events\.parquet: not a readable Parquet"):
        rs.read_messages(path)


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_an_events_file_with_a_non_utf8_name_is_read(tmp_path: Path, suffix: str) -> None:
    name = b"ev\xffents" + suffix.encode()
    path = Path(tmp_path / name.decode(sys.getfilesystemencoding(), "surrogateescape"))
    rs.write_messages(rs.read_messages(two_events()), tmp_path / f"plain{suffix}")
    path.write_bytes((tmp_path / f"plain{suffix}").read_bytes())
    msgs = rs.read_messages(path)
    assert msgs.timestamp.tolist() == [T0, T0 + 60]


def test_a_parquet_file_with_a_non_utf8_name_is_scored_in_chunks_and_counted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # read_messages opened such a name; `score --chunk-rows` and `accounts` raised
    # "'utf-8' codec can't encode character" (Arrow opened the file by its name)
    name = b"ev\xffents.parquet".decode(sys.getfilesystemencoding(), "surrogateescape")
    path = tmp_path / name
    pq.write_table(
        rs.synthetic.generate(30, prevalence=0.2, seed=3).messages.to_arrow(),
        path.with_name("plain.parquet"),
    )
    path.with_name("plain.parquet").rename(path)
    streamed, whole = tmp_path / "streamed", tmp_path / "whole"
    for out, extra in ((streamed, ["--chunk-rows", "200"]), (whole, [])):
        assert main(["score", str(path), "--out", str(out), "--top", "0", *extra]) == 0
    assert (
        pq.read_table(streamed / "scores.parquet")
        .sort_by("conversation_id")
        .equals(pq.read_table(whole / "scores.parquet").sort_by("conversation_id"))
    )
    assert main(["accounts", str(path), "--out", str(tmp_path / "accounts.parquet")]) == 0
    capsys.readouterr()


def test_stream_reads_a_first_line_with_a_byte_order_mark(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # read_messages accepts a JSON lines file that starts with a BOM; so does stream
    monkeypatch.setattr(sys, "stdin", io.StringIO("\ufeff" + json.dumps(EVENT) + "\n"))
    assert main(["stream"]) == 0
    assert "1 event, 0 rejected" in capsys.readouterr().err


@pytest.mark.parametrize("name", [b"ev\xffents.parquet", b"broken.parquet"])
def test_score_names_an_unreadable_parquet_file_or_reads_an_odd_name(
    tmp_path: Path, name: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / name.decode(sys.getfilesystemencoding(), "surrogateescape")
    if name.startswith(b"ev"):
        rs.write_messages(rs.read_messages(two_events()), path)
    else:
        path.write_bytes(b"PAR1" + b"\0" * 4 + b"PAR1")
    code = main(["score", str(path), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    if name.startswith(b"ev"):
        assert code == 0, err
    else:
        assert code == 2
        assert err.strip().endswith(
            "not a readable Parquet events file (OSError: Couldn't "
            "deserialize thrift: No more data to read.)"
        )
        assert "broken.parquet" in err
        assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("form", ["arrow", "parquet", "pandas", "csv"])
def test_integer_ids_with_a_missing_one_keep_their_digits(tmp_path: Path, form: str) -> None:
    # an int64 column with a null was read as floats: every 19-digit id was refused as
    # 'a float id beyond 2**53' (quoted as 1e+18), not only the empty one
    import pandas as pd

    big = 10**18
    events = {
        "conversation_id": [1, 1, 2],
        "timestamp": [T0, T0 + 60, T0],
        "sender_id": [big + 1, big + 2, None],
        "recipient_id": [5, 5, 5],
        "channel": ["direct", "direct", "direct"],
    }
    table = pa.table({**events, "sender_id": pa.array(events["sender_id"], pa.int64())})
    source: Any = table
    if form == "parquet":
        source = tmp_path / "events.parquet"
        pq.write_table(table, source)
    elif form == "pandas":
        source = pd.DataFrame({**events, "sender_id": pd.array(events["sender_id"], "Int64")})
    elif form == "csv":
        source = tmp_path / "events.csv"
        rows = [
            ",".join("" if v is None else str(v) for v in r)
            for r in zip(*events.values(), strict=True)
        ]
        source.write_text(",".join(events) + "\n" + "\n".join(rows) + "\n")
    with pytest.raises(rs.SchemaError, match=r"'sender_id', row 2\b") as info:
        rs.read_messages(source)
    assert "more bad row" not in str(info.value)
    kept = rs.read_messages(source, errors="quarantine")
    assert sorted(int(v) for v in kept.sender_id.tolist()) == [big + 1, big + 2]
    assert len(kept.quarantined) == 1


@pytest.mark.parametrize("via", ["same", "dotdot", "symlink"])
def test_score_refuses_to_write_over_its_input(
    tmp_path: Path, via: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # events saved as OUT/scores.parquet were silently replaced by the scores
    out = tmp_path / "out"
    out.mkdir()
    events = rs.write_messages(rs.read_messages(two_events()), out / "scores.parquet")
    before = events.read_bytes()
    given = {
        "same": events,
        "dotdot": out / ".." / "out" / "scores.parquet",
        "symlink": tmp_path / "link.parquet",
    }[via]
    if via == "symlink":
        given.symlink_to(events)
    assert main(["score", str(given), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "would replace the input" in err
    assert len(err.splitlines()) == 1
    assert events.read_bytes() == before
    assert main(["score", str(given), "--out", str(out), "--format", "csv"]) == 0  # no clash


@pytest.mark.parametrize("end", ["", "\n", "\r\n"])
def test_a_csv_header_alone_is_an_empty_table_with_or_without_a_line_break(
    tmp_path: Path, end: str
) -> None:
    # without a final line break Arrow refused it: 'Empty CSV file or block'
    path = tmp_path / "events.csv"
    path.write_bytes(("conversation_id,timestamp,sender_id,recipient_id,channel" + end).encode())
    msgs = rs.read_messages(path)
    assert (len(msgs), len(msgs.quarantined)) == (0, 0)
    path.write_text("conversation_id,timestamp,sender_id,recipient_id" + end)
    with pytest.raises(rs.SchemaError, match="missing required column"):
        rs.read_messages(path)


# ------------------------------------------------------- polars frames and their Arrow


def test_a_polars_frame_and_its_arrow_table_read_as_the_dict_does() -> None:
    # Arrow from polars has string views and categoricals as dictionaries of string views
    # with unsigned indices: decoding them raised ArrowNotImplementedError, then
    # OverflowError; a polars frame itself was a TypeError
    pl = pytest.importorskip("polars")
    events = two_events(sender_id=["a", "b"], recipient_id=["b", "a"], sender_age=[35, None])
    events["channel"] = ["direct", None]
    frame = pl.DataFrame(events).with_columns(
        pl.col("channel").cast(pl.Categorical), pl.col("sender_id").cast(pl.Categorical)
    )
    expected = rs.read_messages(events, errors="quarantine")
    for source in (frame, frame.to_arrow(), pa.table(frame)):
        msgs = rs.read_messages(source, errors="quarantine")
        assert msgs.sender_id.tolist() == expected.sender_id.tolist() == ["a"]
        assert msgs.channel.tolist() == expected.channel.tolist()
        assert msgs.quarantined.row.tolist() == expected.quarantined.row.tolist() == [1]
    with pytest.raises(rs.SchemaError, match=r"'channel', row 1: None is missing"):
        rs.read_messages(frame)


@pytest.mark.parametrize("form", ["arrow", "parquet"])
def test_a_time_without_a_zone_beyond_year_9999_is_refused_by_row(
    tmp_path: Path, form: str
) -> None:
    # Python's datetime cannot hold it: OverflowError from an Arrow table, and a Parquet
    # file refused whole
    table = pa.table(two_events(timestamp=pa.array([2**62, T0 * 10**6], pa.timestamp("us"))))
    source: Any = table
    if form == "parquet":
        source = tmp_path / "events.parquet"
        pq.write_table(table, source)
    with pytest.raises(rs.SchemaError, match=r"'timestamp', row 0: '4611686018427387904 \("):
        rs.read_messages(source)
    kept = rs.read_messages(source, errors="quarantine")
    assert kept.quarantined.row.tolist() == [0, 1]  # the other row: no zone
    assert "without a UTC offset" in kept.quarantined.reason[1]


# ----------------------------------------------- pandas' NA is missing, as None and NaN


@pytest.mark.parametrize("form", ["list", "frame", "online"])
def test_pandas_na_and_nat_are_missing_values_like_none(form: str) -> None:
    # pd.NA in an object column was 'not a number' (ages, offsets) or 'not an id', and
    # pd.NaT 'not a timestamp', where None is unknown or missing
    import pandas as pd

    for na in (pd.NA, pd.NaT):
        for column, value in (("sender_age", 35.0), ("recipient_tz_offset_min", 60)):
            events = two_events(**{column: [value, na]})
            if form == "online":
                scorer = rs.OnlineScorer(rs.load_model())
                scorer.update_one({**EVENT, column: na})
                assert np.isnan(scorer.last_event[4 if column == "sender_age" else 8])
                continue
            source: Any = (
                pd.DataFrame(events).astype({column: object}) if form == "frame" else events
            )
            msgs = rs.read_messages(source)
            expected = rs.read_messages(two_events(**{column: [value, None]}))
            assert np.array_equal(getattr(msgs, column), getattr(expected, column), equal_nan=True)
        for column in ("sender_id", "timestamp"):
            events = two_events(**{column: [EVENT[column], na]})
            if form == "online":
                with pytest.raises(rs.SchemaError, match=rf"'{column}', event 0: .* is missing"):
                    rs.OnlineScorer(rs.load_model()).update_one({**EVENT, column: na})
                continue
            source = pd.DataFrame(events).astype({column: object}) if form == "frame" else events
            with pytest.raises(rs.SchemaError, match=rf"'{column}', row 1: .* is missing"):
                rs.read_messages(source)
