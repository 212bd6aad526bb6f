"""Disclosure control of the transparency report: no small count published, none recoverable.

Was: a published report listed every count exactly; for a small platform or a short period a
breakdown held cells of 1 ("one alert, under 13, external channel, actioned"), which can point
to one child. The adversary here reads only the published report.json, writes every equation
a reader can (rows and columns add up to the published totals, decided = actioned + dismissed
+ escalated, a published ratio as if it gave away its numerator and denominator) and solves
for each withheld count by integer programming.
"""

from __future__ import annotations

import importlib.util
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp

import riskscore as rs
from riskscore.cli import main
from riskscore.moderation import ReviewQueue, UserReport
from riskscore.moderation.disclosure import CountTables, determined, withheld
from riskscore.moderation.transparency import SYNTHETIC_DEMO_KEY, transparency_report
from riskscore.policy import Alert, Tier

T0 = 1_767_225_600
PERIOD = (T0, T0 + 30 * 86_400)
OUTCOMES = ("actioned", "dismissed", "escalated", "open")
DECIDED = ("actioned", "dismissed", "escalated")
CONFIRMED = ("actioned", "escalated")
# the default policy's bands below 18: a reader knows them from the published policy
CHILD_BANDS = ("under 13", "13-15", "16-17")


def _small_platform(path: Path) -> Path:
    """A month of a small platform: one alert under 13 on the external channel, actioned."""
    groups = [  # (n, band, age, channel, tier, outcome)
        (14, "13-15", 14.0, "direct", Tier.REVIEW, "actioned"),
        (2, "13-15", 14.0, "direct", Tier.REVIEW, None),
        (1, "under 13", 11.0, "external", Tier.URGENT, "actioned"),
        (11, "16-17", 16.0, "group", Tier.URGENT, "dismissed"),
        (3, "16-17", 17.0, "encrypted", Tier.URGENT, "escalated"),
    ]
    with ReviewQueue(path, simulation=True) as q:
        k = 0
        for n, band, age, channel, tier, outcome in groups:
            for _ in range(n):
                k += 1
                at = T0 + 3600 * k
                alert = Alert(k, f"adult-{k}", f"child-{k}", age, band, 0.9, tier)
                q.add_alert(alert, channel=channel, at=at)
                if outcome is not None:
                    token = q.case(f"adult-{k}", now=at + 600).token
                    q.decide(f"adult-{k}", outcome, moderator="m", at=at + 600, token=token)
        for j in range(12):  # reports from 14-year-olds, dismissed
            k += 1
            at = T0 + 3600 * k
            q.add_report(UserReport(k, f"kid-{k}", f"adult-{k}", 14.0, at, "direct"))
            token = q.case(f"adult-{k}", now=at + 60).token
            outcome = "actioned" if j < 2 else "dismissed"
            q.decide(f"adult-{k}", outcome, moderator="m", at=at + 60, token=token)
        k += 1  # one from an adult, open
        q.add_report(UserReport(k, "parent", f"adult-{k}", 40.0, T0 + 3600 * k, "public"))
    return path


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _small_platform(tmp_path_factory.mktemp("small") / "q.sqlite")


def _report(db: Path, **kwargs: Any) -> rs.TransparencyReport:
    with ReviewQueue(db) as q:
        return transparency_report(q, PERIOD, key=SYNTHETIC_DEMO_KEY, **kwargs)


