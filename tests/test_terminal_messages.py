"""Errors of the command line are one line with nothing that acts on a terminal: a path or
value given with a line break, a terminal escape or a bidirectional override is shown
escaped (hr68e noticed `policy check $'p\\e[31m.toml'`-like paths printed raw)."""

from __future__ import annotations

from pathlib import Path

import pytest

import riskscore.model
from riskscore.cli import main


@pytest.mark.parametrize("name", ["a\x1b[2Jb.csv", "a\nb.csv", "a\u202eb.csv"])
def test_a_missing_file_is_named_escaped_on_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    assert main(["score", str(tmp_path / name), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.endswith("\n"), err
    assert not any(c in err[:-1] for c in "\x1b\n\u202e"), err
    assert repr(name[1])[1:-1] in err, err  # the character is named, not dropped


def test_an_option_refused_by_its_type_names_its_value_escaped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = tmp_path / "e.csv"
    events.write_text("conversation_id,timestamp,sender_id,recipient_id,channel\n")
    inside_shipped = Path(riskscore.model.__file__).parent / "default" / "x\x1b[2J"
    with pytest.raises(SystemExit) as exit_:
        main(["score", str(events), "--out", str(inside_shipped)])
    assert exit_.value.code == 2
    last = capsys.readouterr().err.splitlines()[-1]
    assert "\x1b" not in last, last
    assert "x\\x1b[2J is inside the model bundle" in last, last


def test_a_result_names_a_written_path_escaped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = tmp_path / "e.csv"
    events.write_text(
        "conversation_id,timestamp,sender_id,recipient_id,channel\nc1,1700000000,a,b,direct\n"
    )
    out = tmp_path / "o\x1b[2J\ru"
    assert main(["score", str(events), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "\x1b" not in printed, printed
    assert "\r" not in printed, printed
    assert "o\\x1b[2J\\ru" in printed, printed
    assert printed.count("\n") >= 2, printed
    assert (out / "scores.parquet").is_file()  # the directory is the one asked for
