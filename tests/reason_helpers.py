"""What tests of reason wording share: a conversation the shipped model alerts on, with the
ages declared as asked (:func:`groom_events`), and its reasons as batch and online scoring
write them (:func:`batch_and_online_reasons`). All data is synthetic."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from riskscore import OnlineScorer, load_model, read_messages
from riskscore.online.risk import OnlineModel

T0 = 1_767_225_600  # 2026-01-01 00:00 UTC


def groom_events(a_age: float | None, c_age: float | None) -> list[dict[str, Any]]:
    """Account ``a`` sends ``b`` a contact request on a public channel, then five nights of
    messages on an ephemeral channel, ``a`` sending media: a pattern the shipped model
    alerts on. An age of None is not declared."""
    ages = {"a": a_age, "b": c_age}

    def ev(t: int, s: str, r: str, ch: str, kind: str = "message") -> dict[str, Any]:
        e = {"conversation_id": "a-b", "timestamp": T0 + t, "sender_id": s, "recipient_id": r}
        e.update({"channel": ch, "event": kind, "recipient_tz_offset_min": 0})
        declared = (("sender_age", ages[s]), ("recipient_age", ages[r]))
        return e | {k: age for k, age in declared if age is not None}

    out = [ev(0, "a", "b", "public", "contact_request"), ev(60, "a", "b", "public")]
    out.append(ev(120, "b", "a", "public"))
    for day in range(5):
        for j in range(6):
            t, ch = 86400 * day + 3 * 3600 + 600 * j, "ephemeral" if day else "direct"
            out += [ev(t, "a", "b", ch, "media" if j == 0 else "message"), ev(t + 60, "b", "a", ch)]
    return out


def batch_and_online_reasons(
    events: list[dict[str, Any]], path: Path
) -> tuple[list[str], list[str]]:
    """The texts of the reasons of conversation ``a-b`` of ``events`` (written to ``path``
    as JSON lines and read back), every reason batch scoring gives, and those the online
    scorer gives after the last event."""
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    model = load_model()
    scores = model.score(read_messages(path), n_reasons=39, reasons_above=0.0)
    batch = [str(r) for r in scores.reasons(0)]
    scorer = OnlineScorer(model, time_source="events", max_future_s=math.inf)
    for e in events:
        scorer.update_one(e)
    online = [str(r) for r in OnlineModel(model).reasons(scorer.features_of("a-b"))]
    return batch, online
