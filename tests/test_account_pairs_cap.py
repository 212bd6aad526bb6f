"""A pair past ``max_account_contacts`` is one pair across its live conversations.

The pairs an account holds (``met``) count those it only received from, so it may hold
``max_account_contacts`` pairs with few contacts of its own and ``n_contacts_capped`` at 0.
A new pair's facts then stayed in the conversation that started it, and the pair's next
conversation started the pair again: ``pair_met_channel`` read the channel of that second
conversation, not where the two first met, unlike batch. Now a new conversation shares the
facts another live conversation of its pair keeps, through checkpoints too. Synthetic data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import riskscore as rs

T0 = 1_714_521_600


def _event(cid: str, t: int, sender: str, recipient: str, channel: str) -> dict[str, object]:
    ages = (13, 35) if recipient == "a" else (35, 13)
    return {"conversation_id": cid, "timestamp": T0 + t, "sender_id": sender,
            "recipient_id": recipient, "channel": channel, "sender_age": ages[0],
            "recipient_age": ages[1]}  # fmt: skip


#: "a" (the lower id of each pair) hears from k1 and k2: it holds two pairs, one contact
#: of its own; then it meets z in public (c3) and goes direct in another conversation (c4).
EVENTS = [
    _event("c1", 0, "k1", "a", "public"),
    _event("c2", 1, "k2", "a", "public"),
    _event("c3", 2, "a", "z", "public"),
    _event("c4", 3_600, "a", "z", "direct"),
    _event("c3", 7_200, "a", "z", "public"),
]


def _scorer() -> rs.OnlineScorer:
    return rs.OnlineScorer(rs.load_model(), time_source="events", max_account_contacts=2)


def test_a_pair_past_the_cap_is_read_as_batch_reads_it() -> None:
    scorer = _scorer()
    scorer.update_many(EVENTS)
    assert scorer.n_contacts_capped == 0
    batch = rs.extract_features(
        rs.read_messages({k: [e[k] for e in EVENTS] for k in EVENTS[0]}, now=T0)
    )
    for k, cid in enumerate(batch.conversation_id):
        np.testing.assert_array_equal(scorer.features_of(cid), batch.values[k])


def test_a_restored_scorer_keeps_the_pair_one(tmp_path: Path) -> None:
    kept, path = _scorer(), tmp_path / "state.sqlite"
    kept.update_many(EVENTS[:3])
    kept.checkpoint(path)
    restored = rs.OnlineScorer.restore(path, rs.load_model())
    for event in EVENTS[3:]:
        kept.update_one(event)
        restored.update_one(event)
        for cid in ("c3", "c4"):
            np.testing.assert_array_equal(restored.features_of(cid), kept.features_of(cid))
    restored.checkpoint(path)  # two conversations of the pair, one facts
    again = rs.OnlineScorer.restore(path, rs.load_model())
    assert again._conversations["c3"].pair is again._conversations["c4"].pair
