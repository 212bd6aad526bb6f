"""Tests for the Synapse module: config, age sources, event mapping, and a real homeserver."""

from __future__ import annotations

import ast
import contextlib
import copy
import json
import math
import sqlite3
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import riskscore as rs
from riskscore.integrations import _synapse_mapping
from riskscore.integrations._synapse_ages import AgeSource, make_age_source
from riskscore.integrations._synapse_config import SynapseConfigError, parse
from riskscore.integrations._synapse_harness import Homeserver
from riskscore.integrations._synapse_mapping import EventTranslator, RoomStore, conversation_id
from riskscore.integrations.synapse import RiskscoreModule
from riskscore.moderation.queue import ReviewQueue

MODULE = "riskscore.integrations.synapse.RiskscoreModule"

# ----------------------------------------------------------------- config


def _base(tmp_path: Path, **extra: Any) -> dict[str, Any]:
    return {"state_dir": str(tmp_path / "s"), "alerts": {"jsonl": str(tmp_path / "a")}, **extra}


#: The default policy's keys, as a ``policy:`` block (the keys of a policy file).
_POLICY = rs.AlertPolicy.default().to_mapping()


def test_config_defaults(tmp_path: Path) -> None:
    cfg = parse(_base(tmp_path))
    assert cfg.state_dir == tmp_path / "s"
    assert cfg.jsonl == tmp_path / "a"
    assert cfg.policy is None
    assert cfg.ages.kind == "none"
    assert cfg.max_fanout_members == 20
    assert cfg.default_tz_offset_min is None  # unknown, never UTC
    assert parse({**_base(tmp_path), "default_tz_offset_min": None}).default_tz_offset_min is None
    assert parse({**_base(tmp_path), "default_tz_offset_min": -300}).default_tz_offset_min == -300


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        ({"state_dir": None}, ("state_dir",), "file system path"),
        ({"alerts": {}}, ("alerts",), "at least one sink"),
        ({"alerts": {"jsonl": "a", "sms": 1}}, ("alerts",), "unknown key(s) 'sms'"),
        ({"max_fanout_members": 1}, ("max_fanout_members",), "integer in [2, 10000]"),
        ({"max_fanout_members": True}, ("max_fanout_members",), "found True"),
        ({"conversation_scope": "thread"}, ("conversation_scope",), "'pair' or 'room'"),
        ({"default_tz_offset_min": 900}, ("default_tz_offset_min",), "[-720, 840]"),
        ({"ages": {"csv": "/nonexistent.csv"}}, ("ages", "csv"), "no such file"),
        ({"ages": {"callable": "no_colon"}}, ("ages", "callable"), "package.module:function"),
        ({"model": "/nonexistent"}, ("model",), "not a riskscore model bundle"),
        ({"shadow": {"jsonl": "s.jsonl"}}, ("shadow", "model"), "required: the candidate"),
        ({"shadow": {"model": "/nonexistent", "jsonl": "s"}}, ("shadow", "model"), "no manifest"),
        ({"shadow": {"model": "/x"}}, ("shadow", "jsonl"), "required: where its alerts go"),
        ({"shadow": {"model": "/x", "jsonl": "s", "queue": "q"}}, ("shadow",), "'queue'"),
        ({"shadow": "/x"}, ("shadow",), "expected a mapping"),
        (
            {"policy": {**_POLICY, "unknown": {"review": 0.7, "urgent": 0.5}}},
            ("policy", "unknown"),
            "0 < review < urgent",
        ),
        ({"policy": {"bands": _POLICY["bands"]}}, ("policy", "format_version"), "write 2"),
        (
            {"alerts": {"moderation_room": {"user": "@x:y", "moderators": ["@m:y"]}}},
            ("alerts", "moderation_room"),
            "localpart",
        ),
        (
            {"alerts": {"moderation_room": {"user": "rs"}}},
            ("alerts", "moderation_room"),
            "room_id' or at least one",
        ),
        ({"colour": "red"}, (), "unknown key(s) 'colour'"),
    ],
)
def test_config_errors_name_the_key(
    tmp_path: Path, change: dict[str, Any], path: tuple[str, ...], message: str
) -> None:
    with pytest.raises(SynapseConfigError) as info:
        parse(_base(tmp_path) | change)
    assert info.value.path == path
    assert message in info.value.msg


