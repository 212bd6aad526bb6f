"""The generator's entry points: :func:`generate` (in memory) and :func:`generate_parquet`
(chunk by chunk to Parquet), and the chunk that both draw."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeGuard

import numpy as np
import numpy.typing as npt

from riskscore.io import read_messages
from riskscore.io.schema import CHANNEL_NAMES, EVENT_NAMES, MAX_TIMESTAMP
from riskscore.synthetic.accounts import assign_accounts
from riskscore.synthetic.conversations import DAY_S, HOUR_S, plan_conversations
from riskscore.synthetic.data import SyntheticData
from riskscore.synthetic.events import draw_events, onset_index, record
from riskscore.synthetic.labels import Labels
from riskscore.synthetic.world import World

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["DEFAULT_START", "generate", "generate_parquet"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

#: Default period start: 2026-01-01T00:00:00Z.
DEFAULT_START: Final = 1_767_225_600
#: Local times are kept this far inside the period so that converting them to UTC with
#: any offset in [-12:00, +14:00] stays inside it.
_EARLY_MARGIN_S: Final = 14 * HOUR_S
_LATE_MARGIN_S: Final = 12 * HOUR_S
#: Row-group size of the events file (rows); a chunk larger than this spans several.
_ROW_GROUP_ROWS: Final = 1 << 20
_CHANNEL_NAMES: Final = np.asarray(CHANNEL_NAMES)
_EVENT_NAMES: Final = np.asarray(EVENT_NAMES)

#: Keyword arguments of :func:`generate` that change the world (each one sets the world
#: field of the same name, except ``unknown_age_rate``, which sets the three age rates).
WORLD_KEYWORDS: Final = frozenset(
    {
        "unknown_age_rate",
        "benign_mix",
        "grooming_mix",
        "target_age_weights",
        "child_age_weights",
        "tz_mix",
        "secure_channel_mix",
        "move_platform_rate",
    }
)


def generate(
    n_conversations: int,
    *,
    prevalence: float = 0.01,
    seed: int | None = None,
    world: World | None = None,
    start: int = DEFAULT_START,
    days: int = 30,
    n_adults: int | None = None,
    label_noise: float = 0.0,
    **world_changes: Any,
) -> SyntheticData:
    """Generate synthetic conversations (metadata only) with grooming labels.

    Parameters
    ----------
    n_conversations : int
        Number of conversations, at least 1. Each is between exactly two accounts.
    prevalence : float, default 0.01
        Share of grooming conversations, in [0, 1] (e.g. ``1e-4`` for 1 in
        10,000). Exactly ``round(n_conversations * prevalence)`` conversations are
        grooming (halves round up), which can be 0 for small samples.
    seed : int or None, default None
        Seeds the generator's own ``np.random.SeedSequence``; ``None`` draws fresh
        entropy. Global random state is never used. ``generate(n, seed=s)`` holds
        the same events as :func:`generate_parquet` with one chunk.
    world : World, optional
        What the platform and its population look like (scenarios, mixes, unknown
        ages, time zones, what is recorded): :meth:`World.default` when omitted;
        see :func:`~riskscore.synthetic.draw_world` and
        :data:`~riskscore.synthetic.STRESS_WORLDS` for others.
    start : int, default 1767225600 (2026-01-01T00:00:00Z)
        Start of the period, UTC epoch seconds.
    days : int, default 30
        Length of the period in days, at least 2. All events fall inside it.
    n_adults : int or None, default None
        Number of ordinary adult accounts (parents, siblings, romance partners,
        everyday contacts; teachers and groomers come on top), between 2 and the
        number of ordinary adult slots (about 1.3 per benign conversation with the
        default mix). ``None``: one account per ``adult_reuse`` slots.
    label_noise : float, default 0.0
        Probability, in [0, 0.5], that a conversation's observed label
        ``is_grooming`` is flipped. The truth stays in ``is_grooming_true`` and
        ``onset_index``. Drawn last, so the events do not depend on it.
    **world_changes
        Shorthands that change fields of ``world``: ``benign_mix``,
        ``grooming_mix``, ``target_age_weights``, ``child_age_weights``,
        ``tz_mix``, ``secure_channel_mix``, ``move_platform_rate`` (each the world
        field of that name) and ``unknown_age_rate`` (the share of accounts of
        unknown age, all kinds of account alike).

    Returns
    -------
    SyntheticData
        ``messages`` (a :class:`~riskscore.MessageTable`) and ``labels``.

    Raises
    ------
    ValueError
        A parameter is out of range; the message names it and its value.

    See Also
    --------
    generate_parquet : the same data written to Parquet chunk by chunk.

    Examples
    --------
    >>> from riskscore.synthetic import generate
    >>> data = generate(100, prevalence=0.05, seed=7)
    >>> data.messages.n_conversations, int(data.labels.is_grooming.sum())
    (100, 5)
    >>> bool((data.labels.onset_index[~data.labels.is_grooming] == -1).all())
    True
    """
    config = _configure(
        n_conversations,
        prevalence,
        seed,
        world=world,
        start=start,
        days=days,
        n_adults=n_adults,
        label_noise=label_noise,
        world_changes=world_changes,
    )
    (chunk,) = _chunks(n_conversations, prevalence, seed, n_conversations, config, n_adults)
    columns = dict(chunk.columns)
    columns["channel"] = _CHANNEL_NAMES[columns["channel"]]
    columns["event"] = _EVENT_NAMES[columns["event"]]
    messages = read_messages(columns)
    if not np.array_equal(messages.conversations, chunk.labels.conversation_id):
        raise RuntimeError("generated labels are not aligned with the events: generator bug")
    return SyntheticData(messages=messages, labels=chunk.labels)


def generate_parquet(
    path: str | os.PathLike[str],
    n_conversations: int,
    *,
    prevalence: float = 0.01,
    seed: int | None = 0,
    chunk_conversations: int = 100_000,
    labels_path: str | os.PathLike[str] | None = None,
    progress: Callable[[int], object] | None = None,
    **generate_kwargs: Any,
) -> tuple[Path, Path]:
    """Generate synthetic events and labels straight to Parquet, chunk by chunk.

    Memory is bounded by one chunk: each chunk of ``chunk_conversations``
    conversations is generated complete (its accounts, conversations and events)
    and written as row groups before the next is drawn. Chunk ``i`` draws from
    the ``i``-th child of ``np.random.SeedSequence(seed)``, so the files depend
    only on the arguments: the same arguments give byte-identical files.
    Conversation ids are ``0 .. n_conversations - 1`` and account ids are unique
    across chunks; no account takes part in two chunks. Events are sorted by
    conversation id, then time, as :func:`riskscore.read_messages` orders them.

    Parameters
    ----------
    path : str or path-like
        Events file to write (suffix ``.parquet``); replaced if it exists.
    n_conversations : int
        Number of conversations, at least 1.
    prevalence : float, default 0.01
        Share of grooming conversations; exactly ``round(n_conversations *
        prevalence)`` in total, spread over the chunks by size.
    seed : int or None, default 0
        Root seed. ``None`` draws fresh entropy (not reproducible).
    chunk_conversations : int, default 100_000
        Conversations per chunk, at least 1 (about 40 events each with the
        default mix, so 100,000 is about 4 million events and 1-2 GB of peak
        memory).
    labels_path : str or path-like, optional
        Labels file. Defaults to ``labels.parquet`` beside ``path`` when ``path``
        is named ``events.parquet``, else ``<stem>.labels.parquet``.
    progress : callable, optional
        Called after each chunk with the number of conversations it wrote.
    **generate_kwargs
        Any other keyword argument of :func:`generate` (``world`` included;
        ``n_adults`` is split over the chunks by size).

    Returns
    -------
    tuple of pathlib.Path
        The events file and the labels file (read the labels back with
        :func:`labels_from_arrow`).

    Raises
    ------
    ValueError
        A parameter is out of range; the message names it and its value.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import pyarrow.parquet as pq
    >>> import riskscore as rs
    >>> from riskscore.synthetic import generate_parquet
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     events, labels = generate_parquet(
    ...         pathlib.Path(tmp) / "events.parquet", 300, seed=1, chunk_conversations=100
    ...     )
    ...     print(labels.name, pq.ParquetFile(events).num_row_groups)
    ...     print(rs.read_messages(events).n_conversations)
    labels.parquet 3
    300
    """
    import pyarrow.parquet as pq

    if not _is_int(chunk_conversations) or chunk_conversations < 1:
        raise ValueError(
            f"chunk_conversations must be an integer >= 1, got {chunk_conversations!r}"
        )
    options = {"world", "start", "days", "n_adults", "label_noise", *WORLD_KEYWORDS}
    unknown = sorted(set(generate_kwargs) - options)
    if unknown:
        raise ValueError(
            f"generate_parquet got unknown argument(s) {unknown}; "
            f"expected keywords of generate(): {sorted(options)}"
        )
    direct = {
        k: generate_kwargs.pop(k)
        for k in ("world", "start", "days", "label_noise")
        if k in generate_kwargs
    }
    n_adults = generate_kwargs.pop("n_adults", None)
    config = _configure(
        n_conversations,
        prevalence,
        seed,
        n_adults=n_adults,
        world_changes=generate_kwargs,
        **direct,
    )
    events_path = Path(path)
    if events_path.suffix.lower() not in {".parquet", ".pq"}:
        raise ValueError(f"path must end in .parquet, got {str(path)!r}")
    if labels_path is None:
        name = "labels.parquet" if events_path.name == "events.parquet" else None
        labels_out = events_path.with_name(name or f"{events_path.stem}.labels.parquet")
    else:
        labels_out = Path(labels_path)
    for out in (events_path, labels_out):
        out.parent.mkdir(parents=True, exist_ok=True)
    partial = [out.with_name(out.name + ".partial") for out in (events_path, labels_out)]
    events_schema, labels_schema = _arrow_schemas()
    try:
        with (
            pq.ParquetWriter(partial[0], events_schema) as events_writer,
            pq.ParquetWriter(partial[1], labels_schema) as labels_writer,
        ):
            chunks = _chunks(
                n_conversations, prevalence, seed, chunk_conversations, config, n_adults
            )
            for chunk in chunks:
                events_writer.write_table(
                    _events_arrow(chunk.columns), row_group_size=_ROW_GROUP_ROWS
                )
                labels_writer.write_table(chunk.labels.to_arrow().cast(labels_schema))
                if progress is not None:
                    progress(len(chunk.labels))
        os.replace(partial[0], events_path)
        os.replace(partial[1], labels_out)
    finally:
        for leftover in partial:
            leftover.unlink(missing_ok=True)
    return events_path, labels_out


# ---------------------------------------------------------------- options


@dataclass(frozen=True, slots=True)
class _Config:
    """Validated options shared by every chunk."""

    world: World
    window: tuple[int, int]
    label_noise: float


def _is_int(value: object) -> TypeGuard[int | np.integer[Any]]:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_real(value: object) -> TypeGuard[int | float | np.integer[Any] | np.floating[Any]]:
    return (_is_int(value) or isinstance(value, (float, np.floating))) and math.isfinite(value)


def _configure(
    n_conversations: object,
    prevalence: object,
    seed: object,
    *,
    world: World | None = None,
    start: object = DEFAULT_START,
    days: object = 30,
    n_adults: object = None,
    label_noise: object = 0.0,
    world_changes: Mapping[str, Any] | None = None,
) -> _Config:
    """Check every parameter (``ValueError`` naming it and its value); return the config."""
    if not _is_int(n_conversations) or n_conversations < 1:
        raise ValueError(f"n_conversations must be an integer >= 1, got {n_conversations!r}")
    if not _is_real(prevalence) or not 0.0 <= prevalence <= 1.0:
        raise ValueError(f"prevalence must be a number in [0, 1], got {prevalence!r}")
    if seed is not None and (not _is_int(seed) or seed < 0):
        raise ValueError(f"seed must be a non-negative integer or None, got {seed!r}")
    if not _is_int(days) or days < 2:
        raise ValueError(f"days must be an integer >= 2, got {days!r}")
    if not _is_int(start) or not 0 <= start <= MAX_TIMESTAMP - int(days) * DAY_S:
        raise ValueError(
            "start must be epoch seconds >= 0 with start + days * 86400 before 2200-01-01, "
            f"got start={start!r}, days={days!r}"
        )
    if n_adults is not None and (not _is_int(n_adults) or n_adults < 2):
        raise ValueError(f"n_adults must be an integer >= 2 or None, got {n_adults!r}")
    if not _is_real(label_noise) or not 0.0 <= label_noise <= 0.5:
        raise ValueError(f"label_noise must be a number in [0, 0.5], got {label_noise!r}")
    if world is None:
        world = World.default()
    elif not isinstance(world, World):
        raise ValueError(f"world must be a riskscore.synthetic.World, got {type(world).__name__}")
    world = _apply_changes(world, dict(world_changes or {}))
    start_s, days_n = int(start), int(days)
    return _Config(
        world=world,
        window=(start_s + _EARLY_MARGIN_S, start_s + days_n * DAY_S - _LATE_MARGIN_S),
        label_noise=float(label_noise),
    )


def _apply_changes(world: World, changes: dict[str, Any]) -> World:
    unknown = sorted(set(changes) - WORLD_KEYWORDS)
    if unknown:
        raise TypeError(
            f"generate() got unexpected keyword argument(s) {unknown}; world shorthands are "
            f"{sorted(WORLD_KEYWORDS)} (pass world=World(...) for the rest)"
        )
    changes = {k: v for k, v in changes.items() if v is not None}
    if not changes:
        return world
    if "unknown_age_rate" in changes:
        rate = changes.pop("unknown_age_rate")
        if not _is_real(rate) or not 0.0 <= rate <= 1.0:
            raise ValueError(f"unknown_age_rate must be a number in [0, 1], got {rate!r}")
        for kind in ("adult", "minor", "groomer"):
            changes[f"{kind}_unknown_age_rate"] = float(rate)
    return world.replace(**changes)


# ---------------------------------------------------------------- chunks


@dataclass(frozen=True, slots=True)
class _Chunk:
    """One chunk: schema v1 columns (coded channel and event) sorted by conversation and
    time, with its labels."""

    columns: dict[str, npt.NDArray[Any]]
    labels: Labels
    n_accounts: int


def _chunks(
    n_conversations: int,
    prevalence: float,
    seed: int | None,
    chunk_conversations: int,
    config: _Config,
    n_adults: int | None,
) -> Iterator[_Chunk]:
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
    config: _Config,
    rng: np.random.Generator,
) -> _Chunk:
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
    return _Chunk(columns=columns, labels=labels, n_accounts=len(accounts.ids))


# ---------------------------------------------------------------- Arrow


def _arrow_schemas() -> tuple[pa.Schema, pa.Schema]:
    import pyarrow as pa

    dictionary = pa.dictionary(pa.int8(), pa.string())
    events = pa.schema(
        [
            ("conversation_id", pa.int64()),
            ("timestamp", pa.int64()),
            ("sender_id", pa.int64()),
            ("recipient_id", pa.int64()),
            ("sender_age", pa.float64()),
            ("recipient_age", pa.float64()),
            ("channel", dictionary),
            ("event", dictionary),
            ("recipient_tz_offset_min", pa.int64()),
        ]
    )
    labels = pa.schema(
        [
            ("conversation_id", pa.int64()),
            ("is_grooming", pa.bool_()),
            ("onset_index", pa.int64()),
            ("adult_id", pa.int64()),
            ("scenario", pa.string()),
            ("is_grooming_true", pa.bool_()),
        ]
    )
    return events, labels


def _events_arrow(columns: dict[str, npt.NDArray[Any]]) -> pa.Table:
    """One chunk's coded columns as an Arrow table of the events schema of
    :func:`_arrow_schemas` (unknown ages null)."""
    import pyarrow as pa

    events_schema, _ = _arrow_schemas()
    arrays: list[pa.Array] = []
    for name in events_schema.names:
        values = columns[name]
        if name in ("channel", "event"):
            names = CHANNEL_NAMES if name == "channel" else EVENT_NAMES
            arrays.append(
                pa.DictionaryArray.from_arrays(
                    pa.array(values.astype(np.int8)), pa.array(list(names), pa.string())
                )
            )
        elif values.dtype.kind == "f":
            arrays.append(pa.array(values, mask=np.isnan(values)))
        else:
            arrays.append(pa.array(values))
    return pa.Table.from_arrays(arrays, schema=events_schema)
