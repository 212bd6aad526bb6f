"""Hostile input on the paths for huge message tables (review 52): account features files
counted under another broadcast limit than the events they score."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import riskscore as rs
from riskscore.batch.accounts import account_features_file
from riskscore.batch.out_of_core import score_parquet
from riskscore.batch.parquet_chunks import iter_conversation_chunks
from riskscore.batch.score import score_events
from riskscore.cli import main
from riskscore.features.account_file import ACCOUNT_FILE_METADATA_KEY
from riskscore.io.groups import DEFAULT_MAX_ROOM_MEMBERS

T0 = 1_767_225_600


def _room_then_direct() -> pa.Table:
    """An adult who messages a room of 25 accounts, then one of them in private."""
    rows = []
    kids = [f"k{i}" for i in range(24)]
    for j in range(3):
        for kid in kids:
            rows.append(
                {
                    "conversation_id": "room",
                    "timestamp": T0 + 60 * j,
                    "sender_id": "A",
                    "recipient_id": kid,
                    "channel": "group",
                    "sender_age": 40.0,
                    "recipient_age": 13.0,
                    "room_size": 25,
                }
            )
    for j in range(20):
        adult = j % 2 == 0
        rows.append(
            {
                "conversation_id": "dm",
                "timestamp": T0 + 86_400 + 600 * j,
                "sender_id": "A" if adult else "k0",
                "recipient_id": "k0" if adult else "A",
                "channel": "direct" if j < 10 else "encrypted",
                "sender_age": 40.0 if adult else 13.0,
                "recipient_age": 13.0 if adult else 40.0,
                "room_size": None,
            }
        )
    return pa.Table.from_pylist(rows)


def _score_part(part: Path, out: Path, accounts: Any, chunk_rows: int | None) -> object:
    """Score ``part`` with ``accounts`` in memory (``chunk_rows`` None) or out of core."""
    if chunk_rows is None:
        return score_events(part, out, account_features=accounts)
    return score_parquet(part, out, account_features=accounts, chunk_rows=chunk_rows)


@pytest.fixture
def history(tmp_path: Path) -> tuple[Path, Path]:
    """The history file and a part of it (the private conversation)."""
    table = _room_then_direct()
    pq.write_table(table, tmp_path / "history.parquet")
    pq.write_table(
        table.filter(pc.equal(table["conversation_id"], "dm")), tmp_path / "part.parquet"
    )
    return tmp_path / "history.parquet", tmp_path / "part.parquet"


def test_the_file_records_its_broadcast_limit(history: tuple[Path, Path], tmp_path: Path) -> None:
    whole, _ = history
    path = account_features_file(whole, tmp_path / "a.parquet", max_room_members=50).path
    meta = json.loads(pq.read_schema(path).metadata[ACCOUNT_FILE_METADATA_KEY.encode()])
    assert meta["max_room_members"] == 50
    assert rs.read_account_features(path).max_room_members == 50


@pytest.mark.parametrize("chunk_rows", [None, 5])
def test_scoring_under_another_broadcast_limit_is_refused(
    history: tuple[Path, Path], tmp_path: Path, chunk_rows: int | None
) -> None:
    """Counted with rooms of 50 as groups, the file gave the part's pair a group meeting
    that the part's reading (rooms above 20 are broadcasts) has not: a silent other risk
    (0.057 where the whole history scored with 20 gives 0.27)."""
    whole, part = history
    path = account_features_file(whole, tmp_path / "a.parquet", max_room_members=50).path
    accounts = rs.read_account_features(path)

    with pytest.raises(rs.SchemaError, match=r"max_room_members 50 .* 20") as caught:
        _score_part(part, tmp_path / "out", accounts, chunk_rows)
    assert "--max-room-members 50" in str(caught.value)
    assert not (tmp_path / "out").exists()
    args = ["score", str(part), "--accounts", str(path), "--out", str(tmp_path / "cli")]
    extra = [] if chunk_rows is None else ["--chunk-rows", "5"]
    assert main([*args, *extra]) == 2
    # the same limit on both sides scores as the whole history does
    assert main([*args, *extra, "--max-room-members", "50"]) == 0


def test_the_same_limit_scores_as_the_whole_history(
    history: tuple[Path, Path], tmp_path: Path
) -> None:
    whole, part = history
    path = account_features_file(whole, tmp_path / "a.parquet").path
    accounts = rs.read_account_features(path)
    assert accounts.max_room_members == DEFAULT_MAX_ROOM_MEMBERS
    got = score_events(part, tmp_path / "out", account_features=accounts).scores
    full = rs.load_model().score(rs.read_messages(whole))
    assert got.conversation_id.tolist() == ["dm"]
    assert got.risk[0] == full.risk[full.conversation_id.tolist().index("dm")]


def test_a_file_read_here_is_read_with_the_default_limit(
    history: tuple[Path, Path], tmp_path: Path
) -> None:
    whole, part = history
    path = account_features_file(whole, tmp_path / "a.parquet", max_room_members=50).path
    accounts = rs.read_account_features(path)
    with pytest.raises(rs.SchemaError, match="max_room_members 50"):
        rs.load_model().score(part, account_features=accounts)
    # a table read with the file's limit is the caller's to match
    table = rs.read_messages(part, max_room_members=50)
    assert len(rs.load_model().score(table, account_features=accounts).risk) == 1


@pytest.mark.parametrize("limit", [1, True, "20", 2.5])
def test_a_tampered_limit_is_refused(
    history: tuple[Path, Path], tmp_path: Path, limit: object
) -> None:
    whole, _ = history
    path = account_features_file(whole, tmp_path / "a.parquet").path
    table = pq.read_table(path)
    meta = json.loads(table.schema.metadata[ACCOUNT_FILE_METADATA_KEY.encode()])
    meta["max_room_members"] = limit
    pq.write_table(
        table.replace_schema_metadata({ACCOUNT_FILE_METADATA_KEY: json.dumps(meta)}), path
    )
    with pytest.raises(rs.SchemaError, match="metadata 'max_room_members' must be"):
        rs.read_account_features(path)


@pytest.mark.parametrize("chunk_rows", [True, 2.5, "100", float("nan"), 10**30, 0, -1])
def test_a_chunk_size_that_is_no_count_of_rows_is_refused(
    history: tuple[Path, Path], tmp_path: Path, chunk_rows: object
) -> None:
    """``True`` and ``2.5`` ran as chunks of 1 and 2.5 rows; text, NaN and 10**30 raised
    a comparison's TypeError, ``int()``'s ValueError and an OverflowError; 0 reached
    pyarrow's ``batch_size must be greater than zero``."""
    whole, _ = history
    match = r"chunk_rows must be an integer from 1 to 9007199254740992, got "
    with pytest.raises(ValueError, match=match):
        score_parquet(whole, tmp_path / "out", chunk_rows=chunk_rows)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=match):
        next(iter_conversation_chunks(whole, chunk_rows=chunk_rows))  # type: ignore[arg-type]
    assert not (tmp_path / "out").exists()


