"""Hostile review of the day's changes (review54): each test failed before its fix."""

from __future__ import annotations

import dataclasses
import io
import json
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from io_hostile_helpers import BASE_EVENT

import riskscore as rs
from riskscore.cli import main
from riskscore.model.training import fit_risk_model

# ---------------------------------------------- a feature table is read by name everywhere


@pytest.fixture(scope="module")
def labelled() -> tuple[rs.FeatureTable, np.ndarray]:
    data = rs.synthetic.generate(n_conversations=600, prevalence=0.1, seed=1)
    table = rs.extract_features(data.messages)
    grooming = data.labels.conversation_id[data.labels.is_grooming]
    return table, np.isin(table.conversation_id, grooming)


def _reversed(table: rs.FeatureTable) -> rs.FeatureTable:
    return dataclasses.replace(
        table, names=tuple(reversed(table.names)), values=table.values[:, ::-1].copy()
    )


def test_training_on_a_reordered_feature_table_reads_it_by_name(
    labelled: tuple[rs.FeatureTable, np.ndarray],
) -> None:
    """Was: ``fit_risk_model`` (and ``riskscore.train`` given a FeatureTable, and the
    candidate models) took the inputs from the columns of FEATURE_NAMES order whatever the
    table's names said: a table reordered through pandas trained a model on the wrong
    features, silently (risks up to 0.99 apart from the same data in order)."""
    table, y = labelled
    in_order = fit_risk_model(table, y, seed=0)
    reordered = fit_risk_model(_reversed(table), y, seed=0)
    assert np.array_equal(in_order.predict_proba(table), reordered.predict_proba(table))


def test_training_on_a_table_without_an_input_is_refused(
    labelled: tuple[rs.FeatureTable, np.ndarray],
) -> None:
    """Was: trained on whatever column sat at the missing input's position."""
    table, y = labelled
    missing = rs.load_model().feature_names[0]
    keep = [i for i, name in enumerate(table.names) if name != missing]
    lacking = dataclasses.replace(
        table, names=tuple(table.names[i] for i in keep), values=table.values[:, keep].copy()
    )
    with pytest.raises(rs.SchemaError, match=f"lacks features the model reads: .*{missing}"):
        fit_risk_model(lacking, y, seed=0)


@pytest.mark.parametrize("reverse", [False, True])
def test_a_feature_the_model_reads_held_twice_is_refused(
    labelled: tuple[rs.FeatureTable, np.ndarray], reverse: bool
) -> None:
    """Was: scored on one of the two columns, silently (the first in a table of
    FEATURE_NAMES order with one appended, whichever ``names.index`` found otherwise)."""
    table = _reversed(labelled[0]) if reverse else labelled[0]
    model = rs.load_model()
    name = model.feature_names[0]
    twice = dataclasses.replace(
        table,
        names=(*table.names, name),
        values=np.column_stack([table.values, np.zeros(len(table))]),
    )
    with pytest.raises(rs.SchemaError, match=f"in two columns each: .*{name}"):
        model.score_features(twice)


# ------------------------------------------- stream --queue: an item dated far ahead


