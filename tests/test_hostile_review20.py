"""Hostile-input review 20: what the review queue and the vignette loader let through."""

from __future__ import annotations

import csv
import math
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from _regulatory import KEY, decided_queue

import riskscore.regulatory.export as export_module
from riskscore.cli import main
from riskscore.moderation import QueueError, ReviewQueue, UserReport
from riskscore.moderation.transparency import SYNTHETIC_DEMO_KEY, transparency_report
from riskscore.policy import Alert, Tier
from riskscore.regulatory import ExportExistsError, ExportFilter, export_all

T0 = 1_767_225_600
Y2K = 946_684_800  # 2000-01-01 00:00 UTC

# ------------------------------------------ values the queue would not read back

_UNREADABLE_ALERTS = {
    "negative age": Alert(1, "a", "c", -5.0, "13-15", 0.5, Tier.REVIEW),
    "age 200": Alert(1, "a", "c", 200.0, "13-15", 0.5, Tier.REVIEW),
    "infinite age": Alert(1, "a", "c", math.inf, "13-15", 0.5, Tier.REVIEW),
    "age as text": Alert(1, "a", "c", "12", "13-15", 0.5, Tier.REVIEW),  # type: ignore[arg-type]
    "reason with a newline": Alert(
        1, "a", "c", 12.0, "13-15", 0.5, Tier.REVIEW, reasons=("late\nnights",)
    ),
    "reasons too long": Alert(1, "a", "c", 12.0, "13-15", 0.5, Tier.REVIEW, reasons=("x" * 10**5,)),
}


@pytest.mark.parametrize("case", _UNREADABLE_ALERTS)
def test_an_alert_the_queue_could_not_read_back_is_refused_when_added(
    tmp_path: Path, case: str
) -> None:
    # It was written, and from then on every read of the queue (console, report, export)
    # failed with "the file was changed outside riskscore": items are never deleted.
    with (
        ReviewQueue(tmp_path / "q.sqlite") as q,
        pytest.raises(ValueError, match=r"alert on conversation 1: (child age|reasons)"),
    ):
        q.add_alert(_UNREADABLE_ALERTS[case], at=T0)
    with ReviewQueue(tmp_path / "q.sqlite") as q:
        assert q.items() == []


@pytest.mark.parametrize("big", [2**63, -(2**63) - 1, 2**64])
@pytest.mark.parametrize("field", ["conversation_id", "adult_id", "child_id"])
def test_an_integer_id_beyond_int64_is_read_back_as_that_integer(
    tmp_path: Path, big: int, field: str
) -> None:
    # Was refused when added (the queue read back int64 ids only); before that it was stored
    # and every later read failed. The online scorer holds such ids as integers: the queue
    # keeps them, never as the text id of their digits (tests/test_integer_ids_end_to_end.py).
    ids = {"conversation_id": 1, "adult_id": "a", "child_id": "c", field: big}
    made = Alert(ids["conversation_id"], ids["adult_id"], ids["child_id"], 12.0, "13-15", 0.5, 1)
    with ReviewQueue(tmp_path / "q.sqlite") as q:
        q.add_alert(made, at=T0)
    with ReviewQueue(tmp_path / "q.sqlite") as q:
        (item,) = q.items()
        assert getattr(item, field) == big
        assert type(getattr(item, field)) is int


@pytest.mark.parametrize("field", ["conversation_id", "adult_id", "child_id"])
def test_an_integer_id_longer_than_an_id_is_refused_when_added(tmp_path: Path, field: str) -> None:
    # stored as JSON and refused when read back: poisoned queue
    ids = {"conversation_id": 1, "adult_id": "a", "child_id": "c", field: -(10**256)}
    made = Alert(ids["conversation_id"], ids["adult_id"], ids["child_id"], 12.0, "13-15", 0.5, 1)
    with (
        ReviewQueue(tmp_path / "q.sqlite") as q,
        pytest.raises(ValueError, match=rf"^{field} -1000.*longer than 256 characters"),
    ):
        q.add_alert(made, at=T0)
    with ReviewQueue(tmp_path / "q.sqlite") as q:
        assert q.items() == []


