"""Review 18 of the Synapse module: what real Matrix traffic sends that is not a new
message (edits, reactions, redactions), remote servers' clocks, which rooms are private,
and invites nobody answers (each test failed before its fix)."""

from __future__ import annotations

import gc
import logging
import sqlite3
import time
import weakref
from pathlib import Path
from typing import Any

import pytest
from synapse_helpers import _Event, _module, _Opaque, _Room, _run

from riskscore.integrations._synapse_ages import AgeSource
from riskscore.integrations._synapse_mapping import EventTranslator, RoomStore

A, K = "@adult:x", "@kid:x"
T0 = 1_700_000_000  # 2023-11-14T22:13:20Z, the fixtures' origin_server_ts (seconds)


def _message(room: str, sender: str, kind: str = "m.room.message", **relation: Any) -> _Event:
    return _Event(kind, room, sender, None, _Opaque(relation or None))


@pytest.fixture
def dm() -> _Room:
    room = _Room("!dm:x")
    room.member(A, "join")
    room.member(K, "join")
    return room


def _translator(tmp_path: Path, **extra: Any) -> EventTranslator:
    return EventTranslator(RoomStore(tmp_path / "r.sqlite3"), AgeSource(lambda _u: None), **extra)


# ----------------------------------------------------------------- 1. what is a message


@pytest.mark.parametrize("kind", ["m.room.message", "m.room.encrypted", "m.sticker"])
@pytest.mark.parametrize("rel_type", ["m.replace", "m.annotation", "m.reference"])
def test_edits_reactions_and_references_are_not_messages(
    tmp_path: Path, dm: _Room, kind: str, rel_type: str
) -> None:
    """An edit (``m.replace``) re-renders a message already counted; an encrypted reaction
    (``m.annotation``, sent as ``m.room.encrypted`` in an encrypted room) and a reference
    (poll answers, in-room key verification) are not messages either, as their cleartext
    types (``m.reaction``, ``m.key.verification.*``) are not. They counted as messages."""
    translator = _translator(tmp_path)
    event = _message("!dm:x", A, kind, rel_type=rel_type, event_id="$original")
    assert translator.translate(event, dm.state) == []


@pytest.mark.parametrize(
    "relation",
    [
        {},
        {"m.in_reply_to": {"event_id": "$x"}},
        {"rel_type": "m.thread", "event_id": "$root"},
        {"rel_type": "io.element.thread", "event_id": "$root"},
        {"rel_type": 7},
    ],
)
def test_replies_and_thread_messages_stay_messages(
    tmp_path: Path, dm: _Room, relation: dict[str, Any]
) -> None:
    translator = _translator(tmp_path)
    rows = translator.translate(_message("!dm:x", A, "m.room.encrypted", **relation), dm.state)
    assert [(r["sender_id"], r["event"]) for r in rows] == [(A, "message")]


@pytest.mark.parametrize("kind", ["m.reaction", "m.room.redaction"])
def test_cleartext_reactions_and_redactions_are_nothing(
    tmp_path: Path, dm: _Room, kind: str
) -> None:
    """Already so before review 18; kept as the documented rule."""
    assert _translator(tmp_path).translate(_message("!dm:x", A, kind), dm.state) == []


def test_a_queued_event_keeps_no_content(tmp_path: Path, dm: _Room) -> None:
    """The queue held Synapse's whole event (with ``content.body``, ``formatted_body`` and
    media URLs) until it was scored; it now holds the event's metadata only."""
    module, _ = _module(tmp_path)

    class Body(dict[str, Any]):  # a dict that can be weakly referenced
        pass

    content = Body(body="synthetic-body", formatted_body="<b>synthetic-body</b>", url="mxc://x/y")
    event = _Event("m.room.message", "!dm:x", A, None, content)
    gone = weakref.ref(content)
    _run(module.on_new_event(event, dm.state))
    del event, content
    gc.collect()
    assert gone() is None, "the module kept a reference to the event's content"
    (held,) = module._pending
    assert not any(hasattr(part, "content") for part in held)
    assert "synthetic-body" not in repr(held)
    assert "mxc:" not in repr(held)
    module._process(10)
    assert module.n_scored == 1


