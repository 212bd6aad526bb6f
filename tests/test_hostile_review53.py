"""Hostile review 53: message text under names written joined (``smsbody``,
``selftext``), and epoch seconds in narrow float cells. All data is synthetic."""

from __future__ import annotations

import pytest
from io_hostile_helpers import BASE_EVENT

import riskscore as rs
from riskscore.io.schema import content_words, is_content_column

# ---------------------------------------------------------------- content-like names

#: Names platforms and their exports give a message's text, written as one word: short
#: content words joined (the list's ``msgbody`` generalised), and text under a qualifier
#: (Reddit's ``selftext``, X's ``full_text`` written joined).
JOINED = ["smsbody", "textbody", "htmlbody", "bodytext", "msgtext", "textmsg", "txtmsg",
          "htmltext", "Smstext", "msgbody", "msgtxt", "selftext", "fulltext", "richtext",
          "rawtext", "excerpt", "post_excerpt"]  # fmt: skip


@pytest.mark.parametrize("name", JOINED)
def test_text_under_a_joined_name_is_refused_in_batch_and_online(name: str) -> None:
    """Was: accepted (and ignored) as metadata: only words of six letters or more were
    looked for inside a word, so ``smsbody`` or ``textbody`` passed where ``SMSBody`` and
    ``msg_body`` were refused, and ``selftext`` (Reddit's post text) passed too."""
    assert is_content_column(name)
    with pytest.raises(rs.SchemaError, match="reads no message content"):
        rs.read_messages({**{k: [v] for k, v in BASE_EVENT.items()}, name: ["hello"]})
    scorer = rs.OnlineScorer(rs.load_model(), time_source="events")
    with pytest.raises(rs.SchemaError, match="reads no message content"):
        scorer.update_one({**BASE_EVENT, name: "hello"})


def test_the_refusal_names_the_joined_words() -> None:
    assert content_words("smsbody") == "'sms' + 'body'"
    assert content_words("selftext") == "'selftext'"


@pytest.mark.parametrize(
    "name",
    ["context", "contact_accept", "smsc_id", "bodyweight", "textile", "titled", "linkage",
     "platform", "recipient_tz_offset_min", "room_size"],
)  # fmt: skip
def test_words_that_only_begin_with_a_content_word_are_metadata(name: str) -> None:
    assert not is_content_column(name)
