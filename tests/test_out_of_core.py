"""Out-of-core scoring equals in-memory scoring, sorted or not, across chunks; bad rows
and columns are refused or quarantined as in memory. Chunks scored without a second
check, account features of another history, spilled states and progress are in
``test_out_of_core_states.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from _groups import with_group_rooms
from out_of_core_helpers import (
    _assert_same_as_in_memory,
    _write,
    small_events,
)

import riskscore as rs
from riskscore.batch.out_of_core import iter_conversation_chunks, score_parquet
from riskscore.batch.parquet_chunks import _batches
from riskscore.cli import main
from riskscore.features.accounts import account_parts, tallies_from_parts
from riskscore.io.arrow import nan_to_null
from riskscore.policy import scores_table
from riskscore.policy.alerts import given_alerts


@pytest.fixture(scope="module")
def model() -> rs.RiskModel:
    return rs.load_model()


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> pa.Table:
    return small_events()


def test_adults_span_chunks_in_this_data(events: pa.Table, tmp_path: Path) -> None:
    # guards the tests below: per-account features must need more than one chunk
    path = _write(events, tmp_path / "events.parquet")
    chunks = list(iter_conversation_chunks(path, chunk_rows=2_000))
    chunk_of_sender: dict[object, set[int]] = {}
    for i, chunk in enumerate(chunks):
        for sender in set(chunk.column("sender_id").to_pylist()):
            chunk_of_sender.setdefault(sender, set()).add(i)
    assert max(len(c) for c in chunk_of_sender.values()) > 1


def test_tallies_of_split_conversations_equal_those_of_the_whole_file(
    events: pa.Table, tmp_path: Path
) -> None:
    # Step 1 reads plain record batches, which split conversations: their parts must
    # still merge into the tallies of the whole file.
    path = _write(events, tmp_path / "events.parquet")
    batches = list(_batches(path, 777))
    assert len(batches) > 1
    merged = tallies_from_parts([account_parts(rs.read_messages(t)) for t in batches])
    whole = rs.extract_account_features(rs.read_messages(path))
    np.testing.assert_array_equal(merged.lookup(whole.account_id), whole.values)
    # ... and they matter: one chunk alone undercounts the fan-out of its adults.
    msgs = rs.read_messages(next(iter_conversation_chunks(path, chunk_rows=2_000)))
    local = rs.extract_features(msgs).column("adult_private_minor_fanout")
    joined = rs.extract_features(msgs, account_features=merged).column("adult_private_minor_fanout")
    assert np.all(local <= joined)
    assert np.any(local < joined)


def test_sorted_file_scores_equal_in_memory(
    events: pa.Table, tmp_path: Path, model: rs.RiskModel
) -> None:
    path = _write(events, tmp_path / "events.parquet")
    result = _assert_same_as_in_memory(path, tmp_path / "out", model, chunk_rows=2_000)
    assert not result.partitioned
    assert result.n_events == events.num_rows


def test_unsorted_file_scores_equal_in_memory(
    events: pa.Table, tmp_path: Path, model: rs.RiskModel
) -> None:
    rng = np.random.default_rng(11)
    shuffled = events.take(pa.array(rng.permutation(events.num_rows)))
    path = _write(shuffled, tmp_path / "shuffled.parquet")
    result = _assert_same_as_in_memory(path, tmp_path / "out", model, chunk_rows=3_000)
    assert result.partitioned


def test_string_ids_score_equal_in_memory(
    events: pa.Table, tmp_path: Path, model: rs.RiskModel
) -> None:
    table = events
    for name in ("conversation_id", "sender_id", "recipient_id"):
        i = table.column_names.index(name)
        table = table.set_column(i, name, pc.cast(table.column(name), pa.string()))
    rng = np.random.default_rng(5)
    path = _write(table.take(pa.array(rng.permutation(table.num_rows))), tmp_path / "s.parquet")
    _assert_same_as_in_memory(path, tmp_path / "out", model, chunk_rows=4_000)


def test_account_ids_beyond_int64_in_one_chunk_score_equal_in_memory(
    events: pa.Table, tmp_path: Path, model: rs.RiskModel
) -> None:
    # Unsigned ids, beyond int64 only in the file's last conversation: in memory every id
    # is then decimal text; a chunk without such an id must not keep integers (the merge
    # of the chunks' tallies met text beside integers and raised TypeError)
    last = pc.equal(events["conversation_id"], pc.max(events["conversation_id"]))
    table = events
    for name in ("sender_id", "recipient_id"):
        ids = pc.cast(table[name], pa.uint64())
        big = pc.subtract(pa.scalar(2**64 - 1, pa.uint64()), ids)
        table = table.set_column(table.column_names.index(name), name, pc.if_else(last, big, ids))
    path = _write(table, tmp_path / "u.parquet")
    assert rs.read_messages(path).accounts.dtype == object  # text in memory
    _assert_same_as_in_memory(path, tmp_path / "out", model, chunk_rows=4_000)


@pytest.mark.parametrize("shuffle", [False, True])
def test_group_rooms_score_equal_in_memory_in_the_same_order(
    events: pa.Table, tmp_path: Path, model: rs.RiskModel, shuffle: bool
) -> None:
    """Rooms split into pairs out of core as in memory: the same rows, in the in-memory
    order once sorted by conversation id (chunks follow the file's ids, which the pair ids
    of rooms do not: integer ids become text, '10' before '9'), the same alerts in the
    same order, and pair facts merged over the chunks (a pair's room and its own
    conversation are apart)."""
    table = with_group_rooms(rs.read_messages(events), 4)
    if shuffle:
        table = table.take(pa.array(np.random.default_rng(2).permutation(table.num_rows)))
    else:
        table = table.sort_by("conversation_id")
    path = _write(table, tmp_path / "groups.parquet")
    out = tmp_path / "out"
    result = _assert_same_as_in_memory(path, out, model, chunk_rows=2_000, sort=True)
    assert result.partitioned == shuffle
    assert result.groups.n_rooms > 20
    groups = rs.read_messages(path).groups
    assert (result.groups.n_rooms, result.groups.n_pairs) == (groups.n_rooms, groups.n_pairs)
    # pair facts need the other chunks: one chunk alone misses where its pairs met
    msgs = rs.read_messages(path)
    chunk = rs.read_messages(next(iter_conversation_chunks(path, chunk_rows=2_000)))
    features = rs.extract_features(msgs)
    met = dict(
        zip(features.conversation_id.tolist(), features.column("pair_met_channel"), strict=True)
    )
    alone = rs.extract_features(chunk)
    ids, alone_met = alone.conversation_id.tolist(), alone.column("pair_met_channel")
    assert any(met[str(c)] != v for c, v in zip(ids, alone_met, strict=True))


def test_chunks_never_split_a_conversation(events: pa.Table, tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    for table in (events, events.take(pa.array(rng.permutation(events.num_rows)))):
        path = _write(table, tmp_path / "e.parquet")
        seen: dict[object, int] = {}
        total = 0
        for i, chunk in enumerate(iter_conversation_chunks(path, chunk_rows=1_500)):
            total += chunk.num_rows
            for cid in set(chunk.column("conversation_id").to_pylist()):
                assert seen.setdefault(cid, i) == i
        assert total == table.num_rows
        assert len(set(seen.values())) > 1


def test_cli_streaming_writes_the_in_memory_scores(events: pa.Table, tmp_path: Path) -> None:
    path = _write(events, tmp_path / "events.parquet")
    assert main(["score", str(path), "--out", str(tmp_path / "a"), "--top", "0"]) == 0
    argv = ["score", str(path), "--out", str(tmp_path / "b"), "--top", "0", "--chunk-rows", "900"]
    assert main(argv) == 0
    for name in ("scores.parquet", "alerts.parquet"):  # text ids: compared in one order
        b, a = (pq.read_table(tmp_path / d / name) for d in ("b", "a"))
        assert b.sort_by("conversation_id").equals(a.sort_by("conversation_id"))


def test_bad_row_is_refused_with_its_column(events: pa.Table, tmp_path: Path) -> None:
    ages = events.column("sender_age").to_numpy(zero_copy_only=False).copy()
    ages[1_234] = 400.0
    i = events.column_names.index("sender_age")
    path = _write(events.set_column(i, "sender_age", pa.array(ages)), tmp_path / "bad.parquet")
    with pytest.raises(rs.SchemaError, match="sender_age"):
        score_parquet(path, tmp_path / "out", chunk_rows=2_000)


def _with_bad_rows(events: pa.Table) -> pa.Table:
    """The events with rows that break schema v1 in every way a chunk must see as the
    whole file does: bad cells and rows without a conversation id (null); and a third
    account in a conversation long enough to span chunks, which makes it a group room
    split into pair conversations (the group rule, which needs the whole conversation;
    every conversation id is then text)."""
    cols = {name: events.column(name).to_pylist() for name in events.column_names}
    ids = np.asarray(cols["conversation_id"])
    longest = np.flatnonzero(ids == np.bincount(ids).argmax())
    cols["sender_id"][int(longest[-5])] = 10**12  # a third account, late in the conversation
    cols["sender_age"][1_234] = 400.0
    cols["channel"][5_001] = "whatsapp"
    cols["timestamp"][7_777] = -5
    for row in (3, 9_000, 20_000):
        cols["conversation_id"][row] = None
    return pa.table(cols, schema=events.schema)


@pytest.mark.parametrize("order", ["sorted", "shuffled", "breaks_late"])
def test_quarantine_out_of_core_equals_in_memory(
    events: pa.Table, tmp_path: Path, model: rs.RiskModel, order: str
) -> None:
    """``breaks_late``: sorted but for its first rows moved to the end, so chunks are
    validated, quarantined and folded before the order breaks; step 2 then starts again
    on a partition, and nothing of the first attempt is left (no record twice)."""
    table = _with_bad_rows(events)
    if order == "shuffled":
        table = table.take(pa.array(np.random.default_rng(4).permutation(table.num_rows)))
    elif order == "breaks_late":
        table = pa.concat_tables([table.slice(500), table.slice(0, 500)])
    shuffle = order != "sorted"
    path = _write(table, tmp_path / "bad.parquet")
    expected = rs.read_messages(path, errors="quarantine")
    assert len(expected.quarantined) == 6
    assert expected.groups.n_rooms == 1
    result = score_parquet(
        path, tmp_path / "out", model=model, chunk_rows=2_000, errors="quarantine"
    )
    assert result.partitioned == shuffle
    assert result.n_chunks > 1
    # rows in = kept + quarantined, and the same rows, reasons and values as in memory
    assert result.n_events + result.n_quarantined == table.num_rows
    assert (result.n_events, result.n_quarantined) == (len(expected), 6)
    assert (result.groups.n_rooms, result.groups.n_pairs) == (1, 2)
    assert result.quarantine_path == tmp_path / "out" / "quarantine.jsonl"
    written = [json.loads(line) for line in result.quarantine_path.read_text().splitlines()]
    in_memory = expected.quarantined.to_records()
    assert sorted(written, key=lambda r: r["row"]) == in_memory
    assert {r["column"] for r in written} == {
        "sender_age", "channel", "timestamp", "conversation_id"
    }  # fmt: skip
    assert sum(result.quarantine_counts.values()) == 6
    # the scores and alerts of the rows kept (text ids: out of core in integer id order)
    scores = model.score(expected)
    got = pq.read_table(result.scores_path).sort_by("conversation_id")
    want_scores = nan_to_null(scores_table(scores, rs.AlertPolicy.default()))
    assert got.equals(want_scores.sort_by("conversation_id"))
    alerts = given_alerts(rs.AlertPolicy.default().alerts(scores), result.decimal_id_columns)
    want = [a.to_dict() for a in alerts]  # the result's: ids as given (hr70c)
    assert sorted((a.to_dict() for a in result.alerts), key=str) == sorted(want, key=str)


def test_quarantine_streams_from_the_cli_with_the_in_memory_results(
    events: pa.Table, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(_with_bad_rows(events), tmp_path / "bad.parquet")
    argv = ["score", str(path), "--errors", "quarantine", "--top", "0"]
    assert main([*argv, "--out", str(tmp_path / "a")]) == 0
    in_memory = capsys.readouterr().out
    assert main([*argv, "--out", str(tmp_path / "b"), "--chunk-rows", "900"]) == 0
    streamed = capsys.readouterr().out
    assert "6 rows quarantined" in streamed
    assert f"quarantined: {tmp_path / 'b' / 'quarantine.jsonl'} (6 rows)" in streamed
    assert "1 group conversation of" in streamed
    assert "sender_age: is not a plausible age" in streamed
    counts = [line for line in streamed.splitlines() if line.startswith("      ")]
    assert counts == [line for line in in_memory.splitlines() if line.startswith("      ")]
    for name in ("scores.parquet", "alerts.parquet"):  # text ids: compared in one order
        b, a = (pq.read_table(tmp_path / d / name) for d in ("b", "a"))
        assert b.sort_by("conversation_id").equals(a.sort_by("conversation_id"))
    records = {
        d: sorted(
            (json.loads(x) for x in (tmp_path / d / "quarantine.jsonl").read_text().splitlines()),
            key=lambda r: r["row"],
        )
        for d in ("a", "b")
    }
    assert records["a"] == records["b"]


def test_raise_names_the_row_of_the_file_not_of_the_chunk(events: pa.Table, tmp_path: Path) -> None:
    path = _write(_with_bad_rows(events), tmp_path / "bad.parquet")
    bad_rows = rs.read_messages(path, errors="quarantine").quarantined.row.tolist()
    with pytest.raises(rs.SchemaError) as info:
        score_parquet(path, tmp_path / "out", chunk_rows=2_000)
    assert info.value.row in bad_rows
    assert f"row {info.value.row}:" in str(info.value)
    assert not (tmp_path / "out").exists()
    # a row far into the file is named by its place in the file
    ages = events.column("sender_age").to_pylist()
    ages[12_345] = -1.0
    i = events.column_names.index("sender_age")
    late = _write(events.set_column(i, "sender_age", pa.array(ages)), tmp_path / "late.parquet")
    with pytest.raises(rs.SchemaError, match="row 12345") as info:
        score_parquet(late, tmp_path / "out", chunk_rows=2_000)
    assert (info.value.column, info.value.row) == ("sender_age", 12_345)


def test_every_row_quarantined_is_an_error_naming_the_quarantine_file(
    events: pa.Table, tmp_path: Path
) -> None:
    small = events.slice(0, 50)
    i = small.column_names.index("channel")
    path = _write(small.set_column(i, "channel", pa.array(["pigeon"] * 50)), tmp_path / "e.parquet")
    with pytest.raises(rs.SchemaError, match="every row was quarantined") as info:
        score_parquet(path, tmp_path / "out", chunk_rows=20, errors="quarantine")
    assert "quarantine.jsonl" in str(info.value)
    assert len((tmp_path / "out" / "quarantine.jsonl").read_text().splitlines()) == 50


def test_a_conversation_id_column_of_lists_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "lists.parquet"
    pq.write_table(
        pa.table(
            {
                "conversation_id": [[1], [2]],
                "timestamp": [1, 2],
                "sender_id": [1, 2],
                "recipient_id": [2, 1],
                "channel": ["direct", "direct"],
            }
        ),
        path,
    )
    with pytest.raises(rs.SchemaError, match=r"'conversation_id' .* type list"):
        score_parquet(path, tmp_path / "out", chunk_rows=20, errors="quarantine")


def test_chunk_rows_needs_a_parquet_file(
    events: pa.Table, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "events.csv"
    rs.write_messages(rs.read_messages(events), path)
    assert main(["score", str(path), "--out", str(tmp_path / "o"), "--chunk-rows", "9"]) != 0
    assert "Parquet files only" in capsys.readouterr().err


def test_two_threads_give_the_one_thread_features(
    events: pa.Table, monkeypatch: pytest.MonkeyPatch
) -> None:
    # big tables are featurized on two threads (the chunks of out-of-core scoring are big)
    import riskscore.io.threads as _threads

    msgs = rs.read_messages(events)
    one = rs.extract_features(msgs)
    monkeypatch.setattr(_threads, "THREAD_MIN_ROWS", 0)
    two = rs.extract_features(msgs)
    np.testing.assert_array_equal(two.values, one.values)
    np.testing.assert_array_equal(two.adult_id, one.adult_id)


@pytest.mark.parametrize("name", ["text", "msg_body", "Caption"])
def test_a_content_column_is_refused_before_any_temporary_file(
    events: pa.Table, tmp_path: Path, model: rs.RiskModel, name: str
) -> None:
    rng = np.random.default_rng(11)
    shuffled = events.take(pa.array(rng.permutation(events.num_rows)))
    shuffled = shuffled.append_column(name, pa.array(["hello"] * shuffled.num_rows))
    path = _write(shuffled, tmp_path / "shuffled.parquet")
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(rs.SchemaError, match="reads no message content"):
        score_parquet(path, tmp_path / "out", model=model, chunk_rows=3_000, workdir=work)
    with pytest.raises(rs.SchemaError, match="reads no message content"):
        next(iter_conversation_chunks(path, chunk_rows=3_000, workdir=work))
    assert list(work.iterdir()) == []
    assert not (tmp_path / "out").exists()


def test_other_columns_are_never_copied_into_the_buckets(events: pa.Table, tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    shuffled = events.take(pa.array(rng.permutation(events.num_rows)))
    shuffled = shuffled.append_column("platform_note", pa.array(["x"] * shuffled.num_rows))
    path = _write(shuffled, tmp_path / "shuffled.parquet")
    for chunk in iter_conversation_chunks(path, chunk_rows=3_000, workdir=tmp_path):
        assert set(chunk.column_names) <= set(rs.io.schema.SCHEMA_COLUMNS)
