"""Hostile review hr68g: a past period's transparency report and regulatory export, made
again after later alerts, decisions and user reports, are the same files. Each test
failed before its fix."""

from __future__ import annotations

import json
import sqlite3
import time
from contextlib import closing
from pathlib import Path

import pytest

from riskscore.cli import main
from riskscore.moderation import QueueError, ReviewQueue, UserReport
from riskscore.moderation.transparency import SYNTHETIC_DEMO_KEY, transparency_report
from riskscore.policy import Alert, Tier

T0 = 1_767_225_600  # 2026-01-01 00:00 UTC
DAY = 86_400
END = T0 + 7 * DAY  # the period: the first week of 2026
PERIOD = ["--start", "2026-01-01", "--end", "2026-01-07", "--min-cell", "0", "--no-charts"]


def _alert(conv: str, adult: str, tier: Tier, risk: float, channel: str) -> Alert:
    return Alert(conv, adult, f"k-{conv}", 12.0, "under 13", risk, tier, max_channel=channel)


def _period_queue(db: Path) -> None:
    """Alerts and user reports of the first week, two decided in it."""
    with ReviewQueue(db, simulation=True) as q:
        for n in range(4):
            q.add_alert(_alert(f"c{n}", f"a{n}", Tier.REVIEW, 0.3, "group"), at=T0 + n * 3600)
        q.add_alert(_alert("c0", "a0", Tier.REVIEW, 0.35, "direct"), at=T0 + DAY)  # in it
        q.add_report(UserReport("c9", "k9", "a9", 13.0, timestamp=T0 + DAY, channel="public"))
        q.add_report(UserReport("c8", "k8", "a8", 30.0, timestamp=T0 + DAY, channel="group"))
        for adult in ("a3", "a9"):
            token = q.case(adult, now=T0 + 2 * DAY).token  # type: ignore[union-attr]
            q.decide(adult, "actioned", moderator="m", token=token, at=T0 + 2 * DAY)


def _after_the_period(db: Path) -> None:
    """What happens after the week: later, stronger alerts of its open conversations on
    more private channels, decisions on its open items, a new alert and user report."""
    with ReviewQueue(db, simulation=True) as q:
        q.add_alert(_alert("c0", "a0", Tier.URGENT, 0.95, "encrypted"), at=END + DAY)
        q.add_alert(_alert("c1", "a1", Tier.URGENT, 0.9, "ephemeral"), at=END)  # at its end
        q.add_alert(_alert("c2", "a2", Tier.REVIEW, 0.5, "external"), at=END + DAY)
        q.add_alert(_alert("c5", "a5", Tier.URGENT, 0.9, "direct"), at=END + DAY)
        q.add_report(UserReport("c7", "k7", "a7", 11.0, timestamp=END + DAY, channel="direct"))
        for adult, outcome in (("a0", "escalated"), ("a1", "dismissed"), ("a8", "actioned")):
            token = q.case(adult, now=END + 2 * DAY).token  # type: ignore[union-attr]
            q.decide(adult, outcome, moderator="m", token=token, at=END + 2 * DAY)


