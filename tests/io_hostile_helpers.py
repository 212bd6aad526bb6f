"""What the tests of hostile input share: forty adults with 20-digit ids, a CSV header,
and one valid event to vary (:data:`BASE_EVENT`). All synthetic.
"""

from __future__ import annotations

from typing import Any

import riskscore as rs

T0 = 1_714_521_600
HEADER = "conversation_id,timestamp,sender_id,recipient_id,channel,event,sender_age,recipient_age"


def forty_adults() -> dict[str, list[Any]]:
    """40 distinct adults with 20-digit ids, each sending one contact request to a
    13-year-old in a conversation of its own."""
    adults = [10**19 + 7 * i for i in range(40)]
    return {
        "conversation_id": list(range(40)),
        "timestamp": [T0 + i for i in range(40)],
        "sender_id": adults,
        "recipient_id": [1_000 + i for i in range(40)],
        "channel": ["direct"] * 40,
        "event": ["contact_request"] * 40,
        "sender_age": [35.0] * 40,
        "recipient_age": [13.0] * 40,
    }


def n_adults(msgs: rs.MessageTable) -> int:
    return len({str(v) for v in msgs.sender_id.tolist()})


#: A message of emoji alone (one short "word"): never quoted, nor kept as a name.
EMOJI_MESSAGE = "\U0001f618\U0001f48b\U0001f60d"

BASE_EVENT: dict[str, Any] = {
    "conversation_id": 1,
    "timestamp": T0,
    "sender_id": 10,
    "recipient_id": 20,
    "channel": "direct",
    "sender_age": 30.0,
    "recipient_age": 13.0,
    "event": "message",
    "recipient_tz_offset_min": 0,
}
