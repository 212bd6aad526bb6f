"""Vignettes: hand-written conversations, their builder, their docs and the model's outcome on them.

The outcome test is a public test of the detection model: each vignette is a textbook
grooming pattern or a textbook benign look-alike with the outcome a moderator expects, written
from domain knowledge and not fitted to the model. A failure names the vignette, its risk and
tier: it says where the model disagrees with a moderator. Never weaken a vignette to pass.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import riskscore as rs
from riskscore.io.groups import DEFAULT_MAX_ROOM_MEMBERS as MAX_ROOM_MEMBERS
from riskscore.io.groups import pair_conversation_id
from riskscore.vignettes import (
    Vignette,
    VignetteFileError,
    load_vignettes,
    read_vignette,
    vignettes_markdown,
)
from riskscore.vignettes.known_misses import KNOWN_MISSES
from riskscore.vignettes.loader import data_directory
from riskscore.vignettes.specs import RoomSpec

ROOT = Path(__file__).resolve().parents[1]
VIGNETTES = load_vignettes()
IDS = [v.id for v in VIGNETTES]
REGENERATE = (
    '.venv/bin/python -c "import riskscore.vignettes as v; '
    "open('docs/vignettes.md', 'w').write(v.vignettes_markdown())\""
)


def _digest(events: dict[str, Any]) -> str:
    """sha256 over every column's values and dtype (object columns by their text)."""
    h = hashlib.sha256()
    for name in sorted(events):
        values = events[name]
        h.update(f"{name}:{values.dtype}:".encode())
        if values.dtype == object:
            h.update("\x00".join(str(x) for x in values).encode())
        else:
            h.update(values.tobytes())
    return h.hexdigest()


# ---------------------------------------------------------------- the set


def test_the_set_covers_both_kinds_and_realistic_shapes() -> None:
    assert len(VIGNETTES) >= 24
    assert len(set(IDS)) == len(IDS)
    assert sorted(IDS) == IDS
    kinds = [v.kind for v in VIGNETTES]
    assert kinds.count("grooming") >= 10
    assert kinds.count("benign") >= 10
    channels: set[str] = set()
    event_kinds: set[str] = set()
    zones: set[int] = set()
    spans = []
    for v in VIGNETTES:
        events = v.events()
        channels |= set(events["channel"])
        event_kinds |= set(events["event"])
        zones |= set(events["recipient_tz_offset_min"].tolist())
        spans.append(int(events["timestamp"].max() - events["timestamp"].min()))
    assert channels == {c.name.lower() for c in rs.Channel}
    assert event_kinds == {e.name.lower() for e in rs.EventType}
    assert len(zones) >= 3
    assert min(spans) <= 2 * 3600
    assert max(spans) >= 60 * 86_400


@pytest.mark.parametrize("vignette", VIGNETTES, ids=IDS)
def test_vignette_builds_valid_events(vignette: Vignette) -> None:
    events = vignette.events()
    messages = rs.read_messages(events, errors="quarantine")
    assert len(messages.quarantined) == 0
    # a room above max_room_members is a broadcast: its rows are set aside, never scored
    assert len(messages) + messages.groups.n_broadcast == len(events["timestamp"])
    assert set(events["conversation_id"]) == set(vignette.conversation_ids)
    assert vignette.focus
    scored = set(messages.conversations.tolist())
    # each pair of a group room is scored as its own conversation, under the id the
    # vignette names (room|account|account), unless the room is a broadcast surface
    in_rooms = np.isin(events["conversation_id"], [r.id for r in _rooms(vignette)])
    reached = {
        pair_conversation_id(room, a, b)
        for room, a, b in zip(
            events["conversation_id"][in_rooms],
            events["sender_id"][in_rooms],
            events["recipient_id"][in_rooms],
            strict=True,
        )
    }
    # every pair an event of the room reached, and none other (two members who never
    # wrote share no event), unless the room is a broadcast surface
    assert set(vignette.room_pairs) & scored == reached - _broadcast_pairs(vignette)
    assert reached <= set(vignette.room_pairs)
    assert set(vignette.focus) - scored <= set(vignette.room_pairs)
    assert vignette.expected in (
        ("alert", "urgent") if vignette.kind == "grooming" else ("no_alert",)
    )
    for conv in vignette.conversations:
        mine = events["conversation_id"] == conv.id
        assert np.all(np.diff(events["timestamp"][mine]) >= 0)
        if isinstance(conv, RoomSpec):
            assert np.all(events["room_size"][mine] == len(conv.members))
            continue
        # the first account in `between` opens the conversation
        assert events["sender_id"][mine][0] == conv.accounts[0].id
    assert read_vignette(data_directory() / vignette.source) == vignette


