"""The Synapse module's saved room map (``ConversationRooms.from_json``) reads only the
rows it writes.

Was (review 30): a row whose timestamp was JSON's ``true`` was read as the time 1 (a bool is
an ``int`` to Python), so a tampered checkpoint put a conversation's latest event in 1970
and the map expired it at the next event.
"""

from __future__ import annotations

import pytest

from riskscore.integrations._synapse_rooms import ConversationRooms


@pytest.mark.parametrize("timestamp", [True, False, 1.5, "1700000000", None])
def test_a_row_whose_time_is_no_integer_is_refused(timestamp: object) -> None:
    with pytest.raises(ValueError, match="conversation room 0: expected"):
        ConversationRooms.from_json([["c", "!room:hs", "direct", timestamp]], 86_400.0)


def test_rows_it_writes_read_back() -> None:
    rooms = ConversationRooms(86_400.0)
    rooms.note("c", "!room:hs", "direct", 1_700_000_000)
    again = ConversationRooms.from_json(rooms.to_json(), 86_400.0)
    assert again.get("c") == ("!room:hs", "direct")
    assert again.to_json() == rooms.to_json()
