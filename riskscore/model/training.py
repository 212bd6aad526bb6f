"""Training a :class:`RiskModel`: monotone gradient-boosted trees (LightGBM), Platt
calibration on out-of-fold margins with folds grouped by adult account.

The inputs (:data:`MODEL_INPUTS`) are the features with a stated direction in
``docs/features.md`` plus the three ages. Pure volume (``n_events``,
``recent_rate_per_day``) is left out, so that no conversation is scored for its
length; the span (``span_hours``) is in, constrained to lower risk only: from its
reference of 0 hours a longer history can only count against an alert, never for one
(contact kept up for months is more often family, a school or a team than grooming).
Also left out are the raw per-account counts whose size grows with an account's
activity (``adult_minor_fanout`` and the like: the shares and the private-channel
fan-out carry that signal without making every busy coach an alert). Each
behavioural input whose registry entry is ``constrained`` can raise risk only in the
direction that entry gives. Ages are not constrained (whether an age raises risk depends
on the other participant's), nor are the four inputs whose meaning depends on who the
participants are (night share, channel moves, the speed of a move to a secure channel,
media from the child): constraining those too cost the worst unseen world over a fifth
of its PR-AUC (``fully_monotone_boosted_trees`` in the model card's comparison,
``benchmarks/robustness.py``). Reasons still name those four only when their value is on
the risk side of the reference. Escalation is constrained: free, the model learnt that
accelerating contact lowers risk (teenagers and new adult couples escalate fastest in the
training worlds), which contradicts what it means; the share of an adult's contact with
minors that is in group or public spaces (``adult_supervised_minor_share``, lowering risk
only) carries the context that escalation stood in for.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from riskscore._optional import import_extra
from riskscore.exceptions import SchemaError
from riskscore.features import FeatureTable, extract_features
from riskscore.features.registry import FEATURE_SPECS
from riskscore.model.calibration import Platt
from riskscore.model.drift import reference_profile
from riskscore.model.labels import ConversationLabels, align_labels
from riskscore.model.risk_model import RiskModel
from riskscore.model.trees import TreeEnsemble

__all__ = [
    "INPUT_CAPS",
    "MODEL_INPUTS",
    "TREE_PARAMS",
    "adult_folds",
    "capped",
    "fit_risk_model",
    "lightgbm_classifier",
    "monotone_constraints",
    "train",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: Features the default model reads.
MODEL_INPUTS: Final = (
    "child_age",
    "adult_age",
    "age_gap",
    "adult_initiated",
    "adult_sent_request",
    "adult_message_share",
    "adult_recent_share",
    "adult_max_unanswered_run",
    "escalation_ratio",
    "child_night_share",
    "child_recent_night_share",
    "max_channel",
    "upward_channel_moves",
    "secure_move_speed",
    "adult_external_events",
    "adult_media_rate",
    "child_media_rate",
    "adult_night_media_rate",
    "private_night_share",
    "child_blocks_reports",
    "adult_minor_contact_share",
    "adult_private_minor_fanout",
    "adult_unaccepted_share",
    "adult_flagged_per_minor",
    "adult_supervised_minor_share",
    "span_hours",
)

#: Inputs read up to a cap: counts that repeat one signal as a conversation goes on. A link
#: to another app marks a move off the platform; a tutor's or a parent's weekly call link
#: repeats it without adding risk (vignettes b07, b23), so the trees learn from the first
#: link only. Capped in training, a tree never splits above the cap, so scoring, batch and
#: online, treats every larger count as the cap with no transform (a linear model, which
#: extrapolates, caps when scoring too: :func:`capped`).
INPUT_CAPS: Final[dict[str, float]] = {"adult_external_events": 1.0}

#: LightGBM settings: 150 trees of up to 63 leaves, fixed seeds, one thread (the same
#: data gives the same model on any machine). 63 leaves, not 15: the interactions of ages
#: (known or not) with behaviour need depth; measured on the robustness benchmark's worlds
#: (December 2026, same data and constraints): unseen median PR-AUC 0.764 to 0.788 and
#: worst 0.545 to 0.591, confirmation worlds' median 0.739 to 0.789, public grooming
#: vignettes missed at the review volume 8 to 5. Each event online walks every tree, so
#: the trees cost about twice as much per event (``benchmarks/bench_online.py``); up to
#: 64 leaves a tree keeps the exit-leaf walk at one word per tree. Monotone constraints
#: are enforced by LightGBM's "intermediate" method, which keeps the same guarantee as
#: "basic" while constraining the fit much less (basic caps both sides of a monotone
#: split at their midpoint for every split below it).
TREE_PARAMS: Final[dict[str, Any]] = {
    "n_estimators": 150,
    "monotone_constraints_method": "intermediate",
    "num_leaves": 63,
    "learning_rate": 0.1,
    "min_child_samples": 50,
    "deterministic": True,
    "force_row_wise": True,
    "n_jobs": 1,
    "verbose": -1,
}
MIN_POSITIVES: Final = 10


def monotone_constraints(inputs: Sequence[str]) -> list[int]:
    """LightGBM's ``monotone_constraints`` for these inputs: each input's registry
    direction where it is ``constrained``, else 0 (free)."""
    return [
        FEATURE_SPECS[name].direction if FEATURE_SPECS[name].constrained else 0 for name in inputs
    ]


def capped(X: FloatArray, inputs: Sequence[str]) -> FloatArray:
    """``X`` (columns ``inputs``) with every input of :data:`INPUT_CAPS` at most its cap
    (a copy; NaN stays NaN)."""
    out = np.array(X, dtype=np.float64)
    for j, name in enumerate(inputs):
        if name in INPUT_CAPS:
            out[:, j] = np.minimum(out[:, j], INPUT_CAPS[name])
    return out


def adult_folds(
    adult_id: npt.NDArray[Any], y: BoolArray, n_splits: int, seed: int
) -> list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]]:
    """Stratified folds grouped by adult account: the same adult never sits on both sides
    (its per-account features would leak)."""
    _, groups = np.unique(adult_id, return_inverse=True)
    # Imported when training, not when scoring (about a second of start-up).
    from sklearn.model_selection import StratifiedGroupKFold

    folds = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    return list(folds.split(np.zeros((len(y), 1)), y, groups.reshape(-1)))


#: What LightGBM needs beyond pip: its Linux and macOS wheels load the OpenMP runtime of
#: the system (LightGBM issue 7141), which slim container images do not have.
_LIGHTGBM_SYSTEM = (
    "LightGBM needs the OpenMP runtime, which pip does not install (apt-get install libgomp1 "
    "on Debian or Ubuntu, brew install libomp on macOS)"
)


def lightgbm_classifier() -> Any:
    """LightGBM's ``LGBMClassifier``, which the ``train`` extra installs.

    Scoring needs only numpy and numba (the trees are walked by riskscore's own code), so a
    platform that only scores does not install LightGBM and its OpenMP runtime. Commands
    that train call this before they generate or read any data, so that a missing extra
    is said at once.

    Raises
    ------
    MissingExtraError
        LightGBM is not installed, or cannot load (its wheels open the system's OpenMP
        runtime, which slim container images lack).
    """
    return import_extra(
        "lightgbm", "train", needed_by="training a model", system=_LIGHTGBM_SYSTEM
    ).LGBMClassifier


def _fit_trees(X: FloatArray, y: BoolArray, inputs: Sequence[str], seed: int) -> Any:
    classifier = lightgbm_classifier()(
        monotone_constraints=monotone_constraints(inputs), random_state=seed, **TREE_PARAMS
    )
    return classifier.fit(X, y)


def fit_risk_model(
    features: FeatureTable,
    y: BoolArray,
    *,
    groups: npt.NDArray[Any] | None = None,
    seed: int = 0,
    n_splits: int = 5,
    inputs: Sequence[str] = MODEL_INPUTS,
    prevalence: float | None = None,
) -> RiskModel:
    """Fit the trees, calibrate them out of fold, and return the portable model.

    Parameters
    ----------
    features : FeatureTable
        Training conversations.
    y : array of bool, shape (n_conversations,)
        Ground truth in the order of ``features``.
    groups : array, optional
        Group of each conversation for the calibration folds (default: its adult
        account id); conversations of one group never sit on both sides of a fold.
    seed : int, default 0
        Seed of the folds and the trees; the same data and seed give the same model.
    n_splits : int, default 5
        Folds for the out-of-fold calibration.
    inputs : sequence of str, default MODEL_INPUTS
        Feature names the model reads.
    prevalence : float, optional
        Calibrate the probabilities for this share of grooming conversations instead
        of the training data's (a shift of the log-odds).

    Returns
    -------
    RiskModel
    """
    n_pos = int(y.sum())
    if n_pos < MIN_POSITIVES or len(y) - n_pos < MIN_POSITIVES:
        raise SchemaError(
            f"training needs at least {MIN_POSITIVES} grooming and {MIN_POSITIVES} benign "
            f"conversations; got {n_pos} and {len(y) - n_pos}. Generate more data or raise "
            "the prevalence."
        )
    unknown = [name for name in inputs if name not in FEATURE_SPECS]
    if unknown:
        raise SchemaError(f"unknown model inputs {unknown}; features are {list(FEATURE_SPECS)}")
    raw = np.ascontiguousarray(features.values[:, features.positions(inputs)])
    X = capped(raw, inputs)
    margin = np.empty(len(y))
    for train, test in adult_folds(
        features.adult_id if groups is None else groups, y, n_splits, seed
    ):
        fold = _fit_trees(X[train], y[train], inputs, seed)
        margin[test] = fold.predict(X[test], raw_score=True)
    calibration = Platt.fit(margin, y)
    if prevalence is not None:
        calibration = calibration.at_prevalence(prevalence)
    booster = _fit_trees(X, y, inputs, seed).booster_
    reference = np.array([FEATURE_SPECS[name].reference for name in inputs])
    trees = TreeEnsemble.from_lightgbm_dump(booster.dump_model(), inputs, reference)
    gap = float(np.max(np.abs(trees.margins(X) - booster.predict(X, raw_score=True))))
    if gap > 1e-9:
        raise RuntimeError(f"portable trees disagree with LightGBM by {gap:.3g}")
    metadata = {
        "estimator": "LightGBM gradient-boosted trees, monotone in every input whose "
        "meaning does not depend on context, Platt-calibrated out of fold",
        "inputs": list(inputs),
        "unconstrained_inputs": [
            n for n in inputs if FEATURE_SPECS[n].direction and not FEATURE_SPECS[n].constrained
        ],
        "tree_params": dict(TREE_PARAMS),
        "input_caps": {n: INPUT_CAPS[n] for n in inputs if n in INPUT_CAPS},
        "training": {
            "n_conversations": len(y),
            "n_grooming": n_pos,
            "prevalence": n_pos / len(y),
            "calibrated_prevalence": calibration.prevalence,
            "seed": seed,
            "n_splits": n_splits,
        },
        # what `riskscore monitor` compares a period with (riskscore.model.drift)
        # of the inputs as scoring reads them (uncapped: a capped reference would flag
        # every count above its cap as drift)
        "reference_distributions": reference_profile(
            raw, list(inputs), calibration.risk(trees.margins(raw))
        ),
    }
    return RiskModel(trees, calibration, metadata=metadata)


def train(
    messages: object,
    labels: ConversationLabels | npt.ArrayLike,
    *,
    seed: int = 0,
    n_splits: int = 5,
    prevalence: float | None = None,
) -> RiskModel:
    """Train a calibrated risk model on labelled conversations.

    Parameters
    ----------
    messages : MessageTable, FeatureTable or anything :func:`riskscore.read_messages` reads
        Training events (or their features).
    labels : object with ``conversation_id`` and ``is_grooming`` arrays, or bool array
        Ground truth per conversation, e.g. ``riskscore.synthetic.generate(...).labels``
        (or an Arrow table or polars DataFrame of labels, read as
        :meth:`riskscore.synthetic.Labels.from_arrow` reads one), or a boolean array in the
        order of the conversations.
    seed : int, default 0
        Seed of the folds and the trees; the same data and seed give the same model.
    n_splits : int, default 5
        Folds for the out-of-fold calibration; folds keep each adult account in one fold,
        so per-account features cannot leak into calibration.
    prevalence : float, optional
        Calibrate the probabilities for this share of grooming conversations instead of
        the training data's.

    Returns
    -------
    RiskModel

    Notes
    -----
    A model trained on one synthetic world learns that world's accidents; the shipped
    default is trained on many (:class:`riskscore.model.WorldsRecipe`).

    Examples
    --------
    >>> import riskscore as rs
    >>> data = rs.synthetic.generate(3_000, prevalence=0.05, seed=1)
    >>> model = rs.train(data.messages, data.labels, seed=1)
    >>> model.feature_names == rs.model.MODEL_INPUTS
    True
    """
    features = messages if isinstance(messages, FeatureTable) else extract_features(messages)
    y = align_labels(features, labels)
    return fit_risk_model(features, y, seed=seed, n_splits=n_splits, prevalence=prevalence)
