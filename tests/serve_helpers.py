"""Shared set-up of the ``riskscore serve`` tests: a configured app on temporary files."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import riskscore as rs
from riskscore.serve import ServeConfig

SESSION_KEY = b"test-session-key-0123456789abcdefghij"
PASSWORD = "a long test passphrase"


def config(tmp: Path, model: rs.RiskModel, **changes: Any) -> ServeConfig:
    """A service on files in ``tmp``: queue, checkpoint, timeline; plain-HTTP cookies."""
    tmp.mkdir(parents=True, exist_ok=True)
    policy = rs.AlertPolicy.default()
    checkpoint = tmp / "state.sqlite"

    def scorer() -> rs.OnlineScorer:
        if checkpoint.exists():
            return rs.OnlineScorer.restore(checkpoint, model, policy)
        return rs.OnlineScorer(model, policy)

    base = ServeConfig(
        db=tmp / "queue.sqlite",
        scorer=scorer,
        policy=policy,
        session_key=SESSION_KEY,
        checkpoint=checkpoint,
        timeline=tmp / "timeline.sqlite",
        secure_cookies=False,
    )
    return replace(base, **changes)
