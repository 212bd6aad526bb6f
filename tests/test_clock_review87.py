"""Hostile times and checkpoint files (review 87): an event before the earliest plausible
time, a checkpoint refused without a lock file left beside it, and far-future and far-past
values refused alike by every entry point."""

from __future__ import annotations

import io
import json
import math
import os
import re
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_checkpoint_lock import _EVENT

import riskscore as rs
from riskscore.cli import main
from riskscore.online import lock


def _stream(argv: list[str], text: str, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    return main(["stream", *argv])


@pytest.mark.parametrize(
    "content", [b"notes, not a checkpoint\n", b"\x00\x01binary", b"SQLite format 3\x00junk"]
)
def test_a_refused_checkpoint_leaves_no_lock_file(
    tmp_path: Path,
    content: bytes,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # before: the refusal was clear, but notes.txt.lock stayed beside the file
    path = tmp_path / "notes.txt"
    path.write_bytes(content)
    status = _stream(["--checkpoint", str(path)], json.dumps(_EVENT) + "\n", monkeypatch)
    assert status != 0
    assert "notes.txt" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
    assert path.read_bytes() == content


def _lines(*times: int) -> str:
    return "".join(json.dumps({**_EVENT, "timestamp": t}) + "\n" for t in times)


@pytest.mark.parametrize("first", [0, 5, 946_684_799])
def test_an_event_before_2000_does_not_set_the_events_clock(
    first: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # before: the first event (1970) set the clock, and every later one was refused as
    # more than max_future_s ahead of it
    text = _lines(first, *(1_700_000_000 + 60 * i for i in range(5)))
    status = _stream(["--json", "--time-source", "events"], text, monkeypatch)
    assert status == 0
    out, err = capsys.readouterr()
    summary = json.loads(out.splitlines()[-1])["summary"]
    assert (summary["events"], summary["rejected"]) == (5, 1)
    assert f"{first} is out of range" in err
    assert "2000-01-01" in err


def test_an_event_before_2000_is_refused_online_as_in_batch() -> None:
    model = rs.load_model()
    scorer = rs.OnlineScorer(model, time_source="events")
    with pytest.raises(rs.SchemaError, match=r"5 is out of range.*2000-01-01") as info:
        scorer.update_one({**_EVENT, "timestamp": 5}, row=0)
    assert (info.value.column, info.value.row, info.value.value) == ("timestamp", 0, 5)
    assert scorer.n_events == 0
    assert scorer.clock == 0
    with pytest.raises(rs.SchemaError, match=r"row 1.*5 is out of range.*2000-01-01"):
        rs.read_messages(
            {**{k: [v, v] for k, v in _EVENT.items()}, "timestamp": [1_700_000_000, 5]}
        )


def test_a_far_future_first_event_does_not_set_the_events_clock(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # before: the first event (2199) was trusted as the clock; every later conversation was
    # then idle for 176 years and expired at once, so nothing could build up to an alert
    far = 7_258_000_000
    text = _lines(far, *(1_700_000_000 + 60 * i for i in range(5)))
    status = _stream(["--json", "--time-source", "events"], text, monkeypatch)
    assert status == 0
    out, err = capsys.readouterr()
    summary = json.loads(out.splitlines()[-1])["summary"]
    assert (summary["events"], summary["reasons"]) == (5, {"future_timestamp": 1})
    assert f"line 1: column 'timestamp', event 1: {far} is later than" in err
    assert "the time of reading" in err


def test_the_first_event_replayed_is_held_to_the_batch_rule() -> None:
    model = rs.load_model()
    scorer = rs.OnlineScorer(model, time_source="events")
    with pytest.raises(rs.SchemaError, match=r"max_future_s=157680000 s after the time of reading"):
        scorer.update_one({**_EVENT, "timestamp": 7_258_000_000})
    assert scorer.n_refused_future == 1
    assert scorer.n_events == 0
    # a later event within the batch rule's five years is the first, and then the clock
    scorer.update_one(_EVENT)
    assert scorer.clock == _EVENT["timestamp"]
    with pytest.raises(rs.SchemaError, match=r"scorer's reference clock \(events\)"):
        scorer.update_one({**_EVENT, "timestamp": _EVENT["timestamp"] + 86_401})
    lifted = rs.OnlineScorer(model, time_source="events", max_future_s=math.inf)
    lifted.update_one({**_EVENT, "timestamp": 7_258_000_000})  # replay of data dated ahead
    assert lifted.clock == 7_258_000_000


def _events(column: str, value: object) -> dict[str, list[object]]:
    """Four events of one conversation, the second holding ``value`` in ``column``."""
    events: dict[str, list[object]] = {
        "conversation_id": [1, 1, 1, 1],
        "timestamp": [1_700_000_000 + 60 * i for i in range(4)],
        "sender_id": [1, 2, 1, 2],
        "recipient_id": [2, 1, 2, 1],
        "channel": ["direct"] * 4,
        "recipient_tz_offset_min": [60, 60, 60, 60],
    }
    events[column][1] = value
    if isinstance(value, float):
        events[column] = [float(v) for v in events[column]]  # type: ignore[arg-type]
    return events


#: Hostile times, each refused by every entry point: (column, value, value as quoted).
_HOSTILE = [
    ("timestamp", 1_700_000_000_000, "1700000000000"),  # milliseconds
    ("timestamp", 1_700_000_000_000_000, "1700000000000000"),  # microseconds
    ("timestamp", -5, "-5"),
    ("timestamp", 5, "5"),  # 1970: a clock never set
    ("timestamp", 946_684_799, "946684799"),  # the last second of 1999
    ("timestamp", math.nan, "nan"),
    ("timestamp", math.inf, "inf"),
    ("timestamp", 2**64 + 5, "18446744073709551621"),  # beyond int64 (and uint64)
    ("recipient_tz_offset_min", 100_000, "100000"),
    ("recipient_tz_offset_min", math.inf, "inf"),
]


@pytest.mark.parametrize(("column", "value", "shown"), _HOSTILE)
def test_a_hostile_time_is_refused_alike_by_every_entry_point(
    tmp_path: Path,
    column: str,
    value: object,
    shown: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    events = _events(column, value)
    cells = [str(v) for v in events[column]] if value == 2**64 + 5 else events[column]
    table = pa.table({**events, column: pa.array(cells)})
    parquet = tmp_path / "events.parquet"
    pq.write_table(table, parquet)
    csv = tmp_path / "events.csv"
    csv.write_text(
        ",".join(events)
        + "\n"
        + "".join(",".join(str(events[k][i]) for k in events) + "\n" for i in range(4))
    )
    for source in (parquet, csv):  # in memory: the whole file
        with pytest.raises(rs.SchemaError, match=rf"'{column}', row 1\b.*{shown}") as info:
            rs.read_messages(source)
        assert (info.value.column, info.value.row) == (column, 1)
        kept = rs.read_messages(source, errors="quarantine")
        assert (len(kept), kept.quarantined.counts()) == (3, {column: 1})
    out = tmp_path / "out"
    status = main(["score", str(parquet), "--out", str(out), "--chunk-rows", "2", "--top", "0"])
    assert status == 2  # out of core, chunk by chunk
    assert re.search(rf"'{column}', row 1\b.*{shown}", capsys.readouterr().err)
    scorer = rs.OnlineScorer(rs.load_model(), time_source="events")
    one = {k: v[1] for k, v in events.items()}
    with pytest.raises(rs.SchemaError, match=rf"'{column}', event 1\b.*{shown}") as info:
        scorer.update_one(one, row=1)
    assert (info.value.column, info.value.row, scorer.n_events) == (column, 1, 0)
    lines = "".join(json.dumps({k: v[i] for k, v in events.items()}) + "\n" for i in range(4))
    assert _stream(["--json", "--time-source", "events"], lines, monkeypatch) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out.splitlines()[-1])["summary"]["events"] == 3
    assert re.search(rf"line 2: column '{column}', event 2: {shown}", captured.err)


def test_a_sidecar_deleted_while_it_is_locked_is_not_the_one_held(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the creator of a sidecar deletes it after a refusal: a process that opened it just
    # before must not hold a lock on a file no longer at its path (a third process would
    # create and lock another, and two would own one checkpoint)
    path = tmp_path / "state.sqlite"
    key = lock.lock_path(path)
    key.write_text("")
    key.chmod(0o600)  # as a sidecar is made: an existing one must be private
    real = lock._flock
    calls: list[int] = []

    def deleted_first(where: Path, name: str, fd: int) -> None:
        real(where, name, fd)
        if not calls:
            os.unlink(name)  # the creator, done with its refusal
        calls.append(fd)

    monkeypatch.setattr(lock, "_flock", deleted_first)
    with lock.claim(path):
        held = lock._HELD[str(key)]
        assert len(calls) == 2
        assert os.path.samestat(os.fstat(held.fd), os.stat(key))
    assert key.exists()  # released without an error: the sidecar stays


def _iso_offset(minutes: int, form: str) -> str:
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return {"hh:mm": f"{sign}{hours:02}:{mins:02}", "hhmm": f"{sign}{hours:02}{mins:02}"}[form]


@pytest.mark.parametrize("form", ["hh:mm", "hhmm"])
def test_an_iso_offset_is_read_by_the_rule_of_recipient_tz_offset_min(form: str) -> None:
    # before: an ISO time's offset could be anything to +-23:59 (+14:01, -23:59), which no
    # clock uses and recipient_tz_offset_min refuses; now one range for both
    minutes = list(range(-1439, 1440))
    times = [f"2024-05-01T12:00:00{_iso_offset(m, form)}" for m in minutes]
    kept = rs.read_messages(
        {
            "conversation_id": list(range(len(times))),
            "timestamp": times,
            "sender_id": [1] * len(times),
            "recipient_id": [2] * len(times),
            "channel": ["direct"] * len(times),
        },
        errors="quarantine",
    )
    taken = sorted(int(c) for c in kept.conversations)
    assert taken == [i for i, m in enumerate(minutes) if -720 <= m <= 840]
    assert set(kept.quarantined.reason) == {
        "has a UTC offset that no clock uses: expected one from -12:00 to +14:00 (as "
        "recipient_tz_offset_min), like 2024-05-01T21:30:00+01:00"
    }


@pytest.mark.parametrize("text", ["2024-05-01T21:30:00+14:01", "2024-05-01T21:30:00-2359"])
def test_an_iso_offset_no_clock_uses_is_refused_online_as_in_batch(text: str) -> None:
    scorer = rs.OnlineScorer(rs.load_model())
    with pytest.raises(rs.SchemaError, match=r"event 3: '.*' has a UTC offset that no clock"):
        scorer.update_one({**_EVENT, "timestamp": text}, row=3)
    with pytest.raises(rs.SchemaError, match=r"row 0: '.*' has a UTC offset that no clock"):
        rs.read_messages({k: [v] for k, v in {**_EVENT, "timestamp": text}.items()})
