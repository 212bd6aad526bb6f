"""One JSON text per alert: the batch writer (in memory and out of core), ``riskscore
stream``, the Synapse module and the service write an alert as :meth:`Alert.to_json`
gives it, byte for byte."""

from __future__ import annotations

import io
import json
import math
import re
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import riskscore as rs
from riskscore.batch.alerts import alerts_table, write_alerts
from riskscore.batch.out_of_core import score_parquet
from riskscore.batch.shadow import read_conversation_ids
from riskscore.cli.stream import stream_lines
from riskscore.io.json_lines import write_json_lines
from riskscore.model.scores import Reason
from riskscore.policy import Alert, Tier

_LINE_RE = re.compile(r',"line":(\d+|null)\}$')


@pytest.fixture(scope="module")
def events() -> list[dict[str, Any]]:
    return list(rs.synthetic.generate(300, prevalence=0.3, seed=3).messages.iter_events())


def _batch_lines(alerts: list[Alert], path: Path) -> list[str]:
    write_alerts(alerts, path)
    return path.read_text(encoding="utf-8").splitlines()


def test_stream_writes_an_alert_as_the_batch_writer_does(
    events: list[dict[str, Any]], tmp_path: Path
) -> None:
    model, policy = rs.load_model(), rs.AlertPolicy.default()
    alerts = rs.OnlineScorer(model, policy).update_many(events)
    assert len(alerts) >= 5
    out = io.StringIO()
    stream_lines(
        rs.OnlineScorer(model, policy), [json.dumps(e) for e in events], out, io.StringIO()
    )
    streamed = out.getvalue().splitlines()
    assert len(streamed) == len(alerts)
    # the stream's line is the alert's record and its "line", nothing else changed
    records = [_LINE_RE.sub("}", line) for line in streamed]
    assert records == _batch_lines(alerts, tmp_path / "alerts.jsonl")
    assert records == [a.to_json() for a in alerts]


def test_batch_and_out_of_core_alerts_files_are_alert_to_json(tmp_path: Path) -> None:
    data = rs.synthetic.generate(300, prevalence=0.3, seed=3).messages
    result = rs.batch.score_events(data, tmp_path / "mem", fmt="jsonl")
    assert len(result.alerts) >= 5
    lines = result.alerts_path.read_text(encoding="utf-8").splitlines()
    assert lines == [a.to_json() for a in result.alerts]
    parquet = tmp_path / "events.parquet"
    pq.write_table(data.to_arrow(), parquet)
    ooc = score_parquet(parquet, tmp_path / "ooc", fmt="jsonl", chunk_rows=2_000)
    assert ooc.alerts_path.read_text(encoding="utf-8").splitlines() == lines


_FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=False),
    st.sampled_from([0.0, -0.0, 13.0, 1e15, 1e16, 1e-5, 1e-7, 0.0001, 2.0**53 + 2, 5e-324]),
    st.integers(-(10**6), 10**6).map(float),
)
_TEXT_IDS = st.one_of(
    st.text(min_size=1, max_size=12),
    st.integers(2**63, 2**80).map(str),  # integer ids beyond int64 are read as text
)
_INT_IDS = st.integers(-(2**63), 2**63 - 1)
_REASONS = st.lists(
    st.builds(Reason, st.text(max_size=8), _FLOATS, _FLOATS, st.text(max_size=20)), max_size=3
)


@st.composite
def _alerts(draw: st.DrawFn) -> list[Alert]:
    ids = _INT_IDS if draw(st.booleans()) else _TEXT_IDS  # one kind per column, as read
    n = draw(st.integers(0, 6))
    index = st.none() | st.integers(0, 2**40)
    return [
        Alert(
            draw(ids),
            draw(ids),
            draw(ids),
            draw(_FLOATS),
            draw(st.text(max_size=10)),
            draw(st.floats(0.0, 1.0)),
            draw(st.sampled_from([Tier.REVIEW, Tier.URGENT])),
            adult_age=draw(_FLOATS),
            reasons=tuple(draw(_REASONS)),
            event_index=draw(index),
            timestamp=draw(index),
        )
        for _ in range(n)
    ]


@settings(max_examples=150, deadline=None, database=None)
@given(_alerts())
def test_vectorized_alert_lines_equal_alert_to_json(alerts: list[Alert]) -> None:
    sink = io.BytesIO()
    write_json_lines(alerts_table(alerts), sink)
    lines = sink.getvalue().decode("utf-8").split("\n")[:-1]  # not splitlines: U+2028
    assert lines == [a.to_json() for a in alerts]
    for line, alert in zip(lines, alerts, strict=True):
        record = json.loads(line)
        assert type(record["child_age"]) is (
            float if math.isfinite(alert.child_age) else type(None)
        )


def test_readers_read_alerts_files_of_either_format(tmp_path: Path) -> None:
    """``riskscore compare --alerts`` and shadow runs read ids from alerts files written
    before this format (the stream's spaced, ASCII-escaped lines; the batch file's ``14``)
    as from those written now."""
    alerts = [
        Alert("caf\u00e9", 1, 2, 14.0, "13-15", 0.5, Tier.REVIEW),
        Alert(2**70, 3, 4, math.nan, "unknown", 0.9, Tier.URGENT),
    ]
    old_stream = "".join(json.dumps({**a.to_dict(), "line": 1}) + "\n" for a in alerts)
    old_batch = (
        '{"conversation_id":"café","child_age":14}\n{"conversation_id":1180591620717411303424}\n'
    )
    new = "".join(a.to_json(line=1) + "\n" for a in alerts)
    for i, text in enumerate((old_stream, old_batch, new)):
        path = tmp_path / f"{i}.jsonl"
        path.write_text(text, encoding="utf-8")
        assert read_conversation_ids(path) == ["caf\u00e9", 2**70]


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet", ".csv"])
def test_alerts_file_refuses_integer_and_text_ids_in_one_column(
    tmp_path: Path, suffix: str
) -> None:
    alerts = [
        Alert(6, "a", "c", 12.0, "b", 0.5, Tier.REVIEW),
        Alert("6", "a", "c", 12.0, "b", 0.5, Tier.REVIEW),
    ]
    with pytest.raises(ValueError, match=r"column 'conversation_id', alert 1: '6' is text"):
        write_alerts(alerts, tmp_path / f"alerts{suffix}")
    assert not (tmp_path / f"alerts{suffix}").exists()


def test_a_refused_id_in_an_alerts_file_is_named_by_its_first_reason(tmp_path: Path) -> None:
    path = tmp_path / "alerts.jsonl"
    path.write_text('{"conversation_id": 5}\n{"conversation_id": "x"}\n{"conversation_id": true}\n')
    with pytest.raises(rs.SchemaError, match=r"line 3: conversation_id True is a boolean"):
        read_conversation_ids(path)
