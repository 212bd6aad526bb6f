"""``export_all``: statements of reasons, the 2024/2835 templates and NCMEC drafts in one call."""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from riskscore.exceptions import RiskscoreError
from riskscore.io.private import FILE_MODE
from riskscore.io.timestamps import iso_utc_z
from riskscore.keys import check_pseudonym_key
from riskscore.moderation import QueueItem, ReviewQueue
from riskscore.moderation.cases import begun, check_platform, closed_end
from riskscore.moderation.disclosure import DEFAULT_MIN_CELL
from riskscore.policy import AlertPolicy
from riskscore.regulatory._cases import DecidedCase, ExportFilter, decided_cases
from riskscore.regulatory.dsa import StatementSettings, statements_of_reasons, write_statements
from riskscore.regulatory.eu_templates import quantitative_template, write_templates
from riskscore.regulatory.ncmec import cybertipline_drafts, write_drafts

__all__ = ["ExportExistsError", "export_all"]

DSA_DIR = "dsa-statements"
TEMPLATE_DIR = "eu-2024-2835"
NCMEC_DIR = "ncmec-drafts"
#: Written in each export folder when some exported decision was made in simulation mode.
SIMULATED_NOTE = "SIMULATED.txt"


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
    min_cell: int = DEFAULT_MIN_CELL,
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
        The policy that raised the alerts, quoted in the qualitative draft; the queue's
        policy by default. Every age band of an exported decision's items must be one of
        its bands (else the draft would quote thresholds that raised none of them).
    as_of : int, optional
        The time of the export, epoch seconds (default: now). A period that ends after it
        has not ended: it is cut there (:func:`~riskscore.moderation.cases.closed_end`),
        and ``requested_end`` in the result keeps the end asked for.
    min_cell : int
        Disclosure control of the templates' figures that are not counts of statements of
        reasons, as the transparency report's ``min_cell``
        (:mod:`riskscore.regulatory.eu_automated_means`); 0 or 1 withholds nothing.

    Returns
    -------
    dict
        Counts (``statements``, ``restricting_decisions``, ``ncmec_drafts``,
        ``escalated_decisions``, ``precision``, ``decisions``: every decision the export
        covers, dismissed ones included, and ``simulated_decisions``: those of them whose
        time was set by a simulation, so dismissed ones too, which get no statement or
        draft), ``withheld``: the template figures disclosure control withheld, and
        ``files`` written.

    Raises
    ------
    ExportExistsError
        An output directory already exists (also a ``FileExistsError``).
    ValueError
        A band filter names no age band of the policy nor of any queued item, an exported
        decision's item is in an age band the policy does not have, ``min_cell`` is not a
        whole number >= 0, or the platform name is not one line of printable text (a
        ``QueueError``).
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
    policy = policy or queue.policy
    _check_band_filter(f, policy, items)
    cases = decided_cases(items, f)
    _check_quoted_policy(policy, cases)
    statements = statements_of_reasons(cases, key=key, settings=s)
    simulated = queue.simulated_items()
    tables = quantitative_template(
        items,
        cases,
        export_filter=f,
        service=platform,
        settings=s,
        simulated_items=simulated,
        min_cell=min_cell,
    )
    drafts = cybertipline_drafts(cases, platform=platform, simulated_items=simulated)
    n_simulated = sum(any(i.item_id in simulated for i in c.items) for c in cases)
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
                    policy=policy,
                    service=platform,
                    export_filter=f,
                    items=items,
                ),
            ),
            (NCMEC_DIR, write_drafts(drafts, staging / NCMEC_DIR)),
        ):
            if n_simulated:
                written[SIMULATED_NOTE] = _simulated_note(staging / sub, n_simulated, len(cases))
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
        "withheld": list(tables.withheld),
        "decisions": len(cases),
        "simulated_decisions": n_simulated,
        "files": sorted(files),
        "requested_end": (
            None if requested_end is None or requested_end == f.end else iso_utc_z(requested_end)
        ),
    }


def _simulated_note(folder: Path, n_simulated: int, n_decisions: int) -> Path:
    """Write :data:`SIMULATED_NOTE` in ``folder``: its files hold decisions made in
    simulation mode (the statements' own format has no field to say so)."""
    path = folder / SIMULATED_NOTE
    # readable by its owner only, as the drafts beside it (write_drafts)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    with open(fd, "w", encoding="utf-8") as file:
        file.write(
            f"SIMULATED: {n_simulated} of the {n_decisions} decisions exported here were made "
            "in simulation mode (their times set by a simulation, not by moderators' "
            "decisions). These files are for testing: never submit or publish them.\n"
        )
    return path


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


def _check_quoted_policy(policy: AlertPolicy, cases: list[DecidedCase]) -> None:
    """Refuse to quote ``policy`` for decisions on items it did not raise: an age band of an
    item that the policy does not have means another policy scored them."""
    known = {b.name for b in policy.all_bands}
    for case in cases:
        for item in case.items:
            if item.age_band not in known:
                raise ValueError(
                    f"item {item.item_id} of an exported decision is in age band "
                    f"{item.age_band!r}, which the policy quoted in the qualitative draft "
                    f"does not have (its bands: {', '.join(map(repr, sorted(known)))}): pass "
                    "the policy that scored the queue (--policy FILE)"
                )
