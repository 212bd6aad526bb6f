"""A room of three or four accounts is a private circle, not a space in view of others.

An adult alone with two children in a room of three is in close contact with each: its
messages count as contact between each pair (night-time, images, who writes), and the room
is not a supervised setting. From :data:`~riskscore.io.groups.GROUP_MIN_ROOM_SIZE` accounts
(a team's or class's channel) the same rows are group contact.
"""

from __future__ import annotations

import numpy as np
from features_helpers import HOUR, T0, Event, ev, to_columns

import riskscore as rs
from riskscore.io.groups import GROUP_MIN_ROOM_SIZE

AGES = {"adult": 32, "kid1": 12, "kid2": 12}
DAY = 24 * HOUR


def _room_nights(room_size: int) -> list[Event]:
    """Two weeks of sessions in one room of the adult and two 12-year-olds (UTC+0): a week
    of afternoons (17:00-18:00), then a week of nights (22:00-23:00); the adult writes most
    and sends images, and a link to another app on the last night."""
    rows: list[Event] = []

    def post(t: int, sender: str, event: str = "message", channel: str = "group") -> None:
        for recipient in AGES:
            if recipient != sender:
                rows.append(
                    ev("room", t, sender, recipient, sender_age=AGES[sender],
                       recipient_age=AGES[recipient], channel=channel, event=event,
                       room_size=room_size)
                )  # fmt: skip

    for night in range(14):  # day 0-6 afternoons, 7-13 nights
        start = night * DAY + (17 if night < 7 else 22) * HOUR
        for k in range(12):
            t = start + 300 * k
            post(t, "adult", "media" if k == 5 else "message")
            if k % 3 == 2:
                post(t + 60, "kid1" if k % 2 else "kid2")
    post(13 * DAY + 23 * HOUR + 1_800, "adult", channel="external")
    return rows


def _scores(room_size: int) -> dict[str, tuple[float, rs.Tier | None]]:
    messages = rs.read_messages(to_columns(_room_nights(room_size)))
    scores = rs.load_model().score(messages)
    alerts = {a.conversation_id: a.tier for a in rs.AlertPolicy.default().alerts(scores)}
    ids = scores.conversation_id.tolist()
    return {c: (float(scores.risk[i]), alerts.get(c)) for i, c in enumerate(ids)}


def test_an_adult_alone_with_two_children_in_a_room_of_three_is_one_to_one_contact() -> None:
    messages = rs.read_messages(to_columns(_room_nights(3)))
    features = rs.extract_features(messages)
    row = features.conversation_id.tolist().index("room|adult|kid1")
    got = dict(zip(features.names, features.values[row], strict=True))
    assert got["group_contact_events"] == 0
    assert got["child_night_share"] > 0.4  # the second week at the child's night
    assert got["adult_media_rate"] > 0
    assert got["adult_supervised_minor_share"] == 0  # not where others can see
    # the same rows in a room of five: group contact, in view of others
    wide = rs.extract_features(rs.read_messages(to_columns(_room_nights(GROUP_MIN_ROOM_SIZE))))
    wide_row = dict(zip(wide.names, wide.values[row], strict=True))
    assert wide_row["group_contact_events"] == got["n_events"]
    assert wide_row["child_night_share"] == 0
    assert wide_row["adult_supervised_minor_share"] > 0.9
    assert T0 % DAY == 0  # hours of the day are UTC hours, as the docstring says


def test_the_adult_of_a_room_of_three_alerts_where_a_team_channel_does_not() -> None:
    small, wide = _scores(3), _scores(GROUP_MIN_ROOM_SIZE)
    for pair in ("room|adult|kid1", "room|adult|kid2"):
        risk, tier = small[pair]
        assert tier is not None, f"{pair}: risk {risk:.3f}, no alert"
        assert wide[pair][1] is None
        assert wide[pair][0] < risk
    assert small["room|kid1|kid2"][1] is None  # two 12-year-olds
    assert np.isfinite([r for r, _ in small.values()]).all()
