"""Tests for :func:`riskscore.extract_features` (riskscore/features/).

Every expected value is worked out by hand in the test from the definitions of
``docs/features.md`` (arithmetic in the comments); no library code is called to
produce an expectation. All events are synthetic. ``A`` is an adult account (40),
``K`` a child account (13).

Beyond the hand-computed cases: the compiled kernel equals the same source run
without numba, parts on worker threads equal one pass, the row order of the input
does not matter, and the generated tables of ``docs/features.md`` match the registry.
"""

from __future__ import annotations

import inspect
import json
import math
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import riskscore as rs
import riskscore.io.threads as _threads
from riskscore._docs import generated_section
from riskscore.features import FeatureTable, extract_features, kernel
from riskscore.features.docs import SECTION, feature_tables, update_features_doc
from riskscore.features.parts import PART_EVENTS, kernel_events
from riskscore.features.registry import FEATURE_NAMES, FEATURES
from riskscore.io.chunks import conversation_parts

Event = dict[str, object]

NAN = math.nan
#: 2024-05-01T00:00:00Z in epoch seconds.
T0 = 1_714_521_600
MINUTE = 60
HOUR = 3_600
DAY = 86_400
NOON = 12 * HOUR

AGE_COLUMNS = frozenset({"child_age", "adult_age", "age_gap"})
#: Besides ages, only the pair facts can be unknown (none given; never moved to private).
NULLABLE_COLUMNS = AGE_COLUMNS | {"pair_met_channel", "pair_hours_to_private"}
#: Features that are fractions in [0, 1].
FRACTION_COLUMNS = (
    "adult_message_share",
    "adult_recent_share",
    "child_night_share",
    "child_recent_night_share",
    "secure_move_speed",
    "adult_media_rate",
    "child_media_rate",
    "adult_night_media_rate",
    "private_night_share",
    "adult_minor_contact_share",
    "adult_unaccepted_share",
    "child_tz_known_share",
)
FLAG_COLUMNS = (
    "child_is_minor",
    "child_age_known",
    "adult_age_known",
    "adult_initiated",
    "adult_sent_request",
)
DOCS = Path(__file__).parents[1] / "docs" / "features.md"


# ---------------------------------------------------------------- helpers


def ev(
    conversation: object,
    t: int,
    sender: object,
    recipient: object,
    *,
    sender_age: float = NAN,
    recipient_age: float = NAN,
    channel: str = "direct",
    event: str = "message",
    tz: int | None = 0,
    room_size: int | None = None,
) -> Event:
    """One event; ``t`` is seconds after T0, ``tz`` the recipient's UTC offset in minutes
    (None: unknown), ``room_size`` the accounts in the room (None: not given)."""
    return {
        "conversation_id": conversation,
        "timestamp": T0 + t,
        "sender_id": sender,
        "recipient_id": recipient,
        "sender_age": sender_age,
        "recipient_age": recipient_age,
        "channel": channel,
        "event": event,
        "recipient_tz_offset_min": tz,
        "room_size": room_size,
    }


def adult_to_child(
    t: int,
    *,
    conversation: object = "c",
    channel: str = "direct",
    event: str = "message",
    tz: int | None = 0,
) -> Event:
    """Adult A (40) to child K (13); ``tz`` is the child's UTC offset in minutes."""
    return ev(
        conversation,
        t,
        "A",
        "K",
        sender_age=40,
        recipient_age=13,
        channel=channel,
        event=event,
        tz=tz,
    )


def child_to_adult(
    t: int,
    *,
    conversation: object = "c",
    channel: str = "direct",
    event: str = "message",
    tz: int | None = 0,
) -> Event:
    """Child K (13) to adult A (40); ``tz`` is the adult's UTC offset in minutes."""
    return ev(
        conversation,
        t,
        "K",
        "A",
        sender_age=13,
        recipient_age=40,
        channel=channel,
        event=event,
        tz=tz,
    )


def to_columns(events: Sequence[Event]) -> dict[str, list[object]]:
    names = list(events[0])
    return {name: [e[name] for e in events] for name in names}


def extract(events: Sequence[Event]) -> FeatureTable:
    return extract_features(to_columns(events))


def row_of(table: FeatureTable, i: int) -> dict[str, float]:
    """Features of the i-th conversation of a table, by name."""
    return {name: float(v) for name, v in zip(table.names, table.values[i], strict=True)}


def features_by_conversation(events: Sequence[Event]) -> dict[object, dict[str, float]]:
    table = extract(events)
    return {cid: row_of(table, i) for i, cid in enumerate(table.conversation_id.tolist())}


def single(events: Sequence[Event]) -> dict[str, float]:
    """Features of a table holding exactly one conversation."""
    rows = features_by_conversation(events)
    assert len(rows) == 1
    return next(iter(rows.values()))


def assert_features(got: dict[str, float], expected: dict[str, float]) -> None:
    """Each expected feature matches (NaN matches NaN), to 1e-12 relative."""
    for name, want in expected.items():
        value = got[name]
        if math.isnan(want):
            assert math.isnan(value), f"{name}: expected NaN, got {value}"
        else:
            assert value == pytest.approx(want, rel=1e-12, abs=1e-12), name


def recent(flags: Sequence[int]) -> float:
    """The documented 'recent' share: weight 0.1 on the newest, starting from 0."""
    value = 0.0
    for flag in flags:
        value = 0.9 * value + 0.1 * flag
    return value


def assert_tables_identical(got: FeatureTable, expected: FeatureTable) -> None:
    """Bit for bit (NaNs included), with the same ids."""
    assert got.names == expected.names
    np.testing.assert_array_equal(got.conversation_id, expected.conversation_id)
    np.testing.assert_array_equal(got.adult_id, expected.adult_id)
    np.testing.assert_array_equal(got.child_id, expected.child_id)
    assert got.values.tobytes() == expected.values.tobytes()


# ---------------------------------------------------------------- roles and ages


ROLE_CASES = [
    # initiator age, responder age, adult, adult_initiated, child_age, adult_age,
    # age_gap, child_is_minor, child_age_known, adult_age_known
    pytest.param(35, 14, "I", 1, 14, 35, 21, 1, 1, 1, id="both-known-initiator-older"),
    pytest.param(14, 35, "R", 0, 14, 35, 21, 1, 1, 1, id="both-known-responder-older"),
    pytest.param(16, 16, "I", 1, 16, 16, 0, 1, 1, 1, id="both-known-tie-initiator-adult"),
    pytest.param(19, 45, "R", 0, 19, 45, 26, 0, 1, 1, id="both-known-both-adults"),
    pytest.param(40, NAN, "I", 1, NAN, 40, NAN, 0, 0, 1, id="only-initiator-known-adult"),
    pytest.param(NAN, 40, "R", 0, NAN, 40, NAN, 0, 0, 1, id="only-responder-known-adult"),
    pytest.param(13, NAN, "R", 0, 13, NAN, NAN, 1, 1, 0, id="only-initiator-known-minor"),
    pytest.param(NAN, 13, "I", 1, 13, NAN, NAN, 1, 1, 0, id="only-responder-known-minor"),
    pytest.param(18, NAN, "I", 1, NAN, 18, NAN, 0, 0, 1, id="only-initiator-known-18"),
    pytest.param(NAN, NAN, "I", 1, NAN, NAN, NAN, 0, 0, 0, id="none-known-even-initiator"),
]


@pytest.mark.parametrize(
    (
        "initiator_age",
        "responder_age",
        "adult",
        "adult_initiated",
        "child_age",
        "adult_age",
        "age_gap",
        "child_is_minor",
        "child_age_known",
        "adult_age_known",
    ),
    ROLE_CASES,
)
def test_role_rule_and_age_features(
    initiator_age: float,
    responder_age: float,
    adult: str,
    adult_initiated: float,
    child_age: float,
    adult_age: float,
    age_gap: float,
    child_is_minor: float,
    child_age_known: float,
    adult_age_known: float,
) -> None:
    # I starts the conversation, R replies; each age is declared on both events.
    events = [
        ev("c", 0, "I", "R", sender_age=initiator_age, recipient_age=responder_age),
        ev("c", 60, "R", "I", sender_age=responder_age, recipient_age=initiator_age),
    ]
    table = extract(events)
    assert_features(
        row_of(table, 0),
        {
            "adult_initiated": adult_initiated,
            "child_age": child_age,
            "adult_age": adult_age,
            "age_gap": age_gap,
            "child_is_minor": child_is_minor,
            "child_age_known": child_age_known,
            "adult_age_known": adult_age_known,
        },
    )
    child = "R" if adult == "I" else "I"
    assert (table.adult_id[0], table.child_id[0]) == (adult, child)


