"""What the routes of one application share: its configuration and open resources."""

from __future__ import annotations

from dataclasses import dataclass

from riskscore.moderation.queue import ReviewQueue
from riskscore.serve.accounts import ModeratorStore
from riskscore.serve.config import Part, ServeConfig
from riskscore.serve.metrics import ServeMetrics
from riskscore.serve.security import RateLimiter, Signer
from riskscore.serve.service import ScoringService
from riskscore.serve.timeline import TimelineStore

__all__ = ["ServeState"]


@dataclass
class ServeState:
    """What the routes share: the configuration and the open resources."""

    config: ServeConfig
    queue: ReviewQueue
    accounts: ModeratorStore
    metrics: ServeMetrics
    signer: Signer
    limiter: RateLimiter  # sign-ins per client address
    name_limiter: RateLimiter  # sign-ins per account name, with a backoff
    service: ScoringService | None = None
    timeline: TimelineStore | None = None

    @classmethod
    def open(cls, config: ServeConfig) -> ServeState:
        """Open the queue, the accounts, and the scorer (restored if checkpointed)."""
        queue = ReviewQueue(config.db, policy=config.policy)
        state = cls(
            config=config,
            queue=queue,
            accounts=ModeratorStore(config.db, hasher=config.password_hasher),
            metrics=ServeMetrics(lambda: queue, lambda: 0),
            signer=Signer(config.session_key, max_age_s=config.session_max_age_s),
            limiter=RateLimiter(config.signin_attempts, config.signin_window_s),
            name_limiter=RateLimiter(
                config.signin_attempts,
                config.signin_window_s,
                backoff_max_s=config.signin_backoff_max_s,
            ),
        )
        if config.part is not Part.API and config.trusted_header is None:
            state.accounts.prepare_sign_in()  # before the first sign-in, not during it
        if config.timeline is not None:
            state.timeline = TimelineStore(config.timeline)
        if config.part is not Part.CONSOLE:
            scorer = config.scorer()
            state.metrics = ServeMetrics(lambda: queue, lambda: scorer.n_conversations)
            state.service = ScoringService(
                scorer,
                queue,
                state.timeline,
                state.metrics,
                checkpoint=config.checkpoint,
                max_batch_ids=config.max_batch_ids,
            )
        return state

    def close(self) -> None:
        """Write the last checkpoint and close every file."""
        try:
            if self.service is not None:
                self.service.checkpoint()
        finally:
            if self.service is not None:  # another process may now take the file over
                self.service.scorer.release_checkpoints()
            if self.timeline is not None:
                self.timeline.close()
            self.accounts.close()
            self.queue.close()
