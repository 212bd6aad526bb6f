"""A ``recipient_tz_offset_min`` off the quarter hour is no zone's and is refused.

Every UTC offset in use is a whole number of quarter hours (India +330, Nepal +345,
Chatham +765). A platform that sends hours for minutes (``5`` for UTC+5) would otherwise
have every night feature read five hours off, in silence. Batch (every reader), the
quarantine, the online scorer and the one-value rule give the same reason.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

import riskscore as rs
from riskscore.io.events import parse_event_fast
from riskscore.io.schema import TZ_OFFSETS_IN_USE
from riskscore.io.tz_offsets import one_tz_offset_problem
from riskscore.moderation.cases import QueueError
from riskscore.serve.timeline import TimelineStore

T0 = 1_714_521_600
EVENT = {
    "conversation_id": 1,
    "timestamp": T0,
    "sender_id": "a",
    "recipient_id": "b",
    "channel": "direct",
    "sender_age": 35,
    "recipient_age": 12,
}
REASON = "is no time zone's offset"


def test_the_offsets_in_use_are_the_quarter_hours_of_the_range() -> None:
    assert {-720, -570, 0, 60, 330, 345, 765, 840} <= TZ_OFFSETS_IN_USE
    assert not {-719, -1, 1, 5, 14, 59, 839} & TZ_OFFSETS_IN_USE
    assert len(TZ_OFFSETS_IN_USE) == (840 + 720) // 15 + 1


@pytest.mark.parametrize("offset", [1, 5, -8, 14, 61, 7.0, "5"])
def test_an_offset_off_the_quarter_hour_is_refused_by_the_one_value_rule(offset: object) -> None:
    reason = one_tz_offset_problem(offset)
    assert reason is not None
    assert reason.startswith(REASON)


@pytest.mark.parametrize("offset", [0, 60, -300, 330, 345, 60.0, "345", None, ""])
def test_an_offset_in_use_or_unknown_is_accepted(offset: object) -> None:
    assert one_tz_offset_problem(offset) is None


def _table(offsets: list[object]) -> dict[str, list[object]]:
    n = len(offsets)
    return {k: [v] * n for k, v in EVENT.items()} | {
        "timestamp": [T0 + i for i in range(n)],
        "recipient_tz_offset_min": offsets,
    }


def test_batch_refuses_hours_given_for_minutes_naming_column_row_and_value() -> None:
    with pytest.raises(rs.SchemaError) as info:
        rs.read_messages(_table([60, 5, 330]), now=T0)
    err = info.value
    assert (err.column, err.row, err.value) == ("recipient_tz_offset_min", 1, 5)
    assert REASON in str(err)
    assert "UTC+5 is 300" in str(err)


def test_a_csv_file_is_held_to_the_same_rule(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    pacsv.write_csv(pa.table(_table([120, 2])), path)
    with pytest.raises(rs.SchemaError, match=REASON) as info:
        rs.read_messages(path, now=T0)
    assert info.value.row == 1


def test_the_quarantine_sets_such_rows_aside_with_the_reason() -> None:
    msgs = rs.read_messages(_table([60, 5, -300, 9]), now=T0, errors="quarantine")
    assert len(msgs) == 2
    assert list(msgs.recipient_tz_offset_min) == [60, -300]
    records = msgs.quarantined.to_records()
    assert [(r["row"], r["value"]) for r in records] == [(1, 5), (3, 9)]
    assert all(REASON in r["reason"] for r in records)


def test_the_online_scorer_refuses_the_event_and_keeps_its_state() -> None:
    scorer = rs.OnlineScorer(rs.load_model(), time_source=lambda: T0)
    with pytest.raises(rs.SchemaError, match=REASON) as info:
        scorer.update_one({**EVENT, "recipient_tz_offset_min": 5})
    assert info.value.column == "recipient_tz_offset_min"
    assert (scorer.n_events, scorer.n_conversations) == (0, 0)
    scorer.update_one({**EVENT, "recipient_tz_offset_min": 300})
    assert scorer.n_events == 1


def test_a_serve_timeline_row_off_the_quarter_hour_is_refused(tmp_path: Path) -> None:
    """The timeline store read back any offset in range: one changed to 5 outside riskscore
    (a scorer never writes it) shaded the case page's nights five hours off."""
    path = tmp_path / "timeline.sqlite"
    store = TimelineStore(path)
    event = {**EVENT, "recipient_tz_offset_min": 60}
    store.add([parse_event_fast({**event, "timestamp": T0 + 60 * i}) for i in range(2)])
    store.flush()
    with closing(sqlite3.connect(path)) as con, con:
        con.execute("UPDATE events SET tz_offset_min = 5 WHERE rowid = 2")
    with pytest.raises(QueueError, match="row 2: column 'tz_offset_min' is 5, expected whole q"):
        store.events_of(1)
    store.close()
