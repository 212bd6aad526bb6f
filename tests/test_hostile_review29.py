"""Hostile review 29: a caller's pandas frame changed after reading, pandas columns held
by Arrow, and tables the Arrow stream interface cannot export.

Each test failed on the code before its fix."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from _read_outcome import read_outcome

import riskscore as rs
from riskscore.cli import main

T0 = 1_767_225_600  # 2026-01-01


def _columns() -> dict[str, np.ndarray]:
    """A sorted table of two conversations as the caller's numpy arrays."""
    return {
        "conversation_id": np.array([1, 1, 2, 2], dtype=np.int64),
        "sender_id": np.array([10, 11, 12, 13], dtype=np.int64),
        "recipient_id": np.array([11, 10, 13, 12], dtype=np.int64),
        "timestamp": np.array([T0, T0 + 60, T0 + 120, T0 + 180], dtype=np.int64),
        "channel": np.array(["direct"] * 4),
        "sender_age": np.array([34.0, 12.0, 15.0, 14.0]),
        "recipient_tz_offset_min": np.array([60, 60, 0, 0], dtype=np.int64),
    }


def _changes_after_reading(source: Any, change: Any) -> list[str]:
    """The columns of the table read from ``source`` that ``change()`` changes."""
    table = rs.read_messages(source, max_future_s=float("inf"))
    before = {name: repr(values.tolist()) for name, values in table.columns().items()}
    change()
    after = {name: repr(values.tolist()) for name, values in table.columns().items()}
    return [name for name in before if before[name] != after[name]]


@pytest.mark.parametrize(
    ("column", "value"),
    [("timestamp", -(2**62)), ("sender_age", 500.0), ("recipient_id", 10)],
)
def test_a_frame_changed_after_reading_leaves_the_table_as_validated(
    column: str, value: object
) -> None:
    """Was: pandas (copy-on-write) lends its columns as read-only views of memory it still
    writes, and only writable arrays were taken for the caller's: ``frame.loc[0,
    "timestamp"] = -2**62`` after reading changed the validated table's time to one no
    reader accepts, ``recipient_id`` made an event from an account to itself. A read-only
    view of the caller's own writable numpy array (a dict's column, a frame built with
    ``copy=False``) was kept alike."""
    frame = pd.DataFrame(_columns())
    assert _changes_after_reading(frame, lambda: frame.loc.__setitem__((0, column), value)) == []
    columns = _columns()
    lent = pd.DataFrame(columns, copy=False)
    assert _changes_after_reading(lent, lambda: columns[column].__setitem__(0, value)) == []
    columns = _columns()
    view = columns[column].view()
    view.flags.writeable = False
    events = {**columns, column: view}
    assert _changes_after_reading(events, lambda: columns[column].__setitem__(0, value)) == []


def test_a_frame_of_arrow_memory_is_not_copied() -> None:
    """A guard that passed before: a column pandas holds in Arrow memory, which no one
    writes, is kept without a copy."""
    frame = pd.DataFrame(_columns()).convert_dtypes(dtype_backend="pyarrow")
    table = rs.read_messages(frame, max_future_s=float("inf"))
    lent = frame["timestamp"].array.__arrow_array__().chunk(0).to_numpy()
    assert np.shares_memory(table.timestamp, lent)


_ARROW_COLUMNS = [
    ("channel", pa.array(["direct"] * 4, pa.string_view())),
    ("sender_id", pa.array(["a", "b", "c", "d"], pa.string_view())),
    ("sender_id", pa.array([b"a", b"b", b"c", b"d"], pa.binary_view())),
    ("timestamp", pa.array([f"2026-01-01T00:0{i}:00Z" for i in range(4)], pa.string_view())),
    ("sender_age", pa.array(["34", "12", "15", "14"], pa.string_view())),
    ("timestamp", pa.array([Decimal(T0 + i) for i in range(4)], pa.decimal128(20, 0))),
]


@pytest.mark.parametrize(("column", "values"), _ARROW_COLUMNS)
def test_a_pandas_column_held_by_arrow_reads_as_the_arrow_column(
    column: str, values: pa.Array
) -> None:
    """Was: a pandas column of an Arrow type (``pd.ArrowDtype``) was converted by pandas:
    string and binary views (polars' text, through ``to_pandas``) stopped the read with
    pandas' NotImplementedError traceback, and a warehouse's decimal times became Python
    Decimals, refused on every row ("is not a timestamp") where the same Arrow column
    reads as epoch seconds."""
    events = _columns()
    events["sender_id"] = np.array(["a", "b", "c", "d"], dtype=object)
    events["recipient_id"] = np.array(["b", "a", "d", "c"], dtype=object)
    arrow = pa.table({**events, column: values})
    frame = arrow.to_pandas(types_mapper=pd.ArrowDtype)
    assert read_outcome(frame, errors="quarantine") == read_outcome(arrow, errors="quarantine")
    assert read_outcome(frame) == read_outcome(arrow)


