"""``riskscore serve``: the scoring API and the moderator console over HTTP (uvicorn).

Needs the ``serve`` extra. ``--add-moderator`` creates (or changes) a console account and
``--remove-moderator`` deactivates one, instead of serving.
"""

from __future__ import annotations

import argparse
import errno
import getpass
import ipaddress
import math
import secrets
import socket
import sys
from pathlib import Path
from typing import Any

from riskscore._optional import missing_extra
from riskscore.cli._env_names import REPORT_KEY_VARIABLE, env_name
from riskscore.cli._paths import MODEL_HELP, bundle_dir, output_path
from riskscore.cli._platform_option import add_platform_option, platform_of
from riskscore.cli._policy_option import add_policy_option, load_policy
from riskscore.cli._scorer_options import add_scorer_options, scorer_from_args
from riskscore.cli._time import integer, number, positive_number, positive_seconds, whole_number
from riskscore.exceptions import RiskscoreError
from riskscore.io.files import check_own_files
from riskscore.keys import check_key, check_pseudonym_key, key_source, secret_from_environment
from riskscore.model import load_model
from riskscore.moderation.queue import ReviewQueue
from riskscore.online import OnlineScorer

try:  # the optional extra riskscore-metadata[serve]
    import uvicorn

    import riskscore.serve as serve_package  # the application itself loads on first use
    from riskscore.serve.accounts import ModeratorStore, Role
    from riskscore.serve.batches import remembered_batches
    from riskscore.serve.config import (
        DEFAULT_BODY_TIMEOUT_S,
        Part,
        ServeConfig,
        check_api_token,
        check_header_name,
    )
    from riskscore.serve.timeline import TimelineStore

    _MISSING: ImportError | None = None
except ImportError as exc:  # pragma: no cover - the dev extra installs it
    _MISSING = exc

NAME = "serve"
#: uvicorn shuts down on SIGTERM itself (requests finished, state checkpointed), then raises
#: it again for the default handler: riskscore's own handler is not installed.
OWN_SIGTERM = True
HELP = "serve the scoring API and the moderator console over HTTP"
EXAMPLE = (
    "examples:\n"
    "  riskscore serve --db queue.sqlite --checkpoint state.sqlite\n"
    "  riskscore serve --db queue.sqlite --checkpoint state.sqlite --policy policies/mine.toml "
    "--host 127.0.0.1 --port 8000\n"
    "  printf '%s' \"$PASSWORD\" | riskscore serve --db queue.sqlite --add-moderator mod:4711 "
    "--role lead\n"
    "  riskscore serve --db queue.sqlite --remove-moderator mod:4711 --by lead:12\n"
    "\n"
    "POST /v1/events takes one schema v1 event (a JSON object) or a batch (a JSON array) as\n"
    "Content-Type: application/json, or JSON lines (Content-Type: application/x-ndjson; any\n"
    "other type, or none, is refused with 415) and returns the alerts, as riskscore stream\n"
    "writes them; refused events come back with their index and message (status 422). The\n"
    "console is at /console, the OpenAPI description at /openapi.json. Keys come from the\n"
    "environment: RISKSCORE_SESSION_KEY (32+ bytes; shared by every console process; random\n"
    "per start when unset), RISKSCORE_API_TOKEN (when set, /v1/* needs 'Authorization: Bearer\n"
    "TOKEN'), RISKSCORE_REPORT_KEY (pseudonyms in the transparency report; a documented\n"
    "NOT-A-SECRET key only with a simulated queue). SIGTERM finishes\n"
    "the requests in flight and writes the checkpoint; a restart restores it. See\n"
    "docs/serve.md."
)


def configure(parser: argparse.ArgumentParser) -> None:
    _storage_options(parser.add_argument_group("state and model"))
    _network_options(parser.add_argument_group("network, requests and logs"))
    _session_options(parser.add_argument_group("console sign-in and sessions"))
    _account_options(parser.add_argument_group("console accounts (change one and exit)"))
    add_scorer_options(parser)


def _storage_options(group: argparse._ArgumentGroup) -> None:
    """Files the server keeps its state in, the model and the policy."""
    group.add_argument(
        "--db",
        type=output_path,
        required=True,
        help="the review queue's SQLite file (created if missing)",
    )
    group.add_argument(
        "--checkpoint",
        type=output_path,
        help="the scorer's SQLite checkpoint: restored from at start if it exists, written on a "
        "schedule and at shutdown (default: none, state is lost at exit)",
    )
    group.add_argument(
        "--timeline",
        type=output_path,
        help="SQLite file of the events' metadata for the case pages' plots "
        "(default: DB with the suffix .timeline.sqlite)",
    )
    group.add_argument("--model", type=bundle_dir, help=MODEL_HELP)
    add_policy_option(group)


