"""Where riskscore's batch time goes: a py-spy profile, summed per riskscore function.

Samples ``read_messages`` + ``extract_features`` + ``score_features`` (``--passes`` times
after one unsampled warm-up pass, all threads) with ``py-spy record --format raw`` and
prints, per riskscore function, the share of samples in which it is on the stack
(inclusive: a function's share counts the functions it calls; a sample counts once per
function). Run from the repository root::

    .venv/bin/python benchmarks/profile_batch.py --messages 10000000

Needs the ``bench`` extra (py-spy) and permission to trace a child process. Writes the
table to ``benchmarks/results/profile_<n>.json``.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from _common import RESULTS, run_record, workload, write_json

#: A raw py-spy frame: "function (path/to/module.py:line)".
FRAME = re.compile(r"^(?P<function>.+?) \((?P<file>[^:()]+):\d+\)$")

# The first pass in a fresh process (or VM) also pays for memory the system has not handed
# out before: the driver runs it, says so, and waits for py-spy to attach before the
# passes that are sampled.
DRIVER = """
import sys
import pyarrow.parquet as pq
import riskscore as rs

table = pq.read_table(sys.argv[1])
model = rs.load_model()

def pipeline():
    model.score_features(rs.extract_features(rs.read_messages(table)))

pipeline()
print("warm", flush=True)
sys.stdin.readline()
for _ in range(int(sys.argv[2])):
    pipeline()
"""


def riskscore_frames(stack: str) -> set[str]:
    """The riskscore functions of one sampled stack, as ``module.function``."""
    found = set()
    for frame in stack.split(";"):
        match = FRAME.match(frame.strip())
        if match is None:
            continue
        path = Path(match["file"])
        if "riskscore" in path.parts[:-1] and ".venv" not in path.parts:
            found.add(f"{path.stem}.{match['function']}")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000_000, help="workload size")
    parser.add_argument("--passes", type=int, default=2, help="pipeline runs sampled")
    parser.add_argument("--rate", type=int, default=200, help="samples per second")
    parser.add_argument("--top", type=int, default=25, help="functions printed")
    args = parser.parse_args(argv)

    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    path = workload(args.messages)
    with tempfile.TemporaryDirectory() as tmp:
        driver = Path(tmp) / "driver.py"
        driver.write_text(DRIVER)
        raw = Path(tmp) / "profile.txt"
        with subprocess.Popen(
            [sys.executable, str(driver), str(path), str(args.passes)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        ) as child:
            assert child.stdin is not None
            assert child.stdout is not None
            if child.stdout.readline().strip() != "warm":
                raise RuntimeError("the profiled pipeline failed in its warm-up pass")
            cmd = [py_spy, "record", "-r", str(args.rate), "--format", "raw", "-o", str(raw)]
            spy = subprocess.Popen([*cmd, "--pid", str(child.pid)], stdout=subprocess.DEVNULL)
            time.sleep(1.0)  # let py-spy attach before the sampled passes start
            child.stdin.write("go\n")
            child.stdin.flush()
            child.wait()
            spy.wait()
        lines = raw.read_text().splitlines()

    total = 0
    inclusive: Counter[str] = Counter()
    for line in lines:
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        total += int(count)
        for name in riskscore_frames(stack):
            inclusive[name] += int(count)

    print(f"workload: {path.name}, {args.passes} passes, {total} samples (all threads)\n")
    print(f"{'share':>6s}  function")
    rows: list[dict[str, object]] = []
    for name, samples in inclusive.most_common(args.top):
        share = samples / max(total, 1)
        rows.append({"function": name, "share": share, "samples": samples})
        print(f"{100 * share:5.1f}%  {name}")

    write_json(
        RESULTS / f"profile_{round(args.messages / 1e6)}m.json",
        {
            **run_record("profile", __file__, argv),
            "workload": {"file": path.name, "passes": args.passes},
            "samples": total,
            "inclusive_share": rows,
            "note": "share of samples with the function on the stack; samples include "
            "idle worker threads waiting for tasks, which carry no riskscore frame",
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
