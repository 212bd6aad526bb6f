"""The moderator console: server-rendered HTML pages under ``/console``.

Pages: sign-in, the ranked queue, a case page per adult (every open item, its reasons in
words, a timeline plot per conversation, the decision form), the audit log (leads), the
transparency report for a chosen period. Sign-ins (and refusals), sign-outs and every case
page shown go to the access log (:mod:`riskscore.serve.access_log`). Account ids are shown
as the platform's ids; the report, an export, pseudonymises them with
``RISKSCORE_REPORT_KEY``. Every form carries a CSRF token (:mod:`riskscore.serve.security`);
every route needs a signed-in moderator, or with ``trusted_header`` the account named by
the platform's single sign-on proxy in that header.
"""

from __future__ import annotations

import json
import time
from functools import partial
from typing import Any
from urllib.parse import quote

import python_multipart  # noqa: F401  the forms' parser (starlette's): a missing one fails here
from anyio.to_thread import run_sync as to_thread
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup
from starlette.datastructures import FormData

from riskscore._words import duration_text
from riskscore.moderation.cases import MAX_NAME_CHARS, Case, QueueError
from riskscore.moderation.item_facts import case_role
from riskscore.moderation.queue_db import encode_id
from riskscore.moderation.ranking import headline
from riskscore.moderation.transparency import transparency_report
from riskscore.moderation.transparency_render import render_html
from riskscore.serve.accounts import MAX_PASSWORD_CHARS, Moderator
from riskscore.serve.forms import MAX_FIELD_BYTES, MAX_FORM_BYTES, FormRefusedError, read_form
from riskscore.serve.pages import SECURITY_HEADERS, TEMPLATES, youngest_text
from riskscore.serve.params import (
    adult_of,
    content_field_problem,
    period_text,
    query_period,
    whole_number,
)
from riskscore.serve.plot import case_timelines
from riskscore.serve.security import (
    CSRF_COOKIE,
    CSRF_FIELD,
    DEVICE_COOKIE,
    DEVICE_MAX_AGE_S,
    SESSION_COOKIE,
    client_network,
    from_own_site,
    header_name,
)
from riskscore.serve.state import ServeState

__all__ = ["router"]

router = APIRouter(prefix="/console", include_in_schema=False)
#: Conversations plotted on one case page at most.
MAX_PLOTS = 10
#: Audit log entries on one page of the audit page.
AUDIT_PAGE = 500


class ConsoleRefusedError(Exception):
    """A console request that is answered with a page other than the one asked for."""

    def __init__(self, response: Response) -> None:
        self.response = response


def _state(request: Request) -> ServeState:
    state: ServeState = request.app.state.serve
    return state


def _page(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    user: Moderator | None = None,
    status: int = 200,
) -> Response:
    """Render a template with the CSRF token of this browser (setting its cookie)."""
    state = _state(request)
    nonce = request.cookies.get(CSRF_COOKIE) or state.signer.new_nonce()
    full = {
        "user": user,
        "csrf_field": CSRF_FIELD,
        "csrf_token": state.signer.csrf_token(nonce, _form_owner(request)),
        "trusted": state.config.trusted_header is not None,
        **context,
    }
    response = TEMPLATES.TemplateResponse(
        request, name, full, status_code=status, headers=SECURITY_HEADERS
    )
    if request.cookies.get(CSRF_COOKIE) != nonce:
        _cookie(request, response, CSRF_COOKIE, nonce)
    return response


def _message(
    request: Request, title: str, text: str, status: int, user: Moderator | None
) -> Response:
    return _page(request, "message.html", {"title": title, "text": text}, user=user, status=status)


def _cookie(
    request: Request, response: Response, name: str, value: str, max_age_s: float | None = None
) -> None:
    config = request.app.state.config
    response.set_cookie(
        name,
        value,
        max_age=int(config.session_max_age_s if max_age_s is None else max_age_s),
        path="/console",
        httponly=True,
        samesite="strict",
        secure=config.secure_cookies,
    )


