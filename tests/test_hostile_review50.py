"""Hostile review 50: the strength words, ``max_channel`` and the older-account words."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pyarrow as pa
import pytest
from serve_helpers import model_client, sign_in

import riskscore as rs
from riskscore._words import number_text
from riskscore.batch.alerts import write_alerts
from riskscore.batch.shadow import read_alert_ids
from riskscore.cli import main
from riskscore.exceptions import SchemaError
from riskscore.io.schema import channel_at_level
from riskscore.io.text import NOT_UTF8
from riskscore.model.scores import (
    CLEAR_PUSH,
    STRONG_PUSH,
    Reason,
    format_value,
    is_reason_text,
    strength_text,
)
from riskscore.moderation import ReviewQueue, UserReport
from riskscore.moderation.earlier_reasons import exported_reason
from riskscore.moderation.queue_db import encode_id
from riskscore.policy import Alert, Tier
from riskscore.synthetic.labels import Labels

T0 = 1_767_225_600  # 2026-01-01 00:00 UTC


@pytest.mark.parametrize(
    ("contribution", "words", "shown"),
    [
        (1.996, "strongly raises risk", "+2.00"),
        (STRONG_PUSH - 1e-9, "strongly raises risk", "+2.00"),
        (0.9951, "raises risk", "+1.00"),
        (CLEAR_PUSH - 1e-12, "raises risk", "+1.00"),
        (1.994, "raises risk", "+1.99"),
        (0.994, "slightly raises risk", "+0.99"),
    ],
)
def test_the_strength_words_agree_with_the_push_shown(
    contribution: float, words: str, shown: str
) -> None:
    """Was: ``encrypted (raises risk, +2.00)`` and ``(slightly raises risk, +1.00)``: the
    words judged the unrounded push, so a moderator read a push the docs call strong ("from
    +2") named "raises risk" beside it. The words now follow the number the text shows."""
    text = str(Reason.of("max_channel", 4.0, contribution))
    assert f"encrypted ({words}, {shown})" in text
    assert strength_text(contribution) == words
    assert is_reason_text(text)


# ------------------------------------------------------------------ labels not UTF-8


def _not_utf8(cells: list[bytes]) -> pa.Array:
    """A text column holding bytes that are not UTF-8, as a tool that checks nothing writes."""
    raw = pa.array(cells, type=pa.binary())
    return pa.Array.from_buffers(pa.string(), len(raw), raw.buffers())


@pytest.mark.parametrize("column", ["conversation_id", "adult_id", "scenario"])
def test_a_labels_cell_not_utf8_is_refused_by_the_events_rule(column: str) -> None:
    """Was: ``column 'adult_id', row 1: b'\\xff\\xfe' is bytes, not an id: decode it to text``
    for a text column (the advice wrong: it is text, saved in another encoding), and for
    ``scenario`` pyarrow's ``ArrowException: Unknown error: Wrapping \\ufffd\\ufffd failed``.
    The labels now read such a cell as the events do (:func:`riskscore.io.text.utf8_cells`):
    refused naming the column, the row and that it is not UTF-8."""
    columns = {
        "conversation_id": pa.array(["a", "b"]),
        "is_grooming": pa.array([True, False]),
        "onset_index": pa.array([0, -1]),
        "adult_id": pa.array(["x", "y"]),
        "scenario": pa.array(["s", "t"]),
    }
    columns[column] = _not_utf8([b"ok", b"\xff\xfe"])
    with pytest.raises(SchemaError, match=rf"column '{column}', row 1: .*{NOT_UTF8}"):
        Labels.from_arrow(pa.table(columns))


def test_labels_of_text_read_as_before() -> None:
    labels = rs.synthetic.generate(40, prevalence=0.3, seed=2).labels
    again = Labels.from_arrow(labels.to_arrow())
    assert again.conversation_id.tolist() == labels.conversation_id.tolist()
    assert again.adult_id.tolist() == labels.adult_id.tolist()
    assert again.scenario.tolist() == labels.scenario.tolist()
    assert again.scenario.dtype == labels.scenario.dtype


# ------------------------------------------------------------------ one reading of a level


@pytest.mark.parametrize("level", [0.0, 2.0, 4.0, 5.0, 3.6, 4.4, -0.4, 5.3, 6.0, -1.0])
def test_a_reason_names_a_channel_level_as_the_alert_does(level: float) -> None:
    """Was: a reason's value read a channel level by rounding it (3.6 read ``encrypted``)
    where the alert's ``max_channel`` and the review queue read it by
    :func:`~riskscore.io.schema.channel_at_level` (3.6 is no channel: null): two
    readings of one level. A reason now names the channel ``max_channel`` names, or the
    number when it is none."""
    channel = channel_at_level(level)
    text = format_value("level 0-5", level)
    assert text == (channel if channel is not None else number_text(level))
    reason = Reason.of("max_channel", level, 1.0)
    assert reason.value_text == text


# ------------------------------------------------------------------ strength words quoted


@pytest.mark.parametrize(
    ("stored", "contribution"),
    [("strongly raises risk", 0.5), ("raises risk", 0.5), ("slightly raises risk", 2.4)],
)
def test_a_strength_word_riskscore_never_wrote_beside_its_push_is_not_quoted(
    stored: str, contribution: float
) -> None:
    """Was: ``62 % (strongly raises risk, +0.50)`` read as riskscore's own words and quoted
    in exports (a regulator's statement, an NCMEC draft), though riskscore writes
    ``slightly raises risk`` beside +0.50: a stored text whose strength was changed (by hand,
    or a platform's tool) overstated the model under its name. Only the word riskscore
    writes beside the push shown is riskscore's."""
    text = str(Reason.of("child_night_share", 0.62, contribution))
    assert is_reason_text(text)
    changed = text.replace(f"({strength_text(contribution)}, +", f"({stored}, +")
    assert changed != text
    assert not is_reason_text(changed)
    assert exported_reason(changed) is None


@pytest.mark.parametrize(
    ("push", "earlier"), [(1.996, "raises risk"), (0.996, "slightly raises risk")]
)
def test_a_text_stored_before_the_words_followed_the_push_shown_still_reads(
    push: float, earlier: str
) -> None:
    """A queue that stored ``(raises risk, +2.00)`` (the words judged the unrounded push)
    still holds riskscore's own words: quoted as stored."""
    text = str(Reason.of("child_night_share", 0.62, push))
    stored = text.replace(f"({strength_text(push)}, +", f"({earlier}, +")
    assert stored != text
    assert is_reason_text(stored)
    assert exported_reason(stored) == stored


# ------------------------------------------------------------------ a spreadsheet as CSV


@pytest.mark.parametrize(
    ("first", "body"),
    [
        ("[Content_Types].xml", b"<Types/>"),  # .xlsx (Office Open XML)
        ("mimetype", b"application/vnd.oasis.opendocument.spreadsheet"),  # .ods
        ("docProps/app.xml", b"<Properties/>"),  # .xlsx, properties first
    ],
)
def test_a_spreadsheet_named_csv_is_named_a_spreadsheet(
    tmp_path: Path, first: str, body: bytes
) -> None:
    """Was: ``events.csv: the file is zip-compressed: decompress it first``: a spreadsheet
    saved under a ``.csv`` name (or exported as .xlsx and renamed) is a zip archive, and
    unzipping it gives XML, not CSV. It is now named a spreadsheet, to be saved as CSV."""
    path = tmp_path / "events.csv"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(first, body)
        archive.writestr("xl/worksheets/sheet1.xml", b"<worksheet/>")
    with pytest.raises(
        SchemaError, match=r"^events.csv: the file is a spreadsheet .*save it as CSV"
    ):
        rs.read_messages(path)
    other = tmp_path / "other.csv"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("events.csv", b"conversation_id\n")
    with pytest.raises(SchemaError, match=r"^other.csv: the file is zip-compressed: decompress"):
        rs.read_messages(other)


# ------------------------------------------------------------------ CSV alerts compared


def test_compare_names_a_csv_alerts_file_as_such(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: ``alerts.csv, line 1: not JSON (Extra data)`` for the alerts file ``riskscore
    score --format csv`` writes (now with ``max_channel``): read as JSON lines. It is named
    as CSV, which ``compare`` does not read (1 and "1" would match), as a shadow run in CSV."""
    alerts = [Alert(1, "a", "c", 12.0, "under 13", 0.9, Tier.URGENT, max_channel="encrypted")]
    write_alerts(alerts, tmp_path / "alerts.csv")
    write_alerts(alerts, tmp_path / "shadow.jsonl")
    with pytest.raises(SchemaError, match=r"alerts.csv: a CSV alerts file is not read"):
        read_alert_ids(tmp_path / "alerts.csv")
    argv = ["compare", "--alerts", str(tmp_path / "alerts.csv")]
    assert main([*argv, "--shadow-alerts", str(tmp_path / "shadow.jsonl")]) == 2
    assert "a CSV alerts file is not read" in capsys.readouterr().err


# ------------------------------------------------------------------ a case of user reports


def _report_events() -> list[dict[str, object]]:
    """A 12-year-old's message to a 13-year-old, then its report of them: no alert."""
    base = {"conversation_id": 9, "sender_id": "c12", "recipient_id": "p13", "sender_age": 12,
            "recipient_age": 13, "channel": "direct", "recipient_tz_offset_min": 0}  # fmt: skip
    return [
        {**base, "timestamp": T0, "event": "message"},
        {**base, "timestamp": T0 + 60, "event": "report"},
    ]


def test_a_case_of_user_reports_only_names_no_adult(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: a case that only user reports name (a 12-year-old reported a 13-year-old) read
    ``adult 'p13'`` in ``riskscore queue``, and "Case: adult account" in the console: the
    queue keeps no age of a reported account, and "adult" for an unknown age stands for the
    role rule's choice, which a report never makes (the reporter chose whom). It now reads
    "reported account"; a case with an alert is named by it as before."""
    db = tmp_path / "q.sqlite"
    with ReviewQueue(db) as queue:
        queue.add_report(UserReport(9, "c12", "p13", 12.0, timestamp=T0 + 60))
    assert main(["queue", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "reported account p13: 1 child" in out, out
    assert "adult p13" not in out
    with ReviewQueue(db) as queue:
        queue.add_alert(Alert(7, "p13", "k", 11.0, "under 13", 0.9, Tier.URGENT, adult_age=34.0))
    assert main(["queue", "--db", str(db)]) == 0
    assert "adult p13: 2 children" in capsys.readouterr().out


def test_the_console_names_a_reported_account_no_adult(tmp_path: Path) -> None:
    with model_client(tmp_path) as client:
        posted = client.post("/v1/events", json=_report_events())
        assert posted.status_code == 200, posted.text
        assert sign_in(client, "mod-1") == 303
        queue = client.get("/console/").text
        assert 'class="case-link">p13</a> (reported account)</td>' in queue, queue
        page = client.get("/console/cases/" + encode_id("p13")).text
        assert 'Case: reported account <span id="adult-id">p13</span>' in page, page
        assert "Case: adult" not in page
