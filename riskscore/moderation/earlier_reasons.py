"""Reasons a review queue stored in riskscore's earlier wording, for exports and the console.

Before review 38 (``Reasons: one wording a moderator reads``), a reason read ``description:
value (+contribution); why``, with some descriptions and whys worded otherwise and values as
the earlier ``format_value`` wrote them (``1 events``, ``0 %`` for a share under 1 %,
``after 0.38 hours``). A queue keeps what it stored, so its older alerts hold reasons in that
wording, which :func:`riskscore.model.scores.is_reason_text` (the current wording) does not
read. :func:`exported_reason` takes a stored text in exactly that wording, a registered
feature's earlier description and why around a value of the earlier grammar (numbers, units
and channel names, never a person's words), and writes it in the current description and why
with its value as recorded, marked as such: the value is not re-worded, since the earlier
rounding lost what the current wording would say (``0 %`` may have been ``under 1 %``).
"""

from __future__ import annotations

import re

from riskscore.features.registry import FEATURES, FeatureSpec
from riskscore.model.scores import WHY_PREFIX, is_reason_text, value_and_push

__all__ = ["exported_reason", "shown_reason"]

#: After the value and contribution of a reason exported from its earlier wording.
EARLIER_MARK = "as recorded in riskscore's earlier wording"

#: The earlier (description, why) of each feature whose wording changed since; the others
#: read as they do now.
_EARLIER = {
    "child_age": (
        "the younger participant's declared age",
        "victim selection targets young people; most recorded victims are 12-15",
    ),
    "n_events": (
        "events in the conversation",
        "describes the conversation; not a risk signal on its own",
    ),
    "span_hours": (
        "time from the first to the last event",
        "describes the conversation; not a risk signal on its own",
    ),
    "adult_message_share": (
        "the older participant writes most messages",
        "trust building is driven by the adult: attention, flattery, persistence",
    ),
    "adult_recent_share": (
        "the older participant writes most of the recent messages",
        "pressure and persistence late in a conversation",
    ),
    "adult_max_unanswered_run": (
        "the older participant kept writing without replies",
        "persistence toward a child who does not answer; pressure for a reply",
    ),
    "recent_rate_per_day": (
        "events in the last day",
        "describes intensity; a busy day is not risk on its own",
    ),
    "escalation_ratio": (
        "contact is accelerating",
        "escalation: contact becomes more frequent as the relationship intensifies",
    ),
    "child_night_share": (
        "contact at night in the child's local time",
        "risk assessment: contact when the child is less likely to be supervised",
    ),
    "child_recent_night_share": (
        "recent contact at night in the child's local time",
        "a shift of contact into the night as the relationship develops",
    ),
    "secure_move_speed": (
        "a fast move from a visible channel to an ephemeral, encrypted or external one",
        "how soon the move to a less observable surface came; online grooming can compress the "
        "stages into an hour",
    ),
    "adult_media_rate": (
        "media sent by the older participant",
        "escalation toward exchanging images; desensitization",
    ),
    "child_media_rate": (
        "media sent by the younger participant",
        "requests for images are a documented later-stage behaviour",
    ),
    "adult_night_media_rate": (
        "media sent by the older participant at night in the child's local time",
        "images sent to a child when it is least likely to be supervised: escalation and risk "
        "assessment together",
    ),
    "private_night_share": (
        "contact on private channels at night in the child's local time",
        "exclusivity and risk assessment together: unseen surfaces at unsupervised hours",
    ),
    "adult_minor_contact_share": (
        "most of the older account's contacts are minors",
        "an adult whose contacts are mostly children",
    ),
    "adult_unaccepted_requests": (
        "contact requests by the older account never accepted",
        "victim selection: broad, unsolicited approaches",
    ),
    "adult_unaccepted_share": (
        "most of the older account's contact requests went unaccepted",
        "unsolicited approaches that people decline",
    ),
    "adult_flagged_per_minor": (
        "minors the older account contacted often blocked or reported it",
        "the children an account approaches push back",
    ),
    "adult_initiated": (
        "the older participant made first contact",
        "victim selection: the older party reaches out to the child",
    ),
    "adult_supervised_minor_share": (
        "the older account's contact with minors is mostly in group or public spaces",
        "lowers risk: an adult who reaches children where others can see (a team's or a class's "
        "channel, a public space) is not isolating them; grooming moves a child to one-to-one "
        "contact and keeps it there",
    ),
}

