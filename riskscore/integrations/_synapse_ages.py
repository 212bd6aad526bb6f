"""Declared ages and clocks (a UTC offset, or a named time zone) of Matrix users (private).

Matrix has no ages. A server operator points the module at what the platform
knows (a sign-up form, a parental-consent record, an age-assurance provider):
a CSV file, an SQLite table, or a Python callable. A user the source does not
know is scored with an unknown age, which the model and policy handle. A user's
clock is a fixed ``tz_offset_min`` or an IANA ``time_zone`` (``Europe/London``), whose
offset at each event's time follows daylight-saving time
(:mod:`riskscore.io.time_zones`).
"""

from __future__ import annotations

import csv
import importlib
import logging
import math
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final, NamedTuple

import riskscore.io.sqlite as sqlite
from riskscore.exceptions import one_line
from riskscore.integrations._synapse_config import AgeSourceConfig, SynapseConfigError
from riskscore.integrations._synapse_log import EventWarnings
from riskscore.io.columns import one_age_problem
from riskscore.io.one_value import Undecided
from riskscore.io.raw import as_python_value, show
from riskscore.io.time_zones import offset_min_at, time_zone
from riskscore.io.tz_offsets import one_tz_offset_problem

__all__ = ["AgeLookupError", "AgeSource", "Profile", "make_age_source", "user_clock"]

# The module's logger: records keep the name operators filter on.
logger = logging.getLogger("riskscore.integrations.synapse")


class Profile(NamedTuple):
    """What the module knows about one user: declared age, and a fixed UTC offset or an
    IANA time zone (at most one of the two; None if unknown)."""

    age: float | None
    tz_offset_min: int | None
    time_zone: str | None = None

    def offset_at(self, timestamp: int, default: Profile) -> int | None:
        """The user's UTC offset in minutes at epoch second ``timestamp``: the fixed
        offset, else the time zone's offset then, else ``default``'s (the module's
        ``default_tz_offset_min`` or ``default_time_zone``), else None (unknown)."""
        for clock in (self, default):
            if clock.tz_offset_min is not None:
                return clock.tz_offset_min
            if clock.time_zone is not None:
                return offset_min_at(time_zone(clock.time_zone), timestamp)
        return None


UNKNOWN = Profile(None, None)

LookupFn = Callable[
    [str],
    "Profile | tuple[float | None, int | None] | tuple[float | None, int | None, str | None] "
    "| None",
]


#: Kind of warning (:class:`EventWarnings`) of a user's profile the age source failed on.
AGES_FAILED: Final = "declared ages the age source could not give"


class AgeLookupError(SynapseConfigError):
    """The configured age source could not give one user's profile (an SQLite table listing
    the user twice, a callable that raised or returned what is no profile): the message
    names the user and the problem, in one line."""

    def __init__(self, msg: str) -> None:
        super().__init__(msg, ())


class _ValueRefusedError(ValueError):
    """A user's age or ``tz_offset_min`` the schema refuses (the reason, with the value
    shown)."""


def _checked(value: object, name: str, problem_of: Callable[[object], str | None]) -> float | None:
    """``value`` as the schema's rule ``problem_of`` accepts it (None: empty or NaN,
    unknown), else refused naming ``name`` and the value."""
    if value is None or value == "":
        return None
    try:
        problem = problem_of(value)
    except Undecided:  # a numpy scalar or a decimal (a callable's): read as its text
        problem = problem_of(str(as_python_value(value)))
    if problem is not None:
        raise _ValueRefusedError(f"{name} {show(value)} {problem}")
    number = float(value)  # type: ignore[arg-type]
    return None if math.isnan(number) else number  # NaN: unknown, as an empty cell


def _offset(tz: object) -> int | None:
    """The schema's rule for ``recipient_tz_offset_min`` (whole quarter hours in range),
    never ``int()``, which cut 330.7 to 330 and passed 5 (hours for minutes) in silence."""
    minutes = _checked(tz, "tz_offset_min", one_tz_offset_problem)
    return None if minutes is None else int(minutes)


