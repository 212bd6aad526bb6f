"""A reason is named only for a push its text shows: at least +0.01 log-odds. A push that
rounds to +0.00 ("the most private channel reached: direct (slightly raises risk, +0.00)")
says nothing a moderator can weigh, in batch and online alike. All data is synthetic."""

from __future__ import annotations

import numpy as np
import pytest

import riskscore as rs
from riskscore.model.scores import MIN_REASON_PUSH, top_reasons


def test_top_reasons_leave_out_a_push_shown_as_zero() -> None:
    """Was: a push of 0.004 was the third reason, written "+0.00"."""
    contributions = np.array([[2.0, 0.004, 0.3, -1.0], [0.0049, 0.005, 0.0, 0.0]])
    values = np.arange(8.0).reshape(2, 4)
    idx, _, contrib = top_reasons(contributions, values, 3)
    assert idx[0].tolist() == [0, 2, -1]
    assert idx[1].tolist() == [1, -1, -1]
    assert f"{MIN_REASON_PUSH:.2f}" == "0.01"  # the least push named is shown as +0.01
    assert np.nanmin(contrib) >= MIN_REASON_PUSH


@pytest.fixture(scope="module")
def scored() -> tuple[rs.ScoreTable, list[rs.Alert]]:
    data = rs.synthetic.generate(600, prevalence=0.1, seed=11)
    model = rs.load_model()
    scorer = rs.OnlineScorer(model, max_future_s=float("inf"), time_source="events")
    alerts = scorer.update_many(data.messages.iter_events())
    return model.score(data.messages, reasons_above=0.0), alerts


def test_no_reason_reads_plus_zero_in_batch_or_online(
    scored: tuple[rs.ScoreTable, list[rs.Alert]],
) -> None:
    """Was: one reason of this sample read "+0.00" in batch."""
    table, alerts = scored
    batch = [str(r) for i in range(len(table)) for r in table.reasons(i)]
    online = [str(r) for alert in alerts for r in alert.reasons]
    assert batch
    assert online
    assert not [t for t in batch + online if "+0.00)" in t]
