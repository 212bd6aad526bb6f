"""Hostile review hr67e of the ids a moderator reads (:mod:`riskscore.io.shown_ids`): ids
that a real platform sends and that read as no other id are shown as written, and ids that
read as another are shown escaped; of the console timeline's nights on the child's clock of
each event; of UTC offsets in hours and minutes and times in nanoseconds. Each test failed
before its fix."""

from __future__ import annotations

import io
import itertools
import json
import math
import re
import sys
from pathlib import Path

import pytest
from io_helpers import EVENING_MESSAGE

import riskscore as rs
from riskscore.cli import main
from riskscore.io.shown_ids import escaped_when_shown, shown_id
from riskscore.serve.plot import MAX_NIGHTS, timeline_svg
from riskscore.serve.timeline import TimelineEvent

#: 2024-03-31 01:00 UTC.
_T0 = 1_711_846_800


@pytest.mark.parametrize(
    "value",
    [
        "bob\U0001fa77",  # the pink heart, an emoji of Unicode 15.0 (2022)
        "\U0001fae8mia",  # the shaking face
        "kai\U0001fabc\U0001fabc",  # the jellyfish
    ],
)
def test_an_id_with_a_newer_emoji_is_shown_as_written(value: str) -> None:
    """Was: shown escaped (``"bob\\ud83e\\ude77"``) as holding an unassigned character:
    Python 3.11 reads Unicode 14.0, where the emoji of 15.0 are unassigned, though they
    have a glyph that a moderator's browser draws. Now a character is unassigned only where
    RE2's tables (Arrow's, newer) say so too: such an id is shown as written."""
    assert shown_id(value) == value
    assert not escaped_when_shown(value)


@pytest.mark.parametrize("char", ["\u0378", "\U000e0080", "\ue000"])
def test_a_character_unassigned_in_every_table_is_still_shown_escaped(char: str) -> None:
    """Unassigned in Python's tables and RE2's, or private use: no agreed glyph, escaped."""
    shown = shown_id(f"bob{char}")
    assert shown.isascii(), shown
    assert json.loads(shown) == f"bob{char}"


@pytest.mark.parametrize(
    "value",
    [
        "\ua4eedmin",  # Lisu letter A among Latin letters: reads Admin
        "\u15c5dmin",  # Canadian Syllabics carrier GHO: reads Admin
        "b\U000104eab",  # Osage small letter O: reads bob
        "\u2d54scar",  # Tifinagh letter YAR: reads Oscar
    ],
)
def test_latin_mixed_with_another_look_alike_script_is_shown_escaped(value: str) -> None:
    """Was: shown as written, only Latin, Greek, Cyrillic, Armenian, Cherokee and Coptic
    counted as alphabets that pass for one another: ``admin`` with a Lisu ``A`` (U+A4EE,
    a letter copied from the Latin capital) read as ``Admin``. Now the scripts of TR39's
    confusables that copy Latin letters count too, and such an id is shown escaped."""
    shown = shown_id(value)
    assert shown.isascii(), shown
    assert shown.startswith('"'), shown
    assert json.loads(shown) == value


@pytest.mark.parametrize(
    "value",
    [
        "\ua4e0\ua4f1\ua4e1",  # Lisu alone
        "\u14c4\u14c7\u1557",  # Canadian Syllabics alone
        "\u7530\u4e2d_tanaka",  # Japanese with Latin
        "\u0391\u03bb\u03ad\u03be\u03b1\u03bd\u03b4\u03c1\u03bf\u03c2",  # Greek alone
        "\u0645\u064f\u062d\u064e\u0645\u064e\u0651\u062f",  # Arabic with marks (NFC)
        "\u0915\u094d\u0937\u0924\u094d\u0930\u093f\u092f",  # Devanagari with its marks
        "\uae40\ucca0\uc218",  # Hangul
        "\U0001f44d\U0001f3fdbob",  # an emoji with a skin-tone modifier
    ],
)
def test_ids_of_one_script_or_of_scripts_apart_are_shown_as_written(value: str) -> None:
    """Legitimate ids a platform sends read as no other id: shown as written."""
    assert shown_id(value) == value


def _two_device_events(days: int) -> list[TimelineEvent]:
    """An adult writing every 10 minutes for ``days`` days to a child whose two devices
    report the UTC offsets +0 and +60 in turn."""
    return [
        TimelineEvent(_T0 + i * 600 + 300, "a", 2, 0, 60 * (i % 2)) for i in range(days * 24 * 6)
    ]


def test_a_night_across_changes_of_the_childs_clock_is_shaded_as_one() -> None:
    """Was: each stretch between two changes of the child's clock shaded apart, so that a
    child whose two devices report +0 and +60 in turn had 200 pieces of night over four
    days, more than the timeline shades: no night shaded, and the summary said "200
    nights, too many to shade". Now a night that goes on across a change is one span."""
    events = _two_device_events(4)
    plot = timeline_svg(events, "a", "conversation 1 of 1")
    assert "too many to shade" not in plot.summary
    assert 4 <= len(plot.nights) <= MAX_NIGHTS
    assert all(b < c for (_, b), (c, _) in itertools.pairwise(plot.nights))  # apart
    # every event that is at night on both of the child's clocks (22:00-05:00 UTC) is in
    # a shaded night, every one at day on both (06:00-21:00 UTC) is not
    for e in events:
        hour = e.timestamp % 86_400 // 3600
        shaded = any(a <= e.timestamp <= b for a, b in plot.nights)
        if hour >= 22 or hour < 5:
            assert shaded, e
        elif 6 <= hour < 21:
            assert not shaded, e


