"""An alert or report built by library code with bad values is refused with a message that
quotes each value cut short (an id of 100,000 characters is not copied into the error)."""

from __future__ import annotations

import math

import pytest

import riskscore as rs
from riskscore.moderation.intake import alert_row, report_row

_LONG = "x" * 100_000


@pytest.mark.parametrize(
    ("alert", "channel"),
    [
        (rs.Alert(_LONG, "a", "k", 12.0, "under 13", math.nan, rs.Tier.REVIEW), None),
        (rs.Alert(_LONG, "a", "k", 12.0, _LONG, 0.5, rs.Tier.REVIEW), None),
        (rs.Alert(_LONG, "a", "k", 12.0, "under 13", 0.5, rs.Tier.REVIEW, reasons=(1,)), None),
        (rs.Alert("c", "a", "k", 12.0, "under 13", 0.5, rs.Tier.REVIEW), _LONG),
    ],
)
def test_a_bad_alert_is_refused_with_its_values_cut_short(
    alert: rs.Alert, channel: str | None
) -> None:
    with pytest.raises(ValueError, match=r"conversation|channel") as info:
        alert_row(alert, channel, 0)
    assert len(str(info.value)) < 500


def test_a_bad_report_is_refused_with_its_values_cut_short() -> None:
    report = rs.UserReport(_LONG, "p", "a", 1e9, timestamp=0)
    with pytest.raises(
        ValueError, match=r"conversation_id 'x+'\.\.\. \(100000 characters\)"
    ) as info:
        report_row(report, rs.AlertPolicy.default())
    assert len(str(info.value)) < 500
