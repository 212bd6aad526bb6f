"""Ids may hold a zero-width joiner where it is part of how the name is written.

Every id holding U+200C or U+200D was refused as holding a control character: a Persian
handle such as Alireza (written with a non-joiner), a Sinhala one with a joiner after its
virama, an emoji sequence; all of such an account's events were refused (or quarantined)
on every backend, so its conversations were never scored. A joiner is now accepted where it
changes what is drawn (riskscore.io.joiners: IDNA's contextual rules and emoji sequences),
by the one rule in batch (Arrow), online and on display, and refused where it draws
nothing (between Latin letters, after an Arabic alef), as before.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from io_helpers import exchange_with

import riskscore as rs
from riskscore.io.schema import has_hidden_character
from riskscore.io.shown_ids import shown_id

ALIREZA = "\u0639\u0644\u06cc\u200c\u0631\u0636\u0627"  # Persian, with a non-joiner
SRI = "\u0dc1\u0dca\u200d\u0dbb\u0dd3"  # Sinhala, a joiner after the virama
TECHNOLOGIST = "\U0001f469\u200d\U0001f4bb"  # an emoji sequence
THUMBS = "\U0001f44d\U0001f3fd\u200d\U0001f525"  # a skin-tone modifier before the joiner
WRITTEN = [ALIREZA, SRI, TECHNOLOGIST, THUMBS]
HIDDEN = [
    "bo\u200cb",  # reads bob
    "bo\u200db",
    "\u0627\u200c\u0628",  # after alef (joins to the right only) it changes nothing
    "\u200d\U0001f4bb",  # no pictograph before it
    "\u0639\u200c",  # nothing after it
    "\u200cx",
]


@pytest.mark.parametrize("account", WRITTEN)
def test_a_joiner_that_is_part_of_a_name_is_read_everywhere(account: str, tmp_path: Path) -> None:
    assert not has_hidden_character(account)
    messages = rs.read_messages(exchange_with(account))
    assert account in messages.accounts.tolist()
    path = tmp_path / "events.csv"
    rs.write_messages(messages, path)
    assert account in rs.read_messages(path).accounts.tolist()
    scorer = rs.OnlineScorer(rs.load_model())
    scorer.update_one({k: v[0] for k, v in exchange_with(account).items()})
    assert shown_id(account) == account  # drawn as written: a moderator sees the joiner's work


@pytest.mark.parametrize("account", HIDDEN)
def test_a_joiner_that_draws_nothing_is_refused_everywhere(account: str) -> None:
    assert has_hidden_character(account)
    with pytest.raises(rs.SchemaError, match=r"column 'sender_id', row 0: .* control character"):
        rs.read_messages(exchange_with(account))
    quarantined = rs.read_messages(exchange_with(account), errors="quarantine")
    assert len(quarantined.quarantined) == 2  # both rows name the account
    scorer = rs.OnlineScorer(rs.load_model())
    with pytest.raises(rs.SchemaError, match="control character"):
        scorer.update_one({k: v[0] for k, v in exchange_with(account).items()})
    assert shown_id(account).startswith('"')  # escaped if it is ever shown


def test_a_column_mixing_both_kinds_refuses_only_the_hidden_rows() -> None:
    events = {k: v * 2 for k, v in exchange_with(ALIREZA).items()}
    events["conversation_id"] = [1, 1, 2, 2]
    events["sender_id"] = [ALIREZA, "kid", "bo\u200cb", "kid"]
    events["recipient_id"] = ["kid", ALIREZA, "kid", "bo\u200cb"]
    read = rs.read_messages(events, errors="quarantine")
    assert read.conversations.tolist() == [1]
    assert sorted(set(read.quarantined.row.tolist())) == [2, 3]
