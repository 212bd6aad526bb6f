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
removed at the end.
"""

from __future__ import annotations

import math
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from riskscore.batch.out_of_core import score_parquet
from riskscore.features import extract_account_features
from riskscore.io import read_messages
from riskscore.model import load_model
from riskscore.online import OnlineScorer
from riskscore.synthetic import generate

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
    """

    seconds: float
    events: int


def warm_up() -> WarmUp:
    """Compile (or load from numba's cache) every kernel of the batch and online paths.

    Returns
    -------
    WarmUp
        The wall time it took and the events it ran.

    Examples
    --------
    >>> done = warm_up()
    >>> done.events > 0
    True
    """
    start = time.perf_counter()
    data = generate(WARM_UP_CONVERSATIONS, prevalence=0.2, seed=0)
    # its own synthetic events: read whatever the machine's clock says
    messages = read_messages(data.messages.to_arrow(), max_future_s=math.inf)
    model = load_model()
    extract_account_features(messages)
    # features (extract_features) and scores, with reasons for every conversation
    model.score(messages, reasons_above=0.0)
    scorer = OnlineScorer(model, time_source="events")
    scorer.update_many(messages.iter_events())
    # Re-scoring many conversations of one adult at once has a kernel of its own, which so
    # few conversations may not reach: run it on one conversation.
    conv = next(reversed(scorer._conversations.values()))  # its accounts are held
    scorer._scored_together([conv], scorer._accounts[conv.adult_id()])
    with tempfile.TemporaryDirectory(prefix="riskscore-warmup-") as folder:
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
    return WarmUp(seconds=time.perf_counter() - start, events=len(messages))
