"""riskscore: metadata-only child-grooming risk scoring with alerts for human review.

riskscore reads message metadata (ages, timing, channels, who contacts whom,
blocks and reports), never message content. A score is a reason for a human
moderator to look, never an automatic verdict.
"""

from riskscore import model, synthetic
from riskscore.evaluation import EvaluationReport, evaluate
from riskscore.exceptions import ModelIntegrityError, NotFittedError, RiskscoreError, SchemaError
from riskscore.features import (
    FEATURE_NAMES,
    FEATURES,
    FeatureSpec,
    FeatureTable,
    extract_account_features,
    extract_features,
)
from riskscore.io import read_messages, write_messages
from riskscore.messages import MessageTable, Quarantine
from riskscore.model import RiskModel, load_model, save_model, train
from riskscore.online import OnlineScorer
from riskscore.policy import AgeBand, Alert, AlertPolicy, PolicyFileError, Tier
from riskscore.queue import Case, Outcome, PriorityWeights, ReviewQueue, UserReport
from riskscore.schema import SCHEMA_VERSION, Channel, EventType
from riskscore.scores import Reason, ScoreTable
from riskscore.transparency import TransparencyReport, transparency_report

__version__ = "0.1.0"

__all__ = [
    "FEATURES",
    "FEATURE_NAMES",
    "SCHEMA_VERSION",
    "AgeBand",
    "Alert",
    "AlertPolicy",
    "Case",
    "Channel",
    "EvaluationReport",
    "EventType",
    "FeatureSpec",
    "FeatureTable",
    "MessageTable",
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
    "read_messages",
    "save_model",
    "synthetic",
    "train",
    "transparency_report",
    "write_messages",
]