def _user(request: Request, *, lead: bool = False) -> Moderator:
    """The signed-in moderator (or a refusal: sign in, or 403 for a lead's page)."""
    state = _state(request)
    header = state.config.trusted_header
    account = None
    if header is not None:
        names = request.headers.getlist(header)
        if len(names) > 1:  # the client's own beside the proxy's: trust neither
            raise ConsoleRefusedError(
                _message(
                    request,
                    "No console account",
                    f"the {header} header came more than once",
                    403,
                    None,
                )
            )
        name = header_name(names[0]) if names else ""
        if name is None:  # never a name guessed by another reading (403)
            text = f"the {header} header is not UTF-8 text; the proxy must send names in UTF-8"
            raise ConsoleRefusedError(_message(request, "No console account", text, 403, None))
        account = state.accounts.get(name) if name else None
    else:
        session = state.signer.session_of(request.cookies.get(SESSION_COOKIE))
        if session is not None:
            account = state.accounts.get(session[0])
            if account is not None and account.session != session[1]:
                account = None  # signed before the account was last changed or removed
    if account is None:
        if header is not None:
            raise ConsoleRefusedError(
                _message(
                    request, "No console account", f"no account for the {header} user", 403, None
                )
            )
        raise ConsoleRefusedError(RedirectResponse("/console/signin", status_code=303))
    if lead and not account.is_lead:
        raise ConsoleRefusedError(
            _message(request, "Leads only", "This page is for leads.", 403, account)
        )
    return account


def _form_owner(request: Request) -> str:
    """Whose forms a request's CSRF tokens are (:meth:`Signer.csrf_token`): the account and
    generation of its session, or with ``trusted_header`` the account the proxy names;
    ``""`` before sign-in."""
    state = _state(request)
    header = state.config.trusted_header
    if header is not None:
        return "header:" + request.headers.get(header, "")
    session = state.signer.session_of(request.cookies.get(SESSION_COOKIE))
    return "" if session is None else f"session:{session[0]}:{session[1]}"


async def _form(request: Request, user: Moderator | None, limit: int = MAX_FORM_BYTES) -> FormData:
    """The posted form of at most ``limit`` bytes (:func:`~riskscore.serve.forms.read_form`),
    after its CSRF check and a check that no field holds content. A form from another site
    is refused unread (:func:`~riskscore.serve.security.from_own_site`)."""
    if not from_own_site(request.headers.get("sec-fetch-site")):
        text = "The form was sent from another site; use the console's own pages."
        raise ConsoleRefusedError(_message(request, "Form refused", text, 403, user))
    state = _state(request)
    try:  # capped and timed as the API's bodies, before any of it is parsed
        form = await read_form(request, limit, state.config.body_timeout_s)
    except FormRefusedError as exc:
        page = _message(request, "Form refused", str(exc), exc.status, user)
        raise ConsoleRefusedError(page) from None
    problem = content_field_problem(form, "form")
    if problem is not None:
        raise ConsoleRefusedError(_message(request, "Refused", f"{problem}.", 422, user))
    cookie, owner = request.cookies.get(CSRF_COOKIE), _form_owner(request)
    if not state.signer.csrf_ok(form.get(CSRF_FIELD), cookie, owner):
        raise ConsoleRefusedError(
            _message(
                request,
                "Form refused",
                "The form's security token is missing or expired. Reload the page and try again.",
                403,
                user,
            )
        )
    return form


# ---------------------------------------------------------------------- sign-in


@router.get("", response_class=RedirectResponse)
async def home() -> RedirectResponse:
    return RedirectResponse("/console/queue", status_code=303)


def _single_sign_on(request: Request) -> Response | None:
    """With ``trusted_header``, the proxy signs moderators in: a password form would be a
    second way in (and a place to guess passwords) that the platform did not choose."""
    header = _state(request).config.trusted_header
    if header is None:
        return None
    text = (
        "Moderators sign in through the platform's single sign-on "
        f"(the {header} header); this console takes no passwords."
    )
    return _message(request, "Sign-in by single sign-on", text, 403, None)


@router.get("/signin")
async def signin_page(request: Request) -> Response:
    return _single_sign_on(request) or _page(request, "signin.html", {"error": None})


