"""Statements of reasons (Article 17 DSA) for the EU DSA Transparency Database.

For every decided case whose decision restricts the adult account (``actioned``
or ``escalated``), :func:`statements_of_reasons` writes one statement with the
database's field names and allowed values (``riskscore.regulatory._dsa_schema``
lists them and their source). :func:`validate_statement`
(:mod:`riskscore.regulatory.dsa_validate`) refuses a record the database would
reject, naming the record and the field. The platform submits
the statements (Article 24(5) DSA) after checking them; riskscore never does.

Nothing here reads or writes message content: ``decision_facts`` is written from
the alert's reasons (features of interaction metadata), and the ``puid`` is an
HMAC pseudonym of the decision, never an account id.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from riskscore._words import plural, risk_text
from riskscore.io.arrow import write_csv_rows
from riskscore.io.timestamps import iso_utc
from riskscore.keys import check_key
from riskscore.moderation import QueueItem
from riskscore.moderation.queue_db import decode_id, encode_id
from riskscore.moderation.transparency import pseudonymise
from riskscore.regulatory import _dsa_schema as schema
from riskscore.regulatory._cases import RESTRICTING, DecidedCase, child_accounts_text
from riskscore.regulatory.dsa_validate import (
    StatementError,
    is_blank,
    validate_statement,
    validate_statements,
)

__all__ = [
    "Restriction",
    "StatementError",
    "StatementSettings",
    "statements_of_reasons",
    "validate_statement",
    "validate_statements",
    "write_statements",
]


@dataclass(frozen=True, slots=True)
class Restriction:
    """What a platform does to an account for one outcome, and on which ground.

    Attributes
    ----------
    decision_account : str or None
        ``DECISION_ACCOUNT_SUSPENDED`` or ``DECISION_ACCOUNT_TERMINATED``.
    decision_provision : str or None
        A ``DECISION_PROVISION_*`` value.
    decision_visibility : tuple of str
        ``DECISION_VISIBILITY_*`` values (empty: none).
    decision_ground : str
        ``DECISION_GROUND_ILLEGAL_CONTENT`` or ``DECISION_GROUND_INCOMPATIBLE_CONTENT``.
    ground : str
        The legal ground (illegal content) or the terms-and-conditions clause
        (incompatible content) relied on.
    explanation : str
        Why the conduct falls under that ground.
    """

    decision_account: str | None
    decision_ground: str
    ground: str
    explanation: str
    decision_provision: str | None = None
    decision_visibility: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.decision_visibility, str):  # iterated, one letter per value
            raise ValueError(
                f"decision_visibility must be a tuple of values, got "
                f"{self.decision_visibility!r}; one is ({self.decision_visibility!r},)"
            )


_ACTIONED = Restriction(
    decision_account="DECISION_ACCOUNT_SUSPENDED",
    decision_ground="DECISION_GROUND_INCOMPATIBLE_CONTENT",
    ground="Terms of service: child safety policy (contact with children for sexual purposes)",
    explanation=(
        "A moderator found that this account's contact with a child breached the child safety "
        "policy of the terms of service: the pattern of contact is one the policy prohibits as "
        "grooming behaviour."
    ),
)
_ESCALATED = Restriction(
    decision_account="DECISION_ACCOUNT_TERMINATED",
    decision_ground="DECISION_GROUND_ILLEGAL_CONTENT",
    ground=(
        "Directive 2011/93/EU, Article 6 (solicitation of children for sexual purposes), as "
        "transposed into national law"
    ),
    explanation=(
        "A moderator found that this account's contact with a child indicates solicitation of a "
        "child for sexual purposes and referred the case to the competent authorities."
    ),
)


@dataclass(frozen=True, slots=True)
class StatementSettings:
    """Platform choices that the queue cannot know; defaults are stated in docs/regulatory.md.

    Attributes
    ----------
    restrictions : dict of str to Restriction
        Restriction and ground per restricting outcome (``actioned``, ``escalated``).
    account_type : str or None
        ``ACCOUNT_TYPE_PRIVATE`` (default) or ``ACCOUNT_TYPE_BUSINESS``.
    territorial_scope : tuple of str
        Country codes where the restriction applies (default: the 27 EU states).
    content_type : tuple of str
        ``CONTENT_TYPE_*`` values; default ``CONTENT_TYPE_OTHER`` with
        ``content_type_other`` below, because the decision concerns an account's
        conduct found from interaction metadata, not an item of content riskscore read.
    content_type_other : str
        Required when ``CONTENT_TYPE_OTHER`` is chosen. The default is true of every
        decision, whichever channels its alerts were raised in (public and group rooms
        too, not only private conversations).
    automated_decision : str
        ``AUTOMATED_DECISION_NOT_AUTOMATED`` (default: a moderator decides every case)
        or ``AUTOMATED_DECISION_PARTIALLY``. Fully automated is refused: riskscore
        alerts never decide.
    decision_ground_reference_url : str or None
        URL of the terms or law relied on, in full with its scheme
        (``https://example.com/terms``), as the database requires.
    trusted_flaggers : frozenset
        Reporter ids (int or text, as the queue holds them) of trusted flaggers (Article
        22); their reports get ``SOURCE_TRUSTED_FLAGGER`` instead of ``SOURCE_ARTICLE_16``.
        Any collection of ids is kept as a frozenset; one text (not a set) is refused.
    """

    restrictions: dict[str, Restriction] = field(
        default_factory=lambda: {"actioned": _ACTIONED, "escalated": _ESCALATED}
    )
    account_type: str | None = "ACCOUNT_TYPE_PRIVATE"
    territorial_scope: tuple[str, ...] = schema.EU_COUNTRY_CODES
    content_type: tuple[str, ...] = ("CONTENT_TYPE_OTHER",)
    content_type_other: str = (
        "Account conduct in contact with a child on the platform (in public, group or "
        "private conversations), assessed from interaction metadata (message content was not "
        "assessed by automated means)"
    )
    automated_decision: str = "AUTOMATED_DECISION_NOT_AUTOMATED"
    decision_ground_reference_url: str | None = None
    trusted_flaggers: frozenset[Any] = frozenset()

    def __post_init__(self) -> None:
        if self.automated_decision == "AUTOMATED_DECISION_FULLY":
            raise ValueError(
                "automated_decision cannot be AUTOMATED_DECISION_FULLY: a moderator decides "
                "every riskscore case; use AUTOMATED_DECISION_NOT_AUTOMATED or _PARTIALLY"
            )
        missing = [o for o in RESTRICTING if o not in self.restrictions]
        if missing:
            raise ValueError(f"restrictions needs an entry for {', '.join(missing)}")
        for outcome in RESTRICTING:
            if not isinstance(self.restrictions[outcome], Restriction):
                raise ValueError(
                    f"restrictions[{outcome!r}] must be a Restriction, got "
                    f"{self.restrictions[outcome]!r}"
                )
        for name in ("territorial_scope", "content_type"):
            if isinstance(getattr(self, name), str):  # iterated, "AT" would be "A" and "T"
                value = getattr(self, name)
                raise ValueError(
                    f"{name} must be a tuple of values, got {value!r}; one is ({value!r},)"
                )
        object.__setattr__(self, "trusted_flaggers", _reporter_ids(self.trusted_flaggers))


def _reporter_ids(ids: Any) -> frozenset[Any]:
    """``trusted_flaggers`` as a set of ids the queue can hold (int or text, as
    :func:`~riskscore.moderation.queue_db.encode_id` takes them), or a ``ValueError``: one
    text would be matched by substring (``"tf12"`` holds ``"f1"``; an int id beside it
    failed with a ``TypeError``), and ``True`` or ``205.0`` would match the accounts 1 and
    205."""
    if isinstance(ids, (str, bytes)) or not isinstance(ids, Iterable):
        raise ValueError(
            f"trusted_flaggers must be a set of reporter ids, got {ids!r}; one id is "
            f"frozenset({{{ids!r}}})"
        )
    out = []
    for value in ids:
        try:
            out.append(decode_id(encode_id(value)))
        except ValueError:
            raise ValueError(
                f"trusted_flaggers holds {value!r} ({type(value).__name__}), not an id the "
                "queue holds (int or text)"
            ) from None
    return frozenset(out)


def statements_of_reasons(
    cases: Iterable[DecidedCase],
    *,
    key: bytes | str,
    settings: StatementSettings | None = None,
) -> list[dict[str, Any]]:
    """One statement of reasons per restricting decision, validated.

    Parameters
    ----------
    cases : iterable of DecidedCase
        From :func:`riskscore.regulatory.decided_cases`; dismissed cases are skipped.
    key : bytes or str
        The platform's pseudonymisation key (the transparency report's HMAC key), checked
        by :func:`riskscore.keys.check_key`.
    settings : StatementSettings, optional
        Restrictions, grounds and scope; defaults documented in ``docs/regulatory.md``.

    Returns
    -------
    list of dict
        Records with the database's field names, in :data:`FIELDS` order; absent
        optional fields are ``None``.

    Raises
    ------
    StatementError
        A record would be rejected (for example a setting out of the schema).

    Examples
    --------
    >>> import tempfile
    >>> import riskscore as rs
    >>> from riskscore.policy import Alert, Tier
    >>> from riskscore.moderation.transparency import SYNTHETIC_DEMO_KEY
    >>> from riskscore.regulatory import decided_cases
    >>> with rs.ReviewQueue(f"{tempfile.mkdtemp()}/q.sqlite", simulation=True) as q:
    ...     _ = q.add_alert(Alert(1, "a", "c", 12.0, "under 13", 0.8, Tier.URGENT), at=1767225600)
    ...     shown = q.case("a", now=1767229200)
    ...     _ = q.decide("a", "actioned", moderator="m", at=1767229200, token=shown.token)
    ...     [s] = statements_of_reasons(decided_cases(q.items()), key=SYNTHETIC_DEMO_KEY)
    >>> s["category"], s["application_date"], s["source_type"]
    ('STATEMENT_CATEGORY_PROTECTION_OF_MINORS', '2026-01-01', 'SOURCE_VOLUNTARY')
    >>> s["category_specification"]
    ['KEYWORD_GROOMING_SEXUAL_ENTICEMENT_MINORS']
    """
    s = settings or StatementSettings()
    secret = check_key(key, source="the pseudonymisation key")  # before any work
    restricting = [c for c in cases if c.outcome in RESTRICTING]
    records = [_statement(c, secret, s) for c in restricting]
    try:
        validate_statements(records)
    except StatementError as exc:
        if exc.column in _CASE_DAYS and exc.row is not None:
            raise _day_out_of_range(exc, restricting[exc.row]) from None
        raise
    return records


#: The statement's fields that are days of the decided case, and which day each is.
_CASE_DAYS = {
    "content_date": "the day the decision's first alert or report arrived",
    "application_date": "the day of the decision",
}


def _day_out_of_range(exc: StatementError, case: DecidedCase) -> StatementError:
    """The refusal of a case whose day the database rejects (its range ends on 2038-01-01;
    a simulated decision may be later), naming the decision in the queue and the way out."""
    return StatementError(
        f"{exc}, {_CASE_DAYS[str(exc.column)]}: queue item {case.items[0].item_id}, "
        f"{case.outcome} at {iso_utc(case.decided_at)}. The DSA Transparency Database "
        "takes no day out of that range, so this decision can have no statement of "
        "reasons: export a period that leaves it out (riskscore export --from/--to, "
        "ExportFilter(start=..., end=...))",
        column=exc.column,
        row=exc.row,
        value=exc.value,
    )


def _statement(case: DecidedCase, key: bytes, s: StatementSettings) -> dict[str, Any]:
    r = s.restrictions[case.outcome]
    illegal = r.decision_ground == "DECISION_GROUND_ILLEGAL_CONTENT"
    record: dict[str, Any] = dict.fromkeys(schema.FIELDS)
    record.update(
        decision_visibility=list(r.decision_visibility) or None,
        decision_provision=r.decision_provision,
        decision_account=r.decision_account,
        account_type=s.account_type,
        decision_ground=r.decision_ground,
        decision_ground_reference_url=s.decision_ground_reference_url,
        content_type=list(s.content_type),
        content_type_other=s.content_type_other if "CONTENT_TYPE_OTHER" in s.content_type else None,
        category="STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
        category_specification=["KEYWORD_GROOMING_SEXUAL_ENTICEMENT_MINORS"],
        territorial_scope=list(s.territorial_scope),
        content_date=_day(case.first_seen),
        application_date=_day(case.decided_at),
        decision_facts=decision_facts(case),
        source_type=_source_type(case.items, s.trusted_flaggers),
        automated_detection="Yes" if case.alerts else "No",
        automated_decision=s.automated_decision,
        puid=pseudonymise(case.key, key),
    )
    if illegal:
        record.update(
            illegal_content_legal_ground=r.ground, illegal_content_explanation=r.explanation
        )
    else:
        record.update(
            incompatible_content_ground=r.ground, incompatible_content_explanation=r.explanation
        )
    return record


def _source_type(items: Sequence[QueueItem], trusted: frozenset[Any]) -> str:
    reports = [i for i in items if i.kind == "user_report"]
    if any(i.child_id in trusted for i in reports):
        return "SOURCE_TRUSTED_FLAGGER"
    return "SOURCE_ARTICLE_16" if reports else "SOURCE_VOLUNTARY"


def decision_facts(case: DecidedCase) -> str:
    """Facts and circumstances of a decision, in words, from metadata and alert reasons only.

    Parameters
    ----------
    case : DecidedCase
        The decision.

    Returns
    -------
    str
        At most 5,000 characters; no ids, no message content.
    """
    parts: list[str] = []
    alerts, reports = case.alerts, case.reports
    if alerts:
        best = case.strongest
        tier = "an urgent" if best.tier >= 2 else "a review"
        parts.append(
            f"Automated detection raised {plural(len(alerts), 'alert')} on this account's "
            f"conversations with "
            f"{child_accounts_text((i.child_id, i.child_age) for i in alerts)}; the highest was "
            f"{tier}-tier alert (estimated risk {risk_text(best.risk)}, child age band "
            f"{best.age_band})."
        )
        if case.public_indicators:  # published one by one: no age, the band above
            parts.append(
                "Indicators from interaction metadata: " + "; ".join(case.public_indicators) + "."
            )
    if reports:
        parts.append(_reports_received(len(reports), sum(i.concerns_child for i in reports)))
    action = (
        "referred the case to the competent authorities"
        if case.outcome == "escalated"
        else "restricted the account"
    )
    parts.append(
        f"A moderator reviewed the case and {action} on {_day(case.decided_at)}. The automated "
        "system assessed interaction metadata only, never message content, and took no decision."
    )
    return " ".join(parts)[: schema.MAX_LENGTH["decision_facts"]]


def _day(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%d")


# ---------------------------------------------------------------------- writing


def write_statements(records: Sequence[dict[str, Any]], out_dir: str | Path) -> dict[str, Path]:
    """Write ``statements_of_reasons.jsonl`` and ``statements_of_reasons.csv``.

    JSON lines carry one API payload per line (optional fields left out when
    empty); the CSV has one column per field in the API's order, list fields as
    JSON arrays.

    Returns
    -------
    dict of str to Path
        The two files, by name.
    """
    validate_statements(records)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    jsonl = out / "statements_of_reasons.jsonl"
    with jsonl.open("w", encoding="utf-8") as fh:
        for record in records:
            payload = {k: v for k, v in record.items() if not is_blank(v)}
            fh.write(json.dumps(payload, ensure_ascii=False) + "\n")
    table = write_csv_rows(
        out / "statements_of_reasons.csv",
        schema.FIELDS,
        ([_cell(record.get(k)) for k in schema.FIELDS] for record in records),
    )
    return {jsonl.name: jsonl, table.name: table}


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return json.dumps(value)
    return str(value)


def _reports_received(n: int, from_children: int) -> str:
    """The sentence of a statement on the user reports about the account.

    Examples
    --------
    >>> print(_reports_received(1, 1))
    A user report about this account was received from a child.
    >>> print(_reports_received(3, 1))
    3 user reports about this account were received, 1 of them from a child.
    >>> print(_reports_received(2, 2))
    2 user reports about this account were received, all from children.
    """
    if n == 1:
        return "A user report about this account was received" + (
            " from a child." if from_children else "."
        )
    if from_children == n:
        whose = ", all from children"
    elif from_children:
        whose = (
            f", {from_children:,} of them from {'a child' if from_children == 1 else 'children'}"
        )
    else:
        whose = ""
    return f"{plural(n, 'user report')} about this account were received{whose}."
