"""Hostile review 57: what landed with reviews 53 to 56 (decimal cells, console, ...).
All data is synthetic."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from io_hostile_helpers import BASE_EVENT, T0
from serve_helpers import CHEAP_HASHER, PASSWORD, config, sign_in

import riskscore as rs
from riskscore.moderation import ReviewQueue
from riskscore.moderation.queue_db import encode_id
from riskscore.policy import Alert, Tier
from riskscore.serve import create_app
from riskscore.serve.accounts import ModeratorStore


@pytest.fixture(scope="module")
def model() -> rs.RiskModel:
    return rs.load_model()


def test_an_alerted_account_of_adult_age_is_not_called_a_reporter(
    tmp_path: Path, model: rs.RiskModel
) -> None:
    """Was: the case page marked every item whose account declared an adult age as "(the
    reporter, an adult)", alerts included: the 18+ band alerts on a 19-year-old whose
    contact's age is unknown, and that account was shown as a reporter it never was."""
    cfg = config(tmp_path, model)
    with ReviewQueue(cfg.db) as q:
        q.add_alert(Alert("c7", "adult-f", "acct-19", 19.0, "18+", 0.99, Tier.URGENT))
    store = ModeratorStore(cfg.db, hasher=CHEAP_HASHER)
    store.add("mod-1", "moderator", PASSWORD)
    store.close()
    with TestClient(create_app(cfg)) as client:
        assert sign_in(client, "mod-1") == 303
        case = client.get("/console/cases/" + encode_id("adult-f")).text
    assert "<td>acct-19 (an adult by declared age)</td>" in case
    assert "reporter" not in case
    assert "adult accounts only: every other account declared an adult age (youngest 19)" in case


# ---------------------------------------------------------------- decimal time cells


def _events(n: int, **columns: Any) -> dict[str, Any]:
    events: dict[str, Any] = {k: [v] * n for k, v in BASE_EVENT.items()}
    events["timestamp"] = [T0 + i for i in range(n)]
    return {**events, **{k: np.array(v, dtype=object) for k, v in columns.items()}}


@pytest.mark.parametrize(
    "neighbour",
    [T0 + 1, float(T0 + 1), "2024-05-01T00:00:01+00:00", Decimal("Infinity")],
    ids=["int", "float", "text", "infinite-decimal"],
)
def test_a_decimal_time_is_read_beside_cells_of_another_kind(neighbour: Any) -> None:
    """Was: decimal times were read only when every cell of the column was a decimal Arrow
    holds; beside an int, a float, text or ``Decimal('Infinity')`` each valid decimal time
    was refused as "not a timestamp" (one bad cell refused the rows around it, and a
    chunk's rows depended on which rows shared the chunk), though the same cell alone,
    or in an online event, was read."""
    exact = Decimal("1714521600.9999999999")  # second 1714521600, float 1714521601.0
    msgs = rs.read_messages(_events(2, timestamp=[exact, neighbour]), errors="quarantine")
    assert msgs.timestamp.tolist()[0] == T0
    refused = [] if neighbour != Decimal("Infinity") else [1]
    assert list(msgs.quarantined.row) == refused
    if refused:
        assert "out of range" in msgs.quarantined.reason[0]


# ---------------------------------------------------------------- integers too long


@pytest.mark.parametrize(
    "value", [10**5000, -(10**5000), Decimal("1E+5000")], ids=["int", "negative", "decimal"]
)
def test_an_id_of_thousands_of_digits_is_refused_as_over_long(value: Any) -> None:
    """Was: a ValueError from Python ("Exceeds the limit (4300 digits) for integer string
    conversion; use sys.set_int_max_str_digits()"), not a SchemaError, in a table and online:
    the id was turned into its decimal text before its length was checked, and the message
    quoted the value with repr. A decimal id of 10**2,000,000 took minutes (int(Decimal))."""
    reason = "longer than 256 characters as decimal text"
    msgs = rs.read_messages(_events(2, conversation_id=[value, 5]), errors="quarantine")
    assert msgs.conversation_id.tolist() == [5]
    assert reason in msgs.quarantined.reason[0]
    json.dumps(msgs.quarantined.to_records())  # the value as read: no int JSON refuses
    with pytest.raises(rs.SchemaError, match=reason):
        rs.read_messages(_events(1, conversation_id=[value]))
    scorer = rs.OnlineScorer(rs.load_model(), time_source="events")
    with pytest.raises(rs.SchemaError, match=reason) as info:
        scorer.update_one({**BASE_EVENT, "sender_id": value})
    assert info.value.column == "sender_id"
    assert scorer.n_events == 0


def test_an_enormous_decimal_id_is_refused_at_once() -> None:
    started = time.perf_counter()
    msgs = rs.read_messages(
        _events(2, conversation_id=[Decimal("1E+2000000"), Decimal(5)]), errors="quarantine"
    )
    assert msgs.quarantined.row == (0,)
    assert time.perf_counter() - started < 1.0


def test_an_id_of_256_digits_is_kept_and_one_of_257_refused() -> None:
    """The integer rule by magnitude is the text rule's length: 256 characters."""
    longest, negative = 10**256 - 1, -(10**255 - 1)
    msgs = rs.read_messages(
        _events(4, conversation_id=[longest, negative, 10**256, -(10**255)]), errors="quarantine"
    )
    assert sorted(msgs.conversation_id.tolist()) == sorted([str(longest), str(negative)])
    assert list(msgs.quarantined.row) == [2, 3]


# ---------------------------------------------------------------- decimal ids, each its own


def test_a_whole_decimal_id_is_not_given_a_neighbours_fraction_digit() -> None:
    """Was: decimal cells were read as one Arrow column of one scale, so beside ``5.0``
    (a cursor's NUMERIC without a fixed scale) the id ``9007199254740993``, given with no
    fraction digit, became ``9007199254740993.0`` and was refused as "a decimal id with
    fraction digits beyond 2**53", though read alone, or online, it is kept."""
    ids = [Decimal("9007199254740993"), Decimal("5.0"), Decimal("9007199254740993.0")]
    msgs = rs.read_messages(_events(3, conversation_id=ids), errors="quarantine")
    assert sorted(msgs.conversation_id.tolist()) == [5, 2**53 + 1]
    assert list(msgs.quarantined.row) == [2]  # given with a fraction digit: refused, as before
    assert "fraction digits beyond 2**53" in msgs.quarantined.reason[0]
