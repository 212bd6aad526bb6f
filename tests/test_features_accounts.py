"""Per-account tallies (riskscore/features/accounts.py): hand-computed tallies, mergeable
parts over chunks, and per-account features computed over more events than are scored."""

from __future__ import annotations

import math
from itertools import pairwise
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import riskscore as rs
from riskscore.features import ACCOUNT_SLOTS, AccountFeatures, extract_account_features
from riskscore.features.accounts import account_parts, account_tallies, tallies_from_parts
from riskscore.features.pairs import PairFacts, merge_pair_facts

NAN = math.nan
T0 = 1_714_521_600
CHANNELS = ("public", "group", "direct", "ephemeral", "encrypted", "external")
EVENTS = ("message", "contact_request", "contact_accept", "block", "report", "media")


def table(rows: list[tuple[Any, ...]]) -> rs.MessageTable:
    """Events from ``(conversation, t, sender, recipient, sender_age, recipient_age,
    channel, event)`` tuples."""
    names = (
        "conversation_id",
        "timestamp",
        "sender_id",
        "recipient_id",
        "sender_age",
        "recipient_age",
        "channel",
        "event",
    )
    columns: dict[str, list[Any]] = {name: [r[i] for r in rows] for i, name in enumerate(names)}
    columns["timestamp"] = [T0 + t for t in columns["timestamp"]]
    return rs.read_messages(columns)


def columns_of(msgs: rs.MessageTable, rows: slice | np.ndarray) -> dict[str, Any]:
    return {name: values[rows] for name, values in msgs.columns().items()}


@pytest.fixture(scope="module")
def platform() -> rs.MessageTable:
    return rs.synthetic.generate(1_500, prevalence=0.05, seed=3).messages


# ---------------------------------------------------------------- hand-computed


def test_account_tallies_by_hand() -> None:
    msgs = table(
        [
            # A (40) -> K1 (13): request, then messages on direct and encrypted
            ("c1", 0, "A", "K1", 40, 13, "public", "contact_request"),
            ("c1", 1, "K1", "A", 13, 40, "public", "contact_accept"),
            ("c1", 2, "A", "K1", 40, 13, "encrypted", "message"),
            ("c1", 3, "K1", "A", 13, 40, "direct", "message"),
            # A -> K2 (15): media on ephemeral; K2 blocks and reports A
            ("c2", 4, "A", "K2", 40, 15, "ephemeral", "media"),
            ("c2", 5, "K2", "A", 15, 40, "direct", "block"),
            ("c2", 6, "K2", "A", 15, 40, "direct", "report"),
            # A -> U (30): two requests, never accepted; U reports A (an adult: not counted)
            ("c3", 7, "A", "U", 40, 30, "external", "contact_request"),
            ("c3", 8, "A", "U", 40, 30, "external", "contact_request"),
            ("c3", 9, "U", "A", 30, 40, "direct", "report"),
            # A -> K3, age not declared on the event: a contact, not a minor
            ("c4", 10, "A", "K3", 40, NAN, "encrypted", "message"),
            # A blocks K4 (12): a block is not a contact
            ("c5", 11, "A", "K4", 40, 12, "direct", "block"),
        ]
    )
    assert msgs.accounts.tolist() == ["A", "K1", "K2", "K3", "K4", "U"]
    got = account_tallies(msgs)
    assert ACCOUNT_SLOTS == (
        "contacts",
        "minors",
        "private_minors",
        "requests",
        "accepts",
        "flagged",
        "minor_events",
        "supervised_minor_events",
    )
    expected = np.array(
        [
            # A: contacts {K1, K2, U, K3}, minors {K1, K2}, private {K1, K2}; 3 requests,
            #    1 accept received; block + report from K2 (15); 3 contact events to minors
            #    (request and message to K1, media to K2), 1 of them public (the request)
            [4, 2, 2, 3, 1, 2, 3, 1],
            # K1: contacted A (a message, A is 40): 1 contact
            [1, 0, 0, 0, 0, 0, 0, 0],
            # K2: only a block and a report: no contact
            [0, 0, 0, 0, 0, 0, 0, 0],
            [0, 0, 0, 0, 0, 0, 0, 0],
            # K4 received a block from A (40): not flagged by a minor
            [0, 0, 0, 0, 0, 0, 0, 0],
            [0, 0, 0, 0, 0, 0, 0, 0],
        ],
        dtype=np.float64,
    )
    np.testing.assert_array_equal(got, expected)
    accounts = extract_account_features(msgs)
    np.testing.assert_array_equal(accounts.account_id, msgs.accounts)
    np.testing.assert_array_equal(accounts.values, expected)