def _network_options(group: argparse._ArgumentGroup) -> None:
    """Where it listens, what it serves, the limits on requests, its log and reports."""
    group.add_argument("--host", default="127.0.0.1", help="address to listen on")
    group.add_argument("--port", type=integer, default=8000, help="TCP port to listen on")
    group.add_argument(
        "--part",
        choices=("all", "api", "console"),
        default="all",
        help="routes served: the scoring API and the console (all), or one of them",
    )
    group.add_argument(
        "--checkpoint-every-s",
        type=positive_seconds,
        default=60.0,
        help="seconds between two scheduled checkpoints",
    )
    group.add_argument(
        "--max-batch-ids",
        type=whole_number(0),
        default=10_000,
        help="batch ids (Idempotency-Key) remembered, with their responses",
    )
    group.add_argument(
        "--max-body-mb", type=positive_number, default=16.0, help="largest request body, in MiB"
    )
    group.add_argument(
        "--body-timeout-s",
        type=number,
        metavar="SECONDS",
        help="seconds to receive a whole request body; slower bodies get 408 (default: 60)",
    )
    group.add_argument(
        "--trusted-header",
        metavar="HEADER",
        help="take the console user from this request header set by the platform's single "
        "sign-on proxy, instead of passwords (default: off; see docs/serve.md)",
    )
    group.add_argument(
        "--trusted-proxy",
        type=proxy_address,
        action="append",
        metavar="ADDRESS",
        help="an IP address or network (10.0.0.0/8) of a reverse proxy whose X-Forwarded-For "
        "gives the client's address, for the sign-in rate limit and uvicorn's access log; "
        "repeatable (default: none, every request's own peer address counts)",
    )
    add_platform_option(group, "platform name shown on reports")
    group.add_argument(
        "--log-level",
        choices=("critical", "error", "warning", "info", "debug"),
        default="info",
        help="uvicorn's log level",
    )


def _session_options(group: argparse._ArgumentGroup) -> None:
    """How console users sign in, and for how long."""
    group.add_argument(
        "--insecure-cookies",
        action="store_true",
        help="send cookies without the Secure flag (plain-HTTP development only)",
    )
    group.add_argument(
        "--session-hours",
        type=positive_number,
        default=8.0,
        help="lifetime of a console session, hours",
    )
    group.add_argument(
        "--signin-attempts",
        type=whole_number(1),
        default=5,
        help="failed sign-ins allowed per account name and per address within --signin-window-s; "
        "beyond them an address waits for the window, a name backs off (--signin-backoff-max-s)",
    )
    group.add_argument(
        "--signin-window-s",
        type=positive_seconds,
        default=900.0,
        help="sign-in rate-limit window, seconds",
    )
    group.add_argument(
        "--signin-backoff-max-s",
        type=positive_seconds,
        default=60.0,
        help="longest wait after a failed sign-in to an account name beyond --signin-attempts "
        "(the wait doubles from 1 s up to it), seconds",
    )


def _account_options(group: argparse._ArgumentGroup) -> None:
    """Console account changes: one per run, then the command exits."""
    group.add_argument(
        "--add-moderator",
        metavar="NAME",
        help="create (or update) a console account and exit; the password is read from stdin "
        "or --password-env",
    )
    group.add_argument(
        "--remove-moderator",
        metavar="NAME",
        help="deactivate a console account and exit: it can no longer sign in and its "
        "sessions end; its name stays in the logs (the last active lead cannot be removed)",
    )
    group.add_argument(
        "--by",
        metavar="NAME",
        help="who makes the account change, kept in the account log (default: the operating "
        "system's user name)",
    )
    group.add_argument(
        "--role",
        choices=("moderator", "lead"),
        default="moderator",
        help="the account's role, with --add-moderator",
    )
    group.add_argument(
        "--password-env",
        type=env_name,
        metavar="VAR",
        help="environment variable holding the new account's password (default: stdin)",
    )
    group.add_argument(
        "--no-password",
        action="store_true",
        help="an account that signs in through --trusted-header only",
    )


def _body_timeout(seconds: float | None) -> float:
    """``--body-timeout-s``, checked (none given: :data:`DEFAULT_BODY_TIMEOUT_S`)."""
    if seconds is None:
        return DEFAULT_BODY_TIMEOUT_S
    if not (seconds > 0 and math.isfinite(seconds)):
        raise ValueError(f"--body-timeout-s must be a positive number of seconds, got {seconds}")
    return seconds


