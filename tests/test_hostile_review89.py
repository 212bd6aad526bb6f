"""Hostile review 89: the batch input path and model bundles under hostile input.

Column names that are sentences (a CSV whose header is a row of messages), model bundles
whose manifest lists files riskscore never writes, and the one content rule's message for
a single event. All data is synthetic: made-up ids, ages and times, no message text.
"""

from __future__ import annotations

import errno
import json
import os
import pickle
import re
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from bundle_helpers import read_json, refused, write_manifest
from cli_helpers import _one_line_error
from io_helpers import valid_events

import riskscore as rs
from riskscore.cli import main
from riskscore.io.events import OTHER_NAMES, count_ignored, parse_event
from riskscore.model import default_model_dir
from riskscore.model.bundle import MAX_FILE_BYTES, MODEL_CARD, PARAMS, sha256_of

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
    """One rule (:func:`riskscore.io.input_names.reported_name`) for both."""
    names = ["colour", SENTENCE, "x" * 65, "tab\there"]
    counts: dict[str, int] = {}
    count_ignored({**{n: 1 for n in names}, "conversation_id": 1}, counts)
    table = pa.table({**valid_events(), **{n: [1, 2, 3, 4] for n in names}})
    assert rs.read_messages(table).unread_columns == tuple(counts)


@pytest.mark.parametrize("field", [{"Caption": "x"}, {"meta": {"text": "x"}}])
def test_one_event_with_a_content_field_gets_the_batch_message(field: dict[str, object]) -> None:
    """Was: the online scorer, ``riskscore stream`` and ``riskscore serve`` had a message
    of their own, without the reason's end and the way out; now one (content_refusal)."""
    events = valid_events()
    event = {name: values[0] for name, values in events.items()}
    name, value = next(iter(field.items()))
    with pytest.raises(rs.SchemaError) as online:
        parse_event({**event, name: value})
    with pytest.raises(rs.SchemaError) as batch:
        rs.read_messages(pa.table({**events, name: [value] * 4}))
    said = str(online.value)
    assert said.endswith("only metadata (schema v1). Drop the field before passing the event.")
    assert said.replace("field", "column").replace("event.", "events.") == str(batch.value)


# ---------------------------------------------------------------- model bundles


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    """A copy of the shipped bundle that a test may break."""
    return Path(shutil.copytree(default_model_dir(), tmp_path / "bundle"))


def _list(bundle: Path, name: str) -> None:
    """List ``name`` in the manifest with its true sha256, as a tamperer would."""
    manifest = read_json(bundle / "manifest.json")
    manifest["files"][name] = sha256_of(bundle / name)
    write_manifest(bundle, manifest)


@pytest.mark.parametrize("name", ["model.pkl", "model.joblib", "README.txt"])
def test_a_listed_file_riskscore_never_writes_is_refused(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    """Was: any file the manifest listed with its true hash passed (hashed, never read): a
    bundle could carry a pickle that riskscore seemed to vouch for."""
    (bundle / name).write_bytes(pickle.dumps({"synthetic": 1}))
    _list(bundle, name)
    why = rf"'{re.escape(name)}' is not a file of a riskscore model bundle"
    refused(bundle, why)
    events = tmp_path / "events.csv"
    pacsv.write_csv(pa.table(valid_events()), events)
    out = str(tmp_path / "out")
    assert main(["score", str(events), "--out", out, "--model", str(bundle)]) == 2
    assert re.search(why, _one_line_error(capsys, "score"))


def test_a_listed_file_past_the_size_limit_is_refused_before_it_is_hashed(bundle: Path) -> None:
    """Was: a listed file was hashed whole, however large (a 2 GiB one took 12 s before
    its hash was found wrong, and one with its true hash passed)."""
    with (bundle / MODEL_CARD).open("ab") as card:
        card.truncate(MAX_FILE_BYTES + 1)  # sparse: no disk used
    _list(bundle, MODEL_CARD)
    refused(bundle, rf"MODEL_CARD.md is larger than {MAX_FILE_BYTES} bytes")


def test_a_bundle_file_without_read_permission_is_named_as_such(
    bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Was: "params.json is missing or not a regular file" for a file that is there but not
    readable by this user (the tests run as root, whom modes do not stop: os.open is made to
    refuse as it refuses another user)."""
    opened = os.open

    def refuse(path: str | os.PathLike[str], flags: int, *args: int) -> int:
        if Path(path).name == PARAMS:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return opened(path, flags, *args)

    monkeypatch.setattr(os, "open", refuse)
    refused(bundle, r"params\.json cannot be read \(permission denied\)")
