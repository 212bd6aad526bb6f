"""Markdown, HTML and PNG renderings of a transparency report (private to ``transparency``)."""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from riskscore._optional import import_extra
from riskscore._words import plural
from riskscore.io.markdown import markdown_row, markdown_text
from riskscore.model.drift import MAJOR_SHIFT, MODERATE_SHIFT, SHIFT_HEADER, shift_rows
from riskscore.moderation.disclosure import SUPPRESSED
from riskscore.moderation.item_history import CHANNEL_NOTES
from riskscore.moderation.report_notes import (
    SIMULATION_MARKS,
    cut_period_text,
    disclosure_note,
    received_note,
    simulation_banner,
)
from riskscore.moderation.report_notes import (
    count_text as _n,
)

__all__ = [
    "CHART_FILES",
    "MAX_CHART_LABEL",
    "OUTCOMES",
    "chart_label",
    "render_html",
    "render_markdown",
    "write_charts",
]

#: The PNG charts :func:`write_charts` writes, in order.
CHART_FILES = ("volume.png", "outcomes.png", "time_to_decision.png")

#: Outcome keys of the report, in the order of its JSON and its tables.
OUTCOMES = ("actioned", "dismissed", "escalated", "open")
#: Longest band or channel name a chart writes under its bars; longer ones are cut in the
#: middle (the tables give them in full).
MAX_CHART_LABEL = 24


def _mark(d: dict[str, Any]) -> str:
    """A suffix for titles of figures drawn from decisions: "" when measured."""
    return (
        f" ({SIMULATION_MARKS[d['simulation']['decision_times']].lower()})"
        if d["simulated"]
        else ""
    )


def chart_label(name: str) -> str:
    """``name`` as a chart writes it under a bar: as given up to :data:`MAX_CHART_LABEL`
    characters, else its start and end around an ellipsis, so that a long name (an age band
    may have 64 characters) leaves the chart laid out and the names stay told apart by
    either end.

    Examples
    --------
    >>> chart_label("13-15"), chart_label("band for children aged thirteen to fifteen")
    ('13-15', 'band for chi… to fifteen')
    """
    if len(name) <= MAX_CHART_LABEL:
        return name
    head = (MAX_CHART_LABEL - 1) // 2 + 1
    return f"{name[:head]}…{name[-(MAX_CHART_LABEL - 1 - head) :]}"


def _withheld(d: dict[str, Any]) -> set[tuple[str, ...]]:
    """The paths of the figures disclosure control withheld."""
    return {tuple(p) for p in d["disclosure_control"]["suppressed"]}


def _fmt(value: Any, pct: bool = False, withheld: bool = False) -> str:
    if withheld:
        return SUPPRESSED
    if value is None:
        return "n/a"
    if pct:
        return f"{100 * value:.1f}%"
    return f"{value:g}" if isinstance(value, float) else str(value)


_Table = tuple[str, list[str], list[list[str]], str]


def _tables(d: dict[str, Any]) -> list[_Table]:
    """(title, header, rows, note) of every table of the report."""
    drift = d.get("drift")
    return [
        *_outcome_tables(d),
        _times_table(d),
        _automated_table(d),
        _cases_table(d["cases"]),
        *([] if drift is None else [_drift_table(drift)]),
    ]


def _outcome_tables(d: dict[str, Any]) -> list[_Table]:
    """How alerts and user reports were dealt with, in all and by tier, age band and
    channel."""
    out: list[_Table] = []
    alerts_total = [d[o] for o in OUTCOMES]
    reports_total = [d["user_report_outcomes"][o] for o in OUTCOMES]
    out.append(
        (
            "How they were dealt with",
            ["source", "received", "actioned", "dismissed", "escalated to law enforcement", "open"],
            [
                ["automated detection (alerts)", _n(d["alerts_raised"]), *map(_n, alerts_total)],
                ["user reports", _n(d["user_reports"]), *map(_n, reports_total)],
            ],
            "Open means not yet decided at the end of the period.",
        )
    )
    out.append(
        (
            "Alerts by tier",
            ["tier", "alerts", *OUTCOMES],
            [[t, _n(v["alerts"]), *(_n(v[o]) for o in OUTCOMES)] for t, v in d["by_tier"].items()],
            "",
        )
    )
    for key, title, label in (
        ("by_age_band", "By the child's age band", "age band"),
        ("by_channel", "By channel", "channel"),
    ):
        out.append(
            (
                title,
                [label, "alerts", "user reports"],
                [[k, _n(v["alerts"]), _n(v["user_reports"])] for k, v in d[key].items()],
                "User reports are banded by the reporter's age."
                if key == "by_age_band"
                else CHANNEL_NOTES[bool(d.get("channels_at_period_end", True))],
            )
        )
    return out


