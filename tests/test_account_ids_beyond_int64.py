"""Account features of a history whose account ids are integers beyond int64 (an unsigned
id column read as decimal text, riskscore/io/ids.py) join a part of that history read with
integer ids: the file records that its text ids are integers, so no account is split
between the two kinds and no integer id is merged with a text id."""

from __future__ import annotations

import csv
import json
import os
import signal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import riskscore as rs
from riskscore.cli import main
from riskscore.features.account_file import ACCOUNT_FILE_METADATA_KEY

BIG = 2**64 - 7


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """big.parquet: uint64 account ids, one account's id 2**64 - 7 (every id of the file
    is then decimal text in memory); part.parquet: the conversations without that account
    (integer ids in memory; ``9`` sorts before ``10`` there, after it as text);
    acc.parquet: ``riskscore accounts big.parquet``."""
    out = tmp_path_factory.mktemp("ids64")
    table = rs.synthetic.generate(400, prevalence=0.05, seed=3).messages.to_arrow()
    chosen = table["sender_id"][table.num_rows - 1]
    holds = pc.or_(pc.equal(table["sender_id"], chosen), pc.equal(table["recipient_id"], chosen))
    conversations = pc.unique(table["conversation_id"].filter(holds))
    with_it = pc.is_in(table["conversation_id"], value_set=conversations)
    for name in ("sender_id", "recipient_id"):
        # ids of 1 to 3 digits: their order as text is not their order as integers
        ids = pc.cast(pc.subtract(table[name], 999_995), pa.uint64())
        big = pc.if_else(pc.equal(table[name], chosen), pa.scalar(BIG, pa.uint64()), ids)
        table = table.set_column(table.column_names.index(name), name, big)
    pq.write_table(table, out / "big.parquet")
    pq.write_table(table.filter(pc.invert(with_it)), out / "part.parquet")
    assert main(["accounts", str(out / "big.parquet"), "--out", str(out / "acc.parquet")]) == 0
    return out


def _risks(folder: Path) -> dict[str, float]:
    with (folder / "scores.csv").open() as fh:
        return {r["conversation_id"]: float(r["risk"]) for r in csv.DictReader(fh)}


def _error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(argv) == 2
    return capsys.readouterr().err


@pytest.mark.parametrize("chunk_rows", [None, 2_000])
def test_a_part_with_integer_ids_scores_as_in_the_history(
    history: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], chunk_rows: int | None
) -> None:
    # the part's ids are integers, the file's decimal text: refused as another kind before
    common = ["--format", "csv", "--top", "0"]
    chunked = [] if chunk_rows is None else ["--chunk-rows", str(chunk_rows)]
    assert (
        main(["score", str(history / "big.parquet"), "--out", str(tmp_path / "full"), *common]) == 0
    )
    argv = ["score", str(history / "part.parquet"), "--out", str(tmp_path / "part"), *common]
    assert main([*argv, *chunked, "--accounts", str(history / "acc.parquet")]) == 0
    capsys.readouterr()
    full, part = _risks(tmp_path / "full"), _risks(tmp_path / "part")
    assert len(part) > 100
    assert part == {c: full[c] for c in part}


def test_the_features_of_the_part_are_those_in_the_history(history: Path) -> None:
    big = rs.read_messages(history / "big.parquet")
    part = rs.read_messages(history / "part.parquet")
    assert big.accounts.dtype == object
    assert part.accounts.dtype == np.int64
    in_memory = rs.extract_account_features(big)
    from_file = rs.read_account_features(history / "acc.parquet")
    assert in_memory.decimal_ids
    assert from_file.decimal_ids
    full = rs.extract_features(big)
    rows = dict(zip(full.conversation_id.tolist(), full.values, strict=True))
    for accounts in (in_memory, from_file):
        joined = rs.extract_features(part, account_features=accounts)
        want = np.array([rows[c] for c in joined.conversation_id.tolist()])
        np.testing.assert_array_equal(joined.values, want)


