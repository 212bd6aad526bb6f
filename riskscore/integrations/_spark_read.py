"""Parquet events read on Spark (private): :func:`parquet_events`, the reading side of
:func:`riskscore.integrations.spark.read_events`.

The footers of every file are read and their schemas merged (Spark's ``mergeSchema``),
so the events' columns are those of all the files, not of the one Spark samples: a
content-like column in one file of a directory is refused whichever file Spark would
have sampled, and a column written with two types (``conversation_id`` integers in one
file and text in another, ``timestamp`` epoch seconds beside a timestamp type) is
refused on the driver, naming the column and both types, before a row is read. Without
the merge Spark read every file with the sampled file's types: 7 and ``"7"`` failed a
task with a Java trace, and timestamps in milliseconds were read as seconds. The files
under the paths are listed too: a file that Spark's Parquet reader would leave out (in a
subdirectory not named column=value beside files: ``events/late/x.parquet`` beside
``events/a.parquet``; or beside partition directories: ``events/x.parquet`` beside
``events/date=2026-01-01/``) is refused, naming it, not silently left unscored. And a
partition directory named after a schema v1 column (``conversation_id=1``) whose files
hold other values of it is refused: Spark gives every row under it the directory's value.
"""

from __future__ import annotations

import os
import re
import weakref
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Final
from urllib.parse import unquote

from riskscore._words import plural
from riskscore.exceptions import SchemaError
from riskscore.integrations._spark_frames import (
    DataFrame,
    Py4JError,
    Py4JJavaError,
    PySparkException,
    SparkSession,
    sf,
    st,
)
from riskscore.io.input_names import quoted_name
from riskscore.io.raw import show, shown
from riskscore.io.schema import ID_COLUMNS, SCHEMA_COLUMNS

__all__ = ["Paths", "numbered", "parquet_events", "read_errors", "spark_paths"]

#: The DataFrames :func:`parquet_events` returned, by identity: their input order is that
#: of their files, then of the rows within a file (:func:`numbered`).
_READ: Final[weakref.WeakSet[DataFrame]] = weakref.WeakSet()
#: Columns of the numbering by file: its path (as Spark's ``_metadata.file_path`` gives
#: it) and the first number of its rows.
_FILE, _FIRST = "_rs_file", "_rs_file_first"

#: Files named in the error about files that would not be read.
MAX_NAMED_FILES: Final = 3

#: A top-level field of a struct as Spark's errors write it (``name: TYPE``; a name with
#: other characters than letters, digits and ``_`` in backticks, a backtick doubled).
_FIELD_RE: Final = re.compile(r"\s*(`(?:[^`]|``)*`|[^:`]*):\s(.*)", re.DOTALL)

#: Spark's names of integer types (a whole decimal too: unsigned 64-bit integers read so).
_INTEGERS: Final = re.compile(r"TINYINT|SMALLINT|INT|BIGINT|DECIMAL\(\d+,\s*0\)")

#: What two types of a column in two files tell, and how to write one.
_INTEGER_WIDTHS: Final = (
    "integers of two widths, which Spark does not merge: cast the column to one integer "
    "type in every file (BIGINT; DECIMAL(20,0) holds unsigned 64-bit ids)"
)
_TWO_IDS: Final = (
    "ids of two types are never merged (7 and '7' are two ids, and so are '007' and 7): "
    "write the column with one type in every file (text ids as text everywhere)"
)
_TWO_TIMES: Final = (
    "write the column with one type in every file (epoch seconds as integers, or one "
    "timestamp type with its zone)"
)
_ONE_TYPE: Final = "write the column with one type in every file"
#: Added when one of the two is INT.
_NULLS_AS_INT: Final = (
    "; a column of nulls only (or an empty file) written from a null type (pyarrow, "
    "pandas) reads as INT"
)


#: What :func:`riskscore.integrations.spark.read_events` reads: one path or several.
Paths = str | os.PathLike[str] | Sequence[str | os.PathLike[str]]


def spark_paths(path: Paths) -> list[str]:
    """``path`` as the list of path strings Spark reads (a :class:`pathlib.Path` too).

    Raises
    ------
    TypeError
        A path is not text or a path (bytes, a number).
    ValueError
        No path is given.
    """
    given = [path] if isinstance(path, (str, os.PathLike)) else list(path)
    for one in given:
        if not isinstance(one, (str, os.PathLike)) or isinstance(os.fspath(one), bytes):
            raise TypeError(
                f"path must be a path (str or pathlib.Path) or a list of them, got "
                f"{type(one).__name__} {one!r:.60}"
            )
    if not given:
        raise ValueError("path must name a Parquet file or directory, got an empty list")
    return [str(os.fspath(one)) for one in given]


