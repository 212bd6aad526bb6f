"""Features: one row of metadata features per conversation, each defined once.

- :mod:`~riskscore.features.registry`: what each feature means (:class:`FeatureSpec`),
  its unit, direction and "no signal" reference, in column order; its rows are written
  by family in :mod:`~riskscore.features.conversation_specs` and
  :mod:`~riskscore.features.account_specs`, the record in :mod:`~riskscore.features.spec`.
- :mod:`~riskscore.features.kernel`: the event kernel, the one definition of every
  feature as per-conversation state and its O(1) update (numba-compiled): the update in
  :mod:`~riskscore.features.update`, the state's layout in
  :mod:`~riskscore.features.slots`, its fixed parameters in
  :mod:`~riskscore.features.constants`.
- :mod:`~riskscore.features.accounts`: per-account tallies (fan-out to minors and the
  rest), mergeable over chunks.
- :mod:`~riskscore.features.pairs`: facts of each pair of accounts over all their
  conversations (where they met, when they went private), mergeable over chunks.
- :mod:`~riskscore.features.account_file`: those tallies and pair facts of a full history
  as a Parquet file (:func:`write_account_features`, :func:`read_account_features`;
  its columns read by :mod:`~riskscore.features.file_columns`, its pair facts by
  :mod:`~riskscore.features.pair_columns`).
- :mod:`~riskscore.features.batch`: :func:`extract_features` over a whole table;
  :mod:`~riskscore.features.states`: the kernel's per-conversation states, finished into
  features once the tallies are known (out of core); :mod:`~riskscore.features.parts`: the
  events as both hand them to the compiled loops, part by part.
- :mod:`~riskscore.features.table`: :class:`FeatureTable`.
"""

from riskscore.features.account_file import read_account_features, write_account_features
from riskscore.features.accounts import AccountFeatures
from riskscore.features.batch import extract_account_features, extract_features
from riskscore.features.kernel import ACCOUNT_SLOTS
from riskscore.features.registry import FEATURE_NAMES, FEATURES, FeatureSpec, feature_index
from riskscore.features.table import FeatureTable

__all__ = [
    "ACCOUNT_SLOTS",
    "FEATURES",
    "FEATURE_NAMES",
    "AccountFeatures",
    "FeatureSpec",
    "FeatureTable",
    "extract_account_features",
    "extract_features",
    "feature_index",
    "read_account_features",
    "write_account_features",
]
