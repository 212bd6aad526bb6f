"""The scoring API: ``POST /v1/events``, ``GET /v1/conversations/{id}``, ``/healthz``,
``/metrics``.

Events are schema v1 (``docs/schema.md``); a field that looks like message content is
refused with the validator's message, as ``riskscore stream`` refuses it. With an API
token configured, ``/v1/*`` asks for ``Authorization: Bearer TOKEN``.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import Callable
from typing import Annotated, Any, Final, TypeVar

import anyio
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from riskscore.exceptions import SchemaError
from riskscore.io.groups import group_room_text
from riskscore.io.json_lines import json_dumps
from riskscore.io.raw import show, shown
from riskscore.serve.batches import MAX_BATCH_ID_CHARS
from riskscore.serve.body import JSON_LINES_TYPES
from riskscore.serve.params import IdType, conversation_ids
from riskscore.serve.reading import BodyTimeoutError, BodyTooLargeError, read_body
from riskscore.serve.security import header_name
from riskscore.serve.service import AmbiguousIdError, ScoringService, refused_request

__all__ = ["router"]

router = APIRouter()
T = TypeVar("T")


class _RiskscoreJSON(JSONResponse):
    """JSON as riskscore writes it (:func:`riskscore.io.json_lines.json_dumps`): each alert
    of a response is the bytes of :meth:`riskscore.Alert.to_json` with its ``index``."""

    def render(self, content: Any) -> bytes:
        return json_dumps(content).encode("utf-8")


_EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "One schema v1 event: metadata only, no message content.",
    "required": ["conversation_id", "timestamp", "sender_id", "recipient_id", "channel"],
    "properties": {
        "conversation_id": {"type": ["string", "integer"]},
        "timestamp": {
            "type": ["integer", "string"],
            "description": "epoch seconds, or ISO 8601 with offset",
        },
        "sender_id": {"type": ["string", "integer"]},
        "recipient_id": {"type": ["string", "integer"]},
        "sender_age": {"type": ["number", "null"], "description": "years"},
        "recipient_age": {"type": ["number", "null"], "description": "years"},
        "channel": {"enum": ["public", "group", "direct", "ephemeral", "encrypted", "external"]},
        "event": {
            "enum": ["message", "contact_request", "contact_accept", "block", "report", "media"]
        },
        "recipient_tz_offset_min": {"type": "integer", "description": "minutes"},
    },
}
_EVENTS_BODY: dict[str, Any] = {
    # The header is read from the request directly (no dependency to solve per request)
    # and described here.
    "parameters": [
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "schema": {"type": "string", "maxLength": MAX_BATCH_ID_CHARS},
            "description": "batch id: a retried batch with the same id is not applied "
            "again; its first response is returned with `replayed: true`",
        }
    ],
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"oneOf": [_EVENT_SCHEMA, {"type": "array", "items": _EVENT_SCHEMA}]}
            },
            **{
                media: {"schema": {"type": "string", "description": "one event per line"}}
                for media in sorted(JSON_LINES_TYPES)
            },
        },
    },
}
_EVENTS_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "every event applied; `alerts` lists the alerts they raised"},
    401: {"description": "an API token is configured and the request lacks it"},
    408: {"description": "the body was not received whole within the configured time"},
    413: {"description": "the body is larger than the configured limit"},
    415: {
        "description": "the Content-Type is neither application/json nor JSON lines, or "
        "the body is compressed (Content-Encoding)"
    },
    422: {
        "description": "one or more events refused (`refused`: their `index` and the "
        "validator's `message`; the others were applied), or a body that is not JSON"
    },
}


def _check_token(request: Request) -> None:
    """401 unless the request carries the configured API token (none configured: open)."""
    token = request.app.state.config.api_token
    if token is not None:
        # the scheme's name is case-insensitive (RFC 9110, 11.1), the token is not
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        bearer = scheme.lower() == "bearer"
        if not hmac.compare_digest(given.lstrip(" ").encode(), token.encode()) or not bearer:
            raise HTTPException(401, "missing or wrong API token (Authorization: Bearer ...)")


def _service(request: Request) -> ScoringService:
    service: ScoringService | None = request.app.state.serve.service
    if service is None:
        raise HTTPException(404, "this process serves the console only (--part console)")
    _check_token(request)
    return service


async def _scoring(request: Request, fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` in the scorer's one thread, off the event loop: batches are applied one
    at a time, in the order they arrive, while the loop serves the other requests."""
    state = request.app.state.serve
    future = state.scoring.submit(_timed, state, fn, *args)
    return await asyncio.wrap_future(future)


