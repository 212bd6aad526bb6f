"""Hostile review 51 of the command line: an operator's messy shell redirections and
files. All data is synthetic.

Each test failed on the code before its fix, but for guards that say they passed before."""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from cli_helpers import _one_line_error
from serve_helpers import config

import riskscore as rs
from riskscore.cli import main
from riskscore.cli.serve import listen
from riskscore.exceptions import RiskscoreError


@pytest.fixture(scope="module")
def text() -> str:
    data = rs.synthetic.generate(20, prevalence=0.2, seed=5)
    events = sorted(data.messages.iter_events(), key=lambda e: e["timestamp"])
    return "".join(json.dumps(e) + "\n" for e in events[:200])


_REPLAY = ["stream", "--time-source", "events", "--max-future-s", "inf"]


@contextlib.contextmanager
def _redirected(
    monkeypatch: pytest.MonkeyPatch, stdin: Path, stdout: Path, mode: str = "a"
) -> Iterator[None]:
    """As the shell's ``< STDIN >> STDOUT`` (``mode`` "a") or ``> STDOUT`` ("w"): stdin
    and stdout are the files themselves, not captured streams."""
    with (
        stdin.open(encoding="utf-8") as read,
        stdout.open(mode, encoding="utf-8") as written,
        monkeypatch.context() as patch,  # the captured streams again after
    ):
        patch.setattr(sys, "stdin", read)
        patch.setattr(sys, "stdout", written)
        yield


def _stream(
    monkeypatch: pytest.MonkeyPatch, stdin: Path, stdout: Path, *options: str, mode: str = "a"
) -> int:
    with _redirected(monkeypatch, stdin, stdout, mode):
        return main([*_REPLAY, *options])


