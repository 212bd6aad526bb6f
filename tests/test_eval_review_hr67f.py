"""The evaluation's numbers checked by independent computation (review hr67f): splits of
ids beyond int64, the robustness worlds' PR-AUC (risks checked, re-weighting against a
simulated rare prevalence), slices against scikit-learn on the slice alone, early-detection
latency at the onset's edges."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score, roc_auc_score

import riskscore as rs
import riskscore.evaluation.evaluator as ev
from riskscore.evaluation import split_dataset
from riskscore.evaluation.online_states import online_peaks
from riskscore.evaluation.policy_check import check_policy
from riskscore.evaluation.replay import Replay
from riskscore.evaluation.robustness import RobustnessReport, evaluate_world
from riskscore.evaluation.slices import Slice, slice_replicates
from riskscore.synthetic.data import SyntheticData

#: Ids from 2**63 on: beyond int64, within uint64 (what Parquet stores as integers).
_BIG = np.uint64(2**63)


def _beyond_int64(n: int = 200) -> tuple[rs.MessageTable, rs.synthetic.Labels]:
    """``n`` generated conversations whose conversation and account ids are shifted past
    int64, as a platform's 64-bit unsigned keys are."""
    data = rs.synthetic.generate(n, prevalence=0.1, seed=3)
    cols = dict(data.messages.columns())
    for name in ("conversation_id", "sender_id", "recipient_id"):
        cols[name] = np.asarray(cols[name]).astype(np.uint64) + _BIG
    labels = dataclasses.replace(
        data.labels,
        conversation_id=data.labels.conversation_id.astype(np.uint64) + _BIG,
        adult_id=data.labels.adult_id.astype(np.uint64) + _BIG,
    )
    return rs.read_messages(cols), labels


def test_split_dataset_keeps_the_labels_of_ids_beyond_int64() -> None:
    """Was: the labels' raw uint64 ids were compared with np.isin to the events' ids (held
    as decimal text past int64): no label matched, and both sides came back with events
    and not one label, in silence."""
    messages, labels = _beyond_int64()
    (train, train_labels), (test, test_labels) = split_dataset(messages, labels, seed=1)
    assert len(train_labels) == train.n_conversations > 0
    assert len(test_labels) == test.n_conversations > 0
    assert len(train_labels) + len(test_labels) == len(labels)
    report = rs.evaluate(rs.load_model(), test, test_labels, n_bootstrap=0, replay_events=0)
    assert report.n_conversations == test.n_conversations


def test_a_split_of_files_with_ids_beyond_int64_evaluates(tmp_path: Path) -> None:
    """Was: read back from files, such ids are DecimalIds on both sides; the split copied
    the labels' ids to plain text (np.asarray), and evaluating the test side refused them
    as text beside the events' integers."""
    SyntheticData(*_beyond_int64()).write(tmp_path)
    data = SyntheticData.read(tmp_path)
    (_, _), (test, test_labels) = split_dataset(data.messages, data.labels, seed=1)
    report = rs.evaluate(rs.load_model(), test, test_labels, n_bootstrap=0, replay_events=0)
    assert report.n_conversations == len(test_labels) == test.n_conversations


def test_policy_check_online_counts_ids_beyond_int64_as_the_others() -> None:
    """Was: ``riskscore policy check --online`` (check_policy with online peaks) cast the
    replayed conversation ids to int64 and stopped with OverflowError on ids beyond it."""
    model, policy = rs.load_model(), rs.AlertPolicy.default()
    small = rs.synthetic.generate(150, prevalence=0.1, seed=3)
    messages, labels = _beyond_int64(150)

    def bands(msgs: rs.MessageTable, ids: np.ndarray) -> list[tuple[int, int, int]]:
        check = check_policy(
            policy, model.score(msgs), ids, labels.is_grooming, online=online_peaks(model, msgs)
        )
        assert check.online
        return [(b.n_conversations, b.alerts, b.true_alerts) for b in check.bands]

    assert bands(messages, labels.conversation_id) == bands(
        small.messages, small.labels.conversation_id
    )


# ------------------------------------------------------------------ robustness worlds


def _world(y: list[bool]) -> tuple[SimpleNamespace, SimpleNamespace]:
    n = len(y)
    labels = SimpleNamespace(is_grooming_true=np.array(y), scenario=np.array(["x"] * n))
    ages = {"child_age": np.full(n, 13.0), "adult_age": np.full(n, 35.0)}
    return SimpleNamespace(column=ages.__getitem__), labels


