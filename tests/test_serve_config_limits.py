"""The service's limits are checked by ``ServeConfig`` itself, for every caller, not only
by ``riskscore serve``'s options. Was: a library caller could pass ``max_batch_ids=-1``
(a 500 after every batch with an id), ``signin_window_s=0`` (no rate limit on sign-ins),
``session_max_age_s=inf`` (an ``OverflowError`` at the first sign-in) and more (hostile
review 28)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

import riskscore as rs
from riskscore.serve import ServeConfig

_BAD = {
    "checkpoint_every_s": [0, -1.0, math.nan, True, "60"],
    "signin_window_s": [0, -5.0],
    "body_timeout_s": [0, math.inf, -1.0],
    "session_max_age_s": [0, math.inf],
    "max_batch_ids": [-1, 2.5, True],
    "max_body_bytes": [0, 1.5],
    "signin_attempts": [0, -3],
}


def _config(tmp_path: Path, **changes: Any) -> ServeConfig:
    policy = rs.AlertPolicy.default()
    return ServeConfig(
        db=tmp_path / "q.sqlite",
        scorer=lambda: rs.OnlineScorer(rs.load_model(), policy),
        policy=policy,
        session_key=b"k" * 32,
        **changes,
    )


@pytest.mark.parametrize(("field", "value"), [(f, v) for f, values in _BAD.items() for v in values])
def test_a_limit_out_of_its_range_is_refused_by_name(
    tmp_path: Path, field: str, value: object
) -> None:
    with pytest.raises(ValueError, match=f"^{field} must be"):
        _config(tmp_path, **{field: value})


def test_the_defaults_and_never_are_accepted(tmp_path: Path) -> None:
    config = _config(tmp_path, checkpoint_every_s=math.inf, max_batch_ids=0)
    assert config.signin_attempts == 5
