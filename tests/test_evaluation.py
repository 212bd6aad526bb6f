"""Evaluation: metrics against scikit-learn, bootstrap, early detection, label checks, CLI."""

from __future__ import annotations

import dataclasses
import json
import math
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from _models import counting_model
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

import riskscore as rs
import riskscore.evaluation.metrics as em
from riskscore.cli import main
from riskscore.evaluation import DEFAULT_LATENCY_P, EvaluationReport
from riskscore.evaluation.replay import latency_penalty, replay
from riskscore.evaluation.slices import MIN_GROOMING_FOR_INTERVAL


@pytest.fixture(scope="module")
def data() -> rs.synthetic.SyntheticData:
    return rs.synthetic.generate(1500, prevalence=0.05, seed=21)


@pytest.fixture(scope="module")
def model() -> rs.RiskModel:
    return rs.load_model()


@pytest.fixture(scope="module")
def report(data: rs.synthetic.SyntheticData, model: rs.RiskModel) -> EvaluationReport:
    return rs.evaluate(model, data.messages, data.labels, n_bootstrap=40, seed=5)


# ------------------------------------------------------------------ metrics


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_weighted_metrics_equal_sklearn_with_ties_and_weights(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 400
    y = rng.random(n) < 0.2
    risk = np.round(np.clip(rng.normal(0.3 + 0.3 * y, 0.2), 0, 1), 2)  # many ties
    counts = rng.integers(0, 4, size=n).astype(np.float64)
    weights = np.vstack([np.ones(n), counts])
    ranking = em.ranking_metrics(y, risk, weights)
    calib = em.calibration_metrics(y, risk, weights)
    for row, w in enumerate([None, counts]):
        assert ranking["pr_auc"][row] == pytest.approx(
            average_precision_score(y, risk, sample_weight=w), abs=1e-12
        )
        assert ranking["roc_auc"][row] == pytest.approx(
            roc_auc_score(y, risk, sample_weight=w), abs=1e-12
        )
        assert calib["brier"][row] == pytest.approx(
            brier_score_loss(y, risk, sample_weight=w), abs=1e-12
        )


def test_recall_at_precision_picks_the_lowest_threshold_that_keeps_precision() -> None:
    y = np.array([1, 1, 0, 1, 0, 0, 1, 0], dtype=bool)
    risk = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2])
    out = em.ranking_metrics(y, risk, np.ones((1, 8)), min_precision=0.75)
    # threshold 0.6: tp 3, fp 1, precision 0.75, recall 3/4
    assert out["recall_at_precision"][0] == pytest.approx(0.75)
    assert out["threshold_at_precision"][0] == pytest.approx(0.6)


def test_ece_by_hand() -> None:
    y = np.array([0, 1, 0, 0], dtype=bool)
    risk = np.array([0.05, 0.05, 0.95, 0.95])
    out = em.calibration_metrics(y, risk, np.ones((1, 4)), n_bins=10)
    # bin 0: mean risk 0.05, rate 0.5, half the data; bin 9: 0.95 vs 0, half
    assert out["ece"][0] == pytest.approx(0.5 * 0.45 + 0.5 * 0.95)


def test_decision_metrics_and_adult_level_by_hand() -> None:
    y = np.array([1, 0, 0, 1, 0], dtype=bool)
    alerted = np.array([1, 1, 0, 0, 0], dtype=bool)
    conv = em.decision_metrics(y, alerted, np.ones((1, 5)), beta=0.5)
    assert (conv["precision"][0], conv["recall"][0]) == (0.5, 0.5)
    assert conv["f"][0] == pytest.approx(0.5)
    adult = np.array([0, 0, 1, 2, 2])  # adult 0 groomer flagged, 1 innocent, 2 groomer missed
    flagged = em.group_any(adult, alerted, 3)
    truth = em.group_any(adult, y, 3)
    assert flagged.tolist() == [True, False, False]
    assert truth.tolist() == [True, False, True]
    out = em.decision_metrics(truth, flagged, np.ones((1, 3)))
    assert (out["precision"][0], out["recall"][0]) == (1.0, 0.5)
    nothing = em.decision_metrics(y, np.zeros(5, dtype=bool), np.ones((1, 5)))
    assert math.isnan(nothing["precision"][0])