def _timed(state: Any, fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` on the scorer's thread, its start kept while it runs (``/healthz``)."""
    state.busy_since = time.monotonic()
    try:
        return fn(*args)
    finally:
        state.busy_since = None


async def _read_body(request: Request, limit: int, timeout_s: float) -> bytes:
    """The request body (:func:`~riskscore.serve.reading.read_body`): at most ``limit``
    bytes (413 beyond), received whole within ``timeout_s`` seconds (408 otherwise)."""
    try:
        return await read_body(request, limit, timeout_s)
    except BodyTooLargeError as exc:
        raise HTTPException(413, f"{exc}; send smaller batches") from None
    except BodyTimeoutError as exc:
        raise HTTPException(408, f"{exc}; send it again", headers={"Connection": "close"}) from None


#: Headers of a batch that must come at most once: with two ``Idempotency-Key`` headers
#: the second was ignored, so a retry under it was applied again; with two ``Content-Type``
#: headers the first decided how the body was read.
_ONCE_HEADERS: Final = ("Idempotency-Key", "Content-Type", "Content-Encoding")
#: Seconds ``/healthz`` waits for the scorer's thread before it answers with the counts it
#: last read there (a probe that timed out would restart a process that is only busy).
HEALTH_WAIT_S: Final = 1.0
#: Seconds one call may hold the scorer's thread before ``/healthz`` answers 503 (stuck):
#: the largest body allowed takes seconds.
SCORER_STUCK_S: Final = 300.0


@router.post(
    "/v1/events",
    summary="Score one event or a batch (JSON object, JSON array, or JSON lines)",
    openapi_extra=_EVENTS_BODY,
    responses=_EVENTS_RESPONSES,
)
async def post_events(request: Request) -> JSONResponse:
    """Apply the events in order with the online scorer and queue the alerts they raise.

    The response lists the alerts (as ``riskscore stream`` writes them, with ``index``:
    the batch position of the event that raised each), the number of events applied, and
    each refused event's ``index`` and message.
    """
    service = _service(request)
    config = request.app.state.config
    body = await _read_body(request, config.max_body_bytes, config.body_timeout_s)
    headers = request.headers
    for name in _ONCE_HEADERS:  # which one counts would be a guess: a retry applied twice
        if len(headers.getlist(name)) > 1:
            refused = refused_request(
                f"the {name} header came more than once; nothing was applied: send it once"
            )
            return _RiskscoreJSON(refused.body, status_code=refused.status)
    key = headers.get("idempotency-key")
    # HTTP hands the header's bytes over as Latin-1: read as UTF-8, the key is echoed in
    # `batch_id` as the client wrote it (`é`, not `Ã©`); bytes that are not UTF-8 are no key
    batch_id = None if key is None else header_name(key)
    if key is not None and batch_id is None:
        refused = refused_request(
            "Idempotency-Key is not UTF-8 text; nothing was applied: give each batch an "
            "opaque key, such as a UUID"
        )
        return _RiskscoreJSON(refused.body, status_code=refused.status)
    result = await _scoring(
        request,
        service.submit,
        body,
        headers.get("content-type"),
        batch_id,
        headers.get("content-encoding"),
    )
    return _RiskscoreJSON(result.body, status_code=result.status)


@router.get(
    "/v1/conversations/{conversation_id:path}",
    summary="Current risk, tier and reasons of a live conversation",
    responses={
        404: {
            "description": "not seen by this scorer, or expired, or the id of a group room "
            "(whose events go to its pairs' conversations: the 404 says so)"
        },
        409: {
            "description": "without id_type, the id is an integer as written and both the "
            "text id and the integer id are live: ask for one with id_type"
        },
        422: {
            "description": "the id is no id an event can have (empty, over-long, a control "
            "character), or no integer with id_type=int, or id_type is neither int nor text"
        },
    },
)
async def get_conversation(
    request: Request,
    conversation_id: str,
    id_type: Annotated[
        IdType | None,
        Query(
            description="read the id as an integer (`int`: `7` is the integer 7) or as text "
            '(`text`: `7` is the text id "7"); without it, an id written as an integer '
            "names whichever of the two is live, and both live is refused (409)"
        ),
    ] = None,
) -> dict[str, Any]:
    """The conversation's current risk, tier (by the policy), reasons in words, accounts,
    progress, the child's and the adult's age and the first and latest event time (with
    ``facts``, those in words). The answer's ``conversation_id`` is the id found, typed as
    in the events (a JSON integer or string)."""
    service = _service(request)
    if len(set(request.query_params.getlist("id_type"))) > 1:
        raise HTTPException(422, "id_type is given twice, as int and as text: give it once")
    try:
        found = await _scoring(request, service.conversation, conversation_id, id_type)
    except AmbiguousIdError as exc:
        raise HTTPException(409, str(exc)) from None
    except SchemaError as exc:
        raise HTTPException(422, str(exc)) from None
    if found is None:
        quoted = show(shown("conversation_id", conversation_id))  # as errors quote an id
        why = await _scoring(request, _not_live_text, service, conversation_id, id_type)
        raise HTTPException(404, f"conversation {quoted} {why}")
    return found


def _not_live_text(service: ScoringService, raw_id: str, id_type: IdType | None) -> str:
    """Why no live conversation answers ``raw_id``, the words after its quoted id: a group
    room's id (:func:`~riskscore.io.groups.group_room_text`), or not live."""
    ids = conversation_ids(raw_id, id_type)
    rooms = [p for c in ids if (p := service.scorer.room_pairs_of(c)) is not None]
    return group_room_text(len(rooms[0])) if rooms else "is not live in this scorer"


@router.get(
    "/healthz",
    summary="Liveness: the process is up; counts of what it holds",
    response_model=None,
)
async def healthz(request: Request) -> dict[str, Any] | JSONResponse:
    """``{"status": "ok", ...}`` with events applied, live conversations, open items, read
    on the scorer's thread (``"scorer": "idle"``), or, while a batch holds that thread for
    more than :data:`HEALTH_WAIT_S`, as last read there (``"scorer": "busy"``, ``as_of``,
    ``busy_s``), and 503 (``"status": "stuck"``) beyond :data:`SCORER_STUCK_S`."""
    state = request.app.state.serve
    if state.service is None:
        return {
            "status": "ok",
            "open_items": await anyio.to_thread.run_sync(lambda: len(state.queue)),
        }
    service = state.service
    try:  # a long batch holds the scorer's thread: liveness does not wait for it
        health: dict[str, Any] = await asyncio.wait_for(
            _scoring(request, service.health), HEALTH_WAIT_S
        )
    except TimeoutError:
        since = state.busy_since
        busy_s = 0.0 if since is None else round(time.monotonic() - since, 1)
        answer = {**service.latest_health, "scorer": "busy", "busy_s": busy_s}
        if busy_s > SCORER_STUCK_S:  # no batch takes this long: a liveness probe restarts it
            return JSONResponse({**answer, "status": "stuck"}, status_code=503)
        return answer
    return {**health, "scorer": "idle"}


@router.get("/metrics", summary="Prometheus metrics (text exposition format)")
async def metrics(request: Request) -> Response:
    """Events, refused events, alerts by tier, queue depth by age band and by waiting
    time, scoring latency histogram (see :mod:`riskscore.serve.metrics`). Asks for the
    API token when one is configured: queue depth by child age band is not for anyone."""
    _check_token(request)
    exposition = request.app.state.serve.metrics.exposition
    return Response(await anyio.to_thread.run_sync(exposition), media_type=CONTENT_TYPE_LATEST)