@contextmanager
def read_errors(paths: Sequence[str] = ()) -> Iterator[None]:
    """Raise the SchemaError of a Spark read of Parquet files (under ``paths``) that fails
    for the files' sake, in place of Spark's error (a Java trace); others pass as they are.
    """
    try:
        yield
    except (Py4JJavaError, PySparkException) as exc:
        error = _read_error(exc, list(paths) or ["the events' files"])
        if error is None:
            raise
        raise error from exc


def parquet_events(spark: SparkSession, paths: list[str]) -> DataFrame:
    """The events of the Parquet files at ``paths`` (files or directories), their schemas
    merged over every file.

    Raises
    ------
    SchemaError
        A column has two types in the files (naming it and both types), a file is not
        readable Parquet (naming it), the paths hold no Parquet file, or files under them
        would not be read (in a subdirectory not named column=value beside files, or
        beside partition directories) or would be read twice (under two of the paths), or
        a partition directory's name contradicts a
        schema v1 column of its files.
    """
    with read_errors(paths):
        events = spark.read.option("mergeSchema", "true").parquet(*paths)
        # every file under each path (no footer read): Spark's Parquet reader skips those
        # of a subdirectory not named column=value that lies beside files, and reads a
        # file under two of the paths twice
        listed = spark.read.format("binaryFile").option("recursiveFileLookup", "true")
        every = [file for path in paths for file in listed.load(path).inputFiles()]
    twice = sorted(file for file, n in Counter(every).items() if n > 1)
    if twice:
        raise SchemaError(
            f"{plural(len(twice), 'file')} would be read twice, under two of the paths "
            f"given: {_named(twice)}. Each of their events would count twice: give each file "
            "once (a directory, or the files in it)"
        )
    read = events.inputFiles()  # one listing for the three checks (a call into the JVM)
    unread = _unread_files(every, read)
    if unread:
        raise SchemaError(
            f"{plural(len(unread), 'file')} under {', '.join(paths)} would not be read: "
            f"{_named(unread)}. "
            "Spark reads neither the files of a subdirectory not named column=value (a "
            "partition) that lies beside files, nor files beside partition directories: move "
            "them, or give read_events the paths of the directories to read"
        )
    _check_partition_ids(events, read)
    _check_partition_values(spark, read)
    _READ.add(events)
    return events


def numbered(events: DataFrame, ev: DataFrame, name: str) -> DataFrame:
    """``ev`` (``events``, its columns normalized) with each row's input order in the
    long column ``name``: the order of :func:`riskscore.read_messages` on the files read
    one after the other, as pyarrow reads a directory, when ``events`` is a DataFrame
    :func:`parquet_events` returned (files by path, compared as text once decoded; rows
    within a file in their order; one job, over the files' metadata only, lists the
    files that hold rows); else the order Spark reads the rows in
    (``monotonically_increasing_id``: partition by partition, and Spark packs files into
    partitions largest first)."""
    if events not in _READ:
        return ev.withColumn(name, sf.monotonically_increasing_id())
    path = sf.col("_metadata.file_path")
    files = sorted((row[0] for row in ev.select(path).distinct().collect()), key=unquote)
    shift = 63 - max(len(files), 1).bit_length()  # file rank high, row within file low
    firsts = ev.sparkSession.createDataFrame(
        [(file, rank << shift) for rank, file in enumerate(files)],
        st.StructType(
            [st.StructField(_FILE, st.StringType()), st.StructField(_FIRST, st.LongType())]
        ),
    )
    ev = ev.withColumn(name, sf.col("_metadata.row_index")).withColumn(_FILE, path)
    ev = ev.join(sf.broadcast(firsts), _FILE)  # a few rows, sent to every task: no shuffle
    return ev.withColumn(name, sf.col(_FIRST) + sf.col(name)).drop(_FILE, _FIRST)


def _partitions(file: str) -> list[tuple[str, str]]:
    """The ``(column, value as written)`` of each partition directory (``column=value``)
    in a file's path."""
    return [
        (part.split("=", 1)[0], part.split("=", 1)[1])
        for part in file.split("/")[:-1]
        if "=" in part
    ]