def test_cluster_bootstrap_weighs_an_adults_conversations_together() -> None:
    adult = np.array(["a", "a", "b", "c", "c", "c"])
    per_adult, codes = em.cluster_weights(adult, 50, seed=3)
    weights = per_adult[:, codes]
    assert per_adult.shape == (50, 3)
    np.testing.assert_array_equal(per_adult.sum(axis=1), 3)  # three adults drawn each time
    np.testing.assert_array_equal(weights[:, 0], weights[:, 1])
    np.testing.assert_array_equal(weights[:, 3], weights[:, 5])
    again, _ = em.cluster_weights(adult, 50, seed=3)
    np.testing.assert_array_equal(per_adult, again)


def test_latency_penalty_is_zero_at_first_message_and_half_after_ten() -> None:
    assert latency_penalty(np.array([1.0]), DEFAULT_LATENCY_P)[0] == pytest.approx(0.0)
    assert latency_penalty(np.array([11.0]), DEFAULT_LATENCY_P)[0] == pytest.approx(0.5)
    assert np.all(np.diff(latency_penalty(np.arange(1.0, 100.0), 0.05)) > 0)


# ------------------------------------------------------------------ evaluate


def test_headline_metrics_match_sklearn_and_have_intervals(
    report: EvaluationReport, data: rs.synthetic.SyntheticData, model: rs.RiskModel
) -> None:
    risk = model.predict_proba(rs.extract_features(data.messages))
    y = data.labels.is_grooming
    assert report.pr_auc == pytest.approx(average_precision_score(y, risk), abs=1e-12)
    assert report.roc_auc == pytest.approx(roc_auc_score(y, risk), abs=1e-12)
    for value, (low, high) in [
        (report.pr_auc, report.pr_auc_ci),
        (report.roc_auc, report.roc_auc_ci),
        (report.recall_at_precision_90, report.recall_at_precision_90_ci),
    ]:
        assert 0.0 <= low < high <= 1.0
        assert low - 0.05 <= value <= high + 0.05
    assert report.n_grooming == int(y.sum())
    assert report.n_adults == len(np.unique(data.labels.adult_id))


def test_operating_points_follow_the_policy(
    report: EvaluationReport, data: rs.synthetic.SyntheticData, model: rs.RiskModel
) -> None:
    X = rs.extract_features(data.messages)
    tiers = rs.AlertPolicy.default().tiers(
        model.predict_proba(X), X.column("child_age"), X.column("adult_age")
    )
    review, urgent = report.operating_point("review"), report.operating_point("urgent")
    assert review.n_alerts == int((tiers >= 1).sum())
    assert urgent.n_alerts == int((tiers == 2).sum())
    assert review.alerts_per_million == pytest.approx(1e6 * review.n_alerts / len(tiers))
    assert review.recall >= urgent.recall
    assert 0.0 < review.adult_f05 <= 1.0
    with pytest.raises(KeyError, match="review"):
        report.operating_point("none")


def test_slices_partition_the_conversations(report: EvaluationReport) -> None:
    for by in ("child_age_band", "max_channel", "child_age_known"):
        rows = [s for s in report.slices if s.by == by]
        assert sum(s.n_conversations for s in rows) == report.n_conversations
        assert sum(s.n_grooming for s in rows) == report.n_grooming
    adults_18 = next(s for s in report.slices if s.value == "18+")
    if adults_18.n_grooming == 0:
        assert math.isnan(adults_18.pr_auc)


