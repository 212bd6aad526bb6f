"""One set of rules, batch and online: the online scorer accepts exactly what the batch
reader accepts, with the same meaning; and a fuzz test (read, extract, score) that ends
in a result or a :class:`riskscore.SchemaError`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from io_hostile_helpers import (
    BASE_EVENT,
    T0,
)

import riskscore as rs

# ---------------------------------------------------------- one set of rules, batch and online


TRICKY = [
    ("timestamp", "1700000000"),
    ("timestamp", " 1700000000 "),
    ("timestamp", 1.7e9),
    ("timestamp", 1_700_000_000.9),
    ("timestamp", "2024-05-01T00:00:01.123456789Z"),
    ("timestamp", "2024-05-01T00:00:01+01"),
    ("timestamp", "2024-05-01"),
    ("timestamp", "2024-05-01T00:00:00"),
    ("timestamp", 10**400),
    ("timestamp", float("nan")),
    ("timestamp", True),
    ("timestamp", None),
    ("timestamp", -1),
    ("sender_id", 1.0),
    ("sender_id", 1.5),
    ("sender_id", b"a"),
    ("sender_id", "a"),
    ("sender_id", "c\x00"),
    ("sender_id", "x" * 257),
    ("sender_id", "x" * 256),
    ("sender_id", 2**70),
    ("sender_id", 2**63 - 1),
    ("sender_id", float(2**60)),
    ("sender_id", {"a": 1}),
    ("sender_id", [1]),
    ("sender_id", True),
    ("sender_id", None),
    ("sender_id", np.int64(5)),
    ("sender_id", "caf\u00e9\u00a0"),
    ("conversation_id", "1"),
    ("conversation_id", 1.0),
    ("sender_age", "13"),
    ("sender_age", " "),
    ("sender_age", "nan"),
    ("sender_age", 10**400),
    ("sender_age", 121),
    ("sender_age", float("inf")),
    ("sender_age", True),
    ("channel", "Direct "),
    ("channel", "DIRECT"),
    ("channel", 2),
    ("channel", None),
    ("event", ""),
    ("event", None),
    ("event", "Contact_Request"),
    ("event", "wink"),
    ("recipient_tz_offset_min", "60"),
    ("recipient_tz_offset_min", 60.0),
    ("recipient_tz_offset_min", 60.5),
    ("recipient_tz_offset_min", 841),
    ("recipient_tz_offset_min", 10**400),
    ("recipient_tz_offset_min", ""),
    ("recipient_tz_offset_min", None),
    ("recipient_tz_offset_min", float("nan")),
    ("recipient_tz_offset_min", True),
    ("room_size", 3),
    ("room_size", "3"),
    ("room_size", 3.0),
    ("room_size", None),
    ("room_size", ""),
    ("room_size", 1),
    ("room_size", 2.5),
    ("room_size", True),
    ("sender_id", ""),
    ("sender_id", "   "),
    ("conversation_id", " "),
]


def _batch(event: dict[str, Any]) -> tuple[Any, ...] | None:
    try:
        msgs = rs.read_messages({k: [v] for k, v in event.items()})
    except rs.SchemaError:
        return None
    cols = msgs.columns(decoded=False)
    values = tuple(
        (lambda x: None if isinstance(x, float) and x != x else x)(
            cols[name][0].item() if isinstance(cols[name][0], np.generic) else cols[name][0]
        )
        for name in ("timestamp", "sender_age", "recipient_age", "channel", "event",
                     "recipient_tz_offset_min", "room_size")
    )  # fmt: skip
    tz = values[5]
    return (*values[:5], None if tz == rs.io.schema.TZ_UNKNOWN else tz, values[6])


def _online(event: dict[str, Any]) -> tuple[Any, ...] | None:
    from riskscore.io.events import parse_event_fast

    try:
        parsed = parse_event_fast(event)
    except rs.SchemaError:
        return None
    _cid, ts, _s, _r, sender_age, recipient_age, channel, kind, tz, room = parsed
    nan_none = [None if x != x else x for x in (sender_age, recipient_age, tz)]
    return (ts, *nan_none[:2], channel, kind, None if tz != tz else int(tz), room)


@pytest.mark.parametrize(("field", "value"), TRICKY, ids=[f"{f}={v!r}"[:40] for f, v in TRICKY])
def test_online_accepts_exactly_what_batch_accepts_with_the_same_meaning(
    field: str, value: object
) -> None:
    event = {**BASE_EVENT, field: value}
    assert _online(event) == _batch(event)


def test_an_unknown_age_as_nan_takes_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    # A table's columns hold an unknown age as NaN (replay, evaluate and update_many feed
    # them back as events); the full validator costs about a millisecond an event.
    import riskscore.io.events as events

    def full_rules(event: object, row: int | None = None) -> None:
        raise AssertionError(f"the full rules ran for {event}")

    monkeypatch.setattr(events, "parse_event", full_rules)
    nan = float("nan")
    parsed = events.parse_event_fast({**BASE_EVENT, "sender_age": nan, "recipient_age": nan})
    assert np.isnan(parsed[4])  # unknown, as None gives
    assert np.isnan(parsed[5])


def test_online_refuses_with_the_field_event_and_value() -> None:
    scorer = rs.OnlineScorer(rs.load_model())
    with pytest.raises(rs.SchemaError, match=r"column 'sender_id', event 0: b'a' is bytes") as info:
        scorer.update_one({**BASE_EVENT, "sender_id": b"a"})
    assert (info.value.column, info.value.row, info.value.value) == ("sender_id", 0, b"a")
    assert scorer.n_events == 0
    scorer.update_one({**BASE_EVENT, "timestamp": "1700000000", "sender_id": 1.0})
    assert scorer.n_events == 1


# ---------------------------------------------------------------- fuzz: a result or a SchemaError


HOSTILE_VALUES = st.one_of(
    st.integers(min_value=-(2**80), max_value=2**80),
    st.sampled_from([10**400, -(10**400), 2**63, 2**64 - 1, 0, 1, 13, 40, T0]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.sampled_from(["c\x00", "\x1b[31m", "x" * 300, "2024-05-01", "1700000000", "direct",
                     "message", "=cmd|' /C calc'!A0", "", " ", "nan", "\ud800"]),
    st.none(),
    st.booleans(),
    st.binary(max_size=4),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
)  # fmt: skip
COLUMN_NAMES = st.sampled_from(
    [*rs.io.schema.SCHEMA_COLUMNS, "msg_body", "extra", "Timestamp", "sender_id "]
)


@st.composite
def hostile_tables(draw: st.DrawFn) -> dict[str, list[Any]]:
    n = draw(st.integers(min_value=0, max_value=6))
    good = [{**BASE_EVENT, "conversation_id": i % 2, "sender_id": 10 + i % 2,
             "recipient_id": 11 - i % 2, "timestamp": T0 + i} for i in range(n)]  # fmt: skip
    table = {name: [row[name] for row in good] for name in BASE_EVENT}
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        name = draw(COLUMN_NAMES)
        column = table.setdefault(name, [None] * n)
        if n:
            column[draw(st.integers(0, n - 1))] = draw(HOSTILE_VALUES)
    if draw(st.booleans()) and table:
        del table[draw(st.sampled_from(sorted(table)))]
    return table


def _as_source(table: dict[str, list[Any]], form: str, tmp: Path) -> Any:
    if form == "dict":
        return table
    if form == "frame":
        return pd.DataFrame(table)
    if form == "csv":
        path = tmp / "fuzz.csv"
        names = list(table)
        n = len(next(iter(table.values()), []))
        cells = [[repr(table[k][i]) if isinstance(table[k][i], (bytes, list, dict)) else
                  "" if table[k][i] is None else str(table[k][i]) for k in names]
                 for i in range(n)]  # fmt: skip
        lines = [",".join(names + names[:1] if "dup" in names else names)]
        lines += [",".join(c.replace(",", ";").replace("\n", " ") for c in row) for row in cells]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogatepass")
        return path
    path = tmp / "fuzz.jsonl"
    n = len(next(iter(table.values()), []))
    with path.open("w", encoding="utf-8", errors="surrogatepass") as fh:
        for i in range(n):
            row = {k: v[i] for k, v in table.items()}
            row = {k: (v.hex() if isinstance(v, bytes) else v) for k, v in row.items()}
            fh.write(json.dumps(row, default=str) + "\n")
        fh.write('{"broken": [[[[\n')
    return path


@pytest.mark.parametrize("form", ["dict", "frame", "csv", "jsonl"])
def test_fuzz_read_extract_score_gives_a_result_or_a_schema_error(
    form: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    model = rs.load_model()
    tmp = tmp_path_factory.mktemp(form)

    @settings(
        max_examples=100,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(table=hostile_tables(), quarantine=st.booleans())
    def run(table: dict[str, list[Any]], quarantine: bool) -> None:
        try:
            source = _as_source(table, form, tmp)
        except (ValueError, TypeError, OverflowError):
            return  # the test could not write this input; nothing to read
        try:
            msgs = rs.read_messages(source, errors="quarantine" if quarantine else "raise")
        except rs.SchemaError:
            return
        n_in = len(next(iter(table.values()), [])) + (form == "jsonl")
        if form in ("dict", "frame") or quarantine:
            assert len(msgs) + len(msgs.quarantined) == n_in
        try:
            features = rs.extract_features(msgs)
            scores = model.score(msgs)
        except rs.SchemaError:
            return  # e.g. every row quarantined: nothing to score
        assert len(scores) == len(features.conversation_id) == msgs.n_conversations

    run()


def test_a_column_mixing_id_types_names_that_reason_alone() -> None:
    """The row refused for mixing types is not also called empty (its text was blanked)."""
    from riskscore.io.ids import check_ids
    from riskscore.io.problems import Found

    found = Found()
    check_ids("conversation_id", np.array(["a", 5, "b"], dtype=object), found)
    reasons = [(np.flatnonzero(mask).tolist(), reason) for _, mask, reason in found.problems]
    assert [r for r in reasons if r[0]] == [
        ([1], "mixes id types: this column's first id is str; use one type")
    ]
