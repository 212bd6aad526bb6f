"""Time riskscore's batch stages, for one checkout or several compared in the same run.

Stages: ``read_messages`` (validate + sort + codes), ``extract_features`` and
``score_features`` (calibrated risk with reasons), each the best of ``--repeats`` runs on
the same in-memory :class:`pyarrow.Table`. With several ``--roots`` (directories holding a
``riskscore/`` package, e.g. a ``git worktree`` of an older commit) each checkout is timed
in its own process, the checkouts taking turns ``--rounds`` times, so that a noisy
machine weighs on all of them alike. Run from the repository root::

    .venv/bin/python benchmarks/bench_stages.py --messages 1000000
    git worktree add /tmp/before <commit>
    .venv/bin/python benchmarks/bench_stages.py --roots /tmp/before . --messages 10000000
    .venv/bin/python benchmarks/bench_stages.py --form text-ids --messages 1000000
        # ids as text ("u-1042-7f3a"), as most platforms export them

``--form`` is the shape the same events arrive in (``read_messages`` reads each):
``generated`` (the workload as ``generate_parquet`` writes it: integer ids, channel and
event as Arrow dictionaries), ``text-ids`` (ids as text), ``plain-text`` (channel and event
as plain text, as pandas, polars, Spark and warehouses write Parquet), ``iso-times`` (that,
with ISO 8601 text times: ``2026-01-04T10:15:00Z``), ``csv`` and ``jsonl`` (the plain-text
form as a CSV or JSON lines file), ``polars`` and ``pandas`` (the plain-text form as a
DataFrame of each, its text columns those libraries' default text types).

Prints a table and writes ``benchmarks/results/stages_<n>.json`` (or ``--output``). Every
checkout scores the same file with the same model, and the features of each are compared with
the first checkout's (byte for byte), and so are the scores and their reasons, before any
time is reported.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

from _common import (
    RESULTS,
    describe_checkout,
    run_in_checkout,
    run_record,
    workload,
    write_json,
)

STAGES = ("validate_sort", "features", "scores_with_reasons")


FORMS = ("generated", "text-ids", "plain-text", "iso-times", "csv", "jsonl", "polars", "pandas")


def _source(path: str, form: str) -> Any:
    """What ``read_messages`` is given in ``form``: an Arrow table of the Parquet file at
    ``path`` (already written in that form), the CSV file itself, or a DataFrame."""
    import pyarrow.parquet as pq

    if form in ("csv", "jsonl"):
        return path
    if form == "polars":
        import polars as pl

        return pl.read_parquet(path)
    if form == "pandas":
        import pandas as pd

        return pd.read_parquet(path)
    return pq.read_table(path)


def time_stages(path: str, repeats: int, form: str = "generated") -> dict[str, Any]:
    """Best time of each stage for the riskscore found first on ``sys.path``."""
    import riskscore as rs

    table = _source(path, form)
    model = rs.load_model()
    best = dict.fromkeys(STAGES, float("inf"))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    for _ in range(repeats):
        start = time.perf_counter()
        msgs = rs.read_messages(table)
        read = time.perf_counter()
        features = rs.extract_features(msgs)
        featurized = time.perf_counter()
        scores = model.score_features(features)
        scored = time.perf_counter()
        for stage, seconds in zip(
            STAGES, (read - start, featurized - read, scored - featurized), strict=True
        ):
            best[stage] = min(best[stage], seconds)
    after = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "package": str(Path(rs.__file__).parent),
        "best_seconds": best,
        "cpu_seconds": {
            "user": after.ru_utime - usage.ru_utime,
            "system": after.ru_stime - usage.ru_stime,
        },
        "features_sha256": hashlib.sha256(features.values.tobytes()).hexdigest(),
        "scores_sha256": _scores_sha256(scores),
    }


def _scores_sha256(scores: Any) -> str:
    """sha256 of a ScoreTable's risk and reasons (feature, value, contribution)."""
    digest = hashlib.sha256()
    for array in (
        scores.risk,
        scores.reason_feature,
        scores.reason_value,
        scores.reason_contribution,
    ):
        digest.update(array.tobytes())
    return digest.hexdigest()