def test_slices_carry_bootstrap_intervals_around_their_point_estimates(
    data: rs.synthetic.SyntheticData, model: rs.RiskModel, report: EvaluationReport
) -> None:
    """Was: slices had no intervals (a recall over 3 grooming conversations read as firmly
    as the headline). Point estimates are the unweighted metrics of the slice."""
    features = rs.extract_features(data.messages)
    risk = model.predict_proba(features)
    policy = rs.AlertPolicy.default()
    alerted = policy.tiers(risk, features.column("child_age"), features.column("adult_age")) > 0
    y = np.asarray(data.labels.is_grooming_true, dtype=bool)  # generator order = table order
    assert (features.conversation_id == data.labels.conversation_id).all()
    band = policy.band_index(features.column("child_age"))
    young = next(s for s in report.slices if s.by == "child_age_band")
    mask = band == 0
    want = em.decision_metrics(y[mask], alerted[mask], np.ones((1, int(mask.sum()))))
    assert young.recall == pytest.approx(float(want["recall"][0]))
    checked = few = 0
    for s in report.slices:
        for name in ("pr_auc", "roc_auc", "precision", "recall"):
            point, (low, high) = getattr(s, name), getattr(s, f"{name}_ci")
            if math.isnan(point):
                continue
            if s.n_grooming_adults < MIN_GROOMING_FOR_INTERVAL:
                # a bootstrap of so few cases says less than its interval would show
                assert math.isnan(low), (s.by, s.value, name)
                assert math.isnan(high), (s.by, s.value, name)
                few += 1
                continue
            assert low <= high
            checked += 1
    assert checked > 10
    assert few > 0  # the sample has such slices: the rule is exercised
    wide = [s for s in report.slices if s.n_grooming_adults >= MIN_GROOMING_FOR_INTERVAL]
    assert any(s.recall_ci[1] > s.recall_ci[0] for s in wide)


def test_a_band_name_with_a_pipe_keeps_its_slice_row_whole(report: EvaluationReport) -> None:
    # Band names are any printable text from a policy file: a "|" or a line break in one
    # split the slice row of the Markdown report.
    first = report.slices[0]
    renamed = dataclasses.replace(first, value="13-15 | pilot\nphase 2")
    markdown = dataclasses.replace(report, slices=(renamed, *report.slices[1:])).to_markdown()
    row = next(line for line in markdown.splitlines() if "pilot" in line)
    cells = re.split(r"(?<!\\)\|", row)[1:-1]
    assert cells[:3] == [f" {first.by} ", " 13-15 \\| pilot phase 2 ", f" {first.n_conversations} "]
    assert len(cells) == 10


def test_bootstrap_is_reproducible_by_seed(
    data: rs.synthetic.SyntheticData, model: rs.RiskModel, report: EvaluationReport
) -> None:
    kw = {"n_bootstrap": 40, "replay_events": 0}
    same = rs.evaluate(model, data.messages, data.labels, seed=5, **kw)
    other = rs.evaluate(model, data.messages, data.labels, seed=6, **kw)
    assert same.pr_auc_ci == report.pr_auc_ci
    assert other.pr_auc_ci != report.pr_auc_ci
    # same seed, same numbers: every figure but the replay's (switched off here)
    again, first = same.to_dict(), report.to_dict()
    del again["early_detection"], first["early_detection"]
    assert again == first
    assert same.early_detection is None
    none = rs.evaluate(model, data.messages, data.labels, n_bootstrap=0, replay_events=0)
    assert math.isnan(none.pr_auc_ci[0])
    assert none.pr_auc == report.pr_auc


def test_to_dict_is_strict_json(report: EvaluationReport) -> None:
    out = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert out["pr_auc"] == report.pr_auc
    assert out["pr_auc_ci"] == list(report.pr_auc_ci)
    assert out["early_detection"]["latency_p"] == DEFAULT_LATENCY_P
    assert len(out["slices"]) == len(report.slices)


# ------------------------------------------------------------------ early detection