@pytest.mark.parametrize("vignette", VIGNETTES, ids=IDS)
def test_builder_is_deterministic(vignette: Vignette) -> None:
    again = read_vignette(data_directory() / vignette.source)
    assert _digest(vignette.events()) == _digest(again.events()) == _digest(vignette.events())


def test_docs_match_the_vignette_files() -> None:
    text = (ROOT / "docs" / "vignettes.md").read_text(encoding="utf-8")
    assert text == vignettes_markdown(), f"docs/vignettes.md is out of date: {REGENERATE}"


def _rooms(vignette: Vignette) -> list[RoomSpec]:
    return [c for c in vignette.conversations if isinstance(c, RoomSpec)]


def _broadcast_pairs(vignette: Vignette) -> set[str]:
    """The pairs of its rooms of more than max_room_members accounts."""
    return {
        pair_conversation_id(r.id, a.id, b.id)
        for r in _rooms(vignette)
        if len(r.members) > MAX_ROOM_MEMBERS
        for a, b in itertools.combinations(r.members, 2)
    }


# ---------------------------------------------------------------- the model's outcome


@pytest.fixture(scope="module")
def model() -> rs.RiskModel:
    return rs.load_model()


def _outcome_param(vignette: Vignette) -> Any:
    miss = KNOWN_MISSES.get(vignette.id)
    marks = [pytest.mark.xfail(strict=True, reason=f"known miss: {miss}")] if miss else []
    return pytest.param(vignette, id=vignette.id, marks=marks)


@pytest.mark.parametrize("vignette", [_outcome_param(v) for v in VIGNETTES])
def test_moderator_outcome(vignette: Vignette, model: rs.RiskModel) -> None:
    # one vignette's conversations together: per-account features span an adult's conversations
    events = vignette.events()
    if len(rs.read_messages(events)) == 0:
        # every row a broadcast, set aside (docs/schema.md): nothing is scored, and scoring
        # refuses the events as holding no conversation
        with pytest.raises(rs.SchemaError, match="all broadcasts"):
            model.score(events)
        assert vignette.expected == "no_alert"
        return
    scores = model.score(events)
    alerts = {a.conversation_id: a for a in rs.AlertPolicy.default().alerts(scores)}
    row = {c: i for i, c in enumerate(scores.conversation_id.tolist())}
    wrong = []
    for conversation_id in vignette.focus:
        alert = alerts.get(conversation_id)
        ok = {
            "alert": alert is not None,
            "urgent": alert is not None and alert.tier is rs.Tier.URGENT,
            "no_alert": alert is None,
        }[vignette.expected]
        if not ok:
            i = row[conversation_id]
            reasons = ", ".join(str(r) for r in scores.reasons(i))
            tier = "no alert" if alert is None else alert.tier.name.lower()
            wrong.append(
                f"{conversation_id}: expected {vignette.expected}, got {tier} "
                f"(risk {scores.risk[i]:.3f}, child age {scores.child_age[i]:g}; {reasons})"
            )
    assert not wrong, (
        f"{vignette.kind} vignette {vignette.id!r} ({vignette.title}); a moderator says: "
        f"{vignette.moderator_reason}\n" + "\n".join(wrong)
    )


# ---------------------------------------------------------------- the format


GOOD = """
title = "A test vignette"
kind = "grooming"
expected = "alert"
summary = "Something happens."
reason = "A moderator's reason."
seed = 5

[accounts]
adult = { age = 40, tz = 60 }
kids = { ages = [12, 13], tz = [60, -300] }

[[conversations]]
name = "night"
between = ["adult", "kids"]
clock = "kids"
start = 2025-01-01
focus = true

[[conversations.phases]]
days = 3
hours = [22, 2]
channel = "direct"
events = 40
shares = { adult = 0.75, kids = 0.25 }
media = { adult = 0.1 }
opening = [
    { by = "adult", event = "contact_request" },
    { by = "kids", event = "contact_accept", after_min = 30 },
]
closing = [{ by = "kids", event = "block", after_min = 2 }]

[[conversations.phases]]
repeat = 3
every = 7
hours = [9, 10]
channel = "external"
events = 4
shares = { adult = 0.5, kids = 0.5 }
"""