def in_form(path: Path, form: str) -> Path:
    """The workload's file in ``form`` (see the module's docstring), cached beside it."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    if form == "generated":
        return path
    kind = {"text-ids": "textids", "iso-times": "isotimes"}.get(form, "plaintext")
    out = path.with_name(f"{path.stem}_{kind}.parquet")
    if not out.exists():
        table = pq.read_table(path)

        def replace(name: str, values: Any) -> None:
            nonlocal table
            table = table.set_column(table.schema.get_field_index(name), name, values)

        if form == "text-ids":
            for name in ("conversation_id", "sender_id", "recipient_id"):
                text = pc.cast(table[name], pa.string())
                replace(name, pc.binary_join_element_wise("u-", text, "-7f3a", ""))
        else:
            for name in ("channel", "event"):
                replace(name, pc.cast(table[name], pa.string()))
        if form == "iso-times":
            zoned = pc.cast(pc.multiply(table["timestamp"], 1_000_000), pa.timestamp("us", "UTC"))
            replace("timestamp", pc.strftime(zoned, format="%Y-%m-%dT%H:%M:%SZ"))
        pq.write_table(table, out)
    if form not in ("csv", "jsonl"):
        return out
    text = out.with_suffix("." + form)
    if not text.exists() and form == "csv":
        pa_csv.write_csv(pq.read_table(out), text)
    elif not text.exists():
        with text.open("w") as fh:
            for row in pq.read_table(out).to_pylist():
                fh.write(json.dumps(row) + "\n")
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000, help="workload size")
    parser.add_argument("--roots", nargs="+", default=["."], help="checkouts to compare")
    parser.add_argument("--repeats", type=int, default=3, help="runs per process (best kept)")
    parser.add_argument("--rounds", type=int, default=2, help="turns each checkout takes")
    parser.add_argument("--output", type=Path, help="results file (default benchmarks/results/)")
    parser.add_argument(
        "--form", choices=FORMS, default="generated", help="the shape the events arrive in"
    )
    args = parser.parse_args(argv)

    path = in_form(workload(args.messages), args.form)
    roots = [Path(r).resolve() for r in args.roots]
    runs: dict[str, list[dict[str, Any]]] = {str(r): [] for r in roots}
    for _ in range(args.rounds):
        for root in roots:
            runs[str(root)].append(
                run_in_checkout(
                    root,
                    "bench_stages",
                    f"time_stages({str(path)!r}, {args.repeats}, {args.form!r})",
                )
            )

    reference = runs[str(roots[0])][0]["features_sha256"]
    reference_scores = runs[str(roots[0])][0].get("scores_sha256")
    print(
        f"workload: {path.name} ({args.form}); best of {args.repeats} x {args.rounds} rounds "
        "per checkout\n"
    )
    header = f"{'checkout':40s} " + " ".join(f"{s:>20s}" for s in STAGES) + f" {'system CPU':>11s}"
    print(header)
    print("-" * len(header))
    summary = []
    for root in roots:
        results = runs[str(root)]
        best = {s: min(r["best_seconds"][s] for r in results) for s in STAGES}
        user = sum(r["cpu_seconds"]["user"] for r in results)
        system = sum(r["cpu_seconds"]["system"] for r in results)
        same = all(r["features_sha256"] == reference for r in results)
        same_scores = all(r.get("scores_sha256") == reference_scores for r in results)
        summary.append(
            {
                "root": str(root),
                "git": describe_checkout(root),
                "best_seconds": best,
                "features_identical": same,
                "scores_identical": same_scores,
                "runs": results,
            }
        )
        print(
            f"{describe_checkout(root)[:40]:40s} "
            + " ".join(f"{best[s]:20.3f}" for s in STAGES)
            + f" {100 * system / max(user + system, 1e-9):10.0f}%"
        )
    identical = all(row["features_identical"] for row in summary)
    print("features:", "identical in every checkout" if identical else "DIFFER")
    scores_identical = all(row["scores_identical"] for row in summary)
    print(
        "scores and reasons:",
        "identical in every checkout" if scores_identical else "DIFFER (or not recorded)",
    )

    kind = "" if args.form == "generated" else "_" + args.form.replace("-", "")
    write_json(
        args.output or RESULTS / f"stages_{round(args.messages / 1e6)}m{kind}.json",
        {
            **run_record("stages", __file__, argv),
            "workload": {"file": path.name, "form": args.form},
            "checkouts": summary,
            "features_identical": identical,
            "scores_identical": scores_identical,
        },
    )
    return 0 if identical and scores_identical else 1


if __name__ == "__main__":
    sys.exit(main())