_EVENT = EVENING_MESSAGE
_CLOCK_TEXT = "is a UTC offset in hours and minutes"


@pytest.mark.parametrize("offset", ["+5:30", "-3:30", "5:45", " +9:00 "])
def test_an_offset_with_one_digit_of_hours_is_named_as_hours_and_minutes(
    offset: str, tmp_path: Path
) -> None:
    """Was: ``+5:30`` (India, as a clock writes it) refused as "is not a number: expected
    a UTC offset in whole minutes", while ``+05:30`` was named as hours and minutes with the
    minutes to give (330). Now both are, in batch (a CSV file, columns) and online."""
    match = rf"'{re.escape(offset)}' {_CLOCK_TEXT}"
    with pytest.raises(rs.SchemaError, match=rf"row 0: {match}"):
        rs.read_messages({k: [v] for k, v in {**_EVENT, "recipient_tz_offset_min": offset}.items()})
    path = tmp_path / "events.csv"
    path.write_text(f"{','.join(_EVENT)},recipient_tz_offset_min\n")
    with path.open("a") as f:
        f.write(f"{','.join(map(str, _EVENT.values()))},{offset}\n")
    with pytest.raises(rs.SchemaError, match=rf"row 0 \(line 2\): {match}"):
        rs.read_messages(path)
    scorer = rs.OnlineScorer(rs.load_model(), max_future_s=math.inf)
    with pytest.raises(rs.SchemaError, match=rf"event 3: {match}"):
        scorer.update_one({**_EVENT, "recipient_tz_offset_min": offset}, row=3)
    assert scorer.n_events == 0


@pytest.mark.parametrize(
    ("offset", "minutes"), [("+330", 330), ("345", 345), ("-150", -150), ("-90", -90)]
)
def test_minutes_of_three_digits_stay_minutes(offset: str, minutes: int) -> None:
    """Minutes as text without a colon, not four digits of hours and minutes: read."""
    table = rs.read_messages(
        {k: [v] for k, v in {**_EVENT, "recipient_tz_offset_min": offset}.items()}
    )
    assert table.recipient_tz_offset_min.tolist() == [minutes]


@pytest.mark.parametrize(
    "value",
    [
        "x" + "\U00011f00" * 10,  # a stack of Kawi marks (Unicode 15.0)
        "bob\U0001e030",  # a Cyrillic modifier letter a (Unicode 15.0) after Latin letters
    ],
)
def test_a_newer_letter_or_mark_is_still_shown_escaped(value: str) -> None:
    """A letter or mark unassigned in Python's tables (assigned in RE2's) cannot be told
    apart by its alphabet or counted in a stack of marks: escaped, as before, unlike a
    newer emoji (was: shown as written, once RE2's tables counted every assigned
    character, a stack of Kawi marks among them)."""
    shown = shown_id(value)
    assert shown.isascii(), shown
    assert json.loads(shown) == value


#: 2024-05-01T21:30:00Z in nanoseconds: pandas' datetime64[ns] as integers, Go's UnixNano.
_NANOS = 1_714_595_400_000_000_000


def test_epoch_nanoseconds_are_told_how_to_become_seconds(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: "if the clock counts milliseconds, divide by 1000, microseconds by 1000000":
    nanoseconds divided by either are refused again with the same words. Now the reason
    names nanoseconds too, in batch, online and whole in ``riskscore stream``'s echo."""
    event = {**_EVENT, "timestamp": _NANOS}
    with pytest.raises(rs.SchemaError, match="nanoseconds by 1e9"):
        rs.read_messages({k: [v] for k, v in event.items()})
    with pytest.raises(rs.SchemaError, match="nanoseconds by 1e9"):
        rs.OnlineScorer(rs.load_model()).update_one(event)
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(event) + "\n"))
    assert main(["stream", "--time-source", "events"]) == 0
    err = capsys.readouterr().err
    assert "nanoseconds by 1e9)" in err
    assert "characters)" not in err


@pytest.mark.parametrize(
    "value",
    [
        "b\u0a66b",  # Gurmukhi digit zero between Latin letters: reads bob
        "user\u0661",  # Arabic-Indic digit one after Latin letters: reads user1
        "c\u09e6\u09e6l",  # Bengali zeros: reads c00l
        "7\u0667",  # ASCII 7 beside the Arabic-Indic 7: two numbering systems
    ],
)
def test_digits_of_another_numbering_system_beside_latin_are_shown_escaped(value: str) -> None:
    """Was: shown as written, digits not being letters of any alphabet: ``b`` and
    Gurmukhi's zero (U+0A66, drawn as ``o``) read as ``bob``. Now digits of a numbering
    system other than ASCII's beside Latin letters, or of two systems (Unicode TR39's
    mixed-number detection), are shown escaped."""
    shown = shown_id(value)
    assert shown.isascii(), shown
    assert json.loads(shown) == value


@pytest.mark.parametrize(
    "value",
    [
        "\u0639\u0644\u064a\u0661\u0662",  # Arabic letters, Arabic-Indic digits
        "\u0930\u0939\u093f\u092e\u0967\u0968",  # Devanagari letters and digits
        "\u0e2a\u0e21\u0e0a\u0e32\u0e22\u0e52\u0e55",  # Thai letters and digits
        "\u0930\u0939\u093f\u092e12",  # Devanagari letters, ASCII digits
    ],
)
def test_a_scripts_own_digits_are_shown_as_written(value: str) -> None:
    """A script's letters with its own digits (or ASCII's) read as no other id."""
    assert shown_id(value) == value
