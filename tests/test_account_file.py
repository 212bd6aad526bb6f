"""The per-account features file (riskscore/features/account_file.py): round trip with the
history's time range, and every bad file refused with one clear message."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import riskscore as rs
from riskscore.features import ACCOUNT_SLOTS, AccountFeatures
from riskscore.features.account_file import (
    ACCOUNT_FILE_COLUMNS,
    ACCOUNT_FILE_METADATA_KEY,
    PAIR_COLUMNS,
)
from riskscore.features.accounts import account_parts, tallies_from_parts


@pytest.fixture(scope="module")
def platform() -> rs.MessageTable:
    return rs.synthetic.generate(300, prevalence=0.05, seed=5).messages


@pytest.fixture
def good_file(platform: rs.MessageTable, tmp_path: Path) -> Path:
    return rs.write_account_features(
        rs.extract_account_features(platform), tmp_path / "accounts.parquet"
    )


def test_round_trip_keeps_tallies_ids_and_the_history(
    platform: rs.MessageTable, good_file: Path
) -> None:
    history = rs.extract_account_features(platform)
    again = rs.read_account_features(good_file)
    np.testing.assert_array_equal(again.account_id, history.account_id)
    assert again.values.tobytes() == history.values.tobytes()
    assert (again.history_start, again.history_end) == (
        int(platform.timestamp.min()),
        int(platform.timestamp.max()),
    )
    assert again.n_events == len(platform)
    table = pq.read_table(good_file)
    assert tuple(table.column_names) == ACCOUNT_FILE_COLUMNS
    counts = ("account_id", *ACCOUNT_SLOTS)
    assert all(pa.types.is_int64(table.schema.field(c).type) for c in counts)
    assert all(pa.types.is_list(table.schema.field(c).type) for c in PAIR_COLUMNS)
    meta = json.loads(table.schema.metadata[ACCOUNT_FILE_METADATA_KEY.encode()])
    assert meta["format"] == 6
    assert meta["n_accounts"] == len(history.account_id)
    assert meta["n_pairs"] == len(history.pairs) > 0
    # the pair facts, each pair once, in the row of its first account
    assert len(again.pairs) == len(history.pairs)
    first, private = history.pairs.lookup(again.pairs.lo, again.pairs.hi)
    assert first.tobytes() == again.pairs.first.tobytes()
    assert private.tobytes() == again.pairs.private.tobytes()
    assert np.isinf(again.pairs.private).any()  # pairs never on a private channel: null
    assert (again.pairs.lo < again.pairs.hi).all()
    assert meta["history_start_utc"].endswith("+00:00")


def test_text_ids_stay_text(tmp_path: Path) -> None:
    history = rs.extract_account_features(
        {
            "conversation_id": ["c1", "c1"],
            "timestamp": [1_700_000_000, 1_700_000_060],
            "sender_id": ["007", "7"],
            "recipient_id": ["7", "007"],
            "recipient_age": [12, 40],
            "channel": ["direct", "direct"],
        }
    )
    again = rs.read_account_features(rs.write_account_features(history, tmp_path / "a.parquet"))
    assert again.account_id.tolist() == ["007", "7"]
    assert again.values.tobytes() == history.values.tobytes()
    assert again.pairs.lo.tolist() == ["007"]
    assert again.pairs.hi.tolist() == ["7"]
    assert again.pairs.private.tolist() == [1_700_000_000.0]


def test_write_refuses_another_format_and_tallies_without_a_time_range(
    platform: rs.MessageTable, tmp_path: Path
) -> None:
    history = rs.extract_account_features(platform)
    with pytest.raises(rs.SchemaError, match=r"use a \.parquet suffix, got 'accounts\.csv'"):
        rs.write_account_features(history, tmp_path / "accounts.csv")
    merged = tallies_from_parts([account_parts(platform)])
    with pytest.raises(rs.SchemaError, match="record no time range"):
        rs.write_account_features(merged, tmp_path / "accounts.parquet")
    (tmp_path / "dir.parquet").mkdir()
    with pytest.raises(IsADirectoryError):
        rs.write_account_features(history, tmp_path / "dir.parquet")


def _rewrite(path: Path, change: Callable[[pa.Table], pa.Table]) -> Path:
    table = pq.read_table(path)
    meta = table.schema.metadata
    changed = change(table)
    if changed.schema.metadata is None and meta is not None:
        changed = changed.replace_schema_metadata(meta)
    pq.write_table(changed, path)
    return path


def _set(name: str, values: list[Any], type_: pa.DataType | None = None) -> Callable[..., Any]:
    def change(table: pa.Table) -> pa.Table:
        i = table.schema.get_field_index(name)
        rest = table.column(name).to_pylist()[len(values) :]
        if type_ == pa.string():
            rest = [str(v) for v in rest]
        column = values + rest
        return table.set_column(i, name, pa.array(column, type=type_))

    return change


def _meta(update: dict[str, Any] | None) -> Callable[[pa.Table], pa.Table]:
    def change(table: pa.Table) -> pa.Table:
        if update is None:
            return table.replace_schema_metadata({})
        meta = json.loads(table.schema.metadata[ACCOUNT_FILE_METADATA_KEY.encode()])
        return table.replace_schema_metadata(
            {ACCOUNT_FILE_METADATA_KEY: json.dumps({**meta, **update})}
        )

    return change


def _pairs(name: str, edit: Callable[[list[Any], Any], list[Any] | None]) -> Callable[..., Any]:
    """Change the ``name`` list of the first account with pairs (``edit(list, account)``)."""

    def change(table: pa.Table) -> pa.Table:
        lists = table.column(name).to_pylist()
        row = next(i for i, v in enumerate(table.column("pair_other").to_pylist()) if v)
        lists[row] = edit(list(lists[row]), table.column("account_id")[row].as_py())
        i = table.schema.get_field_index(name)
        return table.set_column(i, name, pa.array(lists, type=table.schema.field(name).type))

    return change


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.drop_columns(["minors", "flagged"]), "missing columns 'minors', 'flagged'"),
        (_set("contacts", ["3"], pa.string()), "column 'contacts' must hold whole numbers"),
        (_set("requests", [None], pa.int64()), "column 'requests', row 0: null"),
        (_set("accepts", [-1], pa.int64()), r"column 'accepts', row 0: -1 is not a whole number"),
        # counts must compare and divide exactly as float64: at most 2**53
        (_set("minor_events", [1e308], pa.float64()), r"row 0: 1e\+308 is not a whole number from"),
        (_set("minor_events", [2**53 + 1], pa.int64()), r"row 0: 9007199254740993 is not a whole"),
        (_set("minors", [0.5], pa.float64()), "column 'minors', row 0: 0.5 is not a whole"),
        (_set("flagged", [float("nan")], pa.float64()), "column 'flagged', row 0: nan is not"),
        (_set("account_id", [None], pa.int64()), "column 'account_id', row 0: null"),
        (_set("account_id", [1.5], pa.float64()), "'account_id' must hold integers or text"),
        (_meta(None), "is not a riskscore account features file"),
        (_meta({"format": 1}), "account features format 1, this riskscore reads format 6"),
        (_meta({"format": 2}), "account features format 2, this riskscore reads format 6"),
        # format 4 counted messages to rooms of 3 or 4 accounts as group contact
        (_meta({"format": 4}), "account features format 4, this riskscore reads format 6"),
        (_meta({"format": 5}), "account features format 5, this riskscore reads format 6"),
        (
            _set("supervised_minor_events", [10**9], pa.int64()),
            r"'supervised_minor_events', row 0: 1000000000 is more than that row's minor_events",
        ),
        (_meta({"history_end": "soon"}), "'history_end' must be a whole number"),
        (_meta({"history_start": 2_000_000_000}), "history_start 2000000000 is after"),
        # the pair facts
        (_pairs("pair_other", lambda v, a: None), r"'pair_other', row \d+: null; an account"),
        (_pairs("pair_other", lambda v, a: [None, *v[1:]]), r"'pair_other', row \d+: null"),
        (_pairs("pair_other", lambda v, a: [a, *v[1:]]), r"row \d+: \d+ does not sort after"),
        (
            _pairs("pair_other", lambda v, a: [v[0], *v]),
            r"'pair_first_ts', row \d+: \d+ values for \d+ in 'pair_other'",
        ),
        (_pairs("pair_first_ts", lambda v, a: [-5, *v[1:]]), r"row \d+: -5 is not a whole"),
        (
            _pairs("pair_first_channel", lambda v, a: ["lobby", *v[1:]]),
            r"'pair_first_channel', row \d+: 'lobby' is not a channel",
        ),
        (
            _pairs("pair_private_ts", lambda v, a: [1, *v[1:]]),
            r"'pair_private_ts', row \d+: 1 is before the pair's first event",
        ),
        (
            lambda t: t.set_column(
                t.schema.get_field_index("pair_other"), "pair_other", t.column("contacts")
            ),
            "column 'pair_other' must hold lists",
        ),
        (lambda t: t.drop_columns(["pair_first_channel"]), "missing column 'pair_first_channel'"),
    ],
)
def test_bad_files_are_refused_with_what_and_where(
    good_file: Path, change: Callable[[pa.Table], pa.Table], message: str
) -> None:
    _rewrite(good_file, change)
    with pytest.raises(rs.SchemaError, match=message) as info:
        rs.read_account_features(good_file)
    assert "\n" not in str(info.value)
    assert str(good_file) in str(info.value)


def test_a_pair_named_twice_is_refused(good_file: Path) -> None:
    def twice(table: pa.Table) -> pa.Table:
        for name in PAIR_COLUMNS:
            table = _pairs(name, lambda v, a: [v[0], *v])(table)
        return table

    _rewrite(good_file, twice)
    with pytest.raises(rs.SchemaError, match="names a pair more than once"):
        rs.read_account_features(good_file)


def test_pair_facts_of_another_history_are_refused(platform: rs.MessageTable) -> None:
    """A pair that met earlier in the events than in the file: another history."""
    history = rs.extract_account_features(platform)
    later = AccountFeatures(
        account_id=history.account_id,
        values=history.values,
        history_start=history.history_start,
        history_end=history.history_end,
        pairs=type(history.pairs)(
            lo=history.pairs.lo,
            hi=history.pairs.hi,
            first=history.pairs.first + 8 * 60,
            private=history.pairs.private,
        ),
    )
    with pytest.raises(rs.SchemaError, match="pairs of accounts met or went private earlier"):
        rs.extract_features(platform, account_features=later)


def test_a_repeated_account_is_refused(good_file: Path) -> None:
    table = pq.read_table(good_file)
    first = table.column("account_id")[0].as_py()
    _rewrite(good_file, _set("account_id", [first, first], pa.int64()))
    with pytest.raises(rs.SchemaError, match=f"row 1: {first} appears more than once"):
        rs.read_account_features(good_file)


def test_files_that_are_not_account_files(tmp_path: Path) -> None:
    garbage = tmp_path / "accounts.parquet"
    garbage.write_bytes(b"PAR1 not really")
    with pytest.raises(rs.SchemaError, match="cannot read account features"):
        rs.read_account_features(garbage)
    events = tmp_path / "events.parquet"
    rs.write_messages(rs.synthetic.generate(20, seed=1).messages, events)
    with pytest.raises(rs.SchemaError, match="is not a riskscore account features file") as e:
        rs.read_account_features(events)
    # the hint names a new file beside it, never the events file it was given
    assert "--out events.accounts.parquet" in str(e.value)
    with pytest.raises(FileNotFoundError):
        rs.read_account_features(tmp_path / "missing.parquet")
    with pytest.raises(rs.SchemaError, match="is a directory"):
        rs.read_account_features(tmp_path)


def test_whole_float_counts_from_another_writer_are_accepted(tmp_path: Path) -> None:
    values = {name: pa.array([1.0, 0.0]) for name in ACCOUNT_SLOTS}
    pairs = {
        "pair_other": pa.array([[], ["b"]]),
        "pair_first_ts": pa.array([[], [4.0]]),
        "pair_first_channel": pa.array([[], ["direct"]]),
        "pair_private_ts": pa.array([[], [4.0]]),
    }
    table = pa.table(
        {"account_id": pa.array(["b", "a"]), **values, **pairs}
    ).replace_schema_metadata(
        {
            ACCOUNT_FILE_METADATA_KEY: json.dumps(
                {"format": 6, "history_start": 0, "history_end": 10, "n_events": 3}
            )
        }
    )
    pq.write_table(table, tmp_path / "a.parquet")
    got = rs.read_account_features(tmp_path / "a.parquet")
    assert isinstance(got, AccountFeatures)
    assert got.account_id.tolist() == ["a", "b"]  # sorted for lookups
    np.testing.assert_array_equal(got.values[:, 0], [0.0, 1.0])
    assert got.pairs.lo.tolist() == ["a"]
    assert got.pairs.first.tolist() == [4.0 * 8 + 2]


def test_a_file_that_decompresses_to_far_more_than_its_size_is_refused_unread(
    good_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Was (hostile review): the file is read whole, and 1.4 MB of one row repeated 30
    million times took 7.3 GB of memory before its repeated id was refused. The size it
    would take is read from its metadata first (the floor lowered here from 256 MiB, so
    that a small file shows it; a file of real data passes)."""
    monkeypatch.setattr("riskscore.io.text.EXPANSION_FLOOR", 0)
    rs.read_account_features(good_file)
    one = pq.read_table(good_file).slice(0, 1)
    bomb = good_file.with_name("bomb.parquet")
    pq.write_table(pa.concat_tables([one] * 200_000), bomb, compression="zstd")
    with pytest.raises(rs.SchemaError, match=r"more than 200 times its size: not a file"):
        rs.read_account_features(bomb)
