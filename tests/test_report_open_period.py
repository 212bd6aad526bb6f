"""A transparency report of a period that has not ended is cut at the time of the report.

Was: a report of 2026-12-01 to 2026-12-31 made on 2026-12-05 read "Period: 2026-12-01 to
2027-01-01" with five days of figures, nothing saying the month was still open; published,
it then ruled out the month's real report (overlapping periods are refused). A report of a
closed period is the same whenever it is made; an open one is not, so the period is cut at
the time of the report and every output says so (regulatory exports alike). A period not
yet begun is refused.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from riskscore import ReviewQueue, transparency_report
from riskscore.cli import main
from riskscore.moderation.transparency import SYNTHETIC_DEMO_KEY
from riskscore.moderation.transparency_render import render_html, render_markdown
from riskscore.policy import Alert, Tier
from riskscore.regulatory import ExportFilter, export_all

T = 1_767_225_600  # 2026-01-01
DAY = 86_400


@pytest.fixture
def queue(tmp_path: Path) -> ReviewQueue:
    q = ReviewQueue(tmp_path / "q.sqlite", simulation=True)
    q.add_alert(Alert(1, "a", "c", 12.0, "under 13", 0.9, Tier.URGENT), at=T + 3600)
    q.add_alert(Alert(2, "b", "d", 14.0, "13-15", 0.8, Tier.REVIEW), at=T + 2 * DAY)
    return q


def test_an_open_period_is_cut_at_the_time_of_the_report(queue: ReviewQueue) -> None:
    month = (T, T + 31 * DAY)
    report = transparency_report(
        queue, month, key=SYNTHETIC_DEMO_KEY, as_of=T + 5 * DAY, min_cell=0
    )
    period = report.data["period"]
    assert period["end_epoch"] == T + 5 * DAY
    assert period["requested_end"] == "2026-02-01T00:00:00Z"
    assert report.alerts_raised == 2
    for text in (render_markdown(report.data, ()), render_html(report.to_dict(), ())):
        assert "after the time of this report: the period is cut there" in text
    # the same report made later, once the month has ended, covers the whole month
    later = transparency_report(queue, month, key=SYNTHETIC_DEMO_KEY, as_of=T + 40 * DAY)
    assert later.data["period"]["end_epoch"] == T + 31 * DAY
    assert "requested_end" not in later.data["period"]
    assert "the period is cut there" not in render_markdown(later.data, ())
    # the cut report, published, overlaps the month: the rest of it is what can follow
    with pytest.raises(ValueError, match="overlap"):
        transparency_report(
            queue, month, key=SYNTHETIC_DEMO_KEY, as_of=T + 40 * DAY, published=[(T, T + 5 * DAY)]
        )
    rest = transparency_report(
        queue,
        (T + 5 * DAY, T + 31 * DAY),
        key=SYNTHETIC_DEMO_KEY,
        as_of=T + 40 * DAY,
        published=[(T, T + 5 * DAY)],
        min_cell=0,
    )
    assert rest.alerts_raised == 0


def test_a_period_not_yet_begun_is_refused(queue: ReviewQueue) -> None:
    with pytest.raises(ValueError, match="nothing in the period has happened yet"):
        transparency_report(queue, (T + 10 * DAY, T + 20 * DAY), key=SYNTHETIC_DEMO_KEY, as_of=T)
    with pytest.raises(ValueError, match="as_of must be epoch seconds"):
        transparency_report(queue, (T, T + DAY), key=SYNTHETIC_DEMO_KEY, as_of=True)  # type: ignore[arg-type]


def test_the_command_line_says_the_period_was_cut(
    queue: ReviewQueue,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    queue.close()
    monkeypatch.setenv("RISKSCORE_REPORT_KEY", SYNTHETIC_DEMO_KEY)
    out = tmp_path / "report"
    argv = ["report", "--db", str(tmp_path / "q.sqlite"), "--out", str(out), "--no-charts"]
    assert main([*argv, "--start", "2026-01-01", "--end", "2199-12-31"]) == 0
    printed = capsys.readouterr().out
    assert "the --end given ends 2200-01-01T00:00:00Z, after the time of the report" in printed
    data = json.loads((out / "report.json").read_text())
    assert data["period"]["requested_end"] == "2200-01-01T00:00:00Z"
    assert data["period"]["end_epoch"] < T + 3650 * DAY
    assert "the period is cut there" in (out / "report.md").read_text()


def test_an_export_of_a_period_not_yet_ended_is_cut_too(queue: ReviewQueue, tmp_path: Path) -> None:
    month = ExportFilter(start=T, end=T + 31 * DAY)
    cut = export_all(
        queue, tmp_path / "cut", key=SYNTHETIC_DEMO_KEY, export_filter=month, as_of=T + 5 * DAY
    )
    assert cut["requested_end"] == "2026-02-01T00:00:00Z"
    notices = "".join(p.read_text() for p in (tmp_path / "cut").rglob("*.csv"))
    assert "2026-01-01/2026-01-31" not in notices
    closed = export_all(
        queue, tmp_path / "closed", key=SYNTHETIC_DEMO_KEY, export_filter=month, as_of=T + 40 * DAY
    )
    assert closed["requested_end"] is None
    with pytest.raises(ValueError, match="nothing in the period has happened yet"):
        export_all(
            queue,
            tmp_path / "early",
            key=SYNTHETIC_DEMO_KEY,
            export_filter=ExportFilter(start=T + 9 * DAY, end=T + 31 * DAY),
            as_of=T + 5 * DAY,
        )
    # Was (hostile review): a --from after the time of the export without --to passed,
    # its templates dated 2199-12-31/2199-12-31
    with pytest.raises(ValueError, match="nothing in the period has happened yet"):
        export_all(
            queue,
            tmp_path / "open",
            key=SYNTHETIC_DEMO_KEY,
            export_filter=ExportFilter(start=T + 9 * DAY),
            as_of=T + 5 * DAY,
        )


def test_the_published_record_is_not_overwritten_by_the_report(
    queue: ReviewQueue, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Was (hostile review): ``--published OUT/report.json`` with ``--out OUT`` read the
    record of the published report, then wrote the new report over it, exit 0: the guard
    against overlapping reports lost its record."""
    queue.close()
    monkeypatch.setenv("RISKSCORE_REPORT_KEY", SYNTHETIC_DEMO_KEY)
    out = tmp_path / "report"
    argv = ["report", "--db", str(tmp_path / "q.sqlite"), "--out", str(out), "--no-charts"]
    assert main([*argv, "--start", "2026-01-01", "--end", "2026-01-02"]) == 0
    first = (out / "report.json").read_text()
    again = [*argv, "--start", "2026-01-02", "--end", "2026-01-03"]
    assert main([*again, "--published", str(out / "report.json")]) == 2
    assert (out / "report.json").read_text() == first
