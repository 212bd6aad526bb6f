"""Hostile review hr66a of what a moderator reads about an alert: each test failed before
its fix."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from reason_helpers import batch_and_online_reasons, groom_events

from riskscore import load_model, read_messages
from riskscore.cli import main
from riskscore.model.scores import ASSUMED_ROLES, Reason, is_reason_text
from riskscore.model.values import format_value
from riskscore.moderation import ReviewQueue, UserReport
from riskscore.moderation.earlier_reasons import EARLIER_MARK, exported_reason
from riskscore.policy import AgeBand, Alert, AlertPolicy, Tier
from riskscore.regulatory import cybertipline_drafts, decided_cases, statements_of_reasons

T0 = 1_767_225_600  # 2026-01-01 00:00 UTC
KEY = b"hr66a-test-key-0123456789abcdefghijklmnop"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (1.04, "1.04 times"),
        (1.001, "under 1.01 times"),
        (0.996, "over 0.99 times"),
        (1.0, "the same rate"),
    ],
)
def test_a_multiple_above_one_never_reads_as_the_same_rate(value: float, shown: str) -> None:
    """Was: ``the recent contact rate as a multiple of the long-run rate: the same rate
    (raises risk, +1.78)``, for a rate 4 % above the long-run one: the text stated that
    contact had not become more frequent (an absence) beside a why of escalation, in 3 of
    435 alerts of a synthetic world (``synthetic.generate(3000, prevalence=0.2, seed=3)``)."""
    assert format_value("times", value) == shown
    assert is_reason_text(str(Reason.of("escalation_ratio", value, 1.78)))


def _escalated(tmp_path: Path, alerts: list[Alert], reports: list[UserReport]) -> list[Any]:
    """The decided cases of a simulated queue holding ``alerts`` and ``reports``, each
    case escalated."""
    with ReviewQueue(tmp_path / "q.sqlite", simulation=True) as q:
        for alert in alerts:
            q.add_alert(alert, at=T0 + 100)
        for report in reports:
            q.add_report(report)
        adults = [a.adult_id for a in alerts] + [r.reported_id for r in reports]
        for adult in dict.fromkeys(adults):
            case = q.case(adult, now=T0 + 200)
            assert case is not None
            q.decide(adult, "escalated", moderator="m", at=T0 + 300, token=case.token)
        return decided_cases(q.items())


def test_exports_never_call_an_account_of_undeclared_age_a_child(tmp_path: Path) -> None:
    """Was: an alert whose child account declared no age (the role rule chose it: by
    signs of approach when neither age is known) read ``conversations with 1 child
    account`` in the DSA statement of reasons about the account, and ``concerning 1 child
    account`` (``on contact with a child in age band unknown``) in the NCMEC draft: a
    guess stated as a fact. Now the accounts are counted by the age they declared."""
    reason = (Reason.of("adult_sent_request", 1.0, 2.3),)
    alerts = [
        Alert("c1", "x", "kid", 12.0, "under 13", 0.97, Tier.URGENT, reasons=reason),
        Alert("c2", "x", "y", math.nan, "unknown", 0.96, Tier.URGENT, reasons=reason),
        Alert("c3", "z", "w", math.nan, "unknown", 0.96, Tier.URGENT, reasons=reason),
    ]
    cases = _escalated(tmp_path, alerts, [])
    facts = sorted(s["decision_facts"] for s in statements_of_reasons(cases, key=KEY))
    assert "raised 1 alert on this account's conversations with 1 account of undeclared " \
        "age;" in facts[0], facts[0]  # fmt: skip
    assert "raised 2 alerts on this account's conversations with 1 child account and 1 " \
        "account of undeclared age;" in facts[1], facts[1]  # fmt: skip
    drafts = {
        d["report"]["personOrUserReported"]["espIdentifier"]: d["report"]
        for d in cybertipline_drafts(cases, platform="demo")
    }
    x, z = (drafts[a]["personOrUserReported"]["additionalInfo"] for a in ("x", "z"))
    assert x.startswith(
        "2 automated alerts about this account concerning 1 child account and 1 account of "
        "undeclared age; declared age: unknown."
    ), x
    assert z.startswith("1 automated alert about this account concerning 1 account of undec")
    assert (
        "on contact with a child in age band under 13"
        in (drafts["x"]["incidentSummary"]["escalateToHighPriority"])
    )
    urgent = drafts["z"]["incidentSummary"]["escalateToHighPriority"]
    assert "on contact with an account of undeclared age (age band unknown)" in urgent, urgent


def test_a_draft_never_counts_no_child_account(tmp_path: Path) -> None:
    """Was: ``2 user reports about this account concerning 0 child accounts`` (an
    absence) when every reporter declared an adult age; now the reports alone."""
    reports = [
        UserReport("c1", "parent-1", "x", 40.0, timestamp=T0 + 100),
        UserReport("c2", "parent-2", "x", 45.0, timestamp=T0 + 110),
    ]
    (draft,) = cybertipline_drafts(_escalated(tmp_path, [], reports), platform="demo")
    said = draft["report"]["personOrUserReported"]["additionalInfo"]
    assert said.startswith("2 user reports about this account; declared age: unknown."), said


_AGES = [(None, None, True), (None, 12.0, True), (35.0, None, True), (14.0, 14.0, True)]


@pytest.mark.parametrize(("a_age", "c_age", "assumed"), [*_AGES, (35.0, 12.0, False)])
def test_a_reason_never_states_a_guessed_older_participant(
    a_age: float | None,
    c_age: float | None,
    assumed: bool,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Was: ``the older participant sent a contact request: yes`` where no age was
    declared (the role rule took the roles from signs of approach), one only, or two
    equal: a guess stated as a fact in every view. Now such a description says it is
    assumed, the same in batch and online scoring and ``riskscore score --top``; a text in
    those words is riskscore's own (exports quote it)."""
    events = groom_events(a_age, c_age)
    path = tmp_path / "events.jsonl"
    batch, online = batch_and_online_reasons(events, path)
    older = [t for t in batch if "older participant" in t or "older account" in t]
    assert older, batch
    assert all((ASSUMED_ROLES in t) == assumed for t in older), older
    assert all(is_reason_text(t) for t in batch)
    assert set(online) <= set(batch), (online, batch)
    bands = [
        AgeBand(name, 0.0, math.inf, 1e-6, 0.999) for name in ("any", "unknown", "other unknown")
    ]
    policy = tmp_path / "low.toml"
    policy.write_text(AlertPolicy((bands[0],), bands[1], unknown_adult=bands[2]).to_toml())
    argv = ["score", str(path), "--out", str(tmp_path / "out"), "--policy", str(policy)]
    assert main([*argv, "--top", "1"]) == 0
    shown = [line[7:] for line in capsys.readouterr().out.splitlines() if line[:7] == "     - "]
    assert shown == batch[:3], (shown, batch)


def test_a_request_replied_to_is_not_said_to_be_unanswered(tmp_path: Path) -> None:
    """Was: ``share of the older account's contact requests not accepted: 100 % (...). Why
    it can matter: unsolicited approaches that were not accepted (declined, or not answered
    yet)`` for an account whose one request the child answered with 30 messages (no
    ``contact_accept`` event): the why named as the only causes two the events contradict.
    The earlier why still reads, marked."""
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in groom_events(35.0, 12.0)))
    scores = load_model().score(read_messages(path), n_reasons=39)
    (text,) = [str(r) for r in scores.reasons(0) if r.feature == "adult_unaccepted_share"]
    assert "(declined, or not answered yet)" not in text
    assert "or replied to without accepting" in text
    earlier = "unsolicited approaches that were not accepted (declined, or not answered yet)"
    stored = f"{text.split('. Why it can matter: ')[0]}. Why it can matter: {earlier}"
    assert EARLIER_MARK in (exported_reason(stored) or "")
