"""Replays of history have no wall clock to be ahead of.

`riskscore evaluate` reads data dated up to five years ahead (`--max-future-s`), but its
early-detection replay refused every event more than a day past the system clock, and a
simulated month longer than the days left until today did the same: synthetic or replayed
data dated ahead (a research data set made for next year, a long simulation) failed with
an error telling the user to pass options the command does not have.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

import riskscore as rs
from riskscore import synthetic
from riskscore.cli.entrypoint import main
from riskscore.moderation.simulation import simulate_month

YEAR_S = 365 * 86_400


def _dated_ahead(data: synthetic.SyntheticData, out: Path, shift_s: int) -> Path:
    data.write(out)
    events = pq.read_table(out / "events.parquet")
    at = events.schema.get_field_index("timestamp")
    moved = pc.add(events["timestamp"], pa.scalar(shift_s, events["timestamp"].type))
    pq.write_table(events.set_column(at, "timestamp", moved), out / "events.parquet")
    return out


def test_evaluate_replays_data_dated_a_year_ahead(tmp_path: Path) -> None:
    data = synthetic.generate(120, prevalence=0.1, seed=4)
    ahead = _dated_ahead(data, tmp_path / "ahead", 2 * YEAR_S)
    assert main(["evaluate", "--data", str(ahead), "--out", str(tmp_path / "r"), "--no-plots",
                 "--bootstrap", "40"]) == 0  # fmt: skip
    # the same replay as the data dated when generated
    same = rs.evaluate(rs.load_model(), data.messages, data.labels, n_bootstrap=40)
    moved = rs.evaluate(
        rs.load_model(),
        rs.read_messages(ahead / "events.parquet"),
        data.labels,
        n_bootstrap=40,
    )
    assert moved.to_dict()["early_detection"] == same.to_dict()["early_detection"]


def test_a_simulated_month_may_run_past_today(tmp_path: Path) -> None:
    now = np.datetime64("now").astype("datetime64[s]").astype(np.int64)
    days = int((now - synthetic.DEFAULT_START) // 86_400) + 30
    month = simulate_month(tmp_path / "q.sqlite", n_conversations=60, prevalence=0.1, days=days)
    assert month.alert_signals > 0
