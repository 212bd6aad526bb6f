"""Hostile review 89: the batch input path and model bundles under hostile input.

Column names that are sentences (a CSV whose header is a row of messages), model bundles
whose manifest lists files riskscore never writes, and the one content rule's message for
a single event. All data is synthetic: made-up ids, ages and times, no message text.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from io_helpers import valid_events

import riskscore as rs
from riskscore.cli import main
from riskscore.io.events import OTHER_NAMES, count_ignored

#: A column name that is a sentence: the header of a file whose first row is messages.
SENTENCE = "hey are you home alone tonight"


def _with_column(name: str) -> pa.Table:
    events = valid_events()
    return pa.table({**events, name: [1] * len(events["timestamp"])})


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_an_unread_column_named_by_a_sentence_is_never_kept_or_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], suffix: str
) -> None:
    """Was: batch reading kept the name in ``unread_columns`` and ``riskscore score``
    printed it in its note and its JSON (cut to 40 characters, or whole), while
    ``riskscore stream`` counted such a field under ``(other names)``: two rules."""
    table = _with_column(SENTENCE).append_column("colour", pa.array([1, 2, 3, 4]))
    path = tmp_path / f"events.{suffix}"
    if suffix == "csv":
        pacsv.write_csv(table, path)
    else:
        pq.write_table(table, path)
    assert rs.read_messages(path).unread_columns == (OTHER_NAMES, "colour")
    chunked = ["--chunk-rows", "2"] if suffix == "parquet" else []
    for extra in ([], *([chunked] if chunked else [])):
        out = tmp_path / f"out{len(extra)}"
        assert main(["score", str(path), "--out", str(out), *extra]) == 0
        text = capsys.readouterr().out
        assert "hey are" not in text
        assert "(other names: long, not printable or sentences" in text
        assert main(["score", str(path), "--out", str(out), "--json", *extra]) == 0
        result = json.loads(capsys.readouterr().out)
        assert result["unread_columns"] == [OTHER_NAMES, "colour"]


def test_batch_and_stream_keep_the_same_unread_names() -> None:
    """One rule (:func:`riskscore.io.raw.reported_name`) for both."""
    names = ["colour", SENTENCE, "x" * 65, "tab\there"]
    counts: dict[str, int] = {}
    count_ignored({**{n: 1 for n in names}, "conversation_id": 1}, counts)
    table = pa.table({**valid_events(), **{n: [1, 2, 3, 4] for n in names}})
    assert rs.read_messages(table).unread_columns == tuple(counts)
