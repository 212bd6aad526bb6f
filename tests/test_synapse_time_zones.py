"""A Synapse user's clock can be an IANA time zone, whose offset follows daylight-saving time.

The module builds each event's ``recipient_tz_offset_min`` itself from the age source; a
fixed ``tz_offset_min`` put a child in London an hour off for half the year (the summer's
22:00 read as 21:00), so the night features miscounted. An age source (CSV, SQLite,
callable) may now give ``time_zone`` instead, and the configuration ``default_time_zone``;
the offset is the zone's at each event's time. A name not in the database, both clocks for
one user, or a name that is not text are refused where read, naming file, line or row.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import pytest
from synapse_helpers import _base, _Room

from riskscore.integrations._synapse_ages import AgeSource, make_age_source
from riskscore.integrations._synapse_config import SynapseConfigError, parse
from riskscore.integrations._synapse_mapping import EventTranslator, RoomStore
from riskscore.io.time_zones import offset_min_at, time_zone

JANUARY = 1_768_000_000  # 2026-01-09 23:06 UTC
JULY = 1_783_000_000  # 2026-07-02 13:46 UTC


def _offsets(translator: EventTranslator, *times: int) -> list[object]:
    """The recipient offsets of a message from @a:x to @kid:x at each epoch second."""
    room = _Room("!r:x")
    room.member("@a:x", "join")
    room.member("@kid:x", "join")
    out = []
    for ts in times:
        event = dataclasses.replace(room.message("@a:x"), origin_server_ts=ts * 1000)
        (row,) = translator.translate(event, room.state)
        out.append(row["recipient_tz_offset_min"])
    return out


def test_a_time_zone_gives_the_offset_at_each_events_time(tmp_path: Path) -> None:
    path = tmp_path / "ages.csv"
    path.write_text("user_id,age,time_zone\n@kid:x,12,Europe/London\n@a:x,40,\n")
    ages = make_age_source(parse(_base(tmp_path, ages={"csv": str(path)})).ages)
    assert ages.get("@kid:x") == (12.0, None, "Europe/London")
    translator = EventTranslator(RoomStore(tmp_path / "r.sqlite3"), ages)
    assert _offsets(translator, JANUARY, JULY) == [0, 60]


def test_the_default_time_zone_applies_to_users_of_unknown_clock(tmp_path: Path) -> None:
    config = parse({**_base(tmp_path), "default_time_zone": "America/New_York"})
    assert config.default_time_zone == "America/New_York"
    translator = EventTranslator(
        RoomStore(tmp_path / "r.sqlite3"),
        AgeSource(lambda user: (12.0, None, "Asia/Kathmandu") if user == "@b:x" else None),
        default_time_zone=config.default_time_zone,
    )
    assert _offsets(translator, JANUARY, JULY) == [-300, -240]
    # an unknown offset given as NaN beside a time zone is no second clock
    assert AgeSource(lambda _u: (12.0, float("nan"), "Asia/Tokyo")).get("@c:x")[1:] == (
        None,
        "Asia/Tokyo",
    )
    # a user's own clock wins over the default
    assert translator.profile("@b:x").offset_at(JULY, translator.default_clock) == 345


@pytest.mark.parametrize(
    ("header", "cell", "wanted"),
    [
        ("time_zone", "Europe/Londn", "'Europe/Londn' is not in the IANA time zone database"),
        ("time_zone", "../../etc/passwd", "is not in the IANA time zone database"),
        ("tz_offset_min,time_zone", "60,Europe/London", "gives both tz_offset_min '60'"),
    ],
)
def test_a_csv_file_with_a_clock_it_cannot_read_is_refused_at_start(
    tmp_path: Path, header: str, cell: str, wanted: str
) -> None:
    path = tmp_path / "ages.csv"
    path.write_text(f"user_id,age,{header}\n@a:x,40,{',' * header.count(',')}\n@kid:x,12,{cell}\n")
    with pytest.raises(SynapseConfigError, match="line 3") as info:
        make_age_source(parse(_base(tmp_path, ages={"csv": str(path)})).ages)
    assert wanted in info.value.msg


def test_an_sqlite_table_may_give_time_zones(tmp_path: Path) -> None:
    db = tmp_path / "ages.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE declared_ages (user_id TEXT, age REAL, time_zone TEXT)")
        conn.execute("INSERT INTO declared_ages VALUES ('@kid:x', 12, 'Australia/Sydney')")
        conn.execute("INSERT INTO declared_ages VALUES ('@bad:x', 13, 'Mars/Olympus')")
    ages = make_age_source(parse(_base(tmp_path, ages={"sqlite": str(db)})).ages)
    assert ages.get("@kid:x") == (12.0, None, "Australia/Sydney")
    with pytest.raises(SynapseConfigError, match="row 2 of user '@bad:x': time zone 'Mars/O"):
        ages.get("@bad:x")


@pytest.mark.parametrize(
    ("found", "wanted"),
    [
        ((12.0, None, 5), "time_zone 5 is not a time zone name"),
        ((12.0, 60, "Europe/Paris"), "gives both"),
        ((12.0,), "expected None, a Profile"),
    ],
)
def test_a_callable_with_a_clock_it_cannot_read_is_refused(
    found: tuple[object, ...], wanted: str
) -> None:
    with pytest.raises(ValueError, match=wanted):
        AgeSource(lambda _user: found).get("@kid:x")  # type: ignore[arg-type,return-value]


@pytest.mark.parametrize(
    ("conf", "wanted"),
    [
        ({"default_time_zone": "Nowhere/City"}, "is not in the IANA time zone database"),
        ({"default_time_zone": 60}, "expected a time zone name (text)"),
        ({"default_time_zone": "UTC", "default_tz_offset_min": 0}, "not both"),
    ],
)
def test_a_default_time_zone_it_cannot_use_is_refused(
    tmp_path: Path, conf: dict[str, object], wanted: str
) -> None:
    with pytest.raises(SynapseConfigError) as info:
        parse({**_base(tmp_path), **conf})
    assert wanted in info.value.msg
    assert info.value.path == ("default_time_zone",)


def test_offsets_of_zones_follow_their_rules() -> None:
    assert offset_min_at(time_zone("Australia/Sydney"), JANUARY) == 660  # southern summer
    assert offset_min_at(time_zone("Australia/Sydney"), JULY) == 600
    assert offset_min_at(time_zone("Pacific/Chatham"), JULY) == 765
