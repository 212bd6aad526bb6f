"""A refused online event is named by the caller's own number of it.

Was: ``OnlineScorer`` named a refused event by its running count of events applied, so
``riskscore stream`` printed ``line 5: column 'timestamp', event 3: ...`` (the fifth line
was the fourth event seen, the third applied) and the HTTP service's message named another
number than the response's ``index`` (review 36 rewrote the text after the fact). Now
``update_one(event, row=...)`` (and ``update_one_all``) name ``row`` in every refusal, and
set it as ``SchemaError.row``; without ``row`` it stays the count of events applied.
"""

from __future__ import annotations

import io
import json
import re
import sys
from typing import Any

import pytest

import riskscore as rs
from riskscore.cli import main

T0 = 1_700_000_000


def event(**changes: Any) -> dict[str, Any]:
    base = {
        "conversation_id": "c",
        "timestamp": T0,
        "sender_id": "a",
        "recipient_id": "b",
        "channel": "direct",
        "sender_age": 30,
        "recipient_age": 12,
    }
    return {**base, **changes}


def refusal(scorer: rs.OnlineScorer, bad: dict[str, Any], row: int) -> rs.SchemaError:
    applied = scorer.n_events
    with pytest.raises(rs.SchemaError) as caught:
        scorer.update_one_all(bad, row=row)
    assert scorer.n_events == applied
    return caught.value


@pytest.mark.parametrize(
    "case",
    ["not an age", "too late", "far future", "pair id of a room", "room pair clash"],
)
def test_every_refusal_names_the_callers_row(case: str) -> None:
    scorer = rs.OnlineScorer(rs.load_model(), time_source=lambda: T0 + 3_600)
    scorer.update_one(event(timestamp=T0 + 1_000))
    if case == "not an age":
        bad = event(sender_age="old")
    elif case == "too late":
        bad = event(timestamp=T0)
    elif case == "far future":
        bad = event(timestamp=T0 + 10 * 86_400)
    elif case == "pair id of a room":  # group room c with pairs c|a|b and c|a|x
        scorer.update_one(event(timestamp=T0 + 1_001, recipient_id="x"))
        bad = event(conversation_id="c|a|b", timestamp=T0 + 1_002)
    else:  # in room r, accounts "a|b" and "c" derive the pair id of "a" and "b|c"
        scorer.update_one(
            event(conversation_id="r", sender_id="a|b", recipient_id="c", timestamp=T0 + 1_001)
        )
        bad = event(conversation_id="r", sender_id="a", recipient_id="b|c", timestamp=T0 + 1_002)
    error = refusal(scorer, bad, row=17)
    assert re.search(r"\bevent 17\b", str(error)), str(error)
    assert error.row == 17
    assert not re.search(rf"\bevent {scorer.n_events}\b", str(error))


def test_without_a_row_the_count_of_events_applied_is_named() -> None:
    scorer = rs.OnlineScorer(rs.load_model(), time_source=lambda: T0 + 3_600)
    scorer.update_one(event())
    scorer.update_one(event(timestamp=T0 + 1))
    with pytest.raises(rs.SchemaError, match="event 2:") as caught:
        scorer.update_one(event(sender_age="old"))
    assert caught.value.row == 2


def test_stream_names_a_refused_event_by_its_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [
        event(timestamp=T0),
        "not json",
        event(timestamp=T0 + 1),
        event(timestamp=T0 + 2, recipient_age=-4),
    ]
    text = "".join((e if isinstance(e, str) else json.dumps(e)) + "\n" for e in lines)
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    assert main(["stream", "--time-source", "events"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[1].startswith("line 4: column 'recipient_age', event 4: "), err[1]
