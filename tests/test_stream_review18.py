"""Hostile review 18 of ``riskscore stream --checkpoint``: a checkpoint's count of input
lines checked against the state it holds, and a restart on a shorter input reported, never
a silent skip or a second application of the same lines. All data is synthetic."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import riskscore as rs
from riskscore.cli import main
from riskscore.cli.stream import stream_lines


@pytest.fixture(scope="module")
def lines() -> list[str]:
    data = rs.synthetic.generate(40, prevalence=0.2, seed=18)
    return [json.dumps(e) + "\n" for e in data.messages.iter_events()][:60]


def _run(argv: list[str], text: str, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    return main(argv)


def _stream(checkpoint: Path, *more: str) -> list[str]:
    return ["stream", "--checkpoint", str(checkpoint), "--time-source", "events", *more]


def test_a_checkpoint_counting_fewer_lines_than_its_events_is_refused(
    lines: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """Was: resumed after line 10 though its state held 60 events: lines 11 to 60 applied
    twice."""
    scorer = rs.OnlineScorer(rs.load_model(), time_source="events")
    scorer.update_many(json.loads(line) for line in lines)
    scorer.checkpoint(tmp_path / "state.sqlite", extra={"lines": 10})
    assert _run(_stream(tmp_path / "state.sqlite"), "".join(lines), monkeypatch) != 0
    err = capsys.readouterr().err
    assert "state.sqlite" in err
    assert "'lines' is 10" in err
    assert "60 events" in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("extra", [{}, {"batches": 3}])
def test_a_checkpoint_of_events_without_a_line_count_is_refused(
    lines: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], extra: dict[str, int],
) -> None:  # fmt: skip
    """A checkpoint of the API or of ``riskscore serve`` holds events but no input line
    count: resumed from line 0, the same input was applied twice."""
    scorer = rs.OnlineScorer(rs.load_model(), time_source="events")
    scorer.update_many(json.loads(line) for line in lines[:5])
    scorer.checkpoint(tmp_path / "state.sqlite", extra=extra)
    assert _run(_stream(tmp_path / "state.sqlite"), "".join(lines), monkeypatch) != 0
    err = capsys.readouterr().err
    assert "no count of input lines" in err
    assert "Traceback" not in err


def test_a_restart_on_a_shorter_input_is_reported_and_keeps_the_count(
    lines: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """Was: silent, and the final checkpoint then counted 15 lines for a state of 60: fed
    the whole input again, lines 16 to 60 were applied twice."""
    checkpoint = tmp_path / "state.sqlite"
    assert _run([*_stream(checkpoint), "--json"], "".join(lines), monkeypatch) == 0
    first = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert _run([*_stream(checkpoint), "--json"], "".join(lines[:15]), monkeypatch) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out.splitlines()[-1])["summary"]
    assert summary["lines"] == 15
    assert summary["missing"] == 45
    assert "input ended at line 15" in captured.err
    assert "line 60" in captured.err
    assert rs.OnlineScorer.restore(checkpoint, rs.load_model()).checkpoint_extra["lines"] == 60
    assert _run([*_stream(checkpoint), "--json"], "".join(lines), monkeypatch) == 0
    third = json.loads(capsys.readouterr().out.splitlines()[-1])["summary"]
    assert third["events"] == 0
    assert third["missing"] == 0
    assert first["summary"]["events"] == 60


def test_a_restart_killed_while_skipping_keeps_its_checkpoint_whole(
    lines: list[str], tmp_path: Path
) -> None:
    """No periodic checkpoint is written while the lines already processed are skipped (it
    would count 20 lines for a state of 60): killed then, the checkpoint still counts 60."""
    model = rs.load_model()
    checkpoint = tmp_path / "state.sqlite"
    scorer = rs.OnlineScorer(model, time_source="events")
    stream_lines(scorer, lines, io.StringIO(), io.StringIO(), checkpoint=checkpoint)

    def killed_at_25() -> Iterator[str]:
        for k, line in enumerate(lines, start=1):
            if k == 25:
                raise KeyboardInterrupt
            yield line

    restored = rs.OnlineScorer.restore(checkpoint, model)
    with pytest.raises(KeyboardInterrupt):
        stream_lines(restored, killed_at_25(), io.StringIO(), io.StringIO(),
                     checkpoint=checkpoint, checkpoint_every=10, skip=60)  # fmt: skip
    again = rs.OnlineScorer.restore(checkpoint, model)
    assert again.checkpoint_extra["lines"] == 60
    assert again.n_events == scorer.n_events
