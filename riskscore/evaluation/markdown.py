"""Rendering an EvaluationReport as Markdown (private)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from riskscore._words import number_text, plural
from riskscore.evaluation.results import EarlyDetection, EvaluationResults
from riskscore.evaluation.slices import MIN_GROOMING_FOR_INTERVAL, interval_replicates
from riskscore.io.markdown import markdown_line, markdown_row, markdown_text

PLOTS = (
    ("precision_recall.png", "Precision-recall curve"),
    ("calibration.png", "Calibration curve"),
    ("alert_latency.png", "Alert latency after the grooming onset"),
    ("score_histograms.png", "Risk scores by class"),
)


def num(value: float, digits: int = 3, *, grouped: bool = False) -> str:
    """A number for a table (``grouped``: thousands separated by commas); NaN as an em dash."""
    if value is None or math.isnan(value):
        return "—"
    return f"{value:,.{digits}f}" if grouped else f"{value:.{digits}f}"


def with_ci(value: float, ci: tuple[float, float], digits: int = 3) -> str:
    """``value [low, high]``, or the value alone when the interval is NaN."""
    if math.isnan(ci[0]):
        return num(value, digits)
    return f"{num(value, digits)} [{num(ci[0], digits)}, {num(ci[1], digits)}]"


def scored_against(report: EvaluationResults) -> str:
    """The sentence that names the label a report scored against (and the noise seen)."""
    if report.label == "is_grooming_true":
        return (
            "Scored against the ground truth `is_grooming_true`; "
            "the observed label `is_grooming` differs for "
            f"{plural(report.n_label_differs, 'conversation')}."
        )
    return "Scored against the observed label `is_grooming`, " + (
        f"which differs from the ground truth for {plural(report.n_label_differs, 'conversation')}."
        if report.n_label_differs
        else "equal to the ground truth where one was given."
    )


def render_report(report: EvaluationResults, plots: Sequence[str] = ()) -> str:
    """Markdown text of a report; ``plots`` are file names of PNGs written beside it."""
    pct = f"{100 * report.confidence:g} %"
    lines = [
        *_overview_lines(report, pct),
        *_operating_point_lines(report),
        *_early_detection_lines(report.early_detection),
        *_slice_lines(report, pct),
    ]
    if plots:
        titles = dict(PLOTS)
        lines += ["", "## Plots", ""]
        for name in plots:
            lines += [f"![{titles.get(name, name)}]({name})", ""]
    return "\n".join(lines).rstrip() + "\n"


def _intervals_line(report: EvaluationResults, pct: str) -> str:
    """What the intervals are, or why there are none."""
    if not report.n_bootstrap:
        return "No intervals: the bootstrap was switched off (0 replicates)."
    if interval_replicates(report.n_grooming_adults, report.n_bootstrap) == 0:
        return (
            f"No intervals: the grooming conversations come from "
            f"{plural(report.n_grooming_adults, 'adult account')}, fewer than "
            f"{MIN_GROOMING_FOR_INTERVAL}; resampling so few cases gives intervals far "
            "narrower than what they say (one adult's conversations are drawn together)."
        )
    return (
        f"Intervals: {pct} percentile bootstrap over adult accounts, "
        f"{plural(report.n_bootstrap, 'replicate')}, seed {report.seed}."
    )


def _overview_lines(report: EvaluationResults, pct: str) -> list[str]:
    """The title, what was measured, and the ranking and calibration metrics."""
    return [
        "# riskscore evaluation report",
        "",
        f"Model: {markdown_line(report.model)}. Synthetic data only: these figures describe how",
        "well the model recovers the generator's patterns, not its accuracy on a real platform.",
        "",
        f"{plural(report.n_conversations, 'conversation')}, {number_text(report.n_grooming)} "
        f"grooming (prevalence {report.prevalence:.4f}), "
        f"{plural(report.n_adults, 'adult account')} of which "
        f"{number_text(report.n_grooming_adults)} with a grooming conversation.",
        scored_against(report),
        _intervals_line(report, pct),
        "",
        "## Ranking and calibration",
        "",
        "| metric | value |",
        "|---|---|",
        f"| PR-AUC (average precision) | {with_ci(report.pr_auc, report.pr_auc_ci)} |",
        f"| ROC-AUC | {with_ci(report.roc_auc, report.roc_auc_ci)} |",
        f"| recall at precision 0.9 | "
        f"{with_ci(report.recall_at_precision_90, report.recall_at_precision_90_ci)} "
        f"(risk >= {num(report.threshold_at_precision_90, 4)}) |",
        f"| Brier score | {with_ci(report.brier, report.brier_ci, 5)} |",
        f"| expected calibration error ({report.n_bins} bins) | "
        f"{with_ci(report.ece, report.ece_ci, 5)} |",
        "",
    ]


def _operating_point_lines(report: EvaluationResults) -> list[str]:
    """The decision metrics at each tier of the alert policy."""
    lines = [
        "## At the alert policy's thresholds",
        "",
        "Conversation level, and adult level as in PAN 2012 (an adult is flagged when any of",
        "their conversations alerts).",
        "",
        "| tier | alerts | alerts per million conversations | precision | recall | F0.5 "
        "| adult precision | adult recall | adult F0.5 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for p in report.operating_points:
        lines.append(
            f"| {p.tier} and above | {number_text(p.n_alerts)} | {p.alerts_per_million:,.0f} | "
            f"{with_ci(p.precision, p.precision_ci)} | {with_ci(p.recall, p.recall_ci)} | "
            f"{with_ci(p.f05, p.f05_ci)} | {num(p.adult_precision)} | {num(p.adult_recall)} | "
            f"{with_ci(p.adult_f05, p.adult_f05_ci)} |"
        )
    return lines


def _early_detection_lines(ed: EarlyDetection | None) -> list[str]:
    """The replay's detection, precision and latency, or why there is none."""
    lines = ["", "## Early detection", ""]
    if ed is None:
        lines.append("Not computed (replay switched off).")
    else:
        sampling = (
            f"Adults were sampled for the replay: {ed.grooming_adult_rate:.3f} of adults with a "
            f"grooming conversation and {ed.other_adult_rate:.3f} of the others; precision "
            "weighs each conversation by the inverse of its adult's rate."
            if ed.sampled
            else "Every conversation was replayed."
        )
        lines += [
            "Each conversation is replayed event by event through the online scorer; a grooming",
            "conversation is detected when any of its events raises a review alert. Latency is",
            "counted from the grooming onset (an alert before the onset counts as latency 0), over",
            "detected conversations only: those never alerted are left out, not censored.",
            f"{sampling} {plural(ed.n_replayed_events, 'event')} of "
            f"{plural(ed.n_replayed_conversations, 'conversation')} replayed.",
            "",
            "| metric | value |",
            "|---|---|",
            f"| grooming conversations detected | {number_text(ed.n_detected)} of "
            f"{number_text(ed.n_grooming)} ({number_text(ed.n_alerted_before_onset)} before "
            "the onset) |",
            f"| precision / recall / F1 (alerted at any event) | {num(ed.precision)} / "
            f"{num(ed.recall)} / {num(ed.f1)} |",
            f"| latency, events after onset (median, 90th percentile) | "
            f"{num(ed.median_latency_messages, 1)}, {num(ed.p90_latency_messages, 1)} |",
            f"| latency, hours after onset (median, 90th percentile) | "
            f"{num(ed.median_latency_hours, 1)}, {num(ed.p90_latency_hours, 1)} |",
            f"| speed (median of 1 - penalty), p = {ed.latency_p:.4f} | {num(ed.speed)} |",
            f"| latency-weighted F1 | {num(ed.latency_weighted_f1)} |",
        ]
    return lines


