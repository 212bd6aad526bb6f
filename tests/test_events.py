"""One event read online (:mod:`riskscore.io.events`)."""

from __future__ import annotations

import collections
import sys

import numpy as np
import pytest

import riskscore as rs
from riskscore.io.events import parse_event


@pytest.mark.parametrize(
    ("event", "named"),
    [
        (5, "an int"),
        (object(), "an object"),
        (..., "an ellipsis"),
        ([1], "a list"),
        ("x", "a str"),
        (np.arange(2), "an ndarray"),
        (collections.UserList(), "a UserList"),
    ],
)
def test_an_event_not_a_mapping_is_named_with_its_article(event: object, named: str) -> None:
    """Was: ``event 5 is a int, not a mapping`` (``a`` before every type name). Now the
    article reads as the type name is read (``riskscore._words.a_or_an``)."""
    with pytest.raises(rs.SchemaError) as caught:
        parse_event(event, 5)  # type: ignore[arg-type]
    assert str(caught.value).startswith(f"event 5 is {named}, not a mapping"), caught.value


def test_the_online_scorer_names_a_bad_events_kind_with_its_article() -> None:
    scorer = rs.OnlineScorer(rs.load_model())
    with pytest.raises(rs.SchemaError, match=r"^event 0 is an int, not a mapping"):
        scorer.update_one(sys.maxsize)  # type: ignore[arg-type]
