"""Bad input found on a Spark executor is refused on the driver as in memory.

A row that breaks the schema, an event dated past the future limit, free text where a
category belongs, ids of two kinds: ``rs.read_messages`` and ``rs.score`` raise a
:class:`riskscore.SchemaError` naming the column, row and value. ``score_events`` and
``account_features`` find these in a task; the task hands the error back as data and
the driver raises the same type with the same message (the row counted in the whole
input, the bad rows of every block counted), never Spark's ``PythonException``, and
releases what the job cached.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pyarrow as pa
import pytest
from conformance_helpers import (
    MODEL,
    SPARK_CONF,
)
from conformance_refusals import (
    SPARK_LAYOUTS,
    assert_refused_alike,
    refusal,
    spark_refusals,
)
from spark_helpers import runtime_conf

import riskscore as rs
from riskscore.exceptions import SchemaError
from riskscore.integrations._spark_errors import SPARK_HINT, error_payload, raised
from riskscore.io import timestamps
from riskscore.io.raw import NotShown

T1 = 1_700_000_000


def _events(n: int, conversation: Any = 1, **changes: Any) -> list[dict[str, Any]]:
    """``n`` events of a pair (an adult and a minor), in time order."""
    return [
        {
            "conversation_id": conversation,
            "timestamp": T1 + 60 * i + (0 if isinstance(conversation, int) else 7),
            "sender_id": ["a", "m"][i % 2],
            "recipient_id": ["m", "a"][i % 2],
            "channel": "direct",
            "sender_age": [34, 13][i % 2],
            **changes,
        }
        for i in range(n)
    ]


def _with(events: list[dict[str, Any]], at: int, **changes: Any) -> list[dict[str, Any]]:
    return [{**e, **changes} if i == at else e for i, e in enumerate(events)]


#: Inputs ``rs.read_messages`` refuses in a row (``errors="raise"``), in one or several
#: conversations; those of several read in one block, a block per conversation and a
#: partition per conversation by :func:`spark_refusals`, those of one conversation in one
#: layout (the three give one block alike, and each costs six Spark jobs).
BAD_ROWS: dict[str, list[dict[str, Any]]] = {
    "an unknown channel": _with(_events(4), 2, channel="pigeon"),
    "an event past the future limit": _with(_events(4), 2, timestamp=7_226_582_400),
    "free text where a channel belongs (never shown)": _with(
        _events(4), 1, channel="see you at the park later"
    ),
    "an age out of range": _with(_events(4), 3, sender_age=400),
    "a missing sender": _with(_events(4), 0, sender_id=None),
    "an id with a control character": _with(_events(4), 1, recipient_id="m\x07"),
    "integer senders and text recipients": [
        {**e, "sender_id": i} for i, e in enumerate(_events(4))
    ],
    # the first bad row in input order is in the conversation that sorts last, and each
    # conversation has bad rows: the row and the count of the whole input are named
    "bad rows in several conversations": _with(
        _with(_events(3, "z") + _events(4, "b") + _events(3, "k"), 1, channel="pigeon"),
        5,
        sender_age=-1,
    )
    + _with(_events(2, "c"), 0, channel="fax"),
}


@pytest.fixture(scope="module")
def spark(spark_session: Any) -> Iterator[Any]:
    with runtime_conf(spark_session, SPARK_CONF) as session:
        yield session


@pytest.mark.parametrize("case", BAD_ROWS)
def test_a_bad_row_is_refused_on_spark_as_in_memory(
    case: str, spark: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # one time of reading for every run (the future limit's message names it); Spark
    # reads it on the driver
    monkeypatch.setattr(timestamps, "time", SimpleNamespace(time=lambda: T1 + 86_400.0))
    events = BAD_ROWS[case]
    table = pa.Table.from_pylist(events)
    reference = refusal(lambda: rs.read_messages(table))
    assert isinstance(reference, rs.SchemaError), reference
    assert reference.row is not None
    several = len({e["conversation_id"] for e in events}) > 1
    got = spark_refusals(events, spark, SPARK_LAYOUTS if several else SPARK_LAYOUTS[:1])
    got["score"] = refusal(lambda: MODEL.score(table))
    cached = spark.sparkContext._jsc.getPersistentRDDs().size()
    assert_refused_alike(reference, got, case)
    assert {type(exc) for exc in got.values()} == {type(reference)}
    assert {getattr(exc, "row", None) for exc in got.values()} == {reference.row}
    if (reference.bad_rows or 1) > 1:  # the other bad rows: what a Spark user can do
        spark_errors = [str(exc) for backend, exc in got.items() if backend.startswith("spark")]
        assert all(text.endswith(f"; {SPARK_HINT})") for text in spark_errors), spark_errors
    assert spark.sparkContext._jsc.getPersistentRDDs().size() == cached


# ---------------------------------------------------------------- errors as data (no Spark)


def test_an_error_travels_as_data_and_comes_back_alike() -> None:
    error = SchemaError(
        "column 'channel', row 3: text of 25 characters (not shown: it may be message "
        "content) is not a channel",
        column="channel",
        row=3,
        value=NotShown(25),
    )
    back = raised([json.dumps(error_payload(error))])
    assert type(back) is SchemaError
    assert (str(back), back.column, back.row, back.value) == (str(error), "channel", 3, error.value)
    assert "park" not in json.dumps(error_payload(error))


def test_the_first_bad_row_of_all_blocks_is_raised_with_every_bad_row_counted() -> None:
    tail = "; pass errors='quarantine' to set them aside and keep the rest)"
    blocks = [  # as raise_first makes them: the count in the text and in bad_rows
        SchemaError(f"column 'channel', row 9: 'fax' is not a channel (1 more bad row{tail}",
                    column="channel", row=9, value="fax", bad_rows=2),
        SchemaError("column 'sender_age', row 4: 400 is not an age", column="sender_age",
                    row=4, value=400),
    ]  # fmt: skip
    back = raised([json.dumps(error_payload(e)) for e in blocks])
    # Spark has no quarantine: its hint in place of the keyword it does not take
    end = f"; {SPARK_HINT})"
    assert str(back) == f"column 'sender_age', row 4: 400 is not an age (2 more bad rows{end}"
    assert (back.column, back.row, back.value) == ("sender_age", 4, 400)


def test_only_riskscore_errors_are_raised_again() -> None:
    payload = json.dumps({"type": "SystemExit", "message": "x", "attributes": {}})
    with pytest.raises(ValueError, match="SystemExit"):
        raised([payload])
