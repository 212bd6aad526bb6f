"""Hostile review 18 of the online scorer: group rooms dropped with their pairs (idle expiry,
the room cap), checkpoints of each state, and options and ids an attacker controls. All
data is synthetic."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import riskscore as rs

T0 = 1_700_000_000


@pytest.fixture(scope="module")
def model() -> rs.RiskModel:
    return rs.load_model()


def _event(cid: object, t: int, sender: object, recipient: object) -> dict[str, Any]:
    return {"conversation_id": cid, "timestamp": T0 + t, "sender_id": sender,
            "recipient_id": recipient, "channel": "public"}  # fmt: skip


# Room R (accounts a, b, c) active at t=100..101, then quiet; G, active at t=900, was touched
# before R's pairs, so it stands before them in expiry order; A, touched again at t=950,
# holds the expiry check's bound low; Z at t=1200 makes the horizon 200: R has expired.
_ROOM_EXPIRES = [
    _event("A", 0, "x", "y"),
    _event("G", 900, "p", "q"),
    _event("R", 100, "a", "b"),
    _event("R", 101, "c", "a"),
    _event("A", 950, "x", "y"),
    _event("Z", 1200, "m", "n"),
]
_ROOM_RETURNS = [_event("R", 1210, "a", "b"), _event("R", 1211, "c", "a")]


def _expiring(model: rs.RiskModel) -> rs.OnlineScorer:
    return rs.OnlineScorer(model, idle_expiry_s=1000, time_source="events")


def _rooms_pairs(scorer: rs.OnlineScorer) -> tuple[set[object], set[object]]:
    pairs = {cid for cid in scorer.conversation_ids if isinstance(cid, str) and "|" in cid}
    return set(scorer._rooms), pairs


def test_an_expired_room_takes_its_pairs_with_it(model: rs.RiskModel) -> None:
    """Its pairs are idle as long as it is: none lingers behind G for a room forgotten."""
    scorer = _expiring(model)
    scorer.update_many(_ROOM_EXPIRES)
    assert _rooms_pairs(scorer) == (set(), set())
    assert scorer.n_expired == 2
    assert set(scorer.conversation_ids) == {"G", "A", "Z"}


def test_a_room_that_comes_back_after_expiry_is_a_room_again(model: rs.RiskModel) -> None:
    """Was: its lingering pair 'R|a|b' made the third account's event a pair-id clash
    (SchemaError), for events batch reads as one room."""
    scorer = _expiring(model)
    scorer.update_many([*_ROOM_EXPIRES, *_ROOM_RETURNS])
    assert _rooms_pairs(scorer) == ({"R"}, {"R|a|b", "R|a|c"})
    assert scorer.conversation_of("R|a|b").n_events == 1  # afresh, as after expiry


def _check_rooms_hold_their_pairs(scorer: rs.OnlineScorer) -> None:
    rooms, pairs = _rooms_pairs(scorer)
    assert {pair.split("|")[0] for pair in pairs} <= rooms
    assert {p for ps in scorer._room_pairs.values() for p in ps} == pairs
    assert set(scorer._room_pairs) <= rooms


_TWO_ROOMS = [
    _event("R", 0, "a", "b"), _event("R", 1, "c", "a"), _event("R", 2, "a", "b"),
    _event("S", 3, "d", "e"), _event("S", 4, "f", "d"), _event("T", 5, "g", "h"),
    _event("T", 6, "i", "g"), _event("R", 7, "b", "a"), _event("U", 8, "j", "k"),
]  # fmt: skip


@pytest.mark.parametrize("cap", [1, 2, 3, 4])
def test_the_caps_and_checkpoints_keep_every_pair_with_its_room(
    model: rs.RiskModel, tmp_path: Path, cap: int
) -> None:
    """After every event, under the live-conversation cap (which also caps rooms), each
    pair's room is held; a checkpoint of each state restores the same rooms and pairs, and
    the next events give the same conversations and alerts."""
    scorer = rs.OnlineScorer(model, max_conversations=cap, time_source="events")
    for k, event in enumerate(_TWO_ROOMS):
        scorer.update_one(event)
        _check_rooms_hold_their_pairs(scorer)
        scorer.checkpoint(tmp_path / f"{k}.sqlite")
        restored = rs.OnlineScorer.restore(tmp_path / f"{k}.sqlite", model)
        _check_rooms_hold_their_pairs(restored)
        assert restored.conversation_ids == scorer.conversation_ids
        assert list(restored._rooms.items()) == list(scorer._rooms.items())
        rest = _TWO_ROOMS[k + 1 :]
        again = rs.OnlineScorer.restore(tmp_path / f"{k}.sqlite", model)
        base = rs.OnlineScorer.restore(tmp_path / f"{k}.sqlite", model)
        assert again.update_many(rest) == base.update_many(rest)
        assert again.conversation_ids == base.conversation_ids


def test_a_checkpoint_with_a_pair_left_behind_is_refused(
    model: rs.RiskModel, tmp_path: Path
) -> None:
    """A pair whose room the file does not hold: a scorer forgets a room with its pairs, so
    the file was changed after it was written (was: the pair was expired while restoring,
    as for files of riskscore before this fix, which later schema versions no longer read:
    an emptied ``rooms`` entry dropped the room's pairs without a word)."""
    scorer = _expiring(model)
    scorer.update_many(_ROOM_EXPIRES[:4])
    scorer._rooms.clear()  # as the old expiry left it: the room gone, its pairs held
    scorer._room_pairs.clear()
    scorer.checkpoint(tmp_path / "old.sqlite")
    with pytest.raises(rs.CheckpointError, match="pair of group room 'R', which meta 'rooms'"):
        rs.OnlineScorer.restore(tmp_path / "old.sqlite", model)


# ------------------------------------------- ids beyond int64: one rule, batch and online

_BIG = 2**64


@pytest.mark.parametrize("text_column", ["recipient_id", "sender_id"])
def test_text_ids_beside_an_integer_column_beyond_int64_are_refused_in_both_paths(
    model: rs.RiskModel, tmp_path: Path, text_column: str
) -> None:
    """Was: batch read the integer column as decimal text, so account 6 (an integer, held
    as "6" beside 2**64) and account "6" (text, in the other column) became one account;
    online took the first event and refused the second. Both now refuse integer ids beside
    text ids, wherever the integers are beyond int64."""
    other = "sender_id" if text_column == "recipient_id" else "recipient_id"
    rows = [
        {**_event(1, 0, 0, 0), other: _BIG, text_column: "6"},
        {**_event(2, 1, 0, 0), other: 6, text_column: "y"},
    ]
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    with pytest.raises(rs.SchemaError, match=r"is (text|an integer) while sender_id holds"):
        rs.read_messages(path)
    kept = rs.read_messages(path, errors="quarantine")
    assert len(kept) == 0
    scorer = rs.OnlineScorer(model, time_source="events")
    for row in rows:
        with pytest.raises(rs.SchemaError, match=r"while sender_id holds"):
            scorer.update_one(row)
    assert scorer.n_accounts == 0


# ------------------------------------------------ options an attacker or a typo sets


def test_an_endless_cooldown_is_checkpointed_and_restored(
    model: rs.RiskModel, tmp_path: Path
) -> None:
    """Was: cooldown_s=inf was accepted, then every checkpoint failed ('Out of range float
    values are not JSON compliant'), after the stream had run, leaving an empty file that
    the restart refused as not a checkpoint."""
    scorer = rs.OnlineScorer(model, cooldown_s=float("inf"), time_source="events")
    scorer.update_many(_ROOM_EXPIRES)
    scorer.checkpoint(tmp_path / "state.sqlite")
    restored = rs.OnlineScorer.restore(tmp_path / "state.sqlite", model)
    assert restored.cooldown_s == float("inf")
    assert restored.conversation_ids == scorer.conversation_ids


def test_a_checkpoint_that_cannot_be_written_leaves_no_file(
    model: rs.RiskModel, tmp_path: Path
) -> None:
    scorer = rs.OnlineScorer(model, time_source="events")
    scorer.update_many(_ROOM_EXPIRES)
    with pytest.raises(ValueError, match="JSON"):
        scorer.checkpoint(tmp_path / "state.sqlite", extra={"x": float("nan")})
    assert list(tmp_path.iterdir()) == []
