"""The registry's rows for what an adult account did across its conversations, and the
context rows that are not model inputs (how far the child's clock is known, group
contact, where a pair met and how soon it went private).

:mod:`riskscore.features.registry` puts these rows after those of
:mod:`riskscore.features.conversation_specs`, in column order.
"""

from __future__ import annotations

import math
from typing import Final

from riskscore.features.spec import FeatureSpec

__all__ = ["ACCOUNT_FEATURES", "CONTEXT_FEATURES"]

_NAN = math.nan


#: Per adult account, joined to its conversations.
ACCOUNT_FEATURES: Final[tuple[FeatureSpec, ...]] = (
    FeatureSpec(
        "adult_minor_fanout",
        "minors",
        "account",
        "minors the older account contacted",
        "distinct accounts the adult sent a contact event (`message`, `media`, "
        "`contact_request`) to, with that event's `recipient_age` under 18",
        "victim selection: an account approaching children, the more in parallel the stronger",
        "youth workers, coaches, teachers, creators answering young fans",
        1,
        0.0,
        log_scale=True,
    ),
    FeatureSpec(
        "adult_minor_contact_share",
        "fraction",
        "account",
        "share of the older account's contacts who are minors",
        "`adult_minor_fanout` / max(1, distinct accounts the adult sent a contact event to)",
        "victim selection: an account that contacts children, the larger their share of its "
        "contacts the stronger",
        "a parent whose contacts are family; a school account",
        1,
        0.0,
    ),
    FeatureSpec(
        "adult_private_minor_fanout",
        "minors",
        "account",
        "minors the older account contacted on private channels",
        "distinct accounts the adult sent a contact event on `ephemeral`, `encrypted` or "
        "`external` to, with that event's `recipient_age` under 18",
        "isolating children on surfaces others cannot see, the more children the stronger",
        "a parent with several children on a messaging app",
        1,
        0.0,
        log_scale=True,
    ),
    FeatureSpec(
        "adult_unaccepted_requests",
        "requests",
        "account",
        "contact requests by the older account not accepted",
        "max(0, `contact_request` events sent by the adult - `contact_accept` events received "
        "by the adult), over all its conversations",
        "victim selection: unsolicited approaches, the more the wider the search",
        "new users growing a friend list",
        1,
        0.0,
        log_scale=True,
    ),
    FeatureSpec(
        "adult_unaccepted_share",
        "fraction",
        "account",
        "share of the older account's contact requests not accepted",
        "`adult_unaccepted_requests` / max(1, `contact_request` events sent by the adult)",
        "unsolicited approaches with no acceptance recorded (declined, not answered yet, or "
        "replied to without accepting)",
        "spam-like but harmless networking",
        1,
        0.0,
    ),
    FeatureSpec(
        "adult_blocks_reports_from_minors",
        "blocks or reports",
        "account",
        "blocks and reports the older account received from minors",
        "`block` and `report` events received by the adult with `sender_age` under 18",
        "other children flagging the same account",
        "disputes in games or school groups",
        1,
        0.0,
        log_scale=True,
    ),
    FeatureSpec(
        "adult_flagged_per_minor",
        "per minor contacted",
        "account",
        "rate of blocks and reports the older account received from minors",
        "`adult_blocks_reports_from_minors` / max(1, `adult_minor_fanout`)",
        "the children an account approaches push back",
        "a dispute in a small friend group",
        1,
        0.0,
    ),
    FeatureSpec(
        "adult_supervised_minor_share",
        "fraction",
        "account",
        "share of the older account's contact with minors in public spaces or rooms of five "
        "or more",
        "`message`, `media` and `contact_request` events the adult sent on `public`, on "
        "`group` channels of unknown room size, or to a room of 5 or more accounts, with "
        "`recipient_age` under 18 / "
        "all such events the adult sent to minors (group rooms included), rounded down to a "
        "step of 0.05; 0 when it sent none",
        "lowers risk: an adult who reaches children where others can see (a team's or a "
        "class's channel, a public space) is not isolating them, while grooming moves a child to "
        "one-to-one contact and keeps it there",
        "a groomer who keeps a public presence with many children while working on one "
        "in private (the private conversation's own features still carry it)",
        -1,
        0.0,
    ),
)

#: Time zones and groups: not model inputs, context for moderators and models
#: (``child_tz_known_share`` is of family night, the others of family group).
CONTEXT_FEATURES: Final[tuple[FeatureSpec, ...]] = (
    FeatureSpec(
        "child_tz_known_share",
        "fraction",
        "night",
        "the younger participant's local time is known",
        "communication events timed on the child's known clock / communication events (0 "
        "without any). A side's clock is the latest known `recipient_tz_offset_min` of the "
        "events it received in the conversation; an empty offset is unknown, never UTC",
        "tells how far the night features can be trusted: they count known clocks only",
        "platforms that do not record time zones",
        0,
        0.0,
        constrained=False,
    ),
    FeatureSpec(
        "group_contact_events",
        "events",
        "group",
        "contact through a group room",
        "`message` and `media` events of the pair sent to a room of 5 or more accounts "
        "(`room_size`): group contact, counted here and in the events and timing, never as a "
        "message one account sent the other",
        "grooming often starts in a group, where an adult can watch and select",
        "classmates, team chats, game lobbies",
        0,
        0.0,
        log_scale=True,
        constrained=False,
    ),
    FeatureSpec(
        "pair_met_channel",
        "level 0-5",
        "group",
        "where the two accounts first had contact",
        "channel level of the two accounts' first event across all their conversations "
        "(public 0, group 1, direct 2, ephemeral 3, encrypted 4, external 5; the most public "
        "of the events in that second); group rooms included",
        "meeting in a public or group space and moving to a private one is the exclusivity stage",
        "friends who met in class and chat directly",
        0,
        _NAN,
        nullable=True,
        constrained=False,
    ),
    FeatureSpec(
        "pair_hours_to_private",
        "hours",
        "group",
        "hours from first contact in a public or group space to a private channel",
        "hours from the two accounts' first event (across all their conversations) to their "
        "first event on `direct` or a more private channel, when they met on `public` or "
        "`group`; NaN when they met on a private channel or never moved to one",
        "how soon contact moved from where others can see it to where they cannot",
        "classmates who start a direct chat after school",
        0,
        _NAN,
        nullable=True,
        log_scale=True,
        constrained=False,
    ),
)
