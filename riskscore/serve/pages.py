"""The console's page templates (Jinja2, autoescaped) with their filters, and the headers
every console page carries."""

from __future__ import annotations

import math
from urllib.parse import quote

from fastapi.templating import Jinja2Templates
from jinja2 import Environment, PackageLoader, select_autoescape

from riskscore._words import number_text, plural, risk_text, when_text
from riskscore.io.shown_ids import shown_id
from riskscore.model.scores import ROLES_ASSUMED
from riskscore.moderation.cases import MAX_NOTE_CHARS, Case, QueueItem, youngest_child_age
from riskscore.moderation.earlier_reasons import shown_reason
from riskscore.moderation.item_facts import alert_roles_assumed, item_facts
from riskscore.moderation.queue_db import encode_id
from riskscore.moderation.ranking import TIER_NAMES

__all__ = ["SECURITY_HEADERS", "TEMPLATES", "youngest_text"]


def youngest_text(case: Case) -> str:
    """The queue's youngest child of ``case``, as its reasons state it: an adult reporter's
    age is no child's, and a case with no child account has none."""
    youngest = youngest_child_age(case.items)
    if not math.isnan(youngest):
        return f"{youngest:g}"
    return "unknown" if case.children else "none"


def _age(age: float) -> str:
    return "unknown" if math.isnan(age) else f"{age:g}"


def _child_age(item: QueueItem) -> str:
    """An item's child age as the case page gives it (``12``, ``unknown``), with, after an
    alert's whose declared ages do not tell which account is older, that the role rule
    assumed it (:func:`~riskscore.moderation.item_facts.alert_roles_assumed`)."""
    assumed = item.kind == "alert" and alert_roles_assumed(
        item.child_age, item.adult_age, item.first_event_at, item.last_event_at
    )
    return f"{_age(item.child_age)}; {ROLES_ASSUMED}" if assumed else _age(item.child_age)


_env = Environment(
    loader=PackageLoader("riskscore.serve", "templates"),
    autoescape=select_autoescape(default=True),
)
_env.filters["case_url"] = lambda adult_id: "/console/cases/" + quote(encode_id(adult_id), "")
_env.filters["id"] = shown_id
_env.filters["when"] = when_text
_env.filters["tier"] = lambda t: TIER_NAMES.get(int(t), str(t))
# the child's age of an item, and whether its roles were assumed, as `riskscore queue` says
_env.filters["child_age"] = _child_age
# counts as the command line writes them: "1 item", "1,234 items"
_env.filters["plural"] = plural
_env.filters["number"] = number_text
_env.filters["risk"] = risk_text
# A reason stored in riskscore's earlier wording reads as the exports quote it, marked.
_env.filters["reason"] = shown_reason
# An alert's older account's age and contact times, as `riskscore queue` words them.
_env.filters["facts"] = item_facts
# the decision form's note, as long as the note rule keeps (riskscore.moderation.notes)
_env.globals["max_note_chars"] = MAX_NOTE_CHARS
TEMPLATES = Jinja2Templates(env=_env)
#: Headers of every console page: no framing (``X-Frame-Options`` for browsers before
#: ``frame-ancestors``), no script, style, plugin or base URL from elsewhere, no sniffing,
#: no cache, no referrer to other sites.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
