"""Hostile review hr70b: one adult per conversation across the evaluation (the labels'
``adult_id``: the split, the replay's sampling, the bootstrap of evaluate and compare, the
report's counts), and no headline interval from grooming of fewer than ten adults."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from _models import random_model
from sklearn.metrics import average_precision_score

import riskscore as rs
from riskscore.cli import main
from riskscore.evaluation import split_dataset
from riskscore.evaluation.compare import compare_models
from riskscore.evaluation.labels import adult_accounts, check_and_align
from riskscore.evaluation.metrics import weight_chunks
from riskscore.evaluation.replay import replay
from riskscore.evaluation.slices import MIN_GROOMING_FOR_INTERVAL
from riskscore.synthetic.data import SyntheticData
from riskscore.synthetic.labels import Labels

PER_GROOMER = 3


def _age_gate_liars(n_groomers: int, n_benign: int = 30) -> tuple[rs.MessageTable, pd.DataFrame]:
    """``n_groomers`` groomers who declare 13, each with ``PER_GROOMER`` children who
    declare 15 (grooming: a move to an external channel), and ``n_benign`` adults of 35
    with children of 14 (benign); six events each, an hour apart. The labels name each
    groomer as the adult; by declared age the older participant is the child."""
    t0 = 1_767_000_000
    rows, ages, adult_of, grooming = [], {}, [], []
    pairs = [(f"g{i}", f"k{i}_{j}", True) for i in range(n_groomers) for j in range(PER_GROOMER)]
    pairs += [(f"a{c}", f"b{c}", False) for c in range(n_benign)]
    for c, (adult, child, groom) in enumerate(pairs):
        ages[adult], ages[child] = (13.0, 15.0) if groom else (35.0, 14.0)
        adult_of.append(adult)
        grooming.append(groom)
        for k in range(6):
            sender, recipient = (adult, child) if k % 2 == 0 else (child, adult)
            channel = "external" if groom and k >= 3 else "direct"
            rows.append((c, t0 + 3600 * k + 60 * c, sender, recipient, channel))
    messages = rs.read_messages(
        {
            "conversation_id": [r[0] for r in rows],
            "timestamp": [r[1] for r in rows],
            "sender_id": [r[2] for r in rows],
            "recipient_id": [r[3] for r in rows],
            "sender_age": [ages[r[2]] for r in rows],
            "recipient_age": [ages[r[3]] for r in rows],
            "channel": [r[4] for r in rows],
        }
    )
    labels = pd.DataFrame(
        {
            "conversation_id": np.arange(len(pairs)),
            "is_grooming": grooming,
            "onset_index": np.where(grooming, 3, -1),
            "adult_id": adult_of,
        }
    )
    return messages, labels


@pytest.fixture(scope="module")
def model() -> rs.RiskModel:
    return rs.load_model()


@pytest.fixture(scope="module")
def liars() -> tuple[rs.MessageTable, pd.DataFrame]:
    return _age_gate_liars(MIN_GROOMING_FOR_INTERVAL)


def _labels_adults(messages: rs.MessageTable, labels: pd.DataFrame) -> np.ndarray:
    features = rs.extract_features(messages)
    assert features.conversation_id.tolist() == labels["conversation_id"].tolist()
    adults = labels["adult_id"].to_numpy().astype(str)
    # the set where the two definitions differ: every groomer is the younger by age
    assert (adults != features.adult_id).sum() == MIN_GROOMING_FOR_INTERVAL * PER_GROOMER
    return adults


def test_the_report_counts_the_labels_adults(
    liars: tuple[rs.MessageTable, pd.DataFrame], model: rs.RiskModel
) -> None:
    messages, labels = liars
    report = rs.evaluate(model, messages, labels, n_bootstrap=0, replay_events=0)
    assert (report.n_adults, report.n_grooming_adults) == (40, MIN_GROOMING_FOR_INTERVAL)
    assert len(np.unique(_labels_adults(messages, labels))) == report.n_adults


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_split_dataset_keeps_each_labelled_groomer_on_one_side(
    liars: tuple[rs.MessageTable, pd.DataFrame], seed: int
) -> None:
    """Was: the split drew the older account by declared age, here each child a groomer
    wrote to: one groomer's conversations landed in both training and test sets, the
    leak the split exists to prevent, while evaluate resampled the groomer as one."""
    messages, labels = liars
    table = pa.Table.from_pandas(labels, preserve_index=False)
    (train_messages, train), (test_messages, test) = split_dataset(
        messages, table, test_fraction=0.5, seed=seed
    )
    train_adults, test_adults = set(train.adult_id), set(test.adult_id)
    assert not train_adults & test_adults
    assert len(train_adults) + len(test_adults) == 40
    assert train_messages.n_conversations == len(train)
    assert test_messages.n_conversations == len(test)


def test_the_replay_samples_the_labels_adults(
    liars: tuple[rs.MessageTable, pd.DataFrame], model: rs.RiskModel
) -> None:
    """Was: the replay sampled the older account by declared age, so each of a groomer's
    three conversations was kept or dropped on its own (5, 7, 8, 9, 10 or 11 of 30), where the
    bootstrap draws the groomer with all three. Now a groomer is replayed whole or not."""
    messages, labels = liars
    counts = []
    for seed in range(6):
        report = rs.evaluate(model, messages, labels, n_bootstrap=0, replay_events=120, seed=seed)
        ed = report.early_detection
        assert ed is not None
        assert ed.sampled
        assert ed.grooming_adult_rate == pytest.approx(1 / 3)
        counts.append(ed.n_grooming)
    assert all(n % PER_GROOMER == 0 for n in counts), counts
    assert any(0 < n < MIN_GROOMING_FOR_INTERVAL * PER_GROOMER for n in counts), counts


def _sklearn_interval(
    y: np.ndarray, risks: list[np.ndarray], adults: np.ndarray, n: int, seed: int
) -> tuple[float, float]:
    """Percentile interval (95 %) of PR-AUC (one risk) or of its difference (two), under
    the project's draws of ``adults``."""
    _, codes = np.unique(adults, return_inverse=True)
    draws = np.vstack(list(weight_chunks(int(codes.max()) + 1, n, seed)))[:, codes]
    values = []
    for w in draws[1:]:
        if (w * y).sum() == 0:
            continue
        ap = [average_precision_score(y, r, sample_weight=w) for r in risks]
        values.append(ap[0] if len(ap) == 1 else ap[1] - ap[0])
    low, high = np.quantile(values, [0.025, 0.975])
    return float(low), float(high)


