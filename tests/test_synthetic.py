"""The synthetic data generator: determinism, labels, schema invariants and overlap."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

import riskscore as rs
from riskscore.io import read_messages
from riskscore.messages import MessageTable
from riskscore.schema import Channel, EventType
from riskscore.synthetic import (
    BENIGN_MIX,
    DEFAULT_START,
    SCENARIOS,
    Labels,
    SyntheticData,
    generate,
    generate_parquet,
    labels_from_arrow,
)

FloatArray = npt.NDArray[np.float64]
NIGHT_START_S, NIGHT_END_S = 22 * 3600, 6 * 3600


@pytest.fixture(scope="module")
def big() -> SyntheticData:
    return generate(20_000, prevalence=0.05, seed=2026)


def _arrays(data: SyntheticData) -> dict[str, npt.NDArray[Any]]:
    cols = {f"events.{k}": v for k, v in data.messages.columns(decoded=False).items()}
    for name in ("conversation_id", "is_grooming", "onset_index", "adult_id", "scenario"):
        cols[f"labels.{name}"] = getattr(data.labels, name)
    return cols


def _n_events(msgs: MessageTable) -> npt.NDArray[np.int64]:
    return msgs.segment_ends - msgs.segment_starts


def _child_code(data: SyntheticData) -> npt.NDArray[np.int64]:
    """Account code of each conversation's younger participant (the non-adult)."""
    msgs = data.messages
    adult = np.searchsorted(msgs.accounts, data.labels.adult_id)
    first_sender = msgs.sender_code[msgs.segment_starts]
    first_recipient = msgs.recipient_code[msgs.segment_starts]
    return np.where(first_sender == adult, first_recipient, first_sender)


def _per_account(msgs: MessageTable, values_s: FloatArray, values_r: FloatArray) -> FloatArray:
    out = np.full(len(msgs.accounts), np.nan)
    out[msgs.sender_code] = values_s
    out[msgs.recipient_code] = values_r
    return out


def _child_local_time_of_day(data: SyntheticData) -> npt.NDArray[np.int64]:
    msgs = data.messages
    tz = np.zeros(len(msgs.accounts), dtype=np.int64)
    tz[msgs.recipient_code] = msgs.recipient_tz_offset_min
    child_tz = tz[_child_code(data)][msgs.conversation_code]
    tod: npt.NDArray[np.int64] = (msgs.timestamp + 60 * child_tz) % 86_400
    return tod


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
    assert set(np.unique(labels.scenario)) == set(SCENARIOS)
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


# ---------------------------------------------------------------- parameters


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_conversations": 0}, "n_conversations must be an integer >= 1, got 0"),
        ({"n_conversations": 2.5}, "n_conversations .* got 2.5"),
        ({"n_conversations": True}, "n_conversations .* got True"),
        ({"prevalence": 1.5}, r"prevalence must be a number in \[0, 1\], got 1.5"),
        ({"prevalence": float("nan")}, "prevalence .* got nan"),
        ({"seed": -1}, "seed must be a non-negative integer or None, got -1"),
        ({"seed": "7"}, "seed .* got '7'"),
        ({"unknown_age_rate": -0.1}, "unknown_age_rate .* got -0.1"),
        ({"days": 1}, "days must be an integer >= 2, got 1"),
        ({"start": -5}, "start must be epoch seconds .* got start=-5"),
        ({"benign_mix": {"pets": 1.0}}, r"benign_mix has unknown scenario\(s\) \['pets'\]"),
        ({"benign_mix": {"family": -1.0}}, r"benign_mix\['family'\] must be a number >= 0"),
        ({"benign_mix": {"family": 0.0}}, "benign_mix must give some entry a weight > 0"),
        ({"grooming_mix": {"grooming_x": 1}}, r"grooming_mix has unknown scenario\(s\)"),
    ],
)
def test_bad_parameters_are_named_in_the_error(kwargs: dict[str, Any], match: str) -> None:
    params: dict[str, Any] = {"n_conversations": 10, "seed": 0, **kwargs}
    with pytest.raises(ValueError, match=match):
        generate(**params)


