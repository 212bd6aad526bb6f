"""Out-of-core scoring, faster and still exact: chunks scored without a second covering
check, account features of another history refused before any output, features from
spilled states equal those of ``extract_features``, and progress counts.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from out_of_core_helpers import (
    _assert_same_as_in_memory,
    _write,
    small_events,
)

import riskscore as rs
from riskscore.batch.out_of_core import score_parquet
from riskscore.batch.state_spill import read_states, write_states
from riskscore.features.accounts import AccountFeatures
from riskscore.features.pairs import PairFacts
from riskscore.features.states import (
    ConversationStates,
    conversation_states,
    features_from_states,
)


@pytest.fixture(scope="module")
def model() -> rs.RiskModel:
    return rs.load_model()


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> pa.Table:
    return small_events()


# ---------------------------------------------------------------- speed without a second check


def test_chunks_are_scored_without_a_second_covering_check(
    events: pa.Table, tmp_path: Path, model: rs.RiskModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The merged tallies count every chunk, and given ones are checked against the whole
    # file once (check_covers): recomputing each chunk's tallies to check them is waste.
    def refuse(self: AccountFeatures, msgs: rs.MessageTable) -> None:
        raise AssertionError("covering() called for a chunk")

    monkeypatch.setattr(AccountFeatures, "covering", refuse)
    path = _write(events, tmp_path / "events.parquet")
    _assert_same_as_in_memory(path, tmp_path / "merged", model, chunk_rows=2_000)
    history = rs.extract_account_features(rs.read_messages(path))
    given = score_parquet(
        path, tmp_path / "given", model=model, chunk_rows=2_000, account_features=history
    )
    merged = pq.read_table(tmp_path / "merged" / "scores.parquet")
    assert pq.read_table(given.scores_path).equals(merged)


def test_account_features_of_another_history_are_refused_before_any_output(
    events: pa.Table, tmp_path: Path, model: rs.RiskModel
) -> None:
    # the one check of the whole file (check_covers in step 2) still refuses them
    path = _write(events, tmp_path / "events.parquet")
    whole = rs.extract_account_features(rs.read_messages(path))
    fewer = AccountFeatures(account_id=whole.account_id, values=whole.values * 0)
    with pytest.raises(rs.SchemaError, match="accounts have more activity in the events"):
        score_parquet(path, tmp_path / "a", model=model, chunk_rows=2_000, account_features=fewer)
    later = PairFacts(
        lo=whole.pairs.lo,
        hi=whole.pairs.hi,
        first=whole.pairs.first + 1,
        private=whole.pairs.private,
    )
    late = AccountFeatures(account_id=whole.account_id, values=whole.values, pairs=later)
    with pytest.raises(rs.SchemaError, match="pairs of accounts met or went private earlier"):
        score_parquet(path, tmp_path / "b", model=model, chunk_rows=2_000, account_features=late)
    assert not (tmp_path / "a" / "scores.parquet").exists()
    assert not (tmp_path / "b" / "scores.parquet").exists()


@pytest.mark.parametrize("text_ids", [False, True])
def test_features_from_spilled_states_are_those_of_extract_features(
    events: pa.Table, tmp_path: Path, text_ids: bool
) -> None:
    """Step 2 folds each chunk into states and spills them; step 3 finishes them with the
    tallies of the whole file: the same floats and ids as extract_features, and no check
    of the tallies (that is for the callers that checked already)."""
    if text_ids:
        for name in ("conversation_id", "sender_id", "recipient_id"):
            i = events.column_names.index(name)
            events = events.set_column(i, name, pc.cast(events.column(name), pa.string()))
    msgs = rs.read_messages(events)
    history = rs.extract_account_features(msgs)
    part = msgs.take_conversations(np.arange(0, msgs.n_conversations, 3))
    want = rs.extract_features(part, account_features=history)
    write_states(tmp_path / "states.arrow", conversation_states(part))
    states = read_states(tmp_path / "states.arrow")
    assert states.conversation_id.dtype == (object if text_ids else np.int64)
    got = features_from_states(states, history)
    assert got.values.tobytes() == want.values.tobytes()
    for name in ("conversation_id", "adult_id", "child_id"):
        np.testing.assert_array_equal(getattr(got, name), getattr(want, name))
    stale = AccountFeatures(account_id=history.account_id, values=history.values * 0)
    with pytest.raises(rs.SchemaError, match="more activity"):
        rs.extract_features(part, account_features=stale)
    features_from_states(states, stale)


def test_states_of_the_wrong_shape_are_refused(events: pa.Table) -> None:
    states = conversation_states(rs.read_messages(events))
    with pytest.raises(ValueError, match="states of shape"):
        ConversationStates(
            states.conversation_id, states.initiator_id, states.responder_id,
            states.adult_is_initiator, states.states[:, :-1],
        )  # fmt: skip


@pytest.mark.parametrize("order", ["sorted", "breaks_late"])
def test_progress_counts_rows_read_then_rows_scored(
    events: pa.Table, tmp_path: Path, model: rs.RiskModel, order: str
) -> None:
    table = (
        events if order == "sorted" else pa.concat_tables([events.slice(500), events.slice(0, 500)])
    )
    path = _write(table, tmp_path / "events.parquet")
    calls: list[tuple[str, int]] = []
    score_parquet(
        path, tmp_path / "out", model=model, chunk_rows=2_000,
        read_progress=lambda n: calls.append(("read", n)),
        progress=lambda n: calls.append(("score", n)),
    )  # fmt: skip
    read = [n for step, n in calls if step == "read"]
    scored = [n for step, n in calls if step == "score"]
    assert calls[: len(read)] == [("read", n) for n in read]  # every chunk read before any scored
    assert scored == sorted(scored)
    assert scored[-1] == table.num_rows
    assert len(scored) > 1
    assert read[-1] == table.num_rows
    # a file found not sorted is read again from the start, partitioned
    assert (read == sorted(read)) == (order == "sorted")
