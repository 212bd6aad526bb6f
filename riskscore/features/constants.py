"""The event kernel's fixed parameters: the night window, the time constants of decayed
counts and of a move to a private channel, and the priors of shares.

:mod:`riskscore.features.kernel` computes the features with them and
:mod:`riskscore.features.registry` re-exports them; the feature definitions in
``docs/features.md`` quote their values.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "NIGHT_END_MIN",
    "NIGHT_MINUTES",
    "NIGHT_START_MIN",
    "RECENT_WEIGHT",
    "SHARE_PRIOR_EVENTS",
    "SUPERVISED_SHARE_STEPS",
    "TAU_LONG_S",
    "TAU_SECURE_MOVE_S",
    "TAU_SHORT_S",
]

#: Night in the child's local time: 22:00 up to 06:00.
NIGHT_START_MIN: Final = 22 * 60
NIGHT_END_MIN: Final = 6 * 60
#: The night's length in minutes (it runs across midnight).
NIGHT_MINUTES: Final = (NIGHT_END_MIN - NIGHT_START_MIN) % (24 * 60)
#: Time constants of the exponentially decayed event counts (escalation).
TAU_SHORT_S: Final = 86_400.0
TAU_LONG_S: Final = 7 * 86_400.0
#: Time constant of how soon a move to ephemeral, encrypted or external channels came.
TAU_SECURE_MOVE_S: Final = 86_400.0
#: Events a share needs before it can grow: shares of evidence are ``count / (n + this)``.
SHARE_PRIOR_EVENTS: Final = 4.0
#: ``adult_supervised_minor_share`` moves in steps of ``1 / SUPERVISED_SHARE_STEPS``
#: (rounded down), so that the online scorer re-scores an adult's open conversations
#: only when the share moves a step, not on every message the adult sends to a minor.
SUPERVISED_SHARE_STEPS: Final = 20
#: Weight of the newest communication event in the "recent" (exponentially weighted) shares.
RECENT_WEIGHT: Final = 0.1