@pytest.mark.parametrize("bad", [math.nan, 1.5, -0.25, math.inf])
@pytest.mark.parametrize("with_policy", [False, True])
def test_a_worlds_risk_that_is_no_probability_is_refused_by_position(
    bad: float, with_policy: bool
) -> None:
    """Was: NaN stopped in scikit-learn ("Input contains NaN", no position), and 1.5 or
    -0.25 without a policy was ranked as a risk and gave a PR-AUC."""
    features, labels = _world([True, False, False])
    policy = rs.AlertPolicy.default() if with_policy else None
    with pytest.raises(ValueError, match=r"risk at position 1 is .*probability"):
        evaluate_world(
            "w",
            features,  # type: ignore[arg-type]
            labels,  # type: ignore[arg-type]
            np.array([0.9, bad, 0.1]),
            policy=policy,
            rare_prevalence=1e-4,
        )


def test_a_world_scored_with_too_few_risks_is_refused() -> None:
    features, labels = _world([True, False, False])
    with pytest.raises(ValueError, match=r"world 'w'.*shape \(2,\) for 3 conversations"):
        evaluate_world(
            "w",
            features,  # type: ignore[arg-type]
            labels,  # type: ignore[arg-type]
            np.array([0.9, 0.1]),
            policy=None,
            rare_prevalence=1e-4,
        )


def test_a_world_without_pr_auc_shows_na_in_its_row_as_every_column() -> None:
    """Was: the per-world table printed ``nan`` for the PR-AUC of a one-class sample,
    beside ``n/a`` in every other column and in the summary."""
    features, labels = _world([False, False, False])
    result = evaluate_world(
        "one-class",
        features,  # type: ignore[arg-type]
        labels,  # type: ignore[arg-type]
        np.array([0.2, 0.5, 0.9]),
        policy=rs.AlertPolicy.default(),
        rare_prevalence=1e-4,
    )
    table = RobustnessReport((result,), prevalence=0.0, rare_prevalence=1e-4).to_markdown()
    row = next(line for line in table.splitlines() if line.startswith("| one-class |"))
    assert "nan" not in row
    assert row.split(" | ")[3:5] == ["n/a", "n/a"]


def test_rare_pr_auc_equals_the_mean_of_samples_drawn_at_that_prevalence() -> None:
    """The re-weighting checked by simulation: keep the grooming conversations and draw
    benign ones (with replacement) until grooming is 1 in 100 or 1 in 1,000; the average
    precision of such samples averages to the re-weighted PR-AUC."""
    rng = np.random.default_rng(0)
    n_pos, n_neg = 40, 2_000
    y = np.r_[np.ones(n_pos, bool), np.zeros(n_neg, bool)]
    risk = np.round(np.r_[rng.beta(5, 2, n_pos), rng.beta(1, 8, n_neg)], 2)  # ties
    features, labels = _world(y.tolist())
    for rare in (1e-2, 1e-3):
        result = evaluate_world(
            "w",
            features,  # type: ignore[arg-type]
            labels,  # type: ignore[arg-type]
            risk,
            policy=None,
            rare_prevalence=rare,
        )
        m = round(n_pos * (1 - rare) / rare)
        drawn = np.r_[np.ones(n_pos, bool), np.zeros(m, bool)]
        simulated = [
            average_precision_score(drawn, np.r_[risk[y], rng.choice(risk[~y], m)])
            for _ in range(60)
        ]
        assert result.pr_auc_rare == pytest.approx(np.mean(simulated), abs=0.01)
        assert result.pr_auc == pytest.approx(average_precision_score(y, risk), abs=1e-12)


# ------------------------------------------------------------------ slices


