"""Alert policy: what a moderator reads, decided from calibrated risk and the two ages.

The model scores; the policy decides. An :class:`AlertPolicy` holds review and
urgent thresholds per age band of the child (stricter for younger children),
thresholds for children of unknown age, and :class:`Guards` on pairs of known
ages (two adults never alert; two minors close in age are never urgent).

Modules, each one responsibility, imported in this order and never back:

* :mod:`~riskscore.policy.errors`: :class:`PolicyFileError`, the one error type;
* :mod:`~riskscore.policy.inputs`: the risks and ages a policy decides on, checked;
* :mod:`~riskscore.policy.bands`: :class:`AgeBand`, :class:`Tier`, band ordering rules;
* :mod:`~riskscore.policy.guards`: :class:`Guards`;
* :mod:`~riskscore.policy.rule`: the one tier rule, for one conversation or many;
* :mod:`~riskscore.policy.validate`: the one validator of a policy mapping;
* :mod:`~riskscore.policy.files`: TOML policy files;
* :mod:`~riskscore.policy.alerts`: :class:`Alert` and its one JSON text
  (:meth:`Alert.to_json`, fields :data:`ALERT_FIELDS`), :func:`alert_changes` (gained and
  lost);
* :mod:`~riskscore.policy.alert_policy`: :class:`AlertPolicy` (:func:`policy_or_default`, the
  check of a ``policy`` argument);
* :mod:`~riskscore.policy.scores_table`: :func:`scores_table`, the one schema of a scores
  file (risk, tier, band, reasons);
* :mod:`~riskscore.policy.volume`: thresholds set by alert volume on scored
  :class:`~riskscore.policy.volume.Traffic` (the default's, ``riskscore policy tune``).

``docs/policy.md`` gives the file format, the defaults and how to choose them.
"""

from riskscore.policy.alert_policy import AlertPolicy, policy_or_default
from riskscore.policy.alerts import ALERT_FIELDS, LATER_ALERT_FIELDS, Alert, alert_changes
from riskscore.policy.bands import AgeBand, Tier
from riskscore.policy.errors import PolicyFileError
from riskscore.policy.guards import Guards
from riskscore.policy.scores_table import SCORE_COLUMNS, scores_table
from riskscore.policy.validate import FORMAT_VERSION

__all__ = [
    "ALERT_FIELDS",
    "FORMAT_VERSION",
    "LATER_ALERT_FIELDS",
    "SCORE_COLUMNS",
    "AgeBand",
    "Alert",
    "AlertPolicy",
    "Guards",
    "PolicyFileError",
    "Tier",
    "alert_changes",
    "policy_or_default",
    "scores_table",
]
