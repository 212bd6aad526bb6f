"""A room scored in parts keeps its id in each part, and the queue files its other pairs
under their pair ids (found by a hostile review of group chats, December 2026).

Was: a day's file in which room ``club`` held only adult ``a`` and child ``k1`` queued the
alert under ``club``; the next day's, in which it held ``a`` and ``k2``, raised an urgent
alert under ``club`` too, and the queue refused it (two conversations under one id), exit 0:
the moderator never saw the second child. Scored whole, the room's pairs are
``club|a|k1`` and ``club|a|k2``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from riskscore.moderation import QueueError, ReviewQueue
from riskscore.policy import Alert, Tier

T0 = 1_767_225_600


def _alert(conversation: object, child: str, risk: float = 0.9) -> Alert:
    return Alert(conversation, "a", child, 13.0, "13-15", risk, Tier.URGENT)


@pytest.mark.parametrize("room", ["club", 77])
def test_a_rooms_other_pair_goes_on_under_its_pair_id(tmp_path: Path, room: object) -> None:
    with ReviewQueue(tmp_path / "q.sqlite") as q:
        first = q.add_alert(_alert(room, "k1"), at=T0)
        second = q.add_alert(_alert(room, "k2"), at=T0 + 86_400)
        assert second != first
        # the second pair's later alerts, under the room's id or its pair id, are its item's
        assert q.add_alert(_alert(room, "k2", 0.95), at=T0 + 2 * 86_400) == second
        assert q.add_alert(_alert(f"{room}|a|k2", "k2", 0.97), at=T0 + 3 * 86_400) == second
        items = {i.item_id: i for i in q.items()}
        assert (items[first].conversation_id, items[first].child_id) == (room, "k1")
        assert (items[second].conversation_id, items[second].child_id) == (f"{room}|a|k2", "k2")
        assert items[second].n_signals == 3
        case = q.case("a", now=T0 + 4 * 86_400)
        assert case is not None
        assert {i.child_id for i in case.items} == {"k1", "k2"}  # one adult, two children


def test_a_pair_id_of_other_accounts_is_still_a_clash(tmp_path: Path) -> None:
    with ReviewQueue(tmp_path / "q.sqlite") as q:
        q.add_alert(_alert("club|a|k1", "k1"), at=T0)
        with pytest.raises(QueueError, match="two conversations under one id are never merged"):
            q.add_alert(Alert("club|a|k1", "x", "y", 13.0, "13-15", 0.9, Tier.URGENT), at=T0 + 1)