@settings(max_examples=60)
@given(
    st.lists(
        st.tuples(
            st.booleans(),
            st.sampled_from([0.0, 0.1, 0.3, 0.5, 0.9, 1.0]),
            st.booleans(),
            st.integers(0, 2),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_slice_metrics_equal_sklearn_on_the_slice_alone(
    rows: list[tuple[bool, float, bool, int]],
) -> None:
    """Each slice's PR-AUC, ROC-AUC, precision and recall under bootstrap weights equal
    scikit-learn's on the slice's conversations alone; NaN where the slice (as weighted)
    lacks a class, an alert or grooming. Slices of one conversation and of one class
    included."""
    y = np.array([r[0] for r in rows])
    risk = np.array([r[1] for r in rows])
    mask = np.array([r[2] for r in rows])
    counts = np.array([r[3] for r in rows], dtype=float)
    alerted = risk >= 0.5
    weights = np.vstack([np.ones(len(y)), counts])
    out = slice_replicates((Slice("s", "v", mask),), y, risk, alerted, weights)
    if not mask.any():
        assert out == {}
        return
    for row, w in enumerate(weights):
        ys, rs_, ws, al = y[mask], risk[mask], w[mask], alerted[mask]
        pos, neg = ws[ys].sum(), ws[~ys].sum()
        if pos > 0 and neg > 0:
            want_pr = average_precision_score(ys, rs_, sample_weight=ws)
            want_roc = roc_auc_score(ys, rs_, sample_weight=ws)
            assert out["slice.0.pr_auc"][row] == pytest.approx(want_pr, abs=1e-12)
            assert out["slice.0.roc_auc"][row] == pytest.approx(want_roc, abs=1e-12)
        else:
            assert math.isnan(out["slice.0.pr_auc"][row])
            assert math.isnan(out["slice.0.roc_auc"][row])
        tp, n_alerted = (ws * (al & ys)).sum(), (ws * al).sum()
        if n_alerted > 0:
            assert out["slice.0.precision"][row] == pytest.approx(tp / n_alerted)
        else:
            assert math.isnan(out["slice.0.precision"][row])
        if pos > 0:
            assert out["slice.0.recall"][row] == pytest.approx(tp / pos)
        else:
            assert math.isnan(out["slice.0.recall"][row])


# ------------------------------------------------------------------ early detection


def test_latency_at_the_onsets_edges_by_hand(monkeypatch: pytest.MonkeyPatch) -> None:
    """Four conversations of five events an hour apart, onset at event 2: one alerted at
    event 1 (before the onset: latency 0, counted before), one at event 4 (2 events, 2
    hours), one never (out of the latency figures, in recall), and a benign one alerted."""
    t0 = 1_700_000_000
    rows = [(c, t0 + 3600 * k) for c in range(4) for k in range(5)]
    messages = rs.read_messages(
        {
            "conversation_id": [c for c, _ in rows],
            "timestamp": [t for _, t in rows],
            "sender_id": [f"a{c}" for c, _ in rows],
            "recipient_id": [f"k{c}" for c, _ in rows],
            "sender_age": [35.0] * len(rows),
            "recipient_age": [13.0] * len(rows),
            "channel": ["direct"] * len(rows),
        }
    )
    features = rs.extract_features(messages)
    y = np.array([True, True, True, False])
    onset = np.array([2, 2, 2, -1])
    first = np.array([1, 4, -1, 0])
    fake = Replay(
        position=np.arange(4),
        weight=np.ones(4),
        first_alert_index=first,
        first_alert_timestamp=np.where(first >= 0, t0 + 3600 * first, 0),
        n_events=20,
        n_conversations=4,
        grooming_adult_rate=1.0,
        other_adult_rate=1.0,
    )
    monkeypatch.setattr(ev, "replay", lambda *args, **kwargs: fake)
    p = ev.DEFAULT_LATENCY_P
    ed = ev._early_detection(None, None, messages, features, y, onset, 100, 0, p)  # type: ignore[arg-type]
    assert (ed.n_grooming, ed.n_detected, ed.n_alerted_before_onset) == (3, 2, 1)
    assert sorted(ed.latency_messages) == [0, 2]
    assert sorted(ed.latency_hours) == [0.0, 2.0]
    assert ed.precision == pytest.approx(2 / 3)
    assert ed.recall == pytest.approx(2 / 3)
    assert ed.f1 == pytest.approx(2 / 3)
    # Sadeque et al.: F1 x median of (1 - penalty(k)), k = latency + 1 events seen
    penalty = np.array([-1 + 2 / (1 + math.exp(-p * (k - 1))) for k in (1, 3)])
    assert ed.speed == pytest.approx(float(np.median(1 - penalty)))
    assert ed.latency_weighted_f1 == pytest.approx(ed.f1 * ed.speed)
    assert ed.median_latency_messages == 1.0
