"""Compile every numba kernel once, now, and leave it in numba's on-disk cache.

riskscore's kernels (features, tallies, tree walks, the online state) are compiled on
first use and cached (``__pycache__`` beside the modules, or ``NUMBA_CACHE_DIR``; on a
read-only installation, numba's user cache directory: :mod:`riskscore._jit_cache`). On a
fresh installation that first use costs about 20 CPU seconds, paid by whichever call
comes first (a platform's first event, a test worker) and by every process that starts
before the cache is written. :func:`warm_up` pays it once, up front: in a container
image's build step, before a service takes traffic, or before a test run starts its
workers (``make test`` does).

It runs the public paths (read, features, scores with reasons, per-account features,
the online scorer, and scoring a Parquet file in chunks, whose arrays have other types)
on a small seeded synthetic table, so it compiles exactly the signatures those paths
use; later processes load them from the cache. Its files go to a temporary directory,
removed at the end. The online path compiles in a second process, beside the batch paths
(numba compiles on one core; its cache files are written atomically, so two processes
can fill one cache): a fresh interpreter that imports the same riskscore and caches where
this process does, so that a script may call :func:`warm_up` at its top level
(multiprocessing's ``spawn`` would run that script again in its child).
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numba.core.config

from riskscore._jit_cache import jit_cache_location
from riskscore.batch.out_of_core import score_parquet
from riskscore.features import extract_account_features
from riskscore.io import read_messages, write_messages
from riskscore.io.json_nesting import json_depth
from riskscore.model import load_model
from riskscore.online import OnlineScorer
from riskscore.synthetic import SyntheticData, generate

__all__ = ["WarmUp", "warm_up"]

#: Conversations of the synthetic table the paths run on: enough to reach every branch
#: that compiles a kernel (group rooms, media, moves, blocks), small enough to take no time.
WARM_UP_CONVERSATIONS = 60


@dataclass(frozen=True, slots=True)
class WarmUp:
    """What :func:`warm_up` did.

    Attributes
    ----------
    seconds : float
        Wall time of the run (compilation, or loading from the cache when current).
    events : int
        Events of the synthetic table run through batch and online paths.
    cache : Path or None
        Where the kernels are cached (:func:`riskscore._jit_cache.jit_cache_location`): the
        package directory (``__pycache__`` beside the modules) or ``NUMBA_CACHE_DIR``; None
        when no directory can be written (every process compiles them again).
    """

    seconds: float
    events: int
    cache: Path | None


def warm_up(processes: int | None = None) -> WarmUp:
    """Compile (or load from numba's cache) every kernel of the batch and online paths.

    Parameters
    ----------
    processes : {1, 2}, optional
        2 compiles the online path in a second process while this one compiles the
        batch paths (a cold cache fills in about two thirds of the time on two cores,
        for about a third more CPU time: the functions both paths call compile in
        each); 1 compiles everything in this process. Default: 2 when this process
        may run on two CPUs or more, else 1.

    Returns
    -------
    WarmUp
        The wall time it took, the events it ran and where the kernels are cached.

    Examples
    --------
    >>> done = warm_up()
    >>> done.events > 0
    True
    """
    if processes is None:
        processes = 2 if _usable_cpus() >= 2 else 1
    if processes not in (1, 2) or isinstance(processes, bool):
        raise ValueError(f"processes must be 1 or 2, got {processes!r}")
    start = time.perf_counter()
    if processes == 1 or not sys.executable:  # no interpreter to start (embedded)
        events = _warm_batch()
        _warm_online()
    else:
        # A new interpreter, not a fork (a fork of a process that has loaded numba's LLVM is
        # not safe) nor multiprocessing's spawn (its child runs the caller's __main__ again:
        # a script calling warm_up() at its top level started it again there and failed).
        command, env = _online_process()
        with subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL) as online:
            try:
                events = _warm_batch()
            except BaseException:  # a failure, Ctrl-C or SIGTERM: not a minute more of work
                online.kill()
                raise
        if online.returncode != 0:
            raise RuntimeError(
                f"warm_up: the process compiling the online path exited with status "
                f"{online.returncode} (its error is above); warm_up(1) compiles it in this one"
            )
    return WarmUp(seconds=time.perf_counter() - start, events=events, cache=jit_cache_location())


def _online_process() -> tuple[list[str], dict[str, str]]:
    """The command and environment of :func:`warm_up`'s second process: this interpreter
    with this process's import path (as multiprocessing's ``spawn`` passes it), so that it
    imports this riskscore, and numba's cache directory of this process (chosen on import
    when not set: :func:`riskscore._jit_cache.place_jit_cache`)."""
    path = [entry for entry in sys.path if isinstance(entry, str)]  # import skips others
    code = (
        f"import sys; sys.path[:] = {path!r}; "
        "from riskscore.warmup import _warm_online; _warm_online()"
    )
    env = dict(os.environ)
    config: Any = numba.core.config  # its settings are set at run time, untyped
    if config.CACHE_DIR:
        env["NUMBA_CACHE_DIR"] = str(config.CACHE_DIR)
    return [sys.executable, "-c", code], env


def _usable_cpus() -> int:
    """CPUs this process may run on (its affinity where the platform has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _table() -> SyntheticData:
    return generate(WARM_UP_CONVERSATIONS, prevalence=0.2, seed=0)


def _warm_batch() -> int:
    """Features, scores with reasons, per-account features and chunked Parquet scoring."""
    data = _table()
    # its own synthetic events: read whatever the machine's clock says
    messages = read_messages(data.messages.to_arrow(), max_future_s=math.inf)
    model = load_model()
    extract_account_features(messages)
    # features (extract_features) and scores, with reasons for every conversation
    model.score(messages, reasons_above=0.0)
    try:
        scratch = tempfile.TemporaryDirectory(prefix="riskscore-warmup-")
    except FileNotFoundError:  # no usable temporary directory (out of core needs one too):
        return len(messages)  # its kernels, and those of JSON lines, compile on first use
    with scratch as folder:
        data.write(folder)
        # In several chunks: the merge of their tallies has kernels of its own.
        chunk = len(messages) // 3 + 1
        score_parquet(
            Path(folder) / "events.parquet",
            Path(folder) / "scores",
            model=model,
            chunk_rows=chunk,
            max_future_s=math.inf,
        )
        # JSON lines have compiled scans of their own: the lines, and the nesting of a
        # line with many brackets (also a request body's elements, riskscore.serve.body)
        lines = Path(folder) / "events.jsonl"
        write_messages(messages, lines)
        read_messages(lines, max_future_s=math.inf)
        json_depth("[[]]")
    return len(messages)


#: Children one adult writes to in the online warm-up: more conversations than re-scoring
#: takes one at a time (riskscore.online.rescore re-scores 8 or more in one compiled call).
_ONE_ADULTS_CHILDREN = 12


def _warm_online() -> None:
    """The online scorer, event by event, and its re-scoring of an adult's conversations."""
    messages = read_messages(_table().messages.to_arrow(), max_future_s=math.inf)
    scorer = OnlineScorer(load_model(), time_source="events")
    scorer.update_many(messages.iter_events())
    # Re-scoring many conversations of one adult at once has a kernel of its own, which so
    # few conversations may not reach: one adult writes to a dozen children in turn, and
    # each new child re-scores the adult's other conversations (warm-up ids of their own).
    start = int(scorer.clock)
    scorer.update_many(
        {
            "conversation_id": f"warmup-conversation-{n}",
            "timestamp": start + n,
            "sender_id": "warmup-adult",
            "recipient_id": f"warmup-child-{n}",
            "channel": "direct",
            "sender_age": 30,
            "recipient_age": 13,
        }
        for n in range(_ONE_ADULTS_CHILDREN)
    )
