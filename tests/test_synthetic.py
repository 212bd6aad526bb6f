"""The synthetic data generator: determinism, labels, schema invariants, overlap, and the
secure channels, fast moves and per-adult truth of one large sample.

The generator's parameters are tested in ``test_synthetic_parameters.py``, chunked
Parquet in ``test_synthetic_parquet.py``, worlds in ``test_synthetic_worlds.py``, what a
platform records and the nuisances in ``test_synthetic_platforms.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.metrics import roc_auc_score
from synthetic_helpers import (
    NIGHT_END_S,
    NIGHT_START_S,
    _arrays,
    _child_code,
    _child_local_time_of_day,
    _n_events,
    _per_account,
)

import riskscore as rs
from riskscore.io.schema import Channel, EventType
from riskscore.synthetic import (
    DEFAULT_START,
    SCENARIOS,
    Labels,
    SyntheticData,
    generate,
    labels_from_arrow,
)


@pytest.fixture(scope="module")
def big() -> SyntheticData:
    return generate(20_000, prevalence=0.05, seed=2026)


# ---------------------------------------------------------------- determinism


def test_same_seed_gives_identical_arrays() -> None:
    first, second = _arrays(generate(1500, seed=5)), _arrays(generate(1500, seed=5))
    assert first.keys() == second.keys()
    for name in first:
        np.testing.assert_array_equal(first[name], second[name], err_msg=name)


def test_different_seeds_give_different_data() -> None:
    a, b = generate(1500, seed=5), generate(1500, seed=6)
    assert len(a.messages) != len(b.messages) or not np.array_equal(
        a.messages.timestamp, b.messages.timestamp
    )


def test_write_is_byte_identical_and_labels_round_trip(tmp_path: Path) -> None:
    paths = [generate(1500, prevalence=0.05, seed=9).write(tmp_path / d) for d in ("a", "b")]
    (events_a, labels_a), (events_b, labels_b) = paths
    assert (events_a.name, labels_a.name) == ("events.parquet", "labels.parquet")
    assert events_a.read_bytes() == events_b.read_bytes()
    assert labels_a.read_bytes() == labels_b.read_bytes()
    data = generate(1500, prevalence=0.05, seed=9)
    back = labels_from_arrow(pq.read_table(labels_a))
    for name in ("conversation_id", "is_grooming", "onset_index", "adult_id", "scenario"):
        np.testing.assert_array_equal(getattr(back, name), getattr(data.labels, name))
    assert back.scenario.dtype.kind == "U"
    assert Labels.from_arrow(data.labels.to_arrow()).onset_index.dtype == np.int64


# ---------------------------------------------------------------- labels


@pytest.mark.parametrize(
    ("n", "prevalence", "expected"),
    [
        (1000, 0.01, 10),
        (10_000, 1e-4, 1),
        (1000, 1e-4, 0),
        (7, 0.5, 4),
        (50, 0.0, 0),
        (30, 1.0, 30),
    ],
)
def test_prevalence_gives_the_rounded_number_of_grooming_conversations(
    n: int, prevalence: float, expected: int
) -> None:
    labels = generate(n, prevalence=prevalence, seed=1).labels
    assert len(labels) == n
    assert int(labels.is_grooming.sum()) == expected
    assert np.all(labels.onset_index[~labels.is_grooming] == -1)


def test_labels_are_aligned_with_the_messages(big: SyntheticData) -> None:
    msgs, labels = big.messages, big.labels
    np.testing.assert_array_equal(labels.conversation_id, msgs.conversations)
    assert labels.is_grooming.dtype == np.bool_
    assert labels.onset_index.dtype == np.int64
    # every scenario of the default world's mix (spam sweeps are 0 % of it: drawn worlds
    # and the spam_sweeps stress world hold them)
    assert set(np.unique(labels.scenario)) == set(SCENARIOS) - {"spam_sweep"}
    np.testing.assert_array_equal(
        labels.is_grooming, np.char.startswith(labels.scenario, "grooming")
    )
    # The adult is one of the conversation's two accounts.
    adult = np.searchsorted(msgs.accounts, labels.adult_id)
    starts = msgs.segment_starts
    assert np.all((msgs.sender_code[starts] == adult) | (msgs.recipient_code[starts] == adult))


def test_onset_is_the_first_event_that_departs_from_ordinary_contact(big: SyntheticData) -> None:
    msgs, labels = big.messages, big.labels
    n_events = _n_events(msgs)
    grooming = labels.is_grooming
    assert np.all(labels.onset_index[~grooming] == -1)
    assert np.all(labels.onset_index[grooming] >= 0)
    assert np.all(labels.onset_index < n_events)
    # The definition of docs/synthetic.md, written out again independently.
    tod = _child_local_time_of_day(big)
    media = msgs.event == EventType.MEDIA
    communication = (msgs.event == EventType.MESSAGE) | media
    night = communication & ((tod >= NIGHT_START_S) | (tod < NIGHT_END_S))
    marker = night | media | (msgs.channel >= Channel.EPHEMERAL)
    position = msgs.position_in_conversation
    onset = labels.onset_index[msgs.conversation_code]
    in_grooming = grooming[msgs.conversation_code]
    assert np.all(marker[in_grooming & (position == onset)])
    assert not np.any(marker[in_grooming & (position < onset)])


def test_labels_refuse_columns_of_different_lengths() -> None:
    with pytest.raises(ValueError, match=r"Labels\.onset_index must be one-dimensional with 2"):
        Labels(
            conversation_id=np.array([0, 1]),
            is_grooming=np.array([True, False]),
            onset_index=np.array([0]),
            adult_id=np.array([5, 6]),
            scenario=np.array(["grooming_fast", "family"]),
        )


def test_labels_from_arrow_names_a_missing_column() -> None:
    table = generate(20, seed=0).labels.to_arrow().drop_columns(["onset_index"])
    with pytest.raises(ValueError, match=r"lacks column.*onset_index"):
        labels_from_arrow(table)


def test_labels_from_arrow_read_a_table_without_scenario() -> None:
    """A platform's own labels have the four documented columns (docs/evaluation.md) and no
    generator scenario; they were refused with 'lacks column(s) ['scenario']'."""
    data = generate(20, prevalence=0.1, seed=0)
    table = data.labels.to_arrow().drop_columns(["scenario", "is_grooming_true"])
    back = labels_from_arrow(table)
    np.testing.assert_array_equal(back.is_grooming, data.labels.is_grooming)
    assert back.scenario.tolist() == [""] * 20  # not given: empty, never a scenario's name
    assert not back.truth_given


@pytest.mark.parametrize(
    ("column", "values", "row", "value"),
    [
        ("is_grooming", ["False", "True"], 0, "False"),
        ("is_grooming", [0, 2], 1, 2),
        ("is_grooming", [0.0, 1.0], 0, 0.0),
        ("is_grooming_true", ["no", "yes"], 0, "no"),
    ],
)
def test_labels_from_arrow_refuse_values_that_are_not_true_or_false(
    column: str, values: list[Any], row: int, value: Any
) -> None:
    """A cast read the text "False" as true; now every non-boolean label is refused."""
    table = generate(2, seed=0).labels.to_arrow()
    if column in table.column_names:
        table = table.drop_columns([column])
    table = table.append_column(column, pa.array(values))
    with pytest.raises(
        rs.SchemaError, match=f"column {column!r} row {row} holds {value!r}"
    ) as info:
        labels_from_arrow(table)
    assert (info.value.column, info.value.row, info.value.value) == (column, row, value)


def test_labels_from_arrow_read_0_and_1_as_false_and_true() -> None:
    table = generate(2, seed=0).labels.to_arrow()
    table = table.set_column(
        table.column_names.index("is_grooming"), "is_grooming", pa.array([1, 0])
    )
    assert labels_from_arrow(table).is_grooming.tolist() == [True, False]


# ---------------------------------------------------------------- schema invariants


def test_every_conversation_is_between_exactly_two_accounts(big: SyntheticData) -> None:
    msgs = big.messages
    assert not np.any(msgs.sender_code == msgs.recipient_code)
    low = np.minimum(msgs.sender_code, msgs.recipient_code)
    high = np.maximum(msgs.sender_code, msgs.recipient_code)
    first = msgs.segment_starts[msgs.conversation_code]
    assert np.array_equal(low, low[first])
    assert np.array_equal(high, high[first])
    assert len(msgs.quarantined) == 0


def test_ages_and_offsets_are_plausible_and_fixed_per_account(big: SyntheticData) -> None:
    msgs = big.messages
    ages = np.concatenate([msgs.sender_age, msgs.recipient_age])
    known = ages[~np.isnan(ages)]
    assert np.all((known >= 0) & (known <= 120))
    assert 0.05 < np.isnan(ages).mean() < 0.3  # unknown_age_rate=0.15 of accounts
    codes = np.concatenate([msgs.sender_code, msgs.recipient_code])
    per_account = _per_account(msgs, msgs.sender_age, msgs.recipient_age)
    np.testing.assert_array_equal(ages, per_account[codes])
    tz = _per_account(
        msgs, np.full(len(msgs), np.nan), msgs.recipient_tz_offset_min.astype(np.float64)
    )
    np.testing.assert_array_equal(msgs.recipient_tz_offset_min, tz[msgs.recipient_code])
    assert set(np.unique(msgs.recipient_tz_offset_min)) <= {0, 60, 120, -300, -360, -480, 330, 600}


def test_children_as_young_as_two_take_part(big: SyntheticData) -> None:
    child_age = _per_account(big.messages, big.messages.sender_age, big.messages.recipient_age)[
        _child_code(big)
    ]
    assert np.nanmin(child_age) == 2
    grooming_child = child_age[big.labels.is_grooming]
    assert np.nanmin(grooming_child) <= 5
    assert 11 <= np.nanmedian(grooming_child) <= 15


def test_teen_peers_are_close_in_age(big: SyntheticData) -> None:
    msgs = big.messages
    age = _per_account(msgs, msgs.sender_age, msgs.recipient_age)
    starts = msgs.segment_starts
    teens = big.labels.scenario == "teen_peers"
    gap = np.abs(age[msgs.sender_code[starts]] - age[msgs.recipient_code[starts]])[teens]
    assert np.nanmax(gap) <= 3
    assert np.nanmax(age[msgs.sender_code[starts]][teens]) < 18


def test_events_fall_inside_the_period() -> None:
    start, days = DEFAULT_START + 86_400 * 100, 3
    msgs = generate(800, prevalence=0.1, seed=4, start=start, days=days).messages
    assert msgs.timestamp.min() >= start
    assert msgs.timestamp.max() < start + days * 86_400


def test_mixes_select_scenarios() -> None:
    labels = generate(
        300, prevalence=0.1, seed=2, benign_mix={"family": 1.0}, grooming_mix={"grooming_slow": 2}
    ).labels
    assert set(labels.scenario) == {"family", "grooming_slow"}


def test_groomers_contact_several_minors_and_teachers_even_more(big: SyntheticData) -> None:
    labels = big.labels
    _, per_adult = np.unique(labels.adult_id[labels.is_grooming], return_counts=True)
    assert 5 < per_adult.max() <= 15
    teacher = labels.scenario == "teacher_coach"
    _, per_teacher = np.unique(labels.adult_id[teacher], return_counts=True)
    assert per_teacher.max() > per_adult.max()


# ---------------------------------------------------------------- overlap


def test_no_simple_statistic_separates_the_classes(big: SyntheticData) -> None:
    msgs, labels = big.messages, big.labels
    n, conv = msgs.n_conversations, msgs.conversation_code
    tod = _child_local_time_of_day(big)
    communication = (msgs.event == EventType.MESSAGE) | (msgs.event == EventType.MEDIA)
    night = communication & ((tod >= NIGHT_START_S) | (tod < NIGHT_END_S))
    n_comm = np.maximum(np.bincount(conv, communication, n), 1)
    age = _per_account(msgs, msgs.sender_age, msgs.recipient_age)
    adult = np.searchsorted(msgs.accounts, labels.adult_id)
    from_adult = msgs.sender_code == adult[conv]
    gap = age[adult] - age[_child_code(big)]
    statistics = {
        "night share": np.bincount(conv, night, n) / n_comm,
        "age gap": np.where(np.isnan(gap), np.nanmedian(gap), gap),
        "max channel": np.maximum.reduceat(msgs.channel, msgs.segment_starts),
        "adult message share": np.bincount(conv, communication & from_adult, n) / n_comm,
        "events": _n_events(msgs),
        "media": np.bincount(conv, msgs.event == EventType.MEDIA, n),
    }
    for name, value in statistics.items():
        auc = roc_auc_score(labels.is_grooming, value)
        assert max(auc, 1 - auc) < 0.97, name


def test_secure_channel_mix_and_platform_moves(big: SyntheticData) -> None:
    msgs, labels = big.messages, big.labels
    conv = msgs.conversation_code
    n = msgs.n_conversations
    external = np.bincount(conv, msgs.channel == Channel.EXTERNAL, n) > 0
    # About two in three grooming conversations ask to move to another app.
    assert 0.6 < external[labels.is_grooming].mean() < 0.73
    data = generate(
        3000, prevalence=0.2, seed=7, secure_channel_mix={"encrypted": 1.0}, move_platform_rate=0
    )
    msgs, labels = data.messages, data.labels
    conv = msgs.conversation_code
    grooming_event = labels.is_grooming[conv]
    assert not np.any(grooming_event & (msgs.channel == Channel.EXTERNAL))
    assert not np.any(grooming_event & (msgs.channel == Channel.EPHEMERAL))
    assert np.any(grooming_event & (msgs.channel == Channel.ENCRYPTED))


def test_fast_grooming_asks_to_move_platform_within_the_hour(big: SyntheticData) -> None:
    msgs, labels = big.messages, big.labels
    first_external = np.full(msgs.n_conversations, np.iinfo(np.int64).max)
    is_external = msgs.channel == Channel.EXTERNAL
    np.minimum.at(first_external, msgs.conversation_code[is_external], msgs.timestamp[is_external])
    delay = first_external - msgs.timestamp[msgs.segment_starts]
    fast = (labels.scenario == "grooming_fast") & (delay < np.iinfo(np.int64).max // 2)
    slow = (labels.scenario == "grooming_slow") & (delay < np.iinfo(np.int64).max // 2)
    assert np.median(delay[fast]) < 3600
    assert np.median(delay[slow]) > 2 * 86_400


def test_per_adult_ground_truth(big: SyntheticData) -> None:
    labels = big.labels
    adults = labels.per_adult()
    assert int(adults.n_conversations.sum()) == len(labels)
    assert int(adults.n_grooming_conversations.sum()) == int(labels.is_grooming_true.sum())
    groomers = np.unique(labels.adult_id[labels.is_grooming_true])
    np.testing.assert_array_equal(adults.adult_id[adults.is_groomer], groomers)
    # Groomers also have ordinary adult contacts.
    assert np.any(
        adults.n_conversations[adults.is_groomer]
        > adults.n_grooming_conversations[adults.is_groomer]
    )
    assert adults.to_arrow().num_rows == len(adults)


def test_labelled_data_given_as_its_events_file_says_to_name_the_folder(tmp_path: Path) -> None:
    """Was: `riskscore evaluate --data data/events.parquet` said
    "data/events.parquet/events.parquet not found"."""
    generate(30, seed=0).write(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"events\.parquet is a file: labelled data is a "):
        SyntheticData.read(tmp_path / "events.parquet")
