"""Hostile review 54: message text where numbers, times or ids belong (in scripts
written without spaces; in what the review queue is given), and times far ahead. All data
is synthetic."""

from __future__ import annotations

import dataclasses
import io
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from io_hostile_helpers import BASE_EVENT, EMOJI_MESSAGE

import riskscore as rs
from riskscore.cli import main

# ------------------------------------------- text in scripts written without spaces

#: Short messages in scripts written without spaces between words (Chinese, Japanese,
#: Thai): one "word" each to the sentence rule, and shorter than its length limits.
UNSPACED_MESSAGES = [
    "\u7ed9\u6211\u53d1\u4e00\u5f20\u4f60\u7684\u7167\u7247",  # Chinese: send me a photo
    "\u4eca\u5915\u4f1a\u3048\u308b\uff1f",  # Japanese: can we meet tonight?
    "\u0e04\u0e34\u0e14\u0e16\u0e36\u0e07\u0e40\u0e18\u0e2d",  # Thai: miss you
]
#: The columns of numbers, times and category names.
VALUE_COLUMNS = [
    "timestamp",
    "channel",
    "event",
    "sender_age",
    "recipient_age",
    "recipient_tz_offset_min",
    "room_size",
]


def _two_events(column: str, value: Any) -> dict[str, list[Any]]:
    events = {k: [v, v] for k, v in BASE_EVENT.items()}
    events["timestamp"] = [BASE_EVENT["timestamp"], BASE_EVENT["timestamp"] + 60]
    events[column] = [value, events[column][1] if column in events else None]
    return events


@pytest.mark.parametrize("message", UNSPACED_MESSAGES)
@pytest.mark.parametrize("column", VALUE_COLUMNS)
def test_unspaced_text_in_a_value_column_is_never_quoted(column: str, message: str) -> None:
    """Was: quoted in the error and copied into the quarantine record (the online error
    too): text was held to be message content only when it had three words separated by
    whitespace or was longer than 32 (categories) or 40 characters, and a message in
    Chinese, Japanese or Thai has no spaces and is short. A number, a time or a category
    name holds no letter of these scripts: such a value is now only counted."""
    events = _two_events(column, message)
    with pytest.raises(rs.SchemaError, match=f"column '{column}', row 0") as caught:
        rs.read_messages(events)
    assert message not in str(caught.value)
    assert "not shown: it may be message content" in str(caught.value)
    kept = rs.read_messages(events, errors="quarantine")
    assert kept.quarantined.column == (column,)
    assert message not in repr(kept.quarantined)
    scorer = rs.OnlineScorer(rs.load_model(), time_source="events")
    with pytest.raises(rs.SchemaError, match=f"column '{column}'") as online:
        scorer.update_one({**BASE_EVENT, column: message})
    assert message not in str(online.value)


def test_a_refused_value_in_latin_letters_is_still_quoted() -> None:
    """What a person needs to find a bad cell is still shown when it cannot be a
    message: a misspelt channel name, a date where epoch seconds belong."""
    with pytest.raises(rs.SchemaError, match="'drect' is not recognised"):
        rs.read_messages(_two_events("channel", "drect"))
    with pytest.raises(rs.SchemaError, match="'2024-05-01' is a date"):
        rs.read_messages(_two_events("timestamp", "2024-05-01"))


# ------------------------------------------------------- what the review queue is given


def _report(**changes: Any) -> rs.UserReport:
    fields: dict[str, Any] = {
        "conversation_id": "conv-1",
        "reporter_id": "kid-1",
        "reported_id": "adult-1",
        "reporter_age": 13.0,
        "timestamp": BASE_EVENT["timestamp"],
        "channel": "direct",
    }
    return rs.UserReport(**{**fields, **changes})


@pytest.mark.parametrize("field", ["conversation_id", "reporter_id", "reported_id"])
def test_a_sentence_is_no_id_the_review_queue_takes(tmp_path: Path, field: str) -> None:
    """Was: queued, and shown to moderators and written to the exports as an id: the
    queue held ids to the rules of stored ids (length, printable), not to the sentence
    rule that events are held to, so a user report built by a platform from the wrong
    field queued message text; its error quoted the text too."""
    sentence = "can you send me a photo"
    with rs.ReviewQueue(tmp_path / "q.sqlite") as queue:
        with pytest.raises(ValueError, match="a sentence: ids are opaque keys") as caught:
            queue.add_report(_report(**{field: sentence}))
        assert sentence not in str(caught.value)
        assert queue.items() == []
        # a pair id of a room of accounts of two words each is no sentence
        queue.add_report(_report(conversation_id="room 7|kid one|adult one"))
        assert len(queue.items()) == 1


