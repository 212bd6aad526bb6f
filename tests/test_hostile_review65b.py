"""Hostile review 65: the online, group-chat, export and packaging sides (each test whose
docstring begins "Was:" failed before its fix). All data is synthetic."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from checkpoint_helpers import reseal

import riskscore as rs

T0 = 1_714_521_600  # 2024-05-01T00:00:00Z
EVENT = {"conversation_id": 1, "timestamp": T0, "sender_id": "a", "recipient_id": "b",
         "channel": "direct"}  # fmt: skip


# ------------------------------------------------------ the online scorer: a clock of no time


def test_a_time_source_that_gives_none_is_named_as_the_clock() -> None:
    """Was: a ``time_source`` callable that returned None (a simulation clock not yet set,
    a function without ``return``) was taken as "read the wall clock", in silence: a replay
    of 2024 held to a limit of today plus ``max_future_s`` applied an event dated a year
    after its simulated now. Now None is refused as no epoch seconds, like NaN or text."""
    scorer = rs.OnlineScorer(rs.load_model(), time_source=lambda: None, max_future_s=60)
    with pytest.raises(ValueError, match=r"time_source\(\) gave None, not epoch seconds") as info:
        scorer.update_one(EVENT)
    assert not isinstance(info.value, rs.SchemaError)  # the clock's fault, not the event's
    assert scorer.n_events == 0
    assert scorer.n_conversations == 0


# ------------------------------------------- group chats: a broadcast dated far ahead


def test_a_broadcast_dated_beyond_max_future_s_is_refused_online_as_in_batch() -> None:
    """Was: the online scorer set a message to a room above ``max_room_members`` aside as
    a broadcast before it checked the event's time, so one dated years ahead was counted in
    ``n_broadcast`` and passed, where ``read_messages`` with the same limit refuses its row
    (bad rows are found before broadcasts are set aside). Now it is refused alike, counted
    in ``n_refused_future``."""
    ahead = {**EVENT, "conversation_id": "club", "timestamp": T0 + 3 * 365 * 86_400,
             "channel": "group", "event": "message", "room_size": 25}  # fmt: skip
    with pytest.raises(rs.SchemaError, match="max_future_s=86400") as batch:
        rs.read_messages({k: [v] for k, v in ahead.items()}, now=T0, max_future_s=86_400)
    scorer = rs.OnlineScorer(rs.load_model(), time_source=lambda: T0, max_future_s=86_400)
    with pytest.raises(rs.SchemaError, match="max_future_s=86400") as online:
        scorer.update_one(ahead)
    assert (online.value.column, online.value.value) == (batch.value.column, batch.value.value)
    assert (scorer.n_broadcast, scorer.n_refused_future, scorer.n_events) == (0, 1, 0)
    scorer.update_one({**ahead, "timestamp": T0})  # one of today: still set aside
    assert (scorer.n_broadcast, scorer.n_conversations) == (1, 0)


# ------------------------------------------- exports: a band name the queue cannot keep


@pytest.mark.parametrize("name", [" ", "   ", "\u3000"])
def test_a_blank_age_band_name_is_refused_by_the_policy(name: str, tmp_path: Path) -> None:
    """Was: ``AgeBand`` took a name of spaces (printable, 1 to 64 characters), so a policy
    scored a whole file and raised alerts whose band the review queue refuses ("age band
    ' ' is not one line of printable text"), and the transparency report and exports would
    show the band as nothing. Now the policy refuses the name, before any scoring."""
    with pytest.raises(ValueError, match=r"age band name .* is blank"):
        rs.AgeBand(name, 0.0, 13.0, review=0.5, urgent=0.9)
    path = tmp_path / "policy.toml"
    toml = rs.AlertPolicy.default().to_toml()
    path.write_text(toml.replace('name = "18+"', f'name = "{name}"'), encoding="utf-8")
    with pytest.raises(rs.PolicyFileError, match=r"bands\[3\]\.name.*is blank"):
        rs.AlertPolicy.from_toml(path)


# ------------------------------------- checkpoints: a clock earlier than the times it holds


def test_a_checkpoint_whose_clock_is_earlier_than_its_events_is_refused(tmp_path: Path) -> None:
    """Was: a checkpoint rewritten with its clock set back (checksums written again) was
    restored, and with ``time_source="events"`` every later event was held to the limit of
    a clock in the past. A scorer's clock is the latest time of the events it applied, so
    such a file was changed after it was written: refused, naming the clock and the time."""
    model = rs.load_model()
    scorer = rs.OnlineScorer(model, time_source="events")
    for i in range(3):
        scorer.update_one({**EVENT, "timestamp": T0 + 3600 * i})
    path = tmp_path / "state.sqlite"
    scorer.checkpoint(path)
    assert rs.OnlineScorer.restore(path, model).clock == T0 + 7200  # as written: accepted
    con = sqlite3.connect(path)
    try:
        (text,) = con.execute("SELECT value FROM meta WHERE key = 'counters'").fetchone()
        counters = json.loads(text)
        counters["clock"] = T0
        con.execute("UPDATE meta SET value = ? WHERE key = 'counters'", (json.dumps(counters),))
        con.commit()
    finally:
        con.close()
    reseal(path)
    with pytest.raises(rs.CheckpointError, match=rf"clock' {T0} is earlier than .*\({T0 + 7200}\)"):
        rs.OnlineScorer.restore(path, model)