def test_early_detection_summary_is_consistent(report: EvaluationReport) -> None:
    ed = report.early_detection
    assert ed is not None
    assert not ed.sampled
    assert ed.n_grooming == report.n_grooming
    assert 0 < ed.n_detected <= ed.n_grooming
    assert ed.recall == pytest.approx(ed.n_detected / ed.n_grooming)
    assert len(ed.latency_messages) == ed.n_detected
    assert min(ed.latency_messages) >= 0
    assert ed.median_latency_messages == pytest.approx(np.median(ed.latency_messages))
    speed = np.median(1 - latency_penalty(np.asarray(ed.latency_messages) + 1.0, ed.latency_p))
    assert ed.speed == pytest.approx(speed)
    assert ed.latency_weighted_f1 == pytest.approx(ed.f1 * ed.speed)
    assert ed.latency_weighted_f1 <= ed.f1


def test_replay_first_alert_equals_first_alerting_batch_prefix(
    data: rs.synthetic.SyntheticData, model: rs.RiskModel
) -> None:
    policy = rs.AlertPolicy.default()
    X = rs.extract_features(data.messages)
    grooming = np.flatnonzero(data.labels.is_grooming)[:4]
    for code in grooming:
        one = data.messages.take_conversations([code])
        cols = one.columns()
        expected = -1
        for k in range(1, len(one) + 1):
            prefix = rs.read_messages({name: values[:k] for name, values in cols.items()})
            prefix_x = rs.extract_features(prefix)
            risk = model.predict_proba(prefix_x)
            ages = prefix_x.column("child_age"), prefix_x.column("adult_age")
            if policy.tiers(risk, *ages)[0] > 0:
                expected = k - 1
                break
        features = X.take([code])
        y = np.array([True])
        result = replay(model, policy, one, features, y, budget=10**6, seed=0)
        assert result.first_alert_index.tolist() == [expected]


def test_replay_counts_alerts_raised_through_the_adults_other_conversations() -> None:
    """A conversation that went quiet alerts when its adult contacts three more minors
    elsewhere: the replay records that alert, at the quiet conversation's last event."""
    # Fan-out 1..4: risk 0.08, 0.18, 0.38, 0.62.
    model = counting_model(-3.5, adult_minor_fanout=1.0)
    band = rs.AgeBand("all", 0.0, math.inf, review=0.5, urgent=0.9)
    unknown = rs.AgeBand("unknown", 0.0, math.inf, review=0.5, urgent=0.9)
    policy = rs.AlertPolicy(bands=(band,), unknown=unknown)
    t0 = 1_700_000_000
    rows = [("A", 0, "x", "k1", 40.0, 12.0), ("A", 60, "k1", "x", 12.0, 40.0)]
    rows += [("A", 120, "x", "k1", 40.0, 12.0)]
    rows += [(c, 86_400 * i, "x", f"k{i + 1}", 40.0, 12.0) for i, c in enumerate("BCD", 1)]
    names = ("conversation_id", "timestamp", "sender_id", "recipient_id")
    cols = {name: [r[j] for r in rows] for j, name in enumerate(names)}
    cols["timestamp"] = [t0 + t for t in cols["timestamp"]]
    cols["sender_age"] = [r[4] for r in rows]
    cols["recipient_age"] = [r[5] for r in rows]
    cols["channel"] = ["direct"] * len(rows)
    messages = rs.read_messages(cols)
    X = rs.extract_features(messages)
    result = replay(model, policy, messages, X, X.conversation_id == "A", budget=10**6, seed=0)
    ids = X.conversation_id[result.position].tolist()
    index, ts = result.first_alert_index.tolist(), result.first_alert_timestamp.tolist()
    first = {cid: (index[i], ts[i]) for i, cid in enumerate(ids)}
    assert first["A"] == (2, t0 + 3 * 86_400)  # raised by D's first event, A as of its third
    assert first["D"] == (0, t0 + 3 * 86_400)


