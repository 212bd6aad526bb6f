"""How an id reads to a moderator (:func:`riskscore.io.shown_ids.shown_id`): one rule for
the console and the command line's ``riskscore queue``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from riskscore.cli import main
from riskscore.io.shown_ids import shown_id
from riskscore.moderation import ReviewQueue
from riskscore.policy import Alert, Tier

COMPOSED, DECOMPOSED, HIDDEN = "caf\u00e9", "cafe\u0301", "caf\u00e9\u200b"


def test_ids_that_read_alike_are_shown_apart() -> None:
    """Three accounts that read as ``café`` are shown as three ids; a plain text id is
    shown as written, a number as its digits, text that reads as a number quoted."""
    shown = [shown_id(i) for i in (COMPOSED, DECOMPOSED, HIDDEN)]
    assert shown == [COMPOSED, '"cafe\\u0301"', '"caf\\u00e9\\u200b"']
    assert [shown_id(i) for i in (7, "7", "acct-9", "a\u202eb")] == [
        "7",
        '"7"',
        "acct-9",
        '"a\\u202eb"',
    ]


def test_queue_command_shows_ids_by_the_consoles_rule(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: ``riskscore queue`` showed ids with ``repr``: the accounts ``café`` (NFC) and
    ``café`` (NFD: ``e`` and a combining accent), two accounts kept apart in the queue,
    read alike (``'café'`` twice), as did their children and conversations. Now the
    command line shows each id as the console does (:func:`shown_id`), and the id as
    shown is what ``--decide`` takes back."""
    db = tmp_path / "q.sqlite"
    with ReviewQueue(db) as queue:
        for n, who in enumerate((COMPOSED, DECOMPOSED)):
            queue.add_alert(Alert(who, who, who, 12.0, "under 13", 0.9 - n / 10, Tier.URGENT))
    assert main(["queue", "--db", str(db), "--top", "3"]) == 0
    out = capsys.readouterr().out
    for who in (COMPOSED, DECOMPOSED):
        text = shown_id(who)
        assert f"adult {text}: 1 child" in out, out
        assert f"child {text} (age 12, band under 13), conversation {text}," in out, out
    assert "'caf" not in out, out
    token = out.split("token ")[2].split()[0]  # the second case's: the NFD account's
    decide = ["--decide", shown_id(DECOMPOSED), "--token", token, "--outcome", "dismissed"]
    assert main(["queue", "--db", str(db), "--top", "0", *decide, "--moderator", "m1"]) == 0
    assert 'recorded: case "cafe\\u0301" dismissed (1 item)' in capsys.readouterr().out


@pytest.mark.parametrize(
    "blank",
    ["\u3164", "\u115f", "\u1160", "\uffa0", "\u2800", "\u034f", "\u17b4", "\ufe0f", "\U000e0100"],
)
def test_characters_that_draw_nothing_are_shown_escaped(blank: str) -> None:
    """Was: ``bob`` followed by a Hangul filler (a letter that draws nothing), a blank
    braille pattern or a variation selector passed the hidden-character check (they are
    no control or format character) and was shown as ``bob``: two accounts read alike.
    Now such an id is shown with its characters beyond ASCII escaped."""
    value = f"bob{blank}"
    shown = shown_id(value)
    assert shown != shown_id("bob")
    assert shown.isascii(), shown
    assert shown.startswith('"bob\\u'), shown
    assert json.loads(shown) == value  # what --decide takes back