def test_the_default_benign_mix_sums_to_one() -> None:
    assert sum(BENIGN_MIX.values()) == pytest.approx(1.0)


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 250),
    prevalence=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**32),
    unknown=st.floats(0.0, 1.0),
)
def test_invariants_hold_for_any_parameters(
    n: int, prevalence: float, seed: int, unknown: float
) -> None:
    data = generate(n, prevalence=prevalence, seed=seed, unknown_age_rate=unknown, days=2)
    labels, msgs = data.labels, data.messages
    assert msgs.n_conversations == n
    assert int(labels.is_grooming.sum()) == int(np.floor(n * prevalence + 0.5))
    n_events = _n_events(msgs)
    assert np.all((labels.onset_index == -1) == ~labels.is_grooming)
    assert np.all(labels.onset_index < n_events)
    assert not np.any(msgs.sender_code == msgs.recipient_code)


def test_the_docs_table_matches_the_scenario_parameters() -> None:
    from riskscore.synthetic import _PROFILES

    doc = (Path(__file__).parents[1] / "docs" / "synthetic.md").read_text(encoding="utf-8")
    for p in _PROFILES:
        rows = [line for line in doc.splitlines() if line.startswith(f"| {p.name} |")]
        median, sigma, low, high = p.events
        assert any(f"{median:g}, {sigma:g}, [{low}, {high}]" in row for row in rows), p.name
        h_median, h_sigma, h_low, h_high = p.span_hours
        span = f"{h_median:g}, {h_sigma:g}, [{h_low:g}, {h_high:g}]"
        assert any(span in row for row in rows), p.name


# ---------------------------------------------------------------- chunked Parquet


def _read_chunked(events: Path, labels: Path) -> tuple[MessageTable, Labels]:
    return read_messages(events), labels_from_arrow(pq.read_table(labels))


def test_generate_parquet_is_byte_identical_and_chunked(tmp_path: Path) -> None:
    kwargs: dict[str, Any] = {"prevalence": 0.05, "seed": 3, "chunk_conversations": 700}
    first = generate_parquet(tmp_path / "a" / "events.parquet", 2000, **kwargs)
    second = generate_parquet(tmp_path / "b" / "events.parquet", 2000, **kwargs)
    assert first[1].name == "labels.parquet"
    assert first[0].read_bytes() == second[0].read_bytes()
    assert first[1].read_bytes() == second[1].read_bytes()
    assert pq.ParquetFile(first[0]).num_row_groups == 3
    assert not list((tmp_path / "a").glob("*.partial"))
    other = generate_parquet(tmp_path / "c" / "events.parquet", 2000, **{**kwargs, "seed": 4})
    assert other[0].read_bytes() != first[0].read_bytes()


def test_generate_parquet_chunks_are_self_contained_with_unique_ids(tmp_path: Path) -> None:
    msgs, labels = _read_chunked(
        *generate_parquet(tmp_path / "ev.parquet", 3000, prevalence=0.02, chunk_conversations=1000)
    )
    np.testing.assert_array_equal(labels.conversation_id, np.arange(3000))
    np.testing.assert_array_equal(msgs.conversations, labels.conversation_id)
    assert int(labels.is_grooming.sum()) == 60
    # No account takes part in conversations of two chunks.
    chunk_of_event = msgs.conversation_id // 1000
    for codes in (msgs.sender_code, msgs.recipient_code):
        per_account = np.full(len(msgs.accounts), -1)
        per_account[codes] = chunk_of_event
        assert np.array_equal(per_account[codes], chunk_of_event)


def test_generate_parquet_with_one_chunk_holds_what_generate_returns(tmp_path: Path) -> None:
    msgs, labels = _read_chunked(
        *generate_parquet(tmp_path / "x.parquet", 800, prevalence=0.05, seed=12)
    )
    assert (tmp_path / "x.labels.parquet").exists()
    data = generate(800, prevalence=0.05, seed=12)
    for name, values in data.messages.columns(decoded=False).items():
        np.testing.assert_array_equal(getattr(msgs, name), values, err_msg=name)
    for name in ("conversation_id", "is_grooming", "onset_index", "adult_id", "scenario"):
        np.testing.assert_array_equal(getattr(labels, name), getattr(data.labels, name))


