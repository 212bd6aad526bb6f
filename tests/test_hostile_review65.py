"""Hostile review 65: the online, group-chat, export and packaging sides (each test whose
docstring begins "Was:" failed before its fix). All data is synthetic."""

from __future__ import annotations

import pytest

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
