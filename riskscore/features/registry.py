"""The feature registry: one :class:`FeatureSpec` per feature, in column order.

Each spec names the feature, its unit, what it means and why it can signal risk, its
benign look-alikes, the direction in which it signals risk and the value that means
"no signal" (the reference that reasons are measured against). The event kernel
(:mod:`riskscore.features.kernel`) computes every feature in this order, batch and
online alike; ``docs/features.md``'s tables are generated from this registry.

The rows are written by family in :mod:`riskscore.features.conversation_specs` and
:mod:`riskscore.features.account_specs`; :class:`FeatureSpec` is in
:mod:`riskscore.features.spec` and the kernel's fixed parameters in
:mod:`riskscore.features.constants` (both re-exported here).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from riskscore.features.account_specs import ACCOUNT_FEATURES, CONTEXT_FEATURES
from riskscore.features.constants import (
    NIGHT_END_MIN,
    NIGHT_START_MIN,
    RECENT_WEIGHT,
    SHARE_PRIOR_EVENTS,
    SUPERVISED_SHARE_STEPS,
    TAU_LONG_S,
    TAU_SECURE_MOVE_S,
    TAU_SHORT_S,
)
from riskscore.features.conversation_specs import (
    AGE_FEATURES,
    CONTACT_FEATURES,
    ESCALATION_FEATURES,
    EXCLUSIVITY_FEATURES,
    MEDIA_AND_SAFETY_FEATURES,
    NIGHT_FEATURES,
)
from riskscore.features.spec import FeatureSpec

__all__ = [
    "FEATURES",
    "FEATURE_NAMES",
    "FEATURE_SPECS",
    "NIGHT_END_MIN",
    "NIGHT_START_MIN",
    "RECENT_WEIGHT",
    "SHARE_PRIOR_EVENTS",
    "SUPERVISED_SHARE_STEPS",
    "TAU_LONG_S",
    "TAU_SECURE_MOVE_S",
    "TAU_SHORT_S",
    "FeatureSpec",
    "feature_index",
]

#: Every feature, in column order (the model's input order: never reorder).
FEATURES: Final[tuple[FeatureSpec, ...]] = (
    *AGE_FEATURES,
    *CONTACT_FEATURES,
    *ESCALATION_FEATURES,
    *NIGHT_FEATURES,
    *EXCLUSIVITY_FEATURES,
    *MEDIA_AND_SAFETY_FEATURES,
    *ACCOUNT_FEATURES,
    *CONTEXT_FEATURES,
)

FEATURE_NAMES: Final = tuple(spec.name for spec in FEATURES)
#: Every feature's spec by name (read-only): the one lookup the model's modules share.
FEATURE_SPECS: Final[Mapping[str, FeatureSpec]] = MappingProxyType(
    {spec.name: spec for spec in FEATURES}
)
_INDEX: Final = {name: j for j, name in enumerate(FEATURE_NAMES)}


def feature_index(name: str) -> int:
    """Column of a feature in the feature table.

    Raises
    ------
    KeyError
        No feature of that name; the message lists the features.
    """
    try:
        return _INDEX[name]
    except KeyError:
        raise KeyError(f"no feature {name!r}; features are {list(FEATURE_NAMES)}") from None
