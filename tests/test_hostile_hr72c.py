"""A transparency report of a closed period does not change: items are counted in the period
in which the queue received them (hr72c).

A queue of real decisions receives an item at the clock's time (or the time it carries,
when later). Before, a report placed items by the time they carry: an alert on last
month's events queued today, or a later alert merged into an item of the period, changed
last month's published report, and the EU 2024/2835 template rows with it.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from riskscore.cli import main
from riskscore.moderation import QueueError, ReviewQueue, UserReport
from riskscore.moderation.transparency import SYNTHETIC_DEMO_KEY, transparency_report
from riskscore.policy import Alert, Tier
from riskscore.regulatory import ExportFilter, export_all

# a platform's key (not one printed in the documentation: the queue holds real decisions)
KEY = "hr72c-platform-key-7Qw9Zr2Lx5Vb8Nc3Md6Kf1Hj4Gs0Pt"
T0 = 1_767_225_600  # 2026-01-01


def _alert(conversation: int, adult: str, tier: Tier = Tier.REVIEW, risk: float = 0.7) -> Alert:
    return Alert(conversation, adult, f"child-{conversation}", 12.0, "under 13", risk, tier)


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


@dataclass
class Closed:
    """A real queue whose period ``period`` closed before late items were queued."""

    db: Path
    period: tuple[int, int]
    before: str  # report.to_dict() as JSON, before the late items
    before_md: str
    before_cli: dict[str, bytes]  # riskscore report's files
    before_export: dict[str, bytes]  # the 2024/2835 template rows
    queued_late: int  # clock time when the late items were queued


def _cli_report(db: Path, out: Path, period: tuple[int, int]) -> dict[str, bytes]:
    args = ["report", "--db", str(db), "--out", str(out), "--no-charts"]
    assert main([*args, "--start", str(period[0]), "--end", str(period[1])]) == 0
    return _files(out)


def _export(db: Path, out: Path, period: tuple[int, int]) -> dict[str, bytes]:
    with ReviewQueue(db, create=False) as q:
        f = ExportFilter(start=period[0], end=period[1])
        export_all(q, out, key=KEY, export_filter=f)
    return _files(out / "eu-2024-2835")


@pytest.fixture(scope="module")
def closed(tmp_path_factory: pytest.TempPathFactory) -> Closed:
    root = tmp_path_factory.mktemp("closed")
    db = root / "q.sqlite"
    mp = pytest.MonkeyPatch()
    mp.setenv("RISKSCORE_REPORT_KEY", KEY)
    t0 = int(time.time())
    period = (t0 - 3600, t0 + 1)
    with ReviewQueue(db) as q:
        q.add_alert(_alert(1, "adult-a"), at=t0 - 1800)
        q.add_report(UserReport(1, "child-1", "adult-a", 12.0, t0 - 1700))
    while time.time() < period[1] + 1:  # the period closes on the clock
        time.sleep(0.2)
    with ReviewQueue(db, create=False) as q:
        report = transparency_report(q, period, key=KEY, min_cell=0)
    before_cli = _cli_report(db, root / "cli-before", period)
    before_export = _export(db, root / "export-before", period)
    queued_late = int(time.time())
    with ReviewQueue(db, create=False) as q:
        # dated inside the closed period, queued after it closed: a new alert, a user
        # report, and a signal merged into the period's open alert that would raise its tier
        q.add_alert(_alert(2, "adult-b"), at=t0 - 600)
        q.add_report(UserReport(2, "child-2", "adult-b", 12.0, t0 - 500))
        q.add_alert(_alert(1, "adult-a", Tier.URGENT, 0.95), at=t0 - 1200)
    mp.undo()
    return Closed(
        db,
        period,
        json.dumps(report.to_dict()),
        report.to_markdown(),
        before_cli,
        before_export,
        queued_late,
    )


def test_a_closed_period_report_is_unchanged_by_items_dated_in_it_queued_later(
    closed: Closed,
) -> None:
    with ReviewQueue(closed.db, create=False) as q:
        again = transparency_report(q, closed.period, key=KEY, min_cell=0)
    assert json.dumps(again.to_dict()) == closed.before
    assert again.to_markdown() == closed.before_md
    d = again.to_dict()
    assert (d["alerts_raised"], d["user_reports"]) == (1, 1)
    assert d["by_tier"]["review"]["alerts"] == 1
    assert d["by_tier"]["urgent"]["alerts"] == 0


def test_riskscore_report_of_a_closed_period_writes_the_same_bytes(
    closed: Closed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RISKSCORE_REPORT_KEY", KEY)
    assert _cli_report(closed.db, tmp_path / "again", closed.period) == closed.before_cli


def test_the_2024_2835_rows_of_a_closed_period_are_unchanged(
    closed: Closed, tmp_path: Path
) -> None:
    assert _export(closed.db, tmp_path / "again", closed.period) == closed.before_export


def test_a_late_item_is_counted_in_the_period_the_queue_received_it(closed: Closed) -> None:
    later = (closed.period[1], int(time.time()) + 60)
    with ReviewQueue(closed.db, create=False) as q:
        report = transparency_report(q, later, key=KEY, min_cell=0)
        # the time it carries is kept: dated before this period (a late arrival)
        late = [i for i in q.items_at(later[1])[0] if i.conversation_id == 2]
    d = report.to_dict()
    assert (d["alerts_raised"], d["user_reports"]) == (1, 1)
    assert d["received_in_period"] == {
        "dated_in_period": {"alerts": 0, "user_reports": 0},
        "dated_before_period": {"alerts": 1, "user_reports": 1},
    }
    said = " ".join(report.to_markdown().split())
    assert "dated in): alerts 1, user reports 1." in said
    assert len(late) == 2
    for item in late:
        assert item.received_time >= closed.queued_late > item.created_at


def test_time_to_decision_is_measured_from_receipt(closed: Closed, tmp_path: Path) -> None:
    # a copy: the other tests read the queue undecided
    db = Path(shutil.copy(closed.db, tmp_path / "q.sqlite"))  # closed: no WAL left
    with ReviewQueue(db, create=False) as q:
        case = q.case("adult-b")
        assert case is not None
        q.decide("adult-b", "actioned", moderator="mod-1", token=case.token)
        later = (closed.period[1], int(time.time()) + 60)
        d = transparency_report(q, later, key=KEY, min_cell=0).to_dict()
    # dated 10 minutes before the period's end, received and decided now: not 10 minutes
    hours = d["time_to_decision_hours"]["automated_detection"]
    assert hours["n"] == 1
    assert hours["median"] < 0.1


def test_an_older_alert_merged_into_an_item_moves_its_start(tmp_path: Path) -> None:
    # a simulated queue: times are the simulation's, taken as given
    with ReviewQueue(tmp_path / "q.sqlite", simulation=True) as q:
        q.add_alert(_alert(3, "adult-d"), at=T0 + 1500)
        q.add_alert(_alert(3, "adult-d", Tier.URGENT, 0.9), at=T0 + 800)  # merged
        (item,) = q.items_at(T0 + 3000)[0]
        assert (item.created_at, item.received_time, item.tier) == (T0 + 800, T0 + 1500, 2)
        d = transparency_report(
            q, (T0 + 1000, T0 + 3000), key=SYNTHETIC_DEMO_KEY, min_cell=0
        ).to_dict()
        first = transparency_report(q, (T0, T0 + 1000), key=SYNTHETIC_DEMO_KEY, min_cell=0)
    # counted once, where the queue received it, and said to carry an earlier time
    assert d["alerts_raised"] == 1
    assert first.alerts_raised == 0
    assert d["received_in_period"]["dated_before_period"]["alerts"] == 1


def test_an_open_period_of_the_templates_covers_the_day_a_late_item_was_received(
    tmp_path: Path,
) -> None:
    # an alert on events of three days ago queued now: the rows count it (received now), so
    # the period they name, open at its end, ends today, not three days ago
    now = int(time.time())
    with ReviewQueue(tmp_path / "q.sqlite") as q:
        q.add_alert(_alert(4, "adult-e"), at=now - 3 * 86_400)
        export_all(q, tmp_path / "out", key=KEY, export_filter=ExportFilter())
        (item,) = q.items(received=True)
    rows = (tmp_path / "out" / "eu-2024-2835" / "08_automated_means.csv").read_text()
    today = time.strftime("%Y-%m-%d", time.gmtime(item.received_time))
    assert item.received_time >= now
    assert f",{today}/{today}," in rows


def test_riskscore_report_starts_by_default_on_the_day_the_first_item_was_received(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # items are counted by receipt: a period opened at the day an old alert carries would
    # name years in which the queue received nothing
    monkeypatch.setenv("RISKSCORE_REPORT_KEY", KEY)
    now = int(time.time())
    with ReviewQueue(tmp_path / "q.sqlite") as q:
        q.add_alert(_alert(5, "adult-f"), at=now - 30 * 86_400)
        (item,) = q.items(received=True)
    args = ["report", "--db", str(tmp_path / "q.sqlite"), "--out", str(tmp_path / "r")]
    end = str(item.received_time + 60)
    assert main([*args, "--no-charts", "--min-cell", "0", "--end", end]) == 0
    d = json.loads((tmp_path / "r" / "report.json").read_text())
    assert d["period"]["start_epoch"] == item.received_time - item.received_time % 86_400
    assert d["received_in_period"]["dated_before_period"]["alerts"] == 1


def test_an_audit_entry_whose_recording_time_is_no_time_is_named(tmp_path: Path) -> None:
    # a file changed outside riskscore: the time an entry was written is what places its
    # item in a period, so one that is no time is named, never a bare TypeError
    with ReviewQueue(tmp_path / "q.sqlite") as q:
        item = q.add_alert(_alert(6, "adult-g"), at=int(time.time()) - 60)
        q._con.execute(
            "INSERT INTO audit (at, recorded_at, actor, action, item_id, detail) "
            "VALUES (?, 'yesterday', 'x', 'update', ?, '{}')",
            (int(time.time()) - 30, item),
        )
        q._con.commit()
        with pytest.raises(QueueError, match=r"audit entry 2: the signal's recording time"):
            q.items_at(int(time.time()) + 60)
        with pytest.raises(QueueError, match=r"audit entry 2"):
            q.items(received=True)
