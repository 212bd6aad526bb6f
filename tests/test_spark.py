"""riskscore.integrations.spark: parity with single-machine scoring on a local Spark session.

The Spark tests need a Java 17+ runtime; without one they are skipped with a message
saying what to install. The parts that need no Spark (conversation blocks, tally stages,
packed states) are tested in ``test_spark_blocks.py``.
"""

from __future__ import annotations

import importlib.util
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from _groups import room_events
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as sf
from spark_helpers import as_on_spark, runtime_conf

import riskscore as rs
import riskscore.integrations.spark as rs_spark
from riskscore.features import ACCOUNT_SLOTS, extract_account_features, extract_features
from riskscore.integrations._spark_partition import (
    ACCOUNT,
    PAIR_FIRST,
    PAIR_PRIVATE,
    PART_OTHER,
    TallySpec,
    parts_partition,
    tallies_partition,
)

ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------- Spark


@pytest.fixture(scope="module")
def spark(spark_session: SparkSession) -> Iterator[SparkSession]:
    """The shared session (tests/conftest.py), with this file's settings."""
    conf = {
        "spark.sql.shuffle.partitions": "4",
        # small Arrow batches, so that conversations straddle batch boundaries
        "spark.sql.execution.arrow.maxRecordsPerBatch": "1000",
        # small data: compiling generated code would cost more than it saves
        "spark.sql.codegen.wholeStage": "false",
    }
    with runtime_conf(spark_session, conf) as session:
        yield session


def test_a_local_session_has_one_shuffle_partition_per_core(spark_session: SparkSession) -> None:
    """Was: ``local_session`` left ``spark.sql.shuffle.partitions`` at Spark's 200, so
    ``score_events`` without ``partitions=`` ran 200 tasks per stage on 2 cores (each a
    fixed cost) and ``write_scores`` wrote 200 files per date. Given settings still win."""
    key = "spark.sql.shuffle.partitions"
    with runtime_conf(spark_session, {key: "200"}):
        assert rs_spark.local_session(2).conf.get(key) == "2"
        assert rs_spark.local_session(2, {key: "8"}).conf.get(key) == "8"


@pytest.fixture(scope="module")
def data() -> rs.synthetic.SyntheticData:
    # Few adults for many conversations: each adult's conversations land in several
    # partitions, so per-adult features are only right if they are joined in.
    return rs.synthetic.generate(2000, prevalence=0.05, seed=11, n_adults=100)


@pytest.fixture(scope="module")
def small() -> rs.synthetic.SyntheticData:
    return rs.synthetic.generate(300, prevalence=0.1, seed=3)


@pytest.fixture(scope="module")
def model() -> rs.RiskModel:
    return rs.load_model()


@pytest.fixture(scope="module")
def scores(spark: SparkSession, data: rs.synthetic.SyntheticData, model: rs.RiskModel) -> DataFrame:
    """``score_events`` of ``data`` without a shadow model (lazy; its fold ran)."""
    events = spark.createDataFrame(data.messages.to_arrow())
    return rs_spark.score_events(events, model, partitions=6, block_events=4000)


@pytest.fixture(scope="module")
def scored(scores: DataFrame) -> pa.Table:
    out = scores.withColumn("_partition", sf.spark_partition_id()).toArrow()
    return out.sort_by("conversation_id")


