"""The online scorer finds a pair's other conversations through an index of pairs
(:class:`riskscore.online.pairs.PairConversations`) when the facts of the
pair move (where the two met, when they went private).

Was: every such event walked every live conversation of both accounts as adult, so an
account in touch with many others (a spam or campaign account first seen in public, then
in direct messages with each) paid the number of its conversations once per pair: quadratic
in time. The index is kept through new conversations, group rooms, expiry, the
conversation cap and checkpoints; after every event it equals the one made from the live
conversations, and (without idle expiry, which may forget an account before its
conversations: ``OnlineScorer.refresh``) every live conversation's risk equals its score
from scratch.
"""

from __future__ import annotations

import contextlib
import math
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import riskscore as rs
from riskscore.online.pairs import pair_key

T0 = 1_700_000_000
CHANNELS = ["public", "group", "direct", "ephemeral", "encrypted", "external"]


class CountingConversations(OrderedDict[object, Any]):
    """The scorer's live conversations, counting lookups by ``[]``."""

    lookups = 0

    def __getitem__(self, key: object) -> Any:
        CountingConversations.lookups += 1
        return super().__getitem__(key)


def event(cid: object, k: int, sender: str, recipient: str, channel: str, **extra: Any) -> dict:
    return {
        "conversation_id": cid,
        "timestamp": T0 + 60 * k,
        "sender_id": sender,
        "recipient_id": recipient,
        "channel": channel,
        **extra,
    }


def test_a_pair_going_private_does_not_walk_the_adults_other_conversations() -> None:
    """Was: 300 lookups (one per conversation of the adult) for one pair's move."""
    scorer = rs.OnlineScorer(rs.load_model(), time_source="events")
    n = 300
    for i in range(n):
        scorer.update_one(
            event(f"c{i}", i, "adult", f"child{i}", "public", sender_age=35, recipient_age=12)
        )
    scorer._conversations = CountingConversations(scorer._conversations)
    CountingConversations.lookups = 0
    before = scorer.n_rescored
    scorer.update_one(event("c0", n, "adult", "child0", "direct", sender_age=35, recipient_age=12))
    assert CountingConversations.lookups <= 2
    assert scorer.n_rescored == before  # the pair has no other conversation


def expected_index(scorer: rs.OnlineScorer) -> dict[tuple[object, object], list[object]]:
    index: dict[tuple[object, object], list[object]] = {}
    for cid, conv in scorer._conversations.items():
        index.setdefault(pair_key(conv.initiator, conv.responder), []).append(cid)
    return index


def check(scorer: rs.OnlineScorer, risks: bool) -> None:
    held = {key: sorted(map(repr, cids)) for key, cids in scorer._pair_convs.pairs().items()}
    assert held == {k: sorted(map(repr, v)) for k, v in expected_index(scorer).items()}
    for cid, conv in scorer._conversations.items() if risks else ():
        assert scorer.score_of(cid) == scorer._linear.risk(scorer._features(conv)), cid


def stream(seed: int, n: int) -> list[dict[str, Any]]:
    """Few accounts, several conversation ids per pair (one id given as an int), group rooms
    (a third account), every channel: pairs with several live conversations whose facts move
    (late events up to the reorder tolerance make where a pair met move too)."""
    rng = np.random.default_rng(seed)
    accounts = [f"u{i}" for i in range(6)]
    ages: dict[str, Any] = {a: float(rng.integers(9, 45)) for a in accounts}
    ages["u5"] = None
    cids: list[object] = ["c0", "c1", "c2", 3, "room"]
    out = []
    for k in range(n):
        cid = cids[int(rng.integers(len(cids)))]
        a, b = rng.choice(len(accounts), size=2, replace=False)
        sender, recipient = accounts[int(a)], accounts[int(b)]
        late = int(rng.integers(0, 5)) if rng.random() < 0.1 else 0
        e = event(cid, 10 * k - late, sender, recipient, CHANNELS[int(rng.integers(6))])
        e["sender_age"], e["recipient_age"] = ages[sender], ages[recipient]
        out.append(e)
    return out


@pytest.mark.parametrize("seed", range(6))
def test_the_index_and_every_risk_stay_right_through_rooms_expiry_cap_and_restart(
    seed: int, tmp_path: Path
) -> None:
    model = rs.load_model()
    options = {
        "idle_expiry_s": 3_000.0 if seed % 2 else math.inf,
        "max_conversations": 4 if seed % 3 == 0 else 1_000,
        "time_source": "events",
    }
    expiry = bool(seed % 2)
    scorer = rs.OnlineScorer(model, **options)
    events = stream(seed, 400)
    for k, e in enumerate(events):
        # refused (pair ids of two rooms, too late): state unchanged
        with contextlib.suppress(rs.SchemaError):
            scorer.update_one_all(e)
        check(scorer, risks=not expiry)
        if k == 200:
            path = tmp_path / "scorer.db"
            scorer.checkpoint(path)
            scorer.release_checkpoints()
            scorer = rs.OnlineScorer.restore(path, model)
            check(scorer, risks=not expiry)
    assert scorer.n_rescored > 0
