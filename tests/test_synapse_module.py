"""The Synapse module without a server (a stand-in ``ModuleApi``): queues then scores,
survives a restart, logs shadow alerts, names each alert's own room, never scores its
moderation room, and counts what it drops or the scorer refuses.
"""

from __future__ import annotations

import copy
import time
from pathlib import Path

import pytest
from synapse_helpers import (
    _POLICY,
    _module,
    _read_jsonl,
    _Room,
    _run,
)

import riskscore as rs
from riskscore.integrations import _synapse_mapping
from riskscore.integrations._synapse_mapping import RoomStore, conversation_id
from riskscore.integrations.synapse import RiskscoreModule

# ----------------------------------------------------------------- the module, without a server


def test_module_queues_then_scores_and_survives_a_restart(tmp_path: Path) -> None:
    module, api = _module(tmp_path)
    assert set(api.callbacks) == {"on_new_event", "on_account_data_updated"}
    dm = _Room("!dm:x")
    dm.member("@adult:x", "join")
    _run(module.on_new_event(dm.member("@kid:x", "invite", "@adult:x", is_direct=True), dm.state))
    _run(module.on_new_event(dm.member("@kid:x", "join"), dm.state))
    for _ in range(3):
        _run(module.on_new_event(dm.message("@adult:x", "m.room.encrypted"), dm.state))
    assert module.n_scored == 0  # the callback only queues
    assert api.background == ["riskscore_score"]  # one background task started
    alerts = module._process(100)
    assert [(a.adult_id, a.child_id, ctx["max_channel"]) for a, ctx in alerts] == [
        ("@adult:x", "@kid:x", "encrypted")
    ]
    assert module.stats()["queued"] == 0
    assert module.n_scored == 5
    conv = conversation_id("@adult:x", "@kid:x")
    risk = module.scorer.score_of(conv)
    module._before_shutdown()  # what the reactor runs before it stops
    assert (tmp_path / "s" / "scorer.checkpoint").is_file()

    restarted, _ = _module(tmp_path)
    assert restarted.scorer.score_of(conv) == risk
    assert restarted._store.status("!dm:x") == (True, True)
    assert len(_read_jsonl(tmp_path / "ev.jsonl")) == 5


def test_module_logs_shadow_alerts_and_sends_them_to_no_sink(tmp_path: Path) -> None:
    """A shadow model that alerts where production does not: its alerts go to the shadow
    log only; the review queue and the alerts file get production's alerts alone, and a
    restart keeps the shadow's bookkeeping (no second shadow alert)."""
    bundle = tmp_path / "candidate"
    # shifted so far that the four daytime messages cross the review threshold (risk 0.76 at
    # the first), then the urgent one (0.85 at the fourth)
    rs.save_model(rs.load_model().at_prevalence(0.3), bundle)
    shadow_log, queue = tmp_path / "shadow.jsonl", tmp_path / "queue.sqlite"
    sinks = {"jsonl": str(tmp_path / "a"), "review_queue": str(queue)}
    extra = {"alerts": sinks, "shadow": {"model": str(bundle), "jsonl": str(shadow_log)}}
    module, _ = _module(tmp_path, **extra)
    assert module.scorer.shadow_model is not None
    dm = _Room("!dm:x")
    dm.member("@adult:x", "join")
    dm.member("@kid:x", "join")
    start = 1_700_000_000_000 + 12 * 3_600_000  # by day: production does not alert
    for i in range(4):
        message = dm.message("@adult:x", "m.room.encrypted")
        message.origin_server_ts = start + i * 600_000
        _run(module.on_new_event(message, dm.state))
    production = module._process(100)
    for alert, context in production:
        _run(module._emit(alert, context))
    shadow = _read_jsonl(shadow_log)
    assert production == []
    assert [r["tier"] for r in shadow] == ["review", "urgent"]  # one alert per tier reached
    assert {(r["shadow"], r["adult_id"], r["matrix"]["room_id"]) for r in shadow} == {
        (True, "@adult:x", "!dm:x")
    }
    assert module.stats()["shadow_alerts"] == 2
    assert not (tmp_path / "a").exists()
    assert not queue.exists()
    module._before_shutdown()
    restarted, _ = _module(tmp_path, **extra)
    message = dm.message("@adult:x", "m.room.encrypted")
    message.origin_server_ts = start + 5 * 600_000
    _run(restarted.on_new_event(message, dm.state))
    restarted._process(100)
    assert len(_read_jsonl(shadow_log)) == 2


