"""Section 8 of the 2024/2835 quantitative template: automated means, their accuracy, and
which of its figures disclosure control withholds.

The templates are published beside the transparency report of the same period, so a figure
of theirs must not give back what the report withholds. Two figures here are not counts of
statements of reasons (which are public case by case): the precision's numerator and
denominator (alerts actioned or escalated, and decided, of those received in the period)
and the notices decided. With the report's headline totals (alerts raised, user reports
received) and its published breakdowns they reveal every outcome of those alerts and the
notices left open; so each is published only when none of those counts lies between 1 and
``min_cell - 1`` (the report's primary rule, :mod:`riskscore.moderation.disclosure`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any, Final

from riskscore.moderation.disclosure import DEFAULT_MIN_CELL, SUPPRESSED, is_small

__all__ = ["PLATFORM", "automated_means_rows", "small_counts"]

#: The contextual information of a cell riskscore cannot fill.
PLATFORM: Final = "left to the platform: riskscore does not know this figure"


def small_counts(statuses: Iterable[str], min_cell: int, *, names: Iterable[str]) -> list[str]:
    """The ``names`` whose count among ``statuses`` is from 1 to ``min_cell - 1``.

    Examples
    --------
    >>> small_counts(["actioned"] * 12 + ["open"] * 2, 10, names=("actioned", "open", "dismissed"))
    ['open']
    """
    counts = Counter(statuses)
    return [name for name in names if is_small(counts[name], min_cell)]


def _withheld_note(what: str, min_cell: int) -> str:
    """The contextual information of a withheld figure: why, without naming the small count
    (every withheld figure reads the same, as in the report)."""
    return (
        f"withheld ([c]): with the transparency report's totals it would give back {what} "
        f"that statistical disclosure control withholds (counts from 1 to {min_cell - 1}); "
        "exported with min_cell 0 or 1, exact figures for a regulator under confidentiality"
    )


def automated_means_rows(
    lead: list[Any],
    n_own: int,
    notices_decided: int,
    confirmed_of_decided: tuple[int, int],
    ci: tuple[float, float] | None,
    *,
    filtered: bool = False,
    withheld: tuple[str, ...] = (),
    min_cell: int = DEFAULT_MIN_CELL,
    simulated_note: str = "",
) -> list[list[Any]]:
    """Section 8: automated means and indicators of accuracy (precision from the decided
    alerts, of which ``confirmed_of_decided[0]`` were actioned or escalated; ``filtered``:
    the export keeps some outcomes only, which the precision's note says it ignores;
    ``withheld``: the figures disclosure control withholds at ``min_cell``;
    ``simulated_note``: how many of the decisions a simulation made, added to the
    precision's note)."""
    confirmed, decided = confirmed_of_decided
    precision: Any = "" if not decided else round(confirmed / decided, 4)
    precision_note = "no decided alerts in the period"
    if ci is not None:
        precision_note = (
            f"(actioned + escalated) / decided alerts = {confirmed}/{decided}; "
            f"Wilson 95% interval {ci[0]:.4f}-{ci[1]:.4f}"
        )
    if "precision" in withheld:
        precision = SUPPRESSED
        precision_note = _withheld_note("outcomes of alerts", min_cell)
        # the simulation's count of decisions is the withheld denominator: said without it
        simulated_note = "; SIMULATED: decision times set by a simulation" if simulated_note else ""
    elif filtered:
        precision_note += (
            "; over every alert received in the period and decided, whatever the decisions "
            "the export keeps"
        )
    precision_note += simulated_note
    own, nam = "Own-initiative", "NAM Total"
    rows: list[tuple[str, str, Any, str]] = [
        (
            "Number of measures solely taken by automated means",
            own,
            0,
            "riskscore alerts never decide: a moderator decides every case",
        ),
        (
            "Number of measures not taken by automated means",
            own,
            n_own,
            "restricting decisions by a moderator on alerts from automated detection",
        ),
        ("Accuracy of the automated means - Precision", own, precision, precision_note),
        (
            "Accuracy of the automated means - Accuracy",
            own,
            "",
            "not measurable from decisions alone (needs labelled data): " + PLATFORM,
        ),
        (
            "Accuracy of the automated means - Recall",
            own,
            "",
            "missed cases are not seen by the queue (needs labelled data): " + PLATFORM,
        ),
        (
            "Number of notices solely processed by automated means",
            nam,
            0,
            "every notice is reviewed by a moderator",
        ),
        (
            "Number of notices not processed by automated means",
            nam,
            SUPPRESSED if "notices_decided" in withheld else notices_decided,
            _withheld_note("notices left open", min_cell)
            if "notices_decided" in withheld
            else "notices decided by a moderator",
        ),
    ]
    section = "Use of automated means for content moderation"
    return [[*lead, section, *row] for row in rows]
