"""Review hr67h: zero-width joiners in ids that draw nothing, accepted by the joiner rule.

The non-joiner was accepted between any two Arabic-script letters, the one before not
right-joining: also before a hamza (U+0621), which joins to neither side, between
presentation forms (U+FB50..U+FDFF, U+FE70..U+FEFF, each one fixed glyph) and after the
right-joining letters of Arabic Extended-A and -B (reh with loop U+08AA, straight waw
U+08B1, the alefs U+0870..U+0882), missing from the list: ``"\\u0628\\u200c\\u0621"``
draws as ``"\\u0628\\u0621"``, a second account that looks the same. And the joiner of
an Emoji 15.1 sequence ending in the arrow U+2194 (head shaking horizontally), a math
symbol, not a pictograph, was refused. Each is now decided as drawn, the same in batch
(``read_messages``) and online (``OnlineScorer.update_one``).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from io_helpers import exchange_with

import riskscore as rs
from riskscore.integrations._synapse_ages import UNKNOWN, user_clock
from riskscore.io.schema import has_hidden_character
from riskscore.io.time_zones import offset_min_at, time_zone

DRAW_NOTHING = [
    "\u0628\u200c\u0621",  # beh, non-joiner, hamza: the hamza joins to no side
    "\ufe91\u200c\ufe92",  # presentation forms of beh: fixed glyphs
    "\ufdf2\u200c\u0628",  # the ligature Allah, isolated form
    "\U0001ee01\u200c\U0001ee01",  # Arabic mathematical beh: fixed glyphs
    "\u08aa\u200c\u0628",  # reh with loop joins to the right only
    "\u08b1\u200c\u0628",  # straight waw
    "\u0870\u200c\u0628",  # alef with attached fatha
    "\u0915\u094d\u200c",  # ka, virama, non-joiner at the end: no conjunct to keep apart
    "\u0915\u094d\u200c 7",  # nor before a space
]
HEAD_SHAKING = "\U0001f642\u200d\u2194\ufe0f"


@pytest.mark.parametrize("account", DRAW_NOTHING)
def test_a_non_joiner_next_to_a_letter_that_joins_nowhere_is_refused(account: str) -> None:
    assert has_hidden_character(account)
    with pytest.raises(rs.SchemaError, match=r"column 'sender_id', row 0: .* control character"):
        rs.read_messages(exchange_with(account))
    scorer = rs.OnlineScorer(rs.load_model())
    with pytest.raises(rs.SchemaError, match="control character"):
        scorer.update_one({k: v[0] for k, v in exchange_with(account).items()})


def test_a_zwj_emoji_ending_in_an_arrow_is_read_in_batch_and_online() -> None:
    assert not has_hidden_character(HEAD_SHAKING)
    assert HEAD_SHAKING in rs.read_messages(exchange_with(HEAD_SHAKING)).accounts.tolist()
    scorer = rs.OnlineScorer(rs.load_model())
    scorer.update_one({k: v[0] for k, v in exchange_with(HEAD_SHAKING).items()})
    assert not has_hidden_character("\u0628\u200c\u0628")  # beh, non-joiner, beh: still read
    assert not has_hidden_character("\u0915\u094d\u200c\u0937")  # keeps ksha from forming
    assert not has_hidden_character("\u0915\u094d\u200d")  # half form of ka


def test_a_time_zone_offset_is_the_zones_at_that_instant_across_a_transition() -> None:
    """``offset_min_at`` passed a UTC datetime to ``ZoneInfo.utcoffset``, which reads its
    wall time as local: New York's offset was summer's for the five hours before the
    clocks went forward (07:00 UTC), London's winter's for the hour after 01:00 UTC."""
    new_york, london = time_zone("America/New_York"), time_zone("Europe/London")
    spring_ny = int(datetime(2026, 3, 8, 7, 0, tzinfo=UTC).timestamp())
    assert [offset_min_at(new_york, spring_ny + s) for s in (-14_400, -1, 0)] == [-300, -300, -240]
    spring_uk = int(datetime(2026, 3, 29, 1, 0, tzinfo=UTC).timestamp())
    assert [offset_min_at(london, spring_uk + s) for s in (-1, 0, 1800)] == [0, 60, 60]
    autumn_uk = int(datetime(2026, 10, 25, 1, 0, tzinfo=UTC).timestamp())
    assert [offset_min_at(london, autumn_uk + s) for s in (-1, 0, 1800)] == [60, 0, 0]
    clock = user_clock(None, "America/New_York")
    assert clock.offset_at(spring_ny - 3600, UNKNOWN) == -300


@pytest.mark.parametrize("name", ["localtime", "posixrules", "Factory", "right/UTC", "posix/GB"])
def test_a_file_of_the_zone_database_that_names_no_place_is_refused(name: str) -> None:
    """``ZoneInfo`` opens any file under the system's zoneinfo directory: ``localtime``
    (Debian's link to the server's own clock), ``posixrules``, ``Factory`` (offset 0,
    "local time unknown"), the ``right/`` and ``posix/`` copies were taken as a user's
    time zone."""
    with pytest.raises(ValueError, match="not in the IANA time zone database"):
        time_zone(name)
    with pytest.raises(ValueError, match="not in the IANA time zone database"):
        user_clock(None, name)
    assert time_zone("Etc/GMT+5").key == "Etc/GMT+5"  # a name of the database (UTC-5)
    assert offset_min_at(time_zone("Etc/GMT+5"), 1_768_000_000) == -300
