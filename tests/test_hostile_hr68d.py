"""Hostile review hr68d: a directory of Parquet files read on Spark (``read_events``).

Spark read a directory with the schema of the one file it sampled: a content-like column
in another file was never seen (scored, where a single file is refused), a column of
another type in another file failed a task with a Java trace (7 and ``"7"``), and
timestamps written as a timestamp type beside epoch seconds were read as milliseconds
counted as seconds; a file in a subdirectory beside files, or beside partition
directories, was silently not read. ``read_events`` now merges the schemas of every file
and refuses a column of two types, an unreadable file, a directory without Parquet files
and files Spark would leave out with a :class:`riskscore.SchemaError` naming the column or
the files.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from conformance_helpers import MODEL, SPARK_CONF
from spark_helpers import runtime_conf

from riskscore.exceptions import SchemaError
from riskscore.integrations.spark import account_features, read_events, score_events

T1 = 1_700_000_000


def _events(conversations: range) -> pa.Table:
    """Six events of each conversation (an adult and a minor), epoch-second times."""
    rows = [
        {
            "conversation_id": c,
            "timestamp": T1 + 3_600 * c + 60 * i,
            "sender_id": [100 + c, 900 + c][i % 2],
            "recipient_id": [900 + c, 100 + c][i % 2],
            "sender_age": [34.0, 13.0][i % 2],
            "recipient_age": [13.0, 34.0][i % 2],
            "channel": "direct",
            "event": "message",
        }
        for c in conversations
        for i in range(6)
    ]
    return pa.Table.from_pylist(rows)


FIRST, SECOND = _events(range(1, 6)), _events(range(6, 11))


def _with(table: pa.Table, name: str, column: Any) -> pa.Table:
    return table.set_column(table.schema.get_field_index(name), name, column)


def _directory(root: Path, files: dict[str, pa.Table | bytes]) -> str:
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            (root / name).write_bytes(content)
        else:
            pq.write_table(content, root / name)
    return str(root)


@pytest.fixture(scope="module")
def spark(spark_session: Any) -> Iterator[Any]:
    with runtime_conf(spark_session, SPARK_CONF) as session:
        yield session
    session.catalog.clearCache()


def test_a_content_column_in_one_file_of_a_directory_is_refused(spark: Any, tmp_path: Path) -> None:
    # Spark sampled a.parquet's schema: the caption of b.parquet was not a column, and
    # the directory was scored where the file alone is refused
    second = SECOND.append_column("caption", pa.array(["x"] * SECOND.num_rows))
    path = _directory(tmp_path / "events", {"a.parquet": FIRST, "b.parquet": second})
    with pytest.raises(SchemaError, match=r"column 'caption' looks like message content"):
        score_events(read_events(spark, path), MODEL)


@pytest.mark.parametrize(
    ("column", "second", "types"),
    [
        # integer ids in one file, their text in the other: 7 and "7" are two ids
        (
            "conversation_id",
            _with(SECOND, "conversation_id", pc.cast(SECOND["conversation_id"], pa.string())),
            ("BIGINT", "STRING"),
        ),
        # epoch seconds beside a timestamp type: read as milliseconds counted as seconds
        (
            "timestamp",
            _with(
                SECOND,
                "timestamp",
                pc.cast(pc.multiply(SECOND["timestamp"], 1000), pa.timestamp("ms", tz="UTC")),
            ),
            ("BIGINT", "TIMESTAMP"),
        ),
        (
            "sender_age",
            _with(SECOND, "sender_age", pc.cast(SECOND["sender_age"], pa.int64())),
            ("DOUBLE", "BIGINT"),
        ),
    ],
)
def test_a_column_of_two_types_in_two_files_is_refused_naming_both(
    spark: Any, tmp_path: Path, column: str, second: pa.Table, types: tuple[str, str]
) -> None:
    path = _directory(tmp_path / "events", {"a.parquet": FIRST, "b.parquet": second})
    with pytest.raises(SchemaError, match=rf"column '{column}' is .* in some Parquet files") as got:
        score_events(read_events(spark, path), MODEL)  # a Py4JJavaError, or a wrong refusal
    assert got.value.column == column
    assert all(t in str(got.value) for t in types), got.value
    assert "Exception" not in str(got.value)


def test_a_plain_spark_read_of_two_id_types_is_refused_naming_the_file(
    spark: Any, tmp_path: Path
) -> None:
    # spark.read.parquet (no merge) sampled a.parquet's BIGINT; reading b.parquet's text ids
    # failed a task: score_events raised Py4JJavaError with a Java trace
    text = _with(SECOND, "conversation_id", pc.cast(SECOND["conversation_id"], pa.string()))
    path = _directory(tmp_path / "events", {"a.parquet": FIRST, "b.parquet": text})
    events = spark.read.parquet(path)
    cached = spark.sparkContext._jsc.getPersistentRDDs().size()
    with pytest.raises(
        SchemaError, match=r"column 'conversation_id' of \S*b\.parquet is Parquet BINARY"
    ):
        score_events(events, MODEL)
    with pytest.raises(SchemaError, match=r"column 'conversation_id' of \S*b\.parquet"):
        account_features(events)
    assert spark.sparkContext._jsc.getPersistentRDDs().size() == cached  # released


@pytest.mark.parametrize(
    ("second", "hint"),
    [
        # int32 ids beside int64 ones: one id space, but Spark merges no two widths
        (
            _with(SECOND, "conversation_id", pc.cast(SECOND["conversation_id"], pa.int32())),
            r"BIGINT in some Parquet files .* and INT in others: integers of two widths",
        ),
        # an empty file written from a pandas frame of no rows: every column a null type
        (
            pa.table({n: pa.nulls(0) for n in FIRST.column_names}),
            r"and INT in others \(and \d+ more columns\): .* empty file\) written from a null type",
        ),
    ],
)
def test_the_refusal_of_two_types_says_what_they_tell(
    spark: Any, tmp_path: Path, second: pa.Table, hint: str
) -> None:
    path = _directory(tmp_path / "events", {"a.parquet": FIRST, "b.parquet": second})
    with pytest.raises(SchemaError, match=hint):
        read_events(spark, path)


def test_a_file_that_is_not_parquet_in_the_directory_is_named(spark: Any, tmp_path: Path) -> None:
    files: dict[str, pa.Table | bytes] = {"a.parquet": FIRST, "notes.parquet": b"not parquet"}
    path = _directory(tmp_path / "events", files)
    with pytest.raises(SchemaError, match=r"notes\.parquet: not a readable Parquet events file"):
        score_events(read_events(spark, path), MODEL)


def test_a_directory_of_hidden_files_only_says_there_is_no_parquet_file(
    spark: Any, tmp_path: Path
) -> None:
    # was Spark's AnalysisException "Unable to infer schema ... specified manually"
    files: dict[str, pa.Table | bytes] = {"._a.parquet": b"\x00\x05", ".DS_Store": b"x"}
    path = _directory(tmp_path / "events", files)
    with pytest.raises(SchemaError, match=r"no Parquet events file in "):
        read_events(spark, path)


@pytest.mark.parametrize(
    ("files", "unread"),
    [
        # a late delivery in a subdirectory beside the files: Spark read a.parquet only
        ({"a.parquet": FIRST, "late/b.parquet": SECOND}, "late/b.parquet"),
        # a file beside partition directories: listed by Spark, its rows never read
        (
            {"date=1/a.parquet": FIRST, "date=2/b.parquet": SECOND, "c.parquet": SECOND},
            "/c.parquet",
        ),
    ],
)
def test_files_spark_would_leave_out_are_refused_by_name(
    spark: Any, tmp_path: Path, files: dict[str, pa.Table | bytes], unread: str
) -> None:
    path = _directory(tmp_path / "events", files)
    with pytest.raises(SchemaError, match=rf"1 file under .* would not be read: \S*{unread}\. "):
        read_events(spark, path)


@pytest.mark.parametrize("paths", [["events", "events/a.parquet"], ["events", "events"]])
def test_a_file_under_two_of_the_paths_is_refused(
    spark: Any, tmp_path: Path, paths: list[str]
) -> None:
    # Spark read a.parquet twice: each of its events counted twice
    _directory(tmp_path / "events", {"a.parquet": FIRST, "b.parquet": SECOND})
    given = [str(tmp_path / p) for p in paths]
    with pytest.raises(SchemaError, match=r"would be read twice, under two of the paths given: "):
        read_events(spark, given)


def test_a_pathlib_path_is_read_and_no_path_is_refused(spark: Any, tmp_path: Path) -> None:
    # a Path raised "'PosixPath' object is not iterable"; bytes a join's TypeError; an
    # empty list reached Spark
    path = Path(_directory(tmp_path / "events", {"a.parquet": FIRST}))
    assert read_events(spark, path).count() == FIRST.num_rows
    with pytest.raises(TypeError, match=r"path must be a path \(str or pathlib.Path\)"):
        read_events(spark, str(path).encode())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"got an empty list"):
        read_events(spark, [])


def test_partitions_beside_other_subdirectories_are_refused_naming_them(
    spark: Any, tmp_path: Path
) -> None:
    files: dict[str, pa.Table | bytes] = {"date=1/a.parquet": FIRST, "tmp/b.parquet": SECOND}
    path = _directory(tmp_path / "events", files)
    with pytest.raises(SchemaError, match=r"partition directories .*events/tmp"):
        read_events(spark, path)  # was pyspark's SparkRuntimeException


def test_a_partition_directory_that_renames_the_files_ids_is_refused(
    spark: Any, tmp_path: Path
) -> None:
    # Spark gave all five conversations of a.parquet the id 1: one conversation of 30 events
    path = _directory(tmp_path / "events", {"conversation_id=1/a.parquet": FIRST})
    with pytest.raises(
        SchemaError, match=r"column 'conversation_id' of .*a\.parquet holds 2, "
    ) as got:
        score_events(read_events(spark, path), MODEL)
    assert got.value.column == "conversation_id"


def test_partition_directories_that_agree_with_the_files_or_give_a_column_are_read(
    spark: Any, tmp_path: Path
) -> None:
    # a directory per conversation holding its events; ages as 13.0 under sender_age=13; and
    # channel partitions with the column left out of the files (as Spark's writer leaves it)
    one = FIRST.filter(pc.equal(FIRST["conversation_id"], 1))
    minor = SECOND.filter(pc.equal(SECOND["sender_age"], 13.0))
    files: dict[str, pa.Table] = {
        "conversation_id=1/a.parquet": one,
        "sender_age=13/b.parquet": minor,
        "channel=direct/c.parquet": FIRST.drop_columns(["channel"]),
    }
    for name, table in files.items():
        directory = _directory(tmp_path / name.split("=")[0], {name: table})
        events = read_events(spark, directory)
        assert events.count() == table.num_rows
        assert "channel" in events.columns


def test_partitions_of_other_string_encodings_with_hidden_files_read_every_event(
    spark: Any, tmp_path: Path
) -> None:
    # dictionary-encoded and large_string text in one file, plain strings in the other, in
    # partition directories; a _SUCCESS marker, an AppleDouble file and .DS_Store beside
    # them are not read (and not "left out")
    first = _with(FIRST, "channel", pc.dictionary_encode(FIRST["channel"]))
    second = _with(SECOND, "event", pc.cast(SECOND["event"], pa.large_string()))
    files: dict[str, pa.Table | bytes] = {
        "date=1/a.parquet": first,
        "date=2/b.parquet": second,
        "_SUCCESS": b"",
        "date=1/._a.parquet": b"\x00\x05\x16\x07",
        ".DS_Store": b"\x00",
    }
    path = _directory(tmp_path / "events", files)
    got = read_events(spark, path).drop("date").toArrow()
    expected = pa.concat_tables([FIRST, SECOND])
    assert got.schema.names == expected.schema.names
    assert sorted(got.to_pylist(), key=str) == sorted(expected.to_pylist(), key=str)
