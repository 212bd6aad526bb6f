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
* The review queue took alerts and user reports dated 1970 (``UserReport(timestamp=0)``: a
  case "waiting 20,791 days"), and in simulation mode dated 2200 or later, where events are
  refused outside 2000-01-01 up to 2200: a queue item's times are now checked by an event's
  ``timestamp`` rule and words, naming the field and value, in either mode (simulation mode
  lifts only the limit against the clock).
* ``adult_initiated`` read "the older participant made first contact ... the older party,
  not the child, started the contact between them", where its value is who sent this
  conversation's first event (a direct conversation after a group room where the child
  posted first): it now says so; the earlier wording a queue stored still reads, marked.
* The review queue refused a :class:`riskscore.Channel` member as a user report's or an
  alert's channel ("channel <Channel.DIRECT: 2> is not one of ..."): it is now queued as
  its name, by the rule the event readers use.

All data is synthetic.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from online_helpers import MODEL

import riskscore as rs
from riskscore import Channel, EventType
from riskscore._words import at_least_percent
from riskscore.model.scores import WHY_PREFIX, is_reason_text
from riskscore.model.values import SHARE_OF_EVIDENCE, format_value
from riskscore.moderation import QueueError
from riskscore.moderation.earlier_reasons import EARLIER_MARK, exported_reason, shown_reason
from riskscore.policy import Alert, Tier


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


# --------------------------------------------- queue items are dated within the events' range

T0 = 1_767_225_600  # 2026-01-01 00:00 UTC
_RANGE = r"is out of range: expected epoch seconds from 2000-01-01 \(946684800\) up to 2200"


@pytest.mark.parametrize("simulation", [False, True])
@pytest.mark.parametrize("when", [0, 946_684_799, 7_258_118_400])
def test_a_user_report_dated_outside_the_events_range_is_refused(
    tmp_path: Path, simulation: bool, when: int
) -> None:
    """Was: ``UserReport(..., timestamp=0)`` was queued, its case "waiting 20,791 days"
    (and in simulation mode one dated 2200, which no event can be)."""
    report = rs.UserReport("c1", "kid", "adult", 13.0, timestamp=when)
    with rs.ReviewQueue(tmp_path / "q.sqlite", simulation=simulation) as queue:
        with pytest.raises(
            QueueError, match=rf"user report on conversation c1: timestamp {when} {_RANGE}"
        ):
            queue.add_report(report)
        assert len(queue) == 0
        queue.add_report(rs.UserReport("c1", "kid", "adult", 13.0, timestamp=946_684_800))
        assert len(queue) == 1


@pytest.mark.parametrize(
    ("field", "alert", "at"),
    [
        ("at", Alert(1, "a", "c", 12.0, "under 13", 0.9, Tier.URGENT), 100),
        ("timestamp", Alert(1, "a", "c", 12.0, "under 13", 0.9, Tier.URGENT, timestamp=5), None),
        ("first_event_at", Alert(1, "a", "c", 12.0, "under 13", 0.9, Tier.URGENT,
                                 first_event_at=0, last_event_at=T0), T0),
        ("last_event_at", Alert(1, "a", "c", 12.0, "under 13", 0.9, Tier.URGENT,
                                last_event_at=7_258_118_400), T0),
    ],
)  # fmt: skip
def test_an_alert_dated_outside_the_events_range_is_refused_naming_the_field(
    tmp_path: Path, field: str, alert: Alert, at: int | None
) -> None:
    with rs.ReviewQueue(tmp_path / "q.sqlite", simulation=True) as queue:
        with pytest.raises(QueueError, match=rf"alert on conversation 1: {field} \d+ {_RANGE}"):
            queue.add_alert(alert, at=at)
        assert len(queue) == 0


# ------------------------------ adult_initiated says what it measures: this conversation's first


def test_adult_initiated_says_it_is_this_conversations_first_event() -> None:
    """Was: "the older participant made first contact: yes (...). Why it can matter: victim
    selection: the older party, not the child, started the contact between them", on a
    direct conversation the two opened after days in a group room where the child had
    posted first: the value is who sent *this* conversation's first event."""
    reason = rs.Reason.of("adult_initiated", 1.0, 1.0)
    assert reason.description == "the older participant sent this conversation's first event"
    assert (
        reason.why == "victim selection: the older party, not the child, opened this conversation"
    )
    assert "first contact" not in str(reason)
    assert "started the contact" not in str(reason)


_EARLIER_INITIATED = (
    "the older participant made first contact",
    "victim selection: the older party, not the child, started the contact between them",
)


@pytest.mark.parametrize(
    ("description", "why"),
    [
        (None, _EARLIER_INITIATED[1]),  # the current description, the earlier why
        _EARLIER_INITIATED,  # both as stored before this change
        (_EARLIER_INITIATED[0], "victim selection: the older party reaches out to the child"),
    ],
)
def test_adult_initiated_stored_in_the_earlier_wording_is_still_read(
    description: str | None, why: str
) -> None:
    reason = rs.Reason.of("adult_initiated", 1.0, 1.0)
    stored = str(reason).replace(reason.why, why)
    if description is not None:
        stored = stored.replace(reason.description, description)
    assert stored != str(reason)
    assert not is_reason_text(stored)
    head = f"{reason.description}: {reason.value_text} ({reason.strength}, +1.00)"
    assert exported_reason(stored) == f"{head}, {EARLIER_MARK}. {WHY_PREFIX}{reason.why}"
    assert shown_reason(stored) == exported_reason(stored)


def test_adult_initiated_stored_before_review_38_is_still_read() -> None:
    """The grammar before review 38 (``description: value (+push); why``), with the
    description and why of then."""
    reason = rs.Reason.of("adult_initiated", 1.0, 0.5)
    stored = (
        "the older participant made first contact: yes (+0.50); victim selection: the older "
        "party reaches out to the child"
    )
    expected = f"{reason.description}: yes (+0.50), {EARLIER_MARK}. {WHY_PREFIX}{reason.why}"
    assert exported_reason(stored) == expected


# ------------------------------------------------- the queue takes a Channel member as its name


def test_the_queue_takes_a_channel_member_as_its_name(tmp_path: Path) -> None:
    report = rs.UserReport("c1", "kid", "adult", 13.0, T0, channel=Channel.DIRECT)
    alert = Alert(2, "b", "k2", 12.0, "under 13", 0.9, Tier.URGENT)
    with rs.ReviewQueue(tmp_path / "q.sqlite") as queue:
        queue.add_report(report)
        queue.add_alert(alert, at=T0, channel=Channel.EXTERNAL)
        channels = {item.conversation_id: item.channel for item in queue.items()}
    assert channels == {"c1": "direct", 2: "external"}
    assert all(type(c) is str for c in channels.values())


def test_the_queue_still_refuses_a_member_of_another_enum_as_a_channel(tmp_path: Path) -> None:
    report = rs.UserReport("c1", "kid", "adult", 13.0, T0, channel=EventType.MEDIA)  # type: ignore[arg-type]
    with (
        rs.ReviewQueue(tmp_path / "q.sqlite") as queue,
        pytest.raises(ValueError, match=r"channel <EventType.MEDIA: 5> is not one of public"),
    ):
        queue.add_report(report)
