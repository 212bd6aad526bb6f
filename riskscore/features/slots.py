"""The layout of the event kernel's state vectors: which slot of a conversation's state
and of an account's tallies holds what.

:mod:`riskscore.features.update` and :mod:`riskscore.features.kernel` index the float64
vectors with these constants (numba compiles them in as constants), and the online
scorer's state (:mod:`riskscore.online.state`) reads a few of them.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ACCOUNT_PARTS",
    "ACCOUNT_SLOTS",
    "N_ACCOUNT_SLOTS",
    "N_STATE",
    "STATE_SLOTS",
]

#: Conversation state slots. A per-side slot ``X`` holds the responder's value at ``X``
#: and the initiator's at ``X + 1``; an event's sender is side 1 when it is the initiator.
STATE_SLOTS: Final = (
    "age",  # last declared age, per side (NaN unknown)
    "age+1",
    "n_events",
    "t_first",
    "t_last",
    "decayed_short",  # events decayed with TAU_SHORT_S, at t_last
    "decayed_long",
    "comm",  # communication events sent, per side
    "comm+1",
    "run_side",  # side of the current run of communication events (-1: none yet)
    "run_length",
    "run_max",  # longest run, per side
    "run_max+1",
    "offset",  # a side's UTC offset, known from the events it receives (NaN unknown)
    "offset+1",
    "night",  # communication events at night on a side's own clock
    "night+1",
    "recent_night",  # weighted average of "at night" on a side's clock
    "recent_night+1",
    "recent_sent",  # weighted average of "sent by this side"
    "recent_sent+1",
    "first_channel",
    "max_channel",
    "channels_used",  # bit mask
    "upward_moves",
    "first_secure_t",  # time of the first ephemeral/encrypted/external event (NaN none)
    "external",  # events sent on the external channel, per side
    "external+1",
    "media",  # media sent, per side
    "media+1",
    "safety",  # blocks and reports sent, per side
    "safety+1",
    "requests",  # contact requests sent, per side
    "requests+1",
    "night_media",  # media sent by a side at night on its counterpart's clock
    "night_media+1",
    "private_night",  # communication events on a private channel at night on a side's clock
    "private_night+1",
    "clock_known",  # communication events timed on a side's known clock (sent or received)
    "clock_known+1",
    "sent_known",  # communication events a side sent while its recipient's clock was known
    "sent_known+1",
    "group",  # group contact events a side sent (message or media to a room of 5+)
    "group+1",
)
N_STATE: Final = len(STATE_SLOTS)
_S = {name: i for i, name in enumerate(STATE_SLOTS)}
AGE: Final = _S["age"]
N_EVENTS: Final = _S["n_events"]
T_FIRST: Final = _S["t_first"]
T_LAST: Final = _S["t_last"]
DECAYED_SHORT: Final = _S["decayed_short"]
DECAYED_LONG: Final = _S["decayed_long"]
COMM: Final = _S["comm"]
RUN_SIDE: Final = _S["run_side"]
RUN_LENGTH: Final = _S["run_length"]
RUN_MAX: Final = _S["run_max"]
OFFSET: Final = _S["offset"]
NIGHT: Final = _S["night"]
RECENT_NIGHT: Final = _S["recent_night"]
RECENT_SENT: Final = _S["recent_sent"]
FIRST_CHANNEL: Final = _S["first_channel"]
MAX_CHANNEL: Final = _S["max_channel"]
CHANNELS_USED: Final = _S["channels_used"]
UPWARD_MOVES: Final = _S["upward_moves"]
FIRST_SECURE_T: Final = _S["first_secure_t"]
EXTERNAL: Final = _S["external"]
MEDIA: Final = _S["media"]
SAFETY: Final = _S["safety"]
REQUESTS: Final = _S["requests"]
NIGHT_MEDIA: Final = _S["night_media"]
PRIVATE_NIGHT: Final = _S["private_night"]
CLOCK_KNOWN: Final = _S["clock_known"]
SENT_KNOWN: Final = _S["sent_known"]
GROUP: Final = _S["group"]

#: Account tally slots: distinct accounts sent a contact event, of them minors, minors
#: contacted on a private channel; contact requests sent, accepts received, blocks and
#: reports received from minors; contact events sent to minors (group contact included),
#: and of them those in a supervised setting (:func:`~riskscore.features.kernel.is_supervised`).
ACCOUNT_SLOTS: Final = (
    "contacts",
    "minors",
    "private_minors",
    "requests",
    "accepts",
    "flagged",
    "minor_events",
    "supervised_minor_events",
)
N_ACCOUNT_SLOTS: Final = len(ACCOUNT_SLOTS)
(
    A_CONTACTS,
    A_MINORS,
    A_PRIVATE_MINORS,
    A_REQUESTS,
    A_ACCEPTS,
    A_FLAGGED,
    A_MINOR_EVENTS,
    A_SUPERVISED_EVENTS,
) = range(N_ACCOUNT_SLOTS)

#: Account tallies that count a part of another's, as ``(part, whole)`` slots: distinct
#: minors among the distinct accounts contacted, those contacted privately among the
#: minors, supervised contact events to minors among all of them. Every history keeps each
#: part within its whole; a file or checkpoint that does not was changed (a part above its
#: whole gave a share above 1, ``adult_minor_contact_share`` 5.0).
ACCOUNT_PARTS: Final = (
    (A_MINORS, A_CONTACTS),
    (A_PRIVATE_MINORS, A_MINORS),
    (A_SUPERVISED_EVENTS, A_MINOR_EVENTS),
)
