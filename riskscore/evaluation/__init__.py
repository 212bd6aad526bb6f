"""Evaluation: how well a model and a policy do on labelled conversations.

- :mod:`~riskscore.evaluation.evaluator`: :func:`evaluate` (ranking, operating points,
  calibration, early detection, slices, bootstrap intervals by adult) and
  :func:`split_dataset`.
- :mod:`~riskscore.evaluation.report`, :mod:`~riskscore.evaluation.results`:
  :class:`EvaluationReport` and the frozen results it holds.
- :mod:`~riskscore.evaluation.metrics`, :mod:`~riskscore.evaluation.replay`,
  :mod:`~riskscore.evaluation.labels`, :mod:`~riskscore.evaluation.records`: the
  metrics, the event-by-event replay, label alignment, JSON records.
- :mod:`~riskscore.evaluation.markdown`, :mod:`~riskscore.evaluation.plots`: the report as
  Markdown and PNG plots (plots need ``riskscore-metadata[plots]``).
- :mod:`~riskscore.evaluation.slices`: the report's slices (age band, channel, age known),
  with bootstrap intervals.
- :mod:`~riskscore.evaluation.splits`: train/test splits by adult account.
- :mod:`~riskscore.evaluation.robustness`: results over synthetic worlds never seen in
  training (thresholds set by alert volume over them: :mod:`riskscore.policy.volume`),
  on the worlds' labelled samples of :mod:`~riskscore.evaluation.world_samples`.
- :mod:`~riskscore.evaluation.policy_check`: what a policy would alert on a data set
  (``riskscore policy check``).
- :mod:`~riskscore.evaluation.training_job`: train, save and measure a model
  (``riskscore train``).
"""

from riskscore.evaluation.evaluator import DEFAULT_LATENCY_P, evaluate, split_dataset
from riskscore.evaluation.report import EvaluationReport
from riskscore.evaluation.results import Curves, EarlyDetection, OperatingPoint, SliceMetrics

__all__ = [
    "DEFAULT_LATENCY_P",
    "Curves",
    "EarlyDetection",
    "EvaluationReport",
    "OperatingPoint",
    "SliceMetrics",
    "evaluate",
    "split_dataset",
]