def _write(tmp_path: Path, text: str, name: str = "t01-test.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_phases_expand_as_documented(tmp_path: Path) -> None:
    vignette = read_vignette(_write(tmp_path, GOOD))
    assert vignette.id == "t01-test"
    assert vignette.focus == ("t01-test/night-1", "t01-test/night-2")
    assert [a.id for a in vignette.accounts] == [
        "t01-test/adult",
        "t01-test/kids-1",
        "t01-test/kids-2",
    ]
    events = vignette.events()
    for k, (age, tz) in enumerate([(12.0, 60), (13.0, -300)], start=1):
        mine = events["conversation_id"] == f"t01-test/night-{k}"
        e = {name: col[mine] for name, col in events.items()}
        kid, adult = f"t01-test/kids-{k}", "t01-test/adult"
        assert len(e["timestamp"]) == 2 + 40 + 1 + 3 * 4
        # ages and offsets: each event carries its accounts' ages and its recipient's offset
        to_kid = e["recipient_id"] == kid
        assert np.all(e["recipient_tz_offset_min"][to_kid] == tz)
        assert np.all(e["recipient_tz_offset_min"][~to_kid] == 60)
        assert np.all(e["recipient_age"][to_kid] == age)
        assert np.all(e["sender_age"][to_kid] == 40)
        # local time of the kid (the clock): day 0 is 2025-01-01
        local = [
            dt.datetime.fromtimestamp(int(t), dt.UTC) + dt.timedelta(minutes=tz)
            for t in e["timestamp"]
        ]
        assert e["event"][0] == "contact_request"
        assert e["sender_id"][0] == adult
        assert local[0] == dt.datetime(2025, 1, 1, 22, 1, tzinfo=dt.UTC)
        assert e["event"][1] == "contact_accept"
        assert local[1] - local[0] == dt.timedelta(minutes=30)
        direct = (e["channel"] == "direct") & np.isin(e["event"], ["message", "media"])
        assert np.sum(direct & (e["sender_id"] == adult)) == 30
        assert np.sum(direct & (e["sender_id"] == kid)) == 10
        assert np.sum(direct & (e["event"] == "media")) == 3
        assert np.all(e["sender_id"][direct & (e["event"] == "media")] == adult)
        night = [local[i] for i in np.flatnonzero(direct)]
        assert all(t.hour >= 22 or t.hour < 2 for t in night)
        assert min(night) > local[1]
        assert max(night) < dt.datetime(2025, 1, 4, 2, tzinfo=dt.UTC)
        block = np.flatnonzero(e["event"] == "block")
        assert len(block) == 1
        assert e["sender_id"][block[0]] == kid
        assert local[block[0]] - max(night) < dt.timedelta(minutes=3)
        external = [local[i] for i in np.flatnonzero(e["channel"] == "external")]
        assert len(external) == 12
        assert sorted({t.day for t in external}) == [4, 11, 18]
        assert all(t.hour == 9 for t in external)


def test_the_first_account_opens_the_conversation(tmp_path: Path) -> None:
    # no opening events: the adult's earliest event is swapped to the front if needed
    text = GOOD.replace(_OPENING + "\n", "")
    assert text != GOOD
    for seed in range(8):
        vignette = read_vignette(_write(tmp_path, text.replace("seed = 5", f"seed = {seed}")))
        events = vignette.events()
        for conv in vignette.conversations:
            mine = events["conversation_id"] == conv.id
            assert events["sender_id"][mine][0] == "t01-test/adult"
            assert np.sum(events["sender_id"][mine] == "t01-test/adult") == 30 + 6


_OPENING = """opening = [
    { by = "adult", event = "contact_request" },
    { by = "kids", event = "contact_accept", after_min = 30 },
]"""


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ('title = "A test vignette"\n', "", "title"),
        ('kind = "grooming"', 'kind = "scary"', "kind"),
        ('expected = "alert"', 'expected = "no_alert"', "expected"),
        ("seed = 5", "seed = -1", "seed"),
        ("adult = { age = 40, tz = 60 }", "adult = { age = 200, tz = 60 }", "accounts.adult.age"),
        ("adult = { age = 40, tz = 60 }", "adult = { age = 40, tz = 900 }", "accounts.adult.tz"),
        ("adult = { age = 40, tz = 60 }", "adult = { age = 40 }", "accounts.adult.tz"),
        ("tz = [60, -300]", "tz = [60]", "accounts.kids.tz"),
        (
            'between = ["adult", "kids"]',
            'between = ["adult", "kid"]',
            "conversations[0].between[1]",
        ),
        ('between = ["adult", "kids"]', 'between = ["adult"]', "conversations[0].between"),
        ('clock = "kids"', 'clock = "nobody"', "conversations[0].clock"),
        ("start = 2025-01-01", 'start = "2025-01-01"', "conversations[0].start"),
        ("focus = true", "focus = false", "conversations"),
        ("hours = [22, 2]", "hours = [22, 25]", "conversations[0].phases[0].hours[1]"),
        ("hours = [22, 2]", "hours = [22, 22]", "conversations[0].phases[0].hours"),
        ('channel = "direct"', 'channel = "dm"', "conversations[0].phases[0].channel"),
        ("events = 40", "events = 4.5", "conversations[0].phases[0].events"),
        ("kids = 0.25 }", "kids = 0.15 }", "conversations[0].phases[0].shares"),
        # an empty table of shares with events to send: refused, not an IndexError
        (
            "shares = { adult = 0.75, kids = 0.25 }",
            "shares = {}",
            "conversations[0].phases[0].shares",
        ),
        (
            "media = { adult = 0.1 }",
            "media = { adult = 1.5 }",
            "conversations[0].phases[0].media.adult",
        ),
        (
            '{ by = "adult", event = "contact_request" }',
            '{ by = "x", event = "contact_request" }',
            "conversations[0].phases[0].opening[0].by",
        ),
        (
            '{ by = "adult", event = "contact_request" }',
            '{ by = "adult", event = "like" }',
            "conversations[0].phases[0].opening[0].event",
        ),
        ("repeat = 3\nevery = 7\n", "repeat = 3\n", "conversations[0].phases[1].every"),
        (_OPENING, _OPENING.replace('by = "adult"', 'by = "kids"'), "conversations[0].between"),
        ("after_min = 30", "after_min = 400", "conversations[0].phases[0].opening"),
    ],
)
def test_malformed_files_name_the_file_and_key(
    tmp_path: Path, old: str, new: str, key: str
) -> None:
    assert old in GOOD
    path = _write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(VignetteFileError) as info:
        read_vignette(path).events()
    assert isinstance(info.value, ValueError)
    assert info.value.key == key
    assert str(info.value).startswith(f"t01-test.toml: key {key!r}:")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'summary = "Something happens."',
            'summary = "Something happens."\nsumary = "x"',
            "t01-test.toml: unknown key(s) 'sumary'; expected some of accounts, conversations, ",
        ),
        (
            'channel = "direct"',
            'chanel = "direct"',
            "t01-test.toml: key 'conversations[0].phases[0]': unknown key(s) 'chanel'; "
            "expected some of channel, closing, day, ",
        ),
    ],
)
def test_unknown_keys_are_worded_as_every_reader_words_them(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    """At the table that holds them, by the one rule (riskscore._checks.unknown_keys_problem)."""
    path = _write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(VignetteFileError) as info:
        read_vignette(path).events()
    assert str(info.value).startswith(message)


def test_unreadable_files_are_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(VignetteFileError, match=r"^t01-test\.toml: not valid TOML"):
        read_vignette(_write(tmp_path, 'title = "unterminated'))
    (tmp_path / "bad").mkdir()
    with pytest.raises(VignetteFileError, match="lower-case letters"):
        read_vignette(_write(tmp_path / "bad", GOOD, name="Bad Name.toml"))
    (tmp_path / "set").mkdir()
    _write(tmp_path / "set", GOOD)
    _write(tmp_path / "set", GOOD.replace("seed = 5", "seed = 6"), name="t00-first.toml")
    _write(tmp_path / "set", "not a vignette", name="notes.txt")
    assert [v.id for v in load_vignettes(tmp_path / "set")] == ["t00-first", "t01-test"]
