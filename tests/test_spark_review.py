"""Spark inputs a hostile review found read otherwise than on one machine (December 2026).

Each test names what it was; the single machine's answer is the reference.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyspark.sql import SparkSession
from spark_helpers import as_on_spark, runtime_conf

import riskscore as rs
import riskscore.integrations.spark as rs_spark

T = 1_700_000_000
INFERENCE = "spark.sql.sources.partitionColumnTypeInference.enabled"


@pytest.fixture(scope="module")
def spark(spark_session: SparkSession) -> Iterator[SparkSession]:
    conf = {"spark.sql.shuffle.partitions": "2", "spark.sql.codegen.wholeStage": "false"}
    with runtime_conf(spark_session, conf) as session:
        yield session


def _pair(conversation: str, start: int, adult: str, child: str) -> list[dict[str, object]]:
    return [
        {
            "timestamp": start + 60 * i,
            "sender_id": (adult, child)[i % 2],
            "recipient_id": (child, adult)[i % 2],
            "channel": "direct",
            "sender_age": (34.0, 13.0)[i % 2],
            "recipient_age": (13.0, 34.0)[i % 2],
        }
        for i in range(4)
    ]


def test_partition_directories_of_ids_are_not_read_as_other_ids(
    spark: SparkSession, tmp_path: Path
) -> None:
    """Was: Spark's partition type inference read conversation_id=007 and
    conversation_id=7 both as the integer 7: one conversation of both pairs' events, no
    error. Refused; with the inference off the ids are the directories' text, two
    conversations as on one machine."""
    root = tmp_path / "events of a month"  # a space: Spark lists the files as URIs (%20)
    for name, adult, child in (("007", "a1", "k1"), ("7", "a2", "k2")):
        folder = root / f"conversation_id={name}"
        folder.mkdir(parents=True)
        pq.write_table(pa.Table.from_pylist(_pair(name, T, adult, child)), folder / "p.parquet")
    with pytest.raises(rs.SchemaError, match=r"directory conversation_id=007 .* as int "):
        rs_spark.read_events(spark, str(root))
    with runtime_conf(spark, {INFERENCE: "false"}):
        events = rs_spark.read_events(spark, str(root))
        scored = rs_spark.score_events(events, rs.load_model(), partitions=2).toArrow()
    assert sorted(scored["conversation_id"].to_pylist()) == ["007", "7"]


def test_a_room_understated_below_the_second_is_refused_by_account_features(
    spark: SparkSession,
) -> None:
    """Was: ``account_features`` decided whether to read rooms whole by the events' raw
    times and channels, so one message to six accounts of a room said to hold three (its
    rows a tenth of a second apart, or the channel spelled Group and group) passed, and
    broadcast its contacts into the adult's fan-out. Refused as read_messages refuses it."""
    rows = [
        {"conversation_id": "room", "timestamp": T + k / 10, "sender_id": "adult",
         "recipient_id": f"kid{k}", "channel": ("group", "Group ")[k % 2], "room_size": 3,
         "sender_age": 35.0, "recipient_age": 12.0}
        for k in range(6)
    ]  # fmt: skip
    table = pa.Table.from_pylist(rows)
    with pytest.raises(rs.SchemaError) as alone:
        rs.read_messages(table)
    frame = spark.createDataFrame(table).repartition(6)
    with pytest.raises(rs.SchemaError) as info:
        rs_spark.account_features(frame, partitions=2).collect()
    assert str(info.value).split(": ", 1)[1] == as_on_spark(alone.value).split(": ", 1)[1]


def test_text_that_is_no_room_size_is_the_readers_refusal(spark: SparkSession) -> None:
    """Was: under Spark 4's ANSI mode the room check's cast raised CAST_INVALID_INPUT."""
    rows = [{**r, "conversation_id": 1, "room_size": ("2", "two")[i % 2]}
            for i, r in enumerate(_pair("1", T, "a", "m"))]  # fmt: skip
    table = pa.Table.from_pylist(rows)
    with pytest.raises(rs.SchemaError) as alone:
        rs.read_messages(table)
    with pytest.raises(rs.SchemaError) as info:
        rs_spark.account_features(spark.createDataFrame(table), partitions=1).collect()
    assert str(info.value) == as_on_spark(alone.value)


