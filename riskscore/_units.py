"""Units of time in seconds: the one definition that the synthetic worlds, the moderation
simulation, the review queue, the console's plots and the Spark partitions share.

Whole numbers (``int``): timestamps are whole epoch seconds, and a day boundary computed
with them (``t - t % DAY_S``) stays an integer.

Examples
--------
>>> DAY_S == 24 * HOUR_S == 1_440 * MINUTE_S
True
"""

from __future__ import annotations

from typing import Final

__all__ = ["DAY_S", "HOUR_S", "MINUTE_S"]

MINUTE_S: Final = 60
HOUR_S: Final = 3_600
DAY_S: Final = 86_400
