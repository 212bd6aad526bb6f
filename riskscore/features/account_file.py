"""The per-account features file: :class:`AccountFeatures` of a full history as Parquet.

A platform builds it once from every event it has (``riskscore accounts EVENTS --out
accounts.parquet``, or :func:`write_account_features`) and joins it when scoring a part
of those events (``riskscore score PART --accounts accounts.parquet``, or
``account_features=`` of :func:`riskscore.extract_features`), so that an adult's fan-out
to minors, refused requests and blocks received count every conversation, not only those
scored.

Format (version 6, :data:`ACCOUNT_FILE_FORMAT`), one row per account, sorted by ``account_id``:

============================  =====================  ==========================================
column                        type                   meaning
============================  =====================  ==========================================
``account_id``                int64 or string        as in the events (text stays text)
``contacts``                  int64                  distinct accounts sent a contact event
``minors``                    int64                  ... with that event's recipient under 18
``private_minors``            int64                  ... on ephemeral, encrypted or external
``requests``                  int64                  ``contact_request`` events sent
``accepts``                   int64                  ``contact_accept`` events received
``flagged``                   int64                  blocks and reports received from minors
``minor_events``              int64                  contact events sent to minors (group
                                                     rooms included)
``supervised_minor_events``   int64                  ... on ``public``, on ``group`` of unknown
                                                     room size, or to a room of 5 or more
``pair_other``                list of account ids    the accounts it has a pair with, each after
                                                     ``account_id`` in sort order (a pair is
                                                     stored once, in the row of its first id)
``pair_first_ts``             list of int64          per pair: epoch seconds of its first event
``pair_first_channel``        list of string         per pair: the channel of that event (the
                                                     most public one in that second)
``pair_private_ts``           list of int64          per pair: epoch seconds of its first event
                                                     on ``direct`` or a more private channel;
                                                     null when none
============================  =====================  ==========================================

The ``pair_*`` lists are the pair facts of :mod:`riskscore.features.pairs` over all a
pair's conversations (group rooms and direct), behind ``pair_met_channel`` and
``pair_hours_to_private``; :mod:`riskscore.features.pair_columns` writes and checks them.

The file's key-value metadata ``riskscore.account_features`` is a JSON object:
``format`` (4), ``history_start`` and ``history_end`` (epoch seconds of the first and last
event counted, with their ISO 8601 UTC text in ``history_start_utc`` and
``history_end_utc``), ``n_events``, ``n_accounts``, ``n_pairs``, ``riskscore_version``,
``decimal_ids`` and, when known, ``max_room_members`` (the broadcast limit the history was
read with: scoring events read with another is refused; a file without it is not checked).
Scoring events outside the history's time range is refused (the tallies would be
stale), as is scoring events whose accounts show more activity, or whose pairs met earlier,
than the file records (another history). Files of an earlier format (1: no pair facts; 2: no
``minor_events`` and ``supervised_minor_events``; 3: no ``decimal_ids``; 4: messages to rooms
of 3 or 4 accounts counted as group contact) are refused with a note to rebuild them.

``decimal_ids`` is true when the ids are integers written as decimal text, as an id of the
history was beyond int64 (:mod:`riskscore.io.ids`): events with integer ids join them as
that text, whereas text ids never join integers (``6`` and ``"6"`` are two accounts).
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from riskscore._version import __version__
from riskscore.exceptions import SchemaError
from riskscore.features.accounts import AccountFeatures
from riskscore.features.file_columns import (
    account_ids,
    cell_value,
    check_decimal_text,
    check_text_ids,
    whole_counts,
)
from riskscore.features.kernel import ACCOUNT_SLOTS
from riskscore.features.pair_columns import PAIR_COLUMNS, pair_columns, read_pairs
from riskscore.features.slots import ACCOUNT_PARTS
from riskscore.io.files import check_regular_file
from riskscore.io.json_lines import json_loads
from riskscore.io.nested_fields import field_paths
from riskscore.io.raw import show
from riskscore.io.schema import MAX_TIMESTAMP, MIN_TIMESTAMP
from riskscore.io.staging import staged_file
from riskscore.io.text import arrow_file, check_expansion
from riskscore.io.timestamps import iso_utc
from riskscore.io.validate import refuse_content, refuse_repeated_names

__all__ = [
    "ACCOUNT_FILE_COLUMNS",
    "ACCOUNT_FILE_FORMAT",
    "ACCOUNT_FILE_METADATA_KEY",
    "PAIR_COLUMNS",
    "account_file_path",
    "read_account_features",
    "write_account_features",
]

#: Version of the file format written by :func:`write_account_features` (2: pair facts;
#: 3: ``minor_events`` and ``supervised_minor_events``; 4: ``decimal_ids``; 5: group contact
#: and supervised contact from rooms of ``GROUP_MIN_ROOM_SIZE`` accounts, not 3; 6: the rows of
#: one event read at the room size of its first row, a row of another size set aside, as
#: :mod:`riskscore.io.room_reach` reads them: a file of format 5 may count such rows).
ACCOUNT_FILE_FORMAT: Final = 6
#: Key of the Parquet key-value metadata that describes the history.
ACCOUNT_FILE_METADATA_KEY: Final = "riskscore.account_features"
#: Columns of the file, in order.
ACCOUNT_FILE_COLUMNS: Final = ("account_id", *ACCOUNT_SLOTS, *PAIR_COLUMNS)


def account_file_path(path: str | os.PathLike[str]) -> Path:
    """``path`` as a :class:`Path`, refused unless it names a ``.parquet`` file.

    Raises
    ------
    SchemaError
        Another suffix.
    IsADirectoryError
        ``path`` is a directory.
    """
    out = Path(path)
    if out.suffix.lower() not in {".parquet", ".pq"}:
        raise SchemaError(
            f"account features are written as Parquet: use a .parquet suffix, got {out.name!r}"
        )
    if out.is_dir():
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(out))
    return out


def write_account_features(accounts: AccountFeatures, path: str | os.PathLike[str]) -> Path:
    """Write per-account tallies, pair facts and their history's time range to a Parquet
    file.

    Parameters
    ----------
    accounts : AccountFeatures
        From :func:`riskscore.extract_account_features` over a full history (its time
        range recorded).
    path : str or path-like
        A ``.parquet`` file (replaced if it exists, once the new one is whole; parent
        folders are created).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    SchemaError
        ``path`` is not a ``.parquet`` file, ``accounts`` has no recorded time range, or
        its pair facts name an account it has no row for.
    IsADirectoryError
        ``path`` is a directory.

    Examples
    --------
    >>> import tempfile
    >>> import riskscore as rs
    >>> data = rs.synthetic.generate(300, prevalence=0.05, seed=3)
    >>> history = rs.extract_account_features(data.messages)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = rs.write_account_features(history, f"{tmp}/accounts.parquet")
    ...     again = rs.read_account_features(path)
    >>> bool((again.values == history.values).all()), again.history_end == history.history_end
    (True, True)
    """
    out = account_file_path(path)
    start, end = accounts.history_start, accounts.history_end
    if start is None or end is None:
        raise SchemaError(
            "these account features record no time range (history_start, history_end); "
            "write those of rs.extract_account_features over the full history"
        )
    ids = accounts.account_id
    id_type = pa.int64() if ids.dtype.kind in "iu" else pa.string()
    columns = {"account_id": pa.array(ids.tolist(), type=id_type)}
    for j, name in enumerate(ACCOUNT_SLOTS):
        columns[name] = pa.array(accounts.values[:, j].astype(np.int64))
    columns.update(pair_columns(ids, accounts.pairs, id_type))
    meta = {
        "format": ACCOUNT_FILE_FORMAT,
        "history_start": int(start),
        "history_end": int(end),
        "history_start_utc": iso_utc(start),
        "history_end_utc": iso_utc(end),
        "n_events": accounts.n_events,
        "n_accounts": len(ids),
        "n_pairs": len(accounts.pairs),
        "riskscore_version": __version__,
        "decimal_ids": bool(accounts.decimal_ids and len(ids)),
    }
    if accounts.max_room_members is not None:
        meta["max_room_members"] = accounts.max_room_members
    table = pa.table(columns).replace_schema_metadata(
        {ACCOUNT_FILE_METADATA_KEY: json.dumps(meta, sort_keys=True)}
    )
    # staged: a write failing part-way (a full disk) leaves the earlier file whole;
    # private: it names accounts and counts the minors each contacted
    with staged_file(out, private=True) as staged, arrow_file(staged, "wb") as sink:
        pq.write_table(table, sink)
    return out


def read_account_features(path: str | os.PathLike[str]) -> AccountFeatures:
    """Read a per-account features file written by :func:`write_account_features`.

    Parameters
    ----------
    path : str or path-like
        The Parquet file (format in :mod:`riskscore.features.account_file`).

    Returns
    -------
    AccountFeatures
        With the history's time range, event count and pair facts.

    Raises
    ------
    SchemaError
        The file cannot be read as Parquet, has a column named like message content
        (:func:`riskscore.io.validate.refuse_content`) or twice, lacks the
        ``riskscore.account_features`` metadata, is of another format, misses a column, or
        holds a value of the wrong type, a null, a negative or fractional count, a repeated
        account id, or pair facts that do not hold together (the message names the column,
        row and value).
    """
    source = Path(path)
    if not source.exists():
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), str(source))
    check_regular_file(source, "account features file")  # not a directory nor a FIFO
    try:
        with arrow_file(source) as data, pq.ParquetFile(data) as parquet:  # any name
            # only the file's own columns are loaded, once none is named like content
            names = parquet.schema_arrow.names
            refuse_content(field_paths(parquet.schema_arrow), "account features")
            refuse_repeated_names(names, f"{source}: ")
            check_expansion(parquet, source, ACCOUNT_FILE_COLUMNS)  # read whole: no bomb
            table = parquet.read(columns=[n for n in names if n in ACCOUNT_FILE_COLUMNS])
    except pa.ArrowException as exc:
        raise SchemaError(f"cannot read account features {source}: {exc}") from None
    meta = _metadata(table.schema.metadata or {}, source)
    missing = [c for c in ACCOUNT_FILE_COLUMNS if c not in table.column_names]
    if missing:
        raise SchemaError(
            f"{source}: missing column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(repr(c) for c in missing)}; an account features file has "
            f"{', '.join(ACCOUNT_FILE_COLUMNS)}"
        )
    ids = account_ids(table.column("account_id").combine_chunks(), source)
    decimal = meta.get("decimal_ids", False)
    if decimal:
        check_decimal_text(ids, source, "account_id")
    check_text_ids(ids, source, "account_id")
    values = (
        np.column_stack(
            [
                whole_counts(table.column(name).combine_chunks(), name, source)
                for name in ACCOUNT_SLOTS
            ]
        )
        if len(ids)
        else np.zeros((0, len(ACCOUNT_SLOTS)))
    )
    _check_parts_within_wholes(values, source)
    order = np.argsort(ids, kind="stable")
    file_ids, ids, values = ids, ids[order], values[order]
    repeated = np.flatnonzero(ids[1:] == ids[:-1])
    if len(repeated):
        row = int(order[repeated[0] + 1])
        value = cell_value("account_id", ids[repeated[0]])
        raise SchemaError(
            f"{source}: column 'account_id', row {row}: {show(value)} appears more than once; "
            "each account has one row",
            column="account_id",
            row=row,
            value=value,
        )
    history = (meta["history_start"], meta["history_end"])
    pairs = read_pairs(table, file_ids, source, history, decimal=decimal)
    return AccountFeatures(
        account_id=ids,
        values=values,
        history_start=meta["history_start"],
        history_end=meta["history_end"],
        n_events=meta["n_events"],
        pairs=pairs,
        decimal_ids=decimal,
        max_room_members=meta.get("max_room_members"),
    )


def _check_parts_within_wholes(values: npt.NDArray[np.float64], source: Path) -> None:
    """Refuse a row whose tally of a part (:data:`~riskscore.features.slots.ACCOUNT_PARTS`)
    is above that of its whole."""
    for part, whole in ACCOUNT_PARTS:
        counts = values[:, part]
        over = np.flatnonzero(counts > values[:, whole])
        if len(over):
            row, name = int(over[0]), ACCOUNT_SLOTS[part]
            raise SchemaError(
                f"{source}: column {name!r}, row {row}: {int(counts[row])} is more than that "
                f"row's {ACCOUNT_SLOTS[whole]}; rebuild the file with `riskscore accounts`",
                column=name,
                row=row,
                value=int(counts[row]),
            )


def _metadata(raw: dict[bytes, bytes], source: Path) -> dict[str, Any]:
    """The history recorded in the file, checked."""
    text = raw.get(ACCOUNT_FILE_METADATA_KEY.encode())
    if text is None:
        raise SchemaError(
            f"{source} is not a riskscore account features file (no "
            f"{ACCOUNT_FILE_METADATA_KEY!r} metadata recording its history); build one beside "
            f"it with `riskscore accounts EVENTS --out {source.stem}.accounts.parquet`"
        )
    try:
        meta = json_loads(text)
    except ValueError:
        meta = None
    if not isinstance(meta, dict) or meta.get("format") != ACCOUNT_FILE_FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise SchemaError(
            f"{source}: account features format {found!r}, this riskscore reads format "
            f"{ACCOUNT_FILE_FORMAT}; rebuild the file with `riskscore accounts`"
        )
    if not isinstance(meta.get("decimal_ids", False), bool):
        raise SchemaError(
            f"{source}: metadata 'decimal_ids' must be true or false, got "
            f"{meta['decimal_ids']!r}; rebuild the file with `riskscore accounts`"
        )
    limit = meta.get("max_room_members")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 2):
        raise SchemaError(
            f"{source}: metadata 'max_room_members' must be a whole number >= 2, got "
            f"{limit!r}; rebuild the file with `riskscore accounts`"
        )
    for key in ("history_start", "history_end", "n_events"):
        value = meta.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise SchemaError(
                f"{source}: metadata {key!r} must be a whole number >= 0, got {value!r}; "
                "rebuild the file with `riskscore accounts`"
            )
        if key != "n_events" and not MIN_TIMESTAMP <= value < MAX_TIMESTAMP:
            raise SchemaError(
                f"{source}: metadata {key!r} must be epoch seconds from 1970 up to 2200, as "
                f"every event's time, got {value!r}; rebuild the file with `riskscore accounts`"
            )
    if meta["history_start"] > meta["history_end"]:
        raise SchemaError(
            f"{source}: history_start {meta['history_start']} is after history_end "
            f"{meta['history_end']}; rebuild the file with `riskscore accounts`"
        )
    return meta