def test_parse_config_raises_synapse_config_error(tmp_path: Path) -> None:
    from synapse.module_api.errors import ConfigError

    with pytest.raises(ConfigError) as info:
        RiskscoreModule.parse_config({"alerts": {"jsonl": "a"}})
    assert info.value.path == ("modules", "riskscore", "state_dir")
    parsed = RiskscoreModule.parse_config(_base(tmp_path))
    assert parsed.model.to_dict() == rs.load_model().to_dict()  # the shipped model


def test_config_policy_bands(tmp_path: Path) -> None:
    bands = [
        {"name": "child", "min_age": 0, "max_age": 18, "review": 0.1, "urgent": 0.4},
        {"name": "adult", "min_age": 18, "max_age": math.inf, "review": 0.5, "urgent": 0.9},
    ]
    unknown = {"review": 0.2, "urgent": 0.5}
    cfg = parse(_base(tmp_path, policy={"format_version": 2, "bands": bands, "unknown": unknown}))
    assert cfg.policy is not None
    assert [b.name for b in cfg.policy.bands] == ["child", "adult"]
    assert (cfg.policy.unknown.review, cfg.policy.unknown.urgent) == (0.2, 0.5)
    assert cfg.policy.guards == rs.AlertPolicy.default().guards  # the optional table
    # the same rules as a policy file: thresholds for unknown ages are not optional
    with pytest.raises(SynapseConfigError, match="unknown age") as info:
        parse(_base(tmp_path, policy={"format_version": 2, "bands": bands}))
    assert info.value.path == ("policy", "unknown")


# ----------------------------------------------------------------- ages


def test_age_sources(tmp_path: Path) -> None:
    csv_path = tmp_path / "ages.csv"
    csv_path.write_text("user_id,age,tz_offset_min\n@kid:x,12,60\n@adult:x,40,\n")
    ages = make_age_source(parse(_base(tmp_path, ages={"csv": str(csv_path)})).ages)
    assert ages.get("@kid:x") == (12.0, 60)
    assert ages.get("@adult:x") == (40.0, None)
    assert ages.get("@nobody:x") == (None, None)

    db = tmp_path / "ages.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE declared_ages (user_id TEXT, age REAL)")
        conn.execute("INSERT INTO declared_ages VALUES ('@kid:x', 11.5)")
    ages = make_age_source(parse(_base(tmp_path, ages={"sqlite": str(db)})).ages)
    assert ages.get("@kid:x") == (11.5, None)
    assert ages.get("@nobody:x") == (None, None)

    cfg = parse(_base(tmp_path, ages={"callable": "math:floor"}))
    assert cfg.ages.target == "math:floor"
    with pytest.raises(SynapseConfigError, match="cannot import"):
        make_age_source(parse(_base(tmp_path, ages={"callable": "no.such.module:f"})).ages)


def test_csv_age_source_rejects_a_bad_header(tmp_path: Path) -> None:
    csv_path = tmp_path / "ages.csv"
    csv_path.write_text("user,years\n@kid:x,12\n")
    with pytest.raises(SynapseConfigError, match="needs a header with user_id and age"):
        make_age_source(parse(_base(tmp_path, ages={"csv": str(csv_path)})).ages)


# ----------------------------------------------------------------- mapping


class _Opaque(Mapping[str, Any]):
    """Content that fails the test if anything reads it (an encrypted payload), but for its
    cleartext ``m.relates_to`` (the Matrix spec keeps relations outside the ciphertext)."""

    def __init__(self, relates_to: Mapping[str, Any] | None = None) -> None:
        self._relates_to = relates_to

    def __getitem__(self, key: str) -> Any:
        if key == "m.relates_to" and self._relates_to is not None:
            return self._relates_to
        if key == "m.relates_to":
            raise KeyError(key)
        raise AssertionError(f"the module read {key!r} of opaque content")

    def __iter__(self) -> Iterator[str]:
        raise AssertionError("the module iterated opaque content")

    def __len__(self) -> int:
        raise AssertionError("the module measured opaque content")


