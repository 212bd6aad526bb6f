"""Transparency report templates of Implementing Regulation (EU) 2024/2835, as far as a queue knows.

Annex I of the regulation sets a quantitative template (machine-readable tables
by section) and a qualitative one (free text). riskscore fills the rows that a
child-safety review queue can count for the protection-of-minors category and
its grooming keyword, and leaves every other cell blank with a note saying the
platform fills it:

* ``04_notices.csv``: notices (user reports) received, median time to action,
  actions on the basis of the law (escalated) or of the terms (actioned);
* ``05_own_initiative_illegal.csv`` / ``06_own_initiative_TC.csv``: own-initiative
  measures by type of restriction;
* ``07_appeals_and_recidivism.csv``: complaints (the queue records none: blank);
* ``08_automated_means.csv``: measures taken (not) solely by automated means and
  the precision measured from decisions with its Wilson 95% interval;
* ``09_human_resources.csv``: blank, for the platform;
* ``11_qualitative.csv`` and ``qualitative_draft.md``: the qualitative fields on
  automated means, drafted from the alert policy and the model card
  (:mod:`riskscore.regulatory.eu_qualitative`).

The section numbering and column names follow the harmonised workbook as
platforms publish it (see ``docs/regulatory.md`` for the sources and the caveat).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from riskscore.io.arrow import write_csv_rows
from riskscore.io.pair_ids import conversation_key
from riskscore.moderation import QueueItem
from riskscore.moderation.disclosure import DEFAULT_MIN_CELL, check_min_cell
from riskscore.moderation.transparency import wilson_interval
from riskscore.policy import AlertPolicy
from riskscore.regulatory._cases import RESTRICTING, DecidedCase, ExportFilter
from riskscore.regulatory._period import period_text
from riskscore.regulatory.dsa import StatementSettings
from riskscore.regulatory.eu_automated_means import PLATFORM, automated_means_rows, small_counts
from riskscore.regulatory.eu_qualitative import qualitative_draft, qualitative_fields

__all__ = [
    "TemplateTables",
    "qualitative_draft",  # riskscore.regulatory.eu_qualitative's, where it was before
    "quantitative_template",
    "write_templates",
]

CATEGORY_ROWS = (
    "TOTAL",
    "STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
    "KEYWORD_GROOMING_SEXUAL_ENTICEMENT_MINORS",
)
_NOTICE_COLUMNS = (
    "Number of notices received",
    "Number of notices received from Trusted flaggers",
    "Number of specific items of information included in the total number of notices",
    "Median time to take action",
    "Number of actions taken on the basis of the law",
    "Number of actions taken on the basis of the terms and conditions of the service",
)
_RESTRICTION_COLUMNS = {
    "DECISION_VISIBILITY_CONTENT_REMOVED": "Visibility restriction Removal",
    "DECISION_VISIBILITY_CONTENT_DISABLED": "Visibility restriction Disable",
    "DECISION_VISIBILITY_CONTENT_DEMOTED": "Visibility restriction Demoted",
    "DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED": "Visibility restriction Age restricted",
    "DECISION_VISIBILITY_CONTENT_INTERACTION_RESTRICTED": (
        "Visibility restriction Interaction restricted"
    ),
    "DECISION_VISIBILITY_CONTENT_LABELLED": "Visibility restriction Labelled",
    "DECISION_VISIBILITY_OTHER": "Visibility restriction Other",
    "DECISION_PROVISION_PARTIAL_SUSPENSION": "Provision of the service Suspension",
    "DECISION_PROVISION_TOTAL_SUSPENSION": "Provision of the service Suspension",
    "DECISION_PROVISION_PARTIAL_TERMINATION": "Provision of the service Termination",
    "DECISION_PROVISION_TOTAL_TERMINATION": "Provision of the service Termination",
    "DECISION_ACCOUNT_SUSPENDED": "Account restriction Suspension",
    "DECISION_ACCOUNT_TERMINATED": "Account restriction Termination",
}
_OWN_COLUMNS = (
    "Number of measures taken at the provider's own initiative",
    "Number of measures taken after detection with solely automated means",
    *dict.fromkeys(_RESTRICTION_COLUMNS.values()),
    "Monetary restriction Suspension",
    "Monetary restriction Termination",
    "Monetary restriction Other",
)
_LONG_COLUMNS = ("Section", "Indicator", "Scope", "Value", "Contextual Information")
_COMPLAINT_INDICATORS = (
    "Number of complaints submitted to the internal-complaints mechanism",
    "Number of restrictions newly imposed as a result of an internal complaint",
    "Number of disputes submitted to out-of-court dispute settlement bodies",
    "Number of suspensions enacted for the provision of manifestly illegal content",
    "Number of suspensions enacted for the provision of manifestly unfounded notices",
    "Number of suspensions enacted for the provision of manifestly unfounded complaints",
)
_HR_INDICATORS = (
    "Number of human resources dedicated to content moderation",
    "Number of human resources dedicated to content moderation per official EU language",
)


@dataclass(frozen=True, slots=True)
class TemplateTables:
    """The filled template: one table (header and rows) per section file.

    Attributes
    ----------
    tables : dict of str to (tuple of str, list of list)
        File name -> (column names, rows).
    precision : float or None
        Measured precision of automated detection ((actioned + escalated) / decided alerts);
        None when no alert was decided or when disclosure control withholds it.
    precision_ci95 : tuple of float or None
        Its Wilson 95% interval.
    withheld : tuple of str
        The figures disclosure control withholds (``"precision"``, ``"notices_decided"``).
    """

    tables: dict[str, tuple[tuple[str, ...], list[list[Any]]]]
    precision: float | None
    precision_ci95: tuple[float, float] | None
    withheld: tuple[str, ...] = ()


def quantitative_template(
    items: Sequence[QueueItem],
    cases: Sequence[DecidedCase],
    *,
    export_filter: ExportFilter,
    service: str = "",
    settings: StatementSettings | None = None,
    simulated_items: frozenset[int] = frozenset(),
    min_cell: int = DEFAULT_MIN_CELL,
) -> TemplateTables:
    """Fill the quantitative template's child-safety rows for one period.

    Parameters
    ----------
    items : sequence of QueueItem
        Every queue item (:meth:`riskscore.ReviewQueue.items`); notices and alerts
        received in the period are counted.
    cases : sequence of DecidedCase
        Decisions made in the period (:func:`riskscore.regulatory.decided_cases`
        with the same filter); measures are counted per decision, as statements of
        reasons are.
    export_filter : ExportFilter
        Period, decision and band filters (applied to ``items`` here). A decision or band
        filter is named in the contextual information of every figure (``FILTERED export
        (...)``): the tables are then not the period's complete template.
    service : str
        Name of the service, written in each row.
    settings : StatementSettings, optional
        The restriction per outcome, so that the counts by type of restriction
        match the statements of reasons.
    simulated_items : frozenset of int, optional
        Items whose decision time was set by a simulation
        (:meth:`riskscore.ReviewQueue.simulated_items`): the median time to take action
        then says how many of its decisions are simulated.
    min_cell : int
        Disclosure control, as the transparency report's: the precision and the notices
        decided are withheld (``[c]``) when, with the report's totals, they would give back
        a count from 1 to ``min_cell - 1`` (:mod:`riskscore.regulatory.eu_automated_means`);
        0 or 1 withholds nothing.

    Returns
    -------
    TemplateTables
    """
    min_cell = check_min_cell(min_cell)
    s = settings or StatementSettings()
    f = export_filter
    lead = [service, period_text(f, items)]
    status = {i.item_id: f.status(i) for i in items}  # as in the transparency report
    kept = f.received(items)
    notices = [i for i in kept if i.kind == "user_report"]
    # Each restricting decision of the period is one measure, counted once, in the period
    # it was made (as its statement of reasons): on notices in section 4 (whenever the
    # notice came), else in section 5 or 6 by its ground. The three add up to the statements.
    restricting = [c for c in cases if c.outcome in RESTRICTING]
    own = [c for c in restricting if not c.reports]
    on_notices = [c for c in restricting if c.reports]
    # Precision is a figure of the automated means: over every alert received in the period
    # (in the bands kept) and decided by its end, whatever outcomes the decision filter
    # keeps (counted over the escalated ones only it would be 100% by construction).
    alerts = [i for i in items if i.kind == "alert" and f.in_period(i.received_time) and f.keeps(i)]
    decided = [i for i in alerts if status[i.item_id] != "open"]
    confirmed = sum(status[i.item_id] in RESTRICTING for i in decided)
    precision = None if not decided else round(confirmed / len(decided), 4)
    ci = wilson_interval(confirmed, len(decided))
    notices_decided = sum(status[i.item_id] != "open" for i in notices)
    # With the report's alerts raised and its outcome counts, the numerator and denominator
    # give back every outcome of these alerts; the notices decided give back those open.
    withheld = tuple(
        name
        for name, population, outcomes in (
            ("precision", alerts, ("open", "dismissed", *RESTRICTING)),
            ("notices_decided", notices, ("open",)),
        )
        if small_counts((status[i.item_id] for i in population), min_cell, names=outcomes)
    )
    long_header = ("Service", "Reporting period", *_LONG_COLUMNS)
    # section 7 (complaints, out-of-court disputes, suspensions) and section 9 (human
    # resources): not in the queue, left for the platform
    appeals = [
        [*lead, "Internal complaints mechanism", ind, "Total number", "", PLATFORM]
        for ind in _COMPLAINT_INDICATORS
    ]
    people = [
        [*lead, "Human resources", ind, "Total number", "", PLATFORM] for ind in _HR_INDICATORS
    ]
    tables = {
        "04_notices.csv": _notices_table(lead, notices, on_notices, s, simulated_items),
        **_own_initiative_tables(lead, own, s),
        "07_appeals_and_recidivism.csv": (long_header, appeals),
        "08_automated_means.csv": (
            long_header,
            automated_means_rows(
                lead,
                len(own),
                notices_decided,
                (confirmed, len(decided)),
                ci,
                filtered=f.outcomes is not None,
                withheld=withheld,
                min_cell=min_cell,
                simulated_note=_simulated_note(decided, simulated_items),
            ),
        ),
        "09_human_resources.csv": (long_header, people),
    }
    if "precision" in withheld:
        precision, ci = None, None
    return TemplateTables(_marked_filtered(tables, f), precision, ci, withheld)


def _marked_filtered(tables: dict[str, _Table], f: ExportFilter) -> dict[str, _Table]:
    """``tables`` with each filled figure's contextual information saying which decisions
    and bands the export kept, when a filter keeps some only: a reader of the file alone
    would take its counts for the period's complete figures."""
    kept = [
        f"{what} {', '.join(dict.fromkeys(names))}"
        for what, names in (("decisions", f.outcomes), ("age bands", f.bands))
        if names is not None
    ]
    if not kept:
        return tables
    note = f"; FILTERED export ({'; '.join(kept)} only): not the period's complete figures"
    out: dict[str, _Table] = {}
    for name, (header, rows) in tables.items():
        context = [k for k, c in enumerate(header) if c.lower().startswith("contextual")]
        marked = [list(row) for row in rows]
        for row in marked:
            for k in context:  # not the cells left to the platform: no figure of ours
                if row[k] and PLATFORM not in row[k]:
                    row[k] = f"{row[k]}{note}"
        out[name] = (header, marked)
    return out


