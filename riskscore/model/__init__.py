"""The risk model: training, calibration, the portable trees, and the bundle on disk.

- :mod:`~riskscore.model.risk_model`: :class:`RiskModel` (score, reasons).
- :mod:`~riskscore.model.trees`: :class:`TreeEnsemble`, portable boosted trees and exact
  reasons against a "no signal" reference (computed in :mod:`~riskscore.model.shapley`).
- :mod:`~riskscore.model.calibration`: :class:`Platt`.
- :mod:`~riskscore.model.training`: :func:`train`, :data:`MODEL_INPUTS`.
- :mod:`~riskscore.model.recipe`: :class:`WorldsRecipe`, how the default model is trained.
- :mod:`~riskscore.model.candidates`: the models the default was chosen from.
- :mod:`~riskscore.model.bundle`: :func:`save_model`, :func:`load_model`.
- :mod:`~riskscore.model.card`: ``MODEL_CARD.md``.
- :mod:`~riskscore.model.labels`: :func:`align_labels`.
"""

from riskscore.model.bundle import default_model_dir, load_model, save_model, verify_bundle
from riskscore.model.calibration import Platt
from riskscore.model.labels import ConversationLabels, align_labels
from riskscore.model.recipe import WorldsRecipe
from riskscore.model.risk_model import RiskModel, checked_model
from riskscore.model.training import MODEL_INPUTS, fit_risk_model, train
from riskscore.model.trees import TreeEnsemble

__all__ = [
    "MODEL_INPUTS",
    "ConversationLabels",
    "Platt",
    "RiskModel",
    "TreeEnsemble",
    "WorldsRecipe",
    "align_labels",
    "checked_model",
    "default_model_dir",
    "fit_risk_model",
    "load_model",
    "save_model",
    "train",
    "verify_bundle",
]
