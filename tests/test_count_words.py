"""Counts in the command line's summaries are worded by the one rule
(:func:`riskscore._words.plural`): a singular for one, ``children`` for many, thousands
separated by commas."""

from __future__ import annotations

import pytest

from riskscore._words import number_text, plural
from riskscore.cli import accounts, monitor, queue, score, stream
from riskscore.cli._quarantine import render_quarantine
from riskscore.cli._queue_option import render_queue


def test_plural_of_an_irregular_word() -> None:
    """Was: no plural but an ``s``, so the summaries wrote ``children`` by hand."""
    assert plural(1, "child", "children") == "1 child"
    assert plural(0, "child", "children") == "0 children"


def test_queue_summary_counts_one_of_each(capsys: pytest.CaptureFixture[str]) -> None:
    """Was: ``1 open cases (1 open items)`` and ``1 children, 1 conversations, 1 items``."""
    case = {
        "priority": 1.0,
        "adult_id": "a",
        "children": ["c"],
        "conversations": ["v"],
        "items": [
            {
                "item_id": 1,
                "kind": "alert",
                "conversation_id": "v",
                "child_id": "c",
                "child_age": 12.0,
                "age_band": "under 13",
                "risk": 0.5,
                "tier": 1,
                "adult_age": None,
                "first_event_at": None,
                "last_event_at": None,
                "updated_at": 1_767_225_600,
                "n_signals": 1,
            }
        ],
        "token": "v1:1",
        "reasons": [],
    }
    decided = {"adult_id": "a", "outcome": "dismissed", "items": 1}
    queue.render({"decided": decided, "open_cases": 1, "open_items": 1, "top": [case]})
    out = capsys.readouterr().out
    assert "(1 item)" in out
    assert "1 open case (1 open item)" in out
    assert "1 child, 1 conversation, 1 item" in out


def test_review_queue_line_counts_one(capsys: pytest.CaptureFixture[str]) -> None:
    """Was: ``1 new items from 1 alerts ...; 1 open items``."""
    text = render_queue({"path": "q.sqlite", "alerts": 1, "new_items": 1, "open_items": 1})
    assert "1 new item from 1 alert (0 already" in text
    assert "; 1 open item;" in text


def test_accounts_summary_counts_one(capsys: pytest.CaptureFixture[str]) -> None:
    """Was: ``counted 1 accounts (1 pairs) over 1 events (1 conversations, 1 rows
    quarantined)``."""
    accounts.render(
        {
            "accounts": 1,
            "pairs": 1,
            "events": 1,
            "conversations": 1,
            "quarantined": 1,
            "quarantine_file": None,
            "history_start": 0,
            "history_end": 0,
            "unread_columns": [],
            "out": "a.parquet",
            "groups": [],
        }
    )
    out = capsys.readouterr().out
    assert "counted 1 account (1 pair) over 1 event (1 conversation, 1 row quarantined)" in out


def test_monitor_and_quarantine_count_one(capsys: pytest.CaptureFixture[str]) -> None:
    """Was: ``DRIFT, 1 major shift(s)``; the quarantine line had its own plural rule."""
    shift = {"name": "risk", "psi": 0.5, "level": "major"}
    monitor.render(
        {
            "enough": True,
            "shifts": [shift],
            "n_current": 500,
            "n_reference": 500,
            "unread_columns": [],
        }
    )
    render_quarantine({"quarantine_file": "q.jsonl", "quarantined": 1, "quarantine_counts": {}})
    out = capsys.readouterr().out
    assert "DRIFT, 1 major shift\n" in out
    assert "quarantined: q.jsonl (1 row)" in out


# One rule for the digits of a count a person reads: thousands separated by commas, as the
# summaries that format with ``:,`` wrote them (``policy tune``, ``monitor``, ``compare``).


def test_plural_groups_thousands() -> None:
    """Was: ``scored 2,000 conversations``-style lines elsewhere, but ``78967 events``
    through :func:`plural` (and ``1234`` for a reason's value)."""
    assert plural(78_967, "event") == "78,967 events"
    assert plural(1_000_000, "child", "children") == "1,000,000 children"
    assert plural(999, "row") == "999 rows"


def test_score_summary_groups_every_count(capsys: pytest.CaptureFixture[str]) -> None:
    """Was: ``scored 2000 conversations (78967 events, 0 rows quarantined): 19 alerts,
    1500 urgent`` and ``  1234  bad_timestamp`` under the quarantine line."""
    score.render(
        {
            "conversations": 2_000,
            "events": 78_967,
            "quarantined": 1_234,
            "alerts": 1_900,
            "urgent": 1_500,
            "groups": [],
            "unread_columns": [],
            "account_features": "accounts.parquet",
            "top": [],
            "scores": "scores.parquet",
            "alerts_file": "alerts.parquet",
            "shadow": {
                "shadow": {"alerts": 2_500, "urgent": 1_100},
                "alerts_gained": 1_001,
                "alerts_lost": 1_002,
                "summary_file": "shadow.json",
            },
            "quarantine_file": "q.jsonl",
            "quarantine_counts": {"bad_timestamp": 1_234},
            "queue": {"path": "q.sqlite", "alerts": 3_000, "new_items": 1_000, "open_items": 5},
        }
    )
    out = capsys.readouterr().out
    assert "scored 2,000 conversations (78,967 events, 1,234 rows quarantined): " in out
    assert "1,900 alerts, 1,500 urgent" in out
    assert "2,500 alerts (1,100 urgent); 1,001 gained and 1,002 lost" in out
    assert "   1,234  bad_timestamp" in out
    assert "1,000 new items from 3,000 alerts (2,000 already queued" in out


def test_stream_summary_groups_every_count(capsys: pytest.CaptureFixture[str]) -> None:
    """Was: ``(12000 skipped as already processed), ..., 4500 rejected`` and reasons by
    ``bad_age 4500``."""
    summary = {
        "lines": 20_000,
        "skipped": 12_000,
        "events": 3_500,
        "rejected": 4_500,
        "alerts": 0,
        "reasons": {"bad_age": 4_500},
        "queue": None,
        "broadcast": 0,
        "missing": 0,
        "ignored_fields": {"extra": 1_200},
        "expired": 1_500,
    }
    stream.render({"summary": summary})
    err = capsys.readouterr().err
    assert "20,000 lines (12,000 skipped as already processed), 3,500 events" in err
    assert "4,500 rejected" in err
    assert "bad_age 4,500" in err
    assert "extra 1,200" in err
    assert "1,500 conversations idle for longer than --idle-expiry-s" in err


def test_a_reason_value_groups_thousands() -> None:
    """Was: ``1234`` through :func:`number_text`, the rule behind reasons and vignettes."""
    assert number_text(1_234.4) == "1,234"
    assert number_text(-12_345) == "-12,345"
    assert number_text(123.4) == "123"
