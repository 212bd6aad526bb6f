"""Hostile review 65: message text held in a list or a struct where a schema column's value
belongs (a list column of a message's words, a struct of a chat export), refused as the
value it is, and never quoted or copied.

Each test whose docstring begins "Was:" failed on the code before its fix."""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from io_hostile_helpers import BASE_EVENT, T0

import riskscore as rs
from riskscore.cli import main
from riskscore.io.content_names import is_content_column
from riskscore.io.raw import NotShown
from riskscore.io.schema import BLANK_CHARS, TZ_UNKNOWN
from riskscore.policy import PolicyFileError

MESSAGE = "meet me tonight after school"
WORDS = MESSAGE.split()  # a tokenised message: every word alone is short
HELD: dict[str, Any] = {
    "list": [MESSAGE],
    "words": WORDS,
    "struct": {"kind": MESSAGE},
    "nested": [{"parts": [MESSAGE]}],
}
COLUMNS = ("conversation_id", "sender_id", "timestamp", "channel", "event", "sender_age")


def _events(column: str, value: Any) -> dict[str, list[Any]]:
    """Two events of one conversation, ``value`` in ``column`` of the first."""
    events: dict[str, list[Any]] = {k: [v, v] for k, v in BASE_EVENT.items()}
    events["timestamp"] = [T0, T0 + 60]
    events["sender_id"], events["recipient_id"] = [10, 20], [20, 10]
    events[column] = [value, events[column][1]]
    return events


@pytest.mark.parametrize("column", COLUMNS)
@pytest.mark.parametrize("held", sorted(HELD))
def test_text_in_a_list_or_struct_is_never_quoted(column: str, held: str) -> None:
    """Was: a list or a struct holding a message in a schema column was quoted in the error
    (``['meet me tonight after school'] is not an id``) and kept as the quarantined value,
    though the same text alone was shown by its length only."""
    events = _events(column, HELD[held])
    with pytest.raises(rs.SchemaError) as caught:
        rs.read_messages(events, now=T0)
    assert "tonight" not in str(caught.value)
    assert (caught.value.column, caught.value.row) == (column, 0)
    assert isinstance(caught.value.value, NotShown)
    quarantined = rs.read_messages(events, now=T0, errors="quarantine").quarantined
    assert list(quarantined.value) == [None]
    assert "tonight" not in repr(quarantined)


def test_a_list_column_of_a_parquet_file_is_never_quoted(tmp_path: Path) -> None:
    """Was: a Parquet list column of words in ``channel`` was quoted (its first words)."""
    table = pa.table(_events("channel", "direct"))
    table = table.set_column(
        table.schema.get_field_index("channel"), "channel", pa.array([WORDS, ["direct"]])
    )
    pq.write_table(table, tmp_path / "e.parquet")
    with pytest.raises(rs.SchemaError) as caught:
        rs.read_messages(tmp_path / "e.parquet", now=T0)
    assert "tonight" not in str(caught.value)
    assert caught.value.value == NotShown(len(MESSAGE), "characters in a list")


