"""The scores file: one row per conversation, in one schema for in-memory, out-of-core
and Spark scoring.

Columns, in order (:data:`SCORE_COLUMNS`):

* ``conversation_id``, ``adult_id``, ``child_id``;
* ``child_age``, ``adult_age``: declared ages in years, null when unknown;
* ``risk``: the calibrated probability of grooming;
* ``tier``: the policy's decision, 0 no alert, 1 review, 2 urgent;
* ``age_band``: the policy band whose thresholds applied (``unknown`` for a child of
  unknown age);
* ``reasons``: the features that raised the risk, strongest first, each
  ``{feature, value, contribution}`` (``docs/features.md`` says what each means); empty
  where none did or the risk is below the reasons threshold. A list of structs in Parquet,
  an array of objects in JSON lines, that array as JSON text in a CSV cell.

Spark adds ``n_events``, ``first_event_ts``, ``last_event_ts`` and the ``date`` it
partitions by (:mod:`riskscore.integrations.spark`); a shadow run's scores file has the
shadow model's scores under the same policy.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pyarrow as pa

from riskscore.io.given_ids import integer_text_columns, mark_integer_text
from riskscore.model.scores import ScoreTable
from riskscore.policy.alert_policy import AlertPolicy

__all__ = ["SCORE_COLUMNS", "scores_table"]

#: Columns of a scores file, in order.
SCORE_COLUMNS: Final = (
    "conversation_id",
    "adult_id",
    "child_id",
    "child_age",
    "adult_age",
    "risk",
    "tier",
    "age_band",
    "reasons",
)


def scores_table(scores: ScoreTable, policy: AlertPolicy) -> pa.Table:
    """The scores file's table of ``scores`` decided by ``policy``.

    Examples
    --------
    >>> import riskscore as rs
    >>> data = rs.synthetic.generate(30, prevalence=0.2, seed=1)
    >>> table = scores_table(rs.load_model().score(data.messages), rs.AlertPolicy.default())
    >>> table.column_names == list(SCORE_COLUMNS)
    True
    """
    tiers, band_index = policy.decide_many(scores.risk, scores.child_age, scores.adult_age)
    bands = np.asarray([band.name for band in policy.all_bands], dtype=object)
    model_columns = scores.to_arrow()
    columns = {name: model_columns.column(name) for name in model_columns.column_names}
    columns["tier"] = pa.array(tiers.astype(np.int32))
    columns["age_band"] = pa.array(bands[band_index], type=pa.string())
    table = pa.table({name: columns[name] for name in SCORE_COLUMNS})
    return mark_integer_text(table, integer_text_columns(model_columns.schema))
