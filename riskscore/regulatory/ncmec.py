"""NCMEC CyberTipline report drafts for escalated cases, from metadata only.

One JSON draft per escalated decision, with the element names of the
CyberTipline Reporting API's report schema (https://report.cybertip.org/ispws/documentation):
``incidentSummary`` (incident type "Online Enticement of Children for Sexual
Acts", date and time, ``escalateToHighPriority`` for urgent cases),
``internetDetails`` with a ``chatImIncident``, ``personOrUserReported``,
``victim``. Fields a metadata-only case cannot fill are ``null`` placeholders
listed under ``to_complete``. No element carries message content.

Every draft is marked ``"draft": true`` and ``"status": "DRAFT — not submitted"``.
A person at the platform completes, checks and submits it (the API takes XML);
riskscore never contacts NCMEC.

The drafts hold the platform's own account identifiers of the reported account
and the child, unpseudonymised, because NCMEC and law enforcement need them to
act; keep them as confidential as the queue itself.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final

from riskscore._words import plural, risk_text
from riskscore.io.private import FILE_MODE
from riskscore.io.schema import CHANNEL_NAMES
from riskscore.io.shown_ids import escaped_when_shown
from riskscore.io.timestamps import iso_utc
from riskscore.moderation.cases import QueueItem, youngest_child_age
from riskscore.moderation.item_facts import account_age
from riskscore.regulatory._cases import (
    DECLARED_ADULT,
    UNDECLARED,
    DecidedCase,
    child_accounts_text,
    declared_kind,
)

__all__ = ["INCIDENT_TYPE", "cybertipline_drafts", "write_drafts"]

INCIDENT_TYPE = "Online Enticement of Children for Sexual Acts"
STATUS = "DRAFT — not submitted"


def cybertipline_drafts(
    cases: Iterable[DecidedCase],
    *,
    platform: str = "",
    simulated_items: frozenset[int] = frozenset(),
) -> list[dict[str, Any]]:
    """One CyberTipline report draft per escalated case.

    Parameters
    ----------
    cases : iterable of DecidedCase
        Decided cases; only ``escalated`` ones get a draft.
    platform : str
        The platform's name (``incidentSummary.platform``, ``espService``).
    simulated_items : frozenset of int, optional
        Items whose decision time was set by a simulation
        (:meth:`riskscore.ReviewQueue.simulated_items`): a draft of such a case says so in
        its ``simulated`` field, so that the file alone cannot pass for a real case.

    Returns
    -------
    list of dict
        JSON-ready drafts, oldest decision first.

    Raises
    ------
    ValueError
        Two accounts of the escalated cases would be written as one ``espIdentifier``
        (the ids ``7`` and ``"7"``, which the queue keeps apart), named both.

    Examples
    --------
    >>> import tempfile
    >>> import riskscore as rs
    >>> from riskscore.policy import Alert, Tier
    >>> from riskscore.regulatory import decided_cases
    >>> t = 1_767_225_600  # 2026-01-01
    >>> with rs.ReviewQueue(f"{tempfile.mkdtemp()}/q.sqlite", simulation=True) as q:
    ...     _ = q.add_alert(Alert(1, "a", "c", 12.0, "under 13", 0.9, Tier.URGENT), at=t)
    ...     token = q.case("a", now=t + 100).token
    ...     _ = q.decide("a", "escalated", moderator="m", at=t + 100, token=token)
    ...     [d] = cybertipline_drafts(decided_cases(q.items()), platform="demo")
    >>> d["draft"], d["report"]["incidentSummary"]["incidentType"]
    (True, 'Online Enticement of Children for Sexual Acts')
    """
    escalated = [c for c in cases if c.outcome == "escalated"]
    _check_identifiers(escalated)
    return [_draft(c, platform, simulated_items) for c in escalated]


def _check_identifiers(cases: list[DecidedCase]) -> None:
    """Refuse two accounts that one ``espIdentifier`` (the id as text) would name: NCMEC
    would read the drafts' reported account or victims as one person."""
    seen: dict[str, Any] = {}
    for case in cases:
        for account in (case.adult_id, *case.children):
            first = seen.setdefault(str(account), account)
            if type(first) is not type(account):
                raise ValueError(
                    f"the accounts {first!r} and {account!r} of the escalated cases would both "
                    f"be written as espIdentifier {str(account)!r}, which the queue keeps "
                    "apart; queue the platform's accounts with one kind of id (numbers or text)"
                )


#: What each channel of schema v1 is, in the words of a draft (``Channel``: ``external`` is a
#: link or handle to another app shared, the contact moving off the platform).
_CHANNEL_WORDS: Final = {
    "public": "a public space of the platform",
    "group": "a group room of the platform",
    "direct": "direct messages on the platform",
    "ephemeral": "disappearing messages on the platform",
    "encrypted": "encrypted messages on the platform",
    "external": "a link or handle to another app: contact moving off the platform",
}