# ----------------------------------------------------------------- 2. remote clocks


def _remote_dm(tmp_path: Path) -> tuple[Any, _Room, list[float]]:
    """A module whose clock the test sets, and a DM of a remote adult and a local child."""
    now = [float(T0)]
    module, _ = _module(tmp_path, more_ages="@adult:far.example,34,0\n")
    module._translator.clock = lambda: now[0]
    room = _Room("!dm:x")
    room.member("@adult:far.example", "join")
    room.member(K, "join")
    return module, room, now


def _at(event: _Event, seconds: float, event_id: str) -> _Event:
    event.origin_server_ts = int(seconds * 1000)
    event.event_id = event_id
    return event


@pytest.mark.parametrize("offset_s", [20 * 3600, -2 * 3600])
def test_a_remote_servers_clock_cannot_blind_a_conversation(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, offset_s: int
) -> None:
    """A remote server dated its user's message 20 hours ahead (within the scorer's
    ``max_future_s`` of a day): the child's replies, dated by this server, were then
    'late' by hours and refused for 20 hours. Dated 2 hours back, the remote message
    itself was refused. A remote event far from its receipt is scored at its receipt."""
    module, room, now = _remote_dm(tmp_path)
    remote = "@adult:far.example"
    _run(module.on_new_event(_at(room.message(remote), T0, "$first"), room.state))
    now[0] = T0 + 600
    forged = _at(room.message(remote), T0 + 600 + offset_s, "$forged")
    with caplog.at_level(logging.WARNING):
        _run(module.on_new_event(forged, room.state))
    now[0] = T0 + 660
    _run(module.on_new_event(_at(room.message(K), T0 + 660, "$reply"), room.state))
    module._process(10)
    assert (module.n_scored, module.n_rejected) == (3, 0)
    assert module.stats()["clamped_timestamps"] == 1
    (line,) = [r.getMessage() for r in caplog.records if "$forged" in r.getMessage()]
    assert str((T0 + 600 + offset_s) * 1000) in line
    assert "far.example" in line


def test_local_and_near_remote_times_are_kept(tmp_path: Path) -> None:
    module, room, now = _remote_dm(tmp_path)
    now[0] = T0 + 10  # a remote clock 10 s behind: within tolerance, kept as sent
    _run(module.on_new_event(_at(room.message("@adult:far.example"), T0, "$r"), room.state))
    now[0] = T0 + 7200  # a local event: this server's own clock, never second-guessed
    _run(module.on_new_event(_at(room.message(K), T0 + 20, "$l"), room.state))
    module._process(10)
    assert module.stats()["clamped_timestamps"] == 0
    assert module.n_scored == 2


@pytest.mark.parametrize("value", [2**70, -5, 1e300, True, "1700000000000"])
def test_a_remote_timestamp_of_any_value_never_raises(tmp_path: Path, value: object) -> None:
    module, room, _now = _remote_dm(tmp_path)
    event = room.message("@adult:far.example")
    event.origin_server_ts = value  # type: ignore[assignment]
    _run(module.on_new_event(event, room.state))
    module._process(10)
    assert module.n_scored + module.stats()["unmapped"] == 1
    assert module.n_rejected == 0


# ----------------------------------------------------------------- 3. which rooms are private