def test_unknown_accounts_get_zero_account_features() -> None:
    accounts = extract_account_features(
        {
            "conversation_id": [1],
            "timestamp": [1_700_000_000],
            "sender_id": [10],
            "recipient_id": [11],
            "channel": ["encrypted"],
            "recipient_age": [12],
        }
    )
    np.testing.assert_array_equal(
        accounts.lookup(np.array([10, 99, 11, 5])),
        # 10 contacted 11, a minor, on a private channel (one event, not supervised); 99 and
        # 5 are unknown; 11 did nothing
        [[1, 1, 1, 0, 0, 0, 1, 0], [0] * 8, [0] * 8, [0] * 8],
    )
    assert accounts.lookup(np.array([], dtype=np.int64)).shape == (0, 8)


def test_account_features_check_their_shape() -> None:
    with pytest.raises(ValueError, match=r"must have shape \(2, 8\)"):
        AccountFeatures(account_id=np.array([1, 2]), values=np.zeros((2, 4)))
    empty = AccountFeatures(account_id=np.empty(0, dtype=np.int64), values=np.zeros((0, 8)))
    np.testing.assert_array_equal(empty.lookup(np.array([3])), [[0] * 8])


def test_tallies_from_no_parts_are_empty() -> None:
    merged = tallies_from_parts([])
    assert merged.values.shape == (0, 8)
    np.testing.assert_array_equal(merged.lookup(np.array([1, 2])), np.zeros((2, 8)))


# ---------------------------------------------------------------- chunks and subsets


def test_parts_of_conversation_chunks_merge_to_the_whole_table(platform: rs.MessageTable) -> None:
    whole = account_tallies(platform)
    codes = np.arange(platform.n_conversations)
    chunks = [platform.take_conversations(c) for c in np.array_split(codes, 5)]
    merged = tallies_from_parts([account_parts(chunk) for chunk in chunks])
    np.testing.assert_array_equal(merged.lookup(platform.accounts), whole)
    # every account that did something is there, and no other
    active = whole.any(axis=1)
    assert set(platform.accounts[active].tolist()) <= set(merged.account_id.tolist())
    # the chunks alone undercount some adult's fan-out: merging matters here
    first = extract_account_features(chunks[0]).lookup(platform.accounts)
    assert np.any(first < whole)


@pytest.mark.parametrize("ids", ["compact", "sparse", "text"])
def test_parts_merge_to_the_whole_table_for_every_kind_of_id(
    platform: rs.MessageTable, ids: str
) -> None:
    # The merge codes ids with a lookup table when they are compact integers, by sorting
    # otherwise (64-bit ids far apart, text): the same tallies and pair facts either way.
    def recode(values: np.ndarray) -> np.ndarray:
        if ids == "sparse":
            return values * 1_000_003_323 + 2**40
        return values.astype(str) if ids == "text" else values

    columns = platform.columns()
    for name in ("sender_id", "recipient_id"):
        columns[name] = recode(columns[name])
    msgs = rs.read_messages(columns)
    whole = extract_account_features(msgs)
    codes = np.arange(msgs.n_conversations)
    parts = [account_parts(msgs.take_conversations(c)) for c in np.array_split(codes, 4)]
    merged = tallies_from_parts(parts)
    np.testing.assert_array_equal(merged.account_id, whole.account_id)
    assert merged.values.tobytes() == whole.values.tobytes()
    first, private = merged.pairs.lookup(whole.pairs.hi, whole.pairs.lo)  # either order
    assert first.tobytes() == whole.pairs.first.tobytes()
    assert private.tobytes() == whole.pairs.private.tobytes()
    assert len(merged.pairs) == len(whole.pairs)


def test_parts_of_row_chunks_that_split_conversations_merge_to_the_whole_table(
    platform: rs.MessageTable,
) -> None:
    # Chunks of rows in time order cut conversations in two: the tallies still add up.
    order = np.argsort(platform.timestamp, kind="stable")
    cuts = np.array_split(order, 7)
    parts = [account_parts(rs.read_messages(columns_of(platform, np.sort(c)))) for c in cuts]
    merged = tallies_from_parts(parts)
    np.testing.assert_array_equal(merged.lookup(platform.accounts), account_tallies(platform))


