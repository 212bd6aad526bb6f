"""riskscore: metadata-only child-grooming risk scoring with alerts for human review.

riskscore reads message metadata (ages, timing, channels, who contacts whom,
blocks and reports), never message content. A score is a reason for a human
moderator to look, never an automatic verdict.

Subpackages, each importing only those listed before it: :mod:`~riskscore.io`,
:mod:`~riskscore.features`, :mod:`~riskscore.model`, :mod:`~riskscore.policy`,
:mod:`~riskscore.online` and :mod:`~riskscore.batch`, :mod:`~riskscore.evaluation`,
:mod:`~riskscore.moderation`, :mod:`~riskscore.integrations`, :mod:`~riskscore.cli`
(:mod:`~riskscore.synthetic` and :mod:`~riskscore.vignettes` generate and describe data).
"""

# First, before a compiled function is defined (numba picks its cache directory then): a
# read-only installation caches elsewhere rather than failing on import.
from riskscore._jit_cache import clear_stale_jit_caches, place_jit_cache

place_jit_cache()

from riskscore import model, synthetic
from riskscore._version import __version__
from riskscore.evaluation import EvaluationReport, evaluate
from riskscore.exceptions import (
    CheckpointError,
    ConfigurationError,
    MissingExtraError,
    ModelIntegrityError,
    NotFittedError,
    RiskscoreError,
    SchemaError,
)
from riskscore.features import (
    FEATURE_NAMES,
    FEATURES,
    FeatureSpec,
    FeatureTable,
    extract_account_features,
    extract_features,
    read_account_features,
    write_account_features,
)
from riskscore.io import MessageTable, Quarantine, read_messages, write_messages
from riskscore.io.schema import SCHEMA_VERSION, Channel, EventType
from riskscore.model import RiskModel, load_model, save_model, train
from riskscore.model.scores import Reason, ScoreTable
from riskscore.moderation import (
    Case,
    Outcome,
    PriorityWeights,
    ReviewQueue,
    TransparencyReport,
    UserReport,
    transparency_report,
)
from riskscore.online import OnlineScorer
from riskscore.policy import AgeBand, Alert, AlertPolicy, PolicyFileError, Tier

__all__ = [
    "FEATURES",
    "FEATURE_NAMES",
    "SCHEMA_VERSION",
    "AgeBand",
    "Alert",
    "AlertPolicy",
    "Case",
    "Channel",
    "CheckpointError",
    "ConfigurationError",
    "EvaluationReport",
    "EventType",
    "FeatureSpec",
    "FeatureTable",
    "MessageTable",
    "MissingExtraError",
    "ModelIntegrityError",
    "NotFittedError",
    "OnlineScorer",
    "Outcome",
    "PolicyFileError",
    "PriorityWeights",
    "Quarantine",
    "Reason",
    "ReviewQueue",
    "RiskModel",
    "RiskscoreError",
    "SchemaError",
    "ScoreTable",
    "Tier",
    "TransparencyReport",
    "UserReport",
    "__version__",
    "evaluate",
    "extract_account_features",
    "extract_features",
    "load_model",
    "model",
    "read_account_features",
    "read_messages",
    "save_model",
    "synthetic",
    "train",
    "transparency_report",
    "write_account_features",
    "write_messages",
]

# Before anything compiled runs (nothing runs on import): numba would load a cache compiled
# from older sources of a function another module calls.
clear_stale_jit_caches()