def test_prevalence_of_one_in_ten_thousand_is_exact_over_chunks(tmp_path: Path) -> None:
    _, labels = generate_parquet(
        tmp_path / "e.parquet", 25_000, prevalence=1e-4, seed=1, chunk_conversations=5_000
    )
    assert int(pq.read_table(labels).column("is_grooming").to_numpy().sum()) == 3


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"chunk_conversations": 0}, "chunk_conversations must be an integer >= 1, got 0"),
        ({"colour": "red"}, r"unknown argument\(s\) \['colour'\]"),
        ({"label_noise": 0.7}, r"label_noise must be a number in \[0, 0.5\], got 0.7"),
    ],
)
def test_generate_parquet_names_bad_arguments(
    tmp_path: Path, kwargs: dict[str, Any], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        generate_parquet(tmp_path / "events.parquet", 10, **kwargs)
    with pytest.raises(ValueError, match=r"path must end in \.parquet"):
        generate_parquet(tmp_path / "events.csv", 10)


# ---------------------------------------------------------------- new parameters


def test_label_noise_flips_observed_labels_only() -> None:
    clean = generate(4000, prevalence=0.05, seed=8)
    noisy = generate(4000, prevalence=0.05, seed=8, label_noise=0.1)
    np.testing.assert_array_equal(noisy.messages.timestamp, clean.messages.timestamp)
    np.testing.assert_array_equal(noisy.labels.is_grooming_true, clean.labels.is_grooming)
    np.testing.assert_array_equal(noisy.labels.onset_index, clean.labels.onset_index)
    flipped = noisy.labels.is_grooming != noisy.labels.is_grooming_true
    assert 0.08 < flipped.mean() < 0.12
    assert np.array_equal(clean.labels.is_grooming_true, clean.labels.is_grooming)
    back = labels_from_arrow(noisy.labels.to_arrow())
    np.testing.assert_array_equal(back.is_grooming_true, noisy.labels.is_grooming_true)


def test_n_adults_sets_the_ordinary_adult_pool() -> None:
    benign = {"adult_daytime": 1.0}
    few = generate(2000, prevalence=0.0, seed=5, benign_mix=benign, n_adults=50)
    many = generate(2000, prevalence=0.0, seed=5, benign_mix=benign, n_adults=2000)
    assert len(few.messages.accounts) == 50
    # Activity is heavy-tailed, so some accounts of a large pool never talk and do not appear.
    assert 1000 < len(many.messages.accounts) <= 2000
    with pytest.raises(ValueError, match="n_adults must be at most the number of ordinary"):
        generate(100, prevalence=0.0, seed=5, benign_mix=benign, n_adults=10_000)


def test_tz_mix_and_target_ages_are_followed() -> None:
    weights = [1.0] + [0.0] * 15  # every target is 2
    data = generate(
        3000, prevalence=0.1, seed=6, tz_mix={-600: 1.0, 480: 3.0}, target_age_weights=weights
    )
    tz = data.messages.recipient_tz_offset_min
    assert set(np.unique(tz)) == {-600, 480}
    assert 0.65 < (tz == 480).mean() < 0.85
    big_child = _per_account(data.messages, data.messages.sender_age, data.messages.recipient_age)
    child_age = big_child[_child_code(data)][data.labels.is_grooming]
    assert set(np.unique(child_age[~np.isnan(child_age)])) == {2.0}


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


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_adults": 1}, "n_adults must be an integer >= 2 or None, got 1"),
        ({"label_noise": -0.1}, "label_noise must be a number"),
        ({"target_age_weights": [1.0] * 15}, "target_age_weights must be 16 finite weights"),
        ({"child_age_weights": [0.0] * 16}, "child_age_weights must give some age a weight > 0"),
        ({"tz_mix": {900: 1.0}}, r"tz_mix offsets must be integer minutes in \[-720, 840\]"),
        ({"secure_channel_mix": {"public": 1.0}}, r"secure_channel_mix has unknown key\(s\)"),
        ({"move_platform_rate": 2.0}, r"move_platform_rate must be a number in \[0, 1\]"),
    ],
)
def test_bad_new_parameters_are_named_in_the_error(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        generate(10, seed=0, **kwargs)


# ---------------------------------------------------------------- no single feature separates


def test_no_single_feature_separates_grooming_from_benign(big: SyntheticData) -> None:
    features = rs.extract_features(big.messages)
    y = big.labels.is_grooming_true
    for i, name in enumerate(features.names):
        column = features.values[:, i]
        known = ~np.isnan(column)
        filled = np.where(known, column, np.median(column[known]))
        auc = roc_auc_score(y, filled)
        assert max(auc, 1 - auc) < 0.9, name
