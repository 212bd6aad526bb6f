"""riskscore: metadata-only child-grooming risk scoring with alerts for human review.

riskscore reads message metadata (ages, timing, channels, who contacts whom,
blocks and reports), never message content. A score is a reason for a human
moderator to look, never an automatic verdict.
"""

from riskscore import synthetic
from riskscore.exceptions import ModelIntegrityError, NotFittedError, RiskscoreError, SchemaError
from riskscore.feature_specs import FEATURE_NAMES, FEATURES, FeatureSpec
from riskscore.features import FeatureTable, extract_features
from riskscore.io import read_messages, write_messages
from riskscore.messages import MessageTable, Quarantine
from riskscore.model import RiskModel, train
from riskscore.online import OnlineScorer
from riskscore.persistence import load_model
from riskscore.policy import AgeBand, Alert, AlertPolicy, Tier
from riskscore.schema import SCHEMA_VERSION, Channel, EventType
from riskscore.scores import Reason, ScoreTable

__version__ = "0.1.0"

__all__ = [
    "FEATURES",
    "FEATURE_NAMES",
    "SCHEMA_VERSION",
    "AgeBand",
    "Alert",
    "AlertPolicy",
    "Channel",
    "EventType",
    "FeatureSpec",
    "FeatureTable",
    "MessageTable",
    "ModelIntegrityError",
    "NotFittedError",
    "OnlineScorer",
    "Quarantine",
    "Reason",
    "RiskModel",
    "RiskscoreError",
    "SchemaError",
    "ScoreTable",
    "Tier",
    "__version__",
    "extract_features",
    "load_model",
    "read_messages",
    "synthetic",
    "train",
    "write_messages",
]
