"""Small repairs 58: 16-bit float ages, the type of ``update_one``'s ``row``, a split by
adult with a side of every seed, and latency-weighted F1 without onsets. All synthetic."""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from io_hostile_helpers import BASE_EVENT, T0

import riskscore as rs
import riskscore.evaluation.evaluator as evaluator
from riskscore.evaluation import DEFAULT_LATENCY_P
from riskscore.evaluation.replay import Replay
from riskscore.evaluation.splits import split_by_adult
from riskscore.io.events import parse_event_fast

# ---------------------------------------------------------------- 16-bit float ages

_HALF = "is a 16-bit float, too coarse for an age in years"


def _table(n: int, **columns: Any) -> dict[str, Any]:
    events = {k: [v] * n for k, v in BASE_EVENT.items()}
    return {**events, "timestamp": [T0 + i for i in range(n)], **columns}


def test_a_float16_age_column_is_refused_naming_column_row_and_value() -> None:
    """Was: read as the float16 held it: ``np.float16(17.999)`` is exactly 18.0, so a
    17-year-old was an adult before riskscore saw the column."""
    ages = np.array([12.0, 17.999], dtype=np.float16)
    with pytest.raises(rs.SchemaError, match=_HALF) as info:
        rs.read_messages(_table(2, recipient_age=ages))
    assert (info.value.column, info.value.row) == ("recipient_age", 0)


def test_float16_cells_are_quarantined_and_unknown_float16_ages_kept() -> None:
    """A float16 cell in an object column is refused by row; a float16 NaN is an unknown
    age, not a rounded one; float32 holds 17.999 below 18 and is read."""
    ages = np.array([12.0, np.float16(17.999), np.float32(17.999)], dtype=object)
    msgs = rs.read_messages(_table(3, recipient_age=ages), errors="quarantine")
    assert msgs.quarantined.row == (1,)
    assert _HALF in msgs.quarantined.reason[0]
    assert msgs.recipient_age.tolist() == pytest.approx([12.0, 17.999], abs=1e-5)
    unknown = np.array([np.nan, np.nan], dtype=np.float16)
    assert np.isnan(rs.read_messages(_table(2, sender_age=unknown)).sender_age).all()


def test_the_online_fast_path_leaves_a_float16_age_to_the_full_rules() -> None:
    with pytest.raises(rs.SchemaError, match=_HALF) as info:
        parse_event_fast({**BASE_EVENT, "sender_age": np.float16(30.0)}, 4)
    assert (info.value.column, info.value.row) == ("sender_age", 4)


# ---------------------------------------------------------------- update_one's row


@pytest.mark.parametrize("row", [True, "7", 7.0, np.bool_(False)], ids=repr)
def test_a_row_that_is_no_integer_is_refused_before_the_event(row: Any) -> None:
    """Was: any value was taken and named by a refusal (``event True``, ``event 7.0``)."""
    scorer = rs.OnlineScorer(rs.load_model(), time_source="events")
    with pytest.raises(TypeError, match=r"row must be an int .* or None, got") as info:
        scorer.update_one(BASE_EVENT, row=row)
    assert repr(row)[:10] in str(info.value)
    assert scorer.n_events == 0
    with pytest.raises(TypeError, match="row must be"):
        scorer.update_one_all(BASE_EVENT, row=row)


def test_a_numpy_integer_row_is_named_as_an_int() -> None:
    scorer = rs.OnlineScorer(rs.load_model(), time_source="events")
    with pytest.raises(rs.SchemaError, match="event 3:") as info:
        scorer.update_one({**BASE_EVENT, "sender_age": "old"}, row=np.int64(3))
    assert type(info.value.row) is int
    scorer.update_one(BASE_EVENT, row=None)
    assert scorer.n_events == 1


# ---------------------------------------------------------------- split by adult


def test_two_adults_are_split_one_a_side_for_every_seed() -> None:
    """Was: each adult's side was drawn on its own, so with two adults at
    ``test_fraction=0.25`` a side was empty for about 62 % of seeds."""
    for seed in range(200):
        train, test = split_by_adult(np.array([5, 5, 9]), test_fraction=0.25, seed=seed)
        assert min(len(train), len(test)) == 1, seed


@pytest.mark.parametrize(("fraction", "n_test"), [(0.25, 3), (0.01, 1), (0.99, 9), (0.5, 5)])
def test_the_test_side_holds_round_fraction_of_the_adults(fraction: float, n_test: int) -> None:
    adult_id = np.repeat(np.arange(10), 3)
    train, test = split_by_adult(adult_id, test_fraction=fraction, seed=4)
    assert len(set(adult_id[test])) == n_test
    assert len(set(adult_id[train])) == 10 - n_test
    again = split_by_adult(adult_id, test_fraction=fraction, seed=4)
    assert [a.tolist() for a in again] == [train.tolist(), test.tolist()]


@pytest.mark.parametrize("adults", [[3, 3, 3], []])
def test_fewer_than_two_adults_are_refused(adults: list[int]) -> None:
    with pytest.raises(ValueError, match=r"holds \d distinct adult\(s\).*at least two"):
        split_by_adult(np.array(adults, dtype=np.int64))


# ---------------------------------------------------------------- latency-weighted F1


def _early_detection(
    monkeypatch: pytest.MonkeyPatch, alerted: list[int], onset: list[int]
) -> rs.evaluation.EarlyDetection:
    """Early detection of three conversations (two labelled grooming) of three events
    each, whose replay first alerted at ``alerted`` (-1: never)."""
    first = np.array(alerted, dtype=np.int64)
    done = Replay(
        position=np.arange(3), weight=np.ones(3), first_alert_index=first,
        first_alert_timestamp=np.where(first >= 0, T0 + first, 0), n_events=9,
        n_conversations=3, grooming_adult_rate=1.0, other_adult_rate=1.0,
    )  # fmt: skip
    monkeypatch.setattr(evaluator, "replay", lambda *args, **kwargs: done)
    msgs = SimpleNamespace(timestamp=np.arange(9) + T0, segment_starts=np.array([0, 3, 6]))
    y = np.array([True, True, False])
    return evaluator._early_detection(
        None,
        None,
        msgs,
        None,
        y,
        np.array(onset),
        0,
        0,
        DEFAULT_LATENCY_P,  # type: ignore[arg-type]
    )


def test_latency_weighted_f1_is_undefined_when_no_detected_conversation_has_an_onset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Was 0.0: both grooming labels (label noise, no onset) were detected, F1 was 1, and
    no latency weighed it."""
    ed = _early_detection(monkeypatch, [1, 2, -1], [-1, -1, -1])
    assert (ed.n_detected, ed.f1) == (2, 1.0)
    assert math.isnan(ed.latency_weighted_f1)
    assert ed.to_dict()["latency_weighted_f1"] is None
    nothing = _early_detection(monkeypatch, [-1, -1, 2], [0, 1, -1])
    assert (nothing.n_detected, nothing.latency_weighted_f1) == (0, 0.0)
    timed = _early_detection(monkeypatch, [1, 2, -1], [0, 1, -1])
    assert timed.latency_weighted_f1 == pytest.approx(timed.f1 * timed.speed)
