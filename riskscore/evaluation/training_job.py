"""The ``riskscore train`` job: train a model bundle on synthetic worlds or labelled data,
measure it on what it never saw, and save it. A plain function, callable from code."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

import riskscore.evaluation.metrics as em
from riskscore import synthetic
from riskscore._checks import check_open_share, check_sample, check_seconds, check_whole
from riskscore.evaluation.labels import adult_accounts, check_and_align
from riskscore.evaluation.robustness import evaluate_worlds, unseen_worlds
from riskscore.evaluation.splits import split_by_adult
from riskscore.features import FeatureTable, extract_features
from riskscore.io.timestamps import DEFAULT_READ_MAX_FUTURE_S
from riskscore.model import (
    RiskModel,
    WorldsRecipe,
    align_labels,
    fit_risk_model,
    save_model,
)
from riskscore.model.bundle import check_not_shipped, check_replaceable, sha256_of
from riskscore.model.recipe import DEFAULT_N_WORLDS, TRAINING_WORLD_SEEDS
from riskscore.model.training import lightgbm_classifier
from riskscore.policy import AlertPolicy

__all__ = ["TrainResult", "holdout_metrics", "train_model"]

Step = Callable[[str], None]


def _no_progress(_: str) -> None:
    return None


@dataclass(frozen=True, slots=True)
class TrainResult:
    """What :func:`train_model` produced."""

    model: RiskModel
    directory: Path
    metrics: dict[str, float | None]


def holdout_metrics(
    model: RiskModel, features: FeatureTable, y: npt.NDArray[np.bool_], policy: AlertPolicy
) -> dict[str, float | None]:
    """Ranking, calibration and operating-point metrics on held-out conversations.

    A metric the held-out set cannot define is None (JSON null, "n/a" in the model card),
    not 0: PR-AUC and recall without a grooming conversation, ROC-AUC without one of each
    class, precision without an alert.
    """
    risk = model.predict_proba(features)
    tiers = policy.tiers(risk, features.column("child_age"), features.column("adult_age"))
    # The metrics of evaluate() and compare_models() (unit weights: the point estimate), so
    # the model card's metrics and its comparison table agree to the last digit.
    ones = np.ones((1, len(y)))
    ranking = em.ranking_metrics(y, risk, ones)
    decision = em.decision_metrics(y, tiers > 0, ones)
    values = {
        "n_test_conversations": float(len(y)),
        "n_test_grooming": float(y.sum()),
        "pr_auc": float(ranking["pr_auc"][0]),
        "roc_auc": float(ranking["roc_auc"][0]),
        "brier": float(em.calibration_metrics(y, risk, ones)["brier"][0]),
        "mean_risk": float(risk.mean()),
        "observed_prevalence": float(y.mean()),
        "policy_precision": float(decision["precision"][0]),
        "policy_recall": float(decision["recall"][0]),
        "alerts_per_million_conversations": 1e6 * float(np.mean(tiers > 0)),
    }
    return {key: None if math.isnan(value) else value for key, value in values.items()}


def train_model(
    out_dir: Path,
    *,
    data_dir: Path | None = None,
    n_worlds: int = DEFAULT_N_WORLDS,
    n_conversations: int = 4_000,
    prevalence: float = 0.04,
    seed: int = 0,
    test_fraction: float = 0.25,
    max_future_s: float = DEFAULT_READ_MAX_FUTURE_S,
    progress: Step = _no_progress,
    replace_shipped: bool = False,
) -> TrainResult:
    """Train a model bundle: on many synthetic worlds, or on given labelled data.

    Without ``data_dir`` the model follows :class:`riskscore.model.WorldsRecipe` (the
    default world and ``n_worlds`` drawn worlds, ``n_conversations`` each at
    ``prevalence``) and is measured on five worlds it never saw. With ``data_dir``
    (``events.parquet`` and ``labels.parquet``) it is trained on those conversations
    (their observed label ``is_grooming``) and measured on held-out adult accounts
    against the truth ``is_grooming_true`` where the labels carry it, as
    :func:`riskscore.evaluate` scores (recorded as ``metadata["training"]["metrics_label"]``).

    Parameters
    ----------
    out_dir : Path
        Bundle directory to write.
    data_dir : Path, optional
        Labelled data to train on instead of synthetic worlds.
    n_worlds, n_conversations, prevalence : int, int, float
        The worlds recipe (ignored with ``data_dir``): 1 to 1,000 worlds, at least one
        conversation each, a prevalence in [0, 1].
    seed : int
        Seed for the data, the split and the model, an integer >= 0.
    test_fraction : float
        Share of adult accounts held out (with ``data_dir``), strictly between 0 and 1.
    max_future_s : float, default DEFAULT_READ_MAX_FUTURE_S (five years)
        Events of ``data_dir`` dated more than this after the time of reading are refused,
        as by :func:`riskscore.read_messages`; ``math.inf`` reads data dated ahead.
    progress : callable
        Called with the name of each step as it starts.
    replace_shipped : bool, default False
        Allow ``out_dir`` to be the bundle shipped in the package
        (:func:`riskscore.model.bundle.check_not_shipped`; ``make model`` sets it).

    Raises
    ------
    ValueError
        A number out of its range (checked whether or not it is used, before any work);
        the message names it and its value. ``out_dir`` is the shipped bundle or inside it
        without ``replace_shipped`` (also before any work).
    MissingExtraError
        LightGBM (the ``train`` extra) is not installed; said before any work.
    """
    check_whole("n_worlds", n_worlds, 1, len(TRAINING_WORLD_SEEDS))
    check_sample(n_conversations, prevalence, seed)
    check_open_share("test_fraction", test_fraction)
    check_seconds("max_future_s", max_future_s)
    check_not_shipped(out_dir, replace_shipped=replace_shipped)
    check_replaceable(Path(out_dir))
    lightgbm_classifier()
    policy = AlertPolicy.default()
    if data_dir is None:
        progress("data")
        recipe = WorldsRecipe(
            n_worlds=n_worlds, n_conversations=n_conversations, prevalence=prevalence, seed=seed
        )
        progress("fit")
        model = recipe.train()
        progress("evaluate")
        report = evaluate_worlds(
            model.predict_proba, unseen_worlds(5), policy=policy, n_conversations=10_000, seed=seed
        )
        metrics: dict[str, float | None] = {
            "unseen_worlds": 5.0,
            "median_pr_auc": report.median("pr_auc"),
            "worst_pr_auc": report.worst("pr_auc")[0],
            "median_recall": report.median("recall_review"),
            "median_alerts_per_million_benign": report.median("alerts_per_million.review"),
        }
    else:
        progress("data")
        stored = synthetic.SyntheticData.read(data_dir, max_future_s=max_future_s)
        features = extract_features(stored.messages)
        y = align_labels(features, stored.labels)  # learnt from: the observed label
        # measured against: the truth, as `riskscore evaluate` scores (scored_label)
        scored = check_and_align(stored.labels, features, stored.messages)
        # split on the labels' adults, as split_dataset (adult_accounts)
        train_idx, test_idx = split_by_adult(
            adult_accounts(features, scored), test_fraction=test_fraction, seed=seed
        )
        progress("fit")
        model = fit_risk_model(features.take(train_idx), y[train_idx], seed=seed)
        progress("evaluate")
        metrics = holdout_metrics(
            model, features.take(test_idx), scored.is_grooming[test_idx], policy
        )
        model.metadata["training"]["source"] = str(data_dir)
        # `riskscore evaluate` on these events warns that it is in-sample (in_sample_warning)
        model.metadata["training"]["events_sha256"] = sha256_of(Path(data_dir) / "events.parquet")
        model.metadata["training"]["test_fraction"] = test_fraction
        model.metadata["training"]["metrics_label"] = scored.label
    model.metadata["metrics"] = metrics
    progress("save")
    save_model(model, out_dir, replace_shipped=replace_shipped)
    return TrainResult(model=model, directory=out_dir, metrics=metrics)
