"""A throwaway Synapse homeserver for tests and benchmarks (private).

Starts ``python -m synapse.app.homeserver`` as a subprocess with a generated
configuration in a directory of the caller's choosing: SQLite, one HTTP
listener on 127.0.0.1 on a free port, no federation listener, an empty
federation whitelist and no trusted key servers (so no outbound traffic),
registration by shared secret only, rate limits lifted. Talks to it with the
standard library's HTTP client over the client-server and admin APIs.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

from riskscore._optional import missing_extra

try:  # signedjson comes with Synapse (the optional [synapse] extra)
    from signedjson.key import generate_signing_key, write_signing_keys
except ImportError as exc:
    raise missing_extra(
        "synapse", "the Synapse test homeserver (riskscore.integrations._synapse_harness)", exc
    ) from exc

__all__ = ["Client", "Homeserver", "free_port"]

_NO_LIMIT = {"per_second": 10_000, "burst_count": 10_000}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _write_signing_key(path: Path) -> None:
    with path.open("w") as fh:
        write_signing_keys(fh, [generate_signing_key("a_riskscore")])


class Client:
    """A logged-in Matrix account speaking the client-server API.

    Parameters
    ----------
    base_url : str
        ``http://127.0.0.1:PORT``.
    user_id, access_token : str
        From registration.
    """

    def __init__(self, base_url: str, user_id: str, access_token: str) -> None:
        self.base_url = base_url
        self.user_id = user_id
        self.access_token = access_token
        self._txn = 0
        self._since: str | None = None
        self._invites: set[str] = set()

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """Call the API; return the decoded JSON answer, raise ``RuntimeError`` on an error."""
        return _call(self.base_url, method, path, body, self.access_token)

    def create_room(self, **options: Any) -> str:
        """``POST /createRoom`` with the given options; the new room id."""
        return str(self.request("POST", "/_matrix/client/v3/createRoom", options)["room_id"])

    def join(self, room_id: str) -> None:
        """Join a room (public, or after an invite)."""
        self.request("POST", f"/_matrix/client/v3/join/{urllib.parse.quote(room_id)}", {})

    def invite(self, room_id: str, user_id: str) -> None:
        """Invite an account to a room."""
        self.request(
            "POST",
            f"/_matrix/client/v3/rooms/{urllib.parse.quote(room_id)}/invite",
            {"user_id": user_id},
        )

    def send(self, room_id: str, event_type: str, content: dict[str, Any]) -> str:
        """Send a room event; its event id."""
        self._txn += 1
        path = (
            f"/_matrix/client/v3/rooms/{urllib.parse.quote(room_id)}/send/"
            f"{urllib.parse.quote(event_type)}/t{self._txn}-{secrets.token_hex(4)}"
        )
        return str(self.request("PUT", path, content)["event_id"])

    def set_state(self, room_id: str, event_type: str, content: dict[str, Any]) -> str:
        """Set a room state event (empty state key); its event id."""
        path = (
            f"/_matrix/client/v3/rooms/{urllib.parse.quote(room_id)}/state/"
            f"{urllib.parse.quote(event_type)}/"
        )
        return str(self.request("PUT", path, content)["event_id"])

    def messages(self, room_id: str, limit: int = 50) -> list[dict[str, Any]]:
        """The latest events of a room, newest first."""
        path = (
            f"/_matrix/client/v3/rooms/{urllib.parse.quote(room_id)}/messages?dir=b&limit={limit}"
        )
        return list(self.request("GET", path)["chunk"])

    def invited_rooms(self) -> list[str]:
        """Rooms this account has been invited to so far (incremental sync, accumulated)."""
        since = "" if self._since is None else f"&since={urllib.parse.quote(self._since)}"
        sync = self.request("GET", f"/_matrix/client/v3/sync?timeout=0{since}")
        self._since = str(sync["next_batch"])
        self._invites.update(sync.get("rooms", {}).get("invite", {}))
        return sorted(self._invites)


def _call(
    base_url: str, method: str, path: str, body: dict[str, Any] | None, token: str | None
) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base_url + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token is not None:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")
        raise RuntimeError(f"{method} {path} -> HTTP {exc.code}: {detail}") from None


class Homeserver:
    """A Synapse homeserver in a subprocess; a context manager that always stops it.

    Parameters
    ----------
    workdir : path-like
        Where the configuration, database, logs and media go (must exist).
    modules : list of dict, optional
        The ``modules:`` section of ``homeserver.yaml``.
    startup_timeout_s : float
        How long to wait for ``/health``.
    """

    def __init__(
        self,
        workdir: str | os.PathLike[str],
        modules: list[dict[str, Any]] | None = None,
        *,
        startup_timeout_s: float = 60.0,
    ) -> None:
        self.workdir = Path(workdir)
        self.modules = modules or []
        self.startup_timeout_s = startup_timeout_s
        self.server_name = "localhost"
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.shared_secret = secrets.token_hex(16)
        self.config_path = self.workdir / "homeserver.yaml"
        self.log_path = self.workdir / "homeserver.log"
        self.stdio_path = self.workdir / "stdio.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._write_config()

    def _write_config(self) -> None:
        w = self.workdir
        key = w / "signing.key"
        if not key.exists():
            _write_signing_key(key)
        log_config = {
            "version": 1,
            "formatters": {"f": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
            "handlers": {
                "file": {
                    "class": "logging.FileHandler",
                    "formatter": "f",
                    "filename": str(self.log_path),
                }
            },
            "loggers": {"synapse.storage.SQL": {"level": "WARNING"}},
            "root": {"level": "INFO", "handlers": ["file"]},
            "disable_existing_loggers": False,
        }
        (w / "log.yaml").write_text(json.dumps(log_config))
        config = {
            "server_name": self.server_name,
            "pid_file": str(w / "homeserver.pid"),
            "listeners": [
                {
                    "port": self.port,
                    "bind_addresses": ["127.0.0.1"],
                    "type": "http",
                    "tls": False,
                    "x_forwarded": False,
                    "resources": [{"names": ["client"], "compress": False}],
                }
            ],
            "database": {"name": "sqlite3", "args": {"database": str(w / "homeserver.db")}},
            "log_config": str(w / "log.yaml"),
            "media_store_path": str(w / "media"),
            "signing_key_path": str(key),
            "registration_shared_secret": self.shared_secret,
            "enable_registration": False,
            "report_stats": False,
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "federation_domain_whitelist": [],
            "url_preview_enabled": False,
            "enable_metrics": False,
            "presence": {"enabled": False},
            "bcrypt_rounds": 4,
            "macaroon_secret_key": secrets.token_hex(16),
            "form_secret": secrets.token_hex(16),
            "rc_message": _NO_LIMIT,
            "rc_registration": _NO_LIMIT,
            "rc_login": {"address": _NO_LIMIT, "account": _NO_LIMIT, "failed_attempts": _NO_LIMIT},
            "rc_joins": {"local": _NO_LIMIT, "remote": _NO_LIMIT},
            "rc_joins_per_room": _NO_LIMIT,
            "rc_invites": {"per_room": _NO_LIMIT, "per_user": _NO_LIMIT, "per_issuer": _NO_LIMIT},
            "rc_room_creation": _NO_LIMIT,
            "modules": self.modules,
        }
        # JSON is YAML: no YAML writer needed.
        self.config_path.write_text(json.dumps(config, indent=1))

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Start the server and wait until ``/health`` answers; raise with the log on failure."""
        if self._proc is not None:
            raise RuntimeError("the homeserver is already running")
        env = {**os.environ, "SYNAPSE_CACHE_FACTOR": "0.5"}
        with self.stdio_path.open("ab") as out:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "synapse.app.homeserver", "-c", str(self.config_path)],
                cwd=self.workdir,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
            )
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                self._proc = None
                raise RuntimeError(f"the homeserver exited at start-up:\n{self.logs()}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/health", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the homeserver did not answer /health in time:\n{self.logs()}")

    def stop(self, timeout_s: float = 20.0) -> int | None:
        """Stop the server (SIGTERM, then SIGKILL after ``timeout_s``); its exit code."""
        proc, self._proc = self._proc, None
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        return proc.returncode

    def __enter__(self) -> Homeserver:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def logs(self, n_lines: int = 60) -> str:
        """The last lines of the server's output and log, for error messages."""
        parts = []
        for path in (self.stdio_path, self.log_path):
            if path.exists():
                lines = path.read_text(errors="replace").splitlines()[-n_lines:]
                parts.append(f"--- {path.name} ---\n" + "\n".join(lines))
        return "\n".join(parts)

    # ------------------------------------------------------------ accounts

    def register(self, localpart: str, *, admin: bool = False) -> Client:
        """Register an account by shared secret (admin API, HMAC-SHA1); a client for it."""
        nonce = _call(self.base_url, "GET", "/_synapse/admin/v1/register", None, None)["nonce"]
        password = secrets.token_hex(12)
        mac = hmac.new(self.shared_secret.encode(), digestmod=hashlib.sha1)
        for part in (nonce, localpart, password):
            mac.update(part.encode())
            mac.update(b"\x00")
        mac.update(b"admin" if admin else b"notadmin")
        body = {
            "nonce": nonce,
            "username": localpart,
            "password": password,
            "admin": admin,
            "mac": mac.hexdigest(),
        }
        answer = _call(self.base_url, "POST", "/_synapse/admin/v1/register", body, None)
        return Client(self.base_url, answer["user_id"], answer["access_token"])
