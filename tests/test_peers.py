"""The benchmark's peer implementations compute exactly riskscore's features."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

import riskscore as rs

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))


@pytest.fixture(scope="module")
def events() -> pa.Table:
    data = rs.synthetic.generate(400, prevalence=0.05, seed=8)
    rng = np.random.default_rng(8)
    table = data.messages.to_arrow()
    return table.take(pa.array(rng.permutation(table.num_rows)))  # peers must sort too


@pytest.mark.parametrize("peer", ["pandas_peer", "python_peer"])
def test_peer_features_equal_riskscore(peer: str, events: pa.Table) -> None:
    features = importlib.import_module(f"peers.{peer}").features
    expected = rs.extract_features(events)
    ids, values = features(events)
    np.testing.assert_array_equal(ids, expected.conversation_id)
    np.testing.assert_allclose(values, expected.values, rtol=0, atol=1e-9, equal_nan=True)
    # the comparison has teeth: every feature varies in this data
    assert np.all(np.nanstd(expected.values, axis=0)[:22] > 0)
