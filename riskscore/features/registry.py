"""The feature registry: one :class:`FeatureSpec` per feature, in column order.

Each spec names the feature, its unit, what it means and why it can signal risk, its
benign look-alikes, the direction in which it signals risk and the value that means
"no signal" (the reference that reasons are measured against). The event kernel
(:mod:`riskscore.features.kernel`) computes every feature in this order, batch and
online alike; ``docs/features.md``'s tables are generated from this registry.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

__all__ = [
    "FEATURES",
    "FEATURE_NAMES",
    "NIGHT_END_MIN",
    "NIGHT_START_MIN",
    "RECENT_WEIGHT",
    "SHARE_PRIOR_EVENTS",
    "SUPERVISED_SHARE_STEPS",
    "TAU_LONG_S",
    "TAU_SECURE_MOVE_S",
    "TAU_SHORT_S",
    "FeatureSpec",
    "feature_index",
]

#: Night in the child's local time: 22:00 up to 06:00.
NIGHT_START_MIN: Final = 22 * 60
NIGHT_END_MIN: Final = 6 * 60
#: Time constants of the exponentially decayed event counts (escalation).
TAU_SHORT_S: Final = 86_400.0
TAU_LONG_S: Final = 7 * 86_400.0
#: Time constant of how soon a move to ephemeral, encrypted or external channels came.
TAU_SECURE_MOVE_S: Final = 86_400.0
#: Events a share needs before it can grow: shares of evidence are ``count / (n + this)``.
SHARE_PRIOR_EVENTS: Final = 4.0
#: ``adult_supervised_minor_share`` moves in steps of ``1 / SUPERVISED_SHARE_STEPS``
#: (rounded down), so that the online scorer re-scores an adult's open conversations
#: only when the share moves a step, not on every message the adult sends to a minor.
SUPERVISED_SHARE_STEPS: Final = 20
#: Weight of the newest communication event in the "recent" (exponentially weighted) shares.
RECENT_WEIGHT: Final = 0.1

_NAN = math.nan


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """What one feature means and how it is read.

    Attributes
    ----------
    name : str
        Column name in the feature table.
    unit : str
        Unit of the value.
    family : str
        Group in ``docs/features.md`` (age, contact, escalation, night, exclusivity,
        media and safety, account, group).
    description : str
        Short phrase naming what is present, shown to moderators in reasons.
    definition : str
        Exact definition (``docs/features.md``).
    why : str
        Why it can signal risk (grooming stage it traces).
    look_alikes : str
        Benign situations with the same value.
    direction : int
        +1: higher values can only raise risk in a constrained model; -1: only lower
        it; 0: no fixed direction (ages: their meaning depends on the other age).
    reference : float
        The value that means "no signal"; reasons are measured against it. NaN for an
        unknown age.
    nullable : bool
        Whether the value can be NaN (an unknown age).
    log_scale : bool
        Whether linear models see ``log1p`` of the value (heavy-tailed counts).
    constrained : bool
        Whether the shipped model must follow ``direction`` everywhere. False where what
        the value means depends on context the other inputs carry (who the participants
        are, whether their ages are known): the model may then learn the effect both
        ways, and a reason still names the feature only when its value is on the risk
        side of ``reference``.
    """

    name: str
    unit: str
    family: str
    description: str
    definition: str
    why: str
    look_alikes: str
    direction: int
    reference: float
    nullable: bool = False
    log_scale: bool = False
    constrained: bool = True


FEATURES: Final[tuple[FeatureSpec, ...]] = (
    # ---- age
    FeatureSpec(
        "child_age",
        "years",
        "age",
        "the younger participant's declared age",
        "the child's age (role rule); NaN if unknown",
        "victim selection targets young people; most recorded victims are 12-15",
        "any young user talking to family or friends",
        0,
        _NAN,
        nullable=True,
    ),
    FeatureSpec(
        "adult_age",
        "years",
        "age",
        "the older participant's declared age",
        "the adult's age (role rule); NaN if unknown",
        "an adult in private contact with a child is the precondition of grooming",
        "parents, relatives, teachers, coaches",
        0,
        _NAN,
        nullable=True,
    ),
    FeatureSpec(
        "age_gap",
        "years",
        "age",
        "the age difference between the participants",
        "`adult_age - child_age`; NaN if either is unknown; never negative",
        "a large gap between an adult and a child in one-to-one contact is a core risk factor",
        "parent and child, grandparent, tutor, youth leader",
        0,
        _NAN,
        nullable=True,
    ),
    FeatureSpec(
        "child_is_minor",
        "0/1",
        "age",
        "the younger participant is a declared minor",
        "1 if the child's age is known and under 18; else 0",
        "the harm in scope involves minors",
        "two minors of different ages",
        1,
        0.0,
    ),
    FeatureSpec(
        "child_age_known",
        "0/1",
        "age",
        "the younger participant declared an age",
        "1 if the child's age is known",
        "lets linear models treat a missing age as missing",
        "accounts that never declared an age",
        0,
        0.0,
    ),
    FeatureSpec(
        "adult_age_known",
        "0/1",
        "age",
        "the older participant declared an age",
        "1 if the adult's age is known",
        "lets linear models treat a missing age as missing",
        "privacy-minded adults, accounts from before age collection",
        0,
        0.0,
    ),
    # ---- contact
    FeatureSpec(
        "adult_initiated",
        "0/1",
        "contact",
        "the older participant made first contact",
        "1 if the adult sent the conversation's first event",
        "victim selection: the older party reaches out to the child",
        "a relative or teacher reaching out; a child's message answered by an adult",
        1,
        0.0,
    ),
    FeatureSpec(
        "adult_sent_request",
        "0/1",
        "contact",
        "the older participant sent a contact request",
        "1 if the adult sent a `contact_request` in the conversation",
        "a new contact with no mutual history: a stranger approaching a child",
        "a coach adding a new pupil; platforms that log requests for every first message",
        1,
        0.0,
    ),
    FeatureSpec(
        "n_events",
        "events",
        "contact",
        "events in the conversation",
        "number of events of any kind",
        "describes the conversation; not a risk signal on its own",
        "any long-running chat",
        0,
        0.0,
        log_scale=True,
    ),
    FeatureSpec(
        "span_hours",
        "hours",
        "contact",
        "time from the first to the last event",
        "time from the first to the last event, in hours",
        "describes the conversation; not a risk signal on its own",
        "any long-running contact",
        0,
        0.0,
        log_scale=True,
    ),
    FeatureSpec(
        "adult_message_share",
        "fraction",
        "contact",
        "the older participant writes most messages",
        "(communication events sent by the adult + 2) / (communication events + 4): the adult's "
        "share, pulled toward one half while there are few events",
        "trust building is driven by the adult: attention, flattery, persistence",
        "a parent checking in; a tutor giving instructions",
        1,
        0.5,
    ),
    FeatureSpec(
        "adult_recent_share",
        "fraction",
        "contact",
        "the older participant writes most of the recent messages",
        "exponentially weighted average (weight 0.1 on the newest) of 'sent by the adult' over "
        "communication events, starting from 0",
        "pressure and persistence late in a conversation",
        "a parent sending reminders",
        1,
        0.5,
    ),
    FeatureSpec(
        "adult_max_unanswered_run",
        "messages",
        "contact",
        "the older participant kept writing without replies",
        "longest run of consecutive communication events from the adult with none from the "
        "child in between; 0 if the adult sent none",
        "persistence toward a child who does not answer; pressure for a reply",
        "reminders from a parent; a coach sending schedules",
        1,
        1.0,
        log_scale=True,
    ),
    # ---- escalation
    FeatureSpec(
        "recent_rate_per_day",
        "events/day",
        "escalation",
        "events in the last day",
        "`S_1day / 1 day`: events exponentially decayed with a 1-day time constant, at the "
        "conversation's last event",
        "describes intensity; a busy day is not risk on its own",
        "a busy day of planning; a group project",
        0,
        0.0,
        log_scale=True,
    ),
    FeatureSpec(
        "escalation_ratio",
        "ratio",
        "escalation",
        "contact is accelerating",
        "`(7 * S_1day / S_7days) ** min(1, span / 7 days)`: the recent rate over the long-run "
        "rate, pulled toward 1 (no evidence) while the conversation is younger than a week",
        "escalation: contact becomes more frequent as the relationship intensifies",
        "a sudden shared event (exam, trip, match); teenagers and adults in a new relationship",
        1,
        1.0,
        log_scale=True,
    ),
    # ---- night
    FeatureSpec(
        "child_night_share",
        "fraction",
        "night",
        "contact at night in the child's local time",
        "communication events at night (22:00-06:00) in the child's local time / "
        "(communication events timed on the child's known clock + 4); an event whose child "
        "clock is unknown is not counted (see `child_tz_known_share`)",
        "risk assessment: contact when the child is less likely to be supervised",
        "teenagers chatting late with friends; contacts in other time zones",
        1,
        0.0,
        constrained=False,
    ),
    FeatureSpec(
        "child_recent_night_share",
        "fraction",
        "night",
        "recent contact at night in the child's local time",
        "exponentially weighted average (weight 0.1 on the newest) of 'at night in the "
        "child's local time' over communication events timed on the child's known clock, "
        "starting from 0",
        "a shift of contact into the night as the relationship develops",
        "holidays; a change of school timetable",
        1,
        0.0,
    ),
    # ---- exclusivity
    FeatureSpec(
        "max_channel",
        "level 0-5",
        "exclusivity",
        "the most private channel reached",
        "highest channel level of any event (public 0, group 1, direct 2, ephemeral 3, "
        "encrypted 4, external 5)",
        "exclusivity: moving somewhere private and off the platform",
        "friends or family who use a messaging app",
        1,
        0.0,
    ),
    FeatureSpec(
        "n_channels_used",
        "channels",
        "exclusivity",
        "distinct channels used",
        "number of distinct channels among all events (1-6)",
        "a deliberate path through several surfaces",
        "users who habitually switch features",
        1,
        1.0,
    ),
    FeatureSpec(
        "upward_channel_moves",
        "moves",
        "exclusivity",
        "moves to more private channels",
        "events on a channel strictly higher than every earlier event's; the first event is "
        "never a move",
        "exclusivity is reached step by step: public, direct, private, off-platform",
        "a game lobby that moves to direct chat",
        1,
        0.0,
        constrained=False,
    ),
    FeatureSpec(
        "secure_move_speed",
        "0-1",
        "exclusivity",
        "a fast move from a visible channel to an ephemeral, encrypted or external one",
        "`exp(-delay / 1 day)` where `delay` is the time from the first event to the first "
        "event on `ephemeral`, `encrypted` or `external`, when the first event was on "
        "`public`, `group` or `direct`; 0 otherwise (it never moved, or started there)",
        "how soon the move to a less observable surface came; online grooming can compress "
        "the stages into an hour",
        "people who meet and swap numbers on the same day",
        1,
        0.0,
        constrained=False,
    ),
    FeatureSpec(
        "adult_external_events",
        "events",
        "exclusivity",
        "links or handles to other apps shared by the older participant",
        "events of any type the adult sent on the `external` channel",
        "exclusivity: pulling the child off the platform, beyond its safety tools",
        "a tutor sharing a video-call link; a club's group link",
        1,
        0.0,
        log_scale=True,
    ),
    # ---- media and safety
    FeatureSpec(
        "adult_media_rate",
        "fraction",
        "media and safety",
        "media sent by the older participant",
        "`media` events sent by the adult / (communication events sent by the adult + 4)",
        "escalation toward exchanging images; desensitization",
        "photos of pets, homework, game clips",
        1,
        0.0,
    ),
    FeatureSpec(
        "child_media_rate",
        "fraction",
        "media and safety",
        "media sent by the younger participant",
        "`media` events sent by the child / (communication events sent by the child + 4)",
        "requests for images are a documented later-stage behaviour",
        "children sharing photos with family or friends",
        1,
        0.0,
        constrained=False,
    ),
    FeatureSpec(
        "adult_night_media_rate",
        "fraction",
        "media and safety",
        "media sent by the older participant at night in the child's local time",
        "`media` events the adult sent at night (22:00-06:00) in the child's local time / "
        "(communication events the adult sent while the child's clock was known + 4)",
        "images sent to a child when it is least likely to be supervised: escalation and risk "
        "assessment together",
        "a late family photo; a film clip between friends",
        1,
        0.0,
    ),
    FeatureSpec(
        "private_night_share",
        "fraction",
        "exclusivity",
        "contact on private channels at night in the child's local time",
        "communication events on `ephemeral`, `encrypted` or `external` at night in the child's "
        "local time / (communication events timed on the child's known clock + 4)",
        "exclusivity and risk assessment together: unseen surfaces at unsupervised hours",
        "teenagers on disappearing messages late at night; couples",
        1,
        0.0,
    ),
    FeatureSpec(
        "child_blocks_reports",
        "events",
        "media and safety",
        "blocks and reports by the younger participant",
        "`block` and `report` events sent by the child",
        "the child's own signal that contact is unwanted",
        "disputes between peers; blocking spam",
        1,
        0.0,
        log_scale=True,
    ),
    # ---- account (per adult account, joined to its conversations)
    FeatureSpec(
        "adult_minor_fanout",
        "accounts",
        "account",
        "minors the older account contacted",
        "distinct accounts the adult sent a contact event (`message`, `media`, "
        "`contact_request`) to, with that event's `recipient_age` under 18",
        "victim selection: approaching many children in parallel",
        "youth workers, coaches, teachers, creators answering young fans",
        1,
        0.0,
        log_scale=True,
    ),
    FeatureSpec(
        "adult_minor_contact_share",
        "fraction",
        "account",
        "most of the older account's contacts are minors",
        "`adult_minor_fanout` / max(1, distinct accounts the adult sent a contact event to)",
        "an adult whose contacts are mostly children",
        "a parent whose contacts are family; a school account",
        1,
        0.0,
    ),
    FeatureSpec(
        "adult_private_minor_fanout",
        "accounts",
        "account",
        "minors the older account contacted on private channels",
        "distinct accounts the adult sent a contact event on `ephemeral`, `encrypted` or "
        "`external` to, with that event's `recipient_age` under 18",
        "isolating several children at once on surfaces others cannot see",
        "a parent with several children on a messaging app",
        1,
        0.0,
        log_scale=True,
    ),
    FeatureSpec(
        "adult_unaccepted_requests",
        "requests",
        "account",
        "contact requests by the older account never accepted",
        "max(0, `contact_request` events sent by the adult - `contact_accept` events received "
        "by the adult), over all its conversations",
        "victim selection: broad, unsolicited approaches",
        "new users growing a friend list",
        1,
        0.0,
        log_scale=True,
    ),
    FeatureSpec(
        "adult_unaccepted_share",
        "fraction",
        "account",
        "most of the older account's contact requests went unaccepted",
        "`adult_unaccepted_requests` / max(1, `contact_request` events sent by the adult)",
        "unsolicited approaches that people decline",
        "spam-like but harmless networking",
        1,
        0.0,
    ),
    FeatureSpec(
        "adult_blocks_reports_from_minors",
        "events",
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
        "ratio",
        "account",
        "minors the older account contacted often blocked or reported it",
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
        "the older account's contact with minors is mostly in group or public spaces",
        "`message`, `media` and `contact_request` events the adult sent on `public` or "
        "`group` channels or to a room of 3 or more accounts, with `recipient_age` under 18 / "
        "all such events the adult sent to minors (group rooms included), rounded down to a "
        "step of 0.05; 0 when it sent none",
        "lowers risk: an adult who reaches children where others can see (a team's or a "
        "class's channel, a public space) is not isolating them; grooming moves a child to "
        "one-to-one contact and keeps it there",
        "a groomer who keeps a public presence with many children while working on one "
        "in private (the private conversation's own features still carry it)",
        -1,
        0.0,
    ),
    # ---- time zones and groups (not model inputs: context for moderators and models)
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
        "`message` and `media` events of the pair sent to a room of 3 or more accounts "
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

FEATURE_NAMES: Final = tuple(spec.name for spec in FEATURES)
_INDEX: Final = {name: j for j, name in enumerate(FEATURE_NAMES)}


def feature_index(name: str) -> int:
    """Column of a feature in the feature table.

    Raises
    ------
    KeyError
        No feature of that name; the message lists the features.
    """
    try:
        return _INDEX[name]
    except KeyError:
        raise KeyError(f"no feature {name!r}; features are {list(FEATURE_NAMES)}") from None
