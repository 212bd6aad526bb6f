"""Reading a request body within a byte limit and a time limit, before anything parses
it: the events of ``POST /v1/events`` (:mod:`riskscore.serve.api`) and every console form
(:mod:`riskscore.serve.console`). Each caller answers a refusal in its own way (JSON for
the API, a page for the console)."""

from __future__ import annotations

import asyncio

from starlette.requests import Request

__all__ = ["BodyTimeoutError", "BodyTooLargeError", "read_body"]


class BodyTooLargeError(Exception):
    """The body is over ``limit`` bytes, by its ``Content-Length`` (nothing of it read) or
    by the bytes received (reading stopped there): HTTP 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the body exceeds {limit} bytes")
        self.limit = limit


class BodyTimeoutError(Exception):
    """The body was not received whole within ``timeout_s`` seconds (``size`` bytes came):
    HTTP 408."""

    def __init__(self, timeout_s: float, size: int) -> None:
        super().__init__(f"the body was not received within {timeout_s:g} s ({size} bytes came)")
        self.timeout_s = timeout_s
        self.size = size


async def read_body(request: Request, limit: int, timeout_s: float) -> bytes:
    """The body of ``request``: at most ``limit`` bytes, received whole within
    ``timeout_s`` seconds.

    Parameters
    ----------
    request : starlette.requests.Request
        The request, its body not read yet.
    limit : int
        Bytes the body may hold at most. A ``Content-Length`` over it is refused before
        any byte is read; without one (chunked), reading stops at the first chunk past it.
    timeout_s : float
        Seconds the whole body may take to arrive: a client trickling a large body a
        byte at a time holds no connection for longer.

    Returns
    -------
    bytes
        The body.

    Raises
    ------
    BodyTooLargeError
        The body is over ``limit`` bytes.
    BodyTimeoutError
        The body did not arrive within ``timeout_s``.
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLargeError(limit)
    chunks = []
    size = 0
    try:
        async with asyncio.timeout(timeout_s):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise BodyTooLargeError(limit)
                chunks.append(chunk)
    except TimeoutError:
        raise BodyTimeoutError(timeout_s, size) from None
    return b"".join(chunks)
