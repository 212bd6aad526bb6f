"""Hostile review 55: what the review queue is given by hand (an item's time, age and risk
of the wrong kind), a case an earlier version queued under an id of three words, an
account features file holding bytes that are not UTF-8, and a name that is a message of
emoji alone. All data is synthetic."""

from __future__ import annotations

import io
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from io_hostile_helpers import BASE_EVENT, EMOJI_MESSAGE
from queue_helpers import occupy

import riskscore as rs
import riskscore.moderation.intake as intake
import riskscore.moderation.queue_rows as queue_rows
from riskscore import ReviewQueue, UserReport
from riskscore.cli import main
from riskscore.io.pair_ids import pair_conversation_id
from riskscore.moderation import QueueError
from riskscore.policy import Alert, Tier

#: Message text where a time, an age or a risk belongs: never quoted in an error.
MESSAGE = "meet me at the park tonight"


def _alert(**changes: Any) -> Alert:
    fields: dict[str, Any] = {
        "conversation_id": "c1",
        "adult_id": "a1",
        "child_id": "k1",
        "child_age": 12.0,
        "age_band": "under 13",
        "risk": 0.5,
        "tier": Tier.REVIEW,
        "timestamp": int(time.time()) - 60,
    }
    return Alert(**{**fields, **changes})


def _report(**changes: Any) -> UserReport:
    fields: dict[str, Any] = {
        "conversation_id": "c2",
        "reporter_id": "k1",
        "reported_id": "a1",
        "reporter_age": 12.0,
        "timestamp": int(time.time()) - 60,
    }
    return UserReport(**{**fields, **changes})


# ------------------------------------- a case queued under an id of three words


