"""The ASGI application of ``riskscore serve``: :func:`create_app`.

At start-up the application opens the review queue, the console's accounts and (unless it
serves the console only) the scorer, restored from its checkpoint when there is one. It
checkpoints every ``checkpoint_every_s`` seconds and at shutdown: uvicorn turns SIGTERM
into a graceful shutdown (requests in flight finish), after which the last checkpoint is
written. No route reads or writes SQLite, or scores, on the event loop's thread (one slow
query would hold every request): the console's work runs in the framework's worker
threads, each with its own connections, and the scorer's in its one thread
(:mod:`riskscore.serve.state`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator
from typing import Final
from urllib.parse import parse_qsl

from riskscore._optional import missing_extra
from riskscore._version import __version__
from riskscore.exceptions import one_line
from riskscore.io.json_lines import json_dumps
from riskscore.io.sqlite import is_lock
from riskscore.moderation.cases import QueueError

try:  # FastAPI (with anyio, its async library), and the libraries the routes import (Jinja2...)
    import anyio
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse, Response
    from starlette.requests import ClientDisconnect
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from riskscore.serve.api import router as api_router
    from riskscore.serve.config import Part, ServeConfig
    from riskscore.serve.console import ConsoleRefusedError, refusal_handler
    from riskscore.serve.console import router as console_router
    from riskscore.serve.pages import SECURITY_HEADERS, TEMPLATES
    from riskscore.serve.params import (
        query_problem,
        sentence_path_problem,
        undecodable_problem,
    )
    from riskscore.serve.service import ScoringService
    from riskscore.serve.state import ServeState
except ImportError as exc:  # the optional extra riskscore-metadata[serve]
    raise missing_extra("serve", "riskscore.serve.app", exc) from exc

__all__ = ["create_app"]

_LOG = logging.getLogger("riskscore.serve")

_DESCRIPTION = (
    "Metadata-only grooming-risk scoring of conversations (schema v1 events; message "
    "content is refused on every route) and a console for the moderators who review the "
    "alerts. See docs/serve.md."
)


async def _checkpoints(state: ServeState, service: ScoringService, every_s: float) -> None:
    """A checkpoint every ``every_s`` seconds. One that fails (a full disk, a file locked
    by another process) is logged on one line and tried again at the next: the first
    failure ended this task in silence, and the service went on without a checkpoint
    until it stopped (a crash then lost every event since, and the batch ids that keep a
    retry from being applied twice)."""
    while True:
        await asyncio.sleep(every_s)
        try:
            await asyncio.wrap_future(state.scoring.submit(service.checkpoint))
        except Exception as exc:
            _LOG.error(
                "checkpoint to %s failed: %s; tried again in %g s",
                service.checkpoint_path,
                one_line(str(exc)),
                every_s,
            )


async def _stored_data_unreadable(request: Request, exc: Exception) -> Response:
    """A 500 that names the problem when the review queue, the accounts and logs beside
    it or the timeline hold a value riskscore never writes (a file changed outside
    riskscore): the console's page or the API's JSON, logged on one line, never a bare
    "Internal Server Error" with a traceback in the server's log. A :class:`QueueError`
    that a moderator's own request causes (a decision on a closed item) is answered by
    its route."""
    problem = one_line(str(exc))
    _LOG.error("%s %s: %s", request.method, request.url.path, problem)
    if request.url.path.startswith("/console"):
        text = f"{problem}. Restore the file from a backup."
        return TEMPLATES.TemplateResponse(
            request,
            "message.html",
            {"user": None, "title": "Stored data unreadable", "text": text},
            status_code=500,
            headers=SECURITY_HEADERS,
        )
    return JSONResponse({"detail": problem}, status_code=500)


async def _queue_locked(request: Request, exc: Exception) -> Response:
    """A 503 that says so when the review queue's file stayed locked by another process
    (a batch scoring into it, say) for longer than its busy timeout: the moderator's
    decision, review or assignment was not recorded (its transaction was rolled back) and
    can be sent again, never a bare "Internal Server Error" that leaves that unknown. Any
    other SQLite error is the server's error, as before."""
    assert isinstance(exc, sqlite3.OperationalError)
    if not is_lock(exc):
        raise exc
    problem = (
        f"the review queue is busy ({one_line(str(exc))}): another process held its file "
        "for longer than the busy timeout; nothing of this request was recorded: try again"
    )
    _LOG.error("%s %s: %s", request.method, request.url.path, problem)
    headers = {"Retry-After": "5"}
    if request.url.path.startswith("/console"):
        return TEMPLATES.TemplateResponse(
            request,
            "message.html",
            {
                "user": None,
                "title": "Review queue busy",
                "text": f"{problem[0].upper()}{problem[1:]}.",
            },
            status_code=503,
            headers={**SECURITY_HEADERS, **headers},
        )
    return JSONResponse({"detail": problem}, status_code=503, headers=headers)


