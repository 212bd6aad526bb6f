"""Shadow mode: a candidate model scored next to production, its alerts recorded apart and
never emitted; ``riskscore score --shadow-model``, ``stream --shadow-model`` and
``compare --shadow-run`` / ``--shadow-alerts``."""

from __future__ import annotations

import io
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

import riskscore as rs
from riskscore.batch import read_shadow_run
from riskscore.batch.shadow import read_conversation_ids
from riskscore.cli import main
from riskscore.moderation import ReviewQueue
from riskscore.moderation.learning import labels_from_queue
from riskscore.moderation.simulation import simulate_month
from riskscore.online.shadow import ShadowModel
from riskscore.online.state import ConversationState
from riskscore.policy import alert_changes

MONTH = {"n_conversations": 1_500, "prevalence": 0.05, "days": 14, "seed": 4}


@pytest.fixture(scope="module")
def model() -> rs.RiskModel:
    return rs.load_model()


@pytest.fixture(scope="module")
def candidate(model: rs.RiskModel) -> rs.RiskModel:
    """A candidate that differs from the shipped model: the same trees calibrated for a
    higher prevalence, so it alerts more conversations."""
    return model.at_prevalence(0.05)


@pytest.fixture(scope="module")
def events() -> list[dict[str, Any]]:
    # built to raise alerts through account features (tests/test_online_accounts.py)
    return list(rs.synthetic.generate(400, prevalence=0.1, seed=21).messages.iter_events())


def _keys(alerts: list[rs.Alert]) -> list[tuple[Any, ...]]:
    return sorted(
        (str(a.conversation_id), int(a.tier), a.event_index, a.timestamp, a.risk) for a in alerts
    )


# ---------------------------------------------------------------- online


@pytest.mark.parametrize("cooldown_s", [0.0, 6 * 3_600.0])
def test_a_shadow_records_its_own_alerts_and_never_changes_production(
    model: rs.RiskModel,
    candidate: rs.RiskModel,
    events: list[dict[str, Any]],
    cooldown_s: float,
) -> None:
    plain = rs.OnlineScorer(model, cooldown_s=cooldown_s, time_source="events")
    with_shadow = rs.OnlineScorer(
        model, cooldown_s=cooldown_s, time_source="events", shadow_model=candidate
    )
    shadow: list[rs.Alert] = []
    for event in events:
        # every alert returned is production's: the same as without a shadow
        assert _keys(with_shadow.update_one_all(event)) == _keys(plain.update_one_all(event))
        shadow += with_shadow.pop_shadow_alerts()
    alone = rs.OnlineScorer(candidate, cooldown_s=cooldown_s, time_source="events")
    expected = alone.update_many(events)
    # the shadow's alerts are those of the candidate scored on its own
    assert _keys(shadow) == _keys(expected)
    assert with_shadow.n_shadow_alerts == len(shadow)
    gained, _ = alert_changes(
        (a.conversation_id for a in rs.OnlineScorer(model).update_many(events)),
        (a.conversation_id for a in shadow),
    )
    assert gained, "the candidate is built to alert more: the comparison is not vacuous"