_Table = tuple[tuple[str, ...], list[list[Any]]]


def _notices_table(
    lead: list[Any],
    notices: Sequence[QueueItem],
    on_notices: Sequence[DecidedCase],
    s: StatementSettings,
    simulated_items: frozenset[int],
) -> _Table:
    """Section 4: the notices received in the period, and the restricting decisions made in
    the period on cases with a notice (``on_notices``, whenever the notice came: a notice
    of one period decided in the next is an action of the next), by their ground as in
    sections 5 and 6; the same counts in each category's row."""
    acted = [i for c in on_notices for i in c.reports]
    hours = [(c.decided_at - i.received_time) / 3600 for c in on_notices for i in c.reports]
    median = "" if not hours else round(float(np.median(hours)))
    ground = [s.restrictions[c.outcome].decision_ground for c in on_notices]
    values = [
        len(notices),
        sum(i.child_id in s.trusted_flaggers for i in notices),
        len({conversation_key(i.conversation_id, i.adult_id, i.child_id) for i in notices}),
        median,
        ground.count("DECISION_GROUND_ILLEGAL_CONTENT"),
        ground.count("DECISION_GROUND_INCOMPATIBLE_CONTENT"),
    ]
    context = [
        "user reports (Article 16 notices) received in the period about accounts contacting "
        "children",
        "reporters the platform listed as trusted flaggers",
        "distinct conversations reported",
        "hours from receipt of a notice to the restricting decision on it made in the period, "
        "rounded to the nearest hour" + _simulated_note(acted, simulated_items),
        *(
            "restricting decisions made in the period on cases with a notice, on the ground "
            f"of {kind} content ({_outcomes_on(s, ground)}), one per decision on an account"
            for kind, ground in (
                ("illegal", "DECISION_GROUND_ILLEGAL_CONTENT"),
                ("incompatible", "DECISION_GROUND_INCOMPATIBLE_CONTENT"),
            )
        ),
    ]
    header = (
        "Service",
        "Reporting period",
        "Category of illegal content",
        *_NOTICE_COLUMNS,
        *(f"Contextual information on {c}" for c in _NOTICE_COLUMNS),
    )
    rows = [_total_row(lead, header)] + [
        [*lead, cat, *values, *context] for cat in CATEGORY_ROWS[1:]
    ]
    return header, rows