async def _client_gone(request: Request, exc: Exception) -> Response:
    """The end of a request whose client closed the connection before its body was whole
    (a dropped connection, or a client that announces a body and leaves): nobody reads
    an answer, and the server's error log gets no traceback for it (anyone could fill the
    log with them at no cost). Nothing of the body was used."""
    return Response(status_code=400)


class ContentGuard:
    """Refuse (422, naming the field) any request whose query names a content-like field
    (``text``, ``body``, ``message``...) or has a name or value that reads as a sentence,
    any whose path reads as a sentence (an id of words; a sentence is never shown), and
    any whose path or query is not UTF-8 once percent-decoded (it names no id): riskscore
    takes no message content on any route, and the refused query or path is dropped from
    the request before the server logs it. JSON bodies are checked by the event
    validator, forms by the console."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw_path = scope.get("raw_path") or scope["path"].encode()
            problem = undecodable_problem(raw_path, "path") or sentence_path_problem(scope["path"])
            if problem is not None:
                scope["path"], scope["raw_path"] = "/(not shown)", b"/(not shown)"
            elif scope.get("query_string"):
                query = scope["query_string"]
                problem = undecodable_problem(query, "query") or query_problem(
                    parse_qsl(query.decode("latin-1"), keep_blank_values=True)
                )
            if problem is not None:
                # The server writes its access log line from this scope once the response
                # is sent (uvicorn: path and query): the refused text is not kept there.
                scope["query_string"] = b""
                body = json_dumps({"detail": problem}).encode()
                await send(
                    {
                        "type": "http.response.start",
                        "status": 422,
                        "headers": [(b"content-type", b"application/json")],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


class PrivateAnswers:
    """Headers every response gets unless it names its own: ``Cache-Control: no-store``
    (the API's answers name accounts, a child's age band and risks, and the metrics the
    queue by child age band; no cache between client and service may keep them: a shared
    one would serve them to other clients, and stale) and ``X-Content-Type-Options:
    nosniff`` (a JSON answer quoting an id is never read by a browser as a page). The
    console's pages set theirs."""

    #: (name, value) added where the response does not set that name.
    HEADERS: Final = ((b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff"))

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_private(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                named = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in self.HEADERS if name not in named]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_private)


def create_app(config: ServeConfig) -> FastAPI:
    """The ASGI application for ``config`` (run it with uvicorn, or a test client).

    Parameters
    ----------
    config : ServeConfig
        Files, scorer factory, keys and limits.

    Returns
    -------
    FastAPI
        Routes ``/v1/events``, ``/v1/conversations/{id}``, ``/healthz``, ``/metrics``
        (unless ``part`` is console) and ``/console/...`` (unless ``part`` is api);
        OpenAPI at ``/openapi.json`` (no ``/docs`` page: Swagger UI would load a CDN).
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = await anyio.to_thread.run_sync(ServeState.open, config)
        app.state.serve = state
        task = None
        if state.service is not None and config.checkpoint is not None:
            every_s = config.checkpoint_every_s
            task = asyncio.create_task(_checkpoints(state, state.service, every_s))
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
            await anyio.to_thread.run_sync(state.close)

    app = FastAPI(
        title="riskscore",
        version=__version__,
        description=_DESCRIPTION,
        lifespan=lifespan,
        # No Swagger UI or ReDoc pages: they load scripts from a CDN, unsigned in, on a
        # server that holds moderation data. The description stays at /openapi.json.
        docs_url=None,
        redoc_url=None,
    )
    app.include_router(api_router)  # /healthz and /metrics; /v1 routes answer 404 when off
    if config.part is not Part.API:
        app.include_router(console_router)
        app.add_exception_handler(ConsoleRefusedError, refusal_handler)
    app.add_exception_handler(QueueError, _stored_data_unreadable)
    app.add_exception_handler(ClientDisconnect, _client_gone)
    app.add_exception_handler(sqlite3.OperationalError, _queue_locked)
    app.add_middleware(ContentGuard)
    app.add_middleware(PrivateAnswers)  # outermost: on the guard's refusals too
    app.state.config = config
    return app
