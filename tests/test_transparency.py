"""Transparency report on a synthetic month: counts add up, charts render, ids pseudonymised."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

import riskscore as rs
from riskscore._words import plural
from riskscore.cli import main
from riskscore.model.drift import period_drift
from riskscore.moderation import ReviewQueue, UserReport
from riskscore.moderation.simulation import (
    ModeratorModel,
    SimulatedMonth,
    simulate_moderation,
    simulate_month,
)
from riskscore.moderation.transparency import (
    SYNTHETIC_DEMO_KEY,
    pseudonymise,
    transparency_report,
)
from riskscore.moderation.transparency_render import render_markdown
from riskscore.policy import Alert, Tier
from riskscore.synthetic import STRESS_WORLDS

KEY = b"test-key-not-secret-0123456789-ABCDEF"
T0 = 1_767_225_600


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> SimulatedMonth:
    path = tmp_path_factory.mktemp("month") / "queue.sqlite"
    return simulate_month(path, n_conversations=2000, prevalence=0.03, days=10, seed=5)


@pytest.fixture(scope="module")
def report(month: SimulatedMonth) -> rs.TransparencyReport:
    with ReviewQueue(month.queue_path) as q:
        # exact figures (min_cell=0): these tests check the arithmetic; tests/test_disclosure.py
        # checks what a published report withholds
        return transparency_report(q, month.period, key=KEY, platform="test", min_cell=0)


def test_counts_add_up(report: rs.TransparencyReport, month: SimulatedMonth) -> None:
    d = report.to_dict()
    assert d["alerts_raised"] > 0
    assert d["user_reports"] == month.user_reports > 0
    assert d["alerts_raised"] == d["actioned"] + d["dismissed"] + d["escalated"] + d["open"]
    assert d["user_reports"] == sum(d["user_report_outcomes"].values())
    assert sum(v["alerts"] for v in d["by_tier"].values()) == d["alerts_raised"]
    for key in ("by_age_band", "by_channel"):
        assert sum(v["alerts"] for v in d[key].values()) == d["alerts_raised"]
        assert sum(v["user_reports"] for v in d[key].values()) == d["user_reports"]
    a = d["automated_detection"]
    assert a["decided"] == d["actioned"] + d["dismissed"] + d["escalated"]
    assert a["precision"] == pytest.approx(a["confirmed"] / a["decided"], abs=1e-4)
    assert a["precision_ci95"][0] <= a["precision"] <= a["precision_ci95"][1]
    # the scorer's second alert on an open conversation is folded into its item
    assert d["alerts_raised"] <= month.alert_signals


def test_times_are_ordered(report: rs.TransparencyReport) -> None:
    review = report.data["time_to_first_review_hours"]["all"]
    decision = report.data["time_to_decision_hours"]["all"]
    assert 0 <= review["median"] <= review["p90"]
    assert 0 <= decision["median"] <= decision["p90"]
    assert review["median"] <= decision["median"]


def test_simulated_moderators_take_child_reports_first(tmp_path: Path) -> None:
    # overnight arrivals, one moderator from 08:00 UTC: the child's report is reviewed first
    night = T0 + 2 * 3600
    arrivals = [
        (night, 0, Alert(1, "a", "c", 9.0, "under 13", 0.95, Tier.URGENT), "external"),
        (night + 60, 1, UserReport(2, "kid", "b", 14.0, night + 60, "direct"), None),
    ]
    with ReviewQueue(tmp_path / "q.sqlite", simulation=True) as q:
        n = simulate_moderation(
            q,
            arrivals,
            {1: True, 2: True},
            period=(T0, T0 + 86_400),
            moderators=ModeratorModel(n_moderators=1, defer_rate=0.0),
            seed=0,
        )
        assert n == 2
        first = {i.adult_id: i.first_reviewed_at for i in q.items()}
    assert first["b"] == T0 + 8 * 3600
    assert first["a"] is not None
    assert first["a"] > first["b"]


def test_written_files_and_charts_render(
    report: rs.TransparencyReport, month: SimulatedMonth, tmp_path: Path
) -> None:
    import matplotlib.image as mpimg

    files = report.write(tmp_path / "out")
    assert set(files) >= {"report.json", "report.md", "report.html", "volume.png", "outcomes.png"}
    on_disk = json.loads((tmp_path / "out" / "report.json").read_text())
    for key in ("alerts_raised", "user_reports", "actioned", "dismissed", "escalated", "open"):
        assert isinstance(on_disk[key], int)
    markdown = (tmp_path / "out" / "report.md").read_text()
    for name in [n for n in files if n.endswith(".png")]:
        image = mpimg.imread(files[name])
        assert image.shape[0] > 100
        assert image.shape[1] > 100
        assert image[..., :3].std() > 0.01  # not blank
        assert f"({name})" in markdown
    assert f"**Alerts raised** by automated detection: {report.alerts_raised}" in markdown


def test_no_raw_ids_in_published_files(month: SimulatedMonth, tmp_path: Path) -> None:
    with ReviewQueue(month.queue_path) as q:
        items = q.items()
        report = transparency_report(q, month.period, key=KEY, max_listed_cases=1000)
    report.write(tmp_path, charts=False)
    listed = report.data["cases"]["escalated_multi_child_cases"]
    published = (tmp_path / "report.json").read_text() + (tmp_path / "report.md").read_text()
    adults = {i.adult_id for i in items}
    for case in listed:
        assert case["case"].startswith("p_")
        assert case["case"] in {pseudonymise(a, KEY) for a in adults}
    assert KEY.decode() not in published
    for raw in adults:
        assert f'"{raw}"' not in published


def test_pseudonyms_depend_on_key() -> None:
    assert pseudonymise(7, KEY) != pseudonymise(7, SYNTHETIC_DEMO_KEY)
    assert pseudonymise(7, KEY) == pseudonymise(7, KEY.decode())  # text is its UTF-8 bytes
    with pytest.raises(ValueError, match="at least 32 bytes"):
        pseudonymise(7, b"short")


def test_status_counted_as_of_period_end(tmp_path: Path) -> None:
    with ReviewQueue(tmp_path / "q.sqlite", simulation=True) as q:
        q.add_alert(Alert(1, "a", "c", 12.0, "under 13", 0.7, Tier.URGENT), at=T0)
        q.add_alert(Alert(2, "b", "d", 14.0, "13-15", 0.3, Tier.REVIEW), at=T0 + 50)
        q.add_report(UserReport(3, "e", "f", 11.0, T0 + 60, channel="direct"))
        q.add_alert(Alert(9, "z", "y", 12.0, "under 13", 0.7, Tier.URGENT), at=T0 + 10_000)
        q.decide(
            "a",
            "escalated to law enforcement",
            moderator="m",
            at=T0 + 3600,
            token=q.case("a", now=T0 + 3600).token,
        )
        q.decide(
            "b", "dismissed", moderator="m", at=T0 + 2000, token=q.case("b", now=T0 + 2000).token
        )
        d = transparency_report(q, (T0, T0 + 1000), key=KEY, min_cell=0).data
        assert (d["alerts_raised"], d["user_reports"]) == (2, 1)  # alert 9 is outside
        assert (d["escalated"], d["dismissed"], d["open"]) == (0, 0, 2)  # decided later
        d = transparency_report(q, (T0, T0 + 5000), key=KEY, min_cell=0).data
        assert (d["escalated"], d["dismissed"], d["open"]) == (1, 1, 0)
        assert d["time_to_decision_hours"]["automated_detection"]["median"] == pytest.approx(
            (3600 + 1950) / 2 / 3600, abs=0.01
        )
        assert d["user_reports_from_children"] == 1
        assert d["by_channel"]["direct"] == {"alerts": 0, "user_reports": 1}
        with pytest.raises(ValueError, match="before its end"):
            transparency_report(q, (T0, T0), key=KEY)


def test_moderator_model_validates() -> None:
    with pytest.raises(ValueError, match="sensitivity"):
        ModeratorModel(sensitivity=1.5)


def test_cli_report_and_queue(
    month: SimulatedMonth,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db = str(month.queue_path)
    start, end = (str(t) for t in month.period)
    args = ["report", "--db", db, "--out", str(tmp_path / "r"), "--start", start, "--end", end]
    monkeypatch.delenv("RISKSCORE_REPORT_KEY", raising=False)
    assert main(args) == 2
    assert "RISKSCORE_REPORT_KEY" in capsys.readouterr().err
    monkeypatch.setenv("RISKSCORE_REPORT_KEY", SYNTHETIC_DEMO_KEY)
    assert main([*args, "--no-charts", "--json", "--min-cell", "0"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (
        out["alerts_raised"] == out["actioned"] + out["dismissed"] + out["escalated"] + out["open"]
    )
    on_disk = json.loads((tmp_path / "r" / "report.json").read_text())
    assert on_disk["alerts_raised"] == out["alerts_raised"]

    assert main(["queue", "--db", db, "--now", end, "--top", "2"]) == 0
    shown = capsys.readouterr().out
    assert "open cases" in shown
    assert main(["queue", "--db", db, "--now", end, "--json"]) == 0
    state = json.loads(capsys.readouterr().out)
    if state["top"]:
        adult = state["top"][0]["adult_id"]
        token = ["--token", state["top"][0]["token"]]
        decide = [
            "--decide",
            json.dumps(adult),
            *token,
            "--outcome",
            "actioned",
            "--moderator",
            "t",
        ]
        assert main(["queue", "--db", db, "--now", end, *decide, "--json"]) == 0
        after = json.loads(capsys.readouterr().out)
        assert after["decided"]["items"] >= 1
        assert after["open_cases"] == state["open_cases"] - 1
    assert main(["queue", "--db", str(tmp_path / "none.sqlite")]) == 2


def test_simulated_month_bands_user_reports_with_its_policy(tmp_path: Path) -> None:
    policy = rs.AlertPolicy(
        bands=(
            rs.AgeBand("minor", 0.0, 18.0, review=0.2, urgent=0.5),
            rs.AgeBand("adult", 18.0, float("inf"), review=0.6, urgent=0.9),
        ),
        unknown=rs.AgeBand("not declared", 0.0, float("inf"), review=0.2, urgent=0.5),
    )
    month = simulate_month(
        tmp_path / "q.sqlite", n_conversations=500, prevalence=0.05, days=5, seed=5, policy=policy
    )
    with ReviewQueue(month.queue_path) as q:
        reports = [i for i in q.items() if i.kind == "user_report"]
    assert reports
    assert {i.age_band for i in reports} <= {"minor", "adult", "not declared"}


@pytest.mark.parametrize(
    ("key", "what"),
    [
        ("aaaaaaaa", "8 bytes"),
        ("synthetic-demo-key", "18 bytes"),
        ("a" * 40, "distinct byte values"),
        ("abcdefgh" * 5, "pattern repeated"),
        ("0123456789abcdef0123456789abcdef", "pattern repeated"),
    ],
)
def test_every_hmac_key_is_refused_by_the_one_rule_saying_why(
    key: str, what: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from riskscore.keys import check_key
    from riskscore.regulatory import statements_of_reasons
    from riskscore.regulatory.export import export_all

    with pytest.raises(ValueError, match=what):
        check_key(key)
    assert check_key(SYNTHETIC_DEMO_KEY) == SYNTHETIC_DEMO_KEY.encode()
    with ReviewQueue(tmp_path / "q.sqlite") as q:
        # the library functions, as text or bytes: pseudonymise accepted 8 bytes before
        for given in (key, key.encode()):
            for call in (
                lambda k: pseudonymise(7, k),
                lambda k: transparency_report(q, (0, 10), key=k),
                lambda k: statements_of_reasons([], key=k),
                lambda k: export_all(q, tmp_path / "export", key=k),
            ):
                with pytest.raises(ValueError, match=what):
                    call(given)
    assert not (tmp_path / "export").exists()
    monkeypatch.setenv("RISKSCORE_REPORT_KEY", key)
    for cmd in ("report", "export"):
        assert main([cmd, "--db", str(tmp_path / "q.sqlite"), "--out", str(tmp_path / cmd)]) == 2


def test_a_key_of_another_type_is_refused_naming_the_type() -> None:
    with pytest.raises(ValueError, match="must be bytes or text, got int"):
        pseudonymise(7, 12345678901234567890123456789012345)  # type: ignore[arg-type]


# ---------------------------------------------------------------- simulated figures


def _decide_one(q: ReviewQueue, adult: str, *, at: int | None = None) -> None:
    case = q.case(adult, now=at)
    assert case is not None
    q.decide(adult, "actioned", moderator="mod-1", token=case.token, at=at)


def test_report_of_a_simulated_queue_says_so_wherever_times_appear(
    report: rs.TransparencyReport, tmp_path: Path
) -> None:
    d = report.to_dict()
    assert d["simulated"] is True
    assert d["simulation"]["simulated_queue"] is True
    assert d["simulation"]["decision_times"] == "simulated"
    assert d["simulation"]["items_with_clock_times"] == 0
    for key in ("time_to_first_review_hours", "time_to_decision_hours"):
        for t in d[key].values():
            assert t["n_simulated"] == t["n"]
    files = report.write(tmp_path)
    markdown = (tmp_path / "report.md").read_text()
    html = (tmp_path / "report.html").read_text()
    assert markdown.count("SIMULATED") >= 3  # banner, time table, precision table
    assert "> **SIMULATED:** decisions and their times were set by a simulation" in markdown
    assert "## Time to first review and to decision (hours) (simulated)" in markdown
    assert "![time to decision (simulated)](time_to_decision.png)" in markdown
    assert "<b>SIMULATED:</b>" in html
    assert "alt='time to decision (simulated)'" in html
    assert "time_to_decision.png" in files


def test_report_of_real_decisions_is_not_marked(tmp_path: Path) -> None:
    now = int(time.time())
    with ReviewQueue(tmp_path / "q.sqlite") as q:
        assert not q.simulated
        q.add_alert(Alert(1, "a", "c", 12.0, "under 13", 0.7, Tier.URGENT), at=now - 600)
        _decide_one(q, "a")
        assert q.simulated_items() == frozenset()
        report = transparency_report(q, (now - 3600, now + 3600), key=KEY, min_cell=0)
    d = report.to_dict()
    assert d["simulated"] is False
    assert d["simulation"]["decision_times"] == "measured"
    assert d["time_to_decision_hours"]["all"] == {
        "n": 1,
        "n_simulated": 0,
        "median": d["time_to_decision_hours"]["all"]["median"],
        "p90": d["time_to_decision_hours"]["all"]["p90"],
    }
    report.write(tmp_path / "out")
    for name in ("report.md", "report.html"):
        assert "SIMULATED" not in (tmp_path / "out" / name).read_text()


def test_a_queue_mixing_simulated_and_real_decisions_is_marked_as_mixed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    now = int(time.time())
    path = tmp_path / "q.sqlite"
    with ReviewQueue(path, simulation=True) as q:
        q.add_alert(Alert(1, "a", "c", 12.0, "under 13", 0.7, Tier.URGENT), at=now - 7200)
        q.add_alert(Alert(2, "b", "d", 14.0, "13-15", 0.4, Tier.REVIEW), at=now - 7200)
        _decide_one(q, "a", at=now - 7000)  # a simulated decision time
        simulated_id = q.items()[0].item_id
    with ReviewQueue(path) as q:  # the same file, now decided by the clock
        assert q.simulated  # the file remembers it was created for a simulation
        _decide_one(q, "b")
        assert q.simulated_items() == frozenset({simulated_id})
        d = transparency_report(q, (now - 86_400, now + 3600), key=KEY, min_cell=0).to_dict()
    assert d["simulated"] is True
    sim = d["simulation"]
    assert (sim["decision_times"], sim["items_with_simulated_times"]) == ("mixed", 1)
    assert sim["items_with_clock_times"] == 1
    assert d["time_to_decision_hours"]["all"]["n"] == 2
    assert d["time_to_decision_hours"]["all"]["n_simulated"] == 1
    markdown = rs.TransparencyReport(0, 1, d).to_markdown()
    assert "> **PARTLY SIMULATED:** 1 of 2 reviewed or decided items" in markdown
    assert "(partly simulated)" in markdown
    monkeypatch.setenv("RISKSCORE_REPORT_KEY", SYNTHETIC_DEMO_KEY)
    args = ["--start", str(now - 86_400), "--end", str(now + 3600), "--no-charts", "--min-cell=0"]
    assert main(["report", "--db", str(path), "--out", str(tmp_path / "r"), *args]) == 0
    printed = capsys.readouterr().out
    assert "PARTLY SIMULATED: 1 of 2" in printed
    assert "time to decision: median " in printed
    assert "(1 of 2 simulated)" in printed


def test_exports_of_simulated_decisions_say_so(
    month: SimulatedMonth,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RISKSCORE_REPORT_KEY", SYNTHETIC_DEMO_KEY)
    out = tmp_path / "x"
    assert main(["export", "--db", str(month.queue_path), "--out", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["simulated_decisions"] > 0
    notices = (out / "eu-2024-2835" / "04_notices.csv").read_text()
    assert "SIMULATED:" in notices
    assert main(["export", "--db", str(month.queue_path), "--out", str(tmp_path / "y")]) == 0
    assert "SIMULATED:" in capsys.readouterr().out


# ---------------------------------------------------------------- drift section


def test_the_drift_section_reports_the_periods_shifts_and_flags(
    month: SimulatedMonth, tmp_path: Path
) -> None:
    model = rs.load_model()
    # A month as long as the reference world's conversations: the fixture's 10 days cut
    # conversations short, and the span (an input since December 2026) then drifts, as it
    # would for a platform that scores a shorter window than its conversations last.
    month30 = simulate_month(
        tmp_path / "month30.sqlite", n_conversations=2000, prevalence=0.03, days=30, seed=5
    )
    same = period_drift(model, month30.messages, month30.period)
    short = period_drift(model, month.messages, month.period)
    assert short.drifted
    assert max(short.shifts, key=lambda shift: shift.psi).name == "span_hours"
    other = rs.synthetic.generate(
        2000, prevalence=0.03, seed=5, world=STRESS_WORLDS["unknown_ages"]
    )
    moved = period_drift(model, other.messages, (0, 2**40))
    assert not same.drifted
    assert moved.drifted
    with ReviewQueue(month.queue_path) as q:
        plain = transparency_report(q, month.period, key=KEY)
        stable = transparency_report(q, month.period, key=KEY, drift=same)
        flagged = transparency_report(q, month.period, key=KEY, drift=moved)
    assert plain.data["drift"] is None
    assert stable.data["drift"] == same.to_dict()
    assert stable.data["drift"]["model_parameters_sha256"] == model.parameters_sha256()
    assert stable.data["drift"]["n_current"] == 2000
    # the rest of the report does not depend on the drift section
    assert {k: v for k, v in stable.data.items() if k != "drift"} == {
        k: v for k, v in plain.data.items() if k != "drift"
    }
    assert "Drift" not in plain.to_markdown()
    text = stable.to_markdown()
    assert "- **Model drift**: No major shift this period." in text
    assert "## Drift of the model's inputs and score" in text
    assert "| risk |" in text
    flagged.write(tmp_path, charts=False)
    markdown = (tmp_path / "report.md").read_text()
    html = (tmp_path / "report.html").read_text()
    names = [s.name for s in moved.flagged]
    assert f"Drift flagged: {plural(len(names), 'major shift')} ({', '.join(names)})" in markdown
    assert "Drift flagged" in html
    assert "<h2>Drift of the model&#x27;s inputs and score</h2>" in html
    on_disk = json.loads((tmp_path / "report.json").read_text())
    assert on_disk["drift"]["drifted"] is True


def test_cli_report_drift_from_the_periods_events(
    month: SimulatedMonth,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RISKSCORE_REPORT_KEY", SYNTHETIC_DEMO_KEY)
    other = rs.synthetic.generate(
        2000, prevalence=0.03, seed=5, days=10, world=STRESS_WORLDS["unknown_ages"]
    )
    events = rs.write_messages(other.messages, tmp_path / "events.parquet")
    start, end = (str(t) for t in month.period)
    args = ["report", "--db", str(month.queue_path), "--start", start, "--end", end]
    out = tmp_path / "r"
    assert main([*args, "--out", str(out), "--no-charts", "--events", str(events), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["drift"]["drifted"] is True
    assert set(result["drift"]["major"]) & {"child_age", "adult_age", "age_gap"}
    assert json.loads((out / "report.json").read_text())["drift"]["n_current"] == 2000
    assert main([*args, "--out", str(out), "--model", str(tmp_path)]) == 2
    assert "give --events" in capsys.readouterr().err
    bad = ["--synthetic-month", "--events", str(events)]
    assert main(["report", "--db", str(tmp_path / "q.sqlite"), "--out", str(out), *bad]) == 2
    assert "give no --events" in capsys.readouterr().err
    early = ["--start", "2000-01-01", "--end", "2000-01-02"]  # a period without the events
    args = ["report", "--db", str(month.queue_path), "--out", str(out), "--events", str(events)]
    assert main([*args, *early]) == 2
    assert "no event in the period" in capsys.readouterr().err


def test_a_band_name_with_a_pipe_keeps_its_markdown_table_row_whole(
    report: rs.TransparencyReport,
) -> None:
    # Band names are any printable text (a policy file's own labels): "|" split the row
    data = report.to_dict()
    band, counts = next(iter(data["by_age_band"].items()))
    data["by_age_band"] = {f"{band} | pilot": counts}
    markdown = render_markdown(data, [])
    row = next(line for line in markdown.splitlines() if "pilot" in line)
    assert re.split(r"(?<!\\)\|", row)[1:-1] == [
        f" {band} \\| pilot ",
        f" {counts['alerts']} ",
        f" {counts['user_reports']} ",
    ]
