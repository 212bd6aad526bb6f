"""Tests for the Synapse module: config, age sources and event mapping. The module without
a server is tested in ``test_synapse_module.py``, a real homeserver in
``test_synapse_homeserver.py``.
"""

from __future__ import annotations

import ast
import math
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from synapse_helpers import (
    _POLICY,
    _base,
    _Event,
    _Room,
)

import riskscore as rs
from riskscore.integrations import _synapse_mapping
from riskscore.integrations._synapse_ages import AgeSource, make_age_source
from riskscore.integrations._synapse_config import SynapseConfigError, parse
from riskscore.integrations._synapse_mapping import EventTranslator, RoomStore, conversation_id
from riskscore.integrations.synapse import RiskscoreModule

# ----------------------------------------------------------------- config


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
        ({"default_tz_offset_min": 5}, ("default_tz_offset_min",), "whole quarter hours"),
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
        ({"policy": {"bands": _POLICY["bands"]}}, ("policy", "format_version"), "write 3"),
        (
            {"alerts": {"moderation_room": {"user": "@x:y", "moderators": ["@m:y"]}}},
            ("alerts", "moderation_room", "user"),
            "localpart",
        ),
        (  # Synapse refused the notices of an upper-case localpart, one 400 per alert
            {"alerts": {"moderation_room": {"user": "RiskBot", "moderators": ["@m:y"]}}},
            ("alerts", "moderation_room", "user"),
            "lower-case letters",
        ),
        ({"checkpoint_interval_s": float("inf")}, ("checkpoint_interval_s",), "86400"),
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


def test_a_bundle_that_cannot_be_loaded_is_a_config_error_at_its_setting(tmp_path: Path) -> None:
    from synapse.module_api.errors import ConfigError

    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "manifest.json").write_text("{not json")
    for change, path in (
        ({"model": str(broken)}, ("modules", "riskscore", "model")),
        (
            {"shadow": {"model": str(broken), "jsonl": str(tmp_path / "s.jsonl")}},
            ("modules", "riskscore", "shadow", "model"),
        ),
    ):
        with pytest.raises(ConfigError) as info:
            RiskscoreModule.parse_config(_base(tmp_path) | change)
        assert info.value.path == path
        assert info.value.msg.startswith("riskscore: cannot load the model: ")


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
    assert ages.get("@kid:x") == (12.0, 60, None)
    assert ages.get("@adult:x") == (40.0, None, None)
    assert ages.get("@nobody:x") == (None, None, None)

    db = tmp_path / "ages.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE declared_ages (user_id TEXT, age REAL)")
        conn.execute("INSERT INTO declared_ages VALUES ('@kid:x', 11.5)")
    ages = make_age_source(parse(_base(tmp_path, ages={"sqlite": str(db)})).ages)
    assert ages.get("@kid:x") == (11.5, None, None)
    assert ages.get("@nobody:x") == (None, None, None)

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
    members = [f"@u{i}:x" for i in range(5)]
    for user in members:
        room.member(user, "join")
    translator.translate(room.member(members[-1], "join"), room.state)
    rows = translator.translate(room.message(members[0]), room.state)
    assert _kinds(rows) == [(members[0], u, "group", "message") for u in members[1:]]
    assert len({r["conversation_id"] for r in rows}) == 4
    # riskscore's one rule (riskscore.io.groups): each row carries the room's size at that
    # moment, so the scorer counts the message to a room of five as group contact, not
    # direct contact
    assert {r["room_size"] for r in rows} == {5}
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


def test_an_invite_into_a_room_of_three_is_not_contact_in_view_of_others(tmp_path: Path) -> None:
    # an adult brings two children into a private room, one after the other, and writes:
    # a room of three is a private circle (riskscore.io.groups), its invites as much as its
    # messages, though its channel is `group`
    ages = {"@adult:x": (34.0, 0), "@k1:x": (12.0, 0), "@k2:x": (12.0, 0)}
    translator = EventTranslator(RoomStore(tmp_path / "r.sqlite3"), AgeSource(ages.get))
    room = _Room("!r:x", "invite")
    translator.translate(room.member("@adult:x", "join"), room.state)
    rows: list[dict[str, object]] = []
    for kid in ("@k1:x", "@k2:x"):
        rows += translator.translate(room.member(kid, "invite", sender="@adult:x"), room.state)
        rows += translator.translate(room.member(kid, "join"), room.state)
    rows += translator.translate(room.message("@adult:x"), room.state)
    assert [(r["channel"], r["event"], r["room_size"]) for r in rows] == [
        ("direct", "contact_request", 2),
        ("direct", "contact_accept", 2),
        ("group", "contact_request", 3),  # the room the invite brings the child into
        ("group", "contact_accept", 3),
        ("group", "message", 3),
        ("group", "message", 3),
    ]
    for i, row in enumerate(rows):
        row["timestamp"] = int(row["timestamp"]) + i  # type: ignore[call-overload]
    features = rs.extract_features(rs.read_messages({k: [r[k] for r in rows] for k in rows[0]}))
    assert set(features.column("adult_supervised_minor_share").tolist()) == {0.0}


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
