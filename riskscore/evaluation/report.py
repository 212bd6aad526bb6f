"""The report of an evaluation: its numbers, as JSON, Markdown and plots."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from riskscore.evaluation.markdown import PLOTS, render_report
from riskscore.evaluation.plots import save_report_plots
from riskscore.evaluation.results import EvaluationResults
from riskscore.io.staging import staged_outputs

__all__ = ["REPORT_FILES", "EvaluationReport"]

#: Every file :meth:`EvaluationReport.save` may write into its directory.
REPORT_FILES = ("report.json", "report.md", *(name for name, _ in PLOTS))


@dataclass(frozen=True, slots=True)
class EvaluationReport(EvaluationResults):
    """Everything :func:`evaluate` measured.

    Attributes
    ----------
    n_conversations, n_grooming, n_adults, n_grooming_adults : int
        Size of the evaluation set (adults as in ``labels.adult_id``; grooming by ``label``).
    prevalence : float
        Share of grooming conversations (by ``label``).
    label : str
        The label scored against: ``"is_grooming_true"`` (the ground truth) or
        ``"is_grooming"`` (the observed label), see :func:`evaluate`.
    n_label_differs : int
        Conversations whose observed label differs from the truth (label noise); 0 when
        the labels carry no truth.
    pr_auc, roc_auc : float
        Area under the precision-recall curve (average precision) and the ROC curve.
    pr_auc_ci, roc_auc_ci : tuple of float
        Bootstrap intervals (low, high), resampling adults.
    brier, ece : float
        Brier score and expected calibration error (``n_bins`` equal-width bins).
    brier_ci, ece_ci : tuple of float
        Their bootstrap intervals.
    recall_at_precision_90 : float
        Highest recall at a risk threshold whose precision is at least 0.9 (0 if none).
    recall_at_precision_90_ci : tuple of float
        Its bootstrap interval.
    threshold_at_precision_90 : float
        The risk threshold achieving it, the highest of those that do (the fewest alerts
        for that recall); NaN if none.
    operating_points : tuple of OperatingPoint
        Review and urgent tiers of the policy.
    early_detection : EarlyDetection or None
        None when the replay was switched off (``replay_events=0``) or there is no
        grooming conversation.
    slices : tuple of SliceMetrics
        By child age band, by most private channel reached, by whether the child's age is known.
    curves : Curves
        Data for the plots.
    n_bootstrap : int
        Bootstrap replicates (0: no intervals, they are NaN).
    confidence : float
        Interval coverage, e.g. 0.95.
    seed : int
        Seed of the bootstrap and of the replay sampling.
    n_bins : int
        Calibration bins.
    model : str
        Description of the evaluated model.
    """

    def to_markdown(self, plots: Sequence[str] = ()) -> str:
        """A human-readable report (the ``report.md`` of ``riskscore evaluate``).

        Parameters
        ----------
        plots : sequence of str
            File names of plots written beside the report, embedded at the end.
        """
        return render_report(self, plots)

    def save(self, directory: str | os.PathLike[str], *, plots: bool = True) -> list[Path]:
        """Write ``report.json``, ``report.md`` and (with ``plots``) four PNG plots.

        Parameters
        ----------
        directory : str or path-like
            Created if needed.
        plots : bool, default True
            Also write the plots (needs ``riskscore-metadata[plots]``, i.e. matplotlib).

        Returns
        -------
        list of pathlib.Path
            The files written.
        """
        out = Path(directory)
        # one run's files: plots of an earlier run are removed (riskscore.io.staging)
        with staged_outputs(out, owned=REPORT_FILES) as stage:
            names = [p.name for p in save_report_plots(self, stage.root)] if plots else []
            stage(REPORT_FILES[0]).write_text(
                json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n", encoding="utf-8"
            )
            stage(REPORT_FILES[1]).write_text(self.to_markdown(names), encoding="utf-8")
        return [out / name for name in (*REPORT_FILES[:2], *names)]