def _channels_text(channels: set[str]) -> str:
    """Where the alerted conversations went, most private first, each channel said in words
    (never "private conversations on the platform" for a public room or another app)."""
    ordered = sorted(channels, key=CHANNEL_NAMES.index, reverse=True)
    worded = ", ".join(f"{c} ({_CHANNEL_WORDS[c]})" for c in ordered) or "unknown"
    return f"Most private channel each alerted conversation reached: {worded}."


def _draft(case: DecidedCase, platform: str, simulated: frozenset[int]) -> dict[str, Any]:
    urgent = case.tier >= 2
    best = case.strongest
    children = case.children
    channels = {i.channel for i in case.items if i.channel}
    summary: dict[str, Any] = {
        "incidentType": INCIDENT_TYPE,
        "platform": platform or None,
        "incidentDateTime": iso_utc(case.first_seen),
        "incidentDateTimeDescription": (
            "time the first automated alert or user report of this decision's case is dated "
            "(an alert by its conversation's latest event when scored in batch); items on this "
            "account decided before are not in this draft, and the conduct may have begun "
            "earlier"
        ),
    }
    if urgent:
        summary["escalateToHighPriority"] = (
            f"Urgent-tier automated alert (estimated risk {risk_text(best.risk)}) on contact "
            f"with {_contact_text(best)}; a moderator escalated the case."
        )
    reasons = "; ".join(case.indicators) or "none recorded"
    declared = _reported_age(case)
    by_child: dict[str, list[QueueItem]] = {}  # one pass: a case of thousands of children
    for item in case.items:
        by_child.setdefault(repr(item.child_id), []).append(item)
    report = {
        "incidentSummary": summary,
        "internetDetails": [
            {
                "chatImIncident": {
                    "chatClient": platform or None,
                    "chatRoomName": None,
                    "additionalInfo": _channels_text(channels),
                }
            }
        ],
        "reporter": {"reportingPerson": None, "contactPerson": None},
        "personOrUserReported": {
            "espIdentifier": str(case.adult_id),
            "espService": platform or None,
            "screenName": None,
            "displayName": [],
            "profileUrl": [],
            "priorCTReports": [],
            "additionalInfo": (
                f"{_raised(case)} about this account{_concerning(case)}; declared age: "
                f"{'unknown' if declared is None else plural(declared, 'year')}. Indicators "
                f"from interaction metadata (no message content): {reasons}."
            ),
        },
        "victim": [
            {
                "victimPerson": None,
                "espIdentifier": str(child),
                "espService": platform or None,
                "screenName": None,
                "priorCTReports": [],
                "additionalInfo": _victim_age(by_child[repr(child)]),
            }
            for child in children
        ],
    }
    age = case.youngest_age
    n_simulated = sum(i.item_id in simulated for i in case.items)
    return {
        "draft": True,
        "status": STATUS,
        **(
            {
                "simulated": (
                    f"SIMULATED: {n_simulated} of the case's {len(case.items)} queue items were "
                    "decided in simulation mode (times set by a simulation, not real "
                    "decisions); never submit this draft"
                )
            }
            if n_simulated
            else {}
        ),
        "notice": (
            "Prepared by riskscore from interaction metadata for a person to complete, check and "
            "submit to the NCMEC CyberTipline; riskscore never submits. It holds no message "
            "content: attach evidence from the platform's own records if policy and law allow."
        ),
        "case": {
            "decision": "escalated",
            "decided_at": iso_utc(case.decided_at),
            "queue_item_ids": [i.item_id for i in case.items],
            "urgent": urgent,
            "youngest_declared_age": None if math.isnan(age) else age,
            "reported_declared_age": declared,
        },
        "report": report,
        "to_complete": [
            "report.reporter.reportingPerson",
            "report.reporter.contactPerson",
            "report.personOrUserReported.screenName",
            "report.personOrUserReported.displayName",
            "report.personOrUserReported.profileUrl",
            "report.personOrUserReported.priorCTReports",
            "report.victim[].victimPerson",
            "report.victim[].screenName",
            "report.internetDetails[].chatImIncident.chatRoomName",
            *([] if platform else _PLATFORM_PATHS),
        ],
    }


#: The elements that name the platform, ``null`` in a draft made without its name (``riskscore
#: export`` without ``--platform``): placeholders like the others, listed in ``to_complete``.
_PLATFORM_PATHS: Final = (
    "report.incidentSummary.platform",
    "report.internetDetails[].chatImIncident.chatClient",
    "report.personOrUserReported.espService",
    "report.victim[].espService",
)


def _raised(case: DecidedCase) -> str:
    """What the case holds, counted and never as an absence (``1 automated alert``, not
    ``1 automated alert and 0 user reports``)."""
    counts = ((len(case.alerts), "automated alert"), (len(case.reports), "user report"))
    return " and ".join(plural(n, word) for n, word in counts if n)


