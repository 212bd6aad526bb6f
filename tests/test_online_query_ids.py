"""Asking the online scorer about a conversation by an id of the wrong type.

Was: ``OnlineScorer.score_of(True)`` and ``score_of(1.0)`` returned conversation 1's score
(``True`` and ``1.0`` equal ``1`` as dictionary keys), and so did ``features_of`` and
``conversation_of``: an answer about another conversation than the one asked. A bool or a
float is no id; it is refused by type.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import riskscore as rs


@pytest.fixture(scope="module")
def scorer() -> rs.OnlineScorer:
    scorer = rs.OnlineScorer(rs.load_model())
    event = {"timestamp": 1767225600, "sender_id": "a", "recipient_id": "b", "channel": "direct"}
    scorer.update_one({**event, "conversation_id": 1})
    return scorer


QUERIES: list[Callable[[rs.OnlineScorer, Any], Any]] = [
    lambda s, cid: s.score_of(cid),
    lambda s, cid: s.features_of(cid),
    lambda s, cid: s.conversation_of(cid),
]


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("wrong", [True, 1.0, np.float64(1.0), np.bool_(True)])
def test_a_bool_or_float_id_is_refused_not_read_as_another(
    scorer: rs.OnlineScorer, query: Callable[[rs.OnlineScorer, Any], Any], wrong: Any
) -> None:
    with pytest.raises(TypeError, match="ids are integers or text"):
        query(scorer, wrong)


@pytest.mark.parametrize("query", QUERIES)
def test_the_id_as_given_still_answers(
    scorer: rs.OnlineScorer, query: Callable[[rs.OnlineScorer, Any], Any]
) -> None:
    assert query(scorer, 1) is not None
    assert query(scorer, np.int64(1)) is not None  # the same integer
    with pytest.raises(KeyError, match="unknown to this scorer"):
        query(scorer, "1")  # text "1" is another conversation