#: Whys re-worded since review 38 because a value could contradict them (``1 account``
#: read as "several children"; `encrypted`, a channel of the platform, as "off the
#: platform"), oldest first: a reason stored in the current grammar with one of these reads
#: in the current why, marked; a reason stored before review 38 held the oldest.
_EARLIER_WHY: dict[str, tuple[str, ...]] = {
    # then (stop 54) "kept where others cannot see it" and "moved" beside a group room on
    # a private channel, or a conversation that started on another app
    "max_channel": (
        "exclusivity: moving somewhere private and off the platform",
        "exclusivity: contact kept where others cannot see it, or moved to another app",
    ),
    # stop 54: "pulling the child" beside a link posted to a group room
    "adult_external_events": (
        "exclusivity: pulling the child off the platform, beyond its safety tools",
    ),
    "n_channels_used": ("a deliberate path through several surfaces",),
    "adult_minor_fanout": (
        "victim selection: approaching many children in parallel",
        # then: "an adult" read wrong beside an older account under 18 (two known minors)
        "victim selection: an adult approaching children, the more in parallel the stronger",
    ),
    "adult_private_minor_fanout": (
        "isolating several children at once on surfaces others cannot see",
        # stop 47: "more than one" read wrong beside a value of 1 account
        "isolating children on surfaces others cannot see, more than one at once in parallel",
    ),
    "adult_unaccepted_requests": ("victim selection: broad, unsolicited approaches",),
    # review 53: "people decline" claimed more than a request not accepted (yet) shows; then
    # (hr66a) "declined, or not answered yet" beside a request the child replied to in
    # messages, with no contact_accept event
    "adult_unaccepted_share": (
        "unsolicited approaches that people decline",
        "unsolicited approaches that were not accepted (declined, or not answered yet)",
    ),
    # review 53: "a stranger" claimed more than a contact request shows; then (stop 54) "no
    # earlier history" beside a request sent after days of contact in a group room
    "adult_sent_request": (
        "a new contact with no mutual history: a stranger approaching a child",
        "a new contact with no earlier history between the two on the platform: an account "
        "outside the child's contacts reaching out",
    ),
    # "an adult", "the adult" read wrong beside an older account under 18 (two known minors);
    # then (review 53) "private", "one-to-one" and "reaches out" beside a group room's pair
    "adult_age": (
        "an adult in private contact with a child is the precondition of grooming",
        "an older person in private contact with a child is the precondition of grooming",
    ),
    "age_gap": (
        "a large gap between an adult and a child in one-to-one contact is a core risk factor",
        "a large age gap in one-to-one contact with a child is a core risk factor",
        # stop 54: "a large age gap" beside a gap of 2 years
        "a large age gap between a child and an account in contact with it is a core risk factor",
    ),
    # then (follow-up 54b) "started the contact between them" beside the first event of a
    # direct conversation the two opened after contact in a group room
    "adult_initiated": (
        "victim selection: the older party reaches out to the child",
        "victim selection: the older party, not the child, started the contact between them",
    ),
    "adult_message_share": (
        "trust building is driven by the adult: attention, flattery, persistence",
    ),
    "adult_minor_contact_share": (
        "an adult whose contacts are mostly children",
        # stop 54: "mostly" beside a share of 50 %
        "an account whose contacts are mostly children",
    ),
}