@pytest.mark.parametrize("string_ids", [False, True])
def test_tally_stages_equal_single_machine(
    small: rs.synthetic.SyntheticData, string_ids: bool
) -> None:
    """The two tally stages as Spark runs them, on shuffled events in small blocks: parts
    of split conversations, merged per account, are the tallies of all the events."""
    table = small.messages.to_arrow()
    if string_ids:
        for name in ("sender_id", "recipient_id"):
            i = table.schema.get_field_index(name)
            table = table.set_column(i, name, pa.array([f"u{v}" for v in table[name].to_pylist()]))
    rng = np.random.default_rng(4)
    shuffled = table.take(pa.array(rng.permutation(table.num_rows)))
    spec = TallySpec(block_events=500, string_account_ids=string_ids)
    parts = pa.Table.from_batches(list(parts_partition(shuffled.to_batches(300), spec)))
    # the repartition by account: here, every account in one of three hash buckets
    ids = parts[ACCOUNT].to_pylist()
    bucket = np.asarray([zlib.crc32(str(v).encode()) % 3 for v in ids])
    rows = []
    for b in range(3):
        part = parts.filter(pa.array(bucket == b)).sort_by(ACCOUNT)
        rows += list(tallies_partition(part.to_batches(max_chunksize=97), spec))
    out = pa.Table.from_batches(rows)
    is_pair = np.asarray(out[PART_OTHER].is_valid())
    got = out.filter(pa.array(~is_pair)).sort_by("account_id")
    ref = extract_account_features(table)
    assert got["account_id"].to_pylist() == ref.account_id.tolist()
    for j, slot in enumerate(ACCOUNT_SLOTS):
        np.testing.assert_array_equal(got[slot].to_numpy(), ref.values[:, j], err_msg=slot)
    # the facts of each pair of accounts, merged from parts of split conversations
    pairs = out.filter(pa.array(is_pair))
    first, private = ref.pairs.lookup(
        np.asarray(pairs["account_id"].to_pylist(), dtype=ref.account_id.dtype),
        np.asarray(pairs[PART_OTHER].to_pylist(), dtype=ref.account_id.dtype),
    )
    assert len(pairs) == len(ref.pairs) > 0
    np.testing.assert_array_equal(pairs[PAIR_FIRST].to_numpy(), first)
    np.testing.assert_array_equal(pairs[PAIR_PRIVATE].to_numpy(), private)


