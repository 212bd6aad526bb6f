"""Hostile review 13: ids that could merge two conversations online (the pair ids of group
rooms), across ``update_one``, ``riskscore stream`` and checkpoint restore."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import riskscore as rs
import riskscore.online.checkpoint as checkpoint_file
from riskscore.cli.stream import stream_lines

T0 = 1_700_000_000


@pytest.fixture(scope="module")
def model() -> rs.RiskModel:
    return rs.load_model()


def _event(cid: object, sender: object, recipient: object, t: int) -> dict[str, Any]:
    return {
        "conversation_id": cid,
        "timestamp": T0 + t,
        "sender_id": sender,
        "recipient_id": recipient,
        "channel": "direct",
        "sender_age": 31,
        "recipient_age": 13,
    }


#: A conversation whose id is ``1|a|b``, then room 1 (three accounts, c, d and e).
_DIRECT_THEN_ROOM = [
    _event("1|a|b", "a", "b", 0),
    _event(1, "c", "d", 1),
    _event(1, "c", "e", 2),
]
#: Accounts a and b in room 1: their pair id is ``1|a|b``, the id of the first conversation.
_PAIR_OF_THE_ROOM = _event(1, "a", "b", 3)


def _checkpointed(model: rs.RiskModel, events: list[dict[str, Any]], path: Path) -> Any:
    """A scorer that has seen ``events``, checkpointed to ``path``, and the file's meta
    (without checksums), conversation rows and account rows."""
    scorer = rs.OnlineScorer(model)
    scorer.update_many(events)
    scorer.checkpoint(path)
    with checkpoint_file.read(path) as snap:
        meta = {k: v for k, v in snap.meta.items() if k != "checksums"}
        return scorer, meta, list(snap.conversations()), list(snap.accounts())


def _columns(events: list[dict[str, Any]]) -> dict[str, list[Any]]:
    return {key: [e[key] for e in events] for key in events[0]}


def test_a_room_pair_whose_id_is_a_direct_conversation_is_refused_online_as_in_batch(
    model: rs.RiskModel,
) -> None:
    batch = [*_DIRECT_THEN_ROOM, _PAIR_OF_THE_ROOM]
    as_text = _columns(batch) | {"conversation_id": [str(e["conversation_id"]) for e in batch]}
    with pytest.raises(rs.SchemaError, match=r"'1\|a\|b' is the id of a conversation"):
        rs.read_messages(as_text)
    scorer = rs.OnlineScorer(model)
    scorer.update_many(_DIRECT_THEN_ROOM)
    before = scorer.n_events, scorer.score_of("1|a|b")
    with pytest.raises(rs.SchemaError, match=r"'1\|a\|b' is the id of a conversation") as err:
        scorer.update_one(_PAIR_OF_THE_ROOM)
    assert err.value.column == "conversation_id"
    assert (scorer.n_events, scorer.score_of("1|a|b")) == before  # nothing merged


def test_rooms_1_and_text_1_never_share_a_pair(model: rs.RiskModel) -> None:
    """Conversation ids 1 and "1" are two conversations online (a file mixing them is
    refused); as group rooms both derive ``1|a|b`` for accounts a and b."""
    scorer = rs.OnlineScorer(model)
    scorer.update_many(
        [
            _event(1, "a", "b", 0),
            _event(1, "a", "c", 1),  # room 1: pairs 1|a|b and 1|a|c
            _event("1", "x", "y", 2),
            _event("1", "x", "z", 3),  # room "1": pairs 1|x|y and 1|x|z
        ]
    )
    before = scorer.n_events
    with pytest.raises(rs.SchemaError, match="conversation_id"):
        scorer.update_one(_event("1", "a", "b", 4))
    assert scorer.n_events == before
    assert scorer.update_one(_event(1, "a", "b", 5)) is None  # room 1's own pair goes on


def test_stream_refuses_the_room_pair_by_line(model: rs.RiskModel) -> None:
    lines = [json.dumps(e) for e in [*_DIRECT_THEN_ROOM, _PAIR_OF_THE_ROOM]]
    err = io.StringIO()
    stream_lines(rs.OnlineScorer(model), lines, io.StringIO(), err)
    assert "is the id of a conversation" in err.getvalue()
    assert "line 4" in err.getvalue()


def test_a_restored_scorer_knows_which_conversations_are_pairs_of_a_room(
    model: rs.RiskModel, tmp_path: Path
) -> None:
    path = tmp_path / "state.sqlite"
    scorer = _checkpointed(model, _DIRECT_THEN_ROOM, path)[0]
    restored = rs.OnlineScorer.restore(path, model)
    with pytest.raises(rs.SchemaError, match="is the id of a conversation"):
        restored.update_one(_PAIR_OF_THE_ROOM)
    for held in (scorer, restored):  # the room's own pairs go on after a restore
        held.update_one(_event(1, "d", "c", 4))
        held.update_one(_event(1, "c", "e", 5))
    assert restored.score_of("1|c|d") == scorer.score_of("1|c|d")
    assert restored.score_of("1|c|e") == scorer.score_of("1|c|e")


def test_a_crafted_room_of_a_checkpoint_conversation_is_refused(
    model: rs.RiskModel, tmp_path: Path
) -> None:
    path = tmp_path / "state.sqlite"
    _, meta, rows, held = _checkpointed(model, _DIRECT_THEN_ROOM, path)
    for room in ("2", [1], "x" * 10_000):
        changed = [(c, i, r, [*s[:6], room] if c == "1|c|d" else s) for c, i, r, s in rows]
        path.unlink()
        checkpoint_file.write(path, meta, changed, held)
        with pytest.raises(rs.CheckpointError, match=r"1\|c\|d"):
            rs.OnlineScorer.restore(path, model)


@pytest.mark.parametrize("cid", ["--1|a|b", "\u00b2|a|b", "01|a|b", "\u0661|a|b", "+1|a|b"])
def test_an_id_like_a_pair_id_of_no_held_room_is_a_conversation(
    model: rs.RiskModel, cid: str
) -> None:
    """Room 1's pair ids begin ``1|``; an id whose room part is other text (a digit of
    another script, a sign, a leading zero) derives from no room: kept, as batch keeps it,
    never a ValueError of ``int()``."""
    room = [_event(1, "c", "d", 0), _event(1, "c", "e", 1)]
    direct = _event(cid, "a", "b", 2)
    as_text = _columns([*room, direct])
    as_text["conversation_id"] = ["1", "1", cid]
    assert cid in rs.read_messages(as_text).conversation_id.tolist()
    scorer = rs.OnlineScorer(model)
    scorer.update_many(room)
    scorer.update_one(direct)
    assert cid in scorer.conversation_ids


def test_an_account_beside_ids_beyond_int64_is_one_account_online_as_in_batch(
    model: rs.RiskModel, tmp_path: Path
) -> None:
    """An adult (6) writing to children with ids 5 and 2**64 - 1 (a uint64 platform): batch
    reads the file's integer ids as decimal text, every row alike; online each event is
    read alone, so the event with the large id held 6 as "6", another account than 6."""
    big = 2**64 - 1
    events = [
        {**_event(2, 6, 5, 0), "sender_age": 35, "recipient_age": 12},
        {**_event(3, 6, big, 60), "sender_age": 35, "recipient_age": 12},
        {**_event(3, big, 6, 120), "sender_age": 12, "recipient_age": 35},
    ]
    scorer = rs.OnlineScorer(model)
    scorer.update_many(events)
    assert scorer.n_accounts == 3
    batch = rs.extract_features(_columns(events))
    for pos, cid in enumerate(batch.conversation_id.tolist()):
        np.testing.assert_allclose(scorer.features_of(cid), batch.values[pos], equal_nan=True)
    assert scorer.conversation_of(3).adult_id == 6  # an integer, as given
    assert scorer.conversation_of(3).child_id == big  # an integer too, whatever its size
    scorer.checkpoint(tmp_path / "state.sqlite")
    restored = rs.OnlineScorer.restore(tmp_path / "state.sqlite", model)
    for cid in (2, 3):
        np.testing.assert_array_equal(restored.features_of(cid), scorer.features_of(cid))


# ------------------------------------------------- TOML files: one reader, errors by file

_DEEP = "x = " + "[" * 3_000 + "]" * 3_000 + "\n"


def test_a_vignette_nested_too_deeply_is_a_vignette_file_error(tmp_path: Path) -> None:
    from riskscore.vignettes import VignetteFileError, load_vignettes, read_vignette

    (tmp_path / "t01-deep.toml").write_text(_DEEP)
    with pytest.raises(VignetteFileError, match=r"^t01-deep\.toml: .*nested too deeply"):
        read_vignette(tmp_path / "t01-deep.toml")
    with pytest.raises(VignetteFileError, match=r"^t01-deep\.toml: "):
        load_vignettes(tmp_path)
    (tmp_path / "t01-deep.toml").unlink()
    (tmp_path / "t02-folder.toml").mkdir()
    with pytest.raises(VignetteFileError, match=r"^t02-folder\.toml: not a regular file"):
        load_vignettes(tmp_path)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"x = [1,\n", "not valid TOML"),
        (_DEEP.encode(), "nested too deeply"),
        (b"x = '\xff'\n", r"not UTF-8 text \(byte 0xff"),
        (b"x = 1\n" * 200_000, "the file is larger than"),
    ],
)
def test_a_world_file_that_is_not_toml_is_refused_naming_the_file(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    from riskscore.synthetic import World

    path = tmp_path / "mine.toml"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=rf"mine\.toml: .*{reason}"):
        World.from_toml(path)