def test_account_features_from_all_events_equal_whole_table_features(
    platform: rs.MessageTable,
) -> None:
    whole = rs.extract_features(platform)
    accounts = extract_account_features(platform)
    half = platform.take_conversations(np.arange(0, platform.n_conversations, 2))
    part = rs.extract_features(half, account_features=accounts)
    assert part.values.tobytes() == whole.values[::2].tobytes()
    np.testing.assert_array_equal(part.adult_id, whole.adult_id[::2])
    np.testing.assert_array_equal(part.child_id, whole.child_id[::2])
    # with tallies merged from chunks, too
    chunks = np.array_split(np.arange(platform.n_conversations), 3)
    merged = tallies_from_parts([account_parts(platform.take_conversations(c)) for c in chunks])
    again = rs.extract_features(half, account_features=merged)
    assert again.values.tobytes() == part.values.tobytes()


def test_scoring_a_part_alone_understates_fanout(platform: rs.MessageTable) -> None:
    whole = rs.extract_features(platform).column("adult_minor_fanout")[::2]
    half = platform.take_conversations(np.arange(0, platform.n_conversations, 2))
    alone = rs.extract_features(half).column("adult_minor_fanout")
    assert np.all(alone <= whole)
    assert np.any(alone < whole)


# ---------------------------------------------------------------- property-based


@st.composite
def event_rows(draw: st.DrawFn) -> dict[str, list[Any]]:
    """1-40 events in 1-6 conversations among six accounts, with any ages and kinds."""
    ages = st.one_of(st.just(NAN), st.sampled_from([5.0, 13.0, 17.9, 18.0, 40.0]))
    n = draw(st.integers(1, 40))
    pairs = draw(
        st.lists(
            st.lists(st.integers(0, 5), min_size=2, max_size=2, unique=True),
            min_size=1,
            max_size=6,
        )
    )
    rows: dict[str, list[Any]] = {
        k: []
        for k in (
            "conversation_id",
            "timestamp",
            "sender_id",
            "recipient_id",
            "sender_age",
            "recipient_age",
            "channel",
            "event",
        )
    }
    for i in range(n):
        conversation = draw(st.integers(0, len(pairs) - 1))
        sender, recipient = pairs[conversation]
        if draw(st.booleans()):
            sender, recipient = recipient, sender
        rows["conversation_id"].append(conversation)
        rows["timestamp"].append(T0 + i)
        rows["sender_id"].append(sender)
        rows["recipient_id"].append(recipient)
        rows["sender_age"].append(draw(ages))
        rows["recipient_age"].append(draw(ages))
        rows["channel"].append(draw(st.sampled_from(CHANNELS)))
        rows["event"].append(draw(st.sampled_from(EVENTS)))
    return rows


@settings(max_examples=60, deadline=None, database=None)
@given(rows=event_rows(), data=st.data())
def test_parts_over_any_chunks_merge_to_the_tallies_of_the_whole(
    rows: dict[str, list[Any]], data: st.DataObject
) -> None:
    msgs = rs.read_messages(rows)
    n = len(rows["timestamp"])
    cuts = data.draw(st.lists(st.integers(1, max(n - 1, 1)), unique=True, max_size=4))
    edges = [0, *sorted(c for c in cuts if 0 < c < n), n]
    parts = [
        account_parts(rs.read_messages({k: v[a:b] for k, v in rows.items()}))
        for a, b in pairwise(edges)
    ]
    merged = tallies_from_parts(parts)
    whole = account_tallies(msgs)
    np.testing.assert_array_equal(merged.lookup(msgs.accounts), whole)
    # The same parts in another order give the same tallies.
    again = tallies_from_parts(parts[::-1])
    np.testing.assert_array_equal(again.lookup(msgs.accounts), whole)
    # Structural invariants of the tallies.
    contacts, minors, private_minors = whole[:, 0], whole[:, 1], whole[:, 2]
    assert np.all(private_minors <= minors)
    assert np.all(minors <= contacts)
    assert np.all(contacts <= len(msgs.accounts) - 1)


@settings(max_examples=40, deadline=None, database=None)
@given(rows=event_rows(), data=st.data())
def test_a_subset_with_all_account_tallies_has_the_full_table_features(
    rows: dict[str, list[Any]], data: st.DataObject
) -> None:
    msgs = rs.read_messages(rows)
    whole = rs.extract_features(msgs)
    codes = data.draw(
        st.lists(st.integers(0, msgs.n_conversations - 1), min_size=1, unique=True).map(sorted)
    )
    subset = msgs.take_conversations(codes)
    part = rs.extract_features(subset, account_features=extract_account_features(msgs))
    assert part.values.tobytes() == whole.values[codes].tobytes()
    np.testing.assert_array_equal(part.adult_id, whole.adult_id[codes])
    np.testing.assert_array_equal(part.child_id, whole.child_id[codes])