_UNREADABLE_REPORTS = {
    "before 1970": UserReport(1, "kid", "adult", 12.0, timestamp=-5),
    "after 9999": UserReport(1, "kid", "adult", 12.0, timestamp=10**15),
    "time as text": UserReport(1, "kid", "adult", 12.0, timestamp="100"),  # type: ignore[arg-type]
    "time as bool": UserReport(1, "kid", "adult", 12.0, timestamp=True),
    "negative age": UserReport(1, "kid", "adult", -5.0, timestamp=T0),
    "age 200": UserReport(1, "kid", "adult", 200.0, timestamp=T0),
}


@pytest.mark.parametrize("case", _UNREADABLE_REPORTS)
def test_a_user_report_the_queue_could_not_read_back_is_refused_when_added(
    tmp_path: Path, case: str
) -> None:
    with (
        ReviewQueue(tmp_path / "q.sqlite") as q,
        pytest.raises(ValueError, match=r"user report on conversation 1: (timestamp|child)"),
    ):
        q.add_report(_UNREADABLE_REPORTS[case])
    with ReviewQueue(tmp_path / "q.sqlite") as q:
        assert q.items() == []


def test_user_reports_of_numpy_times_and_unknown_ages_are_still_queued(tmp_path: Path) -> None:
    import numpy as np

    with ReviewQueue(tmp_path / "q.sqlite") as q:
        q.add_report(UserReport(1, "kid", "adult", math.nan, timestamp=np.int64(T0)))
        q.add_report(UserReport(2, "kid", "adult", np.float32(12.0), timestamp=T0))  # type: ignore[arg-type]
        assert [i.created_at for i in q.items()] == [T0, T0]


# ------------------------------------------------ the transparency report's arguments


@pytest.mark.parametrize(
    "period",
    [(0.5, T0), (math.nan, T0), (0, math.inf), ("0", str(T0)), (True, T0), (0,), (0, T0, 1)],
)
def test_a_period_that_is_not_two_epoch_seconds_is_named(tmp_path: Path, period: tuple) -> None:
    # (0.5, T0) and ("0", "T0") were read as (0, T0); NaN and inf raised the bare
    # "cannot convert float NaN to integer", (0,) an IndexError
    with (
        ReviewQueue(tmp_path / "q.sqlite", simulation=True) as q,
        pytest.raises(ValueError, match=r"^period"),
    ):
        transparency_report(q, period, key=SYNTHETIC_DEMO_KEY)


@pytest.mark.parametrize("limit", [-1, 2.5, True, "3"])
def test_a_number_of_listed_cases_that_is_no_count_is_refused(
    tmp_path: Path, limit: object
) -> None:
    # -1 listed every case but the last, as a slice does
    with (
        ReviewQueue(tmp_path / "q.sqlite", simulation=True) as q,
        pytest.raises(ValueError, match=r"^max_listed_cases must be a whole number >= 0"),
    ):
        transparency_report(q, (0, T0), key=SYNTHETIC_DEMO_KEY, max_listed_cases=limit)  # type: ignore[arg-type]


# ------------------------------------ the reporting period of the 2024/2835 templates


@pytest.mark.parametrize(
    ("start", "end", "period"),
    [
        (T0 + 200 * 86_400, None, "2026-07-20/2026-07-20"),  # after the last decision
        (None, T0 - 86_400, "2025-12-30/2025-12-30"),  # before the first alert
        (T0 + 86_400, None, "2026-01-02/2026-01-03"),  # the queue's last day closes it
    ],
)
def test_a_one_sided_period_is_never_written_reversed(
    tmp_path: Path, start: int | None, end: int | None, period: str
) -> None:
    # --from after the queue's last record gave "2027-01-01/2026-01-03" and --to before
    # its first "2026-01-01/2025-12-30": the open side was the queue's, whatever the other
    with ReviewQueue(decided_queue(tmp_path / "q.sqlite")) as queue:
        export_all(queue, tmp_path / "e", key=KEY, export_filter=ExportFilter(start, end))
    for name in ("04_notices.csv", "11_qualitative.csv"):
        with (tmp_path / "e/eu-2024-2835" / name).open() as fh:
            assert {row["Reporting period"] for row in csv.DictReader(fh)} == {period}
    draft = (tmp_path / "e/eu-2024-2835/qualitative_draft.md").read_text()
    assert f"Reporting period: {period}." in draft


