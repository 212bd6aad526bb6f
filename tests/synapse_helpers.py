"""What the tests of the Synapse module share: a base config, stand-ins for Synapse's
events, rooms and ``ModuleApi`` (content that fails a test if read), a module built on
them, and a runner for its callbacks that must not await.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import riskscore as rs
from riskscore.integrations.synapse import RiskscoreModule
from riskscore.moderation.queue import ReviewQueue

MODULE = "riskscore.integrations.synapse.RiskscoreModule"


def _base(tmp_path: Path, **extra: Any) -> dict[str, Any]:
    return {"state_dir": str(tmp_path / "s"), "alerts": {"jsonl": str(tmp_path / "a")}, **extra}


#: The default policy's keys, as a ``policy:`` block (the keys of a policy file).
_POLICY = rs.AlertPolicy.default().to_mapping()

#: The policy of the stand-in module's tests: the default's guards and bands at lower
#: thresholds (those shipped before December 2026), so that a scripted three-message
#: conversation alerts; these tests check the module's mechanics, not the thresholds.
_MECHANICS_POLICY = {
    **_POLICY,
    "bands": [
        {**band, "review": review, "urgent": urgent}
        for band, (review, urgent) in zip(
            _POLICY["bands"],
            ((0.420, 0.831), (0.592, 0.907), (0.744, 0.952), (0.853, 0.975)),
            strict=True,
        )
    ],
    "unknown": {**_POLICY["unknown"], "review": 0.592, "urgent": 0.907},
}


class _Opaque(Mapping[str, Any]):
    """Content that fails the test if anything reads it (an encrypted payload), but for its
    cleartext ``m.relates_to`` (the Matrix spec keeps relations outside the ciphertext)."""

    def __init__(self, relates_to: Mapping[str, Any] | None = None) -> None:
        self._relates_to = relates_to

    def __getitem__(self, key: str) -> Any:
        if key == "m.relates_to" and self._relates_to is not None:
            return self._relates_to
        if key == "m.relates_to":
            raise KeyError(key)
        raise AssertionError(f"the module read {key!r} of opaque content")

    def __iter__(self) -> Iterator[str]:
        raise AssertionError("the module iterated opaque content")

    def __len__(self) -> int:
        raise AssertionError("the module measured opaque content")


@dataclass
class _Event:
    type: str
    room_id: str
    sender: str
    state_key: str | None = None
    content: Mapping[str, Any] = field(default_factory=dict)
    origin_server_ts: int = 1_700_000_000_000
    event_id: str = "$synthetic"

    def get_state_key(self) -> str | None:
        return self.state_key


class _Room:
    """Current state of a fake room, as Synapse passes it to ``on_new_event``."""

    def __init__(self, room_id: str, join_rule: str = "invite") -> None:
        self.room_id = room_id
        self.state: dict[tuple[str, str], _Event] = {}
        self.set("m.room.join_rules", "", {"join_rule": join_rule}, "@x:x")

    def set(self, kind: str, key: str, content: Mapping[str, Any], sender: str) -> _Event:
        event = _Event(kind, self.room_id, sender, key, content)
        self.state[(kind, key)] = event
        return event

    def member(self, user: str, membership: str, sender: str | None = None, **extra: Any) -> _Event:
        return self.set("m.room.member", user, {"membership": membership, **extra}, sender or user)

    def message(self, sender: str, kind: str = "m.room.message") -> _Event:
        content: Mapping[str, Any] = _Opaque()
        return _Event(kind, self.room_id, sender, None, content)


class _StandInApi:
    """The part of ``ModuleApi`` that ``RiskscoreModule.__init__`` uses; records calls."""

    server_name = "x"

    def __init__(self) -> None:
        self.callbacks: dict[str, Any] = {}
        self.background: list[str] = []

    def register_third_party_rules_callbacks(self, **callbacks: Any) -> None:
        self.callbacks.update(callbacks)

    def register_account_data_callbacks(self, **callbacks: Any) -> None:
        self.callbacks.update(callbacks)

    def looping_background_call(self, *_: Any, **__: Any) -> None:
        pass

    def get_qualified_user_id(self, localpart: str) -> str:
        return f"@{localpart}:x"

    def run_as_background_process(self, desc: str, func: Any) -> None:
        self.background.append(desc)  # not run: the test drives _process itself

    async def defer_to_thread(self, func: Any, *args: Any) -> Any:
        return func(*args)  # in this thread: the tests that wait on another swap it


def _module(
    tmp_path: Path, *, more_ages: str = "", **extra: Any
) -> tuple[RiskscoreModule, _StandInApi]:
    ages = tmp_path / "ages.csv"
    ages.write_text(f"user_id,age,tz_offset_min\n@adult:x,34,0\n@kid:x,12,0\n{more_ages}")
    extra.setdefault("policy", _MECHANICS_POLICY)
    raw = _base(tmp_path, ages={"csv": str(ages)}, events_log=str(tmp_path / "ev.jsonl"), **extra)
    api = _StandInApi()
    return RiskscoreModule(RiskscoreModule.parse_config(raw), api), api  # type: ignore[arg-type]


def _run(coro: Any) -> None:
    with contextlib.suppress(StopIteration):
        coro.send(None)
        raise AssertionError("the callback awaited something")


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class _Suspended:
    """An awaitable that never completes (a thread still waiting for the queue's lock)."""

    def __await__(self) -> Generator[None, None, None]:
        yield


def _sinks(tmp_path: Path, *, queue: bool = True) -> tuple[RiskscoreModule, Path, Path]:
    """A module writing alerts to ``a.jsonl`` and, with ``queue``, the review queue
    ``q.sqlite`` (made first: another process may then hold it); the module, the queue's
    path and the alerts file's."""
    db, jsonl = tmp_path / "q.sqlite", tmp_path / "a.jsonl"
    tmp_path.mkdir(exist_ok=True)
    config = {"jsonl": str(jsonl)}
    if queue:
        ReviewQueue(db).close()
        config["review_queue"] = str(db)
    module, _ = _module(tmp_path, alerts=config)
    return module, db, jsonl


#: The time of the first message of :func:`_chat` (ms).
_T0 = 1_700_000_000_000


def _chat(module: RiskscoreModule, n: int = 12) -> None:
    """A direct chat of an adult with a 12-year-old: two alerts (review, then urgent) in
    one batch of the scorer."""
    dm = _Room("!dm:x")
    dm.member("@adult:x", "join")
    _run(module.on_new_event(dm.member("@kid:x", "invite", "@adult:x", is_direct=True), dm.state))
    _run(module.on_new_event(dm.member("@kid:x", "join"), dm.state))
    for i in range(n):
        message = dm.message("@adult:x", "m.room.encrypted")
        message.origin_server_ts = _T0 + i * 60_000
        _run(module.on_new_event(message, dm.state))


def _queued(db: Path) -> list[tuple[str, int]]:
    """The review queue's items: (conversation id, signals)."""
    with ReviewQueue(db) as q:
        return [(i.conversation_id, i.n_signals) for i in q.items()]


@contextlib.contextmanager
def full_fifo(path: Path, page: bytes) -> Iterator[int]:
    """A FIFO at ``path`` whose pipe is full of ``page`` after ``page``, with its reader
    (yielded) open and reading nothing; closed on exit, so a write still waiting then
    fails (EPIPE) and its thread ends."""
    path.unlink(missing_ok=True)
    os.mkfifo(path)
    reader = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        writer = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        try:
            while True:
                os.write(writer, page)
        except BlockingIOError:
            pass
        finally:
            os.close(writer)
        yield reader
    finally:
        os.close(reader)
