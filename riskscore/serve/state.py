"""What the routes of one application share: its configuration and open resources.

Threads: the review queue and the accounts are opened once per worker thread
(:class:`~riskscore.serve.stores.PerThread`: ``state.queue`` and ``state.accounts`` are
the calling thread's), and the routes use them from the framework's worker threads, never
on the event loop. The scorer, which holds every conversation in memory, runs in one
thread of its own (:attr:`ServeState.scoring`): batches are applied one at a time, in the
order they arrive, as before.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from anyio import CapacityLimiter

from riskscore.moderation.queue import ReviewQueue
from riskscore.serve.accounts import ModeratorStore
from riskscore.serve.config import Part, ServeConfig
from riskscore.serve.metrics import ServeMetrics
from riskscore.serve.security import RateLimiter, Signer
from riskscore.serve.service import ScoringService
from riskscore.serve.stores import PerThread
from riskscore.serve.timeline import TimelineStore

__all__ = ["ServeState"]

#: Sign-ins whose password is checked at once, per process.
SIGN_INS_AT_ONCE = 2


@dataclass
class ServeState:
    """What the routes share: the configuration and the open resources."""

    config: ServeConfig
    queues: PerThread[ReviewQueue]
    accounts_per_thread: PerThread[ModeratorStore]
    metrics: ServeMetrics
    signer: Signer
    limiter: RateLimiter  # sign-ins per client address
    name_limiter: RateLimiter  # sign-ins per account name, with a backoff
    service: ScoringService | None = None
    timeline: TimelineStore | None = None
    #: The scorer's one thread: every call on :attr:`service` runs there.
    scoring: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="riskscore-scorer")
    )
    #: When the call the scorer's thread runs began (``time.monotonic``), None when idle.
    busy_since: float | None = None
    #: Password checks at once (Argon2id takes 64 MiB each): a flood of sign-ins from many
    #: addresses queues here instead of taking the worker threads' memory (40 x 64 MiB).
    hashing: CapacityLimiter = field(default_factory=lambda: CapacityLimiter(SIGN_INS_AT_ONCE))

    @property
    def queue(self) -> ReviewQueue:
        """The calling thread's connection to the review queue."""
        return self.queues.get()

    @property
    def accounts(self) -> ModeratorStore:
        """The calling thread's connection to the console's accounts."""
        return self.accounts_per_thread.get()

    @classmethod
    def open(cls, config: ServeConfig) -> ServeState:
        """Open the queue, the accounts, and the scorer (restored if checkpointed)."""
        first = ModeratorStore(config.db, hasher=config.password_hasher, check_same_thread=False)
        dummy, spare = None, [first]
        if config.part is not Part.API and config.trusted_header is None:
            dummy = first.prepare_sign_in()  # before the first sign-in, not during it; once

        def accounts() -> ModeratorStore:
            if spare:  # the store opened here serves the first thread that asks
                return spare.pop()
            return ModeratorStore(
                config.db,
                hasher=config.password_hasher,
                check_same_thread=False,
                dummy_hash=dummy,
            )

        queues = PerThread(
            lambda: ReviewQueue(config.db, policy=config.policy, check_same_thread=False)
        )
        queues.get()  # the file is created (or checked as a queue) at start, not at a request
        state = cls(
            config=config,
            queues=queues,
            accounts_per_thread=PerThread(accounts),
            metrics=ServeMetrics(lambda: queues.get(), lambda: 0),
            signer=Signer(config.session_key, max_age_s=config.session_max_age_s),
            limiter=RateLimiter(config.signin_attempts, config.signin_window_s),
            name_limiter=RateLimiter(
                config.signin_attempts,
                config.signin_window_s,
                backoff_max_s=config.signin_backoff_max_s,
            ),
        )
        if config.timeline is not None:
            state.timeline = TimelineStore(config.timeline)
        if config.part is not Part.CONSOLE:
            scorer = config.scorer()
            state.metrics = ServeMetrics(lambda: queues.get(), lambda: scorer.n_conversations)
            state.service = ScoringService(
                scorer,
                ReviewQueue(config.db, policy=config.policy, check_same_thread=False),
                state.timeline,
                state.metrics,
                checkpoint=config.checkpoint,
                max_batch_ids=config.max_batch_ids,
            )
        return state

    def close(self) -> None:
        """Write the last checkpoint and close every file (after the requests ended)."""
        try:
            if self.service is not None:
                self.scoring.submit(self.service.checkpoint).result()
        finally:
            self.scoring.shutdown()
            if self.service is not None:  # another process may now take the file over
                self.service.scorer.release_checkpoints()
                self.service.queue.close()
            if self.timeline is not None:
                self.timeline.close()
            self.accounts_per_thread.close()
            self.queues.close()