def test_the_file_records_integers_written_as_decimal_text(history: Path, tmp_path: Path) -> None:
    table = pq.read_table(history / "acc.parquet")
    assert pa.types.is_string(table.schema.field("account_id").type)
    assert str(BIG) in table["account_id"].to_pylist()
    meta = json.loads(table.schema.metadata[ACCOUNT_FILE_METADATA_KEY.encode()])
    assert meta["format"] == 6
    assert meta["decimal_ids"] is True
    plain = rs.synthetic.generate(50, seed=2).messages
    path = rs.write_account_features(rs.extract_account_features(plain), tmp_path / "p.parquet")
    meta = json.loads(pq.read_schema(path).metadata[ACCOUNT_FILE_METADATA_KEY.encode()])
    assert meta["decimal_ids"] is False
    assert not rs.read_account_features(path).decimal_ids


def _as_text_ids(source: Path, target: Path) -> Path:
    table = pq.read_table(source)
    for name in ("sender_id", "recipient_id"):
        i = table.column_names.index(name)
        table = table.set_column(i, name, pc.cast(table[name], pa.string()))
    pq.write_table(table, target)
    return target


def test_text_ids_and_integer_ids_are_never_merged(
    history: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a history of genuinely text ids (the same digits) still refuses integer events...
    text_history = _as_text_ids(history / "big.parquet", tmp_path / "text.parquet")
    text_file = tmp_path / "text_acc.parquet"
    assert main(["accounts", str(text_history), "--out", str(text_file)]) == 0
    assert not rs.read_account_features(text_file).decimal_ids
    message = "account ids are text in the account features but integers in the events"
    for events in ("part.parquet", "big.parquet"):  # ... within int64 or beyond (merged before)
        for chunked in ([], ["--chunk-rows", "2000"]):
            argv = ["score", str(history / events), "--out", str(tmp_path / "o"), *chunked]
            assert message in _error([*argv, "--accounts", str(text_file)], capsys)
    # and the integers of the file refuse text events
    text_part = _as_text_ids(history / "part.parquet", tmp_path / "text_part.parquet")
    with pytest.raises(rs.SchemaError, match="integers in the account features but text in the"):
        rs.extract_features(
            rs.read_messages(text_part),
            account_features=rs.read_account_features(history / "acc.parquet"),
        )


def test_integer_tallies_join_events_of_decimal_text(history: Path) -> None:
    # Events whose id beyond int64 is on a quarantined row: every kept id fits in int64 but
    # is decimal text; tallies of the same events with integer ids join them as that text
    # (their order, and the order of each pair, is that of the text)
    table = pq.read_table(history / "big.parquet")
    bad = pc.equal(table["sender_id"], pa.scalar(BIG, pa.uint64()))
    bad = pc.or_(bad, pc.equal(table["recipient_id"], pa.scalar(BIG, pa.uint64())))
    table = table.set_column(1, "timestamp", pc.if_else(bad, pa.scalar(-1, pa.int64()), table[1]))
    events = rs.read_messages(table, errors="quarantine")
    assert len(events.quarantined)
    assert events.accounts.dtype == object
    integers = rs.read_messages(table.filter(pc.invert(bad)))
    assert integers.accounts.dtype == np.int64
    joined = rs.extract_features(events, account_features=rs.extract_account_features(integers))
    own = rs.extract_features(events)
    assert joined.conversation_id.tolist() == own.conversation_id.tolist()
    np.testing.assert_array_equal(joined.values, own.values)


def _with_meta(source: Path, target: Path, **changes: object) -> Path:
    table = pq.read_table(source)
    meta = json.loads(table.schema.metadata[ACCOUNT_FILE_METADATA_KEY.encode()])
    meta.update(changes)
    meta = {k: v for k, v in meta.items() if v is not None}
    pq.write_table(
        table.replace_schema_metadata({ACCOUNT_FILE_METADATA_KEY: json.dumps(meta)}), target
    )
    return target


@pytest.mark.parametrize("old_format", [3, 4])
def test_files_of_earlier_formats_are_refused_with_a_note_to_rebuild(
    history: Path, tmp_path: Path, old_format: int
) -> None:
    """Format 3 had no ``decimal_ids``; format 4 counted messages to rooms of 3 or 4
    accounts as group contact: their tallies are not this riskscore's."""
    ids = None if old_format == 3 else False
    source, target = history / "acc.parquet", tmp_path / "old.parquet"
    old = _with_meta(source, target, format=old_format, decimal_ids=ids)
    with pytest.raises(rs.SchemaError, match=f"format {old_format}, this riskscore reads format 6"):
        rs.read_account_features(old)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"decimal_ids": "yes"}, "metadata 'decimal_ids' must be true or false"),
        ({"format": 7}, "account features format 7, this riskscore reads format"),
    ],
)
def test_bad_metadata_is_refused(
    history: Path, tmp_path: Path, change: dict[str, object], message: str
) -> None:
    bad = _with_meta(history / "acc.parquet", tmp_path / "bad.parquet", **change)
    with pytest.raises(rs.SchemaError, match=message):
        rs.read_account_features(bad)