def test_spark_scores_equal_single_machine(
    scored: pa.Table, data: rs.synthetic.SyntheticData, model: rs.RiskModel
) -> None:
    ref = model.score(data.messages)
    assert scored.column_names[:-1] == list(rs_spark.SCORE_COLUMNS)
    np.testing.assert_array_equal(scored["conversation_id"].to_numpy(), ref.conversation_id)
    np.testing.assert_allclose(scored["risk"].to_numpy(), ref.risk, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(scored["adult_id"].to_numpy(), ref.adult_id)
    np.testing.assert_array_equal(scored["child_id"].to_numpy(), ref.child_id)
    child_age = scored["child_age"].to_numpy(zero_copy_only=False)
    np.testing.assert_array_equal(np.isnan(child_age), np.isnan(ref.child_age))
    # the scores file's reasons, as one machine writes them (riskscore.policy.scores_table)
    want = ref.reasons_array().to_pylist()
    for got, expected in zip(scored["reasons"].to_pylist(), want, strict=True):
        assert [r["feature"] for r in got] == [r["feature"] for r in expected]
        np.testing.assert_allclose(
            [r["contribution"] for r in got], [r["contribution"] for r in expected], atol=1e-9
        )
    assert any(want)
    n_events = np.diff(np.append(data.messages.segment_starts, len(data.messages)))
    np.testing.assert_array_equal(scored["n_events"].to_numpy(), n_events)


def test_spark_alerts_equal_single_machine(
    scored: pa.Table, data: rs.synthetic.SyntheticData, model: rs.RiskModel
) -> None:
    expected = rs.AlertPolicy.default().alerts(model.score(data.messages))
    assert len(expected) > 20  # the comparison below is not vacuous
    got = {
        (c, t, band)
        for c, t, band in zip(
            scored["conversation_id"].to_pylist(),
            scored["tier"].to_pylist(),
            scored["age_band"].to_pylist(),
            strict=True,
        )
        if t > 0
    }
    assert got == {(a.conversation_id, int(a.tier), a.age_band) for a in expected}


def test_a_shadow_model_adds_its_columns_and_leaves_production_alone(
    spark: SparkSession, small: rs.synthetic.SyntheticData, model: rs.RiskModel, scores: DataFrame
) -> None:
    shadow = model.at_prevalence(0.05)  # alerts more than the shipped calibration
    events = spark.createDataFrame(small.messages.to_arrow())
    frame = rs_spark.score_events(events, model, shadow_model=shadow, partitions=3)
    out = frame.toArrow().sort_by("conversation_id")
    columns = list(rs_spark.SCORE_COLUMNS)
    at = columns.index("age_band") + 1
    assert out.column_names == [*columns[:at], "shadow_risk", "shadow_tier", *columns[at:]]
    policy = rs.AlertPolicy.default()
    production = model.score(small.messages)
    production_tiers = policy.tiers(production.risk, production.child_age, production.adult_age)
    # production untouched: the risks and tiers of a run without a shadow model
    np.testing.assert_allclose(out["risk"].to_numpy(), production.risk, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(out["tier"].to_numpy(), production_tiers)
    ref = shadow.score(small.messages)
    np.testing.assert_allclose(out["shadow_risk"].to_numpy(), ref.risk, rtol=0, atol=1e-9)
    tiers = policy.tiers(ref.risk, ref.child_age, ref.adult_age)
    np.testing.assert_array_equal(out["shadow_tier"].to_numpy(), tiers)
    gained = rs_spark.shadow_alerts(frame).where("tier = 0").count()
    assert gained == int(((tiers > 0) & (production_tiers == 0)).sum()) > 0
    # scores of a run without a shadow model (the module's: a run of its own costs a job)
    with pytest.raises(rs.SchemaError, match="shadow_model"):
        rs_spark.shadow_alerts(scores)


def test_adults_span_partitions_and_their_features_are_global(
    scored: pa.Table, data: rs.synthetic.SyntheticData, model: rs.RiskModel
) -> None:
    adults = scored["adult_id"].to_numpy()
    parts = scored["_partition"].to_numpy()
    spread = {a: len(set(parts[adults == a])) for a in np.unique(adults)}
    assert max(spread.values()) > 1, "no adult's conversations were split across partitions"
    # Featurizing one partition alone would miss the adult's other conversations: the
    # parity above therefore depends on the merged tallies being joined in.
    one = data.messages.take_conversations(np.flatnonzero(parts == parts[0]))
    local = extract_features(one)
    joined = extract_features(one, account_features=extract_account_features(data.messages))
    assert np.any(local.column("adult_minor_fanout") < joined.column("adult_minor_fanout"))
    # ... and the model reads them: the partition's risks change with them.
    assert np.any(model.score_features(local).risk != model.score_features(joined).risk)


def test_account_features_equal_single_machine(
    spark: SparkSession, data: rs.synthetic.SyntheticData
) -> None:
    events = spark.createDataFrame(data.messages.to_arrow())
    got = rs_spark.account_features(events).toArrow().sort_by("account_id")
    ref = extract_account_features(data.messages)
    np.testing.assert_array_equal(got["account_id"].to_numpy(), ref.account_id)
    for j, slot in enumerate(ACCOUNT_SLOTS):
        np.testing.assert_array_equal(got[slot].to_numpy(), ref.values[:, j], err_msg=slot)


def test_string_ids_and_ties_match_single_machine(spark: SparkSession, model: rs.RiskModel) -> None:
    msgs = rs.synthetic.generate(200, prevalence=0.1, seed=5).messages
    table = msgs.to_arrow()
    for name in ("conversation_id", "sender_id", "recipient_id"):
        table = table.set_column(
            table.schema.get_field_index(name),
            name,
            pa.array([f"id-{v}" for v in table[name].to_pylist()]),
        )
    # give every event of a conversation its first timestamp: order rests on input order
    first = msgs.timestamp[msgs.segment_starts][msgs.conversation_code]
    table = table.set_column(
        table.schema.get_field_index("timestamp"), "timestamp", pa.array(first)
    )
    ref = model.score(table)
    got = rs_spark.score_events(spark.createDataFrame(table), model, partitions=3).toArrow()
    got = got.sort_by("conversation_id")
    assert got["conversation_id"].to_pylist() == ref.conversation_id.tolist()
    np.testing.assert_allclose(got["risk"].to_numpy(), ref.risk, rtol=0, atol=1e-9)
    assert got["adult_id"].to_pylist() == ref.adult_id.tolist()


def test_whole_decimal_ids_are_the_integers_they_hold(
    spark: SparkSession, model: rs.RiskModel
) -> None:
    """A warehouse's ``NUMBER(38, 0)`` ids (Spark ``decimal(38,0)``) score as the same ids
    given as integers; with one beyond 64 bits, as :func:`riskscore.read_messages` reads
    them (review 35), never cast to null (one missing id) or wrapped into another account."""
    table = rs.synthetic.generate(60, prevalence=0.1, seed=4).messages.to_arrow()
    frame = spark.createDataFrame(table)
    as_decimal = frame
    for name in ("conversation_id", "sender_id", "recipient_id"):
        as_decimal = as_decimal.withColumn(name, sf.col(name).cast("decimal(38,0)"))
    want = rs_spark.score_events(frame, model, partitions=2).toArrow().sort_by("conversation_id")
    got = rs_spark.score_events(as_decimal, model, partitions=2).toArrow()
    assert got.sort_by("conversation_id").equals(want)
    with pytest.raises(rs.SchemaError, match="whole decimals"):
        rs_spark.score_events(
            frame.withColumn("sender_id", sf.col("sender_id").cast("decimal(20,2)")), model
        )


def _beyond_int64(table: pa.Table, column: str) -> pa.Table:
    """``table`` with its ids as ``decimal128(38, 0)``, and the ids of ``column`` moved
    beyond int64 (2**64 more; distinct ids stay distinct)."""
    shift = 2**64
    for name in ("conversation_id", "sender_id", "recipient_id"):
        values = [int(v) + (shift if name == column else 0) for v in table[name].to_pylist()]
        table = table.set_column(
            table.column_names.index(name), name, pa.array(values, pa.decimal128(38, 0))
        )
    return table


@pytest.mark.parametrize("column", ["conversation_id", "sender_id"])
def test_whole_decimal_ids_beyond_int64_score_as_in_memory(
    spark: SparkSession, model: rs.RiskModel, column: str
) -> None:
    """Was: Spark refused whole-decimal ids beyond 64 bits ("Spark scoring takes such ids
    as strings: cast it"), where :func:`riskscore.read_messages` reads the same column as
    the decimal text of its integers (the other account column's integers with it): one
    file scored in memory and refused on Spark. (Review 35; the Spark files share one
    worker, so this test lives here.)"""
    table = _beyond_int64(
        rs.synthetic.generate(40, prevalence=0.2, seed=5).messages.to_arrow(), column
    )
    ref = model.score(rs.read_messages(table, max_future_s=float("inf")))
    got = (
        rs_spark.score_events(
            spark.createDataFrame(table), model, partitions=2, max_future_s=float("inf")
        )
        .toArrow()
        .sort_by("conversation_id")
    )
    assert got["conversation_id"].to_pylist() == ref.conversation_id.tolist()
    assert got["adult_id"].to_pylist() == ref.adult_id.tolist()
    assert got["child_id"].to_pylist() == ref.child_id.tolist()
    np.testing.assert_allclose(got["risk"].to_numpy(), ref.risk, rtol=0, atol=1e-9)


def test_whole_decimal_ids_beyond_int64_beside_text_ids_are_refused_as_in_memory(
    spark: SparkSession,
) -> None:
    """Senders beyond int64 (decimal) beside text recipients: refused on Spark in the
    words of :func:`riskscore.read_messages` (``6`` beside a larger id is held as
    ``"6"``, which a text ``"6"`` would otherwise join), not merged as text."""
    table = _beyond_int64(
        rs.synthetic.generate(10, prevalence=0.2, seed=6).messages.to_arrow(), "sender_id"
    )
    table = table.set_column(
        table.column_names.index("recipient_id"),
        "recipient_id",
        pa.array([str(v) for v in table["recipient_id"].to_pylist()]),
    )
    with pytest.raises(rs.SchemaError) as in_memory:
        rs.read_messages(table, max_future_s=float("inf"))
    with pytest.raises(rs.SchemaError) as on_spark:
        rs_spark.score_events(
            spark.createDataFrame(table), rs.load_model(), max_future_s=float("inf")
        )
    assert str(on_spark.value) == as_on_spark(in_memory.value)
    assert "is text while sender_id holds integer ids" in str(on_spark.value)


def test_refuses_content_and_bad_id_types(spark: SparkSession, model: rs.RiskModel) -> None:
    row = {
        "conversation_id": 1,
        "timestamp": 1_700_000_000,
        "sender_id": 1,
        "recipient_id": 2,
        "channel": "direct",
    }
    with pytest.raises(rs.SchemaError, match="message content"):
        rs_spark.score_events(spark.createDataFrame([{**row, "text": "x"}]), model)
    with pytest.raises(rs.SchemaError, match="ids must be integers, whole decimals or strings"):
        rs_spark.score_events(spark.createDataFrame([{**row, "sender_id": 1.5}]), model)
    with pytest.raises(rs.SchemaError, match="missing required"):
        rs_spark.score_events(spark.createDataFrame([{"conversation_id": 1}]), model)


def test_an_event_dated_in_the_future_fails_the_job_unless_the_limit_is_moved(
    spark: SparkSession, model: rs.RiskModel
) -> None:
    """The future limit of read_messages, one reference time read on the driver: the
    driver raises the executor's SchemaError (tests/test_spark_errors.py), not Spark's
    PythonException around it."""
    rows = [
        {
            "conversation_id": 1,
            "timestamp": 1_680_000_000 + 60 * i,
            "sender_id": "ab"[i % 2],
            "recipient_id": "ba"[i % 2],
            "channel": "direct",
        }
        for i in range(4)
    ]
    rows[2]["timestamp"] = 7_226_582_400  # 2199-01-01
    frame = spark.createDataFrame(rows)
    for job in (
        lambda **kw: rs_spark.score_events(frame, model, **kw),
        lambda **kw: rs_spark.account_features(frame, **kw),
    ):
        with pytest.raises(rs.SchemaError, match=r"row 2: 7226582400 .*max_future_s=157680000 s"):
            job(now=1_700_000_000).toArrow()
        assert job(max_future_s=float("inf")).toArrow().num_rows >= 1


def _write_events(data: rs.synthetic.SyntheticData, path: Path) -> None:
    pq.write_table(data.messages.to_arrow(), path)


def test_example_job_writes_partitioned_parquet(
    spark: SparkSession,
    small: rs.synthetic.SyntheticData,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """examples/spark_job.py as spark-submit runs it, in this session (a second JVM for
    spark-submit itself would double the test's time; docs/spark.md shows the command)."""
    spec = importlib.util.spec_from_file_location("spark_job", ROOT / "examples" / "spark_job.py")
    assert spec is not None
    assert spec.loader is not None
    job = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(job)
    _write_events(small, tmp_path / "events.parquet")
    out = tmp_path / "out"
    assert job.main(["--input", str(tmp_path / "events.parquet"), "--output", str(out)]) == 0
    assert list((out / "scores").glob("date=*/*.parquet"))
    assert "conversations scored: 300" in capsys.readouterr().out
    written: DataFrame = spark.read.parquet(str(out / "alerts"))
    expected = rs.AlertPolicy.default().alerts(rs.load_model().score(small.messages))
    assert written.count() == len(expected)
    # partitioned by the UTC date of each conversation's last event
    last = small.messages.timestamp[small.messages.segment_ends - 1]
    by_id = dict(zip(small.messages.conversations.tolist(), last.tolist(), strict=True))
    for row in written.select("conversation_id", "date").collect():
        day = np.datetime64(by_id[row["conversation_id"]], "s").astype("datetime64[D]")
        assert str(day) == row["date"].isoformat()
    assert {p.name for p in (out / "alerts").glob("date=*")} == {
        f"date={row['date'].isoformat()}" for row in written.select("date").distinct().collect()
    }


def test_broadcasts_alone_leave_integer_conversation_ids(
    spark: SparkSession, model: rs.RiskModel
) -> None:
    """Rooms above max_room_members are set aside before groups are split: a table whose
    only room of more than two accounts is a broadcast keeps integer ids, as on one machine
    (the ids were text when any conversation showed more than two accounts)."""
    t0 = 1_700_000_000
    pair = [
        {"conversation_id": 1, "timestamp": t0 + 60 * i, "sender_id": 10 + i % 2,
         "recipient_id": 11 - i % 2, "sender_age": (41, 12)[i % 2],
         "recipient_age": (12, 41)[i % 2], "channel": "direct", "room_size": 2}
        for i in range(4)
    ]  # fmt: skip
    town = [
        {"conversation_id": 2, "timestamp": t0 + 5, "sender_id": 10, "recipient_id": kid,
         "sender_age": 41, "recipient_age": 12, "channel": "public", "room_size": 500}
        for kid in (20, 21)
    ]  # fmt: skip
    table = pa.Table.from_pylist(pair + town)
    ref = model.score(rs.read_messages(table))
    assert ref.conversation_id.tolist() == [1]
    got = rs_spark.score_events(spark.createDataFrame(table), model, partitions=2).toArrow()
    assert got["conversation_id"].type == pa.int64()
    assert got["conversation_id"].to_pylist() == [1]
    np.testing.assert_allclose(got["risk"].to_numpy(), ref.risk, rtol=0, atol=1e-9)


# ---------------------------------------------------------------- pair ids across partitions


#: A pair id of a room that is the id of a plain conversation, and two rooms whose pairs
#: derive one id (account ids holding the separator): in memory, refused.
CLASHES = {
    "room and conversation": room_events("g", [("a", "b"), ("a", "c")], 1_700_000_000)
    + room_events("g|a|b", [("x", "y"), ("y", "x")], 1_700_000_500),
    "two rooms": room_events("g", [("a|b", "c"), ("a|b", "d")], 1_700_000_000)
    + room_events("g|a", [("b", "c"), ("b", "e")], 1_700_000_500),
}


def _apart(spark: SparkSession, ids: list[str]) -> int:
    """A number of partitions that the repartition by ``conversation_id`` puts ``ids``
    in as many different partitions."""
    frame = spark.createDataFrame([(i,) for i in ids], "conversation_id string")
    for n in range(2, 16):
        parts = frame.repartition(n, "conversation_id").select(sf.spark_partition_id())
        if len({row[0] for row in parts.collect()}) == len(ids):
            return n
    raise AssertionError(f"no partition count of 2 to 15 separates {ids}")


@pytest.mark.parametrize("case", CLASHES)
@pytest.mark.parametrize("where", ["other partitions", "other blocks"])
def test_a_pair_id_clash_across_partitions_is_refused_as_in_memory(
    spark: SparkSession, model: rs.RiskModel, case: str, where: str
) -> None:
    """Each block alone is fine (read_messages checks its own ids); the scores would hold
    one conversation_id twice. Refused on the driver with the in-memory error, and the
    rows the job cached are released."""
    table = pa.Table.from_pylist(CLASHES[case])
    with pytest.raises(rs.SchemaError) as in_memory:
        rs.read_messages(table)
    rooms = sorted(set(table["conversation_id"].to_pylist()))
    kw = {"partitions": _apart(spark, rooms)} if where == "other partitions" else {
        "partitions": 1, "block_events": 1}  # fmt: skip
    frame = spark.createDataFrame(table)
    cached = spark.sparkContext._jsc.getPersistentRDDs().size()
    with pytest.raises(rs.SchemaError) as info:
        rs_spark.score_events(frame, model, **kw).toArrow()
    assert str(info.value) == str(in_memory.value)
    assert info.value.column == "conversation_id"
    assert spark.sparkContext._jsc.getPersistentRDDs().size() == cached