def _times_table(d: dict[str, Any]) -> _Table:
    """Hours to first review and to decision, by source, simulated times counted."""
    rows = []
    for key, name in (
        ("time_to_first_review_hours", "first review"),
        ("time_to_decision_hours", "decision"),
    ):
        for source, t in d[key].items():
            rows.append(
                [
                    name,
                    source.replace("_", " "),
                    _n(t["n"]),
                    _n(t["n_simulated"]),
                    _fmt(t["median"]),
                    _fmt(t["p90"]),
                ]
            )
    banner = simulation_banner(d)
    return (
        "Time to first review and to decision (hours)" + _mark(d),
        ["to", "source", "n", "of which simulated", "median", "90th percentile"],
        rows,
        "Counted over the items received in the period, reviewed or decided by its end."
        + (f" {banner}" if banner else ""),
    )


def _automated_table(d: dict[str, Any]) -> _Table:
    """Automated detection's share of items and actions, and its precision measured from
    decisions (withheld figures marked)."""
    hidden = _withheld(d)
    banner = simulation_banner(d)
    a = d["automated_detection"]
    ci = a["precision_ci95"]

    def ratio(*path: str) -> str:
        value: Any = a
        for key in path:
            value = value[key]
        return _fmt(value, True, ("automated_detection", *path) in hidden)

    return (
        "Automated detection" + _mark(d),
        ["measure", "value"],
        [
            ["share of items from automated detection", ratio("share_of_items")],
            [
                "share of actioned or escalated items that are alerts",
                ratio("share_of_actions"),
            ],
            ["alerts decided", _n(a["decided"])],
            ["alerts confirmed (actioned or escalated)", _n(a["confirmed"])],
            [
                "precision measured from decisions",
                ratio("precision")
                + ("" if ci is None else f" (95% CI {100 * ci[0]:.1f}-{100 * ci[1]:.1f}%)"),
            ],
            *[
                [f"precision, {tier} tier", ratio("precision_by_tier", tier)]
                for tier in a["precision_by_tier"]
            ],
        ],
        "Precision = confirmed / decided alerts. Shares count items (a decision on an alert and "
        "a user report counts twice). Alerts never raised are not measured here: recall needs "
        "labelled data (see riskscore policy check)." + (f" {banner}" if banner else ""),
    )


def _cases_table(c: dict[str, Any]) -> _Table:
    """Adult accounts reviewed, and escalated cases that concern several children."""
    return (
        "Cases (one per adult account)",
        ["measure", "value"],
        [
            ["accounts reviewed", str(c["accounts_reviewed"])],
            ["accounts concerning several children", str(c["accounts_with_several_children"])],
            *[
                [
                    f"escalated case {x['case']}",
                    f"{plural(x['children'], 'child', 'children')}, "
                    f"{plural(x['conversations'], 'conversation')}",
                ]
                for x in c["escalated_multi_child_cases"]
            ],
        ],
        "Accounts reviewed: adult accounts of the period's alerts and user reports that a "
        "moderator had opened or decided by the end of the period. Account ids are "
        "pseudonymised (HMAC-SHA256 under a key the platform keeps).",
    )


def _drift_table(drift: dict[str, Any]) -> _Table:
    """The population stability of the model's inputs and score against its reference."""
    return (
        "Drift of the model's inputs and score",
        list(SHIFT_HEADER),
        shift_rows(drift["shifts"]),
        f"{_drift_summary(drift)} Population stability index over the reference's "
        f"decile bins and a bin for unknown values: up to {MODERATE_SHIFT} stable, "
        f"above {MODERATE_SHIFT} moderate, above {MAJOR_SHIFT} a major shift, which "
        "flags the period (the model's thresholds and precision were measured on "
        "other data). Reference: the distributions stored with the model, "
        f"{plural(drift['n_reference'], 'conversation')}; this period: "
        f"{plural(drift['n_current'], 'conversation')}.",
    )


def _drift_summary(drift: dict[str, Any]) -> str:
    """One sentence on the drift section: flagged or not, and what."""
    if not drift.get("enough", True):  # too few conversations for a verdict (DriftReport)
        return str(drift["verdict"])
    major = [s["name"] for s in drift["shifts"] if s["level"] == "major"]
    if not major:
        return "No major shift this period."
    return f"Drift flagged: {plural(len(major), 'major shift')} ({', '.join(major)})."


def _header(d: dict[str, Any], text: Callable[[str], str] = str) -> tuple[str, str]:
    """The title and period lines; ``text`` writes the operator's platform name as text of
    the output format (Markdown escapes it, HTML escapes the whole title later)."""
    platform = d["platform"]
    title = "Child-safety transparency report" + (f": {text(platform)}" if platform else "")
    period = f"Period: {d['period']['start']} to {d['period']['end']} (UTC, end excluded)."
    return title, f"{period}{_cut_note(d['period'])} {received_note(d)}"


