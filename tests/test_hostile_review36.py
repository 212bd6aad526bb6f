"""Hostile review 36: ``riskscore serve`` and the Synapse module against hostile input
(refusal messages naming the request's own event, a loop of symbolic links as a SQLite
file, a message from a member who has just left a two-person room, ...).

Each test failed on the code before its fix. All data is synthetic; no message text."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from serve_helpers import config
from test_synapse import _module, _Room, _run

import riskscore as rs
from riskscore.cli import main
from riskscore.integrations._synapse_ages import AgeSource
from riskscore.integrations._synapse_mapping import EventTranslator, RoomStore
from riskscore.io import sqlite
from riskscore.moderation import ReviewQueue
from riskscore.serve import create_app

T0 = 1_767_225_600  # 2026-01-01
JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def model() -> rs.RiskModel:
    return rs.load_model()


def _event(cid: object = "c1", t: int = 0, **changes: Any) -> dict[str, Any]:
    return {
        "conversation_id": cid,
        "timestamp": T0 + t,
        "sender_id": "a",
        "recipient_id": "b",
        "sender_age": 31.0,
        "recipient_age": 12.0,
        "channel": "direct",
        **changes,
    }


# ------------------------------------- 1. a refusal names the request's own event index


def test_a_refused_event_is_named_by_its_index_in_the_request(
    tmp_path: Path, model: rs.RiskModel
) -> None:
    """Was: the message of an event the scorer refused said "event N" with the scorer's
    running count of events applied (``event 3`` for the request's second event), while
    the response's ``index`` was the event's position in the request."""
    with TestClient(create_app(config(tmp_path, model))) as client:
        first = client.post("/v1/events", json=[_event(t=0), _event(t=10), _event(t=20)])
        assert first.json()["accepted"] == 3, first.text
        batch = [
            _event(t=30),
            _event(t=40, timestamp="not a time"),  # the validator's message
            _event(t=-100_000),  # the scorer's own: too late for its conversation
            _event(t=50, room_size=1),
        ]
        body = client.post("/v1/events", json=batch).json()
        assert [r["index"] for r in body["refused"]] == [1, 2, 3], body
        for refused in body["refused"]:
            assert f"event {refused['index']}" in refused["message"], refused
            assert "event 4" not in refused["message"], refused  # the scorer's count
        lines = "\n".join(json.dumps(e) for e in ({}, _event(t=60, channel="telegraph")))
        ndjson = {"content-type": "application/x-ndjson"}
        body = client.post("/v1/events", content="\n" + lines, headers=ndjson).json()
        assert [r["index"] for r in body["refused"]] == [1, 2], body
        assert [r["message"].split(" ")[:2] for r in body["refused"]] == [
            ["event", "1"],
            ["column", "'channel',"],
        ]
        assert "event 2:" in body["refused"][1]["message"], body


# ---------------------------------------------- 2. a loop of symbolic links as a database


def _loop(tmp_path: Path) -> Path:
    (tmp_path / "l1").symlink_to(tmp_path / "l2")
    (tmp_path / "l2").symlink_to(tmp_path / "l1")
    return tmp_path / "l1"


def test_serve_db_that_is_a_loop_of_links_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: ``riskscore serve --db l1 --add-moderator NAME``, l1 and l2 links to each
    other, said "cannot use l1: unable to open database file" (SQLite's words); every
    SQLite file riskscore creates (queue, checkpoint, timeline, the Synapse module's
    state) was opened without the check that names a loop."""
    loop = _loop(tmp_path)
    for argv in (
        ["serve", "--db", str(loop), "--add-moderator", "mod-1", "--no-password"],
        ["serve", "--db", str(loop), "--port", "0"],
    ):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "symbolic links" in err, err
        assert str(loop) in err
        assert "unable to open" not in err
    with pytest.raises(OSError, match="symbolic links"):
        ReviewQueue(loop)
    with pytest.raises(OSError, match="symbolic links"):
        sqlite.connect(loop)


# --------------------------------- 3. a message from a member who has just left the room


def _two_person_room_the_sender_left() -> _Room:
    room = _Room("!dm:x")
    room.member("@kid:x", "join")
    room.member("@adult:x", "leave")  # the state Synapse passes: after the leave
    return room


def test_a_message_of_a_member_who_has_just_left_is_scored_at_the_rooms_size(
    tmp_path: Path,
) -> None:
    """Was: a message whose room view no longer listed its sender (the sender left the
    two-person room at that moment, or the module first saw the room after the leave)
    went out with ``room_size`` 1, the members left, and the scorer refused it: the sender
    was a member of the room when it sent the message, and counts in its size."""
    translator = EventTranslator(RoomStore(tmp_path / "r.sqlite3"), AgeSource(lambda _u: None))
    room = _two_person_room_the_sender_left()
    (row,) = translator.translate(room.message("@adult:x"), room.state)
    assert (row["recipient_id"], row["room_size"]) == ("@kid:x", 2)
    group = _Room("!g:x")
    for user in ("@kid:x", "@other:x"):
        group.member(user, "join")
    group.member("@adult:x", "leave")
    rows = translator.translate(group.message("@adult:x"), group.state)
    assert {r["room_size"] for r in rows} == {3}
    (tmp_path / "m").mkdir()
    module, _ = _module(tmp_path / "m")
    _run(module.on_new_event(room.message("@adult:x"), room.state))
    module._process(10)
    assert (module.n_scored, module.n_rejected) == (1, 0)
    assert rs.io.groups.fan_out("@a:x", ["@b:x"], 2) == (("@b:x",), 2)
    assert rs.io.groups.fan_out("@a:x", ["@b:x", "@c:x"], 2) is None  # three with a
    module._before_shutdown()