#: Descriptions re-worded since review 38, oldest first: a reason stored in the current
#: grammar with one of these reads in the current description, marked.
_EARLIER_DESCRIPTION: dict[str, tuple[str, ...]] = {
    # follow-up 53: with its value the unit read twice ("... per minor the older account
    # contacted: 0.33 per minor contacted")
    "adult_flagged_per_minor": (
        "blocks and reports from minors per minor the older account contacted",
    ),
    # stop 54: with its value "after 36 minutes of contact" read as the time the two had
    # known each other, where they had met days before in a group room (another conversation)
    "secure_move_speed": (
        "a move from a visible channel to an ephemeral, encrypted or external one",
    ),
    # follow-up 54b: "first contact" beside the first event of a direct conversation the two
    # opened after contact in a group room, where the child had posted first
    "adult_initiated": ("the older participant made first contact",),
}

_NUMBER = r"-?(?:\d+(?:\.\d+)?(?:e[+-]\d+)?|inf)|nan"
_UNITS = "%|years|hours|days|events a day|events|messages|accounts|requests|moves|channels"
_WORDS = "unknown|yes|no|no move|public|group|direct|ephemeral|encrypted|external"
#: What the earlier ``format_value`` wrote, then `` (+contribution)``.
_VALUE_AND_PUSH = re.compile(
    rf"(?:(?:after )?(?:{_NUMBER})(?: (?:{_UNITS}))?|{_WORDS}) \(\+(?:{_NUMBER})\)"
)


def exported_reason(text: object) -> str | None:
    """The text an export quotes for a stored reason: ``text`` in the current wording
    (:func:`~riskscore.model.scores.is_reason_text`) as it is; in exactly the earlier
    wording, re-worded with its value as recorded and :data:`EARLIER_MARK`; any other text
    (a platform's own wording, a file changed outside riskscore) None, never quoted.

    Examples
    --------
    >>> text = exported_reason(
    ...     "the older participant sent a contact request: yes (+0.50); a new contact with no "
    ...     "mutual history: a stranger approaching a child"
    ... )
    >>> for part in text.split(", ", 1)[1].split(". "): print(part)
    as recorded in riskscore's earlier wording
    Why it can matter: victim selection: an account not yet among the child's contacts asked to be added
    >>> exported_reason("the older participant sent a contact request: he said (+0.50)") is None
    True
    """  # noqa: E501
    if is_reason_text(text):
        return str(text)
    if not isinstance(text, str):
        return None
    for spec in FEATURES:
        middle = _earlier_value(text, spec)
        if middle is not None:
            worded = f"{spec.description}: {middle}, {EARLIER_MARK}"
            return f"{worded}. {WHY_PREFIX}{spec.why}" if spec.why else worded
    return None


def _earlier_value(text: str, spec: FeatureSpec) -> str | None:
    """The ``value (+contribution)`` of ``text`` when it is ``spec``'s reason in an earlier
    wording: the grammar before review 38 (with the oldest why), or the current grammar
    with any earlier description or why; else None."""
    earlier_whys = _EARLIER_WHY.get(spec.name, (spec.why,))
    description, why = _EARLIER.get(spec.name, (spec.description, earlier_whys[0]))
    head, tail = f"{description}: ", f"; {why}" if why else ""
    cut = text[len(head) : len(text) - len(tail)]
    if text.startswith(head) and text.endswith(tail) and _VALUE_AND_PUSH.fullmatch(cut):
        return cut
    descriptions = (spec.description, *_EARLIER_DESCRIPTION.get(spec.name, ()))
    for said in descriptions:
        # the current description with its current why is the current wording, not earlier
        whys = (*earlier_whys, spec.why) if said != spec.description else earlier_whys
        for earlier_why in dict.fromkeys(whys):
            middle = value_and_push(text, said, earlier_why)
            if middle is not None:
                return middle
    return None


def shown_reason(text: str) -> str:
    """The text the moderators' console shows for a stored reason: as the exports quote
    it (:func:`exported_reason`: the earlier wording re-worded and marked), or as stored
    when riskscore did not write it (a platform's own wording is its moderators' to read).

    Examples
    --------
    >>> shown_reason("a note the platform's queue stored")
    "a note the platform's queue stored"
    """
    quoted = exported_reason(text)
    return text if quoted is None else quoted
