"""Hostile review 35: reading and batch scoring (the readers, out-of-core chunks, Spark's
column checks, the thread setting).

Each test failed on the code before its fix, but for the guards their docstrings name.
The Spark tests of whole-decimal ids beyond int64 are in tests/test_spark.py (the Spark
files share one worker and one session). All data is synthetic."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import riskscore as rs
from riskscore.batch import score_events, score_parquet
from riskscore.cli import main
from riskscore.exceptions import ConfigurationError
from riskscore.io.threads import THREADS_VARIABLE, worker_threads

T0 = 1_767_225_600  # 2026-01-01
NO_LIMIT = float("inf")


def _events(n: int = 4) -> dict[str, pa.Array]:
    """``n`` events of one conversation between accounts ``a`` and ``b``."""
    return {
        "conversation_id": pa.array([1] * n),
        "timestamp": pa.array([T0 + 60 * i for i in range(n)]),
        "sender_id": pa.array(["a", "b"] * (n // 2)),
        "recipient_id": pa.array(["b", "a"] * (n // 2)),
        "channel": pa.array(["direct"] * n),
    }


@pytest.fixture(scope="module")
def model() -> rs.RiskModel:
    return rs.load_model()


# ------------------------------------------------ (a) an empty file: one message, two paths


def _message(call: object) -> str:
    with pytest.raises(rs.SchemaError) as caught:
        call()  # type: ignore[operator]
    return str(caught.value)


@pytest.mark.parametrize("kind", ["zero bytes", "no rows", "broadcasts only"])
def test_an_empty_file_is_refused_in_the_same_words_whole_and_in_chunks(
    tmp_path: Path, model: rs.RiskModel, kind: str
) -> None:
    """Was: a Parquet file without an event to score was refused as "no events to
    featurize: the message table is empty" in memory but "no events to score in
    e.parquet: the file has no rows" in chunks; a file of zero bytes as "(ArrowInvalid:
    Parquet file size is 0 bytes)" in memory and "(Parquet file size is 0 bytes)" in
    chunks."""
    path = tmp_path / "e.parquet"
    if kind == "zero bytes":
        path.write_bytes(b"")
    else:
        columns = _events()
        if kind == "no rows":
            pq.write_table(pa.table(columns).slice(0, 0), path)
        else:
            columns["event"] = pa.array(["message"] * 4)
            columns["room_size"] = pa.array([50] * 4, pa.int32())
            pq.write_table(pa.table(columns), path)
    whole = _message(lambda: score_events(path, tmp_path / "whole", now=T0))
    chunks = _message(lambda: score_parquet(path, tmp_path / "chunks", model=model, now=T0))
    assert whole == chunks
    assert "e.parquet" in whole
    assert not (tmp_path / "whole").exists() or not any((tmp_path / "whole").iterdir())


# ------------------------------------------- (c) CSV cells not UTF-8, in every column


@pytest.mark.parametrize(
    "column",
    ["timestamp", "channel", "event", "sender_age", "room_size", "recipient_tz_offset_min"],
)
def test_a_csv_cell_not_utf8_is_named_as_such_in_every_column(tmp_path: Path, column: str) -> None:
    """Was: a cell that is not UTF-8 was refused as "not UTF-8 text" in an id column only;
    in any other column it got that column's message ("is not a timestamp", "is not
    recognised", "is not a number"), which sends the user to the wrong fix, and a long
    one was shown as "text of 1200 characters" for 300 bytes."""
    names = ["conversation_id", "timestamp", "sender_id", "recipient_id", "channel", "event",
             "sender_age", "room_size", "recipient_tz_offset_min"]  # fmt: skip
    good = [b"1", b"%d" % T0, b"a", b"b", b"direct", b"message", b"34", b"2", b"0"]
    bad = list(good)
    bad[names.index(column)] = b"\xe9" * 300
    path = tmp_path / "events.csv"
    path.write_bytes(b",".join(n.encode() for n in names) + b"\n" + b",".join(good) + b"\n"
                     + b",".join(bad) + b"\n")  # fmt: skip
    with pytest.raises(rs.SchemaError) as caught:
        rs.read_messages(path, max_future_s=NO_LIMIT)
    message = str(caught.value)
    assert message.startswith(f"column '{column}', row 1 (line 3): ")
    assert message.endswith("is not UTF-8 text: save the file as UTF-8")
    assert "300 bytes" in message
    held = rs.read_messages(path, errors="quarantine", max_future_s=NO_LIMIT).quarantined
    assert held.column == (column,)
    assert held.reason == ("is not UTF-8 text: save the file as UTF-8",)


def test_a_csv_row_is_refused_for_its_first_column_in_check_order(tmp_path: Path) -> None:
    """A row with a missing conversation id and a timestamp that is not UTF-8 is refused
    for the id (the first check), as before."""
    path = tmp_path / "events.csv"
    path.write_bytes(
        b"conversation_id,timestamp,sender_id,recipient_id,channel\n"
        b"1,%d,a,b,direct\n,\xe9\xe9,a,b,direct\n" % T0
    )
    held = rs.read_messages(path, errors="quarantine", max_future_s=NO_LIMIT).quarantined
    assert held.column == ("conversation_id",)


# ------------------------------------------- (d) Arrow extension types: values or storage


def test_a_json_extension_column_is_not_read_as_ids() -> None:
    """Was: a column of Arrow's canonical ``arrow.json`` type was read as the text of its
    JSON documents: ``"a"`` (with its quotes) and ``1`` became the text ids '"a"' and
    '1', where the same documents in a JSON lines file are the text id a and the integer
    id 1. Its values are JSON documents, not ids: each cell is refused, quoting its
    storage and type, as any extension that gives only its storage."""
    for values in (['"a"', '"b"', '"a"', '"b"'], ["1", "2", "1", "2"]):
        columns = _events()
        columns["sender_id"] = pa.ExtensionArray.from_storage(pa.json_(), pa.array(values))
        with pytest.raises(
            rs.SchemaError, match=r"column 'sender_id', row 0: .*extension<arrow\.json"
        ):
            rs.read_messages(pa.table(columns), max_future_s=NO_LIMIT)


def test_a_json_document_that_may_be_content_is_not_quoted() -> None:
    """Was (with the fix above): a refused extension cell was quoted whole, as its
    storage's text, where a sentence given as text is shown only by its length."""
    columns = _events()
    documents = pa.array(['"see you at the park later"', '"b"', '"a"', '"b"'])
    columns["sender_id"] = pa.ExtensionArray.from_storage(pa.json_(), documents)
    with pytest.raises(rs.SchemaError, match=r"row 0: text of \d+ characters \(not shown") as e:
        rs.read_messages(pa.table(columns), max_future_s=NO_LIMIT)
    assert "park" not in str(e.value)
    held = rs.read_messages(pa.table(columns), errors="quarantine", max_future_s=NO_LIMIT)
    assert "park" not in str(held.quarantined.to_records())


