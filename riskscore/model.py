"""Training and batch scoring of the calibrated risk model.

The model is a standardized logistic regression with Platt (sigmoid)
calibration. Why this one: its probabilities are calibrated with two
parameters, which stays stable with few positive examples (isotonic
calibration overfits when grooming is 1 in 100 or rarer); its reason codes are
exact, because every feature's push on the log-odds is additive; and it scores
one conversation in microseconds from plain arrays, with no unpickling.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from riskscore.exceptions import SchemaError
from riskscore.features import FeatureTable, extract_features
from riskscore.linear import LinearParams
from riskscore.scores import ScoreTable, top_reasons

__all__ = ["RiskModel", "align_labels", "train"]

FloatArray = npt.NDArray[np.float64]


@runtime_checkable
class ConversationLabels(Protocol):
    """What training needs of labels: ids and the ground truth per conversation."""

    @property
    def conversation_id(self) -> npt.NDArray[Any]: ...

    @property
    def is_grooming(self) -> npt.NDArray[np.bool_]: ...


class RiskModel:
    """A trained risk model: portable parameters plus, optionally, the fitted
    scikit-learn estimator they came from.

    Build one with :func:`train` or :func:`riskscore.load_model`.

    Parameters
    ----------
    params : LinearParams
        Portable parameters used for all scoring.
    metadata : mapping, optional
        Training summary and metrics, stored in the bundle's manifest.
    estimator : object, optional
        The fitted scikit-learn estimator (research use). When loading a
        bundle it is read lazily and only after its sha256 is verified.
    """

    def __init__(
        self,
        params: LinearParams,
        *,
        metadata: Mapping[str, Any] | None = None,
        estimator: Any = None,
        estimator_loader: Any = None,
    ) -> None:
        self.params = params
        self.metadata: dict[str, Any] = dict(metadata or {})
        self._estimator = estimator
        self._estimator_loader = estimator_loader

    def __repr__(self) -> str:
        return f"RiskModel(n_features={len(self.feature_names)})"

    @property
    def feature_names(self) -> tuple[str, ...]:
        """Features the model reads, in order."""
        return self.params.feature_names

    @property
    def estimator(self) -> Any:
        """The fitted scikit-learn estimator (loaded from the bundle on first use)."""
        if self._estimator is None and self._estimator_loader is not None:
            self._estimator = self._estimator_loader()
        if self._estimator is None:
            raise AttributeError("this model carries no scikit-learn estimator")
        return self._estimator

    def _matrix(self, features: FeatureTable | FloatArray) -> FloatArray:
        if isinstance(features, FeatureTable):
            if features.names != self.feature_names:
                raise SchemaError(
                    "feature names differ from the model's: the model was trained with "
                    f"{list(self.feature_names)}, got {list(features.names)}"
                )
            return features.values
        values = np.asarray(features, dtype=np.float64)
        if values.ndim != 2 or values.shape[1] != len(self.feature_names):
            raise SchemaError(
                f"expected an array of shape (n, {len(self.feature_names)}), got {values.shape}"
            )
        return values

    def predict_proba(self, features: FeatureTable | FloatArray) -> FloatArray:
        """Calibrated risk of each conversation.

        Parameters
        ----------
        features : FeatureTable or array of shape (n_conversations, n_features)
            Output of :func:`riskscore.extract_features`.

        Returns
        -------
        array of shape (n_conversations,)
            Probability that each conversation is grooming.
        """
        return self.params.predict_proba(self._matrix(features))

    def score(self, messages: object, *, n_reasons: int = 3) -> ScoreTable:
        """Extract features, score every conversation and give its top reasons.

        Parameters
        ----------
        messages : MessageTable or anything :func:`riskscore.read_messages` reads
            The events to score.
        n_reasons : int, default 3
            How many reasons to keep per conversation.

        Returns
        -------
        ScoreTable
        """
        features = messages if isinstance(messages, FeatureTable) else extract_features(messages)
        return self.score_features(features, n_reasons=n_reasons)

    def score_features(self, features: FeatureTable, *, n_reasons: int = 3) -> ScoreTable:
        """Score an already extracted :class:`FeatureTable` (see :meth:`score`)."""
        values = self._matrix(features)
        risk, contributions = self.params.risk_and_contributions(values)
        idx, val, contrib = top_reasons(contributions, values, n_reasons)
        return ScoreTable(
            conversation_id=features.conversation_id,
            risk=risk,
            adult_id=features.adult_id,
            child_id=features.child_id,
            child_age=features.column("child_age"),
            feature_names=self.feature_names,
            reason_feature=idx,
            reason_value=val,
            reason_contribution=contrib,
        )

    def save(self, directory: str | os.PathLike[str]) -> None:
        """Write the model bundle (manifest, parameters, estimator, model card).

        Parameters
        ----------
        directory : str or path-like
            Bundle directory; created if needed.
        """
        from riskscore.persistence import save_model

        save_model(self, directory)


def align_labels(
    features: FeatureTable, labels: ConversationLabels | npt.ArrayLike
) -> npt.NDArray[np.bool_]:
    """Ground truth in the order of ``features``; every conversation needs exactly one label.

    ``labels`` is either an object with ``conversation_id`` and ``is_grooming``
    arrays, or a boolean array already in the order of ``features``.
    """
    if not isinstance(labels, ConversationLabels):
        truth_in_order = np.asarray(labels)
        if truth_in_order.shape != (len(features),) or truth_in_order.dtype != bool:
            raise SchemaError(
                f"labels as an array must be boolean of shape ({len(features)},), one per "
                f"conversation; got dtype {truth_in_order.dtype} and shape {truth_in_order.shape}"
            )
        return truth_in_order
    label_ids = np.asarray(labels.conversation_id)
    truth = np.asarray(labels.is_grooming)
    if label_ids.shape != truth.shape:
        raise SchemaError("labels: conversation_id and is_grooming differ in length")
    if len(np.unique(label_ids)) != len(label_ids):
        raise SchemaError("labels: a conversation_id appears more than once")
    try:
        order = np.argsort(label_ids)
        pos = np.searchsorted(label_ids[order], features.conversation_id)
        pos = np.clip(pos, 0, max(len(label_ids) - 1, 0))
        found = label_ids[order][pos] == features.conversation_id
    except TypeError as exc:
        raise SchemaError(
            "labels: conversation ids are of another type than the messages' ids"
        ) from exc
    if not np.all(found):
        missing = features.conversation_id[~found][0]
        raise SchemaError(
            f"labels do not match the messages: conversation {missing!r} has no label "
            f"({int((~found).sum())} conversations unlabelled)"
        )
    if len(label_ids) != len(features):
        raise SchemaError(
            f"labels do not match the messages: {len(label_ids)} labels for "
            f"{len(features)} conversations"
        )
    return truth[order][pos].astype(bool)


def train(
    messages: object,
    labels: ConversationLabels | npt.ArrayLike,
    *,
    seed: int = 0,
    C: float = 1.0,
    n_splits: int = 5,
) -> RiskModel:
    """Train a calibrated risk model on labelled conversations.

    Parameters
    ----------
    messages : MessageTable, FeatureTable or anything :func:`riskscore.read_messages` reads
        Training events (or their features).
    labels : object with ``conversation_id`` and ``is_grooming`` arrays, or bool array
        Ground truth per conversation, e.g. ``riskscore.synthetic.generate(...).labels``,
        or a boolean array in the order of the conversations.
    seed : int, default 0
        Seed for the cross-validation splits; the same seed gives the same model.
    C : float, default 1.0
        Inverse L2 regularization strength of the logistic regression.
    n_splits : int, default 5
        Folds for the out-of-fold calibration; folds keep each adult account in
        one fold, so per-sender features cannot leak into calibration.

    Returns
    -------
    RiskModel
    """
    from riskscore._training import fit_calibrated

    features = messages if isinstance(messages, FeatureTable) else extract_features(messages)
    y = align_labels(features, labels)
    return fit_calibrated(features, y, seed=seed, C=C, n_splits=n_splits)
