"""The validator of statements of reasons: refuses a record the DSA Transparency Database
would reject (required fields, allowed values, dates, lengths, ``puid``), naming the record
and the field. Its field names and allowed values are in ``_dsa_schema``."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import Any

from riskscore._checks import unknown_keys
from riskscore.exceptions import SchemaError
from riskscore.regulatory import _dsa_schema as schema

__all__ = ["StatementError", "is_blank", "validate_statement", "validate_statements"]

# matched whole (``fullmatch``: ``$`` would allow a final newline), ASCII digits only
# (``\d`` takes other scripts' digits)
_PUID = re.compile(r"[a-zA-Z0-9_-]+")
# the database's ``url`` rule: a scheme, ``://`` and a host, no white space
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s/?#]+[^\s]*")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATE_RANGES = {
    "content_date": (date(2000, 1, 1), date(2038, 1, 1)),
    "application_date": (date(2020, 1, 1), date(2038, 1, 1)),
}
_END_DATES = (
    "end_date_account_restriction",
    "end_date_monetary_restriction",
    "end_date_service_restriction",
    "end_date_visibility_restriction",
)
_ENUMS: dict[str, tuple[str, ...]] = {
    "decision_monetary": schema.DECISION_MONETARIES,
    "decision_provision": schema.DECISION_PROVISIONS,
    "decision_account": schema.DECISION_ACCOUNTS,
    "account_type": schema.ACCOUNT_TYPES,
    "decision_ground": schema.DECISION_GROUNDS,
    "incompatible_content_illegal": ("Yes", "No"),
    "category": schema.STATEMENT_CATEGORIES,
    "source_type": schema.SOURCE_TYPES,
    "automated_detection": schema.AUTOMATED_DETECTIONS,
    "automated_decision": schema.AUTOMATED_DECISIONS,
}
_ARRAY_ENUMS: dict[str, tuple[str, ...]] = {
    "decision_visibility": schema.DECISION_VISIBILITIES,
    "content_type": schema.CONTENT_TYPES,
    "category_addition": schema.STATEMENT_CATEGORIES,
    "category_specification": schema.KEYWORDS,
    "territorial_scope": schema.EEA_COUNTRY_CODES,
}
_REQUIRED = (
    "decision_ground",
    "content_type",
    "category",
    "content_date",
    "application_date",
    "decision_facts",
    "source_type",
    "automated_detection",
    "automated_decision",
    "puid",
)
_RESTRICTIONS = (
    "decision_visibility",
    "decision_monetary",
    "decision_provision",
    "decision_account",
)
_GROUND_FIELDS = {
    "DECISION_GROUND_ILLEGAL_CONTENT": (
        "illegal_content_legal_ground",
        "illegal_content_explanation",
    ),
    "DECISION_GROUND_INCOMPATIBLE_CONTENT": (
        "incompatible_content_ground",
        "incompatible_content_explanation",
    ),
}


class StatementError(SchemaError):
    """A statement of reasons the DSA Transparency Database would reject.

    Attributes
    ----------
    column : str or None
        The offending field.
    row : int or None
        0-based position of the record in the list validated.
    value : object
        The offending value.
    """


def validate_statements(records: Sequence[dict[str, Any]]) -> None:
    """Validate every record and check that no ``puid`` repeats.

    Raises
    ------
    StatementError
        Naming the first record (position and puid) and field at fault.
    """
    seen: dict[str, int] = {}
    for row, record in enumerate(records):
        validate_statement(record, row=row)
        puid = str(record["puid"])
        if puid in seen:
            raise StatementError(
                f"statement {row} (puid {puid}): field 'puid' repeats statement {seen[puid]}; "
                "every puid must be unique",
                column="puid",
                row=row,
                value=puid,
            )
        seen[puid] = row


def validate_statement(record: dict[str, Any], *, row: int = 0) -> None:
    """Refuse a statement of reasons the DSA Transparency Database would reject.

    Checks what ``StatementStoreRequest`` enforces: required fields, allowed
    values (single and array fields), at least one restriction, the fields a
    ``decision_ground`` or an ``..._OTHER`` value requires, date format
    ``YYYY-MM-DD`` and range, end dates not before the application date, free-text
    fields as text of at most their length (a number or NaN, which no JSON parser
    takes, is refused), ``decision_ground_reference_url`` a full URL,
    ``content_language`` a code of the database's list, and the ``puid`` alphabet.
    Unknown fields are refused too (the database ignores them, which hides a typo); so
    is a record that is not a dict. A blank field (:func:`is_blank`: ``""`` as the
    statements CSV read back holds in each empty cell) is absent, as the database reads it.

    Parameters
    ----------
    record : dict
        One statement.
    row : int, default 0
        Its position, quoted in the error.

    Raises
    ------
    StatementError
        Naming the record (position and puid), the field and the value.

    Examples
    --------
    >>> try:
    ...     validate_statement({"puid": "x"})
    ... except StatementError as exc:
    ...     print(exc)
    statement 0 (puid x): field 'decision_ground' is required
    """

    if not isinstance(record, dict):  # a line of a file that holds no JSON object
        raise StatementError(
            f"statement {row} is {_cut(record)}, not a record of fields (a JSON object)",
            row=row,
            value=record,
        )

    given = record

    def fail(name: str, problem: str) -> StatementError:
        where = f"statement {row} (puid {_puid_shown(given.get('puid'))})"
        return StatementError(
            f"{where}: field {name!r} {problem}", column=name, row=row, value=given.get(name)
        )

    unknown = unknown_keys(record, schema.FIELDS)
    if unknown:
        raise fail(unknown[0], "is not a field of the statement schema")
    # a blank field is absent, as the database reads it: the statements CSV read back has
    # "" in every empty cell
    record = {name: None if is_blank(value) else value for name, value in record.items()}
    for name in _REQUIRED:
        if is_blank(record.get(name)):
            raise fail(name, "is required")
    if all(is_blank(record.get(n)) for n in _RESTRICTIONS):
        raise fail("decision_visibility", f"or one of {', '.join(_RESTRICTIONS[1:])} is required")
    for name, allowed in _ENUMS.items():
        value = record.get(name)
        if value is not None and value not in allowed:
            raise fail(name, f"has {value!r}, not one of {', '.join(allowed)}")
    for name, allowed in _ARRAY_ENUMS.items():
        value = record.get(name)
        if value is None:
            continue
        if not isinstance(value, list) or (name == "content_type" and not value):
            raise fail(
                name,
                "must be a list" + (" with at least one value" if name == "content_type" else ""),
            )
        for v in value:
            if v not in allowed:
                raise fail(name, f"has {v!r}, not one of {', '.join(allowed)}")
    ground = record["decision_ground"]
    for other_ground, names in _GROUND_FIELDS.items():
        for name in names:
            if other_ground == ground and is_blank(record.get(name)):
                raise fail(name, f"is required when decision_ground is {ground}")
            if other_ground != ground and not is_blank(record.get(name)):
                raise fail(name, f"must be empty when decision_ground is {ground}")
    for name, marker in (
        ("decision_visibility_other", "DECISION_VISIBILITY_OTHER"),
        ("content_type_other", "CONTENT_TYPE_OTHER"),
    ):
        chosen = marker in (record.get(name.removesuffix("_other")) or [])
        if chosen and is_blank(record.get(name)):
            raise fail(name, f"is required when {marker} is chosen")
    if record.get("decision_monetary") == "DECISION_MONETARY_OTHER" and is_blank(
        record.get("decision_monetary_other")
    ):
        raise fail("decision_monetary_other", "is required when DECISION_MONETARY_OTHER is chosen")
    for name, limit in schema.MAX_LENGTH.items():
        value = record.get(name)
        if value is not None and not isinstance(value, str):  # NaN is no JSON at all
            raise fail(name, f"must be text, got {type(value).__name__} {_cut(value)}")
        if value is not None and len(value) > limit:
            raise fail(name, f"has {len(value)} characters, more than {limit}")
    url = record.get("decision_ground_reference_url")
    if not is_blank(url) and not _URL.fullmatch(str(url)):
        raise fail(
            "decision_ground_reference_url",
            "must be a full URL with its scheme (https://example.com/terms), as the "
            f"database's url rule requires, got {_cut(url)}",
        )
    language = record.get("content_language")
    if language is not None and language not in schema.LANGUAGE_CODES:
        raise fail(
            "content_language",
            f"has {_cut(language)}, not an ISO 639-1 code in capitals (EN, DE, ...) of the "
            "database's list",
        )
    if not _PUID.fullmatch(str(record["puid"])):
        raise fail("puid", "may hold only letters a-z, A-Z, digits, '-' and '_'")
    applied = _date(record, "application_date", fail)
    _date(record, "content_date", fail)
    for name in _END_DATES:
        if record.get(name) is not None and _date(record, name, fail) < applied:
            raise fail(name, "is before the application_date")


def _date(record: dict[str, Any], name: str, fail: Any) -> date:
    text = record.get(name)
    if not isinstance(text, str) or not _DATE.fullmatch(text):
        raise fail(name, "must be a date YYYY-MM-DD (leading zeros)")
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise fail(name, "is not a calendar date") from None
    low, high = _DATE_RANGES.get(name, (date.min, date(2038, 1, 1)))
    if not low <= day <= high:
        raise fail(name, f"is {text}, not between {low} and {high}")
    return day


def _puid_shown(puid: Any) -> str:
    """A record's ``puid`` as an error names the record: as written when it is one the
    database takes, else quoted (:func:`_cut`), so that no line break or other text in it
    reads as part of the message."""
    return puid if isinstance(puid, str) and _PUID.fullmatch(puid) else _cut(puid)


def _cut(value: Any) -> str:
    """``value`` as an error quotes it: its repr, cut to 80 characters."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def is_blank(value: Any) -> bool:
    """True for a field left empty (None, text of white space only or an empty list): the
    database trims text and reads empty text as null (Laravel's ``TrimStrings`` and
    ``ConvertEmptyStringsToNull``), so a required field of white space only is missing.

    Examples
    --------
    >>> is_blank(None), is_blank("  "), is_blank([]), is_blank("x")
    (True, True, True, False)
    """
    return value is None or (isinstance(value, str) and not value.strip()) or value == []
