"""What the tests of :func:`riskscore.extract_features` share: synthetic events built by hand
(``A`` an adult account (40), ``K`` a child account (13)), the assertions, the random
tables of the property-based tests, and the feature kernel run without numba in a child
process (:class:`UncompiledKernel`, also used by the conformance suite).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import strategies as st

from riskscore.features import FeatureTable, extract_features

Event = dict[str, object]

NAN = math.nan
#: 2024-05-01T00:00:00Z in epoch seconds.
T0 = 1_714_521_600
MINUTE = 60
HOUR = 3_600
DAY = 86_400
NOON = 12 * HOUR

AGE_COLUMNS = frozenset({"child_age", "adult_age", "age_gap"})
#: Besides ages, only the pair facts can be unknown (none given; never moved to private).
NULLABLE_COLUMNS = AGE_COLUMNS | {"pair_met_channel", "pair_hours_to_private"}
#: Features that are fractions in [0, 1].
FRACTION_COLUMNS = (
    "adult_message_share",
    "adult_recent_share",
    "child_night_share",
    "child_recent_night_share",
    "secure_move_speed",
    "adult_media_rate",
    "child_media_rate",
    "adult_night_media_rate",
    "private_night_share",
    "adult_minor_contact_share",
    "adult_unaccepted_share",
    "child_tz_known_share",
)
FLAG_COLUMNS = (
    "child_is_minor",
    "child_age_known",
    "adult_age_known",
    "adult_initiated",
    "adult_sent_request",
)
DOCS = Path(__file__).parents[1] / "docs" / "features.md"


# ---------------------------------------------------------------- helpers


def ev(
    conversation: object,
    t: int,
    sender: object,
    recipient: object,
    *,
    sender_age: float = NAN,
    recipient_age: float = NAN,
    channel: str = "direct",
    event: str = "message",
    tz: int | None = 0,
    room_size: int | None = None,
) -> Event:
    """One event; ``t`` is seconds after T0, ``tz`` the recipient's UTC offset in minutes
    (None: unknown), ``room_size`` the accounts in the room (None: not given)."""
    return {
        "conversation_id": conversation,
        "timestamp": T0 + t,
        "sender_id": sender,
        "recipient_id": recipient,
        "sender_age": sender_age,
        "recipient_age": recipient_age,
        "channel": channel,
        "event": event,
        "recipient_tz_offset_min": tz,
        "room_size": room_size,
    }


def adult_to_child(
    t: int,
    *,
    conversation: object = "c",
    channel: str = "direct",
    event: str = "message",
    tz: int | None = 0,
) -> Event:
    """Adult A (40) to child K (13); ``tz`` is the child's UTC offset in minutes."""
    return ev(
        conversation,
        t,
        "A",
        "K",
        sender_age=40,
        recipient_age=13,
        channel=channel,
        event=event,
        tz=tz,
    )


def child_to_adult(
    t: int,
    *,
    conversation: object = "c",
    channel: str = "direct",
    event: str = "message",
    tz: int | None = 0,
) -> Event:
    """Child K (13) to adult A (40); ``tz`` is the adult's UTC offset in minutes."""
    return ev(
        conversation,
        t,
        "K",
        "A",
        sender_age=13,
        recipient_age=40,
        channel=channel,
        event=event,
        tz=tz,
    )


def to_columns(events: Sequence[Event]) -> dict[str, list[object]]:
    names = list(events[0])
    return {name: [e[name] for e in events] for name in names}


def extract(events: Sequence[Event]) -> FeatureTable:
    return extract_features(to_columns(events))


def row_of(table: FeatureTable, i: int) -> dict[str, float]:
    """Features of the i-th conversation of a table, by name."""
    return {name: float(v) for name, v in zip(table.names, table.values[i], strict=True)}


def features_by_conversation(events: Sequence[Event]) -> dict[object, dict[str, float]]:
    table = extract(events)
    return {cid: row_of(table, i) for i, cid in enumerate(table.conversation_id.tolist())}


def single(events: Sequence[Event]) -> dict[str, float]:
    """Features of a table holding exactly one conversation."""
    rows = features_by_conversation(events)
    assert len(rows) == 1
    return next(iter(rows.values()))


def assert_features(got: dict[str, float], expected: dict[str, float]) -> None:
    """Each expected feature matches (NaN matches NaN), to 1e-12 relative."""
    for name, want in expected.items():
        value = got[name]
        if math.isnan(want):
            assert math.isnan(value), f"{name}: expected NaN, got {value}"
        else:
            assert value == pytest.approx(want, rel=1e-12, abs=1e-12), name


def recent(flags: Sequence[int]) -> float:
    """The documented 'recent' share: weight 0.1 on the newest, starting from 0."""
    value = 0.0
    for flag in flags:
        value = 0.9 * value + 0.1 * flag
    return value


def assert_tables_identical(got: FeatureTable, expected: FeatureTable) -> None:
    """Bit for bit (NaNs included), with the same ids."""
    assert got.names == expected.names
    np.testing.assert_array_equal(got.conversation_id, expected.conversation_id)
    np.testing.assert_array_equal(got.adult_id, expected.adult_id)
    np.testing.assert_array_equal(got.child_id, expected.child_id)
    assert got.values.tobytes() == expected.values.tobytes()


