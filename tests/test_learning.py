"""Learning from moderators' decisions: labels from the queue, retrain or recalibrate,
compared with the current model on the same adult-grouped folds."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import numpy as np
import pytest

import riskscore as rs
from riskscore.cli import main
from riskscore.exceptions import SchemaError
from riskscore.moderation import ReviewQueue
from riskscore.moderation.learning import LearningResult, labels_from_queue, learn_from_decisions
from riskscore.moderation.simulation import simulate_month
from riskscore.moderation.user_reports import UserReport
from riskscore.synthetic import DEFAULT_START

MONTH = {"n_conversations": 3_000, "prevalence": 0.05, "days": 14, "seed": 4}


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, rs.synthetic.SyntheticData]:
    path = tmp_path_factory.mktemp("month") / "queue.sqlite"
    simulate_month(path, **MONTH)
    events = rs.synthetic.generate(
        MONTH["n_conversations"],
        prevalence=MONTH["prevalence"],
        seed=MONTH["seed"],
        days=MONTH["days"],
    )
    return path, events


def test_labels_follow_the_decisions(month: tuple[Path, rs.synthetic.SyntheticData]) -> None:
    path, _ = month
    with ReviewQueue(path) as queue:
        labels = labels_from_queue(queue)
        items = queue.items()
    assert labels.positive
    assert labels.negative
    assert not labels.positive & labels.negative
    for item in items:
        if item.status in ("actioned", "escalated"):
            assert item.conversation_id in labels.positive
        elif item.status == "open" and item.conversation_id not in labels.positive:
            assert item.conversation_id in labels.excluded
    assert labels.from_reports <= labels.positive | labels.negative


def test_few_labels_recalibrate_and_keep_the_trees(
    month: tuple[Path, rs.synthetic.SyntheticData],
) -> None:
    path, data = month
    current = rs.load_model()
    result = learn_from_decisions(data.messages, path, current, seed=1)
    assert result.method == "recalibrated"
    assert result.model.trees is current.trees
    assert result.labels["positive"] < 200
    assert result.labels["presumed_negative"] > 0
    assert "unknown" in result.labels["selection_bias"]
    for side in ("candidate", "current"):
        assert 0.0 <= result.comparison[side]["pr_auc"] <= 1.0
    assert result.model.metadata["training"]["labels"]["queue_sha256"]


@pytest.fixture(scope="module")
def retrained(month: tuple[Path, rs.synthetic.SyntheticData]) -> LearningResult:
    """The month's decisions learned with a retrain (10 positives are enough), once."""
    path, data = month
    return learn_from_decisions(
        data.messages, path, rs.load_model(), seed=1, min_retrain_positives=10
    )


def test_enough_labels_retrain_on_the_same_inputs(
    month: tuple[Path, rs.synthetic.SyntheticData], retrained: LearningResult
) -> None:
    _, data = month
    current = rs.load_model()
    result = retrained
    assert result.method == "retrained"
    assert result.model.feature_names == current.feature_names
    risk = result.model.predict_proba(rs.extract_features(data.messages))
    assert np.all((risk >= 0) & (risk <= 1))


def test_decisions_about_conversations_missing_from_the_events_are_refused(
    month: tuple[Path, rs.synthetic.SyntheticData],
) -> None:
    path, _ = month
    other = rs.synthetic.generate(300, prevalence=0.05, seed=99)
    with pytest.raises(SchemaError, match="not in the events"):
        learn_from_decisions(other.messages, path, rs.load_model())


def test_decisions_matched_with_another_data_sets_conversations_are_refused(
    month: tuple[Path, rs.synthetic.SyntheticData], tmp_path: Path
) -> None:
    """Was (found by a hostile review): decisions were matched with conversations by id
    alone, and ids 0, 1, 2 ... recur in every data set, so another seed's events (as many
    conversations) took this queue's decisions as labels: `train --from-queue` wrote a
    bundle and `compare --queue` counted matches, exit 0."""
    path, _ = month
    other = rs.synthetic.generate(
        MONTH["n_conversations"], prevalence=0.05, seed=5, days=MONTH["days"]
    )
    with pytest.raises(SchemaError, match="between other accounts in the events than in"):
        learn_from_decisions(other.messages, path, rs.load_model())
    events = rs.write_messages(other.messages, tmp_path / "other.parquet")
    argv = ["train", "--from-queue", str(path), "--events", str(events)]
    assert main([*argv, "--out", str(tmp_path / "x")]) == 2
    compare = ["compare", "default", "default", "--events", str(events), "--queue", str(path)]
    assert main([*compare, "--out", str(tmp_path / "cmp")]) == 2


def test_train_from_queue_writes_a_bundle_with_its_label_source(
    month: tuple[Path, rs.synthetic.SyntheticData], tmp_path: Path
) -> None:
    path, data = month
    events = rs.write_messages(data.messages, tmp_path / "events.parquet")
    out = tmp_path / "from-decisions"
    argv = ["train", "--from-queue", str(path), "--events", str(events), "--out", str(out)]
    assert main(argv) == 0
    labels = rs.load_model(out).metadata["training"]["labels"]
    assert labels["source"] == "review queue decisions"
    assert labels["method"] == "recalibrated"
    assert main(["train", "--from-queue", str(path), "--out", str(tmp_path / "x")]) == 2