def test_replay_samples_adults_within_a_budget(
    data: rs.synthetic.SyntheticData, model: rs.RiskModel
) -> None:
    report = rs.evaluate(
        model, data.messages, data.labels, n_bootstrap=0, replay_events=8_000, seed=2
    )
    ed = report.early_detection
    assert ed is not None
    assert ed.sampled
    assert ed.other_adult_rate < 1.0
    assert ed.n_replayed_events < len(data.messages) / 2
    assert 0.0 <= ed.precision <= 1.0
    assert ed.n_grooming > 0


# ------------------------------------------------------------------ label checks


def _labels(data: rs.synthetic.SyntheticData, keep: np.ndarray) -> SimpleNamespace:
    lab = data.labels
    return SimpleNamespace(
        conversation_id=lab.conversation_id[keep],
        is_grooming=lab.is_grooming[keep],
        onset_index=lab.onset_index[keep],
        adult_id=lab.adult_id[keep],
    )


def test_refuses_labels_given_as_text(
    data: rs.synthetic.SyntheticData, model: rs.RiskModel
) -> None:
    """np.asarray(["False"]).astype(bool) is True: text labels are refused, not cast."""
    labels = _labels(data, np.arange(len(data.labels)))
    labels.is_grooming = np.where(labels.is_grooming, "True", "False")
    with pytest.raises(rs.SchemaError, match="column 'is_grooming' row 0 holds 'False'"):
        rs.evaluate(model, data.messages, labels, n_bootstrap=40, seed=0)
    labels.is_grooming = data.labels.is_grooming.astype(np.int64)  # 0 and 1 are read
    assert rs.evaluate(model, data.messages, labels, n_bootstrap=40, seed=0).n_conversations > 0


def test_refuses_labels_with_a_missing_conversation(
    data: rs.synthetic.SyntheticData, model: rs.RiskModel
) -> None:
    keep = np.arange(1, len(data.labels))
    missing = data.labels.conversation_id[0]
    with pytest.raises(
        rs.SchemaError, match=rf"conversation {missing} has no label \(1 conversation without"
    ):
        rs.evaluate(model, data.messages, _labels(data, keep), replay_events=0)


def test_refuses_labels_with_an_extra_or_duplicate_conversation(
    data: rs.synthetic.SyntheticData, model: rs.RiskModel
) -> None:
    labels = _labels(data, np.arange(len(data.labels)))
    extra = SimpleNamespace(
        conversation_id=np.append(labels.conversation_id, 10**9),
        is_grooming=np.append(labels.is_grooming, False),
        onset_index=np.append(labels.onset_index, -1),
        adult_id=np.append(labels.adult_id, labels.adult_id[0]),
    )
    with pytest.raises(rs.SchemaError, match=r"conversation 1000000000 is labelled but has no"):
        rs.evaluate(model, data.messages, extra, replay_events=0)
    dup = _labels(data, np.append(np.arange(len(data.labels)), 7))
    dup_id = data.labels.conversation_id[7]
    with pytest.raises(rs.SchemaError, match=rf"conversation {dup_id} is labelled 2 times"):
        rs.evaluate(model, data.messages, dup, replay_events=0)


def test_refuses_labels_of_other_events_with_the_same_ids(
    data: rs.synthetic.SyntheticData, model: rs.RiskModel
) -> None:
    other = rs.synthetic.generate(len(data.labels), prevalence=0.05, seed=22).labels
    with pytest.raises(rs.SchemaError, match="labels do not match the messages"):
        rs.evaluate(model, data.messages, other, replay_events=0)


def test_refuses_labels_without_onsets(
    data: rs.synthetic.SyntheticData, model: rs.RiskModel
) -> None:
    bare = SimpleNamespace(
        conversation_id=data.labels.conversation_id, is_grooming=data.labels.is_grooming
    )
    with pytest.raises(rs.SchemaError, match="onset_index"):
        rs.evaluate(model, data.messages, bare)


