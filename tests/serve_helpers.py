"""Shared set-up of the ``riskscore serve`` tests: a configured app on temporary files."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import replace
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher

import riskscore as rs
from riskscore.serve import ServeConfig

SESSION_KEY = b"test-session-key-0123456789abcdefghij"
PASSWORD = "a long test passphrase"
#: Argon2id with small parameters: the tests' hashes take milliseconds, not a second.
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def config(tmp: Path, model: rs.RiskModel, **changes: Any) -> ServeConfig:
    """A service on files in ``tmp``: queue, checkpoint, timeline; plain-HTTP cookies."""
    tmp.mkdir(parents=True, exist_ok=True)
    policy = rs.AlertPolicy.default()
    checkpoint = tmp / "state.sqlite"

    def scorer() -> rs.OnlineScorer:
        if checkpoint.exists():
            return rs.OnlineScorer.restore(checkpoint, model, policy)
        return rs.OnlineScorer(model, policy)

    base = ServeConfig(
        db=tmp / "queue.sqlite",
        scorer=scorer,
        policy=policy,
        session_key=SESSION_KEY,
        checkpoint=checkpoint,
        timeline=tmp / "timeline.sqlite",
        secure_cookies=False,
        password_hasher=CHEAP_HASHER,
    )
    return replace(base, **changes)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``riskscore serve`` in a subprocess on 127.0.0.1 and a free port; stops with SIGTERM.

    Parameters
    ----------
    args : list of str
        Arguments after ``riskscore serve`` (``--db`` etc.).
    env : mapping, optional
        Extra environment variables.
    """

    def __init__(self, args: list[str], env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - closed by stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "riskscore.cli", "serve", *args, "--host", "127.0.0.1",
             "--port", str(self.port), "--log-level", "warning"],
            env={**os.environ, "RISKSCORE_SESSION_KEY": SESSION_KEY.decode(), **(env or {})},
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError as exc:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"riskscore serve did not start:\n{self.output()}") from exc
                time.sleep(0.2)

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def request(
        self, path: str, data: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        """(status, JSON body) of a GET, or of a POST of ``data`` as JSON."""
        body = None if data is None else json.dumps(data).encode()
        req = urllib.request.Request(
            self.url + path,
            data=body,
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def stop(self) -> int:
        """SIGTERM, then wait for the exit status (the last checkpoint is written first)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        finally:
            self.log.close()
