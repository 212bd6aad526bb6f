"""The registry of features: one definition each, shared by batch and online code.

The order here is the column order of :class:`~riskscore.features.FeatureTable`.
``docs/features.md`` explains each feature and why it signals risk.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = [
    "FEATURES",
    "FEATURE_NAMES",
    "NIGHT_END_MIN",
    "NIGHT_START_MIN",
    "TAU_LONG_S",
    "TAU_SHORT_S",
    "FeatureSpec",
]

#: Night in the child's local time: 22:00 to 06:00.
NIGHT_START_MIN: Final = 22 * 60
NIGHT_END_MIN: Final = 6 * 60

#: Time constants of the exponentially decayed event counts (escalation).
TAU_SHORT_S: Final = 86_400.0
TAU_LONG_S: Final = 7 * 86_400.0

#: Time constant of how quickly a move to ephemeral, encrypted or external channels came.
TAU_SECURE_MOVE_S: Final = 86_400.0


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """What one feature means.

    Attributes
    ----------
    name : str
        Column name in the feature table.
    unit : str
        Unit of the value.
    family : str
        Feature family (age, contact, escalation, exclusivity, night, channel, sender).
    description : str
        One-line meaning, used in alert reasons.
    log_scale : bool
        Whether models see ``log1p`` of the value (heavy-tailed counts and rates).
    """

    name: str
    unit: str
    family: str
    description: str
    log_scale: bool = False


FEATURES: Final[tuple[FeatureSpec, ...]] = (
    FeatureSpec("child_age", "years", "age", "age of the younger participant (NaN if unknown)"),
    FeatureSpec("adult_age", "years", "age", "age of the older participant (NaN if unknown)"),
    FeatureSpec("age_gap", "years", "age", "age difference between the participants"),
    FeatureSpec("child_is_minor", "0/1", "age", "the younger participant is known to be under 18"),
    FeatureSpec("child_age_known", "0/1", "age", "the younger participant's age is known"),
    FeatureSpec("adult_age_known", "0/1", "age", "the older participant's age is known"),
    FeatureSpec("adult_initiated", "0/1", "contact", "the older participant made first contact"),
    FeatureSpec("n_events", "events", "contact", "events in the conversation", log_scale=True),
    FeatureSpec("span_hours", "hours", "contact", "time from first to last event", log_scale=True),
    FeatureSpec(
        "recent_rate_per_day",
        "events/day",
        "escalation",
        "event rate over the last day (exponentially decayed)",
        log_scale=True,
    ),
    FeatureSpec(
        "escalation_ratio",
        "ratio",
        "escalation",
        "recent event rate over long-run rate (1-day over 7-day decay)",
        log_scale=True,
    ),
    FeatureSpec(
        "adult_message_share", "fraction", "contact", "share of messages sent by the older one"
    ),
    FeatureSpec(
        "adult_max_unanswered_run",
        "messages",
        "contact",
        "longest run of the older one's messages without a reply",
        log_scale=True,
    ),
    FeatureSpec(
        "child_night_share",
        "fraction",
        "night",
        "share of messages at night (22:00-06:00) in the child's local time",
    ),
    FeatureSpec("max_channel", "level 0-5", "exclusivity", "most private channel reached"),
    FeatureSpec("n_channels_used", "channels", "exclusivity", "distinct channels used"),
    FeatureSpec(
        "upward_channel_moves",
        "moves",
        "exclusivity",
        "times the conversation reached a more private channel",
    ),
    FeatureSpec(
        "secure_move_speed",
        "0-1",
        "exclusivity",
        "how soon it moved to an ephemeral, encrypted or external channel",
    ),
    FeatureSpec(
        "adult_external_events",
        "events",
        "exclusivity",
        "links or handles to other apps shared by the older one",
        log_scale=True,
    ),
    FeatureSpec(
        "adult_media_events", "events", "escalation", "media sent by the older one", log_scale=True
    ),
    FeatureSpec(
        "child_media_events",
        "events",
        "escalation",
        "media sent by the younger one",
        log_scale=True,
    ),
    FeatureSpec(
        "child_blocks_reports",
        "events",
        "safety",
        "blocks and reports by the younger one",
        log_scale=True,
    ),
    FeatureSpec(
        "adult_minor_fanout",
        "accounts",
        "sender",
        "distinct minors the older account contacted",
        log_scale=True,
    ),
    FeatureSpec(
        "adult_minor_contact_share",
        "fraction",
        "sender",
        "share of the older account's contacts who are minors",
    ),
    FeatureSpec(
        "adult_unaccepted_requests",
        "requests",
        "sender",
        "contact requests by the older account never accepted",
        log_scale=True,
    ),
    FeatureSpec(
        "adult_blocks_reports_from_minors",
        "events",
        "sender",
        "blocks and reports the older account received from minors",
        log_scale=True,
    ),
)

FEATURE_NAMES: Final = tuple(spec.name for spec in FEATURES)