@dataclass
class _Event:
    type: str
    room_id: str
    sender: str
    state_key: str | None = None
    content: Mapping[str, Any] = field(default_factory=dict)
    origin_server_ts: int = 1_700_000_000_000
    event_id: str = "$synthetic"

    def get_state_key(self) -> str | None:
        return self.state_key


class _Room:
    """Current state of a fake room, as Synapse passes it to ``on_new_event``."""

    def __init__(self, room_id: str, join_rule: str = "invite") -> None:
        self.room_id = room_id
        self.state: dict[tuple[str, str], _Event] = {}
        self.set("m.room.join_rules", "", {"join_rule": join_rule}, "@x:x")

    def set(self, kind: str, key: str, content: Mapping[str, Any], sender: str) -> _Event:
        event = _Event(kind, self.room_id, sender, key, content)
        self.state[(kind, key)] = event
        return event

    def member(self, user: str, membership: str, sender: str | None = None, **extra: Any) -> _Event:
        return self.set("m.room.member", user, {"membership": membership, **extra}, sender or user)

    def message(self, sender: str, kind: str = "m.room.message") -> _Event:
        content: Mapping[str, Any] = _Opaque()
        return _Event(kind, self.room_id, sender, None, content)


@pytest.fixture
def translator(tmp_path: Path) -> EventTranslator:
    ages = {"@adult:x": (34.0, 0), "@kid:x": (12.0, 120)}
    return EventTranslator(RoomStore(tmp_path / "rooms.sqlite3"), AgeSource(ages.get))


def _kinds(rows: list[dict[str, object]]) -> list[tuple[object, ...]]:
    return [(r["sender_id"], r["recipient_id"], r["channel"], r["event"]) for r in rows]


def test_public_room_then_direct_then_encrypted(translator: EventTranslator) -> None:
    a, k = "@adult:x", "@kid:x"
    public = _Room("!pub:x", "public")
    public.member(a, "join")
    assert translator.translate(public.member(k, "join"), public.state) == []  # no invite
    rows = translator.translate(public.message(a), public.state)
    assert _kinds(rows) == [(a, k, "public", "message")]
    assert rows[0]["sender_age"] == 34.0
    assert rows[0]["recipient_age"] == 12.0
    assert rows[0]["recipient_tz_offset_min"] == 120
    assert rows[0]["timestamp"] == 1_700_000_000
    assert rows[0]["conversation_id"] == conversation_id(a, k)

    dm = _Room("!dm:x")
    dm.member(a, "join")
    invite = dm.member(k, "invite", sender=a, is_direct=True)
    assert _kinds(translator.translate(invite, dm.state)) == [(a, k, "direct", "contact_request")]
    join = dm.member(k, "join")
    assert _kinds(translator.translate(join, dm.state)) == [(k, a, "direct", "contact_accept")]
    assert _kinds(translator.translate(dm.message(k), dm.state)) == [(k, a, "direct", "message")]

    encryption = dm.set("m.room.encryption", "", {"algorithm": "m.megolm.v1.aes-sha2"}, a)
    assert translator.translate(encryption, dm.state) == []
    rows = translator.translate(dm.message(a, "m.room.encrypted"), dm.state)
    assert _kinds(rows) == [(a, k, "encrypted", "message")]
    assert {r["conversation_id"] for r in rows} == {conversation_id(a, k)}  # one conversation


def test_direct_and_encrypted_status_is_durable(tmp_path: Path) -> None:
    a, k, o = "@adult:x", "@kid:x", "@other:x"
    translator = EventTranslator(RoomStore(tmp_path / "r.sqlite3"), AgeSource(lambda _u: None))
    dm = _Room("!dm:x", "public")
    dm.member(a, "join")
    translator.translate(dm.member(k, "invite", sender=a, is_direct=True), dm.state)
    translator.translate(dm.member(k, "join"), dm.state)
    translator.translate(dm.message(a, "m.room.encrypted"), dm.state)  # state lacks encryption
    translator.store.close()

    # A restart: a new translator on the same file; the state no longer shows the invite.
    restarted = EventTranslator(RoomStore(tmp_path / "r.sqlite3"), AgeSource(lambda _u: None))
    assert restarted.store.status("!dm:x") == (True, True)
    assert _kinds(restarted.translate(dm.message(a), dm.state)) == [(a, k, "encrypted", "message")]
    fresh = _Room("!dm2:x", "public")
    fresh.member(a, "join")
    fresh.member(o, "join")
    assert restarted.translate(fresh.message(a), fresh.state)[0]["channel"] == "public"
    restarted.mark_direct_rooms({o: ["!dm2:x"]}, user_id=a)  # a's m.direct account data
    assert restarted.translate(fresh.message(a), fresh.state)[0]["channel"] == "direct"