def test_nanosecond_parquet_times_get_an_error_that_says_what_to_do(
    spark: SparkSession, tmp_path: Path
) -> None:
    """Was: Spark's AnalysisException PARQUET_TYPE_ILLEGAL, naming no file or column."""
    table = pa.Table.from_pylist([{**r, "conversation_id": 1} for r in _pair("1", T, "a", "m")])
    nanos = pa.array(np.asarray(table["timestamp"]) * 10**9, pa.timestamp("ns", tz="UTC"))
    pq.write_table(table.set_column(0, "timestamp", nanos), tmp_path / "events.parquet")
    assert len(rs.read_messages(tmp_path / "events.parquet").to_arrow()) == 4
    with pytest.raises(rs.SchemaError, match=r"TIMESTAMP\(NANOS.*coerce_timestamps='us'"):
        rs_spark.read_events(spark, str(tmp_path))


def test_wrong_arguments_are_refused_before_any_job(spark: SparkSession) -> None:
    """Was: a model given as a path failed after the pass over every event (leaving its
    cache), a policy given as a dict in the executors, a pandas frame in check_columns."""
    table = pa.Table.from_pylist([{**r, "conversation_id": 1} for r in _pair("1", T, "a", "m")])
    frame = spark.createDataFrame(table)
    cached = spark.sparkContext._jsc.getPersistentRDDs().size()
    model = rs.load_model()
    with pytest.raises(TypeError, match="model must be a RiskModel"):
        rs_spark.score_events(frame, "models/default")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="shadow_model must be a RiskModel"):
        rs_spark.score_events(frame, model, shadow_model="x")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="policy must be an AlertPolicy"):
        rs_spark.score_events(frame, model, {"review": 0.5})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"must be a pyspark\.sql\.DataFrame, got pyarrow"):
        rs_spark.score_events(table, model)  # type: ignore[arg-type]
    assert spark.sparkContext._jsc.getPersistentRDDs().size() == cached


def test_large_var_types_score_as_the_default(spark: SparkSession) -> None:
    """Was: with spark.sql.execution.arrow.useLargeVarTypes the states came back as
    large_binary and every scoring task failed."""
    table = rs.synthetic.generate(12, prevalence=0.2, seed=7).messages.to_arrow()
    frame, model = spark.createDataFrame(table), rs.load_model()
    plain = rs_spark.score_events(frame, model, partitions=2).toArrow().sort_by("conversation_id")
    with runtime_conf(spark, {"spark.sql.execution.arrow.useLargeVarTypes": "true"}):
        large = rs_spark.score_events(frame, model, partitions=2).toArrow()
    np.testing.assert_array_equal(large.sort_by("conversation_id")["risk"], plain["risk"])


def test_a_streaming_frame_is_refused_with_what_to_do(spark: SparkSession, tmp_path: Path) -> None:
    """Was: Spark's AnalysisException ("Queries with streaming sources must be executed
    with writeStream.start()") from the first job."""
    table = pa.Table.from_pylist([{**r, "conversation_id": 1} for r in _pair("1", T, "a", "m")])
    pq.write_table(table, tmp_path / "events.parquet")
    stream = spark.readStream.schema(spark.read.parquet(str(tmp_path)).schema).parquet(
        str(tmp_path)
    )
    for run in (rs_spark.account_features, lambda f: rs_spark.score_events(f, rs.load_model())):
        with pytest.raises(rs.SchemaError, match=r"streaming DataFrame .*writeStream.foreachBatch"):
            run(stream)


