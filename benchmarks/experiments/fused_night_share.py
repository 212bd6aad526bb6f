"""Experiment, not part of riskscore: one feature as a compiled loop instead of numpy passes.

Measures what fusing the numpy passes of one feature (``child_night_share``) into a single
compiled loop per conversation would gain, to inform the decision the throughput goal
"30x pandas" needs (see benchmarks/README.md). riskscore's rule is vectorized numpy in hot
paths, so this is kept out of the package. Needs numba, which no extra installs::

    .venv/bin/pip install numba
    .venv/bin/python benchmarks/experiments/fused_night_share.py --messages 10000000

Prints the best time of the numpy feature and of the compiled loop, after checking that
the two give the same values bit for bit.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import workload


def main(argv: list[str] | None = None) -> int:
    import numba
    import pyarrow.parquet as pq

    import riskscore as rs
    from riskscore import _conversation_features as conv_features
    from riskscore._roles import assign_roles
    from riskscore.feature_specs import NIGHT_END_MIN, NIGHT_START_MIN
    from riskscore.schema import EventType

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)

    message, media = int(EventType.MESSAGE), int(EventType.MEDIA)

    @numba.njit(nogil=True, cache=False)
    def night_counts(starts, n_events, minutes, tz, event, from_initiator):
        """Per conversation: night messages in each side's local time, and all messages."""
        n = len(starts)
        out = np.zeros((n, 3))  # responder's night, initiator's night, messages
        for c in range(n):
            stop = starts[c + 1] if c + 1 < n else n_events
            known_i = -1  # latest event the initiator received (its offset is known there)
            known_r = -1
            for k in range(starts[c], stop):
                if from_initiator[k]:
                    known_r = k
                else:
                    known_i = k
                if event[k] == message or event[k] == media:
                    for side, known in ((1, known_i), (0, known_r)):
                        offset = tz[known] if known >= 0 else tz[k]
                        local = (minutes[k] + offset) % 1440
                        if local >= NIGHT_START_MIN or local < NIGHT_END_MIN:
                            out[c, side] += 1.0
                    out[c, 2] += 1.0
        return out

    msgs = rs.read_messages(pq.read_table(workload(args.messages)))
    roles = assign_roles(msgs)
    tz = msgs.recipient_tz_offset_min.astype(np.int64)
    minutes = msgs.timestamp // 60

    def fused() -> np.ndarray:
        counts = night_counts(
            msgs.segment_starts, len(msgs), minutes, tz, msgs.event, roles.from_initiator
        )
        share: np.ndarray = roles.pick(counts[:, :2], adult=False) / np.maximum(counts[:, 2], 1.0)
        return share

    def vectorized() -> np.ndarray:
        share: np.ndarray = conv_features.night_features(msgs, roles)["child_night_share"]
        return share

    same = fused().tobytes() == vectorized().tobytes()  # the first call also compiles
    print(f"{len(msgs):,} messages; same values bit for bit: {same}")
    for name, fn in (("numpy passes", vectorized), ("compiled loop", fused)):
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        print(f"  {name:14s} best {min(times):.4f} s")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
