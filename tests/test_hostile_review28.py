"""Hostile review 28: one text id checked in Python against the column check in Arrow, and
numbers on the command line.

Each test failed on the code before its fix."""

from __future__ import annotations

import numpy as np
import pytest

from riskscore.cli.entrypoint import build_parser
from riskscore.io.ids import _bad_text_ids, text_id_problem
from riskscore.io.schema import has_hidden_character

# Egyptian hieroglyph format controls (Cf since Unicode 15.0): unassigned in the tables of
# Python 3.11 (Unicode 14.0), format characters in RE2's, which the column check uses.
NEWER_FORMAT = [chr(c) for c in range(0x13439, 0x13440)]


@pytest.mark.parametrize("char", NEWER_FORMAT)
def test_one_text_id_refused_as_its_column_refuses_it(char: str) -> None:
    """Was: ``text_id_problem`` (the review queue's intake) read a format character newer
    than Python's Unicode tables as printable and accepted the id, while the column check
    of the same id in Arrow refused it as a hidden character."""
    value = f"acct{char}9"
    column = _bad_text_ids(np.array([value], dtype=object)).get(0)
    assert column is not None
    assert text_id_problem(value) == column
    assert has_hidden_character(value)


@pytest.mark.parametrize("option", ["--max-body-mb", "--session-hours"])
@pytest.mark.parametrize("value", ["inf", "+inf", "0", "-1"])
def test_serve_size_and_lifetime_refuse_inf_and_non_positive(option: str, value: str) -> None:
    """Was: ``--max-body-mb inf`` and ``--session-hours inf`` were read (``number`` takes
    ``inf`` for every option) and ended ``riskscore serve`` with an OverflowError
    traceback (``int(inf)`` when the server was configured); 0 and -1 were taken too, a
    limit that refuses every body or a session that has ended as it starts."""
    argv = ["serve", "--db", "queue.sqlite", option, value]
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(argv)
    assert exc.value.code == 2


@pytest.mark.parametrize(("option", "value"), [("--max-body-mb", "16"), ("--session-hours", "0.5")])
def test_serve_size_and_lifetime_take_documented_values(option: str, value: str) -> None:
    """The documented values (docs/serve.md: 16 MiB, 8 hours) and fractions still read."""
    args = build_parser().parse_args(["serve", "--db", "queue.sqlite", option, value])
    assert vars(args)[option[2:].replace("-", "_")] == float(value)


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--checkpoint-every-s", "0"),
        ("--checkpoint-every-s", "-1"),
        ("--signin-window-s", "0"),
        ("--signin-window-s", "-900"),
        ("--signin-attempts", "0"),
        ("--signin-attempts", "-1"),
        ("--max-batch-ids", "-1"),
    ],
)
def test_serve_limits_refuse_values_that_break_them(option: str, value: str) -> None:
    """Was: taken as given (``integer``, ``number``: ranges "checked where used", and
    these were not). ``--checkpoint-every-s 0`` wrote checkpoints in a tight loop;
    ``--signin-window-s`` 0 or below forgot every failure at once (no sign-in rate limit);
    ``--signin-attempts 0`` refused every sign-in; ``--max-batch-ids -1`` popped an empty
    dictionary after every batch with an id (a KeyError: 500)."""
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["serve", "--db", "queue.sqlite", option, value])
    assert exc.value.code == 2


@pytest.mark.parametrize(
    ("option", "value", "read"),
    [
        ("--checkpoint-every-s", "60", 60.0),
        ("--checkpoint-every-s", "inf", float("inf")),
        ("--signin-window-s", "900", 900.0),
        ("--signin-attempts", "5", 5),
        ("--max-batch-ids", "0", 0),
        ("--max-batch-ids", "10000", 10_000),
    ],
)
def test_serve_limits_take_documented_values(option: str, value: str, read: float) -> None:
    """docs/serve.md's defaults, ``inf`` (checkpoints at shutdown only) and 0 batch ids
    (none remembered) still read."""
    args = build_parser().parse_args(["serve", "--db", "queue.sqlite", option, value])
    assert vars(args)[option[2:].replace("-", "_")] == read
