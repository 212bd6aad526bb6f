"""``riskscore generate --days`` names its own range (found by a hostile review: 100000 was
refused as "start must be epoch seconds ... got start=1767225600, days=100000", naming a
start the command has no option for)."""

from __future__ import annotations

import pytest

from riskscore.cli import main
from riskscore.cli.generate import _MAX_DAYS
from riskscore.io.schema import MAX_TIMESTAMP
from riskscore.synthetic import DEFAULT_START


def test_the_longest_period_ends_before_2200() -> None:
    assert (
        DEFAULT_START + _MAX_DAYS * 86_400
        <= MAX_TIMESTAMP
        < DEFAULT_START + (_MAX_DAYS + 1) * 86_400
    )


@pytest.mark.parametrize("days", ["1", "100000"])
def test_days_out_of_range_are_refused_by_the_option(
    days: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["generate", "--days", days, "--out", "unused"])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert f"argument --days: {days!r} is not a whole number from 2 to {_MAX_DAYS}" in err
    assert "start" not in err
