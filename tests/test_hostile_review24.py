"""Hostile-input review 24: a model bundle swapped while it is loaded; content nested in a
pandas or dict column, a labels or an account features file; a bundle's model name in
Markdown; JSON nested too deeply in the files and keys riskscore reads back; an audit entry
changed outside riskscore; numpy durations and complex numbers in cells; a labels file that
is a FIFO. Each test failed on the code before its fix, but for those that guard against
refusing too much (plain nested metadata) and the swap timings the old loader already
withstood, which pass on both."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import threading
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from _models import random_model
from _regulatory import decided_queue, insert_item

import riskscore as rs
from riskscore.batch.shadow import read_shadow_run
from riskscore.cli import main
from riskscore.exceptions import ModelIntegrityError
from riskscore.features.account_file import ACCOUNT_FILE_METADATA_KEY, read_account_features
from riskscore.model.card import render_model_card
from riskscore.moderation import QueueError, ReviewQueue

KEY = "a-test-signing-key-0123456789-abcdefXYZ"


def _swap_after_opening(
    monkeypatch: pytest.MonkeyPatch, target: Path, replacement: Path, k: int
) -> None:
    """Rename ``replacement`` over ``target`` right after the ``k``-th opening of ``target``
    (a tamperer racing the loader: a descriptor already open keeps the old file)."""
    opened = 0

    def watch(real: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(file: Any, *args: Any, **kwargs: Any) -> Any:
            nonlocal opened
            result = real(file, *args, **kwargs)
            if isinstance(file, (str, os.PathLike)) and Path(os.fsdecode(file)) == target:
                opened += 1
                if opened == k:
                    os.replace(replacement, target)
            return result

        return wrapper

    monkeypatch.setattr(io, "open", watch(io.open))
    monkeypatch.setattr(os, "open", watch(os.open))


@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("swapped", ["manifest.json", "params.json"])
def test_a_bundle_file_swapped_while_loading_is_refused_or_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, swapped: str, k: int
) -> None:
    # The loader parsed manifest.json, then read it again for the signature: the signed
    # manifest swapped in after the parse of a forged one (listing another model's
    # parameters) passed the signature check, and the other model loaded under the key.
    # It also hashed params.json, then opened it again to parse it: parameters swapped in
    # between were loaded unchecked. A file is now read once; its bytes are checked and
    # parsed.
    monkeypatch.setenv("RISKSCORE_MODEL_KEY", KEY)
    good = random_model(1, per_feature=1)
    bundle = rs.save_model(good, tmp_path / "bundle")
    monkeypatch.delenv("RISKSCORE_MODEL_KEY")
    forged = rs.save_model(random_model(2, per_feature=1), tmp_path / "forged")
    if swapped == "manifest.json":  # the forged bundle in place, the signed manifest aside
        os.replace(bundle / "manifest.json", tmp_path / "signed.json")
        for name in ("manifest.json", "params.json"):
            os.replace(forged / name, bundle / name)
        replacement = tmp_path / "signed.json"
    else:
        replacement = forged / "params.json"
    monkeypatch.setenv("RISKSCORE_MODEL_KEY", KEY)
    _swap_after_opening(monkeypatch, bundle / swapped, replacement, k)
    try:
        loaded = rs.load_model(bundle)
    except ModelIntegrityError:
        return
    assert loaded.parameters_sha256() == good.parameters_sha256()


# ------------------------------------------ content nested in pandas and dict columns

T0 = 1_767_225_600


def _events() -> dict[str, list[Any]]:
    return {
        "conversation_id": [1, 1],
        "timestamp": [T0, T0 + 60],
        "sender_id": [2, 3],
        "recipient_id": [3, 2],
        "sender_age": [30, 13],
        "recipient_age": [13, 30],
        "channel": ["direct", "direct"],
    }


_TEXT = pa.struct([("text", pa.string())])
_NESTED: dict[str, Callable[[], Any]] = {
    "pandas dicts": lambda: pd.DataFrame({**_events(), "meta": [{"text": "hi"}, {"text": "yo"}]}),
    "pandas lists of dicts": lambda: pd.DataFrame({**_events(), "meta": [[{"text": "hi"}], []]}),
    "pandas arrays of dicts": lambda: pd.DataFrame(
        {**_events(), "meta": [np.array([{"text": "hi"}]), np.array([], dtype=object)]}
    ),
    "pandas arrow struct": lambda: pd.DataFrame(
        {**_events(), "meta": pd.array([{"text": "hi"}, None], dtype=pd.ArrowDtype(_TEXT))}
    ),
    "pandas dict deeper": lambda: pd.DataFrame(
        {**_events(), "meta": [None, {"device": {"text": "yo"}}]}
    ),
    "dict of lists": lambda: {**_events(), "meta": [{"text": "hi"}, {"text": "yo"}]},
    "dict of an arrow array": lambda: {**_events(), "meta": pa.array([{"text": "hi"}] * 2)},
}


@pytest.mark.parametrize("source", sorted(_NESTED))
def test_content_nested_in_a_pandas_or_dict_column_is_refused_as_in_arrow(source: str) -> None:
    # Arrow tables, Parquet files and online events refused a content-like field nested in a
    # column of another name ("meta.text"); a DataFrame or a dict of lists holding the same
    # records was read past it as metadata
    with pytest.raises(rs.SchemaError, match=r"'meta\.(device\.)?text' looks like message content"):
        rs.read_messages(_NESTED[source]())


@pytest.mark.parametrize("other", [5, "x", None])
def test_content_nested_in_json_lines_arrow_cannot_type_is_refused(
    tmp_path: Path, other: Any
) -> None:
    # a field Arrow cannot type (an object on one line, a number on another) sent the file to
    # the line by line reader, which checked top-level names only: "meta.text" passed
    rows = [{"meta": {"text": "hi"}}, {"meta": [{"text": "yo"}]}, {"meta": other}]
    events = _events()
    lines = [{**{k: v[i % 2] for k, v in events.items()}, **row} for i, row in enumerate(rows)]
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    with pytest.raises(rs.SchemaError, match=r"'meta\.text' looks like message content"):
        rs.read_messages(path)


def test_plain_metadata_nested_in_a_pandas_or_dict_column_is_still_read() -> None:
    meta = [{"device": "ios", "tags": ["a"]}, {"device": "web", "tags": []}]
    for source in (pd.DataFrame({**_events(), "meta": meta}), {**_events(), "meta": meta}):
        table = rs.read_messages(source)
        assert len(table) == 2


# ------------------------------------------ a bundle's model name in Markdown

_NAME = "<img src=x onerror=alert(1)> [x](javascript:alert(1))\n# Approved by the regulator"


def test_a_bundles_model_name_is_one_line_of_text_in_the_report_and_the_card() -> None:
    # The estimator name comes from a bundle's manifest (any bundle: a candidate from
    # elsewhere, `evaluate --model DIR`): it went into the evaluation report and the model
    # card as written, markup and line breaks included (a heading of its own making)
    model = random_model(1, per_feature=1)
    model.metadata["estimator"] = _NAME
    data = rs.synthetic.generate(60, prevalence=0.2, seed=3)
    report = rs.evaluate(model, data.messages, data.labels, n_bootstrap=0, replay_events=0)
    card = render_model_card(model.metadata)
    for markdown in (report.to_markdown(), card):
        assert not any(line.startswith("# Approved") for line in markdown.splitlines())
        line = next(line for line in markdown.splitlines() if "onerror" in line)
        assert "\\<img src=x onerror=alert(1)\\> \\[x\\](javascript:alert(1)) #" in line


# ------------------------------------------ JSON nested too deeply in files riskscore reads

_DEEP = "[" * 100_000


@pytest.mark.parametrize("column", ["adult_id", "conversation_id", "reasons"])
def test_a_queue_item_of_json_nested_too_deeply_is_refused_by_item_and_column(
    tmp_path: Path, column: str
) -> None:
    # an item changed outside riskscore was refused by item and column for any JSON it could
    # not read but this one: Python's RecursionError went through as a traceback
    db = decided_queue(tmp_path / "q.sqlite")
    insert_item(db, {column: _DEEP})
    with ReviewQueue(db) as queue, pytest.raises(QueueError, match=rf"item 8\b.*'{column}'"):
        queue.items()


def test_an_account_file_whose_history_is_nested_too_deeply_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.accounts.parquet"
    table = pa.table({"account_id": ["a"]})
    pq.write_table(table.replace_schema_metadata({ACCOUNT_FILE_METADATA_KEY: _DEEP}), path)
    with pytest.raises(rs.SchemaError, match=r"evil\.accounts\.parquet"):
        read_account_features(path)


@pytest.mark.parametrize("text", [_DEEP, "not json", "[1, 2"])
def test_a_shadow_summary_that_is_no_json_is_refused_naming_the_file(
    tmp_path: Path, text: str
) -> None:
    # a summary nested too deeply was a traceback, one not JSON a message naming no file
    (tmp_path / "shadow").mkdir()
    (tmp_path / "shadow" / "shadow.json").write_text(text, encoding="utf-8")
    with pytest.raises(rs.SchemaError, match=r"shadow\.json.*not JSON"):
        read_shadow_run(tmp_path)


def test_a_case_key_nested_too_deeply_is_no_case_not_a_server_error(tmp_path: Path) -> None:
    # /console/cases/[[[[...: the key is read as an encoded id; a key nested too deeply
    # was a RecursionError, answered 500 with a traceback in the log
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient
    from serve_helpers import CHEAP_HASHER, PASSWORD, config

    from riskscore.serve import create_app
    from riskscore.serve.accounts import ModeratorStore

    cfg = config(tmp_path, random_model(1, per_feature=1), trusted_header="X-Remote-User")
    ReviewQueue(cfg.db).close()
    store = ModeratorStore(cfg.db, hasher=CHEAP_HASHER)
    store.add("mod-1", "moderator", PASSWORD)
    store.close()
    with TestClient(create_app(cfg), raise_server_exceptions=False) as client:
        r = client.get("/console/cases/" + "%5B" * 5_000, headers={"X-Remote-User": "mod-1"})
    assert r.status_code == 404


@pytest.mark.parametrize("detail", [_DEEP, "[]", '"x"', "not json"])
def test_an_audit_entry_edited_outside_riskscore_is_refused_by_entry_and_column(
    tmp_path: Path, detail: str, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    # review 8 refused queue items changed outside riskscore by item and column; an audit
    # entry whose detail was no JSON object made `report` a traceback (AttributeError,
    # RecursionError) or an error naming neither the entry nor the column
    db = decided_queue(tmp_path / "q.sqlite")
    with closing(sqlite3.connect(db)) as con, con:
        entry = con.execute(
            "INSERT INTO audit (at, recorded_at, actor, action, item_id, detail) "
            "VALUES (?, ?, 'm1', 'review', 1, ?)",
            (T0 + 100, T0 + 100, detail),
        ).lastrowid
    monkeypatch.setenv("REPORT_KEY", KEY)
    argv = ["report", "--db", str(db), "--out", str(tmp_path / "r"), "--key-env", "REPORT_KEY"]
    assert main(argv) == 2
    assert f"audit entry {entry}: column 'detail'" in capsys.readouterr().err
    with ReviewQueue(db) as queue, pytest.raises(QueueError, match=f"entry {entry}: column"):
        queue.audit_log()


# ------------------------------------------ content nested in labels and account files


def _with_nested_text(table: pa.Table) -> pa.Table:
    notes = pa.array([{"text": "hi"}] * len(table), _TEXT)
    return table.append_column("notes", notes).replace_schema_metadata(table.schema.metadata)


def test_content_nested_in_a_labels_or_account_file_is_refused_as_in_events(
    tmp_path: Path,
) -> None:
    # review 22 refused a labels or account features file with a column named like content,
    # by its top-level names only: the same text in a struct column ("notes.text"), which
    # the events readers refuse, passed
    from riskscore.synthetic import SyntheticData, generate

    generate(6, seed=1).write(tmp_path)
    labels = _with_nested_text(pq.read_table(tmp_path / "labels.parquet"))
    pq.write_table(labels, tmp_path / "labels.parquet")
    with pytest.raises(rs.SchemaError, match=r"'notes\.text' looks like message content"):
        SyntheticData.read(tmp_path)
    with pytest.raises(rs.SchemaError, match=r"'notes\.text' looks like message content"):
        rs.synthetic.labels_from_arrow(labels)
    path = tmp_path / "accounts.parquet"
    events = rs.read_messages(tmp_path / "events.parquet")
    rs.write_account_features(rs.extract_account_features(events), path)
    pq.write_table(_with_nested_text(pq.read_table(path)), path)
    with pytest.raises(rs.SchemaError, match=r"'notes\.text' looks like message content"):
        rs.read_account_features(path)


# ------------------------------------------ numpy scalars that are no plain numbers


def _event(column: str, value: object) -> dict[str, Any]:
    event = {k: v[0] for k, v in _events().items()}
    return {**event, "channel": "group", "room_size": 5, column: value}


@pytest.mark.parametrize("column", ["conversation_id", "sender_id", "timestamp"])
def test_a_numpy_duration_as_an_id_or_a_time_is_refused_by_row_not_a_traceback(
    column: str,
) -> None:
    # np.timedelta64 is a numpy integer type: taken as an integer id or epoch seconds, then
    # turned into datetime.timedelta by tolist(), it failed int() and float() (TypeError)
    value = np.timedelta64(14, "s")
    event = _event(column, value)
    with pytest.raises(rs.SchemaError, match=rf"column '{column}', row 0"):
        rs.read_messages({k: np.array([v], dtype=object) for k, v in event.items()})
    with pytest.raises(rs.SchemaError, match=column):
        rs.OnlineScorer(random_model(1, per_feature=1)).update_one(event)


@pytest.mark.parametrize("column", ["sender_age", "room_size", "recipient_tz_offset_min"])
def test_a_numpy_complex_number_is_refused_as_pythons_is(column: str) -> None:
    # float() of numpy's complex keeps the real part (a ComplexWarning): 14+3j was the age
    # 14, where Python's 14+3j is refused as no number
    for value in (14 + 3j, np.complex128(14 + 3j), np.complex64(14)):
        event = _event(column, value)
        with pytest.raises(rs.SchemaError, match=rf"column '{column}', row 0: .* not a number"):
            rs.read_messages({k: [v] for k, v in event.items()})
        with pytest.raises(rs.SchemaError, match=column):
            rs.OnlineScorer(random_model(1, per_feature=1)).update_one(event)


# ------------------------------------------ a labels file that is no Parquet file


def test_a_labels_fifo_is_refused_not_waited_on(tmp_path: Path) -> None:
    # `evaluate/train/compare/policy check --data DIR` opened labels.parquet without the
    # check the events file gets: a FIFO there blocked the command (SIGTERM did not end it)
    from riskscore.synthetic import SyntheticData, generate

    generate(6, seed=1).write(tmp_path)
    labels = tmp_path / "labels.parquet"
    labels.unlink()
    os.mkfifo(labels)
    # a writer that comes after a second, so that the old code ends instead of hanging;
    # the refusal comes before it, which is then cancelled
    writer = threading.Timer(1.0, lambda: labels.write_bytes(b"not parquet"))
    writer.start()
    try:
        with pytest.raises(rs.SchemaError, match=r"labels\.parquet is not a regular file"):
            SyntheticData.read(tmp_path)
    finally:
        writer.cancel()
        writer.join()


def test_a_labels_file_that_is_no_parquet_is_named(tmp_path: Path) -> None:
    from riskscore.synthetic import SyntheticData, generate

    generate(6, seed=1).write(tmp_path)
    (tmp_path / "labels.parquet").write_text("not parquet", encoding="utf-8")
    with pytest.raises(rs.SchemaError, match=r"labels\.parquet"):
        SyntheticData.read(tmp_path)
