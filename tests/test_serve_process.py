"""``riskscore serve`` as a process: SIGTERM writes the checkpoint, a restart restores it,
and no event is lost: the alerts over both runs equal ``riskscore stream``'s."""

from __future__ import annotations

import io
import json
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import pytest
from serve_helpers import Server

import riskscore as rs
from riskscore.cli import main

#: uvicorn finishes its graceful shutdown (and the lifespan's last checkpoint), then
#: re-raises SIGTERM with the default handler, so the process ends as killed by it.
CLEAN_EXIT = (0, -signal.SIGTERM)


def test_sigterm_checkpoints_and_a_restart_loses_no_event(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ["--db", str(tmp_path / "q.sqlite"), "--checkpoint", str(tmp_path / "state.sqlite"),
            "--checkpoint-every-s", "3600"]  # fmt: skip
    events = list(rs.synthetic.generate(150, prevalence=0.2, seed=11).messages.iter_events())
    half = len(events) // 2
    got: list[dict[str, Any]] = []
    server = Server(args, wait=False)  # its interpreter starts while riskscore stream runs
    try:
        text = "".join(json.dumps(e) + "\n" for e in events)
        monkeypatch.setattr(sys, "stdin", io.StringIO(text))
        out = io.StringIO()
        monkeypatch.setattr(sys, "stdout", out)
        assert main(["stream"]) == 0
        monkeypatch.undo()
        expected = [
            {k: v for k, v in json.loads(x).items() if k != "line"}
            for x in out.getvalue().splitlines()
        ]
        assert expected
        server.wait()
        for start in range(0, half, 1000):
            status, body = server.request("/v1/events", events[start : min(start + 1000, half)])
            assert status == 200, body
            got += body["alerts"]
    finally:
        assert server.stop() in CLEAN_EXIT
    assert (tmp_path / "state.sqlite").exists()
    server = Server(args)
    try:
        assert server.request("/healthz")[1]["events"] == half
        for start in range(half, len(events), 1000):
            status, body = server.request("/v1/events", events[start : start + 1000])
            assert status == 200, body
            got += body["alerts"]
        assert server.request("/healthz")[1]["events"] == len(events)
    finally:
        assert server.stop() in CLEAN_EXIT
    assert [{k: v for k, v in a.items() if k != "index"} for a in got] == expected


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_a_busy_port_is_one_line_and_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], host: str
) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        busy = socket.socket(family)
        busy.bind((host, 0))
    except OSError:
        pytest.skip(f"no {host} on this machine")
    with busy:
        busy.listen()
        port = busy.getsockname()[1]
        code = main(["serve", "--db", str(tmp_path / "q.sqlite"), "--host", host,
                     "--port", str(port)])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    shown = f"[{host}]:{port}" if family == socket.AF_INET6 else f"{host}:{port}"
    assert err == (
        f"riskscore serve: error: cannot listen on {shown}: address already in use; another "
        "process listens there: stop it or choose another --port\n"
    )
    assert not (tmp_path / "q.sqlite").exists()  # nothing was opened


def test_a_port_out_of_range_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--db", str(tmp_path / "q.sqlite"), "--port", "70000"]) == 2
    err = capsys.readouterr().err
    assert err == "riskscore serve: error: --port 70000 is not a TCP port (0 to 65535)\n"
