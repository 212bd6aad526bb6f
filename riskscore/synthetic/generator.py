"""The generator's entry points: :func:`generate` (in memory) and :func:`generate_parquet`
(chunk by chunk to Parquet). Both check their options with
:mod:`riskscore.synthetic.options` and draw chunks with :mod:`riskscore.synthetic.chunks`."""

from __future__ import annotations

import errno
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import numpy as np
import pyarrow.parquet as pq

from riskscore._checks import check_whole, unknown_keys
from riskscore.io import read_messages
from riskscore.io.files import check_own_files
from riskscore.io.schema import CHANNEL_NAMES, EVENT_NAMES
from riskscore.io.text import arrow_file
from riskscore.synthetic.arrow import ROW_GROUP_ROWS, arrow_schemas, events_arrow
from riskscore.synthetic.chunks import iter_chunks
from riskscore.synthetic.data import SyntheticData
from riskscore.synthetic.options import DEFAULT_START, WORLD_KEYWORDS, configure
from riskscore.synthetic.world import World

__all__ = ["DEFAULT_START", "generate", "generate_parquet"]

_CHANNEL_NAMES: Final = np.asarray(CHANNEL_NAMES)
_EVENT_NAMES: Final = np.asarray(EVENT_NAMES)


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
        Number of conversations, 1 to 10,000,000 (about a day of work on two cores; the
        command line's cap too). Each is between exactly two accounts.
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
    config = configure(
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
    (chunk,) = iter_chunks(n_conversations, prevalence, seed, n_conversations, config, n_adults)
    columns = dict(chunk.columns)
    columns["channel"] = _CHANNEL_NAMES[columns["channel"]]
    columns["event"] = _EVENT_NAMES[columns["event"]]
    # dated as asked (``start`` may be in the future): no limit on future events
    messages = read_messages(columns, max_future_s=math.inf)
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
        Number of conversations, 1 to 10,000,000 (as :func:`generate`).
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
        Labels file, another file than ``path``. Defaults to ``labels.parquet`` beside
        ``path`` when ``path`` is named ``events.parquet``, else ``<stem>.labels.parquet``.
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
    check_whole("chunk_conversations", chunk_conversations)
    options = {"world", "start", "days", "n_adults", "label_noise", *WORLD_KEYWORDS}
    unknown = unknown_keys(generate_kwargs, options)
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
    config = configure(
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
    # both written through ".partial" names: one file for both would mix two runs' files
    check_own_files({"path": events_path, "labels_path": labels_out})
    for out in (events_path, labels_out):
        if out.is_dir():  # found before anything is written, not at the last move
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(out))
        out.parent.mkdir(parents=True, exist_ok=True)
    partial = [out.with_name(out.name + ".partial") for out in (events_path, labels_out)]
    events_schema, labels_schema = arrow_schemas()
    try:
        with (
            arrow_file(partial[0], "wb") as events_sink,  # any name
            arrow_file(partial[1], "wb") as labels_sink,
            pq.ParquetWriter(events_sink, events_schema) as events_writer,
            pq.ParquetWriter(labels_sink, labels_schema) as labels_writer,
        ):
            chunks = iter_chunks(
                n_conversations, prevalence, seed, chunk_conversations, config, n_adults
            )
            for chunk in chunks:
                events_writer.write_table(
                    events_arrow(chunk.columns), row_group_size=ROW_GROUP_ROWS
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
