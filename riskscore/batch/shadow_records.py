"""The records of a shadow run's files read back, and the check that they are of one run.

:func:`~riskscore.batch.shadow.read_shadow_run` reads the production scores, the
production and shadow alerts and ``shadow.json`` of a run: :func:`check_one_run` refuses
files that were not written together (an alerts file of another run, a scores file of
other events), which ``riskscore compare --shadow-run`` would otherwise count as alerts
gained and lost.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from riskscore.exceptions import SchemaError
from riskscore.io.pair_ids import conversation_aliases
from riskscore.io.raw import show, shown
from riskscore.io.shown_ids import shown_id
from riskscore.policy import alert_changes

__all__ = ["RecordAccounts", "check_one_run"]


@dataclass(frozen=True, slots=True)
class RecordAccounts:
    """The conversation and its two accounts of each record of scores or alerts files, in
    file order (a conversation of several records is listed once per record)."""

    conversation_id: list[Any]
    adult_id: list[Any]
    child_id: list[Any]

    def __add__(self, other: RecordAccounts) -> RecordAccounts:
        return RecordAccounts(
            self.conversation_id + other.conversation_id,
            self.adult_id + other.adult_id,
            self.child_id + other.child_id,
        )

    def named_as(self, other: RecordAccounts) -> list[Any]:
        """These records' conversation ids, each as ``other`` names the same two accounts'
        conversation where it uses another of its ids: a room's id online, its pair's id in
        batch (:func:`~riskscore.io.pair_ids.conversation_aliases`)."""
        known: dict[Any, set[frozenset[Any]]] = {}
        for cid, *pair in zip(other.conversation_id, other.adult_id, other.child_id, strict=True):
            known.setdefault(cid, set()).add(frozenset(pair))
        out = []
        for cid, *pair in zip(self.conversation_id, self.adult_id, self.child_id, strict=True):
            aliases = () if cid in known else conversation_aliases(cid, *pair)
            out.append(next((a for a in aliases if frozenset(pair) in known.get(a, ())), cid))
        return out


def check_one_run(
    summary_path: Path,
    summary: Mapping[str, Any],
    paths: tuple[Path, Path, Path],
    files: tuple[RecordAccounts, RecordAccounts, RecordAccounts],
    ids: tuple[list[Any], list[Any], list[Any]],
) -> None:
    """Refuse a shadow run's files that were not written together.

    Parameters
    ----------
    summary_path : Path
        ``shadow.json``, whose counts are checked.
    summary : mapping
        Its content.
    paths : (Path, Path, Path)
        The production scores, production alerts and shadow alerts files.
    files : (RecordAccounts, RecordAccounts, RecordAccounts)
        Their records as read.
    ids : (list, list, list)
        Their conversation ids as the review queue files them (in record order).

    Raises
    ------
    SchemaError
        An alert whose conversation is not among the scored ones, or whose accounts are
        not those the scores file gives it (naming the file and the conversation), or a
        count of ``shadow.json`` (conversations, alerts, alerts gained and lost) that the
        files disagree with (naming the key, both numbers and the file).
    """
    scored: dict[Any, set[frozenset[str]]] = {}
    for cid, adult, child in zip(ids[0], files[0].adult_id, files[0].child_id, strict=True):
        scored.setdefault(cid, set()).add(frozenset((str(adult), str(child))))
    hint = (
        "the files are not of one run (a file replaced or copied from another); score the "
        "events again with `riskscore score EVENTS --out DIR --shadow-model BUNDLE`"
    )
    for path, records, alerted in zip(paths[1:], files[1:], ids[1:], strict=True):
        for cid, adult, child in zip(alerted, records.adult_id, records.child_id, strict=True):
            pair = frozenset((str(adult), str(child)))
            if cid not in scored:
                raise SchemaError(
                    f"{path}: the alert of conversation {shown_id(cid)} is not among the "
                    f"{len(scored):,} conversations scored in {paths[0]}: {hint}"
                )
            if pair not in scored[cid]:
                raise SchemaError(
                    f"{path}: the alert of conversation {shown_id(cid)} is between "
                    f"{' and '.join(sorted(pair))}, the scores in {paths[0]} between other "
                    f"accounts ({' and '.join(sorted(next(iter(scored[cid]))))}): {hint}"
                )
    gained, lost = alert_changes(ids[1], ids[2])
    found = {
        "conversations": len(scored),
        "production.alerts": len(ids[1]),
        "shadow.alerts": len(ids[2]),
        "alerts_gained": len(gained),
        "alerts_lost": len(lost),
    }
    for key, count in found.items():
        *side, name = key.split(".")
        stated = summary[side[0]] if side else summary
        stated = stated.get(name) if isinstance(stated, Mapping) else None
        if stated is not None and stated != count:
            raise SchemaError(
                f"{summary_path}: {key!r} is {show(shown(name, stated))}, the files of the "
                f"run give {count:,}: {hint}"
            )
