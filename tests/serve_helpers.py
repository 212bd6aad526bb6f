"""Shared set-up of the ``riskscore serve`` tests: a configured app on temporary files."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import uvicorn
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

import riskscore as rs
from riskscore.cli.serve import listen
from riskscore.serve import ServeConfig, create_app
from riskscore.serve.accounts import ModeratorStore

SESSION_KEY = b"test-session-key-0123456789abcdefghij"
PASSWORD = "a long test passphrase"
#: Argon2id with small parameters: the tests' hashes take milliseconds, not a second.
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
#: 2026-01-01 00:00 UTC, the time of the first event of :func:`adult_child_event`.
T0 = 1_767_225_600
#: The console's CSRF token in a page's form.
CSRF_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(html: str) -> str:
    """The CSRF token of a console page's form."""
    found = CSRF_TOKEN.search(html)
    assert found is not None, html[:500]
    return found.group(1)


def sign_in(client: TestClient, name: str, password: str = PASSWORD) -> int:
    """Sign in to the console through its form; the response's status code."""
    form = {
        "name": name,
        "password": password,
        "csrf_token": csrf_token(client.get("/console/signin").text),
    }
    return client.post("/console/signin", data=form, follow_redirects=False).status_code


def add_account(db: Path, name: str = "mod-1", role: str = "moderator") -> None:
    """A console account ``name`` with :data:`PASSWORD` in the queue file ``db``."""
    store = ModeratorStore(db, hasher=CHEAP_HASHER)
    store.add(name, role, PASSWORD)
    store.close()


@contextlib.contextmanager
def model_client(tmp: Path) -> Iterator[TestClient]:
    """A client of the service with the shipped model, on files in ``tmp``, with the console
    account ``mod-1`` (:func:`add_account`)."""
    cfg = config(tmp, rs.load_model())
    add_account(cfg.db)
    with TestClient(create_app(cfg)) as client:
        yield client


def adult_child_event(
    cid: object, t: int, sender: object = "a", recipient: object = "b"
) -> dict[str, Any]:
    """One direct message, ``t`` seconds after :data:`T0`, between an adult of 31 and a
    child of 12 (a body for the service's ``/events``)."""
    return {
        "conversation_id": cid,
        "timestamp": T0 + t,
        "sender_id": sender,
        "recipient_id": recipient,
        "sender_age": 31.0,
        "recipient_age": 12.0,
        "channel": "direct",
    }


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


class _Client:
    """JSON requests to a server at ``self.url``."""

    url: str

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


class ThreadServer(_Client):
    """The application of ``config`` served by uvicorn on 127.0.0.1 in a thread of this
    process: a real HTTP server without a second interpreter's start-up (the command line
    and its SIGTERM handling are tested with :class:`Server`)."""

    def __init__(self, config: ServeConfig, *, log_level: str = "warning") -> None:
        sock = listen("127.0.0.1", 0)
        self.port = int(sock.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(create_app(config), log_level=log_level))
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:  # polled, with a deadline
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the application did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        """Finish the requests in flight, run the shutdown (last checkpoint), join."""
        self.server.should_exit = True
        self.thread.join(timeout=60)
        assert not self.thread.is_alive()


@contextlib.contextmanager
def logged_server(
    config: ServeConfig, log: str = "uvicorn.access"
) -> Iterator[tuple[ThreadServer, list[str]]]:
    """A :class:`ThreadServer` of ``config`` at log level info, and the lines uvicorn's
    access log (or the ``log`` named, ``uvicorn.error`` where it writes an application's
    traceback) writes while it runs (stopped on exit)."""
    records: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())  # type: ignore[method-assign]
    access = logging.getLogger(log)
    server = ThreadServer(config, log_level="info")
    access.addHandler(handler)
    try:
        yield server, records
    finally:
        server.stop()
        access.removeHandler(handler)


class Server(_Client):
    """``riskscore serve`` in a subprocess on 127.0.0.1 and a free port; stops with SIGTERM.

    Parameters
    ----------
    args : list of str
        Arguments after ``riskscore serve`` (``--db`` etc.).
    env : mapping, optional
        Extra environment variables.
    wait : bool, default True
        Wait until it answers; else call :meth:`wait` before the first request (the
        caller works meanwhile while the interpreter starts).
    """

    def __init__(
        self, args: list[str], env: dict[str, str] | None = None, *, wait: bool = True
    ) -> None:
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
        if wait:
            self.wait()

    def wait(self) -> None:
        """Poll ``/healthz`` until the server answers (with a deadline)."""
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError as exc:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"riskscore serve did not start:\n{self.output()}") from exc
                time.sleep(0.05)

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

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