def test_group_fan_out_and_its_bound(translator: EventTranslator) -> None:
    room = _Room("!group:x")
    members = [f"@u{i}:x" for i in range(4)]
    for user in members:
        room.member(user, "join")
    translator.translate(room.member(members[-1], "join"), room.state)
    rows = translator.translate(room.message(members[0]), room.state)
    assert _kinds(rows) == [(members[0], u, "group", "message") for u in members[1:]]
    assert len({r["conversation_id"] for r in rows}) == 3
    # riskscore's one rule (riskscore.io.groups): each row carries the room's size at that
    # moment, so the scorer counts the message as group contact, not direct contact
    assert {r["room_size"] for r in rows} == {4}
    assert {r["conversation_id"] for r in rows} == {
        rs.io.groups.pair_conversation_id(None, members[0], u) for u in members[1:]
    }
    scorer = rs.OnlineScorer(rs.load_model())
    for row in rows:
        scorer.update_one(row)
    features = scorer.features_of(rows[0]["conversation_id"])
    assert features[rs.FEATURE_NAMES.index("group_contact_events")] == 1
    assert features[rs.FEATURE_NAMES.index("adult_minor_fanout")] == 0
    # without a known offset for the recipients, the offset is unknown, never UTC
    assert {r["recipient_tz_offset_min"] for r in rows} == {None}

    translator.max_fanout_members = 3
    big = _Room("!big:x", "public")
    for user in members:
        big.member(user, "join")
    assert translator.translate(big.message(members[0]), big.state) == []
    assert translator.n_skipped_large_rooms == 1


def test_two_member_invite_only_room_is_direct(translator: EventTranslator) -> None:
    room = _Room("!r:x", "invite")
    room.member("@adult:x", "join")
    room.member("@kid:x", "join")
    assert translator.translate(room.message("@adult:x"), room.state)[0]["channel"] == "direct"


def test_room_scope_and_ignored_accounts(tmp_path: Path) -> None:
    translator = EventTranslator(
        RoomStore(tmp_path / "r.sqlite3"),
        AgeSource(lambda _u: None),
        scope="room",
        ignored_users={"@riskscore:x"},
        default_tz_offset_min=-300,
    )
    room = _Room("!r:x", "public")
    for user in ("@a:x", "@b:x", "@riskscore:x"):
        room.member(user, "join")
    rows = translator.translate(room.message("@a:x"), room.state)
    assert _kinds(rows) == [("@a:x", "@b:x", "public", "message")]
    assert rows[0]["conversation_id"] == conversation_id("@a:x", "@b:x", "!r:x")
    assert rows[0]["recipient_tz_offset_min"] == -300
    assert rows[0]["sender_age"] is None
    assert translator.translate(room.message("@riskscore:x"), room.state) == []


def test_other_content_fields_are_refused() -> None:
    with pytest.raises(PermissionError, match="reads no 'body'"):
        _synapse_mapping._state_field(_Event("m.room.message", "!r:x", "@a:x"), "body")
    with pytest.raises(PermissionError):
        _synapse_mapping._state_field(_Event("m.room.encrypted", "!r:x", "@a:x"), "membership")


def test_event_content_is_read_in_one_place_only() -> None:
    """The only ``.content`` access in the module's code is the allow-listed ``_state_field``."""
    package = Path(_synapse_mapping.__file__).parent
    offenders = []
    for path in sorted(package.glob("*.py")):
        if path.name == "_synapse_harness.py":  # the test client, not the module
            continue
        tree = ast.parse(path.read_text())
        functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
        allowed = {
            id(node) for fn in functions if fn.name == "_state_field" for node in ast.walk(fn)
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr == "content"
                and id(node) not in allowed
            ):
                offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == []


# ----------------------------------------------------------------- the module, without a server


