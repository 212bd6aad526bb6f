"""Hostile review 98: text that may be message content, echoed. Content-like names in
scripts written without spaces, an error's ``column`` attribute, unread names that are
sentences joined by separators, an extension type's name, pictographs outside the emoji
blocks, and a field named by bytes."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest
from online_helpers import MODEL, POLICY

import riskscore as rs
from riskscore.exceptions import SchemaError

MESSAGE = "\u4eca\u665a\u89c1\u9762\u7684\u6d88\u606f\u522b\u544a\u8bc9\u5988\u5988"  # holds 消息


def test_a_content_name_in_chinese_is_refused_by_its_length(tmp_path: Path) -> None:
    # A CSV without a header gives its first row as the names: the message was printed.
    path = tmp_path / "headerless.csv"
    path.write_text(
        f"c1,1767225600,a,b,direct,media,30,12,{MESSAGE}\nc1,1767225660,b,a,direct,message,12,30,x\n",
        encoding="utf-8",
    )
    with pytest.raises(SchemaError, match="looks like message content") as info:
        rs.read_messages(path)
    assert MESSAGE not in str(info.value)
    assert f"text of {len(MESSAGE)} characters (not shown" in str(info.value)
    assert info.value.column is None


def test_an_errors_column_is_none_when_its_message_withholds_the_name() -> None:
    name = "send me a text behind the school"
    columns = {"conversation_id": [1], "timestamp": [1767225600], "sender_id": ["a"],
               "recipient_id": ["b"], "channel": ["direct"], name: ["x"]}  # fmt: skip
    with pytest.raises(SchemaError) as info:
        rs.read_messages(columns)
    assert name not in str(info.value)
    assert info.value.column is None


@pytest.mark.parametrize(
    "name", ["dont_tell_your_mum_meet_me_behind_the_school", "wearGoingToMeetTonightOk"]
)
def test_unread_names_of_many_words_are_kept_as_other_names(tmp_path: Path, name: str) -> None:
    path = tmp_path / "events.jsonl"
    row = {"conversation_id": 1, "timestamp": 1767225600, "sender_id": "a",
           "recipient_id": "b", "channel": "direct", name: 1, "client_version": 3}  # fmt: skip
    path.write_text(json.dumps(row) + "\n")
    assert set(rs.read_messages(path).unread_columns) == {"client_version", "(other names)"}


class _Tagged(pa.ExtensionType):
    def __init__(self) -> None:
        super().__init__(pa.string(), "meet me behind the school tonight")

    def __arrow_ext_serialize__(self) -> bytes:
        return b""

    @classmethod
    def __arrow_ext_deserialize__(cls, storage_type: pa.DataType, serialized: bytes) -> _Tagged:
        return cls()


def test_an_extension_types_name_is_not_quoted() -> None:
    table = pa.table({
        "conversation_id": pa.ExtensionArray.from_storage(_Tagged(), pa.array(["c1", "c1"])),
        "timestamp": [1767225600, 1767225660], "sender_id": ["a", "b"],
        "recipient_id": ["b", "a"], "channel": ["direct", "direct"],
    })  # fmt: skip
    records = rs.read_messages(table, errors="quarantine").quarantined.to_records()
    assert records
    assert all("behind the school" not in str(r["value"]) for r in records)


@pytest.mark.parametrize("value", ["\u23f0\u231b\u23f3", "\u21a9\ufe0f\u2934\ufe0f\u203c\ufe0f"])
def test_pictographs_outside_the_emoji_blocks_are_not_quoted(value: str) -> None:
    columns = {"conversation_id": [1, 1], "timestamp": [1767225600, 1767225660],
               "sender_id": ["a", "b"], "recipient_id": ["b", "a"],
               "channel": ["direct", value]}  # fmt: skip
    (record,) = rs.read_messages(columns, errors="quarantine").quarantined.to_records()
    assert record["value"] is None


def test_a_field_named_by_bytes_is_named_by_its_type() -> None:
    event = {"conversation_id": 1, "timestamp": 1767225600, "sender_id": "a",
             "recipient_id": "b", "channel": "direct",
             b"meet me behind the school tonight": 1}  # fmt: skip
    scorer = rs.OnlineScorer(MODEL, POLICY, time_source="events")
    with pytest.raises(SchemaError, match="a field's name is a bytes value, not text") as info:
        scorer.update_one(event)
    assert "behind the school" not in str(info.value)
