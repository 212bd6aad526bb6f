"""The per-account tallies' pass over events, compiled (private).

:func:`tally_events` reads each event once and adds what it says about its sender and
its recipient to per-account counts (contact requests sent, accepts received, blocks and
reports received from minors, contact events to minors, of them in a supervised setting),
and marks, per conversation and direction, whether it holds a contact, a contact to a
minor and a contact to a minor on a private channel (the distinct contact pairs of
:mod:`riskscore.features.accounts` are read from those marks). The rules are those of
:mod:`riskscore.features.accounts`'s docstring; group contact and the supervised setting
are the same functions as everywhere else (:func:`riskscore.io.groups.is_group_contact`,
:func:`riskscore.features.kernel.is_supervised`), compiled here.

Conversations are independent: :func:`tally_events` covers a range of them, so ranges run
on worker threads (the function releases the GIL), each with its own counts, which add up.
"""

from __future__ import annotations

from typing import Final

import numba
import numpy as np
import numpy.typing as npt

from riskscore._jit_cache import jit_cache_on_disk
from riskscore.features.kernel import is_supervised
from riskscore.io.groups import is_group_contact
from riskscore.io.schema import MINOR_AGE, Channel, EventType

__all__ = ["COUNT_COLUMNS", "MARK_COLUMNS", "tally_events"]

FloatArray = npt.NDArray[np.float64]

#: Columns of the counts :func:`tally_events` adds to, per account.
COUNT_COLUMNS: Final = ("requests", "accepts", "flagged", "minor_events", "supervised_minor_events")
#: Columns of the per-conversation marks: for each set of contact pairs, the initiator's
#: way (initiator to responder), then the way back.
MARK_COLUMNS: Final = ("contacts", "minors", "private_minors")

_MESSAGE: Final = int(EventType.MESSAGE)
_MEDIA: Final = int(EventType.MEDIA)
_REQUEST: Final = int(EventType.CONTACT_REQUEST)
_ACCEPT: Final = int(EventType.CONTACT_ACCEPT)
_BLOCK: Final = int(EventType.BLOCK)
_REPORT: Final = int(EventType.REPORT)
_PRIVATE: Final = int(Channel.EPHEMERAL)

_group_contact = numba.njit(cache=jit_cache_on_disk(), nogil=True)(is_group_contact)


@numba.njit(cache=jit_cache_on_disk(), nogil=True)
def tally_events(
    starts: npt.NDArray[np.int64],
    sender: npt.NDArray[np.int64],
    recipient: npt.NDArray[np.int64],
    event: npt.NDArray[np.uint8],
    sender_age: FloatArray,
    recipient_age: FloatArray,
    channel: npt.NDArray[np.uint8],
    room_size: npt.NDArray[np.int32],
    first: int,
    stop: int,
    counts: FloatArray,
    marks: npt.NDArray[np.bool_],
) -> None:
    """Tally the events of conversations ``first .. stop - 1`` (sorted by conversation;
    conversation ``k`` holds events ``starts[k] .. starts[k + 1] - 1``).

    ``counts`` (shape (n_accounts, 5), :data:`COUNT_COLUMNS`) is added to, by account
    code; ``marks`` (shape (n_conversations, 6)) receives, for row ``k``, whether the
    conversation holds a contact, a contact to a minor and a contact to a minor on
    ``ephemeral`` or a more private channel (:data:`MARK_COLUMNS`), each from its
    initiator (column ``2 * j``) and to it (column ``2 * j + 1``). A contact is a
    ``message``, ``media`` or ``contact_request`` event that is not group contact; group
    contact still counts among the contact events to minors.
    """
    n_rows = len(sender)
    for k in range(first, stop):
        begin = starts[k]
        end = starts[k + 1] if k + 1 < len(starts) else n_rows
        initiator = sender[begin]
        for e in range(begin, end):
            ev = event[e]
            s = sender[e]
            r = recipient[e]
            if ev == _REQUEST:
                counts[s, 0] += 1.0
            elif ev == _ACCEPT:
                counts[r, 1] += 1.0
            elif (ev == _BLOCK or ev == _REPORT) and sender_age[e] < MINOR_AGE:  # noqa: SIM109
                counts[r, 2] += 1.0
            if not (ev == _MESSAGE or ev == _MEDIA or ev == _REQUEST):  # noqa: SIM109
                continue
            back = 0 if s == initiator else 1
            contact = not _group_contact(room_size[e], ev)
            if contact:
                marks[k, back] = True
            if recipient_age[e] < MINOR_AGE:
                counts[s, 3] += 1.0
                if is_supervised(channel[e], room_size[e]):
                    counts[s, 4] += 1.0
                if contact:
                    marks[k, 2 + back] = True
                    if channel[e] >= _PRIVATE:
                        marks[k, 4 + back] = True