def test_the_quarantine_file_holds_no_text_of_a_list(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: ``riskscore score --errors quarantine`` wrote the list holding the message to
    quarantine.jsonl whole."""
    events = _events("channel", [MESSAGE])
    rows = [{k: v[i] for k, v in events.items()} for i in range(2)]
    path = tmp_path / "e.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    out = tmp_path / "out"
    argv = [str(path), "--out", str(out), "--errors", "quarantine", "--max-future-s", "inf"]
    assert main(["score", *argv]) == 0
    record = json.loads((out / "quarantine.jsonl").read_text(encoding="utf-8"))
    assert (record["column"], record["value"]) == ("channel", None)
    assert "tonight" not in capsys.readouterr().out


def test_one_event_with_text_in_a_list_is_refused_unquoted() -> None:
    """Was: the online scorer quoted the list in its refusal of the event."""
    scorer = rs.OnlineScorer(rs.load_model())
    with pytest.raises(rs.SchemaError) as caught:
        scorer.update_one({**BASE_EVENT, "sender_id": [MESSAGE]})
    assert "tonight" not in str(caught.value)
    assert caught.value.value == NotShown(len(MESSAGE), "characters in a list")


@pytest.mark.parametrize(
    ("column", "value", "quoted"),
    [
        ("channel", ["direct"], "['direct']"),
        ("sender_id", [7], "[7]"),
        ("sender_age", [13], "[13]"),
    ],
)
def test_a_list_of_no_text_or_one_token_is_still_quoted(
    column: str, value: list[Any], quoted: str
) -> None:
    """A list that holds no text, or one short token, is quoted as a value is: what was
    found, for the user to fix."""
    with pytest.raises(rs.SchemaError) as caught:
        rs.read_messages(_events(column, value), now=T0)
    assert f"row 0: {quoted} " in str(caught.value)


@pytest.mark.parametrize("column", ["sender_id", "conversation_id", "timestamp", "channel"])
def test_a_masked_cell_of_a_required_column_is_missing(column: str) -> None:
    """Was: ``np.asarray`` of a numpy masked array gave the data under the mask, so a
    masked sender id was read as account 10 (an unknown sender merged with an account)
    and a masked time or channel as a value no one gave."""
    events = _events(column, "direct" if column == "channel" else 10)
    values = events[column]
    if column == "timestamp":
        values = [T0, T0 + 60]
    events[column] = np.ma.masked_array(values, mask=[True, False])
    with pytest.raises(rs.SchemaError, match=f"column '{column}', row 0: None is missing"):
        rs.read_messages(events, now=T0)


def test_a_masked_age_or_offset_is_unknown() -> None:
    """Was: a masked (unknown) age was read as the number under the mask: a child of 12
    where no age was given, and a UTC offset of 60 minutes where none was."""
    events = _events("recipient_age", 13.0)
    events["recipient_age"] = np.ma.masked_array([12.0, 30.0], mask=[True, False])
    events["recipient_tz_offset_min"] = np.ma.masked_array([60, 0], mask=[True, False])
    msgs = rs.read_messages(events, now=T0)
    assert math.isnan(msgs.recipient_age[0])
    assert msgs.recipient_age[1] == 30.0
    assert msgs.recipient_tz_offset_min.tolist() == [TZ_UNKNOWN, 0]


def test_a_masked_array_without_masked_cells_reads_as_its_data() -> None:
    events = _events("sender_id", 10)
    events["sender_id"] = np.ma.masked_array([10, 20])
    assert rs.read_messages(events, now=T0).sender_id.tolist() == [10, 20]


@pytest.mark.parametrize("blank", list(BLANK_CHARS))
def test_an_id_with_a_blank_letter_is_refused_in_batch_and_online(
    tmp_path: Path, blank: str
) -> None:
    """Was: ``alice`` followed by a Hangul filler (a letter that draws nothing) or the blank
    braille pattern was an account of its own that a moderator reads as ``alice``, though a
    zero-width space is refused for that reason; the error now writes it escaped."""
    events = _events("sender_id", "x")
    events["sender_id"] = [f"alice{blank}", "alice"]
    events["recipient_id"] = ["alice", f"alice{blank}"]
    pq.write_table(pa.table(events), tmp_path / "e.parquet")
    for source in (events, tmp_path / "e.parquet"):
        with pytest.raises(rs.SchemaError, match="holds a control character") as caught:
            rs.read_messages(source, now=T0)
        assert f"'alice\\u{ord(blank):04x}'" in str(caught.value)
    scorer = rs.OnlineScorer(rs.load_model())
    with pytest.raises(rs.SchemaError, match="holds a control character"):
        scorer.update_one({**BASE_EVENT, "sender_id": f"alice{blank}", "recipient_id": "bo"})


@pytest.mark.parametrize("blank", list(BLANK_CHARS))
def test_a_blank_letter_does_not_hide_a_content_column(blank: str) -> None:
    """Was: ``te\\u3164xt`` (drawn as ``te xt`` or ``text``) was not read as ``text``."""
    assert is_content_column(f"te{blank}xt")
    assert is_content_column(f"text{blank}")
    with pytest.raises(PolicyFileError, match="control or invisible character"):
        rs.AlertPolicy.from_toml(_policy_with_band_name(f"13-15{blank}"))


def _policy_with_band_name(name: str) -> Path:
    text = rs.AlertPolicy.default().to_toml().replace('name = "13-15"', f'name = "{name}"')
    assert name in text
    path = Path(tempfile.mkdtemp()) / "p.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("name", ["   ", "13-15 ", " 13-15"])
def test_a_blank_band_name_or_one_with_spaces_around_it_is_refused(name: str) -> None:
    """Was: a band named by spaces alone was accepted (a blank band in every report), and
    ``13-15 `` was a band of its own that reports show as ``13-15``; moderator names
    already refuse a blank name."""
    with pytest.raises(PolicyFileError, match="blank or has spaces around it"):
        rs.AlertPolicy.from_toml(_policy_with_band_name(name))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"sender\u3164_age": [30]}, r"column 'sender\\u3164_age' is not a schema v1 column"),
        (
            {"sender_age": [3], "Sender\u3164_Age": [30]},
            r"columns 'Sender\\u3164_Age' and 'sender_age' both name 'sender_age'",
        ),
    ],
)
def test_a_misspelt_column_name_is_quoted_with_its_blank_letters_escaped(
    extra: dict[str, list[object]], message: str
) -> None:
    """Was: the misspelt-name and two-names errors quoted a column name with plain repr, so
    ``sender<Hangul filler>_age`` read as ``sender _age`` and its cause was invisible; now the
    name is quoted as every other error quotes one (escaped, or only its length if a sentence)."""
    events = {"conversation_id": [1], "timestamp": [1_714_521_600], "sender_id": ["a"],
              "recipient_id": ["b"], "channel": ["direct"], **extra}  # fmt: skip
    with pytest.raises(rs.SchemaError, match=message):
        rs.read_messages(events, now=1_714_521_600)


def test_message_text_given_as_the_events_path_is_not_echoed(tmp_path: Path) -> None:
    """Was: ``read_messages("meet me tonight ...")`` (text passed where a path belongs) put
    the text in the FileNotFoundError and so in logs; now it names it by its length, while
    a missing path with a separator or a suffix is still shown as given."""
    text = "meet me tonight after school and do not tell anyone"
    with pytest.raises(FileNotFoundError) as info:
        rs.read_messages(text)
    assert "tonight" not in str(info.value)
    assert f"text of {len(text)} characters" in str(info.value)
    missing = tmp_path / "my events file.csv"
    with pytest.raises(FileNotFoundError, match=r"my events file\.csv"):
        rs.read_messages(missing)


def test_a_dict_of_pandas_series_with_different_indexes_is_refused() -> None:
    """Was: a dict's columns were read by position, so Series whose indexes differ paired
    one row's sender with another row's recipient, in silence (pandas would align them by
    label). Now such a dict is refused, naming two of its columns; Series of one index, or
    mixed with plain lists, are read as before."""
    pd = pytest.importorskip("pandas")
    t0 = 1_714_521_600
    events = {"conversation_id": pd.Series([1, 1]), "timestamp": pd.Series([t0, t0 + 1]),
              "sender_id": pd.Series(["a", "b"], index=[1, 0]),
              "recipient_id": pd.Series(["b", "a"]), "channel": ["direct", "direct"]}  # fmt: skip
    with pytest.raises(rs.SchemaError, match="'conversation_id' and 'sender_id' are pandas Ser"):
        rs.read_messages(events, now=t0)
    events["sender_id"] = pd.Series(["a", "b"])
    assert len(rs.read_messages(events, now=t0)) == 2
