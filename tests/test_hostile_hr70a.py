"""Defects fixed on branch hr70a (hostile review of the Synapse module's failure paths that
hr69b left open): an append to a FIFO whose reader stalled gave up part-way through a
record, and the next record joined it on one line (a reader lost both); the moderation
room's notices queue had no bound, and the notices not posted at shutdown were dropped
without a word; ``n_unmapped`` was counted from two threads without a lock; an age source
that failed for one user (an SQLite table listing the user twice, a callable that raised)
and a room facts file that could not be written (a full disk, a read-only file) were a
"could not map room event" traceback, and an invite or join on the full disk was not
scored at all.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from riskscore.io.private import FifoAppendTimeoutError, append_private_lines


@contextmanager
def _fifo_with_one_page_free(path: Path) -> Iterator[int]:
    """A FIFO at ``path`` whose reader (yielded) has read one page of a full pipe: one
    write of at most a page fits, then the pipe is full again. The pipe holds blank lines."""
    os.mkfifo(path)
    reader = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        writer = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        try:
            while True:
                os.write(writer, b" " * 4095 + b"\n")
        except BlockingIOError:
            pass
        finally:
            os.close(writer)
        os.read(reader, 4096)
        yield reader
    finally:
        os.close(reader)


def _drain(reader: int) -> list[str]:
    """Every line the FIFO holds, blank ones left out."""
    data = b""
    while True:
        try:
            chunk = os.read(reader, 65536)
        except BlockingIOError:
            break
        if not chunk:
            break
        data += chunk
    return [line for line in data.decode().split("\n") if line.strip()]


def _record(n: int, size: int) -> str:
    return json.dumps({"n": n, "pad": "x" * (size - 20)})


def test_a_fifo_append_that_gives_up_leaves_no_half_record(tmp_path: Path) -> None:
    """Was: the reader made room for one page, the append of two 4000-byte records wrote
    the first and 95 bytes of the second, then gave up; the next record joined that part
    on one line, and a reader parsed neither. Now records of at most PIPE_BUF bytes are
    written whole or not begun: the error says how many were, and the next starts a line."""
    fifo = tmp_path / "alerts.jsonl"
    with _fifo_with_one_page_free(fifo) as reader:
        with pytest.raises(FifoAppendTimeoutError) as caught:
            append_private_lines(fifo, [_record(1, 4000), _record(2, 4000)], wait_s=0.05)
        assert caught.value.written == 1
        assert "the append gave up, 1 of 2 records written" in str(caught.value)
        _drain(reader)
        append_private_lines(fifo, [_record(3, 100)], wait_s=0.05)
        tail = _drain(reader)
    assert [json.loads(line)["n"] for line in tail] == [3]


def test_a_record_longer_than_a_pipe_writes_whole_ends_its_line(tmp_path: Path) -> None:
    """A record longer than PIPE_BUF may be cut by a reader that stalls; the next append
    to the FIFO starts a new line, so its record is read (the cut one is a line of its own)."""
    fifo = tmp_path / "alerts.jsonl"
    with _fifo_with_one_page_free(fifo) as reader:
        with pytest.raises(FifoAppendTimeoutError) as caught:
            append_private_lines(fifo, [_record(1, 6000)], wait_s=0.05)
        assert caught.value.written == 0
        assert "record 1 (6000 bytes" in str(caught.value)
        assert "the next append starts a new line" in str(caught.value)
        lines = _drain(reader)
        append_private_lines(fifo, [_record(2, 100)], wait_s=0.05)
        lines += _drain(reader)
    assert len(lines[-2]) == 4096
    assert json.loads(lines[-1])["n"] == 2