@router.post("/signin")
async def signin(request: Request) -> Response:
    refused = _single_sign_on(request)
    if refused is not None:
        return refused
    state = _state(request)
    form = await _form(request, None)
    # As typed: a name longer than any account's is no account, never the account of
    # its first characters. The limiter counts it under those (bounded keys), and a
    # password beyond the longest accepted is checked cut one past it: it matches none,
    # and a posted megabyte costs one ordinary hash.
    name = str(form.get("name", ""))
    password = str(form.get("password", ""))[: MAX_PASSWORD_CHARS + 1]
    client = client_network(request.client.host if request.client else None)
    # A browser where the name signed in before counts apart: an outsider failing with the
    # name does not delay its moderator there.
    device = state.signer.device_of(request.cookies.get(DEVICE_COOKIE), name)
    name_key = f"device:{device}" if device else f"name:{name[:MAX_NAME_CHARS]}"
    client_key = f"ip:{client}"
    # Counted as failures until it succeeds. The name backs off (anyone may type it: no
    # lockout that an outsider can keep up), the address is limited for the window.
    by_name = state.name_limiter.acquire([name_key])
    by_client = None if by_name is None else state.limiter.acquire([client_key])
    if by_name is None or by_client is None:
        if by_name is not None:
            state.name_limiter.forget(name_key, by_name)
        wait = max(state.name_limiter.wait_s(name_key), state.limiter.wait_s(client_key))
        text = f"Too many failed sign-ins. Wait {duration_text(wait)} and try again."
        return _page(request, "signin.html", {"error": text}, status=429)
    account = await to_thread(state.accounts.sign_in, name, password, limiter=state.hashing)
    if account is None:
        return _page(request, "signin.html", {"error": "Wrong name or password."}, status=401)
    state.name_limiter.reset(name_key)
    state.limiter.forget(client_key, by_client)
    response = RedirectResponse("/console/queue", status_code=303)
    session = state.signer.session_cookie(account.name, account.session)
    _cookie(request, response, SESSION_COOKIE, session)
    # A new CSRF cookie for the session: one set before it (by a sibling site, or another
    # person at this browser) and the tokens issued for it no longer pass.
    _cookie(request, response, CSRF_COOKIE, state.signer.new_nonce())
    if device is None:
        known = state.signer.device_cookie(account.name)
        _cookie(request, response, DEVICE_COOKIE, known, max_age_s=DEVICE_MAX_AGE_S)
    return response


@router.post("/signout")
async def signout(request: Request) -> Response:
    await _form(request, None)
    state = _state(request)
    session = state.signer.session_of(request.cookies.get(SESSION_COOKIE))
    if session is not None:
        await to_thread(state.accounts.end_session, *session)
    response = RedirectResponse("/console/signin", status_code=303)
    secure = request.app.state.config.secure_cookies  # flags as set: never a weaker cookie
    response.delete_cookie(
        SESSION_COOKIE, path="/console", secure=secure, httponly=True, samesite="strict"
    )
    return response


# ---------------------------------------------------------------------- queue and cases


@router.get("/queue")
def queue_page(request: Request) -> Response:
    user = _user(request)
    state = _state(request)
    cases = state.queue.cases()
    assigned = state.accounts.assignments()
    rows = [
        {
            "rank": rank,
            "adult_id": case.adult_id,
            "role": case_role(case),  # "older account" when it declared an age under 18
            "tier": max(i.tier for i in case.items),
            "youngest": youngest_text(case),
            "children": len(case.children),
            "items": len(case.items),
            "reasons": headline(case),  # the model's strongest signal, never cut
            "assigned": assigned.get(encode_id(case.adult_id)),
        }
        for rank, case in enumerate(cases, 1)
    ]
    # A count of items, never other text: a link could show any sentence on this page.
    try:
        decided = whole_number("decided", request.query_params.get("decided"))
    except ValueError as exc:
        return _message(request, "Bad address", str(exc), 400, user)
    return _page(request, "queue.html", {"rows": rows, "decided": decided}, user=user)


def _case_context(state: ServeState, case: Case, user: Moderator) -> dict[str, Any]:
    """What the case page shows. Every page that shows a case is built here, and logged
    here as ``user``'s access to the case."""
    state.accounts.log_access(user.name, "open case", encode_id(case.adult_id))
    role = case_role(case)  # "adult", or "older account" when it declared an age under 18
    return {
        "case": case,
        "role": role,
        "plots": case_timelines(state.timeline, case, MAX_PLOTS, role),
        "more": max(0, len(case.conversations) - MAX_PLOTS),
        # in the words of the case's reasons and `riskscore queue` ("waiting 2 minutes")
        "waiting": duration_text(max(0, int(time.time()) - case.oldest)),
        "assigned": state.accounts.assignments().get(encode_id(case.adult_id)),
        "moderators": state.accounts.names(),
    }


@router.get("/cases/{key:path}")
def case_page(request: Request, key: str) -> Response:
    user = _user(request)
    state = _state(request)
    adult = adult_of(key)
    case = None if adult is None else state.queue.case(adult)
    if case is None:
        return _message(request, "No open case", "This case has no open items.", 404, user)
    # Every view is logged, from another site too: the account was shown the case (and a
    # client picks its own Sec-Fetch-Site). Only a review is not recorded from elsewhere.
    if from_own_site(request.headers.get("sec-fetch-site")):
        items = [i.item_id for i in case.items]
        state.queue.mark_reviewed(adult, moderator=user.name, item_ids=items)
    return _page(request, "case.html", _case_context(state, case, user), user=user)


@router.post("/cases/{key:path}/decide")
async def decide(request: Request, key: str) -> Response:
    user = await to_thread(_user, request)
    # the case token names every item shown: a signed-in moderator's longer form
    form = await _form(request, user, MAX_FORM_BYTES + MAX_FIELD_BYTES)
    return await to_thread(_decide, request, key, user, form)


