"""Online scoring: one event in, an alert out, in microseconds, on state held in arrays.

- :mod:`~riskscore.online.scorer`: :class:`OnlineScorer` (``update_one``, ``update_many``,
  re-scoring an adult's other conversations, alerts).
- :mod:`~riskscore.online.rescore`: re-scoring the conversations an event changes
  through their adult or pair, the alert rule, ``refresh``.
- :mod:`~riskscore.online.memory`: what the scorer holds between events, idle expiry,
  the caps, ``score_of`` and the other questions about a live conversation.
- :mod:`~riskscore.online.persist`: what a checkpoint holds, written and read back.
- :mod:`~riskscore.online.options`: option defaults and the reference clock's type.
- :mod:`~riskscore.online.state`: per-conversation and per-account state updated by the
  same event kernel as batch features.
- :mod:`~riskscore.online.pairs`: the facts of a pair of accounts (where and when the two
  met, when they went private), held by the account of the pair's lower id.
- :mod:`~riskscore.online.risk`: the model's risk and reasons on one feature row, and the
  alert it raises.
- :mod:`~riskscore.online.shadow`: a shadow model scored on the same rows, its alerts
  recorded apart (``shadow_model=``, ``pop_shadow_alerts``).
- :mod:`~riskscore.online.checkpoint`: the checkpoint file (SQLite, JSON rows, no pickle).
- :mod:`~riskscore.online.lock`: one process at a time owns a checkpoint file (``flock`` on
  ``FILE.lock``).
"""

from riskscore.online.scorer import OnlineScorer

__all__ = ["OnlineScorer"]
