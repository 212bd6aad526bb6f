"""Reports already published from a queue: a new report's period must not overlap one
(:func:`check_disjoint`), since subtracting two reports of overlapping periods gives counts
that the disclosure control of neither saw (:mod:`riskscore.moderation.disclosure`)."""

from __future__ import annotations

from collections.abc import Iterable

from riskscore.io.timestamps import iso_utc
from riskscore.moderation.cases import check_period

__all__ = ["check_disjoint"]


def check_disjoint(period: tuple[int, int], published: Iterable[tuple[int, int]]) -> None:
    """Refuse a report ``period`` that overlaps a period of a ``published`` report (the
    same period included): the control checks one report's figures, and subtracting two
    reports of overlapping periods gives the counts of their difference, which neither
    report's control saw (30 alerts in ten days and 31 in eleven: one alert on the last
    day, although both withhold every count under 10).

    Examples
    --------
    >>> check_disjoint((100, 200), [(0, 100), (200, 300)])
    >>> check_disjoint((100, 200), [(150, 300)])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: the period 1970-01-01T00:01:40+00:00 to 1970-01-01T00:03:20+00:00 overlaps ...
    """
    start, end = period
    for first, last in published:
        check_period(first, last)  # a published period is one too
        if first < end and start < last:
            raise ValueError(
                f"the period {iso_utc(start)} to {iso_utc(end)} overlaps a published report's, "
                f"{iso_utc(first)} to {iso_utc(last)}: subtracting two reports of overlapping "
                "periods gives the counts of their difference, which the disclosure control of "
                "neither saw; publish reports of disjoint periods (months, or quarters, not "
                "both), or withdraw the published report before replacing it"
            )
