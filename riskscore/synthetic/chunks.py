"""One self-contained chunk of generated data, and the seeded sequence of chunks.

A chunk allocates its scenarios, then draws its accounts, conversations, events and
labels; chunk ``i`` draws from the ``i``-th child of ``np.random.SeedSequence(seed)``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from riskscore.synthetic.accounts import assign_accounts
from riskscore.synthetic.conversations import plan_conversations
from riskscore.synthetic.events import draw_events, onset_index, record
from riskscore.synthetic.labels import Labels
from riskscore.synthetic.options import Config
from riskscore.synthetic.world import World

__all__ = ["Chunk", "iter_chunks"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Chunk:
    """One chunk: schema v1 columns (coded channel and event) sorted by conversation and
    time, with its labels."""

    columns: dict[str, npt.NDArray[Any]]
    labels: Labels
    n_accounts: int


def iter_chunks(
    n_conversations: int,
    prevalence: float,
    seed: int | None,
    chunk_conversations: int,
    config: Config,
    n_adults: int | None,
) -> Iterator[Chunk]:
    """Generate the chunks one after the other (lazily, so memory holds one)."""
    n_chunks = -(-n_conversations // chunk_conversations)
    sizes = np.full(n_chunks, chunk_conversations, dtype=np.int64)
    sizes[-1] = n_conversations - chunk_conversations * (n_chunks - 1)
    n_grooming = _largest_remainder(
        min(n_conversations, math.floor(n_conversations * prevalence + 0.5)),
        sizes.astype(np.float64),
    )
    # n_adults is split over the chunks by size (at least 2 each).
    adults = (
        None
        if n_adults is None
        else np.maximum(_largest_remainder(n_adults, sizes.astype(np.float64)), 2)
    )
    children = np.random.SeedSequence(seed).spawn(n_chunks)
    conv_offset = account_offset = 0
    for i in range(n_chunks):
        chunk = _generate_chunk(
            int(sizes[i]),
            int(n_grooming[i]),
            conv_offset,
            account_offset,
            None if adults is None else int(adults[i]),
            config,
            np.random.default_rng(children[i]),
        )
        conv_offset += int(sizes[i])
        account_offset += chunk.n_accounts
        yield chunk


def _allocate_scenarios(
    n: int, n_grooming: int, world: World, rng: np.random.Generator
) -> IntArray:
    """Scenario code (index into ``world.scenarios``) of each conversation, grouped by code.

    The grooming count is exact; benign counts follow the mix by largest remainder.
    Grooming variants are drawn per conversation.
    """
    code = {s.name: i for i, s in enumerate(world.scenarios)}
    variant_names = list(world.grooming_mix)
    variant_p = np.array([world.grooming_mix[v] for v in variant_names])
    variants = rng.choice(len(variant_names), size=n_grooming, p=variant_p)
    grooming = np.sort(np.array([code[v] for v in variant_names], dtype=np.int64)[variants])
    names = list(world.benign_mix)
    counts = _largest_remainder(n - n_grooming, np.array([world.benign_mix[k] for k in names]))
    benign = np.repeat(np.array([code[k] for k in names], dtype=np.int64), counts)
    return np.concatenate([grooming, benign])


def _largest_remainder(total: int, shares: FloatArray) -> IntArray:
    """Split ``total`` into integer counts proportional to ``shares``."""
    exact = total * shares / shares.sum()
    counts: IntArray = np.floor(exact).astype(np.int64)
    short = total - int(counts.sum())
    counts[np.argsort(-(exact - counts), kind="stable")[:short]] += 1
    return counts


def _generate_chunk(
    n: int,
    n_grooming: int,
    conv_offset: int,
    account_offset: int,
    n_adults: int | None,
    config: Config,
    rng: np.random.Generator,
) -> Chunk:
    """Accounts, conversations, events and labels of one self-contained chunk."""
    world = config.world
    scenario = _allocate_scenarios(n, n_grooming, world, rng)
    accounts = assign_accounts(scenario, world, n_adults, account_offset, rng)
    plan = plan_conversations(scenario, world, config.window, rng)
    events = draw_events(plan, accounts, config.window, world.reciprocity, rng)
    shuffled = rng.permutation(n).astype(np.int64)  # conversation code of each generated one
    noise = rng.random(n)  # drawn last: label noise never changes the events

    # Reorder conversations by id (= code); events stay in time order within each.
    generated = np.empty(n, dtype=np.int64)
    generated[shuffled] = np.arange(n, dtype=np.int64)  # generated index of each code
    counts = plan.n_events[generated]
    starts_new = np.cumsum(counts) - counts
    starts_old = (np.cumsum(plan.n_events) - plan.n_events)[generated]
    order = np.repeat(starts_old - starts_new, counts) + np.arange(int(counts.sum()))
    conv = events.conv[order]
    from_a = events.from_a[order]
    a, b = accounts.a[conv], accounts.b[conv]
    sender = np.where(from_a, a, b)
    recipient = np.where(from_a, b, a)
    timestamp = events.timestamp[order]
    channel = events.channel[order]
    event = events.event[order]
    is_grooming = np.array([s.is_grooming for s in world.scenarios])
    is_true = is_grooming[scenario][generated]
    # Ground truth comes from what happened, in the child's real local time...
    child_tz = accounts.tz_offset_min[accounts.b][conv]
    onset = onset_index(timestamp, child_tz, channel, event, starts_new, is_true)
    # ...the events from what the platform records of it.
    columns, kept = record(
        {
            "conversation_id": conv_offset + shuffled[conv],
            "timestamp": timestamp,
            "sender_id": accounts.ids[sender],
            "recipient_id": accounts.ids[recipient],
            "sender_age": accounts.declared_age[sender],
            "recipient_age": accounts.declared_age[recipient],
            "channel": channel,
            "event": event,
            "recipient_tz_offset_min": accounts.tz_offset_min[recipient],
        },
        world.platform,
    )
    if not kept.all():
        # Only closing blocks and reports are dropped: an onset past the recorded end
        # moves to the conversation's last recorded event.
        n_kept = np.add.reduceat(kept.astype(np.int64), starts_new)
        onset = np.where(is_true, np.minimum(onset, n_kept - 1), -1)

    labels = Labels(
        conversation_id=conv_offset + np.arange(n, dtype=np.int64),
        is_grooming=is_true ^ (noise[generated] < config.label_noise),
        onset_index=onset,
        adult_id=accounts.ids[accounts.a][generated],
        scenario=np.asarray([s.name for s in world.scenarios])[scenario][generated],
        is_grooming_true=is_true,
    )
    return Chunk(columns=columns, labels=labels, n_accounts=len(accounts.ids))
