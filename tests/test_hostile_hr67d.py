"""Hostile review hr67d: group chats as platforms export them, end to end and across
backends (batch, online, out of core, ``riskscore stream`` and ``score``, Spark).

Hand-written rooms (members joining and leaving, a room of two that grows past the
broadcast limit and back, one pair in several rooms and a direct chat, an adult in a
class room who then writes a child privately, room ids equal to account ids, rooms of
exactly ``max_room_members`` and one more) agree on every backend; what follows is
what did not.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from serve_helpers import config

import riskscore as rs
from riskscore.serve import create_app

T0 = 1_767_225_600  # 2026-01-01 00:00 UTC


def _event(conversation: str, t: int, sender: str, recipient: str) -> dict[str, Any]:
    ages = {"coach": 34, "k1": 12, "k2": 13}
    return {
        "conversation_id": conversation,
        "timestamp": t,
        "sender_id": sender,
        "recipient_id": recipient,
        "channel": "encrypted",
        "sender_age": ages[sender],
        "recipient_age": ages[recipient],
    }


#: A chat of two under the room's id ("r": what an alert raised then names), until a
#: third account writes in it and it becomes a group room of pair conversations.
GROWING_ROOM: list[dict[str, Any]] = [
    *(_event("r", T0 + 120 * i, "coach", "k1") for i in range(6)),
    _event("r", T0 + 720, "k2", "k1"),
]


@pytest.fixture(scope="module")
def scorer() -> rs.OnlineScorer:
    scorer = rs.OnlineScorer(rs.load_model())
    scorer.update_many(GROWING_ROOM)
    return scorer


def test_the_room_became_pairs(scorer: rs.OnlineScorer) -> None:
    assert set(scorer.conversation_ids) == {"r|coach|k1", "r|k1|k2"}


@pytest.mark.parametrize(
    "query",
    [
        lambda s, c: s.score_of(c),
        lambda s, c: s.features_of(c),
        lambda s, c: s.conversation_of(c),
        lambda s, c: s.alerted_tier_of(c),
        lambda s, c: s.channel_of(c),
    ],
)
def test_asking_for_a_group_room_by_its_id_says_it_is_a_room(
    scorer: rs.OnlineScorer, query: Any
) -> None:
    """Was: the online scorer answered a question about room ``r`` (the id its alerts
    carried while it held two accounts) with ``KeyError: conversation 'r' is unknown to
    this scorer (never seen, or expired after idle_expiry_s)``: untrue, the room is live
    and seen; its events now go to its pairs' conversations. The error says so."""
    with pytest.raises(KeyError) as caught:
        query(scorer, "r")
    text = caught.value.args[0]
    assert "never seen" not in text
    assert "'r' is a group room" in text
    assert "one conversation per pair of its accounts" in text
    assert "2 live" in text


def test_an_unknown_id_is_still_called_unknown(scorer: rs.OnlineScorer) -> None:
    with pytest.raises(KeyError, match="unknown to this scorer"):
        scorer.score_of("s")


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(config(tmp_path, rs.load_model()))) as c:
        yield c


def test_the_conversation_api_says_a_room_id_is_a_room(client: TestClient) -> None:
    """Was: ``GET /v1/conversations/r`` answered 404 ``conversation 'r' is not live in this
    scorer``, documented as "not seen by this scorer, or expired", for a room whose pairs
    are live (an alert of it may be in the queue). The 404 now says it is a group room."""
    r = client.post("/v1/events", json=GROWING_ROOM)
    assert r.status_code == 200, r.text
    assert client.get("/v1/conversations/r|coach|k1").status_code == 200
    r = client.get("/v1/conversations/r")
    assert r.status_code == 404
    detail = r.json()["detail"]
    assert "'r' is a group room" in detail
    assert "one conversation per pair of its accounts" in detail
    assert client.get("/v1/conversations/s").json()["detail"].endswith("is not live in this scorer")
