"""``riskscore generate``: synthetic events and labels."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tqdm import tqdm

from riskscore._checks import MAX_SYNTHETIC_CONVERSATIONS
from riskscore._units import DAY_S
from riskscore.cli._paths import check_out_dir, output_path
from riskscore.cli._time import (
    integer,
    number,
    seed,
    share,
    synthetic_conversations,
    whole_number,
)
from riskscore.io.arrow import TABLE_FORMATS
from riskscore.io.schema import MAX_TIMESTAMP
from riskscore.io.staging import staged_outputs
from riskscore.io.time_order import write_in_time_order
from riskscore.synthetic import DEFAULT_START, generate_parquet

#: Most conversations generated at once (a chunk's memory grows with it: 1.3 GB at 100,000).
MAX_CHUNK_CONVERSATIONS = 1_000_000

NAME = "generate"
HELP = "generate synthetic events and labels (metadata only)"
EXAMPLE = """examples:
  riskscore generate --conversations 20000 --prevalence 0.01 --seed 7 --out data/
  riskscore generate --conversations 250000 --prevalence 0.0001 --adults 60000 \\
      --label-noise 0.01 --chunk-conversations 50000 --out big/

Writes DIR/events.parquet and DIR/labels.parquet chunk by chunk (memory bounded by
one chunk); the same arguments give byte-identical files. --format csv or jsonl writes
the events as DIR/events.csv or DIR/events.jsonl instead, in time order (one event per
line, as `riskscore stream` reads them; sorted in buckets of about 2 million events,
spilled beside the output and removed). DIR holds one data set: an events file of
another format from an earlier run is removed, as the new labels would not match it.
The generative model is described in docs/synthetic.md."""


#: The longest period ``generate`` can date from its start (2026-01-01): events end before 2200.
_MAX_DAYS = (MAX_TIMESTAMP - DEFAULT_START) // DAY_S


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--conversations",
        type=synthetic_conversations,
        default=10_000,
        help=f"number of conversations, at most {MAX_SYNTHETIC_CONVERSATIONS:,}",
    )
    parser.add_argument(
        "--prevalence",
        type=share,
        default=0.01,
        help="share of grooming conversations, e.g. 0.0001 for 1 in 10,000",
    )
    parser.add_argument("--seed", type=seed, default=0, help="root seed (same seed, same bytes)")
    parser.add_argument(
        "--adults",
        dest="n_adults",  # the generator's name: its errors then name --adults
        metavar="ADULTS",
        type=integer,
        default=None,
        help="number of ordinary adult accounts (default: one per 4 adult slots)",
    )
    parser.add_argument(
        "--label-noise",
        type=number,
        default=0.0,
        help="probability that an observed label is flipped; the truth is kept in is_grooming_true",
    )
    parser.add_argument(
        "--unknown-age-rate",
        type=number,
        default=0.15,
        help="share of accounts of unknown age, 0 to 1",
    )
    parser.add_argument(
        "--days",
        type=whole_number(2, _MAX_DAYS),
        default=30,
        help=f"length of the period, in days (2 to {_MAX_DAYS:,}: from 2026-01-01 to before 2200)",
    )
    parser.add_argument(
        "--chunk-conversations",
        type=whole_number(1, MAX_CHUNK_CONVERSATIONS),
        default=100_000,
        help="conversations generated and written per chunk (about 1.3 GB peak at 100000; "
        f"at most {MAX_CHUNK_CONVERSATIONS:,})",
    )
    parser.add_argument(
        "--format",
        choices=TABLE_FORMATS,
        default="parquet",
        help="file format of the events (labels are always Parquet)",
    )
    parser.add_argument(
        "--out",
        type=output_path,
        required=True,
        help="directory for events.FORMAT and labels.parquet",
    )


#: The files ``riskscore generate`` writes into ``--out``, in any format.
OUTPUTS = ("labels.parquet", "events.parquet", "events.csv", "events.jsonl")


def run(args: argparse.Namespace, show: bool) -> dict[str, Any]:
    check_out_dir(args.out)
    # one data set's files: the events file of an earlier run in another format is removed
    with (
        staged_outputs(args.out, owned=OUTPUTS) as stage,
        tqdm(
            total=args.conversations, disable=not show, unit="conv", leave=False, desc=NAME
        ) as bar,
    ):
        events, labels = generate_parquet(
            stage("events.parquet"),
            args.conversations,
            prevalence=args.prevalence,
            seed=args.seed,
            chunk_conversations=args.chunk_conversations,
            labels_path=stage("labels.parquet"),
            progress=bar.update,
            n_adults=args.n_adults,
            label_noise=args.label_noise,
            unknown_age_rate=args.unknown_age_rate,
            days=args.days,
        )
        if args.format != "parquet":
            events = _convert(events, events.with_suffix(f".{args.format}"))
    return {"events": str(stage.final_of(events)), "labels": str(stage.final_of(labels))}


def _convert(parquet: Path, target: Path) -> Path:
    """The events of ``parquet`` in time order as CSV or JSON lines, in bounded memory
    (:func:`riskscore.io.time_order.write_in_time_order`); the Parquet file removed."""
    write_in_time_order(parquet, target)
    parquet.unlink()
    return target


def render(result: dict[str, Any]) -> None:
    print(f"wrote {result['events']} and {result['labels']}")