def _files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_a_past_periods_report_and_export_are_the_same_when_made_again_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Was: a later alert on an open conversation of the period raised its item's tier and
    changed its channel, so the period's report made again counted it in another tier and
    channel (``by_tier``, precision by tier, ``by_channel``)."""
    monkeypatch.setenv("RISKSCORE_REPORT_KEY", SYNTHETIC_DEMO_KEY)
    db = tmp_path / "q.sqlite"
    _period_queue(db)
    made: list[dict[str, dict[str, bytes]]] = []
    for n in range(2):
        out = {what: tmp_path / f"{what}{n}" for what in ("report", "export")}
        assert main(["report", "--db", str(db), "--out", str(out["report"]), *PERIOD]) == 0
        period = ["--from", "2026-01-01", "--to", "2026-01-07"]
        assert main(["export", "--db", str(db), "--out", str(out["export"]), *period]) == 0
        made.append({what: _files(path) for what, path in out.items()})
        if n == 0:
            _after_the_period(db)  # later alerts, decisions and user reports
    first = json.loads(made[0]["report"]["report.json"])
    assert [first["by_tier"][t]["alerts"] for t in ("review", "urgent")] == [4, 0]
    assert first["by_channel"]["direct"] == {"alerts": 1, "user_reports": 0}  # c0's in it
    assert (first["actioned"], first["open"], first["user_report_outcomes"]["open"]) == (1, 3, 1)
    assert made[1] == made[0]  # byte for byte, every file
    assert first["channels_at_period_end"] is True
    with ReviewQueue(db) as q:  # and the queue itself moved on
        now = {i.conversation_id: i for i in q.items()}
    assert (now["c0"].tier, now["c0"].channel, now["c1"].channel) == (2, "encrypted", "ephemeral")


def test_an_alert_at_the_periods_end_is_after_it(tmp_path: Path) -> None:
    """The period's end is excluded: an alert dated at it is a later signal."""
    db = tmp_path / "q.sqlite"
    _period_queue(db)
    _after_the_period(db)
    with ReviewQueue(db) as q:
        items, unknown = q.items_at(END)
    c1 = next(i for i in items if i.conversation_id == "c1")
    assert (c1.tier, c1.risk, c1.channel, unknown) == (1, 0.3, "group", frozenset())
    assert {i.conversation_id for i in items} == {"c0", "c1", "c2", "c3", "c9", "c8"}


def _as_schema_3(db: Path) -> None:
    """``db`` as riskscore wrote it at schema version 3: no channel in the audit entries of
    alerts, no ``channel_baseline``."""
    with closing(sqlite3.connect(db)) as con, con:
        con.execute("DROP TRIGGER audit_no_update")
        for entry_id, detail in con.execute("SELECT entry_id, detail FROM audit").fetchall():
            old = {k: v for k, v in json.loads(detail).items() if k != "channel"}
            con.execute(
                "UPDATE audit SET detail = ? WHERE entry_id = ?", (json.dumps(old), entry_id)
            )
        con.execute("DROP TABLE channel_baseline")
        con.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")


def test_a_schema_3_queue_keeps_its_channels_at_the_upgrade_and_says_what_it_cannot_know(
    tmp_path: Path,
) -> None:
    """A file written before alerts' channels were recorded: an alert updated only after the
    upgrade keeps the channel it had then; one updated, before the upgrade, by a signal
    dated after the period's end is counted under its channel now, and the report says so."""
    db = tmp_path / "q.sqlite"
    _period_queue(db)
    with ReviewQueue(db, simulation=True) as q:  # before the upgrade, dated after the end
        q.add_alert(_alert("c2", "a2", Tier.URGENT, 0.9, "external"), at=END + DAY)
    _as_schema_3(db)
    _after_the_period(db)  # c0 and c1 updated after the upgrade
    with ReviewQueue(db, simulation=True) as q:
        items, unknown = q.items_at(END)
        by_conv = {i.conversation_id: i for i in items}
        assert (by_conv["c0"].channel, by_conv["c1"].channel) == ("direct", "group")
        assert by_conv["c2"].tier == 1  # tiers were always recorded
        assert unknown == {by_conv["c2"].item_id}
        assert by_conv["c2"].channel == "external"  # as stored
        report = transparency_report(q, (T0, END), key=SYNTHETIC_DEMO_KEY, min_cell=0)
    assert report.data["channels_at_period_end"] is False
    assert "counted under their channel now" in report.to_markdown()


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ("""detail = '{"tier": 7, "risk": 0.3, "channel": null}'""", "tier is 7"),
        ("""detail = '{"tier": 1, "risk": 0.3, "channel": "fax"}'""", "channel is 'fax'"),
        ("at = 'soon'", "time is 'soon'"),  # was a TypeError comparing it with the end
    ],
)
def test_a_signal_changed_outside_riskscore_is_refused_by_its_entry(
    tmp_path: Path, change: str, named: str
) -> None:
    db = tmp_path / "q.sqlite"
    _period_queue(db)
    _after_the_period(db)
    with closing(sqlite3.connect(db)) as con, con:
        con.execute("DROP TRIGGER audit_no_update")
        con.execute(f"UPDATE audit SET {change} WHERE action = 'enqueue' AND item_id = 1")
    with ReviewQueue(db) as q, pytest.raises(QueueError) as caught:
        q.items_at(END)
    assert f"audit entry 1: the signal's {named}" in str(caught.value)


