"""Conformance suite: every backend refuses a bad input as ``rs.read_messages`` does.

:func:`local_refusals` and :func:`spark_refusals` run each backend on the same events and
:func:`assert_refused_alike` is the one assertion: the same :class:`riskscore.SchemaError`
(column, value and text) everywhere, or no error anywhere.
"""

from __future__ import annotations

import functools
import math
import re
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from conformance_helpers import MODEL, POLICY, out_of_core_module
from conformance_streams import Event

import riskscore as rs
from riskscore.integrations._spark_errors import SPARK_HINT
from riskscore.io.problems import QUARANTINE_HINT

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

#: The backends that must refuse an input the way ``rs.read_messages`` does.
Refusals = dict[str, BaseException | None]


def refusal(run: Callable[[], object]) -> BaseException | None:
    """What ``run()`` raised (None if it returned)."""
    try:
        run()
    except Exception as exc:  # any exception: compared, not handled
        return exc
    return None


def _online(events: Sequence[Event]) -> None:
    scorer = rs.OnlineScorer(MODEL, POLICY, idle_expiry_s=math.inf)
    for event in sorted(events, key=lambda e: e["timestamp"]):  # stable: ties in input order
        scorer.update_one(event)


def _score_file(table: pa.Table, chunk_rows: int) -> None:
    with tempfile.TemporaryDirectory(prefix="riskscore-conformance-") as tmp:
        path = Path(tmp) / "events.parquet"
        pq.write_table(table, path, row_group_size=chunk_rows)
        out_of_core_module.score_parquet(
            path, Path(tmp) / "out", model=MODEL, policy=POLICY, chunk_rows=chunk_rows
        )


def local_refusals(events: Sequence[Event]) -> Refusals:
    """What each local backend raises on ``events``: in memory (``read_messages``,
    ``score``, ``extract_account_features``), online (``update_one`` in time order) and
    out of core with one chunk per event or one chunk in all."""
    table = pa.Table.from_pylist(list(events))
    return {
        "read_messages": refusal(lambda: rs.read_messages(table)),
        "score": refusal(lambda: MODEL.score(table)),
        "extract_account_features": refusal(lambda: rs.extract_account_features(table)),
        "online": refusal(lambda: _online(events)),
        "out_of_core, a chunk per event": refusal(lambda: _score_file(table, 1)),
        "out_of_core, one chunk": refusal(lambda: _score_file(table, 10_000)),
    }


#: The ways :func:`spark_refusals` lays events out on Spark.
SPARK_LAYOUTS: Final = (
    "one block",
    "a block per conversation",
    "read a partition per conversation",
)


def spark_refusals(
    events: Sequence[Event], session: SparkSession, layouts: Sequence[str] = SPARK_LAYOUTS
) -> Refusals:
    """What ``score_events`` and ``account_features`` raise on ``events`` on Spark, in each
    of ``layouts``: every conversation in one block, a block per conversation
    (``block_events=1``), and the events of each conversation read in a partition of
    their own."""
    from riskscore.integrations import spark as rs_spark

    table = pa.Table.from_pylist(list(events))
    frame = session.createDataFrame(table)
    ids = table["conversation_id"]
    apart = functools.reduce(
        lambda a, b: a.union(b),
        [session.createDataFrame(table.filter(pc.equal(ids, c))) for c in ids.unique()],
    )
    runs = {
        "one block": (frame, {}),
        "a block per conversation": (frame, {"block_events": 1}),
        "read a partition per conversation": (apart, {}),
    }
    out: Refusals = {}
    for where in layouts:
        events_frame, kw = runs[where]
        out[f"spark score_events, {where}"] = refusal(
            lambda f=events_frame, kw=kw: rs_spark.score_events(
                f, MODEL, POLICY, partitions=1, **kw
            ).toArrow()
        )
        out[f"spark account_features, {where}"] = refusal(
            lambda f=events_frame, kw=kw: rs_spark.account_features(f, partitions=1, **kw).toArrow()
        )
    return out


def _unplaced(message: str) -> str:
    """``message`` without the place it names (``, event 7`` online, ``, row 0`` in a
    table): online refuses the event that completes a clash, batch the whole input, and
    the two number their input each in its own way. Spark's hint on the other bad rows
    (it has no quarantine) is read as the one it stands for."""
    message = message.replace(SPARK_HINT, QUARANTINE_HINT)
    return re.sub(r"^(column '\w+'), (?:event|row) \d+:", r"\1:", message)


def assert_refused_alike(reference: BaseException | None, got: Refusals, case: str) -> None:
    """The one assertion for refusals: every backend of ``got`` raised a
    :class:`riskscore.SchemaError` of the same column, value and text as ``reference``
    (``rs.read_messages`` on the same events; online names its event besides), or, when
    ``reference`` is None, none raised."""
    bad = []
    for backend, exc in got.items():
        if reference is None:
            if exc is not None:
                bad.append(f"  {backend}: raised {type(exc).__name__}: {exc}")
            continue
        if not isinstance(exc, rs.SchemaError):
            found = "nothing" if exc is None else f"{type(exc).__name__}: {exc}"
            bad.append(f"  {backend}: raised {found}")
        elif (exc.column, exc.value, _unplaced(str(exc))) != (
            getattr(reference, "column", None),
            getattr(reference, "value", None),
            _unplaced(str(reference)),
        ):
            bad.append(f"  {backend}: {exc} (column {exc.column!r}, value {exc.value!r})")
    if bad:
        expected = "nothing" if reference is None else repr(reference)
        raise AssertionError(f"{case}: not refused as in memory ({expected})\n" + "\n".join(bad))


def refused_alike(events: Sequence[Event], case: str) -> rs.SchemaError:
    """The :class:`riskscore.SchemaError` ``rs.read_messages`` raises on ``events``, after
    asserting that every local backend refused them the same way
    (:func:`assert_refused_alike`); the caller checks what is particular to its case."""
    got = local_refusals(events)
    reference = got.pop("read_messages")
    assert isinstance(reference, rs.SchemaError), reference
    assert_refused_alike(reference, got, case)
    return reference
