"""Tests for :func:`riskscore.extract_features` (riskscore/features/): roles and ages,
contact, escalation.

Every expected value is worked out by hand in the test from the definitions of
``docs/features.md`` (arithmetic in the comments); no library code is called to
produce an expectation. All events are synthetic. ``A`` is an adult account (40),
``K`` a child account (13). The other features are in ``test_features_clock.py``
(night, time zones, channels, media) and ``test_features_accounts_groups.py``; the
properties of whole tables in ``test_features_table.py``; the compiled kernel against
its source, and parts on threads, in ``test_features_kernel.py``.
"""

from __future__ import annotations

import math

import pytest
from features_helpers import (
    DAY,
    HOUR,
    NAN,
    Event,
    adult_to_child,
    assert_features,
    child_to_adult,
    ev,
    extract,
    features_by_conversation,
    recent,
    row_of,
    single,
)

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
