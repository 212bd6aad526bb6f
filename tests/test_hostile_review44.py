"""Hostile review 44: the account features file (``riskscore accounts``, ``score
--accounts``) read back with hostile values.

Each test whose docstring begins "Was:" failed on the code before its fix."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import riskscore as rs
from riskscore.features.account_file import ACCOUNT_FILE_METADATA_KEY
from riskscore.features.kernel import ACCOUNT_SLOTS
from riskscore.io.raw import NotShown

SENTENCE = "see you at the park after school " * 20  # free text where an id or a name belongs
Pair = tuple[list[Any], list[int], list[str], list[int | None]]


def _file(path: Path, ids: list[Any], pairs: list[Pair] | None = None, **meta: Any) -> Path:
    """An account features file of ``ids`` (zero tallies) and their ``pairs`` per row."""
    id_type = pa.string() if ids and isinstance(ids[0], str) else pa.int64()
    columns = {"account_id": pa.array(ids, id_type)}
    for slot in ACCOUNT_SLOTS:
        columns[slot] = pa.array([0] * len(ids), pa.int64())
    rows = pairs or [([], [], [], [])] * len(ids)
    types = (id_type, pa.int64(), pa.string(), pa.int64())
    for j, (name, kind) in enumerate(
        zip(rs.features.account_file.PAIR_COLUMNS, types, strict=True)
    ):
        columns[name] = pa.array([row[j] for row in rows], pa.list_(kind))
    recorded = {"format": 6, "history_start": 100, "history_end": 1000, "n_events": 5}
    recorded.update({"decimal_ids": False, **meta})
    table = pa.table(columns).replace_schema_metadata(
        {ACCOUNT_FILE_METADATA_KEY: json.dumps(recorded)}
    )
    pq.write_table(table, path)
    return path


def _refused(path: Path) -> rs.SchemaError:
    with pytest.raises(rs.SchemaError) as caught:
        rs.read_account_features(path)
    return caught.value


def test_free_text_channel_of_a_pair_is_not_quoted(tmp_path: Path) -> None:
    """Was: a sentence in ``pair_first_channel`` (a channel name) was quoted whole in the
    error, as ``riskscore score --accounts`` printed it: message content on the terminal."""
    path = _file(
        tmp_path / "a.parquet", ["a", "b"], [(["b"], [200], [SENTENCE], [None]), ([], [], [], [])]
    )
    error = _refused(path)
    assert "park" not in str(error)
    assert (error.column, error.row) == ("pair_first_channel", 0)
    assert error.value == NotShown(len(SENTENCE))


def test_repeated_long_account_id_is_cut(tmp_path: Path) -> None:
    """Was: an account id of 5000 characters listed twice was quoted whole in the error.
    (It is now refused at its first row, as longer than any event's id can be.)"""
    long_id = "x" * 5000
    error = _refused(_file(tmp_path / "a.parquet", [long_id, long_id]))
    assert len(str(error)) < 400
    assert "5000 characters" in str(error)
    assert (error.column, error.row) == ("account_id", 0)


def test_sentence_as_decimal_id_is_not_quoted(tmp_path: Path) -> None:
    """Was: with ``decimal_ids`` true, a sentence as an account id was quoted whole."""
    error = _refused(_file(tmp_path / "a.parquet", [SENTENCE], decimal_ids=True))
    assert "park" not in str(error)
    assert error.value == NotShown(len(SENTENCE))


def test_sentence_as_pair_account_is_not_quoted(tmp_path: Path) -> None:
    """Was: a sentence in ``pair_other`` that does not sort after its row's account was
    quoted whole in the error."""
    pairs: list[Pair] = [([], [], [], []), ([" x y z"], [200], ["direct"], [None])]
    error = _refused(_file(tmp_path / "a.parquet", ["a", "b"], pairs))
    assert (error.column, error.row) == ("pair_other", 1)
    assert error.value == NotShown(len(" x y z"))


def test_pair_listed_twice_names_its_row_and_account(tmp_path: Path) -> None:
    """Was: a pair listed twice was refused without its row or account ("names a pair
    more than once"), leaving a user to search the file."""
    pairs: list[Pair] = [
        ([], [], [], []),
        (["c", "c"], [200, 300], ["direct", "direct"], [None, None]),
        ([], [], [], []),
    ]
    error = _refused(_file(tmp_path / "a.parquet", ["a", "b", "c"], pairs))
    assert (error.column, error.row, error.value) == ("pair_other", 1, "c")
    assert "row 1" in str(error)
    assert "'c'" in str(error)


def test_pair_with_an_account_without_a_row_is_refused(tmp_path: Path) -> None:
    """Was: a pair naming an account the file has no row for was read, although the
    writer refuses such pair facts (tallies and pairs of two histories)."""
    pairs: list[Pair] = [(["zz"], [200], ["direct"], [None]), ([], [], [], [])]
    error = _refused(_file(tmp_path / "a.parquet", ["a", "b"], pairs))
    assert (error.column, error.row, error.value) == ("pair_other", 0, "zz")


def test_integer_pair_account_without_a_row_is_refused(tmp_path: Path) -> None:
    """Was: as above, with integer ids (7 has a row, 9 has none)."""
    pairs: list[Pair] = [([9], [200], ["direct"], [None]), ([], [], [], [])]
    error = _refused(_file(tmp_path / "a.parquet", [3, 7], pairs))
    assert (error.column, error.row, error.value) == ("pair_other", 0, 9)


def test_well_formed_file_still_reads(tmp_path: Path) -> None:
    """The checks above keep a well-formed file of pairs readable."""
    pairs: list[Pair] = [
        (["b", "c"], [200, 300], ["direct", "public"], [None, 400]),
        ([], [], [], []),
        ([], [], [], []),
    ]
    read = rs.read_account_features(_file(tmp_path / "a.parquet", ["a", "b", "c"], pairs))
    assert list(read.account_id) == ["a", "b", "c"]
    assert len(read.pairs) == 2
