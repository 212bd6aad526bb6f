"""Rendering MODEL_CARD.md from a model's metadata (private)."""

from __future__ import annotations

import json
from typing import Any

CAUTIONS = """\
## Ethical cautions

- A risk score is a reason for a trained human to look, never an automatic verdict about
  a person. Do not suspend, report or otherwise act against an account on the score alone.
- The model was trained on synthetic data only. Its metrics describe how well it recovers
  the patterns of the synthetic generator, not its accuracy on a real platform. Measure it on
  the platform's own reviewed cases before relying on any threshold.
- It reads metadata only (ages, timing, channels, who contacts whom, blocks and reports),
  never message content. Benign relationships across an age gap (family, teachers, coaches)
  share many of these signals: expect false alerts and review them with care.
- Declared ages can be wrong. Unknown ages are handled explicitly, but the model is weaker
  where ages are unknown.
"""


def render_model_card(metadata: dict[str, Any]) -> str:
    """A model card with intended use, training data, metrics, limitations and cautions."""
    training = metadata.get("training", {})
    metrics = metadata.get("metrics")
    lines = [
        "# Model card: riskscore risk model",
        "",
        "## Intended use",
        "",
        "Ranking online conversations between accounts for human review by trust and safety",
        "moderators, from message metadata only, as one input among others (user reports,",
        "moderator judgement). Not for automated enforcement, and not for any use outside child",
        "safety review.",
        "",
        "## Model",
        "",
        f"{metadata.get('estimator', 'calibrated logistic regression')}. Probabilities are",
        "calibrated by Platt scaling on out-of-fold scores (folds grouped by adult account).",
        "Reasons are each feature's additive push on the calibrated log-odds.",
        "",
        "## Training data",
        "",
        "Synthetic conversations from `riskscore.synthetic` (no real data, no message text):",
        "",
        "```json",
        json.dumps(training, indent=2, sort_keys=True),
        "```",
        "",
        "## Metrics",
        "",
    ]
    if metrics:
        lines += [
            "Measured on a held-out synthetic test set whose adult accounts do not appear in",
            "training:",
            "",
            "| metric | value |",
            "|---|---|",
            *(f"| {k} | {_fmt(v)} |" for k, v in metrics.items()),
        ]
    else:
        lines.append("No held-out metrics were recorded for this model.")
    lines += ["", "## Model comparison", "", *_comparison(metadata.get("comparison"))]
    lines += [
        "",
        "## Limitations",
        "",
        "- Synthetic training data: the generator's assumptions bound what the model learned.",
        "- A linear model: interactions between signals are only captured through the features.",
        "- Per-sender features (fan-out to minors and the rest) need the adult's other",
        "  conversations in the same scoring run; scoring one conversation alone understates them.",
        "",
        CAUTIONS,
    ]
    return "\n".join(lines)


def _comparison(comparison: dict[str, Any] | None) -> list[str]:
    """The side-by-side table of the default, gradient-boosted trees and a rule baseline."""
    if not comparison:
        return ["No model comparison was recorded for this model (`riskscore train` records one)."]
    from riskscore.baselines import ModelComparison

    return [
        "Why this model: the default, gradient-boosted trees and a hand-written rule, trained on",
        "the same adult-grouped split and measured on the same held-out adults",
        "(`riskscore.baselines.compare_models`).",
        "",
        ModelComparison.from_dict(comparison).to_markdown(),
    ]


def _fmt(value: Any) -> str:
    # Counts are stored as floats in the metrics dict; print them as the integers they are.
    if isinstance(value, float) and value.is_integer() and abs(value) >= 1:
        return f"{int(value):,}"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)