@pytest.mark.parametrize("column", ["sender_id", "score"])
def test_a_table_arrow_cannot_import_is_named_by_its_column(column: str) -> None:
    """Was: a polars frame with a column of a type pyarrow cannot import (``Int128``,
    exported as ``_pli128``), read or not, stopped the read with pyarrow's ArrowInvalid
    traceback naming no column."""
    pl = pytest.importorskip("polars")
    events = _columns()
    frame = pl.DataFrame(events).with_columns(pl.Series(column, [1, 2, 3, 4], dtype=pl.Int128))
    with pytest.raises(rs.SchemaError, match=rf"column '{column}' .* cannot be read as Arrow"):
        rs.read_messages(frame)


_CSV_HEADER = b"conversation_id,sender_id,recipient_id,timestamp,channel,note\n"


def _csv_rows(n: int, bad: int, *, sender: bytes = b"", note: bytes = b"") -> bytes:
    """``n`` rows of CSV, the ``bad``-th with ``sender`` after its account id and ``note``
    after its note (a column riskscore does not read)."""
    rows = [
        b"c%d,a%d%s,b%d,%d,direct,ok%s"
        % (i, i, sender if i == bad else b"", i, T0 + i, note if i == bad else b"")
        for i in range(n)
    ]
    return _CSV_HEADER + b"\n".join(rows) + b"\n"


@pytest.mark.parametrize("bad", [1, 2000])
def test_a_csv_column_not_read_may_hold_any_bytes_wherever_they_are(
    tmp_path: Any, bad: int
) -> None:
    """Was: a column riskscore never reads holding bytes that are not UTF-8 (a Latin-1
    free-text export) refused the whole file when the bytes sat in the first few kB, which
    Python decoded to find the header, and was read when they sat further on, which only
    Arrow read (and Arrow reads only the schema columns)."""
    path = tmp_path / "events.csv"
    path.write_bytes(_csv_rows(3000, bad, note=b"\xe9"))
    table = rs.read_messages(path, max_future_s=float("inf"))
    assert len(table) == 3000
    assert table.unread_columns == ("note",)


@pytest.mark.parametrize("bad", [1, 2000])
def test_a_csv_cell_not_utf8_is_refused_by_row_and_column(tmp_path: Any, bad: int) -> None:
    """Was: an id cell of bytes that are not UTF-8 refused the whole file, naming neither
    row nor column (Python's UnicodeDecodeError at a byte position in the first few kB,
    Arrow's "In CSV column #1: invalid UTF8 data" further on), where a JSON line that is
    not UTF-8 and a Parquet cell of bytes are refused by row and quarantined."""
    path = tmp_path / "events.csv"
    path.write_bytes(_csv_rows(3000, bad, sender=b"\xe9"))
    with pytest.raises(rs.SchemaError, match=rf"column 'sender_id', row {bad} \(line {bad + 2}\)"):
        rs.read_messages(path, max_future_s=float("inf"))
    table = rs.read_messages(path, errors="quarantine", max_future_s=float("inf"))
    assert len(table) == 2999
    held = table.quarantined
    assert (held.row.tolist(), held.line.tolist(), held.column) == (
        [bad],
        [bad + 2],
        ("sender_id",),
    )
    assert "UTF-8" in held.reason[0] or "bytes" in held.reason[0]


_SENTENCE = "see you at the park tonight, dont tell"


@pytest.mark.parametrize("column", ["channel", "sender_id", "timestamp"])
def test_text_given_as_bytes_that_may_be_content_is_never_quoted(column: str) -> None:
    """Was: refused text that may be message content (a sentence, free text in a
    category column) was shown by its length only when given as str: the same text given
    as bytes (a Parquet binary column, a CSV cell that is not UTF-8) was quoted in the
    error and copied whole into the quarantine record."""
    events: dict[str, Any] = dict(_columns())
    values = np.asarray(events[column], dtype=object)
    values[1] = _SENTENCE.encode("utf-8")
    events[column] = values
    with pytest.raises(rs.SchemaError) as caught:
        rs.read_messages(events, max_future_s=float("inf"))
    assert "see you" not in str(caught.value)
    assert "not shown: it may be message content" in str(caught.value)
    table = rs.read_messages(events, errors="quarantine", max_future_s=float("inf"))
    assert table.quarantined.value == (None,)
    arrow = pa.table({**_columns(), column: pa.array([b"x", _SENTENCE.encode()] * 2)})
    held = rs.read_messages(arrow, errors="quarantine", max_future_s=float("inf")).quarantined
    assert "see you" not in repr(held.value)


def _arrow_events(**columns: Any) -> pa.Table:
    events: dict[str, Any] = dict(_columns())
    events.update(columns)
    return pa.table(events)


