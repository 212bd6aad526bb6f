"""Conformance of every backend to one reference (issue 14, item 5): the shared parts.

In the style of scikit-learn's ``parametrize_with_checks``, ``tests/test_conformance.py``
runs one check per backend x feature on the same hypothesis-generated event streams.
This module holds what those checks share (the streams are in ``conformance_streams``, the
refusals in ``conformance_refusals``):

- one runner per backend (:data:`LOCAL_BACKENDS` and :func:`run_spark`), each returning
  :class:`Snapshot` objects (features and risk per conversation), cached per stream so
  that the 35 checks of a backend run it once per example;
- :func:`reference`, the uncompiled kernel on the same events;
- :func:`assert_feature_equal`, the one assertion, with the tolerance (:data:`TOLERANCE`).

The reference is the event kernel's Python source run **without numba**
(``NUMBA_DISABLE_JIT=1``, in the worker process of ``tests/test_features_kernel.py``): it is the
definition of every feature (issue 14: "the same Python source run uncompiled is the
reference the tests also run"), and it shares no compiled code, no thread pool, no
chunking and no Spark with any backend, so no backend is checked against itself. The
reference risk is the model applied to the reference features.

Every import of a riskscore submodule (rather than the public ``riskscore`` names) is in
this module (``conformance_refusals`` takes the out-of-core module from here), so that moving
a module into a subpackage means re-pointing it here only.
"""

from __future__ import annotations

import inspect
import math
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow.parquet as pq
import pytest
from _models import random_model, with_stumps
from conformance_streams import Event, Stream, arrow_events, columns
from features_helpers import UncompiledKernel

# riskscore and the submodules the public API does not cover (batch parts, threads,
# out of core): re-point these when modules move.
import riskscore as rs
from riskscore.batch import out_of_core as out_of_core_module
from riskscore.features import batch as _batch
from riskscore.features import kernel as _kernel
from riskscore.features import parts as _parts
from riskscore.features.states import ConversationStates, features_from_states
from riskscore.io import threads as _threads
from riskscore.model import Platt

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

FloatArray = npt.NDArray[np.float64]

FEATURES: Final = rs.FEATURE_NAMES
#: Every check: one per feature, and the model's risk.
CHECKS: Final = (*FEATURES, "risk")
#: The per-account features (an adult's tallies over all its conversations).
ACCOUNT_FEATURES: Final = tuple(spec.name for spec in rs.FEATURES if spec.family == "account")

#: Largest ``|backend - reference|`` accepted, per backend: 0.0 means equal to the last bit
#: (NaN equals NaN, and 0.0 is not -0.0). Every backend promises it: online features and
#: risks "equal to the last bit" (docs/online.md, README), out of core "the same floats"
#: (``score_parquet``), threaded parts bit for bit (tests/test_features_kernel.py), and Spark runs
#: the same ``extract_features`` on blocks of whole conversations with tallies that are
#: whole numbers, moved as float64 in Arrow (docs/spark.md promises risks to 1e-9 only; the
#: features and risks are in fact exact, and this suite holds Spark to that).
TOLERANCE: Final[Mapping[str, float]] = {
    "batch": 0.0,
    "threads": 0.0,
    "online": 0.0,
    "out_of_core": 0.0,
    "spark": 0.0,
}


# ---------------------------------------------------------------- the model


def _probe_model() -> rs.RiskModel:
    """Random stumps on every feature (any mismatch moves the risk), plus a probe.

    The probe makes every known feature value a *reason* whose value Spark's output
    carries (the ``value`` of each of its ``reasons``), which is how the Spark backend's
    features are read: a stump at -1e307 on each feature, worth more than all random stumps
    on that feature, and a reference conversation of -1e308 everywhere, so that each feature's exact
    Shapley contribution ``sum of the stumps it passes`` is positive whenever the value is
    known (an unknown age goes left everywhere: no reason, read back as NaN).
    """
    base = random_model(1)
    # A feature that only lowers risk (direction -1) is a reason when its value is below
    # the reference: there the mirror image, a stump at +1e307 worth -10 and a reference
    # of +1e308.
    lowers = {spec.name for spec in rs.FEATURES if spec.direction < 0}
    probe = with_stumps(
        base,
        [(name, 1e307, -10.0) if name in lowers else (name, -1e307, 10.0) for name in FEATURES],
    )
    reference = np.array([1e308 if name in lowers else -1e308 for name in FEATURES])
    trees = replace(probe.trees, reference=reference)
    # The probes of the features that raise risk (10 each) plus the random stumps give
    # margins of about 10 per such feature less 50: a gentle slope around there keeps risks
    # near one half, where they move with every random stump.
    centre = 10.0 * (len(FEATURES) - len(lowers)) - 50.0
    return rs.RiskModel(trees, Platt(a=-0.05, b=0.05 * centre, prevalence=0.5))