def _outcomes_on(s: StatementSettings, ground: str) -> str:
    """The restricting outcomes that ``s`` restricts on ``ground``, in words: ``escalated to
    law enforcement``, ``actioned under the terms`` (on incompatible content), both when a
    platform's settings give them one ground, or that none does."""
    words = {
        "actioned": "actioned"
        + (" under the terms" if ground == "DECISION_GROUND_INCOMPATIBLE_CONTENT" else ""),
        "escalated": "escalated to law enforcement",
    }
    chosen = [words[o] for o in RESTRICTING if s.restrictions[o].decision_ground == ground]
    return " and ".join(chosen) if chosen else "no outcome has this ground in the settings"


def _own_initiative_tables(
    lead: list[Any], own: Sequence[DecidedCase], s: StatementSettings
) -> dict[str, _Table]:
    """Sections 5 and 6: own-initiative measures by type of restriction, one file per
    decision ground."""
    header = (
        "Service",
        "Reporting period",
        "Category of illegal content",
        *_OWN_COLUMNS,
        f"Contextual Information on {_OWN_COLUMNS[0]}",
    )
    note = (
        "decisions by a moderator on cases raised by automated detection (no user report), "
        "one per decision on an account"
    )
    tables: dict[str, _Table] = {}
    for name, ground in (
        ("05_own_initiative_illegal.csv", "DECISION_GROUND_ILLEGAL_CONTENT"),
        ("06_own_initiative_TC.csv", "DECISION_GROUND_INCOMPATIBLE_CONTENT"),
    ):
        chosen = [c for c in own if s.restrictions[c.outcome].decision_ground == ground]
        counts = dict.fromkeys(_OWN_COLUMNS, 0)
        counts[_OWN_COLUMNS[0]] = len(chosen)
        for c in chosen:
            r = s.restrictions[c.outcome]
            for value in (r.decision_account, r.decision_provision, *r.decision_visibility):
                if value is not None:
                    counts[_RESTRICTION_COLUMNS[value]] += 1
        rows = [_total_row(lead, header)] + [
            [*lead, cat, *counts.values(), note] for cat in CATEGORY_ROWS[1:]
        ]
        tables[name] = (header, rows)
    return tables