@pytest.mark.parametrize(
    ("filters", "match"),
    [
        ({"start": 10**20}, r"^period start must be epoch seconds"),  # was OverflowError
        ({"end": -(10**13)}, r"^period end must be epoch seconds"),  # "year -314918 is out.."
        ({"start": math.nan}, r"^period start must be epoch seconds"),
        ({"start": "2026"}, r"^period start must be epoch seconds"),  # was a TypeError
        ({"outcomes": "escalated"}, r"^decision filter must be a tuple"),  # "filter 'e' is.."
        ({"bands": "under 13"}, r"^band filter must be a tuple"),
    ],
)
def test_an_export_filter_of_one_odd_side_is_refused_naming_it(
    filters: dict[str, object], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        ExportFilter(**filters)  # type: ignore[arg-type]


# ------------------------------------------------------- an export is all or nothing


def test_a_dangling_link_in_the_way_of_an_export_is_named_and_nothing_is_moved(
    tmp_path: Path,
) -> None:
    # Path.exists() is False for a link to nothing: two of the three folders were moved
    # into place before the third failed, naming the staging folder
    out = tmp_path / "e"
    out.mkdir()
    (out / "ncmec-drafts").symlink_to(tmp_path / "nowhere")
    with (
        ReviewQueue(decided_queue(tmp_path / "q.sqlite")) as queue,
        pytest.raises(ExportExistsError, match=r"ncmec-drafts exists"),
    ):
        export_all(queue, out, key=KEY)
    assert sorted(p.name for p in out.iterdir()) == ["ncmec-drafts"]


def test_an_export_failing_at_its_last_move_takes_back_the_first_two(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # another export made the last folder after the check: the export failed, leaving
    # dsa-statements/ and eu-2024-2835/ of its own to block the next run
    out = tmp_path / "e"
    written = export_module.write_drafts

    def racing(drafts: object, folder: Path) -> dict[str, Path]:
        (out / "ncmec-drafts" / "another").mkdir(parents=True)
        return written(drafts, folder)  # type: ignore[arg-type]

    monkeypatch.setattr(export_module, "write_drafts", racing)
    with (
        ReviewQueue(decided_queue(tmp_path / "q.sqlite")) as queue,
        pytest.raises(ExportExistsError, match=r"ncmec-drafts exists"),
    ):
        export_all(queue, out, key=KEY)
    assert sorted(p.name for p in out.iterdir()) == ["ncmec-drafts"]


def test_the_charts_of_a_period_without_reviews_warn_of_nothing(tmp_path: Path) -> None:
    # The time chart called legend() with nothing labelled: matplotlib's UserWarning "No
    # artists with labels found to put in legend" on stderr of `riskscore report`
    with ReviewQueue(tmp_path / "q.sqlite", simulation=True) as q:
        q.add_alert(Alert(1, "a", "c", 12.0, "13-15", 0.5, Tier.REVIEW), at=T0)
        report = transparency_report(q, (0, T0 + 10), key=SYNTHETIC_DEMO_KEY)
    assert "time_to_decision.png" in report.write(tmp_path / "r")


# ------------------------------------ another application's database with a queue's table


@pytest.mark.parametrize("table", ["items", "audit", "alert_signals"])
def test_a_database_whose_one_table_shares_a_queue_tables_name_is_left_unchanged(
    tmp_path: Path, table: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Its table names were all a queue's, so it was taken for one: `riskscore queue` wrote
    # the queue's tables into it, and triggers on a table `audit` that refused the other
    # application's own updates and deletes (or failed: "no such column: conversation_id")
    db = tmp_path / "shop.sqlite"
    with closing(sqlite3.connect(db)) as con, con:
        con.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, name TEXT)")
        con.execute(f"INSERT INTO {table} VALUES (1, 'apple')")
    before = db.read_bytes()
    assert main(["queue", "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"is not a riskscore queue (it has table(s) {table} and no queue's meta table)" in err
    with pytest.raises(QueueError, match="is not a riskscore queue"):
        ReviewQueue(db)  # nor by a writer
    assert db.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shop.sqlite"]


def test_report_prints_no_python_none_for_a_period_without_reviews(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # "time to first review hours: median None, 90th percentile None"
    monkeypatch.setenv("RISKSCORE_REPORT_KEY", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934c")
    ReviewQueue(tmp_path / "q.sqlite").close()
    argv = ["report", "--db", str(tmp_path / "q.sqlite"), "--out", str(tmp_path / "r")]
    assert main([*argv, "--no-charts", "--start", "2026-01-01", "--end", "2026-02-01"]) == 0
    out = capsys.readouterr().out
    assert "None" not in out
    assert "time to decision: none in the period" in out


def test_the_export_of_an_empty_queue_dates_no_period_1970(tmp_path: Path) -> None:
    # "1970-01-01/1970-01-01": the first and last record of a queue with none
    ReviewQueue(tmp_path / "q.sqlite", simulation=True).close()
    with ReviewQueue(tmp_path / "q.sqlite") as queue:
        export_all(queue, tmp_path / "e", key=KEY)
    with (tmp_path / "e/eu-2024-2835/04_notices.csv").open() as fh:
        assert {row["Reporting period"] for row in csv.DictReader(fh)} == {"../.."}


def test_the_export_of_an_empty_queue_up_to_a_day_starts_on_that_day(tmp_path: Path) -> None:
    ReviewQueue(tmp_path / "q.sqlite", simulation=True).close()
    with ReviewQueue(tmp_path / "q.sqlite") as queue:
        export_all(queue, tmp_path / "e", key=KEY, export_filter=ExportFilter(end=T0 + 86_400))
    with (tmp_path / "e/eu-2024-2835/04_notices.csv").open() as fh:
        assert {row["Reporting period"] for row in csv.DictReader(fh)} == {"2026-01-01/2026-01-01"}


def test_a_decision_dated_outside_the_databases_range_is_named_with_its_date(
    tmp_path: Path,
) -> None:
    # "field 'application_date' must be between 2020-01-01 and 2038-01-01": which date, of
    # which of the pseudonymised statements, the message did not say
    with ReviewQueue(tmp_path / "q.sqlite", simulation=True) as q:
        # the earliest time a queue item may have: 2000-01-01, as events
        q.add_alert(Alert(1, "a", "c", 12.0, "13-15", 0.5, Tier.URGENT), at=Y2K + 100)
        token = q.case("a", now=Y2K + 200).token  # type: ignore[union-attr]
        q.decide("a", "actioned", moderator="m", at=Y2K + 200, token=token)
        with pytest.raises(ValueError, match=r"'application_date' is 2000-01-01, not between 2020"):
            export_all(q, tmp_path / "e", key=SYNTHETIC_DEMO_KEY)


@pytest.mark.parametrize("note", ["ok\u202etxet", "bell\x07", "zero\u200bwidth", "cr\rlf"])
def test_a_note_with_hidden_characters_is_refused(tmp_path: Path, note: str) -> None:
    # a right-to-left override would show the audit log's readers other text than stored
    with ReviewQueue(tmp_path / "q.sqlite", simulation=True) as q:
        q.add_alert(Alert(1, "a", "c", 12.0, "13-15", 0.5, Tier.URGENT), at=T0 + 100)
        token = q.case("a", now=T0 + 200).token  # type: ignore[union-attr]
        with pytest.raises(QueueError, match="note must be printable text"):
            q.decide("a", "actioned", moderator="m", at=T0 + 200, token=token, note=note)
        q.decide("a", "actioned", moderator="m", at=T0 + 200, token=token, note="a\r\nb\nc\td")
        notes = [e.detail.get("note") for e in q.audit_log() if e.action == "decide"]
    assert notes == ["a\nb\nc\td"]  # a textarea's CRLF kept as one line break