def test_an_encrypted_group_room_is_a_group(tmp_path: Path) -> None:
    """Element encrypts every private room by default: an encrypted family group of four
    was scored as the most private channel, ``encrypted``, like a one-to-one chat."""
    translator = _translator(tmp_path)
    room = _Room("!family:x")
    for user in ("@p:x", "@q:x", A, K):
        room.member(user, "join")
    room.set("m.room.encryption", "", {"algorithm": "m.megolm.v1.aes-sha2"}, "@p:x")
    rows = translator.translate(_message("!family:x", A, "m.room.encrypted"), room.state)
    assert {r["channel"] for r in rows} == {"group"}
    public = _Room("!lobby:x", "public")  # an encrypted event in a public room of two
    public.member(A, "join")
    public.member(K, "join")
    rows = translator.translate(_message("!lobby:x", A, "m.room.encrypted"), public.state)
    assert [r["channel"] for r in rows] == ["public"]
    dm = _Room("!dm:x")  # an encrypted one-to-one room stays encrypted
    dm.member(A, "join")
    dm.member(K, "join")
    rows = translator.translate(_message("!dm:x", A, "m.room.encrypted"), dm.state)
    assert [r["channel"] for r in rows] == ["encrypted"]


def test_m_direct_counts_only_for_a_member_of_the_room(tmp_path: Path) -> None:
    """Any local user's ``m.direct`` made any room direct: a user outside a public room of
    two turned its members' public messages into direct ones. A listing counts for a room
    of at most two members when the user who wrote it is a member, and only while it is
    listed (``m.direct`` is replaced whole)."""
    translator = _translator(tmp_path)
    room = _Room("!lobby:x", "public")
    room.member(A, "join")
    room.member(K, "join")

    def channel() -> object:
        return translator.translate(room.message(A), room.state)[0]["channel"]

    translator.mark_direct_rooms({K: ["!lobby:x"]}, user_id="@stranger:x")
    assert channel() == "public"
    translator.mark_direct_rooms({K: ["!lobby:x"]}, user_id=A)
    assert channel() == "direct"
    translator.mark_direct_rooms({K: []}, user_id=A)  # no longer listed
    assert channel() == "public"


# ----------------------------------------------------------------- 4. unanswered invites


def test_unanswered_invites_expire(tmp_path: Path) -> None:
    """Invites nobody answered stayed in ``rooms.sqlite3`` for ever (a remote server can
    send any number). They expire after ``idle_expiry_s``, like the conversation their
    request opened, and are counted."""
    now = [float(T0)]
    store = RoomStore(tmp_path / "r.sqlite3", invite_expiry_s=3600.0)
    translator = EventTranslator(store, AgeSource(lambda _u: None), clock=lambda: now[0])
    room = _Room("!r:x")
    room.member(A, "join")
    translator.translate(room.member(K, "invite", sender=A), room.state)
    now[0] += 3601
    assert translator.translate(room.member(K, "join"), room.state) == []
    assert translator.store.n_invites_expired == 1


def test_pending_invites_are_bounded(tmp_path: Path) -> None:
    store = RoomStore(tmp_path / "r.sqlite3", max_invites=100)
    for i in range(250):
        store.add_invite("!r:x", f"@u{i}:x", A, float(T0 + i))
    assert store.n_pending_invites() <= 100
    assert store.pop_invite("!r:x", "@u249:x", T0 + 250) == A  # the newest are kept
    assert store.pop_invite("!r:x", "@u0:x", T0 + 250) is None
    assert store.n_invites_expired == 150


def test_a_room_state_file_of_an_earlier_version_keeps_its_invites(tmp_path: Path) -> None:
    """Invites pending in a file written before invites had a receipt time start their
    expiry when the file is opened, and are still answered."""

    path = tmp_path / "r.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.executescript(
            """
            CREATE TABLE rooms (room_id TEXT PRIMARY KEY, is_direct INTEGER NOT NULL DEFAULT 0,
                is_encrypted INTEGER NOT NULL DEFAULT 0);
            CREATE TABLE invites (room_id TEXT NOT NULL, invitee TEXT NOT NULL,
                inviter TEXT NOT NULL, PRIMARY KEY (room_id, invitee));
            CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            INSERT INTO invites VALUES ('!r:x', '@kid:x', '@adult:x');
            """
        )
    conn.close()
    path.chmod(0o600)  # as riskscore makes its files (one open to others is refused)
    store = RoomStore(path, invite_expiry_s=3600.0)
    assert store.n_pending_invites() == 1
    assert store.pop_invite("!r:x", K, time.time()) == A
