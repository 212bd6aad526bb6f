"""Stop 54, follow-up b: small defects found after stop 54, each test failing before its fix.

* The library's own enums, :class:`riskscore.Channel` and :class:`riskscore.EventType`, were
  refused where a channel or event name is accepted (``Channel.DIRECT`` "is not
  recognised"): an ``IntEnum`` member's text is its number. They are now read as their names,
  online and in a batch's object columns, by the one category rule
  (:func:`riskscore.io.columns.category_text`).
* A share of evidence or a recent share a hair under one read ``at least 100 %``
  (:func:`riskscore._words.at_least_percent` let a float within 1e-9 of a whole percent
  round up to it, as the division meant): a lower bound of a share under every event now
  reads at most ``at least 99 %``.

All data is synthetic.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from online_helpers import MODEL

import riskscore as rs
from riskscore import Channel, EventType
from riskscore._words import at_least_percent
from riskscore.model.scores import SHARE_OF_EVIDENCE, format_value


def _event(i: int, channel: object, event: object = "message") -> dict[str, Any]:
    return {
        "conversation_id": "c1",
        "timestamp": 1_700_000_000 + 60 * i,
        "sender_id": "a" if i % 2 == 0 else "b",
        "recipient_id": "b" if i % 2 == 0 else "a",
        "sender_age": 30.0 if i % 2 == 0 else 13.0,
        "recipient_age": 13.0 if i % 2 == 0 else 30.0,
        "channel": channel,
        "event": event,
    }


_MEMBERS = [
    (Channel.GROUP, EventType.MESSAGE),
    (Channel.DIRECT, EventType.MEDIA),
    (Channel.EXTERNAL, EventType.BLOCK),
]


def _names(values: list[Any]) -> list[str]:
    return [v.name.lower() for v in values]


def test_online_accepts_the_enums_as_their_names() -> None:
    by_enum, by_name = rs.OnlineScorer(MODEL), rs.OnlineScorer(MODEL)
    for i, (channel, kind) in enumerate(_MEMBERS):
        by_enum.update_one(_event(i, channel, kind))
        by_name.update_one(_event(i, channel.name.lower(), kind.name.lower()))
    np.testing.assert_array_equal(by_enum.features_of("c1"), by_name.features_of("c1"))
    assert by_enum.score_of("c1") == by_name.score_of("c1")


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("channel", EventType.MEDIA, "<EventType.MEDIA: 5> is not recognised"),
        ("event", Channel.GROUP, "<Channel.GROUP: 1> is not recognised"),
        ("channel", 2, "2 is not recognised"),  # a bare number names no channel
    ],
)
def test_online_refuses_a_member_of_the_other_enum(
    field: str, value: object, expected: str
) -> None:
    event = _event(0, "direct")
    event[field] = value
    with pytest.raises(rs.SchemaError, match=f"column '{field}', event 0: {expected}"):
        rs.OnlineScorer(MODEL).update_one(event, row=0)


def _columns(channel: Any, event: Any) -> dict[str, Any]:
    rows = [_event(i, c, k) for i, (c, k) in enumerate(_MEMBERS)]
    columns = {name: [r[name] for r in rows] for name in rows[0]}
    return {**columns, "channel": channel, "event": event}


@pytest.mark.parametrize(
    "as_columns",
    [
        lambda c, k: _columns(c, k),  # a dict of lists
        lambda c, k: _columns(np.array(c, dtype=object), np.array(k, dtype=object)),
        lambda c, k: pd.DataFrame(  # pandas object columns keep the members
            _columns(pd.Series(c, dtype=object), pd.Series(k, dtype=object))
        ),
    ],
    ids=["dict-of-lists", "object-arrays", "pandas-object"],
)
def test_batch_reads_the_enums_as_their_names(as_columns: Any) -> None:
    channels, kinds = [c for c, _ in _MEMBERS], [k for _, k in _MEMBERS]
    by_enum = rs.read_messages(as_columns(channels, kinds))
    by_name = rs.read_messages(as_columns(_names(channels), _names(kinds)))
    np.testing.assert_array_equal(by_enum.channel, by_name.channel)
    np.testing.assert_array_equal(by_enum.event, by_name.event)
    np.testing.assert_array_equal(by_enum.channel, [int(c) for c in channels])


def test_batch_refuses_a_member_of_the_other_enum_naming_row_and_value() -> None:
    columns = _columns([Channel.GROUP, EventType.MEDIA, "direct"], ["message"] * 3)
    with pytest.raises(
        rs.SchemaError, match=r"column 'channel', row 1: <EventType.MEDIA: 5> is not"
    ):
        rs.read_messages(columns)


@pytest.mark.parametrize(
    ("share", "expected"),
    [
        (1 - 1e-11, "at least 99 %"),  # read "at least 100 %": every event, which it is not
        (1 - 2**-53, "at least 99 %"),  # the largest float under 1
        (0.99999, "at least 99 %"),
        (0.9996, "at least 99 %"),
        (0.995, "at least 99 %"),
        (1.0, "100 %"),  # exactly every event: no bound
        (0.29, "at least 29 %"),  # 28.999999999999996: the 29 % the division meant
        (0.001, "at least 0.1 %"),
        (0.00099, "over 0 %"),
        (1e-12, "over 0 %"),
    ],
)
def test_a_lower_bound_of_a_share_never_rounds_up_to_every_event(
    share: float, expected: str
) -> None:
    assert at_least_percent(100.0 * share) == expected
    assert format_value(SHARE_OF_EVIDENCE, share) == expected
