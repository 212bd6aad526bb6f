"""The registry's rows for what a conversation shows on its own, by family: age, contact,
escalation, night, exclusivity (channels), media and safety.

:mod:`riskscore.features.registry` puts these rows, then those of
:mod:`riskscore.features.account_specs`, in column order (the order of the tuples
here and of the rows in each).
"""

from __future__ import annotations

import math
from typing import Final

from riskscore.features.spec import FeatureSpec

__all__ = [
    "AGE_FEATURES",
    "CONTACT_FEATURES",
    "ESCALATION_FEATURES",
    "EXCLUSIVITY_FEATURES",
    "MEDIA_AND_SAFETY_FEATURES",
    "NIGHT_FEATURES",
]

_NAN = math.nan


#: The participants' declared ages, seen from the child (youngest) and the adult (oldest).
AGE_FEATURES: Final[tuple[FeatureSpec, ...]] = (
    FeatureSpec(
        "child_age",
        "years",
        "age",
        "the younger participant's declared age",
        "the child's age (role rule); NaN if unknown",
        "victim selection targets young people: most recorded victims are 12-15",
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
        "contact between an older person and a child is the precondition of grooming",
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
        "the age gap between a child and an account in contact with it is a core risk factor",
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
)

#: Who made contact, how much, and who keeps writing.
CONTACT_FEATURES: Final[tuple[FeatureSpec, ...]] = (
    FeatureSpec(
        "adult_initiated",
        "0/1",
        "contact",
        "the older participant sent this conversation's first event",
        "1 if the adult sent the conversation's first event",
        "victim selection: the older party, not the child, opened this conversation",
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
        "victim selection: an account not yet among the child's contacts asked to be added",
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
        "describes the conversation, not a risk signal on its own",
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
        "lowers risk: contact kept up for weeks or months is more often family, school, a team "
        "or a friendship with a history than grooming, which moves from first contact to "
        "isolation in days or weeks; a short span raises nothing on its own (the reference is 0 "
        "hours), so no conversation is scored for being new or for its length",
        "a groomer who opened contact long before the grooming (one early message, then "
        "silence), or a platform that keeps events for months: the span then lowers the risk "
        "of contact that is new in substance",
        -1,
        0.0,
        log_scale=True,
    ),
    FeatureSpec(
        "adult_message_share",
        "share toward half",
        "contact",
        "the older participant's share of the messages",
        "(communication events sent by the adult + 2) / (communication events + 4): the adult's "
        "share, pulled toward one half while there are few events",
        "trust building is driven by the older participant: attention, flattery, persistence",
        "a parent checking in; a tutor giving instructions",
        1,
        0.5,
    ),
    FeatureSpec(
        "adult_recent_share",
        "recent share",
        "contact",
        "the older participant's share of the recent messages",
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
        "longest run of messages from the older participant without a reply",
        "longest run of consecutive communication events from the adult with none from the "
        "child in between; 0 if the adult sent none",
        "persistence toward a child who does not answer, pressure for a reply",
        "reminders from a parent; a coach sending schedules",
        1,
        1.0,
        log_scale=True,
    ),
)

#: How fast contact is growing.
ESCALATION_FEATURES: Final[tuple[FeatureSpec, ...]] = (
    FeatureSpec(
        "recent_rate_per_day",
        "events/day",
        "escalation",
        "events in the last day",
        "`S_1day / 1 day`: events exponentially decayed with a 1-day time constant, at the "
        "conversation's last event",
        "describes intensity, a busy day is not risk on its own",
        "a busy day of planning; a group project",
        0,
        0.0,
        log_scale=True,
    ),
    FeatureSpec(
        "escalation_ratio",
        "times",
        "escalation",
        "the recent contact rate as a multiple of the long-run rate",
        "`(7 * S_1day / S_7days) ** min(1, span / 7 days)`: the recent rate over the long-run "
        "rate, pulled toward 1 (no evidence) while the conversation is younger than a week",
        "escalation: contact becomes more frequent as the relationship intensifies",
        "a sudden shared event (exam, trip, match); teenagers and adults in a new relationship",
        1,
        1.0,
        log_scale=True,
    ),
)

#: Contact at night in the child's local time.
NIGHT_FEATURES: Final[tuple[FeatureSpec, ...]] = (
    FeatureSpec(
        "child_night_share",
        "share of evidence",
        "night",
        "share of contact at night in the child's local time",
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
        "recent share",
        "night",
        "share of recent contact at night in the child's local time",
        "exponentially weighted average (weight 0.1 on the newest) of 'at night in the "
        "child's local time' over communication events timed on the child's known clock, "
        "starting from 0",
        "a shift of contact into the night as the relationship develops",
        "holidays; a change of school timetable",
        1,
        0.0,
    ),
)

#: Moves to more private channels and off the platform.
EXCLUSIVITY_FEATURES: Final[tuple[FeatureSpec, ...]] = (
    FeatureSpec(
        "max_channel",
        "level 0-5",
        "exclusivity",
        "the most private channel reached",
        "highest channel level of any event (public 0, group 1, direct 2, ephemeral 3, "
        "encrypted 4, external 5)",
        "exclusivity: the more private the channel, the fewer people see the contact and the "
        "less the platform's safety tools reach it",
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
        "a deliberate path from one surface to another",
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
        "exp(-days)",
        "exclusivity",
        "time from the first event between the two in this conversation to a move from a "
        "visible channel to an ephemeral, encrypted or external one",
        "`exp(-delay / 1 day)` where `delay` is the time from the conversation's first event "
        "(a room's pair: the first between the two in the room) to its first event on "
        "`ephemeral`, `encrypted` or `external`, when the first event was on `public`, "
        "`group` or `direct`; 0 otherwise (it never moved, or started there)",
        "how soon the move to a less observable surface came: online grooming can compress "
        "the stages into an hour",
        "people who meet and swap numbers on the same day",
        1,
        0.0,
        constrained=False,
    ),
    FeatureSpec(
        "adult_external_events",
        "links or handles",
        "exclusivity",
        "links or handles to other apps shared by the older participant",
        "events of any type the adult sent on the `external` channel",
        "exclusivity: a link or handle to another app opens a way for contact with the child "
        "to leave the platform and its safety tools",
        "a tutor sharing a video-call link; a club's group link",
        1,
        0.0,
        log_scale=True,
    ),
)

#: Media, and the child's blocks and reports (``private_night_share``, of family
#: exclusivity, keeps its column here).
MEDIA_AND_SAFETY_FEATURES: Final[tuple[FeatureSpec, ...]] = (
    FeatureSpec(
        "adult_media_rate",
        "share of evidence",
        "media and safety",
        "share of the older participant's messages that are media",
        "`media` events sent by the adult / (communication events sent by the adult + 4)",
        "escalation toward exchanging images, and desensitization",
        "photos of pets, homework, game clips",
        1,
        0.0,
    ),
    FeatureSpec(
        "child_media_rate",
        "share of evidence",
        "media and safety",
        "share of the younger participant's messages that are media",
        "`media` events sent by the child / (communication events sent by the child + 4)",
        "requests for images are a documented later-stage behaviour",
        "children sharing photos with family or friends",
        1,
        0.0,
        constrained=False,
    ),
    FeatureSpec(
        "adult_night_media_rate",
        "share of evidence",
        "media and safety",
        "share of the older participant's messages that are media sent at night in the "
        "child's local time",
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
        "share of evidence",
        "exclusivity",
        "share of contact on private channels at night in the child's local time",
        "communication events on `ephemeral`, `encrypted` or `external` at night in the child's "
        "local time / (communication events timed on the child's known clock + 4)",
        "exclusivity and risk assessment together: unseen surfaces at unsupervised hours",
        "teenagers on disappearing messages late at night; couples",
        1,
        0.0,
    ),
    FeatureSpec(
        "child_blocks_reports",
        "blocks or reports",
        "media and safety",
        "blocks and reports by the younger participant",
        "`block` and `report` events sent by the child",
        "the child's own signal that contact is unwanted",
        "disputes between peers; blocking spam",
        1,
        0.0,
        log_scale=True,
    ),
)
