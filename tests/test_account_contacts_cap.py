"""One account writing to ever new ids (a flood) holds at most ``max_account_contacts``.

Before: its contacts, minors and pair facts grew with every new id for as long as the
account stayed active, whatever ``max_conversations`` was (20,000 new ids, 20,000 entries
each; hostile review 65). Now its distinct counts stop at the cap (counted in
``n_contacts_capped``), a pair it no longer holds keeps its facts in its own conversation,
and below the cap nothing changes: online equals batch. All data is synthetic.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from checkpoint_helpers import reseal

import riskscore as rs

T0 = 1_714_521_600


def _flood(n: int, *, channel: str = "direct") -> list[dict[str, object]]:
    """An adult (35) writing once to each of ``n`` new 13-year-olds."""
    return [
        {"conversation_id": f"c{i}", "timestamp": T0 + i, "sender_id": "a",
         "recipient_id": f"k{i:06d}", "channel": channel, "sender_age": 35,
         "recipient_age": 13}
        for i in range(n)
    ]  # fmt: skip


def _read(events: list[dict[str, object]]) -> rs.MessageTable:
    return rs.read_messages({k: [e[k] for e in events] for k in events[0]}, now=T0)


def test_a_flood_of_new_ids_holds_at_most_the_cap() -> None:
    scorer = rs.OnlineScorer(
        rs.load_model(), time_source="events", max_conversations=100, max_account_contacts=50
    )
    scorer.update_many(_flood(500))
    adult = scorer._accounts["a"]
    assert len(adult.contacts) == len(adult.minors) == 50
    assert len(adult.met or ()) == 50
    assert scorer.n_contacts_capped == 450
    assert scorer.n_conversations == 100


def test_below_the_cap_online_equals_batch() -> None:
    events = _flood(40)
    scorer = rs.OnlineScorer(rs.load_model(), time_source="events", max_account_contacts=40)
    scorer.update_many(events)
    assert scorer.n_contacts_capped == 0
    batch = rs.extract_features(_read(events))
    for k, cid in enumerate(batch.conversation_id):
        np.testing.assert_array_equal(scorer.features_of(cid), batch.values[k])


def test_past_the_cap_the_counts_stop_and_a_pair_keeps_its_own_facts() -> None:
    model = rs.load_model()
    scorer = rs.OnlineScorer(model, time_source="events", max_account_contacts=5)
    scorer.update_many(_flood(8, channel="public"))
    names = list(rs.extract_features(_read(_flood(1))).names)
    fanout = names.index("adult_minor_fanout")
    assert scorer.features_of("c7")[fanout] == 5  # batch: 8
    # c7's pair is past the cap: its facts stay with it, event after event
    scorer.update_one({**_flood(8)[7], "timestamp": T0 + 3600})  # public, then direct
    met, to_private = names.index("pair_met_channel"), names.index("pair_hours_to_private")
    row = scorer.features_of("c7")
    alone = rs.extract_features(
        _read([_flood(8, channel="public")[7], {**_flood(8)[7], "timestamp": T0 + 3600}])
    )
    assert (row[met], row[to_private]) == (alone.values[0][met], alone.values[0][to_private])


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "10"])
def test_the_cap_is_a_positive_int(bad: object) -> None:
    with pytest.raises((ValueError, TypeError), match="max_account_contacts"):
        rs.OnlineScorer(rs.load_model(), max_account_contacts=bad)  # type: ignore[arg-type]


def _checkpoint(tmp_path: Path, cap: int) -> Path:
    model = rs.load_model()
    scorer = rs.OnlineScorer(model, time_source="events", max_account_contacts=cap)
    scorer.update_many(_flood(30))
    path = tmp_path / "state.sqlite"
    scorer.checkpoint(path)
    return path


def _edit_config(path: Path, change: dict[str, object]) -> None:
    con = sqlite3.connect(path)
    try:
        (text,) = con.execute("SELECT value FROM meta WHERE key = 'config'").fetchone()
        config = {k: v for k, v in json.loads(text).items() if k not in change or change[k]}
        config.update({k: v for k, v in change.items() if v})
        con.execute("UPDATE meta SET value = ? WHERE key = 'config'", (json.dumps(config),))
        con.commit()
    finally:
        con.close()
    reseal(path)


def test_the_cap_is_checkpointed_and_a_file_over_it_is_refused(tmp_path: Path) -> None:
    path = _checkpoint(tmp_path, 30)
    restored = rs.OnlineScorer.restore(path, rs.load_model())
    assert restored.max_account_contacts == 30
    _edit_config(path, {"max_account_contacts": 10})
    with pytest.raises(rs.CheckpointError, match="holds 30 contacts or pairs, more than its max_"):
        rs.OnlineScorer.restore(path, rs.load_model())


def test_a_file_written_before_the_cap_is_read_whole(tmp_path: Path) -> None:
    path = _checkpoint(tmp_path, 30)
    _edit_config(path, {"max_account_contacts": None})  # as written before the cap
    restored = rs.OnlineScorer.restore(path, rs.load_model())
    assert len(restored._accounts["a"].contacts) == 30
