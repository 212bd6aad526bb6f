"""The ``riskscore accounts`` job: the per-account features file of a full history.

A plain function, callable from code: read every event a platform has (group rooms split
into pairs, broadcasts set aside, as ``score`` reads them), count the per-account tallies
and the pair facts (:func:`riskscore.extract_account_features`) and write them with the
history's time range (:func:`riskscore.write_account_features`). Scoring a part of that
history with the file (``riskscore score PART --accounts FILE``) gives each conversation
the scores it has within the whole.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import pyarrow as pa

from riskscore.batch.score import QuarantineFile, Step, _no_progress, read_events
from riskscore.exceptions import SchemaError
from riskscore.features import AccountFeatures, extract_account_features, write_account_features
from riskscore.features.account_file import ACCOUNT_FILE_METADATA_KEY, account_file_path
from riskscore.features.batch import read_room_limit
from riskscore.io.files import real_path
from riskscore.io.groups import DEFAULT_MAX_ROOM_MEMBERS
from riskscore.io.schema import MAX_JSON_LINE_LENGTH
from riskscore.io.staging import staged_outputs
from riskscore.io.summaries import GroupSummary
from riskscore.io.text import parquet_file
from riskscore.io.timestamps import DEFAULT_READ_MAX_FUTURE_S

__all__ = ["AccountsResult", "account_features_file"]


@dataclass(frozen=True, slots=True)
class AccountsResult:
    """What :func:`account_features_file` produced."""

    accounts: AccountFeatures
    path: Path
    n_conversations: int
    n_quarantined: int
    #: ``<out stem>.quarantine.jsonl`` beside the output when rows were set aside, else None.
    quarantine_path: Path | None = None
    #: Rows set aside per reason (``"column: reason"``), most frequent first.
    quarantine_counts: dict[str, int] = field(default_factory=dict)
    #: Columns of the input that are not schema v1 columns (never read).
    unread_columns: tuple[str, ...] = ()
    #: Group rooms split into pairs and broadcasts set aside (``score`` reports them too).
    groups: GroupSummary = field(default_factory=GroupSummary)


def account_features_file(
    events: object,
    out: str | os.PathLike[str],
    *,
    errors: str = "raise",
    progress: Step = _no_progress,
    max_room_members: int = DEFAULT_MAX_ROOM_MEMBERS,
    now: float | None = None,
    max_future_s: float = DEFAULT_READ_MAX_FUTURE_S,
) -> AccountsResult:
    """Count the per-account tallies of a full history and write them to ``out``.

    Parameters
    ----------
    events : path or anything :func:`riskscore.read_messages` reads
        Every event of the history (schema v1).
    out : str or path-like
        The ``.parquet`` file to write (format: :mod:`riskscore.features.account_file`).
    errors : {"raise", "quarantine"}, default "raise"
        Refuse bad rows, or set them aside in ``<out stem>.quarantine.jsonl`` beside
        ``out`` (use the same choice when scoring parts of the history).
    progress : callable, optional
        Called with the name of each step (``"read"``, ``"count"``, ``"write"``).
    max_room_members : int, default 20
        Rooms above this many accounts are broadcasts, set aside and not counted
        (:mod:`riskscore.io.groups`); use the value the parts are scored with. It is
        recorded in the file (not for a :class:`riskscore.MessageTable`, read with a
        limit it does not record).
    now : float, optional
        Reference time of the future limit, epoch seconds (default: the wall clock when
        reading starts); see :func:`riskscore.read_messages`.
    max_future_s : float, default DEFAULT_READ_MAX_FUTURE_S (five years)
        Events dated more than this after ``now`` are bad rows; ``math.inf`` lifts the
        limit (see :func:`riskscore.read_messages`).

    Returns
    -------
    AccountsResult

    Examples
    --------
    >>> import tempfile
    >>> import riskscore as rs
    >>> data = rs.synthetic.generate(300, prevalence=0.05, seed=3)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     result = account_features_file(data.messages, f"{tmp}/accounts.parquet")
    ...     result.path.name, result.accounts.n_events == len(data.messages)
    ('accounts.parquet', True)
    """
    path = account_file_path(out)  # checked before any reading
    quarantine = path.with_name(f"{path.stem}.quarantine.jsonl")
    _check_outputs(events, path, quarantine)
    # Staged beside ``out``: a failed run leaves the earlier file and no quarantine of its
    # own beside it; a clean run removes the quarantine file of an earlier one.
    with staged_outputs(path.parent, owned=[quarantine.name], named=path, private=True) as stage:
        progress("read")
        messages, quarantine_path, counts = read_events(
            events,
            errors=errors,
            quarantine=QuarantineFile.staged(stage, quarantine.name),
            max_room_members=max_room_members,
            now=now,
            max_future_s=max_future_s,
        )
        progress("count")
        # the broadcast limit travels with the tallies (scoring with another is refused)
        limit = read_room_limit(events, max_room_members)
        accounts = replace(extract_account_features(messages), max_room_members=limit)
        progress("write")
        write_account_features(accounts, stage(path.name))
    return AccountsResult(
        accounts=accounts,
        path=path,
        n_conversations=messages.n_conversations,
        n_quarantined=len(messages.quarantined),
        quarantine_path=None if quarantine_path is None else quarantine,
        quarantine_counts=counts,
        unread_columns=messages.unread_columns,
        groups=messages.groups,
    )


def _check_outputs(events: object, path: Path, quarantine: Path) -> None:
    """Refuse outputs that would replace the events being read, or another file.

    Raises
    ------
    SchemaError
        ``path`` or ``quarantine`` is the events file (or lies in the events directory),
        or ``path`` exists and is not an account features file.
    """
    if isinstance(events, (str, os.PathLike)):
        source = Path(events)
        for target in (path, quarantine):
            if _is_within(target, source):
                new = source.with_name(f"{source.stem}.accounts.parquet")
                raise SchemaError(
                    f"{target} would replace or join the events being read ({source}); "
                    f"write the account features to a new file, e.g. --out {new}"
                )
    if path.exists() and not _is_account_file(path):
        raise SchemaError(
            f"{path} exists and is not a riskscore account features file (no "
            f"{ACCOUNT_FILE_METADATA_KEY!r} metadata); it was left unchanged: choose a new "
            "path, or remove the file first"
        )
    # a clean run removes the quarantine file of an earlier one: never a file of another's
    if (quarantine.exists() or quarantine.is_symlink()) and not _is_quarantine_file(quarantine):
        raise SchemaError(
            f"{quarantine} exists and is not a riskscore quarantine file, and a run would "
            "replace or remove it; it was left unchanged: choose another --out, or move "
            "the file first"
        )


def _is_quarantine_file(path: Path) -> bool:
    """Whether ``path`` is a regular file whose first line is a quarantine record (a JSON
    object with ``row``, ``column`` and ``reason``), as riskscore writes them."""
    if path.is_symlink() or not path.is_file():
        return False
    with path.open("rb") as fh:
        first = fh.readline(MAX_JSON_LINE_LENGTH + 1)
    try:
        record = json.loads(first)
    except ValueError:
        return False
    return isinstance(record, dict) and {"row", "column", "reason"} <= set(record)


def _is_within(target: Path, source: Path) -> bool:
    """Whether ``target`` is the file ``source``, or lies in the directory ``source``."""
    if not source.exists():
        return False
    if source.is_dir():
        return real_path(source) in real_path(target).parents
    return target.exists() and os.path.samefile(target, source)


def _is_account_file(path: Path) -> bool:
    """Whether ``path`` is a Parquet file with the account features metadata (never a
    FIFO or device, whose open waits for a writer for ever)."""
    if not path.is_file():
        return False
    try:
        with parquet_file(path) as parquet:
            metadata = parquet.schema_arrow.metadata or {}
    except (OSError, pa.ArrowException):
        return False
    return ACCOUNT_FILE_METADATA_KEY.encode() in metadata
