"""Hostile review 16 of the Synapse module: what a remote server, a local user or a
malformed config block can send (each test failed before its fix)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from synapse_helpers import _base, _module, _Room, _run

from riskscore.integrations._synapse_ages import AgeSource
from riskscore.integrations._synapse_config import SynapseConfigError, parse
from riskscore.integrations._synapse_mapping import EventTranslator, RoomStore
from riskscore.integrations.synapse import RiskscoreModule


def test_queued_events_do_not_hold_the_rooms_state(tmp_path: Path) -> None:
    """Synapse builds a new state map per event: a queue of 100 000 messages in a room of
    10 000 members held a billion map entries. A queued event keeps a bounded view."""
    module, _ = _module(tmp_path)
    big = _Room("!big:x", "public")
    for i in range(1_000):
        big.member(f"@u{i}:x", "join")
    small = _Room("!dm:x")
    small.member("@adult:x", "join")
    small.member("@kid:x", "join")
    for room, sender in ((big, "@u0:x"), (small, "@adult:x")):
        _run(module.on_new_event(room.member(sender, "join"), room.state))
        _run(module.on_new_event(room.message(sender), room.state))
    for _event, held in module._pending:
        assert held is not big.state
        assert held is not small.state
        assert len(getattr(held, "joined", ())) <= module._settings.max_fanout_members
    small.state.clear()  # the view taken at queue time is what is scored
    module._process(100)
    assert module.n_scored == 1
    assert module.stats()["skipped_large_rooms"] == 1


class _CountingConn:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn, self.commits = conn, 0

    def commit(self) -> None:
        self.commits += 1
        self._conn.commit()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


def test_m_direct_account_data_is_bounded_and_one_commit(tmp_path: Path) -> None:
    """A local user's ``m.direct`` account data ran one SQLite commit per listed room, in a
    callback Synapse awaits: 50 000 room ids blocked the server. Now one commit, and at
    most ``MAX_DIRECT_ROOMS_PER_UPDATE`` rooms per update (the rest counted)."""
    from riskscore.integrations._synapse_mapping import MAX_DIRECT_ROOMS_PER_UPDATE

    translator = EventTranslator(RoomStore(tmp_path / "r.sqlite3"), AgeSource(lambda _u: None))
    counting = _CountingConn(translator.store._conn)
    translator.store._conn = counting  # type: ignore[assignment]
    rooms = [f"!r{i}:x" for i in range(MAX_DIRECT_ROOMS_PER_UPDATE + 50)]
    listing = {"@a:x": rooms, "@b:x": "not a list", 3: [None, 7]}
    translator.mark_direct_rooms(listing, user_id="@u:x")
    assert counting.commits == 1
    assert translator.store.direct_claimants(rooms[0]) == {"@u:x"}
    assert translator.store.direct_claimants(rooms[-1]) == frozenset()
    assert translator.n_direct_rooms_ignored == 50
    translator.mark_direct_rooms(listing, user_id="@u:x")  # unchanged: no write
    assert counting.commits == 1


@pytest.mark.parametrize("answer", ["leave_by_target", "kick_by_inviter", "ban"])
def test_an_invite_answered_otherwise_is_forgotten(tmp_path: Path, answer: str) -> None:
    """An invite the child rejected (or the inviter withdrew) stayed pending: the child's
    later join of the (public) room was scored as accepting the adult's contact request."""
    translator = EventTranslator(RoomStore(tmp_path / "r.sqlite3"), AgeSource(lambda _u: None))
    room = _Room("!pub:x", "public")
    room.member("@adult:x", "join")
    translator.translate(room.member("@kid:x", "invite", sender="@adult:x"), room.state)
    if answer == "leave_by_target":
        translator.translate(room.member("@kid:x", "leave"), room.state)
    elif answer == "kick_by_inviter":
        translator.translate(room.member("@kid:x", "leave", sender="@adult:x"), room.state)
    else:
        translator.translate(room.member("@kid:x", "ban", sender="@adult:x"), room.state)
    assert translator.translate(room.member("@kid:x", "join"), room.state) == []


def test_unmappable_events_are_counted(tmp_path: Path) -> None:
    module, _ = _module(tmp_path)
    room = _Room("!r:x")
    room.member("@adult:x", "join")
    room.member("@kid:x", "join")
    event = room.message("@adult:x")
    event.origin_server_ts = None  # type: ignore[assignment]
    _run(module.on_new_event(event, room.state))
    module._process(10)
    assert (module.n_scored, module.stats()["unmapped"]) == (0, 1)


def test_state_dir_that_is_a_file_is_a_config_error(tmp_path: Path) -> None:
    file = tmp_path / "file"
    file.write_text("x")
    with pytest.raises(SynapseConfigError) as info:
        parse(_base(tmp_path) | {"state_dir": str(file)})
    assert info.value.path == ("state_dir",)
    assert "not a directory" in info.value.msg


@pytest.mark.parametrize(
    ("ages", "path", "message"),
    [
        ({"sqlite": "NOTDB"}, ("ages", "sqlite"), "not an SQLite database"),
        ({"csv": "BINARY"}, ("ages", "csv"), "UTF-8"),
        ({"callable": ":"}, ("ages", "callable"), "cannot import"),
        ({"callable": ".x:y"}, ("ages", "callable"), "cannot import"),
    ],
)
def test_bad_age_sources_name_their_key(
    tmp_path: Path, ages: dict[str, str], path: tuple[str, ...], message: str
) -> None:
    from synapse.module_api.errors import ConfigError

    (tmp_path / "notdb").write_text("user_id,age\n@a:x,12\n")
    (tmp_path / "binary.csv").write_bytes(b"\xff\xfe\x00garbage")
    names = {"NOTDB": str(tmp_path / "notdb"), "BINARY": str(tmp_path / "binary.csv")}
    raw = _base(tmp_path, ages={k: names.get(v, v) for k, v in ages.items()})
    with pytest.raises(ConfigError) as info:
        RiskscoreModule.parse_config(raw)
    assert info.value.path == ("modules", "riskscore", *path)
    assert message in info.value.msg
