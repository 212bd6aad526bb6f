"""Hand-computed features of :func:`riskscore.extract_features` that read the clock and
the channel: night in the child's local time, unknown time zones, channel moves, media
and safety events. Expected values are worked out by hand from ``docs/features.md``.
"""

from __future__ import annotations

import math

import pytest
from features_helpers import (
    DAY,
    HOUR,
    MINUTE,
    NOON,
    adult_to_child,
    assert_features,
    child_to_adult,
    recent,
    single,
)

# ---------------------------------------------------------------- night, in the child's local time


@pytest.mark.parametrize(
    ("tz", "night"),
    [
        pytest.param(60, 1, id="UTC+01:00 22:30 night"),
        pytest.param(-300, 0, id="UTC-05:00 16:30 day"),
        pytest.param(0, 0, id="UTC 21:30 day"),
        pytest.param(495, 1, id="UTC+08:15 05:45 night"),
        pytest.param(510, 0, id="UTC+08:30 06:00 day"),
        pytest.param(-720, 0, id="UTC-12:00 09:30 day"),
        pytest.param(840, 0, id="UTC+14:00 11:30 day"),
        pytest.param(150, 1, id="UTC+02:30 00:00 next day night"),
    ],
)
def test_night_is_in_the_childs_local_time(tz: int, night: int) -> None:
    # 21:30 UTC, sent to the child whose offset is tz minutes.
    event = adult_to_child(21 * HOUR + 30 * MINUTE, tz=tz)
    # one communication event: night / (1 + 4); recent 0.1 * night
    assert_features(
        single([event]),
        {"child_night_share": night / 5, "child_recent_night_share": 0.1 * night},
    )


@pytest.mark.parametrize(
    ("seconds_of_day", "night"),
    [
        pytest.param(22 * HOUR, 1, id="22:00:00 night"),
        pytest.param(22 * HOUR - 1, 0, id="21:59:59 day"),
        pytest.param(6 * HOUR - 1, 1, id="05:59:59 night"),
        pytest.param(6 * HOUR, 0, id="06:00:00 day"),
        pytest.param(0, 1, id="00:00:00 night"),
    ],
)
def test_night_window_is_22_to_06(seconds_of_day: int, night: int) -> None:
    assert_features(
        single([adult_to_child(seconds_of_day, tz=0)]), {"child_night_share": night / 5}
    )


def test_child_sent_events_use_the_childs_latest_known_offset() -> None:
    events = [
        # Child's offset not known yet: its clock is unknown, the event is not timed on
        # it (the adult's +01:00 does not stand in: 22:30 there would be night)
        child_to_adult(21 * HOUR + 30 * MINUTE, tz=60),
        # Child receives at +01:00: 21:40 + 1:00 = 22:40 -> night
        adult_to_child(21 * HOUR + 40 * MINUTE, tz=60),
        # Child sends; the adult's -05:00 is ignored, the child's +01:00 is used:
        # 21:50 + 1:00 = 22:50 -> night (with -05:00 it would be 16:50, day)
        child_to_adult(21 * HOUR + 50 * MINUTE, tz=-300),
        # Child receives at +03:00 next day: 04:00 + 3:00 = 07:00 -> day
        adult_to_child(DAY + 4 * HOUR, tz=180),
        # Child sends, latest known +03:00: 04:10 + 3:00 = 07:10 -> day
        # (the earlier +01:00 would give 05:10, night)
        child_to_adult(DAY + 4 * HOUR + 10 * MINUTE, tz=60),
        # A contact request is not counted, but it tells the child's offset (+01:00);
        # 04:20 + 1:00 = 05:20 would be night.
        adult_to_child(DAY + 4 * HOUR + 20 * MINUTE, tz=60, event="contact_request"),
        # Child sends, latest known +01:00: 04:30 + 1:00 = 05:30 -> night
        child_to_adult(DAY + 4 * HOUR + 30 * MINUTE, tz=180),
    ]
    # communication events: 6 (the request is not one), 5 on the child's known clock; at
    # night: 22:40, 22:50, 05:30 -> 3 / (5 + 4); recent over night flags 1 1 0 0 1; the
    # child's clock was known for 5 of 6
    assert_features(
        single(events),
        {
            "child_night_share": 3 / 9,
            "child_recent_night_share": recent([1, 1, 0, 0, 1]),
            "child_tz_known_share": 5 / 6,
            "adult_initiated": 0,
        },
    )


