"""Plots of an :class:`~riskscore.evaluation.EvaluationReport`
(needs the extra ``riskscore-metadata[plots]``).

Figures are built with :class:`matplotlib.figure.Figure` directly, never through
``pyplot``: nothing is displayed, no global backend is switched, and saving uses the
Agg renderer, so plots work on a server without a display.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from riskscore._optional import import_extra
from riskscore.evaluation.markdown import PLOTS, num, with_ci
from riskscore.evaluation.results import EvaluationResults

__all__ = [
    "plot_alert_latency",
    "plot_calibration",
    "plot_precision_recall",
    "plot_score_histograms",
    "save_report_plots",
]


def _figure() -> tuple[Any, Any]:
    # the optional extra riskscore-metadata[plots]: matplotlib is imported only to draw a plot
    figure = import_extra("matplotlib.figure", "plots", needed_by="plotting")
    fig = figure.Figure(figsize=(5.0, 4.0), layout="constrained")
    return fig, fig.add_subplot()


def _finish(fig: Any, ax: Any, title: str, legend_loc: str | None = None) -> Any:
    # One place for the title and legend style all report plots share.
    ax.set_title(title, fontsize=10)
    ax.legend(loc=legend_loc, fontsize=8)  # loc None: matplotlib's default placement
    return fig


def plot_precision_recall(report: EvaluationResults) -> Any:
    """Precision-recall curve with the policy's operating points.

    Parameters
    ----------
    report : EvaluationReport or EvaluationResults
        Output of :func:`riskscore.evaluate`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = _figure()
    c = report.curves
    # Recall rises along the curve; average precision (the PR-AUC of the title) holds each
    # precision from the previous recall up to its own: steps-pre, from recall 0.
    recall = np.concatenate([[0.0], c.pr_recall])
    precision = np.concatenate([c.pr_precision[:1], c.pr_precision])
    ax.plot(recall, precision, drawstyle="steps-pre", label="model")
    for point in report.operating_points:
        ax.scatter([point.recall], [point.precision], zorder=3, label=f"{point.tier} tier")
    ax.axhline(report.prevalence, color="grey", linestyle=":", label="prevalence")
    ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02))
    # as report.md shows it: no "[nan, nan]" without a bootstrap
    return _finish(fig, ax, f"PR-AUC {with_ci(report.pr_auc, report.pr_auc_ci)}", "lower left")


def plot_calibration(report: EvaluationResults) -> Any:
    """Observed grooming rate against mean predicted risk per bin (reliability diagram).

    Parameters
    ----------
    report : EvaluationReport or EvaluationResults
        Output of :func:`riskscore.evaluate`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = _figure()
    c = report.curves
    mean = np.asarray(c.calibration_mean_risk)
    observed = np.asarray(c.calibration_observed)
    count = np.asarray(c.calibration_count)
    ok = count > 0
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfect calibration")
    ax.plot(mean[ok], observed[ok], marker="o", label="model")
    for x, y, n in zip(mean[ok], observed[ok], count[ok], strict=True):
        ax.annotate(str(int(n)), (x, y), fontsize=7, xytext=(3, -9), textcoords="offset points")
    ax.set(xlabel="mean predicted risk", ylabel="observed grooming rate", xlim=(0, 1), ylim=(0, 1))
    title = f"Brier {report.brier:.4f}, ECE {report.ece:.4f} (n per bin)"
    return _finish(fig, ax, title, "upper left")


def plot_alert_latency(report: EvaluationResults) -> Any:
    """Distribution of events from the grooming onset to the first alert (detected conversations).

    Parameters
    ----------
    report : EvaluationReport or EvaluationResults
        Output of :func:`riskscore.evaluate`, with early detection.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = _figure()
    ed = report.early_detection
    if ed is None or not ed.latency_messages:
        # a replay that alerted no grooming conversation with an onset has no latency
        text = "no early-detection replay" if ed is None else "no alerted grooming onset"
        ax.text(0.5, 0.5, text, ha="center", va="center")
        ax.set_axis_off()
        return fig
    cap = 50
    latency = np.minimum(np.asarray(ed.latency_messages), cap)
    edges = np.arange(0, min(int(latency.max()), cap) + 2) - 0.5
    ax.hist(latency, bins=edges)
    ax.axvline(ed.median_latency_messages, color="black", linestyle="--", label="median")
    ax.set(
        xlabel=f"events from onset to first alert ({cap}: {cap} or more)",
        ylabel="grooming conversations detected",
    )
    title = (
        f"{ed.n_detected} of {ed.n_grooming} detected; latency-weighted F1 "
        f"{num(ed.latency_weighted_f1)}"
    )
    return _finish(fig, ax, title)


def plot_score_histograms(report: EvaluationResults) -> Any:
    """Histograms of risk by class on a log scale, normalized within each class.

    Parameters
    ----------
    report : EvaluationReport or EvaluationResults
        Output of :func:`riskscore.evaluate`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = _figure()
    c = report.curves
    edges = np.asarray(c.histogram_edges)
    for name, counts in (("benign", c.histogram_benign), ("grooming", c.histogram_grooming)):
        counts_arr = np.asarray(counts, dtype=np.float64)
        share = counts_arr / max(counts_arr.sum(), 1.0)
        ax.stairs(share, edges, label=f"{name} (n={int(counts_arr.sum())})")
    ax.set_xscale("log")
    ax.set(xlabel="risk (calibrated probability, log scale)", ylabel="share of the class")
    return _finish(fig, ax, "Risk by class")


def save_report_plots(report: EvaluationResults, directory: str | os.PathLike[str]) -> list[Path]:
    """Write the four plots of a report as PNG files.

    Parameters
    ----------
    report : EvaluationReport or EvaluationResults
        Output of :func:`riskscore.evaluate`.
    directory : str or path-like
        Created if needed.

    Returns
    -------
    list of pathlib.Path
        ``precision_recall.png``, ``calibration.png``, ``alert_latency.png`` and
        ``score_histograms.png``.

    Examples
    --------
    >>> import tempfile, riskscore as rs
    >>> from riskscore.evaluation.plots import save_report_plots
    >>> data = rs.synthetic.generate(800, prevalence=0.05, seed=2)
    >>> report = rs.evaluate(rs.load_model(), data.messages, data.labels, n_bootstrap=0)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     [p.name for p in save_report_plots(report, tmp)][0]
    'precision_recall.png'
    """
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    makers = (plot_precision_recall, plot_calibration, plot_alert_latency, plot_score_histograms)
    paths = []
    for (name, _), make in zip(PLOTS, makers, strict=True):
        path = out / name
        make(report).savefig(path, dpi=110)
        paths.append(path)
    return paths