def _body_bytes(mib: float) -> int:
    """``--max-body-mb`` in bytes, at least one (the config's rule, named by the option):
    a size whose bytes a float does not hold (1e308 MiB) or below one byte is refused."""
    size = mib * 1024 * 1024
    if not 1.0 <= size < math.inf:
        raise ValueError(f"--max-body-mb must give a whole number of bytes >= 1, got {mib!r} MiB")
    return int(size)


def _need_extra() -> None:
    if _MISSING is not None:
        raise missing_extra("serve", "riskscore serve", _MISSING) from _MISSING


def _env_key(name: str) -> bytes | None:
    value = secret_from_environment(name)
    return None if value is None else value.encode("utf-8")


def _actor(args: argparse.Namespace) -> str:
    """Who makes an account change: ``--by``, else the operating system's user."""
    if args.by is not None:
        return str(args.by)
    try:
        return f"os-user:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name in the environment or the password file
        return "command line"


def add_moderator(args: argparse.Namespace) -> dict[str, Any]:
    """Create or update one console account in the queue's file."""
    if args.no_password:
        password = None
    elif args.password_env is not None:
        password = secret_from_environment(args.password_env)
        if password is None:
            raise ValueError(f"the environment variable {args.password_env} is not set")
    elif sys.stdin is None:  # closed (<&-): it was a traceback
        raise ValueError(
            "stdin is closed: give the password on stdin, or name an environment variable "
            "holding it with --password-env"
        )
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    with ReviewQueue(args.db):  # the file is a review queue (created if missing)
        pass
    store = ModeratorStore(args.db)
    try:
        store.add(args.add_moderator, Role(args.role), password, by=_actor(args))
    finally:
        store.close()
    return {"moderator": args.add_moderator, "role": args.role, "db": str(args.db)}