def test_the_end_of_the_night_with_an_offset() -> None:
    # 21:59:59 UTC at +08:00 is 05:59:59 local (night); 22:00:00 UTC at +08:00 is 06:00
    # (day): 1 / (2 + 4).
    events = [
        adult_to_child(21 * HOUR + 59 * MINUTE + 59, tz=480),
        adult_to_child(DAY + 22 * HOUR, tz=480),
    ]
    assert_features(single(events), {"child_night_share": 1 / 6})


def test_the_adults_own_offset_is_ignored() -> None:
    # The adult's offset (+10:00) arrives on the events the child sends; it must not be used.
    events = [
        adult_to_child(23 * HOUR, tz=0),  # child 23:00 -> night
        child_to_adult(23 * HOUR + MINUTE, tz=600),  # child's 0: 23:01 night (+10:00: 09:01)
        adult_to_child(DAY + 10 * HOUR, tz=0),  # 10:00 -> day
        child_to_adult(DAY + 10 * HOUR + MINUTE, tz=600),  # 10:01 day (+10:00: 20:01)
    ]
    # 2 / (4 + 4) (with the adult's offset it would be 1 / 8)
    assert_features(
        single(events),
        {"child_night_share": 0.25, "child_recent_night_share": recent([1, 1, 0, 0])},
    )


def test_recent_night_share_follows_a_late_shift_into_the_night() -> None:
    # Ten messages by day, then two at night.
    events = [adult_to_child(NOON + MINUTE * i) for i in range(10)]
    events += [child_to_adult(DAY + 23 * HOUR), adult_to_child(DAY + 23 * HOUR + MINUTE)]
    assert_features(
        single(events),
        {
            # 2 / (12 + 4)
            "child_night_share": 0.125,
            # ten zeros leave 0; then 0.1, then 0.9 * 0.1 + 0.1
            "child_recent_night_share": 0.19,
        },
    )


# ---------------------------------------------------------------- unknown time zones


def test_unknown_offsets_are_unknown_never_utc() -> None:
    # 23:00 and 23:30 UTC: night on a UTC clock, but the child's offset is never given
    unknown = [
        adult_to_child(23 * HOUR, tz=None, channel="encrypted", event="media"),
        child_to_adult(23 * HOUR + 30 * MINUTE, tz=None, channel="encrypted"),
    ]
    assert_features(
        single(unknown),
        {
            "child_night_share": 0.0,
            "child_recent_night_share": 0.0,
            "private_night_share": 0.0,
            "adult_night_media_rate": 0.0,
            "child_tz_known_share": 0.0,
        },
    )
    # the same events at a given offset of 0 (UTC): both at night on the child's clock
    utc = [
        adult_to_child(23 * HOUR, tz=0, channel="encrypted", event="media"),
        child_to_adult(23 * HOUR + 30 * MINUTE, tz=None, channel="encrypted"),
    ]
    assert_features(
        single(utc),
        {
            "child_night_share": 2 / (2 + 4),
            "private_night_share": 2 / (2 + 4),
            "adult_night_media_rate": 1 / (1 + 4),
            "child_tz_known_share": 1.0,
        },
    )


