"""One rule for events dated in the future, in batch and online.

Batch reading accepted any timestamp from 1970 to 2200: one event dated 2199 among events
of 2023 stretched its conversation's ``span_hours`` to about 1.5 million hours. Every
reader now refuses (or quarantines) an event dated more than ``max_future_s`` after the
time of reading, as the online scorer refuses one ahead of its clock, with the message of
one helper (:func:`riskscore.io.timestamps.future_reason`).

Tests pass ``now=`` wherever the outcome depends on the reference time, so that none
depends on today's date.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import riskscore as rs
from riskscore.batch.out_of_core import score_parquet
from riskscore.cli import main
from riskscore.exceptions import SchemaError
from riskscore.io import read_chunk, validate_columns
from riskscore.io.timestamps import (
    DEFAULT_MAX_FUTURE_S,
    DEFAULT_READ_MAX_FUTURE_S,
    future_reason,
)
from riskscore.online.options import DEFAULT_MAX_FUTURE_S as ONLINE_DEFAULT

T0 = 1_680_000_000  # 2023-03-28
NOW = 1_700_000_000  # 2023-11-14: the reference time of the tests ("the time of reading")
Y2199 = int(datetime(2199, 1, 1, tzinfo=UTC).timestamp())
BAD_ROW = 7


def _events(n: int = 10, future_row: int | None = BAD_ROW) -> dict[str, list[Any]]:
    """``n`` events of 2023 in two conversations; the one at ``future_row`` dated 2199."""
    ts = [T0 + 60 * i for i in range(n)]
    if future_row is not None:
        ts[future_row] = Y2199
    return {
        "conversation_id": [i % 2 for i in range(n)],
        "timestamp": ts,
        "sender_id": ["a" if i % 4 < 2 else "b" for i in range(n)],
        "recipient_id": ["b" if i % 4 < 2 else "a" for i in range(n)],
        "channel": ["direct"] * n,
        "sender_age": [35.0 if i % 4 < 2 else 13.0 for i in range(n)],
    }


def _write(events: dict[str, list[Any]], path: Path) -> Path:
    """``events`` written as read, in input order (ids as text, as files give them)."""
    import pyarrow as pa

    from riskscore.io.arrow import write_table

    return write_table(pa.table(events), path)


# ---------------------------------------------------------------- the rule


def test_the_defaults_are_one_day_online_and_five_years_in_batch() -> None:
    """Online, a live event dated ahead is an error; in batch, data may be replayed or
    synthetic and dated ahead on purpose, so only far (sentinel, corrupt) dates are refused."""
    assert DEFAULT_MAX_FUTURE_S == ONLINE_DEFAULT == 86_400.0
    assert DEFAULT_READ_MAX_FUTURE_S == 5 * 365 * 86_400.0


def test_batch_accepts_data_dated_a_year_ahead_by_default() -> None:
    year_ahead = NOW + 365 * 86_400
    events = {
        "conversation_id": [1, 1],
        "timestamp": [year_ahead, year_ahead + 60],
        "sender_id": ["a", "b"],
        "recipient_id": ["b", "a"],
        "channel": ["direct", "direct"],
    }
    assert len(rs.read_messages(events, now=NOW)) == 2


def test_a_2199_event_among_2023_events_is_refused_naming_row_and_value() -> None:
    with pytest.raises(SchemaError) as info:
        rs.read_messages(_events(), now=NOW)
    err = info.value
    assert (err.column, err.row, err.value) == ("timestamp", BAD_ROW, Y2199)
    message = str(err)
    assert message.startswith(f"column 'timestamp', row {BAD_ROW}: {Y2199} ")
    reading = "max_future_s=157680000 s after the time of reading (2023-11-14T22:13:20+00:00)"
    assert reading in message
    assert "pass max_future_s=inf or now=" in message
    assert "--max-future-s inf" in message


def test_the_default_reference_is_the_wall_clock() -> None:
    with pytest.raises(SchemaError, match="after the time of reading"):
        rs.read_messages(_events())
    # an event dated a little ahead (clocks differ) is kept
    ahead = _events(future_row=None)
    ahead["timestamp"][BAD_ROW] = int(datetime.now(UTC).timestamp()) + 3_600
    assert len(rs.read_messages(ahead)) == 10


def test_quarantine_sets_the_future_event_aside_and_keeps_the_rest() -> None:
    msgs = rs.read_messages(_events(), now=NOW, errors="quarantine")
    assert len(msgs) == 9
    assert int(msgs.timestamp.max()) < NOW
    (record,) = msgs.quarantined.to_records()
    assert (record["row"], record["column"], record["value"]) == (BAD_ROW, "timestamp", Y2199)
    assert "max_future_s=157680000" in record["reason"]
    span = rs.extract_features(msgs).column("span_hours")
    assert float(np.max(span)) < 1.0


def test_the_limit_is_inclusive_and_can_be_moved_or_lifted() -> None:
    events = _events(future_row=None)
    events["timestamp"][BAD_ROW] = NOW + 3_600
    assert len(rs.read_messages(events, now=NOW, max_future_s=3_600)) == 10
    with pytest.raises(SchemaError, match=r"max_future_s=3599 s"):
        rs.read_messages(events, now=NOW, max_future_s=3_599)
    assert len(rs.read_messages(_events(), max_future_s=math.inf)) == 10
    assert len(rs.read_messages(_events(), now=Y2199)) == 10  # data replayed, clock moved


def test_the_rule_comes_after_the_range_check() -> None:
    events = _events(future_row=None)
    events["timestamp"][BAD_ROW] = 7_258_118_400  # 2200-01-01: out of range, as before
    with pytest.raises(SchemaError, match="out of range"):
        rs.read_messages(events, now=NOW)
    with pytest.raises(SchemaError, match="out of range"):
        rs.read_messages(events, max_future_s=math.inf)


@pytest.mark.parametrize(
    ("keywords", "message"),
    [
        ({"max_future_s": -1}, "max_future_s must be a number of seconds >= 0, got -1"),
        ({"max_future_s": "inf"}, "max_future_s must be a number of seconds >= 0"),
        ({"now": math.nan}, "now must be epoch seconds from 1970 up to 2200"),
        ({"now": "2023-11-14"}, "now must be epoch seconds"),
        ({"now": True}, "now must be epoch seconds"),
    ],
)
def test_bad_options_are_refused(keywords: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        rs.read_messages(_events(future_row=None), **keywords)


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_every_file_kind_applies_the_rule(tmp_path: Path, suffix: str) -> None:
    path = _write(_events(), tmp_path / f"events{suffix}")
    with pytest.raises(SchemaError, match=f"row {BAD_ROW}.*max_future_s=157680000"):
        rs.read_messages(path, now=NOW)
    assert len(rs.read_messages(path, now=NOW, errors="quarantine")) == 9
    assert len(rs.read_messages(path, max_future_s=math.inf)) == 10


def test_iso_text_and_in_memory_tables_apply_the_rule() -> None:
    import pandas as pd

    events = _events()
    events["timestamp"] = [datetime.fromtimestamp(t, UTC).isoformat() for t in events["timestamp"]]
    with pytest.raises(SchemaError, match=r"2199-01-01T00:00:00\+00:00.*max_future_s"):
        rs.read_messages(pd.DataFrame(events), now=NOW)
    assert len(validate_columns(
        {k: np.asarray(v, dtype=object) for k, v in _events().items()},
        now=NOW, errors="quarantine",
    )) == 9  # fmt: skip


def test_read_chunk_names_the_row_of_the_whole_input() -> None:
    import pyarrow as pa

    table = pa.table(_events())
    rows = np.arange(100, 110, dtype=np.int64)
    with pytest.raises(SchemaError, match=f"row {100 + BAD_ROW}:"):
        read_chunk(table, rows, now=NOW)


def test_synthetic_data_dated_ahead_on_purpose_is_generated() -> None:
    start = int(datetime(2150, 1, 1, tzinfo=UTC).timestamp())
    data = rs.synthetic.generate(20, prevalence=0.1, seed=1, start=start)
    assert int(data.messages.timestamp.min()) >= start


# ---------------------------------------------------------------- out of core and CLI


def test_the_out_of_core_path_applies_the_same_rule(tmp_path: Path) -> None:
    events = _events(40, future_row=None)
    events["timestamp"][23] = Y2199
    path = _write(events, tmp_path / "events.parquet")
    with pytest.raises(SchemaError) as info:
        score_parquet(path, tmp_path / "out", chunk_rows=8, now=NOW)
    assert (info.value.column, info.value.row, info.value.value) == ("timestamp", 23, Y2199)
    assert "max_future_s=157680000 s after the time of reading" in str(info.value)
    assert not (tmp_path / "out" / "scores.parquet").exists()
    result = score_parquet(
        path, tmp_path / "q", chunk_rows=8, now=NOW, errors="quarantine", fmt="jsonl"
    )
    assert result.n_quarantined == 1
    (record,) = [
        json.loads(x) for x in (tmp_path / "q" / "quarantine.jsonl").read_text().splitlines()
    ]
    assert (record["row"], record["value"]) == (23, Y2199)
    lifted = score_parquet(path, tmp_path / "inf", chunk_rows=8, max_future_s=math.inf)
    assert (lifted.n_quarantined, lifted.n_events) == (0, 40)


@pytest.mark.parametrize("stream", [False, True])
def test_riskscore_score_refuses_and_can_lift_the_limit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], stream: bool
) -> None:
    path = _write(_events(), tmp_path / "events.parquet")
    chunks = ["--chunk-rows", "4"] if stream else []
    assert main(["score", str(path), "--out", str(tmp_path / "o"), *chunks]) == 2
    err = capsys.readouterr().err
    assert f"column 'timestamp', row {BAD_ROW}: {Y2199} " in err
    assert "after the time of reading" in err
    out = tmp_path / "q"
    args = ["score", str(path), "--out", str(out), "--errors", "quarantine", "--json", *chunks]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["quarantined"] == 1
    args = ["score", str(path), "--out", str(tmp_path / "i"), "--max-future-s", "inf", "--json"]
    assert main([*args, *chunks]) == 0
    assert json.loads(capsys.readouterr().out)["quarantined"] == 0


def test_riskscore_accounts_takes_the_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(_events(), tmp_path / "events.csv")
    assert main(["accounts", str(path), "--out", str(tmp_path / "a.parquet")]) == 2
    assert "after the time of reading" in capsys.readouterr().err
    args = ["accounts", str(path), "--out", str(tmp_path / "a.parquet"), "--max-future-s", "inf"]
    assert main(args) == 0


@pytest.mark.parametrize("value", ["-1", "soon", "nan"])
def test_the_cli_option_is_checked_when_parsed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    path = _write(_events(), tmp_path / "events.csv")
    with pytest.raises(SystemExit) as info:
        main(["score", str(path), "--out", str(tmp_path / "o"), "--max-future-s", value])
    assert info.value.code == 2
    assert "--max-future-s" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["score", "accounts", "monitor", "report", "compare", "train"])
def test_the_option_help_names_only_options_the_command_has(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # train, report, monitor and compare read without quarantine: their help used to
    # send users to an --errors option they do not have
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    has_errors = "[--errors" in text
    assert ("set aside with --errors quarantine" in text) == has_errors, command
    assert "--max-future-s SECONDS events dated more than" in text


# ---------------------------------------------------------------- online and batch alike


def test_online_and_batch_messages_come_from_the_one_helper() -> None:
    batch = future_reason(NOW, DEFAULT_MAX_FUTURE_S)
    with pytest.raises(SchemaError) as info:
        rs.read_messages(_events(), now=NOW, max_future_s=DEFAULT_MAX_FUTURE_S)
    assert str(info.value).endswith(f"{Y2199} {batch}")

    scorer = rs.OnlineScorer(rs.load_model(), time_source=lambda: NOW)
    event = {k: v[BAD_ROW] for k, v in _events().items()}
    with pytest.raises(SchemaError) as info:
        scorer.update_one(event)
    online = future_reason(NOW, DEFAULT_MAX_FUTURE_S, online="callable")
    assert str(info.value) == f"column 'timestamp', event 0: {Y2199} {online}"
    # the same words, with the online clock and its remedies
    shared = "is later than 2023-11-15T22:13:20+00:00: more than max_future_s=86400 s after"
    assert batch.startswith(shared)
    assert online.startswith(shared)
    assert "time_source='events'" in online
    assert online.endswith("the event was not applied")
