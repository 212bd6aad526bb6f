"""A conversation past ``max_account_contacts`` keeps its pair's facts through a checkpoint.

Past the cap the pair's lower account does not hold a new pair's facts: its conversation
keeps them (``riskscore.online.pairs.pair_facts``). Checkpoints stored only the accounts'
pairs, so a restored scorer read that conversation's ``pair_met_channel`` as unknown and
its next event started the pair again (``pair_hours_to_private`` lost): not the alerts an
uninterrupted scorer raises. All data is synthetic.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest
from checkpoint_helpers import reseal

import riskscore as rs

T0 = 1_714_521_600


def _event(cid: str, t: int, recipient: str, channel: str) -> dict[str, object]:
    return {"conversation_id": cid, "timestamp": T0 + t, "sender_id": "a",
            "recipient_id": recipient, "channel": channel, "sender_age": 35,
            "recipient_age": 13}  # fmt: skip


BEFORE = [_event("c0", 0, "k0", "public"), _event("c1", 10, "k1", "public")]
AFTER = [_event("c1", 3_600, "k1", "direct"), _event("c0", 7_200, "k0", "direct")]


def _capped(path: Path) -> rs.OnlineScorer:
    scorer = rs.OnlineScorer(rs.load_model(), time_source="events", max_account_contacts=1)
    scorer.update_many(BEFORE)  # "a" holds k0's pair; c1 keeps its own
    scorer.checkpoint(path)
    return scorer


def test_a_restored_scorer_goes_on_as_the_uninterrupted_one(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    kept = _capped(path)
    restored = rs.OnlineScorer.restore(path, rs.load_model())
    for step in [[], *([e] for e in AFTER)]:
        kept.update_many(step)
        restored.update_many(step)
        for cid in ("c0", "c1"):
            np.testing.assert_array_equal(restored.features_of(cid), kept.features_of(cid))
    names = list(rs.FEATURE_NAMES)
    assert not np.isnan(restored.features_of("c1")[names.index("pair_hours_to_private")])


@pytest.mark.parametrize(
    "own",
    [
        '[["c9", 1714521610.0, null]]',  # no such conversation
        '[["c1", 1714521610.0, null], ["c1", 1714521610.0, null]]',
        '[["c1", true, null]]',
        "{}",
    ],
)
def test_a_changed_entry_is_refused(tmp_path: Path, own: str) -> None:
    path = tmp_path / "state.sqlite"
    _capped(path)
    con = sqlite3.connect(path)
    con.execute("UPDATE meta SET value = ? WHERE key = 'own_pairs'", (own,))
    con.commit()
    con.close()
    reseal(path)
    with pytest.raises(rs.CheckpointError, match="meta 'own_pairs' is malformed"):
        rs.OnlineScorer.restore(path, rs.load_model())
