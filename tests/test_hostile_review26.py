"""Hostile review 26: label onsets that are no event index, empty paths on the command
line, an account features file dated beyond 2200, and an online clock that is no clock.

Each test failed on the code before its fix, but for one guard that passed on it too: a
clock in epoch seconds (a numpy integer) still sets the future limit."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import riskscore as rs
from riskscore.cli import main
from riskscore.evaluation.labels import check_and_align
from riskscore.features.account_file import ACCOUNT_FILE_METADATA_KEY
from riskscore.synthetic import Labels, labels_from_arrow

T0 = 1_767_225_600  # 2026-01-01


@pytest.fixture(scope="module")
def data() -> rs.synthetic.SyntheticData:
    return rs.synthetic.generate(40, prevalence=0.1, seed=26)


def _with_onsets(labels: Labels, onsets: pa.Array) -> pa.Table:
    table = labels.to_arrow()
    return table.set_column(table.schema.get_field_index("onset_index"), "onset_index", onsets)


def _grooming_row(labels: Labels) -> int:
    return int(np.flatnonzero(labels.is_grooming)[0])


# ------------------------------------------------------- labels: onsets that are no index


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (2.7, "is not a whole number"),  # was truncated to 2 and evaluated
        ("x", "is not a number"),  # was "invalid literal for int() with base 10: 'x'"
        (1e30, "is out of range"),  # was quoted as -9223372036854775808
    ],
)
def test_a_labels_onset_that_is_no_event_index_is_refused_by_row(
    data: rs.synthetic.SyntheticData, bad: Any, reason: str
) -> None:
    """Was: ``Labels.from_arrow`` cast ``onset_index`` with ``astype(int64)``: a fraction
    was cut to an index silently (``riskscore evaluate`` measured latencies from it),
    text failed with a bare int() message naming no column, and 1e30 wrapped to int64's
    smallest value, which the error then quoted."""
    labels = data.labels
    row = _grooming_row(labels)
    values: list[Any] = [float(v) if isinstance(bad, float) else str(v) for v in labels.onset_index]
    values[row] = bad
    with pytest.raises(rs.SchemaError, match=reason) as info:
        labels_from_arrow(_with_onsets(labels, pa.array(values)))
    assert (info.value.column, info.value.row, info.value.value) == ("onset_index", row, bad)
    assert f"row {row}" in str(info.value)


def test_a_labels_onset_of_booleans_is_refused_not_read_as_0_and_1(
    data: rs.synthetic.SyntheticData,
) -> None:
    """Was: a boolean ``onset_index`` column was read as the indexes 0 and 1."""
    labels = data.labels
    with pytest.raises(rs.SchemaError, match="is a boolean") as info:
        labels_from_arrow(_with_onsets(labels, pa.array(labels.is_grooming)))
    assert info.value.column == "onset_index"


def test_labels_given_in_memory_with_a_fractional_onset_are_refused_by_evaluation(
    data: rs.synthetic.SyntheticData,
) -> None:
    """Was: ``evaluate`` (``check_and_align``) cast the onsets of labels given in memory
    with ``np.asarray(..., dtype=int64)``, cutting 2.7 to 2; whole floats still read."""
    labels = data.labels
    row = _grooming_row(labels)
    onsets = labels.onset_index.astype(np.float64)
    features = rs.extract_features(data.messages)
    whole = Labels(**{**_fields(labels), "onset_index": onsets.copy()})
    aligned = check_and_align(whole, features, data.messages)
    assert aligned.onset_index.dtype == np.int64
    onsets[row] += 0.5
    with pytest.raises(rs.SchemaError, match="is not a whole number") as info:
        check_and_align(
            Labels(**{**_fields(labels), "onset_index": onsets}), features, data.messages
        )
    assert (info.value.column, info.value.row) == ("onset_index", row)


def _fields(labels: Labels) -> dict[str, Any]:
    return {name: getattr(labels, name) for name in Labels.__dataclass_fields__}


# ------------------------------------------------- the command line: an empty path is no path


@pytest.mark.parametrize(
    "argv",
    [
        ["generate", "--conversations", "20", "--seed", "1", "--out", ""],
        ["score", "EVENTS", "--out", ""],
        ["score", "", "--out", "out"],
        ["score", "EVENTS", "--out", "out", "--policy", ""],
        ["score", "EVENTS", "--out", "out", "--model", ""],
        ["report", "--db", "queue.sqlite", "--out", ""],
        ["export", "--db", "queue.sqlite", "--out", ""],
        ["queue", "--db", ""],
    ],
)
def test_an_empty_path_on_the_command_line_is_refused_not_read_as_the_working_directory(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
) -> None:
    """Was: every path argument was ``type=Path``, and ``Path("")`` is ``.``: ``--out ""``
    (an unset shell variable) wrote events, reports, DSA statements and NCMEC drafts into
    the working directory, and an empty events, policy, model or queue path was reported
    as the directory ``.``."""
    events = tmp_path / "events.parquet"
    pq.write_table(rs.synthetic.generate(10, seed=1).messages.to_arrow(), events)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    argv = [str(events) if a == "EVENTS" else a for a in argv]
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "is empty: give a path" in err.strip().splitlines()[-1]
    assert list(work.iterdir()) == []


# --------------------------------------- account features: a history beyond the time range


@pytest.mark.parametrize(
    ("key", "value"),
    [("history_end", 10**30), ("history_end", 2**63), ("history_start", 7_258_118_400)],
)
def test_an_account_file_dated_beyond_2200_is_refused_by_its_metadata(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], key: str, value: int
) -> None:
    """Was: ``history_start`` and ``history_end`` were checked only to be whole numbers
    >= 0: a file claiming a history up to 10**30 was read, and scoring events outside its
    history ended in an ``OverflowError`` traceback while the error message was written
    (``iso_utc`` of that end)."""
    data = rs.synthetic.generate(20, seed=2)
    history = rs.extract_account_features(data.messages)
    path = rs.write_account_features(history, tmp_path / "accounts.parquet")
    table = pq.read_table(path)
    meta = json.loads(table.schema.metadata[ACCOUNT_FILE_METADATA_KEY.encode()])
    meta[key] = value
    if key == "history_start":
        meta["history_end"] = value
    pq.write_table(
        table.replace_schema_metadata({ACCOUNT_FILE_METADATA_KEY: json.dumps(meta)}), path
    )
    with pytest.raises(rs.SchemaError, match=f"metadata '{key}' must be epoch seconds"):
        rs.read_account_features(path)
    early = data.messages.to_arrow().slice(0, 1)
    early = early.set_column(
        early.schema.get_field_index("timestamp"), "timestamp", pa.array([T0 - 86_400 * 400])
    )
    events = tmp_path / "events.parquet"
    pq.write_table(pa.concat_tables([data.messages.to_arrow(), early]), events)
    argv = ["score", str(events), "--accounts", str(path), "--out", str(tmp_path / "out")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"metadata '{key}' must be epoch seconds from 1970 up to 2200" in err


# ------------------------------------------------------ the online scorer: a clock of no time


EVENT = {"conversation_id": 1, "timestamp": T0, "sender_id": "a", "recipient_id": "b",
         "channel": "direct"}  # fmt: skip


@pytest.mark.parametrize(
    "clock",
    [
        lambda: T0 * 1000.0,  # milliseconds: lifted the future limit in silence
        lambda: math.nan,  # refused every event as "later than nan"
        lambda: "now",  # float() of text: a bare ValueError
        lambda: True,
    ],
)
def test_a_time_source_that_gives_no_epoch_seconds_is_named_as_the_clock(clock: Any) -> None:
    """Was: ``future_limit`` took ``float(time_source())`` as it came: a clock in
    milliseconds (1.7e12) lifted the future limit without a word, so an event dated 2199
    was applied; NaN refused every event as the event's fault ("later than nan")."""
    scorer = rs.OnlineScorer(rs.load_model(), time_source=clock)
    with pytest.raises(ValueError, match=r"time_source\(\) gave .* not epoch seconds") as info:
        scorer.update_one({**EVENT, "timestamp": 7_258_118_399})
    assert not isinstance(info.value, rs.SchemaError)  # the clock's fault, not the event's
    assert scorer.n_events == 0


def test_a_time_source_in_epoch_seconds_still_sets_the_limit() -> None:
    """Was (and is): a clock in epoch seconds, int or numpy, is the reference time."""
    scorer = rs.OnlineScorer(rs.load_model(), time_source=lambda: np.int64(T0), max_future_s=60)
    scorer.update_one({**EVENT, "timestamp": T0 + 60})
    with pytest.raises(rs.SchemaError, match="max_future_s"):
        scorer.update_one({**EVENT, "timestamp": T0 + 61})
