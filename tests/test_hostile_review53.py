"""Hostile review 53: message text under names written joined (``smsbody``,
``selftext``), and epoch seconds in narrow float cells. All data is synthetic."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from io_hostile_helpers import BASE_EVENT, T0

import riskscore as rs
from riskscore.io.content_names import content_words, is_content_column

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


def test_a_long_name_of_joined_words_is_judged_quickly_and_named_briefly() -> None:
    """A header cell may be any length: the words of a name are looked for in linear time,
    and the refusal names the first few of them."""
    assert content_words("sms" * 50_000) == "'sms' + 'sms' + 'sms' + ..."
    assert content_words("q" * 100_000) is None


@pytest.mark.parametrize(
    "name",
    ["context", "contact_accept", "smsc_id", "bodyweight", "textile", "titled", "linkage",
     "platform", "recipient_tz_offset_min", "room_size"],
)  # fmt: skip
def test_words_that_only_begin_with_a_content_word_are_metadata(name: str) -> None:
    assert not is_content_column(name)


# ---------------------------------------------------------------- narrow float times

#: float32 holds epoch seconds of today in steps of 128 s: T0 + 100 is T0 + 128 already.
NARROW = [np.float32(T0 + 100), np.float16(60_000.0)]


@pytest.mark.parametrize("value", NARROW, ids=["float32", "float16"])
def test_a_narrow_float_time_in_an_online_event_is_refused_as_a_column_of_them_is(
    value: Any,
) -> None:
    """Was: a float32 column of epoch seconds was refused (its instants already rounded),
    yet one float32 number in an online event (or an object column) was read, moved by
    up to a minute: T0 + 100 read as T0 + 128. A float16 was read as a time in 1970."""
    reason = "float, too coarse for epoch seconds"
    scorer = rs.OnlineScorer(rs.load_model(), time_source="events")
    with pytest.raises(rs.SchemaError, match=reason) as info:
        scorer.update_one({**BASE_EVENT, "timestamp": value})
    assert info.value.column == "timestamp"
    assert scorer.n_events == 0
    with pytest.raises(rs.SchemaError, match=reason):
        rs.read_messages({**{k: [v] for k, v in BASE_EVENT.items()}, "timestamp": [value]})


def test_narrow_float_cells_are_quarantined_beside_other_times() -> None:
    times = np.array([T0, np.float32(T0 + 100), float(T0 + 200)], dtype=object)
    events = {k: [v] * 3 for k, v in BASE_EVENT.items()}
    msgs = rs.read_messages({**events, "timestamp": times}, errors="quarantine")
    assert msgs.timestamp.tolist() == [T0, T0 + 200]
    assert msgs.quarantined.row == (1,)
    assert "32-bit float" in msgs.quarantined.reason[0]


def test_a_scorer_on_the_events_clock_is_not_told_to_use_the_events_clock() -> None:
    """Was: an event more than ``max_future_s`` after the latest one (a quiet gap in a
    replay) was refused with "pass max_future_s=inf or time_source='events'", to a scorer
    whose clock was the events already; the remedy is a max_future_s above the gap."""
    scorer = rs.OnlineScorer(rs.load_model(), time_source="events")
    scorer.update_one(BASE_EVENT)
    with pytest.raises(rs.SchemaError, match="above the longest quiet gap") as info:
        scorer.update_one({**BASE_EVENT, "timestamp": T0 + 2 * 86_400})
    assert "time_source='events'" not in str(info.value)
    assert scorer.n_events == 1


# ---------------------------------------------------------------- decimals

#: Two ids a float64 holds as one: 2**53 + 1 rounds to 2**53.
_NEAR_2_53 = [Decimal("9007199254740993.0"), Decimal("9007199254740992.0")]


def _decimal_events(ids: Any) -> dict[str, Any]:
    events = {k: [v] * 2 for k, v in BASE_EVENT.items()}
    return {**events, "timestamp": [T0, T0 + 1], "conversation_id": ids}


def test_decimal_ids_with_a_fraction_digit_are_never_rounded_into_one() -> None:
    """Was: a decimal id column with a fraction digit (``decimal128(20, 1)``) was cast to
    float64, so ``9007199254740993.0`` and ``9007199254740992.0`` became one conversation
    (2**53 + 1 rounded into 2**53, within the float ids' limit), and
    ``1.00000000000000001`` the id ``1``."""
    table = pa.table(_decimal_events(pa.array(_NEAR_2_53, pa.decimal128(20, 1))))
    kept = rs.read_messages(table, errors="quarantine")
    assert kept.conversation_id.tolist() == [2**53]
    assert "beyond 2**53" in kept.quarantined.reason[0]
    fraction = pa.array([Decimal("1.00000000000000001"), Decimal(1)], pa.decimal128(38, 17))
    kept = rs.read_messages(pa.table(_decimal_events(fraction)), errors="quarantine")
    assert kept.conversation_id.tolist() == [1]
    assert kept.quarantined.row == (0,)


def test_decimal_cells_read_as_the_decimal_column_they_came_from(tmp_path: Path) -> None:
    """Was: a warehouse's ``NUMBER(38, 0)`` Parquet file was read, but the same file read
    with ``pd.read_parquet`` (whose cells are ``decimal.Decimal``) was refused ("Decimal('5')
    is not an id"), as was an online event of those cells (a database cursor's)."""
    events = _decimal_events(pa.array([Decimal(5), Decimal(5)], pa.decimal128(38, 0)))
    events["sender_id"] = pa.array([Decimal(1), Decimal(2)], pa.decimal128(38, 0))
    events["recipient_id"] = pa.array([Decimal(2), Decimal(1)], pa.decimal128(38, 0))
    events["timestamp"] = pa.array([Decimal(T0), Decimal(T0 + 1)], pa.decimal128(38, 0))
    pq.write_table(pa.table(events), tmp_path / "events.parquet")
    expected = rs.read_messages(tmp_path / "events.parquet").to_pandas()
    frame = pd.read_parquet(tmp_path / "events.parquet")
    assert isinstance(frame["conversation_id"][0], Decimal)
    pd.testing.assert_frame_equal(rs.read_messages(frame).to_pandas(), expected)
    scorer = rs.OnlineScorer(rs.load_model(), time_source="events")
    scorer.update_one(frame.iloc[0].to_dict())
    assert scorer.conversation_ids == (5,)
    # the same rule for cells as for the column: never rounded into another id
    cells = _decimal_events(np.array(_NEAR_2_53, dtype=object))
    assert rs.read_messages(cells, errors="quarantine").conversation_id.tolist() == [2**53]
