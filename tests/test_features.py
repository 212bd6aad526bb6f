"""Tests for :func:`riskscore.extract_features` (riskscore/features.py).

Every expected value is worked out by hand in the test (arithmetic in the
comments); no library code is called to produce an expectation. All events
are synthetic. ``A`` is an adult account (40), ``K`` a child account (13).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import riskscore as rs
from riskscore.feature_specs import FEATURE_NAMES
from riskscore.features import FeatureTable, extract_features

Event = dict[str, object]

NAN = math.nan
#: 2024-05-01T00:00:00Z in epoch seconds.
T0 = 1_714_521_600
MINUTE = 60
HOUR = 3_600
DAY = 86_400

AGE_COLUMNS = frozenset({"child_age", "adult_age", "age_gap"})
SHARE_COLUMNS = (
    "adult_message_share",
    "child_night_share",
    "adult_minor_contact_share",
    "secure_move_speed",
)
FLAG_COLUMNS = ("child_is_minor", "child_age_known", "adult_age_known", "adult_initiated")


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
    tz: int = 0,
) -> Event:
    """One event; ``t`` is seconds after T0, ``tz`` the recipient's UTC offset in minutes."""
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
    }


def adult_to_child(
    t: int,
    *,
    conversation: object = "c",
    channel: str = "direct",
    event: str = "message",
    tz: int = 0,
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
    tz: int = 0,
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
    pytest.param(NAN, NAN, "I", 1, NAN, NAN, NAN, 0, 0, 0, id="none-known-initiator-adult"),
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


def test_contact_counts_span_share_and_unanswered_run() -> None:
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
            # every event counts, whatever its type: 7
            "n_events": 7,
            # (T0 + 7200 - T0) / 3600
            "span_hours": 2.0,
            # messages and media only: adult 4 (120, 180, 240, 7200), child 1 (300); 4 / 5
            "adult_message_share": 0.8,
            # runs over messages and media: A A A | K | A -> longest adult run 3
            "adult_max_unanswered_run": 3,
        },
    )


def test_only_messages_and_media_answer_a_run() -> None:
    # The child's block between two adult messages is not a reply.
    events = [
        adult_to_child(0),
        child_to_adult(60, event="block"),
        adult_to_child(120),
        adult_to_child(180, event="media"),
    ]
    # comm events: A A A -> run 3, share 3 / 3
    assert_features(
        single(events), {"adult_max_unanswered_run": 3, "adult_message_share": 1.0, "n_events": 4}
    )


def test_run_and_share_are_the_adults_when_the_child_initiates() -> None:
    events = [child_to_adult(0), child_to_adult(60), child_to_adult(120), adult_to_child(180)]
    # child run 3, adult run 1; adult share 1 / 4
    assert_features(
        single(events),
        {"adult_initiated": 0, "adult_max_unanswered_run": 1, "adult_message_share": 0.25},
    )


def test_conversation_without_messages_has_share_and_run_zero() -> None:
    events = [adult_to_child(0, event="contact_request")]
    # 0 messages / max(0, 1) = 0, not NaN
    assert_features(
        single(events),
        {
            "adult_message_share": 0.0,
            "adult_max_unanswered_run": 0,
            "span_hours": 0.0,
            "n_events": 1,
        },
    )


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
            # (short / 1) / (long / 7)
            "escalation_ratio": short / (long / 7.0),
        },
    )


def test_escalation_of_a_single_event_is_at_its_ceiling() -> None:
    # short = long = exp(0) = 1: rate 1 / 1 day = 1, ratio 1 / (1 / 7) = 7.
    assert_features(
        single([adult_to_child(0)]), {"recent_rate_per_day": 1.0, "escalation_ratio": 7.0}
    )


def test_escalation_of_a_burst() -> None:
    # Three events one hour apart: ages 2 h, 1 h, 0.
    events = [adult_to_child(0), child_to_adult(HOUR), adult_to_child(2 * HOUR)]
    short = math.exp(-2 / 24) + math.exp(-1 / 24) + 1.0
    long = math.exp(-2 / 168) + math.exp(-1 / 168) + 1.0
    assert_features(
        single(events), {"recent_rate_per_day": short, "escalation_ratio": 7.0 * short / long}
    )


def test_escalation_is_measured_at_each_conversations_own_last_event() -> None:
    # A conversation that went quiet 30 days before another one is not decayed further.
    events = [adult_to_child(0, conversation="old"), adult_to_child(30 * DAY, conversation="new")]
    rows = features_by_conversation(events)
    assert rows["old"]["recent_rate_per_day"] == rows["new"]["recent_rate_per_day"] == 1.0