@pytest.mark.parametrize("channel", ["can you send me a photo", UNSPACED_MESSAGES[0]])
def test_a_report_on_a_channel_of_free_text_does_not_quote_it(tmp_path: Path, channel: str) -> None:
    """Was: ``channel 'can you send me a photo' is not one of ...``: the queue quoted a
    refused channel whole, where the event readers quote free text only by its length."""
    with rs.ReviewQueue(tmp_path / "q.sqlite") as queue:
        with pytest.raises(ValueError, match="not shown: it may be message content") as caught:
            queue.add_report(_report(channel=channel))
        assert channel not in str(caught.value)
        with pytest.raises(ValueError, match="channel 'Direct' is not one of"):
            queue.add_report(_report(channel="Direct"))


# ------------------------------------------------------------ times far ahead of the clock

#: A time in 2198: ahead of any clock these tests run by.
FAR_AHEAD = 7_200_000_000


def test_a_report_dated_far_ahead_is_refused_not_hidden(tmp_path: Path) -> None:
    """Was: queued, counted as open, and shown in no case until 2198: the queue shows an
    item from its time on, and took any time up to the year 9999, so a child's report
    dated by a clock never set was hidden from every moderator."""
    with rs.ReviewQueue(tmp_path / "q.sqlite") as queue:
        with pytest.raises(rs.moderation.QueueError, match="shown to no moderator until"):
            queue.add_report(_report(timestamp=FAR_AHEAD))
        assert queue.items() == []
        queue.add_report(_report())  # a report of today's history is queued as before
        assert [case.adult_id for case in queue.cases()] == ["adult-1"]


def test_an_alert_raised_far_ahead_is_refused_and_later_ones_are_shown(tmp_path: Path) -> None:
    """Was: the alert's item was hidden until 2198, and every later alert of the
    conversation merged into it (``n_signals`` 2), hidden with it."""
    alert = rs.Alert("conv-1", "adult-1", "kid-1", 13.0, "13-15", 0.9, rs.Tier.URGENT)
    with rs.ReviewQueue(tmp_path / "q.sqlite") as queue:
        with pytest.raises(rs.moderation.QueueError, match="2198-"):
            queue.add_alert(alert, at=FAR_AHEAD)
        queue.add_alert(alert)
        assert [case.adult_id for case in queue.cases()] == ["adult-1"]


def test_a_simulated_queue_still_takes_times_ahead(tmp_path: Path) -> None:
    """A simulation runs past today on purpose: its queue takes any time, as before."""
    with rs.ReviewQueue(tmp_path / "q.sqlite", simulation=True) as queue:
        queue.add_report(_report(timestamp=FAR_AHEAD))
        assert [case.adult_id for case in queue.cases(now=FAR_AHEAD)] == ["adult-1"]


# ------------------------------------------------------------ the account features file


@pytest.mark.parametrize(
    ("column", "bad"),
    [
        ("account_id", "a\x00"),
        ("account_id", ""),
        ("account_id", "a see you at"),
        ("account_id", "a" * 300),
    ],
)
def test_an_account_file_id_no_event_could_hold_is_refused(
    tmp_path: Path, column: str, bad: str
) -> None:
    """Was: read, and kept as an account that no event can name: the file's text ids were
    held to no id rule (empty, unprintable, over-long, a sentence), where every reader of
    events refuses them; a sentence id was message text kept in memory and written back by
    :func:`riskscore.write_account_features`."""
    events = {k: [v, v] for k, v in BASE_EVENT.items()}
    events.update(sender_id=["a", "b"], recipient_id=["b", "a"])
    events["timestamp"] = [BASE_EVENT["timestamp"], BASE_EVENT["timestamp"] + 60]
    path = rs.write_account_features(
        rs.extract_account_features(rs.read_messages(events)), tmp_path / "accounts.parquet"
    )
    table = pq.read_table(path)
    at = table.schema.get_field_index(column)
    values = table.column(column).to_pylist()
    values[0] = bad
    pq.write_table(table.set_column(at, table.schema.field(at), pa.array(values)), path)
    with pytest.raises(rs.SchemaError, match=f"column '{column}', row 0: ") as caught:
        rs.read_account_features(path)
    assert "rebuild the file" in str(caught.value)
    assert "see you" not in str(caught.value)


# ------------------------------------------ names of unread fields in unspaced scripts


