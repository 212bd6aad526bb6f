"""Hostile review 25: ranked text ids, ``policy tune`` streaming, SQLite files that are
no regular file, and the nested-path walk of Python values.

Each test failed on the code before its fix, but for two guards that passed on it too: a
pandas categorical's unused categories (a categorical is read as its values) and a value
shared at two paths (seen at both)."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_text_id_ranks import _same

import riskscore as rs
from riskscore.cli import main
from riskscore.io.nested_fields import value_paths
from riskscore.io.sqlite import connect
from riskscore.online import checkpoint


def _row_by_row(source: Any) -> rs.MessageTable:
    with mock.patch("riskscore.io.ids.ranked_text", lambda ids, distinct, index: ids):
        return rs.read_messages(source)


def _coded(indices: list[int], dictionary: list[str]) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(indices, pa.int32()), pa.array(dictionary))


# --------------------------------------- ranked text ids: a dictionary's unused values


def _dictionary_ids(n_conversations: int) -> pa.Table:
    """Synthetic events with text ids in dictionary columns."""
    events = rs.synthetic.generate(n_conversations, seed=3).messages.to_arrow()
    for name in ("conversation_id", "sender_id", "recipient_id"):
        text = pa.array([f"id-{v}" for v in events.column(name).to_pylist()])
        i = events.schema.get_field_index(name)
        events = events.set_column(i, name, text.dictionary_encode())
    return events


def _with_unused_values() -> dict[str, Any]:
    """Dictionary columns holding values no row has (ids "zz", "c2", "q", "unused")."""
    return {
        "conversation_id": _coded([1, 0, 1], ["zz", "c1", "c2"]),
        "timestamp": [1_700_000_003, 1_700_000_002, 1_700_000_001],
        "sender_id": _coded([0, 1, 1], ["a", "b", "unused"]),
        "recipient_id": _coded([0, 1, 1], ["b", "a", "q"]),
        "channel": ["direct"] * 3,
    }


@pytest.mark.parametrize(
    "source",
    [
        "arrow dictionary",
        "sliced arrow table",
        "pandas categorical",
    ],
)
def test_a_dictionarys_unused_values_are_no_conversations_or_accounts(source: str) -> None:
    # The ranks were those of the whole dictionary: its values that no row has became
    # conversations and accounts (3 conversations for 2 runs of events), and features
    # failed with an IndexError
    if source == "arrow dictionary":
        events: Any = pa.table(_with_unused_values())
    elif source == "sliced arrow table":
        synthetic = _dictionary_ids(20)
        events = synthetic.slice(0, len(synthetic) // 2)  # keeps the whole dictionary
    else:
        events = pa.table(_with_unused_values()).to_pandas()
    table = rs.read_messages(events)
    _same(table, _row_by_row(events))
    assert len(table.conversations) == len(table.segment_starts)
    assert len(rs.extract_features(table)) == table.n_conversations


def test_a_parquet_file_of_dictionary_text_ids_scores_out_of_core_as_in_memory(
    tmp_path: Path,
) -> None:
    # pyarrow writes a dictionary column's type into the file: each chunk read back keeps
    # its row group's whole dictionary, so --chunk-rows stopped with "ConversationStates
    # of 300 conversations need ids ... of length 300"
    events = _dictionary_ids(60)
    path = tmp_path / "events.parquet"
    pq.write_table(events, path, row_group_size=len(events) // 2 + 1)
    for out, extra in (("memory", []), ("chunks", ["--chunk-rows", "300"])):
        assert main(["score", str(path), "--out", str(tmp_path / out), "--top", "0", *extra]) == 0
    memory, chunks = (
        pq.read_table(tmp_path / out / "scores.parquet").sort_by("conversation_id")
        for out in ("memory", "chunks")
    )
    assert memory.num_rows == 60
    assert chunks.equals(memory)


# --------------------------------------------------- nested paths of Python values


def _holding_itself() -> list[Any]:
    looped: list[Any] = [{"text": "hi"}]
    looped.append(looped)
    return looped


def _mapping_holding_itself() -> dict[str, Any]:
    looped: dict[str, Any] = {"device": {"text": "hi"}}
    looped["again"] = looped
    return looped


def _shared_deep() -> list[Any]:
    shared: list[Any] = [{"text": "hi"}]
    for _ in range(60):  # 2**60 ways down to the one record
        shared = [shared, shared]
    return shared


@contextmanager
def _within(seconds: int) -> Iterator[None]:
    """Fail, rather than hang, past ``seconds`` (SIGALRM: the main thread, POSIX)."""

    def late(*_: object) -> None:
        raise AssertionError(f"still walking after {seconds} s")

    previous = signal.signal(signal.SIGALRM, late)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.skipif(not hasattr(signal, "SIGALRM"), reason="POSIX alarm")
@pytest.mark.parametrize("value", [_holding_itself, _mapping_holding_itself, _shared_deep])
def test_a_value_holding_itself_or_shared_deeply_is_walked_once(value: Any) -> None:
    # value_paths walked a list appended to itself forever (a dict of lists, a DataFrame or
    # an online event with such a field hung the reader)
    with _within(20):
        paths = value_paths("meta", [value()])
    assert {"meta.text", "meta.device.text"} & set(paths)
    events = {
        "conversation_id": [1, 1],
        "timestamp": [1, 2],
        "sender_id": [1, 2],
        "recipient_id": [2, 1],
        "channel": ["direct"] * 2,
        "meta": [value(), None],
    }
    with _within(20), pytest.raises(rs.SchemaError, match="looks like message content"):
        rs.read_messages(events)
    with _within(20), pytest.raises(rs.SchemaError, match="looks like message content"):
        rs.read_messages(pd.DataFrame(events))


def test_shared_values_are_still_seen_at_every_path() -> None:
    shared = {"text": "hi"}
    assert sorted(value_paths("m", [{"a": shared, "b": [shared, shared]}])) == [
        "m.a",
        "m.a.text",
        "m.b",
        "m.b.text",
    ]


# ---------------------------------------------- SQLite files that are no regular file


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
@pytest.mark.parametrize("mode", [{}, {"create": False}, {"read_only": True}])
def test_a_fifo_for_a_sqlite_file_is_named_not_a_disk_error(
    tmp_path: Path, mode: dict[str, bool]
) -> None:
    # SQLite answered "disk I/O error" (or riskscore "no SQLite database") for a FIFO
    fifo = tmp_path / "state.sqlite"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="is not a regular file"):
        connect(fifo, **mode)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_a_fifo_queue_or_checkpoint_is_named_not_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # "no review queue at queue.sqlite", "no checkpoint at state.sqlite": there is a file
    fifo = tmp_path / "queue.sqlite"
    os.mkfifo(fifo)
    assert main(["queue", "--db", str(fifo)]) == 2
    assert "is not a regular file" in capsys.readouterr().err
    with pytest.raises(OSError, match="is not a regular file"):
        checkpoint.read(fifo)


# ----------------------------------------------------- --chunk-rows and the real reason


@pytest.mark.parametrize("command", ["score", "policy tune"])
@pytest.mark.parametrize("kind", ["missing", "directory", "fifo"])
def test_chunk_rows_does_not_hide_why_an_events_file_cannot_be_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, kind: str
) -> None:
    # with --chunk-rows, a missing file, a directory or a FIFO named .parquet was
    # "--chunk-rows streams Parquet files only, got 'events.parquet'"
    events = tmp_path / "events.parquet"
    if kind == "directory":
        events.mkdir()
    elif kind == "fifo":
        if not hasattr(os, "mkfifo"):
            pytest.skip("FIFOs are POSIX")
        os.mkfifo(events)
    out = ["--out", str(tmp_path / "out")] if command == "score" else []
    assert main([*command.split(), str(events), *out, "--chunk-rows", "10"]) == 2
    err = capsys.readouterr().err
    assert "Parquet files only" not in err
    assert {"missing": "no such events file", "directory": "is a directory",
            "fifo": "not a regular file"}[kind] in err  # fmt: skip