MODEL: Final = _probe_model()
POLICY: Final = rs.AlertPolicy.default()


# ---------------------------------------------------------------- results


@dataclass(frozen=True, eq=False)
class Snapshot:
    """What a backend (or the reference) says after some events: per conversation, its
    features (``FEATURE_NAMES`` order) and risk; ``group`` is the chunk or partition each
    conversation was computed in, where a backend has them."""

    where: str
    conversation_id: tuple[Any, ...]
    values: FloatArray
    risk: FloatArray
    group: Mapping[Any, int] = field(default_factory=dict)

    def value(self, conversation: Any, check: str) -> float:
        # by text: with group rooms, batch ids are text ("7") where online keeps 7
        row = [str(c) for c in self.conversation_id].index(str(conversation))
        if check == "risk":
            return float(self.risk[row])
        return float(self.values[row, FEATURES.index(check)])


def _agree(ref: float, got: float, tolerance: float) -> bool:
    if math.isnan(ref) or math.isnan(got):
        return math.isnan(ref) and math.isnan(got)
    if tolerance == 0.0:
        return ref.hex() == got.hex()  # the last bit, and the sign of zero
    return abs(got - ref) <= tolerance


def assert_feature_equal(
    reference: Snapshot, other: Snapshot, name: str, backend: str, stream: Stream | None = None
) -> None:
    """The one assertion: ``other``'s ``name`` (a feature or ``"risk"``) equals the
    reference's for every conversation, within :data:`TOLERANCE` of ``backend``.

    The message names the backend, the feature, the moment (``where``), each
    conversation and both values (decimal and hex, so a last-bit difference shows),
    then the stream.
    """
    assert reference.where == other.where, (reference.where, other.where)
    assert sorted(map(str, other.conversation_id)) == sorted(map(str, reference.conversation_id)), (
        f"{backend}: conversations {other.conversation_id} differ from the reference's "
        f"{reference.conversation_id} ({reference.where})"
    )
    tolerance = TOLERANCE[backend]
    bad = []
    for cid in reference.conversation_id:
        ref, got = reference.value(cid, name), other.value(cid, name)
        if not _agree(ref, got, tolerance):
            bad.append(
                f"  conversation {cid!r}: reference {ref!r} ({ref.hex()}), "
                f"{backend} {got!r} ({got.hex()}), difference {got - ref!r}"
            )
    if bad:
        limit = "to the last bit" if tolerance == 0.0 else f"within {tolerance}"
        raise AssertionError(
            f"backend {backend!r}, feature {name!r}, {reference.where}: not equal to the "
            f"uncompiled kernel {limit}\n" + "\n".join(bad) + f"\non {stream!r}"
        )


# ---------------------------------------------------------------- shared results

_CACHE: dict[tuple[str, str], tuple[Snapshot, ...]] = {}


def cached(
    kind: str, stream: Stream, run: Callable[[], tuple[Snapshot, ...]]
) -> tuple[Snapshot, ...]:
    """``run()`` once per (kind, stream): the checks of a backend share its results."""
    key = (kind, stream.key())
    if key not in _CACHE:
        _CACHE[key] = run()
    return _CACHE[key]


# ---------------------------------------------------------------- the reference

ALL_EVENTS: Final = "after all events"