def test_refuses_an_onset_outside_its_conversation(
    data: rs.synthetic.SyntheticData, model: rs.RiskModel
) -> None:
    labels = _labels(data, np.arange(len(data.labels)))
    i = int(np.flatnonzero(labels.is_grooming)[0])
    labels.onset_index = labels.onset_index.copy()
    labels.onset_index[i] = 10**6
    with pytest.raises(rs.SchemaError, match=r"onset_index 1000000 but \d+ events"):
        rs.evaluate(model, data.messages, labels, replay_events=0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_bootstrap": -1}, "n_bootstrap"),
        ({"confidence": 1.0}, "confidence"),
        ({"replay_events": -5}, "replay_events"),
        ({"latency_p": 0.0}, "latency_p"),
    ],
)
def test_refuses_bad_parameters(
    data: rs.synthetic.SyntheticData, model: rs.RiskModel, kwargs: dict[str, float], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        rs.evaluate(model, data.messages, data.labels, **kwargs)  # type: ignore[arg-type]


# ------------------------------------------------------------------ outputs and CLI


def test_save_writes_json_markdown_and_png_plots(report: EvaluationReport, tmp_path: Path) -> None:
    files = report.save(tmp_path)
    names = sorted(p.name for p in files)
    assert names == [
        "alert_latency.png",
        "calibration.png",
        "precision_recall.png",
        "report.json",
        "report.md",
        "score_histograms.png",
    ]
    for path in files:
        if path.suffix == ".png":
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (tmp_path / "report.md").read_text()
    assert f"{report.pr_auc:.3f} [{report.pr_auc_ci[0]:.3f}" in md
    assert "latency-weighted F1" in md
    assert "![Calibration curve](calibration.png)" in md
    assert json.loads((tmp_path / "report.json").read_text())["n_conversations"] == 1500


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("evaldata")
    rs.synthetic.generate(1200, prevalence=0.05, seed=8).write(out)
    return out


def test_cli_evaluate_writes_the_report(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["evaluate", "--data", str(data_dir), "--out", str(tmp_path), "--bootstrap", "40", "--json"]
    )
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["pr_auc_ci"][0] <= result["pr_auc"] <= result["pr_auc_ci"][1]
    assert result["latency_weighted_f1"] is not None
    assert (tmp_path / "report.json").exists()
    assert (tmp_path / "precision_recall.png").exists()


def test_cli_evaluate_shows_an_undefined_precision_as_a_dash(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: "precision nan" on the console where report.md shows a dash (no alert)."""
    text = (Path(__file__).resolve().parents[1] / "policies" / "default.toml").read_text()
    strict = re.sub(r"(?m)^review = [0-9.]+", "review = 0.9999999", text)
    strict = re.sub(r"(?m)^urgent = [0-9.]+", "urgent = 1.0", strict)
    (tmp_path / "strict.toml").write_text(strict, encoding="utf-8")
    argv = ["evaluate", "--data", str(data_dir), "--out", str(tmp_path / "out")]
    argv += ["--policy", str(tmp_path / "strict.toml"), "--bootstrap", "0"]
    assert main([*argv, "--replay-events", "0", "--no-plots"]) == 0
    out = capsys.readouterr().out
    assert "review tier: precision —, recall 0.000, F0.5 0.000" in out
    assert "nan" not in out


def test_cli_evaluate_refuses_labels_of_other_events(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    (mixed / "events.parquet").write_bytes((data_dir / "events.parquet").read_bytes())
    rs.synthetic.generate(1100, prevalence=0.05, seed=9).write(tmp_path / "other")
    (mixed / "labels.parquet").write_bytes((tmp_path / "other" / "labels.parquet").read_bytes())
    code = main(["evaluate", "--data", str(mixed), "--out", str(tmp_path / "out"), "--no-plots"])
    err = capsys.readouterr().err
    assert code == 2
    assert "labels do not match the messages" in err
    assert not (tmp_path / "out" / "report.json").exists()