def test_stream_summary_counts_a_report_refused_as_dated_ahead(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Was: ``-1 already queued or merged into an open item, 1 refused (an open item of its
    conversation id between other accounts: never merged; said above)``: a report the
    queue refused was left out of the reports given (a negative count) and every refusal
    was said to be a conflict of accounts, though this one is dated two years ahead of the
    clock (replayed synthetic events, ``--time-source events``)."""
    ahead = int(time.time()) + 2 * 365 * 86_400
    # two adults, whom the policy never alerts on: the report is the only item (a child's
    # report a minute after an adult's first message alerts since the model reads the span)
    events = [
        {**BASE_EVENT, "timestamp": ahead, "event": "message", "recipient_age": 31.0},
        {
            **BASE_EVENT,
            "timestamp": ahead + 60,
            "event": "report",
            "sender_id": 20,
            "recipient_id": 10,
            "sender_age": 31.0,
            "recipient_age": 30.0,
        },
    ]
    lines = "".join(json.dumps(e) + "\n" for e in events)
    monkeypatch.setattr(sys, "stdin", io.StringIO(lines))
    db = tmp_path / "q.sqlite"
    assert main(["stream", "--time-source", "events", "--queue", str(db)]) == 0
    err = capsys.readouterr().err
    assert "line 2: user report on conversation 1: dated " in err
    assert "hours after the clock's time" in err
    assert "from 0 alerts and 1 user report (0 already queued or merged" in err
    assert "1 refused (each said above)" in err
    assert "between other accounts" not in err


def test_a_simulated_queue_opened_again_takes_times_ahead(tmp_path: Path) -> None:
    """Was: a queue created in simulation mode (``riskscore report --synthetic-month``)
    and opened again without the flag, as ``riskscore stream --queue`` and ``score
    --queue`` open it, refused a synthetic event's report dated ahead, and the refusal's
    way out (``simulation=True``) is one no command gives; no moderator works such a
    queue, whose reports are marked simulated."""
    path = tmp_path / "q.sqlite"
    rs.ReviewQueue(path, simulation=True).close()
    ahead = int(time.time()) + 2 * 365 * 86_400
    report = rs.UserReport("conv-1", "kid-1", "adult-1", 13.0, timestamp=ahead)
    with rs.ReviewQueue(path) as queue:
        queue.add_report(report)
        assert [case.adult_id for case in queue.cases(now=ahead)] == ["adult-1"]
    real = rs.ReviewQueue(tmp_path / "real.sqlite")  # a queue of real work refuses it
    with real, pytest.raises(rs.moderation.QueueError, match="a simulated queue takes times"):
        real.add_report(report)


# ------------------------------------- a name in a script without spaces, found twice


def test_a_headerless_row_repeating_a_message_is_not_quoted(tmp_path: Path) -> None:
    """Was: ``column '今晚见面吧' appears twice``: the first row of a CSV file without a
    header is read as its names, and the refusal of a name given twice quoted it whole,
    though the missing-columns error lists such a name by its length only
    (``riskscore.io.input_names.quoted_name``)."""
    message = "\u4eca\u665a\u89c1\u9762\u5427"  # Chinese: see you tonight
    path = tmp_path / "events.csv"
    path.write_text(f"c1,1714521600,u1,u2,direct,mesg,{message},{message}\n", encoding="utf-8")
    with pytest.raises(rs.SchemaError, match="appears twice") as info:
        rs.read_messages(path)
    assert message not in str(info.value)
    assert "text of 5 characters (not shown" in str(info.value)


def test_score_queue_keeps_the_other_reports_when_one_is_dated_ahead(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: ``riskscore score --queue`` on events holding one report dated two years
    ahead (the batch readers take five years) queued the alerts, then failed with exit
    status 2 on that report: no report queued, the command's summary never printed."""
    ahead = int(time.time()) + 2 * 365 * 86_400
    report = {"event": "report", "sender_id": 20, "recipient_id": 10}
    report |= {"sender_age": 13.0, "recipient_age": 30.0}
    adults = {"sender_age": 31.0, "recipient_age": 30.0}  # never alerted: the report alone
    events = [
        {**BASE_EVENT, "event": "message", "recipient_age": 31.0},
        {**BASE_EVENT, **report, **adults, "timestamp": BASE_EVENT["timestamp"] + 60},
        {**BASE_EVENT, **report, "conversation_id": 2, "timestamp": ahead},
    ]
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    db = tmp_path / "q.sqlite"
    argv = ["score", str(path), "--out", str(tmp_path / "out"), "--queue", str(db), "--json"]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert "not queued: user report on conversation 2: dated " in err
    summary = json.loads(out)["queue"]
    assert (summary["user_reports"], summary["new_items"], summary["refused"]) == (2, 1, 1)
    with rs.ReviewQueue(db) as queue:
        assert [item.conversation_id for item in queue.items()] == [1]


# ------------------------------------------------ a message of emoji in a value column

#: Messages of emoji alone: one short "word" each to the sentence rule.
EMOJI_MESSAGES = ["\U0001f618\U0001f351", "\u2764\ufe0f\u2764\ufe0f", "\u2b50\U0001f60d"]


@pytest.mark.parametrize("message", EMOJI_MESSAGES)
@pytest.mark.parametrize("column", ["timestamp", "channel", "event", "sender_age", "room_size"])
def test_a_message_of_emoji_in_a_value_column_is_never_quoted(column: str, message: str) -> None:
    """Was: quoted in the error and copied into the quarantine record (the online error
    too), as a message in Chinese was before: a message of emoji alone has no spaces and is
    short, and no number, time or category name holds an emoji."""
    events: dict[str, list[object]] = {k: [v, v] for k, v in BASE_EVENT.items()}
    events["timestamp"] = [BASE_EVENT["timestamp"], BASE_EVENT["timestamp"] + 60]
    events[column] = [message, events[column][1] if column in events else None]
    with pytest.raises(rs.SchemaError, match=f"column '{column}', row 0") as caught:
        rs.read_messages(events)
    assert message not in str(caught.value)
    kept = rs.read_messages(events, errors="quarantine")
    assert message not in repr(kept.quarantined)
    scorer = rs.OnlineScorer(rs.load_model(), time_source="events")
    with pytest.raises(rs.SchemaError, match=f"column '{column}'") as online:
        scorer.update_one({**BASE_EVENT, column: message})
    assert message not in str(online.value)


# ------------------------------------- a checkpoint's bad count of a name in such a script


def test_a_bad_count_of_a_name_in_unspaced_script_is_not_quoted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: ``checkpoint extra 'ignored_fields': the count of '今晚见面吧' ...``: a name an
    earlier version kept (a message, in a script without spaces) was quoted whole when its
    count was refused, though the stream never prints such a name otherwise."""
    message = "\u4eca\u665a\u89c1\u9762\u5427"
    checkpoint = tmp_path / "state.sqlite"
    argv = ["stream", "--time-source", "events", "--checkpoint", str(checkpoint)]
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(BASE_EVENT) + "\n"))
    assert main(argv) == 0
    scorer = rs.OnlineScorer.restore(checkpoint, rs.load_model())
    extra = {**scorer.checkpoint_extra, "ignored_fields": {message: -2}}
    scorer.checkpoint(checkpoint, extra=extra)
    scorer.release_checkpoints()
    capsys.readouterr()
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "checkpoint extra 'ignored_fields': the count of text of 5 characters" in err
    assert message not in err
