"""Per-account features computed over more events than are scored."""

from __future__ import annotations

import numpy as np

import riskscore as rs
from riskscore.features import extract_account_features


def test_account_features_from_all_events_equal_whole_table_features() -> None:
    data = rs.synthetic.generate(600, prevalence=0.05, seed=3)
    msgs = data.messages
    whole = rs.extract_features(msgs)
    accounts = extract_account_features(msgs)
    half = msgs.take_conversations(np.arange(0, msgs.n_conversations, 2))
    part = rs.extract_features(half, account_features=accounts)
    np.testing.assert_array_equal(part.values, whole.values[::2])


def test_scoring_a_part_alone_understates_fanout() -> None:
    data = rs.synthetic.generate(600, prevalence=0.05, seed=3)
    msgs = data.messages
    whole = rs.extract_features(msgs).column("adult_minor_fanout")[::2]
    half = msgs.take_conversations(np.arange(0, msgs.n_conversations, 2))
    alone = rs.extract_features(half).column("adult_minor_fanout")
    assert np.all(alone <= whole)
    assert np.any(alone < whole)


def test_unknown_accounts_get_zero_account_features() -> None:
    accounts = extract_account_features(
        {
            "conversation_id": [1],
            "timestamp": [1_700_000_000],
            "sender_id": [10],
            "recipient_id": [11],
            "channel": ["direct"],
            "recipient_age": [12],
        }
    )
    np.testing.assert_array_equal(accounts.lookup(np.array([10, 99])), [[1, 1, 0, 0], [0, 0, 0, 0]])