def test_an_event_at_a_decimal_second_s_end_is_one_event_to_account_features(
    spark: SparkSession,
) -> None:
    """Was: the check of which events to read whole floored decimal times as doubles, so
    1767225600.9999999999 fell in the next second, the rows of one message to three
    accounts of a room of three (the sender makes four) were two events of 2 and 1 rows,
    and account_features took them, read apart, where read_messages refuses them."""
    rows = [
        {"conversation_id": "club", "timestamp": Decimal(time), "sender_id": "coach",
         "recipient_id": kid, "sender_age": 35.0, "recipient_age": 13.0, "channel": "group",
         "room_size": 3}
        for time, kid in (("1767225600.9999999999", "kid1"), ("1767225600.9999999999", "kid2"),
                          ("1767225600.0000000000", "kid3"))
    ]  # fmt: skip
    table = pa.Table.from_pylist(rows)  # timestamp: decimal128(20, 10)
    with pytest.raises(rs.SchemaError) as alone:
        rs.read_messages(table)
    # the first two rows in one partition, the third in another
    frame = spark.createDataFrame(table.slice(0, 2)).union(spark.createDataFrame(table.slice(2)))
    with pytest.raises(rs.SchemaError) as info:
        rs_spark.account_features(frame, partitions=1).collect()
    assert str(info.value) == str(alone.value)


def test_events_without_a_conversation_are_refused_as_in_memory(spark: SparkSession) -> None:
    """Was: no events, or broadcasts only, gave an empty scores DataFrame, where
    extract_features (and so model.score) raises that there is nothing to featurize."""
    broadcasts = pa.Table.from_pylist(
        [{"conversation_id": "hall", "timestamp": T, "sender_id": "host",
          "recipient_id": f"guest{k}", "channel": "group", "room_size": 50} for k in range(3)]
    )  # fmt: skip
    model = rs.load_model()
    for table in (broadcasts, broadcasts.slice(0, 0)):
        with pytest.raises(rs.SchemaError) as alone:
            rs.extract_features(table)
        frame = spark.createDataFrame(broadcasts).limit(table.num_rows)
        with pytest.raises(rs.SchemaError) as info:
            rs_spark.score_events(frame, model, partitions=1)
        assert str(info.value) == str(alone.value)


def test_ties_across_files_keep_the_files_order_as_on_one_machine(
    spark: SparkSession, tmp_path: Path
) -> None:
    """Was: read_events' events were numbered in the order Spark packs files (largest
    first), so an adult's and a child's messages of one second, split over part-0 and
    part-1, were taken in the other order than pyarrow reads the directory (risk 0.072 for
    0.105), and a bad row of part-1 was named before part-0's."""
    adult, child = _pair("c", T, "adult", "kid")[:2]
    first = [{**adult, "conversation_id": "c"}]  # the small file, first by name
    later = [{**child, "timestamp": T, "conversation_id": "c"}] + [
        {**row, "timestamp": row["timestamp"] + 60 * k, "conversation_id": "c"}
        for k in range(1, 6)
        for row in _pair("c", T, "adult", "kid")
    ]
    root = tmp_path / "events"
    root.mkdir()
    for name, rows in (("part-0.parquet", first), ("part-1.parquet", later)):
        pq.write_table(pa.Table.from_pylist(rows), root / name)
    model = rs.load_model()
    alone = model.score(rs.read_messages(pq.read_table(root)))
    events = rs_spark.read_events(spark, str(root))
    scored = rs_spark.score_events(events, model, partitions=1).toArrow()
    assert scored["risk"].to_pylist() == pytest.approx(alone.risk.tolist(), abs=1e-9)
    # the first bad row in the files' order: part-0's row 0 (fax), not part-1's (pigeon)
    for name, rows, channel in (
        ("part-0.parquet", first, "fax"),
        ("part-1.parquet", later, "pigeon"),
    ):
        pq.write_table(
            pa.Table.from_pylist([{**rows[0], "channel": channel}, *rows[1:]]), root / name
        )
    with pytest.raises(rs.SchemaError) as bad_alone:
        rs.read_messages(pq.read_table(root))
    with pytest.raises(rs.SchemaError) as bad:
        rs_spark.account_features(rs_spark.read_events(spark, str(root)), partitions=1)
    assert (
        (bad.value.row, bad.value.value)
        == (bad_alone.value.row, bad_alone.value.value)
        == (0, "fax")
    )