def remove_moderator(args: argparse.Namespace) -> dict[str, Any]:
    """Deactivate one console account in the queue's file."""
    with ReviewQueue(args.db, create=False):  # the file is a review queue
        pass
    store = ModeratorStore(args.db)
    try:
        removed = store.remove(args.remove_moderator, by=_actor(args))
    finally:
        store.close()
    return {"removed": removed.name, "role": removed.role.value, "db": str(args.db)}


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` for uvicorn, or one clear error.

    Raises
    ------
    RiskscoreError
        The address is empty, in use, not this machine's, or not allowed (a port below
        1024 without the privilege).
    """
    if not 0 <= port <= 65_535:
        raise RiskscoreError(f"--port {port} is not a TCP port (0 to 65535)")
    if not host.strip():  # bound as every interface: `--host "$HOST"` with HOST unset
        raise RiskscoreError(
            f"--host {host!r} is empty, which would listen on every interface: give an "
            "address (default 127.0.0.1; 0.0.0.0 for every interface, written out)"
        )
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        shown = f"[{host}]:{port}" if family == socket.AF_INET6 else f"{host}:{port}"
        reason = exc.strerror or str(exc)
        hint = "; another process listens there: stop it or choose another --port"
        raise RiskscoreError(
            f"cannot listen on {shown}: {reason.lower()}"
            + (hint if exc.errno == errno.EADDRINUSE else "")
        ) from None
    return sock


def _report_key(db: Path) -> bytes | None:
    """``RISKSCORE_REPORT_KEY``, checked as the report checks it: a key printed in the
    documentation only for a simulated queue (a missing queue is created as a real one).
    Checked at start, before anything is opened for writing."""
    key = _env_key(REPORT_KEY_VARIABLE)
    if key is None:
        return None
    simulated = False
    if db.exists():
        with ReviewQueue(db, create=False) as queue:
            simulated = queue.simulated
    return check_pseudonym_key(key, synthetic=simulated, source=key_source(REPORT_KEY_VARIABLE))


def _config(args: argparse.Namespace) -> ServeConfig:
    timeline = args.timeline or args.db.with_name(args.db.name + ".timeline.sqlite")
    files = {"--db": args.db, "--checkpoint": args.checkpoint, "--timeline": timeline}
    check_own_files({**files, "--policy": args.policy})  # before any file is opened
    if args.trusted_header is not None:  # as ServeConfig checks it, before any work
        check_header_name(args.trusted_header)
    api_token = secret_from_environment("RISKSCORE_API_TOKEN")  # the secrets, before too
    if api_token is not None:
        check_api_token(api_token, source="RISKSCORE_API_TOKEN")
    session_key = _env_key("RISKSCORE_SESSION_KEY")
    report_key = _report_key(args.db)
    policy = load_policy(args.policy)
    model = load_model(args.model)
    # Restored (or made) once, before serving: a bad checkpoint fails here, and the
    # application's start-up takes this scorer instead of restoring the file again.
    ready = [scorer_from_args(args, model, policy, args.checkpoint)]
    remembered_batches(ready[0].checkpoint_extra, args.checkpoint)  # the service's, too
    # Each file is what it is named as (or made), in one line before serving: in the
    # application's start-up, a file of another kind was a traceback from uvicorn.
    with ReviewQueue(args.db):
        pass
    TimelineStore(timeline).close()

    def scorer() -> OnlineScorer:
        return ready.pop() if ready else scorer_from_args(args, model, policy, args.checkpoint)

    if session_key is None:
        session_key = secrets.token_bytes(32)
        print(
            "riskscore serve: RISKSCORE_SESSION_KEY is not set; console sessions end when this "
            "process stops (set it to share sessions between processes)",
            file=sys.stderr,
        )
    else:
        session_key = check_key(session_key, source="RISKSCORE_SESSION_KEY")
    return ServeConfig(
        db=args.db,
        scorer=scorer,
        policy=policy,
        session_key=session_key,
        checkpoint=args.checkpoint,
        timeline=timeline,
        part=Part(args.part),
        checkpoint_every_s=args.checkpoint_every_s,
        max_batch_ids=args.max_batch_ids,
        max_body_bytes=_body_bytes(args.max_body_mb),
        body_timeout_s=_body_timeout(args.body_timeout_s),
        api_token=api_token,
        trusted_header=args.trusted_header,
        secure_cookies=not args.insecure_cookies,
        session_max_age_s=args.session_hours * 3600.0,
        signin_attempts=args.signin_attempts,
        signin_window_s=args.signin_window_s,
        signin_backoff_max_s=args.signin_backoff_max_s,
        report_key=report_key,
        platform=platform_of(args),
    )


def run(args: argparse.Namespace, show: bool) -> dict[str, Any]:
    _need_extra()
    platform_of(args)  # a name given is one, checked before any work (account changes too)
    if args.add_moderator is not None and args.remove_moderator is not None:
        raise RiskscoreError("give --add-moderator or --remove-moderator, not both")
    if args.add_moderator is not None:
        return add_moderator(args)
    if args.remove_moderator is not None:
        return remove_moderator(args)
    # The application loads first: a library of the extra that it needs and is missing
    # (FastAPI, Jinja2, ...) is the one-line error before anything is printed, restored
    # or locked (account changes above need none of them).
    create_app = serve_package.create_app
    sock = listen(args.host, args.port)  # a busy port is one line, before the model loads
    try:
        config = _config(args)
        server = uvicorn.Server(uvicorn_config(create_app(config), args))
        print(f"riskscore serve: listening on http://{args.host}:{args.port}", file=sys.stderr)
        server.run(sockets=[sock])
    finally:
        sock.close()
    return {"served": f"http://{args.host}:{args.port}", "db": str(args.db)}


def proxy_address(text: str) -> str:
    """``--trusted-proxy``: an IP address or network, as written (a host name is refused:
    uvicorn compares the peer's address, never a name)."""
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an IP address or network (such as 127.0.0.1 or 10.0.0.0/8)"
        ) from None
    return text


def uvicorn_config(app: Any, args: argparse.Namespace) -> uvicorn.Config:
    """uvicorn's settings for ``app``: the client address is the request's peer, or, for
    a peer among ``--trusted-proxy``, the last address in ``X-Forwarded-For`` not of a
    trusted proxy. With no proxy named, ``X-Forwarded-For`` is ignored and uvicorn's
    ``FORWARDED_ALLOW_IPS`` environment variable is not read."""
    trusted: list[str] = args.trusted_proxy or []
    return uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        timeout_graceful_shutdown=30,
        proxy_headers=bool(trusted),
        forwarded_allow_ips=",".join(trusted) if trusted else "",
    )


def render(result: dict[str, Any]) -> None:
    if "moderator" in result:
        print(f"moderator {result['moderator']} ({result['role']}) saved in {result['db']}")
    elif "removed" in result:
        print(f"moderator {result['removed']} ({result['role']}) removed from {result['db']}")
    else:
        print(f"riskscore serve: stopped ({result['served']})", file=sys.stderr)