def _uncompiled(worker: UncompiledKernel, events: Sequence[Event], where: str) -> Snapshot:
    answer = worker.features(list(events))
    conversations = tuple(answer["conversation_id"])
    values = np.array([float.fromhex(v) for v in answer["values"]]).reshape(-1, len(FEATURES))
    assert len(values) == len(conversations)
    risk = MODEL.predict_proba(values) if len(values) else np.empty(0)
    return Snapshot(where, conversations, values, risk)


def time_ordered(stream: Stream) -> list[Event]:
    """The events in the order an online consumer gets them: time, ties in input order.
    As given (group rooms under their own ids: the online scorer splits them itself)."""
    return sorted(stream.events, key=lambda e: e["timestamp"])  # stable


def _after(i: int, n: int, event: Event) -> str:
    return f"after event {i + 1} of {n} (conversation {event['conversation_id']!r})"


def reference(stream: Stream, worker: UncompiledKernel) -> tuple[Snapshot, ...]:
    """The uncompiled kernel on all the events of ``stream``."""
    return cached("reference", stream, lambda: (_uncompiled(worker, stream.events, ALL_EVENTS),))


def reference_prefixes(stream: Stream, worker: UncompiledKernel) -> tuple[Snapshot, ...]:
    """The uncompiled kernel on every prefix of the time-ordered events (online's oracle)."""

    def run() -> tuple[Snapshot, ...]:
        ordered = time_ordered(stream)
        n = len(ordered)
        return tuple(
            _uncompiled(worker, ordered[: i + 1], _after(i, n, e)) for i, e in enumerate(ordered)
        )

    return cached("reference-prefixes", stream, run)


# ---------------------------------------------------------------- backends


def _from_table(features: rs.FeatureTable, risk: FloatArray, where: str = ALL_EVENTS) -> Snapshot:
    return Snapshot(where, tuple(features.conversation_id.tolist()), features.values, risk)


def run_batch(stream: Stream) -> tuple[Snapshot, ...]:
    """``rs.extract_features`` and the model's ``score`` on the whole table."""
    events = columns(stream.events)
    scores = MODEL.score(events)
    return (_from_table(rs.extract_features(events), scores.risk),)


@contextmanager
def threaded_parts() -> Iterator[None]:
    """Force the threaded path of ``extract_features`` on a small table: worker threads
    from the first row (``THREAD_MIN_ROWS`` 0), two of them, and one part per
    conversation (``PART_EVENTS`` 1)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_threads, "THREAD_MIN_ROWS", 0)
        mp.setattr(_parts, "PART_EVENTS", 1)
        mp.setenv(_threads.THREADS_VARIABLE, "2")
        yield


def run_threads(stream: Stream) -> tuple[Snapshot, ...]:
    """Batch with every conversation a part of its own, on two worker threads."""
    with threaded_parts():
        events = columns(stream.events)
        return (_from_table(rs.extract_features(events), MODEL.score(events).risk),)


def run_online(stream: Stream) -> tuple[Snapshot, ...]:
    """``OnlineScorer.update_one`` over the time-ordered events; after each event, every
    live conversation's ``features_of`` and ``score_of``."""
    scorer = rs.OnlineScorer(MODEL, POLICY, idle_expiry_s=math.inf)
    ordered = time_ordered(stream)
    out = []
    for i, event in enumerate(ordered):
        scorer.update_one(event)
        live = tuple(sorted(scorer.conversation_ids, key=str))
        out.append(
            Snapshot(
                _after(i, len(ordered), event),
                live,
                np.array([scorer.features_of(c) for c in live]).reshape(-1, len(FEATURES)),
                np.array([scorer.score_of(c) for c in live]),
            )
        )
    return tuple(out)


