"""``export_all``: statements of reasons, the 2024/2835 templates and NCMEC drafts in one call."""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from riskscore.exceptions import RiskscoreError
from riskscore.io.timestamps import iso_utc_z
from riskscore.keys import check_pseudonym_key
from riskscore.moderation import QueueItem, ReviewQueue
from riskscore.moderation.cases import begun, check_platform, closed_end
from riskscore.policy import AlertPolicy
from riskscore.regulatory._cases import ExportFilter, decided_cases
from riskscore.regulatory.dsa import StatementSettings, statements_of_reasons, write_statements
from riskscore.regulatory.eu_templates import quantitative_template, write_templates
from riskscore.regulatory.ncmec import cybertipline_drafts, write_drafts

__all__ = ["ExportExistsError", "export_all"]

DSA_DIR = "dsa-statements"
TEMPLATE_DIR = "eu-2024-2835"
NCMEC_DIR = "ncmec-drafts"


class ExportExistsError(RiskscoreError, FileExistsError):
    """An export would overwrite earlier output (exports are never overwritten)."""


def export_all(
    queue: ReviewQueue,
    out_dir: str | Path,
    *,
    key: bytes | str,
    export_filter: ExportFilter | None = None,
    platform: str = "",
    settings: StatementSettings | None = None,
    policy: AlertPolicy | None = None,
    as_of: int | None = None,
) -> dict[str, Any]:
    """Write every regulatory output for one period under ``out_dir``.

    Parameters
    ----------
    queue : ReviewQueue
        The review queue with its decisions.
    out_dir : str or Path
        Gets ``dsa-statements/``, ``eu-2024-2835/`` and ``ncmec-drafts/``; it must
        not hold earlier exports (nothing is overwritten). They are written in a staging
        folder inside ``out_dir`` and moved into place once all are complete: an export
        that fails leaves none of them.
    key : bytes or str
        Pseudonymisation key (HMAC), as for the transparency report; checked by
        :func:`riskscore.keys.check_pseudonym_key` before anything is written (a key
        printed in the documentation only for a simulated queue).
    export_filter : ExportFilter, optional
        Period, decision and band filters.
    platform : str
        Platform or service name: empty, or one line of printable text of at most 128
        characters (:func:`~riskscore.moderation.cases.check_platform`).
    settings : StatementSettings, optional
        Restrictions and grounds per outcome (statements and templates).
    policy : AlertPolicy, optional
        Quoted in the qualitative draft; the queue's policy by default.
    as_of : int, optional
        The time of the export, epoch seconds (default: now). A period that ends after it
        has not ended: it is cut there (:func:`~riskscore.moderation.cases.closed_end`),
        and ``requested_end`` in the result keeps the end asked for.

    Returns
    -------
    dict
        Counts (``statements``, ``restricting_decisions``, ``ncmec_drafts``,
        ``escalated_decisions``, ``precision``, ``decisions``: every decision the export
        covers, dismissed ones included, and ``simulated_decisions``: those of them whose
        time was set by a simulation, so dismissed ones too, which get no statement or
        draft) and ``files`` written.

    Raises
    ------
    ExportExistsError
        An output directory already exists (also a ``FileExistsError``).
    ValueError
        A band filter names no age band of the policy nor of any queued item, or the
        platform name is not one line of printable text (a ``QueueError``).
    """
    platform = check_platform(platform)
    key = check_pseudonym_key(key, synthetic=queue.simulated, source="the pseudonymisation key")
    out = Path(out_dir)
    for name in (DSA_DIR, TEMPLATE_DIR, NCMEC_DIR):
        if os.path.lexists(out / name):  # a link to nothing too: the move would fail
            raise _exists(out / name)
    f = export_filter or ExportFilter()
    requested_end = f.end
    if f.end is not None:  # a period not yet ended is cut at the time of the export
        f = dataclasses.replace(f, end=closed_end(f.start, f.end, as_of))
    else:  # a --from after the time of the export is refused, with or without --to
        begun(f.start, as_of)
    s = settings or StatementSettings()
    items = queue.items(received=True)  # placed in a period as by the transparency report
    _check_band_filter(f, policy or queue.policy, items)
    cases = decided_cases(items, f)
    statements = statements_of_reasons(cases, key=key, settings=s)
    simulated = queue.simulated_items()
    tables = quantitative_template(
        items, cases, export_filter=f, service=platform, settings=s, simulated_items=simulated
    )
    drafts = cybertipline_drafts(cases, platform=platform)
    # Written in a staging folder beside the outputs and moved into place at the end, so
    # that a failure part-way (a full disk, a bad value) leaves no partial export behind
    # to block the next run.
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".riskscore-export-", dir=out))
    files: dict[str, Path] = {}
    try:
        for sub, written in (
            (DSA_DIR, write_statements(statements, staging / DSA_DIR)),
            (
                TEMPLATE_DIR,
                write_templates(
                    tables,
                    staging / TEMPLATE_DIR,
                    policy=policy or queue.policy,
                    service=platform,
                    export_filter=f,
                    items=items,
                ),
            ),
            (NCMEC_DIR, write_drafts(drafts, staging / NCMEC_DIR)),
        ):
            files.update(
                {f"{sub}/{name}": out / path.relative_to(staging) for name, path in written.items()}
            )
        _move_all(staging, out, (DSA_DIR, TEMPLATE_DIR, NCMEC_DIR))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return {
        "out": str(out),
        "restricting_decisions": sum(c.outcome in ("actioned", "escalated") for c in cases),
        "statements": len(statements),
        "escalated_decisions": sum(c.outcome == "escalated" for c in cases),
        "ncmec_drafts": len(drafts),
        "precision": tables.precision,
        "precision_ci95": tables.precision_ci95,
        "decisions": len(cases),
        "simulated_decisions": sum(any(i.item_id in simulated for i in c.items) for c in cases),
        "files": sorted(files),
        "requested_end": (
            None if requested_end is None or requested_end == f.end else iso_utc_z(requested_end)
        ),
    }


def _exists(path: Path) -> ExportExistsError:
    return ExportExistsError(f"{path} exists; choose a new --out directory")


def _move_all(staging: Path, out: Path, subs: tuple[str, ...]) -> None:
    """Move the folders ``subs`` from ``staging`` into ``out``, all or none: a move that
    fails (a folder another export made since the check) takes back those already made."""
    moved: list[str] = []
    try:
        for sub in subs:
            (staging / sub).rename(out / sub)
            moved.append(sub)
    except OSError:
        for sub in reversed(moved):
            (out / sub).rename(staging / sub)
        failed = out / subs[len(moved)]
        if os.path.lexists(failed):
            raise _exists(failed) from None
        raise


def _check_band_filter(f: ExportFilter, policy: AlertPolicy, items: list[QueueItem]) -> None:
    """Refuse a band filter that names no band of the policy nor of a queued item."""
    known = [b.name for b in policy.all_bands]
    known += sorted({i.age_band for i in items} - set(known))
    for band in f.bands or ():
        if band not in known:
            raise ValueError(
                f"band filter {band!r} is not an age band of the policy or the queue; "
                f"the bands are {', '.join(map(repr, known))}"
            )