def _simulated_note(items: Sequence[QueueItem], simulated: frozenset[int]) -> str:
    n = sum(i.item_id in simulated for i in items)
    if not n:
        return ""
    return f"; SIMULATED: {n} of {len(items)} decision times were set by a simulation, not measured"


def _total_row(lead: list[Any], header: Sequence[str]) -> list[Any]:
    """The ``TOTAL`` row of a table of ``header``: a cell for every column (a short row is
    a CSV that strict readers refuse), each blank but the first contextual column's, which
    says the platform fills them."""
    cells = [""] * (len(header) - len(lead) - 1)
    names = [name.lower() for name in header[len(lead) + 1 :]]
    cells[next(k for k, name in enumerate(names) if name.startswith("contextual"))] = (
        "all categories: " + PLATFORM
    )
    return [*lead, "TOTAL", *cells]


def write_templates(
    tables: TemplateTables,
    out_dir: str | Path,
    *,
    policy: AlertPolicy,
    service: str,
    export_filter: ExportFilter,
    items: Sequence[QueueItem] = (),
) -> dict[str, Path]:
    """Write the section CSVs, ``11_qualitative.csv`` and ``qualitative_draft.md``.

    Parameters
    ----------
    tables : TemplateTables
        From :func:`quantitative_template`.
    out_dir : str or Path
        Directory to write into (created when missing).
    policy : AlertPolicy
        The alert policy quoted in the qualitative draft.
    service : str
        Name of the service.
    export_filter : ExportFilter
        The period written in each row.
    items : sequence of QueueItem, optional
        Queue items, to date an open side of the period.

    Returns
    -------
    dict of str to Path
        Every file written, by name.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    fields = qualitative_fields(
        policy,
        tables.precision,
        tables.precision_ci95,
        withheld="precision" in tables.withheld,
    )
    period = period_text(export_filter, items)
    qualitative = [[service, period, name, text] for name, text in fields.items()]
    all_tables = {
        **tables.tables,
        "11_qualitative.csv": (("Service", "Reporting period", "Indicator", "Value"), qualitative),
    }
    for name, (header, rows) in all_tables.items():
        written[name] = write_csv_rows(out / name, header, rows)
    draft = out / "qualitative_draft.md"
    draft.write_text(qualitative_draft(fields, service=service, period=period), encoding="utf-8")
    written[draft.name] = draft
    return written
