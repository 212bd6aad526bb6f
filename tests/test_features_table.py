"""Properties of a whole :class:`~riskscore.features.FeatureTable`: row order does not
matter, NaN only where an age is unknown, the registry and the generated tables of
``docs/features.md`` agree, invariants on random tables (hypothesis), and every feature
has a hand-computed expectation in one of the feature test files.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from features_helpers import (
    AGE_COLUMNS,
    DOCS,
    FLAG_COLUMNS,
    FRACTION_COLUMNS,
    NOON,
    NULLABLE_COLUMNS,
    Event,
    account_feature_events,
    assert_tables_identical,
    ev,
    event_tables,
    extract,
    mixed_events,
    single,
    to_columns,
)
from hypothesis import given, settings
from hypothesis import strategies as st

import riskscore as rs
from riskscore._docs import generated_section
from riskscore.features import extract_features
from riskscore.features.docs import SECTION, feature_tables, update_features_doc
from riskscore.features.registry import FEATURE_NAMES, FEATURES

# ---------------------------------------------------------------- table-level properties


def test_features_do_not_depend_on_input_row_order() -> None:
    events = mixed_events()
    expected = extract(events)
    rng = np.random.default_rng(20240501)
    for _ in range(5):
        shuffled = [events[i] for i in rng.permutation(len(events))]
        assert_tables_identical(extract(shuffled), expected)


def test_nan_only_in_age_columns() -> None:
    table = extract(mixed_events())
    nan_columns = {name for j, name in enumerate(table.names) if np.isnan(table.values[:, j]).any()}
    # conversation "pq" has no ages and c5 none for U2: all three age columns hold NaN...
    assert nan_columns >= AGE_COLUMNS
    # ...and no other column does, but the hours to a private channel of pairs that
    # never moved to one
    assert nan_columns == AGE_COLUMNS | {"pair_hours_to_private"}


def test_empty_table_is_a_schema_error() -> None:
    empty: dict[str, list[object]] = {
        "conversation_id": [],
        "timestamp": [],
        "sender_id": [],
        "recipient_id": [],
        "channel": [],
    }
    with pytest.raises(rs.SchemaError, match="empty"):
        extract_features(empty)


def test_table_with_every_row_quarantined_is_a_schema_error() -> None:
    msgs = rs.read_messages(to_columns([ev("c", 0, "A", "A")]), errors="quarantine")
    assert len(msgs) == 0
    with pytest.raises(rs.SchemaError, match="empty"):
        extract_features(msgs)


def test_message_table_and_raw_columns_give_the_same_features() -> None:
    columns = to_columns(mixed_events())
    from_raw = extract_features(columns)
    from_table = extract_features(rs.read_messages(columns))
    assert_tables_identical(from_raw, from_table)


def test_feature_table_column_take_and_to_arrow() -> None:
    table = extract(account_feature_events())

    assert table.names == FEATURE_NAMES
    assert table.values.shape == (6, len(FEATURE_NAMES))
    assert table.values.dtype == np.float64
    assert len(table) == 6
    assert table.column("adult_unaccepted_requests").tolist() == [3, 3, 3, 3, 3, 0]
    j = FEATURE_NAMES.index("n_events")
    np.testing.assert_array_equal(table.column("n_events"), table.values[:, j])
    with pytest.raises(KeyError, match="no feature 'nonexistent'"):
        table.column("nonexistent")

    last = table.take([5])
    assert last.conversation_id.tolist() == ["c6"]
    assert last.adult_id.tolist() == ["B"]
    np.testing.assert_array_equal(last.values, table.values[5:])

    arrow = table.to_arrow()
    assert isinstance(arrow, pa.Table)
    assert arrow.column_names == ["conversation_id", "adult_id", "child_id", *FEATURE_NAMES]
    assert arrow.num_rows == 6
    assert arrow.column("conversation_id").to_pylist() == ["c1", "c2", "c3", "c4", "c5", "c6"]
    assert arrow.column("adult_id").to_pylist() == ["A"] * 5 + ["B"]
    assert arrow.column("n_events").to_pylist() == [5.0, 1.0, 5.0, 2.0, 1.0, 2.0]
    for name in FEATURE_NAMES:
        np.testing.assert_array_equal(
            np.asarray(arrow.column(name).to_numpy()), table.column(name), err_msg=name
        )


#: The files of hand-computed expectations (split from one test_features.py by concept).
HAND_COMPUTED = ("test_features.py", "test_features_clock.py", "test_features_accounts_groups.py")


def test_every_feature_has_a_hand_computed_expectation_in_this_file() -> None:
    # A new feature must come with a hand-computed test in HAND_COMPUTED: each name must
    # appear as a key of an expectation dict passed to assert_features ("name": value).
    here = Path(__file__).parent
    source = "".join((here / name).read_text(encoding="utf-8") for name in HAND_COMPUTED)
    assert [name for name in FEATURE_NAMES if f'"{name}":' not in source] == []


# ---------------------------------------------------------------- registry and docs


def test_registry_is_consistent_with_the_feature_table() -> None:
    assert tuple(spec.name for spec in FEATURES) == FEATURE_NAMES
    assert len(set(FEATURE_NAMES)) == len(FEATURE_NAMES)
    for spec in FEATURES:
        assert spec.direction in (-1, 0, 1), spec.name
        # only the age columns and pair facts can be NaN, and only they have an unknown
        # reference
        assert spec.nullable == (spec.name in NULLABLE_COLUMNS), spec.name
        assert math.isnan(spec.reference) == spec.nullable, spec.name
        assert spec.description, spec.name
        assert spec.definition, spec.name
        assert spec.why, spec.name
    with pytest.raises(KeyError, match="no feature 'nope'"):
        rs.features.feature_index("nope")


def test_a_conversation_that_shows_nothing_sits_at_the_references() -> None:
    # Two balanced messages on public, by day, no age: the "no signal" conversation for
    # every feature with a direction (escalation is exactly 1 only after a week or at
    # span 0: both events in the same second).
    events = [ev("c", NOON, "I", "R", channel="public"), ev("c", NOON, "R", "I", channel="public")]
    row = single(events)
    for spec in FEATURES:
        if spec.direction != 0 and spec.name not in {
            "adult_initiated",  # the initiator takes the adult role on a tie
            "adult_recent_share",  # starts from 0: 0.1 * 0.9 after two messages
        }:
            assert row[spec.name] == spec.reference, spec.name
    assert row["adult_recent_share"] == pytest.approx(0.09)
    assert row["adult_initiated"] == 1


def test_docs_feature_tables_are_generated_from_the_registry() -> None:
    assert generated_section(DOCS, SECTION) == feature_tables(), (
        "docs/features.md is out of date: run "
        "`python -c 'from riskscore.features.docs import update_features_doc as u; "
        'u("docs/features.md")\'`'
    )
    text = DOCS.read_text(encoding="utf-8")
    for name in FEATURE_NAMES:
        assert text.count(f"| `{name}` |") == 1, name


def test_update_features_doc_rewrites_only_the_generated_part(tmp_path: Path) -> None:
    doc = tmp_path / "features.md"
    original = DOCS.read_text(encoding="utf-8")
    stale = original.replace("| `adult_media_rate` |", "| `adult_media_count` |")
    assert stale != original
    doc.write_text("intro\n" + stale + "outro\n", encoding="utf-8")
    assert update_features_doc(doc) is True
    assert generated_section(doc, SECTION) == feature_tables()
    text = doc.read_text(encoding="utf-8")
    assert text.startswith("intro\n")
    assert text.endswith("outro\n")
    assert update_features_doc(doc) is False  # up to date: left alone
    assert doc.read_text(encoding="utf-8") == text
    doc.write_text("no markers\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no generated section"):
        update_features_doc(doc)


# ---------------------------------------------------------------- property-based


@settings(max_examples=60, deadline=None, database=None)
@given(events=event_tables(), data=st.data())
def test_properties_on_random_tables(events: list[Event], data: st.DataObject) -> None:
    table = extract(events)
    values = table.values
    column = {name: values[:, j] for j, name in enumerate(table.names)}

    for name in table.names:
        if name not in NULLABLE_COLUMNS:
            assert np.isfinite(column[name]).all(), name
            assert (column[name] >= 0).all(), name
    assert np.isfinite(column["pair_met_channel"]).all()  # facts of every pair are known
    hours = column["pair_hours_to_private"]
    assert (hours[~np.isnan(hours)] >= 0).all()
    assert (np.isnan(hours) | (column["pair_met_channel"] < 2)).all()
    assert (column["group_contact_events"] <= column["n_events"]).all()
    for name in FRACTION_COLUMNS:
        assert ((column[name] >= 0) & (column[name] <= 1)).all(), name
    for name in FLAG_COLUMNS:
        assert np.isin(column[name], (0.0, 1.0)).all(), name
    gap = column["age_gap"]
    assert (gap[~np.isnan(gap)] >= 0).all()
    # shares of evidence are count / (n + 4): never 1
    assert (column["child_night_share"] < 1).all()
    assert (column["adult_message_share"] > 0).all()
    assert (column["adult_message_share"] < 1).all()
    # 7 * S_1day / S_7days is in (0, 7] and the exponent in [0, 1]
    assert (column["escalation_ratio"] <= 7.0 + 1e-9).all()
    assert (column["escalation_ratio"] > 0).all()
    assert (column["escalation_ratio"][column["span_hours"] == 0] == 1.0).all()
    assert (column["upward_channel_moves"] <= column["n_events"] - 1).all()
    assert (column["adult_max_unanswered_run"] <= column["n_events"]).all()
    assert (column["n_channels_used"] >= 1).all()
    assert (column["adult_private_minor_fanout"] <= column["adult_minor_fanout"]).all()
    assert (column["adult_unaccepted_share"] <= 1).all()
    assert (column["child_is_minor"] <= column["child_age_known"]).all()

    order = data.draw(st.permutations(range(len(events))))
    assert_tables_identical(extract([events[i] for i in order]), table)