def test_a_time_beyond_python_is_no_id() -> None:
    """Was: times Python's datetime cannot hold (beyond year 9999) were read as text
    (``4611686018427387904 (timestamp[s])``) for no check to accept, but text is an id:
    a column of such times was read as text ids, where the same column of times within
    Python's years is refused ("is not an id")."""
    far = [2**62 + i for i in range(4)]
    table = _arrow_events(
        sender_id=pa.array(far, pa.timestamp("s")),
        recipient_id=pa.array([far[1], far[0], far[3], far[2]], pa.timestamp("s")),
    )
    with pytest.raises(rs.SchemaError, match=r"'sender_id', row 0: '4611686018427387904 \(time"):
        rs.read_messages(table)
    held = rs.read_messages(table, errors="quarantine").quarantined
    assert held.value[0] == "4611686018427387904 (timestamp[s])"


@pytest.mark.parametrize(
    ("column", "values", "reason"),
    [
        ("sender_age", pa.array([1, 0, 1, 0], pa.int8()), "is a boolean"),
        ("timestamp", pa.array([1, 0, 1, 0], pa.int8()), "is not a timestamp"),
        ("conversation_id", pa.array([1, 1, 0, 0], pa.int8()), "is a boolean"),
    ],
)
def test_booleans_of_arrows_bool8_type_are_booleans(
    column: str, values: pa.Array, reason: str
) -> None:
    """Was: a column of Arrow's canonical boolean type ``bool8`` (an extension type held
    as int8) was read as its storage, 0 and 1: ages of 0 and 1 years, times of 1970, ids
    0 and 1, where booleans are refused in every other form."""
    table = _arrow_events(**{column: pa.ExtensionArray.from_storage(pa.bool8(), values)})
    with pytest.raises(rs.SchemaError, match=rf"'{column}', row 0: True {reason}"):
        rs.read_messages(table, max_future_s=float("inf"))


def test_a_pandas_period_through_arrow_is_no_number() -> None:
    """Was: a pandas Period column written to Arrow (pandas' extension type, held as its
    count of months since 1970) was read as that count: as epoch seconds in 1970, as ages,
    as ids, where the same Periods in the frame are refused."""
    months = pa.array(pd.period_range("2024-01", periods=4, freq="M"))
    for column in ("timestamp", "sender_age", "conversation_id"):
        with pytest.raises(rs.SchemaError, match=rf"'{column}', row 0: '648 \(extension"):
            rs.read_messages(_arrow_events(**{column: months}), max_future_s=float("inf"))


def test_a_union_column_is_refused_by_row() -> None:
    """Was: a union column stopped the read with pyarrow's ArrowNotImplementedError (numpy
    holds no union): its cells are the values they are, each refused or read by the rule."""
    mixed = pa.UnionArray.from_sparse(
        pa.array([0, 0, 1, 1], pa.int8()),
        [pa.array([T0, T0 + 60, 0, 0]), pa.array(["", "", "x", "2026-01-01T00:03:00Z"])],
    )
    table = rs.read_messages(_arrow_events(timestamp=mixed), errors="quarantine")
    assert table.quarantined.row.tolist() == [2]
    assert len(table) == 3


def test_a_symbolic_link_loop_is_named_in_one_line(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: a path that is a loop of symbolic links (``a -> b -> a``), as ``--out``, a
    queue or an account features file, ended the command with Python 3.11's RuntimeError
    traceback ("Symlink loop"), raised by the check that an output is not an input."""
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    events = tmp_path / "events.parquet"
    rs.write_messages(rs.read_messages(_columns(), max_future_s=float("inf")), events)
    loop = str(tmp_path / "a")
    for argv in (
        ["score", str(events), "--out", loop],
        ["score", str(events), "--out", str(tmp_path / "out"), "--queue", loop],
    ):
        # refused while the options are read, before any work (stop 48): argparse's exit 2,
        # its usage line, then one error line that names the loop
        with pytest.raises(SystemExit) as stop:
            main(argv)
        assert stop.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()[-1]
        assert "symbolic links" in err
        assert loop in err
        assert "Traceback" not in err


@pytest.mark.parametrize("column", ["sender_id", "channel"])
def test_a_dictionary_of_binary_views_reads_as_one_of_binary(column: str) -> None:
    """Was: a dictionary column of binary views stopped the read with pyarrow's
    ArrowNotImplementedError (Arrow casts no dictionary of views to its values); one of
    string views was already read as one of strings."""
    values = {"sender_id": [b"a", b"b"], "channel": [b"direct", b"group"]}[column]
    codes = pa.array([0, 1, 0, 1], pa.int8())
    views = pa.DictionaryArray.from_arrays(codes, pa.array(values, pa.binary_view()))
    plain = pa.DictionaryArray.from_arrays(codes, pa.array(values, pa.binary()))
    assert read_outcome(_arrow_events(**{column: views}), errors="quarantine") == read_outcome(
        _arrow_events(**{column: plain}), errors="quarantine"
    )