def _decide(request: Request, key: str, user: Moderator, form: FormData) -> Response:
    state = _state(request)
    adult = adult_of(key)
    if adult is None:
        return _message(request, "No open case", "This case has no open items.", 404, user)
    try:
        n = state.queue.decide(
            adult,
            str(form.get("outcome", "")),
            moderator=user.name,
            token=str(form.get("token", "")),
            note=str(form.get("note", "")),
        )
    except QueueError as exc:
        case = state.queue.case(adult)
        if case is None:
            return _message(request, "Not decided", str(exc), 409, user)
        context = {**_case_context(state, case, user), "error": str(exc)}
        return _page(request, "case.html", context, user=user, status=409)
    return RedirectResponse(f"/console/queue?decided={n}", status_code=303)


@router.post("/cases/{key:path}/assign")
async def assign(request: Request, key: str) -> Response:
    user = await to_thread(partial(_user, request, lead=True))
    form = await _form(request, user)
    return await to_thread(_assign, request, key, user, form)


def _assign(request: Request, key: str, user: Moderator, form: FormData) -> Response:
    state = _state(request)
    adult = adult_of(key)
    if adult is None or state.queue.case(adult) is None:  # an id of no case is no assignment
        return _message(request, "No open case", "This case has no open items.", 404, user)
    try:
        state.accounts.assign(encode_id(adult), str(form.get("moderator", "")), user)
    except QueueError as exc:
        return _message(request, "Not assigned", str(exc), 422, user)
    return RedirectResponse("/console/cases/" + quote(encode_id(adult), ""), status_code=303)


# ---------------------------------------------------------------------- lead pages, report


@router.get("/audit")
def audit_page(request: Request) -> Response:
    user = _user(request, lead=True)
    state = _state(request)
    # A page of the log (keyset by entry id), never the whole log: it only grows.
    try:
        before = whole_number("before", request.query_params.get("before"))
    except ValueError as exc:
        return _message(request, "Bad address", str(exc), 400, user)
    entries = state.queue.audit_page(before=before, limit=AUDIT_PAGE + 1)
    for_view = [
        {"entry": e, "detail": json.dumps(e.detail, sort_keys=True)} for e in entries[:AUDIT_PAGE]
    ]
    older = entries[AUDIT_PAGE - 1].entry_id if len(entries) > AUDIT_PAGE else None
    context = {
        "entries": for_view,
        "older": older,
        "paged": before is not None,
        "assignments": state.accounts.assignment_log(),
        "accounts": state.accounts.account_log(),
        "access": state.accounts.access_log(),
    }
    return _page(request, "audit.html", context, user=user)


@router.get("/report")
def report_page(request: Request) -> Response:
    user = _user(request)
    state = _state(request)
    query = request.query_params
    context: dict[str, Any] = {
        "start": query.get("from", ""),
        "end": query.get("to", ""),
        "configured": state.config.report_key is not None,
        "report": None,
        "error": None,
    }
    try:  # the command line's time rule: no period from 1970, none reversed, no end
        period = query_period(query)  # missing (400, naming the parameters)
    except ValueError as exc:
        context["error"] = str(exc)
        return _page(request, "report.html", context, user=user, status=400)
    if period is not None and state.config.report_key is not None:
        try:
            report = transparency_report(
                state.queue,
                period,
                key=state.config.report_key,
                platform=state.config.platform,
            )
        except ValueError as exc:  # a documented key
            context["error"] = str(exc)
        else:
            # An export of the queue's decisions: who made it, for which days, is logged.
            state.accounts.log_access(user.name, "report", period_text(*period))
            context["report"] = Markup(_report_body(render_html(report.to_dict(), ())))
    return _page(request, "report.html", context, user=user)


def _report_body(page: str) -> str:
    """The body of the report's standalone HTML page (escaped by its renderer)."""
    start = page.index("<body>") + len("<body>")
    return page[start : page.rindex("</body>")]


@router.get("/{rest:path}")
def no_such_page(request: Request, rest: str) -> Response:
    """A console address no page has (a typo, an old bookmark): a console page saying so
    with a way back, after sign-in (never a bare JSON error, nor a hint to a stranger)."""
    if not rest:  # /console/, as /console
        return RedirectResponse("/console/queue", status_code=303)
    user = _user(request)
    return _message(request, "No such page", "The console has no page at this address.", 404, user)


async def refusal_handler(request: Request, exc: Exception) -> Response:
    """The response a :class:`ConsoleRefusedError` carries."""
    assert isinstance(exc, ConsoleRefusedError)
    return exc.response
