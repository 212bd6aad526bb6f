"""Checkpoints of the online scorer: SQLite (WAL), no pickle, exact resumption."""

from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _models import shifted as shifted_model
from checkpoint_helpers import reseal

import riskscore as rs
import riskscore.online.checkpoint as checkpoint


@pytest.fixture(scope="module")
def events() -> list[dict[str, Any]]:
    data = rs.synthetic.generate(800, prevalence=0.1, seed=21)
    return list(data.messages.iter_events())


@pytest.fixture(scope="module")
def model() -> rs.RiskModel:
    return rs.load_model()


def _alert_keys(alerts: list[rs.Alert]) -> list[tuple[Any, ...]]:
    return [(a.conversation_id, int(a.tier), a.event_index, a.timestamp, a.risk) for a in alerts]


def _checkpointed(
    model: rs.RiskModel, events: list[dict[str, Any]], path: Path, **options: Any
) -> rs.OnlineScorer:
    """A scorer (with ``options``) that has seen ``events``, checkpointed to ``path``."""
    scorer = rs.OnlineScorer(model, **options)
    scorer.update_many(events)
    scorer.checkpoint(path)
    return scorer


@pytest.mark.parametrize("cut", [1, 3_000, 11_111])
def test_restored_scorer_raises_exactly_the_alerts_of_an_uninterrupted_one(
    events: list[dict[str, Any]], model: rs.RiskModel, tmp_path: Path, cut: int
) -> None:
    policy = rs.AlertPolicy.default()
    whole = rs.OnlineScorer(model, policy, idle_expiry_s=5 * 86_400.0, cooldown_s=600.0)
    expected = whole.update_many(events)
    assert expected, "this sample is built to alert"

    first = rs.OnlineScorer(model, policy, idle_expiry_s=5 * 86_400.0, cooldown_s=600.0)
    before = first.update_many(events[:cut])
    path = tmp_path / "state.sqlite"
    first.checkpoint(path)
    again = rs.OnlineScorer.restore(path, model, policy)
    after = again.update_many(events[cut:])

    assert _alert_keys(before + after) == _alert_keys(expected)
    assert (again.n_events, again.n_expired, again.clock) == (
        whole.n_events,
        whole.n_expired,
        whole.clock,
    )
    assert again.n_conversations == whole.n_conversations
    for cid in list(whole._conversations)[-50:]:
        np.testing.assert_array_equal(again.features_of(cid), whole.features_of(cid))
        assert again.score_of(cid) == whole.score_of(cid)


def test_checkpoint_is_a_wal_sqlite_file_of_json_rows(
    events: list[dict[str, Any]], model: rs.RiskModel, tmp_path: Path
) -> None:
    scorer = rs.OnlineScorer(model, idle_expiry_s=math.inf)
    scorer.update_many(events[:500])
    path = tmp_path / "state.sqlite"
    scorer.checkpoint(path, extra={"lines": 500})
    scorer.update_many(events[500:900])
    scorer.checkpoint(path, extra={"lines": 900})  # replaces, never appends
    con = sqlite3.connect(path)
    try:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        meta = {k: json.loads(v) for k, v in con.execute("SELECT key, value FROM meta")}
        n_conv = con.execute("SELECT COUNT(*) FROM conversations").fetchone()[0]
        states = [json.loads(s) for (s,) in con.execute("SELECT state FROM conversations")]
    finally:
        con.close()
    assert meta["format"] == "riskscore-online-checkpoint"
    assert meta["schema_version"] == 5
    assert meta["extra"] == {"lines": 900}
    assert meta["counters"]["n_events"] == 900
    assert meta["config"]["idle_expiry_s"] is None  # infinity, stored as JSON null
    assert n_conv == scorer.n_conversations
    assert all(isinstance(s, list) for s in states)
    restored = rs.OnlineScorer.restore(path, model)
    assert restored.checkpoint_extra == {"lines": 900}
    assert restored.idle_expiry_s == math.inf


def test_restore_with_another_model_rescores(
    events: list[dict[str, Any]], model: rs.RiskModel, tmp_path: Path
) -> None:
    path = tmp_path / "state.sqlite"
    scorer = _checkpointed(model, events[:300], path)
    shifted = shifted_model(model, 1.0)
    restored = rs.OnlineScorer.restore(path, shifted)
    cid = events[299]["conversation_id"]
    fresh = rs.OnlineScorer(shifted)
    fresh.update_many(events[:300])
    assert restored.score_of(cid) == pytest.approx(fresh.score_of(cid), abs=1e-12)
    assert restored.score_of(cid) != scorer.score_of(cid)


