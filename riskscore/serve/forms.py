"""Reading a console form: its bytes capped and timed (:func:`~riskscore.serve.reading.
read_body`) before any of it is parsed, then parsed within a count of fields and a size
of each. Every refusal is a :class:`FormRefusedError` with its
HTTP status, which the console answers with its own page.

Parsing is on the event loop, so what reaches it must be small: a body of 20 MiB of
``&`` (empty fields, which the count of fields does not count) took 6.5 s there, for a
client never signed in.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from urllib.parse import parse_qsl

from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

from riskscore.serve.body import media_type
from riskscore.serve.reading import BodyTimeoutError, BodyTooLargeError, read_body

__all__ = ["MAX_FIELD_BYTES", "MAX_FORM_BYTES", "FormRefusedError", "read_form"]

#: Bytes a console form holds at most (HTTP 413 beyond, unread): the sign-in form, the
#: longest a client not signed in sends, is a name of at most 128 characters and a
#: password of at most 1,024, percent-encoded. Parsed, 16 KiB of ``&`` takes milliseconds.
MAX_FORM_BYTES = 16 * 1024
#: Bytes of one field at most, and what a decision form may hold beyond
#: :data:`MAX_FORM_BYTES`: its case token names every item shown (some 12 bytes an item),
#: and only a signed-in moderator reaches it.
MAX_FIELD_BYTES = 64 * 1024
#: Fields of a console form at most (the decision form has five).
MAX_FORM_FIELDS = 20


class FormRefusedError(Exception):
    """A console form refused before it was used: ``status`` 413 (too large), 408 (not
    received in time) or 400 (not a form the console reads); the message says why, as a
    page's text."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status


async def _once(body: bytes) -> AsyncGenerator[bytes, None]:
    yield body


async def read_form(request: Request, limit: int, timeout_s: float) -> FormData:
    """The form posted in ``request``, at most ``limit`` bytes received within
    ``timeout_s`` seconds, of at most :data:`MAX_FORM_FIELDS` fields of at most
    :data:`MAX_FIELD_BYTES` bytes each, and no files.

    Parameters
    ----------
    request : starlette.requests.Request
        A console ``POST``, its body not read yet.
    limit : int
        Bytes the body may hold: :data:`MAX_FORM_BYTES`, or for a decision
        :data:`MAX_FORM_BYTES` plus :data:`MAX_FIELD_BYTES`.
    timeout_s : float
        Seconds the body may take to arrive (``--body-timeout-s``).

    Returns
    -------
    starlette.datastructures.FormData
        The fields (empty for a body of another media type than a form's).

    Raises
    ------
    FormRefusedError
        The body is over ``limit`` (413, nothing of it parsed), it did not arrive in time
        (408), or it holds too many fields, a field too large or a file (400).
    """
    try:
        body = await read_body(request, limit, timeout_s)
    except BodyTooLargeError:
        text = (
            f"The form is over {limit} bytes, more than any console form holds; "
            "nothing of it was read."
        )
        raise FormRefusedError(413, text) from None
    except BodyTimeoutError:
        raise FormRefusedError(408, "The form was not received in time. Send it again.") from None
    media = media_type(request.headers.get("content-type"))
    if media == "application/x-www-form-urlencoded":
        return _url_encoded(body)
    if media == "multipart/form-data":
        parser = MultiPartParser(
            request.headers,
            _once(body),
            max_files=0,
            max_fields=MAX_FORM_FIELDS,
            max_part_size=MAX_FIELD_BYTES,
        )
        try:
            return await parser.parse()
        except MultiPartException as exc:
            raise FormRefusedError(400, f"The form was not read: {exc.message}") from None
    return FormData()


def _url_encoded(body: bytes) -> FormData:
    """The fields of a URL-encoded form, as Starlette reads them (bytes as Latin-1, escapes
    as UTF-8), counted with the empty ones (Starlette's parser, in the releases that count
    fields at all, skips them: 20 MiB of ``&`` passed its count)."""
    try:
        fields = parse_qsl(
            body.decode("latin-1"),
            keep_blank_values=True,
            max_num_fields=MAX_FORM_FIELDS,
            errors="replace",
        )
    except ValueError:  # the count of fields, the only error without strict parsing
        text = f"The form was not read: it has more than {MAX_FORM_FIELDS} fields."
        raise FormRefusedError(400, text) from None
    if any(len(name) + len(value) > MAX_FIELD_BYTES for name, value in fields):
        text = f"The form was not read: a field is over {MAX_FIELD_BYTES} bytes."
        raise FormRefusedError(400, text)
    items: list[tuple[str, str | UploadFile]] = list(fields)
    return FormData(items)