def _cells(d: dict[str, Any]) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every breakdown count of a published report, by path (headline totals left out)."""
    for o in OUTCOMES:
        yield (o,), d[o]
        yield ("user_report_outcomes", o), d["user_report_outcomes"][o]
    yield ("user_reports_from_children",), d["user_reports_from_children"]
    yield ("automated_detection", "confirmed"), d["automated_detection"]["confirmed"]
    for table in ("by_tier", "by_age_band", "by_channel"):
        for name, row in d[table].items():
            for col, value in row.items():
                yield (table, name, col), value


def _equations(d: dict[str, Any], truth: dict[str, Any]) -> list[tuple[dict[str, int], int]]:
    """What a reader of ``d`` can write: {cell: coefficient} == constant. A published ratio
    is taken to give away both of its counts (their values from ``truth``)."""
    eq: list[tuple[dict[str, int], int]] = []

    def add(total: str, parts: list[str]) -> None:
        eq.append(({**dict.fromkeys(parts, 1), total: -1}, 0))

    ad = "automated_detection"
    add("alerts_raised", list(OUTCOMES))
    add("user_reports", [f"user_report_outcomes/{o}" for o in OUTCOMES])
    for total, kind in (("alerts_raised", "alerts"), ("user_reports", "user_reports")):
        add(total, [f"received_in_period/{dated}/{kind}" for dated in d["received_in_period"]])
    add(f"{ad}/decided", list(DECIDED))
    add(f"{ad}/confirmed", list(CONFIRMED))
    for t in d["by_tier"]:
        add(f"by_tier/{t}/alerts", [f"by_tier/{t}/{o}" for o in OUTCOMES])
        if d[ad]["precision_by_tier"][t] is not None:
            for parts in (CONFIRMED, DECIDED):
                count = sum(truth["by_tier"][t][o] for o in parts)
                eq.append((dict.fromkeys((f"by_tier/{t}/{o}" for o in parts), 1), count))
    add("alerts_raised", [f"by_tier/{t}/alerts" for t in d["by_tier"]])
    for o in OUTCOMES:
        add(o, [f"by_tier/{t}/{o}" for t in d["by_tier"]])
    for table in ("by_age_band", "by_channel"):
        add("alerts_raised", [f"{table}/{n}/alerts" for n in d[table]])
        add("user_reports", [f"{table}/{n}/user_reports" for n in d[table]])
    children = [f"by_age_band/{b}/user_reports" for b in CHILD_BANDS if b in d["by_age_band"]]
    add("user_reports_from_children", children)
    if d[ad]["share_of_actions"] is not None:
        parts = dict.fromkeys((f"user_report_outcomes/{o}" for o in CONFIRMED), 1)
        eq.append((parts, sum(truth["user_report_outcomes"][o] for o in CONFIRMED)))
    for key in ("time_to_first_review_hours", "time_to_decision_hours"):
        add(f"{key}/all/n", [f"{key}/automated_detection/n", f"{key}/user_reports/n"])
    add("time_to_decision_hours/automated_detection/n", list(DECIDED))
    add("time_to_decision_hours/user_reports/n", [f"user_report_outcomes/{o}" for o in DECIDED])
    return eq


def _value(d: dict[str, Any], name: str) -> Any:
    for key in name.split("/"):
        d = d[key]
    return d


def recoverable(published: dict[str, Any], truth: dict[str, Any]) -> dict[str, int]:
    """Withheld counts of ``published`` that its equations fix, with the value they take."""
    eqs = _equations(published, truth)
    names = sorted({n for coeffs, _ in eqs for n in coeffs if _value(published, n) is None})
    index = {n: k for k, n in enumerate(names)}
    a = np.zeros((len(eqs), len(names)))
    b = np.zeros(len(eqs))
    for row, (coeffs, constant) in enumerate(eqs):
        b[row] = constant
        for n, c in coeffs.items():
            v = _value(published, n)
            if v is None:
                a[row, index[n]] += c
            else:
                b[row] -= c * v
    keep = a.any(axis=1)
    assert np.allclose(b[~keep], 0)  # the published figures agree with each other
    constraint = LinearConstraint(a[keep], b[keep], b[keep])
    found = {}
    for n in names:
        c = np.zeros(len(names))
        c[index[n]] = 1
        lo, hi = (
            milp(s * c, integrality=np.ones(len(names)), bounds=Bounds(1, np.inf),
                 constraints=constraint)
            for s in (1, -1)
        )  # fmt: skip
        assert lo.status in (0, 3)  # solved, or unbounded above
        if lo.status == hi.status == 0 and round(lo.fun) == round(-hi.fun):
            found[n] = round(lo.fun)
    return found


def test_a_cell_of_one_is_never_published(small: Path, tmp_path: Path) -> None:
    exact = _report(small, min_cell=0).data
    assert exact["by_age_band"]["under 13"]["alerts"] == 1  # the child the report must hide
    assert exact["by_channel"]["external"]["alerts"] == 1
    report = _report(small)
    d = report.to_dict()
    for path, value in _cells(d):
        assert value is None or value == 0 or value >= 10, path
    assert d["by_age_band"]["under 13"]["alerts"] is None
    assert ["by_age_band", "under 13", "alerts"] in d["disclosure_control"]["suppressed"]
    report.write(tmp_path, charts=False)
    markdown = (tmp_path / "report.md").read_text()
    html = (tmp_path / "report.html").read_text()
    assert "| under 13 | \\[c\\] |" in markdown  # [c], escaped: a bracket may start a link
    assert "<td>under 13</td><td>[c]</td>" in html
    on_disk = json.loads((tmp_path / "report.json").read_text())
    assert on_disk == d


def test_a_withheld_cell_cannot_be_recovered_from_the_published_figures(small: Path) -> None:
    truth = _report(small, min_cell=0).data
    published = _report(small).data
    assert published["disclosure_control"]["suppressed"]
    assert recoverable(published, truth) == {}
    # the adversary is not toothless: primary suppression alone gives cells away
    primary = json.loads(json.dumps(truth))
    for path, value in _cells(truth):
        if 0 < value < 10:
            parent = primary
            for key in path[:-1]:
                parent = parent[key]
            parent[path[-1]] = None
    assert recoverable(primary, truth).get("by_age_band/under 13/alerts") == 1


def test_zeros_are_published(small: Path) -> None:
    d = _report(small).data
    assert d["by_age_band"]["under 13"]["user_reports"] == 0
    assert d["by_tier"]["review"]["escalated"] == 0
    assert d["by_tier"]["review"]["dismissed"] == 0
    suppressed = d["disclosure_control"]["suppressed"]
    assert ["by_tier", "review", "escalated"] not in suppressed


@pytest.mark.parametrize("min_cell", [0, 1])
def test_threshold_0_or_1_publishes_the_exact_figures(small: Path, min_cell: int) -> None:
    d = _report(small, min_cell=min_cell).data
    control = d.pop("disclosure_control")
    assert (control["min_cell"], control["suppressed"]) == (min_cell, [])
    with ReviewQueue(small) as q:
        items = q.items()
    alerts = [i for i in items if i.kind == "alert"]
    assert d["alerts_raised"] == len(alerts) == 31
    assert d["by_age_band"]["under 13"] == {"alerts": 1, "user_reports": 0}
    assert d["by_channel"]["external"] == {"alerts": 1, "user_reports": 0}
    assert d["user_report_outcomes"] == {"actioned": 2, "dismissed": 10, "escalated": 0, "open": 1}
    assert d["automated_detection"]["precision"] == round(18 / 29, 4)
    for _, value in _cells(d):
        assert isinstance(value, int)


def test_the_threshold_is_stated_in_every_output(small: Path, tmp_path: Path) -> None:
    for min_cell, words in ((10, "counts from 1 to 9 are withheld"), (0, "exact figures")):
        out = tmp_path / str(min_cell)
        _report(small, min_cell=min_cell).write(out, charts=False)
        on_disk = json.loads((out / "report.json").read_text())
        assert on_disk["disclosure_control"]["min_cell"] == min_cell
        for name in ("report.md", "report.html"):
            text = (out / name).read_text()
            assert "Disclosure control" in text
            assert words in text, name


@pytest.mark.parametrize("bad", [-1, 2.5, True, "10"])
def test_a_threshold_that_is_no_count_is_refused(small: Path, bad: Any) -> None:
    with pytest.raises(ValueError, match="min_cell must be a whole number >= 0"):
        _report(small, min_cell=bad)


def test_charts_draw_only_published_figures(small: Path, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    files = _report(small).write(tmp_path)
    assert {"volume.png", "outcomes.png", "time_to_decision.png"} <= set(files)


def test_a_report_of_two_alerts_withholds_its_total_and_still_renders(tmp_path: Path) -> None:
    # one alert per tier: "2 alerts raised" and "review 0" would give both away
    with ReviewQueue(tmp_path / "q.sqlite", simulation=True) as q:
        for k, tier in ((1, Tier.REVIEW), (2, Tier.URGENT)):
            q.add_alert(Alert(k, f"a{k}", f"c{k}", 12.0, "under 13", 0.9, tier), at=T0 + k)
    report = _report(tmp_path / "q.sqlite")
    d = report.to_dict()
    assert report.alerts_raised is None
    assert ["alerts_raised"] in d["disclosure_control"]["suppressed"]
    truth = _report(tmp_path / "q.sqlite", min_cell=0).data
    assert truth["alerts_raised"] == 2
    assert recoverable(d, truth) == {}
    if importlib.util.find_spec("matplotlib") is not None:
        assert "outcomes.png" in report.write(tmp_path / "r")
    assert "Alerts raised** by automated detection: \\[c\\]" in report.to_markdown()


def test_cli_withholds_by_default_and_takes_min_cell(
    small: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RISKSCORE_REPORT_KEY", SYNTHETIC_DEMO_KEY)
    period = ["--start", str(PERIOD[0]), "--end", str(PERIOD[1]), "--no-charts", "--json"]
    base = ["report", "--db", str(small), *period]
    assert main([*base, "--out", str(tmp_path / "a")]) == 0
    capsys.readouterr()
    published = json.loads((tmp_path / "a" / "report.json").read_text())
    assert published["disclosure_control"]["min_cell"] == 10
    assert published["by_age_band"]["under 13"]["alerts"] is None
    assert main([*base, "--out", str(tmp_path / "b"), "--min-cell", "0"]) == 0
    exact = json.loads((tmp_path / "b" / "report.json").read_text())
    assert exact["by_age_band"]["under 13"]["alerts"] == 1
    with pytest.raises(SystemExit) as refused:
        main([*base, "--out", str(tmp_path / "c"), "--min-cell=-1"])
    assert refused.value.code == 2
    assert "error: argument --min-cell: '-1' is not a whole number" in capsys.readouterr().err


def test_synthetic_month_end_to_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RISKSCORE_REPORT_KEY", SYNTHETIC_DEMO_KEY)
    argv = ["report", "--synthetic-month", "--conversations", "2000", "--no-charts", "--json"]
    started = time.perf_counter()
    assert main([*argv, "--db", str(tmp_path / "q.sqlite"), "--out", str(tmp_path / "r")]) == 0
    assert time.perf_counter() - started < 120
    printed = json.loads(capsys.readouterr().out)
    d = json.loads((tmp_path / "r" / "report.json").read_text())
    assert d["disclosure_control"]["min_cell"] == 10
    assert printed["alerts_raised"] == d["alerts_raised"]
    for path, value in _cells(d):
        assert value is None or value == 0 or value >= 10, path
    with ReviewQueue(tmp_path / "q.sqlite") as q:
        truth = transparency_report(q, _period(d), key=SYNTHETIC_DEMO_KEY, min_cell=0).data
    assert recoverable(d, truth) == {}


def _period(d: dict[str, Any]) -> tuple[int, int]:
    return d["period"]["start_epoch"], d["period"]["end_epoch"]


# ------------------------------------------------------------ the rule on any table


@st.composite
def _tables(draw: st.DrawFn) -> CountTables:
    """A table of 2-4 rows and 2-4 columns with row, column and grand totals."""
    n_rows, n_cols = draw(st.integers(2, 4)), draw(st.integers(2, 4))
    cells = {
        (f"r{i}", f"c{j}"): draw(st.sampled_from([0, 1, 2, 3, 5, 9, 10, 11, 12, 20, 40]))
        for i in range(n_rows)
        for j in range(n_cols)
    }
    values: dict[tuple[str, ...], int] = dict(cells)
    sums = []
    for i in range(n_rows):
        parts = tuple((f"r{i}", f"c{j}") for j in range(n_cols))
        values[(f"r{i}",)] = sum(cells[p] for p in parts)
        sums.append(((f"r{i}",), parts))
    for j in range(n_cols):
        parts = tuple((f"r{i}", f"c{j}") for i in range(n_rows))
        values[(f"c{j}",)] = sum(cells[p] for p in parts)
        sums.append(((f"c{j}",), parts))
    values[("all",)] = sum(cells.values())
    sums.append((("all",), tuple((f"r{i}",) for i in range(n_rows))))
    sums.append((("all",), tuple((f"c{j}",) for j in range(n_cols))))
    return CountTables(values, tuple(sums), headline=frozenset({("all",)}))


def _brute_force_determined(t: CountTables, hidden: frozenset[tuple[str, ...]]) -> set[Any]:
    """Withheld inner cells with one value over every assignment the margins allow."""
    inner = sorted(p for p in hidden if len(p) == 2)
    if len(inner) > 7:
        return set()  # too many to enumerate; the integer-programming check covers them
    possible: dict[Any, set[int]] = {p: set() for p in inner}
    grand = t.values[("all",)]

    def margins_ok(guess: dict[Any, int]) -> bool:
        for total, parts in t.sums:
            if total in hidden or any(p in hidden and p not in guess for p in parts):
                continue
            if sum(guess.get(p, t.values[p]) for p in parts) != t.values[total]:
                return False
        return True

    def could_hold(guess: dict[Any, int]) -> bool:
        """No published sum is already exceeded by the parts guessed or shown so far: the
        search leaves a branch that no completion can fit (the complete assignments it
        finds are the same; unpruned, a draw of 7 cells under a total of 30 walked 30**7)."""
        for total, parts in t.sums:
            if total in hidden:
                continue
            known = sum(guess.get(p, 0 if p in hidden else t.values[p]) for p in parts)
            if known > t.values[total]:
                return False
        return True

    def walk(k: int, guess: dict[Any, int]) -> None:
        if k == len(inner):
            if margins_ok(guess):
                for p, v in guess.items():
                    possible[p].add(v)
            return
        for v in range(1, grand + 1):
            trial = {**guess, inner[k]: v}
            if not could_hold(trial):
                break  # a larger value exceeds the same sum
            walk(k + 1, trial)

    if any(p not in inner for p in hidden) or grand > 30:
        return set()
    walk(0, {})
    return {p for p, vs in possible.items() if len(vs) == 1}


@settings(max_examples=60, deadline=None)
@given(_tables(), st.sampled_from([3, 5, 10]))
def test_no_withheld_cell_of_any_table_is_determined(t: CountTables, min_cell: int) -> None:
    hidden = withheld(t, min_cell=min_cell)
    for p, v in t.values.items():
        if 0 < v < min_cell and p not in t.headline:
            assert p in hidden
        if v == 0:
            assert p not in hidden  # zeros are shown
    assert determined(t, hidden) == []
    assert _brute_force_determined(t, hidden) == set()


def test_a_table_needing_its_total_withheld() -> None:
    # two cells of 1 and a published total of 2: both are 1 whatever else is withheld
    t = CountTables(
        {("all",): 2, ("a",): 1, ("b",): 1, ("z",): 0},
        ((("all",), (("a",), ("b",), ("z",))),),
        headline=frozenset({("all",)}),
    )
    assert withheld(t, min_cell=10) == {("a",), ("b",), ("all",)}
    assert withheld(t, min_cell=0) == frozenset()


def test_the_simulated_times_beside_a_withheld_count_are_withheld(small: Path) -> None:
    """Was (hostile review): ``n_simulated`` was published beside a withheld ``n`` of the
    same times; with every time simulated the two are equal, and the withheld counts of
    decided, dismissed and open items followed by subtraction."""
    truth, published = _report(small, min_cell=0).data, _report(small).data
    suppressed = published["disclosure_control"]["suppressed"]
    beside = [
        (key, source)
        for key in ("time_to_first_review_hours", "time_to_decision_hours")
        for source, t in published[key].items()
        if t["n"] is None
    ]
    assert beside  # the small platform has such counts
    for key, source in beside:
        assert truth[key][source]["n_simulated"] == truth[key][source]["n"] > 0
        assert published[key][source]["n_simulated"] is None
        assert [key, source, "n_simulated"] in suppressed


def test_few_clock_times_beside_simulated_ones_are_not_published(tmp_path: Path) -> None:
    """Was (a review of the rule above): with ``n`` shown, ``n - n_simulated`` is the count
    of decisions timed by the clock, a cell of its own, published when small (a queue of
    simulated decisions and a few real ones)."""
    with ReviewQueue(tmp_path / "q.sqlite", simulation=True) as q:
        for adult in range(12):
            q.add_alert(Alert(adult, adult, 100 + adult, 12.0, "under 13", 0.9, Tier.URGENT), at=T0)
        for adult in range(12):
            shown = q.case(adult, now=T0 + 3600)
            assert shown is not None
            clock = adult >= 10  # two decided by the clock, ten at a simulated time
            at = None if clock else T0 + 3600 + adult
            q.decide(adult, "dismissed", moderator="m", at=at, token=shown.token)
        # to the time of the report: the clock's decisions are of today
        until = (T0, int(time.time()) + 10)
        truth = transparency_report(q, until, key=SYNTHETIC_DEMO_KEY, min_cell=0).data
        published = transparency_report(q, until, key=SYNTHETIC_DEMO_KEY).data
    exact = truth["time_to_decision_hours"]["all"]
    assert (exact["n"], exact["n_simulated"]) == (12, 10)  # 2 clock times
    shown_times = published["time_to_decision_hours"]["all"]
    assert shown_times["n"] == 12
    assert shown_times["n_simulated"] is None