# ---------------------------------------------------------------- night, in the child's local time


@pytest.mark.parametrize(
    ("tz", "expected"),
    [
        pytest.param(60, 1.0, id="UTC+01:00 22:30 night"),
        pytest.param(-300, 0.0, id="UTC-05:00 16:30 day"),
        pytest.param(0, 0.0, id="UTC 21:30 day"),
        pytest.param(509, 1.0, id="UTC+08:29 05:59 night"),
        pytest.param(510, 0.0, id="UTC+08:30 06:00 day"),
        pytest.param(-720, 0.0, id="UTC-12:00 09:30 day"),
    ],
)
def test_night_is_in_the_childs_local_time(tz: int, expected: float) -> None:
    # 21:30 UTC, sent to the child whose offset is tz minutes.
    event = adult_to_child(21 * HOUR + 30 * MINUTE, tz=tz)
    assert_features(single([event]), {"child_night_share": expected})


@pytest.mark.parametrize(
    ("seconds_of_day", "expected"),
    [
        pytest.param(22 * HOUR, 1.0, id="22:00:00 night"),
        pytest.param(22 * HOUR - 1, 0.0, id="21:59:59 day"),
        pytest.param(6 * HOUR - 1, 1.0, id="05:59:59 night"),
        pytest.param(6 * HOUR, 0.0, id="06:00:00 day"),
        pytest.param(0, 1.0, id="00:00:00 night"),
    ],
)
def test_night_window_is_22_to_06(seconds_of_day: int, expected: float) -> None:
    assert_features(single([adult_to_child(seconds_of_day, tz=0)]), {"child_night_share": expected})