def test_a_scorer_without_a_shadow_never_runs_shadow_code(
    model: rs.RiskModel,
    candidate: rs.RiskModel,
    events: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def fail(*_: Any) -> None:
        raise RuntimeError("shadow code ran")

    monkeypatch.setattr(ShadowModel, "observe", fail)
    scorer = rs.OnlineScorer(model, time_source="events")
    assert scorer.update_many(events[:3_000])
    assert scorer.pop_shadow_alerts() == []
    assert scorer.n_shadow_alerts == 0
    assert scorer.shadow_model is None
    with pytest.raises(ValueError, match="no shadow model"):
        scorer.shadow_score_of(events[0]["conversation_id"])
    shadowed = rs.OnlineScorer(model, time_source="events", shadow_model=candidate)
    with pytest.raises(RuntimeError, match="shadow code ran"):  # the patch is on the live path
        shadowed.update_one(events[0])


def test_the_shadow_risk_equals_the_candidates_batch_risk(
    model: rs.RiskModel, candidate: rs.RiskModel
) -> None:
    data = rs.synthetic.generate(300, prevalence=0.1, seed=5)
    scorer = rs.OnlineScorer(
        model, idle_expiry_s=math.inf, time_source="events", shadow_model=candidate
    )
    scorer.update_many(data.messages.iter_events())
    features = rs.extract_features(data.messages)
    batch = candidate.predict_proba(features)
    online = np.array([scorer.shadow_score_of(c) for c in features.conversation_id.tolist()])
    np.testing.assert_allclose(online, batch, rtol=0, atol=1e-12)
    assert not np.allclose(online, model.predict_proba(features))


def test_a_checkpoint_keeps_the_shadows_alerts_and_another_shadow_starts_afresh(
    model: rs.RiskModel,
    candidate: rs.RiskModel,
    events: list[dict[str, Any]],
    tmp_path: Path,
) -> None:
    whole = rs.OnlineScorer(model, time_source="events", shadow_model=candidate)
    whole.update_many(events)
    expected = whole.pop_shadow_alerts()
    cut = 6_000
    first = rs.OnlineScorer(model, time_source="events", shadow_model=candidate)
    first.update_many(events[:cut])
    before = first.pop_shadow_alerts()
    assert before
    assert len(before) < len(expected)
    path = tmp_path / "state.sqlite"
    first.checkpoint(path)
    again = rs.OnlineScorer.restore(path, model, shadow_model=candidate)
    again.update_many(events[cut:])
    assert _keys(before + again.pop_shadow_alerts()) == _keys(expected)
    # another shadow model: none of the stored shadow tiers apply to it
    other = rs.OnlineScorer.restore(path, model, shadow_model=model.at_prevalence(0.2))
    assert all(c.shadow_tier == 0 for c in other._conversations.values())
    assert any(c.shadow_tier > 0 for c in again._conversations.values())
    # without a shadow, a restore keeps none and records nothing
    plain = rs.OnlineScorer.restore(path, model)
    plain.update_many(events[cut:])
    assert plain.pop_shadow_alerts() == []


def test_malformed_shadow_bookkeeping_in_a_checkpoint_row_is_refused() -> None:
    row = ConversationState("a", "b").to_json()
    assert len(row) == 4  # no shadow alert: the row keeps its earlier layout
    with pytest.raises(ValueError, match="shadow tier"):
        ConversationState.from_json("a", "b", [*row, 7, None])
    with pytest.raises(ValueError, match="shadow alert time"):
        ConversationState.from_json("a", "b", [*row, 1, "soon"])
    state = ConversationState.from_json("a", "b", [*row, 2, 100])
    assert (state.shadow_tier, state.shadow_alert_ts) == (2, 100)


# ---------------------------------------------------------------- batch: riskscore score


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A simulated month (queue), its events, and a candidate bundle."""
    root = tmp_path_factory.mktemp("month")
    queue = root / "queue.sqlite"
    simulate_month(queue, **MONTH)
    data = rs.synthetic.generate(
        MONTH["n_conversations"], prevalence=MONTH["prevalence"], seed=MONTH["seed"], days=14
    )
    events = rs.write_messages(data.messages, root / "events.parquet")
    bundle = root / "candidate"
    rs.save_model(rs.load_model().at_prevalence(0.05), bundle)
    return {"queue": queue, "events": events, "candidate": bundle, "root": root}


def _table(path: Path) -> list[dict[str, Any]]:
    if path.suffix == ".parquet":
        rows: list[dict[str, Any]] = pq.read_table(path).to_pylist()
        return rows
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_score_with_a_shadow_model_writes_its_outputs_apart(
    month: dict[str, Path], tmp_path: Path
) -> None:
    events, bundle = month["events"], month["candidate"]
    assert main(["score", str(events), "--out", str(tmp_path / "plain"), "--top", "0"]) == 0
    out = tmp_path / "run"
    argv = ["score", str(events), "--out", str(out), "--shadow-model", str(bundle), "--top", "0"]
    assert main(argv) == 0
    # production outputs are those of a run without a shadow
    for name in ("scores.parquet", "alerts.parquet"):
        assert _table(out / name) == _table(tmp_path / "plain" / name)
    candidate = rs.load_model(bundle)
    expected = rs.AlertPolicy.default().alerts(candidate.score(rs.read_messages(events)))
    shadow = _table(out / "shadow" / "alerts.parquet")
    assert [a["conversation_id"] for a in shadow] == [a.conversation_id for a in expected]
    assert len(_table(out / "shadow" / "scores.parquet")) == MONTH["n_conversations"]
    summary = json.loads((out / "shadow" / "shadow.json").read_text())
    production = [a["conversation_id"] for a in _table(out / "alerts.parquet")]
    gained, lost = alert_changes(production, [a["conversation_id"] for a in shadow])
    assert (summary["alerts_gained"], summary["alerts_lost"]) == (len(gained), len(lost))
    assert summary["alerts_gained"] > 0
    assert summary["queued"] is False
    assert summary["shadow"]["parameters_sha256"] == candidate.parameters_sha256()
    assert summary["production"]["alerts"] == len(production)


def test_streamed_scoring_with_a_shadow_equals_in_memory(
    month: dict[str, Path], tmp_path: Path
) -> None:
    events, bundle = month["events"], str(month["candidate"])
    base = ["score", str(events), "--shadow-model", bundle, "--format", "jsonl", "--top", "0"]
    assert main([*base, "--out", str(tmp_path / "memory")]) == 0
    assert main([*base, "--out", str(tmp_path / "chunks"), "--chunk-rows", "5000"]) == 0
    for name in ("alerts.jsonl", "scores.jsonl", "shadow.json"):
        a = (tmp_path / "memory" / "shadow" / name).read_text()
        assert a == (tmp_path / "chunks" / "shadow" / name).read_text()


def test_a_bad_shadow_model_is_one_line_and_writes_nothing(
    month: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    argv = ["score", str(month["events"]), "--out", str(out), "--shadow-model", str(tmp_path)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("riskscore score: error: ")
    assert err.count("\n") == 1
    assert not out.exists()


# ---------------------------------------------------------------- riskscore compare


@pytest.fixture(scope="module")
def shadow_run(month: dict[str, Path]) -> Path:
    out = month["root"] / "run"
    argv = ["score", str(month["events"]), "--out", str(out), "--shadow-model"]
    assert main([*argv, str(month["candidate"]), "--top", "0"]) == 0
    return out


def test_compare_a_shadow_run_with_the_decisions_since(
    month: dict[str, Path], shadow_run: Path, tmp_path: Path
) -> None:
    out = tmp_path / "compare"
    argv = ["compare", "--shadow-run", str(shadow_run), "--queue", str(month["queue"])]
    assert main([*argv, "--out", str(out)]) == 0
    result = json.loads((out / "compare.json").read_text())
    summary = json.loads((shadow_run / "shadow" / "shadow.json").read_text())
    assert result["alerts_gained_by_b"] == summary["alerts_gained"] > 0
    assert result["alerts_lost_by_b"] == summary["alerts_lost"]
    assert [m["name"] for m in result["models"]] == ["production", "shadow"]
    run = read_shadow_run(shadow_run)
    with ReviewQueue(month["queue"]) as queue:
        labels = labels_from_queue(queue)
        items = queue.items()
    decisions = result["decisions"]
    assert decisions["positive"] == len(labels.positive) > 0
    assert decisions["dismissed"] == len(labels.negative) > 0
    assert decisions["not_compared"] == 0
    for side, alerted in (("a", set(run.production)), ("b", set(run.shadow))):
        assert decisions[side]["alerted_positive"] == len(labels.positive & alerted)
        assert decisions[side]["alerted_dismissed"] == len(labels.negative & alerted)
    assert decisions["since"] is None

    # decisions made since the middle of the month: fewer, and counted the same way
    times = sorted(i.decided_at for i in items if i.decided_at is not None)
    middle = times[len(times) // 2]
    assert main([*argv, "--since", str(middle), "--out", str(out)]) == 0
    later = json.loads((out / "compare.json").read_text())["decisions"]
    with ReviewQueue(month["queue"]) as queue:
        since = labels_from_queue(queue, since=middle)
    assert later["positive"] + later["dismissed"] == len(since.positive) + len(since.negative)
    assert 0 < later["positive"] < decisions["positive"]
    assert later["since"].startswith("20")
    # after every decision: zero decided, still reported
    assert main([*argv, "--since", str(times[-1] + 1), "--out", str(out)]) == 0
    none = json.loads((out / "compare.json").read_text())["decisions"]
    assert (none["positive"], none["dismissed"], none["a"]["precision_on_decided"]) == (0, 0, None)


def test_labels_since_leave_out_earlier_decisions(month: dict[str, Path]) -> None:
    with ReviewQueue(month["queue"]) as queue:
        items = queue.items()
        every = labels_from_queue(queue)
        late = labels_from_queue(queue, since=max(i.decided_at or 0 for i in items))
    assert len(late.positive) + len(late.negative) <= 2
    assert len(every.positive) > len(late.positive)
    assert every.excluded <= late.excluded  # open items stay open (and left out)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["MODEL"], "give no bundles"),
        (["--policy", "policies/default.toml"], "--policy does not apply"),
        (["--since", "2026-01-01T00:00:00Z"], "--queue"),
        (["--since", "yesterday", "--queue", "QUEUE"], "neither epoch seconds, YYYY-MM-DD nor ISO"),
    ],
)
def test_compare_shadow_run_refuses_what_does_not_apply(
    month: dict[str, Path],
    shadow_run: Path,
    extra: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    subst = {"MODEL": str(month["candidate"]), "QUEUE": str(month["queue"])}
    argv = ["compare", "--shadow-run", str(shadow_run), *[subst.get(x, x) for x in extra]]
    try:
        code = main(argv)
    except SystemExit as refused:  # an option's value is checked while parsing (argparse)
        code = refused.code
    assert code == 2
    assert message in capsys.readouterr().err


def test_compare_refuses_a_missing_or_csv_shadow_run(
    month: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["compare", "--shadow-run", str(tmp_path)]) == 2
    assert "no shadow run" in capsys.readouterr().err
    out = tmp_path / "csv"
    argv = ["score", str(month["events"]), "--out", str(out), "--format", "csv", "--top", "0"]
    assert main([*argv, "--shadow-model", str(month["candidate"])]) == 0
    capsys.readouterr()
    assert main(["compare", "--shadow-run", str(out)]) == 2
    assert "lose the type of ids" in capsys.readouterr().err
    assert main(["compare", "--alerts", str(out / "alerts.csv"), "--events", "x"]) == 2
    assert "--alerts goes with --shadow-alerts" in capsys.readouterr().err


# ---------------------------------------------------------------- riskscore stream


def _stream(argv: list[str], text: str, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    return main(argv)


def test_stream_records_shadow_alerts_apart_and_compare_reads_them(
    month: dict[str, Path],
    events: list[dict[str, Any]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = "".join(json.dumps(e) + "\n" for e in events)
    base = ["stream", "--time-source", "events"]
    assert _stream(base, text, monkeypatch) == 0
    plain = capsys.readouterr().out
    shadow_file = tmp_path / "shadow.jsonl"
    argv = [*base, "--shadow-model", str(month["candidate"]), "--shadow-out", str(shadow_file)]
    assert _stream(argv, text, monkeypatch) == 0
    assert capsys.readouterr().out == plain  # stdout carries production alerts only
    shadow = [json.loads(line) for line in shadow_file.read_text().splitlines()]
    assert shadow
    assert all(r["shadow"] is True for r in shadow)
    assert all('"shadow"' not in line for line in plain.splitlines())
    production = tmp_path / "alerts.jsonl"
    production.write_text(plain)
    argv = ["compare", "--alerts", str(production), "--shadow-alerts", str(shadow_file), "--json"]
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    gained, lost = alert_changes(
        (json.loads(line)["conversation_id"] for line in plain.splitlines()),
        (r["conversation_id"] for r in shadow),
    )
    assert (result["alerts_gained_by_b"], result["alerts_lost_by_b"]) == (len(gained), len(lost))
    assert result["alerts_gained_by_b"] > 0
    assert _stream([*base, "--shadow-model", str(month["candidate"])], text, monkeypatch) == 2


def test_an_alerts_line_with_a_field_given_twice_is_refused(tmp_path: Path) -> None:
    """Was: the alerts file's lines were read by :func:`json.loads`, which keeps the last
    of two ``conversation_id`` fields (another reader keeps the first), while the shadow
    summary beside them was read by ``json_loads``, which refuses the line."""
    path = tmp_path / "alerts.jsonl"
    path.write_text('{"conversation_id": 1, "conversation_id": 2}\n')
    with pytest.raises(rs.SchemaError, match=r"line 1: not JSON \(field 'conversation_id' "):
        read_conversation_ids(path)