def _concerning(case: DecidedCase) -> str:
    """Whom the case concerns, counted by the age each declared (:func:`child_accounts_text`:
    an account of undeclared age is never stated as a child), or "" when no item names a
    possible child (reports by adults only): never "concerning 0 child accounts"."""
    possible = ((i.child_id, i.child_age) for i in case.items if i.child_not_known_adult)
    said = child_accounts_text(possible)
    return f" concerning {said}" if said else ""


def _contact_text(item: QueueItem) -> str:
    """The contact an urgent alert was on: ``a child in age band under 13``, or ``an account
    of undeclared age (age band unknown)`` when the child's account declared no age (and
    ``an account of a declared adult age`` for one of 18 or over, never "a child")."""
    kind = declared_kind([item.child_age])
    if kind == UNDECLARED:
        return f"an account of undeclared age (age band {item.age_band})"
    if kind == DECLARED_ADULT:
        return f"an account of a declared adult age (age band {item.age_band})"
    return f"a child in age band {item.age_band}"


def _reported_age(case: DecidedCase) -> float | None:
    """The reported account's declared age (None: unknown, never a guess): that of the
    case's item with the latest event that knows it (an alert's ``adult_age``, else a
    user report's age of the account it reports), as the console names the account
    (:func:`~riskscore.moderation.item_facts.account_age`). Items queued before riskscore
    kept it (a user report, or a queue file of schema version 2) know none."""
    return account_age((i.last_event_at, i.updated_at, i.item_id, i.adult_age) for i in case.items)


def _victim_age(mine: list[QueueItem]) -> str:
    """What a draft says of a child's age from the case's items about that child
    (``mine``): the band of the child's youngest declared age under 18 (a child alerted at
    12 and again at 13 is reported under 13, the age of the earliest conduct reported), else
    of the child's strongest item; any other band the child's items recorded is named after
    it."""
    age = youngest_child_age(mine)
    if math.isnan(age):
        band = max(mine, key=lambda i: (i.tier, i.risk)).age_band
        said = []
    else:
        band = next(i.age_band for i in mine if i.child_age == age)
        said = [f"youngest declared age: {plural(age, 'year')}"]
    others = list(dict.fromkeys(i.age_band for i in mine if i.age_band != band))
    if others:
        said.append(f"also recorded: {', '.join(others)}")
    return f"declared age band: {band}" + (f" ({', '.join(said)})" if said else "")


#: Mode of a folder made for the drafts: they name the accounts of children and of the
#: adults reported (raw ids, as a report to NCMEC needs), so only their owner reads them;
#: the files take the review queue's mode (:data:`riskscore.io.private.FILE_MODE`).
DRAFT_DIR_MODE = 0o700


#: A string of JSON text as :func:`json.dumps` writes it.
_JSON_STRING: Final = re.compile(r'"(?:[^"\\]|\\.)*"')


def _ascii_where_misread(text: str) -> str:
    """JSON ``text`` with each string that would read as other text written with its
    characters beyond ASCII escaped (:func:`~riskscore.io.shown_ids.escaped_when_shown`,
    the rule by which the console shows ids): the same value to a JSON reader, and to a
    person reading the file an ``espIdentifier`` that passes for another account's
    (``admin`` with a Cyrillic U+0430 for its ``a``) reads ``\\u0430dmin``, not ``admin``.

    Examples
    --------
    >>> print(_ascii_where_misread(json.dumps(["caf\\u00e9", "\\u0430dmin"], ensure_ascii=False)))
    ["café", "\\u0430dmin"]
    """

    def one(match: re.Match[str]) -> str:
        value = json.loads(match.group())
        return json.dumps(value) if escaped_when_shown(value) else match.group()

    return _JSON_STRING.sub(one, text)


def write_drafts(drafts: Iterable[dict[str, Any]], out_dir: str | Path) -> dict[str, Path]:
    """Write each draft as ``ncmec-draft-<first queue item id>.json`` under ``out_dir``,
    readable by their owner only (the queue file's
    :data:`~riskscore.io.private.FILE_MODE`; a folder made for them :data:`DRAFT_DIR_MODE`).
    A string that would read as other text is written escaped (:func:`_ascii_where_misread`).

    Returns
    -------
    dict of str to Path
        Every file written, by name.
    """
    out = Path(out_dir)
    out.mkdir(mode=DRAFT_DIR_MODE, parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for draft in drafts:
        name = f"ncmec-draft-{draft['case']['queue_item_ids'][0]:06d}.json"
        path = out / name
        text = _ascii_where_misread(json.dumps(draft, indent=2, ensure_ascii=False)) + "\n"
        # created with the mode (no moment readable by others); an existing file is
        # replaced by a new one, not reused with its mode
        path.unlink(missing_ok=True)
        with open(
            os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE),
            "w",
            encoding="utf-8",
        ) as file:
            file.write(text)
        written[name] = path
    return written
