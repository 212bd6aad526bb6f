"""DataFrame plumbing of Spark scoring (private): the pyspark import (with the message
that names the extra), checks and normalization of the events' ids, the Spark schema of
a stage's Arrow batches, the number of partitions, and the broadcast of the scoring
spec. :mod:`riskscore.integrations.spark` builds its stages with these.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from riskscore._optional import missing_extra
from riskscore.exceptions import SchemaError
from riskscore.integrations._spark_partition import ScoringSpec
from riskscore.io.columnar import schema_names
from riskscore.io.schema import ID_COLUMNS, INT64_MAX, INT64_MIN, SCHEMA_COLUMNS

try:
    from py4j.protocol import Py4JError, Py4JJavaError
    from pyspark.errors import PySparkException
    from pyspark.sql import Column, DataFrame, SparkSession
    from pyspark.sql import functions as sf
    from pyspark.sql import types as st
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise missing_extra(
        "spark",
        "riskscore.integrations.spark",
        exc,
        hint="and a Java 17+ runtime (e.g. apt-get install openjdk-17-jre-headless)",
    ) from exc

__all__ = [
    "Column",
    "DataFrame",
    "Py4JError",
    "Py4JJavaError",
    "PySparkException",
    "Shared",
    "SparkSession",
    "broadcast",
    "check_columns",
    "normalize_ids",
    "partitions_of",
    "sf",
    "spark_schema",
    "st",
    "text_ids",
]


def check_columns(events: DataFrame) -> None:
    """Schema v1 column names (those of fields nested in other columns too, for content),
    and ids that are integers or strings (else a SchemaError)."""
    schema_names(list(events.columns), _field_paths(events.schema))
    for name in ID_COLUMNS:
        kind = events.schema[name].dataType
        whole = isinstance(kind, st.DecimalType) and kind.scale == 0  # a warehouse's NUMBER(38, 0)
        if not (whole or isinstance(kind, (st.IntegralType, st.StringType))):
            raise SchemaError(
                f"column {name!r} has Spark type {kind.simpleString()}: ids must be integers, "
                "whole decimals or strings; cast it, e.g. "
                f"events.withColumn({name!r}, col({name!r}).cast('long'))",
                column=name,
            )


def _beyond_int64(events: DataFrame) -> set[str]:
    """The whole-decimal id columns (``decimal(p, 0)``) holding an id beyond 64-bit
    integers (one pass, over those of more than 18 digits only): read as
    :func:`riskscore.read_messages` reads such a column, as the decimal text of its
    integers (:class:`riskscore.io.ids.DecimalIds`), never cast to null or wrapped into
    another id."""
    wide = [
        n
        for n in ID_COLUMNS
        if isinstance(kind := events.schema[n].dataType, st.DecimalType) and kind.precision > 18
    ]
    if not wide:
        return set()
    row = events.agg(*[f(n) for n in wide for f in (sf.min, sf.max)]).first()
    bounds = [] if row is None else list(row)  # one row, of nulls when there are no events
    return {
        name
        for j, name in enumerate(wide)
        if any(
            v is not None and not INT64_MIN <= int(v) <= INT64_MAX
            for v in (bounds[2 * j], bounds[2 * j + 1])
        )
    }


def _field_paths(schema: Any) -> list[str]:
    """The dotted paths of the fields nested in a Spark schema's columns, through arrays
    and maps, as :func:`riskscore.io.nested_fields.field_paths` gives an Arrow schema's: a
    content-like field in a struct column (``meta.text``) is refused as in batch."""
    paths: list[str] = []
    todo = [(field.name, field.dataType) for field in schema.fields]
    while todo:
        prefix, kind = todo.pop()
        if isinstance(kind, st.StructType):
            for child in kind.fields:
                paths.append(f"{prefix}.{child.name}")
                todo.append((f"{prefix}.{child.name}", child.dataType))
        elif isinstance(kind, st.ArrayType):
            todo.append((prefix, kind.elementType))
        elif isinstance(kind, st.MapType):
            todo += [(prefix, kind.keyType), (prefix, kind.valueType)]
    return paths


def normalize_ids(events: DataFrame) -> tuple[DataFrame, bool, bool]:
    """Ids as :func:`riskscore.read_messages` reads them: integers as long, text as it is,
    and a column of integers with one beyond int64 (whole decimals) as their decimal text,
    with the other account column's integers beside it (one account space); whether
    conversation ids are text, and whether account ids are. Integer senders beside text
    recipients (or the reverse) are left so, the integers beyond int64 as decimals: the
    tasks refuse them as :func:`riskscore.read_messages` does (``500`` and ``"500"`` are
    two accounts; made one type, they would be one)."""
    wide = _beyond_int64(events)
    text = {name: isinstance(events.schema[name].dataType, st.StringType) for name in ID_COLUMNS}
    accounts = ("sender_id", "recipient_id")
    mixed = text["sender_id"] != text["recipient_id"]
    decimal_text = {"conversation_id"} & wide
    if not mixed and wide & set(accounts):
        decimal_text |= set(accounts)
    out = events.select(*[c for c in SCHEMA_COLUMNS if c in events.columns])
    for name in ID_COLUMNS:
        if name in decimal_text:
            text[name] = True
        elif name in wide:  # beside text ids: left for the tasks to refuse, as in memory
            continue
        out = out.withColumn(name, sf.col(name).cast(_id_type(text[name])))
    return out, text["conversation_id"], text["sender_id"] or text["recipient_id"]


def text_ids(events: DataFrame) -> list[str]:
    """The id columns of ``events`` that hold text."""
    return [n for n in ID_COLUMNS if isinstance(events.schema[n].dataType, st.StringType)]


def _id_type(text: bool) -> st.DataType:
    return st.StringType() if text else st.LongType()


def partitions_of(events: DataFrame, partitions: int | None) -> int:
    """``partitions``, or by default the session's ``spark.sql.shuffle.partitions``."""
    if partitions is not None:
        return partitions
    return int(events.sparkSession.conf.get("spark.sql.shuffle.partitions") or 200)


