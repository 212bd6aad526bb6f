"""Per-account features over everything an account did, joined to conversations (private).

Ages here are the ages declared on each event, so a count only ever grows as
events arrive: the online scorer keeps the same numbers in O(1) per event.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from riskscore._segments import count_by
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


def is_contact(event: npt.NDArray[np.uint8]) -> BoolArray:
    """Events by which an account reaches out to another."""
    return np.isin(event, (EventType.MESSAGE, EventType.MEDIA, EventType.CONTACT_REQUEST))


def _distinct_recipients(msgs: MessageTable, mask: BoolArray, n_accounts: int) -> FloatArray:
    """Number of distinct recipients each account sent a masked event to."""
    pairs = msgs.sender_code[mask] * n_accounts + msgs.recipient_code[mask]
    senders = np.unique(pairs) // n_accounts
    return count_by(senders, n_accounts)


def account_features(msgs: MessageTable) -> FloatArray:
    """Per-account features, shape (n_accounts, 4), columns as :data:`SENDER_FEATURES`."""
    n_acc = len(msgs.accounts)
    contact = is_contact(msgs.event)
    with np.errstate(invalid="ignore"):
        to_minor = msgs.recipient_age < MINOR_AGE
        from_minor = msgs.sender_age < MINOR_AGE
    contacts = _distinct_recipients(msgs, contact, n_acc)
    minors = _distinct_recipients(msgs, contact & to_minor, n_acc)
    requests = count_by(msgs.sender_code, n_acc, msgs.event == EventType.CONTACT_REQUEST)
    accepts = count_by(msgs.recipient_code, n_acc, msgs.event == EventType.CONTACT_ACCEPT)
    safety = (msgs.event == EventType.BLOCK) | (msgs.event == EventType.REPORT)
    flagged = count_by(msgs.recipient_code, n_acc, safety & from_minor)
    return np.column_stack(
        [
            minors,
            minors / np.maximum(contacts, 1.0),
            np.maximum(requests - accepts, 0.0),
            flagged,
        ]
    )