def test_shadow_out_on_the_file_read_on_stdin_is_refused(
    text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """Was: ``stream --shadow-out events.jsonl < events.jsonl`` appended the shadow alerts
    to the input, read them back as (refused) events and exited 0, the input changed."""
    events = tmp_path / "events.jsonl"
    events.write_text(text, encoding="utf-8")
    link = tmp_path / "link.jsonl"
    link.symlink_to(events)
    for shadow_out in (events, link):
        options = ["--shadow-model", "default", "--shadow-out", str(shadow_out)]
        assert _stream(monkeypatch, events, tmp_path / "alerts.jsonl", *options) == 2
        err = _one_line_error(capsys, "stream")
        assert f"--shadow-out {shadow_out} is the file on stdin" in err
    assert events.read_text(encoding="utf-8") == text


@pytest.mark.parametrize("option", ["--checkpoint", "--queue"])
def test_a_database_that_stdout_writes_to_is_refused(
    option: str, text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """Was: ``stream --queue q.sqlite < events >> q.sqlite`` wrote the alerts into the
    database file, where SQLite's pages went over them: the alerts lost, exit status 0."""
    events = tmp_path / "events.jsonl"
    events.write_text(text, encoding="utf-8")
    database = tmp_path / "state.sqlite"
    assert _stream(monkeypatch, events, tmp_path / "first.jsonl", option, str(database)) == 0
    before = database.read_bytes()
    capsys.readouterr()
    assert _stream(monkeypatch, events, database, option, str(database)) == 2
    err = _one_line_error(capsys, "stream")
    assert f"{option} {database} is the file on stdout" in err
    assert database.read_bytes() == before


@pytest.mark.parametrize("mode", ["a", "w"])
def test_stdout_on_the_file_read_on_stdin_is_refused(
    mode: str, text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """Was: ``stream < events.jsonl >> events.jsonl`` fed its alerts back as events (each
    refused), exit status 0; as ``cat`` refuses "input file is output file"."""
    events = tmp_path / "events.jsonl"
    events.write_text(text, encoding="utf-8")
    kept = events.read_text(encoding="utf-8") if mode == "a" else ""
    assert _stream(monkeypatch, events, events, mode=mode) == 2
    err = _one_line_error(capsys, "stream")
    assert "stdout is the file on stdin" in err
    assert events.read_text(encoding="utf-8") == kept


def test_files_of_their_own_still_stream(
    text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """Guard (passed before): regular files on stdin and stdout, each option its own file,
    and a stdin that is no file (a pipe, a test's stream), stream as before."""
    events = tmp_path / "events.jsonl"
    events.write_text(text, encoding="utf-8")
    alerts = tmp_path / "alerts.jsonl"
    options = [
        "--checkpoint", str(tmp_path / "state.sqlite"),
        "--queue", str(tmp_path / "queue.sqlite"),
        "--shadow-model", "default", "--shadow-out", str(tmp_path / "shadow.jsonl"),
    ]  # fmt: skip
    assert _stream(monkeypatch, events, alerts, *options, mode="w") == 0
    assert "error" not in capsys.readouterr().err
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    assert main([*_REPLAY, "--queue", str(tmp_path / "other.sqlite")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == alerts.read_text(encoding="utf-8").splitlines()


@pytest.fixture
def never_serves(monkeypatch: pytest.MonkeyPatch) -> None:
    """A command line that would serve fails the test at once (before a fix it served,
    and the test would have waited for ever)."""

    def serve(*args: object, **kwargs: object) -> None:
        raise AssertionError("riskscore serve started serving")

    monkeypatch.setattr(uvicorn.Server, "run", serve)


@pytest.mark.usefixtures("never_serves")
@pytest.mark.parametrize("host", ["", "  "])
def test_an_empty_host_is_refused_not_every_interface(
    host: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: ``serve --host ''`` (as ``--host "$HOST"`` with HOST unset) listened on every
    interface (0.0.0.0), where the default is 127.0.0.1, and printed http://:8000."""
    with pytest.raises(RiskscoreError, match="every interface"):
        listen(host, 0)
    argv = ["serve", "--db", str(tmp_path / "queue.sqlite"), "--host", host, "--port", "0"]
    assert main(argv) == 2
    err = _one_line_error(capsys, "serve")
    assert f"--host {host!r} is empty" in err
    assert not (tmp_path / "queue.sqlite").exists()


@pytest.mark.usefixtures("never_serves")
@pytest.mark.parametrize("header", ["X Remote User", "", "X-Remote-User:", "X-Usér"])
def test_a_trusted_header_no_request_can_carry_is_refused(
    header: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: ``serve --trusted-header 'X Remote User'`` served a console no one could sign
    in to (no request carries a header of that name), with no word of why."""
    with pytest.raises(ValueError, match="not an HTTP header name"):
        config(tmp_path / "lib", rs.load_model(), trusted_header=header)
    argv = ["serve", "--db", str(tmp_path / "queue.sqlite"), "--trusted-header", header]
    assert main([*argv, "--host", "127.0.0.1", "--port", "0"]) == 2
    err = _one_line_error(capsys, "serve")
    assert f"--trusted-header is not an HTTP header name, got {header!r}" in err


def test_a_header_name_of_http_is_taken(tmp_path: Path) -> None:
    """Guard (passed before): the names a single sign-on proxy sets are taken."""
    for header in ("X-Remote-User", "remote_user", "X-Forwarded-Preferred-Username"):
        assert config(tmp_path, rs.load_model(), trusted_header=header).trusted_header == header


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
@pytest.mark.parametrize("command", [["evaluate", "--out", "report"], ["policy", "check", "P"]])
def test_labelled_data_generated_in_another_format_says_so(
    fmt: str, command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """Was: ``--data DIR`` of ``riskscore generate --format csv`` said only that
    DIR/events.parquet was missing from a folder "as `riskscore generate` writes"."""
    monkeypatch.chdir(tmp_path)
    assert main(["generate", "--conversations", "30", "--format", fmt, "--out", "data"]) == 0
    capsys.readouterr()
    assert main(["policy", "default"]) == 0
    Path("P").write_text(capsys.readouterr().out, encoding="utf-8")
    assert main([*command, "--data", "data"]) == 2
    err = _one_line_error(capsys, command[0])
    assert f"data holds events.{fmt} (as `riskscore generate --format {fmt}` writes)" in err
    assert "generate it again without --format" in err


@pytest.mark.parametrize("items", [",", "", " , "])
def test_no_item_id_in_items_names_the_option(
    items: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: ``queue --decide A --items ,`` said "item_ids is empty", the library's name."""
    argv = ["queue", "--db", str(tmp_path / "q.sqlite"), "--decide", "7", "--items", items]
    with pytest.raises(SystemExit) as exit_:
        main([*argv, "--outcome", "dismissed", "--moderator", "m"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.splitlines()[-1]
    assert err == (
        f"riskscore queue: error: argument --items: {items!r} is not comma-separated item ids "
        "(whole numbers from 1 to 9007199254740992)"
    )


def test_a_shadow_out_fifo_no_process_reads_is_refused_not_waited_on(
    text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """Was: ``stream --shadow-out FIFO`` with no process reading the FIFO waited for ever in
    its open, before reading a line (here a reader opened after 60 s ends that wait)."""
    fifo = tmp_path / "shadow.fifo"
    os.mkfifo(fifo)
    readers: list[int] = []
    rescue = threading.Timer(
        60.0, lambda: readers.append(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))
    )
    rescue.start()
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    try:
        code = main([*_REPLAY, "--shadow-model", "default", "--shadow-out", str(fifo)])
    finally:
        rescue.cancel()
        rescue.join()
        for fd in readers:
            os.close(fd)
    assert code == 2
    err = _one_line_error(capsys, "stream")
    assert "a FIFO that no process reads (start its reader first" in err
    assert err.endswith(f"wait for ever): {fifo}\n")


def test_a_shadow_out_fifo_with_its_reader_streams(
    text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """Guard (passed before): a FIFO whose reader is there gets the shadow alerts."""
    fifo = tmp_path / "shadow.fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    try:
        assert main([*_REPLAY, "--shadow-model", "default", "--shadow-out", str(fifo)]) == 0
        shadow = os.read(reader, 1 << 16).decode("utf-8").splitlines()
    finally:
        os.close(reader)
    alerts = capsys.readouterr().out.splitlines()
    assert len(shadow) == len(alerts)  # the same model, the same alerts
    assert all(json.loads(line)["shadow"] is True for line in shadow)


def _writer_comes(fifo: Path) -> None:
    """A writer that opens ``fifo`` and closes it: a reader waiting in its open reads an
    empty file."""
    os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))


def test_accounts_out_on_a_fifo_is_refused_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: ``accounts EVENTS --out FIFO.parquet`` opened the FIFO to see whether it was an
    account features file to replace, and waited for a writer for ever, Ctrl-C unheard
    (here a writer comes after 60 s, and the test fails on the time taken)."""
    events = tmp_path / "events.parquet"
    rs.synthetic.generate(20, seed=3).write(tmp_path)
    fifo = tmp_path / "accounts.parquet"
    os.mkfifo(fifo)
    rescue = threading.Timer(60.0, _writer_comes, [fifo])
    rescue.start()
    started = time.monotonic()
    try:
        code = main(["accounts", str(events), "--out", str(fifo)])
    finally:
        rescue.cancel()
        rescue.join()
    assert time.monotonic() - started < 30
    assert code == 2
    err = _one_line_error(capsys, "accounts")
    assert f"{fifo} exists and is not a riskscore account features file" in err


@pytest.mark.parametrize("command", ["score", "monitor", "evaluate", "report"])
def test_out_dash_is_refused_not_a_directory_named_dash(
    command: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Was: ``score EVENTS --out -`` (stdout meant) created a directory named ``-`` in the
    working directory and wrote the scores there, exit 0; ``./-`` still names one."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exited:
        main([command, "events.parquet", "--out", "-"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.splitlines()[-1].endswith(
        "argument --out: '-' is no standard output here: this option names a file or "
        "directory to write (./- for one named '-')"
    ), err
    assert "Traceback" not in err
    assert not (tmp_path / "-").exists()
