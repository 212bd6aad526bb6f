"""The compiled per-account tally pass (riskscore/features/account_kernel.py): equal to the
vectorized numpy definition it replaced on random events (group contact, unknown ages,
every channel and event), whatever the number of worker threads; and ``sorted_unique``
(riskscore/io/segments.py) equal to ``np.unique``."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import riskscore as rs
from riskscore.features.accounts import _codes, account_parts, account_tallies
from riskscore.features.kernel import is_supervised
from riskscore.io.groups import group_contact_mask
from riskscore.io.schema import MINOR_AGE, SCHEMA_COLUMNS, Channel, EventType
from riskscore.io.segments import sorted_unique
from riskscore.io.threads import THREADS_VARIABLE

CHANNELS = ("public", "group", "direct", "ephemeral", "encrypted", "external")
EVENTS = ("message", "contact_request", "contact_accept", "block", "report", "media")
AGES = (None, 9.0, 13.5, 17.9, 18.0, 35.0)


def reference_codes(msgs: rs.MessageTable) -> tuple[Any, Any, Any, Any]:
    """The tallies' parts as the numpy passes computed them before the compiled pass."""
    n_acc = len(msgs.accounts)
    contact_events = np.isin(
        np.arange(256), (EventType.MESSAGE, EventType.MEDIA, EventType.CONTACT_REQUEST)
    )
    any_contact = contact_events[msgs.event]
    contact = any_contact & ~group_contact_mask(msgs.room_size, msgs.event)
    with np.errstate(invalid="ignore"):
        reaches_minor = any_contact & (msgs.recipient_age < MINOR_AGE)
        from_minor = msgs.sender_age < MINOR_AGE
    to_minor = contact & reaches_minor
    supervised = reaches_minor & is_supervised(msgs.channel, msgs.room_size)
    private = msgs.channel >= Channel.EPHEMERAL
    safety = (msgs.event == EventType.BLOCK) | (msgs.event == EventType.REPORT)
    counts = np.column_stack(
        [
            np.bincount(msgs.sender_code[msgs.event == EventType.CONTACT_REQUEST], minlength=n_acc),
            np.bincount(
                msgs.recipient_code[msgs.event == EventType.CONTACT_ACCEPT], minlength=n_acc
            ),
            np.bincount(msgs.recipient_code[safety & from_minor], minlength=n_acc),
            np.bincount(msgs.sender_code[reaches_minor], minlength=n_acc),
            np.bincount(msgs.sender_code[supervised], minlength=n_acc),
        ]
    ).astype(np.float64)

    def distinct(mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
        return np.unique(msgs.sender_code[mask] * n_acc + msgs.recipient_code[mask])

    return distinct(contact), distinct(to_minor), distinct(to_minor & private), counts


events = st.lists(
    st.tuples(
        st.integers(0, 5),  # conversation
        st.integers(0, 3),  # account pair
        st.booleans(),  # direction
        st.integers(0, 10_000),  # time
        st.sampled_from(AGES),
        st.sampled_from(AGES),
        st.sampled_from(CHANNELS),
        st.sampled_from(EVENTS),
        st.sampled_from((None, 2, 3, 12)),  # room size
    ),
    min_size=1,
    max_size=60,
)


def _table(rows: list[tuple[Any, ...]]) -> rs.MessageTable:
    # conversation c holds the accounts of pair p = (10 p, 10 p + 1) (its first event's pair)
    pair_of: dict[int, int] = {}
    # schema v1 in its order: conversation_id, timestamp, ..., event, room_size
    cols: dict[str, list[Any]] = {k: [] for k in SCHEMA_COLUMNS if k != "recipient_tz_offset_min"}
    for conv, pair, back, t, age_s, age_r, channel, event, room in rows:
        p = pair_of.setdefault(conv, pair)
        a, b = 10 * p, 10 * p + 1
        sender, recipient = (b, a) if back else (a, b)
        for name, value in zip(
            cols,
            (conv, 1_700_000_000 + t, sender, recipient, age_s, age_r, channel, event, room),
            strict=True,
        ):
            cols[name].append(value)
    return rs.read_messages(cols)


@settings(max_examples=150, deadline=None)
@given(events)
def test_compiled_tallies_equal_the_numpy_definition(rows: list[tuple[Any, ...]]) -> None:
    msgs = _table(rows)
    for got, want in zip(_codes(msgs), reference_codes(msgs), strict=True):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("threads", ["1", "3"])
def test_tallies_do_not_depend_on_the_number_of_parts(
    threads: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    msgs = rs.synthetic.generate(300, prevalence=0.1, seed=5).messages
    want_tallies = account_tallies(msgs)
    want_parts = account_parts(msgs)
    monkeypatch.setenv(THREADS_VARIABLE, threads)
    assert account_tallies(msgs).tobytes() == want_tallies.tobytes()
    got = account_parts(msgs)
    for name in ("contacts", "minors", "private_minors"):
        for g, w in zip(getattr(got, name), getattr(want_parts, name), strict=True):
            np.testing.assert_array_equal(g, w)
    np.testing.assert_array_equal(got.counts, want_parts.counts)


@given(st.lists(st.integers(-(2**62), 2**62), max_size=200))
def test_sorted_unique_equals_np_unique(values: list[int]) -> None:
    arr = np.asarray(values, dtype=np.int64)
    got = sorted_unique(arr)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, np.unique(arr))
