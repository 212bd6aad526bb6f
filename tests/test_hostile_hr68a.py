"""Hostile review hr68a: regulatory exports (DSA statements of reasons and their validator,
the 2024/2835 templates). All data is synthetic (tests/_regulatory.py). Each test failed
before its fix."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import pyarrow.csv as pacsv
import pytest
from _regulatory import KEY, decided_queue

from riskscore.moderation import ReviewQueue
from riskscore.regulatory import (
    ExportFilter,
    Restriction,
    StatementError,
    StatementSettings,
    cybertipline_drafts,
    decided_cases,
    export_all,
    quantitative_template,
    statements_of_reasons,
    validate_statements,
)


def _export(tmp_path: Path) -> Path:
    """The exports of the hand-made queue, every period, under ``tmp_path / "out"``."""
    db = decided_queue(tmp_path / "q.sqlite")
    with ReviewQueue(db) as queue:
        export_all(queue, tmp_path / "out", key=KEY, platform="demo")
    return tmp_path / "out"


def test_every_template_row_has_a_cell_for_each_column(tmp_path: Path) -> None:
    """Was: the TOTAL row of ``04_notices.csv`` had 10 cells under a header of 15 (its
    blanks counted the six figures but not their six contextual columns), a CSV that a
    strict reader refuses ("Expected 15 columns, got 10", pyarrow) and a spreadsheet
    shows ragged. Now each row of each table has one cell per column, the TOTAL row's
    note in its first contextual column."""
    out = _export(tmp_path) / "eu-2024-2835"
    tables = sorted(out.glob("*.csv"))
    assert len(tables) == 7
    for path in tables:
        with path.open(encoding="utf-8", newline="") as fh:
            header, *rows = list(csv.reader(fh))
        assert rows, path.name
        for row in rows:
            assert len(row) == len(header), (path.name, row)
        pacsv.read_csv(path)  # strict: refuses a row of another width
    with (out / "04_notices.csv").open(encoding="utf-8", newline="") as fh:
        total = next(r for r in csv.DictReader(fh) if r["Category of illegal content"] == "TOTAL")
    assert total["Number of notices received"] == ""
    assert total["Contextual information on Number of notices received"].startswith(
        "all categories: left to the platform"
    )
    assert total["Contextual information on Median time to take action"] == ""


def _statements(tmp_path: Path, settings: StatementSettings | None = None) -> list[dict[str, Any]]:
    """The statements of reasons of the hand-made queue's restricting decisions."""
    tmp_path.mkdir(exist_ok=True)
    db = decided_queue(tmp_path / "q.sqlite")
    with ReviewQueue(db) as queue:
        return statements_of_reasons(decided_cases(queue.items()), key=KEY, settings=settings)


@pytest.mark.parametrize("record", [None, ["puid", "p_1"], "p_1"], ids=["null", "array", "text"])
def test_a_line_that_is_no_record_is_named(tmp_path: Path, record: object) -> None:
    """Was: ``AttributeError: 'list' object has no attribute 'get'`` (``TypeError`` for
    null), a traceback, for a hand-edited statements file one of whose lines is JSON but no
    object. Now a StatementError naming the statement's position."""
    records: list[Any] = [_statements(tmp_path)[0], record]
    with pytest.raises(StatementError, match=r"^statement 1 is .*, not a record of fields"):
        validate_statements(records)


def test_a_reference_url_without_its_scheme_is_refused(tmp_path: Path) -> None:
    """Was: ``decision_ground_reference_url="www.example.com/terms"`` (a platform's
    setting) written into every statement and accepted by the validator, where the
    database's ``url`` rule rejects each of them. Now refused, naming the field; a full URL
    is taken."""
    restrictions = StatementSettings().restrictions
    bad = StatementSettings(restrictions, decision_ground_reference_url="www.example.com/terms")
    with pytest.raises(StatementError, match="'decision_ground_reference_url' must be a full URL"):
        _statements(tmp_path / "a", bad)
    good = StatementSettings(restrictions, decision_ground_reference_url="https://example.com/t")
    assert _statements(tmp_path / "b", good)[0]["decision_ground_reference_url"].startswith("https")


@pytest.mark.parametrize(
    ("name", "value"),
    [("decision_facts", math.nan), ("decision_facts", ["text"]), ("puid", math.nan)],
    ids=["nan-facts", "list-facts", "nan-puid"],
)
def test_a_free_text_field_that_is_not_text_is_refused(
    tmp_path: Path, name: str, value: object
) -> None:
    """Was: accepted (its length counted on ``str(value)``, "nan" passing the puid
    alphabet), and ``write_statements`` wrote ``NaN``, which is no JSON (the database's
    parser refuses the whole payload). Now refused, naming the field."""
    record = dict(_statements(tmp_path)[0], **{name: value})
    with pytest.raises(StatementError, match=f"field {name!r} must be text"):
        validate_statements([record])


