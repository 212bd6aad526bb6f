"""What the tests of out-of-core scoring share: small synthetic events whose adults have
conversations in several chunks, and the check that scoring a Parquet file chunk by chunk
gives the scores and alerts of scoring it in memory.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

import riskscore as rs
from riskscore.batch.out_of_core import score_parquet
from riskscore.io.arrow import nan_to_null
from riskscore.policy import scores_table
from riskscore.policy.alerts import given_alerts


def _write(table: pa.Table, path: Path) -> Path:
    pq.write_table(table, path, row_group_size=1_000)
    return path


def _assert_same_as_in_memory(
    path: Path, out: Path, model: rs.RiskModel, chunk_rows: int, *, sort: bool = False
) -> rs.batch.out_of_core.OutOfCoreResult:
    """Scores and alerts as in memory; with ``sort``, the scores after sorting the rows
    by ``conversation_id`` (the documented order of a file with group rooms)."""
    expected = model.score(rs.read_messages(path))
    result = score_parquet(path, out, model=model, chunk_rows=chunk_rows)
    assert result.n_chunks > 1
    got = pq.read_table(result.scores_path)
    if sort:
        assert got["conversation_id"].to_pylist() != expected.conversation_id.tolist()
        got = got.sort_by("conversation_id")
    np.testing.assert_array_equal(got["conversation_id"].to_numpy(), expected.conversation_id)
    np.testing.assert_array_equal(got["risk"].to_numpy(), expected.risk)
    assert got.equals(nan_to_null(scores_table(expected, rs.AlertPolicy.default())))
    # the result's alerts carry the ids as given (hr70c), the policy's as the table holds them
    alerts = given_alerts(rs.AlertPolicy.default().alerts(expected), result.decimal_id_columns)
    want = [a.to_dict() for a in alerts]
    assert [a.to_dict() for a in result.alerts] == want
    assert pq.read_table(result.alerts_path).num_rows == len(want)
    return result


def small_events() -> pa.Table:
    """Small data where adults have conversations in several chunks."""
    data = rs.synthetic.generate(600, prevalence=0.05, seed=3)
    return data.messages.to_arrow()
