"""Batch scoring of files: events read, features, scores and alerts written.

- :mod:`~riskscore.batch.score`: :func:`score_events`, a whole file in memory (``riskscore
  score``), and the alerts table written beside the scores.
- :mod:`~riskscore.batch.accounts`: :func:`account_features_file`, the per-account
  features of a full history written to a file (``riskscore accounts``), for scoring
  parts of that history.
- :mod:`~riskscore.batch.out_of_core`: :func:`score_parquet`, a Parquet file larger than
  memory, read once in chunks at conversation boundaries, with per-account state merged
  over chunks (raise or quarantine, as in memory).
- :mod:`~riskscore.batch.parquet_chunks`: those chunks (:func:`iter_conversation_chunks`),
  streamed as sorted or range-partitioned.
- :mod:`~riskscore.batch.chunk_states`: its first pass, each chunk validated, tallied and
  folded into conversation states; :mod:`~riskscore.batch.state_spill`: the states on
  disk until the second pass finishes them; :mod:`~riskscore.batch.chunk_scores`: that
  second pass, each chunk scored and its scores appended in chunk order.
- :mod:`~riskscore.batch.prefetch`: chunks worked on ahead, on worker threads, results
  in order (:func:`one_ahead`).
- :mod:`~riskscore.batch.alerts`: the alerts file, one schema in every format.
- :mod:`~riskscore.batch.shadow`: shadow runs, a candidate model's scores and alerts
  written next to production's and never queued (:func:`read_shadow_run`).

Above :mod:`riskscore.policy` and beside :mod:`riskscore.online`: it reads
:mod:`riskscore.io`, :mod:`riskscore.features`, :mod:`riskscore.model` and
:mod:`riskscore.policy`, nothing higher.
"""

from riskscore.batch.accounts import AccountsResult, account_features_file
from riskscore.batch.alerts import alerts_table, write_alerts
from riskscore.batch.out_of_core import DEFAULT_CHUNK_ROWS, score_parquet
from riskscore.batch.score import ScoreResult, score_events
from riskscore.batch.shadow import ShadowRun, read_shadow_run

__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "AccountsResult",
    "ScoreResult",
    "ShadowRun",
    "account_features_file",
    "alerts_table",
    "read_shadow_run",
    "score_events",
    "score_parquet",
    "write_alerts",
]
