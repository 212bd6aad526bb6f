"""Conformance of every backend to one reference (issue 14, item 5): the shared parts.

In the style of scikit-learn's ``parametrize_with_checks``, ``tests/test_conformance.py``
runs one check per backend x feature on the same hypothesis-generated event streams.
This module holds what those checks share:

- :func:`event_streams`, the strategy: valid schema v1 event tables;
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
this module, so that moving a module into a subpackage means re-pointing it here only.
"""

from __future__ import annotations

import functools
import inspect
import json
import math
import re
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from _models import random_model, with_stumps
from features_helpers import UncompiledKernel
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

# riskscore and the submodules the public API does not cover (batch parts, threads,
# out of core): re-point these when modules move.
import riskscore as rs
from riskscore.batch import out_of_core as _out_of_core
from riskscore.features import batch as _batch
from riskscore.features import kernel as _kernel
from riskscore.features import parts as _parts
from riskscore.features.states import ConversationStates, features_from_states
from riskscore.io import threads as _threads
from riskscore.model import Platt

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

Event = dict[str, Any]
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


# ---------------------------------------------------------------- streams

T0: Final = 1_714_521_600  # 2024-05-01T00:00:00Z
DAY: Final = 86_400
CHANNELS: Final = ("public", "group", "direct", "ephemeral", "encrypted", "external")
KINDS: Final = ("message", "media", "contact_request", "contact_accept", "block", "report")
#: Declared ages: minors, the 18 boundary, adults, and fractional years.
AGES: Final = (9.0, 12.0, 13.5, 15.0, 17.0, 17.99, 18.0, 19.0, 35.0, 61.5)
#: Offsets in minutes, including the extremes and half and quarter hours.
TZ: Final = (-720, -300, 0, 60, 330, 345, 840)
#: Times that make ties and sit on minute, hour, night and week edges.
EDGES: Final = (0, 59, 60, 3_600, 22 * 3_600 - 1, 22 * 3_600, 86_399, 7 * DAY)


@dataclass(frozen=True)
class Stream:
    """Events in input order, and how the chunked backends split them."""

    events: tuple[Event, ...]
    order: str  # "drawn", "time" or "conversation": how the rows were arranged
    chunk_rows: int = 2  # out of core
    partitions: int = 3  # Spark repartitions
    block_events: int = 4  # Spark rows per numpy call
    hub: str | None = None  # the account with several conversations (hub streams)

    def key(self) -> str:
        return json.dumps(
            [self.events, self.chunk_rows, self.partitions, self.block_events], sort_keys=True
        )