#: (sender, event, channel) of each event, in time order; "I" sends the first one.
NO_AGE_CASES = [
    # messages 1 : 1, nothing else: even, the initiator
    pytest.param([("I", "message", "direct"), ("R", "message", "direct")], "I", id="even"),
    # messages 1 : 2: -1
    pytest.param(
        [("I", "message", "direct"), ("R", "message", "direct"), ("R", "media", "direct")],
        "R",
        id="responder-writes-more",
    ),
    # messages 1 : 1; request by R only: -1
    pytest.param(
        [
            ("I", "message", "direct"),
            ("R", "contact_request", "direct"),
            ("R", "message", "direct"),
        ],
        "R",
        id="responder-sent-a-request",
    ),
    # requests by both: no point; messages 1 : 1: even
    pytest.param(
        [
            ("I", "contact_request", "public"),
            ("R", "contact_request", "public"),
            ("I", "message", "direct"),
            ("R", "message", "direct"),
        ],
        "I",
        id="both-sent-requests",
    ),
    # messages 2 : 2; external events 0 : 1: -1
    pytest.param(
        [
            ("I", "message", "direct"),
            ("I", "message", "direct"),
            ("R", "message", "direct"),
            ("R", "message", "external"),
        ],
        "R",
        id="responder-shares-a-link",
    ),
    # docs: a contact answers a first message and pushes for another app: messages 1 : 2
    # (-1), external 0 : 1 (-1): the pusher
    pytest.param(
        [("I", "message", "direct"), ("R", "message", "direct"), ("R", "message", "external")],
        "R",
        id="docs-example-pusher",
    ),
    # messages 1 : 1; R blocks I: I was blocked by the other, +1
    pytest.param(
        [("I", "message", "direct"), ("R", "message", "direct"), ("R", "block", "direct")],
        "I",
        id="initiator-blocked",
    ),
    # messages 1 : 1; I reports R: R was reported by the other, -1
    pytest.param(
        [("I", "message", "direct"), ("R", "message", "direct"), ("I", "report", "direct")],
        "R",
        id="responder-reported",
    ),
    # request by I (+1), messages 1 : 3 (-1), external 0 : 1 (-1): -1
    pytest.param(
        [
            ("I", "contact_request", "public"),
            ("R", "message", "direct"),
            ("I", "message", "direct"),
            ("R", "message", "direct"),
            ("R", "message", "external"),
        ],
        "R",
        id="points-add-up",
    ),
    # the same signs both ways: request by I (+1), messages 1 : 2 (-1): even
    pytest.param(
        [
            ("I", "contact_request", "public"),
            ("R", "message", "direct"),
            ("R", "message", "direct"),
        ],
        "I",
        id="points-cancel-initiator",
    ),
]


@pytest.mark.parametrize(("events", "adult"), NO_AGE_CASES)
def test_role_rule_without_ages_counts_evidence_points(
    events: list[tuple[str, str, str]], adult: str
) -> None:
    rows = [
        ev("c", 60 * i, sender, "R" if sender == "I" else "I", event=event, channel=channel)
        for i, (sender, event, channel) in enumerate(events)
    ]
    table = extract(rows)
    child = "R" if adult == "I" else "I"
    assert (table.adult_id[0], table.child_id[0]) == (adult, child)
    assert_features(
        row_of(table, 0),
        {
            "adult_initiated": 1.0 if adult == "I" else 0.0,
            "child_age": NAN,
            "adult_age": NAN,
            "child_age_known": 0,
            "adult_age_known": 0,
        },
    )


def test_known_ages_outweigh_the_evidence_points() -> None:
    # I (13) sends a request, writes more and shares a link; R (40) is still the adult.
    events = [
        ev("c", 0, "I", "R", sender_age=13, event="contact_request"),
        ev("c", 60, "I", "R", channel="external"),
        ev("c", 120, "I", "R"),
        ev("c", 180, "R", "I", sender_age=40),
    ]
    table = extract(events)
    assert (table.adult_id[0], table.child_id[0]) == ("R", "I")
    assert_features(row_of(table, 0), {"adult_initiated": 0, "adult_sent_request": 0})


def test_each_participants_age_is_the_last_declared_in_its_conversation() -> None:
    events = [
        # c1: I declares 30 as a sender, then 31 as a recipient (the later one wins);
        # R declares 12 only once, as a sender.
        ev("c1", 0, "I", "R", sender_age=30),
        ev("c1", 60, "R", "I", sender_age=12, recipient_age=31),
        ev("c1", 120, "I", "R"),
        # c2: the same two accounts, no age declared here: ages do not carry over.
        ev("c2", 200, "I", "R"),
    ]
    rows = features_by_conversation(events)
    # c1: adult I is 31, child R is 12, gap 31 - 12 = 19.
    assert_features(
        rows["c1"],
        {
            "adult_age": 31,
            "child_age": 12,
            "age_gap": 19,
            "child_is_minor": 1,
            "adult_initiated": 1,
        },
    )
    assert_features(
        rows["c2"],
        {
            "adult_age": NAN,
            "child_age": NAN,
            "age_gap": NAN,
            "child_age_known": 0,
            "adult_age_known": 0,
            "child_is_minor": 0,
        },
    )


# ---------------------------------------------------------------- contact


def test_contact_counts_span_shares_and_unanswered_run() -> None:
    events = [
        adult_to_child(0, event="contact_request"),
        child_to_adult(60, event="contact_accept"),
        adult_to_child(120),
        adult_to_child(180, event="media"),
        adult_to_child(240),
        child_to_adult(300),
        adult_to_child(2 * HOUR),
    ]
    assert_features(
        single(events),
        {
            "adult_initiated": 1,
            "adult_sent_request": 1,
            # every event counts, whatever its type: 7
            "n_events": 7,
            # (T0 + 7200 - T0) / 3600
            "span_hours": 2.0,
            # messages and media only: adult 4 (120, 180, 240, 7200), child 1 (300):
            # (4 + 2) / (5 + 4)
            "adult_message_share": 6 / 9,
            # sent by the adult, communication events only: A A A K A
            # 0.1, 0.19, 0.271, 0.2439, 0.31951
            "adult_recent_share": 0.31951,
            # runs over messages and media: A A A | K | A -> longest adult run 3
            "adult_max_unanswered_run": 3,
        },
    )
    assert recent([1, 1, 1, 0, 1]) == pytest.approx(0.31951, abs=1e-15)


def test_only_messages_and_media_answer_a_run() -> None:
    # The child's block between two adult messages is not a reply.
    events = [
        adult_to_child(0),
        child_to_adult(60, event="block"),
        adult_to_child(120),
        adult_to_child(180, event="media"),
    ]
    # comm events: A A A -> run 3, share (3 + 2) / (3 + 4)
    assert_features(
        single(events),
        {
            "adult_max_unanswered_run": 3,
            "adult_message_share": 5 / 7,
            "adult_recent_share": recent([1, 1, 1]),
            "n_events": 4,
            "child_blocks_reports": 1,
        },
    )


def test_run_and_shares_are_the_adults_when_the_child_initiates() -> None:
    events = [child_to_adult(0), child_to_adult(60), child_to_adult(120), adult_to_child(180)]
    # child run 3, adult run 1; adult share (1 + 2) / (4 + 4); recent K K K A -> 0.1
    assert_features(
        single(events),
        {
            "adult_initiated": 0,
            "adult_max_unanswered_run": 1,
            "adult_message_share": 3 / 8,
            "adult_recent_share": 0.1,
        },
    )


def test_the_adults_share_is_pulled_toward_one_half_while_there_are_few_events() -> None:
    one = single([adult_to_child(0)])
    many = single([adult_to_child(60 * i) for i in range(40)])
    # (1 + 2) / (1 + 4) = 0.6 and (40 + 2) / (40 + 4)
    assert_features(one, {"adult_message_share": 0.6, "adult_recent_share": 0.1})
    assert_features(many, {"adult_message_share": 42 / 44, "adult_recent_share": 1 - 0.9**40})


