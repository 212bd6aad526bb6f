"""Group rooms in vignettes: one row per member an event reached, each pair scored as its
own conversation (docs/schema.md, "Group conversations"), and the format's errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import riskscore as rs
from riskscore.vignettes import Vignette, VignetteFileError, read_vignette
from riskscore.vignettes.specs import RoomSpec

ROOM = """
title = "A test room"
kind = "benign"
expected = "no_alert"
summary = "Something happens."
reason = "A moderator's reason."
seed = 3

[accounts]
coach = { age = 35, tz = 60 }
kids = { ages = [12, 13, 12], tz = [60, 60, -300] }

[[conversations]]
name = "team"
room = ["coach", "kids"]
clock = "kids"
start = 2025-01-06
focus = true

[[conversations.phases]]
days = 5
hours = [16, 19]
channel = "group"
events = 40
shares = { coach = 0.25, kids = 0.75 }
media = { coach = 0.1 }

[[conversations]]
name = "dm"
between = ["coach", "kids"]
clock = "kids"
start = 2025-01-08

[[conversations.phases]]
hours = [17, 18]
channel = "direct"
events = 4
shares = { coach = 0.5, kids = 0.5 }
"""

P = "t02-room"


def _read(tmp_path: Path, text: str = ROOM) -> Vignette:
    path = tmp_path / f"{P}.toml"
    path.write_text(text, encoding="utf-8")
    return read_vignette(path)


def test_a_room_event_is_one_row_per_other_member(tmp_path: Path) -> None:
    vignette = _read(tmp_path)
    room = vignette.conversations[0]
    assert isinstance(room, RoomSpec)
    assert [a.id for a in room.members] == [f"{P}/coach"] + [f"{P}/kids-{k}" for k in (1, 2, 3)]
    events = vignette.events()
    mine = events["conversation_id"] == f"{P}/team"
    assert np.sum(mine) == 40 * 3
    assert np.all(events["room_size"][mine] == 4)
    # the two-account conversations beside it carry no room size
    assert np.all(np.isnan(events["room_size"][~mine]))
    # each event: one sender, the same time, channel and kind, every other member once
    keys = list(zip(events["timestamp"][mine], events["sender_id"][mine], strict=True))
    for key in set(keys):
        rows = [i for i, k in enumerate(keys) if k == key]
        assert len(rows) % 3 == 0
        recipients = events["recipient_id"][mine][rows]
        assert key[1] not in set(recipients)
    senders = events["sender_id"][mine][::3]
    assert np.sum(senders == f"{P}/coach") == 10
    media = events["event"][mine][::3] == "media"
    assert np.sum(media) == 1
    assert senders[media][0] == f"{P}/coach"
    # the kids' offsets: each row carries its recipient's
    to_third = events["recipient_id"][mine] == f"{P}/kids-3"
    assert np.all(events["recipient_tz_offset_min"][mine][to_third] == -300)


def test_each_pair_of_the_room_is_scored_as_its_own_conversation(tmp_path: Path) -> None:
    vignette = _read(tmp_path)
    pairs = {
        f"{P}/team|{P}/coach|{P}/kids-1",
        f"{P}/team|{P}/coach|{P}/kids-2",
        f"{P}/team|{P}/coach|{P}/kids-3",
        f"{P}/team|{P}/kids-1|{P}/kids-2",
        f"{P}/team|{P}/kids-1|{P}/kids-3",
        f"{P}/team|{P}/kids-2|{P}/kids-3",
    }
    assert set(vignette.focus) == set(vignette.room_pairs) == pairs
    messages = rs.read_messages(vignette.events())
    assert messages.groups.n_rooms == 1
    assert messages.groups.n_pairs == 6
    direct = {f"{P}/dm-{k}" for k in (1, 2, 3)}
    assert set(messages.conversations.tolist()) == pairs | direct
    features = rs.extract_features(messages)
    group = features.column("group_contact_events")
    n_events = features.column("n_events")
    ids = features.conversation_id.tolist()
    # a room of four is a private circle: its messages are contact between each pair
    assert all(group[ids.index(p)] == 0 and n_events[ids.index(p)] > 0 for p in pairs)
    assert all(group[ids.index(d)] == 0 for d in direct)


def test_a_room_above_max_room_members_is_a_broadcast(tmp_path: Path) -> None:
    text = ROOM.replace("ages = [12, 13, 12], tz = [60, 60, -300]", "count = 25, tz = 60")
    vignette = _read(tmp_path, text.split('[[conversations]]\nname = "dm"')[0])
    events = vignette.events()
    messages = rs.read_messages(events)
    assert len(messages) == 0
    assert messages.groups.n_broadcast == len(events["timestamp"]) == 40 * 25


def test_a_table_of_broadcasts_only_is_refused_as_such() -> None:
    """Was: "no events to featurize: the message table is empty" from extract_features and
    RiskModel.score, while `riskscore score` named the rows set aside as broadcasts."""
    n = 25
    events = {
        "conversation_id": ["club"] * n,
        "timestamp": [1_735_000_000] * n,
        "sender_id": ["club"] * n,
        "recipient_id": [f"m{k}" for k in range(n)],
        "channel": ["group"] * n,
        "event": ["message"] * n,
        "room_size": [n + 1] * n,
    }
    for call in (rs.extract_features, rs.load_model().score):
        with pytest.raises(rs.SchemaError) as caught:
            call(events)
        assert str(caught.value) == (
            "no events to featurize: its 25 rows are all broadcasts (rooms of more than 20 "
            "accounts), set aside"
        )
    with pytest.raises(rs.SchemaError, match=r"more than max_room_members accounts"):
        rs.extract_features(rs.read_messages(events))


@pytest.mark.parametrize(
    ("old", "new", "key", "message"),
    [
        (
            'room = ["coach", "kids"]',
            'room = ["coach", "nobody"]',
            "conversations[0].room[1]",
            "no account 'nobody'",
        ),
        (
            'room = ["coach", "kids"]',
            'room = ["coach", "coach"]',
            "conversations[0].room",
            "different account names",
        ),
        (
            'room = ["coach", "kids"]',
            'room = "coach"',
            "conversations[0].room",
            "different account names",
        ),
        (
            "kids = { ages = [12, 13, 12], tz = [60, 60, -300] }",
            "kids = { age = 12, tz = 60 }",
            "conversations[0].room",
            "three or more accounts, found 2",
        ),
        (
            'room = ["coach", "kids"]',
            'room = ["coach", "kids"]\nbetween = ["coach", "kids"]',
            "conversations[0].room",
            "not both",
        ),
        ('clock = "kids"', 'clock = "other"', "conversations[0].clock", "accounts"),
        ("tz = [60, 60, -300]", "tz = [60, 60, 5]", "accounts.kids.tz[2]", "whole quarter hours"),
        (
            "coach = { age = 35, tz = 60 }",
            "coach = { age = 35, tz = 1 }",
            "accounts.coach.tz",
            "hours",
        ),
        (
            "media = { coach = 0.1 }",
            'media = { coach = 0.1 }\nopening = [{ by = "coach", event = "contact_request" }]',
            "conversations[0].phases[0]",
            "no opening or closing",
        ),
        (
            "shares = { coach = 0.25, kids = 0.75 }",
            "shares = { coach = 0.25, kids = 0.7 }",
            "conversations[0].phases[0].shares",
            "add up to 1",
        ),
    ],
)
def test_malformed_rooms_name_the_file_and_key(
    tmp_path: Path, old: str, new: str, key: str, message: str
) -> None:
    assert old in ROOM
    with pytest.raises(VignetteFileError) as info:
        _read(tmp_path, ROOM.replace(old, new, 1)).events()
    assert info.value.key == key
    assert str(info.value).startswith(f"{P}.toml: key {key!r}:")
    assert message in str(info.value)


def test_room_rows_count_toward_the_event_limit(tmp_path: Path) -> None:
    text = ROOM.replace("events = 40", "events = 40000")
    with pytest.raises(VignetteFileError, match="more than 100000") as info:
        _read(tmp_path, text)
    assert info.value.key == "conversations[0]"
