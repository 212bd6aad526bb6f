"""The qualitative template of Implementing Regulation (EU) 2024/2835 (Annex I): the
fields on automated means, drafted from the alert policy and the measured precision, for
the platform to review (the quantitative tables are :mod:`riskscore.regulatory.eu_templates`).
"""

from __future__ import annotations

from riskscore.io.markdown import markdown_text
from riskscore.policy import AlertPolicy
from riskscore.policy.bands import threshold_text

__all__ = ["qualitative_draft", "qualitative_fields"]

QUALITATIVE_INDICATORS = (
    "Qualitative description of the automated means",
    "Qualitative description of indicators of accuracy and possible rate of error of "
    "automated means",
    "Specification of the precise purposes to apply automated means",
    "Safeguards applied to the use of automated means",
)


def qualitative_fields(
    policy: AlertPolicy,
    precision: float | None,
    ci: tuple[float, float] | None,
    *,
    withheld: bool = False,
) -> dict[str, str]:
    """Draft text of the qualitative template's fields on automated means.

    Parameters
    ----------
    policy : AlertPolicy
        The alert policy in use (its thresholds per age band are quoted).
    precision, ci : float or None, (float, float) or None
        Measured precision from decisions and its Wilson 95% interval.
    withheld : bool
        Disclosure control withholds the precision (small counts of outcomes).

    Returns
    -------
    dict of str to str
        Indicator name -> draft text, to be reviewed by the platform.
    """
    bands = "; ".join(
        f"{b.name}: review at {threshold_text(b.review)}, urgent at {threshold_text(b.urgent)}"
        for b in policy.all_bands
    )
    measured = (
        "withheld by statistical disclosure control (small counts of outcomes)"
        if withheld
        else "no decided alerts in the period"
        if precision is None or ci is None
        else f"{100 * precision:.1f}% (Wilson 95% interval {100 * ci[0]:.1f}-{100 * ci[1]:.1f}%)"
    )
    return {
        QUALITATIVE_INDICATORS[0]: (
            "A risk model (riskscore) estimates, for each conversation between two accounts, the "
            "probability that it follows a grooming pattern. It reads message metadata only: who "
            "contacted whom, when, on which channel, declared ages, contact requests, blocks and "
            "reports. It never reads message text or media. The model is monotone gradient-boosted "
            "trees with calibrated probabilities; each alert lists the features that raised its "
            "risk. An alert policy turns risks into review or urgent alerts with thresholds per "
            f"age band of the child ({bands}); alerts go to a review queue ranked for moderators."
        ),
        QUALITATIVE_INDICATORS[1]: (
            "Precision is measured from moderators' decisions: the share of decided alerts that "
            f"moderators confirmed (actioned or escalated) was {measured}. This says nothing about "
            "cases the model did not alert on: recall needs labelled data and is measured on "
            "synthetic and labelled samples before deployment (model card). At realistic "
            "prevalence most alerts are benign, which is why every alert goes to a human."
        ),
        QUALITATIVE_INDICATORS[2]: (
            "To find conversations in which an adult may be grooming a child, early enough to "
            "protect the child, and to rank them so that moderators read the most urgent first. "
            "The automated means detect and prioritise; they do not decide or restrict."
        ),
        QUALITATIVE_INDICATORS[3]: (
            "A moderator reviews every alert and decides; no restriction is applied automatically. "
            f"{_thresholds_by_age(policy)}; on the declared ages, {policy.guards.describe()}. "
            "Each alert shows its reasons to the moderator. Decisions and every queue change "
            "are kept in an append-only audit log. "
            "Account ids in published reports are pseudonymised. Precision from decisions is "
            "reported with each transparency report; the model and policy are versioned with a "
            "model card stating their intended use (ranking for human review, not enforcement)."
        ),
    }


def _thresholds_by_age(policy: AlertPolicy) -> str:
    """What the policy's thresholds do by age, as a safeguard: a younger band's are never
    higher than an older one's (:class:`~riskscore.policy.AlertPolicy` refuses that), so
    they are lower somewhere or the same throughout."""
    if len({(b.review, b.urgent) for b in policy.bands}) > 1:
        return "Thresholds are stricter for younger children (never higher than an older band's)"
    return "The thresholds are the same for every age band"


def qualitative_draft(fields: dict[str, str], *, service: str, period: str) -> str:
    """The qualitative fields as a Markdown draft marked for the platform to review.

    Parameters
    ----------
    fields : dict of str to str
        From :func:`qualitative_fields`.
    service, period : str
        Service name and reporting period shown in the heading.

    Returns
    -------
    str
        Markdown.
    """
    lines = [
        "# Qualitative template (Implementing Regulation (EU) 2024/2835): draft for "
        + (markdown_text(service) if service else "the platform"),  # shown as written
        "",
        f"Reporting period: {period}. DRAFT prepared by riskscore from the alert policy, the model "
        "card and the decisions in the review queue. The platform reviews, completes and "
        "publishes it; riskscore publishes nothing.",
        "",
    ]
    for name, text in fields.items():
        lines += [f"## {name}", "", markdown_text(text), ""]  # band names shown as written
    lines += [
        "## Fields left to the platform",
        "",
        "Summary of the content moderation engaged in at the provider's own initiative (all "
        "harm areas), governance, human resources (qualifications, training, support) and the "
        "methodology of their count.",
        "",
    ]
    return "\n".join(lines)