def _check_partition_ids(events: DataFrame, files: list[str]) -> None:
    """Refuse partition directories named after an id column (``conversation_id=007``)
    whose names Spark's partition type inference reads as other ids: ``007`` and ``7``
    both as the integer 7 (two conversations merged into one), ``7.0`` as 7.0. A name that
    is an integer's own text keeps its id; no job (the names are in the files' paths)."""
    for key in ID_COLUMNS:
        if key not in events.columns or isinstance(events.schema[key].dataType, st.StringType):
            continue
        for file in files:
            for column, written in _partitions(file):
                name = unquote(written)
                if column != key or name == HIVE_NULL or CANONICAL_INTEGER.fullmatch(name):
                    continue
                kind = events.schema[key].dataType.simpleString()
                raise SchemaError(
                    f"Spark's partition type inference reads the directory {key}={name} "
                    f"({file}) as {kind} {key}, another id than its name ('007' and '7' "
                    "would be one id, 7): set "
                    "spark.sql.sources.partitionColumnTypeInference.enabled to false before "
                    "read_events (ids as text), or name the directories by the integers' "
                    "own text",
                    column=key,
                )


def _check_partition_values(spark: SparkSession, files: list[str]) -> None:
    """Refuse partition directories named after a schema v1 column (``conversation_id=1``)
    whose files hold that column with other values: Spark gives every row under such a
    directory the directory's value, so conversations (or accounts) were merged into one.
    One job over those files only, when there are any."""
    keys = {column for file in files for column, _ in _partitions(file)} & set(SCHEMA_COLUMNS)
    under = [f for f in files if any(f"/{key}=" in f for key in keys)]
    if not under:
        return
    # given as files, they have no partition columns: their own values (inputFiles gives
    # URIs, a space as %20: read as a path, that names no file)
    own = spark.read.option("mergeSchema", "true").parquet(*map(unquote, under))
    path = sf.col("_metadata.file_path")
    for key in sorted(keys & set(own.columns)):
        named = sf.url_decode(sf.regexp_extract(path, rf".*/{re.escape(key)}=([^/]*)/", 1))
        # fractions by number (13.0 under sender_age=13), ids and text as written
        fraction = isinstance(own.schema[key].dataType, (st.FloatType, st.DoubleType))
        held = sf.col(key).cast("double" if fraction else "string")
        # a directory sender_age=unknown over ages as numbers: null, so it differs
        value = named.try_cast("double") if fraction else named
        other = own.where(~held.eqNullSafe(value)).select(key, named, path).first()
        if other is not None:
            value, directory, file = other
            raise SchemaError(
                f"column {key!r} of {file} holds {show(shown(key, value))}, while the name of "
                f"its directory gives it {show(shown(key, directory))}: Spark gives every row "
                "under a partition directory (column=value, below the path read) the "
                "directory's value, which would merge conversations or accounts; rename the "
                "directories, or leave the column out of the files",
                column=key,
            )


#: How Spark names the directory of a partition whose value is null (the id is refused
#: as null by the events' rules).
HIVE_NULL: Final = "__HIVE_DEFAULT_PARTITION__"
#: An integer's own text: what a partition directory of integer ids may be named.
CANONICAL_INTEGER: Final = re.compile(r"0|-?[1-9][0-9]*")


def _named(files: list[str]) -> str:
    """The first :data:`MAX_NAMED_FILES` of ``files``, and ``...`` if there are more."""
    return ", ".join(files[:MAX_NAMED_FILES]) + (" ..." if len(files) > MAX_NAMED_FILES else "")


def _unread_files(every: list[str], listed: list[str]) -> list[str]:
    """The files of ``every`` (all the files under the paths) that a Parquet read which
    lists ``listed`` leaves out, sorted: those it does not list (in a subdirectory not named
    column=value, beside files), and those it lists that lie in a directory that holds
    partition directories (column=value): it reads the partitions only."""
    read = set(listed)
    unread = {f for f in every if f not in read}
    holds_partitions: set[str] = set()
    for file in listed:
        parts = file.split("/")
        holds_partitions |= {"/".join(parts[:i]) for i in range(len(parts) - 1) if "=" in parts[i]}
    unread |= {f for f in listed if f.rsplit("/", 1)[0] in holds_partitions}
    return sorted(unread)


def _condition(exc: Py4JJavaError | PySparkException) -> tuple[str, dict[str, str]]:
    """Spark's error condition (its documented error class, ``""`` when there is none) and
    its message parameters."""
    if isinstance(exc, PySparkException):
        return exc.getCondition() or "", dict(exc.getMessageParameters() or {})
    try:
        java = exc.java_exception
        params = java.getMessageParameters()
        return str(java.getCondition()), {str(k): str(v) for k, v in params.items()}
    except Py4JError:  # not a SparkThrowable
        return "", {}