@st.composite
def event_streams(draw: st.DrawFn, *, hub: bool = False) -> Stream:
    """Valid schema v1 event tables: 2-5 accounts in 1-4 conversations, 1-24 events.

    Ages known and unknown per event (minors, adults, the 18 boundary, changes of declared
    age), every channel and event type, time zones from -12:00 to +14:00 or unknown,
    timestamps with ties and on edges, rows in drawn order, in time order or sorted by
    conversation. Some conversations are group rooms of 3-4 accounts (split into pairs),
    some events go to several members at once (a row each), and ``room_size`` is given
    or not, sometimes above the broadcast limit (:mod:`riskscore.io.groups`).

    With ``hub``, account ``u0`` is an adult in 2-4 conversations with different
    accounts (plus maybe one without it), each split into its own chunk and Spark block:
    the case where merging per-account state across chunks and partitions can go wrong.
    """
    n_accounts = draw(st.integers(3, 5) if hub else st.integers(2, 5))
    accounts = [f"u{i}" for i in range(n_accounts)]
    declared = {a: draw(st.sampled_from((None, *AGES))) for a in accounts}
    if hub:
        declared["u0"] = draw(st.sampled_from((None, 35.0, 61.5)))
        for a in accounts[1:]:  # mostly minors, so that the hub's fan-out grows
            declared[a] = draw(st.sampled_from((None, 9.0, 12.0, 13.5, 15.0, 17.99, 18.0, 35.0)))
        n_hub = draw(st.integers(2, n_accounts - 1))
        pairs: list[tuple[str, str]] = [("u0", f"u{i + 1}") for i in range(n_hub)]
        if n_accounts >= 4 and draw(st.booleans()):
            pairs.append((accounts[-1], accounts[-2]))
    else:
        pairs = []
        for _ in range(draw(st.integers(1, 4))):
            first, second, *rest = draw(st.permutations(accounts))
            # a group room: its first pair, then the other members
            room = rest[: draw(st.integers(0, min(2, len(rest))))]
            pairs.append((first, second, *room))
    ids = draw(
        st.lists(st.integers(0, 10_000), min_size=len(pairs), max_size=len(pairs), unique=True)
    )

    def age(account: str) -> float | None:
        choice = draw(st.integers(0, 9))
        if choice == 0:
            return None  # not declared on this event
        if choice == 1:
            return draw(st.sampled_from(AGES))  # another declared age
        return declared[account]

    n_events = draw(st.integers(len(pairs), 24 if hub else 20))
    # every conversation gets an event, then the rest at random
    owners = list(range(len(pairs))) + [
        draw(st.integers(0, len(pairs) - 1)) for _ in range(n_events - len(pairs))
    ]
    times = st.sampled_from(EDGES) | st.integers(0, 30 * DAY)
    # hub streams: more of the events that per-account features count
    kinds = (*KINDS, "contact_request", "contact_accept", "block") if hub else KINDS
    events: list[Event] = []
    # unknown offsets too, but not in hub streams: they keep their draws for the tallies
    offsets = st.sampled_from(TZ) | st.integers(-720, 840)
    if not hub:
        offsets = st.none() | offsets
    for c in owners:
        members = pairs[c]
        a, b = members[:2]
        # in hub streams the hub (first of its pairs) sends two events in three
        if draw(st.integers(0, 2)) == 0 if hub else draw(st.booleans()):
            a, b = b, a
        recipients = [b]
        if len(members) > 2 and draw(st.booleans()):  # any member, and maybe a fan-out
            a = draw(st.sampled_from(members))
            others = [m for m in members if m != a]
            recipients = draw(st.lists(st.sampled_from(others), min_size=1, unique=True))
        room_size = draw(st.sampled_from((None, None, len(members), len(recipients) + 1, 3, 25)))
        shared = {
            "conversation_id": ids[c],
            "timestamp": T0 + draw(times),
            "sender_id": a,
            "sender_age": age(a),
            "channel": draw(st.sampled_from(CHANNELS)),
            "event": draw(st.sampled_from(kinds)),
            "room_size": room_size,
        }
        for r in recipients:  # the rows of one event to a room: one per member it reached
            events.append(
                {
                    **shared,
                    "recipient_id": r,
                    "recipient_age": age(r),
                    "recipient_tz_offset_min": draw(offsets),
                }
            )
    if all(_broadcast(e) for e in events):  # keep something to score
        events[0]["room_size"] = None
    order = draw(st.sampled_from(("drawn", "time", "conversation")))
    if order == "time":
        events.sort(key=lambda e: e["timestamp"])  # stable: ties keep the drawn order
    elif order == "conversation":
        events.sort(key=lambda e: (e["conversation_id"], e["timestamp"]))
    if hub:
        return Stream(tuple(events), order, chunk_rows=1, partitions=4, block_events=1, hub="u0")
    return Stream(
        tuple(events),
        order,
        chunk_rows=draw(st.integers(1, 4)),
        partitions=draw(st.integers(1, 4)),
        block_events=draw(st.integers(1, 8)),
    )


def _broadcast(event: Event) -> bool:
    return (event["room_size"] or 0) > 20 and event["event"] in ("message", "media")


def columns(events: Sequence[Event]) -> dict[str, list[Any]]:
    return {name: [e[name] for e in events] for name in events[0]}


def arrow_events(events: Sequence[Event]) -> pa.Table:
    """The events as an Arrow table with explicit types (nullable ages), in input order."""
    schema = pa.schema(
        [
            ("conversation_id", pa.int64()),
            ("timestamp", pa.int64()),
            ("sender_id", pa.string()),
            ("recipient_id", pa.string()),
            ("sender_age", pa.float64()),
            ("recipient_age", pa.float64()),
            ("channel", pa.string()),
            ("event", pa.string()),
            ("recipient_tz_offset_min", pa.int32()),
            ("room_size", pa.int32()),
        ]
    )
    return pa.Table.from_pydict(columns(events), schema=schema)


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


# ---------------------------------------------------------------- streams for all checks


def draw_streams(strategy: st.SearchStrategy[Stream], n: int) -> tuple[Stream, ...]:
    """``n`` streams drawn by hypothesis, the same ones on every run (``derandomize``, no
    database), shared by every check of a test.

    Drawn once rather than by ``@given`` on each check: hypothesis varies the examples
    between the items of a parametrized test, and each backend should run once per
    stream, not once per feature (35 times).
    """
    out: list[Stream] = []

    @settings(
        max_examples=n,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(stream: Stream) -> None:
        out.append(stream)

    collect()
    return tuple(out)


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
            mp.setattr(_out_of_core, "features_from_states", spy)
            result = _out_of_core.score_parquet(
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


# ---------------------------------------------------------------- refusals

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
        _out_of_core.score_parquet(
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
    """``message`` without the event the online scorer names (``, event 7``): online
    refuses the event that completes the clash, batch the whole input."""
    return re.sub(r"^(column '\w+'), event \d+:", r"\1:", message)


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
            str(reference),
        ):
            bad.append(f"  {backend}: {exc} (column {exc.column!r}, value {exc.value!r})")
    if bad:
        expected = "nothing" if reference is None else repr(reference)
        raise AssertionError(f"{case}: not refused as in memory ({expected})\n" + "\n".join(bad))