def _cut_note(period: dict[str, Any]) -> str:
    """What a period cut at the time of the report says (nothing for a closed period)."""
    requested = period.get("requested_end")
    if requested is None:
        return ""
    return f" {cut_period_text('The period asked for', requested, 'this report')}."


def _md_n(value: int | None) -> str:
    return markdown_text(_n(value))


def render_markdown(d: dict[str, Any], charts: Sequence[str]) -> str:
    """The report as Markdown."""
    title, period = _header(d, markdown_text)
    banner = simulation_banner(d)
    lines = [
        f"# {title}",
        "",
        period,
        "",
        *([f"> **{banner.replace(':', ':**', 1)}", ""] if banner else []),
        f"- **Alerts raised** by automated detection: {_md_n(d['alerts_raised'])}",
        f"- **User reports** received: {_md_n(d['user_reports'])} "
        f"({_md_n(d['user_reports_from_children'])} from children)",
        f"- Alerts **actioned** {_md_n(d['actioned'])}, **dismissed** {_md_n(d['dismissed'])}, "
        f"**escalated** to law enforcement {_md_n(d['escalated'])}, **open** {_md_n(d['open'])}",
        "",
        markdown_text(disclosure_note(d)),
    ]
    if d.get("drift") is not None:
        lines.append(f"- **Model drift**: {_drift_summary(d['drift'])}")
    lines.append("")
    for heading, header, rows, note in _tables(d):
        lines += [f"## {heading}", "", markdown_row(header)]
        lines.append("|" + "|".join("---" for _ in header) + "|")
        lines += [markdown_row(map(markdown_text, r)) for r in rows]
        lines += ["", note, ""] if note else [""]
    if charts:
        lines += ["## Charts", ""]
        lines += [f"![{name[:-4].replace('_', ' ')}{_mark(d)}]({name})" for name in charts]
        lines.append("")
    lines += [
        "Field names follow the EU Digital Services Act, Article 15, and Ofcom's codes; "
        "see docs/transparency.md. All counts are of metadata-only signals reviewed by people.",
        "",
    ]
    return "\n".join(lines)


