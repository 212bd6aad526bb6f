"""Hostile review 47: string-like Arrow types in CSV outputs and out-of-core reads, text
timestamps with fractions finer than a float holds, content-like column names of
messaging platforms' exports, and model bundle metadata of the wrong type.

Each test whose docstring begins "Was:" failed on the code before its fix. All data is
synthetic."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import riskscore as rs
from riskscore.batch.parquet_chunks import iter_conversation_chunks
from riskscore.cli import main
from riskscore.io.arrow import escape_csv_table, write_table
from riskscore.io.content_names import is_content_column
from riskscore.io.events import parse_event
from riskscore.io.schema import CONTENT_NAMED
from riskscore.model import load_model, save_model
from riskscore.model.bundle import MANIFEST, default_model_dir
from riskscore.model.card import render_model_card

T0 = 1_704_067_200  # 2024-01-01T00:00:00Z
EVENT: dict[str, Any] = {
    "conversation_id": "c",
    "timestamp": T0,
    "sender_id": "a",
    "recipient_id": "b",
    "channel": "direct",
}

# ------------------------------------------------------- 1. CSV cells of every text type

_CELLS = ["=1+2", "plain", None, "-3", "@x", "'=1"]
_ESCAPED = ["'=1+2", "plain", None, "'-3", "'@x", "''=1"]


def _text_array(kind: pa.DataType) -> pa.Array:
    if pa.types.is_dictionary(kind):
        values = pa.array(["=1+2", "plain", "-3", "@x", "'=1"]).cast(kind.value_type)
        indices = pa.array([0, 1, None, 2, 3, 4], kind.index_type)
        return pa.DictionaryArray.from_arrays(indices, values)
    return pa.array(_CELLS).cast(kind)


_TEXT_KINDS = [
    pa.string(),
    pa.large_string(),
    pa.string_view(),
    pa.dictionary(pa.int32(), pa.string()),
    pa.dictionary(pa.int32(), pa.large_string()),
    pa.dictionary(pa.uint8(), pa.string_view()),
]


@pytest.mark.parametrize("kind", _TEXT_KINDS, ids=str)
def test_formula_cells_are_escaped_in_every_text_type(kind: pa.DataType, tmp_path: Path) -> None:
    """Was: large_string raised ArrowNotImplementedError ('binary_join_element_wise' has no
    kernel matching (string, large_string, string)); string_view, dictionary<large_string>
    and dictionary<string_view> columns were written unescaped (``=1+2``)."""
    array = _text_array(kind)
    table = pa.table({"id": pa.chunked_array([array, array]), "n": list(range(12))})
    assert escape_csv_table(table).column("id").to_pylist() == _ESCAPED * 2
    path = write_table(table, tmp_path / "out.csv")
    lines = path.read_text().splitlines()
    assert lines[1] == '"\'=1+2","0"'  # 64-bit integers as text (review 72)
    assert lines[4] == '"\'-3","3"'


@pytest.mark.parametrize("kind", [pa.string_view(), pa.dictionary(pa.int8(), pa.string_view())])
def test_an_events_csv_of_string_views_is_written_as_given(
    kind: pa.DataType, tmp_path: Path
) -> None:
    """Was: ArrowInvalid 'Unsupported Type:string_view' from Arrow's CSV writer (the file
    riskscore's own input format is written unescaped)."""
    array = _text_array(kind)
    path = write_table(pa.table({"id": array}), tmp_path / "e.csv", escape_formulas=False)
    assert path.read_text().splitlines()[1:] == ['"=1+2"', '"plain"', "", '"-3"', '"@x"', '"\'=1"']


# ------------------------------------------- 2. --chunk-rows reads what plain score reads


def _risks(folder: Path) -> list[str]:
    return sorted((folder / "scores.csv").read_text().splitlines())


def _events_of(kind: pa.DataType, folder: Path) -> Path:
    """Synthetic events whose conversation and account ids and channels are of ``kind``
    (only the conversation ids for a binary kind)."""
    table = rs.synthetic.generate(40, prevalence=0.2, seed=3).messages.to_arrow()
    for name in ("conversation_id", "sender_id", "recipient_id", "channel"):
        i = table.schema.get_field_index(name)
        text = table.column(i).cast(pa.string())
        keep = pa.types.is_binary_view(kind) and name != "conversation_id"
        table = table.set_column(i, name, text if keep else text.cast(kind))
    events = folder / "events.parquet"
    pq.write_table(table, events)
    return events


_COMMON = ["--format", "csv", "--top", "0"]