class _StandInApi:
    """The part of ``ModuleApi`` that ``RiskscoreModule.__init__`` uses; records calls."""

    server_name = "x"

    def __init__(self) -> None:
        self.callbacks: dict[str, Any] = {}
        self.background: list[str] = []

    def register_third_party_rules_callbacks(self, **callbacks: Any) -> None:
        self.callbacks.update(callbacks)

    def register_account_data_callbacks(self, **callbacks: Any) -> None:
        self.callbacks.update(callbacks)

    def looping_background_call(self, *_: Any, **__: Any) -> None:
        pass

    def get_qualified_user_id(self, localpart: str) -> str:
        return f"@{localpart}:x"

    def run_as_background_process(self, desc: str, func: Any) -> None:
        self.background.append(desc)  # not run: the test drives _process itself


def _module(
    tmp_path: Path, *, more_ages: str = "", **extra: Any
) -> tuple[RiskscoreModule, _StandInApi]:
    ages = tmp_path / "ages.csv"
    ages.write_text(f"user_id,age,tz_offset_min\n@adult:x,34,0\n@kid:x,12,0\n{more_ages}")
    raw = _base(tmp_path, ages={"csv": str(ages)}, events_log=str(tmp_path / "ev.jsonl"), **extra)
    api = _StandInApi()
    return RiskscoreModule(RiskscoreModule.parse_config(raw), api), api  # type: ignore[arg-type]