def test_limits_that_set_no_room_aside_are_one_limit(
    history: tuple[Path, Path], tmp_path: Path
) -> None:
    whole, part = history
    path = account_features_file(whole, tmp_path / "a.parquet", max_room_members=10**7).path
    accounts = rs.read_account_features(path)
    result = score_events(part, tmp_path / "out", account_features=accounts, max_room_members=10**9)
    assert len(result.scores.risk) == 1


@pytest.mark.parametrize("chunk_rows", [None, 5])
def test_a_path_given_as_account_features_is_refused_by_type(
    history: tuple[Path, Path], tmp_path: Path, chunk_rows: int | None
) -> None:
    """Out of core, a path reached ``given.for_ids`` after the whole fold (AttributeError)."""
    whole, part = history
    path = account_features_file(whole, tmp_path / "a.parquet").path
    with pytest.raises(TypeError, match="account_features must be the AccountFeatures"):
        _score_part(part, tmp_path / "out", path, chunk_rows)


@pytest.mark.parametrize("shuffled", [False, True])
def test_a_refusal_out_of_core_names_the_rows_of_the_whole_file(
    tmp_path: Path, shuffled: bool
) -> None:
    """Out of core the job stopped at its first bad chunk: it counted that chunk's bad
    rows only (``84 more bad rows`` where the file has 1,413), and in a file not sorted
    by conversation named the first bad row of the first bad chunk by conversation id,
    not the file's first bad row."""
    table = rs.synthetic.generate(40, prevalence=0.1, seed=5).messages.to_arrow()
    if shuffled:  # ids going down: read by conversation id order, not file order
        table = table.take(pa.array(range(table.num_rows - 1, -1, -1)))
    channel = table["channel"].to_pylist()
    for i in range(0, len(channel), 37):
        channel[i] = "pigeon"
    table = table.set_column(table.schema.get_field_index("channel"), "channel", pa.array(channel))
    path = tmp_path / "events.parquet"
    pq.write_table(table, path, row_group_size=100)
    with pytest.raises(rs.SchemaError) as in_memory:
        rs.read_messages(path)
    with pytest.raises(rs.SchemaError) as chunked:
        score_parquet(path, tmp_path / "out", chunk_rows=200)
    assert str(chunked.value) == str(in_memory.value)
    assert (chunked.value.row, chunked.value.bad_rows) == (0, in_memory.value.bad_rows)
    assert not (tmp_path / "out").exists()


def test_a_table_given_records_and_checks_no_limit(
    history: tuple[Path, Path], tmp_path: Path
) -> None:
    """A MessageTable was read with a limit it does not record: the option given beside
    it is not the table's, so it is neither written nor checked."""
    whole, part = history
    table = rs.read_messages(whole, max_room_members=50)
    path = account_features_file(table, tmp_path / "a.parquet").path
    assert rs.read_account_features(path).max_room_members is None
    accounts = rs.read_account_features(
        account_features_file(whole, tmp_path / "b.parquet", max_room_members=50).path
    )
    scored = score_events(
        rs.read_messages(part, max_room_members=50), tmp_path / "out", account_features=accounts
    )
    assert scored.scores.conversation_id.tolist() == ["dm"]


def test_account_features_of_a_file_read_here_record_the_default_limit(
    history: tuple[Path, Path],
) -> None:
    whole, part = history
    counted = rs.extract_account_features(whole)
    assert counted.max_room_members == DEFAULT_MAX_ROOM_MEMBERS
    assert rs.extract_account_features(rs.read_messages(whole)).max_room_members is None
    with pytest.raises(rs.SchemaError, match=r"max_room_members 20 .* 50"):
        score_events(part, part.parent / "out", account_features=counted, max_room_members=50)
