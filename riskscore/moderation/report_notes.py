"""The sentences every rendering of a transparency report states (Markdown, HTML and
``riskscore report``'s summary): whether its figures are simulated, its disclosure control,
and how its items are placed in the period (private to ``transparency``); and what a
report or export of a period not yet ended says of it."""

from __future__ import annotations

from typing import Any

from riskscore.moderation.disclosure import SUPPRESSED

__all__ = [
    "SIMULATION_MARKS",
    "count_text",
    "cut_period_text",
    "disclosure_note",
    "received_note",
    "simulation_banner",
]

#: The heading word of simulated figures, by the report's ``simulation.decision_times``.
SIMULATION_MARKS = {
    "simulated": "SIMULATED",
    "mixed": "PARTLY SIMULATED",
    "measured": "SIMULATED QUEUE",
}


def count_text(value: int | None) -> str:
    """A count as shown: ``[c]`` when withheld (a count is None only then)."""
    return SUPPRESSED if value is None else str(value)


def simulation_banner(d: dict[str, Any]) -> str:
    """What every rendering states first when the report's figures are simulated ("" when
    they are not): a heading word and the report's ``simulation.note``."""
    if not d["simulated"]:
        return ""
    sim = d["simulation"]
    return f"{SIMULATION_MARKS[sim['decision_times']]}: {sim['note']}."


def disclosure_note(d: dict[str, Any]) -> str:
    """What every rendering says of the report's disclosure control: its threshold."""
    control = d["disclosure_control"]
    if control["min_cell"] <= 1:
        return (
            f"Disclosure control: none (threshold {control['min_cell']}): exact figures, for "
            "a regulator under confidentiality; do not publish this report."
        )
    return (
        f"Disclosure control: threshold {control['min_cell']}: {control['method']}. "
        f"{SUPPRESSED} marks a withheld figure: a count from 1 to {control['min_cell'] - 1}, "
        "or a larger figure withheld so that a small one cannot be worked out from the totals "
        "(docs/transparency.md, disclosure control)."
    )


def received_note(d: dict[str, Any]) -> str:
    """How items are placed in the period, and how many arrived late (carry a time before
    it): every rendering says it under the period."""
    late = d["received_in_period"]["dated_before_period"]
    return (
        "Alerts and user reports are counted in the period in which the queue received them; "
        f"dated before it (late arrivals, never added to the report of the period they are "
        f"dated in): alerts {count_text(late['alerts'])}, user reports "
        f"{count_text(late['user_reports'])}."
    )


def cut_period_text(asked: str, requested_end: str, made: str) -> str:
    """What a report or export of a period cut by :func:`closed_end` says, in every output
    (``asked``: how the period's end was given; ``made``: what was made at that time).

    Examples
    --------
    >>> cut_period_text("the --to given", "2200-01-01T00:00:00Z", "the export")
    'the --to given ends 2200-01-01T00:00:00Z, after the time of the export: the period is \
cut there, so that no figure is of a period that has not ended'
    """
    return (
        f"{asked} ends {requested_end}, after the time of {made}: the period is cut there, "
        "so that no figure is of a period that has not ended"
    )