def test_an_offset_learned_from_earlier_events_times_later_unknown_ones() -> None:
    events = [
        # the child receives at +02:00 at noon: its clock is now known (day)
        adult_to_child(NOON, tz=120),
        # no offset given, 21:30 UTC: on the learned +02:00 it is 23:30 (night)
        adult_to_child(21 * HOUR + 30 * MINUTE, tz=None, event="media"),
        # the child sends: its own latest known clock, +02:00: 21:40 -> 23:40 (night)
        child_to_adult(21 * HOUR + 40 * MINUTE, tz=None),
    ]
    # 3 communication events on a known child clock, 2 at night; the adult sent 2, both
    # on the child's known clock, 1 media at night
    assert_features(
        single(events),
        {
            "child_night_share": 2 / (3 + 4),
            "child_recent_night_share": recent([0, 1, 1]),
            "adult_night_media_rate": 1 / (2 + 4),
            "child_tz_known_share": 1.0,
        },
    )


# ---------------------------------------------------------------- channels


def test_channel_moves_levels_and_speed() -> None:
    events = [
        adult_to_child(NOON, channel="public"),  # level 0
        child_to_adult(NOON + 1 * HOUR, channel="direct"),  # 2 > 0: move 1
        adult_to_child(NOON + 2 * HOUR, channel="public"),  # down
        adult_to_child(NOON + 3 * HOUR, channel="direct"),  # 2, not above the highest (2)
        adult_to_child(NOON + 6 * HOUR, channel="encrypted"),  # 4 > 2: move 2, first secure
        child_to_adult(NOON + 7 * HOUR, channel="ephemeral"),  # 3 < 4
        adult_to_child(NOON + 8 * HOUR, channel="external"),  # 5 > 4: move 3; adult's external
        child_to_adult(NOON + 9 * HOUR, channel="external"),  # the child's: not counted
        adult_to_child(NOON + 9 * HOUR + 1, channel="external", event="contact_request"),
    ]
    assert_features(
        single(events),
        {
            "max_channel": 5,
            # public, direct, encrypted, ephemeral, external (no group)
            "n_channels_used": 5,
            "upward_channel_moves": 3,
            # a move from public: exp(-(6 h) / (24 h))
            "secure_move_speed": math.exp(-0.25),
            # events of any type the adult sent on external: the message and the request
            "adult_external_events": 2,
            # all by day (12:00-21:00 UTC, offset 0)
            "private_night_share": 0.0,
            "child_night_share": 0.0,
        },
    )


@pytest.mark.parametrize(
    ("channels", "times", "speed", "moves"),
    [
        pytest.param(("public", "direct"), (0, HOUR), 0.0, 1, id="never-secure"),
        # starts there: not a move, whatever comes next
        pytest.param(("ephemeral", "direct"), (0, HOUR), 0.0, 0, id="starts-ephemeral"),
        pytest.param(("encrypted", "external"), (0, HOUR), 0.0, 1, id="starts-encrypted"),
        pytest.param(("external", "external"), (0, HOUR), 0.0, 0, id="starts-external"),
        # exp(-(2 days) / (1 day))
        pytest.param(("direct", "external"), (0, 2 * DAY), math.exp(-2.0), 1, id="after-2-days"),
        # exp(-0)
        pytest.param(("group", "ephemeral"), (0, 0), 1.0, 1, id="same-second"),
        # exp(-(1 h) / (24 h))
        pytest.param(("public", "encrypted"), (0, HOUR), math.exp(-1 / 24), 1, id="after-1-hour"),
    ],
)
def test_secure_move_speed_only_for_a_move_from_a_visible_start(
    channels: tuple[str, str], times: tuple[int, int], speed: float, moves: float
) -> None:
    events = [
        adult_to_child(times[0], channel=channels[0]),
        child_to_adult(times[1], channel=channels[1]),
    ]
    assert_features(single(events), {"secure_move_speed": speed, "upward_channel_moves": moves})


def test_secure_move_speed_uses_the_first_secure_event() -> None:
    events = [
        adult_to_child(0, channel="direct"),
        adult_to_child(12 * HOUR, channel="ephemeral"),  # the first secure event: 12 h
        adult_to_child(13 * HOUR, channel="direct"),
        adult_to_child(20 * HOUR, channel="external"),
    ]
    assert_features(single(events), {"secure_move_speed": math.exp(-0.5)})