@pytest.mark.parametrize("message", [UNSPACED_MESSAGES[0], EMOJI_MESSAGE], ids=["cjk", "emoji"])
def test_an_unread_name_in_an_unspaced_script_is_not_kept_by_name(
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Was: kept and reported by name (``MessageTable.unread_columns``, the note of
    ``riskscore score``, the summary and the checkpoint of ``riskscore stream``): a name is
    held to be possible message content only when it is a sentence of three words
    separated by whitespace or long, and a message in Chinese is one short "word" (the
    first row of a file without a header, a JSON object keyed by text). Emoji alone too
    (review 55: the names kept the older rule after values were fixed)."""
    events = {k: [v] for k, v in BASE_EVENT.items()}
    assert rs.read_messages({**events, message: [1]}).unread_columns == ("(other names)",)
    checkpoint = tmp_path / "state.sqlite"
    line = json.dumps({**BASE_EVENT, message: 1}) + "\n"
    monkeypatch.setattr(sys, "stdin", io.StringIO(line))
    argv = ["stream", "--time-source", "events", "--checkpoint", str(checkpoint), "--json"]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out.splitlines()[-1])["summary"]
    assert summary["ignored_fields"] == {"(other names)": 1}
    assert message not in json.dumps(
        rs.OnlineScorer.restore(checkpoint, rs.load_model()).checkpoint_extra
    )


def test_a_checkpoint_that_kept_such_a_name_still_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A checkpoint of an earlier version holds such a name: it is counted as one of the
    other names when the stream resumes, never printed, and the stream goes on."""
    message = UNSPACED_MESSAGES[0]
    checkpoint = tmp_path / "state.sqlite"
    argv = ["stream", "--time-source", "events", "--checkpoint", str(checkpoint), "--json"]
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(BASE_EVENT) + "\n"))
    assert main(argv) == 0
    scorer = rs.OnlineScorer.restore(checkpoint, rs.load_model())
    scorer.checkpoint(checkpoint, extra={**scorer.checkpoint_extra, "ignored_fields": {message: 2}})
    scorer.release_checkpoints()
    capsys.readouterr()
    later = {**BASE_EVENT, "timestamp": BASE_EVENT["timestamp"] + 60}
    # the same input from its start (a resumed stream checks the lines it skips), then more
    stdin = io.StringIO(json.dumps(BASE_EVENT) + "\n" + json.dumps(later) + "\n")
    monkeypatch.setattr(sys, "stdin", stdin)
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert message not in out
    assert json.loads(out.splitlines()[-1])["summary"]["ignored_fields"] == {"(other names)": 2}


def test_a_file_without_a_header_does_not_quote_its_first_row_in_unspaced_script(
    tmp_path: Path,
) -> None:
    """Was: ``missing required column(s) ...; found [..., '给我发一张你的照片']``: a file
    without a header gives its first row as the column names, and the error quoted each
    one that is no sentence by whitespace, a message in Chinese too."""
    message = UNSPACED_MESSAGES[0]
    path = tmp_path / "events.csv"
    path.write_text(f"c1,1714521600,a,b,direct,{message}\nc1,1714521660,b,a,direct,x\n")
    with pytest.raises(rs.SchemaError, match="missing required column") as caught:
        rs.read_messages(path)
    assert message not in str(caught.value)
    assert "'direct'" in str(caught.value)  # the names that are no text are still listed


# ---------------------------------------------------- a feature table of another order


def test_a_feature_table_in_another_column_order_is_read_by_name() -> None:
    """Was: scored by position: the model read the columns of :data:`FEATURE_NAMES` order
    whatever the table's ``names`` said (``inputs`` promised "columns are picked by name"),
    so a table whose columns were reordered (through pandas, say) got other risks and
    reasons, silently; one without a feature the model reads was scored too."""
    model = rs.load_model()
    features = rs.extract_features(rs.synthetic.generate(200, prevalence=0.2, seed=5).messages)
    reordered = dataclasses.replace(
        features, names=tuple(reversed(features.names)), values=features.values[:, ::-1].copy()
    )
    assert np.array_equal(model.score(reordered).risk, model.score(features).risk)
    missing = model.feature_names[0]
    keep = [i for i, name in enumerate(reordered.names) if name != missing]
    lacking = dataclasses.replace(
        reordered,
        names=tuple(reordered.names[i] for i in keep),
        values=reordered.values[:, keep].copy(),
    )
    with pytest.raises(rs.SchemaError, match=f"lacks features the model reads: .*{missing}"):
        model.score(lacking)
