"""Hostile-input review 22: content-like column names written in camelCase after an
acronym, ids given as floats narrower than 64 bits, and what a careless upstream export
gets past the readers. Each test failed on the code before its fix."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import riskscore as rs
from riskscore.io.content_names import is_content_column

T0 = 1_767_225_600


def _events(**columns: Any) -> dict[str, Any]:
    """Two events of one conversation between ``a`` and ``b``, ``columns`` replacing or
    adding columns."""
    table: dict[str, Any] = {
        "conversation_id": ["c1", "c1"],
        "timestamp": [T0, T0 + 60],
        "sender_id": ["a", "b"],
        "recipient_id": ["b", "a"],
        "channel": ["direct", "direct"],
    }
    return {**table, **columns}


@pytest.mark.parametrize("name", ["SMSBody", "HTMLBody", "DMText", "IMText", "MSGText", "TEXTRaw"])
def test_a_content_word_after_an_acronym_in_camel_case_is_refused(name: str) -> None:
    # camelCase was split only where a lower-case letter met an upper-case one, so the word
    # after an acronym stayed glued to it ("smsbody") and the column was read as metadata
    assert is_content_column(name)
    with pytest.raises(rs.SchemaError, match="looks like message content"):
        rs.read_messages(_events(**{name: ["hello", "there"]}))


@pytest.mark.parametrize("name", ["IPAddress", "APIHash", "ISOWeek", "UTCOffset", "senderIDHash"])
def test_other_names_after_an_acronym_are_still_read_as_metadata(name: str) -> None:
    assert not is_content_column(name)


@pytest.mark.parametrize(
    ("dtype", "ids"), [(np.float32, [2**25 + 1, 2**25]), (np.float16, [2**12 + 1, 2**12])]
)
def test_a_narrow_float_id_beyond_its_exact_integers_is_refused(
    dtype: type[np.floating[Any]], ids: list[int]
) -> None:
    # a 32-bit float holds every integer only up to 2**24 (16-bit: 2**11): 2**25 + 1 and
    # 2**25 are one float32, so two conversations were read as one; float64 ids beyond
    # 2**53 are refused for the same reason
    column = np.array(ids, dtype=dtype)
    assert column[0] == column[1]  # merged before riskscore sees them
    with pytest.raises(rs.SchemaError, match=r"conversation_id.*row 0.*float id beyond 2\*\*"):
        rs.read_messages(_events(conversation_id=column))
    as_objects = np.array(list(column), dtype=object)  # numpy scalars in an object column
    with pytest.raises(rs.SchemaError, match=r"conversation_id.*row 0.*float id beyond 2\*\*"):
        rs.read_messages(_events(conversation_id=as_objects))


def test_a_narrow_float_id_within_its_exact_integers_is_an_integer_id() -> None:
    msgs = rs.read_messages(_events(conversation_id=np.array([2_048, 2_048], dtype=np.float16)))
    assert msgs.n_conversations == 1


@pytest.mark.parametrize(
    "name", ["te\x00xt", "me\x1bssage", "bo\x7fdy", "capt\x9bion", "te\ud800xt"]
)
def test_a_control_character_inside_a_content_word_does_not_hide_it(name: str) -> None:
    # a zero-width space (format character) inside "text" was dropped and the name refused,
    # but a NUL, an escape or DEL, which a terminal shows as nothing, split the word in two
    # and the column was read past as metadata ("te", "xt")
    assert is_content_column(name)


@pytest.mark.parametrize("name", ["te\txt", "te\nxt", "te\u2028xt"])
def test_whitespace_inside_a_name_still_separates_its_words(name: str) -> None:
    assert not is_content_column(name)


def test_a_parquet_column_with_a_nul_in_a_content_word_is_refused(tmp_path: Any) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "events.parquet"
    pq.write_table(pa.table(_events(**{"te\x00xt": ["hello", "there"]})), path)
    with pytest.raises(rs.SchemaError, match="looks like message content"):
        rs.read_messages(path)


def test_a_dataframe_index_named_like_content_is_refused() -> None:
    # pandas keeps a named index as a column when the frame becomes Arrow or Parquet (which
    # refuse it), but read_messages(frame) ignored it: message text as the index passed
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(_events()).set_index(pd.Index(["hi", "hello"], name="SMSBody"))
    with pytest.raises(rs.SchemaError, match="'SMSBody' looks like message content"):
        rs.read_messages(frame)
    named = pd.DataFrame(_events()).set_index(pd.Index([7, 8], name="row_number"))
    assert rs.read_messages(named).unread_columns == ("row_number",)
    assert rs.read_messages(pd.DataFrame(_events())).unread_columns == ()


def test_a_dataframe_index_named_as_a_schema_column_is_refused_not_ignored() -> None:
    # frame.set_index("sender_age") left every age unknown, silently
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(_events(sender_age=[31.0, 12.0])).set_index("sender_age")
    with pytest.raises(rs.SchemaError, match="'sender_age' is the DataFrame's index"):
        rs.read_messages(frame)


def test_a_labels_file_with_a_content_column_is_refused_before_it_is_loaded(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # labels.parquet was read whole (pq.read_table): a column of message text beside the
    # labels was loaded into memory and passed, though the events reader refuses it
    import pyarrow as pa
    import pyarrow.parquet as pq

    from riskscore.synthetic import SyntheticData, generate

    generate(6, seed=1).write(tmp_path)
    labels = pq.read_table(tmp_path / "labels.parquet")
    with_text = labels.append_column("SMSBody", pa.array(["hi"] * len(labels)))
    pq.write_table(with_text, tmp_path / "labels.parquet")
    loaded: list[object] = []
    read_table = pq.read_table
    monkeypatch.setattr(pq, "read_table", lambda *a, **k: loaded.append(k) or read_table(*a, **k))
    with pytest.raises(rs.SchemaError, match=r"'SMSBody' looks like message content.*labels"):
        SyntheticData.read(tmp_path)
    assert loaded == []
    with pytest.raises(rs.SchemaError, match=r"'SMSBody' looks like message content.*labels"):
        rs.synthetic.labels_from_arrow(with_text)
    # another column beside the labels is not loaded, and the labels read as before
    pq.write_table(
        labels.append_column("note_id", pa.array([1] * len(labels))), tmp_path / "labels.parquet"
    )
    assert len(SyntheticData.read(tmp_path).labels) == len(labels)
    assert "note_id" not in loaded[-1]["columns"]  # type: ignore[index]


@pytest.mark.parametrize(
    ("row", "refusal"),
    [
        ("see you at practice friday", "missing required"),
        ("see you at practice friday,see you at practice friday", "appears twice"),
        ("send the practice text now", "looks like message content"),
    ],
)
def test_a_file_without_a_header_does_not_quote_its_first_row_of_message_text(
    tmp_path: Any, row: str, refusal: str
) -> None:
    # a CSV without a header gives its first row as the column names: the errors on them
    # (required columns missing, a name twice, a content word) quoted message text into
    # the terminal and logs
    path = tmp_path / "events.csv"
    path.write_text(f"c1,{T0},a,b,direct,{row}\n", encoding="utf-8")
    with pytest.raises(rs.SchemaError, match=refusal) as refused:
        rs.read_messages(path)
    assert "practice" not in str(refused.value)
    assert "text of 26 characters (not shown" in str(refused.value) or "25 char" in str(
        refused.value
    )
    if refusal == "missing required":  # a name that is no sentence is still quoted
        assert "'direct'" in str(refused.value)


def test_an_ignored_field_named_with_a_sentence_is_not_kept_by_name() -> None:
    # `riskscore stream` and `serve` count an event's other fields by name, in their summary
    # and checkpoint: a field named with message text was kept there as it was sent
    from riskscore.io.events import OTHER_NAMES, count_ignored

    counts: dict[str, int] = {}
    count_ignored({"conversation_id": "c1", "see you at the gym": 1, "colour": 2}, counts)
    assert counts == {OTHER_NAMES: 1, "colour": 1}


def test_an_account_features_file_with_a_content_column_is_refused(tmp_path: Any) -> None:
    # `riskscore score --accounts FILE` read the whole file: a column of message text
    # beside the account features was loaded and the file accepted
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "accounts.parquet"
    rs.write_account_features(rs.extract_account_features(rs.read_messages(_events())), path)
    table = pq.read_table(path)
    with_text = table.append_column("DMText", pa.array(["hi"] * len(table)))
    pq.write_table(with_text.replace_schema_metadata(table.schema.metadata), path)
    with pytest.raises(rs.SchemaError, match=r"'DMText' looks like message content.*account"):
        rs.read_account_features(path)