def test_private_night_share() -> None:
    events = [
        adult_to_child(23 * HOUR, channel="ephemeral"),  # private, child 23:00: 1
        child_to_adult(23 * HOUR + 10 * MINUTE, channel="encrypted", tz=-300),  # child's 0: 1
        adult_to_child(23 * HOUR + 20 * MINUTE, channel="direct"),  # night, not private
        # private at night, but not a communication event
        adult_to_child(23 * HOUR + 30 * MINUTE, channel="ephemeral", event="contact_request"),
        adult_to_child(DAY + NOON, channel="external", event="media"),  # private, by day
    ]
    # 4 communication events, 2 private at night: 2 / (4 + 4); at night 3: 3 / 8
    assert_features(single(events), {"private_night_share": 0.25, "child_night_share": 3 / 8})


@pytest.mark.parametrize(("tz", "expected"), [(60, 1 / 5), (-300, 0.0)])
def test_private_night_share_is_in_the_childs_local_time(tz: int, expected: float) -> None:
    events = [
        # The adult's clock is +10:00 (from the event it receives); the child's is not
        # known yet, so the event is not timed on the child's clock.
        child_to_adult(10 * HOUR, tz=600),
        # 21:30 UTC: 22:30 at the child's +01:00 (night), 16:30 at -05:00 (day); on the
        # adult's clock 07:30 either way, which must not count.
        adult_to_child(21 * HOUR + 30 * MINUTE, channel="encrypted", tz=tz),
    ]
    # 1 or 0 of 1 communication event on the child's known clock: 1 / (1 + 4) or 0
    assert_features(single(events), {"private_night_share": expected})


# ---------------------------------------------------------------- media and safety


def test_media_rates_and_safety_events_by_role() -> None:
    events = [
        adult_to_child(NOON, event="media"),
        adult_to_child(NOON + 60, event="media"),
        child_to_adult(NOON + 120, event="media"),
        child_to_adult(NOON + 180),
        child_to_adult(NOON + 240, event="block"),
        child_to_adult(NOON + 300, event="report"),
        adult_to_child(NOON + 360, event="report"),  # the adult's report is not the child's
    ]
    assert_features(
        single(events),
        {
            # adult: 2 media of 2 communication events: 2 / (2 + 4)
            "adult_media_rate": 2 / 6,
            # child: 1 media of 2: 1 / (2 + 4)
            "child_media_rate": 1 / 6,
            "child_blocks_reports": 2,
            # by day
            "adult_night_media_rate": 0.0,
        },
    )


def test_adult_night_media_rate() -> None:
    events = [
        # The adult's clock is +10:00, the child's stands in as +10:00 too: 20:00, by day.
        child_to_adult(10 * HOUR, tz=600),
        # child 23:00 (offset 0): night media; on the adult's clock 09:00, which must not count
        adult_to_child(23 * HOUR, event="media"),
        adult_to_child(DAY + NOON, event="media"),  # by day
        adult_to_child(DAY + 23 * HOUR + 30 * MINUTE),  # night, not media
        child_to_adult(
            DAY + 23 * HOUR + 40 * MINUTE, event="media", tz=600
        ),  # the child's media; the adult stays at +10:00
        # 21:30 UTC at the child's +01:00 is 22:30: night media
        adult_to_child(2 * DAY + 21 * HOUR + 30 * MINUTE, event="media", tz=60),
        # 23:30 UTC at the child's -05:00 is 18:30: by day
        adult_to_child(3 * DAY + 23 * HOUR + 30 * MINUTE, event="media", tz=-300),
    ]
    # adult: 5 communication events, 4 media, 2 of them at night in the child's time
    # (on the adult's +10:00 clock only the one at 12:00 UTC would be); child: 2, 1 media
    assert_features(
        single(events),
        {
            "adult_night_media_rate": 2 / (5 + 4),
            "adult_media_rate": 4 / (5 + 4),
            "child_media_rate": 1 / (2 + 4),
        },
    )
