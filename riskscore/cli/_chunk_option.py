"""The ``--chunk-rows N`` option and the one rule for when a Parquet events file is
streamed in conversation-complete chunks (:func:`riskscore.batch.out_of_core.score_parquet`)
rather than read whole: for ``score`` and ``policy tune``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Final

from riskscore.cli._time import whole_number
from riskscore.exceptions import SchemaError
from riskscore.io.files import events_format
from riskscore.io.text import parquet_file

__all__ = ["AUTO_STREAM_ROWS", "add_chunk_rows_option", "should_stream"]

#: Parquet files with more events than this are streamed without ``--chunk-rows``.
AUTO_STREAM_ROWS: Final = 20_000_000


def add_chunk_rows_option(parser: argparse.ArgumentParser, *, what: str = "") -> None:
    """Add ``--chunk-rows N`` to a subcommand (``what``: a prefix naming the action that
    takes it, such as ``"tune: "``)."""
    parser.add_argument(
        "--chunk-rows",
        type=whole_number(1),
        default=None,
        help=f"{what}stream a Parquet file in conversation-complete chunks of about N events "
        "(bounded memory; same results and quarantine as in memory; temporary files of "
        "about 400 bytes per conversation, and as large as the input again for a file not "
        "sorted by conversation, in $TMPDIR or /tmp); default: in memory, "
        f"streamed automatically above {AUTO_STREAM_ROWS // 1_000_000} million events",
    )


def should_stream(events: Path, chunk_rows: int | None) -> bool:
    """Whether to stream ``events``: a Parquet file given ``--chunk-rows``, or with more
    than :data:`AUTO_STREAM_ROWS` events.

    Raises
    ------
    SchemaError
        ``chunk_rows`` is given for a CSV or JSON lines file: the chunker reads Parquet
        (its metadata, row groups and a scan for sortedness), those are read whole by
        their own readers. A file of no known suffix is left to ``read_messages``, which
        says so.
    """
    fmt = events_format(events)
    if fmt != "Parquet":
        if chunk_rows is not None and fmt is not None:
            raise SchemaError(
                f"--chunk-rows streams Parquet files only; {events.name!r} is a {fmt} file: "
                "leave out --chunk-rows to read it in memory, or write it as Parquet to "
                "stream it (riskscore.write_messages(riskscore.read_messages(path), "
                "'events.parquet'))"
            )
        return False
    if not events.is_file():  # missing, a directory, a FIFO: read_messages says which
        return False
    if chunk_rows is not None:
        return True
    try:
        with parquet_file(events) as parquet:  # any file name, as read_messages reads it
            return bool(parquet.metadata.num_rows > AUTO_STREAM_ROWS)
    except OSError:  # not Parquet (a broken footer): read_messages names the file and why
        return False