def run_out_of_core(stream: Stream) -> tuple[Snapshot, ...]:
    """``score_parquet`` on a Parquet file of the events in input order, ``chunk_rows``
    events a chunk. Its features are the tables each chunk's ``features_from_states``
    call returned (a spy passes them through unchanged; chunks are scored on two threads,
    so the tables are put back in the order of the scores file); its risks are the scores
    file's."""
    tables: list[rs.FeatureTable] = []

    def spy(states: ConversationStates, accounts: _batch.AccountFeatures) -> rs.FeatureTable:
        table = features_from_states(states, accounts)
        tables.append(table)
        return table

    with tempfile.TemporaryDirectory(prefix="riskscore-conformance-") as tmp:
        path = Path(tmp) / "events.parquet"
        pq.write_table(arrow_events(stream.events), path, row_group_size=max(1, stream.chunk_rows))
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(out_of_core_module, "features_from_states", spy)
            result = out_of_core_module.score_parquet(
                path, Path(tmp) / "out", model=MODEL, policy=POLICY, chunk_rows=stream.chunk_rows
            )
        scores = pq.read_table(result.scores_path)
    assert result.n_chunks == len(tables)
    written = scores["conversation_id"].to_pylist()
    position = {c: k for k, c in enumerate(written)}
    tables.sort(key=lambda t: position[t.conversation_id[0]])
    conversations = tuple(c for t in tables for c in t.conversation_id.tolist())
    assert list(conversations) == written
    risk = dict(zip(written, scores["risk"].to_pylist(), strict=True))
    return (
        Snapshot(
            ALL_EVENTS,
            conversations,
            np.concatenate([t.values for t in tables]),
            np.array([risk[c] for c in conversations]),
            group={c: k for k, t in enumerate(tables) for c in t.conversation_id.tolist()},
        ),
    )


LOCAL_BACKENDS: Final[Mapping[str, Callable[[Stream], tuple[Snapshot, ...]]]] = {
    "batch": run_batch,
    "threads": run_threads,
    "online": run_online,
    "out_of_core": run_out_of_core,
}


# ---------------------------------------------------------------- Spark


#: The suite's settings on the shared local session (tests/conftest.py).
SPARK_CONF: Final = {
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.codegen.wholeStage": "false",  # small data: compiling costs more
    # keep the requested partitions: adaptive execution would coalesce a few
    # dozen rows into one, and no adult's conversations would be split
    "spark.sql.adaptive.coalescePartitions.enabled": "false",
}


def run_spark(stream: Stream, session: SparkSession) -> tuple[Snapshot, ...]:
    """``riskscore.spark.score_events`` with ``partitions`` repartitions and
    ``block_events`` rows per numpy call. Its features are read from the probe model's
    reasons (one per known feature value, ``n_reasons`` = every feature)."""
    from pyspark.sql import functions as sf

    from riskscore.integrations import spark as rs_spark

    frame = session.createDataFrame(arrow_events(stream.events))
    scores = rs_spark.score_events(
        frame,
        MODEL,
        POLICY,
        n_reasons=len(FEATURES),
        partitions=stream.partitions,
        block_events=stream.block_events,
    )
    table = scores.withColumn("_partition", sf.spark_partition_id()).toArrow()
    conversations = tuple(table["conversation_id"].to_pylist())
    values = np.full((len(conversations), len(FEATURES)), np.nan)
    for row, reasons in enumerate(table["reasons"].to_pylist()):
        for reason in reasons:
            value = reason["value"]
            values[row, FEATURES.index(reason["feature"])] = np.nan if value is None else value
    partitions = table["_partition"].to_pylist()
    return (
        Snapshot(
            ALL_EVENTS,
            conversations,
            values,
            np.asarray(table["risk"].to_numpy(), dtype=np.float64),
            group=dict(zip(conversations, partitions, strict=True)),
        ),
    )


def hub_conversations(stream: Stream) -> set[Any]:
    """The conversations of a hub stream's hub account."""
    hub = stream.hub
    return {
        e["conversation_id"] for e in stream.events if hub in (e["sender_id"], e["recipient_id"])
    }


# ---------------------------------------------------------------- premises


def kernel_is_compiled() -> bool:
    """Whether this process runs the kernel compiled (a numba dispatcher, not a function)."""
    return not inspect.isfunction(_kernel.update_conversation)


def threads_are_forced() -> bool:
    """Whether :func:`threaded_parts` really gives a thread pool and one part per event."""
    with threaded_parts():
        pool = _threads.executor_for(1)
        forced = isinstance(pool, ThreadPoolExecutor) and _parts.PART_EVENTS == 1
        pool.shutdown()
        return forced
