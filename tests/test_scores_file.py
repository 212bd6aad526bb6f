"""One schema of the scores file (``riskscore.policy.scores_table``): in memory and out of
core, in Parquet, CSV and JSON lines, the same columns, tiers and reasons."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

import riskscore as rs
from riskscore.batch.out_of_core import score_parquet
from riskscore.batch.score import score_events
from riskscore.policy import SCORE_COLUMNS, Tier, scores_table


@pytest.fixture(scope="module")
def data() -> rs.synthetic.SyntheticData:
    return rs.synthetic.generate(400, prevalence=0.1, seed=8)


@pytest.fixture(scope="module")
def events(data: rs.synthetic.SyntheticData, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("scores") / "events.parquet"
    pq.write_table(data.messages.to_arrow(), path, row_group_size=2_000)
    return path


def test_the_table_holds_the_policy_decision_and_the_reasons(
    data: rs.synthetic.SyntheticData,
) -> None:
    policy = rs.AlertPolicy.default()
    scores = rs.load_model().score(data.messages)
    table = scores_table(scores, policy)
    assert table.column_names == list(SCORE_COLUMNS)
    tiers = table["tier"].to_numpy()
    alerts = {a.conversation_id: a for a in policy.alerts(scores)}
    assert set(scores.conversation_id[tiers > 0].tolist()) == set(alerts)
    for cid, tier, band, reasons in zip(
        scores.conversation_id.tolist(),
        tiers.tolist(),
        table["age_band"].to_pylist(),
        table["reasons"].to_pylist(),
        strict=True,
    ):
        if cid in alerts:  # the alert's tier, band and reasons are the row's
            alert = alerts[cid]
            assert (Tier(tier), band) == (alert.tier, alert.age_band)
            assert [r["feature"] for r in reasons] == [r.feature for r in alert.reasons]
    assert set(tiers.tolist()) <= {0, 1, 2}


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl"])
def test_every_format_and_both_paths_write_the_one_schema(
    events: Path, tmp_path: Path, fmt: str
) -> None:
    in_memory = score_events(events, tmp_path / "memory", fmt=fmt)
    streamed = score_parquet(events, tmp_path / "streamed", fmt=fmt, chunk_rows=3_000)
    assert streamed.n_chunks > 1
    if fmt == "parquet":  # row groups differ: the tables are equal
        assert pq.read_table(in_memory.scores_path).equals(pq.read_table(streamed.scores_path))
    else:
        assert in_memory.scores_path.read_bytes() == streamed.scores_path.read_bytes()
    rows = _rows(in_memory.scores_path, fmt)
    assert list(rows[0]) == list(SCORE_COLUMNS)
    want = scores_table(in_memory.scores, rs.AlertPolicy.default()).to_pylist()
    assert [r["conversation_id"] for r in rows] == [w["conversation_id"] for w in want]
    for row, expected in zip(rows, want, strict=True):
        assert row["tier"] == expected["tier"]
        assert row["age_band"] == expected["age_band"]
        assert row["reasons"] == expected["reasons"]  # floats as shortest round-trip text
    assert any(r["reasons"] for r in rows)


def _rows(path: Path, fmt: str) -> list[dict[str, object]]:
    if fmt == "parquet":
        return pq.read_table(path).to_pylist()
    if fmt == "jsonl":
        return [json.loads(line) for line in path.read_text().splitlines()]
    table = pacsv.read_csv(path)
    rows = table.to_pylist()
    for row in rows:  # a CSV cell holds the reasons as JSON text
        assert isinstance(row["reasons"], str)
        row["reasons"] = json.loads(row["reasons"])
    return rows


def test_unknown_ages_are_null_and_tiers_never_nan(data: rs.synthetic.SyntheticData) -> None:
    table = scores_table(rs.load_model().score(data.messages), rs.AlertPolicy.default())
    child_age = table["child_age"].to_numpy(zero_copy_only=False)
    assert np.isnan(child_age).any()  # the data has children of unknown age
    assert table["tier"].null_count == 0
    assert table["age_band"].null_count == 0
