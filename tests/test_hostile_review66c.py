"""Hostile review 66c: what the hr66a/hr66b stop changed, re-checked across views.

All data is synthetic (the grooming-like pattern of ``tests/test_hostile_hr66a.py``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from test_hostile_hr66a import _groom

from riskscore import OnlineScorer, read_messages
from riskscore.model import load_model
from riskscore.model.scores import ASSUMED_ROLES, is_reason_text
from riskscore.online.risk import OnlineModel


@pytest.mark.parametrize(("a_age", "c_age", "assumed"), [(None, None, True), (35.0, 12.0, False)])
def test_the_childs_local_time_is_marked_assumed_as_the_older_participant_is(
    a_age: float | None, c_age: float | None, assumed: bool, tmp_path: Path
) -> None:
    """Was: with no age declared, ``share of contact on private channels at night in the
    child's local time: at least 72 %`` called an account of undeclared age the child as
    a fact, beside ``share of the older participant's messages that are media sent at night
    in the child's local time (who is older is assumed: ...)`` in the same alert: the mark
    went by "older" alone. Every description that names a role says it is assumed, in
    batch and online scoring alike."""
    events = _groom(a_age, c_age)
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    model = load_model()
    scores = model.score(read_messages(path), n_reasons=39, reasons_above=0.0)
    batch = [str(r) for r in scores.reasons(0)]
    child = [t for t in batch if "the child" in t.split(". Why it can matter")[0]]
    assert child, batch
    assert all((ASSUMED_ROLES in t) == assumed for t in child), child
    assert all(is_reason_text(t) for t in batch)
    scorer = OnlineScorer(model, time_source="events", max_future_s=math.inf)
    for e in events:
        scorer.update_one(e)
    online = [str(r) for r in OnlineModel(model).reasons(scorer.features_of("a-b"))]
    assert set(online) <= set(batch), (online, batch)
