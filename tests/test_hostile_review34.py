"""Hostile review 34: the moderation queue's decisions, the transparency report and the
regulatory exports against a hostile or careless platform (two decisions in one second,
a published case list that bounds a withheld count, ...).

Each test failed on the code before its fix, but for one guard that says it passed before."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp

from riskscore.model.scores import Reason
from riskscore.moderation import QueueError, ReviewQueue, UserReport
from riskscore.moderation.disclosure import report_tables
from riskscore.moderation.transparency import transparency_report
from riskscore.policy import Alert, Tier
from riskscore.regulatory import (
    ExportFilter,
    cybertipline_drafts,
    decided_cases,
    quantitative_template,
    statements_of_reasons,
)

T0 = 1_767_225_600  # 2026-01-01
KEY = "hostile-review-34-synthetic-key-0123456789abcdef"


# ------------------------------------------- 1. two decisions in one second stay two


def _two_decisions_in_one_second(path: Path) -> ReviewQueue:
    q = ReviewQueue(path, simulation=True)
    first = q.add_alert(Alert(1, "adult", "c1", 12.0, "under 13", 0.9, Tier.URGENT), at=T0)
    second = q.add_alert(Alert(2, "adult", "c2", 14.0, "13-15", 0.8, Tier.URGENT), at=T0 + 5)
    # two moderators (or one, twice) decide one item each, in the same second
    q.decide("adult", "escalated", moderator="m1", item_ids=[first], at=T0 + 60)
    q.decide("adult", "escalated", moderator="m2", item_ids=[second], at=T0 + 60)
    return q


def test_two_same_second_decisions_on_one_adult_are_never_merged(tmp_path: Path) -> None:
    """Was: ``decided_cases`` grouped items by (adult, decision second, outcome), so two
    decisions made in the same second with the same outcome on one adult became one
    decided case: one DSA statement and one CyberTipline draft where the moderators had
    made two decisions (and the second draft's child joined the first's)."""
    with _two_decisions_in_one_second(tmp_path / "q.sqlite") as q:
        cases = decided_cases(q.items())
        assert [[i.item_id for i in c.items] for c in cases] == [[1], [2]]
        assert [c.items[0].decided_by for c in cases] == ["m1", "m2"]
        assert len(statements_of_reasons(cases, key=KEY)) == 2
        drafts = cybertipline_drafts(cases)
        assert [len(d["report"]["victim"]) for d in drafts] == [1, 1]


def test_one_decision_of_two_items_stays_one_case(tmp_path: Path) -> None:
    """Guard (passed before): one decision that closes two items is one decided case."""
    with ReviewQueue(tmp_path / "q.sqlite", simulation=True) as q:
        q.add_alert(Alert(1, "adult", "c1", 12.0, "under 13", 0.9, Tier.URGENT), at=T0)
        q.add_alert(Alert(2, "adult", "c2", 14.0, "13-15", 0.8, Tier.URGENT), at=T0 + 5)
        token = q.case("adult", now=T0 + 60)
        assert token is not None
        q.decide("adult", "escalated", moderator="m", token=token.token, at=T0 + 60)
        assert [len(c.items) for c in decided_cases(q.items())] == [2]


# ------------------------- 2. the published case list and the withheld escalated count


def _pinned(published: dict[str, Any], exact: dict[str, Any]) -> dict[tuple[str, ...], int]:
    """The withheld counts a reader of ``published`` works out to one value: unknowns are
    the counts it shows as null (each at least 1: zeros are shown) and the counts only a
    withheld ratio would show (at least 0); the equations are the report's, and the list
    of escalated multi-child cases says that at least that many items were escalated."""
    counts = report_tables(exact, child_bands=None)
    t = counts.tables
    suppressed = {tuple(p) for p in published["disclosure_control"]["suppressed"]}
    unknown = [p for p in t.values if p in suppressed]
    unknown += [
        p
        for r, inputs in counts.ratios.items()
        if r in suppressed
        for p in inputs
        if p in counts.unwritten and p not in unknown
    ]
    index = {p: k for k, p in enumerate(unknown)}

    def row(terms: list[tuple[tuple[str, ...], float]]) -> tuple[Any, float]:
        out, known = np.zeros(len(unknown)), 0.0
        for p, sign in terms:
            if p in index:
                out[index[p]] += sign
            else:
                known += sign * t.values[p]
        return out, known

    constraints = []
    for total, parts in t.sums:
        a, known = row([(total, -1.0), *((q, 1.0) for q in parts)])
        constraints.append(LinearConstraint(a, -known, -known))
    listed = len(published["cases"]["escalated_multi_child_cases"])
    a, known = row([(("escalated",), 1.0), (("user_report_outcomes", "escalated"), 1.0)])
    constraints.append(LinearConstraint(a, listed - known, np.inf))
    low = [0.0 if p in counts.unwritten else 1.0 for p in unknown]
    bounds, whole = Bounds(low, np.inf), np.ones(len(unknown))
    pinned = {}
    for p in unknown:
        if p in counts.unwritten:
            continue
        c = np.zeros(len(unknown))
        c[index[p]] = 1.0
        lo = milp(c, integrality=whole, bounds=bounds, constraints=constraints)
        hi = milp(-c, integrality=whole, bounds=bounds, constraints=constraints)
        assert lo.status == 0
        if hi.status == 0 and round(lo.fun) == round(-hi.fun):
            pinned[p] = round(lo.fun)
    return pinned


def test_the_published_case_list_does_not_pin_a_withheld_escalated_count(tmp_path: Path) -> None:
    """Was: the disclosure control solved the report's equations only; the list of
    escalated multi-child cases (published whole) says that at least as many items were
    escalated, and with 3 cases, 3 escalated alerts and 1 dismissed one a reader worked
    out the withheld ``escalated`` (3) and ``dismissed`` (1: one adult) exactly."""
    with ReviewQueue(tmp_path / "q.sqlite", simulation=True) as q:
        k = 0
        adults = [(f"multi-{j}", ("escalated", "actioned")) for j in range(3)]
        adults += [("one-dismissed", ("dismissed",))]
        adults += [(f"single-{j}", ("actioned",)) for j in range(9)]
        for adult, outcomes in adults:
            for outcome in outcomes:
                k += 1
                alert = Alert(f"c{k}", adult, f"child-{k}", 14.0, "13-15", 0.9, Tier.URGENT)
                item = q.add_alert(alert, channel="direct", at=T0 + k)
                q.decide(adult, outcome, moderator="m", item_ids=[item], at=T0 + 1000 + k)
        period = (T0, T0 + 86_400)
        exact = transparency_report(q, period, key=KEY, min_cell=0).data
        published = transparency_report(q, period, key=KEY).data
    assert len(published["cases"]["escalated_multi_child_cases"]) == 3
    assert published["escalated"] is None
    assert _pinned(published, exact) == {}


# ----------------------------- 3. only riskscore's own reasons reach the exports


def test_a_reason_in_other_words_never_reaches_a_statement_or_draft(tmp_path: Path) -> None:
    """Was: the exports quoted the strongest alert's reasons as stored, any printable text
    up to 100,000 characters: a platform's own ``Reason`` (or a queue file changed outside
    riskscore) put words such as quoted message text into the public DSA statement's
    ``decision_facts`` and into the CyberTipline draft. Now only reasons in riskscore's
    own wording of a registered feature are quoted."""
    own = Reason.of("child_night_share", 0.62, 1.4)
    foreign = Reason("note", 1.0, 2.0, 'he wrote "send me a photo"')
    mimic = Reason("child_night_share", 0.5, 1.0, own.description, "sent: send me a photo")
    with ReviewQueue(tmp_path / "q.sqlite", simulation=True) as q:
        alert = Alert(1, "adult", "c1", 12.0, "under 13", 0.9, Tier.URGENT)
        q.add_alert(replace(alert, reasons=(foreign, own, mimic)), at=T0)
        q.decide("adult", "escalated", moderator="m", item_ids=[1], at=T0 + 60)
        cases = decided_cases(q.items())
    [statement] = statements_of_reasons(cases, key=KEY)
    [draft] = cybertipline_drafts(cases)
    texts = [statement["decision_facts"], draft["report"]["personOrUserReported"]["additionalInfo"]]
    for text in texts:
        assert "photo" not in text
        assert str(own) in text


# -------------------------- 4. two accounts never share one identifier in the drafts


def test_two_accounts_written_as_one_identifier_are_refused(tmp_path: Path) -> None:
    """Was: a queue keeps the accounts ``7`` and ``"7"`` apart (a stream's numeric ids and
    a report's text ids), but the CyberTipline drafts wrote both as ``espIdentifier``
    "7": two drafts naming one account, or one draft's two victims under one identifier,
    which NCMEC would read as one person."""
    with ReviewQueue(tmp_path / "q.sqlite", simulation=True) as q:
        q.add_alert(Alert(1, 7, "child", 12.0, "under 13", 0.9, Tier.URGENT), at=T0)
        q.add_alert(Alert(2, "7", "child-2", 12.0, "under 13", 0.9, Tier.URGENT), at=T0 + 1)
        q.add_alert(Alert(3, "adult", 5, 12.0, "under 13", 0.9, Tier.URGENT), at=T0 + 2)
        q.add_alert(Alert(4, "adult", "5", 13.0, "13-15", 0.9, Tier.URGENT), at=T0 + 3)
        for adult, items in ((7, [1]), ("7", [2]), ("adult", [3, 4])):
            q.decide(adult, "escalated", moderator="m", item_ids=items, at=T0 + 60)
        cases = decided_cases(q.items())
    with pytest.raises(ValueError, match=r"7 and '7'.*espIdentifier"):
        cybertipline_drafts(cases[:2])
    with pytest.raises(ValueError, match=r"5 and '5'.*espIdentifier"):
        cybertipline_drafts(cases[2:])
    assert len(cybertipline_drafts(cases[1:2])) == 1  # one kind alone is fine


# ----------------- 5. the templates count a decision made after the period as open


def test_the_templates_count_decisions_made_after_the_period_as_open(tmp_path: Path) -> None:
    """Was: the 2024/2835 templates took each item's status at export time, so an alert of
    January decided in February counted as decided in January's section 8 (precision 1/1
    where the transparency report of the same period, which takes the status at the
    period's end, has nothing decided), and a notice decided after the period as acted on
    within it; docs/regulatory.md says the two precisions are equal."""
    january = (T0, T0 + 31 * 86_400)
    with ReviewQueue(tmp_path / "q.sqlite", simulation=True) as q:
        q.add_alert(Alert(1, "adult", "c1", 12.0, "under 13", 0.9, Tier.URGENT), at=T0)
        q.add_report(UserReport(2, "c2", "other", 12.0, T0 + 10, "direct"))
        for adult in ("adult", "other"):  # decided in February
            case = q.case(adult, now=january[1] + 3600)
            assert case is not None
            q.decide(adult, "escalated", moderator="m", token=case.token, at=january[1] + 3600)
        report = transparency_report(q, january, key=KEY, min_cell=0).data
        items = q.items()
    f = ExportFilter(start=january[0], end=january[1])
    tables = quantitative_template(items, decided_cases(items, f), export_filter=f)
    assert report["automated_detection"]["precision"] is None
    assert tables.precision == report["automated_detection"]["precision"]
    header, rows = tables.tables["04_notices.csv"]
    notices = dict(zip(header, rows[1], strict=True))
    assert notices["Number of notices received"] == 1
    assert notices["Median time to take action"] == ""


@pytest.mark.parametrize("decision", ['"x"', "0", "99", "1.0", "true"])
def test_a_decision_id_changed_outside_riskscore_is_refused(tmp_path: Path, decision: str) -> None:
    """Guard of the decision id (new in this review): a ``decide`` entry whose decision is
    not an item id at most the item's own, written with plain SQL, is refused by name,
    never read as another decision (which would join or split decisions)."""
    path = tmp_path / "q.sqlite"
    with _two_decisions_in_one_second(path) as q:
        pass
    con = sqlite3.connect(path)
    with con:
        cur = con.execute(
            "INSERT INTO audit (at, recorded_at, actor, action, item_id, detail) VALUES "
            f"(?, 0, 'x', 'decide', 2, '{{\"decision\": {decision}}}')",
            (T0 + 60,),
        )
        con.execute("UPDATE items SET audit_id = ? WHERE item_id = 2", (cur.lastrowid,))
    con.close()
    with (
        ReviewQueue(path, create=False) as q,
        pytest.raises(QueueError, match="decision of item 2"),
    ):
        q.items()


# ---------------------------------- 6. one decision, one puid, whatever the filter


def test_a_band_filter_keeps_the_puid_of_the_decision(tmp_path: Path) -> None:
    """Was: a decision's ``puid`` was drawn from its oldest item among those the band
    filter kept, so one decision on a child under 13 and one of 13-15 had one puid in the
    full export and another in ``--band 13-15``: filed from both, the DSA database took it
    as two statements (it refuses a repeated puid, the guard against a double filing)."""
    with ReviewQueue(tmp_path / "q.sqlite", simulation=True) as q:
        q.add_alert(Alert(1, "a", "c1", 12.0, "under 13", 0.9, Tier.URGENT), at=T0)
        q.add_alert(Alert(2, "a", "c2", 14.0, "13-15", 0.9, Tier.URGENT), at=T0 + 1)
        q.decide("a", "escalated", moderator="m", item_ids=[1, 2], at=T0 + 60)
        items = q.items()
    full = statements_of_reasons(decided_cases(items), key=KEY)
    band = statements_of_reasons(decided_cases(items, ExportFilter(bands=("13-15",))), key=KEY)
    assert [s["puid"] for s in band] == [s["puid"] for s in full]
    [case] = decided_cases(items, ExportFilter(bands=("13-15",)))
    # the filter selects the decision, whole (every child it concerns: follow-up 53)
    assert [i.item_id for i in case.items] == [1, 2]