def _read_error(exc: Py4JJavaError | PySparkException, paths: list[str]) -> SchemaError | None:
    """The SchemaError of a failed read, or None for an error that is not the files'."""
    condition, params = _condition(exc)
    where = ", ".join(paths)
    if condition == "CANNOT_MERGE_SCHEMAS":
        return _merge_error(params.get("left", ""), params.get("right", ""), where)
    if condition == "FAILED_READ_FILE.CANNOT_READ_FILE_FOOTER":
        path = params.get("path", where)
        return SchemaError(
            f"{path}: not a readable Parquet events file (Spark: {condition}); move it out of "
            f"the events' directory, or give read_events the paths of the Parquet files"
        )
    if condition == "FAILED_READ_FILE.PARQUET_COLUMN_DATA_TYPE_MISMATCH":
        column = params.get("column", "").strip("[]")
        return SchemaError(
            f"column {quoted_name(column)} of {params.get('path', where)} is Parquet "
            f"{params.get('actualType')}, where the events' schema (another file's) says "
            f"{params.get('expectedType')}: read the files with read_events, which merges the "
            "schemas of all of them and names a column written with two types",
            column=column,
        )
    if condition == "CONFLICTING_DIRECTORY_STRUCTURES":
        bases = ", ".join(params.get("discoveredBasePaths", "").split())
        return SchemaError(
            f"the directories of {where} hold files at the top of partition directories "
            f"(column=value) and of others ({bases}): move the files of the others, or give "
            "read_events the paths of the directories to read"
        )
    if condition == "PARQUET_TYPE_ILLEGAL":  # Spark's error names neither file nor column
        kind = params.get("parquetType", "?")
        nanos = (
            " (pandas' datetime64[ns], as pyarrow writes it by default: write with "
            "coerce_timestamps='us', or the times as epoch seconds)"
            if "NANOS" in kind
            else ""
        )
        return SchemaError(
            f"a column of the Parquet files of {where} has the Parquet type {kind}, which "
            f"Spark does not read{nanos}; rewrite the column with a type Spark reads, or "
            "score the files on one machine (riskscore.read_messages reads them)"
        )
    if condition == "UNABLE_TO_INFER_SCHEMA":
        return SchemaError(
            f"no Parquet events file in {where} (files whose names start with '_' or '.' "
            "are not read; nor are files in subdirectories not named column=value)"
        )
    return None


def _merge_error(left: str, right: str, where: str) -> SchemaError:
    """The SchemaError of two files' schemas that Spark cannot merge (``left`` and
    ``right`` as its error writes them): the columns of two types named, with both."""
    first, second = _fields(left), _fields(right)
    clashes = [n for n in first if n in second and first[n] != second[n]]
    if not clashes:
        return SchemaError(
            f"the Parquet files of {where} have schemas Spark cannot merge: write them with "
            "one type per column"
        )
    name = clashes[0]
    more = f" (and {len(clashes) - 1} more columns)" if len(clashes) > 1 else ""
    unread = "" if name in SCHEMA_COLUMNS else " (not a schema v1 column, never read)"
    fix = _fix(name, first[name], second[name])
    return SchemaError(
        f"column {quoted_name(name)}{unread} is {first[name]} in some Parquet files of {where} "
        f"and {second[name]} in others{more}: {fix}",
        column=name,
    )


def _fix(name: str, first: str, second: str) -> str:
    """What a column written as ``first`` in some files and ``second`` in others tells, and
    how to write it with one type."""
    if all(_INTEGERS.fullmatch(kind) is not None for kind in (first, second)):
        fix = _INTEGER_WIDTHS
    elif name in ID_COLUMNS:
        fix = _TWO_IDS
    else:
        fix = _TWO_TIMES if name == "timestamp" else _ONE_TYPE
    return fix + (_NULLS_AS_INT if "INT" in (first, second) else "")


def _fields(struct: str) -> dict[str, str]:
    """The top-level fields of a struct type as Spark's errors write it
    (``"STRUCT<a: BIGINT, b: ARRAY<STRING>>"``), by name; empty if it is not one."""
    text = struct.strip().strip('"')
    if not (text[:7].upper() == "STRUCT<" and text.endswith(">")):
        return {}
    fields: dict[str, str] = {}
    for part in _top_level(text[7:-1]):
        match = _FIELD_RE.fullmatch(part)
        if match is not None:
            name = match[1]
            if name.startswith("`"):
                name = name[1:-1].replace("``", "`")
            fields[name] = match[2].strip()
    return fields


def _top_level(body: str) -> list[str]:
    """``body`` split at its commas outside angle brackets, parentheses and backticks."""
    parts: list[str] = []
    depth, start, quoted = 0, 0, False
    for i, char in enumerate(body):
        if char == "`":
            quoted = not quoted
        elif quoted:
            continue
        elif char in "<(":
            depth += 1
        elif char in ">)":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(body[start:i])
            start = i + 1
    parts.append(body[start:])
    return parts