def _zone(tz: object, zone: object) -> str | None:
    """A user's ``time_zone``, checked against the time zone database; refused beside a
    ``tz_offset_min`` (which clock applies would be a guess)."""
    if zone is None or zone == "":
        return None
    if not isinstance(zone, str):
        raise _ValueRefusedError(f"time_zone {show(zone)} is not a time zone name (text)")
    if tz is not None and tz != "" and not (isinstance(tz, float) and math.isnan(tz)):
        raise _ValueRefusedError(
            f"gives both tz_offset_min {show(tz)} and time_zone {show(zone)}: give one (a "
            "time zone follows daylight-saving time, a fixed offset does not)"
        )
    try:
        return time_zone(zone).key
    except ValueError as exc:
        raise _ValueRefusedError(str(exc)) from None


def user_clock(tz_offset_min: object, time_zone: object) -> Profile:
    """A profile of no age with the clock given by a UTC offset or a time zone name (at
    most one; both None: unknown), each checked as an age source's is.

    Raises
    ------
    ValueError
        An offset the schema refuses, a name not in the time zone database, or both.
    """
    named = _zone(tz_offset_min, time_zone)
    return Profile(None, None if named is not None else _offset(tz_offset_min), named)


def _age(age: object) -> float | None:
    """The schema's rule for ``sender_age`` and ``recipient_age`` (years in 0..120): a typo
    of 340 or -1 passed here, and the scorer then refused every event naming the user,
    losing all of that user's conversations."""
    return _checked(age, "age", one_age_problem)


def _profile(user_id: str, age: object, tz: object, zone: object = None) -> Profile:
    return user_clock(tz, zone)._replace(age=_age(age))


class AgeSource:
    """Look up a user's declared age and UTC offset, with a per-source refresh.

    Parameters
    ----------
    lookup : callable
        ``user_id -> Profile | (age, tz_offset_min) | (age, tz_offset_min, time_zone) |
        None``.

    Examples
    --------
    >>> ages = AgeSource(lambda user: (12.0, 60) if user == "@kid:example.org" else None)
    >>> ages.get("@kid:example.org")
    Profile(age=12.0, tz_offset_min=60, time_zone=None)
    >>> ages.get("@someone:example.org") == (None, None, None)
    True
    >>> AgeSource(lambda user: (12.0, None, "Europe/London")).get("@kid:example.org")
    Profile(age=12.0, tz_offset_min=None, time_zone='Europe/London')
    """

    def __init__(self, lookup: LookupFn) -> None:
        self._lookup = lookup

    def get(self, user_id: str) -> Profile:
        """The user's profile; unknown fields are None.

        Raises
        ------
        AgeLookupError
            The lookup failed or returned what is no profile (naming the user).
        """
        try:
            found = self._lookup(user_id)
            if found is None:
                return UNKNOWN
            if not isinstance(found, tuple) or len(found) not in (2, 3):
                raise ValueError(
                    f"the age source returned {show(found)}: expected None, a Profile, "
                    "(age, tz_offset_min) or (age, tz_offset_min, time_zone)"
                )
            return _profile(user_id, *found)
        except Exception as exc:  # a callable's own error, SQLite's, a value refused
            problem = exc.msg if isinstance(exc, SynapseConfigError) else str(exc)
            if not isinstance(exc, (SynapseConfigError, ValueError)):
                problem = f"{type(exc).__name__}: {problem}"
            raise AgeLookupError(
                f"the declared age of user {user_id!r} could not be read: {one_line(problem)}"
            ) from None

    def get_or_unknown(self, user_id: str, warnings: EventWarnings) -> Profile:
        """:meth:`get`, or an unknown profile when it fails, warned about in one line naming
        the user and the problem (rate-limited): the user's events are scored with an
        unknown age, as a user the source does not know, never skipped (every event of a
        child the source failed on was lost, and with it every alert on the child)."""
        try:
            return self.get(user_id)
        except AgeLookupError as exc:
            warnings.warn(
                AGES_FAILED, logging.ERROR, "riskscore: %s; scored as of unknown age", exc.msg
            )
            return UNKNOWN