def test_alert_raised_elsewhere_names_its_own_conversations_room(tmp_path: Path) -> None:
    """The adult's invite of a second child, in a new room, raises his share of contact
    requests never accepted: that re-scores his encrypted chat with the first child,
    whose alert names that chat's room (and the room of the event that raised it). The
    under-13 review threshold is set to 0.14 so that the daytime chat starts below it
    (risk 0.119 after four messages) and the invite lifts it above (0.162); the invite's own
    conversation, a cold request to a 12-year-old (0.253), alerts too, first, under its own
    room."""
    policy = copy.deepcopy(_POLICY)
    policy["bands"][0]["review"] = 0.14
    module, _ = _module(tmp_path, more_ages="@kid2:x,12,0\n", policy=policy)
    dm = _Room("!dm:x")
    dm.member("@adult:x", "join")
    dm.member("@kid:x", "join")
    start = 1_700_000_000_000 + 12 * 3_600_000  # 10:13 UTC, by day
    for i in range(4):
        message = dm.message("@adult:x", "m.room.encrypted")
        message.origin_server_ts = start + i * 600_000
        _run(module.on_new_event(message, dm.state))
    assert module._process(100) == []  # below the review threshold on its own
    chat = conversation_id("@adult:x", "@kid:x")
    invited = conversation_id("@adult:x", "@kid2:x")
    assert module.rooms.get(chat) == ("!dm:x", "encrypted")

    other = _Room("!other:x")
    other.member("@adult:x", "join")
    invite = other.member("@kid2:x", "invite", "@adult:x", is_direct=True)
    invite.origin_server_ts = start + 5 * 600_000
    invite.event_id = "$invite"
    replay = rs.OnlineScorer.restore(
        _checkpointed(module, tmp_path), module.scorer.model, module.scorer.policy
    )
    _run(module.on_new_event(invite, other.state))
    alerts = module._process(100)
    event = {"event_id": "$invite", "event_room_id": "!other:x"}
    assert [(a.conversation_id, a.child_id, ctx) for a, ctx in alerts] == [
        (
            invited,
            "@kid2:x",
            {"room_id": "!other:x", "channel": "direct", "max_channel": "direct", **event},
        ),
        (
            chat,
            "@kid:x",
            {"room_id": "!dm:x", "channel": "encrypted", "max_channel": "encrypted", **event},
        ),
    ]
    # update_one, which the module used before, returns the invite's own conversation
    # only, and misses the chat's alert
    row = _read_jsonl(tmp_path / "ev.jsonl")[-1]
    assert row["event"] == "contact_request"
    own = replay.update_one(row)
    assert own is not None
    assert own.conversation_id == invited

    # The sinks get the room of the alerted conversation.
    _run(module._emit(*alerts[1]))
    (record,) = _read_jsonl(tmp_path / "a")
    assert record["conversation_id"] == chat
    assert record["matrix"]["room_id"] == "!dm:x"
    # ... and the map survives a restart, in the scorer's checkpoint.
    module._before_shutdown()
    # (under the same policy: its checkpoint refuses another)
    restarted, _ = _module(tmp_path, more_ages="@kid2:x,12,0\n", policy=policy)
    assert restarted.rooms.get(chat) == ("!dm:x", "encrypted")
    assert restarted.rooms.get(invited) == ("!other:x", "direct")


def _checkpointed(module: RiskscoreModule, tmp_path: Path) -> Path:
    """A copy of the module's scorer state, as a checkpoint file."""
    path = tmp_path / "copy.checkpoint"
    module.scorer.checkpoint(path)
    return path


def test_conversation_rooms_expire_with_the_scorer() -> None:
    rooms = _synapse_mapping.ConversationRooms(idle_expiry_s=100)
    rooms.note("a", "!1:x", "direct", 1_000)
    rooms.note("a", "!3:x", "encrypted", 990)  # a late event: its room, the latest time
    assert rooms.get("a") == ("!3:x", "encrypted")
    rooms.note("b", "!2:x", "group", 1_050)
    rooms.note("c", "!4:x", "public", 1_140)  # horizon 1_040: "a" (latest 1_000) goes
    assert (rooms.get("a"), len(rooms)) == (None, 2)
    again = _synapse_mapping.ConversationRooms.from_json(rooms.to_json(), idle_expiry_s=100)
    assert again.to_json() == rooms.to_json()
    with pytest.raises(ValueError, match="conversation room 0"):
        _synapse_mapping.ConversationRooms.from_json([["a", "!1:x"]], idle_expiry_s=100)


def test_module_never_scores_its_moderation_room(tmp_path: Path) -> None:
    (tmp_path / "s").mkdir()
    store = RoomStore(tmp_path / "s" / "rooms.sqlite3")
    store.set_meta("moderation_room_id", "!mod:x")  # created before a restart
    store.close()
    sink = {"jsonl": str(tmp_path / "a"), "moderation_room": {"moderators": ["@m:x"]}}
    module, _ = _module(tmp_path, alerts=sink)
    room = _Room("!mod:x")
    room.member("@adult:x", "join")
    room.member("@kid:x", "join")
    _run(module.on_new_event(room.message("@adult:x"), room.state))
    _run(module.on_new_event(room.message("@riskscore:x"), room.state))
    module._process(10)
    assert module.n_scored == 0


def test_module_drops_and_counts_when_the_queue_is_full(tmp_path: Path) -> None:
    module, _ = _module(tmp_path, max_queue=2)
    room = _Room("!r:x")
    room.member("@adult:x", "join")
    room.member("@kid:x", "join")
    for _ in range(5):
        _run(module.on_new_event(room.message("@adult:x"), room.state))
    assert (module.n_enqueued, module.n_dropped) == (2, 3)


def test_module_counts_events_the_scorer_refuses(tmp_path: Path) -> None:
    module, _ = _module(tmp_path)
    room = _Room("!r:x")
    room.member("@adult:x", "join")
    room.member("@kid:x", "join")
    ahead = room.message("@adult:x")  # this server's own user: its time is kept, and refused
    ahead.origin_server_ts = int((time.time() + 30 * 86_400) * 1000)
    _run(module.on_new_event(ahead, room.state))
    module._process(10)
    assert (module.n_scored, module.n_rejected) == (0, 1)