def test_evaluate_and_compare_resample_the_labels_adults(
    liars: tuple[rs.MessageTable, pd.DataFrame], model: rs.RiskModel
) -> None:
    messages, labels = liars
    adults = _labels_adults(messages, labels)
    features = rs.extract_features(messages)
    y = labels["is_grooming"].to_numpy()
    risk = model.predict_proba(features)
    report = rs.evaluate(model, messages, labels, n_bootstrap=40, seed=3, replay_events=0)
    assert report.pr_auc_ci == pytest.approx(_sklearn_interval(y, [risk], adults, 40, 3))
    other = random_model(2)
    found = compare_models(
        model,
        other,
        features,
        policy=rs.AlertPolicy.default(),
        is_grooming=y,
        adult_id=adults,
        n_bootstrap=40,
        seed=3,
    ).differences["pr_auc"]
    want = _sklearn_interval(y, [risk, other.predict_proba(features)], adults, 40, 3)
    assert (found["ci95_low"], found["ci95_high"]) == pytest.approx(want)


def test_grooming_of_too_few_adults_gets_no_headline_interval(model: rs.RiskModel) -> None:
    """Was: nine groomers' 27 conversations got headline and operating-point intervals (a
    slice of the same nine got none), and report.md announced a bootstrap of 50
    replicates. Now the slices' rule: the point estimates alone, and report.md says why."""
    messages, labels = _age_gate_liars(MIN_GROOMING_FOR_INTERVAL - 1)
    report = rs.evaluate(model, messages, labels, n_bootstrap=50, replay_events=0)
    assert report.n_grooming_adults == MIN_GROOMING_FOR_INTERVAL - 1
    assert not math.isnan(report.pr_auc)
    for name in ("pr_auc", "roc_auc", "brier", "ece", "recall_at_precision_90"):
        assert np.isnan(getattr(report, f"{name}_ci")).all(), name
    for point in report.operating_points:
        for name in ("precision", "recall", "f05", "adult_f05"):
            assert np.isnan(getattr(point, f"{name}_ci")).all(), (point.tier, name)
    text = report.to_markdown()
    assert "No intervals: the grooming conversations come from 9 adult accounts, fewer " in text
    assert "50 replicates" not in text
    assert "Review tier, point estimates only (grooming of too few adults for intervals, " in text
    assert "bootstrap intervals over adult accounts" not in text


def test_ten_grooming_adults_get_headline_intervals(
    liars: tuple[rs.MessageTable, pd.DataFrame], model: rs.RiskModel
) -> None:
    messages, labels = liars
    report = rs.evaluate(model, messages, labels, n_bootstrap=50, replay_events=0)
    assert np.isfinite(report.pr_auc_ci).all()
    assert np.isfinite(report.operating_point("review").recall_ci).all()
    assert "over adult accounts, 50 replicates, seed 0." in report.to_markdown()


