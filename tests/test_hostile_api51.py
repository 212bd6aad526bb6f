"""Hostile review api51: the public Python API fed what a platform's own code hands it
(odd file names, failing event sources, numpy values in a checkpoint's extra data)."""

from __future__ import annotations

import math
import re
import stat
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import riskscore as rs

EVENT = {
    "conversation_id": 1,
    "timestamp": 1_700_000_000,
    "sender_id": "a",
    "recipient_id": "b",
    "channel": "direct",
    "sender_age": 35,
    "recipient_age": 12,
}


@pytest.fixture(scope="module")
def model() -> rs.RiskModel:
    return rs.load_model()


@pytest.mark.parametrize("name", [":memory:", "file:state.sqlite", "file:s.sqlite?mode=memory"])
def test_a_checkpoint_named_as_sqlite_reads_a_special_name_is_that_file(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model: rs.RiskModel
) -> None:
    """Was: ``checkpoint(":memory:")`` returned as saved and wrote nothing (SQLite read the
    name as a database in memory: an empty file and a refused restore), and
    ``checkpoint("file:state.sqlite")`` wrote the state to ``state.sqlite`` (SQLite read a
    URI), readable by everyone, while restore read the empty private ``file:state.sqlite``.
    Now the file of that name holds the checkpoint, mode 0600, and no other file is made
    (its lock file aside)."""
    monkeypatch.chdir(tmp_path)
    scorer = rs.OnlineScorer(model)
    scorer.update_one(EVENT)
    scorer.checkpoint(name)
    scorer.release_checkpoints()
    assert (tmp_path / name).stat().st_size > 0
    assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == [name, f"{name}.lock"]
    restored = rs.OnlineScorer.restore(name, model)
    assert restored.score_of(1) == scorer.score_of(1)


def _events_then(events: list[dict[str, Any]], error: BaseException) -> Iterator[dict[str, Any]]:
    yield from events
    raise error


@pytest.mark.parametrize("error", [OSError("the broker went away"), KeyboardInterrupt()])
def test_update_many_keeps_the_alerts_when_the_events_source_fails(
    error: BaseException, model: rs.RiskModel
) -> None:
    """Was: only a refused event (``SchemaError``) carried the alerts of the events
    applied before it; a generator of events that raised midway (a broken connection, a
    Ctrl-C) lost them: the events stayed applied and their conversations counted as
    alerted, so those alerts were never raised by any later call. Now the exception,
    re-raised as it is, carries them too (``alerts``), with a note saying so."""
    events = list(rs.synthetic.generate(200, prevalence=0.15, seed=8).messages.iter_events())
    expected = [a.to_dict() for a in rs.OnlineScorer(model).update_many(events)]
    assert expected
    half = len(events) // 2
    scorer = rs.OnlineScorer(model)
    with pytest.raises(type(error)) as info:
        scorer.update_many(_events_then(events[:half], error))
    assert info.value is error
    assert scorer.n_events == half
    assert "the events before this stay applied" in "".join(error.__notes__)
    first = [a.to_dict() for a in info.value.alerts]  # type: ignore[attr-defined]
    rest = [a.to_dict() for a in scorer.update_many(events[half:])]
    assert first + rest == expected


@pytest.mark.parametrize(
    ("extra", "error", "message"),
    [
        ({"offset": np.int64(17)}, TypeError, "extra['offset']: 17 (int64) is not JSON data"),
        ({"lag": [0.5, math.nan]}, ValueError, "extra['lag'][1]: nan is not a finite number"),
        ({"at": Decimal("1.5")}, TypeError, "extra['at']: Decimal('1.5') (Decimal) is not JSON"),
        ({1: "a", "1": "b"}, TypeError, "extra: key 1 (int) is not text"),
        ({"x": {("a", 1): 2}}, TypeError, "extra['x']: key ('a', 1) (tuple) is not text"),
        (["offset", 17], TypeError, "extra: expected a mapping, found list"),
    ],
)
def test_a_checkpoint_extra_json_cannot_hold_is_refused_by_its_entry(
    extra: Any, error: type[Exception], message: str, tmp_path: Path, model: rs.RiskModel
) -> None:
    """Was: an ``extra`` holding a numpy integer (an offset taken from an array), a
    ``Decimal`` or NaN failed in ``json`` ("Object of type int64 is not JSON serializable",
    "Out of range float values are not JSON compliant") without naming ``extra`` or the
    entry; a key that is not text was written as text, so ``{1: "a", "1": "b"}`` came back
    as ``{"1": "b"}`` (two entries merged) and a list raised from ``dict()``. Now each is
    refused by its entry, before the file is touched."""
    scorer = rs.OnlineScorer(model)
    scorer.update_one(EVENT)
    path = tmp_path / "state.sqlite"
    with pytest.raises(error, match=re.escape(message)):
        scorer.checkpoint(path, extra=extra)
    assert not path.exists()
    kept = {"offset": 17, "files": ["a.jsonl", None], "lag": {"p50": 0.5}, "ok": True}
    scorer.checkpoint(path, extra=kept)
    scorer.release_checkpoints()
    assert rs.OnlineScorer.restore(path, model).checkpoint_extra == kept