def test_a_content_language_not_in_the_databases_list_is_refused(tmp_path: Path) -> None:
    """Was: ``content_language`` never checked, so ``"en"`` (the database takes ``EN``) or
    ``"xx"`` added by hand passed the validator and was rejected on submission."""
    record = _statements(tmp_path)[0]
    for value in ("en", "xx", ["EN"]):
        with pytest.raises(StatementError, match=r"'content_language' has .*ISO 639-1"):
            validate_statements([dict(record, content_language=value)])
    validate_statements([dict(record, content_language="EN")])


@pytest.mark.parametrize(
    ("flaggers", "problem"),
    [
        ("205", "must be a set of reporter ids, got '205'; one id is frozenset({'205'})"),
        (frozenset({True}), "holds True (bool), not an id the queue holds"),
        (frozenset({205.0}), "holds 205.0 (float), not an id the queue holds"),
    ],
    ids=["one-text", "bool", "float"],
)
def test_trusted_flaggers_are_ids_the_queue_holds(
    tmp_path: Path, flaggers: object, problem: str
) -> None:
    """Was: ``trusted_flaggers="205"`` (one id, not a set) taken as given: a reporter's id
    was looked up in the text (``"f1" in "tf12"``: a substring counted as a trusted
    flagger), and the queue's int reporter 205 stopped the export with ``TypeError: 'in
    <string>' requires string as left operand``; ``True`` matched the account 1 and
    ``205.0`` the account 205. Now each is refused when the settings are made, naming
    the value; a set of int or text ids is taken (a list too)."""
    with pytest.raises(ValueError, match=r"^trusted_flaggers ") as info:
        StatementSettings(trusted_flaggers=flaggers)  # type: ignore[arg-type]
    assert problem in str(info.value)
    settings = StatementSettings(trusted_flaggers=[205])  # type: ignore[arg-type]
    sources = [s["source_type"] for s in _statements(tmp_path, settings)]
    assert sources.count("SOURCE_TRUSTED_FLAGGER") == 1


@pytest.mark.parametrize("field", ["outcomes", "bands"])
def test_an_empty_filter_is_refused(field: str) -> None:
    """Was: ``ExportFilter(outcomes=())`` (or ``bands=[]``, a platform's empty list of
    settings) kept no decision: an export of 0 statements and 0 drafts, with the queue's
    restricting and escalated decisions silently left out. Now refused, saying that None
    keeps all."""
    with pytest.raises(ValueError, match=r"filter is empty, which keeps no .*give None"):
        ExportFilter(**{field: ()})


def test_settings_given_one_text_for_a_tuple_are_refused_naming_it() -> None:
    """Was: ``territorial_scope="AT"`` refused by the validator as "has 'A', not one of
    AT, BE, ..." (the text iterated letter by letter), ``Restriction(...,
    decision_visibility="DECISION_VISIBILITY_CONTENT_REMOVED")`` likewise (and a
    ``KeyError: 'D'`` in ``quantitative_template``), and a restriction of None an
    ``AttributeError`` traceback. Now each is refused when the settings are made, naming
    the setting."""
    with pytest.raises(ValueError, match=r"^territorial_scope must be a tuple .*\('AT',\)"):
        StatementSettings(territorial_scope="AT")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^content_type must be a tuple"):
        StatementSettings(content_type="CONTENT_TYPE_TEXT")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^decision_visibility must be a tuple"):
        Restriction(
            None,
            "DECISION_GROUND_INCOMPATIBLE_CONTENT",
            "terms",
            "why",
            decision_visibility="DECISION_VISIBILITY_CONTENT_REMOVED",  # type: ignore[arg-type]
        )
    restrictions: dict[str, Any] = {"actioned": None, "escalated": None}
    with pytest.raises(ValueError, match=r"^restrictions\['actioned'\] must be a Restriction"):
        StatementSettings(restrictions=restrictions)