def test_child_sent_events_use_the_childs_latest_known_offset() -> None:
    events = [
        # Child's offset not known yet: the recipient's (adult's) +01:00 stands in.
        # 21:30 + 1:00 = 22:30 -> night (with no offset it would be 21:30, day)
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
    # messages: 6 (the request is not one); at night: 22:30, 22:40, 22:50, 05:30 -> 4 / 6
    assert_features(single(events), {"child_night_share": 4 / 6, "adult_initiated": 0})


def test_the_adults_own_offset_is_ignored() -> None:
    # The adult's offset (+10:00) arrives on the events the child sends; it must not be used.
    events = [
        adult_to_child(23 * HOUR, tz=0),  # child 23:00 -> night
        child_to_adult(23 * HOUR + MINUTE, tz=600),  # child's 0: 23:01 night (+10:00: 09:01)
        adult_to_child(DAY + 10 * HOUR, tz=0),  # 10:00 -> day
        child_to_adult(DAY + 10 * HOUR + MINUTE, tz=600),  # 10:01 day (+10:00: 20:01)
    ]
    # 2 / 4 (with the adult's offset it would be 1 / 4)
    assert_features(single(events), {"child_night_share": 0.5})


# ---------------------------------------------------------------- channels


def test_channel_moves_levels_and_speed() -> None:
    events = [
        adult_to_child(0, channel="public"),  # level 0
        child_to_adult(1 * HOUR, channel="direct"),  # 2 > 0: move 1
        adult_to_child(2 * HOUR, channel="public"),  # down
        adult_to_child(3 * HOUR, channel="direct"),  # 2, not above the highest so far (2)
        adult_to_child(6 * HOUR, channel="encrypted"),  # 4 > 2: move 2, first secure at 6 h
        child_to_adult(7 * HOUR, channel="ephemeral"),  # 3 < 4
        adult_to_child(8 * HOUR, channel="external"),  # 5 > 4: move 3; adult external 1
        child_to_adult(9 * HOUR, channel="external"),  # the child's: not counted
    ]
    assert_features(
        single(events),
        {
            "max_channel": 5,
            # public, direct, encrypted, ephemeral, external (no group)
            "n_channels_used": 5,
            "upward_channel_moves": 3,
            # exp(-(6 h) / (24 h))
            "secure_move_speed": math.exp(-0.25),
            "adult_external_events": 1,
        },
    )


@pytest.mark.parametrize(
    ("channels", "times", "speed", "moves"),
    [
        pytest.param(("public", "direct"), (0, HOUR), 0.0, 1, id="never-secure"),
        pytest.param(("ephemeral", "direct"), (0, HOUR), 1.0, 0, id="starts-secure"),
        # exp(-(2 days) / (1 day))
        pytest.param(("direct", "external"), (0, 2 * DAY), math.exp(-2.0), 1, id="after-2-days"),
    ],
)
def test_secure_move_speed(
    channels: tuple[str, str], times: tuple[int, int], speed: float, moves: float
) -> None:
    events = [
        adult_to_child(times[0], channel=channels[0]),
        child_to_adult(times[1], channel=channels[1]),
    ]
    assert_features(single(events), {"secure_move_speed": speed, "upward_channel_moves": moves})


def test_media_and_safety_events_by_role() -> None:
    events = [
        adult_to_child(0, event="media"),
        adult_to_child(60, event="media"),
        child_to_adult(120, event="media"),
        child_to_adult(180),
        child_to_adult(240, event="block"),
        child_to_adult(300, event="report"),
        adult_to_child(360, event="report"),  # the adult's report is not the child's
    ]
    assert_features(
        single(events),
        {"adult_media_events": 2, "child_media_events": 1, "child_blocks_reports": 2},
    )


# ---------------------------------------------------------------- per-sender features


def sender_feature_events() -> list[Event]:
    """Adult A (40) in five conversations, adult B (50) in one.

    A contacts minors K1 (13, in two conversations) and K2 (15), adult U1 (30)
    and U2 (age unknown).
    """

    def a_to(conv: str, t: int, who: str, age: float, event: str = "message") -> Event:
        return ev(conv, t, "A", who, sender_age=40, recipient_age=age, event=event)

    def to_a(conv: str, t: int, who: str, age: float, event: str = "message") -> Event:
        return ev(conv, t, who, "A", sender_age=age, recipient_age=40, event=event)

    return [
        a_to("c1", 0, "K1", 13, "contact_request"),
        to_a("c1", 1, "K1", 13, "contact_accept"),
        a_to("c1", 2, "K1", 13),
        to_a("c1", 3, "K1", 13),
        a_to("c1", 4, "K1", 13),
        a_to("c2", 10, "K1", 13, "media"),  # same minor, another conversation
        a_to("c3", 20, "K2", 15, "contact_request"),
        a_to("c3", 21, "K2", 15, "contact_request"),
        a_to("c3", 22, "K2", 15),
        to_a("c3", 23, "K2", 15, "block"),
        to_a("c3", 24, "K2", 15, "report"),
        a_to("c4", 30, "U1", 30),
        to_a("c4", 31, "U1", 30, "report"),  # from an adult: not counted
        a_to("c5", 40, "U2", NAN, "contact_request"),
        ev("c6", 50, "B", "K1", sender_age=50, recipient_age=13),
        # K1 accepts a request B never sent: 0 requests - 1 accept floors at 0
        ev("c6", 51, "K1", "B", sender_age=13, recipient_age=50, event="contact_accept"),
    ]


def test_sender_features_join_each_adults_totals_to_its_conversations() -> None:
    table = extract(sender_feature_events())
    # A: contacted {K1, K2, U1, U2} = 4, minors {K1, K2} = 2 (K1 once despite 4 events
    #    in 2 conversations); share 2 / 4; requests 1 + 2 + 1 = 4, accepts received 1 -> 3;
    #    block + report from K2 (15) = 2, U1's report (30) is not from a minor.
    a_row = {
        "adult_minor_fanout": 2,
        "adult_minor_contact_share": 0.5,
        "adult_unaccepted_requests": 3,
        "adult_blocks_reports_from_minors": 2,
    }
    # B: contacted {K1}, a minor: 1, share 1 / 1; max(0 - 1, 0) = 0; nothing received.
    b_row = {
        "adult_minor_fanout": 1,
        "adult_minor_contact_share": 1.0,
        "adult_unaccepted_requests": 0,
        "adult_blocks_reports_from_minors": 0,
    }
    expected = {"c1": a_row, "c2": a_row, "c3": a_row, "c4": a_row, "c5": a_row, "c6": b_row}
    assert table.conversation_id.tolist() == ["c1", "c2", "c3", "c4", "c5", "c6"]
    assert table.adult_id.tolist() == ["A", "A", "A", "A", "A", "B"]
    assert table.child_id.tolist() == ["K1", "K1", "K2", "U1", "U2", "K1"]
    for i, cid in enumerate(table.conversation_id.tolist()):
        assert_features(row_of(table, i), expected[cid])


def test_a_minor_counts_for_fanout_only_where_the_event_declares_the_age() -> None:
    # K's age (12) is declared only on K's own messages: A's message to K carries no
    # recipient age, so A's fan-out is 0 although the conversation knows K is 12.
    events = [ev("c", 0, "A", "K", sender_age=40), ev("c", 60, "K", "A", sender_age=12)]
    assert_features(
        single(events),
        {
            "child_age": 12,
            "child_is_minor": 1,
            "adult_minor_fanout": 0,
            # contacts {K} = 1, minors 0: 0 / 1
            "adult_minor_contact_share": 0.0,
        },
    )


# ---------------------------------------------------------------- table-level properties


def mixed_events() -> list[Event]:
    """Several conversations with distinct timestamps, including unknown ages."""
    events = sender_feature_events()
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
        got = extract(shuffled)
        np.testing.assert_array_equal(got.conversation_id, expected.conversation_id)
        np.testing.assert_array_equal(got.values, expected.values)  # NaNs compare equal
        np.testing.assert_array_equal(got.adult_id, expected.adult_id)
        np.testing.assert_array_equal(got.child_id, expected.child_id)


def test_nan_only_in_age_columns() -> None:
    table = extract(mixed_events())
    nan_columns = {name for j, name in enumerate(table.names) if np.isnan(table.values[:, j]).any()}
    # conversation "pq" has no ages and c5 none for U2: all three age columns hold NaN...
    assert nan_columns >= AGE_COLUMNS
    # ...and no other column does.
    assert nan_columns == AGE_COLUMNS


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
    np.testing.assert_array_equal(from_raw.values, from_table.values)


def test_feature_table_column_and_to_arrow() -> None:
    table = extract(sender_feature_events())

    assert table.names == FEATURE_NAMES
    assert table.values.shape == (6, len(FEATURE_NAMES))
    assert table.values.dtype == np.float64
    assert len(table) == 6
    assert table.column("adult_unaccepted_requests").tolist() == [3, 3, 3, 3, 3, 0]
    j = FEATURE_NAMES.index("n_events")
    np.testing.assert_array_equal(table.column("n_events"), table.values[:, j])
    with pytest.raises(KeyError, match="no feature 'nonexistent'"):
        table.column("nonexistent")

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


# ---------------------------------------------------------------- property-based

CHANNELS = ("public", "group", "direct", "ephemeral", "encrypted", "external")
EVENTS = ("message", "contact_request", "contact_accept", "block", "report", "media")
ACCOUNTS = ("u0", "u1", "u2", "u3", "u4")
AGES = st.one_of(
    st.just(NAN), st.integers(0, 120).map(float), st.floats(0.0, 120.0, allow_nan=False)
)


@st.composite
def event_tables(draw: st.DrawFn) -> list[Event]:
    """1-4 conversations of 1-6 events among five accounts, with distinct timestamps.

    Timestamps are distinct because ties are broken by input order (documented), so
    only tie-free tables are expected to be invariant to row order.
    """
    rows: list[Event] = []
    for conversation in range(draw(st.integers(1, 4))):
        pair = draw(st.lists(st.sampled_from(ACCOUNTS), min_size=2, max_size=2, unique=True))
        for _ in range(draw(st.integers(1, 6))):
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
                    tz=draw(st.integers(-720, 840)),
                )
            )
    offsets = draw(
        st.lists(st.integers(0, 30 * DAY), min_size=len(rows), max_size=len(rows), unique=True)
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
        if name not in AGE_COLUMNS:
            assert np.isfinite(column[name]).all(), name
            assert (column[name] >= 0).all(), name
    for name in SHARE_COLUMNS:
        assert ((column[name] >= 0) & (column[name] <= 1)).all(), name
    for name in FLAG_COLUMNS:
        assert np.isin(column[name], (0.0, 1.0)).all(), name
    gap = column["age_gap"]
    assert (gap[~np.isnan(gap)] >= 0).all()
    # exp(-a / 1 day) <= exp(-a / 7 days) for every event, so the ratio is at most 7.
    assert (column["escalation_ratio"] <= 7.0 + 1e-9).all()
    assert (column["upward_channel_moves"] <= column["n_events"] - 1).all()
    assert (column["adult_max_unanswered_run"] <= column["n_events"]).all()

    order = data.draw(st.permutations(range(len(events))))
    shuffled = extract([events[i] for i in order])
    np.testing.assert_array_equal(shuffled.values, values)
    np.testing.assert_array_equal(shuffled.adult_id, table.adult_id)
    np.testing.assert_array_equal(shuffled.child_id, table.child_id)
