"""Hostile review 11: ``riskscore report``, ``riskscore export`` and the queue rows they read."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from _regulatory import KEY, T0, decided_queue, insert_item

from riskscore.cli import main
from riskscore.moderation import QueueError, ReviewQueue
from riskscore.policy import Alert, Tier
from riskscore.regulatory import export_all

# ------------------------------------------- decisions dated before what they decide


def test_a_decision_by_item_ids_on_an_item_not_yet_arrived_is_refused(tmp_path: Path) -> None:
    # An alert dated ahead is not shown yet, but naming its item id decided it by the
    # clock before it was raised: the report then gave a negative time to decision. (An
    # item more than a day ahead is refused on arrival: tests/test_hostile_review54.py.)
    with ReviewQueue(tmp_path / "q.sqlite") as q:
        ahead = int(time.time()) + 6 * 3_600
        item = q.add_alert(Alert(1, "a", "c", 12.0, "under 13", 0.9, Tier.URGENT), at=ahead)
        with pytest.raises(QueueError, match=rf"item {item}\b.*created"):
            q.decide("a", "actioned", moderator="m", item_ids=[item])
        assert [i.status for i in q.items()] == ["open"]


def test_a_simulated_decision_before_the_item_or_its_review_is_refused(tmp_path: Path) -> None:
    with ReviewQueue(tmp_path / "q.sqlite", simulation=True) as q:
        item = q.add_alert(Alert(1, "a", "c", 12.0, "under 13", 0.9, Tier.URGENT), at=T0)
        with pytest.raises(QueueError, match="created"):
            q.decide("a", "actioned", moderator="m", at=T0 - 1, item_ids=[item])
        q.mark_reviewed("a", moderator="m", at=T0 + 100)
        with pytest.raises(QueueError, match="first reviewed"):
            q.decide("a", "actioned", moderator="m", at=T0 + 50, item_ids=[item])
        q.decide("a", "actioned", moderator="m", at=T0 + 100, item_ids=[item])
        assert [i.status for i in q.items()] == ["actioned"]


# ------------------------------------ rows whose columns contradict each other

_DECIDED = {"status": "actioned", "first_reviewed_at": T0 + 10, "decided_at": T0 + 10,
            "decided_by": "m"}  # fmt: skip
_EARLY = {**_DECIDED, "first_reviewed_at": T0 + 8, "decided_at": T0 + 8}
_LATE_REVIEW = {**_DECIDED, "first_reviewed_at": T0 + 11}
_CONTRADICTIONS: dict[str, tuple[dict[str, Any], str]] = {
    # reported as -0.0003 hours to decision, exported with content_date after the decision
    "decided before it was created": (_EARLY, "'decided_at'"),
    # open in the report, decided (and counted in the precision) in the export
    "decided with no decision time": ({**_DECIDED, "decided_at": None}, "'decided_at'"),
    "open with a decision time": ({**_DECIDED, "status": "open"}, "'decided_at'"),
    "decided by nobody": ({**_DECIDED, "decided_by": None}, "'decided_by'"),
    "reviewed before it was created": ({"first_reviewed_at": T0 + 1}, "'first_reviewed_at'"),
    "reviewed after its decision": (_LATE_REVIEW, "'first_reviewed_at'"),
    "updated before it was created": ({"updated_at": T0 + 1}, "'updated_at'"),
    # counted in alerts_raised but in no row of by_tier: the tiers did not add up
    "alert of tier 0": ({"tier": 0}, "'tier'"),
    # an "Urgent-tier automated alert" in the NCMEC draft of a user report
    "user report of tier 2": ({"kind": "user_report", "tier": 2}, "'tier'"),
}


@pytest.mark.parametrize("case", _CONTRADICTIONS)
def test_a_queue_row_whose_columns_contradict_each_other_is_refused(
    tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    change, column = _CONTRADICTIONS[case]
    db = decided_queue(tmp_path / "q.sqlite")
    insert_item(db, change)  # item 8, written with plain SQL
    with ReviewQueue(db) as queue, pytest.raises(QueueError, match=rf"item 8\b.*{column}"):
        queue.items()
    monkeypatch.setenv("RISKSCORE_REPORT_KEY", KEY.decode())
    for argv in (
        ["report", "--db", str(db), "--out", str(tmp_path / "r"), "--no-charts",
         "--start", str(T0), "--end", str(T0 + 86_400)],
        ["export", "--db", str(db), "--out", str(tmp_path / "e")],
    ):  # fmt: skip
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert column in err
        assert "Traceback" not in err
    assert not (tmp_path / "r").exists()
    assert not (tmp_path / "e").exists()


# ---------------------------------- what the queue writes, it must read back

_UNREADABLE_ALERTS = {
    "band with a bidi override": Alert(1, "a", "c", 12.0, "13\u202e-15", 0.5, Tier.REVIEW),
    "empty band": Alert(1, "a", "c", 12.0, "", 0.5, Tier.REVIEW),
    "tier 0": Alert(1, "a", "c", 12.0, "13-15", 0.5, 0),  # type: ignore[arg-type]
    "tier 7": Alert(1, "a", "c", 12.0, "13-15", 0.5, 7),  # type: ignore[arg-type]
}


@pytest.mark.parametrize("case", _UNREADABLE_ALERTS)
def test_an_alert_the_queue_could_not_read_back_is_refused_when_added(
    tmp_path: Path, case: str
) -> None:
    # It was written, and from then on every read of the queue (console, report, export)
    # failed with "the file was changed outside riskscore".
    with ReviewQueue(tmp_path / "q.sqlite") as q:
        with pytest.raises(ValueError, match=r"alert on conversation 1: (tier|age band)"):
            q.add_alert(_UNREADABLE_ALERTS[case], at=T0)
        assert q.items() == []


# --------------------------------------------------------- the platform's name


def test_the_qualitative_draft_shows_the_platform_name_as_written(tmp_path: Path) -> None:
    platform = "[x](javascript:alert(1)) <img src=x onerror=alert(1)> *chat*"
    with ReviewQueue(decided_queue(tmp_path / "q.sqlite")) as queue:
        export_all(queue, tmp_path / "e", key=KEY, platform=platform)
    heading = (tmp_path / "e/eu-2024-2835/qualitative_draft.md").read_text().splitlines()[0]
    assert heading.endswith(r"\[x\](javascript:alert(1)) \<img src=x onerror=alert(1)\> \*chat\*")


def test_a_decision_before_its_alert_names_the_earlier_versions_that_allowed_it(
    tmp_path: Path,
) -> None:
    # Such a row may come from riskscore itself before the guard: the message says so
    # instead of only blaming an edit outside riskscore.
    db = decided_queue(tmp_path / "q.sqlite")
    insert_item(db, _EARLY)
    with ReviewQueue(db) as queue, pytest.raises(QueueError, match="earlier versions allowed"):
        queue.items()


def test_a_reversed_period_is_named_by_its_dates_in_report_and_export(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # One rule (moderation.cases.check_period) for both: the message showed epoch seconds
    # only, not the dates the user typed.
    db = decided_queue(tmp_path / "q.sqlite")
    monkeypatch.setenv("RISKSCORE_REPORT_KEY", KEY.decode())
    for argv in (
        ["report", "--db", str(db), "--out", str(tmp_path / "r"), "--no-charts",
         "--start", "2026-02-01", "--end", "2026-01-01"],
        ["export", "--db", str(db), "--out", str(tmp_path / "e"),
         "--from", "2026-02-01", "--to", "2026-01-01"],
    ):  # fmt: skip
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "period start 2026-02-01T00:00:00+00:00 (1769904000) must be before its end " in err
        # the end as a date too (report's --end is inclusive: the next day's midnight)
        assert re.search(r"its end 2026-01-0[12]T00:00:00\+00:00 \(\d+\)", err), err


def test_a_reversed_period_is_refused_before_a_month_is_simulated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The month (events, scores, queue, moderators) was simulated into --db first, and the
    # period refused after: minutes of work and a new queue file for a typing error.
    monkeypatch.setenv("RISKSCORE_REPORT_KEY", KEY.decode())
    db = tmp_path / "month.sqlite"
    argv = ["report", "--synthetic-month", "--db", str(db), "--out", str(tmp_path / "r"),
            "--no-charts", "--start", "2026-02-01", "--end", "2026-01-01"]  # fmt: skip
    assert main(argv) == 2
    assert "must be before its end" in capsys.readouterr().err
    assert not db.exists()
    later = ["report", "--synthetic-month", "--db", str(db), "--out", str(tmp_path / "r"),
             "--no-charts", "--start", "2199-01-01"]  # fmt: skip
    assert main(later) == 2  # from a start after now to now
    assert "must be before its end" in capsys.readouterr().err
    assert not db.exists()