def _run(coro: Any) -> None:
    with contextlib.suppress(StopIteration):
        coro.send(None)
        raise AssertionError("the callback awaited something")


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
    # shifted so far that the four daytime messages cross the review, then the urgent threshold
    rs.save_model(rs.load_model().at_prevalence(0.38), bundle)
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
    under-13 review threshold is set to 0.09 so that the daytime chat starts below it
    (risk 0.078) and the invite lifts it above (0.170); the invite's own conversation, a
    cold request to a 12-year-old (0.107), alerts too, first, under its own room."""
    policy = copy.deepcopy(_POLICY)
    policy["bands"][0]["review"] = 0.09
    module, _ = _module(tmp_path, more_ages="@kid2:x,12,0\n", policy=policy)
    dm = _Room("!dm:x")
    dm.member("@adult:x", "join")
    dm.member("@kid:x", "join")
    start = 1_700_000_000_000 + 12 * 3_600_000  # 10:13 UTC, by day
    for i in range(5):
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
    restarted, _ = _module(tmp_path, more_ages="@kid2:x,12,0\n")
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
    ages = tmp_path / "bad.csv"
    ages.write_text("user_id,age\n@adult:x,34\n@kid:x,150\n")  # not a plausible age
    raw = _base(tmp_path, ages={"csv": str(ages)})
    module = RiskscoreModule(RiskscoreModule.parse_config(raw), _StandInApi())  # type: ignore[arg-type]
    room = _Room("!r:x")
    room.member("@adult:x", "join")
    room.member("@kid:x", "join")
    _run(module.on_new_event(room.message("@adult:x"), room.state))
    module._process(10)
    assert (module.n_scored, module.n_rejected) == (0, 1)


# ----------------------------------------------------------------- end to end


def _night_offset_min(now_s: float) -> int:
    """A UTC offset that puts ``now_s`` at 02:00 local time (inside 22:00-06:00)."""
    utc_min = int(now_s // 60) % 1440
    offset = (120 - utc_min) % 1440
    return offset - 1440 if offset > 840 else offset


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _wait_for(predicate: Any, timeout_s: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    return predicate()


_CIPHERTEXT = {
    "algorithm": "m.megolm.v1.aes-sha2",
    "ciphertext": "synthetic-ciphertext",
    "sender_key": "synthetic-key",
    "session_id": "synthetic-session",
    "device_id": "SYNTHETIC",
}


@pytest.fixture
def scratch() -> Iterator[Path]:
    """A temporary directory removed after the test, whatever its outcome."""
    with tempfile.TemporaryDirectory(prefix="riskscore-synapse-") as directory:
        yield Path(directory)


@pytest.mark.slow
def test_real_homeserver_alerts_on_grooming_not_on_family_group(scratch: Path) -> None:
    """A real Synapse (subprocess, SQLite, 127.0.0.1 only) with the module loaded.

    Ages are declared in an SQLite table; both children's UTC offsets put the
    current time at 02:00 for them, so both sequences happen at night and
    night-time alone cannot tell them apart. The shipped model and the default
    policy are used (no test-specific thresholds): the under-13 band raises a
    review alert from risk 0.15. Replayed offline, the grooming-like conversation
    (adult-initiated, public then direct then encrypted within seconds, 22-year
    age gap) alerts at an encrypted message (with the model shipped now, at a
    risk near 1 and the urgent tier) and the family group stays below 0.05; the
    test checks both against the events the module logged. The server is
    restarted half-way, and the module's alerts must equal those of an
    uninterrupted offline replay: no conversation state was lost.
    """
    tmp_path = scratch
    work = tmp_path / "hs"
    work.mkdir()
    night = _night_offset_min(time.time())
    ages_db = tmp_path / "declared_ages.sqlite3"
    declared = {
        "@adult:localhost": (34.0, 0),
        "@child:localhost": (12.0, night),
        "@parent:localhost": (41.0, 0),
        "@aunt:localhost": (38.0, 0),
        "@kid:localhost": (12.0, night),
    }
    with sqlite3.connect(ages_db) as conn:
        conn.execute("CREATE TABLE declared_ages (user_id TEXT, age REAL, tz_offset_min INT)")
        conn.executemany(
            "INSERT INTO declared_ages VALUES (?, ?, ?)",
            [(u, age, tz) for u, (age, tz) in declared.items()],
        )
    conn.close()
    alerts_path, events_path = tmp_path / "alerts.jsonl", tmp_path / "events.jsonl"
    module_config = {
        "state_dir": str(tmp_path / "riskscore-state"),
        "ages": {"sqlite": str(ages_db)},
        "events_log": str(events_path),
        "alerts": {
            "jsonl": str(alerts_path),
            "moderation_room": {"user": "riskscore", "moderators": ["@mod:localhost"]},
            "review_queue": str(tmp_path / "review-queue.sqlite3"),
        },
    }
    server = Homeserver(work, [{"module": MODULE, "config": module_config}])
    try:
        server.start()
        adult, child = server.register("adult"), server.register("child")
        parent, aunt, kid = (
            server.register("parent"),
            server.register("aunt"),
            server.register("kid"),
        )
        mod = server.register("mod")

        # Benign: a parent, an aunt and a child in an invite-only family group.
        family = parent.create_room(preset="private_chat", name="family")
        parent.invite(family, aunt.user_id)
        aunt.join(family)
        parent.invite(family, kid.user_id)
        kid.join(family)
        for sender in (parent, kid, aunt, kid, parent, kid):
            sender.send(family, "m.room.message", {"msgtype": "m.text", "body": "synthetic"})

        # Grooming-like, part 1: a public room, then a direct chat.
        lobby = adult.create_room(preset="public_chat", name="games")
        child.join(lobby)
        for sender in (adult, child, adult):
            sender.send(lobby, "m.room.message", {"msgtype": "m.text", "body": "synthetic"})
        dm = adult.create_room(
            preset="trusted_private_chat", is_direct=True, invite=[child.user_id]
        )
        child.join(dm)
        for sender in (adult, adult, child):
            sender.send(dm, "m.room.message", {"msgtype": "m.text", "body": "synthetic"})
        assert _wait_for(lambda: len(_read_jsonl(events_path)) >= 16 + 8), server.logs()
        assert _read_jsonl(alerts_path) == []

        # A restart: the module checkpoints at shutdown and restores at start-up.
        assert server.stop() == 0
        assert (tmp_path / "riskscore-state" / "scorer.checkpoint").is_file()
        server.start()

        # Part 2: encryption switched on, opaque encrypted messages at the child's night.
        adult.set_state(dm, "m.room.encryption", {"algorithm": "m.megolm.v1.aes-sha2"})
        for sender in (adult, adult, child, adult):
            sender.send(dm, "m.room.encrypted", _CIPHERTEXT)
        alerts = _wait_for(lambda: _read_jsonl(alerts_path))
        assert alerts, server.logs()
        invited = _wait_for(mod.invited_rooms)
        assert invited, server.logs()
        mod.join(invited[0])
        notices = _wait_for(
            lambda: [
                e["content"]["org.riskscore.alert"]
                for e in mod.messages(invited[0])
                if e["type"] == "m.room.message" and "org.riskscore.alert" in e["content"]
            ]
        )
    finally:
        server.stop()

    # The alert: the adult and the child, raised by an encrypted message, not before.
    # (Its tier is the shipped model's: review or urgent; the replay below checks it.)
    assert [(a["adult_id"], a["child_id"]) for a in alerts] == [
        ("@adult:localhost", "@child:localhost")
    ]
    assert alerts[0]["tier"] in {"review", "urgent"}
    assert alerts[0]["matrix"]["channel"] == "encrypted"
    assert alerts[0]["matrix"]["max_channel"] == "encrypted"
    assert alerts[0]["matrix"]["room_id"] == dm
    assert alerts[0]["child_age"] == 12.0
    assert notices[0]["child_id"] == "@child:localhost"
    assert notices[0]["tier"] == alerts[0]["tier"]
    assert notices[0]["matrix"]["room_id"] == dm
    with ReviewQueue(tmp_path / "review-queue.sqlite3") as queue:
        cases = queue.top()
    assert [(c.adult_id, c.children) for c in cases] == [
        ("@adult:localhost", ("@child:localhost",))
    ]

    # Channel mapping, from the schema v1 events the module fed the scorer.
    events = _read_jsonl(events_path)
    grooming = conversation_id("@adult:localhost", "@child:localhost")
    seen = [
        (e["sender_id"][1], e["channel"], e["event"])
        for e in events
        if e["conversation_id"] == grooming
    ]
    assert seen == [
        ("a", "public", "message"),
        ("c", "public", "message"),
        ("a", "public", "message"),
        ("a", "direct", "contact_request"),
        ("c", "direct", "contact_accept"),
        ("a", "direct", "message"),
        ("a", "direct", "message"),
        ("c", "direct", "message"),
        ("a", "encrypted", "message"),
        ("a", "encrypted", "message"),
        ("c", "encrypted", "message"),
        ("a", "encrypted", "message"),
    ]
    family_ids = {"@parent:localhost", "@aunt:localhost", "@kid:localhost"}
    family_events = [e for e in events if e["sender_id"] in family_ids]
    contacts = [
        (e["sender_id"], e["recipient_id"], e["channel"], e["event"])
        for e in family_events
        if e["event"] != "message"
    ]
    # Until the child arrives, the invite-only room has two members: a direct chat.
    assert contacts == [
        ("@parent:localhost", "@aunt:localhost", "direct", "contact_request"),
        ("@aunt:localhost", "@parent:localhost", "direct", "contact_accept"),
        ("@parent:localhost", "@kid:localhost", "group", "contact_request"),
        ("@kid:localhost", "@parent:localhost", "group", "contact_accept"),
    ]
    messages = [e for e in family_events if e["event"] == "message"]
    assert len(messages) == 6 * 2  # six messages, each to the two other members
    assert {e["channel"] for e in messages} == {"group"}
    assert all(
        e["recipient_tz_offset_min"] == night
        for e in events
        if e["recipient_id"] in {"@kid:localhost", "@child:localhost"}
    )
    assert all("body" not in e and "ciphertext" not in json.dumps(e) for e in events)

    # Offline replay of the same events: same alerts (no state lost at the restart),
    # and the family group far below the under-13 review threshold of 0.15.
    offline = rs.OnlineScorer(rs.load_model())
    replayed = [a.to_dict() for a in offline.update_many(events)]  # as update_one_all
    keys = ("conversation_id", "tier", "event_index", "timestamp")
    assert [{k: a[k] for k in keys} for a in replayed] == [{k: a[k] for k in keys} for a in alerts]
    assert math.isclose(replayed[0]["risk"], alerts[0]["risk"], rel_tol=1e-9)
    assert alerts[0]["risk"] > 0.15
    family_risk = max(
        offline.score_of(conversation_id(a, b))
        for a, b in [("@parent:localhost", "@kid:localhost"), ("@aunt:localhost", "@kid:localhost")]
    )
    assert family_risk < 0.05