def test_a_case_queued_under_a_sentence_id_can_be_decided(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Was: the queue showed the case (``top``, ``case``) but ``decide`` refused its id
    as a sentence (the rule ids arriving are held to since hostile review 54), so a case an
    earlier version queued could never be closed."""
    path = tmp_path / "q.sqlite"
    with monkeypatch.context() as m:  # an earlier version: arriving ids as read back
        m.setattr(intake, "id_problem", lambda column, value, arriving=False: None)
        with ReviewQueue(path) as queue:
            queue.add_alert(_alert(adult_id="the big boss"))
    with ReviewQueue(path) as queue:
        assert [case.adult_id for case in queue.top()] == ["the big boss"]
        token = queue.case("the big boss").token
        assert queue.decide("the big boss", "actioned", moderator="mod-1", token=token) == 1
        assert len(queue) == 0


def test_a_sentence_id_of_no_case_is_still_refused_unquoted(tmp_path: Path) -> None:
    with ReviewQueue(tmp_path / "q.sqlite") as queue:
        item = queue.add_alert(_alert())
        with pytest.raises(QueueError, match="is text of three or more words") as exc:
            queue.decide(MESSAGE, "actioned", moderator="mod-1", item_ids=[item])
        assert MESSAGE not in str(exc.value)
        assert queue_rows.id_problem("adult_id", MESSAGE, arriving=True) is not None
        with pytest.raises(QueueError, match=r"ids must be int or str, got 3\.5"):
            queue.decide(3.5, "actioned", moderator="mod-1", item_ids=[item])


# ------------------------------------------------ an item's time, age and risk


@pytest.mark.parametrize("value", [MESSAGE, "\u4eca\u665a\u5728\u516c\u56ed\u89c1"])
@pytest.mark.parametrize("field", ["timestamp", "first_event_at", "last_event_at", "at"])
def test_an_alert_time_of_text_is_not_quoted(tmp_path: Path, field: str, value: str) -> None:
    """Was: ``timestamp must be epoch seconds, an int ..., got 'meet me at the park
    tonight'``: the message quoted whole (events show its length only)."""
    at = {"at": value} if field == "at" else {}
    alert = _alert() if field == "at" else _alert(**{field: value})
    with (
        ReviewQueue(tmp_path / "q.sqlite") as queue,
        pytest.raises(QueueError, match=f"{field} must be epoch seconds") as exc,
    ):
        queue.add_alert(alert, **at)
    assert value not in str(exc.value)
    assert f"text of {len(value)} characters" in str(exc.value)


@pytest.mark.parametrize("value", [10**5000, -(10**5000)], ids=["huge", "-huge"])
def test_a_time_too_long_to_write_is_refused_by_name(tmp_path: Path, value: int) -> None:
    """Was: Python's ``ValueError: Exceeds the limit (4300 digits) for integer string
    conversion``, naming neither the item nor the field."""
    with ReviewQueue(tmp_path / "q.sqlite") as queue:
        with pytest.raises(QueueError, match="user report on conversation c2: timestamp must"):
            queue.add_report(_report(timestamp=value))
        with pytest.raises(QueueError, match="now must be epoch seconds"):
            queue.top(now=value)


def test_an_age_of_text_is_not_quoted(tmp_path: Path) -> None:
    """Was: ``child (reporter) age 'meet me at the park tonight' is not an age``."""
    with ReviewQueue(tmp_path / "q.sqlite") as queue:
        for add in (
            lambda: queue.add_report(_report(reporter_age=MESSAGE)),
            lambda: queue.add_alert(_alert(child_age=MESSAGE)),
        ):
            with pytest.raises(ValueError, match="age text of 27 characters") as exc:
                add()
            assert MESSAGE not in str(exc.value)


@pytest.mark.parametrize("risk", ["high", None, True, [0.5]])
def test_a_risk_that_is_no_number_is_refused_by_name(tmp_path: Path, risk: object) -> None:
    """Was: ``TypeError: '<=' not supported between instances of 'float' and 'str'``
    (``True`` was queued as a risk of 1)."""
    with ReviewQueue(tmp_path / "q.sqlite") as queue:
        with pytest.raises(ValueError, match=r"alert on conversation c1: risk .* is not a risk"):
            queue.add_alert(_alert(risk=risk))
        with pytest.raises(ValueError, match=r"user report risk .* is not a risk"):
            queue.add_report(_report(risk=risk))
        assert len(queue) == 0


# ------------------------------------- an account features file of bytes not UTF-8


def _text_id_accounts(tmp_path: Path) -> Path:
    """An account features file of text ids (written by riskscore)."""
    columns = rs.synthetic.generate(300, prevalence=0.1, seed=1).messages.columns(decoded=True)
    events = {name: np.asarray(values) for name, values in columns.items()}
    for name in ("sender_id", "recipient_id"):
        events[name] = np.array([f"u{v}" for v in events[name]], dtype=object)
    accounts = rs.extract_account_features(rs.read_messages(events))
    return rs.write_account_features(accounts, tmp_path / "accounts.parquet")


def _not_utf8(values: list[str], row: int) -> pa.Array:
    """``values`` as an Arrow string array whose ``row`` holds bytes that are not UTF-8
    (Arrow checks no text it reads from a Parquet file)."""
    cells = [v.encode() for v in values]
    cells[row] = b"\xff\xfe"
    return pa.Array.from_buffers(pa.string(), len(cells), pa.array(cells, pa.binary()).buffers())


def test_an_account_id_not_utf8_is_refused_by_column_and_row(tmp_path: Path) -> None:
    """Was: ``UnicodeDecodeError: 'utf-8' codec can't decode byte 0xff`` (a traceback), where
    the event readers refuse such a cell by column and row."""
    path = _text_id_accounts(tmp_path)
    table = pq.read_table(path)
    ids = table.column("account_id").to_pylist()
    i = table.column_names.index("account_id")
    pq.write_table(table.set_column(i, "account_id", _not_utf8(ids, 1)), path)
    with pytest.raises(rs.SchemaError, match=r"'account_id', row 1: b'.*' is not UTF-8") as exc:
        rs.read_account_features(path)
    assert (exc.value.column, exc.value.row) == ("account_id", 1)


def test_a_pair_id_not_utf8_is_refused_by_column_and_row(tmp_path: Path) -> None:
    path = _text_id_accounts(tmp_path)
    table = pq.read_table(path)
    pairs = table.column("pair_other").combine_chunks()
    row = next(r for r, others in enumerate(pairs.to_pylist()) if others)
    flat = pairs.flatten().to_pylist()
    start = pairs.offsets[row].as_py()
    broken = pa.ListArray.from_arrays(pairs.offsets, _not_utf8(flat, start))
    i = table.column_names.index("pair_other")
    pq.write_table(table.set_column(i, "pair_other", broken), path)
    with pytest.raises(
        rs.SchemaError, match=rf"column 'pair_other', row {row}: b'.*' is not UTF-8"
    ):
        rs.read_account_features(path)


# -------------------------------------------- a name that is a message of emoji alone


def test_a_file_without_a_header_does_not_quote_a_first_row_of_emoji(tmp_path: Path) -> None:
    """Was: ``missing required column(s) ...; found [..., '😘💋😍']``: the first row of a
    file without a header is read as its names, and a message of emoji alone was quoted
    (one in a script without spaces was not)."""
    path = tmp_path / "events.csv"
    path.write_text(f"c1,1714521600,a,b,direct,{EMOJI_MESSAGE}\nc1,1714521660,b,a,direct,x\n")
    with pytest.raises(rs.SchemaError, match="missing required column") as caught:
        rs.read_messages(path)
    assert EMOJI_MESSAGE not in str(caught.value)
    assert "'direct'" in str(caught.value)


def test_a_checkpoint_that_kept_a_name_of_emoji_still_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A checkpoint of an earlier version kept such a name: counted as one of the other
    names when the stream resumes, never printed."""
    checkpoint = tmp_path / "state.sqlite"
    argv = ["stream", "--time-source", "events", "--checkpoint", str(checkpoint), "--json"]
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(BASE_EVENT) + "\n"))
    assert main(argv) == 0
    scorer = rs.OnlineScorer.restore(checkpoint, rs.load_model())
    extra = {**scorer.checkpoint_extra, "ignored_fields": {EMOJI_MESSAGE: 2}}
    scorer.checkpoint(checkpoint, extra=extra)
    scorer.release_checkpoints()
    capsys.readouterr()
    later = {**BASE_EVENT, "timestamp": BASE_EVENT["timestamp"] + 60}
    # the same input from its start (a resumed stream checks the lines it skips), then more
    stdin = io.StringIO(json.dumps(BASE_EVENT) + "\n" + json.dumps(later) + "\n")
    monkeypatch.setattr(sys, "stdin", stdin)
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert EMOJI_MESSAGE not in out
    assert json.loads(out.splitlines()[-1])["summary"]["ignored_fields"] == {"(other names)": 2}


# ----------------------------------------- the refusal of a user report dated ahead


def test_a_report_dated_ahead_is_refused_for_what_it_hides(tmp_path: Path) -> None:
    """Was: "... it would be shown to no moderator until then, nor would later alerts of
    its conversation": later alerts merge into an open alert, never into a user report,
    so for a report the second half was false (the item hides only itself)."""
    ahead = int(time.time()) + 3 * 86_400
    with ReviewQueue(tmp_path / "q.sqlite") as queue:
        with pytest.raises(QueueError, match="shown to no moderator until then") as report:
            queue.add_report(_report(timestamp=ahead))
        with pytest.raises(QueueError, match="shown to no moderator until then") as alert:
            queue.add_alert(_alert(timestamp=ahead))
    assert "later alerts" not in str(report.value)
    assert "nor would later alerts of its conversation" in str(alert.value)


# ------------------------- score --queue: an alert the queue refuses, the others queued


def test_score_queues_the_alerts_beside_one_the_queue_refuses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: exit 2 ("item 1 is the open alert of conversation ... between 999 and 998 ...
    not queued, nor the alerts added with it"), no alert nor report queued, when one
    alert's conversation id had an open alert of two other accounts; ``riskscore stream``
    and ``serve`` refuse that alert alone, and ``score`` already so refused a report."""
    events = tmp_path / "events.parquet"
    rs.write_messages(rs.synthetic.generate(600, prevalence=0.1, seed=7).messages, events)
    argv = ["score", str(events), "--top", "0", "--json"]
    assert main([*argv, "--out", str(tmp_path / "a"), "--queue", str(tmp_path / "a.sqlite")]) == 0
    alone = json.loads(capsys.readouterr().out)["queue"]
    assert alone["alerts"] > 1
    first = pq.read_table(tmp_path / "a" / "alerts.parquet").slice(0, 1).to_pylist()[0]
    cid = first["conversation_id"]
    db = tmp_path / "b.sqlite"
    with ReviewQueue(db) as queue:  # open alerts of other pairs under both its ids
        occupy(queue, cid, first["adult_id"], first["child_id"])
    assert main([*argv, "--out", str(tmp_path / "b"), "--queue", str(db)]) == 0
    captured = capsys.readouterr()
    queued = json.loads(captured.out)["queue"]
    assert queued["refused"] == 1
    assert queued["new_items"] == alone["new_items"] - 1
    pair = pair_conversation_id(cid, first["adult_id"], first["child_id"])
    assert f"not queued: alert on conversation {pair} between" in captured.err