def render_html(d: dict[str, Any], charts: Sequence[str]) -> str:
    """The report as a self-contained HTML page (charts linked as PNG files)."""
    esc = html.escape
    title, period = _header(d)
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{esc(title)}</title>",
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}"
        "table{border-collapse:collapse}"
        # a name or id without a space breaks in its cell, not past the page
        "td,th{border:1px solid #999;padding:.2em .6em;overflow-wrap:anywhere}"
        "td{text-align:right}td:first-child{text-align:left}</style></head><body>",
        f"<h1>{esc(title)}</h1><p>{esc(period)}</p>",
        *(
            [
                "<p style='border:3px solid #b00;padding:.5em'><b>"
                + esc(simulation_banner(d)).replace(":", ":</b>", 1)
                + "</p>"
            ]
            if d["simulated"]
            else []
        ),
        f"<p>Alerts raised: <b>{_n(d['alerts_raised'])}</b>; user reports received: "
        f"<b>{_n(d['user_reports'])}</b>. Alerts actioned {_n(d['actioned'])}, dismissed "
        f"{_n(d['dismissed'])}, escalated {_n(d['escalated'])}, open {_n(d['open'])}.</p>",
        f"<p><small>{esc(disclosure_note(d))}</small></p>",
    ]
    if d.get("drift") is not None:
        parts.append(f"<p>Model drift: {esc(_drift_summary(d['drift']))}</p>")
    for heading, header, rows, note in _tables(d):
        parts.append(f"<h2>{esc(heading)}</h2><table><tr>")
        parts += [f"<th>{esc(h)}</th>" for h in header]
        parts.append("</tr>")
        for r in rows:
            parts.append("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>")
        parts.append("</table>")
        if note:
            parts.append(f"<p><small>{esc(note)}</small></p>")
    for name in charts:
        alt = esc(name[:-4].replace("_", " ") + _mark(d))
        parts.append(f"<p><img src='{esc(name)}' alt='{alt}' width='720'></p>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def write_charts(d: dict[str, Any], out: Path) -> list[str]:
    """Write the PNG charts into ``out``; return their file names.

    Needs the extra ``riskscore-metadata[plots]``. Figures are built with
    :class:`matplotlib.figure.Figure`, never through ``pyplot``: no global backend is
    switched in the caller's process.
    """
    figure = import_extra("matplotlib.figure", "plots", needed_by="plotting")
    ticker = import_extra("matplotlib.ticker", "plots", needed_by="plotting")
    charts = (_volume_chart, _outcome_chart, _timing_chart)
    for name, chart in zip(CHART_FILES, charts, strict=True):
        chart(d, out / name, figure, ticker)
    return list(CHART_FILES)


def _volume_chart(d: dict[str, Any], path: Path, figure: Any, ticker: Any) -> None:
    """Alerts raised and user reports received, by tier, child age band and channel."""
    fig = figure.Figure(figsize=(13, 4))
    axes = fig.subplots(1, 3)
    panels = (
        (
            "by tier",
            {
                **{k: {"alerts": v["alerts"], "user_reports": 0} for k, v in d["by_tier"].items()},
                "user report": {"alerts": 0, "user_reports": d["user_reports"]},
            },
        ),
        ("by child age band", d["by_age_band"]),
        ("by channel", d["by_channel"]),
    )
    for ax, (title, table) in zip(axes, panels, strict=True):
        labels = list(table)
        for shift, column, name in (
            (-0.2, "alerts", "alerts"),
            (0.2, "user_reports", "user reports"),
        ):
            counts = [table[k][column] for k in labels]
            ax.bar(
                [i + shift for i in range(len(labels))], [c or 0 for c in counts], 0.4, label=name
            )
            for i, c in enumerate(counts):  # a withheld count: no bar, its mark
                if c is None:
                    ax.text(i + shift, 0, SUPPRESSED, ha="center", va="bottom", fontsize=7)
        x = range(len(labels))
        # band and channel names as written: a "$" would start mathtext (and can fail)
        ax.set_xticks(
            list(x), [chart_label(k) for k in labels], rotation=30, ha="right", parse_math=False
        )
        ax.set_title(title)
        ax.yaxis.set_major_locator(ticker.MaxNLocator(integer=True))  # counts: no 1.25
    axes[0].set_ylabel("count")
    axes[0].legend()
    fig.suptitle("Alerts raised and user reports received" + _mark(d))
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def _outcome_chart(d: dict[str, Any], path: Path, figure: Any, ticker: Any) -> None:
    """How alerts and user reports were dealt with (withheld counts hatched)."""
    fig = figure.Figure(figsize=(8, 3))
    ax = fig.subplots()
    sources = {
        "automated detection": [d[o] for o in OUTCOMES],
        "user reports": [d["user_report_outcomes"][o] for o in OUTCOMES],
    }
    colours = ("#d95f02", "#7570b3", "#e7298a", "#bbbbbb")
    totals = (d["alerts_raised"], d["user_reports"])
    for row, (_name, counts) in enumerate(sources.items()):
        left = 0
        for outcome, count, colour in zip(OUTCOMES, counts, colours, strict=True):
            if count is not None:
                ax.barh(row, count, left=left, color=colour, label=outcome if row == 0 else None)
                left += count
        if None in counts and totals[row] is not None:  # the withheld ones together, as
            # the published total less the published outcomes (nothing a reader cannot add up)
            ax.barh(
                row, totals[row] - left, left=left, color="white", edgecolor="#666666",
                hatch="//", label=f"withheld ({SUPPRESSED})",
            )  # fmt: skip
    ax.set_yticks([0, 1], list(sources))
    ax.set_xlabel("items")
    ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    ax.set_title("How they were dealt with" + _mark(d))
    if ax.get_legend_handles_labels()[0]:  # none when every figure is withheld
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def _timing_chart(d: dict[str, Any], path: Path, figure: Any, ticker: Any) -> None:
    """Median and 90th-percentile time to first review and to decision."""
    fig = figure.Figure(figsize=(7, 3))
    ax = fig.subplots()
    rows = [
        ("first review", d["time_to_first_review_hours"]["all"]),
        ("decision", d["time_to_decision_hours"]["all"]),
    ]
    for i, (_label, t) in enumerate(rows):
        if t["median"] is not None:
            ax.barh(i + 0.2, t["median"], 0.4, color="#1b9e77", label="median" if i == 0 else None)
            ax.barh(
                i - 0.2, t["p90"], 0.4, color="#666666", label="90th percentile" if i == 0 else None
            )
    ax.set_yticks([0, 1], [r[0] for r in rows])
    ax.set_xlabel("hours after the alert or report")
    ax.set_title("Time to first review and to decision" + _mark(d))
    if d["simulated"]:
        ax.text(
            0.5,
            0.5,
            SIMULATION_MARKS[d["simulation"]["decision_times"]],
            transform=ax.transAxes,
            ha="center",
            va="center",
            fontsize=28,
            color="#b00000",
            alpha=0.25,
            rotation=15,
        )
    if ax.get_legend_handles_labels()[0]:  # none without a review (matplotlib would warn)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