def account_feature_events() -> list[Event]:
    """Adult A (40) in five conversations, adult B (50) in one.

    A contacts minors K1 (13, in two conversations, once on ephemeral) and K2 (15),
    adult U1 (30, on external) and U2 (age unknown, on encrypted).
    """

    def a_to(
        conv: str, t: int, who: str, age: float, event: str = "message", channel: str = "direct"
    ) -> Event:
        return ev(conv, t, "A", who, sender_age=40, recipient_age=age, event=event, channel=channel)

    def to_a(conv: str, t: int, who: str, age: float, event: str = "message") -> Event:
        return ev(conv, t, who, "A", sender_age=age, recipient_age=40, event=event)

    return [
        a_to("c1", 0, "K1", 13, "contact_request"),
        to_a("c1", 1, "K1", 13, "contact_accept"),
        a_to("c1", 2, "K1", 13),
        to_a("c1", 3, "K1", 13),
        a_to("c1", 4, "K1", 13),
        a_to("c2", 10, "K1", 13, "media", "ephemeral"),  # same minor, private channel
        a_to("c3", 20, "K2", 15, "contact_request"),
        a_to("c3", 21, "K2", 15, "contact_request"),
        a_to("c3", 22, "K2", 15),
        to_a("c3", 23, "K2", 15, "block"),
        to_a("c3", 24, "K2", 15, "report"),
        a_to("c4", 30, "U1", 30, channel="external"),  # private, but an adult
        to_a("c4", 31, "U1", 30, "report"),  # from an adult: not counted
        a_to("c5", 40, "U2", NAN, "contact_request", "encrypted"),  # age unknown
        ev("c6", 50, "B", "K1", sender_age=50, recipient_age=13),
        # K1 accepts a request B never sent: 0 requests - 1 accept floors at 0
        ev("c6", 51, "K1", "B", sender_age=13, recipient_age=50, event="contact_accept"),
    ]


def mixed_events() -> list[Event]:
    """Several conversations with distinct timestamps, including unknown ages."""
    events = account_feature_events()
    events += [
        adult_to_child(100 + i * 600, conversation="k", channel=ch, tz=60)
        for i, ch in enumerate(("public", "direct", "encrypted"))
    ]
    events += [ev("pq", 5_000, "p", "q"), ev("pq", 5_060, "q", "p", event="media", tz=-300)]
    return events


CHANNELS = ("public", "group", "direct", "ephemeral", "encrypted", "external")
EVENTS = ("message", "contact_request", "contact_accept", "block", "report", "media")
ACCOUNTS = ("u0", "u1", "u2", "u3", "u4")
AGES = st.one_of(
    st.just(NAN), st.integers(0, 120).map(float), st.floats(0.0, 120.0, allow_nan=False)
)


@st.composite
def event_tables(draw: st.DrawFn, *, distinct_times: bool = True) -> list[Event]:
    """1-4 conversations of 1-8 events among five accounts over 30 days.

    With ``distinct_times``, timestamps are distinct: ties are broken by input order
    (documented), so only tie-free tables are expected to be invariant to row order.
    """
    rows: list[Event] = []
    for conversation in range(draw(st.integers(1, 4))):
        pair = draw(st.lists(st.sampled_from(ACCOUNTS), min_size=2, max_size=2, unique=True))
        for _ in range(draw(st.integers(1, 8))):
            sender, recipient = pair if draw(st.booleans()) else pair[::-1]
            rows.append(
                ev(
                    conversation,
                    0,
                    sender,
                    recipient,
                    sender_age=draw(AGES),
                    recipient_age=draw(AGES),
                    channel=draw(st.sampled_from(CHANNELS)),
                    event=draw(st.sampled_from(EVENTS)),
                    tz=draw(
                        st.none()
                        | st.integers(-720, 840).map(lambda minutes: minutes - minutes % 15)
                    ),
                    room_size=draw(st.none() | st.integers(2, 5)),
                )
            )
    times = st.integers(0, 30 * DAY)
    if distinct_times:
        offsets = draw(st.lists(times, min_size=len(rows), max_size=len(rows), unique=True))
    else:
        offsets = draw(
            st.lists(
                st.sampled_from([0, 59, 60, 3_600, 86_399, 7 * DAY]) | times,
                min_size=len(rows),
                max_size=len(rows),
            )
        )
    for row, offset in zip(rows, offsets, strict=True):
        row["timestamp"] = T0 + offset
    return rows


# ---------------------------------------------------------------- the kernel without numba

#: A worker that reads one table of events per line (JSON) and answers with its features
#: computed by the same kernel source with numba's compiler switched off.
_UNCOMPILED_WORKER = """
import inspect, json, sys
import numba
from riskscore.features import extract_features, kernel
from riskscore.io import read_messages

jit_off = numba.config.DISABLE_JIT and inspect.isfunction(kernel.update_conversation)
print(json.dumps({"jit_off": bool(jit_off)}), flush=True)
for line in sys.stdin:
    msgs = read_messages(json.loads(line))
    if len(msgs) == 0:  # every event set aside as a broadcast: no conversation yet
        print(json.dumps({"conversation_id": [], "values": [], "adult_id": [],
                          "child_id": []}), flush=True)
        continue
    table = extract_features(msgs)
    print(json.dumps({
        "conversation_id": table.conversation_id.tolist(),
        "values": [float(v).hex() for v in table.values.ravel()],
        "adult_id": table.adult_id.tolist(),
        "child_id": table.child_id.tolist(),
    }), flush=True)
"""


class UncompiledKernel:
    """The feature kernel run as plain Python in a child process (NUMBA_DISABLE_JIT=1)."""

    def __init__(self) -> None:
        env = {**os.environ, "NUMBA_DISABLE_JIT": "1", "RISKSCORE_NUM_THREADS": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-c", _UNCOMPILED_WORKER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=Path(__file__).parents[1],
        )
        self.jit_off = bool(self._read()["jit_off"])

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the uncompiled worker stopped (exit {self.process.poll()})")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def features(self, events: Sequence[Event]) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(to_columns(events)) + "\n")
        self.process.stdin.flush()
        return self._read()

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