def test_extension_types_with_values_of_their_own_keep_them() -> None:
    """Guard (passed before): ``bool8`` cells are booleans (refused as such), ``uuid``
    cells UUIDs (no id)."""
    columns = _events()
    columns["sender_age"] = pa.ExtensionArray.from_storage(
        pa.bool8(), pa.array([1, 0, 1, 0], pa.int8())
    )
    with pytest.raises(rs.SchemaError, match=r"'sender_age', row 0: True is a boolean"):
        rs.read_messages(pa.table(columns), max_future_s=NO_LIMIT)
    columns = _events()
    columns["conversation_id"] = pa.ExtensionArray.from_storage(
        pa.uuid(), pa.array([b"0" * 16] * 4, pa.binary(16))
    )
    with pytest.raises(rs.SchemaError, match=r"'conversation_id', row 0: UUID\("):
        rs.read_messages(pa.table(columns), max_future_s=NO_LIMIT)


# ------------------------------------------------------ (e) RISKSCORE_NUM_THREADS bounded


def test_a_thread_count_beyond_reason_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Was: ``RISKSCORE_NUM_THREADS=100000`` was taken: every large table was then cut
    into that many parts at once (memory grows with each), and the thread pool grew to
    as many threads as tasks."""
    monkeypatch.setenv(THREADS_VARIABLE, "100000")
    with pytest.raises(ConfigurationError, match=r"RISKSCORE_NUM_THREADS='100000'.* from 1 to 256"):
        worker_threads()
    monkeypatch.setenv(THREADS_VARIABLE, "256")
    assert worker_threads() == 256


# ------------------------------------------------- outputs that are the input being read

#: Events files under the names of a scoring job's outputs.
READ_AS_OUTPUT = ("scores.parquet", "shadow/scores.parquet", "quarantine.jsonl")


@pytest.mark.parametrize(
    ("how", "name"),
    [
        *[(how, name) for how in ("whole", "cli") for name in READ_AS_OUTPUT],
        *[("chunks", name) for name in READ_AS_OUTPUT if name.endswith(".parquet")],
    ],
)
def test_a_job_never_writes_or_removes_the_events_it_reads(
    tmp_path: Path, model: rs.RiskModel, name: str, how: str
) -> None:
    """Was: ``score_events`` and ``score_parquet`` (the library functions) wrote their
    scores over an events file named ``scores.parquet`` in ``out_dir`` (only the CLI
    checked); and every path, the CLI too, removed an events file at
    ``out_dir/shadow/scores.parquet`` after reading it, as an earlier run's shadow file
    (the job owns that name), and the CLI checked only with ``--shadow-model``."""
    events = tmp_path / "out" / name
    events.parent.mkdir(parents=True)
    if name.endswith(".jsonl"):
        rs.write_messages(rs.synthetic.generate(20, seed=2).messages, events)
    else:
        rs.synthetic.generate_parquet(events, 20, seed=2)
    before = events.read_bytes()
    out = tmp_path / "out"
    if how == "cli":
        assert main(["score", str(events), "--out", str(out)]) == 2
    else:
        job = score_events if how == "whole" else partial(score_parquet, model=model)
        with pytest.raises(rs.SchemaError, match="which is being read"):
            job(events, out)
    assert events.read_bytes() == before
    assert not (out / "alerts.parquet").exists()
