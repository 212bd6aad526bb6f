"""Counts in the command line's summaries are worded by the one rule
(:func:`riskscore._words.plural`): a singular for one, ``children`` for many."""

from __future__ import annotations

import pytest

from riskscore._words import plural
from riskscore.cli import accounts, monitor, queue
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
        "items": [{"item_id": 1}],
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