class _CsvLookup:
    """A CSV file ``user_id, age[, tz_offset_min][, time_zone]``, re-read when its mtime
    changes.

    A file refused at start-up stops the module (:class:`SynapseConfigError`). A version
    refused later (a user listed twice, a value that is no number, a file half written or
    gone) is one line in the log, once, and the rows read before stay in force: every
    event was refused as unreadable (a traceback each) and none scored until it was fixed.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._mtime = -1.0  # of the version last read or refused
        self._refused: object = None  # what the last line in the log refused
        self._rows: dict[str, Profile] = {}
        self._load(first=True)

    def _load(self, *, first: bool = False) -> None:
        try:
            mtime = self.path.stat().st_mtime
            if mtime == self._mtime:
                return
            self._mtime = mtime
            self._rows = self._read()
        except (OSError, SynapseConfigError) as exc:
            if first:
                raise
            if self._refused != (self._mtime, str(exc)):
                self._refused = (self._mtime, str(exc))
                logger.error(
                    "riskscore: declared ages not re-read from %s: %s; the rows read before "
                    "stay in force until the file is fixed",
                    self.path,
                    one_line(str(exc)),
                )

    def _read(self) -> dict[str, Profile]:
        try:
            return self._rows_of_file()
        except (UnicodeDecodeError, csv.Error) as exc:
            raise SynapseConfigError(
                f"{str(self.path)!r} is not a UTF-8 CSV file: {exc}", ("ages", "csv")
            ) from None

    def _rows_of_file(self) -> dict[str, Profile]:
        """The file's rows by user id; a user listed twice is refused (naming both lines),
        never one row kept and the other dropped."""
        rows: dict[str, Profile] = {}
        lines: dict[str, int] = {}
        with self.path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            fields = set(reader.fieldnames or ())
            if not {"user_id", "age"} <= fields:
                raise SynapseConfigError(
                    f"{str(self.path)!r} needs a header with user_id and age (and optionally "
                    f"tz_offset_min or time_zone); found {sorted(fields)}",
                    ("ages", "csv"),
                )
            for line, row in enumerate(reader, start=2):
                first = lines.setdefault(row["user_id"], line)
                if first != line:
                    raise SynapseConfigError(
                        f"{str(self.path)!r} lists user {row['user_id']!r} twice, on lines "
                        f"{first} and {line}: give each user one row",
                        ("ages", "csv"),
                    )
                try:
                    rows[row["user_id"]] = _profile(
                        row["user_id"], row["age"], row.get("tz_offset_min"), row.get("time_zone")
                    )
                except _ValueRefusedError as exc:
                    raise SynapseConfigError(
                        f"{str(self.path)!r} line {line}: {exc}", ("ages", "csv")
                    ) from None
                except ValueError:
                    raise SynapseConfigError(
                        f"{str(self.path)!r} line {line}: age {row['age']!r} or tz_offset_min "
                        f"{row.get('tz_offset_min')!r} is not a number",
                        ("ages", "csv"),
                    ) from None
        return rows

    def __call__(self, user_id: str) -> Profile | None:
        self._load()
        return self._rows.get(user_id)


class _SqliteLookup:
    """An SQLite table ``(user_id, age[, tz_offset_min][, time_zone])``, queried read-only
    per lookup.

    One row per user: a table with two rows for one user is refused at start and at the
    lookup of that user (a row added since), naming both rows (by rowid), never one of
    them taken at SQLite's choice. A new version published by rename (written aside, then
    moved over the path) is opened at the next lookup: the open connection kept reading
    the old, unlinked file until a restart. A new version refused (not a database, a
    table without the columns) is one line in the log, and the version open before stays
    in force, as a CSV file's rows do.
    """

    def __init__(self, path: Path, table: str) -> None:
        self._path, self._table = path, table
        self._file = _file_key(path)
        self._conn, self._sql = self._open()

    def _open(self) -> tuple[sqlite3.Connection, str]:
        path, table = self._path, self._table
        conn = sqlite.connect(path, read_only=True, check_same_thread=False)
        try:
            # quoted: a table may be named like an SQL keyword ("order"), which the
            # configuration takes (an identifier) and SQL would read as that keyword
            quoted = '"' + table.replace('"', '""') + '"'
            try:
                columns = {row[1] for row in conn.execute(f"PRAGMA table_info({quoted})")}
            except sqlite3.DatabaseError as exc:
                raise SynapseConfigError(
                    f"{str(path)!r} is not an SQLite database: {exc}", ("ages", "sqlite")
                ) from None
            if not {"user_id", "age"} <= columns:
                raise SynapseConfigError(
                    f"table {table!r} in {str(path)!r} needs columns user_id and age (and "
                    f"optionally tz_offset_min or time_zone); found {sorted(columns)}",
                    ("ages", "sqlite"),
                )
            tz = "tz_offset_min" if "tz_offset_min" in columns else "NULL"
            zone = "time_zone" if "time_zone" in columns else "NULL"
            # a table WITHOUT ROWID has none (unless a column is so named): rows are unnamed
            row = "rowid" if "rowid" in columns or _has_rowid(conn, quoted) else "NULL"
            sql = f"SELECT {row}, age, {tz}, {zone} FROM {quoted} WHERE user_id = ? LIMIT 2"
            twice = conn.execute(
                f"SELECT user_id FROM {quoted} GROUP BY user_id HAVING COUNT(*) > 1 LIMIT 1"
            ).fetchone()
            if twice is not None:
                self._rows(conn, sql, twice[0])  # refused, naming the rows
        except BaseException:
            conn.close()
            raise
        return conn, sql

    def _follow_replacement(self) -> None:
        """Open the file now at the path if it is another one than the open file."""
        found = _file_key(self._path)
        if found is None or found == self._file:  # gone: the open version stays in force
            return
        self._file = found  # tried once per version, refused or not
        try:
            conn, sql = self._open()
        except (OSError, sqlite3.Error, SynapseConfigError) as exc:
            problem = exc.msg if isinstance(exc, SynapseConfigError) else str(exc)
            logger.error(
                "riskscore: declared ages not re-read from %s: %s; the version open before "
                "stays in force until the file is fixed",
                self._path,
                one_line(problem),
            )
            return
        self._conn.close()
        self._conn, self._sql = conn, sql

    def _rows(self, conn: sqlite3.Connection, sql: str, user_id: str) -> list[Any]:
        """The user's rows (at most two), refused when there are two."""
        rows = conn.execute(sql, (user_id,)).fetchall()
        path, table = str(self._path), self._table
        if len(rows) > 1:
            named = "" if rows[0][0] is None else f" (rows {rows[0][0]} and {rows[1][0]})"
            raise SynapseConfigError(
                f"table {table!r} in {path!r} lists user {user_id!r} twice{named}: give each "
                "user one row (which declared age applies is the platform's decision)",
                ("ages", "sqlite"),
            )
        return rows

    def __call__(self, user_id: str) -> Profile | None:
        self._follow_replacement()
        rows = self._rows(self._conn, self._sql, user_id)
        path, table = str(self._path), self._table
        if not rows:
            return None
        rowid, age, tz, zone = rows[0]
        at = "" if rowid is None else f"row {rowid} "
        try:
            return _profile(user_id, age, tz, zone)
        except _ValueRefusedError as exc:
            raise SynapseConfigError(
                f"table {table!r} in {path!r}, {at}of user {user_id!r}: {exc}",
                ("ages", "sqlite"),
            ) from None
        except (TypeError, ValueError):
            raise SynapseConfigError(
                f"table {table!r} in {path!r}, {at}of user {user_id!r}: age {age!r} or "
                f"tz_offset_min {tz!r} is not a number",
                ("ages", "sqlite"),
            ) from None