_SPARK_TYPES: dict[pa.DataType, st.DataType] = {
    pa.bool_(): st.BooleanType(),
    pa.binary(): st.BinaryType(),
    pa.int32(): st.IntegerType(),
    pa.int64(): st.LongType(),
    pa.float64(): st.DoubleType(),
    pa.string(): st.StringType(),
    pa.date32(): st.DateType(),
}


def _spark_type(kind: pa.DataType) -> st.DataType:
    """The Spark type of an Arrow type of the few a stage yields (lists of structs: the
    scores' ``reasons``)."""
    if pa.types.is_list(kind):
        return st.ArrayType(_spark_type(kind.value_type), containsNull=True)
    if pa.types.is_struct(kind):
        return st.StructType(
            [st.StructField(f.name, _spark_type(f.type), nullable=True) for f in kind]
        )
    return _SPARK_TYPES[kind]


def spark_schema(schema: pa.Schema) -> st.StructType:
    """The Spark schema of the Arrow batches a stage yields."""
    return st.StructType(
        [st.StructField(f.name, _spark_type(f.type), nullable=True) for f in schema]
    )


class Shared:
    """A broadcast variable, or the value itself on Spark Connect (no broadcast there;
    the spec, about 120 kB with the shipped model, is then sent with each task)."""

    def __init__(self, value: ScoringSpec) -> None:
        self.value = value


def broadcast(spark: SparkSession, spec: ScoringSpec) -> Any:
    """``spec`` as a broadcast variable (a :class:`Shared` on Spark Connect)."""
    try:
        context = spark.sparkContext
    except Exception:  # Spark Connect has no SparkContext
        return Shared(spec)
    return context.broadcast(spec)