@pytest.mark.parametrize("column", ["account_id", "pair_other"])
@pytest.mark.parametrize("value", ["007", "acct-9", "+5", ""])
def test_decimal_ids_that_are_not_decimal_integers_are_refused(
    history: Path, tmp_path: Path, column: str, value: str
) -> None:
    table = pq.read_table(history / "acc.parquet")
    if column == "account_id":
        ids = table["account_id"].to_pylist()
        ids[3] = value
        table = table.set_column(0, column, pa.array(ids, pa.string()))
        row = 3
    else:
        lists = table[column].to_pylist()
        row = next(i for i, v in enumerate(lists) if v)
        lists[row][0] = value
        i = table.column_names.index(column)
        table = table.set_column(i, column, pa.array(lists, pa.list_(pa.string())))
    pq.write_table(table, tmp_path / "bad.parquet")
    with pytest.raises(rs.SchemaError) as e:
        rs.read_account_features(tmp_path / "bad.parquet")
    assert e.value.column == column
    assert e.value.row == row
    assert e.value.value == value
    assert "is not an integer written as decimal text" in str(e.value)


def test_decimal_ids_in_an_integer_column_are_refused(tmp_path: Path) -> None:
    plain = rs.synthetic.generate(50, seed=2).messages
    path = rs.write_account_features(rs.extract_account_features(plain), tmp_path / "p.parquet")
    bad = _with_meta(path, tmp_path / "bad.parquet", decimal_ids=True)
    with pytest.raises(rs.SchemaError, match="'decimal_ids' is true but column 'account_id'"):
        rs.read_account_features(bad)


def test_unsigned_ids_beyond_int64_beside_text_ids_are_refused() -> None:
    # integer 5 (a uint64 column with an id beyond int64) and text "5" were one account
    events = {
        "conversation_id": [1, 1, 2],
        "timestamp": [1_700_000_000, 1_700_000_060, 1_700_000_100],
        "sender_id": pa.array([BIG, 5, 5], pa.uint64()),
        "recipient_id": ["5", str(BIG), "7"],
        "sender_age": [40, 12, 40],
        "recipient_age": [12, 40, 13],
        "channel": ["direct"] * 3,
    }
    with pytest.raises(rs.SchemaError, match=r"'recipient_id'.* is text while sender_id holds"):
        rs.read_messages(pa.table(events))


def _blocked(signum: int, frame: Any) -> None:
    raise TimeoutError("the read blocked")


def test_a_fifo_or_a_directory_is_refused(tmp_path: Path) -> None:
    # pyarrow called a FIFO a missing file (FileNotFoundError); the alarm guards a blocking open
    fifo = tmp_path / "acc.parquet"
    os.mkfifo(fifo)
    previous = signal.signal(signal.SIGALRM, _blocked)
    signal.alarm(20)
    try:
        with pytest.raises(rs.SchemaError, match="is not a regular file"):
            rs.read_account_features(fifo)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    with pytest.raises(rs.SchemaError, match="is a directory: give the path of one account"):
        rs.read_account_features(tmp_path)
    with pytest.raises(FileNotFoundError):
        rs.read_account_features(tmp_path / "missing.parquet")
