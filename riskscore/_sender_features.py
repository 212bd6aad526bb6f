"""Per-account features over everything an account did, joined to conversations (private).

Ages here are the ages declared on each event, so a count only ever grows as
events arrive: the online scorer keeps the same numbers in O(1) per event.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from riskscore._segments import count_by, spread
from riskscore.messages import MessageTable
from riskscore.schema import MINOR_AGE, EventType

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

SENDER_FEATURES = (
    "adult_minor_fanout",
    "adult_minor_contact_share",
    "adult_unaccepted_requests",
    "adult_blocks_reports_from_minors",
)


#: Per event code, whether it is a contact (a lookup is cheaper than ``np.isin``).
_CONTACT_EVENTS = np.isin(
    np.arange(256), (EventType.MESSAGE, EventType.MEDIA, EventType.CONTACT_REQUEST)
)


def is_contact(event: npt.NDArray[np.uint8]) -> BoolArray:
    """Events by which an account reaches out to another."""
    contact: BoolArray = _CONTACT_EVENTS[event]
    return contact


def _two_party(msgs: MessageTable) -> BoolArray | None:
    """Per event, whether its sender is its conversation's initiator, if every event goes
    between its conversation's two accounts (as :func:`riskscore.read_messages` ensures);
    None otherwise."""
    starts = msgs.segment_starts
    initiator = spread(msgs.sender_code[starts], starts, len(msgs))
    responder = spread(msgs.recipient_code[starts], starts, len(msgs))
    from_initiator = msgs.sender_code == initiator
    expected_recipient = np.where(from_initiator, responder, initiator)
    from_responder = msgs.sender_code == responder
    if not np.all((from_initiator | from_responder) & (msgs.recipient_code == expected_recipient)):
        return None
    return np.asarray(from_initiator, dtype=bool)


def _distinct_pairs(
    msgs: MessageTable, mask: BoolArray, n_accounts: int, from_initiator: BoolArray | None
) -> IntArray:
    """Distinct (sender, recipient) pairs of the masked events, as sorted codes
    ``sender * n_accounts + recipient``."""
    if from_initiator is None or len(mask) == 0:
        pairs = msgs.sender_code[mask] * n_accounts + msgs.recipient_code[mask]
    else:
        # A conversation holds at most two (sender, recipient) pairs, one each way: find
        # which occur per conversation, then dedupe those few instead of every event.
        starts = msgs.segment_starts
        initiator, responder = msgs.sender_code[starts], msgs.recipient_code[starts]
        ways = np.logical_or.reduceat(mask & from_initiator, starts)
        back = np.logical_or.reduceat(mask & ~from_initiator, starts)
        pairs = np.concatenate(
            [
                initiator[ways] * n_accounts + responder[ways],
                responder[back] * n_accounts + initiator[back],
            ]
        )
    pairs = np.sort(pairs)
    distinct = np.ones(len(pairs), dtype=bool)
    distinct[1:] = pairs[1:] != pairs[:-1]
    return pairs[distinct]


def account_tallies(msgs: MessageTable) -> tuple[IntArray, IntArray, FloatArray]:
    """What the per-account features are made of, in a form that adds up over tables
    (:mod:`riskscore.out_of_core` merges them across chunks).

    Returns the distinct contact pairs and those to a minor (as :func:`_distinct_pairs`
    codes), and per account, shape (n_accounts, 3), the contact requests it sent, the
    accepts it received and the blocks and reports minors sent it.
    """
    n_acc = len(msgs.accounts)
    contact = is_contact(msgs.event)
    with np.errstate(invalid="ignore"):
        to_minor = msgs.recipient_age < MINOR_AGE
        from_minor = msgs.sender_age < MINOR_AGE
    two_party = _two_party(msgs)
    contacts = _distinct_pairs(msgs, contact, n_acc, two_party)
    minors = _distinct_pairs(msgs, contact & to_minor, n_acc, two_party)
    safety = (msgs.event == EventType.BLOCK) | (msgs.event == EventType.REPORT)
    counts = np.column_stack(
        [
            count_by(msgs.sender_code, n_acc, msgs.event == EventType.CONTACT_REQUEST),
            count_by(msgs.recipient_code, n_acc, msgs.event == EventType.CONTACT_ACCEPT),
            count_by(msgs.recipient_code, n_acc, safety & from_minor),
        ]
    )
    return contacts, minors, counts


def combine(contacts: FloatArray, minors: FloatArray, counts: FloatArray) -> FloatArray:
    """Per-account features, columns as :data:`SENDER_FEATURES`, from each account's
    distinct contacts and minors and its :func:`account_tallies` counts."""
    requests, accepts, flagged = counts[:, 0], counts[:, 1], counts[:, 2]
    return np.column_stack(
        [
            minors,
            minors / np.maximum(contacts, 1.0),
            np.maximum(requests - accepts, 0.0),
            flagged,
        ]
    )


def account_features(msgs: MessageTable) -> FloatArray:
    """Per-account features, shape (n_accounts, 4), columns as :data:`SENDER_FEATURES`."""
    n_acc = len(msgs.accounts)
    contact_pairs, minor_pairs, counts = account_tallies(msgs)
    contacts = count_by(contact_pairs // n_acc, n_acc)
    minors = count_by(minor_pairs // n_acc, n_acc)
    return combine(contacts, minors, counts)