# ---------------------------------------------------------------- tallies that miss events


def test_account_features_record_the_history_they_count(platform: rs.MessageTable) -> None:
    history = extract_account_features(platform)
    assert history.history_start == int(platform.timestamp.min())
    assert history.history_end == int(platform.timestamp.max())
    assert history.n_events == len(platform)
    with pytest.raises(ValueError, match="start <= end"):
        AccountFeatures(
            account_id=np.array([1]), values=np.zeros((1, 8)), history_start=5, history_end=4
        )
    with pytest.raises(ValueError, match="both be given"):
        AccountFeatures(account_id=np.array([1]), values=np.zeros((1, 8)), history_start=5)


def test_a_subset_scores_with_the_history_as_within_the_whole(platform: rs.MessageTable) -> None:
    model = rs.load_model()
    whole = model.score(platform)
    codes = np.arange(0, platform.n_conversations, 5)
    part = platform.take_conversations(codes)
    joined = model.score(part, account_features=extract_account_features(platform))
    assert joined.risk.tobytes() == whole.risk[codes].tobytes()
    alone = model.score(part)
    assert np.any(alone.risk != whole.risk[codes])  # without the history it differs
    with pytest.raises(ValueError, match="a FeatureTable already holds"):
        model.score(rs.extract_features(part), account_features=extract_account_features(platform))


def test_stale_tallies_are_refused(platform: rs.MessageTable) -> None:
    """Tallies of January do not cover February's events."""
    cut = int(np.median(platform.timestamp))
    early = columns_of(platform, platform.timestamp <= cut)
    history = extract_account_features(early)
    late = rs.read_messages(columns_of(platform, platform.timestamp > cut))
    with pytest.raises(rs.SchemaError, match=r"the events run from .* but the account features"):
        rs.extract_features(late, account_features=history)


def test_tallies_of_another_history_are_refused(platform: rs.MessageTable) -> None:
    other = extract_account_features(rs.synthetic.generate(200, prevalence=0.05, seed=99).messages)
    history = AccountFeatures(account_id=other.account_id, values=other.values)  # no time range
    with pytest.raises(rs.SchemaError, match=r"accounts have more activity in the events") as err:
        rs.extract_features(platform, account_features=history)
    assert "np.int64" not in str(err.value)
    # ids of another kind: text tallies against integer events
    text = extract_account_features(
        {k: v.astype(str) if k.endswith("_id") else v for k, v in platform.columns().items()}
    )
    with pytest.raises(rs.SchemaError, match="ids are text in the account features but integers"):
        rs.extract_features(platform, account_features=text)


def test_tallies_of_a_larger_history_are_accepted_for_any_part(platform: rs.MessageTable) -> None:
    history = extract_account_features(platform)
    order = np.argsort(platform.timestamp, kind="stable")
    for rows in np.array_split(order, 4):  # time slices cut conversations: still covered
        part = rs.read_messages(columns_of(platform, np.sort(rows)))
        rs.extract_features(part, account_features=history)


@settings(max_examples=40, deadline=None)
@given(
    pairs=st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6)), min_size=1, max_size=12),
    queries=st.lists(st.tuples(st.integers(0, 7), st.integers(0, 7)), max_size=12),
)
def test_pair_facts_lookup_finds_each_pair_in_either_order(
    pairs: list[tuple[int, int]], queries: list[tuple[int, int]]
) -> None:
    rows = [(min(a, b), max(a, b)) for a, b in pairs]
    facts = merge_pair_facts(
        [
            PairFacts(
                lo=np.array([lo for lo, _ in rows]),
                hi=np.array([hi for _, hi in rows]),
                first=np.arange(len(rows), dtype=float),
                private=np.arange(len(rows), dtype=float) + 0.5,
            )
        ]
    )
    expected = {}
    for k, key in enumerate(rows):
        expected.setdefault(key, k)  # the minimum over repeated pairs
    a = np.array([q[0] for q in queries], dtype=np.int64)
    b = np.array([q[1] for q in queries], dtype=np.int64)
    for _ in range(2):  # the second lookup reuses the search index built by the first
        first, private = facts.lookup(a, b)
        want = [expected.get((min(x, y), max(x, y)), math.inf) for x, y in queries]
        np.testing.assert_array_equal(first, np.asarray(want, dtype=float))
        np.testing.assert_array_equal(private, np.asarray(want, dtype=float) + 0.5)
