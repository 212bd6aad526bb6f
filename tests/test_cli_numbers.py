"""Numbers on the command line follow the data's rule for a number written as text (ASCII
digits, as a JSON number; ``inf`` where a duration allows it). Was: Python's ``int`` and
``float`` read ``10_0`` as 100 and digits of other scripts, so ``--min-cell`` with a
fullwidth zero asked for a report's exact, unpublishable figures, and ``--start`` took
epoch seconds in any script, where an events file refuses them."""

from __future__ import annotations

import argparse

import pytest

from riskscore.cli import main
from riskscore.cli._time import integer, number, parse_epoch, seconds, seed, share, whole_number

_NOT_NUMBERS = ["10_0", "\uff10", "\u0661\u0660", "1 0", "", "0x10", "nan", "Infinity", "1e400x"]


@pytest.mark.parametrize("text", _NOT_NUMBERS)
def test_a_number_not_written_as_the_data_writes_one_is_refused(text: str) -> None:
    for parse in (whole_number(0), seed, share, seconds, integer, number):
        with pytest.raises(argparse.ArgumentTypeError):
            parse(text)


@pytest.mark.parametrize(
    "text",
    [
        "\uff11\uff17\uff16\uff17\uff12\uff12\uff15\uff16\uff10\uff10",
        "\uff12\uff10\uff12\uff16-01-01",
        "17672256\u0660\u0660",
    ],
)
def test_a_time_in_another_script_is_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="ASCII digits only"):
        parse_epoch(text)


def test_numbers_as_the_data_writes_them_are_read() -> None:
    assert whole_number(0)(" 10 ") == 10
    assert whole_number(0)("+7") == 7
    assert seconds("inf") == float("inf")
    assert seconds("86400.5") == 86400.5
    assert share("0.25") == 0.25
    assert parse_epoch("1767225600") == 1767225600


def test_the_report_refuses_a_fullwidth_threshold_by_name(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["report", "--db", "q.sqlite", "--out", "r", "--min-cell", "\uff10"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "--min-cell" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "argv",
    [
        ["stream", "--idle-expiry-s", "1_000"],
        ["stream", "--max-conversations", "\uff11\uff10"],
        ["serve", "--port", "8_000"],
        ["generate", "--days", "\u0663\u0660", "--out", "x"],
    ],
)
def test_every_numeric_option_takes_numbers_as_the_data_writes_them(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert "is not a" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["export", "--db", "q.sqlite", "--out", "e", "--key-env", ""],
        ["report", "--db", "q.sqlite", "--out", "r", "--key-env", "MY KEY"],
        ["serve", "--add-moderator", "m1", "--password-env", "1PASS"],
    ],
)
def test_an_option_naming_an_environment_variable_takes_a_name(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: `--key-env ""` read the variable named "" (unset) and said "the environment
    variable  has 0 bytes", a doubled space where the name should be."""
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert "is not the name of an environment variable" in capsys.readouterr().err