def test_the_notices_context_names_the_outcomes_the_settings_give_each_ground(
    tmp_path: Path,
) -> None:
    """Was: the notices table said its actions on the basis of the law were "escalated to
    law enforcement" and those under the terms "actioned under the terms" whatever the
    settings: a platform whose settings restrict ``actioned`` decisions on the ground of
    illegal content had its actioned decisions counted as actions under the law, described
    as escalations to law enforcement. Now the context names the outcomes the settings give
    each ground."""
    illegal = Restriction(
        "DECISION_ACCOUNT_SUSPENDED", "DECISION_GROUND_ILLEGAL_CONTENT", "law", "why"
    )
    settings = StatementSettings({**StatementSettings().restrictions, "actioned": illegal})
    db = decided_queue(tmp_path / "q.sqlite")
    with ReviewQueue(db) as queue:
        items = queue.items()
    f = ExportFilter()
    tables = quantitative_template(
        items, decided_cases(items, f), export_filter=f, settings=settings
    )
    header, rows = tables.tables["04_notices.csv"]
    row = dict(zip(header, rows[1], strict=True))
    assert row["Number of actions taken on the basis of the law"] == 1  # adult 104, actioned
    law = row["Contextual information on Number of actions taken on the basis of the law"]
    assert "illegal content (actioned and escalated to law enforcement)" in law
    terms_column = (
        "Contextual information on Number of actions taken on the basis of the terms and "
        "conditions of the service"
    )
    assert "(no outcome has this ground in the settings)" in row[terms_column]


def test_a_draft_without_the_platform_lists_its_platform_fields_to_complete(
    tmp_path: Path,
) -> None:
    """Was: a draft made without the platform's name (``riskscore export`` without
    ``--platform``) held ``null`` in ``incidentSummary.platform``, ``chatClient`` and each
    ``espService``, none of them listed in ``to_complete``, which the module promises lists
    every placeholder: the person completing the draft could submit it naming no service.
    Now they are listed when, and only when, the platform is not named."""
    db = decided_queue(tmp_path / "q.sqlite")
    with ReviewQueue(db) as queue:
        cases = decided_cases(queue.items())
    unnamed, named = cybertipline_drafts(cases)[0], cybertipline_drafts(cases, platform="demo")[0]
    assert unnamed["report"]["incidentSummary"]["platform"] is None
    for path in (
        "report.incidentSummary.platform",
        "report.internetDetails[].chatImIncident.chatClient",
        "report.personOrUserReported.espService",
        "report.victim[].espService",
    ):
        assert path in unnamed["to_complete"], path
        assert path not in named["to_complete"], path


def test_a_filtered_templates_figures_say_they_are_filtered(tmp_path: Path) -> None:
    """Was: ``riskscore export --decision escalated --band "under 13"`` wrote the 2024/2835
    tables with "Number of notices received" and the measures counted over the decisions
    and bands kept, their context the same as the period's complete figures ("user reports
    (Article 16 notices) received in the period ..."): the file alone read as the period's
    template. Now every figure's context names the filter; an export without one is
    unchanged."""
    db = decided_queue(tmp_path / "q.sqlite")
    with ReviewQueue(db) as queue:
        items = queue.items()
    marked = "; FILTERED export (decisions escalated; age bands under 13 only)"
    for f, expected in (
        (ExportFilter(outcomes=("escalated",), bands=("under 13",)), 1),
        (ExportFilter(), 0),
    ):
        tables = quantitative_template(items, decided_cases(items, f), export_filter=f).tables
        for name in ("04_notices.csv", "05_own_initiative_illegal.csv", "08_automated_means.csv"):
            header, rows = tables[name]
            context = [k for k, c in enumerate(header) if c.lower().startswith("contextual")]
            filled = [r[k] for r in rows for k in context if r[k] and "left to" not in r[k]]
            assert filled, name
            assert all(text.count(marked) == expected for text in filled), (name, filled)


def test_the_statements_csv_read_back_validates(tmp_path: Path) -> None:
    """Was: riskscore's own ``statements_of_reasons.csv``, read back with its list columns
    parsed (as a platform checks a file it edited by hand), refused at its first empty
    cell: "field 'decision_monetary' has '', not one of ...", where the database reads an
    empty text as no value (Laravel's ``ConvertEmptyStringsToNull``) and takes the record.
    Now a blank field is absent to the validator as to the database; a required one blank
    is still refused."""
    out = _export(tmp_path) / "dsa-statements"
    lists = {"decision_visibility", "content_type", "category_addition"}
    lists |= {"category_specification", "territorial_scope"}
    with (out / "statements_of_reasons.csv").open(encoding="utf-8", newline="") as fh:
        rows = [
            {k: json.loads(v) if k in lists and v else v for k, v in row.items()}
            for row in csv.DictReader(fh)
        ]
    validate_statements(rows)
    rows[1]["decision_facts"] = " "
    with pytest.raises(StatementError, match=r"^statement 1 .*'decision_facts' is required"):
        validate_statements(rows)