def _file_key(path: Path) -> tuple[int, int] | None:
    """The device and inode of the file at ``path`` (None: no file there now)."""
    try:
        found = path.stat()
    except OSError:
        return None
    return found.st_dev, found.st_ino


def _has_rowid(conn: sqlite3.Connection, quoted: str) -> bool:
    try:
        conn.execute(f"SELECT rowid FROM {quoted} LIMIT 0")
    except sqlite3.OperationalError:
        return False
    return True


def _import(target: str) -> LookupFn:
    module_name, _, attr = target.partition(":")
    try:
        fn = getattr(importlib.import_module(module_name), attr)
    except Exception as exc:  # ":" or ".x:f", and whatever the module raises on import
        message = f"cannot import {target!r}: {type(exc).__name__}: {exc}"
        raise SynapseConfigError(message, ("ages", "callable")) from None
    if not callable(fn):
        raise SynapseConfigError(f"{target!r} is not callable", ("ages", "callable"))
    return fn  # type: ignore[no-any-return]


def make_age_source(config: AgeSourceConfig) -> AgeSource:
    """Build the configured age source; errors name the config key."""
    if config.kind == "none":
        return AgeSource(lambda _user: None)
    if config.kind == "callable":
        return AgeSource(_import(config.target))
    assert config.path is not None
    if config.kind == "csv":
        return AgeSource(_CsvLookup(config.path))
    return AgeSource(_SqliteLookup(config.path, config.table))
