"""Every value a moderator reads carries its unit in words, and each age shows once per view.

Was: ``the recent contact rate as a multiple of the long-run rate: 3.2`` and ``blocks and
reports from minors per minor the older account contacted: 0.5`` (the unit "ratio" fell
through to a bare number); ``links or handles to other apps shared by the older
participant: 1 event``; ``a move from a visible channel to an ephemeral, encrypted or
external one: after 27 minutes`` (after what?); and the adult's declared age twice in the
Synapse notice and in ``riskscore score --top`` (a header, then the facts). Each test
failed before the fix.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pytest

from riskscore.cli import score
from riskscore.features.registry import FEATURES
from riskscore.model.scores import WHY_PREFIX, Reason, format_value, is_reason_text
from riskscore.moderation.earlier_reasons import EARLIER_MARK, exported_reason, shown_reason
from riskscore.policy import Alert, Tier

T0 = 1_767_225_600  # 2026-01-01 00:00 UTC
#: A value of each unit that a reason can show (on the risk side of its reference).
_VALUES = {"0/1": 1.0, "fraction": 0.3, "exp(-days)": 0.9, "level 0-5": 3.0}
_BARE_NUMBER = re.compile(r"-?[\d,.]+")


@pytest.mark.parametrize("spec", FEATURES, ids=lambda s: s.name)
def test_every_feature_value_reads_in_words_with_its_unit(spec: Any) -> None:
    value = _VALUES.get(spec.unit, 2.5)
    text = format_value(spec.unit, value)
    assert not _BARE_NUMBER.fullmatch(text), f"{spec.name} ({spec.unit}): {text!r}"
    assert re.search(r"[a-z%]", text), text
    assert is_reason_text(str(Reason.of(spec.name, value, 0.5))), spec.name


@pytest.mark.parametrize(
    ("feature", "value", "expected"),
    [
        (
            "escalation_ratio",
            3.2,
            "the recent contact rate as a multiple of the long-run rate: 3.2 times (raises "
            "risk, +1.00)",
        ),
        (
            "adult_flagged_per_minor",
            0.5,
            "rate of blocks and reports the older account received from minors: 0.5 per "
            "minor contacted (raises risk, +1.00)",
        ),
        (
            "adult_external_events",
            1.0,
            "links or handles to other apps shared by the older participant: 1 link or "
            "handle (raises risk, +1.00)",
        ),
        (
            "child_blocks_reports",
            2.0,
            "blocks and reports by the younger participant: 2 blocks or reports (raises "
            "risk, +1.00)",
        ),
        (
            "adult_private_minor_fanout",
            12.0,
            "minors the older account contacted on private channels: 12 minors (raises risk, "
            "+1.00)",
        ),
        (
            "secure_move_speed",
            math.exp(-27 / (24 * 60)),
            "time from the first event between the two in this conversation to a move from "
            "a visible channel to an ephemeral, encrypted or external one: 27 minutes (raises "
            "risk, +1.00)",
        ),
        (
            "secure_move_speed",
            0.99999,
            "time from the first event between the two in this conversation to a move from "
            "a visible channel to an ephemeral, encrypted or external one: under a minute "
            "(raises risk, +1.00)",
        ),
    ],
)
def test_a_reason_reads_its_value_with_its_unit(feature: str, value: float, expected: str) -> None:
    text = str(Reason.of(feature, value, 1.0))
    assert text.split(". Why it can matter: ")[0] == expected
    assert is_reason_text(text)


def test_reasons_stored_in_the_wording_before_units_are_still_read() -> None:
    """A queue keeps what it stored: the bare number and the delay without "of contact"."""
    for feature, old in (
        ("escalation_ratio", "3.2"),
        ("adult_flagged_per_minor", "0.5"),
        ("adult_external_events", "1 event"),
        ("adult_private_minor_fanout", "12 accounts"),
        ("secure_move_speed", "after 27 minutes"),
        ("secure_move_speed", "within the first minute"),
    ):
        reason = Reason.of(feature, 1.0, 1.0)
        text = f"{reason.description}: {old} (+1.00). Why it can matter: {reason.why}"
        assert is_reason_text(text), text


# ------------------------------------------------------------------ each age once


def _ages_once(text: str) -> None:
    assert text.count("age 34") == 1, text
    assert text.count("adult age 34") == 1, text
    assert text.count("age 12") == 1, text


def test_the_synapse_notice_gives_the_adults_age_once(tmp_path: Path) -> None:
    sinks = pytest.importorskip("riskscore.integrations._synapse_sinks", exc_type=ImportError)
    alert = Alert(
        7, "a", "k", 12.0, "under 13", 0.9, Tier.URGENT, adult_age=34.0, timestamp=T0,
        first_event_at=T0 - 3600, last_event_at=T0 - 60,
    )  # fmt: skip
    matrix = {"room_id": "!r:x", "channel": "direct", "event_room_id": "!r:x"}
    body = sinks.notice_body(alert, {"matrix": matrix})
    _ages_once(body)
    assert "Adult a, child k (age 12), room !r:x (direct). Facts: adult age 34; " in body


def test_score_top_gives_the_adults_age_once(capsys: pytest.CaptureFixture[str]) -> None:
    alert = {
        "conversation_id": 1, "adult_id": 7, "child_id": 9, "age_band": "under 13",
        "child_age": 12.0, "adult_age": 34.0, "risk": 0.97, "tier": "urgent", "reasons": [],
        "facts": "adult age 34; conversation of 1 hour",
    }  # fmt: skip
    result = {
        "conversations": 1, "events": 3, "quarantined": 0, "alerts": 1, "urgent": 1,
        "groups": [], "unread_columns": [], "account_features": "acc.parquet",
        "top": [alert], "scores": "s", "alerts_file": "a", "shadow": None, "queue": None,
        "quarantine_file": None, "quarantine_counts": {},
    }  # fmt: skip
    score.render(result)
    out = capsys.readouterr().out
    _ages_once(out)
    assert "adult 7 -> child 9 (age 12, band under 13)\n     adult age 34; conversation of" in out


# ------------------------------------------------------------------ how much, in words


@pytest.mark.parametrize(
    ("contribution", "words"),
    [
        (6.28, "strongly raises risk"),
        (2.0, "strongly raises risk"),
        (1.99, "raises risk"),
        (1.0, "raises risk"),
        (0.99, "slightly raises risk"),
        (0.05, "slightly raises risk"),
    ],
)
def test_a_reason_says_how_much_it_raises_risk_in_words(contribution: float, words: str) -> None:
    """Was: ``62 % (+1.40)``, a log-odds number a moderator cannot read without the docs;
    the words come first, the number stays for whoever audits the model."""
    text = str(Reason.of("child_night_share", 0.62, contribution))
    assert f"62 % ({words}, +{contribution:.2f}). Why it can matter: " in text
    assert is_reason_text(text)


def test_a_strength_riskscore_never_writes_is_not_quoted_as_its_reason() -> None:
    """Exports quote only riskscore's own words: a stored text whose strength was changed
    (by hand, or by a platform's tool) is not one."""
    text = str(Reason.of("child_night_share", 0.62, 1.4))
    assert is_reason_text(text)
    assert not is_reason_text(text.replace("(raises risk,", "(proves grooming,"))
    assert not is_reason_text(text.replace("(raises risk, +", "(raises risk +"))


#: The description of ``adult_flagged_per_minor`` that queues stored until follow-up 53.
_DOUBLED = "blocks and reports from minors per minor the older account contacted"


def test_the_rate_of_blocks_and_reports_says_its_unit_once() -> None:
    """Was: ``blocks and reports from minors per minor the older account contacted: 0.33 per
    minor contacted``: the unit in the description and again after the value."""
    reason = Reason.of("adult_flagged_per_minor", 1 / 3, 1.0)
    line = str(reason).split(f". {WHY_PREFIX}")[0]
    assert line.count("per minor") == 1, line
    assert line.startswith(f"{reason.description}: 0.33 per minor contacted (")


def test_a_rate_stored_in_the_doubled_wording_still_reads() -> None:
    """A queue's reason stored before the description changed reads in the current one,
    with its value as recorded and marked; the earlier description around anything but a
    value riskscore writes is still never quoted."""
    reason = Reason.of("adult_flagged_per_minor", 1 / 3, 1.0)
    stored = str(reason).replace(reason.description, _DOUBLED)
    assert not is_reason_text(stored)
    middle = f"0.33 per minor contacted ({reason.strength}, +1.00)"
    expected = f"{reason.description}: {middle}, {EARLIER_MARK}. {WHY_PREFIX}{reason.why}"
    assert exported_reason(stored) == expected
    assert shown_reason(stored) == expected
    # stored before the strength was worded
    assert exported_reason(stored.replace(f"{reason.strength}, ", "")) is not None
    assert exported_reason(stored.replace("0.33 per minor contacted", "he said")) is None
