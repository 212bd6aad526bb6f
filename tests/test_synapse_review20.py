"""Synapse review 20: implausible declared ages, a state event dropped by a full queue, an
ages database replaced by rename, two module entries on one state_dir, a damaged room
facts file."""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path

import pytest
from synapse.config._base import ConfigError
from synapse_helpers import _T0, _base, _module, _read_jsonl, _Room, _run, _StandInApi

from riskscore.integrations._synapse_ages import make_age_source
from riskscore.integrations._synapse_config import AgeSourceConfig
from riskscore.integrations.synapse import RiskscoreModule


def _ages_db(path: Path, rows: list[tuple[str, float]]) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE declared_ages (user_id TEXT, age REAL)")
        conn.executemany("INSERT INTO declared_ages VALUES (?, ?)", rows)
    conn.close()


@pytest.mark.parametrize("age", ["150", "-1", "inf", "340"])
def test_an_implausible_age_in_the_csv_is_refused_at_start_naming_its_line(
    tmp_path: Path, age: str
) -> None:
    # It passed, and the scorer then refused every event naming the user: all of that
    # user's conversations lost, counted only as refused events.
    ages = tmp_path / "ages.csv"
    ages.write_text(f"user_id,age\n@adult:x,34\n@kid:x,{age}\n")
    with pytest.raises(ConfigError, match=r"line 3: age '.*' is not a"):
        RiskscoreModule.parse_config(_base(tmp_path, ages={"csv": str(ages)}))


def test_an_implausible_age_in_sqlite_is_scored_as_unknown_and_counted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "ages.sqlite3"
    _ages_db(db, [("@adult:x", 34), ("@kid:x", 1200)])
    source = make_age_source(AgeSourceConfig(kind="sqlite", path=db))
    with pytest.raises(Exception, match=r"row 2 of user '@kid:x': age 1200.0 is not a plausible"):
        source.get("@kid:x")
    raw = _base(tmp_path, ages={"sqlite": str(db)})
    module = RiskscoreModule(RiskscoreModule.parse_config(raw), _StandInApi())  # type: ignore[arg-type]
    room = _Room("!dm:x")
    room.member("@adult:x", "join")
    room.member("@kid:x", "join")
    with caplog.at_level(logging.ERROR):
        _run(module.on_new_event(room.message("@adult:x"), room.state))
        module._process(10)
    stats = module.stats()
    assert (stats["scored"], stats["rejected"], stats["age_lookups_failed"]) == (1, 0, 1)
    assert "scored as of unknown age" in caplog.text


def test_an_ages_database_replaced_by_rename_is_read_at_the_next_lookup(tmp_path: Path) -> None:
    db = tmp_path / "ages.sqlite3"
    _ages_db(db, [("@adult:x", 34)])
    source = make_age_source(AgeSourceConfig(kind="sqlite", path=db))
    assert source.get("@newkid:x").age is None
    _ages_db(tmp_path / "ages.new", [("@adult:x", 34), ("@newkid:x", 11)])
    os.replace(tmp_path / "ages.new", db)  # the usual atomic publish
    assert source.get("@newkid:x").age == 11.0


def test_a_refused_replacement_keeps_the_open_version(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "ages.sqlite3"
    _ages_db(db, [("@kid:x", 12)])
    source = make_age_source(AgeSourceConfig(kind="sqlite", path=db))
    (tmp_path / "ages.new").write_bytes(b"not a database" * 400)
    os.replace(tmp_path / "ages.new", db)
    with caplog.at_level(logging.ERROR):
        assert source.get("@kid:x").age == 12.0
        assert source.get("@kid:x").age == 12.0
    assert caplog.text.count("declared ages not re-read") == 1


def _membership(rows: list[dict[str, object]]) -> list[tuple[object, object, object]]:
    return [(r["recipient_id"], r["channel"], r["room_size"]) for r in rows]


def test_a_state_event_dropped_by_a_full_queue_does_not_leave_a_stale_room_view(
    tmp_path: Path,
) -> None:
    module, _ = _module(tmp_path, max_queue=3, more_ages="@p1:x,40,0\n@p2:x,41,0\n@p3:x,42,0\n")
    club = _Room("!club:x")
    for user in ("@adult:x", "@kid:x", "@p1:x", "@p2:x", "@p3:x"):
        _run(module.on_new_event(club.member(user, "join"), club.state))
        module._process(100)
    busy = _Room("!busy:x")
    busy.member("@a:x", "join")
    busy.member("@b:x", "join")
    for _ in range(3):  # the queue fills
        _run(module.on_new_event(busy.message("@a:x"), busy.state))
    for user in ("@p1:x", "@p2:x", "@p3:x"):  # dropped: the adult is left alone with the child
        _run(module.on_new_event(club.member(user, "leave"), club.state))
    assert module.stats()["dropped"] == 3
    module._process(100)
    before = len(_read_jsonl(tmp_path / "ev.jsonl"))
    message = club.message("@adult:x")
    message.origin_server_ts = _T0 + 3_600_000
    _run(module.on_new_event(message, club.state))
    module._process(100)
    # it read as four group events of a room of five, to accounts that had left
    assert _membership(_read_jsonl(tmp_path / "ev.jsonl")[before:]) == [("@kid:x", "direct", 2)]


def test_two_module_entries_on_one_state_dir_are_refused(tmp_path: Path) -> None:
    ages = tmp_path / "ages.csv"
    ages.write_text("user_id,age\n@adult:x,34\n@kid:x,12\n")

    def start(n: int) -> RiskscoreModule:
        raw = _base(tmp_path, ages={"csv": str(ages)}, alerts={"jsonl": str(tmp_path / f"a{n}")})
        return RiskscoreModule(RiskscoreModule.parse_config(raw), _StandInApi())  # type: ignore[arg-type]

    first = start(1)
    with pytest.raises(ConfigError, match=r"state_dir .* is used by another riskscore module"):
        start(2)
    first._before_shutdown()
    start(3)  # a stopped module's directory is free again (a restart in one process)


def test_a_damaged_room_facts_file_is_named(tmp_path: Path) -> None:
    module, _ = _module(tmp_path)
    module._before_shutdown()
    rooms = next(tmp_path.rglob("rooms.sqlite3"))
    rooms.write_bytes(b"x" * 4096)  # a disk error, a half-restored backup
    with pytest.raises(ValueError, match=r"rooms.sqlite3 is not a readable SQLite database"):
        _module(tmp_path)