def test_compared_alerts_of_another_data_set_are_refused_with_the_queue(
    month: tuple[Path, rs.synthetic.SyntheticData],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Was: `compare --shadow-run` and `--shadow-alerts` with `--queue` matched decisions
    with alerts by conversation id alone (an alerts file holds no events), so another data
    set's alerts took this queue's decisions: now each record's two accounts are checked
    as the events' are."""
    path, data = month
    for name, events in (("own", data), ("other", rs.synthetic.generate(**{**MONTH, "seed": 5}))):
        given = rs.write_messages(events.messages, tmp_path / f"{name}.parquet")
        run = tmp_path / f"{name}-run"
        assert main(["score", str(given), "--out", str(run), "--shadow-model", "default"]) == 0
        expected = 0 if name == "own" else 2
        assert main(["compare", "--shadow-run", str(run), "--queue", str(path)]) == expected
        alerts = ["--alerts", str(run / "alerts.parquet")]
        shadow = ["--shadow-alerts", str(run / "shadow" / "alerts.parquet")]
        assert main(["compare", *alerts, *shadow, "--queue", str(path)]) == expected
        refusals = capsys.readouterr().err.count("between other accounts in the alerts files")
        assert refusals == (0 if name == "own" else 2)


def test_a_recalibrated_bundle_says_what_it_is(
    month: tuple[Path, rs.synthetic.SyntheticData], tmp_path: Path
) -> None:
    """Was (found by a hostile review): the recalibrated candidate kept the current model's
    metadata, so its manifest and card said "shifted to a prevalence of 0.01", 772,000
    training conversations and the shipped model's metrics, although its calibration was a
    new in-sample Platt fit at the queue's prevalence."""
    path, data = month
    events = rs.write_messages(data.messages, tmp_path / "events.parquet")
    out = tmp_path / "from-decisions"
    argv = ["train", "--from-queue", str(path), "--events", str(events), "--out", str(out)]
    assert main(argv) == 0
    model, current = rs.load_model(out), rs.load_model()
    training = model.metadata["training"]
    assert "metrics" not in model.metadata
    assert "recipe" not in training
    assert training["calibrated_prevalence"] == model.calibration.prevalence
    shipped = current.metadata["training"]
    assert training["calibrated_prevalence"] != shipped["calibrated_prevalence"]
    assert training["n_conversations"] < current.metadata["training"]["n_conversations"]
    assert "in sample" in training["calibration"]
    assert training["comparison"]["candidate"]["pr_auc"] >= 0
    base = training["base_model"]
    assert base["parameters_sha256"] == current.parameters_sha256()
    assert base["metrics"] == current.metadata["metrics"]
    assert base["training"] == current.metadata["training"]
    card = (out / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert "shifted to a prevalence of" not in card
    assert f"at a prevalence of\n{training['calibrated_prevalence']}" in card


def test_a_retrained_model_records_its_base_and_comparison(retrained: LearningResult) -> None:
    current = rs.load_model()
    result = retrained
    training = result.model.metadata["training"]
    assert training["comparison"] == result.comparison
    assert training["base_model"] == {"parameters_sha256": current.parameters_sha256()}
    assert training["calibrated_prevalence"] == result.model.calibration.prevalence
    assert "out-of-fold" in training["calibration"]


def _first_pair() -> tuple[rs.synthetic.SyntheticData, tuple[object, object, object]]:
    """A small synthetic sample and its first conversation, adult and child."""
    data = rs.synthetic.generate(300, prevalence=0.1, seed=3, days=7)
    features = rs.extract_features(data.messages)
    c, a, ch = (v.tolist()[0] for v in (features.conversation_id, features.adult_id,
                                        features.child_id))  # fmt: skip
    return data, (c, a, ch)


def test_a_conversation_actioned_before_since_is_never_a_negative(tmp_path: Path) -> None:
    """Was (found by a hostile review): `compare --queue --since T` dropped the decisions
    made before T, so a conversation actioned before T, reported again and dismissed
    after it ("already actioned") was counted as a dismissed conversation."""
    data, (c, a, ch) = _first_pair()
    t0 = DEFAULT_START + 3600
    with ReviewQueue(tmp_path / "q.sqlite", simulation=True) as queue:
        first = queue.add_report(UserReport(c, ch, a, 14.0, t0))
        queue.decide(a, "actioned", moderator="m1", item_ids=[first], at=t0 + 100)
        again = queue.add_report(UserReport(c, ch, a, 14.0, t0 + 3 * 86400))
        queue.decide(a, "dismissed", moderator="m2", item_ids=[again], at=t0 + 3 * 86400 + 100)
        since = t0 + 2 * 86400
        labels = labels_from_queue(queue, since=since)
        assert c in labels_from_queue(queue).positive
    assert c not in labels.negative
    assert c not in labels.positive
    assert labels.positive_before == {c}
    assert labels.on([c]).positive_before == {c}
    assert labels.counts()["excluded_positive_before_since"] == 1
    events = rs.write_messages(data.messages, tmp_path / "events.parquet")
    argv = ["compare", "default", "default", "--events", str(events)]
    argv += ["--queue", str(tmp_path / "q.sqlite"), "--since", str(since)]
    assert main([*argv, "--out", str(tmp_path / "cmp")]) == 0
    decisions = json.loads((tmp_path / "cmp" / "compare.json").read_text())["decisions"]
    assert decisions["dismissed"] == 0
    assert decisions["excluded_positive_before_since"] == 1


def test_a_conversation_actioned_before_since_alone_is_left_out(tmp_path: Path) -> None:
    """Was (found by a review of the fix above): a conversation actioned before T with
    nothing decided about it since was in no label set, so training took it as a presumed
    negative."""
    _, (c, a, ch) = _first_pair()
    t0 = DEFAULT_START + 3600
    with ReviewQueue(tmp_path / "q.sqlite", simulation=True) as queue:
        first = queue.add_report(UserReport(c, ch, a, 14.0, t0))
        queue.decide(a, "actioned", moderator="m1", item_ids=[first], at=t0 + 100)
        labels = labels_from_queue(queue, since=t0 + 2 * 86400)
    assert labels.positive_before == {c}
    assert c not in labels.negative
    assert labels.on([c]).positive_before == {c}


def test_evaluate_warns_on_the_events_a_bundle_was_fitted_on(
    month: tuple[Path, rs.synthetic.SyntheticData],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Was (found by a hostile review): the from-queue bundle recorded its queue but not
    its events, and `evaluate` on those very events (in-sample) said nothing."""
    path, data = month
    events, _ = data.write(tmp_path / "month")
    out = tmp_path / "from-decisions"
    argv = ["train", "--from-queue", str(path), "--events", str(events), "--out", str(out)]
    assert main(argv) == 0
    labels = rs.load_model(out).metadata["training"]["labels"]
    assert labels["events"] == str(events)
    assert labels["events_sha256"] == rs.model.bundle.sha256_of(events)
    capsys.readouterr()
    evaluate = ["evaluate", "--model", str(out), "--no-plots", "--bootstrap", "0"]
    evaluate += ["--replay-events", "0", "--json", "--data"]
    assert main([*evaluate, str(tmp_path / "month"), "--out", str(tmp_path / "ev")]) == 0
    captured = capsys.readouterr()
    assert "in-sample" in captured.err
    assert "in-sample" in json.loads(captured.out)["warnings"][0]
    other = rs.synthetic.generate(300, prevalence=0.1, seed=9)
    other.write(tmp_path / "other")
    assert main([*evaluate, str(tmp_path / "other"), "--out", str(tmp_path / "ev2")]) == 0
    captured = capsys.readouterr()
    assert "in-sample" not in captured.err
    assert json.loads(captured.out)["warnings"] == []


def test_a_queue_of_text_ids_against_integer_ids_names_the_kinds(tmp_path: Path) -> None:
    """Was (found by a hostile review): "30 decided conversation(s) are not in the events
    (e.g. "0", "1", "10")", without saying that the queue's ids are text and the events'
    integers; now said by the rule of label_positions, as for a labels file."""
    data = rs.synthetic.generate(300, prevalence=0.1, seed=3, days=7)
    features = rs.extract_features(data.messages)
    labels = data.labels
    truth = dict(zip(labels.conversation_id.tolist(), labels.is_grooming.tolist(), strict=True))
    ids = features.conversation_id.tolist()
    rows = zip(ids, features.adult_id, features.child_id, strict=True)
    t0 = DEFAULT_START + 3600
    with ReviewQueue(tmp_path / "q.sqlite", simulation=True) as queue:
        for k, (c, a, ch) in enumerate(list(rows)[:40]):
            item = queue.add_report(UserReport(str(c), str(ch), str(a), 14.0, t0 + k))
            outcome = "actioned" if truth[c] else "dismissed"
            queue.decide(str(a), outcome, moderator="m", item_ids=[item], at=t0 + 10**5 + k)
    with pytest.raises(SchemaError, match=r"conversation ids are text, the messages' are int"):
        learn_from_decisions(data.messages, tmp_path / "q.sqlite", rs.load_model())


def test_compare_json_is_private(tmp_path: Path) -> None:
    """Was (found by a hostile review): compare.json, which lists alerted conversations,
    was written with the umask's mode (0644) beside alerts files of mode 0600."""
    data = rs.synthetic.generate(200, prevalence=0.1, seed=3, days=7)
    events = rs.write_messages(data.messages, tmp_path / "events.parquet")
    argv = ["compare", "default", "default", "--events", str(events)]
    assert main([*argv, "--out", str(tmp_path / "cmp")]) == 0
    assert stat.S_IMODE((tmp_path / "cmp" / "compare.json").stat().st_mode) == 0o600