def test_compare_gives_no_interval_from_too_few_grooming_adults(
    model: rs.RiskModel, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: `compare` drew paired intervals from nine groomers, where evaluate (and now
    the slices' rule everywhere) gives none; the console printed them as any other."""
    messages, labels = _age_gate_liars(MIN_GROOMING_FOR_INTERVAL - 1)
    features = rs.extract_features(messages)
    y = labels["is_grooming"].to_numpy()
    comparison = compare_models(
        model,
        random_model(2),
        features,
        policy=rs.AlertPolicy.default(),
        is_grooming=y,
        adult_id=labels["adult_id"].to_numpy(),
        n_bootstrap=40,
    )
    assert comparison.to_dict()["n_grooming_adults"] == MIN_GROOMING_FOR_INTERVAL - 1
    for key, d in comparison.differences.items():
        assert not math.isnan(d["difference"]), key
        assert math.isnan(d["ci95_low"]), key
        assert math.isnan(d["ci95_high"]), key
    enough = compare_models(
        model,
        random_model(2),
        rs.extract_features(_age_gate_liars(MIN_GROOMING_FOR_INTERVAL)[0]),
        policy=rs.AlertPolicy.default(),
        is_grooming=_age_gate_liars(MIN_GROOMING_FOR_INTERVAL)[1]["is_grooming"].to_numpy(),
        adult_id=_age_gate_liars(MIN_GROOMING_FOR_INTERVAL)[1]["adult_id"].to_numpy(),
        n_bootstrap=40,
    )
    assert not math.isnan(enough.differences["pr_auc"]["ci95_low"])


def test_compare_data_says_why_it_has_no_interval(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    messages, labels = _age_gate_liars(MIN_GROOMING_FOR_INTERVAL - 1)
    table = pa.Table.from_pandas(labels, preserve_index=False)
    SyntheticData(messages, Labels.from_arrow(table)).write(tmp_path / "data")
    argv = ["compare", "default", "default", "--data", str(tmp_path / "data")]
    assert main([*argv, "--bootstrap", "40"]) == 0
    out = capsys.readouterr().out
    assert "  no intervals: the grooming conversations come from 9 adult accounts, fewer " in out
    assert "95% CI" not in out


def test_split_dataset_splits_a_pandas_dataframe_of_labels_as_evaluate_reads_it(
    liars: tuple[rs.MessageTable, pd.DataFrame], model: rs.RiskModel
) -> None:
    """Was: TypeError "labels must be a dataclass such as synthetic.Labels, got <class
    'pandas.DataFrame'>" for the labels `evaluate` takes as they are."""
    messages, labels = liars
    frame = labels.iloc[::-1].reset_index(drop=True)  # rows in another order
    (train, train_labels), (test, test_labels) = split_dataset(messages, frame, seed=2)
    for events, part in ((train, train_labels), (test, test_labels)):
        assert isinstance(part, pd.DataFrame)
        assert part.index.tolist() == list(range(len(part)))
        assert len(part) == events.n_conversations
        assert part["conversation_id"].is_monotonic_decreasing  # the frame's own order
        ids = set(rs.extract_features(events).conversation_id.tolist())
        assert set(part["conversation_id"].tolist()) == ids
    assert not set(train_labels["adult_id"]) & set(test_labels["adult_id"])
    report = rs.evaluate(model, train, train_labels, n_bootstrap=0, replay_events=0)
    assert report.n_conversations == len(train_labels)


def test_a_replay_by_the_labels_adults_keeps_to_its_budget_on_average(
    model: rs.RiskModel,
) -> None:
    """Was: an adult's cost counted the conversations of the account alone, but a labelled
    adult who is the younger participant brings the older one's conversations into the
    replay too: replays of 2,000 events replayed 2,815 on average (74 of these 600
    conversations have such an adult). Over 100 seeds, within 10 % of the budget."""
    data = rs.synthetic.generate(600, prevalence=0.1, seed=5)
    features = rs.extract_features(data.messages)
    aligned = check_and_align(data.labels, features, data.messages)
    adults = adult_accounts(features, aligned)
    assert (adults != features.adult_id).sum() == 74
    events = [
        replay(
            model,
            rs.AlertPolicy.default(),
            data.messages,
            features,
            aligned.is_grooming,
            budget=2_000,
            seed=seed,
            adults=adults,
        ).n_events
        for seed in range(100)
    ]
    assert 1_600 <= np.mean(events) <= 2_200