def test_conversation_without_messages_has_neutral_share_and_no_run() -> None:
    events = [adult_to_child(0, event="contact_request")]
    assert_features(
        single(events),
        {
            # (0 + 2) / (0 + 4): no evidence either way
            "adult_message_share": 0.5,
            # no communication event: still the starting value
            "adult_recent_share": 0.0,
            "adult_max_unanswered_run": 0,
            "span_hours": 0.0,
            "n_events": 1,
            "adult_sent_request": 1,
        },
    )


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        pytest.param([adult_to_child(0, event="contact_request")], 1.0, id="adult-request"),
        pytest.param(
            [adult_to_child(0), adult_to_child(60, event="contact_request", channel="public")],
            1.0,
            id="adult-request-later",
        ),
        pytest.param(
            [child_to_adult(0, event="contact_request"), adult_to_child(60)],
            0.0,
            id="child-request-only",
        ),
        pytest.param(
            [adult_to_child(0), child_to_adult(60, event="contact_accept")],
            0.0,
            id="no-request",
        ),
        pytest.param(
            [
                adult_to_child(0, conversation="other", event="contact_request"),
                adult_to_child(60),
            ],
            0.0,
            id="request-in-another-conversation",
        ),
    ],
)
def test_adult_sent_request(events: list[Event], expected: float) -> None:
    rows = features_by_conversation(events)
    assert_features(rows["c"], {"adult_sent_request": expected})


# ---------------------------------------------------------------- escalation


def test_escalation_is_decayed_counts_at_the_last_event() -> None:
    events = [
        adult_to_child(0),
        adult_to_child(6 * DAY, event="contact_request"),  # every event type counts
        child_to_adult(7 * DAY),
    ]
    # ages at the last event: 7 days, 1 day, 0 days
    short = math.exp(-7.0) + math.exp(-1.0) + 1.0  # tau 1 day
    long = math.exp(-7.0 / 7.0) + math.exp(-1.0 / 7.0) + 1.0  # tau 7 days
    assert_features(
        single(events),
        {
            # short / (1 day / 1 day)
            "recent_rate_per_day": short,
            # span 7 days: the exponent min(1, 7 / 7) is 1, (7 * short / long) ** 1
            "escalation_ratio": 7.0 * short / long,
        },
    )


def test_escalation_of_a_single_event_is_no_evidence() -> None:
    # short = long = 1: rate 1 / 1 day; ratio 7 * 1 / 1 = 7, but the span is 0: 7 ** 0 = 1.
    assert_features(
        single([adult_to_child(0)]), {"recent_rate_per_day": 1.0, "escalation_ratio": 1.0}
    )


def test_escalation_of_a_burst_is_pulled_toward_one() -> None:
    # Three events one hour apart: ages 2 h, 1 h, 0; span 2 h.
    events = [adult_to_child(0), child_to_adult(HOUR), adult_to_child(2 * HOUR)]
    short = math.exp(-2 / 24) + math.exp(-1 / 24) + 1.0
    long = math.exp(-2 / 168) + math.exp(-1 / 168) + 1.0
    assert_features(
        single(events),
        {
            "recent_rate_per_day": short,
            # exponent min(1, 2 h / 168 h)
            "escalation_ratio": (7.0 * short / long) ** (2 / 168),
        },
    )