@pytest.mark.parametrize("kind", [pa.string_view(), pa.large_string()], ids=str)
def test_streamed_scoring_reads_view_columns_as_scoring_in_memory(
    kind: pa.DataType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: ``riskscore score --chunk-rows`` refused a string_view conversation_id
    ("column 'conversation_id' of events.parquet has type string_view: ids are integers
    or text") that plain ``riskscore score`` read, and once let through failed with
    "Function 'array_take' has no kernel matching input types (string_view, int64)"."""
    events = _events_of(kind, tmp_path)
    assert main(["score", str(events), "--out", str(tmp_path / "whole"), *_COMMON]) == 0
    chunked = ["--chunk-rows", "300"]
    assert main(["score", str(events), "--out", str(tmp_path / "parts"), *_COMMON, *chunked]) == 0
    capsys.readouterr()
    assert _risks(tmp_path / "whole") == _risks(tmp_path / "parts")


def test_streamed_scoring_refuses_binary_view_ids_as_scoring_in_memory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: refused by type name with --chunk-rows ("has type binary_view"), by value
    without it (bytes are not ids): now by value in both."""
    events = _events_of(pa.binary_view(), tmp_path)
    errors = []
    for extra in ([], ["--chunk-rows", "300"]):
        assert main(["score", str(events), "--out", str(tmp_path / "o"), *_COMMON, *extra]) == 2
        errors.append(capsys.readouterr().err.splitlines()[-1])
    assert "b'0' is bytes, not an id" in errors[0]
    # the count of further bad rows is of the first chunk when streamed
    assert errors[1].split(" (")[0] == errors[0].split(" (")[0]


@pytest.mark.parametrize("ordered", [False, True])
def test_view_ids_with_missing_ones_are_chunked(tmp_path: Path, ordered: bool) -> None:
    """Was: refused by type ("has type string_view"); past that check, the scan of the ids
    failed with "Function 'array_take' has no kernel matching input types (string_view,
    uint16)" where it set the rows without an id aside (Arrow's filter)."""
    table = rs.synthetic.generate(20, prevalence=0.2, seed=4).messages.to_arrow()
    ids: list[str | None] = [str(v) for v in table.column("conversation_id").to_pylist()]
    ids[5] = ids[100] = None
    order = sorted(range(len(ids)), key=lambda i: (ids[i] is None, ids[i] or ""))
    rows = pa.array(order if ordered else range(len(ids)))
    table = table.set_column(0, "conversation_id", pa.array(ids)).take(rows)
    path = tmp_path / "events.parquet"
    views = table.column(0).cast(pa.string_view())
    pq.write_table(table.set_column(0, "conversation_id", views), path, row_group_size=100)
    chunks = list(iter_conversation_chunks(path, chunk_rows=150))
    assert sum(c.num_rows for c in chunks) == len(ids)
    missing = [c for c in chunks if c.column("conversation_id").null_count]
    assert sum(c.num_rows for c in missing) == 2


# ------------------------------------------------- 3. a fraction never makes a later second

_FINE = ["1704067200.9999999999", "1704067200.99999999999999999", "1.7040672009999999999e9"]


@pytest.mark.parametrize("text", _FINE)
def test_epoch_text_with_a_fine_fraction_stays_in_its_second(text: str, tmp_path: Path) -> None:
    """Was: 1704067201 (the text read as its nearest float, 1704067201.0, then floored)
    in a CSV cell, a JSON string, a dict of lists and an online event."""
    path = tmp_path / "e.csv"
    path.write_text(f"{','.join(EVENT)}\nc,{text},a,b,direct\n")
    inf = float("inf")
    assert rs.read_messages(path, max_future_s=inf).timestamp.tolist() == [T0]
    lines = tmp_path / "e.jsonl"
    lines.write_text(json.dumps({**EVENT, "timestamp": text}) + "\n")
    assert rs.read_messages(lines, max_future_s=inf).timestamp.tolist() == [T0]
    given = {k: [v] for k, v in {**EVENT, "timestamp": text}.items()}
    assert rs.read_messages(given, max_future_s=inf).timestamp.tolist() == [T0]
    assert parse_event({**EVENT, "timestamp": text}).timestamp == T0


def test_iso_text_with_a_fine_fraction_stays_in_its_second() -> None:
    for text in ("2024-01-01T00:00:00.9999999999Z", "2024-01-01 01:00:00.9999995+01"):
        given = {k: [v] for k, v in {**EVENT, "timestamp": text}.items()}
        assert rs.read_messages(given, max_future_s=float("inf")).timestamp.tolist() == [T0]
        assert parse_event({**EVENT, "timestamp": text}).timestamp == T0


def test_a_decimal_timestamp_column_is_floored_as_written() -> None:
    """Was: 1704067201 (a warehouse's DECIMAL(20, 10) cast to float64 first)."""
    columns = {k: pa.array([v]) for k, v in EVENT.items()}
    columns["timestamp"] = pa.array([Decimal("1704067200.9999999999")], pa.decimal128(20, 10))
    table = rs.read_messages(pa.table(columns), max_future_s=float("inf"))
    assert table.timestamp.tolist() == [T0]


def test_epoch_text_out_of_float_range_is_refused_not_floored_by_its_digits() -> None:
    given = {k: [v] for k, v in {**EVENT, "timestamp": "1e999999"}.items()}
    with pytest.raises(rs.SchemaError, match="out of range"):
        rs.read_messages(given)


# --------------------------------------------------------------- 4. content-like names

#: Field names of what a user wrote or sent, as platforms' exports name them (Telegram,
#: Discord, Slack, WhatsApp Business, Teams, Instagram, X), all refused.
_SENT = [
    "attachment_name", "fileName", "file_name", "attachmentname", "sticker_name",
    "photo_caption", "link_url", "og_title", "alt_text", "ocr", "reaction_emoji",
    "sticker_emoji", "transcription", "image_description", "summary", "pretext", "fallback",
    "thumbnail", "uri", "href", "quote", "location.name", "contacts.name", "poll",
    "URLHash",  # as MessageHash: a content word makes the name content (an id's is not)
]  # fmt: skip
#: Metadata about what was sent, kept.
_METADATA = [
    "attachment_type", "attachment_count", "has_attachment", "media_type", "mime_type",
    "file_size", "duration_seconds", "sender_name", "display_name", "forwarded_from",
    "linked_account", "edited", "message_id", "msg_id", "messageId", "poll_id", "link_uuid",
    "text_ids",
]  # fmt: skip


@pytest.mark.parametrize("name", _SENT)
def test_names_of_what_a_user_sent_are_content(name: str) -> None:
    """Was: accepted (``attachment_name``, ``fileName``, ``link_url``, ``reaction_emoji``,
    ... are not words of the list)."""
    assert is_content_column(name)


@pytest.mark.parametrize("name", _METADATA)
def test_metadata_about_what_was_sent_is_not_content(name: str) -> None:
    assert not is_content_column(name)


def test_every_reader_refuses_a_file_name_column_naming_why(tmp_path: Path) -> None:
    """Was: ``attachment_name`` read by every reader (and never loaded, but not refused)."""
    why = r"'attachment_name' looks like message content \(its name holds 'attachment' \+ 'name'\)"
    columns = {k: [v] for k, v in {**EVENT, "attachment_name": "x.jpg"}.items()}
    with pytest.raises(rs.SchemaError, match=why):
        rs.read_messages(columns)
    with pytest.raises(rs.SchemaError, match=why):
        parse_event({**EVENT, "attachment_name": "x.jpg"})
    with pytest.raises(rs.SchemaError, match=r"'meta\.fileName' looks like message content"):
        parse_event({**EVENT, "meta": {"fileName": "x.jpg"}})
    path = tmp_path / "events.parquet"
    pq.write_table(pa.table(columns), path)
    with pytest.raises(rs.SchemaError, match=why):
        rs.read_messages(path)
    with pytest.raises(rs.SchemaError, match=why):
        list(iter_conversation_chunks(path, chunk_rows=10))


def test_docs_list_the_named_things_of_the_code() -> None:
    from riskscore._docs import generated_section

    doc = Path(__file__).parent.parent / "docs" / "schema.md"
    assert generated_section(doc, "named things") == ", ".join(sorted(CONTENT_NAMED))


# ------------------------------------------------------------- 5. bundle metadata types


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Path(shutil.copytree(default_model_dir(), tmp_path_factory.mktemp("b47") / "b"))


def _with_manifest(src: Path, dst: Path, edit: Any) -> Path:
    shutil.copytree(src, dst)
    manifest = json.loads((dst / MANIFEST).read_text())
    text = edit(manifest)
    (dst / MANIFEST).write_text(text if isinstance(text, str) else json.dumps(manifest))
    return dst


@pytest.mark.parametrize(
    ("caps", "shown"),
    [({"n_links": "big"}, "'big'"), ({"n_links": True}, "True"), ({"n_links": -1}, "-1"),
     ([3], r"\[3\]")],
)  # fmt: skip
def test_input_caps_that_are_not_numbers_are_refused_on_load(
    shipped: Path, tmp_path: Path, caps: object, shown: str
) -> None:
    """Was: loaded; the model card (``riskscore train --from-queue`` keeps a given
    bundle's metadata) then failed with ValueError "Unknown format code 'g' for object of
    type 'str'"."""
    bad = _with_manifest(shipped, tmp_path / "b", lambda m: m["metadata"].update(input_caps=caps))
    with pytest.raises(
        rs.ModelIntegrityError, match=rf"manifest\.json: metadata 'input_caps'.*{shown}"
    ):
        load_model(bad)


@pytest.mark.parametrize("key", ["inputs", "unconstrained_inputs", "training", "estimator"])
def test_card_metadata_of_another_type_is_refused_on_load(
    shipped: Path, tmp_path: Path, key: str
) -> None:
    """Was: loaded, then the card failed (``'int' object is not iterable``, ``'int'
    object has no attribute 'get'``; an ``estimator`` 7 was shown as the estimator)."""
    bad = _with_manifest(shipped, tmp_path / "b", lambda m: m["metadata"].update({key: 7}))
    with pytest.raises(rs.ModelIntegrityError, match=rf"manifest\.json: metadata '{key}' .*7"):
        load_model(bad)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_literals_in_a_bundle_are_refused(shipped: Path, tmp_path: Path, literal: str) -> None:
    """Was: loaded (Python's parser reads NaN, which JSON has no literal for) into the
    metadata the card and the drift reference read."""

    def edit(manifest: dict[str, Any]) -> str:
        manifest["metadata"]["metrics"] = {"auc": 0.5}
        return json.dumps(manifest).replace('"auc": 0.5', f'"auc": {literal}')

    bad = _with_manifest(shipped, tmp_path / "b", edit)
    with pytest.raises(
        rs.ModelIntegrityError, match=rf"manifest\.json is not valid JSON: holds {literal}"
    ):
        load_model(bad)


def test_the_shipped_bundle_still_loads_saves_and_renders(tmp_path: Path) -> None:
    model = load_model()
    assert "up to" in render_model_card(model.metadata)
    assert load_model(save_model(model, tmp_path / "again")).to_dict() == model.to_dict()


# ------------------------------------------------------------ 6. more hostile text files

_HEADER = ",".join(EVENT)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_a_utf16_file_is_refused_as_such(tmp_path: Path, encoding: str, suffix: str) -> None:
    """Was: a CSV refused for its first column name, quoted with NUL between the letters
    ("column 'c\\x00o\\x00n\\x00...' is not a schema v1 column but looks like
    'conversation_id' misspelt"), a JSON lines file as "no event objects found ... line 1
    is not valid UTF-8"."""
    text = f"{_HEADER}\nc,{T0},a,b,direct\n" if suffix == ".csv" else json.dumps(EVENT) + "\n"
    path = tmp_path / f"events{suffix}"
    path.write_bytes(text.encode(encoding))
    shown = "UTF-32" if encoding == "utf-32" else "UTF-16"
    with pytest.raises(rs.SchemaError, match=rf"^events\{suffix}: the file is {shown} text"):
        rs.read_messages(path)
    path.write_bytes(text.encode("utf-8-sig"))
    assert len(rs.read_messages(path, max_future_s=float("inf"))) == 1


def test_a_long_cell_in_an_unread_column_of_the_first_row_is_not_read(tmp_path: Path) -> None:
    """Was: "events.csv: not a readable CSV events file (Error: field larger than field
    limit (131072))": the check for a header without rows read the first row with
    Python's csv module, whose cells stop at 128 KiB; Arrow reads the file, and a long
    cell in a later row was read as such."""
    path = tmp_path / "events.csv"
    path.write_text(f"{_HEADER},extra\nc,{T0},a,b,direct,{'q' * 300_000}\n")
    assert rs.read_messages(path, max_future_s=float("inf")).unread_columns == ("extra",)
    path.write_text(f"{_HEADER}\n{'c' * 300_000},{T0},a,b,direct\n")
    with pytest.raises(rs.SchemaError, match=r"\(300000 characters\) is longer than 256"):
        rs.read_messages(path)


def test_nan_literals_in_params_are_refused_where_they_are_read(tmp_path: Path) -> None:
    """params.json keeps Python's parser (NaN read as a float) so that the checks of the
    trees and the calibration name the array, node or key; a NaN is refused there."""
    import hashlib

    bundle = Path(shutil.copytree(default_model_dir(), tmp_path / "b"))
    params = json.loads((bundle / "params.json").read_text())
    params["calibration"]["a"] = float("nan")
    data = json.dumps(params).encode()
    (bundle / "params.json").write_bytes(data)
    manifest = json.loads((bundle / MANIFEST).read_text())
    manifest["files"]["params.json"] = hashlib.sha256(data).hexdigest()
    (bundle / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(rs.ModelIntegrityError, match=r"params\.json: .*'a' must be a finite"):
        load_model(bundle)
