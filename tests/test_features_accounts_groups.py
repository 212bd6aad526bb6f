"""Hand-computed features of :func:`riskscore.extract_features` that look beyond one
pair's conversation: the per-account totals joined to each conversation, group rooms,
and where a pair met. Expected values are worked out by hand from ``docs/features.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from features_helpers import (
    HOUR,
    NAN,
    Event,
    account_feature_events,
    assert_features,
    assert_tables_identical,
    ev,
    extract,
    features_by_conversation,
    row_of,
    single,
    to_columns,
)

import riskscore as rs
from riskscore.features import extract_features

# ---------------------------------------------------------------- per-account features


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
        a_to("c2", 2, "K2", 13, "direct", room_size=5),  # supervised: a room of 5
        a_to("c2", 3, "K2", 13, "direct", event="contact_request"),  # one to one
        a_to("c3", 4, "K3", 14, "encrypted"),  # one to one
        a_to("c3", 5, "K3", 14, "direct", event="block"),  # not a contact event
        a_to("c4", 6, "B", 30, "public"),  # to an adult: not counted
        a_to("c5", 7, "K4", NAN, "public"),  # age not declared on the event: not counted
        a_to("c6", 8, "K5", 12, "group", room_size=3),  # one to one: a room of 3 is private
        ev("c3", 9, "K3", "A", sender_age=14, recipient_age=40, channel="group"),  # from K3
    ]
    rows = features_by_conversation(events)
    # A: 3 of 6 contact events to minors in view of others = 0.5, in steps of 0.05
    for cid in ("c1", "c3", "c6"):
        assert_features(rows[cid], {"adult_supervised_minor_share": 0.5})
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
    # A writes three times to a room of five (A, K, L and two silent members); K answers
    # once, to the room.
    events = [
        *_room(0, "A", ["K", "L"], room_size=5),
        *_room(60, "A", ["K", "L"], room_size=5),
        *_room(120, "A", ["K", "L"], room_size=5),
        *_room(180, "K", ["A", "L"], room_size=5),
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
    # the same rows without room_size, or in a room of three (a private circle): each is an
    # event between its sender and recipient
    plain = features_by_conversation([{**e, "room_size": None} for e in events])["g|A|K"]
    small = features_by_conversation([{**e, "room_size": 3} for e in events])["g|A|K"]
    # ... except that a group channel of unknown size is taken as in view of others
    assert (plain["adult_supervised_minor_share"], small["adult_supervised_minor_share"]) == (1, 0)
    assert_features(small, {**plain, "adult_supervised_minor_share": 0.0})
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