def test_escalation_of_a_half_week_old_conversation() -> None:
    events = [adult_to_child(0), child_to_adult(DAY // 2 * 7)]  # 3.5 days apart
    short = math.exp(-3.5) + 1.0
    long = math.exp(-0.5) + 1.0
    # exponent 3.5 / 7 = 0.5
    assert_features(single(events), {"escalation_ratio": math.sqrt(7.0 * short / long)})


def test_events_in_the_same_second_count_fully() -> None:
    events = [adult_to_child(0), child_to_adult(0), adult_to_child(0)]
    # three events at the last event's time: 3 / 1 day; the span is 0: 21 ** 0 = 1
    assert_features(
        single(events),
        {"recent_rate_per_day": 3.0, "escalation_ratio": 1.0, "span_hours": 0.0},
    )


def test_escalation_is_measured_at_each_conversations_own_last_event() -> None:
    # A conversation that went quiet 30 days before another one is not decayed further.
    events = [adult_to_child(0, conversation="old"), adult_to_child(30 * DAY, conversation="new")]
    rows = features_by_conversation(events)
    assert rows["old"]["recent_rate_per_day"] == rows["new"]["recent_rate_per_day"] == 1.0


# ---------------------------------------------------------------- night, in the child's local time


@pytest.mark.parametrize(
    ("tz", "night"),
    [
        pytest.param(60, 1, id="UTC+01:00 22:30 night"),
        pytest.param(-300, 0, id="UTC-05:00 16:30 day"),
        pytest.param(0, 0, id="UTC 21:30 day"),
        pytest.param(509, 1, id="UTC+08:29 05:59 night"),
        pytest.param(510, 0, id="UTC+08:30 06:00 day"),
        pytest.param(-720, 0, id="UTC-12:00 09:30 day"),
        pytest.param(840, 0, id="UTC+14:00 11:30 day"),
        pytest.param(150, 1, id="UTC+02:30 00:00 next day night"),
    ],
)
def test_night_is_in_the_childs_local_time(tz: int, night: int) -> None:
    # 21:30 UTC, sent to the child whose offset is tz minutes.
    event = adult_to_child(21 * HOUR + 30 * MINUTE, tz=tz)
    # one communication event: night / (1 + 4); recent 0.1 * night
    assert_features(
        single([event]),
        {"child_night_share": night / 5, "child_recent_night_share": 0.1 * night},
    )


@pytest.mark.parametrize(
    ("seconds_of_day", "night"),
    [
        pytest.param(22 * HOUR, 1, id="22:00:00 night"),
        pytest.param(22 * HOUR - 1, 0, id="21:59:59 day"),
        pytest.param(6 * HOUR - 1, 1, id="05:59:59 night"),
        pytest.param(6 * HOUR, 0, id="06:00:00 day"),
        pytest.param(0, 1, id="00:00:00 night"),
    ],
)
def test_night_window_is_22_to_06(seconds_of_day: int, night: int) -> None:
    assert_features(
        single([adult_to_child(seconds_of_day, tz=0)]), {"child_night_share": night / 5}
    )


def test_child_sent_events_use_the_childs_latest_known_offset() -> None:
    events = [
        # Child's offset not known yet: its clock is unknown, the event is not timed on
        # it (the adult's +01:00 does not stand in: 22:30 there would be night)
        child_to_adult(21 * HOUR + 30 * MINUTE, tz=60),
        # Child receives at +01:00: 21:40 + 1:00 = 22:40 -> night
        adult_to_child(21 * HOUR + 40 * MINUTE, tz=60),
        # Child sends; the adult's -05:00 is ignored, the child's +01:00 is used:
        # 21:50 + 1:00 = 22:50 -> night (with -05:00 it would be 16:50, day)
        child_to_adult(21 * HOUR + 50 * MINUTE, tz=-300),
        # Child receives at +03:00 next day: 04:00 + 3:00 = 07:00 -> day
        adult_to_child(DAY + 4 * HOUR, tz=180),
        # Child sends, latest known +03:00: 04:10 + 3:00 = 07:10 -> day
        # (the earlier +01:00 would give 05:10, night)
        child_to_adult(DAY + 4 * HOUR + 10 * MINUTE, tz=60),
        # A contact request is not counted, but it tells the child's offset (+01:00);
        # 04:20 + 1:00 = 05:20 would be night.
        adult_to_child(DAY + 4 * HOUR + 20 * MINUTE, tz=60, event="contact_request"),
        # Child sends, latest known +01:00: 04:30 + 1:00 = 05:30 -> night
        child_to_adult(DAY + 4 * HOUR + 30 * MINUTE, tz=180),
    ]
    # communication events: 6 (the request is not one), 5 on the child's known clock; at
    # night: 22:40, 22:50, 05:30 -> 3 / (5 + 4); recent over night flags 1 1 0 0 1; the
    # child's clock was known for 5 of 6
    assert_features(
        single(events),
        {
            "child_night_share": 3 / 9,
            "child_recent_night_share": recent([1, 1, 0, 0, 1]),
            "child_tz_known_share": 5 / 6,
            "adult_initiated": 0,
        },
    )


def test_the_end_of_the_night_with_an_offset() -> None:
    # 21:59:59 UTC at +08:00 is 05:59:59 local (night); 22:00:00 UTC at +08:00 is 06:00
    # (day): 1 / (2 + 4).
    events = [
        adult_to_child(21 * HOUR + 59 * MINUTE + 59, tz=480),
        adult_to_child(DAY + 22 * HOUR, tz=480),
    ]
    assert_features(single(events), {"child_night_share": 1 / 6})


def test_the_adults_own_offset_is_ignored() -> None:
    # The adult's offset (+10:00) arrives on the events the child sends; it must not be used.
    events = [
        adult_to_child(23 * HOUR, tz=0),  # child 23:00 -> night
        child_to_adult(23 * HOUR + MINUTE, tz=600),  # child's 0: 23:01 night (+10:00: 09:01)
        adult_to_child(DAY + 10 * HOUR, tz=0),  # 10:00 -> day
        child_to_adult(DAY + 10 * HOUR + MINUTE, tz=600),  # 10:01 day (+10:00: 20:01)
    ]
    # 2 / (4 + 4) (with the adult's offset it would be 1 / 8)
    assert_features(
        single(events),
        {"child_night_share": 0.25, "child_recent_night_share": recent([1, 1, 0, 0])},
    )


def test_recent_night_share_follows_a_late_shift_into_the_night() -> None:
    # Ten messages by day, then two at night.
    events = [adult_to_child(NOON + MINUTE * i) for i in range(10)]
    events += [child_to_adult(DAY + 23 * HOUR), adult_to_child(DAY + 23 * HOUR + MINUTE)]
    assert_features(
        single(events),
        {
            # 2 / (12 + 4)
            "child_night_share": 0.125,
            # ten zeros leave 0; then 0.1, then 0.9 * 0.1 + 0.1
            "child_recent_night_share": 0.19,
        },
    )


# ---------------------------------------------------------------- unknown time zones


def test_unknown_offsets_are_unknown_never_utc() -> None:
    # 23:00 and 23:30 UTC: night on a UTC clock, but the child's offset is never given
    unknown = [
        adult_to_child(23 * HOUR, tz=None, channel="encrypted", event="media"),
        child_to_adult(23 * HOUR + 30 * MINUTE, tz=None, channel="encrypted"),
    ]
    assert_features(
        single(unknown),
        {
            "child_night_share": 0.0,
            "child_recent_night_share": 0.0,
            "private_night_share": 0.0,
            "adult_night_media_rate": 0.0,
            "child_tz_known_share": 0.0,
        },
    )
    # the same events at a given offset of 0 (UTC): both at night on the child's clock
    utc = [
        adult_to_child(23 * HOUR, tz=0, channel="encrypted", event="media"),
        child_to_adult(23 * HOUR + 30 * MINUTE, tz=None, channel="encrypted"),
    ]
    assert_features(
        single(utc),
        {
            "child_night_share": 2 / (2 + 4),
            "private_night_share": 2 / (2 + 4),
            "adult_night_media_rate": 1 / (1 + 4),
            "child_tz_known_share": 1.0,
        },
    )


def test_an_offset_learned_from_earlier_events_times_later_unknown_ones() -> None:
    events = [
        # the child receives at +02:00 at noon: its clock is now known (day)
        adult_to_child(NOON, tz=120),
        # no offset given, 21:30 UTC: on the learned +02:00 it is 23:30 (night)
        adult_to_child(21 * HOUR + 30 * MINUTE, tz=None, event="media"),
        # the child sends: its own latest known clock, +02:00: 21:40 -> 23:40 (night)
        child_to_adult(21 * HOUR + 40 * MINUTE, tz=None),
    ]
    # 3 communication events on a known child clock, 2 at night; the adult sent 2, both
    # on the child's known clock, 1 media at night
    assert_features(
        single(events),
        {
            "child_night_share": 2 / (3 + 4),
            "child_recent_night_share": recent([0, 1, 1]),
            "adult_night_media_rate": 1 / (2 + 4),
            "child_tz_known_share": 1.0,
        },
    )


# ---------------------------------------------------------------- channels


def test_channel_moves_levels_and_speed() -> None:
    events = [
        adult_to_child(NOON, channel="public"),  # level 0
        child_to_adult(NOON + 1 * HOUR, channel="direct"),  # 2 > 0: move 1
        adult_to_child(NOON + 2 * HOUR, channel="public"),  # down
        adult_to_child(NOON + 3 * HOUR, channel="direct"),  # 2, not above the highest (2)
        adult_to_child(NOON + 6 * HOUR, channel="encrypted"),  # 4 > 2: move 2, first secure
        child_to_adult(NOON + 7 * HOUR, channel="ephemeral"),  # 3 < 4
        adult_to_child(NOON + 8 * HOUR, channel="external"),  # 5 > 4: move 3; adult's external
        child_to_adult(NOON + 9 * HOUR, channel="external"),  # the child's: not counted
        adult_to_child(NOON + 9 * HOUR + 1, channel="external", event="contact_request"),
    ]
    assert_features(
        single(events),
        {
            "max_channel": 5,
            # public, direct, encrypted, ephemeral, external (no group)
            "n_channels_used": 5,
            "upward_channel_moves": 3,
            # a move from public: exp(-(6 h) / (24 h))
            "secure_move_speed": math.exp(-0.25),
            # events of any type the adult sent on external: the message and the request
            "adult_external_events": 2,
            # all by day (12:00-21:00 UTC, offset 0)
            "private_night_share": 0.0,
            "child_night_share": 0.0,
        },
    )


@pytest.mark.parametrize(
    ("channels", "times", "speed", "moves"),
    [
        pytest.param(("public", "direct"), (0, HOUR), 0.0, 1, id="never-secure"),
        # starts there: not a move, whatever comes next
        pytest.param(("ephemeral", "direct"), (0, HOUR), 0.0, 0, id="starts-ephemeral"),
        pytest.param(("encrypted", "external"), (0, HOUR), 0.0, 1, id="starts-encrypted"),
        pytest.param(("external", "external"), (0, HOUR), 0.0, 0, id="starts-external"),
        # exp(-(2 days) / (1 day))
        pytest.param(("direct", "external"), (0, 2 * DAY), math.exp(-2.0), 1, id="after-2-days"),
        # exp(-0)
        pytest.param(("group", "ephemeral"), (0, 0), 1.0, 1, id="same-second"),
        # exp(-(1 h) / (24 h))
        pytest.param(("public", "encrypted"), (0, HOUR), math.exp(-1 / 24), 1, id="after-1-hour"),
    ],
)
def test_secure_move_speed_only_for_a_move_from_a_visible_start(
    channels: tuple[str, str], times: tuple[int, int], speed: float, moves: float
) -> None:
    events = [
        adult_to_child(times[0], channel=channels[0]),
        child_to_adult(times[1], channel=channels[1]),
    ]
    assert_features(single(events), {"secure_move_speed": speed, "upward_channel_moves": moves})


def test_secure_move_speed_uses_the_first_secure_event() -> None:
    events = [
        adult_to_child(0, channel="direct"),
        adult_to_child(12 * HOUR, channel="ephemeral"),  # the first secure event: 12 h
        adult_to_child(13 * HOUR, channel="direct"),
        adult_to_child(20 * HOUR, channel="external"),
    ]
    assert_features(single(events), {"secure_move_speed": math.exp(-0.5)})


def test_private_night_share() -> None:
    events = [
        adult_to_child(23 * HOUR, channel="ephemeral"),  # private, child 23:00: 1
        child_to_adult(23 * HOUR + 10 * MINUTE, channel="encrypted", tz=-300),  # child's 0: 1
        adult_to_child(23 * HOUR + 20 * MINUTE, channel="direct"),  # night, not private
        # private at night, but not a communication event
        adult_to_child(23 * HOUR + 30 * MINUTE, channel="ephemeral", event="contact_request"),
        adult_to_child(DAY + NOON, channel="external", event="media"),  # private, by day
    ]
    # 4 communication events, 2 private at night: 2 / (4 + 4); at night 3: 3 / 8
    assert_features(single(events), {"private_night_share": 0.25, "child_night_share": 3 / 8})


@pytest.mark.parametrize(("tz", "expected"), [(60, 1 / 5), (-300, 0.0)])
def test_private_night_share_is_in_the_childs_local_time(tz: int, expected: float) -> None:
    events = [
        # The adult's clock is +10:00 (from the event it receives); the child's is not
        # known yet, so the event is not timed on the child's clock.
        child_to_adult(10 * HOUR, tz=600),
        # 21:30 UTC: 22:30 at the child's +01:00 (night), 16:30 at -05:00 (day); on the
        # adult's clock 07:30 either way, which must not count.
        adult_to_child(21 * HOUR + 30 * MINUTE, channel="encrypted", tz=tz),
    ]
    # 1 or 0 of 1 communication event on the child's known clock: 1 / (1 + 4) or 0
    assert_features(single(events), {"private_night_share": expected})


# ---------------------------------------------------------------- media and safety


def test_media_rates_and_safety_events_by_role() -> None:
    events = [
        adult_to_child(NOON, event="media"),
        adult_to_child(NOON + 60, event="media"),
        child_to_adult(NOON + 120, event="media"),
        child_to_adult(NOON + 180),
        child_to_adult(NOON + 240, event="block"),
        child_to_adult(NOON + 300, event="report"),
        adult_to_child(NOON + 360, event="report"),  # the adult's report is not the child's
    ]
    assert_features(
        single(events),
        {
            # adult: 2 media of 2 communication events: 2 / (2 + 4)
            "adult_media_rate": 2 / 6,
            # child: 1 media of 2: 1 / (2 + 4)
            "child_media_rate": 1 / 6,
            "child_blocks_reports": 2,
            # by day
            "adult_night_media_rate": 0.0,
        },
    )


def test_adult_night_media_rate() -> None:
    events = [
        # The adult's clock is +10:00, the child's stands in as +10:00 too: 20:00, by day.
        child_to_adult(10 * HOUR, tz=600),
        # child 23:00 (offset 0): night media; on the adult's clock 09:00, which must not count
        adult_to_child(23 * HOUR, event="media"),
        adult_to_child(DAY + NOON, event="media"),  # by day
        adult_to_child(DAY + 23 * HOUR + 30 * MINUTE),  # night, not media
        child_to_adult(
            DAY + 23 * HOUR + 40 * MINUTE, event="media", tz=600
        ),  # the child's media; the adult stays at +10:00
        # 21:30 UTC at the child's +01:00 is 22:30: night media
        adult_to_child(2 * DAY + 21 * HOUR + 30 * MINUTE, event="media", tz=60),
        # 23:30 UTC at the child's -05:00 is 18:30: by day
        adult_to_child(3 * DAY + 23 * HOUR + 30 * MINUTE, event="media", tz=-300),
    ]
    # adult: 5 communication events, 4 media, 2 of them at night in the child's time
    # (on the adult's +10:00 clock only the one at 12:00 UTC would be); child: 2, 1 media
    assert_features(
        single(events),
        {
            "adult_night_media_rate": 2 / (5 + 4),
            "adult_media_rate": 4 / (5 + 4),
            "child_media_rate": 1 / (2 + 4),
        },
    )


# ---------------------------------------------------------------- per-account features


def account_feature_events() -> list[Event]:
    """Adult A (40) in five conversations, adult B (50) in one.

    A contacts minors K1 (13, in two conversations, once on ephemeral) and K2 (15),
    adult U1 (30, on external) and U2 (age unknown, on encrypted).
    """

    def a_to(
        conv: str, t: int, who: str, age: float, event: str = "message", channel: str = "direct"
    ) -> Event:
        return ev(conv, t, "A", who, sender_age=40, recipient_age=age, event=event, channel=channel)

    def to_a(conv: str, t: int, who: str, age: float, event: str = "message") -> Event:
        return ev(conv, t, who, "A", sender_age=age, recipient_age=40, event=event)

    return [
        a_to("c1", 0, "K1", 13, "contact_request"),
        to_a("c1", 1, "K1", 13, "contact_accept"),
        a_to("c1", 2, "K1", 13),
        to_a("c1", 3, "K1", 13),
        a_to("c1", 4, "K1", 13),
        a_to("c2", 10, "K1", 13, "media", "ephemeral"),  # same minor, private channel
        a_to("c3", 20, "K2", 15, "contact_request"),
        a_to("c3", 21, "K2", 15, "contact_request"),
        a_to("c3", 22, "K2", 15),
        to_a("c3", 23, "K2", 15, "block"),
        to_a("c3", 24, "K2", 15, "report"),
        a_to("c4", 30, "U1", 30, channel="external"),  # private, but an adult
        to_a("c4", 31, "U1", 30, "report"),  # from an adult: not counted
        a_to("c5", 40, "U2", NAN, "contact_request", "encrypted"),  # age unknown
        ev("c6", 50, "B", "K1", sender_age=50, recipient_age=13),
        # K1 accepts a request B never sent: 0 requests - 1 accept floors at 0
        ev("c6", 51, "K1", "B", sender_age=13, recipient_age=50, event="contact_accept"),
    ]


def test_account_features_join_each_adults_totals_to_its_conversations() -> None:
    table = extract(account_feature_events())
    # A: contacted {K1, K2, U1, U2} = 4, minors {K1, K2} = 2 (K1 once despite 4 events
    #    in 2 conversations), minors on private channels {K1} = 1 (U1 is an adult, U2's
    #    age unknown); requests 1 + 2 + 1 = 4, accepts received 1 -> 3 unaccepted of 4;
    #    block + report from K2 (15) = 2, U1's report (30) is not from a minor: 2 / 2 minors.
    a_row = {
        "adult_minor_fanout": 2,
        "adult_minor_contact_share": 0.5,
        "adult_private_minor_fanout": 1,
        "adult_unaccepted_requests": 3,
        "adult_unaccepted_share": 0.75,
        "adult_blocks_reports_from_minors": 2,
        "adult_flagged_per_minor": 1.0,
    }
    # B: contacted {K1}, a minor: 1, share 1 / 1; max(0 - 1, 0) = 0 of max(1, 0);
    #    nothing received.
    b_row = {
        "adult_minor_fanout": 1,
        "adult_minor_contact_share": 1.0,
        "adult_private_minor_fanout": 0,
        "adult_unaccepted_requests": 0,
        "adult_unaccepted_share": 0.0,
        "adult_blocks_reports_from_minors": 0,
        "adult_flagged_per_minor": 0.0,
    }
    expected = {"c1": a_row, "c2": a_row, "c3": a_row, "c4": a_row, "c5": a_row, "c6": b_row}
    assert table.conversation_id.tolist() == ["c1", "c2", "c3", "c4", "c5", "c6"]
    assert table.adult_id.tolist() == ["A", "A", "A", "A", "A", "B"]
    assert table.child_id.tolist() == ["K1", "K1", "K2", "U1", "U2", "K1"]
    for i, cid in enumerate(table.conversation_id.tolist()):
        assert_features(row_of(table, i), expected[cid])
    # a request in the conversation itself: c1, c3, c5
    assert table.column("adult_sent_request").tolist() == [1, 0, 1, 0, 1, 0]


def test_flagged_per_minor_can_exceed_one() -> None:
    # One minor contacted, three blocks and reports from minors (the contacted one and
    # another that A never wrote to).
    events = [
        ev("c1", 0, "A", "K1", sender_age=40, recipient_age=13),
        ev("c1", 1, "K1", "A", sender_age=13, recipient_age=40, event="block"),
        ev("c1", 2, "K1", "A", sender_age=13, recipient_age=40, event="report"),
        ev("c2", 3, "K2", "A", sender_age=14, recipient_age=40, event="report"),
    ]
    rows = features_by_conversation(events)
    # flagged 3, fan-out 1 (K2 received nothing from A): 3 / max(1, 1)
    assert_features(
        rows["c1"],
        {
            "adult_blocks_reports_from_minors": 3,
            "adult_minor_fanout": 1,
            "adult_flagged_per_minor": 3.0,
        },
    )
    # c2: K2 (14) reported A (40): A is the adult there too, fan-out 1
    assert_features(rows["c2"], {"adult_flagged_per_minor": 3.0, "adult_minor_fanout": 1})


def test_private_minor_fanout_counts_each_minor_once() -> None:
    def a_to(
        conv: str, t: int, who: str, age: float, channel: str, event: str = "message"
    ) -> Event:
        return ev(conv, t, "A", who, sender_age=40, recipient_age=age, channel=channel, event=event)

    events = [
        a_to("c1", 0, "K1", 12, "direct"),
        a_to("c1", 1, "K1", 12, "encrypted"),  # K1 private
        a_to("c2", 2, "K1", 12, "external", "media"),  # K1 again, another conversation
        a_to("c3", 3, "K2", 14, "ephemeral", "contact_request"),  # a request counts: K2
        a_to("c4", 4, "K3", 15, "ephemeral", "block"),  # a block is not a contact
        a_to("c5", 5, "K4", 16, "direct"),  # a minor, not private
    ]
    rows = features_by_conversation(events)
    # minors {K1, K2, K4} = 3 of contacts {K1, K2, K4} = 3; private {K1, K2} = 2
    for cid in ("c1", "c2", "c3", "c5"):
        assert_features(
            rows[cid],
            {
                "adult_private_minor_fanout": 2,
                "adult_minor_fanout": 3,
                "adult_minor_contact_share": 1.0,
                # no request answered: 1 of 1
                "adult_unaccepted_requests": 1,
                "adult_unaccepted_share": 1.0,
            },
        )


def test_supervised_minor_share_counts_contact_with_minors_in_view_of_others() -> None:
    def a_to(conv: str, t: int, who: str, age: float, channel: str, **kw: Any) -> Event:
        return ev(conv, t, "A", who, sender_age=40, recipient_age=age, channel=channel, **kw)

    events = [
        a_to("c1", 0, "K1", 12, "public"),  # supervised: a public space
        a_to("c1", 1, "K1", 12, "group", event="media"),  # supervised: a group channel
        a_to("c2", 2, "K2", 13, "direct", room_size=4),  # supervised: a room of 4
        a_to("c2", 3, "K2", 13, "direct", event="contact_request"),  # one to one
        a_to("c3", 4, "K3", 14, "encrypted"),  # one to one
        a_to("c3", 5, "K3", 14, "direct", event="block"),  # not a contact event
        a_to("c4", 6, "B", 30, "public"),  # to an adult: not counted
        a_to("c5", 7, "K4", NAN, "public"),  # age not declared on the event: not counted
        ev("c3", 8, "K3", "A", sender_age=14, recipient_age=40, channel="group"),  # from K3
    ]
    rows = features_by_conversation(events)
    # A: 3 of 5 contact events to minors in view of others = 0.6, in steps of 0.05
    for cid in ("c1", "c3"):
        assert_features(rows[cid], {"adult_supervised_minor_share": 0.6})
    # 2 of 3 = 0.667, rounded down to 0.65
    two_of_three = features_by_conversation(events[:2] + events[4:5])
    assert_features(two_of_three["c1"], {"adult_supervised_minor_share": 0.65})
    # K3 sent one event, to an adult: 0 (nothing sent to a minor)
    only_k3 = features_by_conversation([events[-1]])
    assert_features(only_k3["c3"], {"adult_supervised_minor_share": 0.0})


def test_a_minor_counts_for_fanout_only_where_the_event_declares_the_age() -> None:
    # K's age (12) is declared only on K's own messages: A's message to K carries no
    # recipient age, so A's fan-out is 0 although the conversation knows K is 12.
    events = [
        ev("c", 0, "A", "K", sender_age=40, channel="encrypted"),
        ev("c", 60, "K", "A", sender_age=12),
    ]
    assert_features(
        single(events),
        {
            "child_age": 12,
            "child_is_minor": 1,
            "adult_minor_fanout": 0,
            "adult_private_minor_fanout": 0,
            # contacts {K} = 1, minors 0: 0 / 1
            "adult_minor_contact_share": 0.0,
        },
    )


# ---------------------------------------------------------------- groups and where a pair met


def _room(t: int, sender: str, recipients: Sequence[str], *, room_size: int | None) -> list[Event]:
    """One message to group room ``g``: a row per member it reached."""
    ages = {"A": 40, "K": 13, "L": 14}
    return [
        ev("g", t, sender, r, sender_age=ages[sender], recipient_age=ages[r], channel="group",
           room_size=room_size)
        for r in recipients
    ]  # fmt: skip


def test_a_group_message_is_group_contact_not_direct_contact() -> None:
    # A writes three times to the room of A, K and L; K answers once, to the room.
    events = [
        *_room(0, "A", ["K", "L"], room_size=3),
        *_room(60, "A", ["K", "L"], room_size=3),
        *_room(120, "A", ["K", "L"], room_size=3),
        *_room(180, "K", ["A", "L"], room_size=3),
    ]
    rows = features_by_conversation(events)
    assert sorted(rows) == ["g|A|K", "g|A|L", "g|K|L"]
    ak = rows["g|A|K"]
    # 4 events between A and K, all group contact: none is a message one sent the other
    assert_features(
        ak,
        {
            "group_contact_events": 4,
            "n_events": 4,
            "adult_message_share": 0.5,  # (0 + 2) / (0 + 4): no direct messages
            "adult_max_unanswered_run": 0,
            "adult_minor_fanout": 0,  # posting to a room is not contacting each minor
            "pair_met_channel": 1,  # met in the group
            "pair_hours_to_private": NAN,  # never moved
            "child_tz_known_share": 0.0,  # no communication event between them
        },
    )
    assert_features(rows["g|K|L"], {"group_contact_events": 1, "n_events": 1})
    # the same rows without room_size: each is an event between its sender and recipient
    plain = features_by_conversation([{**e, "room_size": None} for e in events])["g|A|K"]
    assert_features(
        plain,
        {
            "group_contact_events": 0,
            "adult_message_share": (3 + 2) / (4 + 4),
            "adult_max_unanswered_run": 3,
            "adult_minor_fanout": 2,
        },
    )


def test_where_a_pair_met_and_when_it_moved_to_a_private_channel() -> None:
    events = [
        *_room(0, "A", ["K", "L"], room_size=3),  # A and K (and L) meet in the group
        *_room(HOUR, "K", ["A", "L"], room_size=3),
        # 3 hours after meeting, A and K move to a direct conversation of their own
        ev("d", 3 * HOUR, "A", "K", sender_age=40, recipient_age=13),
        ev("d", 3 * HOUR + 60, "K", "A", sender_age=13, recipient_age=40),
        # X and Y met directly
        ev("x", 0, "X", "Y", sender_age=40, recipient_age=13),
    ]
    rows = features_by_conversation(events)
    for cid in ("d", "g|A|K"):  # the pair's facts, across both of its conversations
        assert_features(rows[cid], {"pair_met_channel": 1, "pair_hours_to_private": 3.0})
    assert_features(rows["g|A|L"], {"pair_met_channel": 1, "pair_hours_to_private": NAN})
    assert_features(rows["x"], {"pair_met_channel": 2, "pair_hours_to_private": NAN})
    # per-account tallies passed in without pair facts: the facts are unknown, not zero
    account = rs.extract_account_features(to_columns(events))
    alone = rs.features.AccountFeatures(account_id=account.account_id, values=account.values)
    got = extract_features(to_columns(events), account_features=alone)
    assert np.isnan(got.column("pair_met_channel")).all()
    full = extract_features(to_columns(events), account_features=account)
    assert_tables_identical(full, extract(events))


def test_broadcast_rooms_are_set_aside_and_counted() -> None:
    big = [ev("b", 0, "A", "K", sender_age=40, recipient_age=13, channel="public", room_size=21)]
    events = [*big, ev("d", 60, "A", "K", sender_age=40, recipient_age=13)]
    msgs = rs.read_messages(to_columns(events))
    assert msgs.conversations.tolist() == ["d"]
    assert msgs.groups.n_broadcast == 1
    assert msgs.groups.broadcast_rows.tolist() == [0]
    # a larger limit keeps it: a room of 21 is then a group
    wide = rs.read_messages(to_columns(events), max_room_members=21)
    assert wide.conversations.tolist() == ["b", "d"]
    row = features_by_conversation(events)["d"]
    assert_features(row, {"pair_met_channel": 2})


# ---------------------------------------------------------------- table-level properties


def mixed_events() -> list[Event]:
    """Several conversations with distinct timestamps, including unknown ages."""
    events = account_feature_events()
    events += [
        adult_to_child(100 + i * 600, conversation="k", channel=ch, tz=60)
        for i, ch in enumerate(("public", "direct", "encrypted"))
    ]
    events += [ev("pq", 5_000, "p", "q"), ev("pq", 5_060, "q", "p", event="media", tz=-300)]
    return events


def test_features_do_not_depend_on_input_row_order() -> None:
    events = mixed_events()
    expected = extract(events)
    rng = np.random.default_rng(20240501)
    for _ in range(5):
        shuffled = [events[i] for i in rng.permutation(len(events))]
        assert_tables_identical(extract(shuffled), expected)


def test_nan_only_in_age_columns() -> None:
    table = extract(mixed_events())
    nan_columns = {name for j, name in enumerate(table.names) if np.isnan(table.values[:, j]).any()}
    # conversation "pq" has no ages and c5 none for U2: all three age columns hold NaN...
    assert nan_columns >= AGE_COLUMNS
    # ...and no other column does, but the hours to a private channel of pairs that
    # never moved to one
    assert nan_columns == AGE_COLUMNS | {"pair_hours_to_private"}


def test_empty_table_is_a_schema_error() -> None:
    empty: dict[str, list[object]] = {
        "conversation_id": [],
        "timestamp": [],
        "sender_id": [],
        "recipient_id": [],
        "channel": [],
    }
    with pytest.raises(rs.SchemaError, match="empty"):
        extract_features(empty)


def test_table_with_every_row_quarantined_is_a_schema_error() -> None:
    msgs = rs.read_messages(to_columns([ev("c", 0, "A", "A")]), errors="quarantine")
    assert len(msgs) == 0
    with pytest.raises(rs.SchemaError, match="empty"):
        extract_features(msgs)


def test_message_table_and_raw_columns_give_the_same_features() -> None:
    columns = to_columns(mixed_events())
    from_raw = extract_features(columns)
    from_table = extract_features(rs.read_messages(columns))
    assert_tables_identical(from_raw, from_table)


def test_feature_table_column_take_and_to_arrow() -> None:
    table = extract(account_feature_events())

    assert table.names == FEATURE_NAMES
    assert table.values.shape == (6, len(FEATURE_NAMES))
    assert table.values.dtype == np.float64
    assert len(table) == 6
    assert table.column("adult_unaccepted_requests").tolist() == [3, 3, 3, 3, 3, 0]
    j = FEATURE_NAMES.index("n_events")
    np.testing.assert_array_equal(table.column("n_events"), table.values[:, j])
    with pytest.raises(KeyError, match="no feature 'nonexistent'"):
        table.column("nonexistent")

    last = table.take([5])
    assert last.conversation_id.tolist() == ["c6"]
    assert last.adult_id.tolist() == ["B"]
    np.testing.assert_array_equal(last.values, table.values[5:])

    arrow = table.to_arrow()
    assert isinstance(arrow, pa.Table)
    assert arrow.column_names == ["conversation_id", "adult_id", "child_id", *FEATURE_NAMES]
    assert arrow.num_rows == 6
    assert arrow.column("conversation_id").to_pylist() == ["c1", "c2", "c3", "c4", "c5", "c6"]
    assert arrow.column("adult_id").to_pylist() == ["A"] * 5 + ["B"]
    assert arrow.column("n_events").to_pylist() == [5.0, 1.0, 5.0, 2.0, 1.0, 2.0]
    for name in FEATURE_NAMES:
        np.testing.assert_array_equal(
            np.asarray(arrow.column(name).to_numpy()), table.column(name), err_msg=name
        )


def test_every_feature_has_a_hand_computed_expectation_in_this_file() -> None:
    # A new feature must come with a hand-computed test here: each name must appear as a
    # key of an expectation dict passed to assert_features ("name": value).
    source = Path(__file__).read_text(encoding="utf-8")
    assert [name for name in FEATURE_NAMES if f'"{name}":' not in source] == []


# ---------------------------------------------------------------- registry and docs


def test_registry_is_consistent_with_the_feature_table() -> None:
    assert tuple(spec.name for spec in FEATURES) == FEATURE_NAMES
    assert len(set(FEATURE_NAMES)) == len(FEATURE_NAMES)
    for spec in FEATURES:
        assert spec.direction in (-1, 0, 1), spec.name
        # only the age columns and pair facts can be NaN, and only they have an unknown
        # reference
        assert spec.nullable == (spec.name in NULLABLE_COLUMNS), spec.name
        assert math.isnan(spec.reference) == spec.nullable, spec.name
        assert spec.description, spec.name
        assert spec.definition, spec.name
        assert spec.why, spec.name
    with pytest.raises(KeyError, match="no feature 'nope'"):
        rs.features.feature_index("nope")


def test_a_conversation_that_shows_nothing_sits_at_the_references() -> None:
    # Two balanced messages on public, by day, no age: the "no signal" conversation for
    # every feature with a direction (escalation is exactly 1 only after a week or at
    # span 0: both events in the same second).
    events = [ev("c", NOON, "I", "R", channel="public"), ev("c", NOON, "R", "I", channel="public")]
    row = single(events)
    for spec in FEATURES:
        if spec.direction != 0 and spec.name not in {
            "adult_initiated",  # the initiator takes the adult role on a tie
            "adult_recent_share",  # starts from 0: 0.1 * 0.9 after two messages
        }:
            assert row[spec.name] == spec.reference, spec.name
    assert row["adult_recent_share"] == pytest.approx(0.09)
    assert row["adult_initiated"] == 1


def test_docs_feature_tables_are_generated_from_the_registry() -> None:
    assert generated_section(DOCS, SECTION) == feature_tables(), (
        "docs/features.md is out of date: run "
        "`python -c 'from riskscore.features.docs import update_features_doc as u; "
        'u("docs/features.md")\'`'
    )
    text = DOCS.read_text(encoding="utf-8")
    for name in FEATURE_NAMES:
        assert text.count(f"| `{name}` |") == 1, name


def test_update_features_doc_rewrites_only_the_generated_part(tmp_path: Path) -> None:
    doc = tmp_path / "features.md"
    original = DOCS.read_text(encoding="utf-8")
    stale = original.replace("| `adult_media_rate` |", "| `adult_media_count` |")
    assert stale != original
    doc.write_text("intro\n" + stale + "outro\n", encoding="utf-8")
    assert update_features_doc(doc) is True
    assert generated_section(doc, SECTION) == feature_tables()
    text = doc.read_text(encoding="utf-8")
    assert text.startswith("intro\n")
    assert text.endswith("outro\n")
    assert update_features_doc(doc) is False  # up to date: left alone
    assert doc.read_text(encoding="utf-8") == text
    doc.write_text("no markers\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no generated section"):
        update_features_doc(doc)


# ---------------------------------------------------------------- property-based

CHANNELS = ("public", "group", "direct", "ephemeral", "encrypted", "external")
EVENTS = ("message", "contact_request", "contact_accept", "block", "report", "media")
ACCOUNTS = ("u0", "u1", "u2", "u3", "u4")
AGES = st.one_of(
    st.just(NAN), st.integers(0, 120).map(float), st.floats(0.0, 120.0, allow_nan=False)
)


@st.composite
def event_tables(draw: st.DrawFn, *, distinct_times: bool = True) -> list[Event]:
    """1-4 conversations of 1-8 events among five accounts over 30 days.

    With ``distinct_times``, timestamps are distinct: ties are broken by input order
    (documented), so only tie-free tables are expected to be invariant to row order.
    """
    rows: list[Event] = []
    for conversation in range(draw(st.integers(1, 4))):
        pair = draw(st.lists(st.sampled_from(ACCOUNTS), min_size=2, max_size=2, unique=True))
        for _ in range(draw(st.integers(1, 8))):
            sender, recipient = pair if draw(st.booleans()) else pair[::-1]
            rows.append(
                ev(
                    conversation,
                    0,
                    sender,
                    recipient,
                    sender_age=draw(AGES),
                    recipient_age=draw(AGES),
                    channel=draw(st.sampled_from(CHANNELS)),
                    event=draw(st.sampled_from(EVENTS)),
                    tz=draw(st.none() | st.integers(-720, 840)),
                    room_size=draw(st.none() | st.integers(2, 5)),
                )
            )
    times = st.integers(0, 30 * DAY)
    if distinct_times:
        offsets = draw(st.lists(times, min_size=len(rows), max_size=len(rows), unique=True))
    else:
        offsets = draw(
            st.lists(
                st.sampled_from([0, 59, 60, 3_600, 86_399, 7 * DAY]) | times,
                min_size=len(rows),
                max_size=len(rows),
            )
        )
    for row, offset in zip(rows, offsets, strict=True):
        row["timestamp"] = T0 + offset
    return rows


@settings(max_examples=60, deadline=None, database=None)
@given(events=event_tables(), data=st.data())
def test_properties_on_random_tables(events: list[Event], data: st.DataObject) -> None:
    table = extract(events)
    values = table.values
    column = {name: values[:, j] for j, name in enumerate(table.names)}

    for name in table.names:
        if name not in NULLABLE_COLUMNS:
            assert np.isfinite(column[name]).all(), name
            assert (column[name] >= 0).all(), name
    assert np.isfinite(column["pair_met_channel"]).all()  # facts of every pair are known
    hours = column["pair_hours_to_private"]
    assert (hours[~np.isnan(hours)] >= 0).all()
    assert (np.isnan(hours) | (column["pair_met_channel"] < 2)).all()
    assert (column["group_contact_events"] <= column["n_events"]).all()
    for name in FRACTION_COLUMNS:
        assert ((column[name] >= 0) & (column[name] <= 1)).all(), name
    for name in FLAG_COLUMNS:
        assert np.isin(column[name], (0.0, 1.0)).all(), name
    gap = column["age_gap"]
    assert (gap[~np.isnan(gap)] >= 0).all()
    # shares of evidence are count / (n + 4): never 1
    assert (column["child_night_share"] < 1).all()
    assert (column["adult_message_share"] > 0).all()
    assert (column["adult_message_share"] < 1).all()
    # 7 * S_1day / S_7days is in (0, 7] and the exponent in [0, 1]
    assert (column["escalation_ratio"] <= 7.0 + 1e-9).all()
    assert (column["escalation_ratio"] > 0).all()
    assert (column["escalation_ratio"][column["span_hours"] == 0] == 1.0).all()
    assert (column["upward_channel_moves"] <= column["n_events"] - 1).all()
    assert (column["adult_max_unanswered_run"] <= column["n_events"]).all()
    assert (column["n_channels_used"] >= 1).all()
    assert (column["adult_private_minor_fanout"] <= column["adult_minor_fanout"]).all()
    assert (column["adult_unaccepted_share"] <= 1).all()
    assert (column["child_is_minor"] <= column["child_age_known"]).all()

    order = data.draw(st.permutations(range(len(events))))
    assert_tables_identical(extract([events[i] for i in order]), table)


# ---------------------------------------------------------------- the kernel without numba

#: A worker that reads one table of events per line (JSON) and answers with its features
#: computed by the same kernel source with numba's compiler switched off.
_UNCOMPILED_WORKER = """
import inspect, json, sys
import numba
from riskscore.features import extract_features, kernel
from riskscore.io import read_messages

jit_off = numba.config.DISABLE_JIT and inspect.isfunction(kernel.update_conversation)
print(json.dumps({"jit_off": bool(jit_off)}), flush=True)
for line in sys.stdin:
    msgs = read_messages(json.loads(line))
    if len(msgs) == 0:  # every event set aside as a broadcast: no conversation yet
        print(json.dumps({"conversation_id": [], "values": [], "adult_id": [],
                          "child_id": []}), flush=True)
        continue
    table = extract_features(msgs)
    print(json.dumps({
        "conversation_id": table.conversation_id.tolist(),
        "values": [float(v).hex() for v in table.values.ravel()],
        "adult_id": table.adult_id.tolist(),
        "child_id": table.child_id.tolist(),
    }), flush=True)
"""


class UncompiledKernel:
    """The feature kernel run as plain Python in a child process (NUMBA_DISABLE_JIT=1)."""

    def __init__(self) -> None:
        env = {**os.environ, "NUMBA_DISABLE_JIT": "1", "RISKSCORE_NUM_THREADS": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-c", _UNCOMPILED_WORKER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=Path(__file__).parents[1],
        )
        self.jit_off = bool(self._read()["jit_off"])

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the uncompiled worker stopped (exit {self.process.poll()})")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def features(self, events: Sequence[Event]) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(to_columns(events)) + "\n")
        self.process.stdin.flush()
        return self._read()

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


@pytest.fixture(scope="module")
def uncompiled() -> Iterator[UncompiledKernel]:
    worker = UncompiledKernel()
    yield worker
    worker.close()


def test_the_uncompiled_worker_really_runs_without_numba(uncompiled: UncompiledKernel) -> None:
    assert uncompiled.jit_off
    assert not inspect.isfunction(kernel.update_conversation)  # compiled in this process


def assert_same_as_uncompiled(events: Sequence[Event], uncompiled: UncompiledKernel) -> None:
    compiled = extract(events)
    plain = uncompiled.features(events)
    assert plain["adult_id"] == compiled.adult_id.tolist()
    assert plain["child_id"] == compiled.child_id.tolist()
    got = [float(v).hex() for v in compiled.values.ravel()]
    assert got == plain["values"]


def test_compiled_kernel_equals_its_python_source_on_hand_built_tables(
    uncompiled: UncompiledKernel,
) -> None:
    assert_same_as_uncompiled(mixed_events(), uncompiled)
    assert_same_as_uncompiled(
        [adult_to_child(t * 7_919, tz=tz) for t, tz in enumerate((-720, -300, 0, 330, 840))],
        uncompiled,
    )


@settings(max_examples=60, deadline=None, database=None)
@given(events=event_tables(distinct_times=False))
def test_compiled_kernel_equals_its_python_source(
    events: list[Event], uncompiled: UncompiledKernel
) -> None:
    assert_same_as_uncompiled(events, uncompiled)


# ---------------------------------------------------------------- parts on threads


@pytest.fixture(scope="module")
def large() -> rs.MessageTable:
    # Large enough for worker threads and several parts of whole conversations.
    return rs.synthetic.generate(20_000, prevalence=0.02, seed=41).messages


def test_parts_on_threads_equal_one_pass_over_a_large_table(
    large: rs.MessageTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RISKSCORE_NUM_THREADS", raising=False)
    assert len(large) >= _threads.THREAD_MIN_ROWS
    assert _threads.worker_threads() >= 2 or (os.cpu_count() or 1) == 1
    assert len(conversation_parts(large, PART_EVENTS)) >= 3
    threaded = extract_features(large)

    # One compiled call over every conversation, no parts, no threads (the inputs as the
    # batch path hands them over: the signature warmup compiled).
    events = kernel_events(large)
    values = np.empty((large.n_conversations, len(FEATURE_NAMES)))
    adult = np.empty(large.n_conversations, dtype=np.int64)
    accounts = rs.extract_account_features(large)
    pair_first, pair_private = accounts.pairs.lookup(
        large.accounts[events.initiator], large.accounts[events.responder]
    )
    kernel.run_conversations(
        events.starts, *events.columns, events.initiator, events.responder,
        accounts.lookup(large.accounts), pair_first, pair_private,
        0, large.n_conversations, values, adult,
    )  # fmt: skip
    assert threaded.values.tobytes() == values.tobytes()
    np.testing.assert_array_equal(threaded.adult_id, large.accounts[adult])

    monkeypatch.setenv("RISKSCORE_NUM_THREADS", "1")
    assert_tables_identical(extract_features(large), threaded)


def test_online_kernel_calls_equal_the_batch_row(large: rs.MessageTable) -> None:
    # The one-event API (apply_event, then conversation_features) over the events of a
    # few conversations gives the batch rows.
    batch = extract_features(large)
    tallies = rs.extract_account_features(large)
    starts = large.segment_starts
    first, private = tallies.pairs.lookup(
        large.accounts[large.sender_code[starts]], large.accounts[large.recipient_code[starts]]
    )
    out = np.empty(len(FEATURE_NAMES))
    starts, ends = large.segment_starts, large.segment_ends
    for k in range(0, large.n_conversations, 997):
        state = kernel.new_state()
        initiator = large.sender_code[starts[k]]
        side = 1
        for e in range(starts[k], ends[k]):
            side = kernel.apply_event(
                state,
                1 if large.sender_code[e] == initiator else 0,
                int(large.timestamp[e]),
                float(large.sender_age[e]),
                float(large.recipient_age[e]),
                int(large.channel[e]),
                int(large.event[e]),
                float(large.recipient_tz_offset_min[e]),
                int(large.room_size[e]),
            )
        adult = initiator if side == 1 else large.recipient_code[starts[k]]
        assert large.accounts[adult] == batch.adult_id[k]
        kernel.conversation_features(
            state, tallies.lookup(large.accounts[[adult]])[0], first[k], private[k], out
        )
        assert out.tobytes() == batch.values[k].tobytes(), k