def test_restore_refuses_what_is_not_a_checkpoint(model: rs.RiskModel, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        rs.OnlineScorer.restore(tmp_path / "missing.sqlite", model)
    other = tmp_path / "other.sqlite"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    con.execute("""INSERT INTO meta VALUES ('format', '"something else"')""")
    con.commit()
    con.close()
    other.chmod(0o600)  # this user's private file: refused for what it holds
    with pytest.raises(rs.RiskscoreError, match="not a riskscore online checkpoint"):
        rs.OnlineScorer.restore(other, model)
    with pytest.raises(rs.RiskscoreError, match="not a riskscore online checkpoint"):
        rs.OnlineScorer(model).checkpoint(other)  # never overwrites a foreign file
    text = tmp_path / "text.sqlite"
    text.write_text("hello")
    with pytest.raises(rs.RiskscoreError):
        rs.OnlineScorer.restore(text, model)


def test_a_checkpoint_of_an_earlier_version_is_refused_with_why(
    events: list[dict[str, Any]], model: rs.RiskModel, tmp_path: Path
) -> None:
    """Versions 2 to 4 counted a message to a room of 3 or 4 accounts as group contact, not
    as contact between each pair: restored, a pair's and an adult's tallies would mix both
    rules (an adult alone with two children kept its supervised share), so they are refused
    as version 1 is, with why and what to do."""
    new, old = tmp_path / "v5.sqlite", tmp_path / "old.sqlite"
    _checkpointed(model, events[:400], new, idle_expiry_s=math.inf)
    with checkpoint.read(new) as snap:
        meta = {k: v for k, v in snap.meta.items() if k != "checksums"}
        conversations = list(snap.conversations())
        accounts = list(snap.accounts())
    for version in (2, 3, 4):
        old.unlink(missing_ok=True)
        checkpoint.write(old, {**meta, "schema_version": version}, conversations, accounts)
        with pytest.raises(rs.CheckpointError) as info:
            rs.OnlineScorer.restore(old, model)
        assert f"schema version {version}, whose state counts messages to rooms of 3 or 4" in (
            str(info.value)
        )
        assert str(info.value).endswith("restart without it, the state is rebuilt from new events")
    old.unlink()
    checkpoint.write(old, {**meta, "schema_version": 1}, conversations, accounts)
    with pytest.raises(rs.CheckpointError, match="schema version 1; this riskscore reads"):
        rs.OnlineScorer.restore(old, model)


@pytest.mark.parametrize("kind", ["queue", "app"])
def test_a_checkpoint_is_never_written_into_another_database(
    model: rs.RiskModel, tmp_path: Path, kind: str
) -> None:
    other = tmp_path / "other.sqlite"
    if kind == "queue":
        rs.ReviewQueue(other).close()
    else:
        con = sqlite3.connect(other)
        con.execute("CREATE TABLE users (id INTEGER PRIMARY KEY)")
        con.commit()
        con.close()
    before = other.read_bytes()
    with pytest.raises(rs.CheckpointError, match="not a riskscore online checkpoint"):
        rs.OnlineScorer(model).checkpoint(other)
    assert other.read_bytes() == before


def test_restore_refuses_account_tallies_of_another_version(
    events: list[dict[str, Any]], model: rs.RiskModel, tmp_path: Path
) -> None:
    # A checkpoint of a version with fewer account tallies (6, before minor_events and
    # supervised_minor_events), its checksums written again: refused, saying why.
    path = tmp_path / "state.sqlite"
    _checkpointed(model, events[:300], path)
    con = sqlite3.connect(path)
    try:
        rows = list(con.execute("SELECT pos, state FROM accounts"))
        for pos, text in rows:
            state = json.loads(text)
            state[3] = state[3][:6]  # the tallies
            con.execute("UPDATE accounts SET state = ? WHERE pos = ?", (json.dumps(state), pos))
        con.commit()
    finally:
        con.close()
    reseal(path)
    with pytest.raises(rs.CheckpointError, match="tallies must hold 8 numbers, got 6: a check"):
        rs.OnlineScorer.restore(path, model)