def test_a_simulated_decision_after_the_period_leaves_its_clock_times_measured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Was: an item reviewed in the period by the clock (a simulated queue opened without
    simulation mode, as by the console) and decided by a simulation after its end made the
    period's review times simulated (``n_simulated``, ``decision_times`` ``mixed``) when
    the report was made again: every simulated entry counted, whenever dated."""
    db = tmp_path / "q.sqlite"
    _period_queue(db)
    with monkeypatch.context() as clock:
        clock.setattr(time, "time", lambda: float(T0 + 3 * DAY))
        with ReviewQueue(db) as q:  # the clock's time, in the period
            q.mark_reviewed("a0", moderator="m")
    made = []
    for n in range(2):
        with ReviewQueue(db) as q:
            report = transparency_report(q, (T0, END), key=SYNTHETIC_DEMO_KEY, min_cell=0)
        made.append(report.to_dict())
        if n == 0:
            _after_the_period(db)  # decides a0 at a simulated time after the end
    assert made[0]["time_to_first_review_hours"]["automated_detection"]["n_simulated"] == 1
    assert made[0]["simulation"]["decision_times"] == "mixed"
    assert made[1] == made[0]


def test_an_alert_arriving_late_never_makes_its_channel_less_private(tmp_path: Path) -> None:
    """Was: the open item took the channel of the alert that arrived last, so an earlier
    window scored late (a batch job re-run over last week) moved the item back to a less
    private channel than the conversation had reached, the report's "most private channel"."""
    db = tmp_path / "q.sqlite"
    with ReviewQueue(db, simulation=True) as q:
        q.add_alert(_alert("c0", "a0", Tier.REVIEW, 0.4, "encrypted"), at=T0 + DAY)
        q.add_alert(_alert("c0", "a0", Tier.REVIEW, 0.3, "direct"), at=T0)  # arrives late
        q.add_alert(_alert("c0", "a0", Tier.REVIEW, 0.2, "public"), at=END)  # after the end
        (item,) = q.items()
        (then,), _ = q.items_at(END)
        report = transparency_report(q, (T0, END), key=SYNTHETIC_DEMO_KEY, min_cell=0)
    assert (item.channel, then.channel, item.n_signals) == ("encrypted", "encrypted", 3)
    assert list(report.data["by_channel"]) == ["encrypted"]


def test_a_channel_baseline_changed_outside_riskscore_is_refused_by_its_item(
    tmp_path: Path,
) -> None:
    db = tmp_path / "q.sqlite"
    _period_queue(db)
    _as_schema_3(db)
    ReviewQueue(db).close()  # upgraded
    with closing(sqlite3.connect(db)) as con, con:
        con.execute("UPDATE channel_baseline SET channel = 'carrier pigeon' WHERE item_id = 2")
    _after_the_period(db)
    with ReviewQueue(db) as q, pytest.raises(QueueError) as caught:
        q.items_at(END)
    assert "review queue item 2: its channel at the upgrade" in str(caught.value)
    # free text where a channel belongs is quoted by its length, as the event readers quote
    # it: it may be message content (tests/test_queue_tampered_text.py)
    assert "carrier pigeon" not in str(caught.value)
    assert "channel at the upgrade to schema version 4 is text of 14 characters" in str(
        caught.value
    )
