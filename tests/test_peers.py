"""The benchmark's peers (``benchmarks/peers/``) compute exactly riskscore's features.

Every peer is an independent implementation of the definitions in ``docs/features.md``
(polars, pandas, a plain Python loop); ``benchmarks/bench_throughput.py`` only compares
speeds that this test has shown to be speeds of the same computation. The events are
synthetic conversations pushed toward the hard cases: no age known on either side (the
role rule by signs of approach), ages known on one side or on some events only, time
zones from UTC-12:00 to UTC+14:00 changing from event to event, events in the same
second, every event kind and channel, and hand-written conversations for each branch of
the role rule.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import riskscore as rs
from riskscore.io.schema import CHANNEL_NAMES, EVENT_NAMES

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

PEERS = ("polars_peer", "pandas_peer", "python_peer")
from peers._codes import NOT_IN_PEERS, PEER_FEATURES  # noqa: E402 (after the path)

_TZ_OFFSETS = np.array([-720, -570, -300, -60, 0, 60, 330, 345, 540, 765, 840])
_T0 = 1_767_225_600  # 2026-01-01T00:00:00Z


def _peer(name: str) -> Callable[[pa.Table], tuple[np.ndarray, np.ndarray]]:
    if name == "polars_peer":
        pytest.importorskip(
            "polars",
            reason="the polars peer needs polars (the bench extra: pip install -e '.[bench]')",
        )
    features: Callable[[pa.Table], tuple[np.ndarray, np.ndarray]]
    features = importlib.import_module(f"peers.{name}").features
    return features


def _hand_written(first_conversation: int, first_account: int) -> dict[str, list[Any]]:
    """One conversation per branch of the role rule and per edge of the definitions."""
    nan = float("nan")
    # (seconds, sent by the initiator, sender_age, recipient_age, channel, event, offset)
    cases: list[list[tuple[Any, ...]]] = [
        # no age: the responder writes more and shares a link to another app: it is the adult
        [
            (0, 1, nan, nan, "direct", "message", 0),
            (60, 0, nan, nan, "direct", "message", 0),
            (120, 0, nan, nan, "external", "message", 0),
            (180, 0, nan, nan, "direct", "media", 0),
        ],
        # no age: the responder sent a contact request, the initiator wrote more: a tie,
        # the initiator is the adult
        [
            (0, 1, nan, nan, "public", "message", 60),
            (5, 0, nan, nan, "public", "contact_request", 60),
            (9, 1, nan, nan, "direct", "message", 60),
            (9, 1, nan, nan, "direct", "message", 60),
        ],
        # no age: the responder blocked and reported the initiator, the adult
        [
            (0, 1, nan, nan, "group", "message", -300),
            (30, 0, nan, nan, "group", "message", -300),
            (40, 0, nan, nan, "group", "block", -300),
            (41, 0, nan, nan, "group", "report", -300),
        ],
        # no age: the responder was blocked, asked, wrote more and shared a link: it
        [
            (0, 1, nan, nan, "direct", "block", 0),
            (10, 0, nan, nan, "direct", "contact_request", 0),
            (20, 0, nan, nan, "external", "message", 0),
            (30, 0, nan, nan, "direct", "message", 0),
        ],
        # only the responder's age, an adult; only the initiator's, a minor
        [
            (0, 1, nan, 34.0, "direct", "message", 840),
            (90, 0, nan, nan, "encrypted", "media", -720),
        ],
        [
            (0, 1, 14.0, nan, "direct", "message", 540),
            (90, 0, nan, nan, "direct", "message", 540),
        ],
        # equal ages: the initiator; ages declared then changed: the last ones count
        [
            (0, 1, 15.0, 15.0, "public", "message", 0),
            (7, 0, 15.0, 15.0, "public", "message", 0),
        ],
        [
            (0, 1, 40.0, 13.0, "direct", "message", 0),
            (7, 0, 16.0, 40.0, "direct", "message", 0),
            (8, 1, 12.0, nan, "direct", "message", 0),
        ],
        # no communication event at all; a single event
        [
            (0, 1, 30.0, 12.0, "direct", "contact_request", 0),
            (5, 0, 12.0, 30.0, "direct", "block", 0),
        ],
        [
            (0, 1, nan, nan, "ephemeral", "media", 345),
        ],
        # starts on a private channel (no move); moves public to external within an hour
        [
            (0, 1, 30.0, 12.0, "encrypted", "message", 0),
            (5, 0, 12.0, 30.0, "public", "message", 0),
            (9, 1, 30.0, 12.0, "external", "message", 0),
        ],
        [
            (0, 1, 30.0, 12.0, "public", "message", 0),
            (1800, 1, 30.0, 12.0, "direct", "message", 0),
            (3000, 1, 30.0, 12.0, "external", "message", 0),
            (3000, 0, 12.0, 30.0, "group", "message", 0),
        ],
        # around midnight UTC, clocks far apart: the initiator sends before it has received
        [
            (-60, 1, 30.0, 12.0, "direct", "message", -720),
            (0, 1, 30.0, 12.0, "direct", "media", 840),
            (60, 0, 12.0, 30.0, "ephemeral", "media", -570),
            (120, 1, 30.0, 12.0, "ephemeral", "media", 765),
        ],
        # unknown offsets (None): never UTC; a known one is kept for later unknown ones
        [
            (-60, 1, 30.0, 12.0, "direct", "media", None),
            (0, 0, 12.0, 30.0, "encrypted", "message", None),
            (60, 1, 30.0, 12.0, "direct", "message", 120),
            (120, 1, 30.0, 12.0, "ephemeral", "media", None),
            (180, 0, 12.0, 30.0, "ephemeral", "message", None),
        ],
    ]
    out: dict[str, list[Any]] = {
        name: [] for name in rs.io.schema.SCHEMA_COLUMNS if name != "room_size"
    }
    for k, case in enumerate(cases):
        initiator, responder = first_account + 2 * k, first_account + 2 * k + 1
        for dt, from_initiator, s_age, r_age, channel, event, tz in case:
            out["conversation_id"].append(first_conversation + k)
            out["timestamp"].append(_T0 + 86_400 * k + dt)
            out["sender_id"].append(initiator if from_initiator else responder)
            out["recipient_id"].append(responder if from_initiator else initiator)
            out["sender_age"].append(s_age)
            out["recipient_age"].append(r_age)
            out["channel"].append(channel)
            out["event"].append(event)
            out["recipient_tz_offset_min"].append(tz)
    return out


def _stressed_events(n_conversations: int, seed: int) -> pa.Table:
    """Synthetic events pushed toward the hard cases, rows shuffled."""
    rng = np.random.default_rng(seed)
    table = rs.synthetic.generate(n_conversations, prevalence=0.05, seed=seed).messages.to_arrow()
    cols = {name: table.column(name).to_numpy(zero_copy_only=False) for name in table.column_names}
    cols["sender_age"] = cols["sender_age"].astype(np.float64)
    cols["recipient_age"] = cols["recipient_age"].astype(np.float64)
    conv = cols["conversation_id"]
    ids = np.unique(conv)

    def some(share: float) -> np.ndarray:
        """Rows of a random ``share`` of the conversations."""
        return np.isin(conv, rng.choice(ids, size=int(share * len(ids)), replace=False))

    no_ages = some(0.3)  # the role rule by signs of approach
    cols["sender_age"][no_ages] = np.nan
    cols["recipient_age"][no_ages] = np.nan
    patchy = some(0.15) & (rng.random(len(conv)) < 0.6)  # ages declared on some events only
    cols["sender_age"][patchy & (rng.random(len(conv)) < 0.5)] = np.nan
    cols["recipient_age"][patchy] = np.nan
    travelling = some(0.25)  # offsets that change from event to event
    cols["recipient_tz_offset_min"] = np.where(
        travelling, rng.choice(_TZ_OFFSETS, size=len(conv)), cols["recipient_tz_offset_min"]
    ).astype(np.float64)
    unknown = some(0.2) & (rng.random(len(conv)) < 0.5)  # offsets not recorded (None)
    cols["recipient_tz_offset_min"][unknown] = np.nan
    coarse = some(0.15)  # many events in the same second (ties keep their input order)
    cols["timestamp"] = np.where(coarse, cols["timestamp"] // 600 * 600, cols["timestamp"])

    extra = _hand_written(
        int(ids.max()) + 1, int(max(cols["sender_id"].max(), cols["recipient_id"].max())) + 1
    )
    extra["recipient_tz_offset_min"] = [
        np.nan if v is None else v for v in extra["recipient_tz_offset_min"]
    ]
    merged = {
        name: np.concatenate([cols[name], np.asarray(extra[name], dtype=cols[name].dtype)])
        for name in cols
    }
    order = rng.permutation(len(merged["conversation_id"]))  # the peers must sort too
    tz = merged.pop("recipient_tz_offset_min")[order]
    table = pa.table({name: values[order] for name, values in merged.items()})
    offsets = pa.array(np.nan_to_num(tz).astype(np.int16), mask=np.isnan(tz))
    return table.append_column("recipient_tz_offset_min", offsets)


def _sorted_dictionary(events: pa.Table) -> pa.Table:
    """The same events as the benchmark reads them from Parquet: sorted by conversation,
    then time (stable), ``channel`` and ``event`` dictionary-encoded."""
    order = np.lexsort(
        (events.column("timestamp").to_numpy(), events.column("conversation_id").to_numpy())
    )
    table = events.take(pa.array(order))
    for name in ("channel", "event"):
        table = table.set_column(
            table.schema.get_field_index(name), name, pc.dictionary_encode(table.column(name))
        )
    return table


@pytest.fixture(scope="module")
def events() -> dict[str, pa.Table]:
    shuffled = _stressed_events(1500, seed=8)
    return {"shuffled text": shuffled, "sorted dictionary": _sorted_dictionary(shuffled)}


@pytest.mark.parametrize("layout", ["shuffled text", "sorted dictionary"])
@pytest.mark.parametrize("peer", PEERS)
def test_peer_features_equal_riskscore(peer: str, layout: str, events: dict[str, pa.Table]) -> None:
    features = _peer(peer)
    table = events[layout]
    expected = rs.extract_features(table)
    ids, values = features(table)
    np.testing.assert_array_equal(ids, expected.conversation_id)
    assert values.shape == (len(expected.conversation_id), len(PEER_FEATURES))
    for j, name in enumerate(PEER_FEATURES):
        np.testing.assert_allclose(
            values[:, j], expected.column(name), rtol=0, atol=1e-9, equal_nan=True, err_msg=name
        )


def test_the_polars_peer_on_the_streaming_engine_equals_riskscore(
    events: dict[str, pa.Table],
) -> None:
    """Above two million events (the 10M benchmark) the polars peer collects on polars'
    streaming engine: its grouped first/last and paired sums must give the same features."""
    features: Callable[..., tuple[np.ndarray, np.ndarray]] = _peer("polars_peer")
    table = events["shuffled text"]
    expected = rs.extract_features(table)
    ids, values = features(table, engine_name="streaming")
    np.testing.assert_array_equal(ids, expected.conversation_id)
    for j, name in enumerate(PEER_FEATURES):
        np.testing.assert_allclose(
            values[:, j], expected.column(name), rtol=0, atol=1e-9, equal_nan=True, err_msg=name
        )


def test_the_peers_compute_every_feature_but_those_of_group_rooms_and_clock_coverage() -> None:
    assert set(NOT_IN_PEERS) <= set(rs.FEATURE_NAMES)
    assert tuple(n for n in rs.FEATURE_NAMES if n not in NOT_IN_PEERS) == PEER_FEATURES
    assert len(PEER_FEATURES) == len(rs.FEATURE_NAMES) - 4
    assert set(rs.model.MODEL_INPUTS) <= set(PEER_FEATURES)  # the benchmark's scores too


def test_the_comparison_has_teeth(events: dict[str, pa.Table]) -> None:
    """The data reaches every feature, branch and category that the peers must get right."""
    table = events["shuffled text"]
    X = rs.extract_features(table)
    peer_columns = [X.names.index(name) for name in PEER_FEATURES]
    assert np.all(np.nanstd(X.values[:, peer_columns], axis=0) > 0), "every feature varies"
    assert set(pc.unique(table.column("channel")).to_pylist()) == set(CHANNEL_NAMES)
    assert set(pc.unique(table.column("event")).to_pylist()) == set(EVENT_NAMES)
    assert len(pc.unique(table.column("recipient_tz_offset_min"))) >= len(_TZ_OFFSETS)
    assert table.column("recipient_tz_offset_min").null_count > 100  # unknown, never UTC
    known = X.column("child_tz_known_share")
    assert ((known > 0) & (known < 1)).sum() > 20
    no_age = (X.column("child_age_known") == 0) & (X.column("adult_age_known") == 0)
    initiated = X.column("adult_initiated")[no_age]
    assert no_age.sum() > 100
    assert 0 < initiated.sum() < len(initiated), "no-age conversations take both role outcomes"
    one_age = X.column("child_age_known") != X.column("adult_age_known")
    assert one_age.sum() > 20