def _slice_lines(report: EvaluationResults, pct: str) -> list[str]:
    """The review tier's metrics in each slice of the conversations."""
    intervals = (
        [
            f"Review tier, with {pct} bootstrap intervals over adult accounts; a slice whose",
            f"grooming conversations come from fewer than {MIN_GROOMING_FOR_INTERVAL} adults has",
            "its point estimate only (a bootstrap of so few cases gives intervals far narrower",
            "than what they say; one adult's conversations are drawn together). A dash",
        ]
        if report.n_bootstrap and interval_replicates(report.n_grooming_adults, report.n_bootstrap)
        else [
            "Review tier, point estimates only ("
            + (
                "grooming of too few adults for intervals, above"
                if report.n_bootstrap
                else "the bootstrap was switched off"
            )
            + "). A dash"
        ]
    )
    lines = [
        "",
        "## Slices",
        "",
        *intervals,
        "where a metric is undefined: PR-AUC and ROC-AUC where a slice lacks one class, recall",
        "where it has no grooming conversation, precision where it has no alert. A slice with",
        "no conversation in this sample is listed with 0, not left out.",
        "",
        "| slice | value | conversations | grooming | grooming adults | PR-AUC | ROC-AUC "
        "| precision | recall | alerts per million |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in report.slices:
        lines.append(
            markdown_row(
                [
                    s.by,
                    markdown_text(s.value),  # a band name: any printable text
                    number_text(s.n_conversations),
                    number_text(s.n_grooming),
                    number_text(s.n_grooming_adults),
                    with_ci(s.pr_auc, s.pr_auc_ci),
                    with_ci(s.roc_auc, s.roc_auc_ci),
                    with_ci(s.precision, s.precision_ci),
                    with_ci(s.recall, s.recall_ci),
                    num(s.alerts_per_million, 0, grouped=True),
                ]
            )
        )
    return lines
