"""Out-of-core scoring against files built to break it (hostile review of the one-pass
step 2): what a job that stops leaves behind, and rules that need more than one chunk."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import riskscore as rs
from riskscore.batch import chunk_states
from riskscore.batch.chunk_states import fold_file
from riskscore.batch.out_of_core import score_parquet
from riskscore.batch.score import QuarantineFile
from riskscore.batch.state_spill import write_states
from riskscore.cli import main
from riskscore.features.states import ConversationStates
from riskscore.io.arrow import nan_to_null
from riskscore.policy import scores_table


@pytest.fixture(scope="module")
def events() -> pa.Table:
    return rs.synthetic.generate(150, prevalence=0.1, seed=3).messages.to_arrow()


def _write(table: pa.Table, path: Path) -> Path:
    pq.write_table(table, path, row_group_size=10**6)
    return path


def test_step_two_closes_its_chunks_when_a_chunk_fails(tmp_path: Path) -> None:
    # The chunks are numbered on their way to the workers: the numbering must not hide
    # the source from one_ahead, which closes it when step 2 stops (else the Parquet
    # file stays open for as long as the caller holds the exception).
    closed = []

    def chunks() -> Iterator[pa.Table]:
        try:
            for i in range(10):
                yield pa.table({"x": [i]})
        finally:
            closed.append(True)

    def validate(chunk: pa.Table) -> rs.MessageTable:
        raise rs.SchemaError("bad chunk")

    held: list[BaseException] = []  # the exception and its frames, held as a caller may
    try:
        fold_file(chunks(), tmp_path, QuarantineFile(tmp_path / "quarantine.jsonl"), (), validate)
    except rs.SchemaError as exc:
        held.append(exc)
    assert [str(e) for e in held] == ["bad chunk"]
    assert closed == [True]


def _pair_id_clash(events: pa.Table) -> pa.Table:
    """Text ids ``c0000``...; conversation ``c0140`` a group room (a third account late
    in it), and the next conversation renamed to the pair id derived for the room's first
    two accounts (which in memory is refused); a bad row early in the file."""
    cid = events["conversation_id"].to_numpy()
    cols = {name: events[name].to_pylist() for name in events.column_names}
    room = np.flatnonzero(cid == 140)
    lo, hi = sorted((str(cols["sender_id"][room[0]]), str(cols["recipient_id"][room[0]])))
    cols["sender_id"][int(room[-1])] = 10**12
    text = [f"c{c:04d}" for c in cid]
    for row in np.flatnonzero(cid == 141):
        text[row] = f"c0140|{lo}|{hi}"
    cols["conversation_id"] = text
    cols["sender_age"][100] = 400.0
    schema = events.schema.set(0, pa.field("conversation_id", pa.string()))
    return pa.table(cols, schema=schema).sort_by("conversation_id")


def test_a_job_that_stops_in_step_two_leaves_no_quarantine_file(
    events: pa.Table, tmp_path: Path
) -> None:
    # In memory the refusal comes before anything is written; out of core the rows
    # quarantined before it must not be left as a quarantine file of a job that failed.
    path = _write(_pair_id_clash(events), tmp_path / "e.parquet")
    with pytest.raises(rs.SchemaError, match="pair id derived") as in_memory:
        rs.read_messages(path, errors="quarantine")
    with pytest.raises(rs.SchemaError, match="pair id derived") as info:
        score_parquet(path, tmp_path / "out", chunk_rows=2_000, errors="quarantine")
    assert str(info.value) == str(in_memory.value)
    assert not (tmp_path / "out" / "quarantine.jsonl").exists()


@pytest.mark.parametrize("shuffle", [False, True])
def test_a_pair_id_of_a_room_in_another_chunk_is_refused_as_in_memory(
    events: pa.Table, tmp_path: Path, shuffle: bool
) -> None:
    # The room and the conversation named like one of its pairs fall in two chunks:
    # each chunk alone is fine, but the scores would hold that id twice.
    table = _pair_id_clash(events)
    if shuffle:
        table = table.take(pa.array(np.random.default_rng(1).permutation(table.num_rows)))
    path = _write(table, tmp_path / "e.parquet")
    with pytest.raises(rs.SchemaError, match="pair id derived") as in_memory:
        rs.read_messages(path, errors="quarantine")
    for chunk_rows in (20, 2_000):
        with pytest.raises(rs.SchemaError, match="pair id derived") as info:
            score_parquet(path, tmp_path / "out", chunk_rows=chunk_rows, errors="quarantine")
        assert str(info.value) == str(in_memory.value)
        assert not (tmp_path / "out" / "scores.parquet").exists()


@pytest.mark.parametrize("rows", ["none", "broadcasts"])
def test_a_file_without_an_event_to_score_is_refused_as_in_memory(
    events: pa.Table, tmp_path: Path, rows: str
) -> None:
    if rows == "none":
        table = events.slice(0, 0)
    else:  # every row a message to a room above max_room_members: set aside, not kept
        n = events.num_rows
        table = events.set_column(
            events.column_names.index("event"), "event", pa.array(["message"] * n)
        ).append_column("room_size", pa.array(np.full(n, 50, dtype=np.int32)))
    path = _write(table, tmp_path / "e.parquet")
    with pytest.raises(rs.SchemaError, match="no events"):
        rs.load_model().score(rs.read_messages(path))
    with pytest.raises(rs.SchemaError, match="no events to score") as info:
        score_parquet(path, tmp_path / "out", chunk_rows=500)
    assert "e.parquet" in str(info.value)
    assert not (tmp_path / "out" / "scores.parquet").exists()


def test_unsigned_conversation_ids_beyond_int64_are_text_in_the_documented_order(
    events: pa.Table, tmp_path: Path
) -> None:
    # In memory such ids are decimal text in text order; chunks follow the integers, and
    # sorting the scores by conversation_id gives the in-memory rows (as with group rooms).
    cid = events["conversation_id"].to_numpy().astype(np.uint64)
    big = np.where(cid % 3 == 0, cid + np.uint64(2**63), cid * np.uint64(7))
    table = events.set_column(0, "conversation_id", pa.array(big, pa.uint64()))
    path = _write(table.sort_by("conversation_id"), tmp_path / "u.parquet")
    model = rs.load_model()
    expected = model.score(rs.read_messages(path))
    result = score_parquet(path, tmp_path / "out", model=model, chunk_rows=500)
    assert result.n_chunks > 1
    assert not result.partitioned
    got = pq.read_table(result.scores_path)
    assert got["conversation_id"].to_pylist() != expected.conversation_id.tolist()
    want = nan_to_null(scores_table(expected, rs.AlertPolicy.default()))
    assert got.sort_by("conversation_id").equals(want)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
def test_a_full_temporary_disk_is_named_with_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The states of step 2 take about as much room as the events file; a full disk gave
    # pyarrow's "Error writing bytes to file" with no file named and no way out.
    path = tmp_path / "events.parquet"
    pq.write_table(rs.synthetic.generate(100, seed=4).messages.to_arrow(), path)

    def to_a_full_disk(_: Path, states: ConversationStates) -> None:
        write_states(Path("/dev/full"), states)

    monkeypatch.setattr(chunk_states, "write_states", to_a_full_disk)
    assert main(["score", str(path), "--out", str(tmp_path / "out"), "--chunk-rows", "500"]) == 2
    err = capsys.readouterr().err
    assert "cannot write the temporary conversation states of out-of-core scoring" in err
    assert "No space left on device" in err
    assert "point TMPDIR (or workdir=) at a directory with more: /dev/full" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("column", "expected"),
    [
        pytest.param(pa.chunked_array([[3, 1, 3]]), (), id="integers"),
        pytest.param(pa.chunked_array([[3.0, float("nan")]]), (), id="floats"),
        pytest.param(pa.chunked_array([[None, None]], type=pa.null()), (), id="nulls"),
        pytest.param(pa.chunked_array([["r|1|2", "x", "r|1|2"]]), ("r|1|2",), id="text"),
        pytest.param(
            pa.chunked_array([pa.array(["r|1|2", "x"]).dictionary_encode()]),
            ("r|1|2",),
            id="dictionary of text",
        ),
    ],
)
def test_pair_like_ids_of_a_chunk_are_found_in_text_columns_only(
    column: pa.ChunkedArray, expected: tuple[str, ...]
) -> None:
    # Ids without text cannot hold the separator: their column is not hashed for its
    # distinct values, and finds none, as hashing them found.
    from riskscore.batch.chunk_states import _named_pair_like, _pair_like

    assert _named_pair_like(column) == expected
    assert _pair_like(column.unique().to_numpy(zero_copy_only=False)) == expected
