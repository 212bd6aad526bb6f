"""An option given twice on a command line is refused, not silently the last one.

Was (review 26): ``riskscore score events.parquet --policy a.toml --policy b.toml`` ran with
``b.toml`` without a word, and so did every other option: argparse keeps the last value.
"""

from __future__ import annotations

import pytest

from riskscore.cli import main
from riskscore.cli.entrypoint import build_parser


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["score", "events.parquet", "--policy", "a.toml", "--policy", "b.toml"], "--policy"),
        (["score", "events.parquet", "--out", "a", "--out=b"], "--out"),
        (["score", "events.parquet", "--json", "--json"], "--json"),
        (["generate", "--conversations", "5", "--conversations", "6", "--out", "d"],
         "--conversations"),
        (["stream", "events.jsonl", "--checkpoint", "a.sqlite", "--checkpoint", "b.sqlite"],
         "--checkpoint"),
    ],
)  # fmt: skip
def test_an_option_given_twice_is_refused(
    argv: list[str], option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {option}: given more than once" in err
    assert "Traceback" not in err


def test_options_meant_to_repeat_still_repeat() -> None:
    """``export --decision`` appends: given twice, both are kept."""
    args = build_parser().parse_args(
        ["export", "--db", "q.sqlite", "--out", "o", "--decision", "actioned",
         "--decision", "dismissed"]
    )  # fmt: skip
    assert args.decision == ["actioned", "dismissed"]


def test_a_parser_parses_twice_afresh() -> None:
    """The options seen are counted per parse, not over the parser's life."""
    parser = build_parser()
    for _ in range(2):
        args = parser.parse_args(["score", "events.parquet", "--policy", "a.toml", "--out", "o"])
        assert str(args.policy).endswith("a.toml")
